//===- runtime/fallback/TorchBlas.cpp - which BLAS LibTorch loaded --------===//
//
// libblas.so.3 is a symbolic link chain through /etc/alternatives; the real
// path of the object that defines sgemm_ names the provider's folder (blas/,
// openblas-pthread/, blis-openmp/, atlas/). OpenBLAS also answers
// openblas_get_config().
//
//===----------------------------------------------------------------------===//
#include "runtime/fallback/TorchBlas.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <cstring>

using namespace atalla;
using namespace atalla::runtime;

namespace {

bool contains(const std::string &S, const char *Needle) { return S.find(Needle) != std::string::npos; }

} // namespace

std::string BlasProvider::text() const {
  std::string S = Detail.empty() ? Name : Detail;
  if (!Path.empty())
    S += " (" + Path + ")";
  return S;
}

BlasProvider runtime::blasProvider() {
  // The object that defines sgemm_ in the global scope is the one LibTorch's
  // calls bind to. OpenBLAS may be loaded besides (as the LAPACK provider,
  // say) while the reference BLAS answers sgemm_, so the provider is named
  // by that object alone.
  BlasProvider P;
  void *Sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info Info;
  if (!Sgemm || !dladdr(Sgemm, &Info) || !Info.dli_fname) {
    P.Name = "none loaded";
    return P;
  }
  char Real[PATH_MAX];
  P.Path = realpath(Info.dli_fname, Real) ? Real : Info.dli_fname;
  if (contains(P.Path, "openblas")) {
    P.Name = "OpenBLAS";
    // Its build configuration, from the library that defines sgemm_.
    if (void *H = dlopen(Info.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) {
      using ConfigFn = const char *(*)();
      if (auto Config = reinterpret_cast<ConfigFn>(dlsym(H, "openblas_get_config")))
        P.Detail = Config();
      dlclose(H);
    }
  } else if (contains(P.Path, "blis")) {
    P.Name = "BLIS";
  } else if (contains(P.Path, "atlas")) {
    P.Name = "ATLAS";
  } else if (contains(P.Path, "mkl")) {
    P.Name = "MKL";
  } else if (contains(P.Path, "/blas/")) {
    P.Name = "reference BLAS";
  } else {
    P.Name = "unknown BLAS";
  }
  return P;
}

std::string runtime::blasVersionLine() { return "  BLAS behind LibTorch: " + blasProvider().text() + "\n"; }

void runtime::setBlasThreads(int N) {
  using SetFn = void (*)(int);
  if (auto Set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    Set(N);
  using SetBlis = void (*)(long);
  if (auto Set = reinterpret_cast<SetBlis>(dlsym(RTLD_DEFAULT, "bli_thread_set_num_threads")))
    Set(N);
}
