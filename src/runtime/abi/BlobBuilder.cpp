//===- runtime/abi/BlobBuilder.cpp - assemble a format-1 blob -------------===//
#include "runtime/abi/BlobBuilder.h"

#include "runtime/abi/KernelAbi.h"
#include "runtime/abi/KernelSpec.h"

#include <cstring>

using namespace atalla::abi;

namespace {
template <typename T> void appendPod(std::vector<uint8_t> &Out, const T &V) {
  const auto *P = reinterpret_cast<const uint8_t *>(&V);
  Out.insert(Out.end(), P, P + sizeof(T));
}
template <typename T> void appendVec(std::vector<uint8_t> &Out, const std::vector<T> &V) {
  if (V.empty())
    return;
  const auto *P = reinterpret_cast<const uint8_t *>(V.data());
  Out.insert(Out.end(), P, P + V.size() * sizeof(T));
}
uint64_t alignTo(uint64_t V, uint64_t A) { return (V + A - 1) / A * A; }
} // namespace

BlobBuilder::BlobBuilder() { Strings.push_back('\0'); }

uint32_t BlobBuilder::addString(const std::string &S) {
  if (S.empty())
    return 0;
  auto It = StringIndex.find(S);
  if (It != StringIndex.end())
    return It->second;
  uint32_t Off = static_cast<uint32_t>(Strings.size());
  Strings += S;
  Strings.push_back('\0');
  StringIndex[S] = Off;
  return Off;
}

uint32_t BlobBuilder::addKernel(KernelId Id, uint32_t NumOperands, const std::string &Symbol,
                                const std::string &Key, const std::vector<uint8_t> &Object) {
  KernelRecord R{};
  R.KernelId = static_cast<uint32_t>(Id);
  R.NumOperands = NumOperands;
  Code.resize(alignTo(Code.size(), 16), 0);
  R.CodeOffset = Code.size();
  R.CodeSize = Object.size();
  Code.insert(Code.end(), Object.begin(), Object.end());
  R.SymbolOffset = addString(Symbol);
  R.KeyOffset = addString(Key);
  Kernels.push_back(R);
  return static_cast<uint32_t>(Kernels.size() - 1);
}

uint64_t BlobBuilder::addConstant(const uint8_t *Data, uint64_t Size) {
  Constants.resize(alignTo(Constants.size(), BlobAlignment), 0);
  uint64_t Off = Constants.size();
  Constants.insert(Constants.end(), Data, Data + Size);
  return Off;
}

uint32_t BlobBuilder::addTensor(const std::string &Name, TensorRecord R) {
  R.NameOffset = addString(Name);
  Tensors.push_back(R);
  return static_cast<uint32_t>(Tensors.size() - 1);
}

void BlobBuilder::addInstruction(Opcode Op, uint32_t Index, const std::vector<uint32_t> &Ops,
                                 uint32_t NumOutputs, const std::string &Node) {
  Instruction I{};
  I.Op = static_cast<uint32_t>(Op);
  I.Index = Index;
  I.FirstOperand = static_cast<uint32_t>(Operands.size());
  I.NumOperands = static_cast<uint32_t>(Ops.size());
  I.NumOutputs = NumOutputs;
  I.NodeOffset = addString(Node);
  Operands.insert(Operands.end(), Ops.begin(), Ops.end());
  Instructions.push_back(I);
}

uint32_t BlobBuilder::beginFallbackCall(const std::string &Op, const std::string &Overload) {
  FallbackCall C{};
  C.OpOffset = addString(Op);
  C.OverloadOffset = addString(Overload);
  C.FirstArg = static_cast<uint32_t>(Args.size());
  C.NumArgs = 0;
  Calls.push_back(C);
  return static_cast<uint32_t>(Calls.size() - 1);
}

void BlobBuilder::addFallbackArg(const std::string &Name, ArgTag Tag, const std::vector<int64_t> &Vals) {
  FallbackArg A{};
  A.NameOffset = addString(Name);
  A.Tag = static_cast<uint32_t>(Tag);
  A.Count = static_cast<uint32_t>(Vals.size());
  if (Tag == ArgTag::Tensor) {
    A.First = Vals.empty() ? 0 : static_cast<uint32_t>(Vals[0]);
    A.Count = 1;
  } else {
    A.First = static_cast<uint32_t>(Values.size());
    for (int64_t V : Vals)
      Values.push_back(static_cast<uint64_t>(V));
  }
  Args.push_back(A);
  ++Calls.back().NumArgs;
}

void BlobBuilder::addFallbackFloatArg(const std::string &Name, ArgTag Tag, const std::vector<double> &Vals) {
  std::vector<int64_t> Bits;
  for (double D : Vals) {
    int64_t B;
    std::memcpy(&B, &D, 8);
    Bits.push_back(B);
  }
  addFallbackArg(Name, Tag, Bits);
}

void BlobBuilder::addSampleInput(const uint8_t *Data, uint64_t Size) {
  Samples.resize(alignTo(Samples.size(), BlobAlignment), 0);
  Samples.insert(Samples.end(), Data, Data + Size);
}

void BlobBuilder::addProvenance(const std::string &Key, const std::string &Value) {
  Provenance.push_back({Key, Value});
}

std::vector<BlobBuilder::Section> BlobBuilder::sections() {
  std::vector<Section> S;
  S.push_back({SectionKind::Code, Code});
  std::vector<uint8_t> K;
  appendVec(K, Kernels);
  S.push_back({SectionKind::Kernels, K});
  std::vector<uint8_t> T;
  appendVec(T, Tensors);
  S.push_back({SectionKind::Tensors, T});
  std::vector<uint8_t> P;
  appendPod(P, ProgramHeader{static_cast<uint32_t>(Instructions.size()), static_cast<uint32_t>(Operands.size())});
  appendVec(P, Instructions);
  appendVec(P, Operands);
  S.push_back({SectionKind::Program, P});
  if (!Calls.empty()) {
    std::vector<uint8_t> F;
    appendPod(F, FallbackHeader{static_cast<uint32_t>(Calls.size()), static_cast<uint32_t>(Args.size()),
                                static_cast<uint32_t>(Values.size()), 0});
    appendVec(F, Calls);
    appendVec(F, Args);
    appendVec(F, Values);
    S.push_back({SectionKind::Fallback, F});
  }
  if (!Constants.empty())
    S.push_back({SectionKind::Constants, Constants});
  S.push_back({SectionKind::Strings, std::vector<uint8_t>(Strings.begin(), Strings.end())});
  if (!Samples.empty())
    S.push_back({SectionKind::SampleInputs, Samples});
  std::string Prov;
  for (const auto &[Key, Value] : Provenance)
    Prov += Key + "=" + Value + "\n";
  S.push_back({SectionKind::Provenance, std::vector<uint8_t>(Prov.begin(), Prov.end())});
  return S;
}

std::vector<uint8_t> BlobBuilder::assemble(const std::vector<Section> &Sections, uint64_t DramBytes,
                                          uint32_t Flags) {
  BlobHeader H{};
  std::memcpy(H.Magic, BlobMagic, 8);
  H.Version = BlobFormatVersion;
  H.HeaderBytes = sizeof(BlobHeader);
  H.SectionCount = static_cast<uint32_t>(Sections.size());
  H.DramBytes = DramBytes;
  H.Flags = Flags;
  H.KernelAbi = KernelAbiVersion;
  std::vector<SectionEntry> Table;
  uint64_t Off = alignTo(sizeof(BlobHeader) + Sections.size() * sizeof(SectionEntry), BlobAlignment);
  for (const Section &S : Sections) {
    SectionEntry E{};
    E.Kind = static_cast<uint32_t>(S.Kind);
    E.Offset = Off;
    E.Size = S.Bytes.size();
    E.Checksum = fnv1a64(S.Bytes.data(), S.Bytes.size());
    Table.push_back(E);
    Off = alignTo(Off + S.Bytes.size(), BlobAlignment);
  }
  H.FileBytes = Off;
  // The header checksum covers the header (checksum field zero) and the table.
  std::vector<uint8_t> Head;
  appendPod(Head, H);
  appendVec(Head, Table);
  H.HeaderChecksum = fnv1a64(Head.data(), Head.size());
  std::vector<uint8_t> Out;
  Out.reserve(Off);
  appendPod(Out, H);
  appendVec(Out, Table);
  for (size_t I = 0; I < Sections.size(); ++I) {
    Out.resize(Table[I].Offset, 0);
    Out.insert(Out.end(), Sections[I].Bytes.begin(), Sections[I].Bytes.end());
  }
  Out.resize(Off, 0);
  return Out;
}

std::vector<uint8_t> BlobBuilder::finish() { return assemble(sections(), DramBytes, Flags); }
