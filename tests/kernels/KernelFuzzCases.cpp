//===- tests/kernels/KernelFuzzCases.cpp - the kernel fuzz suite's cases --===//
//
// The generators of KernelFuzzCases.h: one per kernel family, each adding
// its shapes (vector and tile edges, odd primes, strided and broadcast
// views) and fills. To add a case: a line in the family's generator; the
// name you give becomes part of the test name. A new Kernels.def row gets
// its family's cases by construction (allCases is an X-macro over the
// table); a new family is a compile error in familyCases() until it has a
// generator.
//
//===----------------------------------------------------------------------===//
#include "KernelFuzzCases.h"

#include "runtime/abi/Bf16.h"
#include "runtime/abi/Kernels.h"

#include "KernelSpecTestSupport.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <utility>

using namespace atalla;
using namespace atalla::abi;

namespace atalla::kernelfuzz {

const char *fillName(Fill F) {
  switch (F) {
  case Fill::Normal: return "normal";
  case Fill::Large: return "large";
  case Fill::Special: return "special";
  case Fill::Rows: return "rows";
  }
  return "?";
}

void PrintTo(const FuzzCase &C, std::ostream *OS) { *OS << C.Name; }

namespace {

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

using atalla::test::contiguous;
using atalla::test::permuted;
using atalla::test::view;

/// [K, M]^T: an [M, K] view with strides (1, M).
OperandSpec transposed(int64_t Rows, int64_t Cols) { return permuted({Cols, Rows}, {1, 0}); }


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
  // Whole 32s everywhere: on an AMX-BF16 host the bf16 twins take bf16
  // straight from DRAM into the tile copies (GemmPlan::RawBf16): batches,
  // several K blocks (544 = 192 + 192 + 160), strided rows of A, a B shared
  // by every batch, several M and N blocks with a bias row.
  L.add("amx_b3_64x96x128", gemm(contiguous({3, 64, 128}), contiguous({3, 128, 96})));
  L.add(name(64, 96, 544, false, false), plain(64, 96, 544, false, false));
  L.add("amx_96x64x64_Arows128", gemm(view({96, 64}, {128, 1}), contiguous({64, 64})));
  L.add("amx_b2_64x64x64_Bbcast", gemm(contiguous({2, 64, 64}), view({2, 64, 64}, {0, 64, 1})));
  // Partial tiles on the tile unit (raw bf16): rows and columns left over
  // beside whole 32s, across several K blocks.
  L.add(name(37, 64, 544, false, false), plain(37, 64, 544, false, false));
  L.add(name(197, 96, 768, false, false), plain(197, 96, 768, false, false));
  L.add(name(40, 72, 512, false, false), plain(40, 72, 512, false, false));
  L.add("amx_416x1024x288_bias", gemm(contiguous({416, 288}), contiguous({288, 1024}), view({416, 1024}, {0, 1})));
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
  // relu6 (hardtanh(x, 0, 6), mobilenet's): oneDNN's eltwise_clip post-op.
  L.add("33x65x64_rowbias_relu6", relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), Epilogue::Relu6),
        {1, 2});
  L.add("64x64x64_relu6_large", relu(plain(64, 64, 64, false, false), Epilogue::Relu6), {1}, Fill::Large);
  // silu (efficientnet's): oneDNN's eltwise_swish post-op.
  L.add("33x65x64_rowbias_silu", relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), Epilogue::Silu), {1, 2});
  // hardswish (mobilenet_v3's): oneDNN's eltwise_hardswish post-op.
  L.add("33x65x64_rowbias_hardswish", relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), Epilogue::Hardswish),
        {1, 2});
  // Squeeze-and-excitation gates: sigmoid (efficientnet's; oneDNN's
  // eltwise_logistic post-op) and hardsigmoid (mobilenet_v3's; x + 3,
  // clip, x / 6 as post-ops), on a per-row bias (the 1x1 convolution's).
  L.add("33x65x64_rowbias_sigmoid", relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), Epilogue::Sigmoid),
        {1, 2});
  L.add("33x65x64_rowbias_hardsigmoid",
        relu(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), Epilogue::Hardsigmoid), {1, 2});
  L.add("64x64x64_hardsigmoid_large", relu(plain(64, 64, 64, false, false), Epilogue::Hardsigmoid), {1}, Fill::Large);
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
  // Rows longer than the scratchpad (a 256 Ki vocabulary's logits): walked
  // in chunks from DRAM; a remainder chunk, leading dims, NaN/inf rows.
  L.add("2x262147_d1", softmax(contiguous({2, 262147}), 1));
  L.add("2x2x200003_d2", softmax(contiguous({2, 2, 200003}), 2));
  L.add("4x200003_d1_rows", softmax(contiguous({4, 200003}), 1), {1}, Fill::Rows);
  L.add("2x262147_d1_large", softmax(contiguous({2, 262147}), 1), {1}, Fill::Large);
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

/// conv2d (implicit GEMM) against oneDNN's convolution: the geometries the
/// zoo and the UNet have (3x3 stride 1 and 2, 7x7 stride 2 on 3 channels, 1x1
/// stride 2, dilation, groups, depthwise), padding wider than a tap, K split
/// into channel blocks, N into row blocks, rows wider than a vector, bias
/// and epilogues, a batch, and inputs whose rows or channels are not packed.
void conv2dCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t Nb, G, Cg, H, W, Cog, KH, KW, SH, SW, PH, PW, DH, DW;
    bool Bias = false;
    Epilogue Post = Epilogue::None;
    int Layout = 0; ///< 0 packed; 1 rows 3 floats apart; 2 channels 5 floats apart
  };
  auto conv = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.DH * (G.KH - 1) - 1) / G.SH + 1,
                  OW = (G.W + 2 * G.PW - G.DW * (G.KW - 1) - 1) / G.SW + 1, Kd = G.Cg * G.KH * G.KW;
    OperandSpec X = contiguous({G.Nb, G.G, G.Cg, G.H, G.W});
    if (G.Layout == 1) {
      const int64_t Row = G.W + 3;
      X = view({G.Nb, G.G, G.Cg, G.H, G.W}, {G.G * G.Cg * G.H * Row, G.Cg * G.H * Row, G.H * Row, Row, 1});
    } else if (G.Layout == 2) {
      const int64_t Ch = G.H * G.W + 5;
      X = view({G.Nb, G.G, G.Cg, G.H, G.W}, {G.G * G.Cg * Ch, G.Cg * Ch, Ch, G.W, 1});
    }
    std::vector<OperandSpec> Ops = {view({G.Nb, G.G, G.Cog, Kd}, {0, G.Cog * Kd, Kd, 1}), X};
    if (G.Bias)
      Ops.push_back(view({G.Nb, G.G, G.Cog, OH * OW}, {0, G.Cog, 1, 0}));
    Ops.push_back(contiguous({G.Nb, G.G, G.Cog, OH * OW}));
    KernelSpec S = L.spec(Ops);
    S.HasBias = G.Bias;
    S.Post = G.Post;
    S.Params = {G.KH, G.KW, G.SH, G.SW, G.PH, G.PW, G.DH, G.DW};
    return S;
  };
  const std::vector<Geo> Cases = {
      {"3x3s1p1_c16_16x16_o16", 1, 1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1},
      {"3x3s1p1_c16_16x16_o16_bias_relu", 1, 1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu},
      {"3x3s2p1_c8_17x19_o24", 1, 1, 8, 17, 19, 24, 3, 3, 2, 2, 1, 1, 1, 1, true},
      {"7x7s2p3_c3_64x64_o16", 1, 1, 3, 64, 64, 16, 7, 7, 2, 2, 3, 3, 1, 1},
      {"7x7s2p3_c3_64x64_o16_bias_relu", 1, 1, 3, 64, 64, 16, 7, 7, 2, 2, 3, 3, 1, 1, true, Epilogue::Relu},
      {"1x1s2_c16_15x15_o32", 1, 1, 16, 15, 15, 32, 1, 1, 2, 2, 0, 0, 1, 1, true},
      {"3x3s1p2d2_c5_13x11_o7", 1, 1, 5, 13, 11, 7, 3, 3, 1, 1, 2, 2, 2, 2},
      {"5x3s1p0_c4_9x40_o9", 1, 1, 4, 9, 40, 9, 5, 3, 1, 1, 0, 0, 1, 1, true, Epilogue::Gelu},
      {"3x3s1p3_c2_5x6_o3", 1, 1, 2, 5, 6, 3, 3, 3, 1, 1, 3, 3, 1, 1},
      {"3x3s1p1_g2_c4_10x10_o6", 1, 2, 4, 10, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {"dw3x3s2p1_g24_c1_19x19_o1", 1, 24, 1, 19, 19, 1, 3, 3, 2, 2, 1, 1, 1, 1, true},
      {"3x3s1p1_c40_20x21_o70_kblocks", 1, 1, 40, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {"3x3s1p1_c8_64x256_o16_wide", 1, 1, 8, 64, 256, 16, 3, 3, 1, 1, 1, 1, 1, 1},
      {"3x3s1p1_b2_c3_9x9_o5", 2, 1, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {"3x3s1p1_c6_12x10_o65_rows", 1, 1, 6, 12, 10, 65, 3, 3, 1, 1, 1, 1, 1, 1, false, Epilogue::None, 1},
      {"3x3s2p1_c6_12x10_o33_chans", 1, 1, 6, 12, 10, 33, 3, 3, 2, 2, 1, 1, 1, 1, true, Epilogue::None, 2},
      {"4x4s4p0_c3_16x16_o8", 1, 1, 3, 16, 16, 8, 4, 4, 4, 4, 0, 0, 1, 1},
      {"3x3s3p1_c4_10x10_o5", 1, 1, 4, 10, 10, 5, 3, 3, 3, 3, 1, 1, 1, 1},
      // Rows of two vectors and more (the padded-row microkernel): row
      // widths that are and are not multiples of a vector, dilation, a
      // stride between rows, K and N in several blocks, packed and strided
      // inputs, the remainder rows of C.
      {"3x3s1p1_c8_40x70_o8_dr", 1, 1, 8, 40, 70, 8, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu},
      {"3x3s1p1_c16_33x64_o16_dr", 1, 1, 16, 33, 64, 16, 3, 3, 1, 1, 1, 1, 1, 1},
      {"5x5s1p2d2_c3_20x50_o17_dr", 1, 1, 3, 20, 50, 17, 5, 5, 1, 1, 2, 2, 2, 2, true},
      {"3x3s2x1p1_c6_21x48_o9_dr", 1, 1, 6, 21, 48, 9, 3, 3, 2, 1, 1, 1, 1, 1},
      {"3x3s1p1_c40_18x40_o30_dr_kblocks", 1, 1, 40, 18, 40, 30, 3, 3, 1, 1, 1, 1, 1, 1, true},
      {"3x3s1p0_b2_c5_9x37_o6_dr", 2, 1, 5, 9, 37, 6, 3, 3, 1, 1, 0, 0, 1, 1},
      {"3x3s1p1_c4_12x33_o7_dr_rows", 1, 1, 4, 12, 33, 7, 3, 3, 1, 1, 1, 1, 1, 1, false, Epilogue::None, 1},
      {"3x3s1p1_g2_c3_10x40_o5_dr_chans", 1, 2, 3, 10, 40, 5, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::None, 2},
      {"3x3s1p1_c8_64x256_o8_dr_unet", 1, 1, 8, 64, 256, 8, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu},
      {"3x3s2p1_c16_17x17_o24_relu6", 1, 1, 16, 17, 17, 24, 3, 3, 2, 2, 1, 1, 1, 1, true, Epilogue::Relu6},
      // Squeeze-and-excitation gates after a 1x1 convolution (the reduce
      // side's output: a 1x1 image of many channels).
      {"1x1_c40_1x1_o96_bias_hardsigmoid", 2, 1, 40, 1, 1, 96, 1, 1, 1, 1, 0, 0, 1, 1, true, Epilogue::Hardsigmoid},
      {"1x1_c24_1x1_o64_bias_sigmoid", 2, 1, 24, 1, 1, 64, 1, 1, 1, 1, 0, 0, 1, 1, true, Epilogue::Sigmoid},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, conv(G), {1, 2});
  L.add("3x3s1p1_c16_16x16_o16_special", conv(Cases[0]), {1}, Fill::Special);
}

/// max_pool2d against oneDNN's max pooling: 2x2 stride 2 (the UNet's), 3x3
/// stride 2 padding 1 (resnet's), odd sizes with a floor, dilation, stride
/// 1, rows wider than a vector, strided input planes and rows, special
/// values (NaN, inf, -0) where oneDNN agrees.
void poolCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t P, H, W, KH, KW, SH, SW, PH, PW, DH, DW;
    int Layout = 0; ///< 0 packed; 1 rows 5 floats apart; 2 planes 7 floats apart; 3 a cat's slice
  };
  auto pool = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.DH * (G.KH - 1) - 1) / G.SH + 1,
                  OW = (G.W + 2 * G.PW - G.DW * (G.KW - 1) - 1) / G.SW + 1;
    // P planes as 2 images x P / 2 channels where P is even.
    const int64_t Nb = G.P % 2 ? 1 : 2, C = G.P / Nb;
    OperandSpec X = contiguous({Nb, C, G.H, G.W});
    if (G.Layout == 1)
      X = view({Nb, C, G.H, G.W}, {C * G.H * (G.W + 5), G.H * (G.W + 5), G.W + 5, 1});
    else if (G.Layout == 2)
      X = view({Nb, C, G.H, G.W}, {C * (G.H * G.W + 7), G.H * G.W + 7, G.W, 1});
    else if (G.Layout == 3) // channels of a cat of twice as many
      X = view({Nb, C, G.H, G.W}, {2 * C * G.H * G.W, G.H * G.W, G.W, 1});
    KernelSpec S = L.spec({X, contiguous({Nb, C, OH, OW})});
    S.Params = {G.KH, G.KW, G.SH, G.SW, G.PH, G.PW, G.DH, G.DW};
    return S;
  };
  const std::vector<Geo> Cases = {
      {"2x2s2_p80_64x256", 80, 64, 256, 2, 2, 2, 2, 0, 0, 1, 1},
      {"3x3s2p1_p16_32x32", 16, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1},
      {"3x3s2p1_p5_17x19", 5, 17, 19, 3, 3, 2, 2, 1, 1, 1, 1},
      {"2x2s2_p3_15x33_floor", 3, 15, 33, 2, 2, 2, 2, 0, 0, 1, 1},
      {"3x3s1p1_p4_9x40", 4, 9, 40, 3, 3, 1, 1, 1, 1, 1, 1},
      {"3x2s2x1p1x0d2_p2_20x21", 2, 20, 21, 3, 2, 2, 1, 1, 0, 2, 1},
      {"2x2s2_p6_12x34_rows", 6, 12, 34, 2, 2, 2, 2, 0, 0, 1, 1, 1},
      {"3x3s2p1_p6_13x18_planes", 6, 13, 18, 3, 3, 2, 2, 1, 1, 1, 1, 2},
      {"5x5s3p2_p2_23x29", 2, 23, 29, 5, 5, 3, 3, 2, 2, 1, 1},
      {"1x1s2_p3_8x9", 3, 8, 9, 1, 1, 2, 2, 0, 0, 1, 1},
      {"2x2s2_p8_16x64_catslice", 8, 16, 64, 2, 2, 2, 2, 0, 0, 1, 1, 3},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, pool(G), {1, 2});
  L.add("3x3s2p1_p16_32x32_special", pool(Cases[1]), {1}, Fill::Special);
}

/// avg_pool2d against oneDNN's average pooling: densenet's 2x2 stride 2,
/// 3x3 stride 1 and 2 with padding counted in the divisor and not (the
/// clipped windows' counts per row and per column), odd sizes with a
/// floor, a divisor override, rows wider than a vector, strided rows and
/// planes, a cat's slice, special values.
void avgPoolCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t P, H, W, KH, KW, SH, SW, PH, PW, Incl, Div;
    int Layout = 0; ///< as poolCases'
  };
  auto pool = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.KH) / G.SH + 1, OW = (G.W + 2 * G.PW - G.KW) / G.SW + 1;
    const int64_t Nb = G.P % 2 ? 1 : 2, C = G.P / Nb;
    OperandSpec X = contiguous({Nb, C, G.H, G.W});
    if (G.Layout == 1)
      X = view({Nb, C, G.H, G.W}, {C * G.H * (G.W + 5), G.H * (G.W + 5), G.W + 5, 1});
    else if (G.Layout == 2)
      X = view({Nb, C, G.H, G.W}, {C * (G.H * G.W + 7), G.H * G.W + 7, G.W, 1});
    else if (G.Layout == 3)
      X = view({Nb, C, G.H, G.W}, {2 * C * G.H * G.W, G.H * G.W, G.W, 1});
    KernelSpec S = L.spec({X, contiguous({Nb, C, OH, OW})});
    S.Params = {G.KH, G.KW, G.SH, G.SW, G.PH, G.PW, G.Incl, G.Div};
    return S;
  };
  const std::vector<Geo> Cases = {
      {"2x2s2_p32_16x16", 32, 16, 16, 2, 2, 2, 2, 0, 0, 1, 0},
      {"3x3s1p1_incl_p4_9x40", 4, 9, 40, 3, 3, 1, 1, 1, 1, 1, 0},
      {"3x3s1p1_excl_p4_9x40", 4, 9, 40, 3, 3, 1, 1, 1, 1, 0, 0},
      {"3x3s2p1_excl_p5_17x19", 5, 17, 19, 3, 3, 2, 2, 1, 1, 0, 0},
      {"5x5s3p2_excl_p2_23x29", 2, 23, 29, 5, 5, 3, 3, 2, 2, 0, 0},
      {"3x2s2x1p1x0_excl_p3_20x21", 3, 20, 21, 3, 2, 2, 1, 1, 0, 0, 0},
      {"2x2s2_div3_p3_15x33_floor", 3, 15, 33, 2, 2, 2, 2, 0, 0, 1, 3},
      {"3x3s2p1_div5_p4_12x12", 4, 12, 12, 3, 3, 2, 2, 1, 1, 0, 5},
      {"2x2s2_p6_64x256", 6, 64, 256, 2, 2, 2, 2, 0, 0, 1, 0},
      {"2x2s2_p6_12x34_rows", 6, 12, 34, 2, 2, 2, 2, 0, 0, 1, 0, 1},
      {"3x3s2p1_excl_p6_13x18_planes", 6, 13, 18, 3, 3, 2, 2, 1, 1, 0, 0, 2},
      {"2x2s2_p8_16x64_catslice", 8, 16, 64, 2, 2, 2, 2, 0, 0, 1, 0, 3},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, pool(G), {1, 2});
  L.add("3x3s1p1_excl_p4_9x40_special", pool(Cases[2]), {1}, Fill::Special);
}

/// attention against the unfused computation on oneDNN (matmul, scale and
/// mask, softmax, matmul): blocks of queries and keys with remainders,
/// heads as a batch dim, causal with L = S and L < S, a float mask
/// broadcast over the batch, q as a permuted view (heads split from the
/// rows), wide heads.
void attentionCases(CaseList &L) {
  auto att = [&](OperandSpec Q, OperandSpec K, OperandSpec V, std::optional<OperandSpec> Mask, bool Causal,
                 float Scale) {
    std::vector<int64_t> OS = Q.Sizes;
    OS.back() = V.Sizes.back();
    std::vector<OperandSpec> Ops = {Q, K, V};
    if (Mask)
      Ops.push_back(*Mask);
    Ops.push_back(contiguous(OS));
    KernelSpec S = L.spec(Ops);
    S.Params = {Causal ? 1 : 0};
    S.HasScalar = true;
    S.Scalar = Scale;
    return S;
  };
  L.add("b2h2_37x53_e16_ev24", att(contiguous({2, 2, 37, 16}), contiguous({2, 2, 53, 16}), contiguous({2, 2, 53, 24}),
                                    std::nullopt, false, 0.25f), {1, 2});
  L.add("45x200_e32_blocks", att(contiguous({45, 32}), contiguous({200, 32}), contiguous({200, 32}), std::nullopt,
                                 false, 0.17677669f));
  L.add("h3_70x70_e32_causal", att(contiguous({3, 70, 32}), contiguous({3, 70, 32}), contiguous({3, 70, 32}),
                                   std::nullopt, true, 0.17677669f), {1, 2});
  L.add("h2_33x129_e8_causal", att(contiguous({2, 33, 8}), contiguous({2, 129, 8}), contiguous({2, 129, 8}),
                                   std::nullopt, true, 0.35355339f));
  L.add("h2_37x53_e16_mask", att(contiguous({2, 37, 16}), contiguous({2, 53, 16}), contiguous({2, 53, 16}),
                                 view({2, 37, 53}, {0, 53, 1}), false, 0.25f));
  L.add("h2_40x40_e16_mask_causal", att(contiguous({2, 40, 16}), contiguous({2, 40, 16}), contiguous({2, 40, 16}),
                                        contiguous({2, 40, 40}), true, 0.25f));
  // q [b, L, h, e] seen as [b, h, L, e]: rows h * e apart.
  L.add("b2h4_31x31_e16_qperm", att(permuted({2, 31, 4, 16}, {0, 2, 1, 3}), contiguous({2, 4, 31, 16}),
                                    contiguous({2, 4, 31, 16}), std::nullopt, false, 0.25f));
  // Several query blocks (128 rows each) and a remainder, causal: the key
  // blocks each query block reaches end at its last row.
  L.add("300x300_e16_causal", att(contiguous({300, 16}), contiguous({300, 16}), contiguous({300, 16}), std::nullopt,
                                  true, 0.25f));
  L.add("65x65_e128_ev64", att(contiguous({65, 128}), contiguous({65, 128}), contiguous({65, 64}), std::nullopt, true,
                               0.088388348f));
}

/// conv_transpose2d (stride = kernel) against oneDNN's matmul of its GEMM
/// and an exact interleave: 2x2 (the UNet's, vectors shuffled), 3x1 and
/// 1x3 (element by element), channels few (B read in place) and many (B in
/// panels), input rows narrower and wider than a vector, bias and relu, a
/// batch, and an output that is a channel slice of a cat.
void convTransposeCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t Nb, Ci, IH, IW, Co, KH, KW;
    bool Bias = false;
    Epilogue Post = Epilogue::None;
    bool CatSlice = false;
  };
  auto convT = [&](const Geo &G) {
    const int64_t M = G.Co * G.KH * G.KW, N = G.IH * G.IW, OHW = N * G.KH * G.KW;
    std::vector<OperandSpec> Ops = {view({G.Nb, M, G.Ci}, {0, G.Ci, 1}), contiguous({G.Nb, G.Ci, N})};
    if (G.Bias)
      Ops.push_back(view({G.Nb, M, N}, {0, 1, 0}));
    Ops.push_back(G.CatSlice ? view({G.Nb, G.Co, OHW}, {3 * G.Co * OHW, OHW, 1}) : contiguous({G.Nb, G.Co, OHW}));
    KernelSpec S = L.spec(Ops);
    S.HasBias = G.Bias;
    S.Post = G.Post;
    S.Params = {G.KH, G.KW, G.IW};
    return S;
  };
  const std::vector<Geo> Cases = {
      {"2x2_c32_16x64_o16", 1, 32, 16, 64, 16, 2, 2, true},
      {"2x2_c16_8x37_o8_relu", 1, 16, 8, 37, 8, 2, 2, true, Epilogue::Relu},
      {"2x2_c5_3x5_o3", 1, 5, 3, 5, 3, 2, 2},
      {"3x1_c7_6x9_o4", 1, 7, 6, 9, 4, 3, 1, true},
      {"1x3_c4_5x20_o6", 1, 4, 5, 20, 6, 1, 3},
      {"2x2_c40_12x40_o30_panels", 1, 40, 12, 40, 30, 2, 2, true},
      {"2x2_b2_c6_7x18_o5", 2, 6, 7, 18, 5, 2, 2, true},
      {"2x2_c8_10x32_o4_catslice", 1, 8, 10, 32, 4, 2, 2, true, Epilogue::None, true},
      {"2x2_c300_4x8_o8_kblocks", 1, 300, 4, 8, 8, 2, 2, true},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, convT(G), {1, 2});
}

/// dwconv2d against oneDNN's grouped convolution: mobilenet's 3x3 stride 1
/// and 2 (padding 1), efficientnet's 5x5, dilation, padding as wide as the
/// window, bias and relu, a batch, and strided or cat-slice inputs.
void depthwiseCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t Nb, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW;
    bool Bias = false;
    Epilogue Post = Epilogue::None;
    int Layout = 0; ///< 0 packed; 1 rows 5 floats apart; 3 a cat's slice
  };
  auto dw = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.DH * (G.KH - 1) - 1) / G.SH + 1,
                  OW = (G.W + 2 * G.PW - G.DW * (G.KW - 1) - 1) / G.SW + 1;
    OperandSpec X = contiguous({G.Nb, G.C, G.H, G.W});
    if (G.Layout == 1)
      X = view({G.Nb, G.C, G.H, G.W}, {G.C * G.H * (G.W + 5), G.H * (G.W + 5), G.W + 5, 1});
    else if (G.Layout == 3)
      X = view({G.Nb, G.C, G.H, G.W}, {2 * G.C * G.H * G.W, G.H * G.W, G.W, 1});
    std::vector<OperandSpec> Ops = {X, contiguous({G.C, G.KH * G.KW})};
    if (G.Bias)
      Ops.push_back(contiguous({G.C}));
    Ops.push_back(contiguous({G.Nb, G.C, OH, OW}));
    KernelSpec S = L.spec(Ops);
    S.HasBias = G.Bias;
    S.Post = G.Post;
    S.Params = {G.KH, G.KW, G.SH, G.SW, G.PH, G.PW, G.DH, G.DW};
    return S;
  };
  const std::vector<Geo> Cases = {
      {"3x3s1p1_c16_32x32_bias_relu", 1, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu},
      {"3x3s2p1_c12_16x16_bias_relu6", 1, 12, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, true, Epilogue::Relu6},
      {"5x5s1p2_c8_12x20_bias_hardswish", 1, 8, 12, 20, 5, 5, 1, 1, 2, 2, 1, 1, true, Epilogue::Hardswish},
      {"3x3s2p1_c8_15x15_bias_silu", 1, 8, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1, true, Epilogue::Silu},
      {"3x3s2p1_c24_17x19_bias", 1, 24, 17, 19, 3, 3, 2, 2, 1, 1, 1, 1, true},
      {"5x5s1p2_c8_15x40", 1, 8, 15, 40, 5, 5, 1, 1, 2, 2, 1, 1},
      {"5x5s2p2_c6_16x16_bias", 1, 6, 16, 16, 5, 5, 2, 2, 2, 2, 1, 1, true},
      {"3x3s1p2d2_c4_12x13", 1, 4, 12, 13, 3, 3, 1, 1, 2, 2, 2, 2},
      {"3x3s1p3_c3_5x6_padwide", 1, 3, 5, 6, 3, 3, 1, 1, 3, 3, 1, 1, true},
      {"3x3s1p1_b2_c5_9x33_gelu", 2, 5, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Gelu},
      {"3x3s1p1_c4_10x20_rows", 1, 4, 10, 20, 3, 3, 1, 1, 1, 1, 1, 1, false, Epilogue::None, 1},
      {"3x3s2p1_c8_16x64_catslice", 1, 8, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1, true, Epilogue::None, 3},
  };
  // No special-value fill: at the borders oneDNN skips the padded taps,
  // while the kernel (as torch's native path) multiplies the zero padding,
  // so an infinite weight gives NaN there in one and not the other.
  for (const Geo &G : Cases)
    L.add(G.Name, dw(G), {1, 2});
}

void familyCases(CaseList &L, KernelFamily F) {
  switch (F) {
  case KernelFamily::Gemm:
    if (L.Kernel == KernelId::conv2d)
      conv2dCases(L);
    else if (L.Kernel == KernelId::conv_transpose2d)
      convTransposeCases(L);
    else
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
  case KernelFamily::Attention:
    attentionCases(L);
    return;
  case KernelFamily::Pool:
    if (L.Kernel == KernelId::dwconv2d)
      depthwiseCases(L);
    else if (L.Kernel == KernelId::avg_pool2d)
      avgPoolCases(L);
    else
      poolCases(L);
    return;
  }
}

} // namespace

std::vector<FuzzCase> allCases() {
  std::vector<FuzzCase> Out;
#define ATALLA_KERNEL(Id, Name, Family)                                                            \
  {                                                                                                \
    CaseList L{Out, KernelId::Name};                                                               \
    familyCases(L, KernelFamily::Family);                                                          \
  }
#include "runtime/abi/Kernels.def"
  // Every GEMM and conv2d case of seed 1 again with each register blocking forced:
  // AVX2's 6 x 16 and AVX-512's 14 x 32 both run here, whatever the host.
  for (size_t I = 0, N = Out.size(); I < N; ++I)
    if ((Out[I].Spec.Kernel == KernelId::gemm || Out[I].Spec.Kernel == KernelId::conv2d ||
         Out[I].Spec.Kernel == KernelId::conv_transpose2d) &&
        Out[I].Seed == 1)
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
/// add to test is the storage, not the arithmetic again, except where the
/// host has AMX-BF16: there bf16 GEMMs multiply whole 32 x 32 blocks on the
/// tile unit, and these cases are that arithmetic's test against oneDNN.
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

} // namespace atalla::kernelfuzz
