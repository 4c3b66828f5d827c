#include "attn/tasks/seq2seq/seq2seq.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/data/batching.h"
#include "attn/io/atomic_directory.h"
#include "attn/io/safetensors.h"
#include "attn/io/state.h"
#include "attn/metrics/bleu.h"
#include "attn/metrics/chrf.h"
#include "attn/metrics/rouge.h"
#include "attn/optim/adam.h"
#include "attn/optim/adamw.h"
#include "attn/tasks/seq2seq/model.h"
#include "attn/tasks/seq2seq/search.h"
#include "attn/text/subword.h"

namespace attn::tasks::seq2seq {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using text::SubwordModel;
using Ids = std::vector<int32_t>;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kJointFile = "subword.model";
constexpr const char* kSourceFile = "source.model";
constexpr const char* kTargetFile = "target.model";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void say(bool on, const std::string& line) {
  if (on) std::fprintf(stderr, "%s\n", line.c_str());
}

// The source and target subword models (one shared model when the vocabulary is joint).
struct Vocabularies {
  std::optional<SubwordModel> source, target;

  void save(const std::string& dir, bool joint) const {
    if (joint) {
      source->save((fs::path(dir) / kJointFile).string());
    } else {
      source->save((fs::path(dir) / kSourceFile).string());
      target->save((fs::path(dir) / kTargetFile).string());
    }
  }
  static Vocabularies load(const std::string& dir, const SubwordConfig& c) {
    const auto kind = text::subword_kind_from_string(c.kind);
    Vocabularies v;
    if (c.joint) {
      v.source = SubwordModel::load((fs::path(dir) / kJointFile).string(), kind);
      v.target = v.source;
    } else {
      v.source = SubwordModel::load((fs::path(dir) / kSourceFile).string(), kind);
      v.target = SubwordModel::load((fs::path(dir) / kTargetFile).string(), kind);
    }
    return v;
  }
  std::string fingerprint() const {
    std::string s;
    for (const SubwordModel* m : {&*source, &*target}) {
      const int32_t n = m->size();
      std::vector<int32_t> ids(static_cast<size_t>(n));
      std::iota(ids.begin(), ids.end(), 0);
      for (const auto& p : m->pieces(ids)) s += p + "\n";
    }
    return s;
  }
};

// Subword ids of texts, cut to max_length; counts how many were cut.
std::vector<Ids> encode_all(const SubwordModel& m, const std::vector<const std::string*>& texts, int64_t max_length,
                            int64_t* truncated) {
  std::vector<Ids> out(texts.size());
  parallel_each(int64_t(texts.size()), [&](int64_t i) { out[size_t(i)] = m.encode(*texts[size_t(i)]); });
  for (auto& ids : out) {
    if (int64_t(ids.size()) > max_length) {
      ids.resize(size_t(max_length));
      ++*truncated;
    }
  }
  return out;
}

SearchOptions search_options(const DecodeConfig& d, int64_t n_best, bool attention) {
  SearchOptions o;
  o.bos = SubwordModel::kBos;
  o.eos = SubwordModel::kEos;
  o.beam_size = int(d.beam);
  o.n_best = int(std::min<int64_t>(n_best, d.beam));
  o.length_penalty = d.length_penalty;
  o.max_length_ratio = d.max_length_ratio;
  o.max_length = int(d.max_length);
  o.min_length = int(d.min_length);
  o.no_repeat_ngram = int(d.no_repeat_ngram);
  o.stopping = Stopping::kEarly;  // beam_size finished hypotheses end a sentence, as fairseq and Marian do
  o.keep_attention = attention;
  return o;
}

// Decodes non-empty sources in batches of similar length; results in input order.
std::vector<std::vector<Hypothesis>> decode(Seq2SeqModel& model, const std::vector<Ids>& sources,
                                            const SearchOptions& options, int64_t batch_size,
                                            int64_t attention_layer = -1, int64_t attention_head = -1) {
  std::vector<int64_t> lengths;
  for (const auto& s : sources) lengths.push_back(int64_t(s.size()));
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<Hypothesis>> out(sources.size());
  for (size_t start = 0; start < order.size(); start += size_t(batch_size)) {
    const size_t end = std::min(order.size(), start + size_t(batch_size));
    std::vector<Ids> batch;
    std::vector<int64_t> batch_lengths;
    for (size_t k = start; k < end; ++k) batch.push_back(sources[order[k]]), batch_lengths.push_back(lengths[order[k]]);
    auto decoder = model.start_decoding(batch, attention_layer, attention_head);
    if (options.beam_size == 1 && options.n_best == 1) {
      auto best = greedy_search(*decoder, batch_lengths, options);
      for (size_t k = start; k < end; ++k) out[order[k]] = {std::move(best[k - start])};
    } else {
      auto results = beam_search(*decoder, batch_lengths, options);
      for (size_t k = start; k < end; ++k) out[order[k]] = std::move(results[k - start]);
    }
  }
  return out;
}

double metric_value(const std::vector<std::pair<std::string, double>>& metrics, const std::string& name) {
  for (const auto& [k, v] : metrics)
    if (k == name) return v;
  ATTN_CHECK(false, "no metric '{}'", name);
  return 0;
}

// The network plugged into the Trainer.
class Seq2SeqTask : public train::TrainTask {
 public:
  Seq2SeqTask(Seq2SeqModel& model, const Seq2SeqConfig& config, const SubwordModel& target, std::string fingerprint,
              const std::vector<Ids>& train_src, const std::vector<Ids>& train_tgt, const std::vector<Ids>& valid_src,
              const std::vector<Ids>& valid_tgt, const std::vector<std::string>& valid_refs)
      : model_(model),
        config_(config),
        target_(target),
        fingerprint_(std::move(fingerprint)),
        train_src_(train_src),
        train_tgt_(train_tgt),
        valid_src_(valid_src),
        valid_tgt_(valid_tgt),
        valid_refs_(valid_refs) {
    for (size_t i = 0; i < train_src.size(); ++i) costs_.push_back(int64_t(train_src[i].size() + train_tgt[i].size()) + 1);
  }

  nn::Module& model() override { return model_; }
  std::string fingerprint() const override { return fingerprint_; }

  std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) override {
    return data::make_token_batches(costs_, config_.train.batch_tokens, /*shuffle=*/true,
                                    config_.train.seed * 1000003 + uint64_t(epoch));
  }

  train::StepStats train_step(const std::vector<size_t>& indices) override {
    const Seq2SeqBatch b = batch_of(train_src_, train_tgt_, indices);
    nn::Var loss = model_.loss(b, config_.train.label_smoothing);
    train::StepStats s;
    s.examples = b.batch;
    s.units = std::accumulate(b.target_lengths.begin(), b.target_lengths.end(), int64_t(0));
    s.loss_sum = double(loss.value().data()[0]) * double(b.batch);
    loss.backward();
    target_tokens_ += s.units;
    return s;
  }

  train::Validation validate() override {
    auto metrics = validation_metrics();
    const std::string& name = config_.train.valid_metric;
    const double score = name == "loss" ? -metric_value(metrics, "loss") : metric_value(metrics, name);
    return {score, std::move(metrics)};
  }

  // Token loss (no label smoothing) over the validation pairs, and the scores of greedy output for the first
  // valid_sentences of them.
  std::vector<std::pair<std::string, double>> validation_metrics() {
    autograd::NoGradGuard no_grad;
    model_.eval();
    std::vector<int64_t> costs;
    for (size_t i = 0; i < valid_src_.size(); ++i) costs.push_back(int64_t(valid_src_[i].size() + valid_tgt_[i].size()));
    double loss_sum = 0;
    int64_t tokens = 0;
    for (const auto& indices : data::make_token_batches(costs, config_.train.batch_tokens, false, 0)) {
      const Seq2SeqBatch b = batch_of(valid_src_, valid_tgt_, indices);
      const int64_t n = std::accumulate(b.target_lengths.begin(), b.target_lengths.end(), int64_t(0));
      loss_sum += double(model_.loss(b, 0.0f).value().data()[0]) * double(n);
      tokens += n;
    }
    std::vector<std::pair<std::string, double>> out = {{"loss", loss_sum / double(std::max<int64_t>(tokens, 1))}};
    if (config_.train.valid_metric == "loss") return out;
    size_t n = valid_src_.size();
    if (config_.train.valid_sentences > 0) n = std::min(n, size_t(config_.train.valid_sentences));
    const std::vector<Ids> sources(valid_src_.begin(), valid_src_.begin() + int64_t(n));
    DecodeConfig greedy = config_.decode;
    greedy.beam = 1;
    const auto results = decode(model_, sources, search_options(greedy, 1, false), 64);
    std::vector<std::string> hypotheses, references(valid_refs_.begin(), valid_refs_.begin() + int64_t(n));
    for (const auto& r : results) hypotheses.push_back(target_.decode(r.at(0).tokens));
    for (auto& m : score_texts(hypotheses, references)) out.push_back(m);
    return out;
  }

  int64_t target_tokens_ = 0;

 private:
  static Seq2SeqBatch batch_of(const std::vector<Ids>& src, const std::vector<Ids>& tgt,
                               const std::vector<size_t>& indices) {
    std::vector<const Ids*> s, t;
    for (size_t i : indices) s.push_back(&src[i]), t.push_back(&tgt[i]);
    return make_batch(s, t);
  }

  Seq2SeqModel& model_;
  const Seq2SeqConfig& config_;
  const SubwordModel& target_;
  std::string fingerprint_;
  const std::vector<Ids>&train_src_, &train_tgt_, &valid_src_, &valid_tgt_;
  const std::vector<std::string>& valid_refs_;
  std::vector<int64_t> costs_;
};

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& t, nn::Module& model) {
  if (t.optimizer == "adamw") {
    optim::AdamWOptions o;
    o.lr = t.lr;
    o.weight_decay = t.weight_decay;
    o.beta2 = 0.98f;
    return std::make_unique<optim::AdamW>(model.named_parameters(), o);
  }
  optim::AdamOptions o;
  o.lr = t.lr;
  o.weight_decay = t.weight_decay;
  o.beta2 = 0.98f;  // the Transformer's setting; steadier with large vocabularies
  return std::make_unique<optim::Adam>(model.named_parameters(), o);
}

std::string format_metrics(const std::vector<std::pair<std::string, double>>& metrics) {
  std::string out;
  for (const auto& [k, v] : metrics) out += fmt::format("{}{} {:.4g}", out.empty() ? "" : ", ", k, v);
  return out;
}

}  // namespace

std::vector<data::ParallelExample> read_pairs(const ParallelFiles& f, const data::ParallelReadOptions& options,
                                              data::ParallelReadReport* report) {
  if (!f.tsv.empty()) {
    ATTN_CHECK(f.source.empty() && f.target.empty(), "give either a TSV of pairs or source and target files, not both");
    return data::read_parallel_tsv(f.tsv, options, report);
  }
  ATTN_CHECK(!f.source.empty() && !f.target.empty(), "give both a source and a target file (or one TSV of pairs)");
  return data::read_parallel(f.source, f.target, options, report);
}

TrainSummary train_seq2seq(const TrainRequest& r) {
  const auto t0 = Clock::now();
  validate(r.config);
  const Seq2SeqConfig& config = r.config;
  io::check_directory_target(r.output_dir, kConfigFile);
  const std::string checkpoint = train::checkpoint_path_for(r.output_dir);
  ATTN_CHECK(!r.resume || (fs::exists(checkpoint) && fs::is_directory(checkpoint + ".vocab")),
             "{}: no checkpoint to resume from (--resume continues a run stopped by Ctrl-C); train without --resume",
             checkpoint);
  TrainSummary summary;
  data::ParallelReadReport report;
  std::vector<data::ParallelExample> train_pairs = read_pairs(r.train, r.read, &report);
  std::vector<data::ParallelExample> valid_pairs;
  if (!r.valid.empty()) {
    valid_pairs = read_pairs(r.valid, r.read, &report);
    ATTN_CHECK(!valid_pairs.empty(), "the validation data holds no sentence pair");
  }
  ATTN_CHECK(train_pairs.size() >= 2, "the training data holds {} sentence pairs; too few to train on",
             train_pairs.size());
  summary.empty_pairs = int64_t(report.empty);
  summary.bad_pairs = int64_t(report.bad);
  if (report.empty + report.bad > 0)
    say(r.progress, fmt::format("warning: {} pairs with an empty side and {} bad pairs skipped (first: {})", report.empty,
                                report.bad, report.first_problems.empty() ? "" : report.first_problems[0]));
  if (valid_pairs.empty()) {  // hold out 2% (at most 1000), chosen by the seed
    std::vector<size_t> order(train_pairs.size());
    std::iota(order.begin(), order.end(), size_t{0});
    Rng rng(config.train.seed);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform_int(i)]);
    const size_t n = std::clamp<size_t>(train_pairs.size() / 50, 1, 1000);
    std::vector<bool> held(train_pairs.size(), false);
    for (size_t k = 0; k < n; ++k) held[order[k]] = true;
    std::vector<data::ParallelExample> kept;
    for (size_t i = 0; i < train_pairs.size(); ++i) (held[i] ? valid_pairs : kept).push_back(std::move(train_pairs[i]));
    train_pairs = std::move(kept);
  }
  summary.train_pairs = int64_t(train_pairs.size());
  summary.valid_pairs = int64_t(valid_pairs.size());
  say(r.progress, fmt::format("data: {} training and {} validation pairs", summary.train_pairs, summary.valid_pairs));

  std::vector<const std::string*> src_texts, tgt_texts, valid_src_texts, valid_tgt_texts;
  for (const auto& p : train_pairs) src_texts.push_back(&p.source), tgt_texts.push_back(&p.target);
  for (const auto& p : valid_pairs) valid_src_texts.push_back(&p.source), valid_tgt_texts.push_back(&p.target);
  // The subword models are kept beside the checkpoint, so that a resumed run encodes the data exactly as the
  // interrupted one did (SentencePiece's multi-threaded training need not give the same pieces twice).
  const std::string vocab_dir = checkpoint + ".vocab";
  Vocabularies vocab;
  if (r.resume) {
    vocab = Vocabularies::load(vocab_dir, config.subword);
  } else {
    text::SubwordOptions so;
    so.kind = text::subword_kind_from_string(config.subword.kind);
    so.vocab_size = int(config.subword.vocab_size);
    so.min_count = int(config.subword.min_count);
    so.seed = config.train.seed;
    if (config.subword.joint) {
      std::vector<const std::string*> both = src_texts;
      both.insert(both.end(), tgt_texts.begin(), tgt_texts.end());
      vocab.source = SubwordModel::train(both, so);
      vocab.target = vocab.source;
    } else {
      vocab.source = SubwordModel::train(src_texts, so);
      vocab.target = SubwordModel::train(tgt_texts, so);
    }
    fs::create_directories(vocab_dir);
    vocab.save(vocab_dir, config.subword.joint);
  }
  summary.source_vocab = vocab.source->size();
  summary.target_vocab = vocab.target->size();
  say(r.progress, fmt::format("subwords: {} {} ({} source, {} target)", config.subword.joint ? "joint" : "separate",
                              config.subword.kind, summary.source_vocab, summary.target_vocab));
  const auto train_src = encode_all(*vocab.source, src_texts, config.train.max_source_length, &summary.truncated_sources);
  const auto train_tgt = encode_all(*vocab.target, tgt_texts, config.train.max_target_length, &summary.truncated_targets);
  int64_t ignored = 0;
  const auto valid_src = encode_all(*vocab.source, valid_src_texts, config.train.max_source_length, &ignored);
  const auto valid_tgt = encode_all(*vocab.target, valid_tgt_texts, config.train.max_target_length, &ignored);
  if (summary.truncated_sources + summary.truncated_targets > 0)
    say(r.progress, fmt::format("warning: {} sources longer than {} and {} targets longer than {} tokens were cut",
                                summary.truncated_sources, config.train.max_source_length, summary.truncated_targets,
                                config.train.max_target_length));
  std::vector<std::string> valid_refs;
  for (const auto& p : valid_pairs) valid_refs.push_back(p.target);

  Rng rng(config.train.seed);
  auto model = build_model(config.model, summary.source_vocab, summary.target_vocab, rng);
  summary.parameters = model->parameter_count();
  say(r.progress, fmt::format("model: {}, {} parameters", config.model.kind, summary.parameters));
  auto optimizer = make_optimizer(config.train, *model);
  nlohmann::json fp = to_json(config);
  for (const char* key : {"epochs", "patience", "max_minutes"}) fp["train"].erase(key);  // a resumed run may change them
  Seq2SeqTask task(*model, config, *vocab.target, train::digest(fp.dump() + vocab.fingerprint()), train_src, train_tgt,
                   valid_src, valid_tgt, valid_refs);
  train::TrainerOptions o;
  o.epochs = config.train.epochs;
  o.patience = config.train.patience;
  o.max_seconds = config.train.max_minutes * 60;
  o.ema_decay = config.train.ema_decay;
  o.clip_norm = config.train.clip_norm;
  o.schedule.kind = optim::parse_schedule_kind(config.train.schedule);
  o.schedule.lr = config.train.lr;
  o.schedule.warmup_steps = config.train.warmup_steps;
  o.checkpoint_path = checkpoint;
  o.resume = r.resume;
  o.unit = "tok";
  o.progress = r.progress;
  summary.result = train::train(task, *optimizer, o);
  summary.target_tokens_per_second = double(task.target_tokens_) / std::max(summary.result.step_seconds, 1e-9);
  if (summary.result.interrupted) {
    summary.interrupted = true;
    summary.seconds = seconds_since(t0);
    return summary;
  }
  summary.valid = task.validation_metrics();
  say(r.progress, "kept model: " + format_metrics(summary.valid));
  io::write_directory_atomic(r.output_dir, kConfigFile, [&](const std::string& dir) {
    io::save_module(*model, (fs::path(dir) / kWeightsFile).string(), {{"attn.task", "seq2seq"}});
    vocab.save(dir, config.subword.joint);
    io::write_json_atomic((fs::path(dir) / kConfigFile).string(), to_json(config));
  });
  std::error_code ec;
  fs::remove(checkpoint, ec);  // the model directory now holds the result
  fs::remove_all(vocab_dir, ec);
  summary.seconds = seconds_since(t0);
  return summary;
}

struct Seq2Seq::Impl {
  Seq2SeqConfig config;
  Vocabularies vocab;
  std::unique_ptr<Seq2SeqModel> model;
};

Seq2Seq::Seq2Seq(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Seq2Seq::Seq2Seq(Seq2Seq&&) noexcept = default;
Seq2Seq& Seq2Seq::operator=(Seq2Seq&&) noexcept = default;
Seq2Seq::~Seq2Seq() = default;

const Seq2SeqConfig& Seq2Seq::config() const { return impl_->config; }

Seq2Seq Seq2Seq::load(const std::string& dir) {
  const std::string config_path = io::marker_path(dir, kConfigFile);
  auto impl = std::make_unique<Impl>();
  impl->config = config_from_json(io::read_json(config_path), config_path);
  impl->vocab = Vocabularies::load(dir, impl->config.subword);
  Rng rng(impl->config.train.seed);
  impl->model = build_model(impl->config.model, impl->vocab.source->size(), impl->vocab.target->size(), rng);
  io::load_module(*impl->model, (fs::path(dir) / kWeightsFile).string());
  impl->model->eval();
  return Seq2Seq(std::move(impl));
}

std::vector<Generation> Seq2Seq::generate(const std::vector<std::string>& sources, const GenerateOptions& o) const {
  ATTN_CHECK(o.n_best >= 1 && o.n_best <= o.decode.beam, "n-best {} must lie in [1, beam {}]", o.n_best, o.decode.beam);
  ATTN_CHECK(o.batch_size >= 1, "batch size must be >= 1, got {}", o.batch_size);
  const SubwordModel& src = *impl_->vocab.source;
  const SubwordModel& tgt = *impl_->vocab.target;
  std::vector<Generation> out(sources.size());
  std::vector<Ids> ids;
  std::vector<size_t> where;  // index into sources of each non-empty one
  for (size_t i = 0; i < sources.size(); ++i) {
    Ids s = src.encode(sources[i]);
    if (s.empty()) {
      out[i].texts = {""};
      out[i].scores = {0.0f};
      continue;
    }
    if (int64_t(s.size()) > impl_->config.train.max_source_length) {
      s.resize(size_t(impl_->config.train.max_source_length));
      out[i].truncated = true;
    }
    ids.push_back(std::move(s));
    where.push_back(i);
  }
  const auto results = decode(*impl_->model, ids, search_options(o.decode, o.n_best, o.attention), o.batch_size,
                              o.attention_layer, o.attention_head);
  for (size_t k = 0; k < results.size(); ++k) {
    Generation& g = out[where[k]];
    for (const auto& h : results[k]) {
      g.texts.push_back(tgt.decode(h.tokens));
      g.scores.push_back(h.score);
    }
    if (!o.attention || results[k].empty()) continue;
    const Hypothesis& best = results[k][0];
    g.source_pieces = src.pieces(ids[k]);
    g.target_pieces = tgt.pieces(best.tokens);
    if (best.complete) g.target_pieces.push_back("</s>");
    const int64_t rows = int64_t(g.target_pieces.size()), cols = int64_t(g.source_pieces.size());
    ATTN_CHECK(best.attention.defined() && best.attention.size(0) == rows && best.attention.size(1) >= cols,
               "decoder returned attention {} for {} target and {} source pieces",
               best.attention.defined() ? best.attention.describe() : "none", rows, cols);
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t s = 0; s < cols; ++s) g.attention.push_back(best.attention.at({t, s}));
  }
  return out;
}

std::vector<std::pair<std::string, double>> score_texts(const std::vector<std::string>& hypotheses,
                                                        const std::vector<std::string>& references) {
  ATTN_CHECK(hypotheses.size() == references.size() && !hypotheses.empty(),
             "scoring: {} outputs for {} references", hypotheses.size(), references.size());
  const std::vector<std::vector<std::string>> refs = {references};
  const auto rouge = metrics::corpus_rouge(hypotheses, refs).mean;
  return {{"bleu", metrics::corpus_bleu(hypotheses, refs).score},
          {"chrf", metrics::corpus_chrf(hypotheses, refs).score},
          {"rouge1", rouge.rouge1.f1},
          {"rouge2", rouge.rouge2.f1},
          {"rougeL", rouge.rougeL.f1}};
}

}  // namespace attn::tasks::seq2seq
