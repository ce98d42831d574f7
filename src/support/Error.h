//===- support/Error.h - the one error helper of every layer ----*- C++ -*-===//
//
// Every failure a file, model or user can cause is an llvm::Error whose
// message names the place (file, entry, node). These helpers keep the
// construction short and uniform in every library but the abi (which
// depends on the standard library only): one definition instead of a
// makeError per file.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SUPPORT_ERROR_H
#define ATALLA_SUPPORT_ERROR_H

#include "llvm/Support/Error.h"

#include <string>

namespace atalla {

/// An llvm::Error carrying \p Msg (no trailing newline, no "error:" prefix).
inline llvm::Error makeError(const llvm::Twine &Msg) {
  return llvm::make_error<llvm::StringError>(Msg, llvm::inconvertibleErrorCode());
}

/// Prefixes the message of \p E with \p Where (e.g. "model.pt2: ").
inline llvm::Error prefixError(llvm::Error E, const llvm::Twine &Where) {
  if (!E)
    return E;
  std::string Msg = llvm::toString(std::move(E));
  return makeError(Where + Msg);
}

} // namespace atalla

#endif // ATALLA_SUPPORT_ERROR_H
