//===- lower/Pipeline.h - Graph to static Program ---------------*- C++ -*-===//
//
// The lowering pipeline, like Halide's Lower.cpp: one visible sequence of
// passes (Passes.h), with the state printed after each when asked
// (--print-after-all).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_LOWER_PIPELINE_H
#define ATALLA_LOWER_PIPELINE_H

#include "lower/Passes.h"

namespace atalla::lower {

struct PipelineOptions {
  ShapeOptions Shapes;
  SelectOptions Select;
  PrecisionOptions Precision;
  MemoryOptions Memory;
  /// Any fallback becomes a compile error listing the ops.
  bool AccelOnly = false;
  /// Print the state after every pass to this stream.
  llvm::raw_ostream *PrintAfterAll = nullptr;
  /// Time per pass, in ms, appended here when set.
  std::vector<std::pair<std::string, double>> *PassTimes = nullptr;
};

/// Lowers \p M; errors name the model and the node.
llvm::Expected<Program> lowerModel(const frontend::Model &M, const PipelineOptions &Opts);

} // namespace atalla::lower

#endif // ATALLA_LOWER_PIPELINE_H
