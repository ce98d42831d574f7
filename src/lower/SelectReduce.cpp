//===- lower/SelectReduce.cpp - rows and reductions -------------------------===//
//
// Kernel selection (Selector.h) for row and reduction kernels: softmax, layer norm, reductions, gathers.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

void Selector::selectSoftmax(const Node &N, abi::KernelId K) {
  int In = tensorArg(N, "self");
  requireF32(In, "input");
  if (const Argument *Dt = arg(N, "dtype", false); Dt && Dt->Kind == ArgKind::ScalarType &&
                                                    Dt->I != static_cast<int64_t>(ScalarType::Float32))
    throw NoKernel{"softmax with a dtype conversion"};
  if (const Argument *H = arg(N, "half_to_float", false); H && H->I)
    throw NoKernel{"half_to_float"};
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  int64_t Dim = normDim(arg(N, "dim")->I, Shape.size());
  abi::OperandSpec InOp = broadcastOperand(In, Shape);
  if (!Shape.empty() && Shape[Dim] > Opts.MaxSoftmaxRow) {
    // Longer rows are walked from DRAM in chunks where they are contiguous.
    bool Last = true;
    for (size_t I = size_t(Dim) + 1; I < Shape.size(); ++I)
      Last &= Shape[I] == 1;
    if (!Opts.LongSoftmaxRows || !Last || InOp.Strides[size_t(Dim)] != 1)
      throw NoKernel{"softmax row of " + std::to_string(Shape[Dim]) + " elements exceeds the scratchpad row limit " +
                     std::to_string(Opts.MaxSoftmaxRow) + " and is not a contiguous last dim"};
  }
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  abi::KernelSpec Spec;
  Spec.Kernel = K;
  Spec.Dim = Shape.empty() ? 0 : Dim;
  Spec.Operands = {InOp, operand(Out)};
  emitKernel(N, Spec, {In, Out});
}

/// layer_norm over the trailing normalized_shape dims, as [R, D] rows;
/// an absent weight or bias is a constant row of ones or zeros.
/// sum, mean (dims or all), amax, amin: the kept dims become O and the
/// reduced ones D of an [O, D] view (one of its strides 1); where no view
/// can say it, a copy of the input permuted to [kept..., reduced...] first.
void Selector::selectReduce(const Node &N, abi::KernelId K) {
  int X = tensorArg(N, "self");
  requireF32(X, "input");
  if (const Argument *Dt = arg(N, "dtype", false);
      Dt && Dt->Kind == ArgKind::ScalarType && Dt->I != static_cast<int64_t>(ScalarType::Float32))
    throw NoKernel{"a dtype conversion"};
  // The results: (kernel, name, dtype). max.dim / min.dim give values
  // and indices; each is computed only where something reads it.
  std::vector<std::tuple<abi::KernelId, std::string, ScalarType>> Results;
  if (N.Op == "max" || N.Op == "min") {
    std::vector<std::string> Names;
    for (const Argument &O : N.Outputs)
      O.collectTensorNames(Names);
    if (Names.size() != 2)
      throw NoKernel{"max.dim / min.dim without values and indices"};
    const bool IsMax = N.Op == "max";
    for (int I = 0; I < 2; ++I) {
      const std::string R = S.resolve(Names[size_t(I)]);
      if (readersOf(R).empty() && !isGraphOutput(R))
        continue;
      Results.emplace_back(I == 0 ? (IsMax ? abi::KernelId::amax : abi::KernelId::amin)
                                  : (IsMax ? abi::KernelId::argmax : abi::KernelId::argmin),
                           Names[size_t(I)], I == 0 ? ScalarType::Float32 : ScalarType::Int64);
    }
  } else {
    const bool Arg = K == abi::KernelId::argmax || K == abi::KernelId::argmin;
    Results.emplace_back(K, outputName(N), Arg ? ScalarType::Int64 : ScalarType::Float32);
  }
  for (const auto &[RK, Name, Type] : Results) {
    const frontend::TensorMeta *OM = meta(Name);
    if (!OM || OM->Dtype != Type)
      throw NoKernel{"result '" + Name + "' is not " + frontend::scalarTypeName(Type).str()};
  }
  const PTensor XT = P.Tensors[X];
  const size_t Rank = XT.Sizes.size();
  std::vector<bool> Reduced(Rank, false);
  const Argument *DimA = arg(N, "dim", false);
  std::optional<std::vector<int64_t>> Dims;
  if (DimA && !DimA->isNone()) {
    Dims = DimA->Kind == ArgKind::Int ? std::vector<int64_t>{DimA->I} : DimA->asInts().value_or(std::vector<int64_t>{});
    if (DimA->Kind != ArgKind::Int && !DimA->asInts())
      throw NoKernel{"dim is not a list of ints"};
  }
  if (!Dims || Dims->empty()) {
    std::fill(Reduced.begin(), Reduced.end(), true);
  } else {
    for (int64_t D : *Dims)
      Reduced[size_t(normDim(D, Rank))] = true;
  }
  // [kept..., reduced...], each group merged into one dim where linear.
  auto group = [&](bool Red, int64_t &Size, int64_t &Stride) {
    Size = 1;
    Stride = 1;
    int64_t Next = -1; // the stride the next (outer) dim must have to merge
    bool Linear = true;
    for (size_t D = Rank; D-- > 0;) {
      if (Reduced[D] != Red || XT.Sizes[D] == 1)
        continue;
      if (Next < 0)
        Stride = XT.Strides[D];
      else
        Linear &= XT.Strides[D] == Next;
      Next = XT.Strides[D] * XT.Sizes[D];
      Size *= XT.Sizes[D];
    }
    return Linear;
  };
  int64_t O, SO, D, SD;
  bool Ok = group(false, O, SO) & group(true, D, SD);
  Ok = Ok && (D == 1 || SD == 1 || O == 1 || SO == 1);
  int In = X;
  if (!Ok) {
    std::vector<int64_t> Sizes, Strides;
    for (bool Red : {false, true})
      for (size_t Dm = 0; Dm < Rank; ++Dm)
        if (Reduced[Dm] == Red) {
          Sizes.push_back(XT.Sizes[Dm]);
          Strides.push_back(XT.Strides[Dm]);
        }
    int Perm = defineView(N.Name + "_perm", X, Sizes, Strides, 0, /*OwnStorage=*/true);
    In = materialize(Perm, N.Name);
    O = 1;
    for (size_t Dm = 0; Dm < Rank; ++Dm)
      if (!Reduced[Dm])
        O *= XT.Sizes[Dm];
    D = O ? P.Tensors[In].numel() / O : 0;
    SO = D;
    SD = 1;
  }
  if (Results.empty()) { // max.dim with neither result read
    recordDecision(N, NodeDecision::Removed, "");
    return;
  }
  for (const auto &[RK, Name, Type] : Results) {
    if ((RK == abi::KernelId::argmax || RK == abi::KernelId::argmin) && (D == 0 || D > 64 * 1024))
      throw NoKernel{"an arg reduction over " + std::to_string(D) + " elements"};
    int Out = defineOutput(Name, Type, shapeOf(Name));
    if (P.Tensors[Out].numel() != O)
      throw NoKernel{"result has " + std::to_string(P.Tensors[Out].numel()) + " elements, the kept dims " +
                     std::to_string(O)};
    abi::KernelSpec Spec;
    Spec.Kernel = RK;
    Spec.Operands = {{{O, D}, {O == 1 ? 0 : SO, D == 1 ? 1 : SD}}, {{O, 1}, {1, 1}, typeOf(Out)}};
    if (O == 1)
      Spec.Operands[0].Strides[0] = D;
    pushKernel(N, Spec, {In, Out});
  }
  recordDecision(N, NodeDecision::Accelerated, std::string(abi::kernelName(std::get<0>(Results[0]))));
}

/// embedding(weight [V, D], indices [...]) and index_select(self [V, D],
/// 0, index [N]): the gather kernel over the flattened indices.
void Selector::selectEmbedding(const Node &N) {
  const bool Select = N.Op == "index_select";
  int W = tensorArg(N, Select ? "self" : "weight");
  int I = tensorArg(N, Select ? "index" : "indices");
  requireF32(W, "table");
  if (Select && normDim(arg(N, "dim")->I, P.Tensors[W].Sizes.size()) != 0)
    throw NoKernel{"index_select along a dim other than 0"};
  if (P.Tensors[W].Sizes.size() != 2)
    throw NoKernel{"the table is not 2-D"};
  const ScalarType IT = P.Tensors[I].Dtype;
  if (IT != ScalarType::Int64 && IT != ScalarType::Int32)
    throw NoKernel{"indices of dtype " + frontend::scalarTypeName(IT).str()};
  if (const Argument *S = arg(N, "sparse", false); S && S->Kind == ArgKind::Bool && S->I)
    throw NoKernel{"sparse embedding"};
  const int64_t V = P.Tensors[W].Sizes[0], D = P.Tensors[W].Sizes[1];
  if (D > 1 && P.Tensors[W].Strides[1] != 1)
    W = materialize(W, N.Name);
  if (!isContiguous(P.Tensors[I]))
    I = materialize(I, N.Name);
  const int64_t Count = P.Tensors[I].numel();
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  if (P.Tensors[Out].numel() != Count * D)
    throw NoKernel{"result shape does not match the indices and rows"};
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::embedding;
  Spec.Operands = {{{V, D}, {P.Tensors[W].Strides[0], 1}},
                   {{Count}, {1}, typeOf(I)},
                   {{Count, D}, {D, 1}}};
  emitKernel(N, Spec, {W, I, Out});
}

void Selector::selectLayerNorm(const Node &N) {
  int X = tensorArg(N, "input");
  requireF32(X, "input");
  auto Norm = arg(N, "normalized_shape")->asInts();
  const std::vector<int64_t> Shape = P.Tensors[X].Sizes;
  if (!Norm || Norm->empty() || Norm->size() > Shape.size() ||
      !std::equal(Norm->begin(), Norm->end(), Shape.end() - Norm->size()))
    throw NoKernel{"normalized_shape is not the input's trailing dims"};
  int64_t D = 1, R = 1;
  for (int64_t S : *Norm)
    D *= S;
  for (size_t I = 0; I + Norm->size() < Shape.size(); ++I)
    R *= Shape[I];
  if (D > Opts.MaxNormRow)
    throw NoKernel{"layer-norm row of " + std::to_string(D) + " elements exceeds the scratchpad row limit " +
                   std::to_string(Opts.MaxNormRow)};
  const Argument *Eps = arg(N, "eps", false);
  if (Eps && Eps->Kind != ArgKind::Float)
    throw NoKernel{"eps is not a number"};
  if (!isContiguous(P.Tensors[X]))
    X = materialize(X, N.Name);
  auto param = [&](const char *Name, float Default) {
    const Argument *A = arg(N, Name, false);
    if (!A || A->isNone())
      return newConstant(N.Name + "_" + Name + "_default", {D}, std::vector<float>(size_t(D), Default));
    int T = tensorArg(N, Name);
    requireF32(T, Name);
    if (P.Tensors[T].numel() != D)
      throw NoKernel{std::string(Name) + " does not have normalized_shape"};
    return isContiguous(P.Tensors[T]) ? T : materialize(T, N.Name);
  };
  int W = param("weight", 1.0f), Bias = param("bias", 0.0f);
  std::string OutName = outputName(N);
  int Out = defineOutput(OutName, ScalarType::Float32, shapeOf(OutName));
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::layer_norm;
  Spec.HasScalar = true;
  Spec.Scalar = Eps ? Eps->F : 1e-5;
  Spec.Operands = {{{R, D}, {D, 1}}, {{R, D}, {0, 1}}, {{R, D}, {0, 1}}, {{R, D}, {D, 1}}};
  emitKernel(N, Spec, {X, W, Bias, Out});
}

} // namespace atalla::lower::select
