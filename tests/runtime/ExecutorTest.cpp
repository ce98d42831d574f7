//===- tests/runtime/ExecutorTest.cpp - run tiny blobs on the device -----===//
//
// Blobs built with abi::BlobBuilder whose Code holds kernels compiled in the
// test from LLVM IR text (addKernelIR), run through Executor on the
// simulated device. Fallback instructions use a fake FallbackHandler here;
// the LibTorch one is tested in FallbackTest.cpp.
//
// To add a case: write a kernel as IR (declare the firmware it calls, see
// FirmwareDecls), put it in a blob with tensors and instructions, then
// Blob::parse, Executor::create and run; check outputs or the message.
//
//===----------------------------------------------------------------------===//
#include "runtime/Executor.h"

#include "runtime/abi/BlobBuilder.h"

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

#include <cstring>

using namespace atalla;
using namespace atalla::runtime;
using atalla::abi::BlobBuilder;

namespace {

const std::string FirmwareDecls = std::string(atalla::test::FirmwareDeclsIR) + "declare i32 @printf(ptr, ...)\n";

using atalla::test::compileIR;

constexpr unsigned N = 16; // floats per vector

/// Args = {A, B, C}: C = A + B over N floats, through one scratchpad grant
/// (A in the first half, B in the second). When A[0] is negative it stores
/// to an address outside DRAM and returns that status without freeing its
/// grant, so tests can check the failure and the reset after it.
std::string addKernelIR(const std::string &Name) {
  std::string Bytes = std::to_string(N * 4);
  return std::string(FirmwareDecls) + "define i32 @" + Name + R"((ptr %ctx, ptr %args) "no-builtins" {
entry:
  %sid = alloca i32
  %a = load i64, ptr %args
  %bp = getelementptr i64, ptr %args, i64 1
  %b = load i64, ptr %bp
  %cp = getelementptr i64, ptr %args, i64 2
  %c = load i64, ptr %cp
  %buf = call ptr @atalla_scpad_alloc(ptr %ctx, i64 )" + std::to_string(2 * N * 4) + R"(, i64 256, ptr %sid)
  %isnull = icmp eq ptr %buf, null
  br i1 %isnull, label %enomem, label %ok
enomem:
  ret i32 1
ok:
  %s = load i32, ptr %sid
  %bufb = getelementptr i8, ptr %buf, i64 )" + Bytes + R"(
  %r1 = call i32 @atalla_sdma_load(ptr %ctx, ptr %buf, i64 %a, i32 1, i32 )" + Bytes + R"(, i64 0)
  %r2 = call i32 @atalla_sdma_load(ptr %ctx, ptr %bufb, i64 %b, i32 1, i32 )" + Bytes + R"(, i64 0)
  %r = or i32 %r1, %r2
  %bad = icmp ne i32 %r, 0
  br i1 %bad, label %fail, label %check
check:
  %a0 = load float, ptr %buf
  %neg = fcmp olt float %a0, 0.0
  br i1 %neg, label %sabotage, label %loop
sabotage:
  %rs = call i32 @atalla_sdma_store(ptr %ctx, i64 1099511627776, ptr %buf, i32 1, i32 )" + Bytes + R"(, i64 0)
  ret i32 %rs
loop:
  %i = phi i64 [ 0, %check ], [ %inext, %loop ]
  %pa = getelementptr float, ptr %buf, i64 %i
  %pb = getelementptr float, ptr %bufb, i64 %i
  %va = load float, ptr %pa
  %vb = load float, ptr %pb
  %sum = fadd float %va, %vb
  store float %sum, ptr %pa
  %inext = add i64 %i, 1
  %done = icmp eq i64 %inext, )" + std::to_string(N) + R"(
  br i1 %done, label %store, label %loop
store:
  %rw = call i32 @atalla_sdma_store(ptr %ctx, i64 %c, ptr %buf, i32 1, i32 )" + Bytes + R"(, i64 0)
  call void @atalla_scpad_free(ptr %ctx, ptr %buf, i32 %s)
  ret i32 %rw
fail:
  call void @atalla_scpad_free(ptr %ctx, ptr %buf, i32 %s)
  ret i32 %r
}
)";
}

/// A kernel that needs libc: must be refused when the executor is created.
std::string printfKernelIR() {
  return std::string(FirmwareDecls) + R"(
@msg = private constant [3 x i8] c"hi\00"
define i32 @atalla_relu_printf(ptr %ctx, ptr %args) {
  %r = call i32 (ptr, ...) @printf(ptr @msg)
  ret i32 0
}
)";
}

atalla::abi::TensorRecord tensor(atalla::abi::TensorKind Kind, std::vector<int64_t> Sizes, uint64_t Addr,
                                 uint32_t UserIndex = 0) {
  atalla::abi::TensorRecord R{};
  R.Kind = static_cast<uint32_t>(Kind);
  R.DType = 7;
  R.Rank = static_cast<uint32_t>(Sizes.size());
  int64_t Stride = 1;
  for (size_t D = Sizes.size(); D-- > 0;) {
    R.Sizes[D] = Sizes[D];
    R.Strides[D] = Stride;
    Stride *= Sizes[D];
  }
  R.DramAddr = Addr;
  R.Bytes = static_cast<uint64_t>(Stride) * 4;
  R.UserIndex = UserIndex;
  return R;
}

HostTensor floats(std::vector<int64_t> Sizes, const std::vector<float> &V) {
  HostTensor T;
  T.DType = 7;
  T.Sizes = std::move(Sizes);
  T.Bytes.resize(V.size() * 4);
  std::memcpy(T.Bytes.data(), V.data(), T.Bytes.size());
  return T;
}

std::vector<float> values(const HostTensor &T) {
  std::vector<float> V(T.Bytes.size() / 4);
  std::memcpy(V.data(), T.Bytes.data(), T.Bytes.size());
  return V;
}

std::vector<float> iota(float Start, unsigned Count = N) {
  std::vector<float> V(Count);
  for (unsigned I = 0; I < Count; ++I)
    V[I] = Start + static_cast<float>(I);
  return V;
}

/// out = (x + y) + c, c a constant: two instructions of one add kernel.
std::vector<uint8_t> addBlob() {
  BlobBuilder B;
  B.addKernel(atalla::abi::KernelId::add, 3, "atalla_add_test", "add f32 [16:1] [16:1] -> [16:1]",
              compileIR(addKernelIR("atalla_add_test")));
  B.addTensor("x", tensor(atalla::abi::TensorKind::Input, {N}, 0, 0));
  B.addTensor("y", tensor(atalla::abi::TensorKind::Input, {N}, 64, 1));
  B.addTensor("t", tensor(atalla::abi::TensorKind::Intermediate, {N}, 128));
  std::vector<float> C(N, 100.0f);
  atalla::abi::TensorRecord CR = tensor(atalla::abi::TensorKind::Constant, {N}, 192);
  CR.ConstantOffset = B.addConstant(reinterpret_cast<const uint8_t *>(C.data()), C.size() * 4);
  B.addTensor("c", CR);
  B.addTensor("out", tensor(atalla::abi::TensorKind::Output, {N}, 256, 0));
  B.addInstruction(atalla::abi::Opcode::Kernel, 0, {0, 1, 2}, 1, "add");
  B.addInstruction(atalla::abi::Opcode::Kernel, 0, {2, 3, 4}, 1, "add_1");
  B.setDramBytes(4096);
  B.addProvenance("compiler", "test");
  return B.finish();
}

sim::DeviceConfig config() { return sim::DeviceConfig(); }

} // namespace

TEST(Executor, AddsTwoVectorsAndAConstant) {
  ASSERT_EXPECTED(B, Blob::parse(addBlob(), "add.atb"));
  ASSERT_EXPECTED(X, Executor::create(B, config(), nullptr));
  EXPECT_EQ(X->device().dramBytes(), 4096u);
  std::vector<TraceEvent> Events;
  X->setTrace([&](const TraceEvent &E) { Events.push_back(E); });
  ASSERT_EXPECTED(Out, X->run({floats({N}, iota(0)), floats({N}, iota(10))}));
  ASSERT_EQ(Out.size(), 1u);
  EXPECT_EQ(Out[0].DType, 7u);
  EXPECT_EQ(Out[0].Sizes, std::vector<int64_t>{N});
  std::vector<float> V = values(Out[0]);
  for (unsigned I = 0; I < N; ++I)
    EXPECT_EQ(V[I], 2.0f * I + 10 + 100) << I;
  ASSERT_EQ(Events.size(), 2u);
  EXPECT_EQ(Events[1].Index, 1u);
  EXPECT_EQ(Events[1].Node, "add_1");
  EXPECT_EQ(Events[1].Op, "add");
  EXPECT_FALSE(Events[1].IsFallback);
  EXPECT_EQ(Events[1].InputShapes, (std::vector<std::vector<int64_t>>{{N}, {N}}));
  EXPECT_EQ(X->device().counters().KernelCalls, 2u);
  EXPECT_EQ(X->device().counters().SdmaBytesIn, 4u * N * 4);
}

TEST(Executor, WeightsStayResidentBetweenRunsButNotAfterAFailure) {
  // The first run writes the constant and the inputs into DRAM; the second
  // only the inputs (the constant stays, as a loaded model's weights do);
  // after a failed run, the next one writes the constant again.
  ASSERT_EXPECTED(B, Blob::parse(addBlob(), "add.atb"));
  ASSERT_EXPECTED(X, Executor::create(B, config(), nullptr));
  auto hostIn = [&] { return X->device().counters().HostBytesIn; };
  auto check = [&](const std::vector<HostTensor> &Out, float Off) {
    std::vector<float> V = values(Out[0]);
    for (unsigned I = 0; I < N; ++I)
      EXPECT_EQ(V[I], 2.0f * I + Off + 100) << I;
  };
  const uint64_t Inputs = 2u * N * 4, Constant = N * 4;
  uint64_t Before = hostIn();
  ASSERT_EXPECTED(Out1, X->run({floats({N}, iota(0)), floats({N}, iota(10))}));
  check(Out1, 10);
  EXPECT_EQ(hostIn() - Before, Inputs + Constant);
  Before = hostIn();
  ASSERT_EXPECTED(Out2, X->run({floats({N}, iota(1)), floats({N}, iota(2))}));
  check(Out2, 3);
  EXPECT_EQ(hostIn() - Before, Inputs);
  std::vector<float> Bad = iota(0);
  Bad[0] = -1; // instruction 0 stores outside DRAM
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, Bad), floats({N}, iota(10))}), "kernel returned 2");
  Before = hostIn();
  ASSERT_EXPECTED(Out3, X->run({floats({N}, iota(0)), floats({N}, iota(10))}));
  check(Out3, 10);
  EXPECT_EQ(hostIn() - Before, Inputs + Constant);
}

TEST(Executor, RefusesWrongInputs) {
  ASSERT_EXPECTED(B, Blob::parse(addBlob(), "add.atb"));
  ASSERT_EXPECTED(X, Executor::create(B, config(), nullptr));
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, iota(0))}), "add.atb: expected 2 inputs, got 1");
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, iota(0)), floats({N - 1}, iota(0, N - 1))}),
                        "add.atb: input 1 ('y'): expected float32 [16], got float32 [15]");
  HostTensor Wrong = floats({N}, iota(0));
  Wrong.DType = 5;
  EXPECT_ERROR_CONTAINS(X->run({Wrong, floats({N}, iota(0))}),
                        "input 0 ('x'): expected float32 [16], got int64 [16]");
  HostTensor Short = floats({N}, iota(0));
  Short.Bytes.resize(8);
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, iota(0)), Short}), "input 1 ('y'): 8 bytes of data");
}

TEST(Executor, KernelFailureStopsWithInstructionAndNodeThenResetRecovers) {
  ASSERT_EXPECTED(B, Blob::parse(addBlob(), "add.atb"));
  ASSERT_EXPECTED(X, Executor::create(B, config(), nullptr));
  std::vector<float> Bad = iota(0);
  Bad[0] = -1; // x[0] < 0 makes instruction 0 store outside DRAM
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, Bad), floats({N}, iota(10))}),
                        "add.atb: instruction 0 (node 'add', kernel add): kernel returned 2 (SDMA transfer outside DRAM)");
  // x + y negative at element 0 only in the second add.
  std::vector<float> Y = iota(10);
  Y[0] = -20;
  EXPECT_ERROR_CONTAINS(X->run({floats({N}, iota(0)), floats({N}, Y)}),
                        "instruction 1 (node 'add_1', kernel add): kernel returned 2");
  // The failed kernels left grants live; the next run starts from a reset device.
  ASSERT_EXPECTED(Out, X->run({floats({N}, iota(1)), floats({N}, iota(2))}));
  std::vector<float> V = values(Out[0]);
  for (unsigned I = 0; I < N; ++I)
    EXPECT_EQ(V[I], 2.0f * I + 3 + 100) << I;
}

TEST(Executor, RefusesKernelNeedingPrintf) {
  BlobBuilder BB;
  BB.addKernel(atalla::abi::KernelId::relu, 2, "atalla_relu_printf", "relu", compileIR(printfKernelIR()));
  BB.addTensor("x", tensor(atalla::abi::TensorKind::Input, {N}, 0, 0));
  BB.addTensor("y", tensor(atalla::abi::TensorKind::Output, {N}, 64, 0));
  BB.addInstruction(atalla::abi::Opcode::Kernel, 0, {0, 1}, 1, "relu");
  BB.setDramBytes(4096);
  ASSERT_EXPECTED(B, Blob::parse(BB.finish(), "printf.atb"));
  auto X = Executor::create(B, config(), nullptr);
  ASSERT_FALSE(static_cast<bool>(X));
  std::string M = llvm::toString(X.takeError());
  EXPECT_NE(M.find("printf.atb: kernel record 0 (relu, symbol 'atalla_relu_printf')"), std::string::npos) << M;
  EXPECT_NE(M.find("'printf'"), std::string::npos) << M;
}

TEST(Executor, RefusesMissingSymbol) {
  BlobBuilder BB;
  BB.addKernel(atalla::abi::KernelId::add, 3, "atalla_add_elsewhere", "add",
               compileIR(addKernelIR("atalla_add_test")));
  BB.addTensor("x", tensor(atalla::abi::TensorKind::Input, {N}, 0, 0));
  BB.setDramBytes(4096);
  ASSERT_EXPECTED(B, Blob::parse(BB.finish(), "sym.atb"));
  EXPECT_ERROR_CONTAINS(Executor::create(B, config(), nullptr), "sym.atb: kernel record 0 (add, symbol 'atalla_add_elsewhere')");
}

TEST(Executor, GarbageObjectRefused) {
  BlobBuilder BB;
  BB.addKernel(atalla::abi::KernelId::add, 3, "atalla_add_x", "add", std::vector<uint8_t>(64, 0x5a));
  BB.setDramBytes(4096);
  ASSERT_EXPECTED(B, Blob::parse(BB.finish(), "junk.atb"));
  EXPECT_ERROR_CONTAINS(Executor::create(B, config(), nullptr), "junk.atb: kernel record 0 (add");
}

//===----------------------------------------------------------------------===//
// Fallback plumbing with a fake handler
//===----------------------------------------------------------------------===//

namespace {

/// Elementwise negation of input 0; records what it was given.
class NegateHandler : public FallbackHandler {
public:
  std::vector<HostTensor> Seen;
  bool WrongShape = false;
  llvm::Expected<std::vector<HostTensor>> call(const Blob &B, uint32_t CallIndex, const std::vector<HostTensor> &Inputs,
                                               const std::vector<const atalla::abi::TensorRecord *> &Outs) override {
    Seen = Inputs;
    if (B.fallbackOpName(CallIndex) != "aten::neg")
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "unexpected op");
    HostTensor T = Inputs.at(0);
    std::vector<float> V = values(T);
    for (float &F : V)
      F = -F;
    std::memcpy(T.Bytes.data(), V.data(), T.Bytes.size());
    if (WrongShape)
      T.Sizes = {static_cast<int64_t>(V.size())};
    return std::vector<HostTensor>{T};
  }
};

/// out [3, 2] = neg(transpose(x [2, 3])): the fallback reads a strided view.
std::vector<uint8_t> negBlob() {
  BlobBuilder B;
  B.addTensor("x", tensor(atalla::abi::TensorKind::Input, {2, 3}, 0, 0));
  atalla::abi::TensorRecord V = tensor(atalla::abi::TensorKind::Intermediate, {3, 2}, 0);
  V.IsView = 1;
  V.Strides[0] = 1;
  V.Strides[1] = 3;
  V.Bytes = 0;
  B.addTensor("x_t", V);
  B.addTensor("out", tensor(atalla::abi::TensorKind::Output, {3, 2}, 64, 0));
  uint32_t Call = B.beginFallbackCall("aten::neg", "");
  B.addFallbackArg("self", atalla::abi::ArgTag::Tensor, {0});
  B.addInstruction(atalla::abi::Opcode::Fallback, Call, {1, 2}, 1, "neg");
  B.setDramBytes(1024);
  return B.finish();
}

} // namespace

TEST(Executor, FallbackGathersViewsAndWritesResults) {
  ASSERT_EXPECTED(B, Blob::parse(negBlob(), "neg.atb"));
  NegateHandler H;
  ASSERT_EXPECTED(X, Executor::create(B, config(), &H));
  std::vector<TraceEvent> Events;
  X->setTrace([&](const TraceEvent &E) { Events.push_back(E); });
  ASSERT_EXPECTED(Out, X->run({floats({2, 3}, {1, 2, 3, 4, 5, 6})}));
  ASSERT_EQ(H.Seen.size(), 1u);
  EXPECT_EQ(H.Seen[0].Sizes, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values(H.Seen[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  ASSERT_EQ(Out.size(), 1u);
  EXPECT_EQ(values(Out[0]), (std::vector<float>{-1, -4, -2, -5, -3, -6}));
  ASSERT_EQ(Events.size(), 1u);
  EXPECT_TRUE(Events[0].IsFallback);
  EXPECT_EQ(Events[0].Op, "aten::neg");
  EXPECT_EQ(X->fallbackBytes(), 48u);
}

TEST(Executor, FallbackErrors) {
  ASSERT_EXPECTED(B, Blob::parse(negBlob(), "neg.atb"));
  {
    ASSERT_EXPECTED(X, Executor::create(B, config(), nullptr));
    EXPECT_ERROR_CONTAINS(X->run({floats({2, 3}, {1, 2, 3, 4, 5, 6})}),
                          "neg.atb: instruction 0 (node 'neg', aten::neg): runs through LibTorch, but this executor "
                          "has no fallback handler");
  }
  NegateHandler H;
  H.WrongShape = true;
  ASSERT_EXPECTED(X, Executor::create(B, config(), &H));
  EXPECT_ERROR_CONTAINS(X->run({floats({2, 3}, {1, 2, 3, 4, 5, 6})}),
                        "instruction 0 (node 'neg', aten::neg): result 0 is float32 [6], the program expects float32 [3, 2]");
}
