//===- tests/e2e/TypedModelsTest.cpp - casts and comparisons vs eager ---===//
//
// Models whose values change element type: a uint8 image scaled to float
// (the UNet's input), float -> int64 / int32 / bool casts (truncation toward
// zero, NaN -> true), integer and bool inputs cast to float, and every
// comparison with broadcasting, scalars and NaN operands. Each is written
// with the project's .pt2 writer and checked as the fuzzer checks (compile,
// run on the simulated device, compare with eager LibTorch; integer and bool
// outputs exactly), with no fallback allowed. NaN semantics come from
// LibTorch here, not from oneDNN (whose gt and ge are true on NaN).
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelBuilder.h"
#include "tools/Fuzz.h"
#include "tools/ToolSupport.h"
#include "ModelTestSupport.h"
#include "TestSupport.h"

using namespace atalla;
using namespace atalla::frontend;

using test::arg;
using test::randn;

namespace {

void expectRunsOnTheAccelerator(Model M, uint64_t Seed, const std::string &What) {
  test::expectRunsOnTheAccelerator(std::move(M), Seed, What, "typed");
}

std::string cast(ModelBuilder &B, const std::string &X, ScalarType To, const std::vector<int64_t> &Shape,
                 bool ToCopy = false) {
  if (ToCopy)
    return B.addNode("torch.ops.aten._to_copy.default",
                     {arg("self", Argument::tensor(X)), arg("dtype", Argument::scalarType(To))}, To, Shape);
  return B.addNode("torch.ops.aten.to.dtype", {arg("self", Argument::tensor(X)), arg("dtype", Argument::scalarType(To))},
                   To, Shape);
}

std::string binary(ModelBuilder &B, const std::string &Op, const std::string &X, Argument Other, ScalarType T,
                   const std::vector<int64_t> &Shape) {
  const bool Scalar = Other.Kind != ArgKind::Tensor;
  return B.addNode("torch.ops.aten." + Op + (Scalar ? ".Scalar" : ".Tensor"),
                   {arg("self", Argument::tensor(X)), arg("other", std::move(Other))}, T, Shape);
}

} // namespace

TEST(TypedModelsTest, Uint8ImageScaledAndThresholded) {
  // The UNet's first and last steps: images.to(float32) / 255, and a
  // sigmoid compared with a 0-d constant into a bool mask.
  const std::vector<int64_t> S = {2, 9, 17};
  ModelBuilder B;
  std::string Img = B.addUserInput("images", tools::randomTensor(ScalarType::UInt8, S, 31));
  std::string F = cast(B, Img, ScalarType::Float32, S);
  std::string Scaled = binary(B, "div", F, Argument::real(255.0), ScalarType::Float32, S);
  std::string Centered = binary(B, "sub", Scaled, Argument::real(0.5), ScalarType::Float32, S);
  std::string Sig = B.addNode("torch.ops.aten.sigmoid.default", {arg("self", Argument::tensor(Centered))},
                              ScalarType::Float32, S);
  B.addOutput(binary(B, "ge", Sig, Argument::real(0.5), ScalarType::Bool, S));
  B.addOutput(Scaled);
  expectRunsOnTheAccelerator(B.take(), 30, "uint8 image");
}

TEST(TypedModelsTest, FloatCastsTruncateAndRoundTrip) {
  // x * 7 has fractional values of both signs: int64 and int32 truncate
  // toward zero (-3.7 -> -3); back to float is exact; bool is x != 0.
  const std::vector<int64_t> S = {5, 33};
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn(S, 41));
  std::string Big = binary(B, "mul", X, Argument::real(7.0), ScalarType::Float32, S);
  std::string I64 = cast(B, Big, ScalarType::Int64, S, /*ToCopy=*/true);
  std::string I32 = cast(B, Big, ScalarType::Int32, S);
  B.addOutput(I64);
  B.addOutput(cast(B, I32, ScalarType::Float32, S));
  B.addOutput(cast(B, I64, ScalarType::Bool, S));
  // |x| * 7 = max(x, -x) (< 256) of a transposed view, cast to u8.
  std::string T = B.addNode("torch.ops.aten.t.default", {arg("self", Argument::tensor(Big))}, ScalarType::Float32,
                            {33, 5});
  std::string Neg = binary(B, "mul", T, Argument::real(-1.0), ScalarType::Float32, {33, 5});
  std::string Pos = B.addNode("torch.ops.aten.maximum.default",
                              {arg("self", Argument::tensor(T)), arg("other", Argument::tensor(Neg))},
                              ScalarType::Float32, {33, 5});
  B.addOutput(cast(B, Pos, ScalarType::UInt8, {33, 5}));
  expectRunsOnTheAccelerator(B.take(), 40, "float casts");
}

TEST(TypedModelsTest, IntegerAndBoolInputsCastToFloat) {
  const std::vector<int64_t> S = {4, 6};
  ModelBuilder B;
  std::string I = B.addUserInput("idx", tools::randomTensor(ScalarType::Int64, S, 51));
  std::string M = B.addUserInput("mask", tools::randomTensor(ScalarType::Bool, S, 52));
  std::string FI = cast(B, I, ScalarType::Float32, S);
  std::string FM = cast(B, M, ScalarType::Float32, S, /*ToCopy=*/true);
  B.addOutput(binary(B, "mul", FI, Argument::tensor(FM), ScalarType::Float32, S));
  B.addOutput(cast(B, I, ScalarType::Int32, S));
  B.addOutput(cast(B, M, ScalarType::UInt8, S));
  expectRunsOnTheAccelerator(B.take(), 50, "integer inputs");
}

TEST(TypedModelsTest, ComparisonsWithBroadcastScalarsAndNaN) {
  // log of standard normals: NaN for the negative half, -inf nowhere (no
  // exact zeros). Ordered comparisons are false on NaN, ne true; a NaN
  // cast to bool is true.
  const std::vector<int64_t> S = {4, 6};
  ModelBuilder B;
  std::string X = B.addUserInput("x", randn(S, 61));
  std::string Col = B.addUserInput("col", randn({4, 1}, 62));
  std::string L = B.addNode("torch.ops.aten.log.default", {arg("self", Argument::tensor(X))}, ScalarType::Float32, S);
  uint64_t Seed = 60;
  for (const char *Op : {"eq", "ne", "lt", "le", "gt", "ge"}) {
    ModelBuilder C = B;
    C.addOutput(binary(C, Op, X, Argument::tensor(Col), ScalarType::Bool, S));
    C.addOutput(binary(C, Op, L, Argument::real(-0.25), ScalarType::Bool, S));
    C.addOutput(binary(C, Op, L, Argument::tensor(L), ScalarType::Bool, S));
    C.addOutput(binary(C, Op, Col, Argument::tensor(L), ScalarType::Bool, S));
    C.addOutput(cast(C, L, ScalarType::Bool, S));
    expectRunsOnTheAccelerator(C.take(), Seed++, std::string("comparison ") + Op);
  }
}
