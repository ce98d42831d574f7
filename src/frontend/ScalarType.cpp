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
    {ScalarType::UInt8, 1, "uint8", "ByteStorage"},
    {ScalarType::Int8, 1, "int8", "CharStorage"},
    {ScalarType::Int16, 2, "int16", "ShortStorage"},
    {ScalarType::Int32, 4, "int32", "IntStorage"},
    {ScalarType::Int64, 8, "int64", "LongStorage"},
    {ScalarType::Float16, 2, "float16", "HalfStorage"},
    {ScalarType::Float32, 4, "float32", "FloatStorage"},
    {ScalarType::Float64, 8, "float64", "DoubleStorage"},
    {ScalarType::ComplexHalf, 4, "complex32", "ComplexHalfStorage"},
    {ScalarType::Complex64, 8, "complex64", "ComplexFloatStorage"},
    {ScalarType::Complex128, 16, "complex128", "ComplexDoubleStorage"},
    {ScalarType::Bool, 1, "bool", "BoolStorage"},
    {ScalarType::BFloat16, 2, "bfloat16", "BFloat16Storage"},
    {ScalarType::UInt16, 2, "uint16", "UInt16Storage"},
    {ScalarType::Float8E4M3FN, 1, "float8_e4m3fn", "Float8_e4m3fnStorage"},
    {ScalarType::Float8E5M2, 1, "float8_e5m2", "Float8_e5m2Storage"},
    {ScalarType::Float8E4M3FNUZ, 1, "float8_e4m3fnuz", "Float8_e4m3fnuzStorage"},
    {ScalarType::Float8E5M2FNUZ, 1, "float8_e5m2fnuz", "Float8_e5m2fnuzStorage"},
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
