#include "attn/viz/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/color_scale.h"
#include "viz/markup.h"

namespace attn::viz {
namespace {

using detail::escape_markup;

// SVG layout, in pixels. Character width is 0.6 em, the advance of common monospace fonts, so that the
// estimate from display_columns matches what a viewer draws.
constexpr double kFontSize = 14, kCharWidth = 0.6 * kFontSize, kPad = 3, kGap = 4;
constexpr double kBoxHeight = 20, kLineHeight = 25, kMargin = 16, kWrapWidth = 800;

// Each weight divided by the text's largest (negatives as 0); validates the text.
std::vector<double> relative_weights(const TokenWeights& text, size_t index) {
  ATTN_CHECK(text.tokens.size() == text.weights.size(), "token heatmap: text {} ('{}') has {} tokens but {} weights",
             index, text.title, text.tokens.size(), text.weights.size());
  double max = 0;
  for (size_t i = 0; i < text.weights.size(); ++i) {
    float w = text.weights[i];
    ATTN_CHECK(std::isfinite(w), "token heatmap: text {} ('{}'): weight {} of {} (token '{}') is {}", index,
               text.title, i, text.weights.size(), text.tokens[i], w);
    max = std::max(max, double(w));
  }
  std::vector<double> rel(text.weights.size(), 0.0);
  if (max > 0) {
    for (size_t i = 0; i < rel.size(); ++i) rel[i] = std::max(0.0, double(text.weights[i]) / max);
  }
  return rel;
}

std::string ansi_color(Rgb bg) {
  Rgb fg = text_color_on(bg);
  return fmt::format("\x1b[48;2;{};{};{}m\x1b[38;2;{};{};{}m", bg.r, bg.g, bg.b, fg.r, fg.g, fg.b);
}

}  // namespace

std::string token_heatmap_html(const std::vector<TokenWeights>& texts, std::string_view page_title) {
  std::string out = detail::html_page_start(page_title);
  out += "<p class=\"legend\">0 <span class=\"scale\"></span> the largest weight in its text "
         "(hover over a token for its weight)</p>\n";
  for (size_t i = 0; i < texts.size(); ++i) {
    const TokenWeights& text = texts[i];
    std::vector<double> rel = relative_weights(text, i);
    out += "<section class=\"text\">\n";
    if (!text.title.empty()) out += "<h2>" + escape_markup(text.title) + "</h2>\n";
    out += "<p class=\"tokens\">";
    for (size_t k = 0; k < rel.size(); ++k) {
      Rgb bg = heat_color(rel[k]);
      // The space between spans is what lets the browser wrap lines between tokens.
      out += fmt::format("{}<span style=\"background:{};color:{}\" title=\"{}\">{}</span>", k ? " " : "",
                         css_hex(bg), css_hex(text_color_on(bg)), detail::format_weight(text.weights[k]),
                         escape_markup(text.tokens[k]));
    }
    out += "</p>\n</section>\n";
  }
  return out + std::string(detail::kHtmlPageEnd);
}

std::string token_heatmap_svg(const std::vector<TokenWeights>& texts, std::string_view page_title) {
  std::string body;
  double y = kMargin, right = kMargin + kWrapWidth;
  body += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"18\" font-weight=\"bold\">{}</text>\n", kMargin, y + 16,
                      escape_markup(page_title));
  y += 30;
  body += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" fill=\"#555\">0</text><rect x=\"{2}\" y=\"{3}\" width=\"160\" height=\"12\" "
      "fill=\"url(#attn-scale)\" stroke=\"#ccc\"/><text x=\"{4}\" y=\"{1}\" fill=\"#555\">the largest weight in "
      "its text</text>\n",
      kMargin, y + 11, kMargin + 14, y, kMargin + 182);
  y += 30;
  for (size_t i = 0; i < texts.size(); ++i) {
    const TokenWeights& text = texts[i];
    std::vector<double> rel = relative_weights(text, i);
    if (!text.title.empty()) {
      body += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", kMargin, y + 14,
                          escape_markup(text.title));
      y += 24;
    }
    double x = kMargin;
    for (size_t k = 0; k < rel.size(); ++k) {
      double w = detail::display_columns(text.tokens[k]) * kCharWidth + 2 * kPad;
      if (x > kMargin && x + w > kMargin + kWrapWidth) {
        x = kMargin;
        y += kLineHeight;
      }
      Rgb bg = heat_color(rel[k]);
      body += fmt::format(
          "<g><title>{}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" rx=\"3\" fill=\"{}\"/>"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text></g>\n",
          detail::format_weight(text.weights[k]), x, y, w, kBoxHeight, css_hex(bg), x + kPad, y + 15,
          css_hex(text_color_on(bg)), escape_markup(text.tokens[k]));
      right = std::max(right, x + w);
      x += w + kGap;
    }
    y += (rel.empty() ? 0 : kLineHeight) + 14;
  }
  double width = right + kMargin, height = y + kMargin;
  return fmt::format(
      "{}<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
      "font-family=\"monospace\" font-size=\"{}\" xml:space=\"preserve\">\n<title>{}</title>\n<defs>{}</defs>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{}</svg>\n",
      detail::kXmlProlog, width, height, width, height, kFontSize, escape_markup(page_title),
      detail::svg_gradient("attn-scale"), body);
}

std::string token_heatmap_ansi(const TokenWeights& text, bool color) {
  std::vector<double> rel = relative_weights(text, 0);
  std::string out;
  if (!text.title.empty()) out += detail::sanitize_terminal(text.title) + "\n";
  double sum = 0, max = 0;
  for (float w : text.weights) {
    sum += w;
    max = std::max(max, double(w));
  }
  // A little above the mean, so float rounding in the sum does not mark a token of uniform weights.
  double mean_bar = text.weights.empty() ? 0 : sum / double(text.weights.size()) * (1 + 1e-6);
  for (size_t k = 0; k < rel.size(); ++k) {
    if (k) out += ' ';
    std::string token = detail::sanitize_terminal(text.tokens[k]);
    double w = text.weights[k];
    if (color) {
      out += ansi_color(heat_color(rel[k])) + token + "\x1b[0m";
    } else if (max > 0 && w > mean_bar && w >= 0.5 * max) {
      out += fmt::format("{}[{:.2g}]", token, w);
    } else {
      out += token;
    }
  }
  return out + "\n";
}

}  // namespace attn::viz
