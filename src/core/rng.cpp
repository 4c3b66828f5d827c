#include "attn/core/rng.h"

#include <cmath>

#include "attn/core/error.h"

namespace attn {
namespace {

// Box-Muller on the two 32-bit halves of one draw: u1 in (0, 1] keeps the log finite.
float normal_from_bits(uint64_t bits) {
  const double u1 = (static_cast<double>(bits >> 32) + 1.0) * 0x1.0p-32;
  const double u2 = static_cast<double>(bits & 0xFFFFFFFFull) * 0x1.0p-32;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

// out[i] = f(bits of draw start + i); chunks are independent, so the thread count cannot change the result.
template <class F>
void fill(Rng& rng, float* out, int64_t n, F f) {
  ATTN_CHECK(n >= 0 && (n == 0 || out != nullptr), "rng fill: bad output (n = {})", n);
  const uint64_t key = rng_key(rng.seed()), start = rng.counter();
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = f(bits_at_key(key, start + static_cast<uint64_t>(i)));
  rng.set_counter(start + static_cast<uint64_t>(n));
}

}  // namespace

float normal_at(uint64_t seed, uint64_t index) { return normal_from_bits(bits_at_key(rng_key(seed), index)); }

float Rng::normal() { return normal_from_bits(next_u64()); }

uint64_t Rng::uniform_int(uint64_t n) {
  ATTN_CHECK(n > 0, "Rng::uniform_int: empty range [0, 0)");
  // Multiply-high: bias at most n / 2^64, far below anything a test could see.
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
}

Rng Rng::fork(uint64_t stream) const { return Rng(mix64(key_ ^ mix64(stream + 0x632BE59BD9B4E019ull))); }

void fill_uniform(Rng& rng, float* out, int64_t n, float lo, float hi) {
  fill(rng, out, n, [=](uint64_t bits) { return lo + (hi - lo) * to_uniform(bits); });
}

void fill_normal(Rng& rng, float* out, int64_t n, float mean, float stddev) {
  fill(rng, out, n, [=](uint64_t bits) { return mean + stddev * normal_from_bits(bits); });
}

}  // namespace attn
