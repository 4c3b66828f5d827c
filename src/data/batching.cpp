#include "attn/data/batching.h"

#include <algorithm>

#include "attn/core/error.h"
#include "data/shuffle.h"

namespace attn::data {

std::vector<std::vector<size_t>> make_batches(const std::vector<int64_t>& lengths, int64_t batch_size, bool shuffle,
                                              uint64_t seed, int64_t bucket_factor) {
  ATTN_CHECK(batch_size > 0, "make_batches: batch_size must be positive (got {})", batch_size);
  ATTN_CHECK(bucket_factor > 0, "make_batches: bucket_factor must be positive (got {})", bucket_factor);
  const size_t n = lengths.size(), bs = static_cast<size_t>(batch_size);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(seed);
  if (shuffle) detail::shuffle(order, rng);
  if (bucket_factor > 1) {
    const auto factor = static_cast<size_t>(bucket_factor);
    const size_t window = factor > n / bs ? std::max<size_t>(n, 1) : bs * factor;  // no overflow
    for (size_t start = 0; start < n; start += window) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + window));
      std::stable_sort(first, last, [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
    }
  }
  std::vector<std::vector<size_t>> batches;
  batches.reserve((n + bs - 1) / bs);
  for (size_t start = 0; start < n; start += bs) {
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + bs)));
  }
  if (shuffle) detail::shuffle(batches, rng);
  return batches;
}

std::vector<std::vector<size_t>> make_token_batches(const std::vector<int64_t>& lengths, int64_t max_tokens,
                                                    bool shuffle, uint64_t seed) {
  ATTN_CHECK(max_tokens > 0, "make_token_batches: max_tokens must be positive (got {})", max_tokens);
  std::vector<size_t> order(lengths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(seed);
  if (shuffle) {
    detail::shuffle(order, rng);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  }
  std::vector<std::vector<size_t>> batches;
  int64_t longest = 0;
  for (size_t i : order) {
    const int64_t grown = std::max(longest, lengths[i]);
    if (batches.empty() || grown * int64_t(batches.back().size() + 1) > max_tokens) {
      batches.emplace_back();
      longest = lengths[i];
    } else {
      longest = grown;
    }
    batches.back().push_back(i);
  }
  if (shuffle) detail::shuffle(batches, rng);
  return batches;
}

}  // namespace attn::data
