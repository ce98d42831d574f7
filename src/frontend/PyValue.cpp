//===- frontend/PyValue.cpp - the unpickler's values, names and globals --===//
//
// PyValue's constructors, lookups and repr; the Latin-1 / UTF-8 conversions
// torch.save's strings need; the opcode names, the allow-list of globals and
// the decoders of protocol 0's escaped text (PickleInternal.h), which the
// unpickler calls.
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
using atalla::frontend::detail::makeValue;
using atalla::frontend::detail::GlobalRole;
namespace detail = atalla::frontend::detail;

//===----------------------------------------------------------------------===//
// PyValue
//===----------------------------------------------------------------------===//

PyRef atalla::frontend::detail::makeValue(PyValue::Kind K) {
  auto V = std::make_shared<PyValue>();
  V->K = K;
  return V;
}

PyRef PyValue::none() { return makeValue(Kind::None); }

PyRef PyValue::makeBool(bool B) {
  PyRef V = makeValue(Kind::Bool);
  V->B = B;
  return V;
}

PyRef PyValue::makeInt(int64_t I) {
  PyRef V = makeValue(Kind::Int);
  V->I = I;
  return V;
}

PyRef PyValue::makeFloat(double F) {
  PyRef V = makeValue(Kind::Float);
  V->F = F;
  return V;
}

PyRef PyValue::makeString(std::string S) {
  PyRef V = makeValue(Kind::String);
  V->S = std::move(S);
  return V;
}

PyRef PyValue::makeBytes(std::string S) {
  PyRef V = makeValue(Kind::Bytes);
  V->S = std::move(S);
  return V;
}

PyRef PyValue::makeTuple(std::vector<PyRef> Items) {
  PyRef V = makeValue(Kind::Tuple);
  V->Items = std::move(Items);
  return V;
}

PyRef PyValue::makeList(std::vector<PyRef> Items) {
  PyRef V = makeValue(Kind::List);
  V->Items = std::move(Items);
  return V;
}

PyRef PyValue::makeDict(bool IsOrdered) {
  PyRef V = makeValue(Kind::Dict);
  V->IsOrderedDict = IsOrdered;
  return V;
}

PyRef PyValue::makeTensor(TensorData T, bool IsParameter) {
  PyRef V = makeValue(Kind::Tensor);
  V->Tensor = std::move(T);
  V->IsParameter = IsParameter;
  return V;
}

PyRef PyValue::makeStorage(std::shared_ptr<const Storage> Data, ScalarType Dtype, int64_t Numel,
                           std::string Key) {
  PyRef V = makeValue(Kind::Storage);
  V->Tensor.Dtype = Dtype;
  V->Tensor.Sizes = {Numel};
  V->Tensor.Strides = {1};
  V->Tensor.Data = std::move(Data);
  V->I = Numel;
  V->S = std::move(Key);
  return V;
}

PyRef PyValue::makeGlobal(StringRef Module, StringRef Name) {
  PyRef V = makeValue(Kind::Global);
  V->S = (Module + " " + Name).str();
  return V;
}

PyRef PyValue::lookup(StringRef Key) const {
  if (K != Kind::Dict)
    return nullptr;
  // Last match wins, as for a Python dict assigned twice.
  for (size_t I = DictItems.size(); I-- > 0;) {
    const PyRef &KeyV = DictItems[I].first;
    if (KeyV && KeyV->K == Kind::String && KeyV->S == Key)
      return DictItems[I].second;
  }
  return nullptr;
}

void PyValue::insert(std::string Key, PyRef Value) {
  assert(K == Kind::Dict && "insert on a non-dict");
  DictItems.emplace_back(makeString(std::move(Key)), std::move(Value));
}

StringRef PyValue::kindName() const {
  switch (K) {
  case Kind::None:
    return "None";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
    return "int";
  case Kind::Float:
    return "float";
  case Kind::String:
    return "str";
  case Kind::Bytes:
    return "bytes";
  case Kind::Tuple:
    return "tuple";
  case Kind::List:
    return "list";
  case Kind::Dict:
    return IsOrderedDict ? "OrderedDict" : "dict";
  case Kind::Tensor:
    return IsParameter ? "Parameter" : "Tensor";
  case Kind::Storage:
    return "storage";
  case Kind::Global:
    return "global";
  case Kind::PersistentId:
    return "persistent id";
  case Kind::Reduce:
    return "call";
  }
  return "?";
}

namespace {
/// Renders with a nesting cut-off so that messages stay short and the
/// recursion stays shallow whatever the value.
void reprInto(const PyValue &V, std::string &Out, size_t MaxLen, unsigned Depth) {
  if (Out.size() > MaxLen)
    return;
  auto Quoted = [&](StringRef S, StringRef Prefix) {
    Out += Prefix;
    Out += '\'';
    for (char C : S.take_front(MaxLen)) {
      unsigned char U = static_cast<unsigned char>(C);
      if (C == '\'' || C == '\\') {
        Out += '\\';
        Out += C;
      } else if (U < 0x20 || U == 0x7f || (Prefix == "b" && U >= 0x80)) {
        Out += llvm::formatv("\\x{0:x-2}", U).str();
      } else {
        Out += C;
      }
    }
    Out += '\'';
  };
  auto Children = [&](const std::vector<PyRef> &Items, char Open, char Close) {
    Out += Open;
    if (Depth >= 4 && !Items.empty()) {
      Out += "...";
    } else {
      for (size_t I = 0; I < Items.size() && Out.size() <= MaxLen; ++I) {
        if (I)
          Out += ", ";
        if (Items[I])
          reprInto(*Items[I], Out, MaxLen, Depth + 1);
      }
    }
    if (V.K == PyValue::Kind::Tuple && Items.size() == 1)
      Out += ',';
    Out += Close;
  };
  switch (V.K) {
  case PyValue::Kind::None:
    Out += "None";
    return;
  case PyValue::Kind::Bool:
    Out += V.B ? "True" : "False";
    return;
  case PyValue::Kind::Int:
    Out += std::to_string(V.I);
    return;
  case PyValue::Kind::Float: {
    char Buf[32];
    std::snprintf(Buf, sizeof(Buf), "%.17g", V.F);
    Out += Buf;
    return;
  }
  case PyValue::Kind::String:
    Quoted(V.S, "");
    return;
  case PyValue::Kind::Bytes:
    Quoted(V.S, "b");
    return;
  case PyValue::Kind::Tuple:
    Children(V.Items, '(', ')');
    return;
  case PyValue::Kind::List:
    Children(V.Items, '[', ']');
    return;
  case PyValue::Kind::Dict:
    if (V.IsOrderedDict)
      Out += "OrderedDict(";
    Out += '{';
    if (Depth >= 4 && !V.DictItems.empty()) {
      Out += "...";
    } else {
      for (size_t I = 0; I < V.DictItems.size() && Out.size() <= MaxLen; ++I) {
        if (I)
          Out += ", ";
        if (V.DictItems[I].first)
          reprInto(*V.DictItems[I].first, Out, MaxLen, Depth + 1);
        Out += ": ";
        if (V.DictItems[I].second)
          reprInto(*V.DictItems[I].second, Out, MaxLen, Depth + 1);
      }
    }
    Out += '}';
    if (V.IsOrderedDict)
      Out += ')';
    return;
  case PyValue::Kind::Tensor: {
    Out += V.IsParameter ? "Parameter(" : "tensor(";
    Out += scalarTypeName(V.Tensor.Dtype);
    Out += '[';
    for (size_t I = 0; I < V.Tensor.Sizes.size(); ++I)
      Out += (I ? "," : "") + std::to_string(V.Tensor.Sizes[I]);
    Out += "])";
    return;
  }
  case PyValue::Kind::Storage:
    Out += "<";
    Out += storageClassName(V.Tensor.Dtype);
    Out += " '" + V.S + "' of " + std::to_string(V.I) + ">";
    return;
  case PyValue::Kind::Global:
    Out += "global '" + V.S + "'";
    return;
  case PyValue::Kind::PersistentId:
    Out += "persid(";
    if (!V.Items.empty() && V.Items[0])
      reprInto(*V.Items[0], Out, MaxLen, Depth + 1);
    Out += ')';
    return;
  case PyValue::Kind::Reduce:
    if (V.Items.size() == 2 && V.Items[0] && V.Items[1]) {
      Out += V.Items[0]->S;
      reprInto(*V.Items[1], Out, MaxLen, Depth + 1);
    } else {
      Out += "<call>";
    }
    return;
  }
}
} // namespace

std::string PyValue::repr(size_t MaxLen) const {
  std::string Out;
  reprInto(*this, Out, MaxLen, 0);
  if (Out.size() > MaxLen) {
    Out.resize(MaxLen);
    Out += "...";
  }
  return Out;
}

std::optional<std::string> atalla::frontend::utf8ToLatin1(StringRef Utf8) {
  std::string Out;
  Out.reserve(Utf8.size());
  for (size_t I = 0; I < Utf8.size(); ++I) {
    unsigned char C = Utf8[I];
    if (C < 0x80) {
      Out += static_cast<char>(C);
      continue;
    }
    // Only U+0080..U+00FF are latin1: two-byte sequences led by C2 or C3.
    if ((C != 0xC2 && C != 0xC3) || I + 1 >= Utf8.size())
      return std::nullopt;
    unsigned char D = Utf8[I + 1];
    if ((D & 0xC0) != 0x80)
      return std::nullopt;
    Out += static_cast<char>(((C & 0x03) << 6) | (D & 0x3F));
    ++I;
  }
  return Out;
}

std::string atalla::frontend::latin1ToUtf8(StringRef Bytes) {
  std::string Out;
  Out.reserve(Bytes.size());
  for (char Ch : Bytes) {
    unsigned char C = Ch;
    if (C < 0x80) {
      Out += Ch;
    } else {
      Out += static_cast<char>(0xC0 | (C >> 6));
      Out += static_cast<char>(0x80 | (C & 0x3F));
    }
  }
  return Out;
}

//===----------------------------------------------------------------------===//
// Opcode names and the allowed globals
//===----------------------------------------------------------------------===//

namespace {
// Every opcode of pickle protocols 0-5 (Lib/pickletools.py), so refusals can
// name the opcode.
struct OpcodeInfo {
  uint8_t Code;
  const char *Name;
};
constexpr OpcodeInfo Opcodes[] = {
#define ATALLA_PICKLE_OP(Code, Name) {Code, #Name},
#include "frontend/PickleOps.def"
};


} // namespace

StringRef atalla::frontend::pickleOpcodeName(uint8_t Op) {
  for (const OpcodeInfo &O : Opcodes)
    if (O.Code == Op)
      return O.Name;
  return "";
}

std::optional<ScalarType> atalla::frontend::storageGlobalDtype(const PyValue &V) {
  if (V.K != PyValue::Kind::Global)
    return std::nullopt;
  auto [Module, Name] = StringRef(V.S).split(' ');
  if (Name == "UntypedStorage" && (Module == "torch" || Module == "torch.storage"))
    return ScalarType::UInt8;
  if (Module != "torch")
    return std::nullopt;
  return scalarTypeFromStorageClass(Name);
}

std::optional<GlobalRole> detail::classifyGlobal(StringRef Module, StringRef Name) {
  if (Module == "collections" && Name == "OrderedDict")
    return GlobalRole::OrderedDict;
  if (Module == "torch._utils") {
    if (Name == "_rebuild_tensor_v2")
      return GlobalRole::RebuildTensorV2;
    if (Name == "_rebuild_tensor_v3")
      return GlobalRole::RebuildTensorV3;
    if (Name == "_rebuild_parameter")
      return GlobalRole::RebuildParameter;
    if (Name == "_rebuild_parameter_with_state")
      return GlobalRole::RebuildParameterWithState;
    return std::nullopt;
  }
  if ((Module == "torch" || Module == "torch.storage") && Name == "UntypedStorage")
    return GlobalRole::StorageClass;
  if (Module == "torch") {
    if (Name == "Size")
      return GlobalRole::Size;
    if (Name == "device")
      return GlobalRole::Device;
    if (scalarTypeFromStorageClass(Name))
      return GlobalRole::StorageClass;
    if (scalarTypeFromName(Name))
      return GlobalRole::Dtype;
    return std::nullopt;
  }
  if (Module == "_codecs" && Name == "encode")
    return GlobalRole::CodecsEncode;
  // Protocol < 3 writes b'' as bytes() under its Python 2 name.
  if ((Module == "__builtin__" || Module == "builtins") && Name == "bytes")
    return GlobalRole::BytesType;
  return std::nullopt;
}

std::optional<GlobalRole> detail::classifyGlobal(const PyValue &V) {
  if (V.K != PyValue::Kind::Global)
    return std::nullopt;
  auto [Module, Name] = StringRef(V.S).split(' ');
  return classifyGlobal(Module, Name);
}

bool detail::isContainer(const PyValue &V) {
  switch (V.K) {
  case PyValue::Kind::Tuple:
  case PyValue::Kind::List:
  case PyValue::Kind::Dict:
  case PyValue::Kind::PersistentId:
  case PyValue::Kind::Reduce:
    return true;
  default:
    return false;
  }
}

//===----------------------------------------------------------------------===//
// Protocol 0's escaped text
//===----------------------------------------------------------------------===//

namespace atalla::frontend::detail {

/// Unescapes a protocol 0 STRING body (Python's escape_decode).
std::optional<std::string> unescapeString(StringRef S) {
  std::string Out;
  for (size_t I = 0; I < S.size(); ++I) {
    char C = S[I];
    if (C != '\\') {
      Out += C;
      continue;
    }
    if (++I >= S.size())
      return std::nullopt;
    char E = S[I];
    // Single-character escapes as (letter, value) pairs.
    static constexpr char Simple[] = "\\\\''\"\"n\nt\tr\ra\ab\bf\fv\v";
    const char *Hit = nullptr;
    for (size_t J = 0; J + 1 < sizeof(Simple); J += 2)
      if (Simple[J] == E)
        Hit = &Simple[J + 1];
    if (Hit) {
      Out += *Hit;
      continue;
    }
    switch (E) {
    case '\n': // a line continuation
      break;
    case 'x': {
      unsigned V;
      if (I + 2 >= S.size() || S.substr(I + 1, 2).getAsInteger(16, V))
        return std::nullopt;
      Out += static_cast<char>(V);
      I += 2;
      break;
    }
    default:
      if (E >= '0' && E <= '7') {
        unsigned V = 0;
        size_t N = 0;
        while (N < 3 && I < S.size() && S[I] >= '0' && S[I] <= '7') {
          V = V * 8 + (S[I] - '0');
          ++I;
          ++N;
        }
        --I;
        Out += static_cast<char>(V & 0xFF);
      } else {
        Out += '\\';
        Out += E;
      }
    }
  }
  return Out;
}

void appendUtf8(std::string &Out, uint32_t CP) {
  if (CP < 0x80) {
    Out += static_cast<char>(CP);
  } else if (CP < 0x800) {
    Out += static_cast<char>(0xC0 | (CP >> 6));
    Out += static_cast<char>(0x80 | (CP & 0x3F));
  } else if (CP < 0x10000) {
    Out += static_cast<char>(0xE0 | (CP >> 12));
    Out += static_cast<char>(0x80 | ((CP >> 6) & 0x3F));
    Out += static_cast<char>(0x80 | (CP & 0x3F));
  } else {
    Out += static_cast<char>(0xF0 | (CP >> 18));
    Out += static_cast<char>(0x80 | ((CP >> 12) & 0x3F));
    Out += static_cast<char>(0x80 | ((CP >> 6) & 0x3F));
    Out += static_cast<char>(0x80 | (CP & 0x3F));
  }
}

/// Decodes a protocol 0 UNICODE body (Python's raw-unicode-escape) to UTF-8.
std::optional<std::string> decodeRawUnicodeEscape(StringRef S) {
  std::string Out;
  for (size_t I = 0; I < S.size(); ++I) {
    unsigned char C = S[I];
    if (C == '\\' && I + 1 < S.size() && (S[I + 1] == 'u' || S[I + 1] == 'U')) {
      size_t Digits = S[I + 1] == 'u' ? 4 : 8;
      uint32_t CP;
      if (I + 2 + Digits > S.size() || S.substr(I + 2, Digits).getAsInteger(16, CP) ||
          CP > 0x10FFFF)
        return std::nullopt;
      appendUtf8(Out, CP);
      I += 1 + Digits;
      continue;
    }
    appendUtf8(Out, C);
  }
  return Out;
}

} // namespace atalla::frontend::detail
