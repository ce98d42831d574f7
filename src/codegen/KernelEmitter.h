//===- codegen/KernelEmitter.h - kernel specialisations to objects -*- C++ -*-===//
//
// The code generator's entry points: LLVM IR for one kernel specialisation
// (every size and stride a constant, ABI as runtime/abi/KernelAbi.h), the
// optimisation pipeline, and a relocatable object for the blob's code
// section. Objects reference the four firmware services and nothing else.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_CODEGEN_KERNELEMITTER_H
#define ATALLA_CODEGEN_KERNELEMITTER_H

#include "runtime/abi/KernelSpec.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atalla::codegen {

struct CodegenOptions {
  std::string TargetCPU; ///< "" = the host CPU (sys::getHostCPUName)
  std::string Features;  ///< "" = the host CPU's features
  unsigned OptLevel = 3; ///< 0..3
};

struct CompiledKernel {
  std::string Symbol;
  std::vector<uint8_t> Object; ///< relocatable ELF for the host triple
  double IrMs = 0, OptMs = 0, CodegenMs = 0;
};

/// The IR module for one specialisation: one function named Spec.symbol(),
/// verified. Errors name the spec's key.
llvm::Expected<std::unique_ptr<llvm::Module>> emitKernelModule(const abi::KernelSpec &Spec,
                                                               llvm::LLVMContext &Ctx);

/// Emits, optimises (new pass manager, O-level from the options) and compiles
/// to an object for the target. Same spec and options -> same bytes.
llvm::Expected<CompiledKernel> compileKernel(const abi::KernelSpec &Spec,
                                             const CodegenOptions &Opts);

/// Textual IR (Assembly = false) or assembly after optimisation.
llvm::Expected<std::string> kernelText(const abi::KernelSpec &Spec, const CodegenOptions &Opts,
                                       bool Assembly);

/// The triple and CPU/features actually used (recorded in blob provenance).
std::string targetTriple();
std::string resolvedCPU(const CodegenOptions &Opts);
std::string resolvedFeatures(const CodegenOptions &Opts);

} // namespace atalla::codegen

#endif // ATALLA_CODEGEN_KERNELEMITTER_H
