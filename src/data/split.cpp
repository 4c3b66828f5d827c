#include "attn/data/split.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "attn/core/error.h"
#include "data/shuffle.h"

namespace attn::data {

Split stratified_split(const std::vector<int32_t>& labels, double valid_fraction, uint64_t seed) {
  ATTN_CHECK(valid_fraction >= 0.0 && valid_fraction < 1.0, "stratified_split: valid_fraction {} is not in [0, 1)",
             valid_fraction);
  std::map<int32_t, std::vector<size_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(i);

  // Largest-remainder apportionment: each label gets floor or ceil of its exact share, the total is exact.
  struct Share {
    std::vector<size_t>* indices;
    size_t valid;
    double remainder;
  };
  std::vector<Share> shares;
  size_t assigned = 0;
  for (auto& [label, indices] : by_label) {
    const double exact = static_cast<double>(indices.size()) * valid_fraction;
    const auto base = static_cast<size_t>(std::floor(exact));
    shares.push_back({&indices, base, exact - static_cast<double>(base)});
    assigned += base;
  }
  const auto total = static_cast<size_t>(std::llround(static_cast<double>(labels.size()) * valid_fraction));
  std::vector<size_t> order(shares.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return shares[a].remainder > shares[b].remainder; });
  for (size_t k = 0; k < order.size() && assigned < total; ++k, ++assigned) ++shares[order[k]].valid;

  Split split;
  Rng rng(seed);
  for (auto& share : shares) {
    std::vector<size_t>& indices = *share.indices;
    const size_t n = indices.size();
    size_t valid = share.valid;
    if (valid_fraction > 0 && n >= 2) valid = std::clamp<size_t>(valid, 1, n - 1);
    if (n == 1) valid = 0;
    detail::shuffle(indices, rng);
    split.valid.insert(split.valid.end(), indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(valid));
    split.train.insert(split.train.end(), indices.begin() + static_cast<std::ptrdiff_t>(valid), indices.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.valid.begin(), split.valid.end());
  return split;
}

}  // namespace attn::data
