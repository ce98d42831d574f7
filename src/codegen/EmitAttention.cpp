//===- codegen/EmitAttention.cpp - attention without the scores in DRAM ---===//
//
// out = softmax(q k^T * scale + mask) v, flash-attention style: the scores
// never leave the scratchpad, so memory grows with the sequence, not with
// its square. Per batch entry and block of BQ query rows (128, fewer where
// the head is wide; q in the pad):
// for each block of BK keys (causal: only the blocks at or left of the
// block's last query row), k's rows by one SDMA transfer, transposed in
// the pad; v's rows by another; the mask's block by a third. Per query
// row: s = q k^T * scale (+ mask) (causal: -inf right of the diagonal;
// -inf past the last key), vectors along the keys; then the online
// softmax: m' = max(m, max s), p = exp(s - m'), l = l exp(m - m') + sum p,
// o = o exp(m - m') + p v (vectors along v's columns, o in registers
// across the keys). After the last block o / l goes back by one SDMA
// transfer. A row whose scores are all -inf so far shifts by 0 (exp(-inf)
// = 0, not exp(NaN)); one whose scores are all -inf at the end is 0 / 0 =
// NaN, as softmax's. NaN in a row propagates through max and the sums.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

#include <limits>

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// The spec's operands: q [.., L, E], k [.., S, E], v [.., S, Ev], (mask
/// [.., L, S],) out [.., L, Ev], one rank, the batch dims the output's
/// (broadcast by stride 0), rows of q, k, v and the mask contiguous.
Error checkAttentionSpec(const abi::KernelSpec &Spec) {
  const size_t N = Spec.Operands.size();
  if (N != 4 && N != 5)
    return specError(Spec, "attention operands are q, k, v, (mask,) out");
  if (Spec.Params.size() != 1 || (Spec.Params[0] != 0 && Spec.Params[0] != 1))
    return specError(Spec, "attention takes one param, causal (0 or 1)");
  if (!Spec.HasScalar)
    return specError(Spec, "attention's scale is its scalar");
  const abi::OperandSpec &Q = Spec.Operands[0], &K = Spec.Operands[1], &V = Spec.Operands[2], &O = Spec.output();
  const size_t R = O.Sizes.size();
  if (R < 2)
    return specError(Spec, "attention operands have rank >= 2");
  for (const abi::OperandSpec &X : Spec.Operands)
    if (X.Sizes.size() != R)
      return specError(Spec, "attention operands must have one rank");
  const int64_t L = O.Sizes[R - 2], Ev = O.Sizes[R - 1], E = Q.Sizes[R - 1], S = K.Sizes[R - 2];
  if (Q.Sizes[R - 2] != L || K.Sizes[R - 1] != E || V.Sizes[R - 2] != S || V.Sizes[R - 1] != Ev)
    return specError(Spec, "q [.., L, E], k [.., S, E], v [.., S, Ev] and out [.., L, Ev] do not agree");
  if (N == 5 && (Spec.Operands[3].Sizes[R - 2] != L || Spec.Operands[3].Sizes[R - 1] != S))
    return specError(Spec, "the mask is not [.., L, S]");
  for (size_t I = 0; I + 1 < N; ++I) {
    const abi::OperandSpec &X = Spec.Operands[I];
    for (size_t D = 0; D + 2 < R; ++D)
      if (X.Sizes[D] != O.Sizes[D])
        return specError(Spec, "operand " + Twine(I) + " is not in the output's batch shape");
    if (X.Sizes[R - 1] > 1 && X.Strides[R - 1] != 1)
      return specError(Spec, "operand " + Twine(I) + "'s rows must be contiguous");
  }
  if (S < 1 || E < 1)
    return specError(Spec, "attention over no keys or an empty head");
  return Error::success();
}

} // namespace

namespace {

/// The kernel's IR: the blocks and buffers chosen once, then one member per
/// level of the loop nest (batch and query block in run(), a key block's
/// loads and k^T, a query row's scores, its online softmax and p v).
class AttentionEmitter {
public:
  AttentionEmitter(KernelBuilder &KB, const abi::KernelSpec &Spec)
      : KB(KB), B(KB.B), Spec(Spec), R(Spec.output().Sizes.size()), HasMask(Spec.Operands.size() == 5),
        Causal(Spec.Params[0] != 0), L(Spec.output().Sizes[R - 2]), Ev(Spec.output().Sizes[R - 1]),
        E(Spec.Operands[0].Sizes[R - 1]), S(Spec.Operands[1].Sizes[R - 2]),
        VW(KB.Isa == codegen::VectorIsa::Avx512 ? 16 : 8) {}

  /// Picks the blocks; an error where even the smallest do not fit.
  Error plan();
  void run();

private:
  KernelBuilder &KB;
  IRBuilder<> &B;
  const abi::KernelSpec &Spec;
  const size_t R;
  const bool HasMask, Causal;
  const int64_t L, Ev, E, S, VW;
  int64_t BQ = 128, BK = 64;
  Value *QBuf = nullptr, *KRaw = nullptr, *KT = nullptr, *VBuf = nullptr, *SBuf = nullptr, *MaskBuf = nullptr,
        *OBuf = nullptr, *MBuf = nullptr, *LBuf = nullptr;
  std::vector<Value *> Addr, Base; ///< every operand's address; the batch entry's offsets

  Value *c64(int64_t X) { return KB.i64(uint64_t(X)); }
  Value *mul(Value *X, int64_t M) { return B.CreateMul(X, c64(M)); }
  Type *vecTy(int64_t Lanes) { return FixedVectorType::get(KB.F32, unsigned(Lanes)); }
  Value *splat(Value *X, int64_t Lanes) { return Lanes == 1 ? X : B.CreateVectorSplat(unsigned(Lanes), X); }
  Value *loadV(Value *Buf, Value *Index, int64_t Lanes) {
    return Lanes == 1 ? KB.loadF32(Buf, Index)
                      : B.CreateAlignedLoad(vecTy(Lanes), KB.elementPtr(Buf, Index), Align(4));
  }
  void storeV(Value *X, Value *Buf, Value *Index) { B.CreateAlignedStore(X, KB.elementPtr(Buf, Index), Align(4)); }
  /// Vectors along a row of Wd elements: (offset, lanes).
  std::vector<std::pair<int64_t, int64_t>> chunks(int64_t Wd) const {
    std::vector<std::pair<int64_t, int64_t>> Out;
    for (int64_t Off = 0; Off < Wd; Off += VW)
      Out.push_back({Off, std::min<int64_t>(VW, Wd - Off)});
    return Out;
  }
  Value *hreduce(Value *X, bool Max) {
    if (!X->getType()->isVectorTy())
      return X;
    return Max ? B.CreateUnaryIntrinsic(Intrinsic::vector_reduce_fmaximum, X)
               : B.CreateFAddReduce(ConstantFP::get(KB.F32, -0.0), X);
  }
  Value *at(unsigned Op, Value *Elems) { return B.CreateAdd(Addr[Op], B.CreateShl(Elems, 2)); }
  Value *negInf() { return ConstantFP::getInfinity(KB.F32, /*Negative=*/true); }

  void queryBlock(Value *Q0, Value *BQn);
  void keyBlock(Value *Q0, Value *BQn, Value *K0, Value *BKn);
  Value *scores(Value *Q0, Value *I, Value *K0, Value *BKn);
  void softmaxAndPv(Value *I, Value *MaxV, Value *BKn);
};

Error AttentionEmitter::plan() {
  // Blocks: BQ query rows by BK keys (a multiple of the vector width),
  // halved until the buffers fit the budget: BQ down to 32 first, then BK
  // down to a vector, then BQ. Each k block is transposed once per q
  // block, so more query rows amortise it (128 rows: 18.2 against 21.7 ms
  // at 32 for 4 heads x 1024 x 64, non-causal, one thread of an Intel Xeon,
  // family 6 model 167, AVX-512 + AMX).
  auto floatsFor = [&](int64_t Bq, int64_t Bk) {
    return Bq * E + 2 * Bk * E + Bk * Ev + 2 * Bq * Bk + VW + Bq * Ev + 2 * Bq;
  };
  // codegen::attentionBudgetFloats; at BQ = 1, BK = 16 the blocks take
  // attentionMinFloats(E, Ev), the bound the lowering checks.
  const int64_t Avail = int64_t(KB.Budget - 10 * ScratchpadAlign) / 4;
  while (floatsFor(BQ, BK) > Avail && (BQ > 1 || BK > VW)) {
    if (BQ > 32)
      BQ /= 2;
    else if (BK > VW)
      BK /= 2;
    else
      BQ /= 2;
  }
  if (floatsFor(BQ, BK) > Avail)
    return specError(Spec, "a block of q, k and v rows (E = " + Twine(E) + ", Ev = " + Twine(Ev) +
                               ") does not fit the scratchpad");
  QBuf = KB.alloc(uint64_t(BQ * E) * 4, "att.q");
  KRaw = KB.alloc(uint64_t(BK * E) * 4, "att.k");
  KT = KB.alloc(uint64_t(E * BK) * 4, "att.kt");
  VBuf = KB.alloc(uint64_t(BK * Ev) * 4, "att.v");
  SBuf = KB.alloc(uint64_t(BQ * BK) * 4, "att.s");
  MaskBuf = HasMask ? KB.alloc(uint64_t(BQ * BK + VW) * 4, "att.mask") : nullptr;
  OBuf = KB.alloc(uint64_t(BQ * Ev) * 4, "att.o");
  MBuf = KB.alloc(uint64_t(BQ) * 4, "att.m");
  LBuf = KB.alloc(uint64_t(BQ) * 4, "att.l");
  return Error::success();
}

void AttentionEmitter::run() {
  const abi::OperandSpec &O = Spec.output();
  std::vector<int64_t> BatchSizes(O.Sizes.begin(), O.Sizes.end() - 2);
  std::vector<std::vector<int64_t>> BatchStrides;
  int64_t Batch = 1;
  for (int64_t Sz : BatchSizes)
    Batch *= Sz;
  for (const abi::OperandSpec &X : Spec.Operands)
    BatchStrides.emplace_back(X.Strides.begin(), X.Strides.begin() + (R - 2));
  for (unsigned I = 0; I < Spec.Operands.size(); ++I)
    Addr.push_back(KB.operandAddr(I));
  const int64_t NQ = (L + BQ - 1) / BQ;
  KB.forLoop(Batch, "att.batch", [&](Value *Bi) {
    Base = stridedOffsets(B, Bi, BatchSizes, BatchStrides);
    KB.forLoop(NQ, "att.qblk", [&](Value *Qb) {
      Value *Q0 = mul(Qb, BQ);
      queryBlock(Q0, KB.umin(c64(BQ), B.CreateSub(c64(L), Q0)));
    });
  });
}

/// One block of BQn query rows from Q0: q in, the running max, sum and
/// output reset, every key block it reaches, then o / l out.
void AttentionEmitter::queryBlock(Value *Q0, Value *BQn) {
  const int64_t SQ = Spec.Operands[0].Strides[R - 2], NK = (S + BK - 1) / BK;
  KB.sdmaLoad(QBuf, at(0, B.CreateAdd(Base[0], B.CreateMul(Q0, c64(SQ)))), BQn, c64(E * 4), c64(SQ * 4));
  KB.forLoop(KB.i64(0), BQn, "att.init", [&](Value *I) {
    KB.storeF32(negInf(), MBuf, I);
    KB.storeF32(KB.f32(0), LBuf, I);
    for (auto [Off, Ln] : chunks(Ev))
      storeV(splat(KB.f32(0), Ln), OBuf, B.CreateAdd(mul(I, Ev), c64(Off)));
  });
  // Causal: the key blocks up to the one holding the block's last row.
  Value *KEnd = c64(NK);
  if (Causal) {
    Value *Last = B.CreateAdd(Q0, B.CreateSub(BQn, c64(1)));
    KEnd = KB.umin(c64(NK), B.CreateAdd(B.CreateUDiv(Last, c64(BK)), c64(1)));
  }
  KB.forLoop(KB.i64(0), KEnd, "att.kblk", [&](Value *Kb) {
    Value *K0 = mul(Kb, BK);
    keyBlock(Q0, BQn, K0, KB.umin(c64(BK), B.CreateSub(c64(S), K0)));
  });
  // o / l, and the block's rows out.
  KB.forLoop(KB.i64(0), BQn, "att.out", [&](Value *I) {
    Value *Lv = KB.loadF32(LBuf, I);
    for (auto [Off, Ln] : chunks(Ev)) {
      Value *Idx = B.CreateAdd(mul(I, Ev), c64(Off));
      storeV(B.CreateFDiv(loadV(OBuf, Idx, Ln), splat(Lv, Ln)), OBuf, Idx);
    }
  });
  const unsigned OutOp = unsigned(Spec.Operands.size() - 1);
  KB.sdmaStore(at(OutOp, B.CreateAdd(Base[OutOp], mul(Q0, Ev))), OBuf, BQn, c64(Ev * 4), c64(Ev * 4));
}

/// The BKn keys from K0: k's, v's and the mask's rows in, k transposed
/// (KT[e][j] = k[j][e]), then each query row's scores and update.
void AttentionEmitter::keyBlock(Value *Q0, Value *BQn, Value *K0, Value *BKn) {
  const int64_t SK = Spec.Operands[1].Strides[R - 2], SV = Spec.Operands[2].Strides[R - 2];
  KB.sdmaLoad(KRaw, at(1, B.CreateAdd(Base[1], B.CreateMul(K0, c64(SK)))), BKn, c64(E * 4), c64(SK * 4));
  KB.sdmaLoad(VBuf, at(2, B.CreateAdd(Base[2], B.CreateMul(K0, c64(SV)))), BKn, c64(Ev * 4), c64(SV * 4));
  if (HasMask) {
    const int64_t SM = Spec.Operands[3].Strides[R - 2];
    KB.sdmaLoad(MaskBuf, at(3, B.CreateAdd(Base[3], B.CreateAdd(B.CreateMul(Q0, c64(SM)), K0))), BQn,
                B.CreateShl(BKn, 2), c64(SM * 4));
  }
  KB.forLoop(
      KB.i64(0), BKn, "att.kt.j",
      [&](Value *J) {
        KB.forLoop(
            KB.i64(0), c64(E), "att.kt.e",
            [&](Value *Ei) { KB.storeF32(KB.loadF32(KRaw, B.CreateAdd(mul(J, E), Ei)), KT, B.CreateAdd(mul(Ei, BK), J)); },
            /*Parallel=*/false, /*Rolled=*/true);
      },
      /*Parallel=*/false, /*Rolled=*/true);
  KB.forLoop(
      KB.i64(0), BQn, "att.row", [&](Value *I) { softmaxAndPv(I, scores(Q0, I, K0, BKn), BKn); },
      /*Parallel=*/false, /*Rolled=*/true);
}

/// Query row I's scores against the block's keys into its row of SBuf:
/// q k^T (in registers across E) * scale (+ mask), -inf past the block's
/// keys and, causal, right of the row. Returns their max.
Value *AttentionEmitter::scores(Value *Q0, Value *I, Value *K0, Value *BKn) {
  std::vector<AllocaInst *> Acc;
  for (auto [Off, Ln] : chunks(BK)) {
    Acc.push_back(KB.slot(vecTy(Ln), "att.acc"));
    B.CreateStore(splat(KB.f32(0), Ln), Acc.back());
  }
  Value *QRow = KB.elementPtr(QBuf, mul(I, E));
  KB.forLoop(
      KB.i64(0), c64(E), "att.dot",
      [&](Value *Ei) {
        Value *Qe = KB.loadF32(QRow, Ei);
        Value *KRow = KB.elementPtr(KT, mul(Ei, BK));
        size_t C = 0;
        for (auto [Off, Ln] : chunks(BK)) {
          Value *Kv = loadV(KRow, c64(Off), Ln);
          Value *A = B.CreateLoad(vecTy(Ln), Acc[C]);
          B.CreateStore(B.CreateIntrinsic(Intrinsic::fmuladd, {vecTy(Ln)}, {splat(Qe, Ln), Kv, A}), Acc[C]);
          ++C;
        }
      },
      /*Parallel=*/false, /*Rolled=*/true);
  Value *Row = B.CreateAdd(Q0, I), *SRow = KB.elementPtr(SBuf, mul(I, BK));
  Value *Scale = ConstantFP::get(KB.F32, float(Spec.Scalar));
  Value *MaxV = nullptr;
  size_t C = 0;
  for (auto [Off, Ln] : chunks(BK)) {
    Value *Sv = B.CreateFMul(B.CreateLoad(vecTy(Ln), Acc[C++]), splat(Scale, Ln));
    if (HasMask)
      Sv = B.CreateFAdd(Sv, loadV(MaskBuf, B.CreateAdd(B.CreateMul(I, BKn), c64(Off)), Ln));
    // Lane j: key K0 + Off + j.
    std::vector<Constant *> Lanes;
    for (int64_t J = 0; J < Ln; ++J)
      Lanes.push_back(ConstantInt::get(KB.I64, uint64_t(Off + J)));
    Value *Jv = Ln == 1 ? static_cast<Value *>(Lanes[0]) : ConstantVector::get(Lanes);
    Value *Dead = B.CreateICmpUGE(Jv, splat(BKn, Ln));
    if (Causal)
      Dead = B.CreateOr(Dead, B.CreateICmpUGT(B.CreateAdd(splat(K0, Ln), Jv), splat(Row, Ln)));
    Sv = B.CreateSelect(Dead, splat(negInf(), Ln), Sv);
    storeV(Sv, SRow, c64(Off));
    Value *Mx = hreduce(Sv, /*Max=*/true);
    MaxV = MaxV ? B.CreateBinaryIntrinsic(Intrinsic::maximum, MaxV, Mx) : Mx;
  }
  return MaxV;
}

/// Row I's online softmax over the block (m' = max(m, MaxV), p = exp(s -
/// m'), l = l exp(m - m') + sum p) and o = o exp(m - m') + p v, o in
/// registers across the block's BKn keys.
void AttentionEmitter::softmaxAndPv(Value *I, Value *MaxV, Value *BKn) {
  Value *SRow = KB.elementPtr(SBuf, mul(I, BK));
  Value *MOld = KB.loadF32(MBuf, I);
  Value *MNew = B.CreateBinaryIntrinsic(Intrinsic::maximum, MOld, MaxV);
  Value *Shift = B.CreateSelect(B.CreateFCmpOEQ(MNew, negInf()), KB.f32(0), MNew);
  Value *Alpha = emitExp(B, B.CreateFSub(MOld, Shift));
  Value *Sum = nullptr;
  for (auto [Off, Ln] : chunks(BK)) {
    Value *P = emitExp(B, B.CreateFSub(loadV(SRow, c64(Off), Ln), splat(Shift, Ln)));
    storeV(P, SRow, c64(Off));
    Value *Ps = hreduce(P, /*Max=*/false);
    Sum = Sum ? B.CreateFAdd(Sum, Ps) : Ps;
  }
  KB.storeF32(B.CreateFAdd(B.CreateFMul(KB.loadF32(LBuf, I), Alpha), Sum), LBuf, I);
  KB.storeF32(MNew, MBuf, I);
  Value *ORow = KB.elementPtr(OBuf, mul(I, Ev));
  std::vector<AllocaInst *> OAcc;
  for (auto [Off, Ln] : chunks(Ev)) {
    OAcc.push_back(KB.slot(vecTy(Ln), "att.o"));
    B.CreateStore(B.CreateFMul(loadV(ORow, c64(Off), Ln), splat(Alpha, Ln)), OAcc.back());
  }
  KB.forLoop(
      KB.i64(0), BKn, "att.pv",
      [&](Value *J) {
        Value *P = KB.loadF32(SRow, J);
        Value *VRow = KB.elementPtr(VBuf, mul(J, Ev));
        size_t C = 0;
        for (auto [Off, Ln] : chunks(Ev)) {
          Value *A = B.CreateLoad(vecTy(Ln), OAcc[C]);
          B.CreateStore(
              B.CreateIntrinsic(Intrinsic::fmuladd, {vecTy(Ln)}, {splat(P, Ln), loadV(VRow, c64(Off), Ln), A}),
              OAcc[C]);
          ++C;
        }
      },
      /*Parallel=*/false, /*Rolled=*/true);
  size_t C = 0;
  for (auto [Off, Ln] : chunks(Ev))
    storeV(B.CreateLoad(vecTy(Ln), OAcc[C++]), ORow, c64(Off));
}

} // namespace

Error atalla::codegen::detail::emitAttention(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Error Err = checkAttentionSpec(Spec))
    return Err;
  if (Spec.output().numel() == 0) {
    KB.finish();
    return Error::success();
  }
  AttentionEmitter AE(KB, Spec);
  if (Error Err = AE.plan())
    return Err;
  AE.run();
  KB.finish();
  return Error::success();
}
