//===- tests/tools/ZooTest.cpp - the model zoo, compiled and checked -------===//
//
// tests/data/zoo holds real architectures (torchvision's resnet18 topology,
// mobilenet_v2, mobilenet_v3_small, efficientnet, squeezenet1_1,
// shufflenet_v2, a densenet, a ViT, a BERT-style encoder and a GPT-2-style
// decoder) traced with torch 1.13 into torch.export 2.1-2.4's IR and written
// by the project's writer (tools/make_zoo.py). Each one is compiled as a
// user would, must run wholly on the device (0 fallbacks), and must agree
// with two references: the eager LibTorch oracle (--check) and the output
// torch 1.13's own eager Python run wrote beside the archive, both within the
// tolerance atalla-run derives from the model's numerics. At bf16 each one
// agrees with eager within the bf16 tolerance.
//
// To add a model: a builder in tools/make_zoo.py's MODELS, then
//   /usr/bin/python3 tools/make_zoo.py tests/data/zoo <name>
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"

#include "ProcessSupport.h"
#include "TestSupport.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>

using namespace atalla;

namespace {

using Result = test::ToolResult;

Result run(const std::string &Cmd) { return test::runTool(Cmd); }

std::string zooDir() {
  if (const char *E = std::getenv("ATALLA_ZOO_DATA"); E && test::isDir(E))
    return E;
  return test::sourceDir() + "/tests/data/zoo";
}

/// MANIFEST.json (tools/make_zoo.py writes it); null when unreadable.
llvm::json::Value manifest() {
  auto B = llvm::MemoryBuffer::getFile(zooDir() + "/MANIFEST.json");
  if (!B)
    return nullptr;
  auto J = llvm::json::parse((*B)->getBuffer());
  if (!J) {
    llvm::consumeError(J.takeError());
    return nullptr;
  }
  return std::move(*J);
}

/// The zoo's models: MANIFEST.json's keys.
std::vector<std::string> zooModels() {
  std::vector<std::string> Names;
  llvm::json::Value J = manifest();
  if (const llvm::json::Object *O = J.getAsObject())
    for (const auto &KV : *O)
      Names.push_back(KV.first.str());
  std::sort(Names.begin(), Names.end());
  return Names;
}

/// A number of model \p Name's MANIFEST entry; -1 when absent.
double manifestNumber(const std::string &Name, llvm::StringRef Key) {
  llvm::json::Value J = manifest();
  const llvm::json::Object *O = J.getAsObject();
  const llvm::json::Object *E = O ? O->getObject(Name) : nullptr;
  std::optional<double> V = E ? E->getNumber(Key) : std::nullopt;
  return V ? *V : -1;
}

std::vector<float> readFloats(const std::string &Path) {
  std::vector<uint8_t> B = test::readFileBytes(Path);
  std::vector<float> F(B.size() / 4);
  std::memcpy(F.data(), B.data(), F.size() * 4);
  return F;
}

double firstMatch(const std::string &Out, const std::regex &Re) {
  std::smatch M;
  return std::regex_search(Out, M, Re) ? std::strtod(M[1].str().c_str(), nullptr) : -1;
}

class ZooModel : public ::testing::TestWithParam<std::string> {};

TEST(ZooTest, ManifestListsTheZoo) {
  // The zoo is committed with the project: a missing or empty manifest is a
  // broken checkout, not a skip.
  std::vector<std::string> Names = zooModels();
  EXPECT_GE(Names.size(), 10u) << zooDir() << "/MANIFEST.json";
  for (const std::string &N : Names) {
    EXPECT_TRUE(llvm::sys::fs::exists(zooDir() + "/" + N + ".pt2")) << N;
    EXPECT_TRUE(llvm::sys::fs::exists(zooDir() + "/" + N + ".in0.bin")) << N;
    EXPECT_TRUE(llvm::sys::fs::exists(zooDir() + "/" + N + ".out0.bin")) << N;
  }
}

TEST_P(ZooModel, RunsWhollyOnTheDeviceAndMatchesEager) {
  const std::string Name = GetParam(), Stem = zooDir() + "/" + Name, Pt2 = Stem + ".pt2";
  const std::string Atb = test::tmpDir() + "/" + Name + ".atb", OutDir = test::tmpDir() + "/" + Name + ".out";
  Result G = run("atalla-gen " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  // "Program length: N (N kernel, 0 fallback)": every op on the device.
  std::smatch M;
  ASSERT_TRUE(std::regex_search(G.Out, M, std::regex(R"(Program length: \d+ \(\d+ kernel, (\d+) fallback\))")))
      << G.Out;
  EXPECT_EQ(M[1].str(), "0") << G.Out;
  EXPECT_EQ(test::countOf(G.Out, "[FALLBACK]"), 0u) << G.Out;

  Result R = run("atalla-run " + Atb + " --input " + Stem + ".in0.bin --check " + Pt2 + " --output-dir " + OutDir);
  ASSERT_EQ(R.Rc, 0) << R.Out << R.Err;
  EXPECT_EQ(test::countOf(R.Out, "MISMATCH"), 0u) << R.Out;
  EXPECT_EQ(test::countOf(R.Out, " OK"), 1u) << R.Out;

  // The second reference: torch 1.13's eager output, written by
  // tools/make_zoo.py, within the same derived tolerance
  // ("float32 u x K = T, u = 2^-24"; normalised error max|d| / max|ref|).
  const double Tol = firstMatch(R.Out, std::regex(R"(float32 u x \d+ = ([0-9.e+-]+), u = 2\^-24)"));
  ASSERT_GT(Tol, 0) << R.Out;
  std::vector<float> Got = readFloats(OutDir + "/out0.bin"), Want = readFloats(Stem + ".out0.bin");
  ASSERT_EQ(Got.size(), Want.size());
  ASSERT_FALSE(Want.empty());
  double MaxRef = 0, MaxDiff = 0;
  for (size_t I = 0; I < Want.size(); ++I) {
    ASSERT_TRUE(std::isfinite(Got[I])) << "element " << I;
    MaxRef = std::max(MaxRef, double(std::fabs(Want[I])));
    MaxDiff = std::max(MaxDiff, double(std::fabs(Got[I] - Want[I])));
  }
  // Realistic weights: outputs are O(1), not collapsed to zero.
  EXPECT_GT(MaxRef, 0.1) << Name;
  EXPECT_LT(MaxRef, 100.0) << Name;
  EXPECT_LE(MaxDiff / MaxRef, Tol) << Name << ": max |device - torch 1.13 eager| " << MaxDiff << ", max |ref| "
                                   << MaxRef;
}

TEST_P(ZooModel, AgreesWithEagerAtBf16) {
  // atalla-run's bf16 tolerance, 2^-8 (6 + log2 n), bounds the rounding of
  // one op; through a deep network each layer's rounding is amplified by the
  // layers after it, and torch's own bf16 eager run (weights and input in
  // bf16, recorded in MANIFEST.json) moves shufflenet_v2's output by 0.40
  // of its magnitude, mobilenet_v2's by 0.17. The device's bf16 blob rounds
  // at fewer places (f32 sums, one rounding per op) but is run through the
  // same layers: its error must be within twice torch's own bf16 error, or
  // the per-op tolerance where that is larger.
  const std::string Name = GetParam(), Stem = zooDir() + "/" + Name, Pt2 = Stem + ".pt2";
  const std::string Atb = test::tmpDir() + "/" + Name + ".bf16.atb";
  const double TorchBf16 = manifestNumber(Name, "bf16_eager_normalised_err");
  ASSERT_GT(TorchBf16, 0) << "MANIFEST.json has no bf16_eager_normalised_err for " << Name;
  Result G = run("atalla-gen --quiet --precision bf16 " + Pt2 + " -o " + Atb);
  ASSERT_EQ(G.Rc, 0) << G.Err;
  Result R = run("atalla-run " + Atb + " --input " + Stem + ".in0.bin --check " + Pt2);
  const double PerOp = firstMatch(R.Out, std::regex(R"(2\^-8 x \(6 \+ log2 \d+\) = ([0-9.e+-]+))"));
  ASSERT_GT(PerOp, 0) << R.Out;
  const double Err = firstMatch(R.Out, std::regex(R"(normalised err ([0-9.e+-]+))"));
  ASSERT_GE(Err, 0) << R.Out;
  EXPECT_LE(Err, std::max(PerOp, 2 * TorchBf16)) << Name << ": torch's own bf16 error " << TorchBf16 << "\n"
                                                  << R.Out;
  // The bf16 error is there (far above an f32 run's ~1e-6).
  EXPECT_GT(Err, 1e-4) << R.Out;
  if (PerOp >= 2 * TorchBf16) { // a shallow model: atalla-run's own verdict holds
    EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
    EXPECT_EQ(test::countOf(R.Out, "MISMATCH"), 0u) << R.Out;
  }
}

TEST(ZooTest, ConvolutionsWithAndWithoutTheConv2dKernelAgree) {
  // The default lowers all 20 of resnet18's convolutions (the 1x1 stride-2
  // downsamples too) to conv2d kernels (im2col tiles built in the
  // scratchpad, no padded copy); --no-direct-conv keeps the materialised
  // im2col and the GEMM. Both agree with eager, and the
  // conv2d blob moves less data (fewer SDMA bytes in).
  const std::string Pt2 = zooDir() + "/resnet18.pt2", In = zooDir() + "/resnet18.in0.bin";
  auto sdmaIn = [](const std::string &Out) {
    std::smatch M;
    return std::regex_search(Out, M, std::regex(R"(SDMA ([0-9.]+) MiB in)")) ? std::stod(M[1].str()) : -1.0;
  };
  double Bytes[2];
  for (int Direct = 0; Direct < 2; ++Direct) {
    const std::string Atb = test::tmpDir() + "/resnet18." + std::to_string(Direct) + ".atb";
    Result G = run("atalla-gen " + std::string(Direct ? "" : "--no-direct-conv ") + Pt2 + " -o " + Atb);
    ASSERT_EQ(G.Rc, 0) << G.Err;
    EXPECT_EQ(test::countOf(G.Out, "aten.convolution.default -> conv2d"), Direct ? 20u : 0u) << G.Out;
    Result R = run("atalla-run " + Atb + " --input " + In + " --check " + Pt2 + " --counters");
    ASSERT_EQ(R.Rc, 0) << R.Out << R.Err;
    EXPECT_EQ(test::countOf(R.Out, "MISMATCH"), 0u) << R.Out;
    Bytes[Direct] = sdmaIn(R.Out);
    ASSERT_GT(Bytes[Direct], 0) << R.Out;
  }
  EXPECT_LT(Bytes[1], Bytes[0]);
}

TEST(ZooTest, ImporterBadInputIsOneLine) {
  const std::string Out = test::tmpDir() + "/bad.pt2";
  Result R = run("atalla-import-fx " + test::tmpDir() + "/missing.fx.json -o " + Out);
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("missing.fx.json: cannot read"), std::string::npos) << R.Err;
  EXPECT_EQ(test::countOf(R.Err, "\n"), 1u) << R.Err;
  R = run("atalla-import-fx x.fx.json -o " + Out + " --layout zip");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("--layout must be raw, pickled or legacy, not 'zip'"), std::string::npos) << R.Err;
  EXPECT_FALSE(llvm::sys::fs::exists(Out));
}

TEST(ZooTest, MakeZooRewritesTheCommittedArchive) {
  // The zoo is reproducible: tools/make_zoo.py, run again where torch 1.13
  // and torchvision are installed, writes the committed archive (checked on
  // the ViT, the quickest to trace). The input comes from a seeded
  // generator: the same bytes on every CPU. The weights and the reference
  // output pass through torch's matmuls (the head is scaled by the output's
  // spread), whose summation order depends on the CPU's vector ISA and the
  // BLAS: they must agree within float32 rounding of those sums, relative
  // to each tensor's largest magnitude, not bit for bit; the graph must be
  // the same.
  const std::string Py = llvm::sys::fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (test::runCommand(Py + " -c 'import torch, torchvision, functorch'").Rc != 0)
    GTEST_SKIP() << "python3-torch / python3-torchvision not installed: tools/make_zoo.py cannot run here";
  const std::string Dir = test::tmpDir() + "/zoo";
  Result R = test::runCommand(Py + " " + test::sourceDir() + "/tools/make_zoo.py " + Dir + " vit --importer " +
                              test::binDir() + "/atalla-import-fx");
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(test::readFileBytes(Dir + "/vit.in0.bin"), test::readFileBytes(zooDir() + "/vit.in0.bin"));
  // 2^-24 per rounding, summed over the longest reduction (K = 192 in the
  // patch embedding) and the layers after it: 1e-4 relative is ~20x that.
  auto close = [](const std::vector<float> &A, const std::vector<float> &B, const std::string &What) {
    ASSERT_EQ(A.size(), B.size()) << What;
    double Max = 0, Diff = 0;
    for (size_t I = 0; I < A.size(); ++I) {
      Max = std::max(Max, double(std::fabs(B[I])));
      Diff = std::max(Diff, double(std::fabs(A[I] - B[I])));
    }
    EXPECT_LE(Diff, 1e-4 * std::max(Max, 1e-30)) << What;
  };
  close(readFloats(Dir + "/vit.out0.bin"), readFloats(zooDir() + "/vit.out0.bin"), "out0.bin");
  auto Fresh = frontend::readModel(Dir + "/vit.pt2");
  auto Committed = frontend::readModel(zooDir() + "/vit.pt2");
  ASSERT_TRUE(bool(Fresh)) << llvm::toString(Fresh.takeError());
  ASSERT_TRUE(bool(Committed)) << llvm::toString(Committed.takeError());
  ASSERT_EQ(Fresh->G.Nodes.size(), Committed->G.Nodes.size());
  for (size_t I = 0; I < Fresh->G.Nodes.size(); ++I) {
    EXPECT_EQ(Fresh->G.Nodes[I].Target, Committed->G.Nodes[I].Target) << I;
    EXPECT_EQ(Fresh->G.Nodes[I].Name, Committed->G.Nodes[I].Name) << I;
  }
  ASSERT_EQ(Fresh->Weights.size(), Committed->Weights.size());
  for (const auto &[Fqn, T] : Committed->Weights) {
    auto It = Fresh->Weights.find(Fqn);
    ASSERT_NE(It, Fresh->Weights.end()) << Fqn;
    ASSERT_EQ(It->second.Sizes, T.Sizes) << Fqn;
    if (T.Dtype != frontend::ScalarType::Float32)
      continue;
    std::vector<uint8_t> A = It->second.contiguousBytes(), B = T.contiguousBytes();
    std::vector<float> FA(A.size() / 4), FB(B.size() / 4);
    std::memcpy(FA.data(), A.data(), A.size());
    std::memcpy(FB.data(), B.data(), B.size());
    close(FA, FB, Fqn);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(zooModels()),
                         [](const ::testing::TestParamInfo<std::string> &I) { return I.param; });

} // namespace
