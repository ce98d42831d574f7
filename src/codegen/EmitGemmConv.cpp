//===- codegen/EmitGemmConv.cpp - the GEMM emitter's convolutions ----------===//
//
// The members of GemmEmitter (GemmEmitter.h) that only convolutions use:
// conv2d's B blocks built from the input rows (an im2col block, or the
// padded rows the direct-rows microkernel reads), that microkernel, and
// conv_transpose2d's interleaved store of a finished C tile.
//
//===----------------------------------------------------------------------===//
#include "codegen/GemmEmitter.h"

using namespace llvm;

namespace atalla::codegen::detail {

/// conv2d's B block: output rows N0 / OW.. (NN / OW of them) by channels
/// K0 / (KH KW).. (KN / (KH KW) of them). The input rows those output rows
/// read (clipped to X) come in by one SDMA transfer (one per channel when
/// X's rows are not contiguous) into Region, [channel][row][W]; then each
/// row of the im2col block, b((c, kh, kw), (oh, ow)) = X[c, oh SH - PH + kh
/// DH, ow SW - PW + kw DW] (0 outside X), is written row-major (DirectB: in
/// place; else into BRaw, then into the panels). A row of X outside its
/// bounds reads ZeroRow; the columns outside are constant ranges per kw.
void GemmEmitter::loadBConv(Value *N0, int64_t NN, Value *K0, int64_t KN) {
  const int64_t KHW = P.KH * P.KW, Rows = NN / P.OW, Cb = KN / KHW;
  Value *Oh0 = B.CreateUDiv(N0, c64(P.OW)), *C0 = B.CreateUDiv(K0, c64(KHW));
  Value *IhStart = B.CreateSub(mul(Oh0, P.SH), c64(P.PH)); // may be negative
  auto smax = [&](Value *X, Value *Y) { return B.CreateSelect(B.CreateICmpSGT(X, Y), X, Y); };
  auto smin = [&](Value *X, Value *Y) { return B.CreateSelect(B.CreateICmpSLT(X, Y), X, Y); };
  Value *Lo = smax(IhStart, c64(0)), *Hi = smin(add(IhStart, P.RowsIn), c64(P.H));
  Value *NRows = smax(B.CreateSub(Hi, Lo), c64(0));
  Value *XSrc = at(1, B.CreateAdd(Base[1], B.CreateAdd(mul(C0, P.SXc), mul(Lo, P.SXh))));
  Value *ChanStep = mul(NRows, P.W); // floats per channel in Region
  BasicBlock *Load = BasicBlock::Create(KB.Ctx, "conv.load", KB.F);
  BasicBlock *Build = BasicBlock::Create(KB.Ctx, "conv.build", KB.F);
  B.CreateCondBr(B.CreateICmpSGT(NRows, c64(0)), Load, Build);
  B.SetInsertPoint(Load);
  if (P.SXh == P.W) // each channel's rows are contiguous: one transfer for all
    KB.sdmaLoad(Region, XSrc, c64(Cb), bytes(ChanStep), c64(P.SXc * 4));
  else
    KB.forLoop(Cb, "conv.chan", [&](Value *Ci) {
      KB.sdmaLoad(KB.elementPtr(Region, B.CreateMul(Ci, ChanStep)), B.CreateAdd(XSrc, mul(Ci, P.SXc * 4)), NRows,
                  c64(P.W * 4), c64(P.SXh * 4));
    });
  B.CreateBr(Build);
  B.SetInsertPoint(Build);
  if (P.DirectRows)
    return padRows(IhStart, Lo, ChanStep, Cb);
  Value *D = P.DirectB ? BBuf : BRaw;
  KB.forLoop(Cb, "im2col.c", [&](Value *Ci) {
    Value *ChanSrc = KB.elementPtr(Region, B.CreateMul(Ci, ChanStep));
    KB.forLoop(P.KH, "im2col.kh", [&](Value *Kh) {
      KB.forLoop(
          KB.i64(0), KB.i64(Rows), "im2col.oh",
          [&](Value *Ohi) {
            Value *Ih = B.CreateAdd(IhStart, B.CreateAdd(mul(Ohi, P.SH), mul(Kh, P.DH)));
            Value *Inside = B.CreateAnd(B.CreateICmpSGE(Ih, c64(0)), B.CreateICmpSLT(Ih, c64(P.H)));
            Value *Src = B.CreateSelect(Inside, KB.elementPtr(ChanSrc, mul(B.CreateSub(Ih, Lo), P.W)), ZeroRow);
            Value *K = B.CreateAdd(mul(Ci, KHW), mul(Kh, P.KW));
            for (int64_t Kw = 0; Kw < P.KW; ++Kw)
              im2colRow(KB.elementPtr(D, B.CreateAdd(mul(add(K, Kw), NN), mul(Ohi, P.OW))), Src, Kw);
          },
          /*Parallel=*/false, /*Rolled=*/true);
    });
  });
  if (!P.DirectB) {
    panelize(BRaw, NN, KN);
    if (P.Bf16Dot)
      toBf16B(NN, KN);
  }
}

/// One output row's OW columns of the im2col row for tap column \p Kw, from
/// input row \p Src: Dst[ow] = Src[ow SW - PW + Kw DW] inside X, else 0. The
/// inside range is a constant per Kw; stride-1 rows copy whole vectors,
/// strided ones load the span and keep every SW-th lane.
void GemmEmitter::im2colRow(Value *Dst, Value *Src, int64_t Kw) {
  const int64_t Off = Kw * P.DW - P.PW; // iw = ow * SW + Off
  int64_t OwLo = Off >= 0 ? 0 : (-Off + P.SW - 1) / P.SW;
  int64_t OwHi = P.W - 1 - Off < 0 ? 0 : std::min(P.OW, (P.W - 1 - Off) / P.SW + 1);
  OwLo = std::min(OwLo, P.OW);
  if (OwHi < OwLo)
    OwHi = OwLo;
  auto zero = [&](int64_t From, int64_t To) {
    for (int64_t O = From; O < To; O += VW) {
      const int64_t L = std::min<int64_t>(VW, To - O);
      storeVec(L == 1 ? KB.f32(0) : Constant::getNullValue(vecTy(L)), Dst, c64(O), L);
    }
  };
  zero(0, OwLo);
  for (int64_t O = OwLo; O < OwHi; O += VW) {
    const int64_t L = std::min<int64_t>(VW, OwHi - O), First = O * P.SW + Off;
    if (P.SW == 1) {
      storeVec(loadVec(Src, c64(First), L), Dst, c64(O), L);
    } else if (L == 1) {
      KB.storeF32(KB.loadF32(Src, c64(First)), Dst, c64(O));
    } else {
      const int64_t Span = (L - 1) * P.SW + 1;
      Value *Wide = loadVec(Src, c64(First), Span);
      std::vector<int> Pick;
      for (int64_t J = 0; J < L; ++J)
        Pick.push_back(int(J * P.SW));
      storeVec(B.CreateShuffleVector(Wide, Pick), Dst, c64(O), L);
    }
  }
  zero(OwHi, P.OW);
}

/// DirectRows: the window's RowsIn rows of each of \p Cb channels laid out
/// again Wp wide with their padding: PW zeros, the row (or zeros, for a row
/// outside X), zeros to Wp.
void GemmEmitter::padRows(Value *IhStart, Value *Lo, Value *ChanStep, int64_t Cb) {
  const int64_t CopyW = std::max<int64_t>(0, std::min(P.W, P.Wp - P.PW)), Left = std::min(P.PW, P.Wp);
  KB.forLoop(Cb, "pad.c", [&](Value *Ci) {
    Value *ChanSrc = KB.elementPtr(Region, B.CreateMul(Ci, ChanStep));
    Value *ChanDst = KB.elementPtr(Padded, mul(Ci, P.RowsIn * P.Wp));
    KB.forLoop(
        KB.i64(0), KB.i64(P.RowsIn), "pad.r",
        [&](Value *Wr) {
          Value *Ih = B.CreateAdd(IhStart, Wr);
          Value *Inside = B.CreateAnd(B.CreateICmpSGE(Ih, c64(0)), B.CreateICmpSLT(Ih, c64(P.H)));
          Value *Src = B.CreateSelect(Inside, KB.elementPtr(ChanSrc, mul(B.CreateSub(Ih, Lo), P.W)), ZeroRow);
          Value *Dst = KB.elementPtr(ChanDst, mul(Wr, P.Wp));
          for (int64_t O = 0; O < Left; O += VW) {
            const int64_t L = std::min<int64_t>(VW, Left - O);
            storeVec(L == 1 ? KB.f32(0) : Constant::getNullValue(vecTy(L)), Dst, c64(O), L);
          }
          for (int64_t O = 0; O < CopyW; O += VW) {
            const int64_t L = std::min<int64_t>(VW, CopyW - O);
            storeVec(loadVec(Src, c64(O), L), Dst, c64(Left + O), L);
          }
          for (int64_t O = Left + CopyW; O < P.Wp; O += VW) {
            const int64_t L = std::min<int64_t>(VW, P.Wp - O);
            storeVec(L == 1 ? KB.f32(0) : Constant::getNullValue(vecTy(L)), Dst, c64(O), L);
          }
        },
        /*Parallel=*/false, /*Rolled=*/true);
  });
}

/// DirectRows: the update of the C tile by one K block (Cb channels), per
/// output row and per group of columns, R rows of C in accumulators;
/// B's vectors come straight from the padded rows.
void GemmEmitter::computeDirect(int64_t MN, int64_t NN, int64_t KN, bool Zero) {
  const int64_t Rows = NN / P.OW, FullM = MN / MR, RemM = MN % MR;
  auto columns = [&](Value *Ohi, int64_t R, Value *M0) {
    // As many accumulator vectors per row as MaxAcc allows for R rows.
    const int64_t NV = std::max<int64_t>(1, std::min(MaxAcc / R, (P.OW + VW - 1) / VW)), Wd = NV * VW;
    const int64_t FullG = P.OW / Wd, RemW = P.OW % Wd;
    KB.forLoop(FullG, "dc.g", [&](Value *G) { microDirect(M0, R, Ohi, mul(G, Wd), Wd, NN, KN, Zero); });
    if (RemW)
      microDirect(M0, R, Ohi, c64(FullG * Wd), RemW, NN, KN, Zero);
  };
  KB.forLoop(
      KB.i64(0), KB.i64(Rows), "dc.oh",
      [&](Value *Ohi) {
        if (FullM)
          KB.forLoop(FullM, "dc.m", [&](Value *G) { columns(Ohi, MR, mul(G, MR)); });
        if (RemM)
          columns(Ohi, RemM, c64(FullM * MR));
      },
      /*Parallel=*/false, /*Rolled=*/true);
}

/// R rows of C from M0, columns Ow0.. (Wd of them) of output row Ohi of the
/// tile, updated by the K block: for each channel and tap row, the KW taps'
/// B vectors are loads from the padded row at Ow0 + kw DW, each times a
/// broadcast weight a(m, (c, kh, kw)).
void GemmEmitter::microDirect(Value *M0, int64_t R, Value *Ohi, Value *Ow0, int64_t Wd, int64_t NN, int64_t KN,
                              bool Zero) {
  const int64_t KHW = P.KH * P.KW, Cb = KN / KHW;
  std::vector<Value *> CRow, ARow;
  Value *Col = B.CreateAdd(mul(Ohi, P.OW), Ow0);
  for (int64_t Ri = 0; Ri < R; ++Ri) {
    Value *Mi = add(M0, Ri);
    CRow.push_back(KB.elementPtr(Acc, B.CreateAdd(mul(Mi, NN), Col)));
    ARow.push_back(KB.elementPtr(ABuf, mul(Mi, KN)));
  }
  Accumulators A = openAccumulators(std::move(CRow), chunks(Wd), Zero);
  KB.forLoop(Cb, "dc.c", [&](Value *Ci) {
    KB.forLoop(P.KH, "dc.kh", [&](Value *Kh) {
      Value *Row = B.CreateAdd(mul(Ci, P.RowsIn), B.CreateAdd(mul(Ohi, P.SH), mul(Kh, P.DH)));
      Value *RowBase = KB.elementPtr(Padded, B.CreateAdd(mul(Row, P.Wp), Ow0));
      Value *K0 = B.CreateAdd(mul(Ci, KHW), mul(Kh, P.KW));
      for (int64_t Kw = 0; Kw < P.KW; ++Kw) {
        std::vector<Value *> Bv;
        for (auto [Off, L] : A.Ch)
          Bv.push_back(loadVec(RowBase, c64(Kw * P.DW + Off), L));
        for (int64_t Ri = 0; Ri < R; ++Ri)
          accumulate(A, size_t(Ri), KB.loadF32(ARow[Ri], add(K0, Kw)), Bv);
      }
    });
  });
  closeAccumulators(A);
}

/// conv_transpose2d: the finished C tile (rows (co, kh, kw) from M0, columns
/// (ih, iw) from N0) interleaved into output rows, [co][ih KH + kh][iw KW +
/// kw], in the interleave buffer (two rows' vectors shuffled together for
/// KW = 2, element by element otherwise), then stored with one transfer:
/// each channel's rows are a contiguous range of its plane.
void GemmEmitter::storeInterleaved(Value *M0, int64_t MN, Value *N0, int64_t NN) {
  const int64_t KHW = P.KH * P.KW, IW = P.W, OW = IW * P.KW, CoT = MN / KHW, R = NN / IW, RowsOut = R * P.KH;
  Type *B8 = Type::getInt8Ty(KB.Ctx);
  Value *Il = B.CreateConstInBoundsGEP1_64(B8, Acc, P.InterleaveOff - P.AccOff);
  KB.forLoop(CoT, "il.co", [&](Value *Co) {
    KB.forLoop(
        KB.i64(0), KB.i64(RowsOut), "il.r",
        [&](Value *Rk) {
          Value *Ri = B.CreateUDiv(Rk, c64(P.KH)), *Kh = B.CreateURem(Rk, c64(P.KH));
          Value *Dst = KB.elementPtr(Il, B.CreateMul(B.CreateAdd(mul(Co, RowsOut), Rk), c64(OW)));
          auto srcRow = [&](int64_t Kw) {
            Value *M = B.CreateAdd(mul(Co, KHW), B.CreateAdd(mul(Kh, P.KW), c64(Kw)));
            return KB.elementPtr(Acc, B.CreateAdd(mul(M, NN), mul(Ri, IW)));
          };
          if (P.KW == 2) {
            Value *S0 = srcRow(0), *S1 = srcRow(1);
            for (int64_t O = 0; O < IW; O += VW) {
              const int64_t L = std::min<int64_t>(VW, IW - O);
              if (L == 1) {
                KB.storeF32(KB.loadF32(S0, c64(O)), Dst, c64(2 * O));
                KB.storeF32(KB.loadF32(S1, c64(O)), Dst, c64(2 * O + 1));
                continue;
              }
              std::vector<int> Mix;
              for (int J = 0; J < int(L); ++J) {
                Mix.push_back(J);
                Mix.push_back(J + int(L));
              }
              Value *V = B.CreateShuffleVector(loadVec(S0, c64(O), L), loadVec(S1, c64(O), L), Mix);
              storeVec(V, Dst, c64(2 * O), 2 * L);
            }
          } else {
            for (int64_t Kw = 0; Kw < P.KW; ++Kw) {
              Value *S = srcRow(Kw);
              KB.forLoop(
                  KB.i64(0), KB.i64(IW), "il.w",
                  [&](Value *Iw) { KB.storeF32(KB.loadF32(S, Iw), Dst, B.CreateAdd(mul(Iw, P.KW), c64(Kw))); },
                  /*Parallel=*/true);
            }
          }
        },
        /*Parallel=*/false, /*Rolled=*/true);
  });
  const unsigned COp = unsigned(P.NumOps - 1);
  Value *Co0 = B.CreateUDiv(M0, c64(KHW)), *Ih0 = B.CreateUDiv(N0, c64(IW));
  Value *Off = B.CreateAdd(Base[COp], B.CreateAdd(mul(Co0, C.Strides[1]), mul(Ih0, P.KH * OW)));
  KB.sdmaStore(at(COp, Off), Il, c64(CoT), c64(RowsOut * OW * 4), c64(C.Strides[1] * 4));
}

} // namespace atalla::codegen::detail
