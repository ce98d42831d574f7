//===- tests/tools/Bf16ModelsTest.cpp - whole models at bf16 precision -----===//
//
// atalla-gen --precision bf16 as a user runs it: every fixture (the shared
// synthetic ones, the real UNet and the real torch 2.11 archives) compiled
// at bf16, run on the device and checked against eager LibTorch in fp32 with
// the tolerance atalla-run derives for bf16 blobs (README, "bf16
// precision"). The bf16 error must be there (a normalised error far above
// an f32 run's), and within the tolerance. Bad flags are one line each.
//
//===----------------------------------------------------------------------===//
#include "driver/Compare.h"
#include "frontend/Archive.h"
#include "frontend/ArchiveWriter.h"

#include "FallbackModelSupport.h"
#include "ProcessSupport.h"
#include "TestSupport.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>

using namespace atalla;

using test::countOf;
using test::tmpDir;
using Result = test::ToolResult;

static Result run(const std::string &Cmd) { return test::runTool(Cmd); }

/// The largest "normalised err X" atalla-run printed; -1 when none.
static double worstNormalised(const std::string &Out) {
  static const std::regex Re("normalised err ([0-9.e+-]+)");
  double Worst = -1;
  for (auto It = std::sregex_iterator(Out.begin(), Out.end(), Re); It != std::sregex_iterator(); ++It)
    Worst = std::max(Worst, std::strtod((*It)[1].str().c_str(), nullptr));
  return Worst;
}

/// The float32 tolerance atalla-run states for a bf16 blob.
static double statedTolerance(const std::string &Out) {
  static const std::regex Re(R"(2\^-8 x \(6 \+ log2 ([0-9]+)\) = ([0-9.e+-]+))");
  std::smatch M;
  if (!std::regex_search(Out, M, Re))
    return -1;
  // The stated value is the formula's, to three digits.
  const double N = std::strtod(M[1].str().c_str(), nullptr), Stated = std::strtod(M[2].str().c_str(), nullptr);
  EXPECT_NEAR(Stated, std::ldexp(1.0, -8) * (6 + std::log2(N)), 2e-3 * Stated) << Out;
  return Stated;
}

/// Compiles \p Pt2 at bf16 and checks it against eager; returns the worst
/// normalised error of its float outputs.
static double runBf16(const std::string &Pt2, const std::string &Name, const std::string &RunArgs) {
  const std::string Atb = tmpDir() + "/" + Name + ".bf16.atb";
  Result G = run("atalla-gen --quiet --precision bf16 " + Pt2 + " -o " + Atb);
  EXPECT_EQ(G.Rc, 0) << G.Err;
  if (G.Rc)
    return -1;
  Result R = run("atalla-run " + Atb + " " + RunArgs + " --check " + Pt2);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  EXPECT_NE(R.Out.find("(bf16 blob: float32 2^-8 x (6 + log2 "), std::string::npos) << R.Out;
  EXPECT_GT(statedTolerance(R.Out), 0) << R.Out;
  // Every output says OK: floats within the tolerance, other dtypes within --flip-tol.
  EXPECT_EQ(countOf(R.Out, ") OK\n"), countOf(R.Out, "\noutput ")) << R.Out;
  EXPECT_GE(countOf(R.Out, "\noutput "), 1u) << R.Out;
  return worstNormalised(R.Out);
}

TEST(Bf16ModelsTest, SharedFixturesRunInBf16AndAgreeWithEagerFp32) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const char *Cases[][2] = {
      {"seed/seed_accel_demo", "sample"},        {"seed/seed_accel_demo_legacy_v8_7", "sample"},
      {"seed/seed_accel_demo_v2_2", "random"},   {"seed/seed_export_basics_1", "sample"},
      {"seed/seed_export_basics_2", "sample"},   {"seed/seed_export_basics_3", "sample"},
      {"seed/seed_mlp", "sample"},               {"seed/seed_attention", "sample"},
      {"seed/seed_elementwise", "sample"},       {"seed/seed_tiny_transformer", "sample"},
      {"seed/mlp_params", "sample"},             {"seed/transformer_block_params", "sample"},
      {"formats/synthetic_lrs_legacy_v8_7", "sample"}, {"formats/synthetic_lrs_archive_v8_8", "sample"},
      {"formats/synthetic_lrs_archive_v8_20", "sample"},
  };
  double Worst = 0, Least = 1;
  for (const auto &C : Cases) {
    SCOPED_TRACE(C[0]);
    const std::string Name = std::string(C[0]).substr(std::string(C[0]).find('/') + 1);
    const double E = runBf16(Dir + "/" + C[0] + ".pt2", Name, std::string("--inputs ") + C[1] + " --seed 5");
    Worst = std::max(Worst, E);
    Least = std::min(Least, E);
    // The mutation check of the float32 tolerance on the device path: bf16
    // storage is a slightly wrong kernel by float32's standard, and the
    // model's derived float32 tolerance (what --check holds an f32 blob to)
    // must catch it.
    ASSERT_EXPECTED(M, frontend::readModel(Dir + "/" + C[0] + ".pt2"));
    EXPECT_GT(E, driver::f32Tolerance(M).Float) << driver::f32Tolerance(M).Why;
  }
  // The storage really is bf16: every model's error is at the scale of
  // bf16's 2^-8, far above float32's.
  EXPECT_GT(Least, 1e-4);
  EXPECT_GT(Worst, 1e-3);
  std::printf("[ bf16 ] shared fixtures: normalised error %.3g to %.3g against eager fp32\n", Least, Worst);
}

TEST(Bf16ModelsTest, RealTorchArchivesRunInBf16AndAgreeWithEagerFp32) {
  const std::string Dir = test::torch2Dir();
  ASSERT_FALSE(Dir.empty());
  double Worst = 0;
  for (const char *N : {"torch_attention", "torch_conv_bn", "torch_conv_up", "torch_dynamic_mlp",
                        "torch_export_basics_1", "torch_index_ops", "torch_kw_inputs", "torch_mlp_params",
                        "torch_multi_out", "torch_seed_accel_demo", "torch_seed_accel_demo_core", "torch_split_max",
                        "torch_tied_linear", "torch_train_bn", "torch_transformer_block", "torch_views"}) {
    SCOPED_TRACE(N);
    std::string Inputs;
    for (int I = 0; std::ifstream(Dir + "/" + N + ".in" + std::to_string(I) + ".bin").good(); ++I)
      Inputs += " --input " + Dir + "/" + N + ".in" + std::to_string(I) + ".bin";
    Worst = std::max(Worst, runBf16(Dir + "/" + N + ".pt2", N, Inputs));
  }
  std::printf("[ bf16 ] real torch archives: worst normalised error %.3g against eager fp32\n", Worst);
}

TEST(Bf16ModelsTest, UNetMaskFlipsOnlyWithinBf16ErrorOfTheThreshold) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const std::string Pt2 = Dir + "/real/unet-dcnum-test_g1.pt2", Atb = tmpDir() + "/unet.bf16.atb";
  const std::string F32 = tmpDir() + "/unet.f32-size.atb";
  Result G = run("atalla-gen --accel-only --precision bf16 " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  // Weights and activations take half the DRAM of the f32 blob.
  Result G32 = run("atalla-gen --quiet " + Pt2 + " -o " + F32);
  ASSERT_EQ(G32.Rc, 0) << G32.Err;
  Result I16 = run("atalla-inspect " + Atb), I32 = run("atalla-inspect " + F32);
  EXPECT_NE(I16.Out.find("precision bf16"), std::string::npos) << I16.Out;
  EXPECT_NE(I16.Out.find("precision = bf16"), std::string::npos) << I16.Out;
  EXPECT_NE(I32.Out.find("precision f32"), std::string::npos) << I32.Out;
  auto dram = [](const std::string &Out) {
    std::smatch M;
    EXPECT_TRUE(std::regex_search(Out, M, std::regex("DRAM ([0-9]+) bytes"))) << Out;
    return M.empty() ? 0.0 : std::strtod(M[1].str().c_str(), nullptr);
  };
  // The uint8 input and the bool mask keep their sizes; the rest halves.
  EXPECT_LT(dram(I16.Out), 0.55 * dram(I32.Out));
  EXPECT_GT(dram(I16.Out), 0.45 * dram(I32.Out));

  const std::string OutDir = tmpDir() + "/unet-bf16-out";
  Result R = run("atalla-run " + Atb + " --check " + Pt2 + " --per-op --output-dir " + OutDir);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  // Each instruction alone on eager's inputs is within the bf16 tolerance.
  EXPECT_NE(R.Out.find(", 0 over tolerance or failed"), std::string::npos) << R.Out;
  const double Tol = statedTolerance(R.Out);
  ASSERT_GT(Tol, 0) << R.Out;
  // The mask is ge(sigmoid(logits), 0.5). Two cuts of the same model (the
  // output made an earlier value, the nodes after it dropped) show why its
  // elements flip:
  //  - cut at the sigmoid: every mask element must be the bf16 run's
  //    sigmoid >= 0.5, so each flip is the bf16 sigmoid crossing 0.5;
  //  - cut at the logits: they agree with eager's within the stated
  //    tolerance, end to end. The logits reach a few hundred, so an error
  //    well inside the tolerance (normalised by max|logits|) still moves
  //    logits near 0 by more than 1, which the sigmoid turns into flips
  //    (its own error, normalised by its max of 1, is far larger: 0.28).
  auto M = frontend::readModel(Pt2);
  ASSERT_TRUE(bool(M)) << llvm::toString(M.takeError());
  ASSERT_GE(M->G.Nodes.size(), 2u);
  auto inputOf = [](const frontend::Node &N) {
    std::vector<std::string> Ins;
    N.Inputs[0].Arg.collectTensorNames(Ins);
    return Ins.empty() ? std::string() : Ins[0];
  };
  // The node that computes a value (through detach_ and views of the same
  // elements in between: select of a size-1 dim, (un)squeeze).
  auto producer = [&](std::string Value) -> size_t {
    for (size_t I = M->G.Nodes.size(); I-- > 0;) {
      std::vector<std::string> Outs;
      for (const frontend::Argument &A : M->G.Nodes[I].Outputs)
        A.collectTensorNames(Outs);
      if (std::find(Outs.begin(), Outs.end(), Value) == Outs.end())
        continue;
      const std::string &T = M->G.Nodes[I].Target;
      if (T.find("detach") == std::string::npos && T.find("select") == std::string::npos &&
          T.find("squeeze") == std::string::npos) // not a view of the same elements
        return I;
      Value = inputOf(M->G.Nodes[I]);
    }
    return SIZE_MAX;
  };
  const frontend::Node &Ge = M->G.Nodes.back();
  ASSERT_NE(Ge.Target.find(".ge."), std::string::npos) << Ge.Target;
  const size_t SigmoidAt = producer(inputOf(Ge));
  ASSERT_NE(SigmoidAt, SIZE_MAX);
  ASSERT_NE(M->G.Nodes[SigmoidAt].Target.find("sigmoid"), std::string::npos) << M->G.Nodes[SigmoidAt].Target;
  const size_t LogitsAt = producer(inputOf(M->G.Nodes[SigmoidAt]));
  ASSERT_NE(LogitsAt, SIZE_MAX);
  auto outputOf = [&](size_t I) {
    std::vector<std::string> Outs;
    M->G.Nodes[I].Outputs[0].collectTensorNames(Outs);
    return Outs.at(0);
  };
  // Compiles the model cut after node \p At (its output the model's) at
  // bf16, checks it against eager and returns its output and the error.
  auto runCut = [&](size_t At, const std::string &Tag) {
    frontend::Model C = *M;
    C.G.Nodes.resize(At + 1);
    C.G.Outputs = {frontend::Argument::tensor(outputOf(At))};
    C.OutputSpecs.resize(1);
    C.OutputSpecs[0].Arg = C.G.Outputs[0];
    const std::string CutPt2 = tmpDir() + "/unet-" + Tag + ".pt2", CutAtb = tmpDir() + "/unet-" + Tag + ".bf16.atb";
    const std::string CutOut = tmpDir() + "/unet-" + Tag + "-out";
    EXPECT_FALSE(bool(frontend::writeModelFile(C, CutPt2)));
    Result GC = run("atalla-gen --quiet --precision bf16 " + CutPt2 + " -o " + CutAtb);
    EXPECT_EQ(GC.Rc, 0) << GC.Err;
    Result RC = run("atalla-run " + CutAtb + " --check " + CutPt2 + " --rtol 1 --output-dir " + CutOut);
    EXPECT_EQ(RC.Rc, 0) << RC.Out << RC.Err;
    return std::make_pair(test::readFileBytes(CutOut + "/out0.bin"), worstNormalised(RC.Out));
  };
  const auto [Sig16, SigmoidErr] = runCut(SigmoidAt, "sigmoid");
  const auto [Logits16, LogitsErr] = runCut(LogitsAt, "logits");
  std::vector<uint8_t> Got = test::readFileBytes(OutDir + "/out0.bin");
  std::vector<uint8_t> Ref = test::readFileBytes(Dir + "/real/unet-dcnum-test_g1.out0.bin");
  ASSERT_EQ(Got.size(), Ref.size());
  ASSERT_EQ(Sig16.size(), Got.size() * 4);
  ASSERT_EQ(Logits16.size(), Got.size() * 4);
  size_t Flips = 0, Inconsistent = 0;
  for (size_t I = 0; I < Got.size(); ++I) {
    float S16;
    std::memcpy(&S16, &Sig16[I * 4], 4);
    Inconsistent += Got[I] != uint8_t(S16 >= 0.5f);
    Flips += Got[I] != Ref[I];
  }
  EXPECT_EQ(Inconsistent, 0u);
  EXPECT_GT(Flips, 0u) << "bf16 rounding moves no sigmoid across 0.5: is the run really bf16?";
  EXPECT_LE(LogitsErr, Tol);
  EXPECT_GT(LogitsErr, 1e-3);
  std::printf("[ bf16 ] UNet: %zu of %zu mask elements flip, each where the bf16 sigmoid crosses 0.5; end to end, "
              "logits normalised error %.3g (tolerance %.3g), sigmoid %.3g\n",
              Flips, Got.size(), LogitsErr, Tol, SigmoidErr);
}

TEST(Bf16ModelsTest, FallbackOpsSeeFloat32AndTheirResultsAreStoredAsBf16) {
  // atan and asinh fall back to LibTorch; add runs on the device.
  const std::string Pt2 = tmpDir() + "/two_fallbacks.pt2", Atb = tmpDir() + "/two_fallbacks.bf16.atb";
  ASSERT_FALSE(bool(frontend::writeModelFile(test::twoFallbackModel(), Pt2)));
  Result G = run("atalla-gen --precision bf16 " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  EXPECT_EQ(countOf(G.Out, "[FALLBACK]"), 2u) << G.Out;
  const std::string OutDir = tmpDir() + "/two_fallbacks-bf16-out";
  Result R = run("atalla-run " + Atb + " --check " + Pt2 + " --per-op --output-dir " + OutDir);
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  EXPECT_NE(R.Out.find("aten::atan (fallback)"), std::string::npos) << R.Out;
  EXPECT_NE(R.Out.find(", 0 over tolerance or failed"), std::string::npos) << R.Out;
  EXPECT_GT(worstNormalised(R.Out), 1e-4) << R.Out;
  // The output came out of bf16 DRAM: every value is a bf16 value widened.
  std::vector<uint8_t> Out = test::readFileBytes(OutDir + "/out0.bin");
  ASSERT_EQ(Out.size(), 400u);
  for (size_t I = 0; I < 100; ++I) {
    uint32_t U;
    std::memcpy(&U, &Out[I * 4], 4);
    ASSERT_EQ(U & 0xffffu, 0u) << "element " << I;
  }
}

TEST(Bf16ModelsTest, FlagsAndToleranceGiveOneLineErrors) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const std::string Pt2 = Dir + "/seed/seed_mlp.pt2", Atb = tmpDir() + "/mlp.bf16.atb";
  Result Bad = run("atalla-gen --precision fp8 " + Pt2 + " -o " + Atb);
  EXPECT_EQ(Bad.Rc, 2);
  EXPECT_EQ(countOf(Bad.Err, "\n"), 1u) << Bad.Err;
  EXPECT_NE(Bad.Err.find("--precision: 'fp8' is not f32 or bf16"), std::string::npos) << Bad.Err;
  Result G = run("atalla-gen --quiet --precision bf16 " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  Result Flip = run("atalla-run " + Atb + " --flip-tol 2 --check " + Pt2);
  EXPECT_EQ(Flip.Rc, 2);
  EXPECT_EQ(countOf(Flip.Err, "\n"), 1u) << Flip.Err;
  // An f32 tolerance on a bf16 run: the outputs differ, one line says so.
  Result Tight = run("atalla-run " + Atb + " --rtol 1e-5 --check " + Pt2);
  EXPECT_EQ(Tight.Rc, 1) << Tight.Out;
  EXPECT_NE(Tight.Out.find("bf16 blob: float32 --rtol 1e-05"), std::string::npos) << Tight.Out;
  EXPECT_NE(Tight.Out.find("MISMATCH"), std::string::npos) << Tight.Out;
  EXPECT_EQ(countOf(Tight.Err, "\n"), 1u) << Tight.Err;
}
