//===- frontend/FxImport.cpp - FX graphs from torch 1.13 as Models --------===//
#include "frontend/FxImport.h"

#include "frontend/Error.h"
#include "frontend/ScalarType.h"
#include "frontend/TensorData.h"
#include "runtime/abi/SchemaEnums.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

using namespace atalla::frontend;
using json = nlohmann::json;

namespace {

/// Errors carry the file and the place in it ("node 'relu_3'", "tensor 'fc.weight'").
struct Importer {
  std::string What;
  llvm::ArrayRef<uint8_t> Payload;
  Model M;
  std::set<std::string> Known; ///< Values defined so far, in graph order.

  llvm::Error fail(const llvm::Twine &Where, const llvm::Twine &Msg) const {
    return makeError(What + ": " + Where + ": " + Msg);
  }

  static const json *field(const json &O, const char *Key) {
    if (!O.is_object())
      return nullptr;
    auto It = O.find(Key);
    return It == O.end() ? nullptr : &*It;
  }

  llvm::Expected<std::string> str(const json &O, const char *Key, const llvm::Twine &Where) const {
    const json *F = field(O, Key);
    if (!F || !F->is_string())
      return fail(Where, llvm::Twine("'") + Key + "' is missing or not a string");
    return F->get<std::string>();
  }

  llvm::Expected<std::vector<int64_t>> intList(const json &V, const llvm::Twine &Where) const {
    if (!V.is_array())
      return fail(Where, "expected a list of integers");
    std::vector<int64_t> Out;
    for (const json &E : V) {
      if (!E.is_number_integer())
        return fail(Where, "expected a list of integers, found " + llvm::Twine(E.dump()));
      Out.push_back(E.get<int64_t>());
    }
    return Out;
  }

  llvm::Expected<ScalarType> dtype(const json &V, const llvm::Twine &Where) const {
    if (!V.is_string())
      return fail(Where, "a dtype must be a name such as \"float32\"");
    std::optional<ScalarType> T = scalarTypeFromName(V.get<std::string>());
    if (!T)
      return fail(Where, "unknown dtype '" + V.get<std::string>() + "'");
    return *T;
  }

  llvm::Expected<double> real(const json &V, const llvm::Twine &Where) const {
    if (V.is_number())
      return V.get<double>();
    if (V.is_string()) {
      std::string S = V.get<std::string>();
      if (S == "Infinity")
        return std::numeric_limits<double>::infinity();
      if (S == "-Infinity")
        return -std::numeric_limits<double>::infinity();
      if (S == "NaN")
        return std::numeric_limits<double>::quiet_NaN();
    }
    return fail(Where, "expected a number or \"Infinity\", \"-Infinity\", \"NaN\", found " + llvm::Twine(V.dump()));
  }

  llvm::Expected<Argument> tensorRef(const json &V, const llvm::Twine &Where) const {
    if (!V.is_string())
      return fail(Where, "a tensor reference must be a value name");
    std::string N = V.get<std::string>();
    if (!Known.count(N))
      return fail(Where, "uses '" + N + "' before it is defined");
    return Argument::tensor(N);
  }

  llvm::Expected<Argument> arg(const json &V, const llvm::Twine &Where) const {
    if (!V.is_object() || V.size() != 1)
      return fail(Where, "an argument must be an object with one tag, found " + llvm::Twine(V.dump()));
    const std::string &Tag = V.begin().key();
    const json &X = V.begin().value();
    Argument A;
    if (Tag == "tensor")
      return tensorRef(X, Where);
    if (Tag == "tensors" || Tag == "optional_tensors") {
      if (!X.is_array())
        return fail(Where, "'" + Tag + "' must be a list");
      A.Kind = Tag == "tensors" ? ArgKind::Tensors : ArgKind::OptionalTensors;
      for (const json &E : X) {
        if (E.is_null() && A.Kind == ArgKind::OptionalTensors) {
          A.Elems.push_back(Argument::none());
          continue;
        }
        auto T = tensorRef(E, Where);
        if (!T)
          return T.takeError();
        A.Elems.push_back(std::move(*T));
      }
      return A;
    }
    if (Tag == "none")
      return Argument::none();
    if (Tag == "bool") {
      if (!X.is_boolean())
        return fail(Where, "'bool' must be true or false");
      return Argument::boolean(X.get<bool>());
    }
    if (Tag == "int") {
      if (!X.is_number_integer())
        return fail(Where, "'int' must be an integer, found " + llvm::Twine(X.dump()));
      return Argument::integer(X.get<int64_t>());
    }
    if (Tag == "float") {
      auto F = real(X, Where);
      if (!F)
        return F.takeError();
      return Argument::real(*F);
    }
    if (Tag == "string") {
      if (!X.is_string())
        return fail(Where, "'string' must be a string");
      return Argument::string(X.get<std::string>());
    }
    if (Tag == "ints") {
      auto L = intList(X, Where);
      if (!L)
        return L.takeError();
      return Argument::ints(*L);
    }
    if (Tag == "floats" || Tag == "bools") {
      if (!X.is_array())
        return fail(Where, "'" + Tag + "' must be a list");
      A.Kind = Tag == "floats" ? ArgKind::Floats : ArgKind::Bools;
      for (const json &E : X) {
        if (A.Kind == ArgKind::Bools) {
          if (!E.is_boolean())
            return fail(Where, "'bools' must hold true or false");
          A.Elems.push_back(Argument::boolean(E.get<bool>()));
        } else {
          auto F = real(E, Where);
          if (!F)
            return F.takeError();
          A.Elems.push_back(Argument::real(*F));
        }
      }
      return A;
    }
    if (Tag == "scalar_type") {
      auto T = dtype(X, Where);
      if (!T)
        return T.takeError();
      return Argument::scalarType(*T);
    }
    if (Tag == "memory_format" || Tag == "layout") {
      std::string S = X.is_string() ? X.get<std::string>() : "";
      std::optional<int64_t> N;
      if (Tag == "memory_format") {
        if (S == "contiguous_format")
          N = int64_t(atalla::abi::SchemaMemoryFormat::Contiguous);
        else if (S == "channels_last")
          N = int64_t(atalla::abi::SchemaMemoryFormat::ChannelsLast);
        else if (S == "channels_last_3d")
          N = int64_t(atalla::abi::SchemaMemoryFormat::ChannelsLast3d);
        else if (S == "preserve_format")
          N = int64_t(atalla::abi::SchemaMemoryFormat::Preserve);
      } else if (S == "strided") {
        N = int64_t(atalla::abi::SchemaLayout::Strided);
      }
      if (!N)
        return fail(Where, "unknown " + Tag + " " + llvm::Twine(X.dump()));
      A.Kind = Tag == "layout" ? ArgKind::Layout : ArgKind::MemoryFormat;
      A.I = *N;
      return A;
    }
    if (Tag == "device") {
      if (!X.is_string())
        return fail(Where, "'device' must be a string such as \"cpu\"");
      auto [Type, Index] = llvm::StringRef(X.get<std::string>()).split(':');
      A.Kind = ArgKind::Device;
      A.Dev.Type = Type.str();
      if (!Index.empty()) {
        int64_t I;
        if (Index.getAsInteger(10, I))
          return fail(Where, "bad device index in " + llvm::Twine(X.dump()));
        A.Dev.Index = I;
      }
      return A;
    }
    return fail(Where, "unknown argument tag '" + Tag + "'");
  }

  llvm::Error value(const std::string &Name, const json &Values, bool RequiresGrad) {
    const json *V = field(Values, Name.c_str());
    if (!V)
      return fail("value '" + Name + "'", "has no entry in 'values'");
    const json *D = field(*V, "dtype"), *Sz = field(*V, "sizes"), *St = field(*V, "strides");
    if (!D || !Sz)
      return fail("value '" + Name + "'", "needs 'dtype' and 'sizes'");
    auto T = dtype(*D, "value '" + Name + "'");
    if (!T)
      return T.takeError();
    auto Sizes = intList(*Sz, "value '" + Name + "' sizes");
    if (!Sizes)
      return Sizes.takeError();
    std::vector<int64_t> Strides = contiguousStrides(*Sizes);
    if (St) {
      auto S = intList(*St, "value '" + Name + "' strides");
      if (!S)
        return S.takeError();
      if (S->size() != Sizes->size())
        return fail("value '" + Name + "'", "has " + llvm::Twine(Sizes->size()) + " sizes but " +
                                                llvm::Twine(S->size()) + " strides");
      Strides = *S;
    }
    TensorMeta TM;
    TM.Dtype = *T;
    for (int64_t X : *Sizes) {
      if (X < 0)
        return fail("value '" + Name + "'", "has a negative size");
      TM.Sizes.push_back(SymDim::concrete(X));
    }
    for (int64_t X : Strides)
      TM.Strides.push_back(SymDim::concrete(X));
    TM.RequiresGrad = RequiresGrad;
    if (!Known.insert(Name).second)
      return fail("value '" + Name + "'", "is defined twice");
    M.G.Values[Name] = TM;
    return llvm::Error::success();
  }

  llvm::Expected<TensorData> payload(const std::string &Key, const json &Tensors) const {
    std::string Where = "tensor '" + Key + "'";
    const json *T = field(Tensors, Key.c_str());
    if (!T)
      return fail(Where, "has no entry in 'tensors'");
    const json *D = field(*T, "dtype"), *Sz = field(*T, "sizes"), *Off = field(*T, "offset"),
               *Nb = field(*T, "nbytes");
    if (!D || !Sz || !Off || !Nb || !Off->is_number_unsigned() || !Nb->is_number_unsigned())
      return fail(Where, "needs 'dtype', 'sizes', and non-negative 'offset' and 'nbytes'");
    auto Ty = dtype(*D, Where);
    if (!Ty)
      return Ty.takeError();
    auto Sizes = intList(*Sz, Where);
    if (!Sizes)
      return Sizes.takeError();
    auto N = checkedNumel(*Sizes, elementSize(*Ty));
    if (!N)
      return prefixError(N.takeError(), What + ": " + Where);
    uint64_t O = Off->get<uint64_t>(), B = Nb->get<uint64_t>();
    uint64_t Need = uint64_t(*N) * uint64_t(elementSize(*Ty));
    if (Need != B)
      return fail(Where, "is " + llvm::Twine(B) + " bytes, its dtype and sizes need " + llvm::Twine(Need));
    if (O > Payload.size() || B > Payload.size() - O)
      return fail(Where, "bytes " + llvm::Twine(O) + ".." + llvm::Twine(O + B) + " lie outside the " +
                             llvm::Twine(Payload.size()) + "-byte payload");
    return TensorData::fromBytes(*Ty, *Sizes, std::vector<uint8_t>(Payload.begin() + O, Payload.begin() + O + B));
  }

  llvm::Error run(const json &J) {
    const json *Fmt = field(J, "format"), *Ver = field(J, "version");
    if (!Fmt || *Fmt != "atalla-fx")
      return fail("format", "not an atalla-fx interchange file (\"format\": \"atalla-fx\" missing)");
    if (!Ver || !Ver->is_number_integer() || Ver->get<int64_t>() != 1)
      return fail("version", "unsupported interchange version " + llvm::Twine(Ver ? Ver->dump() : "(none)") +
                                 " (this build reads 1)");
    const json *Ph = field(J, "placeholders"), *Values = field(J, "values"), *Tensors = field(J, "tensors"),
               *Nodes = field(J, "nodes"), *Outs = field(J, "outputs");
    if (!Ph || !Ph->is_array() || !Values || !Values->is_object() || !Tensors || !Tensors->is_object() ||
        !Nodes || !Nodes->is_array() || !Outs || !Outs->is_array())
      return fail("top level", "needs 'placeholders', 'nodes' and 'outputs' lists and 'values' and "
                               "'tensors' objects");
    M.Container = ContainerKind::Pt2ArchiveRaw;
    M.Verifiers = {"TRAINING"};
    M.OpsetVersion["aten"] = 10;

    for (size_t I = 0; I < Ph->size(); ++I) {
      const json &P = (*Ph)[I];
      std::string Where = "placeholder " + std::to_string(I);
      auto Name = str(P, "name", Where);
      if (!Name)
        return Name.takeError();
      auto Kind = str(P, "kind", Where);
      if (!Kind)
        return Kind.takeError();
      InputSpec S;
      S.Arg = Argument::tensor(*Name);
      if (*Kind == "user_input") {
        S.Kind = InputKind::UserInput;
      } else if (*Kind == "parameter" || *Kind == "buffer" || *Kind == "constant") {
        S.Kind = *Kind == "parameter" ? InputKind::Parameter
                 : *Kind == "buffer"  ? InputKind::Buffer
                                      : InputKind::TensorConstant;
        auto Target = str(P, "target", Where + " '" + *Name + "'");
        if (!Target)
          return Target.takeError();
        S.Target = *Target;
      } else {
        return fail(Where + " '" + *Name + "'", "unknown kind '" + *Kind + "'");
      }
      if (auto E = value(*Name, *Values, S.Kind == InputKind::Parameter))
        return E;
      auto Data = payload(S.Kind == InputKind::UserInput ? "input:" + *Name : S.Target, *Tensors);
      if (!Data)
        return Data.takeError();
      const TensorMeta &TM = M.G.Values[*Name];
      if (Data->Dtype != TM.Dtype || Data->Sizes != TM.hintedSizes())
        return fail(Where + " '" + *Name + "'", "its payload's dtype or sizes differ from its value's");
      if (S.Kind == InputKind::UserInput) {
        M.SampleInputs.push_back(std::move(*Data));
        M.HasSampleInputs = true;
      } else {
        Data->RequiresGrad = S.Kind == InputKind::Parameter;
        (S.Kind == InputKind::TensorConstant ? M.Constants : M.Weights)[S.Target] = std::move(*Data);
      }
      M.G.Inputs.push_back(S.Arg);
      M.InputSpecs.push_back(std::move(S));
    }

    for (const json &NJ : *Nodes) {
      auto Name = str(NJ, "name", "a node");
      if (!Name)
        return Name.takeError();
      std::string Where = "node '" + *Name + "'";
      auto Target = str(NJ, "target", Where);
      if (!Target)
        return Target.takeError();
      Node N;
      N.Name = *Name;
      N.Target = *Target;
      llvm::StringRef T = *Target;
      if (!T.consume_front("torch.ops.") || T.count('.') != 2)
        return fail(Where, "target '" + *Target + "' is not torch.ops.<ns>.<op>.<overload>");
      auto [Ns, Rest] = T.split('.');
      auto [Op, Overload] = Rest.split('.');
      N.Ns = Ns.str();
      N.Op = Op.str();
      N.Overload = Overload == "default" ? "" : Overload.str();
      const json *Ins = field(NJ, "inputs"), *Os = field(NJ, "outputs");
      if (!Ins || !Ins->is_array() || !Os || !Os->is_array() || Os->empty())
        return fail(Where, "needs an 'inputs' list and a non-empty 'outputs' list");
      for (const json &IJ : *Ins) {
        auto ArgName = str(IJ, "name", Where);
        if (!ArgName)
          return ArgName.takeError();
        const json *A = field(IJ, "arg");
        if (!A)
          return fail(Where + " argument '" + *ArgName + "'", "has no 'arg'");
        auto V = arg(*A, Where + " argument '" + *ArgName + "'");
        if (!V)
          return V.takeError();
        const json *K = field(IJ, "kind");
        ArgPassing Passing = !K ? ArgPassing::Unknown
                             : *K == "keyword" ? ArgPassing::Keyword
                                               : ArgPassing::Positional;
        N.Inputs.push_back(NamedArgument{*ArgName, std::move(*V), Passing, false});
      }
      for (const json &OJ : *Os) {
        Argument O;
        std::vector<std::string> Names;
        if (const json *One = field(OJ, "tensor"); One && One->is_string()) {
          O = Argument::tensor(One->get<std::string>());
          Names.push_back(O.S);
        } else if (const json *Many = field(OJ, "tensors"); Many && Many->is_array()) {
          O.Kind = ArgKind::Tensors;
          for (const json &E : *Many) {
            if (!E.is_string())
              return fail(Where, "an output list must hold value names");
            O.Elems.push_back(Argument::tensor(E.get<std::string>()));
            Names.push_back(E.get<std::string>());
          }
        } else {
          return fail(Where, "an output must be {\"tensor\": name} or {\"tensors\": [names]}");
        }
        for (const std::string &On : Names)
          if (auto E = value(On, *Values, false))
            return E;
        N.Outputs.push_back(std::move(O));
      }
      M.G.Nodes.push_back(std::move(N));
    }

    for (const json &O : *Outs) {
      if (!O.is_string() || !Known.count(O.get<std::string>()))
        return fail("outputs", "output " + llvm::Twine(O.dump()) + " is not a defined value");
      M.G.Outputs.push_back(Argument::tensor(O.get<std::string>()));
      OutputSpec S;
      S.Kind = OutputKind::UserOutput;
      S.Arg = M.G.Outputs.back();
      M.OutputSpecs.push_back(std::move(S));
    }
    if (M.G.Outputs.empty())
      return fail("outputs", "the graph has no outputs");
    M.G.IsSingleTensorReturn = M.G.Outputs.size() == 1;
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<Model> atalla::frontend::importFx(llvm::StringRef Json, llvm::ArrayRef<uint8_t> Payload,
                                                  llvm::StringRef What) {
  Importer I;
  I.What = What.str();
  I.Payload = Payload;
  json J = json::parse(Json.begin(), Json.end(), nullptr, /*allow_exceptions=*/false);
  if (J.is_discarded())
    return makeError(What + ": not valid JSON");
  if (llvm::Error E = I.run(J))
    return E;
  return std::move(I.M);
}

llvm::Expected<Model> atalla::frontend::importFxFile(llvm::StringRef JsonPath, llvm::StringRef PayloadPath) {
  std::string Bin = PayloadPath.str();
  if (Bin.empty()) {
    llvm::StringRef Stem = JsonPath;
    Stem.consume_back(".json");
    Bin = (Stem + ".bin").str();
  }
  auto J = llvm::MemoryBuffer::getFile(JsonPath, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!J)
    return makeError(JsonPath + ": cannot read: " + J.getError().message());
  auto B = llvm::MemoryBuffer::getFile(Bin, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!B)
    return makeError(Bin + ": cannot read the payload: " + B.getError().message());
  llvm::ArrayRef<uint8_t> Bytes(reinterpret_cast<const uint8_t *>((*B)->getBufferStart()), (*B)->getBufferSize());
  return importFx((*J)->getBuffer(), Bytes, JsonPath);
}
