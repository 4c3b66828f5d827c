// The shared colour scale: white at 0, darker with every step of weight, clamped, readable text colour.
#include "attn/viz/color_scale.h"

#include <gtest/gtest.h>

#include <cmath>

namespace attn::viz {
namespace {

TEST(ColorScale, WhiteAtZeroDarkAtOne) {
  Rgb zero = heat_color(0), one = heat_color(1);
  EXPECT_EQ(css_hex(zero), "#ffffff");
  EXPECT_EQ(css_hex(one), "#08306b");
  EXPECT_NEAR(luminance(zero), 1.0, 1e-9);
  EXPECT_LT(luminance(one), 0.05);
}

TEST(ColorScale, LuminanceFallsMonotonically) {
  double previous = 2;
  for (int i = 0; i <= 1000; ++i) {
    double l = luminance(heat_color(i / 1000.0));
    EXPECT_LE(l, previous) << "t=" << i / 1000.0;
    previous = l;
  }
  // Steps of 2% of the range are always visible as a change.
  for (int i = 0; i < 50; ++i) {
    EXPECT_GT(luminance(heat_color(i / 50.0)), luminance(heat_color((i + 1) / 50.0))) << i;
  }
}

TEST(ColorScale, ClampsOutOfRangeAndNaN) {
  EXPECT_EQ(css_hex(heat_color(-3)), css_hex(heat_color(0)));
  EXPECT_EQ(css_hex(heat_color(7)), css_hex(heat_color(1)));
  EXPECT_EQ(css_hex(heat_color(std::nan(""))), css_hex(heat_color(0)));
}

TEST(ColorScale, TextColorContrasts) {
  EXPECT_EQ(css_hex(text_color_on(heat_color(0))), "#000000");
  EXPECT_EQ(css_hex(text_color_on(heat_color(1))), "#ffffff");
  EXPECT_EQ(css_hex(Rgb{1, 2, 255}), "#0102ff");
}

}  // namespace
}  // namespace attn::viz
