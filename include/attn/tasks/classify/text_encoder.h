// Raw text -> tokens -> ids, as the config says: cleaning, tokenising (words, characters or SentencePiece),
// stop-word removal, truncation, vocabulary look-up. Fitted on the training texts (the SentencePiece model and
// the vocabulary) and saved in the model directory, so that test, predict and explain see text exactly as
// training did.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "attn/tasks/classify/config.h"
#include "attn/text/tokenizer.h"
#include "attn/text/vocabulary.h"

namespace attn::tasks::classify {

class TextEncoder {
 public:
  // Trains the tokenizer if it needs training and, with_vocabulary, counts the vocabulary over `texts` (raw).
  // (The tfidf model keeps its own features and needs no vocabulary.)
  static TextEncoder fit(const PreprocessConfig& config, const std::vector<std::string>& texts, uint64_t seed,
                         bool with_vocabulary = true);
  // Reads vocab.txt (when with_vocabulary) and tokenizer.model (SentencePiece) from a model directory.
  static TextEncoder load(const std::string& dir, const PreprocessConfig& config, bool with_vocabulary = true);
  // Writes vocab.txt (if there is a vocabulary) and tokenizer.model (SentencePiece) into dir.
  void save(const std::string& dir) const;

  // Cleaned, tokenised, stop words removed; cut to max_length tokens when truncate.
  std::vector<std::string> tokens(std::string_view raw, bool truncate = true) const;
  std::vector<std::vector<std::string>> tokens(const std::vector<std::string>& raw, bool truncate = true) const;
  std::vector<int32_t> ids(const std::vector<std::string>& tokens) const;
  // ids of many texts at once (in parallel); an empty text becomes the single id <unk>, so every example has a
  // length >= 1.
  std::vector<std::vector<int32_t>> encode(const std::vector<std::string>& raw) const;

  const text::Vocabulary& vocabulary() const;  // throws when fitted or loaded without one
  const PreprocessConfig& config() const { return config_; }

 private:
  TextEncoder(PreprocessConfig config, text::Tokenizer tokenizer, std::optional<text::Vocabulary> vocabulary);
  PreprocessConfig config_;
  text::Tokenizer tokenizer_;
  std::optional<text::Vocabulary> vocabulary_;
  const std::unordered_set<std::string>* stop_words_ = nullptr;
};

}  // namespace attn::tasks::classify
