//===- lower/SelectKernels.cpp - nodes to kernels, views and fallback calls -===//
//
// Each node becomes, in order of preference: a view (layout ops the strides
// can express, no code at all), a device kernel specialised to its operands'
// shapes and strides (matched by name through Kernels.def), or a fallback
// ATen call. A node that can not be accelerated records why (dtype, shape,
// attribute), for the report and for --accel-only.
//
//===----------------------------------------------------------------------===//
#include "lower/Passes.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"

#include "llvm/ADT/StringExtras.h"

#include <cstring>
#include <numeric>
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
const std::map<std::string, abi::KernelId> &kernelTable() {
  static const std::map<std::string, abi::KernelId> Table = [] {
    std::map<std::string, abi::KernelId> T;
#define ATALLA_KERNEL_OP(Name, Op, Overload)                                                       \
  T[std::string(Op) + (std::string(Overload).empty() ? "" : "." + std::string(Overload))] = abi::KernelId::Name;
#include "runtime/abi/Kernels.def"
    return T;
  }();
  return Table;
}

std::vector<int64_t> contiguous(const std::vector<int64_t> &Sizes) {
  return frontend::contiguousStrides(Sizes);
}

bool isContiguous(const PTensor &T) { return T.Strides == contiguous(T.Sizes); }

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

  abi::OperandSpec operand(int T) const { return {P.Tensors[T].Sizes, P.Tensors[T].Strides}; }

  /// \p T broadcast to \p Out (right-aligned; stride 0 where broadcast).
  abi::OperandSpec broadcastOperand(int T, const std::vector<int64_t> &Out) const {
    const PTensor &X = P.Tensors[T];
    abi::OperandSpec O;
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

  std::string outputName(const Node &N) {
    if (N.Outputs.size() != 1 || N.Outputs[0].Kind != ArgKind::Tensor)
      throw NoKernel{"node has more than one output"};
    return N.Outputs[0].S;
  }

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
    PInstr I;
    I.Op = abi::Opcode::Kernel;
    I.Spec = std::move(Spec);
    I.Operands = std::move(Operands);
    I.Node = N.Name;
    P.Instrs.push_back(std::move(I));
    recordDecision(N, NodeDecision::Accelerated, std::string(abi::kernelName(P.Instrs.back().Spec.Kernel)));
  }

  void selectUnary(const Node &N, abi::KernelId K) {
    int In = tensorArg(N, "self");
    requireF32(In, "input");
    std::string OutName = outputName(N);
    std::vector<int64_t> Shape = shapeOf(OutName);
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = K;
    Spec.Operands = {broadcastOperand(In, Shape), operand(Out)};
    emitKernel(N, Spec, {In, Out});
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
    if (!OM || OM->Dtype != ScalarType::Float32)
      throw NoKernel{"result dtype is not float32"};
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
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    Spec.Operands.push_back(operand(Out));
    Ops.push_back(Out);
    emitKernel(N, Spec, Ops);
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
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    Spec.Operands.push_back(operand(Out));
    Ops.push_back(Out);
    emitKernel(N, Spec, Ops);
  }

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
    P.Decisions.push_back({N.Name, N.Target, K, Kernel, Reason});
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
    std::string Key = N.Ns == "aten" ? "aten::" + N.Op + (N.Overload.empty() ? "" : "." + N.Overload) : "";
    auto It = kernelTable().find(Key);
    std::string Reason = "no device kernel for " + (N.Ns == "aten" ? Key : N.Target);
    if (It != kernelTable().end()) {
      size_t Tensors = P.Tensors.size(), Instrs = P.Instrs.size();
      try {
        switch (abi::kernelFamily(It->second)) {
        case abi::KernelFamily::Copy:
          if (!selectView(N, It->second))
            throw NoKernel{"unsupported layout op"};
          break;
        case abi::KernelFamily::Unary: selectUnary(N, It->second); break;
        case abi::KernelFamily::Binary: selectBinary(N, It->second); break;
        case abi::KernelFamily::Softmax: selectSoftmax(N, It->second); break;
        case abi::KernelFamily::Gemm: selectGemm(N); break;
        }
        continue;
      } catch (const NoKernel &E) {
        // Undo what this node began; it goes to the fallback instead.
        for (size_t T = Tensors; T < P.Tensors.size(); ++T)
          S.TensorOf.erase(P.Tensors[T].Name);
        P.Tensors.resize(Tensors);
        P.Instrs.resize(Instrs);
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
      if (X.Dtype != ScalarType::Float32)
        return makeError(M.Path + ": output '" + Raw + "' is a view or input of dtype " +
                         frontend::scalarTypeName(X.Dtype).str() + "; copying it is not supported yet");
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
