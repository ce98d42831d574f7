//===- frontend/ScalarType.cpp - torch.export's dtype numbering -----------===//
#include "frontend/ScalarType.h"

#include "llvm/ADT/StringSwitch.h"

using namespace atalla::frontend;

namespace {
struct DtypeRow {
  ScalarType Type;
  int64_t Size;
  const char *Name;
  const char *Storage;
};
// One row per dtype: schema number, size, torch name, torch.save storage class.
constexpr DtypeRow Rows[] = {
#define ATALLA_DTYPE(Number, Enum, Name, Bytes, StorageClass, InBlobs) {ScalarType::Enum, Bytes, Name, StorageClass},
#include "runtime/abi/DTypes.def"
};

const DtypeRow *findRow(ScalarType T) {
  for (const DtypeRow &R : Rows)
    if (R.Type == T)
      return &R;
  return nullptr;
}
} // namespace

std::optional<ScalarType> atalla::frontend::scalarTypeFromSchema(int64_t N) {
  for (const DtypeRow &R : Rows)
    if (static_cast<int64_t>(R.Type) == N)
      return R.Type;
  return std::nullopt;
}

int64_t atalla::frontend::elementSize(ScalarType T) {
  const DtypeRow *R = findRow(T);
  return R ? R->Size : 0;
}

llvm::StringRef atalla::frontend::scalarTypeName(ScalarType T) {
  const DtypeRow *R = findRow(T);
  return R ? R->Name : "unknown";
}

std::optional<ScalarType> atalla::frontend::scalarTypeFromName(llvm::StringRef Name) {
  Name.consume_front("torch.");
  for (const DtypeRow &R : Rows)
    if (Name == R.Name)
      return R.Type;
  // Aliases torch also accepts.
  return llvm::StringSwitch<std::optional<ScalarType>>(Name)
      .Case("float", ScalarType::Float32)
      .Case("double", ScalarType::Float64)
      .Case("half", ScalarType::Float16)
      .Case("long", ScalarType::Int64)
      .Case("int", ScalarType::Int32)
      .Case("short", ScalarType::Int16)
      .Default(std::nullopt);
}

std::optional<ScalarType> atalla::frontend::scalarTypeFromStorageClass(llvm::StringRef Name) {
  for (const DtypeRow &R : Rows)
    if (Name == R.Storage)
      return R.Type;
  return std::nullopt;
}

llvm::StringRef atalla::frontend::storageClassName(ScalarType T) {
  const DtypeRow *R = findRow(T);
  return R ? R->Storage : "";
}
