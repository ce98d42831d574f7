//===- runtime/Profile.cpp - counters, cycle model and traces of a run ---===//
//
// Kernel FLOPs come from each kernel record's key (KernelSpec::parse, then
// abi::kernelWork); bytes and calls from the device's counters as the
// executor measured them around each call.
//
//===----------------------------------------------------------------------===//
#include "runtime/Profile.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <algorithm>

using namespace atalla;
using namespace atalla::runtime;
using llvm::format;

namespace {

std::string shapeText(const std::vector<int64_t> &S) {
  std::string T = "[";
  for (size_t I = 0; I < S.size(); ++I)
    T += (I ? "," : "") + std::to_string(S[I]);
  return T + "]";
}

std::string padText(const std::vector<uint64_t> &Peak) {
  std::string T;
  for (size_t I = 0; I < Peak.size(); ++I)
    T += (I ? "/" : "") + std::to_string((Peak[I] + 1023) / 1024);
  return T;
}

/// Microseconds of the modelled clock.
double cyclesToUs(const sim::MachineDesc &M, double Cycles) { return Cycles / M.ClockMHz; }

} // namespace

Profile::Profile(const Blob &B, sim::MachineDesc Machine) : B(B), M(std::move(Machine)) {
  for (uint32_t I = 0; I < B.kernels().size(); ++I) {
    abi::KernelSpec S;
    KernelWork.push_back(abi::KernelSpec::parse(B.string(B.kernels()[I].KeyOffset).str(), S) ? abi::kernelWork(S)
                                                                                               : abi::KernelWork());
  }
}

void Profile::add(const TraceEvent &Ev) {
  if (Ev.Index == 0)
    Rows.clear();
  InstructionProfile P;
  P.Event = Ev;
  P.Label = Ev.Op;
  for (const std::vector<int64_t> &S : Ev.InputShapes)
    P.Label += " " + shapeText(S);
  if (!Rows.empty()) {
    P.StartCycle = Rows.back().StartCycle + Rows.back().Cycles;
    P.HostStartMs = Rows.back().HostStartMs + Rows.back().Event.Ms;
  }
  if (Ev.IsFallback) {
    P.Cycles = sim::estimateFallbackCycles(M, Ev.FallbackBytes);
  } else {
    if (Ev.Kernel < KernelWork.size())
      P.Work = KernelWork[Ev.Kernel];
    P.Cost = sim::estimateKernel(M, P.Work, Ev.Work);
    P.Cycles = P.Cost.Cycles;
  }
  Rows.push_back(std::move(P));
}

ProfileTotals Profile::totals() const {
  ProfileTotals T;
  T.ScpadPeak.assign(M.NumPads, 0);
  for (const InstructionProfile &P : Rows) {
    const TraceEvent &E = P.Event;
    T.Flops += P.Work.Flops;
    T.ArrayFlops += P.Work.ArrayFlops;
    T.Cycles += P.Cycles;
    T.HostMs += E.Ms;
    T.SdmaBytesIn += E.Work.SdmaBytesIn;
    T.SdmaBytesOut += E.Work.SdmaBytesOut;
    T.SdmaTransfers += E.Work.SdmaTransfers;
    T.FirmwareCalls += E.Work.FirmwareCalls;
    T.FallbackBytes += E.FallbackBytes;
    (E.IsFallback ? T.Fallbacks : T.Kernels) += 1;
    for (size_t I = 0; I < E.ScpadPeak.size() && I < T.ScpadPeak.size(); ++I)
      T.ScpadPeak[I] = std::max(T.ScpadPeak[I], E.ScpadPeak[I]);
  }
  return T;
}

std::vector<KernelSummary> Profile::byKernel() const {
  std::vector<KernelSummary> S;
  for (const InstructionProfile &P : Rows) {
    auto It = std::find_if(S.begin(), S.end(), [&](const KernelSummary &K) {
      return K.Op == P.Event.Op && K.IsFallback == P.Event.IsFallback;
    });
    if (It == S.end()) {
      S.push_back({P.Event.Op, P.Event.IsFallback});
      It = S.end() - 1;
    }
    ++It->Calls;
    It->Flops += P.Work.Flops;
    It->Cycles += P.Cycles;
    It->HostMs += P.Event.Ms;
    It->SdmaBytes += P.Event.Work.SdmaBytesIn + P.Event.Work.SdmaBytesOut;
    It->FallbackBytes += P.Event.FallbackBytes;
  }
  std::stable_sort(S.begin(), S.end(), [](const KernelSummary &A, const KernelSummary &B) { return A.Cycles > B.Cycles; });
  return S;
}

void Profile::printTable(llvm::raw_ostream &OS) const {
  OS << format("--- COUNTERS (%zu instructions; model %s at %.0f MHz: cycles are model figures) ---\n", Rows.size(),
               M.Name.c_str(), M.ClockMHz);
  using S = const char *;
  OS << format("%4s  %-24s %-14s %12s %11s %10s %7s %6s %11s %9s %9s %12s  %s\n", S("#"), S("node"), S("kernel/op"),
               S("FLOP"), S("SDMA-in KiB"), S("out KiB"), S("xfers"), S("fw"), S("scpad KiB"), S("fb KiB"),
               S("host ms"), S("model cyc"), S("bound"));
  for (const InstructionProfile &P : Rows) {
    const TraceEvent &E = P.Event;
    std::string Node = E.Node.size() > 24 ? E.Node.substr(0, 23) + "~" : E.Node;
    std::string Op = E.Op.size() > 14 ? E.Op.substr(0, 13) + "~" : E.Op;
    const char *Bound = E.IsFallback ? "fallback" : P.Cost.memoryBound() ? "memory" : "compute";
    OS << format("%4u  %-24s %-14s %12.0f %11.2f %10.2f %7llu %6llu %11s %9.1f %9.3f %12.0f  %s\n", E.Index,
                 Node.c_str(), Op.c_str(), P.Work.Flops, E.Work.SdmaBytesIn / 1024.0,
                 E.Work.SdmaBytesOut / 1024.0, (unsigned long long)E.Work.SdmaTransfers,
                 (unsigned long long)E.Work.FirmwareCalls, E.IsFallback ? "-" : padText(E.ScpadPeak).c_str(),
                 E.FallbackBytes / 1024.0, E.Ms, P.Cycles, Bound);
  }
  ProfileTotals T = totals();
  OS << format("total: %u kernel calls, %u fallback calls; %.3f MFLOP (%.3f on the array); SDMA %.2f MiB in, "
               "%.2f MiB out in %llu transfers; %llu firmware calls; scratchpad peak %s KiB of %llu per pad; "
               "fallback %.2f MiB copied; host %.3f ms\n",
               T.Kernels, T.Fallbacks, T.Flops / 1e6, T.ArrayFlops / 1e6, T.SdmaBytesIn / 1048576.0,
               T.SdmaBytesOut / 1048576.0, (unsigned long long)T.SdmaTransfers, (unsigned long long)T.FirmwareCalls,
               padText(T.ScpadPeak).c_str(), (unsigned long long)(M.PadBytes / 1024), T.FallbackBytes / 1048576.0,
               T.HostMs);
  OS << "by kernel (model cycles, most first):\n";
  for (const KernelSummary &K : byKernel())
    OS << format("  %-22s %5u call%s %12.0f cycles %6.2f%%  %14.0f FLOP  %10.2f MiB %s  host %9.3f ms\n",
                 (K.Op + (K.IsFallback ? " (fallback)" : "")).c_str(), K.Calls, S(K.Calls == 1 ? " " : "s"),
                 K.Cycles, T.Cycles > 0 ? 100 * K.Cycles / T.Cycles : 0.0, K.Flops,
                 (K.IsFallback ? K.FallbackBytes : K.SdmaBytes) / 1048576.0, S(K.IsFallback ? "copied" : "SDMA  "),
                 K.HostMs);
  OS << format("model (%s): %.0f cycles = %.3f us at %.0f MHz; %.1f flop/cycle = %.2f%% of the array's %.0f peak\n",
               M.Name.c_str(), T.Cycles, cyclesToUs(M, T.Cycles), M.ClockMHz,
               T.Cycles > 0 ? T.Flops / T.Cycles : 0.0,
               T.Cycles > 0 ? 100 * T.Flops / T.Cycles / M.peakFlopsPerCycle() : 0.0, M.peakFlopsPerCycle());
}

void Profile::writeJson(llvm::raw_ostream &OS) const {
  llvm::json::OStream J(OS, 2);
  ProfileTotals T = totals();
  // The counters a call and the whole run both have.
  auto Counts = [&](uint64_t In, uint64_t Out, uint64_t Transfers, uint64_t Fw, const std::vector<uint64_t> &Peak,
                    uint64_t FallbackBytes, double HostMs) {
    J.attribute("sdma_bytes_in", int64_t(In));
    J.attribute("sdma_bytes_out", int64_t(Out));
    J.attribute("sdma_transfers", int64_t(Transfers));
    J.attribute("firmware_calls", int64_t(Fw));
    J.attributeArray("scpad_peak_bytes", [&] {
      for (uint64_t X : Peak)
        J.value(int64_t(X));
    });
    J.attribute("fallback_bytes", int64_t(FallbackBytes));
    J.attribute("host_ms", HostMs);
  };
  J.object([&] {
    J.attribute("blob", B.name());
    J.attributeBegin("machine");
    {
      auto V = llvm::json::parse(M.toJson());
      J.value(V ? std::move(*V) : llvm::json::Value(nullptr));
      if (!V)
        llvm::consumeError(V.takeError());
    }
    J.attributeEnd();
    J.attributeObject("totals", [&] {
      J.attribute("kernel_calls", int64_t(T.Kernels));
      J.attribute("fallback_calls", int64_t(T.Fallbacks));
      J.attribute("flops", T.Flops);
      J.attribute("array_flops", T.ArrayFlops);
      Counts(T.SdmaBytesIn, T.SdmaBytesOut, T.SdmaTransfers, T.FirmwareCalls, T.ScpadPeak, T.FallbackBytes,
             T.HostMs);
      J.attribute("model_cycles", T.Cycles);
      J.attribute("model_us", cyclesToUs(M, T.Cycles));
    });
    J.attributeArray("kernels", [&] {
      for (const KernelSummary &K : byKernel())
        J.object([&] {
          J.attribute("op", K.Op);
          J.attribute("placement", K.IsFallback ? "fallback" : "accelerator");
          J.attribute("calls", int64_t(K.Calls));
          J.attribute("flops", K.Flops);
          J.attribute("model_cycles", K.Cycles);
          J.attribute("sdma_bytes", int64_t(K.SdmaBytes));
          J.attribute("fallback_bytes", int64_t(K.FallbackBytes));
          J.attribute("host_ms", K.HostMs);
        });
    });
    J.attributeArray("instructions", [&] {
      for (const InstructionProfile &P : Rows) {
        const TraceEvent &E = P.Event;
        J.object([&] {
          J.attribute("index", int64_t(E.Index));
          J.attribute("node", E.Node);
          J.attribute("placement", E.IsFallback ? "fallback" : "accelerator");
          J.attribute("op", E.Op);
          J.attribute("label", P.Label);
          if (!E.IsFallback)
            J.attribute("key", B.string(B.kernels()[E.Kernel].KeyOffset));
          J.attribute("flops", P.Work.Flops);
          J.attribute("array_flops", P.Work.ArrayFlops);
          Counts(E.Work.SdmaBytesIn, E.Work.SdmaBytesOut, E.Work.SdmaTransfers, E.Work.FirmwareCalls, E.ScpadPeak,
                 E.FallbackBytes, E.Ms);
          J.attribute("model_start_cycle", P.StartCycle);
          J.attribute("model_cycles", P.Cycles);
          if (!E.IsFallback) {
            J.attribute("model_array_cycles", P.Cost.ArrayCycles);
            J.attribute("model_vector_cycles", P.Cost.VectorCycles);
            J.attribute("model_sdma_cycles", P.Cost.SdmaCycles);
            J.attribute("model_fixed_cycles", P.Cost.FixedCycles);
            J.attribute("bound", P.Cost.memoryBound() ? "memory" : "compute");
          }
        });
      }
    });
  });
  OS << "\n";
}

void Profile::writeChromeTrace(llvm::raw_ostream &OS) const {
  enum : int64_t { ModelPid = 1, HostPid = 2, Compute = 1, Sdma = 2, Fallback = 3 };
  llvm::json::OStream J(OS, 1);
  auto Meta = [&](const char *What, int64_t Pid, int64_t Tid, const std::string &Name) {
    J.object([&] {
      J.attribute("name", What);
      J.attribute("ph", "M");
      J.attribute("pid", Pid);
      if (Tid)
        J.attribute("tid", Tid);
      J.attributeObject("args", [&] { J.attribute("name", Name); });
    });
  };
  auto Slice = [&](const InstructionProfile &P, int64_t Pid, int64_t Tid, double Ts, double Dur,
                   const char *Cat) {
    J.object([&] {
      J.attribute("name", P.Label);
      J.attribute("cat", Cat);
      J.attribute("ph", "X");
      J.attribute("pid", Pid);
      J.attribute("tid", Tid);
      J.attribute("ts", Ts);
      J.attribute("dur", Dur);
      J.attributeObject("args", [&] {
        J.attribute("index", int64_t(P.Event.Index));
        J.attribute("node", P.Event.Node);
        J.attribute("model_cycles", P.Cycles);
        J.attribute("flops", P.Work.Flops);
        J.attribute("sdma_bytes", int64_t(P.Event.Work.SdmaBytesIn + P.Event.Work.SdmaBytesOut));
        if (P.Event.IsFallback)
          J.attribute("fallback_bytes", int64_t(P.Event.FallbackBytes));
        J.attribute("host_ms", P.Event.Ms);
      });
    });
  };
  J.object([&] {
    J.attribute("displayTimeUnit", "ns");
    J.attributeObject("otherData", [&] {
      J.attribute("blob", B.name());
      J.attribute("machine", M.Name);
      J.attribute("clock_mhz", M.ClockMHz);
      J.attribute("note", "process 1: modelled cycles (ts and dur in us of the modelled clock); process 2: host time");
    });
    J.attributeArray("traceEvents", [&] {
      Meta("process_name", ModelPid, 0, "Atalla model (" + M.Name + ")");
      Meta("process_name", HostPid, 0, "Host (measured)");
      for (int64_t Pid : {ModelPid, HostPid}) {
        Meta("thread_name", Pid, Compute, "compute");
        if (Pid == ModelPid)
          Meta("thread_name", Pid, Sdma, "SDMA");
        Meta("thread_name", Pid, Fallback, "fallback");
      }
      for (const InstructionProfile &P : Rows) {
        const double Start = cyclesToUs(M, P.StartCycle);
        if (P.Event.IsFallback) {
          Slice(P, ModelPid, Fallback, Start, cyclesToUs(M, P.Cycles), "fallback");
          Slice(P, HostPid, Fallback, P.HostStartMs * 1e3, P.Event.Ms * 1e3, "fallback");
          continue;
        }
        // The launch and scratchpad calls come first, then compute and SDMA
        // overlap.
        const double Body = Start + cyclesToUs(M, P.Cost.FixedCycles);
        Slice(P, ModelPid, Compute, Start,
              cyclesToUs(M, P.Cost.FixedCycles + P.Cost.ArrayCycles + P.Cost.VectorCycles), "kernel");
        if (P.Cost.SdmaCycles > 0)
          Slice(P, ModelPid, Sdma, Body, cyclesToUs(M, P.Cost.SdmaCycles), "sdma");
        Slice(P, HostPid, Compute, P.HostStartMs * 1e3, P.Event.Ms * 1e3, "kernel");
      }
    });
  });
  OS << "\n";
}
