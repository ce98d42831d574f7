//===- tests/lower/LowerTest.cpp - the lowering pipeline ------------------===//
//
// Lowers real and synthetic archives and checks what each pass decided:
// which nodes became kernels, views or fallback calls (and why), the shapes
// after specialisation, and the memory plan (no two simultaneously live
// tensors overlap; the arena never beats the live-bytes lower bound). To add
// a case, lower a fixture and assert on Program's tensors, instructions and
// decisions.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "lower/Pipeline.h"
#include "FallbackModelSupport.h"
#include "TestSupport.h"

#include "llvm/Support/raw_ostream.h"

using namespace atalla;
using namespace atalla::lower;

namespace {

std::vector<std::string> kernelsOf(const Program &P) {
  std::vector<std::string> Out;
  for (const PInstr &I : P.Instrs)
    Out.push_back(I.Op == atalla::abi::Opcode::Kernel ? std::string(atalla::abi::kernelName(I.Spec.Kernel))
                                              : "fallback:" + I.AtenOp);
  return Out;
}

/// Every pair of owning activation tensors whose live ranges intersect must
/// occupy disjoint DRAM; constants sit below the arena.
void expectSoundPlan(const Program &P) {
  int64_t End = P.Instrs.size();
  std::vector<int64_t> First(P.Tensors.size(), End), Last(P.Tensors.size(), -1);
  auto owner = [&](int T) { return P.Tensors[T].isView() ? P.Tensors[T].Base : T; };
  for (int64_t I = 0; I < End; ++I)
    for (size_t K = 0; K < P.Instrs[I].Operands.size(); ++K) {
      int O = owner(P.Instrs[I].Operands[K]);
      if (K + P.Instrs[I].NumOutputs >= P.Instrs[I].Operands.size())
        First[O] = std::min(First[O], I);
      Last[O] = std::max(Last[O], I);
    }
  for (size_t A = 0; A < P.Tensors.size(); ++A) {
    const PTensor &X = P.Tensors[A];
    if (X.isView())
      continue;
    EXPECT_EQ(X.DramAddr % 64, 0u) << X.Name;
    EXPECT_LE(X.DramAddr + X.Bytes, P.DramBytes) << X.Name;
    if (X.Kind == atalla::abi::TensorKind::Constant) {
      EXPECT_LE(X.DramAddr + X.Bytes, P.ConstantBytes) << X.Name;
      continue;
    }
    int64_t FA = X.Kind == atalla::abi::TensorKind::Input ? -1 : First[A];
    int64_t LA = X.Kind == atalla::abi::TensorKind::Output ? End : std::max(Last[A], FA);
    for (size_t B = A + 1; B < P.Tensors.size(); ++B) {
      const PTensor &Y = P.Tensors[B];
      if (Y.isView() || Y.Kind == atalla::abi::TensorKind::Constant)
        continue;
      int64_t FB = Y.Kind == atalla::abi::TensorKind::Input ? -1 : First[B];
      int64_t LB = Y.Kind == atalla::abi::TensorKind::Output ? End : std::max(Last[B], FB);
      bool Live = !(LA < FB || LB < FA);
      bool Overlap = X.DramAddr < Y.DramAddr + Y.Bytes && Y.DramAddr < X.DramAddr + X.Bytes;
      EXPECT_FALSE(Live && Overlap) << X.Name << " and " << Y.Name << " overlap while both live";
    }
  }
  EXPECT_GE(P.ArenaBytes, P.LowerBoundBytes);
}

} // namespace

TEST(LowerTest, SeedDemoIsAllAccelerated) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, frontend::readModel(Dir + "/seed/seed_accel_demo.pt2"));
  ASSERT_EXPECTED(P, lowerModel(M, {}));
  EXPECT_EQ(kernelsOf(P), (std::vector<std::string>{"relu", "gemm", "softmax"}));
  ASSERT_EQ(P.Segments.size(), 1u);
  EXPECT_TRUE(P.Segments[0].Accelerator);
  EXPECT_EQ(P.Instrs[2].Spec.Dim, 1);
  EXPECT_EQ(P.Inputs.size(), 2u);
  EXPECT_EQ(P.Outputs.size(), 1u);
  expectSoundPlan(P);
}

TEST(LowerTest, EveryFixturePlansSoundly) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  for (const char *Name : {"seed/seed_accel_demo", "seed/seed_accel_demo_v2_2", "seed/seed_export_basics_1",
                           "seed/seed_export_basics_2", "seed/seed_export_basics_3", "seed/seed_mlp",
                           "seed/seed_attention", "seed/seed_elementwise", "seed/seed_tiny_transformer",
                           "seed/mlp_params", "seed/transformer_block_params", "formats/synthetic_lrs_archive_v8_8",
                           "real/unet-dcnum-test_g1"}) {
    SCOPED_TRACE(Name);
    ASSERT_EXPECTED(M, frontend::readModel(Dir + "/" + Name + ".pt2"));
    ASSERT_EXPECTED(P, lowerModel(M, {}));
    expectSoundPlan(P);
  }
}

TEST(LowerTest, LayoutOpsBecomeViewsAndLinearUsesTheWeightInPlace) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, frontend::readModel(Dir + "/seed/transformer_block_params.pt2"));
  ASSERT_EXPECTED(P, lowerModel(M, {}));
  unsigned Gemms = 0, Copies = 0, Fallbacks = 0;
  for (const PInstr &I : P.Instrs) {
    if (I.Op == atalla::abi::Opcode::Fallback) {
      ++Fallbacks;
      continue;
    }
    if (I.Spec.Kernel == atalla::abi::KernelId::gemm) {
      ++Gemms;
      // linear: weight^T is a strided view (K-stride 1 along the rows of W).
      if (I.Spec.HasBias) {
        const atalla::abi::OperandSpec &B = I.Spec.Operands[1];
        EXPECT_EQ(B.Strides[B.Strides.size() - 2], 1) << I.Node;
      }
    }
    if (I.Spec.Kernel == atalla::abi::KernelId::copy)
      ++Copies;
  }
  EXPECT_EQ(Gemms, 8u);     // 6 linear + 2 matmul
  EXPECT_EQ(Fallbacks, 0u); // layer_norm and gelu are kernels
  EXPECT_EQ(Copies, 1u);    // reshape of the transposed context
  expectSoundPlan(P);
}

TEST(LowerTest, RealUNetCanonicalisesAndFoldsTheScalarConstants) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, frontend::readModel(Dir + "/real/unet-dcnum-test_g1.pt2"));
  ASSERT_EXPECTED(P, lowerModel(M, {}));
  for (const NodeDecision &D : P.Decisions) {
    EXPECT_EQ(D.Target.find("_assert_tensor_metadata"), std::string::npos);
    EXPECT_EQ(D.Target.find("detach_"), std::string::npos);
    EXPECT_EQ(D.Target.find("dropout"), std::string::npos);
  }
  // images.float() / torch.tensor(255): a device div with the constant
  // folded, the first step of the chain (x / 255 - 0.5) / 0.5.
  bool SawDiv255 = false;
  for (const PInstr &I : P.Instrs) {
    if (I.Op != atalla::abi::Opcode::Kernel || I.Spec.Kernel != atalla::abi::KernelId::chain)
      continue;
    std::vector<atalla::abi::ChainStep> Steps;
    ASSERT_EQ(I.Spec.chainSteps(Steps), "");
    SawDiv255 |= Steps[0].Op == atalla::abi::KernelId::div && Steps[0].Source == -1 && Steps[0].constant() == 255.0f;
  }
  EXPECT_TRUE(SawDiv255);
}

TEST(LowerTest, StaticShapesFromHintsOrInputShape) {
  std::string Dir = test::torch2Dir();
  if (!test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, frontend::readModel(Dir + "/torch_dynamic_mlp.pt2"));
  ASSERT_EXPECTED(P, lowerModel(M, {}));
  EXPECT_EQ(P.Tensors[P.Inputs[0]].Sizes, (std::vector<int64_t>{6, 16})); // the hint
  PipelineOptions O;
  O.Shapes.InputShapes["x"] = {3, 16};
  ASSERT_EXPECTED(Q, lowerModel(M, O));
  EXPECT_EQ(Q.Tensors[Q.Inputs[0]].Sizes, (std::vector<int64_t>{3, 16}));
  EXPECT_EQ(Q.Tensors[Q.Outputs[0]].Sizes, (std::vector<int64_t>{3, 8}));
  O.Shapes.InputShapes["x"] = {65, 16};
  EXPECT_ERROR_CONTAINS(lowerModel(M, O), "dimension 0 = 65 is outside the exported range of 's77' [1, 64]");
  O.Shapes.InputShapes["x"] = {3, 17};
  EXPECT_ERROR_CONTAINS(lowerModel(M, O), "dimension 1 is static 16 in the model, not 17");
  O.Shapes.InputShapes.clear();
  O.Shapes.InputShapes["y"] = {3, 16};
  EXPECT_ERROR_CONTAINS(lowerModel(M, O), "--input-shape names 'y', which is not an input (inputs: x)");
}

TEST(LowerTest, AccelOnlyListsTheFallbackOps) {
  ASSERT_EXPECTED(Bytes, frontend::writeModelArchive(test::twoFallbackModel()));
  ASSERT_EXPECTED(M, frontend::readModelFromBuffer(std::move(Bytes), "two_fallbacks.pt2"));
  PipelineOptions O;
  O.AccelOnly = true;
  EXPECT_ERROR_CONTAINS(lowerModel(M, O), "--accel-only: 2 op(s) would fall back: atan (torch.ops.aten.atan.default");
  O.AccelOnly = false;
  ASSERT_EXPECTED(P, lowerModel(M, O));
  EXPECT_EQ(kernelsOf(P), (std::vector<std::string>{"fallback:aten::atan", "fallback:aten::asinh", "add"}));
  EXPECT_EQ(P.Segments.size(), 2u);
}

TEST(LowerTest, PrintAfterAllShowsEveryPass) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, frontend::readModel(Dir + "/seed/seed_accel_demo.pt2"));
  std::string Text;
  llvm::raw_string_ostream OS(Text);
  PipelineOptions O;
  O.PrintAfterAll = &OS;
  ASSERT_EXPECTED(P, lowerModel(M, O));
  EXPECT_FALSE(P.Instrs.empty());
  OS.flush();
  for (const char *Pass : {"canonicalize", "specialize-shapes", "fuse-batch-norm", "fuse-residuals", "fuse-epilogues",
                           "fuse-elementwise",
                           "select-kernels", "partition", "plan-memory"})
    EXPECT_NE(Text.find(std::string("*** IR after ") + Pass + " ***"), std::string::npos) << Pass;
  EXPECT_NE(Text.find("kernel gemm f32"), std::string::npos);
}

// A value read before any node defines it is an error in the model, named
// with the node and the value: the device path must not turn it into a
// silent fallback (the fallback then fails with a less direct message, or
// worse, does not).
TEST(LowerTest, AValueUsedBeforeItIsDefinedIsAnErrorNotAFallback) {
  using frontend::ModelBuilder;
  ModelBuilder B;
  std::string X = B.addUserInput(
      "x", frontend::TensorData::fromBytes(frontend::ScalarType::Float32, {4, 8}, std::vector<uint8_t>(128, 0)));
  std::string Ghost = B.addNode("torch.ops.aten.relu.default", {ModelBuilder::arg("self", frontend::Argument::tensor(X))},
                                frontend::ScalarType::Float32, {4, 8});
  B.addOutput(B.addNode("torch.ops.aten.neg.default", {ModelBuilder::arg("self", frontend::Argument::tensor(Ghost))},
                        frontend::ScalarType::Float32, {4, 8}));
  frontend::Model M = B.take();
  M.Path = "ghost.pt2";
  // The relu node goes; neg now reads a value nothing defines.
  M.G.Nodes.erase(M.G.Nodes.begin());
  EXPECT_ERROR_CONTAINS(lowerModel(M, PipelineOptions()),
                        "ghost.pt2: node '" + M.G.Nodes[0].Name + "': value '" + Ghost + "' is used before it is defined");
}
