//===- tools/atalla-run.cpp - run a blob on the simulated device ----------===//
//
// atalla-run model.atb: places the blob in the simulated device's DRAM,
// links its code with the ORC loader and runs the program, ops without a
// device kernel falling back to LibTorch. --check model.pt2 runs the eager
// oracle on the same inputs and compares (exit 1 on mismatch).
//
//===----------------------------------------------------------------------===//
#include "frontend/Archive.h"
#include "frontend/Error.h"
#include "frontend/Printers.h"
#include "reference/EagerInterpreter.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/fallback/AtenFallback.h"
#include "tools/ToolSupport.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace atalla;
using namespace llvm;

static cl::OptionCategory Cat("atalla-run options");
static cl::opt<std::string> BlobPath(cl::Positional, cl::desc("<model.atb>"), cl::Required, cl::cat(Cat));
static cl::opt<std::string> Inputs("inputs", cl::desc("sample (embedded in the blob, default) or random"),
                                   cl::init("sample"), cl::cat(Cat));
static cl::list<std::string> InputFiles("input", cl::desc("Raw little-endian input file, once per input"),
                                        cl::value_desc("FILE"), cl::cat(Cat));
static cl::opt<uint64_t> Seed("seed", cl::desc("Seed for --inputs random"), cl::init(0), cl::cat(Cat));
static cl::opt<unsigned> Runs("runs", cl::desc("Run the program this many times"), cl::init(1), cl::cat(Cat));
static cl::opt<bool> Trace("trace", cl::desc("Print one line per executed op"), cl::cat(Cat));
static cl::opt<std::string> Check("check", cl::desc("Compare with the eager LibTorch oracle of this .pt2"),
                                  cl::value_desc("model.pt2"), cl::cat(Cat));
static cl::opt<double> Rtol("rtol", cl::desc("--check: allowed normalised error max|d| / max|ref| (default 1e-5)"),
                            cl::init(1e-5), cl::cat(Cat));
static cl::opt<std::string> OutputDir("output-dir", cl::desc("Write out<i>.bin and outputs.json here"),
                                      cl::value_desc("DIR"), cl::cat(Cat));
static cl::opt<unsigned> Pads("scratchpads", cl::desc("Number of scratchpads (default 2)"), cl::init(2), cl::cat(Cat));
static cl::opt<uint64_t> PadKiB("scratchpad-kib", cl::desc("Scratchpad size in KiB (default 1024)"), cl::init(1024),
                                cl::cat(Cat));

static int fail(Error E) {
  tools::reportError("atalla-run", std::move(E));
  return 1;
}

static frontend::TensorData toTensorData(const runtime::HostTensor &H) {
  auto T = frontend::scalarTypeFromSchema(H.DType).value_or(frontend::ScalarType::Float32);
  return frontend::TensorData::fromBytes(T, H.Sizes, H.Bytes);
}

static runtime::HostTensor toHost(const frontend::TensorData &T) {
  runtime::HostTensor H;
  H.DType = static_cast<uint32_t>(T.Dtype);
  H.Sizes = T.Sizes;
  H.Bytes = T.contiguousBytes();
  return H;
}

static std::string shapeText(const std::vector<int64_t> &S) { return frontend::formatShape(S); }

static std::string traceLine(const runtime::TraceEvent &E) {
  std::string S = E.IsFallback ? "[FALLBACK] " + E.Op : "[ATALLA] " + E.Op;
  if (E.Op == "gemm" && E.InputShapes.size() >= 2)
    return S + " " + shapeText(E.InputShapes[0]) + " @ " + shapeText(E.InputShapes[1]) + "  (" + E.Node + ")";
  for (size_t I = 0; I < E.InputShapes.size(); ++I)
    S += (I ? ", " : " ") + shapeText(E.InputShapes[I]);
  return S + "  (" + E.Node + ")";
}

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  cl::ParseCommandLineOptions(argc, argv,
                              "atalla-run: run an Atalla blob (.atb) on the simulated device\n\n"
                              "  atalla-run model.atb --trace\n"
                              "  atalla-run model.atb --inputs random --seed 1 --check model.pt2\n");
  if (Inputs != "sample" && Inputs != "random") {
    errs() << "atalla-run: error: --inputs must be 'sample' or 'random', got '" << Inputs << "'\n";
    return 2;
  }
  if (Runs < 1) {
    errs() << "atalla-run: error: --runs must be at least 1\n";
    return 2;
  }
  auto B = runtime::Blob::readFile(BlobPath);
  if (!B)
    return fail(B.takeError());
  // Inputs: files, random, or the samples embedded in the blob.
  std::vector<runtime::HostTensor> In;
  llvm::ArrayRef<uint32_t> InIdx = B->inputs();
  if (!InputFiles.empty()) {
    if (InputFiles.size() != InIdx.size())
      return fail(frontend::makeError(BlobPath + ": the program takes " + std::to_string(InIdx.size()) +
                                      " input(s), " + std::to_string(InputFiles.size()) + " --input file(s) given"));
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B->tensors()[InIdx[I]];
      runtime::HostTensor H;
      H.DType = R.DType;
      H.Sizes.assign(R.Sizes, R.Sizes + R.Rank);
      uint64_t Want = runtime::recordNumel(R) * runtime::dtypeElementSize(R.DType);
      auto Buf = MemoryBuffer::getFile(InputFiles[I], false, false);
      if (!Buf)
        return fail(frontend::makeError(InputFiles[I] + ": cannot read: " + Buf.getError().message()));
      if ((*Buf)->getBufferSize() != Want)
        return fail(frontend::makeError(InputFiles[I] + ": expected " + std::to_string(Want) + " bytes for input '" +
                                        B->tensorName(InIdx[I]).str() + "' (" + runtime::dtypeName(R.DType) + " " +
                                        runtime::formatShape(H.Sizes) + "), got " +
                                        std::to_string((*Buf)->getBufferSize())));
      H.Bytes.assign((*Buf)->getBufferStart(), (*Buf)->getBufferEnd());
      In.push_back(std::move(H));
    }
  } else if (Inputs == "random") {
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B->tensors()[InIdx[I]];
      auto T = frontend::scalarTypeFromSchema(R.DType);
      if (!T)
        return fail(frontend::makeError(BlobPath + ": input dtype " + std::to_string(R.DType)));
      In.push_back(toHost(tools::randomTensor(*T, std::vector<int64_t>(R.Sizes, R.Sizes + R.Rank), Seed + I)));
    }
  } else {
    llvm::ArrayRef<uint8_t> S = B->section(abi::SectionKind::SampleInputs);
    if (S.empty() && !InIdx.empty())
      return fail(frontend::makeError(BlobPath + ": the blob has no sample inputs (the archive had none, or "
                                                 "--input-shape changed their shapes); use --inputs random or --input FILE"));
    uint64_t Off = 0;
    for (size_t I = 0; I < InIdx.size(); ++I) {
      const abi::TensorRecord &R = B->tensors()[InIdx[I]];
      uint64_t Bytes = runtime::recordNumel(R) * runtime::dtypeElementSize(R.DType);
      Off = (Off + abi::BlobAlignment - 1) / abi::BlobAlignment * abi::BlobAlignment;
      if (Off + Bytes > S.size())
        return fail(frontend::makeError(BlobPath + ": sample inputs section is shorter than the inputs"));
      runtime::HostTensor H;
      H.DType = R.DType;
      H.Sizes.assign(R.Sizes, R.Sizes + R.Rank);
      H.Bytes.assign(S.begin() + Off, S.begin() + Off + Bytes);
      In.push_back(std::move(H));
      Off += Bytes;
    }
  }
  sim::DeviceConfig Config;
  Config.NumPads = Pads;
  Config.PadBytes = PadKiB * 1024;
  runtime::AtenFallback Fallback;
  auto X = runtime::Executor::create(*B, Config, &Fallback);
  if (!X)
    return fail(X.takeError());
  std::string Compiler = B->provenance("compiler").value_or("?");
  outs() << "--- RUNTIME EXECUTION (" << B->instructions().size() << " instructions, " << B->kernels().size()
         << " kernels, DRAM " << B->dramBytes() << " bytes, " << Pads << " scratchpads x " << PadKiB
         << " KiB; built by " << Compiler << ") ---\n";
  if (Trace)
    (*X)->setTrace([](const runtime::TraceEvent &E) { outs() << traceLine(E) << "\n"; });
  std::vector<runtime::HostTensor> Out;
  for (unsigned R = 0; R < Runs; ++R) {
    auto Res = (*X)->run(In);
    if (!Res)
      return fail(Res.takeError());
    Out = std::move(*Res);
    for (size_t I = 0; I < Out.size(); ++I)
      tools::printTensorLine(outs(), "run " + std::to_string(R + 1) + ": output " + std::to_string(I) + " '" +
                                         B->tensorName(B->outputs()[I]).str() + "'",
                             toTensorData(Out[I]));
  }
  if (!OutputDir.empty()) {
    std::vector<std::string> Names;
    std::vector<frontend::TensorData> Data;
    for (size_t I = 0; I < Out.size(); ++I) {
      Names.push_back(B->tensorName(B->outputs()[I]).str());
      Data.push_back(toTensorData(Out[I]));
    }
    if (Error E = tools::writeOutputs(OutputDir, Names, Data))
      return fail(std::move(E));
  }
  if (Check.empty())
    return 0;
  // The oracle on the same inputs.
  auto M = frontend::readModel(Check);
  if (!M)
    return fail(M.takeError());
  auto Interp = reference::EagerInterpreter::create(*M);
  if (!Interp)
    return fail(Interp.takeError());
  std::vector<frontend::TensorData> EIn;
  for (const runtime::HostTensor &H : In)
    EIn.push_back(toTensorData(H));
  auto Ref = (*Interp)->run(EIn);
  if (!Ref)
    return fail(Ref.takeError());
  if (Ref->size() != Out.size())
    return fail(frontend::makeError("--check: the blob has " + std::to_string(Out.size()) + " outputs, " + Check +
                                    " has " + std::to_string(Ref->size())));
  bool Ok = true;
  outs() << "--- CHECK against eager LibTorch " << reference::libtorchVersion() << " ---\n";
  for (size_t I = 0; I < Out.size(); ++I) {
    frontend::TensorData G = toTensorData(Out[I]);
    const frontend::TensorData &R = (*Ref)[I];
    if (G.Sizes != R.Sizes || G.Dtype != R.Dtype) {
      outs() << "output " << I << ": shape/dtype differ: " << frontend::scalarTypeName(G.Dtype)
             << frontend::formatShape(G.Sizes) << " vs " << frontend::scalarTypeName(R.Dtype)
             << frontend::formatShape(R.Sizes) << "\n";
      Ok = false;
      continue;
    }
    std::vector<uint8_t> GB = G.contiguousBytes(), RB = R.contiguousBytes();
    if (G.Dtype != frontend::ScalarType::Float32) {
      size_t Diff = 0;
      int64_t Item = frontend::elementSize(G.Dtype);
      for (size_t K = 0; K + Item <= GB.size(); K += Item)
        Diff += std::memcmp(&GB[K], &RB[K], Item) != 0;
      outs() << "output " << I << ": " << Diff << " of " << G.numel() << " elements differ (exact compare)\n";
      Ok &= Diff == 0;
      continue;
    }
    double MaxAbs = 0, MaxRel = 0, MaxRef = 0;
    bool NaNMismatch = false;
    for (size_t K = 0; K + 4 <= GB.size(); K += 4) {
      float A, E;
      std::memcpy(&A, &GB[K], 4);
      std::memcpy(&E, &RB[K], 4);
      if (std::isnan(A) || std::isnan(E)) {
        NaNMismatch |= std::isnan(A) != std::isnan(E);
        continue;
      }
      if (std::isinf(A) || std::isinf(E)) {
        NaNMismatch |= A != E;
        continue;
      }
      double D = std::fabs(static_cast<double>(A) - E);
      MaxAbs = std::max(MaxAbs, D);
      MaxRef = std::max(MaxRef, std::fabs(static_cast<double>(E)));
      if (std::fabs(E) > 1e-30)
        MaxRel = std::max(MaxRel, D / std::fabs(E));
    }
    double Norm = MaxRef > 0 ? MaxAbs / MaxRef : MaxAbs;
    bool Pass = !NaNMismatch && Norm <= Rtol;
    outs() << format("output %zu: max abs err %.3g, max rel err %.3g, normalised err %.3g (max|ref| %.3g) %s\n", I,
                     MaxAbs, MaxRel, Norm, MaxRef, Pass ? "OK" : "MISMATCH");
    Ok &= Pass;
  }
  if (!Ok) {
    errs() << "atalla-run: error: " << BlobPath << ": outputs differ from eager " << Check << "\n";
    return 1;
  }
  return 0;
}
