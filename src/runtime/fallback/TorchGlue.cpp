//===- runtime/fallback/TorchGlue.cpp - LibTorch glue for fallback and oracle ===//
#include "runtime/fallback/TorchGlue.h"

#include "runtime/abi/SchemaEnums.h"

#include <cmath>
#include <limits>

using namespace atalla;

std::optional<c10::ScalarType> torchglue::c10ScalarType(int64_t D) {
  switch (D) {
#define ATALLA_DTYPE_C10(Enum, C10)                                                                                   \
  case int64_t(abi::SchemaDType::Enum):                                                                               \
    return c10::ScalarType::C10;
#include "runtime/abi/DTypes.def"
  default:
    return std::nullopt;
  }
}

std::optional<int64_t> torchglue::schemaDType(c10::ScalarType T) {
  switch (T) {
#define ATALLA_DTYPE_C10(Enum, C10)                                                                                   \
  case c10::ScalarType::C10:                                                                                          \
    return int64_t(abi::SchemaDType::Enum);
#include "runtime/abi/DTypes.def"
  default:
    return std::nullopt;
  }
}

std::optional<int64_t> torchglue::c10Layout(int64_t L) {
  switch (abi::SchemaLayout(L)) {
  case abi::SchemaLayout::SparseCoo: return static_cast<int64_t>(c10::kSparse);
  case abi::SchemaLayout::SparseCsr: return static_cast<int64_t>(c10::kSparseCsr);
  case abi::SchemaLayout::Mkldnn: return static_cast<int64_t>(c10::kMkldnn);
  case abi::SchemaLayout::Strided: return static_cast<int64_t>(c10::kStrided);
  default: return std::nullopt;
  }
}

std::optional<int64_t> torchglue::c10MemoryFormat(int64_t F) {
  switch (abi::SchemaMemoryFormat(F)) {
  case abi::SchemaMemoryFormat::Contiguous: return static_cast<int64_t>(c10::MemoryFormat::Contiguous);
  case abi::SchemaMemoryFormat::ChannelsLast: return static_cast<int64_t>(c10::MemoryFormat::ChannelsLast);
  case abi::SchemaMemoryFormat::ChannelsLast3d: return static_cast<int64_t>(c10::MemoryFormat::ChannelsLast3d);
  case abi::SchemaMemoryFormat::Preserve: return static_cast<int64_t>(c10::MemoryFormat::Preserve);
  default: return std::nullopt;
  }
}

std::pair<at::Tensor, at::Tensor> torchglue::attentionMathWithLogSumExp(const AttentionArgs &A) {
  at::Tensor Key = A.Key, Value = A.Value;
  if (A.EnableGqa) {
    int64_t Rep = A.Query.size(-3) / Key.size(-3);
    Key = Key.repeat_interleave(Rep, -3);
    Value = Value.repeat_interleave(Rep, -3);
  }
  const double Scale = A.Scale.value_or(1.0 / std::sqrt(static_cast<double>(A.Query.size(-1))));
  const double Root = std::sqrt(Scale);
  at::Tensor Attn = at::matmul(A.Query * Root, Key.transpose(-2, -1) * Root);
  const int64_t L = A.Query.size(-2), S = Key.size(-2);
  if (A.Causal) {
    at::Tensor Keep = at::ones({L, S}, at::TensorOptions().dtype(at::kBool)).tril();
    Attn.masked_fill_(Keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (A.Mask) {
    if (A.Mask->scalar_type() == at::kBool)
      Attn.masked_fill_(A.Mask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      Attn = Attn + *A.Mask;
  }
  at::Tensor Lse = at::logsumexp(Attn, {-1});
  Attn = at::softmax(Attn, -1);
  return {at::matmul(Attn, Value), Lse};
}

at::Tensor torchglue::attentionMath(const AttentionArgs &A) { return attentionMathWithLogSumExp(A).first; }
