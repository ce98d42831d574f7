//===- tests/frontend/FuzzRegressionTest.cpp - libFuzzer findings, replayed ===//
//
// Every input the libFuzzer harnesses (tests/fuzz/) found a crash, hang or
// leak with lives in tests/data/fuzz-regressions/, named after its harness
// ("weights_config-number-overflow"); this test feeds each to the reader
// that harness drives and requires a clean error. Blob findings are
// replayed in tests/runtime/BlobTest.cpp. To add a case: copy the artifact
// there under a name that says what it was.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Pickle.h"
#include "frontend/SchemaReader.h"
#include "frontend/ZipArchive.h"
#include "TestSupport.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace atalla;
using namespace atalla::frontend;

namespace {

/// Runs \p Data through the reader of harness \p Harness; returns whether
/// that harness is one this test knows.
bool replay(llvm::StringRef Harness, const std::vector<uint8_t> &Data) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data.data()), Data.size());
  if (Harness == "weights_config") {
    auto C = readPayloadConfigJson(Text, "config.json");
    if (!C) {
      EXPECT_FALSE(llvm::toString(C.takeError()).empty());
    }
    auto T = readTensorMetaJson(Text, "meta.json");
    if (!T) {
      EXPECT_FALSE(llvm::toString(T.takeError()).empty());
    }
    return true;
  }
  if (Harness == "schema") {
    Model M;
    if (llvm::Error E = readExportedProgramJson(Text, "model.json", M)) {
      EXPECT_FALSE(llvm::toString(std::move(E)).empty());
    }
    return true;
  }
  if (Harness == "pickle") {
    auto V = unpickle(Data);
    if (!V) {
      EXPECT_FALSE(llvm::toString(V.takeError()).empty());
    }
    return true;
  }
  if (Harness == "archive" || Harness == "frontend") {
    auto M = readModelFromBuffer(Data, "fuzz.pt2");
    if (!M) {
      EXPECT_FALSE(llvm::toString(M.takeError()).empty());
    }
    return true;
  }
  return Harness == "blob"; // tests/runtime/BlobTest.cpp
}

} // namespace

TEST(FuzzRegressionTest, EveryFindingIsACleanError) {
  const std::string Dir = std::string(test::builtSourceDir()) + "/tests/data/fuzz-regressions";
  std::error_code EC;
  unsigned N = 0;
  for (llvm::sys::fs::directory_iterator It(Dir, EC), End; It != End && !EC; It.increment(EC)) {
    llvm::StringRef Name = llvm::sys::path::filename(It->path());
    SCOPED_TRACE(Name.str());
    EXPECT_TRUE(replay(Name.split('-').first, test::readFileBytes(It->path()))) << "no harness named by " << Name.str();
    ++N;
  }
  ASSERT_FALSE(EC) << Dir << ": " << EC.message();
  EXPECT_GE(N, 1u);
}

TEST(FuzzRegressionTest, NumbersTooLargeForADoubleAreMalformedJson) {
  // nlohmann's parser throws out_of_range, not parse_error, for these.
  for (const char *Json : {"2318e17039476560219916139", "{\"config\": 1e999999}", "[1, 2, 9e400]"}) {
    auto C = readPayloadConfigJson(Json, "config.json");
    ASSERT_FALSE(bool(C)) << Json;
    EXPECT_NE(llvm::toString(C.takeError()).find("config.json: malformed JSON"), std::string::npos) << Json;
    Model M;
    llvm::Error E = readExportedProgramJson(Json, "model.json", M);
    ASSERT_TRUE(bool(E)) << Json;
    EXPECT_NE(llvm::toString(std::move(E)).find("model.json: malformed JSON"), std::string::npos) << Json;
  }
}
