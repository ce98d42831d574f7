//===- tests/reference/EagerInterpreterTest.cpp - the oracle vs references -===//
//
// The eager oracle runs every archive on the raw inputs stored beside it and
// is compared with outputs computed elsewhere: EXPECTED.json's (eager
// PyTorch 1.13 on the model classes, and for the UNet, the graph interpreted
// in Python, cross-checked with TorchScript) and MANIFEST.json's (real torch
// 2.11 eager). To add a case, add an archive with .in<i>.bin / .out<i>.bin
// files to either folder.
//
// Tolerances: the references were computed by other builds (torch 1.13 on
// the reference BLAS, torch 2.11 with its own GEMMs), while this oracle sums
// in the order of whatever BLAS libblas.so.3 resolves to here (OpenBLAS on a
// fresh Debian). So every comparison is driver::f32Tolerance of the model:
// u = 2^-24 times 16 plus 2K per sum of K products (and the like), which
// holds for any summation order. That the bound still catches a real error
// is checked too: the same models with their operands rounded to TF32 (the
// 10-bit mantissa a TF32 GEMM kernel multiplies) must fail it.
//
//===----------------------------------------------------------------------===//
#include "driver/Compare.h"
#include "frontend/Archive.h"
#include "reference/EagerInterpreter.h"
#include "TestSupport.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

using namespace atalla;
using namespace atalla::frontend;
using json = nlohmann::json;

namespace {

std::vector<TensorData> loadInputs(const Model &M, const std::string &Stem) {
  std::vector<TensorData> Out;
  std::vector<std::string> Names = M.userInputNames();
  for (size_t I = 0; I < Names.size(); ++I) {
    const TensorMeta *Meta = M.G.meta(Names[I]);
    Out.push_back(TensorData::fromBytes(Meta->Dtype, Meta->hintedSizes(),
                                        test::readFileBytes(Stem + ".in" + std::to_string(I) + ".bin")));
  }
  return Out;
}

std::vector<double> asDoubles(const TensorData &T) {
  std::vector<uint8_t> B = T.contiguousBytes();
  std::vector<double> Out;
  for (size_t I = 0; I < B.size(); I += elementSize(T.Dtype)) {
    if (T.Dtype == ScalarType::Float32) {
      float F;
      std::memcpy(&F, &B[I], 4);
      Out.push_back(F);
    } else {
      Out.push_back(B[I]); // bool / uint8
    }
  }
  return Out;
}

std::vector<double> refDoubles(const std::string &File, ScalarType Dtype) {
  std::vector<uint8_t> B = test::readFileBytes(File);
  return asDoubles(TensorData::fromBytes(Dtype, {static_cast<int64_t>(B.size() / elementSize(Dtype))}, B));
}

/// \p Got against the raw reference file under \p Tol; returns the
/// comparison (test fails on a mismatch).
driver::Comparison expectWithin(const TensorData &Got, const std::string &RefFile, const driver::Tolerance &Tol) {
  std::vector<uint8_t> R = test::readFileBytes(RefFile);
  EXPECT_EQ(R.size(), Got.contiguousBytes().size()) << RefFile;
  driver::Comparison C = driver::compareTensors(Got, TensorData::fromBytes(Got.Dtype, Got.Sizes, R), Tol);
  EXPECT_TRUE(C.Pass) << RefFile << ": " << driver::describeMismatch("out", C, Tol) << " (" << Tol.Why << ")";
  return C;
}

/// x rounded to nearest even at TF32's precision (10 explicit mantissa
/// bits); NaN and infinities unchanged.
float roundToTf32(float X) {
  if (!std::isfinite(X))
    return X;
  uint32_t B;
  std::memcpy(&B, &X, 4);
  B = (B + 0xFFFu + ((B >> 13) & 1u)) & ~0x1FFFu;
  std::memcpy(&X, &B, 4);
  return X;
}

TensorData tf32(const TensorData &T) {
  if (T.Dtype != ScalarType::Float32 || !T.Data)
    return T;
  std::vector<uint8_t> B = T.contiguousBytes();
  for (size_t I = 0; I + 4 <= B.size(); I += 4) {
    float F;
    std::memcpy(&F, &B[I], 4);
    F = roundToTf32(F);
    std::memcpy(&B[I], &F, 4);
  }
  return TensorData::fromBytes(T.Dtype, T.Sizes, std::move(B));
}

json loadJson(const std::string &Path) {
  std::ifstream F(Path);
  return json::parse(F);
}

} // namespace

TEST(EagerInterpreterTest, FixturesMatchExpectedOutputs) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  json Expected = loadJson(Dir + "/EXPECTED.json");
  int Checked = 0;
  for (auto It = Expected.begin(); It != Expected.end(); ++It) {
    if (It.key() == "_about" || It.key().rfind("real/", 0) == 0)
      continue;
    SCOPED_TRACE(It.key());
    ASSERT_EXPECTED(M, readModel(Dir + "/" + It.key() + ".pt2"));
    ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
    ASSERT_EXPECTED(Out, Interp->run(loadInputs(M, Dir + "/" + It.key())));
    ASSERT_EQ(Out.size(), (*It)["outputs"].size());
    const driver::Tolerance Tol = driver::f32Tolerance(M);
    for (size_t I = 0; I < Out.size(); ++I) {
      const json &O = (*It)["outputs"][I];
      EXPECT_EQ(Out[I].Sizes, O["shape"].get<std::vector<int64_t>>());
      driver::Comparison C = expectWithin(Out[I], Dir + "/" + O["file"].get<std::string>(), Tol);
      std::printf("[ eager ] %-40s error %8.3g = u x %5.1f, tolerance u x %6.0f\n", It.key().c_str(), C.Norm,
                  C.Norm / driver::F32UnitRoundoff, Tol.Float / driver::F32UnitRoundoff);
    }
    ++Checked;
  }
  EXPECT_GE(Checked, 15);
}

TEST(EagerInterpreterTest, Tf32OperandsFailTheFloat32Tolerance) {
  // The mutation check of the tolerance model: a machine whose kernels
  // round their operands to TF32 (a 10-bit mantissa, u = 2^-11, what GPUs'
  // matmuls do by default) is slightly wrong by float32's standard, and
  // every fixture must show it. Its weights, constants and inputs rounded
  // to TF32, each model's eager output must differ from the reference by
  // more than driver::f32Tolerance, by a margin (the worst model's error /
  // tolerance is printed).
  ATALLA_REQUIRE_FIXTURES(Dir);
  json Expected = loadJson(Dir + "/EXPECTED.json");
  double LeastMargin = 1e300;
  std::string Least;
  for (auto It = Expected.begin(); It != Expected.end(); ++It) {
    if (It.key() == "_about" || It.key().rfind("real/", 0) == 0)
      continue;
    SCOPED_TRACE(It.key());
    ASSERT_EXPECTED(M, readModel(Dir + "/" + It.key() + ".pt2"));
    const driver::Tolerance Tol = driver::f32Tolerance(M);
    for (auto &[Name, T] : M.Weights)
      T = tf32(T);
    for (auto &[Name, T] : M.Constants)
      T = tf32(T);
    std::vector<TensorData> In = loadInputs(M, Dir + "/" + It.key());
    for (TensorData &T : In)
      T = tf32(T);
    ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
    ASSERT_EXPECTED(Out, Interp->run(In));
    double Worst = 0;
    for (size_t I = 0; I < Out.size(); ++I) {
      const std::string File = Dir + "/" + (*It)["outputs"][I]["file"].get<std::string>();
      std::vector<uint8_t> R = test::readFileBytes(File);
      driver::Comparison C = driver::compareTensors(Out[I], TensorData::fromBytes(Out[I].Dtype, Out[I].Sizes, R), Tol);
      Worst = std::max(Worst, C.Norm);
    }
    EXPECT_GT(Worst, 2 * Tol.Float) << "TF32 operands pass the float32 tolerance (" << Tol.Why << ")";
    std::printf("[ tf32 ] %-40s tolerance %8.3g (u x %6.0f), TF32 error %8.3g = %6.1f x tolerance\n",
                It.key().c_str(), Tol.Float, Tol.Float / driver::F32UnitRoundoff, Worst, Worst / Tol.Float);
    if (Worst / Tol.Float < LeastMargin) {
      LeastMargin = Worst / Tol.Float;
      Least = It.key();
    }
  }
  std::printf("[ tf32 ] least error / tolerance over the fixtures: %.3g (%s)\n", LeastMargin, Least.c_str());
}

TEST(EagerInterpreterTest, SampleInputsGiveTheSameOutputs) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/seed_attention.pt2"));
  ASSERT_TRUE(M.HasSampleInputs);
  ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
  ASSERT_EXPECTED(Out, Interp->run(M.SampleInputs));
  ASSERT_EQ(Out.size(), 1u);
  expectWithin(Out[0], Dir + "/seed/seed_attention.out0.bin", driver::f32Tolerance(M));
}

TEST(EagerInterpreterTest, RealUNetBoolOutputMatchesExceptAtTheThreshold) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  const std::string Stem = Dir + "/real/unet-dcnum-test_g1";
  ASSERT_EXPECTED(M, readModel(Stem + ".pt2"));
  ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
  ASSERT_EXPECTED(Out, Interp->run(M.SampleInputs));
  ASSERT_EQ(Out.size(), 1u);
  EXPECT_EQ(Out[0].Dtype, ScalarType::Bool);
  EXPECT_EQ(Out[0].Sizes, (std::vector<int64_t>{10, 64, 256}));
  std::vector<double> G = asDoubles(Out[0]), R = refDoubles(Stem + ".out0.bin", ScalarType::UInt8);
  std::vector<double> Sig = refDoubles(Stem + ".sigmoid.bin", ScalarType::Float32);
  ASSERT_EQ(G.size(), R.size());
  ASSERT_EQ(Sig.size(), R.size());
  size_t Flips = 0, Unexplained = 0, True = 0;
  for (size_t I = 0; I < G.size(); ++I) {
    True += G[I] != 0;
    if (G[I] != R[I]) {
      ++Flips;
      Unexplained += std::fabs(Sig[I] - 0.5) >= 1e-5;
    }
  }
  EXPECT_EQ(Unexplained, 0u) << Flips << " output bits differ";
  EXPECT_EQ(True, 142764u); // EXPECTED.json count_true
}

TEST(EagerInterpreterTest, RealTorch2OutputsAgree) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  json Manifest = loadJson(Dir + "/MANIFEST.json");
  int Checked = 0;
  for (auto It = Manifest["models"].begin(); It != Manifest["models"].end(); ++It) {
    SCOPED_TRACE(It.key());
    ASSERT_EXPECTED(M, readModel(Dir + "/" + It.key() + ".pt2"));
    ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
    ASSERT_EXPECTED(Out, Interp->run(loadInputs(M, Dir + "/" + It.key())));
    ASSERT_EQ(Out.size(), (*It)["outputs"].size());
    for (size_t I = 0; I < Out.size(); ++I)
      expectWithin(Out[I], Dir + "/" + It.key() + ".out" + std::to_string(I) + ".bin", driver::f32Tolerance(M));
    ++Checked;
  }
  EXPECT_GE(Checked, 9);
}

TEST(EagerInterpreterTest, SymbolicBatchAcceptsOtherSizesInRange) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(Dir + "/torch_dynamic_mlp.pt2"));
  ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
  std::vector<uint8_t> Bytes(3 * 16 * 4, 0);
  ASSERT_EXPECTED(Out, Interp->run({TensorData::fromBytes(ScalarType::Float32, {3, 16}, Bytes)}));
  EXPECT_EQ(Out[0].Sizes, (std::vector<int64_t>{3, 8}));
  std::vector<uint8_t> Big(65 * 16 * 4, 0);
  EXPECT_ERROR_CONTAINS(Interp->run({TensorData::fromBytes(ScalarType::Float32, {65, 16}, Big)}),
                        "input 'x' must have shape [s77, 16], got [65, 16]");
}

TEST(EagerInterpreterTest, WrongInputsAreRefused) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/seed_accel_demo.pt2"));
  ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
  EXPECT_ERROR_CONTAINS(Interp->run({}), "the model takes 2 input(s), 0 given");
  std::vector<TensorData> In = M.SampleInputs;
  In[1] = TensorData::fromBytes(ScalarType::Float32, {8, 15}, std::vector<uint8_t>(8 * 15 * 4));
  EXPECT_ERROR_CONTAINS(Interp->run(In), "input 'w' must have shape [8, 16], got [8, 15]");
  In[1] = TensorData::fromBytes(ScalarType::Int64, {8, 16}, std::vector<uint8_t>(8 * 16 * 8));
  EXPECT_ERROR_CONTAINS(Interp->run(In), "input 'w' must be float32, got int64");
}

TEST(EagerInterpreterTest, UnknownOpIsNamed) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/seed_accel_demo.pt2"));
  M.G.Nodes[0].Target = "torch.ops.aten.relu_of_the_future.default";
  M.G.Nodes[0].Op = "relu_of_the_future";
  ASSERT_EXPECTED(Interp, reference::EagerInterpreter::create(M));
  EXPECT_ERROR_CONTAINS(Interp->run(M.SampleInputs),
                        "node 'relu': aten::relu_of_the_future is not available in LibTorch");
}

#include "frontend/ArchiveWriter.h"

TEST(EagerInterpreterTest, RoundTripThroughEveryLayoutKeepsTheOutputs) {
  // read -> write (each layout) -> read gives the same eager outputs, bit
  // for bit: the writer loses no weight, constant or argument.
  ATALLA_REQUIRE_FIXTURES(Dir);
  json Expected = loadJson(Dir + "/EXPECTED.json");
  for (auto It = Expected.begin(); It != Expected.end(); ++It) {
    if (It.key() == "_about")
      continue;
    SCOPED_TRACE(It.key());
    ASSERT_EXPECTED(A, readModel(Dir + "/" + It.key() + ".pt2"));
    std::vector<TensorData> In = loadInputs(A, Dir + "/" + It.key());
    ASSERT_EXPECTED(IA, reference::EagerInterpreter::create(A));
    ASSERT_EXPECTED(OutA, IA->run(In));
    for (frontend::ArchiveLayout L : {frontend::ArchiveLayout::Pt2Raw, frontend::ArchiveLayout::Pt2Pickled,
                                      frontend::ArchiveLayout::LegacyZip}) {
      frontend::ArchiveWriterOptions Opts;
      Opts.Layout = L;
      ASSERT_EXPECTED(Bytes, frontend::writeModelArchive(A, Opts));
      ASSERT_EXPECTED(B, readModelFromBuffer(Bytes, "rewritten.pt2"));
      ASSERT_EXPECTED(IB, reference::EagerInterpreter::create(B));
      ASSERT_EXPECTED(OutB, IB->run(In));
      ASSERT_EQ(OutA.size(), OutB.size());
      for (size_t I = 0; I < OutA.size(); ++I)
        EXPECT_EQ(OutA[I].contiguousBytes(), OutB[I].contiguousBytes()) << "output " << I << " layout " << int(L);
    }
  }
}
