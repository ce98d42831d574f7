//===- frontend/Printers.h - the seed demo's views of a graph ---*- C++ -*-===//
//
// The views the seed's Python scripts printed of an exported program, so that
// Atalla users see what they already know: FX's tabular form, the per-node
// walk, the generated forward() code, the op histogram, the signature, and a
// JSON dump for other tools. Arguments are printed as Python would
// (1e-05, True, [1, 1], torch.float32).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_PRINTERS_H
#define ATALLA_FRONTEND_PRINTERS_H

#include "frontend/Graph.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace atalla::frontend {

/// Python's repr of a float (shortest round-trip form, "4.0", "1e-05").
std::string pythonFloat(double V);
/// Python-style rendering of an argument ("relu", "-1", "[1, 1]").
std::string formatArgument(const Argument &A);
/// "[4, 8]" with symbolic dimensions by name ("[s77, 16]").
std::string formatShape(const std::vector<SymDim> &Dims);
std::string formatShape(const std::vector<int64_t> &Dims);

/// FX's print_tabular(): opcode name target args kwargs.
void printTable(const Model &M, llvm::raw_ostream &OS);
/// One block per node: op, name, target, args, kwargs.
void printNodes(const Model &M, llvm::raw_ostream &OS);
/// The generated forward(): "def forward(self, x, w): ...".
void printCode(const Model &M, llvm::raw_ostream &OS);
/// One line per distinct target, in first-use order: "3 torch.ops.aten.relu.default".
void printOps(const Model &M, llvm::raw_ostream &OS);
/// Inputs (user, parameters, buffers, constants) and outputs with dtype/shape.
void printSignature(const Model &M, llvm::raw_ostream &OS);
/// Provenance and counts.
void printSummary(const Model &M, llvm::raw_ostream &OS);
/// Everything above as one JSON document.
void printJson(const Model &M, llvm::raw_ostream &OS);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_PRINTERS_H
