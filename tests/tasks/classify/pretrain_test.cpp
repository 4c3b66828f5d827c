// Language-model pretraining of the recurrent classifiers: which token each position predicts in each direction,
// the loss against a double-precision reference built from the encoder's states, that each direction sees only
// its own side of the text (on random tokens nothing can be predicted; a direction reading ahead would reach a
// perplexity near 1), that it learns what can be learned, and that it leaves the classifier's dropout as it was.
#include "attn/tasks/classify/pretrain.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/optim/adam.h"
#include "attn/text/vocabulary.h"
#include "support/test_util.h"

namespace attn::tasks::classify {
namespace {

using testing::expect_error;
using text::Vocabulary;
constexpr int32_t kIgnore = -100;

TEST(LanguageModelTargets, NextAndPreviousInsideEachText) {
  // Two texts of lengths 4 and 2 padded to 5; id 1 is <unk>, ids >= 9 are beyond the predicted vocabulary.
  const std::vector<int32_t> ids = {5, 1, 7, 9, 0,  //
                                    3, 4, 0, 0, 0};
  const std::vector<int32_t> lengths = {4, 2};
  const LanguageModelTargets t = language_model_targets(ids, lengths, 2, 5, /*vocab=*/9, kIgnore);
  const std::vector<int32_t> next = {kIgnore, 7, kIgnore, kIgnore, kIgnore,  //
                                     4, kIgnore, kIgnore, kIgnore, kIgnore};
  const std::vector<int32_t> prev = {kIgnore, 5, kIgnore, 7, kIgnore,  //
                                     kIgnore, 3, kIgnore, kIgnore, kIgnore};
  EXPECT_EQ(t.next, next);
  EXPECT_EQ(t.prev, prev);
  const std::vector<int32_t> one_length = {4}, too_long = {6, 2};
  expect_error([&] { language_model_targets(ids, one_length, 2, 5, 9, kIgnore); }, {"1 lengths", "2 x 5"});
  expect_error([&] { language_model_targets(ids, too_long, 2, 5, 9, kIgnore); }, {"length 6"});
}

ModelConfig tiny_config(ModelKind kind) {
  ModelConfig c;
  c.kind = kind;
  c.embed_dim = 12;
  c.hidden = 10;
  c.dropout = 0.0f;
  c.embed_dropout = 0.0f;
  return c;
}

// -log softmax(w h + b)[target] in double.
double reference_nll(const float* h, const Tensor& w, const Tensor& b, int64_t dim, int32_t target) {
  const int64_t vocab = w.size(0);
  std::vector<double> logits(static_cast<size_t>(vocab));
  double m = -1e300;
  for (int64_t v = 0; v < vocab; ++v) {
    double z = b.data()[v];
    for (int64_t k = 0; k < dim; ++k) z += double(w.data()[v * dim + k]) * h[k];
    m = std::max(m, logits[size_t(v)] = z);
  }
  double sum = 0;
  for (double z : logits) sum += std::exp(z - m);
  return m + std::log(sum) - logits[size_t(target)];
}

TEST(PretrainModel, LossIsTheMeanOfBothDirectionsNextTokenLosses) {
  for (ModelKind kind : {ModelKind::kBiLstmAttention, ModelKind::kGruAttention}) {
    Rng rng(11);
    const int64_t vocab = 23, batch = 3, time = 7;
    auto net = std::make_shared<TextClassifier>(tiny_config(kind), vocab, 2, rng);
    PretrainModel model(net, vocab, rng);
    model.eval();
    std::vector<int32_t> ids(size_t(batch * time), 0);
    const std::vector<int32_t> lengths = {7, 1, 5};
    Rng draw(3);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < lengths[size_t(b)]; ++t)
        ids[size_t(b * time + t)] = int32_t(1 + draw.uniform_int(vocab - 1));  // <unk> (1) among them

    autograd::NoGradGuard no_grad;
    const float loss = model.loss(ids, lengths, batch, time).value().data()[0];
    const Tensor states = net->encode(ids, lengths, batch, time).value().contiguous();
    const int64_t H = tiny_config(kind).hidden;
    const auto named = model.named_parameters();
    Tensor w, bias;
    for (const auto& [name, v] : named) {
      if (name == "lm.weight") w = v.value();
      if (name == "lm.bias") bias = v.value();
    }
    ASSERT_TRUE(w.defined() && bias.defined());
    double fwd = 0, bwd = 0;
    int64_t nf = 0, nb = 0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < lengths[size_t(b)]; ++t) {
        const float* row = states.data() + (b * time + t) * 2 * H;
        const int32_t* x = ids.data() + b * time;
        if (t + 1 < lengths[size_t(b)] && x[t + 1] != Vocabulary::kUnk)
          fwd += reference_nll(row, w, bias, H, x[t + 1]), ++nf;
        if (t >= 1 && x[t - 1] != Vocabulary::kUnk) bwd += reference_nll(row + H, w, bias, H, x[t - 1]), ++nb;
      }
    ASSERT_GT(nf, 0);
    EXPECT_NEAR(loss, 0.5 * (fwd / double(nf) + bwd / double(nb)), 1e-5 * std::abs(loss)) << model_kind_name(kind);
  }
}

// Texts of ids 2..21: uniformly random, or counting up (k + 1 follows k, cycling) from a random start.
std::vector<std::vector<int32_t>> texts(int n, bool counting, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  for (auto& text : out) {
    const int64_t length = 6 + int64_t(rng.uniform_int(8));
    int32_t id = int32_t(rng.uniform_int(20));
    for (int64_t t = 0; t < length; ++t) {
      text.push_back(2 + id);
      id = counting ? (id + 1) % 20 : int32_t(rng.uniform_int(20));
    }
  }
  return out;
}

double pretrained_perplexity(bool counting, ModelKind kind, int64_t pretrain_vocab = TrainConfig{}.pretrain_vocab) {
  ClassifyConfig config;
  config.train.pretrain_vocab = pretrain_vocab;
  config.model = tiny_config(kind);
  config.train.seed = 4;
  config.train.batch_size = 16;
  config.train.pretrain_dropout = 0.0f;
  Rng rng(config.train.seed);
  auto net = std::make_shared<TextClassifier>(config.model, 22, 2, rng);
  const auto train_ids = texts(200, counting, 1), valid_ids = texts(50, counting, 2);
  PretrainRequest r;
  r.train_ids = &train_ids;
  r.valid_ids = &valid_ids;
  r.vocab_size = 22;
  r.fingerprint = "test";
  r.options.epochs = 6;
  r.options.progress = false;
  r.options.schedule.lr = 0.02f;
  r.options.schedule.warmup_steps = 0;
  r.make_optimizer = [](nn::Module& m) {
    optim::AdamOptions o;
    o.lr = 0.02f;
    return std::unique_ptr<optim::Optimizer>(std::make_unique<optim::Adam>(m.named_parameters(), o));
  };
  const train::TrainResult result = pretrain_encoder(net, config, r);
  EXPECT_EQ(result.epochs_done, 6);
  return std::exp(-result.best_score);
}

TEST(PretrainEncoder, LearnsWhatCanBePredictedAndNothingElse) {
  for (ModelKind kind : {ModelKind::kBiLstmAttention, ModelKind::kGruAttention}) {
    EXPECT_LT(pretrained_perplexity(/*counting=*/true, kind), 1.5) << model_kind_name(kind);
    // 20 equally likely tokens: a model that could see the token it predicts would get far below 20.
    EXPECT_GT(pretrained_perplexity(/*counting=*/false, kind), 17.0) << model_kind_name(kind);
  }
}

TEST(PretrainEncoder, PredictsOnlyThePretrainingVocabulary) {
  // Ids 2..11 of the random texts' 2..21 stay targets: their perplexity is that of 10 equally likely tokens.
  const double perplexity = pretrained_perplexity(/*counting=*/false, ModelKind::kBiLstmAttention, 12);
  EXPECT_GT(perplexity, 8.5);
  EXPECT_LT(perplexity, 11.5);
}

TEST(PretrainEncoder, RejectsTheTransformerAndLeavesDropoutAsConfigured) {
  ClassifyConfig config;
  config.model = tiny_config(ModelKind::kTransformer);
  config.model.heads = 2;
  Rng rng(1);
  auto transformer = std::make_shared<TextClassifier>(config.model, 22, 2, rng);
  PretrainRequest r;
  expect_error([&] { pretrain_encoder(transformer, config, r); }, {"recurrent model", "transformer"});

  config.model = tiny_config(ModelKind::kBiLstmAttention);
  config.model.dropout = 0.4f;
  config.model.embed_dropout = 0.3f;
  config.train.pretrain_dropout = 0.1f;
  auto net = std::make_shared<TextClassifier>(config.model, 22, 2, rng);
  const auto ids = texts(20, true, 1);
  r.train_ids = r.valid_ids = &ids;
  r.vocab_size = 22;
  r.options.epochs = 1;
  r.options.progress = false;
  r.make_optimizer = [](nn::Module& m) {
    return std::unique_ptr<optim::Optimizer>(std::make_unique<optim::Adam>(m.named_parameters(), optim::AdamOptions{}));
  };
  pretrain_encoder(net, config, r);
  EXPECT_TRUE(net->training());
  // The classifier's output dropout is back to 0.4 of the elements, not the pretraining's 0.1.
  const int64_t n = 10000;
  const Tensor kept = net->dropout(autograd::Var(Tensor::full({n}, 1.0f))).value();
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) zeros += kept.data()[i] == 0.0f;
  EXPECT_NEAR(double(zeros), 0.4 * double(n), 5 * std::sqrt(0.4 * 0.6 * double(n)));
}

}  // namespace
}  // namespace attn::tasks::classify
