//===- runtime/fallback/TorchBlas.h - which BLAS LibTorch loaded -*- C++ -*-===//
//
// Debian's LibTorch reaches BLAS through libblas.so.3, which the system's
// alternatives resolve: the reference BLAS on one machine, OpenBLAS (what a
// fresh install gets) on another. The provider changes the eager oracle's
// summation order and speed, so the tools and benchmarks name it, and the
// oracle and the fallback pin it to one thread as they pin LibTorch. This
// looks at the process (which loaded object defines sgemm_, the provider's
// own entry points found by dlsym); it needs no LibTorch header.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_FALLBACK_TORCHBLAS_H
#define ATALLA_RUNTIME_FALLBACK_TORCHBLAS_H

#include <string>

namespace atalla::runtime {

/// The BLAS behind libblas.so.3 in this process.
struct BlasProvider {
  std::string Name;   ///< "OpenBLAS", "reference BLAS", "BLIS", "ATLAS", "MKL", or "none loaded"
  std::string Detail; ///< the provider's own account (OpenBLAS's build configuration), or ""
  std::string Path;   ///< the library libblas.so.3 resolves to, or ""

  /// "OpenBLAS 0.3.21 ... (/usr/lib/.../openblas-pthread/libblas.so.3)".
  std::string text() const;
};

/// Finds the provider among the objects loaded into this process.
BlasProvider blasProvider();

/// The line the tools that load LibTorch add to --version:
/// "  BLAS behind LibTorch: <blasProvider().text()>\n".
std::string blasVersionLine();

/// Sets the provider's own thread count where it has one that LibTorch's
/// at::set_num_threads does not reach (OpenBLAS's pthreads build, BLIS).
void setBlasThreads(int N);

} // namespace atalla::runtime

#endif // ATALLA_RUNTIME_FALLBACK_TORCHBLAS_H
