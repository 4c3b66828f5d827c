// Internal to attn::viz: turning arbitrary token bytes into safe HTML/SVG/terminal text, estimating how wide
// text renders (for SVG layout, which cannot measure), and the parts every page and picture shares.
#pragma once
#include <string>
#include <string_view>

namespace attn::viz::detail {

// Text safe inside HTML/XML content and quoted attributes: & < > " ' escaped, invalid UTF-8 and characters XML
// forbids (controls other than tab/newline/CR, U+FFFE/FFFF) replaced by U+FFFD, so the output is well-formed
// whatever bytes a tokenizer produced.
std::string escape_markup(std::string_view s);

// Text safe to print on a terminal: invalid UTF-8 and every control character (ESC above all, which could
// re-style or move the cursor) replaced by U+FFFD.
std::string sanitize_terminal(std::string_view s);

// Rendered width in monospace columns: East Asian wide characters and emoji count 2, combining marks and
// zero-width characters 0, everything else 1. An estimate (no font is consulted), good enough for layout.
int display_columns(std::string_view s);

// s cut to at most max_columns (ending in "…" when cut), at a character boundary.
std::string truncate_columns(std::string_view s, int max_columns);

// A weight for hover text: 4 significant digits.
std::string format_weight(double w);

// "<!DOCTYPE html>...<body><h1>title</h1>": self-contained head with the shared inline CSS.
std::string html_page_start(std::string_view title);
constexpr std::string_view kHtmlPageEnd = "</body>\n</html>\n";

// <linearGradient id=...> with the colour scale's stops, from weight 0 to the largest (left to right).
std::string svg_gradient(std::string_view id);

constexpr std::string_view kXmlProlog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

}  // namespace attn::viz::detail
