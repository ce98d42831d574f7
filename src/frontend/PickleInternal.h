//===- frontend/PickleInternal.h - the unpickler's internals from PyValue.cpp -*- C++ -*-===//
//
// What the unpickler (Pickle.cpp) takes from PyValue.cpp: the bare value
// constructor, the allow-list of globals, and the decoders of the escaped
// text bodies of protocol 0's STRING and UNICODE opcodes. Internal to the
// frontend.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_PICKLEINTERNAL_H
#define ATALLA_FRONTEND_PICKLEINTERNAL_H

#include "frontend/Pickle.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace atalla::frontend::detail {

/// A fresh value of kind \p K (the unpickler counts and tracks it).
PyRef makeValue(PyValue::Kind K);

/// What an allowed global does when called (REDUCE) or what it stands for.
enum class GlobalRole {
  OrderedDict,
  RebuildTensorV2,
  RebuildTensorV3,
  RebuildParameter,
  RebuildParameterWithState,
  StorageClass,
  Dtype,
  Size,
  Device,
  CodecsEncode,
  BytesType,
};

/// The role of global Module.Name, if it is allowed at all.
std::optional<GlobalRole> classifyGlobal(llvm::StringRef Module, llvm::StringRef Name);
std::optional<GlobalRole> classifyGlobal(const PyValue &V);

/// Whether \p V holds other values (the unpickler tracks these, to empty
/// them iteratively).
bool isContainer(const PyValue &V);

/// Unescapes a protocol 0 STRING body (Python's escape_decode).
std::optional<std::string> unescapeString(llvm::StringRef S);

/// Appends code point \p CP to \p Out as UTF-8.
void appendUtf8(std::string &Out, uint32_t CP);

/// Decodes a protocol 0 UNICODE body (Python's raw-unicode-escape) to UTF-8.
std::optional<std::string> decodeRawUnicodeEscape(llvm::StringRef S);

} // namespace atalla::frontend::detail

#endif // ATALLA_FRONTEND_PICKLEINTERNAL_H
