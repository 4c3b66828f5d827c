#include "attn/tasks/seq2seq/config.h"

#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/io/json_fields.h"

namespace attn::tasks::seq2seq {
namespace {

using nlohmann::json;

constexpr int kConfigVersion = 1;

// Each struct's fields, listed once for writing and reading.
template <class S, class V>
void subword_fields(S& s, V&& v) {
  v("kind", s.kind), v("vocab_size", s.vocab_size), v("joint", s.joint), v("min_count", s.min_count);
}
template <class M, class V>
void model_fields(M& m, V&& v) {
  v("kind", m.kind), v("embed_dim", m.embed_dim), v("hidden", m.hidden), v("encoder_layers", m.encoder_layers);
  v("decoder_layers", m.decoder_layers), v("cell", m.cell), v("attention", m.attention), v("heads", m.heads);
  v("ff_dim", m.ff_dim), v("positions", m.positions), v("norm_first", m.norm_first);
  v("share_embeddings", m.share_embeddings), v("tie_output", m.tie_output), v("dropout", m.dropout);
  v("max_positions", m.max_positions), v("copy", m.copy);
}
template <class T, class V>
void train_fields(T& t, V&& v) {
  v("epochs", t.epochs), v("batch_tokens", t.batch_tokens), v("optimizer", t.optimizer), v("lr", t.lr);
  v("weight_decay", t.weight_decay), v("schedule", t.schedule), v("warmup_steps", t.warmup_steps);
  v("clip_norm", t.clip_norm), v("label_smoothing", t.label_smoothing), v("patience", t.patience);
  v("max_minutes", t.max_minutes), v("ema_decay", t.ema_decay);
  v("seed", t.seed), v("max_source_length", t.max_source_length), v("max_target_length", t.max_target_length);
  v("valid_metric", t.valid_metric), v("valid_sentences", t.valid_sentences), v("bucket_factor", t.bucket_factor);
}
template <class D, class V>
void decode_fields(D& d, V&& v) {
  v("beam", d.beam), v("length_penalty", d.length_penalty), v("max_length_ratio", d.max_length_ratio);
  v("max_length", d.max_length), v("min_length", d.min_length), v("no_repeat_ngram", d.no_repeat_ngram);
}

template <class S, class Fields>
json write(const S& s, Fields fields) {
  json j = json::object();
  io::write_fields(j, s, fields);
  return j;
}

template <class S, class Fields>
void read(S& s, io::JsonFields& parent, const char* key, Fields fields) {
  const json sub = parent.object(key);
  io::JsonFields f(sub, parent.where(key));
  io::read_fields(f, s, fields);
  f.finish();
}

void one_of(const std::string& where, const char* field, const std::string& value,
            std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (value == c) return;
  std::string list;
  for (const char* c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  ATTN_CHECK(false, "{}: {} must be one of {}, got '{}'", where, field, list, value);
}

}  // namespace

Seq2SeqConfig summarize_defaults() {
  Seq2SeqConfig c;
  c.task = "summarize";
  c.train.max_source_length = 512;
  c.train.max_target_length = 48;
  c.train.valid_metric = "rougeL";
  c.decode.max_length_ratio = 0;
  c.decode.max_length = 48;
  return c;
}

json to_json(const Seq2SeqConfig& c) {
  return {{"task", "seq2seq"},
          {"version", kConfigVersion},
          {"purpose", c.task},
          {"subword", write(c.subword, [](auto& s, auto&& v) { subword_fields(s, v); })},
          {"model", write(c.model, [](auto& m, auto&& v) { model_fields(m, v); })},
          {"train", write(c.train, [](auto& t, auto&& v) { train_fields(t, v); })},
          {"decode", write(c.decode, [](auto& d, auto&& v) { decode_fields(d, v); })}};
}

void apply_json(Seq2SeqConfig& c, const json& j, const std::string& where) {
  io::JsonFields f(j, where);
  std::string task = "seq2seq";
  f.get("task", task);
  ATTN_CHECK(task == "seq2seq", "{}: this is a '{}' model or config, not a sequence-to-sequence one ('seq2seq')",
             where, task);
  int version = kConfigVersion;
  f.get("version", version);
  ATTN_CHECK(version == kConfigVersion, "{}: config version {} is not supported (this attn reads version {})", where,
             version, kConfigVersion);
  f.get("purpose", c.task);
  read(c.subword, f, "subword", [](auto& s, auto&& v) { subword_fields(s, v); });
  read(c.model, f, "model", [](auto& m, auto&& v) { model_fields(m, v); });
  read(c.train, f, "train", [](auto& t, auto&& v) { train_fields(t, v); });
  read(c.decode, f, "decode", [](auto& d, auto&& v) { decode_fields(d, v); });
  f.finish();
}

Seq2SeqConfig config_from_json(const json& j, const std::string& where) {
  Seq2SeqConfig c;
  apply_json(c, j, where);
  validate(c, where);
  return c;
}

void validate(const Seq2SeqConfig& c, const std::string& where) {
  const auto& s = c.subword;
  const auto& m = c.model;
  const auto& t = c.train;
  const auto& d = c.decode;
  auto at_least = [&](const char* what, int64_t v, int64_t min) {
    ATTN_CHECK(v >= min, "{}: {} must be >= {}, got {}", where, what, min, v);
  };
  one_of(where, "purpose", c.task, {"translate", "summarize"});
  one_of(where, "subword.kind", s.kind, {"unigram", "bpe", "words"});
  at_least("subword.vocab_size", s.vocab_size, 16);
  at_least("subword.min_count", s.min_count, 1);
  one_of(where, "model.kind", m.kind, {"rnn-attn", "transformer"});
  one_of(where, "model.cell", m.cell, {"gru", "lstm"});
  one_of(where, "model.attention", m.attention, {"bahdanau", "luong"});
  one_of(where, "model.positions", m.positions, {"sinusoidal", "learned"});
  at_least("model.embed_dim", m.embed_dim, 1);
  at_least("model.hidden", m.hidden, 2);
  at_least("model.encoder_layers", m.encoder_layers, 1);
  at_least("model.decoder_layers", m.decoder_layers, 1);
  at_least("model.heads", m.heads, 1);
  at_least("model.ff_dim", m.ff_dim, 1);
  at_least("model.max_positions", m.max_positions, 2);
  if (m.kind == "transformer")
    ATTN_CHECK(m.embed_dim % m.heads == 0, "{}: model.embed_dim {} must be a multiple of model.heads {}", where,
               m.embed_dim, m.heads);
  else
    ATTN_CHECK(m.hidden % 2 == 0, "{}: model.hidden {} must be even (the encoder's two directions share it)", where,
               m.hidden);
  ATTN_CHECK(!m.share_embeddings || s.joint, "{}: model.share_embeddings needs a joint vocabulary (subword.joint)",
             where);
  ATTN_CHECK(!m.copy || (s.joint && m.kind == "transformer"),
             "{}: model.copy needs the transformer and a joint vocabulary (subword.joint)", where);
  ATTN_CHECK(m.dropout >= 0 && m.dropout < 1, "{}: model.dropout must lie in [0, 1), got {}", where, m.dropout);
  at_least("train.epochs", t.epochs, 1);
  at_least("train.batch_tokens", t.batch_tokens, 1);
  at_least("train.warmup_steps", t.warmup_steps, 0);
  at_least("train.patience", t.patience, 0);
  at_least("train.max_source_length", t.max_source_length, 1);
  at_least("train.max_target_length", t.max_target_length, 1);
  at_least("train.valid_sentences", t.valid_sentences, 0);
  at_least("train.bucket_factor", t.bucket_factor, 1);
  one_of(where, "train.optimizer", t.optimizer, {"adam", "adamw"});
  one_of(where, "train.schedule", t.schedule, {"constant", "linear", "cosine", "inverse_sqrt"});
  one_of(where, "train.valid_metric", t.valid_metric, {"bleu", "chrf", "rougeL", "loss"});
  ATTN_CHECK(std::isfinite(t.lr) && t.lr > 0, "{}: train.lr must be > 0, got {}", where, t.lr);
  ATTN_CHECK(std::isfinite(t.weight_decay) && t.weight_decay >= 0, "{}: train.weight_decay must be >= 0", where);
  ATTN_CHECK(std::isfinite(t.clip_norm) && t.clip_norm >= 0, "{}: train.clip_norm must be >= 0", where);
  ATTN_CHECK(std::isfinite(t.max_minutes) && t.max_minutes >= 0, "{}: train.max_minutes must be >= 0", where);
  ATTN_CHECK(t.ema_decay >= 0 && t.ema_decay < 1, "{}: train.ema_decay must lie in [0, 1)", where);
  ATTN_CHECK(t.label_smoothing >= 0 && t.label_smoothing < 1, "{}: train.label_smoothing must lie in [0, 1)", where);
  ATTN_CHECK(t.schedule != "inverse_sqrt" || t.warmup_steps >= 1, "{}: the inverse_sqrt schedule needs warmup_steps >= 1",
             where);
  at_least("decode.beam", d.beam, 1);
  at_least("decode.max_length", d.max_length, 1);
  at_least("decode.min_length", d.min_length, 0);
  at_least("decode.no_repeat_ngram", d.no_repeat_ngram, 0);
  ATTN_CHECK(std::isfinite(d.length_penalty) && d.length_penalty >= 0, "{}: decode.length_penalty must be >= 0", where);
  ATTN_CHECK(std::isfinite(d.max_length_ratio) && d.max_length_ratio >= 0, "{}: decode.max_length_ratio must be >= 0",
             where);
}

}  // namespace attn::tasks::seq2seq
