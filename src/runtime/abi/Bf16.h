//===- runtime/abi/Bf16.h - bfloat16 conversions ----------------*- C++ -*-===//
//
// The two conversions of the bf16 precision, one definition for every part
// that converts (the SDMA engine's bf16 aperture, the blob builder's
// weights, the runtime's user tensors, the references):
//   - bf16 -> f32 is exact (the bf16 bits are the f32's upper half);
//   - f32 -> bf16 rounds to nearest, ties to even, as MEISSA's output stage,
//     torch's Tensor.to(torch.bfloat16) and oneDNN do. Overflow rounds to
//     +-inf; NaN stays NaN (quieted, sign kept); denormals round like any
//     other value (no flush).
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_RUNTIME_ABI_BF16_H
#define ATALLA_RUNTIME_ABI_BF16_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace atalla::abi {

inline uint16_t bf16FromF32Bits(uint32_t U) {
  // Branch-free, so the N-element loops below vectorise (the SDMA engine's
  // bf16 aperture converts every element it moves).
  const uint32_t Rounded = (U + 0x7fffu + ((U >> 16) & 1u)) >> 16;
  const uint32_t Nan = (U >> 16) | 0x0040u; // NaN: keep sign and payload top, quiet it
  return uint16_t((U & 0x7fffffffu) > 0x7f800000u ? Nan : Rounded);
}

inline uint16_t bf16FromF32(float F) {
  uint32_t U;
  std::memcpy(&U, &F, 4);
  return bf16FromF32Bits(U);
}

inline float f32FromBf16(uint16_t H) {
  const uint32_t U = uint32_t(H) << 16;
  float F;
  std::memcpy(&F, &U, 4);
  return F;
}

/// F rounded to bf16 and widened back: the value a bf16 store keeps.
inline float roundToBf16(float F) { return f32FromBf16(bf16FromF32(F)); }

/// N floats (unaligned bytes allowed) to bf16, and back.
inline void bf16FromF32N(uint8_t *Dst, const uint8_t *Src, size_t N) {
  for (size_t I = 0; I < N; ++I) {
    uint32_t U;
    std::memcpy(&U, Src + 4 * I, 4);
    const uint16_t H = bf16FromF32Bits(U);
    std::memcpy(Dst + 2 * I, &H, 2);
  }
}
inline void f32FromBf16N(uint8_t *Dst, const uint8_t *Src, size_t N) {
  for (size_t I = 0; I < N; ++I) {
    uint16_t H;
    std::memcpy(&H, Src + 2 * I, 2);
    const uint32_t U = uint32_t(H) << 16;
    std::memcpy(Dst + 4 * I, &U, 4);
  }
}

} // namespace atalla::abi

#endif // ATALLA_RUNTIME_ABI_BF16_H
