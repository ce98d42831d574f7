//===- tests/tools/EndToEndTest.cpp - atalla-gen + atalla-run vs eager -----===//
//
// The whole pipeline as a user runs it: every fixture is compiled by
// atalla-gen, run by atalla-run on the simulated device and checked against
// the eager LibTorch oracle (--check, normalised error within the model's
// derived float32 tolerance, driver::f32Tolerance). The seed's
// op set must run on the accelerator. To add a case, add a fixture name to
// the lists below (and the ops it may leave to the fallback).
//
//===----------------------------------------------------------------------===//
#include "FallbackModelSupport.h"
#include "ProcessSupport.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "TestSupport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

using namespace atalla;

using test::countOf;
using test::tmpDir;
using Result = test::ToolResult;

static Result run(const std::string &Cmd) { return test::runTool(Cmd); }
static size_t count(const std::string &S, const std::string &Needle) { return countOf(S, Needle); }

TEST(EndToEndTest, SyntheticFixturesCompileRunAndMatchEager) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  struct Case {
    const char *Name;
    unsigned Fallbacks; ///< ops without a kernel
    const char *Inputs;   ///< atalla-run input mode
  };
  const Case Cases[] = {
      {"seed/seed_accel_demo", 0, "sample"},        {"seed/seed_accel_demo_legacy_v8_7", 0, "sample"},
      {"seed/seed_accel_demo_v2_2", 0, "random"},   {"seed/seed_export_basics_1", 0, "sample"},
      {"seed/seed_export_basics_2", 0, "sample"},   {"seed/seed_export_basics_3", 0, "sample"},
      {"seed/seed_mlp", 0, "sample"},               {"seed/seed_attention", 0, "sample"},
      {"seed/seed_elementwise", 0, "sample"},       {"seed/seed_tiny_transformer", 0, "sample"},
      {"seed/mlp_params", 0, "sample"},             {"seed/transformer_block_params", 0, "sample"},
      {"formats/synthetic_lrs_legacy_v8_7", 0, "sample"}, {"formats/synthetic_lrs_archive_v8_8", 0, "sample"},
      {"formats/synthetic_lrs_archive_v8_20", 0, "sample"},
  };
  for (const Case &C : Cases) {
    SCOPED_TRACE(C.Name);
    std::string Pt2 = Dir + "/" + C.Name + ".pt2";
    std::string Atb = tmpDir() + "/" + std::string(C.Name).substr(std::string(C.Name).find('/') + 1) + ".atb";
    Result G = run("atalla-gen --shapes static " + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    EXPECT_EQ(count(G.Out, "[FALLBACK]"), C.Fallbacks) << G.Out;
    EXPECT_NE(G.Out.find("Partitioned into"), std::string::npos);
    Result R = run("atalla-run " + Atb + " --inputs " + C.Inputs + " --seed 5 --check " + Pt2);
    EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
    EXPECT_NE(R.Out.find("OK"), std::string::npos) << R.Out;
    // The header names the BLAS the oracle summed with and the tolerance's derivation.
    EXPECT_NE(R.Out.find("--- CHECK against eager LibTorch 1.13"), std::string::npos) << R.Out;
    EXPECT_NE(R.Out.find("BLAS"), std::string::npos) << R.Out;
    EXPECT_NE(R.Out.find("(float32 u x "), std::string::npos) << R.Out;
  }
}

TEST(EndToEndTest, TraceShowsTheSeedDemoOps) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_accel_demo.pt2", Atb = tmpDir() + "/trace.atb";
  ASSERT_EQ(run("atalla-gen " + Pt2 + " -o " + Atb).Rc, 0);
  Result R = run("atalla-run " + Atb + " --trace --runs 2");
  EXPECT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Out.find("[ATALLA] relu [4, 8]"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("[ATALLA] gemm [4, 8] @ [8, 16]"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("[ATALLA] softmax [4, 16]"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find("run 2: output 0 'softmax': shape [4, 16], dtype float32, sum 4"), std::string::npos) << R.Out;
}

TEST(EndToEndTest, SameModelCompilesToSameBytesInTwoProcesses) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_tiny_transformer.pt2";
  ASSERT_EQ(run("atalla-gen " + Pt2 + " -o " + tmpDir() + "/a.atb").Rc, 0);
  ASSERT_EQ(run("atalla-gen " + Pt2 + " -o " + tmpDir() + "/b.atb").Rc, 0);
  std::vector<uint8_t> A = test::readFileBytes(tmpDir() + "/a.atb"), B = test::readFileBytes(tmpDir() + "/b.atb");
  EXPECT_FALSE(A.empty());
  EXPECT_TRUE(A == B);
}

TEST(EndToEndTest, RealUNetRunsFullyOnTheAcceleratorAndMatchesEager) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/real/unet-dcnum-test_g1.pt2", Atb = tmpDir() + "/unet.atb";
  std::string Json = tmpDir() + "/unet-report.json";
  // --accel-only: nothing may fall back, the uint8 -> float cast of the
  // images and the final ge into a bool mask included.
  Result G = run("atalla-gen --accel-only " + Pt2 + " -o " + Atb + " --report-json " + Json);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  // Every convolution on the accelerator, every batch norm folded into one:
  // the five 3x3 ones as conv2d kernels (no im2col copy, no padded copy),
  // the 1x1 head as a GEMM reading its input in place.
  EXPECT_EQ(count(G.Out, "aten.conv2d.default -> conv2d"), 5u) << G.Out;
  EXPECT_EQ(count(G.Out, "aten.conv2d.default -> gemm"), 1u) << G.Out;
  // The upsamplings as conv_transpose2d kernels (their tiles interleaved
  // on chip), both written straight into the cat that reads them.
  EXPECT_EQ(count(G.Out, "aten.conv_transpose2d.input -> conv_transpose2d"), 2u) << G.Out;
  EXPECT_EQ(count(G.Out, "[FUSED]    batch_norm"), 5u) << G.Out;
  EXPECT_EQ(count(G.Out, "aten.to.dtype -> convert"), 1u) << G.Out;
  EXPECT_EQ(count(G.Out, "aten.ge.Tensor -> ge"), 1u) << G.Out;
  auto Report = llvm::json::parse(test::slurp(Json));
  ASSERT_TRUE(bool(Report)) << llvm::toString(Report.takeError());
  std::optional<double> Flops = Report->getAsObject()->getNumber("accelerated_flops_fraction");
  ASSERT_TRUE(Flops.has_value());
  EXPECT_EQ(*Flops, 1.0);
  EXPECT_EQ(Report->getAsObject()->getNumber("accelerated_ops_fraction"), 1.0);
  std::string OutDir = tmpDir() + "/unet-out";
  Result R = run("atalla-run " + Atb + " --check " + Pt2 + " --per-op --output-dir " + OutDir);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  // Each instruction alone on eager's inputs agrees too: a folded batch norm's
  // GEMM is compared with the batch norm's value.
  EXPECT_NE(R.Out.find(", 0 over tolerance or failed"), std::string::npos) << R.Out;
  // The bool output against the reference file, except within 1e-5 of the threshold.
  std::vector<uint8_t> Got = test::readFileBytes(OutDir + "/out0.bin");
  std::vector<uint8_t> Ref = test::readFileBytes(Dir + "/real/unet-dcnum-test_g1.out0.bin");
  std::vector<uint8_t> Sig = test::readFileBytes(Dir + "/real/unet-dcnum-test_g1.sigmoid.bin");
  ASSERT_EQ(Got.size(), Ref.size());
  ASSERT_EQ(Sig.size(), Ref.size() * 4);
  size_t Unexplained = 0;
  for (size_t I = 0; I < Got.size(); ++I)
    if (Got[I] != Ref[I]) {
      float S;
      std::memcpy(&S, &Sig[I * 4], 4);
      Unexplained += std::fabs(S - 0.5f) >= 1e-5f;
    }
  EXPECT_EQ(Unexplained, 0u);
}

/// tests/FallbackModelSupport.h's model as a .pt2 in the test folder.
static std::string twoFallbackArchive() {
  std::string Path = tmpDir() + "/two_fallbacks.pt2";
  llvm::Error E = frontend::writeModelFile(test::twoFallbackModel(), Path);
  EXPECT_FALSE(bool(E)) << llvm::toString(std::move(E));
  return Path;
}

TEST(EndToEndTest, AccelOnlyRefusesWithTheOpList) {
  Result G = run("atalla-gen --accel-only " + twoFallbackArchive() + " -o " + tmpDir() + "/x.atb");
  EXPECT_EQ(G.Rc, 1);
  EXPECT_NE(G.Err.find("--accel-only: 2 op(s) would fall back"), std::string::npos) << G.Err;
}

TEST(EndToEndTest, BadFlagsAndInputsGiveOneLineErrors) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_accel_demo.pt2", Atb = tmpDir() + "/flags.atb";
  EXPECT_EQ(run("atalla-gen --shapes dynamic " + Pt2).Rc, 2);
  EXPECT_EQ(run("atalla-gen --emit=bitcode " + Pt2).Rc, 2);
  Result S = run("atalla-gen --input-shape x=4xq " + Pt2);
  EXPECT_EQ(S.Rc, 2);
  EXPECT_NE(S.Err.find("'q' is not a dimension"), std::string::npos) << S.Err;
  ASSERT_EQ(run("atalla-gen " + Pt2 + " -o " + Atb).Rc, 0);
  Result R = run("atalla-run " + Atb + " --input " + Dir + "/seed/seed_accel_demo.in0.bin");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("takes 2 input(s), 1 --input file(s) given"), std::string::npos) << R.Err;
  R = run("atalla-run " + Atb + " --input " + Dir + "/seed/seed_accel_demo.in0.bin --input " + Dir +
          "/seed/seed_accel_demo.in0.bin");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("expected 512 bytes for input 'w'"), std::string::npos) << R.Err;
  // A corrupt blob: one line, non-zero.
  std::vector<uint8_t> B = test::readFileBytes(Atb);
  B[B.size() / 2] ^= 0xFF;
  std::string Bad = tmpDir() + "/bad.atb";
  std::ofstream(Bad, std::ios::binary).write(reinterpret_cast<const char *>(B.data()), B.size());
  R = run("atalla-run " + Bad);
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("checksum"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
  // A negative --rtol is a usage error, before anything runs.
  R = run("atalla-run " + Atb + " --rtol -1 --check " + Pt2);
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("--rtol must be a number >= 0"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
  // Scratchpads too small for any kernel: the machine file is named.
  const std::string Tiny = tmpDir() + "/tiny-pads.json";
  std::ofstream(Tiny) << "{\"name\": \"tiny\", \"pad_bytes\": 4096}";
  R = run("atalla-gen --machine " + Tiny + " " + Pt2 + " -o " + tmpDir() + "/tiny.atb");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find(Tiny + ": machine 'tiny': scratchpads of 4096 bytes are too small to generate kernels for"),
            std::string::npos)
      << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
}

TEST(EndToEndTest, FreshCheckScriptRefusesBadArgumentsInOneLine) {
  // Only the argument checks run here (the check itself needs root, a
  // mirror and minutes): each refusal is one line and exit 2.
  const std::string Script = "bash " + test::sourceDir() + "/scripts/fresh-check.sh ";
  Result R = test::runCommand(Script + "--bogus");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("fresh-check: unknown option '--bogus'"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
  R = test::runCommand(Script + "--shared /nonexistent/shared");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("fresh-check: --shared: '/nonexistent/shared' is not a folder"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
  R = test::runCommand(Script + "--help");
  EXPECT_EQ(R.Rc, 0);
  EXPECT_NE(R.Out.find("debootstrap"), std::string::npos) << R.Out;
}

TEST(EndToEndTest, CoverageReportTextJsonAndProvenance) {
  // atan and asinh go to the fallback.
  std::string Pt2 = twoFallbackArchive(), Atb = tmpDir() + "/cov.atb";
  std::string Json = tmpDir() + "/cov.json";
  Result G = run("atalla-gen --quiet --report --report-json " + Json + " " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  EXPECT_NE(G.Out.find("Coverage report"), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("fallback"), std::string::npos) << G.Out;
  EXPECT_NE(G.Out.find("no device kernel for"), std::string::npos) << G.Out;
  auto Report = llvm::json::parse(test::slurp(Json));
  ASSERT_TRUE(bool(Report)) << llvm::toString(Report.takeError());
  const llvm::json::Object &O = *Report->getAsObject();
  for (const char *Key : {"accelerated_ops_fraction", "accelerated_flops_fraction", "accelerated_bytes_fraction"}) {
    std::optional<double> V = O.getNumber(Key);
    ASSERT_TRUE(V.has_value()) << Key;
    EXPECT_GE(*V, 0.0) << Key;
    EXPECT_LT(*V, 1.0) << Key; // two ops fall back
  }
  EXPECT_EQ(O.getInteger("fallback_ops"), 2);
  const llvm::json::Array *Nodes = O.getArray("nodes");
  ASSERT_NE(Nodes, nullptr);
  size_t Fallbacks = 0;
  for (const llvm::json::Value &N : *Nodes)
    if (N.getAsObject()->getString("placement") == "fallback") {
      ++Fallbacks;
      EXPECT_FALSE(N.getAsObject()->getString("reason")->empty());
    }
  EXPECT_EQ(Fallbacks, 2u);
  // The same shares in the blob's provenance.
  Result I = run("atalla-inspect " + Atb);
  EXPECT_NE(I.Out.find("accelerated_flops_fraction"), std::string::npos) << I.Out;
  // An unwritable report path: one line, exit 1, no blob claimed.
  Result Bad = run("atalla-gen --quiet --report-json " + tmpDir() + "/no/such/dir/r.json " + Pt2 + " -o " + Atb);
  EXPECT_EQ(Bad.Rc, 1);
  EXPECT_EQ(count(Bad.Err, "\n"), 1u) << Bad.Err;
}

TEST(EndToEndTest, InspectDumpsTheBlob) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Atb = tmpDir() + "/dump.atb";
  ASSERT_EQ(run("atalla-gen " + Dir + "/seed/seed_accel_demo.pt2 -o " + Atb).Rc, 0);
  Result R = run("atalla-inspect " + Atb);
  EXPECT_EQ(R.Rc, 0) << R.Err;
  for (const char *Part : {"format: ATALLA00 version 1", "sections:", "Code", "kernels (3):", "memory map",
                           "program (3 instructions):", "target_triple", "source_hash"})
    EXPECT_NE(R.Out.find(Part), std::string::npos) << Part << "\n" << R.Out;
}

TEST(EndToEndTest, TextEmitsGoToTheOutputFile) {
  std::string Pt2 = test::sourceDir() + "/examples/seed_accel_demo.pt2";
  std::string S = tmpDir() + "/kernels.s";
  Result G = run("atalla-gen --emit=asm " + Pt2 + " -o " + S);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  EXPECT_EQ(G.Out, "");
  std::string Asm = test::slurp(S);
  EXPECT_EQ(count(Asm, "; kernel "), 3u) << Asm;
  EXPECT_NE(Asm.find("vfmadd"), std::string::npos);
  // Without -o, stdout; an unwritable -o is one line and exit 1.
  EXPECT_EQ(run("atalla-gen --emit=llvm " + Pt2).Out.find("; kernel "), 0u);
  Result Bad = run("atalla-gen --emit=program " + Pt2 + " -o " + tmpDir() + "/no/such/dir/p.txt");
  EXPECT_EQ(Bad.Rc, 1);
  EXPECT_EQ(count(Bad.Err, "\n"), 1u) << Bad.Err;
}

TEST(EndToEndTest, RealTorchArchivesRunOnTheDeviceAndMatchEager) {
  // Every archive real torch 2.11 wrote (tests/data/torch2), run on its own
  // input files; the eager oracle those are checked with agrees with torch's
  // outputs (reference_tests). cond has no device lowering: one clear line.
  const std::string Dir = test::torch2Dir();
  ASSERT_FALSE(Dir.empty());
  std::vector<std::string> Names;
  for (const char *N : {"torch_attention", "torch_conv_bn", "torch_conv_up", "torch_dynamic_mlp",
                        "torch_export_basics_1", "torch_index_ops", "torch_kw_inputs", "torch_mlp_params",
                        "torch_multi_out", "torch_seed_accel_demo", "torch_seed_accel_demo_core", "torch_split_max",
                        "torch_tied_linear", "torch_train_bn", "torch_transformer_block", "torch_views"})
    Names.push_back(N);
  for (const std::string &N : Names) {
    SCOPED_TRACE(N);
    std::string Pt2 = Dir + "/" + N + ".pt2", Atb = tmpDir() + "/" + N + ".atb";
    Result G = run("atalla-gen --quiet " + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    std::string Inputs;
    for (int I = 0; test::isDir(Dir) && std::ifstream(Dir + "/" + N + ".in" + std::to_string(I) + ".bin").good(); ++I)
      Inputs += " --input " + Dir + "/" + N + ".in" + std::to_string(I) + ".bin";
    Result R = run("atalla-run " + Atb + Inputs + " --check " + Pt2);
    EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
    // Every checked output says OK (float) or "0 of N elements differ" (exact dtypes).
    EXPECT_EQ(count(R.Out, ") OK\n") + count(R.Out, ": 0 of "), count(R.Out, "\noutput ")) << R.Out;
    EXPECT_GE(count(R.Out, "\noutput "), 1u) << R.Out;
  }
  Result C = run("atalla-gen --quiet " + Dir + "/torch_cond.pt2 -o " + tmpDir() + "/cond.atb");
  EXPECT_EQ(C.Rc, 1);
  EXPECT_NE(C.Err.find("node 'cond'"), std::string::npos) << C.Err;
  EXPECT_EQ(count(C.Err, "\n"), 1u) << C.Err;
}

TEST(EndToEndTest, EmbeddingIndexOutOfRangeStopsTheDeviceWithOneLine) {
  // A table of 4 rows, ids 0..7: eager raises; on the device the gather
  // kernel stops with ATALLA_KERNEL_EINDEX and atalla-run names the node.
  std::vector<uint8_t> Ids(8 * 8);
  for (int64_t I = 0; I < 8; ++I)
    std::memcpy(&Ids[size_t(I) * 8], &I, 8);
  std::vector<uint8_t> Rows(4 * 3 * 4, 0);
  frontend::ModelBuilder B;
  std::string X = B.addUserInput("ids", frontend::TensorData::fromBytes(frontend::ScalarType::Int64, {8}, Ids));
  std::string T = B.addParameter("embed.weight", frontend::TensorData::fromBytes(frontend::ScalarType::Float32, {4, 3}, Rows));
  B.addOutput(B.addNode("torch.ops.aten.embedding.default",
                        {frontend::ModelBuilder::arg("weight", frontend::Argument::tensor(T)),
                         frontend::ModelBuilder::arg("indices", frontend::Argument::tensor(X))},
                        frontend::ScalarType::Float32, {8, 3}));
  std::string Pt2 = tmpDir() + "/bad_ids.pt2", Atb = tmpDir() + "/bad_ids.atb";
  llvm::Error E = frontend::writeModelFile(B.take(), Pt2);
  ASSERT_FALSE(bool(E)) << llvm::toString(std::move(E));
  Result G = run("atalla-gen --accel-only " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  Result R = run("atalla-run " + Atb + " --inputs sample");
  EXPECT_EQ(R.Rc, 1) << R.Out << R.Err;
  EXPECT_NE(R.Err.find("embedding"), std::string::npos) << R.Err;
  EXPECT_NE(R.Err.find("an index is out of range of the table"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
}

TEST(EndToEndTest, NoFuseElementwiseKeepsEveryOpAKernel) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  // seed_elementwise's add feeds one mul: fused into a chain by default.
  std::string Pt2 = Dir + "/seed/seed_elementwise.pt2", Atb = tmpDir() + "/nofuse.atb";
  Result F = run("atalla-gen " + Pt2 + " -o " + Atb);
  ASSERT_EQ(F.Rc, 0) << F.Err;
  EXPECT_EQ(count(F.Out, "-> chain"), 1u) << F.Out;
  EXPECT_EQ(count(F.Out, "(in the elementwise chain of add)"), 1u) << F.Out;
  Result G = run("atalla-gen --no-fuse-elementwise " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  EXPECT_EQ(count(G.Out, "-> chain"), 0u) << G.Out;
  EXPECT_EQ(count(G.Out, "[FUSED]"), 0u) << G.Out;
  Result I = run("atalla-inspect " + Atb);
  EXPECT_NE(I.Out.find("fuse_elementwise"), std::string::npos) << I.Out;
  Result R = run("atalla-run " + Atb + " --check " + Pt2);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
}

TEST(EndToEndTest, ExamplesCompileAndMatchEager) {
  // Every archive in examples/ (the bundled one, and those
  // tools/export_model.py writes with real torch, with their .in<i>.bin
  // inputs) compiles and agrees with eager on the device.
  std::error_code EC;
  std::vector<std::string> Archives;
  for (llvm::sys::fs::directory_iterator It(test::sourceDir() + "/examples", EC), End; It != End && !EC;
       It.increment(EC))
    if (llvm::StringRef(It->path()).ends_with(".pt2"))
      Archives.push_back(It->path());
  ASSERT_FALSE(EC) << EC.message();
  std::sort(Archives.begin(), Archives.end());
  ASSERT_FALSE(Archives.empty());
  for (const std::string &Pt2 : Archives) {
    SCOPED_TRACE(Pt2);
    std::string Stem = Pt2.substr(0, Pt2.size() - 4), Atb = tmpDir() + "/example.atb";
    Result G = run("atalla-gen --quiet " + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    std::string Inputs;
    for (int I = 0; llvm::sys::fs::exists(Stem + ".in" + std::to_string(I) + ".bin"); ++I)
      Inputs += " --input " + Stem + ".in" + std::to_string(I) + ".bin";
    Result R = run("atalla-run " + Atb + Inputs + " --check " + Pt2);
    EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
    EXPECT_EQ(count(R.Out, "MISMATCH"), 0u) << R.Out;
  }
}

TEST(EndToEndTest, ExportScriptArgumentsAndMissingTorchAreOneLine) {
  // tools/export_model.py needs PyTorch >= 2.1 to export; its usage errors
  // and --list work without it, and without it an export says so in one line.
  const std::string Py = llvm::sys::fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string Script = Py + " " + test::sourceDir() + "/tools/export_model.py";
  Result R = test::runCommand(Script + " --list");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  for (const char *Demo : {"seed_accel_demo", "seed_export_basics_3", "seed_mlp", "seed_attention",
                           "seed_tiny_transformer"})
    EXPECT_NE(R.Out.find(Demo), std::string::npos) << Demo;
  R = test::runCommand(Script + " --demo nope");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("no demo model 'nope'"), std::string::npos) << R.Err;
  R = test::runCommand(Script + " mypkg.models:Net --shape x=2xq");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("is not a list of dimensions"), std::string::npos) << R.Err;
  R = test::runCommand(Script + " mypkg.models --shape x=2x3");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("expected module:Class"), std::string::npos) << R.Err;
  if (test::runCommand(Py + " -c 'import torch'").Rc == 0)
    GTEST_SKIP() << "PyTorch is installed here: the missing-torch message cannot be seen";
  R = test::runCommand(Script + " --demo seed_mlp -o " + tmpDir() + "/exported");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("needs PyTorch >= 2.1"), std::string::npos) << R.Err;
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
}

TEST(EndToEndTest, SameBlobAndInputsGiveBitIdenticalOutputs) {
  // Run after run, in one process (--runs 3 prints each run's sum) and in
  // two processes (the output files), the outputs are the same bits.
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/transformer_block_params.pt2", Atb = tmpDir() + "/determinism.atb";
  ASSERT_EQ(run("atalla-gen --quiet " + Pt2 + " -o " + Atb).Rc, 0);
  std::vector<std::vector<uint8_t>> Outs;
  for (const char *Tag : {"a", "b"}) {
    std::string OutDir = tmpDir() + "/determinism-" + Tag;
    Result R = run("atalla-run " + Atb + " --inputs random --seed 11 --runs 3 --output-dir " + OutDir);
    ASSERT_EQ(R.Rc, 0) << R.Err;
    // The three runs print the same line but for their number.
    std::vector<std::string> Sums;
    for (size_t P = R.Out.find("run "); P != std::string::npos; P = R.Out.find("run ", P + 1)) {
      size_t Colon = R.Out.find(':', P), End = R.Out.find('\n', P);
      Sums.push_back(R.Out.substr(Colon, End - Colon));
    }
    ASSERT_EQ(Sums.size(), 3u) << R.Out;
    EXPECT_EQ(Sums[0], Sums[1]);
    EXPECT_EQ(Sums[0], Sums[2]);
    Outs.push_back(test::readFileBytes(OutDir + "/out0.bin"));
  }
  ASSERT_FALSE(Outs[0].empty());
  EXPECT_TRUE(Outs[0] == Outs[1]);
}

// A blob records the ISA features its code may use; on a host without one
// of them atalla-run refuses it before running, in one line naming them and
// exit 1, never an illegal-instruction signal. The foreign CPU is the first
// of a list (AMD and Intel server cores) whose features this host lacks
// some of; a host with every one of them skips, saying so. A blob compiled
// for this host needs nothing it lacks.
TEST(EndToEndTest, ABlobForForeignCpuFeaturesIsRefusedInOneLine) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const std::string Pt2 = Dir + "/seed/seed_accel_demo.pt2", Here = tmpDir() + "/cpu_here.atb";
  ASSERT_EQ(run("atalla-gen --quiet " + Pt2 + " -o " + Here).Rc, 0);
  {
    ASSERT_EXPECTED(B, runtime::Blob::readFile(Here));
    EXPECT_TRUE(runtime::missingCpuFeatures(B).empty()) << llvm::join(runtime::missingCpuFeatures(B), ", ");
    std::optional<std::string> F = B.provenance("target_features");
    ASSERT_TRUE(F.has_value());
    EXPECT_NE(F->find("+sse2"), std::string::npos) << *F; // every x86-64 CPU's
  }
  std::string Cpu, Atb;
  std::vector<std::string> Missing;
  for (const char *C : {"znver4", "sapphirerapids", "graniterapids", "znver5"}) {
    Atb = tmpDir() + "/cpu_" + C + ".atb";
    Result G = run(std::string("atalla-gen --quiet --target-cpu=") + C + " " + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    ASSERT_EXPECTED(B, runtime::Blob::readFile(Atb));
    EXPECT_EQ(B.provenance("target_cpu").value_or(""), C);
    Missing = runtime::missingCpuFeatures(B);
    if (!Missing.empty()) {
      Cpu = C;
      break;
    }
  }
  if (Cpu.empty())
    GTEST_SKIP() << "this host has every feature of znver4, sapphirerapids, graniterapids and znver5";
  Result R = run("atalla-run " + Atb);
  EXPECT_EQ(R.Rc, 1) << R.Out << R.Err;
  EXPECT_EQ(R.Out, "");
  EXPECT_EQ(count(R.Err, "\n"), 1u) << R.Err;
  EXPECT_NE(R.Err.find("built for CPU '" + Cpu + "'"), std::string::npos) << R.Err;
  EXPECT_NE(R.Err.find("lacks: " + llvm::join(Missing, ", ")), std::string::npos) << R.Err;
  // Unknown CPUs and features are usage errors of atalla-gen, in one line.
  for (const char *Flag : {"--target-cpu=notacpu", "--target-features=+notafeature", "--target-features=avx2"}) {
    Result G = run(std::string("atalla-gen ") + Flag + " " + Pt2 + " -o " + tmpDir() + "/cpu_bad.atb");
    EXPECT_EQ(G.Rc, 2) << Flag;
    EXPECT_EQ(count(G.Err, "\n"), 1u) << G.Err;
    EXPECT_NE(G.Err.find("atalla-gen: error: --target-cpu/--target-features: "), std::string::npos) << G.Err;
  }
}

TEST(EndToEndTest, KernelCacheMakesTheSecondCompileWarmAndTheSameBytes) {
  // atalla-gen compiles distinct kernels in parallel and keeps them in a
  // persistent cache: the second compile takes every kernel from it and
  // writes the same blob, byte for byte, as a compile without the cache on
  // one thread; a damaged entry is a miss (recompiled and rewritten), and
  // other options are other entries.
  ATALLA_REQUIRE_FIXTURES(Dir);
  const std::string Pt2 = Dir + "/seed/seed_tiny_transformer.pt2", T = tmpDir(), Cache = T + "/kcache";
  Result Cold = run("atalla-gen --report " + Pt2 + " -o " + T + "/cold.atb --cache-dir " + Cache);
  ASSERT_EQ(Cold.Rc, 0) << Cold.Err;
  EXPECT_NE(Cold.Out.find("kernels from the cache: cold"), std::string::npos) << Cold.Out;
  Result Warm = run("atalla-gen --report " + Pt2 + " -o " + T + "/warm.atb --cache-dir " + Cache);
  ASSERT_EQ(Warm.Rc, 0) << Warm.Err;
  EXPECT_NE(Warm.Out.find("kernels from the cache: warm"), std::string::npos) << Warm.Out;
  EXPECT_NE(Warm.Out.find("(cached)"), std::string::npos) << Warm.Out;
  Result Plain = run("atalla-gen -j1 --no-cache " + Pt2 + " -o " + T + "/plain.atb");
  ASSERT_EQ(Plain.Rc, 0) << Plain.Err;
  EXPECT_NE(Plain.Out.find("on 1 thread, 0 of"), std::string::npos) << Plain.Out;
  const std::vector<uint8_t> A = test::readFileBytes(T + "/cold.atb"), B = test::readFileBytes(T + "/warm.atb"),
                             C = test::readFileBytes(T + "/plain.atb");
  ASSERT_FALSE(A.empty());
  EXPECT_TRUE(A == B);
  EXPECT_TRUE(A == C);
  // Damage every entry: each is a miss, recompiled, the blob unchanged.
  std::error_code EC;
  unsigned Entries = 0;
  for (llvm::sys::fs::directory_iterator It(Cache, EC), End; It != End && !EC; It.increment(EC)) {
    std::vector<uint8_t> Bytes = test::readFileBytes(It->path());
    ASSERT_FALSE(Bytes.empty());
    Bytes[Bytes.size() / 2] ^= 0x5a;
    std::ofstream(It->path(), std::ios::binary).write(reinterpret_cast<const char *>(Bytes.data()), Bytes.size());
    ++Entries;
  }
  EXPECT_GT(Entries, 3u);
  Result Damaged = run("atalla-gen --report " + Pt2 + " -o " + T + "/damaged.atb --cache-dir " + Cache);
  ASSERT_EQ(Damaged.Rc, 0) << Damaged.Err;
  EXPECT_NE(Damaged.Out.find("kernels from the cache: cold"), std::string::npos) << Damaged.Out;
  EXPECT_TRUE(test::readFileBytes(T + "/damaged.atb") == A);
  Result Rewarm = run("atalla-gen --report " + Pt2 + " -o " + T + "/rewarm.atb --cache-dir " + Cache);
  EXPECT_NE(Rewarm.Out.find("kernels from the cache: warm"), std::string::npos) << Rewarm.Out;
  // Another optimisation level: other entries.
  Result O1 = run("atalla-gen --report -O1 " + Pt2 + " -o " + T + "/o1.atb --cache-dir " + Cache);
  ASSERT_EQ(O1.Rc, 0) << O1.Err;
  EXPECT_NE(O1.Out.find("kernels from the cache: cold"), std::string::npos) << O1.Out;
  // A cache folder that cannot be written: the compile goes on (each run
  // compiles), the blob unchanged.
  Result Unwritable = run("atalla-gen " + Pt2 + " -o " + T + "/u.atb --cache-dir /dev/null/kernels");
  ASSERT_EQ(Unwritable.Rc, 0) << Unwritable.Err;
  EXPECT_TRUE(test::readFileBytes(T + "/u.atb") == A);
  // --no-cache writes nothing.
  const std::string Untouched = T + "/untouched";
  ASSERT_EQ(run("atalla-gen --no-cache --cache-dir " + Untouched + " " + Pt2 + " -o " + T + "/n.atb").Rc, 0);
  EXPECT_FALSE(llvm::sys::fs::exists(Untouched));
}
