//===- runtime/abi/Kernels.h - kernel ids and families -----------*- C++ -*-===//
//
// Enumerations and per-kernel traits generated from Kernels.def. Switches
// over KernelId and KernelFamily have no default, so -Werror=switch catches a
// kernel without its traits row or an emitter, and a family without one.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_KERNELS_H
#define ATALLA_RUNTIME_ABI_KERNELS_H

#include <cstdint>
#include <string_view>

namespace atalla::abi {

enum class KernelFamily : uint32_t {
  Gemm,
  Unary,
  Binary,
  Softmax,
  Copy,
  Pad,
  Norm,
  Reduce,
  Gather,
  Chain,
  Select,
  Pool,
  Attention
};

enum class KernelId : uint32_t {
#define ATALLA_KERNEL(Id, Name, Family) Name = Id,
#include "runtime/abi/Kernels.def"
};

/// The kernel's name ("gemm"), or "" for an unknown id.
constexpr std::string_view kernelName(KernelId K) {
  switch (K) {
#define ATALLA_KERNEL(Id, Name, Family)                                                            \
  case KernelId::Name:                                                                             \
    return #Name;
#include "runtime/abi/Kernels.def"
  }
  return "";
}

constexpr KernelFamily kernelFamily(KernelId K) {
  switch (K) {
#define ATALLA_KERNEL(Id, Name, Family)                                                            \
  case KernelId::Name:                                                                             \
    return KernelFamily::Family;
#include "runtime/abi/Kernels.def"
  }
  return KernelFamily::Copy;
}

/// How the chain kernel may use a kernel as a step (Kernels.def's Chain).
enum class ChainUse : uint8_t { NoChain, ChainUnary, ChainBinary };
/// Which special inputs the kernel suite's reference and torch agree on.
enum class SpecialInputs : uint8_t { SpecialsAgree, NanDiffers, NegativesDiffer };

/// A kernel's error against its reference (Kernels.def's Error column).
struct ErrorBound {
  enum Kind : uint8_t { ExactOps, UlpBound, ShapeDerived } K = ExactOps;
  unsigned N = 0; ///< the bound in f32 ulps, for UlpBound
  static constexpr ErrorBound Ulps(unsigned N) { return {UlpBound, N}; }
  static const ErrorBound Exact, FromShape;
  /// An inexact elementwise function (the tolerance model counts its nodes).
  constexpr bool inexactElementwise() const { return K == UlpBound; }
};
inline constexpr ErrorBound ErrorBound::Exact{ErrorBound::ExactOps, 0};
inline constexpr ErrorBound ErrorBound::FromShape{ErrorBound::ShapeDerived, 0};

struct KernelTraits {
  ChainUse Chain = ChainUse::NoChain;
  ErrorBound Error;
  bool FuzzAnyValue = false; ///< the program fuzzer may apply it to any value
  SpecialInputs Specials = SpecialInputs::SpecialsAgree;
};

namespace traits_detail {
constexpr bool FuzzAny = true, FuzzNone = false;
} // namespace traits_detail

/// The kernel's row of traits in Kernels.def.
constexpr KernelTraits kernelTraits(KernelId K) {
  switch (K) {
#define ATALLA_KERNEL_TRAITS(Name, Chain, Error, Fuzz, Specials)                                 \
  case KernelId::Name:                                                                             \
    return KernelTraits{ChainUse::Chain, ErrorBound::Error, traits_detail::Fuzz, SpecialInputs::Specials};
#include "runtime/abi/Kernels.def"
  }
  return KernelTraits{};
}

/// Whether \p Raw names a kernel of this build (blobs are validated with it).
constexpr bool isKnownKernel(uint32_t Raw) {
  switch (Raw) {
#define ATALLA_KERNEL(Id, Name, Family) case Id:
#include "runtime/abi/Kernels.def"
    return true;
  default:
    return false;
  }
}

constexpr std::string_view familyName(KernelFamily F) {
  switch (F) {
  case KernelFamily::Gemm: return "gemm";
  case KernelFamily::Unary: return "unary";
  case KernelFamily::Binary: return "binary";
  case KernelFamily::Softmax: return "softmax";
  case KernelFamily::Copy: return "copy";
  case KernelFamily::Pad: return "pad";
  case KernelFamily::Norm: return "norm";
  case KernelFamily::Reduce: return "reduce";
  case KernelFamily::Gather: return "gather";
  case KernelFamily::Chain: return "chain";
  case KernelFamily::Select: return "select";
  case KernelFamily::Pool: return "pool";
  case KernelFamily::Attention: return "attention";
  }
  return "";
}

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_KERNELS_H
