//===- tests/frontend/ArchiveTest.cpp - every fixture reads as expected ---===//
//
// Holds the frontend against references it did not write: EXPECTED.json of
// the shared fixtures (ops in graph order, inputs, parameters, outputs,
// container, schema version) and MANIFEST.json of tests/data/torch2, which
// records what real torch 2.x itself said about the programs it exported.
//
// To add a case: drop a .pt2 into tests/data/torch2 with an entry in
// MANIFEST.json (tools/export_with_torch2.py writes both), or add to the
// shared fixtures; both suites iterate over every entry.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Printers.h"
#include "TestSupport.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

using namespace atalla;
using namespace atalla::frontend;
using json = nlohmann::json;

namespace {

json loadJson(const std::string &Path) {
  std::ifstream F(Path);
  return json::parse(F);
}

std::string dtypeName(const std::string &TorchName) {
  llvm::StringRef S = TorchName;
  S.consume_front("torch.");
  return S.str();
}

std::vector<int64_t> shapeOf(const json &J) { return J.get<std::vector<int64_t>>(); }

} // namespace

TEST(ArchiveTest, EveryFixtureMatchesExpected) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  json Expected = loadJson(Dir + "/EXPECTED.json");
  int Checked = 0;
  for (auto It = Expected.begin(); It != Expected.end(); ++It) {
    if (It.key() == "_about")
      continue;
    SCOPED_TRACE(It.key());
    const json &E = *It;
    ASSERT_EXPECTED(M, readModel(Dir + "/" + It.key() + ".pt2"));
    // Node targets in graph order.
    std::vector<std::string> Ops;
    for (const Node &N : M.G.Nodes)
      Ops.push_back(N.Target);
    EXPECT_EQ(Ops, E["ops"].get<std::vector<std::string>>());
    // Container, root folder, schema version (where the entry records them).
    if (E.contains("container")) {
      if (E["container"] == "legacy_zip")
        EXPECT_EQ(M.Container, ContainerKind::LegacyZip);
      else
        EXPECT_NE(M.Container, ContainerKind::LegacyZip);
    }
    if (E.contains("root_folder")) {
      if (E["root_folder"].is_null())
        EXPECT_EQ(M.RootFolder, "");
      else
        EXPECT_EQ(M.RootFolder, E["root_folder"].get<std::string>());
    }
    if (E.contains("schema_version")) {
      std::string Version = std::to_string(M.SchemaMajor);
      if (M.SchemaMajor >= 3 || M.SchemaMinor)
        Version += "." + std::to_string(M.SchemaMinor);
      EXPECT_EQ(Version, E["schema_version"].get<std::string>());
    }
    // User inputs: forward names, shapes, dtypes; sample values when stored.
    std::vector<std::string> ArgNames = M.forwardArgNames();
    std::vector<std::string> Placeholders = M.userInputNames();
    ASSERT_EQ(Placeholders.size(), E["inputs"].size());
    for (size_t I = 0; I < Placeholders.size(); ++I) {
      const json &In = E["inputs"][I];
      EXPECT_EQ(ArgNames[I], In["name"].get<std::string>());
      const TensorMeta *Meta = M.G.meta(Placeholders[I]);
      ASSERT_NE(Meta, nullptr);
      EXPECT_EQ(Meta->hintedSizes(), shapeOf(In["shape"]));
      EXPECT_EQ(scalarTypeName(Meta->Dtype).str(), dtypeName(In["dtype"]));
      if (M.HasSampleInputs) {
        ASSERT_EQ(M.SampleInputs.size(), Placeholders.size());
        EXPECT_EQ(M.SampleInputs[I].contiguousBytes(), test::readFileBytes(Dir + "/" + In["file"].get<std::string>()))
            << "sample input " << I << " differs from " << In["file"];
      }
    }
    // Parameters by FQN.
    size_t Params = 0;
    for (const InputSpec &S : M.InputSpecs)
      Params += S.Kind == InputKind::Parameter;
    const json NoParams = json::array();
    const json &ParamList = E.contains("parameters") ? E["parameters"] : NoParams;
    EXPECT_EQ(Params, ParamList.size());
    for (const json &P : ParamList) {
      auto W = M.Weights.find(P["fqn"].get<std::string>());
      ASSERT_NE(W, M.Weights.end()) << P["fqn"];
      EXPECT_EQ(W->second.Sizes, shapeOf(P["shape"]));
      EXPECT_EQ(scalarTypeName(W->second.Dtype).str(), dtypeName(P["dtype"]));
    }
    // User outputs.
    std::vector<std::string> Outs = M.userOutputNames();
    ASSERT_EQ(Outs.size(), E["outputs"].size());
    for (size_t I = 0; I < Outs.size(); ++I) {
      const json &O = E["outputs"][I];
      EXPECT_EQ(Outs[I], O["name"].get<std::string>());
      const TensorMeta *Meta = M.G.meta(Outs[I]);
      ASSERT_NE(Meta, nullptr);
      EXPECT_EQ(Meta->hintedSizes(), shapeOf(O["shape"]));
      EXPECT_EQ(scalarTypeName(Meta->Dtype).str(), dtypeName(O["dtype"]));
    }
    ++Checked;
  }
  EXPECT_GE(Checked, 16);
}

TEST(ArchiveTest, FormatsFixtureWeightsHaveTheirDocumentedValues) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  // fc.weight = 0.1*i - 0.5 as [3,4], fc.bias = [0.01, -0.02, 0.03], in all
  // three container generations.
  for (const char *Name : {"synthetic_lrs_legacy_v8_7", "synthetic_lrs_archive_v8_8", "synthetic_lrs_archive_v8_20"}) {
    SCOPED_TRACE(Name);
    ASSERT_EXPECTED(M, readModel(Dir + "/formats/" + Name + ".pt2"));
    const TensorData &W = M.Weights.at("fc.weight");
    std::vector<uint8_t> B = W.contiguousBytes();
    ASSERT_EQ(B.size(), 12u * 4);
    for (int I = 0; I < 12; ++I) {
      float V;
      std::memcpy(&V, B.data() + 4 * I, 4);
      EXPECT_FLOAT_EQ(V, 0.1f * I - 0.5f);
    }
    std::vector<uint8_t> Bias = M.Weights.at("fc.bias").contiguousBytes();
    float Expect[3] = {0.01f, -0.02f, 0.03f};
    for (int I = 0; I < 3; ++I) {
      float V;
      std::memcpy(&V, Bias.data() + 4 * I, 4);
      EXPECT_FLOAT_EQ(V, Expect[I]);
    }
  }
}

TEST(ArchiveTest, ContainerGenerationsAreRecognised) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(A, readModel(Dir + "/formats/synthetic_lrs_legacy_v8_7.pt2"));
  EXPECT_EQ(A.Container, ContainerKind::LegacyZip);
  ASSERT_EXPECTED(B, readModel(Dir + "/formats/synthetic_lrs_archive_v8_8.pt2"));
  EXPECT_EQ(B.Container, ContainerKind::Pt2ArchivePickled);
  ASSERT_EXPECTED(C, readModel(Dir + "/formats/synthetic_lrs_archive_v8_20.pt2"));
  EXPECT_EQ(C.Container, ContainerKind::Pt2ArchiveRaw);
  ASSERT_EXPECTED(D, readModel(Dir + "/seed/seed_accel_demo_v2_2.pt2"));
  EXPECT_EQ(D.SchemaMajor, 2);
  EXPECT_EQ(D.Dialect, "ATEN");
  EXPECT_FALSE(D.HasSampleInputs); // torch 2.2 saved none
}

TEST(ArchiveTest, DefaultsAreFilledFromTheOpSchema) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/transformer_block_params.pt2"));
  bool SawLayerNorm = false, SawGelu = false;
  for (const Node &N : M.G.Nodes) {
    if (N.Op == "layer_norm") {
      SawLayerNorm = true;
      const NamedArgument *Eps = N.input("eps");
      ASSERT_NE(Eps, nullptr);
      EXPECT_TRUE(Eps->Defaulted);
      EXPECT_EQ(Eps->Arg.Kind, ArgKind::Float);
      EXPECT_DOUBLE_EQ(Eps->Arg.F, 1e-05);
      ASSERT_NE(N.input("cudnn_enable"), nullptr);
      EXPECT_EQ(N.input("cudnn_enable")->Arg.I, 1);
      EXPECT_FALSE(N.input("input")->Defaulted);
    }
    if (N.Op == "gelu") {
      SawGelu = true;
      ASSERT_NE(N.input("approximate"), nullptr);
      EXPECT_EQ(N.input("approximate")->Arg.S, "none");
    }
  }
  EXPECT_TRUE(SawLayerNorm);
  EXPECT_TRUE(SawGelu);
}

TEST(ArchiveTest, RealUNetHasConstantsAndTheirValues) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/real/unet-dcnum-test_g1.pt2"));
  EXPECT_EQ(M.Constants.size(), 40u);
  EXPECT_EQ(M.G.Nodes.size(), 44u);
  // lifted_tensor_0 is torch.tensor(255), int64 scalar.
  const TensorData &C0 = M.Constants.at("lifted_tensor_0");
  EXPECT_EQ(C0.Dtype, ScalarType::Int64);
  EXPECT_TRUE(C0.Sizes.empty());
  int64_t V;
  std::vector<uint8_t> B = C0.contiguousBytes();
  std::memcpy(&V, B.data(), 8);
  EXPECT_EQ(V, 255);
  EXPECT_EQ(M.TorchVersion, "2.12.0+cu130");
  // uint8 images input.
  ASSERT_EQ(M.SampleInputs.size(), 1u);
  EXPECT_EQ(M.SampleInputs[0].Dtype, ScalarType::UInt8);
}

TEST(ArchiveTest, RealTorch2ArchivesMatchTheirManifest) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  json Manifest = loadJson(Dir + "/MANIFEST.json");
  int Checked = 0;
  for (auto It = Manifest["models"].begin(); It != Manifest["models"].end(); ++It) {
    SCOPED_TRACE(It.key());
    const json &E = *It;
    ASSERT_EXPECTED(M, readModel(Dir + "/" + It.key() + ".pt2"));
    std::vector<std::string> Ops;
    for (const Node &N : M.G.Nodes)
      Ops.push_back(N.Target);
    // torch's serializer folds the getitem nodes that unpack a multi-output
    // op into that op's outputs (split -> as_tensors [getitem, getitem_1]);
    // its deserializer re-creates them. model.json has none, and neither do we.
    std::vector<std::string> TorchOps;
    for (const std::string &Op : E["ops"].get<std::vector<std::string>>())
      if (Op != "_operator.getitem")
        TorchOps.push_back(Op);
    EXPECT_EQ(Ops, TorchOps);
    // Input specs: kind, placeholder name and target as torch reported them.
    ASSERT_EQ(M.InputSpecs.size(), E["input_specs"].size());
    for (size_t I = 0; I < M.InputSpecs.size(); ++I) {
      const json &S = E["input_specs"][I];
      const InputSpec &Got = M.InputSpecs[I];
      std::string Kind = S["kind"];
      std::string Want = Kind == "USER_INPUT" ? "user_input" : Kind == "PARAMETER" ? "parameter"
                         : Kind == "BUFFER" ? "buffer" : Kind == "CONSTANT_TENSOR" ? "tensor_constant" : Kind;
      EXPECT_EQ(inputKindName(Got.Kind), Want);
      EXPECT_EQ(Got.Arg.S, S["name"].get<std::string>());
      if (!S["target"].is_null()) {
        EXPECT_EQ(Got.Target, S["target"].get<std::string>());
      }
      if (S.contains("persistent") && !S["persistent"].is_null()) {
        EXPECT_EQ(Got.Persistent, S["persistent"].get<bool>());
      }
    }
    ASSERT_EQ(M.OutputSpecs.size(), E["output_specs"].size());
    for (size_t I = 0; I < M.OutputSpecs.size(); ++I)
      EXPECT_EQ(M.OutputSpecs[I].Arg.S, E["output_specs"][I]["name"].get<std::string>());
    // Placeholder shapes (symbolic dimensions by name) and dtypes.
    for (auto P = E["placeholders"].begin(); P != E["placeholders"].end(); ++P) {
      const TensorMeta *Meta = M.G.meta(P.key());
      ASSERT_NE(Meta, nullptr) << P.key();
      std::vector<std::string> Dims;
      for (const SymDim &D : Meta->Sizes)
        Dims.push_back(D.isConcrete() ? std::to_string(*D.Value) : D.Expr);
      EXPECT_EQ(Dims, (*P)["shape"].get<std::vector<std::string>>()) << P.key();
      EXPECT_EQ(scalarTypeName(Meta->Dtype).str(), dtypeName((*P)["dtype"])) << P.key();
    }
    // Range constraints.
    for (auto R = E["range_constraints"].begin(); R != E["range_constraints"].end(); ++R) {
      auto Got = M.RangeConstraints.find(R.key());
      ASSERT_NE(Got, M.RangeConstraints.end()) << R.key();
      std::string Lo = (*R)[0], Hi = (*R)[1];
      EXPECT_EQ(Got->second.Min ? std::to_string(*Got->second.Min) : "-int_oo", Lo);
      if (Hi != "int_oo") {
        EXPECT_EQ(Got->second.Max ? std::to_string(*Got->second.Max) : "int_oo", Hi);
      }
    }
    // Weights and constants with the shapes torch reported.
    for (auto W = E["state_dict"].begin(); W != E["state_dict"].end(); ++W) {
      auto Got = M.Weights.find(W.key());
      ASSERT_NE(Got, M.Weights.end()) << W.key();
      EXPECT_EQ(Got->second.Sizes, W->get<std::vector<int64_t>>());
    }
    for (auto C = E["constants"].begin(); C != E["constants"].end(); ++C) {
      auto Got = M.Constants.find(C.key());
      ASSERT_NE(Got, M.Constants.end()) << C.key();
      EXPECT_EQ(Got->second.Sizes, C->get<std::vector<int64_t>>());
    }
    // Sample inputs equal the raw inputs torch wrote beside the archive.
    ASSERT_EQ(M.SampleInputs.size(), E["inputs"].size());
    for (size_t I = 0; I < M.SampleInputs.size(); ++I)
      EXPECT_EQ(M.SampleInputs[I].contiguousBytes(),
                test::readFileBytes(Dir + "/" + It.key() + ".in" + std::to_string(I) + ".bin"));
    ++Checked;
  }
  EXPECT_GE(Checked, 9);
}

TEST(ArchiveTest, TiedWeightsShareOneStorage) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(Dir + "/torch_tied_linear.pt2"));
  ASSERT_TRUE(M.Weights.count("enc.weight") && M.Weights.count("dec.weight"));
  EXPECT_EQ(M.Weights.at("enc.weight").Data.get(), M.Weights.at("dec.weight").Data.get());
}

TEST(ArchiveTest, SymbolicDimensionsKeepNameHintAndRange) {
  std::string Dir = test::torch2Dir();
  if (Dir.empty() || !test::isDir(Dir))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(Dir + "/torch_dynamic_mlp.pt2"));
  const TensorMeta *X = M.G.meta("x");
  ASSERT_NE(X, nullptr);
  ASSERT_EQ(X->Sizes.size(), 2u);
  EXPECT_FALSE(X->Sizes[0].isConcrete());
  EXPECT_EQ(X->Sizes[0].Expr, "s77");
  EXPECT_EQ(X->Sizes[0].Hint, 6);
  EXPECT_FALSE(X->isStatic());
  ASSERT_TRUE(M.RangeConstraints.count("s77"));
  EXPECT_EQ(M.RangeConstraints.at("s77").Min, 1);
  EXPECT_EQ(M.RangeConstraints.at("s77").Max, 64);
}

namespace {
std::string torch2Path(const char *Name) { return test::torch2Dir() + "/" + Name + ".pt2"; }
} // namespace

TEST(ArchiveTest, HigherOrderCondKeepsItsSubgraphs) {
  if (!test::isDir(test::torch2Dir()))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(torch2Path("torch_cond")));
  const Node &C = M.G.Nodes.back();
  EXPECT_EQ(C.Target, "torch.ops.higher_order.cond");
  ASSERT_EQ(C.Inputs.size(), 4u);
  ASSERT_EQ(C.Inputs[1].Arg.Kind, ArgKind::Graph);
  ASSERT_TRUE(C.Inputs[1].Arg.Sub);
  EXPECT_EQ(C.Inputs[1].Arg.S, "true_graph_0");
  EXPECT_EQ(C.Inputs[1].Arg.Sub->Nodes.size(), 2u); // relu, mul
  EXPECT_EQ(C.Inputs[2].Arg.Sub->Nodes.front().Op, "tanh");
  EXPECT_EQ(C.Inputs[3].Arg.Kind, ArgKind::Tensors);
}

TEST(ArchiveTest, TrainingBatchNormKeepsItsInPlaceBufferUpdates) {
  // torch 2.11's training IR is not functionalised: the buffer updates stay
  // in-place ops (add_ on num_batches_tracked, batch_norm with
  // training=True) and the signature lists no buffer mutations, exactly as
  // torch's own manifest says (checked in RealTorch2ArchivesMatchTheirManifest).
  if (!test::isDir(test::torch2Dir()))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(torch2Path("torch_train_bn")));
  ASSERT_EQ(M.G.Nodes.size(), 2u);
  EXPECT_EQ(M.G.Nodes[0].opWithOverload(), "aten::add_.Tensor");
  EXPECT_EQ(M.G.Nodes[0].Inputs[0].Arg.S, "b_bn_num_batches_tracked");
  EXPECT_EQ(M.G.Nodes[1].input("training")->Arg.I, 1);
  EXPECT_EQ(M.OutputSpecs.size(), 1u);
  EXPECT_EQ(M.Weights.at("bn.num_batches_tracked").Dtype, ScalarType::Int64);
}

TEST(ArchiveTest, BufferViewsKeepStridesAndOffsetsOverOneStorage) {
  if (!test::isDir(test::torch2Dir()))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(torch2Path("torch_views")));
  const TensorData &Base = M.Weights.at("base"), &T = M.Weights.at("tview"), &Tail = M.Weights.at("tail");
  EXPECT_EQ(Base.Data.get(), T.Data.get());
  EXPECT_EQ(Base.Data.get(), Tail.Data.get());
  EXPECT_EQ(T.Sizes, (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(T.Strides, (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(Tail.StorageOffset, 8);
  // tail = base[1:, 2:]: first element is base[1][2] = 8 / 8.
  std::vector<uint8_t> B = Tail.contiguousBytes();
  float F;
  std::memcpy(&F, B.data(), 4);
  EXPECT_FLOAT_EQ(F, 1.0f);
}

TEST(ArchiveTest, KeywordAndNestedInputsFlattenInPytreeOrder) {
  if (!test::isDir(test::torch2Dir()))
    GTEST_SKIP() << "tests/data/torch2 not found";
  ASSERT_EXPECTED(M, readModel(torch2Path("torch_kw_inputs")));
  EXPECT_EQ(M.userInputNames().size(), 3u);
  EXPECT_EQ(M.SampleInputs.size(), 3u);
  EXPECT_EQ(M.userOutputNames().size(), 2u);
}
