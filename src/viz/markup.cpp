#include "viz/markup.h"

#include <fmt/format.h>

#include "attn/viz/color_scale.h"

namespace attn::viz::detail {
namespace {

constexpr int kGradientSteps = 8;  // heat_color is piecewise linear over 8 segments: these points reproduce it

constexpr char32_t kReplacement = 0xFFFD;

// The code point at s[i] (advancing i), or U+FFFD for a malformed, overlong, surrogate or out-of-range sequence
// (consuming one byte, so decoding resynchronises at the next lead byte).
char32_t next_code_point(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 1) {
    ++i;
    return b;
  }
  if (len == 0 || i + size_t(len) > s.size()) {
    ++i;
    return kReplacement;
  }
  char32_t cp = b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + size_t(k)]);
    if ((c >> 6) != 0x2) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += size_t(len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

int columns_of(char32_t cp) {
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0xFE00 && cp <= 0xFE0F)) return 0;
  bool wide = (cp >= 0x1100 && cp <= 0x115F) ||   // Hangul Jamo
              (cp >= 0x2E80 && cp <= 0xA4CF) ||   // CJK radicals .. Yi, incl. kana and unified ideographs
              (cp >= 0xAC00 && cp <= 0xD7A3) ||   // Hangul syllables
              (cp >= 0xF900 && cp <= 0xFAFF) ||   // CJK compatibility ideographs
              (cp >= 0xFE30 && cp <= 0xFE4F) ||   // CJK compatibility forms
              (cp >= 0xFF00 && cp <= 0xFF60) ||   // full-width forms
              (cp >= 0xFFE0 && cp <= 0xFFE6) ||   //
              (cp >= 0x1F300 && cp <= 0x1FAFF) || // emoji and pictographs
              (cp >= 0x20000 && cp <= 0x3FFFD);   // CJK extensions
  return wide ? 2 : 1;
}

}  // namespace

std::string escape_markup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = next_code_point(s, i);
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        bool forbidden = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF;
        append_utf8(out, forbidden ? kReplacement : cp);
    }
  }
  return out;
}

std::string sanitize_terminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = next_code_point(s, i);
    append_utf8(out, is_control(cp) ? kReplacement : cp);
  }
  return out;
}

int display_columns(std::string_view s) {
  int n = 0;
  for (size_t i = 0; i < s.size();) n += columns_of(next_code_point(s, i));
  return n;
}

std::string truncate_columns(std::string_view s, int max_columns) {
  if (display_columns(s) <= max_columns) return std::string(s);
  std::string out;
  int n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    int w = columns_of(next_code_point(s, i));
    if (n + w > max_columns - 1) break;  // leave a column for the ellipsis
    out.append(s.substr(start, i - start));
    n += w;
  }
  return out + "…";
}

std::string format_weight(double w) { return fmt::format("{:.4g}", w); }

std::string html_page_start(std::string_view title) {
  std::string t = escape_markup(title), stops;
  for (int i = 0; i <= kGradientSteps; ++i) {
    stops += fmt::format("{}{} {:.4g}%", i ? "," : "", css_hex(heat_color(double(i) / kGradientSteps)),
                         100.0 * i / kGradientSteps);
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}</title>\n<style>\n"
      "body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#222}}\n"
      "h1{{font-size:1.4em}}\n"
      ".legend{{display:flex;align-items:center;gap:.5em;font-size:.9em;color:#555}}\n"
      ".scale{{display:inline-block;width:12em;height:.9em;border:1px solid #ccc;"
      "background:linear-gradient(to right,{1})}}\n"
      ".text{{margin:1em 0;padding:.6em .9em;border:1px solid #e4e4e4;border-radius:6px}}\n"
      ".text h2{{font-size:1em;margin:0 0 .4em;color:#444}}\n"
      ".tokens{{line-height:2.1;margin:0}}\n"
      ".tokens span{{padding:.2em .25em;border-radius:3px;white-space:pre-wrap}}\n"
      "figure{{margin:1.5em 0;overflow-x:auto}}\n"
      "</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      t, stops);
}

std::string svg_gradient(std::string_view id) {
  std::string s = fmt::format("<linearGradient id=\"{}\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">", id);
  for (int i = 0; i <= kGradientSteps; ++i) {
    double t = double(i) / kGradientSteps;
    s += fmt::format("<stop offset=\"{:.4g}\" stop-color=\"{}\"/>", t, css_hex(heat_color(t)));
  }
  return s + "</linearGradient>";
}

}  // namespace attn::viz::detail
