//===- runtime/fallback/AtenFallback.cpp - fallback calls via LibTorch ---===//
//
// The only runtime file that includes LibTorch. Conversions follow the
// eager oracle (reference/EagerInterpreter.cpp) so that a fallback op and
// the oracle compute the same thing: numbers where the schema wants a
// Tensor become wrapped-number tensors, export-schema enum numbers become
// c10 enums, and scaled_dot_product_attention uses torch's math reference.
//
//===----------------------------------------------------------------------===//
#include "runtime/fallback/AtenFallback.h"
#include "support/Error.h"
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
#include <optional>

using namespace atalla;
using namespace atalla::runtime;
using abi::ArgTag;

namespace {

std::optional<c10::ScalarType> toC10(int64_t D) { return torchglue::c10ScalarType(D); }

std::optional<uint32_t> fromC10(c10::ScalarType T) {
  if (std::optional<int64_t> D = torchglue::schemaDType(T))
    return uint32_t(*D);
  return std::nullopt;
}

std::string firstLine(const char *What) {
  std::string M = What;
  return M.substr(0, M.find('\n'));
}

/// One fallback call being prepared: the blob, the call, its inputs as ATen.
struct CallContext {
  const Blob &B;
  uint32_t CallIndex;
  std::string Op; ///< "aten::add.Tensor"
  std::vector<at::Tensor> Inputs;
  std::map<std::string, const abi::FallbackArg *> ByName;

  llvm::Error bad(const std::string &Arg, const std::string &Why) const {
    return makeError(Op + ": argument '" + Arg + "': " + Why);
  }
  const abi::FallbackArg *arg(const std::string &Name) const {
    auto It = ByName.find(Name);
    return It == ByName.end() ? nullptr : It->second;
  }
  ArgTag tag(const abi::FallbackArg &A) const { return static_cast<ArgTag>(A.Tag); }
  int64_t intAt(const abi::FallbackArg &A, uint32_t J = 0) const { return B.fallbackInt(A.First + J); }
  double floatAt(const abi::FallbackArg &A, uint32_t J = 0) const { return B.fallbackFloat(A.First + J); }
  std::string stringAt(const abi::FallbackArg &A) const {
    return B.string(static_cast<uint32_t>(B.fallbackValue(A.First))).str();
  }

  /// A number argument as an at::Scalar (Int, Float or Bool).
  std::optional<at::Scalar> scalar(const abi::FallbackArg &A) const {
    switch (tag(A)) {
    case ArgTag::Int: return at::Scalar(intAt(A));
    case ArgTag::Float: return at::Scalar(floatAt(A));
    case ArgTag::Bool: return at::Scalar(intAt(A) != 0);
    default: return std::nullopt;
    }
  }
  llvm::Expected<at::Tensor> tensor(const std::string &Name, int64_t Pos) const {
    if (Pos < 0 || static_cast<uint64_t>(Pos) >= Inputs.size())
      return bad(Name, "input position " + std::to_string(Pos) + " out of range");
    return Inputs[Pos];
  }

  /// Converts \p A to what the schema type \p T expects.
  llvm::Expected<c10::IValue> convert(const std::string &Name, const abi::FallbackArg &A, c10::TypePtr T) const {
    const ArgTag G = tag(A);
    if (G == ArgTag::None)
      return c10::IValue();
    if (T->kind() == c10::TypeKind::OptionalType)
      T = T->containedType(0);
    auto Bad = [&](const std::string &Why) { return bad(Name, "(" + T->str() + ") " + Why); };
    switch (T->kind()) {
    case c10::TypeKind::TensorType: {
      if (G == ArgTag::Tensor) {
        auto V = tensor(Name, A.First);
        if (!V)
          return V.takeError();
        return c10::IValue(*V);
      }
      // A Python number where the schema says Tensor: a wrapped number,
      // which takes no part in type promotion (as Python's parser does).
      if (auto S = scalar(A))
        return c10::IValue(at::native::wrapped_scalar_tensor(*S));
      return Bad("expected a tensor");
    }
    case c10::TypeKind::ListType: {
      c10::TypePtr E = T->containedType(0);
      if (E->kind() == c10::TypeKind::TensorType) {
        if (G != ArgTag::TensorList)
          return Bad("expected a tensor list");
        c10::List<at::Tensor> L;
        for (uint32_t J = 0; J < A.Count; ++J) {
          auto V = tensor(Name, intAt(A, J));
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::OptionalType) {
        if (G != ArgTag::TensorList && G != ArgTag::OptTensorList)
          return Bad("expected a list of optional tensors");
        c10::List<c10::optional<at::Tensor>> L;
        for (uint32_t J = 0; J < A.Count; ++J) {
          if (intAt(A, J) == -1) {
            L.push_back(c10::nullopt);
            continue;
          }
          auto V = tensor(Name, intAt(A, J));
          if (!V)
            return V.takeError();
          L.push_back(*V);
        }
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::IntType || E->kind() == c10::TypeKind::SymIntType) {
        std::vector<int64_t> L;
        if (G == ArgTag::Int || G == ArgTag::Bool)
          L.push_back(intAt(A)); // a scalar where a list is expected: int[2] x=1
        else if (G == ArgTag::IntList || G == ArgTag::BoolList)
          for (uint32_t J = 0; J < A.Count; ++J)
            L.push_back(intAt(A, J));
        else
          return Bad("expected an integer list");
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::FloatType) {
        std::vector<double> L;
        if (G == ArgTag::FloatList)
          for (uint32_t J = 0; J < A.Count; ++J)
            L.push_back(floatAt(A, J));
        else if (G == ArgTag::IntList)
          for (uint32_t J = 0; J < A.Count; ++J)
            L.push_back(static_cast<double>(intAt(A, J)));
        else if (G == ArgTag::Float)
          L.push_back(floatAt(A));
        else
          return Bad("expected a float list");
        return c10::IValue(L);
      }
      if (E->kind() == c10::TypeKind::BoolType) {
        if (G != ArgTag::BoolList && G != ArgTag::IntList)
          return Bad("expected a bool list");
        c10::List<bool> L;
        for (uint32_t J = 0; J < A.Count; ++J)
          L.push_back(intAt(A, J) != 0);
        return c10::IValue(L);
      }
      return Bad("unsupported list type");
    }
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType:
      switch (G) {
      case ArgTag::ScalarType: {
        auto C = toC10(intAt(A));
        if (!C)
          return Bad("unknown dtype number " + std::to_string(intAt(A)));
        return c10::IValue(static_cast<int64_t>(*C));
      }
      case ArgTag::Layout: {
        auto C = torchglue::c10Layout(intAt(A));
        if (!C)
          return Bad("unknown layout number " + std::to_string(intAt(A)));
        return c10::IValue(*C);
      }
      case ArgTag::MemoryFormat: {
        auto C = torchglue::c10MemoryFormat(intAt(A));
        if (!C)
          return Bad("unknown memory format number " + std::to_string(intAt(A)));
        return c10::IValue(*C);
      }
      case ArgTag::Int:
      case ArgTag::Bool: return c10::IValue(intAt(A));
      default: return Bad("expected an integer");
      }
    case c10::TypeKind::FloatType:
      if (G == ArgTag::Float)
        return c10::IValue(floatAt(A));
      if (G == ArgTag::Int)
        return c10::IValue(static_cast<double>(intAt(A)));
      return Bad("expected a float");
    case c10::TypeKind::NumberType:
      if (auto S = scalar(A))
        return c10::IValue(*S);
      return Bad("expected a number");
    case c10::TypeKind::BoolType:
      if (G == ArgTag::Bool || G == ArgTag::Int)
        return c10::IValue(intAt(A) != 0);
      return Bad("expected a bool");
    case c10::TypeKind::StringType:
      if (G == ArgTag::String)
        return c10::IValue(stringAt(A));
      return Bad("expected a string");
    case c10::TypeKind::DeviceObjType:
      if (G == ArgTag::Device) {
        try {
          return c10::IValue(c10::Device(stringAt(A)));
        } catch (const std::exception &E) {
          return Bad("bad device '" + stringAt(A) + "': " + firstLine(E.what()));
        }
      }
      return Bad("expected a device");
    default:
      return Bad("unsupported argument type");
    }
  }

  /// Number argument \p Name as a double, or \p Default when absent/None.
  double number(const std::string &Name, double Default) const {
    const abi::FallbackArg *A = arg(Name);
    if (!A)
      return Default;
    if (tag(*A) == ArgTag::Float)
      return floatAt(*A);
    if (tag(*A) == ArgTag::Int || tag(*A) == ArgTag::Bool)
      return static_cast<double>(intAt(*A));
    return Default;
  }
  bool flag(const std::string &Name) const {
    const abi::FallbackArg *A = arg(Name);
    return A && (tag(*A) == ArgTag::Bool || tag(*A) == ArgTag::Int) && intAt(*A) != 0;
  }
  llvm::Expected<at::Tensor> tensorArg(const std::string &Name) const {
    const abi::FallbackArg *A = arg(Name);
    if (!A || tag(*A) != ArgTag::Tensor)
      return makeError(Op + ": needs tensor argument '" + Name + "'");
    return tensor(Name, A->First);
  }
};

at::Tensor toAten(const HostTensor &T, c10::ScalarType ST) {
  at::Tensor A = at::empty(T.Sizes, at::TensorOptions().dtype(ST));
  if (!T.Bytes.empty())
    std::memcpy(A.data_ptr(), T.Bytes.data(), T.Bytes.size());
  return A;
}

llvm::Expected<HostTensor> fromAten(const at::Tensor &A, const std::string &Op, size_t Index) {
  auto D = fromC10(A.scalar_type());
  if (!D)
    return makeError(Op + ": result " + std::to_string(Index) + " has dtype " + c10::toString(A.scalar_type()) +
                     ", which a blob can not hold");
  at::Tensor C = A.contiguous();
  HostTensor T;
  T.DType = *D;
  T.Sizes = C.sizes().vec();
  T.Bytes.resize(C.numel() * C.element_size());
  if (!T.Bytes.empty())
    std::memcpy(T.Bytes.data(), C.data_ptr(), T.Bytes.size());
  return T;
}

/// aten::scaled_dot_product_attention (LibTorch 1.13 lacks it) as torch's
/// own math reference computes it: q and k each scaled by sqrt(scale), an
/// additive or boolean mask, an optional causal mask.
llvm::Expected<std::vector<at::Tensor>> attention(const CallContext &C) {
  auto Q = C.tensorArg("query"), K = C.tensorArg("key"), V = C.tensorArg("value");
  if (!Q)
    return Q.takeError();
  if (!K)
    return K.takeError();
  if (!V)
    return V.takeError();
  if (C.number("dropout_p", 0.0) != 0.0)
    return makeError(C.Op + ": dropout is not deterministic; the fallback refuses it");
  torchglue::AttentionArgs A;
  A.Query = *Q;
  A.Key = *K;
  A.Value = *V;
  A.EnableGqa = C.flag("enable_gqa");
  A.Causal = C.flag("is_causal");
  if (const abi::FallbackArg *S = C.arg("scale"); S && (C.tag(*S) == ArgTag::Float || C.tag(*S) == ArgTag::Int || C.tag(*S) == ArgTag::Bool))
    A.Scale = C.number("scale", 0.0);
  if (const abi::FallbackArg *M = C.arg("attn_mask"); M && C.tag(*M) == ArgTag::Tensor) {
    auto Mask = C.tensor("attn_mask", M->First);
    if (!Mask)
      return Mask.takeError();
    A.Mask = *Mask;
  }
  if (llvm::StringRef(C.Op).starts_with("aten::_scaled_dot_product_flash_attention_for_cpu")) { // torch >= 2.2: (output, logsumexp)
    auto [Out, Lse] = torchglue::attentionMathWithLogSumExp(A);
    return std::vector<at::Tensor>{Out, Lse};
  }
  return std::vector<at::Tensor>{torchglue::attentionMath(A)};
}

/// torch 2.x ops done here rather than through the dispatcher. Returns
/// nullopt when \p C is not one of them.
std::optional<llvm::Expected<std::vector<at::Tensor>>> special(const CallContext &C) {
  llvm::StringRef Op = C.B.string(C.B.fallbackCall(C.CallIndex).OpOffset);
  if (Op == "aten::_assert_tensor_metadata") {
    // 2.x added kwargs 1.13's schema lacks; check dtype and sizes here.
    auto T = C.tensorArg("a");
    if (!T)
      return llvm::Expected<std::vector<at::Tensor>>(T.takeError());
    if (const abi::FallbackArg *D = C.arg("dtype"); D && C.tag(*D) == ArgTag::ScalarType) {
      auto ST = toC10(C.intAt(*D));
      if (!ST || *ST != T->scalar_type())
        return llvm::Expected<std::vector<at::Tensor>>(makeError(
            C.Op + ": tensor has dtype " + c10::toString(T->scalar_type()) + " but the graph asserts dtype number " +
            std::to_string(C.intAt(*D))));
    }
    if (const abi::FallbackArg *S = C.arg("size"); S && C.tag(*S) == ArgTag::IntList) {
      std::vector<int64_t> Sizes;
      for (uint32_t J = 0; J < S->Count; ++J)
        Sizes.push_back(C.intAt(*S, J));
      if (Sizes != T->sizes().vec())
        return llvm::Expected<std::vector<at::Tensor>>(
            makeError(C.Op + ": tensor has another size than the graph asserts"));
    }
    return llvm::Expected<std::vector<at::Tensor>>(std::vector<at::Tensor>{});
  }
  if (Op == "aten::lift_fresh_copy" || Op == "aten::lift_fresh") {
    auto T = C.tensorArg("self");
    if (!T)
      return llvm::Expected<std::vector<at::Tensor>>(T.takeError());
    return llvm::Expected<std::vector<at::Tensor>>(std::vector<at::Tensor>{T->clone()});
  }
  if (Op == "aten::scaled_dot_product_attention" || Op == "aten::_scaled_dot_product_flash_attention_for_cpu")
    return attention(C);
  if (Op == "aten::_native_batch_norm_legit_no_training") {
    // torch 2.x's inference batch norm (1.13 lacks it): native_batch_norm
    // with training = false, the same three results.
    auto X = C.tensorArg("input"), Mean = C.tensorArg("running_mean"), Var = C.tensorArg("running_var");
    for (auto *T : {&X, &Mean, &Var})
      if (!*T)
        return llvm::Expected<std::vector<at::Tensor>>(T->takeError());
    auto optional = [&](const char *Name) -> c10::optional<at::Tensor> {
      const abi::FallbackArg *A = C.arg(Name);
      if (!A || C.tag(*A) != ArgTag::Tensor)
        return c10::nullopt;
      auto T = C.tensor(Name, A->First);
      if (!T) {
        llvm::consumeError(T.takeError());
        return c10::nullopt;
      }
      return *T;
    };
    auto R = at::native_batch_norm(*X, optional("weight"), optional("bias"), *Mean, *Var, false,
                                   C.number("momentum", 0.1), C.number("eps", 1e-5));
    return llvm::Expected<std::vector<at::Tensor>>(
        std::vector<at::Tensor>{std::get<0>(R), std::get<1>(R), std::get<2>(R)});
  }
  return std::nullopt;
}

} // namespace

std::string runtime::atenVersion() { return TORCH_VERSION; }

AtenFallback::AtenFallback() {
  at::set_num_threads(1);
  setBlasThreads(1); // OpenBLAS's pthreads pool is not LibTorch's
}
AtenFallback::~AtenFallback() = default;

llvm::Expected<std::vector<HostTensor>>
AtenFallback::call(const Blob &B, uint32_t CallIndex, const std::vector<HostTensor> &Inputs,
                   const std::vector<const abi::TensorRecord *> &OutputRecords) {
  CallContext C{B, CallIndex, B.fallbackOpName(CallIndex), {}, {}};
  for (size_t I = 0; I < Inputs.size(); ++I) {
    auto ST = toC10(Inputs[I].DType);
    if (!ST)
      return makeError(C.Op + ": input " + std::to_string(I) + " has unsupported dtype " + dtypeName(Inputs[I].DType));
    C.Inputs.push_back(toAten(Inputs[I], *ST));
  }
  const abi::FallbackCall &Call = B.fallbackCall(CallIndex);
  for (const abi::FallbackArg &A : B.fallbackArgs(Call))
    C.ByName[B.string(A.NameOffset).str()] = &A;

  std::vector<at::Tensor> Results;
  try {
    if (auto S = special(C)) {
      if (!*S)
        return S->takeError();
      Results = std::move(**S);
    } else {
      std::string OpName = B.string(Call.OpOffset).str();
      std::string Overload = B.string(Call.OverloadOffset).str();
      auto Handle = c10::Dispatcher::singleton().findSchema({OpName, Overload});
      if (!Handle)
        return makeError(C.Op + " is not available in LibTorch " + atenVersion());
      const c10::FunctionSchema &Schema = Handle->schema();
      // Every argument the blob gives must be in 1.13's schema (a None one
      // may be a 2.x keyword 1.13 does not know, at its default).
      for (const auto &[Name, A] : C.ByName) {
        bool Known = false;
        for (const c10::Argument &SA : Schema.arguments())
          Known |= SA.name() == Name;
        if (!Known && C.tag(*A) != ArgTag::None)
          return makeError(C.Op + ": argument '" + Name + "' is unknown to LibTorch " + atenVersion());
      }
      torch::jit::Stack Stack;
      for (const c10::Argument &SA : Schema.arguments()) {
        if (const abi::FallbackArg *A = C.arg(SA.name())) {
          auto V = C.convert(SA.name(), *A, SA.type());
          if (!V)
            return V.takeError();
          Stack.push_back(std::move(*V));
        } else if (SA.default_value()) {
          Stack.push_back(*SA.default_value());
        } else {
          return makeError(C.Op + " needs argument '" + SA.name() + "', which the blob does not give");
        }
      }
      Handle->callBoxed(&Stack);
      for (const c10::IValue &V : Stack) {
        if (V.isTensor())
          Results.push_back(V.toTensor());
        else if (V.isTensorList())
          for (const at::Tensor &T : V.toTensorVector())
            Results.push_back(T);
        else if (!V.isNone())
          return makeError(C.Op + " returned a " + V.tagKind() + ", not a tensor");
      }
    }
  } catch (const std::exception &E) {
    return makeError(C.Op + " failed in LibTorch: " + firstLine(E.what()));
  }

  std::vector<HostTensor> Out;
  for (size_t I = 0; I < Results.size(); ++I) {
    auto T = fromAten(Results[I], C.Op, I);
    if (!T)
      return T.takeError();
    Out.push_back(std::move(*T));
  }
  return Out;
}
