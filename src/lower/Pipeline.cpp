//===- lower/Pipeline.cpp - the passes, in order --------------------------===//
#include "lower/Pipeline.h"

#include "frontend/Error.h"

#include "llvm/ADT/StringExtras.h"

#include <chrono>
#include <functional>

using namespace atalla;
using namespace atalla::lower;

llvm::Error atalla::lower::setPrecision(LoweringState &S, const PrecisionOptions &Opts) {
  if (Opts.Precision != abi::DType::F32 && Opts.Precision != abi::DType::BF16)
    return frontend::makeError(S.M->Path + ": precision must be f32 or bf16");
  S.P.Precision = Opts.Precision;
  for (PInstr &I : S.P.Instrs)
    if (I.Op == abi::Opcode::Kernel)
      I.Spec.Type = Opts.Precision;
  return llvm::Error::success();
}

llvm::Expected<Program> atalla::lower::lowerModel(const frontend::Model &M, const PipelineOptions &Opts) {
  LoweringState S;
  S.M = &M;
  S.Nodes = M.G.Nodes;
  struct Pass {
    const char *Name;
    std::function<llvm::Error()> Run;
  };
  Pass Passes[] = {
      {"canonicalize", [&] { return canonicalize(S); }},
      {"specialize-shapes", [&] { return specializeShapes(S, Opts.Shapes); }},
      {"fuse-batch-norm", [&] { return markBatchNormFolding(S); }},
      {"fuse-residuals", [&] { return markResiduals(S); }},
      {"fuse-epilogues", [&] { return markEpilogues(S); }},
      {"fuse-elementwise", [&] { return markElementwiseChains(S, {Opts.Select.FuseElementwise}); }},
      {"fuse-channel-gates", [&] { return markChannelGates(S); }},
      {"fuse-cat", [&] { return markCatSlots(S); }},
      {"select-kernels", [&] { return selectKernels(S, Opts.Select); }},
      {"partition", [&] { return partition(S); }},
      {"set-precision", [&] { return setPrecision(S, Opts.Precision); }},
      {"plan-memory", [&] { return planMemory(S, Opts.Memory); }},
  };
  for (Pass &Ps : Passes) {
    auto T0 = std::chrono::steady_clock::now();
    if (llvm::Error E = Ps.Run())
      return E;
    double Ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - T0).count();
    if (Opts.PassTimes)
      Opts.PassTimes->push_back({Ps.Name, Ms});
    if (Opts.PrintAfterAll) {
      *Opts.PrintAfterAll << "*** IR after " << Ps.Name << " ***\n";
      S.print(*Opts.PrintAfterAll);
    }
  }
  if (Opts.AccelOnly) {
    std::vector<std::string> Fallbacks;
    for (const NodeDecision &D : S.P.Decisions)
      if (D.K == NodeDecision::Fallback)
        Fallbacks.push_back(D.Node + " (" + D.Target + ": " + D.Reason + ")");
    if (!Fallbacks.empty())
      return frontend::makeError(M.Path + ": --accel-only: " + std::to_string(Fallbacks.size()) +
                                 " op(s) would fall back: " + llvm::join(Fallbacks, "; "));
  }
  return std::move(S.P);
}
