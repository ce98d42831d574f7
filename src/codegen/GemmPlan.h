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

/// The microkernel's register blocking, a parameter of the target's vector
/// ISA: MR rows x NR columns of C held in MR * NR / VW accumulator vectors
/// of VW lanes across the k loop, plus NR / VW vectors of B and one
/// broadcast of A.
struct MicroKernel {
  int64_t VW;     ///< lanes of one accumulator vector
  int64_t MR, NR; ///< rows and columns of C in registers
  int64_t MaxAcc; ///< accumulator vectors a microkernel keeps (short row groups take more panels)
  bool operator==(const MicroKernel &O) const {
    return VW == O.VW && MR == O.MR && NR == O.NR && MaxAcc == O.MaxAcc;
  }
};
/// AVX2 (16 ymm registers): 6 x 16 in 12 accumulators, 2 B vectors and the
/// broadcast: 15 of 16.
inline constexpr MicroKernel Avx2Micro{8, 6, 16, 12};
/// AVX-512 (32 zmm registers): 14 x 32 in 28 accumulators, 2 B vectors and
/// the broadcast: 31 of 32 (BLIS's and oneDNN's shapes for f32 on these
/// cores are of this size). On a 256-bit target LLVM splits each vector in
/// two: correct, and how the tests run it on any host.
inline constexpr MicroKernel Avx512Micro{16, 14, 32, 28};
/// Largest K block: a B micro-panel (KC x NR) stays in L1.
constexpr int64_t KCMax = 256;
/// Largest M block: the A block (MC x KC) stays in L2.
constexpr int64_t MCMax = 384;
/// Up to this many row groups of the microkernel (MR rows of C each), B is
/// read in place from its row-major SDMA tile: each group reads B once, and
/// with so few the pass that packs B into panels costs more than it saves
/// (AVX-512: M <= 42; AVX2: M <= 18).
constexpr int64_t DirectBMaxGroups = 3;
/// Whether B is read in place for \p M rows of C with microkernel \p Micro.
constexpr bool directB(int64_t M, const MicroKernel &Micro) { return M <= DirectBMaxGroups * Micro.MR; }
/// Floats of a whole B (K x N) small enough to be read in place for any M,
/// as one block (16 KiB): it stays in L1 (at least 32 KiB on every host
/// seen) while every row group of C streams past, so packing it into
/// panels is a pass over B that buys nothing. Measured on the AVX-512 Xeon
/// (one thread, best of five, GFLOP/s, panels -> in place): 64x64x64
/// 105 -> 111, 128x64x64 112 -> 123, 64x64x32 92 -> 111, 96x32x128
/// 105 -> 116, 256x64x64 120 -> 123.
/// Its C tiles are then row-group tiles (below): 64x64x64 110 -> 130
/// GFLOP/s, 128x64x64 121 -> 135, 196x64x64 120 -> 136, 100x48x80 110 ->
/// 133 against tiles of all of C's rows.
constexpr int64_t DirectBWhole = 4096;
/// Row-group tiles: where K fits one block (or a whole small B is read in
/// place, DirectBWhole), each C tile is the fewest row groups of the
/// microkernel that make at least RowTileRows rows (rowTileRows: one 14-row
/// group on AVX-512, three 6-row groups on AVX2). Its A rows come in by
/// SDMA, are multiplied by all of B, and its C rows leave by SDMA while both
/// are still in L1: a tile of every row the scratchpad holds is written
/// once by the microkernels and read once by its store after it has left L1
/// and much of L2, so the store moves it through L2 twice. B is loaded once
/// per batch either way (resident). Fewer rows than RowTileRows (AVX2's one
/// 6-row group) pay the tile's fixed costs (its two transfers, each panel's
/// loop entry) too often. Measured on the AVX-512 Xeon (one thread, best of
/// five, GFLOP/s, tiles of all rows -> row-group tiles): 512x512x64 113 ->
/// 124, 128^3 122 -> 125, 256^3 128 -> 132, 12 x 128x128x64 108 -> 115; 28
/// rows instead of 14 within noise. With AVX2 kernels (--isa=avx2), 6 / 12 /
/// 18 rows: 128^3 83 / 86-88 / 89, 512x512x64 85 / 88-89 / 88-90, against
/// 86-89 and 83-89 for tiles of all rows. Not with AMX (Bf16Dot), whose
/// blocks are 32 rows. Balancing the tiles where the last would have one
/// or two rows (128 rows as 8 x 13 + 2 x 12 instead of 9 x 14 + 2) was
/// within 1 % (the AVX-512 Xeon, AVX-512 kernels, median of six rounds,
/// microseconds: 128^3 28.17 -> 28.10, 12 x 128x128x64 182.4 -> 183.0,
/// 16x128x64 2.21 -> 2.19). On the same host and kernels, loading A's M
/// rows once per batch (one transfer instead of one per tile) with the
/// same C tiles was slower (median of four rounds, microseconds: 12 x
/// 128x128x64 181.1 -> 184.1, 128^3 27.9 -> 28.5, 512x512x64 226.2 ->
/// 227.3; perhaps as A's rows are then read from L2, which was not
/// measured). Nor did it pay to cut a tile's C store into row chunks, each
/// sent between two panels of the next tile (two C buffers), so that the
/// stores could drain under its FMAs (median of four rounds, microseconds:
/// 12 x 128x128x64 181.6 -> 183.2, 128^3 28.45 -> 28.78, 512x512x64 229.9
/// -> 225.6, 16x128x64 2.21 -> 2.22).
constexpr int64_t RowTileRows = 14;
constexpr int64_t rowTileRows(const MicroKernel &Micro) {
  return (RowTileRows + Micro.MR - 1) / Micro.MR * Micro.MR;
}
/// Rows of C left over below a whole row group (MR rows) that are spread
/// over one more group instead (M rows in groups of M / groups and
/// M / groups + 1 rows), for microkernel \p Micro: AVX2's 6-row blocking, a
/// remainder of 1 or 2 rows, whose own microkernel is load-bound (2
/// broadcasts and 6 B loads per 12 FMAs). Measured with AVX2 kernels
/// (--isa=avx2 on the AVX-512 Xeon, one thread, fastest of five interleaved
/// repetitions, GFLOP/s): 128x768x768 85-88 -> 95, 512x512x64 98-99 -> 99-100,
/// 32x64x128 77.7 -> 78.8, the rest within 1 %. Not with AVX-512's 14
/// rows, whose 11- and 10-row groups lose more than the remainder costs
/// (32x64x128 143 -> 134, 16x128x64 123 -> 111).
constexpr int64_t spreadRemainderRows(const MicroKernel &Micro) { return Micro.MR == Avx2Micro.MR ? 2 : 0; }

/// Floats of a whole B read in place, with 512-bit vectors, for C with more
/// rows than DirectBMaxGroups row groups (256 KiB): it stays in L2 (512 KiB
/// or more on every host seen) while the row-group tiles stream past, and
/// each k step reads 128 contiguous bytes of a B row per panel, as a packed
/// panel would; packing it costs a copy of B through the stage buffer and a
/// pass over it. Measured on the AVX-512 Xeon (one thread, best of five,
/// GFLOP/s, panels -> in place): 128^3 130 -> 137-139, 256^3 138-140 ->
/// 149-160, 512x512x64 132 -> 134-139, 12 x 128x128x64 123 -> 122-129. With
/// AVX2's 256-bit vectors (64 bytes a row per k step) in place was slower
/// (--isa=avx2: 512x512x64 90 -> 84), so AVX2 keeps a smaller whole B
/// (DirectBWholeNarrow); a bf16 GEMM on the tile unit keeps DirectBWhole
/// (AMX multiplies packed pairs). B's rows stay dense in the scratchpad: a
/// row stride padded to an odd number of cache lines (so that a panel's
/// rows, 512 bytes or more apart, spread over all L1 sets; loaded as
/// overlapping rows, one copy per row) was slower (median of six rounds,
/// microseconds: 128^3 28.2 -> 29.5, 256^3 208 -> 214, 12 x 128x128x64
/// 184 -> 190).
constexpr int64_t DirectBWholeWide = 65536;
/// Floats of a whole B read in place with AVX2's 256-bit vectors for C with
/// more rows than DirectBMaxGroups row groups (32 KiB): each k step reads
/// one 64-byte line of a B row per panel, 10 bytes a cycle at two FMAs a
/// cycle, which L2 streams where B does not stay in L1 (32 KiB on some
/// AVX2 hosts), and the staging copy and the pass into panels go. Measured
/// with AVX2 kernels (--isa=avx2 on the AVX-512 Xeon, 48 KiB L1; no AVX2
/// host has measured it yet; fastest of five interleaved repetitions,
/// GFLOP/s, panels -> in place): 32x64x128 80 -> 90, 12 x 128x128x64 94.7
/// -> 97.8, 16384 floats no further gain.
constexpr int64_t DirectBWholeNarrow = 8192;
/// C tiles on the tile unit (Bf16Dot) where K fits one block: one 32-row
/// AMX block of rows (A's 32 rows come in, meet all of B, and leave as C's
/// rows), and with raw bf16 operands (RawBf16) at most AmxCTileFloats of
/// C (16 KiB), B then kept whole for the batch (BWhole) while the tiles
/// walk its columns: the aperture narrows each finished tile from L1
/// rather than from L2 (the store reads 4 bytes of C for each 2 it writes).
/// Measured on the AVX-512 Xeon (one thread, fastest of five interleaved
/// repetitions, microseconds, the largest tile the traffic model picked ->
/// these tiles): 64x64x64 1.60 -> 0.80, 12 x 128x128x64 56.5 -> 46.7,
/// 128^3 7.3 -> 6.7, 512x512x64 65 -> 51.4 (32-row tiles as wide as B,
/// 32 x 512: 67), 256^3 42.5 -> 42.8. The 64-row tile of 64x64x64 stalled
/// at its first tile loads (the first tdpbf16ps held a third of the
/// kernel's samples; not understood).
constexpr int64_t AmxRowTileRows = 32;
constexpr int64_t AmxCTileFloats = 4096;

/// The largest whole B (floats) read in place for \p M rows of C.
constexpr int64_t directBWhole(int64_t M, const MicroKernel &Micro, bool TileUnit) {
  if (M <= DirectBMaxGroups * Micro.MR || TileUnit)
    return DirectBWhole;
  return Micro.VW >= 16 ? DirectBWholeWide : DirectBWholeNarrow;
}
/// Whether a GEMM of \p M x \p N x \p K reads B in place (\p TileUnit: its
/// bf16 operands could go to AMX).
constexpr bool directB(int64_t M, int64_t N, int64_t K, const MicroKernel &Micro, bool TileUnit = false) {
  return directB(M, Micro) || K * N <= directBWhole(M, Micro, TileUnit);
}
/// Floats of the staging buffer B rows are copied through (32 KiB).
constexpr int64_t StageFloats = 8192;
/// Floats of B per block in that case (8 KiB): the block's SDMA copy reads
/// it and the microkernel then reads the copy while both stay in L1 (8 KiB
/// of source, 8 KiB of copy beside C's rows, within the 32 KiB L1d of every
/// host seen). Measured on the AVX-512 Xeon (one thread, best of five):
/// 16x128x64 88 -> 118 GFLOP/s, 32x64x128 117 -> 137, 1x1000x2048 7.5 ->
/// 9.1 against 32768 floats (128 KiB, an L2-sized block); 1024 and 512
/// floats are slower again (more K blocks, each re-reading C's rows).
constexpr int64_t DirectBBlock = 2048;

/// Bytes of a panel row (NR floats) from which B's panels come in by one
/// SDMA transfer each, B's rows cut into panel rows on the way, instead of
/// whole rows copied into the staging buffer and then into the panels (a
/// second pass over B). AVX-512's 128-byte panel rows: measured on the
/// AVX-512 Xeon (one thread, fastest of five interleaved repetitions,
/// GFLOP/s, staged -> per panel): 128x768x768 134 -> 141, 512^3 146-147
/// -> 153-154, 1024^3 138 -> 140-142, 197x3072x768 138-139 -> 137-141.
/// AVX2's 64-byte rows (--isa=avx2) cost a copy call per 64 bytes, more
/// than the staging pass saves: 197x3072x768 96 -> 86, 1024^3 94 -> 93.
constexpr int64_t PanelSdmaMinRowBytes = 128;

/// How an operand tile lands in the scratchpad.
enum class Pack {
  Rows,  ///< A: [tm][tk]; B: whole rows, staged into panels (or cut into them: PanelSdma)
  Cols,  ///< A: [tk][tm]; B: [tn][tk], repacked into panels
  Gather ///< element by element along the inner dimension, per row
};

struct GemmPlan {
  MicroKernel Micro = Avx2Micro;
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
  bool PanelSdma = false; ///< B's panels come in by one transfer each (PanelSdmaMinRowBytes)
  /// bf16 tiles for AMX (AMX-BF16): A's block and B's panels are also kept
  /// as bf16, B's as pairs of consecutive k (AMX's B layout), K padded to 32
  /// with zeros; whole 32 x 32 blocks of C are multiplied on the tile unit
  /// (tdpbf16ps, accumulating in f32), the rest by the f32 microkernel.
  bool Bf16Dot = false;
  /// With Bf16Dot, bf16 straight from DRAM: where K and its blocks are
  /// whole 32s and A's and B's rows contiguous, A's blocks come in as raw
  /// bf16 rows into the bf16 copy itself and B's rows into BBuf, from where
  /// they are interleaved into pairs; no f32 working copy of either operand
  /// and no conversion (the bytes are the same bf16 values the aperture
  /// would have widened and the copies narrowed back). Every row and column
  /// of C is then multiplied on the tile unit in whole 16 x 16 tiles: the
  /// last rows over padding rows of the A copy and of Acc (never stored),
  /// the last columns over a panel padded to 32 and, where a C tile is
  /// narrower than 16 columns, through the bounce buffer.
  bool RawBf16 = false;
  /// With RawBf16 and one K block: B's whole K x N is loaded and paired
  /// once per batch while C's tiles are narrower (TN < N, a multiple of
  /// NR): a tile's panels are B's panels from N0 / NR on (AmxCTileFloats).
  bool BWhole = false;
  /// conv2d, an implicit GEMM: B is the im2col matrix of the input X,
  /// built per tile and K block in the scratchpad from the rows of X that
  /// tile's output rows read (loaded whole by one SDMA transfer per K block,
  /// into the region buffer; rows outside X read a zero row). N blocks are
  /// whole output rows (TN a multiple of OW), K blocks whole channels (TK a
  /// multiple of KH * KW).
  bool Conv = false;
  int64_t Cg = 0, H = 0, W = 0, KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1, OH = 0, OW = 0;
  int64_t SXc = 0, SXh = 0; ///< X's channel and row strides (its column stride is 1)
  int64_t RowsIn = 0;       ///< rows of X one N block's windows span (some may lie outside X)
  int64_t RegionRows = 0;   ///< rows of X the region holds per channel: min(RowsIn, H)
  /// Stride-1 columns (SW = 1) in rows of at least two vectors: no im2col at all. The input rows are laid
  /// out again with their padding, [channel][window row][Wp] (rows outside
  /// X all zeros, PW zeros on the left), and the microkernel reads B's
  /// vectors straight from them: b((c, kh, kw), (oh, ow)) is padded row
  /// (c, oh SH + kh DH) at column ow + kw DW. Weights stay in registers'
  /// reach (A block), C's rows of one output row in accumulators.
  bool DirectRows = false;
  /// conv_transpose2d (stride = kernel): C's rows are (co, kh, kw) and its
  /// columns (ih, iw); TM is whole channels (a multiple of KH KW), TN whole
  /// input rows (a multiple of IW = W), and the finished tile is
  /// interleaved into output rows in the buffer at InterleaveOff, then
  /// stored as whole planes' row ranges.
  bool ConvT = false;
  uint64_t InterleaveOff = 0;
  int64_t Wp = 0;           ///< a padded row: OW + (KW - 1) DW
  uint64_t PaddedOff = 0;   ///< the padded rows
  /// Offsets of the buffers in the one scratchpad grant, and its size.
  uint64_t AOff = 0, BOff = 0, RawOff = 0, StageOff = 0, AccOff = 0, GrantBytes = 0;
  uint64_t ABfOff = 0, BBfOff = 0; ///< the bf16 copies (Bf16Dot)
  uint64_t BounceOff = 0;          ///< RawBf16: two 16 x 16 f32 tiles for C's narrow edge
  uint64_t RegionOff = 0;          ///< conv2d: rows of X, then one zero row
  /// A bias broadcast along N (a convolution's per-channel bias, stride 0
  /// along N): its TM values come in by one transfer into BiasColOff and
  /// are splatted across each row of the C tile in the kernel (not one
  /// SDMA element per value of C).
  bool BiasCol = false;
  uint64_t BiasColOff = 0;
  /// A residual (KernelSpec::HasResidual, the operand before C): its C tile
  /// comes in by SDMA into ResOff after the K blocks and is added to the
  /// accumulators (after the bias, before the epilogue: torch's order).
  bool Residual = false;
  uint64_t ResOff = 0;
  /// A column scale of A (KernelSpec::HasScale, the operand after the
  /// bias): each A block's K range of it comes in by SDMA into ScaleOff
  /// (TK floats) after the block and multiplies its columns before any
  /// product is made; never on the tile unit (Bf16Dot: A diag(s) would be
  /// rounded to bf16 first).
  bool Scale = false;
  uint64_t ScaleOff = 0;
  unsigned ScaleOp = 0; ///< its operand index
};

/// The plan for \p Spec (a gemm kernel) within \p BudgetBytes of
/// scratchpad, for microkernel \p Micro; an error naming the spec when its
/// operands do not form a batched GEMM. A spec with an empty C gets M, N, K
/// and nothing else.
/// \p Bf16Dot: the target has AMX-BF16; the plan uses it when A and B are
/// stored as bf16, the blocking is AVX-512's, A's tiles are rows and B goes
/// through panels (then two thirds of the budget go to the f32 buffers, the
/// rest to the bf16 copies).
llvm::Expected<GemmPlan> planGemm(const abi::KernelSpec &Spec, uint64_t BudgetBytes,
                                  const MicroKernel &Micro = Avx2Micro, bool Bf16Dot = false);

/// The plan of a conv2d spec (planGemm calls it for one): the same
/// microkernels; B built per tile from the input rows (GemmPlan::Conv), the
/// blocking chosen for the least SDMA traffic within the budget.
llvm::Expected<GemmPlan> planConv(const abi::KernelSpec &Spec, uint64_t BudgetBytes, const MicroKernel &Micro,
                                  bool Bf16Dot);

/// The plan of a conv_transpose2d spec (planGemm calls it for one).
llvm::Expected<GemmPlan> planConvTranspose(const abi::KernelSpec &Spec, uint64_t BudgetBytes,
                                           const MicroKernel &Micro);

} // namespace atalla::codegen::gemm

#endif // ATALLA_CODEGEN_GEMMPLAN_H
