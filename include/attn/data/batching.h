// Batches of example indices grouped by length, so a batch pads little: shuffled for training (seeded),
// in order for evaluation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn::data {

// Every index of lengths appears in exactly one batch; batches hold batch_size indices (the last one may hold
// fewer). shuffle: the examples are shuffled, cut into windows of batch_size * bucket_factor, each window is
// sorted by length (stable) and cut into batches, and the batch order is shuffled. Without shuffle the windows
// follow the input order and so do the batches. bucket_factor 1 sorts nothing: plain shuffled batches, or
// batches exactly in input order.
std::vector<std::vector<size_t>> make_batches(const std::vector<int64_t>& lengths, int64_t batch_size, bool shuffle,
                                              uint64_t seed, int64_t bucket_factor = 50);

}  // namespace attn::data
