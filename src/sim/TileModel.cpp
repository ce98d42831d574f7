//===- sim/TileModel.cpp - Atalla cycle by cycle, at tile level -----------===//
//
// The machine (Sdma, ComputePath) and the schedules that drive it. The
// mechanisms follow atalla-sim's documented rules (src/sim/README.md, "The
// tile model"); this is an independent implementation, written from them.
//
//===----------------------------------------------------------------------===//
#include "sim/TileModel.h"
#include "support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <queue>
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
  return makeError("unknown schedule '" + S + "' (schedules: tile, tiled, blocked:mX_nY with X, Y >= 1, ours, ours:serial)");
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

//===----------------------------------------------------------------------===//
// SDMA: one backend per pad, one shared DRAM burst channel.
//===----------------------------------------------------------------------===//

/// The scratchpads' DMA backends. A transfer is rows x row bytes; each row
/// is split into bursts. A load issues only the current row's bursts, and
/// starts the next row the cycle after the current one has arrived and the
/// pad has taken it (row-serial: a tile load is latency-bound, DramLatency
/// + 1 cycles a row). A store reads its
/// rows from the pad at once and issues their bursts as the channel allows.
/// Per cycle each backend launches at most one burst, all backends together
/// at most one (the shared channel), and a backend keeps at most
/// DramBurstsInFlight outstanding; a burst's data arrives DramLatencyCycles
/// after its launch (counting the launch cycle).
class Sdma {
public:
  Sdma(const MachineDesc &M) : Mach(M), Backends(M.NumPads) {}

  /// Queues a transfer on pad \p Pad's backend; -1 when its queue is full
  /// this cycle (the caller retries next cycle).
  int start(unsigned Pad, bool Store, uint32_t Rows, uint32_t RowBytes) {
    Backend &B = Backends[Pad];
    if (B.Queued.size() >= Mach.DramBurstsInFlight)
      return -1;
    Tx T;
    T.Id = int(Txs.size());
    T.Pad = Pad;
    T.Store = Store;
    T.Rows = Rows;
    T.RowBytes = RowBytes;
    T.Subs = (RowBytes + Mach.DramBurstBytes - 1) / Mach.DramBurstBytes;
    Txs.push_back(T);
    B.Queued.push_back(T.Id);
    return T.Id;
  }
  bool done(int Id) const { return Txs[Id].Done; }
  uint64_t doneAt(int Id) const { return Txs[Id].DoneAt; }
  bool idle() const {
    for (const Backend &B : Backends)
      if (!B.Queued.empty() || !B.Active.empty())
        return false;
    return true;
  }

  void tick(uint64_t Now) {
    for (unsigned P = 0; P < Backends.size(); ++P)
      tickBackend(Backends[P], Now);
  }

  uint64_t BytesLoaded = 0, BytesStored = 0, Bursts = 0;

private:
  struct Tx {
    int Id = 0;
    unsigned Pad = 0;
    bool Store = false;
    uint32_t Rows = 0, RowBytes = 0, Subs = 0;
    uint32_t CurRow = 0, Issued = 0, Returned = 0; ///< loads: the current row's bursts
    uint64_t RowReadyAt = 0;                       ///< loads: when the current row may start
    std::vector<uint32_t> Parked;                  ///< stores: bursts (row * Subs + sub) not yet launched
    size_t ParkedHead = 0;
    uint64_t StoreDone = 0;
    bool Done = false;
    uint64_t DoneAt = 0;
  };
  struct Burst {
    uint64_t Due;
    int Tx;
    uint32_t Seq;
    bool operator>(const Burst &O) const { return Due != O.Due ? Due > O.Due : (Tx != O.Tx ? Tx > O.Tx : Seq > O.Seq); }
  };
  struct Backend {
    std::vector<int> Queued, Active;
    uint32_t Pending = 0;
    int64_t LastIssue = -1;
    std::priority_queue<Burst, std::vector<Burst>, std::greater<Burst>> InFlight;
  };

  bool tryLaunch(Backend &B, Tx &T, uint32_t Seq, uint64_t Now) {
    if (B.Pending >= Mach.DramBurstsInFlight || B.LastIssue == int64_t(Now) || ChannelLast == int64_t(Now))
      return false;
    ++B.Pending;
    B.LastIssue = ChannelLast = int64_t(Now);
    B.InFlight.push({Now + Mach.DramLatencyCycles - 1, T.Id, Seq});
    ++Bursts;
    return true;
  }

  /// A load's next burst of its current row, if the channel takes it.
  bool issueRowBurst(Backend &B, Tx &T, uint64_t Now) {
    if (T.Issued >= T.Subs || Now < T.RowReadyAt)
      return false;
    if (!tryLaunch(B, T, T.CurRow * T.Subs + T.Issued, Now))
      return false;
    ++T.Issued;
    return true;
  }

  void finish(Backend &B, Tx &T, uint64_t Now) {
    T.Done = true;
    T.DoneAt = Now;
    B.Active.erase(std::find(B.Active.begin(), B.Active.end(), T.Id));
  }

  void tickBackend(Backend &B, uint64_t Now) {
    // Start every queued transfer.
    for (int Id : B.Queued) {
      Tx &T = Txs[Id];
      B.Active.push_back(Id);
      if (!T.Store) {
        issueRowBurst(B, T, Now);
        continue;
      }
      // A store reads all its rows from the pad and tries to launch each
      // row's first burst; what cannot launch now waits.
      for (uint32_t R = 0; R < T.Rows; ++R)
        for (uint32_t S = 0; S < T.Subs; ++S)
          if (S != 0 || !tryLaunch(B, T, R * T.Subs + S, Now))
            T.Parked.push_back(R * T.Subs + S);
    }
    B.Queued.clear();
    // Bursts whose data has arrived.
    while (!B.InFlight.empty() && B.InFlight.top().Due <= Now) {
      Burst Bu = B.InFlight.top();
      B.InFlight.pop();
      --B.Pending;
      Tx &T = Txs[Bu.Tx];
      if (T.Store) {
        BytesStored += std::min<uint64_t>(Mach.DramBurstBytes, T.RowBytes - (Bu.Seq % T.Subs) * Mach.DramBurstBytes);
        if (++T.StoreDone == uint64_t(T.Rows) * T.Subs) {
          std::vector<uint32_t>().swap(T.Parked);
          finish(B, T, Now);
        }
        continue;
      }
      BytesLoaded += std::min<uint64_t>(Mach.DramBurstBytes, T.RowBytes - (Bu.Seq % T.Subs) * Mach.DramBurstBytes);
      if (++T.Returned < T.Subs) {
        issueRowBurst(B, T, Now);
        continue;
      }
      // The row is complete: the pad takes it this cycle, and the next row
      // starts from the next one.
      T.Issued = T.Returned = 0;
      T.RowReadyAt = Now + 1;
      if (++T.CurRow == T.Rows)
        finish(B, T, Now);
    }
    // One more load burst, for the oldest transfer that has one waiting.
    for (int Id : B.Active) {
      Tx &T = Txs[Id];
      if (!T.Store && T.CurRow < T.Rows && T.Issued < T.Subs && Now >= T.RowReadyAt) {
        if (issueRowBurst(B, T, Now))
          break;
      }
    }
    // One waiting store burst (a single attempt).
    for (int Id : B.Active) {
      Tx &T = Txs[Id];
      if (T.Store && T.ParkedHead < T.Parked.size()) {
        if (tryLaunch(B, T, T.Parked[T.ParkedHead], Now))
          ++T.ParkedHead;
        break;
      }
    }
  }

  const MachineDesc &Mach;
  std::vector<Backend> Backends;
  std::vector<Tx> Txs;
  int64_t ChannelLast = -1;
};

//===----------------------------------------------------------------------===//
// The compute path: vector loads and stores, the write-back port, the
// array and the vector datapath.
//===----------------------------------------------------------------------===//

/// One weight-stationary pass: a weight tile into the array, then
/// activation tiles streamed past it; each output row is stored into the
/// pad, after adding the partial row already there (Accumulate) or with the
/// partial row fed into the array (PsumIn, where the array has that input).
struct PassSpec {
  unsigned WeightPad = 0;
  struct Act {
    unsigned ActPad = 0, PsumPad = 0;
    uint32_t Rows = 0; ///< rows streamed from this tile; 0: the array's full tile
  };
  std::vector<Act> Acts;
  bool Accumulate = true;
  bool PsumIn = false;
  /// Vector loads in flight are bounded per pad, over weights, activations
  /// and partial sums together, issued in that order each cycle (atalla-sim's
  /// blocked harness); otherwise per kind (its tiled harness). Either way
  /// the bound is the pad frontend's read queue plus one.
  bool PadWindow = false;
};

/// The compute path: vector loads from the pads into the register file (one
/// write-back a cycle), the array, the vector datapath's K accumulation and
/// the stores of output rows into the pads. It holds at most two passes at
/// once: a new pass may start once the previous one's last output row has
/// left the array, while that one's partial rows are still being added and
/// stored (the compiler's pipelined schedule; atalla-sim's harnesses run one
/// pass at a time). The ports, the write-back, the datapath and the load
/// windows are shared, the older pass first.
class ComputePath {
public:
  ComputePath(const MachineDesc &M)
      : Mach(M), Rows(M.ArrayRows), Window(M.SpadQueueDepth + 1),
        AddCycles(cantFail(vectorOpCycles(M, "add"))), VlsLast(M.NumPads, -1), ReadsInflight(M.NumPads, 0) {}

  /// One pass's progress.
  struct Pass {
    uint32_t Id = 0;
    PassSpec Spec;
    std::vector<uint32_t> RowAct; ///< per streamed row, its tile in Spec.Acts
    uint32_t WeightIssued = 0, WeightBack = 0, ActIssued = 0, PsumIssued = 0;
    uint32_t RowsOut = 0, RowsDone = 0, TotalRows = 0;
    std::vector<bool> ActBackRows, PsumBackRows;
    uint32_t NextToArray = 0;
    std::deque<uint32_t> WaitAcc, Adds, Stores;
    /// When its weights were all in the array, its last activation row
    /// entered and its last output row left (phase charging).
    uint64_t WeightsDoneAt = 0, ActsInAt = 0, LastOutAt = 0;
    bool done() const { return RowsDone == TotalRows; }
  };

  /// Starts a pass; the array must be free (arrayFree()).
  void start(const PassSpec &P) {
    assert(Passes.size() < 2 && arrayFree() && "a pass starts only once the array is free");
    Passes.emplace_back();
    Pass &S = Passes.back();
    S.Id = NextId++;
    S.Spec = P;
    for (uint32_t A = 0; A < P.Acts.size(); ++A)
      S.RowAct.insert(S.RowAct.end(), P.Acts[A].Rows ? P.Acts[A].Rows : Rows, A);
    S.TotalRows = uint32_t(S.RowAct.size());
    S.ActBackRows.assign(S.TotalRows, false);
    S.PsumBackRows.assign(S.TotalRows, false);
  }
  bool active() const { return !Passes.empty(); }
  size_t passes() const { return Passes.size(); }
  /// Whether the array may take new weights: every output row of the
  /// newest pass has left it.
  bool arrayFree() const { return Passes.empty() || Passes.back().RowsOut == Passes.back().TotalRows; }
  /// The newest pass (or the last one, once none is left).
  const Pass &newest() const { return Passes.empty() ? Last : Passes.back(); }

  uint64_t VectorAdds = 0;
  /// Rows that became visible in the pad this cycle.
  std::vector<uint32_t> StoredNow;

  void tick(uint64_t Now) {
    StoredNow.clear();
    if (Passes.empty())
      return;
    // Stores land in the pad (no register write-back).
    while (!Landed.empty() && Landed.top().Ready <= Now) {
      Event E = Landed.top();
      Landed.pop();
      writeBack(E, Now);
    }
    // The write-back port: one result a cycle, oldest first.
    if (!Events.empty() && Events.top().Ready <= Now) {
      Event E = Events.top();
      Events.pop();
      writeBack(E, Now);
    }
    // The datapath: one vector add at a time, the older pass's first.
    if (DatapathFree <= Now)
      for (Pass &S : Passes)
        if (!S.Adds.empty()) {
          uint32_t R = S.Adds.front();
          S.Adds.pop_front();
          DatapathFree = Now + AddCycles;
          ++VectorAdds;
          push(Now + AddCycles, Event::Sum, S.Id, R);
          break;
        }
    for (Pass &S : Passes)
      issueLoads(S, Now);
    for (Pass &S : Passes)
      issueStores(S, Now);
    while (!Passes.empty() && Passes.front().done()) {
      Last = std::move(Passes.front());
      Passes.pop_front();
    }
  }

private:
  struct Event {
    uint64_t Ready;
    uint64_t Seq;
    enum Kind { Weight, Act, Psum, Out, Acc, Sum, Stored } K;
    uint32_t PassId;
    uint32_t Row;
    unsigned Pad;
    bool operator>(const Event &O) const { return Ready != O.Ready ? Ready > O.Ready : Seq > O.Seq; }
  };
  void push(uint64_t Ready, Event::Kind K, uint32_t PassId, uint32_t Row, unsigned Pad = 0) {
    Events.push({Ready, SeqNo++, K, PassId, Row, Pad});
  }
  Pass &passOf(uint32_t Id) { return Passes[Id - Passes.front().Id]; }

  /// A vector load or store on pad \p Pad's port: one request a cycle.
  bool portFree(unsigned Pad, uint64_t Now) const { return VlsLast[Pad] != int64_t(Now); }
  void usePort(unsigned Pad, uint64_t Now) { VlsLast[Pad] = int64_t(Now); }

  /// Whether another load of kind \p Kind may go to pad \p Pad.
  bool windowOpen(const Pass &S, unsigned Pad, uint32_t KindInflight) const {
    return S.Spec.PadWindow ? ReadsInflight[Pad] < Window : KindInflight < Window;
  }
  void issueRead(const Pass &S, unsigned Pad, uint32_t &KindInflight, uint64_t Now, Event::Kind K, uint32_t Row) {
    usePort(Pad, Now);
    ++KindInflight;
    ++ReadsInflight[Pad];
    push(Now + Mach.SpadAccessCycles, K, S.Id, Row, Pad);
  }

  void issueLoads(Pass &S, uint64_t Now) {
    while (S.WeightIssued < Rows && windowOpen(S, S.Spec.WeightPad, InflightW) && portFree(S.Spec.WeightPad, Now))
      issueRead(S, S.Spec.WeightPad, InflightW, Now, Event::Weight, S.WeightIssued++);
    if (S.WeightBack < Rows)
      return;
    while (S.ActIssued < S.TotalRows) {
      unsigned Pad = S.Spec.Acts[S.RowAct[S.ActIssued]].ActPad;
      if (!windowOpen(S, Pad, InflightA) || !portFree(Pad, Now))
        break;
      issueRead(S, Pad, InflightA, Now, Event::Act, S.ActIssued++);
    }
    // A partial row is read only once every older pass has stored its rows:
    // it may have been writing the same tile.
    if (S.Id != Passes.front().Id)
      return;
    if (S.Spec.PsumIn)
      while (S.PsumIssued < S.TotalRows && S.PsumIssued < S.ActIssued + Window) {
        unsigned Pad = S.Spec.Acts[S.RowAct[S.PsumIssued]].PsumPad;
        if (!windowOpen(S, Pad, InflightP) || !portFree(Pad, Now))
          break;
        issueRead(S, Pad, InflightP, Now, Event::Psum, S.PsumIssued++);
      }
    while (!S.WaitAcc.empty()) {
      uint32_t R = S.WaitAcc.front();
      unsigned Pad = S.Spec.Acts[S.RowAct[R]].PsumPad;
      if (!windowOpen(S, Pad, InflightAcc) || !portFree(Pad, Now))
        break;
      S.WaitAcc.pop_front();
      issueRead(S, Pad, InflightAcc, Now, Event::Acc, R);
    }
  }

  void issueStores(Pass &S, uint64_t Now) {
    while (!S.Stores.empty() && InflightS < Window) {
      uint32_t R = S.Stores.front();
      unsigned Pad = S.Spec.Acts[S.RowAct[R]].PsumPad;
      if (!portFree(Pad, Now))
        break;
      usePort(Pad, Now);
      S.Stores.pop_front();
      ++InflightS;
      Landed.push({Now + Mach.SpadStoreCycles, SeqNo++, Event::Stored, S.Id, R, Pad});
    }
  }

  /// Activation rows enter the array in order, each with its partial row
  /// when the array takes one; the output row leaves ArrayOutputLatency
  /// cycles later.
  void feedArray(Pass &S, uint64_t Now) {
    while (S.NextToArray < S.TotalRows && S.ActBackRows[S.NextToArray] &&
           (!S.Spec.PsumIn || S.PsumBackRows[S.NextToArray])) {
      push(Now + Mach.ArrayOutputLatency, Event::Out, S.Id, S.NextToArray);
      if (++S.NextToArray == S.TotalRows)
        S.ActsInAt = Now;
    }
  }

  /// The in-flight count of a vector load's kind, or null for other events.
  uint32_t *loadsInflight(Event::Kind K) {
    switch (K) {
    case Event::Weight: return &InflightW;
    case Event::Act: return &InflightA;
    case Event::Psum: return &InflightP;
    case Event::Acc: return &InflightAcc;
    default: return nullptr;
    }
  }

  void writeBack(const Event &E, uint64_t Now) {
    if (uint32_t *Inflight = loadsInflight(E.K)) { // a vector load's data arrived
      --*Inflight;
      --ReadsInflight[E.Pad];
    }
    Pass &S = passOf(E.PassId);
    switch (E.K) {
    case Event::Weight:
      if (++S.WeightBack == Rows)
        S.WeightsDoneAt = Now;
      return;
    case Event::Act:
      S.ActBackRows[E.Row] = true;
      feedArray(S, Now);
      return;
    case Event::Psum:
      S.PsumBackRows[E.Row] = true;
      feedArray(S, Now);
      return;
    case Event::Out:
      S.LastOutAt = Now;
      ++S.RowsOut;
      if (S.Spec.Accumulate && !S.Spec.PsumIn)
        S.WaitAcc.push_back(E.Row);
      else
        S.Stores.push_back(E.Row);
      return;
    case Event::Acc:
      S.Adds.push_back(E.Row);
      return;
    case Event::Sum:
      S.Stores.push_back(E.Row);
      return;
    case Event::Stored:
      --InflightS;
      ++S.RowsDone;
      StoredNow.push_back(E.Row);
      return;
    }
  }

  const MachineDesc &Mach;
  const uint32_t Rows, Window;
  const uint64_t AddCycles;
  std::deque<Pass> Passes; ///< oldest first, ids consecutive
  Pass Last;               ///< the last pass retired
  uint32_t NextId = 0;
  uint32_t InflightW = 0, InflightA = 0, InflightP = 0, InflightAcc = 0, InflightS = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> Events, Landed;
  uint64_t SeqNo = 0, DatapathFree = 0;
  std::vector<int64_t> VlsLast;
  std::vector<uint32_t> ReadsInflight; ///< per pad
};

//===----------------------------------------------------------------------===//
// The machine and the schedules.
//===----------------------------------------------------------------------===//

class Machine {
public:
  Machine(const MachineDesc &M) : Mach(M), Dma(M), Core(M), TileBytes(uint64_t(M.ArrayCols) * M.ElementBytes) {}

  /// Steps, charging each cycle to \p Phase, until \p Done holds.
  template <typename F> void stepUntil(uint64_t GemmPhases::*Phase, F Done) {
    while (!Done()) {
      Core.tick(Now);
      Dma.tick(Now);
      ++Now;
      ++(Phases.*Phase);
    }
  }

  /// Starts a tile load (rows x the array's width) on pad \p Pad, retrying
  /// while the backend's queue is full.
  int loadTile(unsigned Pad, uint64_t GemmPhases::*Phase, uint32_t Rows = 0) {
    return startTransfer(Pad, false, Rows ? Rows : Mach.ArrayRows, Phase);
  }
  /// Starts a load of \p Rows rows of \p RowBytes each (at most a tile).
  int loadRows(unsigned Pad, uint64_t GemmPhases::*Phase, uint32_t Rows, uint32_t RowBytes) {
    return startTransfer(Pad, false, Rows, Phase, RowBytes);
  }
  /// Starts a whole-tile store (one 2-D transfer) from pad \p Pad.
  int storeTile(unsigned Pad, uint64_t GemmPhases::*Phase, uint32_t Rows = 0) {
    return startTransfer(Pad, true, Rows ? Rows : Mach.ArrayRows, Phase);
  }
  /// Steps, charging \p Phase, until every transfer in \p Ids is done.
  void waitAll(const std::vector<int> &Ids, uint64_t GemmPhases::*Phase) {
    stepUntil(Phase, [&] {
      for (int Id : Ids)
        if (!Dma.done(Id))
          return false;
      return true;
    });
  }

  /// Stores a tile from pad \p Pad to DRAM the way atalla-sim's harnesses
  /// drain an output tile: one single-row transfer per row, all queued at
  /// once (as many as the backend's queue takes each cycle), and waits.
  void drainTile(unsigned Pad) {
    std::vector<int> Ids;
    uint32_t Next = 0;
    auto AllDone = [&] {
      if (Next < Mach.ArrayRows)
        return false;
      for (int Id : Ids)
        if (!Dma.done(Id))
          return false;
      return true;
    };
    while (!AllDone()) {
      while (Next < Mach.ArrayRows) {
        int Id = Dma.start(Pad, true, 1, uint32_t(TileBytes));
        if (Id < 0)
          break;
        Ids.push_back(Id);
        ++Next;
      }
      Core.tick(Now);
      Dma.tick(Now);
      ++Now;
      ++Phases.Drain;
    }
  }

  /// Runs a compute pass to its end, charging its cycles to the phases.
  void runPass(const PassSpec &P) {
    assert(!Core.active() && "runPass after pipelined passes: finishPasses first");
    Core.start(P);
    const uint64_t Start = Now;
    while (Core.active()) {
      Core.tick(Now);
      Dma.tick(Now);
      ++Now;
    }
    chargePass(Start);
  }

  /// The compiler's pipelined passes: starts \p P once the array is free
  /// and at most one earlier pass is still adding and storing its partial
  /// rows (that wait charged to Store), and runs it until its last output
  /// row has left the array (charged to Preload, Stream and Compute). Its K
  /// accumulation and stores go on beside what follows (the next pass's
  /// weights and activation rows, DMA waits) until finishPasses.
  void runPassPipelined(const PassSpec &P) {
    stepUntil(&GemmPhases::Store, [&] { return Core.passes() <= 1 && Core.arrayFree(); });
    Core.start(P);
    const uint64_t Start = Now;
    while (!Core.arrayFree()) {
      Core.tick(Now);
      Dma.tick(Now);
      ++Now;
    }
    chargePass(Start);
  }
  /// Steps until every pipelined pass has stored its rows (charged to Store).
  void finishPasses() {
    stepUntil(&GemmPhases::Store, [&] { return !Core.active(); });
  }

  /// Runs a pass whose output rows go to DRAM one by one as each lands in
  /// pad \p Pad (single-row stores, as atalla-sim's one-tile experiment does),
  /// then waits for the last of them (charged to Drain).
  void runPassStreamingOut(const PassSpec &P, unsigned Pad) {
    Core.start(P);
    const uint64_t Start = Now;
    std::vector<int> Ids;
    std::deque<uint32_t> Waiting;
    auto Issue = [&] {
      while (!Waiting.empty()) {
        int Id = Dma.start(Pad, true, 1, uint32_t(TileBytes));
        if (Id < 0)
          break;
        Ids.push_back(Id);
        Waiting.pop_front();
      }
    };
    while (Core.active()) {
      Core.tick(Now);
      Waiting.insert(Waiting.end(), Core.StoredNow.begin(), Core.StoredNow.end());
      Issue();
      Dma.tick(Now);
      ++Now;
    }
    chargePass(Start);
    stepUntil(&GemmPhases::Drain, [&] {
      Issue();
      if (!Waiting.empty())
        return false;
      for (int Id : Ids)
        if (!Dma.done(Id))
          return false;
      return true;
    });
  }

  /// Charges the pass that began at \p Start: weights in (preload), the
  /// activation rows in (stream), the array's latency (compute), the rest
  /// (store: the K accumulation and the rows into the pad).
  void chargePass(uint64_t Start) {
    const ComputePath::Pass &Ps = Core.newest();
    const uint64_t W = Ps.WeightsDoneAt - Start;
    const uint64_t S = Ps.ActsInAt - (Start + W);
    const uint64_t C = Ps.LastOutAt - Ps.ActsInAt;
    Phases.Preload += W;
    Phases.Stream += S;
    Phases.Compute += C;
    Phases.Store += Now - Start - W - S - C;
  }

  const MachineDesc &Mach;
  Sdma Dma;
  ComputePath Core;
  uint64_t Now = 0;
  GemmPhases Phases;
  const uint64_t TileBytes; ///< one row of a tile

private:
  int startTransfer(unsigned Pad, bool Store, uint32_t Rows, uint64_t GemmPhases::*Phase, uint32_t RowBytes = 0) {
    for (;;) {
      int Id = Dma.start(Pad, Store, Rows, RowBytes ? RowBytes : uint32_t(TileBytes));
      if (Id >= 0)
        return Id;
      Core.tick(Now);
      Dma.tick(Now);
      ++Now;
      ++(Phases.*Phase);
    }
  }
};

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
