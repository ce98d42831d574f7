//===- lower/Passes.h - the lowering passes ---------------------*- C++ -*-===//
//
// Each pass is one entry function over the shared LoweringState, called in
// order by Pipeline.cpp (which can print the state after each):
//   canonicalize      drop the no-ops real exports contain
//   specializeShapes  make every dimension concrete (hints, --input-shape)
//   selectKernels     match nodes to Kernels.def, build views and kernel
//                     specialisations, or fallback calls; linearise
//   partition         group instructions into accelerator/fallback segments
//   setPrecision      f32 or bf16 storage: the kernels' precision
//   planMemory        DRAM addresses: constants region, liveness-based arena
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_PASSES_H
#define ATALLA_LOWER_PASSES_H

#include "lower/Program.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace atalla::lower {

struct LoweringState {
  const frontend::Model *M = nullptr;
  std::vector<frontend::Node> Nodes;              ///< working copy, canonicalised
  std::map<std::string, std::string> Renamed;     ///< removed value -> the value it equals
  /// Values an in-place op (relu_, add_) overwrote -> the op's result, which
  /// later readers (and the graph outputs) see instead.
  std::map<std::string, std::string> Mutated;
  std::map<std::string, frontend::TensorMeta> Metas;
  std::map<std::string, int64_t> SymValues;       ///< symbol / SymInt value -> concrete
  std::map<std::string, std::vector<int64_t>> Shapes; ///< value -> concrete sizes
  Program P;
  std::map<std::string, int> TensorOf;            ///< value name -> tensor index

  std::string resolve(const std::string &Name) const;
  void print(llvm::raw_ostream &OS) const;
};

struct CanonicalizeOptions {};
llvm::Error canonicalize(LoweringState &S, const CanonicalizeOptions &Opts = {});

struct ShapeOptions {
  /// --input-shape name=AxBxC, by user input name (placeholder or forward name).
  std::map<std::string, std::vector<int64_t>> InputShapes;
};
llvm::Error specializeShapes(LoweringState &S, const ShapeOptions &Opts);

struct SelectOptions {
  /// Largest softmax row (elements) a kernel keeps in scratchpad.
  int64_t MaxSoftmaxRow = 64 * 1024;
  /// Largest layer-norm row (elements): row, weight and bias in scratchpad.
  /// Both defaults fit the 1 MiB pads of atalla-rtl; atalla-gen sets them
  /// from the target machine (codegen::maxSoftmaxRow / maxNormRow).
  int64_t MaxNormRow = 60 * 1024;
  /// Grow elementwise kernels into chain kernels along single-reader nodes.
  bool FuseElementwise = true;
};
llvm::Error selectKernels(LoweringState &S, const SelectOptions &Opts = {});

llvm::Error partition(LoweringState &S);

/// Sets the program's storage precision (Program::Precision): for bf16,
/// every kernel becomes its bf16 twin. Fallback calls are unchanged: the
/// runtime hands them float32 tensors, as the graph expects.
struct PrecisionOptions {
  abi::DType Precision = abi::DType::F32;
};
llvm::Error setPrecision(LoweringState &S, const PrecisionOptions &Opts);

struct MemoryOptions {
  uint64_t Alignment = 64;
};
llvm::Error planMemory(LoweringState &S, const MemoryOptions &Opts = {});

} // namespace atalla::lower

#endif // ATALLA_LOWER_PASSES_H
