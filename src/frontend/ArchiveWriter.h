//===- frontend/ArchiveWriter.h - write a Model as a .pt2 archive -*- C++ -*-===//
//
// The project's own .pt2 writer, in torch 2.12's layout: root folder,
// models/model.json, one raw file per storage with model_weights_config.json
// / model_constants_config.json, sample inputs as a torch.save pickle, and the
// version records. It writes the bundled example model and, later, the
// fuzzer's programs; the frontend must read its output exactly as it reads
// torch's.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_ARCHIVEWRITER_H
#define ATALLA_FRONTEND_ARCHIVEWRITER_H

#include "frontend/Graph.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace atalla::frontend {

/// The container generations torch.export.save has written (see Archive.h).
enum class ArchiveLayout {
  Pt2Raw,     ///< torch >= 2.9: raw payload files + configs (the default)
  Pt2Pickled, ///< torch 2.8: weights and constants as torch.save pickles
  LegacyZip,  ///< torch 2.1-2.7: flat zip, serialized_*.pt
};

struct ArchiveWriterOptions {
  ArchiveLayout Layout = ArchiveLayout::Pt2Raw;
  /// Root folder; torch uses the file's stem for a path save.
  std::string RootName = "archive";
  /// Write data/sample_inputs/model.pt from Model::SampleInputs.
  bool WriteSampleInputs = true;
};

/// The archive bytes. Deterministic: the same Model gives the same bytes.
llvm::Expected<std::vector<uint8_t>> writeModelArchive(const Model &M,
                                                       const ArchiveWriterOptions &Opts = {});

/// Writes the archive to \p Path (root folder: the file's stem unless set).
llvm::Error writeModelFile(const Model &M, llvm::StringRef Path, ArchiveWriterOptions Opts = {});

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_ARCHIVEWRITER_H
