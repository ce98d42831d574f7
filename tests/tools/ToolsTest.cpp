//===- tests/tools/ToolsTest.cpp - the command-line tools as a user runs them -===//
//
// Runs the built binaries (ATALLA_BIN_DIR) and checks exit codes, stdout and
// the one-line errors on stderr. To add a case, call run() with the
// arguments and check what a user would see.
//
//===----------------------------------------------------------------------===//
#include "ProcessSupport.h"
#include "TestSupport.h"

#include "driver/Compare.h"
#include "frontend/Archive.h"

#include "llvm/TargetParser/Host.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace atalla;

namespace {

using test::slurp;
using test::tmpDir;
using Result = test::ToolResult;

Result run(const std::string &Tool, const std::string &Args) { return test::runTool(Tool + " " + Args); }
std::string srcDir() { return test::sourceDir(); }

size_t lines(const std::string &S) {
  size_t N = 0;
  for (char C : S)
    N += C == '\n';
  return N;
}

std::string example() { return srcDir() + "/examples/seed_accel_demo.pt2"; }

} // namespace

TEST(ToolsTest, HelpListsTheViews) {
  Result R = run("atalla-inspect", "--help");
  EXPECT_EQ(R.Rc, 0);
  for (const char *Opt : {"--table", "--nodes", "--code", "--ops", "--signature", "--json", "--run-eager",
                          "--inputs", "--input", "--seed", "--output-dir"})
    EXPECT_NE(R.Out.find(Opt), std::string::npos) << Opt;
}

TEST(ToolsTest, EveryToolsHelpListsItsOwnOptionsOnly) {
  // LLVM's own command-line options (its backends', its passes') are hidden:
  // --help is the tool's options, a screenful, not 300 lines of LLVM's.
  for (const char *Tool : {"atalla-gen", "atalla-run", "atalla-inspect", "atalla-fuzz", "atalla-cycles",
                           "atalla-import-fx", "atalla-make-example"}) {
    Result R = run(Tool, "--help");
    EXPECT_EQ(R.Rc, 0) << Tool;
    EXPECT_EQ(R.Out.find("aarch64"), std::string::npos) << Tool;
    EXPECT_LT(lines(R.Out), 80u) << Tool;
    EXPECT_NE(R.Out.find("--version"), std::string::npos) << Tool;
  }
}

TEST(ToolsTest, BadFlagsFail) {
  EXPECT_NE(run("atalla-inspect", "").Rc, 0);
  Result R = run("atalla-inspect", example() + " --no-such-flag");
  EXPECT_NE(R.Rc, 0);
  EXPECT_NE(R.Err.find("no-such-flag"), std::string::npos) << R.Err;
  R = run("atalla-inspect", example() + " --run-eager --inputs sideways");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Err, "atalla-inspect: error: --inputs must be 'sample' or 'random', got 'sideways'\n");
  R = run("atalla-inspect", example() + " --output-dir /tmp/x");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("--output-dir needs --run-eager"), std::string::npos);
}

TEST(ToolsTest, BenchmarksRunUnderAnAvx2LimitOrRefuseAnUnknownOne) {
  // atalla-bench --isa=avx2: the generated kernels for this CPU without
  // AVX-512 and AMX and oneDNN limited to AVX2, said in the summary and the
  // JSON context, so an AVX-512 host measures what an AVX2 host runs (one
  // tiny case here); an unknown limit is one line and exit 2.
  if (!llvm::sys::getHostCPUFeatures().lookup("avx2"))
    GTEST_SKIP() << "this host has no AVX2";
  Result R = run("atalla-bench", "--isa=avx2 --benchmark_min_time=0.01 --benchmark_format=json "
                                 "--benchmark_filter='^gemm/(atalla|onednn)/8/32/32$'");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("\"isa_limit\": \"avx2\""), std::string::npos) << R.Out;
  EXPECT_NE(R.Err.find("generated kernels: avx2 (6x16 GEMM microkernel"), std::string::npos) << R.Err;
  EXPECT_NE(R.Err.find("--isa=avx2: both sides limited to AVX2 and FMA"), std::string::npos) << R.Err;
  EXPECT_NE(R.Err.find("gemm/8/32/32"), std::string::npos) << R.Err;
  // Five randomly interleaved repetitions by default, each side's fastest in
  // the summary.
  EXPECT_NE(R.Err.find("each side the fastest of 5 repetitions"), std::string::npos) << R.Err;
  EXPECT_NE(R.Out.find("\"summary_times\": \"each side's fastest repetition"), std::string::npos) << R.Out;
  size_t Labels = 0; // oneDNN's implementation, the label of its case
  for (size_t At = R.Out.find("\"label\": \""); At != std::string::npos; At = R.Out.find("\"label\": \"", At + 1)) {
    const std::string Label = R.Out.substr(At, R.Out.find('\n', At) - At);
    EXPECT_EQ(Label.find("avx512"), std::string::npos) << "oneDNN chose an AVX-512 implementation: " << Label;
    ++Labels;
  }
  EXPECT_GE(Labels, 1u) << R.Out;
  R = run("atalla-bench", "--benchmark_min_time=0.01 --benchmark_repetitions=2 "
                          "--benchmark_filter='^gemm/(atalla|onednn)/8/32/32$'");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Err.find("each side the fastest of 2 repetitions"), std::string::npos) << R.Err;
  R = run("atalla-bench", "--benchmark_format=xml");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Err, "atalla-bench: --benchmark_format=xml: unknown format (console, json or csv)\n");
  R = run("atalla-bench", "--isa=avx9");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Err, "atalla-bench: --isa=avx9: unknown ISA (host or avx2)\n");
}

TEST(ToolsTest, OpsViewOfTheExample) {
  Result R = run("atalla-inspect", example() + " --ops");
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(R.Out, "1 torch.ops.aten.relu.default\n1 torch.ops.aten.matmul.default\n1 torch.ops.aten.softmax.int\n");
}

TEST(ToolsTest, DefaultViewIsTheSummary) {
  Result R = run("atalla-inspect", example());
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("container: pt2_archive, root folder 'seed_accel_demo/'"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("nodes: 3, user inputs: 2"), std::string::npos) << R.Out;
}

TEST(ToolsTest, JsonViewIsValidJsonWithEveryNode) {
  Result R = run("atalla-inspect", example() + " --json");
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("\"target\": \"torch.ops.aten.softmax.int\""), std::string::npos);
  EXPECT_EQ(R.Out.front(), '{');
}

TEST(ToolsTest, RunEagerOnSampleInputsWritesOutputs) {
  std::string Dir = tmpDir() + "/eager-out";
  Result R = run("atalla-inspect", example() + " --run-eager --output-dir " + Dir);
  EXPECT_EQ(R.Rc, 0) << R.Err;
  // Each softmax row sums to 1: 4 rows.
  EXPECT_NE(R.Out.find("output 0 'softmax': shape [4, 16], dtype float32, sum 4"), std::string::npos) << R.Out;
  EXPECT_EQ(test::readFileBytes(Dir + "/out0.bin").size(), 4u * 16 * 4);
  std::string J = slurp(Dir + "/outputs.json");
  EXPECT_NE(J.find("\"name\": \"softmax\""), std::string::npos) << J;
  EXPECT_NE(J.find("\"dtype\": \"float32\""), std::string::npos) << J;
}

TEST(ToolsTest, RunEagerFromInputFilesReproducesTheReference) {
  ATALLA_REQUIRE_FIXTURES(Fix);
  std::string Stem = Fix + "/seed/seed_accel_demo";
  std::string Dir = tmpDir() + "/files-out";
  Result R = run("atalla-inspect", Stem + ".pt2 --run-eager --input " + Stem + ".in0.bin --input " + Stem +
                                       ".in1.bin --output-dir " + Dir);
  EXPECT_EQ(R.Rc, 0) << R.Err;
  // The reference was computed by another build (torch 1.13 on the
  // reference BLAS); this oracle sums in its BLAS's order: the model's
  // float32 tolerance, not byte equality.
  ASSERT_EXPECTED(M, frontend::readModel(Stem + ".pt2"));
  const driver::Tolerance Tol = driver::f32Tolerance(M);
  std::vector<uint8_t> Got = test::readFileBytes(Dir + "/out0.bin"), Ref = test::readFileBytes(Stem + ".out0.bin");
  ASSERT_EQ(Got.size(), Ref.size());
  const std::vector<int64_t> Shape = {int64_t(Ref.size() / 4)};
  driver::Comparison C =
      driver::compareTensors(frontend::TensorData::fromBytes(frontend::ScalarType::Float32, Shape, Got),
                             frontend::TensorData::fromBytes(frontend::ScalarType::Float32, Shape, Ref), Tol);
  EXPECT_TRUE(C.Pass) << driver::describeMismatch("out0", C, Tol) << " (" << Tol.Why << ")";
}

TEST(ToolsTest, RandomInputsAreReproducibleFromTheSeed) {
  Result A = run("atalla-inspect", example() + " --run-eager --inputs random --seed 7");
  Result B = run("atalla-inspect", example() + " --run-eager --inputs random --seed 7");
  Result C = run("atalla-inspect", example() + " --run-eager --inputs random --seed 8");
  EXPECT_EQ(A.Rc, 0) << A.Err;
  EXPECT_EQ(A.Out, B.Out);
  EXPECT_EQ(C.Rc, 0) << C.Err;
  EXPECT_EQ(lines(A.Out), lines(C.Out));
}

TEST(ToolsTest, BadInputsGiveOneLineErrors) {
  ATALLA_REQUIRE_FIXTURES(Fix);
  // Wrong number of --input files.
  Result R = run("atalla-inspect", example() + " --run-eager --input " + Fix + "/seed/seed_accel_demo.in0.bin");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_EQ(lines(R.Err), 1u) << R.Err;
  EXPECT_NE(R.Err.find("the model takes 2 input(s) (x, w), 1 --input file(s) given"), std::string::npos) << R.Err;
  // A file of the wrong size names the file and what was expected.
  std::string In0 = Fix + "/seed/seed_accel_demo.in0.bin";
  R = run("atalla-inspect", example() + " --run-eager --input " + In0 + " --input " + In0);
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("seed_accel_demo.in0.bin: expected 512 bytes for input 'w' (float32 [8, 16]), got 128"),
            std::string::npos)
      << R.Err;
  // torch 2.2 archives carry no sample inputs.
  R = run("atalla-inspect", Fix + "/seed/seed_accel_demo_v2_2.pt2 --run-eager");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("no sample inputs"), std::string::npos) << R.Err;
  // ... but run with --inputs random.
  R = run("atalla-inspect", Fix + "/seed/seed_accel_demo_v2_2.pt2 --run-eager --inputs random");
  EXPECT_EQ(R.Rc, 0) << R.Err;
}

TEST(ToolsTest, MissingAndCorruptArchivesGiveOneLineErrors) {
  Result R = run("atalla-inspect", "/nonexistent/model.pt2 --table");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_EQ(lines(R.Err), 1u) << R.Err;
  EXPECT_EQ(R.Err.rfind("atalla-inspect: error: /nonexistent/model.pt2", 0), 0u) << R.Err;
  std::string Bad = tmpDir() + "/corrupt.pt2";
  std::vector<uint8_t> B = test::readFileBytes(example());
  B.resize(B.size() / 2);
  std::ofstream(Bad, std::ios::binary).write(reinterpret_cast<const char *>(B.data()), B.size());
  R = run("atalla-inspect", Bad + " --code");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_EQ(lines(R.Err), 1u) << R.Err;
  EXPECT_NE(R.Err.find("corrupt.pt2"), std::string::npos) << R.Err;
  EXPECT_TRUE(R.Out.empty()) << R.Out;
}

TEST(ToolsTest, MakeExampleWritesTheCommittedExample) {
  std::string Out = tmpDir() + "/seed_accel_demo.pt2";
  Result R = run("atalla-make-example", Out);
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(test::readFileBytes(Out), test::readFileBytes(example()));
}
