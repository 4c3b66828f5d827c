#include "attn/metrics/roc_auc.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/test_util.h"

namespace attn::metrics {
namespace {

// Every (positive, negative) pair: 1 when the positive scores higher, 1/2 for a tie.
double pair_count_auc(const std::vector<int32_t>& truth, const std::vector<double>& scores) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    for (size_t j = 0; j < truth.size(); ++j) {
      if (truth[i] != 1 || truth[j] != 0) continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
    }
  }
  return wins / pairs;
}

TEST(RocAuc, HandComputed) {
  EXPECT_DOUBLE_EQ(roc_auc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}), 0.75);  // scikit-learn's documented example
  EXPECT_DOUBLE_EQ(roc_auc({0, 1}, {0.2, 0.9}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 0}, {0.2, 0.9}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 0, 1, 0}, {0.5, 0.5, 0.5, 0.5}), 0.5);
}

TEST(RocAuc, RandomWithTiesAgainstPairCounting) {
  for (int round = 0; round < 30; ++round) {
    const auto n = static_cast<size_t>(attn::testing::random_int(2, 300));
    std::vector<int32_t> truth(n);
    std::vector<double> scores(n);
    const int64_t levels = attn::testing::random_int(1, 12);  // few distinct scores: many ties
    for (size_t i = 0; i < n; ++i) {
      truth[i] = static_cast<int32_t>(attn::testing::random_int(0, 1));
      scores[i] = static_cast<double>(attn::testing::random_int(0, levels)) / 4.0 + 0.3 * truth[i] * (round % 2);
    }
    truth[0] = 0, truth[1] = 1;
    EXPECT_NEAR(roc_auc(truth, scores), pair_count_auc(truth, scores), 1e-12) << "round " << round;
  }
}

TEST(RocAuc, UndefinedAndInvalid) {
  EXPECT_TRUE(std::isnan(roc_auc({1, 1}, {0.1, 0.2})));
  EXPECT_TRUE(std::isnan(roc_auc({}, {})));
  attn::testing::expect_error([] { roc_auc({0, 2}, {0.1, 0.2}); }, {"label 2", "not 0 or 1"});
  attn::testing::expect_error([] { roc_auc({0, 1}, {0.1, NAN}); }, {"NaN"});
  attn::testing::expect_error([] { roc_auc({0, 1}, {0.1}); }, {"2 labels", "1 scores"});
}

}  // namespace
}  // namespace attn::metrics
