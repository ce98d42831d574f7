//===- frontend/FxImport.h - FX graphs from torch 1.13 as Models -*- C++ -*-===//
//
// The "atalla-fx" interchange (tools/make_zoo.py writes it): an ATen graph
// traced with torch 1.13's functorch make_fx and rewritten to torch.export
// 2.1-2.4's IR, as JSON, with its parameters, buffers and sample inputs as
// one raw little-endian payload file. importFx turns it into a Model that
// ArchiveWriter serialises as a .pt2 archive, so archives of real
// architectures can be made on machines whose torch has no torch.export.
//
// Interchange, version 1 (every name below is a JSON key):
//   format "atalla-fx", version 1, producer (free text), model (a name)
//   placeholders [{name, kind: parameter|buffer|constant|user_input, target}]
//       in the graph's placeholder order; target is the FQN (not for inputs)
//   values {name: {dtype, sizes, strides}}   every placeholder and node output
//   tensors {key: {dtype, sizes, offset, nbytes}}   payloads in the .bin;
//       key: the FQN of a parameter/buffer/constant, "input:<name>" for a
//       user input's sample value
//   nodes [{name, target "torch.ops.aten.<op>.<overload>",
//           inputs [{name, kind: positional|keyword, arg}], outputs [arg]}]
//   outputs [name]
// An arg is one tagged value: {"tensor": n}, {"tensors": [n]},
// {"optional_tensors": [n|null]}, {"none": true}, {"bool": b}, {"int": i},
// {"float": x or "Infinity"/"-Infinity"/"NaN"}, {"string": s}, {"ints": []},
// {"floats": []}, {"bools": []}, {"scalar_type": "float32"},
// {"memory_format": "contiguous_format"}, {"layout": "strided"},
// {"device": "cpu"}.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_FXIMPORT_H
#define ATALLA_FRONTEND_FXIMPORT_H

#include "frontend/Graph.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace atalla::frontend {

/// The Model of an interchange file's text \p Json and its payload bytes
/// \p Payload. Errors name \p What (the file) and the node or key at fault.
llvm::Expected<Model> importFx(llvm::StringRef Json, llvm::ArrayRef<uint8_t> Payload, llvm::StringRef What);

/// Reads \p JsonPath and its payload \p PayloadPath (default: the JSON path
/// with ".json" replaced by ".bin").
llvm::Expected<Model> importFxFile(llvm::StringRef JsonPath, llvm::StringRef PayloadPath = "");

} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_FXIMPORT_H
