//===- tests/frontend/PickleTest.cpp - unpickler and torch.save tests -----===//
//
// How to add a case:
//  - A pickle the reader must accept: write it with CPython
//    (`python3 -c "import pickle; print(pickle.dumps(obj, protocol=N))"`),
//    paste the bytes as a string literal and check the value, as in
//    `Unpickle.Protocol0` / `Unpickle.Protocol4`.
//  - Writer fidelity: paste `pickle.dumps(obj, protocol=2)` from CPython and
//    compare with PickleWriter's output, as in `PickleWriter.MatchesCPython`.
//  - Hostile input: add a TEST that builds the bytes (by hand, or by writing
//    a value with writeTorchSave and editing the zip with `rewriteZip`) and
//    checks the error with `expectError(Result, "message part")`.
//  - Real files: drop a .pt2 under $ATALLA_FIXTURES or $ATALLA_TORCH2_DATA;
//    `Fixtures.*` read and rewrite every nested torch.save zip in them.
//    Without those variables the fixture tests are skipped.
//
//===----------------------------------------------------------------------===//
#include "frontend/Pickle.h"
#include "frontend/TorchSave.h"
#include "frontend/ZipArchive.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace atalla::frontend;
using Kind = PyValue::Kind;

namespace {

std::vector<uint8_t> bytesOf(llvm::StringRef S) { return std::vector<uint8_t>(S.begin(), S.end()); }
std::vector<uint8_t> bytesOf(const std::string &S) { return bytesOf(llvm::StringRef(S)); }
/// A literal's bytes including embedded NULs (pickles are full of them).
template <size_t N> std::vector<uint8_t> bytesOf(const char (&S)[N]) {
  return std::vector<uint8_t>(S, S + N - 1);
}
template <size_t N> std::string lit(const char (&S)[N]) { return std::string(S, N - 1); }

/// Passes when \p R failed with a message containing \p Part; the message
/// is consumed either way.
template <typename T>
::testing::AssertionResult errorContains(llvm::Expected<T> R, llvm::StringRef Part) {
  if (R)
    return ::testing::AssertionFailure()
           << "expected an error containing '" << Part.str() << "', got success";
  std::string Msg = llvm::toString(R.takeError());
  if (llvm::StringRef(Msg).contains(Part))
    return ::testing::AssertionSuccess() << Msg;
  return ::testing::AssertionFailure()
         << "error '" << Msg << "' does not contain '" << Part.str() << "'";
}
#define expectError(R, Part) EXPECT_TRUE(errorContains((R), (Part)))

/// Unwraps \p R or fails the test with its message.
PyRef valueOrFail(llvm::Expected<PyRef> R) {
  if (!R) {
    ADD_FAILURE() << llvm::toString(R.takeError());
    return nullptr;
  }
  return std::move(*R);
}

std::vector<float> floatsOf(const TensorData &T) {
  std::vector<uint8_t> B = T.contiguousBytes();
  std::vector<float> F(B.size() / 4);
  std::memcpy(F.data(), B.data(), F.size() * 4);
  return F;
}

/// A loader for bare pickles: any ('storage', class, key, loc, numel) gets
/// one shared 4 KiB storage.
PersistentLoad fakeStorages() {
  auto S = std::make_shared<Storage>();
  S->Bytes.assign(4096, 0);
  return [S](const PyRef &Pid) -> llvm::Expected<PyRef> {
    if (!Pid->is(Kind::Tuple) || Pid->Items.size() != 5)
      return llvm::make_error<llvm::StringError>("bad pid", llvm::inconvertibleErrorCode());
    std::optional<ScalarType> D = storageGlobalDtype(*Pid->Items[1]);
    if (!D)
      return llvm::make_error<llvm::StringError>("bad class", llvm::inconvertibleErrorCode());
    return PyValue::makeStorage(S, *D, Pid->Items[4]->I, Pid->Items[2]->S);
  };
}

/// Deep comparison of two values; tensors by metadata and element bytes.
bool sameValue(const PyRef &A, const PyRef &B, std::string &Why, unsigned Depth = 0) {
  if (!A || !B) {
    Why = "null value";
    return A == B;
  }
  if (A->K != B->K) {
    Why = "kind " + A->kindName().str() + " vs " + B->kindName().str();
    return false;
  }
  auto Fail = [&](const std::string &W) {
    Why = W + ": " + A->repr() + " vs " + B->repr();
    return false;
  };
  switch (A->K) {
  case Kind::None:
    return true;
  case Kind::Bool:
    return A->B == B->B || Fail("bool");
  case Kind::Int:
    return A->I == B->I || Fail("int");
  case Kind::Float:
    return std::memcmp(&A->F, &B->F, 8) == 0 || Fail("float");
  case Kind::String:
  case Kind::Bytes:
  case Kind::Global:
    return A->S == B->S || Fail("text");
  case Kind::Tuple:
  case Kind::List:
  case Kind::PersistentId:
  case Kind::Reduce:
    if (A->Items.size() != B->Items.size())
      return Fail("length");
    for (size_t I = 0; I < A->Items.size(); ++I)
      if (!sameValue(A->Items[I], B->Items[I], Why, Depth + 1))
        return false;
    return true;
  case Kind::Dict:
    if (A->IsOrderedDict != B->IsOrderedDict || A->DictItems.size() != B->DictItems.size())
      return Fail("dict");
    for (size_t I = 0; I < A->DictItems.size(); ++I)
      if (!sameValue(A->DictItems[I].first, B->DictItems[I].first, Why, Depth + 1) ||
          !sameValue(A->DictItems[I].second, B->DictItems[I].second, Why, Depth + 1))
        return false;
    return true;
  case Kind::Tensor:
  case Kind::Storage: {
    const TensorData &X = A->Tensor, &Y = B->Tensor;
    if (X.Dtype != Y.Dtype || X.Sizes != Y.Sizes || X.Strides != Y.Strides ||
        X.StorageOffset != Y.StorageOffset || X.RequiresGrad != Y.RequiresGrad ||
        A->IsParameter != B->IsParameter)
      return Fail("tensor metadata");
    if (A->K == Kind::Tensor && X.Data && Y.Data && X.contiguousBytes() != Y.contiguousBytes())
      return Fail("tensor values");
    return true;
  }
  }
  return Fail("?");
}

/// Reads every entry of \p Zip and writes a new zip, after \p Edit may
/// rename, change or (returning false) drop each entry.
std::vector<uint8_t>
rewriteZip(const std::vector<uint8_t> &Zip,
           const std::function<bool(std::string &, std::vector<uint8_t> &)> &Edit) {
  auto R = ZipReader::openBuffer(Zip, "in-memory");
  EXPECT_TRUE(!!R);
  if (!R) {
    llvm::consumeError(R.takeError());
    return {};
  }
  ZipWriter W;
  for (const ZipEntry &E : (*R)->entries()) {
    auto Data = (*R)->read(E.Name);
    EXPECT_TRUE(!!Data);
    if (!Data) {
      llvm::consumeError(Data.takeError());
      return {};
    }
    std::string Name = E.Name;
    if (Edit(Name, *Data))
      W.add(Name, llvm::ArrayRef<uint8_t>(*Data));
  }
  return W.finish();
}

/// A float32 tensor over a fresh storage holding 0, 1, 2, ...
TensorData iotaTensor(std::vector<int64_t> Sizes) {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  std::vector<uint8_t> Bytes(N * 4);
  for (int64_t I = 0; I < N; ++I) {
    float F = static_cast<float>(I);
    std::memcpy(Bytes.data() + 4 * I, &F, 4);
  }
  return TensorData::fromBytes(ScalarType::Float32, std::move(Sizes), std::move(Bytes));
}

PyRef sampleInputs() {
  PyRef X = PyValue::makeTensor(iotaTensor({4, 8}));
  PyRef W = PyValue::makeTensor(iotaTensor({8, 16}));
  return PyValue::makeTuple({PyValue::makeTuple({X, W}), PyValue::makeDict()});
}

std::vector<uint8_t> dataPklOf(const std::vector<uint8_t> &Zip) {
  auto R = ZipReader::openBuffer(Zip, "in-memory");
  if (!R) {
    ADD_FAILURE() << llvm::toString(R.takeError());
    return {};
  }
  for (const ZipEntry &E : (*R)->entries())
    if (llvm::StringRef(E.Name).ends_with("data.pkl")) {
      auto D = (*R)->read(E.Name);
      if (D)
        return *D;
      ADD_FAILURE() << llvm::toString(D.takeError());
    }
  return {};
}

//===----------------------------------------------------------------------===//
// Reading CPython's pickles
//===----------------------------------------------------------------------===//

TEST(Unpickle, Protocol0) {
  // pickle.dumps({'a': [1, 2.5, 'xé\n', None, True, -7, 10**12],
  //               'b': ('t', b'\x01\xff')}, protocol=0)
  llvm::StringRef P("(dp0\nVa\np1\n(lp2\nI1\naF2.5\naVx\xe9\\u000a\np3\naNaI01\naI-7\naL100000"
                    "0000000L\nasVb\np4\n(Vt\np5\nc_codecs\nencode\np6\n(V\x01\xff\np7\nVlatin"
                    "1\np8\ntp9\nRp10\ntp11\ns.");
  PyRef V = valueOrFail(unpickle(bytesOf(P)));
  ASSERT_TRUE(V);
  ASSERT_TRUE(V->is(Kind::Dict));
  PyRef A = V->lookup("a");
  ASSERT_TRUE(A && A->is(Kind::List));
  ASSERT_EQ(A->Items.size(), 7u);
  EXPECT_EQ(A->Items[0]->I, 1);
  EXPECT_EQ(A->Items[1]->F, 2.5);
  EXPECT_EQ(A->Items[2]->S, "x\xc3\xa9\n");
  EXPECT_TRUE(A->Items[3]->is(Kind::None));
  EXPECT_TRUE(A->Items[4]->is(Kind::Bool) && A->Items[4]->B);
  EXPECT_EQ(A->Items[5]->I, -7);
  EXPECT_EQ(A->Items[6]->I, 1000000000000);
  PyRef B = V->lookup("b");
  ASSERT_TRUE(B && B->is(Kind::Tuple) && B->Items.size() == 2);
  EXPECT_EQ(B->Items[0]->S, "t");
  EXPECT_TRUE(B->Items[1]->is(Kind::Bytes));
  EXPECT_EQ(B->Items[1]->S, std::string("\x01\xff"));
}

TEST(Unpickle, Protocol4And5) {
  // pickle.dumps(OrderedDict([('w', [1.25, 'y']), ('z', b'ab')]), protocol=4):
  // FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, SHORT_BINBYTES.
  std::string P = lit("\x80\x04\x95\x42\x00\x00\x00\x00\x00\x00\x00\x8c\x0b"
                      "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01w\x94]\x94(G"
                      "\x3f\xf4\x00\x00\x00\x00\x00\x00\x8c\x01y\x94\x65\x8c\x01z\x94\x43\x02"
                      "ab\x94u.");
  for (char Proto : {'\x04', '\x05'}) {
    P[1] = Proto;
    PyRef V = valueOrFail(unpickle(bytesOf(P)));
    ASSERT_TRUE(V);
    ASSERT_TRUE(V->is(Kind::Dict));
    EXPECT_TRUE(V->IsOrderedDict);
    ASSERT_EQ(V->DictItems.size(), 2u);
    PyRef W = V->lookup("w");
    ASSERT_TRUE(W && W->is(Kind::List) && W->Items.size() == 2);
    EXPECT_EQ(W->Items[0]->F, 1.25);
    EXPECT_EQ(W->Items[1]->S, "y");
    EXPECT_EQ(V->lookup("z")->S, "ab");
  }
}

TEST(Unpickle, OlderOpcodes) {
  // Python 2 strings, PERSID, POP, POP_MARK, DUP, LONG_BINPUT/GET, text INT
  // and FLOAT, BINUNICODE8, by hand (CPython 3 no longer writes most).
  std::string P = lit("\x80\x02(S'a\\nb\\x41\\'c'\nT\x03\x00\x00\x00xyzU\x02hi"
                      "\x8d\x02\x00\x00\x00\x00\x00\x00\x00okPabc\nK\x05"
                      "0(K\x01K\x02"
                      "1K\x07"
                      "2r\x2c\x01\x00\x00j\x2c\x01\x00\x00I-12\nF-0.25\nt.");
  PyRef V = valueOrFail(unpickle(bytesOf(P)));
  ASSERT_TRUE(V);
  EXPECT_EQ(V->repr(), "('a\\x0abA\\'c', 'xyz', 'hi', 'ok', persid('abc'), 7, 7, 7, -12, -0.25)");
  EXPECT_EQ(V->Items[0]->S, "a\nbA'c");
}

TEST(Unpickle, PersistentIdWithoutLoader) {
  // (('storage', torch.FloatStorage, '0', 'cpu', 3)) BINPERSID STOP
  std::string P = lit("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                      "0X\x03\x00\x00\x00"
                      "cpuK\x03tQ.");
  PyRef V = valueOrFail(unpickle(bytesOf(P)));
  ASSERT_TRUE(V);
  ASSERT_TRUE(V->is(Kind::PersistentId));
  ASSERT_EQ(V->Items.size(), 1u);
  EXPECT_EQ(V->Items[0]->Items.size(), 5u);
  EXPECT_EQ(storageGlobalDtype(*V->Items[0]->Items[1]), ScalarType::Float32);
}

TEST(Unpickle, RepeatedDictKey) {
  // {'a': 1, 'a': 2} the way SETITEMS would build it: both entries stay,
  // lookup() sees the last like Python.
  std::string P = lit("\x80\x02}(X\x01\x00\x00\x00"
                      "aK\x01X\x01\x00\x00\x00"
                      "aK\x02u.");
  PyRef V = valueOrFail(unpickle(bytesOf(P)));
  ASSERT_TRUE(V);
  EXPECT_EQ(V->DictItems.size(), 2u);
  EXPECT_EQ(V->lookup("a")->I, 2);
}

//===----------------------------------------------------------------------===//
// Writing like CPython
//===----------------------------------------------------------------------===//

TEST(PickleWriter, MatchesCPython) {
  // pickle.dumps(((0, 255, 256, 65535, 65536, -1, -2**31, 2**31-1, 2**31,
  //   -2**31-1, 2**40, -2**40, 2**63-1, -2**63, -128, -129, 1.5, -0.0, None,
  //   True, False), 'héllo 世', b'', b'\x00\x7f\x80\xff', [], [7], [1, 2], {},
  //   {'a': 1}, {'b': 2, 'c': 3}, OrderedDict(), OrderedDict([('k', 1)])),
  //   protocol=2) from CPython 3.11.
  static const uint8_t Expected[] = {
      0x80, 0x02, 0x28, 0x28, 0x4b, 0x00, 0x4b, 0xff, 0x4d, 0x00, 0x01, 0x4d, 0xff, 0xff, 0x4a,
      0x00, 0x00, 0x01, 0x00, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0x00, 0x00, 0x00, 0x80, 0x4a,
      0xff, 0xff, 0xff, 0x7f, 0x8a, 0x05, 0x00, 0x00, 0x00, 0x80, 0x00, 0x8a, 0x05, 0xff, 0xff,
      0xff, 0x7f, 0xff, 0x8a, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8a, 0x06, 0x00, 0x00,
      0x00, 0x00, 0x00, 0xff, 0x8a, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x8a,
      0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x4a, 0x80, 0xff, 0xff, 0xff, 0x4a,
      0x7f, 0xff, 0xff, 0xff, 0x47, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x47, 0x80,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x88, 0x89, 0x74, 0x71, 0x00, 0x58, 0x0a,
      0x00, 0x00, 0x00, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x20, 0xe4, 0xb8, 0x96, 0x71, 0x01,
      0x63, 0x5f, 0x5f, 0x62, 0x75, 0x69, 0x6c, 0x74, 0x69, 0x6e, 0x5f, 0x5f, 0x0a, 0x62, 0x79,
      0x74, 0x65, 0x73, 0x0a, 0x71, 0x02, 0x29, 0x52, 0x71, 0x03, 0x63, 0x5f, 0x63, 0x6f, 0x64,
      0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x71, 0x04, 0x58, 0x06,
      0x00, 0x00, 0x00, 0x00, 0x7f, 0xc2, 0x80, 0xc3, 0xbf, 0x71, 0x05, 0x58, 0x06, 0x00, 0x00,
      0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x71, 0x06, 0x86, 0x71, 0x07, 0x52, 0x71, 0x08,
      0x5d, 0x71, 0x09, 0x5d, 0x71, 0x0a, 0x4b, 0x07, 0x61, 0x5d, 0x71, 0x0b, 0x28, 0x4b, 0x01,
      0x4b, 0x02, 0x65, 0x7d, 0x71, 0x0c, 0x7d, 0x71, 0x0d, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61,
      0x71, 0x0e, 0x4b, 0x01, 0x73, 0x7d, 0x71, 0x0f, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62,
      0x71, 0x10, 0x4b, 0x02, 0x58, 0x01, 0x00, 0x00, 0x00, 0x63, 0x71, 0x11, 0x4b, 0x03, 0x75,
      0x63, 0x63, 0x6f, 0x6c, 0x6c, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x73, 0x0a, 0x4f, 0x72,
      0x64, 0x65, 0x72, 0x65, 0x64, 0x44, 0x69, 0x63, 0x74, 0x0a, 0x71, 0x12, 0x29, 0x52, 0x71,
      0x13, 0x68, 0x12, 0x29, 0x52, 0x71, 0x14, 0x58, 0x01, 0x00, 0x00, 0x00, 0x6b, 0x71, 0x15,
      0x4b, 0x01, 0x73, 0x74, 0x71, 0x16, 0x2e};
  std::vector<PyRef> Scalars;
  for (int64_t I :
       {int64_t(0), int64_t(255), int64_t(256), int64_t(65535), int64_t(65536), int64_t(-1),
        int64_t(INT32_MIN), int64_t(INT32_MAX), int64_t(1) << 31, -(int64_t(1) << 31) - 1,
        int64_t(1) << 40, -(int64_t(1) << 40), INT64_MAX, INT64_MIN, int64_t(-128), int64_t(-129)})
    Scalars.push_back(PyValue::makeInt(I));
  Scalars.push_back(PyValue::makeFloat(1.5));
  Scalars.push_back(PyValue::makeFloat(-0.0));
  Scalars.push_back(PyValue::none());
  Scalars.push_back(PyValue::makeBool(true));
  Scalars.push_back(PyValue::makeBool(false));
  PyRef D1 = PyValue::makeDict();
  D1->insert("a", PyValue::makeInt(1));
  PyRef D2 = PyValue::makeDict();
  D2->insert("b", PyValue::makeInt(2));
  D2->insert("c", PyValue::makeInt(3));
  PyRef O1 = PyValue::makeDict(true);
  O1->insert("k", PyValue::makeInt(1));
  PyRef Value = PyValue::makeTuple(
      {PyValue::makeTuple(Scalars), PyValue::makeString("h\xc3\xa9llo \xe4\xb8\x96"),
       PyValue::makeBytes(""), PyValue::makeBytes(std::string("\x00\x7f\x80\xff", 4)),
       PyValue::makeList(), PyValue::makeList({PyValue::makeInt(7)}),
       PyValue::makeList({PyValue::makeInt(1), PyValue::makeInt(2)}), PyValue::makeDict(), D1, D2,
       PyValue::makeDict(true), O1});
  std::vector<uint8_t> Got = PickleWriter().write(Value);
  EXPECT_EQ(Got, std::vector<uint8_t>(std::begin(Expected), std::end(Expected)));

  // And it reads back to the same value.
  PyRef Back = valueOrFail(unpickle(Got));
  std::string Why;
  EXPECT_TRUE(sameValue(Value, Back, Why)) << Why;
}

TEST(PickleWriter, BatchesLikeCPython) {
  // CPython 3.11: dict of 1000 -> MARK SETITEMS MARK SETITEMS (an empty
  // trailing batch), OrderedDict of 1001 -> MARK SETITEMS SETITEM, list of
  // 1001 -> MARK APPENDS MARK APPENDS.
  auto CountOps = [](const std::vector<uint8_t> &P, uint8_t Op) {
    // Only ints 0..255 (BININT1) and these opcodes appear, so a byte scan
    // after skipping BININT1 operands is exact.
    size_t N = 0;
    for (size_t I = 2; I < P.size(); ++I) {
      if (P[I] == 'K' || P[I] == 'M') {
        I += P[I] == 'K' ? 1 : 2;
        continue;
      }
      if (P[I] == 'q' || P[I] == 'h') {
        ++I;
        continue;
      }
      if (P[I] == 'c') { // GLOBAL: skip two lines
        while (P[I] != '\n')
          ++I;
        ++I;
        while (P[I] != '\n')
          ++I;
        continue;
      }
      N += P[I] == Op;
    }
    return N;
  };
  PyRef D = PyValue::makeDict();
  PyRef O = PyValue::makeDict(true);
  PyRef L = PyValue::makeList();
  for (int I = 0; I < 1001; ++I) {
    if (I < 1000)
      D->DictItems.emplace_back(PyValue::makeInt(I), PyValue::makeInt(I));
    O->DictItems.emplace_back(PyValue::makeInt(I), PyValue::makeInt(I));
    L->Items.push_back(PyValue::makeInt(I));
  }
  std::vector<uint8_t> PD = PickleWriter().write(D), PO = PickleWriter().write(O),
                       PL = PickleWriter().write(L);
  EXPECT_EQ(CountOps(PD, '('), 2u);
  EXPECT_EQ(CountOps(PD, 'u'), 2u);
  EXPECT_EQ(CountOps(PO, '('), 1u);
  EXPECT_EQ(CountOps(PO, 'u'), 1u);
  EXPECT_EQ(CountOps(PO, 's'), 1u);
  EXPECT_EQ(CountOps(PL, '('), 2u);
  EXPECT_EQ(CountOps(PL, 'e'), 2u);
  for (const auto &[Value, P] : {std::pair{D, PD}, std::pair{O, PO}, std::pair{L, PL}}) {
    PyRef Back = valueOrFail(unpickle(P));
    std::string Why;
    EXPECT_TRUE(sameValue(Value, Back, Why)) << Why;
  }
}

TEST(PickleWriter, MemoisesByIdentity) {
  PyRef S = PyValue::makeString("shared");
  PyRef L = PyValue::makeList({S, S, PyValue::makeString("shared")});
  std::vector<uint8_t> P = PickleWriter().write(PyValue::makeTuple({L, L}));
  // One string written twice by content, once fetched; the list fetched once.
  size_t Texts = 0;
  for (size_t I = 0; I + 6 <= P.size(); ++I)
    Texts += std::memcmp(P.data() + I, "shared", 6) == 0;
  EXPECT_EQ(Texts, 2u);
  PyRef Back = valueOrFail(unpickle(P));
  ASSERT_TRUE(Back);
  EXPECT_EQ(Back->Items[0], Back->Items[1]);
  EXPECT_EQ(Back->Items[0]->Items[0], Back->Items[0]->Items[1]);
  EXPECT_NE(Back->Items[0]->Items[0], Back->Items[0]->Items[2]);
}

//===----------------------------------------------------------------------===//
// torch.save round trips
//===----------------------------------------------------------------------===//

TEST(TorchSave, RoundTrip) {
  auto S1 = std::make_shared<Storage>();
  S1->Bytes.resize(24 * 4);
  for (int I = 0; I < 24; ++I) {
    float F = 0.25f * I;
    std::memcpy(S1->Bytes.data() + 4 * I, &F, 4);
  }
  TensorData A;
  A.Dtype = ScalarType::Float32;
  A.Sizes = {2, 3};
  A.Strides = {3, 1};
  A.Data = S1;
  TensorData B = A; // transposed view
  B.Sizes = {3, 2};
  B.Strides = {1, 3};
  TensorData C = A; // offset slice
  C.Sizes = {6};
  C.Strides = {1};
  C.StorageOffset = 6;
  TensorData D = A; // the same bytes as int32: needs its own storage key
  D.Dtype = ScalarType::Int32;
  TensorData P = iotaTensor({2, 2});
  P.RequiresGrad = true;
  std::vector<uint8_t> LongBytes(3 * 8);
  for (int I = 0; I < 3; ++I) {
    int64_t V = int64_t(1) << (20 * I);
    std::memcpy(LongBytes.data() + 8 * I, &V, 8);
  }
  TensorData L = TensorData::fromBytes(ScalarType::Int64, {3}, LongBytes);
  TensorData Bool = TensorData::fromBytes(ScalarType::Bool, {2}, {1, 0});
  TensorData Scalar = TensorData::fromBytes(ScalarType::Float64, {}, std::vector<uint8_t>(8, 0));
  TensorData Fake; // no data: written with a zero-filled storage
  Fake.Sizes = {2, 2};
  Fake.Strides = {2, 1};

  PyRef TA = PyValue::makeTensor(A);
  PyRef State = PyValue::makeDict(/*IsOrdered=*/true);
  State->insert("a", TA);
  State->insert("b", PyValue::makeTensor(B));
  State->insert("c", PyValue::makeTensor(C));
  State->insert("d", PyValue::makeTensor(D));
  State->insert("p", PyValue::makeTensor(P, /*IsParameter=*/true));
  State->insert("l", PyValue::makeTensor(L));
  State->insert("bool", PyValue::makeTensor(Bool));
  State->insert("scalar", PyValue::makeTensor(Scalar));
  State->insert("fake", PyValue::makeTensor(Fake));
  State->insert("again", TA);
  State->insert("misc", PyValue::makeList({PyValue::makeBytes("\x01\x02"), PyValue::makeFloat(0.5),
                                           PyValue::makeString("x"), PyValue::none()}));
  std::vector<uint8_t> Zip = writeTorchSave(State, "weights");

  auto Z = ZipReader::openBuffer(Zip, "rt.pt");
  ASSERT_TRUE(!!Z) << llvm::toString(Z.takeError());
  std::vector<std::string> Names;
  for (const ZipEntry &E : (*Z)->entries())
    Names.push_back(E.Name);
  // Keys in first-seen order (a/b/c share "0", d "1", p "2", ...), written
  // in string order like torch.
  std::vector<std::string> Want = {"weights/data.pkl",
                                   "weights/.format_version",
                                   "weights/.storage_alignment",
                                   "weights/byteorder",
                                   "weights/data/0",
                                   "weights/data/1",
                                   "weights/data/2",
                                   "weights/data/3",
                                   "weights/data/4",
                                   "weights/data/5",
                                   "weights/data/6",
                                   "weights/version",
                                   "weights/.data/serialization_id"};
  EXPECT_EQ(Names, Want);
  auto Id = (*Z)->readText("weights/.data/serialization_id");
  ASSERT_TRUE(!!Id);
  EXPECT_EQ(Id->size(), 40u);
  EXPECT_TRUE(llvm::all_of(*Id, [](char Ch) { return Ch >= '0' && Ch <= '9'; }));
  EXPECT_EQ(Zip, writeTorchSave(State, "weights")) << "writing must be deterministic";

  PyRef Back = valueOrFail(readTorchSave(Zip, "rt.pt"));
  ASSERT_TRUE(Back);
  std::string Why;
  // The fake tensor comes back with (zero) data; compare it separately.
  EXPECT_TRUE(sameValue(State, Back, Why)) << Why;
  EXPECT_EQ(Back->lookup("a")->Tensor.Data, Back->lookup("b")->Tensor.Data);
  EXPECT_EQ(Back->lookup("a")->Tensor.Data, Back->lookup("c")->Tensor.Data);
  EXPECT_NE(Back->lookup("a")->Tensor.Data, Back->lookup("d")->Tensor.Data);
  EXPECT_EQ(Back->lookup("a"), Back->lookup("again"));
  EXPECT_TRUE(Back->lookup("p")->IsParameter);
  EXPECT_TRUE(Back->lookup("p")->Tensor.RequiresGrad);
  EXPECT_EQ(floatsOf(Back->lookup("b")->Tensor),
            (std::vector<float>{0, 0.75f, 0.25f, 1, 0.5f, 1.25f}));
  EXPECT_EQ(Back->lookup("fake")->Tensor.contiguousBytes(), std::vector<uint8_t>(16, 0));
  EXPECT_EQ(Back->lookup("misc")->Items[0]->S, "\x01\x02");
}

TEST(TorchSave, SampleInputsPickleMatchesTorch) {
  // The data.pkl torch 2.11 wrote for ((x [4,8], w [8,16]), {}), from
  // tests/data/torch2/torch_seed_accel_demo.pt2.
  llvm::StringRef TorchPkl(
      "\x80\x02\x63torch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storageq\x01"
      "ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x00\x30q\x03X\x03\x00\x00\x00\x63puq\x04K tq"
      "\x05QK\x00K\x04K\x08\x86q\x06K\x08K\x01\x86q\x07\x89\x63\x63ollections\nOrderedDict\n"
      "q\x08)Rq\ttq\nRq\x0bh\x00((h\x01h\x02X\x01\x00\x00\x00\x31q\x0ch\x04K\x80tq\rQK\x00K"
      "\x08K\x10\x86q\x0eK\x10K\x01\x86q\x0f\x89h\x08)Rq\x10tq\x11Rq\x12\x86q\x13}q\x14\x86q"
      "\x15.",
      216);
  std::vector<uint8_t> Zip = writeTorchSave(sampleInputs());
  EXPECT_EQ(dataPklOf(Zip), bytesOf(TorchPkl));
}

//===----------------------------------------------------------------------===//
// Hostile and malformed input
//===----------------------------------------------------------------------===//

TEST(Hostile, GlobalNotAllowed) {
  expectError(unpickle(bytesOf("\x80\x02\x63os\nsystem\nq\x00.")),
              "pickle global 'os system' is not allowed at offset 2");
  // STACK_GLOBAL goes through the same allow-list.
  expectError(unpickle(bytesOf("\x80\x04\x8c\x08\x62uiltins\x8c\x04\x65val\x93.")),
              "pickle global 'builtins eval' is not allowed");
  expectError(unpickle(bytesOf("\x80\x02\x63torch._utils\n_rebuild_qtensor\n.")),
              "pickle global 'torch._utils _rebuild_qtensor' is not allowed");
}

TEST(Hostile, UnsupportedOpcodes) {
  expectError(unpickle(bytesOf("\x80\x02(X\x01\x00\x00\x00\x61i__main__\nC\n.")),
              "unsupported pickle opcode 'INST' (0x69) at offset 9");
  expectError(unpickle(bytesOf("\x80\x02(o.")), "unsupported pickle opcode 'OBJ' (0x6f)");
  expectError(unpickle(bytesOf("\x80\x02\x82\x01.")), "unsupported pickle opcode 'EXT1'");
  expectError(unpickle(bytesOf("\x80\x04\x8f.")), "unsupported pickle opcode 'EMPTY_SET'");
  expectError(unpickle(bytesOf("\x80\x05\x97.")), "unsupported pickle opcode 'NEXT_BUFFER'");
  expectError(unpickle(bytesOf("\x80\x02\xff.")), "unknown pickle opcode 0xff at offset 2");
  expectError(unpickle(bytesOf("\x80\x06N.")), "unsupported pickle protocol 6");
}

TEST(Hostile, CallsOnlyWhatIsCallable) {
  // torch.FloatStorage() and REDUCE of a non-global.
  expectError(unpickle(bytesOf("\x80\x02\x63torch\nFloatStorage\n)R.")),
              "pickle global 'torch FloatStorage' cannot be called");
  expectError(unpickle(bytesOf("\x80\x02K\x01)R.")), "not an allowed global");
  // NEWOBJ is for classes: _rebuild_tensor_v2.__new__ makes no sense.
  expectError(unpickle(bytesOf("\x80\x02\x63torch._utils\n_rebuild_tensor_v2\n)\x81.")),
              "'NEWOBJ' of 'torch._utils _rebuild_tensor_v2' is not allowed");
  PyRef V = valueOrFail(unpickle(bytesOf("\x80\x02\x63\x63ollections\nOrderedDict\n)\x81.")));
  ASSERT_TRUE(V);
  EXPECT_TRUE(V->is(Kind::Dict) && V->IsOrderedDict);
  // BUILD only on tensors and OrderedDicts.
  expectError(unpickle(bytesOf("\x80\x02]}b.")), "'BUILD' on list is not supported");
  V = valueOrFail(unpickle(bytesOf("\x80\x02\x63\x63ollections\nOrderedDict\n)R}b.")));
  EXPECT_TRUE(V && V->IsOrderedDict);
}

TEST(Hostile, MalformedStacks) {
  expectError(unpickle(bytesOf("\x80\x02R.")), "stack underflow in 'REDUCE' at offset 2");
  expectError(unpickle(bytesOf("\x80\x02K\x01t.")), "'TUPLE' without a MARK at offset 4");
  expectError(unpickle(bytesOf("\x80\x02(\x86.")), "stack underflow in 'TUPLE2'");
  expectError(unpickle(bytesOf("\x80\x02.")), "stack underflow in 'STOP'");
  expectError(unpickle(bytesOf("\x80\x02K\x01K\x02\x61.")),
              "'APPEND' needs a list, got int at offset 6");
  expectError(unpickle(bytesOf("\x80\x02}K\x01u.")), "'SETITEMS' without a MARK");
  expectError(unpickle(bytesOf("\x80\x02}(K\x01u.")), "odd number of items");
  expectError(unpickle(bytesOf("\x80\x02K\x01")), "pickle ends without STOP at offset 4");
  expectError(unpickle(bytesOf("\x80\x02h\x05.")), "memo index 5 is missing in 'BINGET'");
  expectError(unpickle(bytesOf("\x80\x02j\x00\x00\x01\x00.")), "memo index 65536 is missing");
  expectError(unpickle(bytesOf("\x80\x02g7\n.")), "memo index 7 is missing in 'GET'");
  expectError(unpickle(bytesOf("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.")),
              "does not fit in int64");
  expectError(unpickle(bytesOf("\x80\x02\x8b\xff\xff\xff\xff.")), "pickle truncated in 'LONG4'");
  expectError(unpickle(bytesOf("\x80\x02X\xff\xff\xff\xff.")), "pickle truncated in 'BINUNICODE'");
  expectError(unpickle(bytesOf("\x80\x02\x8e\xff\xff\xff\xff\xff\xff\xff\xff.")),
              "pickle truncated in 'BINBYTES8'");
  PyRef V = valueOrFail(unpickle(bytesOf("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\xff.")));
  ASSERT_TRUE(V);
  EXPECT_EQ(V->I, INT64_MIN);
}

TEST(Hostile, TruncatedAtEveryPrefix) {
  std::vector<std::vector<uint8_t>> Pickles = {dataPklOf(writeTorchSave(sampleInputs()))};
  // A parameter dict too, for _rebuild_parameter and OrderedDict SETITEMS.
  PyRef State = PyValue::makeDict(true);
  State->insert("w", PyValue::makeTensor(iotaTensor({3, 4}), true));
  State->insert("b", PyValue::makeTensor(iotaTensor({3}), true));
  Pickles.push_back(dataPklOf(writeTorchSave(State)));
  for (const std::vector<uint8_t> &P : Pickles) {
    ASSERT_FALSE(P.empty());
    ASSERT_TRUE(!!valueOrFail(unpickle(P, fakeStorages())));
    for (size_t N = 0; N < P.size(); ++N) {
      auto R = unpickle(llvm::ArrayRef<uint8_t>(P).take_front(N), fakeStorages());
      EXPECT_FALSE(!!R) << "prefix of " << N << " bytes unpickled";
      if (!R)
        llvm::consumeError(R.takeError());
    }
  }
}

TEST(Hostile, DeepNesting) {
  constexpr size_t N = 1000000;
  // A million MARKs.
  std::string Marks = "\x80\x02" + std::string(N, '(') + ".";
  expectError(unpickle(bytesOf(Marks)), "pickle nests MARKs deeper than 1000");
  // A million lists each appended into the one below: depth N at STOP.
  std::string Lists = "\x80\x02" + std::string(N, ']') + std::string(N - 1, 'a') + ".";
  expectError(unpickle(bytesOf(Lists)), "pickle nests containers deeper than 1000 levels");
  // A million TUPLE1 around an empty tuple.
  std::string Tuples = "\x80\x02)" + std::string(N, '\x85') + ".";
  expectError(unpickle(bytesOf(Tuples)), "pickle nests containers deeper than 1000 levels");
  // Nesting within the limit is fine.
  std::string Ok = "\x80\x02" + std::string(500, ']') + std::string(499, 'a') + ".";
  EXPECT_TRUE(!!valueOrFail(unpickle(bytesOf(Ok))));
}

TEST(Hostile, ReferenceCycles) {
  // l = []; l.append(l)
  expectError(unpickle(bytesOf("\x80\x02]q\x00h\x00\x61.")),
              "pickle contains a reference cycle at offset 8");
  // A cycle in an object that is then thrown away still fails (and must
  // not leak: run under LeakSanitizer).
  expectError(unpickle(bytesOf("\x80\x02]q\x00h\x00\x61\x30N.")), "reference cycle");
  // d = {}; d['d'] = d
  expectError(unpickle(bytesOf("\x80\x02}q\x00X\x01\x00\x00\x00\x64h\x00s.")), "reference cycle");
}

TEST(Hostile, Limits) {
  UnpicklerLimits L;
  L.MaxItems = 100;
  std::string Big = "\x80\x02(" + std::string(200, 'N') + "l.";
  expectError(unpickle(bytesOf(Big), nullptr, L), "pickle exceeds the limit of 100 items");
  // Bytes made by _codecs.encode are copies and count by size.
  std::string Encode = "\x80\x02\x63_codecs\nencode\nX" + lit("\x20\x03\x00\x00") +
                       std::string(800, 'a') + "X" + lit("\x06\x00\x00\x00") + "latin1\x86R.";
  expectError(unpickle(bytesOf(Encode), nullptr, L), "pickle exceeds the limit of 100 items");
  L.MaxItems = 1000;
  EXPECT_TRUE(!!valueOrFail(unpickle(bytesOf(Encode), nullptr, L)));
  L = UnpicklerLimits();
  L.MaxMemo = 10;
  std::string Memo = "\x80\x02N";
  for (int I = 0; I < 20; ++I)
    Memo += std::string("q") + static_cast<char>(I);
  Memo += ".";
  expectError(unpickle(bytesOf(Memo), nullptr, L), "pickle exceeds the limit of 10 memo entries");
  // Re-putting the same slot is not a new entry.
  std::string Same = "\x80\x02N";
  for (int I = 0; I < 20; ++I)
    Same += std::string("q\x00", 2);
  Same += ".";
  EXPECT_TRUE(!!valueOrFail(unpickle(bytesOf(Same), nullptr, L)));
}

TEST(Hostile, BadRebuildArguments) {
  auto Rebuild = [](std::vector<PyRef> Args) {
    PyRef Call = std::make_shared<PyValue>();
    Call->K = Kind::Reduce;
    Call->Items = {PyValue::makeGlobal("torch._utils", "_rebuild_tensor_v2"),
                   PyValue::makeTuple(std::move(Args))};
    return PickleWriter().write(Call);
  };
  auto Pid = [] {
    PyRef P = std::make_shared<PyValue>();
    P->K = Kind::PersistentId;
    P->Items = {PyValue::makeTuple(
        {PyValue::makeString("storage"), PyValue::makeGlobal("torch", "FloatStorage"),
         PyValue::makeString("0"), PyValue::makeString("cpu"), PyValue::makeInt(4)})};
    return P;
  };
  auto Ints = [](std::vector<int64_t> V) {
    std::vector<PyRef> R;
    for (int64_t I : V)
      R.push_back(PyValue::makeInt(I));
    return PyValue::makeTuple(R);
  };
  auto Hooks = [] { return PyValue::makeDict(true); };
  expectError(unpickle(Rebuild({PyValue::makeString("x"), PyValue::makeInt(0), Ints({1}), Ints({1}),
                                PyValue::makeBool(false), Hooks()}),
                       fakeStorages()),
              "_rebuild_tensor_v2: argument 0 (storage) must be a storage, got 'x'");
  expectError(unpickle(Rebuild({Pid(), PyValue::makeInt(0), PyValue::makeString("s"), Ints({1}),
                                PyValue::makeBool(false), Hooks()}),
                       fakeStorages()),
              "argument 2 (size) must be a tuple of ints");
  expectError(unpickle(Rebuild({Pid(), PyValue::makeInt(0), Ints({1})}), fakeStorages()),
              "_rebuild_tensor_v2 takes 6 or 7 arguments, got 3");
  expectError(unpickle(Rebuild({Pid(), PyValue::makeInt(0), Ints({2}), Ints({1}),
                                PyValue::makeInt(0), Hooks()}),
                       fakeStorages()),
              "argument 4 (requires_grad) must be a bool");
  // Without a loader the storage stays a persistent id, which cannot back
  // a tensor.
  expectError(unpickle(Rebuild({Pid(), PyValue::makeInt(0), Ints({2}), Ints({1}),
                                PyValue::makeBool(false), Hooks()})),
              "must be a storage, got persid(");
  // _rebuild_tensor_v3 takes the dtype from its argument.
  PyRef Call = std::make_shared<PyValue>();
  Call->K = Kind::Reduce;
  Call->Items = {PyValue::makeGlobal("torch._utils", "_rebuild_tensor_v3"),
                 PyValue::makeTuple({Pid(), PyValue::makeInt(0), Ints({2}), Ints({1}),
                                     PyValue::makeBool(false), Hooks(),
                                     PyValue::makeGlobal("torch", "int64")})};
  PyRef V = valueOrFail(unpickle(PickleWriter().write(Call), fakeStorages()));
  ASSERT_TRUE(V && V->is(Kind::Tensor));
  EXPECT_EQ(V->Tensor.Dtype, ScalarType::Int64);
  // _rebuild_parameter needs a tensor.
  Call->Items = {PyValue::makeGlobal("torch._utils", "_rebuild_parameter"),
                 PyValue::makeTuple({PyValue::makeInt(1), PyValue::makeBool(true), Hooks()})};
  expectError(unpickle(PickleWriter().write(Call), fakeStorages()),
              "'torch._utils _rebuild_parameter' called with (1, True, OrderedDict({}))");
}

/// Writes \p T as the only value of a torch.save zip without validating it.
std::vector<uint8_t> zipWithTensor(TensorData T) {
  return writeTorchSave(PyValue::makeTensor(std::move(T)));
}

TEST(Hostile, BadTensorViews) {
  TensorData T = iotaTensor({4});
  T.Sizes = {int64_t(1) << 40, int64_t(1) << 40};
  T.Strides = {1, 1};
  expectError(readTorchSave(zipWithTensor(T), "huge.pt"), "element count overflows int64");
  T = iotaTensor({4});
  T.Strides = {-1};
  expectError(readTorchSave(zipWithTensor(T), "neg.pt"), "negative stride -1 in dimension 0");
  T = iotaTensor({4});
  T.StorageOffset = 1;
  expectError(readTorchSave(zipWithTensor(T), "off.pt"),
              "payload has 16 bytes but the tensor needs 20");
  T = iotaTensor({4});
  T.Sizes = {-2};
  expectError(readTorchSave(zipWithTensor(T), "negsize.pt"), "negative dimension -2");
}

TEST(Hostile, BadStorages) {
  std::vector<uint8_t> Good = writeTorchSave(sampleInputs());
  ASSERT_TRUE(!!valueOrFail(readTorchSave(Good, "good.pt")));

  auto NoKey = rewriteZip(
      Good, [](std::string &Name, std::vector<uint8_t> &) { return Name != "archive/data/1"; });
  expectError(readTorchSave(NoKey, "nokey.pt"),
              "nokey.pt: archive/data.pkl: storage 'data/1' is missing at offset");

  auto Short = rewriteZip(Good, [](std::string &Name, std::vector<uint8_t> &Data) {
    if (Name == "archive/data/0")
      Data.resize(Data.size() - 1);
    return true;
  });
  expectError(readTorchSave(Short, "short.pt"),
              "storage 'data/0' has 127 bytes but its persistent id needs 128 (32 x FloatStorage)");

  auto Big = rewriteZip(Good, [](std::string &Name, std::vector<uint8_t> &Data) {
    if (Name == "archive/byteorder")
      Data = bytesOf("big");
    return true;
  });
  expectError(readTorchSave(Big, "big.pt"),
              "big.pt: byteorder is 'big'; only little-endian torch.save files are supported");

  auto NoPkl = rewriteZip(
      Good, [](std::string &Name, std::vector<uint8_t> &) { return Name != "archive/data.pkl"; });
  expectError(readTorchSave(NoPkl, "nopkl.pt"), "nopkl.pt: not a torch.save zip: no data.pkl");

  // Another root name and no byteorder record (torch < 1.13) are fine.
  auto Renamed = rewriteZip(Good, [](std::string &Name, std::vector<uint8_t> &) {
    Name = "other_root" + Name.substr(std::string("archive").size());
    return Name != "other_root/byteorder";
  });
  PyRef V = valueOrFail(readTorchSave(Renamed, "renamed.pt"));
  std::string Why;
  EXPECT_TRUE(V && sameValue(V, sampleInputs(), Why)) << Why;

  // A persistent id that is not a storage tuple.
  std::string P = lit("\x80\x02X\x01\x00\x00\x00xQ.");
  auto BadPid = rewriteZip(Good, [&](std::string &Name, std::vector<uint8_t> &Data) {
    if (Name == "archive/data.pkl")
      Data = bytesOf(P);
    return true;
  });
  expectError(readTorchSave(BadPid, "pid.pt"), "bad storage persistent id 'x'");

  expectError(readTorchSave(bytesOf("not a zip at all"), "junk.pt"), "junk.pt");
}

//===----------------------------------------------------------------------===//
// Real files
//===----------------------------------------------------------------------===//

/// The directory named by \p Var, or "" (then the caller skips).
std::string dataDir(const char *Var) {
  const char *Dir = std::getenv(Var);
  if (!Dir || !*Dir || !llvm::sys::fs::is_directory(Dir))
    return "";
  return Dir;
}

struct NestedSave {
  std::string Where; ///< "file.pt2:entry"
  std::vector<uint8_t> Zip;
};

/// Every torch.save zip nested in every .pt2 under \p Dir.
std::vector<NestedSave> nestedSaves(const std::string &Dir) {
  std::vector<NestedSave> Out;
  std::vector<std::string> Files;
  std::error_code EC;
  for (llvm::sys::fs::recursive_directory_iterator It(Dir, EC), End; It != End && !EC;
       It.increment(EC))
    if (llvm::StringRef(It->path()).ends_with(".pt2"))
      Files.push_back(It->path());
  std::sort(Files.begin(), Files.end());
  for (const std::string &F : Files) {
    auto Z = ZipReader::openFile(F);
    if (!Z) {
      ADD_FAILURE() << llvm::toString(Z.takeError());
      continue;
    }
    for (const ZipEntry &E : (*Z)->entries()) {
      auto Data = (*Z)->read(E.Name);
      if (!Data) {
        ADD_FAILURE() << llvm::toString(Data.takeError());
        continue;
      }
      if (Data->size() < 4 || std::memcmp(Data->data(), "PK\x03\x04", 4) != 0)
        continue;
      Out.push_back({llvm::sys::path::filename(F).str() + ":" + E.Name, std::move(*Data)});
    }
  }
  return Out;
}

/// Reads each nested save, checks every tensor validates, rewrites it and
/// checks the entries (all but the serialization id) are byte-identical.
void readAndRewriteAll(const std::string &Dir) {
  std::vector<NestedSave> Saves = nestedSaves(Dir);
  ASSERT_FALSE(Saves.empty()) << "no nested torch.save zips under " << Dir;
  for (const NestedSave &S : Saves) {
    SCOPED_TRACE(S.Where);
    PyRef V = valueOrFail(readTorchSave(S.Zip, S.Where));
    if (!V)
      continue;
    std::vector<uint8_t> Again = writeTorchSave(V);
    auto Orig = ZipReader::openBuffer(S.Zip, S.Where);
    auto Mine = ZipReader::openBuffer(Again, "rewritten");
    ASSERT_TRUE(Orig && Mine);
    // torch < 2.3 wrote no .format_version/.storage_alignment records; for
    // those only the pickle and storages must match.
    bool Modern = false;
    std::vector<std::string> OrigNames, MineNames;
    for (const ZipEntry &E : (*Orig)->entries()) {
      OrigNames.push_back(E.Name);
      Modern |= llvm::StringRef(E.Name).ends_with("/.format_version");
    }
    for (const ZipEntry &E : (*Mine)->entries())
      MineNames.push_back(E.Name);
    if (Modern) {
      EXPECT_EQ(OrigNames, MineNames);
    }
    for (const std::string &Name : OrigNames) {
      if (llvm::StringRef(Name).ends_with("serialization_id") || !(*Mine)->contains(Name))
        continue;
      auto A = (*Orig)->read(Name);
      auto B = (*Mine)->read(Name);
      ASSERT_TRUE(A && B);
      EXPECT_EQ(*A, *B) << "entry " << Name << " differs after rewriting";
    }
    for (const std::string &Name : MineNames) {
      llvm::StringRef N(Name);
      if (N.ends_with("/data.pkl") || N.contains("/data/")) {
        EXPECT_TRUE((*Orig)->contains(Name)) << "rewriting added " << Name;
      }
    }
    PyRef Back = valueOrFail(readTorchSave(Again, "rewritten"));
    std::string Why;
    EXPECT_TRUE(Back && sameValue(V, Back, Why)) << Why;
  }
  std::cout << "[          ] " << Saves.size() << " nested torch.save zips under " << Dir << "\n";
}

TEST(Fixtures, EveryNestedSaveReadsAndRewritesIdentically) {
  std::string Dir = dataDir("ATALLA_FIXTURES");
  if (Dir.empty())
    GTEST_SKIP() << "set ATALLA_FIXTURES to the shared fixtures directory to run this test";
  readAndRewriteAll(Dir);
}

TEST(Fixtures, Torch2NestedSavesReadAndRewriteIdentically) {
  std::string Dir = dataDir("ATALLA_TORCH2_DATA");
  if (Dir.empty())
    GTEST_SKIP() << "set ATALLA_TORCH2_DATA to tests/data/torch2 to run this test";
  readAndRewriteAll(Dir);
}

/// The nested save \p Entry of \p File under \p Dir, read.
PyRef readNested(const std::string &Dir, const std::string &File, const std::string &Entry) {
  std::string Path = Dir + "/" + File;
  auto Z = ZipReader::openFile(Path);
  if (!Z) {
    ADD_FAILURE() << llvm::toString(Z.takeError());
    return nullptr;
  }
  auto Data = (*Z)->read(Entry);
  if (!Data) {
    ADD_FAILURE() << llvm::toString(Data.takeError());
    return nullptr;
  }
  return valueOrFail(readTorchSave(*Data, File + ":" + Entry));
}

std::vector<uint8_t> fileBytes(const std::string &Path) {
  auto B = llvm::MemoryBuffer::getFile(Path);
  if (!B) {
    ADD_FAILURE() << "cannot read " << Path;
    return {};
  }
  return bytesOf((*B)->getBuffer());
}

TEST(Fixtures, SyntheticLinearWeights) {
  std::string Dir = dataDir("ATALLA_FIXTURES");
  if (Dir.empty())
    GTEST_SKIP() << "set ATALLA_FIXTURES to the shared fixtures directory to run this test";
  PyRef V = readNested(Dir, "formats/synthetic_lrs_archive_v8_8.pt2",
                       "synthetic_lrs_archive_v8_8/data/weights/model.pt");
  ASSERT_TRUE(V);
  ASSERT_TRUE(V->is(Kind::Dict));
  EXPECT_TRUE(V->IsOrderedDict);
  ASSERT_EQ(V->DictItems.size(), 2u);
  PyRef W = V->lookup("fc.weight"), B = V->lookup("fc.bias");
  ASSERT_TRUE(W && B);
  ASSERT_TRUE(W->is(Kind::Tensor));
  EXPECT_TRUE(W->IsParameter);
  EXPECT_TRUE(W->Tensor.RequiresGrad);
  EXPECT_EQ(W->Tensor.Dtype, ScalarType::Float32);
  EXPECT_EQ(W->Tensor.Sizes, (std::vector<int64_t>{3, 4}));
  std::vector<float> WF = floatsOf(W->Tensor);
  ASSERT_EQ(WF.size(), 12u);
  for (int I = 0; I < 12; ++I)
    EXPECT_NEAR(WF[I], 0.1 * I - 0.5, 1e-6) << "fc.weight[" << I << "]";
  EXPECT_EQ(B->Tensor.Sizes, (std::vector<int64_t>{3}));
  std::vector<float> BF = floatsOf(B->Tensor);
  ASSERT_EQ(BF.size(), 3u);
  EXPECT_NEAR(BF[0], 0.01, 1e-7);
  EXPECT_NEAR(BF[1], -0.02, 1e-7);
  EXPECT_NEAR(BF[2], 0.03, 1e-7);

  PyRef X = readNested(Dir, "formats/synthetic_lrs_archive_v8_8.pt2",
                       "synthetic_lrs_archive_v8_8/data/sample_inputs/model.pt");
  ASSERT_TRUE(X && X->is(Kind::Tuple) && X->Items.size() == 2);
  ASSERT_EQ(X->Items[0]->Items.size(), 1u);
  const TensorData &XT = X->Items[0]->Items[0]->Tensor;
  EXPECT_EQ(XT.Sizes, (std::vector<int64_t>{2, 4}));
  std::vector<float> XF = floatsOf(XT);
  for (size_t I = 0; I < XF.size(); ++I)
    EXPECT_EQ(XF[I], 0.5f * I);

  // The 2.2 legacy entries are torch.save zips despite the .json name.
  PyRef E = readNested(Dir, "seed/seed_accel_demo_v2_2.pt2", "serialized_state_dict.json");
  ASSERT_TRUE(E);
  EXPECT_TRUE(E->is(Kind::Dict) && E->DictItems.empty());
}

TEST(Fixtures, Torch2SampleInputs) {
  std::string Dir = dataDir("ATALLA_TORCH2_DATA");
  if (Dir.empty())
    GTEST_SKIP() << "set ATALLA_TORCH2_DATA to tests/data/torch2 to run this test";
  std::string Entry = "torch_seed_accel_demo/data/sample_inputs/model.pt";
  PyRef V = readNested(Dir, "torch_seed_accel_demo.pt2", Entry);
  ASSERT_TRUE(V);
  // ((x, w), {})
  ASSERT_TRUE(V->is(Kind::Tuple) && V->Items.size() == 2);
  EXPECT_TRUE(V->Items[1]->is(Kind::Dict) && V->Items[1]->DictItems.empty());
  const std::vector<PyRef> &Args = V->Items[0]->Items;
  ASSERT_EQ(Args.size(), 2u);
  EXPECT_EQ(Args[0]->Tensor.Sizes, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(Args[1]->Tensor.Sizes, (std::vector<int64_t>{8, 16}));
  for (int I = 0; I < 2; ++I) {
    EXPECT_EQ(Args[I]->Tensor.Dtype, ScalarType::Float32);
    EXPECT_EQ(Args[I]->Tensor.contiguousBytes(),
              fileBytes(Dir + "/torch_seed_accel_demo.in" + std::to_string(I) + ".bin"));
  }

  // Our pickle of the same value is torch's, byte for byte.
  auto Z = ZipReader::openFile(Dir + "/torch_seed_accel_demo.pt2");
  ASSERT_TRUE(!!Z);
  auto Nested = (*Z)->read(Entry);
  ASSERT_TRUE(!!Nested);
  EXPECT_EQ(dataPklOf(writeTorchSave(V)), dataPklOf(*Nested));
  EXPECT_EQ(dataPklOf(writeTorchSave(sampleInputs())), dataPklOf(*Nested));

  // Every prefix of torch's own pickle is an error.
  std::vector<uint8_t> P = dataPklOf(*Nested);
  for (size_t N = 0; N < P.size(); ++N) {
    auto R = unpickle(llvm::ArrayRef<uint8_t>(P).take_front(N), fakeStorages());
    EXPECT_FALSE(!!R) << "prefix of " << N << " bytes unpickled";
    if (!R)
      llvm::consumeError(R.takeError());
  }
}

} // namespace
