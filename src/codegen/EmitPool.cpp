//===- codegen/EmitPool.cpp - max pooling in one pass ---------------------===//
//
// max_pool2d of In [N, C, H, W] into Out [N, C, OH, OW] (any image and
// channel strides: a channel slice of a cat too). Per plane, in blocks of
// R output rows (as many as the scratchpad budget allows): the input rows
// the block's windows reach (clipped to In) come in by one SDMA transfer;
// they are laid out again Wp = (OW - 1) SW + (KW - 1) DW + 1 wide with -inf
// padding (rows outside In all -inf), so every window is in bounds; each
// output row is then the running max over the window's KH x KW taps, VW
// output columns at a time (a vector load at column stride 1, else the
// span loaded and every SW-th lane kept), NaN-propagating (llvm.maximum:
// torch's max_pool2d returns NaN when a window holds one); the block goes
// back by one SDMA transfer. Every window holds an input element (padding
// at most half the window), so -inf never reaches the output from the
// padding.
//
// avg_pool2d is the same walk with -0 padding (x + -0 = x for every x):
// each output is +0 plus its taps in tap order, as torch's CPU kernel sums
// the window's elements from 0 (bit for bit), then divided by the window's
// size, the divisor override, or (count_include_pad = False) the taps
// inside the input, rows times columns (the columns' counts are constants
// of each vector, the rows' computed per output row), as torch divides.
//
// max_pool2d_index is max_pool2d's walk that keeps, per output, the flat
// input index ih * W + iw of the tap torch's CPU kernel keeps: a tap
// replaces the best so far when it is greater or NaN (ordered greater, or
// unordered with itself), starting from -inf at the window's first tap
// inside the input; the -inf padding never replaces anything. i64 outputs.
//
// adaptive_avg_pool2d (windows of unequal sizes) is a plain walk instead:
// per plane, the plane in by one SDMA transfer, each output the sum from +0
// of its window in row-major order, divided by its rows, then its columns,
// as torch's CPU kernel computes it.
//
// dwconv2d (a depthwise convolution) is the same walk with zero padding:
// each output vector starts from the channel's bias (or 0) and adds
// weight(c, kh, kw) * tap in tap order (fmuladd), the fused relu or gelu
// after; the weights and the bias come in once per call.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

#include "llvm/IR/Intrinsics.h"

#include <limits>

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// The spec's operands against its params: the pooling's (or depthwise
/// convolution's) shapes, a unit column stride in, a contiguous out.
Error checkPoolSpec(const abi::KernelSpec &Spec) {
  const bool Dw = Spec.Kernel == abi::KernelId::dwconv2d, Avg = Spec.Kernel == abi::KernelId::avg_pool2d;
  const size_t Want = Dw ? (Spec.HasBias ? 4 : 3) : 2;
  if (Spec.Operands.size() != Want)
    return specError(Spec, "expected " + Twine(Want) + " operands, got " + Twine(Spec.Operands.size()));
  if (std::string E = Spec.paramsError(); !E.empty())
    return specError(Spec, E);
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  if (In.Sizes.size() != 4 || Out.Sizes.size() != 4)
    return specError(Spec, "pooling operands are In [N, C, H, W] and Out [N, C, OH, OW]");
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3], PH = Pm[4], PW = Pm[5];
  const int64_t DH = Avg ? 1 : Pm[6], DW = Avg ? 1 : Pm[7];
  const int64_t Images = In.Sizes[0], Chans = In.Sizes[1], H = In.Sizes[2], W = In.Sizes[3];
  const int64_t OH = (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1, OW = (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
  if (OH < 1 || OW < 1 || Out.Sizes != std::vector<int64_t>{Images, Chans, OH, OW})
    return specError(Spec, "the output is not the pooling's [" + Twine(Images) + ", " + Twine(Chans) + ", " +
                               Twine(OH) + ", " + Twine(OW) + "]");
  if (In.Strides[3] != 1)
    return specError(Spec, "the input needs a unit column stride");
  if (Out.Strides != std::vector<int64_t>{Chans * OH * OW, OH * OW, OW, 1})
    return specError(Spec, "the output is contiguous");
  if (Dw) {
    const abi::OperandSpec &Wt = Spec.Operands[1];
    if (Wt.Sizes != std::vector<int64_t>{Chans, KH * KW} || (KH * KW > 1 && Wt.Strides[1] != 1))
      return specError(Spec, "dwconv2d's weights are [C, KH*KW] with contiguous rows");
    if (Spec.HasBias && Spec.Operands[2].Sizes != std::vector<int64_t>{Chans})
      return specError(Spec, "dwconv2d's bias is [C]");
  }
  return Error::success();
}

/// L output columns' taps from padded row \p RowP starting at column
/// \p First, SW apart: one load, or the span loaded and every SW-th lane kept.
Value *tapVector(IRBuilder<> &B, LLVMContext &Ctx, Value *RowP, int64_t First, int64_t L, int64_t SW) {
  Type *F32 = Type::getFloatTy(Ctx);
  auto load = [&](int64_t Lanes) -> Value * {
    Value *P = B.CreateGEP(F32, RowP, B.getInt64(uint64_t(First)));
    return Lanes == 1 ? B.CreateAlignedLoad(F32, P, Align(4))
                      : B.CreateAlignedLoad(FixedVectorType::get(F32, unsigned(Lanes)), P, Align(4));
  };
  if (SW == 1 || L == 1)
    return load(L);
  std::vector<int> Pick;
  for (int64_t J = 0; J < L; ++J)
    Pick.push_back(int(J * SW));
  return B.CreateShuffleVector(load((L - 1) * SW + 1), Pick);
}

/// avg_pool2d's division of the L window sums \p Sum for output row \p Oh
/// (runtime) and columns O.. (constants): by the window's size or the
/// divisor override, or (count_include_pad = False with padding) by the
/// taps inside the input, rows times columns, as torch divides.
Value *averageOf(KernelBuilder &KB, const abi::KernelSpec &Spec, Value *Sum, Value *Oh, int64_t O, int64_t L) {
  IRBuilder<> &B = KB.B;
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3], PH = Pm[4], PW = Pm[5];
  const int64_t H = Spec.Operands[0].Sizes[2], W = Spec.Operands[0].Sizes[3];
  auto splat = [&](Value *S) { return L == 1 ? S : B.CreateVectorSplat(unsigned(L), S); };
  if (Pm[6] || Pm[7] || !(PH || PW)) // a constant divisor
    return B.CreateFDiv(Sum, splat(ConstantFP::get(KB.F32, Pm[7] ? double(Pm[7]) : double(KH * KW))));
  // Rows inside In of this output row's window, times each column's.
  Value *Ih0 = B.CreateSub(B.CreateMul(Oh, KB.i64(uint64_t(SH))), KB.i64(uint64_t(PH)));
  Value *Top = B.CreateSelect(B.CreateICmpSGT(Ih0, KB.i64(0)), Ih0, KB.i64(0));
  Value *End = B.CreateAdd(Ih0, KB.i64(uint64_t(KH)));
  Value *Bot = B.CreateSelect(B.CreateICmpSLT(End, KB.i64(uint64_t(H))), End, KB.i64(uint64_t(H)));
  Value *RowsInside = B.CreateSIToFP(B.CreateSub(Bot, Top), KB.F32);
  std::vector<Constant *> Cols;
  for (int64_t J = 0; J < L; ++J) {
    const int64_t W0 = (O + J) * SW - PW;
    Cols.push_back(ConstantFP::get(KB.F32, double(std::min(W0 + KW, W) - std::max<int64_t>(W0, 0))));
  }
  Value *ColsInside = L == 1 ? static_cast<Value *>(Cols[0]) : ConstantVector::get(Cols);
  return B.CreateFDiv(Sum, B.CreateFMul(splat(RowsInside), ColsInside));
}

/// The L outputs from column O of window row \p Ohi of the block at \p Oh0:
/// the taps of the padded rows at \p Padded (Wp wide) reduced in tap order
/// (max; the average's sum, then its division; the depthwise convolution's
/// multiply-adds from the channel's bias, then its epilogue).
Value *windowVector(KernelBuilder &KB, const abi::KernelSpec &Spec, Value *Padded, int64_t Wp, Value *Oh0, Value *Ohi,
                    int64_t O, int64_t L, Value *ChanW, Value *Bias) {
  IRBuilder<> &B = KB.B;
  const bool Dw = Spec.Kernel == abi::KernelId::dwconv2d, Avg = Spec.Kernel == abi::KernelId::avg_pool2d;
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3];
  const int64_t DH = Avg ? 1 : Pm[6], DW = Avg ? 1 : Pm[7];
  auto splat = [&](Value *S) { return L == 1 ? S : B.CreateVectorSplat(unsigned(L), S); };
  Value *Acc = nullptr;
  if (Dw)
    Acc = splat(Bias ? Bias : KB.f32(0));
  if (Avg)
    Acc = splat(KB.f32(0));
  for (int64_t Kh = 0; Kh < KH; ++Kh) {
    Value *RowP = KB.elementPtr(Padded, B.CreateAdd(B.CreateMul(Ohi, KB.i64(uint64_t(SH * Wp))),
                                                    KB.i64(uint64_t(Kh * DH * Wp))));
    for (int64_t Kw = 0; Kw < KW; ++Kw) {
      Value *V = tapVector(B, KB.Ctx, RowP, O * SW + Kw * DW, L, SW);
      if (Dw) {
        Value *Wv = splat(KB.loadF32(ChanW, KB.i64(uint64_t(Kh * KW + Kw))));
        Acc = B.CreateIntrinsic(Intrinsic::fmuladd, {Acc->getType()}, {Wv, V, Acc});
      } else if (Avg) {
        Acc = B.CreateFAdd(Acc, V);
      } else {
        Acc = Acc ? B.CreateBinaryIntrinsic(Intrinsic::maximum, Acc, V) : V;
      }
    }
  }
  if (Avg)
    Acc = averageOf(KB, Spec, Acc, B.CreateAdd(Oh0, Ohi), O, L);
  if (Dw && Spec.Post != abi::Epilogue::None)
    Acc = emitEpilogue(B, Spec.Post, Acc);
  return Acc;
}

/// max_pool2d_index's L outputs from column O of window row \p Ohi of the
/// block at \p Oh0 (i64 lanes): the kept tap's flat index into the plane.
Value *windowIndex(KernelBuilder &KB, const abi::KernelSpec &Spec, Value *Padded, int64_t Wp, Value *Oh0, Value *Ohi,
                   int64_t O, int64_t L) {
  IRBuilder<> &B = KB.B;
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3], PH = Pm[4], PW = Pm[5], DH = Pm[6], DW = Pm[7];
  const int64_t W = Spec.Operands[0].Sizes[3];
  Type *I64 = B.getInt64Ty();
  auto splat = [&](Value *S) { return L == 1 ? S : B.CreateVectorSplat(unsigned(L), S); };
  auto lanes = [&](const std::vector<int64_t> &V) -> Value * {
    if (L == 1)
      return ConstantInt::get(I64, uint64_t(V[0]));
    std::vector<Constant *> C;
    for (int64_t X : V)
      C.push_back(ConstantInt::get(I64, uint64_t(X)));
    return ConstantVector::get(C);
  };
  Value *Ih0 = B.CreateSub(B.CreateMul(B.CreateAdd(Oh0, Ohi), KB.i64(uint64_t(SH))), KB.i64(uint64_t(PH)));
  // The window's first row inside the input: Ih0 + ceil(-Ih0 / DH) DH when Ih0 < 0.
  Value *Up = B.CreateMul(B.CreateSDiv(B.CreateSub(KB.i64(uint64_t(DH - 1)), Ih0), KB.i64(uint64_t(DH))),
                          KB.i64(uint64_t(DH)));
  Value *IhFirst = B.CreateSelect(B.CreateICmpSLT(Ih0, KB.i64(0)), B.CreateAdd(Ih0, Up), Ih0);
  std::vector<int64_t> WFirst;
  for (int64_t J = 0; J < L; ++J) {
    int64_t W0 = (O + J) * SW - PW;
    while (W0 < 0)
      W0 += DW;
    WFirst.push_back(W0);
  }
  Value *Best = B.CreateAdd(splat(B.CreateMul(IhFirst, KB.i64(uint64_t(W)))), lanes(WFirst));
  Value *Max = splat(KB.f32(-std::numeric_limits<float>::infinity()));
  for (int64_t Kh = 0; Kh < KH; ++Kh) {
    Value *RowP = KB.elementPtr(Padded, B.CreateAdd(B.CreateMul(Ohi, KB.i64(uint64_t(SH * Wp))),
                                                    KB.i64(uint64_t(Kh * DH * Wp))));
    Value *RowIdx = splat(B.CreateMul(B.CreateAdd(Ih0, KB.i64(uint64_t(Kh * DH))), KB.i64(uint64_t(W))));
    for (int64_t Kw = 0; Kw < KW; ++Kw) {
      Value *V = tapVector(B, KB.Ctx, RowP, O * SW + Kw * DW, L, SW);
      Value *Take = B.CreateOr(B.CreateFCmpOGT(V, Max), B.CreateFCmpUNO(V, V));
      std::vector<int64_t> Cols;
      for (int64_t J = 0; J < L; ++J)
        Cols.push_back((O + J) * SW - PW + Kw * DW);
      Max = B.CreateSelect(Take, V, Max);
      Best = B.CreateSelect(Take, B.CreateAdd(RowIdx, lanes(Cols)), Best);
    }
  }
  return Best;
}

} // namespace

int64_t atalla::codegen::poolFloats(const abi::KernelSpec &Spec, int64_t Rows) {
  const bool Avg = Spec.Kernel == abi::KernelId::avg_pool2d;
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3], DH = Avg ? 1 : Pm[6], DW = Avg ? 1 : Pm[7];
  const int64_t H = Spec.Operands[0].Sizes[2], W = Spec.Operands[0].Sizes[3], OW = Spec.output().Sizes[3];
  const int64_t RowsIn = (Rows - 1) * SH + (KH - 1) * DH + 1, Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  const int64_t OutFloats = Spec.Kernel == abi::KernelId::max_pool2d_index ? 2 : 1; // i64 indices
  return std::min(RowsIn, H) * W + W + RowsIn * Wp + Rows * OW * OutFloats;
}

int64_t atalla::codegen::adaptivePoolFloats(const abi::KernelSpec &Spec) {
  const std::vector<int64_t> &I = Spec.Operands[0].Sizes, &O = Spec.output().Sizes;
  return I[2] * I[3] + O[2] * O[3];
}

namespace {

/// adaptive_avg_pool2d of In [N, C, H, W] into Out [N, C, OH, OW].
Error emitAdaptivePool(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 2)
    return specError(Spec, "expected 2 operands, got " + Twine(Spec.Operands.size()));
  if (std::string E = Spec.paramsError(); !E.empty())
    return specError(Spec, E);
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  if (In.Sizes.size() != 4 || Out.Sizes.size() != 4 || In.Sizes[0] != Out.Sizes[0] || In.Sizes[1] != Out.Sizes[1])
    return specError(Spec, "adaptive pooling's operands are In [N, C, H, W] and Out [N, C, OH, OW]");
  const int64_t Chans = In.Sizes[1], Planes = In.Sizes[0] * Chans, H = In.Sizes[2], W = In.Sizes[3];
  const int64_t OH = Out.Sizes[2], OW = Out.Sizes[3];
  if (In.Strides[3] != 1 && W > 1)
    return specError(Spec, "the input needs a unit column stride");
  if (Out.Strides != std::vector<int64_t>{Chans * OH * OW, OH * OW, OW, 1})
    return specError(Spec, "the output is contiguous");
  if (Out.numel() == 0 || In.numel() == 0) {
    if (Out.numel() != 0)
      return specError(Spec, "an empty input has no windows");
    KB.finish();
    return Error::success();
  }
  if (codegen::adaptivePoolFloats(Spec) > codegen::adaptivePoolBudgetFloats(KB.Budget))
    return specError(Spec, "one plane and its outputs (" + Twine(codegen::adaptivePoolFloats(Spec)) +
                               " floats) exceed the scratchpad budget");
  IRBuilder<> &B = KB.B;
  const uint64_t OutOff = (uint64_t(H * W) * 4 + ScratchpadAlign - 1) / ScratchpadAlign * ScratchpadAlign;
  Value *Buf = KB.alloc(OutOff + uint64_t(OH * OW) * 4, "adaptive.buffers");
  Value *Plane = Buf, *OutBuf = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Buf, OutOff);
  Value *InAddr = KB.operandAddr(0), *OutAddr = KB.operandAddr(1);
  auto c64 = [&](int64_t V) { return KB.i64(uint64_t(V)); };
  // [floor(i N / M), ceil((i + 1) N / M)): torch's adaptive window.
  auto window = [&](Value *I, int64_t N, int64_t M) {
    Value *Lo = B.CreateUDiv(B.CreateMul(I, c64(N)), c64(M));
    Value *Hi = B.CreateUDiv(B.CreateAdd(B.CreateMul(B.CreateAdd(I, c64(1)), c64(N)), c64(M - 1)), c64(M));
    return std::pair{Lo, Hi};
  };
  KB.forLoop(Planes, "adaptive.p", [&](Value *Pl) {
    Value *PlaneOff = B.CreateAdd(B.CreateMul(B.CreateUDiv(Pl, c64(Chans)), c64(In.Strides[0])),
                                  B.CreateMul(B.CreateURem(Pl, c64(Chans)), c64(In.Strides[1])));
    KB.sdmaLoad(Plane, B.CreateAdd(InAddr, B.CreateShl(PlaneOff, 2)), c64(H), c64(W * 4), c64(In.Strides[2] * 4));
    KB.forLoop(OH, "adaptive.oh", [&](Value *Oh) {
      auto [H0, H1] = window(Oh, H, OH);
      KB.forLoop(OW, "adaptive.ow", [&](Value *Ow) {
        auto [W0, W1] = window(Ow, W, OW);
        Value *At = B.CreateAdd(B.CreateMul(Oh, c64(OW)), Ow);
        KB.storeF32(KB.f32(0), OutBuf, At);
        KB.forLoop(H0, H1, "adaptive.ih", [&](Value *Ih) {
          KB.forLoop(W0, W1, "adaptive.iw", [&](Value *Iw) {
            Value *X = KB.loadF32(Plane, B.CreateAdd(B.CreateMul(Ih, c64(W)), Iw));
            KB.storeF32(B.CreateFAdd(KB.loadF32(OutBuf, At), X), OutBuf, At);
          });
        });
        Value *Kh = B.CreateSIToFP(B.CreateSub(H1, H0), KB.F32), *Kw = B.CreateSIToFP(B.CreateSub(W1, W0), KB.F32);
        KB.storeF32(B.CreateFDiv(B.CreateFDiv(KB.loadF32(OutBuf, At), Kh), Kw), OutBuf, At);
      });
    });
    KB.sdmaStore(B.CreateAdd(OutAddr, B.CreateShl(B.CreateMul(Pl, c64(OH * OW)), 2)), OutBuf, c64(1),
                 c64(OH * OW * 4), c64(OH * OW * 4));
  });
  KB.finish();
  return Error::success();
}

} // namespace

int64_t atalla::codegen::poolBudgetFloats(const abi::KernelSpec &Spec, uint64_t BudgetBytes) {
  const int64_t Chans = Spec.Operands[0].Sizes[1], KH = Spec.Params[0], KW = Spec.Params[1];
  const int64_t WFloats = Spec.Kernel == abi::KernelId::dwconv2d ? Chans * KH * KW + Chans : 0; // weights, bias
  return int64_t(BudgetBytes - 6 * ScratchpadAlign) / 4 - WFloats;
}

Error atalla::codegen::detail::emitPool(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Kernel == abi::KernelId::adaptive_avg_pool2d)
    return emitAdaptivePool(KB, Spec);
  if (Error E = checkPoolSpec(Spec))
    return E;
  const bool Dw = Spec.Kernel == abi::KernelId::dwconv2d, Avg = Spec.Kernel == abi::KernelId::avg_pool2d;
  const bool Index = Spec.Kernel == abi::KernelId::max_pool2d_index;
  const int64_t OutBytes = Index ? 8 : 4;
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  const std::vector<int64_t> &Pm = Spec.Params;
  const int64_t KH = Pm[0], KW = Pm[1], SH = Pm[2], SW = Pm[3], PH = Pm[4], PW = Pm[5];
  const int64_t DH = Avg ? 1 : Pm[6], DW = Avg ? 1 : Pm[7];
  const int64_t Chans = In.Sizes[1], Planes = In.Sizes[0] * Chans, H = In.Sizes[2], W = In.Sizes[3];
  const int64_t OH = Out.Sizes[2], OW = Out.Sizes[3];
  if (Out.numel() == 0) {
    KB.finish();
    return Error::success();
  }
  IRBuilder<> &B = KB.B;
  const int64_t VW = KB.Isa == codegen::VectorIsa::Avx512 ? 16 : 8;
  const int64_t Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  auto rowsIn = [&](int64_t R) { return (R - 1) * SH + (KH - 1) * DH + 1; };
  const int64_t Floats = codegen::poolBudgetFloats(Spec, KB.Budget);
  int64_t R = OH;
  while (R > 1 && codegen::poolFloats(Spec, R) > Floats)
    R = (R + 1) / 2;
  if (codegen::poolFloats(Spec, R) > Floats)
    return specError(Spec, "one output row's input rows (" + Twine(codegen::poolFloats(Spec, 1)) +
                               " floats) exceed the scratchpad budget");
  const int64_t RowsIn = rowsIn(R), Landing = std::min(RowsIn, H);
  auto carve = [](int64_t Fl) { return (uint64_t(Fl) * 4 + ScratchpadAlign - 1) / ScratchpadAlign * ScratchpadAlign; };
  const uint64_t LandOff = 0, NegOff = carve(Landing * W), PadOff = NegOff + carve(W), OutOff = PadOff + carve(RowsIn * Wp),
                 WOff = OutOff + carve(R * OW * (OutBytes / 4)), BOff = WOff + carve(Dw ? Chans * KH * KW : 0),
                 Grant = BOff + carve(Dw ? Chans : 0);
  Value *Buf = KB.alloc(Grant, "pool.buffers");
  auto part = [&](uint64_t Off) { return B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Buf, Off); };
  Value *Land = part(LandOff), *NegRow = part(NegOff), *Padded = part(PadOff), *OutBuf = part(OutOff);
  Value *WBuf = part(WOff), *BiasBuf = part(BOff);
  Value *InAddr = KB.operandAddr(0), *OutAddr = KB.operandAddr(unsigned(Spec.Operands.size() - 1));
  auto c64 = [&](int64_t V) { return KB.i64(uint64_t(V)); };
  auto mul = [&](Value *X, int64_t S) { return B.CreateMul(X, c64(S)); };
  auto vecTy = [&](int64_t L) { return FixedVectorType::get(KB.F32, unsigned(L)); };
  auto loadVec = [&](Value *Ptr, Value *Index, int64_t L) -> Value * {
    if (L == 1)
      return KB.loadF32(Ptr, Index);
    return B.CreateAlignedLoad(vecTy(L), KB.elementPtr(Ptr, Index), Align(4));
  };
  auto storeVec = [&](Value *V, Value *Ptr, Value *Index, int64_t L) {
    if (L == 1)
      KB.storeF32(V, Ptr, Index);
    else
      B.CreateAlignedStore(V, KB.elementPtr(Ptr, Index), Align(4));
  };
  // The value of the padding: -inf for max, 0 for the convolution, -0 for
  // the average (x + -0 = x for every x, -0 included).
  const float NegInf = Dw ? 0.0f : Avg ? -0.0f : -std::numeric_limits<float>::infinity();
  auto negInf = [&](int64_t L) -> Value * {
    return L == 1 ? KB.f32(NegInf) : ConstantVector::getSplat(ElementCount::getFixed(unsigned(L)),
                                                               ConstantFP::get(KB.F32, NegInf));
  };
  auto fill = [&](Value *Dst, int64_t From, int64_t To) {
    for (int64_t O = From; O < To; O += VW) {
      const int64_t L = std::min<int64_t>(VW, To - O);
      storeVec(negInf(L), Dst, c64(O), L);
    }
  };
  KB.forLoop(W, "pool.neg", [&](Value *I) { KB.storeF32(KB.f32(NegInf), NegRow, I); });
  if (Dw) {
    const abi::OperandSpec &Wt = Spec.Operands[1];
    KB.sdmaLoad(WBuf, KB.operandAddr(1), c64(Chans), c64(KH * KW * 4), c64(Wt.Strides[0] * 4));
    if (Spec.HasBias)
      KB.sdmaLoad(BiasBuf, KB.operandAddr(2), c64(Chans), c64(4), c64(Spec.Operands[2].Strides[0] * 4));
  }

  const int64_t SN = In.Strides[0], SC = In.Strides[1], SR = In.Strides[2];
  const int64_t Left = std::min(PW, Wp), CopyW = std::max<int64_t>(0, std::min(W, Wp - PW));
  auto block = [&](Value *Pl, Value *Oh0, int64_t Rows) {
    const int64_t RIn = rowsIn(Rows);
    Value *IhStart = B.CreateSub(mul(Oh0, SH), c64(PH));
    Value *Lo = B.CreateSelect(B.CreateICmpSGT(IhStart, c64(0)), IhStart, c64(0));
    Value *HiW = B.CreateAdd(IhStart, c64(RIn));
    Value *Hi = B.CreateSelect(B.CreateICmpSLT(HiW, c64(H)), HiW, c64(H));
    // Max pooling: every window holds a row of In (Hi > Lo); a depthwise
    // convolution's block may lie wholly in its padding.
    Value *PlaneOff = B.CreateAdd(mul(B.CreateUDiv(Pl, c64(Chans)), SN), mul(B.CreateURem(Pl, c64(Chans)), SC));
    Value *Src = B.CreateAdd(InAddr, B.CreateShl(B.CreateAdd(PlaneOff, mul(Lo, SR)), 2));
    if (Dw) {
      BasicBlock *Load = BasicBlock::Create(KB.Ctx, "dw.load", KB.F), *Go = BasicBlock::Create(KB.Ctx, "dw.go", KB.F);
      B.CreateCondBr(B.CreateICmpSGT(Hi, Lo), Load, Go);
      B.SetInsertPoint(Load);
      KB.sdmaLoad(Land, Src, B.CreateSub(Hi, Lo), c64(W * 4), c64(SR * 4));
      B.CreateBr(Go);
      B.SetInsertPoint(Go);
    } else {
      KB.sdmaLoad(Land, Src, B.CreateSub(Hi, Lo), c64(W * 4), c64(SR * 4));
    }
    KB.forLoop(
        KB.i64(0), KB.i64(RIn), "pool.pad",
        [&](Value *Wr) {
          Value *Ih = B.CreateAdd(IhStart, Wr);
          Value *Inside = B.CreateAnd(B.CreateICmpSGE(Ih, c64(0)), B.CreateICmpSLT(Ih, c64(H)));
          Value *Row = B.CreateSelect(Inside, KB.elementPtr(Land, mul(B.CreateSub(Ih, Lo), W)), NegRow);
          Value *Dst = KB.elementPtr(Padded, mul(Wr, Wp));
          fill(Dst, 0, Left);
          for (int64_t O = 0; O < CopyW; O += VW) {
            const int64_t L = std::min<int64_t>(VW, CopyW - O);
            storeVec(loadVec(Row, c64(O), L), Dst, c64(Left + O), L);
          }
          fill(Dst, Left + CopyW, Wp);
        },
        /*Parallel=*/false, /*Rolled=*/true);
    Value *Chan = B.CreateURem(Pl, c64(Chans));
    Value *ChanW = KB.elementPtr(WBuf, mul(Chan, KH * KW));
    Value *Bias = Dw && Spec.HasBias ? KB.loadF32(BiasBuf, Chan) : nullptr;
    KB.forLoop(
        KB.i64(0), KB.i64(Rows), "pool.oh",
        [&](Value *Ohi) {
          for (int64_t O = 0; O < OW; O += VW) {
            const int64_t L = std::min<int64_t>(VW, OW - O);
            Value *At = B.CreateAdd(mul(Ohi, OW), c64(O));
            if (Index) {
              Value *V = windowIndex(KB, Spec, Padded, Wp, Oh0, Ohi, O, L);
              B.CreateAlignedStore(V, B.CreateGEP(B.getInt64Ty(), OutBuf, At), Align(8));
            } else {
              storeVec(windowVector(KB, Spec, Padded, Wp, Oh0, Ohi, O, L, ChanW, Bias), OutBuf, At, L);
            }
          }
        },
        /*Parallel=*/false, /*Rolled=*/true);
    Value *Dst = B.CreateAdd(OutAddr, mul(B.CreateAdd(mul(Pl, OH * OW), mul(Oh0, OW)), OutBytes));
    KB.sdmaStore(Dst, OutBuf, c64(1), c64(Rows * OW * OutBytes), c64(Rows * OW * OutBytes));
  };
  const int64_t Full = OH / R, Rem = OH % R;
  KB.forLoop(Planes, "pool.p", [&](Value *Pl) {
    KB.forLoop(Full, "pool.b", [&](Value *Bi) { block(Pl, mul(Bi, R), R); });
    if (Rem)
      block(Pl, c64(Full * R), Rem);
  });
  KB.finish();
  return Error::success();
}
