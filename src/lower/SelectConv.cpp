//===- lower/SelectConv.cpp - convolutions, pooling -------------------------===//
//
// Kernel selection (Selector.h) for convolutions, batch norms and pooling.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

// --- convolutions through the GEMM --------------------------------------
/// The conv2d kernel takes output rows up to this wide (its im2col row
/// copies are unrolled per tap column) where its smallest blocking fits
/// SelectOptions::ConvBudgetFloats; others go through the materialised
/// im2col.
static constexpr int64_t MaxDirectConvWidth = 1024;
/// An int[2] argument (a single value repeats), or Default when absent.
std::vector<int64_t> Selector::intPair(const Node &N, const char *Name, int64_t Default) {
  const Argument *A = arg(N, Name, false);
  if (!A || A->isNone())
    return {Default, Default};
  if (A->Kind == ArgKind::Int)
    return {A->I, A->I};
  auto V = A->asInts();
  if (!V || V->empty() || V->size() > 2)
    throw NoKernel{std::string("argument '") + Name + "' is not one or two ints"};
  if (V->size() == 1)
    return {(*V)[0], (*V)[0]};
  return *V;
}

/// Per-channel scale and shift of an inference batch_norm whose
/// parameters are constants: y = x * scale[c] + shift[c].
bool Selector::batchNormAffine(const Node &Bn, int64_t C, std::vector<double> &Scale, std::vector<double> &Shift) {
  const Argument *Training = arg(Bn, "training", false);
  if (Bn.Op == "batch_norm" && (!Training || Training->I))
    return false;
  auto values = [&](const char *Name, double Default) -> std::optional<std::vector<double>> {
    const Argument *A = arg(Bn, Name, false);
    if (!A || A->isNone())
      return std::vector<double>(size_t(C), Default);
    if (A->Kind != ArgKind::Tensor)
      return std::nullopt;
    auto V = constantValues(tensorArg(Bn, Name));
    if (!V || int64_t(V->size()) != C)
      return std::nullopt;
    return std::vector<double>(V->begin(), V->end());
  };
  auto Gamma = values("weight", 1), Beta = values("bias", 0), Mean = values("running_mean", 0),
       Var = values("running_var", 1);
  const Argument *Eps = arg(Bn, "eps", false);
  if (!Gamma || !Beta || !Mean || !Var || !Eps || Eps->Kind != ArgKind::Float)
    return false;
  if (!arg(Bn, "running_mean", false) || arg(Bn, "running_mean")->isNone())
    return false; // batch statistics: not an affine map
  Scale.resize(size_t(C));
  Shift.resize(size_t(C));
  for (size_t I = 0; I < size_t(C); ++I) {
    // torch: (x - mean) * (1 / sqrt(var + eps)) * gamma + beta.
    double Inv = 1.0 / std::sqrt((*Var)[I] + Eps->F);
    Scale[I] = Inv * (*Gamma)[I];
    Shift[I] = (*Beta)[I] - (*Mean)[I] * Scale[I];
  }
  return true;
}

/// A convolution's output tensor [Nb, Co, OH, OW] (its own, or its slice of
/// a cat) as the GEMM's C [Nb, G, Co / G, OH * OW]: rows (a channel's
/// pixels) contiguous.
abi::OperandSpec Selector::convOutputOperand(int Out, int64_t G) {
  const PTensor &T = P.Tensors[Out];
  const std::vector<int64_t> &Sz = T.Sizes, &St = T.Strides;
  const int64_t Cog = Sz[1] / G, OHW = Sz[2] * Sz[3];
  if ((Sz[3] > 1 && St[3] != 1) || (Sz[2] > 1 && St[2] != Sz[3]))
    throw NoKernel{"the convolution's output rows are not contiguous"};
  return {{Sz[0], G, Cog, OHW}, {St[0], Cog * St[1], St[1], 1}};
}

/// conv2d of X [N, C, H, W] with W [Co, C/G, KH, KW] (+ bias [Co]) as one
/// batched GEMM: W as [G][Co/G][C/G*KH*KW] (shared by every image) times
/// the im2col matrix [N][G][C/G*KH*KW][OH*OW] of the padded input (a view
/// of it, materialised by the copy kernel; 1x1 stride-1 convolutions read
/// the input in place), bias seeding C. A batch_norm that alone reads the
/// result, with constant statistics, is folded into W and the bias. Where
/// the conv2d kernel applies, it replaces the padded copy, the im2col and
/// the GEMM; a depthwise convolution is a dwconv2d kernel.
void Selector::convCore(const Node &N, int X, int W, int Bias, const std::vector<int64_t> &St,
                        const std::vector<int64_t> &Pd, const std::vector<int64_t> &Dl, int64_t G,
                        const std::string &OutName, const std::vector<int64_t> &OutShape) {
  const PTensor XT = P.Tensors[X];
  const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], H = XT.Sizes[2], Wd = XT.Sizes[3];
  const int64_t Co = P.Tensors[W].Sizes[0], Cg = P.Tensors[W].Sizes[1], KH = P.Tensors[W].Sizes[2],
                KW = P.Tensors[W].Sizes[3];
  if (C != Cg * G || Co % G)
    throw NoKernel{"channels (" + std::to_string(C) + " in, " + std::to_string(Co) + " out) do not match " +
                   std::to_string(G) + " group(s)"};
  for (int I = 0; I < 2; ++I)
    if (St[I] < 1 || Dl[I] < 1 || Pd[I] < 0)
      throw NoKernel{"stride, dilation or padding out of range"};
  const int64_t OH = (H + 2 * Pd[0] - Dl[0] * (KH - 1) - 1) / St[0] + 1,
                OW = (Wd + 2 * Pd[1] - Dl[1] * (KW - 1) - 1) / St[1] + 1;
  if (OutShape != std::vector<int64_t>{Nb, Co, OH, OW})
    throw NoKernel{"output shape " + frontend::formatShape(OutShape) + " is not the convolution's [" +
                   std::to_string(Nb) + ", " + std::to_string(Co) + ", " + std::to_string(OH) + ", " +
                   std::to_string(OW) + "]"};
  if (Nb * Co * OH * OW == 0 || Cg * KH * KW == 0)
    throw NoKernel{"empty convolution"};
  // Fold a following inference batch_norm into the weights and bias. The
  // result then holds the batch norm's value, and is named after it (what
  // --per-op compares it with).
  std::string ResultName = OutName;
  if (auto Mark = S.Fusion.BatchNormInto.find(OutName); Mark != S.Fusion.BatchNormInto.end()) {
    const Node *Bn = nodeNamed(Mark->second);
    std::vector<double> Scale, Shift;
    auto Wv = constantValues(W);
    std::optional<std::vector<float>> Bv;
    if (Bias >= 0)
      Bv = constantValues(Bias);
    if (Wv && (Bias < 0 || Bv) && batchNormAffine(*Bn, Co, Scale, Shift)) {
      const size_t PerOut = Wv->size() / size_t(Co);
      std::vector<float> Wf(Wv->size()), Bf(static_cast<size_t>(Co));
      for (size_t O = 0; O < size_t(Co); ++O) {
        for (size_t I = 0; I < PerOut; ++I)
          Wf[O * PerOut + I] = float(double((*Wv)[O * PerOut + I]) * Scale[O]);
        Bf[O] = float(double(Bv ? (*Bv)[O] : 0.0f) * Scale[O] + Shift[O]);
      }
      W = newConstant(N.Name + "_weight_bn", P.Tensors[W].Sizes, Wf);
      Bias = newConstant(N.Name + "_bias_bn", {Co}, Bf);
      FoldedBatchNorm[Bn->Name] = N.Name;
      ResultName = Bn->Outputs[0].S;
    }
  }
  if (!isContiguous(P.Tensors[W]))
    W = materialize(W, N.Name);
  const bool InPlace1x1 = KH == 1 && KW == 1 && St[0] == 1 && St[1] == 1 && Pd[0] == 0 && Pd[1] == 0;
  if (Gate && (!InPlace1x1 || G != 1))
    throw NoKernel{"a channel gate is taken by 1x1, stride-1, ungrouped convolutions only"};
  if (Opts.DirectConv && G == C && Cg == 1 && Co == C && KH * KW > 1 && Wd * ((KH - 1) * Dl[0] + 1) <= Opts.ConvBudgetFloats / 4) {
    // Depthwise (one filter per channel): the dwconv2d kernel on the vector
    // core, the input's planes read in place, zero padding by bounds.
    if (P.Tensors[X].Strides[3] != 1)
      X = materialize(X, N.Name);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::dwconv2d;
    Spec.Params = {KH, KW, St[0], St[1], Pd[0], Pd[1], Dl[0], Dl[1]};
    Spec.Operands.push_back(operand(X));
    Spec.Operands.push_back({{C, KH * KW}, {KH * KW, 1}});
    std::vector<int> Ops{X, W};
    if (Bias >= 0) {
      if (P.Tensors[Bias].Sizes != std::vector<int64_t>{Co})
        throw NoKernel{"bias is not [" + std::to_string(Co) + "]"};
      Spec.HasBias = true;
      Spec.Operands.push_back(operand(Bias));
      Ops.push_back(Bias);
    }
    ResultName = fuseEpilogue(N, Spec, ResultName);
    int Out = defineOutput(ResultName, ScalarType::Float32, OutShape);
    S.TensorOf[OutName] = Out;
    Spec.Operands.push_back(operand(Out));
    Ops.push_back(Out);
    emitKernel(N, Spec, Ops);
    return;
  }
  // The conv2d kernel's smallest blocking (GemmPlan.cpp planConv): one
  // channel's taps, one output row, 14 rows of C, the im2col tile twice
  // (row-major and in panels), the input rows and a zero row.
  const int64_t KHW = KH * KW, Rows1 = std::min((KH - 1) * Dl[0] + 1, H), M1 = std::min<int64_t>(Co / G, 14);
  const int64_t SmallestConv =
      M1 * KHW + 2 * KHW * OW + M1 * OW + Rows1 * Wd + Wd + ((KH - 1) * Dl[0] + 1) * (OW + (KW - 1) * Dl[1]);
  if (Opts.DirectConv && !InPlace1x1 && OW <= MaxDirectConvWidth && SmallestConv <= Opts.ConvBudgetFloats) {
    // The conv2d kernel: the input read in place (its rows by SDMA, padding
    // by bounds), im2col tiles built in the scratchpad.
    if (P.Tensors[X].Strides[3] != 1)
      X = materialize(X, N.Name);
    const std::vector<int64_t> XS = P.Tensors[X].Strides;
    const int64_t Kd = Cg * KH * KW, Cog = Co / G;
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::conv2d;
    Spec.Params = {KH, KW, St[0], St[1], Pd[0], Pd[1], Dl[0], Dl[1]};
    Spec.Operands.push_back({{Nb, G, Cog, Kd}, {0, Cog * Kd, Kd, 1}});
    Spec.Operands.push_back({{Nb, G, Cg, H, Wd}, {XS[0], Cg * XS[1], XS[1], XS[2], XS[3]}});
    finishConvKernel(N, Spec, {W, X}, Bias, G, ResultName, OutName, OutShape);
    return;
  }
  int Xp = X;
  if (Pd[0] || Pd[1])
    Xp = padded(N, X, {0, 0, Pd[0], Pd[1]}, {1, 1, 1, 1}, {0, 0, Pd[0], Pd[1]}, N.Name + "_padded");
  const std::vector<int64_t> XS = P.Tensors[Xp].Strides;
  const int64_t Kd = Cg * KH * KW, OHW = OH * OW, Cog = Co / G;
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::gemm;
  int Cols;
  abi::OperandSpec BOp;
  if (KH == 1 && KW == 1 && St[0] == 1 && St[1] == 1 && XS[3] == 1 && XS[2] == P.Tensors[Xp].Sizes[3]) {
    Cols = Xp;
    BOp = {{Nb, G, Cg, OHW}, {XS[0], Cg * XS[1], XS[1], 1}};
  } else {
    if (Gate)
      throw NoKernel{"a channel gate needs the input read in place"};
    int V = defineView(N.Name + "_im2col", Xp, {Nb, G, Cg, KH, KW, OH, OW},
                       {XS[0], Cg * XS[1], XS[1], Dl[0] * XS[2], Dl[1] * XS[3], St[0] * XS[2], St[1] * XS[3]}, 0,
                       /*OwnStorage=*/true);
    Cols = materialize(V, N.Name);
    BOp = {{Nb, G, Kd, OHW}, contiguous({Nb, G, Kd, OHW})};
  }
  Spec.Operands.push_back({{Nb, G, Cog, Kd}, {0, Cog * Kd, Kd, 1}});
  Spec.Operands.push_back(BOp);
  finishConvKernel(N, Spec, {W, Cols}, Bias, G, ResultName, OutName, OutShape);
}

/// A convolution kernel's spec, its weight and input operands given, made
/// whole: the bias [Co] as a per-row operand of C, the fused epilogue, the
/// output (its own tensor or its slice of a cat), and the kernel emitted.
void Selector::finishConvKernel(const Node &N, abi::KernelSpec &Spec, std::vector<int> Ops, int Bias, int64_t G,
                                std::string ResultName, const std::string &OutName,
                                const std::vector<int64_t> &OutShape) {
  const int64_t Nb = OutShape[0], Co = OutShape[1], Cog = Co / G, OHW = OutShape[2] * OutShape[3];
  if (Bias >= 0) {
    const PTensor &BT = P.Tensors[Bias];
    if (BT.Sizes != std::vector<int64_t>{Co})
      throw NoKernel{"bias is not [" + std::to_string(Co) + "]"};
    Spec.HasBias = true;
    Spec.Operands.push_back({{Nb, G, Cog, OHW}, {0, Cog * BT.Strides[0], BT.Strides[0], 0}});
    Ops.push_back(Bias);
  }
  if (Gate && Spec.Kernel == abi::KernelId::gemm && G == 1) {
    // The channel gate g [Nb, C, 1, 1] as the GEMM's column scale [Nb, 1,
    // 1, C]: W diag(g_n) x_n is W (g_n * x_n), the product never written.
    const PTensor &GT = P.Tensors[Gate->G];
    Spec.HasScale = true;
    Spec.Operands.push_back({{Nb, 1, 1, GT.Sizes[1]}, {GT.Strides[0], 0, 0, GT.Strides[1]}});
    Ops.push_back(Gate->G);
    Gate->Taken = true;
  }
  const std::string Conv = ResultName;
  ResultName = fuseResidual(N, Spec, Ops, ResultName, [&](int T) { return convOutputOperand(T, G); });
  const std::string Summed = ResultName;
  ResultName = fuseEpilogue(N, Spec, ResultName);
  int Out = defineOutputOrCatSlot(ResultName, OutShape);
  S.TensorOf[OutName] = Out;
  S.TensorOf[Conv] = Out;
  S.TensorOf[Summed] = Out;
  Spec.Operands.push_back(convOutputOperand(Out, G));
  Ops.push_back(Out);
  emitKernel(N, Spec, Ops);
}

void Selector::selectConv(const Node &N) {
  bool Transposed = N.Op == "conv_transpose2d";
  if (N.Op == "convolution") {
    const Argument *T = arg(N, "transposed");
    if (T->Kind != ArgKind::Bool)
      throw NoKernel{"transposed is not a bool"};
    Transposed = T->I != 0;
  }
  int X = tensorArg(N, "input"), W = tensorArg(N, "weight");
  requireF32(X, "input");
  requireF32(W, "weight");
  int Bias = -1;
  if (const Argument *BA = arg(N, "bias", false); BA && BA->Kind == ArgKind::Tensor) {
    Bias = tensorArg(N, "bias");
    requireF32(Bias, "bias");
  }
  const PTensor XT = P.Tensors[X], WT = P.Tensors[W];
  if (XT.Sizes.size() != 4 || WT.Sizes.size() != 4)
    throw NoKernel{"only batched 2-D convolutions (4-D input and weight)"};
  std::vector<int64_t> St = intPair(N, "stride", 1), Pd = intPair(N, "padding", 0),
                       Dl = intPair(N, "dilation", 1);
  const Argument *GA = arg(N, "groups", false);
  int64_t G = GA && GA->Kind == ArgKind::Int ? GA->I : 1;
  if (G < 1)
    throw NoKernel{"groups < 1"};
  std::string OutName = outputName(N);
  std::vector<int64_t> OutShape = shapeOf(OutName);
  if (!Transposed) {
    convCore(N, X, W, Bias, St, Pd, Dl, G, OutName, OutShape);
    return;
  }
  // conv_transpose2d = conv2d, stride 1, of the input with stride - 1
  // zeros between elements and d * (k - 1) - p (+ output_padding at the
  // end) around them, by the weight with its taps flipped and its in/out
  // channels swapped within each group.
  std::vector<int64_t> OutPad = intPair(N, "output_padding", 0);
  const int64_t C = XT.Sizes[1], Cog = WT.Sizes[1], KH = WT.Sizes[2], KW = WT.Sizes[3];
  if (WT.Sizes[0] != C || C % G)
    throw NoKernel{"weight [" + std::to_string(WT.Sizes[0]) + ", ...] does not match " + std::to_string(C) +
                   " input channels in " + std::to_string(G) + " group(s)"};
  for (int I = 0; I < 2; ++I)
    if (St[I] < 1 || Dl[I] < 1 || Pd[I] < 0 || OutPad[I] < 0)
      throw NoKernel{"stride, dilation, padding or output_padding out of range"};
  const int64_t Lo[2] = {Dl[0] * (KH - 1) - Pd[0], Dl[1] * (KW - 1) - Pd[1]};
  if (Lo[0] < 0 || Lo[1] < 0)
    throw NoKernel{"padding larger than dilation * (kernel - 1)"};
  auto Wv = constantValues(W);
  if (!Wv)
    throw NoKernel{"transposed convolution with a non-constant weight"};
  const int64_t Cg = C / G, Co = Cog * G;
  if (G == 1 && St[0] == KH && St[1] == KW && Pd == std::vector<int64_t>{0, 0} && Dl == std::vector<int64_t>{1, 1} &&
      OutPad == std::vector<int64_t>{0, 0}) {
    convTransposeTiled(N, X, *Wv, Bias, KH, KW, Co, OutName, OutShape);
    return;
  }
  std::vector<float> Wc(Wv->size());
  for (int64_t Gi = 0; Gi < G; ++Gi)
    for (int64_t O = 0; O < Cog; ++O)
      for (int64_t I = 0; I < Cg; ++I)
        for (int64_t Kh = 0; Kh < KH; ++Kh)
          for (int64_t Kw = 0; Kw < KW; ++Kw)
            Wc[size_t((((Gi * Cog + O) * Cg + I) * KH + Kh) * KW + Kw)] =
                (*Wv)[size_t((((Gi * Cg + I) * Cog + O) * KH + (KH - 1 - Kh)) * KW + (KW - 1 - Kw))];
  int Wt = newConstant(N.Name + "_weight_conv", {Co, Cg, KH, KW}, Wc);
  int Xz = padded(N, X, {0, 0, Lo[0], Lo[1]}, {1, 1, St[0], St[1]}, {0, 0, Lo[0] + OutPad[0], Lo[1] + OutPad[1]},
                  N.Name + "_dilated");
  convCore(N, Xz, Wt, Bias, {1, 1}, {0, 0}, Dl, G, OutName, OutShape);
}

/// conv_transpose2d whose windows tile the output (stride = kernel, no
/// padding or dilation, one group): every output pixel gets exactly one
/// product sum, so it is one GEMM, Y[(co, kh, kw)][(ih, iw)] = W'[(co, kh,
/// kw)][ci] @ X[ci][(ih, iw)] per image (X read in place, bias per row),
/// whose tiles the conv_transpose2d kernel interleaves into the output's
/// rows on chip: no zeros inserted, no im2col, no Y in DRAM.
void Selector::convTransposeTiled(const Node &N, int X, const std::vector<float> &Wv, int Bias, int64_t KH, int64_t KW,
                                  int64_t Co, const std::string &OutName, const std::vector<int64_t> &OutShape) {
  if (!isContiguous(P.Tensors[X]))
    X = materialize(X, N.Name);
  const PTensor XT = P.Tensors[X];
  const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], IH = XT.Sizes[2], IW = XT.Sizes[3];
  const int64_t M = Co * KH * KW, HW = IH * IW;
  if (OutShape != std::vector<int64_t>{Nb, Co, IH * KH, IW * KW})
    throw NoKernel{"output shape " + frontend::formatShape(OutShape) + " is not the transposed convolution's"};
  // W [C, Co, KH, KW] -> W' [(co, kh, kw)][ci].
  std::vector<float> Wt(size_t(M * C));
  for (int64_t Ci = 0; Ci < C; ++Ci)
    for (int64_t R = 0; R < M; ++R)
      Wt[size_t(R * C + Ci)] = Wv[size_t(Ci * M + R)];
  int W2 = newConstant(N.Name + "_weight_rows", {M, C}, Wt);
  abi::KernelSpec Gemm;
  Gemm.Kernel = abi::KernelId::gemm;
  Gemm.Operands = {{{Nb, M, C}, {0, C, 1}}, {{Nb, C, HW}, {XT.Strides[0], XT.Strides[1], 1}}};
  std::vector<int> Ops{W2, X};
  if (Bias >= 0) {
    auto Bv = constantValues(Bias);
    if (!Bv || int64_t(Bv->size()) != Co)
      throw NoKernel{"bias is not a constant [" + std::to_string(Co) + "]"};
    std::vector<float> Rows(static_cast<size_t>(M));
    for (int64_t R = 0; R < M; ++R)
      Rows[size_t(R)] = (*Bv)[size_t(R / (KH * KW))];
    int B2 = newConstant(N.Name + "_bias_rows", {M}, Rows);
    Gemm.HasBias = true;
    Gemm.Operands.push_back({{Nb, M, HW}, {0, 1, 0}});
    Ops.push_back(B2);
  }
  // out[n][co][ih KH + kh][iw KW + kw] = (W' @ X)[n][(co, kh, kw)][(ih, iw)]:
  // the conv_transpose2d kernel interleaves each C tile in the scratchpad
  // and stores whole rows (into its slice of a cat that reads it, where
  // marked).
  int Out = defineOutputOrCatSlot(OutName, OutShape);
  const std::vector<int64_t> OS = P.Tensors[Out].Strides;
  if (OS[3] != 1 || OS[2] != IW * KW)
    throw NoKernel{"the transposed convolution's output planes are not contiguous"};
  Gemm.Kernel = abi::KernelId::conv_transpose2d;
  Gemm.Params = {KH, KW, IW};
  Gemm.Operands.push_back({{Nb, Co, HW * KH * KW}, {OS[0], OS[1], 1}});
  Ops.push_back(Out);
  pushKernel(N, Gemm, Ops);
  recordDecision(N, NodeDecision::Accelerated, "conv_transpose2d");
}

/// Inference batch_norm with constant statistics, not folded: x * scale +
/// shift with the mul and add kernels (scale and shift [C, 1, ...]).
void Selector::selectBatchNorm(const Node &N) {
  int X = tensorArg(N, "input");
  requireF32(X, "input");
  const std::vector<int64_t> Shape = P.Tensors[X].Sizes;
  if (Shape.size() < 2)
    throw NoKernel{"input of rank < 2"};
  std::vector<double> Scale, Shift;
  if (!batchNormAffine(N, Shape[1], Scale, Shift))
    throw NoKernel{"batch statistics (training) or non-constant parameters"};
  std::vector<int64_t> PerChannel(Shape.size() - 1, 1);
  PerChannel[0] = Shape[1];
  int ScaleT = newConstant(N.Name + "_scale", PerChannel, std::vector<float>(Scale.begin(), Scale.end()));
  int ShiftT = newConstant(N.Name + "_shift", PerChannel, std::vector<float>(Shift.begin(), Shift.end()));
  std::string OutName = outputName(N);
  int Tmp = defineOutput(N.Name + "_scaled", ScalarType::Float32, Shape);
  abi::KernelSpec Mul;
  Mul.Kernel = abi::KernelId::mul;
  Mul.Operands = {broadcastOperand(X, Shape), broadcastOperand(ScaleT, Shape), operand(Tmp)};
  pushKernel(N, Mul, {X, ScaleT, Tmp});
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  abi::KernelSpec Add;
  Add.Kernel = abi::KernelId::add;
  Add.Operands = {operand(Tmp), broadcastOperand(ShiftT, Shape), operand(Out)};
  pushKernel(N, Add, {Tmp, ShiftT, Out});
  recordDecision(N, NodeDecision::Accelerated, "mul+add");
}

/// max_pool2d as max over the window: the input padded with -inf (when
/// padded), then one maximum kernel per further tap, each reading the
/// tap's strided view [N, C, OH, OW] of it.
/// A pool kernel holds one output row's input rows, laid out again with
/// their padding, and the output row (codegen::kernelFits, on the sizes
/// of a spec whose operands are not chosen yet): NoKernel where they do
/// not fit the target's pads.
void Selector::requirePoolFits(const abi::KernelSpec &Spec, const std::vector<int64_t> &In,
                               const std::vector<int64_t> &Out) const {
  if (!Opts.KernelFits)
    return;
  abi::KernelSpec Probe = Spec;
  Probe.Operands = {abi::OperandSpec{In, {}}, abi::OperandSpec{Out, {}}};
  if (!Opts.KernelFits(Probe))
    throw NoKernel{"one output row's input rows do not fit the scratchpad"};
}

void Selector::selectMaxPool(const Node &N) {
  int X = tensorArg(N, "self");
  requireF32(X, "input");
  const PTensor XT = P.Tensors[X];
  if (XT.Sizes.size() != 4)
    throw NoKernel{"only 4-D input"};
  std::vector<int64_t> K = intPair(N, "kernel_size", 1);
  std::vector<int64_t> St = K;
  if (const Argument *SA = arg(N, "stride", false); SA && !SA->isNone()) {
    auto V = SA->asInts();
    if (V && !V->empty())
      St = intPair(N, "stride", 1);
  }
  std::vector<int64_t> Pd = intPair(N, "padding", 0), Dl = intPair(N, "dilation", 1);
  for (int I = 0; I < 2; ++I)
    if (K[I] < 1 || St[I] < 1 || Dl[I] < 1 || Pd[I] < 0 || 2 * Pd[I] > K[I])
      throw NoKernel{"kernel, stride, padding or dilation out of range"};
  // max_pool2d_with_indices: the values and the indices, each computed
  // only where something reads it.
  std::vector<std::string> Names;
  for (const Argument &O : N.Outputs)
    O.collectTensorNames(Names);
  if (Names.empty() || Names.size() > 2)
    throw NoKernel{"results other than values and indices"};
  auto used = [&](size_t I) {
    const std::string R = S.resolve(Names[I]);
    return !readersOf(R).empty() || isGraphOutput(R);
  };
  const bool Indices = Names.size() == 2 && used(1), Values = !Indices || used(0);
  std::string OutName = Names[0];
  std::vector<int64_t> Shape = shapeOf(OutName);
  const int64_t OH = (XT.Sizes[2] + 2 * Pd[0] - Dl[0] * (K[0] - 1) - 1) / St[0] + 1,
                OW = (XT.Sizes[3] + 2 * Pd[1] - Dl[1] * (K[1] - 1) - 1) / St[1] + 1;
  // ceil_mode may add a last, partial window; only the shapes where it does not are taken.
  if (Shape != std::vector<int64_t>{XT.Sizes[0], XT.Sizes[1], OH, OW})
    throw NoKernel{"output shape " + frontend::formatShape(Shape) + " (ceil_mode with a partial window)"};
  // A kernel of max_pool2d's windows (the values, or the maxima's indices)
  // into result \p Name.
  auto windowKernel = [&](abi::KernelId Kernel, const std::string &Name, ScalarType Type) {
    abi::KernelSpec Spec;
    Spec.Kernel = Kernel;
    Spec.Params = {K[0], K[1], St[0], St[1], Pd[0], Pd[1], Dl[0], Dl[1]};
    requirePoolFits(Spec, XT.Sizes, Shape);
    if (P.Tensors[X].Strides[3] != 1)
      X = materialize(X, N.Name);
    Spec.Operands.push_back(operand(X));
    int Out = defineOutput(Name, Type, Shape);
    Spec.Operands.push_back(operand(Out));
    pushKernel(N, Spec, {X, Out});
  };
  if (Indices) {
    // The maxima's flat indices into each input plane (i64), by the
    // max_pool2d_index kernel, beside the values' kernel where those are read.
    const frontend::TensorMeta *IM = meta(Names[1]);
    if (!IM || IM->Dtype != ScalarType::Int64 || shapeOf(Names[1]) != Shape)
      throw NoKernel{"indices that are not int64 of the output's shape"};
    windowKernel(abi::KernelId::max_pool2d_index, Names[1], ScalarType::Int64);
    if (!Values) {
      recordDecision(N, NodeDecision::Accelerated, "max_pool2d_index");
      return;
    }
  }
  if (K[0] * K[1] > 1) {
    // The max_pool2d kernel: the input's planes read in place (padding by
    // bounds; any image and channel strides, a cat's slice too), one pass.
    windowKernel(abi::KernelId::max_pool2d, OutName, ScalarType::Float32);
    recordDecision(N, NodeDecision::Accelerated, Indices ? "max_pool2d, max_pool2d_index" : "max_pool2d");
    return;
  }
  int Xp = X;
  const std::vector<int64_t> XS = P.Tensors[Xp].Strides;
  auto tap = [&](int64_t Kh, int64_t Kw) {
    return defineView(N.Name + "_tap" + std::to_string(Kh) + "_" + std::to_string(Kw), Xp, Shape,
                      {XS[0], XS[1], St[0] * XS[2], St[1] * XS[3]}, Kh * Dl[0] * XS[2] + Kw * Dl[1] * XS[3],
                      /*OwnStorage=*/true);
  };
  // A 1x1 window (padding 0): a strided copy.
  int Acc = tap(0, 0);
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::copy;
  Spec.Operands = {operand(Acc), operand(Out)};
  pushKernel(N, Spec, {Acc, Out});
  recordDecision(N, NodeDecision::Accelerated, Indices ? "copy, max_pool2d_index" : "copy");
}

/// avg_pool2d and adaptive_avg_pool2d (whose unequal windows, sizes not
/// divisible, are an adaptive_avg_pool2d kernel). A global pool of a
/// contiguous input (its rows are the windows) is one GEMM with a constant
/// column of 1 / divisor; every other
/// pool is an avg_pool2d kernel reading the input in place (padding by
/// bounds, count_include_pad either way, divisor_override).
void Selector::selectAvgPool(const Node &N) {
  int X = tensorArg(N, "self");
  requireF32(X, "input");
  const PTensor XT = P.Tensors[X];
  if (XT.Sizes.size() != 4)
    throw NoKernel{"only 4-D input"};
  const int64_t Nb = XT.Sizes[0], C = XT.Sizes[1], H = XT.Sizes[2], W = XT.Sizes[3];
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  std::vector<int64_t> K, St, Pd{0, 0};
  bool IncludePad = true;
  int64_t DivisorOverride = 0;
  if (N.Op == "adaptive_avg_pool2d" || N.Op == "_adaptive_avg_pool2d") {
    if (Shape.size() != 4 || Shape[0] != Nb || Shape[1] != C || Shape[2] < 1 || Shape[3] < 1)
      throw NoKernel{"output shape " + frontend::formatShape(Shape)};
    if (H % Shape[2] || W % Shape[3]) {
      // Unequal windows (the output size does not divide the input's):
      // the adaptive_avg_pool2d kernel, torch's windows per output.
      abi::KernelSpec Spec;
      Spec.Kernel = abi::KernelId::adaptive_avg_pool2d;
      Spec.Operands = {abi::OperandSpec{XT.Sizes, {}}, abi::OperandSpec{Shape, {}}};
      if (Opts.KernelFits && !Opts.KernelFits(Spec))
        throw NoKernel{"one input plane does not fit the scratchpad"};
      if (XT.Strides[3] != 1 && W > 1)
        X = materialize(X, N.Name);
      Spec.Operands = {operand(X)};
      int Out = defineOutput(OutName, ScalarType::Float32, Shape);
      Spec.Operands.push_back(operand(Out));
      emitKernel(N, Spec, {X, Out});
      return;
    }
    K = St = {H / Shape[2], W / Shape[3]};
  } else {
    K = intPair(N, "kernel_size", 1);
    St = K;
    if (const Argument *SA = arg(N, "stride", false); SA && !SA->isNone() && SA->asInts() && !SA->asInts()->empty())
      St = intPair(N, "stride", 1);
    Pd = intPair(N, "padding", 0);
    if (const Argument *Incl = arg(N, "count_include_pad", false); Incl && Incl->Kind == ArgKind::Bool)
      IncludePad = Incl->I != 0;
    if (const Argument *D = arg(N, "divisor_override", false); D && D->Kind == ArgKind::Int) {
      if (D->I < 1 || D->I > (1 << 30))
        throw NoKernel{"divisor_override " + std::to_string(D->I) + " out of range"};
      DivisorOverride = D->I;
    }
  }
  for (int I = 0; I < 2; ++I)
    if (K[I] < 1 || St[I] < 1 || Pd[I] < 0 || 2 * Pd[I] > K[I])
      throw NoKernel{"kernel, stride or padding out of range"};
  const int64_t OH = (H + 2 * Pd[0] - K[0]) / St[0] + 1, OW = (W + 2 * Pd[1] - K[1]) / St[1] + 1;
  if (Shape != std::vector<int64_t>{Nb, C, OH, OW})
    throw NoKernel{"output shape " + frontend::formatShape(Shape) + " (ceil_mode with a partial window)"};
  const int64_t M = Nb * C * OH * OW, Kd = K[0] * K[1];
  if (OH == 1 && OW == 1 && Kd == H * W && isContiguous(XT) && Pd == std::vector<int64_t>{0, 0}) {
    // A global pool: the input's rows are the windows.
    const double Divisor = DivisorOverride ? double(DivisorOverride) : double(Kd);
    int Wt = newConstant(N.Name + "_inv_divisor", {Kd, 1}, std::vector<float>(size_t(Kd), float(1.0 / Divisor)));
    int Out = defineOutput(OutName, ScalarType::Float32, Shape);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::gemm;
    Spec.Operands = {{{M, Kd}, {Kd, 1}}, {{Kd, 1}, {1, 1}}, {{M, 1}, {1, 1}}};
    emitKernel(N, Spec, {X, Wt, Out});
    return;
  }
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::avg_pool2d;
  Spec.Params = {K[0], K[1], St[0], St[1], Pd[0], Pd[1], IncludePad ? 1 : 0, DivisorOverride};
  requirePoolFits(Spec, XT.Sizes, Shape);
  if (P.Tensors[X].Strides[3] != 1)
    X = materialize(X, N.Name);
  Spec.Operands.push_back(operand(X));
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  Spec.Operands.push_back(operand(Out));
  pushKernel(N, Spec, {X, Out});
  recordDecision(N, NodeDecision::Accelerated, "avg_pool2d");
}

} // namespace atalla::lower::select
