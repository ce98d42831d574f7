//===- tools/DemoModels.h - the seed demo model, built in code --*- C++ -*-===//
//
// The seed's demo model softmax(matmul(relu(x), w), -1), x [4,8], w [8,16],
// with closed-form inputs (exact binary fractions) that
// tools/export_with_torch2.py builds identically in PyTorch, so the archive
// the project writes and the one real torch writes can be compared value for
// value (tests/frontend/WriterTest.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TOOLS_DEMOMODELS_H
#define ATALLA_TOOLS_DEMOMODELS_H

#include "frontend/ModelBuilder.h"

#include <cstring>

namespace atalla::tools {

/// v[i] = ((i * Mul) % Mod - Off) / Div as float32, row-major in \p Sizes.
inline frontend::TensorData demoValues(const std::vector<int64_t> &Sizes, int Mul, int Mod, int Off,
                                       float Div) {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  std::vector<uint8_t> Bytes(N * 4);
  for (int64_t I = 0; I < N; ++I) {
    float V = static_cast<float>((I * Mul) % Mod - Off) / Div;
    std::memcpy(Bytes.data() + I * 4, &V, 4);
  }
  return frontend::TensorData::fromBytes(frontend::ScalarType::Float32, Sizes, std::move(Bytes));
}
inline frontend::TensorData demoX(const std::vector<int64_t> &Sizes) { return demoValues(Sizes, 37, 29, 14, 8.0f); }
inline frontend::TensorData demoW(const std::vector<int64_t> &Sizes) { return demoValues(Sizes, 53, 31, 15, 16.0f); }

/// TestModel of the seed's my_accel_backend_prototype.py.
inline frontend::Model buildSeedAccelDemo() {
  using frontend::Argument;
  using frontend::ModelBuilder;
  using frontend::ScalarType;
  ModelBuilder B;
  std::string X = B.addUserInput("x", demoX({4, 8}));
  std::string W = B.addUserInput("w", demoW({8, 16}));
  auto Meta = [](const char *Fn) {
    return std::map<std::string, std::string>{{"nn_module_stack", "L__self__,,__main__.TestModel"},
                                              {"torch_fn", Fn}};
  };
  std::string Relu = B.addNode("torch.ops.aten.relu.default", {ModelBuilder::arg("self", Argument::tensor(X))},
                               ScalarType::Float32, {4, 8}, Meta("relu_1;builtin_function_or_method.relu"));
  std::string Mm = B.addNode("torch.ops.aten.matmul.default",
                             {ModelBuilder::arg("self", Argument::tensor(Relu)),
                              ModelBuilder::arg("other", Argument::tensor(W))},
                             ScalarType::Float32, {4, 16}, Meta("matmul_1;builtin_function_or_method.matmul"));
  std::string Sm = B.addNode("torch.ops.aten.softmax.int",
                             {ModelBuilder::arg("self", Argument::tensor(Mm)),
                              ModelBuilder::arg("dim", Argument::integer(-1))},
                             ScalarType::Float32, {4, 16}, Meta("softmax_1;builtin_function_or_method.softmax"));
  B.addOutput(Sm);
  frontend::Model M = B.take();
  M.Path = "seed_accel_demo.pt2";
  return M;
}

} // namespace atalla::tools

#endif // ATALLA_TOOLS_DEMOMODELS_H
