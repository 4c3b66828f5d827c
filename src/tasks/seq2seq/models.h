// The concrete models behind build_model, and what their step decoders share.
#pragma once
#include <memory>
#include <span>

#include "attn/core/tensor.h"
#include "attn/nn/embedding.h"
#include "attn/tasks/seq2seq/model.h"

namespace attn::tasks::seq2seq::detail {

std::unique_ptr<Seq2SeqModel> make_rnn_attention_model(const ModelConfig& config, int64_t source_vocab,
                                                       int64_t target_vocab, Rng& rng);
std::unique_ptr<Seq2SeqModel> make_transformer_model(const ModelConfig& config, int64_t source_vocab,
                                                     int64_t target_vocab, Rng& rng);

// Sub-tensors rows[0], rows[1], ... of t along dim (a row may repeat): beam reordering of decoder state.
Tensor gather(const Tensor& t, int64_t dim, std::span<const int64_t> rows);
// Padded sources of a decoding batch.
Seq2SeqBatch source_batch(const std::vector<std::vector<int32_t>>& sources);
// Embedding tables start as N(0, 1/dim) (so a tied output layer starts with small logits), padding row zero.
void init_embedding(nn::Embedding& embedding, Rng& rng);
// log_softmax over the last dimension of logits [rows, vocab] (no gradient).
Tensor log_probabilities(const Tensor& logits);

}  // namespace attn::tasks::seq2seq::detail
