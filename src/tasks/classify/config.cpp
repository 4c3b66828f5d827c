#include "attn/tasks/classify/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/io/json_fields.h"

namespace attn::tasks::classify {
namespace {

using nlohmann::json;

constexpr int kConfigVersion = 1;

struct KindName {
  ModelKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{ModelKind::kBiLstmAttention, "bilstm-attn"},
                               {ModelKind::kGruAttention, "gru-attn"},
                               {ModelKind::kTransformer, "transformer"},
                               {ModelKind::kTfidf, "tfidf"}};

// Each struct's plain fields, listed once for writing and reading; the others (enums, nested option objects) are
// handled beside them.
template <class L, class V>
void logistic_fields(L& l, V&& v) {
  v("l2", l.l2), v("max_iterations", l.max_iterations), v("tolerance", l.tolerance);
  v("class_weight_balanced", l.class_weight_balanced);
}
template <class P, class V>
void preprocess_fields(P& p, V&& v) {
  v("sentencepiece_vocab", p.sentencepiece_vocab), v("stop_words", p.stop_words), v("min_count", p.min_count);
  v("max_vocab", p.max_vocab), v("max_length", p.max_length);
}
template <class M, class V>
void model_fields(M& m, V&& v) {
  v("embed_dim", m.embed_dim), v("hidden", m.hidden), v("layers", m.layers), v("heads", m.heads);
  v("ff_dim", m.ff_dim), v("attention_dim", m.attention_dim), v("dropout", m.dropout);
  v("embed_dropout", m.embed_dropout), v("word_dropout", m.word_dropout), v("word_ngrams", m.word_ngrams);
  v("ngram_buckets", m.ngram_buckets), v("pool", m.pool), v("ensemble", m.ensemble);
}
template <class T, class V>
void train_fields(T& t, V&& v) {
  v("epochs", t.epochs), v("pretrain_epochs", t.pretrain_epochs), v("batch_size", t.batch_size);
  v("pretrain_lr", t.pretrain_lr), v("pretrain_dropout", t.pretrain_dropout), v("pretrain_vocab", t.pretrain_vocab);
  v("optimizer", t.optimizer), v("lr", t.lr);
  v("weight_decay", t.weight_decay), v("schedule", t.schedule), v("warmup_steps", t.warmup_steps);
  v("clip_norm", t.clip_norm), v("patience", t.patience), v("max_minutes", t.max_minutes);
  v("ema_decay", t.ema_decay);
  v("valid_fraction", t.valid_fraction), v("seed", t.seed), v("bucket_factor", t.bucket_factor);
}
// The lists as generic lambdas, for write_fields and read_fields.
constexpr auto kLogistic = [](auto& s, auto&& v) { logistic_fields(s, v); };
constexpr auto kPreprocess = [](auto& s, auto&& v) { preprocess_fields(s, v); };
constexpr auto kModel = [](auto& s, auto&& v) { model_fields(s, v); };
constexpr auto kTrain = [](auto& s, auto&& v) { train_fields(s, v); };

// Reads the sub-object `key` of `parent` (absent: nothing changes) with read(struct, its JsonFields).
template <class S, class Read>
void read_object(io::JsonFields& parent, const char* key, S& s, Read read) {
  const json sub = parent.object(key);
  io::JsonFields f(sub, parent.where(key));
  read(s, f, sub);
  f.finish();
}

void read_preprocess(PreprocessConfig& p, io::JsonFields& f, const json& j) {
  if (j.contains("clean")) p.clean = text::clean_options_from_json(j.at("clean"));
  f.object("clean");
  std::string tokenizer = text::to_string(p.tokenizer);
  f.get("tokenizer", tokenizer);
  p.tokenizer = text::tokenizer_kind_from_string(tokenizer);
  io::read_fields(f, p, kPreprocess);
}

void read_model(ModelConfig& m, io::JsonFields& f, const json& j) {
  std::string kind = model_kind_name(m.kind);
  f.get("kind", kind);
  m.kind = parse_model_kind(kind);
  io::read_fields(f, m, kModel);
  if (j.contains("tfidf")) m.tfidf = text::tfidf_options_from_json(j.at("tfidf"));
  f.object("tfidf");
  read_object(f, "logistic", m.logistic, [](LogisticOptions& l, io::JsonFields& g, const json&) {
    io::read_fields(g, l, kLogistic);
  });
}

}  // namespace

const char* model_kind_name(ModelKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

ModelKind parse_model_kind(const std::string& name) {
  for (const auto& k : kKinds)
    if (name == k.name) return k.kind;
  ATTN_CHECK(false, "unknown model '{}' (choose one of: bilstm-attn, gru-attn, transformer, tfidf)", name);
  return ModelKind::kBiLstmAttention;
}

json to_json(const ClassifyConfig& c) {
  json preprocess = {{"clean", text::to_json(c.preprocess.clean)}, {"tokenizer", text::to_string(c.preprocess.tokenizer)}};
  io::write_fields(preprocess, c.preprocess, kPreprocess);
  json logistic = json::object();
  io::write_fields(logistic, c.model.logistic, kLogistic);
  json model = {{"kind", model_kind_name(c.model.kind)}, {"tfidf", text::to_json(c.model.tfidf)}, {"logistic", logistic}};
  io::write_fields(model, c.model, kModel);
  json train = json::object();
  io::write_fields(train, c.train, kTrain);
  return {{"task", "classify"}, {"version", kConfigVersion}, {"preprocess", preprocess}, {"model", model},
          {"train", train},     {"labels", c.labels}};
}

void apply_json(ClassifyConfig& c, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  std::string task = "classify";
  f.get("task", task);
  ATTN_CHECK(task == "classify", "{}: this is a '{}' model or config, not a text classifier ('classify')", where,
             task);
  int version = kConfigVersion;
  f.get("version", version);
  ATTN_CHECK(version == kConfigVersion, "{}: config version {} is not supported (this attn reads version {})",
             where, version, kConfigVersion);
  read_object(f, "preprocess", c.preprocess, read_preprocess);
  read_object(f, "model", c.model, read_model);
  read_object(f, "train", c.train, [](TrainConfig& t, io::JsonFields& g, const json&) { io::read_fields(g, t, kTrain); });
  f.get("labels", c.labels);
  f.finish();
}

ClassifyConfig config_from_json(const json& j, const std::string& where) {
  ClassifyConfig c;
  apply_json(c, j, where);
  validate(c, where);
  return c;
}

void validate(const ClassifyConfig& c, const std::string& where) {
  const auto& p = c.preprocess;
  const auto& m = c.model;
  const auto& t = c.train;
  auto positive = [&](const char* what, int64_t v) {
    ATTN_CHECK(v >= 1, "{}: {} must be >= 1, got {}", where, what, v);
  };
  positive("preprocess.max_length", p.max_length);
  positive("preprocess.min_count", p.min_count);
  ATTN_CHECK(p.max_vocab == 0 || p.max_vocab >= 3, "{}: preprocess.max_vocab must be 0 or >= 3, got {}",
             where, p.max_vocab);
  ATTN_CHECK(p.sentencepiece_vocab >= 16, "{}: preprocess.sentencepiece_vocab must be >= 16, got {}",
             where, p.sentencepiece_vocab);
  ATTN_CHECK(p.stop_words.empty() || p.stop_words == "en" || p.stop_words == "zh",
             "{}: preprocess.stop_words must be '', 'en' or 'zh', got '{}'", where, p.stop_words);
  positive("model.embed_dim", m.embed_dim);
  positive("model.hidden", m.hidden);
  positive("model.layers", m.layers);
  positive("model.heads", m.heads);
  positive("model.ff_dim", m.ff_dim);
  text::validate(m.tfidf);
  ATTN_CHECK(m.logistic.l2 >= 0 && m.logistic.max_iterations >= 1,
             "{}: model.logistic needs l2 >= 0 and max_iterations >= 1", where);
  ATTN_CHECK(m.pool == "attention" || m.pool == "attention-max",
             "{}: model.pool must be attention or attention-max, got '{}'", where, m.pool);
  ATTN_CHECK(m.ensemble >= 1 && m.ensemble <= 100, "{}: model.ensemble must lie in [1, 100], got {}", where,
             m.ensemble);
  ATTN_CHECK(m.ensemble == 1 || m.kind != ModelKind::kTfidf,
             "{}: model.ensemble needs a neural model (tfidf trains the same model from every seed)", where);
  ATTN_CHECK(m.attention_dim >= 0, "{}: model.attention_dim must be >= 0, got {}", where, m.attention_dim);
  if (m.kind == ModelKind::kTransformer)
    ATTN_CHECK(m.embed_dim % m.heads == 0, "{}: model.embed_dim {} must be a multiple of model.heads {}",
               where, m.embed_dim, m.heads);
  ATTN_CHECK(m.word_ngrams >= 1 && m.word_ngrams <= 5, "{}: model.word_ngrams must lie in [1, 5], got {}", where,
             m.word_ngrams);
  ATTN_CHECK(m.ngram_buckets >= 1 && m.ngram_buckets < (int64_t(1) << 31),
             "{}: model.ngram_buckets must lie in [1, 2^31), got {}", where, m.ngram_buckets);
  for (float d : {m.dropout, m.embed_dropout, m.word_dropout})
    ATTN_CHECK(d >= 0 && d < 1, "{}: dropout must lie in [0, 1), got {}", where, d);
  positive("train.epochs", t.epochs);
  ATTN_CHECK(t.pretrain_epochs >= 0, "{}: train.pretrain_epochs must be >= 0, got {}", where, t.pretrain_epochs);
  ATTN_CHECK(t.pretrain_epochs == 0 || m.kind == ModelKind::kBiLstmAttention || m.kind == ModelKind::kGruAttention,
             "{}: train.pretrain_epochs needs a recurrent model (bilstm-attn or gru-attn), not {}", where,
             model_kind_name(m.kind));
  ATTN_CHECK(std::isfinite(t.pretrain_lr) && t.pretrain_lr > 0, "{}: train.pretrain_lr must be > 0, got {}", where,
             t.pretrain_lr);
  ATTN_CHECK(t.pretrain_dropout >= 0 && t.pretrain_dropout < 1, "{}: train.pretrain_dropout must lie in [0, 1), got {}",
             where, t.pretrain_dropout);
  positive("train.pretrain_vocab", t.pretrain_vocab);
  positive("train.batch_size", t.batch_size);
  positive("train.bucket_factor", t.bucket_factor);
  ATTN_CHECK(t.optimizer == "adam" || t.optimizer == "adamw", "{}: train.optimizer must be adam or adamw, got '{}'",
             where, t.optimizer);
  ATTN_CHECK(t.schedule == "constant" || t.schedule == "linear" || t.schedule == "cosine",
             "{}: train.schedule must be constant, linear or cosine, got '{}'", where, t.schedule);
  ATTN_CHECK(std::isfinite(t.lr) && t.lr > 0, "{}: train.lr must be > 0, got {}", where, t.lr);
  ATTN_CHECK(std::isfinite(t.weight_decay) && t.weight_decay >= 0, "{}: train.weight_decay must be >= 0, got {}",
             where, t.weight_decay);
  ATTN_CHECK(t.warmup_steps >= 0, "{}: train.warmup_steps must be >= 0, got {}", where, t.warmup_steps);
  ATTN_CHECK(std::isfinite(t.clip_norm) && t.clip_norm >= 0, "{}: train.clip_norm must be >= 0, got {}",
             where, t.clip_norm);
  ATTN_CHECK(t.patience >= 0, "{}: train.patience must be >= 0, got {}", where, t.patience);
  ATTN_CHECK(std::isfinite(t.max_minutes) && t.max_minutes >= 0, "{}: train.max_minutes must be >= 0, got {}",
             where, t.max_minutes);
  ATTN_CHECK(t.ema_decay >= 0 && t.ema_decay < 1, "{}: train.ema_decay must lie in [0, 1), got {}", where,
             t.ema_decay);
  ATTN_CHECK(t.valid_fraction > 0 && t.valid_fraction < 1, "{}: train.valid_fraction must lie in (0, 1), got {}",
             where, t.valid_fraction);
}

}  // namespace attn::tasks::classify
