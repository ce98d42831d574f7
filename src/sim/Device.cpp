//===- sim/Device.cpp - the simulated Atalla device -----------------------===//
//
// DRAM is one zeroed byte vector; each scratchpad is its own page-aligned
// host buffer so kernels compute in it through plain pointers. Every firmware
// service validates what a kernel hands it and answers with a status instead
// of trusting it: a bad kernel must show up as a counted error, not as a
// corrupted host heap.
//
//===----------------------------------------------------------------------===//
#include "sim/Device.h"

#include "runtime/abi/Bf16.h"
#include "support/AlignedAllocator.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cassert>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace atalla;
using namespace atalla::sim;

namespace {

/// Pads are page-aligned so that any grant alignment up to a page is a
/// property of the offset alone, and so a kernel's vector loads never
/// straddle a page the pad does not own.
constexpr uint64_t PadHostAlign = 4096;

/// DRAM's host memory is page-aligned too, so a device address's alignment
/// is its host address's: an operand the compiler placed on a 64-byte
/// boundary is copied by SDMA from a whole cache line, as the hardware's
/// DMA reads it. (A plain vector's large buffers start 16 bytes past a
/// page, so every copy of every operand split cache lines, and a small
/// one's offset depended on the heap: measured on the AVX-512 Xeon, the
/// same small GEMM ran 10 % apart from one process to the next.) Huge
/// pages for DRAM and the pads (2 MiB-aligned, madvise(MADV_HUGEPAGE))
/// were measured on the AVX-512 Xeon: 12 x 128x128x64 0.3-0.9 % faster,
/// the other GEMMs and the models within noise; not worth the rounding.
using DramBytes = atalla::AlignedVector<uint8_t, PadHostAlign>;

/// SDMA stores of at least this many bytes may stream past the host's
/// caches (DeviceConfig::StreamAfterBytes says after how much output).
constexpr uint64_t StreamingStoreMin = 4096;

/// The bf16 aperture's conversions (runtime/abi/Bf16.h's loops, which are
/// branch-free and vectorise), compiled once per x86 vector ISA and picked
/// at load time for the host: SSE2 code converts 4 elements an instruction,
/// AVX-512 code 16, and the aperture converts every element a bf16 kernel
/// moves.
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
#define ATALLA_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ATALLA_ISA_CLONES
#endif
ATALLA_ISA_CLONES void narrowRowPortable(uint8_t *D, const uint8_t *S, size_t N) {
  atalla::abi::bf16FromF32N(D, S, N);
}
ATALLA_ISA_CLONES void widenRow(uint8_t *D, const uint8_t *S, size_t N) { atalla::abi::f32FromBf16N(D, S, N); }

#if defined(__x86_64__) && defined(__GNUC__)
/// Hosts with AVX512-BF16: vcvtne2ps2bf16 rounds 32 floats to nearest even
/// in one instruction and quiets NaNs as the definition does (sign and top
/// payload kept), but flushes subnormal inputs to zero, where the
/// definition rounds them: a group of 32 holding one goes the portable way.
/// An input is subnormal only where its output is +-0, so one 16-bit test
/// of the 32 outputs comes first, and only a group with a +-0 output (a
/// zero or subnormal input, as after a ReLU) tests its inputs. Testing
/// every input (four 32-bit tests per 32 values, on the one port the
/// conversion also needs) bounded the loop: measured on the AVX-512 Xeon,
/// 32 values from L1 took 1.8 ns that way and 1.1 ns this way (half of
/// them zeros: 2.0 and 1.8 ns).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void narrowRowBf16(uint8_t *D, const uint8_t *S, size_t N) {
  const __m512i Mag = _mm512_set1_epi32(0x7fffffff), Mag16 = _mm512_set1_epi16(0x7fff);
  size_t I = 0;
  for (; I + 32 <= N; I += 32) {
    const __m512 Lo = _mm512_loadu_ps(S + 4 * I), Hi = _mm512_loadu_ps(S + 4 * I + 64);
    const __m512i H = (__m512i)_mm512_cvtne2ps_pbh(Hi, Lo); // outputs 0-15 from Lo, 16-31 from Hi
    if (const __mmask32 Zero = _mm512_testn_epi16_mask(H, Mag16)) {
      const __mmask16 Sub = (__mmask16(Zero) & _mm512_test_epi32_mask(_mm512_castps_si512(Lo), Mag)) |
                            (__mmask16(Zero >> 16) & _mm512_test_epi32_mask(_mm512_castps_si512(Hi), Mag));
      if (Sub) {
        atalla::abi::bf16FromF32N(D + 2 * I, S + 4 * I, 32);
        continue;
      }
    }
    _mm512_storeu_si512(D + 2 * I, H);
  }
  atalla::abi::bf16FromF32N(D + 2 * I, S + 4 * I, N - I);
}

using NarrowFn = void (*)(uint8_t *, const uint8_t *, size_t);
NarrowFn pickNarrow() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") ? narrowRowBf16 : narrowRowPortable;
}
void narrowRow(uint8_t *D, const uint8_t *S, size_t N) {
  static const NarrowFn Fn = pickNarrow();
  Fn(D, S, N);
}
#else
void narrowRow(uint8_t *D, const uint8_t *S, size_t N) { narrowRowPortable(D, S, N); }
#endif

/// The SDMA engine's write into DRAM. Like a DMA engine's, a large write
/// does not allocate in the (host CPU's) cache: with Stream, it uses
/// streaming stores, so the destination is not first read in and the pad's
/// data stays cached. A kernel's first DeviceConfig::StreamAfterBytes go
/// through the cache, where the next kernel will find an output that fits.
void dmaWrite(uint8_t *D, const uint8_t *S, uint64_t N, bool Stream) {
#if defined(__x86_64__)
  if (Stream && N >= StreamingStoreMin) {
    uint64_t Head = (16 - (reinterpret_cast<uintptr_t>(D) & 15)) & 15;
    std::memcpy(D, S, Head);
    D += Head, S += Head, N -= Head;
    uint64_t Vecs = N / 16;
    for (uint64_t I = 0; I < Vecs; ++I)
      _mm_stream_si128(reinterpret_cast<__m128i *>(D) + I,
                       _mm_loadu_si128(reinterpret_cast<const __m128i *>(S) + I));
    std::memcpy(D + Vecs * 16, S + Vecs * 16, N - Vecs * 16);
    _mm_sfence();
    return;
  }
#endif
  std::memcpy(D, S, N);
}

struct FreeDeleter {
  void operator()(uint8_t *P) const { std::free(P); }
};

std::string hex(uint64_t V) { return "0x" + llvm::utohexstr(V, /*LowerCase=*/true); }

/// Disjoint byte ranges of a pad, offset -> size, sorted by offset: a flat
/// map (a pad holds a handful of grants at a time). It keeps its capacity
/// across clear(), so the firmware's alloc and free calls allocate no host
/// memory once a kernel has run: a node-based map cost a malloc and a free
/// per call, about 5 % of a 64^3 GEMM's time on the AVX-512 Xeon.
class RangeMap {
public:
  using Entry = std::pair<uint64_t, uint64_t>;
  using Iter = std::vector<Entry>::iterator;
  using ConstIter = std::vector<Entry>::const_iterator;

  Iter begin() { return V.begin(); }
  Iter end() { return V.end(); }
  ConstIter begin() const { return V.begin(); }
  ConstIter end() const { return V.end(); }
  size_t size() const { return V.size(); }
  void clear() { V.clear(); }
  /// The first range starting at or after \p Off.
  Iter lowerBound(uint64_t Off) {
    return std::lower_bound(V.begin(), V.end(), Off, [](const Entry &E, uint64_t O) { return E.first < O; });
  }
  /// The first range starting after \p Off.
  ConstIter upperBound(uint64_t Off) const {
    return std::upper_bound(V.begin(), V.end(), Off, [](uint64_t O, const Entry &E) { return O < E.first; });
  }
  Iter find(uint64_t Off) {
    Iter It = lowerBound(Off);
    return It != V.end() && It->first == Off ? It : V.end();
  }
  /// Inserts a range that overlaps none present; returns the iterator to it.
  Iter insert(uint64_t Off, uint64_t Size) { return V.insert(lowerBound(Off), Entry(Off, Size)); }
  Iter erase(Iter It) { return V.erase(It); }

private:
  std::vector<Entry> V;
};

/// One scratchpad: its buffer, the free list and the live grants, both keyed
/// by offset so first fit, coalescing and "which grant holds this pointer"
/// are ordered lookups (binary searches of a RangeMap).
struct Pad {
  std::unique_ptr<uint8_t, FreeDeleter> Mem;
  uint64_t Bytes = 0;
  RangeMap FreeList; ///< offset -> size, disjoint, coalesced
  RangeMap Grants;   ///< offset -> size of each live grant
  uint64_t InUse = 0;

  uintptr_t base() const { return reinterpret_cast<uintptr_t>(Mem.get()); }
  bool contains(uintptr_t P) const { return P >= base() && P - base() < Bytes; }

  void clear() {
    FreeList.clear();
    Grants.clear();
    FreeList.insert(0, Bytes);
    InUse = 0;
  }

  /// First fit: the lowest free block that can hold Size bytes at Align
  /// (alignment of the host address, which equals that of the offset for
  /// alignments up to a page). Returns the offset, or ~0 if nothing fits.
  uint64_t allocate(uint64_t Size, uint64_t Align) {
    for (auto It = FreeList.begin(); It != FreeList.end(); ++It) {
      uint64_t Off = It->first, Len = It->second;
      uint64_t Rem = (base() + Off) % Align;
      uint64_t Skip = Rem ? Align - Rem : 0;
      if (Skip > Len || Size > Len - Skip)
        continue;
      uint64_t At = Off + Skip;
      // The block becomes its skipped head and its tail, in place.
      const uint64_t Tail = Len - Skip - Size;
      if (Skip) {
        It->second = Skip;
        if (Tail)
          FreeList.insert(At + Size, Tail);
      } else if (Tail) {
        *It = {At + Size, Tail};
      } else {
        FreeList.erase(It);
      }
      Grants.insert(At, Size);
      InUse += Size;
      return At;
    }
    return ~uint64_t(0);
  }

  /// Returns the grant starting at Off to the free list, merging it with
  /// its free neighbours. False if Off starts no live grant.
  bool release(uint64_t Off) {
    auto G = Grants.find(Off);
    if (G == Grants.end())
      return false;
    uint64_t Start = Off, Len = G->second;
    Grants.erase(G);
    InUse -= Len;
    auto Next = FreeList.lowerBound(Start);
    if (Next != FreeList.end() && Next->first == Start + Len) {
      Len += Next->second;
      Next = FreeList.erase(Next);
    }
    if (Next != FreeList.begin()) {
      auto Prev = std::prev(Next);
      if (Prev->first + Prev->second == Start) {
        Prev->second += Len; // the free block before it grows over it; its offset, and the order, stay
        return true;
      }
    }
    FreeList.insert(Start, Len);
    return true;
  }

  /// True if [P, P + N) lies inside one live grant.
  bool insideGrant(uintptr_t P, uint64_t N) const {
    if (!contains(P))
      return false;
    uint64_t Off = P - base();
    auto It = Grants.upperBound(Off);
    if (It == Grants.begin())
      return false;
    --It;
    uint64_t End = It->first + It->second;
    return Off < End && N <= End - Off;
  }
};

} // namespace

struct Device::Impl {
  DeviceConfig Config;
  DramBytes Dram;
  std::vector<Pad> Pads;
  Counters C;
  std::string LastError;
  /// Bytes SDMA has stored since the current invoke began.
  uint64_t InvokeBytesOut = 0;

  int32_t refuse(int32_t Status, std::string Why) {
    ++C.FirmwareErrors;
    LastError = std::move(Why);
    return Status;
  }

  /// True if every byte of Rows rows of RowBytes, Stride apart from Addr,
  /// lies inside DRAM. Rows and RowBytes are nonzero.
  bool dramSpanOk(uint64_t Addr, uint32_t Rows, uint32_t RowBytes, uint64_t Stride) const {
    uint64_t LastRow, LastStart, End;
    if (__builtin_mul_overflow(uint64_t(Rows - 1), Stride, &LastRow) ||
        __builtin_add_overflow(Addr, LastRow, &LastStart) ||
        __builtin_add_overflow(LastStart, uint64_t(RowBytes), &End))
      return false;
    return End <= Dram.size();
  }

  bool scpadSpanOk(uintptr_t P, uint64_t N) const {
    for (const Pad &Pd : Pads)
      if (Pd.contains(P))
        return Pd.insideGrant(P, N);
    return false;
  }

  /// A bf16-aperture transfer in DRAM bytes: the bf16 extent's address, row
  /// bytes and stride (half the f32 view's).
  struct ApertureSpan {
    uint64_t Addr = 0, Stride = 0;
    uint32_t RowBytes = 0;
  };
  /// Checks a bf16-aperture transfer (KernelAbi.h) of Rows x RowBytes f32
  /// bytes between \p View and scratchpad \p Scpad, and translates it into
  /// \p Span; a refusal's status otherwise.
  int32_t apertureSpan(bool Load, uint64_t View, uintptr_t Scpad, uint32_t Rows, uint32_t RowBytes, uint64_t Stride,
                       ApertureSpan &Span) {
    const char *Op = Load ? "sdma_load" : "sdma_store";
    const uint64_t Off = View & ~atalla::abi::Bf16Aperture;
    if ((Off & 3) || (RowBytes & 3) || (Stride & 3))
      return refuse(atalla::abi::ATALLA_SDMA_EINVAL,
                    std::string(Op) + " through the bf16 aperture at " + hex(View) + " (" + std::to_string(RowBytes) +
                        " bytes a row, stride " + std::to_string(Stride) + ") is not whole f32 elements");
    Span = {Off / 2, Stride / 2, RowBytes / 2};
    if (!dramSpanOk(Span.Addr, Rows, Span.RowBytes, Span.Stride))
      return refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,
                    std::string(Op) + " of bf16 at " + hex(Span.Addr) + " (" + std::to_string(Rows) + " rows x " +
                        std::to_string(Span.RowBytes) + " bytes, stride " + std::to_string(Span.Stride) + ") " +
                        (Load ? "reads" : "writes") + " outside DRAM");
    const uint64_t Total = uint64_t(Rows) * RowBytes;
    if (!scpadSpanOk(Scpad, Total))
      return refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD, std::string(Op) + " of " + std::to_string(Total) +
                                                                " bytes at " + hex(Scpad) +
                                                                " is not inside one live scratchpad grant");
    return atalla::abi::ATALLA_OK;
  }

  void reclaimAll() {
    for (Pad &Pd : Pads)
      Pd.clear();
  }
};

// A fixed 256 KiB threshold was measured on a host whose memcpy ran at
// 11-16 GB/s (softmax 4096 x 1024, a 16 MiB output: 5.5-6.5 -> 4.7 ms). On
// the AVX-512 Xeon with a large last-level cache it cost instead: the UNet
// (activations of 5 MiB) 16.9 ms without streaming, 19.2 with it (medians of
// six runs), softmax 4096 x 1024 about 5 % slower.
uint64_t DeviceConfig::defaultStreamAfterBytes() {
  static const uint64_t V = [] {
    long L3 = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
    return std::max<uint64_t>(256 << 10, L3 > 0 ? uint64_t(L3) / 4 : 0);
  }();
  return V;
}

Device::Device(DeviceConfig Config) : P(std::make_unique<Impl>()) {
  assert(Config.NumPads > 0 && Config.PadBytes > 0 && "a device needs scratchpad memory");
  assert(llvm::isPowerOf2_64(Config.ScpadAlign) && "scratchpad alignment must be a power of 2");
  P->Config = Config;
  P->Dram.assign(Config.DramBytes, 0);
  P->Pads.resize(Config.NumPads);
  // aligned_alloc wants a size that is a multiple of the alignment.
  uint64_t HostBytes = llvm::alignTo(Config.PadBytes, PadHostAlign);
  for (Pad &Pd : P->Pads) {
    void *Mem = std::aligned_alloc(PadHostAlign, HostBytes);
    if (!Mem)
      llvm::report_fatal_error("cannot allocate the simulated scratchpads");
    std::memset(Mem, 0, HostBytes);
    Pd.Mem.reset(static_cast<uint8_t *>(Mem));
    Pd.Bytes = Config.PadBytes;
    Pd.clear();
  }
  P->C.ScpadHighWater.assign(Config.NumPads, 0);
  P->C.InvokeScpadPeak.assign(Config.NumPads, 0);
}

Device::~Device() = default;

const DeviceConfig &Device::config() const { return P->Config; }
uint64_t Device::dramBytes() const { return P->Dram.size(); }
const Counters &Device::counters() const { return P->C; }
const std::string &Device::lastFirmwareError() const { return P->LastError; }

void Device::resetCounters() {
  P->C = Counters();
  P->C.ScpadHighWater.assign(P->Config.NumPads, 0);
  P->C.InvokeScpadPeak.assign(P->Config.NumPads, 0);
}

llvm::Error Device::writeDram(uint64_t Addr, llvm::ArrayRef<uint8_t> Bytes) {
  uint64_t N = Bytes.size();
  if (Addr > P->Dram.size() || N > P->Dram.size() - Addr)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "DRAM write of " + std::to_string(N) + " bytes at " +
                                       hex(Addr) + " is outside DRAM (" +
                                       std::to_string(P->Dram.size()) + " bytes)");
  if (N)
    std::memcpy(P->Dram.data() + Addr, Bytes.data(), N);
  P->C.HostBytesIn += N;
  return llvm::Error::success();
}

llvm::Error Device::readDram(uint64_t Addr, llvm::MutableArrayRef<uint8_t> Out) {
  uint64_t N = Out.size();
  if (Addr > P->Dram.size() || N > P->Dram.size() - Addr)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "DRAM read of " + std::to_string(N) + " bytes at " + hex(Addr) +
                                       " is outside DRAM (" + std::to_string(P->Dram.size()) +
                                       " bytes)");
  if (N)
    std::memcpy(Out.data(), P->Dram.data() + Addr, N);
  P->C.HostBytesOut += N;
  return llvm::Error::success();
}

int32_t Device::invoke(atalla::abi::KernelFn Fn, const uint64_t *Args) {
  assert(Fn && "invoking a null kernel");
  ++P->C.KernelCalls;
  P->InvokeBytesOut = 0;
  std::fill(P->C.InvokeScpadPeak.begin(), P->C.InvokeScpadPeak.end(), 0);
  int32_t Status = Fn(this, Args);
  // A kernel that forgets a free must not shrink the pads of the next one.
  for (Pad &Pd : P->Pads)
    if (Pd.Grants.size()) { // a pad whose grants were all freed is whole again already
      P->C.ScpadReclaimed += Pd.Grants.size();
      Pd.clear();
    }
  return Status;
}

void Device::reclaimGrants() { P->reclaimAll(); }

void Device::reset() {
  P->reclaimAll();
  std::fill(P->Dram.begin(), P->Dram.end(), 0);
  for (Pad &Pd : P->Pads)
    std::memset(Pd.Mem.get(), 0, Pd.Bytes);
}

void *Device::scpadAlloc(uint64_t Bytes, uint64_t Align, int32_t *Sid) {
  Counters &C = P->C;
  ++C.FirmwareCalls;
  if (Bytes == 0 || Bytes > P->Config.PadBytes || Align < 64 || !llvm::isPowerOf2_64(Align)) {
    ++C.ScpadFailures;
    return nullptr;
  }
  Align = std::max(Align, P->Config.ScpadAlign);
  for (uint32_t I = 0; I < P->Pads.size(); ++I) {
    Pad &Pd = P->Pads[I];
    uint64_t Off = Pd.allocate(Bytes, Align);
    if (Off == ~uint64_t(0))
      continue;
    ++C.ScpadAllocs;
    C.ScpadHighWater[I] = std::max(C.ScpadHighWater[I], Pd.InUse);
    C.InvokeScpadPeak[I] = std::max(C.InvokeScpadPeak[I], Pd.InUse);
    if (Sid)
      *Sid = int32_t(I);
    return Pd.Mem.get() + Off;
  }
  ++C.ScpadFailures;
  return nullptr;
}

void Device::scpadFree(void *Ptr, int32_t Sid) {
  ++P->C.FirmwareCalls;
  if (!Ptr)
    return;
  uintptr_t A = reinterpret_cast<uintptr_t>(Ptr);
  if (Sid < 0 || uint32_t(Sid) >= P->Pads.size()) {
    P->refuse(0, "scpad_free of " + hex(A) + " names pad " + std::to_string(Sid) +
                     ", which does not exist");
    return;
  }
  Pad &Pd = P->Pads[Sid];
  if (!Pd.contains(A) || !Pd.release(A - Pd.base())) {
    P->refuse(0, "scpad_free of " + hex(A) + " on pad " + std::to_string(Sid) +
                     ", which is not a live grant of that pad");
    return;
  }
  ++P->C.ScpadFrees;
}

/// Rows of one N-byte element each, from S (SStride apart) to D (DStride
/// apart), in order (overlapping destinations: the last row wins).
template <unsigned N>
static void moveElements(uint8_t *D, uint64_t DStride, const uint8_t *S, uint64_t SStride, uint32_t Rows) {
  uint8_t V[N];
  for (uint32_t R = 0; R < Rows; ++R) {
    std::memcpy(V, S + uint64_t(R) * SStride, N);
    std::memcpy(D + uint64_t(R) * DStride, V, N);
  }
}

/// Rows of one element of 1, 4 or 8 bytes (gathers, broadcasts, scatters)
/// moved without a library call each; false for other row sizes.
static bool moveElementRows(uint8_t *D, uint64_t DStride, const uint8_t *S, uint64_t SStride, uint32_t Rows,
                            uint32_t RowBytes) {
  switch (RowBytes) {
  case 1: moveElements<1>(D, DStride, S, SStride, Rows); return true;
  case 4: moveElements<4>(D, DStride, S, SStride, Rows); return true;
  case 8: moveElements<8>(D, DStride, S, SStride, Rows); return true;
  default: return false;
  }
}

int32_t Device::sdmaLoad(void *ScpadDst, uint64_t DramSrc, uint32_t Rows, uint32_t RowBytes,
                         uint64_t DramStrideBytes) {
  Counters &C = P->C;
  ++C.FirmwareCalls;
  if (Rows == 0 || RowBytes == 0)
    return P->refuse(atalla::abi::ATALLA_SDMA_EINVAL, "sdma_load of " + std::to_string(Rows) + " rows x " +
                                                  std::to_string(RowBytes) + " bytes");
  if ((DramSrc >> 62) == 1) // the bf16 aperture (an address with bit 63 set is outside DRAM)
    return sdmaLoadBf16(ScpadDst, DramSrc, Rows, RowBytes, DramStrideBytes);
  if (!P->dramSpanOk(DramSrc, Rows, RowBytes, DramStrideBytes))
    return P->refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,
                     "sdma_load from " + hex(DramSrc) + " (" + std::to_string(Rows) + " rows x " +
                         std::to_string(RowBytes) + " bytes, stride " +
                         std::to_string(DramStrideBytes) + ") reads outside DRAM");
  uint64_t Total = uint64_t(Rows) * RowBytes;
  uintptr_t Dst = reinterpret_cast<uintptr_t>(ScpadDst);
  if (!P->scpadSpanOk(Dst, Total))
    return P->refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD,
                     "sdma_load of " + std::to_string(Total) + " bytes to " + hex(Dst) +
                         " is not inside one live scratchpad grant");
  uint8_t *D = static_cast<uint8_t *>(ScpadDst);
  const uint8_t *S = P->Dram.data() + DramSrc;
  // A dense transfer is one memcpy. All figures from the AVX-512 Xeon (one
  // thread, glibc 2.36); in atalla-bench, medians of four to six rounds,
  // microseconds per call of the f32 12 x 128x128x64 bgemm unless named.
  // - Rates, standalone, source in L2: 3.5-7 KiB copies (a GEMM's A and C
  //   tiles) 99-112 GB/s; 32 KiB (a batch's B) 45 GB/s however cut, as
  //   source and destination together exceed L1.
  // - Inside the bgemm a copy costs more. Timed there with rdtscp, an A
  //   load's copy takes 262 TSC cycles, a second copy of the same lines
  //   right after it 126-136 (rep movsb and a zmm loop alike: the core's
  //   L1-to-L1 rate). Leaving out only the memcpy (the call kept) saves
  //   16.6 of 183 for A's 108 loads of 3.5 KiB and 15.3 for B's 12 of
  //   32 KiB; copying A from one L1-hot source instead saves 5.
  // - With every copy left out (loads and stores, inside the timed loop
  //   only) the kernels alone beat oneDNN's whole call; the copies are what
  //   the generated side loses (oneDNN / no copies / as built): bgemm
  //   148.2 / 142.9 / 174.3, 128^3 24.4 / 23.9 / 27.5, 256^3 191.3 / 186.7
  //   / 202.5, 512x512x64 197.6 / 192.8 / 222.2.
  // - Tried instead, each within noise or slower: a zmm copy loop; glibc's
  //   rep movsb threshold at 2 KiB or 1 MB; prefetching the next
  //   equal-sized block after each load into L1, L2 or L3 (187 -> 188-191;
  //   after B's loads only, into L2 or L3, 183 -> 187-189); a non-temporal
  //   prefetch of each load's source (184 -> 196; standalone, a zmm copy
  //   with it: 32 KiB at 44-45 GB/s, 37 prefetching 2 KiB ahead); for the
  //   stores, cldemote of each destination (184 -> 309), C streamed from the
  //   first byte or after 256 KiB (StreamAfterBytes; 186 -> 198-203), and a
  //   prefetchw of the next equal-sized block after each dense store (C's
  //   next tile, at most its first 2, 8 or 64 KiB; 172.6 -> 174.2-179.5,
  //   512x512x64 220.7 -> 222.0-243.9).
  if (DramStrideBytes == RowBytes) {
    std::memcpy(D, S, Total);
  } else if (moveElementRows(D, RowBytes, S, DramStrideBytes, Rows, RowBytes)) {
    // element gathers and broadcasts (stride 0)
  } else {
    for (uint32_t R = 0; R < Rows; ++R)
      std::memcpy(D + uint64_t(R) * RowBytes, S + uint64_t(R) * DramStrideBytes, RowBytes);
  }
  ++C.SdmaLoads;
  C.SdmaBytesIn += Total;
  return atalla::abi::ATALLA_OK;
}

int32_t Device::sdmaStore(uint64_t DramDst, const void *ScpadSrc, uint32_t Rows,
                          uint32_t RowBytes, uint64_t DramStrideBytes) {
  Counters &C = P->C;
  ++C.FirmwareCalls;
  if (Rows == 0 || RowBytes == 0)
    return P->refuse(atalla::abi::ATALLA_SDMA_EINVAL, "sdma_store of " + std::to_string(Rows) +
                                                  " rows x " + std::to_string(RowBytes) + " bytes");
  if ((DramDst >> 62) == 1) // the bf16 aperture
    return sdmaStoreBf16(DramDst, ScpadSrc, Rows, RowBytes, DramStrideBytes);
  if (!P->dramSpanOk(DramDst, Rows, RowBytes, DramStrideBytes))
    return P->refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,
                     "sdma_store to " + hex(DramDst) + " (" + std::to_string(Rows) + " rows x " +
                         std::to_string(RowBytes) + " bytes, stride " +
                         std::to_string(DramStrideBytes) + ") writes outside DRAM");
  uint64_t Total = uint64_t(Rows) * RowBytes;
  uintptr_t Src = reinterpret_cast<uintptr_t>(ScpadSrc);
  if (!P->scpadSpanOk(Src, Total))
    return P->refuse(atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD,
                     "sdma_store of " + std::to_string(Total) + " bytes from " + hex(Src) +
                         " is not inside one live scratchpad grant");
  const uint8_t *S = static_cast<const uint8_t *>(ScpadSrc);
  uint8_t *D = P->Dram.data() + DramDst;
  const bool Stream = P->InvokeBytesOut >= P->Config.StreamAfterBytes;
  P->InvokeBytesOut += Total;
  if (DramStrideBytes == RowBytes) {
    dmaWrite(D, S, Total, Stream);
  } else if (moveElementRows(D, DramStrideBytes, S, RowBytes, Rows, RowBytes)) {
    // element scatters (stride 0: the last wins)
  } else {
    // Stride 0 stores every row to the same place: the last row wins, as the
    // hardware's in-order writes would leave it.
    for (uint32_t R = 0; R < Rows; ++R)
      dmaWrite(D + uint64_t(R) * DramStrideBytes, S + uint64_t(R) * RowBytes, RowBytes, Stream);
  }
  ++C.SdmaStores;
  C.SdmaBytesOut += Total;
  return atalla::abi::ATALLA_OK;
}

int32_t Device::sdmaLoadBf16(void *ScpadDst, uint64_t DramSrc, uint32_t Rows, uint32_t RowBytes,
                             uint64_t DramStrideBytes) {
  Impl::ApertureSpan Span;
  if (int32_t St = P->apertureSpan(true, DramSrc, reinterpret_cast<uintptr_t>(ScpadDst), Rows, RowBytes,
                                   DramStrideBytes, Span))
    return St;
  uint8_t *D = static_cast<uint8_t *>(ScpadDst);
  const uint8_t *S = P->Dram.data() + Span.Addr;
  if (Span.Stride == Span.RowBytes) // dense rows: one conversion
    widenRow(D, S, uint64_t(Rows) * RowBytes / 4);
  else
    for (uint32_t R = 0; R < Rows; ++R)
      widenRow(D + uint64_t(R) * RowBytes, S + uint64_t(R) * Span.Stride, RowBytes / 4);
  ++P->C.SdmaLoads;
  P->C.SdmaBytesIn += uint64_t(Rows) * Span.RowBytes;
  return atalla::abi::ATALLA_OK;
}

int32_t Device::sdmaStoreBf16(uint64_t DramDst, const void *ScpadSrc, uint32_t Rows, uint32_t RowBytes,
                              uint64_t DramStrideBytes) {
  Impl::ApertureSpan Span;
  if (int32_t St = P->apertureSpan(false, DramDst, reinterpret_cast<uintptr_t>(ScpadSrc), Rows, RowBytes,
                                   DramStrideBytes, Span))
    return St;
  const uint8_t *S = static_cast<const uint8_t *>(ScpadSrc);
  uint8_t *D = P->Dram.data() + Span.Addr;
  // In order, row by row: with stride 0 the last row wins, as for f32.
  if (Span.Stride == Span.RowBytes) // dense rows: one conversion
    narrowRow(D, S, uint64_t(Rows) * RowBytes / 4);
  else
    for (uint32_t R = 0; R < Rows; ++R)
      narrowRow(D + uint64_t(R) * Span.Stride, S + uint64_t(R) * RowBytes, RowBytes / 4);
  P->InvokeBytesOut += uint64_t(Rows) * Span.RowBytes;
  ++P->C.SdmaStores;
  P->C.SdmaBytesOut += uint64_t(Rows) * Span.RowBytes;
  return atalla::abi::ATALLA_OK;
}
