//===- codegen/EmitSoftmax.cpp - softmax along any dimension --------------===//
//
// out = exp(x - max) / sum(exp(x - max)) along Dim, seen as [outer, D, inner].
// Two layouts in the scratchpad:
//  - row layout, used when inner == 1 (or the input's inner dims are not
//    unit-stride): each reduction vector of D elements is contiguous; short
//    rows are brought in several at a time; max and sum are vectorised
//    reductions (maxnum, reassociable fadd);
//  - column layout, used when inner > 1 and the input is unit-stride there:
//    a [D][nc] tile of nc neighbouring columns, reduced along D with the
//    vector lanes across columns (max and sum per column in small buffers).
// The whole reduction vector must fit the scratchpad: D * 4 bytes <= ~700 KiB.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// Elements of one softmax tile (256 KiB), unless one row needs more.
constexpr int64_t TileElems = 65536;

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
  KernelBuilder &KB;
  IRBuilder<> &B;
  Value *NegInf, *Zero, *One;

  explicit SoftmaxEmitter(KernelBuilder &KB) : KB(KB), B(KB.B) {
    NegInf = ConstantFP::getInfinity(KB.F32, /*Negative=*/true);
    Zero = KB.f32(0);
    One = KB.f32(1);
  }

  Value *maxnum(Value *A, Value *Bv) {
    return B.CreateBinaryIntrinsic(Intrinsic::maximum, A, Bv);
  }

  /// Softmax of the D contiguous elements at Row, in place.
  void rowSoftmax(Value *Row, int64_t D) {
    AllocaInst *Max = KB.slot(KB.F32, "max");
    AllocaInst *Sum = KB.slot(KB.F32, "sum");
    B.CreateStore(NegInf, Max);
    KB.forLoop(D, "max", [&](Value *K) {
      B.CreateStore(maxnum(B.CreateLoad(KB.F32, Max), KB.loadF32(Row, K)), Max);
    });
    Value *M = B.CreateLoad(KB.F32, Max, "rowmax");
    B.CreateStore(Zero, Sum);
    KB.forLoop(D, "exp", [&](Value *K) {
      Value *E = emitExp(B, B.CreateFSub(KB.loadF32(Row, K), M));
      KB.storeF32(E, Row, K);
      // reassoc lets the vectoriser keep one partial sum per lane.
      auto *Add = cast<Instruction>(B.CreateFAdd(B.CreateLoad(KB.F32, Sum), E));
      FastMathFlags FMF;
      FMF.setAllowReassoc();
      Add->setFastMathFlags(FMF);
      B.CreateStore(Add, Sum);
    });
    Value *Inv = B.CreateFDiv(One, B.CreateLoad(KB.F32, Sum), "inv");
    KB.forLoop(D, "scale", [&](Value *K) {
      KB.storeF32(B.CreateFMul(KB.loadF32(Row, K), Inv), Row, K);
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
        KB.storeF32(E, Row, I);
        KB.storeF32(B.CreateFAdd(KB.loadF32(SumBuf, I), E), SumBuf, I);
      });
    });
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
  const size_t Dim = Rank == 0 ? 0 : size_t(Spec.Dim);
  const int64_t D = Rank == 0 ? 1 : Out.Sizes[Dim];
  const int64_t RedIn = Rank == 0 ? 0 : In.Strides[Dim];
  int64_t Inner = 1;
  for (size_t I = Dim + 1; I < Out.Sizes.size(); ++I)
    Inner *= Out.Sizes[I];
  if (uint64_t(D) * 4 + 4096 > ScratchpadBudget)
    return specError(Spec, "a softmax row of " + Twine(D) +
                               " elements does not fit the scratchpad");

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
