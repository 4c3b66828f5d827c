#include "attn/viz/color_scale.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace attn::viz {
namespace {

// ColorBrewer Blues (9 classes) with the lightest stop replaced by pure white, so weight 0 is no colour at all.
constexpr std::array<Rgb, 9> kStops = {{{255, 255, 255},
                                        {222, 235, 247},
                                        {198, 219, 239},
                                        {158, 202, 225},
                                        {107, 174, 214},
                                        {66, 146, 198},
                                        {33, 113, 181},
                                        {8, 81, 156},
                                        {8, 48, 107}}};

double linear(uint8_t channel) {
  double c = channel / 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

}  // namespace

Rgb heat_color(double t) {
  if (!(t > 0)) t = 0;  // also NaN
  t = std::min(t, 1.0) * double(kStops.size() - 1);
  size_t i = std::min(size_t(t), kStops.size() - 2);
  double f = t - double(i);
  auto mix = [f](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (double(b) - a) * f)); };
  const Rgb &a = kStops[i], &b = kStops[i + 1];
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

double luminance(Rgb c) { return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b); }

Rgb text_color_on(Rgb c) {
  // Black and white text give equal contrast ratios at luminance sqrt(1.05 * 0.05) - 0.05 ~ 0.179.
  return luminance(c) < 0.179 ? Rgb{255, 255, 255} : Rgb{0, 0, 0};
}

std::string css_hex(Rgb c) { return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b); }

}  // namespace attn::viz
