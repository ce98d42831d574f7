//===- frontend/Error.h - the error helpers, in the frontend's namespace -*- C++ -*-===//
//
// support/Error.h's makeError and prefixError, named in atalla::frontend
// too, where most of the code that reports a bad file lives.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_FRONTEND_ERROR_H
#define ATALLA_FRONTEND_ERROR_H

#include "support/Error.h"

#include "llvm/Support/FormatVariadic.h" // most users format their messages with formatv

namespace atalla::frontend {
using atalla::makeError;
using atalla::prefixError;
} // namespace atalla::frontend

#endif // ATALLA_FRONTEND_ERROR_H
