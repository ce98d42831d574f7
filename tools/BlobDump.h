//===- tools/BlobDump.h - atalla-inspect's view of a blob -------*- C++ -*-===//
//
// Header, sections (size, checksum), kernels (symbol, specialisation, code
// bytes), the memory map and the program listing of a validated blob.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TOOLS_BLOBDUMP_H
#define ATALLA_TOOLS_BLOBDUMP_H

#include "runtime/Blob.h"

#include "llvm/Support/raw_ostream.h"

namespace atalla::tools {
void dumpBlob(const runtime::Blob &B, llvm::raw_ostream &OS);
} // namespace atalla::tools

#endif // ATALLA_TOOLS_BLOBDUMP_H
