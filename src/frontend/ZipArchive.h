//===- frontend/ZipArchive.h - zip archives for .pt2 files ------*- C++ -*-===//
//
// Reads the zip archives torch.export.save and torch.save produce (ZIP64,
// stored and deflated entries) and writes them byte for byte the way
// PyTorchStreamWriter does. Archives are untrusted input: every offset, size
// and count is checked against the file and against ZipLimits before it is
// used, so a hostile archive yields an llvm::Error, never a crash or an
// unbounded allocation.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_ZIPARCHIVE_H
#define ATALLA_FRONTEND_ZIPARCHIVE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atalla::frontend {

/// Resource limits applied while opening an archive, before any entry is
/// inflated. The defaults admit any real model we expect (a 16 GiB weight)
/// while refusing archives whose directory alone would make us allocate
/// without bound.
struct ZipLimits {
  /// The whole archive.
  uint64_t MaxFileBytes = 64ull << 30;
  /// Entries in the central directory.
  uint64_t MaxEntries = 1u << 20;
  /// Uncompressed size of one entry.
  uint64_t MaxEntryBytes = 16ull << 30;
  /// Sum of the uncompressed sizes of all entries.
  uint64_t MaxTotalBytes = 64ull << 30;
  /// Largest uncompressed/compressed ratio accepted for a deflated entry;
  /// deflate cannot exceed about 1032:1, so anything above is a bomb. Only
  /// applied when the entry inflates to more than 1 MiB, since tiny entries
  /// (an empty file is 2 bytes of deflate) legitimately have odd ratios.
  /// 0 refuses every deflated entry over 1 MiB.
  uint64_t MaxCompressionRatio = 1000;
};

/// One entry of the central directory, with every size and offset already
/// resolved through the ZIP64 extra field and checked against the file.
struct ZipEntry {
  std::string Name;
  uint64_t LocalHeaderOffset = 0;
  uint64_t CompressedSize = 0;
  uint64_t UncompressedSize = 0;
  uint32_t Crc32 = 0;
  /// 0 (stored) or 8 (deflate); nothing else survives opening.
  uint16_t Method = 0;
  /// General-purpose flags from the central directory (0x0808 in torch files).
  uint16_t Flags = 0;
  /// Offset of the first payload byte, past the local header, name and extra.
  uint64_t DataOffset = 0;
};

/// A validated, read-only view of a zip archive held in memory.
class ZipReader {
public:
  /// Maps (or reads) the whole file at \p Path. Errors name the path.
  static llvm::Expected<std::unique_ptr<ZipReader>>
  openFile(llvm::StringRef Path, ZipLimits L = {});
  /// Takes ownership of \p Bytes; \p DisplayName prefixes every error (use the
  /// outer archive and entry for nested zips, e.g. "m.pt2:data/x/model.pt").
  static llvm::Expected<std::unique_ptr<ZipReader>>
  openBuffer(std::vector<uint8_t> Bytes, llvm::StringRef DisplayName,
             ZipLimits L = {});

  llvm::StringRef displayName() const { return DisplayName; }
  /// Entries in central-directory order.
  const std::vector<ZipEntry> &entries() const { return Entries; }
  /// The entry called \p Name, or nullptr.
  const ZipEntry *find(llvm::StringRef Name) const;
  bool contains(llvm::StringRef Name) const { return find(Name) != nullptr; }

  /// The uncompressed bytes of \p Name, inflated if needed, with the size and
  /// CRC-32 checked against the central directory.
  llvm::Expected<std::vector<uint8_t>> read(llvm::StringRef Name) const;
  /// read() as a string (JSON, pickles, version files).
  llvm::Expected<std::string> readText(llvm::StringRef Name) const;
  /// The bytes of a stored entry without copying them (weights can be
  /// gigabytes), CRC-checked. Deflated entries are an error: use read().
  llvm::Expected<llvm::ArrayRef<uint8_t>>
  readStored(llvm::StringRef Name) const;

  /// The whole archive.
  llvm::ArrayRef<uint8_t> bytes() const { return Bytes; }

private:
  ZipReader() = default;
  static llvm::Expected<std::unique_ptr<ZipReader>>
  open(std::unique_ptr<ZipReader> R, ZipLimits L);
  llvm::Error parse(const ZipLimits &L);
  /// Where the central directory is, from the end records.
  struct CentralDirectory {
    uint64_t Count = 0, Offset = 0, Size = 0;
  };
  llvm::Error findCentralDirectory(const ZipLimits &L, CentralDirectory &Cd) const;
  llvm::Error readZip64Extra(ZipEntry &E, const uint8_t *X, uint64_t ExtraLen, uint64_t &StartDisk) const;
  llvm::Error checkEntry(const ZipEntry &E, const ZipLimits &L, uint64_t &Total) const;
  llvm::Error locateData(ZipEntry &E, uint64_t CdOffset) const;
  llvm::Error checkOverlaps() const;
  llvm::Error entryError(const ZipEntry &E, const llvm::Twine &Msg) const;
  llvm::Expected<const ZipEntry *> lookup(llvm::StringRef Name) const;
  llvm::Error checkCrc(const ZipEntry &E, llvm::ArrayRef<uint8_t> Data) const;

  std::string DisplayName;
  /// Exactly one of these owns the bytes; Bytes views it.
  std::unique_ptr<llvm::MemoryBuffer> File;
  std::vector<uint8_t> Owned;
  llvm::ArrayRef<uint8_t> Bytes;
  std::vector<ZipEntry> Entries;
  llvm::StringMap<size_t> Index;
};

/// Builds an archive in memory with PyTorchStreamWriter's byte layout: stored
/// entries, flags 0x0808, zero time, sizes in data descriptors, an "FB" extra
/// field padding every payload to \p Alignment, and ZIP64 end records always
/// present. Entries >= 4 GiB or past 4 GiB get miniz's ZIP64 extra fields.
class ZipWriter {
public:
  /// \p Alignment is torch's kFieldAlignment (64); it must be in [1, 65535].
  explicit ZipWriter(uint64_t Alignment = 64);
  /// Appends an entry. Names must be unique and shorter than 64 KiB.
  void add(std::string Name, llvm::ArrayRef<uint8_t> Data);
  void add(std::string Name, llvm::StringRef Text);
  /// Appends the central directory and end records and returns the archive;
  /// the writer is empty again afterwards. Same adds give the same bytes.
  std::vector<uint8_t> finish();

private:
  struct CentralRecord {
    std::string Name;
    uint64_t Offset;
    uint64_t Size;
    uint32_t Crc32;
  };
  uint64_t Alignment;
  std::vector<uint8_t> Out;
  std::vector<CentralRecord> Records;
  llvm::StringSet<> Names;
};

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_ZIPARCHIVE_H
