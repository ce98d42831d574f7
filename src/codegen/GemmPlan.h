//===- codegen/GemmPlan.h - the GEMM kernel's schedule, decided -*- C++ -*-===//
//
// Everything the GEMM emitter decides before it writes IR, as a pure
// function of the spec and the scratchpad budget: how each operand tile is
// packed, the cache blocking (TM x TN tiles of C, K in blocks of TK, chosen
// to minimise SDMA traffic within the budget), which operands stay resident,
// and how the one scratchpad grant is carved into buffers. Separate from the
// emitter so the blocking can be tested on its own (tests/codegen) and made
// a parameter of the target's vector ISA.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_GEMMPLAN_H
#define ATALLA_CODEGEN_GEMMPLAN_H

#include "runtime/abi/KernelSpec.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace atalla::codegen::gemm {

/// Lanes of one accumulator vector (AVX2: 8 floats in a ymm register).
constexpr int64_t VW = 8;
/// Microkernel: MR rows x NR columns of C in MR * NR / VW = 12 vector
/// registers, plus two B vectors and one broadcast A value: 15 of AVX2's 16.
constexpr int64_t MR = 6, NR = 2 * VW;
/// Largest K block: a B micro-panel (KC x NR) stays in L1.
constexpr int64_t KCMax = 256;
/// Largest M block: the A block (MC x KC) stays in L2.
constexpr int64_t MCMax = 384;
/// Accumulator vectors a microkernel keeps (short row groups take more panels).
constexpr int64_t MaxAcc = 12;
/// Up to this many rows of C, B is read in place from its row-major SDMA tile
/// (little reuse: packing into panels would cost more than it saves).
constexpr int64_t DirectBMaxM = 16;
/// Floats of the staging buffer B rows are copied through (32 KiB).
constexpr int64_t StageFloats = 8192;
/// Floats of B per block in that case (128 KiB: stays in L2).
constexpr int64_t DirectBBlock = 32768;

/// How an operand tile lands in the scratchpad.
enum class Pack {
  Rows,  ///< A: [tm][tk]; B: whole rows, staged into panels
  Cols,  ///< A: [tk][tm]; B: [tn][tk], repacked into panels
  Gather ///< element by element along the inner dimension, per row
};

struct GemmPlan {
  size_t Rank = 0;      ///< of every operand
  size_t NumOps = 0;    ///< A, B, (bias,) C
  int64_t M = 0, N = 0, K = 0;
  int64_t SAm = 0, SAk = 0, SBk = 0, SBn = 0; ///< A's and B's strides (elements)
  Pack APack = Pack::Rows, BPack = Pack::Rows;
  bool DirectB = false;   ///< B read in place from its row-major tile (few rows of C)
  int64_t TM = 0, TN = 0, TK = 0; ///< the blocking
  bool OneKBlock = false; ///< K fits one block: A loaded once per M block
  bool BResident = false; ///< B loaded once per batch
  int64_t StageRows = 0;  ///< rows of B per staging copy
  bool Staged = false;    ///< B rows go through the staging buffer
  /// Offsets of the buffers in the one scratchpad grant, and its size.
  uint64_t AOff = 0, BOff = 0, RawOff = 0, StageOff = 0, AccOff = 0, GrantBytes = 0;
};

/// The plan for \p Spec (a gemm kernel) within \p BudgetBytes of
/// scratchpad; an error naming the spec when its operands do not form a
/// batched GEMM. A spec with an empty C gets M, N, K and nothing else.
llvm::Expected<GemmPlan> planGemm(const abi::KernelSpec &Spec, uint64_t BudgetBytes);

} // namespace atalla::codegen::gemm

#endif // ATALLA_CODEGEN_GEMMPLAN_H
