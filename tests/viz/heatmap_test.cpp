// Token and matrix heatmaps: every token shown once, in order, escaped (no raw markup from user text, whatever
// its bytes); heavier weights get darker colours; the markup is well-formed; bad inputs name the text and sizes.
#include "attn/viz/heatmap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "attn/viz/color_scale.h"
#include "support/test_util.h"
#include "viz/xml_check.h"

namespace attn::viz {
namespace {

using testing::expect_error;
using testing::markup_problem;

const std::string kEvil = "<script>&\"'";

std::string unescape(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += std::string(to).size()) {
      s.replace(p, std::string(from).size(), to);
    }
  }
  return s;
}

Rgb parse_hex(const std::string& hex) {
  auto byte = [&](int at) { return uint8_t(std::stoi(hex.substr(size_t(at), 2), nullptr, 16)); };
  return {byte(1), byte(3), byte(5)};
}

// Tokens from a pool that covers markup characters, CJK, emoji, combining marks and spaces.
TokenWeights random_text(int n, const std::string& title = "a text") {
  static const std::vector<std::string> pool = {"the", "movie", kEvil,   "日本語", "😀",  "naïve", "a b",
                                                "&amp;", "x>y",   "don't", "\"q\"", "",      "e\u0301"};
  TokenWeights t{title, {}, {}};
  for (int i = 0; i < n; ++i) {
    t.tokens.push_back(pool[size_t(testing::random_int(0, int64_t(pool.size()) - 1))]);
    t.weights.push_back(float(testing::random_int(1, 1000)) / 1000.0f);
  }
  return t;
}

// Elements <name ...>text of the element, up to the next tag. One pass, no regex (libstdc++'s trips warnings).
struct Element {
  std::string tag, text;
  size_t end;  // just past the start tag
  std::string attr(const std::string& name) const {
    std::string key = " " + name + "=\"";
    size_t p = tag.find(key);
    if (p == std::string::npos) return "";
    p += key.size();
    return tag.substr(p, tag.find('"', p) - p);
  }
  double number(const std::string& name) const { return std::stod(attr(name)); }
};

std::vector<Element> elements(std::string_view s, const std::string& name) {
  std::vector<Element> v;
  for (size_t p = 0; (p = s.find("<" + name, p)) != std::string::npos; ++p) {
    char next = s[p + name.size() + 1];
    if (next != ' ' && next != '>') continue;
    size_t gt = s.find('>', p), lt = s.find('<', gt);
    v.push_back({std::string(s.substr(p, gt + 1 - p)), std::string(s.substr(gt + 1, lt - gt - 1)), gt + 1});
  }
  return v;
}

struct Shown {
  std::vector<std::string> tokens, colours;
  std::vector<double> hover;
};

Shown html_tokens(const std::string& html) {
  Shown s;
  for (const Element& span : elements(html, "span")) {
    std::string style = span.attr("style");  // "background:#rrggbb;color:#rrggbb"
    if (style.rfind("background:", 0) != 0) continue;
    s.colours.push_back(style.substr(11, 7));
    s.hover.push_back(span.number("title"));
    s.tokens.push_back(unescape(span.text));
  }
  return s;
}

struct Box {
  double x, y, width;
  std::string colour, token;
  double hover;
};

// Each token is <g><title>weight</title><rect .../><text ...>token</text></g>.
std::vector<Box> svg_tokens(const std::string& svg) {
  std::vector<Box> boxes;
  for (size_t p = 0; (p = svg.find("<g>", p)) != std::string::npos; ++p) {
    std::string_view g(svg.data() + p, svg.find("</g>", p) - p);
    Element title = elements(g, "title").at(0), rect = elements(g, "rect").at(0), text = elements(g, "text").at(0);
    boxes.push_back({rect.number("x"), rect.number("y"), rect.number("width"), rect.attr("fill"), unescape(text.text),
                     std::stod(title.text)});
  }
  return boxes;
}

std::pair<double, double> svg_size(const std::string& svg) {
  Element root = elements(svg, "svg").at(0);
  return {root.number("width"), root.number("height")};
}

// For every pair of tokens of one text: a clearly heavier weight gets a clearly darker colour, equal weights the
// same colour.
void expect_intensity_follows_weights(const std::vector<float>& w, const std::vector<std::string>& colours) {
  ASSERT_EQ(w.size(), colours.size());
  float max = *std::max_element(w.begin(), w.end());
  for (size_t i = 0; i < w.size(); ++i) {
    for (size_t j = 0; j < w.size(); ++j) {
      double li = luminance(parse_hex(colours[i])), lj = luminance(parse_hex(colours[j]));
      if (w[i] > w[j] + 0.02f * max) {
        EXPECT_LT(li, lj) << w[i] << " vs " << w[j];
      }
      if (w[i] == w[j]) {
        EXPECT_EQ(colours[i], colours[j]);
      }
    }
  }
}

TEST(TokenHeatmapHtml, ShowsEveryTokenInOrderWithItsWeight) {
  std::vector<TokenWeights> texts = {random_text(40, "predicted: pos (0.97), true: pos"), random_text(1),
                                     random_text(17, "")};
  std::string html = token_heatmap_html(texts, "Attention <b>weights</b>");
  Shown shown = html_tokens(html);
  std::vector<std::string> tokens;
  std::vector<float> weights;
  for (const auto& t : texts) {
    tokens.insert(tokens.end(), t.tokens.begin(), t.tokens.end());
    weights.insert(weights.end(), t.weights.begin(), t.weights.end());
  }
  EXPECT_EQ(shown.tokens, tokens);
  ASSERT_EQ(shown.hover.size(), weights.size());
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_NEAR(shown.hover[i], weights[i], 1e-3 * weights[i]);
  EXPECT_NE(html.find("<title>Attention &lt;b&gt;weights&lt;/b&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h2>predicted: pos (0.97), true: pos</h2>"), std::string::npos);
  EXPECT_EQ(html.find("<h2></h2>"), std::string::npos);  // an empty title gives no caption
  EXPECT_EQ(markup_problem(html, {"meta"}), "");
}

TEST(TokenHeatmapHtml, IsStandalone) {
  std::string html = token_heatmap_html({random_text(5)}, "t");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("linear-gradient"), std::string::npos);  // the legend
  for (const char* external : {"<script", "<link", "src=", "http://", "https://", "url("}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
}

TEST(TokenHeatmapHtml, HeavierTokensAreDarker) {
  for (int trial = 0; trial < 5; ++trial) {
    TokenWeights t = random_text(30);
    t.weights[3] = t.weights[9];  // a tie
    expect_intensity_follows_weights(t.weights, html_tokens(token_heatmap_html({t}, "x")).colours);
  }
  // Scaled per text: the heaviest token of each text gets the darkest colour, however small its weight.
  TokenWeights small{"", {"a", "b"}, {0.001f, 0.002f}}, big{"", {"c", "d"}, {0.5f, 1.0f}};
  Shown s = html_tokens(token_heatmap_html({small, big}, "x"));
  EXPECT_EQ(s.colours[0], s.colours[2]);
  EXPECT_EQ(s.colours[1], css_hex(heat_color(1)));
  EXPECT_EQ(s.colours[3], css_hex(heat_color(1)));
}

TEST(TokenHeatmapHtml, ZeroAndNegativeWeightsAreWhite) {
  Shown s = html_tokens(token_heatmap_html({{"", {"a", "b"}, {0, 0}}, {"", {"c", "d"}, {-1, 2}}}, "x"));
  EXPECT_EQ(s.colours, (std::vector<std::string>{"#ffffff", "#ffffff", "#ffffff", css_hex(heat_color(1))}));
}

TEST(TokenHeatmap, EscapesEverythingUserProvided) {
  TokenWeights t{kEvil, {kEvil, "ok", kEvil}, {0.2f, 0.3f, 0.5f}};
  MatrixWeights m{kEvil, {kEvil, "b"}, {"c", kEvil}, {0.1f, 0.2f, 0.3f, 0.4f}};
  for (const std::string& out :
       {token_heatmap_html({t}, kEvil), token_heatmap_svg({t}, kEvil), matrix_heatmap_svg(m),
        matrix_heatmap_html({m}, kEvil)}) {
    EXPECT_EQ(out.find("<script"), std::string::npos);
    EXPECT_EQ(out.find("&\""), std::string::npos);
    EXPECT_NE(out.find("&lt;script&gt;&amp;&quot;&#39;"), std::string::npos);
    EXPECT_EQ(markup_problem(out, {"meta"}), "");
  }
}

TEST(TokenHeatmap, InvalidUtf8AndControlCharactersBecomeReplacementCharacters) {
  TokenWeights t{"", {std::string("a\xff") + "b", "c\x01", "\xe6\x97", "\xed\xa0\x80", "\xc0\xaf"},
                 {1, 1, 1, 1, 1}};
  std::string html = token_heatmap_html({t}, "x");
  Shown s = html_tokens(html);
  EXPECT_EQ(s.tokens, (std::vector<std::string>{"a\uFFFDb", "c\uFFFD", "\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD",
                                                "\uFFFD\uFFFD"}));
  std::string svg = token_heatmap_svg({t}, "x");
  EXPECT_EQ(svg.find('\x01'), std::string::npos);
  EXPECT_EQ(svg.find('\xff'), std::string::npos);
}

TEST(TokenHeatmapSvg, WrapsTokensIntoLinesWithinTheWidth) {
  std::vector<TokenWeights> texts = {random_text(200, "long"), random_text(3, kEvil), {"empty", {}, {}}};
  std::string svg = token_heatmap_svg(texts, "page");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0),
            0u);
  EXPECT_EQ(markup_problem(svg), "");
  auto [width, height] = svg_size(svg);

  std::vector<Box> boxes = svg_tokens(svg);
  ASSERT_EQ(boxes.size(), 203u);
  std::set<double> lines;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    EXPECT_LE(b.x + b.width, width);
    EXPECT_LE(b.y, height);
    lines.insert(b.y);
    const TokenWeights& text = i < 200 ? texts[0] : texts[1];
    size_t k = i < 200 ? i : i - 200;
    EXPECT_EQ(b.token, text.tokens[k]);
    EXPECT_NEAR(b.hover, text.weights[k], 1e-3);
    if (i > 0 && b.y == boxes[i - 1].y) {  // no overlap
      EXPECT_GT(b.x, boxes[i - 1].x + boxes[i - 1].width);
    }
    if (i > 0) {
      EXPECT_GE(b.y, boxes[i - 1].y);
    }
  }
  EXPECT_GT(lines.size(), 4u);  // 200 tokens do not fit on one line

  std::vector<std::string> colours;
  for (size_t i = 0; i < 200; ++i) colours.push_back(boxes[i].colour);
  expect_intensity_follows_weights(texts[0].weights, colours);
}

TEST(TokenHeatmapSvg, WideCharactersCountDouble) {
  std::vector<Box> b = svg_tokens(token_heatmap_svg({{"", {"日本", "abcd", "ab", "😀", "e\u0301"}, {1, 1, 1, 1, 1}}}, ""));
  ASSERT_EQ(b.size(), 5u);
  EXPECT_DOUBLE_EQ(b[0].width, b[1].width);
  EXPECT_LT(b[2].width, b[1].width);
  EXPECT_DOUBLE_EQ(b[3].width, b[2].width);
  EXPECT_LT(b[4].width, b[2].width);  // a combining accent takes no column
}

TEST(TokenHeatmap, EmptyInputsAreFine) {
  for (const auto& texts : {std::vector<TokenWeights>{}, std::vector<TokenWeights>{{"nothing", {}, {}}}}) {
    EXPECT_EQ(markup_problem(token_heatmap_html(texts, ""), {"meta"}), "") << texts.size();
    EXPECT_EQ(markup_problem(token_heatmap_svg(texts, "")), "");
  }
  EXPECT_EQ(token_heatmap_ansi({"", {}, {}}, true), "\n");
  EXPECT_EQ(token_heatmap_ansi({"t", {}, {}}, false), "t\n\n");
}

TEST(TokenHeatmap, RejectsMismatchedSizesAndNonFiniteWeights) {
  std::vector<TokenWeights> texts = {random_text(3), {"second", {"a", "b", "c"}, {0.1f, 0.2f}}};
  expect_error([&] { token_heatmap_html(texts, "x"); }, {"text 1", "'second'", "3 tokens", "2 weights"});
  expect_error([&] { token_heatmap_svg(texts, "x"); }, {"text 1", "3 tokens", "2 weights"});
  expect_error([&] { token_heatmap_ansi(texts[1], true); }, {"3 tokens", "2 weights"});
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<TokenWeights> t = {random_text(2), random_text(2), {"third", {"x", "y", "z"}, {0.5f, bad, 0.1f}}};
    expect_error([&] { token_heatmap_html(t, "x"); }, {"text 2", "'third'", "weight 1 of 3", "'y'"});
    expect_error([&] { token_heatmap_ansi(t[2], false); }, {"weight 1 of 3", std::isnan(bad) ? "nan" : "inf"});
  }
}

TEST(TokenHeatmapAnsi, ColourCodesOnlyWithColour) {
  TokenWeights t = random_text(20, "title <x>");
  std::string coloured = token_heatmap_ansi(t, true), plain = token_heatmap_ansi(t, false);
  for (const auto& token : t.tokens) {
    EXPECT_NE(coloured.find(token), std::string::npos) << token;
    EXPECT_NE(plain.find(token), std::string::npos) << token;
  }
  EXPECT_EQ(coloured.rfind("title <x>\n", 0), 0u);
  EXPECT_EQ(std::count(coloured.begin(), coloured.end(), '\x1b'), 3 * 20);  // background, text, reset
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  // The heaviest token's colour is the scale's darkest.
  EXPECT_NE(coloured.find("\x1b[48;2;8;48;107m"), std::string::npos);
}

TEST(TokenHeatmapAnsi, PlainMarksTheTokensThatStandOut) {
  EXPECT_EQ(token_heatmap_ansi({"", {"the", "movie", "was", "great", "!"}, {0.05f, 0.15f, 0.05f, 0.6f, 0.15f}}, false),
            "the movie was great[0.6] !\n");
  EXPECT_EQ(token_heatmap_ansi({"", {"not", "bad", "at", "all"}, {0.4f, 0.35f, 0.1f, 0.15f}}, false),
            "not[0.4] bad[0.35] at all\n");
  EXPECT_EQ(token_heatmap_ansi({"", {"a", "b", "c"}, {0.1f, 0.1f, 0.1f}}, false), "a b c\n");  // uniform
  EXPECT_EQ(token_heatmap_ansi({"", {"a", "b"}, {0, 0}}, false), "a b\n");
  EXPECT_EQ(token_heatmap_ansi({"", {"x"}, {1}}, false), "x\n");  // alone, it is the mean
}

TEST(TokenHeatmapAnsi, TokensCannotRestyleTheTerminal) {
  TokenWeights t{"\x1b[2J", {"\x1b[31mred", "ok"}, {0.9f, 0.1f}};
  std::string plain = token_heatmap_ansi(t, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_EQ(plain, "\uFFFD[2J\n\uFFFD[31mred[0.9] ok\n");
  std::string coloured = token_heatmap_ansi(t, true);
  EXPECT_EQ(coloured.find("\x1b[31m"), std::string::npos);
  EXPECT_EQ(coloured.find("\x1b[2J"), std::string::npos);
}

// ---- matrices

struct Cell {
  double x, y;
  std::string colour, hover;
};

// Cells are <rect ... width="22" ...><title>row → col: weight</title></rect>.
std::vector<Cell> svg_cells(const std::string& svg) {
  std::vector<Cell> cells;
  for (const Element& rect : elements(svg, "rect")) {
    if (rect.attr("width") != "22" || rect.tag.ends_with("/>")) continue;  // not the frame
    cells.push_back({rect.number("x"), rect.number("y"), rect.attr("fill"),
                     unescape(elements(std::string_view(svg).substr(rect.end), "title").at(0).text)});
  }
  return cells;
}

MatrixWeights random_matrix(int rows, int cols) {
  MatrixWeights m{"cross-attention", {}, {}, testing::random_floats(int64_t(rows) * cols, 0.0f, 1.0f)};
  for (int r = 0; r < rows; ++r) m.row_tokens.push_back("out" + std::to_string(r));
  for (int c = 0; c < cols; ++c) m.col_tokens.push_back(c == 1 ? "日本語" : "src" + std::to_string(c));
  return m;
}

TEST(MatrixHeatmapSvg, OneCellPerWeightInRowMajorOrder) {
  MatrixWeights m = random_matrix(5, 7);
  std::string svg = matrix_heatmap_svg(m);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(markup_problem(svg), "");
  std::vector<Cell> cells = svg_cells(svg);
  ASSERT_EQ(cells.size(), 35u);
  std::vector<std::string> colours;
  for (size_t r = 0; r < 5; ++r) {
    for (size_t c = 0; c < 7; ++c) {
      const Cell& cell = cells[r * 7 + c];
      EXPECT_DOUBLE_EQ(cell.x, cells[c].x);  // a grid: same column, same x; same row, same y
      EXPECT_DOUBLE_EQ(cell.y, cells[r * 7].y);
      if (c) {
        EXPECT_DOUBLE_EQ(cell.x - cells[r * 7 + c - 1].x, 22);
      }
      std::string prefix = m.row_tokens[r] + " → " + m.col_tokens[c] + ": ";
      ASSERT_EQ(cell.hover.rfind(prefix, 0), 0u) << cell.hover;
      EXPECT_NEAR(std::stod(cell.hover.substr(prefix.size())), m.weights[r * 7 + c], 1e-3);
      colours.push_back(cell.colour);
    }
  }
  expect_intensity_follows_weights(m.weights, colours);  // one scale for the whole matrix
  // Labels: every row and column token, columns rotated.
  for (const auto& t : m.row_tokens) EXPECT_NE(svg.find(">" + t + "</text>"), std::string::npos) << t;
  for (const auto& t : m.col_tokens) EXPECT_NE(svg.find(">" + t + "</text>"), std::string::npos) << t;
  size_t rotated = 0;
  for (size_t p = 0; (p = svg.find("rotate(-90", p)) != std::string::npos; ++p) ++rotated;
  EXPECT_EQ(rotated, 7u);
}

TEST(MatrixHeatmapSvg, ScaledToTheLargestWeightWhichTheLegendShows) {
  std::string svg = matrix_heatmap_svg({"", {"a", "b"}, {"x", "y"}, {0.001f, 0.002f, 0.0f, 0.004f}});
  std::vector<Cell> cells = svg_cells(svg);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].colour, css_hex(heat_color(0.25)));
  EXPECT_EQ(cells[1].colour, css_hex(heat_color(0.5)));
  EXPECT_EQ(cells[2].colour, "#ffffff");
  EXPECT_EQ(cells[3].colour, css_hex(heat_color(1)));
  EXPECT_NE(svg.find(">0.004</text>"), std::string::npos);
}

TEST(MatrixHeatmapSvg, LongLabelsAreCutButHoverKeepsThem) {
  std::string long_token(60, 'w');
  std::string svg = matrix_heatmap_svg({"", {long_token}, {"a"}, {1}});
  EXPECT_NE(svg.find(">" + std::string(19, 'w') + "…</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>" + long_token + " → a: 1</title>"), std::string::npos);
  EXPECT_LT(svg_size(svg).first, 400);
}

TEST(MatrixHeatmapHtml, EmbedsEachMatrixWithItsOwnGradient) {
  std::string html = matrix_heatmap_html({random_matrix(2, 3), random_matrix(4, 1), {"empty", {}, {}, {}}}, "tr");
  EXPECT_EQ(markup_problem(html, {"meta"}), "");
  EXPECT_EQ(html.find("<?xml"), std::string::npos);  // no prolog inside HTML
  EXPECT_EQ(svg_cells(html).size(), 10u);
  for (const char* id : {"id=\"attn-scale-0\"", "id=\"attn-scale-1\"", "id=\"attn-scale-2\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
}

TEST(MatrixHeatmap, RejectsWrongSizesAndNonFiniteWeights) {
  MatrixWeights m = random_matrix(3, 4);
  m.weights.pop_back();
  expect_error([&] { matrix_heatmap_svg(m); }, {"3 row tokens x 4 column tokens", "12 weights", "got 11"});
  expect_error([&] { matrix_heatmap_html({random_matrix(1, 1), m}, "x"); }, {"matrix heatmap 1", "got 11"});
  m = random_matrix(3, 4);
  m.weights[6] = -std::numeric_limits<float>::infinity();
  expect_error([&] { matrix_heatmap_svg(m); }, {"row 1, column 2", "-inf"});
}

}  // namespace
}  // namespace attn::viz
