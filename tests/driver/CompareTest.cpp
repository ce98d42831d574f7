//===- tests/driver/CompareTest.cpp - the tolerance model and the comparison -===//
//
// driver::f32ErrorTerms node by node on small built graphs (each term is
// the formula its comment derives, so a changed constant shows here), and
// driver::compareTensors on hand-made tensors: the normalisation, NaN and
// infinity agreement, exact and flip-tolerant compares of other dtypes. To
// add a case: build a graph with ModelBuilder, or two tensors, and state
// what the numerics say the answer is.
//
//===----------------------------------------------------------------------===//
#include "driver/Compare.h"
#include "frontend/ModelBuilder.h"
#include "TestSupport.h"

#include <cmath>
#include <cstring>

using namespace atalla;
using namespace atalla::frontend;
using driver::F32UnitRoundoff;

namespace {

NamedArgument arg(const std::string &Name, Argument A) { return ModelBuilder::arg(Name, std::move(A)); }

TensorData floats(const std::vector<int64_t> &Sizes, const std::vector<float> &V) {
  std::vector<uint8_t> B(V.size() * 4);
  std::memcpy(B.data(), V.data(), B.size());
  return TensorData::fromBytes(ScalarType::Float32, Sizes, B);
}

TensorData zeros(const std::vector<int64_t> &Sizes) {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  return floats(Sizes, std::vector<float>(size_t(N), 0.0f));
}

/// x [M, K] @ w [K, N], then softmax over N.
Model matmulSoftmax(int64_t M, int64_t K, int64_t N) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", zeros({M, K}));
  std::string W = B.addParameter("w", zeros({K, N}));
  std::string Mm = B.addNode("torch.ops.aten.matmul.default",
                             {arg("self", Argument::tensor(X)), arg("other", Argument::tensor(W))},
                             ScalarType::Float32, {M, N});
  std::string S = B.addNode("torch.ops.aten.softmax.int",
                            {arg("self", Argument::tensor(Mm)), arg("dim", Argument::integer(-1)),
                             arg("half_to_float", Argument::boolean(false))},
                            ScalarType::Float32, {M, N});
  B.addOutput(S);
  return B.take();
}

} // namespace

TEST(CompareTest, GemmAndSoftmaxTermsAreTheirBounds) {
  Model M = matmulSoftmax(4, 64, 10);
  std::vector<driver::ErrorTerm> T = driver::f32ErrorTerms(M);
  ASSERT_EQ(T.size(), 2u);
  // Two orders of a sum of K = 64 products: 2 gamma_64 ~ 2 x 64 u.
  EXPECT_EQ(T[0].Units, 128);
  EXPECT_EQ(T[0].What, "K = 64 products");
  // A row of 10 positive terms (2 x 10 u) plus exp and the division (8 u).
  EXPECT_EQ(T[1].Units, 28);
  driver::Tolerance Tol = driver::f32Tolerance(M);
  EXPECT_DOUBLE_EQ(Tol.Float, (16 + 128 + 28) * F32UnitRoundoff);
  EXPECT_NE(Tol.Why.find("float32 u x 172"), std::string::npos) << Tol.Why;
  EXPECT_NE(Tol.Why.find("the largest 'matmul' (K = 64 products)"), std::string::npos) << Tol.Why;
}

TEST(CompareTest, ConvolutionsCountTheirProductsPerOutput) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", zeros({1, 6, 8, 8}));
  std::string W = B.addParameter("w", zeros({4, 3, 3, 3})); // groups = 2: 3 input channels per group
  std::string C = B.addNode("torch.ops.aten.conv2d.default",
                            {arg("input", Argument::tensor(X)), arg("weight", Argument::tensor(W)),
                             arg("bias", Argument::none()), arg("stride", Argument::ints({1, 1})),
                             arg("padding", Argument::ints({1, 1})), arg("dilation", Argument::ints({1, 1})),
                             arg("groups", Argument::integer(2))},
                            ScalarType::Float32, {1, 4, 8, 8});
  std::string Wt = B.addParameter("wt", zeros({4, 2, 2, 2}));
  std::string U = B.addNode("torch.ops.aten.convolution.default",
                            {arg("input", Argument::tensor(C)), arg("weight", Argument::tensor(Wt)),
                             arg("bias", Argument::none()), arg("stride", Argument::ints({2, 2})),
                             arg("padding", Argument::ints({0, 0})), arg("dilation", Argument::ints({1, 1})),
                             arg("transposed", Argument::boolean(true)), arg("output_padding", Argument::ints({0, 0})),
                             arg("groups", Argument::integer(1))},
                            ScalarType::Float32, {1, 2, 16, 16});
  B.addOutput(U);
  Model M = B.take();
  std::vector<driver::ErrorTerm> T = driver::f32ErrorTerms(M);
  ASSERT_EQ(T.size(), 2u);
  EXPECT_EQ(T[0].What, "K = 27 products"); // 3 channels x 3 x 3
  EXPECT_EQ(T[1].What, "K = 16 products"); // transposed: 4 input channels x 2 x 2 bounds it
  EXPECT_EQ(T[0].Units + T[1].Units, 2 * 27 + 2 * 16);
}

TEST(CompareTest, ExactOpsAddNothingAndReductionsCountTheirLength) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", zeros({8, 32}));
  std::string R = B.addNode("torch.ops.aten.relu.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32,
                            {8, 32});
  std::string A = B.addNode("torch.ops.aten.add.Tensor",
                            {arg("self", Argument::tensor(R)), arg("other", Argument::tensor(X))}, ScalarType::Float32,
                            {8, 32});
  std::string S = B.addNode("torch.ops.aten.sum.dim_IntList",
                            {arg("self", Argument::tensor(A)), arg("dim", Argument::ints({1})),
                             arg("keepdim", Argument::boolean(false))},
                            ScalarType::Float32, {8});
  std::string E = B.addNode("torch.ops.aten.exp.default", {arg("self", Argument::tensor(S))}, ScalarType::Float32, {8});
  B.addOutput(E);
  Model M = B.take();
  std::vector<driver::ErrorTerm> T = driver::f32ErrorTerms(M);
  ASSERT_EQ(T.size(), 2u); // relu and add are exact on both sides
  EXPECT_EQ(T[0].Units, 2 * 32 + 4);
  EXPECT_EQ(T[1].Units, 16); // exp: within 4 ulp a side
}

TEST(CompareTest, LayerNormCountsItsMeanAndVariance) {
  ModelBuilder B;
  std::string X = B.addUserInput("x", zeros({2, 5, 48}));
  std::vector<std::string> Ln = B.addMultiNode(
      "torch.ops.aten.native_layer_norm.default",
      {arg("input", Argument::tensor(X)), arg("normalized_shape", Argument::ints({48})),
       arg("weight", Argument::none()), arg("bias", Argument::none()), arg("eps", Argument::real(1e-5))},
      {{ScalarType::Float32, {2, 5, 48}}, {ScalarType::Float32, {2, 5, 1}}, {ScalarType::Float32, {2, 5, 1}}});
  B.addOutput(Ln[0]);
  Model M = B.take();
  std::vector<driver::ErrorTerm> T = driver::f32ErrorTerms(M);
  ASSERT_EQ(T.size(), 1u);
  EXPECT_EQ(T[0].Units, 3 * 48 + 8);
}

TEST(CompareTest, NormalisedErrorIsMaxDifferenceOverMaxReference) {
  driver::Tolerance Tol;
  Tol.Float = 1e-3;
  TensorData Ref = floats({4}, {100.0f, -1.0f, 0.5f, 0.0f});
  // 0.05 off on a small element: 5% relative there, 5e-4 of max|ref|.
  driver::Comparison C = driver::compareTensors(floats({4}, {100.0f, -1.0f, 0.55f, 0.0f}), Ref, Tol);
  EXPECT_TRUE(C.Pass);
  EXPECT_NEAR(C.Norm, 0.05 / 100, 1e-9);
  EXPECT_NEAR(C.MaxRel, 0.1, 1e-6);
  EXPECT_EQ(C.MaxRef, 100);
  C = driver::compareTensors(floats({4}, {100.2f, -1.0f, 0.5f, 0.0f}), Ref, Tol);
  EXPECT_FALSE(C.Pass);
  EXPECT_EQ(driver::describeMismatch("y", C, Tol).rfind("output 'y': normalised error 0.002", 0), 0u)
      << driver::describeMismatch("y", C, Tol);
}

TEST(CompareTest, NaNAndInfinitiesMustAgree) {
  driver::Tolerance Tol;
  Tol.Float = 1;
  const float Inf = INFINITY, NaN = NAN;
  EXPECT_TRUE(driver::compareTensors(floats({3}, {NaN, Inf, 1}), floats({3}, {NaN, Inf, 1}), Tol).Pass);
  driver::Comparison C = driver::compareTensors(floats({3}, {NaN, Inf, 1}), floats({3}, {0, Inf, 1}), Tol);
  EXPECT_FALSE(C.Pass);
  EXPECT_TRUE(C.NaNMismatch);
  EXPECT_NE(driver::describeMismatch("y", C, Tol).find("(NaN/inf differ)"), std::string::npos);
  EXPECT_FALSE(driver::compareTensors(floats({2}, {-Inf, 1}), floats({2}, {Inf, 1}), Tol).Pass);
  EXPECT_FALSE(driver::compareTensors(floats({2}, {3e38f, 1}), floats({2}, {Inf, 1}), Tol).Pass);
}

TEST(CompareTest, OtherDtypesCompareExactlyOrWithinTheFlipFraction) {
  auto Bools = [](std::vector<uint8_t> V) {
    const int64_t N = int64_t(V.size());
    return TensorData::fromBytes(ScalarType::Bool, {N}, std::move(V));
  };
  driver::Tolerance Tol;
  TensorData Ref = Bools({1, 0, 1, 1, 0, 0, 1, 0, 1, 1});
  driver::Comparison C = driver::compareTensors(Bools({1, 0, 1, 1, 0, 0, 1, 0, 1, 0}), Ref, Tol);
  EXPECT_TRUE(C.Exact);
  EXPECT_EQ(C.Differ, 1u);
  EXPECT_FALSE(C.Pass);
  Tol.Flip = 0.1;
  EXPECT_TRUE(driver::compareTensors(Bools({1, 0, 1, 1, 0, 0, 1, 0, 1, 0}), Ref, Tol).Pass);
  EXPECT_FALSE(driver::compareTensors(Bools({0, 0, 1, 1, 0, 0, 1, 0, 1, 0}), Ref, Tol).Pass);
  // Shapes or dtypes that differ never pass.
  C = driver::compareTensors(Bools({1, 0}), floats({2}, {1, 0}), Tol);
  EXPECT_FALSE(C.SameShape);
  EXPECT_FALSE(C.Pass);
}

TEST(CompareTest, Bf16ToleranceIsTheRuntimeFormula) {
  driver::Tolerance T = driver::bf16Tolerance(1024, 0.005);
  EXPECT_DOUBLE_EQ(T.Float, std::ldexp(1.0, -8) * (6 + 10));
  EXPECT_EQ(T.Flip, 0.005);
  EXPECT_NE(T.Why.find("2^-8 x (6 + log2 1024)"), std::string::npos) << T.Why;
}
