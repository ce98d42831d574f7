//===- frontend/SchemaWriter.h - the typed Graph to model.json --*- C++ -*-===//
//
// The inverse of SchemaReader for the current schema (8.x, one-key unions),
// with torch's field order, so that archives the project writes (the bundled
// example, the fuzzer's programs) read like torch's own. Arguments the
// frontend filled from schema defaults are omitted again, as torch omits them.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_SCHEMAWRITER_H
#define ATALLA_FRONTEND_SCHEMAWRITER_H

#include "frontend/Graph.h"
#include "frontend/SchemaReader.h"

#include <string>

namespace atalla::frontend {

/// The schema version this writer produces.
constexpr int64_t WrittenSchemaMajor = 8;
constexpr int64_t WrittenSchemaMinor = 20;

/// model.json for \p M (compact, as torch writes it).
std::string writeExportedProgramJson(const Model &M);

/// TensorMeta as a JSON object text (used by the payload configs).
std::string writeTensorMetaJson(const TensorMeta &T);

/// A payload config ({"config": {fqn: PayloadMeta}}) in the given order.
std::string writePayloadConfigJson(const std::vector<PayloadMeta> &Entries);

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_SCHEMAWRITER_H
