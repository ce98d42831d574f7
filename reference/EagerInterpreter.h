//===- reference/EagerInterpreter.h - the LibTorch eager oracle -*- C++ -*-===//
//
// Runs a frontend Graph node by node through LibTorch 1.13's dispatcher
// (aten::op + overload, arguments matched to the op's own schema by name,
// defaults from that schema), with the archive's weights. Its outputs are
// what generated programs are checked against. torch 2.x ops that 1.13 has
// in another form are handled deliberately (see the .cpp); an op 1.13 lacks
// is an error naming it. This header does not include LibTorch, so tools and
// tests using it compile quickly.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_REFERENCE_EAGERINTERPRETER_H
#define ATALLA_REFERENCE_EAGERINTERPRETER_H

#include "frontend/Graph.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace atalla::reference {

struct EagerOptions {
  /// Intra-op threads for LibTorch (1: deterministic, comparable timings).
  int Threads = 1;
};

class EagerInterpreter {
public:
  /// Binds the model's weights and constants; fails on data the interpreter
  /// cannot represent (dtype, fake tensors).
  static llvm::Expected<std::unique_ptr<EagerInterpreter>>
  create(const frontend::Model &M, const EagerOptions &Opts = {});
  ~EagerInterpreter();

  /// Runs the graph on \p UserInputs (forward-argument order) and returns
  /// the user outputs, contiguous. Input dtypes and static dimensions are
  /// checked against the graph; symbolic ones against the range constraints.
  llvm::Expected<std::vector<frontend::TensorData>>
  run(const std::vector<frontend::TensorData> &UserInputs);

  /// Called after each node with its name and its first tensor output
  /// (contiguous copy); used by per-op diagnosis.
  using NodeHook = std::function<void(const frontend::Node &, const frontend::TensorData &)>;
  void setNodeHook(NodeHook H);

  /// When on, run() keeps a contiguous copy of every tensor it binds at the
  /// graph's top level (user inputs, parameters, buffers, constants and each
  /// node's tensor outputs), by value name, snapshotted when bound so that a
  /// later in-place op does not change it. Per-op diagnosis feeds these to
  /// single device instructions.
  void setKeepValues(bool Keep);
  /// The values kept by the last run() (empty unless setKeepValues(true)).
  const std::map<std::string, frontend::TensorData> &values() const;

private:
  EagerInterpreter();
  struct Impl;
  std::unique_ptr<Impl> P;
};

/// LibTorch's version string ("1.13.1").
std::string libtorchVersion();

} // namespace atalla::reference

#endif // ATALLA_REFERENCE_EAGERINTERPRETER_H
