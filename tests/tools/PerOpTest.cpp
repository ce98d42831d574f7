//===- tests/tools/PerOpTest.cpp - atalla-run --check --per-op ------------===//
//
// Per-op diagnosis as a user runs it: one row per instruction, each fed
// eager's inputs, and the first node over tolerance named. The central case
// plants a wrong kernel in a real blob (relu's record pointing at a compiled
// copy kernel of the same shapes) and expects exactly that node to be named
// while its neighbours, fed eager's inputs, stay OK. To add a case: build or
// doctor a blob, run atalla-run with --check and --per-op, and check the row
// and the closing line a user would read.
//
//===----------------------------------------------------------------------===//
#include "ProcessSupport.h"
#include "TestSupport.h"

#include "codegen/KernelEmitter.h"
#include "runtime/Blob.h"
#include "runtime/abi/BlobBuilder.h"
#include "runtime/abi/KernelSpec.h"

#include <cstring>
#include <fstream>
#include <sstream>

using namespace atalla;
using test::ToolResult;
using test::tmpDir;

namespace {

/// The table row of instruction \p Node ("" if absent): rows start with the
/// instruction index, then the node name.
std::string rowOf(const std::string &Out, const std::string &Node) {
  std::istringstream S(Out);
  std::string Line;
  while (std::getline(S, Line)) {
    std::istringstream L(Line);
    std::string Index, Name;
    L >> Index >> Name;
    if (!Index.empty() && std::isdigit(static_cast<unsigned char>(Index[0])) && Name == Node)
      return Line;
  }
  return "";
}

void writeFile(const std::string &Path, const std::vector<uint8_t> &Bytes) {
  std::ofstream F(Path, std::ios::binary);
  F.write(reinterpret_cast<const char *>(Bytes.data()), static_cast<std::streamsize>(Bytes.size()));
}

} // namespace

TEST(PerOpTest, TinyTransformerPassesWithARowPerInstruction) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_tiny_transformer.pt2", Atb = tmpDir() + "/perop_tiny.atb";
  ToolResult G = test::runTool("atalla-gen --shapes static " + Pt2 + " -o " + Atb + " --quiet");
  ASSERT_EQ(G.Rc, 0) << G.Err;
  ASSERT_EXPECTED(B, runtime::Blob::readFile(Atb));
  ToolResult R = test::runTool("atalla-run " + Atb + " --check " + Pt2 + " --per-op");
  EXPECT_EQ(R.Rc, 0) << R.Out << R.Err;
  EXPECT_NE(R.Out.find("--- PER-OP CHECK"), std::string::npos) << R.Out;
  for (uint32_t I = 0; I < B.instructions().size(); ++I) {
    std::string Row = rowOf(R.Out, B.nodeName(I).str());
    ASSERT_FALSE(Row.empty()) << "no row for node '" << B.nodeName(I).str() << "':\n" << R.Out;
    EXPECT_TRUE((Row.find(" OK ") != std::string::npos)) << Row;
  }
  EXPECT_NE(R.Out.find("per-op: " + std::to_string(B.instructions().size()) + " instructions, " +
                       std::to_string(B.instructions().size()) + " OK"),
            std::string::npos)
      << R.Out;
  EXPECT_EQ(R.Out.find("first node over tolerance"), std::string::npos) << R.Out;
}

TEST(PerOpTest, PinpointsADeliberatelyWrongKernel) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_accel_demo.pt2", Good = tmpDir() + "/perop_good.atb",
              Bad = tmpDir() + "/perop_bad.atb";
  ToolResult G = test::runTool("atalla-gen --shapes static " + Pt2 + " -o " + Good + " --quiet");
  ASSERT_EQ(G.Rc, 0) << G.Err;
  ASSERT_EXPECTED(B, runtime::Blob::readFile(Good));

  // relu's kernel record, and a copy kernel of the same operand shapes: the
  // identity, which differs from relu on every negative input.
  int Relu = -1;
  for (uint32_t I = 0; I < B.instructions().size(); ++I)
    if (B.nodeName(I) == "relu" && B.instructions()[I].Op == static_cast<uint32_t>(atalla::abi::Opcode::Kernel))
      Relu = static_cast<int>(B.instructions()[I].Index);
  ASSERT_GE(Relu, 0) << "seed_accel_demo has no relu kernel instruction";
  atalla::abi::KernelSpec Copy;
  Copy.Kernel = atalla::abi::KernelId::copy;
  Copy.Operands = {{{4, 8}, {8, 1}}, {{4, 8}, {8, 1}}};
  ASSERT_EXPECTED(Obj, codegen::compileKernel(Copy, {}));

  // Same sections, except: the copy object appended to Code, its symbol to
  // Strings, and relu's record pointing at both.
  std::vector<atalla::abi::BlobBuilder::Section> Sections;
  for (const atalla::abi::SectionEntry &E : B.sections()) {
    auto K = static_cast<atalla::abi::SectionKind>(E.Kind);
    llvm::ArrayRef<uint8_t> Bytes = B.section(K);
    Sections.push_back({K, std::vector<uint8_t>(Bytes.begin(), Bytes.end())});
  }
  auto Find = [&](atalla::abi::SectionKind K) -> std::vector<uint8_t> & {
    for (auto &S : Sections)
      if (S.Kind == K)
        return S.Bytes;
    ADD_FAILURE() << "section " << static_cast<uint32_t>(K) << " missing";
    return Sections.front().Bytes;
  };
  std::vector<uint8_t> &Code = Find(atalla::abi::SectionKind::Code);
  Code.resize((Code.size() + atalla::abi::BlobAlignment - 1) / atalla::abi::BlobAlignment * atalla::abi::BlobAlignment);
  uint64_t CodeOffset = Code.size();
  Code.insert(Code.end(), Obj.Object.begin(), Obj.Object.end());
  std::vector<uint8_t> &Strings = Find(atalla::abi::SectionKind::Strings);
  auto SymbolOffset = static_cast<uint32_t>(Strings.size());
  Strings.insert(Strings.end(), Obj.Symbol.begin(), Obj.Symbol.end());
  Strings.push_back(0);
  std::vector<uint8_t> &Kernels = Find(atalla::abi::SectionKind::Kernels);
  atalla::abi::KernelRecord K;
  std::memcpy(&K, Kernels.data() + Relu * sizeof(K), sizeof(K));
  K.CodeOffset = CodeOffset;
  K.CodeSize = Obj.Object.size();
  K.SymbolOffset = SymbolOffset;
  std::memcpy(Kernels.data() + Relu * sizeof(K), &K, sizeof(K));
  writeFile(Bad, atalla::abi::BlobBuilder::assemble(Sections, B.dramBytes()));
  {
    ASSERT_EXPECTED(Doctored, runtime::Blob::readFile(Bad));
    EXPECT_EQ(Doctored.kernelSymbol(Relu), Obj.Symbol);
  }

  ToolResult R = test::runTool("atalla-run " + Bad + " --check " + Pt2 + " --per-op");
  EXPECT_EQ(R.Rc, 1) << R.Out << R.Err;
  std::string ReluRow = rowOf(R.Out, "relu");
  EXPECT_TRUE((ReluRow.find(" MISMATCH ") != std::string::npos)) << R.Out;
  for (const char *Node : {"matmul", "softmax"}) {
    std::string Row = rowOf(R.Out, Node);
    EXPECT_TRUE((Row.find(" OK ") != std::string::npos)) << "node '" << Node << "':\n" << R.Out;
  }
  EXPECT_NE(R.Out.find("first node over tolerance: 'relu'"), std::string::npos) << R.Out;
  EXPECT_NE(R.Err.find("first node over tolerance: 'relu'"), std::string::npos) << R.Err;

  // The good blob, same command: every row OK.
  ToolResult Ok = test::runTool("atalla-run " + Good + " --check " + Pt2 + " --per-op");
  EXPECT_EQ(Ok.Rc, 0) << Ok.Out << Ok.Err;
  EXPECT_NE(rowOf(Ok.Out, "relu").find(" OK "), std::string::npos) << Ok.Out;
}

TEST(PerOpTest, PerOpWithoutCheckIsAOneLineUsageError) {
  ATALLA_REQUIRE_FIXTURES(Dir);
  std::string Pt2 = Dir + "/seed/seed_accel_demo.pt2", Atb = tmpDir() + "/perop_flags.atb";
  ToolResult G = test::runTool("atalla-gen --shapes static " + Pt2 + " -o " + Atb + " --quiet");
  ASSERT_EQ(G.Rc, 0) << G.Err;
  ToolResult R = test::runTool("atalla-run " + Atb + " --per-op");
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Out, "");
  EXPECT_EQ(test::countOf(R.Err, "\n"), 1u) << R.Err;
  EXPECT_NE(R.Err.find("atalla-run: error: --per-op"), std::string::npos) << R.Err;
  EXPECT_NE(R.Err.find("--check"), std::string::npos) << R.Err;
}
