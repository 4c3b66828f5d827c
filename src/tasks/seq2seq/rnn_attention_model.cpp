// rnn-attn: the encoder-decoder of Bahdanau et al. 2015 and Luong et al. 2015 as OpenNMT builds it.
//   encoder: embedding -> bidirectional GRU/LSTM (hidden/2 per direction) -> states [B, S, hidden]
//   init:    decoder state = tanh(bridge([last forward state; last backward state])), for every decoder layer
//   step t:  h_t = cell([embed(y_{t-1}); feed_{t-1}], h_{t-1})            (input feeding, feed_0 = 0)
//            c_t = attention(h_t, encoder states)                          (additive or general)
//            feed_t = dropout(tanh(W_c [c_t; h_t]))  -> output layer
// Each decoder step is a handful of coarse ops; the recurrent cell is the one-step case of the RNN layer op.
#include <cmath>

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/rnn.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/additive.h"
#include "attn/nn/attention/common.h"
#include "attn/nn/attention/general.h"
#include "attn/nn/dropout.h"
#include "attn/nn/embedding.h"
#include "attn/nn/linear.h"
#include "attn/nn/rnn.h"
#include "models.h"

namespace attn::tasks::seq2seq::detail {
namespace {

using autograd::Var;

class RnnAttentionModel : public Seq2SeqModel {
 public:
  RnnAttentionModel(const ModelConfig& c, int64_t source_vocab, int64_t target_vocab, Rng& rng)
      : config_(c), cell_(c.cell == "lstm" ? kernels::RnnCell::kLstm : kernels::RnnCell::kGru) {
    ATTN_CHECK(!c.tie_output || c.embed_dim == c.hidden,
               "rnn-attn: tie_output needs embed_dim == hidden (got {} and {})", c.embed_dim, c.hidden);
    Rng init = rng.fork(1), noise = rng.fork(2), noise2 = rng.fork(3);
    const int64_t e = c.embed_dim, h = c.hidden;
    source_embed_ = register_module("source_embed", std::make_shared<nn::Embedding>(source_vocab, e, init, 0));
    target_embed_ = c.share_embeddings
                        ? source_embed_
                        : register_module("target_embed", std::make_shared<nn::Embedding>(target_vocab, e, init, 0));
    ATTN_CHECK(!c.share_embeddings || source_vocab == target_vocab,
               "rnn-attn: shared embeddings need one vocabulary (got {} and {})", source_vocab, target_vocab);
    init_embedding(*source_embed_, init);
    if (!c.share_embeddings) init_embedding(*target_embed_, init);
    nn::RnnOptions enc;
    enc.input_size = e;
    enc.hidden_size = h / 2;
    enc.num_layers = c.encoder_layers;
    enc.bidirectional = true;
    enc.dropout = c.dropout;
    nn::RnnOptions dec;
    dec.input_size = e + h;
    dec.hidden_size = h;
    dec.num_layers = c.decoder_layers;
    if (cell_ == kernels::RnnCell::kLstm) {
      encoder_ = register_module("encoder", std::make_shared<nn::LSTM>(enc, init));
      decoder_ = register_module("decoder", std::make_shared<nn::LSTM>(dec, init));
    } else {
      encoder_ = register_module("encoder", std::make_shared<nn::GRU>(enc, init));
      decoder_ = register_module("decoder", std::make_shared<nn::GRU>(dec, init));
    }
    bridge_ = register_module("bridge", std::make_shared<nn::Linear>(h, h, init));
    if (c.attention == "luong")
      general_ = register_module("attention", std::make_shared<nn::GeneralAttention>(h, h, init));
    else
      additive_ = register_module("attention", std::make_shared<nn::AdditiveAttention>(h, h, h, init));
    combine_ = register_module("combine", std::make_shared<nn::Linear>(2 * h, h, init, /*bias=*/false));
    if (c.tie_output) {
      out_bias_ = register_parameter("out_bias", Tensor::zeros({target_vocab}));
    } else {
      out_ = register_module("out", std::make_shared<nn::Linear>(h, target_vocab, init));
    }
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout, noise));
    layer_dropout_ = register_module("layer_dropout", std::make_shared<nn::Dropout>(c.dropout, noise2));
  }

  Var output_weight() const override { return out_ ? out_->weight : target_embed_->weight; }
  Var output_bias() const override { return out_ ? out_->bias : out_bias_; }

  // What the decoder attends to, and its state.
  struct Memory {
    Var states;     // encoder outputs [B, S, H]
    Var keys;       // projected for the attention [B, S, H]
    std::vector<int32_t> lengths;
  };
  struct State {
    std::vector<Var> h, c;  // per decoder layer [1, B, H]; c for the LSTM
    Var feed;               // [B, H]
  };

  Var decoder_states(const Seq2SeqBatch& b) override {
    Memory memory;
    State state = encode(b, memory);
    Var embedded = dropout_->forward(target_embed_->forward(b.target_in, {b.batch, b.target_time}));
    std::vector<Var> outputs;
    outputs.reserve(size_t(b.target_time));
    for (int64_t t = 0; t < b.target_time; ++t)
      outputs.push_back(autograd::reshape(step(autograd::slice(embedded, 1, t, t + 1), memory, state, nullptr),
                                          {b.batch, 1, config_.hidden}));
    return autograd::concat(outputs, 1);
  }

  std::unique_ptr<StepDecoder> start_decoding(const std::vector<std::vector<int32_t>>& sources, int64_t,
                                              int64_t) override;

  // Encoder over the batch's sources -> memory and the decoder's initial state.
  State encode(const Seq2SeqBatch& b, Memory& memory) {
    Var x = dropout_->forward(source_embed_->forward(b.source, {b.batch, b.source_time}));
    nn::RnnOutput out = cell_ == kernels::RnnCell::kLstm
                            ? std::static_pointer_cast<nn::LSTM>(encoder_)->forward(x, b.source_lengths)
                            : std::static_pointer_cast<nn::GRU>(encoder_)->forward(x, b.source_lengths);
    memory.states = out.output;
    memory.lengths = b.source_lengths;
    memory.keys = additive_ ? additive_->project_keys(out.output) : general_->w->forward(out.output);
    const int64_t top = 2 * (config_.encoder_layers - 1);
    const int64_t half = config_.hidden / 2;
    Var last = autograd::concat({autograd::reshape(autograd::slice(out.h_n, 0, top, top + 1), {b.batch, half}),
                                 autograd::reshape(autograd::slice(out.h_n, 0, top + 1, top + 2), {b.batch, half})},
                                1);
    Var h0 = autograd::reshape(autograd::tanh(bridge_->forward(last)), {1, b.batch, config_.hidden});
    State s;
    for (int64_t l = 0; l < config_.decoder_layers; ++l) {
      s.h.push_back(h0);
      if (cell_ == kernels::RnnCell::kLstm) s.c.push_back(Var(Tensor::zeros({1, b.batch, config_.hidden})));
    }
    s.feed = Var(Tensor::zeros({b.batch, config_.hidden}));
    return s;
  }

  // One decoder step for embedded previous tokens [B, 1, E]; returns (and feeds back) the attentional output.
  Var step(const Var& embedded, const Memory& memory, State& s, Tensor* weights) {
    const int64_t batch = embedded.size(0);
    Var x = autograd::concat({embedded, autograd::reshape(s.feed, {batch, 1, config_.hidden})}, 2);
    const auto& layers = decoder_->weights();
    for (size_t l = 0; l < layers.size(); ++l) {
      if (l > 0) x = layer_dropout_->forward(x);
      autograd::RnnLayerResult r =
          autograd::rnn_layer(cell_, x, {}, {layers[l]}, s.h[l], s.c.empty() ? Var() : s.c[l]);
      x = r.output;
      s.h[l] = r.h_n;
      if (!s.c.empty()) s.c[l] = r.c_n;
    }
    Var query = autograd::reshape(x, {batch, config_.hidden});
    nn::AttentionMasking masking;
    masking.key_lengths = memory.lengths;
    Var context = additive_ ? additive_->forward_projected(query, memory.keys, memory.states, masking, weights)
                            : nn::dot_product_attend(nn::query_as_sequence(query), memory.keys, memory.states, 1.0f,
                                                     masking, /*single_query=*/true, weights);
    s.feed = dropout_->forward(autograd::tanh(combine_->forward(autograd::concat({context, query}, 1))));
    return s.feed;
  }

  Var embed_target(std::span<const int32_t> ids) const {
    return target_embed_->forward(ids, {int64_t(ids.size()), 1});
  }
  Tensor logits(const Var& feed) const { return autograd::linear(feed, output_weight(), output_bias()).value(); }

 private:
  ModelConfig config_;
  kernels::RnnCell cell_;
  std::shared_ptr<nn::Embedding> source_embed_, target_embed_;
  std::shared_ptr<nn::RecurrentBase> encoder_, decoder_;
  std::shared_ptr<nn::Linear> bridge_, combine_, out_;
  std::shared_ptr<nn::AdditiveAttention> additive_;
  std::shared_ptr<nn::GeneralAttention> general_;
  std::shared_ptr<nn::Dropout> dropout_, layer_dropout_;
  Var out_bias_;
};

class RnnStepDecoder : public StepDecoder {
 public:
  RnnStepDecoder(RnnAttentionModel& model, const std::vector<std::vector<int32_t>>& sources) : model_(model) {
    autograd::NoGradGuard no_grad;
    model_.eval();
    state_ = model_.encode(source_batch(sources), memory_);
  }

  Tensor step(std::span<const int32_t> previous, Tensor* attention) override {
    autograd::NoGradGuard no_grad;
    ATTN_CHECK(int64_t(previous.size()) == memory_.states.size(0), "rnn-attn decoder: {} tokens for {} rows",
               previous.size(), memory_.states.size(0));
    Var feed = model_.step(model_.embed_target(previous), memory_, state_, attention);
    return log_probabilities(model_.logits(feed));
  }

  void select_rows(std::span<const int64_t> rows) override {
    memory_.states = Var(gather(memory_.states.value(), 0, rows));
    memory_.keys = Var(gather(memory_.keys.value(), 0, rows));
    std::vector<int32_t> lengths;
    for (int64_t r : rows) lengths.push_back(memory_.lengths.at(size_t(r)));
    memory_.lengths = std::move(lengths);
    for (auto& h : state_.h) h = Var(gather(h.value(), 1, rows));
    for (auto& c : state_.c) c = Var(gather(c.value(), 1, rows));
    state_.feed = Var(gather(state_.feed.value(), 0, rows));
  }

 private:
  RnnAttentionModel& model_;
  RnnAttentionModel::Memory memory_;
  RnnAttentionModel::State state_;
};

std::unique_ptr<StepDecoder> RnnAttentionModel::start_decoding(const std::vector<std::vector<int32_t>>& sources,
                                                               int64_t, int64_t) {
  return std::make_unique<RnnStepDecoder>(*this, sources);
}

}  // namespace

std::unique_ptr<Seq2SeqModel> make_rnn_attention_model(const ModelConfig& config, int64_t source_vocab,
                                                       int64_t target_vocab, Rng& rng) {
  return std::make_unique<RnnAttentionModel>(config, source_vocab, target_vocab, rng);
}

}  // namespace attn::tasks::seq2seq::detail
