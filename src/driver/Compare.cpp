//===- driver/Compare.cpp - one tolerance model, one comparison -----------===//
//
// The float32 budget of a program, node by node, in units of u = 2^-24, and
// the normalised comparison. The bounds are the classical worst-case ones
// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §3.1
// and §4.2): they hold for any summation order, blocked or not, with or
// without FMA, which is what two BLAS libraries, two torch versions or a
// generated kernel and LibTorch differ by. They do not depend on which
// library rounded how.
//
//===----------------------------------------------------------------------===//
#include "driver/Compare.h"

#include "lower/GraphQueries.h"
#include "runtime/Blob.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace atalla;
using namespace atalla::driver;
using frontend::Model;
using frontend::Node;
using frontend::TensorMeta;

namespace {

/// The floor, in units of u: each side rounds every output once (1 u each)
/// and runs its elementwise ops in its own forms (LibTorch's div by a scalar
/// as a multiply, add with alpha as an FMA, our fused chains), a few
/// roundings more along any path. 16 u covers eight such roundings a side.
constexpr double FloorUnits = 16;

/// An inexact elementwise function (a kernel whose Kernels.def Error is
/// Ulps(n): exp, log, tanh, erf, pow, ...), wherever the node runs: each side is
/// within 4 ulp of the exact value (ours: KernelEmitterTest and the kernel
/// fuzz suite hold them to 2-3 ulp; LibTorch's Sleef to 1 ulp), and their
/// relative condition numbers on the models' ranges are at most about 2.
constexpr double TranscendentalUnits = 16;

/// A batch norm folded into the convolution before it: the scaled weights
/// and bias are rounded once more each (1 u relative), where eager rounds
/// the normalisation's two operations: 8 u covers both sides.
constexpr double FoldedBatchNormUnits = 8;

const TensorMeta *metaOf(const Model &M, const Node &N, const char *Arg) {
  const frontend::NamedArgument *A = N.input(Arg);
  if (!A || A->Arg.Kind != frontend::ArgKind::Tensor)
    return nullptr;
  return M.G.meta(A->Arg.S);
}

double numel(const TensorMeta &T) {
  double N = 1;
  for (const frontend::SymDim &S : T.Sizes)
    N *= double(std::max<int64_t>(S.valueOrHint(), 1));
  return N;
}

int64_t lastDim(const TensorMeta *T) { return T && !T->Sizes.empty() ? T->Sizes.back().valueOrHint() : 1; }

/// Elements reduced into each output element: numel(in) / numel(out).
double reducedPerOutput(const Model &M, const Node &N) {
  const TensorMeta *In = metaOf(M, N, "self");
  const TensorMeta *Out = N.Outputs.empty() ? nullptr : M.G.meta(N.Outputs[0].S);
  if (!In || !Out)
    return 1;
  return numel(*In) / std::max(numel(*Out), 1.0);
}

/// Products summed into one output of a convolution: (input channels per
/// group) x KH x KW. conv2d's weight is [out, in/g, kh, kw]; a transposed
/// convolution's [in, out/g, kh, kw], whose in x KH x KW bounds the count.
int64_t convolutionK(const Model &M, const Node &N) {
  const TensorMeta *W = metaOf(M, N, "weight");
  if (!W || W->Sizes.size() < 3)
    return 1;
  bool Transposed = N.Op == "conv_transpose2d";
  if (const frontend::NamedArgument *T = N.input("transposed"))
    Transposed = T->Arg.I != 0;
  int64_t K = W->Sizes[Transposed ? 0 : 1].valueOrHint();
  for (size_t D = 2; D < W->Sizes.size(); ++D)
    K *= W->Sizes[D].valueOrHint();
  return K;
}

/// The window of an average pool: kernel_size, or for an adaptive one its
/// largest window, per dim the longest of torch's [floor(o I / O),
/// ceil((o + 1) I / O)) (I / O where O divides I; up to ceil(I / O) + 1
/// elements where it does not: the adaptive_avg_pool2d kernel sums that
/// many).
int64_t poolWindow(const Model &M, const Node &N) {
  int64_t K = 1;
  if (const frontend::NamedArgument *KS = N.input("kernel_size")) {
    for (int64_t V : KS->Arg.asInts().value_or(std::vector<int64_t>{}))
      K *= V;
    return K;
  }
  const TensorMeta *In = metaOf(M, N, "self");
  const TensorMeta *Out = N.Outputs.empty() ? nullptr : M.G.meta(N.Outputs[0].S);
  if (In && Out && In->Sizes.size() == 4 && Out->Sizes.size() == 4)
    for (size_t D = 2; D < 4; ++D) {
      const int64_t I = In->Sizes[D].valueOrHint(), O = std::max<int64_t>(Out->Sizes[D].valueOrHint(), 1);
      int64_t Longest = 0;
      for (int64_t Ix = 0; Ix < O; ++Ix)
        Longest = std::max(Longest, ((Ix + 1) * I + O - 1) / O - Ix * I / O);
      K *= Longest;
    }
  return K;
}

/// Elements normalised together by a layer norm: the product of
/// normalized_shape.
int64_t normalisedSize(const Node &N) {
  int64_t D = 1;
  if (const frontend::NamedArgument *S = N.input("normalized_shape"))
    for (int64_t V : S->Arg.asInts().value_or(std::vector<int64_t>{}))
      D *= V;
  return D;
}

std::string products(int64_t K) { return "K = " + std::to_string(K) + " products"; }

/// The term of one node, if it has one. The numerics, per kind of node:
///
///  - A sum of K products (GEMMs, convolutions, pools, sum, mean): each side
///    is within gamma_K ~ K u of the exact sum relative to sum|a b|, in any
///    order, so the two are within 2 K u of each other. We take sum|a b| at
///    the scale of the output, max|C|. For zero-mean data sum|a b| is about
///    0.2 sqrt(K) max|C|, while the realised error is about sqrt(K) u, not
///    K u (rounding errors behave as independent zero-mean variables:
///    Higham and Mary, SISC 2019), so 2 K u covers the product of both.
///  - A sum of D positive terms (softmax's denominator, a variance): within
///    gamma_D relative to the sum itself (no cancellation), 2 D u for both
///    sides; softmax adds exp (within 2 ulp a side) and the division: 8 u.
///  - Layer norm over D: the mean 2 D u relative to mean|x|, at the scale of
///    the standard deviation that divides it, the variance 2 D u relative,
///    which is D u on its reciprocal square root, and 8 u for the pointwise
///    steps: 3 D + 8.
///  - Inexact elementwise functions, folded batch norms: the constants above.
///  - Everything else (copies, views, exactly rounded add/sub/mul/div,
///    comparisons, max pooling, fallback ops that run the same LibTorch code
///    on both sides) adds no error of its own: it passes on its operands'
///    errors, which the budget already counts (a normalised error goes
///    through them at most linearly: 1-Lipschitz ops, or rescalings of both
///    sides alike).
///
/// Which kind a node is comes from its row in Kernels.def (its Lowering and
/// its kernel's Error column), wherever the node runs: an op without a row
/// always runs in the fallback, the same LibTorch code on both sides.
bool termOf(const Model &M, const Node &N, ErrorTerm &T) {
  const lower::OpRow *Row = lower::opRowFor(N);
  if (!Row)
    return false;
  auto Sum = [&](int64_t K, std::string What) {
    T.Units = 2.0 * double(std::max<int64_t>(K, 1));
    T.What = std::move(What);
    return true;
  };
  switch (Row->Lowering) {
  case lower::OpLowering::Gemm: {
    // matmul, mm, bmm (self), linear (input), addmm (mat1: self is the bias).
    const TensorMeta *A = metaOf(M, N, "mat1");
    if (!A)
      A = metaOf(M, N, "input");
    if (!A)
      A = metaOf(M, N, "self");
    return Sum(lastDim(A), products(lastDim(A)));
  }
  case lower::OpLowering::Conv:
    return Sum(convolutionK(M, N), products(convolutionK(M, N)));
  case lower::OpLowering::AvgPool:
    return Sum(poolWindow(M, N), "window of " + std::to_string(poolWindow(M, N)));
  case lower::OpLowering::Reduce: {
    if (!Row->Kernel || abi::kernelTraits(*Row->Kernel).Error.K != abi::ErrorBound::ShapeDerived)
      return false; // amax, amin, argmax, argmin: exact
    const double D = reducedPerOutput(M, N);
    T.Units = 2.0 * D + 4;
    T.What = "sum of " + std::to_string(int64_t(D));
    return true;
  }
  case lower::OpLowering::Softmax: {
    const TensorMeta *X = metaOf(M, N, "self");
    int64_t Dim = -1;
    if (const frontend::NamedArgument *A = N.input("dim"))
      Dim = A->Arg.I;
    int64_t D = 1;
    if (X && !X->Sizes.empty()) {
      const int64_t Rank = int64_t(X->Sizes.size());
      D = X->Sizes[size_t(((Dim % Rank) + Rank) % Rank)].valueOrHint();
    }
    T.Units = 2.0 * double(std::max<int64_t>(D, 1)) + 8;
    T.What = "row of " + std::to_string(D);
    return true;
  }
  case lower::OpLowering::LayerNorm: {
    const int64_t D = normalisedSize(N);
    T.Units = 3.0 * double(D) + 8;
    T.What = "rows of " + std::to_string(D);
    return true;
  }
  case lower::OpLowering::Attention: {
    // q k^T (E products), softmax over the S keys, P v (S products), and
    // LibTorch scales q and k by sqrt(scale) first where we scale q k^T.
    const TensorMeta *K = metaOf(M, N, "key");
    int64_t E = 1, S = 1;
    if (K && K->Sizes.size() >= 2) {
      E = K->Sizes.back().valueOrHint();
      S = K->Sizes[K->Sizes.size() - 2].valueOrHint();
    }
    T.Units = 2.0 * double(E) + 4.0 * double(S) + 16;
    T.What = "E = " + std::to_string(E) + ", S = " + std::to_string(S);
    return true;
  }
  case lower::OpLowering::BatchNorm:
    T.Units = FoldedBatchNormUnits;
    T.What = "folded batch norm";
    return true;
  case lower::OpLowering::Unary:
  case lower::OpLowering::Pow:
    // The row's kernel for pow is powi; the lowering may pick square, sqrt
    // or rsqrt by the exponent: powi's bound covers rsqrt's two roundings.
    if (Row->Kernel && abi::kernelTraits(*Row->Kernel).Error.inexactElementwise()) {
      T.Units = TranscendentalUnits;
      T.What = N.Op;
      return true;
    }
    return false;
  case lower::OpLowering::View:
  case lower::OpLowering::Cat:
  case lower::OpLowering::Stack:
  case lower::OpLowering::Split:
  case lower::OpLowering::Upsample:
  case lower::OpLowering::Convert:
  case lower::OpLowering::Hardtanh:
  case lower::OpLowering::Binary:
  case lower::OpLowering::MaxPool:
  case lower::OpLowering::Pad:
  case lower::OpLowering::Gather:
  case lower::OpLowering::Where:
  case lower::OpLowering::Fill:
  case lower::OpLowering::Arange: // start + i * step in double, rounded once, as torch
  case lower::OpLowering::Fold:
    return false; // exact: copies, IEEE arithmetic, comparisons, selections
  }
  return false;
}

} // namespace

std::vector<ErrorTerm> driver::f32ErrorTerms(const Model &M) {
  std::vector<ErrorTerm> Terms;
  for (const Node &N : M.G.Nodes) {
    ErrorTerm T;
    T.Node = N.Name;
    if (termOf(M, N, T))
      Terms.push_back(std::move(T));
  }
  return Terms;
}

Tolerance driver::f32Tolerance(const Model &M) {
  std::vector<ErrorTerm> Terms = f32ErrorTerms(M);
  double Units = FloorUnits;
  const ErrorTerm *Largest = nullptr;
  for (const ErrorTerm &T : Terms) {
    Units += T.Units;
    if (!Largest || T.Units > Largest->Units)
      Largest = &T;
  }
  Tolerance Tol;
  Tol.Float = Units * F32UnitRoundoff;
  char Buf[256];
  if (Largest)
    std::snprintf(Buf, sizeof(Buf), "float32 u x %.0f = %.3g, u = 2^-24: %zu node(s) with reductions or inexact "
                                    "math, the largest '%s' (%s)",
                  Units, Tol.Float, Terms.size(), Largest->Node.c_str(), Largest->What.c_str());
  else
    std::snprintf(Buf, sizeof(Buf), "float32 u x %.0f = %.3g, u = 2^-24: no reductions or inexact math", Units,
                  Tol.Float);
  Tol.Why = Buf;
  return Tol;
}

Tolerance driver::bf16Tolerance(int64_t LongestReduction, double Flip) {
  Tolerance T;
  T.Float = runtime::bf16Tolerance(LongestReduction);
  T.Flip = Flip;
  char Buf[160];
  std::snprintf(Buf, sizeof(Buf), "bf16 blob: float32 2^-8 x (6 + log2 %lld) = %.3g, other dtypes up to %.3g of "
                                  "elements differ",
                static_cast<long long>(LongestReduction), T.Float, T.Flip);
  T.Why = Buf;
  return T;
}

Comparison driver::compareTensors(const frontend::TensorData &Got, const frontend::TensorData &Ref,
                                  const Tolerance &T) {
  Comparison C;
  if (Got.Sizes != Ref.Sizes || Got.Dtype != Ref.Dtype) {
    C.SameShape = false;
    return C;
  }
  std::vector<uint8_t> GB = Got.contiguousBytes(), RB = Ref.contiguousBytes();
  if (Got.Dtype != frontend::ScalarType::Float32) {
    C.Exact = true;
    const size_t Item = std::max<size_t>(frontend::elementSize(Got.Dtype), 1);
    for (size_t K = 0; K + Item <= GB.size() && K + Item <= RB.size(); K += Item)
      C.Differ += std::memcmp(&GB[K], &RB[K], Item) != 0;
    C.Pass = double(C.Differ) <= T.Flip * double(Got.numel());
    return C;
  }
  for (size_t K = 0; K + 4 <= GB.size() && K + 4 <= RB.size(); K += 4) {
    float A, E;
    std::memcpy(&A, &GB[K], 4);
    std::memcpy(&E, &RB[K], 4);
    if (std::isnan(A) || std::isnan(E)) {
      C.NaNMismatch |= std::isnan(A) != std::isnan(E);
      continue;
    }
    if (std::isinf(A) || std::isinf(E)) {
      C.NaNMismatch |= A != E;
      continue;
    }
    const double D = std::fabs(double(A) - double(E));
    C.MaxAbs = std::max(C.MaxAbs, D);
    C.MaxRef = std::max(C.MaxRef, std::fabs(double(E)));
    if (std::fabs(E) > 1e-30)
      C.MaxRel = std::max(C.MaxRel, D / std::fabs(double(E)));
  }
  C.Norm = C.MaxRef > 0 ? C.MaxAbs / C.MaxRef : C.MaxAbs;
  C.Pass = !C.NaNMismatch && C.Norm <= T.Float;
  return C;
}

std::string driver::describeMismatch(const std::string &Name, const Comparison &C, const Tolerance &T) {
  if (C.Pass)
    return "";
  char Buf[256];
  if (!C.SameShape)
    std::snprintf(Buf, sizeof(Buf), "output '%s': dtype or shape differ", Name.c_str());
  else if (C.Exact)
    std::snprintf(Buf, sizeof(Buf), "output '%s': %zu elements differ (allowed: %.3g of them)", Name.c_str(), C.Differ,
                  T.Flip);
  else
    std::snprintf(Buf, sizeof(Buf), "output '%s': normalised error %.3g > tolerance %.3g%s", Name.c_str(), C.Norm,
                  T.Float, C.NaNMismatch ? " (NaN/inf differ)" : "");
  return Buf;
}
