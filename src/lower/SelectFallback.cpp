//===- lower/SelectFallback.cpp - fallback, cost ----------------------------===//
//
// Kernel selection (Selector.h) for fallback calls and the cost model.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

// --- fallback ------------------------------------------------------------
llvm::Error Selector::selectFallback(const Node &N, const std::string &Reason) {
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

/// FLOPs and operand bytes of a node from the graph's concrete shapes,
/// the same whichever side runs it (the coverage report compares them).
void Selector::nodeCost(const Node &N, double &Flops, double &Bytes) const {
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

} // namespace atalla::lower::select
