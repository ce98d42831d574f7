//===- tests/tools/CycleModelTest.cpp - the cycle model vs atalla-sim ------===//
//
// Holds the cycle model (sim/Machine.h) against the figures atalla-sim
// publishes for its MEISSA array (../shared/ATALLA.md): one 32x32 tile GEMM
// takes 1092 cycles end to end, a tiled 1024^3 GEMM 11.22 M cycles with the
// blocked m8_n32 schedule (about 21-23 M naive). The GEMMs are compiled by
// the real pipeline and run on the simulated device; the model turns their
// counted SDMA bytes and transfers into cycles. The test prints the ratios
// and checks what the model promises: the same cycles on every run and
// host, the array arithmetic exactly, and each figure on the side of the
// published one that the documented gap predicts (src/sim/README.md). To add a case: a GEMM
// shape and the published figure it is held to.
//
//===----------------------------------------------------------------------===//
#include "driver/Compile.h"
#include "TestSupport.h"

#include "codegen/BlobWriter.h"
#include "frontend/ModelBuilder.h"
#include "lower/Pipeline.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/Profile.h"
#include "sim/Machine.h"
#include "tools/ToolSupport.h"

#include <cstdio>

using namespace atalla;
using namespace atalla::frontend;

namespace {

struct Modelled {
  double Cycles = 0;
  runtime::InstructionProfile Gemm;
};

/// Compiles mm(a [M,K], b [K,N]) for machine \p Mach, runs it on the
/// simulated device twice and returns the modelled cycles (the same twice).
Modelled modelGemm(int64_t M, int64_t N, int64_t K, const sim::MachineDesc &Mach) {
  ModelBuilder B;
  std::string A = B.addUserInput("a", tools::randomTensor(ScalarType::Float32, {M, K}, 1));
  std::string Bm = B.addUserInput("b", tools::randomTensor(ScalarType::Float32, {K, N}, 2));
  B.addOutput(B.addNode("torch.ops.aten.mm.default",
                        {ModelBuilder::arg("self", Argument::tensor(A)), ModelBuilder::arg("mat2", Argument::tensor(Bm))},
                        ScalarType::Float32, {M, N}));
  Model Md = B.take();
  Modelled R;
  driver::CompileOptions CO;
  CO.Machine = Mach;
  auto Bytes = driver::compileModel(Md, CO);
  if (!Bytes) {
    ADD_FAILURE() << llvm::toString(Bytes.takeError());
    return R;
  }
  auto Blob = runtime::Blob::parse(std::move(Bytes->Blob), "gemm.atb");
  if (!Blob) {
    ADD_FAILURE() << llvm::toString(Blob.takeError());
    return R;
  }
  auto X = runtime::Executor::create(*Blob, sim::deviceConfig(Mach), nullptr);
  if (!X) {
    ADD_FAILURE() << llvm::toString(X.takeError());
    return R;
  }
  std::vector<runtime::HostTensor> In;
  for (const TensorData &T : Md.SampleInputs)
    In.push_back({static_cast<uint32_t>(T.Dtype), T.Sizes, T.contiguousBytes()});
  runtime::Profile Prof(*Blob, Mach);
  (*X)->setTrace([&](const runtime::TraceEvent &E) { Prof.add(E); });
  double First = -1;
  for (int Run = 0; Run < 2; ++Run) {
    auto Out = (*X)->run(In);
    if (!Out) {
      ADD_FAILURE() << llvm::toString(Out.takeError());
      return R;
    }
    if (Run == 0)
      First = Prof.totals().Cycles;
  }
  R.Cycles = Prof.totals().Cycles;
  EXPECT_EQ(R.Cycles, First) << "the model must give the same cycles on every run";
  EXPECT_EQ(Prof.instructions().size(), 1u);
  if (!Prof.instructions().empty())
    R.Gemm = Prof.instructions()[0];
  return R;
}

} // namespace

TEST(CycleModelTest, OneTileGemmAgainstAtallaSim) {
  const sim::MachineDesc Mach; // atalla-rtl: the 32x32 array
  Modelled G = modelGemm(32, 32, 32, Mach);
  const runtime::InstructionProfile &P = G.Gemm;
  // One weight tile: its load, 32 activation rows, fill and drain (32+32-2).
  EXPECT_EQ(P.Cost.ArrayCycles, 32 + 32 + 62);
  EXPECT_EQ(P.Work.ArrayFlops, 2.0 * 32 * 32 * 32);
  // fp32 A and B in, C out: 12 KiB, at 32 B/cycle.
  EXPECT_GE(P.Event.Work.SdmaBytesIn, 8192u);
  EXPECT_EQ(P.Event.Work.SdmaBytesOut, 4096u);
  const double Published = 1092, Ratio = G.Cycles / Published;
  std::printf("[cycle model] one 32x32x32 tile GEMM: %.0f modelled cycles (array %.0f, vector %.0f, SDMA %.0f, "
              "fixed %.0f) vs atalla-sim 1092: ratio %.3f\n",
              G.Cycles, P.Cost.ArrayCycles, P.Cost.VectorCycles, P.Cost.SdmaCycles, P.Cost.FixedCycles, Ratio);
  // atalla-sim spends 909 of its 1092 cycles preloading weights element by
  // element; the model loads a tile in WeightLoadCycles and moves fp32
  // bytes at the DRAM roof (README.md): within a factor of 3 either way.
  EXPECT_GT(Ratio, 1.0 / 3);
  EXPECT_LT(Ratio, 3.0);
}

TEST(CycleModelTest, TiledGemm1024AgainstAtallaSim) {
  const sim::MachineDesc Mach;
  Modelled G = modelGemm(1024, 1024, 1024, Mach);
  const runtime::InstructionProfile &P = G.Gemm;
  const double Blocked = 11.22e6, NaiveLo = 21.1e6, NaiveHi = 22.9e6;
  std::printf("[cycle model] 1024^3 GEMM: %.3f M modelled cycles (array %.3f M, vector %.3f M, SDMA %.3f M: "
              "%.1f MiB moved; %s-bound), %.1f flop/cycle\n",
              G.Cycles / 1e6, P.Cost.ArrayCycles / 1e6, P.Cost.VectorCycles / 1e6, P.Cost.SdmaCycles / 1e6,
              double(P.Event.Work.SdmaBytesIn + P.Event.Work.SdmaBytesOut) / (1 << 20),
              P.Cost.memoryBound() ? "memory" : "compute", P.Work.ArrayFlops / G.Cycles);
  std::printf("[cycle model]   vs atalla-sim blocked m8_n32 11.22 M: ratio %.3f; vs naive 21.1-22.9 M: ratio "
              "%.3f-%.3f\n",
              G.Cycles / Blocked, G.Cycles / NaiveHi, G.Cycles / NaiveLo);
  // The array alone: 32 x 32 weight tiles, each loaded once per 1024 rows.
  EXPECT_EQ(P.Cost.ArrayCycles, 32.0 * 32 * (32 + 1024 + 62));
  // The gap (src/sim/README.md): atalla-sim's blocked schedule is
  // bandwidth-bound at 191 flop/cycle, so it moves about 11.22 M cycles x
  // 32 B/cycle = 359 MB through DRAM; our GEMM blocks for 768 KiB of
  // scratchpad and moves far less, so the model puts it well under both
  // published schedules, but not below the array's own time.
  const double ImpliedBytes = Blocked * Mach.DramBytesPerCycle;
  const double Moved = double(P.Event.Work.SdmaBytesIn + P.Event.Work.SdmaBytesOut);
  std::printf("[cycle model]   DRAM traffic: %.0f MB moved vs about %.0f MB implied by atalla-sim's blocked figure "
              "(ratio %.3f)\n",
              Moved / 1e6, ImpliedBytes / 1e6, Moved / ImpliedBytes);
  EXPECT_LT(Moved, ImpliedBytes / 4);
  EXPECT_LT(G.Cycles, Blocked);
  EXPECT_GT(G.Cycles, P.Cost.ArrayCycles);
  EXPECT_GT(G.Cycles / Blocked, 0.1);
}

TEST(CycleModelTest, FasterDramMakesMemoryBoundKernelsFaster) {
  // The model is a function of the machine: the same GEMV on the sim4
  // preset's 64.94 B/cycle DRAM takes fewer cycles than on atalla-rtl's 32.
  auto Sim4 = sim::machinePreset("atalla-sim4");
  ASSERT_TRUE(bool(Sim4));
  Modelled Rtl = modelGemm(1, 1000, 2048, sim::MachineDesc());
  Modelled S4 = modelGemm(1, 1000, 2048, *Sim4);
  EXPECT_TRUE(Rtl.Gemm.Cost.memoryBound());
  EXPECT_LT(S4.Cycles, Rtl.Cycles);
  std::printf("[cycle model] GEMV 1x1000x2048: atalla-rtl %.0f cycles, atalla-sim4 %.0f cycles\n", Rtl.Cycles,
              S4.Cycles);
}
