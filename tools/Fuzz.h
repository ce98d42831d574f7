//===- tools/Fuzz.h - random programs checked against eager PyTorch -*- C++ -*-===//
//
// The correctness fuzzer's pieces: a generator of random programs drawn from
// the ops of Kernels.def (DAGs with value reuse, shapes biased to tile and
// vector edges, broadcasting, parameters, occasional ops without a kernel so
// that fallback is exercised), and a checker that writes each program as a
// .pt2, reads it back, compiles it with the real compiler, runs it on the
// simulated device and compares with the eager oracle. Everything is a pure
// function of (seed, limits), so every finding is reproducible.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TOOLS_FUZZ_H
#define ATALLA_TOOLS_FUZZ_H

#include "frontend/Graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::tools {

struct FuzzLimits {
  unsigned MaxNodes = 8;  ///< nodes per program (at least 1)
  int64_t MaxDim = 33;    ///< largest dimension drawn
  unsigned StopAfter = 0; ///< shrinking: keep only the first N nodes (0 = all)
};

/// The ATen targets the generator's unary step draws from: one op of each
/// kernel whose Kernels.def Fuzz column is FuzzAny.
const std::vector<std::string> &fuzzUnaryTargets();

/// The program for \p Seed. Its user output is the last node (and, unless
/// shrinking, sometimes one more value).
frontend::Model generateProgram(uint64_t Seed, const FuzzLimits &Limits);

struct FuzzOutcome {
  bool Passed = false;
  std::string Message;    ///< why it failed (or "")
  double WorstError = 0;  ///< normalised error of the worst output
  double Tolerance = 0;  ///< driver::f32Tolerance of the program
  unsigned Nodes = 0, Fallbacks = 0;
  std::vector<uint8_t> Archive; ///< the .pt2 that was checked
};

/// Writes \p M as .pt2 (layout chosen by \p Seed), reads it back, compiles,
/// runs on the simulated device, compares with eager.
FuzzOutcome checkProgram(const frontend::Model &M, uint64_t Seed);

} // namespace atalla::tools

#endif // ATALLA_TOOLS_FUZZ_H
