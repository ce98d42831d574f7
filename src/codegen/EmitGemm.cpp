//===- codegen/EmitGemm.cpp - batched C = A @ B (+ bias) -------------------===//
//
// A simple BLIS-like schedule: per batch, C is computed in TM x TN tiles with
// K blocked by TK. Each operand tile is packed into the scratchpad by SDMA in
// the operand's natural orientation (rows along its unit-stride dim): A as
// [tm][tk] or [tk][tm] (read in place either way), B as [tk][tn] or as
// [tn][tk] then transposed into [tk][tn]; views with no unit stride are
// gathered row by row. The update acc[m][n] += a(m,k) * b[k][n] runs with n
// innermost (vectorised, fused where the target has FMA), k increasing, fp32
// accumulation; the bias is added once after the K loop, then the C tile is
// stored with one SDMA.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// Tile sizes: with all five buffers (A, B, transposed B, C, bias) the grant
/// is 64 + 256 + 256 + 64 + 64 = 704 KiB, under the 768 KiB budget.
constexpr int64_t TileM = 64, TileN = 256, TileK = 256;
/// Rows of C updated together by the inner loop. 4 measured slower than 1
/// here (27 vs 35-38 GFLOP/s at 256^3..512^3 on the AVX-512 host): keep 1
/// until a register-blocked micro-kernel replaces this loop nest.
constexpr unsigned MR = 1;

int64_t ceilDiv(int64_t A, int64_t B) { return (A + B - 1) / B; }

} // namespace

Error atalla::codegen::detail::emitGemm(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  const size_t NumOps = Spec.HasBias ? 4 : 3;
  if (Spec.Operands.size() != NumOps)
    return specError(Spec, "expected " + Twine(NumOps) + " operands, got " +
                               Twine(Spec.Operands.size()));
  const abi::OperandSpec &A = Spec.Operands[0], &Bm = Spec.Operands[1], &C = Spec.output();
  const size_t Rank = C.Sizes.size();
  if (Rank < 2)
    return specError(Spec, "gemm operands need rank >= 2");
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Sizes.size() != Rank)
      return specError(Spec, "gemm operands must have the output's rank");
  const int64_t M = C.Sizes[Rank - 2], N = C.Sizes[Rank - 1], K = A.Sizes[Rank - 1];
  if (A.Sizes[Rank - 2] != M || Bm.Sizes[Rank - 2] != K || Bm.Sizes[Rank - 1] != N)
    return specError(Spec, "gemm shapes do not agree: A [.., " + Twine(A.Sizes[Rank - 2]) + ", " +
                               Twine(K) + "], B [.., " + Twine(Bm.Sizes[Rank - 2]) + ", " +
                               Twine(Bm.Sizes[Rank - 1]) + "], C [.., " + Twine(M) + ", " +
                               Twine(N) + "]");
  for (size_t I = 0; I < NumOps; ++I) {
    const abi::OperandSpec &O = Spec.Operands[I];
    for (size_t D = 0; D + 2 < Rank; ++D)
      if (O.Sizes[D] != C.Sizes[D])
        return specError(Spec, "operand " + Twine(I) + " is not in the output's batch shape");
    if (Spec.HasBias && I == 2 && (O.Sizes[Rank - 2] != M || O.Sizes[Rank - 1] != N))
      return specError(Spec, "the bias is not [.., M, N]");
  }
  if (C.numel() == 0) {
    KB.finish();
    return Error::success();
  }

  IRBuilder<> &B = KB.B;
  const int64_t TM = std::min(M, TileM), TN = std::min(N, TileN);
  const int64_t TK = std::max<int64_t>(1, std::min(K, TileK));
  const int64_t SAm = A.Strides[Rank - 2], SAk = A.Strides[Rank - 1];
  const int64_t SBk = Bm.Strides[Rank - 2], SBn = Bm.Strides[Rank - 1];

  // How each operand tile is packed.
  enum class Pack { Rows, Cols, Gather };
  const Pack APack = (SAk == 1 || K == 1)   ? Pack::Rows  // [tm][tk]
                     : (SAm == 1 || M == 1) ? Pack::Cols  // [tk][tm]
                                            : Pack::Gather; // [tm][tk], per row
  const Pack BPack = (SBn == 1 || N == 1)   ? Pack::Rows  // [tk][tn]
                     : (SBk == 1 || K == 1) ? Pack::Cols  // [tn][tk] -> transpose
                                            : Pack::Gather; // [tk][tn], per row

  Value *ABuf = KB.alloc(uint64_t(TM * TK) * 4, "atile");
  Value *BBuf = KB.alloc(uint64_t(TK * TN) * 4, "btile");
  Value *BRaw = BPack == Pack::Cols ? KB.alloc(uint64_t(TK * TN) * 4, "btile.raw") : nullptr;
  Value *Acc = KB.alloc(uint64_t(TM * TN) * 4, "acc");
  Value *BiasBuf = nullptr;
  int64_t SBiasM = 0, SBiasN = 0;
  if (Spec.HasBias) {
    SBiasM = Spec.Operands[2].Strides[Rank - 2];
    SBiasN = Spec.Operands[2].Strides[Rank - 1];
    BiasBuf = KB.alloc(uint64_t((SBiasM == 0 ? 1 : TM) * TN) * 4, "biastile");
  }

  std::vector<Value *> Addr;
  for (unsigned I = 0; I < NumOps; ++I)
    Addr.push_back(KB.operandAddr(I));
  std::vector<int64_t> BatchSizes(C.Sizes.begin(), C.Sizes.end() - 2);
  std::vector<std::vector<int64_t>> BatchStrides;
  int64_t Batch = 1;
  for (int64_t S : BatchSizes)
    Batch *= S;
  for (const abi::OperandSpec &O : Spec.Operands)
    BatchStrides.emplace_back(O.Strides.begin(), O.Strides.end() - 2);

  auto tileLen = [&](Value *Start, int64_t Tile, int64_t Dim) -> Value * {
    if (Dim % Tile == 0)
      return KB.i64(Tile);
    return KB.umin(KB.i64(Tile), B.CreateSub(KB.i64(Dim), Start));
  };
  auto bytes = [&](Value *Elems) { return B.CreateShl(Elems, 2); };
  auto at = [&](unsigned Op, Value *Elems) { return B.CreateAdd(Addr[Op], bytes(Elems)); };
  auto mul = [&](Value *X, int64_t S) { return B.CreateMul(X, KB.i64(S)); };
  auto fma = [&](Value *X, Value *Y, Value *Z) {
    return B.CreateIntrinsic(Intrinsic::fmuladd, {KB.F32}, {X, Y, Z});
  };

  KB.forLoop(Batch, "batch", [&](Value *Bi) {
    std::vector<Value *> Base = stridedOffsets(B, Bi, BatchSizes, BatchStrides);
    KB.forLoop(ceilDiv(M, TM), "mblk", [&](Value *MB) {
      Value *M0 = B.CreateMul(MB, KB.i64(TM), "m0", true, true);
      Value *MN = tileLen(M0, TM, M);
      KB.forLoop(ceilDiv(N, TN), "nblk", [&](Value *NB) {
        Value *N0 = B.CreateMul(NB, KB.i64(TN), "n0", true, true);
        Value *NN = tileLen(N0, TN, N);
        Value *AccLen = B.CreateMul(MN, NN);
        KB.forLoop(KB.i64(0), AccLen, "zero", [&](Value *I) { KB.storeF32(KB.f32(0), Acc, I); });

        KB.forLoop(ceilDiv(K, TK), "kblk", [&](Value *KBi) {
          Value *K0 = B.CreateMul(KBi, KB.i64(TK), "k0", true, true);
          Value *KN = tileLen(K0, TK, K);
          // A tile at (m0, k0).
          Value *ASrc = at(0, B.CreateAdd(Base[0], B.CreateAdd(mul(M0, SAm), mul(K0, SAk))));
          Value *ARowStep, *AColStep; // a(m, k) = ABuf[m * ARowStep + k * AColStep]
          switch (APack) {
          case Pack::Rows:
            KB.sdmaLoad(ABuf, ASrc, MN, bytes(KN), KB.i64(SAm * 4));
            ARowStep = KN;
            AColStep = KB.i64(1);
            break;
          case Pack::Cols:
            KB.sdmaLoad(ABuf, ASrc, KN, bytes(MN), KB.i64(SAk * 4));
            ARowStep = KB.i64(1);
            AColStep = MN;
            break;
          case Pack::Gather:
            KB.forLoop(KB.i64(0), MN, "agather", [&](Value *Mi) {
              KB.sdmaLoad(KB.elementPtr(ABuf, B.CreateMul(Mi, KN)),
                          B.CreateAdd(ASrc, mul(Mi, SAm * 4)), KN, KB.i64(4), KB.i64(SAk * 4));
            });
            ARowStep = KN;
            AColStep = KB.i64(1);
            break;
          }
          // B tile at (k0, n0), as [tk][tn] in BBuf.
          Value *BSrc = at(1, B.CreateAdd(Base[1], B.CreateAdd(mul(K0, SBk), mul(N0, SBn))));
          switch (BPack) {
          case Pack::Rows:
            KB.sdmaLoad(BBuf, BSrc, KN, bytes(NN), KB.i64(SBk * 4));
            break;
          case Pack::Cols:
            KB.sdmaLoad(BRaw, BSrc, NN, bytes(KN), KB.i64(SBn * 4));
            KB.forLoop(KB.i64(0), KN, "btrans", [&](Value *Ki) {
              KB.forLoop(KB.i64(0), NN, "btrans.n", [&](Value *Ni) {
                Value *V = KB.loadF32(BRaw, B.CreateAdd(B.CreateMul(Ni, KN), Ki));
                KB.storeF32(V, BBuf, B.CreateAdd(B.CreateMul(Ki, NN), Ni));
              });
            });
            break;
          case Pack::Gather:
            KB.forLoop(KB.i64(0), KN, "bgather", [&](Value *Ki) {
              KB.sdmaLoad(KB.elementPtr(BBuf, B.CreateMul(Ki, NN)),
                          B.CreateAdd(BSrc, mul(Ki, SBk * 4)), NN, KB.i64(4), KB.i64(SBn * 4));
            });
            break;
          }
          // acc[m][n] += a(m, k) * b[k][n], k increasing, n innermost; rows in
          // groups of MR so each b[k][n] loaded feeds MR multiply-adds.
          auto rows = [&](Value *Mi0, unsigned Count) {
            std::vector<Value *> AccRow, ARow;
            for (unsigned R = 0; R < Count; ++R) {
              Value *Mi = B.CreateAdd(Mi0, KB.i64(R));
              AccRow.push_back(KB.elementPtr(Acc, B.CreateMul(Mi, NN)));
              ARow.push_back(B.CreateMul(Mi, ARowStep));
            }
            KB.forLoop(KB.i64(0), KN, "k", [&](Value *Ki) {
              std::vector<Value *> Av;
              for (unsigned R = 0; R < Count; ++R)
                Av.push_back(KB.loadF32(ABuf, B.CreateAdd(ARow[R], B.CreateMul(Ki, AColStep))));
              Value *BRow = KB.elementPtr(BBuf, B.CreateMul(Ki, NN));
              KB.forLoop(KB.i64(0), NN, "n", [&](Value *Ni) {
                Value *Bv = KB.loadF32(BRow, Ni);
                for (unsigned R = 0; R < Count; ++R)
                  KB.storeF32(fma(Av[R], Bv, KB.loadF32(AccRow[R], Ni)), AccRow[R], Ni);
              }, /*Parallel=*/true); // the MR rows of acc are disjoint
            });
          };
          Value *MGroups = B.CreateUDiv(MN, KB.i64(MR));
          KB.forLoop(KB.i64(0), MGroups, "mgrp",
                     [&](Value *G) { rows(B.CreateMul(G, KB.i64(MR)), MR); });
          KB.forLoop(B.CreateMul(MGroups, KB.i64(MR)), MN, "m", [&](Value *Mi) { rows(Mi, 1); });
        });

        if (Spec.HasBias) {
          Value *BiasSrc =
              at(2, B.CreateAdd(Base[2], B.CreateAdd(mul(M0, SBiasM), mul(N0, SBiasN))));
          Value *Rows = SBiasM == 0 ? KB.i64(1) : MN;
          if (SBiasN == 1 || N == 1) {
            KB.sdmaLoad(BiasBuf, BiasSrc, Rows, bytes(NN), KB.i64(SBiasM * 4));
          } else {
            KB.forLoop(KB.i64(0), Rows, "biasgather", [&](Value *Mi) {
              KB.sdmaLoad(KB.elementPtr(BiasBuf, B.CreateMul(Mi, NN)),
                          B.CreateAdd(BiasSrc, mul(Mi, SBiasM * 4)), NN, KB.i64(4),
                          KB.i64(SBiasN * 4));
            });
          }
          Value *BiasRowStep = SBiasM == 0 ? KB.i64(0) : NN;
          KB.forLoop(KB.i64(0), MN, "biasm", [&](Value *Mi) {
            Value *AccRow = KB.elementPtr(Acc, B.CreateMul(Mi, NN));
            Value *BiasRow = KB.elementPtr(BiasBuf, B.CreateMul(Mi, BiasRowStep));
            KB.forLoop(KB.i64(0), NN, "biasn", [&](Value *Ni) {
              KB.storeF32(B.CreateFAdd(KB.loadF32(AccRow, Ni), KB.loadF32(BiasRow, Ni)), AccRow,
                          Ni);
            });
          });
        }
        const unsigned COp = unsigned(NumOps - 1);
        const int64_t SCm = C.Strides[Rank - 2], SCn = C.Strides[Rank - 1];
        Value *CDst = at(COp, B.CreateAdd(Base[COp], B.CreateAdd(mul(M0, SCm), mul(N0, SCn))));
        KB.sdmaStore(CDst, Acc, MN, bytes(NN), KB.i64(N * 4));
      });
    });
  });
  KB.finish();
  return Error::success();
}
