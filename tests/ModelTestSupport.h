//===- tests/ModelTestSupport.h - models written in tests -------*- C++ -*-===//
//
// Shorthands for tests that write programs with ModelBuilder and check them
// the way the fuzzer does (tools/Fuzz.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_MODELTESTSUPPORT_H
#define ATALLA_TESTS_MODELTESTSUPPORT_H

#include "frontend/ModelBuilder.h"
#include "tools/Fuzz.h"
#include "tools/ToolSupport.h"

#include <gtest/gtest.h>

namespace atalla::test {

/// A positional argument named \p N.
inline frontend::NamedArgument arg(const char *N, frontend::Argument A) {
  return frontend::ModelBuilder::arg(N, std::move(A));
}

/// A float32 tensor of the project's seeded random values.
inline frontend::TensorData randn(const std::vector<int64_t> &S, uint64_t Seed) {
  return tools::randomTensor(frontend::ScalarType::Float32, S, Seed);
}

/// Checks \p M as the fuzzer does (write, read back, compile, run on the
/// simulated device, compare with eager LibTorch) and requires that no op
/// fell back. The archive is named "<Prefix>_<Seed>.pt2" in messages.
inline void expectRunsOnTheAccelerator(frontend::Model M, uint64_t Seed, const std::string &What,
                                       const std::string &Prefix) {
  M.Path = Prefix + "_" + std::to_string(Seed) + ".pt2";
  tools::FuzzOutcome O = tools::checkProgram(M, Seed);
  EXPECT_TRUE(O.Passed) << What << ": " << O.Message;
  EXPECT_EQ(O.Fallbacks, 0u) << What;
}

} // namespace atalla::test

#endif // ATALLA_TESTS_MODELTESTSUPPORT_H
