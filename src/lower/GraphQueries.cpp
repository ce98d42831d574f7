//===- lower/GraphQueries.cpp - who reads a value, is it an output --------===//
#include "lower/GraphQueries.h"

using namespace atalla;
using namespace atalla::lower;
using frontend::Node;

const std::map<std::string, abi::KernelId> &lower::kernelTable() {
  static const std::map<std::string, abi::KernelId> Table = [] {
    std::map<std::string, abi::KernelId> T;
#define ATALLA_KERNEL_OP(Name, Op, Overload)                                                                          \
  T[std::string(Op) + (std::string(Overload).empty() ? "" : "." + std::string(Overload))] = abi::KernelId::Name;
#include "runtime/abi/Kernels.def"
    return T;
  }();
  return Table;
}

std::optional<abi::KernelId> lower::kernelFor(const Node &N) {
  if (N.Ns != "aten")
    return std::nullopt;
  auto It = kernelTable().find("aten::" + N.Op + (N.Overload.empty() ? "" : "." + N.Overload));
  if (It == kernelTable().end())
    return std::nullopt;
  return It->second;
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
  return N.Ns == "aten" && (N.Op == "batch_norm" || N.Op == "_native_batch_norm_legit_no_training");
}
