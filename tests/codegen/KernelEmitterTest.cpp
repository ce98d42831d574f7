//===- tests/codegen/KernelEmitterTest.cpp - generated kernels vs loops ---===//
//
// Compiles kernel specialisations with compileKernel, links each object with
// ORC against a tiny test-local fake device (DRAM vector, malloc'd scratchpad
// grants, bounds-checked SDMA) and compares the results with naive C++ loop
// nests on random data.
//
// To add a case: build a KernelSpec with the helpers below (contiguous(),
// view(), the *Spec() makers), then call checkElementwise / checkSoftmax /
// checkGemm on it. Those place every operand in fake DRAM (filling the whole
// strided extent with random values), run the kernel, check that it returned
// 0 and freed every grant, that its object needs only the firmware, and
// compare the output against the reference with the family's tolerance:
//   elementwise: exact (bitwise; NaN matches NaN),
//   softmax:     <= 1e-6 absolute,
//   gemm:        |C - ref| <= 2^-21 * sqrt(K) * sum_k |a_mk * b_kn| + 1e-30
//                (ref accumulated in double; the bound is the dot product's
//                 condition times a few fp32 ulps growing like sqrt(K), the
//                 typical growth of rounding errors summed in order).
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"
#include "codegen/KernelEmitter.h"
#include "runtime/abi/KernelAbi.h"

#include "JitTestSupport.h"
#include "KernelSpecTestSupport.h"
#include "TestSupport.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/TargetParser/Host.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

using namespace atalla;
using namespace atalla::abi;
using namespace atalla::codegen;

namespace {

//===----------------------------------------------------------------------===//
// A tiny fake device: DRAM, scratchpad grants, SDMA
//===----------------------------------------------------------------------===//

struct FakeDevice {
  std::vector<uint8_t> Dram;
  struct Grant {
    uint64_t Bytes;
    int32_t Sid;
  };
  std::map<uint8_t *, Grant> Live;
  uint64_t LiveBytes = 0, PeakBytes = 0;
  uint64_t GrantLimit = 1 << 20; ///< one pad
  int FailSdmaAt = -1;           ///< the Nth SDMA (0-based) returns EBOUNDS_DRAM
  int SdmaCount = 0;
  uint64_t BytesIn = 0, BytesOut = 0;
  std::vector<std::string> Violations;

  ~FakeDevice() {
    for (auto &KV : Live)
      std::free(KV.first);
  }

  /// Whether [P, P+N) lies in one live grant.
  bool inGrant(const uint8_t *P, uint64_t N) const {
    auto It = Live.upper_bound(const_cast<uint8_t *>(P));
    if (It == Live.begin())
      return false;
    --It;
    return P >= It->first && P + N <= It->first + It->second.Bytes;
  }

  static void *alloc(void *Ctx, uint64_t Bytes, uint64_t Align, int32_t *Sid) {
    auto *D = static_cast<FakeDevice *>(Ctx);
    if (Align < 64 || (Align & (Align - 1)) || Bytes == 0) {
      D->Violations.push_back("bad alloc request");
      return nullptr;
    }
    if (D->LiveBytes + Bytes > D->GrantLimit)
      return nullptr;
    uint64_t Rounded = (Bytes + Align - 1) / Align * Align;
    auto *P = static_cast<uint8_t *>(std::aligned_alloc(Align, Rounded));
    // Garbage, so a kernel that reads before writing is caught.
    std::memset(P, 0xA5, Rounded);
    D->Live[P] = {Bytes, 0};
    *Sid = 0;
    D->LiveBytes += Bytes;
    D->PeakBytes = std::max(D->PeakBytes, D->LiveBytes);
    return P;
  }
  static void free(void *Ctx, void *Ptr, int32_t Sid) {
    auto *D = static_cast<FakeDevice *>(Ctx);
    if (!Ptr)
      return;
    auto It = D->Live.find(static_cast<uint8_t *>(Ptr));
    if (It == D->Live.end() || It->second.Sid != Sid) {
      D->Violations.push_back("free of an unknown grant");
      return;
    }
    D->LiveBytes -= It->second.Bytes;
    std::free(It->first);
    D->Live.erase(It);
  }
  int32_t check(uint8_t *Scpad, uint64_t Addr, uint32_t Rows, uint32_t RowBytes,
                uint64_t Stride) {
    if (FailSdmaAt >= 0 && SdmaCount++ == FailSdmaAt)
      return ATALLA_SDMA_EBOUNDS_DRAM;
    if (Rows == 0 || RowBytes == 0)
      return ATALLA_SDMA_EINVAL;
    if (Addr + uint64_t(Rows - 1) * Stride + RowBytes > Dram.size())
      return ATALLA_SDMA_EBOUNDS_DRAM;
    if (!inGrant(Scpad, uint64_t(Rows) * RowBytes))
      return ATALLA_SDMA_EBOUNDS_SCPAD;
    return ATALLA_OK;
  }
  static int32_t load(void *Ctx, void *Dst, uint64_t Src, uint32_t Rows, uint32_t RowBytes,
                      uint64_t Stride) {
    auto *D = static_cast<FakeDevice *>(Ctx);
    auto *P = static_cast<uint8_t *>(Dst);
    if (int32_t S = D->check(P, Src, Rows, RowBytes, Stride))
      return S;
    for (uint32_t R = 0; R < Rows; ++R)
      std::memcpy(P + uint64_t(R) * RowBytes, &D->Dram[Src + R * Stride], RowBytes);
    D->BytesIn += uint64_t(Rows) * RowBytes;
    return ATALLA_OK;
  }
  static int32_t store(void *Ctx, uint64_t Dst, const void *Src, uint32_t Rows,
                       uint32_t RowBytes, uint64_t Stride) {
    auto *D = static_cast<FakeDevice *>(Ctx);
    auto *P = static_cast<uint8_t *>(const_cast<void *>(Src));
    if (int32_t S = D->check(P, Dst, Rows, RowBytes, Stride))
      return S;
    for (uint32_t R = 0; R < Rows; ++R)
      std::memcpy(&D->Dram[Dst + R * Stride], P + uint64_t(R) * RowBytes, RowBytes);
    D->BytesOut += uint64_t(Rows) * RowBytes;
    return ATALLA_OK;
  }
};

//===----------------------------------------------------------------------===//
// Linking objects with ORC, firmware symbols only
//===----------------------------------------------------------------------===//

struct LinkedKernel {
  std::unique_ptr<llvm::orc::LLJIT> J;
  KernelFn Fn = nullptr;
};

/// An LLJIT whose only symbols are the fake device's firmware.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> makeJit() {
  return test::makeJit({{"atalla_scpad_alloc", reinterpret_cast<void *>(&FakeDevice::alloc)},
                        {"atalla_scpad_free", reinterpret_cast<void *>(&FakeDevice::free)},
                        {"atalla_sdma_load", reinterpret_cast<void *>(&FakeDevice::load)},
                        {"atalla_sdma_store", reinterpret_cast<void *>(&FakeDevice::store)}});
}
using test::linkObject;
using test::undefinedSymbols;

const std::set<std::string> FirmwareSymbols = {"atalla_scpad_alloc", "atalla_scpad_free",
                                               "atalla_sdma_load", "atalla_sdma_store"};

//===----------------------------------------------------------------------===//
// Specs and strided data
//===----------------------------------------------------------------------===//

using atalla::test::contiguous;
using atalla::test::gemmOperands;
using atalla::test::permuted;
using atalla::test::view;

/// Elements a strided view spans in storage.
int64_t extent(const OperandSpec &O) {
  if (O.numel() == 0)
    return 0;
  int64_t E = 1;
  for (size_t D = 0; D < O.Sizes.size(); ++D)
    E += (O.Sizes[D] - 1) * O.Strides[D];
  return E;
}

/// Storage offset of the I-th element (row-major over Sizes) of a view.
int64_t offsetOf(const OperandSpec &O, int64_t I) {
  int64_t Off = 0;
  for (size_t D = O.Sizes.size(); D-- > 0;) {
    Off += (I % O.Sizes[D]) * O.Strides[D];
    I /= O.Sizes[D];
  }
  return Off;
}

struct RunResult {
  int32_t Status = -1;
  std::vector<float> Out; ///< the output, contiguous
  uint64_t PeakGrant = 0;
};

/// Compiles, links and runs Spec with Inputs[i] the storage of operand i.
/// Checks the object's symbols and that every grant was freed.
RunResult runKernel(const KernelSpec &Spec, const std::vector<std::vector<float>> &Inputs,
                    FakeDevice *Dev = nullptr, const CodegenOptions &Opts = CodegenOptions()) {
  RunResult R;
  auto K = compileKernel(Spec, Opts);
  if (!K) {
    ADD_FAILURE() << "compileKernel: " << llvm::toString(K.takeError());
    return R;
  }
  for (const std::string &S : undefinedSymbols(K->Object))
    EXPECT_TRUE(FirmwareSymbols.count(S)) << Spec.key() << ": object needs '" << S << "'";
  auto J = makeJit();
  if (!J) {
    ADD_FAILURE() << "LLJIT: " << llvm::toString(J.takeError());
    return R;
  }
  auto Fn = linkObject<KernelFn>(**J, K->Object, K->Symbol);
  if (!Fn) {
    ADD_FAILURE() << "link: " << llvm::toString(Fn.takeError());
    return R;
  }

  FakeDevice Local;
  FakeDevice &D = Dev ? *Dev : Local;
  std::vector<uint64_t> Args;
  uint64_t Top = 64; // address 0 stays unused
  for (size_t I = 0; I < Spec.Operands.size(); ++I) {
    Args.push_back(Top);
    Top += (extent(Spec.Operands[I]) * 4 + 63) / 64 * 64 + 64;
  }
  D.Dram.assign(Top, 0xEE);
  for (size_t I = 0; I + 1 < Spec.Operands.size(); ++I) {
    EXPECT_EQ(int64_t(Inputs[I].size()), extent(Spec.Operands[I]));
    if (!Inputs[I].empty()) // an empty input's data() may be null, which memcpy may not be given
      std::memcpy(&D.Dram[Args[I]], Inputs[I].data(), Inputs[I].size() * 4);
  }
  R.Status = (*Fn)(&D, Args.data());
  EXPECT_TRUE(D.Live.empty()) << Spec.key() << ": " << D.Live.size() << " grants not freed";
  for (const std::string &V : D.Violations)
    ADD_FAILURE() << Spec.key() << ": " << V;
  R.PeakGrant = D.PeakBytes;
  R.Out.resize(Spec.output().numel());
  if (!R.Out.empty())
    std::memcpy(R.Out.data(), &D.Dram[Args.back()], R.Out.size() * 4);
  return R;
}

std::mt19937 &rng() {
  static std::mt19937 G(12345);
  return G;
}

std::vector<float> randomStorage(const OperandSpec &O, float Lo = -1, float Hi = 1) {
  std::uniform_real_distribution<float> U(Lo, Hi);
  std::vector<float> V(extent(O));
  for (float &X : V)
    X = U(rng());
  return V;
}

bool sameFloat(float A, float B) {
  if (std::isnan(A) || std::isnan(B))
    return std::isnan(A) && std::isnan(B);
  uint32_t Ua, Ub;
  std::memcpy(&Ua, &A, 4);
  std::memcpy(&Ub, &B, 4);
  return Ua == Ub;
}

KernelSpec makeSpec(KernelId K, std::vector<OperandSpec> Ops) {
  KernelSpec S;
  S.Kernel = K;
  S.Operands = std::move(Ops);
  return S;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Kept out of line so the compiler cannot contract a + alpha * b into an fma.
[[gnu::noinline]] float mulAdd(float A, float Alpha, float B, bool Sub) {
  volatile float T = Alpha * B;
  return Sub ? A - T : A + T;
}

float refElementwise(const KernelSpec &S, float A, float B) {
  switch (S.Kernel) {
  case KernelId::relu:
    return A < 0 ? 0.0f : A;
  case KernelId::copy:
    return A;
  case KernelId::add:
  case KernelId::sub: {
    bool Sub = S.Kernel == KernelId::sub;
    if (S.Alpha == 1)
      return Sub ? A - B : A + B;
    return mulAdd(A, float(S.Alpha), B, Sub);
  }
  case KernelId::mul:
    return A * B;
  case KernelId::div:
    return A / B;
  default:
    return NAN;
  }
}

void checkElementwise(const KernelSpec &S, std::vector<std::vector<float>> In = {}) {
  SCOPED_TRACE(S.key());
  size_t NumIn = S.Operands.size() - 1;
  for (size_t I = In.size(); I < NumIn; ++I)
    In.push_back(randomStorage(S.Operands[I], -4, 4));
  RunResult R = runKernel(S, In);
  ASSERT_EQ(R.Status, 0);
  EXPECT_LE(R.PeakGrant, 768u * 1024);
  const OperandSpec &Out = S.output();
  int64_t Bad = 0;
  for (int64_t I = 0; I < Out.numel(); ++I) {
    float A = In[0][offsetOf(S.Operands[0], I)];
    float B = S.HasScalar ? float(S.Scalar)
              : NumIn > 1 ? In[1][offsetOf(S.Operands[1], I)]
                          : 0.0f;
    float Want = refElementwise(S, A, B);
    if (!sameFloat(R.Out[I], Want) && Bad++ < 5)
      ADD_FAILURE() << "element " << I << ": got " << R.Out[I] << ", want " << Want;
  }
  EXPECT_EQ(Bad, 0);
}

TEST(Elementwise, ReluContiguous) {
  KernelSpec S = makeSpec(KernelId::relu, {contiguous({3, 5, 7}), contiguous({3, 5, 7})});
  std::vector<float> In = randomStorage(S.Operands[0]);
  In[0] = NAN;
  In[1] = -0.0f;
  In[2] = -INFINITY;
  In[3] = INFINITY;
  checkElementwise(S, {In});
}

TEST(Elementwise, ReluTransposedInput) {
  checkElementwise(makeSpec(KernelId::relu, {permuted({48, 64}, {1, 0}), contiguous({64, 48})}));
}

TEST(Elementwise, ReluLongRowChunked) {
  // 40000 columns: three chunks of <= 16384 per row, the last one short.
  checkElementwise(makeSpec(KernelId::relu, {view({3, 40000}, {40017, 1}), contiguous({3, 40000})}));
}

TEST(Elementwise, BinaryContiguous) {
  for (KernelId K : {KernelId::add, KernelId::sub, KernelId::mul, KernelId::div})
    checkElementwise(
        makeSpec(K, {contiguous({2, 3, 4, 5}), contiguous({2, 3, 4, 5}), contiguous({2, 3, 4, 5})}));
}

TEST(Elementwise, BinaryBroadcastRow) {
  // B is one row [129] broadcast over 37 rows (stride 0).
  for (KernelId K : {KernelId::add, KernelId::sub, KernelId::mul, KernelId::div})
    checkElementwise(
        makeSpec(K, {contiguous({37, 129}), view({37, 129}, {0, 1}), contiguous({37, 129})}));
}

TEST(Elementwise, BinaryBroadcastColumn) {
  // B is one column [37, 1] broadcast over 129 columns.
  for (KernelId K : {KernelId::add, KernelId::mul, KernelId::div})
    checkElementwise(
        makeSpec(K, {contiguous({37, 129}), view({37, 129}, {1, 0}), contiguous({37, 129})}));
}

TEST(Elementwise, BinaryBroadcastBothAndBatch) {
  // A [4,1,6] + B [1,5,1] -> [4,5,6]; many short rows.
  checkElementwise(makeSpec(KernelId::add, {view({4, 5, 6}, {6, 0, 1}), view({4, 5, 6}, {0, 1, 0}),
                                            contiguous({4, 5, 6})}));
  checkElementwise(makeSpec(KernelId::mul, {contiguous({5000, 3}), view({5000, 3}, {0, 1}),
                                            contiguous({5000, 3})}));
}

TEST(Elementwise, BinaryScalarAndAlpha) {
  for (KernelId K : {KernelId::add, KernelId::sub, KernelId::mul, KernelId::div}) {
    KernelSpec S = makeSpec(K, {contiguous({10, 33}), contiguous({10, 33})});
    S.HasScalar = true;
    S.Scalar = 1.7;
    checkElementwise(S);
  }
  for (KernelId K : {KernelId::add, KernelId::sub}) {
    KernelSpec S = makeSpec(K, {contiguous({10, 33}), view({10, 33}, {0, 1}), contiguous({10, 33})});
    S.Alpha = 2;
    checkElementwise(S);
    S.Alpha = 0.3;
    checkElementwise(S);
  }
}

TEST(Elementwise, RankZeroAndOne) {
  checkElementwise(makeSpec(KernelId::add, {contiguous({}), contiguous({}), contiguous({})}));
  checkElementwise(makeSpec(KernelId::relu, {contiguous({1000}), contiguous({1000})}));
  // A scalar broadcast to a vector.
  checkElementwise(makeSpec(KernelId::sub, {contiguous({77}), view({77}, {0}), contiguous({77})}));
  // Empty tensors: nothing to do.
  checkElementwise(makeSpec(KernelId::relu, {contiguous({0, 5}), contiguous({0, 5})}));
}

TEST(Elementwise, CopyTranspose) {
  checkElementwise(makeSpec(KernelId::copy, {permuted({48, 64}, {1, 0}), contiguous({64, 48})}));
  checkElementwise(makeSpec(KernelId::copy, {permuted({130, 257}, {1, 0}), contiguous({257, 130})}));
  // Batched transpose of the last two dims.
  checkElementwise(
      makeSpec(KernelId::copy, {permuted({3, 40, 50}, {0, 2, 1}), contiguous({3, 50, 40})}));
}

TEST(Elementwise, CopyPermuteRank4) {
  checkElementwise(
      makeSpec(KernelId::copy, {permuted({2, 3, 4, 5}, {2, 0, 3, 1}), contiguous({4, 2, 5, 3})}));
  checkElementwise(
      makeSpec(KernelId::copy, {permuted({6, 7, 8, 9}, {3, 1, 2, 0}), contiguous({9, 7, 8, 6})}));
}

TEST(Elementwise, CopyExpandAndSlice) {
  // [100] expanded to [4, 100] (stride-0 rows) and [100, 1] to [100, 4] (stride-0 cols).
  checkElementwise(makeSpec(KernelId::copy, {view({4, 100}, {0, 1}), contiguous({4, 100})}));
  checkElementwise(makeSpec(KernelId::copy, {view({100, 4}, {1, 0}), contiguous({100, 4})}));
  // Every other element of every third row (a gather).
  checkElementwise(makeSpec(KernelId::copy, {view({10, 50}, {300, 2}), contiguous({10, 50})}));
  // Contiguous copy (one block) and a contiguous copy with padded rows.
  checkElementwise(makeSpec(KernelId::copy, {contiguous({64, 64}), contiguous({64, 64})}));
  checkElementwise(makeSpec(KernelId::copy, {view({64, 60}, {64, 1}), contiguous({64, 60})}));
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

void checkSoftmax(const KernelSpec &S, std::vector<float> In = {}) {
  SCOPED_TRACE(S.key());
  if (In.empty())
    In = randomStorage(S.Operands[0], -5, 5);
  RunResult R = runKernel(S, {In});
  ASSERT_EQ(R.Status, 0);
  EXPECT_LE(R.PeakGrant, 768u * 1024);
  const OperandSpec &X = S.Operands[0], &Out = S.output();
  const int64_t Rank = int64_t(Out.Sizes.size());
  const int64_t D = Rank ? Out.Sizes[S.Dim] : 1;
  const int64_t RedStride = Rank ? X.Strides[S.Dim] : 0;
  int64_t Inner = 1;
  for (int64_t I = S.Dim + 1; I < Rank; ++I)
    Inner *= Out.Sizes[I];
  int64_t Bad = 0;
  double MaxErr = 0;
  for (int64_t I = 0; I < Out.numel(); ++I) {
    // Each reduction vector once, from its first element (K == 0).
    if (Rank && (I / Inner) % D != 0)
      continue;
    int64_t Off0 = offsetOf(X, I);
    double Max = -INFINITY;
    bool Nan = false;
    for (int64_t J = 0; J < D; ++J) {
      float V = In[Off0 + J * RedStride];
      Nan |= std::isnan(V);
      Max = std::max(Max, double(V));
    }
    double Sum = 0;
    for (int64_t J = 0; J < D; ++J)
      Sum += std::exp(double(In[Off0 + J * RedStride]) - Max);
    for (int64_t J = 0; J < D; ++J) {
      double Want = std::exp(double(In[Off0 + J * RedStride]) - Max) / Sum;
      if (Nan || Max == -INFINITY)
        Want = NAN;
      float Got = R.Out[I + J * Inner];
      bool Ok = std::isnan(Want) ? std::isnan(Got) : std::fabs(Got - Want) <= 1e-6;
      if (!std::isnan(Want))
        MaxErr = std::max(MaxErr, std::fabs(Got - Want));
      if (!Ok && Bad++ < 5)
        ADD_FAILURE() << "element " << I + J * Inner << ": got " << Got << ", want " << Want;
    }
  }
  EXPECT_EQ(Bad, 0) << "max abs error " << MaxErr;
}

KernelSpec softmaxSpec(OperandSpec In, int64_t Dim) {
  KernelSpec S = makeSpec(KernelId::softmax, {In, contiguous(In.Sizes)});
  S.Dim = Dim;
  return S;
}

TEST(Softmax, LastDim) {
  checkSoftmax(softmaxSpec(contiguous({4, 16}), 1));
  checkSoftmax(softmaxSpec(contiguous({2, 3, 1000}), 2));
  checkSoftmax(softmaxSpec(contiguous({3, 70000}), 1)); // one long row per tile
  checkSoftmax(softmaxSpec(contiguous({5000, 7}), 1));   // many short rows per SDMA
  // Vector loop, leftover vectors and scalar tail: 32 * k + 8 * j + r.
  checkSoftmax(softmaxSpec(contiguous({3, 32 * 5 + 8 * 3 + 5}), 1));
  checkSoftmax(softmaxSpec(contiguous({9, 8}), 1));
}

TEST(Softmax, MiddleAndFirstDim) {
  checkSoftmax(softmaxSpec(contiguous({8, 33, 5}), 1));
  checkSoftmax(softmaxSpec(contiguous({33, 300}), 0));
  checkSoftmax(softmaxSpec(contiguous({2, 3, 4, 5}), 1));
  checkSoftmax(softmaxSpec(contiguous({3, 40000, 2}), 1)); // one column per tile
}

TEST(Softmax, StridedInput) {
  // softmax over a transposed view, along each of its dims.
  checkSoftmax(softmaxSpec(permuted({40, 30}, {1, 0}), 1));
  checkSoftmax(softmaxSpec(permuted({40, 30}, {1, 0}), 0));
  checkSoftmax(softmaxSpec(permuted({4, 5, 6}, {2, 0, 1}), 1));
  // A broadcast input (stride 0 along the reduced dim): uniform rows.
  checkSoftmax(softmaxSpec(view({6, 9}, {1, 0}), 1));
}

TEST(Softmax, EdgeValues) {
  // A row of one element, a scalar.
  checkSoftmax(softmaxSpec(contiguous({5, 1}), 1));
  checkSoftmax(softmaxSpec(contiguous({}), 0));
  // Large magnitudes: +-80 in every row.
  KernelSpec S = softmaxSpec(contiguous({16, 64}), 1);
  std::vector<float> In = randomStorage(S.Operands[0], -80, 80);
  checkSoftmax(S, In);
  // -inf entries; one row entirely -inf (NaN, as torch).
  for (int I = 0; I < 64; I += 3)
    In[I] = -INFINITY;
  for (int I = 64; I < 128; ++I)
    In[I] = -INFINITY;
  In[200] = NAN;
  checkSoftmax(S, In);
}

//===----------------------------------------------------------------------===//
// Gemm
//===----------------------------------------------------------------------===//

/// C [batch..., M, N] contiguous; A, B (, Bias) as given.
KernelSpec gemmSpec(OperandSpec A, OperandSpec B, std::optional<OperandSpec> Bias = {}) {
  KernelSpec S = makeSpec(KernelId::gemm, gemmOperands(A, B, Bias));
  S.HasBias = Bias.has_value();
  return S;
}

void checkGemm(const KernelSpec &S, const CodegenOptions &Opts = CodegenOptions()) {
  SCOPED_TRACE(S.key());
  std::vector<std::vector<float>> In;
  for (size_t I = 0; I + 1 < S.Operands.size(); ++I)
    In.push_back(randomStorage(S.Operands[I]));
  RunResult R = runKernel(S, In, nullptr, Opts);
  ASSERT_EQ(R.Status, 0);
  EXPECT_LE(R.PeakGrant, 768u * 1024);
  const OperandSpec &A = S.Operands[0], &B = S.Operands[1], &C = S.output();
  const size_t Rank = C.Sizes.size();
  const int64_t M = C.Sizes[Rank - 2], N = C.Sizes[Rank - 1], K = A.Sizes[Rank - 1];
  const int64_t Batch = C.numel() / std::max<int64_t>(1, M * N);
  // Batch offsets of each operand: the offset of element (b, 0, 0).
  auto batchOffset = [&](const OperandSpec &O, int64_t Bi) {
    int64_t Off = 0;
    for (size_t D = Rank - 2; D-- > 0;) {
      Off += (Bi % O.Sizes[D]) * O.Strides[D];
      Bi /= O.Sizes[D];
    }
    return Off;
  };
  const double Tol = std::ldexp(1.0, -21) * std::sqrt(double(std::max<int64_t>(K, 1)));
  int64_t Bad = 0;
  double MaxNorm = 0;
  for (int64_t Bi = 0; Bi < Batch; ++Bi) {
    int64_t OA = batchOffset(A, Bi), OB = batchOffset(B, Bi);
    for (int64_t Mi = 0; Mi < M; ++Mi)
      for (int64_t Ni = 0; Ni < N; ++Ni) {
        double Sum = 0, Abs = 0;
        for (int64_t Ki = 0; Ki < K; ++Ki) {
          double P = double(In[0][OA + Mi * A.Strides[Rank - 2] + Ki * A.Strides[Rank - 1]]) *
                     double(In[1][OB + Ki * B.Strides[Rank - 2] + Ni * B.Strides[Rank - 1]]);
          Sum += P;
          Abs += std::fabs(P);
        }
        if (S.HasBias) {
          const OperandSpec &Bias = S.Operands[2];
          double V = In[2][batchOffset(Bias, Bi) + Mi * Bias.Strides[Rank - 2] +
                           Ni * Bias.Strides[Rank - 1]];
          Sum += V;
          Abs += std::fabs(V);
        }
        float Got = R.Out[(Bi * M + Mi) * N + Ni];
        double Err = std::fabs(double(Got) - Sum);
        double Norm = Err / std::max(Abs, 1e-30);
        MaxNorm = std::max(MaxNorm, Norm);
        if (!(Err <= Tol * Abs + 1e-30) && Bad++ < 5)
          ADD_FAILURE() << "C[" << Bi << "," << Mi << "," << Ni << "]: got " << Got << ", want "
                        << Sum << " (normalised error " << Norm << ")";
      }
  }
  EXPECT_EQ(Bad, 0) << "max normalised error " << MaxNorm << ", tolerance " << Tol;
}

TEST(Gemm, Plain) {
  checkGemm(gemmSpec(contiguous({64, 128}), contiguous({128, 96})));
  checkGemm(gemmSpec(contiguous({4, 8}), contiguous({8, 16})));
}

TEST(Gemm, OddShapes) {
  checkGemm(gemmSpec(contiguous({1, 1}), contiguous({1, 1})));
  checkGemm(gemmSpec(contiguous({17, 33}), contiguous({33, 65})));
  checkGemm(gemmSpec(contiguous({5, 300}), contiguous({300, 70})));
  // Several tiles in every dim, with remainders: M 130 (64), N 300 (256), K 520 (256).
  checkGemm(gemmSpec(contiguous({130, 520}), contiguous({520, 300})));
  checkGemm(gemmSpec(contiguous({3, 1}), contiguous({1, 7}))); // K = 1
  checkGemm(gemmSpec(contiguous({7, 9}), contiguous({9, 1})));  // N = 1
}

TEST(Gemm, Batched) {
  checkGemm(gemmSpec(contiguous({3, 20, 30}), contiguous({3, 30, 40})));
  // B shared by every batch (stride 0), and a rank-4 batch with A broadcast in dim 1.
  checkGemm(gemmSpec(contiguous({3, 20, 30}), view({3, 30, 40}, {0, 40, 1})));
  checkGemm(gemmSpec(view({2, 3, 9, 11}, {99, 0, 11, 1}), contiguous({2, 3, 11, 5})));
}

TEST(Gemm, TransposedOperands) {
  // A given as [M, K] with strides (1, M): x.T @ y.
  checkGemm(gemmSpec(permuted({33, 17}, {1, 0}), contiguous({33, 65})));
  // B given as [K, N] with strides (1, K): x @ y.T (as in relu(x @ y.T)).
  checkGemm(gemmSpec(contiguous({128, 64}), permuted({128, 64}, {1, 0})));
  checkGemm(gemmSpec(contiguous({70, 300}), permuted({270, 300}, {1, 0})));
  // Both, batched (attention's q @ k.T with k transposed per batch).
  checkGemm(gemmSpec(permuted({2, 40, 30}, {0, 2, 1}), permuted({2, 50, 40}, {0, 2, 1})));
  // Neither last stride is 1: gathered tiles.
  checkGemm(gemmSpec(view({6, 10}, {40, 2}), view({10, 12}, {30, 2})));
}

TEST(Gemm, Bias) {
  // addmm / linear: bias [N] broadcast over rows (strides (0, 1)).
  checkGemm(gemmSpec(contiguous({32, 128}), contiguous({128, 64}), view({32, 64}, {0, 1})));
  checkGemm(gemmSpec(contiguous({130, 40}), permuted({300, 40}, {1, 0}), view({130, 300}, {0, 1})));
  // A full [M, N] bias, and a per-row bias [M, 1] (strides (1, 0)), batched.
  checkGemm(gemmSpec(contiguous({9, 20}), contiguous({20, 7}), contiguous({9, 7})));
  checkGemm(gemmSpec(contiguous({2, 9, 20}), contiguous({2, 20, 7}), view({2, 9, 7}, {9, 1, 0})));
}

TEST(Gemm, BlockingPaths) {
  // Few rows of C: B read in place, small K blocks with a remainder, an N
  // panel remainder and a short last vector (N = 37 = 2 * 16 + 5).
  checkGemm(gemmSpec(contiguous({1, 1000}), contiguous({1000, 37})));
  checkGemm(gemmSpec(contiguous({13, 300}), contiguous({300, 100})));
  // Several M, N and K blocks with remainders everywhere, B rows staged in
  // several chunks, and a broadcast bias seeding every tile.
  checkGemm(gemmSpec(contiguous({200, 600}), contiguous({600, 700}), view({200, 700}, {0, 1})));
  // K = 0: C is zeros, or the bias.
  checkGemm(gemmSpec(contiguous({5, 0}), contiguous({0, 7})));
  checkGemm(gemmSpec(contiguous({5, 0}), contiguous({0, 7}), view({5, 7}, {0, 1})));
  // M between full row groups and remainders of every size (1..5 rows).
  for (int64_t M : {19, 20, 21, 22, 23})
    checkGemm(gemmSpec(contiguous({M, 40}), contiguous({40, 48})));
}

TEST(Gemm, EachBlockingsRowGroupsCoverEveryRow) {
  // Both register blockings on any host (LLVM splits 512-bit vectors on a
  // 256-bit target): rows in whole groups and remainders of every size, on
  // AVX2 the remainders of 1 and 2 rows spread over one more group
  // (GemmPlan.h, spreadRemainderRows: 7 = 4 + 3, 13 = 5 + 4 + 4, 20 = 4 x
  // 5, 128 = 18 x 6 + 4 x 5), with a narrower last panel (N = 40 = 32 + 8)
  // and several K blocks (K = 300).
  for (VectorIsa Isa : {VectorIsa::Avx2, VectorIsa::Avx512}) {
    CodegenOptions O;
    O.Isa = Isa;
    for (int64_t M : {7, 8, 12, 13, 14, 15, 19, 20, 29, 30, 128})
      checkGemm(gemmSpec(contiguous({M, 300}), contiguous({300, 40})), O);
  }
}

TEST(Gemm, RegisterBlockedMicrokernel) {
  // The hot loop works on explicit vectors with fused multiply-adds: 8
  // lanes for AVX2's blocking, 16 for AVX-512's (whatever the host).
  KernelSpec S = gemmSpec(contiguous({64, 64}), contiguous({64, 64}));
  CodegenOptions O;
  O.Isa = VectorIsa::Avx2;
  ASSERT_EXPECTED(Ir, kernelText(S, O, false));
  EXPECT_NE(Ir.find("<8 x float>"), std::string::npos);
  EXPECT_NE(Ir.find("fmuladd.v8f32"), std::string::npos);
  EXPECT_EQ(Ir.find("fmuladd.v16f32"), std::string::npos);
  O.Isa = VectorIsa::Avx512;
  ASSERT_EXPECTED(Ir512, kernelText(S, O, false));
  EXPECT_NE(Ir512.find("fmuladd.v16f32"), std::string::npos);
}

// Object level: each family compiled for named CPUs (no host needed to
// compile) uses the vector width of that CPU's ISA. AVX-512 cores get
// 512-bit FMAs in the GEMM and 512-bit arithmetic in the other families,
// whatever LLVM's tuning for the core prefers; x86-64-v3 (AVX2) gets 256-bit
// ones and nothing wider. The bf16 GEMMs' AMX tiles are the test below.
TEST(ObjectLevel, Bf16GemmsUseAmxTilesWhereTheTargetHasThem) {
  // A bf16 GEMM (operands stored as bf16) multiplies on the AMX tile unit
  // (tdpbf16ps; LLVM configures the tiles) on targets with AMX-BF16
  // (Sapphire Rapids), and in f32 FMAs elsewhere, including AVX512-BF16
  // cores without AMX (Zen 4, Cooper Lake); an f32 GEMM never uses it. With
  // K whole 32s the operands come in as raw bf16 and all of C is on the
  // tile unit, the 8-wide last panel included; otherwise the tile unit takes
  // the whole 32 x 32 blocks and that panel stays f32.
  KernelSpec Bf = gemmSpec(contiguous({128, 96}), contiguous({96, 168})); // 5 panels of 32 and one of 8
  Bf.Type = DType::BF16;
  KernelSpec Bf100 = gemmSpec(contiguous({128, 100}), contiguous({100, 168}));
  Bf100.Type = DType::BF16;
  const KernelSpec F = gemmSpec(contiguous({128, 96}), contiguous({96, 168}));
  for (auto [Cpu, Has] : {std::pair<const char *, bool>{"sapphirerapids", true},
                          {"znver4", false},
                          {"cooperlake", false},
                          {"skylake-avx512", false},
                          {"x86-64-v3", false}}) {
    SCOPED_TRACE(Cpu);
    CodegenOptions O;
    O.TargetCPU = Cpu;
    ASSERT_EXPECTED(Asm, kernelText(Bf, O, true));
    EXPECT_EQ(Asm.find("tdpbf16ps") != std::string::npos, Has);
    EXPECT_EQ(Asm.find("ldtilecfg") != std::string::npos, Has);
    EXPECT_EQ(Asm.find("vfmadd231ps") != std::string::npos, !Has); // raw bf16: no f32 microkernel at all
    ASSERT_EXPECTED(Asm100, kernelText(Bf100, O, true));
    EXPECT_EQ(Asm100.find("tdpbf16ps") != std::string::npos, Has);
    EXPECT_NE(Asm100.find("vfmadd231ps"), std::string::npos); // the 8-wide panel stays f32
    ASSERT_EXPECTED(AsmF, kernelText(F, O, true));
    EXPECT_EQ(AsmF.find("tdpbf16ps"), std::string::npos);
  }
  // Where this host has AMX-BF16, the KernelsBf16 suite (kernel_tests) runs
  // the tile path on every bf16 GEMM shape with 32 x 32 blocks; elsewhere
  // it is compiled and inspected here only.
  llvm::StringMap<bool> Features = llvm::sys::getHostCPUFeatures();
  const bool Host = Features.lookup("amx-bf16") && Features.lookup("amx-tile");
  std::printf("[bf16 tiles] this host %s AMX-BF16: %s\n", Host ? "has" : "lacks",
              Host ? "KernelsBf16 runs tdpbf16ps" : "skipped at run time, inspected here");
}

TEST(ObjectLevel, EachFamilyUsesItsTargetsVectorWidth) {
  KernelSpec Unary = makeSpec(KernelId::exp, {contiguous({64, 256}), contiguous({64, 256})});
  KernelSpec Norm = makeSpec(KernelId::layer_norm,
                             {contiguous({64, 512}), view({64, 512}, {0, 1}), view({64, 512}, {0, 1}), contiguous({64, 512})});
  Norm.HasScalar = true;
  Norm.Scalar = 1e-5;
  const std::vector<std::pair<const char *, KernelSpec>> Families = {
      {"gemm", gemmSpec(contiguous({128, 128}), contiguous({128, 128}))},
      {"softmax", softmaxSpec(contiguous({64, 1024}), 1)},
      {"unary", Unary},
      {"norm", Norm},
      {"reduce", makeSpec(KernelId::sum, {contiguous({64, 1024}), contiguous({64, 1})})},
  };
  for (const char *Cpu : {"skylake-avx512", "znver4", "sapphirerapids", "x86-64-v3"}) {
    const bool Wide = std::string(Cpu) != "x86-64-v3";
    CodegenOptions O;
    O.TargetCPU = Cpu;
    ASSERT_EXPECTED(Isa, resolvedIsa(O));
    EXPECT_EQ(Isa, Wide ? VectorIsa::Avx512 : VectorIsa::Avx2) << Cpu;
    for (const auto &[Name, S] : Families) {
      SCOPED_TRACE(std::string(Cpu) + " " + Name);
      ASSERT_EXPECTED(Asm, kernelText(S, O, true));
      const bool Zmm = Asm.find("%zmm") != std::string::npos, Ymm = Asm.find("%ymm") != std::string::npos;
      EXPECT_EQ(Zmm, Wide);
      if (!Wide) {
        EXPECT_TRUE(Ymm);
      }
      if (std::string(Name) == "gemm") {
        const bool Fma512 = Asm.find("vfmadd231ps\t%zmm") != std::string::npos ||
                            (Asm.find("vfmadd231ps\t(") != std::string::npos && Zmm);
        EXPECT_EQ(Fma512, Wide);
        // The register blocking uses what the ISA has: more than AVX2's 16
        // vector registers where there are 32.
        std::set<std::string> Regs;
        const std::string Prefix = Wide ? "%zmm" : "%ymm";
        for (size_t P = Asm.find(Prefix); P != std::string::npos; P = Asm.find(Prefix, P + 1)) {
          size_t E = P + Prefix.size();
          while (E < Asm.size() && std::isdigit(static_cast<unsigned char>(Asm[E])))
            ++E;
          Regs.insert(Asm.substr(P, E - P));
        }
        EXPECT_GE(Regs.size(), Wide ? 28u : 14u);
      }
    }
  }
}

TEST(Gemm, GenericCpuNeedsOnlyFirmware) {
  // Odd vector widths (<5 x float>) on a target without AVX or FMA.
  CodegenOptions O;
  O.TargetCPU = "generic";
  O.Features = "+sse2";
  KernelSpec S = gemmSpec(contiguous({7, 9}), contiguous({9, 21}), view({7, 21}, {0, 1}));
  ASSERT_EXPECTED(K, compileKernel(S, O));
  for (const std::string &Sym : undefinedSymbols(K.Object))
    EXPECT_TRUE(FirmwareSymbols.count(Sym)) << Sym;
}

//===----------------------------------------------------------------------===//
// Failure paths: the kernel returns the status and frees every grant
//===----------------------------------------------------------------------===//

TEST(KernelShape, NoGiantBasicBlocks) {
  // Short constant loops nested in each other must not all be unrolled into
  // one block: the machine scheduler is quadratic in a block's length (a
  // linear layer's B repack once took 5 s to compile as a 4000-instruction
  // block). Every block of these kernels stays under 1500 instructions.
  std::vector<KernelSpec> Specs = {
      // linear: x [16, 64] @ W^T (W [64, 64] row-major: B strides (1, 64)) + bias
      makeSpec(KernelId::gemm, {view({1, 16, 64}, {0, 64, 1}), view({1, 64, 64}, {0, 1, 64}),
                                view({1, 16, 64}, {0, 0, 1}), contiguous({1, 16, 64})}),
      makeSpec(KernelId::gemm, {view({1, 16, 256}, {0, 256, 1}), view({1, 256, 64}, {0, 1, 256}),
                                view({1, 16, 64}, {0, 0, 1}), contiguous({1, 16, 64})}),
      makeSpec(KernelId::gemm, {contiguous({64, 64}), contiguous({64, 64}), contiguous({64, 64})}),
  };
  Specs[0].HasBias = Specs[1].HasBias = true;
  for (const KernelSpec &S : Specs) {
    ASSERT_EXPECTED(Text, codegen::kernelText(S, CodegenOptions(), /*Assembly=*/false));
    size_t Largest = 0, Current = 0;
    std::istringstream In(Text);
    for (std::string Line; std::getline(In, Line);) {
      bool Label = !Line.empty() && Line[0] != ' ' && Line.back() == ':';
      bool Label2 = !Line.empty() && Line[0] != ' ' && Line.find(":") != std::string::npos &&
                    Line.find(";") != std::string::npos && Line.find(":") < Line.find(";");
      if (Label || Label2 || Line == "}") {
        Largest = std::max(Largest, Current);
        Current = 0;
      } else if (Line.size() > 2 && Line[0] == ' ') {
        ++Current;
      }
    }
    Largest = std::max(Largest, Current);
    EXPECT_LT(Largest, 1500u) << S.key();
  }
}

TEST(KernelAbi, ScratchpadExhausted) {
  KernelSpec S = makeSpec(KernelId::add, {contiguous({8, 8}), contiguous({8, 8}), contiguous({8, 8})});
  FakeDevice D;
  D.GrantLimit = 300; // enough for the first grant only
  RunResult R = runKernel(S, {randomStorage(S.Operands[0]), randomStorage(S.Operands[1])}, &D);
  EXPECT_EQ(R.Status, ATALLA_KERNEL_ENOMEM);
}

TEST(KernelAbi, SdmaFailurePropagates) {
  KernelSpec S = makeSpec(KernelId::add, {contiguous({8, 8}), contiguous({8, 8}), contiguous({8, 8})});
  for (int At = 0; At < 3; ++At) {
    FakeDevice D;
    D.FailSdmaAt = At;
    RunResult R = runKernel(S, {randomStorage(S.Operands[0]), randomStorage(S.Operands[1])}, &D);
    EXPECT_EQ(R.Status, ATALLA_SDMA_EBOUNDS_DRAM) << "failing SDMA #" << At;
  }
}

TEST(KernelAbi, BadSpecsAreErrors) {
  KernelSpec S = makeSpec(KernelId::relu, {contiguous({4, 4}), view({4, 4}, {1, 4})});
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "not contiguous");
  S = makeSpec(KernelId::add, {contiguous({4, 4}), contiguous({4, 4})});
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "expected 3 operands");
  S = makeSpec(KernelId::relu, {contiguous({4, 5}), contiguous({4, 4})});
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "shape");
  // max_pool2d_index gives i64; adaptive pooling's operands are 4-D.
  S = makeSpec(KernelId::max_pool2d_index, {contiguous({1, 1, 4, 4}), contiguous({1, 1, 2, 2})});
  S.Params = {2, 2, 2, 2, 0, 0, 1, 1};
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "max_pool2d_index takes f32 and gives i64");
  S = makeSpec(KernelId::adaptive_avg_pool2d, {contiguous({4, 4}), contiguous({2, 2})});
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "adaptive pooling's operands are");
  // A column scale (kscale) belongs to gemm alone.
  S = makeSpec(KernelId::relu, {contiguous({4, 4}), contiguous({4, 4})});
  S.HasScale = true;
  EXPECT_ERROR_CONTAINS(compileKernel(S, CodegenOptions()), "a column scale (kscale) is only fused into gemm kernels");
  CodegenOptions O;
  O.OptLevel = 7;
  S = makeSpec(KernelId::relu, {contiguous({4, 4}), contiguous({4, 4})});
  EXPECT_ERROR_CONTAINS(compileKernel(S, O), "optimisation level");
}

TEST(KernelAbi, AttentionHeadsUpToTheLoweringsBoundFitTheSmallestPads) {
  // The lowering picks the attention kernel only for heads whose smallest
  // blocks fit (codegen::attentionMinFloats <= attentionBudgetFloats); at
  // the smallest pads, with the AVX-512 blocking's 16-key blocks, the
  // widest such head compiles and one column more does not, with an error
  // that says so.
  CodegenOptions O;
  O.PadBytes = MinPadBytes;
  O.Isa = VectorIsa::Avx512;
  int64_t E = 1;
  while (attentionMinFloats(E + 1, E + 1) <= attentionBudgetFloats(MinPadBytes))
    ++E;
  auto spec = [](int64_t H) {
    KernelSpec S = makeSpec(KernelId::attention, {contiguous({2, 40, H}), contiguous({2, 40, H}),
                                                  contiguous({2, 40, H}), contiguous({2, 40, H})});
    S.Params = {1};
    S.HasScalar = true;
    S.Scalar = 0.125;
    return S;
  };
  ASSERT_EXPECTED(K, compileKernel(spec(E), O));
  EXPECT_FALSE(K.Object.empty());
  EXPECT_ERROR_CONTAINS(compileKernel(spec(E + 1), O), "does not fit the scratchpad");
  // kernelFits, what the lowering asks, says the same.
  EXPECT_TRUE(kernelFits(spec(E), MinPadBytes));
  EXPECT_FALSE(kernelFits(spec(E + 1), MinPadBytes));
}

TEST(KernelAbi, PoolsFitWhereKernelFitsSaysSo) {
  // A pool kernel holds one output row's input rows laid out with their
  // padding: the widest image kernelFits accepts at the smallest pads
  // compiles, one column more is refused by both.
  CodegenOptions O;
  O.PadBytes = MinPadBytes;
  // From a size that fits, the largest kernelFits accepts: it compiles, and
  // one more is refused by the compiler too.
  auto expectBoundIsTheCompilers = [&](const std::function<KernelSpec(int64_t)> &Spec, int64_t From) {
    int64_t X = From;
    while (kernelFits(Spec(X + 1), MinPadBytes))
      ++X;
    ASSERT_GT(X, From);
    ASSERT_EXPECTED(K, compileKernel(Spec(X), O));
    EXPECT_FALSE(K.Object.empty());
    EXPECT_ERROR_CONTAINS(compileKernel(Spec(X + 1), O), "exceed the scratchpad budget");
  };
  expectBoundIsTheCompilers(
      [](int64_t W) {
        KernelSpec S = makeSpec(KernelId::max_pool2d, {contiguous({1, 2, 6, W}), contiguous({1, 2, 4, W - 2})});
        S.Params = {3, 3, 1, 1, 0, 0, 1, 1};
        return S;
      },
      3);
  // The adaptive pool holds a whole plane and its outputs: the same bound.
  expectBoundIsTheCompilers(
      [](int64_t H) {
        return makeSpec(KernelId::adaptive_avg_pool2d, {contiguous({1, 2, H, 64}), contiguous({1, 2, 7, 7})});
      },
      8);
}

TEST(KernelAbi, DeterministicObjects) {
  KernelSpec S = makeSpec(KernelId::add, {contiguous({37, 129}), view({37, 129}, {0, 1}),
                                          contiguous({37, 129})});
  ASSERT_EXPECTED(A, compileKernel(S, CodegenOptions()));
  ASSERT_EXPECTED(B, compileKernel(S, CodegenOptions()));
  EXPECT_EQ(A.Symbol, S.symbol());
  EXPECT_EQ(A.Object, B.Object);
  EXPECT_FALSE(A.Object.empty());
}

TEST(KernelAbi, TextOutputs) {
  KernelSpec S = makeSpec(KernelId::relu, {contiguous({64}), contiguous({64})});
  ASSERT_EXPECTED(Ir, kernelText(S, CodegenOptions(), false));
  EXPECT_NE(Ir.find("define"), std::string::npos);
  EXPECT_NE(Ir.find(S.symbol()), std::string::npos);
  EXPECT_NE(Ir.find("\"no-builtins\""), std::string::npos);
  ASSERT_EXPECTED(Asm, kernelText(S, CodegenOptions(), true));
  EXPECT_NE(Asm.find(S.symbol()), std::string::npos);
  EXPECT_FALSE(targetTriple().empty());
  EXPECT_FALSE(resolvedCPU(CodegenOptions()).empty());
}

TEST(KernelAbi, GenericCpuNeedsOnlyFirmware) {
  // A baseline x86-64 target has no FMA: fmuladd must still not become a libm call.
  CodegenOptions O;
  O.TargetCPU = "generic";
  O.Features = "+sse2";
  KernelSpec S = makeSpec(KernelId::softmax, {contiguous({4, 33}), contiguous({4, 33})});
  S.Dim = 1;
  ASSERT_EXPECTED(K, compileKernel(S, O));
  for (const std::string &Sym : undefinedSymbols(K.Object))
    EXPECT_TRUE(FirmwareSymbols.count(Sym)) << Sym;
}

} // namespace
