//===- runtime/fallback/TorchGlue.h - LibTorch glue for fallback and oracle -*- C++ -*-===//
//
// What the ATen fallback (AtenFallback.cpp) and the eager oracle
// (reference/EagerInterpreter.cpp) both need from LibTorch 1.13 to run a
// torch 2.x graph, written once: the export schema's dtype, layout and
// memory-format numbers as c10's, and scaled_dot_product_attention (torch
// 2.x; 1.13 lacks it) as torch's math reference computes it. Each side keeps its own matching
// of arguments to schemas (the blob's encoded arguments and the graph's
// named ones), so the oracle's reading of a graph stays independent of the
// lowering's. Includes LibTorch: for the two LibTorch files only, and not
// installed.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_FALLBACK_TORCHGLUE_H
#define ATALLA_RUNTIME_FALLBACK_TORCHGLUE_H

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>

namespace atalla::torchglue {

/// The export schema's dtype number (runtime/abi/DTypes.def) as c10's, and
/// back; nothing for a dtype LibTorch 1.13 or the schema lacks.
std::optional<c10::ScalarType> c10ScalarType(int64_t SchemaDType);
std::optional<int64_t> schemaDType(c10::ScalarType T);

/// The export schema's Layout and MemoryFormat numbers
/// (runtime/abi/SchemaEnums.h) as c10's; nothing for an unknown number.
std::optional<int64_t> c10Layout(int64_t SchemaLayout);
std::optional<int64_t> c10MemoryFormat(int64_t SchemaMemoryFormat);

/// aten::scaled_dot_product_attention's arguments (dropout refused by the
/// callers: it is not deterministic).
struct AttentionArgs {
  at::Tensor Query, Key, Value;
  std::optional<at::Tensor> Mask; ///< bool (keep where true) or additive
  bool Causal = false;
  std::optional<double> Scale; ///< default 1 / sqrt(E)
  bool EnableGqa = false;      ///< key and value heads repeated to the query's
};

/// As torch's _scaled_dot_product_attention_math computes it: q and k each
/// scaled by sqrt(scale), the causal and given masks as -inf (bool) or
/// added, softmax over the keys, times v.
at::Tensor attentionMath(const AttentionArgs &A);
/// The same, and the log-sum-exp of each row of the masked, scaled scores
/// over the keys ([..., L]): what torch >= 2.2's
/// _scaled_dot_product_flash_attention_for_cpu returns beside the output.
std::pair<at::Tensor, at::Tensor> attentionMathWithLogSumExp(const AttentionArgs &A);

} // namespace atalla::torchglue

#endif // ATALLA_RUNTIME_FALLBACK_TORCHGLUE_H
