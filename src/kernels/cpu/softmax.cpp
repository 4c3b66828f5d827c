// Softmax / log-softmax on the CPU. Shapes: x, y, dy, dx are [outer, n, inner]; the op runs along n.
//
// Last axis (inner == 1), one row at a time, rows split over threads in contiguous blocks:
//   pass 1  max over the row              reads x from memory (the only DRAM read)
//   pass 2  e = exp(x - max), sum(e)      x is now in L1/L2; e goes to a per-thread scratch row in L1/L2
//   pass 3  y = e * (1 / sum)             writes y once
// so each element is read from memory once and written once, and exp runs once per element. Pass 2 is where a
// core spends its time, so it also prefetches the rows ahead (memory keeps streaming while the core computes)
// and, for cache-sized arrays, fetches y's lines for writing. For arrays far bigger than the cache pass 3 uses
// streaming stores: y's lines are then never read from memory before being written (8 bytes of traffic per
// element instead of 12). Other axes (inner > 1) vectorise across inner, kLanes columns at a time.
#include "attn/kernels/softmax.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "attn/core/error.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;
using cpu::load_n;
using cpu::store_n;
using cpu::write_row;

constexpr float kInf = std::numeric_limits<float>::infinity();
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = int64_t{1} << 15;
// Total bytes (inputs + outputs) above which outputs are written with streaming stores: about half a 32 MB L3,
// beyond which fetching y's lines before writing them costs more than the cache saves the next op. Smaller arrays
// stay in cache, where streaming stores would only push them out (measured on Zen 5: a 1M-element softmax, 8 MB
// in and out, runs 20-40 % faster cached than streamed).
constexpr int64_t kStreamBytes = int64_t{16} << 20;
// Longest row (floats) that goes through the per-thread scratch (on the stack); longer rows are scaled in y.
constexpr int64_t kScratch = 16384;

// Checks sizes and pointers before any parallel region (an exception cannot leave one); returns outer*n*inner.
int64_t check_args(const char* op, int64_t outer, int64_t n, int64_t inner, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(outer >= 0 && n >= 0 && inner >= 0, "{}: negative size in [outer, n, inner] = [{}, {}, {}]", op, outer,
             n, inner);
  int64_t total = 0;
  ATTN_CHECK(!__builtin_mul_overflow(outer, n, &total) && !__builtin_mul_overflow(total, inner, &total),
             "{}: [outer, n, inner] = [{}, {}, {}] has more elements than int64 can count", op, outer, n, inner);
  if (total > 0) {
    for (const void* p : ptrs) {
      ATTN_CHECK(p != nullptr, "{}: null data pointer for [outer, n, inner] = [{}, {}, {}]", op, outer, n, inner);
    }
  }
  return total;
}



// Four accumulators: max has a short latency but the loads come two a cycle.
inline float row_max(const float* x, int64_t n) {
  Vec m0 = Vec::set1(-kInf), m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    m0 = max(m0, Vec::load(x + i));
    m1 = max(m1, Vec::load(x + i + kLanes));
    m2 = max(m2, Vec::load(x + i + 2 * kLanes));
    m3 = max(m3, Vec::load(x + i + 3 * kLanes));
  }
  for (; i + kLanes <= n; i += kLanes) m0 = max(m0, Vec::load(x + i));
  if (i < n) m1 = max(m1, Vec::load_partial(x + i, int(n - i), -kInf));
  return max(max(m0, m1), max(m2, m3)).reduce_max();
}

// Prefetching: a thread's rows are one contiguous stream, and the passes that compute (exp) find their row in
// cache, so the memory would sit idle while they run. They touch, line by line, the data kPrefetchAhead floats
// ahead (at least a row), so the next rows' first pass reads from cache and memory stays busy.
constexpr int64_t kLineFloats = 16;
constexpr int64_t kPrefetchAhead = 4096;
inline int64_t prefetch_distance(int64_t n) { return std::max(n, kPrefetchAhead); }
inline void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
// Lines of p[0, 2*kLanes): one loop step's worth.
inline void prefetch_step(const float* p) {
  for (int l = 0; l < 2 * kLanes; l += kLineFloats) prefetch(p + l);
}
inline void prefetch_rest(const float* p, int64_t from, int64_t n) {
  for (int64_t i = from; i < n; i += kLineFloats) prefetch(p + i);
}

// Lines of p[0, 2*kLanes), for writing: the cache fetches a line before it is written, and doing that while the
// exp pass computes takes it off the path of the pass that writes y.
inline void prefetch_write_step(float* p) {
  for (int l = 0; l < 2 * kLanes; l += kLineFloats) _m_prefetchw(p + l);
}

// sum(exp(x - m)); when e is given, also e[i] = exp(x[i] - m). Prefetches pf[0, n) for reading and, when given,
// pw[0, n) for writing.
template <bool kStore>
inline float row_sum_exp(const float* x, int64_t n, float m, float* e, const float* pf, float* pw = nullptr) {
  const Vec vm = Vec::set1(m);
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    prefetch_step(pf + i);
    if (pw) prefetch_write_step(pw + i);
    Vec a = cpu::exp_no_overflow(Vec::load(x + i) - vm);
    Vec b = cpu::exp_no_overflow(Vec::load(x + i + kLanes) - vm);
    if constexpr (kStore) {
      a.store(e + i);
      b.store(e + i + kLanes);
    }
    s0 = s0 + a;
    s1 = s1 + b;
  }
  prefetch_rest(pf, i, n);
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    Vec a = cpu::exp_no_overflow(load_n(x + i, cnt, -kInf) - vm);  // exp(-inf) = 0 keeps the sum exact
    if constexpr (kStore) store_n(e + i, a, cnt);
    s0 = s0 + a;
  }
  return (s0 + s1).reduce_add();
}

// A row with no value above -inf has max -inf, and x - max would be NaN; shifting by 0 instead gives exp = 0
// everywhere (sum 0, handled by the callers) while a NaN in the row still makes the sum NaN.
inline float shift_for(float m) { return m == -kInf ? 0.0f : m; }
// 1/sum, 0 for an all -inf row (its y is 0, not 0 * inf), NaN stays NaN.
inline float inv_sum(float s) { return s == 0.0f ? 0.0f : 1.0f / s; }
// log(sum); +inf for an all -inf row so that y = (x - max) - log(sum) is -inf there (log 0), NaN stays NaN.
// (x - max) is exact for nearby values; folding max into the log first would lose digits at |x| ~ 1e4.
inline float log_sum(float s) { return s == 0.0f ? kInf : std::log(s); }

// ---- last axis --------------------------------------------------------------------------------------------------

// x, y: [n]. scratch: n floats, or nullptr to hold e in y (rows longer than kScratch).
template <bool kStream>
void softmax_row(const float* x, float* y, int64_t n, float* scratch) {
  const float m = shift_for(row_max(x, n));
  float* e = scratch ? scratch : y;
  float* pw = kStream || e == y ? nullptr : y;  // streaming stores need no line fetched
  const Vec inv = Vec::set1(inv_sum(row_sum_exp<true>(x, n, m, e, x + prefetch_distance(n), pw)));
  write_row<kStream>(y, n, [&](int64_t i, int cnt) { return load_n(e + i, cnt) * inv; });
}

template <bool kStream>
void log_softmax_row(const float* x, float* y, int64_t n) {
  const float m = shift_for(row_max(x, n));
  const float s = row_sum_exp<false>(x, n, m, nullptr, x + prefetch_distance(n));
  const Vec vm = Vec::set1(m), ls = Vec::set1(log_sum(s));
  write_row<kStream>(y, n, [&](int64_t i, int cnt) { return (load_n(x + i, cnt) - vm) - ls; });
}

// Reads y and dy from memory in the dot product; the second pass finds them in cache.
template <bool kStream>
void softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n) {
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    s0 = fma(Vec::load(y + i), Vec::load(dy + i), s0);
    s1 = fma(Vec::load(y + i + kLanes), Vec::load(dy + i + kLanes), s1);
  }
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    s0 = fma(load_n(y + i, cnt), load_n(dy + i, cnt), s0);
  }
  const Vec s = Vec::set1((s0 + s1).reduce_add());
  // dx may be dy: each vector of dy is read before the same vector of dx is written.
  write_row<kStream>(dx, n, [&](int64_t i, int cnt) { return load_n(y + i, cnt) * (load_n(dy + i, cnt) - s); });
}

// y < -FLT_MAX is y == -inf: those entries neither give nor get gradient. y is a log-probability, <= 0 up to
// rounding, so exp_no_overflow serves.
template <bool kStream>
void log_softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n) {
  const Vec lowest = Vec::set1(-FLT_MAX);
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    s0 = s0 + zero_where_less(Vec::load(dy + i), Vec::load(y + i), lowest);
    s1 = s1 + zero_where_less(Vec::load(dy + i + kLanes), Vec::load(y + i + kLanes), lowest);
  }
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    s0 = s0 + zero_where_less(load_n(dy + i, cnt), load_n(y + i, cnt), lowest);
  }
  const Vec s = Vec::set1((s0 + s1).reduce_add());
  write_row<kStream>(dx, n, [&](int64_t i, int cnt) {
    const Vec yv = load_n(y + i, cnt);
    return zero_where_less(fnma(cpu::exp_no_overflow(yv), s, load_n(dy + i, cnt)), yv, lowest);
  });
}

// Runs row(r) for r in [0, rows) over the threads, in contiguous blocks so each thread streams through memory.
template <class Row>
void for_rows(int64_t rows, int64_t total, Row&& row) {
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) row(r);
}

bool use_stream(int64_t total, int arrays) { return total * int64_t(sizeof(float)) * arrays > kStreamBytes; }

// ---- other axes: kLanes columns of inner at a time --------------------------------------------------------------

// Per-lane scalar fix-ups, once per column block.
template <class F>
inline Vec per_lane(Vec v, F&& f) {
  alignas(64) float a[kLanes];
  v.store(a);
  for (float& t : a) t = f(t);
  return Vec::load(a);
}

// Runs block(o, j, cnt) for every outer index o and column block [j, j + cnt) of inner.
template <class Block>
void for_column_blocks(int64_t outer, int64_t inner, int64_t total, Block&& block) {
  const int64_t blocks = (inner + kLanes - 1) / kLanes;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks, j = (t % blocks) * kLanes;
    block(o, j, int(std::min<int64_t>(kLanes, inner - j)));
  }
}

// Column max over n rows spaced `inner` apart.
inline Vec column_max(const float* x, int64_t n, int64_t inner, int cnt) {
  Vec m = Vec::set1(-kInf);
  for (int64_t k = 0; k < n; ++k) m = max(m, load_n(x + k * inner, cnt, -kInf));
  return per_lane(m, shift_for);
}

inline Vec column_sum_exp(const float* x, float* e, int64_t n, int64_t inner, int cnt, Vec m) {
  Vec s = Vec::zero();
  for (int64_t k = 0; k < n; ++k) {
    Vec v = cpu::exp_no_overflow(load_n(x + k * inner, cnt, -kInf) - m);
    if (e) store_n(e + k * inner, v, cnt);
    s = s + v;
  }
  return s;
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = check_args("softmax_forward", outer, n, inner, {x, y});
  if (total == 0) return;
  if (inner == 1) {
    if (n <= kScratch) {
      const bool stream = use_stream(total, 2);
#pragma omp parallel if (total >= kParallelMin)
      {
        alignas(64) float scratch[kScratch];
        if (stream) {
#pragma omp for schedule(static)
          for (int64_t r = 0; r < outer; ++r) softmax_row<true>(x + r * n, y + r * n, n, scratch);
          cpu::stream_fence();
        } else {
#pragma omp for schedule(static)
          for (int64_t r = 0; r < outer; ++r) softmax_row<false>(x + r * n, y + r * n, n, scratch);
        }
      }
    } else {
      for_rows(outer, total, [&](int64_t r) { softmax_row<false>(x + r * n, y + r * n, n, nullptr); });
    }
    return;
  }
  for_column_blocks(outer, inner, total, [&](int64_t o, int64_t j, int cnt) {
    const float* xb = x + o * n * inner + j;
    float* yb = y + o * n * inner + j;
    const Vec m = column_max(xb, n, inner, cnt);
    const Vec inv = per_lane(column_sum_exp(xb, yb, n, inner, cnt, m), inv_sum);
    for (int64_t k = 0; k < n; ++k) store_n(yb + k * inner, load_n(yb + k * inner, cnt) * inv, cnt);
  });
}

void log_softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = check_args("log_softmax_forward", outer, n, inner, {x, y});
  if (total == 0) return;
  if (inner == 1) {
    if (use_stream(total, 2)) {
#pragma omp parallel if (total >= kParallelMin)
      {
#pragma omp for schedule(static)
        for (int64_t r = 0; r < outer; ++r) log_softmax_row<true>(x + r * n, y + r * n, n);
        cpu::stream_fence();
      }
    } else {
      for_rows(outer, total, [&](int64_t r) { log_softmax_row<false>(x + r * n, y + r * n, n); });
    }
    return;
  }
  for_column_blocks(outer, inner, total, [&](int64_t o, int64_t j, int cnt) {
    const float* xb = x + o * n * inner + j;
    float* yb = y + o * n * inner + j;
    const Vec m = column_max(xb, n, inner, cnt);
    const Vec ls = per_lane(column_sum_exp(xb, nullptr, n, inner, cnt, m), log_sum);
    for (int64_t k = 0; k < n; ++k) store_n(yb + k * inner, (load_n(xb + k * inner, cnt) - m) - ls, cnt);
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = check_args("softmax_backward", outer, n, inner, {y, dy, dx});
  if (total == 0) return;
  if (inner == 1) {
    if (use_stream(total, 3)) {
#pragma omp parallel if (total >= kParallelMin)
      {
#pragma omp for schedule(static)
        for (int64_t r = 0; r < outer; ++r) softmax_backward_row<true>(y + r * n, dy + r * n, dx + r * n, n);
        cpu::stream_fence();
      }
    } else {
      for_rows(outer, total,
               [&](int64_t r) { softmax_backward_row<false>(y + r * n, dy + r * n, dx + r * n, n); });
    }
    return;
  }
  for_column_blocks(outer, inner, total, [&](int64_t o, int64_t j, int cnt) {
    const int64_t base = o * n * inner + j;
    Vec s = Vec::zero();
    for (int64_t k = 0; k < n; ++k) s = fma(load_n(y + base + k * inner, cnt), load_n(dy + base + k * inner, cnt), s);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = base + k * inner;
      store_n(dx + at, load_n(y + at, cnt) * (load_n(dy + at, cnt) - s), cnt);
    }
  });
}

void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = check_args("log_softmax_backward", outer, n, inner, {y, dy, dx});
  if (total == 0) return;
  if (inner == 1) {
    if (use_stream(total, 3)) {
#pragma omp parallel if (total >= kParallelMin)
      {
#pragma omp for schedule(static)
        for (int64_t r = 0; r < outer; ++r) log_softmax_backward_row<true>(y + r * n, dy + r * n, dx + r * n, n);
        cpu::stream_fence();
      }
    } else {
      for_rows(outer, total,
               [&](int64_t r) { log_softmax_backward_row<false>(y + r * n, dy + r * n, dx + r * n, n); });
    }
    return;
  }
  const Vec lowest = Vec::set1(-FLT_MAX);
  for_column_blocks(outer, inner, total, [&](int64_t o, int64_t j, int cnt) {
    const int64_t base = o * n * inner + j;
    Vec s = Vec::zero();
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = base + k * inner;
      s = s + zero_where_less(load_n(dy + at, cnt), load_n(y + at, cnt), lowest);
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = base + k * inner;
      const Vec yv = load_n(y + at, cnt);
      store_n(dx + at, zero_where_less(fnma(cpu::exp_no_overflow(yv), s, load_n(dy + at, cnt)), yv, lowest),
            cnt);
    }
  });
}

}  // namespace attn::kernels
