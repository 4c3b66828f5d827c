// The seq2seq models: teacher-forced training and one-token-at-a-time decoding compute the same distribution,
// beam reordering of the decoder state is exact, and a tiny model learns a copy task.
#include "attn/tasks/seq2seq/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "attn/autograd/ops/softmax.h"
#include "attn/core/threads.h"
#include "attn/optim/adam.h"
#include "support/test_util.h"

namespace attn::tasks::seq2seq {
namespace {

ModelConfig small_config(const std::string& kind, const std::string& cell = "gru",
                         const std::string& attention = "bahdanau", bool copy = false) {
  ModelConfig c;
  c.copy = copy;
  c.kind = kind;
  c.embed_dim = 16;
  c.hidden = 16;
  c.ff_dim = 24;
  c.heads = 2;
  c.encoder_layers = 2;
  c.decoder_layers = 2;
  c.cell = cell;
  c.attention = attention;
  c.dropout = 0.0f;
  return c;
}

std::vector<int32_t> random_ids(int64_t n, int32_t vocab) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(int32_t(testing::random_int(4, vocab - 1)));
  return ids;
}

struct Case {
  std::string kind, cell, attention;
  bool copy = false;
};

class ModelConsistency : public ::testing::TestWithParam<Case> {};

// Feeding the reference target token by token through the step decoder gives the teacher-forced
// log-probabilities at every position, for sentences of different lengths in one batch.
TEST_P(ModelConsistency, StepDecoderMatchesTeacherForcing) {
  const Case& p = GetParam();
  Rng rng(7);
  const int32_t vocab = 19, source_vocab = p.copy ? vocab : 23;  // copying needs one vocabulary
  auto model = build_model(small_config(p.kind, p.cell, p.attention, p.copy), source_vocab, vocab, rng);
  model->eval();
  std::vector<std::vector<int32_t>> sources = {random_ids(5, source_vocab), random_ids(1, source_vocab),
                                               random_ids(8, source_vocab)};
  std::vector<std::vector<int32_t>> targets = {random_ids(3, vocab), random_ids(6, vocab), random_ids(1, vocab)};
  std::vector<const std::vector<int32_t>*> s, t;
  for (size_t i = 0; i < sources.size(); ++i) s.push_back(&sources[i]), t.push_back(&targets[i]);
  const Seq2SeqBatch batch = make_batch(s, t);
  Tensor expected;
  {
    autograd::NoGradGuard no_grad;
    expected = model->log_probabilities(batch).value();
  }
  auto decoder = model->start_decoding(sources);
  for (int64_t step = 0; step < batch.target_time; ++step) {
    std::vector<int32_t> previous;
    for (int64_t r = 0; r < batch.batch; ++r) previous.push_back(batch.target_in[size_t(r * batch.target_time + step)]);
    Tensor attention;
    Tensor got = decoder->step(previous, &attention);
    ASSERT_EQ(got.shape(), (Shape{batch.batch, vocab}));
    ASSERT_EQ(attention.shape(), (Shape{batch.batch, batch.source_time}));
    for (int64_t r = 0; r < batch.batch; ++r) {
      if (step >= batch.target_lengths[size_t(r)]) continue;  // padding: the training loss ignores it
      double sum = 0;
      for (int64_t k = 0; k < batch.source_time; ++k) {
        const float w = attention.at({r, k});
        if (k >= batch.source_lengths[size_t(r)]) {
          EXPECT_EQ(w, 0.0f) << "padding attended";
        }
        sum += w;
      }
      EXPECT_NEAR(sum, 1.0, 1e-4);
      for (int64_t v = 0; v < vocab; ++v)
        ASSERT_NEAR(got.at({r, v}), expected.at({r * batch.target_time + step, v}), 2e-4)
            << p.kind << " row " << r << " step " << step << " token " << v;
    }
  }
}

// select_rows duplicates and reorders rows exactly: each new row continues the state of the row it copies.
TEST_P(ModelConsistency, SelectRowsReordersState) {
  const Case& p = GetParam();
  Rng rng(11);
  auto model = build_model(small_config(p.kind, p.cell, p.attention, p.copy), 17, 17, rng);
  std::vector<std::vector<int32_t>> sources = {random_ids(4, 17), random_ids(7, 17)};
  auto a = model->start_decoding(sources);
  auto b = model->start_decoding(sources);
  std::vector<int32_t> first = {5, 6};
  a->step(first, nullptr);
  b->step(first, nullptr);
  const std::vector<int64_t> rows = {1, 0, 1};
  b->select_rows(rows);
  Tensor ta = a->step(std::vector<int32_t>{7, 8}, nullptr);
  Tensor tb = b->step(std::vector<int32_t>{8, 7, 8}, nullptr);
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t v = 0; v < 17; ++v) ASSERT_NEAR(tb.at({int64_t(r), v}), ta.at({rows[r], v}), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ModelConsistency,
                         ::testing::Values(Case{"transformer", "gru", "bahdanau"},
                                           Case{"transformer", "gru", "bahdanau", true}, Case{"rnn-attn", "gru", "bahdanau"},
                                           Case{"rnn-attn", "lstm", "luong"}, Case{"rnn-attn", "gru", "luong"}),
                         [](const auto& info) {
                           std::string n = info.param.kind + (info.param.copy ? "_copy" : "") + "_" +
                                           info.param.cell + "_" + info.param.attention;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// One head's cross-attention, or their mean: the heads of a layer average to what the layer reports.
TEST(Seq2SeqModel, TransformerAttentionPerHead) {
  Rng rng(5);
  auto model = build_model(small_config("transformer"), 15, 15, rng);  // 2 heads
  const std::vector<std::vector<int32_t>> sources = {random_ids(6, 15), random_ids(3, 15)};
  std::vector<Tensor> got;
  for (int64_t head : {-1, 0, 1}) {
    auto decoder = model->start_decoding(sources, 0, head);
    Tensor a;
    decoder->step(std::vector<int32_t>{2, 2}, &a);
    decoder->step(std::vector<int32_t>{5, 9}, &a);
    ASSERT_EQ(a.shape(), (Shape{2, 6}));
    got.push_back(a);
  }
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t k = 0; k < 6; ++k)
      EXPECT_NEAR(got[0].at({r, k}), 0.5f * (got[1].at({r, k}) + got[2].at({r, k})), 1e-6);
  testing::expect_error([&] { model->start_decoding(sources, 0, 2); }, {"attention head 2 of 2"});
  testing::expect_error([&] { model->start_decoding(sources, 5, -1); }, {"attention layer 5"});
}

// A tiny model learns to reverse short sequences: the loss falls far below its starting value.
TEST(Seq2SeqModel, LearnsToReverse) {
  const int threads = num_threads();
  set_num_threads(1);  // a model this small trains fastest on one thread, above all beside other tests
  for (const std::string kind : {"rnn-attn", "transformer"}) {
    Rng rng(3);
    ModelConfig c = small_config(kind);
    c.embed_dim = c.hidden = 32;
    c.ff_dim = 64;
    c.encoder_layers = c.decoder_layers = 1;
    auto model = build_model(c, 12, 12, rng);
    optim::AdamOptions o;
    o.lr = 1e-2f;
    optim::Adam adam(model->named_parameters(), o);
    std::vector<std::vector<int32_t>> src(32), tgt(32);
    float first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
      std::vector<const std::vector<int32_t>*> s, t;
      for (size_t i = 0; i < src.size(); ++i) {
        src[i] = random_ids(testing::random_int(2, 5), 12);
        tgt[i].assign(src[i].rbegin(), src[i].rend());
        s.push_back(&src[i]), t.push_back(&tgt[i]);
      }
      model->zero_grad();
      nn::Var loss = model->loss(make_batch(s, t), 0.0f);
      loss.backward();
      adam.step();
      (step == 0 ? first : last) = loss.value().data()[0];
    }
    EXPECT_LT(last, 0.2f * first) << kind << ": loss " << first << " -> " << last;
  }
  set_num_threads(threads);
}

// Copying unseen-looking tokens: with a vocabulary too big to learn each token's mapping in the steps given, the
// pointer-generator's copy attention learns the task and the plain transformer does not.
TEST(Seq2SeqModel, CopyAttentionLearnsToCopy) {
  const int threads = num_threads();
  set_num_threads(1);
  const int32_t vocab = 400;
  float final_loss[2] = {0, 0};
  for (bool copy : {false, true}) {
    Rng rng(4);
    ModelConfig c = small_config("transformer", "gru", "bahdanau", copy);
    c.embed_dim = 32;
    c.ff_dim = 64;
    c.encoder_layers = c.decoder_layers = 1;
    auto model = build_model(c, vocab, vocab, rng);
    optim::AdamOptions o;
    o.lr = 1e-2f;
    optim::Adam adam(model->named_parameters(), o);
    std::vector<std::vector<int32_t>> src(32);
    for (int step = 0; step < 120; ++step) {
      std::vector<const std::vector<int32_t>*> s;
      for (auto& x : src) x = random_ids(testing::random_int(2, 6), vocab), s.push_back(&x);
      model->zero_grad();
      nn::Var loss = model->loss(make_batch(s, s), 0.0f);
      loss.backward();
      adam.step();
      final_loss[copy] = loss.value().data()[0];
    }
  }
  EXPECT_LT(final_loss[1], 0.3f * final_loss[0]) << "loss without copying " << final_loss[0] << ", with "
                                                << final_loss[1];
  set_num_threads(threads);
}

TEST(Seq2SeqModel, MakeBatchLayout) {
  std::vector<int32_t> s1 = {5, 6}, s2 = {7}, t1 = {8}, t2 = {9, 10};
  const Seq2SeqBatch b = make_batch({&s1, &s2}, {&t1, &t2});
  EXPECT_EQ(b.source, (std::vector<int32_t>{5, 6, 7, 0}));
  EXPECT_EQ(b.target_in, (std::vector<int32_t>{2, 8, 0, 2, 9, 10}));
  EXPECT_EQ(b.target_out, (std::vector<int32_t>{8, 3, -100, 9, 10, 3}));
  EXPECT_EQ(b.target_lengths, (std::vector<int32_t>{2, 3}));
  std::vector<int32_t> empty;
  testing::expect_error([&] { make_batch({&empty}, {&t1}); }, {"source 0 is empty"});
}

TEST(Seq2SeqModel, BadConfigs) {
  Rng rng(1);
  ModelConfig c = small_config("rnn-attn");
  c.embed_dim = 8;
  testing::expect_error([&] { build_model(c, 10, 10, rng); }, {"tie_output", "embed_dim"});
  c = small_config("transformer");
  c.share_embeddings = true;
  testing::expect_error([&] { build_model(c, 10, 12, rng); }, {"shared embeddings", "10", "12"});
  testing::expect_error([&] { build_model(small_config("transformer"), 4, 3, rng); }, {"special tokens"});
  testing::expect_error([&] { build_model(small_config("transformer", "gru", "bahdanau", true), 10, 12, rng); },
                        {"copying needs one vocabulary", "10", "12"});
}

}  // namespace
}  // namespace attn::tasks::seq2seq
