//===- sim/TileModel.h - Atalla cycle by cycle, at tile level ----*- C++ -*-===//
//
// The machine the way atalla-sim models it, advanced one cycle at a time:
// SDMA backends (one per pad) that split 2-D tile transfers into DRAM
// bursts on one shared burst channel, row by row, with per-burst latency
// and a bounded number of bursts in flight; a compute path in which vector
// loads bring weight and activation rows from a pad to the array through
// the vector register file (one write-back a cycle), the array returns one
// output row per activation row after its output latency, and the vector
// core accumulates K in the pads (load the partial row, add, store), since
// the array has no partial-sum input. Every constant comes from the
// MachineDesc; README.md beside this file gives each one's source.
//
// Schedules are tile programs run on that machine: atalla-sim's own GEMM
// harness schedules (one tile; "tiled": both operand tiles per K step with
// two prefetch slots; "blocked mX_nY": X weight tiles and Y activation
// tiles resident per K step) and the compiler's ("ours"), so the machine
// model can be checked against atalla-sim independently of our schedules.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SIM_TILEMODEL_H
#define ATALLA_SIM_TILEMODEL_H

#include "target/Machine.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::sim {

/// A GEMM schedule in tiles of the array's size.
struct TileSchedule {
  enum Kind {
    Tile,    ///< one output tile, one K step: preload, then compute (M = N = K = one tile)
    Tiled,   ///< per output tile, per K step: load both tiles (two prefetch slots), multiply, accumulate
    Blocked, ///< per block and K step: load Y activation and X weight tiles, then X weight-stationary passes
    Ours     ///< weight-stationary blocks sized to the pads, double-buffered SDMA, K accumulated in the pads
  };
  Kind K = Tiled;
  uint32_t WeightTiles = 1;     ///< X of blocked mX_nY: weight tiles resident per block
  uint32_t ActivationTiles = 1; ///< Y of blocked mX_nY: activation tiles streamed past each
  /// Ours: each pass runs to its end (its partial rows added and stored)
  /// before the next pass's weights load ("ours:serial"); by default the
  /// next pass starts as soon as the array is free, beside the previous
  /// pass's K accumulation (the passes are software-pipelined).
  bool Serial = false;
  /// "tile", "tiled", "blocked:m2_n4", "ours", "ours:serial".
  std::string name() const;
};

/// Parses "tile", "tiled", "blocked:mX_nY" (or "blocked_mX_nY"), "ours",
/// "ours:serial".
llvm::Expected<TileSchedule> parseTileSchedule(llvm::StringRef S);

/// Where the cycles of a modelled GEMM went, the way atalla-sim's harnesses
/// split them: each cycle is charged to what the (single-stream) schedule
/// is waiting for at that moment.
struct GemmPhases {
  uint64_t Preload = 0; ///< operand tiles not yet in the pad; weight rows into the array
  uint64_t Stream = 0;  ///< activation rows into the array
  uint64_t Compute = 0; ///< the array's latency and the vector core's K accumulation
  uint64_t Store = 0;   ///< result rows into the pad
  uint64_t Drain = 0;   ///< result tiles from the pad to DRAM
};

struct GemmCycles {
  uint64_t Cycles = 0;
  GemmPhases Phases;
  uint64_t DramBytesLoaded = 0, DramBytesStored = 0;
  uint64_t TileProducts = 0;     ///< 32x32x32 products on the array
  uint64_t VectorAdds = 0;       ///< K-accumulation adds (one per output row per product after the first)
  uint64_t DramBursts = 0;       ///< bursts on the shared channel
  double flopsPerCycle(int64_t M, int64_t N, int64_t K) const {
    return Cycles ? 2.0 * double(M) * double(N) * double(K) / double(Cycles) : 0;
  }
};

/// Where the stationary operand B (K x N) of an "ours" GEMM comes from.
/// By default from DRAM as whole tiles, each 32 rows of K; \p KValid < K
/// says K was padded up to whole tiles and only the first KValid rows (and
/// A's first KValid columns) exist in DRAM: the last K tile's padding is
/// zeros in the pad, never loaded.
///
/// \p Conv: B is the im2col matrix of a stride-1-column convolution's input
/// X [C, H, W] (K = C KH KW in (c, kh, kw) order, N = OH OW output pixels,
/// OW a whole number of tiles). Per block and K step the kernel loads X's
/// rows rather than B's tiles: one copy of input row h per (c, kw) the K
/// step holds, shifted by kw so that B's rows are whole pad rows (the pad
/// reads whole rows, atalla-sim's scratchpad), each as wide as the
/// block's output columns; one such row serves every kh and output row
/// that reads it. Rows and columns outside X (the padding) are zeros in
/// the pad, never loaded. Transfers are at most one tile (SDMA's rows and
/// columns are 5-bit fields).
struct StationarySource {
  int64_t KValid = 0; ///< 0: K
  bool Conv = false;
  int64_t C = 0, H = 0, W = 0, KH = 1, KW = 1, SH = 1, PH = 0, PW = 0, DH = 1, DW = 1, OH = 0, OW = 0;
  /// Whether \p Conv's mapping applies to these sizes on an array of \p
  /// Tile columns (OW a positive multiple of it, K = C KH KW, N = OH OW).
  bool convFits(int64_t N, int64_t K, int64_t Tile) const;
  std::string key() const; ///< for caches
};

/// Output-row packing of a convolution source (\p S.Conv): \p P consecutive
/// output rows as one convolution whose weights are expanded along the
/// window's rows, W'[(p, oc)][c][r][kw] = W[oc][c][r - p SH][kw] (zero
/// elsewhere; a compile-time constant), so P x OC weight rows stream past
/// each stationary tile of input values instead of OC. Its window is
/// (P - 1) SH + (KH - 1) DH + 1 rows tall (dilation 1: the expanded rows are
/// dense), its row stride P SH, its output rows ceil(OH / P); it reads the
/// same input rows. KValid is its K, C KH' KW.
StationarySource packOutputRows(const StationarySource &S, int64_t P);

/// One output-row packing of a convolution: \p P rows per pass, the packed
/// source, and the packed GEMM's streamed rows (P x OC), output pixels and
/// K before padding to whole tiles.
struct RowPacking {
  int64_t P = 1;
  StationarySource Src;
  int64_t M = 0, N = 0, KValid = 0;
};
/// The packings worth pricing for convolution \p S (S.Conv) with \p OC
/// output channels on an array of \p Tile columns: P = 2, 4, 8, 16 while P
/// x OC is at most four tiles of streamed rows (128 on a 32-wide array) and
/// P at most OH, those whose packed convolution still maps (convFits). Each
/// pass then streams P x OC weight rows past the same stationary tile of
/// input values instead of OC, so a pass's fixed costs (the tile's preload,
/// the array's latency) are paid P times less often, for (KH + P - 1) / KH
/// times the K steps; the input rows read are the same. The cycle model
/// (estimateKernel) and atalla-cycles take the cheapest, P = 1 included.
std::vector<RowPacking> rowPackings(const StationarySource &S, int64_t OC, int64_t Tile);

/// Models C[M,N] = A[M,K] B[K,N] under \p S on machine \p Mach. N and K
/// must be positive multiples of the array's size (its rows and columns
/// must be equal), M too except under "ours", which streams M's rows and
/// moves only the rows there are (an 8-row M streams 8 rows, not 32);
/// "tile" needs M = N = K = that size. Errors name the offending dimension
/// or schedule. \p Src applies to "ours" only.
llvm::Expected<GemmCycles> modelGemm(const target::MachineDesc &Mach, int64_t M, int64_t N, int64_t K,
                                     const TileSchedule &S, const StationarySource &Src = {});

/// The cycles a vector operation of \p Fn ("add", "mul", "max", "exp",
/// "div", "sqrt", "shift") takes on one vector of the array's width: one
/// pass of the lanes per VectorLanes elements plus the unit's latency.
llvm::Expected<uint64_t> vectorOpCycles(const target::MachineDesc &Mach, llvm::StringRef Fn);

} // namespace atalla::sim

#endif // ATALLA_SIM_TILEMODEL_H
