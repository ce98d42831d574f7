//===- lower/SelectKernels.cpp - nodes to kernels, views and fallback calls -===//
//
// Each node becomes, in order of preference: a view (layout ops the strides
// can express, no code at all), a device kernel specialised to its operands'
// shapes and strides (matched by name through Kernels.def), or a fallback
// ATen call. A node that can not be accelerated records why (dtype, shape,
// attribute), for the report and for --accel-only.
//
//===----------------------------------------------------------------------===//
#include "lower/GraphQueries.h"
#include "lower/Passes.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "runtime/abi/SchemaEnums.h"

#include "llvm/ADT/StringExtras.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <set>

using namespace atalla;
using namespace atalla::lower;
using frontend::ArgKind;
using frontend::Argument;
using frontend::makeError;
using frontend::Node;
using frontend::ScalarType;

namespace {

/// aten::op.overload -> kernel, built from Kernels.def.
std::vector<int64_t> contiguous(const std::vector<int64_t> &Sizes) {
  return frontend::contiguousStrides(Sizes);
}

bool isContiguous(const PTensor &T) { return T.Strides == contiguous(T.Sizes); }

/// The device's element type for \p T, if it has one.
std::optional<abi::DType> deviceType(ScalarType T) {
  switch (T) {
  case ScalarType::UInt8: return abi::DType::U8;
  case ScalarType::Int32: return abi::DType::I32;
  case ScalarType::Int64: return abi::DType::I64;
  case ScalarType::Float32: return abi::DType::F32;
  case ScalarType::Bool: return abi::DType::Bool;
  default: return std::nullopt;
  }
}

/// Thrown to send the current node to fallback with a reason.
struct NoKernel {
  std::string Reason;
};

class Selector {
public:
  Selector(LoweringState &S, const SelectOptions &Opts) : S(S), Opts(Opts), M(*S.M) {}

  llvm::Error run();

private:
  LoweringState &S;
  const SelectOptions &Opts;
  const frontend::Model &M;
  Program &P = S.P;

  const frontend::TensorMeta *meta(const std::string &Name) const { return M.G.meta(Name); }

  std::vector<int64_t> shapeOf(const std::string &Name) const {
    auto It = S.Shapes.find(Name);
    return It == S.Shapes.end() ? std::vector<int64_t>{} : It->second;
  }

  int newTensor(PTensor T) {
    int Id = static_cast<int>(P.Tensors.size());
    if (T.SemanticStorage < 0)
      T.SemanticStorage = Id;
    P.Tensors.push_back(std::move(T));
    return Id;
  }

  /// The owning tensor of a view chain.
  int ownerOf(int T) const { return P.Tensors[T].isView() ? P.Tensors[T].Base : T; }

  llvm::Expected<int> tensorFor(const std::string &RawName, const Node *User) {
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

  int defineOutput(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes) {
    PTensor T;
    T.Name = Name;
    T.Dtype = Dtype;
    T.Sizes = Sizes;
    T.Strides = contiguous(Sizes);
    int Id = newTensor(T);
    S.TensorOf[Name] = Id;
    return Id;
  }

  int defineView(const std::string &Name, int Of, std::vector<int64_t> Sizes, std::vector<int64_t> Strides,
                 int64_t ExtraOffset, bool OwnStorage = false) {
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

  abi::DType typeOf(int T) const {
    std::optional<abi::DType> D = deviceType(P.Tensors[T].Dtype);
    if (!D)
      throw NoKernel{"dtype " + frontend::scalarTypeName(P.Tensors[T].Dtype).str() +
                     " has no device kernels (f32, u8, i32, i64 and bool do)"};
    return *D;
  }

  abi::OperandSpec operand(int T) const { return {P.Tensors[T].Sizes, P.Tensors[T].Strides, typeOf(T)}; }

  /// \p T broadcast to \p Out (right-aligned; stride 0 where broadcast).
  abi::OperandSpec broadcastOperand(int T, const std::vector<int64_t> &Out) const {
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
  int materialize(int T, const std::string &For) {
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

  void requireF32(int T, const char *What) {
    if (P.Tensors[T].Dtype != ScalarType::Float32)
      throw NoKernel{std::string(What) + " has dtype " + frontend::scalarTypeName(P.Tensors[T].Dtype).str() +
                     " (device kernels are float32)"};
  }

  const Argument *arg(const Node &N, const char *Name, bool Required = true) {
    const frontend::NamedArgument *A = N.input(Name);
    if (!A && Required)
      throw NoKernel{std::string("argument '") + Name + "' missing"};
    return A ? &A->Arg : nullptr;
  }

  int tensorArg(const Node &N, const char *Name) {
    const Argument *A = arg(N, Name);
    if (A->Kind != ArgKind::Tensor)
      throw NoKernel{std::string("argument '") + Name + "' is not a tensor"};
    auto T = tensorFor(A->S, &N);
    if (!T) {
      std::string Msg = llvm::toString(T.takeError());
      throw NoKernel{Msg};
    }
    return *T;
  }

  /// The node's result. A node of several results (native_layer_norm's
  /// mean and rstd, a batch norm's saved statistics) qualifies when nothing
  /// reads the others: the kernels compute the first.
  std::string outputName(const Node &N) {
    if (N.Outputs.empty() || N.Outputs[0].Kind != ArgKind::Tensor)
      throw NoKernel{"node has no tensor result"};
    if (!onlyFirstOutputUsed(N))
      throw NoKernel{"node has more than one output in use"};
    return N.Outputs[0].S;
  }

  bool onlyFirstOutputUsed(const Node &N) const { return lower::onlyFirstOutputUsed(S, N); }
  static bool isBatchNormOp(const Node &N) { return lower::isBatchNormOp(N); }

  int64_t normDim(int64_t D, size_t Rank) {
    int64_t R = static_cast<int64_t>(Rank);
    if (D < -std::max<int64_t>(R, 1) || D >= std::max<int64_t>(R, 1))
      throw NoKernel{"dimension " + std::to_string(D) + " out of range"};
    return D < 0 ? D + R : D;
  }

  // --- layout ops as views -------------------------------------------------
  bool selectView(const Node &N, abi::KernelId K) {
    (void)K;
    const std::string Op = N.Op;
    int In = tensorArg(N, "self");
    const PTensor Src = P.Tensors[In];
    std::string Out = outputName(N);
    std::vector<int64_t> OutShape = shapeOf(Out);
    std::vector<int64_t> Sz = Src.Sizes, St = Src.Strides;
    int64_t Extra = 0;
    auto needContiguous = [&]() { return !isContiguous(Src); };
    if (Op == "transpose") {
      int64_t A = normDim(arg(N, "dim0")->I, Sz.size()), B = normDim(arg(N, "dim1")->I, Sz.size());
      std::swap(Sz[A], Sz[B]);
      std::swap(St[A], St[B]);
    } else if (Op == "t" || Op == "numpy_T") {
      std::reverse(Sz.begin(), Sz.end());
      std::reverse(St.begin(), St.end());
    } else if (Op == "permute") {
      auto Dims = arg(N, "dims")->asInts();
      if (!Dims || Dims->size() != Sz.size())
        throw NoKernel{"permute dims"};
      std::vector<int64_t> NS, NT;
      for (int64_t D : *Dims) {
        D = normDim(D, Sz.size());
        NS.push_back(Src.Sizes[D]);
        NT.push_back(Src.Strides[D]);
      }
      Sz = NS;
      St = NT;
    } else if (Op == "unsqueeze") {
      int64_t D = normDim(arg(N, "dim")->I, Sz.size() + 1);
      int64_t Stride = D < static_cast<int64_t>(Sz.size()) ? Sz[D] * St[D] : 1;
      Sz.insert(Sz.begin() + D, 1);
      St.insert(St.begin() + D, Stride);
    } else if (Op == "expand") {
      Sz = OutShape;
      St = broadcastOperand(In, OutShape).Strides;
      // Sizes that stay keep their stride even when 1 (broadcastOperand zeroes them).
    } else if (Op == "slice") {
      int64_t D = normDim(arg(N, "dim", false) ? arg(N, "dim")->I : 0, Sz.size());
      const Argument *StepA = arg(N, "step", false);
      int64_t Step = StepA && StepA->Kind == ArgKind::Int ? StepA->I : 1;
      const Argument *StartA = arg(N, "start", false);
      int64_t Start = StartA && StartA->Kind == ArgKind::Int ? StartA->I : 0;
      if (Start < 0)
        Start += Sz[D];
      Start = std::clamp<int64_t>(Start, 0, Sz[D]);
      if (Step <= 0)
        throw NoKernel{"slice step must be positive"};
      Extra = Start * St[D];
      Sz = OutShape;
      St[D] *= Step;
    } else if (Op == "select") {
      int64_t D = normDim(arg(N, "dim")->I, Sz.size());
      int64_t Index = arg(N, "index")->I;
      if (Index < 0)
        Index += Sz[D];
      Extra = Index * St[D];
      Sz.erase(Sz.begin() + D);
      St.erase(St.begin() + D);
    } else if (Op == "squeeze") {
      std::vector<int64_t> NS, NT;
      for (size_t I = 0; I < Src.Sizes.size(); ++I) {
        bool Drop = Src.Sizes[I] == 1;
        if (const Argument *DimA = arg(N, "dim", false))
          Drop = Drop && normDim(DimA->I, Src.Sizes.size()) == static_cast<int64_t>(I);
        if (const Argument *DimsA = arg(N, "dims", false)) {
          bool Listed = false;
          for (int64_t X : DimsA->asInts().value_or(std::vector<int64_t>{}))
            Listed |= normDim(X, Src.Sizes.size()) == static_cast<int64_t>(I);
          Drop = Drop && Listed;
        }
        if (!Drop) {
          NS.push_back(Src.Sizes[I]);
          NT.push_back(Src.Strides[I]);
        }
      }
      Sz = NS;
      St = NT;
    } else if (Op == "view" || Op == "reshape" || Op == "_unsafe_view" || Op == "flatten" ||
               Op == "contiguous" || Op == "clone") {
      int Base = In;
      if (needContiguous()) {
        if (Op == "view")
          throw NoKernel{"view of a non-contiguous tensor"};
        Base = materialize(In, N.Name); // copy kernel, then a view of its output
      }
      defineView(Out, Base, OutShape, contiguous(OutShape), 0, /*OwnStorage=*/Op == "clone" && Base == In);
      recordDecision(N, NodeDecision::View, Base == In ? "" : "copy");
      return true;
    } else {
      return false;
    }
    if (Sz != OutShape)
      throw NoKernel{"view shape " + frontend::formatShape(Sz) + " differs from the graph's " +
                     frontend::formatShape(OutShape)};
    defineView(Out, In, Sz, St, Extra);
    recordDecision(N, NodeDecision::View, "");
    return true;
  }

  // --- kernels -------------------------------------------------------------
  void emitKernel(const Node &N, abi::KernelSpec Spec, std::vector<int> Operands) {
    pushKernel(N, std::move(Spec), std::move(Operands));
    recordDecision(N, NodeDecision::Accelerated, std::string(abi::kernelName(P.Instrs.back().Spec.Kernel)));
  }

  /// What a node's selection may add, so that a NoKernel can undo it.
  struct Checkpoint {
    size_t Tensors, Instrs, Owned;
    std::map<std::string, std::string> Folded, Epilogues, Chains;
  };
  Checkpoint checkpoint() const {
    return {P.Tensors.size(), P.Instrs.size(), P.OwnedConstants.size(), FoldedBatchNorm, FusedEpilogue, FusedChain};
  }
  void rollback(const Checkpoint &C) {
    for (auto It = S.TensorOf.begin(); It != S.TensorOf.end();)
      It = It->second >= int(C.Tensors) ? S.TensorOf.erase(It) : std::next(It);
    P.Tensors.resize(C.Tensors);
    P.Instrs.resize(C.Instrs);
    P.OwnedConstants.resize(C.Owned);
    FoldedBatchNorm = C.Folded;
    FusedEpilogue = C.Epilogues;
    FusedChain = C.Chains;
  }

  /// to.dtype, to.dtype_layout, _to_copy: a convert kernel between the
  /// device's element types; the same type is an alias (to) or a copy
  /// (_to_copy, copy=True) as in eager.
  void selectConvert(const Node &N) {
    int In = tensorArg(N, "self");
    std::string OutName = outputName(N);
    const frontend::TensorMeta *OM = meta(OutName);
    if (!OM)
      throw NoKernel{"result has no metadata"};
    if (const Argument *L = arg(N, "layout", false);
        L && L->Kind == ArgKind::Layout && L->I != int64_t(abi::SchemaLayout::Strided))
      throw NoKernel{"layout " + std::to_string(L->I) + " is not strided"};
    // Contiguous and preserve give a dense result here; channels-last
    // layouts do not.
    if (const Argument *F = arg(N, "memory_format", false);
        F && F->Kind == ArgKind::MemoryFormat && F->I != int64_t(abi::SchemaMemoryFormat::Contiguous) &&
        F->I != int64_t(abi::SchemaMemoryFormat::Preserve))
      throw NoKernel{"memory_format " + std::to_string(F->I)};
    std::vector<int64_t> Shape = shapeOf(OutName);
    if (Shape != P.Tensors[In].Sizes)
      throw NoKernel{"result shape differs from the input's"};
    typeOf(In); // throws for a type the device does not have
    if (!deviceType(OM->Dtype))
      throw NoKernel{"dtype " + frontend::scalarTypeName(OM->Dtype).str() +
                     " has no device kernels (f32, u8, i32, i64 and bool do)"};
    if (P.Tensors[In].Dtype == OM->Dtype) {
      const Argument *CopyA = arg(N, "copy", false);
      const bool Copies = N.Op == "_to_copy" || (CopyA && CopyA->Kind == ArgKind::Bool && CopyA->I);
      const PTensor X = P.Tensors[In];
      if (!Copies) { // eager returns self
        defineView(OutName, In, X.Sizes, X.Strides, 0);
        recordDecision(N, NodeDecision::View, "");
        return;
      }
      int Base = isContiguous(X) ? In : materialize(In, N.Name);
      defineView(OutName, Base, Shape, contiguous(Shape), 0, /*OwnStorage=*/Base == In);
      recordDecision(N, NodeDecision::View, Base == In ? "" : "copy");
      return;
    }
    int Out = defineOutput(OutName, OM->Dtype, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::convert;
    Spec.Operands = {operand(In), operand(Out)};
    emitKernel(N, Spec, {In, Out});
  }

  void selectUnary(const Node &N, abi::KernelId K) {
    if (K == abi::KernelId::gelu) {
      const Argument *Approx = arg(N, "approximate", false);
      std::string A = Approx && Approx->Kind == ArgKind::String ? Approx->S : "none";
      if (A == "tanh")
        K = abi::KernelId::gelu_tanh;
      else if (A != "none")
        throw NoKernel{"gelu approximate='" + A + "'"};
    }
    std::vector<int64_t> Params;
    auto bits = [](double V) { return int64_t(abi::f32Bits(float(V))); };
    auto number = [&](const char *Name, double Default) -> double {
      const Argument *A = arg(N, Name, false);
      if (!A || A->isNone())
        return Default;
      if (auto V = scalarOf(*A))
        return *V;
      throw NoKernel{std::string(Name) + " is not a number"};
    };
    if (K == abi::KernelId::square && N.Op == "pow") {
      const double E = number("exponent", 0);
      if (E == 0.5) {
        K = abi::KernelId::sqrt;
      } else if (E == -0.5) {
        K = abi::KernelId::rsqrt;
      } else if (E == 3 || E == -1 || E == -2) {
        K = abi::KernelId::powi;
        Params = {int64_t(E)};
      } else if (E != 2) {
        throw NoKernel{"pow with an exponent other than 2, 3, -1, -2, 0.5 or -0.5"};
      }
    } else if (K == abi::KernelId::leaky_relu) {
      Params = {bits(number("negative_slope", 0.01))};
    } else if (K == abi::KernelId::clamp) {
      const double Inf = std::numeric_limits<double>::infinity();
      const bool Hard = N.Op == "hardtanh";
      double Lo = number(Hard ? "min_val" : "min", Hard ? -1.0 : -Inf), Hi = number(Hard ? "max_val" : "max", Hard ? 1.0 : Inf);
      if (Lo > Hi) // torch: every element becomes max
        throw NoKernel{"clamp with min > max"};
      Params = {bits(Lo), bits(Hi)};
    }
    int In = tensorArg(N, "self");
    requireF32(In, "input");
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    abi::KernelSpec Spec;
    Spec.Kernel = K;
    Spec.Params = Params;
    Spec.Operands = {broadcastOperand(In, Shape)};
    emitElementwise(N, Spec, {In}, OutName, ScalarType::Float32, Shape);
  }

  /// Emits \p Spec (a unary or binary kernel; its input operands and \p Ins
  /// given, the output not yet) for node \p N, first growing it into a chain
  /// kernel along the nodes that alone read its result: elementwise f32 ops
  /// of the same shape whose other operand is a constant or a tensor that
  /// already exists. The fused nodes are recorded; the kernel's output is
  /// the last one's value.
  void emitElementwise(const Node &N, abi::KernelSpec Spec, std::vector<int> Ins, const std::string &OutName,
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
  std::optional<abi::ChainStep> chainStep(const Node &R, const std::string &Cur, const std::vector<int64_t> &Shape,
                                          abi::KernelSpec &Spec, std::vector<int> &Ins) {
    if (R.Ns != "aten" || R.Outputs.size() != 1 || R.Outputs[0].Kind != ArgKind::Tensor)
      return std::nullopt;
    std::string Key = "aten::" + R.Op + (R.Overload.empty() ? "" : "." + R.Overload);
    auto It = kernelTable().find(Key);
    if (It == kernelTable().end())
      return std::nullopt;
    abi::KernelId K = It->second;
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
  std::optional<double> scalarOf(const Argument &A) {
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

  void selectBinary(const Node &N, abi::KernelId K) {
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

  void selectSoftmax(const Node &N, abi::KernelId K) {
    int In = tensorArg(N, "self");
    requireF32(In, "input");
    if (const Argument *Dt = arg(N, "dtype", false); Dt && Dt->Kind == ArgKind::ScalarType &&
                                                      Dt->I != static_cast<int64_t>(ScalarType::Float32))
      throw NoKernel{"softmax with a dtype conversion"};
    if (const Argument *H = arg(N, "half_to_float", false); H && H->I)
      throw NoKernel{"half_to_float"};
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    int64_t Dim = normDim(arg(N, "dim")->I, Shape.size());
    if (!Shape.empty() && Shape[Dim] > Opts.MaxSoftmaxRow)
      throw NoKernel{"softmax row of " + std::to_string(Shape[Dim]) + " elements exceeds the scratchpad row limit " +
                     std::to_string(Opts.MaxSoftmaxRow)};
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = K;
    Spec.Dim = Shape.empty() ? 0 : Dim;
    Spec.Operands = {broadcastOperand(In, Shape), operand(Out)};
    emitKernel(N, Spec, {In, Out});
  }

  /// A GEMM operand [batch..., R, C] laid out so that one of its last two
  /// strides is 1 (materialised by the copy kernel otherwise).
  abi::OperandSpec gemmOperand(int &T, const std::vector<int64_t> &Batch, int64_t R, int64_t C, const Node &N) {
    std::vector<int64_t> Want = Batch;
    Want.push_back(R);
    Want.push_back(C);
    abi::OperandSpec O = broadcastOperand(T, Want);
    size_t Rk = O.Sizes.size();
    int64_t &SR = O.Strides[Rk - 2], &SC = O.Strides[Rk - 1];
    // Size-1 dimensions may take whichever stride makes the layout legal.
    if (SC != 1 && SR != 1) {
      if (R == 1)
        SR = 1;
      else if (C == 1)
        SC = 1;
    }
    if (SC != 1 && SR != 1) {
      T = materialize(T, N.Name);
      O = broadcastOperand(T, Want);
    }
    return O;
  }

  void selectGemm(const Node &N) {
    const std::string Op = N.Op;
    int A, B, Bias = -1;
    if (Op == "linear") {
      A = tensorArg(N, "input");
      int W = tensorArg(N, "weight");
      requireF32(W, "weight");
      if (P.Tensors[W].Sizes.size() != 2)
        throw NoKernel{"weight is not 2-D"};
      // weight^T as a view: no copy.
      const PTensor &Wt = P.Tensors[W];
      B = defineView(Wt.Name + "_T_" + N.Name, W, {Wt.Sizes[1], Wt.Sizes[0]}, {Wt.Strides[1], Wt.Strides[0]}, 0,
                     /*OwnStorage=*/true);
      if (const Argument *BA = arg(N, "bias", false); BA && BA->Kind == ArgKind::Tensor)
        Bias = tensorArg(N, "bias");
    } else if (Op == "addmm") {
      Bias = tensorArg(N, "self");
      A = tensorArg(N, "mat1");
      B = tensorArg(N, "mat2");
      for (const char *Coef : {"beta", "alpha"})
        if (const Argument *C = arg(N, Coef, false))
          if (!((C->Kind == ArgKind::Int && C->I == 1) || (C->Kind == ArgKind::Float && C->F == 1.0)))
            throw NoKernel{std::string(Coef) + " != 1"};
    } else {
      A = tensorArg(N, "self");
      B = tensorArg(N, Op == "matmul" ? "other" : "mat2");
    }
    requireF32(A, "first operand");
    requireF32(B, "second operand");
    if (Bias >= 0)
      requireF32(Bias, "bias");
    if (P.Tensors[A].Sizes.size() < 2 || P.Tensors[B].Sizes.size() < 2)
      throw NoKernel{"1-D matmul operand"};
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    if (Shape.size() < 2)
      throw NoKernel{"result of rank < 2"};
    int64_t Mdim = Shape[Shape.size() - 2], Ndim = Shape.back();
    int64_t K = P.Tensors[A].Sizes.back();
    if (P.Tensors[B].Sizes[P.Tensors[B].Sizes.size() - 2] != K)
      throw NoKernel{"inner dimensions differ"};
    std::vector<int64_t> Batch(Shape.begin(), Shape.end() - 2);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::gemm;
    std::vector<int> Ops;
    Spec.Operands.push_back(gemmOperand(A, Batch, Mdim, K, N));
    Spec.Operands.push_back(gemmOperand(B, Batch, K, Ndim, N));
    Ops = {A, B};
    if (Bias >= 0) {
      Spec.HasBias = true;
      Spec.Operands.push_back(broadcastOperand(Bias, Shape));
      Ops.push_back(Bias);
    }
    int Out = defineOutput(fuseEpilogue(N, Spec, OutName), ScalarType::Float32, Shape);
    S.TensorOf[OutName] = Out;
    Spec.Operands.push_back(operand(Out));
    Ops.push_back(Out);
    emitKernel(N, Spec, Ops);
  }

  /// scaled_dot_product_attention without dropout: S = q k^T (k^T a view),
  /// S * scale + mask (a float mask, and -inf above the diagonal when
  /// causal: one chain kernel), softmax along the last dim, then P v.
  void selectAttention(const Node &N) {
    int Q = tensorArg(N, "query"), K = tensorArg(N, "key"), V = tensorArg(N, "value");
    for (auto [T, What] : {std::pair{Q, "query"}, {K, "key"}, {V, "value"}})
      requireF32(T, What);
    if (const Argument *D = arg(N, "dropout_p", false);
        D && ((D->Kind == ArgKind::Float && D->F != 0) || (D->Kind == ArgKind::Int && D->I != 0)))
      throw NoKernel{"dropout"};
    if (const Argument *G = arg(N, "enable_gqa", false); G && G->Kind == ArgKind::Bool && G->I)
      throw NoKernel{"grouped-query attention"};
    const std::vector<int64_t> QS = P.Tensors[Q].Sizes, KS = P.Tensors[K].Sizes, VS = P.Tensors[V].Sizes;
    if (QS.size() < 2 || KS.size() < 2 || VS.size() < 2)
      throw NoKernel{"operands of rank < 2"};
    const int64_t L = QS[QS.size() - 2], E = QS.back(), Sk = KS[KS.size() - 2], Ev = VS.back();
    if (KS.back() != E || VS[VS.size() - 2] != Sk)
      throw NoKernel{"query, key and value do not fit"};
    std::string OutName = outputName(N);
    const std::vector<int64_t> Shape = shapeOf(OutName);
    if (Shape.size() < 2 || Shape[Shape.size() - 2] != L || Shape.back() != Ev)
      throw NoKernel{"result shape"};
    if (Sk > Opts.MaxSoftmaxRow)
      throw NoKernel{"key length exceeds the softmax row limit"};
    const std::vector<int64_t> Batch(Shape.begin(), Shape.end() - 2);
    std::vector<int64_t> SShape = Batch;
    SShape.push_back(L);
    SShape.push_back(Sk);
    double Scale = 1.0 / std::sqrt(double(E));
    if (const Argument *Sc = arg(N, "scale", false); Sc && !Sc->isNone())
      Scale = Sc->Kind == ArgKind::Float ? Sc->F : Sc->Kind == ArgKind::Int ? double(Sc->I) : Scale;
    // q k^T.
    const PTensor KT = P.Tensors[K];
    std::vector<int64_t> TSz = KT.Sizes, TSt = KT.Strides;
    std::swap(TSz[TSz.size() - 1], TSz[TSz.size() - 2]);
    std::swap(TSt[TSt.size() - 1], TSt[TSt.size() - 2]);
    int Kt = defineView(N.Name + "_keyT", K, TSz, TSt, 0, /*OwnStorage=*/true);
    abi::KernelSpec G1;
    G1.Kernel = abi::KernelId::gemm;
    G1.Operands = {gemmOperand(Q, Batch, L, E, N), gemmOperand(Kt, Batch, E, Sk, N)};
    int Scores = defineOutput(N.Name + "_scores", ScalarType::Float32, SShape);
    G1.Operands.push_back(operand(Scores));
    pushKernel(N, G1, {Q, Kt, Scores});
    // * scale (+ mask) (+ causal -inf).
    abi::KernelSpec C;
    C.Kernel = abi::KernelId::chain;
    C.Operands = {operand(Scores)};
    std::vector<int> Ins = {Scores};
    abi::ChainStep Mul;
    Mul.Op = abi::KernelId::mul;
    Mul.Bits = abi::f32Bits(float(Scale));
    C.addChainStep(Mul);
    auto addInput = [&](int T) {
      C.Operands.push_back(broadcastOperand(T, SShape));
      Ins.push_back(T);
      abi::ChainStep Add;
      Add.Op = abi::KernelId::add;
      Add.Source = int64_t(Ins.size()) - 1;
      C.addChainStep(Add);
    };
    if (const Argument *Mask = arg(N, "attn_mask", false); Mask && Mask->Kind == ArgKind::Tensor) {
      int Mk = tensorArg(N, "attn_mask");
      if (P.Tensors[Mk].Dtype != ScalarType::Float32)
        throw NoKernel{"a boolean attention mask"};
      addInput(Mk);
    }
    if (const Argument *Causal = arg(N, "is_causal", false); Causal && Causal->Kind == ArgKind::Bool && Causal->I) {
      std::vector<float> Tri(size_t(L * Sk), 0.0f);
      for (int64_t I = 0; I < L; ++I)
        for (int64_t J = I + 1; J < Sk; ++J)
          Tri[size_t(I * Sk + J)] = -std::numeric_limits<float>::infinity();
      addInput(newConstant(N.Name + "_causal", {L, Sk}, Tri));
    }
    int Logits = defineOutput(N.Name + "_logits", ScalarType::Float32, SShape);
    C.Operands.push_back(operand(Logits));
    Ins.push_back(Logits);
    pushKernel(N, C, Ins);
    // softmax along the keys.
    abi::KernelSpec Sm;
    Sm.Kernel = abi::KernelId::softmax;
    Sm.Dim = int64_t(SShape.size()) - 1;
    int Probs = defineOutput(N.Name + "_probs", ScalarType::Float32, SShape);
    Sm.Operands = {operand(Logits), operand(Probs)};
    pushKernel(N, Sm, {Logits, Probs});
    // P v.
    abi::KernelSpec G2;
    G2.Kernel = abi::KernelId::gemm;
    G2.Operands = {gemmOperand(Probs, Batch, L, Sk, N), gemmOperand(V, Batch, Sk, Ev, N)};
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    G2.Operands.push_back(operand(Out));
    emitKernel(N, G2, {Probs, V, Out});
  }

  // --- convolutions through the GEMM --------------------------------------
  /// An int[2] argument (a single value repeats), or Default when absent.
  std::vector<int64_t> intPair(const Node &N, const char *Name, int64_t Default) {
    const Argument *A = arg(N, Name, false);
    if (!A || A->isNone())
      return {Default, Default};
    if (A->Kind == ArgKind::Int)
      return {A->I, A->I};
    auto V = A->asInts();
    if (!V || V->empty() || V->size() > 2)
      throw NoKernel{std::string("argument '") + Name + "' is not one or two ints"};
    if (V->size() == 1)
      return {(*V)[0], (*V)[0]};
    return *V;
  }

  /// The elements of a float32 constant, row-major, or nothing.
  std::optional<std::vector<float>> constantValues(int T) {
    const PTensor &X = P.Tensors[T];
    if (X.Kind != abi::TensorKind::Constant || !X.Constant || X.isView() || X.Dtype != ScalarType::Float32)
      return std::nullopt;
    std::vector<uint8_t> Bytes = X.Constant->contiguousBytes();
    std::vector<float> F(Bytes.size() / 4);
    std::memcpy(F.data(), Bytes.data(), F.size() * 4);
    return F;
  }

  /// A constant the lowering computed, owned by the program.
  int newConstant(const std::string &Name, const std::vector<int64_t> &Sizes, const std::vector<float> &V) {
    std::vector<uint8_t> Bytes(V.size() * 4);
    std::memcpy(Bytes.data(), V.data(), Bytes.size());
    auto D = std::make_shared<frontend::TensorData>(
        frontend::TensorData::fromBytes(ScalarType::Float32, Sizes, std::move(Bytes)));
    P.OwnedConstants.push_back(D);
    PTensor T;
    T.Name = Name;
    T.Sizes = Sizes;
    T.Strides = contiguous(Sizes);
    T.Kind = abi::TensorKind::Constant;
    T.Constant = D.get();
    int Id = newTensor(T);
    S.TensorOf[Name] = Id;
    return Id;
  }

  std::vector<const Node *> readersOf(const std::string &Name) const { return lower::readersOf(S, Name); }
  /// The node a fusion mark names (marks name nodes of S.Nodes).
  const Node *nodeNamed(const std::string &Name) const {
    for (const Node &N : S.Nodes)
      if (N.Name == Name)
        return &N;
    assert(false && "a fusion mark names no node");
    return nullptr;
  }
  bool isGraphOutput(const std::string &Name) const { return lower::isGraphOutput(S, Name); }

  /// Per-channel scale and shift of an inference batch_norm whose
  /// parameters are constants: y = x * scale[c] + shift[c].
  bool batchNormAffine(const Node &Bn, int64_t C, std::vector<double> &Scale, std::vector<double> &Shift) {
    const Argument *Training = arg(Bn, "training", false);
    if (Bn.Op == "batch_norm" && (!Training || Training->I))
      return false;
    auto values = [&](const char *Name, double Default) -> std::optional<std::vector<double>> {
      const Argument *A = arg(Bn, Name, false);
      if (!A || A->isNone())
        return std::vector<double>(size_t(C), Default);
      if (A->Kind != ArgKind::Tensor)
        return std::nullopt;
      auto V = constantValues(tensorArg(Bn, Name));
      if (!V || int64_t(V->size()) != C)
        return std::nullopt;
      return std::vector<double>(V->begin(), V->end());
    };
    auto Gamma = values("weight", 1), Beta = values("bias", 0), Mean = values("running_mean", 0),
         Var = values("running_var", 1);
    const Argument *Eps = arg(Bn, "eps", false);
    if (!Gamma || !Beta || !Mean || !Var || !Eps || Eps->Kind != ArgKind::Float)
      return false;
    if (!arg(Bn, "running_mean", false) || arg(Bn, "running_mean")->isNone())
      return false; // batch statistics: not an affine map
    Scale.resize(size_t(C));
    Shift.resize(size_t(C));
    for (size_t I = 0; I < size_t(C); ++I) {
      // torch: (x - mean) * (1 / sqrt(var + eps)) * gamma + beta.
      double Inv = 1.0 / std::sqrt((*Var)[I] + Eps->F);
      Scale[I] = Inv * (*Gamma)[I];
      Shift[I] = (*Beta)[I] - (*Mean)[I] * Scale[I];
    }
    return true;
  }

  /// batch_norm nodes folded into the convolution before them -> that
  /// convolution's node.
  std::map<std::string, std::string> FoldedBatchNorm;
  /// relu / gelu nodes fused into the GEMM before them as its epilogue ->
  /// that node.
  std::map<std::string, std::string> FusedEpilogue;
  /// Elementwise nodes fused into a chain kernel -> the chain's first node.
  std::map<std::string, std::string> FusedChain;

  /// When a relu or gelu alone reads \p Result (and it is no graph output),
  /// fuses it into \p Spec's epilogue and returns its value, which the
  /// GEMM's output then holds (and is named after); otherwise \p Result.
  std::string fuseEpilogue(const Node &N, abi::KernelSpec &Spec, const std::string &Result) {
    auto Mark = S.Fusion.Epilogue.find(Result); // fuse-epilogues: its only reader may be fused
    if (Mark == S.Fusion.Epilogue.end())
      return Result;
    const Node &R = *nodeNamed(Mark->second);
    if (R.Ns != "aten" || R.Outputs.size() != 1 || R.Inputs.empty() || R.Inputs[0].Arg.Kind != ArgKind::Tensor ||
        S.resolve(R.Inputs[0].Arg.S) != Result)
      return Result;
    abi::Epilogue E;
    if (R.Op == "relu" || R.Op == "relu_") {
      E = abi::Epilogue::Relu;
    } else if (R.Op == "gelu") {
      const frontend::NamedArgument *A = R.input("approximate");
      std::string Approx = A && A->Arg.Kind == ArgKind::String ? A->Arg.S : "none";
      if (Approx != "none" && Approx != "tanh")
        return Result;
      E = Approx == "tanh" ? abi::Epilogue::GeluTanh : abi::Epilogue::Gelu;
    } else {
      return Result;
    }
    const frontend::TensorMeta *OM = meta(R.Outputs[0].S);
    if (!OM || OM->Dtype != ScalarType::Float32)
      return Result;
    Spec.Post = E;
    FusedEpilogue[R.Name] = N.Name;
    return R.Outputs[0].S;
  }

  void pushKernel(const Node &N, abi::KernelSpec Spec, std::vector<int> Operands) {
    PInstr I;
    I.Op = abi::Opcode::Kernel;
    I.Spec = std::move(Spec);
    I.Operands = std::move(Operands);
    I.Node = N.Name;
    P.Instrs.push_back(std::move(I));
  }

  /// X padded into a new contiguous tensor: out[lo + i * step] = x[i], 0
  /// elsewhere (Lo, Step and Hi per dim).
  int padded(const Node &N, int X, const std::vector<int64_t> &Lo, const std::vector<int64_t> &Step,
             const std::vector<int64_t> &Hi, const std::string &OutName, std::optional<double> Value = {}) {
    const PTensor XT = P.Tensors[X];
    std::vector<int64_t> Sizes;
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::pad;
    for (size_t D = 0; D < XT.Sizes.size(); ++D) {
      int64_t Sz = XT.Sizes[D];
      Sizes.push_back(Sz == 0 ? Lo[D] + Hi[D] : Lo[D] + (Sz - 1) * Step[D] + 1 + Hi[D]);
      Spec.Params.push_back(Lo[D]);
      Spec.Params.push_back(Step[D]);
    }
    if (Value && *Value != 0) {
      Spec.HasScalar = true;
      Spec.Scalar = *Value;
    }
    int Out = defineOutput(OutName, ScalarType::Float32, Sizes);
    Spec.Operands = {operand(X), operand(Out)};
    pushKernel(N, Spec, {X, Out});
    return Out;
  }

  /// conv2d of X [N, C, H, W] with W [Co, C/G, KH, KW] (+ bias [Co]) as one
  /// batched GEMM: W as [G][Co/G][C/G*KH*KW] (shared by every image) times
  /// the im2col matrix [N][G][C/G*KH*KW][OH*OW] of the padded input (a view
  /// of it, materialised by the copy kernel; 1x1 stride-1 convolutions read
  /// the input in place), bias seeding C. A batch_norm that alone reads the
  /// result, with constant statistics, is folded into W and the bias.
  void convCore(const Node &N, int X, int W, int Bias, const std::vector<int64_t> &St,
                const std::vector<int64_t> &Pd, const std::vector<int64_t> &Dl, int64_t G,
                const std::string &OutName, const std::vector<int64_t> &OutShape) {
    const PTensor XT = P.Tensors[X];
    const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], H = XT.Sizes[2], Wd = XT.Sizes[3];
    const int64_t Co = P.Tensors[W].Sizes[0], Cg = P.Tensors[W].Sizes[1], KH = P.Tensors[W].Sizes[2],
                  KW = P.Tensors[W].Sizes[3];
    if (C != Cg * G || Co % G)
      throw NoKernel{"channels (" + std::to_string(C) + " in, " + std::to_string(Co) + " out) do not match " +
                     std::to_string(G) + " group(s)"};
    for (int I = 0; I < 2; ++I)
      if (St[I] < 1 || Dl[I] < 1 || Pd[I] < 0)
        throw NoKernel{"stride, dilation or padding out of range"};
    const int64_t OH = (H + 2 * Pd[0] - Dl[0] * (KH - 1) - 1) / St[0] + 1,
                  OW = (Wd + 2 * Pd[1] - Dl[1] * (KW - 1) - 1) / St[1] + 1;
    if (OutShape != std::vector<int64_t>{Nb, Co, OH, OW})
      throw NoKernel{"output shape " + frontend::formatShape(OutShape) + " is not the convolution's [" +
                     std::to_string(Nb) + ", " + std::to_string(Co) + ", " + std::to_string(OH) + ", " +
                     std::to_string(OW) + "]"};
    if (Nb * Co * OH * OW == 0 || Cg * KH * KW == 0)
      throw NoKernel{"empty convolution"};
    // Fold a following inference batch_norm into the weights and bias. The
    // result then holds the batch norm's value, and is named after it (what
    // --per-op compares it with).
    std::string ResultName = OutName;
    if (auto Mark = S.Fusion.BatchNormInto.find(OutName); Mark != S.Fusion.BatchNormInto.end()) {
      const Node *Bn = nodeNamed(Mark->second);
      std::vector<double> Scale, Shift;
      auto Wv = constantValues(W);
      std::optional<std::vector<float>> Bv;
      if (Bias >= 0)
        Bv = constantValues(Bias);
      if (Wv && (Bias < 0 || Bv) && batchNormAffine(*Bn, Co, Scale, Shift)) {
        const size_t PerOut = Wv->size() / size_t(Co);
        std::vector<float> Wf(Wv->size()), Bf(static_cast<size_t>(Co));
        for (size_t O = 0; O < size_t(Co); ++O) {
          for (size_t I = 0; I < PerOut; ++I)
            Wf[O * PerOut + I] = float(double((*Wv)[O * PerOut + I]) * Scale[O]);
          Bf[O] = float(double(Bv ? (*Bv)[O] : 0.0f) * Scale[O] + Shift[O]);
        }
        W = newConstant(N.Name + "_weight_bn", P.Tensors[W].Sizes, Wf);
        Bias = newConstant(N.Name + "_bias_bn", {Co}, Bf);
        FoldedBatchNorm[Bn->Name] = N.Name;
        ResultName = Bn->Outputs[0].S;
      }
    }
    if (!isContiguous(P.Tensors[W]))
      W = materialize(W, N.Name);
    int Xp = X;
    if (Pd[0] || Pd[1])
      Xp = padded(N, X, {0, 0, Pd[0], Pd[1]}, {1, 1, 1, 1}, {0, 0, Pd[0], Pd[1]}, N.Name + "_padded");
    const std::vector<int64_t> XS = P.Tensors[Xp].Strides;
    const int64_t Kd = Cg * KH * KW, OHW = OH * OW, Cog = Co / G;
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::gemm;
    int Cols;
    abi::OperandSpec BOp;
    if (KH == 1 && KW == 1 && St[0] == 1 && St[1] == 1 && XS[3] == 1 && XS[2] == P.Tensors[Xp].Sizes[3]) {
      Cols = Xp;
      BOp = {{Nb, G, Cg, OHW}, {XS[0], Cg * XS[1], XS[1], 1}};
    } else {
      int V = defineView(N.Name + "_im2col", Xp, {Nb, G, Cg, KH, KW, OH, OW},
                         {XS[0], Cg * XS[1], XS[1], Dl[0] * XS[2], Dl[1] * XS[3], St[0] * XS[2], St[1] * XS[3]}, 0,
                         /*OwnStorage=*/true);
      Cols = materialize(V, N.Name);
      BOp = {{Nb, G, Kd, OHW}, contiguous({Nb, G, Kd, OHW})};
    }
    Spec.Operands.push_back({{Nb, G, Cog, Kd}, {0, Cog * Kd, Kd, 1}});
    Spec.Operands.push_back(BOp);
    std::vector<int> Ops{W, Cols};
    if (Bias >= 0) {
      const PTensor &BT = P.Tensors[Bias];
      if (BT.Sizes != std::vector<int64_t>{Co})
        throw NoKernel{"bias is not [" + std::to_string(Co) + "]"};
      Spec.HasBias = true;
      Spec.Operands.push_back({{Nb, G, Cog, OHW}, {0, Cog * BT.Strides[0], BT.Strides[0], 0}});
      Ops.push_back(Bias);
    }
    ResultName = fuseEpilogue(N, Spec, ResultName);
    int Out = defineOutput(ResultName, ScalarType::Float32, OutShape);
    S.TensorOf[OutName] = Out;
    Spec.Operands.push_back({{Nb, G, Cog, OHW}, contiguous({Nb, G, Cog, OHW})});
    Ops.push_back(Out);
    emitKernel(N, Spec, Ops);
  }

  void selectConv(const Node &N) {
    bool Transposed = N.Op == "conv_transpose2d";
    if (N.Op == "convolution") {
      const Argument *T = arg(N, "transposed");
      if (T->Kind != ArgKind::Bool)
        throw NoKernel{"transposed is not a bool"};
      Transposed = T->I != 0;
    }
    int X = tensorArg(N, "input"), W = tensorArg(N, "weight");
    requireF32(X, "input");
    requireF32(W, "weight");
    int Bias = -1;
    if (const Argument *BA = arg(N, "bias", false); BA && BA->Kind == ArgKind::Tensor) {
      Bias = tensorArg(N, "bias");
      requireF32(Bias, "bias");
    }
    const PTensor XT = P.Tensors[X], WT = P.Tensors[W];
    if (XT.Sizes.size() != 4 || WT.Sizes.size() != 4)
      throw NoKernel{"only batched 2-D convolutions (4-D input and weight)"};
    std::vector<int64_t> St = intPair(N, "stride", 1), Pd = intPair(N, "padding", 0),
                         Dl = intPair(N, "dilation", 1);
    const Argument *GA = arg(N, "groups", false);
    int64_t G = GA && GA->Kind == ArgKind::Int ? GA->I : 1;
    if (G < 1)
      throw NoKernel{"groups < 1"};
    std::string OutName = outputName(N);
    std::vector<int64_t> OutShape = shapeOf(OutName);
    if (!Transposed) {
      convCore(N, X, W, Bias, St, Pd, Dl, G, OutName, OutShape);
      return;
    }
    // conv_transpose2d = conv2d, stride 1, of the input with stride - 1
    // zeros between elements and d * (k - 1) - p (+ output_padding at the
    // end) around them, by the weight with its taps flipped and its in/out
    // channels swapped within each group.
    std::vector<int64_t> OutPad = intPair(N, "output_padding", 0);
    const int64_t C = XT.Sizes[1], Cog = WT.Sizes[1], KH = WT.Sizes[2], KW = WT.Sizes[3];
    if (WT.Sizes[0] != C || C % G)
      throw NoKernel{"weight [" + std::to_string(WT.Sizes[0]) + ", ...] does not match " + std::to_string(C) +
                     " input channels in " + std::to_string(G) + " group(s)"};
    for (int I = 0; I < 2; ++I)
      if (St[I] < 1 || Dl[I] < 1 || Pd[I] < 0 || OutPad[I] < 0)
        throw NoKernel{"stride, dilation, padding or output_padding out of range"};
    const int64_t Lo[2] = {Dl[0] * (KH - 1) - Pd[0], Dl[1] * (KW - 1) - Pd[1]};
    if (Lo[0] < 0 || Lo[1] < 0)
      throw NoKernel{"padding larger than dilation * (kernel - 1)"};
    auto Wv = constantValues(W);
    if (!Wv)
      throw NoKernel{"transposed convolution with a non-constant weight"};
    const int64_t Cg = C / G, Co = Cog * G;
    if (G == 1 && St[0] == KH && St[1] == KW && Pd == std::vector<int64_t>{0, 0} && Dl == std::vector<int64_t>{1, 1} &&
        OutPad == std::vector<int64_t>{0, 0}) {
      convTransposeTiled(N, X, *Wv, Bias, KH, KW, Co, OutName, OutShape);
      return;
    }
    std::vector<float> Wc(Wv->size());
    for (int64_t Gi = 0; Gi < G; ++Gi)
      for (int64_t O = 0; O < Cog; ++O)
        for (int64_t I = 0; I < Cg; ++I)
          for (int64_t Kh = 0; Kh < KH; ++Kh)
            for (int64_t Kw = 0; Kw < KW; ++Kw)
              Wc[size_t((((Gi * Cog + O) * Cg + I) * KH + Kh) * KW + Kw)] =
                  (*Wv)[size_t((((Gi * Cg + I) * Cog + O) * KH + (KH - 1 - Kh)) * KW + (KW - 1 - Kw))];
    int Wt = newConstant(N.Name + "_weight_conv", {Co, Cg, KH, KW}, Wc);
    int Xz = padded(N, X, {0, 0, Lo[0], Lo[1]}, {1, 1, St[0], St[1]}, {0, 0, Lo[0] + OutPad[0], Lo[1] + OutPad[1]},
                    N.Name + "_dilated");
    convCore(N, Xz, Wt, Bias, {1, 1}, {0, 0}, Dl, G, OutName, OutShape);
  }

  /// conv_transpose2d whose windows tile the output (stride = kernel, no
  /// padding or dilation, one group): every output pixel gets exactly one
  /// product sum, so it is one GEMM, Y[(co, kh, kw)][(ih, iw)] = W'[(co, kh,
  /// kw)][ci] @ X[ci][(ih, iw)] per image (X read in place, bias per row),
  /// then one copy that interleaves Y's rows into the output: no zeros
  /// inserted, no im2col.
  void convTransposeTiled(const Node &N, int X, const std::vector<float> &Wv, int Bias, int64_t KH, int64_t KW,
                          int64_t Co, const std::string &OutName, const std::vector<int64_t> &OutShape) {
    if (!isContiguous(P.Tensors[X]))
      X = materialize(X, N.Name);
    const PTensor XT = P.Tensors[X];
    const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], IH = XT.Sizes[2], IW = XT.Sizes[3];
    const int64_t M = Co * KH * KW, HW = IH * IW;
    if (OutShape != std::vector<int64_t>{Nb, Co, IH * KH, IW * KW})
      throw NoKernel{"output shape " + frontend::formatShape(OutShape) + " is not the transposed convolution's"};
    // W [C, Co, KH, KW] -> W' [(co, kh, kw)][ci].
    std::vector<float> Wt(size_t(M * C));
    for (int64_t Ci = 0; Ci < C; ++Ci)
      for (int64_t R = 0; R < M; ++R)
        Wt[size_t(R * C + Ci)] = Wv[size_t(Ci * M + R)];
    int W2 = newConstant(N.Name + "_weight_rows", {M, C}, Wt);
    abi::KernelSpec Gemm;
    Gemm.Kernel = abi::KernelId::gemm;
    Gemm.Operands = {{{Nb, M, C}, {0, C, 1}}, {{Nb, C, HW}, {XT.Strides[0], XT.Strides[1], 1}}};
    std::vector<int> Ops{W2, X};
    if (Bias >= 0) {
      auto Bv = constantValues(Bias);
      if (!Bv || int64_t(Bv->size()) != Co)
        throw NoKernel{"bias is not a constant [" + std::to_string(Co) + "]"};
      std::vector<float> Rows(static_cast<size_t>(M));
      for (int64_t R = 0; R < M; ++R)
        Rows[size_t(R)] = (*Bv)[size_t(R / (KH * KW))];
      int B2 = newConstant(N.Name + "_bias_rows", {M}, Rows);
      Gemm.HasBias = true;
      Gemm.Operands.push_back({{Nb, M, HW}, {0, 1, 0}});
      Ops.push_back(B2);
    }
    int Y = defineOutput(N.Name + "_rows", ScalarType::Float32, {Nb, M, HW});
    Gemm.Operands.push_back({{Nb, M, HW}, contiguous({Nb, M, HW})});
    Ops.push_back(Y);
    pushKernel(N, Gemm, Ops);
    // out[n][co][ih][kh][iw][kw] = Y[n][(co, kh, kw)][(ih, iw)].
    int Out = defineOutput(OutName, ScalarType::Float32, OutShape);
    abi::KernelSpec Copy;
    Copy.Kernel = abi::KernelId::copy;
    Copy.Operands = {{{Nb, Co, IH, KH, IW, KW}, {M * HW, KH * KW * HW, IW, KW * HW, 1, HW}},
                     {{Nb, Co, IH, KH, IW, KW}, contiguous({Nb, Co, IH, KH, IW, KW})}};
    pushKernel(N, Copy, {Y, Out});
    recordDecision(N, NodeDecision::Accelerated, "gemm");
  }

  /// Inference batch_norm with constant statistics, not folded: x * scale +
  /// shift with the mul and add kernels (scale and shift [C, 1, ...]).
  void selectBatchNorm(const Node &N) {
    int X = tensorArg(N, "input");
    requireF32(X, "input");
    const std::vector<int64_t> Shape = P.Tensors[X].Sizes;
    if (Shape.size() < 2)
      throw NoKernel{"input of rank < 2"};
    std::vector<double> Scale, Shift;
    if (!batchNormAffine(N, Shape[1], Scale, Shift))
      throw NoKernel{"batch statistics (training) or non-constant parameters"};
    std::vector<int64_t> PerChannel(Shape.size() - 1, 1);
    PerChannel[0] = Shape[1];
    int ScaleT = newConstant(N.Name + "_scale", PerChannel, std::vector<float>(Scale.begin(), Scale.end()));
    int ShiftT = newConstant(N.Name + "_shift", PerChannel, std::vector<float>(Shift.begin(), Shift.end()));
    std::string OutName = outputName(N);
    int Tmp = defineOutput(N.Name + "_scaled", ScalarType::Float32, Shape);
    abi::KernelSpec Mul;
    Mul.Kernel = abi::KernelId::mul;
    Mul.Operands = {broadcastOperand(X, Shape), broadcastOperand(ScaleT, Shape), operand(Tmp)};
    pushKernel(N, Mul, {X, ScaleT, Tmp});
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Add;
    Add.Kernel = abi::KernelId::add;
    Add.Operands = {operand(Tmp), broadcastOperand(ShiftT, Shape), operand(Out)};
    pushKernel(N, Add, {Tmp, ShiftT, Out});
    recordDecision(N, NodeDecision::Accelerated, "mul+add");
  }

  /// max_pool2d as max over the window: the input padded with -inf (when
  /// padded), then one maximum kernel per further tap, each reading the
  /// tap's strided view [N, C, OH, OW] of it.
  void selectMaxPool(const Node &N) {
    int X = tensorArg(N, "self");
    requireF32(X, "input");
    const PTensor XT = P.Tensors[X];
    if (XT.Sizes.size() != 4)
      throw NoKernel{"only 4-D input"};
    std::vector<int64_t> K = intPair(N, "kernel_size", 1);
    std::vector<int64_t> St = K;
    if (const Argument *SA = arg(N, "stride", false); SA && !SA->isNone()) {
      auto V = SA->asInts();
      if (V && !V->empty())
        St = intPair(N, "stride", 1);
    }
    std::vector<int64_t> Pd = intPair(N, "padding", 0), Dl = intPair(N, "dilation", 1);
    for (int I = 0; I < 2; ++I)
      if (K[I] < 1 || St[I] < 1 || Dl[I] < 1 || Pd[I] < 0 || 2 * Pd[I] > K[I])
        throw NoKernel{"kernel, stride, padding or dilation out of range"};
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    const int64_t OH = (XT.Sizes[2] + 2 * Pd[0] - Dl[0] * (K[0] - 1) - 1) / St[0] + 1,
                  OW = (XT.Sizes[3] + 2 * Pd[1] - Dl[1] * (K[1] - 1) - 1) / St[1] + 1;
    // ceil_mode may add a last, partial window; only the shapes where it does not are taken.
    if (Shape != std::vector<int64_t>{XT.Sizes[0], XT.Sizes[1], OH, OW})
      throw NoKernel{"output shape " + frontend::formatShape(Shape) + " (ceil_mode with a partial window)"};
    int Xp = X;
    if (Pd[0] || Pd[1])
      Xp = padded(N, X, {0, 0, Pd[0], Pd[1]}, {1, 1, 1, 1}, {0, 0, Pd[0], Pd[1]}, N.Name + "_padded",
                  -std::numeric_limits<double>::infinity());
    const std::vector<int64_t> XS = P.Tensors[Xp].Strides;
    auto tap = [&](int64_t Kh, int64_t Kw) {
      return defineView(N.Name + "_tap" + std::to_string(Kh) + "_" + std::to_string(Kw), Xp, Shape,
                        {XS[0], XS[1], St[0] * XS[2], St[1] * XS[3]}, Kh * Dl[0] * XS[2] + Kw * Dl[1] * XS[3],
                        /*OwnStorage=*/true);
    };
    int Acc = tap(0, 0);
    const int64_t Taps = K[0] * K[1];
    if (Taps == 1) { // a 1x1 window: a strided copy
      int Out = defineOutput(OutName, ScalarType::Float32, Shape);
      abi::KernelSpec Spec;
      Spec.Kernel = abi::KernelId::copy;
      Spec.Operands = {operand(Acc), operand(Out)};
      pushKernel(N, Spec, {Acc, Out});
      recordDecision(N, NodeDecision::Accelerated, "copy");
      return;
    }
    for (int64_t T = 1; T < Taps; ++T) {
      int V = tap(T / K[1], T % K[1]);
      int Out = defineOutput(T + 1 == Taps ? OutName : N.Name + "_max" + std::to_string(T), ScalarType::Float32,
                             Shape);
      abi::KernelSpec Spec;
      Spec.Kernel = abi::KernelId::maximum;
      Spec.Operands = {operand(Acc), operand(V), operand(Out)};
      pushKernel(N, Spec, {Acc, V, Out});
      Acc = Out;
    }
    recordDecision(N, NodeDecision::Accelerated, "maximum");
  }

  /// layer_norm over the trailing normalized_shape dims, as [R, D] rows;
  /// an absent weight or bias is a constant row of ones or zeros.
  /// sum, mean (dims or all), amax, amin: the kept dims become O and the
  /// reduced ones D of an [O, D] view (one of its strides 1); where no view
  /// can say it, a copy of the input permuted to [kept..., reduced...] first.
  void selectReduce(const Node &N, abi::KernelId K) {
    int X = tensorArg(N, "self");
    requireF32(X, "input");
    if (const Argument *Dt = arg(N, "dtype", false);
        Dt && Dt->Kind == ArgKind::ScalarType && Dt->I != static_cast<int64_t>(ScalarType::Float32))
      throw NoKernel{"a dtype conversion"};
    // The results: (kernel, name, dtype). max.dim / min.dim give values
    // and indices; each is computed only where something reads it.
    std::vector<std::tuple<abi::KernelId, std::string, ScalarType>> Results;
    if (N.Op == "max" || N.Op == "min") {
      std::vector<std::string> Names;
      for (const Argument &O : N.Outputs)
        O.collectTensorNames(Names);
      if (Names.size() != 2)
        throw NoKernel{"max.dim / min.dim without values and indices"};
      const bool IsMax = N.Op == "max";
      for (int I = 0; I < 2; ++I) {
        const std::string R = S.resolve(Names[size_t(I)]);
        if (readersOf(R).empty() && !isGraphOutput(R))
          continue;
        Results.emplace_back(I == 0 ? (IsMax ? abi::KernelId::amax : abi::KernelId::amin)
                                    : (IsMax ? abi::KernelId::argmax : abi::KernelId::argmin),
                             Names[size_t(I)], I == 0 ? ScalarType::Float32 : ScalarType::Int64);
      }
    } else {
      const bool Arg = K == abi::KernelId::argmax || K == abi::KernelId::argmin;
      Results.emplace_back(K, outputName(N), Arg ? ScalarType::Int64 : ScalarType::Float32);
    }
    for (const auto &[RK, Name, Type] : Results) {
      const frontend::TensorMeta *OM = meta(Name);
      if (!OM || OM->Dtype != Type)
        throw NoKernel{"result '" + Name + "' is not " + frontend::scalarTypeName(Type).str()};
    }
    const PTensor XT = P.Tensors[X];
    const size_t Rank = XT.Sizes.size();
    std::vector<bool> Reduced(Rank, false);
    const Argument *DimA = arg(N, "dim", false);
    std::optional<std::vector<int64_t>> Dims;
    if (DimA && !DimA->isNone()) {
      Dims = DimA->Kind == ArgKind::Int ? std::vector<int64_t>{DimA->I} : DimA->asInts().value_or(std::vector<int64_t>{});
      if (DimA->Kind != ArgKind::Int && !DimA->asInts())
        throw NoKernel{"dim is not a list of ints"};
    }
    if (!Dims || Dims->empty()) {
      std::fill(Reduced.begin(), Reduced.end(), true);
    } else {
      for (int64_t D : *Dims)
        Reduced[size_t(normDim(D, Rank))] = true;
    }
    // [kept..., reduced...], each group merged into one dim where linear.
    auto group = [&](bool Red, int64_t &Size, int64_t &Stride) {
      Size = 1;
      Stride = 1;
      int64_t Next = -1; // the stride the next (outer) dim must have to merge
      bool Linear = true;
      for (size_t D = Rank; D-- > 0;) {
        if (Reduced[D] != Red || XT.Sizes[D] == 1)
          continue;
        if (Next < 0)
          Stride = XT.Strides[D];
        else
          Linear &= XT.Strides[D] == Next;
        Next = XT.Strides[D] * XT.Sizes[D];
        Size *= XT.Sizes[D];
      }
      return Linear;
    };
    int64_t O, SO, D, SD;
    bool Ok = group(false, O, SO) & group(true, D, SD);
    Ok = Ok && (D == 1 || SD == 1 || O == 1 || SO == 1);
    int In = X;
    if (!Ok) {
      std::vector<int64_t> Sizes, Strides;
      for (bool Red : {false, true})
        for (size_t Dm = 0; Dm < Rank; ++Dm)
          if (Reduced[Dm] == Red) {
            Sizes.push_back(XT.Sizes[Dm]);
            Strides.push_back(XT.Strides[Dm]);
          }
      int Perm = defineView(N.Name + "_perm", X, Sizes, Strides, 0, /*OwnStorage=*/true);
      In = materialize(Perm, N.Name);
      O = 1;
      for (size_t Dm = 0; Dm < Rank; ++Dm)
        if (!Reduced[Dm])
          O *= XT.Sizes[Dm];
      D = O ? P.Tensors[In].numel() / O : 0;
      SO = D;
      SD = 1;
    }
    if (Results.empty()) { // max.dim with neither result read
      recordDecision(N, NodeDecision::Removed, "");
      return;
    }
    for (const auto &[RK, Name, Type] : Results) {
      if ((RK == abi::KernelId::argmax || RK == abi::KernelId::argmin) && (D == 0 || D > 64 * 1024))
        throw NoKernel{"an arg reduction over " + std::to_string(D) + " elements"};
      int Out = defineOutput(Name, Type, shapeOf(Name));
      if (P.Tensors[Out].numel() != O)
        throw NoKernel{"result has " + std::to_string(P.Tensors[Out].numel()) + " elements, the kept dims " +
                       std::to_string(O)};
      abi::KernelSpec Spec;
      Spec.Kernel = RK;
      Spec.Operands = {{{O, D}, {O == 1 ? 0 : SO, D == 1 ? 1 : SD}}, {{O, 1}, {1, 1}, typeOf(Out)}};
      if (O == 1)
        Spec.Operands[0].Strides[0] = D;
      pushKernel(N, Spec, {In, Out});
    }
    recordDecision(N, NodeDecision::Accelerated, std::string(abi::kernelName(std::get<0>(Results[0]))));
  }

  /// embedding(weight [V, D], indices [...]) and index_select(self [V, D],
  /// 0, index [N]): the gather kernel over the flattened indices.
  void selectEmbedding(const Node &N) {
    const bool Select = N.Op == "index_select";
    int W = tensorArg(N, Select ? "self" : "weight");
    int I = tensorArg(N, Select ? "index" : "indices");
    requireF32(W, "table");
    if (Select && normDim(arg(N, "dim")->I, P.Tensors[W].Sizes.size()) != 0)
      throw NoKernel{"index_select along a dim other than 0"};
    if (P.Tensors[W].Sizes.size() != 2)
      throw NoKernel{"the table is not 2-D"};
    const ScalarType IT = P.Tensors[I].Dtype;
    if (IT != ScalarType::Int64 && IT != ScalarType::Int32)
      throw NoKernel{"indices of dtype " + frontend::scalarTypeName(IT).str()};
    if (const Argument *S = arg(N, "sparse", false); S && S->Kind == ArgKind::Bool && S->I)
      throw NoKernel{"sparse embedding"};
    const int64_t V = P.Tensors[W].Sizes[0], D = P.Tensors[W].Sizes[1];
    if (D > 1 && P.Tensors[W].Strides[1] != 1)
      W = materialize(W, N.Name);
    if (!isContiguous(P.Tensors[I]))
      I = materialize(I, N.Name);
    const int64_t Count = P.Tensors[I].numel();
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    if (P.Tensors[Out].numel() != Count * D)
      throw NoKernel{"result shape does not match the indices and rows"};
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::embedding;
    Spec.Operands = {{{V, D}, {P.Tensors[W].Strides[0], 1}},
                     {{Count}, {1}, typeOf(I)},
                     {{Count, D}, {D, 1}}};
    emitKernel(N, Spec, {W, I, Out});
  }

  /// where(condition, self, other) and masked_fill(self, mask, value):
  /// the select kernel (masked_fill's value is its constant A).
  void selectWhere(const Node &N) {
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
  void selectFill(const Node &N) {
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

  void selectLayerNorm(const Node &N) {
    int X = tensorArg(N, "input");
    requireF32(X, "input");
    auto Norm = arg(N, "normalized_shape")->asInts();
    const std::vector<int64_t> Shape = P.Tensors[X].Sizes;
    if (!Norm || Norm->empty() || Norm->size() > Shape.size() ||
        !std::equal(Norm->begin(), Norm->end(), Shape.end() - Norm->size()))
      throw NoKernel{"normalized_shape is not the input's trailing dims"};
    int64_t D = 1, R = 1;
    for (int64_t S : *Norm)
      D *= S;
    for (size_t I = 0; I + Norm->size() < Shape.size(); ++I)
      R *= Shape[I];
    if (D > Opts.MaxNormRow)
      throw NoKernel{"layer-norm row of " + std::to_string(D) + " elements exceeds the scratchpad row limit " +
                     std::to_string(Opts.MaxNormRow)};
    const Argument *Eps = arg(N, "eps", false);
    if (Eps && Eps->Kind != ArgKind::Float)
      throw NoKernel{"eps is not a number"};
    if (!isContiguous(P.Tensors[X]))
      X = materialize(X, N.Name);
    auto param = [&](const char *Name, float Default) {
      const Argument *A = arg(N, Name, false);
      if (!A || A->isNone())
        return newConstant(N.Name + "_" + Name + "_default", {D}, std::vector<float>(size_t(D), Default));
      int T = tensorArg(N, Name);
      requireF32(T, Name);
      if (P.Tensors[T].numel() != D)
        throw NoKernel{std::string(Name) + " does not have normalized_shape"};
      return isContiguous(P.Tensors[T]) ? T : materialize(T, N.Name);
    };
    int W = param("weight", 1.0f), Bias = param("bias", 0.0f);
    std::string OutName = outputName(N);
    int Out = defineOutput(OutName, ScalarType::Float32, shapeOf(OutName));
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::layer_norm;
    Spec.HasScalar = true;
    Spec.Scalar = Eps ? Eps->F : 1e-5;
    Spec.Operands = {{{R, D}, {D, 1}}, {{R, D}, {0, 1}}, {{R, D}, {0, 1}}, {{R, D}, {D, 1}}};
    emitKernel(N, Spec, {X, W, Bias, Out});
  }

  /// avg_pool2d (count_include_pad, or no padding) and adaptive_avg_pool2d
  /// whose windows are equal (sizes divisible): the windows' im2col matrix
  /// [N*C*OH*OW][KH*KW] (the input itself for a global pool of a contiguous
  /// input) times a constant column of 1 / divisor, as one GEMM.
  void selectAvgPool(const Node &N) {
    int X = tensorArg(N, "self");
    requireF32(X, "input");
    const PTensor XT = P.Tensors[X];
    if (XT.Sizes.size() != 4)
      throw NoKernel{"only 4-D input"};
    const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], H = XT.Sizes[2], W = XT.Sizes[3];
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    std::vector<int64_t> K, St, Pd{0, 0};
    double Divisor;
    if (N.Op == "adaptive_avg_pool2d") {
      if (Shape.size() != 4 || Shape[2] < 1 || Shape[3] < 1 || H % Shape[2] || W % Shape[3])
        throw NoKernel{"output size does not divide the input (unequal windows)"};
      K = St = {H / Shape[2], W / Shape[3]};
      Divisor = double(K[0] * K[1]);
    } else {
      K = intPair(N, "kernel_size", 1);
      St = K;
      if (const Argument *SA = arg(N, "stride", false); SA && !SA->isNone() && SA->asInts() && !SA->asInts()->empty())
        St = intPair(N, "stride", 1);
      Pd = intPair(N, "padding", 0);
      const Argument *Incl = arg(N, "count_include_pad", false);
      if ((Pd[0] || Pd[1]) && Incl && !Incl->I)
        throw NoKernel{"count_include_pad=False with padding"};
      Divisor = double(K[0] * K[1]);
      if (const Argument *D = arg(N, "divisor_override", false); D && D->Kind == ArgKind::Int)
        Divisor = double(D->I);
    }
    for (int I = 0; I < 2; ++I)
      if (K[I] < 1 || St[I] < 1 || Pd[I] < 0 || 2 * Pd[I] > K[I])
        throw NoKernel{"kernel, stride or padding out of range"};
    const int64_t OH = (H + 2 * Pd[0] - K[0]) / St[0] + 1, OW = (W + 2 * Pd[1] - K[1]) / St[1] + 1;
    if (Shape != std::vector<int64_t>{Nb, C, OH, OW})
      throw NoKernel{"output shape " + frontend::formatShape(Shape) + " (ceil_mode with a partial window)"};
    const int64_t M = Nb * C * OH * OW, Kd = K[0] * K[1];
    int A;
    if (OH == 1 && OW == 1 && Kd == H * W && isContiguous(XT) && Pd == std::vector<int64_t>{0, 0}) {
      A = X; // a global pool: the input's rows are the windows
    } else {
      int Xp = X;
      if (Pd[0] || Pd[1])
        Xp = padded(N, X, {0, 0, Pd[0], Pd[1]}, {1, 1, 1, 1}, {0, 0, Pd[0], Pd[1]}, N.Name + "_padded");
      const std::vector<int64_t> XS = P.Tensors[Xp].Strides;
      int V = defineView(N.Name + "_windows", Xp, {Nb, C, OH, OW, K[0], K[1]},
                         {XS[0], XS[1], St[0] * XS[2], St[1] * XS[3], XS[2], XS[3]}, 0, /*OwnStorage=*/true);
      A = materialize(V, N.Name);
    }
    int Wt = newConstant(N.Name + "_inv_divisor", {Kd, 1}, std::vector<float>(size_t(Kd), float(1.0 / Divisor)));
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::gemm;
    Spec.Operands = {{{M, Kd}, {Kd, 1}}, {{Kd, 1}, {1, 1}}, {{M, 1}, {1, 1}}};
    emitKernel(N, Spec, {A, Wt, Out});
  }

  /// upsample_nearest2d with integer scales: out[.., oh, ow] = x[.., oh / s,
  /// ow / t], a view of x with stride-0 dims for the copies, copied.
  void selectUpsample(const Node &N) {
    int X = tensorArg(N, "input");
    requireF32(X, "input");
    const PTensor XT = P.Tensors[X];
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    if (XT.Sizes.size() != 4 || Shape.size() != 4 || XT.Sizes[2] < 1 || XT.Sizes[3] < 1 ||
        Shape[2] % XT.Sizes[2] || Shape[3] % XT.Sizes[3])
      throw NoKernel{"only integer scales of a 4-D input"};
    const int64_t SH = Shape[2] / XT.Sizes[2], SW = Shape[3] / XT.Sizes[3];
    const std::vector<int64_t> &XS = XT.Strides;
    int V = defineView(N.Name + "_repeat", X, {Shape[0], Shape[1], XT.Sizes[2], SH, XT.Sizes[3], SW},
                       {XS[0], XS[1], XS[2], 0, XS[3], 0}, 0, /*OwnStorage=*/true);
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::copy;
    Spec.Operands = {operand(V), {P.Tensors[V].Sizes, contiguous(P.Tensors[V].Sizes)}};
    emitKernel(N, Spec, {V, Out});
  }

  /// cat: one copy kernel per input into its slice of the output.
  /// split_with_sizes, split, chunk, unbind: each result a view of its
  /// slice of the input along dim (unbind's without that dim), taken from
  /// the results' own shapes in order.
  void selectSplit(const Node &N) {
    int X = tensorArg(N, "self");
    const PTensor XT = P.Tensors[X];
    if (XT.Sizes.empty())
      throw NoKernel{"0-d input"};
    const Argument *DimA = arg(N, "dim", false);
    const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, XT.Sizes.size());
    std::vector<std::string> Names;
    for (const Argument &O : N.Outputs)
      O.collectTensorNames(Names);
    const bool Unbind = N.Op == "unbind";
    int64_t At = 0;
    std::vector<std::pair<std::string, std::vector<int64_t>>> Parts;
    for (const std::string &Name : Names) {
      std::vector<int64_t> Sz = shapeOf(Name), St = XT.Strides;
      if (Unbind) {
        St.erase(St.begin() + Dim);
        std::vector<int64_t> Want = XT.Sizes;
        Want.erase(Want.begin() + Dim);
        if (Sz != Want)
          throw NoKernel{"result shape"};
      } else if (Sz.size() != XT.Sizes.size()) {
        throw NoKernel{"result rank"};
      }
      Parts.push_back({Name, Sz});
      At += Unbind ? 1 : Sz[size_t(Dim)];
    }
    if (At != XT.Sizes[size_t(Dim)])
      throw NoKernel{"the results do not add up to the input along dim " + std::to_string(Dim)};
    At = 0;
    for (auto &[Name, Sz] : Parts) {
      std::vector<int64_t> St = XT.Strides;
      if (Unbind)
        St.erase(St.begin() + Dim);
      defineView(Name, X, Sz, St, At * XT.Strides[size_t(Dim)]);
      At += Unbind ? 1 : Sz[size_t(Dim)];
    }
    recordDecision(N, NodeDecision::View, "");
  }

  /// The tensors of list argument \p Name (cat's and stack's inputs): a
  /// nonempty list whose tensors all exist.
  std::vector<int> tensorListArg(const Node &N, const char *Name) {
    const Argument *List = arg(N, Name);
    if (List->Kind != ArgKind::Tensors)
      throw NoKernel{std::string(Name) + " is not a tensor list"};
    if (List->Elems.empty())
      throw NoKernel{std::string(Name) + " is empty"};
    std::vector<int> Ins;
    for (const Argument &E : List->Elems) {
      auto T = tensorFor(E.S, &N);
      if (!T)
        throw NoKernel{llvm::toString(T.takeError())};
      Ins.push_back(*T);
    }
    return Ins;
  }

  /// stack: one copy per input into its slice of the result along dim.
  void selectStack(const Node &N) {
    std::vector<int> Ins = tensorListArg(N, "tensors");
    std::string OutName = outputName(N);
    const std::vector<int64_t> Shape = shapeOf(OutName);
    const Argument *DimA = arg(N, "dim", false);
    const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, Shape.size());
    if (int64_t(Ins.size()) != Shape[size_t(Dim)])
      throw NoKernel{"result does not have one slice per input"};
    for (int T : Ins)
      typeOf(T);
    int Out = defineOutput(OutName, P.Tensors[Ins[0]].Dtype, Shape);
    std::vector<int64_t> SliceSizes = Shape, SliceStrides = P.Tensors[Out].Strides;
    SliceSizes.erase(SliceSizes.begin() + Dim);
    SliceStrides.erase(SliceStrides.begin() + Dim);
    for (size_t I = 0; I < Ins.size(); ++I) {
      if (P.Tensors[Ins[I]].Sizes != SliceSizes || P.Tensors[Ins[I]].Dtype != P.Tensors[Out].Dtype)
        throw NoKernel{"input " + std::to_string(I) + " does not fit its slice"};
      int Slice = defineView(OutName + "_part" + std::to_string(I), Out, SliceSizes, SliceStrides,
                             int64_t(I) * P.Tensors[Out].Strides[size_t(Dim)], /*OwnStorage=*/true);
      abi::KernelSpec Spec;
      Spec.Kernel = abi::KernelId::copy;
      Spec.Operands = {operand(Ins[I]), operand(Slice)};
      pushKernel(N, Spec, {Ins[I], Slice});
    }
    recordDecision(N, NodeDecision::Accelerated, "copy");
  }

  void selectCat(const Node &N) {
    std::vector<int> Ins = tensorListArg(N, "tensors");
    std::string OutName = outputName(N);
    const std::vector<int64_t> Shape = shapeOf(OutName);
    if (Shape.empty())
      throw NoKernel{"0-d result"};
    const Argument *DimA = arg(N, "dim", false);
    const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, Shape.size());
    for (int T : Ins)
      requireF32(T, "input");
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    const std::vector<int64_t> OutStrides = P.Tensors[Out].Strides;
    int64_t At = 0;
    for (size_t I = 0; I < Ins.size(); ++I) {
      const PTensor X = P.Tensors[Ins[I]];
      if (X.numel() == 0)
        continue; // torch skips empty inputs (also legacy [0]-shaped ones)
      if (X.Sizes.size() != Shape.size())
        throw NoKernel{"input " + std::to_string(I) + " has rank " + std::to_string(X.Sizes.size())};
      for (size_t D = 0; D < Shape.size(); ++D)
        if (int64_t(D) != Dim && X.Sizes[D] != Shape[D])
          throw NoKernel{"input " + std::to_string(I) + " does not match the result outside dim " +
                         std::to_string(Dim)};
      // A slice of the result only this lowering knows of: no alias in eager.
      int Slice = defineView(OutName + "_part" + std::to_string(I), Out, X.Sizes, OutStrides,
                             At * OutStrides[size_t(Dim)], /*OwnStorage=*/true);
      abi::KernelSpec Spec;
      Spec.Kernel = abi::KernelId::copy;
      Spec.Operands = {operand(Ins[I]), operand(Slice)};
      pushKernel(N, Spec, {Ins[I], Slice});
      At += X.Sizes[size_t(Dim)];
    }
    if (At != Shape[size_t(Dim)])
      throw NoKernel{"the inputs do not add up to the result along dim " + std::to_string(Dim)};
    recordDecision(N, NodeDecision::Accelerated, "copy");
  }

// GCC 12 reports a false -Wfree-nonheap-object here once outputName() is
// inlined into it (the vectors below are ordinary heap vectors).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif
  void selectPad(const Node &N) {
    int X = tensorArg(N, "self");
    requireF32(X, "input");
    const Argument *PadA = arg(N, "pad");
    auto Pads = PadA->asInts();
    const size_t Rank = P.Tensors[X].Sizes.size();
    if (!Pads || Pads->size() % 2 || Pads->size() / 2 > Rank)
      throw NoKernel{"pad list"};
    // pad lists (low, high) pairs from the last dim backwards.
    std::vector<int64_t> Lo(Rank, 0), Step(Rank, 1), Hi(Rank, 0);
    for (size_t I = 0; I < Pads->size() / 2; ++I) {
      const int64_t L = (*Pads)[2 * I], H = (*Pads)[2 * I + 1];
      if (L < 0 || H < 0)
        throw NoKernel{"negative padding (cropping)"};
      Lo.at(Rank - 1 - I) = L;
      Hi.at(Rank - 1 - I) = H;
    }
    std::optional<double> Value = 0.0;
    if (const Argument *V = arg(N, "value", false); V && !V->isNone())
      Value = scalarOf(*V);
    if (!Value)
      throw NoKernel{"pad value is not a number"};
    std::string OutName = outputName(N);
    int Out = padded(N, X, Lo, Step, Hi, OutName, Value);
    if (P.Tensors[Out].Sizes != shapeOf(OutName))
      throw NoKernel{"padded shape differs from the graph's"};
    recordDecision(N, NodeDecision::Accelerated, "pad");
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  // --- fallback ------------------------------------------------------------
  llvm::Error selectFallback(const Node &N, const std::string &Reason) {
    if (N.Ns != "aten")
      return makeError(M.Path + ": node '" + N.Name + "': " + N.Target +
                       " has no device kernel and is not an ATen op that can fall back");
    PInstr I;
    I.Op = abi::Opcode::Fallback;
    I.AtenOp = "aten::" + N.Op;
    I.Overload = N.Overload;
    I.Node = N.Name;
    std::vector<int> Inputs;
    auto position = [&](const std::string &Name) -> llvm::Expected<int64_t> {
      auto T = tensorFor(Name, &N);
      if (!T)
        return T.takeError();
      for (size_t K = 0; K < Inputs.size(); ++K)
        if (Inputs[K] == *T)
          return static_cast<int64_t>(K);
      Inputs.push_back(*T);
      return static_cast<int64_t>(Inputs.size() - 1);
    };
    for (const frontend::NamedArgument &NA : N.Inputs) {
      if (NA.Defaulted)
        continue; // LibTorch fills its own schema defaults
      const Argument &A = NA.Arg;
      FallbackArgument FA;
      FA.Name = NA.Name;
      auto positions = [&](abi::ArgTag Tag) -> llvm::Error {
        FA.Tag = Tag;
        for (const Argument &E : A.Elems) {
          if (E.Kind != ArgKind::Tensor) {
            FA.Ints.push_back(-1);
            continue;
          }
          auto Pos = position(E.S);
          if (!Pos)
            return Pos.takeError();
          FA.Ints.push_back(*Pos);
        }
        return llvm::Error::success();
      };
      switch (A.Kind) {
      case ArgKind::None: FA.Tag = abi::ArgTag::None; break;
      case ArgKind::Tensor: {
        auto Pos = position(A.S);
        if (!Pos)
          return Pos.takeError();
        FA.Tag = abi::ArgTag::Tensor;
        FA.Ints = {*Pos};
        break;
      }
      case ArgKind::OptionalTensor:
        if (A.Elems.empty() || A.Elems[0].Kind != ArgKind::Tensor) {
          FA.Tag = abi::ArgTag::None;
        } else {
          auto Pos = position(A.Elems[0].S);
          if (!Pos)
            return Pos.takeError();
          FA.Tag = abi::ArgTag::Tensor;
          FA.Ints = {*Pos};
        }
        break;
      case ArgKind::Tensors:
        if (llvm::Error E = positions(abi::ArgTag::TensorList))
          return E;
        break;
      case ArgKind::OptionalTensors:
        if (llvm::Error E = positions(abi::ArgTag::OptTensorList))
          return E;
        break;
      case ArgKind::Int: FA.Tag = abi::ArgTag::Int; FA.Ints = {A.I}; break;
      case ArgKind::Bool: FA.Tag = abi::ArgTag::Bool; FA.Ints = {A.I}; break;
      case ArgKind::ScalarType: FA.Tag = abi::ArgTag::ScalarType; FA.Ints = {A.I}; break;
      case ArgKind::Layout: FA.Tag = abi::ArgTag::Layout; FA.Ints = {A.I}; break;
      case ArgKind::MemoryFormat: FA.Tag = abi::ArgTag::MemoryFormat; FA.Ints = {A.I}; break;
      case ArgKind::Float: FA.Tag = abi::ArgTag::Float; FA.Floats = {A.F}; break;
      case ArgKind::String: FA.Tag = abi::ArgTag::String; FA.Text = A.S; break;
      case ArgKind::Device:
        FA.Tag = abi::ArgTag::Device;
        FA.Text = A.Dev.Type + (A.Dev.Index ? ":" + std::to_string(*A.Dev.Index) : "");
        break;
      case ArgKind::Ints:
      case ArgKind::Bools:
        FA.Tag = A.Kind == ArgKind::Ints ? abi::ArgTag::IntList : abi::ArgTag::BoolList;
        for (const Argument &E : A.Elems)
          FA.Ints.push_back(E.I);
        break;
      case ArgKind::Floats:
        FA.Tag = abi::ArgTag::FloatList;
        for (const Argument &E : A.Elems)
          FA.Floats.push_back(E.F);
        break;
      default:
        return makeError(M.Path + ": node '" + N.Name + "': argument '" + NA.Name + "' (" +
                         frontend::argKindTag(A.Kind) + ") can not be passed to the fallback");
      }
      I.Args.push_back(std::move(FA));
    }
    std::vector<int> Outputs;
    for (const Argument &O : N.Outputs) {
      std::vector<std::string> Names;
      if (O.Kind == ArgKind::Tensor || O.Kind == ArgKind::Tensors)
        O.collectTensorNames(Names);
      else if (O.Kind != ArgKind::None)
        return makeError(M.Path + ": node '" + N.Name + "': output " + frontend::formatArgument(O) +
                         " is not a tensor; the fallback can not produce it");
      for (const std::string &Name : Names) {
        const frontend::TensorMeta *OM = meta(Name);
        if (!OM)
          return makeError(M.Path + ": node '" + N.Name + "': output '" + Name + "' has no metadata");
        Outputs.push_back(defineOutput(Name, OM->Dtype, shapeOf(Name)));
      }
    }
    I.Operands = Inputs;
    I.Operands.insert(I.Operands.end(), Outputs.begin(), Outputs.end());
    I.NumOutputs = static_cast<unsigned>(Outputs.size());
    P.Instrs.push_back(std::move(I));
    recordDecision(N, NodeDecision::Fallback, "", Reason);
    return llvm::Error::success();
  }

  void recordDecision(const Node &N, NodeDecision::Kind K, const std::string &Kernel,
                      const std::string &Reason = "") {
    NodeDecision D{N.Name, N.Target, K, Kernel, Reason};
    nodeCost(N, D.Flops, D.Bytes);
    P.Decisions.push_back(D);
  }

  /// FLOPs and operand bytes of a node from the graph's concrete shapes,
  /// the same whichever side runs it (the coverage report compares them).
  void nodeCost(const Node &N, double &Flops, double &Bytes) const {
    auto numel = [](const std::vector<int64_t> &S) {
      double E = 1;
      for (int64_t X : S)
        E *= double(X);
      return E;
    };
    auto bytesOf = [&](const std::string &Raw) {
      std::string Name = S.resolve(Raw);
      auto Mt = S.Metas.find(Name);
      const frontend::TensorMeta *TM = Mt != S.Metas.end() ? &Mt->second : meta(Name);
      int64_t Elem = TM ? frontend::elementSize(TM->Dtype) : 4;
      return numel(shapeOf(Name)) * double(Elem > 0 ? Elem : 4);
    };
    std::vector<std::string> Ins, Outs;
    for (const frontend::NamedArgument &A : N.Inputs)
      A.Arg.collectTensorNames(Ins);
    for (const Argument &A : N.Outputs)
      A.collectTensorNames(Outs);
    Bytes = 0;
    for (const std::string &X : Ins)
      Bytes += bytesOf(X);
    for (const std::string &X : Outs)
      Bytes += bytesOf(X);
    const double OutN = Outs.empty() ? 0 : numel(shapeOf(S.resolve(Outs[0])));
    auto inShape = [&](const char *Name) -> std::vector<int64_t> {
      const frontend::NamedArgument *A = N.input(Name);
      return A && A->Arg.Kind == ArgKind::Tensor ? shapeOf(S.resolve(A->Arg.S)) : std::vector<int64_t>{};
    };
    auto tail = [&](const std::vector<int64_t> &S, size_t From) {
      double E = 1;
      for (size_t I = From; I < S.size(); ++I)
        E *= double(S[I]);
      return E;
    };
    const std::string &Op = N.Op;
    if (N.Ns != "aten") {
      Flops = 0;
    } else if (Op == "conv1d" || Op == "conv2d" || Op == "conv3d" || Op == "convolution") {
      bool Transposed = false;
      if (const frontend::NamedArgument *T = N.input("transposed"))
        Transposed = T->Arg.I != 0;
      Flops = 2 * (Transposed ? numel(inShape("input")) : OutN) * tail(inShape("weight"), 1);
    } else if (Op.rfind("conv_transpose", 0) == 0) {
      Flops = 2 * numel(inShape("input")) * tail(inShape("weight"), 1);
    } else if (Op == "mm" || Op == "bmm" || Op == "matmul" || Op == "addmm" || Op == "linear" ||
               Op == "baddbmm") {
      std::vector<int64_t> A = inShape(Op == "addmm" ? "mat1" : Op == "linear" ? "input" : Op == "baddbmm" ? "batch1" : "self");
      Flops = 2 * OutN * (A.empty() ? 1 : double(A.back()));
    } else if (Op == "scaled_dot_product_attention") {
      std::vector<int64_t> K = inShape("key");
      Flops = 4 * OutN * (K.size() >= 2 ? double(K[K.size() - 2]) : 1) + 5 * OutN;
    } else if (Op == "softmax" || Op == "_softmax" || Op == "log_softmax" || Op == "_log_softmax" ||
               Op == "layer_norm" || Op == "native_layer_norm" || Op == "batch_norm" || Op == "group_norm") {
      Flops = 5 * OutN;
    } else if (Op.find("pool") != std::string::npos && Op.rfind("adaptive", 0) != 0) {
      double Window = 1;
      if (const frontend::NamedArgument *K = N.input("kernel_size"))
        for (int64_t X : K->Arg.asInts().value_or(std::vector<int64_t>{}))
          Window *= double(X);
      Flops = OutN * Window;
    } else if (Op.rfind("adaptive", 0) == 0 || Op == "mean" || Op == "sum" || Op == "amax" || Op == "amin" ||
               Op == "max" || Op == "min" || Op == "var" || Op == "std") {
      Flops = numel(inShape("self").empty() ? inShape("input") : inShape("self"));
    } else if (Op == "view" || Op == "reshape" || Op == "_unsafe_view" || Op == "permute" || Op == "transpose" ||
               Op == "t" || Op == "expand" || Op == "slice" || Op == "select" || Op == "unsqueeze" ||
               Op == "squeeze" || Op == "flatten" || Op == "cat" || Op == "stack" || Op == "clone" ||
               Op == "contiguous" || Op == "constant_pad_nd" || Op == "to" || Op == "_to_copy" ||
               Op == "embedding" || Op == "index" || Op == "split" || Op == "chunk" || Op == "copy" ||
               Op == "dropout" || Op == "detach") {
      Flops = 0;
    } else {
      Flops = OutN; // elementwise
    }
  }

  llvm::Error finishOutputs();
};

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
  for (const Node &N : S.Nodes) {
    if (auto F = FusedChain.find(N.Name); F != FusedChain.end()) {
      // Computed inside the chain kernel of an earlier node (its value is
      // that kernel's output when it is the chain's last node).
      recordDecision(N, NodeDecision::Fused, "chain", "in the elementwise chain of " + F->second);
      continue;
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
    if (auto F = FusedEpilogue.find(N.Name); F != FusedEpilogue.end()) {
      // The GEMM before it applied it to its result: same tensor.
      S.TensorOf[N.Outputs[0].S] = S.TensorOf.at(S.resolve(N.Inputs[0].Arg.S));
      recordDecision(N, NodeDecision::Fused, "gemm",
                     std::string(N.Op == "gelu" ? "gelu" : "relu") + " epilogue of " + F->second);
      continue;
    }
    if (N.Ns == "aten" && (N.Op == "zeros_like" || N.Op == "ones_like" || N.Op == "full_like" || N.Op == "zeros" ||
                           N.Op == "ones" || N.Op == "full" || N.Op == "new_zeros" || N.Op == "new_ones" ||
                           N.Op == "new_full")) {
      Checkpoint C = checkpoint();
      try {
        selectFill(N);
        continue;
      } catch (const NoKernel &E) {
        rollback(C);
        if (llvm::Error Err = selectFallback(N, N.Op + ": " + E.Reason))
          return Err;
        continue;
      }
    }
    if (isBatchNormOp(N)) {
      if (auto F = FoldedBatchNorm.find(N.Name); F != FoldedBatchNorm.end()) {
        // The convolution before it computed its result: same tensor.
        S.TensorOf[N.Outputs[0].S] = S.TensorOf.at(S.resolve(N.Inputs[0].Arg.S));
        recordDecision(N, NodeDecision::Fused, "gemm", "folded into " + F->second);
        continue;
      }
      Checkpoint C = checkpoint();
      try {
        selectBatchNorm(N);
        continue;
      } catch (const NoKernel &E) {
        rollback(C);
        if (llvm::Error Err = selectFallback(N, N.Op + ": " + E.Reason))
          return Err;
        continue;
      }
    }
    std::string Key = N.Ns == "aten" ? "aten::" + N.Op + (N.Overload.empty() ? "" : "." + N.Overload) : "";
    auto It = kernelTable().find(Key);
    std::string Reason = "no device kernel for " + (N.Ns == "aten" ? Key : N.Target);
    if (It != kernelTable().end()) {
      Checkpoint C = checkpoint();
      try {
        switch (abi::kernelFamily(It->second)) {
        case abi::KernelFamily::Copy:
          if (N.Op == "cat")
            selectCat(N);
          else if (N.Op == "stack")
            selectStack(N);
          else if (N.Op == "split_with_sizes" || N.Op == "split" || N.Op == "chunk" || N.Op == "unbind")
            selectSplit(N);
          else if (N.Op == "upsample_nearest2d")
            selectUpsample(N);
          else if (!selectView(N, It->second))
            throw NoKernel{"unsupported layout op"};
          break;
        case abi::KernelFamily::Unary:
          if (It->second == abi::KernelId::convert)
            selectConvert(N);
          else
            selectUnary(N, It->second);
          break;
        case abi::KernelFamily::Binary:
          if (N.Op == "max_pool2d")
            selectMaxPool(N);
          else
            selectBinary(N, It->second);
          break;
        case abi::KernelFamily::Softmax: selectSoftmax(N, It->second); break;
        case abi::KernelFamily::Gemm:
          if (N.Op == "conv2d" || N.Op == "conv_transpose2d" || N.Op == "convolution")
            selectConv(N);
          else if (N.Op == "scaled_dot_product_attention")
            selectAttention(N);
          else if (N.Op == "avg_pool2d" || N.Op == "adaptive_avg_pool2d")
            selectAvgPool(N);
          else
            selectGemm(N);
          break;
        case abi::KernelFamily::Pad: selectPad(N); break;
        case abi::KernelFamily::Norm: selectLayerNorm(N); break;
        case abi::KernelFamily::Reduce: selectReduce(N, It->second); break;
        case abi::KernelFamily::Gather: selectEmbedding(N); break;
        case abi::KernelFamily::Chain: throw NoKernel{"chains are made by fusion, not matched by name"};
        case abi::KernelFamily::Select: selectWhere(N); break;
        }
        continue;
      } catch (const NoKernel &E) {
        // Undo what this node began; it goes to the fallback instead.
        rollback(C);
        Reason = std::string(abi::kernelName(It->second)) + " kernel: " + E.Reason;
      }
    }
    if (llvm::Error E = selectFallback(N, Reason))
      return E;
  }
  return finishOutputs();
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

} // namespace

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
