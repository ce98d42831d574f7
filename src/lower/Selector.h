//===- lower/Selector.h - kernel selection's state and its members -*- C++ -*-===//
//
// The select-kernels pass (selectKernels in Passes.h) as a class whose
// members are defined by family: SelectKernels.cpp holds the shared
// machinery (tensors, operands, decisions) and the pass's loop, and one file
// each the layout ops, elementwise ops and chains, GEMMs and attention,
// convolutions and pooling, row and reduction kernels, and fallback calls
// with the cost model. Internal to lower/.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_SELECTOR_H
#define ATALLA_LOWER_SELECTOR_H

#include "lower/GraphQueries.h"
#include "lower/Passes.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "runtime/abi/SchemaEnums.h"

#include "llvm/ADT/StringExtras.h"

#include <cassert>
#include <cmath>
#include <functional>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

namespace atalla::lower::select {

using frontend::ArgKind;
using frontend::Argument;
using frontend::makeError;
using frontend::Node;
using frontend::ScalarType;

inline std::vector<int64_t> contiguous(const std::vector<int64_t> &Sizes) {
  return frontend::contiguousStrides(Sizes);
}

inline bool isContiguous(const PTensor &T) { return T.Strides == contiguous(T.Sizes); }

/// The device's element type for \p T, if it has one.
inline std::optional<abi::DType> deviceType(ScalarType T) {
  switch (T) {
  case ScalarType::UInt8: return abi::DType::U8;
  case ScalarType::Int32: return abi::DType::I32;
  case ScalarType::Int64: return abi::DType::I64;
  case ScalarType::Float32: return abi::DType::F32;
  case ScalarType::Bool: return abi::DType::Bool;
  default: return std::nullopt;
  }
}

/// Thrown to send the current node to fallback with a reason.
struct NoKernel {
  std::string Reason;
};

/// An error in the model itself (a value used before it is defined, a fake
/// tensor): lowering stops with it rather than trying the fallback.
struct ModelError {
  std::string Message;
};

class Selector {
public:
  Selector(LoweringState &S, const SelectOptions &Opts) : S(S), Opts(Opts), M(*S.M) {}

  llvm::Error run();

private:
  LoweringState &S;
  const SelectOptions &Opts;
  const frontend::Model &M;
  Program &P = S.P;

  const frontend::TensorMeta *meta(const std::string &Name) const { return M.G.meta(Name); }

  std::vector<int64_t> shapeOf(const std::string &Name) const {
    auto It = S.Shapes.find(Name);
    return It == S.Shapes.end() ? std::vector<int64_t>{} : It->second;
  }

  int newTensor(PTensor T);

  /// The owning tensor of a view chain.
  int ownerOf(int T) const { return P.Tensors[T].isView() ? P.Tensors[T].Base : T; }

  llvm::Expected<int> tensorFor(const std::string &RawName, const Node *User);

  int defineOutput(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes);
  /// The float32 output \p Name of \p Sizes: its slice of the cat result
  /// that reads it (FusionMarks::CatSlot; the result defined here if the
  /// cat's first producer), else a tensor of its own.
  int defineOutputOrCatSlot(const std::string &Name, const std::vector<int64_t> &Sizes);
  abi::OperandSpec convOutputOperand(int Out, int64_t G);
  void finishConvKernel(const Node &N, abi::KernelSpec &Spec, std::vector<int> Ops, int Bias, int64_t G,
                        std::string ResultName, const std::string &OutName, const std::vector<int64_t> &OutShape);

  int defineView(const std::string &Name, int Of, std::vector<int64_t> Sizes, std::vector<int64_t> Strides,
                 int64_t ExtraOffset, bool OwnStorage = false);

  abi::DType typeOf(int T) const;

  abi::OperandSpec operand(int T) const { return {P.Tensors[T].Sizes, P.Tensors[T].Strides, typeOf(T)}; }

  /// \p T broadcast to \p Out (right-aligned; stride 0 where broadcast).
  abi::OperandSpec broadcastOperand(int T, const std::vector<int64_t> &Out) const;

  /// Materialises \p T contiguously with the copy kernel (for operands a
  /// kernel can not read in their layout).
  int materialize(int T, const std::string &For);

  void requireF32(int T, const char *What);

  const Argument *arg(const Node &N, const char *Name, bool Required = true);

  int tensorArg(const Node &N, const char *Name);

  /// The node's result. A node of several results (native_layer_norm's
  /// mean and rstd, a batch norm's saved statistics) qualifies when nothing
  /// reads the others: the kernels compute the first.
  std::string outputName(const Node &N);

  bool onlyFirstOutputUsed(const Node &N) const { return lower::onlyFirstOutputUsed(S, N); }
  static bool isBatchNormOp(const Node &N) { return lower::isBatchNormOp(N); }

  int64_t normDim(int64_t D, size_t Rank);

  // --- layout ops as views -------------------------------------------------
  bool selectView(const Node &N, abi::KernelId K);

  // --- kernels -------------------------------------------------------------
  void emitKernel(const Node &N, abi::KernelSpec Spec, std::vector<int> Operands) {
    pushKernel(N, std::move(Spec), std::move(Operands));
    recordDecision(N, NodeDecision::Accelerated, std::string(abi::kernelName(P.Instrs.back().Spec.Kernel)));
  }

  /// What a node's selection may add, so that a NoKernel can undo it.
  struct Checkpoint {
    size_t Tensors, Instrs, Owned;
    std::map<std::string, std::string> Folded, Epilogues, Chains, Residuals;
  };
  Checkpoint checkpoint() const {
    return {P.Tensors.size(), P.Instrs.size(), P.OwnedConstants.size(), FoldedBatchNorm, FusedEpilogue, FusedChain,
            FusedResidual};
  }
  void rollback(const Checkpoint &C);

  /// to.dtype, to.dtype_layout, _to_copy: a convert kernel between the
  /// device's element types; the same type is an alias (to) or a copy
  /// (_to_copy, copy=True) as in eager.
  void selectConvert(const Node &N);

  void selectUnary(const Node &N, abi::KernelId K);
  void selectPow(const Node &N);
  void selectClamp(const Node &N, bool Hardtanh);
  void emitUnary(const Node &N, abi::KernelId K, std::vector<int64_t> Params);
  double numberArg(const Node &N, const char *Name, double Default);

  /// Emits \p Spec (a unary or binary kernel; its input operands and \p Ins
  /// given, the output not yet) for node \p N, first growing it into a chain
  /// kernel along the nodes that alone read its result: elementwise f32 ops
  /// of the same shape whose other operand is a constant or a tensor that
  /// already exists. The fused nodes are recorded; the kernel's output is
  /// the last one's value.
  void emitElementwise(const Node &N, abi::KernelSpec Spec, std::vector<int> Ins, const std::string &OutName,
                       ScalarType OutType, const std::vector<int64_t> &Shape);

  /// The chain step node \p R makes of value \p Cur, adding its other
  /// tensor operand to \p Spec and \p Ins; nothing if \p R can not join.
  std::optional<abi::ChainStep> chainStep(const Node &R, const std::string &Cur, const std::vector<int64_t> &Shape,
                                          abi::KernelSpec &Spec, std::vector<int> &Ins);

  /// A scalar operand: a Python number, or a 0-d constant tensor.
  std::optional<double> scalarOf(const Argument &A);

  void selectBinary(const Node &N, abi::KernelId K);

  void selectSoftmax(const Node &N, abi::KernelId K);

  /// A GEMM operand [batch..., R, C] laid out so that one of its last two
  /// strides is 1 (materialised by the copy kernel otherwise).
  abi::OperandSpec gemmOperand(int &T, const std::vector<int64_t> &Batch, int64_t R, int64_t C, const Node &N);

  void selectGemm(const Node &N);

  /// scaled_dot_product_attention without dropout: S = q k^T (k^T a view),
  /// S * scale + mask (a float mask, and -inf above the diagonal when
  /// causal: one chain kernel), softmax along the last dim, then P v.
  void selectAttention(const Node &N);
  void requirePoolFits(const abi::KernelSpec &Spec, const std::vector<int64_t> &In,
                       const std::vector<int64_t> &Out) const;
  bool selectFlashAttention(const Node &N, int Q, int K, int V, const std::vector<int64_t> &Batch, int64_t L,
                            int64_t E, int64_t Sk, int64_t Ev, double Scale, const std::string &OutName,
                            const std::vector<int64_t> &Shape);

  /// Attention written out as ops (what torch 1.13 traces of a GPT-2 or
  /// BERT block, and what exports of such code record): bmm(q, k^T), the
  /// views back to heads, an optional scale (mul or div by a number), an
  /// optional mask (masked_fill or where with a fill of at most -1e30, or
  /// add of a float mask), softmax
  /// along the keys, the views to bmm, bmm(p, v). Each value between the
  /// two matmuls read only by the next op and no graph output.
  struct AttentionPattern {
    std::string First, Scale, Mask, Softmax; ///< node names (Scale, Mask: "" when absent)
    std::vector<std::string> Nodes;         ///< every node before the last matmul, in graph order
  };
  /// Before selection: the hand-written attentions whose scores would take
  /// more DRAM than SelectOptions::FlashAttentionScoreBytes, by their last
  /// matmul; their other nodes wait for it (DeferredToAttention).
  void planHandWrittenAttention();
  /// The attention kernel for \p Pl at its last matmul \p N; throws
  /// NoKernel where it does not apply (the caller then lowers the
  /// pattern's nodes one by one).
  void selectHandWrittenAttention(const Node &N, const AttentionPattern &Pl);
  /// The pattern's mask node \p Mn as the attention kernel takes it: a float
  /// mask tensor (added, or made here from a constant condition and fill),
  /// or -1 with \p Causal set where what it masks is exactly j > i of an L
  /// x Sk square; throws NoKernel where it can not (\p Rank: the scores').
  int attentionMask(const Node &Mn, size_t Rank, int64_t L, int64_t Sk, bool &Causal);
  /// fuse-channel-gates: a marked mul waits for its convolution
  /// (DeferredGates: convolution -> mul), which then tries to take the gate
  /// as its GEMM's column scale (lowerGatedConvolution); where it can not,
  /// the mul is lowered on its own first (GateRefused) and then the
  /// convolution as usual.
  std::map<std::string, const Node *> DeferredGates;
  std::set<std::string> GateRefused;
  /// The gate a convolution's lowering is asked to take: X (the product's
  /// tensor operand of the convolution's shape, which the convolution reads
  /// in the product's place) and the gate G [N, C, 1, 1]. convCore sets
  /// Taken where its GEMM took it; a lowering that does not take it is
  /// undone.
  struct ActiveGate {
    int X = -1, G = -1;
    bool Taken = false;
  };
  std::optional<ActiveGate> Gate;
  /// \p Conv with \p Mul's gate as its GEMM's column scale; false (and
  /// nothing selected) where it can not.
  bool lowerGatedConvolution(const Node &Conv, const Node &Mul);
  std::map<std::string, AttentionPattern> AttentionPlans;
  std::map<std::string, std::string> DeferredToAttention; ///< node -> the pattern's last matmul
  /// Lowers one node (SelectKernels.cpp).
  llvm::Error lowerNode(const Node &N);

  // --- convolutions through the GEMM --------------------------------------
  /// An int[2] argument (a single value repeats), or Default when absent.
  std::vector<int64_t> intPair(const Node &N, const char *Name, int64_t Default);

  /// The elements of a float32 constant, row-major, or nothing.
  std::optional<std::vector<float>> constantValues(int T);

  /// A constant the lowering computed, owned by the program.
  int newConstant(const std::string &Name, const std::vector<int64_t> &Sizes, const std::vector<float> &V);
  /// A constant of any dtype the lowering computed (\p Bytes row-major).
  int newConstantBytes(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes,
                       std::vector<uint8_t> Bytes);
  /// The elements of \p T, row-major, when it is a constant or a view of one.
  std::optional<std::vector<uint8_t>> constantElements(int T) const;

  std::vector<const Node *> readersOf(const std::string &Name) const { return lower::readersOf(S, Name); }
  /// The node a fusion mark names (marks name nodes of S.Nodes).
  const Node *nodeNamed(const std::string &Name) const;
  bool isGraphOutput(const std::string &Name) const { return lower::isGraphOutput(S, Name); }

  /// Per-channel scale and shift of an inference batch_norm whose
  /// parameters are constants: y = x * scale[c] + shift[c].
  bool batchNormAffine(const Node &Bn, int64_t C, std::vector<double> &Scale, std::vector<double> &Shift);

  /// batch_norm nodes folded into the convolution before them -> that
  /// convolution's node.
  std::map<std::string, std::string> FoldedBatchNorm;
  /// relu / gelu nodes fused into the GEMM before them as its epilogue ->
  /// that node.
  std::map<std::string, std::string> FusedEpilogue;
  /// Elementwise nodes fused into a chain kernel -> the chain's first node.
  std::map<std::string, std::string> FusedChain;

  /// When a relu or gelu alone reads \p Result (and it is no graph output),
  /// fuses it into \p Spec's epilogue and returns its value, which the
  /// GEMM's output then holds (and is named after); otherwise \p Result.
  std::string fuseEpilogue(const Node &N, abi::KernelSpec &Spec, const std::string &Result);
  /// When an add alone reads \p Result and its other operand already has a
  /// tensor of the output's shape (FusionMarks::Residual), makes it \p
  /// Spec's residual (\p Operand lays it out as the output is laid out;
  /// it throws NoKernel where it can not, and then nothing is fused) and
  /// returns the add's value, which the GEMM's output then holds; otherwise
  /// \p Result.
  std::string fuseResidual(const Node &N, abi::KernelSpec &Spec, std::vector<int> &Ops, const std::string &Result,
                           const std::function<abi::OperandSpec(int)> &Operand);
  /// add nodes fused into the GEMM before them as its residual -> the
  /// GEMM's result they read.
  std::map<std::string, std::string> FusedResidual;

  void pushKernel(const Node &N, abi::KernelSpec Spec, std::vector<int> Operands);

  /// X padded into a new contiguous tensor: out[lo + i * step] = x[i], 0
  /// elsewhere (Lo, Step and Hi per dim).
  int padded(const Node &N, int X, const std::vector<int64_t> &Lo, const std::vector<int64_t> &Step,
             const std::vector<int64_t> &Hi, const std::string &OutName, std::optional<double> Value = {});

  /// conv2d of X [N, C, H, W] with W [Co, C/G, KH, KW] (+ bias [Co]) as one
  /// batched GEMM: W as [G][Co/G][C/G*KH*KW] (shared by every image) times
  /// the im2col matrix [N][G][C/G*KH*KW][OH*OW] of the padded input (a view
  /// of it, materialised by the copy kernel; 1x1 stride-1 convolutions read
  /// the input in place), bias seeding C. A batch_norm that alone reads the
  /// result, with constant statistics, is folded into W and the bias.
  void convCore(const Node &N, int X, int W, int Bias, const std::vector<int64_t> &St,
                const std::vector<int64_t> &Pd, const std::vector<int64_t> &Dl, int64_t G,
                const std::string &OutName, const std::vector<int64_t> &OutShape);

  void selectConv(const Node &N);

  /// conv_transpose2d whose windows tile the output (stride = kernel, no
  /// padding or dilation, one group): every output pixel gets exactly one
  /// product sum, so it is one GEMM, Y[(co, kh, kw)][(ih, iw)] = W'[(co, kh,
  /// kw)][ci] @ X[ci][(ih, iw)] per image (X read in place, bias per row),
  /// then one copy that interleaves Y's rows into the output: no zeros
  /// inserted, no im2col.
  void convTransposeTiled(const Node &N, int X, const std::vector<float> &Wv, int Bias, int64_t KH, int64_t KW,
                          int64_t Co, const std::string &OutName, const std::vector<int64_t> &OutShape);

  /// Inference batch_norm with constant statistics, not folded: x * scale +
  /// shift with the mul and add kernels (scale and shift [C, 1, ...]).
  void selectBatchNorm(const Node &N);

  /// max_pool2d as max over the window: the input padded with -inf (when
  /// padded), then one maximum kernel per further tap, each reading the
  /// tap's strided view [N, C, OH, OW] of it.
  void selectMaxPool(const Node &N);

  /// layer_norm over the trailing normalized_shape dims, as [R, D] rows;
  /// an absent weight or bias is a constant row of ones or zeros.
  /// sum, mean (dims or all), amax, amin: the kept dims become O and the
  /// reduced ones D of an [O, D] view (one of its strides 1); where no view
  /// can say it, a copy of the input permuted to [kept..., reduced...] first.
  void selectReduce(const Node &N, abi::KernelId K);

  /// embedding(weight [V, D], indices [...]) and index_select(self [V, D],
  /// 0, index [N]): the gather kernel over the flattened indices.
  void selectEmbedding(const Node &N);

  /// where(condition, self, other) and masked_fill(self, mask, value):
  /// the select kernel (masked_fill's value is its constant A).
  void selectWhere(const Node &N);

  /// zeros / ones / full (and their _like and new_ forms) of a static
  /// float32 shape: a constant the compiler writes into the blob (at most
  /// 1 MiB; a larger one stays an op).
  void selectFill(const Node &N);
  void selectArange(const Node &N);
  void selectFold(const Node &N);

  void selectLayerNorm(const Node &N);

  /// avg_pool2d (count_include_pad, or no padding) and adaptive_avg_pool2d
  /// whose windows are equal (sizes divisible): the windows' im2col matrix
  /// [N*C*OH*OW][KH*KW] (the input itself for a global pool of a contiguous
  /// input) times a constant column of 1 / divisor, as one GEMM.
  void selectAvgPool(const Node &N);

  /// upsample_nearest2d with integer scales: out[.., oh, ow] = x[.., oh / s,
  /// ow / t], a view of x with stride-0 dims for the copies, copied.
  void selectUpsample(const Node &N);

  /// cat: one copy kernel per input into its slice of the output.
  /// split_with_sizes, split, chunk, unbind: each result a view of its
  /// slice of the input along dim (unbind's without that dim), taken from
  /// the results' own shapes in order.
  void selectSplit(const Node &N);

  /// The tensors of list argument \p Name (cat's and stack's inputs): a
  /// nonempty list whose tensors all exist.
  std::vector<int> tensorListArg(const Node &N, const char *Name);

  /// stack: one copy per input into its slice of the result along dim.
  void selectStack(const Node &N);

  void selectCat(const Node &N);

// GCC 12 reports a false -Wfree-nonheap-object here once outputName() is
// inlined into it (the vectors below are ordinary heap vectors).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif
  void selectPad(const Node &N);

  // --- fallback ------------------------------------------------------------
  llvm::Error selectFallback(const Node &N, const std::string &Reason);

  void recordDecision(const Node &N, NodeDecision::Kind K, const std::string &Kernel,
                      const std::string &Reason = "");

  /// FLOPs and operand bytes of a node from the graph's concrete shapes,
  /// the same whichever side runs it (the coverage report compares them).
  void nodeCost(const Node &N, double &Flops, double &Bytes) const;

  llvm::Error finishOutputs();
  void lowerByRow(const Node &N, const OpRow &Row);
};

} // namespace atalla::lower::select

#endif // ATALLA_LOWER_SELECTOR_H
