//===- frontend/SchemaReader.h - model.json to the typed Graph --*- C++ -*-===//
//
// Reads the exported program JSON of every schema version torch has written
// (1 of torch 2.1 to 8.x of torch 2.12): one-key unions (2.3+) and unions with
// every tag present and the unused ones null (2.2 and earlier), the old
// dict-style GraphSignature of 2.1, TensorValue wrappers, symbolic sizes.
// Weights are not read here: see Archive.h.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_SCHEMAREADER_H
#define ATALLA_FRONTEND_SCHEMAREADER_H

#include "frontend/Graph.h"

#include "llvm/Support/Error.h"

namespace atalla::frontend {

/// The schema major versions this reader understands.
constexpr int64_t MinSchemaMajor = 1;
constexpr int64_t MaxSchemaMajor = 8;

struct SchemaReaderOptions {
  /// Nesting depth above which the JSON is refused before parsing (the
  /// parser recurses; deep nesting would otherwise exhaust the stack).
  unsigned MaxJsonDepth = 256;
  /// Size of the program JSON, refused before parsing (the parsed document
  /// takes several times its text).
  uint64_t MaxJsonBytes = 1ull << 30;
  /// Nodes of one graph (subgraphs counted each on their own).
  uint64_t MaxNodes = 1u << 20;
  /// Fill arguments omitted because they equal their schema default.
  bool FillDefaults = true;
};

/// Parses \p Json (the text of model.json / serialized_exported_program.json)
/// into \p M's program fields. \p Where names the entry in error messages.
llvm::Error readExportedProgramJson(llvm::StringRef Json, llvm::StringRef Where, Model &M,
                                    const SchemaReaderOptions &Opts = {});

/// Parses a TensorMeta object (as in model_weights_config.json).
llvm::Expected<TensorMeta> readTensorMetaJson(llvm::StringRef Json, llvm::StringRef Where);

/// One entry of model_weights_config.json / model_constants_config.json.
struct PayloadMeta {
  std::string Fqn;
  std::string PathName;  ///< File under data/weights/ or data/constants/.
  bool IsParam = false;
  bool UsePickle = false;
  bool HasTensorMeta = false;
  TensorMeta Meta;
};

/// Parses a payload config ({"config": {fqn: PayloadMeta}}), in file order.
llvm::Expected<std::vector<PayloadMeta>> readPayloadConfigJson(llvm::StringRef Json,
                                                               llvm::StringRef Where,
                                                               unsigned MaxJsonDepth = 256);

/// Fills the arguments of \p N that the archive omitted because they equal
/// their default, from the op-schema table. Unknown ops are left as given.
void fillDefaultArguments(Node &N);

/// "Symbol('s77', positive=True, integer=True)" -> "s77"; other sympy
/// reprs are simplified the same way ("Add(Symbol('s0'), Integer(1))").
std::string simplifySymbolicExpr(llvm::StringRef Expr);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_SCHEMAREADER_H
