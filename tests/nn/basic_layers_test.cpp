#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/ops/reduce.h"
#include "attn/core/error.h"
#include "attn/nn/dropout.h"
#include "attn/nn/embedding.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/linear.h"
#include "autograd/gradcheck.h"

namespace attn::nn {
namespace {

// A module with children, to check dotted names and recursion.
class TwoLayers : public Module {
 public:
  explicit TwoLayers(Rng& rng)
      : first(register_module("first", std::make_shared<Linear>(3, 4, rng))),
        norm(register_module("norm", std::make_shared<LayerNorm>(4))),
        second(register_module("second", std::make_shared<Linear>(4, 2, rng, false))) {}
  std::shared_ptr<Linear> first;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> second;
};

TEST(Module, NamedParametersUseDottedPathsInOrder) {
  Rng rng(3);
  TwoLayers m(rng);
  std::vector<std::string> names;
  for (auto& [name, v] : m.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"first.weight", "first.bias", "norm.weight", "norm.bias",
                                             "second.weight"}));
  EXPECT_EQ(m.parameter_count(), 3 * 4 + 4 + 4 + 4 + 4 * 2);
  m.eval();
  EXPECT_FALSE(m.first->training());
  m.train();
  EXPECT_TRUE(m.second->training());
}

TEST(Linear, PyTorchLayoutAndInitialisationBounds) {
  Rng rng(1);
  Linear lin(17, 5, rng);
  EXPECT_EQ(lin.weight.shape(), (Shape{5, 17}));
  EXPECT_EQ(lin.bias.shape(), (Shape{5}));
  const float bound = 1.0f / std::sqrt(17.0f);
  for (float w : lin.weight.value().to_vector()) EXPECT_LE(std::fabs(w), bound);
  EXPECT_TRUE(testing::gradcheck([&](const std::vector<Var>& x) { return lin.forward(x[0]); }, {{2, 3, 17}}));
  try {
    lin.forward(Var(Tensor::zeros({2, 16})));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Linear(17, 5): input of shape [2, 16]"), std::string::npos) << e.what();
  }
}

TEST(Embedding, PaddingRowStartsAtZeroAndGetsNoGradient) {
  Rng rng(2);
  Embedding emb(6, 4, rng, /*padding_idx=*/0);
  for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(emb.weight.value().at({0, d}), 0.0f);
  std::vector<int32_t> ids{0, 3, 0, 5};
  autograd::sum(emb.forward(ids, {2, 2})).backward();
  for (int64_t d = 0; d < 4; ++d) {
    EXPECT_EQ(emb.weight.grad().at({0, d}), 0.0f);
    EXPECT_EQ(emb.weight.grad().at({3, d}), 1.0f);
  }
  std::vector<int32_t> bad{6};
  EXPECT_THROW(emb.forward(bad, {1}), Error);
  EXPECT_THROW(Embedding(6, 4, rng, 6), Error);
}

TEST(LayerNormModule, NormalisesRowsAndHasGradients) {
  LayerNorm ln(9);
  EXPECT_TRUE(testing::gradcheck([&](const std::vector<Var>& x) { return ln.forward(x[0]); }, {{3, 9}}));
  Var y = ln.forward(Var(Tensor::from_vector({1, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9})));
  double mean = 0;
  for (float v : y.value().to_vector()) mean += v;
  EXPECT_NEAR(mean / 9, 0.0, 1e-6);
}

TEST(DropoutModule, ActiveOnlyInTraining) {
  Rng rng(4);
  Dropout drop(0.5f, rng);
  Var x(Tensor::full({1000}, 1.0f));
  auto zeros = [](const Var& v) {
    int n = 0;
    for (float f : v.value().to_vector()) n += f == 0.0f;
    return n;
  };
  int dropped = zeros(drop.forward(x));
  EXPECT_GT(dropped, 400);
  EXPECT_LT(dropped, 600);
  EXPECT_NE(drop.forward(x).value().to_vector(), drop.forward(x).value().to_vector());  // a fresh mask per call
  drop.eval();
  EXPECT_EQ(zeros(drop.forward(x)), 0);
  EXPECT_THROW(Dropout(1.0f, rng), Error);
}

}  // namespace
}  // namespace attn::nn
