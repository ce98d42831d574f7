//===- frontend/ArchiveWriter.cpp - write a Model as a .pt2 archive -------===//
#include "frontend/ArchiveWriter.h"

#include "frontend/Error.h"
#include "frontend/Pickle.h"
#include "frontend/SchemaWriter.h"
#include "frontend/TorchSave.h"
#include "frontend/ZipArchive.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace atalla::frontend;

namespace {

TensorMeta metaOf(const TensorData &T) {
  TensorMeta M;
  M.Dtype = T.Dtype;
  for (int64_t S : T.Sizes)
    M.Sizes.push_back(SymDim::concrete(S));
  for (int64_t S : T.Strides)
    M.Strides.push_back(SymDim::concrete(S));
  M.StorageOffset = SymDim::concrete(T.StorageOffset);
  M.RequiresGrad = T.RequiresGrad;
  return M;
}

/// Lays out one payload directory: one file per distinct storage (tensors
/// sharing a storage share the file, as torch writes aliases).
struct PayloadDir {
  std::string Prefix; ///< "weight_" or "tensor_"
  std::vector<PayloadMeta> Config;
  std::vector<std::pair<std::string, const TensorData *>> Files;
  std::map<const Storage *, std::string> FileOf;

  void add(const std::string &Fqn, const TensorData &T, bool IsParam) {
    std::string File;
    auto It = T.Data ? FileOf.find(T.Data.get()) : FileOf.end();
    if (It != FileOf.end()) {
      File = It->second;
    } else {
      File = Prefix + std::to_string(Files.size());
      Files.push_back({File, &T});
      if (T.Data)
        FileOf[T.Data.get()] = File;
    }
    PayloadMeta PM;
    PM.Fqn = Fqn;
    PM.PathName = File;
    PM.IsParam = IsParam;
    PM.HasTensorMeta = true;
    PM.Meta = metaOf(T);
    Config.push_back(std::move(PM));
  }
};

} // namespace

llvm::Expected<std::vector<uint8_t>>
atalla::frontend::writeModelArchive(const Model &M, const ArchiveWriterOptions &Opts) {
  if (Opts.RootName.empty() || llvm::StringRef(Opts.RootName).contains('/'))
    return makeError("invalid archive root folder name '" + Opts.RootName + "'");
  PayloadDir Weights{"weight_", {}, {}, {}}, Consts{"tensor_", {}, {}, {}};
  // Signature order, as torch's state_dict / constants iteration gives.
  for (const InputSpec &S : M.InputSpecs) {
    if (S.Kind != InputKind::Parameter && S.Kind != InputKind::Buffer &&
        S.Kind != InputKind::TensorConstant)
      continue;
    const TensorData *T = M.placeholderData(S);
    if (!T)
      return makeError(llvm::Twine(inputKindName(S.Kind)) + " '" + S.Target + "' has no data to write");
    bool Persistent = S.Kind == InputKind::Parameter || (S.Kind == InputKind::Buffer && S.Persistent);
    bool Seen = false;
    for (const PayloadMeta &P : (Persistent ? Weights : Consts).Config)
      Seen |= P.Fqn == S.Target;
    if (!Seen)
      (Persistent ? Weights : Consts).add(S.Target, *T, S.Kind == InputKind::Parameter);
  }
  // ((args...), {}) as torch.export.save pickles example inputs.
  auto sampleInputs = [&]() {
    auto Args = std::make_shared<PyValue>();
    Args->K = PyValue::Kind::Tuple;
    for (const TensorData &T : M.SampleInputs) {
      auto V = std::make_shared<PyValue>();
      V->K = PyValue::Kind::Tensor;
      V->Tensor = T;
      Args->Items.push_back(V);
    }
    auto Kwargs = std::make_shared<PyValue>();
    Kwargs->K = PyValue::Kind::Dict;
    auto Top = std::make_shared<PyValue>();
    Top->K = PyValue::Kind::Tuple;
    Top->Items = {Args, Kwargs};
    return writeTorchSave(Top);
  };
  // A torch.save'd dict of the payloads (2.8's model.pt, 2.1-2.7's
  // serialized_state_dict.pt / serialized_constants.pt).
  auto tensorDict = [&](const PayloadDir &D, bool Ordered) {
    auto Dict = std::make_shared<PyValue>();
    Dict->K = PyValue::Kind::Dict;
    Dict->IsOrderedDict = Ordered;
    for (const PayloadMeta &P : D.Config) {
      const TensorData *T = nullptr;
      for (const InputSpec &S : M.InputSpecs)
        if (S.Target == P.Fqn && (T = M.placeholderData(S)))
          break;
      auto Key = std::make_shared<PyValue>();
      Key->K = PyValue::Kind::String;
      Key->S = P.Fqn;
      auto V = std::make_shared<PyValue>();
      V->K = PyValue::Kind::Tensor;
      V->Tensor = *T;
      V->IsParameter = P.IsParam;
      Dict->DictItems.push_back({Key, V});
    }
    return writeTorchSave(Dict);
  };
  if (Opts.Layout == ArchiveLayout::LegacyZip) {
    ZipWriter Z;
    Z.add("serialized_exported_program.json", llvm::StringRef(writeExportedProgramJson(M)));
    Z.add("serialized_state_dict.pt", llvm::ArrayRef<uint8_t>(tensorDict(Weights, true)));
    Z.add("serialized_constants.pt", llvm::ArrayRef<uint8_t>(tensorDict(Consts, false)));
    if (Opts.WriteSampleInputs && M.HasSampleInputs)
      Z.add("serialized_example_inputs.pt", llvm::ArrayRef<uint8_t>(sampleInputs()));
    Z.add("version", llvm::StringRef(std::to_string(WrittenSchemaMajor) + "." + std::to_string(WrittenSchemaMinor)));
    return Z.finish();
  }
  const std::string R = Opts.RootName + "/";
  ZipWriter Z;
  if (Opts.Layout == ArchiveLayout::Pt2Pickled) {
    Z.add(R + "data/weights/model.pt", llvm::ArrayRef<uint8_t>(tensorDict(Weights, true)));
    Z.add(R + "data/constants/model.pt", llvm::ArrayRef<uint8_t>(tensorDict(Consts, false)));
  } else {
    for (const auto &[File, T] : Weights.Files)
      Z.add(R + "data/weights/" + File, T->Data ? llvm::ArrayRef<uint8_t>(T->Data->Bytes) : llvm::ArrayRef<uint8_t>());
    Z.add(R + "data/weights/model_weights_config.json", llvm::StringRef(writePayloadConfigJson(Weights.Config)));
    for (const auto &[File, T] : Consts.Files)
      Z.add(R + "data/constants/" + File, T->Data ? llvm::ArrayRef<uint8_t>(T->Data->Bytes) : llvm::ArrayRef<uint8_t>());
    Z.add(R + "data/constants/model_constants_config.json", llvm::StringRef(writePayloadConfigJson(Consts.Config)));
  }
  Z.add(R + "models/model.json", llvm::StringRef(writeExportedProgramJson(M)));
  if (Opts.WriteSampleInputs && M.HasSampleInputs)
    Z.add(R + "data/sample_inputs/model.pt", llvm::ArrayRef<uint8_t>(sampleInputs()));
  Z.add(R + "archive_format", llvm::StringRef("pt2"));
  Z.add(R + "archive_version", llvm::StringRef("0"));
  Z.add(R + ".data/version", llvm::StringRef("6\n"));
  Z.add(R + "byteorder", llvm::StringRef("little"));
  // torch derives this id from hashes of the records; any 40 decimal digits
  // are accepted by readers. Ours is a deterministic digest of the program.
  std::string Json = writeExportedProgramJson(M);
  uint64_t H1 = 1469598103934665603ull, H2 = 1099511628211ull;
  for (unsigned char C : Json) {
    H1 = (H1 ^ C) * 1099511628211ull;
    H2 = (H2 + C) * 6364136223846793005ull + 1442695040888963407ull;
  }
  char Id[41];
  snprintf(Id, sizeof(Id), "%020llu%020llu", static_cast<unsigned long long>(H1),
           static_cast<unsigned long long>(H2));
  Z.add(R + ".data/serialization_id", llvm::StringRef(Id, 40));
  return Z.finish();
}

llvm::Error atalla::frontend::writeModelFile(const Model &M, llvm::StringRef Path,
                                             ArchiveWriterOptions Opts) {
  if (Opts.RootName == "archive")
    Opts.RootName = llvm::sys::path::stem(Path).str();
  auto Bytes = writeModelArchive(M, Opts);
  if (!Bytes)
    return prefixError(Bytes.takeError(), Path + ": ");
  std::error_code EC;
  llvm::raw_fd_ostream OS(Path, EC, llvm::sys::fs::OF_None);
  if (EC)
    return makeError(Path + ": cannot open for writing: " + EC.message());
  OS.write(reinterpret_cast<const char *>(Bytes->data()), Bytes->size());
  OS.close();
  if (OS.has_error())
    return makeError(Path + ": write failed: " + OS.error().message());
  return llvm::Error::success();
}
