// Layer norm, one row at a time (a row of a few thousand floats stays in L1 across the passes).
//   forward:  mean = sum(x) / n;  var = sum((x - mean)^2) / n (two passes: no cancellation);  y = ...
//   backward: g = dy * gamma;  dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
#include "attn/kernels/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;
using cpu::load_n;
using cpu::store_n;

// f(i, cnt) for each vector step of a row of n floats; cnt < kLanes only for the last.
template <class F>
inline void for_each_vec(int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) f(i, kLanes);
  if (i < n) f(i, static_cast<int>(n - i));
}

void check_args(const char* op, int64_t rows, int64_t n, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(rows >= 1 && n >= 1, "{}: [rows, n] = [{}, {}] must both be >= 1", op, rows, n);
  int64_t total = 0;
  ATTN_CHECK(!__builtin_mul_overflow(rows, n, &total), "{}: [rows, n] = [{}, {}] overflows int64", op, rows, n);
  for (const void* p : ptrs) ATTN_CHECK(p != nullptr, "{}: null pointer for [rows, n] = [{}, {}]", op, rows, n);
}

}  // namespace

void layer_norm_forward(int64_t rows, int64_t n, const float* x, const float* gamma, const float* beta, float eps,
                        float* y, float* mean, float* rstd) {
  check_args("layer_norm_forward", rows, n, {x, y});
  ATTN_CHECK(eps >= 0.0f, "layer_norm_forward: eps = {} must be >= 0 ([rows, n] = [{}, {}])", eps, rows, n);
  const Vec one = Vec::set1(1.0f);
  cpu::parallel_for(rows, n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      // Sums run over x - x[0]: a row far from 0 (all values near 1000, say) would otherwise lose its digits in
      // the float sum, and x - x[0] is exact for values within a factor of 2 of each other.
      const Vec x0 = Vec::set1(xr[0]);
      Vec acc = Vec::zero();
      for_each_vec(n, [&](int64_t i, int cnt) { acc = acc + (load_n(xr + i, cnt, xr[0]) - x0); });
      const float shift = acc.reduce_add() / static_cast<float>(n);  // mean - x[0]
      const Vec vshift = Vec::set1(shift);
      acc = Vec::zero();
      for_each_vec(n, [&](int64_t i, int cnt) {
        const Vec d = (load_n(xr + i, cnt, xr[0] + shift) - x0) - vshift;  // missing lanes: 0 up to a rounding
        acc = cpu::fma(d, d, acc);
      });
      const float var = acc.reduce_add() / static_cast<float>(n);
      const float mu = xr[0] + shift, rs = 1.0f / std::sqrt(var + eps);
      const Vec vrs = Vec::set1(rs);
      for_each_vec(n, [&](int64_t i, int cnt) {
        const Vec xhat = ((load_n(xr + i, cnt) - x0) - vshift) * vrs;
        const Vec g = gamma ? load_n(gamma + i, cnt) : one;
        const Vec b = beta ? load_n(beta + i, cnt) : Vec::zero();
        store_n(yr + i, cpu::fma(xhat, g, b), cnt);
      });
      if (mean) mean[r] = mu;
      if (rstd) rstd[r] = rs;
    }
  });
}

void layer_norm_backward(int64_t rows, int64_t n, const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta) {
  check_args("layer_norm_backward", rows, n, {x, mean, rstd, dy, dx});
  const cpu::Chunks chunks = cpu::make_chunks(rows, n);
  // Per-chunk partial sums [chunks, n] of dgamma and dbeta; with one chunk, the outputs themselves.
  const bool split = chunks.count > 1;
  std::vector<float> partial_g(split && dgamma ? static_cast<size_t>(chunks.count * n) : 0);
  std::vector<float> partial_b(split && dbeta ? static_cast<size_t>(chunks.count * n) : 0);
  if (!split && dgamma) std::fill(dgamma, dgamma + n, 0.0f);
  if (!split && dbeta) std::fill(dbeta, dbeta + n, 0.0f);
  const float inv_n = 1.0f / static_cast<float>(n);

  cpu::parallel_chunks(rows, n, [&](int64_t c, int64_t r0, int64_t r1) {
    float* pg = dgamma ? (split ? partial_g.data() + c * n : dgamma) : nullptr;
    float* pb = dbeta ? (split ? partial_b.data() + c * n : dbeta) : nullptr;
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      const float* dyr = dy + r * n;
      float* dxr = dx + r * n;
      const Vec vmu = Vec::set1(mean[r]), vrs = Vec::set1(rstd[r]);
      Vec sum_g = Vec::zero(), sum_gx = Vec::zero();
      for_each_vec(n, [&](int64_t i, int cnt) {
        const Vec xhat = (load_n(xr + i, cnt) - vmu) * vrs;
        const Vec d = load_n(dyr + i, cnt);
        const Vec g = gamma ? d * load_n(gamma + i, cnt) : d;
        sum_g = sum_g + g;
        sum_gx = cpu::fma(g, xhat, sum_gx);
        if (pg) store_n(pg + i, cpu::fma(d, xhat, load_n(pg + i, cnt)), cnt);
        if (pb) store_n(pb + i, d + load_n(pb + i, cnt), cnt);
      });
      const Vec mg = Vec::set1(sum_g.reduce_add() * inv_n), mgx = Vec::set1(sum_gx.reduce_add() * inv_n);
      for_each_vec(n, [&](int64_t i, int cnt) {
        const Vec xhat = (load_n(xr + i, cnt) - vmu) * vrs;
        const Vec d = load_n(dyr + i, cnt);
        const Vec g = gamma ? d * load_n(gamma + i, cnt) : d;
        store_n(dxr + i, vrs * cpu::fnma(xhat, mgx, g - mg), cnt);
      });
    }
  });
  if (!split) return;
  // Column sums of the partials, added chunk by chunk in order.
  auto column_sums = [&](const std::vector<float>& partial, float* out) {
    cpu::parallel_for(n, chunks.count, [&](int64_t j0, int64_t j1) {
      std::copy(partial.data() + j0, partial.data() + j1, out + j0);
      for (int64_t c = 1; c < chunks.count; ++c) {
        const float* p = partial.data() + c * n;
        for (int64_t j = j0; j < j1; ++j) out[j] += p[j];
      }
    });
  };
  if (dgamma) column_sums(partial_g, dgamma);
  if (dbeta) column_sums(partial_b, dbeta);
}

}  // namespace attn::kernels
