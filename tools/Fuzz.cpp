//===- tools/Fuzz.cpp - random programs checked against eager PyTorch -----===//
#include "tools/Fuzz.h"

#include "codegen/BlobWriter.h"
#include "driver/Compare.h"
#include "driver/Compile.h"
#include "frontend/Archive.h"
#include "frontend/ArchiveWriter.h"
#include "frontend/ModelBuilder.h"
#include "frontend/Printers.h"
#include "lower/GraphQueries.h"
#include "lower/Pipeline.h"
#include "reference/EagerInterpreter.h"
#include "runtime/Blob.h"
#include "runtime/Executor.h"
#include "runtime/fallback/AtenFallback.h"
#include "tools/ToolSupport.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <set>

using namespace atalla;
using namespace atalla::tools;
using frontend::Argument;
using frontend::ModelBuilder;
using frontend::ScalarType;
using frontend::TensorData;

/// The ATen targets ("torch.ops.aten.erf.default") of the kernels
/// Kernels.def lets the program fuzzer apply to any value (Fuzz = FuzzAny),
/// one op per kernel, in the table's order.
const std::vector<std::string> &atalla::tools::fuzzUnaryTargets() {
  static const std::vector<std::string> Targets = [] {
    std::vector<std::string> T;
    std::set<abi::KernelId> Seen;
    auto add = [&](abi::KernelId K, std::string Op, const std::string &Overload, lower::OpLowering L) {
      if (!abi::kernelTraits(K).FuzzAnyValue || L != lower::OpLowering::Unary || !Seen.insert(K).second)
        return;
      Op.replace(Op.find("::"), 2, ".");
      T.push_back("torch.ops." + Op + "." + (Overload.empty() ? "default" : Overload));
    };
#define ATALLA_KERNEL_OP(Name, Op, Overload, Lowering) add(abi::KernelId::Name, Op, Overload, lower::OpLowering::Lowering);
#include "runtime/abi/Kernels.def"
    return T;
  }();
  return Targets;
}

/// Ops no device kernel implements (they run in the LibTorch fallback),
/// with slopes of at most 1 (sign's is 0 but for its jump at 0: it takes
/// exact values only, Generator::fallback): the candidates less those
/// Kernels.def has since given a kernel.
static const std::vector<std::string> &fallbackTargets() {
  static const std::vector<std::string> Targets = [] {
    std::vector<std::string> T;
    for (const char *Op : {"atan", "asinh", "sign", "erf"}) {
      frontend::Node N;
      N.Ns = "aten";
      N.Op = Op;
      if (!lower::kernelFor(N))
        T.push_back(std::string("torch.ops.aten.") + Op + ".default");
    }
    return T;
  }();
  return Targets;
}

namespace {

using Shape = std::vector<int64_t>;

struct Value {
  std::string Name;
  Shape Sizes;
  bool Contiguous = true; ///< torch's view() needs it
  bool IsInput = false;
  bool IsView = false; ///< shares storage with another value
  bool Viewed = false; ///< some view of it exists
  bool Exact = false;  ///< an input or parameter: the device and eager hold the same bits
  /// Its magnitude may be far above 1: a sum reduction's result (up to the
  /// reduction's length times its input's), or computed from one.
  bool Large = false;
};

class Generator {
public:
  Generator(uint64_t Seed, const FuzzLimits &L) : Rng(Seed * 0x9E3779B97F4A7C15ull + 7), L(L), Seed(Seed) {}

  frontend::Model run() {
    // One to three user inputs.
    unsigned NIn = 1 + pick(3);
    for (unsigned I = 0; I < NIn; ++I)
      newInput(randomShape(1 + pick(3)));
    unsigned N = 1 + pick(std::max(1u, L.MaxNodes));
    if (L.StopAfter)
      N = std::min(N, L.StopAfter);
    std::string Last;
    for (unsigned I = 0; I < N; ++I)
      Last = step();
    B.addOutput(Last);
    if (!L.StopAfter && pick(3) == 0) {
      // A second output: some earlier computed value.
      std::vector<std::string> Cands;
      for (const Value &V : Pool)
        if (!V.IsInput && V.Name != Last)
          Cands.push_back(V.Name);
      if (!Cands.empty())
        B.addOutput(Cands[pick(Cands.size())]);
    }
    frontend::Model M = B.take();
    M.Path = "fuzz_" + std::to_string(Seed) + ".pt2";
    return M;
  }

private:
  std::mt19937_64 Rng;
  FuzzLimits L;
  uint64_t Seed;
  ModelBuilder B;
  std::vector<Value> Pool;
  unsigned Inputs = 0, Params = 0;

  uint64_t pick(uint64_t N) { return N ? Rng() % N : 0; }
  bool chance(unsigned Percent) { return pick(100) < Percent; }

  int64_t dim() {
    // Tile and vector edges (1, 15, 16, 17, 31, 32, 33) and small odd sizes.
    static const int64_t Edges[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33};
    int64_t D;
    do
      D = Edges[pick(std::size(Edges))];
    while (D > L.MaxDim);
    return D;
  }
  Shape randomShape(unsigned Rank) {
    Shape S;
    for (unsigned I = 0; I < Rank; ++I)
      S.push_back(dim());
    return S;
  }
  static int64_t numel(const Shape &S) {
    return std::accumulate(S.begin(), S.end(), int64_t(1), std::multiplies<int64_t>());
  }

  TensorData data(const Shape &S, double Scale, double Offset, bool AbsValues) {
    TensorData T = randomTensor(ScalarType::Float32, S, Rng());
    std::vector<uint8_t> Bytes = T.contiguousBytes();
    for (size_t I = 0; I + 4 <= Bytes.size(); I += 4) {
      float F;
      std::memcpy(&F, &Bytes[I], 4);
      double V = AbsValues ? std::fabs(F) : F;
      F = static_cast<float>(V * Scale + Offset);
      std::memcpy(&Bytes[I], &F, 4);
    }
    return TensorData::fromBytes(ScalarType::Float32, S, std::move(Bytes));
  }

  const Value &newInput(const Shape &S) {
    std::string Name = B.addUserInput("x" + std::to_string(Inputs++), data(S, 1.0, 0.0, false));
    Pool.push_back({Name, S, true, true});
    Pool.back().Exact = true;
    return Pool.back();
  }
  const Value &newParam(const Shape &S, double Scale, double Offset = 0, bool Abs = false) {
    std::string Name = B.addParameter("layer" + std::to_string(Params++) + ".weight", data(S, Scale, Offset, Abs));
    Pool.push_back({Name, S, true, false});
    Pool.back().Exact = true;
    return Pool.back();
  }

  /// A value to operate on: recent ones preferred, so chains form, but any
  /// value may be reused (DAGs, not only chains).
  /// The positions in Pool of the non-empty values for which \p Keep holds.
  template <typename F> std::vector<size_t> usable(F Keep) const {
    std::vector<size_t> Ok;
    for (size_t I = 0; I < Pool.size(); ++I)
      if (numel(Pool[I].Sizes) > 0 && Keep(Pool[I]))
        Ok.push_back(I);
    return Ok;
  }

  Value operand(unsigned MinRank = 0) {
    std::vector<size_t> Ok = usable([&](const Value &V) { return V.Sizes.size() >= MinRank; });
    if (Ok.empty())
      return newInput(randomShape(std::max(MinRank, 1u + static_cast<unsigned>(pick(2)))));
    size_t I = chance(60) ? Ok.back() : Ok[pick(Ok.size())];
    return Pool[I];
  }

  std::string node(const std::string &Target, std::vector<frontend::NamedArgument> Args, const Shape &Out,
                   bool Contiguous = true, bool IsView = false) {
    std::string In = !Args.empty() && Args[0].Arg.Kind == frontend::ArgKind::Tensor ? Args[0].Arg.S : "";
    bool Large = false;
    for (const frontend::NamedArgument &A : Args)
      if (A.Arg.Kind == frontend::ArgKind::Tensor)
        for (const Value &P : Pool)
          Large |= P.Name == A.Arg.S && P.Large;
    std::string Name = B.addNode(Target, std::move(Args), ScalarType::Float32, Out);
    if (IsView)
      for (Value &V : Pool)
        if (V.Name == In)
          V.Viewed = true;
    Value V{Name, Out, Contiguous, false};
    V.IsView = IsView;
    V.Large = Large;
    Pool.push_back(V);
    return Name;
  }
  /// A layout op's result: a view of its input (eager shares the storage).
  std::string view(const std::string &Target, std::vector<frontend::NamedArgument> Args, const Shape &Out,
                   bool Contiguous) {
    return node(Target, std::move(Args), Out, Contiguous, /*IsView=*/true);
  }
  static frontend::NamedArgument arg(const char *N, Argument A) { return ModelBuilder::arg(N, std::move(A)); }
  static frontend::NamedArgument kwarg(const char *N, Argument A) {
    frontend::NamedArgument X = ModelBuilder::arg(N, std::move(A));
    X.Passing = frontend::ArgPassing::Keyword;
    return X;
  }
  static Argument T(const std::string &Name) { return Argument::tensor(Name); }

  /// The values of \p From other than \p X whose shapes broadcast into X's.
  static std::vector<Value> broadcastingInto(const Value &X, const std::vector<Value> &From) {
    std::vector<Value> Cands;
    for (const Value &V : From)
      if (V.Name != X.Name && V.Sizes.size() <= X.Sizes.size()) {
        bool Ok = true;
        for (size_t I = 0; I < V.Sizes.size(); ++I) {
          int64_t D = X.Sizes[X.Sizes.size() - V.Sizes.size() + I];
          Ok &= V.Sizes[I] == D || V.Sizes[I] == 1;
        }
        if (Ok)
          Cands.push_back(V);
      }
    return Cands;
  }

  /// A shape that broadcasts into \p S (dims dropped from the front or set to 1).
  Shape broadcastable(const Shape &S) {
    Shape R = S;
    size_t Drop = pick(R.size() + 1);
    R.erase(R.begin(), R.begin() + std::min(Drop, R.size() > 0 ? R.size() - 1 : 0));
    for (int64_t &D : R)
      if (chance(30))
        D = 1;
    return R;
  }

  std::string step() {
    unsigned Op = pick(108);
    if (Op >= 100)
      return convBlock();
    if (Op < 12)
      return unary();
    if (Op < 34)
      return binary();
    if (Op < 42)
      return scalarBinary();
    if (Op < 62)
      return gemm();
    if (Op < 72)
      return softmax();
    if (Op < 88)
      return layout();
    if (Op < 93)
      return reduce();
    if (Op < 96)
      return typed();
    return fallback();
  }

  /// sum / mean / amax / amin over a random non-empty set of dims (or all).
  std::string reduce() {
    Value X = operand(1);
    const int64_t R = int64_t(X.Sizes.size());
    static const char *Ops[] = {"sum.dim_IntList", "mean.dim", "amax.default", "amin.default"};
    std::string Op = Ops[pick(4)];
    std::vector<int64_t> Dims;
    for (int64_t D = 0; D < R; ++D)
      if (chance(50))
        Dims.push_back(chance(30) ? D - R : D);
    if (Dims.empty())
      Dims.push_back(int64_t(pick(R)));
    bool Keep = chance(40);
    const bool Sum = Op == "sum.dim_IntList";
    if (chance(10) && Op != "amax.default" && Op != "amin.default") {
      // Every dim: sum.default / mean.default give a 0-d result.
      Op = Sum ? "sum.default" : "mean.default";
      std::string Res = node("torch.ops.aten." + Op, {arg("self", T(X.Name))}, {});
      Pool.back().Large |= Sum;
      return Res;
    }
    Shape Out;
    for (int64_t D = 0; D < R; ++D) {
      bool Red = false;
      for (int64_t Dm : Dims)
        Red |= (Dm < 0 ? Dm + R : Dm) == D;
      if (!Red)
        Out.push_back(X.Sizes[size_t(D)]);
      else if (Keep)
        Out.push_back(1);
    }
    std::string Res = node("torch.ops.aten." + Op,
                           {arg("self", T(X.Name)), arg("dim", Argument::ints(Dims)), arg("keepdim", Argument::boolean(Keep))},
                           Out);
    Pool.back().Large |= Sum;
    return Res;
  }

  /// A comparison (bool) or a truncating cast (int32) of an input or
  /// parameter, cast back to float32. Only exact values are compared or
  /// truncated: a computed one may differ from eager's in its last bit,
  /// which would flip a comparison near equality.
  std::string typed() {
    std::vector<Value> Exact;
    for (const Value &V : Pool)
      if (V.Exact && numel(V.Sizes) > 0)
        Exact.push_back(V);
    Value X = Exact.empty() ? newInput(randomShape(1 + unsigned(pick(2)))) : Exact[pick(Exact.size())];
    std::string Mid;
    if (chance(30)) {
      // x * 4 is exact in fp32 too: int32 truncation toward zero of values
      // with fractions of both signs.
      std::string Scaled = B.addNode("torch.ops.aten.mul.Tensor", {arg("self", T(X.Name)), arg("other", Argument::real(4.0))},
                                     ScalarType::Float32, X.Sizes);
      Mid = B.addNode("torch.ops.aten._to_copy.default",
                      {arg("self", T(Scaled)), kwarg("dtype", Argument::scalarType(ScalarType::Int32))},
                      ScalarType::Int32, X.Sizes);
    } else {
      static const char *Ops[] = {"eq", "ne", "lt", "le", "gt", "ge"};
      Argument Other = Argument::real(chance(50) ? 0.0 : 0.5);
      std::string Overload = ".Scalar";
      if (chance(50)) {
        // Another exact value of a shape that broadcasts into x's.
        std::vector<Value> Cands = broadcastingInto(X, Exact);
        if (!Cands.empty()) {
          Other = T(Cands[pick(Cands.size())].Name);
          Overload = ".Tensor";
        }
      }
      Mid = B.addNode(std::string("torch.ops.aten.") + Ops[pick(6)] + Overload,
                      {arg("self", T(X.Name)), arg("other", Other)}, ScalarType::Bool, X.Sizes);
    }
    return node("torch.ops.aten.to.dtype", {arg("self", T(Mid)), arg("dtype", Argument::scalarType(ScalarType::Float32))},
                X.Sizes);
  }

  std::string unary() {
    Value X = operand();
    const std::vector<std::string> &Ops = fuzzUnaryTargets();
    const std::string &Op = Ops[pick(Ops.size())];
    // sin and cos carry an error of their argument through at full size
    // while their results stay within [-1, 1]: on a value far above 1 (a
    // sum's) eager's and the device's roundings of the argument differ by
    // far more than the compared results' scale allows. They take O(1)
    // values only.
    if ((Op == "torch.ops.aten.sin.default" || Op == "torch.ops.aten.cos.default") && X.Large) {
      std::vector<size_t> Ok = usable([](const Value &V) { return !V.Large; });
      X = Ok.empty() ? newInput(randomShape(1 + unsigned(pick(2)))) : Pool[Ok[pick(Ok.size())]];
    }
    // In-place only where eager's mutation reaches no alias: not on a view,
    // not on a value something already views (the compiler refuses those).
    bool InPlace = chance(20) && !X.IsView && !X.Viewed && !X.IsInput;
    // Elementwise results keep their input's strides in eager (TensorIterator),
    // so a transposed input gives a non-contiguous result. Besides relu, the
    // bounded-slope math kernels (exp, log and sqrt amplify errors without
    // bound and are left to the kernel fuzz suite).
    if (!InPlace && chance(50)) {
      std::vector<frontend::NamedArgument> Args = {arg("self", T(X.Name))};
      if (Op == "torch.ops.aten.gelu.default" && chance(50)) // the gelu_tanh kernel
        Args.push_back(arg("approximate", frontend::Argument::string("tanh")));
      return node(Op, Args, X.Sizes, X.Contiguous);
    }
    return node(InPlace ? "torch.ops.aten.relu_.default" : "torch.ops.aten.relu.default", {arg("self", T(X.Name))},
                X.Sizes, X.Contiguous);
  }

  std::string binary() {
    static const char *Ops[] = {"add", "sub", "mul", "div"};
    std::string Op = Ops[pick(4)];
    Value X = operand();
    Value Y;
    if (Op == "div") {
      // Divisors away from zero: |y| in [0.5, 2.5].
      Y = newParam(broadcastable(X.Sizes), 1.0, 0.5, true);
    } else {
      // Another value of a broadcastable shape if there is one, else a parameter.
      std::vector<Value> Cands = broadcastingInto(X, Pool);
      Y = !Cands.empty() && chance(60) ? Cands[pick(Cands.size())] : newParam(broadcastable(X.Sizes), 1.0);
    }
    std::vector<frontend::NamedArgument> Args{arg("self", T(X.Name)), arg("other", T(Y.Name))};
    if ((Op == "add" || Op == "sub") && chance(25))
      Args.push_back(kwarg("alpha", Argument::integer(2)));
    return node("torch.ops.aten." + Op + ".Tensor", Args, X.Sizes, X.Contiguous && Y.Contiguous);
  }

  std::string scalarBinary() {
    static const char *Ops[] = {"add", "sub", "mul", "div"};
    static const double Values[] = {0.5, 1.5, -2.0, 4.0, 3.0};
    std::string Op = Ops[pick(4)];
    Value X = operand();
    Argument S = chance(30) ? Argument::integer(static_cast<int64_t>(pick(4)) + 1) : Argument::real(Values[pick(5)]);
    std::string Overload = chance(25) ? "Scalar" : "Tensor"; // `x + 0.5` exports as add.Tensor
    return node("torch.ops.aten." + Op + "." + Overload, {arg("self", T(X.Name)), arg("other", S)}, X.Sizes,
                X.Contiguous);
  }

  std::string gemm() {
    Value X = operand(2);
    Shape XS = X.Sizes;
    int64_t K = XS.back(), M = XS[XS.size() - 2], N = dim();
    double Scale = 1.0 / std::sqrt(static_cast<double>(K)); // keeps magnitudes O(1) along chains
    Shape Out = XS;
    Out.back() = N;
    unsigned Kind = pick(5);
    if (Kind == 0) { // linear with weight [N, K] and maybe bias
      Value W = newParam({N, K}, Scale);
      std::vector<frontend::NamedArgument> Args{arg("input", T(X.Name)), arg("weight", T(W.Name))};
      if (chance(70))
        Args.push_back(arg("bias", T(newParam({N}, 0.1).Name)));
      return node("torch.ops.aten.linear.default", Args, Out);
    }
    if (Kind == 1 && XS.size() == 2) { // addmm(bias, x, w)
      Value W = newParam({K, N}, Scale);
      Value Bias = newParam(chance(50) ? Shape{N} : Shape{M, N}, 0.1);
      return node("torch.ops.aten.addmm.default", {arg("self", T(Bias.Name)), arg("mat1", T(X.Name)),
                                                   arg("mat2", T(W.Name))},
                  Out);
    }
    // matmul / mm / bmm with a weight (2-D, or batched like x), maybe transposed.
    bool Batched = XS.size() > 2 && chance(40);
    Shape WS = Batched ? Shape(XS.begin(), XS.end() - 2) : Shape{};
    WS.push_back(K);
    WS.push_back(N);
    Value W = newParam(WS, Scale);
    std::string Target = "torch.ops.aten.matmul.default";
    const char *Other = "other";
    if (XS.size() == 2 && !Batched && chance(40)) {
      Target = "torch.ops.aten.mm.default";
      Other = "mat2";
    } else if (XS.size() == 3 && Batched && chance(40)) {
      Target = "torch.ops.aten.bmm.default";
      Other = "mat2";
    }
    return node(Target, {arg("self", T(X.Name)), arg(Other, T(W.Name))}, Out);
  }

  std::string softmax() {
    Value X = operand(1);
    int64_t R = X.Sizes.size();
    int64_t D = static_cast<int64_t>(pick(R)) - (chance(50) ? R : 0);
    if (chance(25))
      return node("torch.ops.aten.log_softmax.int", {arg("self", T(X.Name)), arg("dim", Argument::integer(D))},
                  X.Sizes, X.Contiguous);
    if (chance(30))
      return node("torch.ops.aten._softmax.default",
                  {arg("self", T(X.Name)), arg("dim", Argument::integer(D)), arg("half_to_float", Argument::boolean(false))},
                  X.Sizes, X.Contiguous);
    return node("torch.ops.aten.softmax.int", {arg("self", T(X.Name)), arg("dim", Argument::integer(D))}, X.Sizes,
                X.Contiguous);
  }

  std::string layout() {
    Value X = operand();
    Shape S = X.Sizes;
    int64_t R = S.size();
    unsigned Kind = pick(11);
    if (R >= 2 && Kind == 0) {
      int64_t A = pick(R), C = pick(R);
      std::swap(S[A], S[C]);
      return view("torch.ops.aten.transpose.int",
                  {arg("self", T(X.Name)), arg("dim0", Argument::integer(A)), arg("dim1", Argument::integer(C - R))}, S,
                  false);
    }
    if (R == 2 && Kind == 1)
      return view("torch.ops.aten.t.default", {arg("self", T(X.Name))}, {S[1], S[0]}, false);
    if (R >= 2 && Kind == 2) {
      std::vector<int64_t> Perm(R);
      std::iota(Perm.begin(), Perm.end(), 0);
      std::shuffle(Perm.begin(), Perm.end(), Rng);
      Shape Out;
      for (int64_t P : Perm)
        Out.push_back(S[P]);
      return view("torch.ops.aten.permute.default", {arg("self", T(X.Name)), arg("dims", Argument::ints(Perm))}, Out,
                  false);
    }
    if (Kind == 3 && R < 4) {
      int64_t D = pick(R + 1);
      S.insert(S.begin() + D, 1);
      return view("torch.ops.aten.unsqueeze.default", {arg("self", T(X.Name)), arg("dim", Argument::integer(D))}, S,
                  X.Contiguous);
    }
    if (Kind == 4 || (Kind == 5 && !X.Contiguous)) { // reshape: flatten the last two dims, or split one
      Shape Out = S;
      if (R >= 2 && chance(60)) {
        Out[R - 2] *= Out[R - 1];
        Out.pop_back();
      } else {
        Out = {numel(S)};
      }
      return view("torch.ops.aten.reshape.default", {arg("self", T(X.Name)), arg("shape", Argument::ints(Out))}, Out,
                  true);
    }
    if (Kind == 5) { // view of a contiguous value, with a -1
      Shape Out = {-1};
      if (R >= 1)
        Out = {-1, S.back()};
      Shape Real = R >= 1 ? Shape{numel(S) / S.back(), S.back()} : Shape{1};
      return view("torch.ops.aten.view.default", {arg("self", T(X.Name)), arg("size", Argument::ints(Out))}, Real,
                  true);
    }
    if (Kind == 6 && R >= 1) { // expand a size-1 dimension (or a new leading one)
      Shape Out = S;
      bool Any = false;
      for (int64_t &D : Out)
        if (D == 1) {
          D = dim();
          Any = true;
        }
      if (!Any)
        Out.insert(Out.begin(), 2);
      if (Out.size() > 4)
        return unary();
      return view("torch.ops.aten.expand.default", {arg("self", T(X.Name)), arg("size", Argument::ints(Out))}, Out,
                  false);
    }
    if (Kind == 7 && R >= 1) { // slice with a step
      int64_t D = pick(R), N = S[D], Start = pick(std::max<int64_t>(N / 2, 1)), Step = 1 + pick(2);
      int64_t End = N;
      Shape Out = S;
      Out[D] = (End - Start + Step - 1) / Step;
      return view("torch.ops.aten.slice.Tensor",
                  {arg("self", T(X.Name)), arg("dim", Argument::integer(D)), arg("start", Argument::integer(Start)),
                   arg("end", Argument::integer(End)), arg("step", Argument::integer(Step))},
                  Out, false);
    }
    if (Kind == 8 && R >= 2) {
      int64_t D = pick(R), Index = pick(S[D]);
      Shape Out = S;
      Out.erase(Out.begin() + D);
      return view("torch.ops.aten.select.int",
                  {arg("self", T(X.Name)), arg("dim", Argument::integer(D)), arg("index", Argument::integer(Index))},
                  Out, false);
    }
    if (Kind == 9 && R >= 3) {
      Shape Out = {S[0], numel(S) / S[0]};
      return view("torch.ops.aten.flatten.using_ints", {arg("self", T(X.Name)), arg("start_dim", Argument::integer(1))},
                  Out, true);
    }
    // contiguous() of a contiguous tensor returns the tensor itself: an alias.
    if (chance(50))
      return view("torch.ops.aten.contiguous.default", {arg("self", T(X.Name))}, S, true);
    return node("torch.ops.aten.clone.default", {arg("self", T(X.Name))}, S);
  }

  std::string fallback() {
    const std::vector<std::string> &Ops = fallbackTargets();
    const std::string &Op = Ops[pick(Ops.size())];
    // sign jumps at 0: a value within rounding of 0 on one side and 0 (or
    // of the other sign) on the other differs by 1, whatever the tolerance.
    // It takes only values both sides hold bit for bit (inputs, parameters).
    Value X = Op == "torch.ops.aten.sign.default" ? exactOperand() : operand();
    return node(Op, {arg("self", T(X.Name))}, X.Sizes, X.Contiguous);
  }

  /// One of \p From at most FuzzLimits::MaxDim (1 where none is).
  int64_t smallDim(std::initializer_list<int64_t> From) {
    std::vector<int64_t> V;
    for (int64_t D : From)
      if (D <= L.MaxDim)
        V.push_back(D);
    return V.empty() ? int64_t(1) : V[pick(V.size())];
  }

  /// A 1x1 convolution with a bias of \p In [N, Ci, H, W] into \p Oc channels.
  std::string conv1x1(const std::string &In, int64_t Ci, int64_t Oc, const Shape &InShape) {
    Value Wp = newParam({Oc, Ci, 1, 1}, 1.0 / std::sqrt(double(Ci)));
    return node("torch.ops.aten.conv2d.default",
                {arg("input", T(In)), arg("weight", T(Wp.Name)), arg("bias", T(newParam({Oc}, 0.1).Name))},
                {InShape[0], Oc, InShape[2], InShape[3]});
  }

  /// Squeeze-and-excitation of \p Y [N, C, H, W] as mobilenet_v3 and
  /// efficientnet have it: the mean over the image, a 1x1 convolution,
  /// relu, a 1x1 convolution, the gate (sigmoid or hardsigmoid), Y times
  /// the gate (either operand first), then a 1x1 projection, whose result
  /// and shape (\p YS) it returns.
  std::string squeezeExcite(const std::string &Y, Shape &YS) {
    const int64_t Nb = YS[0], Co = YS[1];
    const Shape Sq{Nb, Co, 1, 1};
    std::string M = node("torch.ops.aten.mean.dim",
                         {arg("self", T(Y)), arg("dim", Argument::ints({-1, -2})), arg("keepdim", Argument::boolean(true))},
                         Sq);
    const int64_t R = std::max<int64_t>(1, Co / 4);
    std::string Rd = node("torch.ops.aten.relu.default", {arg("self", T(conv1x1(M, Co, R, Sq)))}, {Nb, R, 1, 1});
    std::string Gt = node(chance(50) ? "torch.ops.aten.sigmoid.default" : "torch.ops.aten.hardsigmoid.default",
                          {arg("self", T(conv1x1(Rd, R, Co, {Nb, R, 1, 1})))}, Sq);
    const bool GateFirst = chance(50);
    std::string Prod = node("torch.ops.aten.mul.Tensor",
                            {arg("self", T(GateFirst ? Gt : Y)), arg("other", T(GateFirst ? Y : Gt))}, YS);
    const int64_t Po = smallDim({1, 4, 8, 16});
    std::string P = conv1x1(Prod, Co, Po, YS);
    YS[1] = Po;
    return P;
  }

  /// conv2d (or aten.convolution) of a 4-D value or a new input [N, C, H, W]:
  /// a random window (1 to 5), stride, padding, dilation and groups
  /// (depthwise sometimes), a bias or not; then maybe what follows one in
  /// the zoo's models: an inference batch norm, relu, a residual add of the
  /// block's input, a squeeze-and-excitation gate into a 1x1 projection, a
  /// 2x2 max pool. Weights scaled by 1 / sqrt(fan-in): values stay O(1).
  std::string convBlock() {
    std::vector<size_t> Ok = usable([](const Value &V) {
      return V.Sizes.size() == 4 && V.Sizes[1] <= 64 && V.Sizes[2] >= 2 && V.Sizes[3] >= 2;
    });
    Value X = Ok.empty() || chance(40) ? newInput({1 + int64_t(pick(2)), smallDim({1, 2, 3, 4, 8, 16}),
                                                   smallDim({2, 5, 7, 8, 9, 16, 17}), smallDim({2, 5, 7, 8, 9, 16, 17})})
                                       : Pool[Ok[chance(60) ? Ok.size() - 1 : pick(Ok.size())]];
    const int64_t Nb = X.Sizes[0], C = X.Sizes[1], H = X.Sizes[2], W = X.Sizes[3];
    static const int64_t Windows[] = {1, 1, 2, 3, 3, 3, 5};
    int64_t KH = Windows[pick(std::size(Windows))], KW = chance(80) ? KH : Windows[pick(std::size(Windows))];
    int64_t S = chance(70) ? 1 : 2, Dl = chance(10) ? 2 : 1;
    auto fit = [&](int64_t &K, int64_t In) { // padding up to K / 2; the (dilated) window within the padded input
      int64_t P = int64_t(pick(uint64_t(K / 2 + 1)));
      while (K > 1 && Dl * (K - 1) + 1 > In + 2 * P) {
        --K;
        P = std::min(P, K / 2);
      }
      return P;
    };
    const int64_t PH = fit(KH, H), PW = fit(KW, W);
    const int64_t OH = (H + 2 * PH - Dl * (KH - 1) - 1) / S + 1, OW = (W + 2 * PW - Dl * (KW - 1) - 1) / S + 1;
    if (OH < 1 || OW < 1)
      return gemm();
    int64_t G = 1, Co = smallDim({1, 4, 8, 16, 17});
    if (chance(20)) { // depthwise
      G = C;
      Co = C;
    } else if (chance(10) && C % 2 == 0) {
      G = 2;
      Co = 2 * smallDim({1, 2, 4, 8});
    }
    const double Fan = double(C / G * KH * KW);
    Value Wt = newParam({Co, C / G, KH, KW}, 1.0 / std::sqrt(Fan));
    Argument Bias = chance(70) ? T(newParam({Co}, 0.1).Name) : Argument::none();
    std::vector<frontend::NamedArgument> Args{arg("input", T(X.Name)), arg("weight", T(Wt.Name)), arg("bias", Bias),
                                              arg("stride", Argument::ints({S, S})),
                                              arg("padding", Argument::ints({PH, PW})),
                                              arg("dilation", Argument::ints({Dl, Dl}))};
    const Shape Out{Nb, Co, OH, OW};
    Shape YS = Out; // Y's shape
    std::string Y;
    if (chance(50)) {
      Args.push_back(arg("groups", Argument::integer(G)));
      Y = node("torch.ops.aten.conv2d.default", Args, Out);
    } else {
      Args.push_back(arg("transposed", Argument::boolean(false)));
      Args.push_back(arg("output_padding", Argument::ints({0, 0})));
      Args.push_back(arg("groups", Argument::integer(G)));
      Y = node("torch.ops.aten.convolution.default", Args, Out);
    }
    if (chance(30)) { // inference batch norm (folded into the convolution where it can be)
      Value Gm = newParam({Co}, 0.5, 1.0), Bt = newParam({Co}, 0.1), Mn = newParam({Co}, 0.1),
            Vr = newParam({Co}, 0.5, 0.5, /*Abs=*/true);
      std::vector<std::string> Bn = B.addMultiNode(
          "torch.ops.aten._native_batch_norm_legit_no_training.default",
          {arg("input", T(Y)), arg("weight", T(Gm.Name)), arg("bias", T(Bt.Name)), arg("running_mean", T(Mn.Name)),
           arg("running_var", T(Vr.Name)), arg("momentum", Argument::real(0.1)), arg("eps", Argument::real(1e-5))},
          {{ScalarType::Float32, Out}, {ScalarType::Float32, {0}}, {ScalarType::Float32, {0}}});
      Pool.push_back({Bn[0], Out, true, false});
      Y = Bn[0];
    }
    if (Out == X.Sizes && chance(30)) // a residual connection
      Y = node("torch.ops.aten.add.Tensor", {arg("self", T(Y)), arg("other", T(X.Name))}, Out);
    if (chance(40))
      Y = node("torch.ops.aten.relu.default", {arg("self", T(Y))}, Out);
    if (chance(20))
      Y = squeezeExcite(Y, YS);
    if (chance(15) && YS[2] >= 2 && YS[3] >= 2) {
      const Shape P{YS[0], YS[1], YS[2] / 2, YS[3] / 2};
      Y = node("torch.ops.aten.max_pool2d.default",
               {arg("self", T(Y)), arg("kernel_size", Argument::ints({2, 2})), arg("stride", Argument::ints({2, 2}))},
               P);
    }
    return Y;
  }

  /// An input or parameter (Value::Exact), a new input if there is none.
  Value exactOperand() {
    std::vector<size_t> Ok = usable([](const Value &V) { return V.Exact; });
    if (Ok.empty())
      return newInput(randomShape(1u + static_cast<unsigned>(pick(2))));
    return Pool[Ok[pick(Ok.size())]];
  }
};

} // namespace

frontend::Model atalla::tools::generateProgram(uint64_t Seed, const FuzzLimits &Limits) {
  return Generator(Seed, Limits).run();
}

FuzzOutcome atalla::tools::checkProgram(const frontend::Model &Built, uint64_t Seed) {
  FuzzOutcome R;
  R.Nodes = Built.G.Nodes.size();
  frontend::ArchiveWriterOptions WO;
  WO.RootName = "fuzz_" + std::to_string(Seed);
  WO.Layout = Seed % 5 == 3 ? frontend::ArchiveLayout::LegacyZip
              : Seed % 5 == 4 ? frontend::ArchiveLayout::Pt2Pickled
                              : frontend::ArchiveLayout::Pt2Raw;
  auto Bytes = frontend::writeModelArchive(Built, WO);
  if (!Bytes) {
    R.Message = "writing the archive failed: " + llvm::toString(Bytes.takeError());
    return R;
  }
  R.Archive = *Bytes;
  auto M = frontend::readModelFromBuffer(*Bytes, Built.Path);
  if (!M) {
    R.Message = "reading the archive back failed: " + llvm::toString(M.takeError());
    return R;
  }
  const driver::Tolerance Tol = driver::f32Tolerance(*M);
  R.Tolerance = Tol.Float;
  auto Eager = reference::EagerInterpreter::create(*M);
  if (!Eager) {
    R.Message = "eager: " + llvm::toString(Eager.takeError());
    return R;
  }
  auto Ref = (*Eager)->run(M->SampleInputs);
  if (!Ref) {
    R.Message = "eager: " + llvm::toString(Ref.takeError());
    return R;
  }
  // Compiled as atalla-gen compiles it, for the default machine.
  const driver::CompileOptions CO;
  auto P = driver::lowerForTarget(*M, CO);
  if (!P) {
    R.Message = "lowering: " + llvm::toString(P.takeError());
    return R;
  }
  for (const lower::NodeDecision &D : P->Decisions)
    R.Fallbacks += D.K == lower::NodeDecision::Fallback;
  auto Blob = driver::writeBlob(*M, *P, CO);
  if (!Blob) {
    R.Message = "codegen: " + llvm::toString(Blob.takeError());
    return R;
  }
  auto B = runtime::Blob::parse(std::move(Blob->Blob), Built.Path + ".atb");
  if (!B) {
    R.Message = "blob: " + llvm::toString(B.takeError());
    return R;
  }
  static runtime::AtenFallback Fallback;
  auto X = runtime::Executor::create(*B, sim::DeviceConfig(), &Fallback);
  if (!X) {
    R.Message = "runtime: " + llvm::toString(X.takeError());
    return R;
  }
  std::vector<runtime::HostTensor> In;
  for (const TensorData &T : M->SampleInputs)
    In.push_back({static_cast<uint32_t>(T.Dtype), T.Sizes, T.contiguousBytes()});
  auto Out = (*X)->run(In);
  if (!Out) {
    R.Message = "device run: " + llvm::toString(Out.takeError());
    return R;
  }
  if (Out->size() != Ref->size()) {
    R.Message = "device gave " + std::to_string(Out->size()) + " outputs, eager " + std::to_string(Ref->size());
    return R;
  }
  std::vector<std::string> Names = M->userOutputNames();
  for (size_t I = 0; I < Out->size(); ++I) {
    TensorData G = TensorData::fromBytes((*Ref)[I].Dtype, (*Out)[I].Sizes, (*Out)[I].Bytes);
    if (G.Sizes != (*Ref)[I].Sizes) {
      R.Message = "output '" + Names[I] + "': shape " + frontend::formatShape(G.Sizes) + " vs eager " +
                  frontend::formatShape((*Ref)[I].Sizes);
      return R;
    }
    const driver::Comparison C = driver::compareTensors(G, (*Ref)[I], Tol);
    R.WorstError = std::max(R.WorstError, C.Exact ? (C.Differ ? 1.0 : 0.0) : C.Norm);
    if (!C.Pass) {
      R.Message = driver::describeMismatch(Names[I], C, Tol);
      return R;
    }
  }
  R.Passed = true;
  return R;
}
