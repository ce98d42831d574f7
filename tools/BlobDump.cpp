//===- tools/BlobDump.cpp - atalla-inspect's view of a blob ---------------===//
#include "tools/BlobDump.h"

#include "runtime/abi/Kernels.h"

#include "llvm/Support/Format.h"

#include <algorithm>

using namespace atalla;
using namespace llvm;

static const char *sectionName(uint32_t K) {
  switch (static_cast<abi::SectionKind>(K)) {
  case abi::SectionKind::Code: return "Code";
  case abi::SectionKind::Kernels: return "Kernels";
  case abi::SectionKind::Tensors: return "Tensors";
  case abi::SectionKind::Program: return "Program";
  case abi::SectionKind::Fallback: return "Fallback";
  case abi::SectionKind::Constants: return "Constants";
  case abi::SectionKind::Strings: return "Strings";
  case abi::SectionKind::Provenance: return "Provenance";
  case abi::SectionKind::SampleInputs: return "SampleInputs";
  }
  return "?";
}

static const char *tensorKind(uint32_t K) {
  switch (static_cast<abi::TensorKind>(K)) {
  case abi::TensorKind::Input: return "input";
  case abi::TensorKind::Output: return "output";
  case abi::TensorKind::Constant: return "constant";
  case abi::TensorKind::Intermediate: return "temp";
  }
  return "?";
}

void atalla::tools::dumpBlob(const runtime::Blob &B, raw_ostream &OS) {
  const abi::BlobHeader &H = B.header();
  OS << "blob: " << B.name() << "\n";
  OS << "format: ATALLA00 version " << H.Version << ", kernel ABI " << H.KernelAbi << ", " << H.FileBytes
     << " bytes, DRAM " << H.DramBytes << " bytes, precision "
     << (B.bf16() ? "bf16 (float32 tensors stored as bf16)" : "f32") << "\n";
  OS << "sections:\n";
  for (const abi::SectionEntry &S : B.sections())
    OS << format("  %-12s offset %8llu  size %8llu  fnv1a64 %016llx\n", sectionName(S.Kind),
                 (unsigned long long)S.Offset, (unsigned long long)S.Size, (unsigned long long)S.Checksum);
  OS << "provenance:\n";
  for (const auto &[K, V] : B.provenance())
    OS << "  " << K << " = " << V << "\n";
  OS << "kernels (" << B.kernels().size() << "):\n";
  for (uint32_t I = 0; I < B.kernels().size(); ++I) {
    const abi::KernelRecord &K = B.kernels()[I];
    OS << format("  #%u %-34s %6llu code bytes  ", I, B.kernelSymbol(I).str().c_str(),
                 (unsigned long long)K.CodeSize)
       << B.string(K.KeyOffset) << "\n";
  }
  OS << "memory map (" << B.tensors().size() << " tensors):\n";
  std::vector<uint32_t> Order(B.tensors().size());
  for (uint32_t I = 0; I < Order.size(); ++I)
    Order[I] = I;
  std::stable_sort(Order.begin(), Order.end(), [&](uint32_t A, uint32_t C) {
    return B.tensors()[A].DramAddr < B.tensors()[C].DramAddr;
  });
  for (uint32_t I : Order) {
    const abi::TensorRecord &T = B.tensors()[I];
    std::vector<int64_t> Sizes(T.Sizes, T.Sizes + T.Rank);
    OS << format("  0x%08llx %8llu  %%%-4u %-9s ", (unsigned long long)T.DramAddr, (unsigned long long)T.Bytes, I,
                 tensorKind(T.Kind))
       << runtime::dtypeName(T.DType) << runtime::formatShape(Sizes) << (T.IsView ? " view" : "") << "  "
       << B.tensorName(I) << "\n";
  }
  OS << "program (" << B.instructions().size() << " instructions):\n";
  for (uint32_t I = 0; I < B.instructions().size(); ++I) {
    const abi::Instruction &In = B.instructions()[I];
    OS << format("  %3u: ", I);
    if (In.Op == static_cast<uint32_t>(abi::Opcode::Kernel))
      OS << "kernel #" << In.Index << " "
         << abi::kernelName(static_cast<abi::KernelId>(B.kernels()[In.Index].KernelId));
    else
      OS << "fallback " << B.fallbackOpName(In.Index);
    OS << " (";
    ArrayRef<uint32_t> Ops = B.operands(I);
    for (size_t K = 0; K < Ops.size(); ++K)
      OS << (K ? ", " : "") << (K + In.NumOutputs >= Ops.size() ? "out %" : "%") << Ops[K];
    OS << ")  ; " << B.nodeName(I) << "\n";
  }
}
