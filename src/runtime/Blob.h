//===- runtime/Blob.h - read and validate a format-1 blob --------*- C++ -*-===//
//
// A parsed .atb blob (runtime/abi/BlobFormat.h). parse() validates every
// offset, size, index, string and DRAM address once and refuses a hostile or
// damaged blob with one message that starts with the blob's name; afterwards
// the accessors trust the contents and never fail. Records are copied out of
// the bytes with memcpy, so nothing relies on the file's alignment.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_BLOB_H
#define ATALLA_RUNTIME_BLOB_H

#include "runtime/abi/BlobFormat.h"
#include "runtime/abi/SchemaEnums.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace atalla::runtime {

/// Upper bounds a blob must respect before anything is allocated for it, so
/// that a hostile header can not make the loader reserve absurd amounts.
struct BlobLimits {
  uint64_t MaxFileBytes = 4ull << 30;  ///< the whole file
  uint64_t MaxDramBytes = 16ull << 30; ///< header DramBytes: the device DRAM to allocate
  uint32_t MaxSections = 64;           ///< section table entries
  uint32_t MaxInstructions = 1u << 24; ///< Program instructions
  uint32_t MaxOperands = 1u << 26;     ///< Program operand list entries
};

/// Element size in bytes of an export-schema dtype number, or 0 if unknown.
/// Known: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float16, 7 float32,
/// 8 float64, 12 bool, 13 bfloat16.
uint64_t dtypeElementSize(uint32_t DType);
/// "float32", "int64", ... ("dtype 99" when unknown).
std::string dtypeName(uint32_t DType);
/// "[8, 16]".
std::string formatShape(llvm::ArrayRef<int64_t> Sizes);

/// The sizes of a tensor record (Rank entries).
inline llvm::ArrayRef<int64_t> recordSizes(const abi::TensorRecord &R) {
  return llvm::ArrayRef<int64_t>(R.Sizes, R.Rank);
}
inline llvm::ArrayRef<int64_t> recordStrides(const abi::TensorRecord &R) {
  return llvm::ArrayRef<int64_t>(R.Strides, R.Rank);
}
/// Number of elements of a (validated) record.
uint64_t recordNumel(const abi::TensorRecord &R);
/// Bytes from DramAddr to one past the last byte the record touches
/// (0 for an empty tensor). A tensor that is not a view is contiguous (its
/// Strides are informational): its extent is Bytes.
/// The normalised error (max|d| / max|ref|) a bf16 run's float32 outputs
/// may show against eager fp32, for a program whose longest reduction is
/// \p N: 2^-8 x (6 + log2 N). u = 2^-8 is bf16's unit roundoff; 6 u covers
/// the roundings along a path through a model's stages (inputs, weights,
/// each stored result) and a softmax's turning of absolute logit error into
/// relative error; log2 N u the growth of a reduction's error where its
/// partial sums cancel (README, "bf16 precision").
double bf16Tolerance(int64_t N);

uint64_t recordExtent(const abi::TensorRecord &R, uint64_t ElemBytes);
inline uint64_t recordExtent(const abi::TensorRecord &R) { return recordExtent(R, dtypeElementSize(R.DType)); }
/// Whether the record is laid out densely in row-major order: not a view,
/// or a view whose strides are the row-major strides of its sizes
/// (dimensions of size 1 may carry any stride).
bool recordIsContiguous(const abi::TensorRecord &R);

class Blob {
public:
  /// Validates \p Bytes; \p Name (usually the path) starts every message.
  static llvm::Expected<Blob> parse(std::vector<uint8_t> Bytes, std::string Name, const BlobLimits &L = {});
  /// Reads and parses a file; the path names it.
  static llvm::Expected<Blob> readFile(llvm::StringRef Path, const BlobLimits &L = {});

  const std::string &name() const { return Name; }
  const abi::BlobHeader &header() const { return Header; }
  uint64_t dramBytes() const { return Header.DramBytes; }
  llvm::ArrayRef<abi::SectionEntry> sections() const { return Sections; }
  /// The bytes of a section (empty when the blob has none of that kind).
  llvm::ArrayRef<uint8_t> section(abi::SectionKind K) const;
  bool hasSection(abi::SectionKind K) const;

  llvm::ArrayRef<abi::KernelRecord> kernels() const { return Kernels; }
  /// The relocatable object of kernel record \p I.
  llvm::ArrayRef<uint8_t> kernelObject(uint32_t I) const;
  llvm::StringRef kernelSymbol(uint32_t I) const { return string(Kernels[I].SymbolOffset); }

  /// Whether float32 tensors are stored as bf16 (abi::BlobFlagBf16): in
  /// DRAM and in the Constants section; user tensors stay float32.
  bool bf16() const { return Header.Flags & abi::BlobFlagBf16; }
  /// Bytes per element of dtype \p DType in DRAM and in Constants.
  uint64_t storageElementSize(uint32_t DType) const {
    return bf16() && DType == uint32_t(abi::SchemaDType::Float32) ? 2 : dtypeElementSize(DType);
  }
  /// The longest reduction any of its kernels does: a GEMM's K, a softmax's,
  /// layer norm's or reduction's row (1 for elementwise work only).
  int64_t longestReduction() const;
  /// recordExtent at this blob's storage element sizes.
  uint64_t extent(const abi::TensorRecord &R) const { return recordExtent(R, storageElementSize(R.DType)); }

  llvm::ArrayRef<abi::TensorRecord> tensors() const { return Tensors; }
  llvm::StringRef tensorName(uint32_t I) const { return string(Tensors[I].NameOffset); }
  /// Tensor indices of the user inputs / outputs, ordered by UserIndex.
  llvm::ArrayRef<uint32_t> inputs() const { return InputIdx; }
  llvm::ArrayRef<uint32_t> outputs() const { return OutputIdx; }
  /// Whether the blob carries the source archive's sample inputs.
  bool hasSampleInputs() const { return hasSection(abi::SectionKind::SampleInputs); }
  /// The contiguous bytes of sample input \p I (user order); empty without
  /// a SampleInputs section.
  llvm::ArrayRef<uint8_t> sampleInput(uint32_t I) const;

  llvm::ArrayRef<abi::Instruction> instructions() const { return Instructions; }
  /// Operand tensor indices of instruction \p I (inputs, then outputs).
  llvm::ArrayRef<uint32_t> operands(uint32_t I) const;
  llvm::StringRef nodeName(uint32_t I) const { return string(Instructions[I].NodeOffset); }

  llvm::ArrayRef<abi::FallbackCall> fallbackCalls() const { return Calls; }
  const abi::FallbackCall &fallbackCall(uint32_t I) const { return Calls[I]; }
  llvm::ArrayRef<abi::FallbackArg> fallbackArgs(const abi::FallbackCall &C) const;
  /// Raw 8-byte value \p J of the fallback value pool.
  uint64_t fallbackValue(uint32_t J) const { return Values[J]; }
  int64_t fallbackInt(uint32_t J) const { return static_cast<int64_t>(Values[J]); }
  double fallbackFloat(uint32_t J) const;
  /// "aten::add.Tensor" (or "aten::sin" for the default overload).
  std::string fallbackOpName(uint32_t I) const;

  llvm::ArrayRef<uint8_t> constants() const { return section(abi::SectionKind::Constants); }
  /// The string at \p Offset of the Strings section. Offsets recorded in the
  /// blob were validated; others give "".
  llvm::StringRef string(uint32_t Offset) const;
  const std::vector<std::pair<std::string, std::string>> &provenance() const { return Provenance; }
  /// The provenance value for \p Key, if present.
  std::optional<std::string> provenance(llvm::StringRef Key) const;

private:
  Blob() = default;
  llvm::Error validate(const BlobLimits &L);
  llvm::Error validateSections(const BlobLimits &L);
  llvm::Error validateKernels();
  llvm::Error validateTensors();
  llvm::Error validateFallback();
  llvm::Error validateProgram(const BlobLimits &L);
  llvm::Error checkString(uint32_t Offset, const llvm::Twine &What) const;
  llvm::Error fail(const llvm::Twine &Msg) const;

  std::string Name;
  std::vector<uint8_t> Bytes;
  abi::BlobHeader Header{};
  std::vector<abi::SectionEntry> Sections;
  int SectionIndex[16]; ///< by SectionKind value; -1 when absent
  std::vector<abi::KernelRecord> Kernels;
  std::vector<abi::TensorRecord> Tensors;
  std::vector<uint32_t> InputIdx, OutputIdx;
  std::vector<uint64_t> SampleOffsets; ///< by user input, into SampleInputs
  std::vector<abi::Instruction> Instructions;
  std::vector<uint32_t> Operands;
  std::vector<abi::FallbackCall> Calls;
  std::vector<abi::FallbackArg> Args;
  std::vector<uint64_t> Values;
  std::vector<std::pair<std::string, std::string>> Provenance;
};

} // namespace atalla::runtime

#endif // ATALLA_RUNTIME_BLOB_H
