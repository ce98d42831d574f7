//===- lower/Fuse.cpp - the fusion passes: what may be fused, marked ------===//
//
// Passes that look at the graph alone and mark, value by value, the
// node that may be fused into the kernel computing it (FusionMarks): a
// batch norm into the convolution before it, a residual add or a relu or
// gelu into a GEMM's epilogue, an elementwise op into the chain kernel
// before it, a channel gate's multiply into the 1x1 convolution after it
// (the one mark on a reader), and a channel concatenation into the kernels
// computing its inputs (which write their slices of it in place). Each mark
// needs the value to have that node as its only reader and not to be a
// graph output (whose value must exist on its own). Kernel selection reads
// the marks and checks what only it can see (constant weights, shapes, the
// chain's other operands).
//
//===----------------------------------------------------------------------===//
#include "lower/GraphQueries.h"
#include "lower/Passes.h"

#include <optional>
#include <set>

using namespace atalla;
using namespace atalla::lower;
using frontend::ArgKind;
using frontend::Node;

namespace {

/// \p N's first result, when it is a tensor.
const std::string *firstResult(const Node &N) {
  if (N.Outputs.empty() || N.Outputs[0].Kind != ArgKind::Tensor)
    return nullptr;
  return &N.Outputs[0].S;
}

/// The node that alone reads \p Value, which is no graph output; or null.
const Node *soleReader(const LoweringState &S, const std::string &Value) {
  std::vector<const Node *> R = readersOf(S, Value);
  if (R.size() != 1 || isGraphOutput(S, Value))
    return nullptr;
  return R[0];
}

/// Whether \p R's first input is \p Value (as the fused kernel passes it on).
bool readsFirst(const LoweringState &S, const Node &R, const std::string &Value) {
  return !R.Inputs.empty() && R.Inputs[0].Arg.Kind == ArgKind::Tensor && S.resolve(R.Inputs[0].Arg.S) == Value;
}

/// hardtanh(x, 0, 6) or clamp(x, 0, 6): relu6, a GEMM epilogue.
bool isRelu6(const Node &N) {
  if (N.Ns != "aten" || (N.Op != "hardtanh" && N.Op != "clamp") || N.Inputs.size() < 3)
    return false;
  auto number = [](const frontend::Argument &A, double &V) {
    if (A.Kind == ArgKind::Float)
      V = A.F;
    else if (A.Kind == ArgKind::Int)
      V = double(A.I);
    else
      return false;
    return true;
  };
  double Lo = 0, Hi = 0;
  return number(N.Inputs[1].Arg, Lo) && number(N.Inputs[2].Arg, Hi) && Lo == 0 && Hi == 6;
}

/// Whether value \p V is float32.
bool isFloat32(const LoweringState &S, const std::string &V) {
  const frontend::TensorMeta *M = S.M->G.meta(V);
  return M && M->Dtype == frontend::ScalarType::Float32;
}

/// \p V's static shape; where none is known {-1}, which equals no real
/// shape and has rank 1.
std::vector<int64_t> knownShape(const LoweringState &S, const std::string &V) {
  auto It = S.Shapes.find(V);
  return It == S.Shapes.end() ? std::vector<int64_t>{-1} : It->second;
}

bool isConvolution(const Node &N) {
  const OpRow *R = opRowFor(N);
  return R && R->Lowering == OpLowering::Conv;
}

/// Whether Kernels.def runs \p N on the GEMM kernel (matmuls, linear,
/// convolutions, attention, average pools).
bool isGemm(const Node &N) {
  std::optional<abi::KernelId> K = kernelFor(N);
  return K && abi::kernelFamily(*K) == abi::KernelFamily::Gemm;
}

} // namespace

llvm::Error lower::markBatchNormFolding(LoweringState &S) {
  for (const Node &N : S.Nodes) {
    const std::string *V = firstResult(N);
    if (!V || !isConvolution(N))
      continue;
    const Node *R = soleReader(S, *V);
    if (R && isBatchNormOp(*R) && readsFirst(S, *R, *V) && onlyFirstOutputUsed(S, *R))
      S.Fusion.BatchNormInto[*V] = R->Name;
  }
  return llvm::Error::success();
}

llvm::Error lower::markResiduals(LoweringState &S) {
  const std::map<std::string, size_t> Produced = producerPositions(S);
  auto F32 = [&](const std::string &V) { return isFloat32(S, V); };
  auto Shape = [&](const std::string &V) { return knownShape(S, V); };
  // Where the kernel computing value V runs: its GEMM's node (the
  // convolution's, for a folded batch norm's result); none for others.
  auto kernelAt = [&](const std::string &V) -> std::optional<size_t> {
    auto P = Produced.find(V);
    if (P == Produced.end())
      return std::nullopt;
    const Node &N = S.Nodes[P->second];
    if (isGemm(N))
      return P->second;
    if (!isBatchNormOp(N) || N.Inputs.empty() || N.Inputs[0].Arg.Kind != ArgKind::Tensor)
      return std::nullopt;
    const std::string In = S.resolve(N.Inputs[0].Arg.S);
    auto Mark = S.Fusion.BatchNormInto.find(In);
    if (Mark == S.Fusion.BatchNormInto.end() || Mark->second != N.Name || !Produced.count(In))
      return std::nullopt;
    return Produced.at(In);
  };
  for (const Node &A : S.Nodes) {
    if (A.Ns != "aten" || A.Op != "add" || A.Overload != "Tensor" || A.Outputs.size() != 1 || !firstResult(A))
      continue;
    const frontend::NamedArgument *X = A.input("self"), *Y = A.input("other"), *Alpha = A.input("alpha");
    if (!X || !Y || X->Arg.Kind != ArgKind::Tensor || Y->Arg.Kind != ArgKind::Tensor || !isUnitOrAbsent(Alpha))
      continue;
    const std::string Xv = S.resolve(X->Arg.S), Yv = S.resolve(Y->Arg.S), &Out = A.Outputs[0].S;
    if (Xv == Yv || !F32(Xv) || !F32(Yv) || !F32(Out) || Shape(Xv) != Shape(Out) || Shape(Yv) != Shape(Out))
      continue;
    // The later GEMM first; the other operand must exist when it runs.
    std::optional<size_t> Kx = kernelAt(Xv), Ky = kernelAt(Yv);
    std::vector<std::pair<std::string, std::string>> Tries; // (GEMM result, residual)
    if (Kx && (!Ky || *Kx > *Ky))
      Tries = {{Xv, Yv}, {Yv, Xv}};
    else
      Tries = {{Yv, Xv}, {Xv, Yv}};
    for (const auto &[V, R] : Tries) {
      std::optional<size_t> K = kernelAt(V);
      const Node *Only = soleReader(S, V);
      auto RP = Produced.find(R);
      if (K && Only == &A && !S.Mutated.count(V) && (RP == Produced.end() || RP->second < *K)) {
        S.Fusion.Residual[V] = A.Name;
        break;
      }
    }
  }
  return llvm::Error::success();
}

llvm::Error lower::markEpilogues(LoweringState &S) {
  std::set<std::string> ResidualAdds;
  for (const auto &[V, Add] : S.Fusion.Residual)
    ResidualAdds.insert(Add);
  for (const Node &N : S.Nodes) {
    const std::string *V = firstResult(N);
    if (!V || !(isGemm(N) || isBatchNormOp(N) || ResidualAdds.count(N.Name)))
      continue;
    const Node *R = soleReader(S, *V);
    if (!R || R->Ns != "aten" || R->Outputs.size() != 1 || !readsFirst(S, *R, *V))
      continue;
    const std::optional<abi::KernelId> K = kernelFor(*R);
    if (isRelu6(*R) || K == abi::KernelId::hardswish || K == abi::KernelId::silu || K == abi::KernelId::sigmoid ||
        K == abi::KernelId::hardsigmoid) {
    } else if (K == abi::KernelId::gelu) {
      const frontend::NamedArgument *A = R->input("approximate");
      const std::string Approx = A && A->Arg.Kind == ArgKind::String ? A->Arg.S : "none";
      if (Approx != "none" && Approx != "tanh")
        continue;
    } else if (K != abi::KernelId::relu) {
      continue;
    }
    if (!isFloat32(S, R->Outputs[0].S))
      continue;
    S.Fusion.Epilogue[*V] = R->Name;
  }
  return llvm::Error::success();
}

llvm::Error lower::markElementwiseChains(LoweringState &S, const ElementwiseFusionOptions &Opts) {
  if (!Opts.Enabled)
    return llvm::Error::success();
  for (const Node &N : S.Nodes) {
    // Chains start at unary and binary kernels (and grow along them).
    const std::string *V = firstResult(N);
    std::optional<abi::KernelId> Producer = kernelFor(N);
    if (!V || !Producer ||
        (abi::kernelFamily(*Producer) != abi::KernelFamily::Unary &&
         abi::kernelFamily(*Producer) != abi::KernelFamily::Binary))
      continue;
    const Node *R = soleReader(S, *V);
    if (!R || R->Outputs.size() != 1 || R->Outputs[0].Kind != ArgKind::Tensor)
      continue;
    std::optional<abi::KernelId> K = kernelFor(*R);
    if (K && (abi::isChainableUnary(*K) || abi::isChainableBinary(*K)))
      S.Fusion.ChainNext[*V] = R->Name;
  }
  return llvm::Error::success();
}

llvm::Error lower::markChannelGates(LoweringState &S) {
  auto F32 = [&](const std::string &V) { return isFloat32(S, V); };
  auto Shape = [&](const std::string &V) { return knownShape(S, V); };
  for (const Node &N : S.Nodes) {
    if (N.Ns != "aten" || N.Op != "mul" || N.Overload != "Tensor" || N.Outputs.size() != 1 || !firstResult(N))
      continue;
    const frontend::NamedArgument *X = N.input("self"), *Y = N.input("other");
    if (!X || !Y || X->Arg.Kind != ArgKind::Tensor || Y->Arg.Kind != ArgKind::Tensor)
      continue;
    const std::string &Out = N.Outputs[0].S, Xv = S.resolve(X->Arg.S), Yv = S.resolve(Y->Arg.S);
    const std::vector<int64_t> O = Shape(Out), Xs = Shape(Xv), Ys = Shape(Yv);
    if (O.size() != 4 || !F32(Out) || !F32(Xv) || !F32(Yv) || S.Mutated.count(Out))
      continue;
    const std::vector<int64_t> GateShape{O[0], O[1], 1, 1};
    if (!((Xs == O && Ys == GateShape) || (Ys == O && Xs == GateShape)) || O == GateShape)
      continue;
    const Node *R = soleReader(S, Out);
    if (R && isConvolution(*R) && readsFirst(S, *R, Out))
      S.Fusion.Gate[Out] = R->Name;
  }
  return llvm::Error::success();
}

llvm::Error lower::markCatSlots(LoweringState &S) {
  for (const Node &N : S.Nodes) {
    const OpRow *Row = opRowFor(N);
    const std::string *Out = firstResult(N);
    if (!Row || Row->Lowering != OpLowering::Cat || !Out)
      continue;
    if (!isFloat32(S, *Out) || knownShape(S, *Out).size() != 4)
      continue;
    const frontend::NamedArgument *Dim = N.input("dim");
    const int64_t D = Dim && Dim->Arg.Kind == ArgKind::Int ? Dim->Arg.I : 0;
    if (D != 1 && D != -3)
      continue;
    const frontend::NamedArgument *Ts = N.input("tensors");
    if (!Ts || Ts->Arg.Kind != ArgKind::Tensors)
      continue;
    std::map<std::string, int> Seen;
    for (const frontend::Argument &E : Ts->Arg.Elems)
      if (E.Kind == ArgKind::Tensor)
        ++Seen[S.resolve(E.S)];
    for (const auto &[V, Count] : Seen) {
      if (Count != 1 || isGraphOutput(S, V) || S.Mutated.count(V) || S.Fusion.CatSlot.count(V))
        continue;
      bool InPlaceReader = false;
      for (const Node *R : readersOf(S, V))
        InPlaceReader |= !R->Op.empty() && R->Op.back() == '_';
      if (!InPlaceReader)
        S.Fusion.CatSlot[V] = N.Name;
    }
  }
  return llvm::Error::success();
}
