//===- lower/Canonicalize.cpp - drop the no-ops of real exports -----------===//
//
// Real torch.export graphs carry nodes that compute nothing at inference:
// metadata assertions, detach/alias/lift_fresh_copy around constants,
// dropout with train=False, dtype conversions to the same dtype. Their
// outputs are renamed to their inputs so later passes never see them.
//
// In-place ops (relu_, add_) are made functional: the op gets a fresh
// result, and every later reader of the overwritten value (and a graph
// output naming it) reads that result instead, which is what eager
// PyTorch's mutation means.
//
//===----------------------------------------------------------------------===//
#include "lower/Passes.h"

using namespace atalla;
using namespace atalla::lower;
using frontend::ArgKind;

llvm::Error atalla::lower::canonicalize(LoweringState &S, const CanonicalizeOptions &) {
  std::vector<frontend::Node> Kept;
  for (frontend::Node &N : S.Nodes) {
    // Rewrite inputs through earlier removals and mutations.
    auto current = [&](const std::string &Name) {
      std::string V = S.resolve(Name);
      for (auto It = S.Mutated.find(V); It != S.Mutated.end(); It = S.Mutated.find(V))
        V = S.resolve(It->second);
      return V;
    };
    for (frontend::NamedArgument &A : N.Inputs) {
      if (A.Arg.Kind == ArgKind::Tensor)
        A.Arg.S = current(A.Arg.S);
      for (frontend::Argument &E : A.Arg.Elems)
        if (E.Kind == ArgKind::Tensor)
          E.S = current(E.S);
    }
    bool IsAten = N.Ns == "aten";
    const std::string Op = N.Op;
    if (IsAten && Op == "_assert_tensor_metadata")
      continue; // checks metadata the static program already guarantees
    auto firstTensor = [&]() -> std::string {
      return N.Inputs.empty() || N.Inputs[0].Arg.Kind != ArgKind::Tensor ? "" : N.Inputs[0].Arg.S;
    };
    auto outName = [&]() -> std::string {
      return N.Outputs.size() == 1 && N.Outputs[0].Kind == ArgKind::Tensor ? N.Outputs[0].S : "";
    };
    bool Identity = false;
    if (IsAten && (Op == "detach" || Op == "detach_" || Op == "alias" || Op == "lift_fresh_copy" ||
                   Op == "lift_fresh"))
      Identity = true;
    if (IsAten && Op == "dropout") {
      const frontend::NamedArgument *Train = N.input("train");
      Identity = Train && Train->Arg.Kind == ArgKind::Bool && Train->Arg.I == 0;
    }
    if (IsAten && (Op == "to" || Op == "_to_copy" || Op == "type_as")) {
      // Same-dtype conversion, nothing else asked (no copy=True, no memory format).
      const frontend::TensorMeta *In = S.M->G.meta(firstTensor());
      const frontend::TensorMeta *Out = S.M->G.meta(outName());
      const frontend::NamedArgument *Copy = N.input("copy");
      Identity = In && Out && In->Dtype == Out->Dtype && !(Copy && Copy->Arg.I);
    }
    if (Identity && !firstTensor().empty() && !outName().empty()) {
      S.Renamed[outName()] = firstTensor();
      continue;
    }
    bool InPlace = IsAten && !Op.empty() && Op.back() == '_' && Op.front() != '_' && !firstTensor().empty() &&
                   !outName().empty() && N.Inputs[0].Name == "self";
    if (InPlace)
      S.Mutated[firstTensor()] = outName();
    Kept.push_back(std::move(N));
  }
  S.Nodes = std::move(Kept);
  return llvm::Error::success();
}
