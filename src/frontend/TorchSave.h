//===- frontend/TorchSave.h - torch.save zip reader and writer --*- C++ -*-===//
//
// torch.save writes a zip: <root>/data.pkl (the object tree, pickle protocol
// 2), one raw little-endian file <root>/data/<key> per storage, and a few
// small version records. The nested .pt files of a .pt2 archive (weights,
// constants, sample inputs) are such zips, and so are the legacy
// serialized_*.json entries of torch 2.2 despite their name.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_TORCHSAVE_H
#define ATALLA_FRONTEND_TORCHSAVE_H

#include "frontend/Pickle.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace atalla::frontend {

/// Reads a torch.save zip held in \p ZipBytes. The root folder is the prefix
/// of the first entry named "<root>/data.pkl" (torch writes "archive/", but
/// other names occur). Only byteorder "little" is accepted (a missing
/// byteorder record, as before torch 1.13, means little). Each persistent id
/// ('storage', <storage class>, key, location, numel) loads data/<key>, once
/// per key, so tensors that shared a storage share one Storage again.
/// Errors are prefixed with \p DisplayName.
llvm::Expected<PyRef> readTorchSave(llvm::ArrayRef<uint8_t> ZipBytes, llvm::StringRef DisplayName,
                                    UnpicklerLimits Limits = {});

/// Writes \p Value as torch.save does: entries data.pkl, .format_version
/// ("1"), .storage_alignment ("64"), byteorder ("little"), data/<key> in
/// torch's sorted-string order, version ("3\n"), .data/serialization_id,
/// all under \p RootName + "/". Storages get keys "0", "1", ... in first-seen
/// order; tensors sharing a Storage pointer and dtype share one key (one
/// viewing it as another dtype gets its own copy, as a storage has one
/// class). A tensor without data gets a zero-filled storage covering its
/// view.
///
/// The serialization id is deterministic, in the shape PyTorchStreamWriter
/// gives it: 20 decimal digits of the CRC-32 of every record written before
/// it (in order), then 20 digits of a 64-bit FNV-1a hash of their names.
/// torch only requires 40 characters; it uses the id to tell archives apart.
std::vector<uint8_t> writeTorchSave(const PyRef &Value, llvm::StringRef RootName = "archive");

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_TORCHSAVE_H
