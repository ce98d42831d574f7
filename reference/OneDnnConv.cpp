//===- reference/OneDnnConv.cpp - oneDNN references of the convolutions ---===//
//
// conv2d (oneDNN's convolution), conv_transpose2d (matmul of its GEMM and an
// exact interleave), max_pool2d and avg_pool2d (pooling_v2) and dwconv2d (a grouped
// convolution), on the spec's views.
//
//===----------------------------------------------------------------------===//
#include "reference/OneDnnDetail.h"

namespace atalla::reference::onednn {

/// conv2d: oneDNN's convolution (groups, strides, padding, dilation, bias,
/// the epilogue as its post-op) on the spec's views: weights [g, Cog, Cg,
/// KH, KW] from W [b, g, Cog, Cg KH KW], source [b, g Cg, H, W], dst [b, g
/// Cog, OH, OW] over the output's buffer. Rows or columns of X past the last
/// window (torch's floor in the output size) are cropped from the view, as
/// oneDNN wants a non-negative right padding.
void conv2d(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  const size_t NumIn = 2 + Spec.HasBias + Spec.HasResidual;
  if (Spec.HasScale)
    throw SpecError{"conv2d takes no column scale (kscale): only gemm does"};
  checkInputs(Spec, NumIn, In.size());
  const abi::OperandSpec &Wt = Spec.Operands[0], &X = Spec.Operands[1], &C = Spec.output();
  if (Wt.Sizes.size() != 4 || X.Sizes.size() != 5 || C.Sizes.size() != 4)
    throw SpecError{"conv2d operands are W [b, g, Cog, K], X [b, g, Cg, H, W], C [b, g, Cog, OH*OW]"};
  const std::vector<int64_t> &P = Spec.Params;
  const int64_t KH = P[0], KW = P[1], SH = P[2], SW = P[3], PH = P[4], PW = P[5], DH = P[6], DW = P[7];
  const int64_t Nb = X.Sizes[0], G = X.Sizes[1], Cg = X.Sizes[2], H = X.Sizes[3], W = X.Sizes[4];
  const int64_t Cog = Wt.Sizes[2], OH = (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1,
                OW = (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
  if (OH < 1 || OW < 1 || OH * OW != C.Sizes[3] || Wt.Sizes[3] != Cg * KH * KW)
    throw SpecError{"conv2d shapes do not agree"};
  if (G > 1 && X.Strides[1] != Cg * X.Strides[2])
    throw SpecError{"conv2d reference: groups must be adjacent channels of X"};
  int64_t PadR[2] = {(OH - 1) * SH + (KH - 1) * DH + 1 - H - PH, (OW - 1) * SW + (KW - 1) * DW + 1 - W - PW};
  const int64_t Hs = PadR[0] < 0 ? H + PadR[0] : H, Ws = PadR[1] < 0 ? W + PadR[1] : W;
  PadR[0] = std::max<int64_t>(PadR[0], 0);
  PadR[1] = std::max<int64_t>(PadR[1], 0);
  memory Src(memory::desc({Nb, G * Cg, Hs, Ws}, F32, {X.Strides[0], X.Strides[2], X.Strides[3], X.Strides[4]}),
             R.E.Eng, const_cast<float *>(In[1]));
  const int64_t Sk = Wt.Strides[3];
  const Dims WDims = G > 1 ? Dims{G, Cog, Cg, KH, KW} : Dims{Cog, Cg, KH, KW};
  const Dims WStrides = G > 1 ? Dims{Wt.Strides[1], Wt.Strides[2], Sk * KH * KW, Sk * KW, Sk}
                              : Dims{Wt.Strides[2], Sk * KH * KW, Sk * KW, Sk};
  memory Wei(memory::desc(WDims, F32, WStrides), R.E.Eng, const_cast<float *>(In[0]));
  memory Out(memory::desc({Nb, G * Cog, OH, OW}, F32, denseStrides({Nb, G * Cog, OH, OW})), R.E.Eng,
             Dst.get_data_handle());
  memory Bias;
  if (Spec.HasBias) {
    const abi::OperandSpec &Bo = Spec.Operands[2];
    if (G > 1 && Bo.Strides[1] != Cog * Bo.Strides[2])
      throw SpecError{"conv2d reference: the bias must be one vector over the output channels"};
    Bias = memory(memory::desc({G * Cog}, F32, {Bo.Strides[2]}), R.E.Eng, const_cast<float *>(In[2]));
  }
  const Dims Strides = {SH, SW}, Dil = {DH - 1, DW - 1}, PadL = {PH, PW}, PadRv = {PadR[0], PadR[1]};
  dnnl::convolution_forward::desc D =
      Spec.HasBias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm::convolution_direct,
                                                     Src.get_desc(), Wei.get_desc(), Bias.get_desc(), Out.get_desc(),
                                                     Strides, Dil, PadL, PadRv)
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm::convolution_direct,
                                                     Src.get_desc(), Wei.get_desc(), Out.get_desc(), Strides, Dil,
                                                     PadL, PadRv);
  dnnl::primitive_attr Attr;
  // A residual is added after the bias and before the epilogue (torch's
  // order): separate primitives, in that order.
  if (epilogueIsPostOp(Spec.Post) && !Spec.HasResidual) {
    dnnl::post_ops Ops;
    appendEpilogue(Ops, Spec.Post);
    Attr.set_post_ops(Ops);
  }
  dnnl::convolution_forward Conv(dnnl::convolution_forward::primitive_desc(D, Attr, R.E.Eng));
  std::unordered_map<int, memory> Args = {{DNNL_ARG_SRC, Src}, {DNNL_ARG_WEIGHTS, Wei}, {DNNL_ARG_DST, Out}};
  if (Spec.HasBias)
    Args[DNNL_ARG_BIAS] = Bias;
  Conv.execute(R.E.Strm, Args);
  R.E.Strm.wait();
  if (!Spec.HasResidual) {
    applyEpilogueAfter(R, Spec.Post, Dst);
    return;
  }
  const abi::OperandSpec &Ro = Spec.Operands[NumIn - 1];
  if (Ro.Sizes != C.Sizes || (G > 1 && Ro.Strides[1] != Cog * Ro.Strides[2]))
    throw SpecError{"conv2d reference: the residual must be the output's shape, its groups adjacent channels"};
  memory Res(memory::desc({Nb, G * Cog, OH, OW}, F32, {Ro.Strides[0], Ro.Strides[2], OW * Ro.Strides[3], Ro.Strides[3]}),
             R.E.Eng, const_cast<float *>(In[NumIn - 1]));
  R.binary(algorithm::binary_add, Out, Res, Out);
  applyEpilogueAlone(R, Spec.Post, Out);
}

namespace {

/// oneDNN's pooling_v2 with \p Alg of In [N, C, H, W] into Dst [N, C, OH,
/// OW]: rows or columns past the last window cropped from the view (oneDNN
/// wants a non-negative right padding).
void pooling(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst,
             algorithm Alg, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t DH,
             int64_t DW) {
  const abi::OperandSpec &X = Spec.Operands[0], &C = Spec.output();
  const int64_t Nb = X.Sizes[0], Ch = X.Sizes[1], H = X.Sizes[2], W = X.Sizes[3];
  const int64_t OH = C.Sizes[2], OW = C.Sizes[3];
  int64_t PadR[2] = {(OH - 1) * SH + (KH - 1) * DH + 1 - H - PH, (OW - 1) * SW + (KW - 1) * DW + 1 - W - PW};
  const int64_t Hs = PadR[0] < 0 ? H + PadR[0] : H, Ws = PadR[1] < 0 ? W + PadR[1] : W;
  PadR[0] = std::max<int64_t>(PadR[0], 0);
  PadR[1] = std::max<int64_t>(PadR[1], 0);
  memory Src(memory::desc({Nb, Ch, Hs, Ws}, F32, {X.Strides[0], X.Strides[1], X.Strides[2], X.Strides[3]}), R.E.Eng,
             const_cast<float *>(In[0]));
  memory Out(memory::desc({Nb, Ch, OH, OW}, F32, denseStrides({Nb, Ch, OH, OW})), R.E.Eng, Dst.get_data_handle());
  dnnl::pooling_v2_forward::desc D(dnnl::prop_kind::forward_inference, Alg, Src.get_desc(), Out.get_desc(), {SH, SW},
                                   {KH, KW}, {DH - 1, DW - 1}, {PH, PW}, {PadR[0], PadR[1]});
  dnnl::pooling_v2_forward Pool(dnnl::pooling_v2_forward::primitive_desc(D, R.E.Eng));
  Pool.execute(R.E.Strm, {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Out}});
  R.E.Strm.wait();
}

} // namespace

/// max_pool2d: oneDNN's max pooling (pooling_v2, for dilation). oneDNN's
/// max pooling ignores the padding, as the kernel's -inf padding does.
void maxPool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  if (Spec.Operands[0].Sizes.size() != 4 || Spec.output().Sizes.size() != 4)
    throw SpecError{"max_pool2d operands are In [N, C, H, W] and Out [N, C, OH, OW]"};
  const std::vector<int64_t> &P = Spec.Params;
  pooling(R, Spec, In, Dst, algorithm::pooling_max, P[0], P[1], P[2], P[3], P[4], P[5], P[6], P[7]);
}

/// avg_pool2d: oneDNN's average pooling, padding included in the divisor
/// or not (count_include_pad). oneDNN has no divisor override: with one,
/// the include-padding average is scaled by KH KW / divisor afterwards (one
/// more rounding than torch's sum / divisor, within the shape's bound).
void avgPool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  if (Spec.Operands[0].Sizes.size() != 4 || Spec.output().Sizes.size() != 4 || Spec.Params.size() != 8)
    throw SpecError{"avg_pool2d operands are In [N, C, H, W] and Out [N, C, OH, OW], 8 params"};
  const std::vector<int64_t> &P = Spec.Params;
  const int64_t KH = P[0], KW = P[1], Incl = P[6], Div = P[7];
  const algorithm Alg = Incl || Div ? algorithm::pooling_avg_include_padding : algorithm::pooling_avg_exclude_padding;
  pooling(R, Spec, In, Dst, Alg, KH, KW, P[2], P[3], P[4], P[5], 1, 1);
  if (Div) {
    float *O = static_cast<float *>(Dst.get_data_handle());
    const float Scale = float(double(KH * KW) / double(Div));
    for (int64_t I = 0; I < Spec.output().numel(); ++I)
      O[I] *= Scale;
  }
}

/// adaptive_avg_pool2d with unequal windows: oneDNN 2.6's pooling takes one
/// window size, so the input is made dense by a oneDNN reorder (exact) and
/// each of torch's windows ([floor(i N / M), ceil((i + 1) N / M)) per dim)
/// averaged on the host in double, rounded once to f32.
void adaptivePool(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, 1, In.size());
  const abi::OperandSpec &I = Spec.Operands[0], &O = Spec.output();
  if (I.Sizes.size() != 4 || O.Sizes.size() != 4)
    throw SpecError{"adaptive pooling's operands are In [N, C, H, W] and Out [N, C, OH, OW]"};
  const int64_t Planes = I.Sizes[0] * I.Sizes[1], H = I.Sizes[2], W = I.Sizes[3], OH = O.Sizes[2], OW = O.Sizes[3];
  memory Dense = R.materialise(I, In[0], {I.Sizes[0], I.Sizes[1], H, W});
  const float *X = static_cast<const float *>(Dense.get_data_handle());
  float *Y = static_cast<float *>(Dst.get_data_handle());
  for (int64_t Pl = 0; Pl < Planes; ++Pl)
    for (int64_t Oh = 0; Oh < OH; ++Oh)
      for (int64_t Ow = 0; Ow < OW; ++Ow) {
        const int64_t H0 = Oh * H / OH, H1 = ((Oh + 1) * H + OH - 1) / OH;
        const int64_t W0 = Ow * W / OW, W1 = ((Ow + 1) * W + OW - 1) / OW;
        double Sum = 0;
        for (int64_t Ih = H0; Ih < H1; ++Ih)
          for (int64_t Iw = W0; Iw < W1; ++Iw)
            Sum += double(X[(Pl * H + Ih) * W + Iw]);
        Y[(Pl * OH + Oh) * OW + Ow] = float(Sum / double((H1 - H0) * (W1 - W0)));
      }
}

/// conv_transpose2d (stride = kernel): oneDNN's matmul of the spec's GEMM,
/// Y [b, M, N] = W' @ X (+ bias, epilogue), then Y's rows interleaved into
/// the dense output [b, Co, OH * OW] (an exact copy).
void convTranspose2d(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In,
                     std::vector<float> &Out) {
  const abi::OperandSpec &A = Spec.Operands[0], &B = Spec.Operands[1], &C = Spec.output();
  if (A.Sizes.size() != 3 || B.Sizes.size() != 3 || C.Sizes.size() != 3)
    throw SpecError{"conv_transpose2d operands are W' [b, M, K], X [b, K, N], (bias,) Out [b, Co, OH*OW]"};
  const int64_t Nb = A.Sizes[0], M = A.Sizes[1], N = B.Sizes[2], KH = Spec.Params[0], KW = Spec.Params[1],
                IW = Spec.Params[2], Co = C.Sizes[1], IH = N / IW, OW = IW * KW;
  if (M != Co * KH * KW || N % IW || C.Sizes[2] != N * KH * KW)
    throw SpecError{"conv_transpose2d shapes do not agree"};
  abi::KernelSpec G = Spec;
  G.Kernel = abi::KernelId::gemm;
  G.Params.clear();
  G.Operands.back() = abi::OperandSpec{{Nb, M, N}, {M * N, N, 1}};
  std::vector<float> Y(size_t(Nb * M * N));
  memory YM(R.dense({Nb, M, N}), R.E.Eng, Y.data());
  gemm(R, G, In, YM);
  for (int64_t Bi = 0; Bi < Nb; ++Bi)
    for (int64_t O = 0; O < Co; ++O)
      for (int64_t Kh = 0; Kh < KH; ++Kh)
        for (int64_t Kw = 0; Kw < KW; ++Kw)
          for (int64_t Ih = 0; Ih < IH; ++Ih)
            for (int64_t Iw = 0; Iw < IW; ++Iw)
              Out[size_t((Bi * Co + O) * N * KH * KW + (Ih * KH + Kh) * OW + Iw * KW + Kw)] =
                  Y[size_t((Bi * M + (O * KH + Kh) * KW + Kw) * N + Ih * IW + Iw)];
}

/// dwconv2d: oneDNN's grouped convolution (groups = channels), through the
/// conv2d reference on the same views: W [1, C, 1, KH*KW], X [N, C, 1, H,
/// W], bias [1, C, 1, OH*OW] broadcast, out [N, C, 1, OH*OW].
void depthwise(Run &R, const abi::KernelSpec &Spec, const std::vector<const float *> &In, const memory &Dst) {
  checkInputs(Spec, Spec.HasBias ? 3 : 2, In.size());
  const abi::OperandSpec &X = Spec.Operands[0], &Wt = Spec.Operands[1], &C = Spec.output();
  if (X.Sizes.size() != 4 || Wt.Sizes.size() != 2 || C.Sizes.size() != 4)
    throw SpecError{"dwconv2d operands are In [N, C, H, W], W [C, KH*KW], (bias [C],) Out [N, C, OH, OW]"};
  const int64_t Nb = X.Sizes[0], Ch = X.Sizes[1], OHW = C.Sizes[2] * C.Sizes[3], KHW = Wt.Sizes[1];
  abi::KernelSpec G = Spec;
  G.Kernel = abi::KernelId::conv2d;
  G.Operands.clear();
  G.Operands.push_back({{Nb, Ch, 1, KHW}, {0, Wt.Strides[0], KHW, Wt.Strides[1]}});
  G.Operands.push_back({{Nb, Ch, 1, X.Sizes[2], X.Sizes[3]}, {X.Strides[0], X.Strides[1], X.Strides[1], X.Strides[2], X.Strides[3]}});
  if (Spec.HasBias)
    G.Operands.push_back({{Nb, Ch, 1, OHW}, {0, Spec.Operands[2].Strides[0], Spec.Operands[2].Strides[0], 0}});
  G.Operands.push_back({{Nb, Ch, 1, OHW}, {Ch * OHW, OHW, OHW, 1}});
  std::vector<const float *> GIn = {In[1], In[0]}; // conv2d's order: weights, input, (bias)
  if (Spec.HasBias)
    GIn.push_back(In[2]);
  conv2d(R, G, GIn, Dst);
}

} // namespace atalla::reference::onednn
