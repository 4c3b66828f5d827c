#include "attn/metrics/classification.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/test_util.h"

namespace attn::metrics {
namespace {

// truth:     0 0 0 0 1 1 1 2 2 2
// predicted: 0 0 1 2 1 1 0 2 2 1
// class 0: tp 2, predicted 3, support 4 -> P 2/3, R 1/2, F1 4/7
// class 1: tp 2, predicted 4, support 3 -> P 1/2, R 2/3, F1 4/7
// class 2: tp 2, predicted 3, support 3 -> P 2/3, R 2/3, F1 2/3
const std::vector<int32_t> kTruth = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
const std::vector<int32_t> kPredicted = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};

TEST(ClassificationReport, HandComputedCase) {
  const auto r = classification_report(kTruth, kPredicted, 3);
  EXPECT_EQ(r.count, 10);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 4.0 / 7);
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 4.0 / 7);
  EXPECT_DOUBLE_EQ(r.per_class[2].f1, 2.0 / 3);
  EXPECT_EQ(r.per_class[0].support, 4);
  EXPECT_DOUBLE_EQ(r.macro_precision, (2.0 / 3 + 0.5 + 2.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(r.macro_recall, (0.5 + 2.0 / 3 + 2.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(r.macro_f1, (4.0 / 7 + 4.0 / 7 + 2.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(r.weighted_f1, (4 * 4.0 / 7 + 3 * 4.0 / 7 + 3 * 2.0 / 3) / 10);
  EXPECT_DOUBLE_EQ(r.micro_f1, 0.6);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 1}, {1, 2, 0}, {0, 1, 2}}));
}

TEST(ClassificationReport, ZeroDivisionAndAbsentClasses) {
  // Class 1 is never predicted (precision 0, not NaN); class 3 occurs nowhere and stays out of the macro mean.
  const auto r = classification_report({0, 1, 2, 2}, {0, 0, 2, 2}, 4);
  EXPECT_EQ(r.per_class[1].precision, 0.0);
  EXPECT_EQ(r.per_class[1].recall, 0.0);
  EXPECT_EQ(r.per_class[1].f1, 0.0);
  EXPECT_EQ(r.per_class[3].support, 0);
  EXPECT_DOUBLE_EQ(r.macro_f1, (2.0 / 3 + 0 + 1) / 3);  // class 0: P 1/2, R 1 -> F1 2/3
  EXPECT_DOUBLE_EQ(r.macro_precision, (0.5 + 0 + 1) / 3);

  const auto empty = classification_report({}, {}, 2);
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.accuracy, 0.0);
  EXPECT_EQ(empty.macro_f1, 0.0);
  attn::testing::expect_error([] { classification_report({0, 1}, {0}, 2); }, {"2 true labels", "1 predictions"});
  attn::testing::expect_error([] { classification_report({0, 2}, {0, 1}, 2); }, {"example 1", "outside [0, 2)"});
}

TEST(ClassificationReport, RandomCaseAgainstDirectCounting) {
  for (int round = 0; round < 20; ++round) {
    const auto k = static_cast<int32_t>(attn::testing::random_int(2, 8));
    const auto n = static_cast<size_t>(attn::testing::random_int(1, 400));
    std::vector<int32_t> truth(n), predicted(n);
    for (size_t i = 0; i < n; ++i) {
      truth[i] = static_cast<int32_t>(attn::testing::random_int(0, k - 1));
      // Right about half the time, so every figure is away from 0 and 1.
      predicted[i] =
          attn::testing::random_int(0, 1) ? truth[i] : static_cast<int32_t>(attn::testing::random_int(0, k - 1));
    }
    const auto r = classification_report(truth, predicted, k);
    double macro_p = 0, macro_r = 0, macro_f = 0, weighted_f = 0;
    int present = 0, correct = 0;
    for (int32_t c = 0; c < k; ++c) {
      int tp = 0, fp = 0, fn = 0;
      for (size_t i = 0; i < n; ++i) {
        tp += truth[i] == c && predicted[i] == c;
        fp += truth[i] != c && predicted[i] == c;
        fn += truth[i] == c && predicted[i] != c;
      }
      const double p = tp + fp ? double(tp) / (tp + fp) : 0, rc = tp + fn ? double(tp) / (tp + fn) : 0;
      const double f = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
      EXPECT_NEAR(r.per_class[c].precision, p, 1e-12);
      EXPECT_NEAR(r.per_class[c].recall, rc, 1e-12);
      EXPECT_NEAR(r.per_class[c].f1, f, 1e-12);
      EXPECT_EQ(r.per_class[c].support, tp + fn);
      for (int32_t q = 0; q < k; ++q) {
        int64_t cell = 0;
        for (size_t i = 0; i < n; ++i) cell += truth[i] == c && predicted[i] == q;
        EXPECT_EQ(r.confusion[c][q], cell);
      }
      correct += tp;
      if (tp + fp + fn == 0) continue;
      ++present;
      macro_p += p, macro_r += rc, macro_f += f;
      weighted_f += f * (tp + fn);
    }
    EXPECT_NEAR(r.accuracy, double(correct) / n, 1e-12);
    EXPECT_NEAR(r.micro_f1, r.accuracy, 1e-12);
    EXPECT_NEAR(r.macro_precision, macro_p / present, 1e-12);
    EXPECT_NEAR(r.macro_recall, macro_r / present, 1e-12);
    EXPECT_NEAR(r.macro_f1, macro_f / present, 1e-12);
    EXPECT_NEAR(r.weighted_f1, weighted_f / n, 1e-12);
  }
}

TEST(ClassificationReport, Json) {
  const auto r = classification_report(kTruth, kPredicted, 3);
  const nlohmann::json j = to_json(r, {"World", "Sports", "Sci/Tech"});
  EXPECT_EQ(j["count"], 10);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j["macro_f1"].get<double>(), r.macro_f1);
  for (const char* key : {"macro_precision", "macro_recall", "micro_f1", "micro_precision", "micro_recall",
                          "weighted_f1", "weighted_precision", "weighted_recall"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j["per_class"]["Sports"]["precision"].get<double>(), 0.5);
  EXPECT_EQ(j["per_class"]["World"]["support"], 4);
  EXPECT_EQ(j["confusion"], nlohmann::json::parse("[[2,1,1],[1,2,0],[0,1,2]]"));
  EXPECT_EQ(j["labels"], nlohmann::json({"World", "Sports", "Sci/Tech"}));
  attn::testing::expect_error([&] { to_json(r, {"a"}); }, {"1 class names for 3 classes"});
}

TEST(ClassificationReport, TableIsAligned) {
  const auto r = classification_report(kTruth, kPredicted, 3);
  const std::string table = format_report(r, {"World", "Sports", "正面"});
  EXPECT_NE(table.find("   precision     recall   f1-score    support"), std::string::npos) << table;
  EXPECT_NE(table.find("       World     0.6667     0.5000     0.5714          4"), std::string::npos) << table;
  EXPECT_NE(table.find("        正面     0.6667     0.6667     0.6667          3"), std::string::npos) << table;
  EXPECT_NE(table.find("    accuracy                           0.6000         10"), std::string::npos) << table;
  EXPECT_NE(table.find("weighted avg"), std::string::npos);
  EXPECT_NE(table.find("confusion matrix (rows: true label, columns: predicted)\n"
                       "        World  Sports  正面\n"
                       " World      2       1     1\n"
                       "Sports      1       2     0\n"
                       "  正面      0       1     2\n"),
            std::string::npos)
      << table;

  std::vector<int32_t> many(30);
  std::vector<std::string> names;
  for (int32_t i = 0; i < 30; ++i) many[static_cast<size_t>(i)] = i, names.push_back(fmt::format("c{}", i));
  EXPECT_NE(format_report(classification_report(many, many, 30), names).find("confusion matrix left out"),
            std::string::npos);
}

}  // namespace
}  // namespace attn::metrics
