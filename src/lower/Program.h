//===- lower/Program.h - the static linear program --------------*- C++ -*-===//
//
// What lowering produces and the code generator serialises: every tensor the
// program touches (with its planned DRAM address, or the tensor it views),
// and a linear list of instructions, each a device kernel specialisation or
// an ATen call to run in fallback. Everything here is static: shapes are
// concrete, addresses are planned.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_PROGRAM_H
#define ATALLA_LOWER_PROGRAM_H

#include "frontend/Graph.h"
#include "runtime/abi/BlobFormat.h"
#include "runtime/abi/KernelSpec.h"

#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace atalla::lower {

struct PTensor {
  std::string Name;
  frontend::ScalarType Dtype = frontend::ScalarType::Float32;
  std::vector<int64_t> Sizes;
  std::vector<int64_t> Strides; ///< elements
  abi::TensorKind Kind = abi::TensorKind::Intermediate;
  uint32_t UserIndex = 0;
  /// A view of tensor Base, starting Offset elements into it.
  int Base = -1;
  int64_t Offset = 0;
  /// The storage eager PyTorch would give this value: its own index, or the
  /// storage of the tensor it views. A clone we alias instead of copying
  /// keeps a storage of its own, as in eager.
  int SemanticStorage = -1;
  /// Constant data (parameters, buffers, lifted constants).
  const frontend::TensorData *Constant = nullptr;
  // Planned by the memory planner:
  uint64_t DramAddr = 0;
  uint64_t Bytes = 0; ///< owned bytes (0 for a view)

  bool isView() const { return Base >= 0; }
  int64_t numel() const;
};

/// One argument of a fallback ATen call, as the blob encodes it.
struct FallbackArgument {
  std::string Name;
  abi::ArgTag Tag = abi::ArgTag::None;
  std::vector<int64_t> Ints;  ///< ints, bools, enum numbers, operand positions
  std::vector<double> Floats;
  std::string Text;           ///< String / Device
};

struct PInstr {
  abi::Opcode Op = abi::Opcode::Kernel;
  abi::KernelSpec Spec;        ///< Kernel
  std::string AtenOp, Overload; ///< Fallback: "aten::conv2d", ""
  std::vector<FallbackArgument> Args;
  std::vector<int> Operands;   ///< tensor indices: inputs, then outputs
  unsigned NumOutputs = 1;
  std::string Node;            ///< the graph node it came from
};

/// Why a node runs where it runs (for the ops report and --accel-only).
struct NodeDecision {
  std::string Node, Target;
  /// Fused: computed inside another node's kernel (a folded batch norm).
  enum Kind { Accelerated, View, Removed, Fallback, Fused } K = Accelerated;
  std::string Kernel; ///< kernel name when accelerated
  std::string Reason; ///< why not accelerated
  /// The node's arithmetic (multiply-adds count 2) and the bytes of its
  /// tensor operands and results, from the graph's shapes, whoever runs it.
  double Flops = 0, Bytes = 0;
};

/// What runs where, as shares of ops (nodes that compute: views and removed
/// nodes do not count), FLOPs and bytes. A graph with nothing to compute
/// counts as fully accelerated.
struct Coverage {
  unsigned Ops = 0, AcceleratedOps = 0, FusedOps = 0, FallbackOps = 0, Views = 0;
  double Flops = 0, AcceleratedFlops = 0, Bytes = 0, AcceleratedBytes = 0;
  double opsFraction() const { return Ops ? double(AcceleratedOps + FusedOps) / Ops : 1.0; }
  double flopsFraction() const { return Flops > 0 ? AcceleratedFlops / Flops : 1.0; }
  double bytesFraction() const { return Bytes > 0 ? AcceleratedBytes / Bytes : 1.0; }
};
Coverage coverageOf(const std::vector<NodeDecision> &Decisions);

struct Segment {
  bool Accelerator = true;
  unsigned NumOps = 0;
};

/// An activation tensor's life in the memory plan: from the instruction
/// that defines it (-1: an input, live from the start) to its last use
/// (Instrs.size(): an output, live to the end).
struct LiveRange {
  int Tensor = -1;
  int64_t First = 0, Last = 0;
};

struct Program {
  /// Storage precision: F32, or BF16 (float32 tensors live in DRAM as bf16,
  /// every kernel is a bf16 kernel; see runtime/abi/KernelSpec.h).
  abi::DType Precision = abi::DType::F32;
  /// Bytes per element of a tensor of type \p T in DRAM under Precision.
  int64_t storageElementSize(frontend::ScalarType T) const {
    return Precision == abi::DType::BF16 && T == frontend::ScalarType::Float32 ? 2 : frontend::elementSize(T);
  }
  std::vector<PTensor> Tensors;
  std::vector<PInstr> Instrs;
  std::vector<NodeDecision> Decisions;
  std::vector<Segment> Segments;
  uint64_t DramBytes = 0;      ///< everything: constants + activation arena
  uint64_t ConstantBytes = 0;
  uint64_t ArenaBytes = 0;     ///< planned activation bytes
  uint64_t LowerBoundBytes = 0; ///< peak of simultaneously live activation bytes
  std::vector<LiveRange> Lifetimes; ///< every owning activation tensor, in tensor order
  std::vector<int> Inputs, Outputs; ///< user inputs / outputs in order
  /// Constants the lowering computed (folded batch norms, rearranged
  /// weights), which PTensor::Constant points into.
  std::vector<std::shared_ptr<const frontend::TensorData>> OwnedConstants;

  void print(llvm::raw_ostream &OS) const;
  /// The memory plan for people: arena size against the live-bytes lower
  /// bound, and one row per activation tensor (by address) with a text map
  /// of its live range over the instructions, \p Width columns wide.
  void printMemoryPlan(llvm::raw_ostream &OS, unsigned Width = 48) const;
};

} // namespace atalla::lower

#endif // ATALLA_LOWER_PROGRAM_H
