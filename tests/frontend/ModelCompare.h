//===- tests/frontend/ModelCompare.h - structural Model equality -*- C++ -*-===//
//
// Compares two Models the way a consumer sees them: nodes (target, name,
// arguments), value metadata, signature, weights and sample inputs by value.
// Node metadata (stack traces) and provenance are not compared.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_FRONTEND_MODELCOMPARE_H
#define ATALLA_TESTS_FRONTEND_MODELCOMPARE_H

#include "frontend/Graph.h"
#include "frontend/Printers.h"

#include <gtest/gtest.h>

namespace atalla::test {

inline void expectSameTensors(const std::map<std::string, frontend::TensorData> &A,
                              const std::map<std::string, frontend::TensorData> &B, const char *What) {
  ASSERT_EQ(A.size(), B.size()) << What;
  for (const auto &[Name, T] : A) {
    auto It = B.find(Name);
    ASSERT_NE(It, B.end()) << What << " '" << Name << "' missing";
    EXPECT_EQ(T.Dtype, It->second.Dtype) << Name;
    EXPECT_EQ(T.Sizes, It->second.Sizes) << Name;
    EXPECT_EQ(T.contiguousBytes(), It->second.contiguousBytes()) << Name;
  }
}

inline void expectSameModel(const frontend::Model &A, const frontend::Model &B) {
  using namespace frontend;
  ASSERT_EQ(A.G.Nodes.size(), B.G.Nodes.size());
  for (size_t I = 0; I < A.G.Nodes.size(); ++I) {
    const Node &X = A.G.Nodes[I], &Y = B.G.Nodes[I];
    SCOPED_TRACE("node " + X.Name);
    EXPECT_EQ(X.Target, Y.Target);
    EXPECT_EQ(X.Name, Y.Name);
    ASSERT_EQ(X.Inputs.size(), Y.Inputs.size());
    for (size_t K = 0; K < X.Inputs.size(); ++K) {
      EXPECT_EQ(X.Inputs[K].Name, Y.Inputs[K].Name);
      EXPECT_TRUE(X.Inputs[K].Arg == Y.Inputs[K].Arg)
          << X.Inputs[K].Name << ": " << formatArgument(X.Inputs[K].Arg) << " vs "
          << formatArgument(Y.Inputs[K].Arg);
      EXPECT_EQ(X.Inputs[K].Defaulted, Y.Inputs[K].Defaulted) << X.Inputs[K].Name;
    }
    EXPECT_TRUE(X.Outputs == Y.Outputs);
  }
  EXPECT_TRUE(A.G.Inputs == B.G.Inputs);
  EXPECT_TRUE(A.G.Outputs == B.G.Outputs);
  ASSERT_EQ(A.G.Values.size(), B.G.Values.size());
  for (const auto &[Name, Meta] : A.G.Values) {
    const TensorMeta *Other = B.G.meta(Name);
    ASSERT_NE(Other, nullptr) << Name;
    EXPECT_TRUE(Meta == *Other) << "tensor_values['" << Name << "'] differs";
  }
  ASSERT_EQ(A.InputSpecs.size(), B.InputSpecs.size());
  for (size_t I = 0; I < A.InputSpecs.size(); ++I) {
    EXPECT_EQ(A.InputSpecs[I].Kind, B.InputSpecs[I].Kind);
    EXPECT_TRUE(A.InputSpecs[I].Arg == B.InputSpecs[I].Arg);
    EXPECT_EQ(A.InputSpecs[I].Target, B.InputSpecs[I].Target);
    EXPECT_EQ(A.InputSpecs[I].Persistent, B.InputSpecs[I].Persistent);
  }
  ASSERT_EQ(A.OutputSpecs.size(), B.OutputSpecs.size());
  for (size_t I = 0; I < A.OutputSpecs.size(); ++I) {
    EXPECT_EQ(A.OutputSpecs[I].Kind, B.OutputSpecs[I].Kind);
    EXPECT_TRUE(A.OutputSpecs[I].Arg == B.OutputSpecs[I].Arg);
    EXPECT_EQ(A.OutputSpecs[I].Target, B.OutputSpecs[I].Target);
  }
  EXPECT_EQ(A.forwardArgNames(), B.forwardArgNames());
  ASSERT_EQ(A.RangeConstraints.size(), B.RangeConstraints.size());
  expectSameTensors(A.Weights, B.Weights, "weight");
  expectSameTensors(A.Constants, B.Constants, "constant");
  ASSERT_EQ(A.SampleInputs.size(), B.SampleInputs.size());
  for (size_t I = 0; I < A.SampleInputs.size(); ++I) {
    EXPECT_EQ(A.SampleInputs[I].Dtype, B.SampleInputs[I].Dtype);
    EXPECT_EQ(A.SampleInputs[I].Sizes, B.SampleInputs[I].Sizes);
    EXPECT_EQ(A.SampleInputs[I].contiguousBytes(), B.SampleInputs[I].contiguousBytes());
  }
}

} // namespace atalla::test

#endif // ATALLA_TESTS_FRONTEND_MODELCOMPARE_H
