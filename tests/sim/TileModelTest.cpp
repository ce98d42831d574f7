//===- tests/sim/TileModelTest.cpp - the tile model against atalla-sim -----===//
//
// The cycle-by-cycle tile model (sim/TileModel.h) on the atalla-sim-tpu
// machine, held against atalla-sim's own runs of its GEMM harnesses: the
// figures it publishes (single tile, 1024^3 tiled and blocked), the ones
// issue #19 reports from running it (32^3 to 128^3, tiled and blocked), and
// more shapes and blockings run through its harnesses for this project.
// Cycles within 15 %, DRAM bytes within 5 %, the single tile's phases
// within 25 % each. The model is not fitted to these figures: its constants
// are the machine's (src/sim/README.md), so the same test holds other
// shapes and blockings. Also: mechanisms on their own (a tile load is
// latency-bound per row; the vector unit's documented op costs), the
// compiler's schedule at least 2x under atalla-sim's best published one,
// and bad shapes and schedules. To add a case: a row in kAtallaSimRuns.
//
//===----------------------------------------------------------------------===//
#include "sim/TileModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace atalla;
using namespace atalla::sim;

namespace {

target::MachineDesc simTpu() {
  auto M = target::machinePreset("atalla-sim-tpu");
  EXPECT_TRUE(bool(M));
  return M ? *M : target::MachineDesc();
}

GemmCycles model(const target::MachineDesc &Mach, int64_t M, int64_t N, int64_t K, const char *Schedule) {
  auto S = parseTileSchedule(Schedule);
  EXPECT_TRUE(bool(S)) << Schedule;
  if (!S) {
    llvm::consumeError(S.takeError());
    return {};
  }
  auto G = modelGemm(Mach, M, N, K, *S);
  EXPECT_TRUE(bool(G)) << Schedule;
  if (!G) {
    llvm::consumeError(G.takeError());
    return {};
  }
  return *G;
}

struct AtallaSimRun {
  int64_t M, N, K;
  const char *Schedule;
  double Cycles;
  uint64_t Loaded, Stored; ///< 0: not reported
  const char *Source;
  uint32_t QueueDepth = 0; ///< the pads' frontend queue, when not the machine's 4
};

// atalla-sim's cycles for its own schedules on the atalla-sim-tpu
// configuration. 1024^3: its published figures (ATALLA.md; the tiled
// figure's rerun gave 22.93 M). The others: issue #19's runs of its
// harnesses.
const AtallaSimRun kAtallaSimRuns[] = {
    {32, 32, 32, "tile", 1056, 4096, 2048, "issue #19"},
    {32, 32, 32, "tiled", 1325, 4096, 2048, "issue #19"},
    {64, 64, 64, "tiled", 6924, 32768, 8192, "issue #19"},
    {128, 128, 128, "tiled", 47096, 262144, 32768, "issue #19"},
    {64, 64, 64, "blocked:m2_n2", 5054, 16384, 8192, "issue #19"},
    {128, 128, 128, "blocked:m2_n2", 38640, 131072, 32768, "issue #19"},
    {128, 128, 128, "blocked:m4_n4", 27256, 65536, 32768, "issue #19"},
    {1024, 1024, 1024, "tiled", 21.07e6, 0, 0, "published"},
    {1024, 1024, 1024, "blocked:m2_n4", 15.36e6, 0, 0, "published"},
    {1024, 1024, 1024, "blocked:m4_n8", 11.97e6, 0, 0, "published"},
    {1024, 1024, 1024, "blocked:m8_n32", 11.22e6, 0, 0, "published"},
    // atalla-sim's frontend-queue sweep: depth 1 instead of 4.
    {1024, 1024, 1024, "blocked:m8_n32", 15.54e6, 0, 0, "published, queue 1", 1},
    // Other shapes and blockings, through atalla-sim's own harnesses, run
    // for this project (src/sim/README.md says how).
    {32, 64, 32, "tiled", 2650, 8192, 4096, "atalla-sim run"},
    {64, 32, 32, "tiled", 2648, 8192, 4096, "atalla-sim run"},
    {32, 32, 64, "tiled", 1731, 8192, 2048, "atalla-sim run"},
    {32, 32, 128, "tiled", 2945, 16384, 2048, "atalla-sim run"},
    {96, 64, 32, "tiled", 7950, 24576, 12288, "atalla-sim run"},
    {64, 128, 64, "tiled", 13848, 65536, 16384, "atalla-sim run"},
    {256, 256, 256, "tiled", 343648, 2097152, 131072, "atalla-sim run"},
    {32, 32, 1024, "tiled", 19929, 131072, 2048, "atalla-sim run"},
    {64, 128, 64, "blocked:m2_n2", 10108, 32768, 16384, "atalla-sim run"},
    {32, 64, 32, "blocked:m2_n2", 1887, 6144, 4096, "atalla-sim run"},
    {32, 32, 32, "blocked:m1_n1", 1329, 4096, 2048, "atalla-sim run"},
    {64, 64, 64, "blocked:m1_n1", 10180, 32768, 8192, "atalla-sim run"},
    {128, 128, 128, "blocked:m1_n2", 52034, 196608, 32768, "atalla-sim run"},
    {128, 128, 128, "blocked:m2_n1", 55008, 196608, 32768, "atalla-sim run"},
    {128, 128, 128, "blocked:m2_n4", 30763, 98304, 32768, "atalla-sim run"},
    {256, 128, 128, "blocked:m4_n4", 54512, 131072, 65536, "atalla-sim run"},
    {128, 64, 1024, "blocked:m2_n4", 116800, 393216, 16384, "atalla-sim run"},
};

} // namespace

TEST(TileModelTest, ReproducesAtallaSimsRunsOfItsOwnSchedules) {
  const target::MachineDesc Mach = simTpu();
  std::printf("[tile model] %-18s %-16s %12s %12s %7s\n", "case", "schedule", "atalla-sim", "model", "ratio");
  for (const AtallaSimRun &R : kAtallaSimRuns) {
    SCOPED_TRACE(std::to_string(R.M) + "x" + std::to_string(R.N) + "x" + std::to_string(R.K) + " " + R.Schedule);
    target::MachineDesc Run = Mach;
    if (R.QueueDepth)
      Run.SpadQueueDepth = R.QueueDepth;
    GemmCycles G = model(Run, R.M, R.N, R.K, R.Schedule);
    const double Ratio = double(G.Cycles) / R.Cycles;
    std::printf("[tile model] %4lldx%4lldx%4lld     %-16s %12.0f %12llu %7.3f  (%s)\n", (long long)R.M,
                (long long)R.N, (long long)R.K, R.Schedule, R.Cycles, (unsigned long long)G.Cycles, Ratio, R.Source);
    EXPECT_GE(Ratio, 0.85);
    EXPECT_LE(Ratio, 1.15);
    if (R.Loaded) {
      EXPECT_NEAR(double(G.DramBytesLoaded), double(R.Loaded), 0.05 * double(R.Loaded));
      EXPECT_NEAR(double(G.DramBytesStored), double(R.Stored), 0.05 * double(R.Stored));
    }
    // Every schedule computes every tile product once.
    EXPECT_EQ(G.TileProducts, uint64_t(R.M / 32) * (R.N / 32) * (R.K / 32));
  }
}

TEST(TileModelTest, TheSingleTilesPhasesMatchAtallaSims) {
  // atalla-sim, one 32x32x32 tile: weight preload 876 (the SDMA tile loads
  // and the weight rows into the array), activation stream 72, ramp 21 and
  // steady 25 (the array: 46), store 17, drain 45.
  GemmCycles G = model(simTpu(), 32, 32, 32, "tile");
  std::printf("[tile model] one tile: preload %llu (876), stream %llu (72), compute %llu (46), store %llu (17), "
              "drain %llu (45); %llu cycles (1056)\n",
              (unsigned long long)G.Phases.Preload, (unsigned long long)G.Phases.Stream,
              (unsigned long long)G.Phases.Compute, (unsigned long long)G.Phases.Store,
              (unsigned long long)G.Phases.Drain, (unsigned long long)G.Cycles);
  auto Within = [](uint64_t Got, double Want) { return std::fabs(double(Got) - Want) <= 0.25 * Want; };
  EXPECT_TRUE(Within(G.Phases.Preload, 876)) << G.Phases.Preload;
  EXPECT_TRUE(Within(G.Phases.Stream, 72)) << G.Phases.Stream;
  EXPECT_TRUE(Within(G.Phases.Compute, 46)) << G.Phases.Compute;
  EXPECT_TRUE(Within(G.Phases.Store, 17)) << G.Phases.Store;
  EXPECT_TRUE(Within(G.Phases.Drain, 45)) << G.Phases.Drain;
  EXPECT_EQ(G.Phases.Preload + G.Phases.Stream + G.Phases.Compute + G.Phases.Store + G.Phases.Drain, G.Cycles);
}

TEST(TileModelTest, ATileLoadIsLatencyBoundRowByRow) {
  // A 32-row tile of 64-byte rows (two bursts a row) moves row by row: each
  // row waits for its bursts' latency, so the load time scales with the DRAM
  // latency, not with the bytes over the channel (2 KiB at one 32-byte
  // burst a cycle would be 64 cycles).
  target::MachineDesc Mach = simTpu();
  GemmCycles Base = model(Mach, 32, 32, 32, "tile");
  Mach.DramLatencyCycles *= 2;
  GemmCycles Slow = model(Mach, 32, 32, 32, "tile");
  const double Rows = 32;
  // Two tiles load side by side; each row costs about one latency more.
  EXPECT_NEAR(double(Slow.Phases.Preload - Base.Phases.Preload), Rows * 24, Rows * 3);
  EXPECT_EQ(Slow.DramBytesLoaded, Base.DramBytesLoaded);
}

TEST(TileModelTest, FrontendQueueDepthBoundsTheBlockedSchedule) {
  // atalla-sim: a frontend queue of 1 instead of 4 took the blocked 1024^3
  // run from 11.22 M to 15.54 M cycles. The queue bounds the vector loads
  // and stores in flight, so a shallower one is slower, by a similar factor
  // (the mechanism, checked on 256^3 to keep the test quick).
  target::MachineDesc Mach = simTpu();
  GemmCycles Deep = model(Mach, 256, 256, 256, "blocked:m8_n8");
  Mach.SpadQueueDepth = 1;
  GemmCycles Shallow = model(Mach, 256, 256, 256, "blocked:m8_n8");
  const double Ratio = double(Shallow.Cycles) / double(Deep.Cycles);
  std::printf("[tile model] 256^3 blocked m8_n8: queue depth 4 %llu, depth 1 %llu cycles (%.2fx; atalla-sim on "
              "1024^3 m8_n32: 1.39x)\n",
              (unsigned long long)Deep.Cycles, (unsigned long long)Shallow.Cycles, Ratio);
  EXPECT_GT(Ratio, 1.1);
}

TEST(TileModelTest, VectorOpsCostTheirDocumentedCycles) {
  // atalla-sim, 4 lanes, ALU latency 1: cycles per 32-element vector.
  const target::MachineDesc Mach = simTpu();
  const std::pair<const char *, uint64_t> Costs[] = {{"add", 8}, {"mul", 8},  {"max", 8},
                                                      {"exp", 21}, {"div", 18}, {"sqrt", 15}, {"shift", 10}};
  for (auto [Fn, Cycles] : Costs) {
    auto C = vectorOpCycles(Mach, Fn);
    ASSERT_TRUE(bool(C)) << Fn;
    EXPECT_EQ(*C, Cycles) << Fn;
  }
  auto Bad = vectorOpCycles(Mach, "tanh");
  ASSERT_FALSE(bool(Bad));
  EXPECT_NE(llvm::toString(Bad.takeError()).find("no vector function 'tanh'"), std::string::npos);
}

TEST(TileModelTest, OurScheduleIsTwiceAsFastAsAtallaSimsBest) {
  // The target: at least 2x fewer modelled cycles on 1024^3 than atalla-sim's
  // best published schedule (blocked m8_n32, 11.22 M), on the same machine.
  const target::MachineDesc Mach = simTpu();
  GemmCycles Ours = model(Mach, 1024, 1024, 1024, "ours");
  GemmCycles Best = model(Mach, 1024, 1024, 1024, "blocked:m8_n32");
  std::printf("[tile model] 1024^3 ours: %llu cycles (%.1f flop/cycle), %.2fx fewer than atalla-sim's 11.22 M, "
              "%.2fx fewer than the modelled m8_n32; DRAM %llu B in, %llu B out\n",
              (unsigned long long)Ours.Cycles, Ours.flopsPerCycle(1024, 1024, 1024), 11.22e6 / double(Ours.Cycles),
              double(Best.Cycles) / double(Ours.Cycles), (unsigned long long)Ours.DramBytesLoaded,
              (unsigned long long)Ours.DramBytesStored);
  EXPECT_LE(double(Ours.Cycles), 11.22e6 / 2);
  EXPECT_EQ(Ours.TileProducts, 32768u);
  // Every byte of A and B is loaded at least once, C stored once.
  EXPECT_GE(Ours.DramBytesLoaded, 2u * 1024 * 1024 * 2);
  EXPECT_EQ(Ours.DramBytesStored, 1024u * 1024 * 2);
  // And it wins on other shapes too.
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{256, 512, 128}, {512, 128, 256}, {128, 128, 1024}}) {
    GemmCycles O = model(Mach, M, N, K, "ours");
    GemmCycles T = model(Mach, M, N, K, "tiled");
    EXPECT_LT(O.Cycles, T.Cycles) << M << "x" << N << "x" << K;
  }
}

TEST(TileModelTest, BadShapesAndSchedulesAreOneLineErrors) {
  const target::MachineDesc Mach = simTpu();
  auto S = parseTileSchedule("tiled");
  ASSERT_TRUE(bool(S));
  auto G = modelGemm(Mach, 33, 32, 32, *S);
  ASSERT_FALSE(bool(G));
  EXPECT_EQ(llvm::toString(G.takeError()), "M = 33: the tile model takes positive multiples of the array's size 32");
  auto One = parseTileSchedule("tile");
  ASSERT_TRUE(bool(One));
  auto G2 = modelGemm(Mach, 64, 32, 32, *One);
  ASSERT_FALSE(bool(G2));
  EXPECT_NE(llvm::toString(G2.takeError()).find("schedule 'tile' is one 32x32x32 tile"), std::string::npos);
  for (const char *Bad : {"blocked", "blocked:m0_n2", "blocked:m2", "blocked:m2_n", "tiles", "", "blocked:mx_ny"}) {
    auto B = parseTileSchedule(Bad);
    ASSERT_FALSE(bool(B)) << Bad;
    EXPECT_NE(llvm::toString(B.takeError()).find("unknown schedule"), std::string::npos) << Bad;
  }
  auto Ok = parseTileSchedule("blocked_m8_n32");
  ASSERT_TRUE(bool(Ok));
  EXPECT_EQ(Ok->name(), "blocked:m8_n32");
}

namespace {

GemmCycles ours(const target::MachineDesc &Mach, int64_t M, int64_t N, int64_t K, const StationarySource &Src) {
  TileSchedule S;
  S.K = TileSchedule::Ours;
  auto G = modelGemm(Mach, M, N, K, S, Src);
  EXPECT_TRUE(bool(G)) << (G ? "" : llvm::toString(G.takeError()));
  return G ? *G : GemmCycles();
}

/// A 3x3 convolution of a one-channel 64 x 64 image with one pixel of
/// zero padding: K = 9 of one 32-row tile, N = 64 x 64 pixels.
StationarySource convOneChannel() {
  StationarySource S;
  S.Conv = true;
  S.KValid = 9;
  S.C = 1, S.H = 64, S.W = 64, S.KH = 3, S.KW = 3, S.SH = 1, S.PH = 1, S.PW = 1, S.OH = 64, S.OW = 64;
  return S;
}

} // namespace

TEST(TileModelTest, PipelinedPassesOverlapTheKAccumulationOnly) {
  // "ours" starts a pass's weights once the previous pass's last output
  // row has left the array, while the vector core still adds and stores
  // that pass's partial rows; "ours:serial" runs each pass to its end
  // first. The work is the same (tile products, adds, DRAM bytes), the
  // phases still sum to the cycles, the pipelined run is never slower, and
  // the one datapath still does every add one at a time. On MEISSA
  // (atalla-rtl: K accumulated on the vector core) it is faster where many
  // short passes each end in adds (a convolution's few streamed rows);
  // where one pass per K step waits for its DMA anyway (N of one tile, so
  // also every pass adds into the same partial tile and reads it only after
  // the previous pass's stores) there is nothing to overlap.
  auto Rtl = target::machinePreset("atalla-rtl");
  ASSERT_TRUE(bool(Rtl));
  const uint64_t Add = cantFail(vectorOpCycles(*Rtl, "add"));
  for (const target::MachineDesc &Mach : {simTpu(), *Rtl})
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{32, 256, 288}, {8, 1024, 160}, {96, 32, 1024},
                           {256, 512, 128}}) {
      SCOPED_TRACE(Mach.Name + " " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
      GemmCycles P = model(Mach, M, N, K, "ours"), S = model(Mach, M, N, K, "ours:serial");
      EXPECT_EQ(P.TileProducts, S.TileProducts);
      EXPECT_EQ(P.VectorAdds, S.VectorAdds);
      EXPECT_EQ(P.DramBytesLoaded, S.DramBytesLoaded);
      EXPECT_EQ(P.DramBytesStored, S.DramBytesStored);
      const GemmPhases &Ph = P.Phases;
      EXPECT_EQ(Ph.Preload + Ph.Stream + Ph.Compute + Ph.Store + Ph.Drain, P.Cycles);
      EXPECT_LE(P.Cycles, S.Cycles);
      if (Mach.Name == "atalla-rtl") {
        EXPECT_GE(P.Cycles, P.VectorAdds * Add);
        if (M <= 32) { // many short passes
          EXPECT_LT(double(P.Cycles), 0.9 * double(S.Cycles)) << P.Cycles << " vs " << S.Cycles;
        }
      }
    }
  // The UNet's largest convolution, as atalla-run prices it (16 -> 8
  // channels, 64 x 256, four output rows packed): 344,243 cycles serial.
  StationarySource Src;
  Src.Conv = true;
  Src.C = 16, Src.H = 64, Src.W = 256, Src.KH = 3, Src.KW = 3, Src.PH = Src.PW = 1, Src.OH = 64, Src.OW = 256;
  Src.KValid = 144;
  const StationarySource Pk = packOutputRows(Src, 4);
  TileSchedule Serial;
  Serial.K = TileSchedule::Ours;
  Serial.Serial = true;
  auto S = modelGemm(*Rtl, 32, 4096, 288, Serial, Pk);
  ASSERT_TRUE(bool(S));
  GemmCycles P = ours(*Rtl, 32, 4096, 288, Pk);
  std::printf("[tile model] UNet 16->8 3x3 conv, 4 rows packed, atalla-rtl: %llu cycles pipelined, %llu serial\n",
              (unsigned long long)P.Cycles, (unsigned long long)S->Cycles);
  EXPECT_EQ(S->Cycles, 344243u) << "the serial schedule is the one before pipelining";
  EXPECT_LT(P.Cycles, S->Cycles * 4 / 5);
  auto Name = parseTileSchedule("ours:serial");
  ASSERT_TRUE(bool(Name));
  EXPECT_TRUE(Name->Serial);
  EXPECT_EQ(Name->name(), "ours:serial");
}

TEST(TileModelTest, PaddedKIsNeverLoaded) {
  // K = 40 padded to two tiles: the second K step loads A's 8 valid columns
  // (16-byte rows) and B's 8 valid rows; the padding is zeros in the pad.
  const target::MachineDesc Mach = simTpu();
  StationarySource Src;
  Src.KValid = 40;
  GemmCycles G = ours(Mach, 32, 32, 64, Src);
  EXPECT_EQ(G.DramBytesLoaded, uint64_t(32 * 64 + 32 * 16) + uint64_t(32 * 64 + 8 * 64));
  GemmCycles Full = ours(Mach, 32, 32, 64, {});
  EXPECT_EQ(Full.DramBytesLoaded, uint64_t(4 * 32 * 64));
  EXPECT_EQ(G.TileProducts, Full.TileProducts);
  EXPECT_LE(G.Cycles, Full.Cycles);
}

TEST(TileModelTest, AConvolutionLoadsEachInputRowOncePerColumnShift) {
  // atalla-rtl: its pads hold all 128 pixel tiles in one block. The kernel
  // loads, per kw, the image's 64 rows shifted by kw - 1 (63, 64 and 63
  // columns inside the image), each in transfers of at most 32 columns,
  // plus the 8 weight rows of 9 values: 64 * (63 + 64 + 63) * 2 + 8 * 18
  // bytes. Its im2col matrix as tiles would be 128 tiles of 9 rows of 64
  // bytes, three times as many.
  auto Mach = target::machinePreset("atalla-rtl");
  ASSERT_TRUE(bool(Mach));
  const StationarySource Src = convOneChannel();
  GemmCycles Rows = ours(*Mach, 8, 4096, 32, Src);
  EXPECT_EQ(Rows.DramBytesLoaded, uint64_t(64 * (63 + 64 + 63) * 2 + 8 * 18));
  StationarySource Tiles;
  Tiles.KValid = 9;
  GemmCycles Im2col = ours(*Mach, 8, 4096, 32, Tiles);
  EXPECT_EQ(Im2col.DramBytesLoaded, uint64_t(128 * 9 * 64 + 8 * 18));
  EXPECT_EQ(Rows.TileProducts, Im2col.TileProducts);
  EXPECT_EQ(Rows.DramBytesStored, Im2col.DramBytesStored);
  EXPECT_LT(Rows.Cycles, Im2col.Cycles);
  // Two rows of the window (kh) in one K step share the input rows they
  // read: a 2x1 window over rows 0..63 loads 64 distinct rows (65 - 1
  // outside the image), not 2 x 64.
  StationarySource Tall = Src;
  Tall.KH = 2, Tall.KW = 1, Tall.PW = 0, Tall.KValid = 2, Tall.OH = 65;
  GemmCycles T = ours(*Mach, 8, 65 * 64, 32, Tall);
  EXPECT_EQ(T.DramBytesLoaded, uint64_t(64 * 64 * 2 + 8 * 4));
}

TEST(TileModelTest, PackedOutputRowsReadTheSameInputRows) {
  // Four output rows packed: the 3x3 window becomes 6 rows tall with row
  // stride 4 over 16 packed output rows, K = 1 x 6 x 3 = 18. The packed
  // convolution reads the same 64 input rows per kw (one copy of each),
  // streams 4 x 8 weight rows (of 18 values) past a quarter of the pixel
  // tiles, and costs fewer cycles than the unpacked one on atalla-rtl.
  const StationarySource Src = convOneChannel();
  const StationarySource P = packOutputRows(Src, 4);
  EXPECT_EQ(P.KH, 6);
  EXPECT_EQ(P.SH, 4);
  EXPECT_EQ(P.DH, 1);
  EXPECT_EQ(P.OH, 16);
  EXPECT_EQ(P.KValid, 18);
  EXPECT_TRUE(P.convFits(16 * 64, 18, 32));
  // Dilation 2 and row stride 2: four output rows span 3 x 2 + 2 x 2 + 1 = 11 input rows.
  StationarySource D = Src;
  D.DH = 2, D.SH = 2, D.OH = 31;
  const StationarySource PD = packOutputRows(D, 4);
  EXPECT_EQ(PD.KH, 11);
  EXPECT_EQ(PD.SH, 8);
  EXPECT_EQ(PD.OH, 8);
  auto Mach = target::machinePreset("atalla-rtl");
  ASSERT_TRUE(bool(Mach));
  GemmCycles One = ours(*Mach, 8, 4096, 32, Src), Four = ours(*Mach, 32, 1024, 32, P);
  EXPECT_EQ(Four.DramBytesLoaded - 32 * 36, One.DramBytesLoaded - 8 * 18); // the same input rows; the weights grow
  EXPECT_EQ(Four.TileProducts * 4, One.TileProducts);
  EXPECT_LT(Four.Cycles, One.Cycles);
  // The packings priced (rowPackings): P = 2 to 16 for 8 channels (at most
  // 128 streamed rows), only 2 for 40, none past OH, none for a plain GEMM.
  std::vector<RowPacking> Ps = rowPackings(Src, 8, 32);
  ASSERT_EQ(Ps.size(), 4u);
  for (size_t I = 0; I < Ps.size(); ++I) {
    EXPECT_EQ(Ps[I].P, int64_t(2) << I);
    EXPECT_EQ(Ps[I].M, Ps[I].P * 8);
    EXPECT_EQ(Ps[I].N, Ps[I].Src.OH * 64);
    EXPECT_EQ(Ps[I].KValid, Ps[I].Src.KValid);
  }
  EXPECT_EQ(Ps[1].Src.KH, P.KH);
  EXPECT_EQ(rowPackings(Src, 40, 32).size(), 1u);
  StationarySource Short = Src;
  Short.H = Short.OH = 2;
  EXPECT_EQ(rowPackings(Short, 8, 32).size(), 1u);
  EXPECT_TRUE(rowPackings(StationarySource(), 8, 32).empty());
}

TEST(TileModelTest, ConvolutionsThatDoNotMapAreOneLineErrors) {
  const target::MachineDesc Mach = simTpu();
  TileSchedule S;
  S.K = TileSchedule::Ours;
  StationarySource Narrow = convOneChannel();
  Narrow.W = 48, Narrow.OW = 48; // output rows of one and a half tiles
  auto G = modelGemm(Mach, 8, 64 * 48, 32, S, Narrow);
  ASSERT_FALSE(bool(G));
  EXPECT_EQ(llvm::toString(G.takeError()), "the convolution (C = 1, 3x3 window, 64x48 output) is not a 9 x 3072 "
                                           "GEMM with output rows of whole 32-column tiles");
  StationarySource Over = convOneChannel();
  Over.KValid = 33;
  auto G2 = modelGemm(Mach, 8, 4096, 32, S, Over);
  ASSERT_FALSE(bool(G2));
  EXPECT_EQ(llvm::toString(G2.takeError()), "K's valid extent 33 is not within the last of K = 32's tiles");
}
