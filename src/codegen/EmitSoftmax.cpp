//===- codegen/EmitSoftmax.cpp - softmax along any dimension --------------===//
//
// out = exp(x - max) / sum(exp(x - max)) along Dim, seen as [outer, D, inner].
// Two layouts in the scratchpad:
//  - row layout, used when inner == 1 (or the input's inner dims are not
//    unit-stride): each reduction vector of D elements is contiguous; short
//    rows are brought in several at a time (32 KiB tiles, so both SDMA
//    copies touch cache, not a second DRAM buffer); three passes over the
//    row in explicit <8 x float> vectors: max (4 partial maxima), exp and
//    sum (an exp specialised to x - max <= 0), scale by 1/sum;
//  - column layout, used when inner > 1 and the input is unit-stride there:
//    a [D][nc] tile of nc neighbouring columns, reduced along D with the
//    vector lanes across columns (max and sum per column in small buffers).
// A contiguous row longer than the scratchpad (a large vocabulary's logits)
// is walked in chunks of LongChunk elements, three times from DRAM: the
// max, the sum of exp(x - max), then the outputs, the same formulas as a
// row in the scratchpad (the sum's partial results split differently).
// Other long reduction vectors do not fit: D * 4 bytes <= ~700 KiB.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// Elements of one softmax tile (32 KiB: the SDMA copies stay in L1/L2, so
/// DRAM sees each byte once each way), unless one row needs more.
constexpr int64_t TileElems = 8192;
/// Independent partial results per reduction.
constexpr unsigned NumAcc = 4;
/// Elements per chunk of a row too long for the scratchpad (128 KiB).
constexpr int64_t LongChunk = codegen::SoftmaxChunk;

struct Dims {
  std::vector<int64_t> Sizes;
  std::vector<std::vector<int64_t>> Strides; ///< [0] input, [1] output
};

/// Drops size-1 dims and merges dims both operands traverse linearly.
Dims simplify(const std::vector<int64_t> &Sizes, const std::vector<int64_t> &In,
              const std::vector<int64_t> &Out) {
  Dims R;
  R.Strides.resize(2);
  for (size_t D = 0; D < Sizes.size(); ++D) {
    if (Sizes[D] == 1)
      continue;
    if (!R.Sizes.empty() && R.Strides[0].back() == In[D] * Sizes[D] &&
        R.Strides[1].back() == Out[D] * Sizes[D]) {
      R.Sizes.back() *= Sizes[D];
      R.Strides[0].back() = In[D];
      R.Strides[1].back() = Out[D];
      continue;
    }
    R.Sizes.push_back(Sizes[D]);
    R.Strides[0].push_back(In[D]);
    R.Strides[1].push_back(Out[D]);
  }
  if (R.Sizes.empty()) {
    R.Sizes.push_back(1);
    R.Strides[0].push_back(0);
    R.Strides[1].push_back(0);
  }
  return R;
}

struct SoftmaxEmitter {
  /// Lanes per vector: a ymm of floats, or a zmm for AVX-512 targets.
  const unsigned VW;
  KernelBuilder &KB;
  IRBuilder<> &B;
  Value *NegInf, *Zero, *One;

  /// log_softmax: x - max - log(sum) instead of exp(x - max) / sum.
  bool Log = false;

  explicit SoftmaxEmitter(KernelBuilder &KB)
      : VW(KB.Isa == codegen::VectorIsa::Avx512 ? 16 : 8), KB(KB), B(KB.B) {
    NegInf = ConstantFP::getInfinity(KB.F32, /*Negative=*/true);
    Zero = KB.f32(0);
    One = KB.f32(1);
  }

  Value *maxnum(Value *A, Value *Bv) {
    return B.CreateBinaryIntrinsic(Intrinsic::maximum, A, Bv);
  }

  /// max(A, B) as one hardware max (x86 maxps: B when either is NaN). A NaN
  /// in the row still reaches every output through the sum of exps.
  Value *fastMax(Value *A, Value *Bv) {
    return B.CreateSelect(B.CreateFCmpOGT(A, Bv), A, Bv);
  }

  /// Visits the D contiguous elements of a row in explicit vectors: a loop
  /// of U vectors per iteration (lane group u feeds accumulator u), then the
  /// leftover whole vectors, then the last D % VW elements one at a time
  /// (Lanes == 1). D is a constant, so every trip count is.
  void chunks(int64_t D, unsigned U,
              const std::function<void(Value *Index, unsigned Lanes, unsigned Acc)> &Fn) {
    const int64_t Step = VW * U, Main = D / Step;
    if (Main)
      KB.forLoop(Main, "chunk", [&](Value *I) {
        Value *Base = B.CreateMul(I, KB.i64(Step));
        for (unsigned Ui = 0; Ui < U; ++Ui)
          Fn(B.CreateAdd(Base, KB.i64(Ui * VW)), VW, Ui);
      });
    int64_t Pos = Main * Step;
    for (unsigned Ui = 0; Pos + VW <= D; Pos += VW, ++Ui)
      Fn(KB.i64(Pos), VW, Ui % U);
    for (; Pos < D; ++Pos)
      Fn(KB.i64(Pos), 1, NumAcc);
  }

  Value *loadN(Value *Row, Value *Index, unsigned Lanes) {
    if (Lanes == 1)
      return KB.loadF32(Row, Index);
    return B.CreateAlignedLoad(FixedVectorType::get(KB.F32, Lanes), KB.elementPtr(Row, Index),
                               Align(4));
  }
  void storeN(Value *V, Value *Row, Value *Index) {
    B.CreateAlignedStore(V, KB.elementPtr(Row, Index), Align(4));
  }

  /// U vector accumulators and one scalar one, all set to Init.
  std::vector<AllocaInst *> accumulators(Value *Init, const Twine &Name) {
    std::vector<AllocaInst *> A;
    Type *VT = FixedVectorType::get(KB.F32, VW);
    for (unsigned Ui = 0; Ui < NumAcc; ++Ui) {
      A.push_back(KB.slot(VT, Name));
      B.CreateStore(B.CreateVectorSplat(VW, Init), A.back());
    }
    A.push_back(KB.slot(KB.F32, Name));
    B.CreateStore(Init, A.back());
    return A;
  }
  Value *reduce(std::vector<AllocaInst *> &A, const std::function<Value *(Value *, Value *)> &Op) {
    Type *VT = FixedVectorType::get(KB.F32, VW);
    Value *V = B.CreateLoad(VT, A[0]);
    for (unsigned Ui = 1; Ui < NumAcc; ++Ui)
      V = Op(V, B.CreateLoad(VT, A[Ui]));
    // A tree across the lanes (halves, then quarters...): log2(VW) dependent
    // steps instead of a chain of VW scalar ones, which would dominate rows
    // of a few vectors.
    for (unsigned W = VW / 2; W >= 1; W /= 2) {
      SmallVector<int, 8> Lo, Hi;
      for (unsigned L = 0; L < W; ++L) {
        Lo.push_back(int(L));
        Hi.push_back(int(L + W));
      }
      V = Op(B.CreateShuffleVector(V, Lo), B.CreateShuffleVector(V, Hi));
    }
    return Op(B.CreateExtractElement(V, uint64_t(0)), B.CreateLoad(KB.F32, A[NumAcc]));
  }

  /// exp(x) for x = v - max(row) <= 0 (or NaN), the same Cody-Waite
  /// reduction and Cephes polynomial as emitExp, cheaper where x <= 0 lets
  /// it be: no overflow path, and n in [-126, 0] so 2^n is one exponent
  /// field (built straight from the rounding constant's bits). x < ln
  /// FLT_MIN -> 0 (also -inf); NaN -> NaN.
  Value *expNonPositive(Value *X) {
    Type *FT = X->getType();
    Type *IT = FT->getWithNewType(B.getInt32Ty());
    auto C = [&](float V) { return ConstantFP::get(FT, V); };
    auto CI = [&](int32_t V) { return ConstantInt::get(IT, V, /*IsSigned=*/true); };
    auto Fma = [&](Value *A, Value *Bv, Value *Cv) {
      return B.CreateIntrinsic(Intrinsic::fmuladd, {FT}, {A, Bv, Cv});
    };
    const float Lo = -87.33654475055310f;
    Value *Under = B.CreateFCmpOLT(X, C(Lo)); // false for NaN: NaN flows through
    Value *Xc = B.CreateSelect(Under, C(Lo), X);
    const float Magic = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
    Value *T = B.CreateFAdd(B.CreateFMul(Xc, C(1.44269504088896341f)), C(Magic));
    Value *Nf = B.CreateFSub(T, C(Magic));
    Value *R = Fma(Nf, C(-0.693359375f), Xc);
    R = Fma(Nf, C(2.12194440e-4f), R);
    // P(r) by Estrin's scheme (a shorter dependency chain than Horner's).
    Value *R2 = B.CreateFMul(R, R), *R4 = B.CreateFMul(R2, R2);
    Value *P01 = Fma(C(1.9875691500e-4f), R, C(1.3981999507e-3f));
    Value *P23 = Fma(C(8.3334519073e-3f), R, C(4.1665795894e-2f));
    Value *P45 = Fma(C(1.6666665459e-1f), R, C(5.0000001201e-1f));
    Value *P = Fma(R4, P01, Fma(R2, P23, P45));
    Value *Y = B.CreateFAdd(Fma(P, R2, R), C(1.0f));
    // bits(T) = 0x4B400000 + n; 2^n = (n + 127) << 23.
    Value *Pow2 = B.CreateBitCast(
        B.CreateShl(B.CreateAdd(B.CreateBitCast(T, IT), CI(127 - 0x4B400000)), CI(23)), FT);
    return B.CreateSelect(Under, ConstantFP::getZero(FT), B.CreateFMul(Y, Pow2));
  }

  /// Softmax of the D contiguous elements at Row, in place: three passes
  /// over the row (in L1/L2), explicit 8-lane vectors, U partial results.
  void rowSoftmax(Value *Row, int64_t D) {
    auto Max = accumulators(NegInf, "max");
    chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned Ai) {
      Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
      B.CreateStore(fastMax(loadN(Row, I, Lanes), B.CreateLoad(Ty, Max[Ai])), Max[Ai]);
    });
    Value *M = reduce(Max, [&](Value *X, Value *Y) { return fastMax(X, Y); });
    // All -inf (or NaN-only): keep the NaN-producing x - max of the reference.
    auto Sum = accumulators(Zero, "sum");
    // One vector per step: exp has ILP of its own, and more would spill.
    chunks(D, 1, [&](Value *I, unsigned Lanes, unsigned Ai) {
      Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
      Value *Mv = Lanes == 1 ? M : B.CreateVectorSplat(Lanes, M);
      Value *E = expNonPositive(B.CreateFSub(loadN(Row, I, Lanes), Mv));
      if (!Log)
        storeN(E, Row, I);
      B.CreateStore(B.CreateFAdd(B.CreateLoad(Ty, Sum[Ai]), E), Sum[Ai]);
    });
    Value *Total = reduce(Sum, [&](Value *X, Value *Y) { return B.CreateFAdd(X, Y); });
    if (Log) {
      // x - max - log(sum), in that order as torch's CPU kernel does.
      Value *LogSum = emitLog(B, Total);
      chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned) {
        Value *Mv = Lanes == 1 ? M : B.CreateVectorSplat(Lanes, M);
        Value *Lv = Lanes == 1 ? LogSum : B.CreateVectorSplat(Lanes, LogSum);
        storeN(B.CreateFSub(B.CreateFSub(loadN(Row, I, Lanes), Mv), Lv), Row, I);
      });
      return;
    }
    Value *Inv = B.CreateFDiv(One, Total, "inv");
    chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned) {
      Value *Iv = Lanes == 1 ? Inv : B.CreateVectorSplat(Lanes, Inv);
      storeN(B.CreateFMul(loadN(Row, I, Lanes), Iv), Row, I);
    });
  }

  /// Softmax of a contiguous row of D elements at DRAM byte address Src
  /// into Dst, through Buf (LongChunk floats): three walks over its chunks
  /// (max; sum of exp(x - max); the outputs), each chunk by one SDMA
  /// transfer, so the row needs no room in the scratchpad.
  void longRowSoftmax(Value *Src, Value *Dst, int64_t D, Value *Buf) {
    const int64_t Full = D / LongChunk, Rem = D % LongChunk;
    auto walk = [&](const std::function<void(int64_t Len)> &Fn, bool Store) {
      auto one = [&](Value *Ci, int64_t Len) {
        Value *Off = B.CreateShl(B.CreateMul(Ci, KB.i64(LongChunk)), 2);
        KB.sdmaLoad(Buf, B.CreateAdd(Src, Off), KB.i64(1), KB.i64(Len * 4), KB.i64(Len * 4));
        Fn(Len);
        if (Store)
          KB.sdmaStore(B.CreateAdd(Dst, Off), Buf, KB.i64(1), KB.i64(Len * 4), KB.i64(Len * 4));
      };
      if (Full)
        KB.forLoop(Full, "long.chunk", [&](Value *Ci) { one(Ci, LongChunk); });
      if (Rem)
        one(KB.i64(Full), Rem);
    };
    auto Max = accumulators(NegInf, "lmax");
    walk([&](int64_t Len) {
      chunks(Len, NumAcc, [&](Value *I, unsigned Lanes, unsigned Ai) {
        Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
        B.CreateStore(fastMax(loadN(Buf, I, Lanes), B.CreateLoad(Ty, Max[Ai])), Max[Ai]);
      });
    }, false);
    Value *M = reduce(Max, [&](Value *X, Value *Y) { return fastMax(X, Y); });
    auto Sum = accumulators(Zero, "lsum");
    walk([&](int64_t Len) {
      chunks(Len, 1, [&](Value *I, unsigned Lanes, unsigned Ai) {
        Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
        Value *Mv = Lanes == 1 ? M : B.CreateVectorSplat(Lanes, M);
        Value *E = expNonPositive(B.CreateFSub(loadN(Buf, I, Lanes), Mv));
        B.CreateStore(B.CreateFAdd(B.CreateLoad(Ty, Sum[Ai]), E), Sum[Ai]);
      });
    }, false);
    Value *Total = reduce(Sum, [&](Value *X, Value *Y) { return B.CreateFAdd(X, Y); });
    Value *LogSum = Log ? emitLog(B, Total) : nullptr;
    Value *Inv = Log ? nullptr : B.CreateFDiv(One, Total, "inv");
    walk([&](int64_t Len) {
      chunks(Len, NumAcc, [&](Value *I, unsigned Lanes, unsigned) {
        auto splat = [&](Value *S) { return Lanes == 1 ? S : B.CreateVectorSplat(Lanes, S); };
        Value *X = loadN(Buf, I, Lanes);
        Value *Y = Log ? B.CreateFSub(B.CreateFSub(X, splat(M)), splat(LogSum))
                       : B.CreateFMul(expNonPositive(B.CreateFSub(X, splat(M))), splat(Inv));
        storeN(Y, Buf, I);
      });
    }, true);
  }

  /// Layer norm of the D contiguous elements at Row, in place: the mean,
  /// then the variance as the mean of (x - mean)^2 (two passes, no
  /// cancellation), then (x - mean) * rstd * w + b.
  void rowLayerNorm(Value *Row, int64_t D, Value *W, Value *Bias, float Eps) {
    auto Sum = accumulators(Zero, "lnsum");
    chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned Ai) {
      Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
      B.CreateStore(B.CreateFAdd(B.CreateLoad(Ty, Sum[Ai]), loadN(Row, I, Lanes)), Sum[Ai]);
    });
    Value *Mean = B.CreateFDiv(reduce(Sum, [&](Value *X, Value *Y) { return B.CreateFAdd(X, Y); }),
                               KB.f32(float(D)), "mean");
    auto Sq = accumulators(Zero, "lnsq");
    chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned Ai) {
      Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
      Value *Mv = Lanes == 1 ? Mean : B.CreateVectorSplat(Lanes, Mean);
      Value *Dv = B.CreateFSub(loadN(Row, I, Lanes), Mv);
      B.CreateStore(B.CreateIntrinsic(Intrinsic::fmuladd, {Ty}, {Dv, Dv, B.CreateLoad(Ty, Sq[Ai])}), Sq[Ai]);
    });
    Value *Var = B.CreateFDiv(reduce(Sq, [&](Value *X, Value *Y) { return B.CreateFAdd(X, Y); }),
                              KB.f32(float(D)), "var");
    Value *Rstd = B.CreateFDiv(One, B.CreateUnaryIntrinsic(Intrinsic::sqrt, B.CreateFAdd(Var, KB.f32(Eps))), "rstd");
    chunks(D, NumAcc, [&](Value *I, unsigned Lanes, unsigned) {
      Value *Mv = Lanes == 1 ? Mean : B.CreateVectorSplat(Lanes, Mean);
      Value *Rv = Lanes == 1 ? Rstd : B.CreateVectorSplat(Lanes, Rstd);
      Value *Nv = B.CreateFMul(B.CreateFSub(loadN(Row, I, Lanes), Mv), Rv);
      Type *Ty = Nv->getType();
      storeN(B.CreateIntrinsic(Intrinsic::fmuladd, {Ty}, {Nv, loadN(W, I, Lanes), loadN(Bias, I, Lanes)}), Row, I);
    });
  }

  /// Softmax down the columns of a [D][NC] tile (runtime NC), in place.
  void columnSoftmax(Value *Tile, int64_t D, Value *NC, Value *MaxBuf, Value *SumBuf) {
    KB.forLoop(KB.i64(0), NC, "cinit", [&](Value *I) {
      KB.storeF32(NegInf, MaxBuf, I);
      KB.storeF32(Zero, SumBuf, I);
    });
    KB.forLoop(D, "cmax", [&](Value *K) {
      Value *Row = KB.elementPtr(Tile, B.CreateMul(K, NC));
      KB.forLoop(KB.i64(0), NC, "cmax.i", [&](Value *I) {
        KB.storeF32(maxnum(KB.loadF32(MaxBuf, I), KB.loadF32(Row, I)), MaxBuf, I);
      });
    });
    KB.forLoop(D, "cexp", [&](Value *K) {
      Value *Row = KB.elementPtr(Tile, B.CreateMul(K, NC));
      KB.forLoop(KB.i64(0), NC, "cexp.i", [&](Value *I) {
        Value *E = emitExp(B, B.CreateFSub(KB.loadF32(Row, I), KB.loadF32(MaxBuf, I)));
        if (!Log)
          KB.storeF32(E, Row, I);
        KB.storeF32(B.CreateFAdd(KB.loadF32(SumBuf, I), E), SumBuf, I);
      });
    });
    if (Log) {
      KB.forLoop(KB.i64(0), NC, "clog", [&](Value *I) { KB.storeF32(emitLog(B, KB.loadF32(SumBuf, I)), SumBuf, I); });
      KB.forLoop(D, "clogout", [&](Value *K) {
        Value *Row = KB.elementPtr(Tile, B.CreateMul(K, NC));
        KB.forLoop(KB.i64(0), NC, "clogout.i", [&](Value *I) {
          Value *V = B.CreateFSub(KB.loadF32(Row, I), KB.loadF32(MaxBuf, I));
          KB.storeF32(B.CreateFSub(V, KB.loadF32(SumBuf, I)), Row, I);
        });
      });
      return;
    }
    KB.forLoop(KB.i64(0), NC, "cinv", [&](Value *I) {
      KB.storeF32(B.CreateFDiv(One, KB.loadF32(SumBuf, I)), SumBuf, I);
    });
    KB.forLoop(D, "cscale", [&](Value *K) {
      Value *Row = KB.elementPtr(Tile, B.CreateMul(K, NC));
      KB.forLoop(KB.i64(0), NC, "cscale.i", [&](Value *I) {
        KB.storeF32(B.CreateFMul(KB.loadF32(Row, I), KB.loadF32(SumBuf, I)), Row, I);
      });
    });
  }
};

} // namespace

Error atalla::codegen::detail::emitLayerNorm(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 4 || !Spec.HasScalar)
    return specError(Spec, "expected x, w, b, y and eps (scalar)");
  const abi::OperandSpec &X = Spec.Operands[0], &W = Spec.Operands[1], &Bs = Spec.Operands[2], &Y = Spec.output();
  if (Y.Sizes.size() != 2 || X.Sizes != Y.Sizes || W.Sizes != Y.Sizes || Bs.Sizes != Y.Sizes)
    return specError(Spec, "operands must all be [R, D]");
  const int64_t R = Y.Sizes[0], D = Y.Sizes[1];
  if (D > 1 && X.Strides[1] != 1)
    return specError(Spec, "x rows must be contiguous");
  for (const abi::OperandSpec *P : {&W, &Bs})
    if (P->Strides[0] != 0 || (D > 1 && P->Strides[1] != 1))
      return specError(Spec, "w and b must be one contiguous row broadcast over rows (strides [0, 1])");
  if (uint64_t(D) * 4 * 3 + 4096 > KB.Budget)
    return specError(Spec, "a row of " + Twine(D) + " elements does not fit the scratchpad");
  if (R * D == 0) {
    KB.finish();
    return Error::success();
  }
  IRBuilder<> &B = KB.B;
  SoftmaxEmitter SE(KB);
  const int64_t RB = std::min(R, std::max<int64_t>(1, TileElems / D));
  Value *WBuf = KB.alloc(uint64_t(D) * 4, "w"), *BBuf = KB.alloc(uint64_t(D) * 4, "b");
  Value *Tile = KB.alloc(uint64_t(RB * D) * 4, "rows");
  KB.sdmaLoad(WBuf, KB.operandAddr(1), KB.i64(1), KB.i64(D * 4), KB.i64(D * 4));
  KB.sdmaLoad(BBuf, KB.operandAddr(2), KB.i64(1), KB.i64(D * 4), KB.i64(D * 4));
  Value *XAddr = KB.operandAddr(0), *YAddr = KB.operandAddr(3);
  KB.forLoop((R + RB - 1) / RB, "rowblk", [&](Value *Blk) {
    Value *R0 = B.CreateMul(Blk, KB.i64(RB), "r0", true, true);
    Value *RN = R % RB == 0 ? KB.i64(RB) : KB.umin(KB.i64(RB), B.CreateSub(KB.i64(R), R0));
    KB.sdmaLoad(Tile, B.CreateAdd(XAddr, B.CreateMul(R0, KB.i64(X.Strides[0] * 4))), RN, KB.i64(D * 4),
                KB.i64(X.Strides[0] * 4));
    KB.forLoop(KB.i64(0), RN, "row", [&](Value *Ri) {
      SE.rowLayerNorm(KB.elementPtr(Tile, B.CreateMul(Ri, KB.i64(D))), D, WBuf, BBuf, float(Spec.Scalar));
    });
    KB.sdmaStore(B.CreateAdd(YAddr, B.CreateMul(R0, KB.i64(D * 4))), Tile, RN, KB.i64(D * 4), KB.i64(D * 4));
  });
  KB.finish();
  return Error::success();
}

/// emitSoftmax for rows along \p Dim longer than the scratchpad: each
/// contiguous row walked from DRAM by SoftmaxEmitter::longRowSoftmax (every
/// index of the dims before Dim, the dims after it all of size 1); an
/// error for rows that are not contiguous.
static Error emitLongRows(KernelBuilder &KB, const abi::KernelSpec &Spec, SoftmaxEmitter &SE, size_t Dim) {
  IRBuilder<> &B = KB.B;
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  const int64_t D = Out.Sizes[Dim];
  bool Contig = In.Strides[Dim] == 1;
  for (size_t I = Dim + 1; I < Out.Sizes.size(); ++I)
    Contig &= Out.Sizes[I] == 1;
  if (!Contig || Out.Strides[Dim] != 1 || uint64_t(LongChunk) * 4 + 4096 > KB.Budget)
    return specError(Spec, "a softmax row of " + Twine(D) + " elements that is not contiguous does not fit the scratchpad");
  std::vector<int64_t> NSizes, NIn, NOut;
  for (size_t I = 0; I < Dim; ++I) {
    NSizes.push_back(Out.Sizes[I]);
    NIn.push_back(In.Strides[I]);
    NOut.push_back(Out.Strides[I]);
  }
  Dims N = simplify(NSizes, NIn, NOut);
  int64_t Rows = 1;
  for (int64_t S : N.Sizes)
    Rows *= S;
  Value *Buf = KB.alloc(uint64_t(LongChunk) * 4, "chunk");
  Value *InAddr = KB.operandAddr(0), *OutAddr = KB.operandAddr(1);
  KB.forLoop(Rows, "longrow", [&](Value *Ri) {
    std::vector<Value *> Off = stridedOffsets(B, Ri, N.Sizes, N.Strides);
    SE.longRowSoftmax(B.CreateAdd(InAddr, B.CreateShl(Off[0], 2)), B.CreateAdd(OutAddr, B.CreateShl(Off[1], 2)), D,
                      Buf);
  });
  KB.finish();
  return Error::success();
}

Error atalla::codegen::detail::emitSoftmax(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 2)
    return specError(Spec, "expected 2 operands, got " + Twine(Spec.Operands.size()));
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  if (In.Sizes != Out.Sizes)
    return specError(Spec, "the input does not have the output's shape");
  const int64_t Rank = int64_t(Out.Sizes.size());
  if (Rank == 0) {
    // softmax of a scalar is 1 (torch allows dim 0 / -1 on a 0-d tensor).
    if (Spec.Dim > 0)
      return specError(Spec, "softmax dim " + Twine(Spec.Dim) + " of a 0-d tensor");
  } else if (Spec.Dim < 0 || Spec.Dim >= Rank) {
    return specError(Spec, "softmax dim " + Twine(Spec.Dim) + " out of range for rank " +
                               Twine(Rank));
  }
  if (Out.numel() == 0) {
    KB.finish();
    return Error::success();
  }

  IRBuilder<> &B = KB.B;
  SoftmaxEmitter SE(KB);
  SE.Log = Spec.Kernel == abi::KernelId::log_softmax;
  const size_t Dim = Rank == 0 ? 0 : size_t(Spec.Dim);
  const int64_t D = Rank == 0 ? 1 : Out.Sizes[Dim];
  const int64_t RedIn = Rank == 0 ? 0 : In.Strides[Dim];
  int64_t Inner = 1;
  for (size_t I = Dim + 1; I < Out.Sizes.size(); ++I)
    Inner *= Out.Sizes[I];
  if (uint64_t(D) * 4 + 4096 > KB.Budget) // a row longer than the scratchpad: in chunks, where it is contiguous
    return emitLongRows(KB, Spec, SE, Dim);

  // The input's inner dims as one unit-stride dim? Then use column tiles.
  bool InnerUnit = true;
  {
    int64_t Expect = 1;
    for (size_t I = Out.Sizes.size(); I-- > Dim + 1;) {
      if (Out.Sizes[I] == 1)
        continue;
      InnerUnit &= In.Strides[I] == Expect;
      Expect *= Out.Sizes[I];
    }
  }
  Value *InAddr = KB.operandAddr(0), *OutAddr = KB.operandAddr(1);
  auto byteAddr = [&](Value *Base, Value *Elems) {
    return B.CreateAdd(Base, B.CreateShl(Elems, 2));
  };
  auto ceilDiv = [](int64_t A, int64_t Bv) { return (A + Bv - 1) / Bv; };

  if (Inner > 1 && InnerUnit) {
    // Column layout: [outer..., D, Inner] with unit-stride inner columns.
    std::vector<int64_t> OSizes(Out.Sizes.begin(), Out.Sizes.begin() + Dim);
    std::vector<int64_t> OIn(In.Strides.begin(), In.Strides.begin() + Dim);
    std::vector<int64_t> OOut(Out.Strides.begin(), Out.Strides.begin() + Dim);
    Dims O = simplify(OSizes, OIn, OOut);
    int64_t Outer = 1;
    for (int64_t S : O.Sizes)
      Outer *= S;
    const int64_t NC = std::min(Inner, std::max<int64_t>(1, TileElems / D));
    Value *Tile = KB.alloc(uint64_t(D * NC) * 4, "tile");
    Value *MaxBuf = KB.alloc(uint64_t(NC) * 4, "colmax");
    Value *SumBuf = KB.alloc(uint64_t(NC) * 4, "colsum");
    KB.forLoop(Outer, "outer", [&](Value *Oi) {
      std::vector<Value *> Off = stridedOffsets(B, Oi, O.Sizes, O.Strides);
      KB.forLoop(ceilDiv(Inner, NC), "colblk", [&](Value *CB) {
        Value *I0 = B.CreateMul(CB, KB.i64(NC), "i0", true, true);
        Value *N = Inner % NC == 0 ? KB.i64(NC)
                                   : KB.umin(KB.i64(NC), B.CreateSub(KB.i64(Inner), I0));
        Value *NBytes = B.CreateShl(N, 2);
        KB.sdmaLoad(Tile, byteAddr(InAddr, B.CreateAdd(Off[0], I0)), KB.i64(D), NBytes,
                    KB.i64(RedIn * 4));
        SE.columnSoftmax(Tile, D, N, MaxBuf, SumBuf);
        KB.sdmaStore(byteAddr(OutAddr, B.CreateAdd(Off[1], I0)), Tile, KB.i64(D), NBytes,
                     KB.i64(Inner * 4));
      });
    });
    KB.finish();
    return Error::success();
  }

  // Row layout: iterate every non-reduced index; block the last one when
  // rows are contiguous in both operands (inner == 1).
  std::vector<int64_t> NSizes, NIn, NOut;
  for (size_t I = 0; I < Out.Sizes.size(); ++I) {
    if (I == Dim)
      continue;
    NSizes.push_back(Out.Sizes[I]);
    NIn.push_back(In.Strides[I]);
    NOut.push_back(Out.Strides[I]);
  }
  Dims N = simplify(NSizes, NIn, NOut);
  const size_t L = N.Sizes.size() - 1;
  const int64_t SL = N.Sizes[L], SLIn = N.Strides[0][L], SLOut = N.Strides[1][L];
  const bool RowContig = RedIn == 1 || D == 1;
  const bool Blocked = Inner == 1 && RowContig && SL > 1;
  const int64_t RB = Blocked ? std::min(SL, std::max<int64_t>(1, TileElems / D)) : 1;
  std::vector<int64_t> OSizes(N.Sizes.begin(), N.Sizes.end() - 1);
  std::vector<std::vector<int64_t>> OStrides = {
      std::vector<int64_t>(N.Strides[0].begin(), N.Strides[0].end() - 1),
      std::vector<int64_t>(N.Strides[1].begin(), N.Strides[1].end() - 1)};
  int64_t Outer = 1;
  for (int64_t S : OSizes)
    Outer *= S;

  Value *Tile = KB.alloc(uint64_t(RB * D) * 4, "rows");
  KB.forLoop(Outer, "outer", [&](Value *Oi) {
    std::vector<Value *> Off = stridedOffsets(B, Oi, OSizes, OStrides);
    KB.forLoop(ceilDiv(SL, RB), "rowblk", [&](Value *RBi) {
      Value *R0 = B.CreateMul(RBi, KB.i64(RB), "r0", true, true);
      Value *RN = SL % RB == 0 ? KB.i64(RB) : KB.umin(KB.i64(RB), B.CreateSub(KB.i64(SL), R0));
      Value *Src = byteAddr(InAddr, B.CreateAdd(Off[0], B.CreateMul(R0, KB.i64(SLIn))));
      Value *Dst = byteAddr(OutAddr, B.CreateAdd(Off[1], B.CreateMul(R0, KB.i64(SLOut))));
      if (RowContig)
        KB.sdmaLoad(Tile, Src, RN, KB.i64(D * 4), KB.i64(SLIn * 4));
      else // RB == 1: gather the row's elements.
        KB.sdmaLoad(Tile, Src, KB.i64(D), KB.i64(4), KB.i64(RedIn * 4));
      KB.forLoop(KB.i64(0), RN, "row", [&](Value *R) {
        SE.rowSoftmax(KB.elementPtr(Tile, B.CreateMul(R, KB.i64(D))), D);
      });
      if (Inner == 1)
        KB.sdmaStore(Dst, Tile, RN, KB.i64(D * 4), KB.i64(SLOut * 4));
      else // RB == 1: the row's elements are Inner apart in the output.
        KB.sdmaStore(Dst, Tile, KB.i64(D), KB.i64(4), KB.i64(Inner * 4));
    });
  });
  KB.finish();
  return Error::success();
}

/// sum, mean, amax, amin of In [O, D] along D into Out [O, 1].
///  - Row layout (D unit-stride, or O == 1): tiles of whole rows, or of one
///    row in chunks of RowChunk elements where a row is long, each reduced
///    with the row machinery above (explicit 8-lane vectors, 4 partial
///    results, a tree across lanes): sums are pairwise-ish, not a chain.
///  - Column layout (O unit-stride, or O == 1 with a strided D: a reduction
///    over an outer dim): tiles of
///    [DB][NC] (NC neighbouring outputs), accumulated down D with the vector
///    lanes across outputs.
/// mean divides the sum by D (one rounding, as torch's sum / D); amax and
/// amin use maximum/minimum, so a NaN anywhere in the vector is the result.
/// argmax / argmin of In [O, D] along D into Out [O, 1] (i64): each row
/// (gathered by SDMA when D is strided) scanned in order for its first
/// maximum (minimum); a NaN counts as both, so the first NaN wins (torch).
static Error emitArgReduce(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  const abi::OperandSpec &X = Spec.Operands[0];
  const int64_t O = X.Sizes[0], D = X.Sizes[1], SO = X.Strides[0], SD = X.Strides[1];
  if (D == 0)
    return specError(Spec, "an arg reduction of nothing");
  if (D * 4 > 256 * 1024)
    return specError(Spec, "a row of " + Twine(D) + " elements does not fit the scratchpad");
  IRBuilder<> &B = KB.B;
  if (O == 0) {
    KB.finish();
    return Error::success();
  }
  const bool Max = Spec.Kernel == abi::KernelId::argmax;
  const int64_t OB = std::min<int64_t>(O, 4096);
  Value *Row = KB.alloc(uint64_t(D) * 4, "row");
  Value *OutBuf = KB.alloc(uint64_t(OB) * 8, "idx");
  Value *XAddr = KB.operandAddr(0), *YAddr = KB.operandAddr(1);
  AllocaInst *BestV = KB.slot(KB.F32, "bestv"), *BestI = KB.slot(KB.I64, "besti");
  KB.forLoop((O + OB - 1) / OB, "blk", [&](Value *Blk) {
    Value *O0 = B.CreateMul(Blk, KB.i64(OB), "o0", true, true);
    Value *ON = O % OB == 0 ? KB.i64(OB) : KB.umin(KB.i64(OB), B.CreateSub(KB.i64(O), O0));
    KB.forLoop(KB.i64(0), ON, "row", [&](Value *R) {
      Value *Src = B.CreateAdd(XAddr, B.CreateMul(B.CreateAdd(O0, R), KB.i64(SO * 4)));
      if (SD == 1 || D == 1)
        KB.sdmaLoad(Row, Src, KB.i64(1), KB.i64(D * 4), KB.i64(0));
      else
        KB.sdmaLoad(Row, Src, KB.i64(D), KB.i64(4), KB.i64(SD * 4));
      B.CreateStore(KB.loadF32(Row, KB.i64(0)), BestV);
      B.CreateStore(KB.i64(0), BestI);
      KB.forLoop(KB.i64(1), KB.i64(D), "scan", [&](Value *J) {
        Value *V = KB.loadF32(Row, J), *Bv = B.CreateLoad(KB.F32, BestV);
        Value *Better = Max ? B.CreateFCmpOGT(V, Bv) : B.CreateFCmpOLT(V, Bv);
        Better = B.CreateOr(Better, B.CreateFCmpUNO(V, V));
        Better = B.CreateAnd(Better, B.CreateFCmpORD(Bv, Bv)); // a NaN best stays
        B.CreateStore(B.CreateSelect(Better, V, Bv), BestV);
        B.CreateStore(B.CreateSelect(Better, J, B.CreateLoad(KB.I64, BestI)), BestI);
      });
      B.CreateAlignedStore(B.CreateLoad(KB.I64, BestI), B.CreateInBoundsGEP(KB.I64, OutBuf, R), Align(8));
    });
    KB.sdmaStore(B.CreateAdd(YAddr, B.CreateMul(O0, KB.i64(8))), OutBuf, KB.i64(1), B.CreateMul(ON, KB.i64(8)),
                 KB.i64(0));
  });
  KB.finish();
  return Error::success();
}

Error atalla::codegen::detail::emitReduce(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 2)
    return specError(Spec, "expected 2 operands, got " + Twine(Spec.Operands.size()));
  if (Spec.Kernel == abi::KernelId::argmax || Spec.Kernel == abi::KernelId::argmin) {
    const abi::OperandSpec &X = Spec.Operands[0];
    if (X.Sizes.size() != 2 || Spec.output().Sizes != std::vector<int64_t>{X.Sizes[0], 1})
      return specError(Spec, "expected In [O, D] and Out [O, 1]");
    return emitArgReduce(KB, Spec);
  }
  const abi::OperandSpec &X = Spec.Operands[0], &Y = Spec.output();
  if (X.Sizes.size() != 2 || Y.Sizes != std::vector<int64_t>{X.Sizes[0], 1})
    return specError(Spec, "expected In [O, D] and Out [O, 1]");
  const int64_t O = X.Sizes[0], D = X.Sizes[1], SO = X.Strides[0], SD = X.Strides[1];
  const bool RowLayout = D == 1 || SD == 1;
  if (!RowLayout && SO != 1 && O != 1)
    return specError(Spec, "one of the input's strides must be 1");
  IRBuilder<> &B = KB.B;
  if (O == 0) {
    KB.finish();
    return Error::success();
  }
  SoftmaxEmitter SE(KB);
  const abi::KernelId K = Spec.Kernel;
  const bool IsSum = K == abi::KernelId::sum || K == abi::KernelId::mean;
  Value *Init = IsSum ? SE.Zero : ConstantFP::getInfinity(KB.F32, /*Negative=*/K == abi::KernelId::amax);
  auto op = [&](Value *A, Value *Bv) -> Value * {
    switch (K) {
    case abi::KernelId::amax: return B.CreateBinaryIntrinsic(Intrinsic::maximum, A, Bv);
    case abi::KernelId::amin: return B.CreateBinaryIntrinsic(Intrinsic::minimum, A, Bv);
    default: return B.CreateFAdd(A, Bv);
    }
  };
  auto finishValue = [&](Value *V) -> Value * {
    if (K != abi::KernelId::mean)
      return V;
    Type *Ty = V->getType();
    return B.CreateFDiv(V, ConstantFP::get(Ty, double(float(D))));
  };
  Value *XAddr = KB.operandAddr(0), *YAddr = KB.operandAddr(1);
  if (D == 0) { // an empty reduction: the identity (sum 0, mean NaN as 0 / 0, amax -inf)
    Value *OutBuf = KB.alloc(uint64_t(std::min<int64_t>(O, TileElems)) * 4, "out");
    const int64_t OB = std::min<int64_t>(O, TileElems);
    KB.forLoop(OB, "fill", [&](Value *I) { KB.storeF32(finishValue(Init), OutBuf, I); });
    KB.forLoop((O + OB - 1) / OB, "blk", [&](Value *Blk) {
      Value *R0 = B.CreateMul(Blk, KB.i64(OB));
      Value *RN = O % OB == 0 ? KB.i64(OB) : KB.umin(KB.i64(OB), B.CreateSub(KB.i64(O), R0));
      KB.sdmaStore(B.CreateAdd(YAddr, B.CreateShl(R0, 2)), OutBuf, KB.i64(1), B.CreateShl(RN, 2), KB.i64(0));
    });
    KB.finish();
    return Error::success();
  }

  if (RowLayout) {
    const int64_t RowStride = O == 1 ? 0 : SO;
    // Rows up to RowChunk elements come several to a tile; longer ones in chunks.
    constexpr int64_t RowChunk = 8 * TileElems;
    const int64_t DC = std::min(D, RowChunk);
    const int64_t RB = D > RowChunk ? 1 : std::min(O, std::max<int64_t>(1, TileElems / D));
    Value *Tile = KB.alloc(uint64_t(RB * DC) * 4, "rows");
    Value *OutBuf = KB.alloc(uint64_t(RB) * 4, "out");
    auto accumulate = [&](std::vector<AllocaInst *> &Acc, Value *Row, int64_t N) {
      SE.chunks(N, NumAcc, [&](Value *I, unsigned Lanes, unsigned Ai) {
        Type *Ty = Lanes == 1 ? KB.F32 : FixedVectorType::get(KB.F32, Lanes);
        B.CreateStore(op(B.CreateLoad(Ty, Acc[Ai]), SE.loadN(Row, I, Lanes)), Acc[Ai]);
      });
    };
    KB.forLoop((O + RB - 1) / RB, "rowblk", [&](Value *Blk) {
      Value *R0 = B.CreateMul(Blk, KB.i64(RB), "r0", true, true);
      Value *RN = O % RB == 0 ? KB.i64(RB) : KB.umin(KB.i64(RB), B.CreateSub(KB.i64(O), R0));
      Value *Src = B.CreateAdd(XAddr, B.CreateMul(R0, KB.i64(RowStride * 4)));
      if (D <= RowChunk) {
        KB.sdmaLoad(Tile, Src, RN, KB.i64(D * 4), KB.i64(RowStride * 4));
        KB.forLoop(KB.i64(0), RN, "row", [&](Value *Ri) {
          auto Acc = SE.accumulators(Init, "acc");
          accumulate(Acc, KB.elementPtr(Tile, B.CreateMul(Ri, KB.i64(D))), D);
          KB.storeF32(finishValue(SE.reduce(Acc, op)), OutBuf, Ri);
        });
      } else {
        auto Acc = SE.accumulators(Init, "acc");
        const int64_t Full = D / DC, Rest = D % DC;
        KB.forLoop(Full, "chunk", [&](Value *C) {
          KB.sdmaLoad(Tile, B.CreateAdd(Src, B.CreateMul(C, KB.i64(DC * 4))), KB.i64(1), KB.i64(DC * 4),
                      KB.i64(DC * 4));
          accumulate(Acc, Tile, DC);
        });
        if (Rest) {
          KB.sdmaLoad(Tile, B.CreateAdd(Src, KB.i64(Full * DC * 4)), KB.i64(1), KB.i64(Rest * 4), KB.i64(Rest * 4));
          accumulate(Acc, Tile, Rest);
        }
        KB.storeF32(finishValue(SE.reduce(Acc, op)), OutBuf, KB.i64(0));
      }
      KB.sdmaStore(B.CreateAdd(YAddr, B.CreateShl(R0, 2)), OutBuf, KB.i64(1), B.CreateShl(RN, 2), KB.i64(0));
    });
    KB.finish();
    return Error::success();
  }

  // Column layout: outputs are neighbours in the input (SO == 1).
  const int64_t NC = std::min<int64_t>(O, 1024);
  const int64_t DB = std::min(D, std::max<int64_t>(1, TileElems / NC));
  Value *Tile = KB.alloc(uint64_t(DB * NC) * 4, "cols");
  Value *Acc = KB.alloc(uint64_t(NC) * 4, "acc");
  KB.forLoop((O + NC - 1) / NC, "colblk", [&](Value *CB) {
    Value *C0 = B.CreateMul(CB, KB.i64(NC), "c0", true, true);
    Value *CN = O % NC == 0 ? KB.i64(NC) : KB.umin(KB.i64(NC), B.CreateSub(KB.i64(O), C0));
    KB.forLoop(KB.i64(0), CN, "init", [&](Value *I) { KB.storeF32(Init, Acc, I); }, /*Parallel=*/true);
    KB.forLoop((D + DB - 1) / DB, "dblk", [&](Value *DBk) {
      Value *D0 = B.CreateMul(DBk, KB.i64(DB), "d0", true, true);
      Value *DN = D % DB == 0 ? KB.i64(DB) : KB.umin(KB.i64(DB), B.CreateSub(KB.i64(D), D0));
      Value *Src = B.CreateAdd(XAddr, B.CreateShl(B.CreateAdd(C0, B.CreateMul(D0, KB.i64(SD))), 2));
      KB.sdmaLoad(Tile, Src, DN, B.CreateShl(CN, 2), KB.i64(SD * 4));
      KB.forLoop(KB.i64(0), DN, "d", [&](Value *Di) {
        Value *Row = KB.elementPtr(Tile, B.CreateMul(Di, CN));
        KB.forLoop(KB.i64(0), CN, "c", [&](Value *I) {
          KB.storeF32(op(KB.loadF32(Acc, I), KB.loadF32(Row, I)), Acc, I);
        }, /*Parallel=*/true);
      });
    });
    if (K == abi::KernelId::mean)
      KB.forLoop(KB.i64(0), CN, "mean", [&](Value *I) { KB.storeF32(finishValue(KB.loadF32(Acc, I)), Acc, I); },
                 /*Parallel=*/true);
    KB.sdmaStore(B.CreateAdd(YAddr, B.CreateShl(C0, 2)), Acc, KB.i64(1), B.CreateShl(CN, 2), KB.i64(0));
  });
  KB.finish();
  return Error::success();
}
