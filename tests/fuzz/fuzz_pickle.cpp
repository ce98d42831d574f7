//===- tests/fuzz/fuzz_pickle.cpp - the unpickler --------------------------===//
//
// Any bytes as a pickle, with persistent ids resolved to small storages (as
// torch.save's loader does), so that tensor rebuilding is reached too.
//
//===----------------------------------------------------------------------===//
#include "frontend/Pickle.h"

#include <cstdint>

using namespace atalla::frontend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  UnpicklerLimits L;
  L.MaxItems = 1u << 20;
  // Any persistent id becomes a storage of 64 float32s.
  auto Load = [](const PyRef &Pid) -> llvm::Expected<PyRef> {
    auto S = std::make_shared<Storage>();
    S->Bytes.assign(256, 0);
    return PyValue::makeStorage(S, ScalarType::Float32, 64, "0");
  };
  auto V = unpickle(llvm::ArrayRef<uint8_t>(Data, Size), Load, L);
  if (!V)
    llvm::consumeError(V.takeError());
  return 0;
}
