//===- frontend/Printers.cpp - the seed demo's views of a graph -----------===//
#include "frontend/Printers.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

using namespace atalla::frontend;

std::string atalla::frontend::pythonFloat(double V) {
  if (std::isnan(V))
    return "nan";
  if (std::isinf(V))
    return V > 0 ? "inf" : "-inf";
  char Buf[40];
  for (int P = 1; P <= 17; ++P) {
    snprintf(Buf, sizeof(Buf), "%.*g", P, V);
    if (strtod(Buf, nullptr) == V)
      break;
  }
  std::string S = Buf;
  // Python writes exponents with at least two digits and always marks a
  // float: 4 -> 4.0, 1e-05 stays.
  if (S.find_first_of(".eEn") == std::string::npos)
    S += ".0";
  return S;
}

static std::string joinArgs(const std::vector<Argument> &Elems) {
  std::string S;
  for (size_t I = 0; I < Elems.size(); ++I) {
    if (I)
      S += ", ";
    S += formatArgument(Elems[I]);
  }
  return S;
}

std::string atalla::frontend::formatArgument(const Argument &A) {
  switch (A.Kind) {
  case ArgKind::None: return "None";
  case ArgKind::Tensor:
  case ArgKind::SymInt:
  case ArgKind::SymFloat:
  case ArgKind::SymBool:
    return A.S;
  case ArgKind::Int: return std::to_string(A.I);
  case ArgKind::Float: return pythonFloat(A.F);
  case ArgKind::Bool: return A.I ? "True" : "False";
  case ArgKind::String: return "'" + A.S + "'";
  case ArgKind::Operator: return A.S;
  case ArgKind::ScalarType: {
    auto T = scalarTypeFromSchema(A.I);
    return "torch." + (T ? scalarTypeName(*T).str() : std::to_string(A.I));
  }
  case ArgKind::MemoryFormat: {
    static const char *Names[] = {"unknown", "contiguous_format", "channels_last", "channels_last_3d",
                                  "preserve_format"};
    return std::string("torch.") + (A.I >= 0 && A.I <= 4 ? Names[A.I] : "unknown");
  }
  case ArgKind::Layout: {
    static const char *Names[] = {"unknown", "sparse_coo", "sparse_csr", "sparse_csc",
                                  "sparse_bsr", "sparse_bsc", "_mkldnn", "strided"};
    return std::string("torch.") + (A.I >= 0 && A.I <= 7 ? Names[A.I] : "unknown");
  }
  case ArgKind::Device:
    return "device(type='" + A.Dev.Type + "'" +
           (A.Dev.Index ? ", index=" + std::to_string(*A.Dev.Index) : "") + ")";
  case ArgKind::OptionalTensor:
    return A.Elems.empty() ? "None" : formatArgument(A.Elems[0]);
  case ArgKind::Graph: return A.S;
  case ArgKind::CustomObj: return A.S;
  case ArgKind::Complex: return "(" + pythonFloat(A.F) + "+" + pythonFloat(A.Imag) + "j)";
  case ArgKind::StringToArgument: {
    std::string S = "{";
    for (size_t I = 0; I < A.Elems.size(); ++I)
      S += (I ? ", '" : "'") + A.Keys[I] + "': " + formatArgument(A.Elems[I]);
    return S + "}";
  }
  case ArgKind::Tensors:
  case ArgKind::Ints:
  case ArgKind::Floats:
  case ArgKind::Strings:
  case ArgKind::SymInts:
  case ArgKind::SymFloats:
  case ArgKind::Bools:
  case ArgKind::SymBools:
  case ArgKind::OptionalTensors:
  case ArgKind::NestedTensors:
  case ArgKind::IntLists:
    return "[" + joinArgs(A.Elems) + "]";
  }
  return "?";
}

std::string atalla::frontend::formatShape(const std::vector<SymDim> &Dims) {
  std::string S = "[";
  for (size_t I = 0; I < Dims.size(); ++I) {
    if (I)
      S += ", ";
    S += Dims[I].isConcrete() ? std::to_string(*Dims[I].Value) : Dims[I].Expr;
  }
  return S + "]";
}

std::string atalla::frontend::formatShape(const std::vector<int64_t> &Dims) {
  std::string S = "[";
  for (size_t I = 0; I < Dims.size(); ++I)
    S += (I ? ", " : "") + std::to_string(Dims[I]);
  return S + "]";
}

namespace {

/// FX's short target: "aten.relu.default".
std::string shortTarget(const Node &N) {
  llvm::StringRef T = N.Target;
  T.consume_front("torch.ops.");
  return T.str();
}

/// Positional arguments as given in the archive (defaults filled by the
/// frontend are not printed: torch does not print them either).
std::string formatArgs(const Node &N) {
  std::vector<std::string> Parts;
  for (const NamedArgument &A : N.Inputs)
    if (!A.Defaulted && A.Passing != ArgPassing::Keyword)
      Parts.push_back(formatArgument(A.Arg));
  std::string S = "(" + llvm::join(Parts, ", ");
  return S + (Parts.size() == 1 ? ",)" : ")");
}

std::string formatKwargs(const Node &N) {
  std::vector<std::string> Parts;
  for (const NamedArgument &A : N.Inputs)
    if (!A.Defaulted && A.Passing == ArgPassing::Keyword)
      Parts.push_back("'" + A.Name + "': " + formatArgument(A.Arg));
  return "{" + llvm::join(Parts, ", ") + "}";
}

std::string outputsTuple(const Model &M) {
  std::vector<std::string> Names;
  for (const Argument &A : M.G.Outputs)
    Names.push_back(formatArgument(A));
  return "(" + llvm::join(Names, ", ") + (Names.size() == 1 ? ",)" : ")");
}

struct Row {
  std::string Opcode, Name, Target, Args, Kwargs;
};

std::vector<Row> tableRows(const Model &M) {
  std::vector<Row> Rows;
  for (const Argument &In : M.G.Inputs) {
    std::string N = formatArgument(In);
    Rows.push_back({"placeholder", N, N, "()", "{}"});
  }
  for (const Node &N : M.G.Nodes)
    Rows.push_back({"call_function", N.Name, shortTarget(N), formatArgs(N), formatKwargs(N)});
  Rows.push_back({"output", "output", "output", "(" + outputsTuple(M) + ",)", "{}"});
  return Rows;
}

} // namespace

void atalla::frontend::printTable(const Model &M, llvm::raw_ostream &OS) {
  std::vector<Row> Rows = tableRows(M);
  Row Head{"opcode", "name", "target", "args", "kwargs"};
  size_t W[5] = {Head.Opcode.size(), Head.Name.size(), Head.Target.size(), Head.Args.size(),
                 Head.Kwargs.size()};
  for (const Row &R : Rows) {
    W[0] = std::max(W[0], R.Opcode.size());
    W[1] = std::max(W[1], R.Name.size());
    W[2] = std::max(W[2], R.Target.size());
    W[3] = std::max(W[3], R.Args.size());
    W[4] = std::max(W[4], R.Kwargs.size());
  }
  auto line = [&](const Row &R) {
    OS << llvm::left_justify(R.Opcode, W[0]) << "  " << llvm::left_justify(R.Name, W[1]) << "  "
       << llvm::left_justify(R.Target, W[2]) << "  " << llvm::left_justify(R.Args, W[3]) << "  "
       << R.Kwargs << "\n";
  };
  line(Head);
  Row Dash{std::string(W[0], '-'), std::string(W[1], '-'), std::string(W[2], '-'),
           std::string(W[3], '-'), std::string(W[4], '-')};
  line(Dash);
  for (const Row &R : Rows)
    line(R);
}

void atalla::frontend::printNodes(const Model &M, llvm::raw_ostream &OS) {
  for (const Row &R : tableRows(M)) {
    OS << "Node: " << R.Name << "\n";
    OS << "  op: " << R.Opcode << "\n";
    OS << "  target: " << R.Target << "\n";
    OS << "  args: " << R.Args << "\n";
    OS << "  kwargs: " << R.Kwargs << "\n";
  }
}

void atalla::frontend::printCode(const Model &M, llvm::raw_ostream &OS) {
  std::vector<std::string> Params;
  for (const Argument &In : M.G.Inputs)
    Params.push_back(formatArgument(In));
  OS << "def forward(self" << (Params.empty() ? "" : ", ") << llvm::join(Params, ", ") << "):\n";
  // FX frees each value after its last use ("x = None"); so do we.
  std::map<std::string, size_t> LastUse;
  for (size_t I = 0; I < M.G.Nodes.size(); ++I) {
    std::vector<std::string> Names;
    for (const NamedArgument &A : M.G.Nodes[I].Inputs)
      A.Arg.collectTensorNames(Names);
    for (const std::string &N : Names)
      LastUse[N] = I;
  }
  std::set<std::string> Outputs;
  for (const Argument &O : M.G.Outputs) {
    std::vector<std::string> Names;
    O.collectTensorNames(Names);
    Outputs.insert(Names.begin(), Names.end());
  }
  for (size_t I = 0; I < M.G.Nodes.size(); ++I) {
    const Node &N = M.G.Nodes[I];
    std::vector<std::string> Outs;
    for (const Argument &O : N.Outputs)
      Outs.push_back(formatArgument(O));
    std::string Lhs = Outs.size() == 1 ? Outs[0] : (Outs.empty() ? "_" : N.Name);
    std::vector<std::string> CallArgs;
    for (const NamedArgument &A : N.Inputs) {
      if (A.Defaulted)
        continue;
      CallArgs.push_back(A.Passing == ArgPassing::Keyword ? A.Name + " = " + formatArgument(A.Arg)
                                                          : formatArgument(A.Arg));
    }
    OS << "    " << Lhs << " = " << N.Target << "(" << llvm::join(CallArgs, ", ") << ")";
    std::vector<std::string> Dead;
    std::set<std::string> Seen;
    std::vector<std::string> Names;
    for (const NamedArgument &A : N.Inputs)
      A.Arg.collectTensorNames(Names);
    for (const std::string &Name : Names)
      if (LastUse[Name] == I && !Outputs.count(Name) && Seen.insert(Name).second)
        Dead.push_back(Name);
    if (!Dead.empty())
      OS << ";  " << llvm::join(Dead, " = ") << " = None";
    OS << "\n";
  }
  OS << "    return " << outputsTuple(M) << "\n";
}

void atalla::frontend::printOps(const Model &M, llvm::raw_ostream &OS) {
  std::vector<std::string> Order;
  std::map<std::string, size_t> Count;
  for (const Node &N : M.G.Nodes)
    if (Count[N.Target]++ == 0)
      Order.push_back(N.Target);
  for (const std::string &T : Order)
    OS << Count[T] << " " << T << "\n";
}

static std::string describeValue(const Model &M, const std::string &Name) {
  const TensorMeta *Meta = M.G.meta(Name);
  if (!Meta)
    return "";
  return scalarTypeName(Meta->Dtype).str() + formatShape(Meta->Sizes);
}

void atalla::frontend::printSignature(const Model &M, llvm::raw_ostream &OS) {
  OS << "inputs:\n";
  for (const InputSpec &S : M.InputSpecs) {
    OS << "  " << llvm::left_justify(inputKindName(S.Kind), 16) << formatArgument(S.Arg);
    if (!S.Target.empty())
      OS << " <- " << S.Target;
    if (S.Kind == InputKind::Buffer && !S.Persistent)
      OS << " (non-persistent)";
    std::string D = describeValue(M, S.Arg.S);
    if (!D.empty())
      OS << " : " << D;
    OS << "\n";
  }
  OS << "outputs:\n";
  for (const OutputSpec &S : M.OutputSpecs) {
    OS << "  " << llvm::left_justify(outputKindName(S.Kind), 16) << formatArgument(S.Arg);
    if (!S.Target.empty())
      OS << " -> " << S.Target;
    std::string D = describeValue(M, S.Arg.S);
    if (!D.empty())
      OS << " : " << D;
    OS << "\n";
  }
  if (!M.RangeConstraints.empty()) {
    OS << "range constraints:\n";
    for (const auto &[Sym, R] : M.RangeConstraints)
      OS << "  " << Sym << " in [" << (R.Min ? std::to_string(*R.Min) : "-inf") << ", "
         << (R.Max ? std::to_string(*R.Max) : "inf") << "]\n";
  }
}

void atalla::frontend::printSummary(const Model &M, llvm::raw_ostream &OS) {
  OS << "archive: " << M.Path << "\n";
  OS << "container: " << containerKindName(M.Container);
  if (!M.RootFolder.empty())
    OS << ", root folder '" << M.RootFolder << "/'";
  OS << "\n";
  OS << "schema: " << M.SchemaMajor << "." << M.SchemaMinor;
  if (!M.TorchVersion.empty())
    OS << ", torch " << M.TorchVersion;
  if (!M.Dialect.empty())
    OS << ", dialect " << M.Dialect;
  OS << "\n";
  size_t Params = 0, Buffers = 0, Consts = 0;
  for (const InputSpec &S : M.InputSpecs) {
    Params += S.Kind == InputKind::Parameter;
    Buffers += S.Kind == InputKind::Buffer;
    Consts += S.Kind == InputKind::TensorConstant;
  }
  OS << "nodes: " << M.G.Nodes.size() << ", user inputs: " << M.userInputNames().size()
     << ", parameters: " << Params << ", buffers: " << Buffers << ", constants: " << Consts
     << ", user outputs: " << M.userOutputNames().size() << "\n";
}

void atalla::frontend::printJson(const Model &M, llvm::raw_ostream &OS) {
  using json = nlohmann::ordered_json;
  auto shapeJson = [](const std::vector<SymDim> &Dims) {
    json A = json::array();
    for (const SymDim &D : Dims)
      if (D.isConcrete())
        A.push_back(*D.Value);
      else
        A.push_back(D.Expr);
    return A;
  };
  json J;
  J["path"] = M.Path;
  J["container"] = containerKindName(M.Container);
  J["root_folder"] = M.RootFolder.empty() ? json(nullptr) : json(M.RootFolder);
  J["schema_version"] = std::to_string(M.SchemaMajor) + "." + std::to_string(M.SchemaMinor);
  J["torch_version"] = M.TorchVersion.empty() ? json(nullptr) : json(M.TorchVersion);
  json Nodes = json::array();
  for (const Node &N : M.G.Nodes) {
    json JN;
    JN["name"] = N.Name;
    JN["target"] = N.Target;
    JN["op"] = N.opWithOverload();
    json Args = json::array();
    for (const NamedArgument &A : N.Inputs)
      Args.push_back({{"name", A.Name}, {"value", formatArgument(A.Arg)},
                      {"kind", argKindTag(A.Arg.Kind)}, {"defaulted", A.Defaulted}});
    JN["inputs"] = Args;
    json Outs = json::array();
    for (const Argument &O : N.Outputs)
      Outs.push_back(formatArgument(O));
    JN["outputs"] = Outs;
    Nodes.push_back(JN);
  }
  J["nodes"] = Nodes;
  json Values = json::object();
  for (const auto &[Name, Meta] : M.G.Values)
    Values[Name] = {{"dtype", scalarTypeName(Meta.Dtype).str()}, {"shape", shapeJson(Meta.Sizes)},
                    {"strides", shapeJson(Meta.Strides)}};
  J["values"] = Values;
  json Ins = json::array();
  for (const InputSpec &S : M.InputSpecs)
    Ins.push_back({{"kind", inputKindName(S.Kind)}, {"name", formatArgument(S.Arg)},
                   {"target", S.Target}});
  json Outs = json::array();
  for (const OutputSpec &S : M.OutputSpecs)
    Outs.push_back({{"kind", outputKindName(S.Kind)}, {"name", formatArgument(S.Arg)},
                    {"target", S.Target}});
  J["signature"] = {{"inputs", Ins}, {"outputs", Outs}};
  json W = json::object();
  for (const auto &[Name, T] : M.Weights)
    W[Name] = {{"dtype", scalarTypeName(T.Dtype).str()}, {"shape", T.Sizes}, {"fake", !T.Data}};
  J["weights"] = W;
  json C = json::object();
  for (const auto &[Name, T] : M.Constants)
    C[Name] = {{"dtype", scalarTypeName(T.Dtype).str()}, {"shape", T.Sizes}, {"fake", !T.Data}};
  J["constants"] = C;
  json RC = json::object();
  for (const auto &[Sym, R] : M.RangeConstraints)
    RC[Sym] = {{"min", R.Min ? json(*R.Min) : json(nullptr)}, {"max", R.Max ? json(*R.Max) : json(nullptr)}};
  J["range_constraints"] = RC;
  json Ops = json::object();
  for (const Node &N : M.G.Nodes)
    Ops[N.Target] = Ops.value(N.Target, 0) + 1;
  J["ops"] = Ops;
  OS << J.dump(1) << "\n";
}
