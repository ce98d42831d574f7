//===- codegen/EmitPad.cpp - constant padding and zero insertion ----------===//
//
// out = Scalar everywhere, then out[lo_d + i_d * step_d] = in[i] for every
// input element: constant_pad_nd (step 1), the padding of a convolution's
// input, and the zero insertion of a transposed convolution (step = stride).
// Two phases, both through SDMA:
//  - fill: a scratchpad block of the fill value, stored over the contiguous
//    output in block-sized pieces;
//  - place: each input row (the last dim) is brought in with one SDMA (dense,
//    or a gather of strided elements) and stored at its output position with
//    one SDMA (dense, or one element per row Step apart).
// The interior is written twice; the fill is a streaming store, so that costs
// far less than a per-element test would.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

namespace {

/// Floats in the fill block (32 KiB).
constexpr int64_t FillElems = 8192;

} // namespace

Error atalla::codegen::detail::emitPad(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 2)
    return specError(Spec, "expected 2 operands, got " + Twine(Spec.Operands.size()));
  const abi::OperandSpec &In = Spec.Operands[0], &Out = Spec.output();
  const size_t Rank = Out.Sizes.size();
  if (In.Sizes.size() != Rank)
    return specError(Spec, "the input's rank differs from the output's");
  if (Spec.Params.size() != 2 * Rank)
    return specError(Spec, "expected " + Twine(2 * Rank) + " params (low, step per dim), got " +
                               Twine(Spec.Params.size()));
  for (size_t D = 0; D < Rank; ++D) {
    int64_t Lo = Spec.Params[2 * D], Step = Spec.Params[2 * D + 1];
    if (Lo < 0 || Step < 1)
      return specError(Spec, "dim " + Twine(D) + ": low padding " + Twine(Lo) + " and step " + Twine(Step) +
                                 " (need low >= 0, step >= 1)");
    if (In.Sizes[D] > 0 && Lo + (In.Sizes[D] - 1) * Step >= Out.Sizes[D])
      return specError(Spec, "dim " + Twine(D) + ": the input does not fit the output");
  }
  const int64_t Total = Out.numel();
  if (Total == 0) {
    KB.finish();
    return Error::success();
  }
  IRBuilder<> &B = KB.B;
  const float Fill = Spec.HasScalar ? float(Spec.Scalar) : 0.0f;
  Value *InAddr = KB.operandAddr(0), *OutAddr = KB.operandAddr(1);

  // Rows of the input: all dims but the last (a 0-d tensor is one element).
  const int64_t Cols = Rank ? In.Sizes[Rank - 1] : 1;
  const int64_t InColStride = Rank ? In.Strides[Rank - 1] : 0;
  const int64_t OutColStep = Rank ? Spec.Params[2 * Rank - 1] * Out.Strides[Rank - 1] : 1;
  const int64_t OutColLo = Rank ? Spec.Params[2 * Rank - 2] * Out.Strides[Rank - 1] : 0;
  std::vector<int64_t> RowSizes;
  std::vector<std::vector<int64_t>> RowStrides(2);
  for (size_t D = 0; D + 1 < Rank; ++D) {
    RowSizes.push_back(In.Sizes[D]);
    RowStrides[0].push_back(In.Strides[D]);
    RowStrides[1].push_back(Spec.Params[2 * D + 1] * Out.Strides[D]);
  }
  int64_t Rows = 1, OutBase = OutColLo;
  for (int64_t S : RowSizes)
    Rows *= S;
  for (size_t D = 0; D + 1 < Rank; ++D)
    OutBase += Spec.Params[2 * D] * Out.Strides[D];
  const int64_t InElems = Rows * Cols;

  const int64_t FN = std::min(Total, FillElems);
  Value *FillBuf = KB.alloc(uint64_t(FN) * 4, "fill");
  Value *RowBuf = InElems ? KB.alloc(uint64_t(std::max<int64_t>(Cols, 1)) * 4, "row") : nullptr;

  // Fill.
  KB.forLoop(KB.i64(0), KB.i64(FN), "fillbuf",
             [&](Value *I) { KB.storeF32(KB.f32(Fill), FillBuf, I); }, /*Parallel=*/true);
  const int64_t FullBlocks = Total / FN, Rest = Total % FN;
  KB.forLoop(FullBlocks, "fillblk", [&](Value *Blk) {
    Value *Dst = B.CreateAdd(OutAddr, B.CreateMul(Blk, KB.i64(FN * 4)));
    KB.sdmaStore(Dst, FillBuf, KB.i64(1), KB.i64(FN * 4), KB.i64(FN * 4));
  });
  if (Rest)
    KB.sdmaStore(B.CreateAdd(OutAddr, KB.i64(FullBlocks * FN * 4)), FillBuf, KB.i64(1), KB.i64(Rest * 4),
                 KB.i64(Rest * 4));
  if (InElems == 0) {
    KB.finish();
    return Error::success();
  }

  // Place each input row.
  KB.forLoop(Rows, "row", [&](Value *R) {
    std::vector<Value *> Off = stridedOffsets(B, R, RowSizes, RowStrides);
    Value *Src = B.CreateAdd(InAddr, B.CreateShl(Off[0], 2));
    if (InColStride == 1 || Cols == 1)
      KB.sdmaLoad(RowBuf, Src, KB.i64(1), KB.i64(Cols * 4), KB.i64(Cols * 4));
    else
      KB.sdmaLoad(RowBuf, Src, KB.i64(Cols), KB.i64(4), KB.i64(InColStride * 4));
    Value *Dst = B.CreateAdd(OutAddr, B.CreateShl(B.CreateAdd(Off[1], KB.i64(OutBase)), 2));
    if (OutColStep == 1 || Cols == 1)
      KB.sdmaStore(Dst, RowBuf, KB.i64(1), KB.i64(Cols * 4), KB.i64(Cols * 4));
    else
      KB.sdmaStore(Dst, RowBuf, KB.i64(Cols), KB.i64(4), KB.i64(OutColStep * 4));
  });
  KB.finish();
  return Error::success();
}
