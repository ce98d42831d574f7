//===- frontend/OpSchema.h - ATen operator schemas -------------*- C++ -*-===//
//
// torch.export leaves out every argument whose value equals its schema
// default, so a node's argument list alone does not say what the operator was
// asked to do. This parses ATen schema strings (the `func:` lines of
// native_functions.yaml) and looks them up from the table in OpSchemas.def so
// the frontend can put the omitted defaults back.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_OPSCHEMA_H
#define ATALLA_FRONTEND_OPSCHEMA_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace atalla::frontend {

/// One formal argument of a schema, kept as written so that nothing the
/// schema says is lost before a consumer decides what it means.
struct SchemaArg {
  /// The argument's name ("self", "dim", "approximate").
  std::string Name;
  /// The type exactly as written, alias annotations included: "Tensor",
  /// "Tensor?", "Tensor(a!)", "Tensor(a -> *)", "Tensor?[]", "int[2]",
  /// "SymInt[]", "int[1]?", "Scalar", "ScalarType?", "str", "MemoryFormat?".
  /// parseSchemaType() takes it apart.
  std::string Type;
  /// True for arguments after the `*` marker: export passes these by name.
  bool KwargOnly = false;
  /// The default's source text, unevaluated: "None", "1", "1e-05", "True",
  /// "[]", "[1, 1]", "'none'", "\"valid\"", "contiguous_format", "Mean",
  /// "long". A scalar default on a fixed-size list ("SymInt[2] stride=1")
  /// means the value repeated; "int[2] stride=[]" is an empty list (max_pool
  /// reads it as "same as kernel_size"). Quoted strings keep their quotes;
  /// unquoteSchemaString() decodes them.
  std::optional<std::string> Default;
};

/// A parsed `name.overload(args) -> returns` schema.
struct OpSchema {
  /// The operator name without namespace or overload ("softmax", "add_").
  std::string Name;
  /// The overload name ("int", "Tensor"); empty for the default overload,
  /// which export spells "default".
  std::string Overload;
  /// Formal arguments in declaration order; keyword-only ones are flagged.
  std::vector<SchemaArg> Args;
  /// Return types as written ("Tensor", "Tensor(a)[]", "SymInt"); return
  /// names ("values" in "(Tensor values, Tensor indices)") are dropped.
  /// Empty for "-> ()".
  std::vector<std::string> Returns;
  /// The schema string this was parsed from.
  std::string Text;

  /// The argument called \p ArgName, or null.
  const SchemaArg *findArg(llvm::StringRef ArgName) const;
  /// "softmax.int", or "gelu" for the default overload.
  std::string qualifiedName() const;
};

/// Parses one schema string. On a malformed string the error names the
/// column (1-based) where parsing stopped and quotes the whole schema.
llvm::Expected<OpSchema> parseOpSchema(llvm::StringRef Text);

/// The schema of overload \p Overload of \p Name from OpSchemas.def, or null
/// when the table does not know it (callers then keep a node's arguments as
/// given). \p Name may carry an "aten::" prefix; \p Overload "" and "default"
/// both mean the default overload.
const OpSchema *lookupOpSchema(llvm::StringRef Name, llvm::StringRef Overload);

/// Every schema in OpSchemas.def, in table order, parsed on first use.
llvm::ArrayRef<OpSchema> allOpSchemas();

/// A schema type taken apart: "int[2]" is {int, List, FixedSize 2};
/// "Tensor?[]" is {Tensor, List, OptionalElements}; "int[1]?" is
/// {int, Optional, List, FixedSize 1}; "Tensor(a!)" is {Tensor}.
struct SchemaType {
  /// The element type with alias annotation, `?` and `[..]` removed.
  std::string Base;
  /// The value itself may be None ("Tensor?", "SymInt[]?").
  bool Optional = false;
  /// The value is a list ("int[]", "int[2]", "Tensor[]").
  bool List = false;
  /// N for "[N]", -1 for "[]" or a non-list.
  int FixedSize = -1;
  /// List elements may be None ("Tensor?[]", as index.Tensor takes).
  bool OptionalElements = false;
};

/// Takes a type string from SchemaArg::Type or OpSchema::Returns apart. It
/// does not validate: a string parseOpSchema accepted always gives a result.
SchemaType parseSchemaType(llvm::StringRef Type);

/// The contents of a quoted default ("'none'" or "\"valid\"", with
/// backslash escapes), or nullopt when \p Default is not a string literal.
std::optional<std::string> unquoteSchemaString(llvm::StringRef Default);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_OPSCHEMA_H
