//===- tests/kernels/KernelFuzzTest.cpp - every kernel vs oneDNN ----------===//
//
// The kernel fuzz suite: every row of Kernels.def x shapes biased to tile
// and vector edges x seeds. Each case compiles the specialisation with
// codegen::compileKernel, links it with the real sim::CodeLoader, runs it on
// a real sim::Device and compares the output with reference::runOneDnn on
// the same input buffers. A failure prints one KERNEL_REPRO line with the
// spec's key, the seed and the gtest filter that reruns just that case.
//
// To add a case: add a line to the family's generator in
// KernelFuzzCases.cpp (gemmCases, unaryCases, ...); the name you give
// becomes part of the test name. A new Kernels.def row gets the cases of
// its family by construction (the list is an X-macro over the table), and
// a new family is a compile error in familyCases() until it has a
// generator. ATALLA_FUZZ_EXTRA_SEEDS=N runs
// every case with N more seeds.
//
// Numerics: the error of a case is max|got - ref| / max(max|ref|, tiny)
// over the finite reference values; NaNs must match NaNs and infinities must
// match exactly (same sign). NaN and inf inputs are tested where oneDNN
// agrees with torch (binary, copy, relu of +-inf, softmax rows with -inf) and
// left out where it does not (relu(NaN): oneDNN 0, torch NaN; a softmax row
// holding NaN or +inf: oneDNN NaN at that element and 0 elsewhere, torch and
// the kernel NaN everywhere). The thresholds, per family:
//  - Unary, Binary, Copy: 0. Each output element is one IEEE operation (or
//    none) on the same fp32 inputs: relu, x op y, x op s; add/sub with alpha
//    round alpha * y to fp32 first in both (the kernel's fmul then fadd,
//    oneDNN's eltwise_linear then binary). Only the sign of a zero may
//    differ, which the measure ignores.
//  - Pad: 0. Every output element is the fill value or one input element.
//  - convert, comparisons and typed copies: 0 (exact). Integer and bool
//    values are drawn in the range every type involved holds; float -> int
//    converts get integral floats (see makeInputs), so oneDNN's rounding
//    reorder and torch's truncation agree. NaN: oneDNN's gt and ge are true
//    on NaN (torch: false), so those two see no NaN here; the model tests
//    (tests/e2e/TypedModelsTest.cpp) hold every comparison's NaN
//    behaviour to LibTorch.
//  - Gather (embedding) and Select (where): 0, elements are copied. where's
//    reference is a host pick on oneDNN-made dense operands: oneDNN 2.6
//    has no select.
//  - Chain: the unary bounds of its math steps, summed and doubled (the
//    steps after one carry its error with slopes of about 1 at most);
//    arithmetic steps are the same IEEE operations in oneDNN's post-ops.
//  - Reduce: amax and amin 0 (max is exact; no NaN inputs: oneDNN's max
//    does not propagate them as torch does). sum and mean: D fp32 additions
//    in different orders (ours in 4 x 8 partial sums and a tree across
//    lanes, or down columns; oneDNN's its own), bounded like the GEMM's K
//    products: 2^-23 * (D + 2) of max|ref| (+2: mean's division, and the
//    final combination).
//  - Norm (layer_norm): two row sums (mean, then the variance of x - mean)
//    whose rounding grows with D as softmax's sum does, a division, a sqrt
//    and a reciprocal, then x - mean, a multiply and an fma: the softmax
//    bound with 16 ulp in place of 8 for the extra operations. oneDNN sums
//    in another order. Measured at most 0.06 of it.
//  - Unary math (inline polynomials against oneDNN's jit ones, both within a
//    few ulp of the true value): exp, sigmoid, tanh, rsqrt, gelu_tanh 8 ulp
//    (exp < 1 ulp, sigmoid adds an add and a divide, tanh's Cephes forms
//    under 3 ulp, rsqrt is 1 / sqrt against oneDNN's pow); gelu 16 ulp
//    (oneDNN's 0.5 x (1 + erf): its erf's absolute error scaled by x / 2,
//    relative to max|gelu(x)| ~ max|x|; ours is within 5e-7 of the result
//    itself, codegen_tests' InlineGelu); sin, cos 8 ulp (Cephes,
//    under 2 ulp for |x| < 8192, against libm in double: oneDNN 2.6 has
//    no sin or cos, the one reference here that is not oneDNN's); log 128 ulp: ours is Cephes
//    logf (< 2 ulp, checked against libm), but oneDNN 2.6's avx2 jit log
//    was measured 7e-6 relative off (log(1.3223786) = 0.27943212, oneDNN
//    0.27943018), so the bound is oneDNN's error, not ours.
//  - Softmax: exp(x - max) / sum. Both evaluate exp to < 1 ulp (ours, an
//    inline polynomial, measured 8.3e-8 relative in codegen_tests'
//    InlineExp; oneDNN's jit polynomial or libm), then a sum whose rounding
//    grows with the row length D: lane-parallel or blocked sums have a
//    typical relative error of ~sqrt(D / lanes) ulp (~log2(D) ulp for a
//    pairwise tree), then one division or a reciprocal and a multiply
//    (1-2 ulp). We allow 2^-23 * (8 + 2 log2(D) + sqrt(D) / 4): a few ulp for
//    short rows, growing like a blocked sum's error for long ones (measured
//    at most 0.12 of it, on the 70000-long rows). log_softmax, x - max -
//    log(sum), shares the bound: its log (Cephes logf polynomial, < 1 ulp)
//    adds an absolute error of ~1 ulp of log(sum), at most that of
//    max|ref| >= log(D), and the sum's rounding enters only through the log.
//  - Gemm: both accumulate in fp32, in different orders (oneDNN's sgemm
//    or brgemm blocks K and keeps partial sums in registers; ours runs k in
//    order within K blocks of 256, fused multiply-adds where the target has
//    them). Each implementation's error is bounded by gamma_K * sum|a_k b_k|
//    with gamma_K ~ K * 2^-24, so two of them differ by at most ~K * 2^-23
//    times sum|ab|; we apply that factor to max|C| instead: 2^-23 * (K + 2)
//    (+2: the bias add, and a first product that one side may fuse). With
//    standard normal inputs sum|ab| ~ 0.64 K exceeds max|C| ~ 3 sqrt(K), but
//    rounding errors add like a random walk, so the measured difference is a
//    few ulp times sqrt(K): at most 0.11 of the threshold over 5 seeds of
//    every shape (K = 513: 9.9e-7 against 6.1e-5). A real defect (a k block
//    dropped or counted twice, a wrong element) is of order 1 / sqrt(K) of
//    max|C| or more: far above it.
//  Measured worst cases are printed at the end of every run.
//
// bf16 (the KernelsBf16 instantiation: every specialisation's bf16 twin,
// one seed): f32 operands live in DRAM as bf16, the inputs are drawn
// rounded to bf16, and the reference is oneDNN's f32 primitive on those
// values with its output rounded to bf16 (reference/OneDnnKernels.cpp says
// why that is what a oneDNN bf16 primitive computes). Both sides round an
// f32 result that agrees to the f32 threshold above, and two roundings to
// nearest differ by at most one bf16 ulp more than their arguments, so
// each element may differ by one bf16 ulp (2^-8 to 2^-7 of its magnitude)
// plus the f32 threshold. That bound alone would pass truncation, so each
// element is also held to the rounding itself: it must be the rounding to
// nearest even of an f32 value within the f32 threshold (times max|ref|) of
// the f32 twin's oneDNN result: bit for bit where the threshold is 0, and
// for large elements of the other families, whose threshold is far below
// a bf16 ulp, all but those next to a rounding midpoint.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "reference/OneDnnKernels.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/KernelSpec.h"
#include "runtime/abi/Kernels.h"
#include "sim/CodeLoader.h"
#include "sim/Device.h"

#include "KernelFuzzCases.h"
#include "KernelSpecTestSupport.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace atalla;
using namespace atalla::abi;

namespace {

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

using atalla::test::contiguous;
using namespace atalla::kernelfuzz;

/// Elements a strided view spans in storage.
int64_t extent(const OperandSpec &O) {
  if (O.numel() == 0)
    return 0;
  int64_t E = 1;
  for (size_t D = 0; D < O.Sizes.size(); ++D)
    E += (O.Sizes[D] - 1) * O.Strides[D];
  return E;
}


//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

/// Standard normals by Box-Muller over mt19937 (whose output the standard
/// fixes), so the inputs are the same with every standard library.
class Normals {
public:
  explicit Normals(uint32_t Seed) : G(Seed) {}
  float next() {
    if (Have) {
      Have = false;
      return Spare;
    }
    // u in (0, 1]: 24 random bits, never 0.
    double U1 = (double(G() >> 8) + 1) / 16777216.0, U2 = double(G() >> 8) / 16777216.0;
    double R = std::sqrt(-2 * std::log(U1)), T = 6.283185307179586 * U2;
    Spare = float(R * std::sin(T));
    Have = true;
    return float(R * std::cos(T));
  }
  uint32_t bits() { return G(); }

private:
  std::mt19937 G;
  bool Have = false;
  float Spare = 0;
};

std::vector<std::vector<float>> makeInputs(const FuzzCase &C) {
  const KernelSpec &S = C.Spec;
  Normals Rng(C.Seed);
  std::vector<std::vector<float>> In;
  const float Inf = std::numeric_limits<float>::infinity(), NaN = std::nanf("");
  for (size_t Op = 0; Op + 1 < S.Operands.size(); ++Op) {
    std::vector<float> V(size_t(extent(S.Operands[Op])));
    for (float &X : V)
      X = Rng.next();
    switch (C.Values) {
    case Fill::Normal:
      break;
    case Fill::Large:
      for (float &X : V)
        X *= 40;
      break;
    case Fill::Special: {
      // Where oneDNN disagrees with torch (and the kernel) on a special
      // value, that value is left out (Kernels.def's Specials column):
      // relu and exp map NaN to 0 and +inf,
      // max keeps the other operand (torch: NaN), oneDNN's pow(x, -0.5) for rsqrt gives +inf at -0 and
      // 0 at -inf (torch's 1 / sqrt(x): -inf and NaN), and oneDNN's gt and
      // ge are true when an operand is NaN (torch, IEEE: false; measured
      // gt(NaN, 1.54) = 1), and oneDNN's clip gives min for NaN (torch's
      // clamp and hardsigmoid: NaN; measured). Every other case is IEEE in both.
      std::vector<float> Specials = {Inf, 0.0f};
      const SpecialInputs Agree = kernelTraits(S.Kernel).Specials;
      if (Agree != SpecialInputs::NegativesDiffer) {
        Specials.push_back(-Inf);
        Specials.push_back(-0.0f);
      }
      if (Agree != SpecialInputs::NanDiffers)
        Specials.push_back(NaN);
      for (float &X : V)
        if (Rng.bits() % 4 == 0)
          X = Specials[Rng.bits() % Specials.size()];
      break;
    }
    case Fill::Rows: {
      // Softmax [R, D] along dim 1, contiguous.
      const int64_t D = S.Operands[Op].Sizes.back(), R = int64_t(V.size()) / D;
      for (int64_t Row = 0; Row < R; ++Row) {
        float *P = &V[size_t(Row * D)];
        switch (Row % 5) {
        case 0: // some -inf: those get exactly 0
          for (int64_t J = 0; J < D; J += 3)
            P[J] = -Inf;
          break;
        case 1: // all -inf: NaN, as torch
          std::fill(P, P + D, -Inf);
          break;
        case 2: // all -inf but one: exactly 1 there, 0 elsewhere
          std::fill(P, P + D, -Inf);
          P[D / 2] = Rng.next();
          break;
        case 3: // far below the max: exp(x - max) underflows to 0
          for (int64_t J = 0; J < D; ++J)
            P[J] = P[J] * 10 - 200;
          P[D - 1] = -100;
          break;
        case 4: // a dominant element
          P[0] = 90;
          break;
        }
      }
      break;
    }
    }
    // Values each element type can hold (integers in range, bool 0/1), and
    // for a convert into u8 ones it holds too. A float -> int convert gets integral floats in the target's range: there
    // oneDNN's reorder (round to nearest, saturating) and torch's cast
    // (truncation) agree; a float -> bool one gets exact zeros (+0 and -0)
    // mixed in.
    const DType T = S.Operands[Op].Type, To = S.output().Type;
    const bool ToInt = To == DType::U8 || To == DType::I32 || To == DType::I64;
    for (float &X : V) {
      switch (T) {
      case DType::U8: X = float(Rng.bits() % 256); break;
      case DType::Bool: X = float(Rng.bits() % 2); break;
      case DType::I32:
      case DType::I64:
        if (S.Kernel == KernelId::embedding) // rows of the table
          X = float(Rng.bits() % uint32_t(S.Operands[0].Sizes[0]));
        else // into u8 only 0..255: torch wraps (-3 -> 253), oneDNN saturates
          X = S.Kernel == KernelId::convert && To == DType::U8 ? float(Rng.bits() % 256)
                                                               : float(int(Rng.bits() % 2001) - 1000);
        break;
      case DType::F32:
        if (S.Kernel == KernelId::convert && ToInt)
          X = To == DType::U8 ? std::min(255.0f, std::round(std::fabs(X) * 60)) : std::round(X * 300);
        else if (S.Kernel == KernelId::convert && To == DType::Bool && Rng.bits() % 4 == 0)
          X = Rng.bits() % 2 ? 0.0f : -0.0f;
        // A bf16 operand holds the value rounded: the reference and the
        // device both see that. Into u8, 248 is bf16's largest integer
        // under 256 (255 would round to 256, which torch wraps to 0 and
        // oneDNN saturates).
        if (S.storedAsBf16(Op)) {
          if (S.Kernel == KernelId::convert && To == DType::U8)
            X = std::min(X, 248.0f);
          X = roundToBf16(X);
        }
        break;
      case DType::BF16:
        break; // no operand type (KernelSpec::typeError)
      }
    }
    In.push_back(std::move(V));
  }
  return In;
}

/// Logical values (as makeInputs draws them) in an operand's element type.
std::vector<uint8_t> encode(const std::vector<float> &V, DType T) {
  std::vector<uint8_t> B(V.size() * dtypeBytes(T));
  for (size_t I = 0; I < V.size(); ++I) {
    switch (T) {
    case DType::F32: std::memcpy(&B[I * 4], &V[I], 4); break;
    case DType::U8:
    case DType::Bool: B[I] = uint8_t(V[I]); break;
    case DType::I32: { int32_t X = int32_t(V[I]); std::memcpy(&B[I * 4], &X, 4); break; }
    case DType::I64: { int64_t X = int64_t(V[I]); std::memcpy(&B[I * 8], &X, 8); break; }
    case DType::BF16: { uint16_t X = bf16FromF32(V[I]); std::memcpy(&B[I * 2], &X, 2); break; }
    }
  }
  return B;
}

/// Element I of \p B (in type T) as a float (the suite's values are small
/// enough to be exact).
float decode(const uint8_t *B, size_t I, DType T) {
  switch (T) {
  case DType::F32: { float X; std::memcpy(&X, B + I * 4, 4); return X; }
  case DType::U8:
  case DType::Bool: return float(B[I]);
  case DType::I32: { int32_t X; std::memcpy(&X, B + I * 4, 4); return float(X); }
  case DType::I64: { int64_t X; std::memcpy(&X, B + I * 8, 8); return float(X); }
  case DType::BF16: { uint16_t X; std::memcpy(&X, B + I * 2, 2); return f32FromBf16(X); }
  }
  return NAN;
}

/// The type operand \p I has in DRAM: bf16 for a bf16 kernel's f32 operands.
DType storageType(const KernelSpec &S, size_t I) { return S.storedAsBf16(I) ? DType::BF16 : S.Operands[I].Type; }

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// One loader for the suite; each specialisation compiled and linked once
/// (the seeds of a shape share it).
struct KernelCache {
  /// One loader per register blocking: the variants share their symbols.
  std::map<int, std::unique_ptr<sim::CodeLoader>> Loaders;
  std::map<std::string, KernelFn> Fns;
  double CompileMs = 0;
};

KernelCache &cache() {
  static KernelCache C;
  return C;
}

llvm::Expected<KernelFn> kernelFor(const KernelSpec &S, codegen::VectorIsa Isa) {
  KernelCache &C = cache();
  std::string Sym = S.symbol() + "." + std::to_string(int(Isa));
  if (auto It = C.Fns.find(Sym); It != C.Fns.end())
    return It->second;
  std::unique_ptr<sim::CodeLoader> &Loader = C.Loaders[int(Isa)];
  if (!Loader) {
    auto L = sim::CodeLoader::create();
    if (!L)
      return L.takeError();
    Loader = std::move(*L);
  }
  auto T0 = std::chrono::steady_clock::now();
  codegen::CodegenOptions Opts;
  Opts.Isa = Isa;
  auto K = codegen::compileKernel(S, Opts);
  C.CompileMs +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
  if (!K)
    return K.takeError();
  if (llvm::Error E = Loader->addObject(K->Object, K->Symbol))
    return E;
  auto Fn = Loader->lookup(K->Symbol);
  if (!Fn)
    return Fn.takeError();
  C.Fns[Sym] = *Fn;
  return *Fn;
}

int64_t alignUp(int64_t X, int64_t A) { return (X + A - 1) / A * A; }

/// The generated kernel on a fresh device: inputs at 64-aligned addresses,
/// the output region filled with a NaN pattern first (so unwritten elements
/// fail).
void runOnDevice(const KernelSpec &S, KernelFn Fn, const std::vector<std::vector<uint8_t>> &In,
                 std::vector<float> &Out) {
  std::vector<uint64_t> Args;
  int64_t Top = 64; // address 0 stays unused
  for (size_t I = 0; I < S.Operands.size(); ++I) {
    Args.push_back(uint64_t(Top));
    Top += alignUp(std::max<int64_t>(extent(S.Operands[I]), 1) * dtypeBytes(storageType(S, I)), 64) + 64;
  }
  sim::DeviceConfig Cfg;
  Cfg.DramBytes = uint64_t(Top);
  sim::Device Dev(Cfg);
  for (size_t I = 0; I < In.size(); ++I)
    if (!In[I].empty())
      ASSERT_NO_ERROR(Dev.writeDram(Args[I], llvm::ArrayRef<uint8_t>(In[I])));
  Out.assign(size_t(S.output().numel()), 0.0f);
  if (Out.empty())
    return;
  // The output's whole span is poisoned; a strided output (a copy into a
  // slice) must leave the elements between its own untouched.
  const OperandSpec &O = S.output();
  const DType OutType = storageType(S, S.Operands.size() - 1);
  const size_t W = dtypeBytes(OutType);
  std::vector<uint8_t> Poison(size_t(extent(O)) * W);
  for (size_t I = 0; I < Poison.size(); ++I)
    Poison[I] = uint8_t(0xad + I % W); // f32: 0x7fc0dead would be a NaN; bytes: 0xad, ...
  ASSERT_NO_ERROR(Dev.writeDram(Args.back(), llvm::ArrayRef<uint8_t>(Poison)));
  int32_t Status = Dev.invoke(Fn, Args.data());
  ASSERT_EQ(Status, 0) << "kernel status " << Status << ": " << Dev.lastFirmwareError();
  EXPECT_EQ(Dev.counters().FirmwareErrors, 0u) << Dev.lastFirmwareError();
  EXPECT_EQ(Dev.counters().ScpadReclaimed, 0u) << "the kernel left scratchpad grants live";
  std::vector<uint8_t> SpanBytes(Poison.size());
  ASSERT_NO_ERROR(Dev.readDram(Args.back(), llvm::MutableArrayRef<uint8_t>(SpanBytes)));
  const size_t SpanElems = Poison.size() / W;
  std::vector<bool> Mine(SpanElems, false);
  for (int64_t I = 0; I < int64_t(Out.size()); ++I) {
    int64_t Off = 0, Rest = I;
    for (size_t D = O.Sizes.size(); D-- > 0;) {
      Off += (Rest % O.Sizes[D]) * O.Strides[D];
      Rest /= O.Sizes[D];
    }
    Out[size_t(I)] = decode(SpanBytes.data(), size_t(Off), OutType);
    Mine[size_t(Off)] = true;
  }
  for (size_t I = 0; I < SpanElems; ++I)
    if (!Mine[I]) {
      ASSERT_EQ(0, std::memcmp(&SpanBytes[I * W], &Poison[I * W], W))
          << "the kernel wrote element " << I << ", outside its output view";
    }
}

//===----------------------------------------------------------------------===//
// Comparing
//===----------------------------------------------------------------------===//

/// A sum of \p K products (GEMM, convolution) and its fused epilogue: a
/// gelu epilogue adds its own error (the gelu kernels' bound, 16 ulp) and
/// carries the sum's with a slope of at most 1.13; hardswish adds its x / 6
/// against oneDNN's x * (1 / 6) (4 ulp) with a slope of at most 1.5; silu
/// its own bound (the silu kernel's, 8 ulp) with a slope of at most 1.1;
/// the gates sigmoid (its kernel's 8 ulp, slope at most 1/4) and
/// hardsigmoid (its kernel's 4 ulp: x / 6 against x * (1 / 6); slope 1/6)
/// squeeze their output into [0, 1], so the sum's error, at the scale of
/// max|C|, is normalised by max|out| >= 1/2 instead: for the standard-normal
/// fills max|C| is about 3 sqrt(K) (three standard deviations of a sum of K
/// products), a factor slope x 6 sqrt(K); relu and relu6 are exact (slope
/// at most 1). A fused residual add is one more rounding on each side,
/// after the same sum (both add it after the bias): one more ulp. A column
/// scale makes each product a s b two roundings instead of one, on both
/// sides (the kernel and oneDNN both scale A first): one more ulp.
double sumThreshold(const KernelSpec &S, double K) {
  const double Ulp = std::ldexp(1.0, -23);
  const bool Gelu = S.Post == Epilogue::Gelu || S.Post == Epilogue::GeluTanh, Hs = S.Post == Epilogue::Hardswish,
             Si = S.Post == Epilogue::Silu, Sg = S.Post == Epilogue::Sigmoid, Hsg = S.Post == Epilogue::Hardsigmoid;
  const double Slope = Gelu ? 1.13 : Hs ? 1.5 : Si ? 1.1 : Sg ? std::max(1.0, 1.5 * std::sqrt(K)) : Hsg ? std::max(1.0, std::sqrt(K)) : 1.0,
               Own = Gelu ? 16 : Hs ? 4 : (Si || Sg) ? 8 : Hsg ? 4 : 0;
  return Ulp * (K + 2 + (S.HasResidual ? 1 : 0) + (S.HasScale ? 1 : 0)) * Slope + Ulp * Own;
}

double threshold(const KernelSpec &S) {
  const double Ulp = std::ldexp(1.0, -23);
  const size_t Rank = S.output().Sizes.size();
  switch (S.family()) {
  case KernelFamily::Unary: {
    // Kernels.def's Error column (each bound's reason beside its row).
    const ErrorBound E = kernelTraits(S.Kernel).Error;
    return E.K == ErrorBound::UlpBound ? Ulp * E.N : 0;
  }
  case KernelFamily::Binary:
  case KernelFamily::Copy:
  case KernelFamily::Pad:
  case KernelFamily::Pool: // max: comparisons, exact; depthwise: a sum of KH*KW products
    if (S.Kernel == KernelId::dwconv2d)
      return sumThreshold(S, S.Params.size() == 8 ? double(S.Params[0] * S.Params[1]) : 1);
    // average: a sum of KH*KW terms and a division against oneDNN's
    // average (its own order and scaling), and the reference's extra
    // rounding where a divisor override rescales it: 2 more ulps.
    if (S.Kernel == KernelId::avg_pool2d)
      return sumThreshold(S, S.Params.size() == 8 ? double(S.Params[0] * S.Params[1]) : 1) + 2 * Ulp;
    // adaptive: a sum of at most (ceil(H / OH) + 1) (ceil(W / OW) + 1)
    // terms and two divisions against the host's double sum, rounded once.
    if (S.Kernel == KernelId::adaptive_avg_pool2d) {
      const std::vector<int64_t> &I = S.Operands[0].Sizes, &O = S.output().Sizes;
      const double Kh = double((I[2] + O[2] - 1) / O[2] + 1), Kw = double((I[3] + O[3] - 1) / O[3] + 1);
      return sumThreshold(S, Kh * Kw) + 2 * Ulp;
    }
    return 0;
  case KernelFamily::Norm: {
    double D = double(S.output().Sizes[1]);
    return Ulp * (16 + 2 * std::log2(D) + std::sqrt(D) / 4);
  }
  case KernelFamily::Softmax: {
    double D = Rank ? double(S.output().Sizes[size_t(S.Dim)]) : 1;
    return Ulp * (8 + 2 * std::log2(D) + std::sqrt(D) / 4);
  }
  case KernelFamily::Gemm:
    return sumThreshold(S, double(S.Operands[0].Sizes.back()));
  case KernelFamily::Gather:
  case KernelFamily::Select:
    return 0;
  case KernelFamily::Attention: {
    // q k^T (E products), the softmax over S keys, p v (S products), as
    // the model-level tolerance counts attention (driver/Compare.cpp):
    // 2 E + 4 S + 16 units, the online softmax's rescaling of the running
    // sum and output (one multiply per key block) inside the 4 S.
    const OperandSpec &K = S.Operands[1];
    const size_t R = K.Sizes.size();
    return Ulp * (2.0 * double(K.Sizes[R - 1]) + 4.0 * double(K.Sizes[R - 2]) + 16);
  }
  case KernelFamily::Chain: {
    // Each math step's own bound (as a unary kernel), doubled for the
    // steps after it (slopes of at most ~1 on these inputs); the
    // arithmetic steps are the same IEEE operations in both: 0.
    std::vector<ChainStep> Steps;
    S.chainSteps(Steps);
    double T = 0;
    for (const ChainStep &St : Steps)
      if (isChainableUnary(St.Op)) {
        KernelSpec One;
        One.Kernel = St.Op;
        One.Operands = {contiguous({1}), contiguous({1})};
        T += threshold(One);
      }
    return 2 * T;
  }
  case KernelFamily::Reduce: {
    if (S.Kernel == KernelId::amax || S.Kernel == KernelId::amin || S.Kernel == KernelId::argmax ||
        S.Kernel == KernelId::argmin)
      return 0;
    double D = double(S.Operands[0].Sizes[1]);
    return Ulp * (D + 2);
  }
  }
  return 0;
}

struct Comparison {
  double Error = 0;        ///< max|d| / max(max|ref|, tiny) over finite values
  int64_t Mismatches = 0;  ///< NaN or infinity in one and not the other
  int64_t Worst = -1;      ///< element of the largest |d| or the first mismatch
};

/// One bf16 ulp at |X| (the spacing of bf16 values there; denormals: 2^-133).
double bf16Ulp(double X) {
  int E;
  std::frexp(std::max(std::fabs(X), 0x1p-126), &E); // |X| in [2^(E-1), 2^E)
  return std::ldexp(1.0, E - 1 - 7);
}

/// With \p Bf16Ulp, each element's difference is first reduced by one bf16
/// ulp of the larger of the two: bf16 results are two f32 results rounded
/// to bf16, and |rnd(a) - rnd(b)| <= |a - b| + ulp (each rounding moves half
/// an ulp at most), so what is left is held to the f32 threshold.
Comparison compare(const std::vector<float> &Got, const std::vector<float> &Ref, bool Bf16Ulp = false) {
  Comparison C;
  double MaxDiff = 0, MaxRef = 0;
  int64_t FirstMismatch = -1, WorstDiff = -1;
  for (size_t I = 0; I < Ref.size(); ++I) {
    float G = Got[I], R = Ref[I];
    if (std::isnan(G) || std::isnan(R) || std::isinf(G) || std::isinf(R)) {
      bool Same = std::isnan(G) ? std::isnan(R) : G == R;
      if (!Same && C.Mismatches++ == 0)
        FirstMismatch = int64_t(I);
      continue;
    }
    double D = std::fabs(double(G) - double(R));
    if (Bf16Ulp)
      D = std::max(0.0, D - bf16Ulp(std::max(std::fabs(double(G)), std::fabs(double(R)))));
    MaxRef = std::max(MaxRef, std::fabs(double(R)));
    if (D > MaxDiff || WorstDiff < 0) {
      if (D > MaxDiff)
        MaxDiff = D;
      if (D == MaxDiff)
        WorstDiff = int64_t(I);
    }
  }
  C.Error = MaxDiff / std::max(MaxRef, 1e-30);
  C.Worst = FirstMismatch >= 0 ? FirstMismatch : WorstDiff;
  return C;
}

/// Worst error per family, printed when the suite ends.
struct FamilyStats {
  int Cases = 0;
  double MaxRatio = 0; ///< error / threshold (gemm, softmax)
  double MaxError = 0;
  std::string Worst;
  int RoundingMisses = 0; ///< bf16 cases with an element not rounded as the f32 twin's result
};
std::map<std::string, FamilyStats> &stats() {
  static std::map<std::string, FamilyStats> S;
  return S;
}

class StatsPrinter : public ::testing::Environment {
public:
  void TearDown() override {
    for (auto &[Fam, St] : stats())
      std::printf("[ kernel_fuzz ] %-12s %4d cases, max normalised error %.3g at %s; max "
                  "error / threshold %.3g%s\n",
                  Fam.c_str(), St.Cases, St.MaxError, St.Worst.c_str(), St.MaxRatio,
                  Fam.size() > 5 && Fam.substr(Fam.size() - 5) == " bf16"
                      ? (" ; cases with a misrounded element " + std::to_string(St.RoundingMisses)).c_str()
                      : "");
    std::printf("[ kernel_fuzz ] %zu specialisations compiled in %.0f ms\n", cache().Fns.size(),
                cache().CompileMs);
  }
};
[[maybe_unused]] ::testing::Environment *const Printer =
    ::testing::AddGlobalTestEnvironment(new StatsPrinter);

//===----------------------------------------------------------------------===//
// The suite
//===----------------------------------------------------------------------===//

class KernelFuzz : public ::testing::TestWithParam<FuzzCase> {};

TEST_P(KernelFuzz, MatchesOneDnn) {
  const FuzzCase &C = GetParam();
  const KernelSpec &S = C.Spec;
  const ::testing::TestInfo *Info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string Repro = std::string("KERNEL_REPRO: kernel=") + std::string(kernelName(S.Kernel)) +
                            " key=\"" + S.key() + "\" seed=" + std::to_string(C.Seed) +
                            " fill=" + fillName(C.Values);
  const std::string Rerun = std::string("(rerun: build/bin/kernel_tests --gtest_filter='") +
                            Info->test_suite_name() + "." + Info->name() + "')";
  SCOPED_TRACE(Repro);

  std::vector<std::vector<float>> Values = makeInputs(C);
  std::vector<std::vector<uint8_t>> In, DevIn; // the reference's (f32) and DRAM's (bf16 where stored so)
  for (size_t I = 0; I < Values.size(); ++I) {
    In.push_back(encode(Values[I], S.Operands[I].Type));
    DevIn.push_back(encode(Values[I], storageType(S, I)));
  }
  auto Fn = kernelFor(S, C.Isa);
  ASSERT_TRUE(bool(Fn)) << Repro << " compile/link: " << llvm::toString(Fn.takeError()) << "  "
                        << Rerun;
  std::vector<float> Got;
  runOnDevice(S, *Fn, DevIn, Got);
  if (HasFatalFailure())
    return;

  std::vector<const void *> Ptrs;
  for (const std::vector<uint8_t> &V : In)
    Ptrs.push_back(V.data());
  auto RefBytes = reference::runOneDnnTyped(S, Ptrs);
  ASSERT_TRUE(bool(RefBytes)) << Repro << " oneDNN: " << llvm::toString(RefBytes.takeError()) << "  "
                              << Rerun;
  ASSERT_EQ(RefBytes->size(), Got.size() * dtypeBytes(S.output().Type));
  std::vector<float> RefValues(Got.size());
  for (size_t I = 0; I < Got.size(); ++I)
    RefValues[I] = decode(RefBytes->data(), I, S.output().Type);
  std::vector<float> *Ref = &RefValues;
  // log_softmax over a dimension of size 1 is exactly 0 (x - x - log 1) in
  // torch; oneDNN 2.6's softmax_log returns its approximate log(1) =
  // 1.43e-6 there, which would make the normalised measure 1. Hold the
  // kernel to the exact 0 instead.
  // (Dim is -1 for every other kernel: only a log_softmax may index with it.)
  const bool UnitRows = S.Kernel == KernelId::log_softmax &&
                        (S.output().Sizes.empty() || S.output().Sizes[size_t(S.Dim)] == 1);
  if (UnitRows)
    for (float &R : *Ref)
      if (std::isfinite(R))
        R = 0.0f;

  const bool Bf16 = S.Type == DType::BF16;
  Comparison Cmp = compare(Got, *Ref, Bf16 && S.output().Type == DType::F32);
  const double Thr = threshold(S);
  // bf16: each element must be the f32 twin's result rounded to nearest
  // even, or the rounding of another f32 value within the f32 threshold
  // (T = threshold x max|ref|) of it.
  int64_t RoundingMisses = 0, FirstMiss = -1;
  if (Bf16 && S.output().Type == DType::F32) {
    KernelSpec Twin = S;
    Twin.Type = DType::F32;
    auto Raw = reference::runOneDnnTyped(Twin, Ptrs);
    ASSERT_TRUE(bool(Raw)) << Repro << " oneDNN f32 twin: " << llvm::toString(Raw.takeError());
    std::vector<double> R32(Got.size());
    double MaxAbs = 0;
    for (size_t I = 0; I < Got.size(); ++I) {
      R32[I] = UnitRows && std::isfinite(decode(Raw->data(), I, DType::F32)) ? 0.0 : decode(Raw->data(), I, DType::F32);
      if (std::isfinite(R32[I]))
        MaxAbs = std::max(MaxAbs, std::fabs(R32[I]));
    }
    for (size_t I = 0; I < Got.size(); ++I) {
      const float Want = roundToBf16(float(R32[I]));
      if (std::isnan(Want) ? std::isnan(Got[I]) : Got[I] == Want)
        continue;
      // Rounding is monotonic: the roundings of every f32 value within T
      // of the twin's result span [round(R32 - T), round(R32 + T)].
      const double T = Thr * MaxAbs;
      const bool Ok = std::isfinite(R32[I]) && std::isfinite(Got[I]) &&
                      roundToBf16(float(R32[I] - T)) <= Got[I] && Got[I] <= roundToBf16(float(R32[I] + T));
      if (!Ok && RoundingMisses++ == 0)
        FirstMiss = int64_t(I);
    }
  }
  FamilyStats &St = stats()[std::string(familyName(S.family())) + (Bf16 ? " bf16" : "")];
  ++St.Cases;
  double Ratio = Thr > 0 ? Cmp.Error / Thr : (Cmp.Error > 0 ? INFINITY : 0);
  if (Cmp.Error >= St.MaxError) {
    St.MaxError = Cmp.Error;
    St.Worst = C.Name;
  }
  St.MaxRatio = std::max(St.MaxRatio, Ratio);
  if (RoundingMisses) {
    ++St.RoundingMisses;
    ADD_FAILURE() << Repro << " " << RoundingMisses << " element(s) are not the f32 result rounded to bf16; first out["
                  << FirstMiss << "] got " << Got[size_t(FirstMiss)] << " want " << (*Ref)[size_t(FirstMiss)] << "  "
                  << Rerun;
  }

  if (Cmp.Mismatches || Cmp.Error > Thr) {
    char Buf[256];
    std::snprintf(Buf, sizeof(Buf), " err=%.3g thr=%.3g nan_inf_mismatches=%lld", Cmp.Error, Thr,
                  static_cast<long long>(Cmp.Mismatches));
    std::string Detail;
    if (Cmp.Worst >= 0) {
      char E[160];
      std::snprintf(E, sizeof(E), " worst: out[%lld] got %.9g want %.9g",
                    static_cast<long long>(Cmp.Worst), double(Got[size_t(Cmp.Worst)]),
                    double((*Ref)[size_t(Cmp.Worst)]));
      Detail = E;
      // Elementwise inputs have the output's shape: show theirs at that element.
      const KernelFamily F = S.family();
      if (F == KernelFamily::Unary || F == KernelFamily::Binary || F == KernelFamily::Copy)
        for (size_t Op = 0; Op + 1 < S.Operands.size(); ++Op) {
          const OperandSpec &O = S.Operands[Op];
          int64_t Off = 0, Rest = Cmp.Worst;
          for (size_t D = O.Sizes.size(); D-- > 0;) {
            Off += (Rest % O.Sizes[D]) * O.Strides[D];
            Rest /= O.Sizes[D];
          }
          std::snprintf(E, sizeof(E), "; input %zu there %.9g", Op, double(Values[Op][size_t(Off)]));
          Detail += E;
        }
    }
    ADD_FAILURE() << Repro << Buf << "  " << Rerun << "\n" << Detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, KernelFuzz, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<FuzzCase> &I) { return I.param.Name; });
INSTANTIATE_TEST_SUITE_P(KernelsBf16, KernelFuzz, ::testing::ValuesIn(allCasesBf16()),
                         [](const ::testing::TestParamInfo<FuzzCase> &I) { return I.param.Name; });

} // namespace
