//===- codegen/KernelCache.h - compiled kernels kept between runs -*- C++ -*-===//
//
// A persistent cache of compiled kernel objects: one file per kernel,
// keyed by everything that decides its bytes — the spec's key, the target
// (triple, CPU, the features LLVM is given), the optimisation level, the
// pad size, the register blocking, the compiler's version and a hash of the
// code generator's own sources (so an edited emitter never reuses an old
// object). Entries are written whole (a temporary file renamed into place),
// carry their full key and a checksum, and anything that does not match is
// a miss: a damaged or foreign file costs a recompile, never a wrong kernel.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_KERNELCACHE_H
#define ATALLA_CODEGEN_KERNELCACHE_H

#include "codegen/KernelEmitter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace atalla::codegen {

/// The text every cached object is keyed by (the file name is its hash).
std::string kernelCacheKey(const abi::KernelSpec &Spec, const CodegenOptions &Opts);

/// The cached object for \p Key in \p Dir, or nullopt (absent, damaged,
/// or another key's).
std::optional<CompiledKernel> readCachedKernel(llvm::StringRef Dir, const std::string &Key);

/// Stores \p C under \p Key in \p Dir (created if needed); an error names
/// the file.
llvm::Error writeCachedKernel(llvm::StringRef Dir, const std::string &Key, const CompiledKernel &C);

/// $ATALLA_CACHE_DIR, else $XDG_CACHE_HOME/atalla-gen/kernels, else
/// $HOME/.cache/atalla-gen/kernels; "" when none of them is set.
std::string defaultKernelCacheDir();

} // namespace atalla::codegen

#endif // ATALLA_CODEGEN_KERNELCACHE_H
