//===- tests/fuzz/fuzz_schema.cpp - the exported-program JSON reader -------===//
//
// Any text as model.json / serialized_exported_program.json: the depth
// check, the JSON parser, every union and argument tag, symbolic shapes,
// and the default-argument filler.
//
//===----------------------------------------------------------------------===//
#include "frontend/Graph.h"
#include "frontend/SchemaReader.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  atalla::frontend::Model M;
  llvm::StringRef Json(reinterpret_cast<const char *>(Data), Size);
  if (llvm::Error E = atalla::frontend::readExportedProgramJson(Json, "model.json", M))
    llvm::consumeError(std::move(E));
  return 0;
}
