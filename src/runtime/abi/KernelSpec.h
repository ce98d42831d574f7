//===- runtime/abi/KernelSpec.h - one kernel specialisation ------*- C++ -*-===//
//
// What a kernel instance is specialised to: the kernel, the element type, the
// shape and strides of every operand, and the family's attributes. The
// lowering produces it, the code generator emits code for it (every number
// here becomes a constant in the IR), and the blob records its key. Two
// nodes with equal keys share one compiled kernel.
//
// Operand conventions (all views in elements; the output is contiguous):
//   Gemm:    A [b..., M, K], B [b..., K, N], (Bias [b..., M, N],) C [b..., M, N].
//            A, B and Bias are given in C's batch shape (stride 0 where they
//            broadcast); one of the last two strides of A and of B is 1.
//   Conv2d:  W [b, g, Cog, Cg*KH*KW] (stride 0 along b), X [b, g, Cg, H, W]
//            (unit column stride), (Bias [b, g, Cog, OH*OW],) C [b, g, Cog,
//            OH*OW]; Params KH, KW, stride h, w, padding h, w, dilation h, w:
//            C = W @ im2col(X) per (b, g), X zero outside its bounds.
//   ConvT:   W' [b, Co*KH*KW, Ci] (rows (co, kh, kw)), X [b, Ci, IH*IW], (Bias
//            [b, Co*KH*KW, IH*IW],) Out [b, Co, OH*OW] (each plane
//            contiguous); Params KH, KW, IW: Out[co][(ih KH + kh) OW + iw KW
//            + kw] = (W' @ X)[(co, kh, kw)][(ih, iw)] (+ bias).
//   Pool:    In [N, C, H, W] (unit column stride), Out [N, C, OH, OW];
//            Params as Conv2d's; every window holds an element of In
//            (padding at most half the window). dwconv2d: In, W [C, KH*KW]
//            (rows contiguous), (Bias [C],) Out; zero padding, any padding.
//            avg_pool2d: Params 6 and 7 are count_include_pad (0, 1) and
//            divisor_override (0: none) instead of the dilations (1).
//   Unary:   In [out shape], Out.
//   Binary:  A [out shape], B [out shape] (absent when HasScalar), Out;
//            Out = A op (Alpha * B) or A op Scalar.
//   Softmax: In [out shape], Out; along Dim.
//   Copy:    In [out shape, any strides], Out (same element type).
//   Reduce:  In [O, D] (strides: one of them 1), Out [O, 1]; along D.
//   Chain:   In0, In1... [out shape, any strides, broadcast], Out; Params
//            holds the steps (ChainStep), four numbers each.
//   Select:  Cond (bool), A, B [out shape, broadcast], Out = Cond ? A : B;
//            A is Scalar when HasScalar (operands Cond, B, Out).
//   Gather:  Table [V, D] (row stride any, unit inner), Indices [N] (i64 or
//            i32, unit stride), Out [N, D].
//
// Element types: every operand is f32 unless its OperandSpec::Type says
// otherwise. Only convert (any type to any type), the comparisons (f32 in,
// bool out), copy (any type, the same in and out) and embedding's indices
// (i64 or i32) take other types.
//
// Precision: KernelSpec::Type is the kernel's storage precision, f32 or
// bf16. A bf16 kernel computes exactly as its f32 twin on its scratchpad
// (f32 working copies, f32 accumulation), but every f32 operand lives in
// DRAM as bf16: the kernel addresses it through the SDMA engine's bf16
// aperture (KernelAbi.h), which widens on load and rounds to nearest even on
// store. Operands of the other types are untouched.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_KERNELSPEC_H
#define ATALLA_RUNTIME_ABI_KERNELSPEC_H

#include "runtime/abi/Kernels.h"
#include "runtime/abi/SchemaEnums.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::abi {

/// Element types, numbered as the export schema numbers them. Bool is one
/// byte, 0 or 1.
enum class DType : uint32_t {
  U8 = uint32_t(SchemaDType::UInt8),
  I32 = uint32_t(SchemaDType::Int32),
  I64 = uint32_t(SchemaDType::Int64),
  F32 = uint32_t(SchemaDType::Float32),
  Bool = uint32_t(SchemaDType::Bool),
  BF16 = uint32_t(SchemaDType::BFloat16),
};

/// Bytes per element; 0 for a number that is no DType.
constexpr uint32_t dtypeBytes(DType T) {
  switch (T) {
  case DType::U8:
  case DType::Bool:
    return 1;
  case DType::BF16:
    return 2;
  case DType::I32:
  case DType::F32:
    return 4;
  case DType::I64:
    return 8;
  }
  return 0;
}

/// "f32", "u8", ... as keys spell them; "" for a number that is no DType.
constexpr const char *dtypeKeyName(DType T) {
  switch (T) {
  case DType::U8: return "u8";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::F32: return "f32";
  case DType::Bool: return "bool";
  case DType::BF16: return "bf16";
  }
  return "";
}

struct OperandSpec {
  std::vector<int64_t> Sizes;
  std::vector<int64_t> Strides; ///< elements; 0 = broadcast
  DType Type = DType::F32;      ///< element type (keys name it when not f32)
  int64_t numel() const {
    int64_t N = 1;
    for (int64_t S : Sizes)
      N *= S;
    return N;
  }
  bool operator==(const OperandSpec &O) const {
    return Sizes == O.Sizes && Strides == O.Strides && Type == O.Type;
  }
};

/// A GEMM's fused epilogue, applied to the finished C tile (after the bias).
enum class Epilogue : uint32_t { None, Relu, Gelu, GeluTanh, Relu6, Hardswish, Silu, Sigmoid, Hardsigmoid };

/// "relu", "gelu", "gelu_tanh", "relu6" (hardtanh(x, 0, 6)), "hardswish",
/// "silu", "sigmoid", "hardsigmoid" as keys spell them ("" for None).
constexpr const char *epilogueName(Epilogue E) {
  switch (E) {
  case Epilogue::None: return "";
  case Epilogue::Relu: return "relu";
  case Epilogue::Gelu: return "gelu";
  case Epilogue::GeluTanh: return "gelu_tanh";
  case Epilogue::Relu6: return "relu6";
  case Epilogue::Hardswish: return "hardswish";
  case Epilogue::Silu: return "silu";
  case Epilogue::Sigmoid: return "sigmoid";
  case Epilogue::Hardsigmoid: return "hardsigmoid";
  }
  return "";
}

/// An f32 constant as the int64 Params hold it (its IEEE bits), and back.
uint32_t f32Bits(float F);
float f32FromBits(int64_t Bits);

/// One step of a chain kernel: v = Op(v) for a unary Op; v = v Op x (or
/// x Op v when Swapped) for a binary Op, x being input Source (>= 1) or, for
/// Source = -1, the f32 constant whose bits are Bits. In Params: Op, Source,
/// Bits, Swapped, per step.
struct ChainStep {
  KernelId Op = KernelId::relu;
  int64_t Source = -1;
  uint32_t Bits = 0;
  bool Swapped = false;
  float constant() const;
};

/// The kernels a chain may hold as steps: Kernels.def's Chain column.
bool isChainableUnary(KernelId K);
bool isChainableBinary(KernelId K);

struct KernelSpec {
  KernelId Kernel = KernelId::copy;
  DType Type = DType::F32; ///< storage precision: F32, or BF16 (see the header)
  std::vector<OperandSpec> Operands; ///< inputs..., output (last)
  int64_t Dim = -1;                  ///< Softmax: reduced dimension, >= 0
  bool HasBias = false;              ///< Gemm
  /// gemm, conv2d: C = Post(A B + bias + R), R (C's shape) the operand
  /// before the output: a residual connection's add, fused.
  bool HasResidual = false;
  /// gemm: C = Post((A diag(s)) B + bias + R): the operand after the bias
  /// (before the residual), s [b.., 1, K], scales A's columns, per batch: a
  /// squeeze-and-excitation gate's multiply (x * g[c]) fused into the 1x1
  /// convolution reading it, as the gate scaling that convolution's
  /// weights' input channels image by image.
  bool HasScale = false;
  Epilogue Post = Epilogue::None;    ///< Gemm: relu (NaN kept) or gelu of C, fused
  bool HasScalar = false;            ///< Binary: B is the constant Scalar
  double Scalar = 0;
  double Alpha = 1;                  ///< Binary add/sub: A op Alpha * B
  /// Pad: per input dim, (low padding, step): input element i of dim d goes
  /// to output index lo_d + i * step_d; every other output element is
  /// Scalar (0 without HasScalar).
  std::vector<int64_t> Params;

  KernelFamily family() const { return kernelFamily(Kernel); }
  const OperandSpec &output() const { return Operands.back(); }

  /// Canonical text of the specialisation, e.g.
  /// "gemm f32 [4,8:8,1] [8,16:16,1] -> [4,16:16,1]"; an operand of another
  /// element type carries it after the bracket: "[4:1]u8". Equal keys, equal
  /// code.
  std::string key() const;
  /// The kernel's symbol: "atalla_<name>_<16 hex digits of the key's hash>".
  std::string symbol() const;
  /// Whether the operands' element types suit the kernel (see the header's
  /// comment): "" when they do, else what is wrong.
  std::string typeError() const;
  /// Whether operand \p I lives in DRAM as bf16 (a bf16 kernel's f32 operand).
  bool storedAsBf16(size_t I) const { return Type == DType::BF16 && Operands.at(I).Type == DType::F32; }
  /// The comparison kernels (eq ... ge): f32 operands, a bool result.
  bool isComparison() const;
  /// A chain's steps from Params: "" when they are well formed for this
  /// spec's inputs, else what is wrong.
  std::string chainSteps(std::vector<ChainStep> &Steps) const;
  /// Whether Params suit the kernel: none but for pad (checked by its
  /// emitter), chain (its steps), leaky_relu (slope), clamp (min, max) as
  /// f32 bits, and powi (3, -1 or -2). "" when they do.
  std::string paramsError() const;
  /// Params[I] read as f32 bits (leaky_relu, clamp).
  float paramF32(size_t I) const { return f32FromBits(Params.at(I)); }
  /// Appends a step to Params.
  void addChainStep(const ChainStep &S);

  /// The inverse of key() (blobs record keys): false on malformed text.
  static bool parse(const std::string &Key, KernelSpec &Out);
};

/// What one call of a kernel computes, for the device's counters and the
/// cycle model (sim/Machine.h). FLOPs are counted as the lowering's coverage
/// report counts them: 2 per multiply-add of a GEMM (all on the systolic
/// array), 5 per element of a softmax or layer norm, one per element and
/// step of elementwise work, one per reduced element, and none for pure data
/// movement (copy, pad, embedding; convert counts one per element).
struct KernelWork {
  double Flops = 0;      ///< every floating-point operation
  double ArrayFlops = 0; ///< of which the systolic array does (a GEMM's multiply-adds)
  /// A GEMM's problem as the array sees it (all 0 for other kernels).
  int64_t Batch = 0, M = 0, N = 0, K = 0;
  /// conv2d (N = OH OW output pixels, K = C KH KW): the input's channels
  /// (per group), rows and columns, the window, strides, padding and
  /// dilation; all 0 for other kernels.
  struct ConvShape {
    int64_t C = 0, H = 0, W = 0, KH = 0, KW = 0, SH = 0, SW = 0, PH = 0, PW = 0, DH = 0, DW = 0, OH = 0, OW = 0;
  } Conv;
};
/// The work of one call of \p S; a spec too malformed to tell is no work.
KernelWork kernelWork(const KernelSpec &S);

/// FNV-1a, 64 bits: the checksum of the blob's sections and the hash in
/// kernel symbols. Stable across platforms and builds.
uint64_t fnv1a64(const void *Data, uint64_t Size, uint64_t Seed = 0xcbf29ce484222325ull);

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_KERNELSPEC_H
