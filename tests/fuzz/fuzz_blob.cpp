//===- tests/fuzz/fuzz_blob.cpp - the blob loader --------------------------===//
//
// Any bytes as an .atb: header, section table, checksums, every record and
// cross-reference Blob::parse validates before anything trusts them.
//
//===----------------------------------------------------------------------===//
#include "runtime/Blob.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  atalla::runtime::BlobLimits L;
  L.MaxDramBytes = 256 << 20;
  auto B = atalla::runtime::Blob::parse(std::vector<uint8_t>(Data, Data + Size), "fuzz.atb", L);
  if (!B) {
    llvm::consumeError(B.takeError());
    return 0;
  }
  // What a loader reads next from a blob it accepted.
  for (uint32_t I = 0; I < B->instructions().size(); ++I) {
    (void)B->nodeName(I);
    (void)B->operands(I);
  }
  for (uint32_t I = 0; I < B->kernels().size(); ++I)
    (void)B->kernelObject(I);
  for (uint32_t I = 0; I < B->fallbackCalls().size(); ++I)
    (void)B->fallbackOpName(I);
  for (uint32_t I = 0; I < B->inputs().size(); ++I)
    (void)B->sampleInput(I);
  return 0;
}
