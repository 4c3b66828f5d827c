// The neural text classifier's word dropout: which ids it replaces, how many, and that the model applies it in
// training only, from its own random stream.
#include "attn/tasks/classify/text_classifier.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/text/vocabulary.h"

namespace attn::tasks::classify {
namespace {

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

// Logits of a tiny classifier, all other dropout off, in training or evaluation mode.
std::vector<float> logits(ModelKind kind, float word_dropout, bool training, const std::vector<int32_t>& ids,
                          const std::vector<int32_t>& lengths, int64_t time) {
  ModelConfig c;
  c.kind = kind;
  c.embed_dim = 8;
  c.hidden = 8;
  c.heads = 2;
  c.ff_dim = 16;
  c.dropout = 0.0f;
  c.embed_dropout = 0.0f;
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

}  // namespace
}  // namespace attn::tasks::classify
