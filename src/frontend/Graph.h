//===- frontend/Graph.h - the typed ATen graph of an exported program -*- C++ -*-===//
//
// What the frontend hands to the rest of the compiler: the program's values
// (dtype, shape with symbolic dimensions, strides), its nodes (ATen op name,
// overload and typed arguments, defaults filled in for known ops), the graph
// signature, and the weights, constants and sample inputs, all read from the
// archive. Mirrors torch/_export/serde/schema.py closely enough that every
// schema version from 1 to 8.x maps onto it without loss for the fields the
// project uses.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_GRAPH_H
#define ATALLA_FRONTEND_GRAPH_H

#include "frontend/ScalarType.h"
#include "frontend/TensorData.h"
#include "runtime/abi/SchemaEnums.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atalla::frontend {

/// A dimension or stride: a concrete value, or a symbolic expression with
/// the hint the exporter traced with (when it recorded one).
struct SymDim {
  std::optional<int64_t> Value; ///< Set for a concrete dimension.
  std::string Expr;             ///< "s77", "s0 + 1" for a symbolic one.
  std::optional<int64_t> Hint;

  bool isConcrete() const { return Value.has_value(); }
  /// The concrete value, else the hint, else -1.
  int64_t valueOrHint() const { return Value ? *Value : (Hint ? *Hint : -1); }
  static SymDim concrete(int64_t V) { return SymDim{V, {}, {}}; }
  bool operator==(const SymDim &O) const {
    return Value == O.Value && Expr == O.Expr && Hint == O.Hint;
  }
};

struct Device {
  std::string Type = "cpu";
  std::optional<int64_t> Index;
  bool operator==(const Device &O) const { return Type == O.Type && Index == O.Index; }
};

/// TensorMeta of the schema.
struct TensorMeta {
  ScalarType Dtype = ScalarType::Float32;
  std::vector<SymDim> Sizes;
  std::vector<SymDim> Strides;
  SymDim StorageOffset = SymDim::concrete(0);
  bool RequiresGrad = false;
  Device Dev;
  int64_t Layout = int64_t(abi::SchemaLayout::Strided); ///< the schema's Layout number

  bool isStatic() const;
  /// Sizes with symbolic dimensions replaced by their hints (-1 if none).
  std::vector<int64_t> hintedSizes() const;
  bool operator==(const TensorMeta &O) const;
};

struct Graph;

/// Every Argument tag of the export schema (1 to 8.x).
enum class ArgKind {
  None,
  Tensor,
  Tensors,
  Int,
  Ints,
  Float,
  Floats,
  String,
  Strings,
  SymInt,
  SymInts,
  SymFloat,
  SymFloats,
  Bool,
  Bools,
  SymBool,
  SymBools,
  ScalarType,
  MemoryFormat,
  Layout,
  Device,
  OptionalTensor,
  OptionalTensors,
  Graph,
  CustomObj,
  Operator,
  Complex,
  NestedTensors,
  IntLists,
  StringToArgument,
};

/// The schema's tag for \p K, e.g. "as_tensor".
const char *argKindTag(ArgKind K);

/// One argument value. Scalars use the first fields; lists use Elems, whose
/// elements are Arguments of the element kind (Int or a SymInt name for
/// SymInts; Tensor or None for OptionalTensors), which keeps mixed lists such
/// as [s0, 4] exact.
struct Argument {
  ArgKind Kind = ArgKind::None;
  int64_t I = 0;     ///< Int, Bool (0/1), ScalarType, MemoryFormat, Layout.
  double F = 0;      ///< Float; Complex real part.
  double Imag = 0;   ///< Complex imaginary part.
  std::string S;     ///< Tensor/SymInt/SymBool/SymFloat name, String, Operator, CustomObj name.
  std::string S2;    ///< CustomObj class.
  struct Device Dev; ///< Device.
  std::vector<Argument> Elems;
  std::vector<std::string> Keys;  ///< StringToArgument keys, parallel to Elems.
  std::shared_ptr<Graph> Sub;     ///< Graph (higher-order op bodies).

  static Argument none() { return {}; }
  static Argument tensor(std::string Name);
  static Argument integer(int64_t V);
  static Argument real(double V);
  static Argument boolean(bool V);
  static Argument string(std::string V);
  static Argument ints(const std::vector<int64_t> &V);
  static Argument scalarType(ScalarType T);

  bool isNone() const { return Kind == ArgKind::None; }
  /// The integers of an Ints/SymInts list with only concrete elements.
  std::optional<std::vector<int64_t>> asInts() const;
  /// Names of the tensors this argument refers to, in order.
  void collectTensorNames(std::vector<std::string> &Out) const;
  bool operator==(const Argument &O) const;
};

/// 1 positional, 2 keyword-only, as the schema's ArgumentKind.
enum class ArgPassing { Unknown = 0, Positional = 1, Keyword = 2 };

struct NamedArgument {
  std::string Name;
  Argument Arg;
  ArgPassing Passing = ArgPassing::Unknown;
  bool Defaulted = false; ///< Filled from the op-schema table, not in the archive.
  bool operator==(const NamedArgument &O) const {
    return Name == O.Name && Arg == O.Arg && Passing == O.Passing && Defaulted == O.Defaulted;
  }
};

struct Node {
  std::string Name;    ///< The node's name, or its first output's where the schema has none.
  std::string Target;  ///< As the archive names it: "torch.ops.aten.relu.default".
  std::string Ns;      ///< "aten" (empty for a non-op target such as operator.getitem).
  std::string Op;      ///< "relu".
  std::string Overload;///< "" for .default, else "int", "Tensor", ...
  std::vector<NamedArgument> Inputs;
  std::vector<Argument> Outputs;
  std::map<std::string, std::string> Metadata;

  /// "aten::relu" (or the raw target for a non-ATen target).
  std::string qualifiedOp() const;
  /// "aten::softmax.int"
  std::string opWithOverload() const;
  const NamedArgument *input(const std::string &Name) const;
};

enum class InputKind { UserInput, Parameter, Buffer, TensorConstant, CustomObj, Token, ConstantInput };
enum class OutputKind {
  UserOutput, LossOutput, BufferMutation, GradientToParameter, GradientToUserInput,
  UserInputMutation, Token, ParameterMutation
};
const char *inputKindName(InputKind K);
const char *outputKindName(OutputKind K);

struct InputSpec {
  InputKind Kind = InputKind::UserInput;
  Argument Arg;        ///< The placeholder (usually a Tensor; SymInt or constant for user inputs).
  std::string Target;  ///< Parameter/buffer/constant FQN, or the constant input's name.
  bool Persistent = true;
};

struct OutputSpec {
  OutputKind Kind = OutputKind::UserOutput;
  Argument Arg;
  std::string Target;  ///< Mutated buffer/parameter/user input name.
};

struct RangeConstraint {
  std::optional<int64_t> Min, Max; ///< nullopt = unbounded.
};

struct Graph {
  std::vector<Argument> Inputs;   ///< Placeholders in order.
  std::vector<Argument> Outputs;
  std::vector<Node> Nodes;
  std::map<std::string, TensorMeta> Values;
  std::map<std::string, SymDim> SymInts;
  std::map<std::string, SymDim> SymBools;  ///< Value 0/1 or expression.
  bool IsSingleTensorReturn = false;

  const TensorMeta *meta(const std::string &Name) const;
};

struct ModuleCallEntry {
  std::string Fqn;
  bool HasSignature = false;
  std::string InSpec, OutSpec;
  std::vector<std::string> ForwardArgNames;
};

enum class ContainerKind { LegacyZip, Pt2ArchivePickled, Pt2ArchiveRaw };
const char *containerKindName(ContainerKind K);

/// A whole exported program as read from one archive.
struct Model {
  // Provenance.
  std::string Path;
  ContainerKind Container = ContainerKind::Pt2ArchiveRaw;
  std::string RootFolder;        ///< Empty for the legacy flat zip.
  int64_t SchemaMajor = 0, SchemaMinor = 0;
  std::string TorchVersion;      ///< Empty when the archive does not say.
  std::string Dialect;           ///< 2.2's "ATEN"; empty later.
  std::vector<std::string> Verifiers;
  std::map<std::string, int64_t> OpsetVersion;

  Graph G;
  std::vector<InputSpec> InputSpecs;
  std::vector<OutputSpec> OutputSpecs;
  std::vector<ModuleCallEntry> ModuleCallGraph;
  std::map<std::string, RangeConstraint> RangeConstraints;

  /// Parameters and buffers by FQN, and lifted constants by name.
  std::map<std::string, TensorData> Weights;
  std::map<std::string, TensorData> Constants;
  /// Sample inputs in forward-argument order (empty if the archive has none).
  std::vector<TensorData> SampleInputs;
  bool HasSampleInputs = false;

  /// User-input placeholders in order (names).
  std::vector<std::string> userInputNames() const;
  /// User outputs in order (names of the output tensors).
  std::vector<std::string> userOutputNames() const;
  /// The forward() argument names when the module call graph records them,
  /// else the user-input placeholder names.
  std::vector<std::string> forwardArgNames() const;
  /// The tensor bound to a non-user placeholder (parameter, buffer, constant).
  const TensorData *placeholderData(const InputSpec &S) const;
};

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_GRAPH_H
