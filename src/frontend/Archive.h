//===- frontend/Archive.h - read a .pt2 archive into a Model ----*- C++ -*-===//
//
// The entry point of the frontend. Recognises the three container
// generations torch.export.save has written:
//   1. torch 2.1-2.7: flat zip, serialized_exported_program.json plus
//      torch.save pickles for state dict, constants and example inputs;
//   2. torch 2.8: PT2 archive (<root>/models/model.json) with the weights as
//      one torch.save pickle, data/weights/model.pt;
//   3. torch >= 2.9: PT2 archive with one raw file per storage, described by
//      model_weights_config.json / model_constants_config.json.
// The root folder is taken from the entries, never assumed.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_ARCHIVE_H
#define ATALLA_FRONTEND_ARCHIVE_H

#include "frontend/Graph.h"
#include "frontend/Pickle.h"
#include "frontend/SchemaReader.h"
#include "frontend/ZipArchive.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace atalla::frontend {

struct ArchiveOptions {
  ZipLimits Zip;
  SchemaReaderOptions Schema;
  /// The torch.save pickles (weights, constants, sample inputs).
  UnpicklerLimits Pickle;
  /// Read data/sample_inputs (or serialized_example_inputs.pt).
  bool ReadSampleInputs = true;
};

/// Reads the archive at \p Path. Errors name the file and the entry.
llvm::Expected<Model> readModel(llvm::StringRef Path, const ArchiveOptions &Opts = {});

/// Reads an archive held in memory; \p DisplayName is used in messages.
llvm::Expected<Model> readModelFromBuffer(std::vector<uint8_t> Bytes, llvm::StringRef DisplayName,
                                          const ArchiveOptions &Opts = {});

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_ARCHIVE_H
