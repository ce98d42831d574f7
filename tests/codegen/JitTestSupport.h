//===- tests/codegen/JitTestSupport.h - objects linked with ORC in tests -*- C++ -*-===//
//
// Linking the code generator's objects in a test process: an LLJIT that
// resolves no process symbol (only the ones a test gives it), a typed
// lookup after adding an object, and the undefined symbols an object
// needs. Shared by the kernel tests (with a fake device's firmware) and the
// inline-math tests (with nothing).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_CODEGEN_JITTESTSUPPORT_H
#define ATALLA_TESTS_CODEGEN_JITTESTSUPPORT_H

#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace atalla::test {

/// An LLJIT that links process symbols by default never and defines only
/// \p Symbols (name, address).
inline llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
makeJit(const std::vector<std::pair<const char *, void *>> &Symbols = {}) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto J = llvm::orc::LLJITBuilder()
               .setLinkProcessSymbolsByDefault(false)
               .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
               .create();
  if (!J)
    return J.takeError();
  llvm::orc::SymbolMap Syms;
  for (const auto &[Name, Addr] : Symbols)
    Syms[(*J)->mangleAndIntern(Name)] = {llvm::orc::ExecutorAddr::fromPtr(Addr),
                                         llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  if (!Syms.empty())
    if (llvm::Error E = (*J)->getMainJITDylib().define(llvm::orc::absoluteSymbols(Syms)))
      return E;
  return J;
}

/// Adds \p Object to \p J and looks up \p Symbol as a function of type FnT.
template <typename FnT>
llvm::Expected<FnT> linkObject(llvm::orc::LLJIT &J, const std::vector<uint8_t> &Object, llvm::StringRef Symbol) {
  auto Buf = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(Object.data()), Object.size()), Symbol);
  if (llvm::Error E = J.addObjectFile(std::move(Buf)))
    return E;
  auto Addr = J.lookup(Symbol);
  if (!Addr)
    return Addr.takeError();
  return Addr->toPtr<FnT>();
}

/// Undefined symbols an object references.
inline std::set<std::string> undefinedSymbols(const std::vector<uint8_t> &Object) {
  std::set<std::string> Out;
  auto Obj = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(
      llvm::StringRef(reinterpret_cast<const char *>(Object.data()), Object.size()), "obj"));
  if (!Obj) {
    Out.insert("<unreadable: " + llvm::toString(Obj.takeError()) + ">");
    return Out;
  }
  for (const auto &S : (*Obj)->symbols()) {
    auto Flags = S.getFlags();
    auto Name = S.getName();
    if (!Flags || !Name) {
      llvm::consumeError(Flags.takeError());
      llvm::consumeError(Name.takeError());
      continue;
    }
    if ((*Flags & llvm::object::SymbolRef::SF_Undefined) && !Name->empty())
      Out.insert(Name->str());
  }
  return Out;
}

} // namespace atalla::test

#endif // ATALLA_TESTS_CODEGEN_JITTESTSUPPORT_H
