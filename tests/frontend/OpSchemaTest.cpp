//===- tests/frontend/OpSchemaTest.cpp - schema parser and table ---------===//
//
// How to add a case:
//  - A new row in OpSchemas.def is covered by EveryDefRowParses and
//    NoDuplicateOverloads without touching this file; add it to
//    RequiredOverloads below if the frontend must never lose it, and add a
//    TEST for any default the frontend relies on (copy a spot check).
//  - A parser feature gets a synthetic schema string in a TEST next to
//    ParsesDefaultsWithBracketsCommasAndQuotes.
//  - A malformed-input case is one more row in MalformedCases: the text and the
//    fragment the error must contain (usually "column N").
//
//===----------------------------------------------------------------------===//
#include "frontend/OpSchema.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace atalla::frontend;

namespace {

const char *const DefRows[] = {
#define ATALLA_OP_SCHEMA(TEXT) TEXT,
#include "frontend/OpSchemas.def"
};

OpSchema parseOrDie(llvm::StringRef Text) {
  llvm::Expected<OpSchema> Schema = parseOpSchema(Text);
  if (!Schema) {
    ADD_FAILURE() << llvm::toString(Schema.takeError());
    return OpSchema();
  }
  return std::move(*Schema);
}

/// Looks up and fails the test (returning a dummy) when the table lacks it,
/// so spot checks read as plain field comparisons.
const OpSchema &schemaOf(llvm::StringRef Name, llvm::StringRef Overload) {
  static const OpSchema Missing;
  const OpSchema *Schema = lookupOpSchema(Name, Overload);
  if (!Schema) {
    ADD_FAILURE() << "no schema for " << Name.str() << "." << Overload.str();
    return Missing;
  }
  return *Schema;
}

const SchemaArg &argOf(const OpSchema &Schema, llvm::StringRef Name) {
  static const SchemaArg Missing;
  const SchemaArg *Arg = Schema.findArg(Name);
  if (!Arg) {
    ADD_FAILURE() << Schema.Text << " has no argument " << Name.str();
    return Missing;
  }
  return *Arg;
}

std::string defaultOf(const OpSchema &Schema, llvm::StringRef Name) {
  const SchemaArg &Arg = argOf(Schema, Name);
  return Arg.Default ? *Arg.Default : "<no default>";
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

TEST(OpSchemaTable, EveryDefRowParses) {
  for (const char *Row : DefRows) {
    llvm::Expected<OpSchema> Schema = parseOpSchema(Row);
    ASSERT_TRUE(static_cast<bool>(Schema))
        << llvm::toString(Schema.takeError());
    EXPECT_EQ(Schema->Text, Row);
  }
}

TEST(OpSchemaTable, AllOpSchemasHoldsEveryRowInOrder) {
  llvm::ArrayRef<OpSchema> All = allOpSchemas();
  ASSERT_EQ(All.size(), std::size(DefRows));
  for (size_t I = 0; I < All.size(); ++I)
    EXPECT_EQ(All[I].Text, DefRows[I]);
}

TEST(OpSchemaTable, NoDuplicateOverloads) {
  std::set<std::string> Seen;
  for (const OpSchema &Schema : allOpSchemas())
    EXPECT_TRUE(Seen.insert(Schema.qualifiedName()).second)
        << "duplicate row for " << Schema.qualifiedName();
}

TEST(OpSchemaTable, EveryRowIsFoundByLookup) {
  for (const OpSchema &Schema : allOpSchemas()) {
    const OpSchema *Found = lookupOpSchema(Schema.Name, Schema.Overload);
    ASSERT_NE(Found, nullptr) << Schema.Text;
    EXPECT_EQ(Found, &Schema);
  }
}

TEST(OpSchemaTable, NoOutVariants) {
  // Exports are functional; an out= row would only shadow the real one.
  for (const OpSchema &Schema : allOpSchemas())
    EXPECT_EQ(Schema.findArg("out"), nullptr) << Schema.Text;
}

/// Overloads the brief for this table names; losing one silently would
/// change what the frontend fills in.
// clang-format off
const char *const RequiredOverloads[] = {
    "relu", "relu_", "gelu", "silu", "sigmoid", "tanh", "exp", "log", "sin",
    "cos", "sqrt", "rsqrt", "neg", "abs", "erf", "pow.Tensor_Scalar",
    "pow.Tensor_Tensor", "pow.Scalar", "add.Tensor", "add.Scalar",
    "sub.Tensor", "sub.Scalar", "mul.Tensor", "mul.Scalar", "div.Tensor",
    "div.Scalar", "div.Tensor_mode", "rsub.Tensor", "rsub.Scalar", "clamp",
    "clamp_min", "hardtanh", "leaky_relu", "softmax.int", "_softmax",
    "log_softmax.int", "_log_softmax", "matmul", "mm", "bmm", "addmm",
    "linear", "baddbmm", "t", "numpy_T", "transpose.int", "permute", "view",
    "reshape", "_unsafe_view", "unsqueeze", "squeeze", "squeeze.dim",
    "squeeze.dims", "flatten.using_ints", "expand", "contiguous", "clone",
    "slice.Tensor", "select.int", "index_select", "cat", "stack",
    "split.Tensor", "split_with_sizes", "chunk", "conv2d", "convolution",
    "conv_transpose2d.input", "conv1d", "batch_norm",
    "_native_batch_norm_legit_no_training", "native_batch_norm",
    "layer_norm", "native_layer_norm", "group_norm", "max_pool2d",
    "max_pool2d_with_indices", "avg_pool2d", "adaptive_avg_pool2d",
    "mean.dim", "sum.dim_IntList", "sum", "amax", "max.dim", "argmax",
    "ge.Tensor", "ge.Scalar", "gt.Tensor", "gt.Scalar", "le.Tensor",
    "le.Scalar", "lt.Tensor", "lt.Scalar", "eq.Tensor", "eq.Scalar",
    "ne.Tensor", "ne.Scalar", "where.self", "masked_fill.Scalar", "to.dtype",
    "to.dtype_layout", "_to_copy", "type_as", "detach", "detach_", "alias",
    "lift_fresh_copy", "dropout", "embedding", "scaled_dot_product_attention",
    "_assert_tensor_metadata", "zeros_like", "ones_like", "full",
    "arange.start_step", "sym_size.int", "logical_not", "bitwise_not",
    "topk", "cumsum", "tril", "triu", "pad", "constant_pad_nd",
    "upsample_nearest2d", "upsample_nearest2d.vec", "hardswish",
    "hardsigmoid", "mish", "elu", "softplus", "prelu", "linalg_vector_norm",
    "var.correction", "std.correction", "scalar_tensor", "copy",
};
// clang-format on

TEST(OpSchemaTable, RequiredOverloadsArePresent) {
  for (llvm::StringRef Qualified : RequiredOverloads) {
    auto [Name, Overload] = Qualified.split('.');
    EXPECT_NE(lookupOpSchema(Name, Overload), nullptr) << Qualified.str();
  }
}

//===----------------------------------------------------------------------===//
// Spot checks against native_functions.yaml
//===----------------------------------------------------------------------===//

TEST(OpSchemaSpot, SoftmaxIntDtypeDefaultsToNone) {
  const OpSchema &S = schemaOf("softmax", "int");
  ASSERT_EQ(S.Args.size(), 3u);
  EXPECT_EQ(S.Args[0].Name, "self");
  EXPECT_EQ(S.Args[1].Name, "dim");
  EXPECT_FALSE(S.Args[1].Default.has_value());
  EXPECT_EQ(S.Args[2].Name, "dtype");
  EXPECT_EQ(S.Args[2].Type, "ScalarType?");
  EXPECT_EQ(defaultOf(S, "dtype"), "None");
  // softmax keeps dtype positional (the yaml says so, for TorchScript BC).
  EXPECT_FALSE(S.Args[2].KwargOnly);
  EXPECT_EQ(S.Returns, std::vector<std::string>{"Tensor"});
}

TEST(OpSchemaSpot, AddTensorAlphaIsKwargOnlyOne) {
  const OpSchema &S = schemaOf("add", "Tensor");
  ASSERT_EQ(S.Args.size(), 3u);
  EXPECT_FALSE(S.Args[0].KwargOnly);
  EXPECT_FALSE(S.Args[1].KwargOnly);
  EXPECT_EQ(S.Args[2].Name, "alpha");
  EXPECT_TRUE(S.Args[2].KwargOnly);
  EXPECT_EQ(S.Args[2].Type, "Scalar");
  EXPECT_EQ(defaultOf(S, "alpha"), "1");
  // The Scalar overload takes alpha positionally.
  EXPECT_FALSE(argOf(schemaOf("add", "Scalar"), "alpha").KwargOnly);
}

TEST(OpSchemaSpot, LayerNormEpsAndCudnnEnable) {
  const OpSchema &S = schemaOf("layer_norm", "");
  EXPECT_EQ(argOf(S, "normalized_shape").Type, "SymInt[]");
  EXPECT_EQ(defaultOf(S, "weight"), "None");
  EXPECT_EQ(defaultOf(S, "bias"), "None");
  EXPECT_EQ(defaultOf(S, "eps"), "1e-05");
  EXPECT_EQ(defaultOf(S, "cudnn_enable"), "True");
}

TEST(OpSchemaSpot, Conv2dDefaultsAreScalarsOnFixedLists) {
  // The yaml writes "SymInt[2] dilation=1", not "[1, 1]": a scalar default
  // on a fixed-size list means the value repeated.
  const OpSchema &S = schemaOf("conv2d", "default");
  EXPECT_EQ(argOf(S, "stride").Type, "SymInt[2]");
  EXPECT_EQ(defaultOf(S, "bias"), "None");
  EXPECT_EQ(defaultOf(S, "stride"), "1");
  EXPECT_EQ(defaultOf(S, "padding"), "0");
  EXPECT_EQ(defaultOf(S, "dilation"), "1");
  EXPECT_EQ(defaultOf(S, "groups"), "1");
  SchemaType Stride = parseSchemaType(argOf(S, "stride").Type);
  EXPECT_EQ(Stride.Base, "SymInt");
  EXPECT_TRUE(Stride.List);
  EXPECT_EQ(Stride.FixedSize, 2);
}

TEST(OpSchemaSpot, GeluApproximateIsQuotedNone) {
  // The yaml quotes with single quotes: approximate='none'.
  const OpSchema &S = schemaOf("gelu", "");
  const SchemaArg &Approx = argOf(S, "approximate");
  EXPECT_TRUE(Approx.KwargOnly);
  EXPECT_EQ(Approx.Type, "str");
  ASSERT_TRUE(Approx.Default.has_value());
  EXPECT_EQ(*Approx.Default, "'none'");
  EXPECT_EQ(unquoteSchemaString(*Approx.Default), std::string("none"));
}

TEST(OpSchemaSpot, BatchNormHasNoDefaults) {
  const OpSchema &S = schemaOf("batch_norm", "");
  ASSERT_EQ(S.Args.size(), 9u);
  for (const SchemaArg &Arg : S.Args)
    EXPECT_FALSE(Arg.Default.has_value()) << Arg.Name;
  EXPECT_EQ(argOf(S, "training").Type, "bool");
  EXPECT_EQ(argOf(S, "momentum").Type, "float");
  EXPECT_EQ(argOf(S, "eps").Type, "float");
}

TEST(OpSchemaSpot, MaxPool2dStrideDefaultsToEmptyList) {
  const OpSchema &S = schemaOf("max_pool2d", "");
  EXPECT_EQ(argOf(S, "kernel_size").Type, "int[2]");
  EXPECT_EQ(defaultOf(S, "stride"), "[]");
  EXPECT_EQ(defaultOf(S, "padding"), "0");
  EXPECT_EQ(defaultOf(S, "ceil_mode"), "False");
}

TEST(OpSchemaSpot, ChunkAliasAnnotationsAreKept) {
  const OpSchema &S = schemaOf("chunk", "");
  EXPECT_EQ(argOf(S, "self").Type, "Tensor(a -> *)");
  EXPECT_EQ(S.Returns, std::vector<std::string>{"Tensor(a)[]"});
  SchemaType Ret = parseSchemaType(S.Returns[0]);
  EXPECT_EQ(Ret.Base, "Tensor");
  EXPECT_TRUE(Ret.List);
}

TEST(OpSchemaSpot, TupleReturnsDropNames) {
  EXPECT_EQ(schemaOf("max", "dim").Returns,
            (std::vector<std::string>{"Tensor", "Tensor"}));
  EXPECT_EQ(schemaOf("native_layer_norm", "").Returns,
            (std::vector<std::string>{"Tensor", "Tensor", "Tensor"}));
}

TEST(OpSchemaSpot, AssertTensorMetadataReturnsNothing) {
  const OpSchema &S = schemaOf("aten::_assert_tensor_metadata", "default");
  EXPECT_TRUE(S.Returns.empty());
  EXPECT_FALSE(argOf(S, "dtype").KwargOnly);
  EXPECT_TRUE(argOf(S, "device").KwargOnly);
  EXPECT_EQ(defaultOf(S, "layout"), "None");
}

TEST(OpSchemaSpot, ToDtypeLayoutIsAllKeywords) {
  const OpSchema &S = schemaOf("to", "dtype_layout");
  ASSERT_FALSE(S.Args.empty());
  EXPECT_FALSE(S.Args[0].KwargOnly);
  for (size_t I = 1; I < S.Args.size(); ++I)
    EXPECT_TRUE(S.Args[I].KwargOnly) << S.Args[I].Name;
  EXPECT_EQ(defaultOf(S, "non_blocking"), "False");
  EXPECT_EQ(defaultOf(S, "memory_format"), "None");
}

TEST(OpSchemaSpot, EnumLikeDefaultsStayAsWritten) {
  EXPECT_EQ(defaultOf(schemaOf("contiguous", ""), "memory_format"),
            "contiguous_format");
  EXPECT_EQ(defaultOf(schemaOf("pad", ""), "mode"), "\"constant\"");
  EXPECT_EQ(defaultOf(schemaOf("leaky_relu", ""), "negative_slope"), "0.01");
  EXPECT_EQ(defaultOf(schemaOf("hardtanh", ""), "min_val"), "-1");
  EXPECT_EQ(defaultOf(schemaOf("slice", "Tensor"), "step"), "1");
}

TEST(OpSchemaSpot, OptionalListsAndOptionalElements) {
  SchemaType Indices =
      parseSchemaType(argOf(schemaOf("index", "Tensor"), "indices").Type);
  EXPECT_EQ(Indices.Base, "Tensor");
  EXPECT_TRUE(Indices.List);
  EXPECT_TRUE(Indices.OptionalElements);
  EXPECT_FALSE(Indices.Optional);

  SchemaType Dim = parseSchemaType(argOf(schemaOf("mean", "dim"), "dim").Type);
  EXPECT_EQ(Dim.Base, "int");
  EXPECT_TRUE(Dim.List);
  EXPECT_EQ(Dim.FixedSize, 1);
  EXPECT_TRUE(Dim.Optional);
  EXPECT_FALSE(Dim.OptionalElements);
}

//===----------------------------------------------------------------------===//
// Lookup
//===----------------------------------------------------------------------===//

TEST(OpSchemaLookup, AtenPrefixAndDefaultOverload) {
  const OpSchema *Plain = lookupOpSchema("gelu", "");
  ASSERT_NE(Plain, nullptr);
  EXPECT_EQ(lookupOpSchema("gelu", "default"), Plain);
  EXPECT_EQ(lookupOpSchema("aten::gelu", "default"), Plain);
  EXPECT_EQ(lookupOpSchema("aten::gelu", ""), Plain);

  const OpSchema *Softmax = lookupOpSchema("aten::softmax", "int");
  ASSERT_NE(Softmax, nullptr);
  EXPECT_EQ(Softmax->Name, "softmax");
  EXPECT_EQ(Softmax->Overload, "int");
  EXPECT_EQ(Softmax->qualifiedName(), "softmax.int");
}

TEST(OpSchemaLookup, UnknownOpsAndOverloadsAreNull) {
  EXPECT_EQ(lookupOpSchema("not_an_op", ""), nullptr);
  EXPECT_EQ(lookupOpSchema("softmax", ""), nullptr); // only .int is listed
  EXPECT_EQ(lookupOpSchema("add", "out"), nullptr);
  EXPECT_EQ(lookupOpSchema("prims::add", "default"), nullptr);
}

//===----------------------------------------------------------------------===//
// The parser on synthetic strings
//===----------------------------------------------------------------------===//

TEST(OpSchemaParse, ParsesDefaultsWithBracketsCommasAndQuotes) {
  OpSchema S = parseOrDie("foo.bar(Tensor(a!) self, int[2] padding=[0, 0], "
                          "str s=\"a, (b]\", str t='x)y', "
                          "*, float eps=1e-05) -> (Tensor a, Tensor b)");
  EXPECT_EQ(S.Name, "foo");
  EXPECT_EQ(S.Overload, "bar");
  ASSERT_EQ(S.Args.size(), 5u);
  EXPECT_EQ(S.Args[0].Type, "Tensor(a!)");
  EXPECT_EQ(S.Args[0].Name, "self");
  EXPECT_EQ(S.Args[1].Default, std::string("[0, 0]"));
  EXPECT_EQ(S.Args[2].Default, std::string("\"a, (b]\""));
  EXPECT_EQ(S.Args[3].Default, std::string("'x)y'"));
  EXPECT_FALSE(S.Args[3].KwargOnly);
  EXPECT_TRUE(S.Args[4].KwargOnly);
  EXPECT_EQ(S.Args[4].Default, std::string("1e-05"));
  EXPECT_EQ(S.Returns, (std::vector<std::string>{"Tensor", "Tensor"}));
}

TEST(OpSchemaParse, EscapedQuotesInStringDefaults) {
  // native_functions.yaml's own torture test, _test_string_default.
  OpSchema S = parseOrDie(R"(_test_string_default(Tensor dummy, )"
                          R"(str a="\"'\\", str b='"\'\\') -> Tensor)");
  ASSERT_EQ(S.Args.size(), 3u);
  EXPECT_EQ(S.Args[1].Default, std::string(R"("\"'\\")"));
  EXPECT_EQ(S.Args[2].Default, std::string(R"('"\'\\')"));
  EXPECT_EQ(unquoteSchemaString(*S.Args[1].Default), std::string(R"("'\)"));
  EXPECT_EQ(unquoteSchemaString(*S.Args[2].Default), std::string(R"("'\)"));
}

TEST(OpSchemaParse, ReturnForms) {
  EXPECT_TRUE(parseOrDie("f(Tensor self) -> ()").Returns.empty());
  EXPECT_EQ(parseOrDie("f(Tensor[] xs) -> Tensor[]").Returns,
            std::vector<std::string>{"Tensor[]"});
  EXPECT_EQ(parseOrDie("f(Tensor theta) -> Tensor grid").Returns,
            std::vector<std::string>{"Tensor"});
  EXPECT_EQ(
      parseOrDie("f(Tensor(a!) x) -> (Tensor(a!) v, Tensor(b!) i)").Returns,
      (std::vector<std::string>{"Tensor(a!)", "Tensor(b!)"}));
  EXPECT_EQ(parseOrDie("f(Tensor self) -> SymInt").Returns,
            std::vector<std::string>{"SymInt"});
}

TEST(OpSchemaParse, NoArgumentsAndOnlyKeywords) {
  OpSchema None = parseOrDie("_use_cudnn_rnn_flatten_weight() -> bool");
  EXPECT_TRUE(None.Args.empty());
  EXPECT_TRUE(None.Overload.empty());
  OpSchema Kw = parseOrDie("_make_dep_token(*, ScalarType? dtype=None, "
                           "Layout? layout=None) -> Tensor");
  ASSERT_EQ(Kw.Args.size(), 2u);
  EXPECT_TRUE(Kw.Args[0].KwargOnly);
  EXPECT_TRUE(Kw.Args[1].KwargOnly);
}

TEST(OpSchemaParse, SchemaTypeDecomposition) {
  struct Case {
    const char *Type;
    const char *Base;
    bool Optional, List;
    int FixedSize;
    bool OptionalElements;
  } Cases[] = {
      {"Tensor", "Tensor", false, false, -1, false},
      {"Tensor?", "Tensor", true, false, -1, false},
      {"Tensor(a!)", "Tensor", false, false, -1, false},
      {"Tensor(a -> *)", "Tensor", false, false, -1, false},
      {"Tensor(a)[]", "Tensor", false, true, -1, false},
      {"Tensor?[]", "Tensor", false, true, -1, true},
      {"int[2]", "int", false, true, 2, false},
      {"int[1]?", "int", true, true, 1, false},
      {"SymInt[]", "SymInt", false, true, -1, false},
      {"SymInt[]?", "SymInt", true, true, -1, false},
      {"ScalarType?", "ScalarType", true, false, -1, false},
      {"bool[3]", "bool", false, true, 3, false},
  };
  for (const Case &C : Cases) {
    SchemaType T = parseSchemaType(C.Type);
    EXPECT_EQ(T.Base, C.Base) << C.Type;
    EXPECT_EQ(T.Optional, C.Optional) << C.Type;
    EXPECT_EQ(T.List, C.List) << C.Type;
    EXPECT_EQ(T.FixedSize, C.FixedSize) << C.Type;
    EXPECT_EQ(T.OptionalElements, C.OptionalElements) << C.Type;
  }
}

TEST(OpSchemaParse, UnquoteRejectsNonStrings) {
  EXPECT_EQ(unquoteSchemaString("None"), std::nullopt);
  EXPECT_EQ(unquoteSchemaString("'"), std::nullopt);
  EXPECT_EQ(unquoteSchemaString("'abc\""), std::nullopt);
  EXPECT_EQ(unquoteSchemaString(R"('a\')"), std::nullopt);
  EXPECT_EQ(unquoteSchemaString("''"), std::string());
  EXPECT_EQ(unquoteSchemaString("\"reflect\""), std::string("reflect"));
}

//===----------------------------------------------------------------------===//
// Malformed schemas: every one is an error that says where it stopped.
//===----------------------------------------------------------------------===//

struct MalformedCase {
  const char *Text;
  const char *Expected; // a fragment the error message must contain
};

const MalformedCase MalformedCases[] = {
    {"", "column 1: expected an operator name"},
    {"(Tensor self) -> Tensor", "column 1: expected an operator name"},
    {"softmax", "column 8: expected '('"},
    {"softmax.(Tensor self) -> Tensor", "column 9: expected an overload name"},
    {"f(Tensor self -> Tensor", "column 24: expected ')'"},
    {"f(Tensor self) Tensor", "column 16: expected '->'"},
    {"f(Tensor self) ->", "column 18: expected a return type"},
    {"f(Tensor self) -> ", "column 19: expected a return type"},
    {"f(Tensor self,) -> Tensor", "column 15: empty argument"},
    {"f(, Tensor self) -> Tensor", "column 3: empty argument"},
    {"f(Tensor) -> Tensor", "column 9: expected an argument name"},
    {"f(Tensor self, Tensor self) -> Tensor", "duplicate argument 'self'"},
    {"f(*, Tensor a, *, Tensor b) -> Tensor", "column 16: second '*'"},
    {"f(int[2] x=[0, 0) -> Tensor", "column 17: ')' does not match '['"},
    {"f(str s='abc) -> Tensor", "column 9: unterminated string"},
    {"f(Tensor self=) -> Tensor", "column 15: expected a default value"},
    {"f(Tensor self x) -> Tensor", "column 15: expected '=' or ','"},
    {"f(int[2 x) -> Tensor", "column 10: ')' does not match '[' at column 6"},
    {"f(int[x] y) -> Tensor", "column 7: expected ']' in list type"},
    {"f(Tensor self) -> (Tensor, Tensor", "column 34: expected ')'"},
    // "extra" is taken as the return's name; "junk" is what cannot parse.
    {"f(Tensor self) -> Tensor extra junk", "column 32: unexpected text"},
    {"f(Tensor self) -> Tensor)", "column 25: unexpected text"},
    {"f(Tensor self) -> (Tensor) x", "column 28: unexpected text"},
    {"f(Tensor self) -> (Tensor,)", "column 27: empty return"},
    {"f(Tensor self)) -> Tensor", "column 15: expected '->'"},
    {"f(1nt x) -> Tensor", "column 3: expected a type"},
};

TEST(OpSchemaParse, MalformedSchemasNameThePosition) {
  for (const MalformedCase &C : MalformedCases) {
    llvm::Expected<OpSchema> Schema = parseOpSchema(C.Text);
    if (Schema) {
      ADD_FAILURE() << "parsed but should not: '" << C.Text << "'";
      continue;
    }
    std::string Msg = llvm::toString(Schema.takeError());
    EXPECT_NE(Msg.find(C.Expected), std::string::npos)
        << "for '" << C.Text << "' got: " << Msg;
    EXPECT_NE(Msg.find(std::string("'") + C.Text + "'"), std::string::npos)
        << "error does not quote the schema: " << Msg;
  }
}

} // namespace
