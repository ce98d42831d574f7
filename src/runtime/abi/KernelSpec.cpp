//===- runtime/abi/KernelSpec.cpp - one kernel specialisation -------------===//
#include "runtime/abi/KernelSpec.h"

#include <cstdio>

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
  return S + "]";
}

static std::string number(double V) {
  char Buf[40];
  snprintf(Buf, sizeof(Buf), "%.17g", V);
  return Buf;
}

std::string KernelSpec::key() const {
  std::string S(kernelName(Kernel));
  S += Type == DType::F32 ? " f32" : " ?";
  for (size_t I = 0; I + 1 < Operands.size(); ++I)
    S += " " + operandText(Operands[I]);
  S += " -> " + operandText(output());
  if (Dim >= 0)
    S += " dim=" + std::to_string(Dim);
  if (HasBias)
    S += " bias";
  if (HasScalar)
    S += " scalar=" + number(Scalar);
  if (Alpha != 1)
    S += " alpha=" + number(Alpha);
  return S;
}

std::string KernelSpec::symbol() const {
  std::string K = key();
  char Hex[17];
  snprintf(Hex, sizeof(Hex), "%016llx", static_cast<unsigned long long>(fnv1a64(K.data(), K.size())));
  return "atalla_" + std::string(kernelName(Kernel)) + "_" + Hex;
}
