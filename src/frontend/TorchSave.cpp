//===- frontend/TorchSave.cpp - torch.save zip reader and writer ----------===//
//
// The reader resolves torch's persistent ids to storages loaded from the zip;
// the writer mirrors torch.serialization._save closely enough that the
// pickle is byte-identical to torch's for the same object tree.
//
//===----------------------------------------------------------------------===//
#include "frontend/TorchSave.h"

#include "frontend/Error.h"
#include "frontend/ZipArchive.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <map>

using namespace atalla::frontend;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// Loads data/<key> for persistent ids, caching by key so aliases share.
class StorageLoader {
public:
  StorageLoader(const ZipReader &Z, std::string Root) : Z(Z), Root(std::move(Root)) {}

  Expected<PyRef> load(const PyRef &Pid) {
    auto Bad = [&](const llvm::Twine &Why) {
      return makeError("bad storage persistent id " + Pid->repr() + ": " + Why);
    };
    if (Pid->K != PyValue::Kind::Tuple || Pid->Items.size() != 5)
      return Bad("expected ('storage', class, key, location, numel)");
    const std::vector<PyRef> &A = Pid->Items;
    if (A[0]->K != PyValue::Kind::String || A[0]->S != "storage")
      return Bad("the first item is not 'storage'");
    std::optional<ScalarType> Dtype = storageGlobalDtype(*A[1]);
    if (!Dtype)
      return Bad("the second item is not a storage class");
    if (A[2]->K != PyValue::Kind::String)
      return Bad("the key is not a string");
    // A[3] is the location ('cpu', 'cuda:0'); the bytes are the same.
    if (A[3]->K != PyValue::Kind::String)
      return Bad("the location is not a string");
    if (A[4]->K != PyValue::Kind::Int || A[4]->I < 0)
      return Bad("the element count is not a non-negative int");
    const std::string &Key = A[2]->S;
    int64_t Numel = A[4]->I;
    int64_t Item = elementSize(*Dtype);
    int64_t NeedBytes;
    if (__builtin_mul_overflow(Numel, Item, &NeedBytes))
      return Bad("the byte size overflows int64");

    std::shared_ptr<Storage> &Cached = Cache[Key];
    if (!Cached) {
      std::string Name = Root + "data/" + Key;
      const ZipEntry *E = Z.find(Name);
      if (!E)
        return makeError("storage 'data/" + Key + "' is missing");
      // Checked before reading so a huge numel cannot make us read first.
      if (E->UncompressedSize < static_cast<uint64_t>(NeedBytes))
        return makeError(llvm::formatv("storage 'data/{0}' has {1} bytes but its persistent id "
                                       "needs {2} ({3} x {4})",
                                       Key, E->UncompressedSize, NeedBytes, Numel,
                                       storageClassName(*Dtype))
                             .str());
      auto Bytes = Z.read(Name);
      if (!Bytes)
        return Bytes.takeError();
      Cached = std::make_shared<Storage>();
      Cached->Bytes = std::move(*Bytes);
    } else if (Cached->Bytes.size() < static_cast<uint64_t>(NeedBytes)) {
      return makeError(llvm::formatv("storage 'data/{0}' has {1} bytes but a persistent id "
                                     "needs {2}",
                                     Key, Cached->Bytes.size(), NeedBytes)
                           .str());
    }
    return PyValue::makeStorage(Cached, *Dtype, Numel, Key);
  }

private:
  const ZipReader &Z;
  std::string Root;
  std::map<std::string, std::shared_ptr<Storage>> Cache;
};
} // namespace

Expected<PyRef> atalla::frontend::readTorchSave(llvm::ArrayRef<uint8_t> ZipBytes,
                                                StringRef DisplayName, UnpicklerLimits Limits) {
  auto ZOrErr =
      ZipReader::openBuffer(std::vector<uint8_t>(ZipBytes.begin(), ZipBytes.end()), DisplayName);
  if (!ZOrErr)
    return ZOrErr.takeError();
  const ZipReader &Z = **ZOrErr;

  std::optional<std::string> Root;
  for (const ZipEntry &E : Z.entries()) {
    StringRef Name = E.Name;
    if (Name == "data.pkl" || Name.ends_with("/data.pkl")) {
      Root = Name.drop_back(StringRef("data.pkl").size()).str();
      break;
    }
  }
  if (!Root)
    return makeError(DisplayName + ": not a torch.save zip: no data.pkl entry");

  if (Z.contains(*Root + "byteorder")) {
    auto Order = Z.readText(*Root + "byteorder");
    if (!Order)
      return Order.takeError();
    StringRef O = StringRef(*Order).trim();
    if (O != "little")
      return makeError(DisplayName + ": byteorder is '" + O.take_front(32) +
                       "'; only little-endian torch.save files are supported");
  }

  auto Pickle = Z.read(*Root + "data.pkl");
  if (!Pickle)
    return Pickle.takeError();
  StorageLoader Loader(Z, *Root);
  auto V = unpickle(
      *Pickle, [&](const PyRef &Pid) { return Loader.load(Pid); }, Limits);
  if (!V)
    return prefixError(V.takeError(), DisplayName + ": " + *Root + "data.pkl: ");
  return V;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {
/// Assigns storage keys the way torch's persistent_id does and keeps the
/// PyRefs torch would reuse ('storage', 'cpu', each key), so the pickler's
/// identity memo reproduces torch's BINGETs.
class StorageTable {
public:
  PyRef persistentId(const TensorData &T) {
    ScalarType Dtype = T.Dtype;
    int64_t Item = elementSize(Dtype);
    assert(Item > 0 && "tensor of unknown dtype");
    std::shared_ptr<const Storage> Data = T.Data;
    if (!Data)
      Data = zeroStorage(T, Item);
    auto [It, Inserted] = Index.try_emplace({Data.get(), Dtype}, Entries.size());
    if (Inserted) {
      Entry E;
      E.Key = PyValue::makeString(std::to_string(Entries.size()));
      E.Data = Data;
      E.Numel = static_cast<int64_t>(Data->Bytes.size()) / Item;
      E.Item = Item;
      Entries.push_back(std::move(E));
    }
    const Entry &E = Entries[It->second];
    return PyValue::makeTuple({StorageStr, PyValue::makeGlobal("torch", storageClassName(Dtype)),
                               E.Key, Cpu, PyValue::makeInt(E.Numel)});
  }

  struct Entry {
    PyRef Key;
    std::shared_ptr<const Storage> Data;
    int64_t Numel = 0;
    int64_t Item = 0;
  };
  std::vector<Entry> Entries;

private:
  static std::shared_ptr<const Storage> zeroStorage(const TensorData &T, int64_t Item) {
    std::vector<int64_t> Strides =
        T.Strides.size() == T.Sizes.size() ? T.Strides : contiguousStrides(T.Sizes);
    int64_t Extent = 0;
    if (T.numel() > 0) {
      Extent = T.StorageOffset + 1;
      for (size_t I = 0; I < T.Sizes.size(); ++I)
        Extent += (T.Sizes[I] - 1) * Strides[I];
    }
    auto S = std::make_shared<Storage>();
    S->Bytes.assign(static_cast<size_t>(Extent * Item), 0);
    return S;
  }

  std::map<std::pair<const Storage *, ScalarType>, size_t> Index;
  PyRef StorageStr = PyValue::makeString("storage");
  PyRef Cpu = PyValue::makeString("cpu");
};

/// 64-bit FNV-1a, continued over successive names.
uint64_t fnv1a(uint64_t H, StringRef S) {
  for (unsigned char C : S) {
    H ^= C;
    H *= 0x100000001b3ull;
  }
  return H;
}
} // namespace

std::vector<uint8_t> atalla::frontend::writeTorchSave(const PyRef &Value, StringRef RootName) {
  StorageTable Table;
  PickleWriter W([&](const TensorData &T) { return Table.persistentId(T); });
  std::vector<uint8_t> Pickle = W.write(Value);

  std::string Root = RootName.empty() ? std::string() : (RootName + "/").str();
  ZipWriter Z(64);
  uint32_t Crc = 0;
  uint64_t NameHash = 0xcbf29ce484222325ull;
  auto Add = [&](StringRef Name, llvm::ArrayRef<uint8_t> Data) {
    std::string Full = Root + Name.str();
    Crc = llvm::crc32(Crc, Data);
    NameHash = fnv1a(NameHash, Full);
    NameHash = fnv1a(NameHash, StringRef("\0", 1));
    Z.add(std::move(Full), Data);
  };
  auto AddText = [&](StringRef Name, StringRef Text) {
    Add(Name, llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(Text.data()), Text.size()));
  };

  Add("data.pkl", Pickle);
  AddText(".format_version", "1");
  AddText(".storage_alignment", "64");
  AddText("byteorder", "little");
  // torch writes storages in sorted(keys) order, which is string order.
  std::vector<const StorageTable::Entry *> Sorted;
  for (const StorageTable::Entry &E : Table.Entries)
    Sorted.push_back(&E);
  std::sort(Sorted.begin(), Sorted.end(),
            [](const StorageTable::Entry *A, const StorageTable::Entry *B) {
              return A->Key->S < B->Key->S;
            });
  for (const StorageTable::Entry *E : Sorted) {
    llvm::ArrayRef<uint8_t> Bytes(E->Data->Bytes);
    Add("data/" + E->Key->S, Bytes.take_front(static_cast<size_t>(E->Numel * E->Item)));
  }
  AddText("version", "3\n");
  char Id[41];
  std::snprintf(Id, sizeof(Id), "%020llu%020llu", static_cast<unsigned long long>(Crc),
                static_cast<unsigned long long>(NameHash));
  AddText(".data/serialization_id", StringRef(Id, 40));
  return Z.finish();
}
