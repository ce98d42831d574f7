//===- frontend/PickleWriter.cpp - torch.save's pickles, written ----------===//
//
// The writer half of Pickle.h: protocol 2, memoised, the same opcodes
// torch.save's pickler chooses (PickleOps.def names them).
//
//===----------------------------------------------------------------------===//
#include "frontend/Pickle.h"

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

//===----------------------------------------------------------------------===//
// PickleWriter
//===----------------------------------------------------------------------===//

PickleWriter::PickleWriter(StoragePersistentId StorageId) : StorageId(std::move(StorageId)) {}

std::vector<uint8_t> PickleWriter::write(const PyRef &Value) {
  Out.clear();
  Memo.clear();
  KeepAlive.clear();
  GlobalMemo.clear();
  NextSlot = 0;
  Latin1 = PyValue::makeString("latin1");
  Out = {pickle_op::PROTO, 2};
  save(Value);
  Out.push_back(pickle_op::STOP);
  Memo.clear();
  KeepAlive.clear();
  return std::move(Out);
}

void PickleWriter::emitU32(uint32_t V) {
  for (int I = 0; I < 4; ++I)
    Out.push_back(static_cast<uint8_t>(V >> (8 * I)));
}

void PickleWriter::emitPut(uint32_t Slot) {
  if (Slot < 256) {
    Out.push_back(pickle_op::BINPUT);
    Out.push_back(static_cast<uint8_t>(Slot));
  } else {
    Out.push_back(pickle_op::LONG_BINPUT);
    emitU32(Slot);
  }
}

void PickleWriter::emitGet(uint32_t Slot) {
  if (Slot < 256) {
    Out.push_back(pickle_op::BINGET);
    Out.push_back(static_cast<uint8_t>(Slot));
  } else {
    Out.push_back(pickle_op::LONG_BINGET);
    emitU32(Slot);
  }
}

bool PickleWriter::saveMemoGet(const PyRef &V) {
  auto It = Memo.find(V.get());
  if (It == Memo.end())
    return false;
  emitGet(It->second);
  return true;
}

void PickleWriter::memoize(const PyRef &V) {
  uint32_t Slot = NextSlot++;
  Memo[V.get()] = Slot;
  KeepAlive.push_back(V);
  emitPut(Slot);
}

void PickleWriter::saveGlobal(StringRef Module, StringRef Name) {
  std::string Key = (Module + "\n" + Name).str();
  auto It = GlobalMemo.find(Key);
  if (It != GlobalMemo.end()) {
    emitGet(It->second);
    return;
  }
  Out.push_back(pickle_op::GLOBAL);
  Out.insert(Out.end(), Key.begin(), Key.end());
  Out.push_back('\n');
  uint32_t Slot = NextSlot++;
  GlobalMemo.emplace(std::move(Key), Slot);
  emitPut(Slot);
}

void PickleWriter::saveInt(int64_t V) {
  // CPython's save_long: the smallest fixed-width form, else LONG1.
  if (V >= 0 && V <= 0xff) {
    Out.push_back(pickle_op::BININT1);
    Out.push_back(static_cast<uint8_t>(V));
  } else if (V >= 0 && V <= 0xffff) {
    Out.push_back(pickle_op::BININT2);
    Out.push_back(static_cast<uint8_t>(V));
    Out.push_back(static_cast<uint8_t>(V >> 8));
  } else if (V >= INT32_MIN && V <= INT32_MAX) {
    Out.push_back(pickle_op::BININT);
    emitU32(static_cast<uint32_t>(static_cast<int32_t>(V)));
  } else {
    // encode_long: (bit_length >> 3) + 1 bytes of two's complement (nine
    // for INT64_MIN), minus one redundant 0xff byte for some negatives.
    uint64_t Abs = V < 0 ? 0 - static_cast<uint64_t>(V) : static_cast<uint64_t>(V);
    unsigned BitLength = Abs ? 64 - __builtin_clzll(Abs) : 0;
    size_t N = (BitLength >> 3) + 1;
    std::vector<uint8_t> Bytes;
    for (size_t I = 0; I < N; ++I)
      Bytes.push_back(I < 8 ? static_cast<uint8_t>(static_cast<uint64_t>(V) >> (8 * I))
                            : (V < 0 ? 0xff : 0x00));
    if (V < 0 && N > 1 && Bytes[N - 1] == 0xff && (Bytes[N - 2] & 0x80))
      Bytes.pop_back();
    Out.push_back(pickle_op::LONG1);
    Out.push_back(static_cast<uint8_t>(Bytes.size()));
    Out.insert(Out.end(), Bytes.begin(), Bytes.end());
  }
}

void PickleWriter::saveTuple(const PyRef &V) {
  const std::vector<PyRef> &Items = V->Items;
  if (Items.empty()) {
    Out.push_back(pickle_op::EMPTY_TUPLE); // The empty tuple is a singleton CPython does not memoise.
    return;
  }
  if (Items.size() <= 3) {
    for (const PyRef &I : Items)
      save(I);
    Out.push_back(static_cast<uint8_t>(0x84 + Items.size()));
  } else {
    Out.push_back(pickle_op::MARK);
    for (const PyRef &I : Items)
      save(I);
    Out.push_back(pickle_op::TUPLE);
  }
  memoize(V);
}

void PickleWriter::saveListItems(const std::vector<PyRef> &Items) {
  // CPython's batch_list_exact.
  constexpr size_t Batch = 1000;
  if (Items.size() == 1) {
    save(Items[0]);
    Out.push_back(pickle_op::APPEND);
    return;
  }
  for (size_t I = 0; I < Items.size();) {
    Out.push_back(pickle_op::MARK);
    for (size_t N = 0; N < Batch && I < Items.size(); ++N, ++I)
      save(Items[I]);
    Out.push_back(pickle_op::APPENDS);
  }
}

void PickleWriter::saveDictItems(const std::vector<std::pair<PyRef, PyRef>> &Items) {
  // CPython's batch_dict (the iterator path OrderedDict's reduce takes):
  // batches of 1000 as MARK ... SETITEMS, a lone last item as SETITEM.
  constexpr size_t Batch = 1000;
  for (size_t I = 0; I < Items.size();) {
    size_t N = std::min(Batch, Items.size() - I);
    if (N == 1) {
      save(Items[I].first);
      save(Items[I].second);
      Out.push_back(pickle_op::SETITEM);
      return;
    }
    Out.push_back(pickle_op::MARK);
    for (size_t E = I + N; I < E; ++I) {
      save(Items[I].first);
      save(Items[I].second);
    }
    Out.push_back(pickle_op::SETITEMS);
  }
}

void PickleWriter::saveTensor(const PyRef &V) {
  const TensorData &T = V->Tensor;
  // OrderedDict() is a fresh object per tensor, as torch's backward_hooks.
  auto Hooks = [] { return PyValue::makeDict(/*IsOrdered=*/true); };
  if (V->IsParameter) {
    // Parameter.__reduce_ex__: (_rebuild_parameter, (self.data,
    // self.requires_grad, OrderedDict())); self.data never requires grad.
    saveGlobal("torch._utils", "_rebuild_parameter");
    TensorData Data = T;
    Data.RequiresGrad = false;
    PyRef Args = PyValue::makeTuple(
        {PyValue::makeTensor(std::move(Data)), PyValue::makeBool(T.RequiresGrad), Hooks()});
    save(Args);
  } else {
    saveGlobal("torch._utils", "_rebuild_tensor_v2");
    assert(StorageId && "PickleWriter needs a storage id function to write tensors");
    PyRef StorageArg = std::make_shared<PyValue>();
    StorageArg->K = PyValue::Kind::PersistentId;
    StorageArg->Items.push_back(StorageId(T));
    std::vector<PyRef> Sizes, Strides;
    for (int64_t S : T.Sizes)
      Sizes.push_back(PyValue::makeInt(S));
    for (int64_t S : T.Strides)
      Strides.push_back(PyValue::makeInt(S));
    PyRef Args = PyValue::makeTuple({std::move(StorageArg), PyValue::makeInt(T.StorageOffset),
                                     PyValue::makeTuple(std::move(Sizes)),
                                     PyValue::makeTuple(std::move(Strides)),
                                     PyValue::makeBool(T.RequiresGrad), Hooks()});
    save(Args);
  }
  Out.push_back(pickle_op::REDUCE);
  memoize(V);
}

void PickleWriter::save(const PyRef &V) {
  assert(V && "null PyRef in a pickled value");
  switch (V->K) {
  case PyValue::Kind::None:
    Out.push_back(pickle_op::NONE);
    return;
  case PyValue::Kind::Bool:
    Out.push_back(V->B ? pickle_op::NEWTRUE : pickle_op::NEWFALSE);
    return;
  case PyValue::Kind::Int:
    saveInt(V->I);
    return;
  case PyValue::Kind::Float: {
    uint64_t Bits;
    std::memcpy(&Bits, &V->F, 8);
    Out.push_back(pickle_op::BINFLOAT);
    for (int I = 7; I >= 0; --I)
      Out.push_back(static_cast<uint8_t>(Bits >> (8 * I)));
    return;
  }
  case PyValue::Kind::String:
    if (saveMemoGet(V))
      return;
    Out.push_back(pickle_op::BINUNICODE);
    emitU32(static_cast<uint32_t>(V->S.size()));
    Out.insert(Out.end(), V->S.begin(), V->S.end());
    memoize(V);
    return;
  case PyValue::Kind::Bytes:
    // Protocol 2 has no bytes opcode: CPython writes b'' as bytes() and
    // anything else as _codecs.encode(bytes.decode('latin1'), 'latin1').
    if (saveMemoGet(V))
      return;
    if (V->S.empty()) {
      saveGlobal("__builtin__", "bytes");
      Out.push_back(pickle_op::EMPTY_TUPLE);
    } else {
      saveGlobal("_codecs", "encode");
      save(PyValue::makeTuple({PyValue::makeString(latin1ToUtf8(V->S)), Latin1}));
    }
    Out.push_back(pickle_op::REDUCE);
    memoize(V);
    return;
  case PyValue::Kind::Tuple:
    if (saveMemoGet(V))
      return;
    saveTuple(V);
    return;
  case PyValue::Kind::List:
    if (saveMemoGet(V))
      return;
    Out.push_back(pickle_op::EMPTY_LIST);
    memoize(V);
    saveListItems(V->Items);
    return;
  case PyValue::Kind::Dict:
    if (saveMemoGet(V))
      return;
    if (V->IsOrderedDict) {
      saveGlobal("collections", "OrderedDict");
      Out.push_back(pickle_op::EMPTY_TUPLE);
      Out.push_back(pickle_op::REDUCE);
      memoize(V);
      saveDictItems(V->DictItems);
      return;
    }
    Out.push_back(pickle_op::EMPTY_DICT);
    memoize(V);
    // CPython's batch_dict_exact: one item as SETITEM, otherwise batches of
    // MARK ... SETITEMS (with an empty trailing batch after a full one).
    if (V->DictItems.size() == 1) {
      saveDictItems(V->DictItems);
    } else if (!V->DictItems.empty()) {
      size_t I = 0, N;
      do {
        Out.push_back(pickle_op::MARK);
        for (N = 0; N < 1000 && I < V->DictItems.size(); ++N, ++I) {
          save(V->DictItems[I].first);
          save(V->DictItems[I].second);
        }
        Out.push_back(pickle_op::SETITEMS);
      } while (N == 1000);
    }
    return;
  case PyValue::Kind::Tensor:
    if (saveMemoGet(V))
      return;
    saveTensor(V);
    return;
  case PyValue::Kind::Storage: {
    // Storages are never memoised: torch's persistent_id runs each time.
    assert(StorageId && "PickleWriter needs a storage id function to write storages");
    save(StorageId(V->Tensor));
    Out.push_back(pickle_op::BINPERSID);
    return;
  }
  case PyValue::Kind::Global: {
    auto [Module, Name] = StringRef(V->S).split(' ');
    saveGlobal(Module, Name);
    return;
  }
  case PyValue::Kind::PersistentId:
    assert(!V->Items.empty() && "persistent id without a pid");
    save(V->Items[0]);
    Out.push_back(pickle_op::BINPERSID);
    return;
  case PyValue::Kind::Reduce:
    if (saveMemoGet(V))
      return;
    assert(V->Items.size() == 2 && "call without callable and arguments");
    save(V->Items[0]);
    save(V->Items[1]);
    Out.push_back(pickle_op::REDUCE);
    memoize(V);
    return;
  }
}
