//===- runtime/Executor.cpp - run a validated blob on the device ---------===//
//
// The blob was validated by Blob::parse, so indices, ranges and addresses
// are trusted here; what can still fail is the user's inputs, the kernels'
// statuses, the fallback handler and its results.
//
//===----------------------------------------------------------------------===//
#include "runtime/Executor.h"

#include "runtime/abi/Bf16.h"
#include "runtime/abi/Kernels.h"
#include "sim/CodeLoader.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <chrono>
#include <cstring>

using namespace atalla;
using namespace atalla::runtime;

uint64_t HostTensor::numel() const {
  uint64_t N = 1;
  for (int64_t S : Sizes)
    N *= static_cast<uint64_t>(S);
  return N;
}

FallbackHandler::~FallbackHandler() = default;

const char *runtime::kernelStatusText(int32_t Status) {
  switch (Status) {
  case abi::ATALLA_OK: return "ok";
  case abi::ATALLA_KERNEL_ENOMEM: return "scratchpad exhausted";
  case abi::ATALLA_SDMA_EBOUNDS_DRAM: return "SDMA transfer outside DRAM";
  case abi::ATALLA_SDMA_EBOUNDS_SCPAD: return "SDMA transfer outside the kernel's scratchpad grants";
  case abi::ATALLA_SDMA_EINVAL: return "zero-sized or malformed SDMA transfer";
  case abi::ATALLA_KERNEL_EINDEX: return "an index is out of range of the table";
  default: return "unknown status";
  }
}

namespace {

std::string describe(uint32_t DType, llvm::ArrayRef<int64_t> Sizes) {
  return dtypeName(DType) + " " + formatShape(Sizes);
}

/// Visits every element of a strided record: F(host element index, DRAM
/// element offset from DramAddr), row-major.
template <typename Fn> void forEachElement(const abi::TensorRecord &R, Fn F) {
  uint64_t N = recordNumel(R);
  if (N == 0)
    return;
  int64_t Idx[abi::MaxTensorRank] = {};
  uint64_t Off = 0;
  for (uint64_t E = 0; E < N; ++E) {
    F(E, Off);
    for (uint32_t D = R.Rank; D-- > 0;) {
      if (++Idx[D] < R.Sizes[D]) {
        Off += R.Strides[D];
        break;
      }
      Off -= static_cast<uint64_t>(R.Sizes[D] - 1) * R.Strides[D];
      Idx[D] = 0;
    }
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

Executor::~Executor() = default;

llvm::Error Executor::fail(const llvm::Twine &Msg) const {
  return llvm::make_error<llvm::StringError>(B.name() + ": " + Msg, llvm::inconvertibleErrorCode());
}

std::vector<std::string> runtime::missingCpuFeatures(const Blob &B) {
  std::vector<std::string> Missing;
  std::optional<std::string> Needed = B.provenance("target_features");
  if (!Needed)
    return Missing;
  const llvm::StringMap<bool> Host = llvm::sys::getHostCPUFeatures();
  llvm::SmallVector<llvm::StringRef, 64> Fs;
  llvm::StringRef(*Needed).split(Fs, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef F : Fs) {
    F = F.trim();
    if (!F.consume_front("+"))
      continue;
    auto It = Host.find(F);
    if (It != Host.end() && !It->second)
      Missing.push_back(F.str());
    else if (F == "amx-tile" && It != Host.end() && !sim::amxTileStateGranted())
      Missing.push_back("amx-tile (the OS did not grant this process the tile state)");
  }
  std::sort(Missing.begin(), Missing.end());
  Missing.erase(std::unique(Missing.begin(), Missing.end()), Missing.end());
  return Missing;
}

llvm::Expected<std::unique_ptr<Executor>> Executor::create(const Blob &B, sim::DeviceConfig Config,
                                                           FallbackHandler *Fallback) {
  std::unique_ptr<Executor> X(new Executor(B));
  if (std::vector<std::string> Missing = missingCpuFeatures(B); !Missing.empty())
    return X->fail("built for CPU '" + B.provenance("target_cpu").value_or("?") +
                   "', its code uses ISA features this host (" + llvm::sys::getHostCPUName() +
                   ") lacks: " + llvm::join(Missing, ", ") + "; recompile it here (atalla-gen without --target-cpu)");
  X->Fallback = Fallback;
  { // Does any instruction write into a constant's bytes (an in-place op on a buffer)?
    llvm::ArrayRef<abi::TensorRecord> Ts = B.tensors();
    std::vector<std::pair<uint64_t, uint64_t>> Consts;
    for (const abi::TensorRecord &R : Ts)
      if (R.Kind == static_cast<uint32_t>(abi::TensorKind::Constant) && R.Bytes)
        Consts.push_back({R.DramAddr, R.DramAddr + R.Bytes});
    for (uint32_t I = 0; I < B.instructions().size() && !X->WritesConstants; ++I) {
      const abi::Instruction &In = B.instructions()[I];
      llvm::ArrayRef<uint32_t> Ops = B.operands(I);
      for (uint32_t J = In.NumOperands - In.NumOutputs; J < In.NumOperands; ++J) {
        const abi::TensorRecord &O = Ts[Ops[J]];
        const uint64_t Lo = O.DramAddr, Hi = O.DramAddr + B.extent(O);
        for (const auto &[CLo, CHi] : Consts)
          X->WritesConstants |= Lo < CHi && CLo < Hi;
      }
    }
  }
  // A device with no DRAM would refuse every transfer; keep one aligned block.
  Config.DramBytes = std::max<uint64_t>(B.dramBytes(), abi::BlobAlignment);
  X->Dev = std::make_unique<sim::Device>(Config);
  auto L = sim::CodeLoader::create();
  if (!L)
    return X->fail("cannot create the code loader: " + llvm::toString(L.takeError()));
  X->Loader = std::move(*L);
  auto KernelWhat = [&](uint32_t I) {
    return "kernel record " + std::to_string(I) + " (" +
           std::string(abi::kernelName(static_cast<abi::KernelId>(B.kernels()[I].KernelId))) + ", symbol '" +
           B.kernelSymbol(I).str() + "')";
  };
  for (uint32_t I = 0; I < B.kernels().size(); ++I)
    if (llvm::Error E = X->Loader->addObject(B.kernelObject(I), B.name() + ":kernel" + std::to_string(I)))
      return X->fail(KernelWhat(I) + ": " + llvm::toString(std::move(E)));
  for (uint32_t I = 0; I < B.kernels().size(); ++I) {
    auto Fn = X->Loader->lookup(B.kernelSymbol(I));
    if (!Fn)
      return X->fail(KernelWhat(I) + ": " + llvm::toString(Fn.takeError()));
    X->Fns.push_back(*Fn);
  }
  return X;
}

//===----------------------------------------------------------------------===//
// DRAM transfers
//===----------------------------------------------------------------------===//

// A blob of bf16 precision stores float32 tensors as bf16 (Blob::bf16()):
// the host sees float32, DRAM holds bf16, and these two functions convert
// (runtime/abi/Bf16.h: exact widening, rounding to nearest even).

/// Copies one element between host and DRAM layouts of \p Host and \p Stored bytes.
static void moveElement(uint8_t *Dst, const uint8_t *Src, uint64_t HostBytes, uint64_t StoredBytes, bool ToHost) {
  if (HostBytes == StoredBytes)
    std::memcpy(Dst, Src, HostBytes);
  else if (ToHost)
    abi::f32FromBf16N(Dst, Src, 1);
  else
    abi::bf16FromF32N(Dst, Src, 1);
}

llvm::Expected<HostTensor> Executor::readTensor(const abi::TensorRecord &R) {
  HostTensor T;
  T.DType = R.DType;
  T.Sizes = recordSizes(R).vec();
  const uint64_t Elem = dtypeElementSize(R.DType), Stored = B.storageElementSize(R.DType);
  T.Bytes.resize(recordNumel(R) * Elem);
  if (T.Bytes.empty())
    return T;
  const bool Contiguous = recordIsContiguous(R);
  if (Contiguous && Stored == Elem) {
    if (llvm::Error E = Dev->readDram(R.DramAddr, T.Bytes))
      return E;
    return T;
  }
  // A view or a converted tensor: read the extent once, convert or gather on the host.
  std::vector<uint8_t> Extent(B.extent(R));
  if (llvm::Error E = Dev->readDram(R.DramAddr, Extent))
    return E;
  if (Contiguous) {
    abi::f32FromBf16N(T.Bytes.data(), Extent.data(), recordNumel(R));
    return T;
  }
  forEachElement(R, [&](uint64_t Host, uint64_t Dram) {
    moveElement(T.Bytes.data() + Host * Elem, Extent.data() + Dram * Stored, Elem, Stored, /*ToHost=*/true);
  });
  return T;
}

llvm::Error Executor::writeTensor(const abi::TensorRecord &R, const HostTensor &T) {
  if (T.Bytes.empty())
    return llvm::Error::success();
  const uint64_t Elem = dtypeElementSize(R.DType), Stored = B.storageElementSize(R.DType);
  const bool Contiguous = recordIsContiguous(R);
  if (Contiguous && Stored == Elem)
    return Dev->writeDram(R.DramAddr, T.Bytes);
  std::vector<uint8_t> Extent(B.extent(R));
  if (Contiguous) {
    abi::bf16FromF32N(Extent.data(), T.Bytes.data(), recordNumel(R));
    return Dev->writeDram(R.DramAddr, Extent);
  }
  if (llvm::Error E = Dev->readDram(R.DramAddr, Extent))
    return E;
  forEachElement(R, [&](uint64_t Host, uint64_t Dram) {
    moveElement(Extent.data() + Dram * Stored, T.Bytes.data() + Host * Elem, Elem, Stored, /*ToHost=*/false);
  });
  return Dev->writeDram(R.DramAddr, Extent);
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<HostTensor>> Executor::run(const std::vector<HostTensor> &Inputs) {
  llvm::ArrayRef<abi::TensorRecord> Tensors = B.tensors();
  if (Inputs.size() != B.inputs().size())
    return fail("expected " + llvm::Twine(B.inputs().size()) + " inputs, got " + llvm::Twine(Inputs.size()));
  for (uint32_t I = 0; I < Inputs.size(); ++I) {
    const abi::TensorRecord &R = Tensors[B.inputs()[I]];
    const HostTensor &T = Inputs[I];
    std::string What = "input " + std::to_string(I) + " ('" + B.tensorName(B.inputs()[I]).str() + "')";
    if (T.DType != R.DType || llvm::ArrayRef<int64_t>(T.Sizes) != recordSizes(R))
      return fail(What + ": expected " + describe(R.DType, recordSizes(R)) + ", got " + describe(T.DType, T.Sizes));
    const uint64_t Want = recordNumel(R) * dtypeElementSize(R.DType); // the user's form, whatever DRAM holds
    if (T.Bytes.size() != Want)
      return fail(What + ": " + llvm::Twine(T.Bytes.size()) + " bytes of data, " + describe(R.DType, recordSizes(R)) +
                  " needs " + llvm::Twine(Want));
  }

  // Until this run succeeds, a failed kernel may have written anywhere: the
  // next run places the blob again.
  const bool Resident = Placed && !WritesConstants;
  Placed = false;
  if (Resident) {
    Dev->reclaimGrants();
  } else {
    Dev->reset();
    llvm::ArrayRef<uint8_t> Constants = B.constants();
    for (uint32_t I = 0; I < Tensors.size(); ++I) {
      const abi::TensorRecord &R = Tensors[I];
      if (R.Kind != static_cast<uint32_t>(abi::TensorKind::Constant) || R.Bytes == 0)
        continue;
      if (llvm::Error E = Dev->writeDram(R.DramAddr, Constants.slice(R.ConstantOffset, R.Bytes)))
        return fail("constant '" + B.tensorName(I) + "': " + llvm::toString(std::move(E)));
    }
  }
  for (uint32_t I = 0; I < Inputs.size(); ++I)
    if (llvm::Error E = writeTensor(Tensors[B.inputs()[I]], Inputs[I]))
      return fail("input " + llvm::Twine(I) + ": " + llvm::toString(std::move(E)));

  for (uint32_t I = 0; I < B.instructions().size(); ++I) {
    const abi::Instruction &In = B.instructions()[I];
    TraceEvent Ev;
    Ev.Index = I;
    Ev.Node = B.nodeName(I).str();
    llvm::ArrayRef<uint32_t> Ops = B.operands(I);
    for (uint32_t J = 0; J < In.NumOperands - In.NumOutputs; ++J)
      Ev.InputShapes.push_back(recordSizes(Tensors[Ops[J]]).vec());
    auto Start = std::chrono::steady_clock::now();
    llvm::Error E = In.Op == static_cast<uint32_t>(abi::Opcode::Kernel) ? runKernel(I, Ev) : runFallback(I, Ev);
    if (E)
      return E;
    Ev.Ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - Start).count();
    if (Trace)
      Trace(Ev);
  }

  std::vector<HostTensor> Outputs;
  for (uint32_t I = 0; I < B.outputs().size(); ++I) {
    auto T = readTensor(Tensors[B.outputs()[I]]);
    if (!T)
      return fail("output " + llvm::Twine(I) + " ('" + B.tensorName(B.outputs()[I]) +
                  "'): " + llvm::toString(T.takeError()));
    Outputs.push_back(std::move(*T));
  }
  Placed = true;
  return Outputs;
}

std::optional<uint32_t> Executor::viewBase(uint32_t Index, uint32_t View) const {
  llvm::ArrayRef<abi::TensorRecord> Tensors = B.tensors();
  const abi::TensorRecord &V = Tensors[View];
  const uint64_t Lo = V.DramAddr, Hi = V.DramAddr + B.extent(V);
  auto Covers = [&](uint32_t T) {
    const abi::TensorRecord &R = Tensors[T];
    return T != View && !R.IsView && R.DramAddr <= Lo && Hi <= R.DramAddr + R.Bytes;
  };
  for (uint32_t I = Index; I-- > 0;) {
    const abi::Instruction &In = B.instructions()[I];
    llvm::ArrayRef<uint32_t> Ops = B.operands(I);
    for (uint32_t J = In.NumOperands - In.NumOutputs; J < In.NumOperands; ++J)
      if (Covers(Ops[J]))
        return Ops[J];
  }
  for (uint32_t T = 0; T < Tensors.size(); ++T)
    if ((Tensors[T].Kind == static_cast<uint32_t>(abi::TensorKind::Constant) ||
         Tensors[T].Kind == static_cast<uint32_t>(abi::TensorKind::Input)) &&
        Covers(T))
      return T;
  return std::nullopt;
}

llvm::Expected<std::vector<HostTensor>> Executor::runInstruction(uint32_t Index, const ValueFn &ValueOf) {
  if (Index >= B.instructions().size())
    return fail("instruction " + llvm::Twine(Index) + " does not exist (the program has " +
                llvm::Twine(B.instructions().size()) + ")");
  llvm::ArrayRef<abi::TensorRecord> Tensors = B.tensors();
  const abi::Instruction &In = B.instructions()[Index];
  llvm::ArrayRef<uint32_t> Ops = B.operands(Index);
  const uint32_t NumInputs = In.NumOperands - In.NumOutputs;
  const std::string What = "instruction " + std::to_string(Index) + " (node '" + B.nodeName(Index).str() + "')";
  const auto IsConstant = [&](uint32_t T) {
    return Tensors[T].Kind == static_cast<uint32_t>(abi::TensorKind::Constant);
  };

  Dev->reset();
  Placed = false; // DRAM now holds this instruction's inputs: the next run places the blob again
  llvm::ArrayRef<uint8_t> Constants = B.constants();
  for (uint32_t I = 0; I < Tensors.size(); ++I) {
    const abi::TensorRecord &R = Tensors[I];
    if (!IsConstant(I) || R.Bytes == 0)
      continue;
    if (llvm::Error E = Dev->writeDram(R.DramAddr, Constants.slice(R.ConstantOffset, R.Bytes)))
      return fail("constant '" + B.tensorName(I) + "': " + llvm::toString(std::move(E)));
  }
  for (uint32_t J = 0; J < NumInputs; ++J) {
    uint32_t T = Ops[J];
    if (IsConstant(T))
      continue;
    const HostTensor *V = ValueOf(T);
    uint32_t Target = T;
    if (!V && Tensors[T].IsView) {
      std::optional<uint32_t> Base = viewBase(Index, T);
      if (Base && IsConstant(*Base))
        continue;
      if (Base) {
        Target = *Base;
        V = ValueOf(Target);
      }
    }
    std::string Operand = What + ": input operand " + std::to_string(J) + " ('" + B.tensorName(T).str() + "'" +
                          (Target != T ? ", a view of '" + B.tensorName(Target).str() + "'" : std::string()) + ")";
    if (!V)
      return fail(Operand + ": no value given");
    const abi::TensorRecord &R = Tensors[Target];
    if (V->DType != R.DType || llvm::ArrayRef<int64_t>(V->Sizes) != recordSizes(R) ||
        V->Bytes.size() != recordNumel(R) * dtypeElementSize(R.DType))
      return fail(Operand + ": expected " + describe(R.DType, recordSizes(R)) + ", got " +
                  describe(V->DType, V->Sizes));
    if (llvm::Error E = writeTensor(R, *V))
      return fail(Operand + ": " + llvm::toString(std::move(E)));
  }

  TraceEvent Ev;
  Ev.Index = Index;
  Ev.Node = B.nodeName(Index).str();
  for (uint32_t J = 0; J < NumInputs; ++J)
    Ev.InputShapes.push_back(recordSizes(Tensors[Ops[J]]).vec());
  auto Start = std::chrono::steady_clock::now();
  if (llvm::Error E = In.Op == static_cast<uint32_t>(abi::Opcode::Kernel) ? runKernel(Index, Ev)
                                                                           : runFallback(Index, Ev))
    return E;
  Ev.Ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - Start).count();
  if (Trace)
    Trace(Ev);

  std::vector<HostTensor> Outputs;
  for (uint32_t J = NumInputs; J < In.NumOperands; ++J) {
    auto T = readTensor(Tensors[Ops[J]]);
    if (!T)
      return fail(What + ": output '" + B.tensorName(Ops[J]) + "': " + llvm::toString(T.takeError()));
    Outputs.push_back(std::move(*T));
  }
  return Outputs;
}

llvm::Error Executor::runKernel(uint32_t I, TraceEvent &Ev) {
  const abi::Instruction &In = B.instructions()[I];
  const abi::KernelRecord &K = B.kernels()[In.Index];
  std::string Name(abi::kernelName(static_cast<abi::KernelId>(K.KernelId)));
  Ev.IsFallback = false;
  Ev.Op = Name;
  Ev.Kernel = In.Index;
  std::vector<uint64_t> Args;
  for (uint32_t T : B.operands(I))
    Args.push_back(B.tensors()[T].DramAddr);
  const sim::Counters &C = Dev->counters();
  const sim::KernelCounters Before{C.SdmaBytesIn, C.SdmaBytesOut, C.SdmaLoads + C.SdmaStores, C.FirmwareCalls};
  int32_t Status = Dev->invoke(Fns[In.Index], Args.data());
  Ev.Work.SdmaBytesIn = C.SdmaBytesIn - Before.SdmaBytesIn;
  Ev.Work.SdmaBytesOut = C.SdmaBytesOut - Before.SdmaBytesOut;
  Ev.Work.SdmaTransfers = C.SdmaLoads + C.SdmaStores - Before.SdmaTransfers;
  Ev.Work.FirmwareCalls = C.FirmwareCalls - Before.FirmwareCalls;
  if (Trace) // the per-pad copy allocates: only for someone who reads it
    Ev.ScpadPeak = C.InvokeScpadPeak;
  if (Status == abi::ATALLA_OK)
    return llvm::Error::success();
  std::string Msg = "instruction " + std::to_string(I) + " (node '" + Ev.Node + "', kernel " + Name +
                    "): kernel returned " + std::to_string(Status) + " (" + kernelStatusText(Status) + ")";
  if (!Dev->lastFirmwareError().empty() && Status != abi::ATALLA_KERNEL_ENOMEM)
    Msg += ": " + Dev->lastFirmwareError();
  return fail(Msg);
}

llvm::Error Executor::runFallback(uint32_t I, TraceEvent &Ev) {
  const abi::Instruction &In = B.instructions()[I];
  Ev.IsFallback = true;
  Ev.Op = B.fallbackOpName(In.Index);
  const uint64_t BytesBefore = FallbackBytes;
  std::string What = "instruction " + std::to_string(I) + " (node '" + Ev.Node + "', " + Ev.Op + ")";
  if (!Fallback)
    return fail(What + ": runs through LibTorch, but this executor has no fallback handler");
  llvm::ArrayRef<uint32_t> Ops = B.operands(I);
  const uint32_t NumInputs = In.NumOperands - In.NumOutputs;
  std::vector<HostTensor> Ins;
  for (uint32_t J = 0; J < NumInputs; ++J) {
    auto T = readTensor(B.tensors()[Ops[J]]);
    if (!T)
      return fail(What + ": input " + llvm::Twine(J) + ": " + llvm::toString(T.takeError()));
    FallbackBytes += T->Bytes.size();
    Ins.push_back(std::move(*T));
  }
  std::vector<const abi::TensorRecord *> OutRecords;
  for (uint32_t J = NumInputs; J < In.NumOperands; ++J)
    OutRecords.push_back(&B.tensors()[Ops[J]]);
  auto Results = Fallback->call(B, In.Index, Ins, OutRecords);
  if (!Results)
    return fail(What + ": " + llvm::toString(Results.takeError()));
  if (Results->size() != OutRecords.size())
    return fail(What + ": returned " + llvm::Twine(Results->size()) + " tensors, the program expects " +
                llvm::Twine(OutRecords.size()));
  for (uint32_t J = 0; J < OutRecords.size(); ++J) {
    const abi::TensorRecord &R = *OutRecords[J];
    const HostTensor &T = (*Results)[J];
    if (T.DType != R.DType || llvm::ArrayRef<int64_t>(T.Sizes) != recordSizes(R) ||
        T.Bytes.size() != recordNumel(R) * dtypeElementSize(R.DType))
      return fail(What + ": result " + llvm::Twine(J) + " is " + describe(T.DType, T.Sizes) + ", the program expects " +
                  describe(R.DType, recordSizes(R)));
    if (llvm::Error E = writeTensor(R, T))
      return fail(What + ": result " + llvm::Twine(J) + ": " + llvm::toString(std::move(E)));
    FallbackBytes += T.Bytes.size();
  }
  Ev.FallbackBytes = FallbackBytes - BytesBefore;
  return llvm::Error::success();
}
