#include "attn/tasks/classify/pretrain.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/linear_cross_entropy.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/data/batching.h"
#include "attn/text/vocabulary.h"
#include "padded_batch.h"

namespace attn::tasks::classify {

LanguageModelTargets language_model_targets(std::span<const int32_t> ids, std::span<const int32_t> lengths,
                                            int64_t batch, int64_t time, int64_t vocab, int32_t ignore_index) {
  ATTN_CHECK(int64_t(ids.size()) == batch * time && int64_t(lengths.size()) == batch,
             "language_model_targets: {} ids and {} lengths for a batch of {} x {}", ids.size(), lengths.size(), batch,
             time);
  auto target = [&](int32_t id) {
    return id == text::Vocabulary::kPad || id == text::Vocabulary::kUnk || id >= vocab ? ignore_index : id;
  };
  LanguageModelTargets t;
  t.next.assign(ids.size(), ignore_index);
  t.prev.assign(ids.size(), ignore_index);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = lengths[size_t(b)];
    ATTN_CHECK(n >= 0 && n <= time, "language_model_targets: length {} of example {} is outside [0, {}]", n, b, time);
    const int32_t* x = ids.data() + b * time;
    for (int64_t i = 0; i + 1 < n; ++i) {
      t.next[size_t(b * time + i)] = target(x[i + 1]);
      t.prev[size_t(b * time + i + 1)] = target(x[i]);
    }
  }
  return t;
}

PretrainModel::PretrainModel(std::shared_ptr<TextClassifier> net, int64_t vocab, Rng& rng) : net_(std::move(net)) {
  ATTN_CHECK(net_->encoder_width() % 2 == 0, "PretrainModel: a bidirectional encoder has an even width, got {}",
             net_->encoder_width());
  register_module("net", net_);
  lm_ = register_module("lm", std::make_shared<nn::Linear>(net_->encoder_width() / 2, vocab, rng));
}

nn::Var PretrainModel::loss(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch,
                            int64_t time) {
  const kernels::CrossEntropyOptions ce;
  const LanguageModelTargets t = language_model_targets(ids, lengths, batch, time, vocab(), ce.ignore_index);
  nn::Var states = net_->dropout(net_->encode(ids, lengths, batch, time));
  const int64_t half = net_->encoder_width() / 2;
  auto direction_loss = [&](int64_t first, const std::vector<int32_t>& targets) {
    return autograd::linear_cross_entropy(autograd::slice(states, 2, first, first + half), lm_->weight, lm_->bias,
                                          targets, ce);
  };
  nn::Var forward = direction_loss(0, t.next), backward = direction_loss(half, t.prev);
  return autograd::scale(autograd::add(forward, backward), 0.5f);
}

namespace {

// The language model plugged into the Trainer; validation reports the perplexity of the held-out texts.
class PretrainTask : public train::TrainTask {
 public:
  PretrainTask(PretrainModel& model, const PretrainRequest& r, int64_t batch_size, uint64_t seed, int64_t bucket_factor)
      : model_(model),
        r_(r),
        batch_size_(batch_size),
        seed_(seed),
        bucket_factor_(bucket_factor),
        train_lengths_(lengths_of(*r.train_ids)) {}

  nn::Module& model() override { return model_; }
  std::string fingerprint() const override { return r_.fingerprint; }

  std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) override {
    // Another stream than the classifier's epochs, which see the same texts.
    return data::make_batches(train_lengths_, batch_size_, /*shuffle=*/true, seed_ * 1000003 + 500009 + uint64_t(epoch),
                              bucket_factor_);
  }

  train::StepStats train_step(const std::vector<size_t>& batch) override {
    PaddedBatch b = pad(*r_.train_ids, batch);
    nn::Var loss = model_.loss(b.ids, b.lengths, b.batch, b.time);
    loss.backward();
    train::StepStats s;
    s.loss_sum = double(loss.value().data()[0]) * double(b.batch);
    s.examples = b.batch;
    for (int32_t n : b.lengths) s.units += n;
    return s;
  }

  train::Validation validate() override {
    autograd::NoGradGuard no_grad;
    model_.eval();
    const auto& ids = *r_.valid_ids;
    double sum = 0;
    int64_t count = 0;
    for (const auto& indices : data::make_batches(lengths_of(ids), 2 * batch_size_, /*shuffle=*/false, 0)) {
      PaddedBatch b = pad(ids, indices);
      const kernels::CrossEntropyOptions ce;
      const LanguageModelTargets t = language_model_targets(b.ids, b.lengths, b.batch, b.time, model_.vocab(),
                                                            ce.ignore_index);
      auto counted = [&](const std::vector<int32_t>& v) {
        return int64_t(v.size()) - std::count(v.begin(), v.end(), ce.ignore_index);
      };
      const int64_t targets = counted(t.next) + counted(t.prev);
      // The batch's loss weighted by its targets (the two directions have as many, but for <unk> at either end).
      sum += double(model_.loss(b.ids, b.lengths, b.batch, b.time).value().data()[0]) * double(targets);
      count += targets;
    }
    model_.train();
    const double loss = count > 0 ? sum / double(count) : 0.0;
    return {-loss, {{"lm_loss", loss}, {"perplexity", std::exp(loss)}}};
  }

 private:
  PretrainModel& model_;
  const PretrainRequest& r_;
  int64_t batch_size_;
  uint64_t seed_;
  int64_t bucket_factor_;
  std::vector<int64_t> train_lengths_;
};

}  // namespace

train::TrainResult pretrain_encoder(const std::shared_ptr<TextClassifier>& net, const ClassifyConfig& config,
                                    const PretrainRequest& r) {
  ATTN_CHECK(config.model.kind == ModelKind::kBiLstmAttention || config.model.kind == ModelKind::kGruAttention,
             "pretraining needs a recurrent model (bilstm-attn or gru-attn), not {}",
             model_kind_name(config.model.kind));
  ATTN_CHECK(r.train_ids && r.valid_ids && !r.train_ids->empty() && !r.valid_ids->empty(),
             "pretrain_encoder: needs training and validation texts");
  Rng rng(config.train.seed);
  Rng head_init = rng.fork(7);  // the classifier's own streams are untouched
  PretrainModel model(net, std::min(r.vocab_size, config.train.pretrain_vocab), head_init);
  model.train();
  net->set_dropout(config.train.pretrain_dropout, config.train.pretrain_dropout);
  ATTN_CHECK(bool(r.make_optimizer), "pretrain_encoder: no optimizer factory");
  const TrainConfig& t = config.train;
  std::unique_ptr<optim::Optimizer> optimizer = r.make_optimizer(model);
  train::TrainerOptions o = r.options;
  o.patience = 0;
  o.ema_decay = 0;
  PretrainTask task(model, r, t.batch_size, t.seed, t.bucket_factor);
  train::TrainResult result = train::train(task, *optimizer, o);
  net->set_dropout(config.model.embed_dropout, config.model.dropout);
  net->train();
  return result;
}

}  // namespace attn::tasks::classify
