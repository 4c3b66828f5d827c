// The sequence-to-sequence config: a round trip through JSON, partial files over defaults, and the errors for
// what a model cannot be built or trained with.
#include "attn/tasks/seq2seq/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace attn::tasks::seq2seq {
namespace {

using nlohmann::json;
using testing::expect_error;

TEST(Seq2SeqConfig, RoundTripsThroughJson) {
  Seq2SeqConfig c = summarize_defaults();
  c.subword.kind = "bpe";
  c.subword.vocab_size = 321;
  c.model.kind = "rnn-attn";
  c.model.cell = "lstm";
  c.model.attention = "luong";
  c.model.hidden = 64;
  c.train.lr = 0.0025f;
  c.train.max_minutes = 1.5;
  c.train.ema_decay = 0.999f;
  c.decode.beam = 3;
  c.decode.no_repeat_ngram = 3;
  c.model.kind = "transformer";
  c.model.copy = true;
  const json j = to_json(c);
  EXPECT_EQ(j.at("task"), "seq2seq");
  EXPECT_EQ(j.at("purpose"), "summarize");
  const Seq2SeqConfig back = config_from_json(j, "cfg");
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.subword.kind, "bpe");
  EXPECT_EQ(back.model.attention, "luong");
  EXPECT_TRUE(back.model.copy);
  EXPECT_EQ(back.train.max_source_length, summarize_defaults().train.max_source_length);
  EXPECT_EQ(back.train.ema_decay, 0.999f);
  EXPECT_EQ(back.train.max_minutes, 1.5);
  EXPECT_EQ(back.decode.beam, 3);
  EXPECT_EQ(back.decode.no_repeat_ngram, 3);
}

TEST(Seq2SeqConfig, PartialFilesOverlayDefaults) {
  Seq2SeqConfig c;
  apply_json(c, json::parse(R"({"model": {"heads": 8}, "train": {"epochs": 2}})"), "cfg");
  EXPECT_EQ(c.model.heads, 8);
  EXPECT_EQ(c.train.epochs, 2);
  EXPECT_EQ(c.model.embed_dim, Seq2SeqConfig{}.model.embed_dim);
  EXPECT_EQ(c.decode.beam, Seq2SeqConfig{}.decode.beam);
}

TEST(Seq2SeqConfig, RejectsWhatItCannotUse) {
  Seq2SeqConfig c;
  expect_error([&] { apply_json(c, json::parse(R"({"model": {"head": 8}})"), "m/config.json"); },
               {"m/config.json.model", "unknown field 'head'"});
  expect_error([&] { apply_json(c, json::parse(R"({"train": {"lr": "fast"}})"), "cfg"); },
               {"cfg.train", "'lr'", "wrong type"});
  expect_error([&] { apply_json(c, json::parse(R"({"task": "classify"})"), "cfg"); }, {"'classify'", "seq2seq"});
  expect_error([&] { apply_json(c, json::parse(R"({"version": 7})"), "cfg"); }, {"version 7"});
  auto rejects = [](const char* text, std::initializer_list<const char*> parts) {
    expect_error([&] { config_from_json(json::parse(text), "cfg"); }, parts);
  };
  rejects(R"({"purpose": "poetry"})", {"purpose must be one of translate, summarize", "'poetry'"});
  rejects(R"({"model": {"kind": "cnn"}})", {"model.kind must be one of"});
  rejects(R"({"model": {"embed_dim": 100, "heads": 8}})", {"multiple of model.heads"});
  rejects(R"({"model": {"share_embeddings": true}, "subword": {"joint": false}})", {"joint vocabulary"});
  rejects(R"({"subword": {"vocab_size": 8}})", {"subword.vocab_size must be >= 16"});
  rejects(R"({"model": {"copy": true, "kind": "rnn-attn"}})", {"model.copy needs the transformer"});
  rejects(R"({"model": {"copy": true}, "subword": {"joint": false}})", {"joint vocabulary"});
  rejects(R"({"train": {"ema_decay": 1}})", {"train.ema_decay must lie in [0, 1)"});
  rejects(R"({"train": {"max_minutes": -1}})", {"train.max_minutes must be >= 0"});
  rejects(R"({"train": {"schedule": "inverse_sqrt", "warmup_steps": 0}})", {"needs warmup_steps >= 1"});
  rejects(R"({"decode": {"beam": 0}})", {"decode.beam must be >= 1"});
  rejects(R"({"decode": {"no_repeat_ngram": -1}})", {"decode.no_repeat_ngram must be >= 0"});
}

}  // namespace
}  // namespace attn::tasks::seq2seq
