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

json logistic_json(const LogisticOptions& l) {
  return {{"l2", l.l2},
          {"max_iterations", l.max_iterations},
          {"tolerance", l.tolerance},
          {"class_weight_balanced", l.class_weight_balanced}};
}

void read_logistic(LogisticOptions& l, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  f.get("l2", l.l2);
  f.get("max_iterations", l.max_iterations);
  f.get("tolerance", l.tolerance);
  f.get("class_weight_balanced", l.class_weight_balanced);
  f.finish();
}

void read_preprocess(PreprocessConfig& p, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  if (j.contains("clean")) p.clean = text::clean_options_from_json(j.at("clean"));
  f.object("clean");
  std::string tokenizer = text::to_string(p.tokenizer);
  f.get("tokenizer", tokenizer);
  p.tokenizer = text::tokenizer_kind_from_string(tokenizer);
  f.get("sentencepiece_vocab", p.sentencepiece_vocab);
  f.get("stop_words", p.stop_words);
  f.get("min_count", p.min_count);
  f.get("max_vocab", p.max_vocab);
  f.get("max_length", p.max_length);
  f.finish();
}

void read_model(ModelConfig& m, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  std::string kind = model_kind_name(m.kind);
  f.get("kind", kind);
  m.kind = parse_model_kind(kind);
  f.get("embed_dim", m.embed_dim);
  f.get("hidden", m.hidden);
  f.get("layers", m.layers);
  f.get("heads", m.heads);
  f.get("ff_dim", m.ff_dim);
  f.get("attention_dim", m.attention_dim);
  f.get("dropout", m.dropout);
  f.get("embed_dropout", m.embed_dropout);
  f.get("word_dropout", m.word_dropout);
  f.get("word_ngrams", m.word_ngrams);
  f.get("ngram_buckets", m.ngram_buckets);
  if (j.contains("tfidf")) m.tfidf = text::tfidf_options_from_json(j.at("tfidf"));
  f.object("tfidf");
  if (j.contains("logistic")) read_logistic(m.logistic, j.at("logistic"), f.where("logistic"));
  f.object("logistic");
  f.finish();
}

void read_train(TrainConfig& t, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  f.get("epochs", t.epochs);
  f.get("batch_size", t.batch_size);
  f.get("optimizer", t.optimizer);
  f.get("lr", t.lr);
  f.get("weight_decay", t.weight_decay);
  f.get("schedule", t.schedule);
  f.get("warmup_steps", t.warmup_steps);
  f.get("clip_norm", t.clip_norm);
  f.get("patience", t.patience);
  f.get("max_minutes", t.max_minutes);
  f.get("valid_fraction", t.valid_fraction);
  f.get("seed", t.seed);
  f.get("bucket_factor", t.bucket_factor);
  f.finish();
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
  const auto& p = c.preprocess;
  const auto& m = c.model;
  const auto& t = c.train;
  return {{"task", "classify"},
          {"version", kConfigVersion},
          {"preprocess",
           {{"clean", text::to_json(p.clean)},
            {"tokenizer", text::to_string(p.tokenizer)},
            {"sentencepiece_vocab", p.sentencepiece_vocab},
            {"stop_words", p.stop_words},
            {"min_count", p.min_count},
            {"max_vocab", p.max_vocab},
            {"max_length", p.max_length}}},
          {"model",
           {{"kind", model_kind_name(m.kind)},
            {"embed_dim", m.embed_dim},
            {"hidden", m.hidden},
            {"layers", m.layers},
            {"heads", m.heads},
            {"ff_dim", m.ff_dim},
            {"attention_dim", m.attention_dim},
            {"dropout", m.dropout},
            {"embed_dropout", m.embed_dropout},
            {"word_dropout", m.word_dropout},
            {"word_ngrams", m.word_ngrams},
            {"ngram_buckets", m.ngram_buckets},
            {"tfidf", text::to_json(m.tfidf)},
            {"logistic", logistic_json(m.logistic)}}},
          {"train",
           {{"epochs", t.epochs},
            {"batch_size", t.batch_size},
            {"optimizer", t.optimizer},
            {"lr", t.lr},
            {"weight_decay", t.weight_decay},
            {"schedule", t.schedule},
            {"warmup_steps", t.warmup_steps},
            {"clip_norm", t.clip_norm},
            {"patience", t.patience},
            {"max_minutes", t.max_minutes},
            {"valid_fraction", t.valid_fraction},
            {"seed", t.seed},
            {"bucket_factor", t.bucket_factor}}},
          {"labels", c.labels}};
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
  if (j.contains("preprocess")) read_preprocess(c.preprocess, j.at("preprocess"), f.where("preprocess"));
  f.object("preprocess");
  if (j.contains("model")) read_model(c.model, j.at("model"), f.where("model"));
  f.object("model");
  if (j.contains("train")) read_train(c.train, j.at("train"), f.where("train"));
  f.object("train");
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
  ATTN_CHECK(t.valid_fraction > 0 && t.valid_fraction < 1, "{}: train.valid_fraction must lie in (0, 1), got {}",
             where, t.valid_fraction);
}

}  // namespace attn::tasks::classify
