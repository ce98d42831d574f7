//===- reference/OneDnnPrimitive.h - a oneDNN primitive, prepared once -*- C++ -*-===//
//
// The benchmarks' side of the oneDNN reference: a primitive created once for
// a kernel spec on buffers the caller owns, then executed as often as timing
// needs, with the implementation oneDNN chose (brg:avx512_core, gemm:jit,
// ...) so that a benchmark can say what it measured against. runOneDnn
// (OneDnnKernels.h) is the one-shot form the tests use. oneDNN itself is
// included by reference/ alone (scripts/check_includes.sh).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_REFERENCE_ONEDNNPRIMITIVE_H
#define ATALLA_REFERENCE_ONEDNNPRIMITIVE_H

#include "runtime/abi/KernelSpec.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace atalla::reference {

class OneDnnPrimitive {
public:
  /// The element type of every operand: f32, or bf16 (uint16_t bit
  /// patterns) for oneDNN's bf16 primitives, which 2.6 has on CPUs with
  /// avx512_core only (elsewhere prepare() fails with oneDNN's message).
  enum class Data { F32, Bf16 };

  /// A primitive for \p Spec (gemm: matmul; softmax: softmax along
  /// Spec.Dim) reading Inputs[i] and writing Output, laid out as the
  /// spec's operands say (strides in elements). The buffers must outlive
  /// the primitive. Errors name the spec's key and carry oneDNN's message.
  static llvm::Expected<std::unique_ptr<OneDnnPrimitive>> prepare(const abi::KernelSpec &Spec, Data D,
                                                                  const std::vector<const void *> &Inputs,
                                                                  void *Output);
  ~OneDnnPrimitive();

  /// Runs the primitive and waits for it (one CPU engine and stream shared
  /// by every primitive; the thread count is OpenMP's).
  void execute();

  /// oneDNN's name for the implementation it chose ("brg:avx512_core").
  std::string implementation() const;

private:
  OneDnnPrimitive();
  struct Impl;
  std::unique_ptr<Impl> P;
};

/// "2.6.3": the oneDNN library loaded.
std::string oneDnnVersion();

/// Limits the instruction sets oneDNN may use to \p Isa ("avx2": AVX2 and
/// FMA, no AVX-512 or AMX; "all": no limit), as ONEDNN_MAX_CPU_ISA would.
/// Must come before the first primitive (oneDNN fixes its choice then);
/// errors name the ISA and oneDNN's reason.
llvm::Error limitOneDnnIsa(const std::string &Isa);

} // namespace atalla::reference

#endif // ATALLA_REFERENCE_ONEDNNPRIMITIVE_H
