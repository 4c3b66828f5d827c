// transformer: the encoder-decoder of Vaswani et al. 2017 (pre-LN by default, with a final LayerNorm on each
// side), embeddings scaled by sqrt(d) plus sinusoidal or learned positions, optionally one embedding table for
// both languages and the output layer tied to the target embedding. Decoding keeps each layer's keys and values.
// With `copy`, the output is a pointer-generator (See et al. 2017): a copy attention over the encoder's output
// and a gate mix the vocabulary distribution with the source's own tokens.
#include <cmath>

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention_masking.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/pointer_generator.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/dropout.h"
#include "attn/nn/embedding.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/linear.h"
#include "attn/nn/positional/learned.h"
#include "attn/nn/positional/sinusoidal.h"
#include "attn/nn/transformer/decoder_layer.h"
#include "models.h"

namespace attn::tasks::seq2seq::detail {
namespace {

using autograd::Var;

class TransformerModel : public Seq2SeqModel {
 public:
  TransformerModel(const ModelConfig& c, int64_t source_vocab, int64_t target_vocab, Rng& rng) : config_(c) {
    ATTN_CHECK(!c.share_embeddings || source_vocab == target_vocab,
               "transformer: shared embeddings need one vocabulary (got {} and {})", source_vocab, target_vocab);
    Rng init = rng.fork(1), noise = rng.fork(2);
    const int64_t d = c.embed_dim;
    source_embed_ = register_module("source_embed", std::make_shared<nn::Embedding>(source_vocab, d, init, 0));
    init_embedding(*source_embed_, init);
    if (c.share_embeddings) {
      target_embed_ = source_embed_;
    } else {
      target_embed_ = register_module("target_embed", std::make_shared<nn::Embedding>(target_vocab, d, init, 0));
      init_embedding(*target_embed_, init);
    }
    if (c.positions == "learned") {
      source_positions_ = register_module("source_positions",
                                          std::make_shared<nn::LearnedPositionalEmbedding>(c.max_positions, d, init));
      target_positions_ = register_module("target_positions",
                                          std::make_shared<nn::LearnedPositionalEmbedding>(c.max_positions, d, init));
    } else {
      sinusoidal_ = std::make_shared<nn::SinusoidalPositionalEncoding>(d, c.max_positions);
    }
    nn::TransformerLayerOptions lo;
    lo.d_model = d;
    lo.num_heads = c.heads;
    lo.dim_feedforward = c.ff_dim;
    lo.dropout = c.dropout;
    lo.norm_first = c.norm_first;
    for (int64_t i = 0; i < c.encoder_layers; ++i)
      encoder_.push_back(register_module("encoder.layers." + std::to_string(i),
                                         std::make_shared<nn::TransformerEncoderLayer>(lo, init)));
    for (int64_t i = 0; i < c.decoder_layers; ++i)
      decoder_.push_back(register_module("decoder.layers." + std::to_string(i),
                                         std::make_shared<nn::TransformerDecoderLayer>(lo, init)));
    if (c.norm_first) {
      encoder_norm_ = register_module("encoder.norm", std::make_shared<nn::LayerNorm>(d));
      decoder_norm_ = register_module("decoder.norm", std::make_shared<nn::LayerNorm>(d));
    }
    if (c.tie_output)
      out_bias_ = register_parameter("out_bias", Tensor::zeros({target_vocab}));
    else
      out_ = register_module("out", std::make_shared<nn::Linear>(d, target_vocab, init));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout, noise));
    if (c.copy) {
      ATTN_CHECK(source_vocab == target_vocab, "transformer: copying needs one vocabulary (got {} and {})",
                 source_vocab, target_vocab);
      Rng copy_init = rng.fork(3);  // the other parameters stay those of the model without copying
      copy_query_ = register_module("copy.query", std::make_shared<nn::Linear>(d, d, copy_init, /*bias=*/false));
      copy_gate_ = register_module("copy.gate", std::make_shared<nn::Linear>(2 * d, 1, copy_init));
    }
  }

  Var output_weight() const override { return out_ ? out_->weight : target_embed_->weight; }
  Var output_bias() const override { return out_ ? out_->bias : out_bias_; }

  // Embedding * sqrt(d) + position, then dropout: ids [B, L] starting at position `offset`.
  Var embed(const nn::Embedding& table, const nn::LearnedPositionalEmbedding* learned, std::span<const int32_t> ids,
            int64_t batch, int64_t length, int64_t offset) {
    ATTN_CHECK(offset + length <= config_.max_positions, "transformer: position {} beyond max_positions {}",
               offset + length, config_.max_positions);
    Var x = autograd::scale(table.forward(ids, {batch, length}), std::sqrt(float(config_.embed_dim)));
    x = learned ? learned->forward(x, offset) : sinusoidal_->forward(x, offset);
    return dropout_->forward(x);
  }

  Var encode(const Seq2SeqBatch& b) {
    Var x = embed(*source_embed_, source_positions_.get(), b.source, b.batch, b.source_time, 0);
    nn::AttentionMasking masking;
    masking.key_lengths = b.source_lengths;
    for (auto& layer : encoder_) x = layer->forward(x, masking);
    return encoder_norm_ ? encoder_norm_->forward(x) : x;
  }

  Var decoder_states(const Seq2SeqBatch& b) override {
    Var memory;
    return decode(b, memory);
  }

  Var log_probabilities(const Seq2SeqBatch& b) override {
    if (!copy_gate_) return Seq2SeqModel::log_probabilities(b);
    Var memory;
    Var states = decode(b, memory);
    return copy_log_probs(states, memory, b.source_lengths, b.source);
  }

  Var loss(const Seq2SeqBatch& b, float label_smoothing) override {
    if (!copy_gate_) return Seq2SeqModel::loss(b, label_smoothing);
    kernels::CrossEntropyOptions options;
    options.ignore_index = -100;
    options.label_smoothing = label_smoothing;
    // The rows hold log P with sum(P) = 1, so the cross-entropy's softmax of them is P itself.
    return autograd::cross_entropy(log_probabilities(b), b.target_out, options);
  }

  // Pointer-generator log-probabilities [B * T, V] for decoder states [B, T, d] over the encoder output [B, S, d]
  // of sources `source_ids` [B, S] (padding past source_lengths).
  Var copy_log_probs(const Var& states, const Var& memory, std::span<const int32_t> source_lengths,
                     std::span<const int32_t> source_ids) {
    const int64_t batch = states.size(0), time = states.size(1), sources = memory.size(1);
    Var scores = autograd::matmul(copy_query_->forward(states), autograd::contiguous(autograd::transpose(memory, 1, 2)));
    autograd::ScoreMask mask;
    mask.key_lengths = source_lengths;
    Var weights = autograd::masked_softmax(autograd::scale(scores, 1.0f / std::sqrt(float(config_.embed_dim))), mask);
    Var context = autograd::matmul(weights, memory);
    Var gate = autograd::sigmoid(copy_gate_->forward(autograd::concat({states, context}, 2)));
    Var logits = autograd::linear(states, output_weight(), output_bias());
    std::vector<int32_t> ids;  // each target position copies from its own sentence's source
    ids.reserve(size_t(batch * time * sources));
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < time; ++t)
        ids.insert(ids.end(), source_ids.begin() + b * sources, source_ids.begin() + (b + 1) * sources);
    const int64_t rows = batch * time;
    return autograd::pointer_generator_log_probs(autograd::reshape(logits, {rows, logits.size(-1)}),
                                                 autograd::reshape(gate, {rows}),
                                                 autograd::reshape(weights, {rows, sources}), ids);
  }

  // The decoder's output states under teacher forcing; memory receives the encoder's output.
  Var decode(const Seq2SeqBatch& b, Var& memory) {
    memory = encode(b);
    Var x = embed(*target_embed_, target_positions_.get(), b.target_in, b.batch, b.target_time, 0);
    nn::AttentionMasking masking;
    masking.key_lengths = b.target_lengths;
    masking.causal = true;
    for (auto& layer : decoder_) x = layer->forward(x, memory, masking, b.source_lengths);
    return decoder_norm_ ? decoder_norm_->forward(x) : x;
  }

  std::unique_ptr<StepDecoder> start_decoding(const std::vector<std::vector<int32_t>>& sources,
                                              int64_t attention_layer, int64_t attention_head) override;
  int64_t heads() const { return config_.heads; }

  // One incremental decoder step: previous tokens [R] at position `offset` -> log-probabilities [R, V].
  // source_ids [R, S]: the rows' sources, for copying.
  Tensor step(std::span<const int32_t> previous, int64_t offset, const Var& memory,
              std::span<const int32_t> memory_lengths, std::span<const int32_t> source_ids,
              std::vector<nn::DecoderCache>& caches, int64_t attention_layer, bool per_head, Tensor* attention) {
    Var x = embed(*target_embed_, target_positions_.get(), previous, int64_t(previous.size()), 1, offset);
    for (size_t l = 0; l < decoder_.size(); ++l)
      x = decoder_[l]->forward_incremental(x, memory, caches[l], memory_lengths,
                                           int64_t(l) == attention_layer ? attention : nullptr, per_head);
    if (decoder_norm_) x = decoder_norm_->forward(x);
    if (copy_gate_) return copy_log_probs(x, memory, memory_lengths, source_ids).value();
    x = autograd::reshape(x, {int64_t(previous.size()), config_.embed_dim});
    return detail::log_probabilities(autograd::linear(x, output_weight(), output_bias()).value());
  }

  int64_t decoder_layers() const { return int64_t(decoder_.size()); }

 private:
  ModelConfig config_;
  std::shared_ptr<nn::Embedding> source_embed_, target_embed_;
  std::shared_ptr<nn::LearnedPositionalEmbedding> source_positions_, target_positions_;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> sinusoidal_;
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer>> encoder_;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer>> decoder_;
  std::shared_ptr<nn::LayerNorm> encoder_norm_, decoder_norm_;
  std::shared_ptr<nn::Linear> out_;
  std::shared_ptr<nn::Linear> copy_query_, copy_gate_;  // with copying
  std::shared_ptr<nn::Dropout> dropout_;
  Var out_bias_;
};

class TransformerStepDecoder : public StepDecoder {
 public:
  TransformerStepDecoder(TransformerModel& model, const std::vector<std::vector<int32_t>>& sources,
                         int64_t attention_layer, int64_t attention_head)
      : model_(model), caches_(size_t(model.decoder_layers())), attention_head_(attention_head) {
    autograd::NoGradGuard no_grad;
    model_.eval();
    ATTN_CHECK(attention_layer >= -1 && attention_layer < model.decoder_layers(),
               "transformer: attention layer {} of {} decoder layers", attention_layer, model.decoder_layers());
    ATTN_CHECK(attention_head >= -1 && attention_head < model.heads(), "transformer: attention head {} of {} heads",
               attention_head, model.heads());
    attention_layer_ = attention_layer < 0 ? model.decoder_layers() - 1 : attention_layer;
    const Seq2SeqBatch b = source_batch(sources);
    memory_ = model_.encode(b);
    lengths_ = b.source_lengths;
    source_ids_ = b.source;
  }

  Tensor step(std::span<const int32_t> previous, Tensor* attention) override {
    autograd::NoGradGuard no_grad;
    ATTN_CHECK(int64_t(previous.size()) == memory_.size(0), "transformer decoder: {} tokens for {} rows",
               previous.size(), memory_.size(0));
    Tensor out = model_.step(previous, offset_, memory_, lengths_, source_ids_, caches_, attention_layer_,
                             attention_head_ >= 0, attention);
    if (attention) {  // [R, 1, S], or [R, heads, 1, S] for one head -> [R, S]
      if (attention_head_ >= 0) *attention = attention->select(1, attention_head_).contiguous();
      *attention = attention->reshape({attention->size(0), attention->size(-1)});
    }
    ++offset_;
    return out;
  }

  void select_rows(std::span<const int64_t> rows) override {
    memory_ = Var(gather(memory_.value(), 0, rows));
    std::vector<int32_t> lengths, ids;
    const int64_t sources = memory_.size(1);
    for (int64_t r : rows) {
      lengths.push_back(lengths_.at(size_t(r)));
      ids.insert(ids.end(), source_ids_.begin() + r * sources, source_ids_.begin() + (r + 1) * sources);
    }
    lengths_ = std::move(lengths);
    source_ids_ = std::move(ids);
    for (auto& c : caches_)
      for (nn::KVCache* kv : {&c.self_attn, &c.cross_attn})
        if (kv->k.defined()) kv->k = gather(kv->k, 0, rows), kv->v = gather(kv->v, 0, rows);
  }

 private:
  TransformerModel& model_;
  std::vector<nn::DecoderCache> caches_;
  int64_t attention_layer_ = 0, attention_head_ = -1, offset_ = 0;
  Var memory_;
  std::vector<int32_t> lengths_;
  std::vector<int32_t> source_ids_;  // [rows, S]
};

std::unique_ptr<StepDecoder> TransformerModel::start_decoding(const std::vector<std::vector<int32_t>>& sources,
                                                              int64_t attention_layer, int64_t attention_head) {
  return std::make_unique<TransformerStepDecoder>(*this, sources, attention_layer, attention_head);
}

}  // namespace

std::unique_ptr<Seq2SeqModel> make_transformer_model(const ModelConfig& config, int64_t source_vocab,
                                                     int64_t target_vocab, Rng& rng) {
  return std::make_unique<TransformerModel>(config, source_vocab, target_vocab, rng);
}

}  // namespace attn::tasks::seq2seq::detail
