//===- support/AlignedAllocator.h - vectors on aligned storage --*- C++ -*-===//
//
// A standard allocator whose storage starts on an Align-byte boundary
// (std::aligned_alloc), for buffers whose host alignment is part of what is
// measured or simulated: the simulated DRAM (page-aligned, as the pads are)
// and the benchmark's oneDNN operands (cache-line-aligned, as a CPU user's
// tensors are). glibc's malloc aligns to 16 bytes only, and a large
// buffer's start lies 16 bytes past a page.
//
//===----------------------------------------------------------------------===//
#ifndef ATALLA_SUPPORT_ALIGNEDALLOCATOR_H
#define ATALLA_SUPPORT_ALIGNEDALLOCATOR_H

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace atalla {

template <typename T, std::size_t Align> struct AlignedAllocator {
  static_assert(Align >= alignof(T) && (Align & (Align - 1)) == 0, "a power of two, at least T's alignment");
  using value_type = T;
  template <typename U> struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  AlignedAllocator() = default;
  template <typename U> AlignedAllocator(const AlignedAllocator<U, Align> &) {}
  T *allocate(std::size_t N) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t Bytes = (std::max<std::size_t>(N * sizeof(T), 1) + Align - 1) / Align * Align;
    if (void *P = std::aligned_alloc(Align, Bytes))
      return static_cast<T *>(P);
    throw std::bad_alloc();
  }
  void deallocate(T *P, std::size_t) { std::free(P); }
  template <typename U> bool operator==(const AlignedAllocator<U, Align> &) const { return true; }
  template <typename U> bool operator!=(const AlignedAllocator<U, Align> &) const { return false; }
};

/// A vector whose data starts on an Align-byte boundary.
template <typename T, std::size_t Align> using AlignedVector = std::vector<T, AlignedAllocator<T, Align>>;

} // namespace atalla

#endif // ATALLA_SUPPORT_ALIGNEDALLOCATOR_H
