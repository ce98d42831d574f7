//===- tests/frontend/WriterTest.cpp - the project's .pt2 writer ----------===//
//
// The writer's output must read exactly like torch's: the bundled example is
// compared with the same model exported by real torch 2.11
// (tests/data/torch2/torch_seed_accel_demo.pt2, written by
// tools/export_with_torch2.py with the same closed-form inputs), and every
// fixture survives read -> write -> read in each of the three layouts. To add a case, add an archive to
// either folder: the round trip iterates over all of them.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/ArchiveWriter.h"
#include "frontend/ZipArchive.h"
#include "tools/DemoModels.h"
#include "ModelCompare.h"
#include "TestSupport.h"

#include "llvm/Support/FileSystem.h"

using namespace atalla;
using namespace atalla::frontend;

static std::string sourceDir() {
  if (const char *S = std::getenv("ATALLA_SOURCE_DIR"))
    return S;
  return test::builtSourceDir();
}

TEST(WriterTest, SameModelGivesSameBytes) {
  Model M = tools::buildSeedAccelDemo();
  ASSERT_EXPECTED(A, writeModelArchive(M));
  ASSERT_EXPECTED(B, writeModelArchive(M));
  EXPECT_EQ(A, B);
}

TEST(WriterTest, BundledExampleIsWhatTheWriterWrites) {
  Model M = tools::buildSeedAccelDemo();
  ArchiveWriterOptions Opts;
  Opts.RootName = "seed_accel_demo";
  ASSERT_EXPECTED(Fresh, writeModelArchive(M, Opts));
  std::vector<uint8_t> Committed = test::readFileBytes(sourceDir() + "/examples/seed_accel_demo.pt2");
  ASSERT_FALSE(Committed.empty()) << "examples/seed_accel_demo.pt2 missing";
  EXPECT_TRUE(Fresh == Committed) << "examples/seed_accel_demo.pt2 is stale: run `make example`";
}

TEST(WriterTest, WrittenArchiveReadsBackAsBuilt) {
  Model M = tools::buildSeedAccelDemo();
  ASSERT_EXPECTED(Bytes, writeModelArchive(M));
  ASSERT_EXPECTED(R, readModelFromBuffer(Bytes, "demo.pt2"));
  EXPECT_EQ(R.Container, ContainerKind::Pt2ArchiveRaw);
  EXPECT_EQ(R.RootFolder, "archive");
  // The reader fills softmax's dtype default; the built model has none.
  for (Node &N : M.G.Nodes)
    fillDefaultArguments(N);
  test::expectSameModel(M, R);
  // Every payload starts on a 64-byte boundary, as torch's do.
  ASSERT_EXPECTED(Z, ZipReader::openBuffer(Bytes, "demo.pt2"));
  for (const ZipEntry &E : Z->entries())
    EXPECT_EQ(E.DataOffset % 64, 0u) << E.Name;
}

TEST(WriterTest, ExampleReadsLikeTheRealTorchExport) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(Real, readModel(Dir + "/torch_seed_accel_demo.pt2"));
  ASSERT_EXPECTED(Ours, readModel(sourceDir() + "/examples/seed_accel_demo.pt2"));
  test::expectSameModel(Real, Ours);
}

TEST(WriterTest, EveryArchiveSurvivesReadWriteRead) {
  std::vector<std::string> Files;
  std::string Fix = test::fixturesDir();
  std::string T2 = test::torch2Dir();
  for (const std::string &Dir : {Fix, T2}) {
    if (Dir.empty() || !test::isDir(Dir))
      continue;
    std::error_code EC;
    for (llvm::sys::fs::recursive_directory_iterator It(Dir, EC), End; It != End && !EC; It.increment(EC))
      if (llvm::StringRef(It->path()).ends_with(".pt2"))
        Files.push_back(It->path());
  }
  if (Files.empty())
    GTEST_SKIP() << "no archives found (set ATALLA_FIXTURES)";
  std::sort(Files.begin(), Files.end());
  for (const std::string &F : Files) {
    SCOPED_TRACE(F);
    ASSERT_EXPECTED(A, readModel(F));
    for (ArchiveLayout L : {ArchiveLayout::Pt2Raw, ArchiveLayout::Pt2Pickled, ArchiveLayout::LegacyZip}) {
      SCOPED_TRACE(static_cast<int>(L));
      ArchiveWriterOptions Opts;
      Opts.Layout = L;
      ASSERT_EXPECTED(Bytes, writeModelArchive(A, Opts));
      ASSERT_EXPECTED(B, readModelFromBuffer(Bytes, F + " (rewritten)"));
      EXPECT_EQ(B.Container, L == ArchiveLayout::Pt2Raw       ? ContainerKind::Pt2ArchiveRaw
                             : L == ArchiveLayout::Pt2Pickled ? ContainerKind::Pt2ArchivePickled
                                                              : ContainerKind::LegacyZip);
      test::expectSameModel(A, B);
    }
  }
}
