//===- target/Machine.cpp - machine descriptions: presets and JSON ------===//
//
// The presets and the JSON reader of MachineDesc. Sources of each figure are
// in src/sim/README.md.
//
//===----------------------------------------------------------------------===//
#include "target/Machine.h"
#include "support/Error.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace atalla;
using namespace atalla::target;
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

MachineDesc presetSimTpu() {
  MachineDesc M;
  M.Name = "atalla-sim-tpu";
  // atalla-sim's GEMM harnesses: 2 MiB of scratchpad in 2 pads, a TPU-style
  // 32x32 array, 4 vector lanes with ALU latency 1, fp16 elements, DRAM
  // bursts of 32 B (one per cycle), 16 in flight, latency 24.
  M.ArrayKind = "tpu";
  M.ArrayOutputLatency = 44;
  M.VectorLanes = 4;
  M.VectorAluLatency = 1;
  M.DramBytesPerCycle = 32;
  return M;
}

const std::vector<std::string> &presetNames() {
  static const std::vector<std::string> N = {"atalla-rtl", "atalla-sim4", "atalla-sim-tpu"};
  return N;
}

std::string presetList() {
  std::string S;
  for (const std::string &N : presetNames())
    S += (S.empty() ? "" : ", ") + N;
  return S;
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
      {"element_bytes", 1, 8, true, nullptr, &MachineDesc::ElementBytes},
      {"dram_burst_bytes", 1, 4096, true, nullptr, &MachineDesc::DramBurstBytes},
      {"dram_latency_cycles", 1, 1e6, true, nullptr, &MachineDesc::DramLatencyCycles},
      {"dram_bursts_in_flight", 1, 4096, true, nullptr, &MachineDesc::DramBurstsInFlight},
      {"spad_queue_depth", 1, 1024, true, nullptr, &MachineDesc::SpadQueueDepth},
      {"spad_access_cycles", 1, 1e6, true, nullptr, &MachineDesc::SpadAccessCycles},
      {"spad_store_cycles", 1, 1e6, true, nullptr, &MachineDesc::SpadStoreCycles},
      {"array_output_latency", 0, 1e6, true, nullptr, &MachineDesc::ArrayOutputLatency},
      {"vector_alu_latency", 1, 1e6, true, nullptr, &MachineDesc::VectorAluLatency},
      {"vector_exp_latency", 1, 1e6, true, nullptr, &MachineDesc::VectorExpLatency},
      {"vector_div_latency", 1, 1e6, true, nullptr, &MachineDesc::VectorDivLatency},
      {"vector_sqrt_latency", 1, 1e6, true, nullptr, &MachineDesc::VectorSqrtLatency},
      {"vector_shift_latency", 1, 1e6, true, nullptr, &MachineDesc::VectorShiftLatency},
      {"transpose_push_cycles", 1, 1e6, true, nullptr, &MachineDesc::TransposePushCycles},
      {"transpose_pop_cycles", 1, 1e6, true, nullptr, &MachineDesc::TransposePopCycles},
  };
  return F;
}

} // namespace

std::string MachineDesc::toJson() const {
  llvm::json::Object O;
  O["name"] = Name;
  O["array_kind"] = ArrayKind;
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

std::vector<std::string> atalla::target::machinePresetNames() { return presetNames(); }

Expected<MachineDesc> atalla::target::machinePreset(StringRef Name) {
  if (Name == "atalla-rtl")
    return MachineDesc();
  if (Name == "atalla-sim4")
    return presetSim4();
  if (Name == "atalla-sim-tpu")
    return presetSimTpu();
  return makeError("no machine preset '" + Name + "' (presets: " + presetList() + ")");
}

Expected<MachineDesc> atalla::target::parseMachine(StringRef Json, StringRef Where) {
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
    if (Key == "array_kind") {
      std::optional<StringRef> N = KV.second.getAsString();
      if (!N || (*N != "tpu" && *N != "meissa"))
        return Fail("\"array_kind\" must be \"tpu\" or \"meissa\"");
      M.ArrayKind = N->str();
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

Expected<MachineDesc> atalla::target::loadMachine(StringRef NameOrPath) {
  for (const std::string &P : machinePresetNames())
    if (NameOrPath == P)
      return machinePreset(P);
  auto Buf = llvm::MemoryBuffer::getFile(NameOrPath, /*IsText=*/true);
  if (!Buf)
    return makeError(NameOrPath + ": not a machine preset (" + presetList() + ") and not a readable file: " +
                     Buf.getError().message());
  if ((*Buf)->getBufferSize() > (1 << 20))
    return makeError(NameOrPath + ": a machine description is at most 1 MiB");
  return parseMachine((*Buf)->getBuffer(), NameOrPath);
}
