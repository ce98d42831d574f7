//===- codegen/BlobWriter.cpp - compile a Program into a blob -------------===//
#include "codegen/BlobWriter.h"
#include "codegen/KernelCache.h"

#include "frontend/Error.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/BlobBuilder.h"

#include "llvm/Config/llvm-config.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace atalla;
using namespace atalla::codegen;

#ifndef ATALLA_VERSION
#define ATALLA_VERSION "0.0.0"
#endif
#ifndef ATALLA_LIBTORCH_VERSION
#define ATALLA_LIBTORCH_VERSION "unknown"
#endif

const char *atalla::codegen::compilerVersion() { return "atalla-gen " ATALLA_VERSION; }

namespace {

/// Every distinct kernel compiled: from the cache where it has them, the
/// rest on worker threads (each with its own LLVM context and target
/// machine), results kept by index so the blob's bytes do not depend on
/// the order they finish. Adds them to \p B in order and their statistics
/// to \p St; the first error in that order, naming the kernel.
llvm::Error compileKernels(const std::vector<const abi::KernelSpec *> &Unique, const BlobOptions &Opts,
                           abi::BlobBuilder &B, BlobStats &St) {
  const auto T0 = std::chrono::steady_clock::now();
  std::vector<std::optional<llvm::Expected<CompiledKernel>>> Results(Unique.size());
  std::vector<std::string> CacheKeys(Unique.size());
  std::vector<bool> FromCache(Unique.size(), false);
  std::vector<size_t> ToCompile;
  for (size_t K = 0; K < Unique.size(); ++K) {
    if (!Opts.CacheDir.empty()) {
      CacheKeys[K] = kernelCacheKey(*Unique[K], Opts.Codegen);
      if (std::optional<CompiledKernel> C = readCachedKernel(Opts.CacheDir, CacheKeys[K])) {
        Results[K].emplace(std::move(*C));
        FromCache[K] = true;
        continue;
      }
    }
    ToCompile.push_back(K);
  }
  unsigned Threads = Opts.Jobs ? Opts.Jobs : std::max(1u, std::thread::hardware_concurrency());
  Threads = static_cast<unsigned>(std::min<size_t>(Threads, std::max<size_t>(ToCompile.size(), 1)));
  St.CompileThreads = Threads;
  std::mutex Lock;
  std::condition_variable Done;
  size_t Next = 0, Finished = Unique.size() - ToCompile.size();
  auto Worker = [&] {
    for (;;) {
      size_t K;
      {
        std::lock_guard<std::mutex> G(Lock);
        if (Next == ToCompile.size())
          return;
        K = ToCompile[Next++];
      }
      auto C = compileKernel(*Unique[K], Opts.Codegen);
      std::lock_guard<std::mutex> G(Lock);
      Results[K].emplace(std::move(C));
      ++Finished;
      Done.notify_one();
    }
  };
  // With a progress display this thread reports while Threads workers
  // compile; without, it is one of them.
  const bool Report = bool(Opts.Progress) && !ToCompile.empty();
  std::vector<std::thread> Pool;
  for (unsigned I = Report ? 0 : 1; I < Threads; ++I)
    Pool.emplace_back(Worker);
  if (!Report) {
    Worker();
  } else {
    // Report progress from this thread while the workers compile.
    std::unique_lock<std::mutex> G(Lock);
    size_t Shown = 0;
    while (Shown < Unique.size()) {
      Done.wait(G, [&] { return Finished > Shown; });
      Shown = Finished;
      G.unlock();
      Opts.Progress(static_cast<unsigned>(Shown), static_cast<unsigned>(Unique.size()));
      G.lock();
    }
  }
  for (std::thread &T : Pool)
    T.join();
  St.KernelsWallMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
  llvm::Error FirstError = llvm::Error::success();
  for (size_t K = 0; K < Unique.size(); ++K) {
    const abi::KernelSpec &Spec = *Unique[K];
    llvm::Expected<CompiledKernel> &C = *Results[K];
    if (!C) {
      llvm::Error E = frontend::prefixError(C.takeError(), "kernel '" + Spec.key() + "': ");
      if (FirstError)
        llvm::consumeError(std::move(E));
      else
        FirstError = std::move(E);
      continue;
    }
    if (FirstError)
      continue;
    if (!FromCache[K] && !Opts.CacheDir.empty())
      // A cache that cannot be written costs the next run a recompile, no more.
      llvm::consumeError(writeCachedKernel(Opts.CacheDir, CacheKeys[K], *C));
    B.addKernel(Spec.Kernel, static_cast<uint32_t>(Spec.Operands.size()), C->Symbol, Spec.key(), C->Object);
    KernelStat KS;
    KS.Symbol = C->Symbol;
    KS.Key = Spec.key();
    KS.CodeBytes = C->Object.size();
    KS.IrMs = C->IrMs;
    KS.OptMs = C->OptMs;
    KS.CodegenMs = C->CodegenMs;
    KS.Cached = FromCache[K];
    St.CacheHits += FromCache[K];
    St.Kernels.push_back(KS);
    St.CodeBytes += C->Object.size();
    if (Opts.Progress && !Report) // everything came from the cache
      Opts.Progress(static_cast<unsigned>(K + 1), static_cast<unsigned>(Unique.size()));
  }
  return FirstError;
}

} // namespace

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
  if (llvm::Error E = compileKernels(Unique, Opts, B, St))
    return E;
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
