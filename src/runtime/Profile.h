//===- runtime/Profile.h - counters, cycle model and traces of a run -*- C++ -*-===//
//
// Collects the executor's TraceEvents of one run of a blob and turns them
// into what atalla-run --counters, --report-json and --chrome-trace print:
// per instruction its FLOPs, SDMA bytes, firmware calls, scratchpad peak,
// fallback bytes and host time, and its modelled cycles on a MachineDesc
// (sim/Machine.h). Model figures are deterministic: the same blob gives the
// same cycles on any host.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_PROFILE_H
#define ATALLA_RUNTIME_PROFILE_H

#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "sim/Machine.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace atalla::runtime {

struct InstructionProfile {
  TraceEvent Event;
  std::string Label;      ///< the kernel or op and its input shapes: "gemm [4,8] [8,16]"
  abi::KernelWork Work;   ///< a kernel's FLOPs (none for a fallback call)
  sim::KernelCost Cost;   ///< a kernel's modelled cycles
  double Cycles = 0;      ///< modelled cycles of the instruction (kernel or fallback)
  double StartCycle = 0;  ///< when it starts in the modelled run
  double HostStartMs = 0; ///< when it started, host time since the run began
};

/// The calls of one kernel (by name: "gemm") or fallback op, summed.
struct KernelSummary {
  std::string Op;
  bool IsFallback = false;
  uint32_t Calls = 0;
  double Flops = 0, Cycles = 0, HostMs = 0;
  uint64_t SdmaBytes = 0, FallbackBytes = 0;
};

struct ProfileTotals {
  double Flops = 0, ArrayFlops = 0, Cycles = 0, HostMs = 0;
  uint64_t SdmaBytesIn = 0, SdmaBytesOut = 0, SdmaTransfers = 0, FirmwareCalls = 0, FallbackBytes = 0;
  uint32_t Kernels = 0, Fallbacks = 0;
  std::vector<uint64_t> ScpadPeak; ///< per pad, over the run
};

class Profile {
public:
  Profile(const Blob &B, sim::MachineDesc M);

  /// Records one executed instruction. Instruction 0 starts a new run: the
  /// profile keeps the latest complete run.
  void add(const TraceEvent &Ev);

  const sim::MachineDesc &machine() const { return M; }
  const std::vector<InstructionProfile> &instructions() const { return Rows; }
  ProfileTotals totals() const;
  /// Per kernel name and fallback op, by modelled cycles, most first.
  std::vector<KernelSummary> byKernel() const;

  /// The per-instruction table and totals, for a terminal.
  void printTable(llvm::raw_ostream &OS) const;
  /// The same as JSON: {"blob", "machine", "totals", "instructions": [...]}.
  void writeJson(llvm::raw_ostream &OS) const;
  /// Chrome trace JSON (chrome://tracing, Perfetto): process 1 is the
  /// modelled Atalla (tracks compute, SDMA, fallback; 1 us = ClockMHz
  /// cycles), process 2 the host's measured times (tracks compute,
  /// fallback); one slice per instruction, named by its Label.
  void writeChromeTrace(llvm::raw_ostream &OS) const;

private:
  const Blob &B;
  sim::MachineDesc M;
  std::vector<abi::KernelWork> KernelWork; ///< by kernel record
  std::vector<InstructionProfile> Rows;
};

} // namespace atalla::runtime

#endif // ATALLA_RUNTIME_PROFILE_H
