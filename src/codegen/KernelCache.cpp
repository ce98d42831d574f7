//===- codegen/KernelCache.cpp - compiled kernels kept between runs -------===//
//
// An entry: "ATKC1\n", then the key, the symbol and the object, each as a
// little-endian u64 length and its bytes, then the FNV-1a 64 of everything
// before it. The file is named after the key's hash.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelCache.h"
#include "codegen/BlobWriter.h"
#include "codegen/CodegenHash.h"
#include "runtime/abi/KernelSpec.h"
#include "support/Error.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>

using namespace atalla;
using namespace atalla::codegen;

namespace {

constexpr char Magic[] = "ATKC1\n";
constexpr size_t MagicLen = sizeof(Magic) - 1;

void putU64(std::string &S, uint64_t V) {
  for (int I = 0; I < 8; ++I)
    S += char((V >> (8 * I)) & 0xff);
}

bool getU64(llvm::StringRef &S, uint64_t &V) {
  if (S.size() < 8)
    return false;
  V = 0;
  for (int I = 0; I < 8; ++I)
    V |= uint64_t(uint8_t(S[I])) << (8 * I);
  S = S.drop_front(8);
  return true;
}

bool getBytes(llvm::StringRef &S, llvm::StringRef &Out) {
  uint64_t N = 0;
  if (!getU64(S, N) || N > S.size())
    return false;
  Out = S.take_front(N);
  S = S.drop_front(N);
  return true;
}

std::string entryPath(llvm::StringRef Dir, const std::string &Key) {
  llvm::SmallString<256> P(Dir);
  llvm::sys::path::append(P, llvm::formatv("{0:x-16}.atkc", abi::fnv1a64(Key.data(), Key.size())).str());
  return std::string(P);
}

} // namespace

std::string atalla::codegen::kernelCacheKey(const abi::KernelSpec &Spec, const CodegenOptions &Opts) {
  std::string K;
  llvm::raw_string_ostream OS(K);
  OS << compilerVersion() << "\ncodegen " << ATALLA_CODEGEN_HASH << "\nLLVM " << LLVM_VERSION_STRING << "\n"
     << targetTriple() << "\ncpu " << resolvedCPU(Opts) << "\nfeatures " << resolvedFeatures(Opts) << "\nopt "
     << Opts.OptLevel << "\npad " << Opts.PadBytes << "\nisa " << int(Opts.Isa) << "\nspec " << Spec.key() << "\n";
  return K;
}

std::optional<CompiledKernel> atalla::codegen::readCachedKernel(llvm::StringRef Dir, const std::string &Key) {
  if (Dir.empty())
    return std::nullopt;
  auto Buf = llvm::MemoryBuffer::getFile(entryPath(Dir, Key), /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!Buf)
    return std::nullopt;
  llvm::StringRef S = (*Buf)->getBuffer();
  if (S.size() < MagicLen + 8 || !S.starts_with(llvm::StringRef(Magic, MagicLen)))
    return std::nullopt;
  llvm::StringRef Body = S.drop_back(8), Tail = S.take_back(8);
  uint64_t Sum = 0;
  if (!getU64(Tail, Sum) || Sum != abi::fnv1a64(Body.data(), Body.size()))
    return std::nullopt;
  Body = Body.drop_front(MagicLen);
  llvm::StringRef StoredKey, Symbol, Object;
  if (!getBytes(Body, StoredKey) || !getBytes(Body, Symbol) || !getBytes(Body, Object) || !Body.empty() ||
      StoredKey != Key || Object.empty())
    return std::nullopt;
  CompiledKernel C;
  C.Symbol = Symbol.str();
  C.Object.assign(Object.bytes_begin(), Object.bytes_end());
  return C;
}

llvm::Error atalla::codegen::writeCachedKernel(llvm::StringRef Dir, const std::string &Key, const CompiledKernel &C) {
  if (std::error_code EC = llvm::sys::fs::create_directories(Dir))
    return makeError(Dir + ": cannot create the kernel cache: " + EC.message());
  std::string S(Magic, MagicLen);
  for (llvm::StringRef Part : {llvm::StringRef(Key), llvm::StringRef(C.Symbol),
                               llvm::StringRef(reinterpret_cast<const char *>(C.Object.data()), C.Object.size())}) {
    putU64(S, Part.size());
    S += Part.str();
  }
  putU64(S, abi::fnv1a64(S.data(), S.size()));
  const std::string Final = entryPath(Dir, Key);
  llvm::SmallString<256> Tmp;
  int FD = -1;
  if (std::error_code EC = llvm::sys::fs::createUniqueFile(Final + ".tmp-%%%%%%%%", FD, Tmp))
    return makeError(Final + ": cannot write the kernel cache: " + EC.message());
  {
    llvm::raw_fd_ostream OS(FD, /*shouldClose=*/true);
    OS << S;
    OS.close();
    if (OS.has_error()) {
      OS.clear_error();
      llvm::sys::fs::remove(Tmp);
      return makeError(Final + ": cannot write the kernel cache");
    }
  }
  if (std::error_code EC = llvm::sys::fs::rename(Tmp, Final)) {
    llvm::sys::fs::remove(Tmp);
    return makeError(Final + ": cannot write the kernel cache: " + EC.message());
  }
  return llvm::Error::success();
}

std::string atalla::codegen::defaultKernelCacheDir() {
  if (const char *D = std::getenv("ATALLA_CACHE_DIR"))
    return D;
  llvm::SmallString<256> P;
  if (const char *X = std::getenv("XDG_CACHE_HOME"); X && *X)
    P = X;
  else if (const char *H = std::getenv("HOME"); H && *H) {
    P = H;
    llvm::sys::path::append(P, ".cache");
  } else {
    return "";
  }
  llvm::sys::path::append(P, "atalla-gen", "kernels");
  return std::string(P);
}
