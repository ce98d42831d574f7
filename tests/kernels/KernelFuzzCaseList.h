//===- tests/kernels/KernelFuzzCaseList.h - case generators' pieces -*- C++ -*-===//
//
// What the kernel suite's per-family case generators share (the case list,
// views, names, the edge sizes) and the generators of the window families
// (convolutions, pools, attention: KernelFuzzWindowCases.cpp) that
// KernelFuzzCases.cpp's family switch calls. Internal to the suite.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_KERNELS_KERNELFUZZCASELIST_H
#define ATALLA_TESTS_KERNELS_KERNELFUZZCASELIST_H

#include "KernelFuzzCases.h"
#include "KernelSpecTestSupport.h"

#include "runtime/abi/Kernels.h"

#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

namespace atalla::kernelfuzz::cases {

using namespace atalla::abi;

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

using atalla::test::contiguous;
using atalla::test::permuted;
using atalla::test::view;

/// [K, M]^T: an [M, K] view with strides (1, M).
inline OperandSpec transposed(int64_t Rows, int64_t Cols) { return permuted({Cols, Rows}, {1, 0}); }


inline std::string dimsText(const std::vector<int64_t> &Sizes) {
  if (Sizes.empty())
    return "scalar";
  std::string S;
  for (int64_t X : Sizes)
    S += (S.empty() ? "" : "x") + std::to_string(X);
  return S;
}

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

/// Collects the cases of one kernel: Name = kernel_<what>_s<seed>.
struct CaseList {
  std::vector<FuzzCase> &Out;
  KernelId Kernel;

  KernelSpec spec(std::vector<OperandSpec> Ops) const {
    KernelSpec S;
    S.Kernel = Kernel;
    S.Operands = std::move(Ops);
    if (S.isComparison())
      S.Operands.back().Type = DType::Bool;
    if (Kernel == KernelId::argmax || Kernel == KernelId::argmin)
      S.Operands.back().Type = DType::I64;
    auto bits = [](float F) { return int64_t(f32Bits(F)); };
    if (Kernel == KernelId::leaky_relu)
      S.Params = {bits(0.2f)};
    if (Kernel == KernelId::clamp)
      S.Params = {bits(-0.75f), bits(1.25f)};
    if (Kernel == KernelId::powi)
      S.Params = {3};
    return S;
  }

  void add(const std::string &What, const KernelSpec &S, std::vector<uint32_t> Seeds = {1},
           Fill F = Fill::Normal) {
    static const unsigned Extra = [] {
      const char *E = std::getenv("ATALLA_FUZZ_EXTRA_SEEDS");
      return E ? unsigned(std::strtoul(E, nullptr, 10)) : 0u;
    }();
    for (unsigned I = 0; I < Extra; ++I)
      Seeds.push_back(1000 + I);
    for (uint32_t Seed : Seeds) {
      FuzzCase C;
      C.Name = std::string(kernelName(Kernel)) + "_" + What;
      if (F != Fill::Normal)
        C.Name += std::string("_") + fillName(F);
      C.Name += "_s" + std::to_string(Seed);
      for (char &Ch : C.Name)
        if (!std::isalnum(static_cast<unsigned char>(Ch)))
          Ch = '_';
      C.Spec = S;
      C.Seed = Seed;
      C.Values = F;
      Out.push_back(std::move(C));
    }
  }
};

// Sizes at the vector (16 floats) and tile edges, and odd primes.
inline const std::vector<int64_t> Edges = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65};
inline const std::vector<int64_t> Primes = {7, 13, 97, 127, 257};

// The window families (KernelFuzzWindowCases.cpp).
void conv2dCases(CaseList &L);
void poolCases(CaseList &L);
void avgPoolCases(CaseList &L);
void adaptivePoolCases(CaseList &L);
void attentionCases(CaseList &L);
void convTransposeCases(CaseList &L);
void depthwiseCases(CaseList &L);

} // namespace atalla::kernelfuzz::cases

#endif // ATALLA_TESTS_KERNELS_KERNELFUZZCASELIST_H
