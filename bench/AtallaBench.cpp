//===- bench/AtallaBench.cpp - generated kernels vs oneDNN ----------------===//
//
// Google Benchmark runs of the generated GEMM and softmax kernels on the
// simulated device against oneDNN 2.6 primitives in the same process, single
// threaded, on the same fp32 inputs. Cases are named
// `<family>/<impl>/<dims>` (impl atalla or onednn) so runs pair by name; the
// atalla case carries the time ratio to its oneDNN partner as the `ratio`
// counter, and a summary with the per-suite geometric means goes to stderr
// after the run (stdout stays clean for --benchmark_format=json).
//
// What is timed: for atalla, Device::invoke of the compiled, loaded kernel
// with the inputs already in DRAM (host wall time of the simulation, i.e. the
// generated code running SDMA copies and compute on the host); for oneDNN,
// primitive::execute + stream::wait of a primitive created once. Every atalla
// case is checked against oneDNN once before timing and fails with the error
// measure on a mismatch. `sdma_bytes` is the simulator's DRAM<->scratchpad
// traffic per call, a model figure. By default every case runs five
// repetitions of 0.1 s, randomly interleaved with the other cases' (Google
// Benchmark's --benchmark_enable_random_interleaving); the summary takes
// each side's fastest repetition.
//
// bf16 (issue 9): every case again at bf16 precision, as
// `<family>/atalla_bf16/<dims>` (the kernel's bf16 twin: operands in DRAM
// as bf16, f32 inside, outputs rounded) and `<family>/onednn_bf16/<dims>`
// (oneDNN's bf16 primitives). oneDNN 2.6 creates bf16 primitives only on
// CPUs with avx512_core; elsewhere the onednn_bf16 cases are skipped with
// its error, and atalla_bf16's ratio is taken against the fp32 oneDNN case
// and named `ratio_vs_f32`. The bf16 inputs are the fp32 ones rounded, and
// the check is the kernel suite's: oneDNN fp32 on those values, rounded.
//
// To add a case: add a line to gemmCases() or softmaxCases().
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "reference/OneDnnPrimitive.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/KernelSpec.h"
#include "runtime/abi/Kernels.h"
#include "sim/CodeLoader.h"
#include "sim/Device.h"
#include "support/AlignedAllocator.h"

#include "benchmark/benchmark.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/TargetParser/Host.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace atalla;
using abi::KernelSpec;
using abi::OperandSpec;

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

enum class Family { Gemm, Softmax };

struct Case {
  Family Fam;
  std::string Suite;         ///< "gemm", "bgemm", "softmax"
  std::vector<int64_t> Dims; ///< gemm: B, M, N, K; softmax: Rows, Cols
  bool Bf16 = false;         ///< the bf16 twin (impls atalla_bf16, onednn_bf16)
  std::string dimsText() const {
    std::string S;
    // gemm drops the batch of 1 from its name: gemm/<impl>/M/N/K.
    for (size_t I = (Suite == "gemm" ? 1 : 0); I < Dims.size(); ++I)
      S += "/" + std::to_string(Dims[I]);
    return S;
  }
  std::string name(const char *Impl) const {
    return Suite + "/" + Impl + (Bf16 ? "_bf16" : "") + dimsText();
  }
  std::string key() const { return Suite + (Bf16 ? "_bf16" : "") + dimsText(); }
  double elementBytes() const { return Bf16 ? 2 : 4; }
  double flops() const { // per call
    return Fam == Family::Gemm ? 2.0 * double(Dims[0] * Dims[1] * Dims[2] * Dims[3]) : 0;
  }
  double bytes() const { // per call: read + write
    return Fam == Family::Softmax ? 2.0 * elementBytes() * double(Dims[0] * Dims[1]) : 0;
  }
};

std::vector<Case> gemmCases() {
  const int64_t MNK[][3] = {{64, 64, 64},     {128, 128, 128},  {256, 256, 256},
                            {512, 512, 512},  {1024, 1024, 1024}, {8, 32, 32},
                            {16, 128, 64},    {32, 64, 128},    {128, 768, 768},
                            {197, 3072, 768}, {512, 512, 64},   {33, 65, 17},
                            {1, 1000, 2048}};
  std::vector<Case> L;
  for (auto &D : MNK)
    L.push_back({Family::Gemm, "gemm", {1, D[0], D[1], D[2]}});
  L.push_back({Family::Gemm, "bgemm", {12, 128, 128, 64}}); // 12 x 128x64 @ 64x128
  return L;
}

std::vector<Case> softmaxCases() {
  const int64_t RC[][2] = {{4, 16},     {128, 128},  {1024, 1024},
                           {4096, 1024}, {64, 32768}, {1000, 10}};
  std::vector<Case> L;
  for (auto &D : RC)
    L.push_back({Family::Softmax, "softmax", {D[0], D[1]}});
  return L;
}

OperandSpec contiguous(std::vector<int64_t> Sizes) {
  OperandSpec O;
  O.Strides.assign(Sizes.size(), 1);
  for (size_t I = Sizes.size(); I-- > 1;)
    O.Strides[I - 1] = O.Strides[I] * Sizes[I];
  O.Sizes = std::move(Sizes);
  return O;
}

KernelSpec specOf(const Case &C) {
  KernelSpec S;
  if (C.Fam == Family::Gemm) {
    int64_t B = C.Dims[0], M = C.Dims[1], N = C.Dims[2], K = C.Dims[3];
    S.Kernel = abi::KernelId::gemm;
    if (C.Suite == "gemm")
      S.Operands = {contiguous({M, K}), contiguous({K, N}), contiguous({M, N})};
    else
      S.Operands = {contiguous({B, M, K}), contiguous({B, K, N}), contiguous({B, M, N})};
  } else {
    S.Kernel = abi::KernelId::softmax;
    S.Operands = {contiguous({C.Dims[0], C.Dims[1]}), contiguous({C.Dims[0], C.Dims[1]})};
    S.Dim = 1;
  }
  if (C.Bf16)
    S.Type = abi::DType::BF16;
  return S;
}

//===----------------------------------------------------------------------===//
// Shared state: inputs, the oneDNN primitive and its output, per case
//===----------------------------------------------------------------------===//

/// Cache-line-aligned storage for oneDNN's operands, as a CPU user's
/// tensors are (PyTorch's CPU allocator aligns to 64 bytes): glibc's malloc
/// aligns to 16, which splits AVX-512 loads across cache lines, and by how
/// much depended on the heap's state (the order the cases ran in).
template <typename T> using AlignedVector = atalla::AlignedVector<T, 64>;

/// What both implementations of a case share: the inputs, and the oneDNN
/// primitive (created once) whose output is the reference.
struct CaseData {
  KernelSpec Spec;
  std::vector<AlignedVector<float>> In;
  AlignedVector<float> Out;
  std::unique_ptr<reference::OneDnnPrimitive> Prim;
  std::string Error; ///< why oneDNN has no f32 primitive for the case ("" if it has)
  // bf16 twins: oneDNN's bf16 primitive on bf16 copies of In (when oneDNN
  // has one on this CPU).
  std::vector<AlignedVector<uint16_t>> In16;
  AlignedVector<uint16_t> Out16;
  std::unique_ptr<reference::OneDnnPrimitive> Prim16;
};

std::vector<const void *> pointers(const std::vector<AlignedVector<float>> &V) {
  std::vector<const void *> P;
  for (const auto &X : V)
    P.push_back(X.data());
  return P;
}

CaseData &caseData(const Case &C) {
  static std::map<std::string, std::unique_ptr<CaseData>> Cache;
  auto &Slot = Cache[C.key()];
  if (Slot)
    return *Slot;
  Slot = std::make_unique<CaseData>();
  CaseData &D = *Slot;
  D.Spec = specOf(C);
  std::mt19937 Rng(0x5eed + uint32_t(C.Dims.back()));
  std::normal_distribution<float> Normal;
  for (size_t I = 0; I + 1 < D.Spec.Operands.size(); ++I) {
    D.In.emplace_back(size_t(D.Spec.Operands[I].numel()));
    for (float &X : D.In.back())
      X = C.Bf16 ? abi::roundToBf16(Normal(Rng)) : Normal(Rng); // bf16: the values bf16 holds
  }
  D.Out.assign(size_t(D.Spec.output().numel()), 0.0f);
  // The f32 primitive on the f32 twin of the spec: a bf16 case's reference
  // is the f32 result of its bf16-valued inputs, rounded.
  KernelSpec F32 = D.Spec;
  F32.Type = abi::DType::F32;
  auto Prim = reference::OneDnnPrimitive::prepare(F32, reference::OneDnnPrimitive::Data::F32, pointers(D.In),
                                                  D.Out.data());
  if (!Prim) {
    D.Error = llvm::toString(Prim.takeError());
    return D;
  }
  D.Prim = std::move(*Prim);
  D.Prim->execute();
  if (C.Bf16)
    for (float &X : D.Out) // the reference a bf16 store keeps
      X = abi::roundToBf16(X);
  return D;
}

/// oneDNN's bf16 primitive for a bf16 case ("" when made; else oneDNN's
/// reason: 2.6 has none without avx512_core).
std::string makeOneDnnBf16(const Case &C, CaseData &D) {
  if (D.Prim16)
    return "";
  D.In16.clear();
  for (const AlignedVector<float> &V : D.In) {
    D.In16.emplace_back(V.size());
    for (size_t I = 0; I < V.size(); ++I)
      D.In16.back()[I] = abi::bf16FromF32(V[I]);
  }
  D.Out16.assign(D.Out.size(), 0);
  std::vector<const void *> In;
  for (const auto &X : D.In16)
    In.push_back(X.data());
  auto Prim = reference::OneDnnPrimitive::prepare(D.Spec, reference::OneDnnPrimitive::Data::Bf16, In, D.Out16.data());
  if (!Prim)
    return llvm::toString(Prim.takeError());
  D.Prim16 = std::move(*Prim);
  return "";
}

/// The kernel fuzz suite's error measure and thresholds (see
/// tests/kernels/KernelFuzzTest.cpp for their derivation).
double errorOf(const std::vector<float> &Got, const AlignedVector<float> &Ref) {
  double MaxRef = 0, MaxErr = 0;
  for (size_t I = 0; I < Ref.size(); ++I) {
    MaxRef = std::max(MaxRef, double(std::fabs(Ref[I])));
    double E = std::fabs(double(Got[I]) - double(Ref[I]));
    MaxErr = std::isnan(E) ? INFINITY : std::max(MaxErr, E);
  }
  return MaxErr / std::max(MaxRef, 1e-30);
}
double thresholdOf(const Case &C) {
  const double Ulp = std::ldexp(1.0, -23);
  // bf16: two f32 results rounded to bf16 differ by at most one bf16 ulp
  // (<= 2^-7 of max|ref|) more than the f32 results do.
  const double Bf16 = C.Bf16 ? std::ldexp(1.0, -7) : 0;
  if (C.Fam == Family::Gemm)
    return Ulp * double(C.Dims[3] + 2) + Bf16;
  double D = double(C.Dims[1]);
  return Ulp * (8 + 2 * std::log2(D) + std::sqrt(D) / 4) + Bf16;
}

//===----------------------------------------------------------------------===//
// Timing record for the ratio
//===----------------------------------------------------------------------===//

/// Seconds per call of each case's fastest reported repetition, by name
/// (what the summary reports), and how many repetitions were reported.
/// Repetitions run randomly interleaved by default (main): the host's clock
/// drifts by 10-20 % over seconds, and a ratio between two cases timed
/// seconds apart picks that drift up; the fastest of several repetitions,
/// each side's taken the same way, is the least disturbed one. Recorded
/// from the runs Google Benchmark reports (Recorder), not from inside the
/// benchmark function, which it also calls to find an iteration count.
struct Timing {
  double Best = 0; ///< seconds per call
  int Reps = 0;
};
std::map<std::string, Timing> &timings() {
  static std::map<std::string, Timing> M;
  return M;
}
/// The display reporter: the one --benchmark_format asks for (not owned),
/// plus a record of every reported repetition in timings().
class Recorder : public benchmark::BenchmarkReporter {
public:
  explicit Recorder(benchmark::BenchmarkReporter *Inner) : Inner(Inner) {}
  bool ReportContext(const Context &C) override { return Inner->ReportContext(C); }
  void ReportRuns(const std::vector<Run> &Runs) override {
    for (const Run &R : Runs) {
      if (R.run_type != Run::RT_Iteration || R.error_occurred || R.iterations <= 0)
        continue;
      Timing &T = timings()[R.benchmark_name()];
      const double PerCall = R.real_accumulated_time / double(R.iterations);
      T.Best = T.Reps == 0 ? PerCall : std::min(T.Best, PerCall);
      ++T.Reps;
    }
    Inner->ReportRuns(Runs);
  }
  void Finalize() override { Inner->Finalize(); }

private:
  benchmark::BenchmarkReporter *Inner;
};

/// Seconds per call of the latest run of each case's benchmark function,
/// by name: what the `ratio` counters pair (Google Benchmark reports a
/// case's repetitions only after its last one, too late for a counter).
std::map<std::string, double> &latestSecondsPerCall() {
  static std::map<std::string, double> M;
  return M;
}

template <typename Fn> void timeLoop(benchmark::State &State, const std::string &Name, Fn Body) {
  auto T0 = std::chrono::steady_clock::now();
  for (auto _ : State)
    Body();
  double S = std::chrono::duration<double>(std::chrono::steady_clock::now() - T0).count();
  if (State.iterations() > 0)
    latestSecondsPerCall()[Name] = S / double(State.iterations());
}

void setRateCounters(benchmark::State &State, const Case &C) {
  if (C.Fam == Family::Gemm)
    State.counters["GFLOP/s"] =
        benchmark::Counter(C.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  else
    State.counters["GB/s"] =
        benchmark::Counter(C.bytes() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

//===----------------------------------------------------------------------===//
// The two implementations
//===----------------------------------------------------------------------===//

void runOneDnnCase(benchmark::State &State, Case C) {
  CaseData *D = &caseData(C);
  if (!D->Error.empty()) {
    State.SkipWithError(D->Error.c_str());
    return;
  }
  if (C.Bf16) {
    if (std::string Why = makeOneDnnBf16(C, *D); !Why.empty()) {
      State.SkipWithError((std::string("oneDNN 2.6 has no bf16 ") + (C.Fam == Family::Gemm ? "matmul" : "softmax") +
                           " on this CPU (it needs avx512_core): " + Why)
                              .c_str());
      return;
    }
    State.SetLabel(D->Prim16->implementation());
    timeLoop(State, C.name("onednn"), [&] { D->Prim16->execute(); });
    setRateCounters(State, C);
    return;
  }
  State.SetLabel(D->Prim->implementation());
  timeLoop(State, C.name("onednn"), [&] { D->Prim->execute(); });
  setRateCounters(State, C);
}

/// The generated kernels' target: the host's (default), or with
/// `--isa=avx2` the host's CPU without AVX-512 and AMX (oneDNN limited the
/// same way), so an AVX-512 host also measures what an AVX2 host runs.
codegen::CodegenOptions &benchCodegen() {
  static codegen::CodegenOptions O;
  return O;
}
std::string &isaLimit() {
  static std::string L = "host";
  return L;
}

struct Loaded {
  std::unique_ptr<sim::CodeLoader> Loader;
  std::map<std::string, std::pair<abi::KernelFn, double>> Fns; ///< symbol -> kernel, compile ms
};

llvm::Expected<abi::KernelFn> kernelFor(const KernelSpec &S, double &CompileMs) {
  static Loaded L;
  std::string Sym = S.symbol();
  if (auto It = L.Fns.find(Sym); It != L.Fns.end()) {
    CompileMs = It->second.second;
    return It->second.first;
  }
  if (!L.Loader) {
    auto CL = sim::CodeLoader::create();
    if (!CL)
      return CL.takeError();
    L.Loader = std::move(*CL);
  }
  auto T0 = std::chrono::steady_clock::now();
  auto K = codegen::compileKernel(S, benchCodegen());
  CompileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
  if (!K)
    return K.takeError();
  if (llvm::Error E = L.Loader->addObject(K->Object, K->Symbol))
    return E;
  auto Fn = L.Loader->lookup(K->Symbol);
  if (!Fn)
    return Fn.takeError();
  L.Fns[Sym] = {*Fn, CompileMs};
  return *Fn;
}

int64_t alignUp(int64_t X, int64_t A) { return (X + A - 1) / A * A; }

void runAtallaCase(benchmark::State &State, Case C) {
  auto fail = [&](const std::string &Msg) { State.SkipWithError(Msg.c_str()); };
  CaseData *D = &caseData(C);
  if (!D->Error.empty())
    return fail(D->Error);
  const KernelSpec &S = D->Spec;
  double CompileMs = 0;
  auto Fn = kernelFor(S, CompileMs);
  if (!Fn)
    return fail("compile/load: " + llvm::toString(Fn.takeError()));

  // Inputs at 64-aligned device addresses; address 0 stays unused.
  std::vector<uint64_t> Args;
  int64_t Top = 64;
  const int64_t Elem = int64_t(C.elementBytes());
  for (const OperandSpec &O : S.Operands) {
    Args.push_back(uint64_t(Top));
    Top += alignUp(O.numel() * Elem, 64) + 64;
  }
  sim::DeviceConfig Cfg;
  Cfg.DramBytes = uint64_t(Top);
  sim::Device Dev(Cfg);
  // DRAM's form of a float vector: f32 bytes, or bf16 for a bf16 case.
  std::vector<uint8_t> Staged;
  auto bytesOf = [&](llvm::ArrayRef<float> V) {
    Staged.resize(V.size() * size_t(Elem));
    if (C.Bf16)
      abi::bf16FromF32N(Staged.data(), reinterpret_cast<const uint8_t *>(V.data()), V.size());
    else
      std::memcpy(Staged.data(), V.data(), Staged.size());
    return llvm::ArrayRef<uint8_t>(Staged);
  };
  for (size_t I = 0; I < D->In.size(); ++I)
    if (llvm::Error E = Dev.writeDram(Args[I], bytesOf(D->In[I])))
      return fail("writeDram: " + llvm::toString(std::move(E)));
  std::vector<float> Poison(D->Out.size(), std::nanf(""));
  if (llvm::Error E = Dev.writeDram(Args.back(), bytesOf(Poison)))
    return fail("writeDram: " + llvm::toString(std::move(E)));

  // Once, checked against oneDNN.
  if (int32_t Status = Dev.invoke(*Fn, Args.data()))
    return fail("kernel status " + std::to_string(Status) + ": " + Dev.lastFirmwareError());
  std::vector<float> Got(D->Out.size());
  std::vector<uint8_t> Raw(Got.size() * size_t(Elem));
  if (llvm::Error E = Dev.readDram(Args.back(), llvm::MutableArrayRef<uint8_t>(Raw)))
    return fail("readDram: " + llvm::toString(std::move(E)));
  if (C.Bf16)
    abi::f32FromBf16N(reinterpret_cast<uint8_t *>(Got.data()), Raw.data(), Got.size());
  else
    std::memcpy(Got.data(), Raw.data(), Raw.size());
  double Err = errorOf(Got, D->Out), Tol = thresholdOf(C);
  if (!(Err <= Tol)) {
    char Buf[256];
    std::snprintf(Buf, sizeof Buf, "mismatch with oneDNN: error %.3g > %.3g (%s)", Err, Tol,
                  S.key().c_str());
    return fail(Buf);
  }

  Dev.resetCounters();
  int32_t Status = 0;
  timeLoop(State, C.name("atalla"), [&] { Status |= Dev.invoke(*Fn, Args.data()); });
  if (Status)
    return fail("kernel status " + std::to_string(Status) + " in the timing loop");
  setRateCounters(State, C);
  const sim::Counters &K = Dev.counters();
  double Calls = double(std::max<uint64_t>(K.KernelCalls, 1));
  State.counters["sdma_bytes"] = double(K.SdmaBytesIn + K.SdmaBytesOut) / Calls;
  State.counters["sdma_transfers"] = double(K.SdmaLoads + K.SdmaStores) / Calls;
  State.counters["compile_ms"] = CompileMs;
  // This run against the oneDNN partner's latest (the summary pairs each
  // side's fastest repetition instead).
  const auto &T = latestSecondsPerCall();
  auto Mine = T.find(C.name("atalla")), Ref = T.find(C.name("onednn"));
  if (Mine != T.end() && Ref != T.end()) {
    State.counters["ratio"] = Mine->second / Ref->second;
  } else if (C.Bf16) { // no oneDNN bf16 primitive here: against its fp32 one
    Case F32 = C;
    F32.Bf16 = false;
    if (auto R32 = T.find(F32.name("onednn")); Mine != T.end() && R32 != T.end())
      State.counters["ratio_vs_f32"] = Mine->second / R32->second;
  }
}

//===----------------------------------------------------------------------===//
// memcpy: the host's bandwidth, as the softmax reference
//===----------------------------------------------------------------------===//

void runMemcpy(benchmark::State &State, int64_t Rows, int64_t Cols) {
  size_t Bytes = size_t(Rows * Cols) * 4;
  std::vector<char> Src(Bytes, 1), Dst(Bytes, 0);
  timeLoop(State, "memcpy/" + std::to_string(Rows) + "/" + std::to_string(Cols), [&] {
    std::memcpy(Dst.data(), Src.data(), Bytes);
    benchmark::DoNotOptimize(Dst.data());
    benchmark::ClobberMemory();
  });
  State.counters["GB/s"] =
      benchmark::Counter(2.0 * double(Bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

//===----------------------------------------------------------------------===//
// Summary on stderr
//===----------------------------------------------------------------------===//

/// Where the run happened: the host CPU (LLVM's name), its vector ISA
/// features that matter to these kernels and to oneDNN's choice, and the
/// register blocking the generated kernels use on it.
std::string hostIsa() {
  const llvm::StringMap<bool> F = llvm::sys::getHostCPUFeatures();
  std::string S;
  for (const char *Name : {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16",
                           "avx512fp16", "amx-tile", "amx-bf16", "amx-int8"}) {
    auto It = F.find(Name);
    if (It != F.end() && It->second)
      S += (S.empty() ? "" : " ") + std::string(Name);
  }
  return S.empty() ? "no AVX2" : S;
}

std::string generatedIsa() {
  auto Isa = codegen::resolvedIsa(benchCodegen());
  if (!Isa) {
    llvm::consumeError(Isa.takeError());
    return "?";
  }
  return *Isa == codegen::VectorIsa::Avx512 ? "avx512 (14x32 GEMM microkernel, 16-lane vectors)"
                                            : "avx2 (6x16 GEMM microkernel, 8-lane vectors)";
}

void printSummary(const std::vector<Case> &Cases) {
  if (timings().empty()) // nothing ran (--benchmark_list_tests, a filter that matches nothing)
    return;
  const std::map<std::string, Timing> &T = timings(); // each case's fastest repetition
  int Reps = 0;
  for (const auto &[Name, Tm] : T)
    Reps = std::max(Reps, Tm.Reps);
  std::fprintf(stderr, "\nhost: %s; ISA: %s; generated kernels: %s; oneDNN %s (implementation per case in the "
                       "JSON labels)%s",
               llvm::sys::getHostCPUName().str().c_str(), hostIsa().c_str(), generatedIsa().c_str(),
               reference::oneDnnVersion().c_str(),
               isaLimit() == "avx2" ? "; --isa=avx2: both sides limited to AVX2 and FMA (no AVX-512, no AMX)" : "");
  std::fprintf(stderr, "\natalla-bench summary (host wall time, single thread; %s; ratio = "
                       "time(atalla) / time(onednn), < 1 is faster)\n",
               Reps > 1 ? ("each side the fastest of " + std::to_string(Reps) + " repetitions").c_str()
                        : "one repetition");
  std::fprintf(stderr, "%-28s %12s %12s %8s\n", "case", "atalla", "onednn", "ratio");
  std::map<std::string, std::pair<double, int>> LogSum; // per suite (bgemm counts as gemm)
  std::map<std::string, bool> VsF32; // per suite: ratios taken against fp32 oneDNN
  for (const Case &C : Cases) {
    auto A = T.find(C.name("atalla")), O = T.find(C.name("onednn"));
    std::string Suite = std::string(C.Fam == Family::Gemm ? "gemm" : "softmax") + (C.Bf16 ? "_bf16" : "");
    if (C.Bf16 && A != T.end() && O == T.end()) {
      Case F32 = C;
      F32.Bf16 = false;
      O = T.find(F32.name("onednn"));
      VsF32[Suite] = true;
    }
    if (A == T.end() || O == T.end())
      continue;
    double Work = C.Fam == Family::Gemm ? C.flops() : C.bytes();
    Case Partner = C; // whose work the oneDNN column did: fp32 bytes when it stands in for bf16
    Partner.Bf16 = C.Bf16 && !VsF32.count(Suite);
    const double OWork = C.Fam == Family::Gemm ? Partner.flops() : Partner.bytes();
    const char *Unit = C.Fam == Family::Gemm ? "GF/s" : "GB/s";
    const double TA = A->second.Best, TO = O->second.Best, R = TA / TO;
    std::fprintf(stderr, "%-28s %7.2f %-4s %7.2f %-4s %8.3f\n", C.key().c_str(), Work / TA * 1e-9, Unit,
                 OWork / TO * 1e-9, Unit, R);
    auto &G = LogSum[Suite];
    G.first += std::log(R);
    G.second += 1;
  }
  for (auto &[Suite, G] : LogSum)
    std::fprintf(stderr, "geomean ratio %-14s %8.3f over %d cases%s\n", Suite.c_str(),
                 std::exp(G.first / G.second), G.second,
                 VsF32.count(Suite) ? " (against oneDNN fp32: oneDNN 2.6 has no bf16 here)" : "");
  if (auto M = T.find("memcpy/4096/1024"); M != T.end()) {
    double MemcpyGBs = 2.0 * 4 * 4096 * 1024 / M->second.Best * 1e-9;
    std::fprintf(stderr, "memcpy/4096/1024: %.2f GB/s (read + write)", MemcpyGBs);
    auto A = T.find("softmax/atalla/4096/1024");
    if (A != T.end())
      std::fprintf(stderr, "; softmax/atalla/4096/1024 reaches %.0f%% of it",
                   100.0 * (2.0 * 4 * 4096 * 1024 / A->second.Best * 1e-9) / MemcpyGBs);
    std::fprintf(stderr, "\n");
  }
}

} // namespace

int main(int argc, char **argv) {
  // Single thread for oneDNN (OpenMP runtime); the generated code is single
  // threaded by construction.
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  // --isa=host|avx2 (ours; every other flag is Google Benchmark's).
  std::vector<char *> Args{argv[0]};
  for (int I = 1; I < argc; ++I) {
    if (std::strncmp(argv[I], "--isa=", 6) != 0) {
      Args.push_back(argv[I]);
      if (std::strcmp(argv[I], "--help") == 0)
        std::printf("atalla-bench [--isa=host|avx2] [Google Benchmark flags]\n"
                    "  --isa=avx2  generated kernels for the host CPU without AVX-512 and AMX, and oneDNN limited\n"
                    "              to AVX2 and FMA: an AVX-512 host measures what an AVX2 host runs\n\n");
      continue;
    }
    const std::string V = argv[I] + 6;
    if (V != "host" && V != "avx2") {
      std::fprintf(stderr, "atalla-bench: --isa=%s: unknown ISA (host or avx2)\n", V.c_str());
      return 2;
    }
    isaLimit() = V;
  }
  argc = int(Args.size());
  Args.push_back(nullptr);
  argv = Args.data();
  if (isaLimit() == "avx2") {
    benchCodegen().Features = "-avx512f,-amx-tile,-amx-bf16,-amx-int8";
    if (llvm::Error E = reference::limitOneDnnIsa("avx2")) {
      std::fprintf(stderr, "atalla-bench: %s\n", llvm::toString(std::move(E)).c_str());
      return 1;
    }
  }
  benchmark::AddCustomContext("isa_limit", isaLimit());
  benchmark::AddCustomContext("onednn_version", reference::oneDnnVersion());
  benchmark::AddCustomContext("threads", "1");
  benchmark::AddCustomContext("host_cpu", llvm::sys::getHostCPUName().str());
  benchmark::AddCustomContext("host_isa", hostIsa());
  benchmark::AddCustomContext("generated_isa", generatedIsa());
  benchmark::AddCustomContext("summary_times", "each side's fastest repetition (the stderr summary; the ratio "
                                              "counters pair each run with its partner's latest)");

  std::vector<Case> Cases = gemmCases();
  for (const Case &C : softmaxCases())
    Cases.push_back(C);
  for (size_t I = 0, N = Cases.size(); I < N; ++I) { // the bf16 twins, after every fp32 case
    Case C = Cases[I];
    C.Bf16 = true;
    Cases.push_back(C);
  }
  // Per-benchmark MinTime() or UseRealTime() would append "/min_time:..." and
  // "/real_time" to the names, which must stay exactly <family>/<impl>/<dims>;
  // the minimum time is a default flag instead (overridable), and rates use
  // CPU time, equal to wall time for these single-threaded runs.
  for (const Case &C : Cases) {
    benchmark::RegisterBenchmark(C.name("onednn").c_str(), runOneDnnCase, C)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(C.name("atalla").c_str(), runAtallaCase, C)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("memcpy/4096/1024", runMemcpy, int64_t(4096), int64_t(1024))
      ->Unit(benchmark::kMicrosecond);

  // Defaults (each overridable by giving the flag): five repetitions of
  // 0.1 s per case, randomly interleaved across the cases, so the two sides
  // of a ratio are timed over the same stretch of the run (Timing, above).
  std::vector<char *> Argv(argv, argv + argc);
  static char MinTimeFlag[] = "--benchmark_min_time=0.1", RepsFlag[] = "--benchmark_repetitions=5",
              InterleaveFlag[] = "--benchmark_enable_random_interleaving=true";
  for (char *Flag : {MinTimeFlag, RepsFlag, InterleaveFlag}) {
    const size_t Key = std::strchr(Flag, '=') - Flag + 1; // "--benchmark_xyz="
    bool Given = false;
    for (int I = 1; I < argc; ++I)
      Given |= std::strncmp(argv[I], Flag, Key) == 0;
    if (!Given)
      Argv.insert(Argv.begin() + 1, Flag);
  }
  // Google Benchmark 1.7 answers an unknown --benchmark_format with its
  // usage and exit status 0: one line and exit 2 instead.
  for (char *A : Argv)
    if (std::strncmp(A, "--benchmark_format=", 19) == 0 && std::strcmp(A + 19, "console") != 0 &&
        std::strcmp(A + 19, "json") != 0 && std::strcmp(A + 19, "csv") != 0) {
      std::fprintf(stderr, "atalla-bench: --benchmark_format=%s: unknown format (console, json or csv)\n", A + 19);
      return 2;
    }
  int Argc = int(Argv.size());
  Argv.push_back(nullptr);
  benchmark::Initialize(&Argc, Argv.data());
  argc = Argc;
  argv = Argv.data();
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  // The display reporter --benchmark_format names (Google Benchmark's own,
  // which it keeps), wrapped to record each reported repetition.
  Recorder Rec(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&Rec);
  benchmark::Shutdown();
  printSummary(Cases);
  return 0;
}
