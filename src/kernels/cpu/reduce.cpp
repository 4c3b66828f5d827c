// Reductions over the middle axis of [outer, n, inner].
//   inner == 1: one contiguous row per output, summed with four vector accumulators.
//   inner > 1:  whole rows in memory order, added into double accumulators per column (see column_sums).
// Max keeps, per lane, the running maximum and the index where it was first reached.
#include "attn/kernels/reduce.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

// A contiguous row is summed in float over blocks of kBlock values (kBlock / (4 kLanes) per lane) that then
// join a double total.
constexpr int64_t kBlock = 1024;
constexpr int64_t kSumColumns = 2048;  // columns per work item when inner > 1
constexpr int64_t kExactIndex = 1 << 24;    // indices carried in float lanes are exact below this
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_args(const char* op, int64_t outer, int64_t n, int64_t inner, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(outer > 0 && n > 0 && inner > 0, "{}: [outer, n, inner] = [{}, {}, {}] must all be >= 1", op, outer, n,
             inner);
  int64_t total = 0;
  ATTN_CHECK(!__builtin_mul_overflow(outer, n, &total) && !__builtin_mul_overflow(total, inner, &total),
             "{}: [outer, n, inner] = [{}, {}, {}] overflows int64", op, outer, n, inner);
  for (const void* p : ptrs) {
    ATTN_CHECK(p != nullptr, "{}: null pointer for [outer, n, inner] = [{}, {}, {}]", op, outer, n, inner);
  }
}

inline Vec load(const float* p, int cnt, float fill = 0.0f) {
  return cnt >= kLanes ? Vec::load(p) : Vec::load_partial(p, cnt, fill);
}

double contiguous_sum(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    Vec a0 = Vec::zero(), a1 = Vec::zero(), a2 = Vec::zero(), a3 = Vec::zero();
    int64_t i = b;
    for (; i + 4 * kLanes <= e; i += 4 * kLanes) {
      a0 = a0 + Vec::load(x + i);
      a1 = a1 + Vec::load(x + i + kLanes);
      a2 = a2 + Vec::load(x + i + 2 * kLanes);
      a3 = a3 + Vec::load(x + i + 3 * kLanes);
    }
    for (; i < e; i += kLanes) a0 = a0 + load(x + i, static_cast<int>(e - i));
    total += ((a0 + a1) + (a2 + a3)).reduce_add();
  }
  return total;
}

// inner > 1: out[o, j] = scale * sum_i x[o, i, j]. Rows are read in memory order: items of up to kSumRows rows
// x kSumColumns columns add into double accumulators (vectorised by the compiler, and exact enough for any n),
// and with several row chunks the per-chunk totals are added in chunk order.
void column_sums(int64_t outer, int64_t n, int64_t inner, const float* x, double scale, float* out) {
  const int64_t width = std::min(inner, kSumColumns), blocks = (inner + width - 1) / width;
  const int64_t rows = std::max<int64_t>(64, cpu::kChunkWork / width), chunks = (n + rows - 1) / rows;
  std::vector<double> partial(chunks > 1 ? static_cast<size_t>(outer * chunks * inner) : 0);
  cpu::parallel_for(outer * chunks * blocks, rows * width, [&](int64_t b, int64_t e) {
    double acc[kSumColumns];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / (chunks * blocks), c = item / blocks % chunks, j0 = item % blocks * width;
      const int64_t w = std::min(width, inner - j0), i0 = c * rows, i1 = std::min(n, i0 + rows);
      std::fill(acc, acc + w, 0.0);
      for (int64_t i = i0; i < i1; ++i) {
        const float* src = x + (o * n + i) * inner + j0;
        for (int64_t j = 0; j < w; ++j) acc[j] += src[j];
      }
      if (chunks > 1) {
        std::copy(acc, acc + w, partial.data() + (o * chunks + c) * inner + j0);
      } else {
        for (int64_t j = 0; j < w; ++j) out[o * inner + j0 + j] = static_cast<float>(acc[j] * scale);
      }
    }
  });
  if (chunks == 1) return;
  cpu::parallel_for(outer, chunks * inner, [&](int64_t b, int64_t e) {
    std::vector<double> total(static_cast<size_t>(inner));
    for (int64_t o = b; o < e; ++o) {
      std::fill(total.begin(), total.end(), 0.0);
      for (int64_t c = 0; c < chunks; ++c) {
        const double* p = partial.data() + (o * chunks + c) * inner;
        for (int64_t j = 0; j < inner; ++j) total[j] += p[j];
      }
      for (int64_t j = 0; j < inner; ++j) out[o * inner + j] = static_cast<float>(total[j] * scale);
    }
  });
}

void sum_impl(int64_t outer, int64_t n, int64_t inner, const float* x, double scale, float* out) {
  if (inner == 1 && outer == 1) {
    // One long row: split it into size-determined chunks, then add the chunk totals in order.
    std::vector<double> partial(static_cast<size_t>(cpu::make_chunks(n, 1).count));
    cpu::parallel_chunks(n, 1, [&](int64_t c, int64_t b, int64_t e) { partial[c] = contiguous_sum(x + b, e - b); });
    double total = 0.0;
    for (double p : partial) total += p;
    out[0] = static_cast<float>(total * scale);
  } else if (inner == 1) {
    cpu::parallel_for(outer, n, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = static_cast<float>(contiguous_sum(x + o * n, n) * scale);
    });
  } else {
    column_sums(outer, n, inner, x, scale, out);
  }
}

// dx[o, i, :] = scale * dout[o, :].
void broadcast_middle(int64_t outer, int64_t n, int64_t inner, const float* dout, float scale, float* dx) {
  if (inner == 1) {
    cpu::parallel_for(outer, n, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) std::fill(dx + o * n, dx + (o + 1) * n, dout[o] * scale);
    });
  } else {
    cpu::parallel_for(outer * n, inner, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const float* src = dout + (r / n) * inner;
        float* dst = dx + r * inner;
        for (int64_t j = 0; j < inner; ++j) dst[j] = src[j] * scale;
      }
    });
  }
}

// Max of x[i * stride], i < n, PyTorch's way: the first NaN wins, else the first of equal maxima.
void max_scalar(const float* x, int64_t n, int64_t stride, float* out, int64_t* idx) {
  float m = x[0];
  int64_t k = 0;
  for (int64_t i = 1; i < n && !std::isnan(m); ++i) {
    const float v = x[i * stride];
    if (v > m || std::isnan(v)) m = v, k = i;
  }
  *out = m;
  if (idx) *idx = k;
}

// x * 0 is NaN exactly for NaN and +-inf; such rows take the scalar path, which orders them correctly.
inline Vec flag_non_finite(Vec v, Vec flags) { return cpu::fma(v, Vec::zero(), flags); }

// One contiguous row: each lane keeps its own maximum and the first index reaching it (strict >), then the lanes
// are merged preferring the smaller index on ties, and the last partial vector is handled by scalar compares.
void max_row(const float* x, int64_t n, float* out, int64_t* idx) {
  const int64_t body = n / kLanes * kLanes;
  if (n >= kExactIndex || body == 0) return max_scalar(x, n, 1, out, idx);
  alignas(64) float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = static_cast<float>(l);
  Vec pos = Vec::load(lane), best = Vec::set1(kNegInf), where = pos, flags = Vec::zero();
  const Vec step = Vec::set1(static_cast<float>(kLanes));
  for (int64_t i = 0; i < body; i += kLanes) {
    const Vec v = Vec::load(x + i);
    flags = flag_non_finite(v, flags);
    where = cpu::select_greater(v, best, pos, where);
    best = cpu::max(v, best);
    pos = pos + step;
  }
  if (std::isnan(flags.reduce_add())) return max_scalar(x, n, 1, out, idx);
  alignas(64) float bv[kLanes], bi[kLanes];
  best.store(bv);
  where.store(bi);
  float m = bv[0], k = bi[0];
  for (int l = 1; l < kLanes; ++l) {
    if (bv[l] > m || (bv[l] == m && bi[l] < k)) m = bv[l], k = bi[l];
  }
  int64_t ki = static_cast<int64_t>(k);
  for (int64_t i = body; i < n; ++i) {
    if (x[i] > m || std::isnan(x[i])) {
      m = x[i], ki = i;
      if (std::isnan(m)) break;
    }
  }
  *out = m;
  if (idx) *idx = ki;
}

// Up to kLanes adjacent columns j of x[i * stride + j], i < n.
void max_columns(const float* x, int64_t n, int64_t stride, int width, float* out, int64_t* idx) {
  Vec best = load(x, width), where = Vec::zero(), pos = Vec::zero(), flags = flag_non_finite(best, Vec::zero());
  const Vec one = Vec::set1(1.0f);
  if (n < kExactIndex) {
    for (int64_t i = 1; i < n; ++i) {
      const Vec v = load(x + i * stride, width);
      pos = pos + one;
      flags = flag_non_finite(v, flags);
      where = cpu::select_greater(v, best, pos, where);
      best = cpu::max(v, best);
    }
  }
  if (n >= kExactIndex || std::isnan(flags.reduce_add())) {
    for (int j = 0; j < width; ++j) max_scalar(x + j, n, stride, out + j, idx ? idx + j : nullptr);
    return;
  }
  alignas(64) float bv[kLanes], bi[kLanes];
  best.store(bv);
  where.store(bi);
  for (int j = 0; j < width; ++j) {
    out[j] = bv[j];
    if (idx) idx[j] = static_cast<int64_t>(bi[j]);
  }
}

}  // namespace

void reduce_sum(int64_t outer, int64_t n, int64_t inner, const float* x, float* out) {
  check_args("reduce_sum", outer, n, inner, {x, out});
  sum_impl(outer, n, inner, x, 1.0, out);
}

void reduce_mean(int64_t outer, int64_t n, int64_t inner, const float* x, float* out) {
  check_args("reduce_mean", outer, n, inner, {x, out});
  sum_impl(outer, n, inner, x, 1.0 / static_cast<double>(n), out);
}

void reduce_sum_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, float* dx) {
  check_args("reduce_sum_backward", outer, n, inner, {dout, dx});
  broadcast_middle(outer, n, inner, dout, 1.0f, dx);
}

void reduce_mean_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, float* dx) {
  check_args("reduce_mean_backward", outer, n, inner, {dout, dx});
  broadcast_middle(outer, n, inner, dout, static_cast<float>(1.0 / static_cast<double>(n)), dx);
}

void reduce_max(int64_t outer, int64_t n, int64_t inner, const float* x, float* out, int64_t* argmax) {
  check_args("reduce_max", outer, n, inner, {x, out});
  if (inner == 1) {
    cpu::parallel_for(outer, n, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) max_row(x + o * n, n, out + o, argmax ? argmax + o : nullptr);
    });
    return;
  }
  const int64_t blocks = (inner + kLanes - 1) / kLanes;
  cpu::parallel_for(outer * blocks, n * kLanes, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, j = (item % blocks) * kLanes;
      max_columns(x + o * n * inner + j, n, inner, static_cast<int>(std::min<int64_t>(kLanes, inner - j)),
                  out + o * inner + j, argmax ? argmax + o * inner + j : nullptr);
    }
  });
}

void reduce_max_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, const int64_t* argmax,
                         float* dx) {
  check_args("reduce_max_backward", outer, n, inner, {dout, argmax, dx});
  for (int64_t i = 0; i < outer * inner; ++i) {
    ATTN_CHECK(argmax[i] >= 0 && argmax[i] < n,
               "reduce_max_backward: argmax {} at position {} is outside [0, {}) for [outer, n, inner] = [{}, {}, {}]",
               argmax[i], i, n, outer, n, inner);
  }
  cpu::parallel_for(outer, n * inner, [&](int64_t b, int64_t e) {
    std::fill(dx + b * n * inner, dx + e * n * inner, 0.0f);
    for (int64_t o = b; o < e; ++o) {
      for (int64_t j = 0; j < inner; ++j) dx[(o * n + argmax[o * inner + j]) * inner + j] = dout[o * inner + j];
    }
  });
}

float sum_all(int64_t n, const float* x) {
  check_args("sum_all", 1, n, 1, {x});
  float out = 0.0f;
  sum_impl(1, n, 1, x, 1.0, &out);
  return out;
}

void sum_all_backward(int64_t n, float dout, float* dx) {
  check_args("sum_all_backward", 1, n, 1, {dx});
  cpu::parallel_for(n, 1, [&](int64_t b, int64_t e) { std::fill(dx + b, dx + e, dout); });
}

}  // namespace attn::kernels
