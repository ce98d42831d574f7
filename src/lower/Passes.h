//===- lower/Passes.h - the lowering passes ---------------------*- C++ -*-===//
//
// Each pass is one entry function over the shared LoweringState, called in
// order by Pipeline.cpp (which can print the state after each):
//   canonicalize      drop the no-ops real exports contain
//   specializeShapes  make every dimension concrete (hints, --input-shape)
//   selectKernels     match nodes to Kernels.def, build views and kernel
//                     specialisations, or fallback calls; linearise
//   partition         group instructions into accelerator/fallback segments
//   setPrecision      f32 or bf16 storage: the kernels' precision
//   planMemory        DRAM addresses: constants region, liveness-based arena
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_PASSES_H
#define ATALLA_LOWER_PASSES_H

#include "lower/Program.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace atalla::lower {

/// What the fusion passes found the graph allows, by value: the node that
/// may be folded or fused into the kernel computing that value. Selection
/// reads them; where it then can not fuse (a shape, a non-constant weight),
/// the marked node is selected on its own.
struct FusionMarks {
  /// A convolution's result -> the inference batch_norm, its only reader,
  /// whose affine map can be folded into the convolution's weights and bias.
  std::map<std::string, std::string> BatchNormInto;
  /// A GEMM's or convolution's (or a folded batch norm's) result -> the relu
  /// or gelu, its only reader, that can become the GEMM's epilogue.
  std::map<std::string, std::string> Epilogue;
  /// An elementwise result -> the elementwise node, its only reader, that
  /// can extend its chain kernel.
  std::map<std::string, std::string> ChainNext;
  /// A value that is one input of a channel concatenation (cat along dim 1
  /// of a 4-D float32 result) -> that cat node: the kernel computing the
  /// value may write it straight into its slice of the cat's result, and
  /// the cat copies nothing for it. No reader of the value overwrites it
  /// in place, and it is no graph output.
  std::map<std::string, std::string> CatSlot;
  /// A GEMM's or convolution's (or its folded batch norm's) result -> the
  /// add, its only reader, whose other operand exists before the GEMM's
  /// kernel runs: a residual connection the kernel may add itself
  /// (KernelSpec::HasResidual). The add's result may then take an
  /// epilogue mark of its own.
  std::map<std::string, std::string> Residual;
  /// A channel gate's product (x * g of float32 x [N, C, H, W] and g [N, C,
  /// 1, 1], a squeeze-and-excitation's multiply) -> the convolution, its
  /// only reader, that may take it as a column scale of its weights
  /// (KernelSpec::HasScale) where it is a 1x1, stride-1 GEMM: the mul then
  /// writes nothing. A chain kernel that takes the mul (a ChainNext mark
  /// selection honours) comes first.
  std::map<std::string, std::string> Gate;
};

struct LoweringState {
  const frontend::Model *M = nullptr;
  std::vector<frontend::Node> Nodes;              ///< working copy, canonicalised
  std::map<std::string, std::string> Renamed;     ///< removed value -> the value it equals
  /// Values an in-place op (relu_, add_) overwrote -> the op's result, which
  /// later readers (and the graph outputs) see instead.
  std::map<std::string, std::string> Mutated;
  std::map<std::string, frontend::TensorMeta> Metas;
  std::map<std::string, int64_t> SymValues;       ///< symbol / SymInt value -> concrete
  std::map<std::string, std::vector<int64_t>> Shapes; ///< value -> concrete sizes
  Program P;
  std::map<std::string, int> TensorOf;            ///< value name -> tensor index
  FusionMarks Fusion;                             ///< set by the fuse-* passes

  std::string resolve(const std::string &Name) const;
  void print(llvm::raw_ostream &OS) const;
};

struct CanonicalizeOptions {};
llvm::Error canonicalize(LoweringState &S, const CanonicalizeOptions &Opts = {});

struct ShapeOptions {
  /// --input-shape name=AxBxC, by user input name (placeholder or forward name).
  std::map<std::string, std::vector<int64_t>> InputShapes;
};
llvm::Error specializeShapes(LoweringState &S, const ShapeOptions &Opts);

/// fuse-batch-norm: marks inference batch norms that alone read a
/// convolution's result (FusionMarks::BatchNormInto).
llvm::Error markBatchNormFolding(LoweringState &S);

/// fuse-residuals: marks adds of two float32 tensors of one shape where
/// one is a GEMM's or convolution's result that only the add reads and the
/// other exists before that GEMM's node (FusionMarks::Residual). Of two
/// such results, the later GEMM takes the add.
llvm::Error markResiduals(LoweringState &S);

/// fuse-epilogues: marks relu, relu6 (hardtanh or clamp to [0, 6]),
/// hardswish, silu and gelu (exact or tanh) nodes that alone read a GEMM's, convolution's or batch
/// norm's float32 result
/// (FusionMarks::Epilogue).
llvm::Error markEpilogues(LoweringState &S);

/// fuse-elementwise: marks, along each single-reader edge, the chainable
/// elementwise node (Kernels.def's chainable unary and binary kernels) that
/// may extend a chain kernel (FusionMarks::ChainNext). Off: nothing marked.
struct ElementwiseFusionOptions {
  bool Enabled = true;
};
llvm::Error markElementwiseChains(LoweringState &S, const ElementwiseFusionOptions &Opts);

/// fuse-channel-gates: marks multiplies of a 4-D float32 tensor by a
/// per-image, per-channel gate ([N, C, 1, 1]) whose only reader is a
/// convolution reading the product as its input (FusionMarks::Gate).
llvm::Error markChannelGates(LoweringState &S);

/// fuse-cat: marks the inputs of channel concatenations that their
/// producers may write in place (FusionMarks::CatSlot); kernel selection
/// uses a mark where the producer is a convolution (conv2d or GEMM output
/// in row-major slices) or a transposed convolution's interleaving copy.
llvm::Error markCatSlots(LoweringState &S);

struct SelectOptions {
  /// Largest softmax row (elements) a kernel keeps in scratchpad.
  int64_t MaxSoftmaxRow = 64 * 1024;
  /// Longer softmax rows along a contiguous last dim are walked from DRAM
  /// in chunks (codegen::longSoftmaxRows: the pads hold a chunk).
  bool LongSoftmaxRows = true;
  /// scaled_dot_product_attention whose scores (batch x L x S floats) take
  /// more bytes than this is one attention kernel, the scores kept in the
  /// scratchpad (flash-attention style); smaller ones are GEMMs around a
  /// softmax, faster where the scores fit the host's caches.
  int64_t FlashAttentionScoreBytes = 16 << 20;
  /// Whether the code generator can build a kernel whose least scratchpad
  /// grows with a dimension it does not tile (codegen::kernelFits for the
  /// target's pads; empty: every kernel fits). An attention kernel that
  /// does not stays GEMMs around a softmax; a pool falls back.
  std::function<bool(const abi::KernelSpec &)> KernelFits;
  /// Largest layer-norm row (elements): row, weight and bias in scratchpad.
  /// Both defaults fit the 1 MiB pads of atalla-rtl; atalla-gen sets them
  /// from the target machine (codegen::maxSoftmaxRow / maxNormRow).
  int64_t MaxNormRow = 60 * 1024;
  /// Grow elementwise kernels into chain kernels along single-reader nodes.
  bool FuseElementwise = true;
  /// Convolutions as the conv2d kernel (implicit GEMM: im2col tiles built
  /// in the scratchpad, padding by bounds) instead of a padded copy, a
  /// materialised im2col and a GEMM.
  bool DirectConv = true;
  /// Floats of scratchpad a conv2d kernel's buffers may take: a convolution
  /// whose smallest blocking (one channel, one output row, 14 rows of C)
  /// needs more goes through the materialised im2col. atalla-gen sets it
  /// from the target machine (codegen::convBudgetFloats).
  int64_t ConvBudgetFloats = (768 * 1024 - 7 * 256) / 4 - 384;
};
llvm::Error selectKernels(LoweringState &S, const SelectOptions &Opts = {});

llvm::Error partition(LoweringState &S);

/// Sets the program's storage precision (Program::Precision): for bf16,
/// every kernel becomes its bf16 twin. Fallback calls are unchanged: the
/// runtime hands them float32 tensors, as the graph expects.
struct PrecisionOptions {
  abi::DType Precision = abi::DType::F32;
};
llvm::Error setPrecision(LoweringState &S, const PrecisionOptions &Opts);

struct MemoryOptions {
  uint64_t Alignment = 64;
};
llvm::Error planMemory(LoweringState &S, const MemoryOptions &Opts = {});

} // namespace atalla::lower

#endif // ATALLA_LOWER_PASSES_H
