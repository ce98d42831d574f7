//===- codegen/BlobWriter.h - compile a Program into a blob -----*- C++ -*-===//
//
// The last step of atalla-gen: every distinct kernel specialisation of the
// program is compiled once (KernelEmitter; in parallel, and taken from the
// persistent kernel cache when it is there), then the tensors, the program,
// the fallback calls, the constants and the provenance are laid out in the
// format of runtime/abi/BlobFormat.h.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_BLOBWRITER_H
#define ATALLA_CODEGEN_BLOBWRITER_H

#include "codegen/KernelEmitter.h"
#include "lower/Program.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace atalla::codegen {

struct KernelStat {
  std::string Symbol, Key;
  uint64_t CodeBytes = 0;
  unsigned Uses = 0;
  double IrMs = 0, OptMs = 0, CodegenMs = 0;
  bool Cached = false; ///< taken from the kernel cache (its times are 0)
};

struct BlobStats {
  unsigned Instructions = 0, KernelInstructions = 0, FallbackInstructions = 0;
  std::vector<KernelStat> Kernels; ///< distinct specialisations, in first-use order
  uint64_t CodeBytes = 0, BlobBytes = 0;
  unsigned CacheHits = 0;      ///< kernels taken from the cache
  unsigned CompileThreads = 0; ///< threads the kernels compiled on
  double KernelsWallMs = 0;    ///< wall time of compiling (or fetching) every kernel
};

struct BlobOptions {
  CodegenOptions Codegen;
  /// key=value pairs recorded in the provenance section after the standard
  /// ones (compiler, LLVM, LibTorch, target, source hash).
  std::vector<std::pair<std::string, std::string>> Provenance;
  /// Raw sample inputs (contiguous, input order) to embed, or empty.
  std::vector<std::vector<uint8_t>> SampleInputs;
  /// Called after each kernel compiles (done, total), for progress display;
  /// always from the calling thread.
  std::function<void(unsigned, unsigned)> Progress;
  /// The persistent kernel cache's folder (KernelCache.h); "" = no cache.
  std::string CacheDir;
  /// Threads compiling distinct kernels at once; 0 = one per core.
  unsigned Jobs = 0;
};

llvm::Expected<std::vector<uint8_t>> writeBlob(const lower::Program &P, const BlobOptions &Opts,
                                               BlobStats *Stats = nullptr);

/// The compiler's version string.
const char *compilerVersion();

} // namespace atalla::codegen

#endif // ATALLA_CODEGEN_BLOBWRITER_H
