//===- reference/OneDnnDetail.h - the oneDNN references' shared parts -*- C++ -*-===//
//
// Internal to reference/OneDnn*.cpp: how operands are described to oneDNN
// (dense strides, views, the per-run buffers), the epilogue post-ops, and
// the family references the convolution file shares with the kernel file.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_REFERENCE_ONEDNNDETAIL_H
#define ATALLA_REFERENCE_ONEDNNDETAIL_H

#include "reference/OneDnnEnv.h"
#include "runtime/abi/KernelSpec.h"

#include "oneapi/dnnl/dnnl.hpp"

#include <algorithm>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace atalla::reference::onednn {

using dnnl::algorithm;
using dnnl::memory;

using Dims = memory::dims;
constexpr memory::data_type F32 = memory::data_type::f32;

using Env = detail::OneDnnEnv;
inline Env &env() { return detail::oneDnnEnv(); }

/// A spec the reference cannot run (as opposed to an error oneDNN reports).
struct SpecError {
  std::string Msg;
};

inline Dims denseStrides(const Dims &Sizes) {
  Dims S(Sizes.size(), 1);
  for (size_t D = Sizes.size(); D-- > 1;)
    S[D - 1] = S[D] * std::max<memory::dim>(Sizes[D], 1);
  return S;
}

/// oneDNN has no 0-d tensors: a scalar is [1].
inline Dims shapeOf(const abi::OperandSpec &O) {
  if (O.Sizes.empty())
    return {1};
  return Dims(O.Sizes.begin(), O.Sizes.end());
}

/// An operand as oneDNN sees it: broadcast dims (stride 0, size > 1) are
/// size 1, which binary and matmul broadcast.
struct View {
  Dims Sizes, Strides;
  bool Broadcast = false; ///< some dim was a stride-0 broadcast
};

inline View viewOf(const abi::OperandSpec &O) {
  View V;
  if (O.Sizes.empty()) {
    V.Sizes = {1};
    V.Strides = {1};
    return V;
  }
  for (size_t D = 0; D < O.Sizes.size(); ++D) {
    memory::dim Size = O.Sizes[D], Stride = O.Strides[D];
    if (Stride == 0 && Size > 1) {
      Size = 1;
      V.Broadcast = true;
    }
    // The stride of a size-1 dim is never used; oneDNN wants a positive one.
    if (Size == 1 && Stride == 0)
      Stride = 1;
    V.Sizes.push_back(Size);
    V.Strides.push_back(Stride);
  }
  return V;
}

/// The buffers and memories of one reference run.
class Run {
public:
  explicit Run(Env &E) : E(E) {}

  memory::desc dense(const Dims &Shape) { return memory::desc(Shape, F32, denseStrides(Shape)); }

  /// A dense scratch tensor owned by the run.
  memory scratch(const Dims &Shape) {
    memory::dim N = 1;
    for (memory::dim S : Shape)
      N *= S;
    Buffers.emplace_back(size_t(N), 0.0f);
    return memory(dense(Shape), E.Eng, Buffers.back().data());
  }

  memory user(const View &V, const float *P) {
    return memory(memory::desc(V.Sizes, F32, V.Strides), E.Eng, const_cast<float *>(P));
  }

  void reorder(const memory &Src, const memory &Dst) {
    dnnl::reorder(Src, Dst).execute(E.Strm, const_cast<memory &>(Src), const_cast<memory &>(Dst));
    E.Strm.wait();
  }

  void binary(algorithm Alg, const memory &Src0, const memory &Src1, const memory &Dst) {
    dnnl::binary::desc D(Alg, Src0.get_desc(), Src1.get_desc(), Dst.get_desc());
    dnnl::binary P(dnnl::binary::primitive_desc(D, E.Eng));
    P.execute(E.Strm, {{DNNL_ARG_SRC_0, Src0}, {DNNL_ARG_SRC_1, Src1}, {DNNL_ARG_DST, Dst}});
    E.Strm.wait();
  }

  void eltwise(algorithm Alg, float Alpha, float Beta, const memory &Src, const memory &Dst) {
    dnnl::eltwise_forward::desc D(dnnl::prop_kind::forward_inference, Alg, Src.get_desc(), Alpha,
                                  Beta);
    dnnl::eltwise_forward P(dnnl::eltwise_forward::primitive_desc(D, E.Eng));
    P.execute(E.Strm, {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Dst}});
    E.Strm.wait();
  }

  /// Operand O (at P) as a dense tensor of shape \p Shape (O's sizes): a
  /// reorder, or for a broadcast view ones * view (exact, NaN and inf too).
  memory materialise(const abi::OperandSpec &O, const float *P, const Dims &Shape) {
    View V = viewOf(O);
    memory Dst = scratch(Shape);
    if (!V.Broadcast) {
      reorder(user(V, P), Dst);
      return Dst;
    }
    memory Ones = scratch(Shape);
    for (float &X : Buffers.back())
      X = 1.0f;
    binary(algorithm::binary_mul, Ones, user(V, P), Dst);
    return Dst;
  }

  /// Operand O as matmul/binary can read it: strided in place, or materialised
  /// when it broadcasts in a dim from \p FirstFixedDim on, where the primitive
  /// cannot broadcast.
  memory operand(const abi::OperandSpec &O, const float *P, size_t FirstFixedDim) {
    View V = viewOf(O);
    bool Ok = true;
    for (size_t D = FirstFixedDim; D < O.Sizes.size(); ++D)
      Ok &= !(O.Strides[D] == 0 && O.Sizes[D] > 1);
    return Ok ? user(V, P) : materialise(O, P, shapeOf(O));
  }

  Env &E;
  std::deque<std::vector<float>> Buffers;
};

/// An epilogue that is no single post-op, on the primitive's dense result
/// \p Dst in place: hardsigmoid as its kernel's reference composes it, x +
/// 3 (linear), clip to [0, 6] (clip_v2), x (1 / 6) (linear).
inline void applyEpilogueAfter(Run &R, abi::Epilogue E, const memory &Dst) {
  if (E != abi::Epilogue::Hardsigmoid)
    return;
  R.eltwise(algorithm::eltwise_linear, 1.0f, 3.0f, Dst, Dst);
  R.eltwise(algorithm::eltwise_clip_v2, 0.0f, 6.0f, Dst, Dst);
  R.eltwise(algorithm::eltwise_linear, 1.0f / 6.0f, 0.0f, Dst, Dst);
}

//===----------------------------------------------------------------------===//
// The families
//===----------------------------------------------------------------------===//

/// A GEMM epilogue as oneDNN's eltwise post-op (relu6: clip to [alpha, beta] = [0, 6]).
inline algorithm epilogueAlgorithm(abi::Epilogue E) {
  switch (E) {
  case abi::Epilogue::Relu: return algorithm::eltwise_relu;
  case abi::Epilogue::Gelu: return algorithm::eltwise_gelu_erf;
  case abi::Epilogue::GeluTanh: return algorithm::eltwise_gelu_tanh;
  case abi::Epilogue::Relu6: return algorithm::eltwise_clip;
  case abi::Epilogue::Hardswish: return algorithm::eltwise_hardswish;
  case abi::Epilogue::Silu: return algorithm::eltwise_swish;
  case abi::Epilogue::Sigmoid: return algorithm::eltwise_logistic;
  case abi::Epilogue::Hardsigmoid: break; // not one post-op: applyEpilogueAfter
  case abi::Epilogue::None: break;
  }
  throw SpecError{"no epilogue"};
}

/// Whether the epilogue is one oneDNN eltwise post-op. hardsigmoid is not
/// (oneDNN 2.6 has none): the references apply it after the primitive with
/// applyEpilogueAfter.
inline bool epilogueIsPostOp(abi::Epilogue E) { return E != abi::Epilogue::None && E != abi::Epilogue::Hardsigmoid; }

/// The epilogue applied on its own after the primitive (where a residual
/// add comes between the bias and the epilogue): its eltwise primitive,
/// then what applyEpilogueAfter adds.
inline void applyEpilogueAlone(Run &R, abi::Epilogue E, const memory &Dst);

/// The epilogue as oneDNN's eltwise post-op (epilogueIsPostOp(E)).
inline void appendEpilogue(dnnl::post_ops &Ops, abi::Epilogue E) {
  Ops.append_eltwise(1.0f, epilogueAlgorithm(E), E == abi::Epilogue::Silu ? 1.0f : 0.0f,
                     E == abi::Epilogue::Relu6 ? 6.0f : 0.0f);
}

inline void applyEpilogueAlone(Run &R, abi::Epilogue E, const memory &Dst) {
  if (epilogueIsPostOp(E))
    R.eltwise(epilogueAlgorithm(E), E == abi::Epilogue::Silu ? 1.0f : 0.0f, E == abi::Epilogue::Relu6 ? 6.0f : 0.0f,
              Dst, Dst);
  applyEpilogueAfter(R, E, Dst);
}

inline void checkInputs(const abi::KernelSpec &Spec, size_t Want, size_t Got) {
  if (Spec.Operands.size() != Want + 1)
    throw SpecError{"expected " + std::to_string(Want + 1) + " operands, got " +
                    std::to_string(Spec.Operands.size())};
  if (Got != Want)
    throw SpecError{"expected " + std::to_string(Want) + " input pointers, got " +
                    std::to_string(Got)};
}

/// C = A @ B (+ bias, epilogue) with oneDNN's matmul (OneDnnKernels.cpp).
void gemm(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);
// The convolution family's references (OneDnnConv.cpp).
void conv2d(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);
void convTranspose2d(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
                     std::vector<float> &Out);
void maxPool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);
void avgPool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);
void adaptivePool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);
void depthwise(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst);

} // namespace atalla::reference::onednn

#endif // ATALLA_REFERENCE_ONEDNNDETAIL_H
