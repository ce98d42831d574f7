//===- runtime/Blob.cpp - read and validate a format-1 blob -------------===//
//
// All validation happens here, once, in the order the format nests: header,
// section table, sections and their checksums, then the records (strings,
// kernels, tensors, fallback calls, program), each check overflow-safe.
//
//===----------------------------------------------------------------------===//
#include "runtime/Blob.h"
#include "runtime/abi/SchemaEnums.h"

#include "runtime/abi/KernelAbi.h"
#include "runtime/abi/KernelSpec.h"
#include "runtime/abi/Kernels.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace atalla;
using namespace atalla::runtime;
using abi::SectionKind;

namespace {

const char *sectionName(uint32_t K) {
  switch (static_cast<SectionKind>(K)) {
  case SectionKind::Code: return "Code";
  case SectionKind::Kernels: return "Kernels";
  case SectionKind::Tensors: return "Tensors";
  case SectionKind::Program: return "Program";
  case SectionKind::Fallback: return "Fallback";
  case SectionKind::Constants: return "Constants";
  case SectionKind::Strings: return "Strings";
  case SectionKind::Provenance: return "Provenance";
  case SectionKind::SampleInputs: return "SampleInputs";
  }
  return nullptr;
}

template <typename T> T loadPod(const uint8_t *P) {
  T V;
  std::memcpy(&V, P, sizeof(T));
  return V;
}

template <typename T> std::vector<T> loadArray(const uint8_t *P, uint64_t N) {
  std::vector<T> V(N);
  if (N)
    std::memcpy(V.data(), P, N * sizeof(T));
  return V;
}

/// Whether [Off, Off + Size) lies inside [0, Limit), without overflow.
bool inside(uint64_t Off, uint64_t Size, uint64_t Limit) { return Off <= Limit && Size <= Limit - Off; }

bool mulOverflow(uint64_t A, uint64_t B, uint64_t &R) { return __builtin_mul_overflow(A, B, &R); }

const char *tensorKindName(uint32_t K) {
  switch (K) {
  case 1: return "input";
  case 2: return "output";
  case 3: return "constant";
  case 4: return "intermediate";
  }
  return "tensor";
}

bool isKnownTag(uint32_t T) { return T <= static_cast<uint32_t>(abi::ArgTag::Device); }

} // namespace

//===----------------------------------------------------------------------===//
// Free helpers
//===----------------------------------------------------------------------===//

uint64_t runtime::dtypeElementSize(uint32_t DType) { return abi::blobDTypeBytes(DType); }

std::string runtime::dtypeName(uint32_t DType) {
  const char *Name = abi::blobDTypeName(DType);
  return Name ? Name : "dtype " + std::to_string(DType);
}

std::string runtime::formatShape(llvm::ArrayRef<int64_t> Sizes) {
  std::string S = "[";
  for (size_t I = 0; I < Sizes.size(); ++I)
    S += (I ? ", " : "") + std::to_string(Sizes[I]);
  return S + "]";
}

uint64_t runtime::recordNumel(const abi::TensorRecord &R) {
  uint64_t N = 1;
  for (int64_t S : recordSizes(R))
    N *= static_cast<uint64_t>(S);
  return N;
}

uint64_t runtime::recordExtent(const abi::TensorRecord &R, uint64_t ElemBytes) {
  if (!R.IsView)
    return R.Bytes;
  uint64_t Last = 0;
  for (uint32_t D = 0; D < R.Rank; ++D) {
    if (R.Sizes[D] == 0)
      return 0;
    Last += static_cast<uint64_t>(R.Sizes[D] - 1) * static_cast<uint64_t>(R.Strides[D]);
  }
  return (Last + 1) * ElemBytes;
}

bool runtime::recordIsContiguous(const abi::TensorRecord &R) {
  if (!R.IsView)
    return true;
  int64_t Expected = 1;
  for (uint32_t D = R.Rank; D-- > 0;) {
    if (R.Sizes[D] != 1 && R.Strides[D] != Expected)
      return false;
    Expected *= R.Sizes[D];
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Accessors
//===----------------------------------------------------------------------===//

llvm::ArrayRef<uint8_t> Blob::section(SectionKind K) const {
  int I = SectionIndex[static_cast<uint32_t>(K)];
  if (I < 0)
    return {};
  return llvm::ArrayRef<uint8_t>(Bytes.data() + Sections[I].Offset, Sections[I].Size);
}

bool Blob::hasSection(SectionKind K) const { return SectionIndex[static_cast<uint32_t>(K)] >= 0; }

double runtime::bf16Tolerance(int64_t N) { return std::ldexp(1.0, -8) * (6 + std::log2(double(std::max<int64_t>(N, 1)))); }

int64_t Blob::longestReduction() const {
  int64_t N = 1;
  for (const abi::KernelRecord &K : Kernels) {
    abi::KernelSpec S;
    if (!abi::KernelSpec::parse(string(K.KeyOffset).str(), S) || S.Operands.empty())
      continue;
    int64_t L = 1;
    switch (S.family()) {
    case abi::KernelFamily::Gemm:
      L = S.Operands[0].Sizes.empty() ? 1 : S.Operands[0].Sizes.back();
      break;
    case abi::KernelFamily::Softmax:
      L = S.Dim >= 0 && size_t(S.Dim) < S.output().Sizes.size() ? S.output().Sizes[size_t(S.Dim)] : 1;
      break;
    case abi::KernelFamily::Norm:
      L = S.output().Sizes.size() > 1 ? S.output().Sizes[1] : 1;
      break;
    case abi::KernelFamily::Reduce:
      L = S.Operands[0].Sizes.size() > 1 ? S.Operands[0].Sizes[1] : 1;
      break;
    default:
      break;
    }
    N = std::max(N, L);
  }
  return N;
}

llvm::ArrayRef<uint8_t> Blob::kernelObject(uint32_t I) const {
  return section(SectionKind::Code).slice(Kernels[I].CodeOffset, Kernels[I].CodeSize);
}

llvm::ArrayRef<uint8_t> Blob::sampleInput(uint32_t I) const {
  if (SampleOffsets.empty())
    return {};
  const abi::TensorRecord &R = Tensors[InputIdx[I]];
  return section(SectionKind::SampleInputs).slice(SampleOffsets[I], recordNumel(R) * dtypeElementSize(R.DType));
}

llvm::ArrayRef<uint32_t> Blob::operands(uint32_t I) const {
  return llvm::ArrayRef<uint32_t>(Operands).slice(Instructions[I].FirstOperand, Instructions[I].NumOperands);
}

llvm::ArrayRef<abi::FallbackArg> Blob::fallbackArgs(const abi::FallbackCall &C) const {
  return llvm::ArrayRef<abi::FallbackArg>(Args).slice(C.FirstArg, C.NumArgs);
}

double Blob::fallbackFloat(uint32_t J) const {
  double D;
  std::memcpy(&D, &Values[J], 8);
  return D;
}

std::string Blob::fallbackOpName(uint32_t I) const {
  std::string S = string(Calls[I].OpOffset).str();
  llvm::StringRef O = string(Calls[I].OverloadOffset);
  if (!O.empty())
    S += "." + O.str();
  return S;
}

llvm::StringRef Blob::string(uint32_t Offset) const {
  llvm::ArrayRef<uint8_t> S = section(SectionKind::Strings);
  if (Offset >= S.size())
    return "";
  const char *P = reinterpret_cast<const char *>(S.data()) + Offset;
  const void *Nul = std::memchr(P, 0, S.size() - Offset);
  if (!Nul)
    return "";
  return llvm::StringRef(P, static_cast<const char *>(Nul) - P);
}

std::optional<std::string> Blob::provenance(llvm::StringRef Key) const {
  for (const auto &[K, V] : Provenance)
    if (K == Key)
      return V;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Parsing and validation
//===----------------------------------------------------------------------===//

llvm::Error Blob::fail(const llvm::Twine &Msg) const {
  return llvm::make_error<llvm::StringError>(Name + ": " + Msg, llvm::inconvertibleErrorCode());
}

llvm::Expected<Blob> Blob::readFile(llvm::StringRef Path, const BlobLimits &L) {
  auto Buf = llvm::MemoryBuffer::getFile(Path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!Buf)
    return llvm::make_error<llvm::StringError>(Path + ": cannot read: " + Buf.getError().message(),
                                               llvm::inconvertibleErrorCode());
  if ((*Buf)->getBufferSize() > L.MaxFileBytes)
    return llvm::make_error<llvm::StringError>(
        Path + ": " + std::to_string((*Buf)->getBufferSize()) + " bytes is larger than the limit of " +
            std::to_string(L.MaxFileBytes),
        llvm::inconvertibleErrorCode());
  const auto *Start = reinterpret_cast<const uint8_t *>((*Buf)->getBufferStart());
  return parse(std::vector<uint8_t>(Start, Start + (*Buf)->getBufferSize()), Path.str(), L);
}

llvm::Expected<Blob> Blob::parse(std::vector<uint8_t> Bytes, std::string Name, const BlobLimits &L) {
  Blob B;
  B.Name = std::move(Name);
  B.Bytes = std::move(Bytes);
  std::fill(std::begin(B.SectionIndex), std::end(B.SectionIndex), -1);
  if (llvm::Error E = B.validate(L))
    return E;
  return B;
}

llvm::Error Blob::validate(const BlobLimits &L) {
  if (llvm::Error E = validateSections(L))
    return E;
  // Strings and Provenance first: the records refer to them.
  llvm::ArrayRef<uint8_t> Str = section(SectionKind::Strings);
  if (Str.empty() || Str.back() != 0)
    return fail("section 'Strings' is empty or does not end with NUL");
  llvm::ArrayRef<uint8_t> Prov = section(SectionKind::Provenance);
  llvm::StringRef Text(reinterpret_cast<const char *>(Prov.data()), Prov.size());
  unsigned Line = 0;
  while (!Text.empty()) {
    ++Line;
    auto [L1, Rest] = Text.split('\n');
    Text = Rest;
    if (L1.empty())
      continue;
    size_t Eq = L1.find('=');
    if (Eq == llvm::StringRef::npos)
      return fail("provenance line " + llvm::Twine(Line) + " is not key=value");
    Provenance.push_back({L1.substr(0, Eq).str(), L1.substr(Eq + 1).str()});
  }
  if (llvm::Error E = validateKernels())
    return E;
  if (llvm::Error E = validateTensors())
    return E;
  if (llvm::Error E = validateFallback())
    return E;
  return validateProgram(L);
}

llvm::Error Blob::validateSections(const BlobLimits &L) {
  const uint64_t Size = Bytes.size();
  if (Size > L.MaxFileBytes)
    return fail(llvm::Twine(Size) + " bytes is larger than the limit of " + llvm::Twine(L.MaxFileBytes));
  if (Size < sizeof(abi::BlobHeader))
    return fail("truncated: " + llvm::Twine(Size) + " bytes, a blob header alone needs " +
                llvm::Twine(sizeof(abi::BlobHeader)));
  Header = loadPod<abi::BlobHeader>(Bytes.data());
  if (std::memcmp(Header.Magic, abi::BlobMagic, sizeof(abi::BlobMagic)) != 0)
    return fail("not an Atalla blob (bad magic)");
  if (Header.Version != abi::BlobFormatVersion)
    return fail("blob format version " + llvm::Twine(Header.Version) + " is not supported (this runtime reads version " +
                llvm::Twine(abi::BlobFormatVersion) + ")");
  if (Header.HeaderBytes != sizeof(abi::BlobHeader))
    return fail("header size " + llvm::Twine(Header.HeaderBytes) + ", expected " +
                llvm::Twine(sizeof(abi::BlobHeader)));
  if (Header.FileBytes != Size)
    return fail("file size mismatch: the header says " + llvm::Twine(Header.FileBytes) + " bytes, the file has " +
                llvm::Twine(Size) + " (truncated or padded?)");
  if (Header.Flags & ~abi::BlobKnownFlags)
    return fail(llvm::formatv("unknown header flags {0:x}", Header.Flags & ~abi::BlobKnownFlags).str());
  if (Header.KernelAbi != abi::KernelAbiVersion)
    return fail("kernel ABI version " + llvm::Twine(Header.KernelAbi) + " is not supported (this runtime runs version " +
                llvm::Twine(abi::KernelAbiVersion) + ")");
  if (Header.SectionCount > L.MaxSections)
    return fail(llvm::Twine(Header.SectionCount) + " sections is more than the limit of " + llvm::Twine(L.MaxSections));
  const uint64_t TableEnd = sizeof(abi::BlobHeader) + uint64_t(Header.SectionCount) * sizeof(abi::SectionEntry);
  if (TableEnd > Size)
    return fail("section table (" + llvm::Twine(Header.SectionCount) + " entries) runs past the end of the file");

  // Header checksum: header with the checksum field zero, then the table.
  std::vector<uint8_t> Head(Bytes.begin(), Bytes.begin() + TableEnd);
  std::memset(Head.data() + offsetof(abi::BlobHeader, HeaderChecksum), 0, sizeof(uint64_t));
  if (abi::fnv1a64(Head.data(), Head.size()) != Header.HeaderChecksum)
    return fail("header checksum mismatch (header or section table damaged)");
  if (Header.DramBytes > L.MaxDramBytes)
    return fail("needs " + llvm::Twine(Header.DramBytes) + " bytes of DRAM, more than the limit of " +
                llvm::Twine(L.MaxDramBytes));

  Sections = loadArray<abi::SectionEntry>(Bytes.data() + sizeof(abi::BlobHeader), Header.SectionCount);
  for (uint32_t I = 0; I < Sections.size(); ++I) {
    const abi::SectionEntry &S = Sections[I];
    const char *KN = sectionName(S.Kind);
    if (!KN)
      return fail("section " + llvm::Twine(I) + " has unknown kind " + llvm::Twine(S.Kind));
    std::string What = std::string("section '") + KN + "'";
    if (SectionIndex[S.Kind] >= 0)
      return fail("duplicate " + What);
    SectionIndex[S.Kind] = static_cast<int>(I);
    if (S.Offset % abi::BlobAlignment != 0)
      return fail(What + " at offset " + llvm::Twine(S.Offset) + " is not " + llvm::Twine(abi::BlobAlignment) +
                  "-byte aligned");
    if (!inside(S.Offset, S.Size, Size))
      return fail(What + " [" + llvm::Twine(S.Offset) + ", +" + llvm::Twine(S.Size) + ") lies outside the file (" +
                  llvm::Twine(Size) + " bytes)");
    if (S.Offset < TableEnd)
      return fail(What + " at offset " + llvm::Twine(S.Offset) + " overlaps the header or section table");
  }
  // No two sections share a byte.
  std::vector<uint32_t> Order(Sections.size());
  for (uint32_t I = 0; I < Order.size(); ++I)
    Order[I] = I;
  std::sort(Order.begin(), Order.end(),
            [&](uint32_t A, uint32_t B) { return Sections[A].Offset < Sections[B].Offset; });
  for (size_t I = 1; I < Order.size(); ++I) {
    const abi::SectionEntry &A = Sections[Order[I - 1]], &B = Sections[Order[I]];
    if (A.Size && B.Size && A.Offset + A.Size > B.Offset)
      return fail(std::string("sections '") + sectionName(A.Kind) + "' and '" + sectionName(B.Kind) + "' overlap");
  }
  // The alignment padding between and after sections is covered by no
  // checksum: it must be zero, so that every byte of the file is checked.
  {
    uint64_t Cursor = TableEnd;
    auto CheckZero = [&](uint64_t From, uint64_t To) -> llvm::Error {
      for (uint64_t At = From; At < To; ++At)
        if (Bytes[At] != 0)
          return fail("padding byte at offset " + llvm::Twine(At) + " is not zero (damage outside every section)");
      return llvm::Error::success();
    };
    for (uint32_t I : Order) {
      const abi::SectionEntry &S = Sections[I];
      if (S.Offset > Cursor)
        if (llvm::Error E = CheckZero(Cursor, S.Offset))
          return E;
      Cursor = std::max<uint64_t>(Cursor, S.Offset + S.Size);
    }
    if (llvm::Error E = CheckZero(Cursor, Size))
      return E;
  }
  for (SectionKind K : {SectionKind::Code, SectionKind::Kernels, SectionKind::Tensors, SectionKind::Program,
                        SectionKind::Strings, SectionKind::Provenance})
    if (!hasSection(K))
      return fail(std::string("required section '") + sectionName(static_cast<uint32_t>(K)) + "' is missing");
  for (const abi::SectionEntry &S : Sections)
    if (abi::fnv1a64(Bytes.data() + S.Offset, S.Size) != S.Checksum)
      return fail(std::string("section '") + sectionName(S.Kind) + "' checksum mismatch");
  return llvm::Error::success();
}

llvm::Error Blob::checkString(uint32_t Offset, const llvm::Twine &What) const {
  llvm::ArrayRef<uint8_t> S = section(SectionKind::Strings);
  if (Offset >= S.size())
    return fail(What + ": string offset " + llvm::Twine(Offset) + " is outside section 'Strings' (" +
                llvm::Twine(S.size()) + " bytes)");
  if (!std::memchr(S.data() + Offset, 0, S.size() - Offset))
    return fail(What + ": string at offset " + llvm::Twine(Offset) + " is not NUL-terminated");
  return llvm::Error::success();
}

llvm::Error Blob::validateKernels() {
  llvm::ArrayRef<uint8_t> K = section(SectionKind::Kernels);
  if (K.size() % sizeof(abi::KernelRecord))
    return fail("section 'Kernels' is " + llvm::Twine(K.size()) + " bytes, not a whole number of " +
                llvm::Twine(sizeof(abi::KernelRecord)) + "-byte records");
  Kernels = loadArray<abi::KernelRecord>(K.data(), K.size() / sizeof(abi::KernelRecord));
  const uint64_t CodeSize = section(SectionKind::Code).size();
  for (uint32_t I = 0; I < Kernels.size(); ++I) {
    const abi::KernelRecord &R = Kernels[I];
    std::string What = "kernel record " + std::to_string(I);
    if (!abi::isKnownKernel(R.KernelId))
      return fail(What + ": unknown kernel id " + llvm::Twine(R.KernelId) + " (not in this runtime's Kernels.def)");
    What += " (" + std::string(abi::kernelName(static_cast<abi::KernelId>(R.KernelId))) + ")";
    if (R.CodeSize == 0 || !inside(R.CodeOffset, R.CodeSize, CodeSize))
      return fail(What + ": code [" + llvm::Twine(R.CodeOffset) + ", +" + llvm::Twine(R.CodeSize) +
                  ") is empty or outside section 'Code' (" + llvm::Twine(CodeSize) + " bytes)");
    if (llvm::Error E = checkString(R.SymbolOffset, What + " symbol"))
      return E;
    if (llvm::Error E = checkString(R.KeyOffset, What + " key"))
      return E;
    if (string(R.SymbolOffset).empty())
      return fail(What + ": empty symbol name");
  }
  return llvm::Error::success();
}

llvm::Error Blob::validateTensors() {
  llvm::ArrayRef<uint8_t> T = section(SectionKind::Tensors);
  if (T.size() % sizeof(abi::TensorRecord))
    return fail("section 'Tensors' is " + llvm::Twine(T.size()) + " bytes, not a whole number of " +
                llvm::Twine(sizeof(abi::TensorRecord)) + "-byte records");
  Tensors = loadArray<abi::TensorRecord>(T.data(), T.size() / sizeof(abi::TensorRecord));
  const uint64_t Dram = Header.DramBytes;
  const uint64_t ConstSize = section(SectionKind::Constants).size();
  std::vector<std::pair<uint32_t, uint32_t>> Ins, Outs; // (UserIndex, tensor)
  for (uint32_t I = 0; I < Tensors.size(); ++I) {
    const abi::TensorRecord &R = Tensors[I];
    std::string What = "tensor " + std::to_string(I);
    if (llvm::Error E = checkString(R.NameOffset, What + " name"))
      return E;
    What += " ('" + string(R.NameOffset).str() + "')";
    if (R.Kind < 1 || R.Kind > 4)
      return fail(What + ": unknown tensor kind " + llvm::Twine(R.Kind));
    if (R.Rank > abi::MaxTensorRank)
      return fail(What + ": rank " + llvm::Twine(R.Rank) + " is more than " + llvm::Twine(abi::MaxTensorRank));
    const uint64_t Elem = storageElementSize(R.DType);
    if (!Elem)
      return fail(What + ": unknown dtype number " + llvm::Twine(R.DType));
    uint64_t Numel = 1, Last = 0;
    bool Empty = false;
    for (uint32_t D = 0; D < R.Rank; ++D) {
      if (R.Sizes[D] < 0)
        return fail(What + ": negative size " + llvm::Twine(R.Sizes[D]) + " in dimension " + llvm::Twine(D));
      if (R.IsView && R.Strides[D] < 0)
        return fail(What + ": negative stride " + llvm::Twine(R.Strides[D]) + " in dimension " + llvm::Twine(D));
      if (mulOverflow(Numel, static_cast<uint64_t>(R.Sizes[D]), Numel))
        return fail(What + ": element count overflows");
      if (R.Sizes[D] == 0) {
        Empty = true;
        continue;
      }
      if (!R.IsView)
        continue;
      uint64_t Span;
      if (mulOverflow(static_cast<uint64_t>(R.Sizes[D] - 1), static_cast<uint64_t>(R.Strides[D]), Span) ||
          __builtin_add_overflow(Last, Span, &Last))
        return fail(What + ": strided extent overflows");
    }
    uint64_t NBytes;
    if (mulOverflow(Numel, Elem, NBytes))
      return fail(What + ": byte size overflows");
    uint64_t Extent = 0; // bytes from DramAddr the tensor touches
    if (R.IsView > 1)
      return fail(What + ": IsView is " + llvm::Twine(R.IsView) + ", expected 0 or 1");
    if (!R.IsView) {
      if (R.Bytes != NBytes)
        return fail(What + ": Bytes is " + llvm::Twine(R.Bytes) + " but " + formatShape(recordSizes(R)) + " " +
                    dtypeName(R.DType) + " needs " + llvm::Twine(NBytes));
      if (R.DramAddr % abi::BlobAlignment)
        return fail(What + ": DRAM address " + llvm::Twine(R.DramAddr) + " is not " +
                    llvm::Twine(abi::BlobAlignment) + "-byte aligned");
      Extent = NBytes;
    } else if (!Empty) {
      if (__builtin_add_overflow(Last, 1, &Last) || mulOverflow(Last, Elem, Extent))
        return fail(What + ": strided extent overflows");
    }
    if (!inside(R.DramAddr, Extent, Dram))
      return fail(What + ": bytes [" + llvm::Twine(R.DramAddr) + ", +" + llvm::Twine(Extent) +
                  ") lie outside DRAM (" + llvm::Twine(Dram) + " bytes)");
    auto Kind = static_cast<abi::TensorKind>(R.Kind);
    if ((Kind == abi::TensorKind::Input || Kind == abi::TensorKind::Constant) && R.IsView)
      return fail(What + ": " + tensorKindName(R.Kind) + " can not be a view");
    if (Kind == abi::TensorKind::Constant && !inside(R.ConstantOffset, R.Bytes, ConstSize))
      return fail(What + ": constant bytes [" + llvm::Twine(R.ConstantOffset) + ", +" + llvm::Twine(R.Bytes) +
                  ") lie outside section 'Constants' (" + llvm::Twine(ConstSize) + " bytes)");
    if (Kind == abi::TensorKind::Input)
      Ins.push_back({R.UserIndex, I});
    if (Kind == abi::TensorKind::Output)
      Outs.push_back({R.UserIndex, I});
  }
  for (auto *List : {&Ins, &Outs}) {
    std::sort(List->begin(), List->end());
    std::vector<uint32_t> &Dst = List == &Ins ? InputIdx : OutputIdx;
    for (uint32_t I = 0; I < List->size(); ++I) {
      if ((*List)[I].first != I)
        return fail(std::string(List == &Ins ? "input" : "output") + " user indices are not 0.." +
                    std::to_string(List->size() - 1) + " (tensor " + std::to_string((*List)[I].second) +
                    " has user index " + std::to_string((*List)[I].first) + ")");
      Dst.push_back((*List)[I].second);
    }
  }
  if (hasSection(SectionKind::SampleInputs)) {
    // Contiguous inputs in input order, each 64-byte aligned.
    uint64_t Off = 0;
    for (uint32_t T : InputIdx) {
      Off = (Off + abi::BlobAlignment - 1) / abi::BlobAlignment * abi::BlobAlignment;
      SampleOffsets.push_back(Off);
      Off += recordNumel(Tensors[T]) * dtypeElementSize(Tensors[T].DType); // user form: bf16 blobs too
    }
    uint64_t Have = section(SectionKind::SampleInputs).size();
    if (Off != Have)
      return fail("section 'SampleInputs' is " + llvm::Twine(Have) + " bytes, the " + llvm::Twine(InputIdx.size()) +
                  " inputs need " + llvm::Twine(Off));
  }
  return llvm::Error::success();
}

llvm::Error Blob::validateFallback() {
  if (!hasSection(SectionKind::Fallback))
    return llvm::Error::success();
  llvm::ArrayRef<uint8_t> F = section(SectionKind::Fallback);
  if (F.size() < sizeof(abi::FallbackHeader))
    return fail("section 'Fallback' is too small for its header");
  auto H = loadPod<abi::FallbackHeader>(F.data());
  uint64_t Want = sizeof(abi::FallbackHeader) + uint64_t(H.CallCount) * sizeof(abi::FallbackCall) +
                  uint64_t(H.ArgCount) * sizeof(abi::FallbackArg) + uint64_t(H.ValueCount) * 8;
  if (Want != F.size())
    return fail("section 'Fallback' is " + llvm::Twine(F.size()) + " bytes, its counts (" + llvm::Twine(H.CallCount) +
                " calls, " + llvm::Twine(H.ArgCount) + " args, " + llvm::Twine(H.ValueCount) + " values) need " +
                llvm::Twine(Want));
  const uint8_t *P = F.data() + sizeof(abi::FallbackHeader);
  Calls = loadArray<abi::FallbackCall>(P, H.CallCount);
  P += uint64_t(H.CallCount) * sizeof(abi::FallbackCall);
  Args = loadArray<abi::FallbackArg>(P, H.ArgCount);
  P += uint64_t(H.ArgCount) * sizeof(abi::FallbackArg);
  Values = loadArray<uint64_t>(P, H.ValueCount);
  for (uint32_t I = 0; I < Calls.size(); ++I) {
    const abi::FallbackCall &C = Calls[I];
    std::string What = "fallback call " + std::to_string(I);
    if (llvm::Error E = checkString(C.OpOffset, What + " op"))
      return E;
    if (llvm::Error E = checkString(C.OverloadOffset, What + " overload"))
      return E;
    What += " (" + fallbackOpName(I) + ")";
    if (!inside(C.FirstArg, C.NumArgs, Args.size()))
      return fail(What + ": arguments [" + llvm::Twine(C.FirstArg) + ", +" + llvm::Twine(C.NumArgs) +
                  ") outside the " + llvm::Twine(Args.size()) + " fallback arguments");
    for (const abi::FallbackArg &A : fallbackArgs(C)) {
      if (llvm::Error E = checkString(A.NameOffset, What + " argument name"))
        return E;
      std::string AW = What + ": argument '" + string(A.NameOffset).str() + "'";
      if (!isKnownTag(A.Tag))
        return fail(AW + " has unknown tag " + llvm::Twine(A.Tag));
      auto Tag = static_cast<abi::ArgTag>(A.Tag);
      if (Tag == abi::ArgTag::None || Tag == abi::ArgTag::Tensor)
        continue; // Tensor positions are checked per instruction.
      bool List = Tag == abi::ArgTag::TensorList || Tag == abi::ArgTag::OptTensorList ||
                  Tag == abi::ArgTag::IntList || Tag == abi::ArgTag::FloatList || Tag == abi::ArgTag::BoolList;
      if ((!List && A.Count != 1) || !inside(A.First, A.Count, Values.size()))
        return fail(AW + ": values [" + llvm::Twine(A.First) + ", +" + llvm::Twine(A.Count) +
                    ") outside the " + llvm::Twine(Values.size()) + " fallback values");
      if (Tag == abi::ArgTag::String || Tag == abi::ArgTag::Device) {
        uint64_t Off = Values[A.First];
        if (Off > UINT32_MAX)
          return fail(AW + ": string offset " + llvm::Twine(Off) + " is outside section 'Strings'");
        if (llvm::Error E = checkString(static_cast<uint32_t>(Off), AW))
          return E;
      }
    }
  }
  return llvm::Error::success();
}

llvm::Error Blob::validateProgram(const BlobLimits &L) {
  llvm::ArrayRef<uint8_t> P = section(SectionKind::Program);
  if (P.size() < sizeof(abi::ProgramHeader))
    return fail("section 'Program' is too small for its header");
  auto H = loadPod<abi::ProgramHeader>(P.data());
  if (H.InstructionCount > L.MaxInstructions || H.OperandCount > L.MaxOperands)
    return fail("section 'Program' has " + llvm::Twine(H.InstructionCount) + " instructions and " +
                llvm::Twine(H.OperandCount) + " operands, more than the limits");
  uint64_t Want = sizeof(abi::ProgramHeader) + uint64_t(H.InstructionCount) * sizeof(abi::Instruction) +
                  uint64_t(H.OperandCount) * 4;
  if (Want != P.size())
    return fail("section 'Program' is " + llvm::Twine(P.size()) + " bytes, its counts (" +
                llvm::Twine(H.InstructionCount) + " instructions, " + llvm::Twine(H.OperandCount) +
                " operands) need " + llvm::Twine(Want));
  Instructions = loadArray<abi::Instruction>(P.data() + sizeof(abi::ProgramHeader), H.InstructionCount);
  Operands = loadArray<uint32_t>(P.data() + sizeof(abi::ProgramHeader) +
                                     uint64_t(H.InstructionCount) * sizeof(abi::Instruction),
                                 H.OperandCount);
  for (uint32_t I = 0; I < Instructions.size(); ++I) {
    const abi::Instruction &In = Instructions[I];
    std::string What = "instruction " + std::to_string(I);
    if (llvm::Error E = checkString(In.NodeOffset, What + " node name"))
      return E;
    What += " (node '" + string(In.NodeOffset).str() + "')";
    if (!inside(In.FirstOperand, In.NumOperands, Operands.size()))
      return fail(What + ": operands [" + llvm::Twine(In.FirstOperand) + ", +" + llvm::Twine(In.NumOperands) +
                  ") outside the operand list (" + llvm::Twine(Operands.size()) + " entries)");
    if (In.NumOutputs > In.NumOperands)
      return fail(What + ": " + llvm::Twine(In.NumOutputs) + " outputs but only " + llvm::Twine(In.NumOperands) +
                  " operands");
    for (uint32_t T : operands(I))
      if (T >= Tensors.size())
        return fail(What + ": operand tensor index " + llvm::Twine(T) + " is out of range (" +
                    llvm::Twine(Tensors.size()) + " tensors)");
    const uint32_t NumInputs = In.NumOperands - In.NumOutputs;
    switch (In.Op) {
    case static_cast<uint32_t>(abi::Opcode::Kernel): {
      if (In.Index >= Kernels.size())
        return fail(What + ": kernel record " + llvm::Twine(In.Index) + " is out of range (" +
                    llvm::Twine(Kernels.size()) + " kernels)");
      const abi::KernelRecord &K = Kernels[In.Index];
      if (In.NumOperands != K.NumOperands)
        return fail(What + ": " + llvm::Twine(In.NumOperands) + " operands, but kernel record " +
                    llvm::Twine(In.Index) + " (" + std::string(abi::kernelName(static_cast<abi::KernelId>(K.KernelId))) +
                    ") takes " + llvm::Twine(K.NumOperands));
      break;
    }
    case static_cast<uint32_t>(abi::Opcode::Fallback): {
      if (In.Index >= Calls.size())
        return fail(What + ": fallback call " + llvm::Twine(In.Index) + " is out of range (" +
                    llvm::Twine(Calls.size()) + " calls)");
      std::string CW = What + ", " + fallbackOpName(In.Index);
      auto Position = [&](int64_t Pos, const abi::FallbackArg &A, bool AllowNone) -> llvm::Error {
        if ((AllowNone && Pos == -1) || (Pos >= 0 && Pos < NumInputs))
          return llvm::Error::success();
        return fail(CW + ": argument '" + string(A.NameOffset) + "' refers to input " + llvm::Twine(Pos) +
                    ", the instruction has " + llvm::Twine(NumInputs) + " inputs");
      };
      for (const abi::FallbackArg &A : fallbackArgs(Calls[In.Index])) {
        auto Tag = static_cast<abi::ArgTag>(A.Tag);
        if (Tag == abi::ArgTag::Tensor) {
          if (llvm::Error E = Position(A.First, A, false))
            return E;
        } else if (Tag == abi::ArgTag::TensorList || Tag == abi::ArgTag::OptTensorList) {
          for (uint32_t J = 0; J < A.Count; ++J)
            if (llvm::Error E = Position(fallbackInt(A.First + J), A, Tag == abi::ArgTag::OptTensorList))
              return E;
        }
      }
      break;
    }
    default:
      return fail(What + ": unknown opcode " + llvm::Twine(In.Op));
    }
  }
  return llvm::Error::success();
}
