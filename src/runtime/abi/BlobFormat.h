//===- runtime/abi/BlobFormat.h - the .atb blob, format version 1 -*- C++ -*-===//
//
// The compiled program as a file: a header, a section table, and sections,
// every integer little-endian, every section 64-byte aligned, every section
// covered by an FNV-1a-64 checksum. The loader validates every offset, size,
// index and address once (runtime/BlobReader) and refuses a blob with one
// message saying what is wrong; later stages trust it. The same inputs give
// byte-identical blobs (no timestamps, no host paths).
//
// Sections (each at most once; Code, Kernels, Tensors, Program, Strings and
// Provenance are required):
//   Code        concatenated relocatable ELF objects, one per kernel record
//   Kernels     KernelRecord[]: which object holds which specialisation
//   Tensors     TensorRecord[]: every DRAM tensor (shape, dtype, address)
//   Program     Instruction[] then the uint32 operand list they index
//   Fallback    FallbackCall[] + FallbackArg[] + a value pool (ATen calls)
//   Constants   raw bytes of constant tensors, placed in DRAM before a run
//   Strings     NUL-terminated strings referenced by offset
//   Provenance  "key=value\n" text: compiler, LLVM and LibTorch versions,
//               target triple and CPU, source model hash, options
//   SampleInputs (optional) the source archive's sample inputs, contiguous,
//               each 64-byte aligned, in input order (shapes: the Input
//               tensor records), so `atalla-run --inputs sample` needs no .pt2
//
// Like IREE's executable_library.h, every struct is documented field by
// field and its size is static_asserted; a change of layout bumps
// BlobFormatVersion.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_BLOBFORMAT_H
#define ATALLA_RUNTIME_ABI_BLOBFORMAT_H

#include <cstdint>

namespace atalla::abi {

constexpr char BlobMagic[8] = {'A', 'T', 'A', 'L', 'L', 'A', '0', '0'};
constexpr uint32_t BlobFormatVersion = 1;
constexpr uint64_t BlobAlignment = 64;   ///< sections and DRAM tensors
constexpr uint32_t MaxTensorRank = 8;

/// Header flags. Bf16: the program was compiled at bf16 precision; every
/// float32 tensor is stored as bf16 (rounded to nearest even) in DRAM and in
/// the Constants section, its record's Bytes count bf16 elements, and its
/// kernels are bf16 kernels (KernelSpec.h). User inputs and outputs, and
/// the SampleInputs section, stay float32: the runtime converts.
constexpr uint32_t BlobFlagBf16 = 1;
constexpr uint32_t BlobKnownFlags = BlobFlagBf16;

struct BlobHeader {
  char Magic[8];          ///< BlobMagic
  uint32_t Version;       ///< BlobFormatVersion
  uint32_t Flags;         ///< BlobFlag* bits; others must be 0
  uint32_t HeaderBytes;   ///< sizeof(BlobHeader)
  uint32_t SectionCount;  ///< entries in the section table after the header
  uint64_t FileBytes;     ///< total size of the blob
  uint64_t DramBytes;     ///< DRAM the program needs (all tensors fit below it)
  uint32_t KernelAbi;     ///< KernelAbiVersion the code was built for
  uint32_t Reserved0;
  uint64_t HeaderChecksum; ///< FNV-1a-64 of the header (with this field 0) and the section table
  uint64_t Reserved1;
};
static_assert(sizeof(BlobHeader) == 64, "BlobHeader layout");

enum class SectionKind : uint32_t {
  Code = 1,
  Kernels = 2,
  Tensors = 3,
  Program = 4,
  Fallback = 5,
  Constants = 6,
  Strings = 7,
  Provenance = 8,
  SampleInputs = 9, ///< optional: the archive's sample inputs, raw, in input order
};

struct SectionEntry {
  uint32_t Kind;     ///< SectionKind
  uint32_t Reserved; ///< 0
  uint64_t Offset;   ///< from the start of the blob, multiple of BlobAlignment
  uint64_t Size;     ///< bytes
  uint64_t Checksum; ///< FNV-1a-64 of the section's bytes
};
static_assert(sizeof(SectionEntry) == 32, "SectionEntry layout");

struct KernelRecord {
  uint32_t KernelId;     ///< a Kernels.def id
  uint32_t NumOperands;  ///< Args the kernel takes
  uint64_t CodeOffset;   ///< of its ELF object within the Code section
  uint64_t CodeSize;     ///< bytes of that object
  uint32_t SymbolOffset; ///< Strings: the function's symbol
  uint32_t KeyOffset;    ///< Strings: KernelSpec::key()
};
static_assert(sizeof(KernelRecord) == 32, "KernelRecord layout");

enum class TensorKind : uint32_t {
  Input = 1,        ///< a user input, written by the runtime before a run
  Output = 2,       ///< a user output, read back after a run
  Constant = 3,     ///< parameter, buffer or lifted constant (Constants section)
  Intermediate = 4, ///< produced and consumed inside the program
};

struct TensorRecord {
  uint32_t NameOffset;     ///< Strings: the graph value's name
  uint32_t Kind;           ///< TensorKind
  uint32_t DType;          ///< export-schema ScalarType number (7 = float32)
  uint32_t Rank;           ///< <= MaxTensorRank
  uint64_t DramAddr;       ///< byte address of element [0,...,0]
  uint64_t Bytes;          ///< numel * element size (the extent it owns)
  int64_t Sizes[MaxTensorRank];
  int64_t Strides[MaxTensorRank]; ///< elements; a view's strides
  uint32_t UserIndex;      ///< position among inputs/outputs; else 0
  uint32_t IsView;         ///< aliases another tensor's storage (owns no bytes)
  uint64_t ConstantOffset; ///< Constant: offset of its bytes in Constants
};
static_assert(sizeof(TensorRecord) == 176, "TensorRecord layout");

enum class Opcode : uint32_t {
  Kernel = 1,   ///< call kernel record Index with the operands' DRAM addresses
  Fallback = 2, ///< run FallbackCall Index through LibTorch
};

struct Instruction {
  uint32_t Op;           ///< Opcode
  uint32_t Index;        ///< kernel record or fallback call
  uint32_t FirstOperand; ///< into the operand list (tensor indices)
  uint32_t NumOperands;  ///< inputs then outputs
  uint32_t NumOutputs;   ///< the trailing NumOutputs operands are written
  uint32_t NodeOffset;   ///< Strings: the graph node this came from
};
static_assert(sizeof(Instruction) == 24, "Instruction layout");

/// Program section: uint32 InstructionCount, uint32 OperandCount, then
/// Instruction[InstructionCount], then uint32 Operands[OperandCount].
struct ProgramHeader {
  uint32_t InstructionCount;
  uint32_t OperandCount;
};
static_assert(sizeof(ProgramHeader) == 8, "ProgramHeader layout");

/// Fallback section: FallbackHeader, FallbackCall[CallCount],
/// FallbackArg[ArgCount], then int64/double Values[ValueCount] (8 bytes each).
struct FallbackHeader {
  uint32_t CallCount;
  uint32_t ArgCount;
  uint32_t ValueCount;
  uint32_t Reserved;
};
static_assert(sizeof(FallbackHeader) == 16, "FallbackHeader layout");

struct FallbackCall {
  uint32_t OpOffset;       ///< Strings: "aten::conv2d"
  uint32_t OverloadOffset; ///< Strings: "" or "input"
  uint32_t FirstArg;       ///< into FallbackArg[]
  uint32_t NumArgs;
};
static_assert(sizeof(FallbackCall) == 16, "FallbackCall layout");

enum class ArgTag : uint32_t {
  None = 0,
  Tensor = 1,          ///< Value: operand position (into the instruction's inputs)
  TensorList = 2,      ///< Count operand positions in Values
  OptTensorList = 3,   ///< Count entries in Values: operand position or -1 (None)
  Int = 4,             ///< Values[First]
  IntList = 5,         ///< Count int64 in Values
  Float = 6,           ///< Values[First] as double bits
  FloatList = 7,
  Bool = 8,            ///< Values[First] 0/1
  BoolList = 9,
  String = 10,         ///< Values[First]: Strings offset
  ScalarType = 11,     ///< Values[First]: export-schema ScalarType number
  Layout = 12,         ///< Values[First]: export-schema Layout number
  MemoryFormat = 13,   ///< Values[First]: export-schema MemoryFormat number
  Device = 14,         ///< Values[First]: Strings offset of "cpu" / "cuda:0"
};

struct FallbackArg {
  uint32_t NameOffset; ///< Strings: the schema argument name
  uint32_t Tag;        ///< ArgTag
  uint32_t First;      ///< into Values (or the operand position for Tensor)
  uint32_t Count;      ///< list length
};
static_assert(sizeof(FallbackArg) == 16, "FallbackArg layout");

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_BLOBFORMAT_H
