// What a model attends to, for people: token weights (attention pooling over a sentence) as a standalone HTML
// page, an SVG picture or coloured terminal text, and weight matrices (decoder step x source token, e.g.
// translation cross-attention) as SVG/HTML. Outputs need no external resources or scripts; all text is escaped.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace attn::viz {

// One text with a weight per token. Weights are shown relative to the text's largest weight (the heaviest token
// is darkest); negative weights show as 0. tokens.size() must equal weights.size() and weights must be finite,
// else every function below throws attn::Error naming the text's index, title and sizes.
struct TokenWeights {
  std::string title;  // caption, e.g. "predicted: pos (0.97), true: pos"; may be empty
  std::vector<std::string> tokens;
  std::vector<float> weights;
};

// A page: the title, a colour legend, then each text as a paragraph of tokens coloured by weight, with the
// weight in each token's hover text.
std::string token_heatmap_html(const std::vector<TokenWeights>& texts, std::string_view page_title);

// The same as an SVG document: tokens laid out in lines wrapped at a fixed width (estimated from character
// counts in a monospace font, CJK and emoji counting double), weight on hover.
std::string token_heatmap_svg(const std::vector<TokenWeights>& texts, std::string_view page_title);

// One line per text for a terminal (the title, if any, on a line before it), ending in a newline.
// color: each token on a 24-bit background colour (ANSI escape codes).
// Without colour, the tokens that stand out carry their weight, as in "the movie was great[0.41] !": those
// heavier than the mean weight and at least half the heaviest. Uniform weights mark nothing.
// Control characters in tokens are replaced, so a token cannot restyle the terminal.
std::string token_heatmap_ansi(const TokenWeights& text, bool color);

// A rows x cols matrix of weights (row-major), rows labelled by row_tokens (e.g. output tokens), columns by
// col_tokens (e.g. source tokens). Colours are relative to the matrix's largest weight.
// weights.size() must be rows * cols and every weight finite, else attn::Error.
struct MatrixWeights {
  std::string title;
  std::vector<std::string> row_tokens, col_tokens;
  std::vector<float> weights;
};

// An SVG document: labelled grid of coloured cells (column labels rotated), "row → column: weight" on hover,
// and a legend with the largest weight.
std::string matrix_heatmap_svg(const MatrixWeights& m);

// A page holding each matrix's SVG inline.
std::string matrix_heatmap_html(const std::vector<MatrixWeights>& ms, std::string_view page_title);

}  // namespace attn::viz
