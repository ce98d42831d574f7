//===- codegen/KernelEmitter.cpp - kernel specialisations to objects ------===//
//
// The family switch, the shared IR building blocks of EmitterSupport.h, and
// the compile pipeline: verify, set the target's triple and data layout,
// optimise with the new pass manager, emit an object with the legacy code
// generator, and refuse an object that needs any symbol besides the firmware.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/EmitterSupport.h"

#include "runtime/abi/KernelAbi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <sys/syscall.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <mutex>

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen;
using namespace atalla::codegen::detail;

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

KernelBuilder::KernelBuilder(Module &M, StringRef Symbol, uint64_t Budget, VectorIsa Isa)
    : Budget(Budget), Isa(Isa == VectorIsa::Auto ? VectorIsa::Avx2 : Isa), Ctx(M.getContext()), M(M), B(M.getContext()), AllocaB(M.getContext()) {
  I32 = B.getInt32Ty();
  I64 = B.getInt64Ty();
  F32 = B.getFloatTy();
  Ptr = B.getPtrTy();

  auto Declare = [&](StringRef Name, FunctionType *Ty) {
    FunctionCallee C = M.getOrInsertFunction(Name, Ty);
    if (auto *Fn = dyn_cast<Function>(C.getCallee()))
      Fn->addFnAttr(Attribute::NoUnwind);
    return C;
  };
  AllocFn = Declare("atalla_scpad_alloc", FunctionType::get(Ptr, {Ptr, I64, I64, Ptr}, false));
  FreeFn = Declare("atalla_scpad_free", FunctionType::get(B.getVoidTy(), {Ptr, Ptr, I32}, false));
  LoadFn = Declare("atalla_sdma_load", FunctionType::get(I32, {Ptr, Ptr, I64, I32, I32, I64}, false));
  StoreFn =
      Declare("atalla_sdma_store", FunctionType::get(I32, {Ptr, I64, Ptr, I32, I32, I64}, false));

  F = Function::Create(FunctionType::get(I32, {Ptr, Ptr}, false), GlobalValue::ExternalLinkage,
                       Symbol, M);
  F->addFnAttr(Attribute::NoUnwind);
  // Without it -O3 turns zeroing and copy loops into memset/memcpy calls,
  // which the firmware-only loader refuses.
  F->addFnAttr("no-builtins");
  CtxArg = F->getArg(0);
  ArgsArg = F->getArg(1);
  CtxArg->setName("ctx");
  ArgsArg->setName("args");
  F->addParamAttr(1, Attribute::NoAlias);
  F->addParamAttr(1, Attribute::NoCapture);
  F->addParamAttr(1, Attribute::ReadOnly);

  Entry = BasicBlock::Create(Ctx, "entry", F);
  BasicBlock *Body = BasicBlock::Create(Ctx, "body", F);
  Cleanup = BasicBlock::Create(Ctx, "cleanup");
  AllocaB.SetInsertPoint(Entry);
  AllocaB.CreateBr(Body);
  AllocaB.SetInsertPoint(Entry->getTerminator());
  StatusSlot = AllocaB.CreateAlloca(I32, nullptr, "status");
  AllocaB.CreateStore(i32(0), StatusSlot);
  B.SetInsertPoint(Body);
}

Value *KernelBuilder::f32(float V) { return ConstantFP::get(F32, V); }

Value *KernelBuilder::operandAddr(unsigned I) {
  Value *P = B.CreateConstInBoundsGEP1_64(I64, ArgsArg, I);
  Value *Addr = B.CreateLoad(I64, P, "addr" + Twine(I));
  if (I < Bf16Operands.size() && Bf16Operands[I])
    Addr = B.CreateOr(B.CreateShl(Addr, 1, "", /*HasNUW=*/true), i64(abi::Bf16Aperture), "bf16addr" + Twine(I));
  return Addr;
}

Value *KernelBuilder::rawOperandAddr(unsigned I) {
  Value *P = B.CreateConstInBoundsGEP1_64(I64, ArgsArg, I);
  return B.CreateLoad(I64, P, "raw" + Twine(I));
}

Value *KernelBuilder::alloc(uint64_t Bytes, const Twine &Name) {
  assert(LoopDepth == 0 && "grant inside a loop");
  Bytes = std::max<uint64_t>(Bytes, 64);
  Bytes = (Bytes + ScratchpadAlign - 1) / ScratchpadAlign * ScratchpadAlign;
  Granted += Bytes;
  Grant G;
  G.PtrSlot = AllocaB.CreateAlloca(Ptr, nullptr, Name + ".slot");
  G.SidSlot = AllocaB.CreateAlloca(I32, nullptr, Name + ".sid");
  AllocaB.CreateStore(ConstantPointerNull::get(cast<PointerType>(Ptr)), G.PtrSlot);
  AllocaB.CreateStore(i32(0), G.SidSlot);
  Grants.push_back(G);

  CallInst *P = B.CreateCall(AllocFn, {CtxArg, i64(Bytes), i64(ScratchpadAlign), G.SidSlot}, Name);
  // Each grant is a fresh buffer: noalias lets the vectoriser skip overlap checks.
  P->addRetAttr(Attribute::NoAlias);
  P->addRetAttr(Attribute::getWithAlignment(Ctx, Align(ScratchpadAlign)));
  P->addRetAttr(Attribute::getWithDereferenceableOrNullBytes(Ctx, Bytes));
  B.CreateStore(P, G.PtrSlot);

  BasicBlock *Fail = BasicBlock::Create(Ctx, Name + ".enomem", F);
  BasicBlock *Cont = BasicBlock::Create(Ctx, Name + ".ok", F);
  MDBuilder MDB(Ctx);
  B.CreateCondBr(B.CreateIsNull(P), Fail, Cont, MDB.createUnlikelyBranchWeights());
  B.SetInsertPoint(Fail);
  B.CreateStore(i32(abi::ATALLA_KERNEL_ENOMEM), StatusSlot);
  B.CreateBr(Cleanup);
  B.SetInsertPoint(Cont);
  return P;
}

void KernelBuilder::exitIfNonzero(Value *Status) {
  BasicBlock *Fail = BasicBlock::Create(Ctx, "sdma.fail", F);
  BasicBlock *Cont = BasicBlock::Create(Ctx, "sdma.ok", F);
  MDBuilder MDB(Ctx);
  B.CreateCondBr(B.CreateICmpNE(Status, i32(0)), Fail, Cont, MDB.createUnlikelyBranchWeights());
  B.SetInsertPoint(Fail);
  B.CreateStore(Status, StatusSlot);
  B.CreateBr(Cleanup);
  B.SetInsertPoint(Cont);
}

void KernelBuilder::failIf(Value *Cond, int32_t Status) {
  BasicBlock *Fail = BasicBlock::Create(Ctx, "fail", F);
  BasicBlock *Cont = BasicBlock::Create(Ctx, "ok", F);
  MDBuilder MDB(Ctx);
  B.CreateCondBr(Cond, Fail, Cont, MDB.createUnlikelyBranchWeights());
  B.SetInsertPoint(Fail);
  B.CreateStore(i32(uint32_t(Status)), StatusSlot);
  B.CreateBr(Cleanup);
  B.SetInsertPoint(Cont);
}

static Value *asI32(IRBuilder<> &B, Value *V) { return B.CreateZExtOrTrunc(V, B.getInt32Ty()); }
static Value *asI64(IRBuilder<> &B, Value *V) { return B.CreateZExtOrTrunc(V, B.getInt64Ty()); }

void KernelBuilder::sdmaLoad(Value *ScpadDst, Value *DramAddr, Value *Rows, Value *RowBytes,
                             Value *StrideBytes) {
  Value *S = B.CreateCall(LoadFn, {CtxArg, ScpadDst, asI64(B, DramAddr), asI32(B, Rows),
                                   asI32(B, RowBytes), asI64(B, StrideBytes)});
  exitIfNonzero(S);
}

void KernelBuilder::sdmaStore(Value *DramAddr, Value *ScpadSrc, Value *Rows, Value *RowBytes,
                              Value *StrideBytes) {
  Value *S = B.CreateCall(StoreFn, {CtxArg, asI64(B, DramAddr), ScpadSrc, asI32(B, Rows),
                                    asI32(B, RowBytes), asI64(B, StrideBytes)});
  exitIfNonzero(S);
}

void KernelBuilder::forLoop(Value *Lo, Value *Hi, const Twine &Name,
                            const std::function<void(Value *IV)> &Body, bool Parallel, bool Rolled) {
  std::string N = Name.str();
  BasicBlock *Pre = B.GetInsertBlock();
  BasicBlock *Header = BasicBlock::Create(Ctx, N + ".head", F);
  BasicBlock *BodyBB = BasicBlock::Create(Ctx, N + ".body", F);
  BasicBlock *Exit = BasicBlock::Create(Ctx, N + ".exit");
  B.CreateBr(Header);
  B.SetInsertPoint(Header);
  PHINode *IV = B.CreatePHI(I64, 2, N);
  IV->addIncoming(Lo, Pre);
  B.CreateCondBr(B.CreateICmpULT(IV, Hi), BodyBB, Exit);
  B.SetInsertPoint(BodyBB);
  ++LoopDepth;
  Body(IV);
  --LoopDepth;
  Value *Next = B.CreateAdd(IV, i64(1), N + ".next", /*HasNUW=*/true, /*HasNSW=*/true);
  IV->addIncoming(Next, B.GetInsertBlock());
  BranchInst *Latch = B.CreateBr(Header);
  SmallVector<Metadata *, 3> LoopMD = {nullptr};
  if (Parallel) {
    MDNode *Group = MDNode::getDistinct(Ctx, {});
    for (auto It = BodyBB->getIterator(); It != F->end(); ++It)
      for (Instruction &I : *It)
        if (I.mayReadOrWriteMemory())
          I.setMetadata(LLVMContext::MD_access_group, Group);
    LoopMD.push_back(MDNode::get(Ctx, {MDString::get(Ctx, "llvm.loop.parallel_accesses"), Group}));
  }
  if (Rolled)
    LoopMD.push_back(MDNode::get(Ctx, {MDString::get(Ctx, "llvm.loop.unroll.disable")}));
  if (LoopMD.size() > 1) {
    MDNode *Loop = MDNode::getDistinct(Ctx, LoopMD);
    Loop->replaceOperandWith(0, Loop);
    Latch->setMetadata(LLVMContext::MD_loop, Loop);
  }
  Exit->insertInto(F);
  B.SetInsertPoint(Exit);
}

Value *KernelBuilder::elementPtr(Value *Buf, Value *Index) {
  return B.CreateInBoundsGEP(F32, Buf, Index);
}
Value *KernelBuilder::loadF32(Value *Buf, Value *Index) {
  return B.CreateAlignedLoad(F32, elementPtr(Buf, Index), Align(4));
}
void KernelBuilder::storeF32(Value *V, Value *Buf, Value *Index) {
  B.CreateAlignedStore(V, elementPtr(Buf, Index), Align(4));
}

AllocaInst *KernelBuilder::slot(Type *Ty, const Twine &Name) {
  return AllocaB.CreateAlloca(Ty, nullptr, Name);
}

Value *KernelBuilder::umin(Value *A, Value *Bv) {
  return B.CreateSelect(B.CreateICmpULT(A, Bv), A, Bv);
}

void KernelBuilder::finish() {
  B.CreateStore(i32(0), StatusSlot);
  B.CreateBr(Cleanup);
  Cleanup->insertInto(F);
  B.SetInsertPoint(Cleanup);
  for (auto It = Grants.rbegin(); It != Grants.rend(); ++It) {
    Value *P = B.CreateLoad(Ptr, It->PtrSlot);
    Value *Sid = B.CreateLoad(I32, It->SidSlot);
    B.CreateCall(FreeFn, {CtxArg, P, Sid});
  }
  B.CreateRet(B.CreateLoad(I32, StatusSlot, "ret"));
}

//===----------------------------------------------------------------------===//
// Inline math and addressing
//===----------------------------------------------------------------------===//

Value *atalla::codegen::detail::emitExp(IRBuilderBase &B, Value *X) {
  Type *FT = X->getType();
  Type *IT = FT->getWithNewType(B.getInt32Ty());
  auto C = [&](float V) { return ConstantFP::get(FT, V); };
  auto CI = [&](int32_t V) { return ConstantInt::get(IT, V, /*IsSigned=*/true); };
  auto Fma = [&](Value *A, Value *Bv, Value *Cv) {
    // fmuladd: fused where the target has FMA, mul+add (never a libm call) where not.
    return B.CreateIntrinsic(Intrinsic::fmuladd, {FT}, {A, Bv, Cv});
  };
  const float Hi = 88.72283935546875f;  // just below ln(FLT_MAX)
  const float Lo = -87.33654475055310f; // ln(FLT_MIN): smaller x would give denormals
  // Clamp with compares that are false for NaN, so NaN flows through.
  Value *Xc = B.CreateSelect(B.CreateFCmpOGT(X, C(Hi)), C(Hi), X);
  Xc = B.CreateSelect(B.CreateFCmpOLT(Xc, C(Lo)), C(Lo), Xc);
  // n = round(x / ln2) by the 1.5 * 2^23 trick (no rint, which may be a libcall).
  const float Magic = 12582912.0f;
  Value *T = B.CreateFAdd(B.CreateFMul(Xc, C(1.44269504088896341f)), C(Magic));
  Value *Nf = B.CreateFSub(T, C(Magic));
  Value *N = B.CreateSub(B.CreateBitCast(T, IT), CI(0x4B400000));
  // r = x - n*ln2, ln2 split so n*Ln2Hi is exact (Cody-Waite).
  Value *R = Fma(Nf, C(-0.693359375f), Xc);
  R = Fma(Nf, C(2.12194440e-4f), R);
  // exp(r) = 1 + r + r^2 * P(r), |r| <= ln2/2 (Cephes expf coefficients).
  Value *P = C(1.9875691500e-4f);
  for (float Coef : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                     5.0000001201e-1f})
    P = Fma(P, R, C(Coef));
  Value *R2 = B.CreateFMul(R, R);
  Value *Y = B.CreateFAdd(Fma(P, R2, R), C(1.0f));
  // 2^n in two halves: n in [-126, 128], each half in [-63, 64] is a normal float.
  Value *N1 = B.CreateAShr(N, CI(1));
  Value *N2 = B.CreateSub(N, N1);
  auto Pow2 = [&](Value *E) {
    return B.CreateBitCast(B.CreateShl(B.CreateAdd(E, CI(127)), CI(23)), FT);
  };
  Value *Res = B.CreateFMul(B.CreateFMul(Y, Pow2(N1)), Pow2(N2));
  Res = B.CreateSelect(B.CreateFCmpOGT(X, C(Hi)), ConstantFP::getInfinity(FT), Res);
  Res = B.CreateSelect(B.CreateFCmpOLT(X, C(Lo)), ConstantFP::getZero(FT), Res);
  return Res;
}

/// log(x): Cephes logf. Denormals are scaled by 2^23 first; x = m * 2^e,
/// m in [sqrt(1/2), sqrt(2)); log(1 + f) by the degree-9 polynomial. Under
/// 2 ulp. x < 0 and NaN -> NaN, 0 -> -inf, +inf -> +inf.
Value *atalla::codegen::detail::emitLog(IRBuilderBase &B, Value *X) {
  Type *F = X->getType(), *I = F->getWithNewType(B.getInt32Ty());
  auto CI = [&](int32_t V) { return ConstantInt::get(I, V, /*IsSigned=*/true); };
  auto C = [&](float V) { return ConstantFP::get(F, V); };
  auto Fma = [&](Value *A, Value *Bv, Value *Cv) -> Value * {
    return B.CreateIntrinsic(Intrinsic::fmuladd, {F}, {A, Bv, Cv});
  };
  auto Poly = [&](Value *T, std::initializer_list<float> Coefs) { // Horner, highest degree first
    Value *P = nullptr;
    for (float Coef : Coefs)
      P = P ? Fma(P, T, C(Coef)) : C(Coef);
    return P;
  };
  Value *Denorm = B.CreateFCmpOLT(X, C(1.17549435e-38f));
  Value *Xs = B.CreateSelect(Denorm, B.CreateFMul(X, C(8388608.0f)), X);
  Value *Bits = B.CreateBitCast(Xs, I);
  Value *E = B.CreateSub(B.CreateLShr(Bits, 23), CI(126));
  E = B.CreateSelect(Denorm, B.CreateSub(E, CI(23)), E);
  Value *M = B.CreateBitCast(B.CreateOr(B.CreateAnd(Bits, CI(0x007FFFFF)), CI(0x3F000000)), F);
  Value *Small = B.CreateFCmpOLT(M, C(0.707106781186547524f));
  E = B.CreateSelect(Small, B.CreateSub(E, CI(1)), E);
  Value *R = B.CreateSelect(Small, B.CreateFSub(B.CreateFAdd(M, M), C(1.0f)), B.CreateFSub(M, C(1.0f)));
  Value *Z = B.CreateFMul(R, R);
  Value *Y = Poly(R, {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f,
                         1.4249322787E-1f, -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f,
                         3.3333331174E-1f});
  Y = B.CreateFMul(B.CreateFMul(Y, R), Z);
  Value *Ef = B.CreateSIToFP(E, F);
  Y = Fma(Ef, C(-2.12194440e-4f), Y);
  Y = Fma(Z, C(-0.5f), Y);
  Value *L = Fma(Ef, C(0.693359375f), B.CreateFAdd(R, Y));
  L = B.CreateSelect(B.CreateFCmpOEQ(X, C(0.0f)), ConstantFP::getInfinity(F, true), L);
  L = B.CreateSelect(B.CreateFCmpOEQ(X, ConstantFP::getInfinity(F)), X, L);
  return B.CreateSelect(B.CreateFCmpOLT(X, C(0.0f)), ConstantFP::getNaN(F), B.CreateSelect(B.CreateFCmpUNO(X, X), X, L));
}

std::vector<Value *> atalla::codegen::detail::stridedOffsets(IRBuilderBase &B, Value *Linear,
                                                             ArrayRef<int64_t> Sizes,
                                                             ArrayRef<std::vector<int64_t>> Strides) {
  Type *I64 = B.getInt64Ty();
  std::vector<Value *> Off(Strides.size(), ConstantInt::get(I64, 0));
  Value *Rem = Linear;
  for (size_t D = Sizes.size(); D-- > 0;) {
    if (Sizes[D] == 1)
      continue;
    bool First = true;
    for (size_t E = 0; E < D; ++E)
      First &= Sizes[E] == 1;
    Value *Idx = Rem;
    if (!First) {
      Idx = B.CreateURem(Rem, ConstantInt::get(I64, Sizes[D]));
      Rem = B.CreateUDiv(Rem, ConstantInt::get(I64, Sizes[D]));
    }
    for (size_t Op = 0; Op < Strides.size(); ++Op) {
      int64_t S = Strides[Op][D];
      if (S == 0)
        continue;
      Value *Term = S == 1 ? Idx : B.CreateMul(Idx, ConstantInt::get(I64, S), "", true, true);
      Off[Op] = isa<ConstantInt>(Off[Op]) && cast<ConstantInt>(Off[Op])->isZero()
                    ? Term
                    : B.CreateAdd(Off[Op], Term, "", true, true);
    }
    if (First)
      break;
  }
  return Off;
}

Error atalla::codegen::detail::specError(const abi::KernelSpec &Spec, const Twine &Msg) {
  return createStringError(inconvertibleErrorCode(), "kernel '" + Spec.key() + "': " + Msg);
}

//===----------------------------------------------------------------------===//
// Emission
//===----------------------------------------------------------------------===//

static Error checkCommon(const abi::KernelSpec &Spec) {
  if (Spec.Operands.empty())
    return specError(Spec, "no operands");
  if (std::string Why = Spec.typeError(); !Why.empty())
    return specError(Spec, Why);
  for (size_t I = 0; I < Spec.Operands.size(); ++I) {
    const abi::OperandSpec &O = Spec.Operands[I];
    if (O.Sizes.size() != O.Strides.size())
      return specError(Spec, "operand " + Twine(I) + " has " + Twine(O.Sizes.size()) +
                                 " sizes but " + Twine(O.Strides.size()) + " strides");
    for (size_t D = 0; D < O.Sizes.size(); ++D)
      if (O.Sizes[D] < 0 || O.Strides[D] < 0)
        return specError(Spec, "operand " + Twine(I) + " has a negative size or stride");
  }
  if (Spec.Post != abi::Epilogue::None && Spec.family() != abi::KernelFamily::Gemm &&
      Spec.Kernel != abi::KernelId::dwconv2d)
    return specError(Spec, "epilogues are only fused into gemm and dwconv2d kernels");
  if (Spec.HasScale && Spec.Kernel != abi::KernelId::gemm)
    return specError(Spec, "a column scale (kscale) is only fused into gemm kernels");
  if (std::string Why = Spec.paramsError(); !Why.empty())
    return specError(Spec, Why);
  // The output is contiguous: C's row-major strides (size-1 dims are free).
  // A copy may write a slice of a larger tensor (cat): strides growing
  // outwards, each at least the span of the dims inside it, so no two
  // elements share an address.
  // A GEMM's C may be such a slice outside its rows (a convolution writing
  // its channels of a cat), its [M, N] rows contiguous.
  const abi::OperandSpec &Out = Spec.output();
  const bool Slice = Spec.Kernel == abi::KernelId::copy;
  const size_t Rows = Spec.family() == abi::KernelFamily::Gemm && Out.Sizes.size() >= 2 ? Out.Sizes.size() - 2 : 0;
  int64_t Expect = 1, Span = 1; // contiguous stride; elements the inner dims span
  for (size_t D = Out.Sizes.size(); D-- > 0;) {
    if (Out.Sizes[D] == 1)
      continue;
    if ((Slice || D < Rows) ? Out.Strides[D] < Span : Out.Strides[D] != Expect)
      return specError(Spec, Slice ? "the output is not a row-major slice" : "the output is not contiguous");
    Expect *= Out.Sizes[D];
    Span += Out.Strides[D] * (Out.Sizes[D] - 1);
  }
  return Error::success();
}

bool atalla::codegen::kernelFits(const abi::KernelSpec &Spec, uint64_t PadBytes) {
  if (Spec.Operands.size() < 2)
    return true;
  if (Spec.Kernel == abi::KernelId::attention && Spec.Operands.size() >= 3) // q, k, v: the output is not needed
    return attentionMinFloats(Spec.Operands[0].Sizes.back(), Spec.Operands[2].Sizes.back()) <=
           attentionBudgetFloats(PadBytes);
  if (Spec.Kernel == abi::KernelId::adaptive_avg_pool2d && Spec.Operands[0].Sizes.size() == 4 &&
      Spec.output().Sizes.size() == 4)
    return adaptivePoolFloats(Spec) <= adaptivePoolBudgetFloats(scratchpadBudget(PadBytes));
  if (Spec.family() == abi::KernelFamily::Pool && Spec.Params.size() == 8 && Spec.Operands[0].Sizes.size() == 4 &&
      Spec.output().Sizes.size() == 4)
    return poolFloats(Spec, 1) <= poolBudgetFloats(Spec, scratchpadBudget(PadBytes));
  return true;
}

Expected<std::unique_ptr<Module>> atalla::codegen::emitKernelModule(const abi::KernelSpec &Spec,
                                                                    LLVMContext &Ctx, uint64_t PadBytes,
                                                                    VectorIsa Isa, bool Bf16Dot) {
  if (PadBytes < MinPadBytes)
    return specError(Spec, "scratchpads of " + Twine(PadBytes) + " bytes are too small (at least " +
                               Twine(MinPadBytes) + ")");
  if (Error E = checkCommon(Spec))
    return E;
  std::string Symbol = Spec.symbol();
  auto M = std::make_unique<Module>(Symbol, Ctx);
  KernelBuilder KB(*M, Symbol, scratchpadBudget(PadBytes), Isa);
  KB.Bf16Dot = Bf16Dot && Isa == VectorIsa::Avx512;
  for (size_t I = 0; I < Spec.Operands.size(); ++I)
    KB.Bf16Operands.push_back(Spec.storedAsBf16(I));
  Error E = Error::success();
  switch (Spec.family()) {
  case abi::KernelFamily::Gemm:
    E = emitGemm(KB, Spec);
    break;
  case abi::KernelFamily::Unary:
  case abi::KernelFamily::Binary:
  case abi::KernelFamily::Copy:
  case abi::KernelFamily::Chain:
  case abi::KernelFamily::Select:
    E = emitElementwise(KB, Spec);
    break;
  case abi::KernelFamily::Softmax:
    E = emitSoftmax(KB, Spec);
    break;
  case abi::KernelFamily::Pad:
    E = emitPad(KB, Spec);
    break;
  case abi::KernelFamily::Pool:
    E = emitPool(KB, Spec);
    break;
  case abi::KernelFamily::Norm:
    E = emitLayerNorm(KB, Spec);
    break;
  case abi::KernelFamily::Reduce:
    E = emitReduce(KB, Spec);
    break;
  case abi::KernelFamily::Gather:
    E = emitGather(KB, Spec);
    break;
  case abi::KernelFamily::Attention:
    E = emitAttention(KB, Spec);
    break;
  }
  if (E)
    return E;
  if (KB.grantedBytes() > KB.Budget)
    return specError(Spec, "needs " + Twine(KB.grantedBytes()) +
                               " bytes of scratchpad, over the budget of " + Twine(KB.Budget) +
                               " (three quarters of a " + Twine(PadBytes) + "-byte pad)");
  std::string Msg;
  raw_string_ostream OS(Msg);
  if (verifyModule(*M, &OS))
    return specError(Spec, "emitted invalid IR: " + OS.str());
  return M;
}

//===----------------------------------------------------------------------===//
// Target and pipeline
//===----------------------------------------------------------------------===//

static void initNativeTarget() {
  static std::once_flag Once;
  std::call_once(Once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

std::string atalla::codegen::targetTriple() { return Triple::normalize(sys::getProcessTriple()); }

std::string atalla::codegen::resolvedCPU(const CodegenOptions &Opts) {
  return Opts.TargetCPU.empty() ? sys::getHostCPUName().str() : Opts.TargetCPU;
}

std::string atalla::codegen::resolvedFeatures(const CodegenOptions &Opts) {
  if (!Opts.TargetCPU.empty())
    return Opts.Features; // the CPU model's own features, with the user's changes
  // The host's, sorted (deterministic), then the user's changes (later
  // entries win).
  // AMX needs the OS to hand the tile state to the process that runs the
  // kernels (Linux 5.16 and later, on request); where this host's kernel
  // does not support that, code for this host leaves AMX out.
  static const bool AmxUsable = [] {
    constexpr long ArchGetXcompSupp = 0x1021, XfeatureXtiledata = 18;
    unsigned long Supported = 0;
    return ::syscall(SYS_arch_prctl, ArchGetXcompSupp, &Supported) == 0 && (Supported >> XfeatureXtiledata) & 1;
  }();
  std::vector<std::string> Fs;
  for (const auto &KV : sys::getHostCPUFeatures()) {
    const bool Amx = StringRef(KV.getKey()).starts_with("amx-");
    Fs.push_back((KV.getValue() && (!Amx || AmxUsable) ? "+" : "-") + KV.getKey().str());
  }
  std::sort(Fs.begin(), Fs.end(),
            [](const std::string &A, const std::string &B) { return A.substr(1) < B.substr(1); });
  std::string S;
  for (const std::string &F : Fs)
    S += (S.empty() ? "" : ",") + F;
  if (!Opts.Features.empty())
    S += "," + Opts.Features;
  return S;
}

static Expected<std::unique_ptr<TargetMachine>> createTargetMachine(const CodegenOptions &Opts) {
  initNativeTarget();
  if (Opts.OptLevel > 3)
    return createStringError(inconvertibleErrorCode(),
                             "optimisation level " + Twine(Opts.OptLevel) + " is not 0..3");
  std::string TT = targetTriple(), Err;
  const Target *T = TargetRegistry::lookupTarget(TT, Err);
  if (!T)
    return createStringError(inconvertibleErrorCode(), "no target for '" + TT + "': " + Err);
  // LLVM warns about an unknown CPU or feature and goes on without it: a
  // user's typo would silently compile for something else. Refuse instead.
  std::unique_ptr<MCSubtargetInfo> Probe(T->createMCSubtargetInfo(TT, "", ""));
  if (!Opts.TargetCPU.empty() && Probe && !Probe->isCPUStringValid(Opts.TargetCPU))
    return createStringError(inconvertibleErrorCode(),
                             "unknown target CPU '" + Opts.TargetCPU + "' for " + TT +
                                 " (llc-19 -mcpu=help lists them)");
  if (Probe)
    for (StringRef F : split(Opts.Features, ',')) {
      F = F.trim();
      if (F.empty())
        continue;
      if (F[0] != '+' && F[0] != '-')
        return createStringError(inconvertibleErrorCode(),
                                 "target feature '" + F + "' must start with + or -");
      bool Known = false;
      for (const SubtargetFeatureKV &KV : Probe->getAllProcessorFeatures())
        Known |= F.drop_front() == KV.Key;
      if (!Known)
        return createStringError(inconvertibleErrorCode(),
                                 "unknown target feature '" + F.drop_front() + "' (llc-19 -mattr=help lists them)");
    }
  std::optional<CodeGenOptLevel> Level = CodeGenOpt::getLevel(static_cast<int>(Opts.OptLevel));
  TargetOptions TO;
  std::unique_ptr<TargetMachine> TM(T->createTargetMachine(TT, resolvedCPU(Opts),
                                                           resolvedFeatures(Opts), TO, Reloc::PIC_,
                                                           CodeModel::Small, *Level));
  if (!TM)
    return createStringError(inconvertibleErrorCode(),
                             "cannot create a target machine for '" + TT + "'");
  return TM;
}

/// Whether \p TM's subtarget has AVX-512 (avx512f).
static bool hasAvx512(const TargetMachine &TM) { return TM.getMCSubtargetInfo()->checkFeatures("+avx512f"); }
static bool hasBf16Dot(const TargetMachine &TM) {
  return TM.getMCSubtargetInfo()->checkFeatures("+amx-tile,+amx-bf16,+avx512f");
}

static VectorIsa isaFor(const TargetMachine &TM, VectorIsa Asked) {
  if (Asked != VectorIsa::Auto)
    return Asked;
  return hasAvx512(TM) ? VectorIsa::Avx512 : VectorIsa::Avx2;
}

static void optimiseModule(Module &M, TargetMachine &TM, unsigned OptLevel) {
  M.setTargetTriple(TM.getTargetTriple().str());
  M.setDataLayout(TM.createDataLayout());
  // On AVX-512 targets the vector width is set, not inherited: LLVM's tuning
  // for many of these cores prefers 256-bit vectors and would split the
  // kernels' 512-bit ones.
  const bool Wide = hasAvx512(TM);
  for (Function &F : M) {
    if (F.isDeclaration())
      continue;
    F.addFnAttr("target-cpu", TM.getTargetCPU());
    F.addFnAttr("target-features", TM.getTargetFeatureString());
    if (Wide) {
      F.addFnAttr("prefer-vector-width", "512");
      F.addFnAttr("min-legal-vector-width", "512");
    }
  }

  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PipelineTuningOptions PTO;
  PTO.LoopVectorization = OptLevel >= 2;
  PTO.SLPVectorization = OptLevel >= 2;
  PTO.LoopUnrolling = OptLevel >= 1;
  PTO.LoopInterleaving = OptLevel >= 1;
  PassBuilder PB(&TM, PTO);
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);

  OptimizationLevel Level = OptLevel == 0   ? OptimizationLevel::O0
                            : OptLevel == 1 ? OptimizationLevel::O1
                            : OptLevel == 2 ? OptimizationLevel::O2
                                            : OptimizationLevel::O3;
  ModulePassManager MPM = OptLevel == 0 ? PB.buildO0DefaultPipeline(Level)
                                        : PB.buildPerModuleDefaultPipeline(Level);
  MPM.run(M, MAM);
}

static Error emitFile(Module &M, TargetMachine &TM, CodeGenFileType Type,
                      SmallVectorImpl<char> &Out) {
  raw_svector_ostream OS(Out);
  legacy::PassManager PM;
  if (TM.addPassesToEmitFile(PM, OS, nullptr, Type))
    return createStringError(inconvertibleErrorCode(),
                             "the target cannot emit this file type");
  PM.run(M);
  return Error::success();
}

/// The object may reference the firmware services and nothing else.
static Error checkUndefinedSymbols(ArrayRef<uint8_t> Object, StringRef Symbol) {
  StringSet<> Firmware;
#define X(Name) Firmware.insert(#Name);
  ATALLA_FIRMWARE_SERVICES(X)
#undef X
  auto Obj = object::ObjectFile::createObjectFile(
      MemoryBufferRef(toStringRef(Object), Symbol));
  if (!Obj)
    return Obj.takeError();
  for (const object::SymbolRef &S : (*Obj)->symbols()) {
    Expected<uint32_t> Flags = S.getFlags();
    if (!Flags)
      return Flags.takeError();
    if (!(*Flags & object::SymbolRef::SF_Undefined))
      continue;
    Expected<StringRef> Name = S.getName();
    if (!Name)
      return Name.takeError();
    if (!Name->empty() && !Firmware.contains(*Name))
      return createStringError(inconvertibleErrorCode(),
                               "kernel " + Symbol + ": object needs symbol '" + *Name +
                                   "' that the firmware does not provide");
  }
  return Error::success();
}

static double msSince(std::chrono::steady_clock::time_point T0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
}

/// Optimises \p M and compiles it to an object with \p TM.
static Expected<CompiledKernel> compileWith(TargetMachine &TM, Module &M, const CodegenOptions &Opts,
                                            StringRef Symbol) {
  CompiledKernel K;
  K.Symbol = Symbol.str();
  auto T0 = std::chrono::steady_clock::now();
  optimiseModule(M, TM, Opts.OptLevel);
  K.OptMs = msSince(T0);
  T0 = std::chrono::steady_clock::now();
  SmallVector<char, 0> Buf;
  if (Error E = emitFile(M, TM, CodeGenFileType::ObjectFile, Buf))
    return E;
  K.CodegenMs = msSince(T0);
  K.Object.assign(Buf.begin(), Buf.end());
  if (Error E = checkUndefinedSymbols(K.Object, Symbol))
    return E;
  return K;
}

Expected<CompiledKernel> atalla::codegen::detail::compileModule(Module &M, const CodegenOptions &Opts,
                                                                StringRef Symbol) {
  auto TM = createTargetMachine(Opts);
  if (!TM)
    return TM.takeError();
  return compileWith(**TM, M, Opts, Symbol);
}

Error atalla::codegen::checkTarget(const CodegenOptions &Opts) {
  auto TM = createTargetMachine(Opts);
  return TM ? Error::success() : TM.takeError();
}

Expected<VectorIsa> atalla::codegen::resolvedIsa(const CodegenOptions &Opts) {
  auto TM = createTargetMachine(Opts);
  if (!TM)
    return TM.takeError();
  return isaFor(**TM, Opts.Isa);
}

Expected<std::string> atalla::codegen::enabledFeatures(const CodegenOptions &Opts) {
  auto TM = createTargetMachine(Opts);
  if (!TM)
    return TM.takeError();
  const MCSubtargetInfo &STI = *(*TM)->getMCSubtargetInfo();
  std::vector<std::string> Fs;
  for (const SubtargetFeatureKV &KV : STI.getAllProcessorFeatures())
    if (STI.getFeatureBits().test(KV.Value))
      Fs.push_back(KV.Key);
  std::sort(Fs.begin(), Fs.end());
  std::string S;
  for (const std::string &F : Fs)
    S += (S.empty() ? "+" : ",+") + F;
  return S;
}

Expected<CompiledKernel> atalla::codegen::compileKernel(const abi::KernelSpec &Spec,
                                                        const CodegenOptions &Opts) {
  LLVMContext Ctx;
  auto TM = createTargetMachine(Opts); // one per kernel: it picks the blocking and compiles
  if (!TM)
    return TM.takeError();
  auto T0 = std::chrono::steady_clock::now();
  auto M = emitKernelModule(Spec, Ctx, Opts.PadBytes, isaFor(**TM, Opts.Isa), hasBf16Dot(**TM));
  if (!M)
    return M.takeError();
  double IrMs = msSince(T0);
  auto K = compileWith(**TM, **M, Opts, Spec.symbol());
  if (!K)
    return K.takeError();
  K->IrMs = IrMs;
  return K;
}

Expected<std::string> atalla::codegen::kernelText(const abi::KernelSpec &Spec,
                                                  const CodegenOptions &Opts, bool Assembly) {
  LLVMContext Ctx;
  auto TM = createTargetMachine(Opts);
  if (!TM)
    return TM.takeError();
  auto M = emitKernelModule(Spec, Ctx, Opts.PadBytes, isaFor(**TM, Opts.Isa), hasBf16Dot(**TM));
  if (!M)
    return M.takeError();
  optimiseModule(**M, **TM, Opts.OptLevel);
  if (!Assembly) {
    std::string S;
    raw_string_ostream OS(S);
    (*M)->print(OS, nullptr);
    return OS.str();
  }
  SmallVector<char, 0> Buf;
  if (Error E = emitFile(**M, **TM, CodeGenFileType::AssemblyFile, Buf))
    return E;
  return std::string(Buf.begin(), Buf.end());
}
