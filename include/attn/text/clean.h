// Text cleaning before tokenisation: markup and entities of scraped reviews (IMDB's <br />), Unicode
// normalisation, lower-casing, placeholders for URLs, e-mail addresses and numbers, and whitespace collapsed to
// single spaces. The options are stored in a model's config.json so prediction cleans text the way training did.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace attn::text {

struct CleanOptions {
  bool nfkc = true;              // NFKC: full-width letters and digits to ASCII, ligatures split, and so on
  bool lowercase = true;         // every script, not just ASCII
  bool strip_markup = true;      // HTML/XML tags and comments become a space; entities (&amp; &#39; &#x4E2D;) decoded
  bool replace_urls = true;      // http://..., https://..., www.... -> " <url> "
  bool replace_emails = true;    // name@host.tld -> " <email> "
  bool replace_numbers = false;  // 42, 3.14, 1,000,000 -> " <num> " (not digits inside words: mp3, 2nd, 1980s)
};

// Cleans one text. Steps, in order: markup, NFKC, lower case, placeholders, whitespace (every Unicode space,
// control character, zero-width space and byte-order mark) collapsed to one ASCII space, ends trimmed.
// Throws attn::Error (with the byte offset) if `utf8` is not valid UTF-8.
std::string clean_text(std::string_view utf8, const CleanOptions& options);

nlohmann::json to_json(const CleanOptions& options);
// Keys left out keep their defaults; an unknown key or a value that is not a boolean is an attn::Error naming it.
CleanOptions clean_options_from_json(const nlohmann::json& json);

}  // namespace attn::text
