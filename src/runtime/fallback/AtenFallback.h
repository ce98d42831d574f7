//===- runtime/fallback/AtenFallback.h - fallback calls via LibTorch -*- C++ -*-===//
//
// Runs a blob's fallback calls through LibTorch's dispatcher: the schema
// found by name and overload, the stack built by walking its arguments and
// matching the blob's FallbackArgs by name (absent ones take the schema's
// default), the op called boxed, the returned tensors copied back as
// contiguous HostTensors. A few torch 2.x ops that LibTorch 1.13 lacks or
// treats differently are done here, as the eager oracle does them. This
// header is LibTorch-free; only AtenFallback.cpp includes ATen.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_FALLBACK_ATENFALLBACK_H
#define ATALLA_RUNTIME_FALLBACK_ATENFALLBACK_H

#include "runtime/Executor.h"

namespace atalla::runtime {

class AtenFallback : public FallbackHandler {
public:
  /// Sets LibTorch to one intra-op thread, so results are deterministic.
  AtenFallback();
  ~AtenFallback() override;

  llvm::Expected<std::vector<HostTensor>> call(const Blob &B, uint32_t CallIndex, const std::vector<HostTensor> &Inputs,
                                               const std::vector<const abi::TensorRecord *> &OutputRecords) override;
};

/// The LibTorch version the fallback runs ("1.13.1").
std::string atenVersion();

} // namespace atalla::runtime

#endif // ATALLA_RUNTIME_FALLBACK_ATENFALLBACK_H
