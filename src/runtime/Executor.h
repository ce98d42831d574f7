//===- runtime/Executor.h - run a validated blob on the device ---*- C++ -*-===//
//
// Loads a blob's kernels into the simulated device (every symbol resolved up
// front, so a kernel needing anything but the firmware is refused before a
// run starts), then runs its program: inputs and constants into DRAM, the
// instructions in order (kernels on the device, fallback calls through a
// FallbackHandler on tensors copied out of and back into DRAM, counted), and
// the outputs back. LibTorch stays behind FallbackHandler (runtime/fallback).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_EXECUTOR_H
#define ATALLA_RUNTIME_EXECUTOR_H

#include "runtime/Blob.h"
#include "runtime/abi/KernelAbi.h"
#include "sim/CodeLoader.h"
#include "sim/Device.h"
#include "sim/Machine.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atalla::runtime {

/// A host tensor: contiguous, row-major, little-endian bytes.
struct HostTensor {
  uint32_t DType = 7; ///< export-schema ScalarType number (7 = float32)
  std::vector<int64_t> Sizes;
  std::vector<uint8_t> Bytes;

  uint64_t numel() const;
};

/// Runs the blob's ATen fallback calls (runtime/fallback/AtenFallback.h).
class FallbackHandler {
public:
  virtual ~FallbackHandler();
  /// Runs fallback call \p CallIndex of \p B on \p Inputs (the instruction's
  /// input operands, in order) and returns one tensor per output record.
  virtual llvm::Expected<std::vector<HostTensor>> call(const Blob &B, uint32_t CallIndex,
                                                       const std::vector<HostTensor> &Inputs,
                                                       const std::vector<const abi::TensorRecord *> &OutputRecords) = 0;
};

/// One executed instruction, for --trace and profiling.
struct TraceEvent {
  uint32_t Index = 0;
  bool IsFallback = false;
  std::string Node;
  std::string Op; ///< kernel name ("gemm") or ATen op ("aten::add.Tensor")
  std::vector<std::vector<int64_t>> InputShapes;
  double Ms = 0; ///< host wall time of the instruction
  /// A kernel's record index (UINT32_MAX for a fallback call).
  uint32_t Kernel = UINT32_MAX;
  /// What a kernel call did on the device (deltas of the device's counters).
  sim::KernelCounters Work;
  std::vector<uint64_t> ScpadPeak; ///< bytes per pad at the call's peak
  uint64_t FallbackBytes = 0;      ///< a fallback call's bytes copied out and back
};

/// The ISA features the blob's code may use (its provenance's
/// target_features, "+f" entries) that this host's CPU lacks, sorted; empty
/// when it has them all or the blob records none. Only features the host
/// reports on count (tuning flags are no capability).
std::vector<std::string> missingCpuFeatures(const Blob &B);

class Executor {
public:
  /// Prepares \p B (which must outlive the executor) for running: refused
  /// first, with one message naming them, if its code needs CPU features
  /// this host lacks (missingCpuFeatures; running it would die of an illegal
  /// instruction); DRAM sized from the blob (Config.DramBytes is
  /// overridden), every kernel object added and every kernel symbol looked
  /// up. \p Fallback may be null; a
  /// fallback instruction is then an error naming the op.
  static llvm::Expected<std::unique_ptr<Executor>> create(const Blob &B, sim::DeviceConfig Config,
                                                          FallbackHandler *Fallback);
  ~Executor();

  /// Runs the program once on \p Inputs (ordered as the blob's user inputs)
  /// and returns the user outputs. The first run places the blob: DRAM
  /// zeroed, the constants (weights) written. Later runs keep them resident,
  /// as a device keeps a loaded model's weights between inferences, and
  /// write only the inputs, unless the program writes into a constant's
  /// bytes or the last run failed (then the run places the blob again). Every value a run reads
  /// is written earlier in the same run, so runs give the same bits
  /// whatever ran before (tests/tools/EndToEndTest checks it).
  llvm::Expected<std::vector<HostTensor>> run(const std::vector<HostTensor> &Inputs);

  /// Single-layer mode (per-op diagnosis): runs only instruction \p Index on
  /// a reset device and returns its outputs (one per output operand). The
  /// blob's constants are placed as in run(); every other input operand is
  /// written from ValueOf(tensor index), through the record's strides. When
  /// ValueOf has no value for a view operand, the value of the tensor the
  /// view aliases (viewBase) is written instead; a view of a constant needs
  /// none. An operand left without a value, or a value of the wrong dtype or
  /// shape, is an error naming it.
  using ValueFn = std::function<const HostTensor *(uint32_t TensorIndex)>;
  llvm::Expected<std::vector<HostTensor>> runInstruction(uint32_t Index, const ValueFn &ValueOf);

  /// The non-view tensor whose storage view \p View holds when instruction
  /// \p Index runs: the last earlier output operand covering the view's
  /// bytes, else an input or constant record covering them. The blob does
  /// not record a view's base; this is recovered from the memory plan.
  std::optional<uint32_t> viewBase(uint32_t Index, uint32_t View) const;

  void setTrace(std::function<void(const TraceEvent &)> Fn) { Trace = std::move(Fn); }
  sim::Device &device() { return *Dev; }
  /// Bytes copied between DRAM and the host for fallback calls, all runs.
  uint64_t fallbackBytes() const { return FallbackBytes; }

private:
  Executor(const Blob &B) : B(B) {}
  llvm::Error fail(const llvm::Twine &Msg) const;
  llvm::Expected<HostTensor> readTensor(const abi::TensorRecord &R);
  llvm::Error writeTensor(const abi::TensorRecord &R, const HostTensor &T);
  llvm::Error runKernel(uint32_t I, TraceEvent &Ev);
  llvm::Error runFallback(uint32_t I, TraceEvent &Ev);

  const Blob &B;
  std::unique_ptr<sim::Device> Dev;
  std::unique_ptr<sim::CodeLoader> Loader;
  std::vector<abi::KernelFn> Fns; ///< by kernel record
  FallbackHandler *Fallback = nullptr;
  std::function<void(const TraceEvent &)> Trace;
  uint64_t FallbackBytes = 0;
  bool Placed = false;          ///< DRAM holds the zeroed layout and the constants
  bool WritesConstants = false; ///< some instruction's output overlaps a constant
};

/// "kernel returned 2 (SDMA transfer outside DRAM)" text for a status.
const char *kernelStatusText(int32_t Status);

} // namespace atalla::runtime

#endif // ATALLA_RUNTIME_EXECUTOR_H
