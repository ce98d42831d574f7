//===- lower/GraphQueries.h - who reads a value, is it an output -*- C++ -*-===//
//
// Questions about the working graph that the fusion passes and kernel
// selection both ask, answered once: the readers of a value (through the
// renames canonicalisation made), whether a value is a graph output (also
// as a value an in-place op overwrites later), and the op-name table of
// Kernels.def.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_GRAPHQUERIES_H
#define ATALLA_LOWER_GRAPHQUERIES_H

#include "lower/Passes.h"

#include <map>
#include <string>
#include <vector>

namespace atalla::lower {

/// The selector that lowers an op: Kernels.def's Lowering column. Kernel
/// selection switches over it (no default), so a new value needs its
/// selector.
enum class OpLowering {
  View, Cat, Stack, Split, Upsample,              // layout (the copy kernel)
  Unary, Convert, Pow, Hardtanh,                  // unary elementwise
  Binary, MaxPool,                                // binary elementwise
  Gemm, Conv, Attention, AvgPool,                 // GEMM
  Softmax, LayerNorm, Reduce, Pad, Gather, Where, // one kernel each
  Fill, Arange, Fold, BatchNorm,                  // no kernel of their own
};

/// One op row of Kernels.def.
struct OpRow {
  std::optional<abi::KernelId> Kernel; ///< none for ATALLA_LOWERED_OP rows
  OpLowering Lowering;
};

/// "aten::op" or "aten::op.overload" of node \p N ("" for other namespaces).
std::string opKey(const frontend::Node &N);

/// Kernels.def's op rows by opKey.
const std::map<std::string, OpRow> &opTable();

/// Node \p N's row in Kernels.def, if it has one.
const OpRow *opRowFor(const frontend::Node &N);

/// The kernel for node \p N by name (aten ops only), if Kernels.def has one.
std::optional<abi::KernelId> kernelFor(const frontend::Node &N);

/// The nodes that read value \p Name, in graph order.
std::vector<const frontend::Node *> readersOf(const LoweringState &S, const std::string &Name);

/// Whether \p Name is a graph output, also as a value an in-place op
/// overwrites later (the output is then the in-place op's result, and every
/// value along the way must exist).
bool isGraphOutput(const LoweringState &S, const std::string &Name);

/// Whether nothing reads (or outputs) \p N's results but the first.
bool onlyFirstOutputUsed(const LoweringState &S, const frontend::Node &N);

/// batch_norm in inference (training=False) or torch 2.1-2.5's
/// _native_batch_norm_legit_no_training.
bool isBatchNormOp(const frontend::Node &N);

/// Each tensor value's producer: its node's position in S.Nodes.
std::map<std::string, size_t> producerPositions(const LoweringState &S);

/// An absent coefficient (add's alpha), or one that is 1 (int or float).
bool isUnitOrAbsent(const frontend::NamedArgument *A);

} // namespace atalla::lower

#endif // ATALLA_LOWER_GRAPHQUERIES_H
