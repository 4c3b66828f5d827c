#include "attn/core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/threads.h"

namespace attn {
namespace {

constexpr int kSamples = 1000000;

struct Moments {
  double mean = 0, var = 0;
};
template <class F>
Moments moments(F draw) {
  double s = 0, s2 = 0;
  for (int i = 0; i < kSamples; ++i) {
    const double v = draw();
    s += v;
    s2 += v * v;
  }
  const double m = s / kSamples;
  return {m, s2 / kSamples - m * m};
}

TEST(Rng, SameSeedSameSequenceDifferentSeedsDiffer) {
  Rng a(42), b(42), c(43);
  int same_c = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    same_c += x == c.next_u64();
  }
  EXPECT_EQ(same_c, 0);
  EXPECT_EQ(a.seed(), 42u);
  EXPECT_EQ(a.counter(), 1000u);
}

TEST(Rng, DrawsAreTheStatelessIndexedValues) {
  for (uint64_t seed : {0ull, 1ull, 0xDEADBEEFull}) {
    Rng u(seed), z(seed);
    for (uint64_t i = 0; i < 100; ++i) {
      EXPECT_EQ(u.uniform(), uniform_at(seed, i));
      EXPECT_EQ(z.normal(), normal_at(seed, i));
    }
  }
}

TEST(Rng, CounterRestoresAPosition) {
  Rng a(7);
  for (int i = 0; i < 10; ++i) a.next_u64();
  Rng b(7);
  b.set_counter(a.counter());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(Rng, ParallelUniformAtEqualsSerial) {
  const int64_t n = 1 << 18;
  std::vector<float> serial(n), parallel(n);
  for (int64_t i = 0; i < n; ++i) serial[i] = uniform_at(99, 1000 + i);
#pragma omp parallel for schedule(dynamic, 977)
  for (int64_t i = 0; i < n; ++i) parallel[i] = uniform_at(99, 1000 + i);
  EXPECT_EQ(serial, parallel);
}

TEST(Rng, FillMatchesSequentialDrawsOnAnyThreadCount) {
  const int64_t n = 200003;  // above the parallel threshold, not a round number
  const int keep_threads = num_threads();
  std::vector<float> expect_u(n), expect_z(n);
  Rng seq(5);
  for (int64_t i = 0; i < n; ++i) expect_u[i] = seq.uniform(-2.0f, 3.0f);
  for (int64_t i = 0; i < n; ++i) expect_z[i] = 0.5f + 2.0f * seq.normal();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Rng r(5);
    std::vector<float> u(n), z(n);
    fill_uniform(r, u.data(), n, -2.0f, 3.0f);
    fill_normal(r, z.data(), n, 0.5f, 2.0f);
    EXPECT_EQ(u, expect_u) << threads << " threads";
    EXPECT_EQ(z, expect_z) << threads << " threads";
    EXPECT_EQ(r.counter(), seq.counter());
  }
  set_num_threads(keep_threads);
}

TEST(Rng, UniformMomentsAndRange) {
  Rng r(1);
  float lo = 1, hi = 0;
  Moments m = moments([&] {
    const float u = r.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    return u;
  });
  EXPECT_GE(lo, 0.0f);
  EXPECT_LT(hi, 1.0f);
  EXPECT_LT(lo, 1e-4f);
  EXPECT_GT(hi, 1.0f - 1e-4f);
  EXPECT_NEAR(m.mean, 0.5, 2e-3);       // standard error 2.9e-4
  EXPECT_NEAR(m.var, 1.0 / 12, 1e-3);
}

TEST(Rng, NormalMomentsAndTails) {
  Rng r(2);
  int within1 = 0, beyond3 = 0;
  double s4 = 0;
  Moments m = moments([&] {
    const double z = r.normal();
    within1 += std::fabs(z) < 1.0;
    beyond3 += std::fabs(z) > 3.0;
    s4 += z * z * z * z;
    return z;
  });
  EXPECT_NEAR(m.mean, 0.0, 5e-3);  // standard error 1e-3
  EXPECT_NEAR(m.var, 1.0, 7e-3);
  EXPECT_NEAR(s4 / kSamples, 3.0, 0.05);  // kurtosis of a normal
  EXPECT_NEAR(within1 / double(kSamples), 0.682689, 3e-3);
  EXPECT_NEAR(beyond3 / double(kSamples), 0.0026998, 3e-4);
}

TEST(Rng, UniformIntCoversTheRangeEvenly) {
  Rng r(3);
  std::vector<int> count(10);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t k = r.uniform_int(10);
    ASSERT_LT(k, 10u);
    ++count[k];
  }
  for (int c : count) EXPECT_NEAR(c, 10000, 500);
  EXPECT_THROW(r.uniform_int(0), Error);
}

TEST(Rng, ForksAreIndependentStreams) {
  Rng parent(11);
  Rng f1 = parent.fork(1), f2 = parent.fork(2);
  parent.next_u64();
  EXPECT_EQ(parent.fork(1).next_u64(), Rng(11).fork(1).next_u64());  // independent of draws made
  std::set<uint64_t> firsts;
  Rng p2(11);
  firsts.insert(p2.next_u64());
  firsts.insert(f1.next_u64());
  firsts.insert(f2.next_u64());
  firsts.insert(Rng(12).fork(1).next_u64());
  EXPECT_EQ(firsts.size(), 4u);
  EXPECT_NE(f1.seed(), f2.seed());
  // Two streams are uncorrelated.
  Rng a = Rng(11).fork(1), b = Rng(11).fork(2);
  double sab = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) sab += (a.uniform() - 0.5) * (b.uniform() - 0.5);
  EXPECT_NEAR(sab / n * 12, 0.0, 0.02);  // correlation; standard error 0.003
}

TEST(Rng, NeighbouringSeedsAreUncorrelated) {
  const int n = 100000;
  double s = 0;
  for (int i = 0; i < n; ++i) s += (uniform_at(100, i) - 0.5) * (uniform_at(101, i) - 0.5);
  EXPECT_NEAR(s / n * 12, 0.0, 0.02);
}

}  // namespace
}  // namespace attn
