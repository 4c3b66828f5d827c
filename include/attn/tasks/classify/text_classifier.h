// The neural text classifiers: token ids -> embedding -> encoder -> attention pooling (optionally beside max
// pooling) -> linear -> class logits.
// Encoders: a bidirectional LSTM or GRU (the seeds' model: embedding -> BiLSTM -> additive attention -> softmax),
// or a Transformer encoder with sinusoidal positions. The pooling's weights over the tokens are what `explain`
// shows.
#pragma once
#include <memory>
#include <span>
#include <vector>

#include "attn/core/rng.h"
#include "attn/nn/attention/pooling.h"
#include "attn/nn/dropout.h"
#include "attn/nn/embedding.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/linear.h"
#include "attn/nn/positional/sinusoidal.h"
#include "attn/nn/rnn.h"
#include "attn/nn/transformer/encoder_layer.h"
#include "attn/tasks/classify/config.h"

namespace attn::tasks::classify {

// Word dropout: ids with each one except padding (0) replaced by <unk> with probability p, so that the model
// learns not to lean on any single word.
std::vector<int32_t> drop_words(std::span<const int32_t> ids, float p, Rng& rng);

// Rows of the n-gram table for ids [batch, time]: the n tokens ending at each position hashed (fastText's word
// n-gram hash) into [1, buckets]; 0 (the table's padding row) where the n-gram would reach before the text or
// touch padding.
std::vector<int32_t> ngram_rows(std::span<const int32_t> ids, int64_t batch, int64_t time, int64_t n, int64_t buckets);

// Parameter names: embed.weight, ngram_embed.weight (with word n-grams), encoder.* (PyTorch's LSTM/GRU names) or layers.<i>.* (TransformerEncoderLayer) and norm.*,
// pool.context, pool.proj.{weight,bias}, out.{weight,bias}.
class TextClassifier : public nn::Module {
 public:
  TextClassifier(const ModelConfig& config, int64_t vocab_size, int64_t num_classes, Rng& rng);

  // ids [batch, time] (id 0 = padding) with lengths [batch] in [1, time] -> logits [batch, classes];
  // weights, when given, receives the pooling's attention over the tokens [batch, time] (0 past each length).
  nn::Var forward(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch, int64_t time,
                  Tensor* weights = nullptr);
  // The part before the pooling: ids -> the encoder's states [batch, time, encoder_width()] (zero past each
  // length for the recurrent encoders, whose first hidden() features read left to right and the rest right to
  // left). Language-model pretraining trains this part.
  nn::Var encode(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch, int64_t time);

  int64_t num_classes() const { return num_classes_; }
  int64_t encoder_width() const { return width_; }
  // Output dropout: between the encoder and what reads it.
  nn::Var dropout(const nn::Var& x) { return dropout_->forward(x); }
  // Changes the embedding and output dropout (pretraining uses its own); the config keeps the classifier's.
  void set_dropout(float embed_dropout, float dropout);

 private:
  ModelConfig config_;
  int64_t num_classes_;
  int64_t width_ = 0;  // encoder_width()
  std::shared_ptr<nn::Embedding> embed_;
  std::shared_ptr<nn::Embedding> ngram_embed_;  // word_ngrams > 1
  std::shared_ptr<nn::Dropout> embed_dropout_, dropout_;
  std::shared_ptr<nn::RecurrentBase> rnn_;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> positions_;
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> final_norm_;  // pre-LN layers leave the residual stream unnormalised
  std::shared_ptr<nn::AttentionPooling> pool_;
  std::shared_ptr<nn::Linear> out_;
  Rng word_rng_;
};

}  // namespace attn::tasks::classify
