//===- codegen/EmitGemm.cpp - batched C = A @ B (+ bias) -------------------===//
//
// A BLIS-style schedule specialised to the static shape. Per batch, C is
// computed in TM x TN tiles held in the scratchpad, K in blocks of TK; the
// block sizes are chosen at compile time to minimise SDMA traffic within the
// scratchpad budget (GemmPlan.h: A is loaded once per M block when K fits one
// block, B once per batch when it fits whole). Packing is the SDMA: A lands
// as [tm][tk] or [tk][tm] and is read in place; B is laid out as NR-wide
// panels ([tk][NR] each: rows staged through a small buffer then copied, or
// transposed / gathered from a raw tile), or, for C with few rows or a
// small B (K x N within 16 KiB), read in place from its row-major tile.
// Where K fits one block (or B is small and read in place), each C tile is
// a few row groups (14 rows or more): its A rows arrive, meet all of B and
// leave as C's rows while in L1 (GemmPlan.h, "Row-group tiles"). The
// microkernel keeps an MR x NR block of C in vector registers across the k
// loop (broadcast a(m,k), NR / VW B vector loads, fmuladd), fully unrolled
// over rows and vectors: 6 x 16 in 12 <8 x float> on AVX2, 14 x 32 in 28
// <16 x float> on AVX-512 (GemmPlan.h); the M and N remainders get their own
// variants (short row groups cover several panels so they still keep MaxAcc
// accumulators). All trip counts are constants. Bias seeds the C tile (by
// SDMA, stride 0 for a broadcast row); fp32 accumulation, k increasing. A fused epilogue runs on the finished C tile
// in scratchpad before its store. The emitter's class is in GemmEmitter.h;
// the members only convolutions use are in EmitGemmConv.cpp.
//
//===----------------------------------------------------------------------===//
#include "codegen/GemmEmitter.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/IntrinsicsX86.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;
using namespace atalla::codegen::gemm;

namespace atalla::codegen::detail {

void GemmEmitter::run() {
  const size_t Rank = P.Rank;
  Value *Grant = KB.alloc(P.GrantBytes, "gemm.buffers");
  Type *B8 = Type::getInt8Ty(KB.Ctx);
  auto part = [&](uint64_t Off) { return KB.B.CreateConstInBoundsGEP1_64(B8, Grant, Off); };
  ABuf = part(P.AOff);
  BBuf = part(P.BOff);
  Acc = part(P.AccOff);
  BRaw = P.BPack != Pack::Rows || (P.Conv && !P.DirectB) ? part(P.RawOff) : nullptr;
  if (P.Conv) { // the zero row rows outside X read, zeroed once
    Region = part(P.RegionOff);
    ZeroRow = KB.elementPtr(Region, c64((P.TK / (P.KH * P.KW)) * P.RegionRows * P.W));
    if (P.DirectRows)
      Padded = part(P.PaddedOff);
    KB.forLoop(P.W, "zerorow", [&](Value *I) { KB.storeF32(KB.f32(0), ZeroRow, I); });
  }
  BStage = P.Staged ? part(P.StageOff) : nullptr;
  if (P.Bf16Dot) {
    ABf = part(P.ABfOff);
    BBf = part(P.BBfOff);
  }
  if (P.RawBf16)
    Bounce = part(P.BounceOff);
  if (Spec.HasBias) {
    SBiasM = Spec.Operands[2].Strides[Rank - 2];
    SBiasN = Spec.Operands[2].Strides[Rank - 1];
  }
  for (unsigned I = 0; I < P.NumOps; ++I)
    Addr.push_back(KB.operandAddr(I));
  if (P.RawBf16) {
    RawA = KB.rawOperandAddr(0);
    RawB = KB.rawOperandAddr(1);
  }
  std::vector<int64_t> BatchSizes(C.Sizes.begin(), C.Sizes.end() - 2);
  std::vector<std::vector<int64_t>> BatchStrides;
  int64_t Batch = 1;
  for (int64_t S : BatchSizes)
    Batch *= S;
  for (const abi::OperandSpec &O : Spec.Operands) // the leading Rank - 2 dims (conv2d's X has one more)
    BatchStrides.emplace_back(O.Strides.begin(), O.Strides.begin() + (Rank - 2));

  KB.forLoop(Batch, "batch", [&](Value *Bi) {
    Base = stridedOffsets(B, Bi, BatchSizes, BatchStrides);
    if (P.BResident)
      loadB(c64(0), P.N, c64(0), P.K);
    const int64_t FullM = P.M / P.TM, RemM = P.M % P.TM;
    KB.forLoop(FullM, "mblk", [&](Value *MB) { rowBlock(mul(MB, P.TM), P.TM); });
    if (RemM)
      rowBlock(c64(FullM * P.TM), RemM);
  });
}

/// A block (m0.., k0..) into ABuf; a(m, k) = ABuf[m * ARS + k * ACS].
void GemmEmitter::loadA(Value *M0, int64_t MN, Value *K0, int64_t KN) {
  if (P.RawBf16) { // the bf16 rows as they are, straight into the AMX copy (KN is whole 32s: no padding)
    Value *Src = B.CreateAdd(RawA, B.CreateShl(B.CreateAdd(Base[0], B.CreateAdd(mul(M0, P.SAm), K0)), 1));
    KB.sdmaLoad(ABf, Src, c64(MN), c64(KN * 2), c64(P.SAm * 2));
    return;
  }
  Value *ASrc = at(0, B.CreateAdd(Base[0], B.CreateAdd(mul(M0, P.SAm), mul(K0, P.SAk))));
  switch (P.APack) {
  case Pack::Rows:
    KB.sdmaLoad(ABuf, ASrc, c64(MN), c64(KN * 4), c64(P.SAm * 4));
    break;
  case Pack::Cols:
    KB.sdmaLoad(ABuf, ASrc, c64(KN), c64(MN * 4), c64(P.SAk * 4));
    break;
  case Pack::Gather:
    KB.forLoop(MN, "agather", [&](Value *Mi) {
      KB.sdmaLoad(KB.elementPtr(ABuf, mul(Mi, KN)), B.CreateAdd(ASrc, mul(Mi, P.SAm * 4)), c64(KN), c64(4),
                  c64(P.SAk * 4));
    });
    break;
  }
  if (P.Scale)
    scaleA(K0, MN, KN);
  if (P.Bf16Dot)
    toBf16A(MN, KN);
}

/// A's block times its column scale: s(k0..) comes in by one SDMA transfer
/// (a row, or KN one-element rows where its stride is not 1), and every
/// a(m, k) of the block, a(m, k) = ABuf[m ARS + k ACS], is multiplied by
/// s(k0 + k): the block is (A diag(s)) for this batch.
void GemmEmitter::scaleA(Value *K0, int64_t MN, int64_t KN) {
  const abi::OperandSpec &Sc = Spec.Operands[P.ScaleOp];
  const int64_t SSk = Sc.Strides[P.Rank - 1];
  Value *Buf = B.CreateConstInBoundsGEP1_64(Type::getInt8Ty(KB.Ctx), Acc, P.ScaleOff - P.AccOff);
  Value *Src = at(P.ScaleOp, B.CreateAdd(Base[P.ScaleOp], mul(K0, SSk)));
  if (SSk == 1 || KN == 1)
    KB.sdmaLoad(Buf, Src, c64(1), c64(KN * 4), c64(KN * 4));
  else
    KB.sdmaLoad(Buf, Src, c64(KN), c64(4), c64(SSk * 4));
  // Straight-line vectors across each row of the copy (a runtime loop over
  // the rows): left to the loop vectorizer, constant trip counts got fully
  // unrolled (a 24 x 120 block: 25 KB of code, half a second to compile).
  if (P.APack == Pack::Cols) { // [tk][tm]: a row of the copy per k, all scaled by s(k)
    KB.forLoop(KN, "kscale.row", [&](Value *Ki) {
      Value *Row = mul(Ki, MN);
      Value *Sv = KB.loadF32(Buf, Ki);
      for (auto [O, L] : chunks(MN)) {
        Value *I = add(Row, O);
        Value *F = L == 1 ? Sv : B.CreateVectorSplat(unsigned(L), Sv);
        storeVec(B.CreateFMul(loadVec(ABuf, I, L), F), ABuf, I, L);
      }
    });
    return;
  }
  KB.forLoop(MN, "kscale.row", [&](Value *Mi) { // [tm][tk]: each row times s elementwise
    Value *Row = mul(Mi, KN);
    for (auto [O, L] : chunks(KN)) {
      Value *I = add(Row, O);
      storeVec(B.CreateFMul(loadVec(ABuf, I, L), loadVec(Buf, c64(O), L)), ABuf, I, L);
    }
  });
}

/// B block (k0.., n0..) into BBuf as NR-wide panels: panel p (width w, NR
/// except the last) at p * NR * KN, b(k, p * NR + j) at + k * w + j.
void GemmEmitter::loadB(Value *N0, int64_t NN, Value *K0, int64_t KN) {
  if (P.Conv)
    return loadBConv(N0, NN, K0, KN);
  if (P.RawBf16) { // the bf16 rows as they are into BBuf, then paired
    Value *Src = B.CreateAdd(RawB, B.CreateShl(B.CreateAdd(Base[1], B.CreateAdd(mul(K0, P.SBk), N0)), 1));
    KB.sdmaLoad(BBuf, Src, c64(KN), c64(NN * 2), c64(P.SBk * 2));
    return pairBf16B(NN, KN);
  }
  Value *BSrc = at(1, B.CreateAdd(Base[1], B.CreateAdd(mul(K0, P.SBk), mul(N0, P.SBn))));
  if (P.DirectB) {
    KB.sdmaLoad(BBuf, BSrc, c64(KN), c64(NN * 4), c64(P.SBk * 4));
    return;
  }
  if (P.PanelSdma)
    loadBPanels(BSrc, NN, KN);
  else if (P.BPack == Pack::Rows)
    loadBStaged(BSrc, NN, KN);
  else
    loadBRepacked(BSrc, NN, KN);
  if (P.Bf16Dot)
    toBf16B(NN, KN);
}

GemmEmitter::Accumulators GemmEmitter::openAccumulators(std::vector<Value *> CRow,
                                                        std::vector<std::pair<int64_t, int64_t>> Ch, bool Zero) {
  Accumulators A;
  A.Ch = std::move(Ch);
  A.CRow = std::move(CRow);
  A.Slots.resize(A.CRow.size());
  for (size_t Ri = 0; Ri < A.CRow.size(); ++Ri)
    for (auto [Off, L] : A.Ch) {
      AllocaInst *S = KB.slot(L == 1 ? KB.F32 : vecTy(L), "acc");
      B.CreateStore(Zero ? Constant::getNullValue(S->getAllocatedType()) : loadVec(A.CRow[Ri], c64(Off), L), S);
      A.Slots[Ri].push_back(S);
    }
  return A;
}

void GemmEmitter::accumulate(Accumulators &A, size_t Ri, Value *Av, const std::vector<Value *> &Bv) {
  for (size_t CI = 0; CI < A.Ch.size(); ++CI) {
    const int64_t L = A.Ch[CI].second;
    Type *Ty = L == 1 ? KB.F32 : vecTy(L);
    Value *Splat = L == 1 ? Av : B.CreateVectorSplat(unsigned(L), Av);
    Value *Old = B.CreateLoad(Ty, A.Slots[Ri][CI]);
    B.CreateStore(B.CreateIntrinsic(Intrinsic::fmuladd, {Ty}, {Splat, Bv[CI], Old}), A.Slots[Ri][CI]);
  }
}

void GemmEmitter::closeAccumulators(const Accumulators &A) {
  for (size_t Ri = 0; Ri < A.CRow.size(); ++Ri)
    for (size_t CI = 0; CI < A.Ch.size(); ++CI) {
      const int64_t L = A.Ch[CI].second;
      storeVec(B.CreateLoad(L == 1 ? KB.F32 : vecTy(L), A.Slots[Ri][CI]), A.CRow[Ri], c64(A.Ch[CI].first), L);
    }
}

/// A row-major [KN][NN] block in \p Src copied into BBuf's NR-wide panels.
void GemmEmitter::panelize(Value *Src, int64_t NN, int64_t KN) {
  const int64_t FullP = NN / NR, RemN = NN % NR;
  auto copy = [&](Value *Pn, int64_t Wd) {
    Value *Dst = KB.elementPtr(BBuf, mul(Pn, NR * KN));
    Value *From = KB.elementPtr(Src, mul(Pn, NR));
    KB.forLoop(KN, "panel.k", [&](Value *Ki) {
      for (int64_t Off = 0; Off < Wd; Off += VW) {
        const int64_t L = std::min<int64_t>(VW, Wd - Off);
        storeVec(loadVec(From, add(mul(Ki, NN), Off), L), Dst, add(mul(Ki, Wd), Off), L);
      }
    });
  };
  KB.forLoop(FullP, "panel.p", [&](Value *Pn) { copy(Pn, NR); });
  if (RemN)
    copy(c64(FullP), RemN);
}

/// ABuf's rows (a(m, k) = ABuf[m * KN + k]) as bf16 into ABf, row stride
/// KN rounded up to 32 (an A tile's row of 64 bytes) with zeros. Exact: the
/// values came from bf16 through the aperture.
void GemmEmitter::toBf16A(int64_t MN, int64_t KN) {
  const int64_t KNp = (KN + 31) / 32 * 32;
  KB.forLoop(MN, "abf16", [&](Value *Mi) {
    for (auto [Off, L] : chunks(KN)) {
      Value *V = loadVec(ABuf, B.CreateAdd(mul(Mi, KN), c64(Off)), L);
      Value *H = B.CreateFPTrunc(V, L == 1 ? Type::getBFloatTy(KB.Ctx) : bf16VecTy(L));
      B.CreateAlignedStore(H, bf16Ptr(ABf, B.CreateAdd(mul(Mi, KNp), c64(Off))), Align(2));
    }
    for (int64_t K = KN; K < KNp; ++K) // K padded with zeros to the tiles' 32
      B.CreateAlignedStore(ConstantFP::get(Type::getBFloatTy(KB.Ctx), 0.0),
                           bf16Ptr(ABf, B.CreateAdd(mul(Mi, KNp), c64(K))), Align(2));
  });
}

/// B's whole panels (b(k, p * NR + j) = BBuf[p * NR * KN + k * j]) as bf16
/// pairs into BBf: panel p at p * NR * KNp, and within it pair i of column j
/// at (i * NR + j) * 2, b(2i, j) first: AMX's layout of a B tile, 16 pairs
/// (rows of 64 bytes) by 16 columns, K padded with zeros to 32.
void GemmEmitter::toBf16B(int64_t NN, int64_t KN) {
  const int64_t KNp = (KN + 31) / 32 * 32, FullP = NN / NR, RemN = NN % NR;
  std::vector<int> Interleave;
  for (int I = 0; I < int(VW); ++I) {
    Interleave.push_back(I);
    Interleave.push_back(I + int(VW));
  }
  auto pair = [&](Value *Src, Value *Dst, Value *Ki, int64_t Wd, bool HasHi) {
    for (int64_t Off = 0; Off < Wd; Off += VW) {
      Value *Lo = B.CreateFPTrunc(loadVec(Src, B.CreateAdd(mul(Ki, Wd), c64(Off)), VW), bf16VecTy(VW));
      Value *Hi = HasHi ? B.CreateFPTrunc(loadVec(Src, B.CreateAdd(mul(add(Ki, 1), Wd), c64(Off)), VW), bf16VecTy(VW))
                        : Constant::getNullValue(bf16VecTy(VW));
      Value *Pr = B.CreateShuffleVector(Lo, Hi, Interleave);
      // Pair Ki / 2 of columns Off..: bf16 element (Ki / 2 * Wd + Off) * 2 = Ki * Wd + 2 * Off.
      B.CreateAlignedStore(Pr, bf16Ptr(Dst, B.CreateAdd(mul(Ki, Wd), c64(2 * Off))), Align(4));
    }
  };
  auto panel = [&](Value *Pn, int64_t Wd) {
    Value *Src = KB.elementPtr(BBuf, mul(Pn, NR * KN));
    Value *Dst = bf16Ptr(BBf, mul(Pn, NR * KNp));
    KB.forLoop(KN / 2, "bbf16", [&](Value *I) { pair(Src, Dst, mul(I, 2), Wd, true); });
    if (KN & 1)
      pair(Src, Dst, c64(KN - 1), Wd, false);
    // Pairs up to the tiles' 32 of K are zero.
    Value *Z = Constant::getNullValue(bf16VecTy(2 * VW));
    for (int64_t K = (KN + 1) / 2 * 2; K < KNp; K += 2)
      for (int64_t Off = 0; Off < Wd; Off += VW)
        B.CreateAlignedStore(Z, bf16Ptr(Dst, c64(K * Wd + 2 * Off)), Align(4));
  };
  // Only whole panels go to the tile unit (a narrower last one stays f32).
  KB.forLoop(FullP, "bbf16.p", [&](Value *Pn) { panel(Pn, NR); });
  (void)RemN;
}

/// BBuf's raw bf16 rows (KN of NN, dense) into BBf's pairs, the layout
/// toBf16B writes: per panel of NR columns and pair of rows (2i, 2i + 1),
/// the two rows' NR values interleaved, b(2i, j) first. Pure data movement
/// (two vector loads, one shuffle, one store per pair and panel).
void GemmEmitter::pairBf16B(int64_t NN, int64_t KN) {
  Type *H = B.getInt16Ty();
  // A panel of Wd columns (NR, or the narrower last one, padded to NR):
  // pair row i at i * NR * 2, as the tile unit reads whole B tiles.
  auto panel = [&](Value *I, Value *Pn, int64_t Wd) {
    auto *RowTy = FixedVectorType::get(H, unsigned(Wd));
    std::vector<int> Interleave;
    for (int J = 0; J < int(Wd); ++J) {
      Interleave.push_back(J);
      Interleave.push_back(J + int(Wd));
    }
    Value *Src = B.CreateGEP(H, BBuf, mul(Pn, NR));
    Value *Dst = B.CreateGEP(H, BBf, mul(Pn, NR * KN));
    Value *Lo = B.CreateAlignedLoad(RowTy, B.CreateGEP(H, Src, mul(I, 2 * NN)), Align(2));
    Value *Hi = B.CreateAlignedLoad(RowTy, B.CreateGEP(H, Src, add(mul(I, 2 * NN), NN)), Align(2));
    B.CreateAlignedStore(B.CreateShuffleVector(Lo, Hi, Interleave), B.CreateGEP(H, Dst, mul(I, 2 * NR)), Align(4));
  };
  // Row pair by row pair, every panel of it: B's rows are read in order.
  KB.forLoop(KN / 2, "bpair.k", [&](Value *I) {
    KB.forLoop(NN / NR, "bpair.p", [&](Value *Pn) { panel(I, Pn, NR); });
    if (NN % NR)
      panel(I, c64(NN / NR), NN % NR);
  });
}

/// One 32 x 32 block of C (rows M0.., panel Pn, in Acc) updated by one K
/// block with AMX: four 16 x 16 f32 accumulator tiles, per 32 of K two A
/// tiles (16 rows x 32 bf16 of ABf) and two B tiles (16 pairs of k x 16
/// columns of BBf's panel, the pair layout AMX reads) into four tdpbf16ps.
/// The K loop is unrolled (at most KCMax / 32 steps), so the tiles stay in
/// registers across it. Each product is exact in f32 and the sums round in
/// f32 as the FMAs do; the tile unit flushes bf16 subnormals to zero
/// (docs/bf16.md).
void GemmEmitter::microAmx(Value *M0, int64_t R, Value *Pn, int64_t Wd, int64_t NN, int64_t KN, bool Zero) {
  const int64_t KNp = (KN + 31) / 32 * 32;
  Module &Mod = KB.M;
  Function *Load = Intrinsic::getDeclaration(&Mod, Intrinsic::x86_tileloadd64_internal);
  Function *Store = Intrinsic::getDeclaration(&Mod, Intrinsic::x86_tilestored64_internal);
  Function *Dot = Intrinsic::getDeclaration(&Mod, Intrinsic::x86_tdpbf16ps_internal);
  Function *ZeroT = Intrinsic::getDeclaration(&Mod, Intrinsic::x86_tilezero_internal);
  // One tile shape throughout (16 rows x 64 bytes): LLVM configures the tile
  // registers once per region, a shape per register. Partial blocks (raw
  // bf16 only) compute whole tiles: rows past R come from ABf's padding and
  // land in Acc's padding rows; a C tile narrower than 16 columns goes
  // through Bounce, so no column past Wd is read from or written to Acc.
  Value *Rows = B.getInt16(16), *ColBytes = B.getInt16(64);
  auto bytePtr = [&](Value *Buf, Value *Elems, int64_t ElemBytes) {
    return B.CreateGEP(B.getInt8Ty(), Buf, B.CreateMul(Elems, c64(ElemBytes)));
  };
  const int NI = R > 16 ? 2 : 1, NJ = Wd > 16 ? 2 : 1;
  auto colsOf = [&](int J) { return std::min<int64_t>(16, Wd - 16 * J); };
  Value *N0 = mul(Pn, NR);
  auto accAt = [&](int I, int J) { return bytePtr(Acc, B.CreateAdd(mul(add(M0, 16 * I), NN), add(N0, 16 * J)), 4); };
  auto bounceAt = [&](int I) { return KB.elementPtr(Bounce, c64(I * 256)); };
  // Columns [0, L) of 16 rows between Acc (row stride NN) and Bounce (16).
  auto edgeCopy = [&](int I, int J, bool ToBounce) {
    const int64_t L = colsOf(J);
    Value *AccRow0 = KB.elementPtr(Acc, B.CreateAdd(mul(add(M0, 16 * I), NN), add(N0, 16 * J)));
    for (int64_t Rw = 0; Rw < 16; ++Rw) {
      Value *A = KB.elementPtr(AccRow0, c64(Rw * NN)), *T = KB.elementPtr(bounceAt(I), c64(Rw * 16));
      Value *V = loadVec(ToBounce ? A : T, c64(0), L);
      storeVec(V, ToBounce ? T : A, c64(0), L);
    }
  };
  Value *C[2][2];
  for (int I = 0; I < NI; ++I)
    for (int J = 0; J < NJ; ++J) {
      const bool Edge = colsOf(J) < 16;
      if (Zero) {
        C[I][J] = B.CreateCall(ZeroT, {Rows, ColBytes});
      } else if (Edge) {
        edgeCopy(I, J, /*ToBounce=*/true);
        C[I][J] = B.CreateCall(Load, {Rows, ColBytes, bounceAt(I), c64(64)});
      } else {
        C[I][J] = B.CreateCall(Load, {Rows, ColBytes, accAt(I, J), c64(NN * 4)});
      }
    }
  Value *Panel = bf16Ptr(BBf, mul(P.BWhole ? B.CreateAdd(PanelBase, Pn) : Pn, NR * KNp));
  for (int64_t Kc = 0; Kc < KNp / 32; ++Kc) {
    Value *A[2], *Bt[2];
    for (int I = 0; I < NI; ++I)
      A[I] = B.CreateCall(Load, {Rows, ColBytes, bf16Ptr(ABf, B.CreateAdd(mul(add(M0, 16 * I), KNp), c64(Kc * 32))),
                                 c64(KNp * 2)});
    for (int J = 0; J < NJ; ++J) // pairs Kc*16.. of columns 16J..: bf16 (pair * NR + column) * 2
      Bt[J] = B.CreateCall(Load, {Rows, ColBytes, bf16Ptr(Panel, c64((Kc * 16 * NR + 16 * J) * 2)), c64(NR * 4)});
    for (int I = 0; I < NI; ++I)
      for (int J = 0; J < NJ; ++J)
        C[I][J] = B.CreateCall(Dot, {Rows, ColBytes, ColBytes, C[I][J], A[I], Bt[J]});
  }
  for (int I = 0; I < NI; ++I)
    for (int J = 0; J < NJ; ++J) {
      if (colsOf(J) < 16) {
        B.CreateCall(Store, {Rows, ColBytes, bounceAt(I), c64(64), C[I][J]});
        edgeCopy(I, J, /*ToBounce=*/false);
      } else {
        B.CreateCall(Store, {Rows, ColBytes, accAt(I, J), c64(NN * 4), C[I][J]});
      }
    }
}

/// Whole rows by SDMA into a small staging buffer (one long copy per chunk
/// instead of one 64-byte row per panel row), then vector copies into the
/// panels while the chunk is still in L1.
void GemmEmitter::loadBStaged(Value *BSrc, int64_t NN, int64_t KN) {
  const int64_t FullP = NN / NR, RemN = NN % NR;
  const int64_t R = std::min(P.StageRows, KN), FullC = KN / R, RemC = KN % R;
  auto chunk = [&](Value *K0c, int64_t Rows) {
    KB.sdmaLoad(BStage, B.CreateAdd(BSrc, mul(K0c, P.SBk * 4)), c64(Rows), c64(NN * 4), c64(P.SBk * 4));
    auto copy = [&](Value *Pn, int64_t Wd) {
      Value *Dst = KB.elementPtr(BBuf, B.CreateAdd(mul(Pn, NR * KN), mul(K0c, Wd)));
      Value *Src = KB.elementPtr(BStage, mul(Pn, NR));
      KB.forLoop(Rows, "bstage.r", [&](Value *Ri) {
        for (int64_t Off = 0; Off < Wd; Off += VW) {
          int64_t L = std::min<int64_t>(VW, Wd - Off);
          storeVec(loadVec(Src, add(mul(Ri, NN), Off), L), Dst, add(mul(Ri, Wd), Off), L);
        }
      });
    };
    KB.forLoop(FullP, "bstage.p", [&](Value *Pn) { copy(Pn, NR); });
    if (RemN)
      copy(c64(FullP), RemN);
  };
  KB.forLoop(FullC, "bstage", [&](Value *Ci) { chunk(mul(Ci, R), R); });
  if (RemC)
    chunk(c64(FullC * R), RemC);
}

/// B's rows (unit column stride) straight into the panels, one transfer
/// per panel: KN rows of the panel's width from B's rows (GemmPlan::PanelSdma).
void GemmEmitter::loadBPanels(Value *BSrc, int64_t NN, int64_t KN) {
  const int64_t FullP = NN / NR, RemN = NN % NR;
  KB.forLoop(FullP, "bpanel", [&](Value *Pn) {
    KB.sdmaLoad(KB.elementPtr(BBuf, mul(Pn, NR * KN)), B.CreateAdd(BSrc, mul(Pn, NR * 4)), c64(KN), c64(NR * 4),
                c64(P.SBk * 4));
  });
  if (RemN)
    KB.sdmaLoad(KB.elementPtr(BBuf, c64(FullP * NR * KN)), B.CreateAdd(BSrc, c64(FullP * NR * 4)), c64(KN),
                c64(RemN * 4), c64(P.SBk * 4));
}

/// A transposed or gathered B tile into BRaw, raw(k, n) = BRaw[k * RK + n *
/// RN], then repacked element by element into the panels.
void GemmEmitter::loadBRepacked(Value *BSrc, int64_t NN, int64_t KN) {
  const int64_t FullP = NN / NR, RemN = NN % NR;
  int64_t RK, RN;
  if (P.BPack == Pack::Cols) {
    KB.sdmaLoad(BRaw, BSrc, c64(NN), c64(KN * 4), c64(P.SBn * 4));
    RK = 1;
    RN = KN;
  } else {
    KB.forLoop(KN, "bgather", [&](Value *Ki) {
      KB.sdmaLoad(KB.elementPtr(BRaw, mul(Ki, NN)), B.CreateAdd(BSrc, mul(Ki, P.SBk * 4)), c64(NN), c64(4),
                  c64(P.SBn * 4));
    });
    RK = NN;
    RN = 1;
  }
  auto repack = [&](Value *Pn, int64_t Wd) {
    Value *Dst = KB.elementPtr(BBuf, mul(Pn, NR * KN));
    Value *NBase = mul(Pn, NR);
    KB.forLoop(
        KB.i64(0), KB.i64(Wd), "brepack.j",
        [&](Value *J) {
          Value *Src = KB.elementPtr(BRaw, mul(B.CreateAdd(NBase, J), RN));
          KB.forLoop(KN, "brepack.k", [&](Value *Ki) {
            KB.storeF32(KB.loadF32(Src, mul(Ki, RK)), Dst, B.CreateAdd(mul(Ki, Wd), J));
          });
        },
        /*Parallel=*/false, /*Rolled=*/true);
  };
  KB.forLoop(FullP, "brepack", [&](Value *Pn) { repack(Pn, NR); });
  if (RemN)
    repack(c64(FullP), RemN);
}

/// The register-blocked update of the C tile (MN x NN, in Acc, row stride
/// NN) by one K block: R rows from M0 times NP panels from Pn (each of width
/// Wd), all accumulators in vector registers across the k loop. Panel p
/// starts at BBuf[p * PanelStep] with rows RowStep apart. The k loop stays
/// rolled: unrolled by 2 or 4 it was no faster (AVX-512 Xeon, one thread,
/// median of eight rounds of fastest-of-three, microseconds, 1 / 2 / 4:
/// 12 x 128x128x64 178.7 / 179.5 / 185.5, 128^3 27.9 / 27.8 / 29.1, 256^3
/// 206.0 / 205.9 / 207.9, 512x512x64 226.8 / 220.5 / 225.8).
/// The loop is bounded by its loads (A's broadcasts), not its FMAs. On the
/// AVX-512 Xeon (one thread), 24 register-only FMA chains run at 213.5 GFLOP/s;
/// a standalone loop of this shape (clang -O3 -march=native, A's 14 scalars
/// broadcast from memory, B's 2 vectors loaded, K = 64, C stored after) at
/// 177-179 (83-84 %), and with the broadcasts replaced by registers at 208
/// (97 %). Other blockings of the 32 registers were no better: 6 x 64 184,
/// 8 x 48 183, 12 x 32 177, 28 x 16 with the broadcast folded into each FMA
/// 151. Nor in atalla-bench (median of three rounds, us, 14 x 32 -> 6 x 64 /
/// 8 x 48 / 12 x 32): 12 x 128x128x64 173.3 -> 171.7 / 173.8 / 175.0, 128^3
/// 27.2 -> 27.9 / 27.8 / 27.7, 512x512x64 220.9 -> 236.2 / 227.9 / 231.8. A
/// prefetch in the k loop of B's lines one or two panels ahead (or one behind)
/// gained nothing (median of five rounds, us): 12 x 128x128x64 171.8
/// -> 170.9-174.2, 256^3 202.0 -> 208.9-211.0.
void GemmEmitter::micro(Value *M0, int64_t R, Value *Pn, int64_t NP, int64_t Wd, int64_t MN, int64_t NN,
                        int64_t KN, bool Zero) {
  const int64_t ARS = P.APack == Pack::Cols ? 1 : KN, ACS = P.APack == Pack::Cols ? MN : 1;
  const int64_t PanelStep = P.DirectB ? NR : NR * KN, RowStep = P.DirectB ? NN : Wd;
  std::vector<std::pair<int64_t, int64_t>> Ch; // (column offset in the tile, lanes)
  for (int64_t Pi = 0; Pi < NP; ++Pi)
    for (auto [Off, L] : chunks(Wd))
      Ch.push_back({Pi * NR + Off, L});
  Value *N0 = mul(Pn, NR);
  Value *Panel = KB.elementPtr(BBuf, mul(Pn, PanelStep));
  std::vector<Value *> CRow, ARow;
  for (int64_t Ri = 0; Ri < R; ++Ri) {
    Value *Mi = add(M0, Ri);
    CRow.push_back(KB.elementPtr(Acc, B.CreateAdd(mul(Mi, NN), N0)));
    ARow.push_back(KB.elementPtr(ABuf, mul(Mi, ARS)));
  }
  Accumulators A = openAccumulators(std::move(CRow), std::move(Ch), Zero);
  KB.forLoop(KN, "k", [&](Value *Ki) {
    std::vector<Value *> Bv;
    Value *BRow = KB.elementPtr(Panel, mul(Ki, RowStep));
    for (auto [Off, L] : A.Ch)
      Bv.push_back(loadVec(BRow, c64(Off / NR * PanelStep + Off % NR), L));
    for (int64_t Ri = 0; Ri < R; ++Ri)
      accumulate(A, size_t(Ri), KB.loadF32(ARow[Ri], mul(Ki, ACS)), Bv);
  });
  closeAccumulators(A);
}

/// compute() with AMX: whole 32 x 32 blocks (32 rows, full panels) on the
/// tile unit, the rows and columns left over by the f32 microkernel.
void GemmEmitter::computeAmx(int64_t MN, int64_t NN, int64_t KN, bool Zero) {
  const int64_t FullB = MN / 32, RemM = MN % 32, FullP = NN / NR, RemN = NN % NR;
  if (P.RawBf16) { // no f32 copies: every row and column on the tile unit, partial tiles at the edges
    KB.forLoop(FullP, "amx.nr", [&](Value *Pn) {
      KB.forLoop(FullB, "amx.mr", [&](Value *G) { microAmx(mul(G, 32), 32, Pn, NR, NN, KN, Zero); });
      if (RemM)
        microAmx(c64(FullB * 32), RemM, Pn, NR, NN, KN, Zero);
    });
    if (RemN) {
      KB.forLoop(FullB, "amx.mr.e", [&](Value *G) { microAmx(mul(G, 32), 32, c64(FullP), RemN, NN, KN, Zero); });
      if (RemM)
        microAmx(c64(FullB * 32), RemM, c64(FullP), RemN, NN, KN, Zero);
    }
    return;
  }
  if (FullB && FullP)
    KB.forLoop(FullP, "amx.nr", [&](Value *Pn) {
      KB.forLoop(FullB, "amx.mr", [&](Value *G) { microAmx(mul(G, 32), 32, Pn, NR, NN, KN, Zero); });
    });
  // The last panel when narrower, for the rows the tile unit did.
  if (RemN && FullB)
    for (int64_t R0 = 0; R0 < FullB * 32; R0 += MR)
      micro(c64(R0), std::min<int64_t>(MR, FullB * 32 - R0), c64(FullP), 1, RemN, MN, NN, KN, Zero);
  // The rows left over, across every panel.
  for (int64_t R0 = FullB * 32; R0 < MN; R0 += MR) {
    const int64_t R = std::min<int64_t>(MR, MN - R0);
    KB.forLoop(FullP, "amx.rem", [&](Value *Pn) { micro(c64(R0), R, Pn, 1, NR, MN, NN, KN, Zero); });
    if (RemN)
      micro(c64(R0), R, c64(FullP), 1, RemN, MN, NN, KN, Zero);
  }
  (void)RemM;
}

void GemmEmitter::compute(int64_t MN, int64_t NN, int64_t KN, bool Zero) {
  if (P.DirectRows)
    return computeDirect(MN, NN, KN, Zero);
  if (P.Bf16Dot)
    return computeAmx(MN, NN, KN, Zero);
  const int64_t FullM = MN / MR, RemM = MN % MR, FullP = NN / NR, RemN = NN % NR;
  // A short remainder spread over the row groups (GemmPlan.h,
  // spreadRemainderRows): FullM + 1 groups, the first Tall of Short + 1
  // rows, the rest of Short; each panel, then the last narrower one, across
  // them all.
  if (FullM && RemM && RemM <= spreadRemainderRows(P.Micro)) {
    const int64_t Groups = FullM + 1, Short = MN / Groups, Tall = MN % Groups;
    auto groups = [&](Value *Pn, int64_t Wd) {
      KB.forLoop(Tall, "mr.t", [&](Value *G) { micro(mul(G, Short + 1), Short + 1, Pn, 1, Wd, MN, NN, KN, Zero); });
      KB.forLoop(Groups - Tall, "mr.s", [&](Value *G) {
        micro(add(mul(G, Short), Tall * (Short + 1)), Short, Pn, 1, Wd, MN, NN, KN, Zero);
      });
    };
    KB.forLoop(FullP, "nr", [&](Value *Pn) { groups(Pn, NR); });
    if (RemN)
      groups(c64(FullP), RemN);
    return;
  }
  // Full row groups: one panel at a time, the panel stays in L1 while the
  // row groups stream past.
  if (FullM) {
    KB.forLoop(FullP, "nr", [&](Value *Pn) {
      KB.forLoop(FullM, "mr", [&](Value *G) { micro(mul(G, MR), MR, Pn, 1, NR, MN, NN, KN, Zero); });
    });
    if (RemN)
      KB.forLoop(FullM, "mr.e", [&](Value *G) { micro(mul(G, MR), MR, c64(FullP), 1, RemN, MN, NN, KN, Zero); });
  }
  // Leftover rows: as many panels at once as keep MaxAcc accumulators.
  if (RemM) {
    Value *M0 = c64(FullM * MR);
    const int64_t NP = std::max<int64_t>(1, MaxAcc / (RemM * (NR / VW)));
    const int64_t Groups = FullP / NP, Left = FullP % NP;
    KB.forLoop(Groups, "nr.g", [&](Value *G) { micro(M0, RemM, mul(G, NP), NP, NR, MN, NN, KN, Zero); });
    if (Left)
      micro(M0, RemM, c64(Groups * NP), Left, NR, MN, NN, KN, Zero);
    if (RemN)
      micro(M0, RemM, c64(FullP), 1, RemN, MN, NN, KN, Zero);
  }
}

/// One C tile (m0.., n0..) of MN x NN: bias (or zero), all K blocks, store.
void GemmEmitter::tile(Value *M0, int64_t MN, Value *N0, int64_t NN) {
  const size_t Rank = P.Rank;
  if (P.BWhole) // the tile's panels within the whole B (N0 is a multiple of TN, itself of NR)
    PanelBase = B.CreateUDiv(N0, c64(NR));
  if (Spec.HasBias) {
    Value *BiasSrc = at(2, B.CreateAdd(Base[2], B.CreateAdd(mul(M0, SBiasM), mul(N0, SBiasN))));
    if (P.BiasCol) { // one value per row of C: one transfer, then splats
      Type *B8 = Type::getInt8Ty(KB.Ctx);
      Value *Col = B.CreateConstInBoundsGEP1_64(B8, Acc, P.BiasColOff - P.AccOff);
      KB.sdmaLoad(Col, BiasSrc, c64(MN), c64(4), c64(SBiasM * 4));
      KB.forLoop(MN, "biasrow", [&](Value *Mi) {
        Value *V = KB.loadF32(Col, Mi);
        Value *Row = KB.elementPtr(Acc, mul(Mi, NN));
        const int64_t FullV = NN / VW, RemV = NN % VW;
        Value *Splat = B.CreateVectorSplat(unsigned(VW), V);
        KB.forLoop(FullV, "biasrow.v", [&](Value *J) { storeVec(Splat, Row, mul(J, VW), VW); });
        for (int64_t J = FullV * VW; J < NN; ++J)
          KB.storeF32(V, Row, c64(J));
        (void)RemV;
      });
    } else if (SBiasN == 1 || NN == 1) {
      KB.sdmaLoad(Acc, BiasSrc, c64(MN), c64(NN * 4), c64(SBiasM * 4));
    } else {
      KB.forLoop(MN, "biasgather", [&](Value *Mi) {
        KB.sdmaLoad(KB.elementPtr(Acc, mul(Mi, NN)), B.CreateAdd(BiasSrc, mul(Mi, SBiasM * 4)), c64(NN), c64(4),
                    c64(SBiasN * 4));
      });
    }
  }
  auto kblock = [&](Value *K0, int64_t KN, bool First) {
    if (!P.OneKBlock)
      loadA(M0, MN, K0, KN);
    if (!P.BResident)
      loadB(N0, NN, K0, KN);
    compute(MN, NN, KN, First && !Spec.HasBias);
  };
  const int64_t K = P.K, TK = P.TK, FullK = K / TK, RemK = K % TK;
  if (K == 0 && !Spec.HasBias)
    KB.forLoop(MN * NN, "zero", [&](Value *I) { KB.storeF32(KB.f32(0), Acc, I); });
  if (K > 0)
    kblock(c64(0), TK, true);
  if (FullK > 1)
    KB.forLoop(c64(1), c64(FullK), "kblk", [&](Value *KBi) { kblock(mul(KBi, TK), TK, false); });
  if (RemK)
    kblock(c64(FullK * TK), RemK, false);
  Value *Res = P.Residual ? loadResidual(M0, MN, N0, NN) : nullptr;
  if (Res || Spec.Post != abi::Epilogue::None) // the fused residual and epilogue, on the tile in scratchpad
    KB.forLoop(
        KB.i64(0), KB.i64(MN * NN), "epilogue",
        [&](Value *I) {
          Value *V = KB.loadF32(Acc, I);
          if (Res)
            V = B.CreateFAdd(V, KB.loadF32(Res, I));
          if (Spec.Post != abi::Epilogue::None)
            V = emitEpilogue(B, Spec.Post, V);
          KB.storeF32(V, Acc, I);
        },
        /*Parallel=*/true);
  if (P.ConvT)
    return storeInterleaved(M0, MN, N0, NN);
  const unsigned COp = unsigned(P.NumOps - 1);
  const int64_t SCm = C.Strides[Rank - 2], SCn = C.Strides[Rank - 1];
  Value *CDst = at(COp, B.CreateAdd(Base[COp], B.CreateAdd(mul(M0, SCm), mul(N0, SCn))));
  KB.sdmaStore(CDst, Acc, c64(MN), c64(NN * 4), c64(SCm * 4));
}

/// The residual's C tile (m0.., n0..) of MN x NN into its buffer, rows of NN.
Value *GemmEmitter::loadResidual(Value *M0, int64_t MN, Value *N0, int64_t NN) {
  const unsigned ROp = unsigned(P.NumOps - 2);
  const abi::OperandSpec &R = Spec.Operands[ROp];
  const int64_t SRm = R.Strides[P.Rank - 2], SRn = R.Strides[P.Rank - 1];
  Value *Res = B.CreateConstInBoundsGEP1_64(Type::getInt8Ty(KB.Ctx), Acc, P.ResOff - P.AccOff);
  Value *Src = at(ROp, B.CreateAdd(Base[ROp], B.CreateAdd(mul(M0, SRm), mul(N0, SRn))));
  if (SRn == 1 || NN == 1) {
    KB.sdmaLoad(Res, Src, c64(MN), c64(NN * 4), c64(SRm * 4));
  } else {
    KB.forLoop(MN, "resgather", [&](Value *Mi) {
      KB.sdmaLoad(KB.elementPtr(Res, mul(Mi, NN)), B.CreateAdd(Src, mul(Mi, SRm * 4)), c64(NN), c64(4),
                  c64(SRn * 4));
    });
  }
  return Res;
}

void GemmEmitter::rowBlock(Value *M0, int64_t MN) {
  if (P.OneKBlock)
    loadA(M0, MN, c64(0), P.K);
  const int64_t FullN = P.N / P.TN, RemN = P.N % P.TN;
  KB.forLoop(FullN, "nblk", [&](Value *NB) { tile(M0, MN, mul(NB, P.TN), P.TN); });
  if (RemN)
    tile(M0, MN, c64(FullN * P.TN), RemN);
}

} // namespace atalla::codegen::detail

Error atalla::codegen::detail::emitGemm(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  auto Plan =
      planGemm(Spec, KB.Budget, KB.Isa == codegen::VectorIsa::Avx512 ? Avx512Micro : Avx2Micro, KB.Bf16Dot);
  if (!Plan)
    return Plan.takeError();
  if (Spec.output().numel() > 0)
    GemmEmitter(KB, Spec, *Plan).run();
  KB.finish();
  return Error::success();
}
