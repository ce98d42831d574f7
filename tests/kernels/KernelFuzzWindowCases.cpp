//===- tests/kernels/KernelFuzzWindowCases.cpp - convolutions, pools, attention ---===//
//
// The kernel suite's cases of the window families: conv2d, conv_transpose2d,
// max_pool2d, avg_pool2d, dwconv2d and attention, each against its oneDNN
// reference (reference/OneDnnConv.cpp, OneDnnKernels.cpp).
//
//===----------------------------------------------------------------------===//
#include "KernelFuzzCaseList.h"

#include <optional>

namespace atalla::kernelfuzz::cases {

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
    bool Residual = false; ///< a residual connection's add (the output's shape), fused
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
    if (G.Residual) // the output's shape, its planes 3 floats apart
      Ops.push_back(view({G.Nb, G.G, G.Cog, OH * OW},
                         {G.G * G.Cog * (OH * OW + 3), G.Cog * (OH * OW + 3), OH * OW + 3, 1}));
    Ops.push_back(contiguous({G.Nb, G.G, G.Cog, OH * OW}));
    KernelSpec S = L.spec(Ops);
    S.HasBias = G.Bias;
    S.HasResidual = G.Residual;
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
      // Residual connections' adds, fused: resnet's (bias, residual, relu),
      // on the padded-row microkernel, a 1x1 projection (mobilenet_v2's: no
      // activation), a batch, groups, K in several blocks.
      {"3x3s1p1_c16_16x16_o16_bias_residual_relu", 1, 1, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu, 0,
       true},
      {"3x3s1p1_c8_40x70_o8_dr_bias_residual_relu", 1, 1, 8, 40, 70, 8, 3, 3, 1, 1, 1, 1, 1, 1, true, Epilogue::Relu,
       0, true},
      {"1x1_c24_14x14_o16_bias_residual", 2, 1, 24, 14, 14, 16, 1, 1, 1, 1, 0, 0, 1, 1, true, Epilogue::None, 0, true},
      {"3x3s1p1_g2_c4_10x10_o6_residual", 1, 2, 4, 10, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, false, Epilogue::None, 0, true},
      {"3x3s1p1_c40_20x21_o70_kblocks_bias_residual_relu", 1, 1, 40, 20, 21, 70, 3, 3, 1, 1, 1, 1, 1, 1, true,
       Epilogue::Relu, 0, true},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, conv(G), {1, 2});
  L.add("3x3s1p1_c16_16x16_o16_special", conv(Cases[0]), {1}, Fill::Special);
}

/// The Pool family's input [Nb, C, H, W] laid out as \p Layout says: 0
/// packed; 1 rows 5 floats apart; 2 planes 7 floats apart; 3 the channels
/// of a cat of twice as many.
OperandSpec poolInput(int64_t Nb, int64_t C, int64_t H, int64_t W, int Layout) {
  switch (Layout) {
  case 1: return view({Nb, C, H, W}, {C * H * (W + 5), H * (W + 5), W + 5, 1});
  case 2: return view({Nb, C, H, W}, {C * (H * W + 7), H * W + 7, W, 1});
  case 3: return view({Nb, C, H, W}, {2 * C * H * W, H * W, W, 1});
  default: return contiguous({Nb, C, H, W});
  }
}

/// max_pool2d against oneDNN's max pooling (max_pool2d_index, the maxima's
/// indices, against a host scan of the windows in torch's order: oneDNN
/// keeps them in an opaque workspace): 2x2 stride 2 (the UNet's), 3x3
/// stride 2 padding 1 (resnet's), odd sizes with a floor, dilation, stride
/// 1, rows wider than a vector, strided input planes and rows, special
/// values (NaN, inf, -0) where oneDNN agrees.
void poolCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t P, H, W, KH, KW, SH, SW, PH, PW, DH, DW;
    int Layout = 0; ///< poolInput's
  };
  auto pool = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.DH * (G.KH - 1) - 1) / G.SH + 1,
                  OW = (G.W + 2 * G.PW - G.DW * (G.KW - 1) - 1) / G.SW + 1;
    // P planes as 2 images x P / 2 channels where P is even.
    const int64_t Nb = G.P % 2 ? 1 : 2, C = G.P / Nb;
    OperandSpec Out = contiguous({Nb, C, OH, OW});
    if (L.Kernel == KernelId::max_pool2d_index) // the maxima's flat indices
      Out.Type = DType::I64;
    KernelSpec S = L.spec({poolInput(Nb, C, G.H, G.W, G.Layout), Out});
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

/// adaptive_avg_pool2d with unequal windows against the host's double sum
/// of torch's windows: VGG's 7 x 7 of 10 x 10 features, AlexNet's 6 x 6 of
/// 13 x 13, more outputs than inputs (overlapping windows of one and two),
/// one column, strided rows and planes, a cat's slice, special values.
void adaptivePoolCases(CaseList &L) {
  struct Geo {
    const char *Name;
    int64_t P, H, W, OH, OW;
    int Layout = 0; ///< poolInput's
  };
  auto pool = [&](const Geo &G) {
    const int64_t Nb = G.P % 2 ? 1 : 2, C = G.P / Nb;
    return L.spec({poolInput(Nb, C, G.H, G.W, G.Layout), contiguous({Nb, C, G.OH, G.OW})});
  };
  const std::vector<Geo> Cases = {
      {"10x10_to_7x7_p4", 4, 10, 10, 7, 7},   {"13x13_to_6x6_p3", 3, 13, 13, 6, 6},
      {"8x11_to_3x5_p2", 2, 8, 11, 3, 5},     {"5x5_to_7x7_p2", 2, 5, 5, 7, 7},
      {"9x1_to_4x1_p3", 3, 9, 1, 4, 1},       {"20x37_to_6x7_p6_rows", 6, 20, 37, 6, 7, 1},
      {"11x12_to_5x5_p6_planes", 6, 11, 12, 5, 5, 2}, {"16x18_to_7x7_p8_catslice", 8, 16, 18, 7, 7, 3},
  };
  for (const Geo &G : Cases)
    L.add(G.Name, pool(G), {1, 2});
  L.add("10x10_to_7x7_p4_special", pool(Cases[0]), {1}, Fill::Special);
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
    int Layout = 0; ///< poolInput's
  };
  auto pool = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.KH) / G.SH + 1, OW = (G.W + 2 * G.PW - G.KW) / G.SW + 1;
    const int64_t Nb = G.P % 2 ? 1 : 2, C = G.P / Nb;
    KernelSpec S = L.spec({poolInput(Nb, C, G.H, G.W, G.Layout), contiguous({Nb, C, OH, OW})});
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
    int Layout = 0; ///< poolInput's
  };
  auto dw = [&](const Geo &G) {
    const int64_t OH = (G.H + 2 * G.PH - G.DH * (G.KH - 1) - 1) / G.SH + 1,
                  OW = (G.W + 2 * G.PW - G.DW * (G.KW - 1) - 1) / G.SW + 1;
    std::vector<OperandSpec> Ops = {poolInput(G.Nb, G.C, G.H, G.W, G.Layout), contiguous({G.C, G.KH * G.KW})};
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

} // namespace atalla::kernelfuzz::cases
