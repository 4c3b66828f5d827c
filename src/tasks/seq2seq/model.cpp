#include "attn/tasks/seq2seq/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attn/autograd/ops/linear_cross_entropy.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "attn/autograd/ops/softmax.h"
#include "attn/core/error.h"
#include "attn/text/subword.h"
#include "models.h"

namespace attn::tasks::seq2seq {

using text::SubwordModel;

Seq2SeqBatch make_batch(const std::vector<const std::vector<int32_t>*>& sources,
                        const std::vector<const std::vector<int32_t>*>& targets) {
  ATTN_CHECK(sources.size() == targets.size() && !sources.empty(), "make_batch: {} sources and {} targets",
             sources.size(), targets.size());
  Seq2SeqBatch b;
  b.batch = int64_t(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    ATTN_CHECK(!sources[i]->empty(), "make_batch: source {} is empty", i);
    b.source_time = std::max(b.source_time, int64_t(sources[i]->size()));
    b.target_time = std::max(b.target_time, int64_t(targets[i]->size()) + 1);
  }
  b.source.assign(size_t(b.batch * b.source_time), SubwordModel::kPad);
  b.target_in.assign(size_t(b.batch * b.target_time), SubwordModel::kPad);
  b.target_out.assign(size_t(b.batch * b.target_time), -100);
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto& s = *sources[i];
    const auto& t = *targets[i];
    std::copy(s.begin(), s.end(), b.source.begin() + int64_t(i) * b.source_time);
    b.source_lengths.push_back(int32_t(s.size()));
    auto in = b.target_in.begin() + int64_t(i) * b.target_time;
    auto out = b.target_out.begin() + int64_t(i) * b.target_time;
    in[0] = SubwordModel::kBos;
    std::copy(t.begin(), t.end(), in + 1);
    std::copy(t.begin(), t.end(), out);
    out[int64_t(t.size())] = SubwordModel::kEos;
    b.target_lengths.push_back(int32_t(t.size() + 1));
  }
  return b;
}

nn::Var Seq2SeqModel::log_probabilities(const Seq2SeqBatch& batch) {
  nn::Var states = decoder_states(batch);
  states = autograd::reshape(states, {batch.batch * batch.target_time, states.size(-1)});
  return autograd::log_softmax(autograd::linear(states, output_weight(), output_bias()), -1);
}

nn::Var Seq2SeqModel::loss(const Seq2SeqBatch& batch, float label_smoothing) {
  kernels::CrossEntropyOptions options;
  options.ignore_index = -100;
  options.label_smoothing = label_smoothing;
  // The output layer fused with the loss: the [tokens, vocab] logits are never held, padding costs nothing.
  return autograd::linear_cross_entropy(decoder_states(batch), output_weight(), output_bias(), batch.target_out,
                                        options);
}

std::unique_ptr<Seq2SeqModel> build_model(const ModelConfig& config, int64_t source_vocab, int64_t target_vocab,
                                          Rng& rng) {
  ATTN_CHECK(source_vocab > SubwordModel::kEos && target_vocab > SubwordModel::kEos,
             "seq2seq model: vocabularies of {} and {} hold nothing but the special tokens", source_vocab, target_vocab);
  if (config.kind == "rnn-attn") return detail::make_rnn_attention_model(config, source_vocab, target_vocab, rng);
  ATTN_CHECK(config.kind == "transformer", "seq2seq model: unknown kind '{}'", config.kind);
  return detail::make_transformer_model(config, source_vocab, target_vocab, rng);
}

namespace detail {

Tensor gather(const Tensor& t, int64_t dim, std::span<const int64_t> rows) {
  const Tensor c = t.contiguous();
  Shape shape = c.shape();
  const int64_t n = shape.at(size_t(dim));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= shape[size_t(d)];
  for (size_t d = size_t(dim) + 1; d < shape.size(); ++d) inner *= shape[d];
  shape[size_t(dim)] = int64_t(rows.size());
  Tensor out = Tensor::empty(shape);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t r = 0; r < rows.size(); ++r) {
      ATTN_CHECK(rows[r] >= 0 && rows[r] < n, "decoder state: row {} of {}", rows[r], n);
      std::memcpy(out.data() + (o * int64_t(rows.size()) + int64_t(r)) * inner, c.data() + (o * n + rows[r]) * inner,
                  size_t(inner) * sizeof(float));
    }
  return out;
}

Seq2SeqBatch source_batch(const std::vector<std::vector<int32_t>>& sources) {
  std::vector<const std::vector<int32_t>*> s, t;
  static const std::vector<int32_t> kNone;
  for (const auto& x : sources) s.push_back(&x), t.push_back(&kNone);
  return make_batch(s, t);
}

void init_embedding(nn::Embedding& embedding, Rng& rng) {
  Tensor& w = embedding.weight.value();
  fill_normal(rng, w.data(), w.numel(), 0.0f, 1.0f / std::sqrt(float(embedding.dim())));
  std::fill(w.data(), w.data() + embedding.dim(), 0.0f);  // row 0 = <pad>
}

Tensor log_probabilities(const Tensor& logits) { return autograd::log_softmax(nn::Var(logits), -1).value(); }

}  // namespace detail
}  // namespace attn::tasks::seq2seq
