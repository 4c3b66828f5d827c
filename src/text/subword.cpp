#include "attn/text/subword.h"

#include <fmt/format.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <unordered_map>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/io/atomic_file.h"
#include "attn/text/tokenizer.h"
#include "attn/text/utf8.h"
#include "attn/text/vocabulary.h"

namespace attn::text {
namespace {

constexpr uint64_t kMaxModelBytes = uint64_t{1} << 30;
constexpr std::string_view kSpecials[] = {"<pad>", "<unk>", "<s>", "</s>"};

// Feeds the training texts to SentencePiece without a temporary file.
class TextIterator : public sentencepiece::SentenceIterator {
 public:
  explicit TextIterator(const std::vector<const std::string*>& texts) : texts_(texts) { skip_empty(); }
  bool done() const override { return i_ >= texts_.size(); }
  void Next() override {
    ++i_;
    skip_empty();
  }
  const std::string& value() const override { return *texts_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void skip_empty() {
    while (i_ < texts_.size() && texts_[i_]->empty()) ++i_;
  }
  const std::vector<const std::string*>& texts_;
  size_t i_ = 0;
};

// Words are glued back to the punctuation that follows them (and to an opening bracket before them).
bool attaches_left(std::string_view w) {
  return w == "." || w == "," || w == "!" || w == "?" || w == ";" || w == ":" || w == ")" || w == "]" ||
         w == "%" || w == "'s" || w == "n't" || w == "...";
}
bool attaches_right(std::string_view w) { return w == "(" || w == "[" || w == "$"; }

}  // namespace

struct SubwordModel::Impl {
  SubwordKind kind = SubwordKind::kUnigram;
  sentencepiece::SentencePieceProcessor processor;  // unigram and bpe
  std::string serialized;
  std::vector<std::string> words;  // words: the token of each id
  std::unordered_map<std::string, int32_t> word_ids;

  void add_word(std::string w) {
    if (word_ids.emplace(w, int32_t(words.size())).second) words.push_back(std::move(w));
  }
};

std::string to_string(SubwordKind kind) {
  switch (kind) {
    case SubwordKind::kUnigram: return "unigram";
    case SubwordKind::kBpe: return "bpe";
    case SubwordKind::kWords: return "words";
  }
  return "?";
}

SubwordKind subword_kind_from_string(std::string_view name) {
  for (const auto kind : {SubwordKind::kUnigram, SubwordKind::kBpe, SubwordKind::kWords})
    if (name == to_string(kind)) return kind;
  attn::detail::throw_error(fmt::format("unknown subword model '{}' (choices: unigram, bpe, words)", name));
}

SubwordModel::SubwordModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
SubwordModel::SubwordModel(SubwordModel&&) noexcept = default;
SubwordModel& SubwordModel::operator=(SubwordModel&&) noexcept = default;
SubwordModel::SubwordModel(const SubwordModel&) = default;
SubwordModel& SubwordModel::operator=(const SubwordModel&) = default;
SubwordModel::~SubwordModel() = default;

SubwordModel SubwordModel::train(const std::vector<const std::string*>& texts, const SubwordOptions& o) {
  ATTN_CHECK(o.vocab_size >= 8, "subword model: vocabulary size must be at least 8, got {}", o.vocab_size);
  size_t longest = 0;
  for (const auto* t : texts) {
    const auto bad = find_invalid_utf8(*t);
    ATTN_CHECK(!bad, "subword model: a training text has invalid UTF-8 at byte {}", *bad);
    longest = std::max(longest, t->size());
  }
  ATTN_CHECK(longest > 0, "subword model: no training text ({} texts, all empty)", texts.size());
  auto impl = std::make_shared<Impl>();
  impl->kind = o.kind;
  if (o.kind == SubwordKind::kWords) {
    const Tokenizer tokenizer = Tokenizer::words();
    std::vector<std::vector<std::string>> documents;
    documents.reserve(texts.size());
    for (const auto* t : texts) documents.push_back(tokenizer.tokenize(*t));
    const Vocabulary all = Vocabulary::build(documents, o.min_count, 0);  // <pad>, <unk>, then by frequency
    for (auto special : kSpecials) impl->add_word(std::string(special));
    for (int32_t i = 2; i < all.size() && impl->words.size() < size_t(o.vocab_size); ++i) impl->add_word(all.token(i));
    for (const auto& w : impl->words) impl->serialized += w + "\n";
    return SubwordModel(std::move(impl));
  }
  ATTN_CHECK(longest < (size_t{1} << 30), "subword model: a training text of {} bytes is too long", longest);
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", o.kind == SubwordKind::kBpe ? "bpe" : "unigram"},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"hard_vocab_limit", "false"},  // a small corpus gives fewer pieces instead of an error
      {"character_coverage", "0.9995"},
      {"pad_id", "0"}, {"unk_id", "1"}, {"bos_id", "2"}, {"eos_id", "3"},
      {"input_sentence_size", "2000000"},  // a sample of at most 2M texts (seeded) keeps training quick
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", std::to_string(std::min<size_t>(longest + 1, size_t{1} << 20))},
      {"num_threads", std::to_string(std::max(1, num_threads()))},
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned>(o.seed % 0xFFFFFFFFull));
  TextIterator it(texts);
  auto* m = impl.get();
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &m->serialized);
  ATTN_CHECK(status.ok(), "SentencePiece training failed: {}", status.ToString());
  const auto loaded = m->processor.LoadFromSerializedProto(m->serialized);
  ATTN_CHECK(loaded.ok(), "SentencePiece: the trained model does not load: {}", loaded.ToString());
  return SubwordModel(std::move(impl));
}

void SubwordModel::save(const std::string& path) const { io::write_file_atomic(path, impl_->serialized); }

SubwordModel SubwordModel::load(const std::string& path, SubwordKind kind) {
  auto impl = std::make_shared<Impl>();
  impl->kind = kind;
  impl->serialized = io::read_file(path, kMaxModelBytes);
  if (kind != SubwordKind::kWords) {
    const auto status = impl->processor.LoadFromSerializedProto(impl->serialized);
    ATTN_CHECK(status.ok(), "{}: not a valid SentencePiece model ({})", path, status.ToString());
    ATTN_CHECK(impl->processor.pad_id() == kPad && impl->processor.unk_id() == kUnk &&
                   impl->processor.bos_id() == kBos && impl->processor.eos_id() == kEos,
               "{}: a SentencePiece model with other special ids (pad {}, unk {}, bos {}, eos {}; attn uses 0-3)", path,
               impl->processor.pad_id(), impl->processor.unk_id(), impl->processor.bos_id(), impl->processor.eos_id());
    return SubwordModel(std::move(impl));
  }
  const auto bad = find_invalid_utf8(impl->serialized);
  ATTN_CHECK(!bad, "{}: invalid UTF-8 at byte {}", path, *bad);
  size_t line = 0;
  for (size_t begin = 0; begin < impl->serialized.size(); ++line) {
    const size_t end = impl->serialized.find('\n', begin);
    ATTN_CHECK(end != std::string::npos, "{}:{}: the last line has no newline (truncated file?)", path, line + 1);
    std::string word = impl->serialized.substr(begin, end - begin);
    ATTN_CHECK(!word.empty() && word.find_first_of(" \t\r") == std::string::npos,
               "{}:{}: an empty word or one with whitespace", path, line + 1);
    ATTN_CHECK(line >= 4 || word == kSpecials[line], "{}:{}: expected '{}', found '{}'", path, line + 1,
               kSpecials[line], word);
    const size_t before = impl->words.size();
    impl->add_word(std::move(word));
    ATTN_CHECK(impl->words.size() > before, "{}:{}: a word listed twice", path, line + 1);
    begin = end + 1;
  }
  ATTN_CHECK(impl->words.size() >= 4, "{}: not a word list ({} lines; the first four are the specials)", path, line);
  return SubwordModel(std::move(impl));
}

SubwordKind SubwordModel::kind() const { return impl_->kind; }

int32_t SubwordModel::size() const {
  return impl_->kind == SubwordKind::kWords ? int32_t(impl_->words.size()) : impl_->processor.GetPieceSize();
}

std::vector<int32_t> SubwordModel::encode(std::string_view text) const {
  const auto bad = find_invalid_utf8(text);
  ATTN_CHECK(!bad, "subword encode: invalid UTF-8 at byte {}", *bad);
  std::vector<int32_t> ids;
  if (impl_->kind != SubwordKind::kWords) {
    const auto status = impl_->processor.Encode(text, &ids);
    ATTN_CHECK(status.ok(), "SentencePiece could not encode a text of {} bytes: {}", text.size(), status.ToString());
    return ids;
  }
  for (const auto& w : Tokenizer::words().tokenize(text)) {
    const auto it = impl_->word_ids.find(w);
    ids.push_back(it == impl_->word_ids.end() ? kUnk : it->second);
  }
  return ids;
}

std::string SubwordModel::decode(const std::vector<int32_t>& ids) const {
  std::vector<int32_t> kept;
  for (int32_t id : ids)
    if (id == kUnk || (id > kEos && id < size())) kept.push_back(id);
  if (impl_->kind != SubwordKind::kWords) {
    std::string out;
    const auto status = impl_->processor.Decode(kept, &out);
    ATTN_CHECK(status.ok(), "SentencePiece could not decode {} ids: {}", kept.size(), status.ToString());
    return out;
  }
  std::string out;
  bool glue = true;  // no space before the first word
  for (int32_t id : kept) {
    const std::string& w = impl_->words[size_t(id)];
    if (!glue && !attaches_left(w)) out += ' ';
    out += w;
    glue = attaches_right(w);
  }
  return out;
}

std::vector<std::string> SubwordModel::pieces(const std::vector<int32_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    ATTN_CHECK(id >= 0 && id < size(), "subword model: id {} outside the vocabulary of {}", id, size());
    out.push_back(impl_->kind == SubwordKind::kWords ? impl_->words[size_t(id)] : impl_->processor.IdToPiece(id));
  }
  return out;
}

}  // namespace attn::text
