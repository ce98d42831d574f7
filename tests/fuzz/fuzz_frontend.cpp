//===- tests/fuzz/fuzz_frontend.cpp - the whole frontend on a byte buffer --===//
//
// Any bytes as a .pt2: container detection, the schema, the weights (raw
// payloads and torch.save pickles), constants and sample inputs, then the
// printers over whatever model came out.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Printers.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  atalla::frontend::ArchiveOptions O;
  O.Zip.MaxTotalBytes = 64 << 20;
  O.Zip.MaxEntryBytes = 32 << 20;
  auto M = atalla::frontend::readModelFromBuffer(std::vector<uint8_t>(Data, Data + Size), "fuzz.pt2", O);
  if (!M) {
    llvm::consumeError(M.takeError());
    return 0;
  }
  atalla::frontend::printSummary(*M, llvm::nulls());
  atalla::frontend::printTable(*M, llvm::nulls());
  atalla::frontend::printCode(*M, llvm::nulls());
  atalla::frontend::printSignature(*M, llvm::nulls());
  return 0;
}
