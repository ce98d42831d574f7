//===- lower/SelectElementwise.cpp - elementwise ops ------------------------===//
//
// Kernel selection (Selector.h) for elementwise ops, chain kernels, where, constants.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

/// A number argument of \p N (\p Default when absent or None).
double Selector::numberArg(const Node &N, const char *Name, double Default) {
  const Argument *A = arg(N, Name, false);
  if (!A || A->isNone())
    return Default;
  if (auto V = scalarOf(*A))
    return *V;
  throw NoKernel{std::string(Name) + " is not a number"};
}

void Selector::selectUnary(const Node &N, abi::KernelId K) {
  std::vector<int64_t> Params;
  if (K == abi::KernelId::gelu) {
    const Argument *Approx = arg(N, "approximate", false);
    std::string A = Approx && Approx->Kind == ArgKind::String ? Approx->S : "none";
    if (A == "tanh")
      K = abi::KernelId::gelu_tanh;
    else if (A != "none")
      throw NoKernel{"gelu approximate='" + A + "'"};
  } else if (K == abi::KernelId::leaky_relu) {
    Params = {int64_t(abi::f32Bits(float(numberArg(N, "negative_slope", 0.01))))};
  } else if (K == abi::KernelId::clamp) {
    return selectClamp(N, /*Hardtanh=*/false);
  }
  emitUnary(N, K, std::move(Params));
}

/// pow(x, e) by its exponent: square, sqrt, rsqrt or powi.
void Selector::selectPow(const Node &N) {
  const double E = numberArg(N, "exponent", 0);
  if (E == 2)
    return emitUnary(N, abi::KernelId::square, {});
  if (E == 0.5)
    return emitUnary(N, abi::KernelId::sqrt, {});
  if (E == -0.5)
    return emitUnary(N, abi::KernelId::rsqrt, {});
  if (E == 3 || E == -1 || E == -2)
    return emitUnary(N, abi::KernelId::powi, {int64_t(E)});
  throw NoKernel{"pow with an exponent other than 2, 3, -1, -2, 0.5 or -0.5"};
}

/// clamp(x, min, max) or hardtanh(x, min_val = -1, max_val = 1).
void Selector::selectClamp(const Node &N, bool Hardtanh) {
  const double Inf = std::numeric_limits<double>::infinity();
  const double Lo = numberArg(N, Hardtanh ? "min_val" : "min", Hardtanh ? -1.0 : -Inf),
               Hi = numberArg(N, Hardtanh ? "max_val" : "max", Hardtanh ? 1.0 : Inf);
  if (Lo > Hi) // torch: every element becomes max
    throw NoKernel{"clamp with min > max"};
  emitUnary(N, abi::KernelId::clamp, {int64_t(abi::f32Bits(float(Lo))), int64_t(abi::f32Bits(float(Hi)))});
}

/// Kernel \p K with \p Params on N's input "self".
void Selector::emitUnary(const Node &N, abi::KernelId K, std::vector<int64_t> Params) {
  int In = tensorArg(N, "self");
  requireF32(In, "input");
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  abi::KernelSpec Spec;
  Spec.Kernel = K;
  Spec.Params = std::move(Params);
  Spec.Operands = {broadcastOperand(In, Shape)};
  emitElementwise(N, Spec, {In}, OutName, ScalarType::Float32, Shape);
}

/// Emits \p Spec (a unary or binary kernel; its input operands and \p Ins
/// given, the output not yet) for node \p N, first growing it into a chain
/// kernel along the nodes that alone read its result: elementwise f32 ops
/// of the same shape whose other operand is a constant or a tensor that
/// already exists. The fused nodes are recorded; the kernel's output is
/// the last one's value.
void Selector::emitElementwise(const Node &N, abi::KernelSpec Spec, std::vector<int> Ins, const std::string &OutName,
                               ScalarType OutType, const std::vector<int64_t> &Shape) {
  std::vector<abi::ChainStep> Steps;
  abi::ChainStep Base;
  Base.Op = Spec.Kernel;
  bool Chainable = OutType == ScalarType::Float32 && Opts.FuseElementwise;
  if (abi::isChainableUnary(Spec.Kernel)) {
  } else if (abi::isChainableBinary(Spec.Kernel) && Spec.Alpha == 1) {
    if (Spec.HasScalar) {
      Base.Bits = abi::f32Bits(float(Spec.Scalar));
    } else {
      Base.Source = 1;
    }
  } else {
    Chainable = false;
  }
  std::string Cur = OutName;
  std::vector<std::string> Fused;
  while (Chainable) {
    auto Mark = S.Fusion.ChainNext.find(Cur); // fuse-elementwise: its only reader may join
    if (Mark == S.Fusion.ChainNext.end())
      break;
    const Node &R = *nodeNamed(Mark->second);
    auto Step = chainStep(R, Cur, Shape, Spec, Ins);
    if (!Step)
      break;
    Steps.push_back(*Step);
    Fused.push_back(R.Name);
    Cur = R.Outputs[0].S;
  }
  if (!Steps.empty()) {
    Spec.Kernel = abi::KernelId::chain;
    Spec.HasScalar = false;
    Spec.Scalar = 0;
    Spec.addChainStep(Base);
    for (const abi::ChainStep &St : Steps)
      Spec.addChainStep(St);
    for (const std::string &F : Fused)
      FusedChain[F] = N.Name;
  }
  int Out = defineOutput(Cur, OutType, Shape);
  Spec.Operands.push_back(operand(Out));
  Ins.push_back(Out);
  emitKernel(N, Spec, Ins);
}

/// The chain step node \p R makes of value \p Cur, adding its other
/// tensor operand to \p Spec and \p Ins; nothing if \p R can not join.
std::optional<abi::ChainStep> Selector::chainStep(const Node &R, const std::string &Cur,
                                                  const std::vector<int64_t> &Shape, abi::KernelSpec &Spec,
                                                  std::vector<int> &Ins) {
  if (R.Ns != "aten" || R.Outputs.size() != 1 || R.Outputs[0].Kind != ArgKind::Tensor)
    return std::nullopt;
  const std::optional<abi::KernelId> Kernel = kernelFor(R);
  if (!Kernel)
    return std::nullopt;
  const abi::KernelId K = *Kernel;
  const frontend::TensorMeta *OM = meta(R.Outputs[0].S);
  if (!OM || OM->Dtype != ScalarType::Float32 || shapeOf(R.Outputs[0].S) != Shape)
    return std::nullopt;
  if (R.Op.back() == '_' && R.Op != "relu_")
    return std::nullopt;
  auto isCur = [&](const Argument *A) { return A && A->Kind == ArgKind::Tensor && S.resolve(A->S) == Cur; };
  abi::ChainStep St;
  St.Op = K;
  if (abi::isChainableUnary(K)) {
    if (!isCur(arg(R, "self", false)))
      return std::nullopt;
    if (K == abi::KernelId::gelu) {
      const Argument *Approx = arg(R, "approximate", false);
      std::string A = Approx && Approx->Kind == ArgKind::String ? Approx->S : "none";
      if (A == "tanh")
        St.Op = abi::KernelId::gelu_tanh;
      else if (A != "none")
        return std::nullopt;
    }
    return St;
  }
  if (!abi::isChainableBinary(K))
    return std::nullopt;
  const Argument *Self = arg(R, "self", false), *Other = arg(R, "other", false);
  if (!Self || !Other)
    return std::nullopt;
  const bool SelfCur = isCur(Self), OtherCur = isCur(Other);
  if (SelfCur == OtherCur) // v op v, or not reading v at all
    return std::nullopt;
  const Argument *X = SelfCur ? Other : Self;
  St.Swapped = OtherCur && (K == abi::KernelId::sub || K == abi::KernelId::div);
  if (St.Swapped && K == abi::KernelId::div)
    return std::nullopt; // no exact oneDNN form to check it against
  double Alpha = 1;
  if (const Argument *A = arg(R, "alpha", false))
    Alpha = A->Kind == ArgKind::Int ? double(A->I) : A->Kind == ArgKind::Float ? A->F : 1;
  if (X->Kind == ArgKind::Tensor) {
    auto T = tensorFor(X->S, &R);
    if (!T) { // defined after the chain's first node
      llvm::consumeError(T.takeError());
      return std::nullopt;
    }
    const PTensor &XT = P.Tensors[*T];
    const bool ScalarConstant = XT.Kind == abi::TensorKind::Constant && XT.Sizes.empty();
    if (XT.Dtype != ScalarType::Float32 && !ScalarConstant)
      return std::nullopt;
    if (!ScalarConstant) {
      if (Alpha != 1)
        return std::nullopt;
      abi::OperandSpec O;
      try {
        O = broadcastOperand(*T, Shape);
      } catch (const NoKernel &) {
        return std::nullopt;
      }
      auto Pos = std::find(Ins.begin(), Ins.end(), *T);
      if (Pos == Ins.end()) {
        Ins.push_back(*T);
        Spec.Operands.push_back(O);
        Pos = Ins.end() - 1;
      }
      St.Source = Pos - Ins.begin();
      if (St.Source == 0) // the chain's first input: its view may differ; keep it simple
        return std::nullopt;
      return St;
    }
  }
  std::optional<double> V = scalarOf(*X);
  if (!V)
    return std::nullopt;
  // alpha scales the other operand (self + alpha * other): only when the
  // constant is that operand.
  if (Alpha != 1 && (St.Swapped || OtherCur))
    return std::nullopt;
  St.Bits = abi::f32Bits(float((K == abi::KernelId::add || K == abi::KernelId::sub) ? *V * Alpha : *V));
  St.Source = -1;
  return St;
}

/// A scalar operand: a Python number, or a 0-d constant tensor.
std::optional<double> Selector::scalarOf(const Argument &A) {
  if (A.Kind == ArgKind::Int || A.Kind == ArgKind::Bool)
    return static_cast<double>(A.I);
  if (A.Kind == ArgKind::Float)
    return A.F;
  if (A.Kind != ArgKind::Tensor)
    return std::nullopt;
  auto T = tensorFor(A.S, nullptr);
  if (!T) {
    llvm::consumeError(T.takeError());
    return std::nullopt;
  }
  const PTensor &X = P.Tensors[*T];
  if (X.Kind != abi::TensorKind::Constant || !X.Constant || !X.Sizes.empty())
    return std::nullopt;
  std::vector<uint8_t> B = X.Constant->contiguousBytes();
  switch (X.Dtype) {
  case ScalarType::Float32: { float F; std::memcpy(&F, B.data(), 4); return F; }
  case ScalarType::Float64: { double D; std::memcpy(&D, B.data(), 8); return D; }
  case ScalarType::Int64: { int64_t I; std::memcpy(&I, B.data(), 8); return static_cast<double>(I); }
  case ScalarType::Int32: { int32_t I; std::memcpy(&I, B.data(), 4); return I; }
  default: return std::nullopt;
  }
}

void Selector::selectBinary(const Node &N, abi::KernelId K) {
  const Argument *SelfA = arg(N, "self");
  if (SelfA->Kind != ArgKind::Tensor)
    throw NoKernel{"scalar first operand"};
  int A = tensorArg(N, "self");
  requireF32(A, "first operand");
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  abi::KernelSpec Probe;
  Probe.Kernel = K;
  const ScalarType OutType = Probe.isComparison() ? ScalarType::Bool : ScalarType::Float32;
  if (!OM || OM->Dtype != OutType)
    throw NoKernel{std::string("result dtype is not ") + (Probe.isComparison() ? "bool" : "float32")};
  std::vector<int64_t> Shape = shapeOf(OutName);
  abi::KernelSpec Spec;
  Spec.Kernel = K;
  if (const Argument *Alpha = arg(N, "alpha", false)) {
    if (Alpha->Kind == ArgKind::Int)
      Spec.Alpha = static_cast<double>(Alpha->I);
    else if (Alpha->Kind == ArgKind::Float)
      Spec.Alpha = Alpha->F;
  }
  const Argument *Other = arg(N, "other");
  std::vector<int> Ops{A};
  Spec.Operands.push_back(broadcastOperand(A, Shape));
  int B = -1;
  if (Other->Kind == ArgKind::Tensor) {
    auto T = tensorFor(Other->S, &N);
    if (!T)
      throw NoKernel{llvm::toString(T.takeError())};
    B = *T;
  }
  if (B >= 0 && P.Tensors[B].Dtype == ScalarType::Float32) {
    Spec.Operands.push_back(broadcastOperand(B, Shape));
    Ops.push_back(B);
  } else if (auto V = scalarOf(*Other)) {
    Spec.HasScalar = true;
    // add/sub fold alpha into the constant: x + alpha * c.
    Spec.Scalar = (K == abi::KernelId::add || K == abi::KernelId::sub) ? *V * Spec.Alpha : *V;
    Spec.Alpha = 1;
  } else {
    throw NoKernel{"second operand is neither a float32 tensor nor a constant scalar"};
  }
  emitElementwise(N, Spec, Ops, OutName, OutType, Shape);
}

/// The elements of a float32 constant, row-major, or nothing.
std::optional<std::vector<float>> Selector::constantValues(int T) {
  const PTensor &X = P.Tensors[T];
  if (X.Kind != abi::TensorKind::Constant || !X.Constant || X.isView() || X.Dtype != ScalarType::Float32)
    return std::nullopt;
  std::vector<uint8_t> Bytes = X.Constant->contiguousBytes();
  std::vector<float> F(Bytes.size() / 4);
  std::memcpy(F.data(), Bytes.data(), F.size() * 4);
  return F;
}

/// A constant the lowering computed, owned by the program.
int Selector::newConstant(const std::string &Name, const std::vector<int64_t> &Sizes, const std::vector<float> &V) {
  std::vector<uint8_t> Bytes(V.size() * 4);
  std::memcpy(Bytes.data(), V.data(), Bytes.size());
  return newConstantBytes(Name, ScalarType::Float32, Sizes, std::move(Bytes));
}

int Selector::newConstantBytes(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes,
                               std::vector<uint8_t> Bytes) {
  auto D = std::make_shared<frontend::TensorData>(frontend::TensorData::fromBytes(Dtype, Sizes, std::move(Bytes)));
  P.OwnedConstants.push_back(D);
  PTensor T;
  T.Name = Name;
  T.Dtype = Dtype;
  T.Sizes = Sizes;
  T.Strides = contiguous(Sizes);
  T.Kind = abi::TensorKind::Constant;
  T.Constant = D.get();
  int Id = newTensor(T);
  S.TensorOf[Name] = Id;
  return Id;
}

/// where(condition, self, other) and masked_fill(self, mask, value):
/// the select kernel (masked_fill's value is its constant A).
void Selector::selectWhere(const Node &N) {
  const bool Fill = N.Op == "masked_fill";
  int Cond = tensorArg(N, Fill ? "mask" : "condition");
  if (P.Tensors[Cond].Dtype != ScalarType::Bool)
    throw NoKernel{"the condition is not bool"};
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  if (!OM || OM->Dtype != ScalarType::Float32)
    throw NoKernel{"result dtype is not float32"};
  std::vector<int64_t> Shape = shapeOf(OutName);
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::where;
  Spec.Operands = {broadcastOperand(Cond, Shape)};
  std::vector<int> Ins = {Cond};
  auto value = [&](const char *Name) {
    int T = tensorArg(N, Name);
    requireF32(T, Name);
    Spec.Operands.push_back(broadcastOperand(T, Shape));
    Ins.push_back(T);
  };
  if (Fill) {
    std::optional<double> V = scalarOf(*arg(N, "value"));
    if (!V)
      throw NoKernel{"fill value is not a number"};
    Spec.HasScalar = true;
    Spec.Scalar = *V;
    value("self");
  } else {
    value("self");
    value("other");
  }
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  Spec.Operands.push_back(operand(Out));
  Ins.push_back(Out);
  emitKernel(N, Spec, Ins);
}

/// zeros / ones / full (and their _like and new_ forms) of a static
/// float32 shape: a constant the compiler writes into the blob (at most
/// 1 MiB; a larger one stays an op).
void Selector::selectFill(const Node &N) {
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  if (!OM || OM->Dtype != ScalarType::Float32)
    throw NoKernel{"result dtype is not float32"};
  if (const Argument *L = arg(N, "layout", false);
      L && L->Kind == ArgKind::Layout && L->I != int64_t(abi::SchemaLayout::Strided))
    throw NoKernel{"layout is not strided"};
  double Value = N.Op.find("zeros") != std::string::npos ? 0.0 : 1.0;
  if (N.Op.find("full") != std::string::npos) {
    std::optional<double> V = scalarOf(*arg(N, "fill_value"));
    if (!V)
      throw NoKernel{"fill_value is not a number"};
    Value = *V;
  }
  std::vector<int64_t> Shape = shapeOf(OutName);
  int64_t Count = 1;
  for (int64_t D : Shape)
    Count *= D;
  if (Count * 4 > (1 << 20))
    throw NoKernel{"a constant of " + std::to_string(Count * 4) + " bytes (more than 1 MiB) in the blob"};
  int T = newConstant(OutName + "_value", Shape, std::vector<float>(size_t(Count), float(Value)));
  S.TensorOf[OutName] = T;
  recordDecision(N, NodeDecision::View, "", "a constant in the blob");
}

/// Constants in the blob are at most this big; a larger one stays an op.
static constexpr int64_t MaxFoldedBytes = 1 << 20;

/// arange(end), arange(start, end), arange(start, end, step) of a static
/// length: a constant of the result's dtype, element i = start + i * step
/// (computed in double and converted, as torch's CPU kernel accumulates
/// in double for float32; exact in int64 below 2^53).
void Selector::selectArange(const Node &N) {
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  if (!OM || !OM->isStatic())
    throw NoKernel{"the result's shape is not static"};
  const ScalarType Dt = OM->Dtype;
  if (Dt != ScalarType::Float32 && Dt != ScalarType::Int64 && Dt != ScalarType::Int32)
    throw NoKernel{"arange of dtype " + frontend::scalarTypeName(Dt).str() + " (float32, int64 and int32 fold)"};
  const bool HasStart = N.Overload == "start" || N.Overload == "start_step";
  const double Start = HasStart ? numberArg(N, "start", 0) : 0.0, End = numberArg(N, "end", 0),
               Step = N.Overload == "start_step" ? numberArg(N, "step", 1) : 1.0;
  if (Step == 0 || !std::isfinite(Start) || !std::isfinite(End) || !std::isfinite(Step))
    throw NoKernel{"arange with a zero or non-finite bound or step"};
  std::vector<int64_t> Shape = shapeOf(OutName);
  const int64_t Count = Shape.size() == 1 ? Shape[0] : -1;
  if (Count < 0 || Count != std::max<int64_t>(0, int64_t(std::ceil((End - Start) / Step))))
    throw NoKernel{"the result's shape does not match arange's bounds"};
  const int64_t Item = frontend::elementSize(Dt);
  if (Count * Item > MaxFoldedBytes)
    throw NoKernel{"a constant of " + std::to_string(Count * Item) + " bytes (more than 1 MiB) in the blob"};
  std::vector<uint8_t> Bytes(size_t(Count * Item));
  for (int64_t I = 0; I < Count; ++I) {
    const double V = Start + double(I) * Step;
    if (Dt == ScalarType::Float32) {
      float F = float(V);
      std::memcpy(&Bytes[I * 4], &F, 4);
    } else if (Dt == ScalarType::Int64) {
      int64_t X = int64_t(V);
      std::memcpy(&Bytes[I * 8], &X, 8);
    } else {
      int32_t X = int32_t(V);
      std::memcpy(&Bytes[I * 4], &X, 4);
    }
  }
  S.TensorOf[OutName] = newConstantBytes(OutName + "_value", Dt, Shape, std::move(Bytes));
  recordDecision(N, NodeDecision::View, "", "a constant in the blob");
}

std::optional<std::vector<uint8_t>> Selector::constantElements(int T) const {
  const PTensor &X = P.Tensors[T];
  const PTensor &Root = P.Tensors[X.isView() ? X.Base : T];
  if (Root.Kind != abi::TensorKind::Constant || !Root.Constant || !Root.Constant->Data)
    return std::nullopt;
  const std::vector<uint8_t> Src = Root.Constant->contiguousBytes();
  const int64_t Item = frontend::elementSize(X.Dtype), Count = X.numel();
  std::vector<uint8_t> Out(size_t(Count * Item));
  std::vector<int64_t> Idx(X.Sizes.size(), 0);
  for (int64_t I = 0; I < Count; ++I) {
    int64_t Off = X.isView() ? X.Offset : 0;
    for (size_t D = 0; D < Idx.size(); ++D)
      Off += Idx[D] * X.Strides[D];
    if (Off < 0 || (Off + 1) * Item > int64_t(Src.size()))
      return std::nullopt;
    std::memcpy(&Out[I * Item], &Src[Off * Item], Item);
    for (size_t D = Idx.size(); D-- > 0;) // row-major increment
      if (++Idx[D] < X.Sizes[D])
        break;
      else
        Idx[D] = 0;
  }
  return Out;
}

/// bitwise_not / logical_not of a constant (a causal-mask buffer, or a
/// view of one): evaluated here, a constant in the blob.
void Selector::selectFold(const Node &N) {
  int In = tensorArg(N, "self");
  std::optional<std::vector<uint8_t>> V = constantElements(In);
  if (!V)
    throw NoKernel{"its input is not a constant (only a constant input is evaluated by the compiler)"};
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  const ScalarType InT = P.Tensors[In].Dtype;
  if (!OM || (N.Op == "logical_not" ? OM->Dtype != ScalarType::Bool : OM->Dtype != InT))
    throw NoKernel{"unexpected result dtype"};
  // At most 1 MiB, or as big as the constant it is computed from (a causal
  // mask's slice of the mask buffer the blob holds anyway).
  const PTensor &Src = P.Tensors[P.Tensors[In].isView() ? P.Tensors[In].Base : In];
  const int64_t SrcBytes = Src.Constant ? int64_t(Src.Constant->numel() * frontend::elementSize(Src.Dtype)) : 0;
  if (int64_t(V->size()) > std::max(MaxFoldedBytes, SrcBytes))
    throw NoKernel{"a constant of more than 1 MiB (and more than its source's bytes) in the blob"};
  const int64_t Item = frontend::elementSize(InT);
  std::vector<uint8_t> Out;
  if (N.Op == "logical_not") {
    Out.assign(V->size() / size_t(Item), 0);
    for (size_t I = 0; I < Out.size(); ++I) {
      bool NonZero = false;
      for (int64_t B = 0; B < Item; ++B)
        NonZero |= (*V)[I * Item + B] != 0;
      Out[I] = !NonZero;
    }
  } else if (InT == ScalarType::Bool) {
    Out = std::move(*V);
    for (uint8_t &B : Out)
      B = B ? 0 : 1;
  } else if (!frontend::isFloatingPoint(InT)) {
    Out = std::move(*V);
    for (uint8_t &B : Out) // two's complement: ~x flips every bit
      B = uint8_t(~B);
  } else {
    throw NoKernel{"bitwise_not of a floating-point tensor"};
  }
  S.TensorOf[OutName] = newConstantBytes(OutName + "_value", OM->Dtype, shapeOf(OutName), std::move(Out));
  recordDecision(N, NodeDecision::View, "", "evaluated by the compiler: a constant in the blob");
}

} // namespace atalla::lower::select
