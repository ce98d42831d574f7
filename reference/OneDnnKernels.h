//===- reference/OneDnnKernels.h - oneDNN versions of every kernel -*- C++ -*-===//
//
// The oneDNN (2.6, v2 API) implementation of every kernel family of
// Kernels.def, used as the oracle of the kernel fuzz suite and as the
// baseline of the benchmarks. It reads the operands exactly as the generated
// kernel does (the spec's sizes and strides, stride 0 = broadcast) so both
// run on the same input buffers.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_REFERENCE_ONEDNNKERNELS_H
#define ATALLA_REFERENCE_ONEDNNKERNELS_H

#include "runtime/abi/KernelSpec.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace atalla::reference {

/// Runs \p Spec with oneDNN. Inputs[i] points at element [0, ..., 0] of input
/// operand i, laid out as Spec.Operands[i]'s sizes and strides say (strides in
/// elements; 0 broadcasts; any permutation). Returns the output dense and
/// row-major (Spec.output()'s shape). Errors, including oneDNN's, name the
/// spec's key. Runs on one CPU engine and stream shared by every call (not
/// thread-safe); the thread count is the environment's (OMP_NUM_THREADS).
/// Every operand must be f32.
llvm::Expected<std::vector<float>> runOneDnn(const abi::KernelSpec &Spec,
                                             const std::vector<const float *> &Inputs);

/// Any spec, operands of any element type: Inputs[i] points at element
/// [0, ..., 0] of input operand i in its element type (bool: one byte, 0 or
/// 1). Returns the output dense and row-major in its element type, as
/// bytes. For all-f32 specs it is runOneDnn. How each element type reaches
/// oneDNN (which has no 64-bit integers or booleans) is said in
/// OneDnnKernels.cpp.
llvm::Expected<std::vector<uint8_t>> runOneDnnTyped(const abi::KernelSpec &Spec,
                                                    const std::vector<const void *> &Inputs);

} // namespace atalla::reference

#endif // ATALLA_REFERENCE_ONEDNNKERNELS_H
