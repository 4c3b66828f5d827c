// The neural text classifier's word dropout (which ids it replaces, how many, and that the model applies it in
// training only, from its own random stream), its hashed word n-gram embeddings and its max pooling.
#include "attn/tasks/classify/text_classifier.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/ops/reduce.h"
#include "attn/text/vocabulary.h"
#include "support/test_util.h"

namespace attn::tasks::classify {
namespace {

using testing::expect_error;
using text::Vocabulary;

std::vector<int32_t> random_ids(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = int32_t(rng.uniform_int(50));  // about one in 50 is padding, one in 50 <unk>
  return ids;
}

TEST(WordDropout, ReplacesAboutAShareOfTheWordsByUnkAndNeverPadding) {
  const std::vector<int32_t> ids = random_ids(100000, 3);
  for (float p : {0.0f, 0.1f, 0.5f}) {
    Rng rng(9);
    const std::vector<int32_t> out = drop_words(ids, p, rng);
    ASSERT_EQ(out.size(), ids.size());
    int64_t words = 0, dropped = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == Vocabulary::kPad) {
        EXPECT_EQ(out[i], Vocabulary::kPad) << i;
        continue;
      }
      ++words;
      if (out[i] != ids[i]) {
        EXPECT_EQ(out[i], Vocabulary::kUnk) << i;
        ++dropped;
      }
    }
    // <unk> replaced by <unk> is not seen as a change: expect p of the other words, within 5 standard deviations.
    const double changeable = double(words) * (1.0 - 1.0 / 49.0);
    EXPECT_NEAR(double(dropped), p * changeable, 5 * std::sqrt(changeable * p * (1 - p)) + 1e-9) << p;
  }
  Rng a(5), b(5);
  EXPECT_EQ(drop_words(ids, 0.3f, a), drop_words(ids, 0.3f, b));
  EXPECT_TRUE(drop_words({}, 0.3f, a).empty());
}

ModelConfig tiny_config(ModelKind kind) {
  ModelConfig c;
  c.kind = kind;
  c.embed_dim = 8;
  c.hidden = 8;
  c.heads = 2;
  c.ff_dim = 16;
  c.dropout = 0.0f;
  c.embed_dropout = 0.0f;
  return c;
}

// Logits of a tiny classifier, all other dropout off, in training or evaluation mode.
std::vector<float> logits(ModelKind kind, float word_dropout, bool training, const std::vector<int32_t>& ids,
                          const std::vector<int32_t>& lengths, int64_t time) {
  ModelConfig c = tiny_config(kind);
  c.word_dropout = word_dropout;
  Rng rng(11);
  TextClassifier net(c, 30, 2, rng);
  if (!training) net.eval();
  const Tensor out = net.forward(ids, lengths, int64_t(lengths.size()), time).value();
  return std::vector<float>(out.data(), out.data() + out.numel());
}

TEST(WordDropout, TheModelDropsWordsInTrainingOnly) {
  const std::vector<int32_t> ids = {5, 9, 2, 7, 3, 0, 0,  //
                                    4, 8, 6, 2, 9, 3, 7};
  const std::vector<int32_t> lengths = {5, 7};
  for (ModelKind kind : {ModelKind::kBiLstmAttention, ModelKind::kTransformer}) {
    EXPECT_EQ(logits(kind, 0.5f, false, ids, lengths, 7), logits(kind, 0.0f, false, ids, lengths, 7));
    // In training, the same as the model without word dropout given the ids its stream (fork 4 of the seed's)
    // drops.
    Rng stream = Rng(11).fork(4);
    const std::vector<int32_t> dropped = drop_words(ids, 0.5f, stream);
    ASSERT_NE(dropped, ids);
    EXPECT_EQ(logits(kind, 0.5f, true, ids, lengths, 7), logits(kind, 0.0f, true, dropped, lengths, 7));
  }
}

TEST(WordNgrams, RowsHashTheTokensEndingAtEachPosition) {
  const int64_t time = 6, buckets = 1000;
  const std::vector<int32_t> ids = {5, 9, 4, 5, 9, 0,  //
                                    7, 5, 9, 0, 0, 0};
  const std::vector<int32_t> rows = ngram_rows(ids, 2, time, 2, buckets);
  // fastText's hash of the ids (5, 9): (5 * 116049371 + 9) mod 1000 = 864, shifted past the padding row.
  EXPECT_EQ(rows[1], 865);
  EXPECT_EQ(rows[4], rows[1]);         // the same bigram elsewhere in the text
  EXPECT_EQ(rows[time + 2], rows[1]);  // and in another text
  EXPECT_NE(rows[2], rows[1]);
  for (size_t i : {0, 5, 6, 9, 10, 11}) EXPECT_EQ(rows[i], 0) << i;  // before the text or touching padding
  for (int32_t r : rows) EXPECT_TRUE(r >= 0 && r <= buckets);
  const std::vector<int32_t> trigrams = ngram_rows(ids, 2, time, 3, buckets);
  EXPECT_EQ(trigrams[1], 0);
  EXPECT_NE(trigrams[time + 2], 0);
  EXPECT_EQ(trigrams[time + 3], 0);
  EXPECT_NE(trigrams[2], 0);
  EXPECT_EQ(ngram_rows(ids, 2, time, 1, buckets)[0], 5 % buckets + 1);
  expect_error([&] { ngram_rows(ids, 3, time, 2, buckets); }, {"ngram_rows", "12 ids", "3 x 6"});
}

TEST(WordNgrams, AddToTheTokenEmbeddingsAndLearn) {
  const std::vector<int32_t> ids = {5, 9, 2, 7, 3, 0, 0,  //
                                    4, 8, 6, 2, 9, 3, 7};
  const std::vector<int32_t> lengths = {5, 7};
  for (ModelKind kind : {ModelKind::kBiLstmAttention, ModelKind::kTransformer}) {
    ModelConfig plain = tiny_config(kind), with_ngrams = plain;
    with_ngrams.word_ngrams = 3;
    with_ngrams.ngram_buckets = 50;
    Rng rng_plain(11), rng_ngrams(11);
    TextClassifier a(plain, 30, 2, rng_plain), b(with_ngrams, 30, 2, rng_ngrams);
    a.eval();
    b.eval();
    auto logits_of = [&](TextClassifier& net) {
      const Tensor out = net.forward(ids, lengths, 2, 7).value();
      return std::vector<float>(out.data(), out.data() + out.numel());
    };
    EXPECT_NE(logits_of(a), logits_of(b));
    nn::Var table;
    for (auto& [name, p] : b.named_parameters())
      if (name == "ngram_embed.weight") table = p;
    ASSERT_TRUE(table.defined());
    EXPECT_EQ(table.value().shape(), (Shape{51, 8}));
    table.value().fill(0.0f);  // a zero table adds nothing: the rest is the model without n-grams
    EXPECT_EQ(logits_of(a), logits_of(b));
    // Gradients reach the rows of the n-grams in the batch, and no other row.
    table.value().fill(0.1f);
    b.train();
    autograd::sum(b.forward(ids, lengths, 2, 7)).backward();
    std::vector<bool> used(51, false);
    for (int64_t n : {2, 3})
      for (int32_t r : ngram_rows(ids, 2, 7, n, 50)) used[size_t(r)] = r != 0;
    const Tensor& g = table.grad();
    for (int64_t r = 0; r < 51; ++r) {
      float norm = 0;
      for (int64_t d = 0; d < 8; ++d) norm += std::fabs(g.data()[r * 8 + d]);
      EXPECT_EQ(norm > 0, bool(used[size_t(r)])) << "row " << r;
    }
  }
}

// --pool attention-max: the classifier reads [attention pooling, max over the valid steps]; padding past a text's
// length never wins the maximum (a recurrent encoder's outputs there are zeros, above negative features).
TEST(MaxPooling, SitsBesideTheAttentionPoolingAndIgnoresPadding) {
  const std::vector<int32_t> lengths = {3, 5};
  const std::vector<int32_t> ids = {5, 9, 2, 0, 0,  //
                                    4, 8, 6, 2, 9};
  const std::vector<int32_t> longer = {5, 9, 2, 0, 0, 0, 0, 0,  //
                                       4, 8, 6, 2, 9, 0, 0, 0};
  for (ModelKind kind : {ModelKind::kBiLstmAttention, ModelKind::kTransformer}) {
    ModelConfig config = tiny_config(kind);
    config.pool = "attention-max";
    Rng rng(4);
    TextClassifier net(config, 30, 2, rng);
    net.eval();
    const int64_t width = kind == ModelKind::kTransformer ? config.embed_dim : 2 * config.hidden;
    nn::Var out_weight;
    for (auto& [name, p] : net.named_parameters())
      if (name == "out.weight") out_weight = p;
    ASSERT_TRUE(out_weight.defined());
    EXPECT_EQ(out_weight.value().shape(), (Shape{2, 2 * width}));
    const std::vector<float> logits = net.forward(ids, lengths, 2, 5).value().to_vector();
    EXPECT_EQ(net.forward(longer, lengths, 2, 8).value().to_vector(), logits);
    // The max-pooled half of the output layer matters, and learns.
    net.train();
    autograd::sum(net.forward(ids, lengths, 2, 5)).backward();
    const Tensor& g = out_weight.grad();
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t j = width; j < 2 * width; ++j) EXPECT_NE(g.data()[c * 2 * width + j], 0.0f) << c << " " << j;
    net.eval();
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t j = width; j < 2 * width; ++j) out_weight.value().data()[c * 2 * width + j] += 0.5f;
    EXPECT_NE(net.forward(ids, lengths, 2, 5).value().to_vector(), logits);
  }
}

}  // namespace
}  // namespace attn::tasks::classify
