//===- reference/OneDnnEnv.h - the process's oneDNN engine and stream -*- C++ -*-===//
//
// One CPU engine and stream for every oneDNN reference in the process (the
// one-shot runOneDnn and the prepared OneDnnPrimitive alike): creating them
// per call costs more than most reference runs. Internal to reference/.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_REFERENCE_ONEDNNENV_H
#define ATALLA_REFERENCE_ONEDNNENV_H

#include "oneapi/dnnl/dnnl.hpp"

namespace atalla::reference::detail {

struct OneDnnEnv {
  dnnl::engine Eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream Strm{Eng};
};

/// The process's engine and stream (not thread-safe, as oneDNN's stream).
OneDnnEnv &oneDnnEnv();

} // namespace atalla::reference::detail

#endif // ATALLA_REFERENCE_ONEDNNENV_H
