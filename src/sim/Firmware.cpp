//===- sim/Firmware.cpp - the firmware services as C symbols -------------===//
//
// Generated kernels call the firmware through plain C symbols (see
// runtime/abi/KernelAbi.h) with an opaque context; these thunks recover the
// Device from it and forward. They are the only host code a kernel object
// may link against, so the loader binds exactly the table firmwareSymbols()
// returns.
//
//===----------------------------------------------------------------------===//
#include "sim/Device.h"

#include <type_traits>

using namespace atalla;
using namespace atalla::sim;

static Device &deviceOf(void *Ctx) { return *static_cast<Device *>(Ctx); }

extern "C" {

void *atalla_scpad_alloc(void *Ctx, uint64_t Bytes, uint64_t Align, int32_t *Sid) {
  return deviceOf(Ctx).scpadAlloc(Bytes, Align, Sid);
}

void atalla_scpad_free(void *Ctx, void *Ptr, int32_t Sid) { deviceOf(Ctx).scpadFree(Ptr, Sid); }

int32_t atalla_sdma_load(void *Ctx, void *ScpadDst, uint64_t DramSrc, uint32_t Rows,
                         uint32_t RowBytes, uint64_t DramStrideBytes) {
  return deviceOf(Ctx).sdmaLoad(ScpadDst, DramSrc, Rows, RowBytes, DramStrideBytes);
}

int32_t atalla_sdma_store(void *Ctx, uint64_t DramDst, const void *ScpadSrc, uint32_t Rows,
                          uint32_t RowBytes, uint64_t DramStrideBytes) {
  return deviceOf(Ctx).sdmaStore(DramDst, ScpadSrc, Rows, RowBytes, DramStrideBytes);
}

} // extern "C"

// The ABI header's typedefs pin each thunk's signature: a drifted thunk is a
// compile error here rather than a miscompiled call in a kernel.
#define ATALLA_CHECK_SIGNATURE(Name, Type)                                                         \
  static_assert(std::is_same_v<decltype(&Name), abi::Type>, #Name " drifted from KernelAbi.h");
ATALLA_CHECK_SIGNATURE(atalla_scpad_alloc, ScpadAllocFn)
ATALLA_CHECK_SIGNATURE(atalla_scpad_free, ScpadFreeFn)
ATALLA_CHECK_SIGNATURE(atalla_sdma_load, SdmaLoadFn)
ATALLA_CHECK_SIGNATURE(atalla_sdma_store, SdmaStoreFn)
#undef ATALLA_CHECK_SIGNATURE

std::vector<std::pair<std::string, void *>> atalla::sim::firmwareSymbols() {
  // The X-macro keeps this table and the ABI's service list from drifting.
  return {
#define X(Name) {#Name, reinterpret_cast<void *>(&Name)},
      ATALLA_FIRMWARE_SERVICES(X)
#undef X
  };
}
