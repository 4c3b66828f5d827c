#include "attn/core/debug.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attn/core/error.h"

namespace attn {
namespace {

// Turns the checks on for one test and restores the previous setting.
struct DebugOn {
  bool before = debug_checks();
  DebugOn() { set_debug_checks(true); }
  ~DebugOn() { set_debug_checks(before); }
};

std::string error_of(const std::vector<float>& v, const Shape& shape) {
  try {
    check_finite("softmax", "output", v.data(), static_cast<int64_t>(v.size()), shape);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DebugChecks, OffMeansNoScan) {
  const bool before = debug_checks();
  set_debug_checks(false);
  std::vector<float> v(10, std::nanf(""));
  EXPECT_NO_THROW(check_finite("op", "output", v.data(), 10, {10}));
  EXPECT_NO_THROW(check_finite("op", "output", v.data(), 3, {10}));  // not even the size is checked
  set_debug_checks(before);
}

TEST(DebugChecks, FiniteDataPasses) {
  DebugOn on;
  for (int64_t n : {1, 3, 17, 1000, 100003}) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = std::numeric_limits<float>::max() * ((i % 3) - 1.0f);
    EXPECT_EQ(error_of(v, {n}), "") << n;
  }
}

TEST(DebugChecks, ReportsOpShapeKindAndFirstIndex) {
  DebugOn on;
  std::vector<float> v(4 * 17, 1.0f);
  v[5] = std::nanf("");
  v[40] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(error_of(v, {4, 17}), "softmax: output of shape [4, 17] has a non-finite value (nan) at index 5 ([0, 5])");
  v[5] = 0;
  EXPECT_EQ(error_of(v, {4, 17}), "softmax: output of shape [4, 17] has a non-finite value (inf) at index 40 ([2, 6])");
  v[3] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of(v, {4, 17}).find("(-inf) at index 3 "), std::string::npos);
}

TEST(DebugChecks, FindsTheFirstBadValueInLargeArrays) {
  DebugOn on;
  for (int64_t n : {int64_t{8}, int64_t{9}, int64_t{1} << 20, (int64_t{1} << 20) + 7}) {
    std::vector<float> v(n, 0.5f);
    v[n - 1] = std::nanf("");
    EXPECT_NE(error_of(v, {n}).find("at index " + std::to_string(n - 1)), std::string::npos) << n;
    if (n > 100) {
      v[n / 2 + 3] = -std::numeric_limits<float>::infinity();  // two bad chunks: the earlier one wins
      EXPECT_NE(error_of(v, {n}).find("(-inf) at index " + std::to_string(n / 2 + 3)), std::string::npos) << n;
    }
  }
}

TEST(DebugChecks, SizeMustMatchShape) {
  DebugOn on;
  std::vector<float> v(6, 1.0f);
  try {
    check_finite("matmul", "input", v.data(), 6, {2, 4});
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 4]"), std::string::npos);
  }
}

}  // namespace
}  // namespace attn
