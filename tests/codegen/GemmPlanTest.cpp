//===- tests/codegen/GemmPlanTest.cpp - the GEMM schedule, on its own -----===//
//
// codegen::gemm::planGemm decides the packing, the cache blocking and the
// scratchpad buffers before any IR exists, so its decisions are checked
// here directly: over a sweep of shapes, layouts and scratchpad sizes every
// plan must fit its budget, keep the microkernel's tile multiples, cover C
// and K exactly once per block grid, and carve non-overlapping aligned
// buffers; and the decisions the kernel's comment promises (B read in place
// for few rows of C, A loaded once when K fits one block, B resident when
// it fits) hold. The kernel suite runs what the plans produce. To add a
// case: a spec and the property its plan must have. Both microkernels
// (AVX2's 6 x 16, AVX-512's 14 x 32) are swept on any host: planning needs
// no CPU.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"
#include "codegen/GemmPlan.h"
#include "codegen/KernelEmitter.h"

#include "KernelSpecTestSupport.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

using namespace atalla;
using namespace atalla::codegen::gemm;
using atalla::abi::KernelId;
using atalla::abi::KernelSpec;
using atalla::abi::OperandSpec;

namespace {

/// C [M, N] = A @ B with A [M, K] row-major or transposed, B [K, N]
/// row-major or transposed.
KernelSpec gemmSpec(int64_t M, int64_t N, int64_t K, bool TransA = false, bool TransB = false, bool Bias = false) {
  KernelSpec S;
  S.Kernel = KernelId::gemm;
  S.Operands.push_back(TransA ? test::view({M, K}, {1, M}) : test::contiguous({M, K}));
  S.Operands.push_back(TransB ? test::view({K, N}, {1, K}) : test::contiguous({K, N}));
  if (Bias) {
    S.HasBias = true;
    S.Operands.push_back(test::view({M, N}, {0, 1}));
  }
  S.Operands.push_back(test::contiguous({M, N}));
  return S;
}

uint64_t budgetOf(uint64_t PadBytes) { return codegen::scratchpadBudget(PadBytes); }

} // namespace

TEST(GemmPlanTest, EveryPlanFitsItsBudgetAndTilesTheShape) {
  const int64_t Dims[] = {1, 5, 6, 14, 16, 17, 64, 100, 257, 768, 1024};
  int Plans = 0;
  // The bf16 twins on a target with the bf16 dot product: the plan keeps
  // bf16-pair copies of A and B beside the f32 buffers, in the same budget.
  for (bool Bf16Dot : {false, true})
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro})
  for (uint64_t Pad : {codegen::MinPadBytes, uint64_t(512) << 10, uint64_t(1) << 20})
    for (int64_t M : Dims)
      for (int64_t N : Dims)
        for (int64_t K : {int64_t(1), int64_t(33), int64_t(256), int64_t(300), int64_t(2304)})
          for (int Layout = 0; Layout < 4; ++Layout) {
            KernelSpec S = gemmSpec(M, N, K, Layout & 1, Layout & 2, /*Bias=*/Layout == 3);
            if (Layout == 1) { // a per-row bias (a convolution's): the bias column buffer
              S.HasBias = true;
              S.Operands.insert(S.Operands.begin() + 2, test::view({M, N}, {1, 0}));
            }
            if (Layout == 2 && !Bf16Dot) { // a column scale (a channel gate's): its K block's buffer
              S.HasScale = true;
              S.Operands.insert(S.Operands.begin() + 2, test::contiguous({1, K}));
            }
            if (Bf16Dot)
              S.Type = atalla::abi::DType::BF16;
            auto P = planGemm(S, budgetOf(Pad), Micro, Bf16Dot);
            ASSERT_TRUE(bool(P)) << S.key() << ": " << llvm::toString(P.takeError());
            SCOPED_TRACE(S.key() + " pad " + std::to_string(Pad) + " MR " + std::to_string(Micro.MR));
            EXPECT_TRUE(P->Micro == Micro);
            EXPECT_LE(P->GrantBytes, budgetOf(Pad));
            // Tiles: whole dimensions, or multiples of the microkernel's
            // (AMX's 32-row blocks where the tile unit multiplies).
            const int64_t MStep = P->Bf16Dot ? 32 : Micro.MR;
            EXPECT_TRUE(P->TM == M || (P->TM % MStep == 0 && P->TM < M)) << P->TM;
            EXPECT_TRUE(P->TN == N || (P->TN % Micro.NR == 0 && P->TN < N)) << P->TN;
            EXPECT_GE(P->TM, 1);
            EXPECT_GE(P->TN, 1);
            EXPECT_LE(P->TM, std::max(M, MCMax));
            EXPECT_TRUE(P->TK >= 1 && P->TK <= std::min(K, KCMax)) << P->TK;
            EXPECT_EQ(P->OneKBlock, P->TK == K);
            EXPECT_EQ(P->BResident, P->OneKBlock && (P->TN == N || P->BWhole));
            // On the tile unit with one K block: one AMX block of rows; with
            // raw bf16 and B resident, C tiles of at most AmxCTileFloats
            // (or one panel wide) over the whole B.
            if (P->Bf16Dot && P->OneKBlock) {
              EXPECT_LE(P->TM, AmxRowTileRows);
            }
            if (P->BWhole) {
              EXPECT_TRUE(P->RawBf16 && P->OneKBlock);
              EXPECT_LT(P->TN, N);
              EXPECT_EQ(P->TN % Micro.NR, 0);
              EXPECT_TRUE(P->TN == Micro.NR || P->TM * P->TN <= AmxCTileFloats) << P->TN;
            }
            // B's buffers hold all of N while BWhole.
            const int64_t BCols = P->BWhole ? N : P->TN;
            // Buffers: aligned, in order, inside the grant, none overlapping.
            std::vector<std::pair<uint64_t, uint64_t>> Bufs = {{P->AOff, uint64_t(P->TM * P->TK) * 4},
                                                               {P->BOff, uint64_t(P->TK * BCols) * 4}};
            if (P->BPack != Pack::Rows)
              Bufs.push_back({P->RawOff, uint64_t(P->TK * P->TN) * 4});
            if (P->Staged)
              Bufs.push_back({P->StageOff, uint64_t(P->StageRows * P->TN) * 4});
            Bufs.push_back({P->AccOff, uint64_t(P->TM * P->TN) * 4});
            EXPECT_EQ(P->Scale, S.HasScale);
            if (P->Scale)
              Bufs.push_back({P->ScaleOff, uint64_t(P->TK) * 4});
            // The dot product: with the AVX-512 blocking, A's tiles as rows
            // and B through panels only.
            // (and where the pad has room for both copies: always at the
            // machines' pads, not always at the smallest).
            const bool Eligible = Bf16Dot && Micro.VW == 16 && P->APack == Pack::Rows && !P->DirectB;
            if (P->Bf16Dot) {
              EXPECT_TRUE(Eligible);
            }
            if (Eligible && Pad >= (uint64_t(512) << 10)) {
              EXPECT_TRUE(P->Bf16Dot);
            }
            // Raw bf16 operands (no f32 copies): only where every block is whole 32s.
            if (P->RawBf16) {
              EXPECT_TRUE(P->Bf16Dot);
              EXPECT_FALSE(P->DirectB);
              EXPECT_TRUE(P->SAk == 1 && P->SBn == 1);
              for (int64_t D : {K, P->TK})
                EXPECT_EQ(D % 32, 0) << D;
            }
            if (P->Bf16Dot && K % 32 == 0 && P->SAk == 1 && P->SBn == 1 && M >= 8) {
              EXPECT_TRUE(P->RawBf16);
            }
            if (M < 8) {
              EXPECT_FALSE(P->RawBf16);
            }
            if (P->Bf16Dot) {
              const uint64_t TKp = uint64_t(P->TK + (P->TK & 1));
              Bufs.push_back({P->ABfOff, uint64_t(P->TM) * TKp * 2});
              Bufs.push_back({P->BBfOff, TKp * uint64_t(BCols) * 2});
            }
            for (size_t I = 0; I < Bufs.size(); ++I) {
              EXPECT_EQ(Bufs[I].first % codegen::detail::ScratchpadAlign, 0u);
              EXPECT_LE(Bufs[I].first + Bufs[I].second, I + 1 < Bufs.size() ? Bufs[I + 1].first : P->GrantBytes);
            }
            ++Plans;
          }
  EXPECT_EQ(Plans, 2 * 2 * 3 * 11 * 11 * 5 * 4);
}

TEST(GemmPlanTest, PackingFollowsTheOperandsLayouts) {
  auto P = planGemm(gemmSpec(64, 64, 64), budgetOf(1 << 20));
  ASSERT_TRUE(bool(P));
  EXPECT_EQ(P->APack, Pack::Rows);
  EXPECT_EQ(P->BPack, Pack::Rows);
  P = planGemm(gemmSpec(64, 64, 64, /*TransA=*/true, /*TransB=*/true), budgetOf(1 << 20));
  ASSERT_TRUE(bool(P));
  EXPECT_EQ(P->APack, Pack::Cols);
  EXPECT_EQ(P->BPack, Pack::Cols);
  EXPECT_FALSE(P->Staged); // transposed B is repacked from a raw tile
  // Neither dimension contiguous: gathered.
  KernelSpec S = gemmSpec(8, 8, 8);
  S.Operands[0] = test::view({8, 8}, {16, 2});
  S.Operands[1] = test::view({8, 8}, {16, 2});
  P = planGemm(S, budgetOf(1 << 20));
  ASSERT_TRUE(bool(P));
  EXPECT_EQ(P->APack, Pack::Gather);
  EXPECT_EQ(P->BPack, Pack::Gather);
}

TEST(GemmPlanTest, FewRowsOfCReadBInPlace) {
  // Up to DirectBMaxGroups row groups of the microkernel: 18 rows with
  // AVX2's 6-row blocking, 42 with AVX-512's 14.
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro}) {
    const int64_t Max = DirectBMaxGroups * Micro.MR;
    for (int64_t M : {int64_t(1), Max, Max + 1}) {
      auto P = planGemm(gemmSpec(M, 1000, 2048), budgetOf(1 << 20), Micro);
      ASSERT_TRUE(bool(P));
      EXPECT_EQ(P->DirectB, M <= Max) << M;
      // Otherwise B goes through panels: AVX-512's 128-byte panel rows
      // straight from B's rows, AVX2's through the staging buffer.
      EXPECT_EQ(P->PanelSdma, M > Max && Micro.NR * 4 >= PanelSdmaMinRowBytes) << M;
      EXPECT_EQ(P->Staged, M > Max && !P->PanelSdma) << M;
      if (P->DirectB) { // B's block stays in L2 between its copy and the compute
        EXPECT_TRUE(P->TK * P->TN <= DirectBBlock || P->TK <= KCMax / 16) << P->TK << " x " << P->TN;
      }
    }
  }
}

TEST(GemmPlanTest, WidePanelsComeInByOneTransferEach) {
  // B through panels with AVX-512's blocking: one SDMA transfer per panel
  // (K block rows of 128 bytes), no staging buffer in the grant; AVX2's
  // 64-byte panel rows, a bf16 B (the aperture) and AMX stay staged.
  KernelSpec S = gemmSpec(128, 768, 768);
  auto P = planGemm(S, budgetOf(1 << 20), Avx512Micro);
  ASSERT_TRUE(bool(P));
  EXPECT_TRUE(P->PanelSdma);
  EXPECT_FALSE(P->Staged || P->DirectB);
  EXPECT_EQ(P->StageOff, 0u);
  auto Staged = planGemm(S, budgetOf(1 << 20), Avx2Micro);
  ASSERT_TRUE(bool(Staged));
  EXPECT_FALSE(Staged->PanelSdma);
  EXPECT_TRUE(Staged->Staged);
  S.Type = atalla::abi::DType::BF16;
  for (bool Amx : {false, true}) {
    auto Bf = planGemm(S, budgetOf(1 << 20), Avx512Micro, Amx);
    ASSERT_TRUE(bool(Bf));
    EXPECT_FALSE(Bf->PanelSdma) << Amx;
    EXPECT_TRUE(Bf->Staged) << Amx;
    EXPECT_EQ(Bf->Bf16Dot, Amx);
  }
}

TEST(GemmPlanTest, AWholeBIsReadInPlaceUpToItsLimit) {
  // K x N within DirectBWhole floats: B in place as one block, however
  // many rows C has (it stays in L1 while the row-group tiles stream past).
  // With more rows than a few row groups, up to DirectBWholeWide (512-bit
  // vectors, in L2) or DirectBWholeNarrow (AVX2); one float more goes
  // through panels again.
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro})
    for (int64_t M : {int64_t(64), int64_t(1000)}) {
      auto P = planGemm(gemmSpec(M, 64, 64), budgetOf(1 << 20), Micro);
      ASSERT_TRUE(bool(P));
      EXPECT_TRUE(P->DirectB) << M;
      EXPECT_FALSE(P->Staged) << M;
      EXPECT_TRUE(P->OneKBlock && P->TN == 64) << P->TK << " x " << P->TN;
      EXPECT_EQ(P->TM, rowTileRows(Micro)) << "row-group tiles";
      const int64_t Limit = Micro.VW == 16 ? DirectBWholeWide : DirectBWholeNarrow;
      P = planGemm(gemmSpec(M, Limit / 64, 64), budgetOf(1 << 20), Micro);
      ASSERT_TRUE(bool(P));
      EXPECT_TRUE(P->DirectB) << M;
      EXPECT_TRUE(P->OneKBlock && P->TN == Limit / 64) << P->TK << " x " << P->TN;
      P = planGemm(gemmSpec(M, Limit / 64 + 1, 64), budgetOf(1 << 20), Micro);
      ASSERT_TRUE(bool(P));
      EXPECT_FALSE(P->DirectB) << M;
    }
  // Few rows of C keep B's small blocks (DirectBBlock) beyond DirectBWhole.
  auto Few = planGemm(gemmSpec(16, 128, 64), budgetOf(1 << 20), Avx512Micro);
  ASSERT_TRUE(bool(Few));
  EXPECT_TRUE(Few->DirectB);
  EXPECT_LE(Few->TK * Few->TN, DirectBBlock);
  // A bf16 GEMM that can go to the tile unit keeps its packed pairs.
  KernelSpec S = gemmSpec(128, 128, 48);
  S.Type = atalla::abi::DType::BF16;
  auto Amx = planGemm(S, budgetOf(1 << 20), Avx512Micro, /*Bf16Dot=*/true);
  ASSERT_TRUE(bool(Amx));
  EXPECT_FALSE(Amx->DirectB);
  EXPECT_TRUE(Amx->Bf16Dot);
}

TEST(GemmPlanTest, OneKBlockTilesAreRowGroups) {
  // K within one block: each C tile is the fewest row groups that make
  // RowTileRows rows (14 on AVX-512, 18 on AVX2: its A rows in, all of B,
  // its C rows out while in L1), B resident; more K blocks keep taller
  // tiles (the C tile is updated once per block).
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro}) {
    for (int64_t N : {int64_t(512), int64_t(4096)}) {
      auto P = planGemm(gemmSpec(512, N, 64), budgetOf(1 << 20), Micro);
      ASSERT_TRUE(bool(P));
      EXPECT_TRUE(P->OneKBlock);
      EXPECT_EQ(P->TM, rowTileRows(Micro));
    }
    auto P = planGemm(gemmSpec(512, 512, 1024), budgetOf(1 << 20), Micro);
    ASSERT_TRUE(bool(P));
    EXPECT_FALSE(P->OneKBlock);
    EXPECT_GT(P->TM, rowTileRows(Micro));
  }
  EXPECT_EQ(rowTileRows(Avx512Micro), 14);
  EXPECT_EQ(rowTileRows(Avx2Micro), 18);
  // On the tile unit: one 32-row AMX block per tile (AmxRowTileRows); raw
  // bf16 tiles of at most AmxCTileFloats walk a B kept whole for the batch
  // (BWhole), the last tile narrower.
  for (auto [M, N, TN, Whole] : std::vector<std::tuple<int64_t, int64_t, int64_t, bool>>{
           {128, 128, 128, false}, {512, 512, 128, true}, {70, 300, 128, true}, {16, 520, 256, true}}) {
    KernelSpec S = gemmSpec(M, N, 64);
    S.Type = atalla::abi::DType::BF16;
    auto P = planGemm(S, budgetOf(512 << 10), Avx512Micro, /*Bf16Dot=*/true);
    ASSERT_TRUE(bool(P));
    SCOPED_TRACE(S.key());
    ASSERT_TRUE(P->Bf16Dot && P->RawBf16 && P->OneKBlock && P->BResident);
    EXPECT_EQ(P->TM, std::min<int64_t>(M, AmxRowTileRows));
    EXPECT_EQ(P->TN, TN);
    EXPECT_EQ(P->BWhole, Whole);
  }
  // Several K blocks keep taller tiles (C is updated once per block).
  KernelSpec S = gemmSpec(512, 512, 512);
  S.Type = atalla::abi::DType::BF16;
  auto P = planGemm(S, budgetOf(512 << 10), Avx512Micro, /*Bf16Dot=*/true);
  ASSERT_TRUE(bool(P));
  ASSERT_TRUE(P->Bf16Dot && !P->OneKBlock);
  EXPECT_GT(P->TM, AmxRowTileRows);
  EXPECT_EQ(P->TM % 32, 0);
  EXPECT_FALSE(P->BWhole);
}

TEST(GemmPlanTest, SmallOperandsAreLoadedOnce) {
  // K within one block: A once per M block; B fits whole: once per batch.
  auto P = planGemm(gemmSpec(128, 128, 128), budgetOf(1 << 20));
  ASSERT_TRUE(bool(P));
  EXPECT_TRUE(P->OneKBlock);
  EXPECT_TRUE(P->BResident);
  EXPECT_EQ(P->TN, 128) << "B's whole width per tile";
  EXPECT_EQ(P->TM, rowTileRows(Avx2Micro)) << "row-group tiles (one K block)";
  // K beyond one block: balanced K blocks, equal up to one.
  P = planGemm(gemmSpec(64, 64, 300), budgetOf(1 << 20));
  ASSERT_TRUE(bool(P));
  EXPECT_FALSE(P->OneKBlock);
  EXPECT_EQ(P->TK, 150);
}

TEST(GemmPlanTest, ASmallerScratchpadGivesSmallerTiles) {
  auto Big = planGemm(gemmSpec(1024, 1024, 1024), budgetOf(1 << 20));
  auto Small = planGemm(gemmSpec(1024, 1024, 1024), budgetOf(codegen::MinPadBytes));
  ASSERT_TRUE(Big && Small);
  EXPECT_LT(Small->GrantBytes, Big->GrantBytes);
  EXPECT_LE(Small->TM * Small->TN, Big->TM * Big->TN);
}

TEST(GemmPlanTest, OperandsThatAreNoGemmAreRefusedByName) {
  KernelSpec S = gemmSpec(4, 4, 4);
  S.Operands[1] = test::contiguous({5, 4}); // K disagrees
  auto P = planGemm(S, budgetOf(1 << 20));
  ASSERT_FALSE(bool(P));
  const std::string M = llvm::toString(P.takeError());
  EXPECT_NE(M.find("gemm shapes do not agree"), std::string::npos) << M;
  EXPECT_NE(M.find("kernel 'gemm"), std::string::npos) << M;
  S = gemmSpec(4, 4, 4);
  S.Operands.pop_back();
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "expected 3 operands, got 2");
  // A residual is C's shape, the operand before C; a spec that says it has
  // one and does not hold it is refused.
  S = gemmSpec(4, 4, 4);
  S.HasResidual = true;
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "expected 4 operands, got 3");
  S.Operands.insert(S.Operands.end() - 1, test::contiguous({4, 5}));
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "the residual is not [.., M, N]");
  S.Operands[2] = test::contiguous({4, 4});
  auto R = planGemm(S, budgetOf(1 << 20));
  ASSERT_TRUE(bool(R)) << llvm::toString(R.takeError());
  EXPECT_TRUE(R->Residual);
  // A column scale is [.., 1, K], the operand after the bias (here: after
  // B, before the residual); its K block gets a buffer of its own in the
  // grant, and the tile unit never takes it (A diag(s) would be rounded).
  S = gemmSpec(4, 4, 4);
  S.HasScale = true;
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "expected 4 operands, got 3");
  S.Operands.insert(S.Operands.begin() + 2, test::contiguous({1, 5}));
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "the column scale (kscale) is not [.., 1, K]");
  S.Operands[2] = test::contiguous({1, 4});
  S.HasResidual = true;
  S.Operands.insert(S.Operands.end() - 1, test::contiguous({4, 4}));
  auto Sc = planGemm(S, budgetOf(1 << 20));
  ASSERT_TRUE(bool(Sc)) << llvm::toString(Sc.takeError());
  EXPECT_TRUE(Sc->Scale && Sc->Residual);
  EXPECT_EQ(Sc->ScaleOp, 2u);
  EXPECT_GE(Sc->GrantBytes, Sc->ScaleOff + uint64_t(Sc->TK) * 4);
  EXPECT_NE(Sc->ScaleOff, Sc->ResOff);
  KernelSpec Wide = gemmSpec(64, 64, 64);
  Wide.Type = atalla::abi::DType::BF16;
  Wide.HasScale = true;
  Wide.Operands.insert(Wide.Operands.begin() + 2, test::contiguous({1, 64}));
  auto WP = planGemm(Wide, budgetOf(1 << 20), Avx512Micro, /*Bf16Dot=*/true);
  ASSERT_TRUE(bool(WP)) << llvm::toString(WP.takeError());
  EXPECT_FALSE(WP->Bf16Dot || WP->RawBf16);
  Wide.HasScale = false;
  Wide.Operands.erase(Wide.Operands.begin() + 2);
  auto WQ = planGemm(Wide, budgetOf(1 << 20), Avx512Micro, /*Bf16Dot=*/true);
  ASSERT_TRUE(bool(WQ)) << llvm::toString(WQ.takeError());
  EXPECT_TRUE(WQ->Bf16Dot); // the same GEMM unscaled goes to the tile unit
  // An empty C is planned (the emitter writes nothing).
  auto E = planGemm(gemmSpec(0, 4, 4), budgetOf(1 << 20));
  ASSERT_TRUE(bool(E));
  EXPECT_EQ(E->M, 0);
}

namespace {

/// conv2d of X [1, G, Cg, H, W] by a KHxKW window (stride S, padding P) into
/// Cog channels per group.
KernelSpec convSpec(int64_t G, int64_t Cg, int64_t H, int64_t W, int64_t Cog, int64_t KH, int64_t KW, int64_t S,
                    int64_t P) {
  const int64_t OH = (H + 2 * P - KH) / S + 1, OW = (W + 2 * P - KW) / S + 1, Kd = Cg * KH * KW;
  KernelSpec Sp;
  Sp.Kernel = KernelId::conv2d;
  Sp.Params = {KH, KW, S, S, P, P, 1, 1};
  Sp.Operands.push_back(test::view({1, G, Cog, Kd}, {0, Cog * Kd, Kd, 1}));
  Sp.Operands.push_back(test::contiguous({1, G, Cg, H, W}));
  Sp.HasBias = true; // per channel, broadcast along the output pixels
  Sp.Operands.push_back(test::view({1, G, Cog, OH * OW}, {0, Cog, 1, 0}));
  Sp.Operands.push_back(test::contiguous({1, G, Cog, OH * OW}));
  return Sp;
}

} // namespace

TEST(GemmPlanTest, ConvPlansTileWholeRowsAndChannelsWithinTheBudget) {
  // conv2d's plan: N blocks are whole output rows, K blocks whole channels
  // (every tap of them), the region holds the rows one N block's windows
  // reach that lie inside X, and the buffers fit the budget.
  struct Case {
    int64_t G, Cg, H, W, Cog, KH, KW, S, P;
  };
  const Case Cases[] = {{1, 3, 64, 64, 16, 7, 7, 2, 3},     {1, 16, 16, 16, 16, 3, 3, 1, 1},
                        {1, 64, 64, 256, 64, 3, 3, 1, 1},   {1, 40, 20, 21, 70, 3, 3, 1, 1},
                        {24, 1, 19, 19, 1, 3, 3, 2, 1},     {1, 256, 8, 8, 256, 3, 3, 1, 1},
                        {1, 3, 224, 224, 64, 7, 7, 2, 3},   {1, 8, 5, 1000, 8, 5, 5, 1, 2}};
  int Plans = 0;
  for (bool Bf16Dot : {false, true})
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro})
    for (uint64_t Pad : {codegen::MinPadBytes, uint64_t(512) << 10, uint64_t(1) << 20})
      for (const Case &C : Cases) {
        KernelSpec S = convSpec(C.G, C.Cg, C.H, C.W, C.Cog, C.KH, C.KW, C.S, C.P);
        SCOPED_TRACE(S.key() + " pad " + std::to_string(Pad));
        // What the lowering asks of a convolution before it picks conv2d
        // (SelectConv.cpp): its smallest blocking fits.
        const int64_t OW = (C.W + 2 * C.P - C.KW) / C.S + 1, KHW = C.KH * C.KW, M1 = std::min<int64_t>(C.Cog, 14);
        if (M1 * KHW + 2 * KHW * OW + M1 * OW + std::min(C.KH, C.H) * C.W + C.W + C.KH * (OW + C.KW - 1) >
            codegen::convBudgetFloats(Pad)) {
          ++Plans;
          continue;
        }
        if (Bf16Dot)
          S.Type = atalla::abi::DType::BF16;
        auto P = planGemm(S, budgetOf(Pad), Micro, Bf16Dot);
        ASSERT_TRUE(bool(P)) << llvm::toString(P.takeError());
        ++Plans;
        EXPECT_TRUE(P->Conv);
        EXPECT_TRUE(P->BiasCol); // the per-channel bias: one transfer, splatted per row
        EXPECT_LE(P->BiasColOff + uint64_t(P->TM) * 4, P->GrantBytes);
        // AMX tiles only with the AVX-512 blocking and B in panels.
        EXPECT_TRUE(!P->Bf16Dot || (Bf16Dot && Micro == Avx512Micro && !P->DirectB));
        EXPECT_LE(P->GrantBytes, budgetOf(Pad));
        EXPECT_EQ(P->M, C.Cog);
        EXPECT_EQ(P->K, C.Cg * C.KH * C.KW);
        EXPECT_EQ(P->N, P->OH * P->OW);
        EXPECT_EQ(P->TN % P->OW, 0) << "N blocks are whole output rows";
        EXPECT_EQ(P->TK % (C.KH * C.KW), 0) << "K blocks are whole channels";
        EXPECT_GE(P->TM, 1);
        EXPECT_LE(P->TM, P->M);
        const int64_t Rows = P->TN / P->OW;
        EXPECT_EQ(P->RowsIn, (Rows - 1) * C.S + C.KH);
        EXPECT_EQ(P->RegionRows, std::min(P->RowsIn, C.H));
        EXPECT_FALSE(P->BResident);
        // Stride-1 columns read the padded input rows directly; others build im2col tiles.
        EXPECT_EQ(P->DirectRows, C.S == 1 && P->OW >= 2 * Micro.VW);
        EXPECT_EQ(P->DirectB, !P->DirectRows && directB(P->M, Micro));
        EXPECT_TRUE(!P->DirectRows || !P->Bf16Dot);
        // The buffers are disjoint and in order.
        EXPECT_LT(P->AOff, P->DirectRows ? P->PaddedOff : P->BOff);
        EXPECT_LT(P->DirectRows ? P->PaddedOff : P->BOff, P->RegionOff);
        EXPECT_LT(P->RegionOff, P->AccOff);
        EXPECT_LE(P->AccOff + uint64_t(P->TM * P->TN) * 4, P->GrantBytes);
      }
  EXPECT_EQ(Plans, 2 * 2 * 3 * 8);
}

TEST(GemmPlanTest, MalformedConvSpecsAreRefusedWithTheirReason) {
  KernelSpec S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.Params.pop_back();
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "conv2d takes 8 params");
  S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.Operands[0] = test::view({1, 1, 4, 26}, {0, 104, 26, 1}); // K is not Cg * 9
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "conv2d shapes do not agree");
  S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.Operands[1] = test::view({1, 1, 3, 8, 8}, {384, 384, 128, 16, 2});
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "unit column stride");
  S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.Operands[1] = test::contiguous({1, 3, 8, 8});
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "conv2d operands are");
  S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.HasResidual = true;
  S.Operands.insert(S.Operands.end() - 1, test::contiguous({1, 1, 4, 63}));
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "(residual [b, g, Cog, OH*OW],)");
  S = convSpec(1, 3, 8, 8, 4, 3, 3, 1, 1);
  S.HasScale = true;
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(1 << 20)), "conv2d takes no column scale (kscale)");
  // A row too wide for the smallest pad: said, not planned past the budget.
  S = convSpec(1, 1, 8, 60000, 4, 3, 3, 1, 1);
  EXPECT_ERROR_CONTAINS(planGemm(S, budgetOf(codegen::MinPadBytes)), "no conv2d blocking fits");
}

TEST(GemmPlanTest, ConvTransposePlansTileWholeChannelsAndInputRows) {
  // conv_transpose2d (stride = kernel): C tiles are whole output channels
  // (TM a multiple of KH KW) by whole input rows (TN a multiple of IW), so
  // each interleaves into whole output rows; the buffers fit the budget.
  struct Case {
    int64_t Ci, IH, IW, Co, KH, KW;
  };
  const Case Cases[] = {{32, 32, 128, 16, 2, 2}, {16, 64, 256, 8, 2, 2}, {300, 4, 8, 8, 2, 2},
                        {7, 6, 9, 4, 3, 1},      {64, 16, 16, 256, 2, 2}, {8, 100, 1000, 4, 2, 2}};
  for (const MicroKernel &Micro : {Avx2Micro, Avx512Micro})
    for (uint64_t Pad : {codegen::MinPadBytes, uint64_t(1) << 20})
      for (const Case &C : Cases) {
        const int64_t M = C.Co * C.KH * C.KW, N = C.IH * C.IW;
        KernelSpec S;
        S.Kernel = KernelId::conv_transpose2d;
        S.Params = {C.KH, C.KW, C.IW};
        S.Operands = {test::view({1, M, C.Ci}, {0, C.Ci, 1}), test::contiguous({1, C.Ci, N}),
                      test::view({1, M, N}, {0, 1, 0}), test::contiguous({1, C.Co, N * C.KH * C.KW})};
        S.HasBias = true;
        SCOPED_TRACE(S.key() + " pad " + std::to_string(Pad));
        auto P = planGemm(S, budgetOf(Pad), Micro);
        if (!P) { // only a row too wide for the smallest pad may be refused, saying so
          std::string Msg = llvm::toString(P.takeError());
          EXPECT_EQ(Pad, codegen::MinPadBytes) << Msg;
          EXPECT_NE(Msg.find("no conv_transpose2d blocking fits"), std::string::npos) << Msg;
          continue;
        }
        EXPECT_TRUE(P->ConvT);
        EXPECT_EQ(P->M, M);
        EXPECT_EQ(P->N, N);
        EXPECT_EQ(P->TM % (C.KH * C.KW), 0);
        EXPECT_EQ(P->TN % C.IW, 0);
        EXPECT_LE(P->GrantBytes, budgetOf(Pad));
        EXPECT_TRUE(P->BiasCol);
        EXPECT_LE(P->InterleaveOff + uint64_t(P->TM * P->TN) * 4, P->GrantBytes);
      }
  KernelSpec Bad;
  Bad.Kernel = KernelId::conv_transpose2d;
  Bad.Params = {2, 2, 5};
  Bad.Operands = {test::contiguous({1, 12, 4}), test::contiguous({1, 4, 12}), test::contiguous({1, 3, 48})};
  EXPECT_ERROR_CONTAINS(planGemm(Bad, budgetOf(1 << 20)), "conv_transpose2d shapes do not agree");
  Bad.Params = {2, 2};
  EXPECT_ERROR_CONTAINS(planGemm(Bad, budgetOf(1 << 20)), "conv_transpose2d takes 3 params");
}
