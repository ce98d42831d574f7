//===- tests/fuzz/fuzz_archive.cpp - the zip reader ------------------------===//
//
// Any bytes as a zip: open (central directory, sizes, ZIP64, limits), then
// read every entry (inflate, CRC). Errors are fine; crashes, leaks, hangs
// and unbounded allocations are findings.
//
//===----------------------------------------------------------------------===//
#include "frontend/ZipArchive.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  atalla::frontend::ZipLimits L;
  L.MaxTotalBytes = 64 << 20; // keep each run's memory bounded under the fuzzer
  L.MaxEntryBytes = 32 << 20;
  auto Z = atalla::frontend::ZipReader::openBuffer(std::vector<uint8_t>(Data, Data + Size), "fuzz.zip", L);
  if (!Z) {
    llvm::consumeError(Z.takeError());
    return 0;
  }
  for (const auto &E : (*Z)->entries()) {
    auto B = (*Z)->read(E.Name);
    if (!B)
      llvm::consumeError(B.takeError());
  }
  return 0;
}
