//===- sim/Machine.cpp - machine descriptions and the cycle model --------===//
//
// Presets, the JSON reader, and the cycle model. Sources of each figure are
// in README.md; the model itself is explained at estimateKernel.
//
//===----------------------------------------------------------------------===//
#include "sim/Machine.h"
#include "support/Error.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace atalla::sim;
using llvm::Expected;
using llvm::StringRef;

namespace {

MachineDesc presetSim4() {
  MachineDesc M;
  M.Name = "atalla-sim4";
  M.NumPads = 4;
  M.PadBytes = 512ull << 10;
  // atalla-sim's final report measures its DRAM roof at 64.94 B/cycle.
  M.DramBytesPerCycle = 64.94;
  return M;
}

/// One field of MachineDesc as the JSON names it, with its valid range.
struct Field {
  const char *Key;
  double Min, Max;
  bool Integer;
  double MachineDesc::*D = nullptr;
  uint32_t MachineDesc::*U32 = nullptr;
  uint64_t MachineDesc::*U64 = nullptr;
};

const std::vector<Field> &fields() {
  static const std::vector<Field> F = {
      {"num_pads", 1, 64, true, nullptr, &MachineDesc::NumPads},
      {"pad_bytes", 4096, double(1ull << 32), true, nullptr, nullptr, &MachineDesc::PadBytes},
      {"array_rows", 1, 1024, true, nullptr, &MachineDesc::ArrayRows},
      {"array_cols", 1, 1024, true, nullptr, &MachineDesc::ArrayCols},
      {"vector_lanes", 1, 4096, true, nullptr, &MachineDesc::VectorLanes},
      {"dram_bytes_per_cycle", 1e-3, 1e6, false, &MachineDesc::DramBytesPerCycle},
      {"clock_mhz", 1e-3, 1e6, false, &MachineDesc::ClockMHz},
      {"weight_load_cycles", 0, 1e6, true, nullptr, &MachineDesc::WeightLoadCycles},
      {"sdma_setup_cycles", 0, 1e6, true, nullptr, &MachineDesc::SdmaSetupCycles},
      {"kernel_launch_cycles", 0, 1e8, true, nullptr, &MachineDesc::KernelLaunchCycles},
      {"firmware_call_cycles", 0, 1e6, true, nullptr, &MachineDesc::FirmwareCallCycles},
      {"host_link_bytes_per_cycle", 1e-3, 1e6, false, &MachineDesc::HostLinkBytesPerCycle},
      {"fallback_latency_cycles", 0, 1e9, true, nullptr, &MachineDesc::FallbackLatencyCycles},
  };
  return F;
}

} // namespace

DeviceConfig MachineDesc::deviceConfig() const {
  DeviceConfig C;
  C.NumPads = NumPads;
  C.PadBytes = PadBytes;
  return C;
}

std::string MachineDesc::toJson() const {
  llvm::json::Object O;
  O["name"] = Name;
  for (const Field &F : fields()) {
    if (F.D)
      O[F.Key] = this->*F.D;
    else if (F.U32)
      O[F.Key] = int64_t(this->*F.U32);
    else
      O[F.Key] = int64_t(this->*F.U64);
  }
  std::string S;
  llvm::raw_string_ostream OS(S);
  OS << llvm::formatv("{0:2}", llvm::json::Value(std::move(O)));
  return S;
}

std::vector<std::string> atalla::sim::machinePresetNames() { return {"atalla-rtl", "atalla-sim4"}; }

Expected<MachineDesc> atalla::sim::machinePreset(StringRef Name) {
  if (Name == "atalla-rtl")
    return MachineDesc();
  if (Name == "atalla-sim4")
    return presetSim4();
  return makeError("no machine preset '" + Name + "' (presets: atalla-rtl, atalla-sim4)");
}

Expected<MachineDesc> atalla::sim::parseMachine(StringRef Json, StringRef Where) {
  auto Fail = [&](const llvm::Twine &Msg) { return makeError(Where + ": " + Msg); };
  Expected<llvm::json::Value> V = llvm::json::parse(Json);
  if (!V)
    return Fail("not JSON: " + llvm::toString(V.takeError()));
  const llvm::json::Object *O = V->getAsObject();
  if (!O)
    return Fail("a machine description is a JSON object");
  MachineDesc M;
  if (const llvm::json::Value *Base = O->get("base")) {
    std::optional<StringRef> B = Base->getAsString();
    if (!B)
      return Fail("\"base\" must be a preset name");
    Expected<MachineDesc> P = machinePreset(*B);
    if (!P)
      return Fail(llvm::toString(P.takeError()));
    M = *P;
  }
  M.Name = "custom";
  for (const auto &KV : *O) {
    StringRef Key = KV.first;
    if (Key == "base")
      continue;
    if (Key == "name") {
      std::optional<StringRef> N = KV.second.getAsString();
      if (!N || N->empty())
        return Fail("\"name\" must be a non-empty string");
      M.Name = N->str();
      continue;
    }
    auto It = std::find_if(fields().begin(), fields().end(), [&](const Field &F) { return Key == F.Key; });
    if (It == fields().end())
      return Fail("unknown key \"" + Key + "\"");
    std::optional<double> X = KV.second.getAsNumber();
    if (!X || !std::isfinite(*X))
      return Fail("\"" + Key + "\" must be a number");
    if (*X < It->Min || *X > It->Max || (It->Integer && *X != std::floor(*X)))
      return Fail(llvm::formatv("\"{0}\" is {1}; it must be {2} in [{3}, {4}]", Key, *X,
                                It->Integer ? "an integer" : "a number", It->Min, It->Max)
                      .str());
    if (It->D)
      M.*It->D = *X;
    else if (It->U32)
      M.*It->U32 = uint32_t(*X);
    else
      M.*It->U64 = uint64_t(*X);
  }
  if (M.PadBytes % 256 != 0)
    return Fail("\"pad_bytes\" must be a multiple of 256 (the scratchpad alignment)");
  return M;
}

Expected<MachineDesc> atalla::sim::loadMachine(StringRef NameOrPath) {
  for (const std::string &P : machinePresetNames())
    if (NameOrPath == P)
      return machinePreset(P);
  auto Buf = llvm::MemoryBuffer::getFile(NameOrPath, /*IsText=*/true);
  if (!Buf)
    return makeError(NameOrPath + ": not a machine preset (atalla-rtl, atalla-sim4) and not a readable file: " +
                     Buf.getError().message());
  if ((*Buf)->getBufferSize() > (1 << 20))
    return makeError(NameOrPath + ": a machine description is at most 1 MiB");
  return parseMachine((*Buf)->getBuffer(), NameOrPath);
}

// The model. A GEMM runs on the weight-stationary array one weight tile
// (ArrayRows of K by ArrayCols of N) at a time: the tile is loaded
// (WeightLoadCycles), the M activation rows stream through, and the
// pipeline fills and drains (rows + cols - 2 cycles). The array has no
// partial-sum input (ATALLA.md), so every K tile after the first costs the
// vector core an add per output element. Other kernels run on the vector
// core at VectorLanes operations per cycle. SDMA moves the counted bytes at
// the DRAM bandwidth, each transfer paying its setup. Compute and SDMA
// overlap; the launch and the scratchpad calls (firmware calls that are not
// SDMA) are serial.
KernelCost atalla::sim::estimateKernel(const MachineDesc &M, const abi::KernelWork &W, const KernelCounters &C) {
  KernelCost K;
  auto Ceil = [](int64_t A, int64_t B) { return double((A + B - 1) / B); };
  double VectorFlops = std::max(0.0, W.Flops - W.ArrayFlops);
  if (W.Batch > 0 && W.M > 0 && W.N > 0 && W.K > 0) {
    const double KTiles = Ceil(W.K, M.ArrayRows), NTiles = Ceil(W.N, M.ArrayCols);
    K.ArrayCycles = double(W.Batch) * KTiles * NTiles *
                    (double(M.WeightLoadCycles) + double(W.M) + double(M.ArrayRows + M.ArrayCols - 2));
    VectorFlops += double(W.Batch) * (KTiles - 1) * double(W.M) * double(W.N);
  }
  K.VectorCycles = std::ceil(VectorFlops / M.VectorLanes);
  K.SdmaCycles = std::ceil(double(C.SdmaBytesIn + C.SdmaBytesOut) / M.DramBytesPerCycle) +
                 double(C.SdmaTransfers) * M.SdmaSetupCycles;
  const uint64_t ScpadCalls = C.FirmwareCalls > C.SdmaTransfers ? C.FirmwareCalls - C.SdmaTransfers : 0;
  K.FixedCycles = double(M.KernelLaunchCycles) + double(ScpadCalls) * M.FirmwareCallCycles;
  K.Cycles = K.FixedCycles + std::max(K.ArrayCycles + K.VectorCycles, K.SdmaCycles);
  return K;
}

double atalla::sim::estimateFallbackCycles(const MachineDesc &M, uint64_t BytesCopied) {
  return double(M.FallbackLatencyCycles) + std::ceil(double(BytesCopied) / M.HostLinkBytesPerCycle);
}
