// The one colour scale of attn's heatmaps (HTML, SVG, terminal), so every view reads the same way: white for a
// weight of 0 through blue to dark blue for the largest weight. The stops are ColorBrewer's "Blues", designed so
// that lightness falls steadily: equal steps in weight look like equal steps in colour.
#pragma once
#include <cstdint>
#include <string>

namespace attn::viz {

struct Rgb {
  uint8_t r = 255, g = 255, b = 255;
};

// t in [0, 1] (clamped; NaN counts as 0). Every channel is non-increasing in t, so darker always means heavier.
Rgb heat_color(double t);

// WCAG relative luminance in [0, 1] (0 black, 1 white).
double luminance(Rgb c);

// Black or white, whichever contrasts more with the background c.
Rgb text_color_on(Rgb c);

// "#rrggbb".
std::string css_hex(Rgb c);

}  // namespace attn::viz
