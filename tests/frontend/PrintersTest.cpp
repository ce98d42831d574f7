//===- tests/frontend/PrintersTest.cpp - the seed demo's views ------------===//
//
// The views must read like what torch prints for the same program (FX's
// print_tabular, GraphModule.code, the seed's ops table). To add a case,
// build a model with ModelBuilder (or read a fixture) and compare a view
// with the text torch prints for it.
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Printers.h"
#include "tools/DemoModels.h"
#include "TestSupport.h"

#include "llvm/Support/raw_ostream.h"

#include <regex>

using namespace atalla;
using namespace atalla::frontend;

namespace {
std::string render(void (*Fn)(const Model &, llvm::raw_ostream &), const Model &M) {
  std::string S;
  llvm::raw_string_ostream OS(S);
  Fn(M, OS);
  OS.flush();
  return S;
}
std::string squeeze(const std::string &S) {
  std::string T = std::regex_replace(S, std::regex(" +"), " ");
  return std::regex_replace(T, std::regex(" \n"), "\n");
}
Model demo() {
  Model M = tools::buildSeedAccelDemo();
  for (Node &N : M.G.Nodes)
    fillDefaultArguments(N); // as the reader does: defaults are not printed
  return M;
}
} // namespace

TEST(PrintersTest, PythonFloatRepr) {
  EXPECT_EQ(pythonFloat(1e-05), "1e-05");
  EXPECT_EQ(pythonFloat(0.1), "0.1");
  EXPECT_EQ(pythonFloat(4.0), "4.0");
  EXPECT_EQ(pythonFloat(-0.5), "-0.5");
  EXPECT_EQ(pythonFloat(0.05), "0.05");
  EXPECT_EQ(pythonFloat(1e16), "1e+16");
  EXPECT_EQ(pythonFloat(0.30000000000000004), "0.30000000000000004");
}

TEST(PrintersTest, TableLikeFxPrintTabular) {
  EXPECT_EQ(squeeze(render(printTable, demo())),
            "opcode name target args kwargs\n"
            "------------- ------- ------------------- ------------- ------\n"
            "placeholder x x () {}\n"
            "placeholder w w () {}\n"
            "call_function relu aten.relu.default (x,) {}\n"
            "call_function matmul aten.matmul.default (relu, w) {}\n"
            "call_function softmax aten.softmax.int (matmul, -1) {}\n"
            "output output output ((softmax,),) {}\n");
}

TEST(PrintersTest, CodeLikeGraphModuleCode) {
  EXPECT_EQ(render(printCode, demo()),
            "def forward(self, x, w):\n"
            "    relu = torch.ops.aten.relu.default(x);  x = None\n"
            "    matmul = torch.ops.aten.matmul.default(relu, w);  relu = w = None\n"
            "    softmax = torch.ops.aten.softmax.int(matmul, -1);  matmul = None\n"
            "    return (softmax,)\n");
}

TEST(PrintersTest, OpsHistogram) {
  EXPECT_EQ(render(printOps, demo()),
            "1 torch.ops.aten.relu.default\n"
            "1 torch.ops.aten.matmul.default\n"
            "1 torch.ops.aten.softmax.int\n");
}

TEST(PrintersTest, OpsHistogramCountsRepeats) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/seed_tiny_transformer.pt2"));
  std::string Ops = render(printOps, M);
  EXPECT_NE(Ops.find("8 torch.ops.aten.matmul.default\n"), std::string::npos) << Ops;
  EXPECT_NE(Ops.find("1 torch.ops.aten.transpose.int\n"), std::string::npos) << Ops;
}

TEST(PrintersTest, KeywordArgumentsGoToKwargs) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/real/unet-dcnum-test_g1.pt2"));
  std::string Table = squeeze(render(printTable, M));
  EXPECT_NE(Table.find("call_function _assert_tensor_metadata_default aten._assert_tensor_metadata.default "
                       "(images,) {'dtype': torch.uint8, 'device': device(type='cpu'), 'layout': torch.strided}"),
            std::string::npos)
      << Table.substr(0, 800);
}

TEST(PrintersTest, SignatureShowsKindsTargetsAndShapes) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  ASSERT_EXPECTED(M, readModel(Dir + "/seed/mlp_params.pt2"));
  std::string S = squeeze(render(printSignature, M));
  EXPECT_NE(S.find("parameter p_fc1_weight <- fc1.weight : float32[128, 64]"), std::string::npos) << S;
  EXPECT_NE(S.find("user_input x : float32[16, 64]"), std::string::npos) << S;
  EXPECT_NE(S.find("user_output log_softmax : float32[16, 10]"), std::string::npos) << S;
}
