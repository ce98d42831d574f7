//===- tests/tools/HostileInputsTest.cpp - a corpus of malformed inputs ----===//
//
// Generates, from real archives and a real blob, a corpus of malformed
// ones, each damaged in a way that must be refused (truncations, payloads
// failing their CRC, central-directory records declaring huge sizes,
// offsets past the end, `../` and absolute names, unknown methods; blobs
// truncated, with flipped bytes, a wrong magic or version, sections out of
// the file, an absurd DRAM size), writes them to disk and feeds each to the
// tool a user would run: atalla-gen for archives, atalla-run for blobs.
// Every one must exit 1 with exactly one line on stderr that names the file,
// never a crash, a hang or a partial output file. To add a case: a mutation
// in one of the generators, named for the report.
//
//===----------------------------------------------------------------------===//
#include "ProcessSupport.h"
#include "TestSupport.h"

#include "llvm/Support/FileSystem.h"

#include <cstring>
#include <fstream>
#include <functional>

using namespace atalla;
using test::countOf;
using test::tmpDir;

namespace {

struct Malformed {
  std::string Name;
  std::vector<uint8_t> Bytes;
};

uint32_t get32(const std::vector<uint8_t> &B, size_t At) {
  uint32_t V;
  std::memcpy(&V, &B[At], 4);
  return V;
}
uint16_t get16(const std::vector<uint8_t> &B, size_t At) {
  uint16_t V;
  std::memcpy(&V, &B[At], 2);
  return V;
}
void put32(std::vector<uint8_t> &B, size_t At, uint32_t V) { std::memcpy(&B[At], &V, 4); }
void put16(std::vector<uint8_t> &B, size_t At, uint16_t V) { std::memcpy(&B[At], &V, 2); }

/// A zip's central-directory records: (record offset, data offset, data size).
struct CdEntry {
  size_t Record, Data, Size;
  std::string Name;
};

std::vector<CdEntry> centralDirectory(const std::vector<uint8_t> &Z) {
  std::vector<CdEntry> Out;
  size_t Eocd = std::string::npos;
  for (size_t I = Z.size() - 22; I + 1 > 0 && I + 22 <= Z.size(); --I)
    if (get32(Z, I) == 0x06054b50) {
      Eocd = I;
      break;
    }
  if (Eocd == std::string::npos)
    return Out;
  size_t At = get32(Z, Eocd + 16), N = get16(Z, Eocd + 10);
  for (size_t E = 0; E < N && At + 46 <= Z.size() && get32(Z, At) == 0x02014b50; ++E) {
    size_t NameLen = get16(Z, At + 28), Extra = get16(Z, At + 30), Comment = get16(Z, At + 32);
    size_t Local = get32(Z, At + 42);
    CdEntry C{At, 0, get32(Z, At + 20), std::string(Z.begin() + At + 46, Z.begin() + At + 46 + NameLen)};
    if (Local + 30 <= Z.size())
      C.Data = Local + 30 + get16(Z, Local + 26) + get16(Z, Local + 28);
    Out.push_back(C);
    At += 46 + NameLen + Extra + Comment;
  }
  return Out;
}

/// Malformed archives derived from \p Good (named \p Base).
std::vector<Malformed> malformedArchives(const std::vector<uint8_t> &Good, const std::string &Base) {
  std::vector<Malformed> Out;
  auto Add = [&](const std::string &What, std::vector<uint8_t> B) { Out.push_back({Base + "-" + What, std::move(B)}); };
  for (size_t K = 1; K <= 12; ++K) // truncated: no end-of-central-directory, or entries cut
    Add("truncated-" + std::to_string(K), std::vector<uint8_t>(Good.begin(), Good.begin() + Good.size() * K / 13));
  Add("empty", {});
  std::vector<CdEntry> Cd = centralDirectory(Good);
  EXPECT_GE(Cd.size(), 3u) << Base;
  for (size_t E = 0; E < Cd.size(); ++E) {
    const CdEntry &C = Cd[E];
    const std::string Tag = "entry" + std::to_string(E);
    if (C.Size > 0 && C.Data + C.Size <= Good.size()) { // a payload byte changed: its CRC-32 fails
      std::vector<uint8_t> B = Good;
      B[C.Data + C.Size / 2] ^= 0x5a;
      Add(Tag + "-crc", std::move(B));
    }
    if (E < 4) {
      std::vector<uint8_t> B = Good;
      put32(B, C.Record + 24, 0xfffffff0u); // declares ~4 GiB uncompressed
      put32(B, C.Record + 20, 0xfffffff0u);
      Add(Tag + "-huge-size", std::move(B));
      B = Good;
      put32(B, C.Record + 42, uint32_t(Good.size() + 4096)); // local header past the end
      Add(Tag + "-offset-past-end", std::move(B));
      B = Good;
      put16(B, C.Record + 10, 99); // compression method 99
      Add(Tag + "-method-99", std::move(B));
      B = Good;
      put16(B, C.Record + 28, 0xffff); // name runs past the directory
      Add(Tag + "-name-overflow", std::move(B));
      if (C.Name.size() >= 4) {
        B = Good;
        std::memcpy(&B[C.Record + 46], "../", 3); // path traversal
        Add(Tag + "-dotdot-name", std::move(B));
        B = Good;
        B[C.Record + 46] = '/'; // absolute name
        Add(Tag + "-absolute-name", std::move(B));
      }
    }
  }
  return Out;
}

/// Malformed blobs derived from \p Good.
std::vector<Malformed> malformedBlobs(const std::vector<uint8_t> &Good) {
  std::vector<Malformed> Out;
  auto Add = [&](const std::string &What, std::vector<uint8_t> B) { Out.push_back({"blob-" + What, std::move(B)}); };
  for (size_t K = 1; K <= 20; ++K)
    Add("truncated-" + std::to_string(K), std::vector<uint8_t>(Good.begin(), Good.begin() + Good.size() * K / 21));
  Add("empty", {});
  for (size_t K = 1; K <= 30; ++K) { // a byte flipped anywhere: a checksum (header or section) fails
    std::vector<uint8_t> B = Good;
    B[8 + (Good.size() - 9) * K / 31] ^= 0x81;
    Add("flipped-" + std::to_string(K), std::move(B));
  }
  std::vector<uint8_t> B = Good;
  std::memcpy(B.data(), "ATALLA99", 8);
  Add("wrong-magic", std::move(B));
  for (size_t Field = 8; Field < 64; Field += 4) { // every header word set to all ones
    B = Good;
    put32(B, Field, 0xffffffffu);
    Add("header-word-" + std::to_string(Field), std::move(B));
  }
  B = Good;
  B.resize(Good.size() + 100, 0xee); // trailing bytes past the last section
  Add("trailing-garbage-header-size", B);
  return Out;
}

void writeFile(const std::string &Path, const std::vector<uint8_t> &Bytes) {
  std::ofstream F(Path, std::ios::binary);
  F.write(reinterpret_cast<const char *>(Bytes.data()), std::streamsize(Bytes.size()));
}

/// Runs \p Cmd on each file of \p Corpus; each must be refused with one line
/// naming it. Returns how many were.
size_t expectRefused(const std::vector<Malformed> &Corpus, const std::string &Dir, const std::string &Ext,
                     const std::function<std::string(const std::string &)> &Cmd, const std::string &Tool) {
  size_t Refused = 0;
  for (const Malformed &M : Corpus) {
    const std::string Path = Dir + "/" + M.Name + Ext;
    writeFile(Path, M.Bytes);
    test::ToolResult R = test::runTool(Cmd(Path));
    SCOPED_TRACE(M.Name);
    EXPECT_EQ(R.Rc, 1) << R.Out << R.Err;
    EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
    EXPECT_EQ(R.Err.rfind(Tool + ": error: " + Path, 0), 0u) << R.Err;
    Refused += R.Rc == 1 && countOf(R.Err, "\n") == 1;
  }
  return Refused;
}

} // namespace

TEST(HostileInputsTest, MalformedArchivesAreRefusedByAtallaGen) {
  ATALLA_REQUIRE_FIXTURES(Fixtures);
  const std::string Dir = tmpDir() + "/malformed-archives";
  llvm::sys::fs::create_directories(Dir);
  std::vector<Malformed> Corpus;
  for (const char *F : {"seed/seed_accel_demo", "formats/synthetic_lrs_legacy_v8_7", "formats/synthetic_lrs_archive_v8_8"}) {
    std::vector<Malformed> More = malformedArchives(test::readFileBytes(Fixtures + "/" + F + ".pt2"),
                                                    std::string(F).substr(std::string(F).find('/') + 1));
    Corpus.insert(Corpus.end(), More.begin(), More.end());
  }
  ASSERT_GE(Corpus.size(), 50u);
  const std::string Out = tmpDir() + "/malformed.atb";
  size_t Refused = expectRefused(
      Corpus, Dir, ".pt2", [&](const std::string &P) { return "atalla-gen --quiet " + P + " -o " + Out; },
      "atalla-gen");
  EXPECT_EQ(Refused, Corpus.size());
  EXPECT_FALSE(llvm::sys::fs::exists(Out)) << "a refused archive left a blob behind";
  std::printf("[hostile] %zu malformed archives, %zu refused with one line\n", Corpus.size(), Refused);
}

TEST(HostileInputsTest, MalformedBlobsAreRefusedByAtallaRun) {
  ATALLA_REQUIRE_FIXTURES(Fixtures);
  const std::string Dir = tmpDir() + "/malformed-blobs", Good = tmpDir() + "/good.atb";
  llvm::sys::fs::create_directories(Dir);
  ASSERT_EQ(test::runTool("atalla-gen --quiet " + Fixtures + "/seed/seed_mlp.pt2 -o " + Good).Rc, 0);
  std::vector<Malformed> Corpus = malformedBlobs(test::readFileBytes(Good));
  ASSERT_GE(Corpus.size(), 50u);
  size_t Refused = expectRefused(
      Corpus, Dir, ".atb", [](const std::string &P) { return "atalla-run " + P; }, "atalla-run");
  EXPECT_EQ(Refused, Corpus.size());
  std::printf("[hostile] %zu malformed blobs, %zu refused with one line\n", Corpus.size(), Refused);
}

TEST(HostileInputsTest, LimitsAreSettableFromTheToolsAndNamedWhenHit) {
  ATALLA_REQUIRE_FIXTURES(Fixtures);
  const std::string Pt2 = Fixtures + "/seed/seed_accel_demo.pt2", Atb = tmpDir() + "/limits.atb";
  struct Case {
    std::string Flags, Expect;
  };
  const Case Archive[] = {
      {"--limit archive-bytes=1K", "more than the limit of 1024 (--limit archive-bytes)"},
      {"--limit graph-nodes=2", "the graph has 3 nodes, more than the limit of 2"},
      {"--limit json-bytes=100", "bytes, more than the limit of 100"},
      {"--limit json-depth=3", "JSON nested deeper than 3 levels"},
      {"--limit entries=4", "more than the limit of 4"},
      {"--limit entry-bytes=1000", "exceeds the limit of 1000 bytes"},
      {"--limit pickle-items=10", "pickle"},
  };
  for (const Case &C : Archive) {
    test::ToolResult R = test::runTool("atalla-gen --quiet " + C.Flags + " " + Pt2 + " -o " + Atb);
    EXPECT_EQ(R.Rc, 1) << C.Flags << "\n" << R.Err;
    EXPECT_NE(R.Err.find(C.Expect), std::string::npos) << C.Flags << "\n" << R.Err;
    EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
    R = test::runTool("atalla-inspect " + C.Flags + " " + Pt2);
    EXPECT_EQ(R.Rc, 1) << C.Flags << "\n" << R.Err;
  }
  // Raised limits and a suffix are accepted.
  ASSERT_EQ(test::runTool("atalla-gen --quiet --limit graph-nodes=3 --limit archive-bytes=1G " + Pt2 + " -o " + Atb).Rc,
            0);
  test::ToolResult R = test::runTool("atalla-run " + Atb + " --limit dram-bytes=512");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("bytes of DRAM, more than the limit of 512"), std::string::npos) << R.Err;
  R = test::runTool("atalla-run " + Atb + " --limit blob-bytes=2K");
  EXPECT_EQ(R.Rc, 1);
  EXPECT_NE(R.Err.find("limit"), std::string::npos) << R.Err;
  // Malformed --limit flags are usage errors.
  for (const char *Bad : {"nodes=3", "graph-nodes", "graph-nodes=0", "graph-nodes=-1", "graph-nodes=3X",
                          "json-depth=99999999999", "graph-nodes=99999999999G"}) {
    R = test::runTool(std::string("atalla-gen --limit ") + Bad + " " + Pt2);
    EXPECT_EQ(R.Rc, 2) << Bad;
    EXPECT_NE(R.Err.find(std::string("--limit ") + Bad + ": "), std::string::npos) << R.Err;
    EXPECT_EQ(countOf(R.Err, "\n"), 1u) << R.Err;
  }
  // --help lists every key with its default.
  R = test::runTool("atalla-gen --help");
  for (const char *Key : {"archive-bytes", "entries", "entry-bytes", "total-bytes", "compression-ratio", "json-bytes",
                          "json-depth", "graph-nodes", "pickle-depth", "pickle-items", "blob-bytes", "dram-bytes",
                          "blob-sections", "instructions"})
    EXPECT_NE(R.Out.find(std::string(Key) + " (default "), std::string::npos) << Key;
}
