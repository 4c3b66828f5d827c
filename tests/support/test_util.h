// Shared test helpers: seeded random data, closeness checks against double-precision references, and a
// central finite-difference gradient in double.
#pragma once
#include <gtest/gtest.h>

#include "attn/core/error.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace attn::testing {

// Deterministic per-test generator: reseeded when a new test starts, so a test sees the same numbers whether it
// runs alone (as CTest runs it) or after others (a --gtest_filter run).
inline std::mt19937_64& rng() {
  static std::mt19937_64 g;
  static const ::testing::TestInfo* seeded_for = nullptr;
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test != seeded_for) {
    g.seed(20261121);
    seeded_for = test;
  }
  return g;
}

inline std::vector<float> random_floats(int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng());
  return v;
}

inline int64_t random_int(int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng());
}

// Every actual[i] within atol + rtol * |expected[i]|; reports the first few offenders.
inline ::testing::AssertionResult all_close(const float* actual, const double* expected, int64_t n,
                                            double rtol = 1e-5, double atol = 1e-6) {
  int bad = 0;
  std::string msg;
  for (int64_t i = 0; i < n; ++i) {
    double a = actual[i], e = expected[i];
    bool ok = (std::isnan(e) && std::isnan(a)) || (std::isinf(e) && a == e) ||
              std::fabs(a - e) <= atol + rtol * std::fabs(e);
    if (!ok && bad++ < 5) msg += " [" + std::to_string(i) + "] got " + std::to_string(a) + " want " + std::to_string(e);
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << n << " elements differ:" << msg;
}

inline ::testing::AssertionResult all_close(const std::vector<float>& actual, const std::vector<double>& expected,
                                            double rtol = 1e-5, double atol = 1e-6) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "size " << actual.size() << " != " << expected.size();
  }
  return all_close(actual.data(), expected.data(), static_cast<int64_t>(actual.size()), rtol, atol);
}

// Runs f, which must throw attn::Error whose message holds every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no attn::Error thrown; expected one mentioning " << *parts.begin();
  } catch (const attn::Error& e) {
    const std::string what = e.what();
    for (const char* p : parts) EXPECT_NE(what.find(p), std::string::npos) << "'" << what << "' lacks '" << p << "'";
  }
}

// d f / d x[i] by central differences, evaluated in double.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + h;
    double up = f(x);
    x[i] = keep - h;
    double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

}  // namespace attn::testing
