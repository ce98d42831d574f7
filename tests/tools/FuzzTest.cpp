//===- tests/tools/FuzzTest.cpp - the fuzzer and its findings -------------===//
//
// Every bug atalla-fuzz found stays fixed: its minimised program is rebuilt
// here (with ModelBuilder, so the case reads as the program it is) and
// checked the way the fuzzer checks (write .pt2, read back, compile, run on
// the device, compare with eager). To add a case: shrink the failure with
// atalla-fuzz, then write its few nodes below.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelBuilder.h"
#include "frontend/SchemaReader.h"
#include "lower/Pipeline.h"
#include "tools/Fuzz.h"
#include "tools/ToolSupport.h"
#include "ModelTestSupport.h"

#include <algorithm>
#include <set>
#include "TestSupport.h"

using namespace atalla;
using namespace atalla::frontend;

using test::arg;
using test::randn;

TEST(FuzzTest, GeneratorIsAFunctionOfTheSeed) {
  tools::FuzzLimits L;
  for (uint64_t Seed : {1, 2, 77}) {
    Model A = tools::generateProgram(Seed, L), B = tools::generateProgram(Seed, L);
    tools::FuzzOutcome RA = tools::checkProgram(A, Seed), RB = tools::checkProgram(B, Seed);
    EXPECT_EQ(RA.Archive, RB.Archive) << "seed " << Seed;
    EXPECT_TRUE(RA.Passed) << RA.Message;
  }
}

TEST(FuzzTest, ShrinkingKeepsAPrefixOfTheSameProgram) {
  tools::FuzzLimits L;
  Model Full = tools::generateProgram(5, L);
  L.StopAfter = 2;
  Model Prefix = tools::generateProgram(5, L);
  ASSERT_LE(Prefix.G.Nodes.size(), 2u);
  for (size_t I = 0; I < Prefix.G.Nodes.size(); ++I)
    EXPECT_EQ(Prefix.G.Nodes[I].Target, Full.G.Nodes[I].Target);
}

// The generator's unary ops come from Kernels.def's Fuzz column: every
// FuzzAny kernel's op (erf among them) is drawn.
TEST(FuzzTest, DrawsEveryFuzzAnyKernelOfTheTable) {
  const std::vector<std::string> &Targets = tools::fuzzUnaryTargets();
  ASSERT_FALSE(Targets.empty());
  EXPECT_NE(std::find(Targets.begin(), Targets.end(), "torch.ops.aten.erf.default"), Targets.end());
  std::set<std::string> Drawn;
  tools::FuzzLimits L;
  for (uint64_t Seed = 1; Seed <= 400 && Drawn.size() < Targets.size(); ++Seed) {
    Model M = tools::generateProgram(Seed, L);
    for (const Node &N : M.G.Nodes)
      if (std::find(Targets.begin(), Targets.end(), N.Target) != Targets.end())
        Drawn.insert(N.Target);
  }
  for (const std::string &T : Targets)
    EXPECT_TRUE(Drawn.count(T)) << T << " never drawn in 400 programs";
}

// The generator's convolution blocks reach every kernel and fusion the
// zoo's CNNs use: conv2d, dwconv2d, the 1x1 convolution's GEMM, a folded
// batch norm, a residual add, a max pool, and a squeeze-and-excitation
// gate taken as a column scale (kscale).
TEST(FuzzTest, ConvolutionBlocksReachTheConvolutionKernelsAndFusions) {
  tools::FuzzLimits L;
  unsigned Conv2d = 0, Depthwise = 0, Gemm1x1 = 0, Scaled = 0, Pools = 0, Folded = 0, Residual = 0;
  for (uint64_t Seed = 1; Seed <= 300; ++Seed) {
    Model M = tools::generateProgram(Seed, L);
    bool HasConv = false;
    for (const Node &N : M.G.Nodes)
      HasConv |= N.Target == "torch.ops.aten.conv2d.default" || N.Target == "torch.ops.aten.convolution.default";
    if (!HasConv)
      continue;
    auto P = lower::lowerModel(M, {});
    ASSERT_TRUE(bool(P)) << "seed " << Seed << ": " << llvm::toString(P.takeError());
    for (const lower::PInstr &I : P->Instrs) {
      if (I.Op != atalla::abi::Opcode::Kernel)
        continue;
      Conv2d += I.Spec.Kernel == atalla::abi::KernelId::conv2d;
      Depthwise += I.Spec.Kernel == atalla::abi::KernelId::dwconv2d;
      Gemm1x1 += I.Spec.Kernel == atalla::abi::KernelId::gemm && I.Spec.Operands[1].Sizes.size() == 4;
      Scaled += I.Spec.HasScale;
      Pools += I.Spec.Kernel == atalla::abi::KernelId::max_pool2d;
      Residual += I.Spec.HasResidual;
    }
    for (const lower::NodeDecision &D : P->Decisions)
      Folded += D.K == lower::NodeDecision::Fused && D.Reason.find("folded into") != std::string::npos;
  }
  EXPECT_GT(Conv2d, 0u);
  EXPECT_GT(Depthwise, 0u);
  EXPECT_GT(Gemm1x1, 0u);
  EXPECT_GT(Scaled, 0u);
  EXPECT_GT(Pools, 0u);
  EXPECT_GT(Folded, 0u);
  EXPECT_GT(Residual, 0u);
}

// sin and cos pass their argument's error through at full size while their
// results stay in [-1, 1]: the generator gives them no value computed from
// a sum (whose magnitude can be the reduction's length), only O(1) ones.
TEST(FuzzTest, SinAndCosTakeNoSumsResult) {
  tools::FuzzLimits L;
  unsigned Periodic = 0;
  for (uint64_t Seed = 1; Seed <= 5000; ++Seed) {
    Model M = tools::generateProgram(Seed, L);
    std::set<std::string> FromSum;
    for (const Node &N : M.G.Nodes) {
      bool Large = N.Target.rfind("torch.ops.aten.sum.", 0) == 0;
      for (const NamedArgument &A : N.Inputs)
        Large |= A.Arg.Kind == ArgKind::Tensor && FromSum.count(A.Arg.S);
      const bool Periodic1 = N.Target == "torch.ops.aten.sin.default" || N.Target == "torch.ops.aten.cos.default";
      if (Periodic1) {
        ++Periodic;
        EXPECT_FALSE(Large && !N.Inputs.empty() && FromSum.count(N.Inputs[0].Arg.S))
            << "seed " << Seed << ": " << N.Name << " of a sum's value";
      }
      if (Large && !N.Outputs.empty())
        FromSum.insert(N.Outputs[0].S);
    }
  }
  EXPECT_GT(Periodic, 0u);
}

// Found by atalla-fuzz (seed 60): relu_ overwrote x0, and a later sub read
// x0; lowering had treated relu_ as out-of-place, so sub saw the old x0.
TEST(FuzzTest, RegressionInPlaceOpThenReadOfTheOverwrittenValue) {
  ModelBuilder B;
  std::string X = B.addUserInput("x0", randn({3, 7, 4}, 60));
  std::string R = B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32,
                            {3, 7, 4});
  NamedArgument Alpha = arg("alpha", Argument::integer(2));
  Alpha.Passing = ArgPassing::Keyword;
  std::string S = B.addNode("torch.ops.aten.sub.Tensor",
                            {arg("self", Argument::tensor(R)), arg("other", Argument::tensor(X)), Alpha},
                            ScalarType::Float32, {3, 7, 4});
  B.addOutput(S);
  Model M = B.take();
  M.Path = "regression_60.pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, 60);
  EXPECT_TRUE(O.Passed) << O.Message;
}

// Found by atalla-fuzz (seed 273): relu_ on a slice of x0 changes x0 in
// eager; the compiler now refuses in-place ops on storage a view shares
// rather than compute something else.
TEST(FuzzTest, RegressionInPlaceOpOnAViewIsRefused) {
  ModelBuilder B;
  std::string W = B.addParameter("w", randn({2, 1}, 2));
  std::string X = B.addUserInput("x0", randn({3, 2}, 273));
  std::string Sl = B.addNode("torch.ops.aten.slice.Tensor",
                             {arg("self", Argument::tensor(X)), arg("dim", Argument::integer(1)),
                              arg("start", Argument::integer(0)), arg("end", Argument::integer(2)),
                              arg("step", Argument::integer(1))},
                             ScalarType::Float32, {3, 2});
  B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(Sl))}, ScalarType::Float32, {3, 2});
  std::string Mm = B.addNode("torch.ops.aten.mm.default", {arg("self", Argument::tensor(X)), arg("mat2", Argument::tensor(W))},
                             ScalarType::Float32, {3, 1});
  B.addOutput(Mm);
  Model M = B.take();
  M.Path = "regression_273.pt2";
  for (Node &N : M.G.Nodes)
    fillDefaultArguments(N);
  EXPECT_ERROR_CONTAINS(lower::lowerModel(M, {}), "in-place torch.ops.aten.relu_.default writes 'slice'");
}

// Found by atalla-fuzz (seeds 411, 425, 709, 757, 775 of 1..1000): relu_ on
// a clone was refused because the lowering aliases a clone of a contiguous
// tensor to its source; eager's clone is a copy, so the in-place op is fine.
TEST(FuzzTest, RegressionInPlaceOpOnACloneIsAllowed) {
  ModelBuilder B;
  std::string X = B.addUserInput("x0", randn({4, 5}, 775));
  std::string C = B.addNode("torch.ops.aten.clone.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32,
                            {4, 5});
  std::string R = B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(C))}, ScalarType::Float32,
                            {4, 5});
  std::string S = B.addNode("torch.ops.aten.add.Tensor", {arg("self", Argument::tensor(R)), arg("other", Argument::tensor(X))},
                            ScalarType::Float32, {4, 5});
  B.addOutput(S);
  Model M = B.take();
  M.Path = "regression_775.pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, 775);
  EXPECT_TRUE(O.Passed) << O.Message;
}

// Found by atalla-fuzz (seeds 101120, 101422): relu_ on a weight that an
// earlier linear had read was refused, because the lowering's own weight^T
// view (no eager alias) counted as sharing the weight's storage.
TEST(FuzzTest, RegressionInPlaceOpOnAWeightAfterLinear) {
  ModelBuilder B;
  std::string W = B.addParameter("layer0.weight", randn({5, 4}, 1));
  std::string Bias = B.addParameter("layer1.weight", randn({5}, 2));
  std::string X = B.addUserInput("x0", randn({3, 4}, 101120));
  B.addNode("torch.ops.aten.linear.default",
            {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)), arg("bias", Argument::tensor(Bias))},
            ScalarType::Float32, {3, 5});
  std::string R = B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(W))}, ScalarType::Float32,
                            {5, 4});
  B.addOutput(R);
  Model M = B.take();
  M.Path = "regression_101120.pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, 101120);
  EXPECT_TRUE(O.Passed) << O.Message;
}

// Found by atalla-fuzz (seed 500782 of 500000..500799): relu_ on a weight
// that is also a graph output, read by one div. The chain fusion folded
// the div in and never defined relu_'s value, which the output (the
// mutated weight) needs: "value 'relu_' is used before it is defined".
TEST(FuzzTest, RegressionChainStopsAtAValueAGraphOutputSeesThroughAMutation) {
  ModelBuilder B;
  std::string W = B.addParameter("layer0.weight", randn({4, 5}, 1));
  std::string D = B.addParameter("layer2.weight", randn({4, 5}, 2));
  std::string R = B.addNode("torch.ops.aten.relu_.default", {arg("self", Argument::tensor(W))}, ScalarType::Float32,
                            {4, 5});
  B.addOutput(B.addNode("torch.ops.aten.div.Tensor", {arg("self", Argument::tensor(R)), arg("other", Argument::tensor(D))},
                        ScalarType::Float32, {4, 5}));
  B.addOutput(W);
  Model M = B.take();
  M.Path = "regression_500782.pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, 500782);
  EXPECT_TRUE(O.Passed) << O.Message;
}
