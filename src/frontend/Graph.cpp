//===- frontend/Graph.cpp - the typed ATen graph of an exported program ---===//
#include "frontend/Graph.h"

using namespace atalla::frontend;

bool TensorMeta::isStatic() const {
  for (const SymDim &D : Sizes)
    if (!D.isConcrete())
      return false;
  return true;
}

std::vector<int64_t> TensorMeta::hintedSizes() const {
  std::vector<int64_t> Out;
  Out.reserve(Sizes.size());
  for (const SymDim &D : Sizes)
    Out.push_back(D.valueOrHint());
  return Out;
}

bool TensorMeta::operator==(const TensorMeta &O) const {
  return Dtype == O.Dtype && Sizes == O.Sizes && Strides == O.Strides &&
         StorageOffset == O.StorageOffset && RequiresGrad == O.RequiresGrad && Dev == O.Dev &&
         Layout == O.Layout;
}

const char *atalla::frontend::argKindTag(ArgKind K) {
  switch (K) {
  case ArgKind::None: return "as_none";
  case ArgKind::Tensor: return "as_tensor";
  case ArgKind::Tensors: return "as_tensors";
  case ArgKind::Int: return "as_int";
  case ArgKind::Ints: return "as_ints";
  case ArgKind::Float: return "as_float";
  case ArgKind::Floats: return "as_floats";
  case ArgKind::String: return "as_string";
  case ArgKind::Strings: return "as_strings";
  case ArgKind::SymInt: return "as_sym_int";
  case ArgKind::SymInts: return "as_sym_ints";
  case ArgKind::SymFloat: return "as_sym_float";
  case ArgKind::SymFloats: return "as_sym_floats";
  case ArgKind::Bool: return "as_bool";
  case ArgKind::Bools: return "as_bools";
  case ArgKind::SymBool: return "as_sym_bool";
  case ArgKind::SymBools: return "as_sym_bools";
  case ArgKind::ScalarType: return "as_scalar_type";
  case ArgKind::MemoryFormat: return "as_memory_format";
  case ArgKind::Layout: return "as_layout";
  case ArgKind::Device: return "as_device";
  case ArgKind::OptionalTensor: return "as_optional_tensor";
  case ArgKind::OptionalTensors: return "as_optional_tensors";
  case ArgKind::Graph: return "as_graph";
  case ArgKind::CustomObj: return "as_custom_obj";
  case ArgKind::Operator: return "as_operator";
  case ArgKind::Complex: return "as_complex";
  case ArgKind::NestedTensors: return "as_nested_tensors";
  case ArgKind::IntLists: return "as_int_lists";
  case ArgKind::StringToArgument: return "as_string_to_argument";
  }
  return "as_unknown";
}

Argument Argument::tensor(std::string Name) {
  Argument A;
  A.Kind = ArgKind::Tensor;
  A.S = std::move(Name);
  return A;
}
Argument Argument::integer(int64_t V) {
  Argument A;
  A.Kind = ArgKind::Int;
  A.I = V;
  return A;
}
Argument Argument::real(double V) {
  Argument A;
  A.Kind = ArgKind::Float;
  A.F = V;
  return A;
}
Argument Argument::boolean(bool V) {
  Argument A;
  A.Kind = ArgKind::Bool;
  A.I = V;
  return A;
}
Argument Argument::string(std::string V) {
  Argument A;
  A.Kind = ArgKind::String;
  A.S = std::move(V);
  return A;
}
Argument Argument::ints(const std::vector<int64_t> &V) {
  Argument A;
  A.Kind = ArgKind::Ints;
  for (int64_t X : V)
    A.Elems.push_back(integer(X));
  return A;
}
Argument Argument::scalarType(ScalarType T) {
  Argument A;
  A.Kind = ArgKind::ScalarType;
  A.I = static_cast<int64_t>(T);
  return A;
}

std::optional<std::vector<int64_t>> Argument::asInts() const {
  if (Kind != ArgKind::Ints && Kind != ArgKind::SymInts)
    return std::nullopt;
  std::vector<int64_t> Out;
  for (const Argument &E : Elems) {
    if (E.Kind != ArgKind::Int)
      return std::nullopt;
    Out.push_back(E.I);
  }
  return Out;
}

void Argument::collectTensorNames(std::vector<std::string> &Out) const {
  switch (Kind) {
  case ArgKind::Tensor:
    Out.push_back(S);
    return;
  case ArgKind::Tensors:
  case ArgKind::OptionalTensors:
  case ArgKind::OptionalTensor:
  case ArgKind::NestedTensors:
  case ArgKind::StringToArgument:
    for (const Argument &E : Elems)
      E.collectTensorNames(Out);
    return;
  default:
    return;
  }
}

bool Argument::operator==(const Argument &O) const {
  if (Kind != O.Kind || I != O.I || S != O.S || S2 != O.S2 || !(Dev == O.Dev) ||
      Elems != O.Elems || Keys != O.Keys)
    return false;
  // Compare floats bitwise-equal or both NaN: the archive round-trips them.
  auto SameF = [](double A, double B) { return A == B || (A != A && B != B); };
  return SameF(F, O.F) && SameF(Imag, O.Imag) && (Sub == nullptr) == (O.Sub == nullptr);
}

std::string Node::qualifiedOp() const {
  if (Ns.empty())
    return Target;
  return Ns + "::" + Op;
}

std::string Node::opWithOverload() const {
  return Overload.empty() ? qualifiedOp() : qualifiedOp() + "." + Overload;
}

const NamedArgument *Node::input(const std::string &N) const {
  for (const NamedArgument &A : Inputs)
    if (A.Name == N)
      return &A;
  return nullptr;
}

const char *atalla::frontend::inputKindName(InputKind K) {
  switch (K) {
  case InputKind::UserInput: return "user_input";
  case InputKind::Parameter: return "parameter";
  case InputKind::Buffer: return "buffer";
  case InputKind::TensorConstant: return "tensor_constant";
  case InputKind::CustomObj: return "custom_obj";
  case InputKind::Token: return "token";
  case InputKind::ConstantInput: return "constant_input";
  }
  return "unknown";
}

const char *atalla::frontend::outputKindName(OutputKind K) {
  switch (K) {
  case OutputKind::UserOutput: return "user_output";
  case OutputKind::LossOutput: return "loss_output";
  case OutputKind::BufferMutation: return "buffer_mutation";
  case OutputKind::GradientToParameter: return "gradient_to_parameter";
  case OutputKind::GradientToUserInput: return "gradient_to_user_input";
  case OutputKind::UserInputMutation: return "user_input_mutation";
  case OutputKind::Token: return "token";
  case OutputKind::ParameterMutation: return "parameter_mutation";
  }
  return "unknown";
}

const char *atalla::frontend::containerKindName(ContainerKind K) {
  switch (K) {
  case ContainerKind::LegacyZip: return "legacy_zip";
  case ContainerKind::Pt2ArchivePickled: return "pt2_archive (pickled weights)";
  case ContainerKind::Pt2ArchiveRaw: return "pt2_archive";
  }
  return "unknown";
}

const TensorMeta *Graph::meta(const std::string &Name) const {
  auto It = Values.find(Name);
  return It == Values.end() ? nullptr : &It->second;
}

std::vector<std::string> Model::userInputNames() const {
  std::vector<std::string> Out;
  for (const InputSpec &S : InputSpecs)
    if (S.Kind == InputKind::UserInput)
      Out.push_back(S.Arg.S);
  return Out;
}

std::vector<std::string> Model::userOutputNames() const {
  std::vector<std::string> Out;
  for (const OutputSpec &S : OutputSpecs)
    if (S.Kind == OutputKind::UserOutput)
      Out.push_back(S.Arg.S);
  return Out;
}

std::vector<std::string> Model::forwardArgNames() const {
  for (const ModuleCallEntry &E : ModuleCallGraph)
    if (E.Fqn.empty() && !E.ForwardArgNames.empty())
      return E.ForwardArgNames;
  // Before forward_arg_names was recorded (torch <= 2.2), strict export named
  // user-input placeholders after dynamo's locals: L['x'] -> "l_x_".
  std::vector<std::string> Names = userInputNames();
  for (std::string &N : Names)
    if (N.size() > 3 && N.compare(0, 2, "l_") == 0 && N.back() == '_')
      N = N.substr(2, N.size() - 3);
  return Names;
}

const TensorData *Model::placeholderData(const InputSpec &S) const {
  const std::map<std::string, TensorData> *M = nullptr;
  if (S.Kind == InputKind::Parameter || S.Kind == InputKind::Buffer)
    M = &Weights;
  else if (S.Kind == InputKind::TensorConstant)
    M = &Constants;
  if (!M)
    return nullptr;
  auto It = M->find(S.Target);
  if (It != M->end())
    return &It->second;
  // Non-persistent buffers are saved among the constants in 2.x archives.
  if (S.Kind == InputKind::Buffer) {
    It = Constants.find(S.Target);
    if (It != Constants.end())
      return &It->second;
  }
  return nullptr;
}
