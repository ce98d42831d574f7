//===- frontend/TensorData.h - a tensor's bytes, shape and strides -*- C++ -*-===//
//
// Weights, constants and sample inputs as the archive stores them: a storage
// (a byte buffer several tensors may share, as torch's aliasing allows) and a
// strided view of it. validate() checks the view against the storage once, so
// later code can index without bounds checks.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_TENSORDATA_H
#define ATALLA_FRONTEND_TENSORDATA_H

#include "frontend/ScalarType.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atalla::frontend {

/// A raw, untyped storage. Tensors refer to it by shared pointer.
struct Storage {
  std::vector<uint8_t> Bytes;
};

struct TensorData {
  ScalarType Dtype = ScalarType::Float32;
  std::vector<int64_t> Sizes;
  std::vector<int64_t> Strides;  ///< In elements.
  int64_t StorageOffset = 0;     ///< In elements.
  bool RequiresGrad = false;
  /// False for a "fake" tensor (a zero-byte payload file): metadata only.
  std::shared_ptr<const Storage> Data;

  /// Number of elements; 1 for a scalar.
  int64_t numel() const;
  /// Whether the view is row-major contiguous.
  bool isContiguous() const;
  /// Checks dtype, sizes, strides and offset against the storage: no
  /// overflow, no negative stride, every element inside the storage.
  llvm::Error validate() const;
  /// The elements in row-major order (a copy; gathers a strided view).
  /// Requires validate() to have succeeded and Data to be set.
  std::vector<uint8_t> contiguousBytes() const;

  /// A contiguous tensor owning a copy of \p Bytes.
  static TensorData fromBytes(ScalarType Dtype, std::vector<int64_t> Sizes,
                              std::vector<uint8_t> Bytes);
};

/// Row-major strides for \p Sizes.
std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &Sizes);

/// Element count of \p Sizes, or an error on a negative size or overflow
/// (the product times \p ItemSize must fit in int64).
llvm::Expected<int64_t> checkedNumel(const std::vector<int64_t> &Sizes, int64_t ItemSize);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_TENSORDATA_H
