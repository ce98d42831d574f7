//===- tests/e2e/OpModelsTest.cpp - reductions and other ops vs eager ---===//
//
// Models of the ops transformer and CNN heads use beyond convolutions:
// sum / mean / amax / amin over any dims (kept or dropped, all of them,
// over a transposed input, over an outer dim), each written with the
// project's .pt2 writer and checked as the fuzzer checks (compile, run on
// the simulated device, compare with eager LibTorch) with no fallback.
// To add a case: a line in the table of the test it belongs to.
//
//===----------------------------------------------------------------------===//
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

void expectRunsOnTheAccelerator(Model M, uint64_t Seed, const std::string &What) {
  test::expectRunsOnTheAccelerator(std::move(M), Seed, What, "ops");
}

std::vector<int64_t> reducedShape(const std::vector<int64_t> &In, std::vector<int64_t> Dims, bool Keep) {
  if (Dims.empty())
    for (size_t D = 0; D < In.size(); ++D)
      Dims.push_back(int64_t(D));
  std::vector<int64_t> Out;
  for (size_t D = 0; D < In.size(); ++D) {
    bool R = false;
    for (int64_t X : Dims)
      R |= (X < 0 ? X + int64_t(In.size()) : X) == int64_t(D);
    if (!R)
      Out.push_back(In[D]);
    else if (Keep)
      Out.push_back(1);
  }
  return Out;
}

/// mask[:, :, :T, :T] of a [1, 1, Ctx, Ctx] bool causal-mask buffer (lower
/// triangle true), as a GPT-2 block slices its registered mask.
std::string causalMaskSlice(ModelBuilder &B, int64_t Ctx, int64_t T) {
  std::vector<uint8_t> Tril(size_t(Ctx * Ctx));
  for (int64_t I = 0; I < Ctx; ++I)
    for (int64_t J = 0; J < Ctx; ++J)
      Tril[size_t(I * Ctx + J)] = J <= I;
  std::string Mask = B.addBuffer("causal", TensorData::fromBytes(ScalarType::Bool, {1, 1, Ctx, Ctx}, Tril));
  auto slice = [&](const std::string &In, int64_t Dim, std::vector<int64_t> Out) {
    return B.addNode("torch.ops.aten.slice.Tensor",
                     {arg("self", Argument::tensor(In)), arg("dim", Argument::integer(Dim)),
                      arg("start", Argument::integer(0)), arg("end", Argument::integer(T))},
                     ScalarType::Bool, Out);
  };
  return slice(slice(Mask, 2, {1, 1, T, Ctx}), 3, {1, 1, T, T});
}

} // namespace

TEST(OpModelsTest, ReductionsMatchEager) {
  struct Case {
    const char *Op; ///< sum.dim_IntList, mean.dim, amax.default, amin.default, sum.default, mean.default
    std::vector<int64_t> Shape, Dims;
    bool Keep;
    bool Transposed = false; ///< reduce a transposed view of the input
  };
  const Case Cases[] = {
      {"sum.dim_IntList", {4, 33}, {-1}, false},
      {"sum.dim_IntList", {4, 33}, {0}, true},             // an outer dim: column layout
      {"mean.dim", {2, 5, 7, 9}, {2, 3}, true},            // global average pool
      {"mean.dim", {3, 17, 20}, {-1}, false},              // layer statistics
      {"amax.default", {6, 70}, {1}, false},
      {"amin.default", {6, 70}, {0}, false},
      {"sum.dim_IntList", {4, 5, 6}, {0, 2}, false},       // kept dim between reduced ones: a copy first
      {"mean.dim", {9, 13}, {0}, false, true},             // transposed input
      {"amax.default", {3, 4, 5}, {}, false},              // dim=[]: every dim
      {"sum.default", {5, 11}, {}, false},
      {"mean.default", {2, 3, 50}, {}, false},
      {"sum.dim_IntList", {2, 70001}, {1}, true},          // rows longer than a tile
  };
  uint64_t Seed = 300;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::vector<int64_t> In = C.Shape;
    std::string X;
    if (C.Transposed) {
      std::string Y = B.addUserInput("x", randn({In[1], In[0]}, Seed));
      X = B.addNode("torch.ops.aten.t.default", {arg("self", Argument::tensor(Y))}, ScalarType::Float32, In);
    } else {
      X = B.addUserInput("x", randn(In, Seed));
    }
    std::string Op = C.Op;
    std::vector<NamedArgument> Args = {arg("self", Argument::tensor(X))};
    const bool All = Op == "sum.default" || Op == "mean.default";
    if (!All) {
      Args.push_back(arg("dim", Argument::ints(C.Dims)));
      Args.push_back(arg("keepdim", Argument::boolean(C.Keep)));
    }
    B.addOutput(B.addNode("torch.ops.aten." + Op, std::move(Args), ScalarType::Float32,
                          reducedShape(In, All ? std::vector<int64_t>{} : C.Dims, C.Keep && !All)));
    std::string What = Op + " of " + frontend::formatShape(In) + " dims " + frontend::formatShape(C.Dims);
    expectRunsOnTheAccelerator(B.take(), Seed++, What);
  }
}

TEST(OpModelsTest, EmbeddingAndIndexSelectMatchEager) {
  // Token ids [2, 7] into a [10, 24] table (randomTensor draws int64 ids in
  // 0..9); index_select of rows of a weight by int64 ids.
  ModelBuilder B;
  std::string Ids = B.addUserInput("ids", tools::randomTensor(ScalarType::Int64, {2, 7}, 71));
  std::string Table = B.addParameter("embed.weight", randn({10, 24}, 72));
  std::string E = B.addNode("torch.ops.aten.embedding.default",
                            {arg("weight", Argument::tensor(Table)), arg("indices", Argument::tensor(Ids))},
                            ScalarType::Float32, {2, 7, 24});
  B.addOutput(E);
  std::string Flat = B.addUserInput("rows", tools::randomTensor(ScalarType::Int64, {5}, 73));
  B.addOutput(B.addNode("torch.ops.aten.index_select.default",
                        {arg("self", Argument::tensor(Table)), arg("dim", Argument::integer(0)),
                         arg("index", Argument::tensor(Flat))},
                        ScalarType::Float32, {5, 24}));
  expectRunsOnTheAccelerator(B.take(), 70, "embedding");
}

TEST(OpModelsTest, LinearGeluFusesIntoTheGemmAndMatchesEager) {
  // linear + gelu (exact and tanh) become one GEMM with a gelu epilogue; a
  // gelu whose input something else reads too stays a kernel of its own.
  for (const char *Approx : {"none", "tanh"}) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({3, 9, 40}, 91));
    std::string W = B.addParameter("fc.weight", randn({33, 40}, 92));
    std::string Bias = B.addParameter("fc.bias", randn({33}, 93));
    std::string L = B.addNode("torch.ops.aten.linear.default",
                              {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)),
                               arg("bias", Argument::tensor(Bias))},
                              ScalarType::Float32, {3, 9, 33});
    std::vector<NamedArgument> GA = {arg("self", Argument::tensor(L))};
    if (std::string(Approx) == "tanh")
      GA.push_back(arg("approximate", Argument::string("tanh")));
    B.addOutput(B.addNode("torch.ops.aten.gelu.default", GA, ScalarType::Float32, {3, 9, 33}));
    // The second: matmul whose result is also an output, so its gelu is not fused.
    std::string W2 = B.addParameter("fc2.weight", randn({40, 17}, 94));
    std::string M2 = B.addNode("torch.ops.aten.matmul.default", {arg("self", Argument::tensor(X)), arg("other", Argument::tensor(W2))},
                               ScalarType::Float32, {3, 9, 17});
    B.addOutput(B.addNode("torch.ops.aten.gelu.default", {arg("self", Argument::tensor(M2))}, ScalarType::Float32,
                          {3, 9, 17}));
    B.addOutput(M2);
    Model M = B.take();
    expectRunsOnTheAccelerator(M, 90, std::string("linear + gelu approximate=") + Approx);
    M.Path = "gelu.pt2";
    auto P = lower::lowerModel(M, lower::PipelineOptions());
    ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
    unsigned GeluGemms = 0, GeluKernels = 0;
    for (const lower::PInstr &I : P->Instrs) {
      GeluGemms += I.Spec.Kernel == atalla::abi::KernelId::gemm && I.Spec.Post != atalla::abi::Epilogue::None;
      GeluKernels += I.Spec.Kernel == atalla::abi::KernelId::gelu || I.Spec.Kernel == atalla::abi::KernelId::gelu_tanh;
    }
    EXPECT_EQ(GeluGemms, 1u) << Approx;
    EXPECT_EQ(GeluKernels, 1u) << Approx;
  }
}

TEST(OpModelsTest, ElementwiseChainsFuseAndMatchEager) {
  // a = x * 2 + b (b a broadcast row); relu_ in place; y - a (a swapped
  // sub); + 3 with alpha 2 (the constant 6); sigmoid: one chain kernel of
  // six steps. c = a6 + m where m = x @ w comes after the chain: the mm adds
  // a6 itself (a residual add). e = c * y is a kernel of its own; d = e *
  // 0.5 where e is also a graph output: not fused.
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({6, 20}, 101));
  std::string Y = B.addUserInput("y", randn({6, 20}, 102));
  std::string Bias = B.addParameter("b", randn({20}, 103));
  std::string W = B.addParameter("w", randn({20, 20}, 104));
  auto bin = [&](const char *Op, const std::string &L, Argument R, std::vector<NamedArgument> Extra = {}) {
    std::vector<NamedArgument> A = {arg("self", Argument::tensor(L)), arg("other", std::move(R))};
    for (NamedArgument &E : Extra)
      A.push_back(std::move(E));
    return B.addNode(std::string("torch.ops.aten.") + Op, std::move(A), ScalarType::Float32, {6, 20});
  };
  std::string A1 = bin("mul.Tensor", X, Argument::real(2.0));
  std::string A2 = bin("add.Tensor", A1, Argument::tensor(Bias));
  std::string A3 = B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(A2))}, ScalarType::Float32, {6, 20});
  std::string A4 = bin("sub.Tensor", Y, Argument::tensor(A3));
  std::string A5 = bin("add.Tensor", A4, Argument::real(3.0), {arg("alpha", Argument::integer(2))});
  std::string A6 = B.addNode("torch.ops.aten.sigmoid.default", {arg("self", Argument::tensor(A5))}, ScalarType::Float32, {6, 20});
  std::string M = B.addNode("torch.ops.aten.mm.default", {arg("self", Argument::tensor(X)), arg("mat2", Argument::tensor(W))},
                            ScalarType::Float32, {6, 20});
  std::string C = bin("add.Tensor", A6, Argument::tensor(M));
  std::string E = bin("mul.Tensor", C, Argument::tensor(Y));
  std::string D = bin("mul.Tensor", E, Argument::real(0.5));
  B.addOutput(D);
  B.addOutput(E);
  Model Mo = B.take();
  expectRunsOnTheAccelerator(Mo, 100, "elementwise chains");
  Mo.Path = "chains.pt2";
  auto P = lower::lowerModel(Mo, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  std::vector<size_t> ChainSteps;
  unsigned Kernels = 0, Residuals = 0;
  for (const lower::PInstr &I : P->Instrs) {
    Kernels += I.Op == atalla::abi::Opcode::Kernel;
    Residuals += I.Spec.Kernel == atalla::abi::KernelId::gemm && I.Spec.HasResidual;
    if (I.Spec.Kernel == atalla::abi::KernelId::chain)
      ChainSteps.push_back(I.Spec.Params.size() / 4);
  }
  // mul..sigmoid (6 steps); add(c) into the mm; mul(e) and mul(d) alone.
  EXPECT_EQ(ChainSteps, (std::vector<size_t>{6}));
  EXPECT_EQ(Residuals, 1u);
  EXPECT_EQ(Kernels, 4u); // the chain, the mm with its residual, the two muls
  // --no-fuse-elementwise's option: every op a kernel of its own.
  lower::PipelineOptions NoFuse;
  NoFuse.Select.FuseElementwise = false;
  auto Q = lower::lowerModel(Mo, NoFuse);
  ASSERT_TRUE(bool(Q)) << llvm::toString(Q.takeError());
  for (const lower::PInstr &I : Q->Instrs)
    EXPECT_NE(I.Spec.Kernel, atalla::abi::KernelId::chain);
}

TEST(OpModelsTest, Torch21ExportIrOpsRunOnTheAccelerator) {
  // torch 2.1-2.5's export IR decomposes conv2d / batch_norm / layer_norm
  // into convolution, _native_batch_norm_legit_no_training and
  // native_layer_norm, the last two with statistics results nothing reads.
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({2, 3, 9, 8}, 111));
  std::string W = B.addParameter("conv.weight", randn({6, 3, 3, 3}, 112));
  std::string Cb = B.addParameter("conv.bias", randn({6}, 113));
  std::string C = B.addNode("torch.ops.aten.convolution.default",
                            {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)),
                             arg("bias", Argument::tensor(Cb)), arg("stride", Argument::ints({2, 1})),
                             arg("padding", Argument::ints({1, 1})), arg("dilation", Argument::ints({1, 1})),
                             arg("transposed", Argument::boolean(false)), arg("output_padding", Argument::ints({0, 0})),
                             arg("groups", Argument::integer(1))},
                            ScalarType::Float32, {2, 6, 5, 8});
  std::string Gm = B.addParameter("bn.weight", randn({6}, 114)), Bt = B.addParameter("bn.bias", randn({6}, 115));
  std::string Mn = B.addParameter("bn.running_mean", randn({6}, 116));
  TensorData VarData = randn({6}, 117);
  {
    std::vector<uint8_t> Bytes = VarData.contiguousBytes();
    for (size_t I = 0; I < 6; ++I) {
      float F;
      std::memcpy(&F, &Bytes[I * 4], 4);
      F = std::fabs(F) + 0.5f;
      std::memcpy(&Bytes[I * 4], &F, 4);
    }
    VarData = TensorData::fromBytes(ScalarType::Float32, {6}, Bytes);
  }
  std::string Vr = B.addParameter("bn.running_var", VarData);
  std::vector<std::string> Bn = B.addMultiNode(
      "torch.ops.aten._native_batch_norm_legit_no_training.default",
      {arg("input", Argument::tensor(C)), arg("weight", Argument::tensor(Gm)), arg("bias", Argument::tensor(Bt)),
       arg("running_mean", Argument::tensor(Mn)), arg("running_var", Argument::tensor(Vr)),
       arg("momentum", Argument::real(0.1)), arg("eps", Argument::real(1e-5))},
      {{ScalarType::Float32, {2, 6, 5, 8}}, {ScalarType::Float32, {0}}, {ScalarType::Float32, {0}}});
  std::string R = B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(Bn[0]))}, ScalarType::Float32,
                            {2, 6, 5, 8});
  // A transposed convolution back up, then a layer norm over the last dim.
  std::string Wt = B.addParameter("up.weight", randn({6, 4, 2, 2}, 118));
  std::string U = B.addNode("torch.ops.aten.convolution.default",
                            {arg("input", Argument::tensor(R)), arg("weight", Argument::tensor(Wt)),
                             arg("bias", Argument::none()), arg("stride", Argument::ints({2, 2})),
                             arg("padding", Argument::ints({0, 0})), arg("dilation", Argument::ints({1, 1})),
                             arg("transposed", Argument::boolean(true)), arg("output_padding", Argument::ints({0, 0})),
                             arg("groups", Argument::integer(1))},
                            ScalarType::Float32, {2, 4, 10, 16});
  std::vector<std::string> Ln = B.addMultiNode(
      "torch.ops.aten.native_layer_norm.default",
      {arg("input", Argument::tensor(U)), arg("normalized_shape", Argument::ints({16})), arg("weight", Argument::none()),
       arg("bias", Argument::none()), arg("eps", Argument::real(1e-5))},
      {{ScalarType::Float32, {2, 4, 10, 16}}, {ScalarType::Float32, {2, 4, 10, 1}}, {ScalarType::Float32, {2, 4, 10, 1}}});
  B.addOutput(Ln[0]);
  Model M = B.take();
  expectRunsOnTheAccelerator(M, 110, "convolution + _native_batch_norm_legit_no_training + native_layer_norm");
  M.Path = "torch21.pt2";
  auto P = lower::lowerModel(M, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  unsigned Folded = 0;
  for (const lower::NodeDecision &D : P->Decisions)
    Folded += D.K == lower::NodeDecision::Fused && D.Reason.find("folded into") != std::string::npos;
  EXPECT_EQ(Folded, 1u);
}

TEST(OpModelsTest, BatchNormLegitNoTrainingWithInputStatisticsFallsBackAndMatches) {
  // Statistics that are inputs, not constants: the fallback runs it as
  // LibTorch 1.13's native_batch_norm (training = false).
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({2, 3, 5}, 121));
  std::string Mn = B.addUserInput("mean", randn({3}, 122));
  std::string Vr = B.addUserInput("var", tools::randomTensor(ScalarType::Float32, {3}, 123));
  std::string V2 = B.addNode("torch.ops.aten.mul.Tensor", {arg("self", Argument::tensor(Vr)), arg("other", Argument::tensor(Vr))},
                             ScalarType::Float32, {3});
  std::vector<std::string> Bn = B.addMultiNode(
      "torch.ops.aten._native_batch_norm_legit_no_training.default",
      {arg("input", Argument::tensor(X)), arg("weight", Argument::none()), arg("bias", Argument::none()),
       arg("running_mean", Argument::tensor(Mn)), arg("running_var", Argument::tensor(V2)),
       arg("momentum", Argument::real(0.1)), arg("eps", Argument::real(1e-3))},
      {{ScalarType::Float32, {2, 3, 5}}, {ScalarType::Float32, {0}}, {ScalarType::Float32, {0}}});
  B.addOutput(Bn[0]);
  Model M = B.take();
  M.Path = "bn_inputs.pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, 120);
  EXPECT_TRUE(O.Passed) << O.Message;
  EXPECT_EQ(O.Fallbacks, 1u);
}

TEST(OpModelsTest, ScaledDotProductAttentionRunsOnTheAccelerator) {
  struct Case {
    std::vector<int64_t> Q, K, V;
    bool Causal = false, Mask = false;
    double Scale = 0; ///< 0: 1 / sqrt(E)
  };
  const Case Cases[] = {
      {{2, 4, 16, 8}, {2, 4, 16, 8}, {2, 4, 16, 8}},
      {{1, 3, 7, 16}, {1, 3, 33, 16}, {1, 3, 33, 5}, false, true},        // L != S, a float mask, Ev != E
      {{2, 5, 12}, {2, 5, 12}, {2, 5, 12}, true},                         // causal, rank 3
      {{1, 2, 9, 4}, {1, 2, 13, 4}, {1, 2, 13, 4}, true, false, 0.3},     // causal with L < S, a given scale
  };
  uint64_t Seed = 130;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::string Q = B.addUserInput("q", randn(C.Q, Seed)), K = B.addUserInput("k", randn(C.K, Seed + 1)),
                V = B.addUserInput("v", randn(C.V, Seed + 2));
    std::vector<NamedArgument> Args = {arg("query", Argument::tensor(Q)), arg("key", Argument::tensor(K)),
                                       arg("value", Argument::tensor(V))};
    std::vector<int64_t> S = C.Q;
    S.back() = C.K[C.K.size() - 2];
    if (C.Mask)
      Args.push_back(arg("attn_mask", Argument::tensor(B.addUserInput("mask", randn(S, Seed + 3)))));
    if (C.Causal)
      Args.push_back(arg("is_causal", Argument::boolean(true)));
    if (C.Scale)
      Args.push_back(arg("scale", Argument::real(C.Scale)));
    std::vector<int64_t> Out = C.Q;
    Out.back() = C.V.back();
    B.addOutput(B.addNode("torch.ops.aten.scaled_dot_product_attention.default", std::move(Args), ScalarType::Float32, Out));
    expectRunsOnTheAccelerator(B.take(), Seed, "attention q " + frontend::formatShape(C.Q) + " k " +
                                                   frontend::formatShape(C.K) + (C.Causal ? " causal" : "") +
                                                   (C.Mask ? " mask" : ""));
    Seed += 10;
  }
}

TEST(OpModelsTest, ActivationsMatchEager) {
  // Each op on x (standard normals with a NaN where noted), alone.
  struct Case {
    const char *Target;
    std::vector<std::pair<const char *, Argument>> Args;
  };
  const Case Cases[] = {
      {"neg.default", {}},
      {"abs.default", {}},
      {"silu.default", {}},
      {"square.default", {}},
      {"pow.Tensor_Scalar", {{"exponent", Argument::integer(2)}}},
      {"hardswish.default", {}},
      {"hardsigmoid.default", {}},
      {"pow.Tensor_Scalar", {{"exponent", Argument::integer(3)}}},
      {"pow.Tensor_Scalar", {{"exponent", Argument::real(-1.0)}}},
      {"pow.Tensor_Scalar", {{"exponent", Argument::integer(-2)}}},
      {"leaky_relu.default", {}},
      {"leaky_relu.default", {{"negative_slope", Argument::real(0.2)}}},
      {"clamp.default", {{"min", Argument::real(-0.5)}, {"max", Argument::real(0.75)}}},
      {"clamp.default", {{"min", Argument::real(0.1)}}},
      {"clamp.default", {{"min", Argument::none()}, {"max", Argument::integer(1)}}},
      {"hardtanh.default", {}},
      {"hardtanh.default", {{"min_val", Argument::real(0.0)}, {"max_val", Argument::real(6.0)}}}, // relu6
      {"erf.default", {}}, // the unary op added as a Kernels.def row (issue 20)
  };
  uint64_t Seed = 140;
  for (const Case &C : Cases) {
    ModelBuilder B;
    TensorData X = randn({5, 37}, Seed);
    std::vector<uint8_t> Bytes = X.contiguousBytes();
    const float NaN = std::nanf("");
    std::memcpy(&Bytes[4 * 7], &NaN, 4); // torch keeps NaN through every one of these
    std::string In = B.addUserInput("x", TensorData::fromBytes(ScalarType::Float32, {5, 37}, Bytes));
    std::vector<NamedArgument> Args = {arg("self", Argument::tensor(In))};
    for (const auto &[Name, A] : C.Args)
      Args.push_back(arg(Name, A));
    B.addOutput(B.addNode(std::string("torch.ops.aten.") + C.Target, std::move(Args), ScalarType::Float32, {5, 37}));
    expectRunsOnTheAccelerator(B.take(), Seed++, C.Target);
  }
  // pow(|x|, 0.5) is sqrt.
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({4, 9}, 150));
  std::string A = B.addNode("torch.ops.aten.abs.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32, {4, 9});
  B.addOutput(B.addNode("torch.ops.aten.pow.Tensor_Scalar", {arg("self", Argument::tensor(A)), arg("exponent", Argument::real(0.5))},
                        ScalarType::Float32, {4, 9}));
  expectRunsOnTheAccelerator(B.take(), 150, "pow 0.5");
}

TEST(OpModelsTest, WhereAndMaskedFillMatchEager) {
  // scores.masked_fill(mask == 0, -inf).softmax(-1) with a [1, 1, L, S]
  // mask broadcast over batch and heads; where(x > 0, x, y) with y broadcast.
  ModelBuilder B;
  std::string X = B.addUserInput("scores", randn({2, 3, 5, 7}, 161));
  std::string M = B.addUserInput("mask", randn({1, 1, 5, 7}, 162));
  std::string Keep = B.addNode("torch.ops.aten.gt.Scalar", {arg("self", Argument::tensor(M)), arg("other", Argument::real(-0.5))},
                               ScalarType::Bool, {1, 1, 5, 7});
  std::string Masked = B.addNode("torch.ops.aten.where.self",
                                 {arg("condition", Argument::tensor(Keep)), arg("self", Argument::tensor(X)),
                                  arg("other", Argument::tensor(B.addParameter("neg", randn({1}, 163))))},
                                 ScalarType::Float32, {2, 3, 5, 7});
  B.addOutput(Masked);
  std::string Small = B.addNode("torch.ops.aten.lt.Scalar", {arg("self", Argument::tensor(M)), arg("other", Argument::real(-0.5))},
                                ScalarType::Bool, {1, 1, 5, 7});
  std::string Filled = B.addNode("torch.ops.aten.masked_fill.Scalar",
                                 {arg("self", Argument::tensor(X)), arg("mask", Argument::tensor(Small)),
                                  arg("value", Argument::real(-std::numeric_limits<double>::infinity()))},
                                 ScalarType::Float32, {2, 3, 5, 7});
  B.addOutput(B.addNode("torch.ops.aten.softmax.int", {arg("self", Argument::tensor(Filled)), arg("dim", Argument::integer(-1))},
                        ScalarType::Float32, {2, 3, 5, 7}));
  expectRunsOnTheAccelerator(B.take(), 160, "where / masked_fill");
}

TEST(OpModelsTest, ConstantFillsBecomeBlobConstants) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({3, 4}, 171));
  std::string Z = B.addNode("torch.ops.aten.zeros_like.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32, {3, 4});
  std::string F = B.addNode("torch.ops.aten.full.default",
                            {arg("size", Argument::ints({3, 4})), arg("fill_value", Argument::real(2.5))}, ScalarType::Float32,
                            {3, 4});
  std::string Y = B.addNode("torch.ops.aten.maximum.default", {arg("self", Argument::tensor(X)), arg("other", Argument::tensor(Z))},
                            ScalarType::Float32, {3, 4});
  B.addOutput(B.addNode("torch.ops.aten.mul.Tensor", {arg("self", Argument::tensor(Y)), arg("other", Argument::tensor(F))},
                        ScalarType::Float32, {3, 4}));
  B.addOutput(B.addNode("torch.ops.aten.ones_like.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32, {3, 4}));
  expectRunsOnTheAccelerator(B.take(), 170, "zeros_like / full / ones_like");
}

TEST(OpModelsTest, SplitChunkUnbindAndStackMatchEager) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({4, 9, 6}, 181));
  // split_with_sizes along dim 1 into 2 + 3 + 4; chunk along -1 into 3; unbind dim 0.
  std::vector<std::string> S = B.addMultiNode(
      "torch.ops.aten.split_with_sizes.default",
      {arg("self", Argument::tensor(X)), arg("split_sizes", Argument::ints({2, 3, 4})), arg("dim", Argument::integer(1))},
      {{ScalarType::Float32, {4, 2, 6}}, {ScalarType::Float32, {4, 3, 6}}, {ScalarType::Float32, {4, 4, 6}}}, true);
  std::vector<std::string> C = B.addMultiNode(
      "torch.ops.aten.chunk.default", {arg("self", Argument::tensor(X)), arg("chunks", Argument::integer(3)), arg("dim", Argument::integer(-1))},
      {{ScalarType::Float32, {4, 9, 2}}, {ScalarType::Float32, {4, 9, 2}}, {ScalarType::Float32, {4, 9, 2}}}, true);
  std::vector<std::string> U = B.addMultiNode(
      "torch.ops.aten.unbind.int", {arg("self", Argument::tensor(X)), arg("dim", Argument::integer(0))},
      {{ScalarType::Float32, {9, 6}}, {ScalarType::Float32, {9, 6}}, {ScalarType::Float32, {9, 6}}, {ScalarType::Float32, {9, 6}}},
      true);
  B.addOutput(B.addNode("torch.ops.aten.add.Tensor", {arg("self", Argument::tensor(S[1])), arg("other", Argument::tensor(S[1]))},
                        ScalarType::Float32, {4, 3, 6}));
  B.addOutput(S[2]);
  B.addOutput(C[1]);
  Argument List;
  List.Kind = ArgKind::Tensors;
  for (const std::string &T : {U[3], U[0], U[2]})
    List.Elems.push_back(Argument::tensor(T));
  B.addOutput(B.addNode("torch.ops.aten.stack.default", {arg("tensors", List), arg("dim", Argument::integer(2))},
                        ScalarType::Float32, {9, 6, 3}));
  Argument List0 = List;
  B.addOutput(B.addNode("torch.ops.aten.stack.default", {arg("tensors", List0)}, ScalarType::Float32, {3, 9, 6}));
  expectRunsOnTheAccelerator(B.take(), 180, "split / chunk / unbind / stack");
}

TEST(OpModelsTest, ArgReductionsAndMaxDimMatchEager) {
  // A NaN in row 1 (torch: it is the max and the min there, the first one
  // wins), ties from rounding values to quarters.
  TensorData X = randn({4, 9, 6}, 191);
  std::vector<uint8_t> Bytes = X.contiguousBytes();
  for (size_t I = 0; I < Bytes.size() / 4; ++I) {
    float F;
    std::memcpy(&F, &Bytes[I * 4], 4);
    F = std::round(F * 4) / 4;
    std::memcpy(&Bytes[I * 4], &F, 4);
  }
  const float NaN = std::nanf("");
  std::memcpy(&Bytes[4 * (1 * 6 + 3)], &NaN, 4);
  X = TensorData::fromBytes(ScalarType::Float32, {4, 9, 6}, Bytes);
  ModelBuilder B;
  std::string In = B.addUserInput("x", X);
  B.addOutput(B.addNode("torch.ops.aten.argmax.default", {arg("self", Argument::tensor(In))}, ScalarType::Int64, {}));
  B.addOutput(B.addNode("torch.ops.aten.argmin.default",
                        {arg("self", Argument::tensor(In)), arg("dim", Argument::integer(-1)), arg("keepdim", Argument::boolean(true))},
                        ScalarType::Int64, {4, 9, 1}));
  std::vector<std::string> Mx = B.addMultiNode(
      "torch.ops.aten.max.dim", {arg("self", Argument::tensor(In)), arg("dim", Argument::integer(1))},
      {{ScalarType::Float32, {4, 6}}, {ScalarType::Int64, {4, 6}}});
  B.addOutput(Mx[0]);
  B.addOutput(Mx[1]);
  std::vector<std::string> Mn = B.addMultiNode(
      "torch.ops.aten.min.dim", {arg("self", Argument::tensor(In)), arg("dim", Argument::integer(0)), arg("keepdim", Argument::boolean(true))},
      {{ScalarType::Float32, {1, 9, 6}}, {ScalarType::Int64, {1, 9, 6}}});
  B.addOutput(Mn[0]);
  expectRunsOnTheAccelerator(B.take(), 190, "argmax / argmin / max.dim / min.dim");
}

TEST(OpModelsTest, EmptyStackFallsBackWithItsReason) {
  // An empty tensor list has no kernel (and no eager result either): the
  // lowering says why instead of reading a first input that is not there.
  ModelBuilder B;
  Argument Empty;
  Empty.Kind = ArgKind::Tensors;
  B.addOutput(B.addNode("torch.ops.aten.stack.default", {arg("tensors", Empty)}, ScalarType::Float32, {0}));
  Model M = B.take();
  M.Path = "empty_stack.pt2";
  auto P = lower::lowerModel(M, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  ASSERT_EQ(P->Decisions.size(), 1u);
  EXPECT_EQ(P->Decisions[0].K, lower::NodeDecision::Fallback);
  EXPECT_NE(P->Decisions[0].Reason.find("tensors is empty"), std::string::npos) << P->Decisions[0].Reason;
}

TEST(OpModelsTest, ReshapesOfNonContiguousTensorsStayOnTheDevice) {
  // An attention block's head split and merge: a view or reshape of a
  // transposed (non-contiguous) tensor. Where the strides allow (eager's
  // view rule) it is a view, no kernel; where they do not (reshape) a copy
  // kernel makes it contiguous. Nothing falls back.
  struct Case {
    const char *Op;
    std::vector<int64_t> In, Out;
    bool Copies; ///< a copy kernel is needed
    const char *What;
  };
  const Case Cases[] = {
      {"torch.ops.aten.view.default", {2, 3, 4, 6}, {2, 4, 3, 2, 3}, false, "split the contiguous last dim"},
      {"torch.ops.aten.view.default", {2, 3, 4, 6}, {2, 2, 2, 3, 6}, false, "split the transposed dim"},
      {"torch.ops.aten.reshape.default", {2, 3, 4, 6}, {2, 4, 18}, true, "head merge: [B,H,T,D] -> [B,T,H*D]"},
      {"torch.ops.aten.reshape.default", {2, 3, 4, 6}, {2, 12, 6}, true, "merge across the transpose"},
  };
  uint64_t Seed = 700;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn(C.In, Seed));
    std::vector<int64_t> T = {C.In[0], C.In[2], C.In[1], C.In[3]};
    std::string Tr = B.addNode("torch.ops.aten.transpose.int",
                               {arg("self", Argument::tensor(X)), arg("dim0", Argument::integer(1)),
                                arg("dim1", Argument::integer(2))},
                               ScalarType::Float32, T);
    const bool IsView = std::strstr(C.Op, ".view.") != nullptr;
    std::string V = B.addNode(C.Op, {arg("self", Argument::tensor(Tr)), arg(IsView ? "size" : "shape", Argument::ints(C.Out))},
                              ScalarType::Float32, C.Out);
    // A consumer, so the result is computed on the device.
    B.addOutput(B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(V))}, ScalarType::Float32,
                          C.Out));
    Model M = B.take();
    auto P = lower::lowerModel(M, {});
    ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
    unsigned Copies = 0;
    for (const lower::PInstr &I : P->Instrs)
      Copies += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::copy;
    EXPECT_EQ(Copies, C.Copies ? 1u : 0u) << C.What;
    expectRunsOnTheAccelerator(std::move(M), Seed++, C.What);
  }
}

TEST(OpModelsTest, ClampMinAndClampMaxFromCoreAtenRunOnTheAccelerator) {
  // Core-ATen decompositions write clamp(x, lo) and clamp(x, None, hi) as
  // clamp_min and clamp_max.
  uint64_t Seed = 760;
  for (auto [Op, Name, Bound] : {std::tuple<const char *, const char *, double>{"clamp_min", "min", -0.25},
                                 {"clamp_max", "max", 0.5}}) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({3, 17}, Seed));
    B.addOutput(B.addNode(std::string("torch.ops.aten.") + Op + ".default",
                          {arg("self", Argument::tensor(X)), arg(Name, Argument::real(Bound))},
                          ScalarType::Float32, {3, 17}));
    expectRunsOnTheAccelerator(B.take(), Seed++, Op);
  }
}

TEST(OpModelsTest, ArangeAndNotOfAConstantMaskBecomeBlobConstants) {
  // What a GPT-2 block exports: positions from arange (int64, into an
  // embedding), and scores.masked_fill(~causal[:, :, :T, :T], -inf) with a
  // bool buffer. arange has no tensor input and the mask is a buffer, so the
  // compiler evaluates both: no fallback. A float arange with a step and a
  // logical_not output too.
  ModelBuilder B;
  const int64_t Ctx = 16, T = 8;
  std::string Table = B.addParameter("wpe", randn({12, 4}, 181));
  std::string Scores = B.addUserInput("scores", randn({1, 2, T, T}, 182));
  std::string Y = B.addUserInput("y", randn({6}, 183));
  std::string Pos = B.addNode("torch.ops.aten.arange.start",
                              {arg("start", Argument::integer(2)), arg("end", Argument::integer(2 + T)),
                               {"dtype", Argument::scalarType(ScalarType::Int64), ArgPassing::Keyword, false}},
                              ScalarType::Int64, {T});
  B.addOutput(B.addNode("torch.ops.aten.embedding.default",
                        {arg("weight", Argument::tensor(Table)), arg("indices", Argument::tensor(Pos))},
                        ScalarType::Float32, {T, 4}));
  std::string Sliced = causalMaskSlice(B, Ctx, T);
  std::string Not = B.addNode("torch.ops.aten.bitwise_not.default", {arg("self", Argument::tensor(Sliced))},
                              ScalarType::Bool, {1, 1, T, T});
  std::string Filled = B.addNode("torch.ops.aten.masked_fill.Scalar",
                                 {arg("self", Argument::tensor(Scores)), arg("mask", Argument::tensor(Not)),
                                  arg("value", Argument::real(-std::numeric_limits<double>::infinity()))},
                                 ScalarType::Float32, {1, 2, T, T});
  B.addOutput(B.addNode("torch.ops.aten._softmax.default",
                        {arg("self", Argument::tensor(Filled)), arg("dim", Argument::integer(-1)),
                         arg("half_to_float", Argument::boolean(false))},
                        ScalarType::Float32, {1, 2, T, T}));
  std::string Steps = B.addNode("torch.ops.aten.arange.start_step",
                                {arg("start", Argument::real(-1.0)), arg("end", Argument::real(2.0)),
                                 arg("step", Argument::real(0.5))},
                                ScalarType::Float32, {6});
  B.addOutput(B.addNode("torch.ops.aten.add.Tensor", {arg("self", Argument::tensor(Y)), arg("other", Argument::tensor(Steps))},
                        ScalarType::Float32, {6}));
  B.addOutput(B.addNode("torch.ops.aten.logical_not.default", {arg("self", Argument::tensor(Sliced))}, ScalarType::Bool,
                        {1, 1, T, T}));
  expectRunsOnTheAccelerator(B.take(), 180, "arange / ~constant mask / logical_not");
}

TEST(OpModelsTest, NotOfAComputedMaskFallsBackWithItsReason) {
  // Only a constant input is evaluated by the compiler; a mask computed at
  // run time goes to the fallback, which says why.
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({3, 5}, 191));
  std::string Pos = B.addNode("torch.ops.aten.gt.Scalar", {arg("self", Argument::tensor(X)), arg("other", Argument::real(0))},
                              ScalarType::Bool, {3, 5});
  B.addOutput(B.addNode("torch.ops.aten.bitwise_not.default", {arg("self", Argument::tensor(Pos))}, ScalarType::Bool, {3, 5}));
  Model M = B.take();
  M.Path = "computed_not.pt2";
  auto P = lower::lowerModel(M, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  ASSERT_EQ(P->Decisions.size(), 2u);
  EXPECT_EQ(P->Decisions[1].K, lower::NodeDecision::Fallback);
  EXPECT_NE(P->Decisions[1].Reason.find("its input is not a constant"), std::string::npos) << P->Decisions[1].Reason;
  tools::FuzzOutcome O = tools::checkProgram(M, 190);
  EXPECT_TRUE(O.Passed) << O.Message;
  EXPECT_EQ(O.Fallbacks, 1u);
}

TEST(OpModelsTest, NotOfALargeMaskFoldsUpToItsSourcesSize) {
  // A long context's causal mask: ~mask[:, :, :T, :T] of a 1100 x 1100 bool
  // buffer (1.2 MB) folds although it is over 1 MiB: the blob holds its
  // source anyway. (Lowering only: the values are checked by the test
  // above at a small size.)
  ModelBuilder B;
  const int64_t Ctx = 1100, T = 1050;
  std::string Sliced = causalMaskSlice(B, Ctx, T);
  B.addOutput(B.addNode("torch.ops.aten.bitwise_not.default", {arg("self", Argument::tensor(Sliced))},
                        ScalarType::Bool, {1, 1, T, T}));
  Model M = B.take();
  M.Path = "long_mask.pt2";
  auto P = lower::lowerModel(M, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  for (const lower::NodeDecision &D : P->Decisions)
    EXPECT_NE(D.K, lower::NodeDecision::Fallback) << D.Node << ": " << D.Reason;
}

TEST(OpModelsTest, SoftmaxRowsLongerThanTheScratchpadRunInChunks) {
  // A 256 Ki vocabulary's logits: rows of 262147 floats (1 MiB, more than a
  // pad) along the last dim run on the device, walked from DRAM in chunks,
  // softmax and log_softmax, and match eager; the same length along a dim
  // that is not the last (rows not contiguous) falls back and says why.
  const int64_t V = 262147;
  {
    ModelBuilder B;
    std::string X = B.addUserInput("x", randn({2, V}, 200));
    B.addOutput(B.addNode("torch.ops.aten._softmax.default",
                          {arg("self", Argument::tensor(X)), arg("dim", Argument::integer(-1)),
                           arg("half_to_float", Argument::boolean(false))},
                          ScalarType::Float32, {2, V}));
    B.addOutput(B.addNode("torch.ops.aten._log_softmax.default",
                          {arg("self", Argument::tensor(X)), arg("dim", Argument::integer(1)),
                           arg("half_to_float", Argument::boolean(false))},
                          ScalarType::Float32, {2, V}));
    expectRunsOnTheAccelerator(B.take(), 200, "softmax over 262147 logits");
  }
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({V, 2}, 201));
  B.addOutput(B.addNode("torch.ops.aten._softmax.default",
                        {arg("self", Argument::tensor(X)), arg("dim", Argument::integer(0)),
                         arg("half_to_float", Argument::boolean(false))},
                        ScalarType::Float32, {V, 2}));
  Model M = B.take();
  M.Path = "long_column_softmax.pt2";
  auto P = lower::lowerModel(M, lower::PipelineOptions());
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  ASSERT_EQ(P->Decisions.size(), 1u);
  EXPECT_EQ(P->Decisions[0].K, lower::NodeDecision::Fallback);
  EXPECT_NE(P->Decisions[0].Reason.find("is not a contiguous last dim"), std::string::npos) << P->Decisions[0].Reason;
}

TEST(OpModelsTest, LongAttentionKeepsItsScoresInTheScratchpad) {
  // Where the scores would take more than 16 MiB of DRAM (2 heads x 2048 x
  // 2048 floats: 32 MiB), scaled_dot_product_attention is one attention
  // kernel (flash-attention style: no scores, logits or probabilities in
  // DRAM), causal or with a float mask broadcast over the heads; short
  // sequences stay GEMMs around a softmax. Each matches eager.
  struct Case {
    std::vector<int64_t> Q, K;
    bool Causal, Mask;
    bool Flash;
  };
  const Case Cases[] = {
      {{1, 2, 2048, 32}, {1, 2, 2048, 32}, true, false, true},
      {{2, 256, 16}, {2, 8200, 16}, false, true, true},
      {{1, 2, 64, 16}, {1, 2, 64, 16}, true, false, false},
  };
  uint64_t Seed = 210;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::string Q = B.addUserInput("q", randn(C.Q, Seed)), K = B.addUserInput("k", randn(C.K, Seed + 1)),
                V = B.addUserInput("v", randn(C.K, Seed + 2));
    std::vector<NamedArgument> Args = {arg("query", Argument::tensor(Q)), arg("key", Argument::tensor(K)),
                                       arg("value", Argument::tensor(V))};
    if (C.Mask) // [L, S], broadcast over the batch
      Args.push_back(arg("attn_mask", Argument::tensor(B.addUserInput(
                                          "mask", randn({C.Q[C.Q.size() - 2], C.K[C.K.size() - 2]}, Seed + 3)))));
    if (C.Causal)
      Args.push_back(arg("is_causal", Argument::boolean(true)));
    B.addOutput(B.addNode("torch.ops.aten.scaled_dot_product_attention.default", std::move(Args), ScalarType::Float32,
                          C.Q));
    Model M = B.take();
    const std::string What = "attention q " + frontend::formatShape(C.Q) + " k " + frontend::formatShape(C.K);
    {
      ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
      unsigned Flash = 0, Kernels = 0;
      for (const lower::PInstr &I : P.Instrs) {
        Kernels += I.Op == atalla::abi::Opcode::Kernel;
        Flash += I.Op == atalla::abi::Opcode::Kernel && I.Spec.Kernel == atalla::abi::KernelId::attention;
      }
      EXPECT_EQ(Flash, C.Flash ? 1u : 0u) << What;
      if (C.Flash) {
        EXPECT_EQ(Kernels, 1u) << What;
      }
    }
    expectRunsOnTheAccelerator(std::move(M), Seed, What);
    Seed += 10;
  }
}

TEST(OpModelsTest, TorchCpuFlashAttentionOpRunsOnTheDeviceUnlessItsLogSumExpIsRead) {
  // torch >= 2.2's export records scaled_dot_product_attention on CPU as
  // _scaled_dot_product_flash_attention_for_cpu -> (output, logsumexp).
  // Where nothing reads the logsumexp, the output runs on the device (GEMMs
  // around a softmax, or the attention kernel for long sequences); where
  // something does, the node falls back (LibTorch 1.13 lacks the op: the
  // fallback computes both as torch's math reference does) and still
  // matches eager.
  struct Case {
    std::vector<int64_t> Q, K;
    bool Causal, LseRead;
  };
  const Case Cases[] = {
      {{1, 2, 9, 16}, {1, 2, 13, 16}, false, false},
      {{1, 2, 2048, 32}, {1, 2, 2048, 32}, true, false},
      {{1, 2, 9, 16}, {1, 2, 9, 16}, true, true},
  };
  uint64_t Seed = 240;
  for (const Case &C : Cases) {
    ModelBuilder B;
    std::string Q = B.addUserInput("q", randn(C.Q, Seed)), K = B.addUserInput("k", randn(C.K, Seed + 1)),
                V = B.addUserInput("v", randn(C.K, Seed + 2));
    std::vector<int64_t> Lse(C.Q.begin(), C.Q.end() - 1);
    std::vector<std::string> R = B.addMultiNode(
        "torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default",
        {arg("query", Argument::tensor(Q)), arg("key", Argument::tensor(K)), arg("value", Argument::tensor(V)),
         arg("dropout_p", Argument::real(0.0)), arg("is_causal", Argument::boolean(C.Causal))},
        {{ScalarType::Float32, C.Q}, {ScalarType::Float32, Lse}});
    B.addOutput(R[0]);
    if (C.LseRead)
      B.addOutput(R[1]);
    Model M = B.take();
    const std::string What = "flash_attention_for_cpu q " + frontend::formatShape(C.Q) + (C.LseRead ? ", lse read" : "");
    if (!C.LseRead) {
      expectRunsOnTheAccelerator(std::move(M), Seed, What);
    } else {
      M.Path = "flash_for_cpu_lse.pt2";
      auto P = lower::lowerModel(M, lower::PipelineOptions());
      ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
      ASSERT_EQ(P->Decisions.size(), 1u);
      EXPECT_NE(P->Decisions[0].Reason.find("its logsumexp is read"), std::string::npos) << P->Decisions[0].Reason;
      tools::FuzzOutcome O = tools::checkProgram(M, Seed);
      EXPECT_TRUE(O.Passed) << What << ": " << O.Message;
      EXPECT_EQ(O.Fallbacks, 1u) << What;
    }
    Seed += 10;
  }
}

namespace {

/// Attention written out as a GPT-2 or BERT block traces it: bmm of the
/// expanded and flattened q and k^T, the scores viewed back to heads, a
/// scale (div or mul), a mask (masked_fill of -inf with \p BoolMask, or,
/// with \p Where, transformers' GPT-2 form where(BoolMask, s, finfo.min) with
/// \p BoolMask what is kept; or add of \p FloatMask), softmax, then bmm with
/// v and the view back. Returns the output's name.
std::string handWrittenAttention(ModelBuilder &B, const std::string &Q, const std::string &K, const std::string &V,
                                 std::vector<int64_t> QS, int64_t S, bool Div, const std::string &BoolMask,
                                 const std::string &FloatMask, bool Where = false) {
  const int64_t Bt = QS[0], H = QS[1], L = QS[2], E = QS[3], BH = Bt * H;
  auto node = [&](const char *Op, std::vector<NamedArgument> Args, std::vector<int64_t> Out) {
    return B.addNode(std::string("torch.ops.aten.") + Op, std::move(Args), ScalarType::Float32, std::move(Out));
  };
  auto reshape = [&](const char *Op, const std::string &X, std::vector<int64_t> Out) {
    return node(Op, {arg("self", Argument::tensor(X)), arg("size", Argument::ints(Out))}, Out);
  };
  std::string Kt = node("transpose.int",
                        {arg("self", Argument::tensor(K)), arg("dim0", Argument::integer(-2)),
                         arg("dim1", Argument::integer(-1))},
                        {Bt, H, E, S});
  std::string Qv = reshape("view.default", reshape("expand.default", Q, {Bt, H, L, E}), {BH, L, E});
  std::string Kv = reshape("view.default", reshape("expand.default", Kt, {Bt, H, E, S}), {BH, E, S});
  std::string S3 = node("bmm.default", {arg("self", Argument::tensor(Qv)), arg("mat2", Argument::tensor(Kv))},
                        {BH, L, S});
  std::string S4 = reshape("_unsafe_view.default", S3, {Bt, H, L, S});
  std::string Scaled =
      Div ? node("div.Tensor", {arg("self", Argument::tensor(S4)), arg("other", Argument::real(std::sqrt(double(E))))},
                 {Bt, H, L, S})
          : node("mul.Tensor", {arg("self", Argument::tensor(S4)), arg("other", Argument::real(0.25))}, {Bt, H, L, S});
  std::string Masked =
      Where ? node("where.self",
                   {arg("condition", Argument::tensor(BoolMask)), arg("self", Argument::tensor(Scaled)),
                    arg("other", Argument::tensor(B.addNode("torch.ops.aten.full.default",
                                                            {arg("size", Argument::ints({})),
                                                             arg("fill_value", Argument::real(-3.4028234663852886e38))},
                                                            ScalarType::Float32, {})))},
                   {Bt, H, L, S})
      : !BoolMask.empty()
          ? node("masked_fill.Scalar",
                 {arg("self", Argument::tensor(Scaled)), arg("mask", Argument::tensor(BoolMask)),
                  arg("value", Argument::real(-std::numeric_limits<double>::infinity()))},
                 {Bt, H, L, S})
          : node("add.Tensor", {arg("self", Argument::tensor(Scaled)), arg("other", Argument::tensor(FloatMask))},
                 {Bt, H, L, S});
  std::string Probs = node("_softmax.default",
                           {arg("self", Argument::tensor(Masked)), arg("dim", Argument::integer(-1)),
                            arg("half_to_float", Argument::boolean(false))},
                           {Bt, H, L, S});
  std::string Pv = reshape("view.default", reshape("expand.default", Probs, {Bt, H, L, S}), {BH, L, S});
  const int64_t Ev = QS[3];
  std::string Vv = reshape("view.default", reshape("expand.default", V, {Bt, H, S, Ev}), {BH, S, Ev});
  std::string O3 = node("bmm.default", {arg("self", Argument::tensor(Pv)), arg("mat2", Argument::tensor(Vv))},
                        {BH, L, Ev});
  return reshape("_unsafe_view.default", O3, {Bt, H, L, Ev});
}

} // namespace

TEST(OpModelsTest, HandWrittenLongAttentionBecomesTheAttentionKernel) {
  // Attention written out as ops (torch 1.13's trace of a GPT-2 block, with
  // its ~causal[:, :, :T, :T] buffer; transformers' GPT-2, where(causal, s,
  // finfo.min); a BERT block's float padding mask; a
  // constant bool mask that is not causal, L != S) is one attention kernel
  // where its scores would take more than 16 MiB of DRAM: no scores in
  // DRAM, and every node between the matmuls fused. Short ones, and a long
  // one whose mask is computed at run time (the kernel takes a constant or
  // float mask), stay GEMMs around a softmax. Each matches eager.
  struct Case {
    std::vector<int64_t> Q;
    int64_t S;
    enum { Causal, Padding, Random, Runtime, HfCausal } Mask;
    bool Flash;
  };
  const Case Cases[] = {
      {{1, 2, 2048, 32}, 2048, Case::Causal, true},
      {{2, 4, 1024, 16}, 1024, Case::Padding, true},
      {{1, 2, 512, 16}, 4200, Case::Random, true},
      {{1, 2, 64, 16}, 64, Case::Causal, false},
      {{1, 2, 512, 16}, 4200, Case::Runtime, false},
      {{1, 2, 2048, 32}, 2048, Case::HfCausal, true},
  };
  uint64_t Seed = 260;
  for (const Case &C : Cases) {
    ModelBuilder B;
    const int64_t Bt = C.Q[0], H = C.Q[1], L = C.Q[2], E = C.Q[3];
    std::string Q = B.addUserInput("q", randn(C.Q, Seed)), K = B.addUserInput("k", randn({Bt, H, C.S, E}, Seed + 1)),
                V = B.addUserInput("v", randn({Bt, H, C.S, E}, Seed + 2));
    std::string BoolMask, FloatMask;
    if (C.Mask == Case::HfCausal) { // what is kept: the causal buffer itself
      BoolMask = causalMaskSlice(B, C.S + 8, C.S);
    } else if (C.Mask == Case::Causal) {
      BoolMask = B.addNode("torch.ops.aten.bitwise_not.default",
                           {arg("self", Argument::tensor(causalMaskSlice(B, C.S + 8, C.S)))}, ScalarType::Bool,
                           {1, 1, L, C.S});
    } else if (C.Mask == Case::Padding) { // [B, 1, 1, S]: 0, or -10000 for the padding keys
      std::vector<float> Pad(size_t(Bt * C.S), 0.0f);
      for (int64_t I = 0; I < Bt; ++I)
        for (int64_t J = C.S - 100 * (I + 1); J < C.S; ++J)
          Pad[size_t(I * C.S + J)] = -10000.0f;
      std::vector<uint8_t> Bytes(Pad.size() * 4);
      std::memcpy(Bytes.data(), Pad.data(), Bytes.size());
      FloatMask = B.addUserInput("mask", TensorData::fromBytes(ScalarType::Float32, {Bt, 1, 1, C.S}, Bytes));
    } else { // a third of the keys masked at random (never a whole row), a buffer or an input
      std::vector<uint8_t> Bits(size_t(L * C.S));
      uint64_t X = Seed;
      for (size_t I = 0; I < Bits.size(); ++I) {
        X = X * 6364136223846793005ull + 1442695040888963407ull;
        Bits[I] = (X >> 33) % 3 == 0 && I % size_t(C.S) != 0;
      }
      TensorData D = TensorData::fromBytes(ScalarType::Bool, {1, 1, L, C.S}, Bits);
      BoolMask = C.Mask == Case::Random ? B.addBuffer("mask", std::move(D)) : B.addUserInput("mask", std::move(D));
    }
    B.addOutput(handWrittenAttention(B, Q, K, V, C.Q, C.S, /*Div=*/C.Mask != Case::Padding, BoolMask, FloatMask,
                                     /*Where=*/C.Mask == Case::HfCausal));
    Model M = B.take();
    const std::string What = "hand-written attention q " + frontend::formatShape(C.Q) + " S " + std::to_string(C.S);
    {
      ASSERT_EXPECTED(P, lower::lowerModel(M, {}));
      unsigned Flash = 0, Gemms = 0;
      int64_t Causal = -1;
      for (const lower::PInstr &I : P.Instrs) {
        if (I.Op != atalla::abi::Opcode::Kernel)
          continue;
        Gemms += I.Spec.Kernel == atalla::abi::KernelId::gemm;
        if (I.Spec.Kernel == atalla::abi::KernelId::attention) {
          ++Flash;
          Causal = I.Spec.Params.at(0);
        }
      }
      EXPECT_EQ(Flash, C.Flash ? 1u : 0u) << What;
      EXPECT_EQ(Gemms, C.Flash ? 0u : 2u) << What;
      if (C.Flash) {
        EXPECT_EQ(Causal, C.Mask == Case::Causal || C.Mask == Case::HfCausal ? 1 : 0) << What;
      }
      for (const lower::NodeDecision &D : P.Decisions)
        EXPECT_NE(D.K, lower::NodeDecision::Fallback) << What << ": " << D.Node << ": " << D.Reason;
    }
    expectRunsOnTheAccelerator(std::move(M), Seed, What);
    Seed += 10;
  }
}
