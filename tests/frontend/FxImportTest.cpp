//===- tests/frontend/FxImportTest.cpp - the atalla-fx interchange --------===//
//
// importFx (what atalla-import-fx and tools/make_zoo.py use): a small graph
// in the interchange becomes a Model whose archive reads back with the same
// graph, weights and sample input; each kind of malformed interchange is
// refused with one message naming the file and the node or key.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/ArchiveWriter.h"
#include "frontend/FxImport.h"
#include "TestSupport.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

using namespace atalla;
using namespace atalla::frontend;
using json = nlohmann::json;

namespace {

/// relu(x @ w) masked: where a constant mask is false, -inf; x [2,3] a user
/// input, w [3,4] a parameter, mask [2,4] a bool buffer.
json goodGraph() {
  return json::parse(R"({
    "format": "atalla-fx", "version": 1, "producer": "test", "model": "tiny",
    "placeholders": [
      {"name": "p_w", "kind": "parameter", "target": "w"},
      {"name": "b_mask", "kind": "buffer", "target": "mask"},
      {"name": "x", "kind": "user_input"}],
    "values": {
      "p_w": {"dtype": "float32", "sizes": [3, 4], "strides": [4, 1]},
      "b_mask": {"dtype": "bool", "sizes": [2, 4], "strides": [4, 1]},
      "x": {"dtype": "float32", "sizes": [2, 3], "strides": [3, 1]},
      "mm": {"dtype": "float32", "sizes": [2, 4], "strides": [4, 1]},
      "relu": {"dtype": "float32", "sizes": [2, 4], "strides": [4, 1]},
      "masked_fill": {"dtype": "float32", "sizes": [2, 4], "strides": [4, 1]}},
    "tensors": {
      "w": {"dtype": "float32", "sizes": [3, 4], "offset": 0, "nbytes": 48},
      "mask": {"dtype": "bool", "sizes": [2, 4], "offset": 64, "nbytes": 8},
      "input:x": {"dtype": "float32", "sizes": [2, 3], "offset": 128, "nbytes": 24}},
    "nodes": [
      {"name": "mm", "target": "torch.ops.aten.mm.default",
       "inputs": [{"name": "self", "kind": "positional", "arg": {"tensor": "x"}},
                  {"name": "mat2", "kind": "positional", "arg": {"tensor": "p_w"}}],
       "outputs": [{"tensor": "mm"}]},
      {"name": "relu", "target": "torch.ops.aten.relu.default",
       "inputs": [{"name": "self", "kind": "positional", "arg": {"tensor": "mm"}}],
       "outputs": [{"tensor": "relu"}]},
      {"name": "masked_fill", "target": "torch.ops.aten.masked_fill.Scalar",
       "inputs": [{"name": "self", "kind": "positional", "arg": {"tensor": "relu"}},
                  {"name": "mask", "kind": "positional", "arg": {"tensor": "b_mask"}},
                  {"name": "value", "kind": "positional", "arg": {"float": "-Infinity"}}],
       "outputs": [{"tensor": "masked_fill"}]}],
    "outputs": ["masked_fill"]})");
}

std::vector<uint8_t> goodPayload() {
  std::vector<uint8_t> P(152, 0);
  for (int I = 0; I < 12; ++I) {
    float V = float(I) - 5.5f;
    std::memcpy(&P[I * 4], &V, 4);
  }
  for (int I = 0; I < 8; ++I)
    P[64 + I] = I % 3 == 0;
  for (int I = 0; I < 6; ++I) {
    float V = 0.25f * float(I);
    std::memcpy(&P[128 + I * 4], &V, 4);
  }
  return P;
}

llvm::Expected<Model> import(const json &J, const std::vector<uint8_t> &P = goodPayload()) {
  std::string Text = J.dump();
  return importFx(Text, P, "tiny.fx.json");
}

} // namespace

TEST(FxImportTest, GraphWeightsAndSampleInputSurviveTheArchive) {
  ASSERT_EXPECTED(M, import(goodGraph()));
  ASSERT_EXPECTED(Bytes, writeModelArchive(M));
  ASSERT_EXPECTED(R, readModelFromBuffer(std::move(Bytes), "tiny.pt2"));
  ASSERT_EQ(R.G.Nodes.size(), 3u);
  EXPECT_EQ(R.G.Nodes[0].Target, "torch.ops.aten.mm.default");
  EXPECT_EQ(R.G.Nodes[2].Op, "masked_fill");
  EXPECT_EQ(R.G.Nodes[2].Overload, "Scalar");
  const NamedArgument *V = R.G.Nodes[2].input("value");
  ASSERT_NE(V, nullptr);
  EXPECT_TRUE(std::isinf(V->Arg.F) && V->Arg.F < 0);
  ASSERT_EQ(R.InputSpecs.size(), 3u);
  EXPECT_EQ(R.InputSpecs[0].Kind, InputKind::Parameter);
  EXPECT_EQ(R.InputSpecs[1].Kind, InputKind::Buffer);
  EXPECT_EQ(R.InputSpecs[2].Kind, InputKind::UserInput);
  ASSERT_EQ(R.Weights.count("w"), 1u);
  ASSERT_EQ(R.Weights.count("mask"), 1u);
  std::vector<uint8_t> P = goodPayload();
  EXPECT_EQ(R.Weights["w"].contiguousBytes(), std::vector<uint8_t>(P.begin(), P.begin() + 48));
  EXPECT_EQ(R.Weights["mask"].Dtype, ScalarType::Bool);
  EXPECT_EQ(R.Weights["mask"].contiguousBytes(), std::vector<uint8_t>(P.begin() + 64, P.begin() + 72));
  ASSERT_EQ(R.SampleInputs.size(), 1u);
  EXPECT_EQ(R.SampleInputs[0].contiguousBytes(), std::vector<uint8_t>(P.begin() + 128, P.begin() + 152));
  ASSERT_EQ(R.userOutputNames().size(), 1u);
  EXPECT_EQ(R.userOutputNames()[0], "masked_fill");
}

TEST(FxImportTest, MalformedInterchangeIsOneMessageNamingThePlace) {
  struct Case {
    const char *What;
    std::function<void(json &, std::vector<uint8_t> &)> Break;
    const char *Needle;
  };
  const std::vector<Case> Cases = {
      {"not atalla-fx", [](json &J, auto &) { J["format"] = "onnx"; }, "not an atalla-fx interchange file"},
      {"future version", [](json &J, auto &) { J["version"] = 2; }, "unsupported interchange version 2"},
      {"no nodes", [](json &J, auto &) { J.erase("nodes"); }, "top level"},
      {"unknown tag", [](json &J, auto &) { J["nodes"][1]["inputs"][0]["arg"] = {{"complex", 1}}; },
       "node 'relu' argument 'self': unknown argument tag 'complex'"},
      {"use before definition", [](json &J, auto &) { J["nodes"][0]["inputs"][0]["arg"] = {{"tensor", "relu"}}; },
       "node 'mm' argument 'self': uses 'relu' before it is defined"},
      {"bad target", [](json &J, auto &) { J["nodes"][0]["target"] = "aten.mm"; },
       "node 'mm': target 'aten.mm' is not torch.ops.<ns>.<op>.<overload>"},
      {"bad float", [](json &J, auto &) { J["nodes"][2]["inputs"][2]["arg"] = {{"float", "inf"}}; },
       "node 'masked_fill' argument 'value': expected a number or"},
      {"unknown dtype", [](json &J, auto &) { J["values"]["mm"]["dtype"] = "float7"; },
       "value 'mm': unknown dtype 'float7'"},
      {"strides and sizes", [](json &J, auto &) { J["values"]["x"]["strides"] = {1}; },
       "value 'x': has 2 sizes but 1 strides"},
      {"value without meta", [](json &J, auto &) { J["values"].erase("relu"); },
       "value 'relu': has no entry in 'values'"},
      {"payload outside the file", [](json &J, auto &) { J["tensors"]["w"]["offset"] = 140; },
       "tensor 'w': bytes 140..188 lie outside the 152-byte payload"},
      {"payload size", [](json &J, auto &) { J["tensors"]["w"]["nbytes"] = 40; },
       "tensor 'w': is 40 bytes, its dtype and sizes need 48"},
      {"no payload", [](json &J, auto &) { J["tensors"].erase("mask"); }, "tensor 'mask': has no entry"},
      {"payload and value differ", [](json &J, auto &) { J["tensors"]["w"]["sizes"] = {4, 3}; },
       "placeholder 0 'p_w': its payload's dtype or sizes differ"},
      {"unknown placeholder kind", [](json &J, auto &) { J["placeholders"][0]["kind"] = "weight"; },
       "placeholder 0 'p_w': unknown kind 'weight'"},
      {"output not defined", [](json &J, auto &) { J["outputs"] = {"nope"}; }, "outputs: output \"nope\""},
      {"defined twice", [](json &J, auto &) { J["nodes"][1]["outputs"][0]["tensor"] = "mm"; },
       "value 'mm': is defined twice"},
  };
  for (const Case &C : Cases) {
    SCOPED_TRACE(C.What);
    json J = goodGraph();
    std::vector<uint8_t> P = goodPayload();
    C.Break(J, P);
    auto M = import(J, P);
    ASSERT_FALSE(bool(M));
    std::string Msg = llvm::toString(M.takeError());
    EXPECT_NE(Msg.find("tiny.fx.json: "), std::string::npos) << Msg;
    EXPECT_NE(Msg.find(C.Needle), std::string::npos) << Msg;
    EXPECT_EQ(Msg.find('\n'), std::string::npos) << Msg;
  }
  auto M = importFx("{\"format\": ", goodPayload(), "tiny.fx.json");
  ASSERT_FALSE(bool(M));
  EXPECT_EQ(llvm::toString(M.takeError()), "tiny.fx.json: not valid JSON");
}
