//===- sim/TileModel.cpp - Atalla cycle by cycle, at tile level -----------===//
//
// The schedules that drive the machine (TileMachine.h: Sdma, ComputePath,
// Machine) and the model's entry points. The mechanisms follow atalla-sim's
// documented rules (src/sim/README.md, "The tile model"); this is an
// independent implementation, written from them.
//
//===----------------------------------------------------------------------===//
#include "sim/TileModel.h"
#include "sim/TileMachine.h"
#include "support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <vector>

using namespace atalla;
using namespace atalla::sim;
using llvm::Expected;
using llvm::StringRef;
using target::MachineDesc;

std::string TileSchedule::name() const {
  switch (K) {
  case Tile:
    return "tile";
  case Tiled:
    return "tiled";
  case Blocked:
    return llvm::formatv("blocked:m{0}_n{1}", WeightTiles, ActivationTiles).str();
  case Ours:
    return Serial ? "ours:serial" : "ours";
  }
  return "?";
}

Expected<TileSchedule> atalla::sim::parseTileSchedule(StringRef S) {
  TileSchedule T;
  if (S == "tile") {
    T.K = TileSchedule::Tile;
    return T;
  }
  if (S == "tiled") {
    T.K = TileSchedule::Tiled;
    return T;
  }
  if (S == "ours" || S == "ours:serial") {
    T.K = TileSchedule::Ours;
    T.Serial = S == "ours:serial";
    return T;
  }
  StringRef Rest = S;
  if (Rest.consume_front("blocked:") || Rest.consume_front("blocked_")) {
    unsigned X = 0, Y = 0;
    auto [MPart, NPart] = Rest.split('_');
    if (MPart.consume_front("m") && NPart.consume_front("n") && !MPart.getAsInteger(10, X) &&
        !NPart.getAsInteger(10, Y) && X > 0 && Y > 0 && X <= 4096 && Y <= 4096) {
      T.K = TileSchedule::Blocked;
      T.WeightTiles = X;
      T.ActivationTiles = Y;
      return T;
    }
  }
  return makeError("unknown schedule '" + S +
                   "' (schedules: tile, tiled, blocked:mX_nY with X, Y >= 1, ours, ours:serial)");
}

Expected<uint64_t> atalla::sim::vectorOpCycles(const MachineDesc &Mach, StringRef Fn) {
  uint32_t Lat = 0;
  if (Fn == "add" || Fn == "mul" || Fn == "max" || Fn == "sub")
    Lat = Mach.VectorAluLatency;
  else if (Fn == "exp")
    Lat = Mach.VectorExpLatency;
  else if (Fn == "div")
    Lat = Mach.VectorDivLatency;
  else if (Fn == "sqrt")
    Lat = Mach.VectorSqrtLatency;
  else if (Fn == "shift")
    Lat = Mach.VectorShiftLatency;
  else
    return makeError("no vector function '" + Fn + "' (add, sub, mul, max, exp, div, sqrt, shift)");
  const uint64_t Passes = (Mach.ArrayCols + Mach.VectorLanes - 1) / Mach.VectorLanes;
  return Passes + Lat - 1;
}

namespace {

using namespace tilemachine;

/// Pads of an atalla-sim harness: with two pads, weights live in pad 0 and
/// activations and partial sums in pad 1 (the blocked harness); with one,
/// everything in pad 0.
unsigned padFor(const MachineDesc &M, bool Weight) { return M.NumPads > 1 && !Weight ? 1 : 0; }

GemmCycles finish(Machine &Mc) {
  GemmCycles G;
  G.Cycles = Mc.Now;
  G.Phases = Mc.Phases;
  G.DramBytesLoaded = Mc.Dma.BytesLoaded;
  G.DramBytesStored = Mc.Dma.BytesStored;
  G.DramBursts = Mc.Dma.Bursts;
  G.VectorAdds = Mc.Core.VectorAdds;
  return G;
}

/// One tile: both operand tiles loaded (each on its pad's backend), the
/// weights into the array, the activation rows streamed, each output row
/// stored into the pad and from there to DRAM.
GemmCycles runTile(const MachineDesc &M) {
  Machine Mc(M);
  const unsigned WPad = padFor(M, true), APad = padFor(M, false);
  int A = Mc.loadTile(APad, &GemmPhases::Preload);
  int W = Mc.loadTile(WPad, &GemmPhases::Preload);
  Mc.stepUntil(&GemmPhases::Preload, [&] { return Mc.Dma.done(A) && Mc.Dma.done(W); });
  PassSpec P;
  P.WeightPad = WPad;
  P.Acts.push_back({APad, APad});
  P.Accumulate = false;
  Mc.runPassStreamingOut(P, APad);
  GemmCycles G = finish(Mc);
  G.TileProducts = 1;
  return G;
}

/// atalla-sim's tiled schedule: per output tile, per K step, the A and B
/// tiles are loaded into one of two prefetch slots (each slot's tiles on
/// its own pad's backend) while the previous step computes; each step is
/// one pass whose output rows are added into the accumulator tile in the
/// pad; the accumulator is drained to DRAM after the last K step.
GemmCycles runTiled(const MachineDesc &M, int64_t TI, int64_t TJ, int64_t TK) {
  Machine Mc(M);
  const unsigned Slots = 2;
  uint64_t Products = 0;
  for (int64_t I = 0; I < TI; ++I)
    for (int64_t J = 0; J < TJ; ++J) {
      struct Job {
        int A = -1, W = -1;
        unsigned Slot = 0;
      };
      std::deque<Job> InFlight;
      int64_t NextK = 0, DoneK = 0;
      std::vector<bool> SlotBusy(Slots, false);
      while (DoneK < TK) {
        for (unsigned S = 0; S < Slots && NextK < TK; ++S)
          if (!SlotBusy[S]) {
            unsigned Pad = S % M.NumPads;
            Job Jb;
            Jb.Slot = S;
            Jb.A = Mc.loadTile(Pad, &GemmPhases::Preload);
            Jb.W = Mc.loadTile(Pad, &GemmPhases::Preload);
            SlotBusy[S] = true;
            InFlight.push_back(Jb);
            ++NextK;
          }
        Job Jb = InFlight.front();
        InFlight.pop_front();
        Mc.stepUntil(&GemmPhases::Preload, [&] { return Mc.Dma.done(Jb.A) && Mc.Dma.done(Jb.W); });
        PassSpec P;
        P.WeightPad = Jb.Slot % M.NumPads;
        P.Acts.push_back({Jb.Slot % M.NumPads, 0});
        P.Accumulate = true;
        Mc.runPass(P);
        SlotBusy[Jb.Slot] = false;
        ++DoneK;
        ++Products;
      }
      Mc.drainTile(0);
    }
  GemmCycles G = finish(Mc);
  G.TileProducts = Products;
  return G;
}

/// atalla-sim's blocked schedule: blocks of Y activation tiles (rows of C)
/// by X weight tiles (columns); per block and K step, all X + Y operand
/// tiles are loaded (weights on pad 0, activations on pad 1) and waited
/// for, then X weight-stationary passes each stream the Y activation tiles;
/// the block's X * Y accumulator tiles are drained to DRAM at the end.
GemmCycles runBlocked(const MachineDesc &M, int64_t TI, int64_t TJ, int64_t TK, uint32_t X, uint32_t Y) {
  Machine Mc(M);
  uint64_t Products = 0;
  const unsigned WPad = padFor(M, true), APad = padFor(M, false);
  for (int64_t I0 = 0; I0 < TI; I0 += Y)
    for (int64_t J0 = 0; J0 < TJ; J0 += X) {
      const int64_t Ny = std::min<int64_t>(Y, TI - I0), Nx = std::min<int64_t>(X, TJ - J0);
      for (int64_t K = 0; K < TK; ++K) {
        std::vector<int> Ids;
        for (int64_t A = 0; A < Ny; ++A)
          Ids.push_back(Mc.loadTile(APad, &GemmPhases::Preload));
        for (int64_t W = 0; W < Nx; ++W)
          Ids.push_back(Mc.loadTile(WPad, &GemmPhases::Preload));
        Mc.waitAll(Ids, &GemmPhases::Preload);
        for (int64_t W = 0; W < Nx; ++W) {
          PassSpec P;
          P.WeightPad = WPad;
          for (int64_t A = 0; A < Ny; ++A)
            P.Acts.push_back({APad, APad});
          P.PadWindow = true;
          Mc.runPass(P);
          Products += uint64_t(Ny);
        }
      }
      for (int64_t T = 0; T < Nx * Ny; ++T)
        Mc.drainTile(APad);
    }
  GemmCycles G = finish(Mc);
  G.TileProducts = Products;
  return G;
}

/// The input rows a convolution's block of output pixels [P0, P1) reads
/// for K indices [K0, K1) (StationarySource::Conv): per (c, kw) those
/// indices hold, the number of distinct input rows inside X and the
/// columns of each inside X, in the order the indices first name them.
std::vector<std::pair<int64_t, int64_t>> convRegion(const StationarySource &S, int64_t P0, int64_t P1, int64_t K0,
                                                    int64_t K1) {
  std::vector<std::pair<int64_t, int64_t>> Out;
  if (P1 <= P0 || K1 <= K0)
    return Out;
  const int64_t Oh0 = P0 / S.OW, Oh1 = (P1 - 1) / S.OW;
  const int64_t Ow0 = Oh0 == Oh1 ? P0 % S.OW : 0, Ow1 = Oh0 == Oh1 ? (P1 - 1) % S.OW : S.OW - 1;
  const int64_t KHW = S.KH * S.KW;
  std::vector<int64_t> Seen; // c * KW + kw, in first-seen order
  for (int64_t Kx = K0; Kx < K1; ++Kx) {
    const int64_t Key = (Kx / KHW) * S.KW + Kx % S.KW;
    if (std::find(Seen.begin(), Seen.end(), Key) != Seen.end())
      continue;
    Seen.push_back(Key);
    const int64_t C = Key / S.KW, Kw = Key % S.KW;
    std::vector<bool> Row(size_t(S.H), false);
    for (int64_t Kh = 0; Kh < S.KH; ++Kh) {
      const int64_t Idx = (C * S.KH + Kh) * S.KW + Kw;
      if (Idx < K0 || Idx >= K1)
        continue;
      for (int64_t Oh = Oh0; Oh <= Oh1; ++Oh) {
        const int64_t H = Oh * S.SH + Kh * S.DH - S.PH;
        if (H >= 0 && H < S.H)
          Row[size_t(H)] = true;
      }
    }
    const int64_t Rows = std::count(Row.begin(), Row.end(), true);
    const int64_t Lo = std::max<int64_t>(0, Ow0 + Kw * S.DW - S.PW), Hi = std::min(S.W - 1, Ow1 + Kw * S.DW - S.PW);
    if (Rows > 0 && Hi >= Lo)
      Out.push_back({Rows, Hi - Lo + 1});
  }
  return Out;
}

/// The compiler's schedule on this machine. Weight-stationary: a block of
/// NB weight-tile columns of C stays in the pads as partial sums while K is
/// walked; per K step the activation panel (all of M, one tile of K) and
/// the block's NB weight tiles are prefetched into the other half of a
/// double buffer while this step computes; each weight tile streams the
/// whole panel. Where the array takes partial sums (the TPU-style array)
/// the partial rows go into the array beside the activation rows and the
/// vector core does no adds; otherwise the vector core adds them (and its
/// adds, not the DMA, bound the schedule). NB is the largest number of
/// columns whose partial sums, with the two panels and weight buffers, fit
/// the pads. The streamed side (M) need not be whole tiles: its last tile
/// has \p LastRows rows, loaded, streamed and stored as just those rows.
/// The weights come in as \p Src says (StationarySource). The passes are
/// software-pipelined unless \p Serial: a pass's weights load as soon as
/// the previous pass's last output row has left the array, while the vector
/// core is still adding that pass's partial rows (Machine::runPassPipelined).
GemmCycles runOurs(const MachineDesc &M, int64_t TI, int64_t TJ, int64_t TK, uint32_t LastRows,
                   const StationarySource &Src, bool Serial) {
  Machine Mc(M);
  const uint64_t Tile = uint64_t(M.ArrayRows) * M.ArrayCols * M.ElementBytes;
  const uint64_t Capacity = uint64_t(M.NumPads) * M.PadBytes / Tile; // in tiles
  const bool PsumIn = M.ArrayKind == "tpu";
  // The block: MB activation tiles by NB weight tiles, holding two panels
  // of MB tiles, two sets of NB weight tiles and MB * NB partial-sum tiles;
  // of the blocks that fit, the one that moves the fewest DRAM bytes (A is
  // read once per column block, B once per row block), ties to wider N.
  int64_t MB = 1, NB = 1;
  double Best = -1;
  for (int64_t C = TJ; C >= 1; --C) {
    const int64_t Fit = (int64_t(Capacity) - 2 * C) / (2 + C);
    if (Fit < 1)
      continue;
    const int64_t R = std::min<int64_t>(TI, Fit);
    const double Traffic = double(TI) * TK * double((TJ + C - 1) / C) + double(TJ) * TK * double((TI + R - 1) / R);
    if (Best < 0 || Traffic < Best) {
      Best = Traffic;
      MB = R;
      NB = C;
    }
  }
  const unsigned WPad = padFor(M, true), APad = padFor(M, false);
  const int64_t KValid = Src.KValid ? Src.KValid : TK * M.ArrayRows;
  uint64_t Products = 0;
  std::vector<int> Stores;
  for (int64_t I0 = 0; I0 < TI; I0 += MB)
    for (int64_t J0 = 0; J0 < TJ; J0 += NB) {
      const int64_t Ny = std::min<int64_t>(MB, TI - I0), Nx = std::min<int64_t>(NB, TJ - J0);
      // The panel's tiles alternate between the pads' backends so both
      // carry DRAM traffic; the weights go to the weight pad.
      auto RowsOf = [&](int64_t A) { return I0 + A == TI - 1 ? LastRows : M.ArrayRows; };
      // K step K's valid extent: the last one may be partly padding.
      auto KRows = [&](int64_t K) { return uint32_t(std::min<int64_t>(M.ArrayRows, KValid - K * M.ArrayRows)); };
      auto Prefetch = [&](std::vector<int> &Ids, int64_t K) {
        for (int64_t A = 0; A < Ny; ++A)
          Ids.push_back(Mc.loadRows(unsigned(A) % M.NumPads, &GemmPhases::Preload, RowsOf(A),
                                    KRows(K) * M.ElementBytes));
        if (!Src.Conv) {
          for (int64_t W = 0; W < Nx; ++W)
            Ids.push_back(Mc.loadTile(WPad, &GemmPhases::Preload, KRows(K)));
          return;
        }
        const int64_t T = M.ArrayRows;
        for (auto [Rows, Cols] : convRegion(Src, J0 * T, std::min((J0 + Nx) * T, Src.OH * Src.OW), K * T,
                                            K * T + KRows(K)))
          for (int64_t R = 0; R < Rows; R += T)
            for (int64_t Cl = 0; Cl < Cols; Cl += T)
              Ids.push_back(Mc.loadRows(WPad, &GemmPhases::Preload, uint32_t(std::min(T, Rows - R)),
                                        uint32_t(std::min(T, Cols - Cl) * M.ElementBytes)));
      };
      std::vector<int> Cur;
      Prefetch(Cur, 0);
      for (int64_t K = 0; K < TK; ++K) {
        Mc.waitAll(Cur, &GemmPhases::Preload);
        std::vector<int> Next;
        if (K + 1 < TK)
          Prefetch(Next, K + 1);
        for (int64_t W = 0; W < Nx; ++W) {
          PassSpec P;
          P.WeightPad = WPad;
          for (int64_t A = 0; A < Ny; ++A)
            P.Acts.push_back({unsigned(A) % M.NumPads, APad, RowsOf(A)});
          P.PsumIn = PsumIn && K > 0;
          P.Accumulate = K > 0;
          if (Serial)
            Mc.runPass(P);
          else
            Mc.runPassPipelined(P);
          Products += uint64_t(Ny);
        }
        Cur = std::move(Next);
      }
      // The block's partial sums, now final, go to DRAM as whole tiles
      // while the next block starts.
      Mc.finishPasses();
      for (int64_t A = 0; A < Ny; ++A)
        for (int64_t W = 0; W < Nx; ++W)
          Stores.push_back(Mc.storeTile(APad, &GemmPhases::Drain, RowsOf(A)));
    }
  Mc.waitAll(Stores, &GemmPhases::Drain);
  GemmCycles G = finish(Mc);
  G.TileProducts = Products;
  return G;
}

} // namespace

StationarySource atalla::sim::packOutputRows(const StationarySource &S, int64_t P) {
  StationarySource R = S;
  R.KH = (P - 1) * S.SH + (S.KH - 1) * S.DH + 1;
  R.DH = 1;
  R.SH = P * S.SH;
  R.OH = (S.OH + P - 1) / P;
  R.KValid = S.C * R.KH * S.KW;
  return R;
}

std::vector<RowPacking> atalla::sim::rowPackings(const StationarySource &S, int64_t OC, int64_t Tile) {
  std::vector<RowPacking> Out;
  if (!S.Conv)
    return Out;
  for (int64_t P = 2; P <= 16 && P * OC <= 4 * Tile && P <= S.OH; P *= 2) {
    RowPacking R;
    R.P = P;
    R.Src = packOutputRows(S, P);
    R.M = P * OC;
    R.N = R.Src.OH * S.OW;
    R.KValid = R.Src.KValid;
    if (R.Src.convFits(R.N, R.KValid, Tile))
      Out.push_back(R);
  }
  return Out;
}

bool StationarySource::convFits(int64_t N, int64_t K, int64_t Tile) const {
  return C > 0 && H > 0 && W > 0 && KH > 0 && KW > 0 && SH > 0 && DH > 0 && DW > 0 && PH >= 0 && PW >= 0 &&
         OH > 0 && OW > 0 && Tile > 0 && OW % Tile == 0 && OH * OW == N && C * KH * KW == K;
}

std::string StationarySource::key() const {
  if (!Conv)
    return llvm::formatv("k{0}", KValid).str();
  return llvm::formatv("k{0} conv {1} {2} {3} {4} {5} {6} {7} {8} {9} {10} {11} {12}", KValid, C, H, W, KH, KW, SH,
                       PH, PW, DH, DW, OH, OW)
      .str();
}

Expected<GemmCycles> atalla::sim::modelGemm(const MachineDesc &Mach, int64_t M, int64_t N, int64_t K,
                                            const TileSchedule &S, const StationarySource &Src) {
  if (Mach.ArrayRows != Mach.ArrayCols)
    return makeError(llvm::formatv("the tile model needs a square array (this machine's is {0}x{1})", Mach.ArrayRows,
                                   Mach.ArrayCols)
                         .str());
  const int64_t T = Mach.ArrayRows;
  // "ours" streams M's rows, so any positive M (its last tile partly full).
  const bool AnyM = S.K == TileSchedule::Ours && M > 0;
  for (auto [Name, V] : {std::pair<const char *, int64_t>{"M", M}, {"N", N}, {"K", K}})
    if ((V <= 0 || V % T != 0) && !(AnyM && Name[0] == 'M'))
      return makeError(llvm::formatv("{0} = {1}: the tile model takes positive multiples of the array's size {2}",
                                     Name, V, T)
                           .str());
  const int64_t TI = (M + T - 1) / T, TJ = N / T, TK = K / T;
  switch (S.K) {
  case TileSchedule::Tile:
    if (TI != 1 || TJ != 1 || TK != 1)
      return makeError(llvm::formatv("schedule 'tile' is one {0}x{0}x{0} tile; use tiled or blocked for {1}x{2}x{3}",
                                     T, M, N, K)
                           .str());
    return runTile(Mach);
  case TileSchedule::Tiled:
    return runTiled(Mach, TI, TJ, TK);
  case TileSchedule::Blocked:
    return runBlocked(Mach, TI, TJ, TK, S.WeightTiles, S.ActivationTiles);
  case TileSchedule::Ours:
    if (Src.KValid && (Src.KValid > K || Src.KValid <= K - T))
      return makeError(
          llvm::formatv("K's valid extent {0} is not within the last of K = {1}'s tiles", Src.KValid, K).str());
    if (Src.Conv && !Src.convFits(N, Src.KValid ? Src.KValid : K, T))
      return makeError(llvm::formatv("the convolution (C = {0}, {1}x{2} window, {3}x{4} output) is not a "
                                     "{5} x {6} GEMM with output rows of whole {7}-column tiles",
                                     Src.C, Src.KH, Src.KW, Src.OH, Src.OW, Src.KValid ? Src.KValid : K, N, T)
                           .str());
    return runOurs(Mach, TI, TJ, TK, uint32_t(M - (TI - 1) * T), Src, S.Serial);
  }
  return makeError("unknown schedule");
}
