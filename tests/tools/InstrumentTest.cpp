//===- tests/tools/InstrumentTest.cpp - counters, traces, machines, reports ===//
//
// The simulator as an instrument, as a user drives it: atalla-run
// --counters, --report-json and --chrome-trace on every fixture (the trace
// must be valid JSON with the modelled compute / SDMA / fallback tracks and
// the host tracks, one slice per instruction), --machine presets and files
// (and their errors), and atalla-gen --report's memory plan and compile-time
// tables. To add a case: a fixture name in the list, or a flag and the line
// a user would read.
//
//===----------------------------------------------------------------------===//
#include "FallbackModelSupport.h"
#include "ProcessSupport.h"
#include "TestSupport.h"

#include "frontend/ArchiveWriter.h"

#include "llvm/Support/JSON.h"

#include <fstream>
#include <map>
#include <set>

using namespace atalla;
using test::countOf;
using test::tmpDir;
using Result = test::ToolResult;

namespace {

Result run(const std::string &Cmd) { return test::runTool(Cmd); }

/// The JSON object \p Text holds; an empty one, and a test failure, where it
/// is no JSON object.
llvm::json::Object jsonObject(const std::string &Text) {
  auto V = llvm::json::parse(Text);
  if (!V) {
    ADD_FAILURE() << llvm::toString(V.takeError()) << "\n" << Text;
    return {};
  }
  if (llvm::json::Object *O = V->getAsObject())
    return std::move(*O);
  ADD_FAILURE() << "not a JSON object:\n" << Text;
  return {};
}

/// Checks a Chrome trace: process and thread names, one modelled slice per
/// instruction (compute or fallback track) and one host slice per
/// instruction, durations >= 0, SDMA slices only for kernels that moved
/// bytes. Returns the number of modelled fallback slices.
unsigned checkTrace(const std::string &Path, size_t Instructions, const std::string &What) {
  auto V = llvm::json::parse(test::slurp(Path));
  if (!V) {
    ADD_FAILURE() << What << ": the trace is not JSON: " << llvm::toString(V.takeError());
    return 0;
  }
  const llvm::json::Object *O = V->getAsObject();
  const llvm::json::Array *Events = O ? O->getArray("traceEvents") : nullptr;
  if (!Events) {
    ADD_FAILURE() << What << ": no traceEvents array";
    return 0;
  }
  std::map<std::pair<int64_t, int64_t>, std::string> Threads;
  std::map<int64_t, std::string> Processes;
  std::map<std::pair<int64_t, int64_t>, unsigned> Slices;
  for (const llvm::json::Value &E : *Events) {
    const llvm::json::Object *Ev = E.getAsObject();
    if (!Ev) {
      ADD_FAILURE() << What << ": an event is not an object";
      continue;
    }
    std::optional<llvm::StringRef> Ph = Ev->getString("ph");
    int64_t Pid = Ev->getInteger("pid").value_or(-1), Tid = Ev->getInteger("tid").value_or(0);
    if (Ph == "M") {
      std::string Name = Ev->getObject("args")->getString("name").value_or("").str();
      if (Ev->getString("name") == "process_name")
        Processes[Pid] = Name;
      else
        Threads[{Pid, Tid}] = Name;
      continue;
    }
    EXPECT_EQ(Ph, "X") << What;
    EXPECT_GE(Ev->getNumber("dur").value_or(-1), 0) << What;
    EXPECT_GE(Ev->getNumber("ts").value_or(-1), 0) << What;
    EXPECT_FALSE(Ev->getString("name").value_or("").empty()) << What;
    ++Slices[{Pid, Tid}];
  }
  EXPECT_EQ(Processes[1].rfind("Atalla model (", 0), 0u) << What;
  EXPECT_EQ(Processes[2], "Host (measured)") << What;
  EXPECT_EQ(Threads[std::make_pair(int64_t(1), int64_t(1))], "compute") << What;
  EXPECT_EQ(Threads[std::make_pair(int64_t(1), int64_t(2))], "SDMA") << What;
  EXPECT_EQ(Threads[std::make_pair(int64_t(1), int64_t(3))], "fallback") << What;
  EXPECT_EQ(Threads[std::make_pair(int64_t(2), int64_t(1))], "compute") << What;
  EXPECT_EQ(Threads[std::make_pair(int64_t(2), int64_t(3))], "fallback") << What;
  auto At = [&](int64_t Pid, int64_t Tid) { return Slices[std::make_pair(Pid, Tid)]; };
  const unsigned Compute = At(1, 1), Fallback = At(1, 3), Sdma = At(1, 2);
  EXPECT_EQ(Compute + Fallback, Instructions) << What;
  EXPECT_EQ(At(2, 1) + At(2, 3), Instructions) << What;
  EXPECT_LE(Sdma, Compute) << What;
  EXPECT_GT(Sdma, 0u) << What;
  return Fallback;
}

/// The instruction count atalla-run prints ("--- RUNTIME EXECUTION (N instructions").
size_t instructionsOf(const std::string &Out) {
  size_t P = Out.find("RUNTIME EXECUTION (");
  return P == std::string::npos ? 0 : std::stoul(Out.substr(P + 19));
}

} // namespace

TEST(InstrumentTest, CountersAndChromeTraceOnEveryFixture) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const char *Fixtures[] = {
      "seed/seed_accel_demo",       "seed/seed_accel_demo_legacy_v8_7",     "seed/seed_accel_demo_v2_2",
      "seed/seed_export_basics_1",  "seed/seed_export_basics_2",            "seed/seed_export_basics_3",
      "seed/seed_mlp",              "seed/seed_attention",                  "seed/seed_elementwise",
      "seed/seed_tiny_transformer", "seed/mlp_params",                      "seed/transformer_block_params",
      "formats/synthetic_lrs_legacy_v8_7", "formats/synthetic_lrs_archive_v8_8",
      "formats/synthetic_lrs_archive_v8_20", "real/unet-dcnum-test_g1",
  };
  for (const char *F : Fixtures) {
    SCOPED_TRACE(F);
    std::string Pt2 = Dir + "/" + F + ".pt2", Atb = tmpDir() + "/instrument.atb";
    std::string Trace = tmpDir() + "/trace.json", Report = tmpDir() + "/counters.json";
    Result G = run("atalla-gen " + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    // Progress is for terminals: nothing of it when stderr is a file.
    EXPECT_EQ(G.Err, "");
    Result R = run("atalla-run " + Atb + " --inputs random --counters --chrome-trace " + Trace + " --report-json " +
                   Report);
    ASSERT_EQ(R.Rc, 0) << R.Err;
    const size_t N = instructionsOf(R.Out);
    ASSERT_GT(N, 0u) << R.Out;
    EXPECT_NE(R.Out.find("--- COUNTERS (" + std::to_string(N) + " instructions; model atalla-rtl at 800 MHz"),
              std::string::npos)
        << R.Out;
    EXPECT_NE(R.Out.find("model (atalla-rtl): "), std::string::npos) << R.Out;
    checkTrace(Trace, N, F);
    auto J = llvm::json::parse(test::slurp(Report));
    ASSERT_TRUE(bool(J)) << llvm::toString(J.takeError());
    const llvm::json::Object *Totals = J->getAsObject()->getObject("totals");
    ASSERT_NE(Totals, nullptr);
    EXPECT_GT(Totals->getNumber("model_cycles").value_or(0), 0);
    EXPECT_GT(Totals->getInteger("sdma_bytes_in").value_or(0), 0);
    EXPECT_EQ(J->getAsObject()->getArray("instructions")->size(), N);
    // The per-kernel summary adds up to the instructions.
    EXPECT_NE(R.Out.find("by kernel (model cycles, most first):"), std::string::npos) << R.Out;
    int64_t Calls = 0;
    for (const llvm::json::Value &K : *J->getAsObject()->getArray("kernels"))
      Calls += K.getAsObject()->getInteger("calls").value_or(0);
    EXPECT_EQ(Calls, int64_t(N));
    EXPECT_EQ(J->getAsObject()->getObject("machine")->getString("name"), "atalla-rtl");
  }
}

TEST(InstrumentTest, FallbackCallsHaveTheirOwnTrackAndBytes) {
  std::string Pt2 = tmpDir() + "/instrument_fallbacks.pt2", Atb = tmpDir() + "/instrument_fallbacks.atb";
  std::string Trace = tmpDir() + "/fallback-trace.json", Report = tmpDir() + "/fallback-counters.json";
  ASSERT_FALSE(bool(frontend::writeModelFile(test::twoFallbackModel(), Pt2)));
  ASSERT_EQ(run("atalla-gen --quiet " + Pt2 + " -o " + Atb).Rc, 0);
  Result R = run("atalla-run " + Atb + " --counters --chrome-trace " + Trace + " --report-json " + Report);
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(checkTrace(Trace, instructionsOf(R.Out), "two fallbacks"), 2u);
  EXPECT_EQ(countOf(R.Out, " fallback\n"), 2u) << R.Out;
  auto J = llvm::json::parse(test::slurp(Report));
  ASSERT_TRUE(bool(J));
  const llvm::json::Object *Totals = J->getAsObject()->getObject("totals");
  EXPECT_EQ(Totals->getInteger("fallback_calls"), 2);
  EXPECT_GT(Totals->getInteger("fallback_bytes").value_or(0), 0);
}

TEST(InstrumentTest, MachinePresetsFilesAndMismatchedPads) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  // The UNet's GEMMs size their tiles to the pads: compiled for atalla-rtl's
  // 1 MiB pads they cannot run on atalla-sim4's 0.5 MiB ones, which
  // atalla-run says before running; compiled for atalla-sim4 they run there
  // and still match eager.
  std::string Pt2 = Dir + "/real/unet-dcnum-test_g1.pt2";
  std::string Rtl = tmpDir() + "/unet-rtl.atb", Sim4 = tmpDir() + "/unet-sim4.atb";
  ASSERT_EQ(run("atalla-gen --quiet " + Pt2 + " -o " + Rtl).Rc, 0);
  Result R = run("atalla-run " + Rtl + " --machine atalla-sim4");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("compiled for scratchpads of 1024 KiB (machine atalla-rtl), but this device's are 512 KiB: "
                       "recompile with atalla-gen --machine atalla-sim4"),
            std::string::npos)
      << R.Err;
  EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
  ASSERT_EQ(run("atalla-gen --quiet --machine atalla-sim4 " + Pt2 + " -o " + Sim4).Rc, 0);
  R = run("atalla-run " + Sim4 + " --machine atalla-sim4 --counters --check " + Pt2);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  EXPECT_NE(R.Out.find("4 scratchpads x 512 KiB (atalla-sim4)"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("0 of 163840 elements differ"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("of 512 per pad"), std::string::npos) << R.Out;

  // A description file; its errors, and an unknown preset, are one line, exit 2.
  std::string Good = tmpDir() + "/machine.json", Bad = tmpDir() + "/bad-machine.json";
  std::ofstream(Good) << R"({"base": "atalla-rtl", "name": "fast-dram", "dram_bytes_per_cycle": 256})";
  std::ofstream(Bad) << R"({"num_pads": 2, "dram_bw": 256})";
  R = run("atalla-run " + Rtl + " --machine " + Good + " --counters");
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("model (fast-dram): "), std::string::npos) << R.Out;
  for (const std::string &Tool : {std::string("atalla-run ") + Rtl, "atalla-gen " + Pt2}) {
    R = run(Tool + " --machine " + Bad);
    EXPECT_EQ(R.Rc, 2) << Tool;
    EXPECT_NE(R.Err.find(Bad + ": unknown key \"dram_bw\""), std::string::npos) << R.Err;
    EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
    R = run(Tool + " --machine atalla-xl");
    EXPECT_EQ(R.Rc, 2) << Tool;
    EXPECT_NE(R.Err.find("atalla-xl: not a machine preset (atalla-rtl, atalla-sim4, atalla-sim-tpu)"), std::string::npos) << R.Err;
  }
  // Output files that cannot be written: one line, exit 1.
  R = run("atalla-run " + Rtl + " --chrome-trace /nonexistent-dir/trace.json");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("/nonexistent-dir/trace.json: cannot write"), std::string::npos) << R.Err;
}

TEST(InstrumentTest, ReportShowsTheMemoryPlanAndCompileTimes) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  Result G = run("atalla-gen " + Dir + "/seed/transformer_block_params.pt2 -o " + tmpDir() + "/tb.atb --report");
  ASSERT_EQ(G.Rc, 0) << G.Err;
  EXPECT_NE(G.Out.find("Memory plan: DRAM "), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("live-bytes lower bound"), std::string::npos);
  EXPECT_NE(G.Out.find("instructions -1 .. end"), std::string::npos);
  // The input's row starts at the first column ("in..").
  EXPECT_NE(G.Out.find(" in.."), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("..out  "), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("Compile time per kernel (ms; ordered by total)"), std::string::npos);
  EXPECT_NE(G.Out.find("  gemm f32 ["), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("Compile time per phase (ms)"), std::string::npos);
  for (const char *Phase : {"load (.pt2 archive)", "select-kernels", "plan-memory", "IR generation", "optimisation",
                            "object code", "blob assembly"})
    EXPECT_NE(G.Out.find(Phase), std::string::npos) << Phase;
}

TEST(InstrumentTest, EveryToolPrintsItsVersions) {
  for (const char *Tool :
       {"atalla-gen", "atalla-run", "atalla-inspect", "atalla-fuzz", "atalla-make-example", "atalla-cycles"}) {
    Result R = run(std::string(Tool) + " --version");
    EXPECT_EQ(R.Rc, 0) << Tool << R.Err;
    EXPECT_EQ(R.Out.rfind(std::string(Tool) + " version ", 0), 0u) << R.Out;
    for (const char *Part : {"(project atalla-gen)", "blob format version 1", "LLVM 19.", "LibTorch 1.13", "oneDNN 2."})
      EXPECT_NE(R.Out.find(Part), std::string::npos) << Tool << ": " << Part << "\n" << R.Out;
    // The tools that load LibTorch name the BLAS libblas.so.3 resolved to.
    const bool LoadsTorch = std::string(Tool) == "atalla-run" || std::string(Tool) == "atalla-inspect";
    EXPECT_EQ(R.Out.find("BLAS behind LibTorch: ") != std::string::npos, LoadsTorch) << Tool << "\n" << R.Out;
    EXPECT_EQ(R.Out.find("BLAS behind LibTorch: none loaded"), std::string::npos) << R.Out;
  }
}

TEST(InstrumentTest, AtallaCyclesRunsAtallaSimsSchedulesAndOurs) {
  // atalla-sim's published schedules through the tile model, as a user runs
  // them: the phase breakdown and the DRAM bytes, in text and JSON.
  Result R = run("atalla-cycles gemm 128 128 128 --schedule blocked:m4_n4");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("gemm 128x128x128 on atalla-sim-tpu (tile model)"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("blocked:m4_n4"), std::string::npos) << R.Out;
  for (const char *Part : {"preload ", "stream ", "compute ", "store ", "drain ", "DRAM bytes loaded 65,536, stored 32,768"})
    EXPECT_NE(R.Out.find(Part), std::string::npos) << Part << "\n" << R.Out;
  // Ours is printed beside atalla-sim's best published schedule.
  R = run("atalla-cycles gemm 256 256 256 --schedule ours --json");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  const llvm::json::Object Ours = jsonObject(R.Out);
  const llvm::json::Object *O = &Ours;
  EXPECT_EQ(O->getString("schedule").value_or(""), "ours");
  EXPECT_EQ(O->getString("machine").value_or(""), "atalla-sim-tpu");
  ASSERT_NE(O->getObject("reference"), nullptr);
  EXPECT_EQ(O->getObject("reference")->getString("schedule").value_or(""), "blocked:m8_n32");
  EXPECT_GT(O->getNumber("speedup_over_reference").value_or(0), 1.0);
  EXPECT_EQ(O->getInteger("dram_bytes_stored").value_or(0), 256 * 256 * 2);
  // "ours" streams M's rows, so M need not be whole tiles: 8 rows are
  // loaded, streamed and stored as 8 rows.
  R = run("atalla-cycles gemm 8 64 64 --schedule ours --json");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  {
    const llvm::json::Object O8 = jsonObject(R.Out);
    EXPECT_EQ(O8.getInteger("dram_bytes_stored").value_or(0), 8 * 64 * 2) << R.Out;
    EXPECT_EQ(O8.getInteger("dram_bytes_loaded").value_or(0), (8 * 64 + 64 * 64) * 2) << R.Out;
  }
  // Another machine: a preset or a file.
  R = run("atalla-cycles gemm 64 64 64 --schedule tiled --machine atalla-rtl");
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("on atalla-rtl"), std::string::npos) << R.Out;
  // A convolution as its kernel moves data (its input's rows per kw), beside
  // its im2col tiles from DRAM: a 1-channel 3x3 over 64 x 64 with padding 1
  // loads 64 rows of 63, 64 and 63 columns (2-byte elements) and 8 weight
  // rows of 9 values.
  R = run("atalla-cycles conv 8 1 64 64 3 3 --pad 1 --machine atalla-rtl --json");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  {
    const llvm::json::Object Conv = jsonObject(R.Out);
    const llvm::json::Object *Oc = &Conv;
    EXPECT_EQ(Oc->getInteger("dram_bytes_loaded").value_or(0), 64 * (63 + 64 + 63) * 2 + 8 * 18) << R.Out;
    ASSERT_NE(Oc->getObject("im2col_tiles"), nullptr);
    EXPECT_LT(Oc->getInteger("cycles").value_or(0), Oc->getObject("im2col_tiles")->getInteger("cycles").value_or(0));
    // Output rows packed (the cycle model's choice): the same input rows,
    // P x 8 weight rows of C (KH + P - 1) KW values, fewer cycles.
    const llvm::json::Object *Pk = Oc->getObject("packed");
    ASSERT_NE(Pk, nullptr) << R.Out;
    const int64_t P = Pk->getInteger("rows").value_or(0);
    EXPECT_GT(P, 1) << R.Out;
    EXPECT_EQ(Pk->getInteger("dram_bytes_loaded").value_or(0), 64 * (63 + 64 + 63) * 2 + P * 8 * (P + 2) * 3 * 2)
        << R.Out;
    EXPECT_LT(Pk->getInteger("cycles").value_or(0), Oc->getInteger("cycles").value_or(0));
    // The same convolution with each pass run to its end (ours:serial):
    // the same bytes, no fewer cycles than the pipelined passes.
    R = run("atalla-cycles conv 8 1 64 64 3 3 --pad 1 --machine atalla-rtl --schedule ours:serial --json");
    ASSERT_EQ(R.Rc, 0) << R.Err;
    const llvm::json::Object Serial = jsonObject(R.Out);
    EXPECT_EQ(Serial.getString("schedule").value_or(""), "ours:serial") << R.Out;
    EXPECT_EQ(Serial.getInteger("dram_bytes_loaded").value_or(-1), Oc->getInteger("dram_bytes_loaded").value_or(0));
    EXPECT_GE(Serial.getInteger("cycles").value_or(0), Oc->getInteger("cycles").value_or(0));
  }
  // Bad input: one line, exit 2.
  for (auto [Args, Msg] : {std::pair<const char *, const char *>{"gemm 33 32 32 --schedule tiled", "M = 33: the tile model takes"},
                           {"conv 8 1 48 48 3 3 --pad 1", "the convolution (C = 1, 3x3 window, 48x48 output) is not a"},
                           {"conv 8 1 4 64 9 3", "the window does not fit the padded input"},
                           {"conv 8 0 64 64 3 3", "'0' is not a positive integer (conv OC C H W KH KW)"},
                           {"conv 8 1 64 64 3 3 --stride 0", "--stride and --dilation must be positive"},
                           {"gemm 32 33 32", "N = 33: the tile model takes"},
                           {"gemm 32 32", "expected 'gemm M N K'"},
                           {"conv 32 32 32", "expected 'gemm M N K'"},
                           {"gemm 32 x 32", "'x' is not a positive integer"},
                           {"gemm 64 64 64 --schedule blocked:m0_n1", "unknown schedule 'blocked:m0_n1'"},
                           {"gemm 64 32 32 --schedule tile", "schedule 'tile' is one 32x32x32 tile"},
                           {"conv 8 1 64 64 3 3 --pad 1 --schedule tiled", "conv runs the compiler's schedule"},
                           {"gemm 32 32 32 --machine atalla-xl", "atalla-xl: not a machine preset"}}) {
    R = run(std::string("atalla-cycles ") + Args);
    EXPECT_EQ(R.Rc, 2) << Args;
    EXPECT_NE(R.Err.find(std::string("atalla-cycles: error: ") + Msg), std::string::npos) << Args << "\n" << R.Err;
    EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
  }
}
