//===- frontend/SchemaWriter.cpp - the typed Graph to model.json ----------===//
#include "frontend/SchemaWriter.h"

#include "llvm/ADT/StringExtras.h"

#include <nlohmann/json.hpp>

#include <cmath>

using namespace atalla::frontend;
using json = nlohmann::ordered_json;

namespace {

/// json.dumps() with Python's default separators (", " and ": "), the
/// formatting torch's files have.
void pyDumpTo(const json &J, std::string &Out) {
  if (J.is_object()) {
    Out += '{';
    bool First = true;
    for (auto It = J.begin(); It != J.end(); ++It) {
      if (!First)
        Out += ", ";
      First = false;
      Out += json(It.key()).dump();
      Out += ": ";
      pyDumpTo(*It, Out);
    }
    Out += '}';
  } else if (J.is_array()) {
    Out += '[';
    for (size_t I = 0; I < J.size(); ++I) {
      if (I)
        Out += ", ";
      pyDumpTo(J[I], Out);
    }
    Out += ']';
  } else {
    Out += J.dump();
  }
}

std::string pyDump(const json &J) {
  std::string Out;
  pyDumpTo(J, Out);
  return Out;
}

json symInt(const SymDim &D) {
  if (D.isConcrete())
    return {{"as_int", *D.Value}};
  // A bare symbol is written the way sympy's srepr prints it, as torch does.
  std::string Expr = D.Expr;
  bool Ident = !Expr.empty() && llvm::all_of(Expr, [](char C) { return llvm::isAlnum(C) || C == '_'; });
  if (Ident)
    Expr = "Symbol('" + Expr + "', positive=True, integer=True)";
  json E = {{"expr_str", Expr}};
  E["hint"] = D.Hint ? json({{"as_int", *D.Hint}}) : json(nullptr);
  return {{"as_expr", E}};
}

json device(const Device &D) {
  return {{"type", D.Type}, {"index", D.Index ? json(*D.Index) : json(nullptr)}};
}

json tensorMeta(const TensorMeta &T) {
  json Sizes = json::array(), Strides = json::array();
  for (const SymDim &D : T.Sizes)
    Sizes.push_back(symInt(D));
  for (const SymDim &D : T.Strides)
    Strides.push_back(symInt(D));
  return {{"dtype", static_cast<int64_t>(T.Dtype)},
          {"sizes", Sizes},
          {"requires_grad", T.RequiresGrad},
          {"device", device(T.Dev)},
          {"strides", Strides},
          {"storage_offset", symInt(T.StorageOffset)},
          {"layout", T.Layout}};
}

json floatValue(double V) {
  if (std::isnan(V))
    return "NaN";
  if (std::isinf(V))
    return V > 0 ? "Infinity" : "-Infinity";
  return V;
}

json graphJson(const Graph &G);

json argument(const Argument &A) {
  auto list = [&](auto &&Elem) {
    json L = json::array();
    for (const Argument &E : A.Elems)
      L.push_back(Elem(E));
    return L;
  };
  auto tensorRef = [](const Argument &E) { return json({{"name", E.S}}); };
  auto symElem = [](const Argument &E) -> json {
    switch (E.Kind) {
    case ArgKind::Int: return {{"as_int", E.I}};
    case ArgKind::Float: return {{"as_float", floatValue(E.F)}};
    case ArgKind::Bool: return {{"as_bool", E.I != 0}};
    default: return {{"as_name", E.S}};
    }
  };
  auto optTensor = [](const Argument &E) -> json {
    if (E.Kind == ArgKind::Tensor)
      return {{"as_tensor", {{"name", E.S}}}};
    return {{"as_none", true}};
  };
  const char *Tag = argKindTag(A.Kind);
  json V;
  switch (A.Kind) {
  case ArgKind::None: V = true; break;
  case ArgKind::Tensor: V = tensorRef(A); break;
  case ArgKind::Tensors: V = list(tensorRef); break;
  case ArgKind::Int: V = A.I; break;
  case ArgKind::Ints: V = list([](const Argument &E) { return json(E.I); }); break;
  case ArgKind::Float: V = floatValue(A.F); break;
  case ArgKind::Floats: V = list([](const Argument &E) { return floatValue(E.F); }); break;
  case ArgKind::String: V = A.S; break;
  case ArgKind::Strings: V = list([](const Argument &E) { return json(E.S); }); break;
  case ArgKind::SymInt:
  case ArgKind::SymFloat:
  case ArgKind::SymBool:
    V = symElem(A);
    break;
  case ArgKind::SymInts:
  case ArgKind::SymFloats:
  case ArgKind::SymBools:
    V = list(symElem);
    break;
  case ArgKind::Bool: V = A.I != 0; break;
  case ArgKind::Bools: V = list([](const Argument &E) { return json(E.I != 0); }); break;
  case ArgKind::ScalarType:
  case ArgKind::MemoryFormat:
  case ArgKind::Layout:
    V = A.I;
    break;
  case ArgKind::Device: V = device(A.Dev); break;
  case ArgKind::OptionalTensor:
    V = A.Elems.empty() ? json({{"as_none", true}}) : optTensor(A.Elems[0]);
    break;
  case ArgKind::OptionalTensors: V = list(optTensor); break;
  case ArgKind::Graph:
    V = {{"name", A.S}, {"graph", A.Sub ? graphJson(*A.Sub) : json(nullptr)}};
    break;
  case ArgKind::CustomObj: V = {{"name", A.S}, {"class_fqn", A.S2}}; break;
  case ArgKind::Operator: V = A.S; break;
  case ArgKind::Complex: V = {{"real", floatValue(A.F)}, {"imag", floatValue(A.Imag)}}; break;
  case ArgKind::NestedTensors:
    V = list([&](const Argument &E) {
      json L = json::array();
      for (const Argument &T : E.Elems)
        L.push_back(tensorRef(T));
      return L;
    });
    break;
  case ArgKind::IntLists:
    V = list([](const Argument &E) {
      json L = json::array();
      for (const Argument &I : E.Elems)
        L.push_back(I.I);
      return L;
    });
    break;
  case ArgKind::StringToArgument:
    V = json::object();
    for (size_t I = 0; I < A.Elems.size(); ++I)
      V[A.Keys[I]] = argument(A.Elems[I]);
    break;
  }
  return {{Tag, V}};
}

json graphJson(const Graph &G) {
  json Inputs = json::array(), Outputs = json::array(), Nodes = json::array();
  for (const Argument &A : G.Inputs)
    Inputs.push_back(argument(A));
  for (const Argument &A : G.Outputs)
    Outputs.push_back(argument(A));
  for (const Node &N : G.Nodes) {
    json Ins = json::array();
    for (const NamedArgument &NA : N.Inputs) {
      if (NA.Defaulted)
        continue;
      json E = {{"name", NA.Name}, {"arg", argument(NA.Arg)}};
      E["kind"] = NA.Passing == ArgPassing::Unknown ? json(nullptr) : json(static_cast<int>(NA.Passing));
      Ins.push_back(E);
    }
    json Outs = json::array();
    for (const Argument &O : N.Outputs)
      Outs.push_back(argument(O));
    json Meta = json::object();
    for (const auto &[K, V] : N.Metadata)
      Meta[K] = V;
    Nodes.push_back({{"target", N.Target},
                     {"inputs", Ins},
                     {"outputs", Outs},
                     {"metadata", Meta},
                     {"is_hop_single_tensor_return", nullptr},
                     {"name", N.Name}});
  }
  // tensor_values in graph order (placeholders, then node outputs), as torch.
  json Values = json::object();
  auto addValue = [&](const std::string &Name) {
    if (Values.contains(Name))
      return;
    if (const TensorMeta *M = G.meta(Name))
      Values[Name] = tensorMeta(*M);
  };
  std::vector<std::string> Names;
  for (const Argument &A : G.Inputs)
    A.collectTensorNames(Names);
  for (const Node &N : G.Nodes)
    for (const Argument &O : N.Outputs)
      O.collectTensorNames(Names);
  for (const std::string &N : Names)
    addValue(N);
  for (const auto &[Name, M] : G.Values)
    addValue(Name);
  json SymInts = json::object(), SymBools = json::object();
  for (const auto &[Name, D] : G.SymInts)
    SymInts[Name] = symInt(D);
  for (const auto &[Name, D] : G.SymBools)
    SymBools[Name] = D.isConcrete() ? json({{"as_bool", *D.Value != 0}})
                                    : json({{"as_expr", {{"expr_str", D.Expr}, {"hint", nullptr}}}});
  return {{"inputs", Inputs},
          {"outputs", Outputs},
          {"nodes", Nodes},
          {"tensor_values", Values},
          {"sym_int_values", SymInts},
          {"sym_bool_values", SymBools},
          {"is_single_tensor_return", G.IsSingleTensorReturn},
          {"custom_obj_values", json::object()},
          {"sym_float_values", json::object()}};
}

json inputSpec(const InputSpec &S) {
  json Ref = {{"name", S.Arg.S}};
  switch (S.Kind) {
  case InputKind::UserInput: return {{"user_input", {{"arg", argument(S.Arg)}}}};
  case InputKind::Parameter:
    return {{"parameter", {{"arg", Ref}, {"parameter_name", S.Target}}}};
  case InputKind::Buffer:
    return {{"buffer", {{"arg", Ref}, {"buffer_name", S.Target}, {"persistent", S.Persistent}}}};
  case InputKind::TensorConstant:
    return {{"tensor_constant", {{"arg", Ref}, {"tensor_constant_name", S.Target}}}};
  case InputKind::CustomObj:
    return {{"custom_obj", {{"arg", {{"name", S.Arg.S}, {"class_fqn", S.Arg.S2}}},
                            {"custom_obj_name", S.Target}}}};
  case InputKind::Token: return {{"token", {{"arg", Ref}}}};
  case InputKind::ConstantInput:
    return {{"constant_input", {{"name", S.Target}, {"value", argument(S.Arg)}}}};
  }
  return {};
}

json outputSpec(const OutputSpec &S) {
  json Ref = {{"name", S.Arg.S}};
  switch (S.Kind) {
  case OutputKind::UserOutput: return {{"user_output", {{"arg", argument(S.Arg)}}}};
  case OutputKind::LossOutput: return {{"loss_output", {{"arg", Ref}}}};
  case OutputKind::BufferMutation:
    return {{"buffer_mutation", {{"arg", Ref}, {"buffer_name", S.Target}}}};
  case OutputKind::GradientToParameter:
    return {{"gradient_to_parameter", {{"arg", Ref}, {"parameter_name", S.Target}}}};
  case OutputKind::GradientToUserInput:
    return {{"gradient_to_user_input", {{"arg", Ref}, {"user_input_name", S.Target}}}};
  case OutputKind::UserInputMutation:
    return {{"user_input_mutation", {{"arg", Ref}, {"user_input_name", S.Target}}}};
  case OutputKind::Token: return {{"token", {{"arg", Ref}}}};
  case OutputKind::ParameterMutation:
    return {{"parameter_mutation", {{"arg", Ref}, {"parameter_name", S.Target}}}};
  }
  return {};
}

/// The pytree spec torch writes for forward(*args) -> one tensor or a tuple.
std::string leafTuple(size_t N) {
  std::string Leaves;
  for (size_t I = 0; I < N; ++I)
    Leaves += std::string(I ? ", " : "") + "{\"type\": null, \"context\": null, \"children_spec\": []}";
  return "{\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [" + Leaves + "]}";
}

} // namespace

std::string atalla::frontend::writeTensorMetaJson(const TensorMeta &T) {
  return pyDump(tensorMeta(T));
}

std::string atalla::frontend::writePayloadConfigJson(const std::vector<PayloadMeta> &Entries) {
  json C = json::object();
  for (const PayloadMeta &P : Entries)
    C[P.Fqn] = {{"path_name", P.PathName},
                {"is_param", P.IsParam},
                {"use_pickle", P.UsePickle},
                {"tensor_meta", P.HasTensorMeta ? tensorMeta(P.Meta) : json(nullptr)}};
  return pyDump(json({{"config", C}}));
}

std::string atalla::frontend::writeExportedProgramJson(const Model &M) {
  json Ins = json::array(), Outs = json::array();
  for (const InputSpec &S : M.InputSpecs)
    Ins.push_back(inputSpec(S));
  for (const OutputSpec &S : M.OutputSpecs)
    Outs.push_back(outputSpec(S));
  json MCG = json::array();
  if (M.ModuleCallGraph.empty()) {
    size_t NOut = M.userOutputNames().size();
    std::vector<std::string> Args = M.forwardArgNames();
    json Sig = {{"inputs", json::array()},
                {"outputs", json::array()},
                {"in_spec", "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [" +
                                leafTuple(Args.size()) +
                                ", {\"type\": \"builtins.dict\", \"context\": \"[]\", \"children_spec\": []}]}]"},
                {"out_spec", NOut == 1 ? "[1, {\"type\": null, \"context\": null, \"children_spec\": []}]"
                                       : "[1, " + leafTuple(NOut) + "]"},
                {"forward_arg_names", Args}};
    MCG.push_back({{"fqn", ""}, {"signature", Sig}});
  } else {
    for (const ModuleCallEntry &E : M.ModuleCallGraph) {
      json Sig = nullptr;
      if (E.HasSignature) {
        Sig = {{"inputs", json::array()}, {"outputs", json::array()}, {"in_spec", E.InSpec},
               {"out_spec", E.OutSpec}};
        Sig["forward_arg_names"] = E.ForwardArgNames.empty() ? json(nullptr) : json(E.ForwardArgNames);
      }
      MCG.push_back({{"fqn", E.Fqn}, {"signature", Sig}});
    }
  }
  json RC = json::object();
  for (const auto &[Sym, R] : M.RangeConstraints)
    RC[Sym] = {{"min_val", R.Min ? json(*R.Min) : json(nullptr)},
               {"max_val", R.Max ? json(*R.Max) : json(nullptr)}};
  json Opset = json::object();
  for (const auto &[K, V] : M.OpsetVersion)
    Opset[K] = V;
  if (Opset.empty())
    Opset["aten"] = 10;
  json GM = {{"graph", graphJson(M.G)},
             {"signature", {{"input_specs", Ins}, {"output_specs", Outs}}},
             {"module_call_graph", MCG},
             {"metadata", json::object()},
             {"treespec_namedtuple_fields", json::object()}};
  json Top = {{"graph_module", GM},
              {"opset_version", Opset},
              {"range_constraints", RC},
              {"schema_version", {{"major", WrittenSchemaMajor}, {"minor", WrittenSchemaMinor}}},
              {"verifiers", M.Verifiers.empty() ? json::array({"TRAINING"}) : json(M.Verifiers)},
              {"torch_version", M.TorchVersion.empty() ? "2.12.0" : M.TorchVersion},
              {"guards_code", json::array()}};
  return pyDump(Top);
}
