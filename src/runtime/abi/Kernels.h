//===- runtime/abi/Kernels.h - kernel ids and families -----------*- C++ -*-===//
//
// Enumerations generated from Kernels.def. Switches over KernelFamily have no
// default, so -Werror=switch catches a family without an emitter.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_KERNELS_H
#define ATALLA_RUNTIME_ABI_KERNELS_H

#include <cstdint>
#include <string_view>

namespace atalla::abi {

enum class KernelFamily : uint32_t { Gemm, Unary, Binary, Softmax, Copy, Pad, Norm, Reduce, Gather, Chain, Select };

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
  }
  return "";
}

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_KERNELS_H
