//===- reference/OneDnnKernels.cpp - oneDNN versions of every kernel ------===//
//
// One oneDNN primitive per family: matmul (Gemm), eltwise (Unary), binary
// (Binary), softmax_v2 (Softmax), reorder (Copy, convert). Operands are described to
// oneDNN by their strides; a broadcast dim (stride 0) becomes a size-1 dim,
// which binary and matmul broadcast natively. Where a primitive cannot take a
// broadcast or strided operand, the operand is first materialised exactly:
// a reorder (a copy), or a binary multiply by a dense tensor of ones (1 * x
// is x for every float, NaN and infinities included).
//
//===----------------------------------------------------------------------===//
#include "reference/OneDnnKernels.h"
#include "reference/OneDnnDetail.h"
#include "reference/OneDnnEnv.h"

#include "runtime/abi/Bf16.h"

#include "oneapi/dnnl/dnnl.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

using namespace atalla;
using namespace atalla::reference;

using namespace atalla::reference::onednn;

namespace {

/// The algorithm of each kernel, where it is chosen by the kernel rather than
/// the family. No default: a new kernel is a compile error here until it has
/// a reference.
std::optional<algorithm> kernelAlgorithm(abi::KernelId K) {
  switch (K) {
  case abi::KernelId::relu:
    return algorithm::eltwise_relu;
  case abi::KernelId::exp:
    return algorithm::eltwise_exp;
  case abi::KernelId::log:
    return algorithm::eltwise_log;
  case abi::KernelId::sigmoid:
    return algorithm::eltwise_logistic;
  case abi::KernelId::tanh:
    return algorithm::eltwise_tanh;
  case abi::KernelId::sqrt:
    return algorithm::eltwise_sqrt;
  case abi::KernelId::rsqrt: // pow(x, -0.5): alpha * x^beta, see unary()
    return algorithm::eltwise_pow;
  case abi::KernelId::gelu:
    return algorithm::eltwise_gelu_erf;
  case abi::KernelId::gelu_tanh:
    return algorithm::eltwise_gelu_tanh;
  case abi::KernelId::neg: // -1 * x + 0
    return algorithm::eltwise_linear;
  case abi::KernelId::abs:
    return algorithm::eltwise_abs;
  case abi::KernelId::silu: // x * logistic(alpha x), alpha = 1
    return algorithm::eltwise_swish;
  case abi::KernelId::square:
    return algorithm::eltwise_square;
  case abi::KernelId::hardswish:
    return algorithm::eltwise_hardswish;
  case abi::KernelId::leaky_relu: // relu with alpha = the slope
    return algorithm::eltwise_relu;
  case abi::KernelId::clamp: // clip_v2(alpha = min, beta = max)
    return algorithm::eltwise_clip_v2;
  case abi::KernelId::powi: // pow(alpha = 1, beta = e)
    return algorithm::eltwise_pow;
  case abi::KernelId::hardsigmoid: // no 2.6 algorithm: see unary()
    return algorithm::eltwise_linear;
  case abi::KernelId::add:
    return algorithm::binary_add;
  case abi::KernelId::sub:
    return algorithm::binary_sub;
  case abi::KernelId::mul:
    return algorithm::binary_mul;
  case abi::KernelId::div:
    return algorithm::binary_div;
  case abi::KernelId::maximum:
    return algorithm::binary_max;
  case abi::KernelId::eq:
    return algorithm::binary_eq;
  case abi::KernelId::ne:
    return algorithm::binary_ne;
  case abi::KernelId::lt:
    return algorithm::binary_lt;
  case abi::KernelId::le:
    return algorithm::binary_le;
  case abi::KernelId::gt:
    return algorithm::binary_gt;
  case abi::KernelId::ge:
    return algorithm::binary_ge;
  case abi::KernelId::softmax:
    return algorithm::softmax_accurate;
  case abi::KernelId::log_softmax:
    return algorithm::softmax_log;
  case abi::KernelId::gemm:
  case abi::KernelId::conv2d:
  case abi::KernelId::max_pool2d:
  case abi::KernelId::max_pool2d_index: // no oneDNN index output: see poolIndex()
  case abi::KernelId::adaptive_avg_pool2d: // one window size in oneDNN's pooling: see adaptivePool()
  case abi::KernelId::avg_pool2d:
  case abi::KernelId::attention:
  case abi::KernelId::dwconv2d:
  case abi::KernelId::conv_transpose2d:
  case abi::KernelId::copy:
  case abi::KernelId::convert:
  case abi::KernelId::pad:
  case abi::KernelId::layer_norm:
  case abi::KernelId::embedding:
  case abi::KernelId::where:
  case abi::KernelId::chain:
  case abi::KernelId::sin: // no oneDNN 2.6 algorithm: see unary()
  case abi::KernelId::cos:
  case abi::KernelId::erf:
    return std::nullopt;
  case abi::KernelId::sum:
    return algorithm::reduction_sum;
  case abi::KernelId::mean:
    return algorithm::reduction_mean;
  case abi::KernelId::amax:
    return algorithm::reduction_max;
  case abi::KernelId::amin:
    return algorithm::reduction_min;
  case abi::KernelId::argmax: // no oneDNN 2.6 arg reduction: see argReduce()
  case abi::KernelId::argmin:
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace

void atalla::reference::onednn::gemm(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
          const memory &Dst) {
  const size_t NumIn = 2 + Spec.HasBias + Spec.HasScale + Spec.HasResidual;
  checkInputs(Spec, NumIn, In.size());
  const abi::OperandSpec &A = Spec.Operands[0], &B = Spec.Operands[1], &C = Spec.output();
  const size_t Rank = C.Sizes.size();
  if (Rank < 2 || A.Sizes.size() != Rank || B.Sizes.size() != Rank)
    throw SpecError{"gemm operands need the output's rank, >= 2"};
  const size_t ScaleIn = 2 + Spec.HasBias;
  if (Spec.HasScale && (Spec.Operands[ScaleIn].Sizes.size() != Rank || Spec.Operands[ScaleIn].Sizes[Rank - 2] != 1 ||
                        Spec.Operands[ScaleIn].Sizes[Rank - 1] != A.Sizes[Rank - 1]))
    throw SpecError{"gemm's column scale (kscale) is not [.., 1, K]"};
  // A residual is added after the bias and before the epilogue (torch's
  // order): separate primitives, in that order.
  memory Res;
  if (Spec.HasResidual)
    Res = R.user(viewOf(Spec.Operands[NumIn - 1]), In[NumIn - 1]);
  const bool PostOp = epilogueIsPostOp(Spec.Post) && !Spec.HasResidual;
  auto finish = [&] {
    if (Spec.HasResidual) {
      R.binary(algorithm::binary_add, Dst, Res, Dst);
      applyEpilogueAlone(R, Spec.Post, Dst);
    } else {
      applyEpilogueAfter(R, Spec.Post, Dst);
    }
  };
  // Batch dims broadcast natively (size 1); a broadcast M, K or N dim is
  // materialised.
  memory Src;
  if (Spec.HasScale) {
    // A diag(s), batch by batch: A made dense in the output's batch shape
    // (an exact copy), then oneDNN's binary multiply by s, which
    // broadcasts its size-1 row dim over A's rows.
    const Dims Full = shapeOf(A); // the output's batch shape (the spec's rule; a stride-0 batch is broadcast)
    memory DA = R.materialise(A, In[0], Full);
    memory Sc = R.user(viewOf(Spec.Operands[ScaleIn]), In[ScaleIn]);
    Src = R.scratch(Full);
    R.binary(algorithm::binary_mul, DA, Sc, Src);
  } else {
    Src = R.operand(A, In[0], Rank - 2);
  }
  memory Wei = R.operand(B, In[1], Rank - 2);
  memory Bias;
  if (Spec.HasBias)
    Bias = R.user(viewOf(Spec.Operands[2]), In[2]);

  auto matmul = [&](const memory &S, const memory &W, bool WithBias) {
    dnnl::matmul::desc D = WithBias ? dnnl::matmul::desc(S.get_desc(), W.get_desc(),
                                                         Bias.get_desc(), Dst.get_desc())
                                    : dnnl::matmul::desc(S.get_desc(), W.get_desc(),
                                                         Dst.get_desc());
    dnnl::primitive_attr Attr;
    if (PostOp) { // the epilogue as oneDNN's eltwise post-op
      dnnl::post_ops Ops;
      appendEpilogue(Ops, Spec.Post);
      Attr.set_post_ops(Ops);
    }
    dnnl::matmul P(dnnl::matmul::primitive_desc(D, Attr, R.E.Eng));
    std::unordered_map<int, memory> Args = {
        {DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, Dst}};
    if (WithBias)
      Args[DNNL_ARG_BIAS] = Bias;
    P.execute(R.E.Strm, Args);
    R.E.Strm.wait();
  };
  // The matmul implementations of 2.6 take any plain strided A and B, and a
  // bias broadcast in any dim; should one refuse a layout (unimplemented),
  // fall back to dense operands and a separate bias add, which add the bias
  // after the whole K sum exactly as the fused bias does.
  try {
    matmul(Src, Wei, Spec.HasBias);
    finish();
    return;
  } catch (const dnnl::error &E) {
    if (E.status != dnnl_unimplemented)
      throw;
  }
  memory DSrc = Spec.HasScale ? Src : R.materialise(A, In[0], shapeOf(A)); // the scaled A is dense already
  memory DWei = R.materialise(B, In[1], shapeOf(B));
  if (PostOp && Spec.HasBias)
    throw SpecError{"the dense fallback cannot add the bias before a fused epilogue"};
  matmul(DSrc, DWei, false);
  if (Spec.HasBias)
    R.binary(algorithm::binary_add, Dst, Bias, Dst);
  finish();
}

namespace {

void unary(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
           const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  if (Spec.Kernel == abi::KernelId::sin || Spec.Kernel == abi::KernelId::cos ||
      Spec.Kernel == abi::KernelId::erf) {
    // oneDNN 2.6 has no sin, cos or erf eltwise: the input is made dense by
    // oneDNN (an exact reorder) and the functions are libm's in double
    // precision, rounded once to float (correctly rounded but for rare
    // ties): a higher-precision oracle than any fp32 kernel.
    memory Src = R.materialise(Spec.Operands[0], In[0], shapeOf(Spec.output()));
    const float *S = static_cast<const float *>(Src.get_data_handle());
    float *D = static_cast<float *>(Dst.get_data_handle());
    double (*Fn)(double) = Spec.Kernel == abi::KernelId::cos   ? static_cast<double (*)(double)>(std::cos)
                           : Spec.Kernel == abi::KernelId::sin ? static_cast<double (*)(double)>(std::sin)
                                                               : static_cast<double (*)(double)>(std::erf);
    for (int64_t I = 0, N = Spec.output().numel(); I < N; ++I)
      D[I] = float(Fn(double(S[I])));
    return;
  }
  std::optional<algorithm> Alg = kernelAlgorithm(Spec.Kernel);
  if (!Alg)
    throw SpecError{"no oneDNN algorithm for this unary kernel"};
  // eltwise wants src and dst in one layout: make the input dense first.
  memory Src = R.materialise(Spec.Operands[0], In[0], shapeOf(Spec.output()));
  if (Spec.Kernel == abi::KernelId::hardsigmoid) {
    // oneDNN 2.6 has no hardsigmoid: x + 3 (linear), clip to [0, 6]
    // (clip_v2), then * (1 / 6) (linear): the last is a multiply where
    // torch divides, so within an ulp.
    memory T1 = R.scratch(shapeOf(Spec.output())), T2 = R.scratch(shapeOf(Spec.output()));
    R.eltwise(algorithm::eltwise_linear, 1.0f, 3.0f, Src, T1);
    R.eltwise(algorithm::eltwise_clip_v2, 0.0f, 6.0f, T1, T2);
    R.eltwise(algorithm::eltwise_linear, 1.0f / 6.0f, 0.0f, T2, Dst);
    return;
  }
  float Alpha = 0, Beta = 0;
  switch (Spec.Kernel) {
  case abi::KernelId::rsqrt: Alpha = 1, Beta = -0.5f; break; // pow(x, -0.5)
  case abi::KernelId::neg: Alpha = -1; break;
  case abi::KernelId::silu: Alpha = 1; break;
  case abi::KernelId::leaky_relu: Alpha = Spec.paramF32(0); break;
  case abi::KernelId::clamp: Alpha = Spec.paramF32(0), Beta = Spec.paramF32(1); break;
  case abi::KernelId::powi: Alpha = 1, Beta = float(Spec.Params.at(0)); break;
  default: break;
  }
  R.eltwise(*Alg, Alpha, Beta, Src, Dst);
}

void binary(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
            const memory &Dst) {
  checkInputs(Spec, Spec.HasScalar ? 1 : 2, In.size());
  std::optional<algorithm> Alg = kernelAlgorithm(Spec.Kernel);
  if (!Alg)
    throw SpecError{"no oneDNN algorithm for this binary kernel"};
  const Dims Shape = shapeOf(Spec.output());
  const bool Additive = Spec.Kernel == abi::KernelId::add || Spec.Kernel == abi::KernelId::sub;
  // binary broadcasts src1 only: a broadcast A is materialised.
  memory Src0 = R.operand(Spec.Operands[0], In[0], 0);
  memory Src1;
  if (Spec.HasScalar) {
    // A one-element tensor broadcast over A: the same IEEE operation as the
    // kernel's (x / s, not x * (1 / s)). Alpha scales the scalar in fp32,
    // as the kernel does.
    float S = static_cast<float>(Spec.Scalar);
    if (Additive && Spec.Alpha != 1)
      S = static_cast<float>(Spec.Alpha) * S;
    Src1 = R.scratch(Dims(Shape.size(), 1));
    R.Buffers.back()[0] = S;
  } else {
    View V = viewOf(Spec.Operands[1]);
    Src1 = R.user(V, In[1]);
    if (Additive && Spec.Alpha != 1) {
      // alpha * B rounded to fp32 on its own (eltwise_linear: alpha * x + 0),
      // then the add: two roundings, as the kernel's fmul then fadd.
      memory Dense = R.scratch(V.Sizes);
      R.reorder(Src1, Dense);
      Src1 = R.scratch(V.Sizes);
      R.eltwise(algorithm::eltwise_linear, static_cast<float>(Spec.Alpha), 0.0f, Dense, Src1);
    }
  }
  R.binary(*Alg, Src0, Src1, Dst);
}

void softmax(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
             const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  const size_t Rank = Spec.output().Sizes.size();
  if (Rank == 0 ? Spec.Dim > 0 : (Spec.Dim < 0 || size_t(Spec.Dim) >= Rank))
    throw SpecError{"softmax dim " + std::to_string(Spec.Dim) + " out of range"};
  std::optional<algorithm> Alg = kernelAlgorithm(Spec.Kernel);
  if (!Alg)
    throw SpecError{"no oneDNN algorithm for this softmax kernel"};
  memory Src = R.materialise(Spec.Operands[0], In[0], shapeOf(Spec.output()));
  dnnl::softmax_v2_forward::desc D(dnnl::prop_kind::forward_inference, *Alg, Src.get_desc(),
                                   Dst.get_desc(), Rank == 0 ? 0 : int(Spec.Dim));
  dnnl::softmax_v2_forward P(dnnl::softmax_v2_forward::primitive_desc(D, R.E.Eng));
  P.execute(R.E.Strm, {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Dst}});
  R.E.Strm.wait();
}

/// attention: the unfused computation the kernel replaces: scores = q k^T
/// (oneDNN's matmul on the views, k^T a view), then s * scale (+ mask) and
/// -inf right of the diagonal (causal) as the same IEEE operations, softmax
/// along the keys (softmax_accurate), out = p v (matmul).
void attention(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  const bool HasMask = Spec.Operands.size() == 5;
  checkInputs(Spec, HasMask ? 4 : 3, In.size());
  const abi::OperandSpec &Q = Spec.Operands[0], &K = Spec.Operands[1], &V = Spec.Operands[2], &O = Spec.output();
  const size_t Rank = O.Sizes.size();
  if (Rank < 2 || Spec.Params.size() != 1)
    throw SpecError{"attention operands have rank >= 2 and one param"};
  const int64_t L = O.Sizes[Rank - 2], Sk = K.Sizes[Rank - 2];
  std::vector<int64_t> SShape(O.Sizes.begin(), O.Sizes.end() - 2);
  SShape.push_back(L);
  SShape.push_back(Sk);
  abi::OperandSpec Scores{SShape, {}};
  Scores.Strides.assign(Rank, 0);
  for (size_t D = Rank, Step = 1; D-- > 0;) {
    Scores.Strides[D] = int64_t(Step);
    Step *= size_t(SShape[D]);
  }
  abi::OperandSpec KT = K;
  std::swap(KT.Sizes[Rank - 1], KT.Sizes[Rank - 2]);
  std::swap(KT.Strides[Rank - 1], KT.Strides[Rank - 2]);
  abi::KernelSpec G1;
  G1.Kernel = abi::KernelId::gemm;
  G1.Operands = {Q, KT, Scores};
  std::vector<float> S(size_t(Scores.numel()));
  memory SM(R.dense(shapeOf(Scores)), R.E.Eng, S.data());
  gemm(R, G1, {In[0], In[1]}, SM);
  const float *Mask = nullptr;
  if (HasMask) {
    memory M = R.materialise(Spec.Operands[3], In[3], shapeOf(Scores));
    Mask = static_cast<const float *>(M.get_data_handle());
  }
  const float Scale = float(Spec.Scalar);
  for (size_t I = 0; I < S.size(); ++I) {
    S[I] = S[I] * Scale;
    if (Mask)
      S[I] = S[I] + Mask[I];
    const int64_t Row = int64_t(I / size_t(Sk)) % L, Col = int64_t(I % size_t(Sk));
    if (Spec.Params[0] && Col > Row)
      S[I] = -std::numeric_limits<float>::infinity();
  }
  std::vector<float> P(S.size());
  memory PM(R.dense(shapeOf(Scores)), R.E.Eng, P.data());
  dnnl::softmax_v2_forward::desc D(dnnl::prop_kind::forward_inference, algorithm::softmax_accurate, SM.get_desc(),
                                   PM.get_desc(), int(Rank - 1));
  dnnl::softmax_v2_forward Sm(dnnl::softmax_v2_forward::primitive_desc(D, R.E.Eng));
  Sm.execute(R.E.Strm, {{DNNL_ARG_SRC, SM}, {DNNL_ARG_DST, PM}});
  R.E.Strm.wait();
  abi::KernelSpec G2;
  G2.Kernel = abi::KernelId::gemm;
  G2.Operands = {Scores, V, O};
  gemm(R, G2, {P.data(), In[2]}, Dst);
}

void copy(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
          const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  View V = viewOf(Spec.Operands[0]);
  if (!V.Broadcast) {
    R.reorder(R.user(V, In[0]), Dst);
    return;
  }
  // An expand: reorder cannot broadcast, binary can (exactly, as above).
  memory Ones = R.scratch(shapeOf(Spec.output()));
  for (float &X : R.Buffers.back())
    X = 1.0f;
  R.binary(algorithm::binary_mul, Ones, R.user(V, In[0]), Dst);
}

/// Layer norm: layer_normalization_forward (inference, statistics computed)
/// with scale and shift, the rows [R, D] dense.
void layerNorm(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 3, In.size());
  const Dims Shape = shapeOf(Spec.output());
  if (Shape.size() != 2 || !Spec.HasScalar)
    throw SpecError{"layer_norm needs [R, D] operands and eps"};
  memory Src = R.materialise(Spec.Operands[0], In[0], Shape);
  // w and b broadcast over rows: their data is one row of D.
  const memory::desc Row({Shape[1]}, F32, {1});
  memory Scale(Row, R.E.Eng, const_cast<float *>(In[1])), Shift(Row, R.E.Eng, const_cast<float *>(In[2]));
  dnnl::layer_normalization_forward::desc D(dnnl::prop_kind::forward_inference, Src.get_desc(), float(Spec.Scalar),
                                            dnnl::normalization_flags::use_scale |
                                                dnnl::normalization_flags::use_shift);
  dnnl::layer_normalization_forward P(dnnl::layer_normalization_forward::primitive_desc(D, R.E.Eng));
  P.execute(R.E.Strm, {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Dst}, {DNNL_ARG_SCALE, Scale}, {DNNL_ARG_SHIFT, Shift}});
  R.E.Strm.wait();
}

/// Chain: oneDNN's own fusion. A binary multiply of the first input by 1
/// (exact) carries every step as a post-op: eltwise post-ops for the unary
/// steps (rsqrt as pow(x, -0.5), as the unary reference), binary post-ops
/// for the binary ones (the other input as its view says, or a one-element
/// tensor holding the constant); a swapped sub is the sub then x * -1 + 0
/// (exact). A swapped div has no exact post-op form: the lowering never
/// makes one.
void chain(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  std::vector<abi::ChainStep> Steps;
  if (std::string Why = Spec.chainSteps(Steps); !Why.empty())
    throw SpecError{Why};
  checkInputs(Spec, Spec.Operands.size() - 1, In.size());
  const Dims Shape = shapeOf(Spec.output());
  memory Src0 = R.materialise(Spec.Operands[0], In[0], Shape);
  memory One = R.scratch(Dims(Shape.size(), 1));
  R.Buffers.back()[0] = 1.0f;
  dnnl::post_ops Ops;
  std::vector<std::pair<int, memory>> PostArgs;
  for (const abi::ChainStep &S : Steps) {
    std::optional<algorithm> Alg = kernelAlgorithm(S.Op);
    if (!Alg)
      throw SpecError{"no oneDNN algorithm for chain step " + std::string(abi::kernelName(S.Op))};
    if (abi::isChainableUnary(S.Op)) {
      const bool Pow = S.Op == abi::KernelId::rsqrt;
      Ops.append_eltwise(1.0f, *Alg, Pow ? 1.0f : 0.0f, Pow ? -0.5f : 0.0f);
      continue;
    }
    if (S.Swapped && S.Op == abi::KernelId::div)
      throw SpecError{"a swapped div has no exact oneDNN post-op"};
    memory Other;
    if (S.Source >= 0) {
      Other = R.user(viewOf(Spec.Operands[size_t(S.Source)]), In[size_t(S.Source)]);
    } else {
      Other = R.scratch(Dims(Shape.size(), 1));
      R.Buffers.back()[0] = S.constant();
    }
    Ops.append_binary(*Alg, Other.get_desc());
    PostArgs.push_back({Ops.len() - 1, Other});
    if (S.Swapped && S.Op == abi::KernelId::sub)
      Ops.append_eltwise(1.0f, algorithm::eltwise_linear, -1.0f, 0.0f);
  }
  dnnl::primitive_attr Attr;
  Attr.set_post_ops(Ops);
  dnnl::binary::desc D(algorithm::binary_mul, Src0.get_desc(), One.get_desc(), Dst.get_desc());
  dnnl::binary P(dnnl::binary::primitive_desc(D, Attr, R.E.Eng));
  std::unordered_map<int, memory> Args = {{DNNL_ARG_SRC_0, Src0}, {DNNL_ARG_SRC_1, One}, {DNNL_ARG_DST, Dst}};
  for (auto &[Index, M] : PostArgs)
    Args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(Index) | DNNL_ARG_SRC_1] = M;
  P.execute(R.E.Strm, Args);
  R.E.Strm.wait();
}

/// Reductions: the reduction primitive on In [O, D] as its strides say,
/// into Dst [O, 1].
void reduce(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  const abi::OperandSpec &I = Spec.Operands[0];
  if (I.Sizes.size() != 2 || Spec.output().Sizes != std::vector<int64_t>{I.Sizes[0], 1})
    throw SpecError{"reductions take [O, D] into [O, 1]"};
  memory Src = R.user(viewOf(I), In[0]);
  if (I.Sizes[1] == 1) { // oneDNN refuses a reduction of nothing: it is the input
    R.reorder(Src, Dst);
    return;
  }
  dnnl::reduction::desc D(*kernelAlgorithm(Spec.Kernel), Src.get_desc(), Dst.get_desc(), 0.0f, 0.0f);
  dnnl::reduction P(dnnl::reduction::primitive_desc(D, R.E.Eng));
  P.execute(R.E.Strm, {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Dst}});
  R.E.Strm.wait();
}

/// Pad: the fill value everywhere, then a reorder of the input into the
/// interior, described to oneDNN as a strided view of the output (strides
/// scaled by the steps, the data handle moved to the low corner).
void pad(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  const abi::OperandSpec &I = Spec.Operands[0], &O = Spec.output();
  const size_t Rank = O.Sizes.size();
  if (I.Sizes.size() != Rank || Spec.Params.size() != 2 * Rank)
    throw SpecError{"pad needs the output's rank and two params per dim"};
  float *Out = static_cast<float *>(Dst.get_data_handle());
  std::fill(Out, Out + O.numel(), Spec.HasScalar ? float(Spec.Scalar) : 0.0f);
  if (I.numel() == 0)
    return;
  Dims Sizes = shapeOf(I), Strides;
  int64_t Offset = 0;
  for (size_t D = 0; D < Rank; ++D) {
    Offset += Spec.Params[2 * D] * O.Strides[D];
    Strides.push_back(std::max<int64_t>(Spec.Params[2 * D + 1] * O.Strides[D], 1));
  }
  if (Rank == 0)
    Strides = {1};
  memory Src = R.materialise(I, In[0], Sizes);
  memory Interior(memory::desc(Sizes, F32, Strides), R.E.Eng, Out + Offset);
  R.reorder(Src, Interior);
}

//===----------------------------------------------------------------------===//
// Element types other than f32 (convert, comparisons, copies)
//===----------------------------------------------------------------------===//

/// oneDNN's type for a device type: bool is u8 holding 0 or 1. oneDNN 2.6
/// has no 64-bit integers (see the i64 notes below).
std::optional<memory::data_type> dnnlType(abi::DType T) {
  switch (T) {
  case abi::DType::U8:
  case abi::DType::Bool:
    return memory::data_type::u8;
  case abi::DType::I32:
    return memory::data_type::s32;
  case abi::DType::F32:
    return F32;
  case abi::DType::I64:
  case abi::DType::BF16: // never an operand type (KernelSpec::typeError)
    return std::nullopt;
  }
  return std::nullopt;
}

bool broadcasts(const abi::OperandSpec &O) {
  for (size_t D = 0; D < O.Sizes.size(); ++D)
    if (O.Strides[D] == 0 && O.Sizes[D] > 1)
      return true;
  return false;
}

memory typedUser(Run &R, const abi::OperandSpec &O, memory::data_type T, const void *P) {
  View V = viewOf(O);
  return memory(memory::desc(V.Sizes, T, V.Strides), R.E.Eng, const_cast<void *>(P));
}

/// An i64 operand as oneDNN sees it: [sizes..., 2] s32 halves, strides
/// doubled (exact for moving bytes: copies).
memory i64AsPairs(Run &R, const abi::OperandSpec &O, const void *P) {
  View V = viewOf(O);
  Dims Sizes = V.Sizes, Strides = V.Strides;
  for (memory::dim &S : Strides)
    S *= 2;
  Sizes.push_back(2);
  Strides.push_back(1);
  return memory(memory::desc(Sizes, memory::data_type::s32, Strides), R.E.Eng, const_cast<void *>(P));
}

/// Copies of u8, i32, i64 and bool: a reorder of the same type (i64 as s32
/// pairs). Broadcast inputs are f32-only (binary materialises those).
void typedCopy(Run &R, const abi::KernelSpec &Spec, const void *In, void *Out) {
  const abi::OperandSpec &I = Spec.Operands[0], &O = Spec.output();
  if (broadcasts(I))
    throw SpecError{"a broadcast input of a non-f32 copy"};
  if (I.Type == abi::DType::I64) {
    memory Dst = i64AsPairs(R, abi::OperandSpec{O.Sizes, denseStrides(shapeOf(O)), O.Type}, Out);
    R.reorder(i64AsPairs(R, I, In), Dst);
    return;
  }
  memory::data_type T = *dnnlType(I.Type);
  R.reorder(typedUser(R, I, T, In), memory(memory::desc(shapeOf(O), T, denseStrides(shapeOf(O))), R.E.Eng, Out));
}

/// convert: a reorder between oneDNN types, which converts exactly where
/// the value is representable in both (every integer input, and integral
/// f32 inputs in the target's range: oneDNN rounds to nearest and
/// saturates where torch truncates, so the suite feeds float -> int
/// conversions integral values; truncation itself is checked against
/// LibTorch by the model tests). To bool is binary_ne against 0 with a u8
/// result (x != 0, as torch; bool inputs are u8 0/1). oneDNN 2.6 has no
/// 64-bit integers: an i64 input is narrowed to s32 on the host (values
/// must fit: the suite's do) and an i64 result widened from s32.
void convert(Run &R, const abi::KernelSpec &Spec, const void *In, void *Out) {
  const abi::OperandSpec &I = Spec.Operands[0], &O = Spec.output();
  if (broadcasts(I) && I.Type != abi::DType::F32)
    throw SpecError{"a broadcast non-f32 input"};
  const Dims Shape = shapeOf(O);
  const int64_t N = O.numel();
  memory Src;
  if (I.Type == abi::DType::I64) {
    R.Buffers.emplace_back(size_t(N), 0.0f); // 4-byte slots for the s32 values
    int32_t *Narrow = reinterpret_cast<int32_t *>(R.Buffers.back().data());
    for (int64_t E = 0; E < N; ++E) {
      int64_t Off = 0, Rest = E;
      for (size_t D = I.Sizes.size(); D-- > 0;) {
        Off += (Rest % I.Sizes[D]) * I.Strides[D];
        Rest /= I.Sizes[D];
      }
      int64_t V = static_cast<const int64_t *>(In)[Off];
      if (V < INT32_MIN || V > INT32_MAX)
        throw SpecError{"i64 input " + std::to_string(V) + " does not fit oneDNN's s32"};
      Narrow[E] = int32_t(V);
    }
    Src = memory(memory::desc(Shape, memory::data_type::s32, denseStrides(Shape)), R.E.Eng, Narrow);
  } else if (I.Type == abi::DType::F32) {
    Src = R.materialise(I, static_cast<const float *>(In), Shape);
  } else {
    memory::data_type T = *dnnlType(I.Type);
    Src = memory(memory::desc(Shape, T, denseStrides(Shape)), R.E.Eng);
    R.reorder(typedUser(R, I, T, In), Src);
  }
  if (O.Type == abi::DType::Bool) {
    // binary wants f32 (or int8) sources of one kind: bring the input to f32
    // (exact for != 0: no nonzero integer becomes 0.0f).
    memory F = R.scratch(Shape);
    R.reorder(Src, F);
    memory Zero = R.scratch(Dims(Shape.size(), 1));
    R.binary(algorithm::binary_ne, F, Zero,
             memory(memory::desc(Shape, memory::data_type::u8, denseStrides(Shape)), R.E.Eng, Out));
    return;
  }
  if (O.Type == abi::DType::I64) {
    memory Wide(memory::desc(Shape, memory::data_type::s32, denseStrides(Shape)), R.E.Eng);
    R.reorder(Src, Wide);
    const int32_t *W = static_cast<const int32_t *>(Wide.get_data_handle());
    for (int64_t E = 0; E < N; ++E)
      static_cast<int64_t *>(Out)[E] = W[E];
    return;
  }
  R.reorder(Src, memory(memory::desc(Shape, *dnnlType(O.Type), denseStrides(Shape)), R.E.Eng, Out));
}

/// argmax / argmin: oneDNN 2.6 has no arg reduction. The input [O, D] is
/// made dense by a oneDNN reorder (exact) and each row scanned on the host
/// for its first maximum (minimum), a NaN counting as both (torch).
void argReduce(Run &R, const abi::KernelSpec &Spec, const void *In, void *Out) {
  const abi::OperandSpec &I = Spec.Operands[0];
  if (I.Sizes.size() != 2)
    throw SpecError{"arg reductions take [O, D]"};
  const int64_t O = I.Sizes[0], D = I.Sizes[1];
  memory Dense = R.materialise(I, static_cast<const float *>(In), {O, D});
  const float *P = static_cast<const float *>(Dense.get_data_handle());
  const bool Max = Spec.Kernel == abi::KernelId::argmax;
  for (int64_t Row = 0; Row < O; ++Row) {
    const float *X = P + Row * D;
    int64_t Best = 0;
    for (int64_t J = 1; J < D; ++J) {
      if (std::isnan(X[Best]))
        break;
      if (std::isnan(X[J]) || (Max ? X[J] > X[Best] : X[J] < X[Best]))
        Best = J;
    }
    static_cast<int64_t *>(Out)[Row] = Best;
  }
}

/// max_pool2d_index: oneDNN 2.6's max pooling keeps its argmax in an
/// opaque workspace, so the input [N, C, H, W] is made dense by a oneDNN
/// reorder (exact) and each window scanned on the host in tap order, as
/// torch's CPU kernel scans it: a tap replaces the best when it is greater
/// or NaN; the first tap inside the input to start.
void poolIndex(Run &R, const abi::KernelSpec &Spec, const void *In, void *Out) {
  const abi::OperandSpec &I = Spec.Operands[0], &O = Spec.output();
  if (I.Sizes.size() != 4 || O.Sizes.size() != 4 || Spec.Params.size() != 8)
    throw SpecError{"max_pool2d_index takes In [N, C, H, W], Out [N, C, OH, OW] and 8 params"};
  const std::vector<int64_t> &P = Spec.Params;
  const int64_t KH = P[0], KW = P[1], SH = P[2], SW = P[3], PH = P[4], PW = P[5], DH = P[6], DW = P[7];
  const int64_t Planes = I.Sizes[0] * I.Sizes[1], H = I.Sizes[2], W = I.Sizes[3], OH = O.Sizes[2], OW = O.Sizes[3];
  memory Dense = R.materialise(I, static_cast<const float *>(In), shapeOf(I));
  const float *X = static_cast<const float *>(Dense.get_data_handle());
  int64_t *Idx = static_cast<int64_t *>(Out);
  for (int64_t Pl = 0; Pl < Planes; ++Pl)
    for (int64_t Oh = 0; Oh < OH; ++Oh)
      for (int64_t Ow = 0; Ow < OW; ++Ow) {
        int64_t H0 = Oh * SH - PH, W0 = Ow * SW - PW;
        while (H0 < 0)
          H0 += DH;
        while (W0 < 0)
          W0 += DW;
        int64_t Best = H0 * W + W0;
        float Max = -std::numeric_limits<float>::infinity();
        for (int64_t Ih = H0; Ih < std::min(H, Oh * SH - PH + (KH - 1) * DH + 1); Ih += DH)
          for (int64_t Iw = W0; Iw < std::min(W, Ow * SW - PW + (KW - 1) * DW + 1); Iw += DW) {
            const float V = X[(Pl * H + Ih) * W + Iw];
            if (V > Max || std::isnan(V)) {
              Max = V;
              Best = Ih * W + Iw;
            }
          }
        Idx[(Pl * OH + Oh) * OW + Ow] = Best;
      }
}

/// where: oneDNN 2.6 has no select (binary_select came in 3.x), and no
/// arithmetic form is exact with infinities and NaN (x * c + y * (1 - c)
/// makes 0 * inf = NaN). The f32 operands are made dense by oneDNN (exact
/// reorders, broadcasts by the binary multiply by ones), the condition is
/// gathered on the host, and each element is picked there.
void select(Run &R, const abi::KernelSpec &Spec, const std::vector<const void *> &In, void *Out) {
  const Dims Shape = shapeOf(Spec.output());
  const int64_t N = Spec.output().numel();
  // The condition (bytes, possibly broadcast) is gathered on the host.
  const abi::OperandSpec &C = Spec.Operands[0];
  std::vector<uint8_t> Dense(static_cast<size_t>(N));
  for (int64_t I = 0; I < N; ++I) {
    int64_t Off = 0, Rest = I;
    for (size_t D = C.Sizes.size(); D-- > 0;) {
      Off += (Rest % C.Sizes[D]) * C.Strides[D];
      Rest /= C.Sizes[D];
    }
    Dense[size_t(I)] = static_cast<const uint8_t *>(In[0])[Off];
  }
  const uint8_t *CP = Dense.data();
  memory A, Bm;
  const float *AP = nullptr;
  if (!Spec.HasScalar) {
    A = R.materialise(Spec.Operands[1], static_cast<const float *>(In[1]), Shape);
    AP = static_cast<const float *>(A.get_data_handle());
  }
  const size_t BI = Spec.HasScalar ? 1 : 2;
  Bm = R.materialise(Spec.Operands[BI], static_cast<const float *>(In[BI]), Shape);
  const float *BP = static_cast<const float *>(Bm.get_data_handle());
  const float S = float(Spec.Scalar);
  float *O = static_cast<float *>(Out);
  for (int64_t I = 0; I < N; ++I)
    O[I] = CP[I] ? (AP ? AP[I] : S) : BP[I];
}

/// embedding: oneDNN 2.6 has no gather primitive; each output row is a
/// reorder of the table row its index names (the indices are read and
/// range-checked on the host).
void gather(Run &R, const abi::KernelSpec &Spec, const void *Table, const void *Indices, void *Out) {
  const abi::OperandSpec &T = Spec.Operands[0], &I = Spec.Operands[1];
  if (T.Sizes.size() != 2 || I.Sizes.size() != 1)
    throw SpecError{"embedding takes Table [V, D] and Indices [N]"};
  const int64_t V = T.Sizes[0], D = T.Sizes[1], N = I.Sizes[0];
  const memory::desc Row({1, D}, F32, {D, D > 1 ? T.Strides[1] : 1});
  const memory::desc Dense({1, D}, F32, {D, 1});
  for (int64_t K = 0; K < N; ++K) {
    int64_t X;
    if (I.Type == abi::DType::I64)
      X = static_cast<const int64_t *>(Indices)[K * I.Strides[0]];
    else
      X = static_cast<const int32_t *>(Indices)[K * I.Strides[0]];
    if (X < 0 || X >= V)
      throw SpecError{"index " + std::to_string(X) + " is out of range of " + std::to_string(V) + " rows"};
    R.reorder(memory(Row, R.E.Eng, const_cast<float *>(static_cast<const float *>(Table) + X * T.Strides[0])),
              memory(Dense, R.E.Eng, static_cast<float *>(Out) + K * D));
  }
}

/// What makes \p Spec unrunnable whatever its family: no operands, wrong
/// element types or params, sizes and strides of different counts, a null input of
/// a nonempty operand. "" when none.
std::string specError(const abi::KernelSpec &Spec, const std::vector<const void *> &Inputs) {
  if (Spec.Operands.empty())
    return "no operands";
  if (std::string Why = Spec.typeError(); !Why.empty())
    return Why;
  if (std::string Why = Spec.paramsError(); !Why.empty())
    return Why;
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Sizes.size() != O.Strides.size())
      return "an operand has different numbers of sizes and strides";
  for (size_t I = 0; I < Inputs.size(); ++I)
    if (!Inputs[I] && (I + 1 >= Spec.Operands.size() || Spec.Operands[I].numel() != 0))
      return "input " + std::to_string(I) + " is null";
  return "";
}

/// A bf16 spec's reference (KernelSpec.h: bf16 storage, f32 working copies).
/// oneDNN 2.6 creates bf16 primitives only where the CPU has avx512_core
/// (its platform::has_data_type_support); on others (this project's AVX2
/// hosts) it refuses them. Its f32 primitives give the same numbers: every
/// bf16 value is exact in f32 and so is the product of two, so f32 math on
/// the bf16-rounded inputs with f32 accumulation is what a bf16 primitive
/// (bf16 in, f32 accumulation, bf16 out) computes, up to the order of the
/// sums; the result is then rounded to bf16. So: round the f32 inputs, run
/// the f32 twin of the spec, round an f32 output.
struct Bf16Run {
  abi::KernelSpec F32Spec;
  std::vector<std::vector<float>> Rounded; ///< per f32 input: its extent, rounded
  std::vector<const void *> Ptrs;

  Bf16Run(const abi::KernelSpec &Spec, const std::vector<const void *> &Inputs) : F32Spec(Spec) {
    F32Spec.Type = abi::DType::F32;
    Rounded.resize(Inputs.size());
    for (size_t I = 0; I < Inputs.size(); ++I) {
      Ptrs.push_back(Inputs[I]);
      if (I + 1 >= Spec.Operands.size() || !Spec.storedAsBf16(I) || !Inputs[I])
        continue;
      const abi::OperandSpec &O = Spec.Operands[I];
      if (O.numel() == 0)
        continue;
      int64_t Extent = 1;
      for (size_t D = 0; D < O.Sizes.size() && D < O.Strides.size(); ++D)
        Extent += (O.Sizes[D] - 1) * O.Strides[D];
      const float *Src = static_cast<const float *>(Inputs[I]);
      Rounded[I].resize(size_t(Extent));
      for (int64_t E = 0; E < Extent; ++E)
        Rounded[I][size_t(E)] = abi::roundToBf16(Src[E]);
      Ptrs[I] = Rounded[I].data();
    }
  }
  /// Rounds the f32 twin's output to bf16 (other output types are exact).
  void roundOutput(std::vector<uint8_t> &Out) const {
    if (F32Spec.output().Type != abi::DType::F32)
      return;
    for (size_t B = 0; B + 4 <= Out.size(); B += 4) {
      float F;
      std::memcpy(&F, Out.data() + B, 4);
      F = abi::roundToBf16(F);
      std::memcpy(Out.data() + B, &F, 4);
    }
  }
};

} // namespace

llvm::Expected<std::vector<float>>
atalla::reference::runOneDnn(const abi::KernelSpec &Spec,
                             const std::vector<const float *> &Inputs) {
  auto fail = [&](const std::string &Msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "oneDNN reference for kernel '" + Spec.key() + "': " + Msg);
  };
  for (const abi::OperandSpec &O : Spec.Operands)
    if (O.Type != abi::DType::F32)
      return fail("an operand is not f32 (runOneDnnTyped takes other element types)");
  if (Spec.Type == abi::DType::BF16) {
    Bf16Run B(Spec, std::vector<const void *>(Inputs.begin(), Inputs.end()));
    std::vector<const float *> Floats;
    for (const void *P : B.Ptrs)
      Floats.push_back(static_cast<const float *>(P));
    auto R = runOneDnn(B.F32Spec, Floats);
    if (R)
      for (float &F : *R)
        F = abi::roundToBf16(F);
    return R;
  }
  if (std::string Why = specError(Spec, std::vector<const void *>(Inputs.begin(), Inputs.end())); !Why.empty())
    return fail(Why);

  const abi::OperandSpec &Out = Spec.output();
  std::vector<float> Result(size_t(Out.numel()));
  if (Result.empty())
    return Result; // oneDNN's zero-volume tensors are not worth the trouble
  try {
    Run R(env());
    memory Dst(R.dense(shapeOf(Out)), R.E.Eng, Result.data());
    switch (Spec.family()) {
    case abi::KernelFamily::Gemm:
      if (Spec.Kernel == abi::KernelId::conv2d)
        conv2d(R, Spec, Inputs, Dst);
      else if (Spec.Kernel == abi::KernelId::conv_transpose2d)
        convTranspose2d(R, Spec, Inputs, Result);
      else
        gemm(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Unary:
      unary(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Binary:
      binary(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Softmax:
      softmax(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Copy:
      copy(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Pad:
      pad(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Norm:
      layerNorm(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Reduce:
      reduce(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Chain:
      chain(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Attention:
      attention(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Pool:
      if (Spec.Kernel == abi::KernelId::dwconv2d)
        depthwise(R, Spec, Inputs, Dst);
      else if (Spec.Kernel == abi::KernelId::avg_pool2d)
        avgPool(R, Spec, Inputs, Dst);
      else if (Spec.Kernel == abi::KernelId::adaptive_avg_pool2d)
        adaptivePool(R, Spec, Inputs, Dst);
      else
        maxPool(R, Spec, Inputs, Dst);
      break;
    case abi::KernelFamily::Select: // a bool condition: runOneDnnTyped
      throw SpecError{"where's condition is bool: use runOneDnnTyped"};
    case abi::KernelFamily::Gather: // integer indices: runOneDnnTyped
      throw SpecError{"embedding's indices are integers: use runOneDnnTyped"};
    }
  } catch (const SpecError &E) {
    return fail(E.Msg);
  } catch (const dnnl::error &E) {
    return fail(std::string(E.what()) + " (dnnl status " + std::to_string(int(E.status)) + ")");
  }
  return Result;
}

llvm::Expected<std::vector<uint8_t>>
atalla::reference::runOneDnnTyped(const abi::KernelSpec &Spec, const std::vector<const void *> &Inputs) {
  auto fail = [&](const std::string &Msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "oneDNN reference for kernel '" + Spec.key() + "': " + Msg);
  };
  if (Spec.Operands.empty())
    return fail("no operands");
  if (Spec.Type == abi::DType::BF16) {
    Bf16Run B(Spec, Inputs);
    auto R = runOneDnnTyped(B.F32Spec, B.Ptrs);
    if (R)
      B.roundOutput(*R);
    return R;
  }
  bool AllF32 = true;
  for (const abi::OperandSpec &O : Spec.Operands)
    AllF32 &= O.Type == abi::DType::F32;
  std::vector<const float *> Floats;
  for (const void *P : Inputs)
    Floats.push_back(static_cast<const float *>(P));
  if (AllF32) {
    auto R = runOneDnn(Spec, Floats);
    if (!R)
      return R.takeError();
    std::vector<uint8_t> Bytes(R->size() * 4);
    std::memcpy(Bytes.data(), R->data(), Bytes.size());
    return Bytes;
  }
  if (std::string Why = specError(Spec, Inputs); !Why.empty())
    return fail(Why);
  const abi::OperandSpec &Out = Spec.output();
  std::vector<uint8_t> Result(size_t(Out.numel()) * abi::dtypeBytes(Out.Type));
  if (Result.empty())
    return Result;
  try {
    Run R(env());
    if (Spec.isComparison()) {
      // binary_{eq,...,ge} into a u8 result. oneDNN 2.6 compares wrongly
      // when both sources are strided (transposed) and the result is u8
      // (measured: lt(-0.14, -1.42) = 1), so the tensor operands are first
      // made dense (exact reorders, or 1 * x for broadcasts).
      checkInputs(Spec, Spec.HasScalar ? 1 : 2, Inputs.size());
      const Dims Shape = shapeOf(Out);
      memory Dst(memory::desc(Shape, memory::data_type::u8, denseStrides(Shape)), R.E.Eng, Result.data());
      std::optional<algorithm> Alg = kernelAlgorithm(Spec.Kernel);
      memory Src0 = R.materialise(Spec.Operands[0], Floats[0], Shape), Src1;
      if (Spec.HasScalar) {
        Src1 = R.scratch(Dims(Shape.size(), 1));
        R.Buffers.back()[0] = static_cast<float>(Spec.Scalar);
      } else {
        Src1 = R.materialise(Spec.Operands[1], Floats[1], Shape);
      }
      R.binary(*Alg, Src0, Src1, Dst);
    } else if (Spec.Kernel == abi::KernelId::convert) {
      checkInputs(Spec, 1, Inputs.size());
      convert(R, Spec, Inputs[0], Result.data());
    } else if (Spec.Kernel == abi::KernelId::copy) {
      checkInputs(Spec, 1, Inputs.size());
      typedCopy(R, Spec, Inputs[0], Result.data());
    } else if (Spec.Kernel == abi::KernelId::argmax || Spec.Kernel == abi::KernelId::argmin) {
      checkInputs(Spec, 1, Inputs.size());
      argReduce(R, Spec, Inputs[0], Result.data());
    } else if (Spec.Kernel == abi::KernelId::max_pool2d_index) {
      checkInputs(Spec, 1, Inputs.size());
      poolIndex(R, Spec, Inputs[0], Result.data());
    } else if (Spec.Kernel == abi::KernelId::where) {
      checkInputs(Spec, Spec.HasScalar ? 2 : 3, Inputs.size());
      select(R, Spec, Inputs, Result.data());
    } else if (Spec.Kernel == abi::KernelId::embedding) {
      checkInputs(Spec, 2, Inputs.size());
      gather(R, Spec, Inputs[0], Inputs[1], Result.data());
    } else {
      return fail("no typed reference for this kernel");
    }
  } catch (const SpecError &E) {
    return fail(E.Msg);
  } catch (const dnnl::error &E) {
    return fail(std::string(E.what()) + " (dnnl status " + std::to_string(int(E.status)) + ")");
  }
  return Result;
}

reference::detail::OneDnnEnv &reference::detail::oneDnnEnv() {
  static OneDnnEnv E;
  return E;
}
