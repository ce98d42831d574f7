//===- runtime/abi/BlobBuilder.h - assemble a format-1 blob -----*- C++ -*-===//
//
// Lays out the sections of BlobFormat.h: string pool with dedup, 64-byte
// aligned sections and constants, checksums. The compiler uses it to write
// blobs, tests use it to build hostile ones. Deterministic: the same calls
// give the same bytes. Dependency-free (C++ standard library).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_BLOBBUILDER_H
#define ATALLA_RUNTIME_ABI_BLOBBUILDER_H

#include "runtime/abi/BlobFormat.h"
#include "runtime/abi/Kernels.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace atalla::abi {

class BlobBuilder {
public:
  BlobBuilder();

  /// Offset of \p S in the string pool (deduplicated; 0 is "").
  uint32_t addString(const std::string &S);
  /// A kernel record holding \p Object; returns its index.
  uint32_t addKernel(KernelId Id, uint32_t NumOperands, const std::string &Symbol, const std::string &Key,
                     const std::vector<uint8_t> &Object);
  /// Bytes for the Constants section, 64-byte aligned; returns their offset.
  uint64_t addConstant(const uint8_t *Data, uint64_t Size);
  /// A tensor record; returns its index. Name is pooled here.
  uint32_t addTensor(const std::string &Name, TensorRecord R);
  /// An instruction with its operand tensor indices.
  void addInstruction(Opcode Op, uint32_t Index, const std::vector<uint32_t> &Operands, uint32_t NumOutputs,
                      const std::string &Node);

  /// Fallback calls: begin a call, add its arguments, get its index.
  uint32_t beginFallbackCall(const std::string &Op, const std::string &Overload);
  void addFallbackArg(const std::string &Name, ArgTag Tag, const std::vector<int64_t> &Values);
  void addFallbackFloatArg(const std::string &Name, ArgTag Tag, const std::vector<double> &Values);

  void setDramBytes(uint64_t Bytes) { DramBytes = Bytes; }
  /// Header flags (BlobFlag*).
  void setFlags(uint32_t F) { Flags = F; }
  /// Appends one sample input (64-byte aligned) to the SampleInputs section.
  void addSampleInput(const uint8_t *Data, uint64_t Size);
  void addProvenance(const std::string &Key, const std::string &Value);

  /// The blob. The builder can not be used afterwards.
  std::vector<uint8_t> finish();

  /// Raw section access for tests that build malformed blobs.
  struct Section {
    SectionKind Kind;
    std::vector<uint8_t> Bytes;
  };
  /// Lays out \p Sections (in order) with a header; checksums computed.
  static std::vector<uint8_t> assemble(const std::vector<Section> &Sections, uint64_t DramBytes,
                                       uint32_t Flags = 0);
  /// The sections finish() would write, for tests to tamper with.
  std::vector<Section> sections();

private:
  std::string Strings;
  std::map<std::string, uint32_t> StringIndex;
  std::vector<uint8_t> Code, Constants, Samples;
  std::vector<KernelRecord> Kernels;
  std::vector<TensorRecord> Tensors;
  std::vector<Instruction> Instructions;
  std::vector<uint32_t> Operands;
  std::vector<FallbackCall> Calls;
  std::vector<FallbackArg> Args;
  std::vector<uint64_t> Values;
  std::vector<std::pair<std::string, std::string>> Provenance;
  uint64_t DramBytes = 0;
  uint32_t Flags = 0;
};

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_BLOBBUILDER_H
