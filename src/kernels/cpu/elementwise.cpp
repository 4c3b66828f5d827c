// Broadcasting binary ops. Both shapes are padded to the output's rank, dimensions of size 1 in the output are
// dropped, and neighbours that step the same way for both inputs are merged, so every case becomes
//   out [rows, n] = a [rows, n | 1] op b [rows, n | 1]
// with each input's innermost stride 1 or 0 (a broadcast scalar per row) and per-row offsets from the merged
// outer dims. Same shapes and scalar operands end with rows = 1 and run as flat vector loops split over the
// threads; [rows, n] op [n] runs row by row.
#include "attn/kernels/elementwise.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "attn/core/allocator.h"
#include "attn/core/error.h"
#include "attn/kernels/reduce.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

// Merged dims, outermost first, with a's and b's element strides (0 along a broadcast dim).
struct Plan {
  Shape dims, sa, sb;
};

Plan make_plan(const Shape& out, const Shape& a, const Shape& b) {
  const size_t r = out.size();
  Plan p;
  int64_t stride_a = 1, stride_b = 1;
  // Built innermost first, then reversed.
  for (size_t k = 0; k < r; ++k) {
    const size_t d = r - 1 - k;
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1, db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (out[d] != 1) {
      const int64_t sa = da == 1 ? 0 : stride_a, sb = db == 1 ? 0 : stride_b;
      if (!p.dims.empty() && sa == p.sa.back() * p.dims.back() && sb == p.sb.back() * p.dims.back()) {
        p.dims.back() *= out[d];
      } else {
        p.dims.push_back(out[d]);
        p.sa.push_back(sa);
        p.sb.push_back(sb);
      }
    }
    stride_a *= da;
    stride_b *= db;
  }
  if (p.dims.empty()) p = Plan{{1}, {1}, {1}};  // all ones: a single element
  std::reverse(p.dims.begin(), p.dims.end());
  std::reverse(p.sa.begin(), p.sa.end());
  std::reverse(p.sb.begin(), p.sb.end());
  return p;
}

// Walks the outer (all but the last) merged dims of a plan from a starting row, tracking a's and b's offsets.
struct RowCursor {
  const Plan& p;
  Shape idx;
  int64_t off_a = 0, off_b = 0;
  RowCursor(const Plan& plan, int64_t row) : p(plan), idx(plan.dims.size() - 1) {
    for (int64_t d = static_cast<int64_t>(idx.size()) - 1; d >= 0; --d) {
      idx[d] = row % p.dims[d];
      row /= p.dims[d];
      off_a += idx[d] * p.sa[d];
      off_b += idx[d] * p.sb[d];
    }
  }
  void next() {
    for (int64_t d = static_cast<int64_t>(idx.size()) - 1; d >= 0; --d) {
      off_a += p.sa[d];
      off_b += p.sb[d];
      if (++idx[d] < p.dims[d]) return;
      off_a -= idx[d] * p.sa[d];
      off_b -= idx[d] * p.sb[d];
      idx[d] = 0;
    }
  }
};

// out[i] = f(a[i or 0], b[i or 0]) for i < n; kScalarA / kScalarB: that input is one value for the whole row.
template <bool kScalarA, bool kScalarB, class F>
void row_op(int64_t n, const float* a, const float* b, float* out, F f) {
  const Vec va = Vec::set1(a[0]), vb = Vec::set1(b[0]);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    f(kScalarA ? va : Vec::load(a + i), kScalarB ? vb : Vec::load(b + i)).store(out + i);
  }
  if (i < n) {
    const int m = static_cast<int>(n - i);
    f(kScalarA ? va : Vec::load_partial(a + i, m), kScalarB ? vb : Vec::load_partial(b + i, m)).store_partial(out + i, m);
  }
}

template <class F>
void run_plan(const Plan& p, const float* a, const float* b, float* out, F f) {
  const int64_t n = p.dims.back();
  const bool scalar_a = p.sa.back() == 0, scalar_b = p.sb.back() == 0;
  auto row = [&](const float* ra, const float* rb, float* ro, int64_t len) {
    if (scalar_a) {
      row_op<true, false>(len, ra, rb, ro, f);
    } else if (scalar_b) {
      row_op<false, true>(len, ra, rb, ro, f);
    } else {
      row_op<false, false>(len, ra, rb, ro, f);
    }
  };
  if (p.dims.size() == 1) {  // one flat row: split it across threads
    cpu::parallel_for(n, 1, [&](int64_t b0, int64_t e0) {
      row(scalar_a ? a : a + b0, scalar_b ? b : b + b0, out + b0, e0 - b0);
    });
    return;
  }
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < p.dims.size(); ++d) rows *= p.dims[d];
  cpu::parallel_for(rows, n, [&](int64_t r0, int64_t r1) {
    RowCursor cur(p, r0);
    for (int64_t r = r0; r < r1; ++r, cur.next()) row(a + cur.off_a, b + cur.off_b, out + r * n, n);
  });
}

template <class G>
void with_op(BinaryOp op, G&& g) {
  switch (op) {
    case BinaryOp::kAdd: return g([](auto x, auto y) { return x + y; });
    case BinaryOp::kSub: return g([](auto x, auto y) { return x - y; });
    case BinaryOp::kMul: return g([](auto x, auto y) { return x * y; });
    case BinaryOp::kDiv: return g([](auto x, auto y) { return x / y; });
  }
}

void check_shape(const char* op, const char* what, const Shape& s) {
  for (int64_t d : s) {
    ATTN_CHECK(d >= 1, "{}: {} shape {} has a dimension < 1 (empty arrays are not supported)", op, what, shape_str(s));
  }
}

void check_ptr(const char* op, const void* p, const char* what, const Shape& a, const Shape& b) {
  ATTN_CHECK(p != nullptr, "{}: {} is null (shapes {} and {})", op, what, shape_str(a), shape_str(b));
}

// Scratch of n floats from the recycling allocator.
struct Scratch {
  float* p;
  size_t bytes;
  explicit Scratch(int64_t n)
      : p(static_cast<float*>(allocate(static_cast<size_t>(n) * sizeof(float)))), bytes(static_cast<size_t>(n) * 4) {}
  ~Scratch() { deallocate(p, bytes); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// reduce_to_shape without argument checks; out may be the scratch of a previous pass but never grad.
void reduce_unchecked(const float* grad, const Shape& grad_shape, float* out, const Shape& shape) {
  Plan p = make_plan(grad_shape, shape, grad_shape);
  // Merged dims alternate between kept (stride != 0) and summed (stride 0) runs. Sum the innermost summed run
  // away with reduce_sum over [outer, n, inner], then repeat on the smaller array.
  std::unique_ptr<Scratch> keep;
  const float* src = grad;
  while (true) {
    int64_t k = static_cast<int64_t>(p.dims.size()) - 1;
    while (k >= 0 && p.sa[k] != 0) --k;
    if (k < 0) break;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < k; ++d) outer *= p.dims[d];
    for (size_t d = k + 1; d < p.dims.size(); ++d) inner *= p.dims[d];
    bool last = true;
    for (int64_t d = 0; d < k; ++d) last = last && p.sa[d] != 0;
    std::unique_ptr<Scratch> next;
    float* dst = out;
    if (!last) {
      next = std::make_unique<Scratch>(outer * inner);
      dst = next->p;
    }
    reduce_sum(outer, p.dims[k], inner, src, dst);
    src = dst;
    keep = std::move(next);
    p.dims.erase(p.dims.begin() + k);
    p.sa.erase(p.sa.begin() + k);
    if (last) return;
  }
  if (src != out) std::memcpy(out, src, static_cast<size_t>(shape_numel(shape)) * sizeof(float));
}

}  // namespace

const char* binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "add";
    case BinaryOp::kSub: return "sub";
    case BinaryOp::kMul: return "mul";
    case BinaryOp::kDiv: return "div";
  }
  return "binary";
}

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  check_shape(op, "first", a);
  check_shape(op, "second", b);
  Shape out(std::max(a.size(), b.size()));
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1, db = k < b.size() ? b[b.size() - 1 - k] : 1;
    ATTN_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast (dimension {} from the right: {} vs {})",
               op, shape_str(a), shape_str(b), k, da, db);
    out[out.size() - 1 - k] = std::max(da, db);
  }
  return out;
}

void binary(BinaryOp op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out) {
  const char* name = binary_op_name(op);
  const Shape out_shape = broadcast_shape(name, a_shape, b_shape);
  check_ptr(name, a, "a", a_shape, b_shape);
  check_ptr(name, b, "b", a_shape, b_shape);
  check_ptr(name, out, "out", a_shape, b_shape);
  const Plan p = make_plan(out_shape, a_shape, b_shape);
  with_op(op, [&](auto f) { run_plan(p, a, b, out, f); });
}

void reduce_to_shape(const float* grad, const Shape& grad_shape, float* out, const Shape& shape) {
  const Shape full = broadcast_shape("reduce_to_shape", shape, grad_shape);
  ATTN_CHECK(full == grad_shape, "reduce_to_shape: shape {} does not broadcast to the gradient's shape {}",
             shape_str(shape), shape_str(grad_shape));
  check_ptr("reduce_to_shape", grad, "grad", grad_shape, shape);
  check_ptr("reduce_to_shape", out, "out", grad_shape, shape);
  reduce_unchecked(grad, grad_shape, out, shape);
}

void binary_backward(BinaryOp op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                     const float* dout, float* da, float* db) {
  const char* name = binary_op_name(op);
  const Shape out_shape = broadcast_shape(name, a_shape, b_shape);
  check_ptr(name, dout, "dout", a_shape, b_shape);
  const bool mul = op == BinaryOp::kMul, div = op == BinaryOp::kDiv;
  if ((mul && db) || (div && (da || db))) check_ptr(name, a, "a", a_shape, b_shape);
  if ((mul && da) || (div && (da || db))) check_ptr(name, b, "b", a_shape, b_shape);
  const int64_t n = shape_numel(out_shape);
  // Writes g (of the output's shape) summed down to `shape` into d, via scratch unless no summing is needed.
  auto reduce_into = [&](float* d, const Shape& shape, auto&& g) {
    if (shape_numel(shape) == n) {
      g(d);
    } else {
      Scratch tmp(n);
      g(tmp.p);
      reduce_unchecked(tmp.p, out_shape, d, shape);
    }
  };
  auto dout_times = [&](float* t, const float* x, const Shape& x_shape, BinaryOp how) {
    binary(how, dout, out_shape, x, x_shape, t);
  };
  if (da) {
    reduce_into(da, a_shape, [&](float* t) {
      if (mul) {
        dout_times(t, b, b_shape, BinaryOp::kMul);  // d(a*b)/da = b
      } else if (div) {
        dout_times(t, b, b_shape, BinaryOp::kDiv);  // d(a/b)/da = 1/b
      } else {
        std::memcpy(t, dout, static_cast<size_t>(n) * sizeof(float));
      }
    });
  }
  if (db) {
    reduce_into(db, b_shape, [&](float* t) {
      if (mul) {
        dout_times(t, a, a_shape, BinaryOp::kMul);  // d(a*b)/db = a
      } else if (div) {
        dout_times(t, b, b_shape, BinaryOp::kDiv);  // d(a/b)/db = -a / b^2
        binary(BinaryOp::kDiv, t, out_shape, b, b_shape, t);
        binary(BinaryOp::kMul, t, out_shape, a, a_shape, t);
      } else {
        std::memcpy(t, dout, static_cast<size_t>(n) * sizeof(float));
      }
    });
    if (op == BinaryOp::kSub || div) scale(shape_numel(b_shape), db, -1.0f, db);
  }
}

void scale(int64_t n, const float* x, float alpha, float* out) {
  ATTN_CHECK(n >= 1 && x && out, "scale: bad arguments (n = {})", n);
  const Vec va = Vec::set1(alpha);
  cpu::map(n, x, out, [=](Vec v) { return v * va; });
}

void add_scalar(int64_t n, const float* x, float c, float* out) {
  ATTN_CHECK(n >= 1 && x && out, "add_scalar: bad arguments (n = {})", n);
  const Vec vc = Vec::set1(c);
  cpu::map(n, x, out, [=](Vec v) { return v + vc; });
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  ATTN_CHECK(n >= 1 && x && y, "axpy: bad arguments (n = {})", n);
  const Vec va = Vec::set1(alpha);
  cpu::map2(n, x, y, y, [=](Vec vx, Vec vy) { return cpu::fma(va, vx, vy); });
}

void fill_rows(int64_t rows, int64_t n, const float* row, float* out) {
  ATTN_CHECK(rows >= 0 && n >= 1 && row && out, "fill_rows: bad arguments (rows = {}, n = {})", rows, n);
  cpu::parallel_for(rows, n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) std::memcpy(out + r * n, row, static_cast<size_t>(n) * sizeof(float));
  });
}

}  // namespace attn::kernels
