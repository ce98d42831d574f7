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
//   Unary:   In [out shape], Out.
//   Binary:  A [out shape], B [out shape] (absent when HasScalar), Out;
//            Out = A op (Alpha * B) or A op Scalar.
//   Softmax: In [out shape], Out; along Dim.
//   Copy:    In [out shape, any strides], Out.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_KERNELSPEC_H
#define ATALLA_RUNTIME_ABI_KERNELSPEC_H

#include "runtime/abi/Kernels.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::abi {

/// Element types, numbered as the export schema numbers them.
enum class DType : uint32_t { F32 = 7 };

struct OperandSpec {
  std::vector<int64_t> Sizes;
  std::vector<int64_t> Strides; ///< elements; 0 = broadcast
  int64_t numel() const {
    int64_t N = 1;
    for (int64_t S : Sizes)
      N *= S;
    return N;
  }
  bool operator==(const OperandSpec &O) const { return Sizes == O.Sizes && Strides == O.Strides; }
};

struct KernelSpec {
  KernelId Kernel = KernelId::copy;
  DType Type = DType::F32;
  std::vector<OperandSpec> Operands; ///< inputs..., output (last)
  int64_t Dim = -1;                  ///< Softmax: reduced dimension, >= 0
  bool HasBias = false;              ///< Gemm
  bool Relu = false;                 ///< Gemm: max(0, C) fused as the epilogue (NaN kept)
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
  /// "gemm f32 [4,8:8,1] [8,16:16,1] -> [4,16:16,1]". Equal keys, equal code.
  std::string key() const;
  /// The kernel's symbol: "atalla_<name>_<16 hex digits of the key's hash>".
  std::string symbol() const;
  /// The inverse of key() (blobs record keys): false on malformed text.
  static bool parse(const std::string &Key, KernelSpec &Out);
};

/// FNV-1a, 64 bits: the checksum of the blob's sections and the hash in
/// kernel symbols. Stable across platforms and builds.
uint64_t fnv1a64(const void *Data, uint64_t Size, uint64_t Seed = 0xcbf29ce484222325ull);

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_KERNELSPEC_H
