// Unicode normalisation for text cleaning, through utf8proc: NFKC folds the many spellings of one character
// (full-width Latin and digits, ligatures, compatibility ideographs) into one, and lower-casing works on every
// script, not just ASCII. Both take the ASCII fast path when they can, since they run over whole corpora.
#pragma once
#include <string>
#include <string_view>

namespace attn::text {

// NFKC normal form; throws attn::Error (with the byte offset) if the input is not valid UTF-8.
std::string nfkc(std::string_view utf8);

// Simple (one-to-one) lower-case mapping of each code point, as utf8proc_tolower defines it; the input must be
// valid UTF-8 (throws attn::Error otherwise).
std::string lowercase(std::string_view utf8);

}  // namespace attn::text
