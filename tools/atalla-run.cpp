//===- tools/atalla-run.cpp - run a blob on the simulated device ----------===//
//
// atalla-run model.atb: places the blob in the simulated device's DRAM,
// links its code with the ORC loader and runs the program, ops without a
// device kernel falling back to LibTorch. --check model.pt2 runs the eager
// oracle on the same inputs and compares (exit 1 on mismatch); with
// --per-op it also runs each instruction alone on eager's inputs (the
// single-layer mode of Glow's network debugger, so errors do not propagate),
// prints one row per instruction and names the first node over tolerance.
//
//===----------------------------------------------------------------------===//
#include "driver/Compare.h"
#include "driver/PerOp.h"
#include "frontend/Archive.h"
#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "reference/EagerInterpreter.h"
#include "reference/OneDnnKernels.h"
#include "runtime/abi/KernelSpec.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/abi/Bf16.h"
#include "runtime/Profile.h"
#include "sim/Machine.h"
#include "runtime/abi/Kernels.h"
#include "runtime/fallback/AtenFallback.h"
#include "runtime/fallback/TorchBlas.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-run options");
static cl::opt<std::string> BlobPath(cl::Positional, cl::desc("<model.atb>"), cl::Required, cl::cat(Cat));
static cl::opt<std::string> Inputs("inputs", cl::desc("sample (embedded in the blob, default) or random"),
                                   cl::init("sample"), cl::cat(Cat));
static cl::list<std::string> InputFiles("input", cl::desc("Raw little-endian input file, once per input"),
                                        cl::value_desc("FILE"), cl::cat(Cat));
static cl::opt<uint64_t> Seed("seed", cl::desc("Seed for --inputs random"), cl::init(0), cl::cat(Cat));
static cl::opt<unsigned> Runs("runs", cl::desc("Run the program this many times"), cl::init(1), cl::cat(Cat));
static cl::opt<bool> Trace("trace", cl::desc("Print one line per executed op"), cl::cat(Cat));
static cl::opt<std::string> Check("check", cl::desc("Compare with the eager LibTorch oracle of this .pt2"),
                                  cl::value_desc("model.pt2"), cl::cat(Cat));
static cl::opt<double> Rtol("rtol",
                            cl::desc("--check: allowed normalised error max|d| / max|ref| (default: derived from the "
                                     "model, u = 2^-24 times 16 plus 2K for each sum of K products and the like; for "
                                     "a bf16 blob 2^-8 x (6 + log2 n), n its longest reduction: see docs/numerics.md)"),
                            cl::init(0), cl::cat(Cat));
static cl::opt<double> FlipTol("flip-tol",
                               cl::desc("--check, bf16 blobs: fraction of a bool or integer output's elements that "
                                        "may differ from eager (default 0.005; f32 blobs compare them exactly)"),
                               cl::init(5e-3), cl::cat(Cat));
static cl::opt<bool> PerOp("per-op",
                           cl::desc("--check: also run each instruction alone on eager's inputs and compare it with "
                                    "eager's outputs (one row per instruction; names the first node over tolerance)"),
                           cl::cat(Cat));
static cl::opt<std::string> OutputDir("output-dir", cl::desc("Write out<i>.bin and outputs.json here"),
                                      cl::value_desc("DIR"), cl::cat(Cat));
static cl::opt<std::string> MachineName("machine",
                                        cl::desc("Machine description: a preset (atalla-rtl, the default: 2 pads x "
                                                 "1 MiB; atalla-sim4: 4 pads x 0.5 MiB; atalla-sim-tpu: atalla-sim's GEMM runs) "
                                                 "or a JSON file"),
                                        cl::value_desc("NAME|FILE"), cl::init("atalla-rtl"), cl::cat(Cat));
static cl::opt<unsigned> Pads("scratchpads", cl::desc("Number of scratchpads (default: the machine's)"), cl::init(2),
                              cl::cat(Cat));
static cl::opt<uint64_t> PadKiB("scratchpad-kib", cl::desc("Scratchpad size in KiB (default: the machine's)"),
                                cl::init(1024), cl::cat(Cat));
static cl::opt<bool> Counters("counters",
                              cl::desc("Print per-instruction counters (FLOPs, SDMA bytes, firmware calls, "
                                       "scratchpad peak, fallback bytes, host time) and modelled cycles"),
                              cl::cat(Cat));
static cl::opt<std::string> ReportJson("report-json", cl::desc("Write the counters and the cycle model as JSON"),
                                       cl::value_desc("FILE"), cl::cat(Cat));
static cl::opt<std::string> ChromeTrace("chrome-trace",
                                        cl::desc("Write a Chrome trace (Perfetto, chrome://tracing): modelled "
                                                 "compute/SDMA/fallback tracks and host-time tracks"),
                                        cl::value_desc("FILE"), cl::cat(Cat));

static const std::string LimitHelp =
    "Change a limit on untrusted input, KEY=N (N may end in K, M or G); keys and defaults:\n" + tools::limitKeysHelp();
static cl::list<std::string> LimitFlags("limit", cl::desc(LimitHelp), cl::value_desc("KEY=N"), cl::cat(Cat));

static int fail(Error E) {
  tools::reportError("atalla-run", std::move(E));
  return 1;
}

using driver::toHost;
using driver::toTensorData;
using driver::Comparison;
using driver::Tolerance;
/// What --check holds outputs to (set once the model is read).
static Tolerance Tol;

static std::string shapeText(const std::vector<int64_t> &S) { return frontend::formatShape(S); }

/// One instruction of --trace: where it ran, op, input shapes, node, host time.
static std::string traceLine(const runtime::TraceEvent &E) {
  std::string S = E.IsFallback ? "[FALLBACK] " + E.Op : "[ATALLA] " + E.Op;
  if (E.Op == "gemm" && E.InputShapes.size() >= 2) {
    S += " " + shapeText(E.InputShapes[0]) + " @ " + shapeText(E.InputShapes[1]);
  } else {
    for (size_t I = 0; I < E.InputShapes.size(); ++I)
      S += (I ? ", " : " ") + shapeText(E.InputShapes[I]);
  }
  char Ms[32];
  std::snprintf(Ms, sizeof(Ms), "  %.3f ms", E.Ms);
  return S + "  (" + E.Node + ")" + Ms;
}

//===----------------------------------------------------------------------===//
// --per-op: single-layer diagnosis
//===----------------------------------------------------------------------===//

static std::string g3(double V) {
  char Buf[32];
  std::snprintf(Buf, sizeof Buf, "%.3g", V);
  return Buf;
}

/// Runs every instruction alone on eager's inputs (driver::diagnosePerOp,
/// oneDNN as the second reference) and prints the table. Returns the
/// message naming the first node over tolerance, if any.
static std::optional<std::string> runPerOp(const runtime::Blob &B, runtime::Executor &X,
                                           const std::map<std::string, frontend::TensorData> &Eager) {
  driver::PerOpReport R = driver::diagnosePerOp(
      B, X, Eager, Tol, [](const abi::KernelSpec &Spec, const std::vector<const float *> &In) {
        return reference::runOneDnn(Spec, In);
      });
  struct Text {
    std::string Index, Node, Op, Shape, MaxAbs, MaxRel, Norm, Status, OneDnn = "-";
  };
  std::vector<Text> Rows;
  for (const driver::PerOpRow &Row : R.Rows) {
    Text T;
    T.Index = std::to_string(Row.Index);
    T.Node = Row.Node;
    T.Op = Row.Op;
    T.Shape = Row.Shape;
    switch (Row.Status) {
    case driver::PerOpStatus::Error:
      T.MaxAbs = T.MaxRel = T.Norm = "-";
      T.Status = "ERROR";
      break;
    case driver::PerOpStatus::NoEagerValue:
      T.MaxAbs = T.MaxRel = T.Norm = "-";
      T.Status = "no eager value";
      break;
    case driver::PerOpStatus::Ok:
    case driver::PerOpStatus::Mismatch:
      if (Row.Exact) {
        T.MaxAbs = std::to_string(Row.Differ) + " differ";
        T.MaxRel = T.Norm = "exact";
      }
      if (!Row.Exact || Row.MaxAbs > 0 || Row.Norm > 0) {
        T.MaxAbs = g3(Row.MaxAbs);
        T.MaxRel = g3(Row.MaxRel);
        T.Norm = g3(Row.Norm);
      }
      T.Status = Row.Status == driver::PerOpStatus::Ok ? "OK" : "MISMATCH";
      break;
    }
    if (Row.IsKernel && Row.Status != driver::PerOpStatus::Error)
      T.OneDnn = Row.VersusReference ? g3(*Row.VersusReference) : "?";
    Rows.push_back(std::move(T));
  }

  outs() << "--- PER-OP CHECK against eager LibTorch " << reference::libtorchVersion()
         << " (each instruction alone on eager's inputs; "
         << (Tol.Why.empty() ? "float32 tolerance: normalised err <= " + g3(Tol.Float) + ", other dtypes exact"
                             : Tol.Why)
         << ") ---\n";
  Text Head{"#", "node", "kernel / aten op", "output", "max abs err", "max rel err", "norm err", "status",
            "vs oneDNN"};
  size_t W[8] = {};
  auto Widen = [&](const Text &T) {
    const std::string *F[8] = {&T.Index, &T.Node, &T.Op, &T.Shape, &T.MaxAbs, &T.MaxRel, &T.Norm, &T.Status};
    for (int K = 0; K < 8; ++K)
      W[K] = std::max(W[K], F[K]->size());
  };
  Widen(Head);
  for (const Text &T : Rows)
    Widen(T);
  auto Print = [&](const Text &T) {
    outs() << left_justify(T.Index, W[0]) << "  " << left_justify(T.Node, W[1]) << "  " << left_justify(T.Op, W[2])
           << "  " << left_justify(T.Shape, W[3]) << "  " << right_justify(T.MaxAbs, W[4]) << "  "
           << right_justify(T.MaxRel, W[5]) << "  " << right_justify(T.Norm, W[6]) << "  " << left_justify(T.Status, W[7])
           << "  " << T.OneDnn << "\n";
  };
  Print(Head);
  for (const Text &T : Rows)
    Print(T);
  outs() << "per-op: " << Rows.size() << " instructions, " << (Rows.size() - R.Failed - R.Unchecked) << " OK, "
         << R.Failed << " over tolerance or failed, " << R.Unchecked << " without an eager value\n";
  if (R.First)
    outs() << *R.First << "\n";
  return R.First;
}

/// The flags' values that are not checked by their parser; false after
/// printing why (exit 2).
static bool flagsAreValid(tools::ReaderLimits &Limits) {
  if (Inputs != "sample" && Inputs != "random") {
    errs() << "atalla-run: error: --inputs must be 'sample' or 'random', got '" << Inputs << "'\n";
    return false;
  }
  if (Runs < 1) {
    errs() << "atalla-run: error: --runs must be at least 1\n";
    return false;
  }
  if (PerOp && Check.empty()) {
    errs() << "atalla-run: error: --per-op compares with eager and needs --check model.pt2\n";
    return false;
  }
  if (Error E = tools::applyLimits(LimitFlags, Limits)) {
    tools::reportError("atalla-run", std::move(E));
    return false;
  }
  if (Rtol.getNumOccurrences() && !(Rtol >= 0)) {
    errs() << "atalla-run: error: --rtol must be a number >= 0\n";
    return false;
  }
  if (!(FlipTol >= 0 && FlipTol <= 1)) {
    errs() << "atalla-run: error: --flip-tol must be between 0 and 1\n";
    return false;
  }
  return true;
}

/// The program's inputs: --input files, --inputs random, or the samples
/// embedded in the blob.
static Expected<std::vector<runtime::HostTensor>> loadInputs(const runtime::Blob &B) {
  std::vector<runtime::HostTensor> In;
  llvm::ArrayRef<uint32_t> InIdx = B.inputs();
  if (!InputFiles.empty()) {
    if (InputFiles.size() != InIdx.size())
      return frontend::makeError(BlobPath + ": the program takes " + std::to_string(InIdx.size()) +
                                 " input(s), " + std::to_string(InputFiles.size()) + " --input file(s) given");
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B.tensors()[InIdx[I]];
      runtime::HostTensor H;
      H.DType = R.DType;
      H.Sizes.assign(R.Sizes, R.Sizes + R.Rank);
      uint64_t Want = runtime::recordNumel(R) * runtime::dtypeElementSize(R.DType);
      auto Buf = MemoryBuffer::getFile(InputFiles[I], false, false);
      if (!Buf)
        return frontend::makeError(InputFiles[I] + ": cannot read: " + Buf.getError().message());
      if ((*Buf)->getBufferSize() != Want)
        return frontend::makeError(InputFiles[I] + ": expected " + std::to_string(Want) + " bytes for input '" +
                                   B.tensorName(InIdx[I]).str() + "' (" + runtime::dtypeName(R.DType) + " " +
                                   runtime::formatShape(H.Sizes) + "), got " +
                                   std::to_string((*Buf)->getBufferSize()));
      H.Bytes.assign((*Buf)->getBufferStart(), (*Buf)->getBufferEnd());
      In.push_back(std::move(H));
    }
  } else if (Inputs == "random") {
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B.tensors()[InIdx[I]];
      auto T = frontend::scalarTypeFromSchema(R.DType);
      if (!T)
        return frontend::makeError(BlobPath + ": input dtype " + std::to_string(R.DType));
      In.push_back(toHost(tools::randomTensor(*T, std::vector<int64_t>(R.Sizes, R.Sizes + R.Rank), Seed + I)));
    }
  } else {
    llvm::ArrayRef<uint8_t> S = B.section(abi::SectionKind::SampleInputs);
    if (S.empty() && !InIdx.empty())
      return frontend::makeError(BlobPath + ": the blob has no sample inputs (the archive had none, or "
                                            "--input-shape changed their shapes); use --inputs random or --input FILE");
    uint64_t Off = 0;
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B.tensors()[InIdx[I]];
      uint64_t Bytes = runtime::recordNumel(R) * runtime::dtypeElementSize(R.DType);
      Off = (Off + abi::BlobAlignment - 1) / abi::BlobAlignment * abi::BlobAlignment;
      if (Off + Bytes > S.size())
        return frontend::makeError(BlobPath + ": sample inputs section is shorter than the inputs");
      runtime::HostTensor H;
      H.DType = R.DType;
      H.Sizes.assign(R.Sizes, R.Sizes + R.Rank);
      H.Bytes.assign(S.begin() + Off, S.begin() + Off + Bytes);
      In.push_back(std::move(H));
      Off += Bytes;
    }
  }
  return In;
}

/// The machine --machine, --scratchpads and --scratchpad-kib describe, and
/// the device it needs; 0, or the exit code after saying why.
static int chooseMachine(const runtime::Blob &B, sim::MachineDesc &Machine, sim::DeviceConfig &Config) {
  auto Loaded = sim::loadMachine(MachineName);
  if (!Loaded) {
    tools::reportError("atalla-run", Loaded.takeError());
    return 2;
  }
  Machine = *Loaded;
  if (Pads.getNumOccurrences())
    Machine.NumPads = Pads;
  if (PadKiB.getNumOccurrences())
    Machine.PadBytes = std::min<uint64_t>(PadKiB, 1ull << 23) * 1024;
  if (Machine.NumPads < 1 || Machine.NumPads > 64 || Machine.PadBytes < 4096 || Machine.PadBytes > (1ull << 32)) {
    errs() << "atalla-run: error: scratchpads must be 1..64 pads of 4 KiB..4 GiB\n";
    return 2;
  }
  Config = sim::deviceConfig(Machine);
  // Kernels size their tiles to the pads they were compiled for; smaller
  // pads would make them fail mid-run with ENOMEM. Say so up front.
  if (std::optional<std::string> Compiled = B.provenance("pad_bytes")) {
    uint64_t Want = 0;
    if (!StringRef(*Compiled).getAsInteger(10, Want) && Want > Config.PadBytes)
      return fail(frontend::makeError(
          BlobPath + ": compiled for scratchpads of " + std::to_string(Want / 1024) + " KiB (machine " +
          B.provenance("machine").value_or("?") + "), but this device's are " +
          std::to_string(Config.PadBytes / 1024) + " KiB: recompile with atalla-gen --machine " + MachineName.getValue() +
          (Pads.getNumOccurrences() || PadKiB.getNumOccurrences() ? " and the same pad size" : "")));
  }
  return 0;
}

/// --counters, --report-json and --chrome-trace from \p Prof.
static Error writeProfiles(const runtime::Profile &Prof) {
  if (Counters)
    Prof.printTable(outs());
  auto WriteTo = [&](const std::string &Path, auto &&Write) -> Error {
    std::error_code EC;
    raw_fd_ostream OS(Path, EC);
    if (EC)
      return frontend::makeError(Path + ": cannot write: " + EC.message());
    Write(OS);
    OS.close();
    if (OS.has_error())
      return frontend::makeError(Path + ": write failed: " + OS.error().message());
    return Error::success();
  };
  if (!ReportJson.empty())
    if (Error E = WriteTo(ReportJson, [&](raw_ostream &OS) { Prof.writeJson(OS); }))
      return E;
  if (!ChromeTrace.empty())
    if (Error E = WriteTo(ChromeTrace, [&](raw_ostream &OS) { Prof.writeChromeTrace(OS); }))
      return E;
  return Error::success();
}

/// --check: the eager oracle on the same inputs, each output compared, and
/// with --per-op every instruction alone; the exit code.
static int checkAgainstEager(const runtime::Blob &B, runtime::Executor &X, const tools::ReaderLimits &Limits,
                             const std::vector<runtime::HostTensor> &In, const std::vector<runtime::HostTensor> &Out,
                             bool RunFailed) {
  // The oracle on the same inputs.
  auto M = frontend::readModel(Check, Limits.Archive);
  if (!M)
    return fail(M.takeError());
  // The tolerance: derived from the model's reductions (f32) or the blob's
  // longest one (bf16), unless --rtol says otherwise.
  Tol = B.bf16() ? driver::bf16Tolerance(B.longestReduction(), FlipTol) : driver::f32Tolerance(*M);
  if (Rtol.getNumOccurrences()) {
    Tol.Float = Rtol;
    char Buf[160];
    if (Tol.Flip > 0)
      snprintf(Buf, sizeof(Buf), "%sfloat32 --rtol %.3g, other dtypes up to %.3g of elements differ",
               B.bf16() ? "bf16 blob: " : "", Tol.Float, Tol.Flip);
    else
      snprintf(Buf, sizeof(Buf), "float32 --rtol %.3g, other dtypes exact", Tol.Float);
    Tol.Why = Buf;
  }
  auto Interp = reference::EagerInterpreter::create(*M);
  if (!Interp)
    return fail(Interp.takeError());
  (*Interp)->setKeepValues(PerOp);
  std::vector<frontend::TensorData> EIn;
  for (const runtime::HostTensor &H : In)
    EIn.push_back(toTensorData(H));
  auto Ref = (*Interp)->run(EIn);
  if (!Ref)
    return fail(Ref.takeError());
  if (!RunFailed && Ref->size() != Out.size())
    return fail(frontend::makeError("--check: the blob has " + std::to_string(Out.size()) + " outputs, " + Check +
                                    " has " + std::to_string(Ref->size())));
  bool Ok = !RunFailed;
  if (!RunFailed)
    outs() << "--- CHECK against eager LibTorch " << reference::libtorchVersion() << " on "
           << runtime::blasProvider().text() << " (" << Tol.Why << ") ---\n";
  for (size_t I = 0; I < Out.size() && !RunFailed; ++I) {
    frontend::TensorData G = toTensorData(Out[I]);
    const frontend::TensorData &R = (*Ref)[I];
    if (G.Sizes != R.Sizes || G.Dtype != R.Dtype) {
      outs() << "output " << I << ": shape/dtype differ: " << frontend::scalarTypeName(G.Dtype)
             << frontend::formatShape(G.Sizes) << " vs " << frontend::scalarTypeName(R.Dtype)
             << frontend::formatShape(R.Sizes) << "\n";
      Ok = false;
      continue;
    }
    Comparison C = driver::compareTensors(G, R, Tol);
    if (C.Exact) {
      outs() << "output " << I << ": " << C.Differ << " of " << G.numel() << " elements differ ";
      if (Tol.Flip > 0)
        outs() << format("(%.3g of them; up to %.3g may) %s\n", double(C.Differ) / double(std::max<int64_t>(G.numel(), 1)),
                         Tol.Flip, C.Pass ? "OK" : "MISMATCH");
      else
        outs() << "(exact compare)\n";
      Ok &= C.Pass;
      continue;
    }
    outs() << format("output %zu: max abs err %.3g, max rel err %.3g, normalised err %.3g (max|ref| %.3g) %s\n", I,
                     C.MaxAbs, C.MaxRel, C.Norm, C.MaxRef, C.Pass ? "OK" : "MISMATCH");
    Ok &= C.Pass;
  }
  if (PerOp) {
    std::optional<std::string> First = runPerOp(B, X, (*Interp)->values());
    if (First) {
      errs() << "atalla-run: error: " << BlobPath << ": " << *First << "\n";
      return 1;
    }
    if (!Ok) {
      errs() << "atalla-run: error: " << BlobPath << ": outputs differ from eager " << Check
             << ", but every instruction is within tolerance on eager's inputs (the error accumulates)\n";
      return 1;
    }
    return 0;
  }
  if (!Ok) {
    errs() << "atalla-run: error: " << BlobPath << ": outputs differ from eager " << Check << "\n";
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  tools::installVersionPrinter("atalla-run", runtime::blasVersionLine);
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-run: run an Atalla blob (.atb) on the simulated device\n\n"
                              "  atalla-run model.atb --trace\n"
                              "  atalla-run model.atb --inputs random --seed 1 --check model.pt2\n"
                              "  atalla-run model.atb --counters --chrome-trace trace.json --machine atalla-sim4\n");
  tools::ReaderLimits Limits;
  if (!flagsAreValid(Limits))
    return 2;
  auto B = runtime::Blob::readFile(BlobPath, Limits.Blob);
  if (!B)
    return fail(B.takeError());
  auto Loaded = loadInputs(*B);
  if (!Loaded)
    return fail(Loaded.takeError());
  const std::vector<runtime::HostTensor> In = std::move(*Loaded);
  sim::MachineDesc MachineD;
  sim::DeviceConfig Config;
  if (int Rc = chooseMachine(*B, MachineD, Config))
    return Rc;
  const sim::MachineDesc *Machine = &MachineD;
  runtime::AtenFallback Fallback;
  auto X = runtime::Executor::create(*B, Config, &Fallback);
  if (!X)
    return fail(X.takeError());
  std::string Compiler = B->provenance("compiler").value_or("?");
  outs() << "--- RUNTIME EXECUTION (" << B->instructions().size() << " instructions, " << B->kernels().size()
         << " kernels, DRAM " << B->dramBytes() << " bytes, " << Config.NumPads << " scratchpads x "
         << Config.PadBytes / 1024 << " KiB (" << Machine->Name << "); built by " << Compiler << ") ---\n";
  const bool Profiling = Counters || !ReportJson.empty() || !ChromeTrace.empty();
  runtime::Profile Prof(*B, *Machine);
  if (Trace || Profiling)
    (*X)->setTrace([&](const runtime::TraceEvent &E) {
      if (Trace)
        outs() << traceLine(E) << "\n";
      if (Profiling)
        Prof.add(E);
    });
  std::vector<runtime::HostTensor> Out;
  bool RunFailed = false;
  for (unsigned R = 0; R < Runs && !RunFailed; ++R) {
    auto Res = (*X)->run(In);
    if (!Res && PerOp) {
      // The per-op table is the diagnosis for exactly this: go on to it.
      tools::reportError("atalla-run", Res.takeError());
      RunFailed = true;
      break;
    }
    if (!Res)
      return fail(Res.takeError());
    Out = std::move(*Res);
    for (size_t I = 0; I < Out.size(); ++I)
      tools::printTensorLine(outs(), "run " + std::to_string(R + 1) + ": output " + std::to_string(I) + " '" +
                                         B->tensorName(B->outputs()[I]).str() + "'",
                             toTensorData(Out[I]));
  }
  if (Profiling && !RunFailed)
    if (Error E = writeProfiles(Prof))
      return fail(std::move(E));
  if (!OutputDir.empty() && !RunFailed) {
    std::vector<std::string> Names;
    std::vector<frontend::TensorData> Data;
    for (size_t I = 0; I < Out.size(); ++I) {
      Names.push_back(B->tensorName(B->outputs()[I]).str());
      Data.push_back(toTensorData(Out[I]));
    }
    if (Error E = tools::writeOutputs(OutputDir, Names, Data))
      return fail(std::move(E));
  }
  if (Check.empty())
    return 0;
  return checkAgainstEager(*B, **X, Limits, In, Out, RunFailed);
}
