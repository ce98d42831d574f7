//===- target/Machine.h - what Atalla a blob is built for -------*- C++ -*-===//
//
// A MachineDesc says what Atalla the compiler targets and the simulator
// stands for: its scratchpads (which bound the kernels' tiles and size the
// simulated device), its systolic array, vector length, DRAM bandwidth,
// clock and fixed latencies. The compiler reads it here without linking the
// simulator; the cycle model (sim/Machine.h) prices work on it. The figures
// and their sources are in src/sim/README.md.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TARGET_MACHINE_H
#define ATALLA_TARGET_MACHINE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::target {

/// One Atalla configuration. Field names match the JSON keys (snake_case
/// there); every field has the atalla-rtl preset's value by default.
struct MachineDesc {
  std::string Name = "atalla-rtl";
  uint32_t NumPads = 2;            ///< num_pads
  uint64_t PadBytes = 1ull << 20;  ///< pad_bytes
  uint32_t ArrayRows = 32;         ///< array_rows: the systolic array (weight-stationary)
  uint32_t ArrayCols = 32;         ///< array_cols
  uint32_t VectorLanes = 32;       ///< vector_lanes: the vector core's operations per cycle
  double DramBytesPerCycle = 32;   ///< dram_bytes_per_cycle: SDMA's DRAM bandwidth
  double ClockMHz = 800;           ///< clock_mhz: converts cycles to time in traces
  uint32_t WeightLoadCycles = 32;  ///< weight_load_cycles: filling the array with one weight tile
  uint32_t SdmaSetupCycles = 16;   ///< sdma_setup_cycles: per SDMA transfer, before its bytes move
  uint32_t KernelLaunchCycles = 100; ///< kernel_launch_cycles: per kernel call
  uint32_t FirmwareCallCycles = 20;  ///< firmware_call_cycles: per scratchpad alloc or free
  double HostLinkBytesPerCycle = 16; ///< host_link_bytes_per_cycle: fallback copies to and from the host
  uint32_t FallbackLatencyCycles = 20000; ///< fallback_latency_cycles: per fallback call

  // The tile-level machine (sim/TileModel.h): how atalla-sim moves and
  // computes tiles, cycle by cycle. Sources in src/sim/README.md.
  std::string ArrayKind = "meissa"; ///< array_kind: "tpu" (output latency + flush) or "meissa"
  uint32_t ElementBytes = 2;        ///< element_bytes: bytes of one element in DRAM and the pads (fp16/bf16)
  uint32_t DramBurstBytes = 32;     ///< dram_burst_bytes: one DRAM request
  uint32_t DramLatencyCycles = 24;  ///< dram_latency_cycles: from a burst's issue to its data
  uint32_t DramBurstsInFlight = 16; ///< dram_bursts_in_flight: outstanding bursts per SDMA backend
  uint32_t SpadQueueDepth = 4;      ///< spad_queue_depth: the scratchpad frontend's read and write queues
  uint32_t SpadAccessCycles = 11;   ///< spad_access_cycles: a vector load from a pad, issue to register
  uint32_t SpadStoreCycles = 12;    ///< spad_store_cycles: a vector store, issue to visible in the pad
  uint32_t ArrayOutputLatency = 46; ///< array_output_latency: an activation row in, its output row out
  uint32_t VectorAluLatency = 4;    ///< vector_alu_latency: add/mul/max, per pass of the lanes
  uint32_t VectorExpLatency = 14;   ///< vector_exp_latency
  uint32_t VectorDivLatency = 11;   ///< vector_div_latency
  uint32_t VectorSqrtLatency = 8;   ///< vector_sqrt_latency
  uint32_t VectorShiftLatency = 3;  ///< vector_shift_latency
  uint32_t TransposePushCycles = 4; ///< transpose_push_cycles: the transpose unit takes a row
  uint32_t TransposePopCycles = 4;  ///< transpose_pop_cycles: and gives a column

  /// The array's peak: 2 * rows * cols FLOP per cycle.
  double peakFlopsPerCycle() const { return 2.0 * ArrayRows * ArrayCols; }
  /// The description as JSON (the form parseMachine reads).
  std::string toJson() const;
};

/// The built-in presets: "atalla-rtl" (2 pads x 1 MiB, the RTL),
/// "atalla-sim4" (4 pads x 0.5 MiB, atalla-sim's newer design) and
/// "atalla-sim-tpu" (the configuration of atalla-sim's published GEMM runs:
/// TPU-style array, 2 pads, 4 vector lanes, DRAM latency 24, 32-byte bursts,
/// 16 in flight).
std::vector<std::string> machinePresetNames();
/// A preset by name; an error listing the presets otherwise.
llvm::Expected<MachineDesc> machinePreset(llvm::StringRef Name);
/// Reads a description from JSON text: an object whose keys are the fields
/// above, optionally "base" naming a preset to start from (default
/// atalla-rtl). Unknown keys, wrong types and out-of-range values are errors
/// naming the key; \p Where prefixes them (the file name).
llvm::Expected<MachineDesc> parseMachine(llvm::StringRef Json, llvm::StringRef Where);
/// A preset name, or else the path of a JSON description.
llvm::Expected<MachineDesc> loadMachine(llvm::StringRef NameOrPath);

} // namespace atalla::target

#endif // ATALLA_TARGET_MACHINE_H
