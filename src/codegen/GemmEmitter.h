//===- codegen/GemmEmitter.h - the GEMM emitter's class ---------*- C++ -*-===//
//
// The writer of one planned GEMM's IR (GemmPlan.h), shared by the sources
// it is split into: EmitGemm.cpp (the loops, A and B into the scratchpad,
// the microkernels, AMX, the C tile's store) and EmitGemmConv.cpp (conv2d's
// im2col and direct-rows B, conv_transpose2d's interleaved store). Private
// to codegen.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_GEMMEMITTER_H
#define ATALLA_CODEGEN_GEMMEMITTER_H

#include "codegen/EmitterSupport.h"
#include "codegen/GemmPlan.h"

#include <vector>

namespace atalla::codegen::detail {

using llvm::Align;
using llvm::AllocaInst;
using llvm::FixedVectorType;
using llvm::IRBuilder;
using llvm::Type;
using llvm::Value;
using gemm::GemmPlan;
using gemm::Pack;

/// Writes the IR of one planned GEMM: the batch loop, and per batch the M
/// blocks, N blocks (tiles of C), K blocks and microkernels. One member per
/// level; Base holds the current batch's operand offsets.
class GemmEmitter {
public:
  GemmEmitter(KernelBuilder &KB, const abi::KernelSpec &Spec, const GemmPlan &P)
      : KB(KB), B(KB.B), Spec(Spec), P(P), C(Spec.output()), VW(P.Micro.VW), MR(P.Micro.MR), NR(P.Micro.NR),
        MaxAcc(P.Micro.MaxAcc) {}

  void run();

private:
  KernelBuilder &KB;
  IRBuilder<> &B;
  const abi::KernelSpec &Spec;
  const GemmPlan &P;
  const abi::OperandSpec &C;
  const int64_t VW, MR, NR, MaxAcc; ///< the plan's microkernel
  Value *ABuf = nullptr, *BBuf = nullptr, *Acc = nullptr, *BRaw = nullptr, *BStage = nullptr;
  Value *ABf = nullptr, *BBf = nullptr; ///< bf16-pair copies (P.Bf16Dot)
  Value *Bounce = nullptr;              ///< C tiles narrower than 16 columns (P.RawBf16)
  Value *Region = nullptr, *ZeroRow = nullptr; ///< conv2d: input rows, a zero row
  Value *Padded = nullptr;                      ///< conv2d, DirectRows: the padded rows
  int64_t SBiasM = 0, SBiasN = 0;
  std::vector<Value *> Addr; ///< every operand's base address
  Value *RawA = nullptr, *RawB = nullptr; ///< A's and B's bf16 bytes (P.RawBf16)
  Value *PanelBase = nullptr; ///< the current tile's first panel of B in BBf (P.BWhole), else 0
  std::vector<Value *> Base; ///< the current batch's offset of every operand

  Value *c64(int64_t V) { return KB.i64(uint64_t(V)); }
  Value *bytes(Value *Elems) { return B.CreateShl(Elems, 2); }
  Value *at(unsigned Op, Value *Elems) { return B.CreateAdd(Addr[Op], bytes(Elems)); }
  Value *mul(Value *X, int64_t S) { return B.CreateMul(X, c64(S)); }
  Value *add(Value *X, int64_t S) { return B.CreateAdd(X, c64(S)); }
  Type *vecTy(int64_t L) { return FixedVectorType::get(KB.F32, unsigned(L)); }
  /// Lane groups of a row of width Wd: full vectors, then one shorter vector.
  std::vector<std::pair<int64_t, int64_t>> chunks(int64_t Wd) const {
    std::vector<std::pair<int64_t, int64_t>> Out; // (offset, lanes)
    for (int64_t O = 0; O < Wd; O += VW)
      Out.push_back({O, std::min<int64_t>(VW, Wd - O)});
    return Out;
  }
  Value *loadVec(Value *Buf, Value *Index, int64_t L) {
    if (L == 1)
      return KB.loadF32(Buf, Index);
    return B.CreateAlignedLoad(vecTy(L), KB.elementPtr(Buf, Index), Align(4));
  }
  void storeVec(Value *V, Value *Buf, Value *Index, int64_t L = 0) {
    if (L == 1)
      KB.storeF32(V, Buf, Index);
    else
      B.CreateAlignedStore(V, KB.elementPtr(Buf, Index), Align(4));
  }

  void loadA(Value *M0, int64_t MN, Value *K0, int64_t KN);
  void scaleA(Value *K0, int64_t MN, int64_t KN);
  void loadB(Value *N0, int64_t NN, Value *K0, int64_t KN);
  void loadBStaged(Value *BSrc, int64_t NN, int64_t KN);
  void loadBPanels(Value *BSrc, int64_t NN, int64_t KN);
  void loadBRepacked(Value *BSrc, int64_t NN, int64_t KN);
  void loadBConv(Value *N0, int64_t NN, Value *K0, int64_t KN);
  void im2colRow(Value *Dst, Value *Src, int64_t Kw);
  void panelize(Value *Src, int64_t NN, int64_t KN);
  void storeInterleaved(Value *M0, int64_t MN, Value *N0, int64_t NN);
  void padRows(Value *IhStart, Value *Lo, Value *ChanStep, int64_t Cb);
  void computeDirect(int64_t MN, int64_t NN, int64_t KN, bool Zero);
  void microDirect(Value *M0, int64_t R, Value *Ohi, Value *Ow0, int64_t Wd, int64_t NN, int64_t KN, bool Zero);
  /// A microkernel's register block: R rows of C x the column chunks Ch
  /// (offset in the row, lanes), one accumulator slot each.
  struct Accumulators {
    std::vector<std::pair<int64_t, int64_t>> Ch;
    std::vector<Value *> CRow;
    std::vector<std::vector<AllocaInst *>> Slots;
  };
  /// Slots for rows CRow (zero, or C's current values).
  Accumulators openAccumulators(std::vector<Value *> CRow, std::vector<std::pair<int64_t, int64_t>> Ch, bool Zero);
  /// Row Ri += broadcast a * the chunks' B vectors Bv.
  void accumulate(Accumulators &A, size_t Ri, Value *Av, const std::vector<Value *> &Bv);
  /// The slots back into C's rows.
  void closeAccumulators(const Accumulators &A);
  void micro(Value *M0, int64_t R, Value *Pn, int64_t NP, int64_t Wd, int64_t MN, int64_t NN, int64_t KN, bool Zero);
  void toBf16A(int64_t MN, int64_t KN);
  void toBf16B(int64_t NN, int64_t KN);
  void pairBf16B(int64_t NN, int64_t KN);
  void microAmx(Value *M0, int64_t R, Value *Pn, int64_t Wd, int64_t NN, int64_t KN, bool Zero);
  void computeAmx(int64_t MN, int64_t NN, int64_t KN, bool Zero);
  Type *bf16VecTy(int64_t L) { return FixedVectorType::get(Type::getBFloatTy(KB.Ctx), unsigned(L)); }
  /// Element \p Index (in bf16 units) of a bf16 buffer.
  Value *bf16Ptr(Value *Buf, Value *Index) {
    return B.CreateGEP(Type::getBFloatTy(KB.Ctx), Buf, Index);
  }
  void compute(int64_t MN, int64_t NN, int64_t KN, bool Zero);
  void tile(Value *M0, int64_t MN, Value *N0, int64_t NN);
  Value *loadResidual(Value *M0, int64_t MN, Value *N0, int64_t NN);
  void rowBlock(Value *M0, int64_t MN);
};

} // namespace atalla::codegen::detail

#endif // ATALLA_CODEGEN_GEMMEMITTER_H
