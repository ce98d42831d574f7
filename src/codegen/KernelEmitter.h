//===- codegen/KernelEmitter.h - kernel specialisations to objects -*- C++ -*-===//
//
// The code generator's entry points: LLVM IR for one kernel specialisation
// (every size and stride a constant, ABI as runtime/abi/KernelAbi.h), the
// optimisation pipeline, and a relocatable object for the blob's code
// section. Objects reference the four firmware services and nothing else.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_KERNELEMITTER_H
#define ATALLA_CODEGEN_KERNELEMITTER_H

#include "runtime/abi/KernelSpec.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atalla::codegen {

constexpr uint64_t DefaultPadBytes = 1ull << 20;
/// The smallest scratchpad kernels are generated for.
constexpr uint64_t MinPadBytes = 64ull << 10;
/// Upper bound on one kernel's scratchpad grants: three quarters of one pad,
/// so every grant fits one pad with room left.
constexpr uint64_t scratchpadBudget(uint64_t PadBytes) { return PadBytes / 4 * 3; }
/// The longest softmax row (elements) a kernel keeps in a scratchpad of
/// this size (one row buffer, plus room), and the longest layer-norm row
/// (row, weight and bias buffers). The lowering falls back beyond them.
constexpr int64_t maxSoftmaxRow(uint64_t PadBytes) { return int64_t((scratchpadBudget(PadBytes) - 4096) / 4); }
constexpr int64_t maxNormRow(uint64_t PadBytes) { return int64_t((scratchpadBudget(PadBytes) - 4096) / 12); }
/// Elements per chunk of a softmax row longer than maxSoftmaxRow (a
/// contiguous last dim: walked from DRAM in chunks), and whether a
/// scratchpad of this size holds a chunk.
constexpr int64_t SoftmaxChunk = 32768;
/// Floats the attention kernel may hold at once (its blocks shrink to fit):
/// its smallest blocks, one query row by 16 keys, need 33 E + 17 Ev + 50
/// for heads of E (q, k) and Ev (v) columns (EmitAttention.cpp).
constexpr int64_t attentionBudgetFloats(uint64_t PadBytes) {
  return int64_t((scratchpadBudget(PadBytes) - 10 * 256) / 4);
}
constexpr int64_t attentionMinFloats(int64_t E, int64_t Ev) { return 33 * E + 17 * Ev + 50; }
/// The Pool family's scratchpad for blocks of \p Rows output rows (floats):
/// the input rows their windows reach and those rows again with their
/// padding, a row of padding values and the output rows; and what its
/// budget leaves for them (less the depthwise weights and bias).
int64_t poolFloats(const abi::KernelSpec &Spec, int64_t Rows);
int64_t poolBudgetFloats(const abi::KernelSpec &Spec, uint64_t BudgetBytes);
/// adaptive_avg_pool2d's scratchpad (floats): one input plane and its
/// outputs; what its budget leaves for them.
int64_t adaptivePoolFloats(const abi::KernelSpec &Spec);
constexpr int64_t adaptivePoolBudgetFloats(uint64_t BudgetBytes) { return int64_t(BudgetBytes - 4 * 256) / 4; }
/// Whether \p Spec's kernel can be generated for pads of \p PadBytes: the
/// kernels whose least scratchpad grows with a dimension they do not tile
/// (attention's head width, a pool's image width) against it, every other
/// kernel true. The lowering asks before picking one (SelectOptions::
/// KernelFits), so such a node falls back instead of failing to compile.
bool kernelFits(const abi::KernelSpec &Spec, uint64_t PadBytes);
constexpr bool longSoftmaxRows(uint64_t PadBytes) {
  return scratchpadBudget(PadBytes) >= uint64_t(SoftmaxChunk) * 4 + 4096;
}
/// Floats a conv2d kernel's buffers may take (its plan's budget, less the
/// alignment of its buffers and a bias column of up to 384 rows).
constexpr int64_t convBudgetFloats(uint64_t PadBytes) {
  return int64_t((scratchpadBudget(PadBytes) - 7 * 256) / 4) - 384;
}

/// The x86 vector ISA a kernel's register blocking is made for.
enum class VectorIsa {
  Auto,   ///< from the target: Avx512 where it has avx512f, else Avx2
  Avx2,   ///< 256-bit vectors, 16 registers
  Avx512, ///< 512-bit vectors, 32 registers (split in two on a 256-bit target)
};

struct CodegenOptions {
  std::string TargetCPU; ///< "" = the host CPU (sys::getHostCPUName)
  /// Changes ("+f,-g") to the host CPU's features when TargetCPU is "",
  /// else to that CPU's own; "" = none.
  std::string Features;
  /// Auto in use; the tests force each blocking on any host.
  VectorIsa Isa = VectorIsa::Auto;
  unsigned OptLevel = 3; ///< 0..3
  /// The scratchpad size of the machine the kernels will run on (the
  /// atalla-rtl preset's 1 MiB by default): kernels size their tiles to it.
  uint64_t PadBytes = DefaultPadBytes;
};

struct CompiledKernel {
  std::string Symbol;
  std::vector<uint8_t> Object; ///< relocatable ELF for the host triple
  double IrMs = 0, OptMs = 0, CodegenMs = 0;
};

/// The IR module for one specialisation: one function named Spec.symbol(),
/// verified. Errors name the spec's key.
/// \p PadBytes is the target machine's scratchpad size: a kernel holds at
/// most three quarters of one pad and picks its tiles to fit.
/// \p Isa (Avx2 or Avx512; Auto means Avx2 here) picks the register blocking.
/// \p Bf16Dot: the target has AMX-BF16; bf16 GEMMs then multiply whole
/// 32 x 32 blocks on the tile unit (with the Avx512 blocking only).
llvm::Expected<std::unique_ptr<llvm::Module>> emitKernelModule(const abi::KernelSpec &Spec,
                                                               llvm::LLVMContext &Ctx,
                                                               uint64_t PadBytes = DefaultPadBytes,
                                                               VectorIsa Isa = VectorIsa::Avx2, bool Bf16Dot = false);

/// Emits, optimises (new pass manager, O-level from the options) and compiles
/// to an object for the target. Same spec and options -> same bytes.
llvm::Expected<CompiledKernel> compileKernel(const abi::KernelSpec &Spec,
                                             const CodegenOptions &Opts);

/// Textual IR (Assembly = false) or assembly after optimisation.
llvm::Expected<std::string> kernelText(const abi::KernelSpec &Spec, const CodegenOptions &Opts,
                                       bool Assembly);

/// The triple and CPU/features actually used (recorded in blob provenance).
std::string targetTriple();
std::string resolvedCPU(const CodegenOptions &Opts);
/// The features passed to LLVM: the host's when the CPU is the host's (else
/// none: the CPU model's own), then Opts.Features.
std::string resolvedFeatures(const CodegenOptions &Opts);
/// The ISA features the generated code may use ("+avx,+avx2,+fma,..."),
/// sorted: every feature the target (CPU model and features) enables. A
/// blob records them; a host lacking one refuses the blob.
llvm::Expected<std::string> enabledFeatures(const CodegenOptions &Opts);
/// Whether LLVM can generate code for \p Opts' CPU and features: an error
/// naming an unknown CPU or feature, or an optimisation level beyond 3.
llvm::Error checkTarget(const CodegenOptions &Opts);
/// What VectorIsa::Auto means for \p Opts' target.
llvm::Expected<VectorIsa> resolvedIsa(const CodegenOptions &Opts);

} // namespace atalla::codegen

#endif // ATALLA_CODEGEN_KERNELEMITTER_H
