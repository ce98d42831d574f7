//===- tests/frontend/SchemaReaderTest.cpp - schema versions without fixtures -===//
//
// Schema shapes that no shared fixture has: torch 2.1's (no schema_version,
// TensorValue {meta} wrappers, the dict-style GraphSignature, call_spec),
// all-tags-with-nulls unions holding as_none, symbolic arguments, and the
// newer Argument tags. To add a case, write the smallest model.json showing
// the shape and assert what the Model must hold.
//
//===----------------------------------------------------------------------===//
#include "frontend/SchemaReader.h"
#include "TestSupport.h"

#include <cmath>

using namespace atalla;
using namespace atalla::frontend;

TEST(SchemaReaderTest, Torch21Shape) {
  const char *Json = R"({
    "graph_module": {
      "graph": {
        "inputs": [{"as_tensor": {"name": "arg0_1"}}, {"as_tensor": {"name": "arg1_1"}}],
        "outputs": [{"as_tensor": {"name": "relu"}}],
        "nodes": [{"target": "torch.ops.aten.relu.default",
                   "inputs": [{"name": "self", "arg": {"as_tensor": {"name": "arg1_1"}}}],
                   "outputs": [{"as_tensor": {"name": "relu"}}], "metadata": {}}],
        "tensor_values": {
          "arg0_1": {"meta": {"dtype": 7, "sizes": [{"as_int": 3}], "requires_grad": true,
                              "device": {"type": "cpu", "index": null},
                              "strides": [{"as_int": 1}], "storage_offset": 0, "layout": 7}},
          "arg1_1": {"meta": {"dtype": 7, "sizes": [{"as_expr": "s0"}, {"as_int": 3}], "requires_grad": false,
                              "device": {"type": "cpu", "index": null},
                              "strides": [{"as_int": 3}, {"as_int": 1}], "storage_offset": 0, "layout": 7}},
          "relu": {"meta": {"dtype": 7, "sizes": [{"as_expr": "s0"}, {"as_int": 3}], "requires_grad": false,
                            "device": {"type": "cpu", "index": null},
                            "strides": [{"as_int": 3}, {"as_int": 1}], "storage_offset": 0, "layout": 7}}},
        "sym_int_values": {}, "sym_bool_values": {}},
      "signature": {"inputs_to_parameters": {"arg0_1": "fc.bias"}, "inputs_to_buffers": {},
                    "user_inputs": ["arg1_1"], "user_outputs": ["relu"], "buffers_to_mutate": {},
                    "backward_signature": null},
      "call_spec": {"in_spec": "spec-in", "out_spec": "spec-out"}},
    "opset_version": {"aten": 9},
    "range_constraints": {"s0": {"min_val": 2, "max_val": 9223372036854775806}},
    "equality_constraints": []})";
  Model M;
  ASSERT_NO_ERROR(readExportedProgramJson(Json, "model.json", M));
  EXPECT_EQ(M.SchemaMajor, 1);
  ASSERT_EQ(M.InputSpecs.size(), 2u);
  EXPECT_EQ(M.InputSpecs[0].Kind, InputKind::Parameter);
  EXPECT_EQ(M.InputSpecs[0].Target, "fc.bias");
  EXPECT_EQ(M.InputSpecs[1].Kind, InputKind::UserInput);
  EXPECT_EQ(M.userOutputNames(), std::vector<std::string>{"relu"});
  EXPECT_EQ(M.G.Nodes[0].Name, "relu"); // no node names before 8.x: named after the output
  const TensorMeta *X = M.G.meta("arg1_1");
  ASSERT_NE(X, nullptr);
  EXPECT_EQ(X->Sizes[0].Expr, "s0");
  EXPECT_TRUE(X->RequiresGrad == false);
  EXPECT_EQ(M.RangeConstraints.at("s0").Min, 2);
  ASSERT_EQ(M.ModuleCallGraph.size(), 1u);
  EXPECT_EQ(M.ModuleCallGraph[0].InSpec, "spec-in");
}

TEST(SchemaReaderTest, AllTagUnionsWithNone) {
  // 2.2 writes every tag; an absent optional is as_none: [] or null.
  const char *Json = R"({"graph_module": {"graph": {
      "inputs": [{"as_none": null, "as_tensor": {"name": "x"}, "as_int": null}],
      "outputs": [{"as_none": null, "as_tensor": {"name": "y"}, "as_int": null}],
      "nodes": [{"target": "torch.ops.aten.clamp.default", "inputs": [
          {"name": "self", "arg": {"as_none": null, "as_tensor": {"name": "x"}, "as_int": null}},
          {"name": "min", "arg": {"as_none": [], "as_tensor": null, "as_int": null}},
          {"name": "max", "arg": {"as_none": null, "as_tensor": null, "as_int": 6}}],
        "outputs": [{"as_none": null, "as_tensor": {"name": "y"}, "as_int": null}], "metadata": {}}],
      "tensor_values": {
        "x": {"dtype": 7, "sizes": [{"as_expr": null, "as_int": 2}], "requires_grad": false,
              "device": {"type": "cpu", "index": null}, "strides": [{"as_expr": null, "as_int": 1}],
              "storage_offset": 0, "layout": 7},
        "y": {"dtype": 7, "sizes": [{"as_expr": null, "as_int": 2}], "requires_grad": false,
              "device": {"type": "cpu", "index": null}, "strides": [{"as_expr": null, "as_int": 1}],
              "storage_offset": 0, "layout": 7}},
      "sym_int_values": {}, "sym_bool_values": {}},
    "signature": {"input_specs": [{"user_input": {"arg": {"as_none": null, "as_tensor": {"name": "x"}, "as_int": null}},
                                   "parameter": null, "buffer": null, "tensor_constant": null}],
                  "output_specs": [{"user_output": {"arg": {"as_none": null, "as_tensor": {"name": "y"}, "as_int": null}},
                                    "loss_output": null, "buffer_mutation": null}]},
    "module_call_graph": []},
    "opset_version": {"aten": 10}, "range_constraints": {}, "schema_version": 2, "dialect": "ATEN"})";
  Model M;
  ASSERT_NO_ERROR(readExportedProgramJson(Json, "model.json", M));
  const Node &N = M.G.Nodes[0];
  EXPECT_EQ(N.input("min")->Arg.Kind, ArgKind::None);
  EXPECT_EQ(N.input("max")->Arg.Kind, ArgKind::Int);
  EXPECT_EQ(N.input("max")->Arg.I, 6);
}

TEST(SchemaReaderTest, NewerArgumentTags) {
  const char *Json = R"({"graph_module": {"graph": {
      "inputs": [{"as_tensor": {"name": "x"}}], "outputs": [{"as_tensor": {"name": "y"}}],
      "nodes": [{"target": "torch.ops.my.op.default", "inputs": [
          {"name": "a", "arg": {"as_sym_ints": [{"as_name": "s0"}, {"as_int": 4}]}, "kind": 1},
          {"name": "b", "arg": {"as_optional_tensors": [{"as_tensor": {"name": "x"}}, {"as_none": true}]}, "kind": 1},
          {"name": "c", "arg": {"as_complex": {"real": 1.5, "imag": -2.0}}, "kind": 2},
          {"name": "d", "arg": {"as_int_lists": [[1, 2], [3]]}, "kind": 2},
          {"name": "e", "arg": {"as_float": "Infinity"}, "kind": 2},
          {"name": "f", "arg": {"as_string_to_argument": {"k": {"as_int": 1}}}, "kind": 2},
          {"name": "g", "arg": {"as_optional_tensor": {"as_none": true}}, "kind": 2},
          {"name": "h", "arg": {"as_sym_float": {"as_name": "f0"}}, "kind": 2}],
        "outputs": [{"as_tensor": {"name": "y"}}], "metadata": {}, "name": "op"}],
      "tensor_values": {
        "x": {"dtype": 13, "sizes": [{"as_int": 2}], "requires_grad": false, "device": {"type": "cpu", "index": null},
              "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}, "layout": 7},
        "y": {"dtype": 13, "sizes": [{"as_int": 2}], "requires_grad": false, "device": {"type": "cpu", "index": null},
              "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}, "layout": 7}},
      "sym_int_values": {"s0": {"as_expr": {"expr_str": "s0", "hint": {"as_int": 3}}}}, "sym_bool_values": {}},
    "signature": {"input_specs": [{"user_input": {"arg": {"as_tensor": {"name": "x"}}}}],
                  "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "y"}}}}]},
    "module_call_graph": []},
    "opset_version": {"aten": 10}, "range_constraints": {}, "schema_version": {"major": 8, "minor": 99}})";
  Model M;
  ASSERT_NO_ERROR(readExportedProgramJson(Json, "model.json", M));
  const Node &N = M.G.Nodes[0];
  EXPECT_EQ(N.Ns, "my");
  EXPECT_EQ(N.input("a")->Arg.Kind, ArgKind::SymInts);
  EXPECT_EQ(N.input("a")->Arg.Elems[0].S, "s0");
  EXPECT_EQ(N.input("a")->Arg.Elems[1].I, 4);
  EXPECT_EQ(N.input("b")->Arg.Elems[1].Kind, ArgKind::None);
  EXPECT_DOUBLE_EQ(N.input("c")->Arg.Imag, -2.0);
  EXPECT_EQ(N.input("d")->Arg.Elems.size(), 2u);
  EXPECT_TRUE(std::isinf(N.input("e")->Arg.F));
  EXPECT_EQ(N.input("f")->Arg.Keys, std::vector<std::string>{"k"});
  EXPECT_EQ(N.input("g")->Arg.Kind, ArgKind::OptionalTensor);
  EXPECT_EQ(N.input("h")->Arg.Kind, ArgKind::SymFloat);
  EXPECT_EQ(M.G.meta("x")->Dtype, ScalarType::BFloat16);
  EXPECT_EQ(M.G.SymInts.at("s0").Hint, 3);
}

TEST(SchemaReaderTest, PythonsBareNonFiniteTokensFromTorch21To26) {
  // torch 2.1-2.6 wrote non-finite floats with Python's json defaults: bare
  // -Infinity, Infinity and NaN (not JSON; torch >= 2.7 writes strings). A
  // causal mask's masked_fill(..., -inf) carries one. Inside strings the
  // same letters are text and stay as they are.
  const char *Json = R"J({"graph_module": {"graph": {
      "inputs": [{"as_tensor": {"name": "x"}}], "outputs": [{"as_tensor": {"name": "y"}}],
      "nodes": [{"target": "torch.ops.my.op.default", "inputs": [
          {"name": "a", "arg": {"as_float": -Infinity}, "kind": 1},
          {"name": "b", "arg": {"as_float":Infinity}, "kind": 1},
          {"name": "c", "arg": {"as_floats": [NaN, 1.5, -Infinity]}, "kind": 1},
          {"name": "d", "arg": {"as_string": "NaN -Infinity \" Infinity"}, "kind": 1}],
        "outputs": [{"as_tensor": {"name": "y"}}], "metadata": {"stack_trace": "masked_fill(m, float('-Infinity'))"},
        "name": "op"}],
      "tensor_values": {
        "x": {"dtype": 7, "sizes": [{"as_int": 2}], "requires_grad": false, "device": {"type": "cpu", "index": null},
              "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}, "layout": 7},
        "y": {"dtype": 7, "sizes": [{"as_int": 2}], "requires_grad": false, "device": {"type": "cpu", "index": null},
              "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}, "layout": 7}},
      "sym_int_values": {}, "sym_bool_values": {}},
    "signature": {"input_specs": [{"user_input": {"arg": {"as_tensor": {"name": "x"}}}}],
                  "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "y"}}}}]},
    "module_call_graph": []},
    "opset_version": {"aten": 10}, "range_constraints": {}, "schema_version": {"major": 5, "minor": 1}})J";
  Model M;
  ASSERT_NO_ERROR(readExportedProgramJson(Json, "model.json", M));
  const Node &N = M.G.Nodes[0];
  EXPECT_TRUE(std::isinf(N.input("a")->Arg.F) && N.input("a")->Arg.F < 0);
  EXPECT_TRUE(std::isinf(N.input("b")->Arg.F) && N.input("b")->Arg.F > 0);
  ASSERT_EQ(N.input("c")->Arg.Elems.size(), 3u);
  EXPECT_TRUE(std::isnan(N.input("c")->Arg.Elems[0].F));
  EXPECT_EQ(N.input("c")->Arg.Elems[1].F, 1.5);
  EXPECT_TRUE(std::isinf(N.input("c")->Arg.Elems[2].F));
  EXPECT_EQ(N.input("d")->Arg.S, "NaN -Infinity \" Infinity");
  // A word that only starts like one is still not JSON: one error, naming the file.
  Model Bad;
  llvm::Error E = readExportedProgramJson(R"({"graph_module": {"graph": {"inputs": [NaNa]}}})", "model.json", Bad);
  ASSERT_TRUE(bool(E));
  EXPECT_NE(llvm::toString(std::move(E)).find("model.json: malformed JSON"), std::string::npos);
}

TEST(SchemaReaderTest, SympyReprIsSimplified) {
  EXPECT_EQ(simplifySymbolicExpr("Symbol('s77', positive=True, integer=True)"), "s77");
  EXPECT_EQ(simplifySymbolicExpr("Add(Symbol('s0', integer=True), Integer(1))"), "Add(s0, 1)");
}
