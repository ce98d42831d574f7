//===- tools/atalla-fuzz.cpp - correctness fuzzing against eager PyTorch ---===//
//
// Random programs from Kernels.def's ops, each written as a .pt2, compiled by
// the real compiler, run on the simulated device and compared with the eager
// oracle. Reproducible from the seed. A failing program is kept, shrunk (a
// shorter prefix of the same program, then smaller dimensions) and reported
// with a one-line command that reproduces it. Closes with "N passed, N failed".
//
//===----------------------------------------------------------------------===//
#include "frontend/ArchiveWriter.h"
#include "tools/Fuzz.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <unistd.h>

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-fuzz options");
static cl::opt<uint64_t> Seed("seed", cl::desc("First seed (programs use seed, seed+1, ...)"), cl::init(1), cl::cat(Cat));
static cl::opt<uint64_t> Count("count", cl::desc("Number of programs (default 100)"), cl::init(100), cl::cat(Cat));
static cl::opt<double> Time("time", cl::desc("Run for this many seconds instead of --count"), cl::init(0), cl::cat(Cat));
static cl::opt<std::string> OutDir("out", cl::desc("Where failing programs are kept (default fuzz-failures)"),
                                   cl::init("fuzz-failures"), cl::cat(Cat));
static cl::opt<unsigned> MaxNodes("max-nodes", cl::desc("Nodes per program (default 8)"), cl::init(8), cl::cat(Cat));
static cl::opt<int64_t> MaxDim("max-dim", cl::desc("Largest dimension (default 33)"), cl::init(33), cl::cat(Cat));
static cl::opt<unsigned> StopAfter("keep-nodes", cl::desc("Keep only the first N nodes of each program (shrinking)"),
                                   cl::init(0), cl::cat(Cat));
static cl::opt<bool> NoShrink("no-shrink", cl::desc("Do not shrink failing programs"), cl::cat(Cat));
static cl::opt<bool> Verbose("v", cl::desc("One line per program"), cl::cat(Cat));

// Printed by the signal handler if a program crashes the process.
static char CrashLine[512];

static void onCrash(int Sig) {
  ssize_t Ignored = write(2, CrashLine, strlen(CrashLine));
  (void)Ignored;
  signal(Sig, SIG_DFL);
  raise(Sig);
}

static std::string reproCommand(uint64_t S, const tools::FuzzLimits &L) {
  return "atalla-fuzz --seed " + std::to_string(S) + " --count 1 --max-nodes " + std::to_string(L.MaxNodes) +
         " --max-dim " + std::to_string(L.MaxDim) + (L.StopAfter ? " --keep-nodes " + std::to_string(L.StopAfter) : "");
}

static bool keep(const std::string &Name, const std::vector<uint8_t> &Bytes, std::string &Path) {
  if (sys::fs::create_directories(OutDir))
    return false;
  SmallString<256> P(OutDir);
  sys::path::append(P, Name);
  std::error_code EC;
  raw_fd_ostream F(P, EC, sys::fs::OF_None);
  if (EC)
    return false;
  F.write(reinterpret_cast<const char *>(Bytes.data()), Bytes.size());
  Path = std::string(P);
  return true;
}

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  tools::installVersionPrinter("atalla-fuzz");
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-fuzz: random programs compiled, run on the simulated device and compared "
                              "with eager PyTorch\n\n  atalla-fuzz --seed 1 --count 1000\n  atalla-fuzz --time 600\n");
  if (MaxNodes < 1 || MaxDim < 1) {
    errs() << "atalla-fuzz: error: --max-nodes and --max-dim must be at least 1\n";
    return 2;
  }
  for (int Sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL})
    signal(Sig, onCrash);
  tools::FuzzLimits L;
  L.MaxNodes = MaxNodes;
  L.MaxDim = MaxDim;
  L.StopAfter = StopAfter;
  auto Start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - Start).count(); };
  uint64_t Passed = 0, Failed = 0, Fallbacks = 0, Nodes = 0;
  double Worst = 0;
  for (uint64_t I = 0;; ++I) {
    if (Time > 0 ? elapsed() >= Time : I >= Count)
      break;
    uint64_t S = Seed + I;
    snprintf(CrashLine, sizeof(CrashLine), "\natalla-fuzz: crash in program of seed %llu; reproduce: %s\n",
             static_cast<unsigned long long>(S), reproCommand(S, L).c_str());
    frontend::Model M = tools::generateProgram(S, L);
    tools::FuzzOutcome R = tools::checkProgram(M, S);
    Nodes += R.Nodes;
    Fallbacks += R.Fallbacks;
    Worst = std::max(Worst, R.WorstError / std::max(R.Tolerance, 1e-300));
    if (Verbose)
      outs() << "seed " << S << ": " << R.Nodes << " nodes, " << R.Fallbacks << " fallback, error "
             << format("%.3g (tolerance %.3g)", R.WorstError, R.Tolerance) << (R.Passed ? " ok" : " FAIL") << "\n";
    if (R.Passed) {
      ++Passed;
      continue;
    }
    ++Failed;
    std::string Kept;
    keep("fuzz_" + std::to_string(S) + ".pt2", R.Archive, Kept);
    outs() << "FAIL seed " << S << ": " << R.Message << "\n";
    // Shrink: the shortest failing prefix of the same program, then smaller
    // dimensions for that prefix.
    tools::FuzzLimits Small = L;
    tools::FuzzOutcome Min = R;
    if (!NoShrink) {
      for (unsigned K = 1; K <= M.G.Nodes.size(); ++K) {
        tools::FuzzLimits Try = L;
        Try.StopAfter = K;
        tools::FuzzOutcome T = tools::checkProgram(tools::generateProgram(S, Try), S);
        if (!T.Passed) {
          Small = Try;
          Min = T;
          break;
        }
      }
      for (int64_t D : {17, 8, 4, 2}) {
        if (D >= Small.MaxDim)
          continue;
        tools::FuzzLimits Try = Small;
        Try.MaxDim = D;
        tools::FuzzOutcome T = tools::checkProgram(tools::generateProgram(S, Try), S);
        if (!T.Passed) {
          Small = Try;
          Min = T;
        }
      }
    }
    std::string MinPath;
    keep("fuzz_" + std::to_string(S) + "_min.pt2", Min.Archive, MinPath);
    outs() << "  minimal: " << Min.Nodes << " node(s): " << Min.Message << "\n";
    outs() << "  reproduce: " << reproCommand(S, Small) << "\n";
    if (!MinPath.empty())
      outs() << "  or: atalla-gen " << MinPath << " -o /tmp/fuzz.atb && atalla-run /tmp/fuzz.atb --check " << MinPath
             << " --per-op\n";
  }
  outs() << format("atalla-fuzz: seeds %llu..%llu, %llu nodes (%llu in fallback), worst error/tolerance %.3g, %.1f s\n",
                   static_cast<unsigned long long>(Seed.getValue()),
                   static_cast<unsigned long long>(Seed + Passed + Failed - (Passed + Failed ? 1 : 0)),
                   static_cast<unsigned long long>(Nodes), static_cast<unsigned long long>(Fallbacks), Worst, elapsed());
  outs() << Passed << " passed, " << Failed << " failed\n";
  return Failed ? 1 : 0;
}
