//===- sim/Machine.cpp - the cycle model ---------------------------------===//
//
// The cycle model on a target::MachineDesc; the model is explained at
// estimateKernel, the sources of its figures in README.md.
//
//===----------------------------------------------------------------------===//
#include "sim/Machine.h"
#include "sim/TileModel.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

using namespace atalla;
using namespace atalla::sim;

DeviceConfig atalla::sim::deviceConfig(const MachineDesc &M) {
  DeviceConfig C;
  C.NumPads = M.NumPads;
  C.PadBytes = M.PadBytes;
  return C;
}

namespace {

/// The tile model's "ours" on one GEMM of M x N x K (multiples of the
/// array's size) whose stationary operand comes in as \p Src says, cached:
/// a profile prices every call, and a model repeats its shapes.
const GemmCycles *tileGemm(const MachineDesc &Mach, int64_t M, int64_t N, int64_t K, const StationarySource &Src) {
  static std::mutex Lock;
  static std::map<std::tuple<std::string, int64_t, int64_t, int64_t, std::string>, GemmCycles> Cache;
  auto Key = std::make_tuple(Mach.toJson(), M, N, K, Src.key());
  std::lock_guard<std::mutex> G(Lock);
  auto It = Cache.find(Key);
  if (It != Cache.end())
    return &It->second;
  TileSchedule S;
  S.K = TileSchedule::Ours;
  auto R = modelGemm(Mach, M, N, K, S, Src);
  if (!R) {
    llvm::consumeError(R.takeError());
    return nullptr;
  }
  return &Cache.emplace(Key, *R).first->second;
}

/// The tile model's cycles for M x N x K (N and K multiples of the array's
/// size; M, the streamed rows, any count): a slab of M when the problem
/// exceeds 64 Ki tile products (the schedule streams M past resident
/// weights, so its cycles grow linearly in M), scaled; the waits for DMA
/// separately.
bool oursCycles(const MachineDesc &Mach, int64_t M, int64_t N, int64_t K, const StationarySource &Src, double &Total,
                double &Wait) {
  const int64_t T = Mach.ArrayRows;
  constexpr double MaxProducts = 65536;
  double Scale = 1;
  const double PerRowTile = double(N / T) * double(K / T);
  const int64_t RowTiles = (M + T - 1) / T;
  if (double(RowTiles) * PerRowTile > MaxProducts) {
    const int64_t Tiles = std::max<int64_t>(1, int64_t(MaxProducts / PerRowTile));
    if (Tiles < RowTiles) {
      Scale = double(M) / double(Tiles * T);
      M = Tiles * T;
    }
  }
  const GemmCycles *G = tileGemm(Mach, M, N, K, Src);
  if (!G)
    return false;
  Total = Scale * double(G->Cycles);
  Wait = Scale * double(G->Phases.Preload + G->Phases.Drain);
  return true;
}

/// A GEMM's cost on the tile model, or false where the model does not
/// apply. The array holds one operand and streams the other's rows, so the
/// compiler may stream either: C (M x N) directly, or C^T = B^T A^T with N
/// streamed, when N is the long side (a convolution's output pixels); the
/// latter's output tiles come out transposed and go through the vector
/// core's transpose unit (a row pushed, a column popped per row of each
/// tile, serial with the rest: an upper bound). The cheaper is taken. The
/// stationary side is padded to whole tiles (the array's width), the
/// padding never loaded; the streamed side moves only its rows. A
/// convolution with unit column stride and output rows of whole tiles
/// streams its weights past its input's rows (StationarySource::Conv), as
/// its kernel reads them, with P output rows packed where that is cheaper
/// (packOutputRows); any other streams its im2col matrix's tiles from
/// DRAM (an upper bound: the kernel builds them in the pad). Streaming a
/// convolution's pixels instead also transposes its input.
bool tileModelCost(const MachineDesc &Mach, const abi::KernelWork &W, KernelCost &K) {
  if (Mach.ArrayRows != Mach.ArrayCols || W.Batch <= 0 || W.M <= 0 || W.N <= 0 || W.K <= 0)
    return false;
  const int64_t T = Mach.ArrayRows;
  auto Up = [&](int64_t V) { return (V + T - 1) / T * T; };
  const int64_t M = Up(W.M), N = Up(W.N), Kd = Up(W.K);
  StationarySource Plain;
  Plain.KValid = W.K;
  StationarySource Src = Plain;
  const abi::KernelWork::ConvShape &Cv = W.Conv;
  Src.C = Cv.C, Src.H = Cv.H, Src.W = Cv.W, Src.KH = Cv.KH, Src.KW = Cv.KW, Src.SH = Cv.SH, Src.PH = Cv.PH;
  Src.PW = Cv.PW, Src.DH = Cv.DH, Src.DW = Cv.DW, Src.OH = Cv.OH, Src.OW = Cv.OW;
  Src.Conv = Cv.SW == 1 && Src.convFits(W.N, W.K, T);
  if (!Src.Conv)
    Src = Plain;
  double Total = 0, Wait = 0;
  if (!oursCycles(Mach, W.M, N, Kd, Src, Total, Wait))
    return false;
  // Output rows packed (rowPackings): the cheapest P, 1 included.
  for (const RowPacking &Pk : rowPackings(Src, W.M, T)) {
    double PTotal = 0, PWait = 0;
    if (oursCycles(Mach, Pk.M, Up(Pk.N), Up(Pk.KValid), Pk.Src, PTotal, PWait) && PTotal < Total) {
      Total = PTotal;
      Wait = PWait;
    }
  }
  double TTotal = 0, TWait = 0;
  if (N > M && oursCycles(Mach, W.N, M, Kd, Plain, TTotal, TWait)) {
    double Transposes =
        double(M / T) * double(N / T) * double(T) * double(Mach.TransposePushCycles + Mach.TransposePopCycles);
    // A convolution's streamed rows are pixels' (c, kh, kw) values, and
    // its input is stored channel-major: each block of up to T channels by
    // T columns of an input row goes through the transpose unit once (its
    // channels pushed, its columns popped), at the least.
    if (Cv.C > 0 && Cv.H > 0 && Cv.W > 0)
      for (int64_t C0 = 0; C0 < Cv.C; C0 += T)
        Transposes += double(Cv.H) * double((Cv.W + T - 1) / T) *
                      double(std::min(T, Cv.C - C0) * Mach.TransposePushCycles + T * Mach.TransposePopCycles);
    if (TTotal + Transposes < Total) {
      Total = TTotal + Transposes;
      Wait = TWait;
    }
  }
  K.TileModel = true;
  K.SdmaCycles = double(W.Batch) * Wait;
  K.ArrayCycles = double(W.Batch) * (Total - Wait);
  return true;
}

} // namespace

// The model. A GEMM runs on the weight-stationary array one weight tile
// (ArrayRows of K by ArrayCols of N) at a time: the tile is loaded
// (WeightLoadCycles), the M activation rows stream through, and the
// pipeline fills and drains (rows + cols - 2 cycles). The array has no
// partial-sum input (ATALLA.md), so every K tile after the first costs the
// vector core an add per output element. Other kernels run on the vector
// core at VectorLanes operations per cycle. SDMA moves the counted bytes at
// the DRAM bandwidth, each transfer paying its setup. Compute and SDMA
// overlap; the launch and the scratchpad calls (firmware calls that are not
// SDMA) are serial.
KernelCost atalla::sim::estimateKernel(const MachineDesc &M, const abi::KernelWork &W, const KernelCounters &C) {
  KernelCost K;
  const uint64_t ScpadCallsT = C.FirmwareCalls > C.SdmaTransfers ? C.FirmwareCalls - C.SdmaTransfers : 0;
  if (tileModelCost(M, W, K)) {
    // The epilogue (bias, activation) on the vector core, per output element.
    K.VectorCycles = std::ceil(std::max(0.0, W.Flops - W.ArrayFlops) / M.VectorLanes);
    K.FixedCycles = double(M.KernelLaunchCycles) + double(ScpadCallsT) * M.FirmwareCallCycles;
    K.Cycles = K.FixedCycles + K.ArrayCycles + K.VectorCycles + K.SdmaCycles;
    // Or the whole GEMM on the vector core, where that is cheaper (a GEMV:
    // one streamed row leaves the array's 32 x 32 almost idle). C's rows
    // go in vectors of the array's width; each K step multiplies B's row
    // chunk by a(m, k) and adds it to the accumulator: two operations, one
    // at a time (vectorOpCycles: the tile model's datapath, no fused
    // multiply-add assumed); the epilogue as above; the counted SDMA bytes
    // overlapped, as for every vector kernel.
    auto Mul = vectorOpCycles(M, "mul"), Add = vectorOpCycles(M, "add");
    if (!Mul || !Add) {
      llvm::consumeError(Mul.takeError());
      llvm::consumeError(Add.takeError());
      return K;
    }
    KernelCost V;
    V.VectorCycles = double(W.Batch) * double(W.M) * double((W.N + M.ArrayCols - 1) / M.ArrayCols) * double(W.K) *
                         double(*Mul + *Add) +
                     K.VectorCycles;
    V.SdmaCycles = std::ceil(double(C.SdmaBytesIn + C.SdmaBytesOut) / M.DramBytesPerCycle) +
                   double(C.SdmaTransfers) * M.SdmaSetupCycles;
    V.FixedCycles = K.FixedCycles;
    V.Cycles = V.FixedCycles + std::max(V.VectorCycles, V.SdmaCycles);
    return V.Cycles < K.Cycles ? V : K;
  }
  auto Ceil = [](int64_t A, int64_t B) { return double((A + B - 1) / B); };
  double VectorFlops = std::max(0.0, W.Flops - W.ArrayFlops);
  if (W.Batch > 0 && W.M > 0 && W.N > 0 && W.K > 0) {
    const double KTiles = Ceil(W.K, M.ArrayRows), NTiles = Ceil(W.N, M.ArrayCols);
    K.ArrayCycles = double(W.Batch) * KTiles * NTiles *
                    (double(M.WeightLoadCycles) + double(W.M) + double(M.ArrayRows + M.ArrayCols - 2));
    VectorFlops += double(W.Batch) * (KTiles - 1) * double(W.M) * double(W.N);
  }
  K.VectorCycles = std::ceil(VectorFlops / M.VectorLanes);
  K.SdmaCycles = std::ceil(double(C.SdmaBytesIn + C.SdmaBytesOut) / M.DramBytesPerCycle) +
                 double(C.SdmaTransfers) * M.SdmaSetupCycles;
  const uint64_t ScpadCalls = C.FirmwareCalls > C.SdmaTransfers ? C.FirmwareCalls - C.SdmaTransfers : 0;
  K.FixedCycles = double(M.KernelLaunchCycles) + double(ScpadCalls) * M.FirmwareCallCycles;
  K.Cycles = K.FixedCycles + std::max(K.ArrayCycles + K.VectorCycles, K.SdmaCycles);
  return K;
}

double atalla::sim::estimateFallbackCycles(const MachineDesc &M, uint64_t BytesCopied) {
  return double(M.FallbackLatencyCycles) + std::ceil(double(BytesCopied) / M.HostLinkBytesPerCycle);
}
