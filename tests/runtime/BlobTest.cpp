//===- tests/runtime/BlobTest.cpp - blob validation, one failure each ----===//
//
// Every rule Blob::parse enforces has a test here that breaks exactly that
// rule in an otherwise good blob (built with atalla::abi::BlobBuilder) and checks
// the message. To add a case: take goodSections(), patch a record with
// patchRecord() (or the assembled bytes, then rehashHeader()), and
// EXPECT_ERROR_CONTAINS(parse(...), "what the message must say").
//
//===----------------------------------------------------------------------===//
#include "runtime/Blob.h"

#include "runtime/abi/BlobBuilder.h"
#include "runtime/abi/KernelSpec.h"

#include "TestSupport.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <functional>
#include <random>

using namespace atalla;
using namespace atalla::runtime;
using atalla::abi::BlobBuilder;
using atalla::abi::SectionKind;

namespace {

constexpr uint64_t Dram = 4096;

atalla::abi::TensorRecord tensor(atalla::abi::TensorKind Kind, std::vector<int64_t> Sizes, uint64_t Addr, uint32_t UserIndex = 0) {
  atalla::abi::TensorRecord R{};
  R.Kind = static_cast<uint32_t>(Kind);
  R.DType = 7;
  R.Rank = static_cast<uint32_t>(Sizes.size());
  int64_t Stride = 1, N = 1;
  for (size_t D = Sizes.size(); D-- > 0;) {
    R.Sizes[D] = Sizes[D];
    R.Strides[D] = Stride;
    Stride *= Sizes[D];
  }
  for (int64_t S : Sizes)
    N *= S;
  R.DramAddr = Addr;
  R.Bytes = static_cast<uint64_t>(N) * 4;
  R.UserIndex = UserIndex;
  return R;
}

/// A small well-formed program: z = add(x, y); w = sin(z) via fallback;
/// plus a constant and a transposed view.
BlobBuilder goodBuilder() {
  BlobBuilder B;
  std::vector<uint8_t> FakeObject(100, 0xcc);
  B.addKernel(atalla::abi::KernelId::add, 3, "atalla_add_0123456789abcdef", "add f32 [4:1] [4:1] -> [4:1]", FakeObject);
  B.addTensor("x", tensor(atalla::abi::TensorKind::Input, {4}, 0, 0));     // 0
  B.addTensor("y", tensor(atalla::abi::TensorKind::Input, {4}, 64, 1));    // 1
  B.addTensor("z", tensor(atalla::abi::TensorKind::Intermediate, {4}, 128)); // 2
  B.addTensor("w", tensor(atalla::abi::TensorKind::Output, {4}, 192, 0));  // 3
  float C[6] = {1, 2, 3, 4, 5, 6};
  atalla::abi::TensorRecord CR = tensor(atalla::abi::TensorKind::Constant, {2, 3}, 256);
  CR.ConstantOffset = B.addConstant(reinterpret_cast<const uint8_t *>(C), sizeof(C));
  B.addTensor("c", CR); // 4
  atalla::abi::TensorRecord V = tensor(atalla::abi::TensorKind::Intermediate, {3, 2}, 256);
  V.IsView = 1;
  V.Strides[0] = 1;
  V.Strides[1] = 3;
  V.Bytes = 0;
  B.addTensor("c_t", V); // 5
  B.addInstruction(atalla::abi::Opcode::Kernel, 0, {0, 1, 2}, 1, "add");
  uint32_t Call = B.beginFallbackCall("aten::sin", "");
  B.addFallbackArg("self", atalla::abi::ArgTag::Tensor, {0});
  B.addInstruction(atalla::abi::Opcode::Fallback, Call, {2, 3}, 1, "sin");
  B.setDramBytes(Dram);
  float X[4] = {1, 2, 3, 4}, Y[4] = {5, 6, 7, 8};
  B.addSampleInput(reinterpret_cast<const uint8_t *>(X), sizeof(X));
  B.addSampleInput(reinterpret_cast<const uint8_t *>(Y), sizeof(Y));
  B.addProvenance("compiler", "atalla-gen 0.1.0");
  B.addProvenance("llvm", "19.1");
  return B;
}

std::vector<BlobBuilder::Section> goodSections() { return goodBuilder().sections(); }

std::vector<uint8_t> &bytesOf(std::vector<BlobBuilder::Section> &S, SectionKind K) {
  for (auto &X : S)
    if (X.Kind == K)
      return X.Bytes;
  static std::vector<uint8_t> None;
  ADD_FAILURE() << "no such section";
  return None;
}

/// Edits a record of type T at byte \p Offset of section \p K.
template <typename T>
void patchRecord(std::vector<BlobBuilder::Section> &S, SectionKind K, uint64_t Offset, std::function<void(T &)> F) {
  std::vector<uint8_t> &B = bytesOf(S, K);
  ASSERT_LE(Offset + sizeof(T), B.size());
  T R;
  std::memcpy(&R, B.data() + Offset, sizeof(T));
  F(R);
  std::memcpy(B.data() + Offset, &R, sizeof(T));
}

void patchTensor(std::vector<BlobBuilder::Section> &S, uint32_t I, std::function<void(atalla::abi::TensorRecord &)> F) {
  patchRecord<atalla::abi::TensorRecord>(S, SectionKind::Tensors, I * sizeof(atalla::abi::TensorRecord), F);
}
void patchInstruction(std::vector<BlobBuilder::Section> &S, uint32_t I, std::function<void(atalla::abi::Instruction &)> F) {
  patchRecord<atalla::abi::Instruction>(S, SectionKind::Program, sizeof(atalla::abi::ProgramHeader) + I * sizeof(atalla::abi::Instruction), F);
}

llvm::Expected<Blob> parseSections(const std::vector<BlobBuilder::Section> &S, uint64_t DramBytes = Dram) {
  return Blob::parse(BlobBuilder::assemble(S, DramBytes), "t.atb");
}

atalla::abi::BlobHeader headerOf(const std::vector<uint8_t> &B) {
  atalla::abi::BlobHeader H;
  std::memcpy(&H, B.data(), sizeof(H));
  return H;
}

/// Recomputes the header checksum after an edit of the header or table, so
/// the edit reaches the check behind it.
void rehashHeader(std::vector<uint8_t> &B) {
  atalla::abi::BlobHeader H = headerOf(B);
  uint64_t TableEnd = sizeof(H) + uint64_t(H.SectionCount) * sizeof(atalla::abi::SectionEntry);
  if (TableEnd > B.size())
    return; // the parser refuses it before looking at the checksum
  std::vector<uint8_t> Head(B.begin(), B.begin() + TableEnd);
  std::memset(Head.data() + offsetof(atalla::abi::BlobHeader, HeaderChecksum), 0, 8);
  H.HeaderChecksum = atalla::abi::fnv1a64(Head.data(), Head.size());
  std::memcpy(B.data(), &H, sizeof(H));
}

void patchHeader(std::vector<uint8_t> &B, std::function<void(atalla::abi::BlobHeader &)> F) {
  atalla::abi::BlobHeader H = headerOf(B);
  F(H);
  std::memcpy(B.data(), &H, sizeof(H));
  rehashHeader(B);
}

void patchEntry(std::vector<uint8_t> &B, uint32_t I, std::function<void(atalla::abi::SectionEntry &)> F) {
  atalla::abi::SectionEntry E;
  uint64_t Off = sizeof(atalla::abi::BlobHeader) + I * sizeof(atalla::abi::SectionEntry);
  std::memcpy(&E, B.data() + Off, sizeof(E));
  F(E);
  std::memcpy(B.data() + Off, &E, sizeof(E));
  rehashHeader(B);
}

llvm::Expected<Blob> parseBytes(std::vector<uint8_t> B, const BlobLimits &L = {}) {
  return Blob::parse(std::move(B), "t.atb", L);
}

} // namespace

//===----------------------------------------------------------------------===//
// The good blob
//===----------------------------------------------------------------------===//

TEST(Blob, GoodBlobParses) {
  ASSERT_EXPECTED(B, parseSections(goodSections()));
  EXPECT_EQ(B.name(), "t.atb");
  EXPECT_EQ(B.header().DramBytes, Dram);
  ASSERT_EQ(B.kernels().size(), 1u);
  EXPECT_EQ(B.kernelObject(0).size(), 100u);
  EXPECT_EQ(B.kernelObject(0)[0], 0xcc);
  EXPECT_EQ(B.kernelSymbol(0), "atalla_add_0123456789abcdef");
  ASSERT_EQ(B.tensors().size(), 6u);
  EXPECT_EQ(B.tensorName(5), "c_t");
  ASSERT_EQ(B.inputs().size(), 2u);
  EXPECT_EQ(B.inputs()[1], 1u);
  ASSERT_EQ(B.outputs().size(), 1u);
  EXPECT_EQ(B.outputs()[0], 3u);
  ASSERT_EQ(B.instructions().size(), 2u);
  EXPECT_EQ(B.operands(1).vec(), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(B.nodeName(0), "add");
  ASSERT_EQ(B.fallbackCalls().size(), 1u);
  EXPECT_EQ(B.fallbackOpName(0), "aten::sin");
  ASSERT_EQ(B.fallbackArgs(B.fallbackCall(0)).size(), 1u);
  EXPECT_EQ(B.string(B.fallbackArgs(B.fallbackCall(0))[0].NameOffset), "self");
  EXPECT_EQ(B.constants().size(), 24u);
  ASSERT_EQ(B.provenance().size(), 2u);
  EXPECT_EQ(B.provenance()[0].first, "compiler");
  EXPECT_EQ(B.provenance("llvm").value_or(""), "19.1");
  EXPECT_EQ(B.string(1u << 30), "");
  ASSERT_TRUE(B.hasSampleInputs());
  ASSERT_EQ(B.sampleInput(1).size(), 16u);
  float Y0;
  std::memcpy(&Y0, B.sampleInput(1).data(), 4);
  EXPECT_EQ(Y0, 5.0f);
  EXPECT_EQ(recordExtent(B.tensors()[5]), 24u);
  EXPECT_FALSE(recordIsContiguous(B.tensors()[5]));
}

TEST(Blob, ReadFile) {
  std::vector<uint8_t> Bytes = goodBuilder().finish();
  std::string Path = ::testing::TempDir() + "/blobtest.atb";
  {
    std::ofstream F(Path, std::ios::binary);
    F.write(reinterpret_cast<const char *>(Bytes.data()), Bytes.size());
  }
  ASSERT_EXPECTED(B, Blob::readFile(Path));
  EXPECT_EQ(B.name(), Path);
  EXPECT_ERROR_CONTAINS(Blob::readFile(Path + ".missing"), "blobtest.atb.missing: cannot read");
  BlobLimits Small;
  Small.MaxFileBytes = 128;
  EXPECT_ERROR_CONTAINS(Blob::readFile(Path, Small), "larger than the limit");
}

//===----------------------------------------------------------------------===//
// Header, table, sections
//===----------------------------------------------------------------------===//

TEST(Blob, FlippedByteInEverySectionNamesIt) {
  std::vector<uint8_t> Good = goodBuilder().finish();
  atalla::abi::BlobHeader H = headerOf(Good);
  for (uint32_t I = 0; I < H.SectionCount; ++I) {
    atalla::abi::SectionEntry E;
    std::memcpy(&E, Good.data() + sizeof(H) + I * sizeof(E), sizeof(E));
    ASSERT_GT(E.Size, 0u);
    for (uint64_t At : {uint64_t(0), E.Size / 2, E.Size - 1}) {
      std::vector<uint8_t> B = Good;
      B[E.Offset + At] ^= 0x40;
      const char *Names[] = {"", "Code", "Kernels", "Tensors", "Program", "Fallback", "Constants", "Strings",
                             "Provenance", "SampleInputs"};
      EXPECT_ERROR_CONTAINS(parseBytes(B), std::string("t.atb: section '") + Names[E.Kind] + "' checksum mismatch");
    }
  }
}

TEST(Blob, WrongMagic) {
  std::vector<uint8_t> B = goodBuilder().finish();
  B[0] = 'X';
  EXPECT_ERROR_CONTAINS(parseBytes(B), "t.atb: not an Atalla blob (bad magic)");
}

TEST(Blob, WrongVersionNamesBoth) {
  std::vector<uint8_t> B = goodBuilder().finish();
  patchHeader(B, [](atalla::abi::BlobHeader &H) { H.Version = 2; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "blob format version 2 is not supported (this runtime reads version 1)");
}

TEST(Blob, Bf16FlagStoresFloat32AsTwoBytes) {
  // The f32 blob's records under the bf16 flag: 4 bytes an element is wrong.
  std::vector<BlobBuilder::Section> S = goodSections();
  EXPECT_ERROR_CONTAINS(Blob::parse(BlobBuilder::assemble(S, Dram, atalla::abi::BlobFlagBf16), "t.atb"),
                        "Bytes is 16 but [4] float32 needs 8");
  for (uint32_t I = 0; I < 5; ++I) // every owning float32 tensor (5 is a view)
    patchTensor(S, I, [](atalla::abi::TensorRecord &R) { R.Bytes /= 2; });
  auto B = Blob::parse(BlobBuilder::assemble(S, Dram, atalla::abi::BlobFlagBf16), "t.atb");
  ASSERT_TRUE(bool(B)) << llvm::toString(B.takeError());
  EXPECT_TRUE(B->bf16());
  EXPECT_EQ(B->storageElementSize(7), 2u);
  EXPECT_EQ(B->storageElementSize(4), 4u); // int32 keeps its size
  EXPECT_EQ(B->storageElementSize(13), 2u);
  EXPECT_EQ(B->extent(B->tensors()[5]), 12u); // the [3,2] view's 6 elements, 2 bytes each
  // Sample inputs stay the user's float32.
  EXPECT_EQ(B->sampleInput(1).size(), 16u);
  // Without the flag the same records are 2 bytes short.
  EXPECT_ERROR_CONTAINS(parseSections(S), "Bytes is 8 but [4] float32 needs 16");
}

TEST(Blob, WrongHeaderSizeFlagsAbi) {
  std::vector<uint8_t> B = goodBuilder().finish();
  patchHeader(B, [](atalla::abi::BlobHeader &H) { H.HeaderBytes = 72; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "header size 72, expected 64");
  B = goodBuilder().finish();
  patchHeader(B, [](atalla::abi::BlobHeader &H) { H.Flags = 4; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "unknown header flags");
  B = goodBuilder().finish();
  patchHeader(B, [](atalla::abi::BlobHeader &H) { H.KernelAbi = 9; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "kernel ABI version 9");
}

TEST(Blob, HeaderChecksum) {
  std::vector<uint8_t> B = goodBuilder().finish();
  B[offsetof(atalla::abi::BlobHeader, Reserved1)] ^= 1;
  EXPECT_ERROR_CONTAINS(parseBytes(B), "header checksum mismatch");
  B = goodBuilder().finish();
  B[sizeof(atalla::abi::BlobHeader) + offsetof(atalla::abi::SectionEntry, Reserved)] ^= 1; // in the table
  EXPECT_ERROR_CONTAINS(parseBytes(B), "header checksum mismatch");
}

TEST(Blob, TruncatedAtManyLengths) {
  std::vector<uint8_t> Good = goodBuilder().finish();
  for (size_t Len : {size_t(0), size_t(1), size_t(8), size_t(63), size_t(64), size_t(65), size_t(100), size_t(200),
                     Good.size() / 2, Good.size() - 64, Good.size() - 1}) {
    std::vector<uint8_t> B(Good.begin(), Good.begin() + Len);
    EXPECT_FALSE(static_cast<bool>(parseBytes(B)) ) << Len;
    auto R = parseBytes(B);
    std::string M = R ? "" : llvm::toString(R.takeError());
    EXPECT_TRUE(M.find("truncated") != std::string::npos || M.find("file size mismatch") != std::string::npos)
        << Len << ": " << M;
  }
  // A truncated blob whose header was fixed up to the new size: the table
  // or the sections now run past the end.
  for (size_t Len : {size_t(64), size_t(128), Good.size() - 64}) {
    std::vector<uint8_t> B(Good.begin(), Good.begin() + Len);
    patchHeader(B, [&](atalla::abi::BlobHeader &H) { H.FileBytes = Len; });
    auto R = parseBytes(B);
    ASSERT_FALSE(static_cast<bool>(R)) << Len;
    std::string M = llvm::toString(R.takeError());
    EXPECT_TRUE(M.find("outside the file") != std::string::npos ||
                M.find("runs past the end of the file") != std::string::npos)
        << Len << ": " << M;
  }
}

TEST(Blob, PaddedFile) {
  std::vector<uint8_t> B = goodBuilder().finish();
  B.resize(B.size() + 64, 0);
  EXPECT_ERROR_CONTAINS(parseBytes(B), "file size mismatch: the header says");
}

TEST(Blob, NonZeroPaddingBetweenSectionsIsDamage) {
  // Found by tests/tools/HostileInputsTest: a flipped byte in the alignment
  // padding between two sections was covered by no checksum and accepted.
  std::vector<uint8_t> Good = goodBuilder().finish();
  atalla::abi::BlobHeader H = headerOf(Good);
  std::vector<bool> Covered(Good.size(), false);
  for (size_t I = 0; I < sizeof(H) + H.SectionCount * sizeof(atalla::abi::SectionEntry); ++I)
    Covered[I] = true;
  for (uint32_t I = 0; I < H.SectionCount; ++I) {
    atalla::abi::SectionEntry E;
    std::memcpy(&E, Good.data() + sizeof(H) + I * sizeof(E), sizeof(E));
    for (uint64_t B = E.Offset; B < E.Offset + E.Size; ++B)
      Covered[B] = true;
  }
  size_t Padding = 0;
  for (size_t At = 0; At < Good.size(); ++At) {
    if (Covered[At])
      continue;
    ++Padding;
    std::vector<uint8_t> B = Good;
    B[At] = 0x5a;
    EXPECT_ERROR_CONTAINS(parseBytes(B), "padding byte at offset " + std::to_string(At) + " is not zero");
  }
  EXPECT_GT(Padding, 0u) << "the test blob has no padding to damage";
}

TEST(Blob, SectionTableOutsideFile) {
  std::vector<uint8_t> B = goodBuilder().finish();
  uint32_t Count = static_cast<uint32_t>((B.size() - 64) / 32 + 1);
  patchHeader(B, [&](atalla::abi::BlobHeader &H) { H.SectionCount = Count; });
  BlobLimits Many;
  Many.MaxSections = 1000;
  EXPECT_ERROR_CONTAINS(parseBytes(B, Many), "section table (" + std::to_string(Count) +
                                           " entries) runs past the end of the file");
  B = goodBuilder().finish();
  patchHeader(B, [](atalla::abi::BlobHeader &H) { H.SectionCount = 1000000; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "1000000 sections is more than the limit of 64");
}

TEST(Blob, SectionOutsideFile) {
  std::vector<uint8_t> B = goodBuilder().finish();
  patchEntry(B, 2, [](atalla::abi::SectionEntry &E) { E.Size = ~0ull - 10; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "section 'Tensors' [");
  B = goodBuilder().finish();
  patchEntry(B, 0, [&](atalla::abi::SectionEntry &E) { E.Offset = uint64_t(B.size()) + 64; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "lies outside the file");
}

TEST(Blob, MisalignedSection) {
  std::vector<uint8_t> B = goodBuilder().finish();
  patchEntry(B, 1, [](atalla::abi::SectionEntry &E) { E.Offset += 8; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "section 'Kernels' at offset");
  EXPECT_ERROR_CONTAINS(parseBytes(B), "is not 64-byte aligned");
}

TEST(Blob, OverlappingSections) {
  std::vector<uint8_t> B = goodBuilder().finish();
  atalla::abi::SectionEntry Code;
  std::memcpy(&Code, B.data() + sizeof(atalla::abi::BlobHeader), sizeof(Code));
  patchEntry(B, 1, [&](atalla::abi::SectionEntry &E) { E.Offset = Code.Offset; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "sections 'Code' and 'Kernels' overlap");
  // Over the header or the table.
  B = goodBuilder().finish();
  patchEntry(B, 1, [&](atalla::abi::SectionEntry &E) { E.Offset = 0; });
  EXPECT_ERROR_CONTAINS(parseBytes(B), "overlaps the header or section table");
}

TEST(Blob, DuplicateUnknownAndMissingSections) {
  auto S = goodSections();
  S.push_back({SectionKind::Strings, {0}});
  EXPECT_ERROR_CONTAINS(parseSections(S), "duplicate section 'Strings'");
  S = goodSections();
  S.push_back({static_cast<SectionKind>(42), {1, 2, 3}});
  EXPECT_ERROR_CONTAINS(parseSections(S), "section 9 has unknown kind 42");
  for (SectionKind K : {SectionKind::Code, SectionKind::Kernels, SectionKind::Tensors, SectionKind::Program,
                        SectionKind::Strings, SectionKind::Provenance}) {
    S = goodSections();
    for (size_t I = 0; I < S.size(); ++I)
      if (S[I].Kind == K)
        S.erase(S.begin() + I);
    EXPECT_ERROR_CONTAINS(parseSections(S), "is missing");
  }
}

TEST(Blob, DramLimit) {
  auto S = goodSections();
  EXPECT_ERROR_CONTAINS(parseSections(S, 1ull << 40), "more than the limit");
}

//===----------------------------------------------------------------------===//
// Records
//===----------------------------------------------------------------------===//

TEST(Blob, RecordArraysHaveWholeSizes) {
  for (SectionKind K : {SectionKind::Kernels, SectionKind::Tensors, SectionKind::Program, SectionKind::Fallback}) {
    auto S = goodSections();
    bytesOf(S, K).push_back(0);
    EXPECT_ERROR_CONTAINS(parseSections(S), "bytes");
  }
  auto S = goodSections();
  bytesOf(S, SectionKind::Tensors).push_back(0);
  EXPECT_ERROR_CONTAINS(parseSections(S), "not a whole number of 176-byte records");
  S = goodSections();
  bytesOf(S, SectionKind::Program).resize(4);
  EXPECT_ERROR_CONTAINS(parseSections(S), "section 'Program' is too small");
  S = goodSections();
  patchRecord<atalla::abi::ProgramHeader>(S, SectionKind::Program, 0, [](atalla::abi::ProgramHeader &H) { H.OperandCount = 1000; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "its counts (2 instructions, 1000 operands)");
  S = goodSections();
  patchRecord<atalla::abi::FallbackHeader>(S, SectionKind::Fallback, 0, [](atalla::abi::FallbackHeader &H) { H.ValueCount = ~0u; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "section 'Fallback' is");
}

TEST(Blob, SampleInputs) {
  auto S = goodSections();
  bytesOf(S, SectionKind::SampleInputs).resize(64);
  EXPECT_ERROR_CONTAINS(parseSections(S), "section 'SampleInputs' is 64 bytes, the 2 inputs need 80");
  S = goodSections();
  for (size_t I = 0; I < S.size(); ++I)
    if (S[I].Kind == SectionKind::SampleInputs)
      S.erase(S.begin() + I);
  ASSERT_EXPECTED(B, parseSections(S));
  EXPECT_FALSE(B.hasSampleInputs());
  EXPECT_TRUE(B.sampleInput(0).empty());
}

TEST(Blob, Strings) {
  auto S = goodSections();
  bytesOf(S, SectionKind::Strings).back() = 'x';
  EXPECT_ERROR_CONTAINS(parseSections(S), "does not end with NUL");
  S = goodSections();
  patchInstruction(S, 0, [](atalla::abi::Instruction &I) { I.NodeOffset = 100000; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "instruction 0 node name: string offset 100000 is outside section 'Strings'");
  S = goodSections();
  patchTensor(S, 2, [](atalla::abi::TensorRecord &R) { R.NameOffset = ~0u; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "tensor 2 name: string offset");
  S = goodSections();
  patchRecord<atalla::abi::KernelRecord>(S, SectionKind::Kernels, 0, [](atalla::abi::KernelRecord &K) { K.SymbolOffset = 5000; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "kernel record 0 (add) symbol: string offset 5000");
  S = goodSections();
  bytesOf(S, SectionKind::Provenance).push_back('z');
  EXPECT_ERROR_CONTAINS(parseSections(S), "provenance line 3 is not key=value");
}

TEST(Blob, Kernels) {
  auto S = goodSections();
  patchRecord<atalla::abi::KernelRecord>(S, SectionKind::Kernels, 0, [](atalla::abi::KernelRecord &K) { K.KernelId = 999; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "kernel record 0: unknown kernel id 999");
  S = goodSections();
  patchRecord<atalla::abi::KernelRecord>(S, SectionKind::Kernels, 0, [](atalla::abi::KernelRecord &K) { K.CodeOffset = 64; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "outside section 'Code' (100 bytes)");
  S = goodSections();
  patchRecord<atalla::abi::KernelRecord>(S, SectionKind::Kernels, 0, [](atalla::abi::KernelRecord &K) {
    K.CodeOffset = ~0ull - 4;
    K.CodeSize = 16;
  });
  EXPECT_ERROR_CONTAINS(parseSections(S), "outside section 'Code'");
}

TEST(Blob, Tensors) {
  struct Case {
    uint32_t Index;
    std::function<void(atalla::abi::TensorRecord &)> Patch;
    const char *Needle;
  };
  std::vector<Case> Cases = {
      {2, [](auto &R) { R.DramAddr = Dram; }, "tensor 2 ('z'): bytes [4096, +16) lie outside DRAM (4096 bytes)"},
      {2, [](auto &R) { R.DramAddr = ~0ull - 63; }, "lie outside DRAM"},
      {2, [](auto &R) { R.DramAddr = 130; }, "tensor 2 ('z'): DRAM address 130 is not 64-byte aligned"},
      {2, [](auto &R) { R.Rank = 9; }, "rank 9 is more than 8"},
      {2, [](auto &R) { R.DType = 99; }, "unknown dtype number 99"},
      {2, [](auto &R) { R.Sizes[0] = -4; }, "negative size -4"},
      {2, [](auto &R) { R.Bytes = 17; }, "Bytes is 17 but [4] float32 needs 16"},
      {2, [](auto &R) { R.Kind = 7; }, "unknown tensor kind 7"},
      {2, [](auto &R) { R.Sizes[0] = int64_t(1) << 62; }, "overflows"},
      {5, [](auto &R) { R.Strides[1] = 1000; }, "tensor 5 ('c_t'): bytes [256, +"},
      {5, [](auto &R) { R.Strides[1] = int64_t(1) << 62; }, "overflows"},
      {5, [](auto &R) { R.Strides[0] = -1; }, "negative stride -1"},
      {4, [](auto &R) { R.ConstantOffset = 8; }, "tensor 4 ('c'): constant bytes [8, +24) lie outside section 'Constants'"},
      {0, [](auto &R) { R.IsView = 1; }, "input can not be a view"},
      {1, [](auto &R) { R.UserIndex = 5; }, "input user indices are not 0..1"},
  };
  for (const Case &C : Cases) {
    auto S = goodSections();
    patchTensor(S, C.Index, C.Patch);
    EXPECT_ERROR_CONTAINS(parseSections(S), C.Needle);
  }
  // A misaligned view is fine; a view whose extent ends exactly at DRAM's end too.
  auto S = goodSections();
  patchTensor(S, 5, [](auto &R) { R.DramAddr = Dram - 24; });
  EXPECT_TRUE(static_cast<bool>(parseSections(S)));
  // Empty tensors touch nothing.
  S = goodSections();
  patchTensor(S, 5, [](auto &R) { R.Sizes[0] = 0; R.DramAddr = Dram; });
  EXPECT_TRUE(static_cast<bool>(parseSections(S)));
}

TEST(Blob, Program) {
  struct Case {
    uint32_t Index;
    std::function<void(atalla::abi::Instruction &)> Patch;
    const char *Needle;
  };
  std::vector<Case> Cases = {
      {0, [](auto &I) { I.Op = 7; }, "instruction 0 (node 'add'): unknown opcode 7"},
      {0, [](auto &I) { I.Index = 3; }, "kernel record 3 is out of range (1 kernels)"},
      {1, [](auto &I) { I.Index = 1; }, "instruction 1 (node 'sin'): fallback call 1 is out of range (1 calls)"},
      {0, [](auto &I) { I.FirstOperand = 4; }, "operands [4, +3) outside the operand list (5 entries)"},
      {0, [](auto &I) { I.FirstOperand = ~0u; }, "outside the operand list"},
      {0, [](auto &I) { I.NumOutputs = 4; }, "4 outputs but only 3 operands"},
      {0, [](auto &I) { I.NumOperands = 2; }, "2 operands, but kernel record 0 (add) takes 3"},
      {1, [](auto &I) { I.NumOutputs = 2; }, "argument 'self' refers to input 0, the instruction has 0 inputs"},
  };
  for (const Case &C : Cases) {
    auto S = goodSections();
    patchInstruction(S, C.Index, C.Patch);
    EXPECT_ERROR_CONTAINS(parseSections(S), C.Needle);
  }
  auto S = goodSections();
  // The operand list follows the instructions; the second entry is y (1).
  patchRecord<uint32_t>(S, SectionKind::Program, sizeof(atalla::abi::ProgramHeader) + 2 * sizeof(atalla::abi::Instruction) + 4,
                        [](uint32_t &T) { T = 6; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "instruction 0 (node 'add'): operand tensor index 6 is out of range (6 tensors)");
}

TEST(Blob, Fallback) {
  const uint64_t CallAt = sizeof(atalla::abi::FallbackHeader);
  const uint64_t ArgAt = CallAt + sizeof(atalla::abi::FallbackCall);
  auto S = goodSections();
  patchRecord<atalla::abi::FallbackArg>(S, SectionKind::Fallback, ArgAt, [](auto &A) { A.First = 1; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "aten::sin: argument 'self' refers to input 1, the instruction has 1 inputs");
  S = goodSections();
  patchRecord<atalla::abi::FallbackArg>(S, SectionKind::Fallback, ArgAt, [](auto &A) { A.Tag = 77; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "fallback call 0 (aten::sin): argument 'self' has unknown tag 77");
  S = goodSections();
  patchRecord<atalla::abi::FallbackArg>(S, SectionKind::Fallback, ArgAt, [](auto &A) {
    A.Tag = static_cast<uint32_t>(atalla::abi::ArgTag::IntList);
    A.First = 0;
    A.Count = 3;
  });
  EXPECT_ERROR_CONTAINS(parseSections(S), "values [0, +3) outside the 0 fallback values");
  S = goodSections();
  patchRecord<atalla::abi::FallbackCall>(S, SectionKind::Fallback, CallAt, [](auto &C) { C.NumArgs = 2; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "arguments [0, +2) outside the 1 fallback arguments");
  S = goodSections();
  patchRecord<atalla::abi::FallbackCall>(S, SectionKind::Fallback, CallAt, [](auto &C) { C.OpOffset = 99999; });
  EXPECT_ERROR_CONTAINS(parseSections(S), "fallback call 0 op: string offset 99999");

  // Tensor lists, string values.
  BlobBuilder B = goodBuilder();
  uint32_t Call = B.beginFallbackCall("aten::cat", "");
  B.addFallbackArg("tensors", atalla::abi::ArgTag::TensorList, {0, 2});
  B.addInstruction(atalla::abi::Opcode::Fallback, Call, {0, 1, 2}, 1, "cat");
  EXPECT_ERROR_CONTAINS(parseSections(B.sections()),
                        "instruction 2 (node 'cat'), aten::cat: argument 'tensors' refers to input 2");
  BlobBuilder B2 = goodBuilder();
  Call = B2.beginFallbackCall("aten::index", "Tensor");
  B2.addFallbackArg("indices", atalla::abi::ArgTag::OptTensorList, {-1, 0});
  B2.addFallbackArg("mode", atalla::abi::ArgTag::String, {1 << 20});
  B2.addInstruction(atalla::abi::Opcode::Fallback, Call, {0, 2}, 1, "index");
  EXPECT_ERROR_CONTAINS(parseSections(B2.sections()), "argument 'mode': string offset 1048576");
}

//===----------------------------------------------------------------------===//
// Hostile bytes: never a crash
//===----------------------------------------------------------------------===//

TEST(Blob, RandomDamageWithFixedChecksumsNeverCrashes) {
  // Damage inside a section (checksums recomputed by assemble), so the
  // damage reaches the record checks; every outcome must be a clean
  // success or a clean error.
  std::mt19937_64 Rng(1234);
  auto Good = goodSections();
  unsigned Errors = 0;
  for (int Iter = 0; Iter < 3000; ++Iter) {
    auto S = Good;
    auto &Sec = S[Rng() % S.size()];
    if (Sec.Bytes.empty())
      continue;
    int Flips = 1 + Rng() % 4;
    for (int F = 0; F < Flips; ++F)
      Sec.Bytes[Rng() % Sec.Bytes.size()] = static_cast<uint8_t>(Rng());
    auto R = parseSections(S);
    if (!R) {
      std::string M = llvm::toString(R.takeError());
      EXPECT_EQ(M.rfind("t.atb: ", 0), 0u) << M;
      ++Errors;
    } else {
      // Whatever passed must be safe to walk.
      for (uint32_t I = 0; I < R->instructions().size(); ++I)
        for (uint32_t T : R->operands(I))
          EXPECT_LT(T, R->tensors().size());
    }
  }
  EXPECT_GT(Errors, 100u);
}

TEST(Blob, RandomHeaderDamageNeverCrashes) {
  std::mt19937_64 Rng(99);
  std::vector<uint8_t> Good = goodBuilder().finish();
  atalla::abi::BlobHeader H = headerOf(Good);
  size_t TableEnd = sizeof(H) + H.SectionCount * sizeof(atalla::abi::SectionEntry);
  for (int Iter = 0; Iter < 3000; ++Iter) {
    std::vector<uint8_t> B = Good;
    int Flips = 1 + Rng() % 3;
    for (int F = 0; F < Flips; ++F) {
      size_t At = 8 + Rng() % (TableEnd - 8); // keep the magic
      if (At >= offsetof(atalla::abi::BlobHeader, HeaderChecksum) && At < offsetof(atalla::abi::BlobHeader, HeaderChecksum) + 8)
        continue;
      B[At] = static_cast<uint8_t>(Rng());
    }
    rehashHeader(B);
    auto R = parseBytes(B);
    if (!R)
      llvm::consumeError(R.takeError());
  }
}

TEST(KernelSpecKey, FusedOperandFlagsRoundTrip) {
  // A gemm with a bias, a column scale (kscale), a residual and relu: the
  // key names each in operand order and parses back to the same flags.
  atalla::abi::KernelSpec S;
  S.Kernel = atalla::abi::KernelId::gemm;
  S.HasBias = S.HasScale = S.HasResidual = true;
  S.Post = atalla::abi::Epilogue::Relu;
  S.Operands = {{{2, 8, 4}, {32, 4, 1}}, {{2, 4, 6}, {24, 6, 1}}, {{2, 8, 6}, {0, 1, 0}},
                {{2, 1, 4}, {4, 0, 1}}, {{2, 8, 6}, {48, 6, 1}}, {{2, 8, 6}, {48, 6, 1}}};
  const std::string Key = S.key();
  EXPECT_NE(Key.find(" bias kscale residual relu"), std::string::npos) << Key;
  atalla::abi::KernelSpec Back;
  ASSERT_TRUE(atalla::abi::KernelSpec::parse(Key, Back)) << Key;
  EXPECT_TRUE(Back.HasBias && Back.HasScale && Back.HasResidual) << Key;
  EXPECT_EQ(Back.Post, atalla::abi::Epilogue::Relu);
  EXPECT_EQ(Back.key(), Key);
  S.HasScale = false;
  ASSERT_TRUE(atalla::abi::KernelSpec::parse(S.key(), Back));
  EXPECT_FALSE(Back.HasScale);
}

TEST(KernelSpecKey, ElementTypesRoundTripAndAreChecked) {
  // Blobs record keys; atalla-run parses them back. f32 operands keep the
  // keys they always had; other types follow the bracket.
  atalla::abi::KernelSpec S;
  S.Kernel = atalla::abi::KernelId::convert;
  S.Operands = {{{10, 64}, {64, 1}, atalla::abi::DType::U8}, {{10, 64}, {64, 1}, atalla::abi::DType::F32}};
  EXPECT_EQ(S.key(), "convert f32 [10,64:64,1]u8 -> [10,64:64,1]");
  atalla::abi::KernelSpec Back;
  ASSERT_TRUE(atalla::abi::KernelSpec::parse(S.key(), Back));
  EXPECT_EQ(Back.Operands[0].Type, atalla::abi::DType::U8);
  EXPECT_EQ(Back.key(), S.key());
  EXPECT_EQ(S.typeError(), "");
  for (const char *Bad : {"convert f32 [4:1]u16 -> [4:1]", "convert f32 [4:1]f32 -> [4:1]", "copy f32 [4:1]x -> [4:1]"})
    EXPECT_FALSE(atalla::abi::KernelSpec::parse(Bad, Back)) << Bad;
  // Each kernel's types: comparisons give bool, copies keep the type,
  // everything else is f32 throughout.
  atalla::abi::KernelSpec Ge;
  Ge.Kernel = atalla::abi::KernelId::ge;
  Ge.Operands = {{{4}, {1}}, {{4}, {1}}, {{4}, {1}}};
  EXPECT_EQ(Ge.typeError(), "the output is f32, not bool");
  Ge.Operands[2].Type = atalla::abi::DType::Bool;
  EXPECT_EQ(Ge.typeError(), "");
  EXPECT_EQ(Ge.key(), "ge f32 [4:1] [4:1] -> [4:1]bool");
  atalla::abi::KernelSpec Cp;
  Cp.Kernel = atalla::abi::KernelId::copy;
  Cp.Operands = {{{4}, {2}, atalla::abi::DType::I64}, {{4}, {1}, atalla::abi::DType::I32}};
  EXPECT_NE(Cp.typeError().find("copy converts no element types"), std::string::npos);
  atalla::abi::KernelSpec Add;
  Add.Kernel = atalla::abi::KernelId::add;
  Add.Operands = {{{4}, {1}, atalla::abi::DType::I64}, {{4}, {1}}, {{4}, {1}}};
  EXPECT_EQ(Add.typeError(), "operand 0 is i64, not f32");
}

TEST(KernelSpecKey, Bf16PrecisionRoundTripsAndStoresOnlyF32Operands) {
  // A bf16 kernel says so in its second word; its f32 operands live in DRAM
  // as bf16, its other operands keep their types.
  atalla::abi::KernelSpec S;
  S.Kernel = atalla::abi::KernelId::convert;
  S.Type = atalla::abi::DType::BF16;
  S.Operands = {{{4}, {1}, atalla::abi::DType::U8}, {{4}, {1}, atalla::abi::DType::F32}};
  EXPECT_EQ(S.key(), "convert bf16 [4:1]u8 -> [4:1]");
  EXPECT_EQ(S.typeError(), "");
  EXPECT_FALSE(S.storedAsBf16(0));
  EXPECT_TRUE(S.storedAsBf16(1));
  atalla::abi::KernelSpec Back;
  ASSERT_TRUE(atalla::abi::KernelSpec::parse(S.key(), Back));
  EXPECT_EQ(Back.Type, atalla::abi::DType::BF16);
  EXPECT_EQ(Back.key(), S.key());
  EXPECT_NE(Back.symbol(), (S.Type = atalla::abi::DType::F32, S.symbol())); // twins are distinct kernels
  EXPECT_FALSE(atalla::abi::KernelSpec::parse("relu fp16 [4:1] -> [4:1]", Back));
  EXPECT_FALSE(atalla::abi::KernelSpec::parse("relu f32 [4:1]bf16 -> [4:1]", Back)); // no operand type
  atalla::abi::KernelSpec Bad;
  Bad.Kernel = atalla::abi::KernelId::relu;
  Bad.Operands = {{{4}, {1}, atalla::abi::DType::BF16}, {{4}, {1}}};
  EXPECT_NE(Bad.typeError().find("bf16, which is a kernel's storage precision"), std::string::npos) << Bad.typeError();
}

TEST(KernelSpecKey, ParamsAreCheckedPerKernel) {
  using atalla::abi::KernelId;
  auto spec = [](KernelId K, std::vector<int64_t> Params) {
    atalla::abi::KernelSpec S;
    S.Kernel = K;
    S.Operands = {{{4}, {1}}, {{4}, {1}}};
    S.Params = std::move(Params);
    return S;
  };
  const int64_t Half = atalla::abi::f32Bits(0.5f);
  EXPECT_EQ(atalla::abi::f32FromBits(Half), 0.5f);
  EXPECT_EQ(spec(KernelId::leaky_relu, {Half}).paramsError(), "");
  EXPECT_EQ(spec(KernelId::leaky_relu, {Half}).paramF32(0), 0.5f);
  EXPECT_EQ(spec(KernelId::clamp, {Half, Half}).paramsError(), "");
  EXPECT_EQ(spec(KernelId::clamp, {Half}).paramsError(), "expected 2 param(s), got 1");
  EXPECT_EQ(spec(KernelId::leaky_relu, {-1}).paramsError(), "a param is not the bits of an f32");
  EXPECT_EQ(spec(KernelId::powi, {3}).paramsError(), "");
  EXPECT_EQ(spec(KernelId::powi, {4}).paramsError(), "powi takes the exponents 3, -1 and -2");
  EXPECT_NE(spec(KernelId::relu, {Half}).paramsError().find("params are only meaningful"), std::string::npos);
  // A chain's steps: four numbers each, a binary op's source an input.
  EXPECT_NE(spec(KernelId::chain, {2, -1, 0}).paramsError().find("four params per step"), std::string::npos);
  EXPECT_NE(spec(KernelId::chain, {4, 5, 0, 0}).paramsError().find("not an input"), std::string::npos);
  EXPECT_NE(spec(KernelId::chain, {3, -1, 0, 0}).paramsError().find("softmax can not be chained"), std::string::npos);
  EXPECT_EQ(spec(KernelId::chain, {2, -1, 0, 0}).paramsError(), "");
}

TEST(Blob, FuzzFindingsAreCleanErrors) {
  // The blob loader's libFuzzer findings (tests/data/fuzz-regressions/blob-*;
  // tests/frontend/FuzzRegressionTest.cpp replays the readers' ones). None
  // so far; each new one must parse or fail with a message, never crash.
  const std::string Dir = std::string(test::builtSourceDir()) + "/tests/data/fuzz-regressions";
  std::error_code EC;
  for (llvm::sys::fs::directory_iterator It(Dir, EC), End; It != End && !EC; It.increment(EC)) {
    if (!llvm::sys::path::filename(It->path()).starts_with("blob-"))
      continue;
    SCOPED_TRACE(It->path());
    auto B = Blob::parse(test::readFileBytes(It->path()), "finding.atb");
    if (!B) {
      EXPECT_EQ(llvm::toString(B.takeError()).rfind("finding.atb: ", 0), 0u);
    }
  }
  EXPECT_FALSE(EC) << Dir << ": " << EC.message();
}
