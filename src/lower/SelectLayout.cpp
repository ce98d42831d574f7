//===- lower/SelectLayout.cpp - layout ops ----------------------------------===//
//
// Kernel selection (Selector.h) for layout ops: views, copies, pads, cat/stack/split, upsampling, conversions.
//
//===----------------------------------------------------------------------===//
#include "lower/Selector.h"

#include <optional>

using namespace atalla;
using namespace atalla::lower;

namespace atalla::lower::select {

namespace {

/// The strides under which \p NewSizes views the elements of a tensor of
/// \p Sizes and \p Strides in row-major order without a copy, or nullopt
/// when no strides do (torch's rule for view). The old dimensions are
/// walked from the last, grouped into runs that are contiguous with one
/// another; each run must be covered exactly by consecutive new dimensions,
/// which take strides within the run.
std::optional<std::vector<int64_t>> viewStrides(const std::vector<int64_t> &Sizes, const std::vector<int64_t> &Strides,
                                                const std::vector<int64_t> &NewSizes) {
  std::vector<int64_t> Out(NewSizes.size(), 1);
  int64_t Numel = 1;
  for (int64_t S : Sizes)
    Numel *= S;
  if (Numel == 0 || Sizes.empty()) {
    int64_t Acc = 1;
    for (size_t I = NewSizes.size(); I-- > 0;) {
      Out[I] = Acc;
      Acc *= std::max<int64_t>(NewSizes[I], 1);
    }
    return Out;
  }
  int64_t NewD = int64_t(NewSizes.size()) - 1;
  int64_t Base = Strides.back(), RunNumel = 1, ViewNumel = 1;
  for (int64_t D = int64_t(Sizes.size()) - 1; D >= 0; --D) {
    RunNumel *= Sizes[D];
    // The run ends here unless dimension D - 1 continues it.
    if (D == 0 || (Sizes[D - 1] != 1 && Strides[D - 1] != RunNumel * Base)) {
      while (NewD >= 0 && (ViewNumel < RunNumel || NewSizes[NewD] == 1)) {
        Out[NewD] = ViewNumel * Base;
        ViewNumel *= NewSizes[NewD];
        --NewD;
      }
      if (ViewNumel != RunNumel)
        return std::nullopt;
      if (D > 0) {
        Base = Strides[D - 1];
        RunNumel = ViewNumel = 1;
      }
    }
  }
  if (NewD != -1)
    return std::nullopt;
  return Out;
}

} // namespace

// --- layout ops as views -------------------------------------------------
bool Selector::selectView(const Node &N, abi::KernelId K) {
  (void)K;
  const std::string Op = N.Op;
  int In = tensorArg(N, "self");
  const PTensor Src = P.Tensors[In];
  std::string Out = outputName(N);
  std::vector<int64_t> OutShape = shapeOf(Out);
  std::vector<int64_t> Sz = Src.Sizes, St = Src.Strides;
  int64_t Extra = 0;
  auto needContiguous = [&]() { return !isContiguous(Src); };
  if (Op == "transpose") {
    int64_t A = normDim(arg(N, "dim0")->I, Sz.size()), B = normDim(arg(N, "dim1")->I, Sz.size());
    std::swap(Sz[A], Sz[B]);
    std::swap(St[A], St[B]);
  } else if (Op == "t" || Op == "numpy_T") {
    std::reverse(Sz.begin(), Sz.end());
    std::reverse(St.begin(), St.end());
  } else if (Op == "permute") {
    auto Dims = arg(N, "dims")->asInts();
    if (!Dims || Dims->size() != Sz.size())
      throw NoKernel{"permute dims"};
    std::vector<int64_t> NS, NT;
    for (int64_t D : *Dims) {
      D = normDim(D, Sz.size());
      NS.push_back(Src.Sizes[D]);
      NT.push_back(Src.Strides[D]);
    }
    Sz = NS;
    St = NT;
  } else if (Op == "unsqueeze") {
    int64_t D = normDim(arg(N, "dim")->I, Sz.size() + 1);
    int64_t Stride = D < static_cast<int64_t>(Sz.size()) ? Sz[D] * St[D] : 1;
    Sz.insert(Sz.begin() + D, 1);
    St.insert(St.begin() + D, Stride);
  } else if (Op == "expand") {
    Sz = OutShape;
    St = broadcastOperand(In, OutShape).Strides;
    // Sizes that stay keep their stride even when 1 (broadcastOperand zeroes them).
  } else if (Op == "slice") {
    int64_t D = normDim(arg(N, "dim", false) ? arg(N, "dim")->I : 0, Sz.size());
    const Argument *StepA = arg(N, "step", false);
    int64_t Step = StepA && StepA->Kind == ArgKind::Int ? StepA->I : 1;
    const Argument *StartA = arg(N, "start", false);
    int64_t Start = StartA && StartA->Kind == ArgKind::Int ? StartA->I : 0;
    if (Start < 0)
      Start += Sz[D];
    Start = std::clamp<int64_t>(Start, 0, Sz[D]);
    if (Step <= 0)
      throw NoKernel{"slice step must be positive"};
    Extra = Start * St[D];
    Sz = OutShape;
    St[D] *= Step;
  } else if (Op == "select") {
    int64_t D = normDim(arg(N, "dim")->I, Sz.size());
    int64_t Index = arg(N, "index")->I;
    if (Index < 0)
      Index += Sz[D];
    Extra = Index * St[D];
    Sz.erase(Sz.begin() + D);
    St.erase(St.begin() + D);
  } else if (Op == "squeeze") {
    std::vector<int64_t> NS, NT;
    for (size_t I = 0; I < Src.Sizes.size(); ++I) {
      bool Drop = Src.Sizes[I] == 1;
      if (const Argument *DimA = arg(N, "dim", false))
        Drop = Drop && normDim(DimA->I, Src.Sizes.size()) == static_cast<int64_t>(I);
      if (const Argument *DimsA = arg(N, "dims", false)) {
        bool Listed = false;
        for (int64_t X : DimsA->asInts().value_or(std::vector<int64_t>{}))
          Listed |= normDim(X, Src.Sizes.size()) == static_cast<int64_t>(I);
        Drop = Drop && Listed;
      }
      if (!Drop) {
        NS.push_back(Src.Sizes[I]);
        NT.push_back(Src.Strides[I]);
      }
    }
    Sz = NS;
    St = NT;
  } else if (Op == "view" || Op == "reshape" || Op == "_unsafe_view" || Op == "flatten" ||
             Op == "contiguous" || Op == "clone") {
    int Base = In;
    if (needContiguous()) {
      // A reshape of a non-contiguous tensor is still a view where its
      // strides allow one (splitting or merging dimensions that are laid
      // out together); otherwise a copy kernel makes it contiguous first.
      // Export's functional IR has no aliasing writes, so a view op may
      // copy as reshape does (a head merge after a transpose, for one).
      const bool Reshape = Op == "view" || Op == "reshape" || Op == "_unsafe_view" || Op == "flatten";
      if (Reshape)
        if (std::optional<std::vector<int64_t>> VS = viewStrides(Src.Sizes, Src.Strides, OutShape)) {
          defineView(Out, In, OutShape, *VS, 0);
          recordDecision(N, NodeDecision::View, "");
          return true;
        }
      Base = materialize(In, N.Name); // copy kernel, then a view of its output
    }
    defineView(Out, Base, OutShape, contiguous(OutShape), 0, /*OwnStorage=*/Op == "clone" && Base == In);
    recordDecision(N, NodeDecision::View, Base == In ? "" : "copy");
    return true;
  } else {
    return false;
  }
  if (Sz != OutShape)
    throw NoKernel{"view shape " + frontend::formatShape(Sz) + " differs from the graph's " +
                   frontend::formatShape(OutShape)};
  defineView(Out, In, Sz, St, Extra);
  recordDecision(N, NodeDecision::View, "");
  return true;
}

/// to.dtype, to.dtype_layout, _to_copy: a convert kernel between the
/// device's element types; the same type is an alias (to) or a copy
/// (_to_copy, copy=True) as in eager.
void Selector::selectConvert(const Node &N) {
  int In = tensorArg(N, "self");
  std::string OutName = outputName(N);
  const frontend::TensorMeta *OM = meta(OutName);
  if (!OM)
    throw NoKernel{"result has no metadata"};
  if (const Argument *L = arg(N, "layout", false);
      L && L->Kind == ArgKind::Layout && L->I != int64_t(abi::SchemaLayout::Strided))
    throw NoKernel{"layout " + std::to_string(L->I) + " is not strided"};
  // Contiguous and preserve give a dense result here; channels-last
  // layouts do not.
  if (const Argument *F = arg(N, "memory_format", false);
      F && F->Kind == ArgKind::MemoryFormat && F->I != int64_t(abi::SchemaMemoryFormat::Contiguous) &&
      F->I != int64_t(abi::SchemaMemoryFormat::Preserve))
    throw NoKernel{"memory_format " + std::to_string(F->I)};
  std::vector<int64_t> Shape = shapeOf(OutName);
  if (Shape != P.Tensors[In].Sizes)
    throw NoKernel{"result shape differs from the input's"};
  typeOf(In); // throws for a type the device does not have
  if (!deviceType(OM->Dtype))
    throw NoKernel{"dtype " + frontend::scalarTypeName(OM->Dtype).str() +
                   " has no device kernels (f32, u8, i32, i64 and bool do)"};
  if (P.Tensors[In].Dtype == OM->Dtype) {
    const Argument *CopyA = arg(N, "copy", false);
    const bool Copies = N.Op == "_to_copy" || (CopyA && CopyA->Kind == ArgKind::Bool && CopyA->I);
    const PTensor X = P.Tensors[In];
    if (!Copies) { // eager returns self
      defineView(OutName, In, X.Sizes, X.Strides, 0);
      recordDecision(N, NodeDecision::View, "");
      return;
    }
    int Base = isContiguous(X) ? In : materialize(In, N.Name);
    defineView(OutName, Base, Shape, contiguous(Shape), 0, /*OwnStorage=*/Base == In);
    recordDecision(N, NodeDecision::View, Base == In ? "" : "copy");
    return;
  }
  int Out = defineOutput(OutName, OM->Dtype, Shape);
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::convert;
  Spec.Operands = {operand(In), operand(Out)};
  emitKernel(N, Spec, {In, Out});
}

/// X padded into a new contiguous tensor: out[lo + i * step] = x[i], 0
/// elsewhere (Lo, Step and Hi per dim).
int Selector::padded(const Node &N, int X, const std::vector<int64_t> &Lo, const std::vector<int64_t> &Step,
                     const std::vector<int64_t> &Hi, const std::string &OutName, std::optional<double> Value) {
  const PTensor XT = P.Tensors[X];
  std::vector<int64_t> Sizes;
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::pad;
  for (size_t D = 0; D < XT.Sizes.size(); ++D) {
    int64_t Sz = XT.Sizes[D];
    Sizes.push_back(Sz == 0 ? Lo[D] + Hi[D] : Lo[D] + (Sz - 1) * Step[D] + 1 + Hi[D]);
    Spec.Params.push_back(Lo[D]);
    Spec.Params.push_back(Step[D]);
  }
  if (Value && *Value != 0) {
    Spec.HasScalar = true;
    Spec.Scalar = *Value;
  }
  int Out = defineOutput(OutName, ScalarType::Float32, Sizes);
  Spec.Operands = {operand(X), operand(Out)};
  pushKernel(N, Spec, {X, Out});
  return Out;
}

/// upsample_nearest2d with integer scales: out[.., oh, ow] = x[.., oh / s,
/// ow / t], a view of x with stride-0 dims for the copies, copied.
void Selector::selectUpsample(const Node &N) {
  int X = tensorArg(N, "input");
  requireF32(X, "input");
  const PTensor XT = P.Tensors[X];
  std::string OutName = outputName(N);
  std::vector<int64_t> Shape = shapeOf(OutName);
  if (XT.Sizes.size() != 4 || Shape.size() != 4 || XT.Sizes[2] < 1 || XT.Sizes[3] < 1 ||
      Shape[2] % XT.Sizes[2] || Shape[3] % XT.Sizes[3])
    throw NoKernel{"only integer scales of a 4-D input"};
  const int64_t SH = Shape[2] / XT.Sizes[2], SW = Shape[3] / XT.Sizes[3];
  const std::vector<int64_t> &XS = XT.Strides;
  int V = defineView(N.Name + "_repeat", X, {Shape[0], Shape[1], XT.Sizes[2], SH, XT.Sizes[3], SW},
                     {XS[0], XS[1], XS[2], 0, XS[3], 0}, 0, /*OwnStorage=*/true);
  int Out = defineOutput(OutName, ScalarType::Float32, Shape);
  abi::KernelSpec Spec;
  Spec.Kernel = abi::KernelId::copy;
  Spec.Operands = {operand(V), {P.Tensors[V].Sizes, contiguous(P.Tensors[V].Sizes)}};
  emitKernel(N, Spec, {V, Out});
}

/// cat: one copy kernel per input into its slice of the output.
/// split_with_sizes, split, chunk, unbind: each result a view of its
/// slice of the input along dim (unbind's without that dim), taken from
/// the results' own shapes in order.
void Selector::selectSplit(const Node &N) {
  int X = tensorArg(N, "self");
  const PTensor XT = P.Tensors[X];
  if (XT.Sizes.empty())
    throw NoKernel{"0-d input"};
  const Argument *DimA = arg(N, "dim", false);
  const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, XT.Sizes.size());
  std::vector<std::string> Names;
  for (const Argument &O : N.Outputs)
    O.collectTensorNames(Names);
  const bool Unbind = N.Op == "unbind";
  int64_t At = 0;
  std::vector<std::pair<std::string, std::vector<int64_t>>> Parts;
  for (const std::string &Name : Names) {
    std::vector<int64_t> Sz = shapeOf(Name), St = XT.Strides;
    if (Unbind) {
      St.erase(St.begin() + Dim);
      std::vector<int64_t> Want = XT.Sizes;
      Want.erase(Want.begin() + Dim);
      if (Sz != Want)
        throw NoKernel{"result shape"};
    } else if (Sz.size() != XT.Sizes.size()) {
      throw NoKernel{"result rank"};
    }
    Parts.push_back({Name, Sz});
    At += Unbind ? 1 : Sz[size_t(Dim)];
  }
  if (At != XT.Sizes[size_t(Dim)])
    throw NoKernel{"the results do not add up to the input along dim " + std::to_string(Dim)};
  At = 0;
  for (auto &[Name, Sz] : Parts) {
    std::vector<int64_t> St = XT.Strides;
    if (Unbind)
      St.erase(St.begin() + Dim);
    defineView(Name, X, Sz, St, At * XT.Strides[size_t(Dim)]);
    At += Unbind ? 1 : Sz[size_t(Dim)];
  }
  recordDecision(N, NodeDecision::View, "");
}

/// The tensors of list argument \p Name (cat's and stack's inputs): a
/// nonempty list whose tensors all exist.
std::vector<int> Selector::tensorListArg(const Node &N, const char *Name) {
  const Argument *List = arg(N, Name);
  if (List->Kind != ArgKind::Tensors)
    throw NoKernel{std::string(Name) + " is not a tensor list"};
  if (List->Elems.empty())
    throw NoKernel{std::string(Name) + " is empty"};
  std::vector<int> Ins;
  for (const Argument &E : List->Elems) {
    auto T = tensorFor(E.S, &N);
    if (!T)
      throw NoKernel{llvm::toString(T.takeError())};
    Ins.push_back(*T);
  }
  return Ins;
}

/// stack: one copy per input into its slice of the result along dim.
void Selector::selectStack(const Node &N) {
  std::vector<int> Ins = tensorListArg(N, "tensors");
  std::string OutName = outputName(N);
  const std::vector<int64_t> Shape = shapeOf(OutName);
  const Argument *DimA = arg(N, "dim", false);
  const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, Shape.size());
  if (int64_t(Ins.size()) != Shape[size_t(Dim)])
    throw NoKernel{"result does not have one slice per input"};
  for (int T : Ins)
    typeOf(T);
  int Out = defineOutput(OutName, P.Tensors[Ins[0]].Dtype, Shape);
  std::vector<int64_t> SliceSizes = Shape, SliceStrides = P.Tensors[Out].Strides;
  SliceSizes.erase(SliceSizes.begin() + Dim);
  SliceStrides.erase(SliceStrides.begin() + Dim);
  for (size_t I = 0; I < Ins.size(); ++I) {
    if (P.Tensors[Ins[I]].Sizes != SliceSizes || P.Tensors[Ins[I]].Dtype != P.Tensors[Out].Dtype)
      throw NoKernel{"input " + std::to_string(I) + " does not fit its slice"};
    int Slice = defineView(OutName + "_part" + std::to_string(I), Out, SliceSizes, SliceStrides,
                           int64_t(I) * P.Tensors[Out].Strides[size_t(Dim)], /*OwnStorage=*/true);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::copy;
    Spec.Operands = {operand(Ins[I]), operand(Slice)};
    pushKernel(N, Spec, {Ins[I], Slice});
  }
  recordDecision(N, NodeDecision::Accelerated, "copy");
}

int Selector::defineOutputOrCatSlot(const std::string &Name, const std::vector<int64_t> &Sizes) {
  auto Mark = S.Fusion.CatSlot.find(Name);
  const Node *Cat = Mark == S.Fusion.CatSlot.end() ? nullptr : nodeNamed(Mark->second);
  if (!Cat)
    return defineOutput(Name, ScalarType::Float32, Sizes);
  const std::string CatOut = outputName(*Cat);
  const std::vector<int64_t> CatShape = shapeOf(CatOut);
  // The channels before this input.
  int64_t At = 0;
  bool Found = false;
  for (const Argument &E : arg(*Cat, "tensors")->Elems) {
    if (E.Kind != ArgKind::Tensor)
      return defineOutput(Name, ScalarType::Float32, Sizes);
    const std::string V = S.resolve(E.S);
    if (V == Name) {
      Found = true;
      break;
    }
    const std::vector<int64_t> VS = shapeOf(V);
    if (VS.size() != 4)
      return defineOutput(Name, ScalarType::Float32, Sizes);
    At += VS[1];
  }
  if (!Found || Sizes.size() != 4 || CatShape.size() != 4 || At + Sizes[1] > CatShape[1])
    return defineOutput(Name, ScalarType::Float32, Sizes);
  for (int D : {0, 2, 3})
    if (Sizes[size_t(D)] != CatShape[size_t(D)])
      return defineOutput(Name, ScalarType::Float32, Sizes);
  auto It = S.TensorOf.find(CatOut);
  const int Out = It != S.TensorOf.end() ? It->second : defineOutput(CatOut, ScalarType::Float32, CatShape);
  const std::vector<int64_t> St = P.Tensors[Out].Strides;
  // A slice no eager tensor aliases: its own storage as far as in-place
  // ops are concerned (none reads it in place: the mark says so).
  return defineView(Name, Out, Sizes, St, At * St[1], /*OwnStorage=*/true);
}

void Selector::selectCat(const Node &N) {
  std::vector<int> Ins = tensorListArg(N, "tensors");
  std::string OutName = outputName(N);
  const std::vector<int64_t> Shape = shapeOf(OutName);
  if (Shape.empty())
    throw NoKernel{"0-d result"};
  const Argument *DimA = arg(N, "dim", false);
  const int64_t Dim = normDim(DimA && DimA->Kind == ArgKind::Int ? DimA->I : 0, Shape.size());
  for (int T : Ins)
    requireF32(T, "input");
  // Producers marked fuse-cat may have written their slices already (and
  // defined the result).
  auto Existing = S.TensorOf.find(OutName);
  int Out = Existing != S.TensorOf.end() ? Existing->second : defineOutput(OutName, ScalarType::Float32, Shape);
  const std::vector<int64_t> OutStrides = P.Tensors[Out].Strides;
  int64_t At = 0;
  for (size_t I = 0; I < Ins.size(); ++I) {
    const PTensor X = P.Tensors[Ins[I]];
    if (X.numel() == 0)
      continue; // torch skips empty inputs (also legacy [0]-shaped ones)
    if (X.Sizes.size() != Shape.size())
      throw NoKernel{"input " + std::to_string(I) + " has rank " + std::to_string(X.Sizes.size())};
    for (size_t D = 0; D < Shape.size(); ++D)
      if (int64_t(D) != Dim && X.Sizes[D] != Shape[D])
        throw NoKernel{"input " + std::to_string(I) + " does not match the result outside dim " +
                       std::to_string(Dim)};
    const PTensor &In = P.Tensors[Ins[I]];
    if (In.isView() && In.Base == Out && In.Offset == At * OutStrides[size_t(Dim)] && In.Strides == OutStrides) {
      At += X.Sizes[size_t(Dim)]; // written in place by its producer
      continue;
    }
    // A slice of the result only this lowering knows of: no alias in eager.
    int Slice = defineView(OutName + "_part" + std::to_string(I), Out, X.Sizes, OutStrides,
                           At * OutStrides[size_t(Dim)], /*OwnStorage=*/true);
    abi::KernelSpec Spec;
    Spec.Kernel = abi::KernelId::copy;
    Spec.Operands = {operand(Ins[I]), operand(Slice)};
    pushKernel(N, Spec, {Ins[I], Slice});
    At += X.Sizes[size_t(Dim)];
  }
  if (At != Shape[size_t(Dim)])
    throw NoKernel{"the inputs do not add up to the result along dim " + std::to_string(Dim)};
  recordDecision(N, NodeDecision::Accelerated, "copy");
}

// GCC 12 reports a false -Wfree-nonheap-object here once outputName() is
// inlined into it (the vectors below are ordinary heap vectors).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif
void Selector::selectPad(const Node &N) {
  int X = tensorArg(N, "self");
  requireF32(X, "input");
  const Argument *PadA = arg(N, "pad");
  auto Pads = PadA->asInts();
  const size_t Rank = P.Tensors[X].Sizes.size();
  if (!Pads || Pads->size() % 2 || Pads->size() / 2 > Rank)
    throw NoKernel{"pad list"};
  // pad lists (low, high) pairs from the last dim backwards.
  std::vector<int64_t> Lo(Rank, 0), Step(Rank, 1), Hi(Rank, 0);
  for (size_t I = 0; I < Pads->size() / 2; ++I) {
    const int64_t L = (*Pads)[2 * I], H = (*Pads)[2 * I + 1];
    if (L < 0 || H < 0)
      throw NoKernel{"negative padding (cropping)"};
    Lo.at(Rank - 1 - I) = L;
    Hi.at(Rank - 1 - I) = H;
  }
  std::optional<double> Value = 0.0;
  if (const Argument *V = arg(N, "value", false); V && !V->isNone())
    Value = scalarOf(*V);
  if (!Value)
    throw NoKernel{"pad value is not a number"};
  std::string OutName = outputName(N);
  int Out = padded(N, X, Lo, Step, Hi, OutName, Value);
  if (P.Tensors[Out].Sizes != shapeOf(OutName))
    throw NoKernel{"padded shape differs from the graph's"};
  recordDecision(N, NodeDecision::Accelerated, "pad");
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace atalla::lower::select
