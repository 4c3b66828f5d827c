// Text <-> token ids for generation tasks, where ids must also turn back into text: SentencePiece unigram or
// BPE models trained on the training text (raw text in, detokenised text out), or plain words (split at spaces
// and punctuation, joined back with spaces). Ids 0-3 are always <pad>, <unk>, <s> and </s>.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::text {

enum class SubwordKind { kUnigram, kBpe, kWords };
std::string to_string(SubwordKind kind);  // "unigram", "bpe", "words"
SubwordKind subword_kind_from_string(std::string_view name);  // attn::Error listing the choices otherwise

struct SubwordOptions {
  SubwordKind kind = SubwordKind::kUnigram;
  int vocab_size = 8000;   // at most; a small corpus gives fewer
  int min_count = 1;       // words: keep words seen at least this often
  uint64_t seed = 1;
};

class SubwordModel {
 public:
  static constexpr int32_t kPad = 0, kUnk = 1, kBos = 2, kEos = 3;

  // Trains on texts (empty ones are skipped); SentencePiece's own NFKC-based normalisation applies.
  static SubwordModel train(const std::vector<const std::string*>& texts, const SubwordOptions& options);
  // Writes `path` atomically (SentencePiece's model file, or one word per line for words).
  void save(const std::string& path) const;
  // A missing, corrupt or wrong-kind file is an attn::Error naming it.
  static SubwordModel load(const std::string& path, SubwordKind kind);

  SubwordKind kind() const;
  int32_t size() const;
  // Ids of the text's pieces, without <s> and </s>.
  std::vector<int32_t> encode(std::string_view text) const;
  // Text of the ids (specials dropped).
  std::string decode(const std::vector<int32_t>& ids) const;
  // Each id's piece ("▁the", "ing"), as shown over attention heatmaps.
  std::vector<std::string> pieces(const std::vector<int32_t>& ids) const;

  SubwordModel(SubwordModel&&) noexcept;
  SubwordModel& operator=(SubwordModel&&) noexcept;
  SubwordModel(const SubwordModel&);
  SubwordModel& operator=(const SubwordModel&);
  ~SubwordModel();

 private:
  struct Impl;
  explicit SubwordModel(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // immutable once built: copies share it and encode may run on many threads
};

}  // namespace attn::text
