// Follows nltk/stem/porter.py (NLTK 3.8) step by step; the comments name its methods.
#include "porter_stemmer.h"

#include <array>
#include <utility>

namespace attn::metrics::detail {
namespace {

using std::string_view;

// _is_consonant: not a, e, i, o, u, and not a y after a consonant.
bool is_consonant(string_view w, size_t i) {
  switch (w[i]) {
    case 'a':
    case 'e':
    case 'i':
    case 'o':
    case 'u':
      return false;
    case 'y':
      return i == 0 || !is_consonant(w, i - 1);
    default:
      return true;
  }
}

// _measure: m in [C](VC){m}[V], the number of vowel-to-consonant changes.
int measure(string_view stem) {
  int m = 0;
  bool after_vowel = false;
  for (size_t i = 0; i < stem.size(); ++i) {
    const bool consonant = is_consonant(stem, i);
    if (consonant && after_vowel) ++m;
    after_vowel = !consonant;
  }
  return m;
}

bool contains_vowel(string_view stem) {
  for (size_t i = 0; i < stem.size(); ++i) {
    if (!is_consonant(stem, i)) return true;
  }
  return false;
}

bool ends_double_consonant(string_view w) {
  const size_t n = w.size();
  return n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1);
}

// *o: consonant-vowel-consonant with the last not w, x or y; NLTK also counts a two-letter vowel-consonant word.
bool ends_cvc(string_view w) {
  const size_t n = w.size();
  if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) && w[n - 1] != 'w' &&
      w[n - 1] != 'x' && w[n - 1] != 'y') {
    return true;
  }
  return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

enum class Condition { kNone, kMeasureAbove0, kMeasureAbove1, kIon };

struct Rule {
  string_view suffix, replacement;
  Condition condition;
};

bool holds(Condition c, string_view stem) {
  switch (c) {
    case Condition::kNone:
      return true;
    case Condition::kMeasureAbove0:
      return measure(stem) > 0;
    case Condition::kMeasureAbove1:
      return measure(stem) > 1;
    case Condition::kIon:
      return measure(stem) > 1 && (stem.back() == 's' || stem.back() == 't');
  }
  return false;
}

// _apply_rule_list: the first rule whose suffix matches decides; if its condition fails the word stays.
template <size_t N>
std::string apply_rules(std::string word, const std::array<Rule, N>& rules) {
  for (const Rule& rule : rules) {
    if (!word.ends_with(rule.suffix)) continue;
    const string_view stem = string_view(word).substr(0, word.size() - rule.suffix.size());
    if (!holds(rule.condition, stem)) return word;
    return std::string(stem) + std::string(rule.replacement);
  }
  return word;
}

std::string step1a(std::string w) {
  if (w.ends_with("ies") && w.size() == 4) return w.substr(0, 1) + "ie";
  static constexpr std::array<Rule, 4> kRules = {{{"sses", "ss", Condition::kNone},
                                                  {"ies", "i", Condition::kNone},
                                                  {"ss", "ss", Condition::kNone},
                                                  {"s", "", Condition::kNone}}};
  return apply_rules(std::move(w), kRules);
}

std::string step1b(std::string w) {
  if (w.ends_with("ied")) return w.substr(0, w.size() - 3) + (w.size() == 4 ? "ie" : "i");
  if (w.ends_with("eed")) {
    const string_view stem = string_view(w).substr(0, w.size() - 3);
    return measure(stem) > 0 ? std::string(stem) + "ee" : w;
  }
  std::string stem;
  bool trimmed = false;
  for (string_view suffix : {string_view("ed"), string_view("ing")}) {
    if (w.ends_with(suffix)) {
      stem = w.substr(0, w.size() - suffix.size());
      if (contains_vowel(stem)) {
        trimmed = true;
        break;
      }
    }
  }
  if (!trimmed) return w;
  for (string_view suffix : {string_view("at"), string_view("bl"), string_view("iz")}) {
    if (stem.ends_with(suffix)) return stem + "e";
  }
  if (ends_double_consonant(stem)) {
    const char last = stem.back();
    return last == 'l' || last == 's' || last == 'z' ? stem : stem.substr(0, stem.size() - 1);
  }
  return measure(stem) == 1 && ends_cvc(stem) ? stem + "e" : stem;
}

std::string step1c(std::string w) {
  if (w.size() > 2 && w.back() == 'y' && is_consonant(w, w.size() - 2)) w.back() = 'i';
  return w;
}

std::string step2(std::string w) {
  if (w.ends_with("alli") && measure(string_view(w).substr(0, w.size() - 4)) > 0) {
    return step2(w.substr(0, w.size() - 4) + "al");
  }
  constexpr Condition c = Condition::kMeasureAbove0;
  static constexpr std::array<Rule, 21> kRules = {
      {{"ational", "ate", c}, {"tional", "tion", c}, {"enci", "ence", c}, {"anci", "ance", c}, {"izer", "ize", c},
       {"bli", "ble", c},     {"alli", "al", c},     {"entli", "ent", c}, {"eli", "e", c},     {"ousli", "ous", c},
       {"ization", "ize", c}, {"ation", "ate", c},   {"ator", "ate", c},  {"alism", "al", c},  {"iveness", "ive", c},
       {"fulness", "ful", c}, {"ousness", "ous", c}, {"aliti", "al", c},  {"iviti", "ive", c}, {"biliti", "ble", c},
       {"fulli", "ful", c}}};
  w = apply_rules(std::move(w), kRules);
  // NLTK's last rule, "logi" -> "log", measures the stem with its "l" so that "geologi" stems like
  // "archaeologi". No suffix above ends in "logi", nor does any replacement, so it can run afterwards.
  if (w.ends_with("logi") && measure(string_view(w).substr(0, w.size() - 3)) > 0) w.pop_back();
  return w;
}

std::string step3(std::string w) {
  constexpr Condition c = Condition::kMeasureAbove0;
  static constexpr std::array<Rule, 7> kRules = {{{"icate", "ic", c},
                                                  {"ative", "", c},
                                                  {"alize", "al", c},
                                                  {"iciti", "ic", c},
                                                  {"ical", "ic", c},
                                                  {"ful", "", c},
                                                  {"ness", "", c}}};
  return apply_rules(std::move(w), kRules);
}

std::string step4(std::string w) {
  constexpr Condition c = Condition::kMeasureAbove1;
  static constexpr std::array<Rule, 19> kRules = {{{"al", "", c},
                                                   {"ance", "", c},
                                                   {"ence", "", c},
                                                   {"er", "", c},
                                                   {"ic", "", c},
                                                   {"able", "", c},
                                                   {"ible", "", c},
                                                   {"ant", "", c},
                                                   {"ement", "", c},
                                                   {"ment", "", c},
                                                   {"ent", "", c},
                                                   {"ion", "", Condition::kIon},
                                                   {"ou", "", c},
                                                   {"ism", "", c},
                                                   {"ate", "", c},
                                                   {"iti", "", c},
                                                   {"ous", "", c},
                                                   {"ive", "", c},
                                                   {"ize", "", c}}};
  return apply_rules(std::move(w), kRules);
}

std::string step5a(std::string w) {
  if (w.ends_with("e")) {
    const string_view stem = string_view(w).substr(0, w.size() - 1);
    const int m = measure(stem);
    if (m > 1 || (m == 1 && !ends_cvc(stem))) return std::string(stem);
  }
  return w;
}

std::string step5b(std::string w) {
  if (w.ends_with("ll") && measure(string_view(w).substr(0, w.size() - 1)) > 1) w.pop_back();
  return w;
}

}  // namespace

std::string porter_stem(std::string_view word) {
  // NLTK's table of irregular forms, which bypass the steps.
  static constexpr std::array<std::pair<string_view, string_view>, 16> kIrregular = {{
      {"sky", "sky"},
      {"skies", "sky"},
      {"dying", "die"},
      {"lying", "lie"},
      {"tying", "tie"},
      {"news", "news"},
      {"innings", "inning"},
      {"inning", "inning"},
      {"outings", "outing"},
      {"outing", "outing"},
      {"cannings", "canning"},
      {"canning", "canning"},
      {"howe", "howe"},
      {"proceed", "proceed"},
      {"exceed", "exceed"},
      {"succeed", "succeed"},
  }};
  for (const auto& [form, stem] : kIrregular) {
    if (word == form) return std::string(stem);
  }
  if (word.size() <= 2) return std::string(word);
  std::string w(word);
  w = step1a(std::move(w));
  w = step1b(std::move(w));
  w = step1c(std::move(w));
  w = step2(std::move(w));
  w = step3(std::move(w));
  w = step4(std::move(w));
  w = step5a(std::move(w));
  return step5b(std::move(w));
}

}  // namespace attn::metrics::detail
