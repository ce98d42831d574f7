//===- driver/PerOp.cpp - each instruction alone on eager's inputs --------===//
#include "driver/PerOp.h"

#include "frontend/ScalarType.h"
#include "runtime/abi/Bf16.h"
#include "runtime/abi/Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace atalla;
using namespace atalla::driver;

frontend::TensorData driver::toTensorData(const runtime::HostTensor &H) {
  auto T = frontend::scalarTypeFromSchema(H.DType).value_or(frontend::ScalarType::Float32);
  return frontend::TensorData::fromBytes(T, H.Sizes, H.Bytes);
}

runtime::HostTensor driver::toHost(const frontend::TensorData &T) {
  runtime::HostTensor H;
  H.DType = static_cast<uint32_t>(T.Dtype);
  H.Sizes = T.Sizes;
  H.Bytes = T.contiguousBytes();
  return H;
}

namespace {

/// Eager's value of each tensor record, in the record's dtype and shape. A
/// record is matched by its name (the graph value it holds); a materialised
/// copy "<src>_contig_<n>" takes its source's value; any other generated
/// tensor takes what its producing instruction computed from eager inputs
/// (one step of device error at most, never a chain). A view without a value
/// of its own is resolved by the executor through the tensor it aliases.
class EagerValues {
public:
  EagerValues(const runtime::Blob &B, const std::map<std::string, frontend::TensorData> &Eager) : B(B), Eager(Eager) {
    for (uint32_t T = 0; T < B.tensors().size(); ++T)
      ByName.emplace(B.tensorName(T).str(), T);
  }

  /// Eager's own value of tensor \p T (no device results), or null.
  const runtime::HostTensor *reference(uint32_t T) { return lookup(T, /*UseComputed=*/false, 0); }
  /// The value to feed for tensor \p T, or null.
  const runtime::HostTensor *input(uint32_t T) { return lookup(T, /*UseComputed=*/true, 0); }
  /// Records what instruction outputs computed, for generated tensors.
  void setComputed(uint32_t T, runtime::HostTensor V) { Computed[T] = std::move(V); }

private:
  bool fits(const runtime::HostTensor &V, uint32_t T) const {
    const abi::TensorRecord &R = B.tensors()[T];
    return V.DType == R.DType && llvm::ArrayRef<int64_t>(V.Sizes) == runtime::recordSizes(R);
  }

  const runtime::HostTensor *lookup(uint32_t T, bool UseComputed, int Depth) {
    if (auto It = Cache.find(T); It != Cache.end())
      return &It->second;
    std::string Name = B.tensorName(T).str();
    if (auto It = Eager.find(Name); It != Eager.end()) {
      runtime::HostTensor V = toHost(It->second);
      if (fits(V, T))
        return &(Cache[T] = std::move(V));
    }
    // "<src>_contig_<n>": a contiguous copy of <src>.
    size_t P = Name.rfind("_contig_");
    if (P != std::string::npos && Depth < 8 && !B.tensors()[T].IsView) {
      std::string Src = Name.substr(0, P);
      const runtime::HostTensor *V = nullptr;
      if (auto It = ByName.find(Src); It != ByName.end())
        V = lookup(It->second, UseComputed, Depth + 1);
      else if (auto EIt = Eager.find(Src); EIt != Eager.end())
        V = &(Scratch[T] = toHost(EIt->second));
      if (V && fits(*V, T))
        return &(Cache[T] = *V);
    }
    if (UseComputed)
      if (auto It = Computed.find(T); It != Computed.end())
        return &It->second;
    return nullptr;
  }

  const runtime::Blob &B;
  const std::map<std::string, frontend::TensorData> &Eager;
  std::map<std::string, uint32_t> ByName;
  std::map<uint32_t, runtime::HostTensor> Cache, Computed, Scratch;
};

std::string g3(double V) {
  char Buf[32];
  std::snprintf(Buf, sizeof Buf, "%.3g", V);
  return Buf;
}

/// The device kernel's first output against \p Ref on the very inputs the
/// kernel read (taken back out of DRAM): normalised error, or nothing.
std::optional<double> versusReference(const runtime::Blob &B, runtime::Executor &X, uint32_t I,
                                      const runtime::HostTensor &Got, const KernelReference &Ref) {
  const abi::Instruction &In = B.instructions()[I];
  abi::KernelSpec Spec;
  if (!abi::KernelSpec::parse(B.string(B.kernels()[In.Index].KeyOffset).str(), Spec))
    return std::nullopt;
  llvm::ArrayRef<uint32_t> Ops = B.operands(I);
  std::vector<std::vector<float>> Buffers;
  for (size_t J = 0; J + 1 < Spec.Operands.size(); ++J) {
    const abi::OperandSpec &O = Spec.Operands[J];
    if (O.Type != abi::DType::F32)
      return std::nullopt; // the references take f32 operands only
    int64_t Max = 0;
    for (size_t D = 0; D < O.Sizes.size(); ++D)
      Max += O.Sizes[D] > 0 ? (O.Sizes[D] - 1) * O.Strides[D] : 0;
    std::vector<float> Buf(static_cast<size_t>(Max + 1));
    const uint64_t Stored = B.storageElementSize(B.tensors()[Ops[J]].DType); // 4, or 2 for bf16 storage
    if (Stored != 4 && Stored != 2)
      return std::nullopt;
    std::vector<uint8_t> Raw(Buf.size() * Stored);
    if (llvm::Error E = X.device().readDram(B.tensors()[Ops[J]].DramAddr, Raw)) {
      llvm::consumeError(std::move(E));
      return std::nullopt;
    }
    if (Stored == 4)
      std::memcpy(Buf.data(), Raw.data(), Raw.size());
    else
      abi::f32FromBf16N(reinterpret_cast<uint8_t *>(Buf.data()), Raw.data(), Buf.size());
    Buffers.push_back(std::move(Buf));
  }
  std::vector<const float *> Ptrs;
  for (const std::vector<float> &Buf : Buffers)
    Ptrs.push_back(Buf.data());
  auto R = Ref(Spec, Ptrs);
  if (!R) {
    llvm::consumeError(R.takeError());
    return std::nullopt;
  }
  double MaxD = 0, MaxR = 0;
  for (size_t K = 0; K < R->size() && (K + 1) * 4 <= Got.Bytes.size(); ++K) {
    float G;
    std::memcpy(&G, &Got.Bytes[K * 4], 4);
    if (std::isfinite(G) && std::isfinite((*R)[K])) {
      MaxD = std::max(MaxD, std::fabs(static_cast<double>(G) - (*R)[K]));
      MaxR = std::max(MaxR, std::fabs(static_cast<double>((*R)[K])));
    }
  }
  return MaxR > 0 ? MaxD / MaxR : MaxD;
}

/// Compares instruction \p I's outputs \p Res with eager's and fills \p Row.
void compareRow(const runtime::Blob &B, runtime::Executor &X, uint32_t I, std::vector<runtime::HostTensor> &Res,
                EagerValues &Values, const Tolerance &Tol, const KernelReference &Reference, PerOpRow &Row) {
  const abi::Instruction &In = B.instructions()[I];
  llvm::ArrayRef<uint32_t> Ops = B.operands(I);
  const uint32_t NumInputs = In.NumOperands - In.NumOutputs;
  bool Any = false, Pass = true;
  for (uint32_t J = NumInputs; J < In.NumOperands; ++J) {
    uint32_t T = Ops[J];
    runtime::HostTensor &Got = Res[J - NumInputs];
    if (const runtime::HostTensor *Ref = Values.reference(T)) {
      Comparison C = compareTensors(toTensorData(Got), toTensorData(*Ref), Tol);
      Any = true;
      if (!C.SameShape && Row.Why.empty())
        Row.Why = "output '" + B.tensorName(T).str() + "': device " + runtime::dtypeName(Got.DType) +
                  runtime::formatShape(Got.Sizes) + " vs eager " + runtime::dtypeName(Ref->DType) +
                  runtime::formatShape(Ref->Sizes);
      Row.Exact |= C.Exact;
      Row.Differ += C.Differ;
      Pass &= C.Pass;
      Row.MaxAbs = std::max(Row.MaxAbs, C.MaxAbs);
      Row.MaxRel = std::max(Row.MaxRel, C.MaxRel);
      Row.Norm = std::max(Row.Norm, C.Norm);
      if (C.NaNMismatch && Row.Why.empty())
        Row.Why = "output '" + B.tensorName(T).str() + "': NaN/Inf where eager has none (or the reverse)";
    }
    if (Reference && In.Op == static_cast<uint32_t>(abi::Opcode::Kernel) && J == NumInputs)
      Row.VersusReference = versusReference(B, X, I, Got, Reference);
    Values.setComputed(T, std::move(Got));
  }
  if (!Any) {
    Row.Status = PerOpStatus::NoEagerValue;
    return;
  }
  Row.Status = Pass ? PerOpStatus::Ok : PerOpStatus::Mismatch;
  if (!Pass && Row.Why.empty())
    Row.Why = Row.Exact && Row.Differ ? std::to_string(Row.Differ) + " elements differ (exact compare)"
                                      : "normalised err " + g3(Row.Norm) + " > tolerance " + g3(Tol.Float);
}

} // namespace

PerOpReport driver::diagnosePerOp(const runtime::Blob &B, runtime::Executor &X,
                                  const std::map<std::string, frontend::TensorData> &Eager, const Tolerance &Tol,
                                  const KernelReference &Reference) {
  EagerValues Values(B, Eager);
  PerOpReport R;
  X.setTrace(nullptr);
  for (uint32_t I = 0; I < B.instructions().size(); ++I) {
    const abi::Instruction &In = B.instructions()[I];
    llvm::ArrayRef<uint32_t> Ops = B.operands(I);
    const uint32_t NumInputs = In.NumOperands - In.NumOutputs;
    PerOpRow Row;
    Row.Index = I;
    Row.Node = B.nodeName(I).str();
    Row.IsKernel = In.Op == static_cast<uint32_t>(abi::Opcode::Kernel);
    if (Row.IsKernel)
      Row.Op = abi::kernelName(static_cast<abi::KernelId>(B.kernels()[In.Index].KernelId));
    else
      Row.Op = B.fallbackOpName(In.Index) + " (fallback)";
    for (uint32_t J = NumInputs; J < In.NumOperands; ++J)
      Row.Shape += (J > NumInputs ? " " : "") + runtime::dtypeName(B.tensors()[Ops[J]].DType) +
                   runtime::formatShape(runtime::recordSizes(B.tensors()[Ops[J]]));
    auto Res = X.runInstruction(I, [&](uint32_t T) { return Values.input(T); });
    if (!Res) {
      Row.Why = llvm::toString(Res.takeError());
      Row.Status = PerOpStatus::Error;
    } else {
      compareRow(B, X, I, *Res, Values, Tol, Reference, Row);
    }
    if (Row.Status == PerOpStatus::NoEagerValue)
      ++R.Unchecked;
    if (Row.Status == PerOpStatus::Error || Row.Status == PerOpStatus::Mismatch) {
      ++R.Failed;
      if (!R.First)
        R.First = "first node over tolerance: '" + Row.Node + "' (instruction " + std::to_string(I) + ", " + Row.Op +
                  "): " + Row.Why;
    }
    R.Rows.push_back(std::move(Row));
  }
  return R;
}
