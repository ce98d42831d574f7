//===- frontend/ZipArchive.cpp - zip reader and writer for .pt2 files -----===//
//
// The reader trusts nothing in the file: all arithmetic on offsets and sizes
// goes through fits(), which cannot overflow, and every entry is validated
// once at open time so read() only has to inflate and check the CRC. The
// writer reproduces miniz as configured by PyTorchStreamWriter (ZIP64 mode,
// no timestamps, data descriptors) so our archives diff cleanly against
// torch's.
//
//===----------------------------------------------------------------------===//
#include "frontend/ZipArchive.h"

#include "frontend/Error.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <numeric>

using namespace llvm;

namespace atalla::frontend {

namespace {

constexpr uint32_t LocalHeaderSig = 0x04034b50;
constexpr uint32_t CentralHeaderSig = 0x02014b50;
constexpr uint32_t EocdSig = 0x06054b50;
constexpr uint32_t Eocd64Sig = 0x06064b50;
constexpr uint32_t Eocd64LocatorSig = 0x07064b50;
constexpr uint32_t DataDescriptorSig = 0x08074b50;

constexpr uint64_t LocalHeaderSize = 30;
constexpr uint64_t CentralHeaderSize = 46;
constexpr uint64_t EocdSize = 22;
constexpr uint64_t Eocd64Size = 56;
constexpr uint64_t Eocd64LocatorSize = 20;
constexpr uint64_t MaxCommentSize = 0xFFFF;

constexpr uint16_t Zip64ExtraId = 0x0001;
constexpr uint16_t FlagEncrypted = 0x0001;
constexpr uint16_t FlagStrongEncryption = 0x0040;
/// UTF-8 names (0x0800) and data descriptor (0x0008), as miniz sets them.
constexpr uint16_t TorchFlags = 0x0808;
constexpr uint16_t MethodStored = 0;
constexpr uint16_t MethodDeflate = 8;

constexpr uint64_t U16Max = 0xFFFF;
constexpr uint64_t U32Max = 0xFFFFFFFF;
/// The compression-ratio guard ignores entries below this size.
constexpr uint64_t RatioGuardMinBytes = 1ull << 20;
/// zlib counts in uInt; feed it at most this much at a time.
constexpr uint64_t ZlibChunk = 1ull << 30;

uint16_t le16(const uint8_t *P) { return uint16_t(P[0] | (P[1] << 8)); }
uint32_t le32(const uint8_t *P) {
  return uint32_t(P[0]) | (uint32_t(P[1]) << 8) | (uint32_t(P[2]) << 16) |
         (uint32_t(P[3]) << 24);
}
uint64_t le64(const uint8_t *P) {
  return uint64_t(le32(P)) | (uint64_t(le32(P + 4)) << 32);
}

/// Whether [Off, Off + Len) lies inside [0, Limit); immune to overflow, which
/// is the whole point: a hostile 64-bit offset plus size can wrap.
bool fits(uint64_t Off, uint64_t Len, uint64_t Limit) {
  return Off <= Limit && Len <= Limit - Off;
}

uint32_t crc32Of(ArrayRef<uint8_t> Data) {
  uLong Crc = crc32(0L, Z_NULL, 0);
  const uint8_t *P = Data.data();
  uint64_t Left = Data.size();
  while (Left) {
    uInt N = uInt(std::min(Left, ZlibChunk));
    Crc = crc32(Crc, P, N);
    P += N;
    Left -= N;
  }
  return uint32_t(Crc);
}

const char *methodName(uint16_t Method) {
  switch (Method) {
  case 1:
    return "shrink";
  case 6:
    return "implode";
  case 9:
    return "deflate64";
  case 12:
    return "bzip2";
  case 14:
    return "lzma";
  case 93:
    return "zstd";
  case 95:
    return "xz";
  case 98:
    return "ppmd";
  case 99:
    return "AES-encrypted";
  default:
    return "unknown";
  }
}

/// Names come from the file and end up in messages and, later, in paths;
/// escape anything a terminal would interpret.
std::string printable(StringRef S) {
  std::string Out;
  raw_string_ostream OS(Out);
  printEscapedString(S, OS);
  return Out;
}

/// Why \p Name could escape an extraction directory or is otherwise unusable,
/// or nullptr when it is fine.
const char *unsafeNameReason(StringRef Name) {
  if (Name.empty())
    return "empty name";
  if (Name.contains('\0'))
    return "name contains a NUL byte";
  if (Name[0] == '/' || Name[0] == '\\')
    return "absolute path";
  if (Name.size() >= 2 && isAlpha(Name[0]) && Name[1] == ':')
    return "absolute path (drive letter)";
  StringRef Rest = Name;
  while (!Rest.empty()) {
    size_t Sep = Rest.find_first_of("/\\");
    StringRef Component = Rest.substr(0, Sep);
    if (Component == "..")
      return "path component '..'";
    if (Sep == StringRef::npos)
      break;
    Rest = Rest.substr(Sep + 1);
  }
  return nullptr;
}

void put16(std::vector<uint8_t> &Out, uint64_t V) {
  Out.push_back(uint8_t(V));
  Out.push_back(uint8_t(V >> 8));
}
void put32(std::vector<uint8_t> &Out, uint64_t V) {
  for (int I = 0; I < 4; ++I)
    Out.push_back(uint8_t(V >> (8 * I)));
}
void put64(std::vector<uint8_t> &Out, uint64_t V) {
  for (int I = 0; I < 8; ++I)
    Out.push_back(uint8_t(V >> (8 * I)));
}

/// miniz's ZIP64 extended-information field: only the values that overflow
/// 32 bits, in the order the spec fixes. Empty when nothing overflows.
std::vector<uint8_t> zip64Extra(bool BigSize, uint64_t Uncompressed,
                                uint64_t Compressed, bool BigOffset,
                                uint64_t Offset) {
  std::vector<uint8_t> X;
  if (!BigSize && !BigOffset)
    return X;
  put16(X, Zip64ExtraId);
  put16(X, (BigSize ? 16 : 0) + (BigOffset ? 8 : 0));
  if (BigSize) {
    put64(X, Uncompressed);
    put64(X, Compressed);
  }
  if (BigOffset)
    put64(X, Offset);
  return X;
}

} // namespace

//===----------------------------------------------------------------------===//
// ZipReader
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<ZipReader>> ZipReader::openFile(StringRef Path,
                                                         ZipLimits L) {
  // No null terminator, so large files are mapped rather than copied.
  auto BufOrErr = MemoryBuffer::getFile(Path, /*IsText=*/false,
                                        /*RequiresNullTerminator=*/false);
  if (!BufOrErr)
    return makeError(Path + ": cannot open: " + BufOrErr.getError().message());
  std::unique_ptr<ZipReader> R(new ZipReader());
  R->DisplayName = Path.str();
  R->File = std::move(*BufOrErr);
  R->Bytes = ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(R->File->getBufferStart()),
      R->File->getBufferSize());
  return open(std::move(R), L);
}

Expected<std::unique_ptr<ZipReader>>
ZipReader::openBuffer(std::vector<uint8_t> Bytes, StringRef DisplayName,
                      ZipLimits L) {
  std::unique_ptr<ZipReader> R(new ZipReader());
  R->DisplayName = DisplayName.str();
  R->Owned = std::move(Bytes);
  R->Bytes = R->Owned;
  return open(std::move(R), L);
}

Expected<std::unique_ptr<ZipReader>>
ZipReader::open(std::unique_ptr<ZipReader> R, ZipLimits L) {
  if (R->Bytes.size() > L.MaxFileBytes)
    return makeError(R->DisplayName + ": the archive is " + Twine(R->Bytes.size()) +
                     " bytes, more than the limit of " + Twine(L.MaxFileBytes));
  if (Error E = R->parse(L))
    return E;
  return R;
}

Error ZipReader::entryError(const ZipEntry &E, const Twine &Msg) const {
  return makeError(DisplayName + ": entry '" + printable(E.Name) + "': " + Msg);
}

/// The end-of-central-directory record (and its zip64 form): the entry
/// count and the central directory's place, checked against the file.
Error ZipReader::findCentralDirectory(const ZipLimits &L, CentralDirectory &Cd) const {
  const uint8_t *B = Bytes.data();
  const uint64_t Size = Bytes.size();
  auto Fail = [&](const Twine &Msg) { return makeError(DisplayName + ": " + Msg); };

  // The end-of-central-directory record sits at the end, followed only by a
  // comment of at most 64 KiB; scan backwards so the last record wins.
  if (Size < EocdSize)
    return Fail("not a zip archive (no end-of-central-directory record)");
  uint64_t Lowest =
      Size - EocdSize > MaxCommentSize ? Size - EocdSize - MaxCommentSize : 0;
  bool Found = false;
  uint64_t EocdPos = 0;
  for (uint64_t P = Size - EocdSize + 1; P-- > Lowest;) {
    if (le32(B + P) == EocdSig && le16(B + P + 20) <= Size - EocdSize - P) {
      Found = true;
      EocdPos = P;
      break;
    }
  }
  if (!Found)
    return Fail("not a zip archive (no end-of-central-directory record)");

  const uint8_t *Eocd = B + EocdPos;
  uint64_t Count = le16(Eocd + 10);
  uint64_t CdSize = le32(Eocd + 12);
  uint64_t CdOffset = le32(Eocd + 16);
  // The central directory must end before the end records start.
  uint64_t EndRecords = EocdPos;

  if (EocdPos >= Eocd64LocatorSize &&
      le32(B + EocdPos - Eocd64LocatorSize) == Eocd64LocatorSig) {
    uint64_t LocPos = EocdPos - Eocd64LocatorSize;
    const uint8_t *Loc = B + LocPos;
    uint32_t RecordDisk = le32(Loc + 4);
    uint64_t RecordPos = le64(Loc + 8);
    uint32_t Disks = le32(Loc + 16);
    if (RecordDisk != 0 || Disks > 1)
      return Fail("multi-disk archives are not supported");
    if (!fits(RecordPos, Eocd64Size, LocPos))
      return Fail(
          "truncated: zip64 end-of-central-directory record at offset " +
          Twine(RecordPos) + " extends past its locator at offset " +
          Twine(LocPos));
    const uint8_t *Rec = B + RecordPos;
    if (le32(Rec) != Eocd64Sig)
      return Fail("no zip64 end-of-central-directory record at offset " +
                  Twine(RecordPos));
    uint64_t RecordSize = le64(Rec + 4);
    if (RecordSize < Eocd64Size - 12 ||
        !fits(RecordPos + 12, RecordSize, LocPos))
      return Fail("malformed zip64 end-of-central-directory record (size " +
                  Twine(RecordSize) + ")");
    uint64_t CountOnDisk = le64(Rec + 24);
    Count = le64(Rec + 32);
    CdSize = le64(Rec + 40);
    CdOffset = le64(Rec + 48);
    if (le32(Rec + 16) != 0 || le32(Rec + 20) != 0 || CountOnDisk != Count)
      return Fail("multi-disk archives are not supported");
    EndRecords = RecordPos;
  } else if (le16(Eocd + 4) != 0 || le16(Eocd + 6) != 0 ||
             le16(Eocd + 8) != Count) {
    return Fail("multi-disk archives are not supported");
  }

  if (Count > L.MaxEntries)
    return Fail("archive has " + Twine(Count) +
                " entries, more than the limit of " + Twine(L.MaxEntries));
  if (!fits(CdOffset, CdSize, Size))
    return Fail("truncated: central directory at offset " + Twine(CdOffset) +
                " extends past end of file (size " + Twine(Size) + ")");
  if (CdOffset + CdSize > EndRecords)
    return Fail("central directory at offset " + Twine(CdOffset) + " (size " +
                Twine(CdSize) +
                ") overlaps the end-of-central-directory record");
  // Bounds the reserve() below by the file size, not by a count we were told.
  if (Count > CdSize / CentralHeaderSize)
    return Fail("central directory of " + Twine(CdSize) +
                " bytes cannot hold " + Twine(Count) + " entries");
  Cd.Count = Count;
  Cd.Offset = CdOffset;
  Cd.Size = CdSize;
  return Error::success();
}

/// Walks \p E's extra fields (\p ExtraLen bytes at \p X) for ZIP64 values;
/// each 0xFFFFFFFF (0xFFFF for the disk) in the fixed header is replaced, in
/// order, from field 0x0001.
Error ZipReader::readZip64Extra(ZipEntry &E, const uint8_t *X, uint64_t ExtraLen, uint64_t &StartDisk) const {
  uint64_t XLeft = ExtraLen;
  while (XLeft >= 4) {
    uint16_t Id = le16(X);
    uint64_t Len = le16(X + 2);
    if (Len > XLeft - 4)
      return entryError(E, "malformed extra field (field " + Twine(Id) +
                               " of " + Twine(Len) + " bytes overruns)");
    if (Id == Zip64ExtraId) {
      const uint8_t *F = X + 4;
      uint64_t FLeft = Len;
      auto Take64 = [&](uint64_t &V) -> bool {
        if (FLeft < 8)
          return false;
        V = le64(F);
        F += 8;
        FLeft -= 8;
        return true;
      };
      if ((E.UncompressedSize == U32Max && !Take64(E.UncompressedSize)) ||
          (E.CompressedSize == U32Max && !Take64(E.CompressedSize)) ||
          (E.LocalHeaderOffset == U32Max && !Take64(E.LocalHeaderOffset)))
        return entryError(E, "zip64 extra field is too short");
      if (StartDisk == U16Max) {
        if (FLeft < 4)
          return entryError(E, "zip64 extra field is too short");
        StartDisk = le32(F);
      }
    }
    X += 4 + Len;
    XLeft -= 4 + Len;
  }
  return Error::success();
}

/// \p E's name, flags, method and sizes against \p L (\p Total: the
/// uncompressed bytes of the entries before it).
Error ZipReader::checkEntry(const ZipEntry &E, const ZipLimits &L, uint64_t &Total) const {
  if (const char *Why = unsafeNameReason(E.Name))
    return entryError(E, Twine("unsafe name (") + Why + ")");
  if (Index.count(E.Name))
    return entryError(E, "duplicate entry name");
  if (E.Flags & (FlagEncrypted | FlagStrongEncryption))
    return entryError(E, "encrypted entries are not supported");
  if (E.Method != MethodStored && E.Method != MethodDeflate)
    return entryError(E, "unsupported compression method " + Twine(E.Method) +
                             " (" + methodName(E.Method) + ")");
  if (E.UncompressedSize > L.MaxEntryBytes)
    return entryError(E, "uncompressed size " + Twine(E.UncompressedSize) +
                             " exceeds the limit of " +
                             Twine(L.MaxEntryBytes) + " bytes");
  if (E.UncompressedSize > L.MaxTotalBytes - std::min(Total, L.MaxTotalBytes))
    return entryError(E,
                      "uncompressed sizes add up to more than the limit of " +
                          Twine(L.MaxTotalBytes) + " bytes");
  Total += E.UncompressedSize;
  if (E.Method == MethodStored && E.CompressedSize != E.UncompressedSize)
    return entryError(
        E, "stored entry has compressed size " + Twine(E.CompressedSize) +
               " but uncompressed size " + Twine(E.UncompressedSize));
  if (E.Method == MethodDeflate && E.UncompressedSize > RatioGuardMinBytes) {
    // Uncompressed > Compressed * Ratio, without the multiplication.
    uint64_t C = E.CompressedSize, U = E.UncompressedSize;
    uint64_t Ratio = L.MaxCompressionRatio;
    bool Bomb = C == 0 || U / C > Ratio || (U / C == Ratio && U % C != 0);
    if (Bomb)
      return entryError(E, "declares " + Twine(U) + " bytes inflated from " +
                               Twine(C) + " (ratio over " + Twine(Ratio) +
                               "): refusing a likely zip bomb");
  }
  return Error::success();
}

/// \p E's local header: where its data starts, checked against the file
/// and the central directory at \p CdOffset.
Error ZipReader::locateData(ZipEntry &E, uint64_t CdOffset) const {
  const uint8_t *B = Bytes.data();
  const uint64_t Size = Bytes.size();
  // Local headers in torch files carry zero sizes (the data descriptor has
  // them), so only the name and extra lengths are taken from here.
  uint64_t LH = E.LocalHeaderOffset;
  if (!fits(LH, LocalHeaderSize, Size))
    return entryError(E, "truncated: local header at offset " + Twine(LH) +
                             " extends past end of file (size " +
                             Twine(Size) + ")");
  if (!fits(LH, LocalHeaderSize, CdOffset))
    return entryError(E, "local header at offset " + Twine(LH) +
                             " overlaps the central directory");
  if (le32(B + LH) != LocalHeaderSig)
    return entryError(E, "bad local header signature at offset " + Twine(LH));
  uint64_t LocalNameLen = le16(B + LH + 26);
  uint64_t LocalExtraLen = le16(B + LH + 28);
  E.DataOffset = LH + LocalHeaderSize + LocalNameLen + LocalExtraLen;
  if (!fits(LH + LocalHeaderSize, LocalNameLen, CdOffset) ||
      StringRef(reinterpret_cast<const char *>(B + LH + LocalHeaderSize),
                LocalNameLen) != E.Name)
    return entryError(E, "name in local header at offset " + Twine(LH) +
                             " differs from the central directory");
  if (!fits(E.DataOffset, E.CompressedSize, Size))
    return entryError(E, "truncated: data at offset " + Twine(E.DataOffset) +
                             " (" + Twine(E.CompressedSize) +
                             " bytes) extends past end of file (size " +
                             Twine(Size) + ")");
  if (!fits(E.DataOffset, E.CompressedSize, CdOffset))
    return entryError(E, "data at offset " + Twine(E.DataOffset) + " (" +
                             Twine(E.CompressedSize) +
                             " bytes) overlaps the central directory");
  return Error::success();
}

/// Entries sharing bytes are how "overlapping" zip bombs multiply a small
/// file; no honest writer produces them.
Error ZipReader::checkOverlaps() const {
  std::vector<size_t> Order(Entries.size());
  std::iota(Order.begin(), Order.end(), size_t(0));
  std::sort(Order.begin(), Order.end(), [&](size_t A, size_t C) {
    return Entries[A].LocalHeaderOffset < Entries[C].LocalHeaderOffset;
  });
  for (size_t I = 1; I < Order.size(); ++I) {
    const ZipEntry &Prev = Entries[Order[I - 1]];
    const ZipEntry &Next = Entries[Order[I]];
    if (Prev.DataOffset + Prev.CompressedSize > Next.LocalHeaderOffset)
      return entryError(Next, "overlaps entry '" + printable(Prev.Name) + "'");
  }
  return Error::success();
}

Error ZipReader::parse(const ZipLimits &L) {
  const uint8_t *B = Bytes.data();
  auto Fail = [&](const Twine &Msg) {
    return makeError(DisplayName + ": " + Msg);
  };

  CentralDirectory Cd;
  if (Error E = findCentralDirectory(L, Cd))
    return E;
  const uint64_t Count = Cd.Count, CdOffset = Cd.Offset, CdSize = Cd.Size;

  Entries.reserve(Count);
  const uint64_t CdEnd = CdOffset + CdSize;
  uint64_t Pos = CdOffset;
  uint64_t Total = 0;
  for (uint64_t I = 0; I < Count; ++I) {
    if (!fits(Pos, CentralHeaderSize, CdEnd))
      return Fail("truncated: central directory entry " + Twine(I) +
                  " at offset " + Twine(Pos) +
                  " extends past the end of the central directory");
    const uint8_t *H = B + Pos;
    if (le32(H) != CentralHeaderSig)
      return Fail("bad signature for central directory entry " + Twine(I) +
                  " at offset " + Twine(Pos));
    ZipEntry E;
    E.Flags = le16(H + 8);
    E.Method = le16(H + 10);
    E.Crc32 = le32(H + 16);
    E.CompressedSize = le32(H + 20);
    E.UncompressedSize = le32(H + 24);
    uint64_t NameLen = le16(H + 28);
    uint64_t ExtraLen = le16(H + 30);
    uint64_t CommentLen = le16(H + 32);
    uint64_t StartDisk = le16(H + 34);
    E.LocalHeaderOffset = le32(H + 42);
    uint64_t VarLen = NameLen + ExtraLen + CommentLen;
    if (!fits(Pos + CentralHeaderSize, VarLen, CdEnd))
      return Fail("truncated: central directory entry " + Twine(I) +
                  " at offset " + Twine(Pos) +
                  " extends past the end of the central directory");
    const uint8_t *NamePtr = H + CentralHeaderSize;
    E.Name.assign(reinterpret_cast<const char *>(NamePtr), NameLen);

    if (Error Err = readZip64Extra(E, NamePtr + NameLen, ExtraLen, StartDisk))
      return Err;
    if (StartDisk != 0)
      return entryError(E, "multi-disk archives are not supported");
    Pos += CentralHeaderSize + VarLen;

    if (Error Err = checkEntry(E, L, Total))
      return Err;

    if (Error Err = locateData(E, CdOffset))
      return Err;

    Index[E.Name] = Entries.size();
    Entries.push_back(std::move(E));
  }

  return checkOverlaps();
}

const ZipEntry *ZipReader::find(StringRef Name) const {
  auto It = Index.find(Name);
  return It == Index.end() ? nullptr : &Entries[It->second];
}

Expected<const ZipEntry *> ZipReader::lookup(StringRef Name) const {
  if (const ZipEntry *E = find(Name))
    return E;
  return makeError(DisplayName + ": no entry named '" + printable(Name) + "'");
}

Error ZipReader::checkCrc(const ZipEntry &E, ArrayRef<uint8_t> Data) const {
  uint32_t Crc = crc32Of(Data);
  if (Crc != E.Crc32)
    return entryError(E, "CRC mismatch (computed 0x" + utohexstr(Crc) +
                             ", expected 0x" + utohexstr(E.Crc32) + ")");
  return Error::success();
}

Expected<ArrayRef<uint8_t>> ZipReader::readStored(StringRef Name) const {
  Expected<const ZipEntry *> E = lookup(Name);
  if (!E)
    return E.takeError();
  const ZipEntry &Entry = **E;
  if (Entry.Method != MethodStored)
    return entryError(Entry, "is compressed; it has no stored bytes to view");
  ArrayRef<uint8_t> Data = Bytes.slice(Entry.DataOffset, Entry.CompressedSize);
  if (Error Err = checkCrc(Entry, Data))
    return Err;
  return Data;
}

Expected<std::vector<uint8_t>> ZipReader::read(StringRef Name) const {
  Expected<const ZipEntry *> Found = lookup(Name);
  if (!Found)
    return Found.takeError();
  const ZipEntry &E = **Found;
  ArrayRef<uint8_t> In = Bytes.slice(E.DataOffset, E.CompressedSize);
  if (E.Method == MethodStored) {
    if (Error Err = checkCrc(E, In))
      return Err;
    return std::vector<uint8_t>(In.begin(), In.end());
  }

  // Allocating the declared size is safe: parse() bounded it by the limits
  // and the compression ratio. The stream itself is then not trusted to stop
  // there, hence the scratch buffer that catches any excess.
  std::vector<uint8_t> Out(E.UncompressedSize);
  z_stream S{};
  if (inflateInit2(&S, -MAX_WBITS) != Z_OK)
    return entryError(E, "cannot initialise zlib");
  auto End = make_scope_exit([&] { inflateEnd(&S); });
  uint64_t InPos = 0, OutPos = 0;
  uint8_t Scratch[64];
  for (;;) {
    if (S.avail_in == 0 && InPos < In.size()) {
      uInt N = uInt(std::min<uint64_t>(In.size() - InPos, ZlibChunk));
      S.next_in = const_cast<Bytef *>(In.data() + InPos);
      S.avail_in = N;
      InPos += N;
    }
    bool Spill = OutPos == Out.size();
    if (Spill) {
      S.next_out = Scratch;
      S.avail_out = sizeof(Scratch);
    } else {
      S.next_out = Out.data() + OutPos;
      S.avail_out = uInt(std::min<uint64_t>(Out.size() - OutPos, ZlibChunk));
    }
    uInt Room = S.avail_out;
    int Ret = inflate(&S, Z_NO_FLUSH);
    uint64_t Produced = Room - S.avail_out;
    if (Spill && Produced)
      return entryError(E, "inflates to more than the declared " +
                               Twine(E.UncompressedSize) + " bytes");
    OutPos += Spill ? 0 : Produced;
    if (Ret == Z_STREAM_END)
      break;
    // Z_BUF_ERROR with output room to spare means the input ran out.
    if (Ret == Z_BUF_ERROR)
      return entryError(E, "compressed data is truncated (inflated " +
                               Twine(OutPos) + " of " +
                               Twine(E.UncompressedSize) + " bytes)");
    if (Ret != Z_OK)
      return entryError(
          E, Twine("inflate failed: ") +
                 (S.msg ? S.msg : "zlib error " + std::to_string(Ret)));
  }
  if (OutPos != E.UncompressedSize)
    return entryError(E, "inflated size " + Twine(OutPos) + " != declared " +
                             Twine(E.UncompressedSize));
  if (Error Err = checkCrc(E, Out))
    return Err;
  return Out;
}

Expected<std::string> ZipReader::readText(StringRef Name) const {
  Expected<std::vector<uint8_t>> Data = read(Name);
  if (!Data)
    return Data.takeError();
  return std::string(Data->begin(), Data->end());
}

//===----------------------------------------------------------------------===//
// ZipWriter
//===----------------------------------------------------------------------===//

ZipWriter::ZipWriter(uint64_t Alignment) : Alignment(Alignment) {
  // The padding length is a 16-bit field.
  assert(Alignment >= 1 && Alignment <= U16Max && "bad alignment");
}

void ZipWriter::add(std::string Name, StringRef Text) {
  add(std::move(Name), arrayRefFromStringRef(Text));
}

void ZipWriter::add(std::string Name, ArrayRef<uint8_t> Data) {
  assert(Name.size() <= U16Max && "zip names are at most 65535 bytes");
  [[maybe_unused]] bool Inserted = Names.insert(Name).second;
  assert(Inserted && "duplicate zip entry name");

  const uint64_t Offset = Out.size();
  const uint64_t Size = Data.size();
  // miniz (always in ZIP64 mode under torch) switches per entry on ">=".
  const bool BigSize = Size >= U32Max;
  const bool BigOffset = Offset >= U32Max;
  // In the local header the compressed size is not yet known to miniz: 0.
  std::vector<uint8_t> Zip64 = zip64Extra(BigSize, Size, 0, BigOffset, Offset);

  // torch's getPadding(): the "FB" field header is always written, and the
  // padding after it makes the payload start on an Alignment boundary.
  uint64_t Start = Offset + LocalHeaderSize + Name.size() + Zip64.size() + 4;
  uint64_t Pad = (Alignment - Start % Alignment) % Alignment;

  put32(Out, LocalHeaderSig);
  put16(Out, 0); // version needed: miniz writes 0 for stored entries
  put16(Out, TorchFlags);
  put16(Out, MethodStored);
  put16(Out, 0); // time: torch builds miniz without timestamps
  put16(Out, 0); // date
  put32(Out, 0); // CRC and sizes follow in the data descriptor
  put32(Out, 0);
  put32(Out, 0);
  put16(Out, Name.size());
  put16(Out, Zip64.size() + 4 + Pad);
  Out.insert(Out.end(), Name.begin(), Name.end());
  Out.insert(Out.end(), Zip64.begin(), Zip64.end());
  Out.push_back('F');
  Out.push_back('B');
  put16(Out, Pad);
  Out.insert(Out.end(), Pad, uint8_t('Z'));
  assert(Out.size() % Alignment == 0);
  Out.insert(Out.end(), Data.begin(), Data.end());

  uint32_t Crc = crc32Of(Data);
  put32(Out, DataDescriptorSig);
  put32(Out, Crc);
  if (Zip64.empty()) {
    put32(Out, Size);
    put32(Out, Size);
  } else {
    put64(Out, Size);
    put64(Out, Size);
  }
  Records.push_back({std::move(Name), Offset, Size, Crc});
}

std::vector<uint8_t> ZipWriter::finish() {
  const uint64_t CdOffset = Out.size();
  for (const CentralRecord &R : Records) {
    bool BigSize = R.Size >= U32Max;
    bool BigOffset = R.Offset >= U32Max;
    std::vector<uint8_t> Zip64 =
        zip64Extra(BigSize, R.Size, R.Size, BigOffset, R.Offset);
    put32(Out, CentralHeaderSig);
    put16(Out, 0); // version made by
    put16(Out, 0); // version needed
    put16(Out, TorchFlags);
    put16(Out, MethodStored);
    put16(Out, 0); // time
    put16(Out, 0); // date
    put32(Out, R.Crc32);
    put32(Out, std::min(R.Size, U32Max));
    put32(Out, std::min(R.Size, U32Max));
    put16(Out, R.Name.size());
    put16(Out, Zip64.size());
    put16(Out, 0); // comment length
    put16(Out, 0); // start disk
    put16(Out, 0); // internal attributes
    put32(Out, 0); // external attributes
    put32(Out, std::min(R.Offset, U32Max));
    Out.insert(Out.end(), R.Name.begin(), R.Name.end());
    Out.insert(Out.end(), Zip64.begin(), Zip64.end());
  }
  const uint64_t CdSize = Out.size() - CdOffset;
  const uint64_t Count = Records.size();

  const uint64_t Eocd64Offset = Out.size();
  put32(Out, Eocd64Sig);
  put64(Out, Eocd64Size - 12); // record size, excluding signature and itself
  put16(Out, 0x031e);          // made by: Unix, spec 3.0 (miniz's constant)
  put16(Out, 0x002d);          // needed: 4.5, for ZIP64
  put32(Out, 0);               // this disk
  put32(Out, 0);               // disk with the central directory
  put64(Out, Count);
  put64(Out, Count);
  put64(Out, CdSize);
  put64(Out, CdOffset);

  put32(Out, Eocd64LocatorSig);
  put32(Out, 0); // disk with the zip64 record
  put64(Out, Eocd64Offset);
  put32(Out, 1); // total disks

  put32(Out, EocdSig);
  put16(Out, 0);
  put16(Out, 0);
  put16(Out, std::min(Count, U16Max));
  put16(Out, std::min(Count, U16Max));
  put32(Out, std::min(CdSize, U32Max));
  put32(Out, std::min(CdOffset, U32Max));
  put16(Out, 0); // comment length

  std::vector<uint8_t> Result = std::move(Out);
  Out.clear();
  Records.clear();
  Names.clear();
  return Result;
}

} // namespace atalla::frontend
