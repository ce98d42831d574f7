//===- frontend/TensorData.cpp - a tensor's bytes, shape and strides ------===//
#include "frontend/TensorData.h"

#include "frontend/Error.h"

#include <cstring>

using namespace atalla::frontend;

std::vector<int64_t> atalla::frontend::contiguousStrides(const std::vector<int64_t> &Sizes) {
  std::vector<int64_t> Strides(Sizes.size(), 1);
  int64_t Acc = 1;
  for (size_t I = Sizes.size(); I-- > 0;) {
    Strides[I] = Acc;
    Acc *= Sizes[I] > 1 ? Sizes[I] : 1;
  }
  return Strides;
}

llvm::Expected<int64_t> atalla::frontend::checkedNumel(const std::vector<int64_t> &Sizes,
                                                       int64_t ItemSize) {
  int64_t N = 1;
  for (int64_t S : Sizes) {
    if (S < 0)
      return makeError("negative dimension " + llvm::Twine(S));
    if (__builtin_mul_overflow(N, S, &N))
      return makeError("element count overflows int64");
  }
  int64_t Bytes;
  if (__builtin_mul_overflow(N, ItemSize, &Bytes))
    return makeError("byte size overflows int64 (" + llvm::Twine(N) + " elements of " +
                     llvm::Twine(ItemSize) + " bytes)");
  return N;
}

int64_t TensorData::numel() const {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  return N;
}

bool TensorData::isContiguous() const {
  return Strides == contiguousStrides(Sizes);
}

llvm::Error TensorData::validate() const {
  int64_t Item = elementSize(Dtype);
  if (Item == 0)
    return makeError("unsupported dtype " + scalarTypeName(Dtype));
  if (Strides.size() != Sizes.size())
    return makeError(llvm::formatv("{0} sizes but {1} strides", Sizes.size(), Strides.size()));
  auto N = checkedNumel(Sizes, Item);
  if (!N)
    return N.takeError();
  if (StorageOffset < 0)
    return makeError("negative storage offset " + llvm::Twine(StorageOffset));
  for (size_t I = 0; I < Strides.size(); ++I)
    if (Strides[I] < 0)
      return makeError(llvm::formatv("negative stride {0} in dimension {1}", Strides[I], I));
  if (!Data)
    return llvm::Error::success();
  if (*N == 0)
    return llvm::Error::success();
  // Highest element index reached by the view, with overflow checks.
  int64_t MaxIndex = StorageOffset;
  for (size_t I = 0; I < Sizes.size(); ++I) {
    if (Strides[I] < 0)
      return makeError(llvm::formatv("negative stride {0} in dimension {1}", Strides[I], I));
    int64_t Span;
    if (__builtin_mul_overflow(Sizes[I] - 1, Strides[I], &Span) ||
        __builtin_add_overflow(MaxIndex, Span, &MaxIndex))
      return makeError("strided extent overflows int64");
  }
  int64_t NeedBytes;
  if (__builtin_mul_overflow(MaxIndex + 1, Item, &NeedBytes))
    return makeError("strided extent overflows int64");
  if (static_cast<uint64_t>(NeedBytes) > Data->Bytes.size())
    return makeError(llvm::formatv("payload has {0} bytes but the tensor needs {1}",
                                   Data->Bytes.size(), NeedBytes));
  return llvm::Error::success();
}

std::vector<uint8_t> TensorData::contiguousBytes() const {
  int64_t Item = elementSize(Dtype);
  int64_t N = numel();
  std::vector<uint8_t> Out(static_cast<size_t>(N * Item));
  if (N == 0 || !Data)
    return Out;
  const uint8_t *Src = Data->Bytes.data();
  if (isContiguous()) {
    std::memcpy(Out.data(), Src + StorageOffset * Item, Out.size());
    return Out;
  }
  std::vector<int64_t> Index(Sizes.size(), 0);
  for (int64_t E = 0; E < N; ++E) {
    int64_t Off = StorageOffset;
    for (size_t D = 0; D < Sizes.size(); ++D)
      Off += Index[D] * Strides[D];
    std::memcpy(Out.data() + E * Item, Src + Off * Item, Item);
    for (size_t D = Sizes.size(); D-- > 0;) {
      if (++Index[D] < Sizes[D])
        break;
      Index[D] = 0;
    }
  }
  return Out;
}

TensorData TensorData::fromBytes(ScalarType Dtype, std::vector<int64_t> Sizes,
                                 std::vector<uint8_t> Bytes) {
  TensorData T;
  T.Dtype = Dtype;
  T.Strides = contiguousStrides(Sizes);
  T.Sizes = std::move(Sizes);
  auto S = std::make_shared<Storage>();
  S->Bytes = std::move(Bytes);
  T.Data = std::move(S);
  return T;
}
