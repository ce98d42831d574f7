//===- codegen/GemmPlan.cpp - the GEMM kernel's schedule, decided ---------===//
//
// The operand checks, the packing of each operand tile, the cache blocking
// and the carving of the scratchpad grant, from the static shape alone
// (GemmPlan.h). EmitGemm.cpp and EmitGemmConv.cpp turn a plan into IR.
//
//===----------------------------------------------------------------------===//
#include "codegen/GemmPlan.h"
#include "codegen/EmitterSupport.h"

#include <algorithm>
#include <vector>

using namespace llvm;
using namespace atalla;
using namespace atalla::codegen;
using namespace atalla::codegen::gemm;
using atalla::codegen::detail::ScratchpadAlign;
using atalla::codegen::detail::specError;

namespace {

int64_t ceilDiv(int64_t A, int64_t B) { return (A + B - 1) / B; }
int64_t roundUp(int64_t A, int64_t B) { return ceilDiv(A, B) * B; }

/// Tile sizes worth trying for a dimension: Dim split into 1, 2, ...
/// balanced blocks, each rounded up to Step, at most Max.
std::vector<int64_t> candidates(int64_t Dim, int64_t Step, int64_t Max) {
  std::vector<int64_t> Out;
  for (int64_t Blocks = 1; Blocks <= ceilDiv(Dim, Step); ++Blocks) {
    int64_t T = Blocks == 1 ? Dim : roundUp(ceilDiv(Dim, Blocks), Step);
    if (T <= Max && (Out.empty() || Out.back() != T))
      Out.push_back(T);
    if (T <= Step)
      break;
  }
  if (Out.empty())
    Out.push_back(std::min(Dim, Step));
  return Out;
}

/// Whether the tile unit could multiply \p Spec's A and B: the target has
/// AMX-BF16 (\p Bf16Dot), the blocking is AVX-512's (its 32-column panels
/// are the tiles' pairs of 16 columns) and both are stored as bf16.
bool tileUnitOperands(const abi::KernelSpec &Spec, const MicroKernel &Micro, bool Bf16Dot) {
  return Bf16Dot && Micro.VW == 16 && Micro.NR == 32 && Spec.storedAsBf16(0) && Spec.storedAsBf16(1);
}

/// Cache blocking, from the static shape. K blocks are balanced (so usually
/// all equal). TM x TN is chosen to minimise the SDMA traffic (A is reloaded
/// per N block unless K fits one block, B per M block unless it is resident)
/// within the scratchpad budget, with a small charge per tile, and C tiles
/// of a few row groups where K fits one block (GemmPlan.h, "Row-group tiles").
void chooseBlocking(GemmPlan &P, uint64_t Budget) {
  const int64_t M = P.M, N = P.N, K = P.K;
  const int64_t BFactor = P.BPack == Pack::Rows ? 1 : 2;
  const bool DirectB = P.DirectB;
  const int64_t KP = std::max<int64_t>(K, 1); // K = 0: C is the bias, or zeros
  // B in place as one block: small, or C has more rows than a few row
  // groups (then B is in place only because it is whole: directBWhole).
  const bool WholeB = DirectB && (KP * N <= DirectBWhole || M > DirectBMaxGroups * P.Micro.MR);
  int64_t TK = 0, TM = 0, TN = 0;
  // Cost in floats moved: A and B blocks (B's narrow panel rows cost
  // more per byte), C tile reloads per extra K block, and a charge per tile.
  double Best = 0;
  // Less what rounding each buffer to ScratchpadAlign can add.
  const int64_t Floats = int64_t(Budget - 5 * ScratchpadAlign) / 4;
  // With B read in place (few rows of C), each B element is used by few
  // FMAs: keep its block small enough to stay in L1 between the SDMA copy
  // and the compute (DirectBBlock), and let the K blocks shrink to allow that.
  std::vector<int64_t> KCs = {KCMax, KCMax * 3 / 4, KCMax / 2};
  if (DirectB)
    KCs = {KCMax, KCMax / 2, KCMax / 4, KCMax / 8, KCMax / 16};
  // Shorter K blocks only where none of those fits (the wide microkernel's
  // panels in the smallest scratchpads).
  const std::vector<int64_t> Short = {KCMax / 4, KCMax / 8, KCMax / 16};
  for (size_t KI = 0; KI < KCs.size() + Short.size(); ++KI) {
    if (KI == KCs.size() && TM != 0)
      break;
    const int64_t KCm = KI < KCs.size() ? KCs[KI] : Short[KI - KCs.size()];
    // AMX multiplies whole 32s of K: its blocks are rounded up to them.
    const int64_t NKB = ceilDiv(KP, KCm), CK = P.Bf16Dot ? std::min(KP, roundUp(ceilDiv(KP, NKB), 32)) : ceilDiv(KP, NKB);
    const bool OneK = NKB == 1;
    for (int64_t CN : candidates(N, P.Micro.NR, N))
      for (int64_t CM : candidates(M, P.Bf16Dot ? 32 : P.Micro.MR, MCMax)) { // AMX: whole 32-row blocks
        if (CK * CN * BFactor + CM * CK + CM * CN * (P.Residual ? 2 : 1) + std::max(StageFloats, CN) > Floats)
          continue;
        if (DirectB && CK * CN > DirectBBlock && CK > KCMax / 16 && !WholeB)
          continue;
        // Host caches (GemmPlan.h, "Row-group tiles"): with one K block, or
        // a whole small B in place, each C tile is the fewest row groups
        // that make RowTileRows rows. Not on the tile unit, whose blocks
        // are 32 rows.
        if (!P.Bf16Dot && CM > rowTileRows(P.Micro) && (WholeB || OneK))
          continue;
        if (P.Bf16Dot && CM > AmxRowTileRows && OneK) // GemmPlan.h, AmxRowTileRows
          continue;
        const int64_t NMB = ceilDiv(M, CM), NNB = ceilDiv(N, CN);
        double Cost = double(OneK ? M * K : NNB * M * K) +
                      double(OneK && NNB == 1 ? K * N : NMB * K * N) * BFactor * 1.5 +
                      double(NMB * NNB) * 4096 + double(NKB - 1) * double(M * N) * 0.5;
        if (TM == 0 || Cost < Best) {
          Best = Cost;
          TK = CK;
          TM = CM;
          TN = CN;
        }
      }
  }
  if (TM == 0) { // not reached for fp32 with KC <= 256
    TK = std::min(KP, KCMax);
    TM = std::min(M, P.Bf16Dot ? 32 : P.Micro.MR); // AMX: one tile block (too big? the caller drops AMX)
    TN = std::min(N, P.Micro.NR);
  }
  P.TK = TK;
  P.TM = TM;
  P.TN = TN;
}

/// The next buffer of the plan's one scratchpad grant: \p Floats floats,
/// rounded up to ScratchpadAlign; returns its offset.
uint64_t carveBuffer(GemmPlan &P, int64_t Floats) {
  uint64_t Off = P.GrantBytes;
  P.GrantBytes += (uint64_t(Floats) * 4 + ScratchpadAlign - 1) / ScratchpadAlign * ScratchpadAlign;
  return Off;
}

/// The buffers every plan ends with: a per-row bias column (a bias
/// broadcast along N), and for AMX the bf16-pair copies of A and B (two
/// bf16 per float, K padded to the tiles' 32).
void carveTail(GemmPlan &P, const abi::KernelSpec &Spec) {
  if (P.Scale)
    P.ScaleOff = carveBuffer(P, P.TK);
  if (P.Residual)
    P.ResOff = carveBuffer(P, P.TM * P.TN);
  P.BiasCol = Spec.HasBias && Spec.Operands[2].Strides[P.Rank - 1] == 0 && P.N > 1;
  if (P.BiasCol)
    P.BiasColOff = carveBuffer(P, P.TM);
  if (P.Bf16Dot) {
    const int64_t TKp = roundUp(P.TK, 32);
    // Raw bf16: whole 16-row tiles over the last rows and whole 32-column
    // panels over the last columns (the extra rows and columns of C are
    // computed from whatever the padding holds and never stored), and a
    // bounce buffer for C tiles narrower than 16 columns.
    const int64_t TMp = P.RawBf16 ? roundUp(P.TM, 32) : P.TM;
    const int64_t TNp = P.BWhole ? roundUp(P.N, 32) : P.RawBf16 ? roundUp(P.TN, 32) : P.TN;
    P.ABfOff = carveBuffer(P, TMp * TKp / 2);
    P.BBfOff = carveBuffer(P, TKp * TNp / 2);
    if (P.RawBf16)
      P.BounceOff = carveBuffer(P, 2 * 16 * 16);
  }
}

} // namespace

Expected<GemmPlan> gemm::planConv(const abi::KernelSpec &Spec, uint64_t Budget, const MicroKernel &Micro,
                                  bool Bf16Dot) {
  if (Spec.HasScale)
    return specError(Spec, "conv2d takes no column scale (kscale): only gemm does");
  const size_t NumOps = 3 + Spec.HasBias + Spec.HasResidual;
  if (Spec.Operands.size() != NumOps)
    return specError(Spec, "expected " + Twine(NumOps) + " operands, got " + Twine(Spec.Operands.size()));
  if (std::string E = Spec.paramsError(); !E.empty())
    return specError(Spec, E);
  const abi::OperandSpec &Wt = Spec.Operands[0], &X = Spec.Operands[1], &C = Spec.output();
  if (Wt.Sizes.size() != 4 || X.Sizes.size() != 5 || C.Sizes.size() != 4 ||
      (Spec.HasBias && Spec.Operands[2].Sizes.size() != 4) ||
      (Spec.HasResidual && Spec.Operands[NumOps - 2].Sizes != C.Sizes))
    return specError(Spec, "conv2d operands are W [b, g, Cog, K], X [b, g, Cg, H, W], (bias,) (residual [b, g, Cog, "
                           "OH*OW],) C [b, g, Cog, OH*OW]");
  GemmPlan P;
  P.Micro = Micro;
  P.Rank = 4;
  P.NumOps = NumOps;
  P.Conv = true;
  P.Residual = Spec.HasResidual;
  const std::vector<int64_t> &Pm = Spec.Params;
  P.KH = Pm[0], P.KW = Pm[1], P.SH = Pm[2], P.SW = Pm[3], P.PH = Pm[4], P.PW = Pm[5], P.DH = Pm[6], P.DW = Pm[7];
  P.Cg = X.Sizes[2], P.H = X.Sizes[3], P.W = X.Sizes[4];
  P.OH = (P.H + 2 * P.PH - P.DH * (P.KH - 1) - 1) / P.SH + 1;
  P.OW = (P.W + 2 * P.PW - P.DW * (P.KW - 1) - 1) / P.SW + 1;
  const int64_t KHW = P.KH * P.KW;
  P.M = C.Sizes[2];
  P.N = C.Sizes[3];
  P.K = Wt.Sizes[3];
  if (P.OH < 1 || P.OW < 1 || P.OH * P.OW != P.N || P.K != P.Cg * KHW || Wt.Sizes[2] != P.M)
    return specError(Spec, "conv2d shapes do not agree: W [.., " + Twine(Wt.Sizes[2]) + ", " + Twine(P.K) +
                               "], X [.., " + Twine(P.Cg) + ", " + Twine(P.H) + ", " + Twine(P.W) + "], C [.., " +
                               Twine(P.M) + ", " + Twine(P.N) + "] with a " + Twine(P.KH) + "x" + Twine(P.KW) +
                               " window");
  for (size_t I = 0; I < NumOps; ++I)
    for (size_t D = 0; D < 2; ++D)
      if (Spec.Operands[I].Sizes[D] != C.Sizes[D])
        return specError(Spec, "operand " + Twine(I) + " is not in the output's batch shape");
  if (X.Strides[4] != 1)
    return specError(Spec, "conv2d's input needs a unit column stride");
  if (C.numel() == 0)
    return P;
  P.SAm = Wt.Strides[2];
  P.SAk = Wt.Strides[3];
  P.SXc = X.Strides[2];
  P.SXh = X.Strides[3];
  P.APack = (P.SAk == 1 || P.K == 1)   ? Pack::Rows
            : (P.SAm == 1 || P.M == 1) ? Pack::Cols
                                       : Pack::Gather;
  P.BPack = Pack::Rows;
  // Rows of at least two vectors: narrower ones leave the accumulators
  // mostly empty, and the im2col tile (N across output rows) does better.
  P.DirectRows = P.SW == 1 && P.APack == Pack::Rows && P.OW >= 2 * Micro.VW;
  P.Wp = P.OW + (P.KW - 1) * P.DW;
  P.DirectB = !P.DirectRows && directB(P.M, Micro);
  P.Bf16Dot = tileUnitOperands(Spec, Micro, Bf16Dot) && P.APack == Pack::Rows && !P.DirectB && !P.DirectRows;
  const uint64_t Avail = P.Bf16Dot ? Budget / 3 * 2 : Budget;
  // Less what rounding each buffer to ScratchpadAlign can add, and a
  // per-row bias column's buffer.
  const int64_t Floats = int64_t(Avail - 7 * ScratchpadAlign) / 4 - (Spec.HasBias ? MCMax : 0);
  auto rowsIn = [&](int64_t R) { return (R - 1) * P.SH + (P.KH - 1) * P.DH + 1; };
  // Channels per K block: the three largest balanced splits within KCMax,
  // then halvings down to one channel (for the smallest pads).
  std::vector<int64_t> Cbs;
  for (int64_t Blocks = 1; Blocks <= P.Cg && Cbs.size() < 3; ++Blocks) {
    const int64_t Cb = ceilDiv(P.Cg, Blocks);
    if ((Cb * KHW <= KCMax || Cb == 1) && (Cbs.empty() || Cbs.back() != Cb))
      Cbs.push_back(Cb);
    if (Cb == 1)
      break;
  }
  while (Cbs.back() > 1)
    Cbs.push_back(Cbs.back() / 2);
  double Best = 0;
  for (int64_t Cb : Cbs)
    for (int64_t R : candidates(P.OH, 1, P.OH))
      for (int64_t CM : candidates(P.M, Micro.MR, MCMax)) {
        const int64_t CK = Cb * KHW, CN = R * P.OW, RI = std::min(rowsIn(R), P.H);
        const int64_t Need = CM * CK + CM * CN * (P.Residual ? 2 : 1) + Cb * RI * P.W + P.W +
                             (P.DirectRows ? Cb * rowsIn(R) * P.Wp : CK * CN * (P.DirectB ? 1 : 2));
        if (Need > Floats)
          continue;
        const int64_t NKB = ceilDiv(P.Cg, Cb), NMB = ceilDiv(P.M, CM), NNB = ceilDiv(P.OH, R);
        // Floats moved: A per N block unless K fits one block, the input
        // rows per tile (halo included), C once; a charge per tile.
        const double Cost = double(NKB == 1 ? P.M * P.K : NNB * P.M * P.K) +
                            double(NMB * NNB) * double(P.Cg * RI * P.W) + double(NMB * NNB * NKB) * 4096 +
                            double(NKB - 1) * double(P.M * P.N) * 0.5;
        if (P.TM == 0 || Cost < Best) {
          Best = Cost;
          P.TK = CK;
          P.TM = CM;
          P.TN = CN;
          P.RowsIn = rowsIn(R);
          P.RegionRows = RI;
        }
      }
  if (P.TM == 0 && P.Bf16Dot) // the bf16 copies leave too little: multiply in f32
    return planConv(Spec, Budget, Micro, /*Bf16Dot=*/false);
  if (P.TM == 0)
    return specError(Spec, "no conv2d blocking fits " + Twine(Budget) + " bytes of scratchpad (input rows of " +
                               Twine(P.W) + " floats)");
  P.OneKBlock = P.TK == P.K;
  P.BResident = false; // B is built per tile from the input rows
  P.Staged = false;
  auto carve = [&](int64_t Fl) { return carveBuffer(P, Fl); };
  P.AOff = carve(P.TM * P.TK);
  if (P.DirectRows) {
    P.PaddedOff = carve((P.TK / KHW) * P.RowsIn * P.Wp);
  } else {
    P.BOff = carve(P.TK * P.TN);
    P.RawOff = P.DirectB ? 0 : carve(P.TK * P.TN); // the row-major im2col tile, then panels
  }
  P.RegionOff = carve((P.TK / KHW) * P.RegionRows * P.W + P.W);
  P.AccOff = carve(P.TM * P.TN);
  carveTail(P, Spec);
  if (P.Bf16Dot && P.GrantBytes > Budget) // the bf16 copies do not fit: multiply in f32
    return planConv(Spec, Budget, Micro, /*Bf16Dot=*/false);
  return P;
}

Expected<GemmPlan> gemm::planConvTranspose(const abi::KernelSpec &Spec, uint64_t Budget, const MicroKernel &Micro) {
  if (Spec.HasResidual || Spec.HasScale)
    return specError(Spec, Spec.HasScale ? "conv_transpose2d takes no column scale (kscale)"
                                         : "conv_transpose2d takes no residual");
  const size_t NumOps = Spec.HasBias ? 4 : 3;
  if (Spec.Operands.size() != NumOps)
    return specError(Spec, "expected " + Twine(NumOps) + " operands, got " + Twine(Spec.Operands.size()));
  if (std::string E = Spec.paramsError(); !E.empty())
    return specError(Spec, E);
  const abi::OperandSpec &A = Spec.Operands[0], &Bm = Spec.Operands[1], &C = Spec.output();
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Sizes.size() != 3 || O.Sizes[0] != C.Sizes[0])
      return specError(Spec, "conv_transpose2d operands are W' [b, M, K], X [b, K, N], (bias,) Out [b, Co, OH*OW]");
  GemmPlan P;
  P.Micro = Micro;
  P.Rank = 3;
  P.NumOps = NumOps;
  P.ConvT = true;
  P.KH = Spec.Params[0];
  P.KW = Spec.Params[1];
  P.W = Spec.Params[2];
  const int64_t KHW = P.KH * P.KW;
  P.M = A.Sizes[1];
  P.K = A.Sizes[2];
  P.N = Bm.Sizes[2];
  const int64_t Co = C.Sizes[1];
  if (Bm.Sizes[1] != P.K || P.M != Co * KHW || P.N % P.W || C.Sizes[2] != P.N * KHW ||
      (Spec.HasBias && (Spec.Operands[2].Sizes[1] != P.M || Spec.Operands[2].Sizes[2] != P.N)))
    return specError(Spec, "conv_transpose2d shapes do not agree: W' [.., " + Twine(P.M) + ", " + Twine(P.K) +
                               "], X [.., " + Twine(Bm.Sizes[1]) + ", " + Twine(P.N) + "], Out [.., " + Twine(Co) +
                               ", " + Twine(C.Sizes[2]) + "] with a " + Twine(P.KH) + "x" + Twine(P.KW) + " window");
  if (C.Strides[2] != 1 || Bm.Strides[2] != 1)
    return specError(Spec, "conv_transpose2d needs X's rows and each output plane contiguous");
  P.H = P.N / P.W;
  if (C.numel() == 0)
    return P;
  P.SAm = A.Strides[1];
  P.SAk = A.Strides[2];
  P.SBk = Bm.Strides[1];
  P.SBn = 1;
  P.APack = (P.SAk == 1 || P.K == 1)   ? Pack::Rows
            : (P.SAm == 1 || P.M == 1) ? Pack::Cols
                                       : Pack::Gather;
  P.BPack = Pack::Rows;
  P.DirectB = directB(P.M, Micro);
  P.Staged = !P.DirectB;
  const int64_t Floats = int64_t(Budget - 7 * ScratchpadAlign) / 4 - (Spec.HasBias ? MCMax : 0);
  const int64_t NKB = ceilDiv(std::max<int64_t>(P.K, 1), KCMax), CK = ceilDiv(std::max<int64_t>(P.K, 1), NKB);
  double Best = 0;
  for (int64_t R : candidates(P.H, 1, P.H))
    for (int64_t Cc : candidates(Co, 1, std::max<int64_t>(1, MCMax / KHW))) {
      const int64_t CN = R * P.W, CM = Cc * KHW, Stage = P.Staged ? std::max<int64_t>(1, std::min(CK, StageFloats / CN)) * CN : 0;
      const int64_t Need = CM * CK + CK * CN + Stage + 2 * CM * CN;
      if (Need > Floats)
        continue;
      const int64_t NMB = ceilDiv(Co, Cc), NNB = ceilDiv(P.H, R);
      const double Cost = double(NKB == 1 ? P.M * P.K : NNB * P.M * P.K) + double(NMB) * double(P.K * P.N) +
                          double(NMB * NNB) * 4096;
      if (P.TM == 0 || Cost < Best) {
        Best = Cost;
        P.TK = CK;
        P.TM = CM;
        P.TN = CN;
      }
    }
  if (P.TM == 0)
    return specError(Spec, "no conv_transpose2d blocking fits " + Twine(Budget) + " bytes of scratchpad");
  P.OneKBlock = P.TK == P.K;
  P.BResident = P.OneKBlock && P.TN == P.N;
  P.StageRows = std::max<int64_t>(1, std::min(P.TK, StageFloats / P.TN));
  auto carve = [&](int64_t Fl) { return carveBuffer(P, Fl); };
  P.AOff = carve(P.TM * P.TK);
  P.BOff = carve(P.TK * P.TN);
  P.StageOff = P.Staged ? carve(P.StageRows * P.TN) : 0;
  P.AccOff = carve(P.TM * P.TN);
  P.InterleaveOff = carve(P.TM * P.TN);
  carveTail(P, Spec);
  return P;
}

Expected<GemmPlan> gemm::planGemm(const abi::KernelSpec &Spec, uint64_t Budget, const MicroKernel &Micro,
                                  bool Bf16Dot) {
  if (Spec.Kernel == abi::KernelId::conv2d)
    return planConv(Spec, Budget, Micro, Bf16Dot);
  if (Spec.Kernel == abi::KernelId::conv_transpose2d)
    return planConvTranspose(Spec, Budget, Micro);
  const size_t NumOps = 3 + Spec.HasBias + Spec.HasScale + Spec.HasResidual;
  if (Spec.Operands.size() != NumOps)
    return specError(Spec, "expected " + Twine(NumOps) + " operands, got " +
                               Twine(Spec.Operands.size()));
  const size_t ScaleOp = 2 + Spec.HasBias;
  const abi::OperandSpec &A = Spec.Operands[0], &Bm = Spec.Operands[1], &C = Spec.output();
  const size_t Rank = C.Sizes.size();
  if (Rank < 2)
    return specError(Spec, "gemm operands need rank >= 2");
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Sizes.size() != Rank)
      return specError(Spec, "gemm operands must have the output's rank");
  const int64_t M = C.Sizes[Rank - 2], N = C.Sizes[Rank - 1], K = A.Sizes[Rank - 1];
  if (A.Sizes[Rank - 2] != M || Bm.Sizes[Rank - 2] != K || Bm.Sizes[Rank - 1] != N)
    return specError(Spec, "gemm shapes do not agree: A [.., " + Twine(A.Sizes[Rank - 2]) + ", " +
                               Twine(K) + "], B [.., " + Twine(Bm.Sizes[Rank - 2]) + ", " +
                               Twine(Bm.Sizes[Rank - 1]) + "], C [.., " + Twine(M) + ", " +
                               Twine(N) + "]");
  for (size_t I = 0; I < NumOps; ++I) {
    const abi::OperandSpec &O = Spec.Operands[I];
    for (size_t D = 0; D + 2 < Rank; ++D)
      if (O.Sizes[D] != C.Sizes[D])
        return specError(Spec, "operand " + Twine(I) + " is not in the output's batch shape");
    if (Spec.HasBias && I == 2 && (O.Sizes[Rank - 2] != M || O.Sizes[Rank - 1] != N))
      return specError(Spec, "the bias is not [.., M, N]");
    if (Spec.HasResidual && I == NumOps - 2 && (O.Sizes[Rank - 2] != M || O.Sizes[Rank - 1] != N))
      return specError(Spec, "the residual is not [.., M, N]");
    if (Spec.HasScale && I == ScaleOp && (O.Sizes[Rank - 2] != 1 || O.Sizes[Rank - 1] != K))
      return specError(Spec, "the column scale (kscale) is not [.., 1, K]");
  }
  GemmPlan P;
  P.Micro = Micro;
  P.Rank = Rank;
  P.NumOps = NumOps;
  P.Residual = Spec.HasResidual;
  P.Scale = Spec.HasScale;
  P.ScaleOp = unsigned(ScaleOp);
  P.M = M;
  P.N = N;
  P.K = K;
  if (C.numel() == 0)
    return P;

  P.SAm = A.Strides[Rank - 2];
  P.SAk = A.Strides[Rank - 1];
  P.SBk = Bm.Strides[Rank - 2];
  P.SBn = Bm.Strides[Rank - 1];
  // How each operand tile is packed.
  P.APack = (P.SAk == 1 || K == 1)   ? Pack::Rows  // [tm][tk]
            : (P.SAm == 1 || M == 1) ? Pack::Cols  // [tk][tm]
                                     : Pack::Gather; // [tm][tk], per row
  P.BPack = (P.SBn == 1 || N == 1)   ? Pack::Rows  // whole rows, staged into panels
            : (P.SBk == 1 || K == 1) ? Pack::Cols  // [tn][tk] -> panels
                                     : Pack::Gather; // [tk][tn], per row -> panels
  // Raw bf16 for AMX (RawBf16 below) wants B through panels even for few
  // rows of C: the tile unit multiplies partial tiles too. Not below 8 rows
  // (a GEMV): a 16-row tile would be mostly padding, and pairing B costs a
  // pass over it as large as the f32 microkernel's dot products.
  const bool TileUnit = tileUnitOperands(Spec, Micro, Bf16Dot);
  const bool RawCandidate = TileUnit && P.BPack == Pack::Rows && P.SAk == 1 && P.SBn == 1 && K % 32 == 0 && K > 0 &&
                            M >= 8 && !Spec.HasScale;
  P.DirectB = P.BPack == Pack::Rows && directB(M, N, K, Micro, TileUnit) && !RawCandidate;
  // Not with a column scale: the tile unit would take A diag(s) rounded to
  // bf16, a rounding per product that the definition (bf16 operands, exact
  // products, f32 sums) does not have; the f32 microkernel multiplies the
  // f32 A diag(s) as it is.
  P.Bf16Dot = TileUnit && P.APack == Pack::Rows && !P.DirectB && !Spec.HasScale;
  // A per-row bias column: its buffer (at most MCMax floats) out of the budget first.
  const bool BiasCol = Spec.HasBias && Spec.Operands[2].Strides[Rank - 1] == 0 && N > 1;
  const uint64_t ColBytes = BiasCol ? uint64_t(MCMax) * 4 + ScratchpadAlign : 0;
  // A column scale's buffer: a K block (at most KCMax floats).
  const uint64_t ScaleBytes = Spec.HasScale ? uint64_t(KCMax) * 4 + ScratchpadAlign : 0;
  chooseBlocking(P, (P.Bf16Dot ? Budget / 3 * 2 : Budget) - ColBytes - ScaleBytes);
  P.RawBf16 = P.Bf16Dot && RawCandidate && P.TK % 32 == 0;
  P.OneKBlock = P.TK == K;
  P.BResident = P.OneKBlock && P.TN == N;
  // Raw bf16 with B resident: C tiles of at most AmxCTileFloats, whole
  // panels wide, B's buffers still the whole of it (GemmPlan.h).
  const int64_t BWholeTN = std::max<int64_t>(Micro.NR, AmxCTileFloats / P.TM / Micro.NR * Micro.NR);
  P.BWhole = P.RawBf16 && P.BResident && P.TN > BWholeTN;
  const int64_t BCols = P.TN; // B's buffers: all of N while BWhole
  if (P.BWhole)
    P.TN = BWholeTN;

  // One scratchpad grant carved into the buffers (one alloc/free per call
  // instead of four or five: it shows on small shapes).
  P.StageRows = std::max<int64_t>(1, std::min(P.TK, StageFloats / P.TN));
  // B's panels straight from its rows (f32 in DRAM: the bf16 aperture
  // widens row by row, and AMX pairs the rows from a staged copy).
  P.PanelSdma = P.BPack == Pack::Rows && !P.DirectB && !P.Bf16Dot && !Spec.storedAsBf16(1) &&
                Micro.NR * 4 >= PanelSdmaMinRowBytes;
  P.Staged = P.BPack == Pack::Rows && !P.DirectB && !P.PanelSdma;
  auto carve = [&](int64_t Fl) { return carveBuffer(P, Fl); };
  P.AOff = carve(P.TM * P.TK);
  P.BOff = carve(P.TK * BCols);
  P.RawOff = P.BPack != Pack::Rows ? carve(P.TK * P.TN) : 0;
  P.StageOff = P.Staged ? carve(P.StageRows * P.TN) : 0;
  P.AccOff = carve((P.RawBf16 ? roundUp(P.TM, 32) : P.TM) * P.TN); // raw bf16: whole 16-row C tiles
  carveTail(P, Spec);
  // Pads too small for both bf16 copies (the smallest blocking already
  // takes more than two thirds): multiply in f32.
  if (P.Bf16Dot && P.GrantBytes > Budget)
    return planGemm(Spec, Budget, Micro, /*Bf16Dot=*/false);
  return P;
}
