//===- sim/TileMachine.h - the tile model's machine, cycle by cycle -*- C++ -*-===//
//
// The machine the tile model (TileModel.h) runs its schedules on: the SDMA
// backends (one per pad, one shared DRAM burst channel), the compute path
// (vector loads into the register file, the array, the vector datapath's K
// accumulation, stores into the pads) and the Machine that steps both a
// cycle at a time and charges each cycle to a phase. Internal to
// TileModel.cpp, which holds the schedules; its own header so that the
// machine and the schedules are each a file of their own. The mechanisms
// follow atalla-sim's documented rules (src/sim/README.md, "The tile
// model").
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SIM_TILEMACHINE_H
#define ATALLA_SIM_TILEMACHINE_H

#include "sim/TileModel.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <queue>
#include <vector>

namespace atalla::sim::tilemachine {

using target::MachineDesc;

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
        AddCycles(llvm::cantFail(vectorOpCycles(M, "add"))), VlsLast(M.NumPads, -1), ReadsInflight(M.NumPads, 0) {}

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
// The machine: both stepped a cycle at a time, each cycle charged to a phase.
//===----------------------------------------------------------------------===//

class Machine {
public:
  Machine(const MachineDesc &M) : Mach(M), Dma(M), Core(M), TileBytes(uint64_t(M.ArrayCols) * M.ElementBytes) {}

  /// One cycle of both: the compute path, then the DMA backends.
  void step() {
    Core.tick(Now);
    Dma.tick(Now);
    ++Now;
  }

  /// Steps, charging each cycle to \p Phase, until \p Done holds.
  template <typename F> void stepUntil(uint64_t GemmPhases::*Phase, F Done) {
    while (!Done()) {
      step();
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
      step();
      ++Phases.Drain;
    }
  }

  /// Runs a compute pass to its end, charging its cycles to the phases.
  void runPass(const PassSpec &P) {
    assert(!Core.active() && "runPass after pipelined passes: finishPasses first");
    Core.start(P);
    const uint64_t Start = Now;
    while (Core.active())
      step();
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
    while (!Core.arrayFree())
      step();
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
      step();
      ++(Phases.*Phase);
    }
  }
};

} // namespace atalla::sim::tilemachine

#endif // ATALLA_SIM_TILEMACHINE_H
