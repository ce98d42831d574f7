//===- sim/Device.h - the simulated Atalla device ---------------*- C++ -*-===//
//
// DRAM (a byte array addressed by device address), the scratchpads with the
// firmware's allocator, and the SDMA engine that moves 2-D tiles between
// them, bounds-checked and counted. Kernels call the firmware through the C
// symbols of runtime/abi/KernelAbi.h with the Device as their context.
// Defaults follow ../shared/ATALLA.md: 2 pads x 1 MiB (the RTL), 64-byte
// DRAM and 256-byte scratchpad alignment.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SIM_DEVICE_H
#define ATALLA_SIM_DEVICE_H

#include "runtime/abi/KernelAbi.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace atalla::sim {

struct DeviceConfig {
  uint64_t DramBytes = 64ull << 20;
  uint32_t NumPads = 2;
  uint64_t PadBytes = 1ull << 20;
  uint64_t ScpadAlign = 256; ///< minimum alignment of scratchpad grants
  /// Once a kernel invocation has stored this many bytes into DRAM, its
  /// further SDMA stores of at least 4 KiB stream past the host's caches
  /// (a DMA engine's writes do not allocate in a CPU's cache). Default
  /// (defaultStreamAfterBytes): a quarter of the host's last-level cache,
  /// at least 256 KiB; an output that fits there is read from the cache by
  /// the kernel after it, so it goes through the cache.
  uint64_t StreamAfterBytes = defaultStreamAfterBytes();
  static uint64_t defaultStreamAfterBytes();
};

struct Counters {
  uint64_t KernelCalls = 0;
  uint64_t FirmwareCalls = 0;
  uint64_t SdmaLoads = 0, SdmaStores = 0;
  uint64_t SdmaBytesIn = 0;  ///< DRAM -> scratchpad
  uint64_t SdmaBytesOut = 0; ///< scratchpad -> DRAM
  uint64_t ScpadAllocs = 0, ScpadFrees = 0, ScpadFailures = 0;
  std::vector<uint64_t> ScpadHighWater; ///< bytes, per pad
  /// Bytes, per pad, at the peak of the latest invoke() alone (zeroed when
  /// each kernel call starts), for per-kernel profiles.
  std::vector<uint64_t> InvokeScpadPeak;
  uint64_t HostBytesIn = 0, HostBytesOut = 0; ///< writeDram / readDram (inputs, outputs, fallback)
  /// Firmware calls refused as misuse (a free of a pointer that is no live
  /// grant, an SDMA transfer out of bounds or malformed); allocation
  /// failures count in ScpadFailures instead. The last one is described by
  /// Device::lastFirmwareError().
  uint64_t FirmwareErrors = 0;
  uint64_t ScpadReclaimed = 0; ///< grants a kernel left live, freed by invoke()
};

class Device {
public:
  explicit Device(DeviceConfig Config);
  ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  const DeviceConfig &config() const;
  uint64_t dramBytes() const;

  /// Host access to DRAM (inputs, constants, outputs, fallback transfers),
  /// bounds-checked and counted as host bytes.
  llvm::Error writeDram(uint64_t Addr, llvm::ArrayRef<uint8_t> Bytes);
  llvm::Error readDram(uint64_t Addr, llvm::MutableArrayRef<uint8_t> Out);

  /// Runs one kernel with this device as its context. Scratchpad grants the
  /// kernel did not free are reclaimed afterwards. Returns the kernel's status.
  int32_t invoke(abi::KernelFn Fn, const uint64_t *Args);

  /// Clears scratchpads and grants and zeroes DRAM; counters are kept.
  void reset();
  /// Reclaims every scratchpad grant (a kernel that failed may leave some);
  /// DRAM and the scratchpads' contents are kept.
  void reclaimGrants();
  const Counters &counters() const;
  void resetCounters();
  /// What the last refused firmware call did wrong ("" if none yet), so a
  /// runtime can explain a kernel's nonzero status.
  const std::string &lastFirmwareError() const;

  // The firmware services (what the extern "C" thunks forward to).
  void *scpadAlloc(uint64_t Bytes, uint64_t Align, int32_t *Sid);
  void scpadFree(void *Ptr, int32_t Sid);
  int32_t sdmaLoad(void *ScpadDst, uint64_t DramSrc, uint32_t Rows, uint32_t RowBytes,
                   uint64_t DramStrideBytes);
  int32_t sdmaStore(uint64_t DramDst, const void *ScpadSrc, uint32_t Rows, uint32_t RowBytes,
                    uint64_t DramStrideBytes);
  /// The bf16 aperture's transfers (KernelAbi.h), reached from sdmaLoad and
  /// sdmaStore for addresses with Bf16Aperture set.
  int32_t sdmaLoadBf16(void *ScpadDst, uint64_t DramSrc, uint32_t Rows, uint32_t RowBytes,
                       uint64_t DramStrideBytes);
  int32_t sdmaStoreBf16(uint64_t DramDst, const void *ScpadSrc, uint32_t Rows, uint32_t RowBytes,
                        uint64_t DramStrideBytes);

private:
  struct Impl;
  std::unique_ptr<Impl> P;
};

/// The firmware symbols generated code may reference, with the addresses of
/// their implementations (extern "C" thunks taking the Device as Ctx).
std::vector<std::pair<std::string, void *>> firmwareSymbols();

} // namespace atalla::sim

#endif // ATALLA_SIM_DEVICE_H
