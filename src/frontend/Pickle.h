//===- frontend/Pickle.h - a restricted unpickler and pickler ---*- C++ -*-===//
//
// torch.save stores its object tree as a Python pickle. Unpickling in general
// runs arbitrary code, so this reader executes nothing: it knows the opcodes
// torch writes, an allow-list of globals whose calls it evaluates in C++
// (tensor rebuild functions, OrderedDict, storage classes, dtypes), and
// refuses everything else with a message naming the opcode or global. The
// writer emits protocol 2 the way CPython's pickler does for torch.save, so
// files we write match torch's byte for byte.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_PICKLE_H
#define ATALLA_FRONTEND_PICKLE_H

#include "frontend/TensorData.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace atalla::frontend {

struct PyValue;
/// Values are shared like Python objects: the memo and containers alias them,
/// and the writer memoises by identity (a PyRef written twice is written once
/// and referenced, as CPython does for the same object).
using PyRef = std::shared_ptr<PyValue>;

/// One Python object, as far as torch.save pickles need. A tagged struct
/// rather than a class hierarchy: the unpickler builds these, and callers
/// walk them with a switch on K.
struct PyValue {
  enum class Kind {
    None,
    Bool,         ///< B
    Int,          ///< I (LONG1/LONG4 values must fit in int64)
    Float,        ///< F
    String,       ///< S, UTF-8 as pickled
    Bytes,        ///< S, raw bytes
    Tuple,        ///< Items
    List,         ///< Items
    Dict,         ///< DictItems in SETITEM order (a repeated key stays
                  ///< repeated); IsOrderedDict for OrderedDict
    Tensor,       ///< Tensor (validated), IsParameter for nn.Parameter
    Storage,      ///< A torch storage: Tensor.Data, Tensor.Dtype (the storage
                  ///< class's dtype), I = element count, S = storage key
    Global,       ///< S = "module name" (a dtype, a storage class, a function)
    PersistentId, ///< Items = {pid}: BINPERSID/PERSID when no loader is given
    Reduce,       ///< Items = {callable, args}: an allowed call kept unevaluated
                  ///< (torch.device)
  };

  Kind K = Kind::None;
  bool B = false;
  int64_t I = 0;
  double F = 0;
  std::string S;
  std::vector<PyRef> Items;
  std::vector<std::pair<PyRef, PyRef>> DictItems;
  /// collections.OrderedDict rather than dict: the writer pickles the two
  /// differently, and torch's state_dict() is an OrderedDict.
  bool IsOrderedDict = false;
  TensorData Tensor;
  bool IsParameter = false;

  static PyRef none();
  static PyRef makeBool(bool V);
  static PyRef makeInt(int64_t V);
  static PyRef makeFloat(double V);
  static PyRef makeString(std::string V);
  static PyRef makeBytes(std::string V);
  static PyRef makeTuple(std::vector<PyRef> Items = {});
  static PyRef makeList(std::vector<PyRef> Items = {});
  static PyRef makeDict(bool IsOrdered = false);
  static PyRef makeTensor(TensorData T, bool IsParameter = false);
  static PyRef makeStorage(std::shared_ptr<const Storage> Data, ScalarType Dtype, int64_t Numel,
                           std::string Key);
  static PyRef makeGlobal(llvm::StringRef Module, llvm::StringRef Name);

  bool is(Kind Other) const { return K == Other; }
  /// Tuple or List.
  bool isSequence() const { return K == Kind::Tuple || K == Kind::List; }
  /// The value for string key \p Key of a Dict, or nullptr.
  PyRef lookup(llvm::StringRef Key) const;
  /// Appends Key -> Value to a Dict (no duplicate check).
  void insert(std::string Key, PyRef Value);
  /// A short Python-like rendering for messages, cut at \p MaxLen chars.
  std::string repr(size_t MaxLen = 120) const;
  /// "tuple", "dict", "Tensor", ... for messages.
  llvm::StringRef kindName() const;
};

struct UnpicklerLimits {
  /// MARK nesting and container nesting of the result (the result is freed
  /// and walked recursively, so this bounds stack use too).
  size_t MaxDepth = 1000;
  /// Values created plus container slots filled plus tensor dims copied
  /// plus bytes copied / 8: bounds memory to a constant times this.
  size_t MaxItems = 1u << 24;
  /// Distinct memo slots.
  size_t MaxMemo = 1u << 20;
};

/// Called for BINPERSID/PERSID with the persistent id; returns the object it
/// names (for torch: a Kind::Storage value). Errors get the byte offset
/// appended. A container it returns joins the result, and is emptied like
/// every other container if unpickling fails (to break any cycle).
using PersistentLoad = std::function<llvm::Expected<PyRef>(const PyRef &Pid)>;

/// Unpickles \p Bytes (protocols 0-5; no EXT*, INST/OBJ, NEWOBJ_EX, sets or
/// out-of-band buffers). Allowed globals, each evaluated in C++ when called:
///   collections.OrderedDict            -> Dict with IsOrderedDict
///   torch._utils._rebuild_tensor_v2/v3 -> Tensor (validated against storage)
///   torch._utils._rebuild_parameter[_with_state] -> Tensor, IsParameter
///   torch.<X>Storage, torch[.storage].UntypedStorage, torch.<dtype>
///                                      -> Global (storage class / dtype)
///   torch.Size -> Tuple; torch.device -> Reduce (kept as the call)
///   _codecs.encode(str, 'latin1'), builtins/__builtin__.bytes() -> Bytes
/// Any other global is an error. With an empty \p Load, persistent ids
/// become Kind::PersistentId values, and tensors cannot be rebuilt. Errors
/// name the opcode and byte offset.
llvm::Expected<PyRef> unpickle(llvm::ArrayRef<uint8_t> Bytes, PersistentLoad Load = nullptr,
                               UnpicklerLimits L = {});

/// The pickle opcode name for \p Op ("BINPUT"), or "" for an unknown byte.
llvm::StringRef pickleOpcodeName(uint8_t Op);

/// Every opcode's byte by its name (PickleOps.def): pickle_op::MARK is '('.
namespace pickle_op {
#define ATALLA_PICKLE_OP(Code, Name) inline constexpr uint8_t Name = Code;
#include "frontend/PickleOps.def"
} // namespace pickle_op

/// Writes protocol 2 like CPython's C pickler with torch.save's reducers:
/// memo slot per object (BINPUT), BINGET for a repeated PyRef or global,
/// TUPLE1-3 for short tuples, SETITEM/APPEND for one item and batches of
/// 1000 otherwise, bytes as _codecs.encode(str, 'latin1'), tensors as
/// _rebuild_tensor_v2 and parameters as _rebuild_parameter around it.
/// The value must be acyclic (writing recurses on its nesting).
class PickleWriter {
public:
  /// Returns the persistent id of a tensor's storage (torch: the tuple
  /// ('storage', <storage class>, key, 'cpu', numel)). Must reuse PyRefs
  /// for repeated parts to get torch's BINGETs.
  using StoragePersistentId = std::function<PyRef(const TensorData &T)>;

  explicit PickleWriter(StoragePersistentId StorageId = nullptr);

  /// Pickles \p Value and returns PROTO 2 ... STOP. The memo is reset, so
  /// each call is an independent pickle.
  std::vector<uint8_t> write(const PyRef &Value);

private:
  void save(const PyRef &V);
  void saveTensor(const PyRef &V);
  void saveGlobal(llvm::StringRef Module, llvm::StringRef Name);
  void saveInt(int64_t V);
  void saveTuple(const PyRef &V);
  void saveDictItems(const std::vector<std::pair<PyRef, PyRef>> &Items);
  void saveListItems(const std::vector<PyRef> &Items);
  /// Writes a BINGET and returns true when \p V already has a memo slot.
  bool saveMemoGet(const PyRef &V);
  void memoize(const PyRef &V);
  void emitPut(uint32_t Slot);
  void emitGet(uint32_t Slot);
  void emitU32(uint32_t V);

  StoragePersistentId StorageId;
  std::vector<uint8_t> Out;
  /// Memo slots by PyValue address. KeepAlive holds each memoised value so
  /// that a temporary freed mid-write cannot hand its address to a new
  /// object, which would then be written as a BINGET of the old one.
  std::unordered_map<const PyValue *, uint32_t> Memo;
  std::vector<PyRef> KeepAlive;
  /// Globals are memoised by "module\nname": CPython memoises the class or
  /// function object, which is one object per name.
  std::unordered_map<std::string, uint32_t> GlobalMemo;
  uint32_t NextSlot = 0;
  /// The 'latin1' argument of _codecs.encode: one constant object in
  /// CPython, so repeated bytes values BINGET it.
  PyRef Latin1;
};

/// The dtype of a storage class global ("torch FloatStorage" -> float32,
/// "torch UntypedStorage" -> uint8), or nullopt for any other value.
std::optional<ScalarType> storageGlobalDtype(const PyValue &V);

/// Converts UTF-8 text whose code points are all below 256 into those bytes
/// (Python's str.encode('latin1')); nullopt otherwise.
std::optional<std::string> utf8ToLatin1(llvm::StringRef Utf8);
/// Encodes each byte as a code point in UTF-8 (bytes.decode('latin1')).
std::string latin1ToUtf8(llvm::StringRef Bytes);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_PICKLE_H
