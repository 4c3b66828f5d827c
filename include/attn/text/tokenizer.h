// Splits cleaned text into tokens: words and punctuation (with one token per Han/Kana character, so Chinese and
// mixed text work without a segmenter), single characters, or SentencePiece unigram subwords trained on the
// training texts. Each token can come with its byte span in the input, to show attention over the original text.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn::text {

enum class TokenizerKind { Words, Chars, SentencePiece };

std::string to_string(TokenizerKind kind);  // "words", "chars", "sentencepiece"
// Throws attn::Error listing the choices for anything else.
TokenizerKind tokenizer_kind_from_string(std::string_view name);

// Cheap to copy (a SentencePiece model is shared, never modified); tokenize() may run on many threads at once.
class Tokenizer {
 public:
  Tokenizer() = default;  // words
  // Words: splits at whitespace; a run of letters, digits, marks and '_' is one token, and so are '-', '\'' and '’'
  // between two of them (well-known, don't) and '.' or ',' between two digits (3.5, 1,000); every other
  // character (punctuation, symbols) is a token of its own, with any combining marks that follow it. Every
  // character for which is_cjk() holds is a token of its own. Placeholders ('<', a-z letters, '>': <url>) stay whole.
  static Tokenizer words();
  // Chars: every code point other than whitespace is a token.
  static Tokenizer chars();
  // A SentencePiece unigram model with at most vocab_size pieces, trained on already cleaned texts (empty ones are
  // skipped). The texts are not normalised again; <url>, <email> and <num> are pieces of their own; character
  // coverage is 0.9995 when at least a tenth of the characters are CJK and 1.0 otherwise. Deterministic for a
  // given seed and attn::num_threads(); SentencePiece's log is silenced.
  static Tokenizer train_sentencepiece(const std::vector<std::string>& texts, int vocab_size, uint64_t seed);

  // SentencePiece: writes "<dir>/tokenizer.model" atomically; the other kinds have no file and write nothing.
  void save(const std::string& dir) const;
  // SentencePiece: reads "<dir>/tokenizer.model"; a missing or corrupt file is an attn::Error naming it.
  static Tokenizer load(const std::string& dir, TokenizerKind kind);

  TokenizerKind kind() const { return kind_; }

  std::vector<std::string> tokenize(std::string_view cleaned_utf8) const;
  // Also sets (*spans)[k] to the bytes [begin, end) of the input that token k came from. SentencePiece pieces
  // carry their word-start mark ("▁the"), but their spans leave out the space before the word.
  std::vector<std::string> tokenize(std::string_view cleaned_utf8, std::vector<std::pair<size_t, size_t>>* spans) const;

 private:
  struct SentencePieceModel;
  Tokenizer(TokenizerKind kind, std::shared_ptr<const SentencePieceModel> model);

  TokenizerKind kind_ = TokenizerKind::Words;
  std::shared_ptr<const SentencePieceModel> model_;  // SentencePiece only
};

}  // namespace attn::text
