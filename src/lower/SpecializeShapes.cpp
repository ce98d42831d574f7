//===- lower/SpecializeShapes.cpp - every dimension concrete --------------===//
//
// --shapes static: symbols are bound from the user inputs' shapes (from
// --input-shape, else the exporter's hints), checked against the range
// constraints, and every tensor's sizes are evaluated. Expressions are
// sympy reprs as the frontend simplified them ("s77", "Add(s0, 1)",
// "Mul(2, s0)", "FloorDiv(s0, 2)"), evaluated here without sympy.
// sym_size nodes fold to constants, so later passes see only integers.
//
//===----------------------------------------------------------------------===//
#include "lower/Passes.h"

#include "frontend/Error.h"
#include "frontend/Printers.h"

#include "llvm/ADT/StringExtras.h"

using namespace atalla;
using namespace atalla::lower;
using frontend::ArgKind;
using frontend::makeError;

namespace {

struct ExprEval {
  const std::map<std::string, int64_t> &Syms;
  llvm::StringRef Text;
  size_t Pos = 0;
  std::string Err;

  void skip() {
    while (Pos < Text.size() && Text[Pos] == ' ')
      ++Pos;
  }
  std::optional<int64_t> parse() {
    skip();
    if (Pos >= Text.size())
      return fail("unexpected end");
    if (Text[Pos] == '-' || llvm::isDigit(Text[Pos])) {
      size_t Start = Pos++;
      while (Pos < Text.size() && llvm::isDigit(Text[Pos]))
        ++Pos;
      int64_t V;
      if (Text.substr(Start, Pos - Start).getAsInteger(10, V))
        return fail("bad integer");
      return V;
    }
    size_t Start = Pos;
    while (Pos < Text.size() && (llvm::isAlnum(Text[Pos]) || Text[Pos] == '_'))
      ++Pos;
    std::string Name = Text.substr(Start, Pos - Start).str();
    skip();
    if (Pos < Text.size() && Text[Pos] == '(') {
      ++Pos;
      std::vector<int64_t> Args;
      while (true) {
        auto A = parse();
        if (!A)
          return std::nullopt;
        Args.push_back(*A);
        skip();
        if (Pos < Text.size() && Text[Pos] == ',') {
          ++Pos;
          continue;
        }
        if (Pos < Text.size() && Text[Pos] == ')') {
          ++Pos;
          break;
        }
        return fail("expected ',' or ')'");
      }
      if (Name == "Add") {
        int64_t S = 0;
        for (int64_t A : Args)
          S += A;
        return S;
      }
      if (Name == "Mul") {
        int64_t S = 1;
        for (int64_t A : Args)
          S *= A;
        return S;
      }
      if ((Name == "FloorDiv" || Name == "floor_divide") && Args.size() == 2 && Args[1] != 0) {
        int64_t Q = Args[0] / Args[1];
        return (Args[0] % Args[1] != 0 && ((Args[0] < 0) != (Args[1] < 0))) ? Q - 1 : Q;
      }
      if ((Name == "Mod" || Name == "PythonMod") && Args.size() == 2 && Args[1] != 0)
        return ((Args[0] % Args[1]) + Args[1]) % Args[1];
      if (Name == "Max" && !Args.empty())
        return *std::max_element(Args.begin(), Args.end());
      if (Name == "Min" && !Args.empty())
        return *std::min_element(Args.begin(), Args.end());
      return fail("unsupported function '" + Name + "'");
    }
    auto It = Syms.find(Name);
    if (It == Syms.end())
      return fail("unbound symbol '" + Name + "'");
    return It->second;
  }
  std::optional<int64_t> fail(const std::string &Why) {
    if (Err.empty())
      Err = Why;
    return std::nullopt;
  }
};

} // namespace

llvm::Error atalla::lower::specializeShapes(LoweringState &S, const ShapeOptions &Opts) {
  const frontend::Model &M = *S.M;
  std::vector<std::string> Placeholders = M.userInputNames();
  std::vector<std::string> Forward = M.forwardArgNames();
  // Which --input-shape names exist.
  for (const auto &[Name, Shape] : Opts.InputShapes) {
    bool Known = false;
    for (size_t I = 0; I < Placeholders.size(); ++I)
      Known |= Placeholders[I] == Name || (I < Forward.size() && Forward[I] == Name);
    if (!Known)
      return makeError(M.Path + ": --input-shape names '" + Name + "', which is not an input (inputs: " +
                       llvm::join(Forward, ", ") + ")");
  }
  // Bind symbols from the user inputs.
  for (size_t I = 0; I < Placeholders.size(); ++I) {
    const frontend::TensorMeta *Meta = M.G.meta(Placeholders[I]);
    if (!Meta)
      continue;
    const std::vector<int64_t> *Given = nullptr;
    auto It = Opts.InputShapes.find(Placeholders[I]);
    if (It == Opts.InputShapes.end() && I < Forward.size())
      It = Opts.InputShapes.find(Forward[I]);
    if (It != Opts.InputShapes.end())
      Given = &It->second;
    std::string Who = "input '" + (I < Forward.size() ? Forward[I] : Placeholders[I]) + "'";
    if (Given && Given->size() != Meta->Sizes.size())
      return makeError(M.Path + ": --input-shape for " + Who + " has " + std::to_string(Given->size()) +
                       " dimensions, the model's has " + std::to_string(Meta->Sizes.size()) + " " +
                       frontend::formatShape(Meta->Sizes));
    for (size_t D = 0; D < Meta->Sizes.size(); ++D) {
      const frontend::SymDim &SD = Meta->Sizes[D];
      if (SD.isConcrete()) {
        if (Given && (*Given)[D] != *SD.Value)
          return makeError(M.Path + ": --input-shape for " + Who + ": dimension " + std::to_string(D) +
                           " is static " + std::to_string(*SD.Value) + " in the model, not " +
                           std::to_string((*Given)[D]));
        continue;
      }
      int64_t V = Given ? (*Given)[D] : SD.Hint.value_or(-1);
      if (V < 0)
        return makeError(M.Path + ": " + Who + " dimension " + std::to_string(D) + " is symbolic ('" + SD.Expr +
                         "') with no hint; give --input-shape");
      bool Plain = !SD.Expr.empty() && llvm::all_of(SD.Expr, [](char C) { return llvm::isAlnum(C) || C == '_'; });
      if (!Plain)
        continue; // derived dimension: checked once all symbols are bound
      auto Bound = S.SymValues.find(SD.Expr);
      if (Bound != S.SymValues.end() && Bound->second != V)
        return makeError(M.Path + ": symbol '" + SD.Expr + "' would be both " + std::to_string(Bound->second) +
                         " and " + std::to_string(V));
      S.SymValues[SD.Expr] = V;
      auto RC = M.RangeConstraints.find(SD.Expr);
      if (RC != M.RangeConstraints.end() &&
          ((RC->second.Min && V < *RC->second.Min) || (RC->second.Max && V > *RC->second.Max)))
        return makeError(M.Path + ": " + Who + " dimension " + std::to_string(D) + " = " + std::to_string(V) +
                         " is outside the exported range of '" + SD.Expr + "' [" +
                         (RC->second.Min ? std::to_string(*RC->second.Min) : "-inf") + ", " +
                         (RC->second.Max ? std::to_string(*RC->second.Max) : "inf") + "]");
    }
  }
  auto eval = [&](const frontend::SymDim &D, const std::string &Where) -> llvm::Expected<int64_t> {
    if (D.isConcrete())
      return *D.Value;
    ExprEval E{S.SymValues, D.Expr, 0, ""};
    auto V = E.parse();
    if (!V)
      return makeError(M.Path + ": " + Where + ": cannot evaluate '" + D.Expr + "': " + E.Err);
    return *V;
  };
  for (const auto &[Name, Meta] : M.G.Values) {
    std::vector<int64_t> Sizes;
    for (const frontend::SymDim &D : Meta.Sizes) {
      auto V = eval(D, "tensor '" + Name + "'");
      if (!V)
        return V.takeError();
      Sizes.push_back(*V);
    }
    S.Shapes[Name] = std::move(Sizes);
  }
  // Fold symbolic integers (sym_size nodes and the graph's SymInt values).
  for (const auto &[Name, D] : M.G.SymInts) {
    auto V = eval(D, "symbolic integer '" + Name + "'");
    if (V)
      S.SymValues[Name] = *V;
    else
      llvm::consumeError(V.takeError());
  }
  std::vector<frontend::Node> Kept;
  for (frontend::Node &N : S.Nodes) {
    if (N.Ns == "aten" && N.Op == "sym_size" && N.Outputs.size() == 1 && N.Outputs[0].Kind == ArgKind::SymInt) {
      const frontend::NamedArgument *Self = N.input("self"), *Dim = N.input("dim");
      if (Self && Dim) {
        auto Sh = S.Shapes.find(S.resolve(Self->Arg.S));
        if (Sh != S.Shapes.end()) {
          int64_t D = Dim->Arg.I < 0 ? Dim->Arg.I + static_cast<int64_t>(Sh->second.size()) : Dim->Arg.I;
          if (D >= 0 && D < static_cast<int64_t>(Sh->second.size())) {
            S.SymValues[N.Outputs[0].S] = Sh->second[D];
            continue;
          }
        }
      }
    }
    // Replace symbolic integer arguments by their values.
    for (frontend::NamedArgument &A : N.Inputs) {
      auto fold = [&](frontend::Argument &X) -> llvm::Error {
        if (X.Kind != ArgKind::SymInt)
          return llvm::Error::success();
        auto It = S.SymValues.find(X.S);
        if (It == S.SymValues.end())
          return makeError(M.Path + ": node '" + N.Name + "': symbolic integer '" + X.S + "' has no static value");
        X = frontend::Argument::integer(It->second);
        return llvm::Error::success();
      };
      if (llvm::Error E = fold(A.Arg))
        return E;
      for (frontend::Argument &X : A.Arg.Elems)
        if (llvm::Error E = fold(X))
          return E;
      if (A.Arg.Kind == ArgKind::SymInts) {
        bool AllInt = llvm::all_of(A.Arg.Elems, [](const frontend::Argument &X) { return X.Kind == ArgKind::Int; });
        if (AllInt)
          A.Arg.Kind = ArgKind::Ints;
      }
    }
    Kept.push_back(std::move(N));
  }
  S.Nodes = std::move(Kept);
  return llvm::Error::success();
}
