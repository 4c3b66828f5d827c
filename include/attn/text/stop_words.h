// Stop-word lists for bag-of-words baselines and for hiding function words in attention displays.
// Negations are deliberately NOT in the lists (English: no, nor, not and every n't form such as don't, isn't,
// won't, with their stems don, isn, won; Chinese: 不 没 没有 无 非 未 别 莫 勿 and the words built on them): removing
// them turns "not good" into "good", which is exactly wrong for sentiment. Everything else is the usual list.
#pragma once
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace attn::text {

// "en": NLTK's English list (lower case, apostrophe forms as the word tokenizer keeps them: "it's") less the
// negations, plus the common pronoun contractions ("i'm", "they're"). "zh": common Chinese function words
// (pronouns, particles, conjunctions, prepositions), single characters and words; the word tokenizer splits Chinese
// into characters, so only the single-character entries match its tokens. Unknown languages: attn::Error
// listing the known ones.
const std::unordered_set<std::string>& stop_words(std::string_view language);

// The tokens not in `words`, in their order.
std::vector<std::string> remove_stop_words(std::vector<std::string> tokens,
                                           const std::unordered_set<std::string>& words);

}  // namespace attn::text
