//===- sim/Machine.h - the cycle model on a machine description -*- C++ -*-===//
//
// A target::MachineDesc says what Atalla the simulator stands for. The
// cycle model turns a kernel call's counted work (FLOPs from its KernelSpec,
// SDMA bytes and transfers and firmware calls from the device's counters)
// into modelled cycles on that machine: deterministic, and independent of
// the host's speed. The figures and their sources are in README.md beside
// this file.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SIM_MACHINE_H
#define ATALLA_SIM_MACHINE_H

#include "runtime/abi/KernelSpec.h"
#include "sim/Device.h"
#include "target/Machine.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::sim {

// The description itself lives in target/ (the compiler reads it too);
// these names keep it reachable from the simulator's namespace.
using target::MachineDesc;
using target::machinePresetNames;
using target::machinePreset;
using target::parseMachine;
using target::loadMachine;

/// The simulated device \p M needs (its pads; DRAM is sized by the runtime
/// from the blob).
DeviceConfig deviceConfig(const MachineDesc &M);

/// The counted device work of one kernel call (deltas of Device counters).
struct KernelCounters {
  uint64_t SdmaBytesIn = 0, SdmaBytesOut = 0;
  uint64_t SdmaTransfers = 0; ///< sdma_load + sdma_store calls
  uint64_t FirmwareCalls = 0; ///< every firmware call, SDMA included
};

/// A kernel call's modelled cycles. Compute (array then vector work) and
/// memory (SDMA) overlap, as a double-buffered kernel overlaps them; the
/// launch and the scratchpad calls do not.
struct KernelCost {
  double ArrayCycles = 0;  ///< the GEMM on the systolic array
  double VectorCycles = 0; ///< everything else, and the array's K accumulation
  double SdmaCycles = 0;   ///< bytes / DRAM bandwidth + per-transfer setup
  double FixedCycles = 0;  ///< launch + scratchpad firmware calls
  /// FixedCycles + max(Array + Vector, Sdma); for a GEMM priced by the tile
  /// model (TileModel), FixedCycles + Array + Vector + Sdma, the tile model
  /// having overlapped what the machine overlaps: Array is then its cycles
  /// with the array's pipeline busy, Sdma those spent waiting for DMA.
  double Cycles = 0;
  bool TileModel = false; ///< the GEMM ran on the tile model (TileModel.h)
  bool memoryBound() const { return SdmaCycles > ArrayCycles + VectorCycles; }
};

/// A GEMM (W.Batch > 0) is priced by the tile model: the compiler's
/// schedule ("ours") for its shape, rounded up to the array's tiles, run
/// cycle by cycle on \p M (TileModel.h; cached per machine and shape; a
/// problem of more than 64 Ki tile products is modelled on a slab of M and
/// scaled, the schedule streaming M), or as a GEMM on the vector core (C's
/// rows in vectors of the array's width, a multiply and an add per K step,
/// one operation at a time, the counted SDMA overlapped) where that is
/// cheaper: a GEMV, whose one streamed row leaves the array almost idle.
/// Other kernels, and every kernel on a machine with a non-square array, by
/// the roofline described above.
KernelCost estimateKernel(const MachineDesc &M, const abi::KernelWork &W, const KernelCounters &C);
/// A fallback call: its bytes over the host link plus the fixed latency.
/// The host's own compute time for the op is not modelled (it is not
/// Atalla's).
double estimateFallbackCycles(const MachineDesc &M, uint64_t BytesCopied);

} // namespace atalla::sim

#endif // ATALLA_SIM_MACHINE_H
