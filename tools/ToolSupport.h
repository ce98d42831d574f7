//===- tools/ToolSupport.h - shared pieces of the command-line tools -*- C++ -*-===//
//
// Input selection (sample inputs, seeded random inputs, raw .bin files) and
// output writing (raw little-endian .bin files plus outputs.json), shared by
// atalla-inspect and atalla-run so that both accept and produce the same
// files, the format of the fixtures' <stem>.in<i>.bin / .out<i>.bin.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TOOLS_TOOLSUPPORT_H
#define ATALLA_TOOLS_TOOLSUPPORT_H

#include "frontend/Archive.h"
#include "frontend/Graph.h"
#include "runtime/Blob.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace atalla::tools {

/// What --limit KEY=N sets: every bound the readers apply to untrusted
/// archives and blobs. Defaults are the libraries' (README.md, "Limits").
struct ReaderLimits {
  frontend::ArchiveOptions Archive;
  runtime::BlobLimits Blob;
};
/// The --limit keys, each with what it bounds and its default, for --help
/// and the README.
std::string limitKeysHelp();
/// Applies one "KEY=N" (N may end in K, M or G for powers of 1024) to \p L;
/// an error names the key or the value.
llvm::Error applyLimit(llvm::StringRef KeyValue, ReaderLimits &L);
/// applyLimit for each of \p KeyValues (the --limit flags), in order.
llvm::Error applyLimits(llvm::ArrayRef<std::string> KeyValues, ReaderLimits &L);

/// Makes --version print \p Tool's name, the project version, the blob
/// format version, and the LLVM and LibTorch versions the project was built
/// with. Call before cl::ParseCommandLineOptions.
/// \p Extra, when given, adds lines (each "  name version\n") for what only
/// some tools load, such as the BLAS behind LibTorch.
void installVersionPrinter(const char *Tool, std::function<std::string()> Extra = {});

enum class InputSource { Sample, Random, Files };

/// The shape a user input must have: the graph's, symbolic dimensions
/// taken from their hints.
std::vector<int64_t> declaredShape(const frontend::Model &M, const std::string &Input);

/// Builds the user inputs in forward-argument order.
/// Files: one per input, raw little-endian bytes of the declared dtype/shape.
llvm::Expected<std::vector<frontend::TensorData>>
selectInputs(const frontend::Model &M, InputSource Source, const std::vector<std::string> &Files,
             uint64_t Seed);

/// Deterministic pseudo-random tensor: standard normals for floating point,
/// small integers for integer dtypes, 0/1 for bool.
frontend::TensorData randomTensor(frontend::ScalarType Dtype, const std::vector<int64_t> &Sizes,
                                  uint64_t Seed);

/// Sum of the elements as double (bool/ints counted as numbers).
double tensorSum(const frontend::TensorData &T);

/// "shape [4, 16], dtype float32, sum 4.00000015".
void printTensorLine(llvm::raw_ostream &OS, const std::string &Name, const frontend::TensorData &T);

/// Writes DIR/out<i>.bin and DIR/outputs.json (name, dtype, shape, file).
llvm::Error writeOutputs(llvm::StringRef Dir, const std::vector<std::string> &Names,
                         const std::vector<frontend::TensorData> &Outputs);

/// "atalla-inspect: error: <message>" on stderr.
void reportError(llvm::StringRef Tool, llvm::Error E);

} // namespace atalla::tools

#endif // ATALLA_TOOLS_TOOLSUPPORT_H
