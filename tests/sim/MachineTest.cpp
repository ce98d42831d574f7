//===- tests/sim/MachineTest.cpp - machine descriptions and cycle model ---===//
//
// The presets, the JSON reader (every malformed description refused with
// one message naming the key), and the cycle model's arithmetic on work
// given by hand. To add a case: a line in the table of bad descriptions, or
// a KernelWork with the cycles worked out in the comment.
//
//===----------------------------------------------------------------------===//
#include "sim/Machine.h"
#include "sim/TileModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

using namespace atalla;
using namespace atalla::sim;

TEST(MachineTest, PresetsAreTheDocumentedMachines) {
  auto Rtl = machinePreset("atalla-rtl");
  ASSERT_TRUE(bool(Rtl)) << llvm::toString(Rtl.takeError());
  EXPECT_EQ(Rtl->NumPads, 2u);
  EXPECT_EQ(Rtl->PadBytes, 1u << 20);
  EXPECT_EQ(Rtl->peakFlopsPerCycle(), 2048);
  auto Sim4 = machinePreset("atalla-sim4");
  ASSERT_TRUE(bool(Sim4));
  EXPECT_EQ(Sim4->NumPads, 4u);
  EXPECT_EQ(Sim4->PadBytes, 512u << 10);
  EXPECT_EQ(deviceConfig(*Sim4).NumPads, 4u);
  EXPECT_EQ(deviceConfig(*Sim4).PadBytes, 512u << 10);
  auto Bad = machinePreset("atalla-xl");
  ASSERT_FALSE(bool(Bad));
  EXPECT_NE(llvm::toString(Bad.takeError()).find("presets: atalla-rtl, atalla-sim4"), std::string::npos);
}

TEST(MachineTest, JsonRoundTripsAndStartsFromABase) {
  auto Sim4 = machinePreset("atalla-sim4");
  ASSERT_TRUE(bool(Sim4));
  auto Back = parseMachine(Sim4->toJson(), "sim4.json");
  ASSERT_TRUE(bool(Back)) << llvm::toString(Back.takeError());
  EXPECT_EQ(Back->Name, "atalla-sim4");
  EXPECT_EQ(Back->toJson(), Sim4->toJson());
  auto Custom = parseMachine(R"({"base": "atalla-sim4", "name": "wide", "array_rows": 64, "array_cols": 64,
                                 "dram_bytes_per_cycle": 128})",
                             "wide.json");
  ASSERT_TRUE(bool(Custom)) << llvm::toString(Custom.takeError());
  EXPECT_EQ(Custom->Name, "wide");
  EXPECT_EQ(Custom->NumPads, 4u); // from the base
  EXPECT_EQ(Custom->peakFlopsPerCycle(), 2.0 * 64 * 64);
  EXPECT_EQ(Custom->DramBytesPerCycle, 128);
}

TEST(MachineTest, MalformedDescriptionsAreRefusedNamingTheKey) {
  struct Case {
    const char *Json, *Expect;
  };
  const Case Cases[] = {
      {"[1, 2]", "a machine description is a JSON object"},
      {"{\"num_pads\": 2,}", "not JSON"},
      {"{\"num_padz\": 2}", "unknown key \"num_padz\""},
      {"{\"num_pads\": \"two\"}", "\"num_pads\" must be a number"},
      {"{\"num_pads\": 0}", "\"num_pads\" is 0"},
      {"{\"num_pads\": 2.5}", "an integer"},
      {"{\"pad_bytes\": 100}", "\"pad_bytes\" is 100"},
      {"{\"pad_bytes\": 65537}", "multiple of 256"},
      {"{\"dram_bytes_per_cycle\": -1}", "\"dram_bytes_per_cycle\" is -1"},
      {"{\"clock_mhz\": 0}", "\"clock_mhz\" is 0"},
      {"{\"base\": \"atalla-xl\"}", "no machine preset 'atalla-xl'"},
      {"{\"base\": 3}", "\"base\" must be a preset name"},
      {"{\"name\": \"\"}", "\"name\" must be a non-empty string"},
      {"{\"array_rows\": 1e300}", "\"array_rows\" is"},
      {"{\"array_kind\": \"systolic\"}", "\"array_kind\" must be \"tpu\" or \"meissa\""},
      {"{\"array_kind\": 1}", "\"array_kind\" must be \"tpu\" or \"meissa\""},
      {"{\"dram_burst_bytes\": 0}", "\"dram_burst_bytes\" is 0"},
      {"{\"spad_queue_depth\": 0}", "\"spad_queue_depth\" is 0"},
      {"{\"vector_alu_latency\": 0.5}", "an integer"},
  };
  for (const Case &C : Cases) {
    auto M = parseMachine(C.Json, "m.json");
    ASSERT_FALSE(bool(M)) << C.Json;
    std::string Msg = llvm::toString(M.takeError());
    EXPECT_EQ(Msg.rfind("m.json: ", 0), 0u) << Msg;
    EXPECT_NE(Msg.find(C.Expect), std::string::npos) << C.Json << " -> " << Msg;
    EXPECT_EQ(Msg.find('\n'), std::string::npos) << Msg;
  }
}

TEST(MachineTest, LoadMachineTakesAPresetOrAFile) {
  auto Preset = loadMachine("atalla-sim4");
  ASSERT_TRUE(bool(Preset));
  EXPECT_EQ(Preset->Name, "atalla-sim4");
  auto Missing = loadMachine("/nonexistent/machine.json");
  ASSERT_FALSE(bool(Missing));
  EXPECT_NE(llvm::toString(Missing.takeError()).find("not a machine preset"), std::string::npos);
  std::string Path = ::testing::TempDir() + "/atalla-machine-test.json";
  {
    std::ofstream F(Path);
    F << R"({"name": "slow-dram", "dram_bytes_per_cycle": 8})";
  }
  auto File = loadMachine(Path);
  ASSERT_TRUE(bool(File)) << llvm::toString(File.takeError());
  EXPECT_EQ(File->Name, "slow-dram");
  EXPECT_EQ(File->DramBytesPerCycle, 8);
  EXPECT_EQ(File->NumPads, 2u); // atalla-rtl otherwise
  std::remove(Path.c_str());
}

TEST(MachineTest, CycleModelArithmetic) {
  // The roofline, on a machine the tile model cannot run (a 32x48 array:
  // the tile model needs a square one). A 64x96x80 GEMM: K tiles 3, N tiles
  // 2; each tile 32 + 64 + (32 + 48 - 2) = 174 cycles -> 6 * 174 = 1044
  // array cycles. The two extra K tiles add 2 * 64 * 96 partial sums on the
  // vector core, plus 64 * 96 bias adds: 18432 / 32 = 576.
  MachineDesc M; // 32 lanes, 32 B/cycle, setup 16, launch 100, firmware 20
  M.ArrayCols = 48;
  atalla::abi::KernelWork W;
  W.Batch = 1, W.M = 64, W.N = 96, W.K = 80;
  W.ArrayFlops = 2.0 * 64 * 96 * 80;
  W.Flops = W.ArrayFlops + 64 * 96;
  KernelCounters C;
  C.SdmaBytesIn = 64 * 80 * 4 + 80 * 96 * 4 + 96 * 4; // 51584
  C.SdmaBytesOut = 64 * 96 * 4;                       // 24576
  C.SdmaTransfers = 4;
  C.FirmwareCalls = 4 + 6; // 3 allocs, 3 frees
  KernelCost K = estimateKernel(M, W, C);
  EXPECT_FALSE(K.TileModel);
  EXPECT_EQ(K.ArrayCycles, 1044);
  EXPECT_EQ(K.VectorCycles, 576);
  EXPECT_EQ(K.SdmaCycles, (51584 + 24576) / 32 + 4 * 16); // 2380 + 64
  EXPECT_EQ(K.FixedCycles, 100 + 6 * 20);
  EXPECT_EQ(K.Cycles, 220 + 2444);
  EXPECT_TRUE(K.memoryBound());
  // The same work with bytes on a 4x faster DRAM is compute-bound.
  MachineDesc Fast = M;
  Fast.DramBytesPerCycle = 128;
  KernelCost F = estimateKernel(Fast, W, C);
  EXPECT_FALSE(F.memoryBound());
  EXPECT_EQ(F.Cycles, 220 + 1044 + 576);
  // Elementwise work: 1000 flops on 32 lanes is 32 cycles (rounded up).
  atalla::abi::KernelWork E;
  E.Flops = 1000;
  EXPECT_EQ(estimateKernel(M, E, KernelCounters()).VectorCycles, 32);
  // A fallback call: latency plus its bytes over the host link.
  EXPECT_EQ(estimateFallbackCycles(M, 1600), 20000 + 100);
}

TEST(MachineTest, GemmsArePricedByTheTileModel) {
  // On a square array a GEMM is the tile model's "ours" for its shape
  // rounded up to tiles (64x96x80 -> 64x96x96), or for the transposed
  // problem plus the transposes of its output tiles, whichever is cheaper;
  // the epilogue (64 * 96 bias adds on 32 lanes: 192 cycles) and the fixed
  // costs on top. The counted host SDMA bytes do not enter.
  const MachineDesc M;
  atalla::abi::KernelWork W;
  W.Batch = 3, W.M = 64, W.N = 96, W.K = 80;
  W.ArrayFlops = 2.0 * 3 * 64 * 96 * 80;
  W.Flops = W.ArrayFlops + 3 * 64 * 96;
  KernelCounters C;
  C.SdmaBytesIn = 1 << 30;
  C.SdmaTransfers = 4;
  C.FirmwareCalls = 4 + 6;
  KernelCost K = estimateKernel(M, W, C);
  EXPECT_TRUE(K.TileModel);
  TileSchedule Ours;
  Ours.K = TileSchedule::Ours;
  auto Direct = modelGemm(M, 64, 96, 96, Ours), Swapped = modelGemm(M, 96, 64, 96, Ours);
  ASSERT_TRUE(Direct && Swapped);
  const double Transposes = 2.0 * 3 * 32 * (M.TransposePushCycles + M.TransposePopCycles);
  const double One = std::min(double(Direct->Cycles), double(Swapped->Cycles) + Transposes);
  EXPECT_EQ(K.ArrayCycles + K.SdmaCycles, 3 * One);
  EXPECT_EQ(K.VectorCycles, 3 * 64 * 96 / 32);
  EXPECT_EQ(K.FixedCycles, 100 + 6 * 20);
  EXPECT_EQ(K.Cycles, K.FixedCycles + K.ArrayCycles + K.VectorCycles + K.SdmaCycles);
  // Deterministic, and the same again (the model is cached per shape).
  EXPECT_EQ(estimateKernel(M, W, C).Cycles, K.Cycles);
}

TEST(MachineTest, AGemvIsPricedOnTheVectorCoreWhereThatIsCheaper) {
  // The UNet's last 1x1 convolution: 8 channels into 1, 16384 pixels, 10
  // images. On the array each 32-pixel tile of the stationary side serves
  // one streamed row; on the vector core C's row is 512 vectors, each K
  // step a multiply and an add (4 cycles each on atalla-rtl's 32 lanes:
  // one pass plus the ALU's latency of 4, less one): 10 x 512 x 8 x 8 =
  // 327680 cycles, the bias (163840 adds on 32 lanes: 5120) on top, the
  // counted SDMA (5.9 MB: 184320 cycles) under it.
  const MachineDesc M;
  atalla::abi::KernelWork W;
  W.Batch = 10, W.M = 1, W.N = 16384, W.K = 8;
  W.ArrayFlops = 2.0 * 10 * 16384 * 8;
  W.Flops = W.ArrayFlops + 10 * 16384;
  KernelCounters C;
  C.SdmaBytesIn = 10 * (16384 * 8 * 4 + 8 * 4 + 4);
  C.SdmaBytesOut = 10 * 16384 * 4;
  C.SdmaTransfers = 40;
  C.FirmwareCalls = 40 + 2;
  KernelCost V = estimateKernel(M, W, C);
  EXPECT_FALSE(V.TileModel);
  EXPECT_EQ(V.ArrayCycles, 0);
  EXPECT_EQ(V.VectorCycles, 327680 + 5120);
  EXPECT_EQ(V.SdmaCycles, std::ceil(double(C.SdmaBytesIn + C.SdmaBytesOut) / 32) + 40 * 16);
  EXPECT_EQ(V.Cycles, 100 + 2 * 20 + 332800);
  // The array's price, with a vector core too slow to compete, is higher.
  MachineDesc Slow = M;
  Slow.VectorAluLatency = 1000;
  KernelCost T = estimateKernel(Slow, W, C);
  EXPECT_TRUE(T.TileModel);
  EXPECT_GT(T.ArrayCycles + T.SdmaCycles, V.VectorCycles);
  // A GEMM that keeps the array busy stays there (the 64 x 96 x 80 above).
  atalla::abi::KernelWork G;
  G.Batch = 1, G.M = 64, G.N = 96, G.K = 80;
  G.ArrayFlops = G.Flops = 2.0 * 64 * 96 * 80;
  EXPECT_TRUE(estimateKernel(M, G, KernelCounters()).TileModel);
}

TEST(MachineTest, AConvolutionWithFewOutputChannelsPacksOutputRows) {
  // The UNet's last 3x3 convolution (16 -> 8 channels, 64 x 256, padding 1):
  // priced as the cheapest of its input-rows mapping with 1, 2, 4 or 8
  // output rows packed (packOutputRows) and the swapped orientation; on
  // atalla-rtl four rows, as atalla-cycles conv prints.
  const MachineDesc M;
  atalla::abi::KernelWork W;
  W.Batch = 1, W.M = 8, W.N = 64 * 256, W.K = 144;
  W.ArrayFlops = W.Flops = 2.0 * 8 * 64 * 256 * 144;
  atalla::abi::KernelWork::ConvShape &Cv = W.Conv;
  Cv.C = 16, Cv.H = 64, Cv.W = 256, Cv.KH = 3, Cv.KW = 3, Cv.SH = 1, Cv.SW = 1, Cv.PH = 1, Cv.PW = 1, Cv.DH = 1,
  Cv.DW = 1, Cv.OH = 64, Cv.OW = 256;
  KernelCost K = estimateKernel(M, W, KernelCounters());
  ASSERT_TRUE(K.TileModel);
  StationarySource Src;
  Src.Conv = true, Src.KValid = 144;
  Src.C = 16, Src.H = 64, Src.W = 256, Src.KH = 3, Src.KW = 3, Src.SH = 1, Src.PH = 1, Src.PW = 1, Src.OH = 64,
  Src.OW = 256;
  TileSchedule Ours;
  Ours.K = TileSchedule::Ours;
  const StationarySource P4 = packOutputRows(Src, 4);
  auto One = modelGemm(M, 8, 16384, 160, Ours, Src), Four = modelGemm(M, 32, 4096, 288, Ours, P4);
  ASSERT_TRUE(One && Four);
  EXPECT_LT(Four->Cycles, One->Cycles);
  EXPECT_EQ(K.ArrayCycles + K.SdmaCycles, double(Four->Cycles));
}

TEST(MachineTest, LargeGemmsAreModelledOnASlabOfMAndScaled) {
  // 8192 x 1024 x 1024 is 256 x 32 x 32 = 262144 tile products, more than
  // the 64 Ki the model runs: it runs 64 row tiles (2048 rows) and scales
  // by 4. Streaming M is linear in M, so this is the 2048-row GEMM's cycles
  // times 4 (for the orientation the model picks: N is not the long side).
  const MachineDesc M;
  atalla::abi::KernelWork W;
  W.Batch = 1, W.M = 8192, W.N = 1024, W.K = 1024;
  W.ArrayFlops = W.Flops = 2.0 * 8192 * 1024 * 1024;
  KernelCost K = estimateKernel(M, W, KernelCounters());
  ASSERT_TRUE(K.TileModel);
  TileSchedule Ours;
  Ours.K = TileSchedule::Ours;
  auto Slab = modelGemm(M, 2048, 1024, 1024, Ours);
  ASSERT_TRUE(bool(Slab));
  EXPECT_EQ(K.ArrayCycles + K.SdmaCycles, 4.0 * double(Slab->Cycles));
}

TEST(MachineTest, KernelWorkCountsFlopsFromTheSpec) {
  atalla::abi::KernelSpec S;
  ASSERT_TRUE(atalla::abi::KernelSpec::parse("gemm f32 [2,4,8:32,8,1] [2,8,16:128,16,1] -> [2,4,16:64,16,1] relu", S));
  atalla::abi::KernelWork W = atalla::abi::kernelWork(S);
  EXPECT_EQ(W.Batch, 2);
  EXPECT_EQ(W.M, 4);
  EXPECT_EQ(W.N, 16);
  EXPECT_EQ(W.K, 8);
  EXPECT_EQ(W.ArrayFlops, 2.0 * 2 * 4 * 16 * 8);
  EXPECT_EQ(W.Flops, W.ArrayFlops + 2 * 4 * 16); // the relu epilogue
  ASSERT_TRUE(atalla::abi::KernelSpec::parse("softmax f32 [3,10:10,1] -> [3,10:10,1] dim=1", S));
  EXPECT_EQ(atalla::abi::kernelWork(S).Flops, 5 * 30);
  EXPECT_EQ(atalla::abi::kernelWork(S).ArrayFlops, 0);
  ASSERT_TRUE(atalla::abi::KernelSpec::parse("copy f32 [3,10:1,3] -> [3,10:10,1]", S));
  EXPECT_EQ(atalla::abi::kernelWork(S).Flops, 0);
}
