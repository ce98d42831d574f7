//===- tools/atalla-cycles.cpp - GEMM schedules on the tile model --------===//
//
//   atalla-cycles gemm M N K --schedule tile|tiled|blocked:mX_nY|ours|ours:serial [--machine NAME|FILE] [--json]
//   atalla-cycles conv OC C H W KH KW [--stride S] [--pad P] [--dilation D] [--schedule ours|ours:serial]
//                 [--machine ...] [--json]
//
// Runs a GEMM schedule on the cycle-by-cycle tile model of a machine
// (sim/TileModel.h; default atalla-sim-tpu, the configuration of
// atalla-sim's published GEMM runs) and prints the modelled cycles, their
// phases and the DRAM bytes. atalla-sim's own schedules (tile, tiled,
// blocked) check the machine model against atalla-sim independently of
// the compiler's; "ours" is the compiler's schedule (its passes
// software-pipelined; "ours:serial" runs each to its end first), printed
// next to atalla-sim's best published one on the same machine. "conv" models a
// convolution's implicit GEMM (OC x OH OW x C KH KW, column stride 1)
// under "ours" with the weights streamed past the input's rows as its
// kernel reads them (sim::StationarySource), beside the same GEMM whose
// im2col tiles come from DRAM.
//
// Exit codes: 0 success, 2 usage error (bad arguments, schedule or machine).
//
//===----------------------------------------------------------------------===//
#include "sim/TileModel.h"
#include "target/Machine.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-cycles options");
static cl::list<std::string> Args(cl::Positional, cl::desc("gemm <M> <N> <K> | conv <OC> <C> <H> <W> <KH> <KW>"),
                                  cl::cat(Cat));
static cl::opt<std::string> Schedule("schedule",
                                     cl::desc("tile (one 32x32x32 tile), tiled (atalla-sim's naive schedule), "
                                              "blocked:mX_nY (X weight tiles resident, Y activation tiles streamed "
                                              "past each), ours (the compiler's, passes software-pipelined), "
                                              "ours:serial (the same, each pass run to its end); conv: ours or "
                                              "ours:serial"),
                                     cl::value_desc("NAME"), cl::init("ours"), cl::cat(Cat));
static cl::opt<std::string> MachineName("machine",
                                        cl::desc("Machine: a preset (atalla-sim-tpu, the default; atalla-rtl; "
                                                 "atalla-sim4) or a JSON description"),
                                        cl::value_desc("NAME|FILE"), cl::init("atalla-sim-tpu"), cl::cat(Cat));
static cl::opt<bool> Json("json", cl::desc("Print one JSON object instead of the table"), cl::cat(Cat));
static cl::opt<int64_t> Stride("stride", cl::desc("conv: the row stride (columns are stride 1)"), cl::init(1),
                               cl::cat(Cat));
static cl::opt<int64_t> Pad("pad", cl::desc("conv: zero padding on every side"), cl::init(0), cl::cat(Cat));
static cl::opt<int64_t> Dilation("dilation", cl::desc("conv: the window's dilation"), cl::init(1), cl::cat(Cat));

namespace {

std::string group(uint64_t V) {
  std::string S = std::to_string(V), Out;
  for (size_t I = 0; I < S.size(); ++I) {
    if (I && (S.size() - I) % 3 == 0)
      Out += ',';
    Out += S[I];
  }
  return Out;
}

json::Object toJson(const sim::GemmCycles &G, const sim::TileSchedule &S) {
  json::Object O;
  O["schedule"] = S.name();
  O["cycles"] = int64_t(G.Cycles);
  O["phases"] = json::Object{{"preload", int64_t(G.Phases.Preload)}, {"stream", int64_t(G.Phases.Stream)},
                             {"compute", int64_t(G.Phases.Compute)}, {"store", int64_t(G.Phases.Store)},
                             {"drain", int64_t(G.Phases.Drain)}};
  O["dram_bytes_loaded"] = int64_t(G.DramBytesLoaded);
  O["dram_bytes_stored"] = int64_t(G.DramBytesStored);
  O["tile_products"] = int64_t(G.TileProducts);
  O["vector_adds"] = int64_t(G.VectorAdds);
  return O;
}

void printTable(raw_ostream &OS, const sim::GemmCycles &G, const sim::TileSchedule &S, int64_t M, int64_t N,
                int64_t K, const target::MachineDesc &Mach) {
  const double Fpc = G.flopsPerCycle(M, N, K);
  OS << formatv("{0,-16} {1,14} cycles  {2,7:F1} flop/cycle ({3:F1}% of the array's peak)\n", S.name(),
                group(G.Cycles), Fpc, 100.0 * Fpc / Mach.peakFlopsPerCycle());
  OS << formatv("  preload {0}, stream {1}, compute {2}, store {3}, drain {4}\n", group(G.Phases.Preload),
                group(G.Phases.Stream), group(G.Phases.Compute), group(G.Phases.Store), group(G.Phases.Drain));
  OS << formatv("  DRAM bytes loaded {0}, stored {1}; {2} tile products, {3} vector adds\n",
                group(G.DramBytesLoaded), group(G.DramBytesStored), group(G.TileProducts), group(G.VectorAdds));
}

int usage(const Twine &Msg) {
  errs() << "atalla-cycles: error: " << Msg << "\n";
  return 2;
}

/// `conv OC C H W KH KW`: the convolution's GEMM under "ours" (or
/// "ours:serial"), with its
/// input rows and with im2col tiles from DRAM.
int runConv(const target::MachineDesc &Mach) {
  int64_t V[6];
  for (int I = 0; I < 6; ++I)
    if (StringRef(Args[I + 1]).getAsInteger(10, V[I]) || V[I] <= 0)
      return usage("'" + Args[I + 1] + "' is not a positive integer (conv OC C H W KH KW)");
  if (Stride <= 0 || Pad < 0 || Dilation <= 0)
    return usage("--stride and --dilation must be positive and --pad not negative");
  sim::StationarySource Src;
  Src.Conv = true;
  Src.C = V[1], Src.H = V[2], Src.W = V[3], Src.KH = V[4], Src.KW = V[5];
  Src.SH = Stride, Src.PH = Src.PW = Pad, Src.DH = Src.DW = Dilation;
  Src.OH = (Src.H + 2 * Pad - Dilation * (Src.KH - 1) - 1) / Stride + 1;
  Src.OW = Src.W + 2 * Pad - Dilation * (Src.KW - 1);
  if (Src.OH <= 0 || Src.OW <= 0)
    return usage("the window does not fit the padded input");
  const int64_t T = Mach.ArrayRows, KReal = Src.C * Src.KH * Src.KW, N = Src.OH * Src.OW;
  const int64_t K = (KReal + T - 1) / T * T;
  Src.KValid = KReal;
  auto Parsed = sim::parseTileSchedule(Schedule);
  if (!Parsed)
    return usage(toString(Parsed.takeError()));
  if (Parsed->K != sim::TileSchedule::Ours)
    return usage("conv runs the compiler's schedule: --schedule ours or ours:serial, not '" + Schedule + "'");
  const sim::TileSchedule S = *Parsed;
  auto G = sim::modelGemm(Mach, V[0], N, K, S, Src);
  if (!G)
    return usage(toString(G.takeError()));
  sim::StationarySource Tiles;
  Tiles.KValid = KReal;
  auto R = sim::modelGemm(Mach, V[0], N, K, S, Tiles);
  if (!R)
    return usage(toString(R.takeError()));
  // Output rows packed (sim::rowPackings): the cheapest P, as the cycle
  // model of atalla-run's counters picks it.
  int64_t BestP = 1;
  sim::GemmCycles Packed = *G;
  int64_t PN = N, PK = KReal;
  for (const sim::RowPacking &Pk : sim::rowPackings(Src, V[0], T)) {
    auto Q = sim::modelGemm(Mach, Pk.M, Pk.N, (Pk.KValid + T - 1) / T * T, S, Pk.Src);
    if (Q && Q->Cycles < Packed.Cycles) {
      Packed = *Q;
      BestP = Pk.P;
      PN = Pk.N;
      PK = Pk.KValid;
    } else if (!Q) {
      consumeError(Q.takeError());
    }
  }
  if (Json) {
    json::Object O = toJson(*G, S);
    O["m"] = V[0];
    O["n"] = N;
    O["k"] = KReal;
    O["machine"] = Mach.Name;
    O["im2col_tiles"] = toJson(*R, S);
    json::Object PO = toJson(Packed, S);
    PO["rows"] = BestP;
    O["packed"] = std::move(PO);
    outs() << formatv("{0:2}", json::Value(std::move(O))) << "\n";
    return 0;
  }
  outs() << formatv("conv {0} -> {1} channels, {2}x{3} -> {4}x{5}, {6}x{7} window: gemm {1}x{8}x{9} on {10} (tile "
                    "model)\n",
                    Src.C, V[0], Src.H, Src.W, Src.OH, Src.OW, Src.KH, Src.KW, N, KReal, Mach.Name);
  outs() << "input rows (the kernel's):\n";
  printTable(outs(), *G, S, V[0], N, KReal, Mach);
  outs() << "im2col tiles from DRAM:\n";
  printTable(outs(), *R, S, V[0], N, KReal, Mach);
  if (BestP > 1) {
    outs() << formatv("input rows, {0} output rows packed (weights expanded: gemm {1}x{2}x{3}; the cycle model's "
                      "choice):\n",
                      BestP, BestP * V[0], PN, PK);
    printTable(outs(), Packed, S, V[0], N, KReal, Mach);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  tools::installVersionPrinter("atalla-cycles");
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-cycles: GEMM schedules on the cycle-by-cycle tile model of an Atalla\n\n"
                              "  atalla-cycles gemm 1024 1024 1024 --schedule blocked:m8_n32\n"
                              "  atalla-cycles gemm 1024 1024 1024 --schedule ours\n"
                              "  atalla-cycles conv 8 16 64 256 3 3 --pad 1 --machine atalla-rtl\n");
  if (Args.size() == 7 && Args[0] == "conv") {
    auto Mach = target::loadMachine(MachineName);
    if (!Mach)
      return usage(toString(Mach.takeError()));
    return runConv(*Mach);
  }
  if (Args.size() != 4 || Args[0] != "gemm")
    return usage("expected 'gemm M N K' (N, K positive multiples of the array's size; M too except under 'ours') "
                 "or 'conv OC C H W KH KW'");
  int64_t Dims[3];
  for (int I = 0; I < 3; ++I)
    if (StringRef(Args[I + 1]).getAsInteger(10, Dims[I]) || Dims[I] <= 0)
      return usage("'" + Args[I + 1] + "' is not a positive integer (gemm M N K)");
  auto Mach = target::loadMachine(MachineName);
  if (!Mach)
    return usage(toString(Mach.takeError()));
  auto S = sim::parseTileSchedule(Schedule);
  if (!S)
    return usage(toString(S.takeError()));
  auto G = sim::modelGemm(*Mach, Dims[0], Dims[1], Dims[2], *S);
  if (!G)
    return usage(toString(G.takeError()));

  // Ours is printed beside atalla-sim's best published schedule on the
  // same machine (blocked m8_n32), where the shape has room for it.
  std::optional<sim::GemmCycles> Ref;
  sim::TileSchedule RefS;
  if (S->K == sim::TileSchedule::Ours) {
    RefS.K = sim::TileSchedule::Blocked;
    RefS.WeightTiles = 8;
    RefS.ActivationTiles = 32;
    if (auto R = sim::modelGemm(*Mach, Dims[0], Dims[1], Dims[2], RefS))
      Ref = *R;
    else
      consumeError(R.takeError());
  }

  if (Json) {
    json::Object O = toJson(*G, *S);
    O["m"] = Dims[0];
    O["n"] = Dims[1];
    O["k"] = Dims[2];
    O["machine"] = Mach->Name;
    if (Ref) {
      O["reference"] = toJson(*Ref, RefS);
      O["speedup_over_reference"] = double(Ref->Cycles) / double(G->Cycles);
    }
    outs() << formatv("{0:2}", json::Value(std::move(O))) << "\n";
    return 0;
  }
  outs() << formatv("gemm {0}x{1}x{2} on {3} (tile model)\n", Dims[0], Dims[1], Dims[2], Mach->Name);
  printTable(outs(), *G, *S, Dims[0], Dims[1], Dims[2], *Mach);
  if (Ref) {
    printTable(outs(), *Ref, RefS, Dims[0], Dims[1], Dims[2], *Mach);
    outs() << formatv("ours: {0:F2}x fewer cycles than {1}\n", double(Ref->Cycles) / double(G->Cycles), RefS.name());
  }
  return 0;
}
