//===- codegen/BlobWriter.cpp - compile a Program into a blob -------------===//
#include "codegen/BlobWriter.h"

#include "frontend/Error.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/BlobBuilder.h"

#include "llvm/Config/llvm-config.h"

#include <cstring>
#include <map>

using namespace atalla;
using namespace atalla::codegen;

#ifndef ATALLA_VERSION
#define ATALLA_VERSION "0.0.0"
#endif
#ifndef ATALLA_LIBTORCH_VERSION
#define ATALLA_LIBTORCH_VERSION "unknown"
#endif

const char *atalla::codegen::compilerVersion() { return "atalla-gen " ATALLA_VERSION; }

llvm::Expected<std::vector<uint8_t>> atalla::codegen::writeBlob(const lower::Program &P, const BlobOptions &Opts,
                                                                BlobStats *Stats) {
  BlobStats Local;
  BlobStats &St = Stats ? *Stats : Local;
  abi::BlobBuilder B;
  // Distinct specialisations, compiled once each, in first-use order.
  std::map<std::string, uint32_t> KernelIndex;
  std::vector<const abi::KernelSpec *> Unique;
  for (const lower::PInstr &I : P.Instrs)
    if (I.Op == abi::Opcode::Kernel && !KernelIndex.count(I.Spec.key())) {
      KernelIndex[I.Spec.key()] = static_cast<uint32_t>(Unique.size());
      Unique.push_back(&I.Spec);
    }
  for (size_t K = 0; K < Unique.size(); ++K) {
    const abi::KernelSpec &Spec = *Unique[K];
    auto C = compileKernel(Spec, Opts.Codegen);
    if (!C)
      return frontend::prefixError(C.takeError(), "kernel '" + Spec.key() + "': ");
    B.addKernel(Spec.Kernel, static_cast<uint32_t>(Spec.Operands.size()), C->Symbol, Spec.key(), C->Object);
    KernelStat KS;
    KS.Symbol = C->Symbol;
    KS.Key = Spec.key();
    KS.CodeBytes = C->Object.size();
    KS.IrMs = C->IrMs;
    KS.OptMs = C->OptMs;
    KS.CodegenMs = C->CodegenMs;
    St.Kernels.push_back(KS);
    St.CodeBytes += C->Object.size();
    if (Opts.Progress)
      Opts.Progress(static_cast<unsigned>(K + 1), static_cast<unsigned>(Unique.size()));
  }
  // Tensors.
  for (const lower::PTensor &T : P.Tensors) {
    abi::TensorRecord R{};
    R.Kind = static_cast<uint32_t>(T.Kind);
    R.DType = static_cast<uint32_t>(T.Dtype);
    if (T.Sizes.size() > abi::MaxTensorRank)
      return frontend::makeError("tensor '" + T.Name + "' has rank " + std::to_string(T.Sizes.size()) +
                                 " (the blob format allows " + std::to_string(abi::MaxTensorRank) + ")");
    R.Rank = static_cast<uint32_t>(T.Sizes.size());
    for (size_t D = 0; D < T.Sizes.size(); ++D) {
      R.Sizes[D] = T.Sizes[D];
      R.Strides[D] = T.Strides[D];
    }
    R.DramAddr = T.DramAddr;
    R.Bytes = T.Bytes;
    R.UserIndex = T.UserIndex;
    R.IsView = T.isView();
    if (T.Kind == abi::TensorKind::Constant && !T.isView() && T.Constant) {
      std::vector<uint8_t> Bytes = T.Constant->contiguousBytes();
      if (P.storageElementSize(T.Dtype) != frontend::elementSize(T.Dtype)) { // float32 stored as bf16
        std::vector<uint8_t> Half(Bytes.size() / 2);
        abi::bf16FromF32N(Half.data(), Bytes.data(), Bytes.size() / 4);
        Bytes = std::move(Half);
      }
      R.ConstantOffset = B.addConstant(Bytes.data(), Bytes.size());
    }
    B.addTensor(T.Name, R);
  }
  // Instructions.
  for (const lower::PInstr &I : P.Instrs) {
    std::vector<uint32_t> Ops(I.Operands.begin(), I.Operands.end());
    ++St.Instructions;
    if (I.Op == abi::Opcode::Kernel) {
      ++St.KernelInstructions;
      uint32_t K = KernelIndex.at(I.Spec.key());
      ++St.Kernels[K].Uses;
      B.addInstruction(abi::Opcode::Kernel, K, Ops, I.NumOutputs, I.Node);
      continue;
    }
    ++St.FallbackInstructions;
    uint32_t Call = B.beginFallbackCall(I.AtenOp, I.Overload);
    for (const lower::FallbackArgument &A : I.Args) {
      switch (A.Tag) {
      case abi::ArgTag::Float:
      case abi::ArgTag::FloatList:
        B.addFallbackFloatArg(A.Name, A.Tag, A.Floats);
        break;
      case abi::ArgTag::String:
      case abi::ArgTag::Device:
        B.addFallbackArg(A.Name, A.Tag, {static_cast<int64_t>(B.addString(A.Text))});
        break;
      default:
        B.addFallbackArg(A.Name, A.Tag, A.Ints);
        break;
      }
    }
    B.addInstruction(abi::Opcode::Fallback, Call, Ops, I.NumOutputs, I.Node);
  }
  for (const std::vector<uint8_t> &In : Opts.SampleInputs)
    B.addSampleInput(In.data(), In.size());
  B.setDramBytes(P.DramBytes);
  if (P.Precision == abi::DType::BF16)
    B.setFlags(abi::BlobFlagBf16);
  B.addProvenance("compiler", compilerVersion());
  B.addProvenance("llvm", LLVM_VERSION_STRING);
  B.addProvenance("libtorch", ATALLA_LIBTORCH_VERSION);
  B.addProvenance("target_triple", targetTriple());
  B.addProvenance("target_cpu", resolvedCPU(Opts.Codegen));
  // Every ISA feature the code may use: a host that lacks one refuses the
  // blob before running it (runtime::missingCpuFeatures).
  auto Features = enabledFeatures(Opts.Codegen);
  if (!Features)
    return Features.takeError();
  B.addProvenance("target_features", *Features);
  B.addProvenance("opt_level", std::to_string(Opts.Codegen.OptLevel));
  B.addProvenance("precision", P.Precision == abi::DType::BF16 ? "bf16" : "f32");
  for (const auto &[Key, Value] : Opts.Provenance)
    B.addProvenance(Key, Value);
  std::vector<uint8_t> Blob = B.finish();
  St.BlobBytes = Blob.size();
  return Blob;
}
