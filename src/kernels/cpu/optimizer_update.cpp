// Optimizer updates on the CPU: each is one vectorised sweep over the parameter, its gradient and its state,
// split into chunks across the threads for large parameters (an embedding table) and kept on the calling thread
// for small ones. The arithmetic follows PyTorch's op order (mul_ then add_ with alpha as an FMA, addcdiv as
// p + (value * m) / denom) and its scalars (bias corrections, step size) are formed in double as Python forms
// them, so results agree with PyTorch's to a few ulps.
#include "attn/kernels/optimizer_update.h"

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

inline Vec vsqrt(Vec x) {
#if defined(__AVX512F__)
  return _mm512_sqrt_ps(x.v);
#else
  return _mm256_sqrt_ps(x.v);
#endif
}

// f(i, cnt) over [begin, end) in vectors of cnt <= kLanes lanes; f loads and stores with the count it is given.
template <class F>
inline void sweep(int64_t begin, int64_t end, F&& f) {
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) f(i, kLanes);
  if (i < end) f(i, static_cast<int>(end - i));
}

inline Vec load(const float* p, int cnt) { return cnt == kLanes ? Vec::load(p) : Vec::load_partial(p, cnt); }
inline void store(Vec v, float* p, int cnt) {
  if (cnt == kLanes) {
    v.store(p);
  } else {
    v.store_partial(p, cnt);
  }
}

void check_update(const char* op, int64_t n, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(n >= 0, "{}: negative size {}", op, n);
  if (n == 0) return;
  for (const void* p : ptrs) ATTN_CHECK(p != nullptr, "{}: null pointer for a parameter of {} elements", op, n);
}

// Floats per block summed in float before joining a double total.
constexpr int64_t kNormBlock = 1024;

template <class Term>
double blocked_sum(const float* x, int64_t begin, int64_t end, Term term) {
  double total = 0.0;
  for (int64_t b = begin; b < end; b += kNormBlock) {
    const int64_t e = std::min(end, b + kNormBlock);
    Vec a0 = Vec::zero(), a1 = Vec::zero();
    int64_t i = b;
    for (; i + 2 * kLanes <= e; i += 2 * kLanes) {
      a0 = term(Vec::load(x + i), a0);
      a1 = term(Vec::load(x + i + kLanes), a1);
    }
    for (; i < e; i += kLanes) a0 = term(load(x + i, static_cast<int>(std::min<int64_t>(kLanes, e - i))), a0);
    total += (a0 + a1).reduce_add();
  }
  return total;
}

// max |x| over [begin, end); NaN if any x is NaN (a vector max drops NaNs, so a non-finite sum sends us to a scan).
double chunk_max_abs(const float* x, int64_t begin, int64_t end) {
  Vec m = Vec::zero(), bad = Vec::zero();
  sweep(begin, end, [&](int64_t i, int cnt) {
    const Vec v = load(x + i, cnt);
    m = max(m, cpu::abs(v));
    bad = bad + (v - v);  // NaN once an inf or NaN went by
  });
  if (!std::isnan(bad.reduce_add())) return m.reduce_max();
  for (int64_t i = begin; i < end; ++i) {
    if (std::isnan(x[i])) return std::numeric_limits<double>::quiet_NaN();
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace

void sgd_update(int64_t n, float* param, const float* grad, float* momentum_buffer, const SgdStep& s, bool first) {
  const bool use_momentum = s.momentum != 0.0f;
  check_update("sgd_update", n, {param, grad, use_momentum ? momentum_buffer : param});
  const Vec wd = Vec::set1(s.weight_decay), mom = Vec::set1(s.momentum);
  const Vec keep = Vec::set1(static_cast<float>(1.0 - double(s.dampening)));
  const Vec neg_lr = Vec::set1(-s.lr);
  const Vec sign = Vec::set1(s.maximize ? -1.0f : 1.0f);
  cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    sweep(begin, end, [&](int64_t i, int cnt) {
      const Vec p = load(param + i, cnt);
      Vec d = load(grad + i, cnt) * sign;
      if (s.weight_decay != 0.0f) d = fma(p, wd, d);
      if (use_momentum) {
        Vec buf = first ? d : fma(d, keep, load(momentum_buffer + i, cnt) * mom);
        store(buf, momentum_buffer + i, cnt);
        d = s.nesterov ? fma(buf, mom, d) : buf;
      }
      store(fma(d, neg_lr, p), param + i, cnt);
    });
  });
}

void adam_update(int64_t n, float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                 const AdamStep& s) {
  check_update("adam_update", n, {param, grad, exp_avg, exp_avg_sq, s.amsgrad ? max_exp_avg_sq : param});
  ATTN_CHECK(s.step >= 1, "adam_update: step {} must be >= 1", s.step);
  const double bias1 = 1.0 - std::pow(double(s.beta1), double(s.step));
  const double bias2 = 1.0 - std::pow(double(s.beta2), double(s.step));
  const Vec neg_step_size = Vec::set1(static_cast<float>(-double(s.lr) / bias1));
  const Vec bias2_sqrt = Vec::set1(static_cast<float>(std::sqrt(bias2)));
  const Vec b1 = Vec::set1(s.beta1), b2 = Vec::set1(s.beta2);
  const Vec one_minus_b1 = Vec::set1(static_cast<float>(1.0 - double(s.beta1)));
  const Vec one_minus_b2 = Vec::set1(static_cast<float>(1.0 - double(s.beta2)));
  const Vec eps = Vec::set1(s.eps), wd = Vec::set1(s.weight_decay);
  const Vec decay = Vec::set1(static_cast<float>(1.0 - double(s.lr) * double(s.weight_decay)));
  const Vec sign = Vec::set1(s.maximize ? -1.0f : 1.0f);
  const bool l2 = s.weight_decay != 0.0f && !s.decoupled_weight_decay;
  const bool decoupled = s.weight_decay != 0.0f && s.decoupled_weight_decay;
  cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    sweep(begin, end, [&](int64_t i, int cnt) {
      Vec p = load(param + i, cnt);
      Vec g = load(grad + i, cnt) * sign;
      if (l2) g = fma(p, wd, g);
      if (decoupled) p = p * decay;
      const Vec m = fma(g, one_minus_b1, load(exp_avg + i, cnt) * b1);
      const Vec v = fma(g * g, one_minus_b2, load(exp_avg_sq + i, cnt) * b2);
      store(m, exp_avg + i, cnt);
      store(v, exp_avg_sq + i, cnt);
      Vec vhat = v;
      if (s.amsgrad) {
        vhat = max(load(max_exp_avg_sq + i, cnt), v);
        store(vhat, max_exp_avg_sq + i, cnt);
      }
      const Vec denom = vsqrt(vhat) / bias2_sqrt + eps;
      store(p + (neg_step_size * m) / denom, param + i, cnt);
    });
  });
}

double norm_power_sum(int64_t n, const float* x, double p) {
  ATTN_CHECK(n >= 0 && (n == 0 || x != nullptr), "norm_power_sum: bad array of {} elements", n);
  ATTN_CHECK(p > 0.0, "norm_power_sum: norm type {} must be > 0", p);
  if (n == 0) return 0.0;
  const bool is_max = std::isinf(p);
  std::vector<double> partial(static_cast<size_t>(cpu::make_chunks(n, 1).count), 0.0);
  cpu::parallel_chunks(n, 1, [&](int64_t chunk, int64_t begin, int64_t end) {
    double r = 0.0;
    if (is_max) {
      r = chunk_max_abs(x, begin, end);
    } else if (p == 2.0) {
      r = blocked_sum(x, begin, end, [](Vec v, Vec acc) { return fma(v, v, acc); });
    } else if (p == 1.0) {
      r = blocked_sum(x, begin, end, [](Vec v, Vec acc) { return acc + cpu::abs(v); });
    } else {
      for (int64_t i = begin; i < end; ++i) r += std::pow(std::fabs(double(x[i])), p);
    }
    partial[static_cast<size_t>(chunk)] = r;
  });
  double total = 0.0;
  for (double r : partial) {
    if (!is_max) {
      total += r;
    } else if (std::isnan(r) || r > total) {
      total = r;
      if (std::isnan(r)) break;
    }
  }
  return total;
}

}  // namespace attn::kernels
