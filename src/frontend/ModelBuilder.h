//===- frontend/ModelBuilder.h - build a Model in code ----------*- C++ -*-===//
//
// Programs made without torch: the bundled example, and later the fuzzer's
// random programs. Names and metadata follow FX's conventions (placeholders
// named after forward()'s arguments, nodes after their op with _N suffixes),
// so a built Model written by ArchiveWriter reads like a torch export.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_MODELBUILDER_H
#define ATALLA_FRONTEND_MODELBUILDER_H

#include "frontend/Graph.h"

#include <map>
#include <string>
#include <vector>

namespace atalla::frontend {

class ModelBuilder {
public:
  ModelBuilder();

  /// A forward() argument with its sample value.
  std::string addUserInput(const std::string &Name, const TensorData &Sample);
  /// A parameter (FQN "fc.weight" -> placeholder "p_fc_weight").
  std::string addParameter(const std::string &Fqn, const TensorData &Value);
  /// A persistent buffer (FQN "mask" -> placeholder "b_mask").
  std::string addBuffer(const std::string &Fqn, const TensorData &Value);
  /// A call of \p Target ("torch.ops.aten.relu.default") producing one
  /// contiguous tensor of \p Dtype and \p Sizes; returns its name.
  std::string addNode(const std::string &Target, std::vector<NamedArgument> Inputs, ScalarType Dtype,
                      const std::vector<int64_t> &Sizes,
                      std::map<std::string, std::string> Metadata = {});
  /// A call returning several tensors (native_layer_norm's (out, mean,
  /// rstd)), one contiguous result per entry of \p Results; returns their
  /// names, the first named after the op (as torch.export names them).
  /// \p AsList: the op returns Tensor[] (split), one list-valued result.
  std::vector<std::string> addMultiNode(const std::string &Target, std::vector<NamedArgument> Inputs,
                                        const std::vector<std::pair<ScalarType, std::vector<int64_t>>> &Results,
                                        bool AsList = false);
  void addOutput(const std::string &Name);

  Model take();

  static NamedArgument arg(const std::string &Name, Argument A) {
    return NamedArgument{Name, std::move(A), ArgPassing::Positional, false};
  }

private:
  std::string uniqueName(const std::string &Base);
  std::string addState(const std::string &Fqn, const TensorData &Value, InputKind Kind);
  void addValue(const std::string &Name, ScalarType Dtype, const std::vector<int64_t> &Sizes,
                bool RequiresGrad);
  Model M;
  std::map<std::string, int> Used;
};

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_MODELBUILDER_H
