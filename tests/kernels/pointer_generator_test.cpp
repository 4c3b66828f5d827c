// The pointer-generator distribution against a double-precision reference: log P for random shapes (one source,
// odd vocabularies, repeated tokens, gates of 0 and 1), and every gradient against finite differences of the
// reference in double.
#include "attn/kernels/pointer_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/test_util.h"

namespace attn::kernels {
namespace {

using attn::testing::all_close;
using attn::testing::numeric_gradient;
using attn::testing::random_floats;
using attn::testing::random_int;

// sum over rows and tokens of c[r][v] * log(g softmax(z) + (1 - g) copy + eps): with random c, its gradient is
// the backward of d out = c.
struct Problem {
  int64_t rows, vocab, sources;
  std::vector<int32_t> ids;
  std::vector<double> c;
};

// x = [z (rows * vocab), g (rows), w (rows * sources)]; writes log P when out is given.
double reference(const Problem& p, const std::vector<double>& x, std::vector<double>* out = nullptr) {
  const double* z = x.data();
  const double* g = z + p.rows * p.vocab;
  const double* w = g + p.rows;
  double total = 0;
  for (int64_t r = 0; r < p.rows; ++r) {
    double m = z[r * p.vocab], s = 0;
    for (int64_t v = 0; v < p.vocab; ++v) m = std::max(m, z[r * p.vocab + v]);
    for (int64_t v = 0; v < p.vocab; ++v) s += std::exp(z[r * p.vocab + v] - m);
    for (int64_t v = 0; v < p.vocab; ++v) {
      double prob = g[r] * std::exp(z[r * p.vocab + v] - m) / s;
      for (int64_t k = 0; k < p.sources; ++k)
        if (p.ids[size_t(r * p.sources + k)] == v) prob += (1 - g[r]) * w[r * p.sources + k];
      const double lp = std::log(prob + double(kPointerGeneratorEps));
      if (out) out->push_back(lp);
      total += p.c[size_t(r * p.vocab + v)] * lp;
    }
  }
  return total;
}

TEST(PointerGenerator, MatchesTheReferenceAndItsGradients) {
  for (auto [rows, vocab, sources] : {std::array<int64_t, 3>{1, 1, 1}, {3, 17, 1}, {2, 5, 9}, {4, 33, 6}, {1, 1000, 17}}) {
    Problem p{rows, vocab, sources, {}, {}};
    for (int64_t i = 0; i < rows * sources; ++i) p.ids.push_back(int32_t(random_int(0, std::min<int64_t>(vocab - 1, 3))));
    for (float c : random_floats(rows * vocab)) p.c.push_back(c);
    std::vector<float> z = random_floats(rows * vocab, -3, 3), g = random_floats(rows, 0.05f, 0.95f);
    std::vector<float> w(size_t(rows * sources));
    for (int64_t r = 0; r < rows; ++r) {  // each row of weights a distribution
      std::vector<float> raw = random_floats(sources, 0.1f, 1.0f);
      double sum = 0;
      for (float x : raw) sum += x;
      for (int64_t k = 0; k < sources; ++k) w[size_t(r * sources + k)] = float(raw[size_t(k)] / sum);
    }
    if (rows > 1) g[0] = 1.0f, g[1] = 0.0f;  // all vocabulary, all copy
    std::vector<double> x(z.begin(), z.end());
    x.insert(x.end(), g.begin(), g.end());
    x.insert(x.end(), w.begin(), w.end());
    std::vector<double> expected;
    reference(p, x, &expected);
    std::vector<float> out(size_t(rows * vocab)), softmax(out.size()), mixed(out.size());
    pointer_generator_forward(rows, vocab, sources, z.data(), g.data(), w.data(), p.ids.data(), out.data(),
                              softmax.data(), mixed.data());
    EXPECT_TRUE(all_close(out, expected, 1e-4, 1e-5)) << rows << "x" << vocab << "x" << sources;
    for (float lp : out) EXPECT_LE(lp, 0.0f);

    std::vector<float> dout(p.c.begin(), p.c.end()), dz(out.size()), dg(static_cast<size_t>(rows)), dw(w.size());
    pointer_generator_backward(rows, vocab, sources, g.data(), w.data(), p.ids.data(), softmax.data(), mixed.data(),
                               dout.data(), dz.data(), dg.data(), dw.data());
    if (rows > 1) x[size_t(rows * vocab)] = 0.999, x[size_t(rows * vocab + 1)] = 0.001;  // room for differences
    std::vector<double> numeric = numeric_gradient([&](const std::vector<double>& v) { return reference(p, v); }, x);
    std::vector<float> analytic = dz;
    if (rows > 1) {  // the gradient at the moved gates
      std::vector<float> g2 = g;
      g2[0] = 0.999f, g2[1] = 0.001f;
      pointer_generator_forward(rows, vocab, sources, z.data(), g2.data(), w.data(), p.ids.data(), out.data(),
                                softmax.data(), mixed.data());
      pointer_generator_backward(rows, vocab, sources, g2.data(), w.data(), p.ids.data(), softmax.data(),
                                 mixed.data(), dout.data(), dz.data(), dg.data(), dw.data());
      analytic = dz;
    }
    analytic.insert(analytic.end(), dg.begin(), dg.end());
    analytic.insert(analytic.end(), dw.begin(), dw.end());
    EXPECT_TRUE(all_close(analytic, numeric, 2e-3, 2e-3)) << rows << "x" << vocab << "x" << sources;
  }
}

TEST(PointerGenerator, RejectsTokensOutsideTheVocabulary) {
  std::vector<float> z(6, 0.0f), g(2, 0.5f), w(2, 1.0f), out(6), sm(6), mixed(6);
  std::vector<int32_t> ids = {1, 3};
  testing::expect_error(
      [&] { pointer_generator_forward(2, 3, 1, z.data(), g.data(), w.data(), ids.data(), out.data(), sm.data(), mixed.data()); },
      {"row 1 source 0 has token 3 outside the vocabulary of 3"});
}

}  // namespace
}  // namespace attn::kernels
