// Fused cross-entropy on the CPU. logits: [rows, classes] with classes in the thousands (a vocabulary), so a row
// is tens of KiB: the forward reads it from memory once (max and, with label smoothing, sum of x) and finds it in
// cache for the sum of exponentials; the backward reads it once and writes the gradient once, with streaming stores
// when the gradient is far bigger than the cache. Rows run in parallel in contiguous blocks.
#include "attn/kernels/cross_entropy.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;
using cpu::load_n;
using cpu::write_row;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kParallelMin = int64_t{1} << 15;   // elements; see softmax.cpp
constexpr int64_t kStreamBytes = int64_t{16} << 20;  // see softmax.cpp



// Validates everything before the parallel region and returns the number of rows that count.
int64_t check_args(const char* op, const float* logits, const int32_t* targets, int64_t rows, int64_t classes,
                   const CrossEntropyOptions& opt, const void* out) {
  ATTN_CHECK(rows >= 0 && classes > 0, "{}: logits [{}, {}] need rows >= 0 and classes > 0", op, rows, classes);
  int64_t total = 0;
  ATTN_CHECK(!__builtin_mul_overflow(rows, classes, &total), "{}: logits [{}, {}] overflow int64", op, rows,
             classes);
  ATTN_CHECK(opt.label_smoothing >= 0.0f && opt.label_smoothing <= 1.0f,
             "{}: label_smoothing {} is outside [0, 1] (logits [{}, {}])", op, opt.label_smoothing, rows, classes);
  if (rows == 0) return 0;
  ATTN_CHECK(logits && targets && out, "{}: null data pointer for logits [{}, {}]", op, rows, classes);
  int64_t valid = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t t = targets[r];
    if (t == opt.ignore_index) continue;
    ATTN_CHECK(t >= 0 && t < classes,
               "{}: target {} at row {} is outside [0, {}) for logits [{}, {}] (ignore_index {})", op, t, r, classes,
               rows, classes, opt.ignore_index);
    ++valid;
  }
  return valid;
}

// max(x) and, when kSum, sum(x): one pass over memory.
template <bool kSum>
inline void row_max_sum(const float* x, int64_t n, float* max_out, float* sum_out) {
  Vec m0 = Vec::set1(-kInf), m1 = m0, m2 = m0, m3 = m0;
  Vec s0 = Vec::zero(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    const Vec a = Vec::load(x + i), b = Vec::load(x + i + kLanes);
    const Vec c = Vec::load(x + i + 2 * kLanes), d = Vec::load(x + i + 3 * kLanes);
    m0 = max(m0, a), m1 = max(m1, b), m2 = max(m2, c), m3 = max(m3, d);
    if constexpr (kSum) s0 = s0 + a, s1 = s1 + b, s2 = s2 + c, s3 = s3 + d;
  }
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    m0 = max(m0, load_n(x + i, cnt, -kInf));
    if constexpr (kSum) s0 = s0 + load_n(x + i, cnt);
  }
  *max_out = max(max(m0, m1), max(m2, m3)).reduce_max();
  if constexpr (kSum) *sum_out = ((s0 + s1) + (s2 + s3)).reduce_add();
}

// sum(exp(x - m)) over a row already in cache. Meanwhile it prefetches pf[0, n), the next row, so memory keeps
// streaming while the core computes exponentials (the first pass of the next row then reads from cache).
inline float row_sum_exp(const float* x, int64_t n, float m, const float* pf) {
  constexpr int kLineFloats = 16;
  auto prefetch = [](const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); };
  const Vec vm = Vec::set1(m);
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    for (int l = 0; l < 2 * kLanes; l += kLineFloats) prefetch(pf + i + l);
    s0 = s0 + cpu::exp(Vec::load(x + i) - vm);
    s1 = s1 + cpu::exp(Vec::load(x + i + kLanes) - vm);
  }
  for (int64_t j = i; j < n; j += kLineFloats) prefetch(pf + j);
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    s0 = s0 + cpu::exp(load_n(x + i, cnt, -kInf) - vm);
  }
  return (s0 + s1).reduce_add();
}

// Loss of one row (double: the mean adds up thousands of them). Writes the row's log-sum-exp.
template <bool kSmooth>
double row_loss(const float* x, int64_t classes, int32_t target, bool counted, float eps, float* lse) {
  float m = 0.0f, sum_x = 0.0f;
  row_max_sum<kSmooth>(x, classes, &m, &sum_x);
  // An all -inf row: shift by 0 so exp gives 0 rather than NaN; its lse is log 0 = -inf.
  const float shift = m == -kInf ? 0.0f : m;
  const float s = row_sum_exp(x, classes, shift, x + classes);
  // In double: with logits near 1e4 a float lse has lost the digits that lse - x[t] keeps.
  const double l = s == 0.0f ? -double(kInf) : double(shift) + std::log(double(s));
  *lse = float(l);
  if (!counted) return 0.0;
  double loss = l - double(x[target]);
  if constexpr (kSmooth) loss = (1.0 - eps) * loss + eps * (l - double(sum_x) / double(classes));
  return loss;
}

// dlogits row = g * exp(x - lse) - g*eps/C, minus g*(1-eps) at the target.
template <bool kStream>
void row_grad(const float* x, float* d, int64_t classes, int32_t target, float lse, float g, float eps) {
  const Vec vl = Vec::set1(lse), vg = Vec::set1(g), voff = Vec::set1(-g * eps / float(classes));
  const float hit = g * (1.0f - eps);
  write_row<kStream>(d, classes, [&](int64_t i, int cnt) {
    Vec v = fma(cpu::exp(load_n(x + i, cnt) - vl), vg, voff);  // x - lse <= 0 but for rounding
    if (target >= i && target < i + cnt) {  // once per row: patch the target's lane through memory
      alignas(64) float a[kLanes];
      v.store(a);
      a[target - i] -= hit;
      v = Vec::load(a);
    }
    return v;
  });
}

template <bool kStream>
void zero_row(float* d, int64_t classes) {
  write_row<kStream>(d, classes, [](int64_t, int) { return Vec::zero(); });
}

}  // namespace

float cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t classes,
                            const CrossEntropyOptions& opt, float* lse) {
  const int64_t valid = check_args("cross_entropy_forward", logits, targets, rows, classes, opt, lse);
  if (rows == 0) return 0.0f;
  const float eps = opt.label_smoothing;
  // One partial sum per thread, added in thread order: the same thread count gives the same loss bit for bit.
  std::vector<double> partial(size_t(std::max(1, omp_get_max_threads())), 0.0);
#pragma omp parallel if (rows * classes >= kParallelMin)
  {
    double acc = 0.0;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t t = targets[r];
      const bool counted = t != opt.ignore_index;
      const float* x = logits + r * classes;
      acc += eps > 0.0f ? row_loss<true>(x, classes, t, counted, eps, lse + r)
                        : row_loss<false>(x, classes, t, counted, eps, lse + r);
    }
    partial[size_t(omp_get_thread_num())] = acc;
  }
  if (valid == 0) return 0.0f;
  double total = 0.0;
  for (double p : partial) total += p;
  return float(total / double(valid));
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, int64_t rows,
                            int64_t classes, const CrossEntropyOptions& opt, float grad_loss, float* dlogits) {
  const int64_t valid = check_args("cross_entropy_backward", logits, targets, rows, classes, opt, dlogits);
  ATTN_CHECK(rows == 0 || lse, "cross_entropy_backward: null lse for logits [{}, {}]", rows, classes);
  if (rows == 0) return;
  const float eps = opt.label_smoothing;
  const float g = valid == 0 ? 0.0f : float(double(grad_loss) / double(valid));
  const bool stream = rows * classes * int64_t(2 * sizeof(float)) > kStreamBytes;
  auto run = [&](auto stream_tag) {
    constexpr bool kStream = decltype(stream_tag)::value;
#pragma omp parallel if (rows * classes >= kParallelMin)
    {
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const int32_t t = targets[r];
        float* d = dlogits + r * classes;
        if (t == opt.ignore_index) {
          zero_row<kStream>(d, classes);
        } else {
          row_grad<kStream>(logits + r * classes, d, classes, t, lse[r], g, eps);
        }
      }
      if constexpr (kStream) cpu::stream_fence();
    }
  };
  if (stream) {
    run(std::true_type{});
  } else {
    run(std::false_type{});
  }
}

}  // namespace attn::kernels
