//===- codegen/EmitGather.cpp - rows of a table picked by indices ---------===//
//
// embedding: Out[n, :] = Table[Indices[n], :]. Blocks of indices come into
// the scratchpad by one SDMA each; every index is checked against the
// table's rows (outside [0, V): exit with ATALLA_KERNEL_EINDEX, as torch
// raises "index out of range"), its row is brought in by one SDMA, and a
// block of rows goes out by one SDMA. Rows longer than a chunk move in
// chunks.
//
//===----------------------------------------------------------------------===//
#include "codegen/EmitterSupport.h"
#include "runtime/abi/KernelAbi.h"

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen::detail;

Error atalla::codegen::detail::emitGather(KernelBuilder &KB, const abi::KernelSpec &Spec) {
  if (Spec.Operands.size() != 3)
    return specError(Spec, "expected table, indices and output");
  const abi::OperandSpec &T = Spec.Operands[0], &I = Spec.Operands[1], &O = Spec.output();
  if (T.Sizes.size() != 2 || I.Sizes.size() != 1 || O.Sizes != std::vector<int64_t>{I.Sizes[0], T.Sizes[1]})
    return specError(Spec, "expected Table [V, D], Indices [N] and Out [N, D]");
  const int64_t V = T.Sizes[0], D = T.Sizes[1], N = I.Sizes[0];
  if ((D > 1 && T.Strides[1] != 1) || (N > 1 && I.Strides[0] != 1))
    return specError(Spec, "table rows and indices must be unit-stride");
  IRBuilder<> &B = KB.B;
  if (N == 0 || D == 0) {
    KB.finish();
    return Error::success();
  }
  const int64_t IW = abi::dtypeBytes(I.Type);
  Type *IT = I.Type == abi::DType::I64 ? KB.I64 : KB.I32;
  // A block: up to 64 KiB of rows (at least one row, in chunks of at most
  // 128 KiB), and its indices.
  constexpr int64_t BlockBytes = 64 * 1024, ChunkElems = 32 * 1024;
  const int64_t DC = std::min(D, ChunkElems);
  const int64_t RB = D > ChunkElems ? 1 : std::min(N, std::max<int64_t>(1, BlockBytes / (D * 4)));
  Value *Idx = KB.alloc(uint64_t(RB * IW), "idx");
  Value *Rows = KB.alloc(uint64_t(RB * DC * 4), "rows");
  Value *TAddr = KB.operandAddr(0), *IAddr = KB.operandAddr(1), *OAddr = KB.operandAddr(2);
  const int64_t RowBytes = T.Strides[0] * 4;
  KB.forLoop((N + RB - 1) / RB, "blk", [&](Value *Blk) {
    Value *R0 = B.CreateMul(Blk, KB.i64(RB), "r0", true, true);
    Value *RN = N % RB == 0 ? KB.i64(RB) : KB.umin(KB.i64(RB), B.CreateSub(KB.i64(N), R0));
    KB.sdmaLoad(Idx, B.CreateAdd(IAddr, B.CreateMul(R0, KB.i64(IW))), KB.i64(1), B.CreateMul(RN, KB.i64(IW)),
                KB.i64(0));
    auto rowOf = [&](Value *R) {
      Value *X = B.CreateAlignedLoad(IT, B.CreateInBoundsGEP(IT, Idx, R), Align(IW));
      X = B.CreateSExt(X, KB.I64);
      KB.failIf(B.CreateICmpUGE(X, KB.i64(uint64_t(V))), abi::ATALLA_KERNEL_EINDEX); // negative: huge unsigned
      return X;
    };
    if (D <= ChunkElems) {
      KB.forLoop(KB.i64(0), RN, "row", [&](Value *R) {
        Value *X = rowOf(R);
        KB.sdmaLoad(KB.elementPtr(Rows, B.CreateMul(R, KB.i64(D))), B.CreateAdd(TAddr, B.CreateMul(X, KB.i64(RowBytes))),
                    KB.i64(1), KB.i64(D * 4), KB.i64(0));
      });
      KB.sdmaStore(B.CreateAdd(OAddr, B.CreateMul(R0, KB.i64(D * 4))), Rows, KB.i64(1), B.CreateMul(RN, KB.i64(D * 4)),
                   KB.i64(0));
      return;
    }
    // One long row (RB == 1) in chunks.
    Value *X = rowOf(KB.i64(0));
    Value *Src = B.CreateAdd(TAddr, B.CreateMul(X, KB.i64(RowBytes)));
    Value *Dst = B.CreateAdd(OAddr, B.CreateMul(R0, KB.i64(D * 4)));
    KB.forLoop((D + DC - 1) / DC, "chunk", [&](Value *C) {
      Value *C0 = B.CreateMul(C, KB.i64(DC));
      Value *CN = D % DC == 0 ? KB.i64(DC) : KB.umin(KB.i64(DC), B.CreateSub(KB.i64(D), C0));
      Value *Off = B.CreateShl(C0, 2), *Bytes = B.CreateShl(CN, 2);
      KB.sdmaLoad(Rows, B.CreateAdd(Src, Off), KB.i64(1), Bytes, KB.i64(0));
      KB.sdmaStore(B.CreateAdd(Dst, Off), Rows, KB.i64(1), Bytes, KB.i64(0));
    });
  });
  KB.finish();
  return Error::success();
}
