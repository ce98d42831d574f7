//===- codegen/EmitterSupport.h - shared IR building blocks -----*- C++ -*-===//
//
// Internal to src/codegen: what every family emitter needs. KernelBuilder owns
// the kernel function (ABI of runtime/abi/KernelAbi.h), the firmware service
// declarations, scratchpad grants with their one cleanup path, checked SDMA
// transfers, counted loops, and the inline polynomial exp. Family emitters
// (EmitGemm.cpp, EmitElementwise.cpp, EmitSoftmax.cpp) only describe loops
// and transfers on top of it.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_EMITTERSUPPORT_H
#define ATALLA_CODEGEN_EMITTERSUPPORT_H

#include "codegen/KernelEmitter.h"
#include "runtime/abi/KernelSpec.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace atalla::codegen::detail {

/// Alignment the firmware guarantees and the kernels ask for.
constexpr uint64_t ScratchpadAlign = 256;

/// Builds one kernel function `i32 Symbol(ptr Ctx, ptr Args)`.
///
/// Grants live in stack slots initialised to null, so the single cleanup
/// block can free all of them whichever exit path reaches it (freeing null
/// is a no-op). Every failure stores its status and branches to cleanup;
/// finish() stores 0 and branches there from the success path.
class KernelBuilder {
public:
  KernelBuilder(llvm::Module &M, llvm::StringRef Symbol, uint64_t Budget, VectorIsa Isa = VectorIsa::Avx2);

  /// Bytes of scratchpad this kernel may hold at once (codegen::scratchpadBudget).
  const uint64_t Budget;
  /// The register blocking's ISA (Avx2 or Avx512).
  const VectorIsa Isa;
  /// The target has AMX-BF16 (tile loads and tdpbf16ps).
  bool Bf16Dot = false;

  llvm::LLVMContext &Ctx;
  llvm::Module &M;
  llvm::Function *F = nullptr;
  llvm::IRBuilder<> B;

  llvm::Type *I32, *I64, *F32, *Ptr;

  llvm::Value *i64(uint64_t V) { return B.getInt64(V); }
  llvm::Value *i32(uint32_t V) { return B.getInt32(V); }
  llvm::Value *f32(float V);

  /// Device address (byte offset) of operand \p I: load i64 Args[I]; for an
  /// operand stored as bf16 (Bf16Operands), its address in the SDMA
  /// engine's bf16 aperture, where it reads and writes as f32 (KernelAbi.h).
  llvm::Value *operandAddr(unsigned I);
  /// Device address of operand \p I as stored: for a bf16 operand, its bf16
  /// bytes themselves (element e at + 2 e), which an SDMA transfer moves
  /// unconverted.
  llvm::Value *rawOperandAddr(unsigned I);
  /// Per operand: whether it lives in DRAM as bf16 (KernelSpec::storedAsBf16).
  std::vector<bool> Bf16Operands;

  /// Grants \p Bytes of scratchpad (null-checked: ENOMEM exit). Returns the
  /// buffer pointer. Emit grants before any loop so the cleanup sees them.
  llvm::Value *alloc(uint64_t Bytes, const llvm::Twine &Name);

  /// Checked SDMA transfers (nonzero status: exit with it). Rows and RowBytes
  /// are i32 or i64 (truncated), Stride i64, DramAddr i64 bytes.
  void sdmaLoad(llvm::Value *ScpadDst, llvm::Value *DramAddr, llvm::Value *Rows,
                llvm::Value *RowBytes, llvm::Value *StrideBytes);
  void sdmaStore(llvm::Value *DramAddr, llvm::Value *ScpadSrc, llvm::Value *Rows,
                 llvm::Value *RowBytes, llvm::Value *StrideBytes);

  /// for (IV = Lo; IV < Hi; ++IV) Body(IV); i64, Hi evaluated once.
  /// Parallel: the caller promises the iterations touch disjoint memory (the
  /// body's loads and stores join an access group named by
  /// llvm.loop.parallel_accesses), so the vectoriser needs no overlap checks.
  /// Rolled: never unrolled (a nest of short constant loops would otherwise
  /// become one block of thousands of instructions, which the machine
  /// scheduler handles in quadratic time).
  void forLoop(llvm::Value *Lo, llvm::Value *Hi, const llvm::Twine &Name,
               const std::function<void(llvm::Value *IV)> &Body, bool Parallel = false, bool Rolled = false);
  void forLoop(uint64_t Hi, const llvm::Twine &Name,
               const std::function<void(llvm::Value *IV)> &Body) {
    forLoop(i64(0), i64(Hi), Name, Body);
  }

  /// &Buf[Index] for a float buffer.
  llvm::Value *elementPtr(llvm::Value *Buf, llvm::Value *Index);
  llvm::Value *loadF32(llvm::Value *Buf, llvm::Value *Index);
  void storeF32(llvm::Value *V, llvm::Value *Buf, llvm::Value *Index);

  /// A stack slot for a loop-carried scalar (promoted to registers by -O1+).
  llvm::AllocaInst *slot(llvm::Type *Ty, const llvm::Twine &Name);

  /// min(A, B) for unsigned i64 values.
  llvm::Value *umin(llvm::Value *A, llvm::Value *B);

  /// Exits with \p Status (through the cleanup) where \p Cond holds.
  void failIf(llvm::Value *Cond, int32_t Status);

  /// Returns 0 from the success path and closes the cleanup block.
  void finish();

  uint64_t grantedBytes() const { return Granted; }

private:
  void exitIfNonzero(llvm::Value *Status);

  llvm::FunctionCallee AllocFn, FreeFn, LoadFn, StoreFn;
  llvm::Value *CtxArg = nullptr, *ArgsArg = nullptr;
  llvm::BasicBlock *Entry = nullptr, *Cleanup = nullptr;
  llvm::AllocaInst *StatusSlot = nullptr;
  struct Grant {
    llvm::AllocaInst *PtrSlot, *SidSlot;
  };
  std::vector<Grant> Grants;
  llvm::IRBuilder<> AllocaB; ///< inserts slots at the top of the entry block
  uint64_t Granted = 0;
  unsigned LoopDepth = 0;
};

/// exp(x) for f32 scalars or vectors, inline: x = n*ln2 + r (Cody-Waite),
/// exp(r) by a degree-7 polynomial, 2^n applied through the exponent bits in
/// two steps (so n = 128 stays finite before the final product). x > 88.72 ->
/// +inf, x < -87.34 (ln FLT_MIN) -> 0 (no denormal results), NaN -> NaN.
llvm::Value *emitExp(llvm::IRBuilderBase &B, llvm::Value *X);

/// log(x) for f32 scalars or vectors, inline: Cephes logf (denormals scaled
/// first, degree-9 polynomial for log(1 + f)), under 2 ulp. x < 0 and NaN ->
/// NaN, 0 -> -inf, +inf -> +inf.
llvm::Value *emitLog(llvm::IRBuilderBase &B, llvm::Value *X);

/// erf(x) for f32 scalars or vectors, inline: the erf kernel's piecewise
/// polynomials (EmitElementwise.cpp), within 2.3 ulp everywhere; NaN ->
/// NaN, +-inf -> +-1, -0 -> -0.
llvm::Value *emitErf(llvm::IRBuilderBase &B, llvm::Value *X);

/// A GEMM epilogue on f32 scalars or vectors: relu as x < 0 ? 0 : x (NaN
/// kept, as torch.relu), gelu and gelu_tanh exactly as the gelu kernels
/// compute them (EmitElementwise.cpp).
llvm::Value *emitEpilogue(llvm::IRBuilder<> &B, abi::Epilogue E, llvm::Value *X);

/// Per-dimension decomposition of a row-major linear index: for each operand,
/// sum(idx_d * Strides[Op][d]) (elements), with constant udiv/urem.
std::vector<llvm::Value *> stridedOffsets(llvm::IRBuilderBase &B, llvm::Value *Linear,
                                          llvm::ArrayRef<int64_t> Sizes,
                                          llvm::ArrayRef<std::vector<int64_t>> Strides);

/// Error "kernel '<key>': <Msg>".
llvm::Error specError(const abi::KernelSpec &Spec, const llvm::Twine &Msg);

// Family emitters: fill KB's function (KB.finish() is theirs to call).
llvm::Error emitElementwise(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitSoftmax(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitGemm(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitPad(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitPool(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitLayerNorm(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitReduce(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitGather(KernelBuilder &KB, const abi::KernelSpec &Spec);
llvm::Error emitAttention(KernelBuilder &KB, const abi::KernelSpec &Spec);

/// Optimises \p M and compiles it for the options' target (shared by the
/// public entry points and by tests of internal building blocks).
llvm::Expected<CompiledKernel> compileModule(llvm::Module &M, const CodegenOptions &Opts,
                                             llvm::StringRef Symbol);

} // namespace atalla::codegen::detail

#endif // ATALLA_CODEGEN_EMITTERSUPPORT_H
