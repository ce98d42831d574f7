//===- driver/PerOp.h - each instruction alone on eager's inputs -*- C++ -*-===//
//
// The single-layer diagnosis of Glow's network debugger: every instruction of
// a blob runs alone on the values eager LibTorch computed for its inputs, so
// errors do not propagate, and each output is compared with eager's value
// under one Tolerance. atalla-run --per-op prints the rows; tests call it
// directly. The oneDNN column comes in as a callback: the driver does not
// include reference/ (scripts/check_includes.sh).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_DRIVER_PEROP_H
#define ATALLA_DRIVER_PEROP_H

#include "driver/Compare.h"
#include "frontend/TensorData.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/abi/KernelSpec.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atalla::driver {

/// A device tensor as the frontend's TensorData, and back.
frontend::TensorData toTensorData(const runtime::HostTensor &H);
runtime::HostTensor toHost(const frontend::TensorData &T);

/// A second reference for a kernel instruction: \p Spec run on the f32
/// inputs the device kernel read (dense buffers laid out as the spec's
/// operands say), its output as f32; an error where it has no form.
using KernelReference =
    std::function<llvm::Expected<std::vector<float>>(const abi::KernelSpec &Spec, const std::vector<const float *> &In)>;

enum class PerOpStatus { Ok, Mismatch, Error, NoEagerValue };

/// One instruction's row.
struct PerOpRow {
  uint32_t Index = 0;
  std::string Node;  ///< the graph node it lowers
  std::string Op;    ///< kernel name, or "aten op (fallback)"
  bool IsKernel = false;
  std::string Shape; ///< its outputs' dtypes and shapes
  PerOpStatus Status = PerOpStatus::Ok;
  bool Exact = false;   ///< compared element by element (no float32 output)
  size_t Differ = 0;    ///< Exact: elements that differ
  double MaxAbs = 0, MaxRel = 0, Norm = 0;
  std::string Why; ///< Mismatch or Error: what is wrong
  /// Normalised error of the first output against the KernelReference, if
  /// one was given and could run this kernel.
  std::optional<double> VersusReference;
};

struct PerOpReport {
  std::vector<PerOpRow> Rows;
  size_t Failed = 0, Unchecked = 0;
  /// "first node over tolerance: 'n' (instruction 3, gemm): why", if any.
  std::optional<std::string> First;
};

/// Runs every instruction of \p B alone on \p X, each input taken from
/// \p Eager (eager's values by graph name, as EagerInterpreter keeps them)
/// or, for tensors the lowering made, from what the producing instruction
/// computed on eager's inputs; compares under \p Tol. \p Reference may be
/// empty.
PerOpReport diagnosePerOp(const runtime::Blob &B, runtime::Executor &X,
                          const std::map<std::string, frontend::TensorData> &Eager, const Tolerance &Tol,
                          const KernelReference &Reference = {});

} // namespace atalla::driver

#endif // ATALLA_DRIVER_PEROP_H
