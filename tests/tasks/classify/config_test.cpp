// ClassifyConfig <-> JSON: round trip, overlays of partial files, strict checking of names, types and values.
#include "attn/tasks/classify/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace attn::tasks::classify {
namespace {

using testing::expect_error;

using nlohmann::json;

TEST(ClassifyConfig, RoundTripsThroughJson) {
  ClassifyConfig c;
  c.model.embed_dim = 96;
  c.model.heads = 3;
  c.model.tfidf.ngram_max = 3;
  c.model.word_dropout = 0.2f;
  c.model.word_ngrams = 3;
  c.model.pool = "attention-max";
  c.model.ngram_buckets = 77;
  c.preprocess.tokenizer = text::TokenizerKind::SentencePiece;
  c.preprocess.stop_words = "zh";
  c.preprocess.clean.replace_numbers = true;
  c.train.lr = 0.0125f;
  c.train.seed = 77;
  c.train.ema_decay = 0.999f;
  c.train.max_minutes = 2.5;
  c.train.pretrain_epochs = 4;
  c.model.ensemble = 3;
  c.train.pretrain_lr = 0.003f;
  c.train.pretrain_dropout = 0.25f;
  c.train.pretrain_vocab = 500;
  c.model.kind = ModelKind::kGruAttention;  // pretraining needs a recurrent model
  c.labels = {"neg", "pos"};
  const json j = to_json(c);
  EXPECT_EQ(j.at("task"), "classify");
  ClassifyConfig back = config_from_json(j, "cfg");
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.model.kind, ModelKind::kGruAttention);
  EXPECT_EQ(back.preprocess.tokenizer, text::TokenizerKind::SentencePiece);
  EXPECT_EQ(back.labels, c.labels);
  EXPECT_EQ(back.model.word_dropout, 0.2f);
  EXPECT_EQ(back.model.word_ngrams, 3);
  EXPECT_EQ(back.model.pool, "attention-max");
  EXPECT_EQ(back.model.ngram_buckets, 77);
  EXPECT_EQ(back.train.ema_decay, 0.999f);
  EXPECT_EQ(back.train.max_minutes, 2.5);
  EXPECT_EQ(back.train.pretrain_epochs, 4);
  EXPECT_EQ(back.model.ensemble, 3);
  EXPECT_EQ(back.train.pretrain_lr, 0.003f);
  EXPECT_EQ(back.train.pretrain_dropout, 0.25f);
  EXPECT_EQ(back.train.pretrain_vocab, 500);
}

TEST(ClassifyConfig, PartialFilesOverlayDefaults) {
  ClassifyConfig c;
  apply_json(c, json::parse(R"({"model": {"hidden": 32}, "train": {"epochs": 2}})"), "cfg");
  EXPECT_EQ(c.model.hidden, 32);
  EXPECT_EQ(c.train.epochs, 2);
  EXPECT_EQ(c.model.embed_dim, ClassifyConfig{}.model.embed_dim);
}

TEST(ClassifyConfig, RejectsWhatItCannotUse) {
  ClassifyConfig c;
  expect_error([&] { apply_json(c, json::parse(R"({"model": {"hiden": 32}})"), "cfg.json"); },
               {"cfg.json.model", "unknown field 'hiden'"});
  expect_error([&] { apply_json(c, json::parse(R"({"train": {"epochs": "many"}})"), "cfg.json"); },
               {"cfg.json.train", "'epochs'", "wrong type"});
  expect_error([&] { apply_json(c, json::parse(R"({"task": "translate"})"), "m/config.json"); },
               {"m/config.json", "'translate'"});
  expect_error([&] { apply_json(c, json::parse(R"({"model": {"kind": "cnn"}})"), "cfg"); },
               {"unknown model 'cnn'", "bilstm-attn"});
  expect_error([&] { config_from_json(json::parse(R"({"train": {"lr": -1}})"), "cfg"); }, {"train.lr"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"kind": "transformer", "embed_dim": 10, "heads": 4}})"), "cfg"); },
               {"multiple of model.heads"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"word_dropout": 1}})"), "cfg"); },
               {"cfg", "dropout must lie in [0, 1)"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"pool": "mean"}})"), "cfg"); },
               {"cfg", "model.pool must be attention or attention-max", "'mean'"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"word_ngrams": 0}})"), "cfg"); },
               {"cfg", "model.word_ngrams must lie in [1, 5]"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"ngram_buckets": 0}})"), "cfg"); },
               {"model.ngram_buckets"});
  expect_error([&] { config_from_json(json::parse(R"({"train": {"pretrain_epochs": -1}})"), "cfg"); },
               {"train.pretrain_epochs must be >= 0"});
  const json transformer = json::parse(R"({"model": {"kind": "transformer"}, "train": {"pretrain_epochs": 2}})");
  expect_error([&] { config_from_json(transformer, "cfg"); },
               {"cfg", "train.pretrain_epochs needs a recurrent model", "transformer"});
  expect_error([&] { config_from_json(json::parse(R"({"train": {"pretrain_lr": 0}})"), "cfg"); },
               {"train.pretrain_lr"});
  expect_error([&] { config_from_json(json::parse(R"({"train": {"pretrain_dropout": 1}})"), "cfg"); },
               {"train.pretrain_dropout must lie in [0, 1)"});
  expect_error([&] { config_from_json(json::parse(R"({"train": {"pretrain_vocab": 0}})"), "cfg"); },
               {"train.pretrain_vocab"});
  expect_error([&] { config_from_json(json::parse(R"({"model": {"ensemble": 0}})"), "cfg"); },
               {"model.ensemble must lie in [1, 100]"});
  expect_error([&] { config_from_json(json::parse(R"({"version": 9})"), "cfg"); }, {"version 9"});
  expect_error([&] { config_from_json(json::parse(R"([1, 2])"), "cfg"); }, {"expected a JSON object"});
}

}  // namespace
}  // namespace attn::tasks::classify
