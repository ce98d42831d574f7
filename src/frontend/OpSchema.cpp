//===- frontend/OpSchema.cpp - ATen operator schemas ---------------------===//
//
// A small recursive-descent parser for the schema language of
// native_functions.yaml, plus the table built from OpSchemas.def. The parser
// keeps types and defaults as text: deciding what "[0, 0]" or "'none'" means
// is the consumer's business, and keeping the text makes errors and dumps
// match what a PyTorch developer would read.
//
//===----------------------------------------------------------------------===//
#include "frontend/OpSchema.h"

#include "frontend/Error.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"

using namespace llvm;

namespace atalla::frontend {

namespace {

bool isIdentStart(char C) { return isAlpha(C) || C == '_'; }
bool isIdentChar(char C) { return isAlnum(C) || C == '_'; }

/// Parses one schema string. Offsets are always into the full text so that
/// every error can point at a column the reader can count to.
class SchemaParser {
public:
  explicit SchemaParser(StringRef Text) : Text(Text) {}

  Expected<OpSchema> parse() {
    OpSchema Schema;
    Schema.Text = Text.str();
    size_t Pos = skipSpace(0);

    size_t NameEnd = scanIdent(Pos);
    if (NameEnd == Pos)
      return fail(Pos, "expected an operator name");
    Schema.Name = Text.slice(Pos, NameEnd).str();
    Pos = NameEnd;

    if (Pos < Text.size() && Text[Pos] == '.') {
      size_t OverloadEnd = scanIdent(Pos + 1);
      if (OverloadEnd == Pos + 1)
        return fail(Pos + 1, "expected an overload name after '.'");
      Schema.Overload = Text.slice(Pos + 1, OverloadEnd).str();
      Pos = OverloadEnd;
    }

    if (Pos >= Text.size() || Text[Pos] != '(')
      return fail(Pos, "expected '(' after the operator name");

    SmallVector<size_t, 16> Commas;
    Expected<size_t> Close = scanGroup(Pos + 1, ')', Commas);
    if (!Close)
      return Close.takeError();
    if (Error E = parseArgs(Pos + 1, *Close, Commas, Schema.Args))
      return E;

    Pos = skipSpace(*Close + 1);
    if (!Text.substr(Pos).starts_with("->"))
      return fail(Pos, "expected '->' after the argument list");
    Pos = skipSpace(Pos + 2);
    if (Error E = parseReturns(Pos, Schema.Returns))
      return E;
    return Schema;
  }

private:
  StringRef Text;

  Error fail(size_t At, const Twine &What) const {
    return makeError("malformed op schema at column " + Twine(At + 1) + ": " +
                     What + " in '" + Text + "'");
  }

  size_t skipSpace(size_t Pos) const {
    while (Pos < Text.size() && isSpace(Text[Pos]))
      ++Pos;
    return Pos;
  }

  /// End of the identifier starting at \p Pos (== Pos when there is none).
  size_t scanIdent(size_t Pos) const {
    if (Pos >= Text.size() || !isIdentStart(Text[Pos]))
      return Pos;
    while (Pos < Text.size() && isIdentChar(Text[Pos]))
      ++Pos;
    return Pos;
  }

  /// End of the quoted string whose opening quote is at \p Pos (one past the
  /// closing quote). Defaults such as "\"'\\" make escapes matter.
  Expected<size_t> scanString(size_t Pos) const {
    char Quote = Text[Pos];
    for (size_t I = Pos + 1; I < Text.size(); ++I) {
      if (Text[I] == '\\') {
        ++I;
        continue;
      }
      if (Text[I] == Quote)
        return I + 1;
    }
    return fail(Pos, "unterminated string");
  }

  /// Scans from \p Begin to the first \p Stop not nested in brackets,
  /// parentheses or quotes, recording the top-level commas on the way.
  /// A \p Stop of 0 means "to the end of the text".
  Expected<size_t> scanGroup(size_t Begin, char Stop,
                             SmallVectorImpl<size_t> &Commas) const {
    SmallVector<std::pair<char, size_t>, 8> Open;
    for (size_t I = Begin; I < Text.size(); ++I) {
      char C = Text[I];
      if (C == '\'' || C == '"') {
        Expected<size_t> End = scanString(I);
        if (!End)
          return End.takeError();
        I = *End - 1;
        continue;
      }
      if (C == '(' || C == '[') {
        Open.push_back({C == '(' ? ')' : ']', I});
        continue;
      }
      if (C == ')' || C == ']') {
        if (!Open.empty()) {
          if (Open.back().first != C)
            return fail(I, Twine("'") + Twine(C) + "' does not match '" +
                               Twine(Open.back().first == ')' ? '(' : '[') +
                               "' at column " + Twine(Open.back().second + 1));
          Open.pop_back();
          continue;
        }
        if (C == Stop)
          return I;
        return fail(I, Twine("unmatched '") + Twine(C) + "'");
      }
      if (C == ',' && Open.empty())
        Commas.push_back(I);
    }
    if (!Open.empty())
      return fail(Open.back().second,
                  Twine("unclosed '") +
                      Twine(Open.back().first == ')' ? '(' : '[') + "'");
    if (Stop)
      return fail(Text.size(), Twine("expected '") + Twine(Stop) + "'");
    return Text.size();
  }

  /// Scans a type starting at \p Pos: an identifier, an optional alias
  /// annotation "(a!)" / "(a -> *)", then any run of "?" and "[N]".
  /// Returns its end, which is \p Pos when there is no type.
  Expected<size_t> scanType(size_t Pos, size_t End) const {
    size_t I = scanIdent(Pos);
    if (I == Pos || I > End)
      return fail(Pos, "expected a type");
    if (I < End && Text[I] == '(') {
      size_t Close = Text.find(')', I);
      if (Close == StringRef::npos || Close >= End)
        return fail(I, "unclosed alias annotation");
      if (Text.slice(I + 1, Close).trim().empty())
        return fail(I, "empty alias annotation");
      I = Close + 1;
    }
    while (I < End) {
      if (Text[I] == '?') {
        ++I;
        continue;
      }
      if (Text[I] != '[')
        break;
      size_t J = I + 1;
      while (J < End && isDigit(Text[J]))
        ++J;
      if (J >= End || Text[J] != ']')
        return fail(J, "expected ']' in list type");
      I = J + 1;
    }
    return I;
  }

  Error parseArgs(size_t Begin, size_t End, ArrayRef<size_t> Commas,
                  std::vector<SchemaArg> &Args) const {
    if (Text.slice(Begin, End).trim().empty()) {
      if (!Commas.empty())
        return fail(Commas.front(), "empty argument");
      return Error::success();
    }
    bool KwargOnly = false;
    StringSet<> Seen;
    size_t PieceBegin = Begin;
    for (size_t I = 0; I <= Commas.size(); ++I) {
      size_t PieceEnd = I < Commas.size() ? Commas[I] : End;
      size_t Start = skipSpace(PieceBegin);
      size_t Stop = PieceEnd;
      while (Stop > Start && isSpace(Text[Stop - 1]))
        --Stop;
      PieceBegin = PieceEnd + 1;
      if (Start >= Stop)
        return fail(Start, "empty argument");

      if (Text.slice(Start, Stop) == "*") {
        if (KwargOnly)
          return fail(Start, "second '*' marker");
        KwargOnly = true;
        continue;
      }

      Expected<SchemaArg> Arg = parseArg(Start, Stop);
      if (!Arg)
        return Arg.takeError();
      if (!Seen.insert(Arg->Name).second)
        return fail(Start, "duplicate argument '" + Arg->Name + "'");
      Arg->KwargOnly = KwargOnly;
      Args.push_back(std::move(*Arg));
    }
    return Error::success();
  }

  /// One "Type name[=default]" between \p Start and \p Stop (trimmed).
  Expected<SchemaArg> parseArg(size_t Start, size_t Stop) const {
    SchemaArg Arg;
    Expected<size_t> TypeEnd = scanType(Start, Stop);
    if (!TypeEnd)
      return TypeEnd.takeError();
    Arg.Type = Text.slice(Start, *TypeEnd).str();

    size_t NamePos = skipSpace(*TypeEnd);
    if (NamePos == *TypeEnd || NamePos >= Stop)
      return fail(NamePos, "expected an argument name after the type");
    size_t NameEnd = scanIdent(NamePos);
    if (NameEnd == NamePos || NameEnd > Stop)
      return fail(NamePos, "expected an argument name after the type");
    Arg.Name = Text.slice(NamePos, NameEnd).str();

    size_t Pos = skipSpace(NameEnd);
    if (Pos >= Stop)
      return Arg;
    if (Text[Pos] != '=')
      return fail(Pos, "expected '=' or ',' after argument '" + Arg.Name + "'");
    size_t DefaultPos = skipSpace(Pos + 1);
    if (DefaultPos >= Stop)
      return fail(DefaultPos, "expected a default value after '='");
    Arg.Default = Text.slice(DefaultPos, Stop).str();
    return Arg;
  }

  /// Returns after "->": "()", "Tensor", "Tensor grid", "Tensor(a)[]",
  /// "(Tensor, Tensor)" or "(Tensor values, Tensor indices)".
  Error parseReturns(size_t Pos, std::vector<std::string> &Returns) const {
    if (Pos >= Text.size())
      return fail(Pos, "expected a return type after '->'");
    if (Text[Pos] != '(')
      return parseReturn(Pos, Text.size(), Returns);

    SmallVector<size_t, 8> Commas;
    Expected<size_t> Close = scanGroup(Pos + 1, ')', Commas);
    if (!Close)
      return Close.takeError();
    size_t After = skipSpace(*Close + 1);
    if (After < Text.size())
      return fail(After, "unexpected text after the return list");
    if (Text.slice(Pos + 1, *Close).trim().empty()) {
      if (!Commas.empty())
        return fail(Commas.front(), "empty return");
      return Error::success();
    }
    size_t PieceBegin = Pos + 1;
    for (size_t I = 0; I <= Commas.size(); ++I) {
      size_t PieceEnd = I < Commas.size() ? Commas[I] : *Close;
      if (Error E = parseReturn(skipSpace(PieceBegin), PieceEnd, Returns))
        return E;
      PieceBegin = PieceEnd + 1;
    }
    return Error::success();
  }

  Error parseReturn(size_t Start, size_t End,
                    std::vector<std::string> &Returns) const {
    while (End > Start && isSpace(Text[End - 1]))
      --End;
    if (Start >= End)
      return fail(Start, "empty return");
    Expected<size_t> TypeEnd = scanType(Start, End);
    if (!TypeEnd)
      return TypeEnd.takeError();
    size_t Pos = skipSpace(*TypeEnd);
    // A return may be named ("-> Tensor grid"); only the type is kept.
    if (Pos < End && Pos > *TypeEnd)
      Pos = skipSpace(scanIdent(Pos));
    if (Pos < End)
      return fail(Pos, "unexpected text in return type");
    Returns.push_back(Text.slice(Start, *TypeEnd).str());
    return Error::success();
  }
};

/// The rows of OpSchemas.def, kept as text so the table is parsed with the
/// same code (and the same errors) as any other schema.
const char *const SchemaTexts[] = {
#define ATALLA_OP_SCHEMA(TEXT) TEXT,
#include "frontend/OpSchemas.def"
};

struct SchemaTable {
  std::vector<OpSchema> Schemas;
  StringMap<size_t> ByQualifiedName;
};

const SchemaTable &getSchemaTable() {
  static const SchemaTable Table = [] {
    SchemaTable T;
    T.Schemas.reserve(std::size(SchemaTexts));
    for (const char *Row : SchemaTexts) {
      Expected<OpSchema> Schema = parseOpSchema(Row);
      // The table is part of the source; a bad row is a bug in this file's
      // neighbour, and OpSchemaTest names it.
      if (!Schema)
        report_fatal_error(Twine("OpSchemas.def: ") +
                           toString(Schema.takeError()));
      T.ByQualifiedName.try_emplace(Schema->qualifiedName(), T.Schemas.size());
      T.Schemas.push_back(std::move(*Schema));
    }
    return T;
  }();
  return Table;
}

} // namespace

const SchemaArg *OpSchema::findArg(StringRef ArgName) const {
  for (const SchemaArg &Arg : Args)
    if (Arg.Name == ArgName)
      return &Arg;
  return nullptr;
}

std::string OpSchema::qualifiedName() const {
  if (Overload.empty())
    return Name;
  return Name + "." + Overload;
}

Expected<OpSchema> parseOpSchema(StringRef Text) {
  return SchemaParser(Text).parse();
}

const OpSchema *lookupOpSchema(StringRef Name, StringRef Overload) {
  Name.consume_front("aten::");
  if (Overload == "default")
    Overload = "";
  std::string Key = Name.str();
  if (!Overload.empty())
    Key += ("." + Overload).str();
  const SchemaTable &Table = getSchemaTable();
  auto It = Table.ByQualifiedName.find(Key);
  if (It == Table.ByQualifiedName.end())
    return nullptr;
  return &Table.Schemas[It->second];
}

ArrayRef<OpSchema> allOpSchemas() { return getSchemaTable().Schemas; }

SchemaType parseSchemaType(StringRef Type) {
  SchemaType Result;
  Type = Type.trim();
  size_t I = 0;
  while (I < Type.size() && isIdentChar(Type[I]))
    ++I;
  Result.Base = Type.take_front(I).str();
  if (I < Type.size() && Type[I] == '(') {
    size_t Close = Type.find(')', I);
    I = Close == StringRef::npos ? Type.size() : Close + 1;
  }
  // A '?' before the brackets qualifies the elements ("Tensor?[]"), one
  // after them the list itself ("int[1]?").
  bool QuestionBeforeList = false;
  while (I < Type.size()) {
    if (Type[I] == '?') {
      if (Result.List)
        Result.Optional = true;
      else
        QuestionBeforeList = true;
      ++I;
      continue;
    }
    if (Type[I] != '[')
      break;
    size_t Close = Type.find(']', I);
    if (Close == StringRef::npos)
      break;
    Result.List = true;
    unsigned Size;
    if (!Type.slice(I + 1, Close).getAsInteger(10, Size))
      Result.FixedSize = static_cast<int>(Size);
    I = Close + 1;
  }
  if (Result.List)
    Result.OptionalElements = QuestionBeforeList;
  else
    Result.Optional = QuestionBeforeList;
  return Result;
}

std::optional<std::string> unquoteSchemaString(StringRef Default) {
  if (Default.size() < 2)
    return std::nullopt;
  char Quote = Default.front();
  if ((Quote != '\'' && Quote != '"') || Default.back() != Quote)
    return std::nullopt;
  std::string Out;
  for (size_t I = 1; I + 1 < Default.size(); ++I) {
    char C = Default[I];
    if (C == Quote)
      return std::nullopt;
    if (C != '\\') {
      Out.push_back(C);
      continue;
    }
    if (I + 2 >= Default.size())
      return std::nullopt; // The backslash escapes the closing quote.
    char Next = Default[++I];
    switch (Next) {
    case 'n':
      Out.push_back('\n');
      break;
    case 't':
      Out.push_back('\t');
      break;
    default:
      Out.push_back(Next);
      break;
    }
  }
  return Out;
}

} // namespace atalla::frontend
