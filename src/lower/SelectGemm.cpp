//===- lower/SelectGemm.cpp - GEMMs, attention ------------------------------===//
//
// Kernel selection (Selector.h) for GEMMs, attention and their epilogues.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

/// A GEMM operand [batch..., R, C] laid out so that one of its last two
/// strides is 1 (materialised by the copy kernel otherwise).
abi::OperandSpec Selector::gemmOperand(int &T, const std::vector<int64_t> &Batch, int64_t R, int64_t C, const Node &N) {
  std::vector<int64_t> Want = Batch;
  Want.push_back(R);
  Want.push_back(C);
  abi::OperandSpec O = broadcastOperand(T, Want);
  size_t Rk = O.Sizes.size();
  int64_t &SR = O.Strides[Rk - 2], &SC = O.Strides[Rk - 1];
  // Size-1 dimensions may take whichever stride makes the layout legal.
  if (SC != 1 && SR != 1) {
    if (R == 1)
      SR = 1;
    else if (C == 1)
      SC = 1;
  }
  if (SC != 1 && SR != 1) {
    T = materialize(T, N.Name);
    O = broadcastOperand(T, Want);
  }
  return O;
}

void Selector::selectGemm(const Node &N) {
  const std::string Op = N.Op;
  int A, B, Bias = -1;
  if (Op == "linear") {
    A = tensorArg(N, "input");
    int W = tensorArg(N, "weight");
    requireF32(W, "weight");
    if (P.Tensors[W].Sizes.size() != 2)
      throw NoKernel{"weight is not 2-D"};
    // weight^T as a view: no copy.
    const PTensor &Wt = P.Tensors[W];
    B = defineView(Wt.Name + "_T_" + N.Name, W, {Wt.Sizes[1], Wt.Sizes[0]}, {Wt.Strides[1], Wt.Strides[0]}, 0,
                   /*OwnStorage=*/true);
    if (const Argument *BA = arg(N, "bias", false); BA && BA->Kind == ArgKind::Tensor)
      Bias = tensorArg(N, "bias");
  } else if (Op == "addmm") {
    Bias = tensorArg(N, "self");
    A = tensorArg(N, "mat1");
    B = tensorArg(N, "mat2");
    for (const char *Coef : {"beta", "alpha"})
      if (const Argument *C = arg(N, Coef, false))
        if (!((C->Kind == ArgKind::Int && C->I == 1) || (C->Kind == ArgKind::Float && C->F == 1.0)))
          throw NoKernel{std::string(Coef) + " != 1"};
  } else {
    A = tensorArg(N, "self");
    B = tensorArg(N, Op == "matmul" ? "other" : "mat2");
  }
  requireF32(A, "first operand");
  requireF32(B, "second operand");
  if (Bias >= 0)
    requireF32(Bias, "bias");
  if (P.Tensors[A].Sizes.size() < 2 || P.Tensors[B].Sizes.size() < 2)
    throw NoKernel{"1-D matmul operand"};
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  if (Shape.size() < 2)
    throw NoKernel{"result of rank < 2"};
  int64_t Mdim = Shape[Shape.size() - 2], Ndim = Shape.back();
  int64_t K = P.Tensors[A].Sizes.back();
  if (P.Tensors[B].Sizes[P.Tensors[B].Sizes.size() - 2] != K)
    throw NoKernel{"inner dimensions differ"};
  std::vector<int64_t> Batch(Shape.begin(), Shape.end() - 2);
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::gemm;
  std::vector<int> Ops;
  Spec.Operands.push_back(gemmOperand(A, Batch, Mdim, K, N));
  Spec.Operands.push_back(gemmOperand(B, Batch, K, Ndim, N));
  Ops = {A, B};
  if (Bias >= 0) {
    Spec.HasBias = true;
    Spec.Operands.push_back(broadcastOperand(Bias, Shape));
    Ops.push_back(Bias);
  }
  const std::string Summed = fuseResidual(N, Spec, Ops, OutName, [&](int T) { return broadcastOperand(T, Shape); });
  int Out = defineOutput(fuseEpilogue(N, Spec, Summed), ScalarType::Float32, Shape);
  S.TensorOf[OutName] = Out;
  S.TensorOf[Summed] = Out;
  Spec.Operands.push_back(operand(Out));
  Ops.push_back(Out);
  emitKernel(N, Spec, Ops);
}

/// scaled_dot_product_attention without dropout: S = q k^T (k^T a view),
/// S * scale + mask (a float mask, and -inf above the diagonal when
/// causal: one chain kernel), softmax along the last dim, then P v.
void Selector::selectAttention(const Node &N) {
  if (N.Op == "_scaled_dot_product_flash_attention_for_cpu") { // (output, logsumexp)
    std::vector<std::string> Names;
    for (const Argument &O : N.Outputs)
      O.collectTensorNames(Names);
    if (Names.size() >= 2) {
      const std::string Lse = S.resolve(Names[1]);
      if (!readersOf(Lse).empty() || isGraphOutput(Lse))
        throw NoKernel{"its logsumexp is read"};
    }
  }
  int Q = tensorArg(N, "query"), K = tensorArg(N, "key"), V = tensorArg(N, "value");
  for (auto [T, What] : {std::pair{Q, "query"}, {K, "key"}, {V, "value"}})
    requireF32(T, What);
  if (const Argument *D = arg(N, "dropout_p", false);
      D && ((D->Kind == ArgKind::Float && D->F != 0) || (D->Kind == ArgKind::Int && D->I != 0)))
    throw NoKernel{"dropout"};
  if (const Argument *G = arg(N, "enable_gqa", false); G && G->Kind == ArgKind::Bool && G->I)
    throw NoKernel{"grouped-query attention"};
  const std::vector<int64_t> QS = P.Tensors[Q].Sizes, KS = P.Tensors[K].Sizes, VS = P.Tensors[V].Sizes;
  if (QS.size() < 2 || KS.size() < 2 || VS.size() < 2)
    throw NoKernel{"operands of rank < 2"};
  const int64_t L = QS[QS.size() - 2], E = QS.back(), Sk = KS[KS.size() - 2], Ev = VS.back();
  if (KS.back() != E || VS[VS.size() - 2] != Sk)
    throw NoKernel{"query, key and value do not fit"};
  std::string OutName = outputName(N);
  const std::vector<int64_t> Shape = shapeOf(OutName);
  if (Shape.size() < 2 || Shape[Shape.size() - 2] != L || Shape.back() != Ev)
    throw NoKernel{"result shape"};
  if (Sk > Opts.MaxSoftmaxRow && !Opts.LongSoftmaxRows) // longer: the softmax walks its rows in chunks
    throw NoKernel{"key length exceeds the softmax row limit"};
  const std::vector<int64_t> Batch(Shape.begin(), Shape.end() - 2);
  std::vector<int64_t> SShape = Batch;
  SShape.push_back(L);
  SShape.push_back(Sk);
  double Scale = 1.0 / std::sqrt(double(E));
  if (const Argument *Sc = arg(N, "scale", false); Sc && !Sc->isNone())
    Scale = Sc->Kind == ArgKind::Float ? Sc->F : Sc->Kind == ArgKind::Int ? double(Sc->I) : Scale;
  // Long sequences: one attention kernel, the scores never in DRAM.
  int64_t BatchElems = 1;
  for (int64_t Bd : Batch)
    BatchElems *= Bd;
  if (double(BatchElems) * double(L) * double(Sk) * 4 > double(Opts.FlashAttentionScoreBytes) &&
      selectFlashAttention(N, Q, K, V, Batch, L, E, Sk, Ev, Scale, OutName, Shape))
    return;
  // q k^T.
  const PTensor KT = P.Tensors[K];
  std::vector<int64_t> TSz = KT.Sizes, TSt = KT.Strides;
  std::swap(TSz[TSz.size() - 1], TSz[TSz.size() - 2]);
  std::swap(TSt[TSt.size() - 1], TSt[TSt.size() - 2]);
  int Kt = defineView(N.Name + "_keyT", K, TSz, TSt, 0, /*OwnStorage=*/true);
  abi::KernelSpec G1;
  G1.Kernel = abi::KernelId::gemm;
  G1.Operands = {gemmOperand(Q, Batch, L, E, N), gemmOperand(Kt, Batch, E, Sk, N)};
  int Scores = defineOutput(N.Name + "_scores", ScalarType::Float32, SShape);
  G1.Operands.push_back(operand(Scores));
  pushKernel(N, G1, {Q, Kt, Scores});
  // * scale (+ mask) (+ causal -inf).
  abi::KernelSpec C;
  C.Kernel = abi::KernelId::chain;
  C.Operands = {operand(Scores)};
  std::vector<int> Ins = {Scores};
  abi::ChainStep Mul;
  Mul.Op = abi::KernelId::mul;
  Mul.Bits = abi::f32Bits(float(Scale));
  C.addChainStep(Mul);
  auto addInput = [&](int T) {
    C.Operands.push_back(broadcastOperand(T, SShape));
    Ins.push_back(T);
    abi::ChainStep Add;
    Add.Op = abi::KernelId::add;
    Add.Source = int64_t(Ins.size()) - 1;
    C.addChainStep(Add);
  };
  if (const Argument *Mask = arg(N, "attn_mask", false); Mask && Mask->Kind == ArgKind::Tensor) {
    int Mk = tensorArg(N, "attn_mask");
    if (P.Tensors[Mk].Dtype != ScalarType::Float32)
      throw NoKernel{"a boolean attention mask"};
    addInput(Mk);
  }
  if (const Argument *Causal = arg(N, "is_causal", false); Causal && Causal->Kind == ArgKind::Bool && Causal->I) {
    std::vector<float> Tri(size_t(L * Sk), 0.0f);
    for (int64_t I = 0; I < L; ++I)
      for (int64_t J = I + 1; J < Sk; ++J)
        Tri[size_t(I * Sk + J)] = -std::numeric_limits<float>::infinity();
    addInput(newConstant(N.Name + "_causal", {L, Sk}, Tri));
  }
  int Logits = defineOutput(N.Name + "_logits", ScalarType::Float32, SShape);
  C.Operands.push_back(operand(Logits));
  Ins.push_back(Logits);
  pushKernel(N, C, Ins);
  // softmax along the keys.
  abi::KernelSpec Sm;
  Sm.Kernel = abi::KernelId::softmax;
  Sm.Dim = int64_t(SShape.size()) - 1;
  int Probs = defineOutput(N.Name + "_probs", ScalarType::Float32, SShape);
  Sm.Operands = {operand(Logits), operand(Probs)};
  pushKernel(N, Sm, {Logits, Probs});
  // P v.
  abi::KernelSpec G2;
  G2.Kernel = abi::KernelId::gemm;
  G2.Operands = {gemmOperand(Probs, Batch, L, Sk, N), gemmOperand(V, Batch, Sk, Ev, N)};
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  G2.Operands.push_back(operand(Out));
  emitKernel(N, G2, {Probs, V, Out});
}

/// The attention kernel for scaled_dot_product_attention (q, k, v rows
/// contiguous, a float mask whose rows are, or none); false where the
/// operands do not allow it (the caller then decomposes).
bool Selector::selectFlashAttention(const Node &N, int Q, int K, int V, const std::vector<int64_t> &Batch,
                                    int64_t L, int64_t E, int64_t Sk, int64_t Ev, double Scale,
                                    const std::string &OutName, const std::vector<int64_t> &Shape) {
  auto shaped = [&](int64_t Rows, int64_t Cols) {
    std::vector<int64_t> S = Batch;
    S.push_back(Rows);
    S.push_back(Cols);
    return S;
  };
  std::vector<abi::OperandSpec> Ops = {broadcastOperand(Q, shaped(L, E)), broadcastOperand(K, shaped(Sk, E)),
                                       broadcastOperand(V, shaped(Sk, Ev))};
  std::vector<int> Ins = {Q, K, V};
  if (const Argument *Mask = arg(N, "attn_mask", false); Mask && Mask->Kind == ArgKind::Tensor) {
    int Mk = tensorArg(N, "attn_mask");
    if (P.Tensors[Mk].Dtype != ScalarType::Float32)
      return false;
    Ops.push_back(broadcastOperand(Mk, shaped(L, Sk)));
    Ins.push_back(Mk);
  }
  for (const abi::OperandSpec &O : Ops)
    if (O.Sizes.back() > 1 && O.Strides.back() != 1)
      return false;
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::attention;
  Spec.Operands = Ops;
  const Argument *Causal = arg(N, "is_causal", false);
  Spec.Params = {Causal && Causal->Kind == ArgKind::Bool && Causal->I ? 1 : 0};
  Spec.HasScalar = true;
  Spec.Scalar = Scale;
  if (Opts.KernelFits && !Opts.KernelFits(Spec)) // too wide a head for the pads
    return false;
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  Spec.Operands.push_back(operand(Out));
  Ins.push_back(Out);
  pushKernel(N, Spec, Ins);
  recordDecision(N, NodeDecision::Accelerated, "attention");
  return true;
}

std::string Selector::fuseResidual(const Node &N, abi::KernelSpec &Spec, std::vector<int> &Ops,
                                   const std::string &Result, const std::function<abi::OperandSpec(int)> &Operand) {
  auto Mark = S.Fusion.Residual.find(Result); // fuse-residuals: its only reader may be fused
  if (Mark == S.Fusion.Residual.end())
    return Result;
  const Node &A = *nodeNamed(Mark->second);
  const std::string X = S.resolve(A.input("self")->Arg.S), Y = S.resolve(A.input("other")->Arg.S);
  auto It = S.TensorOf.find(X == Result ? Y : X);
  if (It == S.TensorOf.end()) // not computed yet (the mark's order check makes this rare)
    return Result;
  const int R = It->second;
  if (P.Tensors[R].Dtype != ScalarType::Float32 || P.Tensors[R].Sizes != shapeOf(A.Outputs[0].S))
    return Result;
  abi::OperandSpec O;
  try {
    O = Operand(R);
  } catch (const NoKernel &) {
    return Result;
  }
  Spec.HasResidual = true;
  Spec.Operands.push_back(O);
  Ops.push_back(R);
  FusedResidual[A.Name] = Result;
  return A.Outputs[0].S;
}

/// When a relu or gelu alone reads \p Result (and it is no graph output),
/// fuses it into \p Spec's epilogue and returns its value, which the
/// GEMM's output then holds (and is named after); otherwise \p Result.
std::string Selector::fuseEpilogue(const Node &N, abi::KernelSpec &Spec, const std::string &Result) {
  auto Mark = S.Fusion.Epilogue.find(Result); // fuse-epilogues: its only reader may be fused
  if (Mark == S.Fusion.Epilogue.end())
    return Result;
  const Node &R = *nodeNamed(Mark->second);
  if (R.Ns != "aten" || R.Outputs.size() != 1 || R.Inputs.empty() || R.Inputs[0].Arg.Kind != ArgKind::Tensor ||
      S.resolve(R.Inputs[0].Arg.S) != Result)
    return Result;
  abi::Epilogue E;
  const std::optional<abi::KernelId> K = kernelFor(R);
  if (K == abi::KernelId::relu) {
    E = abi::Epilogue::Relu;
  } else if (K == abi::KernelId::clamp && (R.Op == "hardtanh" || R.Op == "clamp") && R.Inputs.size() >= 3 &&
             scalarOf(R.Inputs[1].Arg) == 0.0 && scalarOf(R.Inputs[2].Arg) == 6.0) {
    E = abi::Epilogue::Relu6;
  } else if (K == abi::KernelId::hardswish) {
    E = abi::Epilogue::Hardswish;
  } else if (K == abi::KernelId::silu) {
    E = abi::Epilogue::Silu;
  } else if (K == abi::KernelId::sigmoid) { // a squeeze-and-excitation gate
    E = abi::Epilogue::Sigmoid;
  } else if (K == abi::KernelId::hardsigmoid) {
    E = abi::Epilogue::Hardsigmoid;
  } else if (K == abi::KernelId::gelu) {
    const frontend::NamedArgument *A = R.input("approximate");
    std::string Approx = A && A->Arg.Kind == ArgKind::String ? A->Arg.S : "none";
    if (Approx != "none" && Approx != "tanh")
      return Result;
    E = Approx == "tanh" ? abi::Epilogue::GeluTanh : abi::Epilogue::Gelu;
  } else {
    return Result;
  }
  const frontend::TensorMeta *OM = meta(R.Outputs[0].S);
  if (!OM || OM->Dtype != ScalarType::Float32)
    return Result;
  Spec.Post = E;
  FusedEpilogue[R.Name] = N.Name;
  return R.Outputs[0].S;
}

} // namespace atalla::lower::select
