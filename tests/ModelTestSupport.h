//===- tests/ModelTestSupport.h - models written in tests -------*- C++ -*-===//
//
// Shorthands for tests that write programs with ModelBuilder and check them
// the way the fuzzer does (tools/Fuzz.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_MODELTESTSUPPORT_H
#define ATALLA_TESTS_MODELTESTSUPPORT_H

#include "frontend/ModelBuilder.h"
#include "tools/ToolSupport.h"

namespace atalla::test {

/// A positional argument named \p N.
inline frontend::NamedArgument arg(const char *N, frontend::Argument A) {
  return frontend::ModelBuilder::arg(N, std::move(A));
}

/// A float32 tensor of the project's seeded random values.
inline frontend::TensorData randn(const std::vector<int64_t> &S, uint64_t Seed) {
  return tools::randomTensor(frontend::ScalarType::Float32, S, Seed);
}

} // namespace atalla::test

#endif // ATALLA_TESTS_MODELTESTSUPPORT_H
