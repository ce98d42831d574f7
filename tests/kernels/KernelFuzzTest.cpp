//===- tests/kernels/KernelFuzzTest.cpp - every kernel vs oneDNN ----------===//
//
// The kernel fuzz suite: every row of Kernels.def x shapes biased to tile
// and vector edges x seeds. Each case compiles the specialisation with
// codegen::compileKernel, links it with the real sim::CodeLoader, runs it on
// a real sim::Device and compares the output with reference::runOneDnn on
// the same input buffers. A failure prints one KERNEL_REPRO line with the
// spec's key, the seed and the gtest filter that reruns just that case.
//
// To add a case: add a line to the family's generator below (gemmCases,
// unaryCases, ...); the name you give becomes part of the test name. A new
// Kernels.def row gets the cases of its family by construction (the list is
// an X-macro over the table), and a new family is a compile error in
// familyCases() until it has a generator. ATALLA_FUZZ_EXTRA_SEEDS=N runs
// every case with N more seeds.
//
// Numerics: the error of a case is max|got - ref| / max(max|ref|, tiny)
// over the finite reference values; NaNs must match NaNs and infinities must
// match exactly (same sign). NaN and inf inputs are tested where oneDNN
// agrees with torch (binary, copy, relu of +-inf, softmax rows with -inf) and
// left out where it does not (relu(NaN): oneDNN 0, torch NaN; a softmax row
// holding NaN or +inf: oneDNN NaN at that element and 0 elsewhere, torch and
// the kernel NaN everywhere). The thresholds, per family:
//  - Unary, Binary, Copy: 0. Each output element is one IEEE operation (or
//    none) on the same fp32 inputs: relu, x op y, x op s; add/sub with alpha
//    round alpha * y to fp32 first in both (the kernel's fmul then fadd,
//    oneDNN's eltwise_linear then binary). Only the sign of a zero may
//    differ, which the measure ignores.
//  - Pad: 0. Every output element is the fill value or one input element.
//  - convert, comparisons and typed copies: 0 (exact). Integer and bool
//    values are drawn in the range every type involved holds; float -> int
//    converts get integral floats (see makeInputs), so oneDNN's rounding
//    reorder and torch's truncation agree. NaN: oneDNN's gt and ge are true
//    on NaN (torch: false), so those two see no NaN here; the model tests
//    (tests/e2e/TypedModelsTest.cpp) hold every comparison's NaN
//    behaviour to LibTorch.
//  - Gather (embedding) and Select (where): 0, elements are copied. where's
//    reference is a host pick on oneDNN-made dense operands: oneDNN 2.6
//    has no select.
//  - Chain: the unary bounds of its math steps, summed and doubled (the
//    steps after one carry its error with slopes of about 1 at most);
//    arithmetic steps are the same IEEE operations in oneDNN's post-ops.
//  - Reduce: amax and amin 0 (max is exact; no NaN inputs: oneDNN's max
//    does not propagate them as torch does). sum and mean: D fp32 additions
//    in different orders (ours in 4 x 8 partial sums and a tree across
//    lanes, or down columns; oneDNN's its own), bounded like the GEMM's K
//    products: 2^-23 * (D + 2) of max|ref| (+2: mean's division, and the
//    final combination).
//  - Norm (layer_norm): two row sums (mean, then the variance of x - mean)
//    whose rounding grows with D as softmax's sum does, a division, a sqrt
//    and a reciprocal, then x - mean, a multiply and an fma: the softmax
//    bound with 16 ulp in place of 8 for the extra operations. oneDNN sums
//    in another order. Measured at most 0.06 of it.
//  - Unary math (inline polynomials against oneDNN's jit ones, both within a
//    few ulp of the true value): exp, sigmoid, tanh, rsqrt, gelu_tanh 8 ulp
//    (exp < 1 ulp, sigmoid adds an add and a divide, tanh's Cephes forms
//    under 3 ulp, rsqrt is 1 / sqrt against oneDNN's pow); gelu 16 ulp
//    (erf by Abramowitz-Stegun 7.1.26, absolute error 1.5e-7, scaled by
//    x / 2, relative to max|gelu(x)| ~ max|x|); sin, cos 8 ulp (Cephes,
//    under 2 ulp for |x| < 8192, against libm in double: oneDNN 2.6 has
//    no sin or cos, the one reference here that is not oneDNN's); log 128 ulp: ours is Cephes
//    logf (< 2 ulp, checked against libm), but oneDNN 2.6's avx2 jit log
//    was measured 7e-6 relative off (log(1.3223786) = 0.27943212, oneDNN
//    0.27943018), so the bound is oneDNN's error, not ours.
//  - Softmax: exp(x - max) / sum. Both evaluate exp to < 1 ulp (ours, an
//    inline polynomial, measured 8.3e-8 relative in codegen_tests'
//    InlineExp; oneDNN's jit polynomial or libm), then a sum whose rounding
//    grows with the row length D: lane-parallel or blocked sums have a
//    typical relative error of ~sqrt(D / lanes) ulp (~log2(D) ulp for a
//    pairwise tree), then one division or a reciprocal and a multiply
//    (1-2 ulp). We allow 2^-23 * (8 + 2 log2(D) + sqrt(D) / 4): a few ulp for
//    short rows, growing like a blocked sum's error for long ones (measured
//    at most 0.12 of it, on the 70000-long rows). log_softmax, x - max -
//    log(sum), shares the bound: its log (Cephes logf polynomial, < 1 ulp)
//    adds an absolute error of ~1 ulp of log(sum), at most that of
//    max|ref| >= log(D), and the sum's rounding enters only through the log.
//  - Gemm: both accumulate in fp32, in different orders (oneDNN's sgemm
//    or brgemm blocks K and keeps partial sums in registers; ours runs k in
//    order within K blocks of 256, fused multiply-adds where the target has
//    them). Each implementation's error is bounded by gamma_K * sum|a_k b_k|
//    with gamma_K ~ K * 2^-24, so two of them differ by at most ~K * 2^-23
//    times sum|ab|; we apply that factor to max|C| instead: 2^-23 * (K + 2)
//    (+2: the bias add, and a first product that one side may fuse). With
//    standard normal inputs sum|ab| ~ 0.64 K exceeds max|C| ~ 3 sqrt(K), but
//    rounding errors add like a random walk, so the measured difference is a
//    few ulp times sqrt(K): at most 0.11 of the threshold over 5 seeds of
//    every shape (K = 513: 9.9e-7 against 6.1e-5). A real defect (a k block
//    dropped or counted twice, a wrong element) is of order 1 / sqrt(K) of
//    max|C| or more: far above it.
//  Measured worst cases are printed at the end of every run.
//
// bf16 (the KernelsBf16 instantiation: every specialisation's bf16 twin,
// one seed): f32 operands live in DRAM as bf16, the inputs are drawn
// rounded to bf16, and the reference is oneDNN's f32 primitive on those
// values with its output rounded to bf16 (reference/OneDnnKernels.cpp says
// why that is what a oneDNN bf16 primitive computes). Both sides round an
// f32 result that agrees to the f32 threshold above, and two roundings to
// nearest differ by at most one bf16 ulp more than their arguments, so
// each element may differ by one bf16 ulp (2^-8 to 2^-7 of its magnitude)
// plus the f32 threshold. That bound alone would pass truncation, so each
// element is also held to the rounding itself: it must be the rounding to
// nearest even of an f32 value within the f32 threshold (times max|ref|) of
// the f32 twin's oneDNN result: bit for bit where the threshold is 0, and
// for large elements of the other families, whose threshold is far below
// a bf16 ulp, all but those next to a rounding midpoint.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "reference/OneDnnKernels.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/KernelSpec.h"
#include "runtime/abi/Kernels.h"
#include "sim/CodeLoader.h"
#include "sim/Device.h"

#include "KernelSpecTestSupport.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace atalla;
using namespace atalla::abi;

namespace {

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

using atalla::test::contiguous;
using atalla::test::permuted;
using atalla::test::view;

/// [K, M]^T: an [M, K] view with strides (1, M).
OperandSpec transposed(int64_t Rows, int64_t Cols) { return permuted({Cols, Rows}, {1, 0}); }

/// Elements a strided view spans in storage.
int64_t extent(const OperandSpec &O) {
  if (O.numel() == 0)
    return 0;
  int64_t E = 1;
  for (size_t D = 0; D < O.Sizes.size(); ++D)
    E += (O.Sizes[D] - 1) * O.Strides[D];
  return E;
}

std::string dimsText(const std::vector<int64_t> &Sizes) {
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

enum class Fill {
  Normal,  ///< standard normals
  Large,   ///< normals x 40 (softmax: exp under- and overflow of x - max)
  Special, ///< normals with NaN, +-inf and +-0 mixed in (elementwise; relu: no NaN)
  /// softmax [R, D] rows with -inf, all -inf, underflow, a dominant element.
  /// No NaN or +inf: torch makes such a row all NaN (x - max is NaN where
  /// x = max = inf), as the kernel does, but oneDNN 2.6 gives NaN only at
  /// the NaN (or inf) element and 0 elsewhere, so it is no oracle there.
  Rows,
};

const char *fillName(Fill F) {
  switch (F) {
  case Fill::Normal: return "normal";
  case Fill::Large: return "large";
  case Fill::Special: return "special";
  case Fill::Rows: return "rows";
  }
  return "?";
}

struct FuzzCase {
  std::string Name; ///< the gtest parameter name
  KernelSpec Spec;
  uint32_t Seed = 0;
  Fill Values = Fill::Normal;
  /// The register blocking: the target's own (Auto), or one forced, so that
  /// every variant runs on any host (a 512-bit one split in two on AVX2).
  codegen::VectorIsa Isa = codegen::VectorIsa::Auto;
};

/// gtest prints parameters it cannot name; keep it to the name.
void PrintTo(const FuzzCase &C, std::ostream *OS) { *OS << C.Name; }

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
const std::vector<int64_t> Edges = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65};
const std::vector<int64_t> Primes = {7, 13, 97, 127, 257};

void gemmCases(CaseList &L) {
  auto gemm = [&](OperandSpec A, OperandSpec B, std::optional<OperandSpec> Bias = {}) {
    std::vector<int64_t> CSizes = A.Sizes;
    CSizes.back() = B.Sizes.back();
    std::vector<OperandSpec> Ops = {A, B};
    if (Bias)
      Ops.push_back(*Bias);
    Ops.push_back(contiguous(CSizes));
    KernelSpec S = L.spec(Ops);
    S.HasBias = Bias.has_value();
    return S;
  };
  // A [M, K] and B [K, N], either given transposed (strides (1, rows)).
  auto plain = [&](int64_t M, int64_t N, int64_t K, bool TA, bool TB,
                   std::optional<OperandSpec> Bias = {}) {
    return gemm(TA ? transposed(M, K) : contiguous({M, K}), TB ? transposed(K, N) : contiguous({K, N}),
                Bias);
  };
  auto name = [](int64_t M, int64_t N, int64_t K, bool TA, bool TB) {
    return dimsText({M, N, K}) + (TA ? "_tA" : "") + (TB ? "_tB" : "");
  };

  // Cubes at every edge.
  for (int64_t E : Edges)
    L.add(name(E, E, E, false, false), plain(E, E, E, false, false), {1, 2});
  for (int64_t P : Primes)
    L.add(name(P, P, P, false, false), plain(P, P, P, false, false), {1, 2});
  // Mixed edges and primes, cycling through the four orientations; the
  // triples come from a fixed LCG so the list is the same everywhere.
  std::vector<int64_t> Pool = Edges;
  Pool.insert(Pool.end(), Primes.begin(), Primes.end());
  uint32_t X = 12345;
  auto pick = [&] {
    X = X * 1103515245u + 12345u;
    return Pool[(X >> 16) % Pool.size()];
  };
  std::set<std::vector<int64_t>> Seen;
  for (int I = 0; Seen.size() < 44; ++I) {
    int64_t M = pick(), N = pick(), K = pick();
    bool TA = I % 4 == 1 || I % 4 == 3, TB = I % 4 >= 2;
    if (!Seen.insert({M, N, K, TA, TB}).second)
      continue;
    L.add(name(M, N, K, TA, TB), plain(M, N, K, TA, TB), {uint32_t(3 + I % 5)});
  }
  // The generated GEMM's tiles are 64 x 256 with K blocks of 256: one either side.
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {63, 255, 255}, {64, 256, 256}, {65, 257, 257}, {130, 300, 520}, {128, 512, 513}})
    L.add(name(M, N, K, false, false), plain(M, N, K, false, false));
  L.add(name(65, 257, 257, true, true), plain(65, 257, 257, true, true));
  // Skinny: GEMV-like M = 1 or N = 1, and K = 1.
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{{1, 1, 1},
                                                            {1, 17, 33},
                                                            {1, 65, 64},
                                                            {1, 257, 127},
                                                            {1, 1000, 96},
                                                            {33, 1, 65},
                                                            {127, 1, 31},
                                                            {64, 1, 256},
                                                            {1000, 1, 17},
                                                            {3, 7, 1},
                                                            {65, 33, 1},
                                                            {1, 1, 1024}}) {
    L.add(name(M, N, K, false, false), plain(M, N, K, false, false), {1, 2});
    L.add(name(M, N, K, false, true), plain(M, N, K, false, true));
  }
  L.add(name(1, 300, 200, true, false), plain(1, 300, 200, true, false));
  // Batched: bmm, a B shared by every batch (stride 0), rank 4 with A
  // broadcast in dim 1, attention's q @ k^T per batch.
  L.add("b3_17x65x33", gemm(contiguous({3, 17, 33}), contiguous({3, 33, 65})), {1, 2});
  L.add("b5_1x16x64", gemm(contiguous({5, 1, 64}), contiguous({5, 64, 16})));
  L.add("b4_31x16x33_Bbcast", gemm(contiguous({4, 31, 33}), view({4, 33, 16}, {0, 16, 1})));
  L.add("b4_31x16x33_Abcast", gemm(view({4, 31, 33}, {0, 33, 1}), contiguous({4, 33, 16})));
  L.add("b2x3_9x5x11_Abcast1",
        gemm(view({2, 3, 9, 11}, {99, 0, 11, 1}), contiguous({2, 3, 11, 5})));
  L.add("b4_16x33x64_qkT",
        gemm(contiguous({4, 16, 64}), permuted({4, 33, 64}, {0, 2, 1})), {1, 2});
  L.add("b2_40x50x30_tA_tB",
        gemm(permuted({2, 30, 40}, {0, 2, 1}), permuted({2, 50, 30}, {0, 2, 1})));
  L.add("b2x2_65x17x63_tB",
        gemm(contiguous({2, 2, 65, 63}), permuted({2, 2, 17, 63}, {0, 1, 3, 2})));
  // Bias: addmm/linear's row bias [N] (strides (0, 1)), a full [M, N] bias,
  // a per-row [M, 1] bias (strides (1, 0)), batched with a shared bias.
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {32, 64, 128}, {17, 33, 65}, {1, 257, 64}, {65, 1, 31}, {130, 300, 40}})
    L.add(name(M, N, K, false, true) + "_rowbias",
          plain(M, N, K, false, true, view({M, N}, {0, 1})), {1, 2});
  L.add(name(9, 7, 20, false, false) + "_fullbias",
        plain(9, 7, 20, false, false, contiguous({9, 7})));
  L.add(name(63, 65, 33, true, false) + "_fullbias",
        plain(63, 65, 33, true, false, contiguous({63, 65})));
  L.add(name(31, 17, 16, false, false) + "_colbias",
        plain(31, 17, 16, false, false, view({31, 17}, {1, 0})));
  L.add("b2_9x7x20_colbias",
        gemm(contiguous({2, 9, 20}), contiguous({2, 20, 7}), view({2, 9, 7}, {9, 1, 0})));
  L.add("b3_16x33x17_rowbias",
        gemm(contiguous({3, 16, 17}), contiguous({3, 17, 33}), view({3, 16, 33}, {0, 0, 1})));
  // Neither last stride 1: gathered tiles.
  L.add("6x12x10_gather", gemm(view({6, 10}, {40, 2}), view({10, 12}, {30, 2})));
  L.add("33x17x15_gatherB", gemm(contiguous({33, 15}), view({15, 17}, {40, 2})));
  // The fused relu epilogue (oneDNN: an eltwise_relu post-op): plain, with a
  // row bias, with a per-row bias in a batch (a convolution's shape), and on
  // an edge-sized tile.
  auto relu = [](KernelSpec S, Epilogue E = Epilogue::Relu) {
    S.Post = E;
    return S;
  };
  L.add("64x64x64_relu", relu(plain(64, 64, 64, false, false)), {1, 2});
  L.add("17x33x65_rowbias_relu", relu(plain(17, 33, 65, false, true, view({17, 33}, {0, 1}))));
  L.add("b2_8x300x27_colbias_relu",
        relu(gemm(view({2, 8, 27}, {0, 27, 1}), contiguous({2, 27, 300}), view({2, 8, 300}, {0, 1, 0}))));
  L.add("7x13x5_relu", relu(plain(7, 13, 5, true, true)));
  // gelu epilogues (linear + gelu, oneDNN: eltwise_gelu_erf / _tanh post-ops).
  for (Epilogue E : {Epilogue::Gelu, Epilogue::GeluTanh}) {
    const std::string G = epilogueName(E);
    L.add("33x65x64_rowbias_" + G, relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), E), {1, 2});
    L.add("b2_17x16x31_" + G, relu(gemm(contiguous({2, 17, 31}), contiguous({2, 31, 16})), E));
  }
}

/// A view with element type \p T.
OperandSpec typed(OperandSpec O, DType T) {
  O.Type = T;
  return O;
}

/// convert: every pair of element types over the elementwise layouts.
void convertCases(CaseList &L) {
  const std::vector<DType> Types = {DType::F32, DType::U8, DType::I32, DType::I64, DType::Bool};
  for (DType From : Types)
    for (DType To : Types) {
      if (From == To)
        continue;
      auto conv = [&](OperandSpec In) {
        return L.spec({typed(In, From), typed(contiguous(In.Sizes), To)});
      };
      const std::string Pair = std::string(dtypeKeyName(From)) + "_to_" + dtypeKeyName(To) + "_";
      L.add(Pair + "1000", conv(contiguous({1000})));
      L.add(Pair + "17x33", conv(contiguous({17, 33})));
      L.add(Pair + "48x64_T", conv(transposed(48, 64)));
      L.add(Pair + "10x50_gather", conv(view({10, 50}, {300, 2})));
      L.add(Pair + "3x16385", conv(contiguous({3, 16385})));
      L.add(Pair + "scalar", conv(contiguous({})));
    }
  // f32 inputs may broadcast (the UNet's uint8 image goes the other way).
  L.add("f32_to_bool_33x65_expandrows", L.spec({view({33, 65}, {0, 1}), typed(contiguous({33, 65}), DType::Bool)}));
  L.add("f32_to_bool_9x33", L.spec({contiguous({9, 33}), typed(contiguous({9, 33}), DType::Bool)}), {1, 2},
        Fill::Special);
}

void unaryCases(CaseList &L) {
  if (L.Kernel == KernelId::convert) {
    convertCases(L);
    return;
  }
  auto unary = [&](OperandSpec In) { return L.spec({In, contiguous(In.Sizes)}); };
  std::vector<int64_t> Lens = Edges;
  Lens.insert(Lens.end(), Primes.begin(), Primes.end());
  for (int64_t N : {1000, 16383, 16384, 16385})
    Lens.push_back(N);
  for (int64_t N : Lens)
    L.add(dimsText({N}), unary(contiguous({N})));
  for (auto [R, C] : std::vector<std::array<int64_t, 2>>{
           {15, 17}, {16, 16}, {17, 33}, {31, 65}, {33, 63}, {64, 64}, {65, 1}, {1, 65}, {127, 257}})
    L.add(dimsText({R, C}), unary(contiguous({R, C})));
  for (auto [R, C] : std::vector<std::array<int64_t, 2>>{{48, 64}, {129, 130}, {17, 33}, {1, 65}})
    L.add(dimsText({R, C}) + "_T", unary(transposed(R, C)));
  L.add("3x4x5x6_perm2031", unary(permuted({5, 3, 6, 4}, {1, 3, 0, 2})));
  L.add("10x50_gather", unary(view({10, 50}, {300, 2})));
  L.add("33x65_expandrows", unary(view({33, 65}, {0, 1})));
  L.add("65x33_expandcols", unary(view({65, 33}, {1, 0})));
  L.add("3x40000_padded", unary(view({3, 40000}, {40017, 1})));
  L.add("scalar", unary(contiguous({})));
  L.add("7x33", unary(contiguous({7, 33})), {1, 2}, Fill::Special);
  L.add("33x17_T", unary(transposed(33, 17)), {1}, Fill::Special);
  if (L.Kernel == KernelId::sin || L.Kernel == KernelId::cos)
    L.add("1000", unary(contiguous({1000})), {1, 2, 3}, Fill::Large); // |x| up to ~200: many periods
}

void binaryCases(CaseList &L) {
  auto binary = [&](OperandSpec A, OperandSpec B) {
    std::vector<int64_t> Sizes = A.Sizes;
    return L.spec({A, B, contiguous(Sizes)});
  };
  auto scalar = [&](OperandSpec A, double S) {
    KernelSpec Spec = L.spec({A, contiguous(A.Sizes)});
    Spec.HasScalar = true;
    Spec.Scalar = S;
    return Spec;
  };
  for (std::vector<int64_t> Sizes : std::vector<std::vector<int64_t>>{
           {1}, {17}, {64}, {65}, {16, 16}, {31, 33}, {2, 3, 4, 5}, {5000, 3}, {3, 16385}})
    L.add(dimsText(Sizes), binary(contiguous(Sizes), contiguous(Sizes)));
  // Broadcasts: a row [C] over rows, a column [R, 1] over columns, both
  // ([4,1,6] op [1,5,1]), a broadcast first operand, a scalar-shaped tensor.
  for (auto [R, C] : std::vector<std::array<int64_t, 2>>{{37, 129}, {1, 65}, {64, 17}, {33, 16}}) {
    L.add(dimsText({R, C}) + "_rowbcast", binary(contiguous({R, C}), view({R, C}, {0, 1})));
    L.add(dimsText({R, C}) + "_colbcast", binary(contiguous({R, C}), view({R, C}, {1, 0})));
  }
  L.add("4x5x6_bothbcast", binary(view({4, 5, 6}, {6, 0, 1}), view({4, 5, 6}, {0, 1, 0})));
  L.add("33x17_Abcast", binary(view({33, 17}, {0, 1}), contiguous({33, 17})));
  L.add("77_Bscalartensor", binary(contiguous({77}), view({77}, {0})));
  L.add("2x3x17_Bbatchbcast", binary(contiguous({2, 3, 17}), view({2, 3, 17}, {0, 17, 1})));
  // Transposed operands.
  L.add("48x64_AT", binary(transposed(48, 64), contiguous({48, 64})));
  L.add("65x31_BT", binary(contiguous({65, 31}), transposed(65, 31)));
  L.add("130x129_ATBT", binary(transposed(130, 129), transposed(130, 129)));
  L.add("10x50_gather", binary(view({10, 50}, {300, 2}), contiguous({10, 50})));
  L.add("scalar", binary(contiguous({}), contiguous({})));
  // Scalar operands (x op s: for div a true division, not x * (1 / s)).
  for (double S : {1.7, -0.37, 3.0})
    L.add("10x33_scalar" + std::to_string(int(S * 100)), scalar(contiguous({10, 33}), S));
  L.add("65x17_T_scalar3", scalar(transposed(65, 17), 3.0));
  // Alpha (add/sub only: A op alpha * B).
  if (L.Kernel == KernelId::add || L.Kernel == KernelId::sub) {
    for (double Alpha : {2.0, 0.3, -1.5}) {
      KernelSpec S = binary(contiguous({10, 33}), view({10, 33}, {0, 1}));
      S.Alpha = Alpha;
      L.add("10x33_rowbcast_alpha" + std::to_string(int(Alpha * 10)), S);
    }
    KernelSpec S = binary(contiguous({17, 65}), transposed(17, 65));
    S.Alpha = 0.7;
    L.add("17x65_BT_alpha7", S);
    S = scalar(contiguous({33}), 1.3);
    S.Alpha = 0.3;
    L.add("33_scalar130_alpha3", S);
  }
  // NaN, infinities, signed zeros (x / 0, 0 / 0, inf - inf, 0 * inf).
  L.add("9x33", binary(contiguous({9, 33}), contiguous({9, 33})), {1, 2}, Fill::Special);
  L.add("9x33_rowbcast", binary(contiguous({9, 33}), view({9, 33}, {0, 1})), {1}, Fill::Special);
}

void softmaxCases(CaseList &L) {
  auto softmax = [&](OperandSpec In, int64_t Dim) {
    KernelSpec S = L.spec({In, contiguous(In.Sizes)});
    S.Dim = Dim;
    return S;
  };
  // Rows of every edge length (and primes, and longer), over a few row counts.
  std::vector<int64_t> Lens = Edges;
  Lens.insert(Lens.end(), Primes.begin(), Primes.end());
  for (int64_t D : {1000, 4097})
    Lens.push_back(D);
  int I = 0;
  for (int64_t D : Lens) {
    int64_t R = std::vector<int64_t>{3, 16, 17, 1, 33}[I++ % 5];
    L.add(dimsText({R, D}) + "_d1", softmax(contiguous({R, D}), 1), {1, 2});
  }
  L.add("5000x7_d1", softmax(contiguous({5000, 7}), 1));
  L.add("3x70000_d1", softmax(contiguous({3, 70000}), 1));
  L.add("65_d0", softmax(contiguous({65}), 0));
  L.add("1_d0", softmax(contiguous({1}), 0));
  L.add("scalar", softmax(contiguous({}), 0));
  // Along each dim of rank-3 and rank-4 tensors.
  for (std::vector<int64_t> Sizes :
       std::vector<std::vector<int64_t>>{{8, 33, 5}, {2, 17, 65}, {3, 16, 31}, {2, 3, 4, 5}})
    for (int64_t Dim = 0; Dim < int64_t(Sizes.size()); ++Dim)
      L.add(dimsText(Sizes) + "_d" + std::to_string(Dim), softmax(contiguous(Sizes), Dim), {1, 2});
  L.add("33x300_d0", softmax(contiguous({33, 300}), 0));
  // Strided inputs: transposed, permuted, broadcast along the reduced dim.
  L.add("30x40_T_d0", softmax(transposed(30, 40), 0));
  L.add("30x40_T_d1", softmax(transposed(30, 40), 1));
  for (int64_t Dim = 0; Dim < 3; ++Dim)
    L.add("6x4x5_perm201_d" + std::to_string(Dim), softmax(permuted({4, 5, 6}, {2, 0, 1}), Dim));
  L.add("6x9_bcast_d1", softmax(view({6, 9}, {1, 0}), 1));
  L.add("6x9_bcast_d0", softmax(view({6, 9}, {0, 1}), 0));
  // Magnitudes where exp(x - max) underflows, and NaN/inf rows.
  L.add("16x64_d1", softmax(contiguous({16, 64}), 1), {1, 2}, Fill::Large);
  L.add("8x33x5_d1", softmax(contiguous({8, 33, 5}), 1), {1}, Fill::Large);
  L.add("10x17_d1", softmax(contiguous({10, 17}), 1), {1}, Fill::Rows);
  L.add("10x64_d1", softmax(contiguous({10, 64}), 1), {1}, Fill::Rows);
  L.add("10x1000_d1", softmax(contiguous({10, 1000}), 1), {1}, Fill::Rows);
}

void copyCases(CaseList &L) {
  auto copy = [&](OperandSpec In) { return L.spec({In, contiguous(In.Sizes)}); };
  for (auto [R, C] : std::vector<std::array<int64_t, 2>>{
           {48, 64}, {130, 257}, {17, 33}, {1, 65}, {65, 1}, {16, 16}, {127, 31}, {63, 129}})
    L.add(dimsText({R, C}) + "_T", copy(transposed(R, C)), {1, 2});
  L.add("3x50x40_T12", copy(permuted({3, 40, 50}, {0, 2, 1})));
  L.add("4x2x5x3_perm2031", copy(permuted({2, 3, 4, 5}, {2, 0, 3, 1})));
  L.add("9x7x8x6_perm3120", copy(permuted({6, 7, 8, 9}, {3, 1, 2, 0})));
  L.add("15x17x16_perm201", copy(permuted({17, 16, 15}, {2, 0, 1})));
  L.add("33x16x17_perm120", copy(permuted({17, 33, 16}, {1, 2, 0})));
  // Expands (stride 0), slices and selects (gathers), contiguous copies.
  L.add("4x100_expandrows", copy(view({4, 100}, {0, 1})));
  L.add("100x4_expandcols", copy(view({100, 4}, {1, 0})));
  L.add("5x17x33_expand0", copy(view({5, 17, 33}, {0, 33, 1})));
  L.add("3x65x7_expand02", copy(view({3, 65, 7}, {0, 1, 0})));
  L.add("10x50_slice2", copy(view({10, 50}, {300, 2})));
  L.add("64x60_slicecols", copy(view({64, 60}, {64, 1})));
  L.add("33_select", copy(view({33}, {65})));
  L.add("64x64", copy(contiguous({64, 64})));
  L.add("17", copy(contiguous({17})));
  L.add("scalar", copy(contiguous({})));
  L.add("31x33_T", copy(transposed(31, 33)), {1}, Fill::Special);
  // Into slices of a larger output (cat): rows of a wider tensor, a band of
  // channels, a transposed input into a slice.
  auto into = [&](OperandSpec In, OperandSpec Out) { return L.spec({In, Out}); };
  L.add("5x17_into_5x40", into(contiguous({5, 17}), view({5, 17}, {40, 1})));
  L.add("2x3x9x11_into_c8", into(contiguous({2, 3, 9, 11}), view({2, 3, 9, 11}, {8 * 99, 99, 11, 1})));
  L.add("33x20_T_into_33x64", into(transposed(33, 20), view({33, 20}, {64, 1})));
  L.add("7x1_into_7x3", into(contiguous({7, 1}), view({7, 1}, {3, 1})));
  // Other element types: bytes and 8-byte elements through every SDMA shape.
  for (DType T : {DType::U8, DType::Bool, DType::I32, DType::I64}) {
    const std::string Ty = dtypeKeyName(T);
    auto tcopy = [&](OperandSpec In) { return L.spec({typed(In, T), typed(contiguous(In.Sizes), T)}); };
    L.add(Ty + "_64x64", tcopy(contiguous({64, 64})));
    L.add(Ty + "_31x33_T", tcopy(transposed(31, 33)));
    L.add(Ty + "_10x50_slice2", tcopy(view({10, 50}, {300, 2})));
    L.add(Ty + "_3x4x5x6_perm2031", tcopy(permuted({5, 3, 6, 4}, {1, 3, 0, 2})));
    L.add(Ty + "_5x17_into_5x40", L.spec({typed(contiguous({5, 17}), T), typed(view({5, 17}, {40, 1}), T)}));
    L.add(Ty + "_33x20_T_into_33x64", L.spec({typed(transposed(33, 20), T), typed(view({33, 20}, {64, 1}), T)}));
  }
}

void padCases(CaseList &L) {
  // (sizes, per dim {low, step, high}): the output is low + (n-1)*step + 1 + high.
  auto pad = [&](OperandSpec In, std::vector<std::array<int64_t, 3>> P, std::optional<double> Value = {}) {
    std::vector<int64_t> OutSizes;
    KernelSpec S;
    for (size_t D = 0; D < P.size(); ++D) {
      int64_t N = In.Sizes[D];
      OutSizes.push_back(N == 0 ? P[D][0] + P[D][2] : P[D][0] + (N - 1) * P[D][1] + 1 + P[D][2]);
    }
    S = L.spec({In, contiguous(OutSizes)});
    for (auto &Q : P) {
      S.Params.push_back(Q[0]);
      S.Params.push_back(Q[1]);
    }
    if (Value) {
      S.HasScalar = true;
      S.Scalar = *Value;
    }
    return S;
  };
  // Convolution padding: NCHW, 1 and 2 on each side, odd sizes.
  L.add("1x3x17x33_p1", pad(contiguous({1, 3, 17, 33}), {{0, 1, 0}, {0, 1, 0}, {1, 1, 1}, {1, 1, 1}}), {1, 2});
  L.add("2x5x9x7_p2", pad(contiguous({2, 5, 9, 7}), {{0, 1, 0}, {0, 1, 0}, {2, 1, 2}, {2, 1, 2}}));
  L.add("1x1x64x64_p1", pad(contiguous({1, 1, 64, 64}), {{0, 1, 0}, {0, 1, 0}, {1, 1, 1}, {1, 1, 1}}));
  // Transposed-convolution zero insertion: step 2 and 3, with borders.
  L.add("1x4x8x8_s2", pad(contiguous({1, 4, 8, 8}), {{0, 1, 0}, {0, 1, 0}, {1, 2, 1}, {1, 2, 1}}));
  L.add("2x3x5x6_s3", pad(contiguous({2, 3, 5, 6}), {{0, 1, 0}, {0, 1, 0}, {2, 3, 0}, {0, 3, 2}}));
  // constant_pad_nd: asymmetric, a value, strided and transposed inputs.
  L.add("17x33_asym_v", pad(contiguous({17, 33}), {{0, 1, 3}, {5, 1, 0}}, 1.5));
  L.add("31x40_T", pad(transposed(31, 40), {{1, 1, 1}, {1, 1, 1}}));
  L.add("10x50_slice2", pad(view({10, 50}, {300, 2}), {{2, 1, 0}, {0, 1, 3}}, -2.0));
  L.add("65", pad(contiguous({65}), {{7, 1, 9}}));
  L.add("9000", pad(contiguous({9000}), {{1, 1, 1}})); // more than one fill block
  L.add("3x0x4", pad(contiguous({3, 0, 4}), {{0, 1, 0}, {1, 1, 1}, {0, 1, 0}}, 3.0));
  L.add("scalar", pad(contiguous({}), {}));
  L.add("5x6_p1", pad(contiguous({5, 6}), {{1, 1, 1}, {1, 1, 1}}), {1}, Fill::Special);
}

void normCases(CaseList &L) {
  auto norm = [&](OperandSpec X, double Eps = 1e-5) {
    const int64_t R = X.Sizes[0], D = X.Sizes[1];
    KernelSpec S = L.spec({X, view({R, D}, {0, 1}), view({R, D}, {0, 1}), contiguous({R, D})});
    S.HasScalar = true;
    S.Scalar = Eps;
    return S;
  };
  std::vector<int64_t> Lens = Edges;
  Lens.insert(Lens.end(), Primes.begin(), Primes.end());
  for (int64_t D : {768, 1000, 4097})
    Lens.push_back(D);
  int I = 0;
  for (int64_t D : Lens) {
    int64_t R = std::vector<int64_t>{3, 16, 17, 1, 33}[I++ % 5];
    L.add(dimsText({R, D}), norm(contiguous({R, D})), {1, 2});
  }
  L.add("9x40_rowstride", norm(view({9, 40}, {57, 1})));
  L.add("5000x7", norm(contiguous({5000, 7})));
  L.add("3x20000", norm(contiguous({3, 20000})));
  L.add("16x64_eps1e-1", norm(contiguous({16, 64}), 0.1));
  L.add("16x64", norm(contiguous({16, 64})), {1}, Fill::Large);
}

void reduceCases(CaseList &L) {
  auto reduce = [&](OperandSpec In) { return L.spec({In, contiguous({In.Sizes[0], 1})}); };
  // Rows of every edge length over a few row counts (row layout).
  std::vector<int64_t> Lens = Edges;
  Lens.insert(Lens.end(), Primes.begin(), Primes.end());
  Lens.push_back(1000);
  int I = 0;
  for (int64_t D : Lens) {
    int64_t O = std::vector<int64_t>{3, 16, 17, 1, 33}[I++ % 5];
    L.add(dimsText({O, D}), reduce(contiguous({O, D})), {1, 2});
  }
  L.add("9x40_rowstride", reduce(view({9, 40}, {57, 1})));
  L.add("5000x7", reduce(contiguous({5000, 7})));
  L.add("7x1", reduce(contiguous({7, 1})));
  L.add("1x1", reduce(contiguous({1, 1})));
  // Rows longer than a tile: reduced in chunks (65536 elements each); an
  // arg reduction's row must fit the scratchpad whole.
  const bool Arg = L.Kernel == KernelId::argmax || L.Kernel == KernelId::argmin;
  L.add(Arg ? "2x7000" : "2x70000", reduce(contiguous({2, Arg ? 7000 : 70000})));
  L.add(Arg ? "1x14001" : "1x140001", reduce(contiguous({1, Arg ? 14001 : 140001})));
  // Column layout: the outputs are neighbours (a reduction over an outer
  // dim, e.g. the batch); one output with a strided D.
  for (auto [O, D] : std::vector<std::array<int64_t, 2>>{{17, 33}, {1000, 8}, {2053, 3}, {5, 9000}, {64, 64}})
    L.add(dimsText({O, D}) + "_cols", reduce(transposed(O, D)), {1, 2});
  L.add("1x100_strided", reduce(view({1, 100}, {100, 3})));
  L.add("33x65", reduce(contiguous({33, 65})), {1}, Fill::Large);
  L.add("33x65_cols", reduce(transposed(33, 65)), {1}, Fill::Special);
  L.add("9x17", reduce(contiguous({9, 17})), {1}, Fill::Special);
}

void gatherCases(CaseList &L) {
  auto gather = [&](OperandSpec Table, int64_t N, DType IT) {
    return L.spec({Table, typed(contiguous({N}), IT), contiguous({N, Table.Sizes[1]})});
  };
  for (DType IT : {DType::I64, DType::I32}) {
    const std::string Ty = dtypeKeyName(IT);
    L.add(Ty + "_100x16_n33", gather(contiguous({100, 16}), 33, IT), {1, 2});
    L.add(Ty + "_7x1_n5", gather(contiguous({7, 1}), 5, IT));
    L.add(Ty + "_1000x65_n1", gather(contiguous({1000, 65}), 1, IT));
    L.add(Ty + "_50x768_n300", gather(contiguous({50, 768}), 300, IT)); // several blocks of rows
    L.add(Ty + "_9x17_rowstride_n40", gather(view({9, 17}, {20, 1}), 40, IT));
    L.add(Ty + "_3x40000_n4", gather(contiguous({3, 40000}), 4, IT)); // rows in chunks
  }
}

/// A chain step: unary, with input Source, or with a constant (Source -1).
ChainStep step(KernelId Op, int64_t Source = -1, float C = 0, bool Swapped = false) {
  ChainStep S;
  S.Op = Op;
  S.Source = Source;
  S.Bits = f32Bits(C);
  S.Swapped = Swapped;
  return S;
}

void chainCases(CaseList &L) {
  auto chain = [&](std::vector<OperandSpec> In, std::vector<ChainStep> Steps) {
    std::vector<int64_t> Sizes = In[0].Sizes;
    In.push_back(contiguous(Sizes));
    KernelSpec S = L.spec(In);
    for (const ChainStep &St : Steps)
      S.addChainStep(St);
    return S;
  };
  // x + b (a row broadcast) -> relu -> * 2: a bias-relu-scale.
  L.add("17x33_add_relu_mul", chain({contiguous({17, 33}), view({17, 33}, {0, 1})},
                                    {step(KernelId::add, 1), step(KernelId::relu), step(KernelId::mul, -1, 2.0f)}),
        {1, 2});
  // 1 - sigmoid(x * 0.5 + y): a constant on the left (swapped sub).
  L.add("64x65_mul_add_sigmoid_rsub", chain({contiguous({64, 65}), contiguous({64, 65})},
                                            {step(KernelId::mul, -1, 0.5f), step(KernelId::add, 1),
                                             step(KernelId::sigmoid), step(KernelId::sub, -1, 1.0f, true)}));
  // exp(x - m) / s with a per-row m and s (columns broadcast): softmax-like.
  L.add("31x129_sub_exp_div", chain({contiguous({31, 129}), view({31, 129}, {1, 0}), view({31, 129}, {1, 0})},
                                    {step(KernelId::sub, 1), step(KernelId::exp), step(KernelId::div, 2)}));
  // gelu_tanh(x^T + y), then max with z; gelu(x) * y (the MLP's gate).
  L.add("48x64_T_add_gelutanh_max", chain({transposed(48, 64), contiguous({48, 64}), view({48, 64}, {0, 1})},
                                          {step(KernelId::add, 1), step(KernelId::gelu_tanh), step(KernelId::maximum, 2)}));
  L.add("2x3x17_gelu_mul", chain({contiguous({2, 3, 17}), view({2, 3, 17}, {0, 17, 1})},
                                 {step(KernelId::gelu), step(KernelId::mul, 1)}));
  // y - tanh(x) (a swapped tensor sub), rsqrt of a square plus one, log.
  L.add("33x17_tanh_rsubT", chain({contiguous({33, 17}), transposed(33, 17)},
                                  {step(KernelId::tanh), step(KernelId::sub, 1, 0, true)}));
  L.add("1000_mul_add_rsqrt_log", chain({contiguous({1000})},
                                        {step(KernelId::mul, -1, 3.0f), step(KernelId::mul, -1, 3.0f),
                                         step(KernelId::add, -1, 1.0f), step(KernelId::sqrt), step(KernelId::log)}));
  L.add("3x16385_relu_add", chain({contiguous({3, 16385}), contiguous({3, 16385})},
                                  {step(KernelId::relu), step(KernelId::add, 1)}));
  L.add("scalar_add_mul", chain({contiguous({}), contiguous({})}, {step(KernelId::add, 1), step(KernelId::mul, 1)}));
  // NaN and infinities through exact arithmetic.
  L.add("9x33_arith", chain({contiguous({9, 33}), contiguous({9, 33}), view({9, 33}, {0, 1})},
                            {step(KernelId::add, 1), step(KernelId::mul, -1, -3.0f), step(KernelId::sub, 2, 0, true),
                             step(KernelId::div, 1)}),
        {1, 2}, Fill::Special);
}

void selectCases(CaseList &L) {
  auto cond = [](OperandSpec O) { return typed(O, DType::Bool); };
  auto where = [&](OperandSpec C, OperandSpec A, OperandSpec B) {
    return L.spec({cond(C), A, B, contiguous(C.Sizes)});
  };
  auto fill = [&](OperandSpec C, OperandSpec B, double V) {
    KernelSpec S = L.spec({cond(C), B, contiguous(C.Sizes)});
    S.HasScalar = true;
    S.Scalar = V;
    return S;
  };
  L.add("17x33", where(contiguous({17, 33}), contiguous({17, 33}), contiguous({17, 33})), {1, 2});
  L.add("3x16385", where(contiguous({3, 16385}), contiguous({3, 16385}), contiguous({3, 16385})));
  // An attention mask broadcast over heads, a column condition, transposed values.
  L.add("2x4x9x13_maskbcast", where(view({2, 4, 9, 13}, {0, 0, 13, 1}), contiguous({2, 4, 9, 13}),
                                    view({2, 4, 9, 13}, {0, 0, 0, 0})));
  L.add("33x17_colcond_T", where(view({33, 17}, {1, 0}), transposed(33, 17), contiguous({33, 17})));
  L.add("scalar", where(contiguous({}), contiguous({}), contiguous({})));
  L.add("9x13_fill_neginf", fill(contiguous({9, 13}), contiguous({9, 13}), -INFINITY));
  L.add("4x65_fill_bcast", fill(view({4, 65}, {0, 1}), transposed(4, 65), 0.25));
  L.add("9x33", where(contiguous({9, 33}), contiguous({9, 33}), contiguous({9, 33})), {1}, Fill::Special);
}

void familyCases(CaseList &L, KernelFamily F) {
  switch (F) {
  case KernelFamily::Gemm:
    gemmCases(L);
    return;
  case KernelFamily::Unary:
    unaryCases(L);
    return;
  case KernelFamily::Binary:
    binaryCases(L);
    return;
  case KernelFamily::Softmax:
    softmaxCases(L);
    return;
  case KernelFamily::Copy:
    copyCases(L);
    return;
  case KernelFamily::Pad:
    padCases(L);
    return;
  case KernelFamily::Norm:
    normCases(L);
    return;
  case KernelFamily::Reduce:
    reduceCases(L);
    return;
  case KernelFamily::Gather:
    gatherCases(L);
    return;
  case KernelFamily::Chain:
    chainCases(L);
    return;
  case KernelFamily::Select:
    selectCases(L);
    return;
  }
}

std::vector<FuzzCase> allCases() {
  std::vector<FuzzCase> Out;
#define ATALLA_KERNEL(Id, Name, Family)                                                            \
  {                                                                                                \
    CaseList L{Out, KernelId::Name};                                                               \
    familyCases(L, KernelFamily::Family);                                                          \
  }
#include "runtime/abi/Kernels.def"
  // Every GEMM case of seed 1 again with each register blocking forced:
  // AVX2's 6 x 16 and AVX-512's 14 x 32 both run here, whatever the host.
  for (size_t I = 0, N = Out.size(); I < N; ++I)
    if (Out[I].Spec.Kernel == KernelId::gemm && Out[I].Seed == 1)
      for (auto [Isa, Suffix] : {std::pair{codegen::VectorIsa::Avx2, "_avx2"}, {codegen::VectorIsa::Avx512, "_avx512"}}) {
        FuzzCase V = Out[I];
        V.Isa = Isa;
        V.Name += Suffix;
        Out.push_back(std::move(V));
      }
  // Test names must be unique.
  std::map<std::string, int> Count;
  for (FuzzCase &C : Out)
    if (int N = Count[C.Name]++)
      C.Name += "_" + std::to_string(N);
  return Out;
}

/// The bf16 twins (KernelSpec::Type = BF16: f32 operands stored as bf16) of
/// every case, one seed per specialisation and fill: the code generator is
/// the f32 one behind the SDMA engine's bf16 aperture, so what the twins
/// add to test is the storage, not the arithmetic again.
std::vector<FuzzCase> allCasesBf16() {
  std::map<std::string, uint32_t> FirstSeed;
  std::vector<FuzzCase> All = allCases(), Out;
  for (const FuzzCase &C : All) {
    auto [It, New] = FirstSeed.insert({C.Spec.key() + fillName(C.Values), C.Seed});
    if (!New && It->second <= C.Seed)
      continue;
    It->second = C.Seed;
  }
  for (FuzzCase C : All) {
    if (FirstSeed.at(C.Spec.key() + fillName(C.Values)) != C.Seed || C.Isa != codegen::VectorIsa::Auto)
      continue;
    C.Spec.Type = DType::BF16;
    C.Name = "bf16_" + C.Name;
    Out.push_back(std::move(C));
  }
  return Out;
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

/// Standard normals by Box-Muller over mt19937 (whose output the standard
/// fixes), so the inputs are the same with every standard library.
class Normals {
public:
  explicit Normals(uint32_t Seed) : G(Seed) {}
  float next() {
    if (Have) {
      Have = false;
      return Spare;
    }
    // u in (0, 1]: 24 random bits, never 0.
    double U1 = (double(G() >> 8) + 1) / 16777216.0, U2 = double(G() >> 8) / 16777216.0;
    double R = std::sqrt(-2 * std::log(U1)), T = 6.283185307179586 * U2;
    Spare = float(R * std::sin(T));
    Have = true;
    return float(R * std::cos(T));
  }
  uint32_t bits() { return G(); }

private:
  std::mt19937 G;
  bool Have = false;
  float Spare = 0;
};

std::vector<std::vector<float>> makeInputs(const FuzzCase &C) {
  const KernelSpec &S = C.Spec;
  Normals Rng(C.Seed);
  std::vector<std::vector<float>> In;
  const float Inf = std::numeric_limits<float>::infinity(), NaN = std::nanf("");
  for (size_t Op = 0; Op + 1 < S.Operands.size(); ++Op) {
    std::vector<float> V(size_t(extent(S.Operands[Op])));
    for (float &X : V)
      X = Rng.next();
    switch (C.Values) {
    case Fill::Normal:
      break;
    case Fill::Large:
      for (float &X : V)
        X *= 40;
      break;
    case Fill::Special: {
      // Where oneDNN disagrees with torch (and the kernel) on a special
      // value, that value is left out (Kernels.def's Specials column):
      // relu and exp map NaN to 0 and +inf,
      // max keeps the other operand (torch: NaN), oneDNN's pow(x, -0.5) for rsqrt gives +inf at -0 and
      // 0 at -inf (torch's 1 / sqrt(x): -inf and NaN), and oneDNN's gt and
      // ge are true when an operand is NaN (torch, IEEE: false; measured
      // gt(NaN, 1.54) = 1), and oneDNN's clip gives min for NaN (torch's
      // clamp and hardsigmoid: NaN; measured). Every other case is IEEE in both.
      std::vector<float> Specials = {Inf, 0.0f};
      const SpecialInputs Agree = kernelTraits(S.Kernel).Specials;
      if (Agree != SpecialInputs::NegativesDiffer) {
        Specials.push_back(-Inf);
        Specials.push_back(-0.0f);
      }
      if (Agree != SpecialInputs::NanDiffers)
        Specials.push_back(NaN);
      for (float &X : V)
        if (Rng.bits() % 4 == 0)
          X = Specials[Rng.bits() % Specials.size()];
      break;
    }
    case Fill::Rows: {
      // Softmax [R, D] along dim 1, contiguous.
      const int64_t D = S.Operands[Op].Sizes.back(), R = int64_t(V.size()) / D;
      for (int64_t Row = 0; Row < R; ++Row) {
        float *P = &V[size_t(Row * D)];
        switch (Row % 5) {
        case 0: // some -inf: those get exactly 0
          for (int64_t J = 0; J < D; J += 3)
            P[J] = -Inf;
          break;
        case 1: // all -inf: NaN, as torch
          std::fill(P, P + D, -Inf);
          break;
        case 2: // all -inf but one: exactly 1 there, 0 elsewhere
          std::fill(P, P + D, -Inf);
          P[D / 2] = Rng.next();
          break;
        case 3: // far below the max: exp(x - max) underflows to 0
          for (int64_t J = 0; J < D; ++J)
            P[J] = P[J] * 10 - 200;
          P[D - 1] = -100;
          break;
        case 4: // a dominant element
          P[0] = 90;
          break;
        }
      }
      break;
    }
    }
    // Values each element type can hold (integers in range, bool 0/1), and
    // for a convert into u8 ones it holds too. A float -> int convert gets integral floats in the target's range: there
    // oneDNN's reorder (round to nearest, saturating) and torch's cast
    // (truncation) agree; a float -> bool one gets exact zeros (+0 and -0)
    // mixed in.
    const DType T = S.Operands[Op].Type, To = S.output().Type;
    const bool ToInt = To == DType::U8 || To == DType::I32 || To == DType::I64;
    for (float &X : V) {
      switch (T) {
      case DType::U8: X = float(Rng.bits() % 256); break;
      case DType::Bool: X = float(Rng.bits() % 2); break;
      case DType::I32:
      case DType::I64:
        if (S.Kernel == KernelId::embedding) // rows of the table
          X = float(Rng.bits() % uint32_t(S.Operands[0].Sizes[0]));
        else // into u8 only 0..255: torch wraps (-3 -> 253), oneDNN saturates
          X = S.Kernel == KernelId::convert && To == DType::U8 ? float(Rng.bits() % 256)
                                                               : float(int(Rng.bits() % 2001) - 1000);
        break;
      case DType::F32:
        if (S.Kernel == KernelId::convert && ToInt)
          X = To == DType::U8 ? std::min(255.0f, std::round(std::fabs(X) * 60)) : std::round(X * 300);
        else if (S.Kernel == KernelId::convert && To == DType::Bool && Rng.bits() % 4 == 0)
          X = Rng.bits() % 2 ? 0.0f : -0.0f;
        // A bf16 operand holds the value rounded: the reference and the
        // device both see that. Into u8, 248 is bf16's largest integer
        // under 256 (255 would round to 256, which torch wraps to 0 and
        // oneDNN saturates).
        if (S.storedAsBf16(Op)) {
          if (S.Kernel == KernelId::convert && To == DType::U8)
            X = std::min(X, 248.0f);
          X = roundToBf16(X);
        }
        break;
      case DType::BF16:
        break; // no operand type (KernelSpec::typeError)
      }
    }
    In.push_back(std::move(V));
  }
  return In;
}

/// Logical values (as makeInputs draws them) in an operand's element type.
std::vector<uint8_t> encode(const std::vector<float> &V, DType T) {
  std::vector<uint8_t> B(V.size() * dtypeBytes(T));
  for (size_t I = 0; I < V.size(); ++I) {
    switch (T) {
    case DType::F32: std::memcpy(&B[I * 4], &V[I], 4); break;
    case DType::U8:
    case DType::Bool: B[I] = uint8_t(V[I]); break;
    case DType::I32: { int32_t X = int32_t(V[I]); std::memcpy(&B[I * 4], &X, 4); break; }
    case DType::I64: { int64_t X = int64_t(V[I]); std::memcpy(&B[I * 8], &X, 8); break; }
    case DType::BF16: { uint16_t X = bf16FromF32(V[I]); std::memcpy(&B[I * 2], &X, 2); break; }
    }
  }
  return B;
}

/// Element I of \p B (in type T) as a float (the suite's values are small
/// enough to be exact).
float decode(const uint8_t *B, size_t I, DType T) {
  switch (T) {
  case DType::F32: { float X; std::memcpy(&X, B + I * 4, 4); return X; }
  case DType::U8:
  case DType::Bool: return float(B[I]);
  case DType::I32: { int32_t X; std::memcpy(&X, B + I * 4, 4); return float(X); }
  case DType::I64: { int64_t X; std::memcpy(&X, B + I * 8, 8); return float(X); }
  case DType::BF16: { uint16_t X; std::memcpy(&X, B + I * 2, 2); return f32FromBf16(X); }
  }
  return NAN;
}

/// The type operand \p I has in DRAM: bf16 for a bf16 kernel's f32 operands.
DType storageType(const KernelSpec &S, size_t I) { return S.storedAsBf16(I) ? DType::BF16 : S.Operands[I].Type; }

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// One loader for the suite; each specialisation compiled and linked once
/// (the seeds of a shape share it).
struct KernelCache {
  /// One loader per register blocking: the variants share their symbols.
  std::map<int, std::unique_ptr<sim::CodeLoader>> Loaders;
  std::map<std::string, KernelFn> Fns;
  double CompileMs = 0;
};

KernelCache &cache() {
  static KernelCache C;
  return C;
}

llvm::Expected<KernelFn> kernelFor(const KernelSpec &S, codegen::VectorIsa Isa) {
  KernelCache &C = cache();
  std::string Sym = S.symbol() + "." + std::to_string(int(Isa));
  if (auto It = C.Fns.find(Sym); It != C.Fns.end())
    return It->second;
  std::unique_ptr<sim::CodeLoader> &Loader = C.Loaders[int(Isa)];
  if (!Loader) {
    auto L = sim::CodeLoader::create();
    if (!L)
      return L.takeError();
    Loader = std::move(*L);
  }
  auto T0 = std::chrono::steady_clock::now();
  codegen::CodegenOptions Opts;
  Opts.Isa = Isa;
  auto K = codegen::compileKernel(S, Opts);
  C.CompileMs +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
  if (!K)
    return K.takeError();
  if (llvm::Error E = Loader->addObject(K->Object, K->Symbol))
    return E;
  auto Fn = Loader->lookup(K->Symbol);
  if (!Fn)
    return Fn.takeError();
  C.Fns[Sym] = *Fn;
  return *Fn;
}

int64_t alignUp(int64_t X, int64_t A) { return (X + A - 1) / A * A; }

/// The generated kernel on a fresh device: inputs at 64-aligned addresses,
/// the output region filled with a NaN pattern first (so unwritten elements
/// fail).
void runOnDevice(const KernelSpec &S, KernelFn Fn, const std::vector<std::vector<uint8_t>> &In,
                 std::vector<float> &Out) {
  std::vector<uint64_t> Args;
  int64_t Top = 64; // address 0 stays unused
  for (size_t I = 0; I < S.Operands.size(); ++I) {
    Args.push_back(uint64_t(Top));
    Top += alignUp(std::max<int64_t>(extent(S.Operands[I]), 1) * dtypeBytes(storageType(S, I)), 64) + 64;
  }
  sim::DeviceConfig Cfg;
  Cfg.DramBytes = uint64_t(Top);
  sim::Device Dev(Cfg);
  for (size_t I = 0; I < In.size(); ++I)
    if (!In[I].empty())
      ASSERT_NO_ERROR(Dev.writeDram(Args[I], llvm::ArrayRef<uint8_t>(In[I])));
  Out.assign(size_t(S.output().numel()), 0.0f);
  if (Out.empty())
    return;
  // The output's whole span is poisoned; a strided output (a copy into a
  // slice) must leave the elements between its own untouched.
  const OperandSpec &O = S.output();
  const DType OutType = storageType(S, S.Operands.size() - 1);
  const size_t W = dtypeBytes(OutType);
  std::vector<uint8_t> Poison(size_t(extent(O)) * W);
  for (size_t I = 0; I < Poison.size(); ++I)
    Poison[I] = uint8_t(0xad + I % W); // f32: 0x7fc0dead would be a NaN; bytes: 0xad, ...
  ASSERT_NO_ERROR(Dev.writeDram(Args.back(), llvm::ArrayRef<uint8_t>(Poison)));
  int32_t Status = Dev.invoke(Fn, Args.data());
  ASSERT_EQ(Status, 0) << "kernel status " << Status << ": " << Dev.lastFirmwareError();
  EXPECT_EQ(Dev.counters().FirmwareErrors, 0u) << Dev.lastFirmwareError();
  EXPECT_EQ(Dev.counters().ScpadReclaimed, 0u) << "the kernel left scratchpad grants live";
  std::vector<uint8_t> SpanBytes(Poison.size());
  ASSERT_NO_ERROR(Dev.readDram(Args.back(), llvm::MutableArrayRef<uint8_t>(SpanBytes)));
  const size_t SpanElems = Poison.size() / W;
  std::vector<bool> Mine(SpanElems, false);
  for (int64_t I = 0; I < int64_t(Out.size()); ++I) {
    int64_t Off = 0, Rest = I;
    for (size_t D = O.Sizes.size(); D-- > 0;) {
      Off += (Rest % O.Sizes[D]) * O.Strides[D];
      Rest /= O.Sizes[D];
    }
    Out[size_t(I)] = decode(SpanBytes.data(), size_t(Off), OutType);
    Mine[size_t(Off)] = true;
  }
  for (size_t I = 0; I < SpanElems; ++I)
    if (!Mine[I]) {
      ASSERT_EQ(0, std::memcmp(&SpanBytes[I * W], &Poison[I * W], W))
          << "the kernel wrote element " << I << ", outside its output view";
    }
}

//===----------------------------------------------------------------------===//
// Comparing
//===----------------------------------------------------------------------===//

double threshold(const KernelSpec &S) {
  const double Ulp = std::ldexp(1.0, -23);
  const size_t Rank = S.output().Sizes.size();
  switch (S.family()) {
  case KernelFamily::Unary: {
    // Kernels.def's Error column (each bound's reason beside its row).
    const ErrorBound E = kernelTraits(S.Kernel).Error;
    return E.K == ErrorBound::UlpBound ? Ulp * E.N : 0;
  }
  case KernelFamily::Binary:
  case KernelFamily::Copy:
  case KernelFamily::Pad:
    return 0;
  case KernelFamily::Norm: {
    double D = double(S.output().Sizes[1]);
    return Ulp * (16 + 2 * std::log2(D) + std::sqrt(D) / 4);
  }
  case KernelFamily::Softmax: {
    double D = Rank ? double(S.output().Sizes[size_t(S.Dim)]) : 1;
    return Ulp * (8 + 2 * std::log2(D) + std::sqrt(D) / 4);
  }
  case KernelFamily::Gemm: {
    double K = double(S.Operands[0].Sizes.back());
    // A gelu epilogue adds its own error (the gelu kernels' bound, 16 ulp)
    // and carries the GEMM's with a slope of at most 1.13.
    const bool Gelu = S.Post == Epilogue::Gelu || S.Post == Epilogue::GeluTanh;
    return Ulp * (K + 2) * (Gelu ? 1.13 : 1.0) + (Gelu ? Ulp * 16 : 0.0);
  }
  case KernelFamily::Gather:
  case KernelFamily::Select:
    return 0;
  case KernelFamily::Chain: {
    // Each math step's own bound (as a unary kernel), doubled for the
    // steps after it (slopes of at most ~1 on these inputs); the
    // arithmetic steps are the same IEEE operations in both: 0.
    std::vector<ChainStep> Steps;
    S.chainSteps(Steps);
    double T = 0;
    for (const ChainStep &St : Steps)
      if (isChainableUnary(St.Op)) {
        KernelSpec One;
        One.Kernel = St.Op;
        One.Operands = {contiguous({1}), contiguous({1})};
        T += threshold(One);
      }
    return 2 * T;
  }
  case KernelFamily::Reduce: {
    if (S.Kernel == KernelId::amax || S.Kernel == KernelId::amin || S.Kernel == KernelId::argmax ||
        S.Kernel == KernelId::argmin)
      return 0;
    double D = double(S.Operands[0].Sizes[1]);
    return Ulp * (D + 2);
  }
  }
  return 0;
}

struct Comparison {
  double Error = 0;        ///< max|d| / max(max|ref|, tiny) over finite values
  int64_t Mismatches = 0;  ///< NaN or infinity in one and not the other
  int64_t Worst = -1;      ///< element of the largest |d| or the first mismatch
};

/// One bf16 ulp at |X| (the spacing of bf16 values there; denormals: 2^-133).
double bf16Ulp(double X) {
  int E;
  std::frexp(std::max(std::fabs(X), 0x1p-126), &E); // |X| in [2^(E-1), 2^E)
  return std::ldexp(1.0, E - 1 - 7);
}

/// With \p Bf16Ulp, each element's difference is first reduced by one bf16
/// ulp of the larger of the two: bf16 results are two f32 results rounded
/// to bf16, and |rnd(a) - rnd(b)| <= |a - b| + ulp (each rounding moves half
/// an ulp at most), so what is left is held to the f32 threshold.
Comparison compare(const std::vector<float> &Got, const std::vector<float> &Ref, bool Bf16Ulp = false) {
  Comparison C;
  double MaxDiff = 0, MaxRef = 0;
  int64_t FirstMismatch = -1, WorstDiff = -1;
  for (size_t I = 0; I < Ref.size(); ++I) {
    float G = Got[I], R = Ref[I];
    if (std::isnan(G) || std::isnan(R) || std::isinf(G) || std::isinf(R)) {
      bool Same = std::isnan(G) ? std::isnan(R) : G == R;
      if (!Same && C.Mismatches++ == 0)
        FirstMismatch = int64_t(I);
      continue;
    }
    double D = std::fabs(double(G) - double(R));
    if (Bf16Ulp)
      D = std::max(0.0, D - bf16Ulp(std::max(std::fabs(double(G)), std::fabs(double(R)))));
    MaxRef = std::max(MaxRef, std::fabs(double(R)));
    if (D > MaxDiff || WorstDiff < 0) {
      if (D > MaxDiff)
        MaxDiff = D;
      if (D == MaxDiff)
        WorstDiff = int64_t(I);
    }
  }
  C.Error = MaxDiff / std::max(MaxRef, 1e-30);
  C.Worst = FirstMismatch >= 0 ? FirstMismatch : WorstDiff;
  return C;
}

/// Worst error per family, printed when the suite ends.
struct FamilyStats {
  int Cases = 0;
  double MaxRatio = 0; ///< error / threshold (gemm, softmax)
  double MaxError = 0;
  std::string Worst;
  int RoundingMisses = 0; ///< bf16 cases with an element not rounded as the f32 twin's result
};
std::map<std::string, FamilyStats> &stats() {
  static std::map<std::string, FamilyStats> S;
  return S;
}

class StatsPrinter : public ::testing::Environment {
public:
  void TearDown() override {
    for (auto &[Fam, St] : stats())
      std::printf("[ kernel_fuzz ] %-12s %4d cases, max normalised error %.3g at %s; max "
                  "error / threshold %.3g%s\n",
                  Fam.c_str(), St.Cases, St.MaxError, St.Worst.c_str(), St.MaxRatio,
                  Fam.size() > 5 && Fam.substr(Fam.size() - 5) == " bf16"
                      ? (" ; cases with a misrounded element " + std::to_string(St.RoundingMisses)).c_str()
                      : "");
    std::printf("[ kernel_fuzz ] %zu specialisations compiled in %.0f ms\n", cache().Fns.size(),
                cache().CompileMs);
  }
};
[[maybe_unused]] ::testing::Environment *const Printer =
    ::testing::AddGlobalTestEnvironment(new StatsPrinter);

//===----------------------------------------------------------------------===//
// The suite
//===----------------------------------------------------------------------===//

class KernelFuzz : public ::testing::TestWithParam<FuzzCase> {};

TEST_P(KernelFuzz, MatchesOneDnn) {
  const FuzzCase &C = GetParam();
  const KernelSpec &S = C.Spec;
  const ::testing::TestInfo *Info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string Repro = std::string("KERNEL_REPRO: kernel=") + std::string(kernelName(S.Kernel)) +
                            " key=\"" + S.key() + "\" seed=" + std::to_string(C.Seed) +
                            " fill=" + fillName(C.Values);
  const std::string Rerun = std::string("(rerun: build/bin/kernel_tests --gtest_filter='") +
                            Info->test_suite_name() + "." + Info->name() + "')";
  SCOPED_TRACE(Repro);

  std::vector<std::vector<float>> Values = makeInputs(C);
  std::vector<std::vector<uint8_t>> In, DevIn; // the reference's (f32) and DRAM's (bf16 where stored so)
  for (size_t I = 0; I < Values.size(); ++I) {
    In.push_back(encode(Values[I], S.Operands[I].Type));
    DevIn.push_back(encode(Values[I], storageType(S, I)));
  }
  auto Fn = kernelFor(S, C.Isa);
  ASSERT_TRUE(bool(Fn)) << Repro << " compile/link: " << llvm::toString(Fn.takeError()) << "  "
                        << Rerun;
  std::vector<float> Got;
  runOnDevice(S, *Fn, DevIn, Got);
  if (HasFatalFailure())
    return;

  std::vector<const void *> Ptrs;
  for (const std::vector<uint8_t> &V : In)
    Ptrs.push_back(V.data());
  auto RefBytes = reference::runOneDnnTyped(S, Ptrs);
  ASSERT_TRUE(bool(RefBytes)) << Repro << " oneDNN: " << llvm::toString(RefBytes.takeError()) << "  "
                              << Rerun;
  ASSERT_EQ(RefBytes->size(), Got.size() * dtypeBytes(S.output().Type));
  std::vector<float> RefValues(Got.size());
  for (size_t I = 0; I < Got.size(); ++I)
    RefValues[I] = decode(RefBytes->data(), I, S.output().Type);
  std::vector<float> *Ref = &RefValues;
  // log_softmax over a dimension of size 1 is exactly 0 (x - x - log 1) in
  // torch; oneDNN 2.6's softmax_log returns its approximate log(1) =
  // 1.43e-6 there, which would make the normalised measure 1. Hold the
  // kernel to the exact 0 instead.
  // (Dim is -1 for every other kernel: only a log_softmax may index with it.)
  const bool UnitRows = S.Kernel == KernelId::log_softmax &&
                        (S.output().Sizes.empty() || S.output().Sizes[size_t(S.Dim)] == 1);
  if (UnitRows)
    for (float &R : *Ref)
      if (std::isfinite(R))
        R = 0.0f;

  const bool Bf16 = S.Type == DType::BF16;
  Comparison Cmp = compare(Got, *Ref, Bf16 && S.output().Type == DType::F32);
  const double Thr = threshold(S);
  // bf16: each element must be the f32 twin's result rounded to nearest
  // even, or the rounding of another f32 value within the f32 threshold
  // (T = threshold x max|ref|) of it.
  int64_t RoundingMisses = 0, FirstMiss = -1;
  if (Bf16 && S.output().Type == DType::F32) {
    KernelSpec Twin = S;
    Twin.Type = DType::F32;
    auto Raw = reference::runOneDnnTyped(Twin, Ptrs);
    ASSERT_TRUE(bool(Raw)) << Repro << " oneDNN f32 twin: " << llvm::toString(Raw.takeError());
    std::vector<double> R32(Got.size());
    double MaxAbs = 0;
    for (size_t I = 0; I < Got.size(); ++I) {
      R32[I] = UnitRows && std::isfinite(decode(Raw->data(), I, DType::F32)) ? 0.0 : decode(Raw->data(), I, DType::F32);
      if (std::isfinite(R32[I]))
        MaxAbs = std::max(MaxAbs, std::fabs(R32[I]));
    }
    for (size_t I = 0; I < Got.size(); ++I) {
      const float Want = roundToBf16(float(R32[I]));
      if (std::isnan(Want) ? std::isnan(Got[I]) : Got[I] == Want)
        continue;
      // Rounding is monotonic: the roundings of every f32 value within T
      // of the twin's result span [round(R32 - T), round(R32 + T)].
      const double T = Thr * MaxAbs;
      const bool Ok = std::isfinite(R32[I]) && std::isfinite(Got[I]) &&
                      roundToBf16(float(R32[I] - T)) <= Got[I] && Got[I] <= roundToBf16(float(R32[I] + T));
      if (!Ok && RoundingMisses++ == 0)
        FirstMiss = int64_t(I);
    }
  }
  FamilyStats &St = stats()[std::string(familyName(S.family())) + (Bf16 ? " bf16" : "")];
  ++St.Cases;
  double Ratio = Thr > 0 ? Cmp.Error / Thr : (Cmp.Error > 0 ? INFINITY : 0);
  if (Cmp.Error >= St.MaxError) {
    St.MaxError = Cmp.Error;
    St.Worst = C.Name;
  }
  St.MaxRatio = std::max(St.MaxRatio, Ratio);
  if (RoundingMisses) {
    ++St.RoundingMisses;
    ADD_FAILURE() << Repro << " " << RoundingMisses << " element(s) are not the f32 result rounded to bf16; first out["
                  << FirstMiss << "] got " << Got[size_t(FirstMiss)] << " want " << (*Ref)[size_t(FirstMiss)] << "  "
                  << Rerun;
  }

  if (Cmp.Mismatches || Cmp.Error > Thr) {
    char Buf[256];
    std::snprintf(Buf, sizeof(Buf), " err=%.3g thr=%.3g nan_inf_mismatches=%lld", Cmp.Error, Thr,
                  static_cast<long long>(Cmp.Mismatches));
    std::string Detail;
    if (Cmp.Worst >= 0) {
      char E[160];
      std::snprintf(E, sizeof(E), " worst: out[%lld] got %.9g want %.9g",
                    static_cast<long long>(Cmp.Worst), double(Got[size_t(Cmp.Worst)]),
                    double((*Ref)[size_t(Cmp.Worst)]));
      Detail = E;
      // Elementwise inputs have the output's shape: show theirs at that element.
      const KernelFamily F = S.family();
      if (F == KernelFamily::Unary || F == KernelFamily::Binary || F == KernelFamily::Copy)
        for (size_t Op = 0; Op + 1 < S.Operands.size(); ++Op) {
          const OperandSpec &O = S.Operands[Op];
          int64_t Off = 0, Rest = Cmp.Worst;
          for (size_t D = O.Sizes.size(); D-- > 0;) {
            Off += (Rest % O.Sizes[D]) * O.Strides[D];
            Rest /= O.Sizes[D];
          }
          std::snprintf(E, sizeof(E), "; input %zu there %.9g", Op, double(Values[Op][size_t(Off)]));
          Detail += E;
        }
    }
    ADD_FAILURE() << Repro << Buf << "  " << Rerun << "\n" << Detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, KernelFuzz, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<FuzzCase> &I) { return I.param.Name; });
INSTANTIATE_TEST_SUITE_P(KernelsBf16, KernelFuzz, ::testing::ValuesIn(allCasesBf16()),
                         [](const ::testing::TestParamInfo<FuzzCase> &I) { return I.param.Name; });

} // namespace
