//===- tests/IrTestSupport.h - hand-written IR to kernel objects -*- C++ -*-===//
//
// The loader's and the executor's tests need kernel objects without the
// code generator: this compiles LLVM IR text for the host as the code
// generator's object emission would (PIC, host CPU). A bad IR fails the test.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_IRTESTSUPPORT_H
#define ATALLA_TESTS_IRTESTSUPPORT_H

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace atalla::test {

/// Declarations of the four firmware services (runtime/abi/KernelAbi.h).
inline const char *FirmwareDeclsIR = R"(
declare ptr @atalla_scpad_alloc(ptr, i64, i64, ptr)
declare void @atalla_scpad_free(ptr, ptr, i32)
declare i32 @atalla_sdma_load(ptr, ptr, i64, i32, i32, i64)
declare i32 @atalla_sdma_store(ptr, i64, ptr, i32, i32, i64)
)";

/// IR text -> a relocatable object for the host.
inline std::vector<uint8_t> compileIR(const std::string &IR) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext Ctx;
  llvm::SMDiagnostic Diag;
  std::unique_ptr<llvm::Module> M = llvm::parseAssemblyString(IR, Diag, Ctx);
  if (!M) {
    std::string Msg;
    llvm::raw_string_ostream OS(Msg);
    Diag.print("test", OS);
    ADD_FAILURE() << "bad IR: " << OS.str();
    return {};
  }
  std::string Triple = llvm::sys::getDefaultTargetTriple();
  std::string Err;
  const llvm::Target *T = llvm::TargetRegistry::lookupTarget(Triple, Err);
  if (!T) {
    ADD_FAILURE() << Err;
    return {};
  }
  std::unique_ptr<llvm::TargetMachine> TM(T->createTargetMachine(
      Triple, llvm::sys::getHostCPUName(), "", llvm::TargetOptions(), llvm::Reloc::PIC_));
  M->setTargetTriple(Triple);
  M->setDataLayout(TM->createDataLayout());
  llvm::SmallVector<char, 0> Obj;
  llvm::raw_svector_ostream OS(Obj);
  llvm::legacy::PassManager PM;
  if (TM->addPassesToEmitFile(PM, OS, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    ADD_FAILURE() << "target cannot emit objects";
    return {};
  }
  PM.run(*M);
  return std::vector<uint8_t>(Obj.begin(), Obj.end());
}

} // namespace atalla::test

#endif // ATALLA_TESTS_IRTESTSUPPORT_H
