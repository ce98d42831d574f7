//===- tests/sim/CodeLoaderTest.cpp - link kernels against the firmware ---===//
//
// Compiles small LLVM IR kernels to host objects in the test, links them
// with the CodeLoader and runs them on a Device: the happy path must give
// the right DRAM bytes, and every object that needs more than the firmware
// must be refused with the missing symbol's name.
//
// To add a case: write the kernel as IR text (declare the firmware services
// you call, see FirmwareDecls), turn it into bytes with compileIR(), then
// addObject + lookup, and either invoke it or EXPECT_ERROR_CONTAINS.
//
//===----------------------------------------------------------------------===//
#include "sim/CodeLoader.h"
#include "sim/Device.h"
#include "IrTestSupport.h"
#include "TestSupport.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include <unistd.h>

using namespace atalla;
using namespace atalla::sim;

namespace {

const char *FirmwareDecls = atalla::test::FirmwareDeclsIR;

using atalla::test::compileIR;

/// Args[0] -> Args[1]: N floats, each doubled, moved as 4 rows through one
/// scratchpad grant. Checks every firmware status like generated code must.
std::string doubleKernelIR(const std::string &Name, unsigned N) {
  // 4 rows of N bytes each = N floats.
  std::string Rows = "4", RowBytes = std::to_string(N);
  return std::string(FirmwareDecls) + R"(
define i32 @)" + Name +
         R"((ptr %ctx, ptr %args) {
entry:
  %sid = alloca i32
  %in = load i64, ptr %args
  %outp = getelementptr i64, ptr %args, i64 1
  %out = load i64, ptr %outp
  %buf = call ptr @atalla_scpad_alloc(ptr %ctx, i64 )" +
         std::to_string(N * 4) + R"(, i64 64, ptr %sid)
  %isnull = icmp eq ptr %buf, null
  br i1 %isnull, label %enomem, label %ok
enomem:
  ret i32 1
ok:
  %s = load i32, ptr %sid
  %r = call i32 @atalla_sdma_load(ptr %ctx, ptr %buf, i64 %in, i32 )" +
         Rows + ", i32 " + RowBytes + ", i64 " + RowBytes + R"()
  %bad = icmp ne i32 %r, 0
  br i1 %bad, label %fail, label %loop
loop:
  %i = phi i64 [ 0, %ok ], [ %inext, %loop ]
  %p = getelementptr float, ptr %buf, i64 %i
  %v = load float, ptr %p
  %d = fadd float %v, %v
  store float %d, ptr %p
  %inext = add i64 %i, 1
  %done = icmp eq i64 %inext, )" +
         std::to_string(N) + R"(
  br i1 %done, label %store, label %loop
store:
  %r2 = call i32 @atalla_sdma_store(ptr %ctx, i64 %out, ptr %buf, i32 )" +
         Rows + ", i32 " + RowBytes + ", i64 " + RowBytes + R"()
  call void @atalla_scpad_free(ptr %ctx, ptr %buf, i32 %s)
  ret i32 %r2
fail:
  call void @atalla_scpad_free(ptr %ctx, ptr %buf, i32 %s)
  ret i32 %r
}
)";
}

std::vector<uint8_t> floatBytes(const std::vector<float> &V) {
  std::vector<uint8_t> B(V.size() * 4);
  std::memcpy(B.data(), V.data(), B.size());
  return B;
}

std::vector<float> readFloats(Device &D, uint64_t Addr, size_t N) {
  std::vector<uint8_t> B(N * 4);
  EXPECT_FALSE(bool(D.readDram(Addr, B)));
  std::vector<float> V(N);
  std::memcpy(V.data(), B.data(), B.size());
  return V;
}

} // namespace

TEST(CodeLoaderTest, KernelRunsThroughFirmware) {
  std::vector<uint8_t> Obj = compileIR(doubleKernelIR("atalla_double", 64));
  ASSERT_FALSE(Obj.empty());
  ASSERT_EXPECTED(L, CodeLoader::create());
  ASSERT_NO_ERROR(L->addObject(Obj, "double.o"));
  ASSERT_EXPECTED(Fn, L->lookup("atalla_double"));

  DeviceConfig Cfg;
  Cfg.DramBytes = 1 << 16;
  Device D(Cfg);
  std::vector<float> In(64);
  for (unsigned I = 0; I < 64; ++I)
    In[I] = float(I) - 10.5f;
  ASSERT_NO_ERROR(D.writeDram(1024, floatBytes(In)));
  const uint64_t Args[] = {1024, 4096};
  EXPECT_EQ(D.invoke(Fn, Args), atalla::abi::ATALLA_OK) << D.lastFirmwareError();
  std::vector<float> Out = readFloats(D, 4096, 64);
  for (unsigned I = 0; I < 64; ++I)
    EXPECT_EQ(Out[I], 2 * In[I]) << I;
  EXPECT_EQ(readFloats(D, 1024, 64), In) << "the input is untouched";
  const Counters &C = D.counters();
  EXPECT_EQ(C.KernelCalls, 1u);
  EXPECT_EQ(C.SdmaBytesIn, 256u);
  EXPECT_EQ(C.SdmaBytesOut, 256u);
  EXPECT_EQ(C.ScpadAllocs, 1u);
  EXPECT_EQ(C.ScpadFrees, 1u);
  EXPECT_EQ(C.ScpadReclaimed, 0u);
  EXPECT_EQ(C.FirmwareCalls, 4u);

  // A firmware refusal comes back as the kernel's status.
  const uint64_t BadArgs[] = {uint64_t(1) << 40, 4096};
  EXPECT_EQ(D.invoke(Fn, BadArgs), atalla::abi::ATALLA_SDMA_EBOUNDS_DRAM);
  EXPECT_NE(D.lastFirmwareError().find("outside DRAM"), std::string::npos);
}

TEST(CodeLoaderTest, ThePerfMapNamesEachLinkedKernel) {
  // ATALLA_PERF_MAP=1: each linked function's address, size and name are
  // appended to /tmp/perf-<pid>.map (perf's JIT symbol file), and the
  // address is the one lookup returns.
  const std::string Map = "/tmp/perf-" + std::to_string(::getpid()) + ".map";
  std::remove(Map.c_str());
  ::setenv("ATALLA_PERF_MAP", "1", 1);
  std::vector<uint8_t> Obj = compileIR(doubleKernelIR("atalla_double_mapped", 64));
  ASSERT_FALSE(Obj.empty());
  auto L = CodeLoader::create();
  ::unsetenv("ATALLA_PERF_MAP");
  ASSERT_TRUE(bool(L)) << llvm::toString(L.takeError());
  ASSERT_NO_ERROR((*L)->addObject(Obj, "mapped.o"));
  ASSERT_EXPECTED(Fn, (*L)->lookup("atalla_double_mapped"));
  std::ifstream In(Map);
  ASSERT_TRUE(In.good()) << Map;
  std::string Line, Found;
  while (std::getline(In, Line))
    if (Line.find(" atalla_double_mapped") != std::string::npos)
      Found = Line;
  std::remove(Map.c_str());
  ASSERT_FALSE(Found.empty());
  unsigned long long Addr = 0, Size = 0;
  ASSERT_EQ(std::sscanf(Found.c_str(), "%llx %llx", &Addr, &Size), 2) << Found;
  EXPECT_EQ(Addr, (unsigned long long)reinterpret_cast<uintptr_t>(Fn));
  EXPECT_GT(Size, 0u);
  // Without the variable no map is written.
  ASSERT_EXPECTED(L2, CodeLoader::create());
  ASSERT_NO_ERROR(L2->addObject(compileIR(doubleKernelIR("atalla_double_unmapped", 64)), "unmapped.o"));
  ASSERT_EXPECTED(Fn2, L2->lookup("atalla_double_unmapped"));
  (void)Fn2;
  EXPECT_FALSE(std::ifstream(Map).good());
}

TEST(CodeLoaderTest, TwoObjectsInOneLoader) {
  // The second object calls a helper the first defines: objects link to
  // each other as well as to the firmware.
  std::vector<uint8_t> A = compileIR(doubleKernelIR("kernel_a", 16));
  std::vector<uint8_t> B = compileIR(R"(
declare i32 @kernel_a(ptr, ptr)
define i32 @kernel_b(ptr %ctx, ptr %args) {
  %r = call i32 @kernel_a(ptr %ctx, ptr %args)
  %bad = icmp ne i32 %r, 0
  br i1 %bad, label %out, label %again
again:
  %r2 = call i32 @kernel_a(ptr %ctx, ptr %args)
  ret i32 %r2
out:
  ret i32 %r
}
)");
  ASSERT_EXPECTED(L, CodeLoader::create());
  ASSERT_NO_ERROR(L->addObject(A, "a.o"));
  ASSERT_NO_ERROR(L->addObject(B, "b.o"));
  ASSERT_EXPECTED(FnB, L->lookup("kernel_b"));
  ASSERT_EXPECTED(FnA, L->lookup("kernel_a"));

  DeviceConfig Cfg;
  Cfg.DramBytes = 4096;
  Device D(Cfg);
  std::vector<float> In(16, 1.5f);
  ASSERT_NO_ERROR(D.writeDram(0, floatBytes(In)));
  const uint64_t InPlace[] = {0, 0};
  EXPECT_EQ(D.invoke(FnB, InPlace), 0);
  EXPECT_EQ(readFloats(D, 0, 16), std::vector<float>(16, 6.0f));
  EXPECT_EQ(D.invoke(FnA, InPlace), 0);
  EXPECT_EQ(readFloats(D, 0, 16), std::vector<float>(16, 12.0f));
}

TEST(CodeLoaderTest, PrintfIsRefusedWithItsName) {
  std::vector<uint8_t> Obj = compileIR(R"(
@fmt = private constant [4 x i8] c"hi\0A\00"
declare i32 @printf(ptr, ...)
define i32 @chatty(ptr %ctx, ptr %args) {
  %r = call i32 (ptr, ...) @printf(ptr @fmt)
  ret i32 0
}
)");
  ASSERT_EXPECTED(L, CodeLoader::create());
  ASSERT_NO_ERROR(L->addObject(Obj, "chatty.o"));
  auto Fn = L->lookup("chatty");
  ASSERT_FALSE(bool(Fn));
  std::string Msg = llvm::toString(Fn.takeError());
  EXPECT_NE(Msg.find("kernel object 'chatty.o' needs symbol 'printf', which the Atalla firmware "
                     "does not provide (it provides: atalla_scpad_alloc"),
            std::string::npos)
      << Msg;
  // Asking again gives the same answer, although ORC reports only once.
  EXPECT_ERROR_CONTAINS(L->lookup("chatty"), "needs symbol 'printf'");
}

TEST(CodeLoaderTest, MemsetIsRefusedWithItsName) {
  // A variable-length llvm.memset is lowered to a call to libc's memset,
  // exactly what an optimised zeroing loop turns into.
  std::vector<uint8_t> Obj = compileIR(std::string(FirmwareDecls) + R"(
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
define i32 @zero(ptr %ctx, ptr %args) {
  %n = load i64, ptr %args
  %sid = alloca i32
  %buf = call ptr @atalla_scpad_alloc(ptr %ctx, i64 4096, i64 64, ptr %sid)
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 %n, i1 false)
  ret i32 0
}
)");
  ASSERT_EXPECTED(L, CodeLoader::create());
  ASSERT_NO_ERROR(L->addObject(Obj, "zero.o"));
  EXPECT_ERROR_CONTAINS(L->lookup("zero"), "kernel object 'zero.o' needs symbol 'memset'");
}

TEST(CodeLoaderTest, GarbageIsNotAnObject) {
  ASSERT_EXPECTED(L, CodeLoader::create());
  const char Text[] = "this is not an ELF file at all";
  std::vector<uint8_t> Bytes(Text, Text + sizeof(Text));
  std::string Msg = test::errorText(L->addObject(Bytes, "junk.o"));
  EXPECT_NE(Msg.find("kernel object 'junk.o' is not an object file"), std::string::npos) << Msg;
  EXPECT_NE(test::errorText(L->addObject({}, "empty.o")).find("'empty.o'"), std::string::npos);
  // A truncated real object is refused too.
  std::vector<uint8_t> Obj = compileIR(doubleKernelIR("k", 16));
  Obj.resize(Obj.size() / 3);
  EXPECT_FALSE(test::errorText(L->addObject(Obj, "cut.o")).empty());
}

TEST(CodeLoaderTest, MissingAndDuplicateSymbols) {
  std::vector<uint8_t> Obj = compileIR(doubleKernelIR("k1", 16));
  ASSERT_EXPECTED(L, CodeLoader::create());
  EXPECT_ERROR_CONTAINS(L->lookup("k1"), "no kernel object defines symbol 'k1'");
  ASSERT_NO_ERROR(L->addObject(Obj, "k1.o"));
  EXPECT_ERROR_CONTAINS(L->lookup("nope"), "no kernel object defines symbol 'nope' (loaded "
                                           "objects: 'k1.o')");
  // Firmware symbols are not kernels.
  EXPECT_ERROR_CONTAINS(L->lookup("atalla_sdma_load"), "atalla_sdma_load");
  EXPECT_NE(test::errorText(L->addObject(Obj, "again.o")).find("already defined by 'k1.o'"),
            std::string::npos);
  // An object may not shadow a firmware service.
  std::vector<uint8_t> Fake = compileIR(R"(
define i32 @atalla_sdma_load(ptr %a, ptr %b, i64 %c, i32 %d, i32 %e, i64 %f) {
  ret i32 0
}
)");
  EXPECT_NE(test::errorText(L->addObject(Fake, "fake.o")).find("reserved for the Atalla firmware"),
            std::string::npos);
  EXPECT_TRUE(bool(L->lookup("k1")));
}
