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

namespace attn::data {

// Batches by size rather than count (sequence-to-sequence training): each batch holds as many examples as fit in
// max_tokens padded tokens (count x the batch's largest length; one example always fits). shuffle: examples are
// shuffled, then stably sorted by length, cut into batches, and the batch order shuffled (fairseq's scheme), so
// batches pad little and differ from epoch to epoch. Without shuffle, batches follow the input order.
std::vector<std::vector<size_t>> make_token_batches(const std::vector<int64_t>& lengths, int64_t max_tokens,
                                                    bool shuffle, uint64_t seed);

}  // namespace attn::data
