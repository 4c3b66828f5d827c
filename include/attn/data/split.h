// Train/validation split that keeps each label's share, so a rare class is not left out of validation by
// chance. Deterministic for a seed on every platform (own Fisher-Yates over attn's counter-based Rng).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn::data {

struct Split {
  std::vector<size_t> train, valid;  // indices into the labels, ascending
};

// valid_fraction in [0, 1). Each label contributes about valid_fraction of its examples to valid (the total is
// round(n * valid_fraction), spread by largest remainder); when valid_fraction > 0 every label with >= 2
// examples has >= 1 in each part, and a label with a single example stays in train.
Split stratified_split(const std::vector<int32_t>& labels, double valid_fraction, uint64_t seed);

}  // namespace attn::data
