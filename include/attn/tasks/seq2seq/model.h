// The two sequence-to-sequence models behind one interface: rnn-attn (bidirectional GRU/LSTM encoder, GRU/LSTM
// decoder with Bahdanau or Luong attention and input feeding) and transformer (encoder-decoder with self- and
// cross-attention). Training runs the decoder over the whole target (teacher forcing); generation drives it one
// token at a time through a StepDecoder.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "attn/core/rng.h"
#include "attn/nn/module.h"
#include "attn/tasks/seq2seq/config.h"
#include "attn/tasks/seq2seq/search.h"

namespace attn::tasks::seq2seq {

// A padded batch of sentence pairs; token ids, 0 = padding.
struct Seq2SeqBatch {
  int64_t batch = 0, source_time = 0, target_time = 0;
  std::vector<int32_t> source;          // [batch, source_time]
  std::vector<int32_t> source_lengths;  // [batch], each >= 1
  std::vector<int32_t> target_in;       // [batch, target_time]: <s> y_1 .. y_n
  std::vector<int32_t> target_out;      // [batch, target_time]: y_1 .. y_n </s>, padding = -100 (ignored)
  std::vector<int32_t> target_lengths;  // n + 1
};

// Pads sources (without specials) and targets (without specials; <s> and </s> are added) into a batch.
Seq2SeqBatch make_batch(const std::vector<const std::vector<int32_t>*>& sources,
                        const std::vector<const std::vector<int32_t>*>& targets);

class Seq2SeqModel : public nn::Module {
 public:
  // The decoder's outputs under teacher forcing, [batch, target_time, width], before the output layer.
  virtual nn::Var decoder_states(const Seq2SeqBatch& batch) = 0;
  // Runs the encoder over the sources (ids without specials, each non-empty) in evaluation mode without
  // gradients and returns a decoder with one row per source. The attention it reports (Transformer): the
  // cross-attention of decoder layer attention_layer (-1: the last), head attention_head (-1: their mean).
  virtual std::unique_ptr<StepDecoder> start_decoding(const std::vector<std::vector<int32_t>>& sources,
                                                      int64_t attention_layer = -1, int64_t attention_head = -1) = 0;
  // Output layer: logits = states weight^T + bias, weight [target_vocab, width].
  virtual nn::Var output_weight() const = 0;
  virtual nn::Var output_bias() const = 0;

  // Log-probabilities of every target position under teacher forcing, [batch * target_time, target_vocab]
  // (padding rows included). By default the log-softmax of the output layer.
  virtual nn::Var log_probabilities(const Seq2SeqBatch& batch);
  // Mean cross-entropy per target token (label smoothing applies; padding ignored), shape []. By default the
  // output layer fused with the loss, which never holds the [tokens, vocab] logits.
  virtual nn::Var loss(const Seq2SeqBatch& batch, float label_smoothing);
};

std::unique_ptr<Seq2SeqModel> build_model(const ModelConfig& config, int64_t source_vocab, int64_t target_vocab,
                                          Rng& rng);

}  // namespace attn::tasks::seq2seq
