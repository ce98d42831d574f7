//===- tools/ToolSupport.cpp - shared pieces of the command-line tools ----===//
#include "tools/ToolSupport.h"
#include "runtime/abi/BlobFormat.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <cstring>

using namespace atalla;
using namespace atalla::tools;
using frontend::makeError;
using frontend::ScalarType;
using frontend::TensorData;

std::vector<int64_t> atalla::tools::declaredShape(const frontend::Model &M, const std::string &Input) {
  if (const frontend::TensorMeta *Meta = M.G.meta(Input))
    return Meta->hintedSizes();
  return {};
}

namespace {
/// splitmix64: tiny, fast, and the same on every platform.
uint64_t nextRandom(uint64_t &State) {
  uint64_t Z = (State += 0x9E3779B97F4A7C15ull);
  Z = (Z ^ (Z >> 30)) * 0xBF58476D1CE4E5B9ull;
  Z = (Z ^ (Z >> 27)) * 0x94D049BB133111EBull;
  return Z ^ (Z >> 31);
}
double uniform01(uint64_t &State) { return (nextRandom(State) >> 11) * (1.0 / 9007199254740992.0); }

uint16_t toHalfBits(float F, bool BFloat) {
  uint32_t U;
  std::memcpy(&U, &F, 4);
  if (BFloat) // round to nearest even
    return static_cast<uint16_t>((U + 0x7FFF + ((U >> 16) & 1)) >> 16);
  // IEEE half, round to nearest; values here are small normals.
  uint32_t Sign = (U >> 16) & 0x8000;
  int32_t Exp = ((U >> 23) & 0xFF) - 127 + 15;
  uint32_t Mant = U & 0x7FFFFF;
  if (Exp <= 0)
    return static_cast<uint16_t>(Sign);
  if (Exp >= 31)
    return static_cast<uint16_t>(Sign | 0x7C00);
  uint32_t H = Sign | (Exp << 10) | (Mant >> 13);
  if ((Mant & 0x1FFF) > 0x1000 || ((Mant & 0x1FFF) == 0x1000 && (H & 1)))
    ++H;
  return static_cast<uint16_t>(H);
}

double elementAsDouble(const uint8_t *P, ScalarType T) {
  switch (T) {
  case ScalarType::Float32: { float F; std::memcpy(&F, P, 4); return F; }
  case ScalarType::Float64: { double D; std::memcpy(&D, P, 8); return D; }
  case ScalarType::Int64: { int64_t I; std::memcpy(&I, P, 8); return static_cast<double>(I); }
  case ScalarType::Int32: { int32_t I; std::memcpy(&I, P, 4); return I; }
  case ScalarType::Int16: { int16_t I; std::memcpy(&I, P, 2); return I; }
  case ScalarType::Int8: return static_cast<int8_t>(*P);
  case ScalarType::UInt8:
  case ScalarType::Bool: return *P;
  case ScalarType::BFloat16: {
    uint16_t H; std::memcpy(&H, P, 2);
    uint32_t U = static_cast<uint32_t>(H) << 16; float F; std::memcpy(&F, &U, 4); return F;
  }
  case ScalarType::Float16: {
    uint16_t H; std::memcpy(&H, P, 2);
    int Exp = (H >> 10) & 0x1F, Mant = H & 0x3FF;
    double V = Exp == 0 ? std::ldexp(Mant, -24) : Exp == 31 ? INFINITY : std::ldexp(1024 + Mant, Exp - 25);
    return (H & 0x8000) ? -V : V;
  }
  default: return 0;
  }
}
} // namespace

TensorData atalla::tools::randomTensor(ScalarType Dtype, const std::vector<int64_t> &Sizes, uint64_t Seed) {
  int64_t N = 1;
  for (int64_t S : Sizes)
    N *= S;
  int64_t Item = frontend::elementSize(Dtype);
  std::vector<uint8_t> Bytes(static_cast<size_t>(N * Item));
  uint64_t State = Seed * 0x2545F4914F6CDD1Dull + 1;
  for (int64_t I = 0; I < N; ++I) {
    uint8_t *P = Bytes.data() + I * Item;
    // Box-Muller standard normal.
    double U1 = uniform01(State), U2 = uniform01(State);
    double G = std::sqrt(-2.0 * std::log(U1 > 0 ? U1 : 1e-300)) * std::cos(6.283185307179586 * U2);
    switch (Dtype) {
    case ScalarType::Float32: { float F = static_cast<float>(G); std::memcpy(P, &F, 4); break; }
    case ScalarType::Float64: std::memcpy(P, &G, 8); break;
    case ScalarType::BFloat16:
    case ScalarType::Float16: {
      uint16_t H = toHalfBits(static_cast<float>(G), Dtype == ScalarType::BFloat16);
      std::memcpy(P, &H, 2);
      break;
    }
    case ScalarType::Bool: *P = nextRandom(State) & 1; break;
    case ScalarType::UInt8: *P = static_cast<uint8_t>(nextRandom(State)); break;
    default: { // signed integers: small values, valid as indices for small tables
      int64_t V = static_cast<int64_t>(nextRandom(State) % 10);
      std::memcpy(P, &V, Item);
      break;
    }
    }
  }
  return TensorData::fromBytes(Dtype, Sizes, std::move(Bytes));
}

llvm::Expected<std::vector<TensorData>>
atalla::tools::selectInputs(const frontend::Model &M, InputSource Source,
                            const std::vector<std::string> &Files, uint64_t Seed) {
  std::vector<std::string> Names = M.userInputNames();
  std::vector<TensorData> Out;
  switch (Source) {
  case InputSource::Sample:
    if (!M.HasSampleInputs)
      return makeError(M.Path + ": the archive has no sample inputs (torch 2.2 and older saved none); "
                                "use --inputs random or --input FILE");
    if (M.SampleInputs.size() != Names.size())
      return makeError(M.Path + ": the archive's sample inputs hold " +
                       std::to_string(M.SampleInputs.size()) + " tensor(s) but the model takes " +
                       std::to_string(Names.size()));
    for (const TensorData &T : M.SampleInputs) {
      if (llvm::Error E = T.validate())
        return frontend::prefixError(std::move(E), M.Path + ": sample input: ");
      Out.push_back(T);
    }
    return Out;
  case InputSource::Random:
    for (size_t I = 0; I < Names.size(); ++I) {
      const frontend::TensorMeta *Meta = M.G.meta(Names[I]);
      if (!Meta)
        return makeError(M.Path + ": input '" + Names[I] + "' has no tensor_values entry");
      Out.push_back(randomTensor(Meta->Dtype, Meta->hintedSizes(), Seed + I));
    }
    return Out;
  case InputSource::Files:
    if (Files.size() != Names.size())
      return makeError(M.Path + ": the model takes " + std::to_string(Names.size()) + " input(s) (" +
                       llvm::join(Names, ", ") + "), " + std::to_string(Files.size()) +
                       " --input file(s) given");
    for (size_t I = 0; I < Names.size(); ++I) {
      const frontend::TensorMeta *Meta = M.G.meta(Names[I]);
      if (!Meta)
        return makeError(M.Path + ": input '" + Names[I] + "' has no tensor_values entry");
      std::vector<int64_t> Shape = Meta->hintedSizes();
      auto Numel = frontend::checkedNumel(Shape, frontend::elementSize(Meta->Dtype));
      if (!Numel)
        return frontend::prefixError(Numel.takeError(), Files[I] + ": ");
      auto Buf = llvm::MemoryBuffer::getFile(Files[I], /*IsText=*/false, /*RequiresNullTerminator=*/false);
      if (!Buf)
        return makeError(Files[I] + ": cannot read: " + Buf.getError().message());
      uint64_t Want = *Numel * frontend::elementSize(Meta->Dtype);
      if ((*Buf)->getBufferSize() != Want)
        return makeError(Files[I] + ": expected " + std::to_string(Want) + " bytes for input '" + Names[I] +
                         "' (" + frontend::scalarTypeName(Meta->Dtype).str() + " " +
                         frontend::formatShape(Shape) + "), got " +
                         std::to_string((*Buf)->getBufferSize()));
      const uint8_t *P = reinterpret_cast<const uint8_t *>((*Buf)->getBufferStart());
      Out.push_back(TensorData::fromBytes(Meta->Dtype, Shape, std::vector<uint8_t>(P, P + Want)));
    }
    return Out;
  }
  return Out;
}

double atalla::tools::tensorSum(const TensorData &T) {
  std::vector<uint8_t> B = T.contiguousBytes();
  int64_t Item = frontend::elementSize(T.Dtype);
  double S = 0;
  for (size_t I = 0; Item > 0 && I + Item <= B.size(); I += Item)
    S += elementAsDouble(B.data() + I, T.Dtype);
  return S;
}

void atalla::tools::printTensorLine(llvm::raw_ostream &OS, const std::string &Name, const TensorData &T) {
  OS << Name << ": shape " << frontend::formatShape(T.Sizes) << ", dtype "
     << frontend::scalarTypeName(T.Dtype) << ", sum " << llvm::format("%.8g", tensorSum(T)) << "\n";
}

llvm::Error atalla::tools::writeOutputs(llvm::StringRef Dir, const std::vector<std::string> &Names,
                                        const std::vector<TensorData> &Outputs) {
  if (std::error_code EC = llvm::sys::fs::create_directories(Dir))
    return makeError(Dir + ": cannot create directory: " + EC.message());
  nlohmann::ordered_json J = nlohmann::ordered_json::array();
  for (size_t I = 0; I < Outputs.size(); ++I) {
    std::string File = "out" + std::to_string(I) + ".bin";
    llvm::SmallString<256> Path(Dir);
    llvm::sys::path::append(Path, File);
    std::error_code EC;
    llvm::raw_fd_ostream OS(Path, EC, llvm::sys::fs::OF_None);
    if (EC)
      return makeError(Path + ": cannot open for writing: " + EC.message());
    std::vector<uint8_t> B = Outputs[I].contiguousBytes();
    OS.write(reinterpret_cast<const char *>(B.data()), B.size());
    OS.close();
    if (OS.has_error())
      return makeError(Path + ": write failed");
    J.push_back({{"name", I < Names.size() ? Names[I] : "out" + std::to_string(I)},
                 {"dtype", frontend::scalarTypeName(Outputs[I].Dtype).str()},
                 {"shape", Outputs[I].Sizes},
                 {"file", File}});
  }
  llvm::SmallString<256> Path(Dir);
  llvm::sys::path::append(Path, "outputs.json");
  std::error_code EC;
  llvm::raw_fd_ostream OS(Path, EC, llvm::sys::fs::OF_Text);
  if (EC)
    return makeError(Path + ": cannot open for writing: " + EC.message());
  OS << J.dump(1) << "\n";
  return llvm::Error::success();
}

void atalla::tools::reportError(llvm::StringRef Tool, llvm::Error E) {
  llvm::handleAllErrors(std::move(E), [&](const llvm::ErrorInfoBase &EI) {
    llvm::errs() << Tool << ": error: " << EI.message() << "\n";
  });
}

// tools/CMakeLists.txt defines the three versions from what the build found.

void atalla::tools::installVersionPrinter(const char *Tool, std::function<std::string()> Extra) {
  llvm::cl::SetVersionPrinter([Tool, Extra](llvm::raw_ostream &OS) {
    OS << Tool << " version " ATALLA_VERSION " (project atalla-gen)\n"
       << "  blob format version " << abi::BlobFormatVersion << "\n"
       << "  LLVM " LLVM_VERSION_STRING "\n"
       << "  LibTorch " ATALLA_LIBTORCH_VERSION "\n"
       << "  oneDNN " ATALLA_ONEDNN_VERSION "\n";
    if (Extra)
      OS << Extra();
  });
}

namespace {
using atalla::tools::ReaderLimits;

/// One --limit key: what it bounds, and the field it reads and sets (with
/// that field's largest value).
struct LimitKey {
  const char *Key, *What;
  uint64_t Max;
  std::function<uint64_t(ReaderLimits &)> Get;
  std::function<void(ReaderLimits &, uint64_t)> Set;
};

template <typename F> LimitKey limitKey(const char *Key, const char *What, F Ref) {
  using T = std::remove_reference_t<decltype(Ref(std::declval<ReaderLimits &>()))>;
  return {Key, What, uint64_t(std::numeric_limits<T>::max()), [Ref](ReaderLimits &L) { return uint64_t(Ref(L)); },
          [Ref](ReaderLimits &L, uint64_t N) { Ref(L) = T(N); }};
}

/// Every key, in the order --help and the README list them.
const std::vector<LimitKey> &limitKeys() {
  static const std::vector<LimitKey> Keys = {
      limitKey("archive-bytes", "size of a .pt2 archive",
               [](ReaderLimits &L) -> uint64_t & { return L.Archive.Zip.MaxFileBytes; }),
      limitKey("entries", "entries in an archive", [](ReaderLimits &L) -> uint64_t & { return L.Archive.Zip.MaxEntries; }),
      limitKey("entry-bytes", "uncompressed size of one entry (one tensor's payload)",
               [](ReaderLimits &L) -> uint64_t & { return L.Archive.Zip.MaxEntryBytes; }),
      limitKey("total-bytes", "uncompressed size of all entries",
               [](ReaderLimits &L) -> uint64_t & { return L.Archive.Zip.MaxTotalBytes; }),
      limitKey("compression-ratio", "uncompressed / compressed size of a deflated entry over 1 MiB (zip bombs)",
               [](ReaderLimits &L) -> uint64_t & { return L.Archive.Zip.MaxCompressionRatio; }),
      limitKey("json-bytes", "size of the program JSON",
               [](ReaderLimits &L) -> uint64_t & { return L.Archive.Schema.MaxJsonBytes; }),
      limitKey("json-depth", "nesting of any JSON record",
               [](ReaderLimits &L) -> unsigned & { return L.Archive.Schema.MaxJsonDepth; }),
      limitKey("graph-nodes", "nodes of one graph", [](ReaderLimits &L) -> uint64_t & { return L.Archive.Schema.MaxNodes; }),
      limitKey("pickle-depth", "nesting of a pickle", [](ReaderLimits &L) -> size_t & { return L.Archive.Pickle.MaxDepth; }),
      limitKey("pickle-items", "values a pickle may create (bounds its memory)",
               [](ReaderLimits &L) -> size_t & { return L.Archive.Pickle.MaxItems; }),
      limitKey("blob-bytes", "size of an .atb blob", [](ReaderLimits &L) -> uint64_t & { return L.Blob.MaxFileBytes; }),
      limitKey("dram-bytes", "simulated DRAM a blob may ask for",
               [](ReaderLimits &L) -> uint64_t & { return L.Blob.MaxDramBytes; }),
      limitKey("blob-sections", "sections of a blob", [](ReaderLimits &L) -> uint32_t & { return L.Blob.MaxSections; }),
      limitKey("instructions", "instructions of a blob's program",
               [](ReaderLimits &L) -> uint32_t & { return L.Blob.MaxInstructions; }),
  };
  return Keys;
}
} // namespace

std::string atalla::tools::limitKeysHelp() {
  ReaderLimits D;
  std::string S;
  for (const LimitKey &K : limitKeys())
    S += std::string("  ") + K.Key + " (default " + std::to_string(K.Get(D)) + "): " + K.What + "\n";
  return S;
}

llvm::Error atalla::tools::applyLimit(llvm::StringRef KeyValue, ReaderLimits &L) {
  auto [Key, Value] = KeyValue.split('=');
  auto Bad = [&](const llvm::Twine &Why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "--limit " + KeyValue + ": " + Why);
  };
  if (Value.empty())
    return Bad("expected KEY=N");
  uint64_t Scale = 1;
  if (Value.ends_with("K") || Value.ends_with("M") || Value.ends_with("G")) {
    Scale = Value.back() == 'K' ? 1ull << 10 : Value.back() == 'M' ? 1ull << 20 : 1ull << 30;
    Value = Value.drop_back();
  }
  uint64_t N;
  if (Value.getAsInteger(10, N) || N == 0 || N > (~0ull) / Scale)
    return Bad("'" + Value + "' is not a positive count");
  N *= Scale;
  std::string Keys;
  for (const LimitKey &K : limitKeys()) {
    if (Key == K.Key) {
      if (N > K.Max)
        return Bad("at most " + llvm::Twine(K.Max));
      K.Set(L, N);
      return llvm::Error::success();
    }
    Keys += (Keys.empty() ? "" : ", ") + std::string(K.Key);
  }
  return Bad("unknown key '" + Key + "' (keys: " + Keys + ")");
}

llvm::Error atalla::tools::applyLimits(llvm::ArrayRef<std::string> KeyValues, ReaderLimits &L) {
  for (const std::string &KV : KeyValues)
    if (llvm::Error E = applyLimit(KV, L))
      return E;
  return llvm::Error::success();
}
