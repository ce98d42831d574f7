//===- tools/atalla-import-fx.cpp - FX interchange to .pt2 ----------------===//
//
// Writes an "atalla-fx" interchange file (frontend/FxImport.h; written by
// tools/make_zoo.py from torch 1.13's make_fx) as a .pt2 archive with the
// project's own writer. Exit status: 0 written, 1 bad input or write
// failure (one line on stderr naming the file and the node or key).
//
//===----------------------------------------------------------------------===//
#include "frontend/ArchiveWriter.h"
#include "frontend/FxImport.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory Cat("atalla-import-fx options");

static cl::opt<std::string> Input(cl::Positional, cl::desc("<model.fx.json>"), cl::Required, cl::cat(Cat));
static cl::opt<std::string> Output("o", cl::desc("the .pt2 archive to write"), cl::value_desc("file"), cl::Required,
                                   cl::cat(Cat));
static cl::opt<std::string> Payload("payload",
                                    cl::desc("the raw payload file (default: <model.fx>.bin beside the JSON)"),
                                    cl::value_desc("file"), cl::cat(Cat));
static cl::opt<std::string> Layout("layout",
                                   cl::desc("container: raw (torch >= 2.9, default), pickled (2.8), legacy (2.1-2.7)"),
                                   cl::init("raw"), cl::cat(Cat));

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  atalla::tools::installVersionPrinter("atalla-import-fx");
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-import-fx: write an atalla-fx interchange graph (tools/make_zoo.py) as .pt2\n");
  atalla::frontend::ArchiveWriterOptions Opts;
  if (Layout == "raw")
    Opts.Layout = atalla::frontend::ArchiveLayout::Pt2Raw;
  else if (Layout == "pickled")
    Opts.Layout = atalla::frontend::ArchiveLayout::Pt2Pickled;
  else if (Layout == "legacy")
    Opts.Layout = atalla::frontend::ArchiveLayout::LegacyZip;
  else {
    errs() << "atalla-import-fx: error: --layout must be raw, pickled or legacy, not '" << Layout << "'\n";
    return 1;
  }
  auto M = atalla::frontend::importFxFile(Input, Payload);
  if (!M) {
    errs() << "atalla-import-fx: error: " << toString(M.takeError()) << "\n";
    return 1;
  }
  if (Error E = atalla::frontend::writeModelFile(*M, Output, Opts)) {
    errs() << "atalla-import-fx: error: " << Output << ": " << toString(std::move(E)) << "\n";
    return 1;
  }
  outs() << "wrote " << Output << "\n";
  return 0;
}
