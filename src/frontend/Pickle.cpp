//===- frontend/Pickle.cpp - a restricted unpickler -----------------------===//
//
// The unpickler is a flat loop over opcodes with an explicit value stack and
// mark stack, so no input can make it recurse. Objects are shared_ptrs, which
// lets APPEND/SETITEM on a memoised list act on every alias as in Python, but
// also lets hostile input build reference cycles and arbitrarily deep
// nesting; both are rejected by an iterative walk at STOP, and on any error
// every container created is emptied so nothing leaks and nothing is freed
// recursively.
//
//===----------------------------------------------------------------------===//
#include "frontend/Pickle.h"
#include "frontend/PickleInternal.h"

#include "frontend/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <cassert>
#include <cstdio>
#include <cstring>
#include <unordered_map>

using namespace atalla::frontend;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;
using atalla::frontend::detail::decodeRawUnicodeEscape;
using atalla::frontend::detail::makeValue;
using atalla::frontend::detail::classifyGlobal;
using atalla::frontend::detail::GlobalRole;
using atalla::frontend::detail::isContainer;
using atalla::frontend::detail::unescapeString;

//===----------------------------------------------------------------------===//
// Unpickler
//===----------------------------------------------------------------------===//

namespace {
class Unpickler {
public:
  Unpickler(llvm::ArrayRef<uint8_t> In, PersistentLoad Load, UnpicklerLimits Limits)
      : In(In), Load(std::move(Load)), Limits(Limits) {}
  ~Unpickler();

  Expected<PyRef> run();

private:
  Error step();
  Error stepScalar();
  Error stepContainer();
  Error stepObject();
  Error fail(const Twine &Msg) const { return makeError(Msg + " at offset " + Twine(OpPos)); }
  StringRef opName() const { return pickleOpcodeName(Op); }
  Error truncated() const { return fail("pickle truncated in '" + opName() + "'"); }

  Error charge(size_t N);
  PyRef create(PyValue::Kind K);
  Error push(PyRef V);
  Error pop(PyRef &V);
  Error top(PyRef &V);
  Error popMark(std::vector<PyRef> &Items);

  Error take(size_t N, const uint8_t *&P);
  Error readUInt(size_t N, uint64_t &V);
  Error readLine(StringRef &Line);

  Error pushInt(int64_t V);
  Error pushString(PyValue::Kind K, std::string S);
  Error pushLong(size_t N);
  Error memoGet(uint64_t Index);
  Error memoPut(uint64_t Index);
  Error pushGlobal(StringRef Module, StringRef Name);
  Error persistentLoad(PyRef Pid);
  Error appendItems(const PyRef &List, std::vector<PyRef> Items);
  Error setItems(const PyRef &Dict, std::vector<PyRef> &Flat);
  Expected<PyRef> callGlobal(const PyRef &Callable, const PyRef &Args, bool IsNewObj);
  Expected<PyRef> rebuildTensor(const std::vector<PyRef> &Args, bool V3);
  Error checkResult() const;

  llvm::ArrayRef<uint8_t> In;
  PersistentLoad Load;
  UnpicklerLimits Limits;
  size_t Pos = 0;
  size_t OpPos = 0;
  uint8_t Op = 0;
  size_t Budget = 0;
  std::vector<PyRef> Stack;
  /// Stack sizes at each open MARK.
  std::vector<size_t> Marks;
  std::unordered_map<uint64_t, PyRef> Memo;
  /// Every container created, so cycles and nesting can be checked without
  /// recursion and broken on failure.
  std::vector<PyRef> Containers;
  bool Succeeded = false;
};
} // namespace

Unpickler::~Unpickler() {
  if (Succeeded)
    return;
  // A failed unpickle may have left cycles or deep chains behind; emptying
  // each container first makes the releases below non-recursive.
  for (const PyRef &C : Containers) {
    C->Items.clear();
    C->DictItems.clear();
  }
}

Error Unpickler::charge(size_t N) {
  if (N > Limits.MaxItems || Budget > Limits.MaxItems - N)
    return fail(llvm::formatv("pickle exceeds the limit of {0} items", Limits.MaxItems).str());
  Budget += N;
  return Error::success();
}

PyRef Unpickler::create(PyValue::Kind K) {
  PyRef V = makeValue(K);
  if (isContainer(*V))
    Containers.push_back(V);
  return V;
}

Error Unpickler::push(PyRef V) {
  if (Error E = charge(1))
    return E;
  Stack.push_back(std::move(V));
  return Error::success();
}

Error Unpickler::pop(PyRef &V) {
  size_t Floor = Marks.empty() ? 0 : Marks.back();
  if (Stack.size() <= Floor)
    return fail("stack underflow in '" + opName() + "'");
  V = std::move(Stack.back());
  Stack.pop_back();
  return Error::success();
}

Error Unpickler::top(PyRef &V) {
  size_t Floor = Marks.empty() ? 0 : Marks.back();
  if (Stack.size() <= Floor)
    return fail("stack underflow in '" + opName() + "'");
  V = Stack.back();
  return Error::success();
}

Error Unpickler::popMark(std::vector<PyRef> &Items) {
  if (Marks.empty())
    return fail("'" + opName() + "' without a MARK");
  size_t From = Marks.back();
  Marks.pop_back();
  Items.assign(std::make_move_iterator(Stack.begin() + From), std::make_move_iterator(Stack.end()));
  Stack.resize(From);
  return Error::success();
}

Error Unpickler::take(size_t N, const uint8_t *&P) {
  if (In.size() - Pos < N)
    return truncated();
  P = In.data() + Pos;
  Pos += N;
  return Error::success();
}

Error Unpickler::readUInt(size_t N, uint64_t &V) {
  const uint8_t *P = nullptr;
  if (Error E = take(N, P))
    return E;
  V = 0;
  for (size_t I = 0; I < N; ++I)
    V |= static_cast<uint64_t>(P[I]) << (8 * I);
  return Error::success();
}

Error Unpickler::readLine(StringRef &Line) {
  const uint8_t *Begin = In.data() + Pos;
  const void *NL = std::memchr(Begin, '\n', In.size() - Pos);
  if (!NL)
    return truncated();
  size_t Len = static_cast<const uint8_t *>(NL) - Begin;
  Line = StringRef(reinterpret_cast<const char *>(Begin), Len);
  Pos += Len + 1;
  return Error::success();
}

Error Unpickler::pushInt(int64_t V) {
  PyRef R = create(PyValue::Kind::Int);
  R->I = V;
  return push(std::move(R));
}

Error Unpickler::pushString(PyValue::Kind K, std::string S) {
  PyRef R = create(K);
  R->S = std::move(S);
  return push(std::move(R));
}

Error Unpickler::pushLong(size_t N) {
  const uint8_t *P;
  if (Error E = take(N, P))
    return E;
  if (N == 0)
    return pushInt(0);
  // Two's complement, little-endian; bytes past the eighth must only
  // repeat the sign.
  size_t Low = N < 8 ? N : 8;
  uint64_t U = 0;
  for (size_t I = 0; I < Low; ++I)
    U |= static_cast<uint64_t>(P[I]) << (8 * I);
  bool Negative = P[N - 1] & 0x80;
  if (Low < 8 && Negative)
    U |= ~uint64_t(0) << (8 * Low);
  for (size_t I = 8; I < N; ++I)
    if (P[I] != (Negative ? 0xFF : 0x00))
      return fail("integer in '" + opName() + "' does not fit in int64");
  if (N > 8 && (static_cast<int64_t>(U) < 0) != Negative)
    return fail("integer in '" + opName() + "' does not fit in int64");
  return pushInt(static_cast<int64_t>(U));
}

Error Unpickler::memoGet(uint64_t Index) {
  auto It = Memo.find(Index);
  if (It == Memo.end())
    return fail("memo index " + Twine(Index) + " is missing in '" + opName() + "'");
  return push(It->second);
}

Error Unpickler::memoPut(uint64_t Index) {
  PyRef V;
  if (Error E = top(V))
    return E;
  auto It = Memo.find(Index);
  if (It != Memo.end()) {
    It->second = std::move(V);
    return Error::success();
  }
  if (Memo.size() >= Limits.MaxMemo)
    return fail(
        llvm::formatv("pickle exceeds the limit of {0} memo entries", Limits.MaxMemo).str());
  Memo.emplace(Index, std::move(V));
  return Error::success();
}

Error Unpickler::pushGlobal(StringRef Module, StringRef Name) {
  if (!classifyGlobal(Module, Name))
    return fail("pickle global '" + Module.take_front(200) + " " + Name.take_front(200) +
                "' is not allowed");
  PyRef G = create(PyValue::Kind::Global);
  G->S = (Module + " " + Name).str();
  return push(std::move(G));
}

Error Unpickler::persistentLoad(PyRef Pid) {
  if (!Load) {
    PyRef P = create(PyValue::Kind::PersistentId);
    P->Items.push_back(std::move(Pid));
    return push(std::move(P));
  }
  Expected<PyRef> Obj = Load(Pid);
  if (!Obj)
    return fail(llvm::toString(Obj.takeError()));
  if (!*Obj)
    return fail("persistent id " + Pid->repr() + " loaded as nothing");
  // The loader's object joins the tree; track it like our own containers.
  if (isContainer(**Obj))
    Containers.push_back(*Obj);
  return push(std::move(*Obj));
}

Error Unpickler::appendItems(const PyRef &List, std::vector<PyRef> Items) {
  if (List->K != PyValue::Kind::List)
    return fail("'" + opName() + "' needs a list, got " + List->kindName());
  if (Error E = charge(Items.size()))
    return E;
  for (PyRef &I : Items)
    List->Items.push_back(std::move(I));
  return Error::success();
}

Error Unpickler::setItems(const PyRef &Dict, std::vector<PyRef> &Flat) {
  if (Dict->K != PyValue::Kind::Dict)
    return fail("'" + opName() + "' needs a dict, got " + Dict->kindName());
  if (Flat.size() % 2)
    return fail("'" + opName() + "' with an odd number of items");
  if (Error E = charge(Flat.size()))
    return E;
  // Repeated keys are kept as repeated entries: torch never writes one,
  // lookup() gives the last as Python would, and indexing keys here would
  // let a hostile pickle hash one huge key again and again.
  for (size_t I = 0; I < Flat.size(); I += 2)
    Dict->DictItems.emplace_back(std::move(Flat[I]), std::move(Flat[I + 1]));
  return Error::success();
}

namespace {
bool getIntList(const PyValue &V, std::vector<int64_t> &Out) {
  if (!V.isSequence())
    return false;
  Out.clear();
  for (const PyRef &I : V.Items) {
    if (!I || I->K != PyValue::Kind::Int)
      return false;
    Out.push_back(I->I);
  }
  return true;
}

std::optional<ScalarType> dtypeGlobal(const PyValue &V) {
  if (V.K != PyValue::Kind::Global)
    return std::nullopt;
  auto [Module, Name] = StringRef(V.S).split(' ');
  if (Module != "torch" || scalarTypeFromStorageClass(Name))
    return std::nullopt;
  return scalarTypeFromName(Name);
}
} // namespace

Expected<PyRef> Unpickler::rebuildTensor(const std::vector<PyRef> &Args, bool V3) {
  StringRef Fn = V3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2";
  size_t MinArgs = V3 ? 7 : 6;
  if (Args.size() != MinArgs && Args.size() != MinArgs + 1)
    return fail(llvm::formatv("{0} takes {1} or {2} arguments, got {3}", Fn, MinArgs, MinArgs + 1,
                              Args.size())
                    .str());
  auto BadArg = [&](unsigned Index, StringRef What, StringRef Want) {
    return fail(llvm::formatv("{0}: argument {1} ({2}) must be {3}, got {4}", Fn, Index, What, Want,
                              Args[Index]->repr())
                    .str());
  };
  const PyValue &StorageV = *Args[0];
  if (StorageV.K != PyValue::Kind::Storage)
    return BadArg(0, "storage", "a storage");
  TensorData T;
  T.Dtype = StorageV.Tensor.Dtype;
  T.Data = StorageV.Tensor.Data;
  if (Args[1]->K != PyValue::Kind::Int)
    return BadArg(1, "storage_offset", "an int");
  T.StorageOffset = Args[1]->I;
  if (Error E = charge(Args[2]->Items.size() + Args[3]->Items.size()))
    return E;
  if (!getIntList(*Args[2], T.Sizes))
    return BadArg(2, "size", "a tuple of ints");
  if (!getIntList(*Args[3], T.Strides))
    return BadArg(3, "stride", "a tuple of ints");
  if (Args[4]->K != PyValue::Kind::Bool)
    return BadArg(4, "requires_grad", "a bool");
  T.RequiresGrad = Args[4]->B;
  // Args[5] is backward_hooks (an empty OrderedDict when saved) and the
  // optional last one is tensor metadata: neither affects the values.
  if (V3) {
    std::optional<ScalarType> D = dtypeGlobal(*Args[6]);
    if (!D)
      return BadArg(6, "dtype", "a torch dtype");
    T.Dtype = *D;
  }
  if (Error E = T.validate())
    return fail(Fn + ": " + llvm::toString(std::move(E)));
  PyRef R = create(PyValue::Kind::Tensor);
  R->Tensor = std::move(T);
  return R;
}

Expected<PyRef> Unpickler::callGlobal(const PyRef &Callable, const PyRef &Args, bool IsNewObj) {
  std::optional<GlobalRole> Role = classifyGlobal(*Callable);
  if (!Role)
    return fail("'" + opName() + "' calls " + Callable->repr() +
                ", which is not an allowed global");
  if (Args->K != PyValue::Kind::Tuple)
    return fail("'" + opName() + "' arguments must be a tuple, got " + Args->kindName());
  const std::vector<PyRef> &A = Args->Items;
  bool IsClass = *Role == GlobalRole::OrderedDict || *Role == GlobalRole::Size ||
                 *Role == GlobalRole::Device || *Role == GlobalRole::BytesType;
  if (IsNewObj && !IsClass)
    return fail("'" + opName() + "' of '" + Callable->S + "' is not allowed");
  auto Wrong = [&](StringRef Expect) {
    return fail("'" + Callable->S + "' called with " + Args->repr() + "; expected " + Expect);
  };
  switch (*Role) {
  case GlobalRole::OrderedDict: {
    PyRef D = create(PyValue::Kind::Dict);
    D->IsOrderedDict = true;
    if (A.empty())
      return D;
    // OrderedDict([(k, v), ...]) as Python 2 era pickles wrote it.
    if (A.size() != 1 || A[0]->K != PyValue::Kind::List)
      return Wrong("() or a list of pairs");
    std::vector<PyRef> Flat;
    for (const PyRef &P : A[0]->Items) {
      if (!P->isSequence() || P->Items.size() != 2)
        return Wrong("() or a list of pairs");
      Flat.push_back(P->Items[0]);
      Flat.push_back(P->Items[1]);
    }
    if (Error E = setItems(D, Flat))
      return E;
    return D;
  }
  case GlobalRole::RebuildTensorV2:
  case GlobalRole::RebuildTensorV3:
    return rebuildTensor(A, *Role == GlobalRole::RebuildTensorV3);
  case GlobalRole::RebuildParameter:
  case GlobalRole::RebuildParameterWithState: {
    // (data, requires_grad, backward_hooks[, state]): the state holds Python
    // attributes set on the parameter, which carry no tensor data.
    size_t Want = *Role == GlobalRole::RebuildParameter ? 3 : 4;
    if (A.size() != Want || A[0]->K != PyValue::Kind::Tensor || A[1]->K != PyValue::Kind::Bool)
      return Wrong(Want == 3 ? "(tensor, bool, hooks)" : "(tensor, bool, hooks, state)");
    PyRef P = create(PyValue::Kind::Tensor);
    P->Tensor = A[0]->Tensor;
    P->Tensor.RequiresGrad = A[1]->B;
    P->IsParameter = true;
    if (Error E = charge(P->Tensor.Sizes.size() * 2))
      return E;
    return P;
  }
  case GlobalRole::Size: {
    PyRef T = create(PyValue::Kind::Tuple);
    if (A.empty())
      return T;
    std::vector<int64_t> Dims;
    if (A.size() != 1 || !getIntList(*A[0], Dims))
      return Wrong("a tuple of ints");
    if (Error E = charge(A[0]->Items.size()))
      return E;
    T->Items = A[0]->Items;
    return T;
  }
  case GlobalRole::Device: {
    for (const PyRef &X : A)
      if (X->K != PyValue::Kind::String && X->K != PyValue::Kind::Int)
        return Wrong("strings and ints");
    PyRef R = create(PyValue::Kind::Reduce);
    R->Items = {Callable, Args};
    return R;
  }
  case GlobalRole::CodecsEncode: {
    if (A.size() != 2 || A[0]->K != PyValue::Kind::String || A[1]->K != PyValue::Kind::String ||
        (A[1]->S != "latin1" && A[1]->S != "latin-1"))
      return Wrong("(str, 'latin1')");
    std::optional<std::string> Bytes = utf8ToLatin1(A[0]->S);
    if (!Bytes)
      return fail("_codecs.encode: text is not latin1");
    // A copy, unlike most values: charge it so that one memoised text
    // encoded many times cannot grow memory without bound.
    if (Error E = charge(1 + Bytes->size() / 8))
      return E;
    PyRef B = create(PyValue::Kind::Bytes);
    B->S = std::move(*Bytes);
    return B;
  }
  case GlobalRole::BytesType:
    if (!A.empty())
      return Wrong("()");
    return create(PyValue::Kind::Bytes);
  case GlobalRole::StorageClass:
  case GlobalRole::Dtype:
    break;
  }
  return fail("pickle global '" + Callable->S + "' cannot be called");
}


/// None, booleans, integers, floats, strings and bytes (step() dispatches here).
Error Unpickler::stepScalar() {
  switch (Op) {
  case pickle_op::NONE:
    return push(create(PyValue::Kind::None));
  case pickle_op::NEWTRUE:
  case pickle_op::NEWFALSE: {
    PyRef V = create(PyValue::Kind::Bool);
    V->B = Op == 0x88;
    return push(std::move(V));
  }
  case pickle_op::INT: { // decimal text; "00"/"01" are protocol 0's False/True
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    if (Line == "00" || Line == "01") {
      PyRef V = create(PyValue::Kind::Bool);
      V->B = Line == "01";
      return push(std::move(V));
    }
    int64_t V;
    if (Line.trim().getAsInteger(10, V))
      return fail("bad integer '" + Line.take_front(40) + "' in 'INT'");
    return pushInt(V);
  }
  case pickle_op::LONG: { // protocol 0's decimal text with a trailing 'L'
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    int64_t V;
    StringRef Digits = Line.trim();
    Digits.consume_back("L");
    if (Digits.getAsInteger(10, V))
      return fail("integer '" + Line.take_front(40) + "' in 'LONG' does not fit in int64");
    return pushInt(V);
  }
  case pickle_op::BININT: {
    uint64_t V;
    if (Error E = readUInt(4, V))
      return E;
    return pushInt(static_cast<int32_t>(static_cast<uint32_t>(V)));
  }
  case pickle_op::BININT1:
  case pickle_op::BININT2: {
    uint64_t V;
    if (Error E = readUInt(Op == 'K' ? 1 : 2, V))
      return E;
    return pushInt(static_cast<int64_t>(V));
  }
  case pickle_op::LONG1:
  case pickle_op::LONG4: {
    uint64_t N;
    if (Error E = readUInt(Op == 0x8a ? 1 : 4, N))
      return E;
    if (N > In.size() - Pos)
      return truncated();
    return pushLong(static_cast<size_t>(N));
  }
  case pickle_op::BINFLOAT: {
    uint64_t Bits = 0;
    const uint8_t *P = nullptr;
    if (Error E = take(8, P))
      return E;
    for (int I = 0; I < 8; ++I)
      Bits = (Bits << 8) | P[I];
    PyRef V = create(PyValue::Kind::Float);
    std::memcpy(&V->F, &Bits, 8);
    return push(std::move(V));
  }
  case pickle_op::FLOAT: {
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    PyRef V = create(PyValue::Kind::Float);
    if (Line.trim().getAsDouble(V->F))
      return fail("bad float '" + Line.take_front(40) + "' in 'FLOAT'");
    return push(std::move(V));
  }
  case pickle_op::BINUNICODE:
  case pickle_op::SHORT_BINUNICODE:
  case pickle_op::BINUNICODE8:
  case pickle_op::BINBYTES:
  case pickle_op::SHORT_BINBYTES:
  case pickle_op::BINBYTES8:
  case pickle_op::SHORT_BINSTRING:
  case pickle_op::BINSTRING: {
    size_t LenBytes = (Op == 0x8c || Op == 'C' || Op == 'U') ? 1
                      : (Op == 0x8d || Op == 0x8e)           ? 8
                                                             : 4;
    uint64_t Len;
    if (Error E = readUInt(LenBytes, Len))
      return E;
    if (Op == 'T' && (Len & 0x80000000u))
      return fail("negative length in 'BINSTRING'");
    if (Len > In.size() - Pos)
      return truncated();
    const uint8_t *P;
    if (Error E = take(static_cast<size_t>(Len), P))
      return E;
    bool IsBytes = Op == 'B' || Op == 'C' || Op == 0x8e;
    // Python 2 str (STRING family) loads as str, as torch.load does.
    return pushString(IsBytes ? PyValue::Kind::Bytes : PyValue::Kind::String,
                      std::string(reinterpret_cast<const char *>(P), Len));
  }
  case pickle_op::STRING: {
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    Line = Line.rtrim(" \r");
    if (Line.size() < 2 || (Line.front() != '\'' && Line.front() != '"') ||
        Line.back() != Line.front())
      return fail("'STRING' argument is not a quoted string");
    std::optional<std::string> S = unescapeString(Line.drop_front().drop_back());
    if (!S)
      return fail("bad escape in 'STRING'");
    return pushString(PyValue::Kind::String, std::move(*S));
  }
  case pickle_op::UNICODE: {
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    std::optional<std::string> S = decodeRawUnicodeEscape(Line);
    if (!S)
      return fail("bad escape in 'UNICODE'");
    return pushString(PyValue::Kind::String, std::move(*S));
  }
  default:
    llvm_unreachable("stepScalar: not one of its opcodes");
  }
}

/// Tuples, lists and dicts, and the items added to them.
Error Unpickler::stepContainer() {
  switch (Op) {
  case pickle_op::EMPTY_TUPLE:
    return push(create(PyValue::Kind::Tuple));
  case pickle_op::TUPLE:
  case pickle_op::LIST: {
    std::vector<PyRef> Items;
    if (Error E = popMark(Items))
      return E;
    if (Error E = charge(Items.size()))
      return E;
    PyRef V = create(Op == 't' ? PyValue::Kind::Tuple : PyValue::Kind::List);
    V->Items = std::move(Items);
    return push(std::move(V));
  }
  case pickle_op::TUPLE1:
  case pickle_op::TUPLE2:
  case pickle_op::TUPLE3: {
    size_t N = Op - 0x84;
    size_t Floor = Marks.empty() ? 0 : Marks.back();
    if (Stack.size() - Floor < N)
      return fail("stack underflow in '" + opName() + "'");
    if (Error E = charge(N))
      return E;
    PyRef V = create(PyValue::Kind::Tuple);
    V->Items.assign(std::make_move_iterator(Stack.end() - N), std::make_move_iterator(Stack.end()));
    Stack.resize(Stack.size() - N);
    return push(std::move(V));
  }
  case pickle_op::EMPTY_LIST:
    return push(create(PyValue::Kind::List));
  case pickle_op::EMPTY_DICT:
    return push(create(PyValue::Kind::Dict));
  case pickle_op::APPEND: {
    PyRef V, List;
    if (Error E = pop(V))
      return E;
    if (Error E = top(List))
      return E;
    std::vector<PyRef> Items;
    Items.push_back(std::move(V));
    return appendItems(List, std::move(Items));
  }
  case pickle_op::APPENDS: {
    std::vector<PyRef> Items;
    if (Error E = popMark(Items))
      return E;
    PyRef List;
    if (Error E = top(List))
      return E;
    return appendItems(List, std::move(Items));
  }
  case pickle_op::DICT: {
    std::vector<PyRef> Items;
    if (Error E = popMark(Items))
      return E;
    PyRef D = create(PyValue::Kind::Dict);
    if (Error E = setItems(D, Items))
      return E;
    return push(std::move(D));
  }
  case pickle_op::SETITEM: {
    std::vector<PyRef> Items(2);
    if (Error E = pop(Items[1]))
      return E;
    if (Error E = pop(Items[0]))
      return E;
    PyRef D;
    if (Error E = top(D))
      return E;
    return setItems(D, Items);
  }
  case pickle_op::SETITEMS: {
    std::vector<PyRef> Items;
    if (Error E = popMark(Items))
      return E;
    PyRef D;
    if (Error E = top(D))
      return E;
    return setItems(D, Items);
  }
  default:
    llvm_unreachable("stepContainer: not one of its opcodes");
  }
}

/// Globals, calls, BUILD, the memo and persistent ids.
Error Unpickler::stepObject() {
  switch (Op) {
  case pickle_op::GLOBAL: {
    StringRef Module, Name;
    if (Error E = readLine(Module))
      return E;
    if (Error E = readLine(Name))
      return E;
    return pushGlobal(Module, Name);
  }
  case pickle_op::STACK_GLOBAL: {
    PyRef Module, Name;
    if (Error E = pop(Name))
      return E;
    if (Error E = pop(Module))
      return E;
    if (Module->K != PyValue::Kind::String || Name->K != PyValue::Kind::String)
      return fail("'STACK_GLOBAL' needs two strings");
    return pushGlobal(Module->S, Name->S);
  }
  case pickle_op::REDUCE:
  case pickle_op::NEWOBJ: {
    PyRef Args, Callable;
    if (Error E = pop(Args))
      return E;
    if (Error E = pop(Callable))
      return E;
    Expected<PyRef> R = callGlobal(Callable, Args, Op == 0x81);
    if (!R)
      return R.takeError();
    return push(std::move(*R));
  }
  case pickle_op::BUILD: {
    PyRef State, Obj;
    if (Error E = pop(State))
      return E;
    if (Error E = top(Obj))
      return E;
    // torch attaches Python attributes this way (a state_dict's _metadata,
    // a tensor's __dict__); they carry no tensor data.
    if (Obj->K == PyValue::Kind::Tensor || (Obj->K == PyValue::Kind::Dict && Obj->IsOrderedDict))
      return Error::success();
    return fail("'BUILD' on " + Obj->kindName() + " is not supported");
  }
  case pickle_op::BINPUT:
  case pickle_op::LONG_BINPUT: {
    uint64_t Index;
    if (Error E = readUInt(Op == 'q' ? 1 : 4, Index))
      return E;
    return memoPut(Index);
  }
  case pickle_op::PUT: {
    StringRef Line;
    uint64_t Index;
    if (Error E = readLine(Line))
      return E;
    if (Line.getAsInteger(10, Index))
      return fail("bad memo index in 'PUT'");
    return memoPut(Index);
  }
  case pickle_op::MEMOIZE:
    return memoPut(Memo.size());
  case pickle_op::BINGET:
  case pickle_op::LONG_BINGET: {
    uint64_t Index;
    if (Error E = readUInt(Op == 'h' ? 1 : 4, Index))
      return E;
    return memoGet(Index);
  }
  case pickle_op::GET: {
    StringRef Line;
    uint64_t Index;
    if (Error E = readLine(Line))
      return E;
    if (Line.getAsInteger(10, Index))
      return fail("bad memo index in 'GET'");
    return memoGet(Index);
  }
  case pickle_op::BINPERSID: {
    PyRef Pid;
    if (Error E = pop(Pid))
      return E;
    return persistentLoad(std::move(Pid));
  }
  case pickle_op::PERSID: {
    StringRef Line;
    if (Error E = readLine(Line))
      return E;
    PyRef Pid = create(PyValue::Kind::String);
    Pid->S = Line.str();
    return persistentLoad(std::move(Pid));
  }
  default:
    llvm_unreachable("stepObject: not one of its opcodes");
  }
}

Error Unpickler::step() {
  switch (Op) {
  case pickle_op::PROTO: {
    uint64_t V;
    if (Error E = readUInt(1, V))
      return E;
    if (V > 5)
      return fail("unsupported pickle protocol " + Twine(V));
    return Error::success();
  }
  case pickle_op::FRAME: { // framing only groups bytes; the opcodes inside are read as if unframed
    uint64_t Len;
    if (Error E = readUInt(8, Len))
      return E;
    if (Len > In.size() - Pos)
      return truncated();
    return Error::success();
  }
  case pickle_op::MARK:
    if (Marks.size() >= Limits.MaxDepth)
      return fail(llvm::formatv("pickle nests MARKs deeper than {0}", Limits.MaxDepth).str());
    Marks.push_back(Stack.size());
    return Error::success();
  case pickle_op::POP: { // like CPython, an empty frame pops its MARK
    size_t Floor = Marks.empty() ? 0 : Marks.back();
    if (Stack.size() > Floor) {
      Stack.pop_back();
      return Error::success();
    }
    if (Marks.empty())
      return fail("stack underflow in 'POP'");
    Marks.pop_back();
    return Error::success();
  }
  case pickle_op::POP_MARK: {
    std::vector<PyRef> Items;
    return popMark(Items);
  }
  case pickle_op::DUP: {
    PyRef V;
    if (Error E = top(V))
      return E;
    return push(std::move(V));
  }
  case pickle_op::NONE:
  case pickle_op::NEWTRUE:
  case pickle_op::NEWFALSE:
  case pickle_op::INT:
  case pickle_op::LONG:
  case pickle_op::BININT:
  case pickle_op::BININT1:
  case pickle_op::BININT2:
  case pickle_op::LONG1:
  case pickle_op::LONG4:
  case pickle_op::BINFLOAT:
  case pickle_op::FLOAT:
  case pickle_op::BINUNICODE:
  case pickle_op::SHORT_BINUNICODE:
  case pickle_op::BINUNICODE8:
  case pickle_op::BINBYTES:
  case pickle_op::SHORT_BINBYTES:
  case pickle_op::BINBYTES8:
  case pickle_op::SHORT_BINSTRING:
  case pickle_op::BINSTRING:
  case pickle_op::STRING:
  case pickle_op::UNICODE:
    return stepScalar();
  case pickle_op::EMPTY_TUPLE:
  case pickle_op::TUPLE:
  case pickle_op::LIST:
  case pickle_op::TUPLE1:
  case pickle_op::TUPLE2:
  case pickle_op::TUPLE3:
  case pickle_op::EMPTY_LIST:
  case pickle_op::EMPTY_DICT:
  case pickle_op::APPEND:
  case pickle_op::APPENDS:
  case pickle_op::DICT:
  case pickle_op::SETITEM:
  case pickle_op::SETITEMS:
    return stepContainer();
  case pickle_op::GLOBAL:
  case pickle_op::STACK_GLOBAL:
  case pickle_op::REDUCE:
  case pickle_op::NEWOBJ:
  case pickle_op::BUILD:
  case pickle_op::BINPUT:
  case pickle_op::LONG_BINPUT:
  case pickle_op::PUT:
  case pickle_op::MEMOIZE:
  case pickle_op::BINGET:
  case pickle_op::LONG_BINGET:
  case pickle_op::GET:
  case pickle_op::BINPERSID:
  case pickle_op::PERSID:
    return stepObject();
  default:
    break;
  }
  StringRef Name = opName();
  if (Name.empty())
    return fail(llvm::formatv("unknown pickle opcode 0x{0:x-2}", Op).str());
  return fail(llvm::formatv("unsupported pickle opcode '{0}' (0x{1:x-2})", Name, Op).str());
}

Error Unpickler::checkResult() const {
  // Every container ever created is a root here, not just the result:
  // a discarded cyclic object would otherwise leak.
  struct Info {
    bool Done = false;
    size_t Depth = 1;
  };
  std::unordered_map<const PyValue *, Info> Seen;
  auto ChildCount = [](const PyValue &V) { return V.Items.size() + 2 * V.DictItems.size(); };
  auto Child = [](const PyValue &V, size_t I) -> const PyValue * {
    if (I < V.Items.size())
      return V.Items[I].get();
    I -= V.Items.size();
    const auto &P = V.DictItems[I / 2];
    return (I % 2 ? P.second : P.first).get();
  };
  // Reported at the STOP opcode: the walk happens once the pickle is read.
  auto TooDeep = [&]() {
    return fail(
        llvm::formatv("pickle nests containers deeper than {0} levels", Limits.MaxDepth).str());
  };
  std::vector<std::pair<const PyValue *, size_t>> Path;
  for (const PyRef &Root : Containers) {
    if (Seen.count(Root.get()))
      continue;
    Seen[Root.get()];
    Path.push_back({Root.get(), 0});
    while (!Path.empty()) {
      const PyValue *N = Path.back().first;
      size_t &NextChild = Path.back().second;
      if (NextChild < ChildCount(*N)) {
        const PyValue *C = Child(*N, NextChild++);
        if (!C || !isContainer(*C))
          continue;
        auto It = Seen.find(C);
        if (It == Seen.end()) {
          if (Path.size() >= Limits.MaxDepth)
            return TooDeep();
          Seen[C];
          Path.push_back({C, 0});
          continue;
        }
        if (!It->second.Done)
          return fail("pickle contains a reference cycle");
        Info &NI = Seen[N];
        NI.Depth = std::max(NI.Depth, It->second.Depth + 1);
        if (NI.Depth > Limits.MaxDepth)
          return TooDeep();
        continue;
      }
      Info &NI = Seen[N];
      NI.Done = true;
      size_t D = NI.Depth;
      Path.pop_back();
      if (!Path.empty()) {
        Info &PI = Seen[Path.back().first];
        PI.Depth = std::max(PI.Depth, D + 1);
        if (PI.Depth > Limits.MaxDepth)
          return TooDeep();
      }
    }
  }
  return Error::success();
}

Expected<PyRef> Unpickler::run() {
  while (Pos < In.size()) {
    OpPos = Pos;
    Op = In[Pos++];
    if (Op == '.') {
      PyRef Result;
      if (Error E = pop(Result))
        return E;
      if (Error E = checkResult())
        return E;
      Succeeded = true;
      return Result;
    }
    if (Error E = step())
      return E;
  }
  OpPos = In.size();
  return fail("pickle ends without STOP");
}

Expected<PyRef> atalla::frontend::unpickle(llvm::ArrayRef<uint8_t> Bytes, PersistentLoad Load,
                                           UnpicklerLimits L) {
  Unpickler U(Bytes, std::move(Load), L);
  return U.run();
}
