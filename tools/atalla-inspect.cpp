//===- tools/atalla-inspect.cpp - look inside a .pt2 archive --------------===//
//
// The frontend's views of an exported program, as the seed's Python demos
// printed them (table, node walk, generated code, op histogram, signature),
// plus a JSON dump and an eager run through the LibTorch oracle.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Printers.h"
#include "reference/EagerInterpreter.h"
#include "runtime/Blob.h"
#include "tools/BlobDump.h"
#include "runtime/fallback/TorchBlas.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-inspect options");
static cl::opt<std::string> InputPath(cl::Positional, cl::desc("<model.pt2 | model.atb>"), cl::Required, cl::cat(Cat));
static cl::opt<bool> Summary("summary", cl::desc("Print provenance and counts (default view)"), cl::cat(Cat));
static cl::opt<bool> Table("table", cl::desc("Print the graph as a table: opcode name target args kwargs"), cl::cat(Cat));
static cl::opt<bool> Nodes("nodes", cl::desc("Print each node: op, target, args, kwargs"), cl::cat(Cat));
static cl::opt<bool> Code("code", cl::desc("Print the generated forward() code with ATen ops"), cl::cat(Cat));
static cl::opt<bool> Ops("ops", cl::desc("Print one line per distinct target: count then target"), cl::cat(Cat));
static cl::opt<bool> Signature("signature", cl::desc("Print inputs, parameters, buffers, constants and outputs"), cl::cat(Cat));
static cl::opt<bool> Json("json", cl::desc("Print everything as one JSON document"), cl::cat(Cat));
static cl::opt<bool> RunEager("run-eager", cl::desc("Run the graph with the LibTorch eager oracle and print each output's shape, dtype and sum"), cl::cat(Cat));
static cl::opt<std::string> Inputs("inputs", cl::desc("Inputs for --run-eager: sample (the archive's, default) or random"), cl::init("sample"), cl::cat(Cat));
static cl::list<std::string> InputFiles("input", cl::desc("Raw little-endian input file, once per input in forward-argument order"), cl::value_desc("FILE"), cl::cat(Cat));
static cl::opt<uint64_t> Seed("seed", cl::desc("Seed for --inputs random"), cl::init(0), cl::cat(Cat));
static cl::opt<std::string> OutputDir("output-dir", cl::desc("With --run-eager: write out<i>.bin and outputs.json here"), cl::value_desc("DIR"), cl::cat(Cat));
static cl::opt<int> Threads("torch-threads", cl::desc("LibTorch intra-op threads for --run-eager"), cl::init(1), cl::cat(Cat));

static const std::string LimitHelp =
    "Change a limit on untrusted input, KEY=N (N may end in K, M or G); keys and defaults:\n" + tools::limitKeysHelp();
static cl::list<std::string> LimitFlags("limit", cl::desc(LimitHelp), cl::value_desc("KEY=N"), cl::cat(Cat));

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  tools::installVersionPrinter("atalla-inspect", runtime::blasVersionLine);
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-inspect: print the views of a torch.export archive (.pt2)\n\n"
                              "  atalla-inspect model.pt2 --table --code\n"
                              "  atalla-inspect model.pt2 --run-eager --inputs random --seed 1\n");
  tools::ReaderLimits Limits;
  if (Error E = tools::applyLimits(LimitFlags, Limits)) {
    tools::reportError("atalla-inspect", std::move(E));
    return 2;
  }
  tools::InputSource Source;
  if (!InputFiles.empty())
    Source = tools::InputSource::Files;
  else if (Inputs == "sample")
    Source = tools::InputSource::Sample;
  else if (Inputs == "random")
    Source = tools::InputSource::Random;
  else {
    errs() << "atalla-inspect: error: --inputs must be 'sample' or 'random', got '" << Inputs << "'\n";
    return 2;
  }
  if (!OutputDir.empty() && !RunEager) {
    errs() << "atalla-inspect: error: --output-dir needs --run-eager\n";
    return 2;
  }
  // A blob: its header, sections, kernels, memory map and program.
  if (llvm::StringRef(InputPath).ends_with(".atb")) {
    auto B = runtime::Blob::readFile(InputPath, Limits.Blob);
    if (!B) {
      tools::reportError("atalla-inspect", B.takeError());
      return 1;
    }
    tools::dumpBlob(*B, outs());
    return 0;
  }
  auto M = frontend::readModel(InputPath, Limits.Archive);
  if (!M) {
    tools::reportError("atalla-inspect", M.takeError());
    return 1;
  }
  bool Any = Table || Nodes || Code || Ops || Signature || Json || RunEager;
  if (Summary || !Any)
    frontend::printSummary(*M, outs());
  if (Table)
    frontend::printTable(*M, outs());
  if (Nodes)
    frontend::printNodes(*M, outs());
  if (Code)
    frontend::printCode(*M, outs());
  if (Ops)
    frontend::printOps(*M, outs());
  if (Signature)
    frontend::printSignature(*M, outs());
  if (Json)
    frontend::printJson(*M, outs());
  if (!RunEager)
    return 0;
  auto In = tools::selectInputs(*M, Source, std::vector<std::string>(InputFiles.begin(), InputFiles.end()), Seed);
  if (!In) {
    tools::reportError("atalla-inspect", In.takeError());
    return 1;
  }
  reference::EagerOptions Opts;
  Opts.Threads = Threads;
  auto Interp = reference::EagerInterpreter::create(*M, Opts);
  if (!Interp) {
    tools::reportError("atalla-inspect", Interp.takeError());
    return 1;
  }
  auto Out = (*Interp)->run(*In);
  if (!Out) {
    tools::reportError("atalla-inspect", Out.takeError());
    return 1;
  }
  std::vector<std::string> Names = M->userOutputNames();
  outs() << "--- EAGER (LibTorch " << reference::libtorchVersion() << ") ---\n";
  for (size_t I = 0; I < Out->size(); ++I)
    tools::printTensorLine(outs(), "output " + std::to_string(I) + " '" + (I < Names.size() ? Names[I] : "") + "'",
                           (*Out)[I]);
  if (!OutputDir.empty())
    if (Error E = tools::writeOutputs(OutputDir, Names, *Out)) {
      tools::reportError("atalla-inspect", std::move(E));
      return 1;
    }
  return 0;
}
