//===- reference/EagerInterpreter.cpp - the LibTorch eager oracle ---------===//
//
// Arguments are matched to LibTorch's own FunctionSchema of the op (by name,
// defaults from that schema), not to the frontend's table: the oracle must
// not share the frontend's assumptions. The export schema numbers dtypes,
// layouts and memory formats differently from c10, hence the conversions.
//
//===----------------------------------------------------------------------===//
#include "reference/EagerInterpreter.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "runtime/fallback/TorchBlas.h"
#include "runtime/fallback/TorchGlue.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ScalarOps.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

using namespace atalla;
using namespace atalla::reference;
using frontend::ArgKind;
using frontend::Argument;
using frontend::makeError;
using frontend::Node;
using frontend::ScalarType;
using frontend::TensorData;

namespace {

llvm::Expected<c10::ScalarType> toC10(ScalarType T) {
  if (std::optional<c10::ScalarType> C = torchglue::c10ScalarType(int64_t(T)))
    return *C;
  return makeError("dtype " + frontend::scalarTypeName(T) + " is not available in LibTorch 1.13");
}

llvm::Expected<ScalarType> fromC10(c10::ScalarType T) {
  if (std::optional<int64_t> D = torchglue::schemaDType(T))
    return ScalarType(*D);
  return makeError(std::string("LibTorch dtype ") + c10::toString(T) + " has no export equivalent");
}

llvm::Expected<at::Tensor> toAten(const TensorData &T, const std::string &What) {
  if (!T.Data)
    return makeError(What + ": fake tensor (no data in the archive)");
  auto Dt = toC10(T.Dtype);
  if (!Dt)
    return frontend::prefixError(Dt.takeError(), What + ": ");
  std::vector<uint8_t> Bytes = T.contiguousBytes();
  at::Tensor Out = at::empty(T.Sizes, at::TensorOptions().dtype(*Dt));
  if (!Bytes.empty())
    std::memcpy(Out.data_ptr(), Bytes.data(), Bytes.size());
  return Out;
}

llvm::Expected<TensorData> fromAten(const at::Tensor &In) {
  auto Dt = fromC10(In.scalar_type());
  if (!Dt)
    return Dt.takeError();
  at::Tensor C = In.contiguous();
  std::vector<uint8_t> Bytes(C.numel() * C.element_size());
  if (!Bytes.empty())
    std::memcpy(Bytes.data(), C.data_ptr(), Bytes.size());
  return TensorData::fromBytes(*Dt, C.sizes().vec(), std::move(Bytes));
}

/// Export schema Layout / MemoryFormat numbers to c10's (unknown ones as
/// strided and contiguous, torch's defaults).
int64_t layoutToC10(int64_t L) { return torchglue::c10Layout(L).value_or(static_cast<int64_t>(c10::kStrided)); }
int64_t memoryFormatToC10(int64_t F) {
  return torchglue::c10MemoryFormat(F).value_or(static_cast<int64_t>(c10::MemoryFormat::Contiguous));
}

} // namespace

struct EagerInterpreter::Impl {
  const frontend::Model *M = nullptr;
  EagerOptions Opts;
  std::map<std::string, at::Tensor> Bound; ///< Parameters, buffers, constants.
  std::map<std::string, c10::IValue> Env;
  NodeHook Hook;
  bool KeepValues = false;
  std::map<std::string, TensorData> Kept;

  /// Snapshots Env[Name] into Kept when it is a tensor fromAten represents.
  void keep(const std::string &Name) {
    auto It = Env.find(Name);
    if (It == Env.end() || !It->second.isTensor())
      return;
    auto T = fromAten(It->second.toTensor());
    if (T)
      Kept[Name] = std::move(*T);
    else
      llvm::consumeError(T.takeError());
  }

  llvm::Expected<at::Tensor> tensor(const std::string &Name, const Node &N) {
    auto It = Env.find(Name);
    if (It == Env.end() || !It->second.isTensor())
      return makeError("node '" + N.Name + "': tensor '" + Name + "' is not defined");
    return It->second.toTensor();
  }

  llvm::Expected<int64_t> symInt(const Argument &A, const Node &N) {
    if (A.Kind == ArgKind::Int || A.Kind == ArgKind::Bool)
      return A.I;
    auto It = Env.find(A.S);
    if (It == Env.end() || !It->second.isInt())
      return makeError("node '" + N.Name + "': symbolic integer '" + A.S + "' is not defined");
    return It->second.toInt();
  }

  llvm::Expected<c10::IValue> scalar(const Argument &A, const Node &N) {
    switch (A.Kind) {
    case ArgKind::Int: return c10::IValue(at::Scalar(A.I));
    case ArgKind::Float: return c10::IValue(at::Scalar(A.F));
    case ArgKind::Bool: return c10::IValue(at::Scalar(A.I != 0));
    case ArgKind::SymInt: {
      auto V = symInt(A, N);
      if (!V)
        return V.takeError();
      return c10::IValue(at::Scalar(*V));
    }
    default:
      return makeError("node '" + N.Name + "': expected a number, got " + frontend::formatArgument(A));
    }
  }

  /// Converts \p A to the IValue the schema type \p T expects.
  llvm::Expected<c10::IValue> convert(const Argument &A, c10::TypePtr T, const Node &N,
                                      const std::string &ArgName) {
    auto Bad = [&](const std::string &Why) {
      return makeError("node '" + N.Name + "': argument '" + ArgName + "' (" + T->str() + "): " + Why);
    };
    if (A.Kind == ArgKind::None)
      return c10::IValue();
    if (T->kind() == c10::TypeKind::OptionalType)
      T = T->containedType(0);
    switch (T->kind()) {
    case c10::TypeKind::TensorType: {
      if (A.Kind == ArgKind::OptionalTensor)
        return A.Elems.empty() || A.Elems[0].Kind != ArgKind::Tensor
                   ? c10::IValue()
                   : convert(A.Elems[0], T, N, ArgName);
      if (A.Kind == ArgKind::Int || A.Kind == ArgKind::Float || A.Kind == ArgKind::Bool) {
        // A Python number where the schema says Tensor (div.Tensor(x, 4.0)):
        // Python's argument parser wraps it as a "wrapped number" tensor,
        // which takes no part in dtype promotion; do the same.
        auto S = scalar(A, N);
        if (!S)
          return S.takeError();
        return c10::IValue(at::native::wrapped_scalar_tensor(S->toScalar()));
      }
      if (A.Kind != ArgKind::Tensor)
        return Bad("expected a tensor, got " + frontend::formatArgument(A));
      auto V = tensor(A.S, N);
      if (!V)
        return V.takeError();
      return c10::IValue(*V);
    }
    case c10::TypeKind::ListType: {
      c10::TypePtr E = T->containedType(0);
      if (E->kind() == c10::TypeKind::TensorType) {
        c10::List<at::Tensor> L;
        for (const Argument &X : A.Elems) {
          auto V = tensor(X.S, N);
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::OptionalType) {
        c10::List<c10::optional<at::Tensor>> L;
        for (const Argument &X : A.Elems) {
          if (X.Kind != ArgKind::Tensor) {
            L.push_back(c10::nullopt);
            continue;
          }
          auto V = tensor(X.S, N);
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::IntType || E->kind() == c10::TypeKind::SymIntType) {
        std::vector<int64_t> L;
        if (A.Kind == ArgKind::Int || A.Kind == ArgKind::SymInt) {
          auto V = symInt(A, N); // a scalar where a list is expected: int[2] x=1
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        for (const Argument &X : A.Elems) {
          auto V = symInt(X, N);
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::FloatType) {
        std::vector<double> L;
        for (const Argument &X : A.Elems)
          L.push_back(X.Kind == ArgKind::Float ? X.F : static_cast<double>(X.I));
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::BoolType) {
        c10::List<bool> L;
        for (const Argument &X : A.Elems)
          L.push_back(X.I != 0);
        return c10::IValue(L);
      }
      return Bad("unsupported list type");
    }
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      switch (A.Kind) {
      case ArgKind::ScalarType: {
        auto FT = frontend::scalarTypeFromSchema(A.I);
        if (!FT)
          return Bad("unknown dtype number " + std::to_string(A.I));
        auto C = toC10(*FT);
        if (!C)
          return C.takeError();
        return c10::IValue(static_cast<int64_t>(*C));
      }
      case ArgKind::Layout: return c10::IValue(layoutToC10(A.I));
      case ArgKind::MemoryFormat: return c10::IValue(memoryFormatToC10(A.I));
      case ArgKind::Int:
      case ArgKind::Bool:
      case ArgKind::SymInt: {
        auto V = symInt(A, N);
        if (!V)
          return V.takeError();
        return c10::IValue(*V);
      }
      default: return Bad("expected an integer, got " + frontend::formatArgument(A));
      }
    case c10::TypeKind::FloatType:
      if (A.Kind == ArgKind::Float)
        return c10::IValue(A.F);
      if (A.Kind == ArgKind::Int)
        return c10::IValue(static_cast<double>(A.I));
      return Bad("expected a float, got " + frontend::formatArgument(A));
    case c10::TypeKind::NumberType:
      return scalar(A, N);
    case c10::TypeKind::BoolType:
      if (A.Kind == ArgKind::Bool || A.Kind == ArgKind::Int)
        return c10::IValue(A.I != 0);
      return Bad("expected a bool, got " + frontend::formatArgument(A));
    case c10::TypeKind::StringType:
      if (A.Kind == ArgKind::String)
        return c10::IValue(A.S);
      return Bad("expected a string, got " + frontend::formatArgument(A));
    case c10::TypeKind::DeviceObjType:
      if (A.Kind == ArgKind::Device)
        return c10::IValue(c10::Device(A.Dev.Type + (A.Dev.Index ? ":" + std::to_string(*A.Dev.Index) : "")));
      return Bad("expected a device");
    default:
      return Bad("unsupported argument type");
    }
  }

  /// torch 2.x ops handled without the dispatcher, deliberately.
  /// Returns true when \p N was handled.
  llvm::Expected<bool> special(const Node &N) {
    const std::string Op = N.opWithOverload();
    if (N.Ns == "aten" && N.Op == "_assert_tensor_metadata") {
      // 2.x added device/layout kwargs that 1.13's schema lacks; the check
      // itself is done here: dtype and sizes must be what the graph asserts.
      const frontend::NamedArgument *A = N.input("a");
      if (!A)
        return makeError("node '" + N.Name + "': _assert_tensor_metadata without 'a'");
      auto T = tensor(A->Arg.S, N);
      if (!T)
        return T.takeError();
      if (const frontend::NamedArgument *D = N.input("dtype"); D && D->Arg.Kind == ArgKind::ScalarType) {
        auto FT = frontend::scalarTypeFromSchema(D->Arg.I);
        auto C = FT ? toC10(*FT) : llvm::Expected<c10::ScalarType>(makeError("bad dtype"));
        if (!C)
          return C.takeError();
        if (*C != T->scalar_type())
          return makeError("node '" + N.Name + "': tensor '" + A->Arg.S + "' has dtype " +
                           c10::toString(T->scalar_type()) + " but the graph asserts " + c10::toString(*C));
      }
      if (const frontend::NamedArgument *S = N.input("size"))
        if (auto Sizes = S->Arg.asInts(); Sizes && *Sizes != T->sizes().vec())
          return makeError("node '" + N.Name + "': tensor '" + A->Arg.S + "' has another size than asserted");
      return true;
    }
    if (N.Ns == "aten" && N.Op == "_native_batch_norm_legit_no_training") {
      // torch 2.x's inference batch norm (LibTorch 1.13 lacks it):
      // native_batch_norm with training = false, the same three results.
      Node Same = N;
      Same.Op = "native_batch_norm";
      Same.Overload = "";
      Same.Target = "torch.ops.aten.native_batch_norm.default";
      Same.Inputs.push_back(frontend::NamedArgument{"training", Argument::boolean(false),
                                                    frontend::ArgPassing::Positional, false});
      if (llvm::Error E = runNode(Same))
        return E;
      return true;
    }
    if (N.Ns == "aten" && N.Op == "lift_fresh_copy") {
      auto T = tensor(N.Inputs.at(0).Arg.S, N);
      if (!T)
        return T.takeError();
      return bindOutputs(N, {c10::IValue(T->clone())});
    }
    if (N.Ns == "aten" && (N.Op == "sym_size" || N.Op == "sym_stride" || N.Op == "sym_numel")) {
      auto T = tensor(N.Inputs.at(0).Arg.S, N);
      if (!T)
        return T.takeError();
      int64_t V;
      if (N.Op == "sym_numel") {
        V = T->numel();
      } else {
        const frontend::NamedArgument *D = N.input("dim");
        if (!D)
          return makeError("node '" + N.Name + "': " + Op + " without 'dim'");
        V = N.Op == "sym_size" ? T->size(D->Arg.I) : T->stride(D->Arg.I);
      }
      return bindOutputs(N, {c10::IValue(V)});
    }
    if (N.Ns == "aten" && (N.Op == "_assert_scalar" || N.Op == "sym_constrain_range" ||
                           N.Op == "sym_constrain_range_for_size" || N.Op == "_assert_async"))
      return true; // Runtime assertions on symbolic values; shapes are checked at the inputs.
    if (N.Ns == "aten" && (N.Op == "scaled_dot_product_attention" || N.Op == "_scaled_dot_product_flash_attention_for_cpu"))
      return attention(N);
    if (N.Target == "torch.ops.higher_order.cond")
      return cond(N);
    if (N.Target == "_operator.getitem") {
      if (N.Inputs.size() != 2)
        return makeError("node '" + N.Name + "': getitem needs 2 arguments");
      auto It = Env.find(N.Inputs[0].Arg.S);
      if (It == Env.end() || !It->second.isList())
        return makeError("node '" + N.Name + "': getitem of a value that is not a list");
      auto L = It->second.toList();
      int64_t I = N.Inputs[1].Arg.I;
      if (I < 0 || static_cast<size_t>(I) >= L.size())
        return makeError("node '" + N.Name + "': getitem index out of range");
      return bindOutputs(N, {L.get(I)});
    }
    if (llvm::StringRef(N.Target).starts_with("_operator.")) {
      // Arithmetic on symbolic integers (sym_size(x, 0) * 2, ...).
      std::vector<int64_t> V;
      for (const frontend::NamedArgument &A : N.Inputs) {
        auto X = symInt(A.Arg, N);
        if (!X)
          return X.takeError();
        V.push_back(*X);
      }
      llvm::StringRef F = llvm::StringRef(N.Target).drop_front(strlen("_operator."));
      int64_t R;
      if (F == "neg" && V.size() == 1)
        R = -V[0];
      else if (V.size() != 2)
        return makeError("node '" + N.Name + "': unsupported operator " + N.Target);
      else if (F == "add")
        R = V[0] + V[1];
      else if (F == "sub")
        R = V[0] - V[1];
      else if (F == "mul")
        R = V[0] * V[1];
      else if ((F == "floordiv" || F == "mod") && V[1] != 0)
        R = F == "floordiv" ? (V[0] / V[1] - ((V[0] % V[1] != 0) && ((V[0] < 0) != (V[1] < 0))))
                            : ((V[0] % V[1]) + V[1]) % V[1];
      else
        return makeError("node '" + N.Name + "': unsupported operator " + N.Target);
      return bindOutputs(N, {c10::IValue(R)});
    }
    return false;
  }

  /// aten::scaled_dot_product_attention (torch >= 2.0; LibTorch 1.13 lacks
  /// it) as torch's own math reference computes it
  /// (_scaled_dot_product_attention_math): q and k each scaled by
  /// sqrt(scale), an additive or boolean mask, an optional causal mask.
  llvm::Expected<bool> attention(const Node &N) {
    auto get = [&](const char *Name) -> const Argument * {
      const frontend::NamedArgument *A = N.input(Name);
      return A ? &A->Arg : nullptr;
    };
    const Argument *Q = get("query"), *K = get("key"), *V = get("value");
    if (!Q || !K || !V)
      return makeError("node '" + N.Name + "': scaled_dot_product_attention needs query, key and value");
    auto Qt = tensor(Q->S, N), Kt = tensor(K->S, N), Vt = tensor(V->S, N);
    if (!Qt || !Kt || !Vt)
      return makeError("node '" + N.Name + "': scaled_dot_product_attention operand is not defined");
    const Argument *Drop = get("dropout_p");
    if (Drop && ((Drop->Kind == ArgKind::Float && Drop->F != 0.0) || (Drop->Kind == ArgKind::Int && Drop->I != 0)))
      return makeError("node '" + N.Name + "': scaled_dot_product_attention with dropout is not deterministic; "
                       "the oracle refuses it");
    torchglue::AttentionArgs Args;
    Args.Query = *Qt;
    Args.Key = *Kt;
    Args.Value = *Vt;
    if (const Argument *G = get("enable_gqa"); G && G->I)
      Args.EnableGqa = true;
    if (const Argument *S = get("scale"); S && S->Kind != ArgKind::None)
      Args.Scale = S->Kind == ArgKind::Float ? S->F : static_cast<double>(S->I);
    if (const Argument *C = get("is_causal"); C && C->I)
      Args.Causal = true;
    if (const Argument *M = get("attn_mask"); M && M->Kind == ArgKind::Tensor) {
      auto Mask = tensor(M->S, N);
      if (!Mask)
        return Mask.takeError();
      Args.Mask = *Mask;
    }
    if (N.Op == "_scaled_dot_product_flash_attention_for_cpu") { // torch >= 2.2's CPU form: (output, logsumexp)
      auto [Out, Lse] = torchglue::attentionMathWithLogSumExp(Args);
      return bindOutputs(N, {c10::IValue(Out), c10::IValue(Lse)});
    }
    return bindOutputs(N, {c10::IValue(torchglue::attentionMath(Args))});
  }

  /// torch.cond: runs the chosen branch's subgraph on the operands.
  llvm::Expected<bool> cond(const Node &N) {
    if (N.Inputs.size() != 4 || N.Inputs[1].Arg.Kind != ArgKind::Graph ||
        N.Inputs[2].Arg.Kind != ArgKind::Graph || !N.Inputs[1].Arg.Sub || !N.Inputs[2].Arg.Sub)
      return makeError("node '" + N.Name + "': cond needs (pred, true_graph, false_graph, operands)");
    const Argument &P = N.Inputs[0].Arg;
    bool Pred;
    if (P.Kind == ArgKind::Bool) {
      Pred = P.I != 0;
    } else {
      auto It = Env.find(P.S);
      if (It == Env.end())
        return makeError("node '" + N.Name + "': predicate '" + P.S + "' is not defined");
      Pred = It->second.isTensor() ? It->second.toTensor().item<bool>() : It->second.toBool();
    }
    const frontend::Graph &G = *N.Inputs[Pred ? 1 : 2].Arg.Sub;
    const Argument &Ops = N.Inputs[3].Arg;
    if (G.Inputs.size() != Ops.Elems.size())
      return makeError("node '" + N.Name + "': branch takes " + std::to_string(G.Inputs.size()) +
                       " operands, " + std::to_string(Ops.Elems.size()) + " given");
    std::map<std::string, c10::IValue> Inner;
    for (size_t I = 0; I < G.Inputs.size(); ++I) {
      auto It = Env.find(Ops.Elems[I].S);
      if (It == Env.end())
        return makeError("node '" + N.Name + "': operand '" + Ops.Elems[I].S + "' is not defined");
      Inner[G.Inputs[I].S] = It->second;
    }
    // The branch runs in its own scope: its value names are local.
    std::swap(Env, Inner);
    for (const Node &Sub : G.Nodes)
      if (llvm::Error E = runNode(Sub)) {
        std::swap(Env, Inner);
        return frontend::prefixError(std::move(E), "node '" + N.Name + "' (" + (Pred ? "true" : "false") +
                                                       " branch): ");
      }
    std::vector<c10::IValue> Results;
    for (const Argument &O : G.Outputs)
      Results.push_back(Env[O.S]);
    std::swap(Env, Inner);
    return bindOutputs(N, std::move(Results));
  }

  llvm::Expected<bool> bindOutputs(const Node &N, std::vector<c10::IValue> Results) {
    // One as_tensors output receives a returned list (split, unbind).
    if (N.Outputs.size() == 1 && N.Outputs[0].Kind == ArgKind::Tensors && Results.size() == 1 &&
        Results[0].isTensorList()) {
      auto L = Results[0].toTensorList();
      if (L.size() != N.Outputs[0].Elems.size())
        return makeError("node '" + N.Name + "': op returned " + std::to_string(L.size()) +
                         " tensors, the graph names " + std::to_string(N.Outputs[0].Elems.size()));
      for (size_t I = 0; I < L.size(); ++I)
        Env[N.Outputs[0].Elems[I].S] = c10::IValue(L.get(I));
      return true;
    }
    size_t R = 0;
    for (const Argument &O : N.Outputs) {
      if (R >= Results.size())
        break;
      const c10::IValue &V = Results[R++];
      if (O.Kind == ArgKind::Tensor || O.Kind == ArgKind::SymInt || O.Kind == ArgKind::SymBool ||
          O.Kind == ArgKind::SymFloat)
        Env[O.S] = V;
      else if (O.Kind == ArgKind::Tensors && V.isTensorList()) {
        auto L = V.toTensorList();
        for (size_t I = 0; I < L.size() && I < O.Elems.size(); ++I)
          Env[O.Elems[I].S] = c10::IValue(L.get(I));
      }
    }
    if (Hook) {
      for (const Argument &O : N.Outputs)
        if (O.Kind == ArgKind::Tensor && Env[O.S].isTensor()) {
          auto T = fromAten(Env[O.S].toTensor());
          if (T)
            Hook(N, *T);
          else
            llvm::consumeError(T.takeError());
          break;
        }
    }
    return true;
  }

  llvm::Error runNode(const Node &N) {
    auto Handled = special(N);
    if (!Handled)
      return Handled.takeError();
    if (*Handled)
      return llvm::Error::success();
    if (N.Ns != "aten")
      return makeError("node '" + N.Name + "': target '" + N.Target + "' is not an ATen op");
    auto Handle = c10::Dispatcher::singleton().findSchema({"aten::" + N.Op, N.Overload});
    if (!Handle)
      return makeError("node '" + N.Name + "': " + N.opWithOverload() +
                       " is not available in LibTorch " + libtorchVersion() +
                       " (target " + N.Target + ")");
    const c10::FunctionSchema &S = Handle->schema();
    // Every argument the archive gives must exist in 1.13's schema.
    for (const frontend::NamedArgument &A : N.Inputs) {
      bool Known = false;
      for (const c10::Argument &SA : S.arguments())
        Known |= SA.name() == A.Name;
      if (!Known && !A.Defaulted)
        return makeError("node '" + N.Name + "': argument '" + A.Name + "' of " + N.opWithOverload() +
                         " is unknown to LibTorch " + libtorchVersion());
    }
    torch::jit::Stack Stack;
    for (const c10::Argument &SA : S.arguments()) {
      const frontend::NamedArgument *Given = N.input(SA.name());
      if (Given) {
        auto V = convert(Given->Arg, SA.type(), N, SA.name());
        if (!V)
          return V.takeError();
        Stack.push_back(std::move(*V));
      } else if (SA.default_value()) {
        Stack.push_back(*SA.default_value());
      } else {
        return makeError("node '" + N.Name + "': " + N.opWithOverload() + " needs argument '" +
                         SA.name() + "', which the archive does not give");
      }
    }
    try {
      Handle->callBoxed(&Stack);
    } catch (const std::exception &E) {
      std::string Msg = E.what();
      Msg = Msg.substr(0, Msg.find('\n'));
      return makeError("node '" + N.Name + "': " + N.opWithOverload() + " failed in LibTorch: " + Msg);
    }
    auto B = bindOutputs(N, std::vector<c10::IValue>(Stack.begin(), Stack.end()));
    if (!B)
      return B.takeError();
    return llvm::Error::success();
  }
};

EagerInterpreter::EagerInterpreter() : P(std::make_unique<Impl>()) {}
EagerInterpreter::~EagerInterpreter() = default;

void EagerInterpreter::setNodeHook(NodeHook H) { P->Hook = std::move(H); }

void EagerInterpreter::setKeepValues(bool Keep) { P->KeepValues = Keep; }

const std::map<std::string, TensorData> &EagerInterpreter::values() const { return P->Kept; }

std::string atalla::reference::libtorchVersion() { return TORCH_VERSION; }

llvm::Expected<std::unique_ptr<EagerInterpreter>>
EagerInterpreter::create(const frontend::Model &M, const EagerOptions &Opts) {
  std::unique_ptr<EagerInterpreter> I(new EagerInterpreter());
  I->P->M = &M;
  I->P->Opts = Opts;
  if (Opts.Threads > 0) {
    at::set_num_threads(Opts.Threads);
    runtime::setBlasThreads(Opts.Threads); // OpenBLAS's pthreads pool is not LibTorch's
  }
  for (const frontend::InputSpec &S : M.InputSpecs) {
    if (S.Kind == frontend::InputKind::UserInput || S.Kind == frontend::InputKind::Token ||
        S.Kind == frontend::InputKind::ConstantInput)
      continue;
    if (S.Kind == frontend::InputKind::CustomObj)
      return makeError(M.Path + ": custom object '" + S.Target + "' is not supported by the eager oracle");
    const TensorData *T = M.placeholderData(S);
    if (!T)
      return makeError(M.Path + ": " + frontend::inputKindName(S.Kind) + " '" + S.Target + "' has no data");
    auto A = toAten(*T, M.Path + ": " + frontend::inputKindName(S.Kind) + " '" + S.Target + "'");
    if (!A)
      return A.takeError();
    I->P->Bound[S.Arg.S] = *A;
  }
  return I;
}

llvm::Expected<std::vector<TensorData>> EagerInterpreter::run(const std::vector<TensorData> &UserInputs) {
  Impl &I = *P;
  const frontend::Model &M = *I.M;
  I.Env.clear();
  I.Kept.clear();
  std::vector<std::string> UserNames;
  for (const frontend::InputSpec &S : M.InputSpecs)
    if (S.Kind == frontend::InputKind::UserInput)
      UserNames.push_back(S.Arg.S);
  if (UserInputs.size() != UserNames.size())
    return makeError(M.Path + ": the model takes " + std::to_string(UserNames.size()) +
                     " input(s), " + std::to_string(UserInputs.size()) + " given");
  size_t U = 0;
  for (const frontend::InputSpec &S : M.InputSpecs) {
    if (S.Kind == frontend::InputKind::ConstantInput) {
      if (S.Arg.Kind == ArgKind::Int)
        I.Env[S.Target] = c10::IValue(S.Arg.I);
      continue;
    }
    if (S.Kind != frontend::InputKind::UserInput) {
      auto It = I.Bound.find(S.Arg.S);
      if (It != I.Bound.end())
        // Fresh copy per run: in-place ops in the graph must not leak into
        // the next run.
        I.Env[S.Arg.S] = c10::IValue(It->second.clone());
      continue;
    }
    const TensorData &In = UserInputs[U++];
    const std::string &Name = S.Arg.S;
    if (S.Arg.Kind == ArgKind::SymInt) { // a symbolic integer input
      std::vector<uint8_t> B = In.contiguousBytes();
      int64_t V = 0;
      if (In.Dtype == ScalarType::Int64 && B.size() == 8)
        std::memcpy(&V, B.data(), 8);
      I.Env[Name] = c10::IValue(V);
      continue;
    }
    const frontend::TensorMeta *Meta = M.G.meta(Name);
    if (!Meta)
      return makeError(M.Path + ": input '" + Name + "' has no tensor_values entry");
    if (Meta->Dtype != In.Dtype)
      return makeError(M.Path + ": input '" + Name + "' must be " + frontend::scalarTypeName(Meta->Dtype) +
                       ", got " + frontend::scalarTypeName(In.Dtype));
    bool ShapeOk = Meta->Sizes.size() == In.Sizes.size();
    for (size_t D = 0; ShapeOk && D < In.Sizes.size(); ++D) {
      const frontend::SymDim &SD = Meta->Sizes[D];
      if (SD.isConcrete()) {
        ShapeOk = *SD.Value == In.Sizes[D];
      } else if (auto RC = M.RangeConstraints.find(SD.Expr); RC != M.RangeConstraints.end()) {
        ShapeOk = (!RC->second.Min || In.Sizes[D] >= *RC->second.Min) &&
                  (!RC->second.Max || In.Sizes[D] <= *RC->second.Max);
      }
    }
    if (!ShapeOk)
      return makeError(M.Path + ": input '" + Name + "' must have shape " +
                       frontend::formatShape(Meta->Sizes) + ", got " + frontend::formatShape(In.Sizes));
    auto A = toAten(In, M.Path + ": input '" + Name + "'");
    if (!A)
      return A.takeError();
    I.Env[Name] = c10::IValue(*A);
  }
  c10::InferenceMode Guard;
  if (I.KeepValues)
    for (const auto &KV : I.Env)
      I.keep(KV.first);
  for (const Node &N : M.G.Nodes) {
    if (llvm::Error E = I.runNode(N))
      return frontend::prefixError(std::move(E), M.Path + ": ");
    if (!I.KeepValues)
      continue;
    for (const Argument &O : N.Outputs) {
      if (O.Kind == ArgKind::Tensor)
        I.keep(O.S);
      else if (O.Kind == ArgKind::Tensors)
        for (const Argument &E : O.Elems)
          I.keep(E.S);
    }
  }
  std::vector<TensorData> Out;
  for (const frontend::OutputSpec &S : M.OutputSpecs) {
    if (S.Kind != frontend::OutputKind::UserOutput)
      continue;
    if (S.Arg.Kind != ArgKind::Tensor)
      return makeError(M.Path + ": non-tensor user output " + frontend::formatArgument(S.Arg) +
                       " is not supported");
    auto It = I.Env.find(S.Arg.S);
    if (It == I.Env.end() || !It->second.isTensor())
      return makeError(M.Path + ": output '" + S.Arg.S + "' was not computed");
    auto T = fromAten(It->second.toTensor());
    if (!T)
      return frontend::prefixError(T.takeError(), M.Path + ": output '" + S.Arg.S + "': ");
    Out.push_back(std::move(*T));
  }
  return Out;
}
