//===- runtime/abi/KernelSpec.cpp - one kernel specialisation -------------===//
#include "runtime/abi/KernelSpec.h"

#include <cstdio>
#include <cstring>
#include <cstdlib>

using namespace atalla::abi;

uint64_t atalla::abi::fnv1a64(const void *Data, uint64_t Size, uint64_t Seed) {
  const auto *P = static_cast<const unsigned char *>(Data);
  uint64_t H = Seed;
  for (uint64_t I = 0; I < Size; ++I) {
    H ^= P[I];
    H *= 0x100000001b3ull;
  }
  return H;
}

static std::string operandText(const OperandSpec &O) {
  std::string S = "[";
  for (size_t I = 0; I < O.Sizes.size(); ++I)
    S += (I ? "," : "") + std::to_string(O.Sizes[I]);
  S += ":";
  for (size_t I = 0; I < O.Strides.size(); ++I)
    S += (I ? "," : "") + std::to_string(O.Strides[I]);
  S += "]";
  if (O.Type != DType::F32)
    S += dtypeKeyName(O.Type);
  return S;
}

static std::string number(double V) {
  char Buf[40];
  snprintf(Buf, sizeof(Buf), "%.17g", V);
  return Buf;
}

std::string KernelSpec::key() const {
  std::string S(kernelName(Kernel));
  S += Type == DType::F32 ? " f32" : Type == DType::BF16 ? " bf16" : " ?";
  for (size_t I = 0; I + 1 < Operands.size(); ++I)
    S += " " + operandText(Operands[I]);
  S += " -> " + operandText(output());
  if (Dim >= 0)
    S += " dim=" + std::to_string(Dim);
  if (HasBias)
    S += " bias";
  if (HasScale)
    S += " kscale";
  if (HasResidual)
    S += " residual";
  if (Post != Epilogue::None)
    S += std::string(" ") + epilogueName(Post);
  if (HasScalar)
    S += " scalar=" + number(Scalar);
  if (Alpha != 1)
    S += " alpha=" + number(Alpha);
  if (!Params.empty()) {
    S += " params=";
    for (size_t I = 0; I < Params.size(); ++I)
      S += (I ? "," : "") + std::to_string(Params[I]);
  }
  return S;
}

uint32_t atalla::abi::f32Bits(float F) {
  uint32_t B;
  std::memcpy(&B, &F, 4);
  return B;
}

float atalla::abi::f32FromBits(int64_t Bits) {
  const uint32_t B = uint32_t(Bits);
  float F;
  std::memcpy(&F, &B, 4);
  return F;
}

float ChainStep::constant() const { return f32FromBits(Bits); }

std::string KernelSpec::paramsError() const {
  if (family() == KernelFamily::Chain) {
    std::vector<ChainStep> Steps;
    return chainSteps(Steps);
  }
  size_t Want = 0;
  switch (Kernel) {
  case KernelId::pad: return ""; // 2 per dim: EmitPad checks against the rank
  case KernelId::leaky_relu: Want = 1; break;
  case KernelId::powi: Want = 1; break;
  case KernelId::clamp: Want = 2; break;
  case KernelId::conv_transpose2d:
    if (Params.size() != 3)
      return "conv_transpose2d takes 3 params (kernel h, w, input width), got " + std::to_string(Params.size());
    for (int64_t P : Params)
      if (P < 1 || P > (1 << 20))
        return "a conv_transpose2d param is out of range";
    return "";
  case KernelId::attention:
    if (Params.size() != 1 || (Params[0] != 0 && Params[0] != 1))
      return "attention takes one param, causal (0 or 1)";
    return "";
  case KernelId::avg_pool2d:
    if (Params.size() != 8)
      return "avg_pool2d takes 8 params (kernel h, w, stride h, w, padding h, w, count_include_pad, "
             "divisor_override), got " + std::to_string(Params.size());
    for (size_t I = 0; I < 6; ++I)
      if ((I >= 4 ? Params[I] < 0 : Params[I] < 1) || Params[I] > (1 << 20))
        return "avg_pool2d param " + std::to_string(I) + " out of range";
    if (2 * Params[4] > Params[0] || 2 * Params[5] > Params[1])
      return "avg_pool2d's padding is at most half its window";
    if (Params[6] != 0 && Params[6] != 1)
      return "avg_pool2d's count_include_pad is 0 or 1";
    if (Params[7] < 0 || Params[7] > (1 << 30))
      return "avg_pool2d's divisor_override is out of range";
    return "";
  case KernelId::max_pool2d:
  case KernelId::max_pool2d_index:
  case KernelId::dwconv2d:
  case KernelId::conv2d: {
    if (Params.size() != 8)
      return std::string(kernelName(Kernel)) +
             " takes 8 params (kernel h, w, stride h, w, padding h, w, dilation h, w), got " +
             std::to_string(Params.size());
    for (size_t I = 0; I < 8; ++I)
      if ((I / 2 == 2 ? Params[I] < 0 : Params[I] < 1) || Params[I] > (1 << 20))
        return std::string(kernelName(Kernel)) + " param " + std::to_string(I) + " out of range";
    if ((Kernel == KernelId::max_pool2d || Kernel == KernelId::max_pool2d_index) &&
        (2 * Params[4] > Params[0] || 2 * Params[5] > Params[1]))
      return std::string(kernelName(Kernel)) + "'s padding is at most half its window";
    return "";
  }
  default:
    if (!Params.empty())
      return "params are only meaningful for pad, chain, leaky_relu, clamp, powi, conv2d, conv_transpose2d, "
             "max_pool2d, avg_pool2d, dwconv2d and attention kernels";
    return "";
  }
  if (Params.size() != Want)
    return "expected " + std::to_string(Want) + " param(s), got " + std::to_string(Params.size());
  if (Kernel == KernelId::powi)
    return Params[0] == 3 || Params[0] == -1 || Params[0] == -2 ? "" : "powi takes the exponents 3, -1 and -2";
  for (int64_t P : Params)
    if (P < 0 || P > 0xffffffffll)
      return "a param is not the bits of an f32";
  return "";
}

bool atalla::abi::isChainableUnary(KernelId K) { return kernelTraits(K).Chain == ChainUse::ChainUnary; }

bool atalla::abi::isChainableBinary(KernelId K) { return kernelTraits(K).Chain == ChainUse::ChainBinary; }

std::string KernelSpec::chainSteps(std::vector<ChainStep> &Steps) const {
  Steps.clear();
  if (Params.empty() || Params.size() % 4)
    return "a chain needs four params per step, got " + std::to_string(Params.size());
  const int64_t Inputs = int64_t(Operands.size()) - 1;
  for (size_t I = 0; I < Params.size(); I += 4) {
    ChainStep S;
    const std::string What = "chain step " + std::to_string(I / 4);
    if (Params[I] < 0 || Params[I] > 0xffff || !isKnownKernel(uint32_t(Params[I])))
      return What + ": unknown kernel " + std::to_string(Params[I]);
    S.Op = static_cast<KernelId>(Params[I]);
    S.Source = Params[I + 1];
    if (Params[I + 2] < 0 || Params[I + 2] > 0xffffffffll)
      return What + ": constant bits out of range";
    S.Bits = uint32_t(Params[I + 2]);
    if (Params[I + 3] != 0 && Params[I + 3] != 1)
      return What + ": swapped is not 0 or 1";
    S.Swapped = Params[I + 3] == 1;
    if (isChainableUnary(S.Op)) {
      if (S.Source != -1 || S.Bits || S.Swapped)
        return What + ": a unary op takes no operand";
    } else if (isChainableBinary(S.Op)) {
      if (S.Source != -1 && (S.Source < 1 || S.Source >= Inputs))
        return What + ": operand " + std::to_string(S.Source) + " is not an input (1.." +
               std::to_string(Inputs - 1) + ")";
    } else {
      return What + ": " + std::string(kernelName(S.Op)) + " can not be chained";
    }
    Steps.push_back(S);
  }
  return "";
}

void KernelSpec::addChainStep(const ChainStep &S) {
  Params.push_back(int64_t(static_cast<uint32_t>(S.Op)));
  Params.push_back(S.Source);
  Params.push_back(int64_t(S.Bits));
  Params.push_back(S.Swapped ? 1 : 0);
}

bool KernelSpec::isComparison() const {
  switch (Kernel) {
  case KernelId::eq:
  case KernelId::ne:
  case KernelId::lt:
  case KernelId::le:
  case KernelId::gt:
  case KernelId::ge:
    return true;
  default:
    return false;
  }
}

std::string KernelSpec::typeError() const {
  if (Type != DType::F32 && Type != DType::BF16)
    return "storage precision is neither f32 nor bf16";
  for (size_t I = 0; I < Operands.size(); ++I) {
    if (dtypeBytes(Operands[I].Type) == 0)
      return "operand " + std::to_string(I) + " has unknown element type " +
             std::to_string(static_cast<uint32_t>(Operands[I].Type));
    if (Operands[I].Type == DType::BF16)
      return "operand " + std::to_string(I) + " is bf16, which is a kernel's storage precision, not an operand type";
  }
  if (Operands.empty())
    return "";
  const DType Out = output().Type;
  if (Kernel == KernelId::convert)
    return "";
  if (Kernel == KernelId::argmax || Kernel == KernelId::argmin || Kernel == KernelId::max_pool2d_index) {
    if (Operands.size() == 2 && (Operands[0].Type != DType::F32 || Out != DType::I64))
      return std::string(kernelName(Kernel)) + " takes f32 and gives i64";
    return "";
  }
  if (Kernel == KernelId::where) {
    for (size_t I = 0; I + 1 < Operands.size(); ++I)
      if (Operands[I].Type != (I == 0 ? DType::Bool : DType::F32))
        return "where's condition is bool and its values f32 (operand " + std::to_string(I) + " is " +
               dtypeKeyName(Operands[I].Type) + ")";
    if (Out != DType::F32)
      return "where's result is f32";
    return "";
  }
  if (Kernel == KernelId::embedding) {
    if (Operands.size() != 3)
      return "";
    if (Operands[0].Type != DType::F32 || Out != DType::F32)
      return "embedding's table and result are f32";
    if (Operands[1].Type != DType::I64 && Operands[1].Type != DType::I32)
      return std::string("embedding's indices are ") + dtypeKeyName(Operands[1].Type) + ", not i64 or i32";
    return "";
  }
  if (Kernel == KernelId::copy) {
    for (size_t I = 0; I + 1 < Operands.size(); ++I)
      if (Operands[I].Type != Out)
        return "copy converts no element types (operand " + std::to_string(I) + " is " +
               dtypeKeyName(Operands[I].Type) + ", the output " + dtypeKeyName(Out) + ")";
    return "";
  }
  for (size_t I = 0; I + 1 < Operands.size(); ++I)
    if (Operands[I].Type != DType::F32)
      return "operand " + std::to_string(I) + " is " + dtypeKeyName(Operands[I].Type) + ", not f32";
  const DType Want = isComparison() ? DType::Bool : DType::F32;
  if (Out != Want)
    return std::string("the output is ") + dtypeKeyName(Out) + ", not " + dtypeKeyName(Want);
  return "";
}

std::string KernelSpec::symbol() const {
  std::string K = key();
  char Hex[17];
  snprintf(Hex, sizeof(Hex), "%016llx", static_cast<unsigned long long>(fnv1a64(K.data(), K.size())));
  return "atalla_" + std::string(kernelName(Kernel)) + "_" + Hex;
}

static bool parseOperand(const std::string &Text, OperandSpec &O) {
  size_t Close = Text.rfind(']');
  if (Close == std::string::npos)
    return false;
  const std::string Suffix = Text.substr(Close + 1), T = Text.substr(0, Close + 1);
  DType Type = DType::F32;
  if (!Suffix.empty()) {
    bool Known = false;
    for (DType D : {DType::U8, DType::I32, DType::I64, DType::Bool})
      if (Suffix == dtypeKeyName(D)) {
        Type = D;
        Known = true;
      }
    if (!Known)
      return false;
  }
  if (T.size() < 3 || T.front() != '[')
    return false;
  size_t Colon = T.find(':');
  if (Colon == std::string::npos)
    return false;
  auto list = [](const std::string &S, std::vector<int64_t> &Out) {
    size_t P = 0;
    while (P < S.size()) {
      size_t E = S.find(',', P);
      if (E == std::string::npos)
        E = S.size();
      char *End = nullptr;
      std::string Part = S.substr(P, E - P);
      long long V = strtoll(Part.c_str(), &End, 10);
      if (Part.empty() || *End)
        return false;
      Out.push_back(V);
      P = E + 1;
    }
    return true;
  };
  O = {};
  O.Type = Type;
  return list(T.substr(1, Colon - 1), O.Sizes) && list(T.substr(Colon + 1, T.size() - Colon - 2), O.Strides) &&
         O.Sizes.size() == O.Strides.size();
}

bool KernelSpec::parse(const std::string &Key, KernelSpec &Out) {
  std::vector<std::string> W;
  for (size_t P = 0; P < Key.size();) {
    size_t E = Key.find(' ', P);
    if (E == std::string::npos)
      E = Key.size();
    if (E > P)
      W.push_back(Key.substr(P, E - P));
    P = E + 1;
  }
  if (W.size() < 4 || (W[1] != "f32" && W[1] != "bf16"))
    return false;
  KernelSpec S;
  S.Type = W[1] == "bf16" ? DType::BF16 : DType::F32;
  bool Known = false;
#define ATALLA_KERNEL(Id, Name, Family)                                                            \
  if (W[0] == #Name) {                                                                             \
    S.Kernel = KernelId::Name;                                                                     \
    Known = true;                                                                                  \
  }
#include "runtime/abi/Kernels.def"
  if (!Known)
    return false;
  size_t I = 2;
  for (; I < W.size() && W[I] != "->"; ++I) {
    OperandSpec O;
    if (!parseOperand(W[I], O))
      return false;
    S.Operands.push_back(O);
  }
  if (I + 1 >= W.size())
    return false;
  OperandSpec Outp;
  if (!parseOperand(W[I + 1], Outp))
    return false;
  S.Operands.push_back(Outp);
  for (I += 2; I < W.size(); ++I) {
    const std::string &A = W[I];
    if (A == "bias")
      S.HasBias = true;
    else if (A == "kscale")
      S.HasScale = true;
    else if (A == "residual")
      S.HasResidual = true;
    else if (A == "relu")
      S.Post = Epilogue::Relu;
    else if (A == "gelu")
      S.Post = Epilogue::Gelu;
    else if (A == "gelu_tanh")
      S.Post = Epilogue::GeluTanh;
    else if (A == "relu6")
      S.Post = Epilogue::Relu6;
    else if (A == "hardswish")
      S.Post = Epilogue::Hardswish;
    else if (A == "silu")
      S.Post = Epilogue::Silu;
    else if (A == "sigmoid")
      S.Post = Epilogue::Sigmoid;
    else if (A == "hardsigmoid")
      S.Post = Epilogue::Hardsigmoid;
    else if (A.rfind("dim=", 0) == 0)
      S.Dim = strtoll(A.c_str() + 4, nullptr, 10);
    else if (A.rfind("scalar=", 0) == 0) {
      S.HasScalar = true;
      S.Scalar = strtod(A.c_str() + 7, nullptr);
    } else if (A.rfind("alpha=", 0) == 0) {
      S.Alpha = strtod(A.c_str() + 6, nullptr);
    } else if (A.rfind("params=", 0) == 0) {
      for (size_t P = 7; P < A.size();) {
        size_t E = A.find(',', P);
        if (E == std::string::npos)
          E = A.size();
        std::string Part = A.substr(P, E - P);
        char *End = nullptr;
        long long V = strtoll(Part.c_str(), &End, 10);
        if (Part.empty() || *End)
          return false;
        S.Params.push_back(V);
        P = E + 1;
      }
    } else {
      return false;
    }
  }
  if (S.key() != Key)
    return false;
  Out = S;
  return true;
}

KernelWork atalla::abi::kernelWork(const KernelSpec &S) {
  KernelWork W;
  if (S.Operands.empty())
    return W;
  const double Out = double(S.output().numel());
  switch (S.family()) {
  case KernelFamily::Gemm: {
    const OperandSpec &A = S.Operands[0], &C = S.output();
    const size_t Rank = C.Sizes.size();
    if (Rank < 2 || A.Sizes.size() != Rank)
      return W;
    W.M = C.Sizes[Rank - 2];
    W.N = C.Sizes[Rank - 1];
    W.K = A.Sizes[Rank - 1];
    if (S.Kernel == KernelId::conv_transpose2d && S.Operands.size() >= 3) { // C holds the GEMM's rows interleaved
      W.M = A.Sizes[Rank - 2];
      W.N = S.Operands[1].Sizes[Rank - 1];
    }
    W.Batch = 1;
    for (size_t D = 0; D + 2 < Rank; ++D)
      W.Batch *= C.Sizes[D];
    if (S.Kernel == KernelId::conv2d && S.Operands.size() >= 3 && S.Operands[1].Sizes.size() == 5 &&
        S.Params.size() == 8) {
      const std::vector<int64_t> &X = S.Operands[1].Sizes, &P = S.Params;
      KernelWork::ConvShape &Cv = W.Conv;
      Cv.C = X[2], Cv.H = X[3], Cv.W = X[4];
      Cv.KH = P[0], Cv.KW = P[1], Cv.SH = P[2], Cv.SW = P[3], Cv.PH = P[4], Cv.PW = P[5], Cv.DH = P[6], Cv.DW = P[7];
      if (Cv.SH > 0 && Cv.SW > 0) {
        Cv.OH = (Cv.H + 2 * Cv.PH - Cv.DH * (Cv.KH - 1) - 1) / Cv.SH + 1;
        Cv.OW = (Cv.W + 2 * Cv.PW - Cv.DW * (Cv.KW - 1) - 1) / Cv.SW + 1;
      }
    }
    W.ArrayFlops = 2.0 * double(W.Batch) * double(W.M) * double(W.N) * double(W.K);
    W.Flops = W.ArrayFlops + (S.HasBias ? Out : 0) + (S.HasResidual ? Out : 0) + (S.Post != Epilogue::None ? Out : 0) +
              (S.HasScale ? double(W.Batch) * double(W.M) * double(W.K) : 0); // A's columns scaled per batch
    return W;
  }
  case KernelFamily::Softmax:
  case KernelFamily::Norm:
    W.Flops = 5 * Out;
    return W;
  case KernelFamily::Reduce:
    W.Flops = double(S.Operands[0].numel());
    return W;
  case KernelFamily::Chain: {
    std::vector<ChainStep> Steps;
    W.Flops = (S.chainSteps(Steps).empty() ? double(Steps.size()) : 0) * Out;
    return W;
  }
  case KernelFamily::Unary:
  case KernelFamily::Binary:
  case KernelFamily::Select:
    W.Flops = Out;
    return W;
  case KernelFamily::Pool: // max: one comparison per element of the window but the first;
    if (S.Kernel == KernelId::adaptive_avg_pool2d) { // every input element once (about), two divisions
      W.Flops = double(S.Operands[0].numel()) + 2 * Out;
      return W;
    }
                          // average: as many adds and the division;
                          // depthwise: a multiply-add per tap (vector core), the epilogue
    if (S.Params.size() == 8)
      W.Flops = S.Kernel == KernelId::dwconv2d
                    ? Out * double(2 * S.Params[0] * S.Params[1] + (S.Post != Epilogue::None ? 1 : 0))
                    : Out * double(S.Params[0] * S.Params[1] - (S.Kernel == KernelId::avg_pool2d ? 0 : 1)) *
                          (S.Kernel == KernelId::max_pool2d_index ? 2 : 1); // a compare and a select
    return W;
  case KernelFamily::Attention: { // q k^T and p v on the array; scale, exp, the sums on the vector core
    const OperandSpec &K = S.Operands[1], &C = S.output();
    const size_t Rank = C.Sizes.size();
    if (Rank < 2 || K.Sizes.size() != Rank)
      return W;
    const double L = double(C.Sizes[Rank - 2]), Ev = double(C.Sizes[Rank - 1]), Sk = double(K.Sizes[Rank - 2]),
                 E = double(K.Sizes[Rank - 1]), Bt = Out / std::max(1.0, L * Ev);
    W.ArrayFlops = 2 * Bt * L * Sk * (E + Ev);
    W.Flops = W.ArrayFlops + 6 * Bt * L * Sk;
    // The array sees q k^T and p v as one GEMM of L x S with E + Ev of K.
    W.Batch = int64_t(Bt);
    W.M = int64_t(L);
    W.N = int64_t(Sk);
    W.K = int64_t(E + Ev);
    return W;
  }
  case KernelFamily::Copy:
  case KernelFamily::Pad:
  case KernelFamily::Gather:
    return W;
  }
  return W;
}
