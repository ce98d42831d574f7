//===- tests/frontend/BadInputTest.cpp - every bad archive is refused -----===//
//
// Each kind of bad input named in the frontend's contract gives one clear
// error naming the file and the entry (or node), never a crash. Cases are
// made by rewriting a good fixture: to add one, write a function that edits
// the entries of an archive and the message it must produce.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/ZipArchive.h"
#include "TestSupport.h"

#include <functional>
#include <map>

using namespace atalla;
using namespace atalla::frontend;

namespace {

using Entries = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

Entries readEntries(const std::string &Path) {
  Entries Out;
  auto Z = ZipReader::openFile(Path);
  if (!Z) {
    ADD_FAILURE() << llvm::toString(Z.takeError());
    return Out;
  }
  for (const ZipEntry &E : (*Z)->entries()) {
    auto B = (*Z)->read(E.Name);
    if (!B) {
      ADD_FAILURE() << llvm::toString(B.takeError());
      return Out;
    }
    Out.push_back({E.Name, *B});
  }
  return Out;
}

std::vector<uint8_t> pack(const Entries &E) {
  ZipWriter W;
  for (const auto &[Name, Data] : E)
    W.add(Name, llvm::ArrayRef<uint8_t>(Data));
  return W.finish();
}

std::string text(const std::vector<uint8_t> &B) { return std::string(B.begin(), B.end()); }
std::vector<uint8_t> bytes(const std::string &S) { return std::vector<uint8_t>(S.begin(), S.end()); }

/// Applies \p Edit to the entry whose name ends with \p Suffix.
Entries edit(Entries E, const std::string &Suffix, std::function<std::string(std::string)> Edit) {
  bool Found = false;
  for (auto &[Name, Data] : E)
    if (llvm::StringRef(Name).ends_with(Suffix)) {
      Data = bytes(Edit(text(Data)));
      Found = true;
    }
  EXPECT_TRUE(Found) << "no entry ending with " << Suffix;
  return E;
}

std::string replaceOnce(std::string S, const std::string &From, const std::string &To) {
  size_t P = S.find(From);
  EXPECT_NE(P, std::string::npos) << "'" << From << "' not found";
  if (P != std::string::npos)
    S.replace(P, From.size(), To);
  return S;
}

#define EXPECT_MODEL_ERROR(Bytes, Name, Needle)                                                   \
  EXPECT_ERROR_CONTAINS(readModelFromBuffer((Bytes), (Name)), Needle)

} // namespace

class BadInputTest : public ::testing::Test {
protected:
  void SetUp() override {
    Dir = test::fixturesDir();
    if (Dir.empty())
      GTEST_SKIP() << "shared fixtures not found: set ATALLA_FIXTURES";
    Demo = readEntries(Dir + "/seed/seed_accel_demo.pt2");
    Params = readEntries(Dir + "/seed/mlp_params.pt2");
  }
  std::string Dir;
  Entries Demo, Params;
};

TEST_F(BadInputTest, NotAZipAndMissingFile) {
  EXPECT_MODEL_ERROR(bytes("this is not a zip archive at all"), "junk.pt2", "junk.pt2");
  EXPECT_ERROR_CONTAINS(readModel(Dir + "/does-not-exist.pt2"), "does-not-exist.pt2");
}

TEST_F(BadInputTest, TruncatedArchive) {
  std::vector<uint8_t> Good = pack(Demo);
  for (size_t Keep : {size_t(0), size_t(10), Good.size() / 3, Good.size() / 2, Good.size() - 30, Good.size() - 1}) {
    std::vector<uint8_t> Cut(Good.begin(), Good.begin() + Keep);
    EXPECT_MODEL_ERROR(Cut, "cut.pt2", "cut.pt2");
  }
}

TEST_F(BadInputTest, CorruptPayloadFailsItsCrc) {
  std::vector<uint8_t> B = test::readFileBytes(Dir + "/seed/seed_accel_demo.pt2");
  // Flip a byte inside models/model.json's payload (after the first entries).
  std::string S = text(B);
  size_t P = S.find("\"graph_module\"");
  ASSERT_NE(P, std::string::npos);
  B[P + 3] ^= 0x20;
  EXPECT_MODEL_ERROR(B, "corrupt.pt2", "CRC");
}

TEST_F(BadInputTest, MissingModelJson) {
  Entries E;
  for (auto &KV : Demo)
    if (!llvm::StringRef(KV.first).ends_with("models/model.json"))
      E.push_back(KV);
  EXPECT_MODEL_ERROR(pack(E), "nomodel.pt2", "models/model.json");
}

TEST_F(BadInputTest, MalformedJson) {
  Entries E = edit(Demo, "models/model.json", [](std::string S) { return S.substr(0, S.size() / 2); });
  EXPECT_MODEL_ERROR(pack(E), "half.pt2", "malformed JSON");
  EXPECT_MODEL_ERROR(pack(E), "half.pt2", "models/model.json");
}

TEST_F(BadInputTest, WrongTypeInSchemaNamesThePath) {
  Entries E = edit(Demo, "models/model.json",
                   [](std::string S) { return replaceOnce(S, "{\"as_int\": -1}", "{\"as_int\": \"minus one\"}"); });
  EXPECT_MODEL_ERROR(pack(E), "types.pt2", "graph_module.graph.nodes[2].inputs[1].arg.as_int: expected an integer");
}

TEST_F(BadInputTest, UnknownArgumentTag) {
  Entries E = edit(Demo, "models/model.json",
                   [](std::string S) { return replaceOnce(S, "{\"as_int\": -1}", "{\"as_quaternion\": -1}"); });
  EXPECT_MODEL_ERROR(pack(E), "tag.pt2", "unknown argument tag 'as_quaternion'");
}

TEST_F(BadInputTest, UnknownSchemaMajorNamesTheVersionsRead) {
  Entries E = edit(Demo, "models/model.json",
                   [](std::string S) { return replaceOnce(S, "\"major\": 8", "\"major\": 99"); });
  EXPECT_MODEL_ERROR(pack(E), "future.pt2", "unsupported schema major version 99 (this reader knows 1 to 8)");
}

TEST_F(BadInputTest, UnknownDtypeNumber) {
  Entries E = edit(Demo, "models/model.json",
                   [](std::string S) { return replaceOnce(S, "\"dtype\": 7", "\"dtype\": 77"); });
  EXPECT_MODEL_ERROR(pack(E), "dtype.pt2", "unknown ScalarType 77");
}

TEST_F(BadInputTest, DeeplyNestedJsonIsRefusedBeforeParsing) {
  Entries E = edit(Demo, "models/model.json", [](std::string S) {
    return replaceOnce(S, "\"metadata\": {}", "\"metadata\": " + std::string(100000, '[') + std::string(100000, ']'));
  });
  EXPECT_MODEL_ERROR(pack(E), "deep.pt2", "nested deeper than");
}

TEST_F(BadInputTest, WeightPayloadShorterThanItsMetadata) {
  Entries E = Params;
  for (auto &[Name, Data] : E)
    if (llvm::StringRef(Name).ends_with("data/weights/weight_0"))
      Data.resize(Data.size() - 100);
  EXPECT_MODEL_ERROR(pack(E), "short.pt2", "weight_0");
  EXPECT_MODEL_ERROR(pack(E), "short.pt2", "payload has 32668 bytes but the tensor needs 32768");
}

TEST_F(BadInputTest, ShapeWhoseByteSizeOverflows) {
  Entries E = edit(Params, "model_weights_config.json", [](std::string S) {
    return replaceOnce(S, "\"sizes\": [{\"as_int\": 128}, {\"as_int\": 64}]",
                       "\"sizes\": [{\"as_int\": 4611686018427387904}, {\"as_int\": 64}]");
  });
  EXPECT_MODEL_ERROR(pack(E), "huge.pt2", "overflows");
}

TEST_F(BadInputTest, NegativeStride) {
  Entries E = edit(Params, "model_weights_config.json", [](std::string S) {
    return replaceOnce(S, "\"strides\": [{\"as_int\": 64}, {\"as_int\": 1}]",
                       "\"strides\": [{\"as_int\": -64}, {\"as_int\": 1}]");
  });
  EXPECT_MODEL_ERROR(pack(E), "negstride.pt2", "negative stride");
}

TEST_F(BadInputTest, PayloadListedButMissing) {
  Entries E;
  for (auto &KV : Params)
    if (!llvm::StringRef(KV.first).ends_with("data/weights/weight_2"))
      E.push_back(KV);
  EXPECT_MODEL_ERROR(pack(E), "missing.pt2", "weight_2");
}

TEST_F(BadInputTest, PathTraversalInPayloadConfig) {
  Entries E = edit(Params, "model_weights_config.json",
                   [](std::string S) { return replaceOnce(S, "\"weight_0\"", "\"../../etc/passwd\""); });
  EXPECT_MODEL_ERROR(pack(E), "traverse.pt2", "invalid path_name");
}

TEST_F(BadInputTest, UnknownPickleGlobalIsRefusedByName) {
  // Replace the sample inputs' pickle by one that would call os.system.
  Entries E = Demo;
  for (auto &[Name, Data] : E) {
    if (!llvm::StringRef(Name).ends_with("data/sample_inputs/model.pt"))
      continue;
    ZipWriter W;
    std::string Evil = std::string("\x80\x02") + "cos\nsystem\nq\x00X\x02\x00\x00\x00ls\x85R.";
    W.add("archive/data.pkl", llvm::StringRef(Evil));
    W.add("archive/byteorder", llvm::StringRef("little"));
    W.add("archive/version", llvm::StringRef("3\n"));
    Data = W.finish();
  }
  EXPECT_MODEL_ERROR(pack(E), "evil.pt2", "os system");
  EXPECT_MODEL_ERROR(pack(E), "evil.pt2", "sample_inputs/model.pt");
}

TEST_F(BadInputTest, GraphNamesATensorWithoutMetadata) {
  Entries E = edit(Demo, "models/model.json",
                   [](std::string S) { return replaceOnce(S, "{\"as_tensor\": {\"name\": \"relu\"}}, \"kind\"",
                                                          "{\"as_tensor\": {\"name\": \"ghost\"}}, \"kind\""); });
  EXPECT_MODEL_ERROR(pack(E), "ghost.pt2", "node 'matmul': tensor 'ghost' has no tensor_values entry");
}

TEST_F(BadInputTest, ParameterWithoutData) {
  Entries E = edit(Params, "model_weights_config.json",
                   [](std::string S) { return replaceOnce(S, "\"fc1.weight\"", "\"fc1.renamed\""); });
  EXPECT_MODEL_ERROR(pack(E), "nodata.pt2", "parameter 'fc1.weight' (placeholder 'p_fc1_weight') has no data");
}

TEST_F(BadInputTest, BigEndianOrOtherFormatArchivesAreRefused) {
  EXPECT_MODEL_ERROR(pack(edit(Demo, "/byteorder", [](std::string) { return std::string("big"); })), "be.pt2",
                     "entry 'seed_accel_demo/byteorder' says 'big': only little-endian archives are supported");
  EXPECT_MODEL_ERROR(pack(edit(Demo, "/archive_format", [](std::string) { return std::string("zip9"); })),
                     "fmt.pt2", "entry 'seed_accel_demo/archive_format' says 'zip9', not 'pt2'");
}

TEST_F(BadInputTest, DamagedRecordNothingElseReadsFailsItsCrc) {
  // Found by tests/tools/HostileInputsTest: a changed byte in a record the
  // reader never looked at (.data/serialization_id) went unnoticed. Every
  // small entry is now read, so its CRC-32 is checked.
  std::vector<uint8_t> Good = pack(Demo);
  auto Z = ZipReader::openBuffer(Good, "demo.pt2");
  ASSERT_TRUE(bool(Z));
  const ZipEntry *E = (*Z)->find("seed_accel_demo/.data/serialization_id");
  ASSERT_NE(E, nullptr);
  std::vector<uint8_t> Bad = Good;
  Bad[E->DataOffset + 5] ^= 0x20;
  EXPECT_MODEL_ERROR(Bad, "sid.pt2", "serialization_id");
}
