//===- runtime/abi/SchemaEnums.h - the export schema's numbers -*- C++ -*-===//
//
// The torch.export schema's numbering of element types (DTypes.def), layouts
// and memory formats, as named constants: model.json, the blob's records and
// the fallback's arguments carry these numbers, and no file writes them out
// by hand. Standard library only.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_SCHEMAENUMS_H
#define ATALLA_RUNTIME_ABI_SCHEMAENUMS_H

#include <cstdint>

namespace atalla::abi {

/// Every element type of DTypes.def by its schema number.
enum class SchemaDType : uint32_t {
  Unknown = 0,
#define ATALLA_DTYPE(Number, Enum, Name, Bytes, StorageClass, InBlobs) Enum = Number,
#include "runtime/abi/DTypes.def"
};

/// Bytes per element of a type a blob may hold; 0 for any other number.
constexpr uint64_t blobDTypeBytes(uint32_t Number) {
  switch (Number) {
#define ATALLA_DTYPE(N, Enum, Name, Bytes, StorageClass, InBlobs)                                                     \
  case N:                                                                                                             \
    return InBlobs ? Bytes : 0;
#include "runtime/abi/DTypes.def"
  }
  return 0;
}

/// torch's short name of a type a blob may hold ("float32"); nullptr for
/// any other number.
constexpr const char *blobDTypeName(uint32_t Number) {
  switch (Number) {
#define ATALLA_DTYPE(N, Enum, Name, Bytes, StorageClass, InBlobs)                                                     \
  case N:                                                                                                             \
    return InBlobs ? Name : nullptr;
#include "runtime/abi/DTypes.def"
  }
  return nullptr;
}

/// The schema's Layout numbers.
enum class SchemaLayout : int64_t {
  Unknown = 0,
  SparseCoo = 1,
  SparseCsr = 2,
  SparseCsc = 3,
  SparseBsr = 4,
  SparseBsc = 5,
  Mkldnn = 6, ///< _mkldnn
  Strided = 7,
};

/// The schema's MemoryFormat numbers.
enum class SchemaMemoryFormat : int64_t {
  Unknown = 0,
  Contiguous = 1, ///< ContiguousFormat
  ChannelsLast = 2,
  ChannelsLast3d = 3,
  Preserve = 4, ///< PreserveFormat
};

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_SCHEMAENUMS_H
