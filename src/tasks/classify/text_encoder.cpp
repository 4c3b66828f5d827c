#include "attn/tasks/classify/text_encoder.h"

#include <filesystem>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/text/clean.h"
#include "attn/text/stop_words.h"

namespace attn::tasks::classify {
namespace {
constexpr const char* kVocabularyFile = "vocab.txt";
}  // namespace

TextEncoder::TextEncoder(PreprocessConfig config, text::Tokenizer tokenizer, std::optional<text::Vocabulary> vocabulary)
    : config_(std::move(config)), tokenizer_(std::move(tokenizer)), vocabulary_(std::move(vocabulary)) {
  if (!config_.stop_words.empty()) stop_words_ = &text::stop_words(config_.stop_words);
}

TextEncoder TextEncoder::fit(const PreprocessConfig& config, const std::vector<std::string>& texts, uint64_t seed,
                             bool with_vocabulary) {
  text::Tokenizer tokenizer = text::Tokenizer::words();
  if (config.tokenizer == text::TokenizerKind::Chars) tokenizer = text::Tokenizer::chars();
  if (config.tokenizer == text::TokenizerKind::SentencePiece) {
    std::vector<std::string> cleaned(texts.size());
    parallel_each(int64_t(texts.size()), [&](int64_t i) { cleaned[size_t(i)] = text::clean_text(texts[size_t(i)], config.clean); });
    tokenizer = text::Tokenizer::train_sentencepiece(cleaned, int(config.sentencepiece_vocab), seed);
  }
  TextEncoder encoder(config, std::move(tokenizer), std::nullopt);
  if (with_vocabulary)
    encoder.vocabulary_ = text::Vocabulary::build(encoder.tokens(texts), config.min_count, config.max_vocab);
  return encoder;
}

TextEncoder TextEncoder::load(const std::string& dir, const PreprocessConfig& config, bool with_vocabulary) {
  std::optional<text::Vocabulary> vocabulary;
  if (with_vocabulary) vocabulary = text::Vocabulary::load((std::filesystem::path(dir) / kVocabularyFile).string());
  return TextEncoder(config, text::Tokenizer::load(dir, config.tokenizer), std::move(vocabulary));
}

void TextEncoder::save(const std::string& dir) const {
  tokenizer_.save(dir);
  if (vocabulary_) vocabulary_->save((std::filesystem::path(dir) / kVocabularyFile).string());
}

const text::Vocabulary& TextEncoder::vocabulary() const {
  ATTN_CHECK(vocabulary_.has_value(), "TextEncoder: this model has no vocabulary");
  return *vocabulary_;
}

std::vector<std::string> TextEncoder::tokens(std::string_view raw, bool truncate) const {
  std::vector<std::string> t = tokenizer_.tokenize(text::clean_text(raw, config_.clean));
  if (stop_words_) t = text::remove_stop_words(std::move(t), *stop_words_);
  if (truncate && int64_t(t.size()) > config_.max_length) t.resize(size_t(config_.max_length));
  return t;
}

std::vector<std::vector<std::string>> TextEncoder::tokens(const std::vector<std::string>& raw, bool truncate) const {
  std::vector<std::vector<std::string>> out(raw.size());
  parallel_each(int64_t(raw.size()), [&](int64_t i) { out[size_t(i)] = tokens(raw[size_t(i)], truncate); });
  return out;
}

std::vector<int32_t> TextEncoder::ids(const std::vector<std::string>& tokens) const {
  std::vector<int32_t> out = vocabulary().encode(tokens);
  if (out.empty()) out.push_back(text::Vocabulary::kUnk);
  return out;
}

std::vector<std::vector<int32_t>> TextEncoder::encode(const std::vector<std::string>& raw) const {
  std::vector<std::vector<int32_t>> out(raw.size());
  parallel_each(int64_t(raw.size()), [&](int64_t i) { out[size_t(i)] = ids(tokens(raw[size_t(i)])); });
  return out;
}

}  // namespace attn::tasks::classify
