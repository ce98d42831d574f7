//===- lower/SelectKernels.cpp - nodes to kernels, views and fallback calls -===//
//
// Each node becomes, in order of preference: a view (layout ops the strides
// can express, no code at all), a device kernel specialised to its operands'
// shapes and strides (matched by name through Kernels.def), or a fallback
// ATen call. A node that can not be accelerated records why (dtype, shape,
// attribute), for the report and for --accel-only. This file holds the
// pass's loop and the machinery every family shares (tensors, operands,
// views, decisions); Selector.h lists the family files.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

int Selector::newTensor(PTensor T) {
  int Id = static_cast<int>(P.Tensors.size());
  if (T.SemanticStorage < 0)
    T.SemanticStorage = Id;
  P.Tensors.push_back(std::move(T));
  return Id;
}

llvm::Expected<int> Selector::tensorFor(const std::string &RawName, const Node *User) {
  std::string Name = S.resolve(RawName);
  auto It = S.TensorOf.find(Name);
  if (It != S.TensorOf.end())
    return It->second;
  // A placeholder bound to data.
  for (const frontend::InputSpec &Spec : M.InputSpecs) {
    if (Spec.Arg.S != Name)
      continue;
    const frontend::TensorData *D = M.placeholderData(Spec);
    if (!D)
      break;
    if (!D->Data)
      return makeError(M.Path + ": " + frontend::inputKindName(Spec.Kind) + " '" + Spec.Target +
                       "' is a fake tensor (no data): it can not be compiled");
    PTensor T;
    T.Name = Name;
    T.Dtype = D->Dtype;
    T.Sizes = D->Sizes;
    T.Strides = contiguous(D->Sizes);
    T.Kind = abi::TensorKind::Constant;
    T.Constant = D;
    int Id = newTensor(T);
    S.TensorOf[Name] = Id;
    return Id;
  }
  return makeError(M.Path + ": node '" + (User ? User->Name : std::string("?")) + "': value '" + Name +
                   "' is used before it is defined");
}

int Selector::defineOutput(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes) {
  PTensor T;
  T.Name = Name;
  T.Dtype = Dtype;
  T.Sizes = Sizes;
  T.Strides = contiguous(Sizes);
  int Id = newTensor(T);
  S.TensorOf[Name] = Id;
  return Id;
}

int Selector::defineView(const std::string &Name, int Of, std::vector<int64_t> Sizes, std::vector<int64_t> Strides,
                         int64_t ExtraOffset, bool OwnStorage) {
  // OwnStorage: an alias eager would not have (a clone we did not copy,
  // the lowering's own weight^T), so in-place ops elsewhere may ignore it.
  const PTensor &Src = P.Tensors[Of];
  PTensor T;
  T.SemanticStorage = OwnStorage ? -1 : Src.SemanticStorage;
  T.Name = Name;
  T.Dtype = Src.Dtype;
  T.Sizes = std::move(Sizes);
  T.Strides = std::move(Strides);
  T.Base = ownerOf(Of);
  T.Offset = (Src.isView() ? Src.Offset : 0) + ExtraOffset;
  T.Kind = abi::TensorKind::Intermediate;
  int Id = newTensor(T);
  S.TensorOf[Name] = Id;
  return Id;
}

abi::DType Selector::typeOf(int T) const {
  std::optional<abi::DType> D = deviceType(P.Tensors[T].Dtype);
  if (!D)
    throw NoKernel{"dtype " + frontend::scalarTypeName(P.Tensors[T].Dtype).str() +
                   " has no device kernels (f32, u8, i32, i64 and bool do)"};
  return *D;
}

/// \p T broadcast to \p Out (right-aligned; stride 0 where broadcast).
abi::OperandSpec Selector::broadcastOperand(int T, const std::vector<int64_t> &Out) const {
  const PTensor &X = P.Tensors[T];
  abi::OperandSpec O;
  O.Type = typeOf(T);
  O.Sizes = Out;
  O.Strides.assign(Out.size(), 0);
  size_t R = X.Sizes.size();
  if (R > Out.size())
    throw NoKernel{"operand of rank " + std::to_string(R) + " does not broadcast to the output"};
  for (size_t I = 0; I < R; ++I) {
    size_t D = Out.size() - R + I;
    if (X.Sizes[I] == Out[D])
      O.Strides[D] = X.Sizes[I] == 1 ? 0 : X.Strides[I];
    else if (X.Sizes[I] != 1)
      throw NoKernel{"shapes " + frontend::formatShape(X.Sizes) + " and " + frontend::formatShape(Out) +
                     " do not broadcast"};
  }
  return O;
}

/// Materialises \p T contiguously with the copy kernel (for operands a
/// kernel can not read in their layout).
int Selector::materialize(int T, const std::string &For) {
  const PTensor &Src = P.Tensors[T];
  std::string Name = Src.Name + "_contig_" + std::to_string(P.Tensors.size());
  int Out = defineOutput(Name, Src.Dtype, Src.Sizes);
  PInstr I;
  I.Op = abi::Opcode::Kernel;
  I.Spec.Kernel = abi::KernelId::copy;
  I.Spec.Operands = {operand(T), operand(Out)};
  I.Operands = {T, Out};
  I.Node = For;
  P.Instrs.push_back(I);
  return Out;
}

void Selector::requireF32(int T, const char *What) {
  if (P.Tensors[T].Dtype != ScalarType::Float32)
    throw NoKernel{std::string(What) + " has dtype " + frontend::scalarTypeName(P.Tensors[T].Dtype).str() +
                   " (device kernels are float32)"};
}

const Argument*Selector::arg(const Node &N, const char *Name, bool Required) {
  const frontend::NamedArgument *A = N.input(Name);
  if (!A && Required)
    throw NoKernel{std::string("argument '") + Name + "' missing"};
  return A ? &A->Arg : nullptr;
}

int Selector::tensorArg(const Node &N, const char *Name) {
  const Argument *A = arg(N, Name);
  if (A->Kind != ArgKind::Tensor)
    throw NoKernel{std::string("argument '") + Name + "' is not a tensor"};
  auto T = tensorFor(A->S, &N);
  if (!T)
    throw ModelError{llvm::toString(T.takeError())};
  return *T;
}

/// The node's result. A node of several results (native_layer_norm's
/// mean and rstd, a batch norm's saved statistics) qualifies when nothing
/// reads the others: the kernels compute the first.
std::string Selector::outputName(const Node &N) {
  if (N.Outputs.empty() || N.Outputs[0].Kind != ArgKind::Tensor)
    throw NoKernel{"node has no tensor result"};
  if (!onlyFirstOutputUsed(N))
    throw NoKernel{"node has more than one output in use"};
  return N.Outputs[0].S;
}

int64_t Selector::normDim(int64_t D, size_t Rank) {
  int64_t R = static_cast<int64_t>(Rank);
  if (D < -std::max<int64_t>(R, 1) || D >= std::max<int64_t>(R, 1))
    throw NoKernel{"dimension " + std::to_string(D) + " out of range"};
  return D < 0 ? D + R : D;
}

void Selector::rollback(const Checkpoint &C) {
  for (auto It = S.TensorOf.begin(); It != S.TensorOf.end();)
    It = It->second >= int(C.Tensors) ? S.TensorOf.erase(It) : std::next(It);
  P.Tensors.resize(C.Tensors);
  P.Instrs.resize(C.Instrs);
  P.OwnedConstants.resize(C.Owned);
  FoldedBatchNorm = C.Folded;
  FusedEpilogue = C.Epilogues;
  FusedChain = C.Chains;
  FusedResidual = C.Residuals;
}

/// The node a fusion mark names (marks name nodes of S.Nodes).
const Node*Selector::nodeNamed(const std::string &Name) const {
  for (const Node &N : S.Nodes)
    if (N.Name == Name)
      return &N;
  assert(false && "a fusion mark names no node");
  return nullptr;
}

void Selector::pushKernel(const Node &N, abi::KernelSpec Spec, std::vector<int> Operands) {
  PInstr I;
  I.Op = abi::Opcode::Kernel;
  I.Spec = std::move(Spec);
  I.Operands = std::move(Operands);
  I.Node = N.Name;
  P.Instrs.push_back(std::move(I));
}

void Selector::recordDecision(const Node &N, NodeDecision::Kind K, const std::string &Kernel,
                              const std::string &Reason) {
  NodeDecision D{N.Name, N.Target, K, Kernel, Reason};
  nodeCost(N, D.Flops, D.Bytes);
  P.Decisions.push_back(D);
}

llvm::Error Selector::run() {
  // User inputs first, in forward order, so that every one has a tensor.
  uint32_t Index = 0;
  for (const std::string &Name : M.userInputNames()) {
    const frontend::TensorMeta *Meta = meta(Name);
    if (!Meta)
      return makeError(M.Path + ": input '" + Name + "' has no metadata");
    int T = defineOutput(Name, Meta->Dtype, shapeOf(Name));
    P.Tensors[T].Kind = abi::TensorKind::Input;
    P.Tensors[T].UserIndex = Index++;
    P.Inputs.push_back(T);
  }
  planHandWrittenAttention();
  for (const Node &N : S.Nodes)
    if (llvm::Error E = lowerNode(N))
      return E;
  return finishOutputs();
}

/// Lowers one node: as part of a fusion an earlier node made, as a
/// hand-written attention's last matmul (the attention kernel, or the
/// pattern's nodes one by one where it can not apply), by its Kernels.def
/// row, or to the fallback.
llvm::Error Selector::lowerNode(const Node &N) {
  if (DeferredToAttention.count(N.Name)) // lowered at the attention's last matmul
    return llvm::Error::success();
  if (auto Pl = AttentionPlans.find(N.Name); Pl != AttentionPlans.end()) {
    const AttentionPattern Pattern = Pl->second;
    AttentionPlans.erase(Pl);
    Checkpoint C = checkpoint();
    try {
      selectHandWrittenAttention(N, Pattern);
      return llvm::Error::success();
    } catch (const ModelError &E) {
      return makeError(E.Message);
    } catch (const NoKernel &) {
      rollback(C);
    }
    // The pattern's nodes the usual way, then this matmul.
    for (const std::string &Name : Pattern.Nodes) {
      DeferredToAttention.erase(Name);
      if (llvm::Error E = lowerNode(*nodeNamed(Name)))
        return E;
    }
  }
  if (auto F = FusedChain.find(N.Name); F != FusedChain.end()) {
    // Computed inside the chain kernel of an earlier node (its value is
    // that kernel's output when it is the chain's last node).
    recordDecision(N, NodeDecision::Fused, "chain", "in the elementwise chain of " + F->second);
    return llvm::Error::success();
  }
  if (auto G = S.Fusion.Gate.find(N.Outputs.empty() ? std::string() : N.Outputs[0].S);
      G != S.Fusion.Gate.end() && !GateRefused.count(N.Name)) {
    DeferredGates[G->second] = &N; // lowered with (or just before) its convolution
    return llvm::Error::success();
  }
  if (auto D = DeferredGates.find(N.Name); D != DeferredGates.end()) {
    const Node &Mul = *D->second;
    DeferredGates.erase(D);
    try {
      if (lowerGatedConvolution(N, Mul))
        return llvm::Error::success();
    } catch (const ModelError &E) {
      return makeError(E.Message);
    }
    GateRefused.insert(Mul.Name);
    if (llvm::Error E = lowerNode(Mul))
      return E;
  }
  // canonicalize made in-place ops functional; that is only right when the
  // overwritten tensor shares its storage with no view, as eager would
  // change every alias.
  if (N.Ns == "aten" && !N.Op.empty() && N.Op.back() == '_' && N.Op.front() != '_' && !N.Inputs.empty() &&
      N.Inputs[0].Name == "self" && N.Inputs[0].Arg.Kind == ArgKind::Tensor) {
    auto Self = tensorFor(N.Inputs[0].Arg.S, &N);
    if (!Self)
      return Self.takeError();
    int Storage = P.Tensors[*Self].SemanticStorage;
    bool Aliased = false;
    for (size_t T = 0; T < P.Tensors.size(); ++T)
      Aliased |= static_cast<int>(T) != *Self && P.Tensors[T].SemanticStorage == Storage;
    if (Aliased)
      return makeError(M.Path + ": node '" + N.Name + "': in-place " + N.Target + " writes '" +
                       N.Inputs[0].Arg.S + "', which shares storage with a view; eager would change every alias, "
                       "and in-place ops on views are not supported yet");
  }
  if (auto F = FusedResidual.find(N.Name); F != FusedResidual.end()) {
    // The GEMM before it added the residual to its result: same tensor.
    S.TensorOf[N.Outputs[0].S] = S.TensorOf.at(F->second);
    recordDecision(N, NodeDecision::Fused, "gemm", "residual add of " + F->second);
    return llvm::Error::success();
  }
  if (auto F = FusedEpilogue.find(N.Name); F != FusedEpilogue.end()) {
    // The GEMM before it applied it to its result: same tensor.
    S.TensorOf[N.Outputs[0].S] = S.TensorOf.at(S.resolve(N.Inputs[0].Arg.S));
    recordDecision(N, NodeDecision::Fused, "gemm", N.Op + " epilogue of " + F->second);
    return llvm::Error::success();
  }
  if (isBatchNormOp(N)) {
    if (auto F = FoldedBatchNorm.find(N.Name); F != FoldedBatchNorm.end()) {
      // The convolution before it computed its result: same tensor.
      S.TensorOf[N.Outputs[0].S] = S.TensorOf.at(S.resolve(N.Inputs[0].Arg.S));
      recordDecision(N, NodeDecision::Fused, "gemm", "folded into " + F->second);
      return llvm::Error::success();
    }
  }
  const OpRow *Row = opRowFor(N);
  std::string Reason = "no device kernel for " + (N.Ns == "aten" ? opKey(N) : N.Target);
  if (Row) {
    Checkpoint C = checkpoint();
    try {
      lowerByRow(N, *Row);
      return llvm::Error::success();
    } catch (const ModelError &E) {
      return makeError(E.Message);
    } catch (const NoKernel &E) {
      // Undo what this node began; it goes to the fallback instead.
      rollback(C);
      Reason = (Row->Kernel ? std::string(abi::kernelName(*Row->Kernel)) + " kernel: " : N.Op + ": ") + E.Reason;
    }
  }
  return selectFallback(N, Reason);
}

bool Selector::lowerGatedConvolution(const Node &Conv, const Node &Mul) {
  const OpRow *Row = opRowFor(Conv);
  const std::string &Product = Mul.Outputs[0].S;
  auto X = tensorFor(Mul.input("self")->Arg.S, &Mul), Y = tensorFor(Mul.input("other")->Arg.S, &Mul);
  if (!Row || !X || !Y) {
    if (!X)
      llvm::consumeError(X.takeError());
    if (!Y)
      llvm::consumeError(Y.takeError());
    return false;
  }
  const std::vector<int64_t> Out = shapeOf(Product);
  ActiveGate G;
  G.X = P.Tensors[*X].Sizes == Out ? *X : *Y;
  G.G = G.X == *X ? *Y : *X;
  if (P.Tensors[G.X].Sizes != Out || P.Tensors[G.G].Sizes != std::vector<int64_t>{Out[0], Out[1], 1, 1} ||
      P.Tensors[G.X].Dtype != ScalarType::Float32 || P.Tensors[G.G].Dtype != ScalarType::Float32)
    return false;
  Checkpoint C = checkpoint();
  const size_t Decisions = P.Decisions.size();
  S.TensorOf[Product] = G.X; // the convolution reads x where it read x * g
  Gate = G;
  bool Taken = false;
  try {
    lowerByRow(Conv, *Row);
    Taken = Gate->Taken;
  } catch (const NoKernel &) {
  }
  Gate.reset();
  S.TensorOf.erase(Product); // no tensor holds the product itself
  if (!Taken) {
    rollback(C);
    P.Decisions.resize(Decisions);
    return false;
  }
  recordDecision(Mul, NodeDecision::Fused, "gemm", "channel gate of " + Conv.Name + " (its weights' column scale)");
  return true;
}

/// Lowers \p N as its Kernels.def row says (throws NoKernel where it can
/// not: the caller sends the node to the fallback).
void Selector::lowerByRow(const Node &N, const OpRow &Row) {
  const abi::KernelId K = Row.Kernel.value_or(abi::KernelId::copy);
  switch (Row.Lowering) {
  case OpLowering::View:
    if (!selectView(N, K))
      throw NoKernel{"unsupported layout op"};
    return;
  case OpLowering::Cat: return selectCat(N);
  case OpLowering::Stack: return selectStack(N);
  case OpLowering::Split: return selectSplit(N);
  case OpLowering::Upsample: return selectUpsample(N);
  case OpLowering::Unary: return selectUnary(N, K);
  case OpLowering::Convert: return selectConvert(N);
  case OpLowering::Pow: return selectPow(N);
  case OpLowering::Hardtanh: return selectClamp(N, /*Hardtanh=*/true);
  case OpLowering::Binary: return selectBinary(N, K);
  case OpLowering::MaxPool: return selectMaxPool(N);
  case OpLowering::Gemm: return selectGemm(N);
  case OpLowering::Conv: return selectConv(N);
  case OpLowering::Attention: return selectAttention(N);
  case OpLowering::AvgPool: return selectAvgPool(N);
  case OpLowering::Softmax: return selectSoftmax(N, K);
  case OpLowering::LayerNorm: return selectLayerNorm(N);
  case OpLowering::Reduce: return selectReduce(N, K);
  case OpLowering::Pad: return selectPad(N);
  case OpLowering::Gather: return selectEmbedding(N);
  case OpLowering::Where: return selectWhere(N);
  case OpLowering::Fill: return selectFill(N);
  case OpLowering::Arange: return selectArange(N);
  case OpLowering::Fold: return selectFold(N);
  case OpLowering::BatchNorm: return selectBatchNorm(N);
  }
}

llvm::Error Selector::finishOutputs() {
  uint32_t Index = 0;
  std::set<int> Used;
  for (std::string Raw : M.userOutputNames()) {
    // An output overwritten in place later is the in-place op's result.
    for (auto It = S.Mutated.find(S.resolve(Raw)); It != S.Mutated.end(); It = S.Mutated.find(S.resolve(Raw)))
      Raw = It->second;
    auto T = tensorFor(Raw, nullptr);
    if (!T)
      return T.takeError();
    int Id = *T;
    const PTensor &X = P.Tensors[Id];
    // An output needs its own contiguous buffer: copy views, inputs,
    // constants and values returned twice.
    if (X.isView() || X.Kind != abi::TensorKind::Intermediate || Used.count(Id)) {
      if (!deviceType(X.Dtype))
        return makeError(M.Path + ": output '" + Raw + "' is a view or input of dtype " +
                         frontend::scalarTypeName(X.Dtype).str() + ", which the device can not copy");
      Id = materialize(Id, "output " + Raw);
    }
    Used.insert(Id);
    P.Tensors[Id].Kind = abi::TensorKind::Output;
    P.Tensors[Id].UserIndex = Index++;
    P.Outputs.push_back(Id);
  }
  return llvm::Error::success();
}

} // namespace atalla::lower::select

using atalla::lower::select::Selector;

llvm::Error atalla::lower::selectKernels(LoweringState &S, const SelectOptions &Opts) {
  Selector Sel(S, Opts);
  return Sel.run();
}

llvm::Error atalla::lower::partition(LoweringState &S) {
  S.P.Segments.clear();
  for (const PInstr &I : S.P.Instrs) {
    bool Accel = I.Op == abi::Opcode::Kernel;
    if (S.P.Segments.empty() || S.P.Segments.back().Accelerator != Accel)
      S.P.Segments.push_back({Accel, 0});
    ++S.P.Segments.back().NumOps;
  }
  return llvm::Error::success();
}
