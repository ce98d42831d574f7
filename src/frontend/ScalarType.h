//===- frontend/ScalarType.h - torch.export's dtype numbering ---*- C++ -*-===//
//
// The export schema numbers dtypes its own way (torch/_export/serde/schema.py:
// 7 float32, 13 bfloat16, 12 bool, 5 int64...), which is not c10's numbering.
// This is the one place that knows both that numbering and the storage class
// names torch.save pickles use ("FloatStorage").
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_SCALARTYPE_H
#define ATALLA_FRONTEND_SCALARTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace atalla::frontend {

/// Values are the export schema's ScalarType numbers; they appear in
/// model.json and in the weights configs, so they must never change. One
/// row each in runtime/abi/DTypes.def.
enum class ScalarType : int32_t {
  Unknown = 0,
#define ATALLA_DTYPE(Number, Enum, Name, Bytes, StorageClass, InBlobs) Enum = Number,
#include "runtime/abi/DTypes.def"
};

/// The ScalarType for a schema number, or nullopt for an unknown number.
std::optional<ScalarType> scalarTypeFromSchema(int64_t Number);

/// Bytes per element (complex types count both halves).
int64_t elementSize(ScalarType T);

/// Short name as torch prints it without the "torch." prefix: "float32".
llvm::StringRef scalarTypeName(ScalarType T);

/// The ScalarType for a short name ("float32", "float", "int64", ...).
std::optional<ScalarType> scalarTypeFromName(llvm::StringRef Name);

/// The ScalarType for a torch.save storage class ("FloatStorage").
std::optional<ScalarType> scalarTypeFromStorageClass(llvm::StringRef Name);

/// The storage class torch.save writes for \p T ("FloatStorage").
llvm::StringRef storageClassName(ScalarType T);

inline bool isFloatingPoint(ScalarType T) {
  switch (T) {
  case ScalarType::Float16:
  case ScalarType::Float32:
  case ScalarType::Float64:
  case ScalarType::BFloat16:
  case ScalarType::Float8E4M3FN:
  case ScalarType::Float8E5M2:
  case ScalarType::Float8E4M3FNUZ:
  case ScalarType::Float8E5M2FNUZ:
    return true;
  default:
    return false;
  }
}

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_SCALARTYPE_H
