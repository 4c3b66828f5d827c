// Loop drivers for element-wise and row-wise kernels on attn's OpenMP threads.
#pragma once
#include <cstdint>

#include "kernels/cpu/simd.h"

// Work is cut into chunks whose boundaries depend only on the sizes, never on the thread count, so a kernel
// that keeps one partial sum per chunk gives the same bits on any number of threads.
namespace attn::kernels::cpu {
// Below this many elements of work a kernel stays on the calling thread: waking the team costs more.
constexpr int64_t kParallelWork = int64_t{1} << 15;
// Elements of work per chunk (a multiple of kLanes, so element chunks start on whole vectors).
constexpr int64_t kChunkWork = int64_t{1} << 14;

struct Chunks {
  int64_t count = 0;  // number of chunks
  int64_t size = 0;   // items per chunk (the last may hold fewer)
};

// Chunks of n items of `work` elements each: one chunk when the total is too small to split.
inline Chunks make_chunks(int64_t n, int64_t work) {
  if (n <= 0) return {0, 0};
  if (work < 1) work = 1;
  if (n * work < kParallelWork) return {1, n};
  int64_t size = kChunkWork / work > 1 ? kChunkWork / work : 1;
  return {(n + size - 1) / size, size};
}

// f(chunk, begin, end) for each chunk of make_chunks(n, work), across the OpenMP threads when there are several.
// f must not throw: check arguments before.
template <class F>
inline void parallel_chunks(int64_t n, int64_t work, F&& f) {
  const Chunks c = make_chunks(n, work);
  if (c.count == 1) {
    f(int64_t{0}, int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c.count; ++i) f(i, i * c.size, (i + 1) * c.size < n ? (i + 1) * c.size : n);
}

// f(begin, end) over [0, n) items of `work` elements each.
template <class F>
inline void parallel_for(int64_t n, int64_t work, F&& f) {
  parallel_chunks(n, work, [&](int64_t, int64_t begin, int64_t end) { f(begin, end); });
}

// out[i] = f(a[i]) over n floats, vectorised; out may alias a.
template <class F>
inline void map(int64_t n, const float* a, float* out, F f) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) f(Vec::load(a + i)).store(out + i);
    if (i < end) f(Vec::load_partial(a + i, static_cast<int>(end - i))).store_partial(out + i, static_cast<int>(end - i));
  });
}

// out[i] = f(a[i], b[i]); out may alias a or b.
template <class F>
inline void map2(int64_t n, const float* a, const float* b, float* out, F f) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) f(Vec::load(a + i), Vec::load(b + i)).store(out + i);
    if (i < end) {
      const int m = static_cast<int>(end - i);
      f(Vec::load_partial(a + i, m), Vec::load_partial(b + i, m)).store_partial(out + i, m);
    }
  });
}
}  // namespace attn::kernels::cpu

