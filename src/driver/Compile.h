//===- driver/Compile.h - a model to a blob, with one set of options -*- C++ -*-===//
//
// The wiring every caller of the compiler needs, once: the lowering limits
// that follow from the target machine (its scratchpads bound softmax and
// norm rows), the code generator's options, the provenance a blob records,
// and the sample inputs it embeds. atalla-gen, the program fuzzer, the model
// benchmark and the tests all compile through here, so they compile alike.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_DRIVER_COMPILE_H
#define ATALLA_DRIVER_COMPILE_H

#include "codegen/BlobWriter.h"
#include "frontend/Graph.h"
#include "lower/Pipeline.h"
#include "lower/Program.h"
#include "runtime/abi/Kernels.h"
#include "target/Machine.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace atalla::driver {

struct CompileOptions {
  target::MachineDesc Machine;             ///< what the kernels are tiled for (default atalla-rtl)
  abi::DType Precision = abi::DType::F32;  ///< F32, or BF16 storage
  bool AccelOnly = false;                  ///< any fallback is an error listing the ops
  bool FuseElementwise = true;             ///< elementwise chains become one kernel
  bool DirectConv = true;                  ///< convolutions as conv2d kernels (no im2col copy)
  /// --input-shape: static sizes for the user inputs, by name.
  std::map<std::string, std::vector<int64_t>> InputShapes;
  std::string TargetCPU;                   ///< host CPU when empty
  std::string TargetFeatures;              ///< "+f,-g": the host's (or the CPU's) when empty
  unsigned OptLevel = 3;
  llvm::raw_ostream *PrintAfterAll = nullptr;                ///< dump after every lowering pass
  std::vector<std::pair<std::string, double>> *PassTimes = nullptr; ///< ms per lowering pass
  std::function<void(unsigned, unsigned)> Progress;          ///< kernels compiled (done, total)
  std::string CacheDir;   ///< the persistent kernel cache (codegen/KernelCache.h); "" = none
  unsigned Jobs = 0;      ///< threads compiling kernels; 0 = one per core
  /// The provenance's source_model and source_hash (the archive's file name
  /// and FNV-1a hash); empty: not recorded.
  std::string SourceName, SourceHash;
};

/// The lowering pipeline's options for \p O: the machine's scratchpads
/// bound softmax and norm rows. Fails when the pads are too small for any
/// kernel.
llvm::Expected<lower::PipelineOptions> pipelineOptions(const CompileOptions &O);

/// The code generator's options for \p O.
codegen::CodegenOptions codegenOptions(const CompileOptions &O);

/// \p M lowered for \p O's machine.
llvm::Expected<lower::Program> lowerForTarget(const frontend::Model &M, const CompileOptions &O);

struct Compiled {
  std::vector<uint8_t> Blob;
  codegen::BlobStats Stats;
};

/// The blob of \p P (lowered from \p M with \p O): kernels compiled, the
/// provenance recorded, \p M's sample inputs embedded when the static shapes
/// are theirs. The same inputs give the same bytes.
llvm::Expected<Compiled> writeBlob(const frontend::Model &M, const lower::Program &P, const CompileOptions &O);

/// lowerForTarget then writeBlob.
llvm::Expected<Compiled> compileModel(const frontend::Model &M, const CompileOptions &O);

} // namespace atalla::driver

#endif // ATALLA_DRIVER_COMPILE_H
