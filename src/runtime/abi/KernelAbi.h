//===- runtime/abi/KernelAbi.h - the kernel and firmware C ABI --*- C++ -*-===//
//
// The contract between generated kernels and the device (versioned with the
// blob format). A kernel is a C function
//
//   int32_t <symbol>(void *Ctx, const uint64_t *Args);
//
// Args[i] is the device address (byte offset into DRAM) of operand i, in the
// order the kernel's specialisation lists them (inputs, then the output).
// Ctx is opaque: the kernel only passes it back to the firmware. The kernel
// touches no host memory except scratchpad buffers the firmware granted it,
// and reaches DRAM only through SDMA. It returns 0 on success, else the
// nonzero status a firmware call returned (or ATALLA_KERNEL_ENOMEM when a
// scratchpad allocation failed). Generated objects may reference the
// firmware symbols below and nothing else; the loader refuses any other.
//
// Dependency-free: C++ standard library only.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_KERNELABI_H
#define ATALLA_RUNTIME_ABI_KERNELABI_H

#include <cstdint>

namespace atalla::abi {

/// Version of this ABI; a blob records the version its code was built for.
constexpr uint32_t KernelAbiVersion = 1;

using KernelFn = int32_t (*)(void *Ctx, const uint64_t *Args);

/// Status codes kernels and firmware return.
enum KernelStatus : int32_t {
  ATALLA_OK = 0,
  ATALLA_KERNEL_ENOMEM = 1,      ///< scratchpad exhausted
  ATALLA_SDMA_EBOUNDS_DRAM = 2,  ///< transfer outside DRAM
  ATALLA_SDMA_EBOUNDS_SCPAD = 3, ///< transfer outside the kernel's scratchpad grants
  ATALLA_SDMA_EINVAL = 4,        ///< zero-sized or malformed transfer
  ATALLA_KERNEL_EINDEX = 5,      ///< an index operand (embedding) is out of range
};

/// The firmware services, as C symbols. Their addresses are bound by the
/// loader; see sim/Firmware.h for their implementation.
///
/// void *atalla_scpad_alloc(void *Ctx, uint64_t Bytes, uint64_t Align, int32_t *Sid);
///   A scratchpad buffer of Bytes (Align: power of two >= 64), or null.
/// void atalla_scpad_free(void *Ctx, void *Ptr, int32_t Sid);
///   Frees a buffer; null is a no-op.
/// int32_t atalla_sdma_load(void *Ctx, void *ScpadDst, uint64_t DramSrc,
///                          uint32_t Rows, uint32_t RowBytes, uint64_t DramStrideBytes);
///   2-D tile DRAM -> scratchpad: Rows rows of RowBytes bytes, the rows
///   DramStrideBytes apart in DRAM (0 repeats one row), packed densely in
///   the scratchpad. Bounds-checked against DRAM and the grant; counted.
/// int32_t atalla_sdma_store(void *Ctx, uint64_t DramDst, const void *ScpadSrc,
///                           uint32_t Rows, uint32_t RowBytes, uint64_t DramStrideBytes);
///   2-D tile scratchpad -> DRAM, the mirror of load.
///
/// The bf16 aperture: a DRAM address with bit 62 set (Bf16Aperture + 2 * a)
/// names the bf16 data at DRAM byte a as if it were f32 (each 2-byte bf16
/// element seen as a 4-byte f32 slot). RowBytes and DramStrideBytes then
/// count f32 bytes and must be multiples of 4, as must the offset from the
/// aperture (bf16 elements are 2-byte aligned). A load
/// widens every element to f32 (exact); a store rounds every f32 to bf16,
/// to nearest even (runtime/abi/Bf16.h). The counters record the bf16 bytes
/// that cross DRAM. bf16 kernels (KernelSpec::Type) reach their f32 operands
/// this way, so they compute on f32 working copies with one code generator.
constexpr uint64_t Bf16Aperture = uint64_t(1) << 62;

#define ATALLA_FIRMWARE_SERVICES(X)                                                                \
  X(atalla_scpad_alloc)                                                                            \
  X(atalla_scpad_free)                                                                             \
  X(atalla_sdma_load)                                                                              \
  X(atalla_sdma_store)

extern "C" {
using ScpadAllocFn = void *(*)(void *Ctx, uint64_t Bytes, uint64_t Align, int32_t *Sid);
using ScpadFreeFn = void (*)(void *Ctx, void *Ptr, int32_t Sid);
using SdmaLoadFn = int32_t (*)(void *Ctx, void *ScpadDst, uint64_t DramSrc, uint32_t Rows,
                               uint32_t RowBytes, uint64_t DramStrideBytes);
using SdmaStoreFn = int32_t (*)(void *Ctx, uint64_t DramDst, const void *ScpadSrc, uint32_t Rows,
                                uint32_t RowBytes, uint64_t DramStrideBytes);
}

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_KERNELABI_H
