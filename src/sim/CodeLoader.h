//===- sim/CodeLoader.h - link the blob's code with LLVM ORC ----*- C++ -*-===//
//
// Links the relocatable objects of a blob's code section in memory with ORC
// (LLJIT over JITLink), resolving only the firmware services: no process
// symbols, no libc, no libm. An object that needs anything else is refused
// at lookup with the missing symbol's name.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SIM_CODELOADER_H
#define ATALLA_SIM_CODELOADER_H

#include "runtime/abi/KernelAbi.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace atalla::sim {

/// Whether this process may run AMX tile code: the host has AMX and the OS
/// granted the tile state (requested once, on first call; CodeLoader::create
/// asks before linking any kernel).
bool amxTileStateGranted();

class CodeLoader {
public:
  static llvm::Expected<std::unique_ptr<CodeLoader>> create();
  ~CodeLoader();

  /// Adds one relocatable object (copied); \p Name is used in messages.
  llvm::Error addObject(llvm::ArrayRef<uint8_t> Object, llvm::StringRef Name);
  /// The address of a kernel; links its object on first use. An error names
  /// every symbol the object needs that the firmware does not provide.
  llvm::Expected<abi::KernelFn> lookup(llvm::StringRef Symbol);

private:
  CodeLoader();
  struct Impl;
  std::unique_ptr<Impl> P;
};

} // namespace atalla::sim

#endif // ATALLA_SIM_CODELOADER_H
