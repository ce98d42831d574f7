//===- tests/fuzz/fuzz_weights_config.cpp - model_weights_config.json ------===//
//
// Any text as a torch >= 2.9 payload config (fqn -> path, tensor meta with
// dtype, sizes, strides, storage offset), and as a lone TensorMeta.
//
//===----------------------------------------------------------------------===//
#include "frontend/SchemaReader.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Json(reinterpret_cast<const char *>(Data), Size);
  auto C = atalla::frontend::readPayloadConfigJson(Json, "model_weights_config.json");
  if (!C)
    llvm::consumeError(C.takeError());
  auto T = atalla::frontend::readTensorMetaJson(Json, "tensor_meta");
  if (!T)
    llvm::consumeError(T.takeError());
  return 0;
}
