// Token-id sequences as the padded [batch, time] blocks the neural classifiers read (internal to the task).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace attn::tasks::classify {

// ids [batch, time] (0 = padding) and each example's length.
struct PaddedBatch {
  std::vector<int32_t> ids, lengths;
  int64_t batch = 0, time = 0;
};

inline PaddedBatch pad(const std::vector<std::vector<int32_t>>& sequences, const std::vector<size_t>& indices) {
  PaddedBatch b;
  b.batch = int64_t(indices.size());
  for (size_t i : indices) b.time = std::max(b.time, int64_t(sequences[i].size()));
  b.ids.assign(size_t(b.batch * b.time), 0);
  for (size_t r = 0; r < indices.size(); ++r) {
    const auto& s = sequences[indices[r]];
    std::copy(s.begin(), s.end(), b.ids.begin() + int64_t(r) * b.time);
    b.lengths.push_back(int32_t(s.size()));
  }
  return b;
}

inline std::vector<int64_t> lengths_of(const std::vector<std::vector<int32_t>>& sequences) {
  std::vector<int64_t> out;
  out.reserve(sequences.size());
  for (const auto& s : sequences) out.push_back(int64_t(s.size()));
  return out;
}

}  // namespace attn::tasks::classify
