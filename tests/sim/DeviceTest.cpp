//===- tests/sim/DeviceTest.cpp - scratchpad allocator and SDMA -----------===//
//
// Drives the firmware services directly, as a kernel would, and checks the
// status, the bytes moved and the counters of each call. Every refused call
// must leave DRAM and the scratchpads untouched.
//
// To add a case: make a Device with a small DeviceConfig (smallConfig()),
// call the service, and EXPECT on its result, the memory and counters().
//
//===----------------------------------------------------------------------===//
#include "sim/Device.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/KernelAbi.h"
#include "TestSupport.h"

#include <cmath>
#include <cstring>
#include <numeric>

using namespace atalla;
using namespace atalla::sim;

namespace {

DeviceConfig smallConfig() {
  DeviceConfig C;
  C.DramBytes = 4096;
  C.NumPads = 2;
  C.PadBytes = 4096;
  C.ScpadAlign = 256;
  return C;
}

uintptr_t addr(const void *P) { return reinterpret_cast<uintptr_t>(P); }

/// DRAM holding 0, 1, 2, ... (mod 256).
void fillDram(Device &D) {
  std::vector<uint8_t> Bytes(D.dramBytes());
  std::iota(Bytes.begin(), Bytes.end(), 0);
  ASSERT_NO_ERROR(D.writeDram(0, Bytes));
}

std::vector<uint8_t> dram(Device &D) {
  std::vector<uint8_t> Out(D.dramBytes());
  EXPECT_FALSE(bool(D.readDram(0, Out)));
  return Out;
}

} // namespace

TEST(DeviceTest, DramIsZeroedAndBoundsChecked) {
  Device D(smallConfig());
  EXPECT_EQ(D.dramBytes(), 4096u);
  std::vector<uint8_t> Out(16, 0xff);
  ASSERT_NO_ERROR(D.readDram(4080, Out));
  EXPECT_EQ(Out, std::vector<uint8_t>(16, 0));

  std::vector<uint8_t> In(64, 7);
  EXPECT_EQ(test::errorText(D.writeDram(0x1000, In)),
            "DRAM write of 64 bytes at 0x1000 is outside DRAM (4096 bytes)");
  EXPECT_NE(test::errorText(D.writeDram(4095, In)).find("outside DRAM"), std::string::npos);
  // Address + size wrapping around 2^64 must not pass the check.
  EXPECT_NE(test::errorText(D.writeDram(~uint64_t(0) - 10, In)).find("outside DRAM"),
            std::string::npos);
  EXPECT_NE(test::errorText(D.readDram(~uint64_t(0), Out)).find("DRAM read"), std::string::npos);
  ASSERT_NO_ERROR(D.writeDram(4032, In));
  ASSERT_NO_ERROR(D.writeDram(4096, {})); // empty at the end is fine
  EXPECT_EQ(D.counters().HostBytesIn, 64u);
  EXPECT_EQ(D.counters().HostBytesOut, 16u);
}

TEST(DeviceTest, AllocAlignsAndReportsPad) {
  Device D(smallConfig());
  int32_t Sid = -1;
  void *A = D.scpadAlloc(10, 64, &Sid);
  ASSERT_NE(A, nullptr);
  EXPECT_EQ(Sid, 0);
  EXPECT_EQ(addr(A) % 256, 0u) << "ScpadAlign is the minimum";
  void *B = D.scpadAlloc(10, 1024, &Sid);
  ASSERT_NE(B, nullptr);
  EXPECT_EQ(addr(B) % 1024, 0u);
  EXPECT_EQ(addr(B) - addr(A), 1024u) << "first fit: the lowest aligned offset";
  void *C = D.scpadAlloc(10, 64, &Sid);
  EXPECT_EQ(addr(C) - addr(A), 256u) << "the gap before B is reused";
  // Page alignment is honoured too (the pad's host buffer is page-aligned).
  void *Pg = D.scpadAlloc(1, 4096, &Sid);
  ASSERT_NE(Pg, nullptr);
  EXPECT_EQ(addr(Pg) % 4096, 0u);
  EXPECT_EQ(Sid, 1) << "pad 0 has no page-aligned room left";
  EXPECT_EQ(D.counters().ScpadAllocs, 4u);
}

TEST(DeviceTest, InvalidRequestsReturnNull) {
  Device D(smallConfig());
  int32_t Sid = 9;
  EXPECT_EQ(D.scpadAlloc(0, 64, &Sid), nullptr);
  EXPECT_EQ(D.scpadAlloc(4097, 64, &Sid), nullptr);
  EXPECT_EQ(D.scpadAlloc(16, 32, &Sid), nullptr);  // below 64
  EXPECT_EQ(D.scpadAlloc(16, 96, &Sid), nullptr);  // not a power of two
  EXPECT_EQ(D.scpadAlloc(16, 0, &Sid), nullptr);
  EXPECT_EQ(D.scpadAlloc(16, uint64_t(1) << 63, &Sid), nullptr); // no room at that alignment
  EXPECT_EQ(Sid, 9) << "Sid untouched on failure";
  EXPECT_EQ(D.counters().ScpadFailures, 6u);
  EXPECT_EQ(D.counters().ScpadAllocs, 0u);
}

TEST(DeviceTest, ExhaustionFallsToNextPadThenFails) {
  Device D(smallConfig());
  int32_t Sid = -1;
  void *A = D.scpadAlloc(4096, 64, &Sid);
  ASSERT_NE(A, nullptr);
  EXPECT_EQ(Sid, 0);
  void *B = D.scpadAlloc(4096, 64, &Sid);
  ASSERT_NE(B, nullptr);
  EXPECT_EQ(Sid, 1);
  EXPECT_EQ(D.scpadAlloc(64, 64, &Sid), nullptr);
  EXPECT_EQ(D.counters().ScpadFailures, 1u);
  D.scpadFree(B, 1);
  EXPECT_EQ(D.scpadAlloc(64, 64, &Sid), B);
  EXPECT_EQ(Sid, 1);
}

TEST(DeviceTest, FreeReusesFirstFitAndCoalesces) {
  Device D(smallConfig());
  int32_t S0, S1, S2, S3;
  void *A = D.scpadAlloc(1024, 64, &S0);
  void *B = D.scpadAlloc(1024, 64, &S1);
  void *C = D.scpadAlloc(1024, 64, &S2);
  void *E = D.scpadAlloc(1024, 64, &S3);
  ASSERT_TRUE(A && B && C && E);
  EXPECT_EQ(S3, 0);
  // Free A and C: neither hole holds 2048 bytes, so it goes to pad 1.
  D.scpadFree(A, 0);
  D.scpadFree(C, 0);
  int32_t Sid;
  void *Big = D.scpadAlloc(2048, 64, &Sid);
  EXPECT_EQ(Sid, 1);
  D.scpadFree(Big, 1);
  // Free B: A, B, C coalesce into one 3072-byte block at A.
  D.scpadFree(B, 0);
  EXPECT_EQ(D.scpadAlloc(3072, 64, &Sid), A);
  EXPECT_EQ(Sid, 0);
  // Freeing everything in any order coalesces back to the whole pad.
  D.scpadFree(A, 0);
  D.scpadFree(E, 0);
  EXPECT_EQ(D.scpadAlloc(4096, 64, &Sid), A);
  EXPECT_EQ(Sid, 0);
  EXPECT_EQ(D.counters().FirmwareErrors, 0u);
}

/// Random allocations and frees on one pad against a model of its bytes:
/// every grant is where first fit puts it (the lowest offset, aligned, whose
/// bytes are all free), live grants never overlap, and freeing everything
/// leaves the whole pad one block again.
TEST(DeviceTest, AllocatorMatchesAFirstFitModel) {
  DeviceConfig Cfg;
  Cfg.DramBytes = 4096;
  Cfg.NumPads = 1;
  Cfg.PadBytes = 16384;
  Cfg.ScpadAlign = 256;
  Device D(Cfg);
  const uint64_t Unit = 256, Units = Cfg.PadBytes / Unit;
  std::vector<int> Owner(Units, -1); // grant id per 256-byte unit, -1 free
  struct Live { void *Ptr; uint64_t Off, Units; };
  std::vector<Live> Grants;
  uintptr_t Base = 0;
  uint64_t Seed = 12345;
  auto next = [&](uint64_t N) { Seed = Seed * 6364136223846793005ull + 1442695040888963407ull; return (Seed >> 33) % N; };
  for (int Step = 0; Step < 4000; ++Step) {
    if (Grants.empty() || next(3) != 0) {
      const uint64_t Bytes = 1 + next(3 * Unit), Align = uint64_t(256) << next(3); // 256, 512 or 1024
      const uint64_t Need = (Bytes + Unit - 1) / Unit;
      // The model: lowest aligned unit offset with Need free units.
      int64_t Want = -1;
      for (uint64_t U = 0; U + Need <= Units && Want < 0; U += Align / Unit) {
        bool Free = true;
        for (uint64_t J = U; J < U + Need && Free; ++J)
          Free = Owner[J] < 0;
        if (Free)
          Want = int64_t(U);
      }
      int32_t Sid = -1;
      void *P = D.scpadAlloc(Bytes, Align, &Sid);
      if (Want < 0) {
        ASSERT_EQ(P, nullptr) << "step " << Step << ": " << Bytes << " bytes at " << Align;
        continue;
      }
      ASSERT_NE(P, nullptr) << "step " << Step << ": " << Bytes << " bytes at " << Align;
      if (Grants.empty() && Base == 0)
        Base = addr(P) - uint64_t(Want) * Unit; // the pad's base, from the first grant
      ASSERT_EQ(addr(P) - Base, uint64_t(Want) * Unit) << "step " << Step << ": not first fit";
      for (uint64_t J = uint64_t(Want); J < uint64_t(Want) + Need; ++J)
        Owner[J] = Step;
      Grants.push_back({P, uint64_t(Want), Need});
    } else {
      const size_t I = next(Grants.size());
      D.scpadFree(Grants[I].Ptr, 0);
      for (uint64_t J = Grants[I].Off; J < Grants[I].Off + Grants[I].Units; ++J)
        Owner[J] = -1;
      Grants.erase(Grants.begin() + long(I));
    }
  }
  EXPECT_EQ(D.counters().FirmwareErrors, 0u);
  for (const Live &G : Grants)
    D.scpadFree(G.Ptr, 0);
  int32_t Sid;
  void *All = D.scpadAlloc(Cfg.PadBytes, 256, &Sid);
  ASSERT_NE(All, nullptr) << "the freed pad did not coalesce into one block";
  EXPECT_EQ(addr(All), Base);
}

TEST(DeviceTest, BadFreesAreCountedNotFatal) {
  Device D(smallConfig());
  int32_t Sid;
  char *A = static_cast<char *>(D.scpadAlloc(512, 64, &Sid));
  ASSERT_NE(A, nullptr);
  D.scpadFree(nullptr, 0); // no-op, not an error
  EXPECT_EQ(D.counters().FirmwareErrors, 0u);
  D.scpadFree(A, 1);      // wrong pad
  D.scpadFree(A + 64, 0); // inside a grant, not its start
  D.scpadFree(A, 7);      // no such pad
  int Host;
  D.scpadFree(&Host, 0); // not scratchpad memory at all
  EXPECT_EQ(D.counters().FirmwareErrors, 4u);
  EXPECT_NE(D.lastFirmwareError().find("scpad_free"), std::string::npos);
  D.scpadFree(A, 0);
  D.scpadFree(A, 0); // double free
  EXPECT_EQ(D.counters().FirmwareErrors, 5u);
  EXPECT_EQ(D.counters().ScpadFrees, 1u);
}

TEST(DeviceTest, HighWaterMarkPerPad) {
  Device D(smallConfig());
  int32_t Sid;
  void *A = D.scpadAlloc(1000, 64, &Sid);
  void *B = D.scpadAlloc(2000, 64, &Sid);
  D.scpadFree(A, 0);
  D.scpadFree(B, 0);
  void *C = D.scpadAlloc(500, 64, &Sid);
  ASSERT_NE(C, nullptr);
  ASSERT_EQ(D.counters().ScpadHighWater.size(), 2u);
  EXPECT_EQ(D.counters().ScpadHighWater[0], 3000u);
  EXPECT_EQ(D.counters().ScpadHighWater[1], 0u);
  D.resetCounters();
  EXPECT_EQ(D.counters().ScpadHighWater, std::vector<uint64_t>(2, 0));
  EXPECT_EQ(D.counters().ScpadAllocs, 0u);
}

TEST(DeviceTest, SdmaRoundTripWithStrides) {
  Device D(smallConfig());
  fillDram(D);
  int32_t Sid;
  auto *Buf = static_cast<uint8_t *>(D.scpadAlloc(256, 64, &Sid));
  ASSERT_NE(Buf, nullptr);
  // 4 rows of 8 bytes, 100 bytes apart, from 10: packed densely.
  ASSERT_EQ(D.sdmaLoad(Buf, 10, 4, 8, 100), atalla::abi::ATALLA_OK);
  for (unsigned R = 0; R < 4; ++R)
    for (unsigned C = 0; C < 8; ++C)
      ASSERT_EQ(Buf[R * 8 + C], uint8_t(10 + R * 100 + C)) << R << "," << C;
  // Store them back 16 bytes apart at 2000.
  ASSERT_EQ(D.sdmaStore(2000, Buf, 4, 8, 16), atalla::abi::ATALLA_OK);
  std::vector<uint8_t> M = dram(D);
  for (unsigned R = 0; R < 4; ++R) {
    for (unsigned C = 0; C < 8; ++C)
      EXPECT_EQ(M[2000 + R * 16 + C], uint8_t(10 + R * 100 + C));
    for (unsigned C = 8; C < 16; ++C) // the gaps keep their bytes
      EXPECT_EQ(M[2000 + R * 16 + C], uint8_t((2000 + R * 16 + C) % 256));
  }
  // Dense (stride == row) in and out.
  ASSERT_EQ(D.sdmaLoad(Buf, 0, 2, 128, 128), atalla::abi::ATALLA_OK);
  ASSERT_EQ(D.sdmaStore(3000, Buf, 2, 128, 128), atalla::abi::ATALLA_OK);
  M = dram(D);
  for (unsigned I = 0; I < 256; ++I)
    EXPECT_EQ(M[3000 + I], uint8_t(I));
  const Counters &C = D.counters();
  EXPECT_EQ(C.SdmaLoads, 2u);
  EXPECT_EQ(C.SdmaStores, 2u);
  EXPECT_EQ(C.SdmaBytesIn, 32u + 256u);
  EXPECT_EQ(C.SdmaBytesOut, 32u + 256u);
  EXPECT_EQ(C.FirmwareCalls, 5u); // one alloc, four transfers
}

TEST(DeviceTest, LargeStoresStreamTheSameBytes) {
  // Past the first StreamAfterBytes a kernel stores (256 KiB here, whatever
  // this host's cache makes the default), SDMA writes of >= 4 KiB use
  // streaming stores: the bytes must be the same at every alignment, dense
  // and strided, with the tails of unaligned rows intact.
  DeviceConfig Cfg;
  EXPECT_GE(DeviceConfig::defaultStreamAfterBytes(), uint64_t(256) << 10);
  Cfg.StreamAfterBytes = 256 << 10;
  Cfg.DramBytes = 2 << 20;
  Cfg.NumPads = 1;
  Cfg.PadBytes = 64 << 10;
  Cfg.ScpadAlign = 256;
  Device D(Cfg);
  fillDram(D);
  int32_t Sid;
  auto *Buf = static_cast<uint8_t *>(D.scpadAlloc(64 << 10, 256, &Sid));
  ASSERT_NE(Buf, nullptr);
  for (unsigned I = 0; I < (64u << 10); ++I)
    Buf[I] = uint8_t(I * 7 + 3);
  std::vector<uint8_t> Expect = dram(D);
  uint64_t Dst = 0;
  for (unsigned Round = 0; Round < 10; ++Round) { // 10 x 60 KiB dense: crosses 256 KiB
    uint32_t Bytes = (60u << 10) + Round;          // odd sizes, odd destinations
    ASSERT_EQ(D.sdmaStore(Dst + Round, Buf + Round, 1, Bytes, Bytes), atalla::abi::ATALLA_OK);
    std::memcpy(Expect.data() + Dst + Round, Buf + Round, Bytes);
    Dst += 64 << 10;
  }
  // Strided rows of 5000 bytes, 5003 apart.
  ASSERT_EQ(D.sdmaStore(Dst + 1, Buf + 5, 12, 5000, 5003), atalla::abi::ATALLA_OK);
  for (unsigned R = 0; R < 12; ++R)
    std::memcpy(Expect.data() + Dst + 1 + R * 5003, Buf + 5 + R * 5000, 5000);
  EXPECT_TRUE(dram(D) == Expect);
}

TEST(DeviceTest, SdmaStrideZeroBroadcasts) {
  Device D(smallConfig());
  fillDram(D);
  int32_t Sid;
  auto *Buf = static_cast<uint8_t *>(D.scpadAlloc(64, 64, &Sid));
  ASSERT_EQ(D.sdmaLoad(Buf, 40, 8, 8, 0), atalla::abi::ATALLA_OK);
  for (unsigned R = 0; R < 8; ++R)
    for (unsigned C = 0; C < 8; ++C)
      EXPECT_EQ(Buf[R * 8 + C], uint8_t(40 + C));
  // A store with stride 0 leaves the last row.
  for (unsigned I = 0; I < 64; ++I)
    Buf[I] = uint8_t(200 + I / 8);
  ASSERT_EQ(D.sdmaStore(0, Buf, 8, 8, 0), atalla::abi::ATALLA_OK);
  std::vector<uint8_t> M = dram(D);
  for (unsigned C = 0; C < 8; ++C)
    EXPECT_EQ(M[C], 207);
  // Only the one row of DRAM is touched, so broadcasting from the last row works.
  EXPECT_EQ(D.sdmaLoad(Buf, 4088, 8, 8, 0), atalla::abi::ATALLA_OK);
}

TEST(DeviceTest, EveryRefusedTransferMovesNothing) {
  Device D(smallConfig());
  fillDram(D);
  int32_t Sid0, Sid1;
  auto *A = static_cast<uint8_t *>(D.scpadAlloc(256, 64, &Sid0));
  auto *B = static_cast<uint8_t *>(D.scpadAlloc(256, 64, &Sid1));
  ASSERT_EQ(B, A + 256) << "two adjacent grants";
  std::memset(A, 0xAA, 512);
  const std::vector<uint8_t> Before = dram(D);

  struct Case {
    const char *What;
    int32_t Load, Store;
  };
  const uint64_t Huge = ~uint64_t(0);
  Case Cases[] = {
      {"zero rows", D.sdmaLoad(A, 0, 0, 8, 8), D.sdmaStore(0, A, 0, 8, 8)},
      {"zero row bytes", D.sdmaLoad(A, 0, 1, 0, 8), D.sdmaStore(0, A, 1, 0, 8)},
      {"past DRAM end", D.sdmaLoad(A, 4090, 1, 8, 8), D.sdmaStore(4090, A, 1, 8, 8)},
      {"last row past end", D.sdmaLoad(A, 0, 4, 8, 1500), D.sdmaStore(0, A, 4, 8, 1500)},
      {"address wraps", D.sdmaLoad(A, Huge - 3, 1, 8, 8), D.sdmaStore(Huge - 3, A, 1, 8, 8)},
      {"stride wraps", D.sdmaLoad(A, 0, 3, 8, Huge / 2 + 1), D.sdmaStore(0, A, 3, 8, Huge / 2 + 1)},
      {"spans two grants", D.sdmaLoad(A + 128, 0, 2, 128, 128),
       D.sdmaStore(0, A + 128, 2, 128, 128)},
      {"past the last grant", D.sdmaLoad(B + 200, 0, 1, 64, 64), D.sdmaStore(0, B + 200, 1, 64, 64)},
      {"free scratchpad", D.sdmaLoad(B + 256, 0, 1, 64, 64), D.sdmaStore(0, B + 256, 1, 64, 64)},
      {"host memory", D.sdmaLoad(&Sid0, 0, 1, 4, 4), D.sdmaStore(0, &Sid0, 1, 4, 4)},
  };
  const int32_t Want[] = {atalla::abi::ATALLA_SDMA_EINVAL,         atalla::abi::ATALLA_SDMA_EINVAL,
                          atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,  atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,
                          atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,  atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM,
                          atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD, atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD,
                          atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD, atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD};
  for (size_t I = 0; I < std::size(Cases); ++I) {
    EXPECT_EQ(Cases[I].Load, Want[I]) << "load: " << Cases[I].What;
    EXPECT_EQ(Cases[I].Store, Want[I]) << "store: " << Cases[I].What;
  }
  EXPECT_EQ(dram(D), Before);
  for (unsigned I = 0; I < 512; ++I)
    ASSERT_EQ(A[I], 0xAA) << I;
  const Counters &C = D.counters();
  EXPECT_EQ(C.SdmaLoads + C.SdmaStores + C.SdmaBytesIn + C.SdmaBytesOut, 0u);
  EXPECT_EQ(C.FirmwareErrors, 2 * std::size(Cases));
  EXPECT_NE(D.lastFirmwareError().find("sdma_store"), std::string::npos);
  // A freed grant is no longer a valid target.
  D.scpadFree(B, Sid1);
  EXPECT_EQ(D.sdmaLoad(B, 0, 1, 64, 64), atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD);
  // Exactly filling one grant is fine.
  EXPECT_EQ(D.sdmaLoad(A, 0, 2, 128, 64), atalla::abi::ATALLA_OK);
}

namespace {

int32_t leakyKernel(void *Ctx, const uint64_t *Args) {
  auto &D = *static_cast<Device *>(Ctx);
  int32_t Sid;
  for (uint64_t I = 0; I < Args[0]; ++I)
    if (!D.scpadAlloc(4096, 64, &Sid))
      return atalla::abi::ATALLA_KERNEL_ENOMEM;
  return 42;
}

} // namespace

TEST(DeviceTest, InvokeReclaimsLeakedGrants) {
  Device D(smallConfig());
  const uint64_t Args[] = {2};
  for (int Call = 0; Call < 3; ++Call)
    EXPECT_EQ(D.invoke(leakyKernel, Args), 42) << "call " << Call;
  EXPECT_EQ(D.counters().KernelCalls, 3u);
  EXPECT_EQ(D.counters().ScpadReclaimed, 6u);
  EXPECT_EQ(D.counters().ScpadFailures, 0u);
  const uint64_t TooMany[] = {3};
  EXPECT_EQ(D.invoke(leakyKernel, TooMany), atalla::abi::ATALLA_KERNEL_ENOMEM);
}

TEST(DeviceTest, ResetClearsMemoryKeepsCounters) {
  Device D(smallConfig());
  fillDram(D);
  int32_t Sid;
  auto *A = static_cast<uint8_t *>(D.scpadAlloc(4096, 64, &Sid));
  ASSERT_EQ(D.sdmaLoad(A, 0, 1, 4096, 4096), atalla::abi::ATALLA_OK);
  D.reset();
  EXPECT_EQ(dram(D), std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(A[100], 0) << "pads are zeroed";
  EXPECT_EQ(D.sdmaLoad(A, 0, 1, 64, 64), atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD) << "grants are gone";
  EXPECT_EQ(D.scpadAlloc(4096, 64, &Sid), A);
  EXPECT_EQ(Sid, 0);
  EXPECT_EQ(D.counters().SdmaLoads, 1u);
  EXPECT_EQ(D.counters().ScpadAllocs, 2u);
}

TEST(DeviceTest, FirmwareTableListsEveryService) {
  auto Syms = firmwareSymbols();
  std::vector<std::string> Names;
  for (auto &[Name, Addr] : Syms) {
    Names.push_back(Name);
    EXPECT_NE(Addr, nullptr) << Name;
  }
  EXPECT_EQ(Names, (std::vector<std::string>{"atalla_scpad_alloc", "atalla_scpad_free",
                                             "atalla_sdma_load", "atalla_sdma_store"}));
}

//===----------------------------------------------------------------------===//
// The bf16 aperture (KernelAbi.h) and the conversions behind it (Bf16.h)
//===----------------------------------------------------------------------===//

namespace {
uint32_t bitsOf(float F) {
  uint32_t U;
  std::memcpy(&U, &F, 4);
  return U;
}
float floatOf(uint32_t U) {
  float F;
  std::memcpy(&F, &U, 4);
  return F;
}
} // namespace

TEST(Bf16Test, RoundsToNearestEvenAndKeepsSpecials) {
  using atalla::abi::bf16FromF32Bits;
  // Exact values keep their upper half.
  EXPECT_EQ(bf16FromF32Bits(0x3f800000u), 0x3f80u); // 1
  EXPECT_EQ(bf16FromF32Bits(0xc0490000u), 0xc049u); // -3.140625
  // Below, above and at the midpoint; ties go to the even neighbour.
  EXPECT_EQ(bf16FromF32Bits(0x3f807fffu), 0x3f80u);
  EXPECT_EQ(bf16FromF32Bits(0x3f808001u), 0x3f81u);
  EXPECT_EQ(bf16FromF32Bits(0x3f808000u), 0x3f80u); // tie, 0x3f80 even
  EXPECT_EQ(bf16FromF32Bits(0x3f818000u), 0x3f82u); // tie, 0x3f81 odd: up
  EXPECT_EQ(bf16FromF32Bits(0xbf818000u), 0xbf82u); // sign-symmetric
  // A carry into the exponent, and overflow to infinity.
  EXPECT_EQ(bf16FromF32Bits(0x3fffc000u), 0x4000u);
  EXPECT_EQ(bf16FromF32Bits(0x7f7fffffu), 0x7f80u); // FLT_MAX -> +inf
  EXPECT_EQ(bf16FromF32Bits(0xff7f8000u), 0xff80u); // tie above bf16's max, odd: -inf
  EXPECT_EQ(bf16FromF32Bits(0x7f800000u), 0x7f80u); // inf stays
  EXPECT_EQ(bf16FromF32Bits(0xff800000u), 0xff80u);
  // NaN stays NaN (quiet, sign kept), even one whose payload sits below bit 16.
  EXPECT_EQ(bf16FromF32Bits(0x7fc00000u), 0x7fc0u);
  EXPECT_EQ(bf16FromF32Bits(0x7f800001u), 0x7fc0u);
  EXPECT_EQ(bf16FromF32Bits(0xffffffffu) & 0xffc0u, 0xffc0u);
  // Denormals round like any other value; zeros keep their sign.
  EXPECT_EQ(bf16FromF32Bits(0x00008000u), 0x0000u); // tie to even 0
  EXPECT_EQ(bf16FromF32Bits(0x00018000u), 0x0002u);
  EXPECT_EQ(bf16FromF32Bits(0x80000000u), 0x8000u);
  // Widening is exact, and widen-then-round is the identity on every bf16.
  for (uint32_t H = 0; H < 0x10000u; ++H) {
    const float F = atalla::abi::f32FromBf16(uint16_t(H));
    ASSERT_EQ(bitsOf(F), H << 16);
    if (!std::isnan(F)) {
      ASSERT_EQ(bf16FromF32Bits(bitsOf(F)), H);
    }
  }
}

// The aperture converts whole rows with vector code picked for the host
// (Device.cpp's ISA clones): long rows, odd lengths (a vector body and a
// remainder) and every awkward class of value must convert exactly as the
// scalar definition in Bf16.h does.
TEST(DeviceTest, Bf16ApertureLongRowsMatchTheScalarDefinition) {
  Device D(smallConfig());
  const uint32_t N = 997; // not a multiple of any vector width
  std::vector<uint32_t> Bits(N);
  const uint32_t Special[] = {0x3f808000u, 0x3f818000u, 0x3f80c000u, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u,
                              0xff800000u, 0x7fc00001u, 0x7f800001u, 0xffa5a5a5u, 0x00000001u, 0x807fffffu,
                              0x00008000u, 0x00018000u, 0x80000000u, 0x00000000u};
  uint32_t X = 12345;
  for (uint32_t I = 0; I < N; ++I) {
    X = X * 1664525u + 1013904223u; // every bit pattern class, deterministic
    Bits[I] = I < std::size(Special) ? Special[I] : (I % 7 == 0 ? (X & 0xffff0000u) | 0x8000u : X);
  }
  // The same specials but the subnormals again in a group of 32 with no
  // subnormal (elements 64..95): where the host converts 32 at a time in
  // one instruction, its NaN, infinity, overflow and tie handling is what
  // converts them there.
  for (uint32_t I = 64; I < 96; ++I) {
    const uint32_t V = Special[(I - 64) % std::size(Special)];
    Bits[I] = (V & 0x7f800000u) == 0 && (V & 0x7fffffffu) != 0 ? V | 0x00800000u : V;
  }
  // Groups whose one subnormal sits where a host converting 32 at a time
  // has its two halves' edges (elements 15 and 16 of a group), beside
  // zeros (96..127: its outputs of +-0 are zeros' and the subnormal's) and
  // without them (128..159: the subnormal's is the only +-0 output).
  for (uint32_t I = 96; I < 128; ++I)
    Bits[I] = I % 2 ? 0x80000000u : 0x00000000u;
  Bits[96 + 16] = 0x00400001u;
  Bits[128 + 15] = 0x80000101u;
  int32_t Sid;
  auto *Buf = static_cast<uint32_t *>(D.scpadAlloc(4 * N, 64, &Sid));
  ASSERT_NE(Buf, nullptr);
  std::memcpy(Buf, Bits.data(), 4 * N);
  const uint64_t A = atalla::abi::Bf16Aperture;
  ASSERT_EQ(D.sdmaStore(A + 2 * 64, Buf, 1, 4 * N, 4 * N), atalla::abi::ATALLA_OK) << D.lastFirmwareError();
  std::vector<uint8_t> M = dram(D);
  for (uint32_t I = 0; I < N; ++I) {
    uint16_t H;
    std::memcpy(&H, &M[64 + 2 * I], 2);
    ASSERT_EQ(H, atalla::abi::bf16FromF32Bits(Bits[I])) << "element " << I << " bits 0x" << std::hex << Bits[I];
  }
  // And back: the widening is exact, bit for bit, NaNs included.
  std::memset(Buf, 0xff, 4 * N);
  ASSERT_EQ(D.sdmaLoad(Buf, A + 2 * 64, 1, 4 * N, 4 * N), atalla::abi::ATALLA_OK) << D.lastFirmwareError();
  for (uint32_t I = 0; I < N; ++I)
    ASSERT_EQ(Buf[I], uint32_t(atalla::abi::bf16FromF32Bits(Bits[I])) << 16) << "element " << I;
  D.scpadFree(Buf, Sid);
}

TEST(DeviceTest, Bf16ApertureWidensOnLoadAndRoundsOnStore) {
  Device D(smallConfig());
  // Four bf16 rows of 3 elements, 8 bytes (4 elements) apart, at DRAM 64.
  std::vector<uint8_t> Bf(32);
  for (unsigned I = 0; I < 16; ++I) {
    const uint16_t H = atalla::abi::bf16FromF32(float(I) - 7.5f);
    std::memcpy(&Bf[2 * I], &H, 2);
  }
  ASSERT_NO_ERROR(D.writeDram(64, Bf));
  int32_t Sid;
  auto *Buf = static_cast<float *>(D.scpadAlloc(256, 64, &Sid));
  ASSERT_NE(Buf, nullptr);
  const uint64_t A = atalla::abi::Bf16Aperture;
  // In the aperture everything counts f32 bytes: rows of 12, stride 16, at 2 * 64.
  ASSERT_EQ(D.sdmaLoad(Buf, A + 2 * 64, 4, 12, 16), atalla::abi::ATALLA_OK) << D.lastFirmwareError();
  for (unsigned R = 0; R < 4; ++R)
    for (unsigned C = 0; C < 3; ++C)
      EXPECT_EQ(Buf[R * 3 + C], float(R * 4 + C) - 7.5f) << R << "," << C;
  // Store values that need rounding: 1 + 2^-8 is a tie (to 1), 1 + 3 * 2^-8
  // a tie to the even 1 + 2^-6... written 2 bytes apart at DRAM 1024.
  const float Vals[4] = {floatOf(0x3f808000u), floatOf(0x3f818000u), floatOf(0x3f80c000u), -1e-45f};
  std::memcpy(Buf, Vals, sizeof(Vals));
  ASSERT_EQ(D.sdmaStore(A + 2 * 1024, Buf, 1, 16, 16), atalla::abi::ATALLA_OK) << D.lastFirmwareError();
  std::vector<uint8_t> M = dram(D);
  uint16_t Got[4];
  std::memcpy(Got, &M[1024], 8);
  EXPECT_EQ(Got[0], 0x3f80u);
  EXPECT_EQ(Got[1], 0x3f82u);
  EXPECT_EQ(Got[2], 0x3f81u);
  EXPECT_EQ(Got[3], 0x8000u); // -denormal_min rounds to -0
  EXPECT_EQ(M[1032], uint8_t(0)); // nothing past the 8 bytes
  // The counters count the bf16 bytes that crossed DRAM.
  EXPECT_EQ(D.counters().SdmaBytesIn, 24u);
  EXPECT_EQ(D.counters().SdmaBytesOut, 8u);
  // Not whole f32 elements, or outside DRAM once translated: refused, named.
  EXPECT_EQ(D.sdmaLoad(Buf, A + 2 * 64 + 2, 1, 4, 4), atalla::abi::ATALLA_SDMA_EINVAL);
  EXPECT_NE(D.lastFirmwareError().find("bf16 aperture"), std::string::npos) << D.lastFirmwareError();
  EXPECT_EQ(D.sdmaLoad(Buf, A + 2 * 64, 1, 6, 6), atalla::abi::ATALLA_SDMA_EINVAL);
  EXPECT_EQ(D.sdmaStore(A + 2 * 4090, Buf, 1, 16, 16), atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM);
  EXPECT_NE(D.lastFirmwareError().find("writes outside DRAM"), std::string::npos) << D.lastFirmwareError();
  EXPECT_EQ(D.sdmaLoad(Buf, A + 2 * 64, 1, 512, 512), atalla::abi::ATALLA_SDMA_EBOUNDS_SCPAD);
  EXPECT_EQ(D.sdmaLoad(Buf, (uint64_t(1) << 63) | A, 1, 4, 4), atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM);
  D.scpadFree(Buf, Sid);
}
