// NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode, the stemmer behind rouge-score's use_stemmer:
// Porter's 1980 algorithm with Martin Porter's later changes and NLTK's own (irregular forms, "ies"/"ied" on
// four-letter words, "y" to "i" only after a consonant, "alli", "fulli", "logi"). Snowball's "porter" and
// "english" stemmers differ from it on many words, so it is written out here.
#pragma once
#include <string>
#include <string_view>

namespace attn::metrics::detail {

// The stem of a lower-case ASCII word (letters and digits), as PorterStemmer().stem(word).
std::string porter_stem(std::string_view word);

}  // namespace attn::metrics::detail
