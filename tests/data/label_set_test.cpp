#include "attn/data/label_set.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace attn::data {
namespace {

std::vector<TextExample> with_labels(const std::vector<std::string>& labels) {
  std::vector<TextExample> out;
  for (const auto& l : labels) out.push_back({"text", l, "f:1"});
  return out;
}

TEST(LabelSet, OrdersNumbersNumericallyThenNames) {
  const LabelSet s = LabelSet::from(with_labels({"10", "pos", "2", "1", "neg", "2", "-3", "0.5", "", "Zeta"}));
  EXPECT_EQ(s.names(), (std::vector<std::string>{"-3", "0.5", "1", "2", "10", "Zeta", "neg", "pos"}));
  EXPECT_EQ(s.size(), 8);
  EXPECT_EQ(s.id("10"), 4);
  EXPECT_EQ(s.name(7), "pos");
  EXPECT_EQ(s.find("missing"), std::nullopt);
  EXPECT_EQ(s.find("neg"), 6);
}

TEST(LabelSet, ErrorsNameTheKnownLabels) {
  const LabelSet s = LabelSet::from(with_labels({"World", "Sports", "Business"}));
  attn::testing::expect_error([&] { s.id("Sci/Tech"); },
                              {"unknown label 'Sci/Tech'", "the model knows: Business, Sports, World"});
  attn::testing::expect_error([&] { s.name(3); }, {"label id 3", "3 labels"});
  attn::testing::expect_error([] { LabelSet({"a", "b", "a"}); }, {"'a' appears twice"});
}

TEST(LabelSet, JsonRoundTripKeepsIds) {
  const LabelSet s({"pos", "neg", "neutral"});  // an order from an earlier model, not sorted
  const nlohmann::json j = s.to_json();
  EXPECT_EQ(j, nlohmann::json({"pos", "neg", "neutral"}));
  const LabelSet back = LabelSet::from_json(j);
  EXPECT_EQ(back.names(), s.names());
  EXPECT_EQ(back.id("neutral"), 2);
  attn::testing::expect_error([] { LabelSet::from_json(nlohmann::json{{"a", 1}}); }, {"array"});
  attn::testing::expect_error(
      [] {
        LabelSet::from_json(nlohmann::json::array({"a", 3}));
      },
      {"label 1", "not a string"});
}

}  // namespace
}  // namespace attn::data
