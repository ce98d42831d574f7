//===- frontend/Archive.cpp - read a .pt2 archive into a Model ------------===//
#include "frontend/Archive.h"

#include "frontend/Error.h"
#include "frontend/Pickle.h"
#include "frontend/TorchSave.h"

#include "llvm/ADT/StringExtras.h"

#include <map>

using namespace atalla::frontend;

namespace {

/// Where the pieces of one archive live, per container generation.
struct Layout {
  ContainerKind Kind;
  std::string Root;        ///< "archive/" style prefix, with the slash; may be empty.
  std::string ProgramJson; ///< Entry holding the exported program.
};

llvm::Expected<Layout> detectLayout(const ZipReader &Z) {
  if (Z.entries().empty())
    return makeError("archive has no entries");
  // Legacy flat zip (torch 2.1-2.7): no root folder.
  for (const ZipEntry &E : Z.entries()) {
    llvm::StringRef N = E.Name;
    if (N == "serialized_exported_program.json" || N.ends_with("/serialized_exported_program.json")) {
      Layout L{ContainerKind::LegacyZip, N.drop_back(strlen("serialized_exported_program.json")).str(),
               E.Name};
      return L;
    }
  }
  // PT2 archive: the root folder is the first entry's first component.
  llvm::StringRef First = Z.entries().front().Name;
  size_t Slash = First.find('/');
  if (Slash == llvm::StringRef::npos)
    return makeError("not a torch.export archive: no serialized_exported_program.json and no "
                     "root folder (first entry '" + First + "')");
  std::string Root = First.substr(0, Slash + 1).str();
  Layout L{ContainerKind::Pt2ArchiveRaw, Root, Root + "models/model.json"};
  if (!Z.contains(L.ProgramJson)) {
    // Another model name: the first models/*.json.
    std::string Found;
    for (const ZipEntry &E : Z.entries()) {
      llvm::StringRef N = E.Name;
      if (N.starts_with(Root + "models/") && N.ends_with(".json") &&
          N.count('/') == llvm::StringRef(Root).count('/') + 1) {
        Found = E.Name;
        break;
      }
    }
    if (Found.empty())
      return makeError("not a torch.export archive: missing '" + L.ProgramJson + "'");
    L.ProgramJson = Found;
  }
  if (Z.contains(Root + "data/weights/model.pt") && !Z.contains(Root + "data/weights/model_weights_config.json"))
    L.Kind = ContainerKind::Pt2ArchivePickled;
  return L;
}

/// A torch.save'd dict name -> tensor (state dict, constants).
llvm::Error readTensorDict(const ZipReader &Z, const std::string &Entry,
                           std::map<std::string, TensorData> &Out, const ArchiveOptions &Opts) {
  auto Bytes = Z.read(Entry);
  if (!Bytes)
    return Bytes.takeError();
  auto V = readTorchSave(*Bytes, Entry, Opts.Pickle);
  if (!V)
    return V.takeError();
  if ((*V)->K != PyValue::Kind::Dict)
    return makeError("entry '" + Entry + "': expected a dict of tensors, got " + (*V)->repr());
  for (const auto &[Key, Val] : (*V)->DictItems) {
    if (Key->K != PyValue::Kind::String)
      return makeError("entry '" + Entry + "': dict key is not a string: " + Key->repr());
    if (Val->K != PyValue::Kind::Tensor)
      return makeError("entry '" + Entry + "': value of '" + Key->S +
                       "' is not a tensor (custom objects are not supported): " + Val->repr());
    Out[Key->S] = Val->Tensor;
  }
  return llvm::Error::success();
}

/// Flattens sample inputs ((args...), {kwargs}) in pytree order.
llvm::Error flattenInputs(const PyRef &V, const std::string &Entry, std::vector<TensorData> &Out,
                          unsigned Depth = 0) {
  if (Depth > 64)
    return makeError("entry '" + Entry + "': sample inputs nested too deeply");
  switch (V->K) {
  case PyValue::Kind::Tensor:
    Out.push_back(V->Tensor);
    return llvm::Error::success();
  case PyValue::Kind::Tuple:
  case PyValue::Kind::List:
    for (const PyRef &E : V->Items)
      if (llvm::Error Err = flattenInputs(E, Entry, Out, Depth + 1))
        return Err;
    return llvm::Error::success();
  case PyValue::Kind::Dict:
    for (const auto &KV : V->DictItems)
      if (llvm::Error Err = flattenInputs(KV.second, Entry, Out, Depth + 1))
        return Err;
    return llvm::Error::success();
  case PyValue::Kind::None:
    return llvm::Error::success();
  default:
    // Scalars among the inputs become 0-d tensors so that they keep their
    // place in the forward-argument order.
    if (V->K == PyValue::Kind::Int || V->K == PyValue::Kind::Bool) {
      int64_t I = V->K == PyValue::Kind::Bool ? V->B : V->I;
      std::vector<uint8_t> B(8);
      memcpy(B.data(), &I, 8);
      Out.push_back(TensorData::fromBytes(ScalarType::Int64, {}, std::move(B)));
      return llvm::Error::success();
    }
    if (V->K == PyValue::Kind::Float) {
      std::vector<uint8_t> B(8);
      memcpy(B.data(), &V->F, 8);
      Out.push_back(TensorData::fromBytes(ScalarType::Float64, {}, std::move(B)));
      return llvm::Error::success();
    }
    return makeError("entry '" + Entry + "': unsupported sample input " + V->repr());
  }
}

llvm::Error readSampleInputs(const ZipReader &Z, const std::string &Entry, Model &M, const ArchiveOptions &Opts) {
  auto Bytes = Z.read(Entry);
  if (!Bytes)
    return Bytes.takeError();
  auto V = readTorchSave(*Bytes, Entry, Opts.Pickle);
  if (!V)
    return V.takeError();
  M.HasSampleInputs = true;
  return flattenInputs(*V, Entry, M.SampleInputs);
}

std::vector<int64_t> concreteOr(const std::vector<SymDim> &Dims, const std::string &What,
                                llvm::Error &Err) {
  std::vector<int64_t> Out;
  for (const SymDim &D : Dims) {
    if (!D.isConcrete()) {
      if (!Err)
        Err = makeError(What + ": symbolic size or stride in a stored tensor");
      return {};
    }
    Out.push_back(*D.Value);
  }
  return Out;
}

/// torch >= 2.9: one raw file per storage, described by a payload config.
llvm::Error readRawPayloads(const ZipReader &Z, const std::string &Dir, const std::string &ConfigName,
                            std::map<std::string, TensorData> &Out, const ArchiveOptions &Opts) {
  std::string ConfigEntry = Dir + ConfigName;
  if (!Z.contains(ConfigEntry))
    return llvm::Error::success(); // Older writers omit an empty config.
  auto Text = Z.readText(ConfigEntry);
  if (!Text)
    return Text.takeError();
  auto Config = readPayloadConfigJson(*Text, "entry '" + ConfigEntry + "'", Opts.Schema.MaxJsonDepth);
  if (!Config)
    return Config.takeError();
  std::map<std::string, std::shared_ptr<const Storage>> Files; // aliasing: one storage per file
  for (const PayloadMeta &PM : *Config) {
    std::string Entry = Dir + PM.PathName;
    std::string What = "entry '" + Entry + "' ('" + PM.Fqn + "')";
    if (PM.PathName.empty() || llvm::StringRef(PM.PathName).contains('/') ||
        llvm::StringRef(PM.PathName).contains(".."))
      return makeError("entry '" + ConfigEntry + "': '" + PM.Fqn + "' has an invalid path_name '" +
                       PM.PathName + "'");
    if (!Z.contains(Entry))
      return makeError(What + ": listed in '" + ConfigEntry + "' but missing from the archive");
    if (PM.UsePickle) {
      auto Bytes = Z.read(Entry);
      if (!Bytes)
        return Bytes.takeError();
      auto V = readTorchSave(*Bytes, Entry, Opts.Pickle);
      if (!V)
        return V.takeError();
      if ((*V)->K != PyValue::Kind::Tensor)
        return makeError(What + ": pickled payload is not a tensor (custom objects are not supported)");
      Out[PM.Fqn] = (*V)->Tensor;
      continue;
    }
    if (!PM.HasTensorMeta)
      return makeError(What + ": no tensor_meta for a raw payload");
    TensorData T;
    T.Dtype = PM.Meta.Dtype;
    T.RequiresGrad = PM.Meta.RequiresGrad;
    llvm::Error Err = llvm::Error::success();
    T.Sizes = concreteOr(PM.Meta.Sizes, What, Err);
    T.Strides = concreteOr(PM.Meta.Strides, What, Err);
    if (Err)
      return Err;
    if (!PM.Meta.StorageOffset.isConcrete())
      return makeError(What + ": symbolic storage offset");
    T.StorageOffset = *PM.Meta.StorageOffset.Value;
    if (T.Strides.empty() && !T.Sizes.empty())
      T.Strides = contiguousStrides(T.Sizes);
    auto It = Files.find(PM.PathName);
    if (It == Files.end()) {
      const ZipEntry *ZE = Z.find(Entry);
      std::shared_ptr<const Storage> S;
      if (ZE->UncompressedSize > 0) { // zero bytes: a fake tensor, metadata only
        auto Bytes = Z.read(Entry);
        if (!Bytes)
          return Bytes.takeError();
        auto Owned = std::make_shared<Storage>();
        Owned->Bytes = std::move(*Bytes);
        S = std::move(Owned);
      }
      It = Files.emplace(PM.PathName, std::move(S)).first;
    }
    T.Data = It->second;
    if (llvm::Error E = T.validate())
      return prefixError(std::move(E), What + ": ");
    Out[PM.Fqn] = std::move(T);
  }
  return llvm::Error::success();
}

/// Checks that every parameter, buffer and constant placeholder has data
/// matching its declared dtype and shape.
llvm::Error checkPlaceholders(const Model &M) {
  for (const InputSpec &S : M.InputSpecs) {
    if (S.Kind != InputKind::Parameter && S.Kind != InputKind::Buffer &&
        S.Kind != InputKind::TensorConstant)
      continue;
    const TensorData *T = M.placeholderData(S);
    if (!T)
      return makeError(llvm::Twine(inputKindName(S.Kind)) + " '" + S.Target + "' (placeholder '" +
                       S.Arg.S + "') has no data in the archive");
    const TensorMeta *Meta = M.G.meta(S.Arg.S);
    if (!Meta)
      return makeError("placeholder '" + S.Arg.S + "' has no tensor_values entry");
    if (Meta->Dtype != T->Dtype)
      return makeError(llvm::Twine(inputKindName(S.Kind)) + " '" + S.Target + "': graph says " +
                       scalarTypeName(Meta->Dtype) + " but the stored tensor is " +
                       scalarTypeName(T->Dtype));
    if (Meta->isStatic() && Meta->hintedSizes() != T->Sizes)
      return makeError(llvm::Twine(inputKindName(S.Kind)) + " '" + S.Target +
                       "': stored shape differs from the graph's");
  }
  return llvm::Error::success();
}

/// Every tensor an argument names must have a tensor_values entry.
llvm::Error checkValues(const Model &M) {
  for (const Node &N : M.G.Nodes) {
    std::vector<std::string> Names;
    for (const NamedArgument &A : N.Inputs)
      A.Arg.collectTensorNames(Names);
    for (const Argument &O : N.Outputs)
      O.collectTensorNames(Names);
    for (const std::string &Name : Names)
      if (!M.G.meta(Name))
        return makeError("node '" + N.Name + "': tensor '" + Name + "' has no tensor_values entry");
  }
  for (const Argument &A : M.G.Inputs)
    if (A.Kind == ArgKind::Tensor && !M.G.meta(A.S))
      return makeError("graph input '" + A.S + "' has no tensor_values entry");
  return llvm::Error::success();
}

llvm::Expected<Model> readFromZip(const ZipReader &Z, llvm::StringRef Name, const ArchiveOptions &Opts) {
  auto Fail = [&](llvm::Error E) -> llvm::Expected<Model> {
    return prefixError(std::move(E), Name + ": ");
  };
  auto L = detectLayout(Z);
  if (!L)
    return Fail(L.takeError());
  Model M;
  M.Path = Name.str();
  M.Container = L->Kind;
  M.RootFolder = llvm::StringRef(L->Root).rtrim('/').str();
  // The archive's own records: PT2 archives state their byte order (torch
  // writes "little"; data of the other order would be misread) and format.
  // Every small entry is read once, so that a damaged record fails its
  // CRC-32 even where nothing else looks at it.
  if (L->Kind != ContainerKind::LegacyZip) {
    struct Record {
      const char *Entry, *Want, *Otherwise;
    };
    for (const Record &R : {Record{"byteorder", "little", ": only little-endian archives are supported"},
                            Record{"archive_format", "pt2", ", not 'pt2'"}}) {
      const std::string Entry = L->Root + R.Entry;
      if (!Z.contains(Entry))
        continue;
      auto T = Z.readText(Entry);
      if (!T)
        return Fail(T.takeError());
      llvm::StringRef Said = llvm::StringRef(*T).trim();
      if (Said != R.Want)
        return Fail(makeError("entry '" + Entry + "' says '" + Said.take_front(32) + "'" + R.Otherwise));
    }
  }
  for (const ZipEntry &E : Z.entries())
    if (E.UncompressedSize <= (64u << 10)) {
      auto B = Z.read(E.Name);
      if (!B)
        return Fail(B.takeError());
    }
  auto Text = Z.readText(L->ProgramJson);
  if (!Text)
    return Fail(Text.takeError());
  if (llvm::Error E = readExportedProgramJson(*Text, "entry '" + L->ProgramJson + "'", M, Opts.Schema))
    return Fail(std::move(E));
  const std::string &R = L->Root;
  switch (L->Kind) {
  case ContainerKind::LegacyZip: {
    // 2.2 named the torch.save pickles .json; 2.3+ .pt.
    for (const char *Ext : {".pt", ".json"}) {
      std::string SD = R + "serialized_state_dict" + Ext, C = R + "serialized_constants" + Ext;
      if (Z.contains(SD))
        if (llvm::Error E = readTensorDict(Z, SD, M.Weights, Opts))
          return Fail(std::move(E));
      if (Z.contains(C))
        if (llvm::Error E = readTensorDict(Z, C, M.Constants, Opts))
          return Fail(std::move(E));
    }
    std::string EI = R + "serialized_example_inputs.pt";
    if (Opts.ReadSampleInputs && Z.contains(EI))
      if (llvm::Error E = readSampleInputs(Z, EI, M, Opts))
        return Fail(std::move(E));
    break;
  }
  case ContainerKind::Pt2ArchivePickled:
    if (llvm::Error E = readTensorDict(Z, R + "data/weights/model.pt", M.Weights, Opts))
      return Fail(std::move(E));
    if (Z.contains(R + "data/constants/model.pt"))
      if (llvm::Error E = readTensorDict(Z, R + "data/constants/model.pt", M.Constants, Opts))
        return Fail(std::move(E));
    break;
  case ContainerKind::Pt2ArchiveRaw:
    if (llvm::Error E = readRawPayloads(Z, R + "data/weights/", "model_weights_config.json", M.Weights, Opts))
      return Fail(std::move(E));
    if (llvm::Error E = readRawPayloads(Z, R + "data/constants/", "model_constants_config.json", M.Constants, Opts))
      return Fail(std::move(E));
    break;
  }
  if (L->Kind != ContainerKind::LegacyZip && Opts.ReadSampleInputs &&
      Z.contains(R + "data/sample_inputs/model.pt"))
    if (llvm::Error E = readSampleInputs(Z, R + "data/sample_inputs/model.pt", M, Opts))
      return Fail(std::move(E));
  if (llvm::Error E = checkValues(M))
    return Fail(std::move(E));
  if (llvm::Error E = checkPlaceholders(M))
    return Fail(std::move(E));
  return M;
}

} // namespace

llvm::Expected<Model> atalla::frontend::readModel(llvm::StringRef Path, const ArchiveOptions &Opts) {
  auto Z = ZipReader::openFile(Path, Opts.Zip);
  if (!Z)
    return Z.takeError();
  return readFromZip(**Z, Path, Opts);
}

llvm::Expected<Model> atalla::frontend::readModelFromBuffer(std::vector<uint8_t> Bytes,
                                                            llvm::StringRef DisplayName,
                                                            const ArchiveOptions &Opts) {
  auto Z = ZipReader::openBuffer(std::move(Bytes), DisplayName, Opts.Zip);
  if (!Z)
    return Z.takeError();
  return readFromZip(**Z, DisplayName, Opts);
}
