#include "attn/kernels/positional_relative.h"

#include <algorithm>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"

namespace attn::kernels {
namespace {

void check_relative_args(const char* op, int64_t rows, int64_t len_q, int64_t len_k, int64_t max_distance) {
  ATTN_CHECK(rows > 0 && len_q > 0 && len_k > 0 && max_distance >= 0,
             "{}: need positive rows, len_q, len_k and max_distance >= 0, got {}, {}, {}, {}", op, rows, len_q, len_k,
             max_distance);
}

int64_t bucket(int64_t i, int64_t j, int64_t max_distance, int64_t q_offset) {
  return std::clamp(j - (i + q_offset), -max_distance, max_distance) + max_distance;
}

}  // namespace

void relative_gather(int64_t rows, int64_t len_q, int64_t len_k, int64_t max_distance, int64_t q_offset,
                     const float* in, float* out) {
  check_relative_args("relative_gather", rows, len_q, len_k, max_distance);
  const int64_t buckets = 2 * max_distance + 1;
  cpu::parallel_for(rows * len_q, len_k, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % len_q;
      for (int64_t j = 0; j < len_k; ++j) out[r * len_k + j] = in[r * buckets + bucket(i, j, max_distance, q_offset)];
    }
  });
}

void relative_scatter(int64_t rows, int64_t len_q, int64_t len_k, int64_t max_distance, int64_t q_offset,
                      const float* in, float* out) {
  check_relative_args("relative_scatter", rows, len_q, len_k, max_distance);
  const int64_t buckets = 2 * max_distance + 1;
  cpu::parallel_for(rows * len_q, len_k, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % len_q;
      float* o = out + r * buckets;
      std::fill(o, o + buckets, 0.0f);
      for (int64_t j = 0; j < len_k; ++j) o[bucket(i, j, max_distance, q_offset)] += in[r * len_k + j];
    }
  });
}

}  // namespace attn::kernels
