//===- lower/GraphQueries.cpp - who reads a value, is it an output --------===//
#include "lower/GraphQueries.h"

using namespace atalla;
using namespace atalla::lower;
using frontend::Node;

std::string lower::opKey(const Node &N) {
  if (N.Ns != "aten")
    return "";
  return "aten::" + N.Op + (N.Overload.empty() ? "" : "." + N.Overload);
}

const std::map<std::string, OpRow> &lower::opTable() {
  static const std::map<std::string, OpRow> Table = [] {
    std::map<std::string, OpRow> T;
    auto key = [](const char *Op, const char *Overload) {
      return std::string(Op) + (*Overload ? "." + std::string(Overload) : "");
    };
#define ATALLA_KERNEL_OP(Name, Op, Overload, Lowering)                                             \
  T[key(Op, Overload)] = OpRow{abi::KernelId::Name, OpLowering::Lowering};
#define ATALLA_LOWERED_OP(Op, Overload, Lowering) T[key(Op, Overload)] = OpRow{std::nullopt, OpLowering::Lowering};
#include "runtime/abi/Kernels.def"
    return T;
  }();
  return Table;
}

const OpRow *lower::opRowFor(const Node &N) {
  if (N.Ns != "aten")
    return nullptr;
  auto It = opTable().find(opKey(N));
  return It == opTable().end() ? nullptr : &It->second;
}

std::optional<abi::KernelId> lower::kernelFor(const Node &N) {
  const OpRow *R = opRowFor(N);
  return R ? R->Kernel : std::nullopt;
}

std::vector<const Node *> lower::readersOf(const LoweringState &S, const std::string &Name) {
  std::vector<const Node *> R;
  for (const Node &N : S.Nodes) {
    std::vector<std::string> Names;
    for (const frontend::NamedArgument &A : N.Inputs)
      A.Arg.collectTensorNames(Names);
    for (const std::string &X : Names)
      if (S.resolve(X) == Name) {
        R.push_back(&N);
        break;
      }
  }
  return R;
}

bool lower::isGraphOutput(const LoweringState &S, const std::string &Name) {
  for (const std::string &Raw : S.M->userOutputNames()) {
    std::string X = S.resolve(Raw);
    if (X == Name)
      return true;
    for (auto It = S.Mutated.find(X); It != S.Mutated.end(); It = S.Mutated.find(X)) {
      X = S.resolve(It->second);
      if (X == Name)
        return true;
    }
  }
  return false;
}

std::map<std::string, size_t> lower::producerPositions(const LoweringState &S) {
  std::map<std::string, size_t> Out;
  for (size_t I = 0; I < S.Nodes.size(); ++I)
    for (const frontend::Argument &O : S.Nodes[I].Outputs)
      if (O.Kind == frontend::ArgKind::Tensor)
        Out[O.S] = I;
  return Out;
}

bool lower::isUnitOrAbsent(const frontend::NamedArgument *A) {
  return !A || (A->Arg.Kind == frontend::ArgKind::Int && A->Arg.I == 1) ||
         (A->Arg.Kind == frontend::ArgKind::Float && A->Arg.F == 1.0);
}

bool lower::onlyFirstOutputUsed(const LoweringState &S, const Node &N) {
  for (size_t I = 1; I < N.Outputs.size(); ++I) {
    std::vector<std::string> Names;
    N.Outputs[I].collectTensorNames(Names);
    for (const std::string &X : Names)
      if (!readersOf(S, S.resolve(X)).empty() || isGraphOutput(S, S.resolve(X)))
        return false;
  }
  return true;
}

bool lower::isBatchNormOp(const Node &N) {
  const OpRow *R = opRowFor(N);
  return R && R->Lowering == OpLowering::BatchNorm;
}
