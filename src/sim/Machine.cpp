//===- sim/Machine.cpp - the cycle model ---------------------------------===//
//
// The cycle model on a target::MachineDesc; the model is explained at
// estimateKernel, the sources of its figures in README.md.
//
//===----------------------------------------------------------------------===//
#include "sim/Machine.h"

#include <algorithm>
#include <cmath>

using namespace atalla;
using namespace atalla::sim;

DeviceConfig atalla::sim::deviceConfig(const MachineDesc &M) {
  DeviceConfig C;
  C.NumPads = M.NumPads;
  C.PadBytes = M.PadBytes;
  return C;
}

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
