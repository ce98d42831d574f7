//===- frontend/ZipArchiveTest.cpp - tests for the zip reader and writer --===//
//
// How to add a case: a well-formed archive goes in the RoundTrip or
// ForeignArchives groups (build it with ZipWriter, or embed bytes made by
// Python as below); a hostile one goes in the Hostile group, built by
// patching a good archive with the helpers (patchAll, centralHeader, put32)
// and checked with expectOpenError/expectReadError against a fragment of the
// message. Real .pt2 files are read from $ATALLA_FIXTURES (shared fixtures)
// and from tests/data (found from this file's path or $ATALLA_TEST_DATA);
// those tests skip when the folders are missing.
//
// The byte arrays below were generated with Python 3.11's zipfile:
//
//   def fixed(zi): zi.date_time = (2020, 1, 1, 0, 0, 0); return zi
//   with ZipFile(b, 'w', compression=ZIP_DEFLATED) as zf:
//     zf.writestr(fixed(ZipInfo('hello.txt')),
//                 b'hello hello hello hello hello\n' * 4,
//                 compress_type=ZIP_DEFLATED)  # and dir/zeros.bin, empty
//   zi = fixed(ZipInfo('big.txt')); zi.compress_type = ZIP_DEFLATED
//   with zf.open(zi, 'w', force_zip64=True) as f:
//     f.write(b'zip64 payload ' * 8)
//
// and the central-ZIP64 one by struct.pack, since zipfile only writes ZIP64
// central fields for entries past 4 GiB.
//
//===----------------------------------------------------------------------===//
#include "frontend/ZipArchive.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace atalla::frontend;
using namespace llvm;

namespace {

/// Python zipfile, ZIP_DEFLATED: hello.txt ("hello hello hello hello hello\n"
/// x4, 120 bytes from 16), dir/zeros.bin (300 zero bytes from 7), empty (0 from
/// 2).
const uint8_t DeflatedZip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x21, 0x50, 0x68, 0x42, 0xaa, 0xb7, 0x10, 0x00, 0x00, 0x00, 0x78, 0x00,
    0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e,
    0x74, 0x78, 0x74, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0xc0, 0x4e,
    0x72, 0xe1, 0x10, 0xa7, 0x82, 0x2c, 0x00, 0x50, 0x4b, 0x03, 0x04, 0x14,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x50, 0xd2, 0x8f, 0x34,
    0xb5, 0x07, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x0d, 0x00, 0x00,
    0x00, 0x64, 0x69, 0x72, 0x2f, 0x7a, 0x65, 0x72, 0x6f, 0x73, 0x2e, 0x62,
    0x69, 0x6e, 0x63, 0x60, 0x18, 0x05, 0xc4, 0x02, 0x00, 0x50, 0x4b, 0x03,
    0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x50, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x03, 0x00, 0x50, 0x4b,
    0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x21, 0x50, 0x68, 0x42, 0xaa, 0xb7, 0x10, 0x00, 0x00, 0x00, 0x78, 0x00,
    0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, 0x2e, 0x74, 0x78, 0x74, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x50, 0xd2, 0x8f, 0x34,
    0xb5, 0x07, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x0d, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x37,
    0x00, 0x00, 0x00, 0x64, 0x69, 0x72, 0x2f, 0x7a, 0x65, 0x72, 0x6f, 0x73,
    0x2e, 0x62, 0x69, 0x6e, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x50, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x69, 0x00,
    0x00, 0x00, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, 0xa5, 0x00, 0x00, 0x00, 0x8e,
    0x00, 0x00, 0x00, 0x00, 0x00};
/// Python zipfile, zf.open(..., 'w', force_zip64=True): ZIP64 extras in the
/// local headers only. big.txt ("zip64 payload " x8, deflated), raw.bin
/// (bytes 0..19, stored).
const uint8_t ForcedZip64Zip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x21, 0x50, 0x6b, 0x0d, 0x68, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x62, 0x69, 0x67, 0x2e, 0x74, 0x78,
    0x74, 0x01, 0x00, 0x10, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xab, 0xca, 0x2c,
    0x30, 0x33, 0x51, 0x28, 0x48, 0xac, 0xcc, 0xc9, 0x4f, 0x4c, 0x51, 0xa8,
    0xa2, 0x39, 0x0f, 0x00, 0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x21, 0x50, 0xa4, 0xff, 0xdd, 0x3b, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x72, 0x61,
    0x77, 0x2e, 0x62, 0x69, 0x6e, 0x01, 0x00, 0x10, 0x00, 0x14, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x50, 0x4b, 0x01,
    0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21,
    0x50, 0x6b, 0x0d, 0x68, 0xfa, 0x13, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00,
    0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x62, 0x69, 0x67, 0x2e, 0x74,
    0x78, 0x74, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x21, 0x50, 0xa4, 0xff, 0xdd, 0x3b, 0x14, 0x00,
    0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x4c, 0x00, 0x00, 0x00,
    0x72, 0x61, 0x77, 0x2e, 0x62, 0x69, 0x6e, 0x50, 0x4b, 0x05, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x6a, 0x00, 0x00, 0x00, 0x99,
    0x00, 0x00, 0x00, 0x00, 0x00};
/// Hand-built (struct.pack): every central size and offset is 0xFFFFFFFF with
/// the real values in extra field 0x0001, counts 0xFFFF, and ZIP64 end
/// records. a/x.bin (bytes 0..6), b.txt ("zip64 central"), both stored.
const uint8_t CentralZip64Zip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xf9, 0x09, 0x58, 0xad, 0x07, 0x00, 0x00, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x61, 0x2f, 0x78, 0x2e, 0x62, 0x69,
    0x6e, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x50, 0x4b, 0x03, 0x04,
    0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0xa4,
    0xef, 0x64, 0x0d, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x05, 0x00,
    0x00, 0x00, 0x62, 0x2e, 0x74, 0x78, 0x74, 0x7a, 0x69, 0x70, 0x36, 0x34,
    0x20, 0x63, 0x65, 0x6e, 0x74, 0x72, 0x61, 0x6c, 0x50, 0x4b, 0x01, 0x02,
    0x2d, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xf9, 0x09, 0x58, 0xad, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x07, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x61, 0x2f, 0x78, 0x2e, 0x62, 0x69,
    0x6e, 0x01, 0x00, 0x18, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x00, 0x2d,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0xa4, 0xef,
    0x64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x1c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0xff, 0x62, 0x2e, 0x74, 0x78, 0x74, 0x01, 0x00, 0x18, 0x00,
    0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x50, 0x4b, 0x06, 0x06, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x2d, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x5c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x06, 0x07,
    0x00, 0x00, 0x00, 0x00, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00};

template <size_t N> std::vector<uint8_t> vec(const uint8_t (&A)[N]) {
  return std::vector<uint8_t>(A, A + N);
}

std::vector<uint8_t> bytesOf(StringRef S) {
  return std::vector<uint8_t>(S.begin(), S.end());
}

uint32_t get32(const std::vector<uint8_t> &B, size_t Off) {
  return uint32_t(B[Off]) | (uint32_t(B[Off + 1]) << 8) |
         (uint32_t(B[Off + 2]) << 16) | (uint32_t(B[Off + 3]) << 24);
}
void put16(std::vector<uint8_t> &B, size_t Off, uint16_t V) {
  B[Off] = uint8_t(V);
  B[Off + 1] = uint8_t(V >> 8);
}
void put32(std::vector<uint8_t> &B, size_t Off, uint32_t V) {
  for (int I = 0; I < 4; ++I)
    B[Off + I] = uint8_t(V >> (8 * I));
}
void put64(std::vector<uint8_t> &B, size_t Off, uint64_t V) {
  for (int I = 0; I < 8; ++I)
    B[Off + I] = uint8_t(V >> (8 * I));
}

/// Replaces every occurrence of \p From by \p To (same length), so a name is
/// changed in its local header and its central header alike.
size_t patchAll(std::vector<uint8_t> &B, StringRef From, StringRef To) {
  assert(From.size() == To.size());
  size_t Count = 0;
  for (size_t I = 0; I + From.size() <= B.size(); ++I)
    if (std::memcmp(B.data() + I, From.data(), From.size()) == 0) {
      std::memcpy(B.data() + I, To.data(), To.size());
      ++Count;
    }
  return Count;
}

/// Offset of the central directory header of \p Name, or SIZE_MAX. The last
/// match wins, since payloads may hold whole archives.
size_t centralHeader(const std::vector<uint8_t> &B, StringRef Name) {
  size_t Found = SIZE_MAX;
  for (size_t I = 0; I + 46 + Name.size() <= B.size(); ++I)
    if (get32(B, I) == 0x02014b50 &&
        (B[I + 28] | (B[I + 29] << 8)) == int(Name.size()) &&
        std::memcmp(B.data() + I + 46, Name.data(), Name.size()) == 0)
      Found = I;
  return Found;
}

/// The message of \p E, or "" when it holds a value.
template <typename T> std::string errorOf(Expected<T> &E) {
  return E ? std::string() : toString(E.takeError());
}

/// Opens \p B and reads every entry; "" if all succeed, else the first error.
/// Whatever the bytes, this must return rather than crash.
std::string openAndReadAll(std::vector<uint8_t> B, ZipLimits L = {}) {
  auto R = ZipReader::openBuffer(std::move(B), "t.zip", L);
  if (!R)
    return toString(R.takeError());
  for (const ZipEntry &E : (*R)->entries()) {
    auto Data = (*R)->read(E.Name);
    if (!Data)
      return toString(Data.takeError());
    if (Data->size() != E.UncompressedSize)
      return "size disagrees for " + E.Name;
  }
  return "";
}

void expectOpenError(std::vector<uint8_t> B, StringRef Needle,
                     ZipLimits L = {}) {
  auto R = ZipReader::openBuffer(std::move(B), "t.zip", L);
  ASSERT_FALSE(R) << "expected an error containing: " << Needle.str();
  std::string Msg = toString(R.takeError());
  EXPECT_NE(Msg.find(Needle.str()), std::string::npos) << Msg;
  EXPECT_EQ(Msg.rfind("t.zip: ", 0), 0u)
      << "message must name the archive: " << Msg;
  EXPECT_TRUE(Msg.empty() || Msg.back() != '\n') << Msg;
}

void expectReadError(std::vector<uint8_t> B, StringRef Entry,
                     StringRef Needle) {
  auto R = ZipReader::openBuffer(std::move(B), "t.zip");
  ASSERT_TRUE(bool(R)) << toString(R.takeError());
  auto Data = (*R)->read(Entry);
  ASSERT_FALSE(Data) << "expected an error containing: " << Needle.str();
  std::string Msg = toString(Data.takeError());
  EXPECT_NE(Msg.find(Needle.str()), std::string::npos) << Msg;
  EXPECT_EQ(Msg.rfind("t.zip: entry '" + Entry.str() + "': ", 0), 0u) << Msg;
}

/// A small archive with the shapes torch writes: text, binary, empty.
std::vector<uint8_t> sampleArchive() {
  std::vector<uint8_t> Binary(1000);
  for (size_t I = 0; I < Binary.size(); ++I)
    Binary[I] = uint8_t(I * 131 + 7);
  ZipWriter W;
  W.add("archive/data.pkl", StringRef("\x80\x02}q\x00.", 6));
  W.add("archive/empty", ArrayRef<uint8_t>());
  W.add("archive/data/0", ArrayRef<uint8_t>(Binary));
  W.add("archive/version", StringRef("3\n"));
  return W.finish();
}

/// Every .pt2 under \p Dir, sorted so failures are reproducible.
std::vector<std::string> pt2Files(StringRef Dir) {
  std::vector<std::string> Files;
  std::error_code EC;
  for (sys::fs::recursive_directory_iterator It(Dir, EC), End; It != End && !EC;
       It.increment(EC))
    if (StringRef(It->path()).ends_with(".pt2"))
      Files.push_back(It->path());
  std::sort(Files.begin(), Files.end());
  return Files;
}

/// Whether every entry looks PyTorchStreamWriter-written (flags 0x0808).
bool isTorchStyle(const ZipReader &R) {
  return !R.entries().empty() &&
         std::all_of(R.entries().begin(), R.entries().end(),
                     [](const ZipEntry &E) { return E.Flags == 0x0808; });
}

struct RealStats {
  int Archives = 0;
  int Rewritten = 0; ///< Torch-written archives ZipWriter reproduced.
};

/// Reads every entry of \p R, recursing into nested torch.save zips (.pt),
/// and for torch-written archives checks payload alignment and that ZipWriter
/// reproduces the archive byte for byte.
void checkRealArchive(const ZipReader &R, RealStats &Stats) {
  ++Stats.Archives;
  bool Torch = isTorchStyle(R);
  ZipWriter W;
  for (const ZipEntry &E : R.entries()) {
    auto Data = R.read(E.Name);
    EXPECT_TRUE(bool(Data)) << errorOf(Data);
    if (!Data)
      continue;
    EXPECT_EQ(Data->size(), E.UncompressedSize);
    if (Torch) {
      EXPECT_EQ(E.DataOffset % 64, 0u)
          << R.displayName().str() << ": " << E.Name;
      W.add(E.Name, ArrayRef<uint8_t>(*Data));
    }
    if (StringRef(E.Name).ends_with(".pt")) {
      std::string Inner = (R.displayName() + ":" + E.Name).str();
      auto Nested = ZipReader::openBuffer(std::move(*Data), Inner);
      EXPECT_TRUE(bool(Nested)) << errorOf(Nested);
      if (Nested)
        checkRealArchive(**Nested, Stats);
    }
  }
  if (Torch) {
    std::vector<uint8_t> Rewritten = W.finish();
    ArrayRef<uint8_t> Original = R.bytes();
    bool Same =
        Rewritten.size() == Original.size() &&
        std::equal(Rewritten.begin(), Rewritten.end(), Original.begin());
    EXPECT_TRUE(Same) << R.displayName().str()
                      << ": ZipWriter output differs from torch's ("
                      << Rewritten.size() << " vs " << Original.size()
                      << " bytes)";
    Stats.Rewritten += Same;
  }
}

void checkRealFolder(const char *Dir) {
  std::vector<std::string> Files = pt2Files(Dir);
  if (Files.empty())
    GTEST_SKIP() << "no .pt2 files under " << Dir;
  RealStats Stats;
  for (const std::string &F : Files) {
    auto R = ZipReader::openFile(F);
    EXPECT_TRUE(bool(R)) << errorOf(R);
    if (R)
      checkRealArchive(**R, Stats);
  }
  // Every .pt2 holds at least one torch-written zip (itself or a nested one).
  EXPECT_GE(Stats.Archives, int(Files.size()));
  EXPECT_GT(Stats.Rewritten, 0);
  testing::Test::RecordProperty("archives", Stats.Archives);
  testing::Test::RecordProperty("rewritten", Stats.Rewritten);
  std::printf("  %zu files, %d archives read, %d rewritten byte for byte\n",
              Files.size(), Stats.Archives, Stats.Rewritten);
}

//===----------------------------------------------------------------------===//
// Writer -> reader round trips
//===----------------------------------------------------------------------===//

TEST(ZipRoundTrip, ReadsBackWhatWasWritten) {
  std::vector<uint8_t> Bytes = sampleArchive();
  auto R = ZipReader::openBuffer(Bytes, "sample.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  const ZipReader &Z = **R;
  EXPECT_EQ(Z.displayName(), "sample.zip");
  ASSERT_EQ(Z.entries().size(), 4u);
  const char *Names[] = {"archive/data.pkl", "archive/empty", "archive/data/0",
                         "archive/version"};
  for (size_t I = 0; I < 4; ++I) {
    const ZipEntry &E = Z.entries()[I];
    EXPECT_EQ(E.Name, Names[I]);
    EXPECT_EQ(E.Method, 0);
    EXPECT_EQ(E.Flags, 0x0808);
    EXPECT_EQ(E.CompressedSize, E.UncompressedSize);
    EXPECT_EQ(E.DataOffset % 64, 0u) << E.Name;
    EXPECT_EQ(Z.find(E.Name), &E);
    EXPECT_TRUE(Z.contains(E.Name));
  }
  EXPECT_EQ(Z.find("archive/missing"), nullptr);
  EXPECT_FALSE(Z.contains("archive"));

  auto Pkl = Z.readText("archive/data.pkl");
  ASSERT_TRUE(bool(Pkl)) << errorOf(Pkl);
  EXPECT_EQ(*Pkl, std::string("\x80\x02}q\x00.", 6));
  auto Empty = Z.read("archive/empty");
  ASSERT_TRUE(bool(Empty)) << errorOf(Empty);
  EXPECT_TRUE(Empty->empty());
  auto Bin = Z.read("archive/data/0");
  ASSERT_TRUE(bool(Bin)) << errorOf(Bin);
  ASSERT_EQ(Bin->size(), 1000u);
  for (size_t I = 0; I < Bin->size(); ++I)
    ASSERT_EQ((*Bin)[I], uint8_t(I * 131 + 7)) << I;
  auto View = Z.readStored("archive/data/0");
  ASSERT_TRUE(bool(View)) << errorOf(View);
  EXPECT_TRUE(std::equal(View->begin(), View->end(), Bin->begin()));
  EXPECT_EQ(View->data(),
            Z.bytes().data() + Z.find("archive/data/0")->DataOffset);

  auto Missing = Z.read("archive/missing");
  ASSERT_FALSE(Missing);
  EXPECT_EQ(toString(Missing.takeError()),
            "sample.zip: no entry named 'archive/missing'");
}

TEST(ZipRoundTrip, EmptyArchive) {
  ZipWriter W;
  std::vector<uint8_t> Bytes = W.finish();
  EXPECT_EQ(Bytes.size(), 56u + 20u + 22u);
  auto R = ZipReader::openBuffer(Bytes, "empty.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  EXPECT_TRUE((*R)->entries().empty());
}

TEST(ZipRoundTrip, DeterministicAndReusable) {
  std::vector<uint8_t> A = sampleArchive();
  std::vector<uint8_t> B = sampleArchive();
  EXPECT_EQ(A, B);
  // finish() leaves the writer empty, ready for the next archive.
  ZipWriter W;
  W.add("x", StringRef("1"));
  std::vector<uint8_t> First = W.finish();
  W.add("x", StringRef("1"));
  EXPECT_EQ(W.finish(), First);
}

TEST(ZipRoundTrip, EveryNameLengthIsAligned) {
  // Covers every residue of header + name modulo the alignment, including
  // the one where the FB header alone reaches the boundary (no Z bytes).
  for (uint64_t Alignment : {1u, 16u, 64u, 4096u}) {
    ZipWriter W(Alignment);
    for (int Len = 1; Len <= 70; ++Len)
      W.add(std::string(Len - 1, 'n') + std::to_string(Len % 10),
            StringRef("payload").take_front(Len % 8));
    auto R = ZipReader::openBuffer(W.finish(), "align.zip");
    ASSERT_TRUE(bool(R)) << errorOf(R);
    ASSERT_EQ((*R)->entries().size(), 70u);
    for (const ZipEntry &E : (*R)->entries()) {
      EXPECT_EQ(E.DataOffset % Alignment, 0u) << E.Name;
      uint64_t ExtraLen =
          E.DataOffset - E.LocalHeaderOffset - 30 - E.Name.size();
      EXPECT_GE(ExtraLen, 4u);
      EXPECT_LT(ExtraLen, 4 + Alignment);
      auto Data = (*R)->read(E.Name);
      EXPECT_TRUE(bool(Data)) << errorOf(Data);
    }
  }
}

TEST(ZipWriterLayout, MatchesTorchSaveBytes) {
  // torch.save({}) from torch 2.x; the bytes below are quoted from a real
  // file. The serialization id's content (and so its CRC) is not part of the
  // quote, so the comparison covers the first entry, its central header and
  // the end records, which depend on every entry's length.
  ZipWriter W;
  W.add("archive/data.pkl", StringRef("\x80\x02}q\x00.", 6));
  W.add("archive/byteorder", StringRef("little"));
  W.add("archive/version", StringRef("3\n"));
  W.add("archive/.data/serialization_id", StringRef(std::string(40, '0')));
  std::vector<uint8_t> Out = W.finish();

  std::string FirstEntry(
      "PK\x03\x04\x00\x00\x08\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x10\x00\x12\x00"
      "archive/data.pkl"
      "FB\x0e\x00"
      "ZZZZZZZZZZZZZZ"
      "\x80\x02}q\x00."
      "PK\x07\x08\xf2\x91\x02"
      "\xc5\x06\x00\x00\x00\x06\x00\x00\x00",
      86);
  std::string FirstCentral(
      "PK\x01\x02\x00\x00\x00\x00\x08\x08\x00\x00\x00\x00\x00\x00\xf2\x91\x02"
      "\xc5\x06\x00\x00\x00\x06\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "archive/data.pkl",
      62);
  std::string Tail(
      "PK\x06\x06,\x00\x00\x00\x00\x00\x00\x00\x1e\x03-\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00"
      "\x00\x06\x01\x00\x00\x00\x00\x00\x00\xf8\x01\x00\x00\x00\x00\x00\x00"
      "PK\x06\x07\x00\x00\x00\x00\xfe\x02\x00\x00\x00\x00\x00\x00\x01\x00\x00"
      "\x00"
      "PK\x05\x06\x00\x00\x00\x00\x04\x00\x04\x00\x06\x01\x00\x00\xf8\x01"
      "\x00\x00\x00\x00",
      98);
  ASSERT_EQ(Out.size(), 0x1f8u + 0x106u + 98u);
  EXPECT_EQ(std::string(Out.begin(), Out.begin() + 86), FirstEntry);
  EXPECT_EQ(std::string(Out.begin() + 0x1f8, Out.begin() + 0x1f8 + 62),
            FirstCentral);
  EXPECT_EQ(std::string(Out.end() - 98, Out.end()), Tail);
}

//===----------------------------------------------------------------------===//
// Archives written by others
//===----------------------------------------------------------------------===//

TEST(ForeignArchives, Deflated) {
  auto R = ZipReader::openBuffer(vec(DeflatedZip), "deflated.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  ASSERT_EQ((*R)->entries().size(), 3u);
  EXPECT_EQ((*R)->entries()[0].Method, 8);
  std::string Hello;
  for (int I = 0; I < 4; ++I)
    Hello += "hello hello hello hello hello\n";
  auto Text = (*R)->readText("hello.txt");
  ASSERT_TRUE(bool(Text)) << errorOf(Text);
  EXPECT_EQ(*Text, Hello);
  auto Zeros = (*R)->read("dir/zeros.bin");
  ASSERT_TRUE(bool(Zeros)) << errorOf(Zeros);
  EXPECT_EQ(*Zeros, std::vector<uint8_t>(300, 0));
  auto Empty = (*R)->read("empty");
  ASSERT_TRUE(bool(Empty)) << errorOf(Empty);
  EXPECT_TRUE(Empty->empty());
  auto View = (*R)->readStored("hello.txt");
  ASSERT_FALSE(View);
  EXPECT_NE(toString(View.takeError()).find("compressed"), std::string::npos);
}

TEST(ForeignArchives, Zip64LocalHeaders) {
  auto R = ZipReader::openBuffer(vec(ForcedZip64Zip), "forced.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  std::string Big;
  for (int I = 0; I < 8; ++I)
    Big += "zip64 payload ";
  auto Text = (*R)->readText("big.txt");
  ASSERT_TRUE(bool(Text)) << errorOf(Text);
  EXPECT_EQ(*Text, Big);
  auto Raw = (*R)->read("raw.bin");
  ASSERT_TRUE(bool(Raw)) << errorOf(Raw);
  ASSERT_EQ(Raw->size(), 20u);
  for (int I = 0; I < 20; ++I)
    EXPECT_EQ((*Raw)[I], I);
}

TEST(ForeignArchives, Zip64CentralDirectory) {
  auto R = ZipReader::openBuffer(vec(CentralZip64Zip), "central64.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  ASSERT_EQ((*R)->entries().size(), 2u);
  const ZipEntry &A = (*R)->entries()[0];
  EXPECT_EQ(A.Name, "a/x.bin");
  EXPECT_EQ(A.UncompressedSize, 7u);
  EXPECT_EQ(A.CompressedSize, 7u);
  EXPECT_EQ(A.LocalHeaderOffset, 0u);
  auto Text = (*R)->readText("b.txt");
  ASSERT_TRUE(bool(Text)) << errorOf(Text);
  EXPECT_EQ(*Text, "zip64 central");
  auto X = (*R)->read("a/x.bin");
  ASSERT_TRUE(bool(X)) << errorOf(X);
  EXPECT_EQ(*X, std::vector<uint8_t>({0, 1, 2, 3, 4, 5, 6}));
}

TEST(ForeignArchives, TrailingCommentIsSkipped) {
  std::vector<uint8_t> B = sampleArchive();
  std::string Comment(1000, 'c');
  put16(B, B.size() - 2, Comment.size());
  B.insert(B.end(), Comment.begin(), Comment.end());
  EXPECT_EQ(openAndReadAll(B), "");
}

TEST(ForeignArchives, SharedFixtures) {
  const char *Dir = std::getenv("ATALLA_FIXTURES");
  if (!Dir || !sys::fs::is_directory(Dir))
    GTEST_SKIP() << "set ATALLA_FIXTURES to the shared fixtures folder (e.g. "
                    "/work/shared/fixtures) to read the real .pt2 files";
  checkRealFolder(Dir);
}

TEST(ForeignArchives, RepoTorch2Data) {
  std::string Dir;
  if (const char *Env = std::getenv("ATALLA_TEST_DATA"))
    Dir = Env;
  else {
    // tests/frontend/ZipArchiveTest.cpp -> tests/data
    SmallString<256> P(__FILE__);
    sys::path::remove_filename(P);
    sys::path::remove_filename(P);
    sys::path::append(P, "data");
    Dir = std::string(P);
  }
  if (!sys::fs::is_directory(Dir))
    GTEST_SKIP() << "no tests/data folder at '" << Dir
                 << "'; set ATALLA_TEST_DATA to it";
  checkRealFolder(Dir.c_str());
}

//===----------------------------------------------------------------------===//
// Hostile archives: each must give an error, never a crash
//===----------------------------------------------------------------------===//

TEST(Hostile, NotAZip) {
  expectOpenError({}, "not a zip archive (no end-of-central-directory record)");
  expectOpenError(bytesOf("PK\x03\x04 this is not really a zip at all......."),
                  "not a zip archive");
  auto R = ZipReader::openFile("/nonexistent/model.pt2");
  ASSERT_FALSE(R);
  EXPECT_EQ(toString(R.takeError()).rfind("/nonexistent/model.pt2: ", 0), 0u);
}

TEST(Hostile, EveryPrefixFails) {
  std::vector<std::vector<uint8_t>> Archives = {
      sampleArchive(), vec(DeflatedZip), vec(ForcedZip64Zip),
      vec(CentralZip64Zip)};
  for (const std::vector<uint8_t> &Full : Archives) {
    EXPECT_EQ(openAndReadAll(Full), "");
    for (size_t Len = 0; Len < Full.size(); ++Len) {
      std::string Err = openAndReadAll(
          std::vector<uint8_t>(Full.begin(), Full.begin() + Len));
      EXPECT_NE(Err, "") << "prefix of " << Len << " bytes opened";
    }
  }
}

TEST(Hostile, ByteFlipsNeverCrash) {
  // Not every flip is detectable (a flipped time field is harmless); the
  // point is that none reads out of bounds, which ASan checks.
  std::vector<std::vector<uint8_t>> Archives = {
      sampleArchive(), vec(DeflatedZip), vec(CentralZip64Zip)};
  for (const std::vector<uint8_t> &Full : Archives)
    for (size_t I = 0; I < Full.size(); ++I)
      for (uint8_t Mask : {0x01, 0x80, 0xff}) {
        std::vector<uint8_t> B = Full;
        B[I] ^= Mask;
        (void)openAndReadAll(std::move(B));
      }
}

TEST(Hostile, CrcMismatch) {
  std::vector<uint8_t> B = sampleArchive();
  size_t C = centralHeader(B, "archive/version");
  ASSERT_NE(C, SIZE_MAX);
  put32(B, C + 16, get32(B, C + 16) ^ 1);
  expectReadError(B, "archive/version", "CRC mismatch");

  // Corrupt the payload instead of the recorded CRC.
  B = sampleArchive();
  auto R = ZipReader::openBuffer(B, "t.zip");
  ASSERT_TRUE(bool(R));
  B[(*R)->find("archive/data/0")->DataOffset + 500] ^= 0x10;
  expectReadError(B, "archive/data/0", "CRC mismatch");
  auto R2 = ZipReader::openBuffer(B, "t.zip");
  ASSERT_TRUE(bool(R2));
  auto View = (*R2)->readStored("archive/data/0");
  EXPECT_FALSE(View);
  consumeError(View.takeError());
}

TEST(Hostile, ExactMessages) {
  std::vector<uint8_t> B = sampleArchive();
  size_t C = centralHeader(B, "archive/version");
  put32(B, C + 16, 0x12345678);
  auto R = ZipReader::openBuffer(B, "model.pt2");
  ASSERT_TRUE(bool(R));
  auto D = (*R)->read("archive/version");
  ASSERT_FALSE(D);
  std::string Msg = toString(D.takeError());
  EXPECT_EQ(Msg.rfind("model.pt2: entry 'archive/version': CRC mismatch", 0),
            0u)
      << Msg;
}

TEST(Hostile, UnsafeNames) {
  struct Case {
    const char *Written, *Patched;
  } Cases[] = {{"xx/evil", "../evil"}, {"a/xx/b", "a/../b"},
               {"dir/xx", "dir/.."},   {"xetc/passwd", "/etc/passwd"},
               {"xevil", "\\evil"},    {"a\\xx\\b", "a\\..\\b"},
               {"xx/win", "C:/win"}};
  for (const Case &C : Cases) {
    ZipWriter W;
    W.add("ok", StringRef("fine"));
    W.add(C.Written, StringRef("data"));
    std::vector<uint8_t> B = W.finish();
    ASSERT_EQ(patchAll(B, C.Written, C.Patched), 2u) << C.Written;
    expectOpenError(B, "unsafe name");
  }
  // Names that merely contain dots are fine.
  ZipWriter W;
  W.add("a/..b/c..", StringRef("x"));
  W.add("archive/.data/version", StringRef("x"));
  EXPECT_EQ(openAndReadAll(W.finish()), "");
}

TEST(Hostile, DuplicateNames) {
  ZipWriter W;
  W.add("dup/one", StringRef("1"));
  W.add("dup/two", StringRef("2"));
  std::vector<uint8_t> B = W.finish();
  ASSERT_EQ(patchAll(B, "dup/two", "dup/one"), 2u);
  expectOpenError(B, "t.zip: entry 'dup/one': duplicate entry name");
}

TEST(Hostile, UnsupportedMethodAndEncryption) {
  std::vector<uint8_t> B = sampleArchive();
  size_t C = centralHeader(B, "archive/data/0");
  put16(B, C + 10, 12);
  expectOpenError(
      B, "entry 'archive/data/0': unsupported compression method 12 (bzip2)");

  B = sampleArchive();
  put16(B, C + 8, 0x0809);
  expectOpenError(
      B, "entry 'archive/data/0': encrypted entries are not supported");
}

TEST(Hostile, DeclaredSizesAndLimits) {
  // A deflated entry declaring ~4 GiB from 7 bytes: refused at open, before
  // anything is allocated.
  std::vector<uint8_t> B = vec(DeflatedZip);
  size_t C = centralHeader(B, "dir/zeros.bin");
  ASSERT_NE(C, SIZE_MAX);
  put32(B, C + 24, 0xFFFFFFF0);
  expectOpenError(B, "zip bomb");
  // Declared through ZIP64 to 1 TiB: over the per-entry limit.
  B = vec(CentralZip64Zip);
  C = centralHeader(B, "b.txt");
  put64(B, C + 46 + 5 + 4, 1ull << 40);
  expectOpenError(B, "exceeds the limit");

  ZipLimits Small;
  Small.MaxEntryBytes = 100;
  expectOpenError(
      vec(DeflatedZip),
      "entry 'hello.txt': uncompressed size 120 exceeds the limit of 100 bytes",
      Small);
  ZipLimits Total;
  Total.MaxTotalBytes = 400;
  expectOpenError(vec(DeflatedZip), "add up to more than the limit of 400",
                  Total);
  ZipLimits Few;
  Few.MaxEntries = 2;
  expectOpenError(vec(DeflatedZip),
                  "archive has 3 entries, more than the limit of 2", Few);
  ZipLimits Ratio;
  Ratio.MaxCompressionRatio = 10;
  EXPECT_EQ(openAndReadAll(vec(DeflatedZip), Ratio), "")
      << "the ratio guard ignores small entries";

  // A stored entry claiming more bytes than the file holds.
  B = sampleArchive();
  C = centralHeader(B, "archive/data/0");
  put32(B, C + 20, 0x7FFFFFFF);
  put32(B, C + 24, 0x7FFFFFFF);
  expectOpenError(B, "truncated: data at offset");
  // Sizes that disagree for a stored entry.
  B = sampleArchive();
  put32(B, C + 24, 999);
  expectOpenError(
      B, "stored entry has compressed size 1000 but uncompressed size 999");
}

TEST(Hostile, InflateDisagreesWithDirectory) {
  std::vector<uint8_t> B = vec(DeflatedZip);
  size_t C = centralHeader(B, "dir/zeros.bin");
  put32(B, C + 24, 100);
  expectReadError(B, "dir/zeros.bin",
                  "inflates to more than the declared 100 bytes");
  put32(B, C + 24, 400);
  expectReadError(B, "dir/zeros.bin", "inflated size 300 != declared 400");
  // A compressed size cutting the stream short.
  B = vec(DeflatedZip);
  put32(B, C + 20, 3);
  expectReadError(B, "dir/zeros.bin", "compressed data is truncated");
  // Garbage instead of deflate.
  B = vec(DeflatedZip);
  auto R = ZipReader::openBuffer(B, "t.zip");
  ASSERT_TRUE(bool(R));
  const ZipEntry *E = (*R)->find("hello.txt");
  for (uint64_t I = 0; I < E->CompressedSize; ++I)
    B[E->DataOffset + I] = 0xFF;
  expectReadError(B, "hello.txt", "inflate failed");
}

TEST(Hostile, CentralDirectoryOutOfRange) {
  // Writer output always has ZIP64 end records; the classic EOCD is ignored
  // when they are there, so patch the ZIP64 record's offset.
  std::vector<uint8_t> B = sampleArchive();
  size_t Z64 = B.size() - 98;
  ASSERT_EQ(get32(B, Z64), 0x06064b50u);
  put64(B, Z64 + 48, B.size() + 1000);
  expectOpenError(B, "truncated: central directory at offset " +
                         std::to_string(B.size() + 1000) +
                         " extends past end of file (size " +
                         std::to_string(B.size()) + ")");
  put64(B, Z64 + 48, UINT64_MAX - 10);
  expectOpenError(B, "extends past end of file");

  // Classic EOCD only.
  B = vec(DeflatedZip);
  put32(B, B.size() - 6, 0xFFFFFF00);
  expectOpenError(B, "truncated: central directory at offset 4294967040");
  // An entry count the directory cannot hold.
  B = vec(DeflatedZip);
  put16(B, B.size() - 12, 60000);
  put16(B, B.size() - 14, 60000);
  expectOpenError(B, "cannot hold 60000 entries");
  // ZIP64 locator pointing nowhere.
  B = sampleArchive();
  put64(B, B.size() - 22 - 20 + 8, 1ull << 60);
  expectOpenError(B, "zip64 end-of-central-directory record");
}

TEST(Hostile, EntryOutsideOrOverlapping) {
  std::vector<uint8_t> B = sampleArchive();
  size_t C = centralHeader(B, "archive/version");
  put32(B, C + 42, 0x7FFFFFF0);
  expectOpenError(B,
                  "entry 'archive/version': truncated: local header at offset");
  // A local header inside the central directory.
  B = sampleArchive();
  put32(B, C + 42, uint32_t(C));
  expectOpenError(B, "overlaps the central directory");

  // An entry whose local header lies inside another entry's payload: build
  // "outer" holding a copy of an archive that has "inner", then point the
  // real "inner" at that copy.
  ZipWriter Nested;
  Nested.add("inner", StringRef("secret"));
  std::vector<uint8_t> Payload = Nested.finish();
  ZipWriter W;
  W.add("outer", ArrayRef<uint8_t>(Payload));
  W.add("inner", StringRef("secret"));
  B = W.finish();
  auto R = ZipReader::openBuffer(B, "t.zip");
  ASSERT_TRUE(bool(R)) << errorOf(R);
  uint64_t Inside = (*R)->find("outer")->DataOffset;
  C = centralHeader(B, "inner");
  put32(B, C + 42, uint32_t(Inside));
  expectOpenError(B, "entry 'inner': overlaps entry 'outer'");
}

TEST(Hostile, MalformedZip64Extra) {
  std::vector<uint8_t> B = vec(CentralZip64Zip);
  size_t C = centralHeader(B, "a/x.bin");
  // Claim the extra field is longer than the bytes left for it.
  put16(B, C + 46 + 7 + 2, 200);
  expectOpenError(B, "malformed extra field");
  // A ZIP64 field too short for the values the header defers to it.
  B = vec(CentralZip64Zip);
  put16(B, C + 46 + 7, 0x0001);
  put16(B, C + 46 + 7 + 2, 8);
  put16(B, C + 46 + 7 + 12, 0x9999); // the rest becomes an unknown field
  put16(B, C + 46 + 7 + 14, 12);
  expectOpenError(B, "zip64 extra field is too short");
}

} // namespace
