//===- codegen/EmitElementwise.cpp - the strided elementwise engine -------===//
//
// Unary (relu), Binary (add/sub/mul/div, Alpha, scalar) and Copy share one
// engine: the views are simplified (size-1 dims dropped, mergeable dims
// coalesced), then the output is walked as [outer..., rows, cols] in blocks
// of rows x cols. Each input's block is brought in with the cheapest SDMA
// shape its last two strides allow (dense rows, a broadcast column, a
// repeated row, a transposed tile, or a per-row gather), combined by a
// vectorisable loop and stored with one SDMA per block.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

#include <cstring>

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// How an input's [rb][len] block reaches the scratchpad; element (r, c) of
/// the block is Buf[r * RowStep + c * ColStep].
enum class LoadMode {
  Dense,      ///< inner stride 1: one SDMA of rb rows (1 row if rows repeat)
  Broadcast,  ///< inner stride 0: one value per row (one value if rows repeat)
  Transposed, ///< row stride 1: SDMA of len rows of rb elements, a [len][rb] tile
  Gather,     ///< anything else: one SDMA of len one-element rows per block row
};

struct InputPlan {
  unsigned Operand;
  LoadMode Mode;
  int64_t ColStride, RowStride; ///< elements, in the simplified view
  Value *Buf = nullptr;
  Value *RowStep = nullptr, *ColStep = nullptr;
};

/// Elements per block and operand: 64 KiB buffers keep three operands far
/// under the scratchpad budget while each SDMA stays long.
constexpr int64_t BlockElems = 16384;
/// Side of a block when an input is transposed: both SDMA shapes stay >= 512 B.
constexpr int64_t TransposeSide = 128;

/// Simplified iteration space: dims of size 1 dropped, dims merged where
/// every operand is linear across them; at least two dims (rows, cols).
struct View {
  std::vector<int64_t> Sizes;
  std::vector<std::vector<int64_t>> Strides; ///< per operand
};

View simplify(const abi::KernelSpec &Spec) {
  const size_t NumOps = Spec.Operands.size();
  const std::vector<int64_t> &OutSizes = Spec.output().Sizes;
  View V;
  V.Strides.resize(NumOps);
  for (size_t D = 0; D < OutSizes.size(); ++D) {
    if (OutSizes[D] == 1)
      continue;
    bool Merge = !V.Sizes.empty();
    for (size_t Op = 0; Op < NumOps && Merge; ++Op)
      Merge = V.Strides[Op].back() == Spec.Operands[Op].Strides[D] * OutSizes[D];
    if (Merge) {
      V.Sizes.back() *= OutSizes[D];
      for (size_t Op = 0; Op < NumOps; ++Op)
        V.Strides[Op].back() = Spec.Operands[Op].Strides[D];
      continue;
    }
    V.Sizes.push_back(OutSizes[D]);
    for (size_t Op = 0; Op < NumOps; ++Op)
      V.Strides[Op].push_back(Spec.Operands[Op].Strides[D]);
  }
  while (V.Sizes.size() < 2) {
    V.Sizes.insert(V.Sizes.begin(), 1);
    for (auto &S : V.Strides)
      S.insert(S.begin(), 0);
  }
  return V;
}

Value *fmaF(IRBuilderBase &B, Value *A, Value *Bv, Value *C) {
  return B.CreateIntrinsic(Intrinsic::fmuladd, {A->getType()}, {A, Bv, C});
}

/// Horner's rule over float coefficients, highest degree first.
Value *poly(IRBuilderBase &B, Value *X, std::initializer_list<float> Coefs) {
  Value *P = nullptr;
  for (float C : Coefs)
    P = P ? fmaF(B, P, X, ConstantFP::get(X->getType(), C)) : ConstantFP::get(X->getType(), C);
  return P;
}

/// tanh(x): Cephes tanhf. |x| < 0.625: x + x^3 P(x^2) (no cancellation
/// near 0); otherwise 1 - 2 / (exp(2|x|) + 1) with the sign of x. Under
/// 3 ulp; +-inf -> +-1, NaN -> NaN.
Value *emitTanh(IRBuilder<> &B, Value *X) {
  Type *F = X->getType();
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  Value *A = B.CreateUnaryIntrinsic(Intrinsic::fabs, X);
  Value *Z = B.CreateFMul(X, X);
  Value *P = poly(B, Z, {-5.70498872745E-3f, 2.06390887954E-2f, -5.37397155531E-2f, 1.33314422036E-1f,
                         -3.33332819422E-1f});
  Value *Small = fmaF(B, B.CreateFMul(P, Z), X, X);
  Value *E = emitExp(B, B.CreateFAdd(A, A));
  Value *Large = B.CreateFSub(C(1.0f), B.CreateFDiv(C(2.0f), B.CreateFAdd(E, C(1.0f))));
  Large = B.CreateBinaryIntrinsic(Intrinsic::copysign, Large, X);
  return B.CreateSelect(B.CreateFCmpOLT(A, C(0.625f)), Small, Large);
}

/// erf(x) as the gelu kernel and epilogue compute it for x >= 0: Abramowitz & Stegun
/// 7.1.26, 1 - t P(t) exp(-x^2) with t = 1 / (1 + p|x|), absolute error
/// under 1.5e-7, odd in x (the erf kernel's detail::emitErf is accurate
/// relatively too).
Value *emitErfGelu(IRBuilder<> &B, Value *X) {
  Type *F = X->getType();
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  Value *A = B.CreateUnaryIntrinsic(Intrinsic::fabs, X);
  Value *T = B.CreateFDiv(C(1.0f), fmaF(B, C(0.3275911f), A, C(1.0f)));
  Value *P = B.CreateFMul(T, poly(B, T, {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f}));
  Value *Y = B.CreateFSub(C(1.0f), B.CreateFMul(P, emitExp(B, B.CreateFNeg(B.CreateFMul(A, A)))));
  return B.CreateBinaryIntrinsic(Intrinsic::copysign, Y, X);
}

/// gelu(x) = x/2 (1 + erf(x / sqrt 2)). For x >= 0, 1 + erf lies in [1,
/// 2] and emitErfGelu's 1.5e-7 absolute error is that relative to the
/// result. For x < 0, 1 + erf(x / sqrt 2) = erfc(|x| / sqrt 2) cancels (at
/// x = -3.5 the old form was 3e-4 off relatively, at -5 30 %), so that side
/// computes erfc itself with relative accuracy: Numerical Recipes' erfcc,
/// t exp(-z^2 - 1.26551223 + t P(t)) with t = 1 / (1 + z / 2), fractional
/// error under 1.2e-7 everywhere (Press et al., Numerical Recipes, 6.2),
/// with z^2 = x^2 / 2 split exactly (Dekker's product of |x|'s halves):
/// exp(-z^2) is exp(-hi) exp(-lo), so z^2's rounding (up to 86 units of
/// the exponent near the underflow) does not reach the result.
Value *emitGelu(IRBuilder<> &B, Value *X) {
  Type *F = X->getType();
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  Value *Half = B.CreateFMul(C(0.5f), X);
  Value *Pos = fmaF(B, Half, emitErfGelu(B, B.CreateFMul(X, C(0.70710678118654752f))), Half);
  Value *A = B.CreateUnaryIntrinsic(Intrinsic::fabs, X);
  Value *T = B.CreateFDiv(C(1.0f), fmaF(B, C(0.5f), B.CreateFMul(A, C(0.70710678118654752f)), C(1.0f)));
  Value *Q = poly(B, T, {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f,
                         0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f});
  // |x|^2 = Hi + Lo exactly: |x| = Ah + Al, halves of 12 bits (Veltkamp).
  Value *Cv = B.CreateFMul(A, C(4097.0f));
  Value *Ah = B.CreateFSub(Cv, B.CreateFSub(Cv, A)), *Al = B.CreateFSub(A, Ah);
  Value *Hi = B.CreateFMul(A, A);
  Value *Lo = B.CreateFAdd(B.CreateFAdd(B.CreateFSub(B.CreateFMul(Ah, Ah), Hi), B.CreateFMul(C(2.0f), B.CreateFMul(Ah, Al))),
                           B.CreateFMul(Al, Al));
  Value *Erfc = B.CreateFMul(B.CreateFMul(T, emitExp(B, B.CreateFMul(C(-0.5f), Hi))),
                             emitExp(B, B.CreateFSub(Q, B.CreateFMul(C(0.5f), Lo))));
  return B.CreateSelect(B.CreateFCmpOLT(X, C(0.0f)), B.CreateFMul(Half, Erfc), Pos);
}

/// erf(x) for the erf kernel, to within 2.3 ulp everywhere (where the
/// gelu epilogue's emitErf is within 1.5e-7 absolute): piecewise
/// polynomials fitted by least squares on Chebyshev nodes in double and
/// rounded to float, evaluated for every lane and selected by |x|:
///   |x| < 1:      x P(x^2), P of degree 5 (relative accuracy near 0);
///   1 <= |x| < 2: Q(|x| - 1), degree 8;
///   2 <= |x| < 4: R(|x| - 2), degree 10;
///   |x| >= 4:     1 (erf(4) = 1 - 1.5e-8 rounds to 1);
/// with the sign of x; NaN stays NaN. Measured (numpy, FMA emulated) over
/// 3.1 million points: worst 2.30 ulp, at x = 0.4769.
} // namespace

Value *atalla::codegen::detail::emitErf(IRBuilderBase &B, Value *X) {
  Type *F = X->getType();
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  Value *A = B.CreateUnaryIntrinsic(Intrinsic::fabs, X);
  Value *Small = B.CreateFMul(A, poly(B, B.CreateFMul(A, A),
                                      {-0.000562539615f, 0.00491602346f, -0.0267099496f, 0.112801306f,
                                       -0.37612319f, 1.12837911f}));
  Value *Mid = poly(B, B.CreateFSub(A, C(1.0f)),
                    {-0.00240193028f, 0.0057730386f, 0.0159413051f, -0.0763521641f, 0.0717524737f, 0.137860551f,
                     -0.415057421f, 0.415105611f, 0.842700779f});
  Value *Far = poly(B, B.CreateFSub(A, C(2.0f)),
                    {2.21172904e-05f, -0.000235310421f, 0.000981393154f, -0.00161613349f, -0.00177963113f,
                     0.0147388866f, -0.0351734124f, 0.0484072417f, -0.0413576663f, 0.0206681676f, 0.995322227f});
  Value *Y = B.CreateSelect(B.CreateFCmpOLT(A, C(2.0f)), Mid, B.CreateSelect(B.CreateFCmpOLT(A, C(4.0f)), Far, C(1.0f)));
  Y = B.CreateSelect(B.CreateFCmpOLT(A, C(1.0f)), Small, Y);
  Y = B.CreateBinaryIntrinsic(Intrinsic::minnum, Y, C(1.0f));
  Y = B.CreateBinaryIntrinsic(Intrinsic::copysign, Y, X);
  return B.CreateSelect(B.CreateFCmpUNO(X, X), X, Y);
}

namespace {

Type *elemType(KernelBuilder &KB, abi::DType T) {
  switch (T) {
  case abi::DType::U8:
  case abi::DType::Bool:
    return KB.B.getInt8Ty();
  case abi::DType::I32:
    return KB.I32;
  case abi::DType::I64:
    return KB.I64;
  case abi::DType::F32:
    return KB.F32;
  case abi::DType::BF16: // no operand type: bf16 operands are f32 ones read through the aperture
    break;
  }
  llvm_unreachable("checked by KernelSpec::typeError");
}

Value *loadElem(KernelBuilder &KB, abi::DType T, Value *Buf, Value *Idx) {
  Type *Ty = elemType(KB, T);
  return KB.B.CreateAlignedLoad(Ty, KB.B.CreateInBoundsGEP(Ty, Buf, Idx), Align(abi::dtypeBytes(T)));
}

void storeElem(KernelBuilder &KB, abi::DType T, Value *V, Value *Buf, Value *Idx) {
  Type *Ty = elemType(KB, T);
  KB.B.CreateAlignedStore(V, KB.B.CreateInBoundsGEP(Ty, Buf, Idx), Align(abi::dtypeBytes(T)));
}

/// torch's casts between the element types (c10::convert / static_cast):
/// integers widen by sign (u8 and bool by zero), narrow by truncation;
/// int -> float rounds to nearest; float -> int truncates toward zero, and
/// to u8 through i32 as x86 code does (out-of-range values are undefined
/// in C++; in range, every path agrees); anything -> bool is x != 0, so NaN
/// is true.
Value *convertElem(IRBuilder<> &B, Value *V, abi::DType From, abi::DType To, Type *ToTy) {
  if (From == To)
    return V;
  const bool FromFloat = From == abi::DType::F32;
  const bool FromUnsigned = From == abi::DType::U8 || From == abi::DType::Bool;
  if (To == abi::DType::Bool) {
    Value *NZ = FromFloat ? B.CreateFCmpUNE(V, ConstantFP::get(V->getType(), 0.0))
                          : B.CreateICmpNE(V, ConstantInt::get(V->getType(), 0));
    return B.CreateZExt(NZ, ToTy);
  }
  if (To == abi::DType::F32)
    return FromFloat ? V : FromUnsigned ? B.CreateUIToFP(V, ToTy) : B.CreateSIToFP(V, ToTy);
  if (FromFloat) {
    if (To == abi::DType::U8)
      return B.CreateTrunc(B.CreateFPToSI(V, B.getInt32Ty()), ToTy);
    return B.CreateFPToSI(V, ToTy);
  }
  return FromUnsigned ? B.CreateZExtOrTrunc(V, ToTy) : B.CreateSExtOrTrunc(V, ToTy);
}

/// sin(x) or cos(x): Cephes sinf/cosf. j = round-to-even-octant of
/// |x| * 4/pi, z = |x| - j pi/4 in three parts (exact for |x| < 8192), then
/// the sine or cosine polynomial on [-pi/4, pi/4] by octant, and the sign.
/// Under 2 ulp for |x| < 8192; beyond, the reduction loses bits (torch's
/// libm does not), and |x| > 2^24 gives NaN rather than garbage; NaN and
/// +-inf give NaN.
Value *emitSinCos(IRBuilder<> &B, Value *X, bool Cos) {
  Type *F = X->getType();
  Type *I = F->getWithNewType(B.getInt32Ty());
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  auto CI = [&](int32_t V) { return ConstantInt::get(I, V, true); };
  Value *A = B.CreateUnaryIntrinsic(Intrinsic::fabs, X);
  Value *InRange = B.CreateFCmpOLE(A, C(16777216.0f)); // false for NaN and inf
  Value *Ac = B.CreateSelect(InRange, A, C(0.0f));
  Value *J = B.CreateFPToSI(B.CreateFMul(Ac, C(1.27323954473516f)), I);
  J = B.CreateAnd(B.CreateAdd(J, CI(1)), CI(~1)); // odd octants round up
  Value *Y = B.CreateSIToFP(J, F);
  Value *Z = B.CreateFSub(Ac, B.CreateFMul(Y, C(0.78515625f)));
  Z = B.CreateFSub(Z, B.CreateFMul(Y, C(2.4187564849853515625e-4f)));
  Z = B.CreateFSub(Z, B.CreateFMul(Y, C(3.77489497744594108e-8f)));
  Value *ZZ = B.CreateFMul(Z, Z);
  Value *SinP = fmaF(B, B.CreateFMul(Z, ZZ), poly(B, ZZ, {-1.9515295891E-4f, 8.3321608736E-3f, -1.6666654611E-1f}), Z);
  Value *CosP = B.CreateFAdd(
      B.CreateFSub(B.CreateFMul(B.CreateFMul(ZZ, ZZ),
                                poly(B, ZZ, {2.443315711809948E-005f, -1.388731625493765E-003f, 4.166664568298827E-002f})),
                   B.CreateFMul(C(0.5f), ZZ)),
      C(1.0f));
  Value *Oct = B.CreateAnd(J, CI(7));
  Value *Upper = B.CreateICmpSGT(Oct, CI(3));
  Value *Jr = B.CreateSelect(Upper, B.CreateSub(Oct, CI(4)), Oct);
  Value *Swap = B.CreateOr(B.CreateICmpEQ(Jr, CI(1)), B.CreateICmpEQ(Jr, CI(2)));
  Value *R;
  Value *Negate;
  if (Cos) {
    R = B.CreateSelect(Swap, SinP, CosP);
    Negate = B.CreateXor(Upper, B.CreateICmpSGT(Jr, CI(1)));
  } else {
    R = B.CreateSelect(Swap, CosP, SinP);
    Negate = B.CreateXor(Upper, B.CreateFCmpOLT(X, C(0.0f)));
  }
  R = B.CreateSelect(Negate, B.CreateFNeg(R), R);
  return B.CreateSelect(InRange, R, ConstantFP::getNaN(F));
}

} // namespace

Value *atalla::codegen::detail::emitEpilogue(IRBuilder<> &B, abi::Epilogue E, Value *X) {
  auto C = [&](float V) { return ConstantFP::get(X->getType(), V); };
  switch (E) {
  case abi::Epilogue::None:
    return X;
  case abi::Epilogue::Relu: // x < 0 ? 0 : x keeps NaN (as torch.relu does)
    return B.CreateSelect(B.CreateFCmpOLT(X, C(0)), C(0), X);
  case abi::Epilogue::Silu: // x / (1 + exp(-x)), as the silu kernel
    return B.CreateFDiv(X, B.CreateFAdd(C(1), emitExp(B, B.CreateFNeg(X))));
  case abi::Epilogue::Sigmoid: // 1 / (1 + exp(-x)), as the sigmoid kernel
    return B.CreateFDiv(C(1), B.CreateFAdd(C(1), emitExp(B, B.CreateFNeg(X))));
  case abi::Epilogue::Hardsigmoid: { // min(max(x + 3, 0), 6) / 6, as the hardsigmoid kernel
    Value *R6 = B.CreateFAdd(X, C(3));
    R6 = B.CreateSelect(B.CreateFCmpOLT(R6, C(0)), C(0), R6);
    R6 = B.CreateSelect(B.CreateFCmpOGT(R6, C(6)), C(6), R6);
    return B.CreateFDiv(R6, C(6));
  }
  case abi::Epilogue::Hardswish: { // x * min(max(x + 3, 0), 6) / 6, as the hardswish kernel
    Value *R6 = B.CreateFAdd(X, C(3));
    R6 = B.CreateSelect(B.CreateFCmpOLT(R6, C(0)), C(0), R6);
    R6 = B.CreateSelect(B.CreateFCmpOGT(R6, C(6)), C(6), R6);
    return B.CreateFDiv(B.CreateFMul(X, R6), C(6));
  }
  case abi::Epilogue::Relu6: { // hardtanh(x, 0, 6): x < 0 ? 0 : (x > 6 ? 6 : x), NaN kept (as torch's)
    Value *Lo = B.CreateSelect(B.CreateFCmpOLT(X, C(0)), C(0), X);
    return B.CreateSelect(B.CreateFCmpOGT(Lo, C(6)), C(6), Lo);
  }
  case abi::Epilogue::Gelu: // x/2 (1 + erf(x / sqrt 2)); x < 0: x/2 erfc(|x| / sqrt 2)
    return emitGelu(B, X);
  case abi::Epilogue::GeluTanh: { // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value *Inner = B.CreateFMul(C(0.79788456080286536f), fmaF(B, B.CreateFMul(C(0.044715f), B.CreateFMul(X, X)), X, X));
    Value *Half = B.CreateFMul(C(0.5f), X);
    return fmaF(B, Half, emitTanh(B, Inner), Half);
  }
  }
  llvm_unreachable("unknown epilogue");
}

namespace {

Value *applyOp(KernelBuilder &KB, const abi::KernelSpec &Spec, ArrayRef<Value *> In) {
  IRBuilder<> &B = KB.B;
  switch (Spec.Kernel) {
  case abi::KernelId::exp:
    return emitExp(B, In[0]);
  case abi::KernelId::log:
    return emitLog(B, In[0]);
  case abi::KernelId::sigmoid: // 1 / (1 + exp(-x)): exp overflow gives 0, underflow 1
    return B.CreateFDiv(KB.f32(1), B.CreateFAdd(KB.f32(1), emitExp(B, B.CreateFNeg(In[0]))));
  case abi::KernelId::tanh:
    return emitTanh(B, In[0]);
  case abi::KernelId::sin:
  case abi::KernelId::cos:
    return emitSinCos(B, In[0], Spec.Kernel == abi::KernelId::cos);
  case abi::KernelId::erf:
    return emitErf(B, In[0]);
  case abi::KernelId::where: {
    // In: Cond (i8), A, B, or Cond, B, Scalar (pushed last).
    Value *C = B.CreateICmpNE(In[0], B.getInt8(0));
    return Spec.HasScalar ? B.CreateSelect(C, In[2], In[1]) : B.CreateSelect(C, In[1], In[2]);
  }
  case abi::KernelId::neg:
    return B.CreateFNeg(In[0]);
  case abi::KernelId::abs:
    return B.CreateUnaryIntrinsic(Intrinsic::fabs, In[0]);
  case abi::KernelId::square:
    return B.CreateFMul(In[0], In[0]);
  case abi::KernelId::silu: // x / (1 + exp(-x)), as torch's CPU kernel
    return B.CreateFDiv(In[0], B.CreateFAdd(KB.f32(1), emitExp(B, B.CreateFNeg(In[0]))));
  case abi::KernelId::hardswish: { // x * min(max(x + 3, 0), 6) / 6
    Value *R6 = B.CreateFAdd(In[0], KB.f32(3));
    R6 = B.CreateSelect(B.CreateFCmpOLT(R6, KB.f32(0)), KB.f32(0), R6);
    R6 = B.CreateSelect(B.CreateFCmpOGT(R6, KB.f32(6)), KB.f32(6), R6);
    return B.CreateFDiv(B.CreateFMul(In[0], R6), KB.f32(6));
  }
  case abi::KernelId::powi: {
    Value *X2 = B.CreateFMul(In[0], In[0]);
    if (Spec.Params[0] == 3)
      return B.CreateFMul(X2, In[0]);
    return B.CreateFDiv(KB.f32(1), Spec.Params[0] == -1 ? In[0] : X2);
  }
  case abi::KernelId::hardsigmoid: { // min(max(x + 3, 0), 6) / 6
    Value *R6 = B.CreateFAdd(In[0], KB.f32(3));
    R6 = B.CreateSelect(B.CreateFCmpOLT(R6, KB.f32(0)), KB.f32(0), R6);
    R6 = B.CreateSelect(B.CreateFCmpOGT(R6, KB.f32(6)), KB.f32(6), R6);
    return B.CreateFDiv(R6, KB.f32(6));
  }
  case abi::KernelId::leaky_relu: { // x > 0 ? x : x * slope
    float Slope = Spec.paramF32(0);
    return B.CreateSelect(B.CreateFCmpOGT(In[0], KB.f32(0)), In[0], B.CreateFMul(In[0], KB.f32(Slope)));
  }
  case abi::KernelId::clamp: { // min(max(x, lo), hi); NaN stays NaN
    Value *V = In[0];
    Value *Lo = KB.f32(Spec.paramF32(0)), *Hi = KB.f32(Spec.paramF32(1));
    V = B.CreateSelect(B.CreateFCmpOLT(V, Lo), Lo, V);
    return B.CreateSelect(B.CreateFCmpOGT(V, Hi), Hi, V);
  }
  case abi::KernelId::sqrt:
    return B.CreateUnaryIntrinsic(Intrinsic::sqrt, In[0]);
  case abi::KernelId::rsqrt: // as torch: 1 / sqrt(x), two roundings
    return B.CreateFDiv(KB.f32(1), B.CreateUnaryIntrinsic(Intrinsic::sqrt, In[0]));
  case abi::KernelId::gelu:
    return emitEpilogue(B, abi::Epilogue::Gelu, In[0]);
  case abi::KernelId::gelu_tanh:
    return emitEpilogue(B, abi::Epilogue::GeluTanh, In[0]);
  case abi::KernelId::relu:
    return emitEpilogue(B, abi::Epilogue::Relu, In[0]);
  case abi::KernelId::copy:
    return In[0];
  case abi::KernelId::convert:
    return convertElem(B, In[0], Spec.Operands[0].Type, Spec.output().Type, elemType(KB, Spec.output().Type));
  case abi::KernelId::eq:
  case abi::KernelId::ne:
  case abi::KernelId::lt:
  case abi::KernelId::le:
  case abi::KernelId::gt:
  case abi::KernelId::ge: {
    // Ordered predicates (false with a NaN), ne unordered (true), as IEEE
    // and torch compare.
    CmpInst::Predicate P = Spec.Kernel == abi::KernelId::eq   ? CmpInst::FCMP_OEQ
                           : Spec.Kernel == abi::KernelId::ne ? CmpInst::FCMP_UNE
                           : Spec.Kernel == abi::KernelId::lt ? CmpInst::FCMP_OLT
                           : Spec.Kernel == abi::KernelId::le ? CmpInst::FCMP_OLE
                           : Spec.Kernel == abi::KernelId::gt ? CmpInst::FCMP_OGT
                                                              : CmpInst::FCMP_OGE;
    return B.CreateZExt(B.CreateFCmp(P, In[0], In[1]), B.getInt8Ty());
  }
  case abi::KernelId::chain: {
    std::vector<abi::ChainStep> Steps;
    Spec.chainSteps(Steps); // checked before emission
    Value *V = In[0];
    for (const abi::ChainStep &S : Steps) {
      abi::KernelSpec One;
      One.Kernel = S.Op;
      if (abi::isChainableUnary(S.Op)) {
        V = applyOp(KB, One, {V});
        continue;
      }
      Value *X = S.Source >= 0 ? In[size_t(S.Source)] : KB.f32(S.constant());
      V = S.Swapped ? applyOp(KB, One, {X, V}) : applyOp(KB, One, {V, X});
    }
    return V;
  }
  case abi::KernelId::add:
  case abi::KernelId::sub: {
    Value *Rhs = In[1];
    if (Spec.Alpha != 1)
      Rhs = B.CreateFMul(KB.f32(static_cast<float>(Spec.Alpha)), Rhs);
    return Spec.Kernel == abi::KernelId::add ? B.CreateFAdd(In[0], Rhs) : B.CreateFSub(In[0], Rhs);
  }
  case abi::KernelId::mul:
    return B.CreateFMul(In[0], In[1]);
  case abi::KernelId::div:
    return B.CreateFDiv(In[0], In[1]);
  case abi::KernelId::maximum: // NaN if either is NaN (torch.maximum)
    return B.CreateBinaryIntrinsic(Intrinsic::maximum, In[0], In[1]);
  case abi::KernelId::gemm:
  case abi::KernelId::conv2d:
  case abi::KernelId::max_pool2d:
  case abi::KernelId::max_pool2d_index:
  case abi::KernelId::adaptive_avg_pool2d:
  case abi::KernelId::avg_pool2d:
  case abi::KernelId::attention:
  case abi::KernelId::dwconv2d:
  case abi::KernelId::conv_transpose2d:
  case abi::KernelId::softmax:
  case abi::KernelId::log_softmax:
  case abi::KernelId::pad:
  case abi::KernelId::layer_norm:
  case abi::KernelId::sum:
  case abi::KernelId::mean:
  case abi::KernelId::amax:
  case abi::KernelId::amin:
  case abi::KernelId::argmax:
  case abi::KernelId::argmin:
  case abi::KernelId::embedding:
    break;
  }
  llvm_unreachable("not an elementwise kernel");
}

/// Writes one elementwise kernel (unary, binary, copy, select, chain) on a
/// simplified view: for each outer index, blocks of TR rows x TC columns are
/// loaded by SDMA (each input as its strides allow: dense, broadcast,
/// transposed or gathered), combined element by element, and stored.
class ElementwiseEmitter {
public:
  ElementwiseEmitter(KernelBuilder &KB, const abi::KernelSpec &Spec, size_t NumInputs)
      : KB(KB), B(KB.B), Spec(Spec), NumInputs(NumInputs), V(simplify(Spec)), R(V.Sizes.size()),
        OutOp(Spec.Operands.size() - 1) {}

  void run();

private:
  KernelBuilder &KB;
  IRBuilder<> &B;
  const abi::KernelSpec &Spec;
  const size_t NumInputs;
  const View V;
  const size_t R;
  const size_t OutOp;
  std::vector<int64_t> ES; ///< bytes per element of each operand (the spec's order)
  int64_t Cols = 0, Rows = 0, Outer = 1, TC = 0, TR = 0;
  std::vector<InputPlan> Plans;
  bool StoreInput = false;
  Value *OutBuf = nullptr;
  std::vector<Value *> Addr;
  // The current block: the outer index's offsets, first row and column, and
  // how many of each.
  std::vector<Value *> Base;
  Value *R0 = nullptr, *RN = nullptr, *C0 = nullptr, *CN = nullptr;

  abi::DType typeOf(size_t Op) const { return Spec.Operands[Op].Type; }
  void planInputs();
  void allocate();
  Value *tileLen(Value *Start, int64_t Tile, int64_t Dim);
  Value *dramAddr(size_t Op, Value *ExtraElems);
  Value *bytes(Value *Elems, size_t Op) { return B.CreateMul(Elems, KB.i64(ES[Op])); }
  void loadInputs();
  void compute();
  void storeOutput();
};

/// How each input is loaded, and the block shape.
void ElementwiseEmitter::planInputs() {
  for (const abi::OperandSpec &O : Spec.Operands)
    ES.push_back(abi::dtypeBytes(O.Type));
  Cols = V.Sizes[R - 1];
  Rows = V.Sizes[R - 2];
  for (size_t D = 0; D + 2 < R; ++D)
    Outer *= V.Sizes[D];
  bool AnyTransposed = false;
  for (unsigned I = 0; I < NumInputs; ++I) {
    InputPlan P;
    P.Operand = I;
    P.ColStride = V.Strides[I][R - 1];
    P.RowStride = V.Strides[I][R - 2];
    if (P.ColStride == 1 || Cols == 1)
      P.Mode = LoadMode::Dense;
    else if (P.ColStride == 0)
      P.Mode = LoadMode::Broadcast;
    else if (P.RowStride == 1 && Rows > 1)
      P.Mode = LoadMode::Transposed;
    else
      P.Mode = LoadMode::Gather;
    AnyTransposed |= P.Mode == LoadMode::Transposed;
    Plans.push_back(P);
  }
  if (AnyTransposed) {
    TC = std::min(Cols, TransposeSide);
    TR = std::min(Rows, TransposeSide);
  } else {
    TC = std::min(Cols, BlockElems);
    TR = std::min(Rows, std::max<int64_t>(1, BlockElems / TC));
  }
}

/// The scratchpad grants (all before the loops) and the operands' addresses.
void ElementwiseEmitter::allocate() {
  for (InputPlan &P : Plans) {
    int64_t Elems = TR * TC;
    if (P.Mode == LoadMode::Broadcast)
      Elems = P.RowStride == 0 ? 1 : TR;
    else if (P.Mode == LoadMode::Dense && P.RowStride == 0)
      Elems = TC;
    P.Buf = KB.alloc(uint64_t(Elems * ES[P.Operand]), "in" + Twine(P.Operand));
  }
  // A copy whose input block is already the output block stores it directly.
  StoreInput = Spec.family() == abi::KernelFamily::Copy &&
               (Plans[0].Mode == LoadMode::Dense || Plans[0].Mode == LoadMode::Gather) &&
               (Plans[0].RowStride != 0 || TR == 1);
  OutBuf = StoreInput ? Plans[0].Buf : KB.alloc(uint64_t(TR * TC * ES[OutOp]), "out");
  for (size_t I = 0; I <= NumInputs; ++I)
    Addr.push_back(KB.operandAddr(I == NumInputs ? unsigned(Spec.Operands.size() - 1) : I));
}

Value *ElementwiseEmitter::tileLen(Value *Start, int64_t Tile, int64_t Dim) {
  if (Dim % Tile == 0)
    return KB.i64(Tile);
  return KB.umin(KB.i64(Tile), B.CreateSub(KB.i64(Dim), Start));
}

/// The DRAM address of operand \p Op's element at the block's origin (plus
/// \p ExtraElems).
Value *ElementwiseEmitter::dramAddr(size_t Op, Value *ExtraElems) {
  Value *E = B.CreateAdd(Base[Op], B.CreateMul(R0, KB.i64(V.Strides[Op][R - 2])));
  E = B.CreateAdd(E, B.CreateMul(C0, KB.i64(V.Strides[Op][R - 1])));
  if (ExtraElems)
    E = B.CreateAdd(E, ExtraElems);
  return B.CreateAdd(Addr[Op == OutOp ? NumInputs : Op], B.CreateMul(E, KB.i64(ES[Op])));
}

/// Every input's block into its buffer, and how to step through it.
void ElementwiseEmitter::loadInputs() {
  for (InputPlan &P : Plans) {
    Value *Src = dramAddr(P.Operand, nullptr);
    const int64_t W = ES[P.Operand];
    Value *CNBytes = bytes(CN, P.Operand);
    switch (P.Mode) {
    case LoadMode::Dense:
      if (P.RowStride == 0) {
        KB.sdmaLoad(P.Buf, Src, KB.i64(1), CNBytes, KB.i64(0));
        P.RowStep = KB.i64(0);
      } else {
        KB.sdmaLoad(P.Buf, Src, RN, CNBytes, KB.i64(P.RowStride * W));
        P.RowStep = CN;
      }
      P.ColStep = KB.i64(1);
      break;
    case LoadMode::Broadcast:
      if (P.RowStride == 0) {
        KB.sdmaLoad(P.Buf, Src, KB.i64(1), KB.i64(W), KB.i64(0));
        P.RowStep = KB.i64(0);
      } else {
        KB.sdmaLoad(P.Buf, Src, RN, KB.i64(W), KB.i64(P.RowStride * W));
        P.RowStep = KB.i64(1);
      }
      P.ColStep = KB.i64(0);
      break;
    case LoadMode::Transposed:
      KB.sdmaLoad(P.Buf, Src, CN, bytes(RN, P.Operand), KB.i64(P.ColStride * W));
      P.RowStep = KB.i64(1);
      P.ColStep = RN;
      break;
    case LoadMode::Gather: {
      // Rows that repeat (row stride 0) are gathered once.
      Value *NRows = P.RowStride == 0 ? KB.i64(1) : RN;
      KB.forLoop(KB.i64(0), NRows, "gather", [&](Value *Row) {
        Value *RowSrc = B.CreateAdd(Src, B.CreateMul(Row, KB.i64(P.RowStride * W)));
        Value *Dst = B.CreateInBoundsGEP(B.getInt8Ty(), P.Buf, bytes(B.CreateMul(Row, CN), P.Operand));
        KB.sdmaLoad(Dst, RowSrc, CN, KB.i64(W), KB.i64(P.ColStride * W));
      });
      P.RowStep = P.RowStride == 0 ? KB.i64(0) : CN;
      P.ColStep = KB.i64(1);
      break;
    }
    }
  }
}

/// The block's results into OutBuf.
void ElementwiseEmitter::compute() {
  auto combine = [&](Value *Row, Value *Col, Value *OutIdx) {
    std::vector<Value *> In;
    for (InputPlan &P : Plans) {
      Value *Idx = B.CreateAdd(B.CreateMul(Row, P.RowStep), B.CreateMul(Col, P.ColStep));
      In.push_back(loadElem(KB, typeOf(P.Operand), P.Buf, Idx));
    }
    if (Spec.HasScalar)
      In.push_back(KB.f32(static_cast<float>(Spec.Scalar)));
    storeElem(KB, typeOf(OutOp), applyOp(KB, Spec, In), OutBuf, OutIdx);
  };
  // Blocks whose inputs are all dense (or one repeated value) run as one
  // flat loop, which vectorises even when rows are short.
  bool Flat = true;
  for (InputPlan &P : Plans) {
    bool DenseRows = (P.Mode == LoadMode::Dense || P.Mode == LoadMode::Gather) && (P.RowStride != 0 || TR == 1);
    bool Scalar = P.Mode == LoadMode::Broadcast && P.RowStride == 0;
    Flat &= DenseRows || Scalar;
  }
  if (Flat) {
    KB.forLoop(KB.i64(0), B.CreateMul(RN, CN), "elt", [&](Value *I) {
      std::vector<Value *> In;
      for (InputPlan &P : Plans)
        In.push_back(loadElem(KB, typeOf(P.Operand), P.Buf, P.Mode == LoadMode::Broadcast ? KB.i64(0) : I));
      if (Spec.HasScalar)
        In.push_back(KB.f32(static_cast<float>(Spec.Scalar)));
      storeElem(KB, typeOf(OutOp), applyOp(KB, Spec, In), OutBuf, I);
    });
  } else {
    KB.forLoop(KB.i64(0), RN, "row", [&](Value *Row) {
      KB.forLoop(KB.i64(0), CN, "col", [&](Value *Col) { combine(Row, Col, B.CreateAdd(B.CreateMul(Row, CN), Col)); });
    });
  }
}

/// OutBuf to the output's block.
void ElementwiseEmitter::storeOutput() {
  const int64_t OutCol = V.Strides[OutOp][R - 1], OutRow = V.Strides[OutOp][R - 2];
  const int64_t W = ES[OutOp];
  if (OutCol == 1 || Cols == 1) {
    KB.sdmaStore(dramAddr(OutOp, nullptr), OutBuf, RN, bytes(CN, OutOp), KB.i64(OutRow * W));
    return;
  }
  // A copy into a strided slice (cat of columns): scatter each row.
  Value *Dst = dramAddr(OutOp, nullptr);
  KB.forLoop(KB.i64(0), RN, "scatter", [&](Value *Row) {
    KB.sdmaStore(B.CreateAdd(Dst, B.CreateMul(Row, KB.i64(OutRow * W))),
                 B.CreateInBoundsGEP(B.getInt8Ty(), OutBuf, bytes(B.CreateMul(Row, CN), OutOp)), CN, KB.i64(W),
                 KB.i64(OutCol * W));
  });
}

void ElementwiseEmitter::run() {
  planInputs();
  allocate();
  // Operand order in V.Strides: inputs..., output (the spec's order).
  const std::vector<int64_t> OuterSizes(V.Sizes.begin(), V.Sizes.end() - 2);
  std::vector<std::vector<int64_t>> OuterStrides;
  for (auto &S : V.Strides)
    OuterStrides.emplace_back(S.begin(), S.end() - 2);
  auto ceilDiv = [](int64_t A, int64_t Bv) { return (A + Bv - 1) / Bv; };
  KB.forLoop(Outer, "outer", [&](Value *O) {
    Base = stridedOffsets(B, O, OuterSizes, OuterStrides);
    KB.forLoop(ceilDiv(Rows, TR), "rowblk", [&](Value *RB) {
      R0 = B.CreateMul(RB, KB.i64(TR), "r0", true, true);
      RN = tileLen(R0, TR, Rows);
      KB.forLoop(ceilDiv(Cols, TC), "colblk", [&](Value *CB) {
        C0 = B.CreateMul(CB, KB.i64(TC), "c0", true, true);
        CN = tileLen(C0, TC, Cols);
        loadInputs();
        if (!StoreInput)
          compute();
        storeOutput();
      });
    });
  });
}

} // namespace

Error atalla::codegen::detail::emitElementwise(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  const abi::KernelFamily Fam = Spec.family();
  size_t NumInputs = Fam == abi::KernelFamily::Binary && !Spec.HasScalar ? 2 : 1;
  if (Fam == abi::KernelFamily::Chain)
    NumInputs = Spec.Operands.size() - 1;
  if (Fam == abi::KernelFamily::Select)
    NumInputs = Spec.HasScalar ? 2 : 3;
  if (Spec.Operands.size() != NumInputs + 1)
    return specError(Spec, "expected " + Twine(NumInputs + 1) + " operands, got " +
                               Twine(Spec.Operands.size()));
  const abi::OperandSpec &Out = Spec.output();
  for (size_t I = 0; I < NumInputs; ++I)
    if (Spec.Operands[I].Sizes != Out.Sizes)
      return specError(Spec, "input " + Twine(I) + " does not have the output's shape");
  if (Out.numel() > 0)
    ElementwiseEmitter(KB, Spec, NumInputs).run();
  KB.finish();
  return Error::success();
}
