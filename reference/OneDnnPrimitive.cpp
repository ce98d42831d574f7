//===- reference/OneDnnPrimitive.cpp - a oneDNN primitive, prepared once --===//
//
// Memory descriptors straight from the spec's sizes and strides (oneDNN
// takes any strides for plain layouts), so the primitive reads the same
// buffers the generated kernel does.
//
//===----------------------------------------------------------------------===//
#include "reference/OneDnnPrimitive.h"

#include "reference/OneDnnEnv.h"

#include <unordered_map>

using namespace atalla;
using namespace atalla::reference;

namespace {


dnnl::memory::desc descOf(const abi::OperandSpec &O, OneDnnPrimitive::Data D) {
  dnnl::memory::dims Sizes(O.Sizes.begin(), O.Sizes.end()), Strides(O.Strides.begin(), O.Strides.end());
  return dnnl::memory::desc(Sizes,
                            D == OneDnnPrimitive::Data::Bf16 ? dnnl::memory::data_type::bf16
                                                             : dnnl::memory::data_type::f32,
                            Strides);
}

} // namespace

struct OneDnnPrimitive::Impl {
  dnnl::primitive Prim;
  std::unordered_map<int, dnnl::memory> Args;
  std::string ImplInfo;
};

OneDnnPrimitive::OneDnnPrimitive() : P(std::make_unique<Impl>()) {}
OneDnnPrimitive::~OneDnnPrimitive() = default;

llvm::Expected<std::unique_ptr<OneDnnPrimitive>>
OneDnnPrimitive::prepare(const abi::KernelSpec &Spec, Data D, const std::vector<const void *> &Inputs, void *Output) {
  auto fail = [&](const std::string &Why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "oneDNN, kernel '" + Spec.key() + "': " + Why);
  };
  const bool Gemm = abi::kernelFamily(Spec.Kernel) == abi::KernelFamily::Gemm;
  const size_t NumInputs = Gemm ? 2 : Spec.Kernel == abi::KernelId::softmax ? 1 : 0;
  if (NumInputs == 0)
    return fail("only gemm and softmax have a prepared form");
  if (Inputs.size() != NumInputs || Spec.Operands.size() != NumInputs + 1 || Spec.HasBias)
    return fail("expected " + std::to_string(NumInputs) + " input operand(s) and no bias");
  std::unique_ptr<OneDnnPrimitive> R(new OneDnnPrimitive());
  detail::OneDnnEnv &E = detail::oneDnnEnv();
  auto mem = [&](const abi::OperandSpec &O, const void *Ptr) {
    return dnnl::memory(descOf(O, D), E.Eng, const_cast<void *>(Ptr));
  };
  try {
    dnnl::memory Dst = mem(Spec.output(), Output);
    if (Gemm) {
      dnnl::memory A = mem(Spec.Operands[0], Inputs[0]), B = mem(Spec.Operands[1], Inputs[1]);
      dnnl::matmul::primitive_desc PD(dnnl::matmul::desc(A.get_desc(), B.get_desc(), Dst.get_desc()), E.Eng);
      R->P->ImplInfo = PD.impl_info_str();
      R->P->Prim = dnnl::matmul(PD);
      R->P->Args = {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, Dst}};
    } else {
      dnnl::memory Src = mem(Spec.Operands[0], Inputs[0]);
      dnnl::softmax_v2_forward::primitive_desc PD(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                         Src.get_desc(), Dst.get_desc(), int(Spec.Dim)),
          E.Eng);
      R->P->ImplInfo = PD.impl_info_str();
      R->P->Prim = dnnl::softmax_v2_forward(PD);
      R->P->Args = {{DNNL_ARG_SRC, Src}, {DNNL_ARG_DST, Dst}};
    }
  } catch (const dnnl::error &Err) {
    return fail(Err.what());
  }
  return R;
}

void OneDnnPrimitive::execute() {
  detail::OneDnnEnv &E = detail::oneDnnEnv();
  P->Prim.execute(E.Strm, P->Args);
  E.Strm.wait();
}

std::string OneDnnPrimitive::implementation() const { return P->ImplInfo; }

std::string reference::oneDnnVersion() {
  const dnnl_version_t *V = dnnl_version();
  return std::to_string(V->major) + "." + std::to_string(V->minor) + "." + std::to_string(V->patch);
}

llvm::Error reference::limitOneDnnIsa(const std::string &Isa) {
  dnnl::cpu_isa Max;
  if (Isa == "avx2")
    Max = dnnl::cpu_isa::avx2;
  else if (Isa == "all")
    Max = dnnl::cpu_isa::all;
  else
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "oneDNN: unknown ISA limit '" + Isa + "' (avx2 or all)");
  try {
    dnnl::set_max_cpu_isa(Max);
  } catch (const dnnl::error &Err) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "oneDNN: can not limit the ISA to " + Isa + ": " + Err.what());
  }
  return llvm::Error::success();
}
