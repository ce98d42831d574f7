//===- driver/Compile.cpp - a model to a blob, with one set of options ----===//
//
// The provenance keys, in the order the blob records them: source_model,
// source_hash (when known), source_torch_version, shapes, input_shapes,
// accel_only, fuse_elementwise, machine, pad_bytes and the accelerated
// shares of ops, FLOPs and bytes.
//
//===----------------------------------------------------------------------===//
#include "driver/Compile.h"

#include "codegen/KernelEmitter.h"
#include "frontend/Printers.h"
#include "support/Error.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace atalla;
using namespace atalla::driver;

llvm::Expected<lower::PipelineOptions> driver::pipelineOptions(const CompileOptions &O) {
  if (O.Machine.PadBytes < codegen::MinPadBytes)
    return makeError("machine '" + O.Machine.Name + "': scratchpads of " + std::to_string(O.Machine.PadBytes) +
                     " bytes are too small to generate kernels for (at least " +
                     std::to_string(codegen::MinPadBytes) + ")");
  lower::PipelineOptions PO;
  PO.Shapes.InputShapes = O.InputShapes;
  PO.Select.MaxSoftmaxRow = std::min<int64_t>(PO.Select.MaxSoftmaxRow, codegen::maxSoftmaxRow(O.Machine.PadBytes));
  PO.Select.LongSoftmaxRows = codegen::longSoftmaxRows(O.Machine.PadBytes);
  PO.Select.KernelFits = [Pad = O.Machine.PadBytes](const abi::KernelSpec &S) { return codegen::kernelFits(S, Pad); };
  PO.Select.ConvBudgetFloats = codegen::convBudgetFloats(O.Machine.PadBytes);
  PO.Select.MaxNormRow = std::min<int64_t>(PO.Select.MaxNormRow, codegen::maxNormRow(O.Machine.PadBytes));
  PO.Select.FuseElementwise = O.FuseElementwise;
  PO.Select.DirectConv = O.DirectConv;
  PO.Precision.Precision = O.Precision;
  PO.AccelOnly = O.AccelOnly;
  PO.PrintAfterAll = O.PrintAfterAll;
  PO.PassTimes = O.PassTimes;
  return PO;
}

codegen::CodegenOptions driver::codegenOptions(const CompileOptions &O) {
  codegen::CodegenOptions CO;
  CO.TargetCPU = O.TargetCPU;
  CO.Features = O.TargetFeatures;
  CO.OptLevel = O.OptLevel;
  CO.PadBytes = O.Machine.PadBytes;
  return CO;
}

llvm::Expected<lower::Program> driver::lowerForTarget(const frontend::Model &M, const CompileOptions &O) {
  auto PO = pipelineOptions(O);
  if (!PO)
    return PO.takeError();
  return lower::lowerModel(M, *PO);
}

llvm::Expected<Compiled> driver::writeBlob(const frontend::Model &M, const lower::Program &P,
                                           const CompileOptions &O) {
  codegen::BlobOptions BO;
  BO.Codegen = codegenOptions(O);
  if (!O.SourceName.empty())
    BO.Provenance.push_back({"source_model", O.SourceName});
  if (!O.SourceHash.empty())
    BO.Provenance.push_back({"source_hash", O.SourceHash});
  BO.Provenance.push_back({"source_torch_version", M.TorchVersion.empty() ? "unknown" : M.TorchVersion});
  BO.Provenance.push_back({"shapes", "static"});
  std::string Bound;
  for (const auto &[Name, Dims] : O.InputShapes)
    Bound += (Bound.empty() ? "" : ";") + Name + "=" + frontend::formatShape(Dims);
  BO.Provenance.push_back({"input_shapes", Bound});
  BO.Provenance.push_back({"accel_only", O.AccelOnly ? "1" : "0"});
  BO.Provenance.push_back({"fuse_elementwise", O.FuseElementwise ? "1" : "0"});
  BO.Provenance.push_back({"direct_conv", O.DirectConv ? "1" : "0"});
  BO.Provenance.push_back({"machine", O.Machine.Name});
  BO.Provenance.push_back({"pad_bytes", std::to_string(O.Machine.PadBytes)});
  const lower::Coverage C = lower::coverageOf(P.Decisions);
  BO.Provenance.push_back({"accelerated_ops_fraction", llvm::formatv("{0:F6}", C.opsFraction()).str()});
  BO.Provenance.push_back({"accelerated_flops_fraction", llvm::formatv("{0:F6}", C.flopsFraction()).str()});
  BO.Provenance.push_back({"accelerated_bytes_fraction", llvm::formatv("{0:F6}", C.bytesFraction()).str()});
  if (M.HasSampleInputs) {
    bool Match = M.SampleInputs.size() == P.Inputs.size();
    for (size_t I = 0; Match && I < P.Inputs.size(); ++I)
      Match = M.SampleInputs[I].Sizes == P.Tensors[P.Inputs[I]].Sizes &&
              M.SampleInputs[I].Dtype == P.Tensors[P.Inputs[I]].Dtype;
    if (Match) // embedded only when the static shapes are the samples' shapes
      for (const frontend::TensorData &T : M.SampleInputs)
        BO.SampleInputs.push_back(T.contiguousBytes());
  }
  BO.Progress = O.Progress;
  BO.CacheDir = O.CacheDir;
  BO.Jobs = O.Jobs;
  Compiled R;
  auto Blob = codegen::writeBlob(P, BO, &R.Stats);
  if (!Blob)
    return Blob.takeError();
  R.Blob = std::move(*Blob);
  return R;
}

llvm::Expected<Compiled> driver::compileModel(const frontend::Model &M, const CompileOptions &O) {
  auto P = lowerForTarget(M, O);
  if (!P)
    return P.takeError();
  return writeBlob(M, *P, O);
}
