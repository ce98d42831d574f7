//===- tests/KernelSpecTestSupport.h - operand views for kernel tests -*- C++ -*-===//
//
// The strided operand views the codegen and kernel fuzz tests build specs
// from: contiguous, explicit strides, and permutations of a contiguous base.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_KERNELSPECTESTSUPPORT_H
#define ATALLA_TESTS_KERNELSPECTESTSUPPORT_H

#include "runtime/abi/KernelSpec.h"

#include <optional>
#include <vector>

namespace atalla::test {

/// Row-major strides for Sizes.
inline abi::OperandSpec contiguous(std::vector<int64_t> Sizes) {
  abi::OperandSpec O;
  O.Sizes = Sizes;
  O.Strides.assign(Sizes.size(), 0);
  int64_t S = 1;
  for (size_t D = Sizes.size(); D-- > 0;) {
    O.Strides[D] = S;
    S *= Sizes[D];
  }
  return O;
}

inline abi::OperandSpec view(std::vector<int64_t> Sizes, std::vector<int64_t> Strides) {
  return abi::OperandSpec{std::move(Sizes), std::move(Strides)};
}

/// A permuted view of a contiguous tensor of shape Base: out dim d is base dim Perm[d].
inline abi::OperandSpec permuted(std::vector<int64_t> Base, std::vector<int> Perm) {
  abi::OperandSpec C = contiguous(Base), O;
  for (int P : Perm) {
    O.Sizes.push_back(C.Sizes[P]);
    O.Strides.push_back(C.Strides[P]);
  }
  return O;
}

/// A GEMM's operands: A, B, the bias where given, and C [batch..., M, N]
/// contiguous (A's sizes with B's last).
inline std::vector<abi::OperandSpec> gemmOperands(abi::OperandSpec A, abi::OperandSpec B,
                                                  std::optional<abi::OperandSpec> Bias = {}) {
  std::vector<int64_t> CSizes = A.Sizes;
  CSizes.back() = B.Sizes.back();
  std::vector<abi::OperandSpec> Ops = {std::move(A), std::move(B)};
  if (Bias)
    Ops.push_back(std::move(*Bias));
  Ops.push_back(contiguous(CSizes));
  return Ops;
}

} // namespace atalla::test

#endif // ATALLA_TESTS_KERNELSPECTESTSUPPORT_H
