//===- sim/CodeLoader.cpp - link the blob's code with LLVM ORC ------------===//
//
// LLJIT with the inactive platform and no process-symbol generator, so the
// only names an object can resolve are the firmware's absolute symbols and
// those of the other objects added. ORC reports a link failure to the
// session's error reporter and answers the lookup only with "failed to
// materialize"; we keep the reported errors and also read each object's
// symbol table ourselves, so a refusal can name the object and the symbol.
//
//===----------------------------------------------------------------------===//
#include "sim/CodeLoader.h"
#include "support/Error.h"
#include "sim/Device.h"

#include "llvm/ExecutionEngine/JITLink/JITLink.h"
#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

using namespace llvm;
using namespace atalla;
using namespace atalla::sim;

namespace {

/// What we learnt from an object's symbol table when it was added.
struct ObjectInfo {
  std::string Name;
  std::set<std::string> Defined;   ///< global definitions
  std::set<std::string> Undefined; ///< references it needs resolved
};

/// With ATALLA_PERF_MAP set (non-empty, not "0"), every linked function's
/// address, size and name go to /tmp/perf-<pid>.map, the file perf reads
/// for JIT code: `perf report` then names the kernels (atalla_k_...) instead
/// of "[JIT] tid N" addresses. Written after fixup, when the addresses are
/// final; one line per function, appended as objects are linked.
class PerfMapPlugin : public orc::ObjectLinkingLayer::Plugin {
public:
  static bool wanted() {
    const char *E = std::getenv("ATALLA_PERF_MAP");
    return E && *E && std::string(E) != "0";
  }
  void modifyPassConfig(orc::MaterializationResponsibility &, jitlink::LinkGraph &,
                        jitlink::PassConfiguration &Config) override {
    Config.PostFixupPasses.push_back([this](jitlink::LinkGraph &G) -> Error {
      std::lock_guard<std::mutex> Lock(M);
      if (!F)
        F = std::fopen(("/tmp/perf-" + std::to_string(::getpid()) + ".map").c_str(), "a");
      if (!F)
        return Error::success(); // profiling aid only: never a link failure
      for (jitlink::Symbol *Sym : G.defined_symbols())
        if (Sym->hasName() && Sym->isCallable() && Sym->getSize())
          std::fprintf(F, "%llx %llx %s\n", (unsigned long long)Sym->getAddress().getValue(),
                       (unsigned long long)Sym->getSize(), Sym->getName().str().c_str());
      std::fflush(F);
      return Error::success();
    });
  }
  Error notifyFailed(orc::MaterializationResponsibility &) override { return Error::success(); }
  Error notifyRemovingResources(orc::JITDylib &, orc::ResourceKey) override { return Error::success(); }
  void notifyTransferringResources(orc::JITDylib &, orc::ResourceKey, orc::ResourceKey) override {}
  ~PerfMapPlugin() override {
    if (F)
      std::fclose(F);
  }

private:
  std::mutex M;
  std::FILE *F = nullptr;
};

} // namespace

struct CodeLoader::Impl {
  // Declared before the JIT so the session's reporter, which writes here,
  // outlives it.
  std::mutex ReportMutex;
  std::vector<std::string> Reported;       ///< messages of errors ORC reported
  std::set<std::string> ReportedMissing;   ///< symbols a reported SymbolsNotFound named
  std::vector<ObjectInfo> Objects;
  std::map<std::string, size_t> DefinedBy; ///< symbol -> index into Objects
  std::set<std::string> Firmware;
  std::unique_ptr<orc::LLJIT> J;

  std::string firmwareList() const {
    std::string S;
    for (const std::string &F : Firmware)
      S += (S.empty() ? "" : ", ") + F;
    return S;
  }

  /// Symbols Obj needs that neither the firmware nor any added object defines.
  std::vector<std::string> unresolvable(const ObjectInfo &Obj) const {
    std::vector<std::string> Out;
    for (const std::string &U : Obj.Undefined)
      // JITLink synthesises the GOT symbol itself.
      if (!Firmware.count(U) && !DefinedBy.count(U) && U != "_GLOBAL_OFFSET_TABLE_")
        Out.push_back(U);
    return Out;
  }

  /// Takes the errors reported since the last call, joined into one string.
  std::string takeReported(std::set<std::string> &Missing) {
    std::lock_guard<std::mutex> Lock(ReportMutex);
    std::string S;
    for (const std::string &R : Reported)
      S += (S.empty() ? "" : "; ") + R;
    Reported.clear();
    Missing.insert(ReportedMissing.begin(), ReportedMissing.end());
    ReportedMissing.clear();
    return S;
  }
};

CodeLoader::CodeLoader() : P(std::make_unique<Impl>()) {}
CodeLoader::~CodeLoader() = default;

bool atalla::sim::amxTileStateGranted() {
  // Linux hands AMX tile state to a process only on request (arch_prctl
  // ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA): without it the first tile
  // load faults.
  static const bool Granted = [] {
    if (!sys::getHostCPUFeatures().lookup("amx-tile"))
      return false;
    constexpr long ArchReqXcompPerm = 0x1023, XfeatureXtiledata = 18;
    return ::syscall(SYS_arch_prctl, ArchReqXcompPerm, XfeatureXtiledata) == 0;
  }();
  return Granted;
}

Expected<std::unique_ptr<CodeLoader>> CodeLoader::create() {
  static std::once_flag InitTarget;
  std::call_once(InitTarget, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
  });
  (void)amxTileStateGranted();

  std::unique_ptr<CodeLoader> L(new CodeLoader());
  Impl &I = *L->P;
  // No process symbols: generated code may reach the firmware and nothing
  // else. The inactive platform is what makes that combination constructible.
  auto JOrErr = orc::LLJITBuilder()
                    .setLinkProcessSymbolsByDefault(false)
                    .setPlatformSetUp(orc::setUpInactivePlatform)
                    .create();
  if (!JOrErr)
    return makeError("cannot create the kernel loader: " + toString(JOrErr.takeError()));
  I.J = std::move(*JOrErr);
  if (PerfMapPlugin::wanted())
    if (auto *OLL = dyn_cast<orc::ObjectLinkingLayer>(&I.J->getObjLinkingLayer()))
      OLL->addPlugin(std::make_unique<PerfMapPlugin>());

  // Without a reporter ORC logs link failures to stderr and the lookup only
  // says "failed to materialize"; keep them so the refusal can explain.
  Impl *IP = &I;
  I.J->getExecutionSession().setErrorReporter([IP](Error E) {
    std::lock_guard<std::mutex> Lock(IP->ReportMutex);
    handleAllErrors(
        std::move(E),
        [&](orc::SymbolsNotFound &SNF) {
          for (const orc::SymbolStringPtr &S : SNF.getSymbols())
            IP->ReportedMissing.insert((*S).str());
          IP->Reported.push_back(SNF.message());
        },
        [&](ErrorInfoBase &EIB) { IP->Reported.push_back(EIB.message()); });
  });

  orc::SymbolMap Symbols;
  for (auto &[Name, Addr] : firmwareSymbols()) {
    I.Firmware.insert(Name);
    Symbols[I.J->mangleAndIntern(Name)] = {orc::ExecutorAddr::fromPtr(Addr),
                                           JITSymbolFlags::Exported | JITSymbolFlags::Callable};
  }
  if (Error E = I.J->getMainJITDylib().define(orc::absoluteSymbols(std::move(Symbols))))
    return makeError("cannot define the firmware symbols: " + toString(std::move(E)));
  return L;
}

Error CodeLoader::addObject(ArrayRef<uint8_t> Object, StringRef Name) {
  std::unique_ptr<MemoryBuffer> Buf = MemoryBuffer::getMemBufferCopy(
      StringRef(reinterpret_cast<const char *>(Object.data()), Object.size()), Name);

  // Read the symbol table first: it rejects garbage with a message of our
  // own and tells lookup later which object needs what.
  ObjectInfo Info;
  Info.Name = Name.str();
  {
    auto ObjOrErr = object::ObjectFile::createObjectFile(Buf->getMemBufferRef());
    if (!ObjOrErr)
      return makeError("kernel object '" + Name + "' is not an object file: " +
                       toString(ObjOrErr.takeError()));
    for (const object::SymbolRef &Sym : (*ObjOrErr)->symbols()) {
      Expected<uint32_t> Flags = Sym.getFlags();
      Expected<StringRef> SymName = Sym.getName();
      if (!Flags || !SymName) {
        std::string Why = !Flags ? toString(Flags.takeError()) : toString(SymName.takeError());
        if (Flags)
          consumeError(SymName.takeError());
        else if (SymName)
          consumeError(Flags.takeError());
        return makeError("kernel object '" + Name + "' has an unreadable symbol table: " + Why);
      }
      if (SymName->empty() || (*Flags & object::SymbolRef::SF_FormatSpecific))
        continue;
      if (*Flags & object::SymbolRef::SF_Undefined)
        Info.Undefined.insert(SymName->str());
      else if (*Flags & object::SymbolRef::SF_Global)
        Info.Defined.insert(SymName->str());
    }
  }

  for (const std::string &D : Info.Defined) {
    if (P->Firmware.count(D))
      return makeError("kernel object '" + Name + "' defines '" + D +
                       "', a name reserved for the Atalla firmware");
    auto It = P->DefinedBy.find(D);
    if (It != P->DefinedBy.end())
      return makeError("kernel object '" + Name + "' defines '" + D + "', already defined by '" +
                       P->Objects[It->second].Name + "'");
  }

  if (Error E = P->J->addObjectFile(std::move(Buf))) {
    std::set<std::string> Ignored;
    std::string Reported = P->takeReported(Ignored);
    return makeError("cannot add kernel object '" + Name + "': " + toString(std::move(E)) +
                     (Reported.empty() ? "" : " (" + Reported + ")"));
  }
  for (const std::string &D : Info.Defined)
    P->DefinedBy[D] = P->Objects.size();
  P->Objects.push_back(std::move(Info));
  return Error::success();
}

Expected<abi::KernelFn> CodeLoader::lookup(StringRef Symbol) {
  auto Def = P->DefinedBy.find(Symbol.str());
  if (Def == P->DefinedBy.end()) {
    std::string Loaded;
    for (const ObjectInfo &O : P->Objects)
      Loaded += (Loaded.empty() ? "'" : ", '") + O.Name + "'";
    return makeError("no kernel object defines symbol '" + Symbol + "' (loaded objects: " +
                     (Loaded.empty() ? std::string("none") : Loaded) + ")");
  }

  Expected<orc::ExecutorAddr> Addr = P->J->lookup(Symbol);
  if (Addr)
    return Addr->toPtr<abi::KernelFn>();

  std::string LookupMsg = toString(Addr.takeError());
  std::set<std::string> Missing;
  std::string Reported = P->takeReported(Missing);
  // ORC reports the missing names once, on the first failed link; later
  // lookups of the same object only fail to materialize. The symbol tables
  // read at addObject give the same answer every time.
  for (const ObjectInfo &O : P->Objects)
    for (const std::string &U : P->unresolvable(O))
      Missing.insert(U);

  std::string Msg;
  // Name the objects that need each missing symbol, the looked-up one first.
  std::vector<size_t> Order{Def->second};
  for (size_t I = 0; I < P->Objects.size(); ++I)
    if (I != Def->second)
      Order.push_back(I);
  for (size_t I : Order) {
    const ObjectInfo &O = P->Objects[I];
    std::vector<std::string> Needs;
    for (const std::string &U : O.Undefined)
      if (Missing.count(U))
        Needs.push_back("'" + U + "'");
    if (Needs.empty())
      continue;
    std::string List;
    for (const std::string &N : Needs)
      List += (List.empty() ? "" : ", ") + N;
    if (!Msg.empty())
      Msg += "; ";
    Msg += "kernel object '" + O.Name + "' needs symbol" + (Needs.size() > 1 ? "s " : " ") + List +
           ", which the Atalla firmware does not provide (it provides: " + P->firmwareList() + ")";
  }
  if (Msg.empty())
    Msg = "cannot link kernel '" + Symbol.str() + "' from kernel object '" +
          P->Objects[Def->second].Name + "'";
  Msg += " [" + LookupMsg + (Reported.empty() ? "" : "; " + Reported) + "]";
  return makeError(Msg);
}
