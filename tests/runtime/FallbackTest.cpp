//===- tests/runtime/FallbackTest.cpp - fallback calls through LibTorch ---===//
//
// One-instruction blobs whose instruction is a fallback call, run by the
// Executor with AtenFallback: argument conversion by schema type, defaults,
// returned lists, the torch 2.x special cases, and the errors.
//
// To add a case: runOne(Call{"aten::op", "overload", {inputs...},
// {{output sizes, dtype}...}, [](BlobBuilder &B) { B.addFallbackArg(...); }})
// and compare with values you compute by hand.
//
//===----------------------------------------------------------------------===//
#include "runtime/fallback/AtenFallback.h"
#include "runtime/fallback/TorchBlas.h"

#include "runtime/abi/BlobBuilder.h"

#include "TestSupport.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>

using namespace atalla;
using namespace atalla::runtime;
using atalla::abi::ArgTag;
using atalla::abi::BlobBuilder;

namespace {

struct Call {
  std::string Op, Overload;
  std::vector<HostTensor> Inputs;
  std::vector<std::pair<std::vector<int64_t>, uint32_t>> Outputs; ///< sizes, dtype
  std::function<void(BlobBuilder &)> Args;
};

HostTensor floats(std::vector<int64_t> Sizes, const std::vector<float> &V) {
  HostTensor T;
  T.DType = 7;
  T.Sizes = std::move(Sizes);
  T.Bytes.resize(V.size() * 4);
  std::memcpy(T.Bytes.data(), V.data(), T.Bytes.size());
  return T;
}

std::vector<float> values(const HostTensor &T) {
  std::vector<float> V(T.Bytes.size() / 4);
  std::memcpy(V.data(), T.Bytes.data(), T.Bytes.size());
  return V;
}

atalla::abi::TensorRecord record(atalla::abi::TensorKind Kind, const std::vector<int64_t> &Sizes, uint32_t DType,
                                 uint64_t Addr, uint32_t UserIndex) {
  atalla::abi::TensorRecord R{};
  R.Kind = static_cast<uint32_t>(Kind);
  R.DType = DType;
  R.Rank = static_cast<uint32_t>(Sizes.size());
  int64_t Stride = 1;
  for (size_t D = Sizes.size(); D-- > 0;) {
    R.Sizes[D] = Sizes[D];
    R.Strides[D] = Stride;
    Stride *= Sizes[D];
  }
  R.DramAddr = Addr;
  R.Bytes = static_cast<uint64_t>(Stride) * dtypeElementSize(DType);
  R.UserIndex = UserIndex;
  return R;
}

/// Builds the blob for \p C and runs it with AtenFallback.
llvm::Expected<std::vector<HostTensor>> runOne(const Call &C) {
  BlobBuilder B;
  uint64_t Addr = 0;
  std::vector<uint32_t> Operands;
  auto place = [&](atalla::abi::TensorRecord R, const std::string &Name) {
    R.DramAddr = Addr;
    Addr += (R.Bytes + 63) / 64 * 64;
    Operands.push_back(B.addTensor(Name, R));
  };
  for (uint32_t I = 0; I < C.Inputs.size(); ++I)
    place(record(atalla::abi::TensorKind::Input, C.Inputs[I].Sizes, C.Inputs[I].DType, 0, I), "in" + std::to_string(I));
  for (uint32_t I = 0; I < C.Outputs.size(); ++I)
    place(record(atalla::abi::TensorKind::Output, C.Outputs[I].first, C.Outputs[I].second, 0, I),
          "out" + std::to_string(I));
  uint32_t Index = B.beginFallbackCall(C.Op, C.Overload);
  C.Args(B);
  B.addInstruction(atalla::abi::Opcode::Fallback, Index, Operands, static_cast<uint32_t>(C.Outputs.size()), "node");
  B.setDramBytes(Addr + 64);
  auto Parsed = Blob::parse(B.finish(), "fb.atb");
  if (!Parsed)
    return Parsed.takeError();
  AtenFallback H;
  auto X = Executor::create(*Parsed, sim::DeviceConfig(), &H);
  if (!X)
    return X.takeError();
  return (*X)->run(C.Inputs);
}

void tensorArg(BlobBuilder &B, const std::string &Name, int64_t Pos) { B.addFallbackArg(Name, ArgTag::Tensor, {Pos}); }

} // namespace

TEST(AtenFallback, Sin) {
  ASSERT_EXPECTED(Out, runOne({"aten::sin", "", {floats({4}, {0, 0.5f, 1, 2})}, {{{4}, 7}},
                               [](BlobBuilder &B) { tensorArg(B, "self", 0); }}));
  ASSERT_EQ(Out.size(), 1u);
  std::vector<float> V = values(Out[0]);
  EXPECT_FLOAT_EQ(V[1], std::sin(0.5f));
  EXPECT_FLOAT_EQ(V[3], std::sin(2.0f));
}

TEST(AtenFallback, AddTensorWithAlpha) {
  ASSERT_EXPECTED(Out, runOne({"aten::add", "Tensor", {floats({2, 2}, {1, 2, 3, 4}), floats({2, 2}, {10, 20, 30, 40})},
                               {{{2, 2}, 7}}, [](BlobBuilder &B) {
                                 tensorArg(B, "self", 0);
                                 tensorArg(B, "other", 1);
                                 B.addFallbackArg("alpha", ArgTag::Int, {2});
                               }}));
  EXPECT_EQ(values(Out[0]), (std::vector<float>{21, 42, 63, 84}));
  // A float alpha, and the default alpha when absent.
  ASSERT_EXPECTED(Out2, runOne({"aten::add", "Tensor", {floats({2}, {1, 2}), floats({2}, {10, 20})}, {{{2}, 7}},
                                [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  tensorArg(B, "other", 1);
                                  B.addFallbackFloatArg("alpha", ArgTag::Float, {0.5});
                                }}));
  EXPECT_EQ(values(Out2[0]), (std::vector<float>{6, 12}));
  ASSERT_EXPECTED(Out3, runOne({"aten::add", "Tensor", {floats({2}, {1, 2}), floats({2}, {10, 20})}, {{{2}, 7}},
                                [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  tensorArg(B, "other", 1);
                                }}));
  EXPECT_EQ(values(Out3[0]), (std::vector<float>{11, 22}));
}

TEST(AtenFallback, NumberWhereTensorIsExpectedIsAWrappedScalar) {
  // mul.Tensor(x, 3.0): float32 stays float32 (a wrapped number does not promote).
  ASSERT_EXPECTED(Out, runOne({"aten::mul", "Tensor", {floats({3}, {1, 2, 3})}, {{{3}, 7}}, [](BlobBuilder &B) {
                                 tensorArg(B, "self", 0);
                                 B.addFallbackFloatArg("other", ArgTag::Float, {3.0});
                               }}));
  EXPECT_EQ(values(Out[0]), (std::vector<float>{3, 6, 9}));
}

TEST(AtenFallback, ListsAndScalarTypes) {
  // cat(TensorList, dim)
  ASSERT_EXPECTED(Cat, runOne({"aten::cat", "", {floats({1, 2}, {1, 2}), floats({2, 2}, {3, 4, 5, 6})},
                               {{{3, 2}, 7}}, [](BlobBuilder &B) {
                                 B.addFallbackArg("tensors", ArgTag::TensorList, {0, 1});
                                 B.addFallbackArg("dim", ArgTag::Int, {0});
                               }}));
  EXPECT_EQ(values(Cat[0]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // sum.dim_IntList(self, [1], keepdim=True)
  ASSERT_EXPECTED(Sum, runOne({"aten::sum", "dim_IntList", {floats({2, 3}, {1, 2, 3, 4, 5, 6})}, {{{2, 1}, 7}},
                               [](BlobBuilder &B) {
                                 tensorArg(B, "self", 0);
                                 B.addFallbackArg("dim", ArgTag::IntList, {1});
                                 B.addFallbackArg("keepdim", ArgTag::Bool, {1});
                               }}));
  EXPECT_EQ(values(Sum[0]), (std::vector<float>{6, 15}));
  // _to_copy(self, dtype=int64): ScalarType numbers map to c10 and back.
  ASSERT_EXPECTED(Cast, runOne({"aten::_to_copy", "", {floats({3}, {1.5f, -2.5f, 7})}, {{{3}, 5}},
                                [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  B.addFallbackArg("dtype", ArgTag::ScalarType, {5});
                                  B.addFallbackArg("layout", ArgTag::Layout, {7});
                                  B.addFallbackArg("memory_format", ArgTag::MemoryFormat, {4});
                                  B.addFallbackArg("device", ArgTag::Device, {B.addString("cpu")});
                                }}));
  ASSERT_EQ(Cast[0].DType, 5u);
  std::vector<int64_t> I(3);
  std::memcpy(I.data(), Cast[0].Bytes.data(), 24);
  EXPECT_EQ(I, (std::vector<int64_t>{1, -2, 7}));
  // index.Tensor with an optional-tensor list.
  HostTensor Idx;
  Idx.DType = 5;
  Idx.Sizes = {2};
  std::vector<int64_t> IdxV = {1, 0}; // x[:, [1, 0]]
  Idx.Bytes.resize(16);
  std::memcpy(Idx.Bytes.data(), IdxV.data(), 16);
  ASSERT_EXPECTED(Ix, runOne({"aten::index", "Tensor", {floats({3, 2}, {1, 2, 3, 4, 5, 6}), Idx}, {{{3, 2}, 7}},
                              [](BlobBuilder &B) {
                                tensorArg(B, "self", 0);
                                B.addFallbackArg("indices", ArgTag::OptTensorList, {-1, 1});
                              }}));
  EXPECT_EQ(values(Ix[0]), (std::vector<float>{2, 1, 4, 3, 6, 5}));
}

TEST(AtenFallback, ReturnedListCountsAsItsElements) {
  ASSERT_EXPECTED(Out, runOne({"aten::split", "Tensor", {floats({4}, {1, 2, 3, 4})}, {{{2}, 7}, {{2}, 7}},
                               [](BlobBuilder &B) {
                                 tensorArg(B, "self", 0);
                                 B.addFallbackArg("split_size", ArgTag::Int, {2});
                               }}));
  ASSERT_EQ(Out.size(), 2u);
  EXPECT_EQ(values(Out[1]), (std::vector<float>{3, 4}));
}

TEST(AtenFallback, SpecialCases) {
  ASSERT_EXPECTED(Copy, runOne({"aten::lift_fresh_copy", "", {floats({2}, {1, 2})}, {{{2}, 7}},
                                [](BlobBuilder &B) { tensorArg(B, "self", 0); }}));
  EXPECT_EQ(values(Copy[0]), (std::vector<float>{1, 2}));
  // _assert_tensor_metadata: no outputs; a wrong dtype is refused.
  ASSERT_EXPECTED(Ok, runOne({"aten::_assert_tensor_metadata", "", {floats({2}, {1, 2})}, {}, [](BlobBuilder &B) {
                                tensorArg(B, "a", 0);
                                B.addFallbackArg("size", ArgTag::IntList, {2});
                                B.addFallbackArg("dtype", ArgTag::ScalarType, {7});
                                B.addFallbackArg("device", ArgTag::Device, {B.addString("cpu")});
                              }}));
  EXPECT_TRUE(Ok.empty());
  EXPECT_ERROR_CONTAINS(runOne({"aten::_assert_tensor_metadata", "", {floats({2}, {1, 2})}, {}, [](BlobBuilder &B) {
                                 tensorArg(B, "a", 0);
                                 B.addFallbackArg("dtype", ArgTag::ScalarType, {5});
                               }}),
                        "but the graph asserts dtype number 5");
  // scaled_dot_product_attention: one query, two keys, by hand.
  // q = [1, 0], k = [[1, 0], [0, 1]], v = [[1, 2], [3, 4]], scale 1/sqrt(2).
  HostTensor Q = floats({1, 1, 2}, {1, 0}), K = floats({1, 2, 2}, {1, 0, 0, 1}), V = floats({1, 2, 2}, {1, 2, 3, 4});
  ASSERT_EXPECTED(Att, runOne({"aten::scaled_dot_product_attention", "", {Q, K, V}, {{{1, 1, 2}, 7}},
                               [](BlobBuilder &B) {
                                 tensorArg(B, "query", 0);
                                 tensorArg(B, "key", 1);
                                 tensorArg(B, "value", 2);
                               }}));
  double S0 = 1 / std::sqrt(2.0), W0 = std::exp(S0) / (std::exp(S0) + 1), W1 = 1 - W0;
  std::vector<float> A = values(Att[0]);
  EXPECT_NEAR(A[0], W0 * 1 + W1 * 3, 1e-5);
  EXPECT_NEAR(A[1], W0 * 2 + W1 * 4, 1e-5);
}

TEST(AtenFallback, Errors) {
  EXPECT_ERROR_CONTAINS(runOne({"aten::no_such_op", "", {floats({2}, {1, 2})}, {{{2}, 7}},
                                [](BlobBuilder &B) { tensorArg(B, "self", 0); }}),
                        "fb.atb: instruction 0 (node 'node', aten::no_such_op): aten::no_such_op is not available in "
                        "LibTorch 1.13");
  EXPECT_ERROR_CONTAINS(runOne({"aten::mm", "", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2, 3}, {1, 2, 3, 4, 5, 6})},
                                {{{2, 3}, 7}}, [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  tensorArg(B, "mat2", 1);
                                }}),
                        "aten::mm failed in LibTorch: ");
  EXPECT_ERROR_CONTAINS(runOne({"aten::add", "Tensor", {floats({2}, {1, 2})}, {{{2}, 7}},
                                [](BlobBuilder &B) { tensorArg(B, "self", 0); }}),
                        "aten::add.Tensor needs argument 'other', which the blob does not give");
  EXPECT_ERROR_CONTAINS(runOne({"aten::sin", "", {floats({2}, {1, 2})}, {{{2}, 7}},
                                [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  B.addFallbackArg("bogus", ArgTag::Int, {1});
                                }}),
                        "aten::sin: argument 'bogus' is unknown to LibTorch");
  EXPECT_ERROR_CONTAINS(runOne({"aten::sum", "dim_IntList", {floats({2}, {1, 2})}, {{{}, 7}},
                                [](BlobBuilder &B) {
                                  tensorArg(B, "self", 0);
                                  B.addFallbackArg("dim", ArgTag::String, {B.addString("x")});
                                }}),
                        "aten::sum.dim_IntList: argument 'dim'");
  // The result must match the output record.
  EXPECT_ERROR_CONTAINS(runOne({"aten::sin", "", {floats({2}, {1, 2})}, {{{3}, 7}},
                                [](BlobBuilder &B) { tensorArg(B, "self", 0); }}),
                        "result 0 is float32 [2], the program expects float32 [3]");
}

TEST(TorchBlas, NamesTheLibraryThatDefinesSgemm) {
  // LibTorch is linked here, and with it libblas.so.3: whichever provider
  // the alternatives chose, it is found, named and has a real path.
  runtime::AtenFallback F; // pins LibTorch and the BLAS to one thread
  runtime::BlasProvider P = runtime::blasProvider();
  EXPECT_NE(P.Name, "none loaded");
  EXPECT_NE(P.Name, "unknown BLAS") << P.Path;
  ASSERT_FALSE(P.Path.empty());
  EXPECT_EQ(P.Path[0], '/') << P.Path;
  EXPECT_TRUE(std::ifstream(P.Path).good()) << P.Path;
  if (P.Name == "OpenBLAS") {
    EXPECT_EQ(P.Detail.rfind("OpenBLAS ", 0), 0u) << P.Detail;
  }
  EXPECT_NE(P.text().find(P.Path), std::string::npos) << P.text();
}
