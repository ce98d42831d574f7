//===- tests/kernels/KernelFuzzCases.cpp - the kernel fuzz suite's cases --===//
//
// The generators of KernelFuzzCases.h: one per kernel family, each adding
// its shapes (vector and tile edges, odd primes, strided and broadcast
// views) and fills. To add a case: a line in the family's generator; the
// name you give becomes part of the test name. A new Kernels.def row gets
// its family's cases by construction (allCases is an X-macro over the
// table); a new family is a compile error in familyCases() until it has a
// generator. The window families' generators (convolutions, pools,
// attention) are in KernelFuzzWindowCases.cpp.
//
//===----------------------------------------------------------------------===//
#include "KernelFuzzCases.h"
#include "KernelFuzzCaseList.h"

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

namespace cases {

namespace {

/// C = A B (+ Bias), C contiguous.
KernelSpec gemmSpec(const CaseList &L, OperandSpec A, OperandSpec B, std::optional<OperandSpec> Bias = {}) {
  KernelSpec S = L.spec(test::gemmOperands(A, B, Bias));
  S.HasBias = Bias.has_value();
  return S;
}

/// A [M, K] and B [K, N], either given transposed (strides (1, rows)).
KernelSpec plainSpec(const CaseList &L, int64_t M, int64_t N, int64_t K, bool TA, bool TB,
                     std::optional<OperandSpec> Bias = {}) {
  return gemmSpec(L, TA ? transposed(M, K) : contiguous({M, K}), TB ? transposed(K, N) : contiguous({K, N}), Bias);
}

std::string gemmName(int64_t M, int64_t N, int64_t K, bool TA, bool TB) {
  return dimsText({M, N, K}) + (TA ? "_tA" : "") + (TB ? "_tB" : "");
}

/// Fused epilogues (relu, relu6, silu, hardswish, the gates, gelu) and
/// residual adds, against oneDNN's post-ops and binary primitive.
void gemmEpilogueCases(CaseList &L) {
  auto gemm = [&](OperandSpec A, OperandSpec B, std::optional<OperandSpec> Bias = {}) {
    return gemmSpec(L, A, B, Bias);
  };
  auto plain = [&](int64_t M, int64_t N, int64_t K, bool TA, bool TB, std::optional<OperandSpec> Bias = {}) {
    return plainSpec(L, M, N, K, TA, TB, Bias);
  };
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
  // A residual connection's add, fused (C = post(A B + bias + R)): plain, on
  // a row bias with relu (a transformer's linear + x; resnet's add + relu),
  // on a per-row bias in a batch (a 1x1 convolution's), a residual whose
  // rows are not contiguous (gathered), and tiles at the edges.
  auto residual = [&](KernelSpec S, OperandSpec R, Epilogue E = Epilogue::None) {
    S.Operands.insert(S.Operands.end() - 1, R);
    S.HasResidual = true;
    S.Post = E;
    return S;
  };
  L.add("64x64x64_residual", residual(plain(64, 64, 64, false, false), contiguous({64, 64})), {1, 2});
  L.add("33x65x64_rowbias_residual_relu",
        residual(plain(33, 65, 64, false, true, view({33, 65}, {0, 1})), contiguous({33, 65}), Epilogue::Relu),
        {1, 2});
  L.add("b2_8x300x27_colbias_residual_relu6",
        residual(gemm(view({2, 8, 27}, {0, 27, 1}), contiguous({2, 27, 300}), view({2, 8, 300}, {0, 1, 0})),
                 contiguous({2, 8, 300}), Epilogue::Relu6));
  L.add("31x17x16_residual_gather", residual(plain(31, 17, 16, false, false), transposed(31, 17)));
  L.add("7x13x5_residual_gelu", residual(plain(7, 13, 5, true, true), contiguous({7, 13}), Epilogue::Gelu));
  // A column scale of A, per batch (C = (A diag(s)) B + bias ...): a
  // squeeze-and-excitation gate taken by the 1x1 convolution after it
  // (oneDNN: A made dense, a binary multiply broadcasting s over A's rows,
  // then the matmul). The convolution's shape (A shared by the batch, a
  // per-row bias) over two K blocks, with a residual and relu6, A stored
  // transposed with a strided scale, and A gathered.
  auto scaled = [&](KernelSpec S, OperandSpec Sc) {
    S.Operands.insert(S.Operands.begin() + 2 + S.HasBias, Sc);
    S.HasScale = true;
    return S;
  };
  L.add("b2_24x63x300_colbias_kscale",
        scaled(gemm(view({2, 24, 300}, {0, 300, 1}), contiguous({2, 300, 63}), view({2, 24, 63}, {0, 1, 0})),
               contiguous({2, 1, 300})),
        {1, 2});
  L.add("b2_8x30x27_colbias_kscale_residual_relu6",
        residual(scaled(gemm(view({2, 8, 27}, {0, 27, 1}), contiguous({2, 27, 30}), view({2, 8, 30}, {0, 1, 0})),
                        contiguous({2, 1, 27})),
                 contiguous({2, 8, 30}), Epilogue::Relu6));
  L.add("b3_33x17x40_tA_kscale_strided",
        scaled(gemm(view({3, 33, 40}, {0, 1, 33}), contiguous({3, 40, 17})), view({3, 1, 40}, {120, 0, 3})));
  L.add("b2_9x16x12_gatherA_kscale",
        scaled(gemm(view({2, 9, 12}, {0, 24, 2}), contiguous({2, 12, 16})), contiguous({2, 1, 12})));
}

} // namespace

void gemmCases(CaseList &L) {
  auto gemm = [&](OperandSpec A, OperandSpec B, std::optional<OperandSpec> Bias = {}) {
    return gemmSpec(L, A, B, Bias);
  };
  auto plain = [&](int64_t M, int64_t N, int64_t K, bool TA, bool TB, std::optional<OperandSpec> Bias = {}) {
    return plainSpec(L, M, N, K, TA, TB, Bias);
  };
  auto name = gemmName;

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
  // One K block, B kept whole for the batch while 32-row C tiles of 128
  // columns walk it (GemmPlan::BWhole): per batch, a last tile of 44
  // columns (a panel and 12 through the bounce buffer) and a last row block
  // of 6, with a bias row; 8 columns left over below 16 in the second.
  L.add("amx_b2_70x300x64_bias",
        gemm(contiguous({2, 70, 64}), contiguous({2, 64, 300}), view({2, 70, 300}, {0, 0, 1})));
  L.add(name(33, 520, 96, false, false), plain(33, 520, 96, false, false));
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
  gemmEpilogueCases(L);
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
    else if (L.Kernel == KernelId::adaptive_avg_pool2d)
      adaptivePoolCases(L);
    else
      poolCases(L);
    return;
  }
}

} // namespace cases

using cases::CaseList;
using cases::familyCases;

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
