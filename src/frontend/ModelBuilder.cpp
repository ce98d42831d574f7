//===- frontend/ModelBuilder.cpp - build a Model in code ------------------===//
#include "frontend/ModelBuilder.h"

#include "llvm/ADT/StringRef.h"

using namespace atalla::frontend;

ModelBuilder::ModelBuilder() {
  M.Container = ContainerKind::Pt2ArchiveRaw;
  M.Verifiers = {"TRAINING"};
  M.OpsetVersion["aten"] = 10;
}

std::string ModelBuilder::uniqueName(const std::string &Base) {
  int &N = Used[Base];
  std::string Name = N == 0 ? Base : Base + "_" + std::to_string(N);
  ++N;
  return Name;
}

void ModelBuilder::addValue(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes,
                            bool RequiresGrad) {
  TensorMeta T;
  T.Dtype = Dtype;
  for (int64_t S : Sizes)
    T.Sizes.push_back(SymDim::concrete(S));
  for (int64_t S : contiguousStrides(Sizes))
    T.Strides.push_back(SymDim::concrete(S));
  T.RequiresGrad = RequiresGrad;
  M.G.Values[Name] = T;
}

std::string ModelBuilder::addUserInput(const std::string &Base, const TensorData &Sample) {
  std::string Name = uniqueName(Base);
  addValue(Name, Sample.Dtype, Sample.Sizes, false);
  M.G.Inputs.push_back(Argument::tensor(Name));
  InputSpec S;
  S.Kind = InputKind::UserInput;
  S.Arg = Argument::tensor(Name);
  M.InputSpecs.push_back(S);
  M.SampleInputs.push_back(Sample);
  M.HasSampleInputs = true;
  return Name;
}

std::string ModelBuilder::addParameter(const std::string &Fqn, const TensorData &Value) {
  return addState(Fqn, Value, InputKind::Parameter);
}

std::string ModelBuilder::addBuffer(const std::string &Fqn, const TensorData &Value) {
  return addState(Fqn, Value, InputKind::Buffer);
}

std::string ModelBuilder::addState(const std::string &Fqn, const TensorData &Value, InputKind Kind) {
  const bool Param = Kind == InputKind::Parameter;
  std::string Base = (Param ? "p_" : "b_") + Fqn;
  for (char &C : Base)
    if (C == '.')
      C = '_';
  std::string Name = uniqueName(Base);
  addValue(Name, Value.Dtype, Value.Sizes, Param);
  // Parameters and buffers come before user inputs among the placeholders, as in torch.
  size_t Pos = 0;
  while (Pos < M.InputSpecs.size() && M.InputSpecs[Pos].Kind != InputKind::UserInput)
    ++Pos;
  M.G.Inputs.insert(M.G.Inputs.begin() + Pos, Argument::tensor(Name));
  InputSpec S;
  S.Kind = Kind;
  S.Arg = Argument::tensor(Name);
  S.Target = Fqn;
  M.InputSpecs.insert(M.InputSpecs.begin() + Pos, S);
  TensorData V = Value;
  V.RequiresGrad = Param;
  M.Weights[Fqn] = V;
  return Name;
}

std::string ModelBuilder::addNode(const std::string &Target, std::vector<NamedArgument> Inputs,
                                  ScalarType Dtype, const std::vector<int64_t> &Sizes,
                                  std::map<std::string, std::string> Metadata) {
  Node N;
  N.Target = Target;
  llvm::StringRef T = Target;
  if (T.consume_front("torch.ops.")) {
    auto [Ns, Rest] = T.split('.');
    auto [Op, Overload] = Rest.split('.');
    N.Ns = Ns.str();
    N.Op = Op.str();
    N.Overload = Overload == "default" ? "" : Overload.str();
  }
  // FX names a node after its op packet, without leading underscores kept
  // apart: "_softmax" stays "_softmax", "numpy_T" becomes "numpy_t".
  std::string Base = llvm::StringRef(N.Op).lower();
  N.Name = uniqueName(Base);
  N.Inputs = std::move(Inputs);
  N.Outputs.push_back(Argument::tensor(N.Name));
  N.Metadata = std::move(Metadata);
  addValue(N.Name, Dtype, Sizes, false);
  M.G.Nodes.push_back(std::move(N));
  return M.G.Nodes.back().Name;
}

std::vector<std::string>
ModelBuilder::addMultiNode(const std::string &Target, std::vector<NamedArgument> Inputs,
                           const std::vector<std::pair<ScalarType, std::vector<int64_t>>> &Results, bool AsList) {
  std::string First = addNode(Target, std::move(Inputs), Results.at(0).first, Results.at(0).second);
  Node &N = M.G.Nodes.back();
  std::vector<std::string> Names = {First};
  for (size_t I = 1; I < Results.size(); ++I) {
    std::string Name = uniqueName("getitem");
    addValue(Name, Results[I].first, Results[I].second, false);
    N.Outputs.push_back(Argument::tensor(Name));
    Names.push_back(Name);
  }
  if (AsList) {
    Argument L;
    L.Kind = ArgKind::Tensors;
    L.Elems = std::move(N.Outputs);
    N.Outputs = {std::move(L)};
  }
  return Names;
}

void ModelBuilder::addOutput(const std::string &Name) {
  M.G.Outputs.push_back(Argument::tensor(Name));
  OutputSpec S;
  S.Kind = OutputKind::UserOutput;
  S.Arg = Argument::tensor(Name);
  M.OutputSpecs.push_back(S);
}

Model ModelBuilder::take() {
  // ModuleCallGraph stays empty: SchemaWriter derives the root entry
  // (in_spec, out_spec, forward_arg_names) from the signature.
  return std::move(M);
}
