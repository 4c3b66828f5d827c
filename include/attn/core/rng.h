// Seedable, counter-based random numbers. Draw i of a generator is a hash of (key, i) (splitmix64's finaliser
// over a Weyl sequence), so any element of a stream can be computed on its own: thread k filling [a, b) gets
// the same numbers as one thread filling everything, and a stream can be saved as (seed, counter).
#pragma once
#include <cstdint>

namespace attn {

// splitmix64's output function: a bijective 64-bit mix.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Draw `index` of the stream keyed by `key` (= rng_key(seed)).
constexpr uint64_t rng_key(uint64_t seed) { return mix64(seed ^ 0x2545F4914F6CDD1Dull); }
constexpr uint64_t bits_at_key(uint64_t key, uint64_t index) { return mix64(key + (index + 1) * 0x9E3779B97F4A7C15ull); }

// Top 24 bits -> [0, 1), every value exactly representable.
constexpr float to_uniform(uint64_t bits) { return static_cast<float>(bits >> 40) * 0x1.0p-24f; }

// The index-th uniform in [0, 1) of Rng(seed)'s stream: Rng(seed).uniform() called i+1 times returns this.
constexpr float uniform_at(uint64_t seed, uint64_t index) { return to_uniform(bits_at_key(rng_key(seed), index)); }
// The index-th standard normal of Rng(seed)'s stream (what Rng(seed).normal() gives as draw `index`).
float normal_at(uint64_t seed, uint64_t index);

class Rng {
 public:
  explicit Rng(uint64_t seed) : seed_(seed), key_(rng_key(seed)) {}

  // Each call consumes one counter value.
  uint64_t next_u64() { return bits_at_key(key_, counter_++); }
  float uniform() { return to_uniform(next_u64()); }  // [0, 1)
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }  // [lo, hi] (hi only by rounding)
  float normal();                                    // mean 0, standard deviation 1 (Box-Muller on one draw)
  uint64_t uniform_int(uint64_t n);                  // [0, n), n > 0

  // An independent generator for sub-stream `stream` (e.g. one per layer or per worker). It depends only on
  // this generator's seed and `stream`, not on how many numbers have been drawn.
  Rng fork(uint64_t stream) const;

  uint64_t seed() const { return seed_; }
  // Draws made so far; set_counter restores a saved position (checkpoint/resume).
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t counter) { counter_ = counter; }

 private:
  uint64_t seed_;
  uint64_t key_;
  uint64_t counter_ = 0;
};

// Fill out[0, n) with the generator's next n draws, as n calls of uniform(lo, hi) / normal() would (in parallel
// for large n; the result does not depend on the thread count). For weight initialisation.
void fill_uniform(Rng& rng, float* out, int64_t n, float lo = 0.0f, float hi = 1.0f);
void fill_normal(Rng& rng, float* out, int64_t n, float mean = 0.0f, float stddev = 1.0f);

}  // namespace attn
