//===- lower/PlanMemory.cpp - DRAM addresses for every tensor -------------===//
//
// Constants get their own region at the bottom of DRAM (loaded once per run
// from the blob). Activations (inputs, outputs, intermediates) share an
// arena above it: each owning tensor is live from the instruction that
// defines it to its last use (views extend their base's life; inputs are
// live from the start, outputs to the end), and tensors are placed greedily,
// largest first, at the lowest 64-byte-aligned offset that overlaps no
// simultaneously live tensor (the greedy-by-size strategy of TFLite's
// planner). The lower bound reported beside the arena size is the peak of
// simultaneously live bytes.
//
//===----------------------------------------------------------------------===//
#include "lower/Passes.h"

#include "frontend/Error.h"

#include <algorithm>

using namespace atalla;
using namespace atalla::lower;

namespace {
uint64_t alignUp(uint64_t V, uint64_t A) { return (V + A - 1) / A * A; }
} // namespace

llvm::Error atalla::lower::planMemory(LoweringState &S, const MemoryOptions &Opts) {
  Program &P = S.P;
  const uint64_t A = Opts.Alignment;
  int64_t End = static_cast<int64_t>(P.Instrs.size());
  size_t NT = P.Tensors.size();
  std::vector<int64_t> First(NT, End), Last(NT, -1);
  auto owner = [&](int T) { return P.Tensors[T].isView() ? P.Tensors[T].Base : T; };
  for (int64_t I = 0; I < End; ++I) {
    const PInstr &In = P.Instrs[I];
    for (size_t K = 0; K < In.Operands.size(); ++K) {
      int O = owner(In.Operands[K]);
      bool IsOut = K + In.NumOutputs >= In.Operands.size();
      if (IsOut)
        First[O] = std::min(First[O], I);
      Last[O] = std::max(Last[O], I);
    }
  }
  // Constants: their own region, in tensor order.
  uint64_t Addr = 0;
  for (size_t T = 0; T < NT; ++T) {
    PTensor &X = P.Tensors[T];
    if (X.isView() || X.Kind != abi::TensorKind::Constant)
      continue;
    auto N = frontend::checkedNumel(X.Sizes, P.storageElementSize(X.Dtype));
    if (!N)
      return N.takeError();
    X.Bytes = static_cast<uint64_t>(*N) * P.storageElementSize(X.Dtype);
    X.DramAddr = Addr;
    Addr = alignUp(Addr + X.Bytes, A);
  }
  P.ConstantBytes = Addr;
  const uint64_t ArenaBase = Addr;
  // Activations.
  struct Item {
    int T;
    int64_t First, Last;
    uint64_t Bytes;
  };
  std::vector<Item> Items;
  for (size_t T = 0; T < NT; ++T) {
    PTensor &X = P.Tensors[T];
    if (X.isView() || X.Kind == abi::TensorKind::Constant)
      continue;
    auto N = frontend::checkedNumel(X.Sizes, P.storageElementSize(X.Dtype));
    if (!N)
      return N.takeError();
    X.Bytes = static_cast<uint64_t>(*N) * P.storageElementSize(X.Dtype);
    int64_t F = First[T], L = Last[T];
    if (X.Kind == abi::TensorKind::Input)
      F = -1;
    if (X.Kind == abi::TensorKind::Output)
      L = End;
    if (L < F)
      L = F; // defined but never used
    Items.push_back({static_cast<int>(T), F, L, std::max<uint64_t>(X.Bytes, 1)});
  }
  P.Lifetimes.clear();
  for (const Item &It : Items)
    P.Lifetimes.push_back({It.T, It.First, It.Last});
  std::vector<Item> Order = Items;
  std::stable_sort(Order.begin(), Order.end(), [](const Item &X, const Item &Y) { return X.Bytes > Y.Bytes; });
  struct Placed {
    uint64_t Off, Bytes;
    int64_t First, Last;
  };
  std::vector<Placed> Done;
  uint64_t ArenaEnd = 0;
  for (const Item &It : Order) {
    // Intervals of live, placed tensors, sorted by offset.
    std::vector<std::pair<uint64_t, uint64_t>> Busy;
    for (const Placed &D : Done)
      if (!(D.Last < It.First || It.Last < D.First))
        Busy.push_back({D.Off, D.Off + D.Bytes});
    std::sort(Busy.begin(), Busy.end());
    uint64_t Off = 0;
    for (const auto &[B, E] : Busy) {
      if (Off + It.Bytes <= B)
        break;
      Off = std::max(Off, alignUp(E, A));
    }
    Done.push_back({Off, It.Bytes, It.First, It.Last});
    P.Tensors[It.T].DramAddr = ArenaBase + Off;
    ArenaEnd = std::max(ArenaEnd, Off + It.Bytes);
  }
  P.ArenaBytes = alignUp(ArenaEnd, A);
  // Lower bound: peak of live bytes over time.
  uint64_t Peak = 0;
  for (int64_t I = -1; I <= End; ++I) {
    uint64_t Live = 0;
    for (const Item &It : Items)
      if (It.First <= I && I <= It.Last)
        Live += P.Tensors[It.T].Bytes;
    Peak = std::max(Peak, Live);
  }
  P.LowerBoundBytes = Peak;
  P.DramBytes = std::max<uint64_t>(ArenaBase + P.ArenaBytes, A);
  // Views: their address is their base's plus the offset.
  for (PTensor &X : P.Tensors)
    if (X.isView())
      X.DramAddr = P.Tensors[X.Base].DramAddr + X.Offset * P.storageElementSize(X.Dtype);
  return llvm::Error::success();
}
