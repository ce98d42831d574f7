//===- tests/FallbackModelSupport.h - a model that needs the fallback -*- C++ -*-===//
//
// y = atan(x) + asinh(x), x float32 [100]: two ops no device kernel
// implements (they run in the LibTorch fallback, in a segment of their own)
// and one add on the accelerator. Tests of --accel-only, the coverage
// report and partitioning use it instead of a fixture, so that they keep
// meaning what they say as the kernel set grows.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_FALLBACKMODELSUPPORT_H
#define ATALLA_TESTS_FALLBACKMODELSUPPORT_H

#include "frontend/ArchiveWriter.h"
#include "frontend/ModelBuilder.h"

#include <cmath>
#include <cstring>

namespace atalla::test {

inline frontend::Model twoFallbackModel() {
  using frontend::Argument;
  using frontend::ScalarType;
  std::vector<uint8_t> Bytes(400);
  for (int I = 0; I < 100; ++I) {
    float V = float(std::sin(0.37 * I) * 3.0);
    std::memcpy(&Bytes[size_t(I) * 4], &V, 4);
  }
  frontend::ModelBuilder B;
  std::string X = B.addUserInput("x", frontend::TensorData::fromBytes(ScalarType::Float32, {100}, Bytes));
  std::string A = B.addNode("torch.ops.aten.atan.default", {frontend::ModelBuilder::arg("self", Argument::tensor(X))},
                            ScalarType::Float32, {100});
  std::string S = B.addNode("torch.ops.aten.asinh.default", {frontend::ModelBuilder::arg("self", Argument::tensor(X))},
                            ScalarType::Float32, {100});
  B.addOutput(B.addNode("torch.ops.aten.add.Tensor",
                        {frontend::ModelBuilder::arg("self", Argument::tensor(A)),
                         frontend::ModelBuilder::arg("other", Argument::tensor(S))},
                        ScalarType::Float32, {100}));
  frontend::Model M = B.take();
  M.Path = "two_fallbacks.pt2";
  return M;
}

} // namespace atalla::test

#endif // ATALLA_TESTS_FALLBACKMODELSUPPORT_H
