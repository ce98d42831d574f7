//===- tests/e2e/ConvModelsTest.cpp - CNN layers of our own making ------===//
//
// Convolution models written with the project's .pt2 writer at sizes the
// fixtures do not have (odd sizes, stride 2, padding 0/1/2, dilation,
// groups, depthwise, 1x1, rectangular kernels, transposed convolutions with
// output padding, batch norms folded and not, constant padding), each checked
// the way the fuzzer checks (write .pt2, read back, compile, run on the
// simulated device, compare with eager LibTorch) and required to run with
// no fallback. To add a case: a line in the table of the test it belongs to.
//
//===----------------------------------------------------------------------===//
#include "driver/Compile.h"
#include "frontend/ModelBuilder.h"
#include "frontend/Printers.h"
#include "lower/Pipeline.h"
#include "tools/Fuzz.h"
#include "tools/ToolSupport.h"
#include "ModelTestSupport.h"
#include "TestSupport.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace atalla;
using namespace atalla::frontend;

using test::arg;
using test::randn;

namespace {

/// Positive values (running variances): |x| + 0.5.
TensorData positive(int64_t N, uint64_t Seed) {
  TensorData T = randn({N}, Seed);
  std::vector<uint8_t> B = T.contiguousBytes();
  for (int64_t I = 0; I < N; ++I) {
    float F;
    std::memcpy(&F, &B[size_t(I) * 4], 4);
    F = std::fabs(F) + 0.5f;
    std::memcpy(&B[size_t(I) * 4], &F, 4);
  }
  return TensorData::fromBytes(ScalarType::Float32, {N}, B);
}

struct Conv {
  int64_t N, C, H, W, Co, KH, KW;
  int64_t SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1, G = 1;
  bool Bias = true;
  // Transposed only:
  int64_t OPH = 0, OPW = 0;
};

std::string text(const Conv &K) {
  return "x[" + std::to_string(K.N) + "," + std::to_string(K.C) + "," + std::to_string(K.H) + "," +
         std::to_string(K.W) + "] w[" + std::to_string(K.Co) + ",.," + std::to_string(K.KH) + "," +
         std::to_string(K.KW) + "] s" + std::to_string(K.SH) + "," + std::to_string(K.SW) + " p" +
         std::to_string(K.PH) + "," + std::to_string(K.PW) + " d" + std::to_string(K.DH) + "," +
         std::to_string(K.DW) + " g" + std::to_string(K.G) + " op" + std::to_string(K.OPH) + "," +
         std::to_string(K.OPW);
}

/// Adds conv2d (or conv_transpose2d) of X; returns its value name.
std::string addConv(ModelBuilder &B, const std::string &X, const Conv &K, bool Transposed, uint64_t Seed,
                    const std::string &Prefix) {
  std::vector<int64_t> WShape = Transposed ? std::vector<int64_t>{K.C, K.Co / K.G, K.KH, K.KW}
                                           : std::vector<int64_t>{K.Co, K.C / K.G, K.KH, K.KW};
  std::string W = B.addParameter(Prefix + ".weight", randn(WShape, Seed));
  Argument BiasA = Argument::none();
  if (K.Bias)
    BiasA = Argument::tensor(B.addParameter(Prefix + ".bias", randn({K.Co}, Seed + 1)));
  int64_t OH, OW;
  std::vector<NamedArgument> Args = {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)),
                                     arg("bias", BiasA), arg("stride", Argument::ints({K.SH, K.SW})),
                                     arg("padding", Argument::ints({K.PH, K.PW}))};
  if (Transposed) {
    OH = (K.H - 1) * K.SH - 2 * K.PH + K.DH * (K.KH - 1) + K.OPH + 1;
    OW = (K.W - 1) * K.SW - 2 * K.PW + K.DW * (K.KW - 1) + K.OPW + 1;
    Args.push_back(arg("output_padding", Argument::ints({K.OPH, K.OPW})));
    Args.push_back(arg("groups", Argument::integer(K.G)));
    Args.push_back(arg("dilation", Argument::ints({K.DH, K.DW})));
  } else {
    OH = (K.H + 2 * K.PH - K.DH * (K.KH - 1) - 1) / K.SH + 1;
    OW = (K.W + 2 * K.PW - K.DW * (K.KW - 1) - 1) / K.SW + 1;
    Args.push_back(arg("dilation", Argument::ints({K.DH, K.DW})));
    Args.push_back(arg("groups", Argument::integer(K.G)));
  }
  return B.addNode(Transposed ? "torch.ops.aten.conv_transpose2d.input" : "torch.ops.aten.conv2d.default",
                   std::move(Args), ScalarType::Float32, {K.N, K.Co, OH, OW});
}

std::string addBatchNorm(ModelBuilder &B, const std::string &X, int64_t C, const std::vector<int64_t> &Shape,
                         uint64_t Seed, const std::string &Prefix) {
  std::string G = B.addParameter(Prefix + ".weight", randn({C}, Seed));
  std::string Be = B.addParameter(Prefix + ".bias", randn({C}, Seed + 1));
  std::string Mean = B.addParameter(Prefix + ".running_mean", randn({C}, Seed + 2));
  std::string Var = B.addParameter(Prefix + ".running_var", positive(C, Seed + 3));
  return B.addNode("torch.ops.aten.batch_norm.default",
                   {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(G)),
                    arg("bias", Argument::tensor(Be)), arg("running_mean", Argument::tensor(Mean)),
                    arg("running_var", Argument::tensor(Var)), arg("training", Argument::boolean(false)),
                    arg("momentum", Argument::real(0.1)), arg("eps", Argument::real(1e-5)),
                    arg("cudnn_enabled", Argument::boolean(true))},
                   ScalarType::Float32, Shape);
}

void expectRunsOnTheAccelerator(Model M, uint64_t Seed, const std::string &What) {
  test::expectRunsOnTheAccelerator(std::move(M), Seed, What, "conv");
}

} // namespace

TEST(ConvModelsTest, Conv2dShapesMatchEager) {
  const Conv Cases[] = {
      {2, 3, 17, 13, 5, 3, 3, 1, 1, 1, 1},                       // padding 1
      {1, 4, 15, 16, 6, 3, 3, 2, 2, 0, 0, 1, 1, 1, false},       // stride 2, padding 0, no bias
      {1, 3, 12, 11, 4, 3, 3, 1, 1, 2, 2, 2, 2},                 // padding 2, dilation 2
      {2, 6, 9, 10, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2},               // 2 groups, stride 2
      {1, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8},                // depthwise
      {1, 16, 9, 5, 7, 1, 1},                                    // 1x1, read in place
      {1, 5, 9, 7, 3, 1, 1, 2, 2},                               // 1x1 stride 2
      {1, 3, 10, 9, 4, 2, 3, 2, 1, 1, 0},                        // 2x3, stride (2, 1), padding (1, 0)
      {1, 33, 5, 6, 17, 3, 3, 1, 1, 1, 1},                       // K = 297, odd channels
  };
  uint64_t Seed = 700;
  for (const Conv &K : Cases) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({K.N, K.C, K.H, K.W}, Seed + 50));
    B.addOutput(addConv(B, X, K, /*Transposed=*/false, Seed, "conv"));
    expectRunsOnTheAccelerator(B.take(), Seed++, "conv2d " + text(K));
  }
}

TEST(ConvModelsTest, ConvTranspose2dShapesMatchEager) {
  const Conv Cases[] = {
      {1, 8, 6, 5, 4, 2, 2, 2, 2},                               // the UNet's upsampling (windows tile the output)
      {2, 5, 4, 3, 6, 3, 3, 3, 3},                               // tiled, k3 s3, batch 2
      {1, 3, 5, 4, 2, 1, 2, 1, 2, 0, 0, 1, 1, 1, false},         // tiled, 1x2, no bias
      {2, 4, 5, 7, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, true, 1, 1},    // padding 1, output_padding 1
      {1, 4, 4, 6, 6, 3, 3, 3, 3, 0, 0, 1, 1, 2},                // stride 3, 2 groups
      {1, 3, 5, 5, 2, 3, 2, 1, 2, 0, 1, 2, 1, 1, false},         // dilation (2, 1), no bias
  };
  uint64_t Seed = 800;
  for (const Conv &K : Cases) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({K.N, K.C, K.H, K.W}, Seed + 50));
    B.addOutput(addConv(B, X, K, /*Transposed=*/true, Seed, "up"));
    expectRunsOnTheAccelerator(B.take(), Seed++, "conv_transpose2d " + text(K));
  }
}

TEST(ConvModelsTest, ConvBatchNormReluFoldsAndMatchesEager) {
  // conv -> batch_norm -> relu: the batch norm is folded into the conv.
  ModelBuilder B;
  Conv K{1, 3, 11, 14, 6, 3, 3, 1, 1, 1, 1};
  std::string X = B.addUserInput("x", randn({1, 3, 11, 14}, 901));
  std::string C = addConv(B, X, K, false, 900, "conv");
  std::string Bn = addBatchNorm(B, C, 6, {1, 6, 11, 14}, 910, "bn");
  B.addOutput(B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(Bn))}, ScalarType::Float32,
                        {1, 6, 11, 14}));
  Model Folded = B.take();
  {
    // One conv2d kernel (an implicit GEMM) does all three: the batch norm
    // in its weights, the relu as its epilogue.
    ASSERT_EXPECTED(P, lower::lowerModel(Folded, {}));
    unsigned Gemms = 0, ReluGemms = 0, Fused = 0;
    for (const lower::PInstr &I : P.Instrs)
      if (I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::conv2d) {
        ++Gemms;
        ReluGemms += I.Spec.Post == atalla::abi::Epilogue::Relu;
      }
    for (const lower::NodeDecision &D : P.Decisions)
      Fused += D.K == lower::NodeDecision::Fused;
    EXPECT_EQ(Gemms, 1u);
    EXPECT_EQ(ReluGemms, 1u);
    EXPECT_EQ(Fused, 2u);
  }
  expectRunsOnTheAccelerator(std::move(Folded), 900, "conv+bn+relu");

  // The conv's result is also an output: the batch norm can not be folded
  // and runs as the mul and add kernels.
  ModelBuilder B2;
  X = B2.addUserInput("x", randn({1, 3, 11, 14}, 921));
  C = addConv(B2, X, K, false, 920, "conv");
  Bn = addBatchNorm(B2, C, 6, {1, 6, 11, 14}, 930, "bn");
  B2.addOutput(C);
  B2.addOutput(Bn);
  expectRunsOnTheAccelerator(B2.take(), 920, "conv+bn, both outputs");
}

TEST(ConvModelsTest, ConstantPadMatchesEager) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({2, 3, 5, 7}, 951));
  B.addOutput(B.addNode("torch.ops.aten.constant_pad_nd.default",
                        {arg("self", Argument::tensor(X)), arg("pad", Argument::ints({1, 2, 0, 3})),
                         arg("value", Argument::real(-1.5))},
                        ScalarType::Float32, {2, 3, 8, 10}));
  expectRunsOnTheAccelerator(B.take(), 950, "constant_pad_nd");
}

TEST(ConvModelsTest, CatMatchesEager) {
  // Along channels (the UNet's skip connections), along the last dim with a
  // transposed input, and along a dim of size 1 pieces (strided columns).
  struct Case {
    std::vector<std::vector<int64_t>> Shapes;
    int64_t Dim;
    std::vector<int64_t> Out;
  };
  const Case Cases[] = {
      {{{2, 3, 5, 7}, {2, 4, 5, 7}}, 1, {2, 7, 5, 7}},
      {{{4, 9}, {4, 1}, {4, 16}}, -1, {4, 26}},
      {{{6, 1}, {6, 1}, {6, 1}}, 1, {6, 3}},
      {{{3, 5}, {2, 5}, {1, 5}}, 0, {6, 5}},
  };
  uint64_t Seed = 960;
  for (const Case &C : Cases) {
    ModelBuilder B;
    Argument List;
    List.Kind = ArgKind::Tensors;
    for (size_t I = 0; I < C.Shapes.size(); ++I) {
      std::string X;
      if (I == 1 && C.Shapes[I].size() == 2) {
        // The second input of the 2-D cases arrives transposed (a strided view).
        std::vector<int64_t> T = {C.Shapes[I][1], C.Shapes[I][0]};
        std::string Y = B.addUserInput("y" + std::to_string(I), randn(T, Seed + I));
        X = B.addNode("torch.ops.aten.t.default", {arg("self", Argument::tensor(Y))}, ScalarType::Float32,
                      C.Shapes[I]);
      } else {
        X = B.addUserInput("x" + std::to_string(I), randn(C.Shapes[I], Seed + I));
      }
      List.Elems.push_back(Argument::tensor(X));
    }
    B.addOutput(B.addNode("torch.ops.aten.cat.default", {arg("tensors", List), arg("dim", Argument::integer(C.Dim))},
                          ScalarType::Float32, C.Out));
    expectRunsOnTheAccelerator(B.take(), Seed, "cat dim " + std::to_string(C.Dim));
    Seed += 20;
  }
}

TEST(ConvModelsTest, MaxPool2dMatchesEager) {
  struct Case {
    std::vector<int64_t> In, K, S, P, D, Out;
  };
  const Case Cases[] = {
      {{2, 3, 16, 12}, {2, 2}, {}, {0, 0}, {1, 1}, {2, 3, 8, 6}},      // the UNet's
      {{1, 4, 17, 15}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 4, 9, 8}},  // padded with -inf, odd sizes
      {{1, 2, 9, 10}, {2, 3}, {1, 2}, {0, 1}, {2, 1}, {1, 2, 7, 5}},   // rectangular, dilation 2
      {{1, 3, 7, 7}, {1, 1}, {2, 2}, {0, 0}, {1, 1}, {1, 3, 4, 4}},    // 1x1: a strided copy
  };
  uint64_t Seed = 1000;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn(C.In, Seed));
    B.addOutput(B.addNode("torch.ops.aten.max_pool2d.default",
                          {arg("self", Argument::tensor(X)), arg("kernel_size", Argument::ints(C.K)),
                           arg("stride", Argument::ints(C.S)), arg("padding", Argument::ints(C.P)),
                           arg("dilation", Argument::ints(C.D)), arg("ceil_mode", Argument::boolean(false))},
                          ScalarType::Float32, C.Out));
    expectRunsOnTheAccelerator(B.take(), Seed++, "max_pool2d k" + std::to_string(C.K[0]) + "x" +
                                                     std::to_string(C.K[1]));
  }
}

TEST(ConvModelsTest, MaxPool2dWithIndicesRunsOnTheDevice) {
  // What torch.export and the core-ATen decompositions emit for max_pool2d:
  // max_pool2d_with_indices. The values are max_pool2d's kernel; the
  // indices, where something reads them, max_pool2d_index's: each only
  // where read. Inputs with many ties (small integers: torch keeps the
  // first maximum in tap order), NaN (the last NaN's index), a plane of
  // -inf (the window's first tap inside the input), padding, dilation and
  // a 1x1 window; each matches eager, indices exactly, with no fallback.
  struct Case {
    std::vector<int64_t> In, K, St, Pd, Dl;
    bool Values, Indices;
  };
  const Case Cases[] = {
      {{2, 3, 9, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false},
      {{2, 3, 9, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true},
      {{1, 4, 16, 40}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true},
      {{1, 2, 13, 19}, {3, 2}, {2, 1}, {1, 0}, {2, 1}, true, true},
      {{1, 2, 7, 9}, {1, 1}, {2, 2}, {0, 0}, {1, 1}, true, true},
  };
  uint64_t Seed = 1050;
  for (const Case &C : Cases) {
    // Small integers, then a NaN every 23rd element and the last plane -inf.
    const int64_t N = C.In[0] * C.In[1] * C.In[2] * C.In[3], Plane = C.In[2] * C.In[3];
    std::vector<float> V(static_cast<size_t>(N));
    uint64_t Xs = Seed;
    for (int64_t I = 0; I < N; ++I) {
      Xs = Xs * 6364136223846793005ull + 1442695040888963407ull;
      V[size_t(I)] = float((Xs >> 33) % 4) - 1.0f;
      if (I % 23 == 7)
        V[size_t(I)] = std::nanf("");
      if (I >= N - Plane)
        V[size_t(I)] = -std::numeric_limits<float>::infinity();
    }
    std::vector<uint8_t> Bytes(V.size() * 4);
    std::memcpy(Bytes.data(), V.data(), Bytes.size());
    ModelBuilder B;
    std::string X = B.addUserInput("x", TensorData::fromBytes(ScalarType::Float32, C.In, Bytes));
    const int64_t OH = (C.In[2] + 2 * C.Pd[0] - C.Dl[0] * (C.K[0] - 1) - 1) / C.St[0] + 1,
                  OW = (C.In[3] + 2 * C.Pd[1] - C.Dl[1] * (C.K[1] - 1) - 1) / C.St[1] + 1;
    const std::vector<int64_t> Out = {C.In[0], C.In[1], OH, OW};
    std::vector<std::string> R = B.addMultiNode(
        "torch.ops.aten.max_pool2d_with_indices.default",
        {arg("self", Argument::tensor(X)), arg("kernel_size", Argument::ints(C.K)), arg("stride", Argument::ints(C.St)),
         arg("padding", Argument::ints(C.Pd)), arg("dilation", Argument::ints(C.Dl)),
         arg("ceil_mode", Argument::boolean(false))},
        {{ScalarType::Float32, Out}, {ScalarType::Int64, Out}});
    if (C.Values)
      B.addOutput(R[0]);
    if (C.Indices)
      B.addOutput(R[1]);
    Model M = B.take();
    const std::string What = "max_pool2d_with_indices " + frontend::formatShape(C.In) + " k" +
                             frontend::formatShape(C.K) + (C.Values ? " values" : "") + (C.Indices ? " indices" : "");
    {
      ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
      unsigned Index = 0, Kernels = 0;
      for (const lower::PInstr &I : P.Instrs) {
        Kernels += I.Op == atalla::abi::Opcode::Kernel;
        Index += I.Spec.Kernel == atalla::abi::KernelId::max_pool2d_index;
      }
      EXPECT_EQ(Index, C.Indices ? 1u : 0u) << What;
      EXPECT_EQ(Kernels, unsigned(C.Values) + unsigned(C.Indices)) << What;
    }
    expectRunsOnTheAccelerator(std::move(M), Seed++, What);
  }
}

TEST(ConvModelsTest, AveragePoolsAndUpsamplingMatchEager) {
  uint64_t Seed = 1100;
  auto one = [&](const std::string &Target, std::vector<NamedArgument> Args, const std::vector<int64_t> &In,
                 const std::vector<int64_t> &Out, const std::string &What) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn(In, Seed));
    Args.insert(Args.begin(), arg(Target.find("upsample") != std::string::npos ? "input" : "self",
                                  Argument::tensor(X)));
    B.addOutput(B.addNode(Target, std::move(Args), ScalarType::Float32, Out));
    expectRunsOnTheAccelerator(B.take(), Seed++, What);
  };
  const std::string Avg = "torch.ops.aten.avg_pool2d.default";
  one(Avg, {arg("kernel_size", Argument::ints({2, 2})), arg("stride", Argument::ints({2, 2}))}, {2, 3, 8, 10},
      {2, 3, 4, 5}, "avg_pool2d 2x2");
  one(Avg,
      {arg("kernel_size", Argument::ints({3, 3})), arg("stride", Argument::ints({2, 2})),
       arg("padding", Argument::ints({1, 1}))},
      {1, 4, 9, 7}, {1, 4, 5, 4}, "avg_pool2d 3x3 s2 p1 (zeros counted)");
  one(Avg,
      {arg("kernel_size", Argument::ints({2, 3})), arg("stride", Argument::ints({1, 2})),
       arg("padding", Argument::ints({0, 0})), arg("ceil_mode", Argument::boolean(false)),
       arg("count_include_pad", Argument::boolean(true)), arg("divisor_override", Argument::integer(5))},
      {1, 2, 6, 9}, {1, 2, 5, 4}, "avg_pool2d divisor_override");
  // Padding left out of the divisor: each window divided by its taps inside
  // the input (torch's divide_factor), on the device.
  one(Avg,
      {arg("kernel_size", Argument::ints({3, 3})), arg("stride", Argument::ints({1, 1})),
       arg("padding", Argument::ints({1, 1})), arg("ceil_mode", Argument::boolean(false)),
       arg("count_include_pad", Argument::boolean(false))},
      {1, 3, 7, 9}, {1, 3, 7, 9}, "avg_pool2d 3x3 s1 p1, padding not counted");
  one(Avg,
      {arg("kernel_size", Argument::ints({3, 2})), arg("stride", Argument::ints({2, 1})),
       arg("padding", Argument::ints({1, 1})), arg("ceil_mode", Argument::boolean(false)),
       arg("count_include_pad", Argument::boolean(false)), arg("divisor_override", Argument::integer(4))},
      {2, 2, 9, 6}, {2, 2, 5, 7}, "avg_pool2d padding not counted, divisor_override");
  const std::string Adaptive = "torch.ops.aten.adaptive_avg_pool2d.default";
  one(Adaptive, {arg("output_size", Argument::ints({1, 1}))}, {3, 5, 7, 6}, {3, 5, 1, 1}, "global average pool");
  one(Adaptive, {arg("output_size", Argument::ints({2, 3}))}, {1, 4, 8, 9}, {1, 4, 2, 3}, "adaptive 2x3");
  // Unequal windows (the output size does not divide the input's): VGG's
  // 7x7 of 10x10 features, AlexNet's 6x6 of 13x13, more outputs than
  // inputs (overlapping windows), on the adaptive_avg_pool2d kernel.
  one(Adaptive, {arg("output_size", Argument::ints({7, 7}))}, {2, 3, 10, 10}, {2, 3, 7, 7}, "adaptive 7x7 of 10x10");
  one(Adaptive, {arg("output_size", Argument::ints({6, 6}))}, {1, 5, 13, 13}, {1, 5, 6, 6}, "adaptive 6x6 of 13x13");
  one(Adaptive, {arg("output_size", Argument::ints({7, 5}))}, {1, 2, 5, 9}, {1, 2, 7, 5}, "adaptive 7x5 of 5x9");
  one("torch.ops.aten._adaptive_avg_pool2d.default", {arg("output_size", Argument::ints({3, 4}))}, {1, 4, 8, 11},
      {1, 4, 3, 4}, "_adaptive_avg_pool2d 3x4 of 8x11 (core ATen)");
  // What core-ATen decompositions emit for it.
  one("torch.ops.aten._adaptive_avg_pool2d.default", {arg("output_size", Argument::ints({1, 1}))}, {2, 6, 5, 7},
      {2, 6, 1, 1}, "_adaptive_avg_pool2d (core ATen)");
  const std::string Up = "torch.ops.aten.upsample_nearest2d.vec";
  one(Up, {arg("output_size", Argument::ints({10, 14})), arg("scale_factors", Argument::none())}, {2, 3, 5, 7},
      {2, 3, 10, 14}, "upsample nearest 2x");
  one(Up, {arg("output_size", Argument::ints({12, 4})), arg("scale_factors", Argument::none())}, {1, 2, 4, 4},
      {1, 2, 12, 4}, "upsample nearest 3x1");
}

TEST(ConvModelsTest, ConvolutionsWriteTheirChannelsOfACatInPlace) {
  // The UNet's skip connection: cat([relu(conv(x)), conv_transpose(z)], 1),
  // the first also read by a max pool. Both producers write their channels
  // of the cat's result (fuse-cat): the program has no copy kernel for the
  // cat, the pool reads the conv's channels where they lie (a strided
  // slice), and everything matches eager. A value read by an in-place op is
  // not written in place.
  ModelBuilder B;
  Conv K1{2, 3, 12, 20, 4, 3, 3, 1, 1, 1, 1};
  std::string X = B.addUserInput("x", randn({2, 3, 12, 20}, 971));
  std::string C1 = addConv(B, X, K1, false, 972, "down");
  std::string R1 = B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(C1))}, ScalarType::Float32,
                             {2, 4, 12, 20});
  B.addOutput(B.addNode("torch.ops.aten.max_pool2d.default",
                        {arg("self", Argument::tensor(R1)), arg("kernel_size", Argument::ints({2, 2}))},
                        ScalarType::Float32, {2, 4, 6, 10}));
  std::string Z = B.addUserInput("z", randn({2, 5, 6, 10}, 973));
  Conv K2{2, 5, 6, 10, 3, 2, 2, 2, 2};
  std::string Up = addConv(B, Z, K2, /*Transposed=*/true, 974, "up");
  Argument List;
  List.Kind = ArgKind::Tensors;
  List.Elems = {Argument::tensor(R1), Argument::tensor(Up)};
  std::string Cat = B.addNode("torch.ops.aten.cat.default", {arg("tensors", List), arg("dim", Argument::integer(1))},
                              ScalarType::Float32, {2, 7, 12, 20});
  B.addOutput(addConv(B, Cat, Conv{2, 7, 12, 20, 2, 3, 3, 1, 1, 1, 1}, false, 975, "merge"));
  Model M = B.take();
  ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
  unsigned Copies = 0;
  for (const lower::PInstr &I : P.Instrs)
    Copies += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::copy && I.Node == "cat";
  EXPECT_EQ(Copies, 0u);
  expectRunsOnTheAccelerator(std::move(M), 970, "conv + conv_transpose into a cat");

  // relu_ on the conv's result: it is not written into the cat.
  ModelBuilder B2;
  std::string X2 = B2.addUserInput("x", randn({1, 3, 8, 8}, 981));
  std::string A = addConv(B2, X2, Conv{1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1}, false, 982, "a");
  std::string Bc = addConv(B2, X2, Conv{1, 3, 8, 8, 2, 1, 1}, false, 983, "b");
  Argument L2;
  L2.Kind = ArgKind::Tensors;
  L2.Elems = {Argument::tensor(A), Argument::tensor(Bc)};
  B2.addOutput(B2.addNode("torch.ops.aten.cat.default", {arg("tensors", L2), arg("dim", Argument::integer(1))},
                          ScalarType::Float32, {1, 6, 8, 8}));
  B2.addOutput(B2.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(A))}, ScalarType::Float32,
                          {1, 4, 8, 8}));
  Model M2 = B2.take();
  ASSERT_EXPECTED(P2, lower::lowerModel(M2, {}));
  unsigned Copies2 = 0;
  for (const lower::PInstr &I : P2.Instrs)
    Copies2 += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::copy;
  EXPECT_GE(Copies2, 1u); // the relu_'d conv is copied into the cat
  expectRunsOnTheAccelerator(std::move(M2), 980, "cat beside an in-place op");
}

TEST(ConvModelsTest, DepthwiseConvolutionsRunOnTheVectorCoreAndMatchEager) {
  // groups = channels, one filter each (mobilenet's, efficientnet's): the
  // dwconv2d kernel, with a folded batch norm and a relu epilogue, strides
  // 1 and 2, 5x5, dilation; and inputs holding inf, -inf and NaN, which
  // propagate as eager's do (finite weights: the zero padding adds zeros).
  struct Case {
    Conv K;
    bool Specials;
  };
  const Case Cases[] = {
      {{1, 8, 16, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8}, false},
      {{2, 6, 15, 17, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6}, false},
      {{1, 4, 12, 20, 4, 5, 5, 1, 1, 2, 2, 1, 1, 4}, false},
      {{1, 3, 11, 13, 3, 3, 3, 1, 1, 2, 2, 2, 2, 3}, false},
      {{1, 5, 9, 10, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5}, true},
  };
  uint64_t Seed = 990;
  for (const Case &C : Cases) {
    ModelBuilder B;
    TensorData In = randn({C.K.N, C.K.C, C.K.H, C.K.W}, Seed + 50);
    if (C.Specials) {
      float *V = reinterpret_cast<float *>(const_cast<uint8_t *>(In.Data->Bytes.data()));
      V[3] = std::numeric_limits<float>::infinity();
      V[40] = -std::numeric_limits<float>::infinity();
      V[41] = std::numeric_limits<float>::infinity(); // inf - inf in one window: NaN
      V[100] = std::numeric_limits<float>::quiet_NaN();
      V[0] = -0.0f;
    }
    std::string X = B.addUserInput("x", In);
    std::string Cv = addConv(B, X, C.K, false, Seed, "dw");
    const int64_t OH = (C.K.H + 2 * C.K.PH - C.K.DH * (C.K.KH - 1) - 1) / C.K.SH + 1,
                  OW = (C.K.W + 2 * C.K.PW - C.K.DW * (C.K.KW - 1) - 1) / C.K.SW + 1;
    B.addOutput(B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(Cv))}, ScalarType::Float32,
                          {C.K.N, C.K.Co, OH, OW}));
    Model M = B.take();
    {
      ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
      unsigned Dw = 0;
      for (const lower::PInstr &I : P.Instrs)
        Dw += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::dwconv2d &&
              I.Spec.Post == atalla::abi::Epilogue::Relu;
      EXPECT_EQ(Dw, 1u) << text(C.K);
    }
    expectRunsOnTheAccelerator(std::move(M), Seed++, "depthwise " + text(C.K) + (C.Specials ? " specials" : ""));
  }
}

TEST(ConvModelsTest, Relu6AfterAConvolutionIsItsEpilogue) {
  // mobilenet_v2's conv -> hardtanh(0, 6): one conv2d kernel with the relu6
  // epilogue; hardtanh(-1, 1) stays a clamp kernel of its own. Both match
  // eager (values beyond 6 and below 0 included).
  for (double Lo : {0.0, -1.0}) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({1, 4, 10, 12}, 1001));
    std::string C = addConv(B, X, Conv{1, 4, 10, 12, 6, 3, 3, 1, 1, 1, 1}, false, 1002, "c");
    const double Hi = Lo == 0 ? 6.0 : 1.0;
    B.addOutput(B.addNode("torch.ops.aten.hardtanh.default",
                          {arg("self", Argument::tensor(C)), arg("min_val", Argument::real(Lo)),
                           arg("max_val", Argument::real(Hi))},
                          ScalarType::Float32, {1, 6, 10, 12}));
    Model M = B.take();
    {
      ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
      unsigned Relu6 = 0, Clamps = 0;
      for (const lower::PInstr &I : P.Instrs) {
        Relu6 += I.Spec.Post == atalla::abi::Epilogue::Relu6;
        Clamps += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::clamp;
      }
      EXPECT_EQ(Relu6, Lo == 0 ? 1u : 0u);
      EXPECT_EQ(Clamps, Lo == 0 ? 0u : 1u);
    }
    expectRunsOnTheAccelerator(std::move(M), 1000 + uint64_t(Lo == 0), "conv + hardtanh");
  }
}

TEST(ConvModelsTest, PoolsWhoseRowsDoNotFitTheScratchpadFallBackWithTheReason) {
  // A pool kernel holds one output row's input rows and the output row in
  // the scratchpad; an image 200,000 wide does not fit (3 rows of it are
  // 2.4 MB), so max and average pools of it fall back and say why instead
  // of failing to compile. (Lowering only, with the options the driver
  // gives the lowering for the atalla-rtl pads: the code generator says
  // what fits.)
  for (const char *Op : {"torch.ops.aten.max_pool2d.default", "torch.ops.aten.avg_pool2d.default"}) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({1, 1, 3, 200000}, 1300));
    B.addOutput(B.addNode(Op,
                          {arg("self", Argument::tensor(X)), arg("kernel_size", Argument::ints({3, 3})),
                           arg("stride", Argument::ints({1, 1}))},
                          ScalarType::Float32, {1, 1, 1, 199998}));
    Model M = B.take();
    ASSERT_EXPECTED(PO, driver::pipelineOptions(driver::CompileOptions()));
    ASSERT_EXPECTED(P, lower::lowerModel(M, PO));
    ASSERT_EQ(P.Decisions.size(), 1u);
    EXPECT_EQ(P.Decisions[0].K, lower::NodeDecision::Fallback) << Op;
    EXPECT_NE(P.Decisions[0].Reason.find("input rows do not fit the scratchpad"), std::string::npos)
        << Op << ": " << P.Decisions[0].Reason;
  }
  // The adaptive kernel (unequal windows) holds a whole input plane: a 700 x
  // 700 one (1.96 MB) does not fit.
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({1, 1, 700, 700}, 1301));
  B.addOutput(B.addNode("torch.ops.aten.adaptive_avg_pool2d.default",
                        {arg("self", Argument::tensor(X)), arg("output_size", Argument::ints({3, 3}))},
                        ScalarType::Float32, {1, 1, 3, 3}));
  Model M = B.take();
  ASSERT_EXPECTED(PO, driver::pipelineOptions(driver::CompileOptions()));
  ASSERT_EXPECTED(P, lower::lowerModel(M, PO));
  ASSERT_EQ(P.Decisions.size(), 1u);
  EXPECT_EQ(P.Decisions[0].K, lower::NodeDecision::Fallback);
  EXPECT_NE(P.Decisions[0].Reason.find("one input plane does not fit the scratchpad"), std::string::npos)
      << P.Decisions[0].Reason;
}

TEST(ConvModelsTest, SqueezeAndExcitationGatesAreTheirConvolutionsEpilogues) {
  // efficientnet's and mobilenet_v3's squeeze-and-excitation: mean over the
  // image, a 1x1 convolution, relu, a 1x1 convolution and the gate (sigmoid
  // or hardsigmoid), times the input. Both convolutions carry their
  // activation as an epilogue (no sigmoid or hardsigmoid kernel remains),
  // and the block matches eager.
  uint64_t Seed = 1400;
  for (const char *Gate : {"torch.ops.aten.sigmoid.default", "torch.ops.aten.hardsigmoid.default"}) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({2, 16, 7, 9}, Seed));
    std::string M = B.addNode("torch.ops.aten.mean.dim",
                              {arg("self", Argument::tensor(X)), arg("dim", Argument::ints({-1, -2})),
                               arg("keepdim", Argument::boolean(true))},
                              ScalarType::Float32, {2, 16, 1, 1});
    std::string R = B.addNode("torch.ops.aten.relu.default",
                              {arg("self", Argument::tensor(addConv(B, M, Conv{2, 16, 1, 1, 4, 1, 1, 1, 1, 0, 0}, false,
                                                                    Seed + 1, "reduce")))},
                              ScalarType::Float32, {2, 4, 1, 1});
    std::string G = B.addNode(Gate,
                              {arg("self", Argument::tensor(addConv(B, R, Conv{2, 4, 1, 1, 16, 1, 1, 1, 1, 0, 0}, false,
                                                                    Seed + 2, "expand")))},
                              ScalarType::Float32, {2, 16, 1, 1});
    B.addOutput(B.addNode("torch.ops.aten.mul.Tensor", {arg("self", Argument::tensor(X)), arg("other", Argument::tensor(G))},
                          ScalarType::Float32, {2, 16, 7, 9}));
    Model Mo = B.take();
    {
      ASSERT_EXPECTED(P, lower::lowerModel(Mo, {}));
      unsigned Gates = 0, GateKernels = 0;
      for (const lower::PInstr &I : P.Instrs) {
        Gates += I.Spec.Post == atalla::abi::Epilogue::Sigmoid || I.Spec.Post == atalla::abi::Epilogue::Hardsigmoid;
        GateKernels += I.Op == atalla::abi::Opcode::Kernel && (I.Spec.Kernel == atalla::abi::KernelId::sigmoid ||
                                                               I.Spec.Kernel == atalla::abi::KernelId::hardsigmoid);
      }
      EXPECT_EQ(Gates, 1u) << Gate;
      EXPECT_EQ(GateKernels, 0u) << Gate;
    }
    expectRunsOnTheAccelerator(std::move(Mo), Seed, std::string("squeeze-and-excitation, ") + Gate);
    Seed += 10;
  }
}

TEST(ConvModelsTest, ChannelGatesAreTheirProjectionsColumnScales) {
  // squeeze-and-excitation as mobilenet_v3 and efficientnet use it: x times
  // its gate g [N, C, 1, 1], then a 1x1 projection (with a batch norm, as
  // theirs). The 1x1 convolution's GEMM takes g as the column scale of its
  // weights, image by image (kscale): no mul kernel, the mul fused, and the
  // result matches eager. Batch 2 (each image its own gate), the gate as
  // either operand, and 300 channels (two K blocks of the GEMM). A 3x3 or a
  // stride-2 projection can not take it: the mul stays a kernel.
  struct Case {
    int64_t C, H, W, Co, KH, S;
    bool GateFirst;
    bool Fused;
  };
  const Case Cases[] = {
      {16, 7, 9, 8, 1, 1, false, true},
      {16, 7, 9, 24, 1, 1, true, true},
      {300, 5, 6, 40, 1, 1, false, true},
      {16, 7, 9, 8, 3, 1, false, false},
      {16, 7, 9, 8, 1, 2, false, false},
  };
  uint64_t Seed = 1500;
  for (const Case &K : Cases) {
    const std::string What = "gate of " + std::to_string(K.C) + " channels into a " + std::to_string(K.KH) + "x" +
                             std::to_string(K.KH) + " stride-" + std::to_string(K.S) + " projection" +
                             (K.GateFirst ? ", the gate first" : "");
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({2, K.C, K.H, K.W}, Seed));
    std::string M = B.addNode("torch.ops.aten.mean.dim",
                              {arg("self", Argument::tensor(X)), arg("dim", Argument::ints({-1, -2})),
                               arg("keepdim", Argument::boolean(true))},
                              ScalarType::Float32, {2, K.C, 1, 1});
    std::string G = B.addNode("torch.ops.aten.sigmoid.default",
                              {arg("self", Argument::tensor(addConv(B, M, Conv{2, K.C, 1, 1, K.C, 1, 1}, false,
                                                                    Seed + 1, "expand")))},
                              ScalarType::Float32, {2, K.C, 1, 1});
    std::string Y = B.addNode("torch.ops.aten.mul.Tensor",
                              {arg("self", Argument::tensor(K.GateFirst ? G : X)),
                               arg("other", Argument::tensor(K.GateFirst ? X : G))},
                              ScalarType::Float32, {2, K.C, K.H, K.W});
    const int64_t Pad = K.KH / 2;
    B.addOutput(addConv(B, Y, Conv{2, K.C, K.H, K.W, K.Co, K.KH, K.KH, K.S, K.S, Pad, Pad}, false, Seed + 2,
                        "project"));
    Model Mo = B.take();
    {
      ASSERT_EXPECTED(P, lower::lowerModel(Mo, {}));
      unsigned Scaled = 0, Muls = 0, FusedMuls = 0;
      for (const lower::PInstr &I : P.Instrs) {
        Scaled += I.Op == atalla::abi::Opcode::Kernel && I.Spec.HasScale;
        Muls += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::mul;
      }
      for (const lower::NodeDecision &D : P.Decisions)
        FusedMuls += D.K == lower::NodeDecision::Fused && D.Reason.find("channel gate of") != std::string::npos;
      EXPECT_EQ(Scaled, K.Fused ? 1u : 0u) << What;
      EXPECT_EQ(Muls, K.Fused ? 0u : 1u) << What;
      EXPECT_EQ(FusedMuls, K.Fused ? 1u : 0u) << What;
    }
    expectRunsOnTheAccelerator(std::move(Mo), Seed, What);
    Seed += 10;
  }
}

TEST(ConvModelsTest, ResidualAddsAreTheirConvolutionsEpilogues) {
  // Two resnet BasicBlocks: conv-bn-relu-conv-bn, + identity, relu. In the
  // first, the identity is a 1x1 stride-2 downsample (conv-bn) that the
  // graph computes after the second conv, so the add goes into the
  // downsample's kernel with the block's result as its residual; in the
  // second, the identity is the block's input and the add goes into its
  // second conv. Then mobilenet_v2's projection (1x1 conv-bn, no
  // activation) + input, and a transformer's x + linear(x). No add kernel
  // remains, and each matches eager.
  ModelBuilder B;
  uint64_t Seed = 1300;
  std::string X = B.addUserInput("x", randn({2, 8, 12, 12}, Seed++));
  auto convBn = [&](const std::string &In, const Conv &K, std::vector<int64_t> Out, bool Relu) {
    std::string C = addConv(B, In, K, false, Seed, "c" + std::to_string(Seed));
    Seed += 2;
    std::string Bn = addBatchNorm(B, C, K.Co, Out, Seed, "bn" + std::to_string(Seed));
    Seed += 4;
    return Relu ? B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(Bn))}, ScalarType::Float32,
                            Out)
                : Bn;
  };
  auto add = [&](const std::string &L, const std::string &R, std::vector<int64_t> Out) {
    return B.addNode("torch.ops.aten.add.Tensor", {arg("self", Argument::tensor(L)), arg("other", Argument::tensor(R))},
                     ScalarType::Float32, Out);
  };
  auto relu = [&](const std::string &In, std::vector<int64_t> Out) {
    return B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(In))}, ScalarType::Float32, Out);
  };
  const std::vector<int64_t> Half = {2, 16, 6, 6};
  Conv C1{2, 8, 12, 12, 16, 3, 3, 2, 2, 1, 1}, C2{2, 16, 6, 6, 16, 3, 3, 1, 1, 1, 1}, Down{2, 8, 12, 12, 16, 1, 1, 2, 2};
  C1.Bias = C2.Bias = Down.Bias = false;
  std::string Y = convBn(convBn(X, C1, Half, true), C2, Half, false);
  std::string Id = convBn(X, Down, Half, false);
  std::string Block1 = relu(add(Y, Id, Half), Half);
  std::string Z = convBn(convBn(Block1, C2, Half, true), C2, Half, false);
  std::string Block2 = relu(add(Block1, Z, Half), Half);
  Conv Proj{2, 16, 6, 6, 16, 1, 1};
  std::string Inverted = add(Block2, convBn(Block2, Proj, Half, false), Half);
  B.addOutput(Inverted);
  // x [5, 16] + linear(x).
  std::string T = B.addUserInput("t", randn({5, 16}, Seed++));
  std::string Wl = B.addParameter("lin.weight", randn({16, 16}, Seed++)), Bl = B.addParameter("lin.bias", randn({16}, Seed++));
  std::string Lin = B.addNode("torch.ops.aten.linear.default",
                              {arg("input", Argument::tensor(T)), arg("weight", Argument::tensor(Wl)),
                               arg("bias", Argument::tensor(Bl))},
                              ScalarType::Float32, {5, 16});
  B.addOutput(add(T, Lin, {5, 16}));
  Model M = B.take();
  {
    ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
    unsigned Convs = 0, Residual = 0, ResidualRelu = 0, Gemms = 0, Others = 0;
    for (const lower::PInstr &I : P.Instrs) {
      if (I.Op != atalla::abi::Opcode::Kernel)
        continue;
      if (I.Spec.Kernel == atalla::abi::KernelId::conv2d || I.Spec.Kernel == atalla::abi::KernelId::gemm) {
        (I.Spec.Kernel == atalla::abi::KernelId::conv2d ? Convs : Gemms)++;
        Residual += I.Spec.HasResidual;
        ResidualRelu += I.Spec.HasResidual && I.Spec.Post == atalla::abi::Epilogue::Relu;
      } else {
        ++Others;
      }
    }
    EXPECT_EQ(Convs + Gemms, 7u); // six convolutions (the 1x1 projection a GEMM) and the linear
    EXPECT_EQ(Residual, 4u);     // the downsample, block 2's second conv, the projection, the linear
    EXPECT_EQ(ResidualRelu, 2u); // the two blocks' adds with their relus
    EXPECT_EQ(Others, 0u);       // no add, relu or chain kernel
    for (const lower::NodeDecision &D : P.Decisions)
      EXPECT_NE(D.K, lower::NodeDecision::Fallback) << D.Node << ": " << D.Reason;
  }
  expectRunsOnTheAccelerator(std::move(M), 1300, "residual blocks");
}
