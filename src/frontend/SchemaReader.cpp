//===- frontend/SchemaReader.cpp - model.json to the typed Graph ----------===//
//
// The JSON is walked with a small "reader" that carries the path of the value
// being read, so every message says where the archive is wrong
// ("model.json: graph_module.graph.nodes[3].inputs[1].arg: unknown argument
// tag 'as_foo'"). Internally a failure throws SchemaError; the public entry
// points turn it into an llvm::Error, so no exception escapes this file.
//
//===----------------------------------------------------------------------===//
#include "frontend/SchemaReader.h"

#include "frontend/Error.h"
#include "frontend/OpSchema.h"

#include "llvm/ADT/StringExtras.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <optional>
#include <limits>
#include <regex>

using namespace atalla::frontend;
using json = nlohmann::ordered_json;

namespace {

struct SchemaError {
  std::string Path;
  std::string Msg;
};

[[noreturn]] void fail(const std::string &Path, const std::string &Msg) {
  throw SchemaError{Path, Msg};
}

const char *typeName(const json &J) {
  return J.type_name();
}

/// Refuses JSON nested deeper than \p Max before nlohmann (recursive) sees it.
llvm::Error checkDepth(llvm::StringRef Text, unsigned Max, llvm::StringRef Where) {
  unsigned Depth = 0;
  bool InString = false, Escape = false;
  for (size_t I = 0; I < Text.size(); ++I) {
    char C = Text[I];
    if (InString) {
      if (Escape)
        Escape = false;
      else if (C == '\\')
        Escape = true;
      else if (C == '"')
        InString = false;
      continue;
    }
    if (C == '"')
      InString = true;
    else if (C == '[' || C == '{') {
      if (++Depth > Max)
        return makeError(Where + ": JSON nested deeper than " + llvm::Twine(Max) +
                         " levels at byte " + llvm::Twine(I));
    } else if ((C == ']' || C == '}') && Depth > 0)
      --Depth;
  }
  return llvm::Error::success();
}

/// torch 2.1-2.6 wrote non-finite floats with Python's json defaults: the
/// bare tokens NaN, Infinity and -Infinity, which are not JSON (torch >= 2.7
/// writes the strings "NaN", "Infinity", "-Infinity"). Outside strings,
/// where JSON has no other bare words but true, false and null, each such
/// token becomes its string form, which the readers of float fields take;
/// \p Text is returned unchanged (and not copied) when it has none.
std::optional<std::string> quoteNonFiniteTokens(llvm::StringRef Text) {
  std::string Out;
  bool InString = false, Changed = false;
  size_t Last = 0;
  for (size_t I = 0; I < Text.size(); ++I) {
    const char C = Text[I];
    if (InString) {
      if (C == '\\')
        ++I;
      else if (C == '"')
        InString = false;
      continue;
    }
    if (C == '"') {
      InString = true;
      continue;
    }
    for (llvm::StringRef Tok : {"-Infinity", "Infinity", "NaN"}) {
      if (!Text.substr(I).starts_with(Tok))
        continue;
      const size_t End = I + Tok.size();
      if (End < Text.size() && (std::isalnum(static_cast<unsigned char>(Text[End])) || Text[End] == '_'))
        continue;
      Out.append(Text.data() + Last, I - Last);
      Out += '"';
      Out += Tok.str();
      Out += '"';
      Last = End;
      I = End - 1;
      Changed = true;
      break;
    }
  }
  if (!Changed)
    return std::nullopt;
  Out.append(Text.data() + Last, Text.size() - Last);
  return Out;
}

llvm::Expected<json> parseJson(llvm::StringRef Text, llvm::StringRef Where, unsigned MaxDepth) {
  if (llvm::Error E = checkDepth(Text, MaxDepth, Where))
    return E;
  std::optional<std::string> Quoted = quoteNonFiniteTokens(Text);
  if (Quoted)
    Text = *Quoted;
  // Parse with exceptions, and catch every kind: besides parse_error, the
  // parser throws out_of_range for a number too large for a double
  // ("2318e17039476560219916139", found by tests/fuzz/fuzz_weights_config).
  try {
    return json::parse(Text.begin(), Text.end());
  } catch (const json::parse_error &PE) {
    return makeError(Where + ": malformed JSON at byte " + llvm::Twine(PE.byte) + ": " + PE.what());
  } catch (const json::exception &E) {
    return makeError(Where + ": malformed JSON: " + E.what());
  }
}

//===-- Typed accessors ---------------------------------------------------===//

const json &field(const json &J, const std::string &Path, const char *Key) {
  if (!J.is_object())
    fail(Path, std::string("expected an object, got ") + typeName(J));
  auto It = J.find(Key);
  if (It == J.end())
    fail(Path, std::string("missing field '") + Key + "'");
  return *It;
}

const json *optField(const json &J, const char *Key) {
  if (!J.is_object())
    return nullptr;
  auto It = J.find(Key);
  if (It == J.end() || It->is_null())
    return nullptr;
  return &*It;
}

std::string sub(const std::string &Path, const char *Key) { return Path + "." + Key; }
std::string idx(const std::string &Path, size_t I) { return Path + "[" + std::to_string(I) + "]"; }

int64_t asInt(const json &J, const std::string &Path) {
  if (J.is_number_integer())
    return J.get<int64_t>();
  if (J.is_number_unsigned()) {
    uint64_t U = J.get<uint64_t>();
    if (U > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(Path, "integer out of range");
    return static_cast<int64_t>(U);
  }
  if (J.is_boolean())
    return J.get<bool>();
  fail(Path, std::string("expected an integer, got ") + typeName(J));
}

double asFloat(const json &J, const std::string &Path) {
  if (J.is_number())
    return J.get<double>();
  // torch writes non-finite floats as strings.
  if (J.is_string()) {
    std::string S = J.get<std::string>();
    if (S == "Infinity" || S == "inf")
      return std::numeric_limits<double>::infinity();
    if (S == "-Infinity" || S == "-inf")
      return -std::numeric_limits<double>::infinity();
    if (S == "NaN" || S == "nan")
      return std::numeric_limits<double>::quiet_NaN();
  }
  fail(Path, std::string("expected a number, got ") + typeName(J));
}

bool asBool(const json &J, const std::string &Path) {
  if (J.is_boolean())
    return J.get<bool>();
  fail(Path, std::string("expected a boolean, got ") + typeName(J));
}

std::string asString(const json &J, const std::string &Path) {
  if (J.is_string())
    return J.get<std::string>();
  fail(Path, std::string("expected a string, got ") + typeName(J));
}

const json &asArray(const json &J, const std::string &Path) {
  if (!J.is_array())
    fail(Path, std::string("expected an array, got ") + typeName(J));
  return J;
}

const json &asObject(const json &J, const std::string &Path) {
  if (!J.is_object())
    fail(Path, std::string("expected an object, got ") + typeName(J));
  return J;
}

/// A union value: one key (2.3+), or every tag present with the unused ones
/// null (2.2 and earlier). A union whose only non-null tag is absent is
/// "as_none" when that tag exists (2.2 writes as_none's payload as null).
std::pair<std::string, const json *> unionTag(const json &J, const std::string &Path) {
  asObject(J, Path);
  std::string Tag;
  const json *Val = nullptr;
  for (auto It = J.begin(); It != J.end(); ++It) {
    if (It->is_null())
      continue;
    if (Val)
      fail(Path, "union has two tags set: '" + Tag + "' and '" + It.key() + "'");
    Tag = It.key();
    Val = &*It;
  }
  if (!Val) {
    static const json Null;
    if (J.contains("as_none"))
      return {"as_none", &Null};
    if (J.size() == 1)
      return {J.begin().key(), &Null};
    fail(Path, "union has no tag set");
  }
  return {Tag, Val};
}

//===-- Schema structures -------------------------------------------------===//

std::string symName(const json &J, const std::string &Path) {
  // SymExpr {expr_str, hint} (2.3+), or a bare string (early versions).
  if (J.is_string())
    return simplifySymbolicExpr(J.get<std::string>());
  return simplifySymbolicExpr(asString(field(J, Path, "expr_str"), sub(Path, "expr_str")));
}

SymDim readSymInt(const json &J, const std::string &Path) {
  if (J.is_number_integer() || J.is_number_unsigned())
    return SymDim::concrete(asInt(J, Path)); // 2.2's storage_offset is a bare int.
  auto [Tag, V] = unionTag(J, Path);
  if (Tag == "as_int")
    return SymDim::concrete(asInt(*V, sub(Path, "as_int")));
  if (Tag == "as_expr") {
    SymDim D;
    D.Expr = symName(*V, sub(Path, "as_expr"));
    if (V->is_object())
      if (const json *H = optField(*V, "hint")) {
        if (H->is_number_integer())
          D.Hint = H->get<int64_t>();
        else {
          auto [HTag, HV] = unionTag(*H, sub(Path, "as_expr.hint"));
          if (HTag == "as_int")
            D.Hint = asInt(*HV, sub(Path, "as_expr.hint.as_int"));
        }
      }
    return D;
  }
  if (Tag == "as_bool") // SymBool's concrete form.
    return SymDim::concrete(asBool(*V, sub(Path, "as_bool")));
  if (Tag == "as_float")
    return SymDim::concrete(static_cast<int64_t>(asFloat(*V, sub(Path, "as_float"))));
  fail(Path, "unknown symbolic value tag '" + Tag + "'");
}

Device readDevice(const json &J, const std::string &Path) {
  Device D;
  D.Type = asString(field(J, Path, "type"), sub(Path, "type"));
  if (const json *I = optField(J, "index"))
    D.Index = asInt(*I, sub(Path, "index"));
  return D;
}

ScalarType readScalarType(const json &J, const std::string &Path) {
  int64_t N = asInt(J, Path);
  auto T = scalarTypeFromSchema(N);
  if (!T)
    fail(Path, "unknown ScalarType " + std::to_string(N));
  return *T;
}

TensorMeta readTensorMeta(const json &JIn, const std::string &PathIn) {
  // 2.1 wraps it: TensorValue {meta: TensorMeta}.
  const json *JP = &JIn;
  std::string Path = PathIn;
  if (JIn.is_object() && JIn.contains("meta") && !JIn.contains("dtype")) {
    JP = &JIn["meta"];
    Path = sub(PathIn, "meta");
  }
  const json &J = *JP;
  asObject(J, Path);
  TensorMeta M;
  M.Dtype = readScalarType(field(J, Path, "dtype"), sub(Path, "dtype"));
  const json &Sizes = asArray(field(J, Path, "sizes"), sub(Path, "sizes"));
  for (size_t I = 0; I < Sizes.size(); ++I)
    M.Sizes.push_back(readSymInt(Sizes[I], idx(sub(Path, "sizes"), I)));
  if (const json *Strides = optField(J, "strides")) {
    asArray(*Strides, sub(Path, "strides"));
    for (size_t I = 0; I < Strides->size(); ++I)
      M.Strides.push_back(readSymInt((*Strides)[I], idx(sub(Path, "strides"), I)));
  }
  if (const json *Off = optField(J, "storage_offset"))
    M.StorageOffset = readSymInt(*Off, sub(Path, "storage_offset"));
  if (const json *R = optField(J, "requires_grad"))
    M.RequiresGrad = asBool(*R, sub(Path, "requires_grad"));
  if (const json *D = optField(J, "device"))
    M.Dev = readDevice(*D, sub(Path, "device"));
  if (const json *L = optField(J, "layout"))
    M.Layout = asInt(*L, sub(Path, "layout"));
  return M;
}

struct Reader {
  unsigned GraphDepth = 0;
  uint64_t MaxNodes = ~0ull;

  Argument readSymListElem(const json &J, const std::string &Path, ArgKind NameKind) {
    auto [Tag, V] = unionTag(J, Path);
    Argument A;
    if (Tag == "as_name") {
      A.Kind = NameKind;
      A.S = asString(*V, sub(Path, "as_name"));
    } else if (Tag == "as_int") {
      A = Argument::integer(asInt(*V, sub(Path, "as_int")));
    } else if (Tag == "as_float") {
      A = Argument::real(asFloat(*V, sub(Path, "as_float")));
    } else if (Tag == "as_bool") {
      A = Argument::boolean(asBool(*V, sub(Path, "as_bool")));
    } else {
      fail(Path, "unknown symbolic argument tag '" + Tag + "'");
    }
    return A;
  }

  Argument readOptionalTensor(const json &J, const std::string &Path) {
    auto [Tag, V] = unionTag(J, Path);
    if (Tag == "as_none")
      return Argument::none();
    if (Tag == "as_tensor")
      return Argument::tensor(asString(field(*V, sub(Path, "as_tensor"), "name"),
                                       sub(Path, "as_tensor.name")));
    fail(Path, "unknown optional-tensor tag '" + Tag + "'");
  }

  Argument readArgument(const json &J, const std::string &Path) {
    auto [Tag, VP] = unionTag(J, Path);
    const json &V = *VP;
    std::string P = sub(Path, Tag.c_str());
    Argument A;
    auto listOf = [&](ArgKind K, auto &&Elem) {
      A.Kind = K;
      asArray(V, P);
      for (size_t I = 0; I < V.size(); ++I)
        A.Elems.push_back(Elem(V[I], idx(P, I)));
    };
    auto tensorRef = [&](const json &E, const std::string &EP) {
      return Argument::tensor(asString(field(E, EP, "name"), sub(EP, "name")));
    };
    if (Tag == "as_none") {
      A.Kind = ArgKind::None;
    } else if (Tag == "as_tensor") {
      A = tensorRef(V, P);
    } else if (Tag == "as_tensors") {
      listOf(ArgKind::Tensors, tensorRef);
    } else if (Tag == "as_int") {
      A = Argument::integer(asInt(V, P));
    } else if (Tag == "as_ints") {
      listOf(ArgKind::Ints, [&](const json &E, const std::string &EP) {
        return Argument::integer(asInt(E, EP));
      });
    } else if (Tag == "as_float") {
      A = Argument::real(asFloat(V, P));
    } else if (Tag == "as_floats") {
      listOf(ArgKind::Floats, [&](const json &E, const std::string &EP) {
        return Argument::real(asFloat(E, EP));
      });
    } else if (Tag == "as_string") {
      A = Argument::string(asString(V, P));
    } else if (Tag == "as_strings") {
      listOf(ArgKind::Strings, [&](const json &E, const std::string &EP) {
        return Argument::string(asString(E, EP));
      });
    } else if (Tag == "as_sym_int") {
      A = readSymListElem(V, P, ArgKind::SymInt);
    } else if (Tag == "as_sym_ints") {
      listOf(ArgKind::SymInts, [&](const json &E, const std::string &EP) {
        return readSymListElem(E, EP, ArgKind::SymInt);
      });
    } else if (Tag == "as_sym_float") {
      A = readSymListElem(V, P, ArgKind::SymFloat);
    } else if (Tag == "as_sym_floats") {
      listOf(ArgKind::SymFloats, [&](const json &E, const std::string &EP) {
        return readSymListElem(E, EP, ArgKind::SymFloat);
      });
    } else if (Tag == "as_bool") {
      A = Argument::boolean(asBool(V, P));
    } else if (Tag == "as_bools") {
      listOf(ArgKind::Bools, [&](const json &E, const std::string &EP) {
        return Argument::boolean(asBool(E, EP));
      });
    } else if (Tag == "as_sym_bool") {
      A = readSymListElem(V, P, ArgKind::SymBool);
    } else if (Tag == "as_sym_bools") {
      listOf(ArgKind::SymBools, [&](const json &E, const std::string &EP) {
        return readSymListElem(E, EP, ArgKind::SymBool);
      });
    } else if (Tag == "as_scalar_type") {
      A = Argument::scalarType(readScalarType(V, P));
    } else if (Tag == "as_memory_format") {
      A.Kind = ArgKind::MemoryFormat;
      A.I = asInt(V, P);
    } else if (Tag == "as_layout") {
      A.Kind = ArgKind::Layout;
      A.I = asInt(V, P);
    } else if (Tag == "as_device") {
      A.Kind = ArgKind::Device;
      A.Dev = readDevice(V, P);
    } else if (Tag == "as_optional_tensor") {
      A.Kind = ArgKind::OptionalTensor;
      A.Elems.push_back(readOptionalTensor(V, P));
    } else if (Tag == "as_optional_tensors") {
      listOf(ArgKind::OptionalTensors, [&](const json &E, const std::string &EP) {
        return readOptionalTensor(E, EP);
      });
    } else if (Tag == "as_graph") {
      A.Kind = ArgKind::Graph;
      A.S = asString(field(V, P, "name"), sub(P, "name"));
      A.Sub = std::make_shared<Graph>(readGraph(field(V, P, "graph"), sub(P, "graph")));
    } else if (Tag == "as_custom_obj") {
      A.Kind = ArgKind::CustomObj;
      A.S = asString(field(V, P, "name"), sub(P, "name"));
      A.S2 = asString(field(V, P, "class_fqn"), sub(P, "class_fqn"));
    } else if (Tag == "as_operator") {
      A.Kind = ArgKind::Operator;
      A.S = V.is_string() ? V.get<std::string>()
                          : asString(field(V, P, "name"), sub(P, "name"));
    } else if (Tag == "as_complex") {
      A.Kind = ArgKind::Complex;
      A.F = asFloat(field(V, P, "real"), sub(P, "real"));
      A.Imag = asFloat(field(V, P, "imag"), sub(P, "imag"));
    } else if (Tag == "as_nested_tensors") {
      listOf(ArgKind::NestedTensors, [&](const json &E, const std::string &EP) {
        Argument L;
        L.Kind = ArgKind::Tensors;
        asArray(E, EP);
        for (size_t I = 0; I < E.size(); ++I)
          L.Elems.push_back(tensorRef(E[I], idx(EP, I)));
        return L;
      });
    } else if (Tag == "as_int_lists") {
      listOf(ArgKind::IntLists, [&](const json &E, const std::string &EP) {
        Argument L;
        L.Kind = ArgKind::Ints;
        asArray(E, EP);
        for (size_t I = 0; I < E.size(); ++I)
          L.Elems.push_back(Argument::integer(asInt(E[I], idx(EP, I))));
        return L;
      });
    } else if (Tag == "as_string_to_argument") {
      A.Kind = ArgKind::StringToArgument;
      asObject(V, P);
      for (auto It = V.begin(); It != V.end(); ++It) {
        A.Keys.push_back(It.key());
        A.Elems.push_back(readArgument(*It, P + "['" + It.key() + "']"));
      }
    } else {
      fail(Path, "unknown argument tag '" + Tag + "'");
    }
    return A;
  }

  void splitTarget(Node &N, const std::string &Path) {
    llvm::StringRef T = N.Target;
    if (T.consume_front("torch.ops.")) {
      llvm::SmallVector<llvm::StringRef, 4> Parts;
      T.split(Parts, '.');
      if (Parts.size() < 2 || Parts.size() > 3)
        fail(Path, "cannot parse operator target '" + N.Target + "'");
      N.Ns = Parts[0].str();
      N.Op = Parts[1].str();
      N.Overload = Parts.size() == 3 && Parts[2] != "default" ? Parts[2].str() : "";
    }
  }

  Node readNode(const json &J, const std::string &Path) {
    asObject(J, Path);
    Node N;
    const json &T = field(J, Path, "target");
    // An early draft wrote the target as Operator {name, version}.
    N.Target = T.is_object() ? asString(field(T, sub(Path, "target"), "name"), sub(Path, "target.name"))
                             : asString(T, sub(Path, "target"));
    splitTarget(N, sub(Path, "target"));
    const json &Ins = asArray(field(J, Path, "inputs"), sub(Path, "inputs"));
    for (size_t I = 0; I < Ins.size(); ++I) {
      std::string IP = idx(sub(Path, "inputs"), I);
      NamedArgument NA;
      NA.Name = asString(field(Ins[I], IP, "name"), sub(IP, "name"));
      NA.Arg = readArgument(field(Ins[I], IP, "arg"), sub(IP, "arg"));
      if (const json *K = optField(Ins[I], "kind"))
        NA.Passing = static_cast<ArgPassing>(asInt(*K, sub(IP, "kind")));
      N.Inputs.push_back(std::move(NA));
    }
    const json &Outs = asArray(field(J, Path, "outputs"), sub(Path, "outputs"));
    for (size_t I = 0; I < Outs.size(); ++I)
      N.Outputs.push_back(readArgument(Outs[I], idx(sub(Path, "outputs"), I)));
    if (const json *Meta = optField(J, "metadata")) {
      asObject(*Meta, sub(Path, "metadata"));
      for (auto It = Meta->begin(); It != Meta->end(); ++It)
        if (It->is_string())
          N.Metadata[It.key()] = It->get<std::string>();
    }
    if (const json *Name = optField(J, "name"))
      N.Name = asString(*Name, sub(Path, "name"));
    if (N.Name.empty()) {
      // Before 8.x nodes had no name: FX named them after their first output.
      std::vector<std::string> Names;
      for (const Argument &O : N.Outputs)
        O.collectTensorNames(Names);
      for (const Argument &O : N.Outputs)
        if ((O.Kind == ArgKind::SymInt || O.Kind == ArgKind::SymBool) && Names.empty())
          Names.push_back(O.S);
      N.Name = Names.empty() ? N.Op : Names.front();
    }
    return N;
  }

  Graph readGraph(const json &J, const std::string &Path) {
    if (++GraphDepth > 32)
      fail(Path, "subgraphs nested deeper than 32 levels");
    asObject(J, Path);
    Graph G;
    const json &Ins = asArray(field(J, Path, "inputs"), sub(Path, "inputs"));
    for (size_t I = 0; I < Ins.size(); ++I)
      G.Inputs.push_back(readArgument(Ins[I], idx(sub(Path, "inputs"), I)));
    const json &Outs = asArray(field(J, Path, "outputs"), sub(Path, "outputs"));
    for (size_t I = 0; I < Outs.size(); ++I)
      G.Outputs.push_back(readArgument(Outs[I], idx(sub(Path, "outputs"), I)));
    const json &Nodes = asArray(field(J, Path, "nodes"), sub(Path, "nodes"));
    if (Nodes.size() > MaxNodes)
      fail(sub(Path, "nodes"), "the graph has " + std::to_string(Nodes.size()) + " nodes, more than the limit of " +
                                   std::to_string(MaxNodes));
    for (size_t I = 0; I < Nodes.size(); ++I)
      G.Nodes.push_back(readNode(Nodes[I], idx(sub(Path, "nodes"), I)));
    const json &TV = asObject(field(J, Path, "tensor_values"), sub(Path, "tensor_values"));
    for (auto It = TV.begin(); It != TV.end(); ++It)
      G.Values[It.key()] = readTensorMeta(*It, sub(Path, "tensor_values") + "['" + It.key() + "']");
    if (const json *SI = optField(J, "sym_int_values"))
      for (auto It = asObject(*SI, sub(Path, "sym_int_values")).begin(); It != SI->end(); ++It)
        G.SymInts[It.key()] = readSymInt(*It, sub(Path, "sym_int_values") + "['" + It.key() + "']");
    if (const json *SB = optField(J, "sym_bool_values"))
      for (auto It = asObject(*SB, sub(Path, "sym_bool_values")).begin(); It != SB->end(); ++It)
        G.SymBools[It.key()] = readSymInt(*It, sub(Path, "sym_bool_values") + "['" + It.key() + "']");
    if (const json *S = optField(J, "is_single_tensor_return"))
      G.IsSingleTensorReturn = asBool(*S, sub(Path, "is_single_tensor_return"));
    --GraphDepth;
    return G;
  }

  std::string tensorArgName(const json &J, const std::string &Path) {
    return asString(field(J, Path, "name"), sub(Path, "name"));
  }

  void readSignature(const json &J, const std::string &Path, Model &M) {
    asObject(J, Path);
    if (!J.contains("input_specs")) {
      readOldSignature(J, Path, M);
      return;
    }
    const json &Ins = asArray(field(J, Path, "input_specs"), sub(Path, "input_specs"));
    for (size_t I = 0; I < Ins.size(); ++I) {
      std::string P = idx(sub(Path, "input_specs"), I);
      auto [Tag, V] = unionTag(Ins[I], P);
      std::string VP = sub(P, Tag.c_str());
      InputSpec S;
      if (Tag == "user_input") {
        S.Kind = InputKind::UserInput;
        S.Arg = readArgument(field(*V, VP, "arg"), sub(VP, "arg"));
      } else if (Tag == "parameter") {
        S.Kind = InputKind::Parameter;
        S.Arg = Argument::tensor(tensorArgName(field(*V, VP, "arg"), sub(VP, "arg")));
        S.Target = asString(field(*V, VP, "parameter_name"), sub(VP, "parameter_name"));
      } else if (Tag == "buffer") {
        S.Kind = InputKind::Buffer;
        S.Arg = Argument::tensor(tensorArgName(field(*V, VP, "arg"), sub(VP, "arg")));
        S.Target = asString(field(*V, VP, "buffer_name"), sub(VP, "buffer_name"));
        if (const json *Pe = optField(*V, "persistent"))
          S.Persistent = asBool(*Pe, sub(VP, "persistent"));
      } else if (Tag == "tensor_constant") {
        S.Kind = InputKind::TensorConstant;
        S.Arg = Argument::tensor(tensorArgName(field(*V, VP, "arg"), sub(VP, "arg")));
        S.Target = asString(field(*V, VP, "tensor_constant_name"), sub(VP, "tensor_constant_name"));
      } else if (Tag == "custom_obj") {
        S.Kind = InputKind::CustomObj;
        S.Arg.Kind = ArgKind::CustomObj;
        S.Arg.S = tensorArgName(field(*V, VP, "arg"), sub(VP, "arg"));
        S.Target = asString(field(*V, VP, "custom_obj_name"), sub(VP, "custom_obj_name"));
      } else if (Tag == "token") {
        S.Kind = InputKind::Token;
        S.Arg = Argument::tensor(tensorArgName(field(*V, VP, "arg"), sub(VP, "arg")));
      } else if (Tag == "constant_input") {
        S.Kind = InputKind::ConstantInput;
        S.Target = asString(field(*V, VP, "name"), sub(VP, "name"));
        S.Arg = readArgument(field(*V, VP, "value"), sub(VP, "value"));
      } else {
        fail(P, "unknown input spec '" + Tag + "'");
      }
      M.InputSpecs.push_back(std::move(S));
    }
    const json &Outs = asArray(field(J, Path, "output_specs"), sub(Path, "output_specs"));
    for (size_t I = 0; I < Outs.size(); ++I) {
      std::string P = idx(sub(Path, "output_specs"), I);
      auto [Tag, V] = unionTag(Outs[I], P);
      std::string VP = sub(P, Tag.c_str());
      OutputSpec S;
      static const std::pair<const char *, std::pair<OutputKind, const char *>> Kinds[] = {
          {"user_output", {OutputKind::UserOutput, nullptr}},
          {"loss_output", {OutputKind::LossOutput, nullptr}},
          {"buffer_mutation", {OutputKind::BufferMutation, "buffer_name"}},
          {"gradient_to_parameter", {OutputKind::GradientToParameter, "parameter_name"}},
          {"gradient_to_user_input", {OutputKind::GradientToUserInput, "user_input_name"}},
          {"user_input_mutation", {OutputKind::UserInputMutation, "user_input_name"}},
          {"token", {OutputKind::Token, nullptr}},
          {"parameter_mutation", {OutputKind::ParameterMutation, "parameter_name"}},
      };
      bool Found = false;
      for (const auto &[Name, KT] : Kinds) {
        if (Tag != Name)
          continue;
        Found = true;
        S.Kind = KT.first;
        const json &Arg = field(*V, VP, "arg");
        S.Arg = S.Kind == OutputKind::UserOutput
                    ? readArgument(Arg, sub(VP, "arg"))
                    : Argument::tensor(tensorArgName(Arg, sub(VP, "arg")));
        if (KT.second)
          S.Target = asString(field(*V, VP, KT.second), sub(VP, KT.second));
      }
      if (!Found)
        fail(P, "unknown output spec '" + Tag + "'");
      M.OutputSpecs.push_back(std::move(S));
    }
  }

  /// torch 2.1: {inputs_to_parameters, inputs_to_buffers, user_inputs,
  /// user_outputs, buffers_to_mutate, backward_signature}.
  void readOldSignature(const json &J, const std::string &Path, Model &M) {
    auto nameMap = [&](const char *Key) {
      std::map<std::string, std::string> Out;
      if (const json *O = optField(J, Key))
        for (auto It = asObject(*O, sub(Path, Key)).begin(); It != O->end(); ++It)
          Out[It.key()] = asString(*It, sub(Path, Key) + "['" + It.key() + "']");
      return Out;
    };
    auto Params = nameMap("inputs_to_parameters");
    auto Buffers = nameMap("inputs_to_buffers");
    auto Mutations = nameMap("buffers_to_mutate");
    std::vector<std::string> UserOutputs;
    const json &UO = asArray(field(J, Path, "user_outputs"), sub(Path, "user_outputs"));
    for (size_t I = 0; I < UO.size(); ++I)
      UserOutputs.push_back(asString(UO[I], idx(sub(Path, "user_outputs"), I)));
    for (const Argument &In : M.G.Inputs) {
      InputSpec S;
      S.Arg = In;
      if (auto It = Params.find(In.S); It != Params.end()) {
        S.Kind = InputKind::Parameter;
        S.Target = It->second;
      } else if (auto It = Buffers.find(In.S); It != Buffers.end()) {
        S.Kind = InputKind::Buffer;
        S.Target = It->second;
      }
      M.InputSpecs.push_back(std::move(S));
    }
    for (const Argument &Out : M.G.Outputs) {
      OutputSpec S;
      S.Arg = Out;
      if (auto It = Mutations.find(Out.S); It != Mutations.end()) {
        S.Kind = OutputKind::BufferMutation;
        S.Target = It->second;
      }
      M.OutputSpecs.push_back(std::move(S));
    }
  }

  void readModuleCallGraph(const json &J, const std::string &Path, Model &M) {
    asArray(J, Path);
    for (size_t I = 0; I < J.size(); ++I) {
      std::string P = idx(Path, I);
      ModuleCallEntry E;
      E.Fqn = asString(field(J[I], P, "fqn"), sub(P, "fqn"));
      if (const json *Sig = optField(J[I], "signature")) {
        E.HasSignature = true;
        std::string SP = sub(P, "signature");
        if (const json *In = optField(*Sig, "in_spec"))
          E.InSpec = asString(*In, sub(SP, "in_spec"));
        if (const json *Out = optField(*Sig, "out_spec"))
          E.OutSpec = asString(*Out, sub(SP, "out_spec"));
        if (const json *Names = optField(*Sig, "forward_arg_names")) {
          asArray(*Names, sub(SP, "forward_arg_names"));
          for (size_t K = 0; K < Names->size(); ++K)
            E.ForwardArgNames.push_back(asString((*Names)[K], idx(sub(SP, "forward_arg_names"), K)));
        }
      }
      M.ModuleCallGraph.push_back(std::move(E));
    }
  }

  void readProgram(const json &J, Model &M, bool FillDefaults) {
    const std::string Root = "";
    asObject(J, "(top level)");
    // Version first: an unknown major is refused before anything else is
    // interpreted, since the rest may mean something different.
    if (const json *SV = optField(J, "schema_version")) {
      if (SV->is_object()) {
        M.SchemaMajor = asInt(field(*SV, "schema_version", "major"), "schema_version.major");
        M.SchemaMinor = asInt(field(*SV, "schema_version", "minor"), "schema_version.minor");
      } else {
        M.SchemaMajor = asInt(*SV, "schema_version");
      }
    } else {
      M.SchemaMajor = 1; // torch 2.1 wrote none.
    }
    if (M.SchemaMajor < MinSchemaMajor || M.SchemaMajor > MaxSchemaMajor)
      fail("schema_version", "unsupported schema major version " +
                                 std::to_string(M.SchemaMajor) + " (this reader knows " +
                                 std::to_string(MinSchemaMajor) + " to " +
                                 std::to_string(MaxSchemaMajor) + ")");
    if (const json *TV = optField(J, "torch_version"))
      M.TorchVersion = asString(*TV, "torch_version");
    if (const json *D = optField(J, "dialect"))
      M.Dialect = asString(*D, "dialect");
    if (const json *V = optField(J, "verifiers")) {
      asArray(*V, "verifiers");
      for (size_t I = 0; I < V->size(); ++I)
        M.Verifiers.push_back(asString((*V)[I], idx("verifiers", I)));
    }
    if (const json *O = optField(J, "opset_version"))
      for (auto It = asObject(*O, "opset_version").begin(); It != O->end(); ++It)
        M.OpsetVersion[It.key()] = asInt(*It, "opset_version." + It.key());
    if (const json *RC = optField(J, "range_constraints"))
      for (auto It = asObject(*RC, "range_constraints").begin(); It != RC->end(); ++It) {
        std::string P = "range_constraints['" + It.key() + "']";
        RangeConstraint R;
        // Unbounded ends are null, or huge, or "int_oo" strings in some versions.
        if (const json *Min = optField(*It, "min_val"))
          if (Min->is_number_integer())
            R.Min = Min->get<int64_t>();
        if (const json *Max = optField(*It, "max_val"))
          if (Max->is_number_integer())
            R.Max = Max->get<int64_t>();
        M.RangeConstraints[simplifySymbolicExpr(It.key())] = R;
      }
    const json &GM = field(J, "", "graph_module");
    M.G = readGraph(field(GM, "graph_module", "graph"), "graph_module.graph");
    readSignature(field(GM, "graph_module", "signature"), "graph_module.signature", M);
    if (const json *MCG = optField(GM, "module_call_graph"))
      readModuleCallGraph(*MCG, "graph_module.module_call_graph", M);
    else if (const json *CS = optField(GM, "call_spec")) {
      ModuleCallEntry E; // torch 2.1: GraphModule.call_spec
      E.HasSignature = true;
      if (const json *In = optField(*CS, "in_spec"))
        E.InSpec = asString(*In, "graph_module.call_spec.in_spec");
      if (const json *Out = optField(*CS, "out_spec"))
        E.OutSpec = asString(*Out, "graph_module.call_spec.out_spec");
      M.ModuleCallGraph.push_back(E);
    }
    if (FillDefaults)
      for (Node &N : M.G.Nodes)
        fillDefaultArguments(N);
  }
};

llvm::Error toError(const SchemaError &E, llvm::StringRef Where) {
  return makeError(Where + ": " + (E.Path.empty() ? "" : E.Path + ": ") + E.Msg);
}

/// Converts a schema default ("None", "1", "[1, 1]", "True", "\"none\"",
/// "contiguous_format") to an Argument of the schema type.
std::optional<Argument> defaultArgument(const SchemaArg &SA) {
  if (!SA.Default)
    return std::nullopt;
  llvm::StringRef D = llvm::StringRef(*SA.Default).trim();
  SchemaType T = parseSchemaType(SA.Type);
  if (D == "None")
    return Argument::none();
  auto parseScalar = [&](llvm::StringRef Text, const std::string &Base) -> std::optional<Argument> {
    Text = Text.trim();
    if (Base == "bool") {
      if (Text == "True")
        return Argument::boolean(true);
      if (Text == "False")
        return Argument::boolean(false);
      return std::nullopt;
    }
    if (Base == "int" || Base == "SymInt") {
      int64_t V;
      if (Text.getAsInteger(10, V))
        return std::nullopt;
      return Argument::integer(V);
    }
    if (Base == "float" || Base == "Scalar" || Base == "SymFloat") {
      int64_t V;
      if (Base == "Scalar" && !Text.getAsInteger(10, V))
        return Argument::integer(V);
      double F;
      if (Text.getAsDouble(F))
        return std::nullopt;
      return Argument::real(F);
    }
    if (Base == "str") {
      if (Text.size() >= 2 && (Text.front() == '"' || Text.front() == '\''))
        return Argument::string(Text.drop_front().drop_back().str());
      return std::nullopt;
    }
    if (Base == "MemoryFormat") {
      Argument A;
      A.Kind = ArgKind::MemoryFormat;
      if (Text == "contiguous_format")
        A.I = 1;
      else if (Text == "channels_last")
        A.I = 2;
      else if (Text == "preserve_format")
        A.I = 4;
      else
        return std::nullopt;
      return A;
    }
    if (Base == "Layout" && Text == "strided") {
      Argument A;
      A.Kind = ArgKind::Layout;
      A.I = 7;
      return A;
    }
    return std::nullopt;
  };
  if (!T.List)
    return parseScalar(D, T.Base);
  ArgKind ListKind = T.Base == "int" || T.Base == "SymInt" ? ArgKind::Ints
                     : T.Base == "float"                  ? ArgKind::Floats
                     : T.Base == "bool"                   ? ArgKind::Bools
                                                          : ArgKind::None;
  if (ListKind == ArgKind::None)
    return std::nullopt;
  Argument A;
  A.Kind = ListKind;
  if (D.consume_front("[")) {
    if (!D.consume_back("]"))
      return std::nullopt;
    llvm::SmallVector<llvm::StringRef, 4> Parts;
    if (!D.trim().empty())
      D.split(Parts, ',');
    for (llvm::StringRef P : Parts) {
      auto E = parseScalar(P, T.Base == "SymInt" ? "int" : T.Base);
      if (!E)
        return std::nullopt;
      A.Elems.push_back(*E);
    }
    return A;
  }
  // "int[2] stride=1" means [1, 1].
  auto E = parseScalar(D, T.Base == "SymInt" ? "int" : T.Base);
  if (!E || T.FixedSize < 0)
    return std::nullopt;
  for (int I = 0; I < T.FixedSize; ++I)
    A.Elems.push_back(*E);
  return A;
}

} // namespace

std::string atalla::frontend::simplifySymbolicExpr(llvm::StringRef Expr) {
  // sympy srepr: Symbol('s77', positive=True, integer=True) -> s77,
  // Integer(3) -> 3.
  static const std::regex SymbolRe(R"(Symbol\('([^']*)'[^)]*\))");
  static const std::regex IntegerRe(R"(Integer\((-?[0-9]+)\))");
  std::string S = std::regex_replace(Expr.str(), SymbolRe, "$1");
  return std::regex_replace(S, IntegerRe, "$1");
}

void atalla::frontend::fillDefaultArguments(Node &N) {
  if (N.Ns != "aten")
    return;
  const OpSchema *S = lookupOpSchema(N.Op, N.Overload);
  if (!S)
    return;
  // Every given argument must be known to the schema; otherwise this export
  // comes from an op version we do not describe, and we leave it alone.
  for (const NamedArgument &A : N.Inputs) {
    bool Known = false;
    for (const SchemaArg &SA : S->Args)
      Known |= SA.Name == A.Name;
    if (!Known)
      return;
  }
  std::vector<NamedArgument> Ordered;
  for (const SchemaArg &SA : S->Args) {
    if (const NamedArgument *Given = N.input(SA.Name)) {
      Ordered.push_back(*Given);
      continue;
    }
    std::optional<Argument> D = defaultArgument(SA);
    if (!D)
      continue; // Required argument missing, or a default we cannot express.
    NamedArgument NA;
    NA.Name = SA.Name;
    NA.Arg = std::move(*D);
    NA.Passing = SA.KwargOnly ? ArgPassing::Keyword : ArgPassing::Positional;
    NA.Defaulted = true;
    Ordered.push_back(std::move(NA));
  }
  N.Inputs = std::move(Ordered);
}

llvm::Error atalla::frontend::readExportedProgramJson(llvm::StringRef Text, llvm::StringRef Where,
                                                      Model &M, const SchemaReaderOptions &Opts) {
  if (Text.size() > Opts.MaxJsonBytes)
    return makeError(Where + ": the program JSON is " + llvm::Twine(Text.size()) +
                     " bytes, more than the limit of " + llvm::Twine(Opts.MaxJsonBytes));
  auto J = parseJson(Text, Where, Opts.MaxJsonDepth);
  if (!J)
    return J.takeError();
  try {
    Reader R;
    R.MaxNodes = Opts.MaxNodes;
    R.readProgram(*J, M, Opts.FillDefaults);
  } catch (const SchemaError &E) {
    return toError(E, Where);
  } catch (const std::exception &E) {
    return makeError(Where + ": " + E.what());
  }
  return llvm::Error::success();
}

llvm::Expected<TensorMeta> atalla::frontend::readTensorMetaJson(llvm::StringRef Text,
                                                                llvm::StringRef Where) {
  auto J = parseJson(Text, Where, 64);
  if (!J)
    return J.takeError();
  try {
    return readTensorMeta(*J, "");
  } catch (const SchemaError &E) {
    return toError(E, Where);
  } catch (const std::exception &E) {
    return makeError(Where + ": " + E.what());
  }
}

llvm::Expected<std::vector<PayloadMeta>>
atalla::frontend::readPayloadConfigJson(llvm::StringRef Text, llvm::StringRef Where,
                                        unsigned MaxJsonDepth) {
  auto J = parseJson(Text, Where, MaxJsonDepth);
  if (!J)
    return J.takeError();
  std::vector<PayloadMeta> Out;
  try {
    const json &C = asObject(field(*J, "", "config"), "config");
    for (auto It = C.begin(); It != C.end(); ++It) {
      std::string P = "config['" + It.key() + "']";
      PayloadMeta PM;
      PM.Fqn = It.key();
      PM.PathName = asString(field(*It, P, "path_name"), sub(P, "path_name"));
      if (const json *V = optField(*It, "is_param"))
        PM.IsParam = asBool(*V, sub(P, "is_param"));
      if (const json *V = optField(*It, "use_pickle"))
        PM.UsePickle = asBool(*V, sub(P, "use_pickle"));
      if (const json *V = optField(*It, "tensor_meta")) {
        PM.HasTensorMeta = true;
        PM.Meta = readTensorMeta(*V, sub(P, "tensor_meta"));
      }
      Out.push_back(std::move(PM));
    }
  } catch (const SchemaError &E) {
    return toError(E, Where);
  } catch (const std::exception &E) {
    return makeError(Where + ": " + E.what());
  }
  return Out;
}
