//===- lower/SelectAttentionPattern.cpp - attention written out as ops ------===//
//
// Kernel selection (Selector.h) for attention that a model writes as ops
// rather than as scaled_dot_product_attention: bmm(q, k^T) -> [scale] ->
// [mask] -> softmax -> bmm(p, v), with the views torch's matmul
// decomposition puts between them. Where its scores would take more DRAM
// than SelectOptions::FlashAttentionScoreBytes, the pattern becomes one
// attention kernel (flash-attention style: no scores in DRAM), as
// scaled_dot_product_attention does; shorter ones, and any the kernel can
// not take, lower op by op.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

namespace {

/// Views torch's matmul decomposition and the heads' reshapes put around a
/// bmm; expand only where it is a no-op (same sizes), as matmul emits it.
bool isViewLike(const LoweringState &S, const Node &N) {
  if (N.Ns != "aten" || N.Outputs.size() != 1 || N.Outputs[0].Kind != ArgKind::Tensor)
    return false;
  if (N.Op == "view" || N.Op == "_unsafe_view" || N.Op == "reshape")
    return true;
  if (N.Op != "expand")
    return false;
  const frontend::NamedArgument *In = N.input("self");
  if (!In || In->Arg.Kind != ArgKind::Tensor)
    return false;
  auto A = S.Shapes.find(S.resolve(In->Arg.S)), B = S.Shapes.find(N.Outputs[0].S);
  return A != S.Shapes.end() && B != S.Shapes.end() && A->second == B->second;
}

bool isNumber(const Argument &A) { return A.Kind == ArgKind::Float || A.Kind == ArgKind::Int; }

/// The fill of a masked score (masked_fill's value, where's other) the
/// kernel's additive mask can stand for: -inf, or a finite value at most
/// this (torch.finfo(float32).min, what transformers' GPT-2 uses). Then s +
/// fill rounds to fill itself for every |s| under 1e22, and its softmax
/// weight is 0 either way; a row masked whole gets fill everywhere, and
/// softmax's uniform weights, either way.
constexpr double MaskFill = -1e30;

/// The tensor input \p Name of \p N, resolved, or "".
std::string tensorInput(const LoweringState &S, const Node &N, const char *Name) {
  const frontend::NamedArgument *A = N.input(Name);
  return A && A->Arg.Kind == ArgKind::Tensor ? S.resolve(A->Arg.S) : std::string();
}

} // namespace

void Selector::planHandWrittenAttention() {
  const std::map<std::string, size_t> Producer = producerPositions(S);
  // A value the pattern consumes: read only by the next op, no graph output,
  // never overwritten in place.
  auto Private = [&](const std::string &V) {
    return readersOf(V).size() == 1 && !isGraphOutput(V) && !S.Mutated.count(V);
  };
  auto ProducerOf = [&](const std::string &V) -> const Node * {
    auto It = Producer.find(V);
    return It == Producer.end() || !Private(V) ? nullptr : &S.Nodes[It->second];
  };
  for (const Node &Last : S.Nodes) {
    if (Last.Ns != "aten" || Last.Op != "bmm" || Last.Outputs.size() != 1)
      continue;
    AttentionPattern Pl;
    std::vector<std::string> Rev;
    std::string V = tensorInput(S, Last, "self");
    const Node *N = V.empty() ? nullptr : ProducerOf(V);
    while (N && isViewLike(S, *N)) {
      Rev.push_back(N->Name);
      N = ProducerOf(tensorInput(S, *N, "self"));
    }
    if (!N || N->Ns != "aten" || (N->Op != "_softmax" && N->Op != "softmax"))
      continue;
    const frontend::NamedArgument *Dim = N->input("dim");
    const std::vector<int64_t> SmShape = shapeOf(N->Outputs[0].S);
    const frontend::TensorMeta *SmMeta = meta(N->Outputs[0].S);
    if (!Dim || Dim->Arg.Kind != ArgKind::Int || SmShape.size() < 3 || !SmMeta ||
        SmMeta->Dtype != ScalarType::Float32 ||
        (Dim->Arg.I != -1 && Dim->Arg.I != int64_t(SmShape.size()) - 1))
      continue;
    if (const frontend::NamedArgument *H = N->input("half_to_float"); H && H->Arg.Kind == ArgKind::Bool && H->Arg.I)
      continue;
    if (const frontend::NamedArgument *D = N->input("dtype"); D && !D->Arg.isNone())
      continue;
    Pl.Softmax = N->Name;
    Rev.push_back(N->Name);
    N = ProducerOf(tensorInput(S, *N, "self"));
    // At most one mask and one scale, in either order.
    for (int Step = 0; Step < 2 && N && N->Ns == "aten"; ++Step) {
      const frontend::NamedArgument *Fill = N->input("value"), *Other = N->input("other");
      if (Pl.Mask.empty() && N->Op == "masked_fill" && Fill && Fill->Arg.Kind == ArgKind::Float &&
          Fill->Arg.F <= MaskFill && !tensorInput(S, *N, "mask").empty()) {
        Pl.Mask = N->Name;
      } else if (Pl.Mask.empty() && N->Op == "where" && N->Overload == "self" &&
                 !tensorInput(S, *N, "condition").empty() && Other &&
                 ((Other->Arg.Kind == ArgKind::Float && Other->Arg.F <= MaskFill) ||
                  (Other->Arg.Kind == ArgKind::Tensor && shapeOf(S.resolve(Other->Arg.S)).empty()))) {
        Pl.Mask = N->Name;
      } else if (Pl.Mask.empty() && N->Op == "add" && N->Overload == "Tensor" &&
                 !tensorInput(S, *N, "other").empty() && isUnitOrAbsent(N->input("alpha"))) {
        Pl.Mask = N->Name;
      } else if (Pl.Scale.empty() && (N->Op == "mul" || N->Op == "div") && N->input("other") &&
                 (isNumber(N->input("other")->Arg) ||
                  (N->input("other")->Arg.Kind == ArgKind::Tensor &&
                   shapeOf(S.resolve(N->input("other")->Arg.S)).empty())) &&
                 !N->input("rounding_mode")) {
        Pl.Scale = N->Name;
      } else {
        break;
      }
      Rev.push_back(N->Name);
      N = ProducerOf(tensorInput(S, *N, "self"));
    }
    while (N && isViewLike(S, *N)) {
      Rev.push_back(N->Name);
      N = ProducerOf(tensorInput(S, *N, "self"));
    }
    if (!N || N->Ns != "aten" || N->Op != "bmm")
      continue;
    const std::vector<int64_t> Scores = shapeOf(N->Outputs[0].S);
    if (Scores.size() != 3 ||
        double(Scores[0]) * double(Scores[1]) * double(Scores[2]) * 4 <= double(Opts.FlashAttentionScoreBytes))
      continue;
    Pl.First = N->Name;
    Rev.push_back(N->Name);
    Pl.Nodes.assign(Rev.rbegin(), Rev.rend());
    for (const std::string &Name : Pl.Nodes)
      DeferredToAttention[Name] = Last.Name;
    AttentionPlans[Last.Name] = std::move(Pl);
  }
}

int Selector::attentionMask(const Node &Mn, size_t Rank, int64_t L, int64_t Sk, bool &Causal) {
  if (Mn.Op != "masked_fill" && Mn.Op != "where") { // add: the float mask itself
    const int Mk = tensorArg(Mn, "other");
    if (P.Tensors[Mk].Dtype != ScalarType::Float32)
      throw NoKernel{"a mask that is not float32"};
    return Mk;
  }
  // masked_fill(s, masked, fill) and where(kept, s, fill) are s + (masked ?
  // fill : 0) for finite s (MaskFill): a float mask computed here from a
  // constant condition, or the kernel's causal mask where what is masked is
  // exactly j > i.
  const bool Where = Mn.Op == "where";
  const int Cond = tensorArg(Mn, Where ? "condition" : "mask");
  std::optional<double> Fill = scalarOf(Mn.input(Where ? "other" : "value")->Arg);
  if (!Fill || !(*Fill <= MaskFill))
    throw NoKernel{"a masked score's fill that is not at most -1e30"};
  const PTensor &C = P.Tensors[Cond];
  std::optional<std::vector<uint8_t>> Bits = C.Dtype == ScalarType::Bool ? constantElements(Cond) : std::nullopt;
  if (!Bits)
    throw NoKernel{"a mask computed at run time"};
  const std::vector<int64_t> MS = C.Sizes;
  if (MS.size() < 2 || MS.size() > Rank)
    throw NoKernel{"the mask's shape"};
  const int64_t Rows = MS[MS.size() - 2], Cols = MS.back();
  const bool Leading1 = std::all_of(MS.begin(), MS.end() - 2, [](int64_t D) { return D == 1; });
  bool IsCausal = Leading1 && Rows == L && Cols == Sk && L == Sk;
  for (int64_t I = 0; IsCausal && I < Rows; ++I)
    for (int64_t J = 0; IsCausal && J < Cols; ++J)
      IsCausal = (((*Bits)[size_t(I * Cols + J)] != 0) != Where) == (J > I);
  if (IsCausal) {
    Causal = true;
    return -1;
  }
  std::vector<float> Add(Bits->size());
  for (size_t I = 0; I < Add.size(); ++I)
    Add[I] = ((*Bits)[I] != 0) != Where ? float(*Fill) : 0.0f;
  return newConstant(Mn.Name + "_additive", MS, Add);
}

void Selector::selectHandWrittenAttention(const Node &N, const AttentionPattern &Pl) {
  const Node &First = *nodeNamed(Pl.First), &Sm = *nodeNamed(Pl.Softmax);
  int Q = tensorArg(First, "self"), Kt = tensorArg(First, "mat2"), V = tensorArg(N, "mat2");
  for (auto [T, What] : {std::pair{Q, "query"}, {Kt, "key"}, {V, "value"}})
    requireF32(T, What);
  const std::vector<int64_t> QS = P.Tensors[Q].Sizes, KS = P.Tensors[Kt].Sizes, VS = P.Tensors[V].Sizes;
  if (QS.size() != 3 || KS.size() != 3 || VS.size() != 3)
    throw NoKernel{"bmm operands of rank 3 expected"};
  const int64_t BH = QS[0], L = QS[1], E = QS[2], Sk = KS[2], Ev = VS[2];
  if (KS[0] != BH || VS[0] != BH || KS[1] != E || VS[1] != Sk)
    throw NoKernel{"query, key and value do not fit"};
  // The heads: the softmax's leading dims, whose product the bmm's batch is.
  const std::vector<int64_t> SmShape = shapeOf(Sm.Outputs[0].S);
  const std::vector<int64_t> Batch(SmShape.begin(), SmShape.end() - 2);
  if (SmShape[SmShape.size() - 2] != L || SmShape.back() != Sk ||
      std::accumulate(Batch.begin(), Batch.end(), int64_t(1), std::multiplies<int64_t>()) != BH)
    throw NoKernel{"the scores' shape"};
  auto shaped = [&](int64_t Rows, int64_t Cols) {
    std::vector<int64_t> S = Batch;
    S.push_back(Rows);
    S.push_back(Cols);
    return S;
  };
  // The bmm operands with their batch dim split back into the heads' dims
  // (a view: the split of one strided dim), k^T's last two swapped.
  auto split = [&](int T, const std::string &Suffix, bool Swap) {
    const PTensor X = P.Tensors[T];
    std::vector<int64_t> Sz = Batch, St(Batch.size());
    int64_t Inner = X.Strides[0];
    for (size_t D = Batch.size(); D-- > 0;) {
      St[D] = Inner;
      Inner *= Batch[D];
    }
    Sz.insert(Sz.end(), X.Sizes.begin() + 1, X.Sizes.end());
    St.insert(St.end(), X.Strides.begin() + 1, X.Strides.end());
    if (Swap) {
      std::swap(Sz[Sz.size() - 1], Sz[Sz.size() - 2]);
      std::swap(St[St.size() - 1], St[St.size() - 2]);
    }
    return defineView(N.Name + Suffix, T, Sz, St, 0, /*OwnStorage=*/true);
  };
  const int Q4 = split(Q, "_query", false), K4 = split(Kt, "_key", true), V4 = split(V, "_value", false);
  std::vector<abi::OperandSpec> Ops = {broadcastOperand(Q4, shaped(L, E)), broadcastOperand(K4, shaped(Sk, E)),
                                       broadcastOperand(V4, shaped(Sk, Ev))};
  std::vector<int> Ins = {Q4, K4, V4};
  bool Causal = false;
  if (!Pl.Mask.empty())
    if (const int Mk = attentionMask(*nodeNamed(Pl.Mask), SmShape.size(), L, Sk, Causal); Mk >= 0) {
      Ops.push_back(broadcastOperand(Mk, shaped(L, Sk)));
      Ins.push_back(Mk);
    }
  double Scale = 1.0;
  if (!Pl.Scale.empty()) {
    const Node &Sn = *nodeNamed(Pl.Scale);
    std::optional<double> C = scalarOf(Sn.input("other")->Arg);
    if (!C || *C == 0 || !std::isfinite(*C))
      throw NoKernel{"the scale is not a finite nonzero constant"};
    Scale = Sn.Op == "div" ? 1.0 / *C : *C;
  }
  for (const abi::OperandSpec &O : Ops)
    if (O.Sizes.back() > 1 && O.Strides.back() != 1)
      throw NoKernel{"an operand whose rows are not contiguous"};
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::attention;
  Spec.Operands = Ops;
  Spec.Params = {Causal ? 1 : 0};
  Spec.HasScalar = true;
  Spec.Scalar = Scale;
  if (Opts.KernelFits && !Opts.KernelFits(Spec))
    throw NoKernel{"too wide a head for the pads"};
  // The kernel writes the last bmm's result, [heads, L, Ev], as [batch..., L, Ev].
  const std::string OutName = outputName(N);
  const int Out = defineOutput(OutName, ScalarType::Float32, shapeOf(OutName));
  const std::vector<int64_t> OutSz = shaped(L, Ev);
  Spec.Operands.push_back({OutSz, contiguous(OutSz), typeOf(Out)});
  Ins.push_back(Out);
  pushKernel(N, Spec, Ins);
  recordDecision(N, NodeDecision::Accelerated, "attention");
  for (const std::string &Name : Pl.Nodes)
    recordDecision(*nodeNamed(Name), NodeDecision::Fused, "attention", "in the attention kernel of " + N.Name);
}

} // namespace atalla::lower::select
