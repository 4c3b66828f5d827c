#include "attn/text/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <utf8proc.h>

#include <algorithm>
#include <unordered_map>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/io/atomic_file.h"
#include "attn/text/utf8.h"

namespace attn::text {

struct Tokenizer::SentencePieceModel {
  sentencepiece::SentencePieceProcessor processor;
  std::string serialized;  // what save() writes
};

namespace {

using Spans = std::vector<std::pair<size_t, size_t>>;

constexpr std::string_view kModelFile = "tokenizer.model";
constexpr uint64_t kMaxModelBytes = uint64_t{1} << 30;

bool is_ascii_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

bool is_word_category(char32_t cp) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);  // letters, marks, numbers
}

// Marks and joiners that belong to the character before them (é as e + U+0301, emoji variation selectors).
bool is_attaching(char32_t cp) {
  if (cp == 0x200D || cp == 0xFE0F) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME;
}

// If a word character starts at s[i], returns the index after it; otherwise returns i.
size_t word_char_end(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return is_ascii_word(c) ? i + 1 : i;
  size_t j = i;
  const char32_t cp = next_code_point(s, &j);
  return !is_cjk(cp) && is_word_category(cp) ? j : i;
}

// End of the word starting with the word character at s[i].
size_t word_end(std::string_view s, size_t i) {
  size_t j = word_char_end(s, i);
  for (;;) {
    while (j < s.size() && is_ascii_word(static_cast<unsigned char>(s[j]))) ++j;
    const size_t next = word_char_end(s, j);
    if (next > j) {
      j = next;
      continue;
    }
    if (j >= s.size()) break;
    // A single joiner between two word characters stays inside the word.
    size_t joiner = j;
    const char c = s[j];
    if (c == '\'' || c == '-') {
      joiner = j + 1;
    } else if ((c == '.' || c == ',') && is_ascii_digit(s[j - 1]) && j + 1 < s.size() && is_ascii_digit(s[j + 1])) {
      joiner = j + 1;
    } else if (s.substr(j, 3) == "\u2019") {
      joiner = j + 3;
    }
    if (joiner == j || word_char_end(s, joiner) == joiner) break;
    j = joiner;
  }
  return j;
}

// End of a placeholder ("<url>") starting at s[i] == '<', or i if there is none.
size_t placeholder_end(std::string_view s, size_t i) {
  size_t j = i + 1;
  while (j < s.size() && s[j] >= 'a' && s[j] <= 'z') ++j;
  return j > i + 1 && j < s.size() && s[j] == '>' ? j + 1 : i;
}

class TokenSink {
 public:
  TokenSink(std::string_view text, std::vector<std::string>& tokens, Spans* spans)
      : text_(text), tokens_(tokens), spans_(spans) {}
  void add(size_t begin, size_t end) {
    tokens_.emplace_back(text_.substr(begin, end - begin));
    if (spans_) spans_->emplace_back(begin, end);
    last_end_ = end;
  }
  // Extends the last token if it ends at `begin`; false if there is no such token.
  bool extend(size_t begin, size_t end) {
    if (tokens_.empty() || last_end_ != begin) return false;
    tokens_.back().append(text_.substr(begin, end - begin));
    if (spans_) spans_->back().second = end;
    last_end_ = end;
    return true;
  }

 private:
  std::string_view text_;
  std::vector<std::string>& tokens_;
  Spans* spans_;
  size_t last_end_ = 0;
};

void split_words(std::string_view s, TokenSink& sink) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c <= 0x20 || c == 0x7F) {
        ++i;
        continue;
      }
      size_t end = i + 1;
      if (is_ascii_word(c)) {
        end = word_end(s, i);
      } else if (c == '<') {
        end = std::max(end, placeholder_end(s, i));
      }
      sink.add(i, end);
      i = end;
      continue;
    }
    size_t j = i;
    const char32_t cp = next_code_point(s, &j);
    if (is_cjk(cp)) {
      sink.add(i, j);
    } else if (is_word_category(cp) && !is_attaching(cp)) {
      j = word_end(s, i);
      sink.add(i, j);
    } else if (!is_space(cp) && !(is_attaching(cp) && sink.extend(i, j))) {
      sink.add(i, j);
    }
    i = j;
  }
}

void split_chars(std::string_view s, TokenSink& sink) {
  for (size_t i = 0; i < s.size();) {
    const size_t begin = i;
    if (!is_space(next_code_point(s, &i))) sink.add(begin, i);
  }
}

void split_pieces(const sentencepiece::SentencePieceProcessor& sp, std::string_view s, std::vector<std::string>& tokens,
                  Spans* spans) {
  const auto encoded = sp.EncodeAsImmutableProto(s);
  const size_t n = encoded.pieces_size();
  ATTN_CHECK(n > 0 || s.find_first_not_of(' ') == std::string_view::npos,
             "SentencePiece could not encode a text of {} bytes", s.size());
  tokens.reserve(n);
  if (spans) spans->reserve(n);
  for (size_t k = 0; k < n; ++k) {
    const auto piece = encoded.pieces(static_cast<int>(k));
    tokens.push_back(piece.piece());
    if (spans) {
      size_t begin = piece.begin();
      const size_t end = piece.end();
      while (begin < end && s[begin] == ' ') ++begin;
      spans->emplace_back(begin, end);
    }
  }
}

// Feeds the training texts to SentencePiece without a temporary file.
class TextIterator : public sentencepiece::SentenceIterator {
 public:
  explicit TextIterator(const std::vector<std::string>& texts) : texts_(texts) { skip_empty(); }
  bool done() const override { return i_ >= texts_.size(); }
  void Next() override {
    ++i_;
    skip_empty();
  }
  const std::string& value() const override { return texts_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void skip_empty() {
    while (i_ < texts_.size() && texts_[i_].empty()) ++i_;
  }
  const std::vector<std::string>& texts_;
  size_t i_ = 0;
};

bool mostly_cjk(const std::vector<std::string>& texts) {
  uint64_t cjk = 0, all = 0;
  for (const auto& t : texts) {
    for (size_t i = 0; i < t.size();) {
      const auto c = static_cast<unsigned char>(t[i]);
      if (c < 0x80) {
        all += c != ' ';
        ++i;
        continue;
      }
      cjk += is_cjk(next_code_point(t, &i));
      ++all;
    }
  }
  return cjk * 10 >= all && cjk > 0;
}

}  // namespace

std::string to_string(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::Words: return "words";
    case TokenizerKind::Chars: return "chars";
    case TokenizerKind::SentencePiece: return "sentencepiece";
  }
  return "?";
}

TokenizerKind tokenizer_kind_from_string(std::string_view name) {
  for (const auto kind : {TokenizerKind::Words, TokenizerKind::Chars, TokenizerKind::SentencePiece}) {
    if (name == to_string(kind)) return kind;
  }
  detail::throw_error(fmt::format("unknown tokenizer '{}' (choices: words, chars, sentencepiece)", name));
}

Tokenizer::Tokenizer(TokenizerKind kind, std::shared_ptr<const SentencePieceModel> model)
    : kind_(kind), model_(std::move(model)) {}

Tokenizer Tokenizer::words() { return Tokenizer(TokenizerKind::Words, nullptr); }
Tokenizer Tokenizer::chars() { return Tokenizer(TokenizerKind::Chars, nullptr); }

Tokenizer Tokenizer::train_sentencepiece(const std::vector<std::string>& texts, int vocab_size, uint64_t seed) {
  ATTN_CHECK(vocab_size > 0, "SentencePiece: vocabulary size must be positive, got {}", vocab_size);
  size_t longest = 0;
  for (const auto& t : texts) {
    const auto bad = find_invalid_utf8(t);
    ATTN_CHECK(!bad, "SentencePiece training text: invalid UTF-8 at byte {}", *bad);
    longest = std::max(longest, t.size());
  }
  ATTN_CHECK(longest > 0, "SentencePiece: no training text ({} texts, all empty)", texts.size());
  ATTN_CHECK(longest < (size_t{1} << 30), "SentencePiece: a training text of {} bytes is too long", longest);

  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocab_size)},
      {"hard_vocab_limit", "false"},  // a small corpus gives fewer pieces instead of an error
      {"character_coverage", mostly_cjk(texts) ? "0.9995" : "1.0"},
      {"normalization_rule_name", "identity"},  // clean_text has normalised already
      {"user_defined_symbols", "<url>,<email>,<num>"},
      {"input_sentence_size", "0"},  // every text, no random sample
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", std::to_string(longest + 1)},
      {"num_threads", std::to_string(std::max(1, num_threads()))},
      {"minloglevel", "2"},  // errors come back as a status
  };
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned>(seed % 0xFFFFFFFFull));  // ~0u means "random"
  TextIterator it(texts);
  auto model = std::make_shared<SentencePieceModel>();
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model->serialized);
  ATTN_CHECK(status.ok(), "SentencePiece training failed: {}", status.ToString());
  const auto loaded = model->processor.LoadFromSerializedProto(model->serialized);
  ATTN_CHECK(loaded.ok(), "SentencePiece: the trained model does not load: {}", loaded.ToString());
  return Tokenizer(TokenizerKind::SentencePiece, std::move(model));
}

void Tokenizer::save(const std::string& dir) const {
  if (kind_ != TokenizerKind::SentencePiece) return;
  io::write_file_atomic(dir + "/" + std::string(kModelFile), model_->serialized);
}

Tokenizer Tokenizer::load(const std::string& dir, TokenizerKind kind) {
  if (kind != TokenizerKind::SentencePiece) return Tokenizer(kind, nullptr);
  const std::string path = dir + "/" + std::string(kModelFile);
  auto model = std::make_shared<SentencePieceModel>();
  model->serialized = io::read_file(path, kMaxModelBytes);
  const auto status = model->processor.LoadFromSerializedProto(model->serialized);
  ATTN_CHECK(status.ok(), "{}: not a valid SentencePiece model ({})", path, status.ToString());
  return Tokenizer(kind, std::move(model));
}

std::vector<std::string> Tokenizer::tokenize(std::string_view cleaned_utf8) const {
  return tokenize(cleaned_utf8, nullptr);
}

std::vector<std::string> Tokenizer::tokenize(std::string_view cleaned_utf8, Spans* spans) const {
  const auto bad = find_invalid_utf8(cleaned_utf8);
  ATTN_CHECK(!bad, "tokenize: invalid UTF-8 at byte {}", *bad);
  std::vector<std::string> tokens;
  if (spans) spans->clear();
  if (kind_ == TokenizerKind::SentencePiece) {
    split_pieces(model_->processor, cleaned_utf8, tokens, spans);
    return tokens;
  }
  tokens.reserve(cleaned_utf8.size() / 4);
  TokenSink sink(cleaned_utf8, tokens, spans);
  if (kind_ == TokenizerKind::Words) {
    split_words(cleaned_utf8, sink);
  } else {
    split_chars(cleaned_utf8, sink);
  }
  return tokens;
}

}  // namespace attn::text
