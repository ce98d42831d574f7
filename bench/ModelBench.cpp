//===- bench/ModelBench.cpp - whole models: device vs eager, compile time -===//
//
// atalla-bench-models: Google Benchmark cases per model, in one process,
// single threaded (LibTorch set to one intra-op thread, for the eager oracle
// and the device's fallback calls alike):
//   model/eager/<name>   the LibTorch eager interpreter of the graph
//   model/atalla/<name>  Executor::run of the compiled blob on the simulated
//                        device (host wall time: generated kernels, SDMA,
//                        fallback calls), with `ratio` = time(atalla) /
//                        time(eager) from the same run
//   model/atalla_bf16/<name>  the same at --precision bf16 (float32 tensors
//                        stored as bf16: the SDMA aperture converts), ratio
//                        to eager fp32
//   compile/<name>       lowering + code generation + blob writing, cold
//                        (no kernel cache; kernels on one thread per core),
//                        with the phases (lower, IR, opt, obj, write) as
//                        counters
//   compile_warm/<name>  the same with every kernel in the kernel cache
// and, on model/atalla/<name>, the cycle model's figures for one run on the
// default machine (atalla-rtl): modelled cycles and the array's utilisation.
// on the same inputs (the archive's sample inputs, or seeded random ones).
// Models: the real UNet of the shared fixtures (skipped, saying so, when the
// folder is absent), the real torch 2.11 transformer block and MLP of
// tests/data/torch2, and every model of the zoo (tests/data/zoo,
// tools/make_zoo.py). With ATALLA_TORCHSCRIPT_TIMES naming the JSON that
// bench/torchscript_anchor.py writes (`make bench` does both), the summary
// adds torch 1.13's eager Python and TorchScript freeze +
// optimize_for_inference times of the same zoo modules, one thread. The device's output is checked against eager once
// before timing with atalla-run --check's default tolerances
// (driver::f32Tolerance of the model, exact for other dtypes; for bf16
// driver::bf16Tolerance of the blob's longest reduction, and at most 0.5% of
// a bool or integer output's elements; for a zoo model at least twice the
// error torch's own bf16 eager run has on it, MANIFEST.json's
// bf16_eager_normalised_err: deep networks amplify per-op rounding). The JSON context names the BLAS
// behind LibTorch: it sets the eager anchor's speed.
//
//===----------------------------------------------------------------------===//
#include "codegen/BlobWriter.h"
#include "driver/Compare.h"
#include "driver/Compile.h"
#include "frontend/Archive.h"
#include "lower/Pipeline.h"
#include "reference/EagerInterpreter.h"
#include "runtime/Executor.h"
#include "runtime/Profile.h"
#include "sim/Machine.h"
#include "runtime/fallback/AtenFallback.h"
#include "runtime/fallback/TorchBlas.h"
#include "tools/ToolSupport.h"

#include "benchmark/benchmark.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using namespace atalla;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point T) { return std::chrono::duration<double, std::milli>(Clock::now() - T).count(); }

bool exists(const std::string &P) {
  struct stat S;
  return ::stat(P.c_str(), &S) == 0;
}

[[noreturn]] void die(const std::string &What, llvm::Error E) {
  std::fprintf(stderr, "atalla-bench-models: %s: %s\n", What.c_str(), llvm::toString(std::move(E)).c_str());
  std::exit(1);
}

struct ModelCase {
  std::string Name, Path;
  frontend::Model M;
  std::unique_ptr<runtime::Blob> B;
  std::unique_ptr<runtime::AtenFallback> Fallback;
  std::unique_ptr<runtime::Executor> X;
  std::unique_ptr<runtime::Blob> B16; ///< the bf16 blob and its executor
  std::unique_ptr<runtime::Executor> X16;
  std::unique_ptr<reference::EagerInterpreter> Eager;
  std::vector<frontend::TensorData> Inputs;
  std::vector<runtime::HostTensor> HostInputs;
  double ModelCycles = 0, ArrayFlops = 0, PeakFlopsPerCycle = 0; ///< the cycle model, one run
};

/// The kernel cache the compile_warm cases use (a fresh temporary folder).
const std::string &warmCacheDir() {
  static std::string D = [] {
    char T[] = "/tmp/atalla-bench-cache-XXXXXX";
    const char *Made = ::mkdtemp(T);
    return std::string(Made ? Made : "");
  }();
  return D;
}

/// Lowering and code generation of \p M, the phases in ms.
std::vector<uint8_t> compile(const frontend::Model &M, std::map<std::string, double> *Phases,
                             abi::DType Precision = abi::DType::F32, const std::string &CacheDir = "") {
  auto T0 = Clock::now();
  driver::CompileOptions CO; // as atalla-gen compiles it, for the default machine
  CO.Precision = Precision;
  CO.CacheDir = CacheDir;
  auto P = driver::lowerForTarget(M, CO);
  if (!P)
    die(M.Path, P.takeError());
  double LowerMs = msSince(T0);
  auto T1 = Clock::now();
  auto Compiled = driver::writeBlob(M, *P, CO);
  if (!Compiled)
    die(M.Path, Compiled.takeError());
  const codegen::BlobStats &St = Compiled->Stats;
  std::vector<uint8_t> *Bytes = &Compiled->Blob;
  double WriteMs = msSince(T1);
  if (Phases) {
    double Ir = 0, Opt = 0, Obj = 0;
    for (const codegen::KernelStat &K : St.Kernels) {
      Ir += K.IrMs;
      Opt += K.OptMs;
      Obj += K.CodegenMs;
    }
    (*Phases)["lower_ms"] += LowerMs;
    (*Phases)["ir_ms"] += Ir;
    (*Phases)["opt_ms"] += Opt;
    (*Phases)["obj_ms"] += Obj;
    (*Phases)["kernels_wall_ms"] += St.KernelsWallMs;
    (*Phases)["blob_ms"] += WriteMs - St.KernelsWallMs;
    (*Phases)["kernels"] = double(St.Kernels.size());
    (*Phases)["cached_kernels"] = double(St.CacheHits);
    (*Phases)["threads"] = double(St.CompileThreads);
  }
  return std::move(*Bytes);
}

/// The device's outputs against eager's under \p Tol (driver::compareTensors,
/// atalla-run --check's rules). Returns a message on a mismatch.
std::string compare(const std::vector<runtime::HostTensor> &Got, const std::vector<frontend::TensorData> &Ref,
                    const driver::Tolerance &Tol) {
  if (Got.size() != Ref.size())
    return "output count differs";
  for (size_t I = 0; I < Got.size(); ++I) {
    frontend::TensorData G = frontend::TensorData::fromBytes(Ref[I].Dtype, Got[I].Sizes, Got[I].Bytes);
    const driver::Comparison C = driver::compareTensors(G, Ref[I], Tol);
    if (!C.Pass)
      return driver::describeMismatch(std::to_string(I), C, Tol);
  }
  return "";
}

std::unique_ptr<ModelCase> prepare(const std::string &Name, const std::string &Path, double Bf16DepthBound = 0) {
  auto M = frontend::readModel(Path);
  if (!M)
    die(Path, M.takeError());
  auto C = std::make_unique<ModelCase>(
      ModelCase{Name, Path, std::move(*M), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, {}, {}});
  std::vector<uint8_t> Bytes = compile(C->M, nullptr);
  auto B = runtime::Blob::parse(std::move(Bytes), Name + ".atb");
  if (!B)
    die(Path, B.takeError());
  C->B = std::make_unique<runtime::Blob>(std::move(*B));
  C->Fallback = std::make_unique<runtime::AtenFallback>();
  auto X = runtime::Executor::create(*C->B, sim::DeviceConfig(), C->Fallback.get());
  if (!X)
    die(Path, X.takeError());
  C->X = std::move(*X);
  auto E = reference::EagerInterpreter::create(C->M); // one LibTorch thread
  if (!E)
    die(Path, E.takeError());
  C->Eager = std::move(*E);
  if (C->M.HasSampleInputs) {
    C->Inputs = C->M.SampleInputs;
  } else {
    uint64_t Seed = 1;
    for (uint32_t T : C->B->inputs()) {
      const abi::TensorRecord &R = C->B->tensors()[T];
      auto Ty = frontend::scalarTypeFromSchema(R.DType).value_or(frontend::ScalarType::Float32);
      C->Inputs.push_back(tools::randomTensor(Ty, std::vector<int64_t>(R.Sizes, R.Sizes + R.Rank), Seed++));
    }
  }
  for (const frontend::TensorData &T : C->Inputs) {
    runtime::HostTensor H;
    H.DType = static_cast<uint32_t>(T.Dtype);
    H.Sizes = T.Sizes;
    H.Bytes = T.contiguousBytes();
    C->HostInputs.push_back(std::move(H));
  }
  auto Got = C->X->run(C->HostInputs);
  if (!Got)
    die(Path, Got.takeError());
  auto Ref = C->Eager->run(C->Inputs);
  if (!Ref)
    die(Path, Ref.takeError());
  if (std::string Why = compare(*Got, *Ref, driver::f32Tolerance(C->M)); !Why.empty()) {
    std::fprintf(stderr, "atalla-bench-models: %s: the device disagrees with eager: %s\n", Path.c_str(), Why.c_str());
    std::exit(1);
  }
  { // The cycle model on one run (deterministic: once is enough).
    const sim::MachineDesc Mach;
    runtime::Profile Prof(*C->B, Mach);
    C->X->setTrace([&](const runtime::TraceEvent &E) { Prof.add(E); });
    if (auto R = C->X->run(C->HostInputs); !R)
      die(Path, R.takeError());
    C->X->setTrace(nullptr);
    C->ModelCycles = Prof.totals().Cycles;
    C->ArrayFlops = Prof.totals().ArrayFlops;
    C->PeakFlopsPerCycle = Mach.peakFlopsPerCycle();
  }
  // The bf16 twin.
  auto B16 = runtime::Blob::parse(compile(C->M, nullptr, abi::DType::BF16), Name + ".bf16.atb");
  if (!B16)
    die(Path, B16.takeError());
  C->B16 = std::make_unique<runtime::Blob>(std::move(*B16));
  auto X16 = runtime::Executor::create(*C->B16, sim::DeviceConfig(), C->Fallback.get());
  if (!X16)
    die(Path, X16.takeError());
  C->X16 = std::move(*X16);
  auto Got16 = C->X16->run(C->HostInputs);
  if (!Got16)
    die(Path, Got16.takeError());
  driver::Tolerance Tol16 = driver::bf16Tolerance(C->B16->longestReduction(), 0.005);
  Tol16.Float = std::max(Tol16.Float, Bf16DepthBound);
  if (std::string Why = compare(*Got16, *Ref, Tol16); !Why.empty()) {
    std::fprintf(stderr, "atalla-bench-models: %s: the bf16 device run disagrees with eager beyond bf16's tolerance "
                         "(%.3g): %s\n",
                 Path.c_str(), Tol16.Float, Why.c_str());
    std::exit(1);
  }
  return C;
}

/// Seconds per iteration of the eager and atalla cases, by model.
std::map<std::string, double> &eagerTimes() {
  static std::map<std::string, double> T;
  return T;
}
std::map<std::string, double> &atallaTimes() {
  static std::map<std::string, double> T;
  return T;
}
std::map<std::string, double> &atallaBf16Times() {
  static std::map<std::string, double> T;
  return T;
}

/// A JSON file's top-level object; null when absent or unreadable.
llvm::json::Value readJson(const std::string &Path) {
  auto B = llvm::MemoryBuffer::getFile(Path);
  if (!B)
    return nullptr;
  auto J = llvm::json::parse((*B)->getBuffer());
  if (!J) {
    std::fprintf(stderr, "atalla-bench-models: %s: %s\n", Path.c_str(), llvm::toString(J.takeError()).c_str());
    return nullptr;
  }
  return std::move(*J);
}

/// A number at \p Model / \p Key of object \p O (0 when absent).
double numberAt(const llvm::json::Object *O, const std::string &Model, llvm::StringRef Key) {
  const llvm::json::Object *E = O ? O->getObject(Model) : nullptr;
  return E ? E->getNumber(Key).value_or(0) : 0;
}

void timeLoop(benchmark::State &State, const std::function<void()> &Body, double *PerIter) {
  double Total = 0;
  int64_t N = 0;
  for (auto _ : State) {
    auto T0 = Clock::now();
    Body();
    Total += std::chrono::duration<double>(Clock::now() - T0).count();
    ++N;
  }
  if (PerIter && N)
    *PerIter = Total / double(N);
}

/// A compile case of \p C: lowering and code generation per iteration,
/// with kernel cache \p CacheDir ("" = none); the phases (ms per
/// iteration) and the kernel, cache-hit and thread counts as counters.
void registerCompile(const std::string &Case, ModelCase *C, std::string CacheDir) {
  benchmark::RegisterBenchmark(Case.c_str(), [C, CacheDir](benchmark::State &State) {
    std::map<std::string, double> Phases;
    int64_t N = 0;
    for (auto _ : State) {
      compile(C->M, &Phases, abi::DType::F32, CacheDir);
      ++N;
    }
    for (auto &[K, V] : Phases)
      State.counters[K] = K == "kernels" || K == "cached_kernels" || K == "threads"
                              ? V
                              : V / double(std::max<int64_t>(N, 1));
  })->Unit(benchmark::kMillisecond);
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  const char *Fix = std::getenv("ATALLA_FIXTURES");
  std::string Fixtures = Fix ? Fix : ATALLA_FIXTURES_DIR;
  const std::string Torch2 = std::string(ATALLA_SOURCE_DIR) + "/tests/data/torch2";
  std::vector<std::pair<std::string, std::string>> Models;
  std::string UNet = Fixtures + "/real/unet-dcnum-test_g1.pt2";
  if (exists(UNet))
    Models.push_back({"unet", UNet});
  else
    std::fprintf(stderr, "atalla-bench-models: %s not found (set ATALLA_FIXTURES): no UNet case\n", UNet.c_str());
  Models.push_back({"transformer_block", Torch2 + "/torch_transformer_block.pt2"});
  Models.push_back({"mlp", Torch2 + "/torch_mlp_params.pt2"});
  const std::string Zoo = std::string(ATALLA_SOURCE_DIR) + "/tests/data/zoo";
  static llvm::json::Value Manifest = readJson(Zoo + "/MANIFEST.json");
  const llvm::json::Object *ZooModels = Manifest.getAsObject();
  if (ZooModels)
    for (const auto &KV : *ZooModels)
      Models.push_back({KV.first.str(), Zoo + "/" + KV.first.str() + ".pt2"});
  else
    std::fprintf(stderr, "atalla-bench-models: %s/MANIFEST.json not readable: no zoo cases\n", Zoo.c_str());
  static llvm::json::Value Anchors = nullptr;
  const llvm::json::Object *AnchorModels = nullptr;
  if (const char *A = std::getenv("ATALLA_TORCHSCRIPT_TIMES"); A && *A) {
    Anchors = readJson(A);
    if (const llvm::json::Object *O = Anchors.getAsObject())
      AnchorModels = O->getObject("models");
    if (!AnchorModels)
      std::fprintf(stderr, "atalla-bench-models: %s has no \"models\": no TorchScript column\n", A);
  }

  static std::vector<std::unique_ptr<ModelCase>> Cases;
  for (const auto &[Name, Path] : Models) {
    Cases.push_back(prepare(Name, Path, 2 * numberAt(ZooModels, Name, "bf16_eager_normalised_err")));
    ModelCase *C = Cases.back().get();
    registerCompile("compile/" + Name, C, "");
    if (!warmCacheDir().empty()) {
      compile(C->M, nullptr, abi::DType::F32, warmCacheDir()); // fills the cache
      registerCompile("compile_warm/" + Name, C, warmCacheDir());
    }
    benchmark::RegisterBenchmark(("model/eager/" + Name).c_str(), [C](benchmark::State &State) {
      timeLoop(State, [C] {
        auto R = C->Eager->run(C->Inputs);
        if (!R)
          die(C->Path, R.takeError());
        benchmark::DoNotOptimize(R->data());
      }, &eagerTimes()[C->Name]);
    })->Unit(benchmark::kMillisecond);
    for (const bool Bf16 : {false, true}) { // model/atalla/<m>, model/atalla_bf16/<m>
      const std::string Case = (Bf16 ? "model/atalla_bf16/" : "model/atalla/") + Name;
      const double TsMs = numberAt(AnchorModels, Name, "torchscript_ms");
      benchmark::RegisterBenchmark(Case.c_str(), [C, Bf16, TsMs](benchmark::State &State) {
        runtime::Executor &X = Bf16 ? *C->X16 : *C->X;
        double &PerIter = (Bf16 ? atallaBf16Times() : atallaTimes())[C->Name];
        timeLoop(State, [C, &X] {
          auto R = X.run(C->HostInputs);
          if (!R)
            die(C->Path, R.takeError());
          benchmark::DoNotOptimize(R->data());
        }, &PerIter);
        if (double E = eagerTimes()[C->Name]; E > 0)
          State.counters["ratio"] = PerIter / E;
        if (TsMs > 0) // the TorchScript anchor (bench/torchscript_anchor.py)
          State.counters["ratio_torchscript"] = PerIter * 1e3 / TsMs;
        if (!Bf16) { // the cycle model ran on the f32 blob
          State.counters["modelled_cycles"] = C->ModelCycles;
          State.counters["array_utilisation"] =
              C->ModelCycles > 0 ? C->ArrayFlops / (C->ModelCycles * C->PeakFlopsPerCycle) : 0;
        }
      })->Unit(benchmark::kMillisecond);
    }
  }
  // The eager anchor's speed and summation order depend on the BLAS that
  // libblas.so.3 resolves to (Debian alternatives): say which one ran.
  const std::string Blas = runtime::blasProvider().text();
  benchmark::AddCustomContext("blas", Blas);
  benchmark::AddCustomContext("libtorch", reference::libtorchVersion());
  benchmark::RunSpecifiedBenchmarks();
  std::fprintf(stderr, "\natalla-bench-models summary (single thread; ratio = time(atalla) / time(eager), < 1 is faster)\n"
                       "eager: LibTorch %s on %s\n",
               reference::libtorchVersion().c_str(), Blas.c_str());
  if (AnchorModels)
    std::fprintf(stderr, "torchscript: torch 1.13 (Python) torch.jit.freeze + optimize_for_inference, one thread "
                         "(bench/torchscript_anchor.py); zoo models only\n");
  std::fprintf(stderr, "%-20s %12s %12s %8s %14s %8s %14s %8s %16s %10s\n", "model", "atalla ms", "eager ms", "ratio",
               "atalla bf16 ms", "ratio", "torchscript ms", "ratio", "modelled cycles", "array use");
  for (const auto &[Name, A] : atallaTimes())
    if (double E = eagerTimes()[Name]; E > 0 && A > 0) {
      const double A16 = atallaBf16Times()[Name];
      double Cycles = 0, Use = 0;
      for (const auto &C : Cases)
        if (C->Name == Name && C->ModelCycles > 0) {
          Cycles = C->ModelCycles;
          Use = C->ArrayFlops / (C->ModelCycles * C->PeakFlopsPerCycle);
        }
      const double Ts = numberAt(AnchorModels, Name, "torchscript_ms");
      char TsCols[48] = "             -        -";
      if (Ts > 0)
        std::snprintf(TsCols, sizeof TsCols, "%14.3f %8.3f", Ts, A * 1e3 / Ts);
      std::fprintf(stderr, "%-20s %12.3f %12.3f %8.3f %14.3f %8.3f %s %16.0f %9.2f%%\n", Name.c_str(), A * 1e3,
                   E * 1e3, A / E, A16 * 1e3, A16 / E, TsCols, Cycles, 100 * Use);
    }
  std::fprintf(stderr, "(modelled cycles and array use: the cycle model on atalla-rtl, GEMMs on the tile model)\n");
  benchmark::Shutdown();
  return 0;
}
