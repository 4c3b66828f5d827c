#include "attn/tasks/classify/text_classifier.h"

#include <cmath>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/text/vocabulary.h"

namespace attn::tasks::classify {

std::vector<int32_t> drop_words(std::span<const int32_t> ids, float p, Rng& rng) {
  std::vector<int32_t> out(ids.begin(), ids.end());
  for (int32_t& id : out)
    if (id != text::Vocabulary::kPad && rng.uniform() < p) id = text::Vocabulary::kUnk;
  return out;
}

std::vector<int32_t> ngram_rows(std::span<const int32_t> ids, int64_t batch, int64_t time, int64_t n, int64_t buckets) {
  ATTN_CHECK(int64_t(ids.size()) == batch * time && n >= 1 && buckets >= 1,
             "ngram_rows: {} ids for a batch of {} x {}, n {}, buckets {}", ids.size(), batch, time, n, buckets);
  std::vector<int32_t> rows(ids.size(), 0);
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t* x = ids.data() + b * time;
    for (int64_t t = n - 1; t < time; ++t) {
      uint64_t h = 0;
      bool padded = false;
      for (int64_t j = t - n + 1; j <= t; ++j) {
        padded = padded || x[j] == text::Vocabulary::kPad;
        h = h * 116049371u + uint64_t(x[j]);
      }
      if (!padded) rows[size_t(b * time + t)] = int32_t(h % uint64_t(buckets)) + 1;
    }
  }
  return rows;
}

TextClassifier::TextClassifier(const ModelConfig& config, int64_t vocab_size, int64_t num_classes, Rng& rng)
    : config_(config), num_classes_(num_classes), word_rng_(rng.fork(4)) {
  ATTN_CHECK(config.kind != ModelKind::kTfidf, "TextClassifier: tfidf is not a neural model");
  ATTN_CHECK(vocab_size >= 2 && num_classes >= 2, "TextClassifier: needs a vocabulary (got {}) and >= 2 classes (got {})",
             vocab_size, num_classes);
  Rng init = rng.fork(1), noise = rng.fork(2);
  const int64_t e = config.embed_dim;
  embed_ = register_module("embed", std::make_shared<nn::Embedding>(vocab_size, e, init, /*padding_idx=*/0));
  if (config.word_ngrams > 1) {  // its own stream: the other parameters stay those of the model without n-grams
    Rng ngram_init = rng.fork(5);
    ngram_embed_ = register_module("ngram_embed", std::make_shared<nn::Embedding>(config.ngram_buckets + 1, e,
                                                                                  ngram_init, /*padding_idx=*/0));
  }
  width_ = e;
  if (config.kind == ModelKind::kTransformer) {
    positions_ = std::make_shared<nn::SinusoidalPositionalEncoding>(e);
    nn::TransformerLayerOptions lo;
    lo.d_model = e;
    lo.num_heads = config.heads;
    lo.dim_feedforward = config.ff_dim;
    lo.dropout = config.dropout;
    lo.norm_first = true;  // pre-LN trains stably without a long warm-up
    for (int64_t i = 0; i < config.layers; ++i)
      layers_.push_back(register_module("layers." + std::to_string(i),
                                        std::make_shared<nn::TransformerEncoderLayer>(lo, init)));
    final_norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(e));
  } else {
    nn::RnnOptions ro;
    ro.input_size = e;
    ro.hidden_size = config.hidden;
    ro.num_layers = config.layers;
    ro.bidirectional = true;
    ro.dropout = config.dropout;
    if (config.kind == ModelKind::kGruAttention)
      rnn_ = register_module("encoder", std::make_shared<nn::GRU>(ro, init));
    else
      rnn_ = register_module("encoder", std::make_shared<nn::LSTM>(ro, init));
    width_ = 2 * config.hidden;
  }
  const int64_t attention_dim = config.attention_dim > 0 ? config.attention_dim : width_;
  pool_ = register_module("pool", std::make_shared<nn::AttentionPooling>(width_, attention_dim, init));
  const int64_t pooled = config.pool == "attention-max" ? 2 * width_ : width_;
  out_ = register_module("out", std::make_shared<nn::Linear>(pooled, num_classes, init));
  embed_dropout_ = register_module("embed_dropout", std::make_shared<nn::Dropout>(config.embed_dropout, noise));
  Rng noise2 = rng.fork(3);
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(config.dropout, noise2));
  register_rng("word_dropout", word_rng_);
}

void TextClassifier::set_dropout(float embed_dropout, float dropout) {
  embed_dropout_->set_p(embed_dropout);
  dropout_->set_p(dropout);
}

nn::Var TextClassifier::encode(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch,
                               int64_t time) {
  ATTN_CHECK(int64_t(ids.size()) == batch * time && int64_t(lengths.size()) == batch,
             "TextClassifier: {} ids and {} lengths for a batch of {} x {}", ids.size(), lengths.size(), batch, time);
  std::vector<int32_t> dropped;
  if (training() && config_.word_dropout > 0) {
    dropped = drop_words(ids, config_.word_dropout, word_rng_);
    ids = dropped;
  }
  nn::Var x = embed_->forward(ids, {batch, time});
  for (int64_t n = 2; n <= config_.word_ngrams; ++n)
    x = autograd::add(x, ngram_embed_->forward(ngram_rows(ids, batch, time, n, config_.ngram_buckets), {batch, time}));
  if (config_.kind == ModelKind::kTransformer) {
    x = positions_->forward(autograd::scale(x, std::sqrt(float(config_.embed_dim))));
    x = embed_dropout_->forward(x);
    nn::AttentionMasking masking;
    masking.key_lengths = lengths;
    for (auto& layer : layers_) x = layer->forward(x, masking);
    x = final_norm_->forward(x);
  } else {
    x = embed_dropout_->forward(x);
    x = rnn_->cell() == kernels::RnnCell::kGru ? std::static_pointer_cast<nn::GRU>(rnn_)->forward(x, lengths).output
                                               : std::static_pointer_cast<nn::LSTM>(rnn_)->forward(x, lengths).output;
  }
  return x;
}

nn::Var TextClassifier::forward(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch,
                                int64_t time, Tensor* weights) {
  nn::Var x = encode(ids, lengths, batch, time);
  nn::Var pooled = pool_->forward(x, lengths, weights);
  if (config_.pool == "attention-max") pooled = autograd::concat({pooled, autograd::max_over_steps(x, lengths)}, 1);
  return out_->forward(dropout_->forward(pooled));
}

}  // namespace attn::tasks::classify
