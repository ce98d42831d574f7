//===- tests/kernels/KernelFuzzCases.h - the kernel fuzz suite's cases --*- C++ -*-===//
//
// The cases of the kernel fuzz suite (KernelFuzzTest.cpp): every row of
// Kernels.def x shapes biased to tile and vector edges x seeds, the GEMMs
// again with each register blocking forced, and every specialisation's
// bf16 twin. The generators per family are in KernelFuzzCases.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_TESTS_KERNELS_KERNELFUZZCASES_H
#define ATALLA_TESTS_KERNELS_KERNELFUZZCASES_H

#include "codegen/KernelEmitter.h"
#include "runtime/abi/KernelSpec.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace atalla::kernelfuzz {

enum class Fill {
  Normal,  ///< standard normals
  Large,   ///< normals x 40 (softmax: exp under- and overflow of x - max)
  Special, ///< normals with NaN, +-inf and +-0 mixed in (elementwise; relu: no NaN)
  /// softmax [R, D] rows with -inf, all -inf, underflow, a dominant element.
  /// No NaN or +inf: torch makes such a row all NaN (x - max is NaN where
  /// x = max = inf), as the kernel does, but oneDNN 2.6 gives NaN only at
  /// the NaN (or inf) element and 0 elsewhere, so it is no oracle there.
  Rows,
};

/// The fill's name, as case names carry it.
const char *fillName(Fill F);

struct FuzzCase {
  std::string Name; ///< the gtest parameter name
  abi::KernelSpec Spec;
  uint32_t Seed = 0;
  Fill Values = Fill::Normal;
  /// The register blocking: the target's own (Auto), or one forced, so that
  /// every variant runs on any host (a 512-bit one split in two on AVX2).
  codegen::VectorIsa Isa = codegen::VectorIsa::Auto;
};

/// gtest prints parameters it cannot name; keep it to the name.
void PrintTo(const FuzzCase &C, std::ostream *OS);

/// Every case: each Kernels.def row's family generator, with the GEMMs of
/// seed 1 again per forced register blocking; names unique.
std::vector<FuzzCase> allCases();
/// The bf16 twins of allCases(), one seed per specialisation and fill.
std::vector<FuzzCase> allCasesBf16();

} // namespace atalla::kernelfuzz

#endif // ATALLA_TESTS_KERNELS_KERNELFUZZCASES_H
