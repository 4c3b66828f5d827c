// BCE-with-logits and MSE on the CPU: one vectorised pass per direction, chunks across the threads, reductions
// summed per chunk in double and joined in chunk order (the same bits on any thread count).
// BCE needs log(1 + t) for t = exp(-|x|) in (0, 1]; with s = t / (2 + t) in [0, 1/3], log(1 + t) = 2 atanh(s),
// an odd series in s that converges fast there and, unlike log(1 + t) formed from the rounded 1 + t, keeps full
// relative precision as t -> 0 (logits far from 0).
#include "attn/kernels/losses.h"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

inline Vec load(const float* p, int cnt) { return cnt == kLanes ? Vec::load(p) : Vec::load_partial(p, cnt); }
inline void store(Vec v, float* p, int cnt) {
  if (cnt == kLanes) {
    v.store(p);
  } else {
    v.store_partial(p, cnt);
  }
}
// Lanes [cnt, kLanes) set to 0, so a partial vector adds nothing to a sum.
inline Vec keep_lanes(Vec v, int cnt) {
  if (cnt == kLanes) return v;
  alignas(64) float a[kLanes];
  v.store(a);
  return Vec::load_partial(a, cnt);
}

// log(1 + t) for t in [0, 1]: 2 s (1 + z/3 + z^2/5 + ... + z^6/13), s = t / (2 + t), z = s^2 <= 1/9; the first
// omitted term, z^7/15, is below 1.5e-8 relative.
inline Vec log1p_unit(Vec t) {
  const Vec s = t / (Vec::set1(2.0f) + t);
  const Vec z = s * s;
  Vec p = Vec::set1(1.0f / 13.0f);
  p = fma(p, z, Vec::set1(1.0f / 11.0f));
  p = fma(p, z, Vec::set1(1.0f / 9.0f));
  p = fma(p, z, Vec::set1(1.0f / 7.0f));
  p = fma(p, z, Vec::set1(1.0f / 5.0f));
  p = fma(p, z, Vec::set1(1.0f / 3.0f));
  p = fma(p, z, Vec::set1(1.0f));
  return (s + s) * p;
}

// f(i, cnt, pw) over elements [begin, end) of a [rows, cols] array in vectors of cnt lanes, pw holding the
// pos_weight of those elements (1 without one). A vector never crosses a row when pos_weight varies per column.
template <class F>
void sweep(int64_t begin, int64_t end, const float* pos_weight, int64_t cols, F&& f) {
  auto run = [&](int64_t b, int64_t e, auto&& weight_at) {
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) f(i, kLanes, weight_at(i, kLanes));
    if (i < e) f(i, static_cast<int>(e - i), weight_at(i, static_cast<int>(e - i)));
  };
  if (pos_weight == nullptr || cols == 1) {
    const Vec w = Vec::set1(pos_weight == nullptr ? 1.0f : pos_weight[0]);
    run(begin, end, [&](int64_t, int) { return w; });
    return;
  }
  for (int64_t i = begin; i < end;) {
    const int64_t col = i % cols, stop = std::min(end, i + cols - col);
    run(i, stop, [&](int64_t j, int cnt) { return load(pos_weight + col + (j - i), cnt); });
    i = stop;
  }
}

// A sum of vectors in float for a few vectors at a time, then in double.
class Sum {
 public:
  void add(Vec v) {
    acc_ = acc_ + v;
    if (++pending_ == kFlush) flush();
  }
  double total() {
    flush();
    return total_;
  }

 private:
  static constexpr int kFlush = 64;
  void flush() {
    total_ += acc_.reduce_add();
    acc_ = Vec::zero();
    pending_ = 0;
  }
  Vec acc_ = Vec::zero();
  int pending_ = 0;
  double total_ = 0.0;
};

void check_args(const char* op, int64_t rows, int64_t cols, std::initializer_list<const void*> ptrs) {
  int64_t n = 0;
  ATTN_CHECK(rows >= 1 && cols >= 1 && !__builtin_mul_overflow(rows, cols, &n),
             "{}: shape [{}, {}] must have rows >= 1 and cols >= 1", op, rows, cols);
  for (const void* p : ptrs) ATTN_CHECK(p != nullptr, "{}: null pointer for shape [{}, {}]", op, rows, cols);
}
void check_args(const char* op, int64_t n, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(n >= 1, "{}: {} elements (need at least 1)", op, n);
  for (const void* p : ptrs) ATTN_CHECK(p != nullptr, "{}: null pointer for {} elements", op, n);
}

// Elementwise loss l(i, cnt, pw) -> Vec, reduced or written out.
template <class Loss>
void reduce_loss(int64_t n, const float* pos_weight, int64_t cols, Reduction reduction, float* out, Loss&& loss) {
  if (reduction == Reduction::kNone) {
    cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      sweep(begin, end, pos_weight, cols, [&](int64_t i, int cnt, Vec pw) { store(loss(i, cnt, pw), out + i, cnt); });
    });
    return;
  }
  std::vector<double> partial(static_cast<size_t>(cpu::make_chunks(n, 1).count), 0.0);
  cpu::parallel_chunks(n, 1, [&](int64_t chunk, int64_t begin, int64_t end) {
    Sum sum;
    sweep(begin, end, pos_weight, cols,
          [&](int64_t i, int cnt, Vec pw) { sum.add(keep_lanes(loss(i, cnt, pw), cnt)); });
    partial[static_cast<size_t>(chunk)] = sum.total();
  });
  double total = 0.0;
  for (double p : partial) total += p;
  out[0] = static_cast<float>(reduction == Reduction::kMean ? total / double(n) : total);
}

// The upstream gradient of element i: dloss[i], or the scalar one spread over the reduction.
inline Vec upstream(const float* dloss, Reduction reduction, float scalar, int64_t i, int cnt) {
  return reduction == Reduction::kNone ? load(dloss + i, cnt) : Vec::set1(scalar);
}
inline float scalar_upstream(const float* dloss, Reduction reduction, int64_t n) {
  if (reduction == Reduction::kNone) return 0.0f;
  return reduction == Reduction::kMean ? static_cast<float>(double(dloss[0]) / double(n)) : dloss[0];
}

}  // namespace

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::kNone:
      return "none";
    case Reduction::kMean:
      return "mean";
    case Reduction::kSum:
      return "sum";
  }
  return "unknown";
}

// ---- Binary cross-entropy with logits ------------------------------------------------------------------------
// forward  l  = (1 - y) x + w sp,  sp = softplus(-x) = max(-x, 0) + log1p(e^-|x|),  w = 1 + (pw - 1) y
//             = max(x, 0) - x y + log1p(e^-|x|) + (pw - 1) y sp   (no cancellation when the loss is tiny)
// backward dx = (1 - y) sigmoid(x) - pw y sigmoid(-x)   (= sigmoid(x) - y at pw = 1, without its cancellation)
//          dy = -x + (pw - 1) sp

void bce_with_logits_forward(const float* x, const float* y, const float* pos_weight, int64_t rows, int64_t cols,
                             Reduction reduction, float* loss) {
  check_args("bce_with_logits_forward", rows, cols, {x, y, loss});
  const Vec one = Vec::set1(1.0f);
  reduce_loss(rows * cols, pos_weight, cols, reduction, loss, [&](int64_t i, int cnt, Vec pw) {
    const Vec xv = load(x + i, cnt), yv = load(y + i, cnt);
    const Vec l1p = log1p_unit(cpu::exp_no_overflow(Vec::zero() - cpu::abs(xv)));
    const Vec base = fnma(xv, yv, max(xv, Vec::zero())) + l1p;
    const Vec sp = max(Vec::zero() - xv, Vec::zero()) + l1p;
    return fma((pw - one) * yv, sp, base);
  });
}

void bce_with_logits_backward(const float* x, const float* y, const float* pos_weight, int64_t rows, int64_t cols,
                              Reduction reduction, const float* dloss, float* dx, float* dy) {
  check_args("bce_with_logits_backward", rows, cols, {x, y, dloss});
  const int64_t n = rows * cols;
  const float g0 = scalar_upstream(dloss, reduction, n);
  const Vec one = Vec::set1(1.0f);
  cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    sweep(begin, end, pos_weight, cols, [&](int64_t i, int cnt, Vec pw) {
      const Vec xv = load(x + i, cnt), yv = load(y + i, cnt), g = upstream(dloss, reduction, g0, i, cnt);
      const Vec e = cpu::exp_no_overflow(Vec::zero() - cpu::abs(xv));  // e^-|x| in (0, 1]: no overflow either side
      if (dx) {
        const Vec r = one / (one + e), er = e * r;                        // sigmoid(|x|), sigmoid(-|x|)
        const Vec sig_pos = cpu::select_greater(xv, Vec::zero(), r, er);  // sigmoid(x)
        const Vec sig_neg = cpu::select_greater(xv, Vec::zero(), er, r);  // sigmoid(-x)
        store(g * fnma(pw * yv, sig_neg, (one - yv) * sig_pos), dx + i, cnt);
      }
      if (dy) {
        const Vec sp = max(Vec::zero() - xv, Vec::zero()) + log1p_unit(e);
        store(g * fma(pw - one, sp, Vec::zero() - xv), dy + i, cnt);
      }
    });
  });
}

// ---- Mean squared error --------------------------------------------------------------------------------------
// forward  l = (x - y)^2;  backward dx = 2 (x - y), dy = -dx

void mse_forward(const float* x, const float* y, int64_t n, Reduction reduction, float* loss) {
  check_args("mse_forward", n, {x, y, loss});
  reduce_loss(n, nullptr, n, reduction, loss, [&](int64_t i, int cnt, Vec) {
    const Vec d = load(x + i, cnt) - load(y + i, cnt);
    return d * d;
  });
}

void mse_backward(const float* x, const float* y, int64_t n, Reduction reduction, const float* dloss, float* dx,
                  float* dy) {
  check_args("mse_backward", n, {x, y, dloss});
  const float g0 = scalar_upstream(dloss, reduction, n);
  cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    sweep(begin, end, nullptr, n, [&](int64_t i, int cnt, Vec) {
      const Vec g = upstream(dloss, reduction, g0, i, cnt);
      const Vec d = (load(x + i, cnt) - load(y + i, cnt)) * g;
      if (dx) store(d + d, dx + i, cnt);
      if (dy) store(Vec::zero() - (d + d), dy + i, cnt);
    });
  });
}

}  // namespace attn::kernels
