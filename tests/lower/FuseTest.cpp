//===- tests/lower/FuseTest.cpp - the fusion passes' marks ----------------===//
//
// The fuse-batch-norm, fuse-residuals, fuse-epilogues, fuse-elementwise and
// fuse-channel-gates passes look at
// the graph alone and mark what may be fused (FusionMarks); these tests
// build small graphs, run the passes and check the marks, then lower the
// whole model and check that selection fused exactly what was marked and
// could be. To add a case: build a graph with ModelBuilder, run passes(),
// and state which marks the graph allows.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelBuilder.h"
#include "lower/Passes.h"
#include "lower/Pipeline.h"
#include "TestSupport.h"

#include <cstring>

using namespace atalla;
using namespace atalla::lower;
using frontend::Argument;
using frontend::Model;
using frontend::ModelBuilder;
using frontend::NamedArgument;
using frontend::ScalarType;
using frontend::TensorData;

namespace {

NamedArgument arg(const std::string &Name, Argument A) { return ModelBuilder::arg(Name, std::move(A)); }
Argument T(const std::string &Name) { return Argument::tensor(Name); }

TensorData filled(const std::vector<int64_t> &Sizes, float V) {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  std::vector<uint8_t> B(size_t(N) * 4);
  for (int64_t I = 0; I < N; ++I)
    std::memcpy(&B[size_t(I) * 4], &V, 4);
  return TensorData::fromBytes(ScalarType::Float32, Sizes, B);
}

/// canonicalize, specialize-shapes and the fusion passes that mark values.
LoweringState passes(const Model &M, bool FuseElementwise = true) {
  LoweringState S;
  S.M = &M;
  S.Nodes = M.G.Nodes;
  EXPECT_FALSE(bool(canonicalize(S)));
  EXPECT_FALSE(bool(specializeShapes(S, {})));
  EXPECT_FALSE(bool(markBatchNormFolding(S)));
  EXPECT_FALSE(bool(markResiduals(S)));
  EXPECT_FALSE(bool(markEpilogues(S)));
  EXPECT_FALSE(bool(markElementwiseChains(S, {FuseElementwise})));
  EXPECT_FALSE(bool(markChannelGates(S)));
  return S;
}

/// conv2d -> batch_norm -> relu, optionally with the convolution's result
/// also a graph output.
Model convBnRelu(bool ConvIsOutput) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", filled({1, 2, 6, 6}, 0.5f));
  std::string W = B.addParameter("conv.weight", filled({4, 2, 3, 3}, 0.1f));
  std::string C = B.addNode("torch.ops.aten.conv2d.default",
                            {arg("input", T(X)), arg("weight", T(W)), arg("bias", Argument::none()),
                             arg("stride", Argument::ints({1, 1})), arg("padding", Argument::ints({1, 1})),
                             arg("dilation", Argument::ints({1, 1})), arg("groups", Argument::integer(1))},
                            ScalarType::Float32, {1, 4, 6, 6});
  std::string G = B.addParameter("bn.weight", filled({4}, 1.5f)), Bt = B.addParameter("bn.bias", filled({4}, 0.1f));
  std::string Mn = B.addParameter("bn.running_mean", filled({4}, 0.2f));
  std::string Vr = B.addParameter("bn.running_var", filled({4}, 2.0f));
  std::vector<std::string> Bn = B.addMultiNode(
      "torch.ops.aten._native_batch_norm_legit_no_training.default",
      {arg("input", T(C)), arg("weight", T(G)), arg("bias", T(Bt)), arg("running_mean", T(Mn)),
       arg("running_var", T(Vr)), arg("momentum", Argument::real(0.1)), arg("eps", Argument::real(1e-5))},
      {{ScalarType::Float32, {1, 4, 6, 6}}, {ScalarType::Float32, {0}}, {ScalarType::Float32, {0}}});
  std::string R = B.addNode("torch.ops.aten.relu.default", {arg("self", T(Bn[0]))}, ScalarType::Float32, {1, 4, 6, 6});
  B.addOutput(R);
  if (ConvIsOutput)
    B.addOutput(C);
  return B.take();
}

} // namespace

TEST(FuseTest, ConvolutionBatchNormReluIsMarkedForFoldingAndEpilogue) {
  Model M = convBnRelu(false);
  LoweringState S = passes(M);
  ASSERT_EQ(S.Fusion.BatchNormInto.size(), 1u);
  EXPECT_EQ(S.Fusion.BatchNormInto.begin()->first, "conv2d");
  EXPECT_EQ(S.Fusion.BatchNormInto.begin()->second, "_native_batch_norm_legit_no_training");
  ASSERT_EQ(S.Fusion.Epilogue.count("_native_batch_norm_legit_no_training"), 1u);
  EXPECT_EQ(S.Fusion.Epilogue.at("_native_batch_norm_legit_no_training"), "relu");
  // Selection used both marks: one GEMM, the batch norm and relu fused.
  ASSERT_EXPECTED(P, lowerModel(M, {}));
  unsigned Fused = 0;
  for (const NodeDecision &D : P.Decisions)
    Fused += D.K == NodeDecision::Fused;
  EXPECT_EQ(Fused, 2u);
}

TEST(FuseTest, AValueThatIsAlsoAnOutputIsNotFused) {
  Model M = convBnRelu(true);
  LoweringState S = passes(M);
  EXPECT_TRUE(S.Fusion.BatchNormInto.empty()); // the convolution's own value must exist
  EXPECT_EQ(S.Fusion.Epilogue.size(), 1u);     // the batch norm's result still feeds relu alone
}

TEST(FuseTest, ElementwiseChainsFollowSingleReadersAndCanBeTurnedOff) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", filled({4, 8}, 0.5f)), Y = B.addUserInput("y", filled({4, 8}, 2.0f));
  std::string A = B.addNode("torch.ops.aten.add.Tensor", {arg("self", T(X)), arg("other", T(Y))}, ScalarType::Float32,
                            {4, 8});
  std::string Mu = B.addNode("torch.ops.aten.mul.Tensor", {arg("self", T(A)), arg("other", T(Y))},
                             ScalarType::Float32, {4, 8});
  std::string E = B.addNode("torch.ops.aten.exp.default", {arg("self", T(Mu))}, ScalarType::Float32, {4, 8});
  // softmax reads exp's result: no chain step.
  std::string Sm = B.addNode("torch.ops.aten.softmax.int",
                             {arg("self", T(E)), arg("dim", Argument::integer(-1)),
                              arg("half_to_float", Argument::boolean(false))},
                             ScalarType::Float32, {4, 8});
  B.addOutput(Sm);
  Model M = B.take();
  LoweringState S = passes(M);
  EXPECT_EQ(S.Fusion.ChainNext.size(), 2u);
  EXPECT_EQ(S.Fusion.ChainNext.at(A), Mu);
  EXPECT_EQ(S.Fusion.ChainNext.at(Mu), E);
  EXPECT_TRUE(passes(M, /*FuseElementwise=*/false).Fusion.ChainNext.empty());
  EXPECT_TRUE(S.Fusion.Epilogue.empty());
}

TEST(FuseTest, GemmEpiloguesNeedTheActivationToBeTheOnlyReader) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", filled({4, 8}, 0.5f));
  std::string W = B.addParameter("w", filled({8, 8}, 0.1f));
  std::string Mm = B.addNode("torch.ops.aten.mm.default", {arg("self", T(X)), arg("mat2", T(W))},
                             ScalarType::Float32, {4, 8});
  std::string R = B.addNode("torch.ops.aten.relu.default", {arg("self", T(Mm))}, ScalarType::Float32, {4, 8});
  std::string Mm2 = B.addNode("torch.ops.aten.mm.default", {arg("self", T(R)), arg("mat2", T(W))},
                              ScalarType::Float32, {4, 8});
  std::string G = B.addNode("torch.ops.aten.gelu.default",
                            {arg("self", T(Mm2)), arg("approximate", Argument::string("tanh"))}, ScalarType::Float32,
                            {4, 8});
  std::string Sum = B.addNode("torch.ops.aten.add.Tensor", {arg("self", T(G)), arg("other", T(Mm2))},
                              ScalarType::Float32, {4, 8});
  B.addOutput(Sum);
  Model M = B.take();
  LoweringState S = passes(M);
  EXPECT_EQ(S.Fusion.Epilogue.size(), 1u);
  EXPECT_EQ(S.Fusion.Epilogue.at(Mm), R); // mm_1 is read by gelu and add: no epilogue
}

TEST(FuseTest, AResidualAddGoesToTheLaterGemmWhoseOtherOperandExists) {
  // a = x @ w; b = relu(x) @ w; c = a + b, then relu: c goes into b's GEMM
  // (the later one; a exists by then), and the relu after c becomes its
  // epilogue. d = a2 + y2 where y2 is computed after a2's GEMM by a
  // non-GEMM op: no mark. e = m + m2 where m is also read elsewhere: only
  // m2 may take it.
  ModelBuilder B;
  std::string X = B.addUserInput("x", filled({4, 8}, 0.5f));
  std::string W = B.addParameter("w", filled({8, 8}, 0.1f));
  auto mm = [&](const std::string &L) {
    return B.addNode("torch.ops.aten.mm.default", {arg("self", T(L)), arg("mat2", T(W))}, ScalarType::Float32, {4, 8});
  };
  auto op = [&](const char *Op, std::vector<NamedArgument> Args) {
    return B.addNode(std::string("torch.ops.aten.") + Op, std::move(Args), ScalarType::Float32, {4, 8});
  };
  std::string A = mm(X);
  std::string Bm = mm(op("relu.default", {arg("self", T(X))}));
  std::string C = op("add.Tensor", {arg("self", T(A)), arg("other", T(Bm))});
  std::string Cr = op("relu.default", {arg("self", T(C))});
  std::string A2 = mm(Cr);
  std::string Y2 = op("sigmoid.default", {arg("self", T(X))});
  std::string D = op("add.Tensor", {arg("self", T(A2)), arg("other", T(Y2))});
  std::string Mv = mm(D), M2 = mm(X);
  std::string E = op("add.Tensor", {arg("self", T(Mv)), arg("other", T(M2))});
  B.addOutput(E);
  B.addOutput(op("mul.Tensor", {arg("self", T(Mv)), arg("other", Argument::real(2.0))}));
  Model M = B.take();
  LoweringState S = passes(M);
  ASSERT_EQ(S.Fusion.Residual.size(), 2u);
  EXPECT_EQ(S.Fusion.Residual.at(Bm), C);
  EXPECT_EQ(S.Fusion.Residual.at(M2), E);
  EXPECT_EQ(S.Fusion.Residual.count(A2), 0u);
  EXPECT_EQ(S.Fusion.Epilogue.at(C), Cr);
  // Selection fuses both: no add kernel, and each GEMM that took one has it.
  auto P = lowerModel(M, {});
  ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
  unsigned Residuals = 0, Adds = 0;
  for (const PInstr &I : P->Instrs) {
    Residuals += I.Spec.HasResidual;
    Adds += I.Spec.Kernel == atalla::abi::KernelId::add || I.Spec.Kernel == atalla::abi::KernelId::chain;
  }
  EXPECT_EQ(Residuals, 2u);
  EXPECT_EQ(Adds, 1u); // d (with the sigmoid before it, a chain)
}

TEST(FuseTest, AChannelGateIsMarkedForTheConvolutionThatAloneReadsItsProduct) {
  // x [2, 4, 5, 5] times g [2, 4, 1, 1] into a 1x1 convolution: marked. Not
  // marked: a gate broadcast over the batch ([1, 4, 1, 1] with 2 images,
  // which no squeeze-and-excitation makes: its gate is per image), a
  // product that is also a graph output, and a product an elementwise op
  // reads.
  auto model = [](std::vector<int64_t> GateShape, bool ProductIsOutput, bool ReluAfter) {
    ModelBuilder B;
    std::string X = B.addUserInput("x", filled({2, 4, 5, 5}, 0.5f));
    std::string G = B.addUserInput("g", filled(GateShape, 0.25f));
    std::string W = B.addParameter("proj.weight", filled({3, 4, 1, 1}, 0.1f));
    std::string Y = B.addNode("torch.ops.aten.mul.Tensor", {arg("self", T(X)), arg("other", T(G))},
                              ScalarType::Float32, {2, 4, 5, 5});
    std::string In = ReluAfter ? B.addNode("torch.ops.aten.relu.default", {arg("self", T(Y))}, ScalarType::Float32,
                                           {2, 4, 5, 5})
                               : Y;
    B.addOutput(B.addNode("torch.ops.aten.conv2d.default",
                          {arg("input", T(In)), arg("weight", T(W)), arg("bias", Argument::none()),
                           arg("stride", Argument::ints({1, 1})), arg("padding", Argument::ints({0, 0})),
                           arg("dilation", Argument::ints({1, 1})), arg("groups", Argument::integer(1))},
                          ScalarType::Float32, {2, 3, 5, 5}));
    if (ProductIsOutput)
      B.addOutput(Y);
    return B.take();
  };
  {
    Model M = model({2, 4, 1, 1}, false, false);
    LoweringState S = passes(M);
    ASSERT_EQ(S.Fusion.Gate.size(), 1u);
    EXPECT_EQ(S.Fusion.Gate.begin()->first, "mul");
    EXPECT_EQ(S.Fusion.Gate.begin()->second, "conv2d");
  }
  for (auto [Shape, Out, Relu] : {std::tuple{std::vector<int64_t>{1, 4, 1, 1}, false, false},
                                  std::tuple{std::vector<int64_t>{2, 4, 1, 1}, true, false},
                                  std::tuple{std::vector<int64_t>{2, 4, 1, 1}, false, true}}) {
    Model M = model(Shape, Out, Relu);
    LoweringState S = passes(M);
    EXPECT_TRUE(S.Fusion.Gate.empty()) << Shape[0] << " " << Out << " " << Relu;
  }
}
