#include "attn/tasks/classify/classifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "attn/autograd/ops/loss.h"
#include "attn/core/error.h"
#include "attn/data/batching.h"
#include "attn/data/label_set.h"
#include "attn/data/split.h"
#include "attn/io/atomic_directory.h"
#include "attn/io/state.h"
#include "attn/optim/adam.h"
#include "attn/optim/adamw.h"
#include "attn/tasks/classify/pretrain.h"
#include "attn/tasks/classify/text_classifier.h"
#include "attn/tasks/classify/text_encoder.h"
#include "attn/tasks/classify/tfidf_classifier.h"
#include "padded_batch.h"

namespace attn::tasks::classify {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int32_t argmax(const float* p, int64_t n) { return int32_t(std::max_element(p, p + n) - p); }

std::vector<float> softmax_row(const float* logits, int64_t n) {
  std::vector<float> p(logits, logits + n);
  const float m = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (float& v : p) sum += (v = std::exp(v - m));
  for (float& v : p) v = float(v / sum);
  return p;
}

// Runs the network over sequences in length-sorted batches; calls visit(index, logits row, weights row, length).
template <class Visit>
void run_network(TextClassifier& net, const std::vector<std::vector<int32_t>>& sequences, int64_t batch_size,
                 bool want_weights, Visit&& visit) {
  autograd::NoGradGuard no_grad;
  net.eval();
  const auto batches = data::make_batches(lengths_of(sequences), batch_size, /*shuffle=*/false, 0);
  Tensor weights;
  for (const auto& indices : batches) {
    PaddedBatch b = pad(sequences, indices);
    Tensor logits = net.forward(b.ids, b.lengths, b.batch, b.time, want_weights ? &weights : nullptr).value();
    for (size_t r = 0; r < indices.size(); ++r)
      visit(indices[r], logits.data() + int64_t(r) * net.num_classes(),
            want_weights ? weights.data() + int64_t(r) * b.time : nullptr, b.lengths[r]);
  }
}

std::vector<int32_t> predict_labels(TextClassifier& net, const std::vector<std::vector<int32_t>>& sequences,
                                    int64_t batch_size) {
  std::vector<int32_t> out(sequences.size());
  run_network(net, sequences, batch_size, false,
              [&](size_t i, const float* logits, const float*, int32_t) { out[i] = argmax(logits, net.num_classes()); });
  return out;
}

// The neural classifier plugged into the Trainer.
class NeuralTask : public train::TrainTask {
 public:
  NeuralTask(TextClassifier& net, const TrainConfig& config, std::string fingerprint,
             const std::vector<std::vector<int32_t>>& train_ids, const std::vector<int32_t>& train_labels,
             const std::vector<std::vector<int32_t>>& valid_ids, const std::vector<int32_t>& valid_labels)
      : net_(net),
        config_(config),
        fingerprint_(std::move(fingerprint)),
        train_ids_(train_ids),
        train_labels_(train_labels),
        valid_ids_(valid_ids),
        valid_labels_(valid_labels),
        train_lengths_(lengths_of(train_ids)) {}

  nn::Module& model() override { return net_; }
  std::string fingerprint() const override { return fingerprint_; }

  std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) override {
    return data::make_batches(train_lengths_, config_.batch_size, /*shuffle=*/true,
                              config_.seed * 1000003 + uint64_t(epoch), config_.bucket_factor);
  }

  train::StepStats train_step(const std::vector<size_t>& batch) override {
    PaddedBatch b = pad(train_ids_, batch);
    std::vector<int32_t> targets;
    for (size_t i : batch) targets.push_back(train_labels_[i]);
    nn::Var logits = net_.forward(b.ids, b.lengths, b.batch, b.time);
    nn::Var loss = autograd::cross_entropy(logits, targets);
    train::StepStats s;
    s.loss_sum = double(loss.value().data()[0]) * double(b.batch);
    loss.backward();
    s.examples = b.batch;
    s.units = std::accumulate(b.lengths.begin(), b.lengths.end(), int64_t(0));
    s.correct = 0;
    const Tensor& l = logits.value();
    for (int64_t r = 0; r < b.batch; ++r)
      s.correct += argmax(l.data() + r * net_.num_classes(), net_.num_classes()) == targets[size_t(r)];
    tokens_ += s.units;
    examples_ += s.examples;
    return s;
  }

  train::Validation validate() override {
    last_report_ = metrics::classification_report(valid_labels_, predict_labels(net_, valid_ids_, 2 * config_.batch_size),
                                                  int32_t(net_.num_classes()));
    return {last_report_.accuracy, {{"accuracy", last_report_.accuracy}, {"macro_f1", last_report_.macro_f1}}};
  }

  int64_t tokens_ = 0, examples_ = 0;
  metrics::ClassificationReport last_report_;

 private:
  TextClassifier& net_;
  const TrainConfig& config_;
  std::string fingerprint_;
  const std::vector<std::vector<int32_t>>& train_ids_;
  const std::vector<int32_t>& train_labels_;
  const std::vector<std::vector<int32_t>>& valid_ids_;
  const std::vector<int32_t>& valid_labels_;
  std::vector<int64_t> train_lengths_;
};

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& t, nn::Module& model) {
  if (t.optimizer == "adamw") {
    optim::AdamWOptions o;
    o.lr = t.lr;
    o.weight_decay = t.weight_decay;
    return std::make_unique<optim::AdamW>(model.named_parameters(), o);
  }
  optim::AdamOptions o;
  o.lr = t.lr;
  o.weight_decay = t.weight_decay;
  return std::make_unique<optim::Adam>(model.named_parameters(), o);
}

train::TrainerOptions trainer_options(const TrainConfig& t, const std::string& output_dir, bool resume,
                                      bool progress) {
  train::TrainerOptions o;
  o.epochs = t.epochs;
  o.patience = t.patience;
  o.max_seconds = t.max_minutes * 60;
  o.ema_decay = t.ema_decay;
  o.clip_norm = t.clip_norm;
  o.schedule.kind = optim::parse_schedule_kind(t.schedule);
  o.schedule.lr = t.lr;
  o.schedule.warmup_steps = t.warmup_steps;
  o.checkpoint_path = train::checkpoint_path_for(output_dir);
  o.resume = resume;
  o.unit = "tok";
  o.progress = progress;
  return o;
}

// Where language-model pretraining keeps its checkpoint until the model directory is written.
std::string pretrain_checkpoint_path(const std::string& output_dir) {
  return train::checkpoint_path_for(output_dir) + "-pretrain";
}

// What a run's checkpoint depends on: the config (less what a resumed run may change) and the vocabulary.
// Pretraining does not read the classifier's learning rate, dropout or moving average, so a run stopped while
// pretraining may resume with other values of those.
std::string fingerprint(const ClassifyConfig& config, const text::Vocabulary& vocabulary, bool pretraining) {
  nlohmann::json j = to_json(config);
  for (const char* key : {"epochs", "pretrain_epochs", "patience", "max_minutes"}) j["train"].erase(key);
  j["model"].erase("ensemble");  // a checkpoint holds one network, an ensemble's member
  if (pretraining) {
    for (const char* key : {"lr", "ema_decay"}) j["train"].erase(key);
    for (const char* key : {"dropout", "embed_dropout"}) j["model"].erase(key);
  }
  std::string text = j.dump();
  for (int32_t i = 0; i < vocabulary.size(); ++i) text += "\n" + vocabulary.token(i);
  return train::digest(text) + (pretraining ? "/pretrain" : "");
}

// Splits examples into train and validation parts, and label ids for both.
struct Prepared {
  std::vector<std::string> train_texts, valid_texts;
  std::vector<int32_t> train_labels, valid_labels;
  data::LabelSet labels;
  int64_t skipped = 0;
};

Prepared prepare(const TrainRequest& r) {
  Prepared p;
  data::TextReadReport report;
  std::vector<data::TextExample> train = data::read_text_dataset(r.train_path, r.read, &report);
  p.skipped = int64_t(report.skipped);
  ATTN_CHECK(!train.empty(), "{}: no examples", r.train_path);
  std::vector<data::TextExample> valid;
  if (!r.valid_path.empty()) {
    data::TextReadReport vreport;
    valid = data::read_text_dataset(r.valid_path, r.read, &vreport);
    p.skipped += int64_t(vreport.skipped);
    ATTN_CHECK(!valid.empty(), "{}: no examples", r.valid_path);
  }
  p.labels = data::LabelSet::from(train);
  ATTN_CHECK(p.labels.size() >= 2, "{}: every example has the label '{}'; a classifier needs at least two classes",
             r.train_path, p.labels.name(0));
  std::vector<int32_t> ids;
  for (const auto& e : train) ids.push_back(p.labels.id(e.label));
  if (valid.empty()) {
    data::Split split =
        data::stratified_split(ids, r.config.train.valid_fraction, r.data_seed.value_or(r.config.train.seed));
    ATTN_CHECK(!split.valid.empty() && !split.train.empty(),
               "{}: {} examples are too few to hold out a validation set; give --valid FILE", r.train_path,
               train.size());
    for (size_t i : split.train) {
      p.train_texts.push_back(std::move(train[i].text));
      p.train_labels.push_back(ids[i]);
    }
    for (size_t i : split.valid) {
      p.valid_texts.push_back(std::move(train[i].text));
      p.valid_labels.push_back(ids[i]);
    }
  } else {
    for (size_t i = 0; i < train.size(); ++i) {
      p.train_texts.push_back(std::move(train[i].text));
      p.train_labels.push_back(ids[i]);
    }
    for (auto& e : valid) {
      auto id = p.labels.find(e.label);
      ATTN_CHECK(id.has_value(), "{}: label '{}' does not occur in the training data {} (it has: {})", e.where, e.label,
                 r.train_path, fmt::join(p.labels.names(), ", "));
      p.valid_texts.push_back(std::move(e.text));
      p.valid_labels.push_back(*id);
    }
  }
  return p;
}

void say(bool on, const std::string& line) {
  if (on) std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

struct Classifier::Impl {
  ClassifyConfig config;
  std::optional<TextEncoder> encoder;
  std::unique_ptr<TextClassifier> net;
  std::optional<TfidfClassifier> tfidf;
  std::vector<Classifier> members;  // an ensemble: the rest is empty

  int64_t batch_size() const { return 2 * config.train.batch_size; }
};

namespace {
TrainSummary train_ensemble(const TrainRequest& r);
constexpr const char* kMembersDir = "members";
}  // namespace

TrainSummary train_classifier(const TrainRequest& r) {
  if (r.config.model.ensemble > 1) return train_ensemble(r);
  const auto t0 = Clock::now();
  validate(r.config);
  // Problems with the output are found now rather than after the training they would throw away.
  io::check_directory_target(r.output_dir, kConfigFile);
  const std::string checkpoint = train::checkpoint_path_for(r.output_dir);
  const std::string pretrain_checkpoint = pretrain_checkpoint_path(r.output_dir);
  // A run stopped while pretraining continues that; one stopped later has the pretrained weights in its checkpoint.
  const bool resume_training = r.resume && fs::exists(checkpoint);
  const bool resume_pretraining = r.resume && !resume_training && fs::exists(pretrain_checkpoint);
  ATTN_CHECK(!r.resume || r.config.model.kind == ModelKind::kTfidf || resume_training || resume_pretraining,
             "{}: no checkpoint to resume from (--resume continues a run stopped by Ctrl-C); train without --resume",
             checkpoint);
  TrainSummary summary;
  Prepared p = prepare(r);
  ClassifyConfig config = r.config;
  config.labels = p.labels.names();
  summary.labels = config.labels;
  summary.train_examples = int64_t(p.train_texts.size());
  summary.valid_examples = int64_t(p.valid_texts.size());
  summary.skipped = p.skipped;
  say(r.progress, fmt::format("data: {} training and {} validation examples, {} classes ({}){}",
                              summary.train_examples, summary.valid_examples, config.labels.size(),
                              fmt::join(config.labels, ", "),
                              p.skipped ? fmt::format(", {} bad rows skipped", p.skipped) : ""));
  const bool is_tfidf = config.model.kind == ModelKind::kTfidf;
  TextEncoder encoder =
      TextEncoder::fit(config.preprocess, p.train_texts, r.data_seed.value_or(config.train.seed), !is_tfidf);
  const int32_t num_classes = int32_t(config.labels.size());

  if (is_tfidf) {
    const auto train_tokens = encoder.tokens(p.train_texts, /*truncate=*/false);
    const auto fit_t0 = Clock::now();
    auto vectorizer = text::TfidfVectorizer::fit(train_tokens, config.model.tfidf);
    text::SparseRows x = vectorizer.transform(train_tokens);
    summary.vocabulary = vectorizer.num_features();
    say(r.progress, fmt::format("tfidf: {} features", summary.vocabulary));
    const LogisticOptions& lo = config.model.logistic;
    int iterations = 0;
    TfidfClassifier model = TfidfClassifier::train(std::move(vectorizer), x, p.train_labels, num_classes, lo,
                                                   [&](int iteration, double loss) {
                                                     iterations = iteration;
                                                     if (iteration % 10 == 0)
                                                       say(r.progress, fmt::format("L-BFGS iteration {}: loss {:.4f}",
                                                                                   iteration, loss));
                                                   });
    const double train_seconds = seconds_since(fit_t0);
    say(r.progress, fmt::format("tfidf: trained in {:.1f} s ({} L-BFGS iterations)", train_seconds, iterations));
    summary.examples_per_second = double(p.train_texts.size()) / std::max(train_seconds, 1e-9);
    const auto probs = model.predict_proba(model.vectorizer().transform(encoder.tokens(p.valid_texts, false)));
    std::vector<int32_t> predicted(p.valid_texts.size());
    for (size_t i = 0; i < predicted.size(); ++i) predicted[i] = argmax(probs.data() + i * size_t(num_classes), num_classes);
    summary.valid = metrics::classification_report(p.valid_labels, predicted, num_classes);
    io::write_directory_atomic(r.output_dir, kConfigFile, [&](const std::string& dir) {
      model.save(dir);
      encoder.save(dir);
      io::write_json_atomic((fs::path(dir) / kConfigFile).string(), to_json(config));
    });
    summary.seconds = seconds_since(t0);
    return summary;
  }

  summary.vocabulary = encoder.vocabulary().size();
  say(r.progress, fmt::format("vocabulary: {} tokens (min count {}, max {})", summary.vocabulary,
                              config.preprocess.min_count, config.preprocess.max_vocab));
  const auto train_ids = encoder.encode(p.train_texts);
  const auto valid_ids = encoder.encode(p.valid_texts);
  Rng rng(config.train.seed);
  auto shared_net = std::make_shared<TextClassifier>(config.model, encoder.vocabulary().size(), num_classes, rng);
  TextClassifier& net = *shared_net;
  say(r.progress, fmt::format("model: {}, {} parameters", model_kind_name(config.model.kind), net.parameter_count()));

  if (config.train.pretrain_epochs > 0 && !resume_training) {
    say(r.progress, fmt::format("pretraining the encoder as a language model for {} epochs",
                                config.train.pretrain_epochs));
    PretrainRequest pr;
    pr.train_ids = &train_ids;
    pr.valid_ids = &valid_ids;
    pr.vocab_size = encoder.vocabulary().size();
    pr.fingerprint = fingerprint(config, encoder.vocabulary(), /*pretraining=*/true);
    pr.options = trainer_options(config.train, r.output_dir, resume_pretraining, r.progress);
    pr.options.epochs = config.train.pretrain_epochs;
    pr.options.schedule.lr = config.train.pretrain_lr;
    pr.options.checkpoint_path = pretrain_checkpoint;
    pr.make_optimizer = [&](nn::Module& m) {
      TrainConfig t = config.train;
      t.lr = config.train.pretrain_lr;
      return make_optimizer(t, m);
    };
    const train::TrainResult pretrained = pretrain_encoder(shared_net, config, pr);
    if (pretrained.interrupted) {
      summary.interrupted = true;
      summary.seconds = seconds_since(t0);
      return summary;
    }
  }
  auto optimizer = make_optimizer(config.train, net);
  NeuralTask task(net, config.train, fingerprint(config, encoder.vocabulary(), false), train_ids, p.train_labels,
                  valid_ids, p.valid_labels);
  summary.result =
      train::train(task, *optimizer, trainer_options(config.train, r.output_dir, resume_training, r.progress));
  summary.tokens_per_second = double(task.tokens_) / std::max(summary.result.step_seconds, 1e-9);
  summary.examples_per_second = double(task.examples_) / std::max(summary.result.step_seconds, 1e-9);
  if (summary.result.interrupted) {
    summary.interrupted = true;
    summary.seconds = seconds_since(t0);
    return summary;
  }
  summary.valid = metrics::classification_report(p.valid_labels, predict_labels(net, valid_ids, 2 * config.train.batch_size),
                                                 num_classes);
  io::write_directory_atomic(r.output_dir, kConfigFile, [&](const std::string& dir) {
    io::save_module(net, (fs::path(dir) / kWeightsFile).string(), {{"attn.task", "classify"}});
    encoder.save(dir);
    io::write_json_atomic((fs::path(dir) / kConfigFile).string(), to_json(config));
  });
  std::error_code ec;
  fs::remove(checkpoint, ec);  // the model directory now holds the result
  fs::remove(pretrain_checkpoint, ec);
  summary.seconds = seconds_since(t0);
  return summary;
}

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

const ClassifyConfig& Classifier::config() const { return impl_->config; }

Classifier Classifier::load(const std::string& dir) {
  const std::string config_path = io::marker_path(dir, kConfigFile);
  auto impl = std::make_unique<Impl>();
  impl->config = config_from_json(io::read_json(config_path), config_path);
  const auto& labels = impl->config.labels;
  ATTN_CHECK(labels.size() >= 2, "{}: the model has {} labels; a classifier has at least two", config_path,
             labels.size());
  if (impl->config.model.ensemble > 1) {
    for (int64_t k = 1; k <= impl->config.model.ensemble; ++k) {
      const std::string member = (fs::path(dir) / kMembersDir / std::to_string(k)).string();
      impl->members.push_back(Classifier::load(member));
      ATTN_CHECK(impl->members.back().labels() == labels && impl->members.back().config().model.ensemble == 1,
                 "{}: this ensemble member's labels or kind differ from {}", member, config_path);
    }
    return Classifier(std::move(impl));
  }
  const bool is_tfidf = impl->config.model.kind == ModelKind::kTfidf;
  impl->encoder = TextEncoder::load(dir, impl->config.preprocess, !is_tfidf);
  if (is_tfidf) {
    impl->tfidf = TfidfClassifier::load(dir);
    ATTN_CHECK(impl->tfidf->num_classes() == int32_t(labels.size()), "{}: the weights have {} classes, the config {}",
               dir, impl->tfidf->num_classes(), labels.size());
  } else {
    Rng rng(impl->config.train.seed);
    impl->net = std::make_unique<TextClassifier>(impl->config.model, impl->encoder->vocabulary().size(),
                                                 int64_t(labels.size()), rng);
    io::load_module(*impl->net, (fs::path(dir) / kWeightsFile).string());
    impl->net->eval();
  }
  return Classifier(std::move(impl));
}

std::vector<std::vector<float>> Classifier::predict_proba(const std::vector<std::string>& texts) const {
  const int64_t classes = int64_t(labels().size());
  std::vector<std::vector<float>> out(texts.size());
  if (!impl_->members.empty()) {  // the mean of the members' probabilities
    for (const Classifier& m : impl_->members) {
      const auto p = m.predict_proba(texts);
      for (size_t i = 0; i < texts.size(); ++i) {
        out[i].resize(size_t(classes));
        for (int64_t c = 0; c < classes; ++c) out[i][size_t(c)] += p[i][size_t(c)] / float(impl_->members.size());
      }
    }
    return out;
  }
  if (impl_->tfidf) {
    const auto probs = impl_->tfidf->predict_proba(impl_->tfidf->vectorizer().transform(impl_->encoder->tokens(texts, false)));
    for (size_t i = 0; i < texts.size(); ++i)
      out[i].assign(probs.begin() + int64_t(i) * classes, probs.begin() + int64_t(i + 1) * classes);
    return out;
  }
  run_network(*impl_->net, impl_->encoder->encode(texts), impl_->batch_size(), false,
              [&](size_t i, const float* logits, const float*, int32_t) { out[i] = softmax_row(logits, classes); });
  return out;
}

std::vector<Explanation> Classifier::explain(const std::vector<std::string>& texts) const {
  const int64_t classes = int64_t(labels().size());
  std::vector<Explanation> out(texts.size());
  if (!impl_->members.empty()) {  // the members share their tokenizer: the mean of their weights and probabilities
    const float share = 1.0f / float(impl_->members.size());
    for (const Classifier& m : impl_->members) {
      const auto e = m.explain(texts);
      for (size_t i = 0; i < texts.size(); ++i) {
        if (out[i].tokens.empty()) {
          out[i].tokens = e[i].tokens;
          out[i].weights.assign(e[i].weights.size(), 0.0f);
          out[i].probabilities.assign(e[i].probabilities.size(), 0.0f);
        }
        ATTN_CHECK(e[i].tokens == out[i].tokens && e[i].probabilities.size() == out[i].probabilities.size(),
                   "explain: the ensemble's members split text {} into different tokens", i + 1);
        for (size_t t = 0; t < out[i].weights.size(); ++t) out[i].weights[t] += share * e[i].weights[t];
        for (size_t c = 0; c < out[i].probabilities.size(); ++c)
          out[i].probabilities[c] += share * e[i].probabilities[c];
      }
    }
    return out;
  }
  if (impl_->tfidf) {
    const auto probs = predict_proba(texts);
    for (size_t i = 0; i < texts.size(); ++i) {
      out[i].tokens = impl_->encoder->tokens(texts[i], false);
      out[i].probabilities = probs[i];
      out[i].weights = impl_->tfidf->token_contributions(out[i].tokens, argmax(probs[i].data(), classes));
    }
    return out;
  }
  std::vector<std::vector<int32_t>> ids(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    out[i].tokens = impl_->encoder->tokens(texts[i]);
    ids[i] = impl_->encoder->ids(out[i].tokens);
    if (out[i].tokens.empty()) out[i].tokens.push_back("<empty>");
  }
  run_network(*impl_->net, ids, impl_->batch_size(), true,
              [&](size_t i, const float* logits, const float* weights, int32_t length) {
                out[i].probabilities = softmax_row(logits, classes);
                out[i].weights.assign(weights, weights + length);
              });
  return out;
}

metrics::ClassificationReport evaluate(const Classifier& model, const std::vector<data::TextExample>& examples) {
  ATTN_CHECK(!examples.empty(), "evaluate: no examples");
  const data::LabelSet labels = data::LabelSet::from_json(nlohmann::json(model.labels()));
  std::vector<int32_t> truth;
  std::vector<std::string> texts;
  for (const auto& e : examples) {
    auto id = labels.find(e.label);
    ATTN_CHECK(id.has_value(), "{}: label '{}' was not seen in training (the model knows: {})", e.where, e.label,
               fmt::join(model.labels(), ", "));
    truth.push_back(*id);
    texts.push_back(e.text);
  }
  const auto probs = model.predict_proba(texts);
  std::vector<int32_t> predicted;
  for (const auto& p : probs) predicted.push_back(argmax(p.data(), int64_t(p.size())));
  return metrics::classification_report(truth, predicted, int32_t(model.labels().size()));
}

namespace {

// The members train one after another as ordinary model directories under <output>.members/<k> (seed + k - 1; the
// split and tokenizer of the first seed), so Ctrl-C and --resume work per member; the finished ensemble is
// validated as a whole and copied into the model directory.
TrainSummary train_ensemble(const TrainRequest& r) {
  const auto t0 = Clock::now();
  validate(r.config);
  io::check_directory_target(r.output_dir, kConfigFile);
  const fs::path staging = r.output_dir + "." + kMembersDir;
  ATTN_CHECK(!r.resume || fs::exists(staging),
             "{}: no ensemble members to resume from (--resume continues a run stopped by Ctrl-C); train without "
             "--resume", staging.string());
  std::error_code ec;
  if (!r.resume) fs::remove_all(staging, ec);
  fs::create_directories(staging);
  const int64_t count = r.config.model.ensemble;
  const uint64_t data_seed = r.data_seed.value_or(r.config.train.seed);
  TrainSummary summary;
  for (int64_t k = 1; k <= count; ++k) {
    TrainRequest m = r;
    m.config.model.ensemble = 1;
    m.config.train.seed = r.config.train.seed + uint64_t(k - 1);
    m.data_seed = data_seed;
    m.output_dir = (staging / std::to_string(k)).string();
    const bool finished = fs::exists(fs::path(m.output_dir) / kConfigFile);
    if (r.resume && finished) continue;
    m.resume = r.resume && (fs::exists(train::checkpoint_path_for(m.output_dir)) ||
                            fs::exists(pretrain_checkpoint_path(m.output_dir)));
    say(r.progress, fmt::format("ensemble member {}/{} (seed {})", k, count, m.config.train.seed));
    const TrainSummary s = train_classifier(m);
    if (s.interrupted) {
      summary.interrupted = true;
      summary.seconds = seconds_since(t0);
      return summary;
    }
    summary.result = s.result;
    summary.examples_per_second = s.examples_per_second;
    summary.tokens_per_second = s.tokens_per_second;
    summary.vocabulary = s.vocabulary;
  }
  // The members were validated on the same held-out texts; so is the ensemble, through its own predictions.
  TrainRequest first = r;
  first.data_seed = data_seed;
  const Prepared p = prepare(first);
  ClassifyConfig config = r.config;
  config.labels = p.labels.names();
  io::write_directory_atomic(r.output_dir, kConfigFile, [&](const std::string& dir) {
    for (int64_t k = 1; k <= count; ++k) {
      const fs::path to = fs::path(dir) / kMembersDir / std::to_string(k);
      fs::create_directories(to.parent_path());
      fs::copy(staging / std::to_string(k), to, fs::copy_options::recursive);
    }
    io::write_json_atomic((fs::path(dir) / kConfigFile).string(), to_json(config));
  });
  const auto probs = Classifier::load(r.output_dir).predict_proba(p.valid_texts);
  std::vector<int32_t> predicted;
  for (const auto& row : probs) predicted.push_back(argmax(row.data(), int64_t(row.size())));
  summary.valid = metrics::classification_report(p.valid_labels, predicted, int32_t(config.labels.size()));
  summary.labels = config.labels;
  summary.train_examples = int64_t(p.train_texts.size());
  summary.valid_examples = int64_t(p.valid_texts.size());
  summary.skipped = p.skipped;
  say(r.progress, fmt::format("ensemble of {}: validation accuracy {:.4f}", count, summary.valid.accuracy));
  fs::remove_all(staging, ec);
  summary.seconds = seconds_since(t0);
  return summary;
}

}  // namespace

}  // namespace attn::tasks::classify
