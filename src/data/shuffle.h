// Seeded shuffling that gives the same order on every platform: Fisher-Yates over attn's Rng with exactly
// uniform bounded integers (std::uniform_int_distribution differs between standard libraries).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "attn/core/rng.h"

namespace attn::data::detail {

// Uniform in [0, n), n > 0: Lemire's multiply-shift with rejection of the biased low products.
inline uint64_t bounded(Rng& rng, uint64_t n) {
  unsigned __int128 m = static_cast<unsigned __int128>(rng.next_u64()) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (low < threshold) {
      m = static_cast<unsigned __int128>(rng.next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[bounded(rng, i)]);
}

}  // namespace attn::data::detail
