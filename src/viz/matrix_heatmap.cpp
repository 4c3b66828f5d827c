#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/color_scale.h"
#include "attn/viz/heatmap.h"
#include "viz/markup.h"

namespace attn::viz {
namespace {

using detail::escape_markup;

// Layout in pixels; labels in a 12 px monospace font (0.6 em per column), cut to kMaxLabel columns so one long
// token cannot push the grid off the page (the hover text keeps it whole).
constexpr double kCell = 22, kLabelFont = 12, kCharWidth = 0.6 * kLabelFont, kMargin = 16;
constexpr int kMaxLabel = 20;

double label_width(const std::vector<std::string>& labels) {
  int cols = 0;
  for (const auto& l : labels) cols = std::max(cols, std::min(detail::display_columns(l), kMaxLabel));
  return cols * kCharWidth;
}

// The <svg> element (no XML prolog, so it can also sit inside HTML). gradient_id must be unique in a page.
std::string matrix_svg_element(const MatrixWeights& m, size_t index, const std::string& gradient_id) {
  const size_t rows = m.row_tokens.size(), cols = m.col_tokens.size();
  ATTN_CHECK(m.weights.size() == rows * cols,
             "matrix heatmap {} ('{}'): {} row tokens x {} column tokens need {} weights, got {}", index, m.title,
             rows, cols, rows * cols, m.weights.size());
  double max = 0;
  for (size_t i = 0; i < m.weights.size(); ++i) {
    ATTN_CHECK(std::isfinite(m.weights[i]), "matrix heatmap {} ('{}'): weight at row {}, column {} is {}", index,
               m.title, i / cols, i % cols, m.weights[i]);
    max = std::max(max, double(m.weights[i]));
  }

  std::string body;
  double top = kMargin;
  if (!m.title.empty()) {
    body += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", kMargin,
                        top + 14, escape_markup(m.title));
    top += 28;
  }
  const double x0 = kMargin + label_width(m.row_tokens) + 8, y0 = top + label_width(m.col_tokens) + 8;
  for (size_t c = 0; c < cols; ++c) {
    // Rotated a quarter turn so labels of any length stay one column wide; +4 centres the glyphs on the cell.
    double x = x0 + double(c) * kCell + kCell / 2 + 4, y = y0 - 6;
    body += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>\n",
                        x, y, escape_markup(detail::truncate_columns(m.col_tokens[c], kMaxLabel)));
  }
  for (size_t r = 0; r < rows; ++r) {
    body += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6,
                        y0 + double(r) * kCell + kCell / 2 + 4,
                        escape_markup(detail::truncate_columns(m.row_tokens[r], kMaxLabel)));
    for (size_t c = 0; c < cols; ++c) {
      float w = m.weights[r * cols + c];
      body += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ffffff\" "
          "stroke-width=\"0.5\"><title>{} → {}: {}</title></rect>\n",
          x0 + double(c) * kCell, y0 + double(r) * kCell, kCell, kCell, css_hex(heat_color(max > 0 ? w / max : 0)),
          escape_markup(m.row_tokens[r]), escape_markup(m.col_tokens[c]), detail::format_weight(w));
    }
  }
  // A frame, so that the grid's extent shows even where the weights are near 0 (white on white).
  body += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#cccccc\"/>\n",
                      x0, y0, double(cols) * kCell, double(rows) * kCell);
  const double legend_y = y0 + double(rows) * kCell + 14;
  const std::string max_label = detail::format_weight(max);
  body += fmt::format(
      "<text x=\"{0}\" y=\"{1}\">0</text><rect x=\"{2}\" y=\"{3}\" width=\"160\" height=\"12\" fill=\"url(#{4})\" "
      "stroke=\"#cccccc\"/><text x=\"{5}\" y=\"{1}\">{6}</text>\n",
      kMargin, legend_y + 11, kMargin + 12, legend_y, gradient_id, kMargin + 178, max_label);

  const double legend_right = kMargin + 178 + double(max_label.size()) * kCharWidth;
  const double title_right = kMargin + detail::display_columns(m.title) * 0.6 * 16;
  const double width = std::max({x0 + double(cols) * kCell, legend_right, title_right}) + kMargin;
  const double height = legend_y + 12 + kMargin;
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} "
      "{1:.0f}\" font-family=\"monospace\" font-size=\"{2}\" xml:space=\"preserve\">\n<title>{3}</title>\n"
      "<defs>{4}</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{5}</svg>\n",
      width, height, kLabelFont, escape_markup(m.title), detail::svg_gradient(gradient_id), body);
}

}  // namespace

std::string matrix_heatmap_svg(const MatrixWeights& m) {
  return std::string(detail::kXmlProlog) + matrix_svg_element(m, 0, "attn-scale");
}

std::string matrix_heatmap_html(const std::vector<MatrixWeights>& ms, std::string_view page_title) {
  std::string out = detail::html_page_start(page_title);
  out += "<p class=\"legend\">Rows attend to columns; hover over a cell for its weight.</p>\n";
  for (size_t i = 0; i < ms.size(); ++i) {
    out += "<figure>\n" + matrix_svg_element(ms[i], i, fmt::format("attn-scale-{}", i)) + "</figure>\n";
  }
  return out + std::string(detail::kHtmlPageEnd);
}

}  // namespace attn::viz
