//===- tests/e2e/PerOpDiagnosisTest.cpp - driver::diagnosePerOp in-process ===//
//
// The per-op diagnosis as a library call (atalla-run --per-op prints it;
// tests/tools/PerOpTest.cpp runs the tool): a small model compiled as
// atalla-gen compiles it, eager's values kept, every instruction run alone.
// Each case states what a row must say: all OK under the derived
// tolerance; a wrong eager value names its instruction first; the second
// reference is called for kernel rows only, and a
// reference that refuses leaves the column empty.
//
//===----------------------------------------------------------------------===//
#include "driver/Compile.h"
#include "driver/PerOp.h"
#include "frontend/ModelBuilder.h"
#include "reference/EagerInterpreter.h"
#include "reference/OneDnnKernels.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/fallback/AtenFallback.h"
#include "ModelTestSupport.h"
#include "TestSupport.h"

#include <cstring>

using namespace atalla;
using namespace atalla::frontend;
using test::arg;
using test::randn;

namespace {

/// linear -> relu -> softmax -> atan (atan has no kernel: a fallback row).
Model smallModel() {
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn({6, 16}, 1));
  std::string W = B.addParameter("fc.weight", randn({24, 16}, 2));
  std::string Bias = B.addParameter("fc.bias", randn({24}, 3));
  std::string L = B.addNode("torch.ops.aten.linear.default",
                            {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)),
                             arg("bias", Argument::tensor(Bias))},
                            ScalarType::Float32, {6, 24});
  std::string S = B.addNode("torch.ops.aten.softmax.int", {arg("self", Argument::tensor(L)), arg("dim", Argument::integer(1))},
                            ScalarType::Float32, {6, 24});
  std::string A = B.addNode("torch.ops.aten.atan.default", {arg("self", Argument::tensor(S))}, ScalarType::Float32, {6, 24});
  B.addOutput(A);
  Model M = B.take();
  M.Path = "perop_small.pt2";
  return M;
}

struct Compiled {
  std::unique_ptr<runtime::Blob> B;
  std::unique_ptr<runtime::Executor> X;
  std::unique_ptr<reference::EagerInterpreter> Eager;
};

/// Compiles \p M, creates the executor and runs eager (values kept).
void prepare(const Model &M, Compiled &R) {
  ASSERT_EXPECTED(C, driver::compileModel(M, driver::CompileOptions()));
  ASSERT_EXPECTED(B, runtime::Blob::parse(std::move(C.Blob), M.Path + ".atb"));
  R.B = std::make_unique<runtime::Blob>(std::move(B));
  static runtime::AtenFallback Fallback;
  ASSERT_EXPECTED(X, runtime::Executor::create(*R.B, sim::DeviceConfig(), &Fallback));
  R.X = std::move(X);
  ASSERT_EXPECTED(E, reference::EagerInterpreter::create(M));
  R.Eager = std::move(E);
  R.Eager->setKeepValues(true);
  ASSERT_EXPECTED(Out, R.Eager->run(M.SampleInputs));
  ASSERT_EQ(Out.size(), 1u);
}

} // namespace

TEST(PerOpDiagnosis, EveryInstructionOkUnderTheDerivedTolerance) {
  Model M = smallModel();
  Compiled R;
  ASSERT_NO_FATAL_FAILURE(prepare(M, R));
  unsigned Calls = 0;
  driver::PerOpReport Rep = driver::diagnosePerOp(
      *R.B, *R.X, R.Eager->values(), driver::f32Tolerance(M),
      [&](const atalla::abi::KernelSpec &Spec, const std::vector<const float *> &In) {
        ++Calls;
        return reference::runOneDnn(Spec, In);
      });
  ASSERT_EQ(Rep.Rows.size(), R.B->instructions().size());
  EXPECT_EQ(Rep.Failed, 0u);
  EXPECT_FALSE(Rep.First.has_value()) << *Rep.First;
  unsigned Kernels = 0, Fallbacks = 0;
  for (const driver::PerOpRow &Row : Rep.Rows) {
    EXPECT_EQ(Row.Node, R.B->nodeName(Row.Index).str());
    EXPECT_NE(Row.Status, driver::PerOpStatus::Error) << Row.Node << ": " << Row.Why;
    EXPECT_NE(Row.Status, driver::PerOpStatus::Mismatch) << Row.Node << ": " << Row.Why;
    if (Row.IsKernel) {
      ++Kernels;
      // gemm and softmax have oneDNN references: the column is filled, and
      // within the kernel suite's bounds of it.
      ASSERT_TRUE(Row.VersusReference.has_value()) << Row.Node << " " << Row.Op;
      EXPECT_LT(*Row.VersusReference, 1e-5) << Row.Node;
    } else {
      ++Fallbacks;
      EXPECT_NE(Row.Op.find("(fallback)"), std::string::npos) << Row.Op;
      EXPECT_FALSE(Row.VersusReference.has_value());
    }
  }
  EXPECT_EQ(Calls, Kernels);
  EXPECT_GE(Kernels, 2u);
  EXPECT_EQ(Fallbacks, 1u); // atan
}

TEST(PerOpDiagnosis, AWrongEagerValueNamesItsInstructionFirst) {
  Model M = smallModel();
  Compiled R;
  ASSERT_NO_FATAL_FAILURE(prepare(M, R));
  // Eager's value of the linear node's output, one element off by 1: the
  // GEMM row compares against it and fails; the instructions before it
  // (none) and the fallback atan, fed eager's softmax, stay OK.
  std::map<std::string, TensorData> Values = R.Eager->values();
  const std::string Linear = M.G.Nodes[0].Outputs[0].S;
  ASSERT_TRUE(Values.count(Linear)) << Linear;
  std::vector<uint8_t> Bytes = Values.at(Linear).contiguousBytes();
  float V;
  std::memcpy(&V, &Bytes[4 * 5], 4);
  V += 1.0f;
  std::memcpy(&Bytes[4 * 5], &V, 4);
  Values[Linear] = TensorData::fromBytes(ScalarType::Float32, Values.at(Linear).Sizes, Bytes);
  driver::PerOpReport Rep = driver::diagnosePerOp(*R.B, *R.X, Values, driver::f32Tolerance(M));
  ASSERT_TRUE(Rep.First.has_value());
  const driver::PerOpRow &Gemm = Rep.Rows.front();
  EXPECT_EQ(Gemm.Op, "gemm");
  EXPECT_EQ(Gemm.Status, driver::PerOpStatus::Mismatch);
  EXPECT_NE(Gemm.Why.find("> tolerance"), std::string::npos) << Gemm.Why;
  EXPECT_EQ(*Rep.First, "first node over tolerance: '" + Gemm.Node + "' (instruction 0, gemm): " + Gemm.Why);
  EXPECT_EQ(Rep.Rows.back().Status, driver::PerOpStatus::Ok) << Rep.Rows.back().Op << ": " << Rep.Rows.back().Why;
  EXPECT_GE(Rep.Failed, 1u);
}

TEST(PerOpDiagnosis, AReferenceThatRefusesLeavesTheColumnEmpty) {
  Model M = smallModel();
  Compiled R;
  ASSERT_NO_FATAL_FAILURE(prepare(M, R));
  driver::PerOpReport Rep = driver::diagnosePerOp(
      *R.B, *R.X, R.Eager->values(), driver::f32Tolerance(M),
      [](const atalla::abi::KernelSpec &, const std::vector<const float *> &) -> llvm::Expected<std::vector<float>> {
        return llvm::createStringError(llvm::inconvertibleErrorCode(), "no reference");
      });
  EXPECT_EQ(Rep.Failed, 0u);
  for (const driver::PerOpRow &Row : Rep.Rows)
    EXPECT_FALSE(Row.VersusReference.has_value()) << Row.Node;
}
