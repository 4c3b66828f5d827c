#include "attn/kernels/elementwise.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attn/core/error.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Offset into an array of shape `in` for the element at flat index i of the broadcast shape `out`.
int64_t source_index(const Shape& out, const Shape& in, int64_t i) {
  int64_t off = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t coord = i % out[out.size() - 1 - k];
    i /= out[out.size() - 1 - k];
    if (k < in.size()) {
      const int64_t d = in[in.size() - 1 - k];
      if (d != 1) off += coord * stride;
      stride *= d;
    }
  }
  return off;
}

double apply_op(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::kAdd: return x + y;
    case BinaryOp::kSub: return x - y;
    case BinaryOp::kMul: return x * y;
    case BinaryOp::kDiv: return x / y;
  }
  return 0;
}

template <class T>
std::vector<double> reference(BinaryOp op, const std::vector<T>& a, const Shape& as, const std::vector<T>& b,
                              const Shape& bs, const Shape& out) {
  std::vector<double> r(shape_numel(out));
  for (int64_t i = 0; i < static_cast<int64_t>(r.size()); ++i) {
    r[i] = apply_op(op, a[source_index(out, as, i)], b[source_index(out, bs, i)]);
  }
  return r;
}

// Values for b that keep division well away from 0.
std::vector<float> divisor(int64_t n) {
  std::vector<float> v = random_floats(n, 0.5f, 2.0f);
  for (size_t i = 0; i < v.size(); i += 2) v[i] = -v[i];
  return v;
}

struct Pair {
  Shape a, b;
};
const std::vector<Pair> kPairs = {
    {{17}, {17}},           {{1000}, {1000}},       {{100003}, {100003}},  {{3, 17}, {17}},
    {{300, 1000}, {1000}},  {{17}, {3, 17}},        {{5, 7}, {5, 1}},      {{300, 200}, {300, 1}},
    {{3, 17}, {1}},         {{1}, {3, 17}},         {{100003}, {}},        {{4, 1, 6}, {1, 5, 1}},
    {{2, 3, 4, 5}, {3, 1, 5}}, {{1, 1}, {1}},       {{2, 1, 9, 1}, {2, 8, 1, 3}}, {{1, 3, 1}, {3, 1}},
};
const BinaryOp kOps[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv};

TEST(Elementwise, BroadcastShape) {
  EXPECT_EQ(broadcast_shape("add", {4, 1, 6}, {5, 1}), (Shape{4, 5, 6}));
  EXPECT_EQ(broadcast_shape("add", {}, {3}), (Shape{3}));
  EXPECT_EQ(broadcast_shape("add", {2, 3}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(error_of([] { broadcast_shape("mul", {2, 3}, {4}); }),
            "mul: shapes [2, 3] and [4] do not broadcast (dimension 0 from the right: 3 vs 4)");
}

TEST(Elementwise, BinaryMatchesReferenceWithBroadcasting) {
  for (BinaryOp op : kOps) {
    for (const Pair& p : kPairs) {
      const Shape out = broadcast_shape("test", p.a, p.b);
      std::vector<float> a = random_floats(shape_numel(p.a), -2.0f, 2.0f);
      std::vector<float> b = op == BinaryOp::kDiv ? divisor(shape_numel(p.b)) : random_floats(shape_numel(p.b));
      std::vector<float> y(shape_numel(out));
      binary(op, a.data(), p.a, b.data(), p.b, y.data());
      EXPECT_TRUE(all_close(y, reference(op, a, p.a, b, p.b, out), 1e-6, 1e-7))
          << binary_op_name(op) << " " << shape_str(p.a) << " " << shape_str(p.b);
    }
  }
}

TEST(Elementwise, OutputMayAliasAFullSizeInput) {
  const Shape as{300, 200}, bs{200};
  std::vector<float> a = random_floats(60000), b = divisor(200);
  const std::vector<double> want = reference(BinaryOp::kDiv, a, as, b, bs, as);
  binary(BinaryOp::kDiv, a.data(), as, b.data(), bs, a.data());
  EXPECT_TRUE(all_close(a, want, 1e-6, 1e-7));
  std::vector<float> c = random_floats(17), d = random_floats(3 * 17);
  const std::vector<double> want2 = reference(BinaryOp::kSub, c, {17}, d, {3, 17}, {3, 17});
  binary(BinaryOp::kSub, c.data(), {17}, d.data(), {3, 17}, d.data());
  EXPECT_TRUE(all_close(d, want2, 1e-6, 1e-7));
}

TEST(Elementwise, ReduceToShapeMatchesReference) {
  const std::vector<Pair> cases = {  // {grad shape, target shape}
      {{3, 17}, {17}},       {{300, 1000}, {1000}}, {{300, 200}, {300, 1}}, {{5, 7}, {1}},       {{5, 7}, {}},
      {{100003}, {1}},       {{2, 3, 4, 5}, {3, 1, 5}}, {{4, 5, 6}, {4, 1, 6}}, {{4, 5, 6}, {1, 5, 1}},
      {{2, 8, 9, 3}, {2, 1, 9, 1}}, {{3, 17}, {3, 17}}, {{6, 1, 7}, {1, 7}},     {{2, 3, 4, 5, 6}, {3, 1, 5, 1}},
  };
  for (const Pair& c : cases) {
    const int64_t n = shape_numel(c.a);
    std::vector<float> g = random_floats(n);
    std::vector<double> want(shape_numel(c.b), 0.0);
    for (int64_t i = 0; i < n; ++i) want[source_index(c.a, c.b, i)] += g[i];
    std::vector<float> out(want.size(), -1.0f);
    reduce_to_shape(g.data(), c.a, out.data(), c.b);
    EXPECT_TRUE(all_close(out, want, 1e-5, 1e-5)) << shape_str(c.a) << " -> " << shape_str(c.b);
  }
  std::vector<float> g(6), out(6);
  EXPECT_EQ(error_of([&] { reduce_to_shape(g.data(), {2, 3}, out.data(), {2, 1, 3}); }),
            "reduce_to_shape: shape [2, 1, 3] does not broadcast to the gradient's shape [2, 3]");
  EXPECT_NE(error_of([&] { reduce_to_shape(g.data(), {2, 3}, out.data(), {2}); }).find("[2] and [2, 3]"),
            std::string::npos);
}

// f(a, b) = sum_i w_i (a op b)_i in double; the backward with dout = w must give its gradient.
TEST(Elementwise, BinaryBackwardMatchesFiniteDifferences) {
  const std::vector<Pair> pairs = {{{17}, {17}},       {{3, 17}, {17}}, {{5, 7}, {5, 1}}, {{3, 1}, {1, 17}},
                                   {{1}, {4, 3}},      {{2, 1, 3}, {4, 1}}, {{1000}, {1}}};
  for (BinaryOp op : kOps) {
    for (const Pair& p : pairs) {
      const Shape out = broadcast_shape("test", p.a, p.b);
      const int64_t na = shape_numel(p.a), nb = shape_numel(p.b);
      std::vector<float> a = op == BinaryOp::kDiv ? random_floats(na) : random_floats(na);
      std::vector<float> b = op == BinaryOp::kDiv ? divisor(nb) : random_floats(nb);
      std::vector<float> w = random_floats(shape_numel(out)), da(na), db(nb);
      binary_backward(op, a.data(), p.a, b.data(), p.b, w.data(), da.data(), db.data());
      auto f = [&](const std::vector<double>& ab) {
        std::vector<double> av(ab.begin(), ab.begin() + na), bv(ab.begin() + na, ab.end());
        std::vector<double> y = reference(op, av, p.a, bv, p.b, out);
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
        return s;
      };
      std::vector<double> x(a.begin(), a.end());
      x.insert(x.end(), b.begin(), b.end());
      std::vector<double> g = testing::numeric_gradient(f, x);
      EXPECT_TRUE(all_close(da, std::vector<double>(g.begin(), g.begin() + na), 1e-3, 1e-4))
          << binary_op_name(op) << " da " << shape_str(p.a) << " " << shape_str(p.b);
      EXPECT_TRUE(all_close(db, std::vector<double>(g.begin() + na, g.end()), 1e-3, 1e-4))
          << binary_op_name(op) << " db " << shape_str(p.a) << " " << shape_str(p.b);
      // One gradient alone, and add/sub without the inputs.
      std::vector<float> db2(nb);
      const bool linear = op == BinaryOp::kAdd || op == BinaryOp::kSub;
      binary_backward(op, linear ? nullptr : a.data(), p.a, linear ? nullptr : b.data(), p.b, w.data(), nullptr,
                      db2.data());
      EXPECT_EQ(db2, db);
    }
  }
}

TEST(Elementwise, ScalarOpsAndAxpy) {
  for (int64_t n : {1, 3, 17, 1000, 100003}) {
    std::vector<float> x = random_floats(n), y = random_floats(n), out(n);
    std::vector<double> want(n);
    scale(n, x.data(), -1.5f, out.data());
    for (int64_t i = 0; i < n; ++i) want[i] = -1.5 * x[i];
    EXPECT_TRUE(all_close(out, want, 1e-6, 0.0)) << n;
    add_scalar(n, x.data(), 0.25f, out.data());
    for (int64_t i = 0; i < n; ++i) want[i] = x[i] + 0.25;
    EXPECT_TRUE(all_close(out, want, 1e-6, 1e-7)) << n;
    for (int64_t i = 0; i < n; ++i) want[i] = y[i] + 3.0 * x[i];
    axpy(n, 3.0f, x.data(), y.data());
    EXPECT_TRUE(all_close(y, want, 1e-6, 1e-6)) << n;
  }
}

TEST(Elementwise, BadArgumentsThrowNamingOpAndShapes) {
  std::vector<float> a(12), b(12), out(12);
  EXPECT_EQ(error_of([&] { binary(BinaryOp::kAdd, a.data(), {3, 4}, b.data(), {4, 3}, out.data()); }),
            "add: shapes [3, 4] and [4, 3] do not broadcast (dimension 0 from the right: 4 vs 3)");
  EXPECT_NE(error_of([&] { binary(BinaryOp::kDiv, a.data(), {0, 4}, b.data(), {4}, out.data()); })
                .find("div: first shape [0, 4] has a dimension < 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { binary(BinaryOp::kMul, a.data(), {3, 4}, nullptr, {4}, out.data()); }).find("mul: b is null"),
            std::string::npos);
  EXPECT_NE(error_of([&] { binary_backward(BinaryOp::kMul, a.data(), {3, 4}, nullptr, {4}, a.data(), a.data(), nullptr); })
                .find("mul: b is null"),
            std::string::npos);
  EXPECT_THROW(scale(0, a.data(), 1.0f, out.data()), Error);
  EXPECT_THROW(axpy(-1, 1.0f, a.data(), out.data()), Error);
}

TEST(Elementwise, FillRowsRepeatsTheRow) {
  for (int64_t rows : {0, 1, 5, 3000}) {  // 3000 x 37 splits over the threads
    const std::vector<float> row = random_floats(37);
    std::vector<float> out(size_t(rows * 37) + 1, -1.0f);
    fill_rows(rows, 37, row.data(), out.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < 37; ++j) ASSERT_EQ(out[size_t(r * 37 + j)], row[size_t(j)]) << rows << " " << r;
    EXPECT_EQ(out.back(), -1.0f) << "wrote past the rows";
  }
  std::vector<float> a(4);
  EXPECT_THROW(fill_rows(-1, 4, a.data(), a.data()), Error);
  EXPECT_THROW(fill_rows(1, 4, nullptr, a.data()), Error);
}

}  // namespace
}  // namespace attn::kernels
