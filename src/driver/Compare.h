//===- driver/Compare.h - one tolerance model, one comparison ---*- C++ -*-===//
//
// How far two implementations of a model may disagree, derived from the unit
// roundoff of the arithmetic and the lengths of the program's reductions,
// and the one comparison every caller uses (atalla-run --check, the program
// fuzzer, the model benchmark, the tests). Byte equality is for results the
// same code computed twice; anything computed by two libraries (the device
// against LibTorch, LibTorch on one BLAS against LibTorch on another, torch
// 1.13 against torch 2.x) is held to these bounds. docs in README, "How
// results are checked".
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_DRIVER_COMPARE_H
#define ATALLA_DRIVER_COMPARE_H

#include "frontend/Graph.h"
#include "frontend/TensorData.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atalla::driver {

/// Unit roundoff: half an ulp of 1, the largest relative error of one
/// rounding to nearest.
inline constexpr double F32UnitRoundoff = 0x1p-24;
inline constexpr double Bf16UnitRoundoff = 0x1p-8;

/// What a comparison holds outputs to.
struct Tolerance {
  /// Float32 outputs: max|got - ref| / max|ref| (per output) at most this.
  double Float = 0;
  /// Other dtypes (bool, integer): at most this fraction of the elements may
  /// differ (0: exact).
  double Flip = 0;
  /// How Float was derived, one line, for reports.
  std::string Why;
};

/// One reduction or inexact op of a program and what it adds to the
/// float32 budget, in units of u = 2^-24.
struct ErrorTerm {
  std::string Node; ///< the graph node
  std::string What; ///< "K = 64 products", "exp", ...
  double Units = 0;
};

/// The float32 error budget of \p M's nodes (see the definition for the
/// numerics), in units of u, one term per contributing node; the budget's
/// floor (the outputs' own roundings) is not among them.
std::vector<ErrorTerm> f32ErrorTerms(const frontend::Model &M);

/// Two float32 implementations of \p M: the floor plus every term of
/// f32ErrorTerms, times u. Non-float outputs compare exactly.
Tolerance f32Tolerance(const frontend::Model &M);

/// A bf16 blob (float32 tensors stored as bf16) against eager float32:
/// 2^-8 x (6 + log2 N), N the longest reduction (runtime::bf16Tolerance),
/// with \p Flip of a bool or integer output's elements allowed to differ.
Tolerance bf16Tolerance(int64_t LongestReduction, double Flip);

/// One output against its reference.
struct Comparison {
  bool SameShape = true;    ///< dtype and sizes agree (else nothing else is set)
  bool Exact = false;       ///< compared element by element (not float32)
  size_t Differ = 0;        ///< Exact: elements that differ
  bool NaNMismatch = false; ///< float32: NaN or an infinity on one side only (or infinities of other signs)
  double MaxAbs = 0, MaxRel = 0, Norm = 0, MaxRef = 0;
  bool Pass = false;
};

/// Compares \p Got with \p Ref under \p T: float32 by normalised error
/// (NaN and infinities must agree), other dtypes element by element.
Comparison compareTensors(const frontend::TensorData &Got, const frontend::TensorData &Ref, const Tolerance &T);

/// One line describing a failed comparison of output \p Name ("" if \p C
/// passed), for messages.
std::string describeMismatch(const std::string &Name, const Comparison &C, const Tolerance &T);

} // namespace atalla::driver

#endif // ATALLA_DRIVER_COMPARE_H
