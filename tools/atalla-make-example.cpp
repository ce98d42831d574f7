//===- tools/atalla-make-example.cpp - write the bundled example model ----===//
//
// Writes examples/seed_accel_demo.pt2 with the project's own .pt2 writer
// (torch 2.12 layout). The file is committed; a test checks that this tool
// still writes it byte for byte.
//
//===----------------------------------------------------------------------===//
#include "frontend/ArchiveWriter.h"
#include "tools/DemoModels.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory Cat("atalla-make-example options");

static cl::opt<std::string> Output(cl::Positional, cl::desc("<output.pt2>"), cl::Required, cl::cat(Cat));

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  atalla::tools::installVersionPrinter("atalla-make-example");
  cl::ParseCommandLineOptions(argc, argv, "atalla-make-example: write the seed demo model as a .pt2\n");
  atalla::frontend::Model M = atalla::tools::buildSeedAccelDemo();
  if (Error E = atalla::frontend::writeModelFile(M, Output)) {
    errs() << "atalla-make-example: error: " << toString(std::move(E)) << "\n";
    return 1;
  }
  outs() << "wrote " << Output << "\n";
  return 0;
}
