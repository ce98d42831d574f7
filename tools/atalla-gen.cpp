//===- tools/atalla-gen.cpp - compile a .pt2 into an Atalla blob ----------===//
//
// atalla-gen --shapes static model.pt2 [-o model.atb]: frontend, lowering
// (with --print-after-all), code generation and blob writing, printing what
// the seed's backend demos printed (ops seen, partition, compile stats).
//
//===----------------------------------------------------------------------===//
#include "codegen/BlobWriter.h"
#include "codegen/KernelCache.h"
#include "driver/Compile.h"
#include "codegen/KernelEmitter.h"
#include "frontend/Archive.h"
#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "lower/Pipeline.h"
#include "runtime/abi/KernelSpec.h"
#include "target/Machine.h"
#include "tools/ToolSupport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/PrintPasses.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <unistd.h>

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-gen options");
static cl::opt<std::string> InputPath(cl::Positional, cl::desc("<model.pt2>"), cl::Required, cl::cat(Cat));
static cl::opt<std::string> OutputPath("o", cl::desc("Output: the blob (default: the input's name with .atb); for --emit=llvm|asm|program a text file (default stdout); for --emit=obj a directory"),
                                       cl::value_desc("file"), cl::cat(Cat));
static cl::opt<std::string> Shapes("shapes", cl::desc("Shape mode: static (every dimension specialised)"),
                                   cl::init("static"), cl::cat(Cat));
static cl::list<std::string> InputShapes("input-shape",
                                         cl::desc("Static shape of an input: name=AxBxC (once per input)"),
                                         cl::value_desc("name=AxB"), cl::cat(Cat));
static cl::opt<bool> AccelOnly("accel-only", cl::desc("Refuse to compile if any op would fall back"), cl::cat(Cat));
static cl::opt<bool> NoFuseElementwise("no-fuse-elementwise",
                                       cl::desc("Keep every elementwise op a kernel of its own (no chain kernels)"),
                                       cl::cat(Cat));
static cl::opt<bool> NoDirectConv("no-direct-conv",
                                  cl::desc("Convolutions as a padded copy, a materialised im2col and a GEMM "
                                           "(not the conv2d kernel)"),
                                  cl::cat(Cat));
static cl::opt<std::string> Emit("emit", cl::desc("What to produce: blob (default), llvm, asm, obj, program"),
                                 cl::init("blob"), cl::cat(Cat));
static cl::opt<std::string> TargetCPU("target-cpu",
                                      cl::desc("CPU to generate code for (default: the host's), e.g. znver4, "
                                               "sapphirerapids, x86-64-v3; the blob records the ISA features the "
                                               "code may use and atalla-run refuses it on a host without them"),
                                      cl::cat(Cat));
static cl::opt<std::string> TargetFeatures("target-features",
                                           cl::desc("ISA features to add or remove, e.g. -avx512f (default: the "
                                                    "host's, or the --target-cpu's own)"),
                                           cl::value_desc("+f,-g"), cl::cat(Cat));
static cl::opt<unsigned> OptLevel("O", cl::desc("Optimisation level 0-3 (default 3)"), cl::init(3), cl::Prefix,
                                  cl::cat(Cat));
static cl::opt<bool> Quiet("quiet", cl::desc("Print nothing but errors"), cl::cat(Cat));
static cl::opt<std::string> CacheDir("cache-dir",
                                     cl::desc("Keep compiled kernels here and reuse them (default: "
                                              "$ATALLA_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, "
                                              "/atalla-gen/kernels)"),
                                     cl::value_desc("DIR"), cl::cat(Cat));
static cl::opt<bool> NoCache("no-cache", cl::desc("Compile every kernel; read and write no kernel cache"),
                             cl::cat(Cat));
static cl::opt<unsigned> Jobs("j", cl::desc("Threads compiling kernels (default: one per core)"), cl::init(0),
                              cl::value_desc("N"), cl::Prefix, cl::cat(Cat));
static cl::opt<bool> Report("report",
                            cl::desc("Print the coverage report: per op where it runs (accelerated, fused, view, "
                                     "fallback) and why, its FLOPs and bytes, and the accelerated shares"),
                            cl::cat(Cat));
static cl::opt<std::string> MachineName("machine",
                                        cl::desc("Target machine: a preset (atalla-rtl, the default; atalla-sim4; atalla-sim-tpu) or a "
                                                 "JSON description; kernels size their scratchpad tiles to its pads"),
                                        cl::value_desc("NAME|FILE"), cl::init("atalla-rtl"), cl::cat(Cat));
static cl::opt<std::string> Precision("precision",
                                      cl::desc("Storage precision: f32 (the default) or bf16, Atalla's own: weights "
                                               "are rounded to bf16 (nearest even), activations live in DRAM as "
                                               "bf16, kernels compute in f32 and round what they store"),
                                      cl::value_desc("f32|bf16"), cl::init("f32"), cl::cat(Cat));
static const std::string LimitHelp =
    "Change a limit on untrusted input, KEY=N (N may end in K, M or G); keys and defaults:\n" + tools::limitKeysHelp();
static cl::list<std::string> LimitFlags("limit", cl::desc(LimitHelp), cl::value_desc("KEY=N"), cl::cat(Cat));
static cl::opt<std::string> ReportJson("report-json", cl::desc("Write the coverage report as JSON to this file"),
                                       cl::value_desc("file"), cl::cat(Cat));

static const char *placementName(lower::NodeDecision::Kind K) {
  switch (K) {
  case lower::NodeDecision::Accelerated: return "accelerated";
  case lower::NodeDecision::Fused: return "fused";
  case lower::NodeDecision::View: return "view";
  case lower::NodeDecision::Fallback: return "fallback";
  case lower::NodeDecision::Removed: return "removed";
  }
  return "?";
}

static void printReport(raw_ostream &OS, const lower::Program &P) {
  lower::Coverage C = lower::coverageOf(P.Decisions);
  OS << "Coverage report\n";
  OS << format("  %-24s %-40s %-11s %-9s %12s %12s  %s\n", (const char *)"node", (const char *)"target",
               (const char *)"placement", (const char *)"kernel", (const char *)"MFLOP", (const char *)"KiB",
               (const char *)"reason");
  for (const lower::NodeDecision &D : P.Decisions) {
    StringRef T = D.Target;
    T.consume_front("torch.ops.");
    OS << format("  %-24s %-40s %-11s %-9s %12.3f %12.1f  %s\n", D.Node.c_str(), T.str().c_str(),
                 placementName(D.K), D.Kernel.c_str(), D.Flops / 1e6, D.Bytes / 1024, D.Reason.c_str());
  }
  OS << format("  ops: %u computing (%u accelerated, %u fused, %u fallback), %u views\n", C.Ops, C.AcceleratedOps,
               C.FusedOps, C.FallbackOps, C.Views);
  OS << format("  accelerated: %.1f%% of ops, %.2f%% of %.3f GFLOP, %.2f%% of %.2f MiB\n", 100 * C.opsFraction(),
               100 * C.flopsFraction(), C.Flops / 1e9, 100 * C.bytesFraction(), C.Bytes / (1 << 20));
}

static Error writeReportJson(const std::string &Path, const lower::Program &P, StringRef Model) {
  lower::Coverage C = lower::coverageOf(P.Decisions);
  std::error_code EC;
  raw_fd_ostream F(Path, EC, sys::fs::OF_Text);
  if (EC)
    return frontend::makeError(Path + ": cannot write: " + EC.message());
  json::OStream J(F, 2);
  J.object([&] {
    J.attribute("model", Model);
    J.attribute("accelerated_ops_fraction", C.opsFraction());
    J.attribute("accelerated_flops_fraction", C.flopsFraction());
    J.attribute("accelerated_bytes_fraction", C.bytesFraction());
    J.attribute("ops", int64_t(C.Ops));
    J.attribute("accelerated_ops", int64_t(C.AcceleratedOps));
    J.attribute("fused_ops", int64_t(C.FusedOps));
    J.attribute("fallback_ops", int64_t(C.FallbackOps));
    J.attribute("views", int64_t(C.Views));
    J.attribute("flops", C.Flops);
    J.attribute("accelerated_flops", C.AcceleratedFlops);
    J.attribute("bytes", C.Bytes);
    J.attribute("accelerated_bytes", C.AcceleratedBytes);
    J.attributeArray("nodes", [&] {
      for (const lower::NodeDecision &D : P.Decisions)
        J.object([&] {
          J.attribute("node", D.Node);
          J.attribute("target", D.Target);
          J.attribute("placement", placementName(D.K));
          J.attribute("kernel", D.Kernel);
          J.attribute("reason", D.Reason);
          J.attribute("flops", D.Flops);
          J.attribute("bytes", D.Bytes);
        });
    });
  });
  F << "\n";
  F.close();
  if (F.has_error())
    return frontend::makeError(Path + ": write failed");
  return Error::success();
}

/// Per kernel (distinct specialisation) and per phase, in ms.
static void printCompileTimes(raw_ostream &OS, const codegen::BlobStats &St,
                              const std::vector<std::pair<std::string, double>> &PassTimes,
                              const std::array<double, 7> &Phase) {
  OS << "Compile time per kernel (ms; ordered by total)\n";
  OS << format("  %9s %9s %9s %9s %10s %5s  %s\n", (const char *)"IR", (const char *)"opt", (const char *)"obj",
               (const char *)"total", (const char *)"obj bytes", (const char *)"uses", (const char *)"kernel");
  std::vector<const codegen::KernelStat *> Ks;
  for (const codegen::KernelStat &K : St.Kernels)
    Ks.push_back(&K);
  std::stable_sort(Ks.begin(), Ks.end(), [](const codegen::KernelStat *A, const codegen::KernelStat *B) {
    return A->IrMs + A->OptMs + A->CodegenMs > B->IrMs + B->OptMs + B->CodegenMs;
  });
  for (const codegen::KernelStat *K : Ks)
    OS << format("  %9.2f %9.2f %9.2f %9.2f %10llu %5u  %s%s\n", K->IrMs, K->OptMs, K->CodegenMs,
                 K->IrMs + K->OptMs + K->CodegenMs, (unsigned long long)K->CodeBytes, K->Uses, K->Key.c_str(),
                 K->Cached ? " (cached)" : "");
  OS << "Compile time per phase (ms)\n";
  OS << format("  %-28s %9.2f\n", (const char *)"load (.pt2 archive)", Phase[0]);
  OS << format("  %-28s %9.2f\n", (const char *)"lower", Phase[1]);
  for (const auto &[Pass, Ms] : PassTimes)
    OS << format("    %-26s %9.2f\n", Pass.c_str(), Ms);
  OS << format("  %-28s %9.2f  (%u thread%s; %u of %zu kernels from the cache: %s)\n",
               (const char *)"kernels (wall)", St.KernelsWallMs, St.CompileThreads, St.CompileThreads == 1 ? "" : "s",
               St.CacheHits, St.Kernels.size(),
               St.CacheHits == St.Kernels.size() && !St.Kernels.empty() ? "warm"
               : St.CacheHits                                           ? "partly warm"
                                                                        : "cold");
  OS << format("    %-26s %9.2f\n", (const char *)"IR generation", Phase[2]);
  OS << format("    %-26s %9.2f\n", (const char *)"optimisation", Phase[3]);
  OS << format("    %-26s %9.2f\n", (const char *)"object code", Phase[4]);
  OS << format("  %-28s %9.2f\n", (const char *)"blob assembly", std::max(0.0, Phase[5]));
  OS << format("  %-28s %9.2f\n", (const char *)"write", Phase[6]);
}

static int fail(Error E) {
  tools::reportError("atalla-gen", std::move(E));
  return 1;
}

static Expected<std::vector<int64_t>> parseDims(StringRef Text, StringRef Arg) {
  std::vector<int64_t> Dims;
  SmallVector<StringRef, 4> Parts;
  Text.split(Parts, 'x');
  for (StringRef P : Parts) {
    int64_t V;
    if (P.empty() || P.getAsInteger(10, V) || V < 0)
      return frontend::makeError("--input-shape " + Arg + ": '" + P + "' is not a dimension (expected name=AxBxC)");
    Dims.push_back(V);
  }
  return Dims;
}

/// The archive -i names, read within \p Limits; its file name and hash go
/// into \p DO for the blob's provenance.
static Expected<frontend::Model> loadArchive(const tools::ReaderLimits &Limits, driver::CompileOptions &DO) {
  auto Buf = MemoryBuffer::getFile(InputPath, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!Buf)
    return frontend::makeError(InputPath + ": cannot read: " + Buf.getError().message());
  // The reader checks this too, but only after the copy below: refuse a
  // huge file before copying it into memory.
  if ((*Buf)->getBufferSize() > Limits.Archive.Zip.MaxFileBytes)
    return frontend::makeError(InputPath + ": the archive is " + std::to_string((*Buf)->getBufferSize()) +
                               " bytes, more than the limit of " + std::to_string(Limits.Archive.Zip.MaxFileBytes) +
                               " (--limit archive-bytes)");
  auto M = frontend::readModelFromBuffer(std::vector<uint8_t>((*Buf)->getBufferStart(), (*Buf)->getBufferEnd()),
                                         InputPath, Limits.Archive);
  if (!M)
    return M.takeError();
  DO.SourceName = sys::path::filename(InputPath).str();
  DO.SourceHash = utohexstr(abi::fnv1a64((*Buf)->getBufferStart(), (*Buf)->getBufferSize()), /*LowerCase=*/true);
  return M;
}

/// \p Bytes to the file \p Path.
static Error writeBinary(const std::string &Path, ArrayRef<uint8_t> Bytes) {
  std::error_code EC;
  raw_fd_ostream F(Path, EC, sys::fs::OF_None);
  if (EC)
    return frontend::makeError(Path + ": cannot open for writing: " + EC.message());
  F.write(reinterpret_cast<const char *>(Bytes.data()), Bytes.size());
  F.close();
  if (F.has_error())
    return frontend::makeError(Path + ": write failed");
  return Error::success();
}

/// The closing lines of a compile: program, kernels, DRAM, blob.
static void printSummary(raw_ostream &OS, const frontend::Model &M, const lower::Program &P,
                         const codegen::BlobStats &St, const std::string &Out) {
  OS << "Compiling graph -> " << M.G.Nodes.size() << " call_function nodes\n";
  OS << "Program length: " << St.Instructions << " (" << St.KernelInstructions << " kernel, "
     << St.FallbackInstructions << " fallback)\n";
  OS << "Kernels: " << St.Kernels.size() << " distinct specialisation(s), " << St.CodeBytes << " code bytes\n";
  OS << "DRAM: " << P.DramBytes << " bytes planned (constants " << P.ConstantBytes << ", activations "
     << P.ArenaBytes << ", live-bytes lower bound " << P.LowerBoundBytes << ")\n";
  OS << "Blob: " << St.BlobBytes << " bytes -> " << Out << "\n";
}

/// What the seed's backend demos printed: the ops seen, where each went,
/// and the partition.
static void printDecisions(raw_ostream &OS, const frontend::Model &M, const lower::Program &P) {
  unsigned Accel = 0, Fallback = 0, Views = 0;
  for (const lower::NodeDecision &D : P.Decisions)
    (D.K == lower::NodeDecision::Fallback ? Fallback : D.K == lower::NodeDecision::View ? Views : Accel)++;
  OS << "Ops seen: " << M.G.Nodes.size() << " call_function nodes (" << Accel << " accelerated, " << Views
     << " views, " << Fallback << " fallback, " << (M.G.Nodes.size() - P.Decisions.size()) << " removed)\n";
  for (const lower::NodeDecision &D : P.Decisions) {
    StringRef T = D.Target;
    T.consume_front("torch.ops.");
    switch (D.K) {
    case lower::NodeDecision::Accelerated:
      OS << "  [ATALLA]   " << left_justify(D.Node, 20) << " " << T << " -> " << D.Kernel << "\n";
      break;
    case lower::NodeDecision::View:
      OS << "  [VIEW]     " << left_justify(D.Node, 20) << " " << T << (D.Kernel.empty() ? "" : " (with copy)")
         << "\n";
      break;
    case lower::NodeDecision::Fallback:
      OS << "  [FALLBACK] " << left_justify(D.Node, 20) << " " << T << " (" << D.Reason << ")\n";
      break;
    case lower::NodeDecision::Fused:
      OS << "  [FUSED]    " << left_justify(D.Node, 20) << " " << T << " (" << D.Reason << ")\n";
      break;
    case lower::NodeDecision::Removed:
      break;
    }
  }
  OS << "Partitioned into " << P.Segments.size() << " segment(s)\n";
  for (size_t I = 0; I < P.Segments.size(); ++I)
    OS << "  Segment " << I << ": " << (P.Segments[I].Accelerator ? "accelerator" : "fallback") << " ("
       << P.Segments[I].NumOps << " op" << (P.Segments[I].NumOps == 1 ? "" : "s") << ")\n";
}

/// --emit=llvm|asm (to \p TextOS) or obj (one file per kernel in -o DIR):
/// each distinct kernel once. Returns the exit code.
static int emitKernels(const lower::Program &P, const codegen::CodegenOptions &CO, raw_ostream &TextOS) {
  std::map<std::string, const abi::KernelSpec *> Seen;
  for (const lower::PInstr &I : P.Instrs)
    if (I.Op == abi::Opcode::Kernel && !Seen.count(I.Spec.key()))
      Seen[I.Spec.key()] = &I.Spec;
  std::string Dir = OutputPath.empty() ? sys::path::stem(InputPath).str() + ".objs" : OutputPath.getValue();
  for (const auto &[Key, Spec] : Seen) {
    if (Emit == "obj") {
      auto C = codegen::compileKernel(*Spec, CO);
      if (!C)
        return fail(C.takeError());
      if (std::error_code EC = sys::fs::create_directories(Dir))
        return fail(frontend::makeError(Dir + ": cannot create: " + EC.message()));
      SmallString<256> Path(Dir);
      sys::path::append(Path, C->Symbol + ".o");
      std::error_code EC;
      raw_fd_ostream F(Path, EC, sys::fs::OF_None);
      if (EC)
        return fail(frontend::makeError(Path + ": " + EC.message()));
      F.write(reinterpret_cast<const char *>(C->Object.data()), C->Object.size());
      outs() << "wrote " << Path << " (" << Key << ")\n";
      continue;
    }
    auto Text = codegen::kernelText(*Spec, CO, Emit == "asm");
    if (!Text)
      return fail(Text.takeError());
    TextOS << "; kernel " << Key << "\n" << *Text << "\n";
  }
  return 0;
}

/// --input-shape name=AxB, once per input, into \p DO; false (after one
/// line on stderr) for a malformed one.
static bool parseInputShapes(driver::CompileOptions &DO) {
  for (const std::string &S : InputShapes) {
    auto [Name, Dims] = StringRef(S).split('=');
    if (Name.empty() || Dims.empty()) {
      errs() << "atalla-gen: error: --input-shape " << S << ": expected name=AxBxC\n";
      return false;
    }
    auto D = parseDims(Dims, S);
    if (!D) {
      tools::reportError("atalla-gen", D.takeError());
      return false;
    }
    DO.InputShapes[Name.str()] = *D;
  }
  return true;
}

int main(int argc, char **argv) {
  // --print-after-all is LLVM's own option (libLLVM registers it): reuse
  // it, so that it prints our lowering passes and then LLVM's.
  if (cl::Option *O = cl::getRegisteredOptions().lookup("print-after-all")) {
    O->addCategory(Cat);
    O->setDescription("Print the program after each lowering pass (and the LLVM IR after each LLVM pass)");
  }
  cl::HideUnrelatedOptions(Cat);
  tools::installVersionPrinter("atalla-gen");
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-gen: compile a torch.export archive (.pt2) into an Atalla blob (.atb)\n\n"
                              "  atalla-gen --shapes static model.pt2 -o model.atb\n"
                              "  atalla-gen model.pt2 --input-shape x=8x16 --emit=llvm\n");
  using Clock = std::chrono::steady_clock;
  auto Ms = [](Clock::time_point A) { return std::chrono::duration<double, std::milli>(Clock::now() - A).count(); };
  if (Shapes != "static") {
    errs() << "atalla-gen: error: --shapes must be 'static' (the only mode), got '" << Shapes << "'\n";
    return 2;
  }
  if (Emit != "blob" && Emit != "llvm" && Emit != "asm" && Emit != "obj" && Emit != "program") {
    errs() << "atalla-gen: error: --emit must be one of blob, llvm, asm, obj, program; got '" << Emit << "'\n";
    return 2;
  }
  if (OptLevel > 3) {
    errs() << "atalla-gen: error: -O must be 0 to 3\n";
    return 2;
  }
  driver::CompileOptions DO;
  if (!parseInputShapes(DO))
    return 2;
  tools::ReaderLimits Limits;
  if (Error E = tools::applyLimits(LimitFlags, Limits)) {
    tools::reportError("atalla-gen", std::move(E));
    return 2;
  }
  auto Machine = target::loadMachine(MachineName);
  if (!Machine) {
    tools::reportError("atalla-gen", Machine.takeError());
    return 2;
  }
  DO.Machine = *Machine;
  if (Precision != "f32" && Precision != "bf16") {
    errs() << "atalla-gen: error: --precision: '" << Precision << "' is not f32 or bf16\n";
    return 2;
  }
  DO.Precision = Precision == "bf16" ? abi::DType::BF16 : abi::DType::F32;
  DO.AccelOnly = AccelOnly;
  DO.FuseElementwise = !NoFuseElementwise;
  DO.DirectConv = !NoDirectConv;
  DO.TargetCPU = TargetCPU;
  DO.TargetFeatures = TargetFeatures;
  DO.OptLevel = OptLevel;
  DO.CacheDir = NoCache ? "" : CacheDir.getNumOccurrences() ? std::string(CacheDir) : codegen::defaultKernelCacheDir();
  DO.Jobs = Jobs;
  auto PO = driver::pipelineOptions(DO); // checks the machine's pads
  if (!PO) {
    tools::reportError("atalla-gen", frontend::prefixError(PO.takeError(), MachineName + ": "));
    return 2;
  }
  if (shouldPrintAfterAll())
    DO.PrintAfterAll = &outs();
  std::vector<std::pair<std::string, double>> PassTimes;
  DO.PassTimes = &PassTimes;

  if (Error E = codegen::checkTarget(driver::codegenOptions(DO))) {
    errs() << "atalla-gen: error: --target-cpu/--target-features: " << toString(std::move(E)) << "\n";
    return 2;
  }

  auto T0 = Clock::now();
  auto M = loadArchive(Limits, DO);
  if (!M)
    return fail(M.takeError());
  double LoadMs = Ms(T0);

  auto T1 = Clock::now();
  auto P = driver::lowerForTarget(*M, DO);
  if (!P)
    return fail(P.takeError());
  double LowerMs = Ms(T1);
  raw_ostream &OS = Quiet ? nulls() : outs();

  if (Emit == "blob")
    printDecisions(OS, *M, *P);

  if (Report)
    printReport(outs(), *P);
  if (!ReportJson.empty())
    if (Error E = writeReportJson(ReportJson, *P, sys::path::filename(InputPath)))
      return fail(std::move(E));

  const codegen::CodegenOptions CO = driver::codegenOptions(DO);
  // Text outputs go to -o FILE when given (- or no -o: stdout).
  std::unique_ptr<raw_fd_ostream> TextFile;
  if ((Emit == "program" || Emit == "llvm" || Emit == "asm") && !OutputPath.empty() && OutputPath != "-") {
    std::error_code EC;
    TextFile = std::make_unique<raw_fd_ostream>(OutputPath, EC, sys::fs::OF_Text);
    if (EC)
      return fail(frontend::makeError(OutputPath + ": cannot write: " + EC.message()));
  }
  raw_ostream &TextOS = TextFile ? static_cast<raw_ostream &>(*TextFile) : outs();
  if (Emit == "program") {
    P->print(TextOS);
    return 0;
  }
  if (Emit == "llvm" || Emit == "asm" || Emit == "obj")
    return emitKernels(*P, CO, TextOS);

  if (!Quiet && sys::Process::StandardErrIsDisplayed())
    DO.Progress = [](unsigned Done, unsigned Total) {
      errs() << "\rcompiling kernels: " << Done << "/" << Total << (Done == Total ? "\n" : "");
    };
  auto T2 = Clock::now();
  auto Compiled = driver::writeBlob(*M, *P, DO);
  if (!Compiled)
    return fail(frontend::prefixError(Compiled.takeError(), InputPath + ": "));
  const codegen::BlobStats &St = Compiled->Stats;
  const std::vector<uint8_t> *Blob = &Compiled->Blob;
  double CodegenMs = Ms(T2);

  std::string Out = OutputPath;
  if (Out.empty()) {
    SmallString<256> Path(InputPath);
    sys::path::replace_extension(Path, "atb");
    Out = std::string(Path);
  }
  auto T3 = Clock::now();
  if (Error E = writeBinary(Out, *Blob))
    return fail(std::move(E));
  double WriteMs = Ms(T3);
  double Ir = 0, Opt = 0, Obj = 0;
  for (const codegen::KernelStat &K : St.Kernels) {
    Ir += K.IrMs;
    Opt += K.OptMs;
    Obj += K.CodegenMs;
  }
  printSummary(OS, *M, *P, St, Out);
  OS << format("Time: load %.1f ms, lower %.1f ms, codegen %.1f ms (kernels %.1f ms on %u thread%s, %u of %zu "
               "from the cache; IR %.1f, opt %.1f, obj %.1f summed over threads), write %.1f ms\n",
               LoadMs, LowerMs, CodegenMs, St.KernelsWallMs, St.CompileThreads, St.CompileThreads == 1 ? "" : "s",
               St.CacheHits, St.Kernels.size(), Ir, Opt, Obj, WriteMs);
  if (Report) {
    P->printMemoryPlan(outs());
    printCompileTimes(outs(), St, PassTimes, {LoadMs, LowerMs, Ir, Opt, Obj, CodegenMs - St.KernelsWallMs, WriteMs});
  }
  return 0;
}
