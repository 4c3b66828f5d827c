// Gather rows (forward) and scatter-add them back (backward). The backward splits the dim columns across
// threads in whole cache lines rather than the ids: repeated ids then never race and each thread does the same
// work however skewed the id distribution is.
#include "attn/kernels/embedding.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

void check_args(const char* op, int64_t n, const int32_t* ids, int64_t vocab, int64_t dim, const void* in,
                const void* out) {
  ATTN_CHECK(n >= 1 && vocab >= 1 && dim >= 1, "{}: sizes n = {}, table [{}, {}] must all be >= 1", op, n, vocab, dim);
  ATTN_CHECK(ids && in && out, "{}: null pointer (n = {}, table [{}, {}])", op, n, vocab, dim);
  for (int64_t i = 0; i < n; ++i) {
    ATTN_CHECK(ids[i] >= 0 && ids[i] < vocab, "{}: id {} at position {} is outside the vocabulary [0, {})", op, ids[i],
               i, vocab);
  }
}

}  // namespace

void embedding_forward(int64_t n, const int32_t* ids, int64_t vocab, int64_t dim, const float* table, float* out) {
  check_args("embedding_forward", n, ids, vocab, dim, table, out);
  cpu::parallel_for(n, dim, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) std::memcpy(out + i * dim, table + ids[i] * dim, static_cast<size_t>(dim) * 4);
  });
}

void embedding_backward(int64_t n, const int32_t* ids, int64_t vocab, int64_t dim, const float* dout,
                        int64_t padding_idx, float* dtable) {
  check_args("embedding_backward", n, ids, vocab, dim, dout, dtable);
  ATTN_CHECK(padding_idx == kNoPadding || (padding_idx >= 0 && padding_idx < vocab),
             "embedding_backward: padding_idx {} is outside the vocabulary [0, {})", padding_idx, vocab);
  // Columns [c0, c1) for every id, in position order.
  auto scatter = [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] == padding_idx) continue;
      const float* src = dout + i * dim;
      float* dst = dtable + static_cast<int64_t>(ids[i]) * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  };
  constexpr int64_t kLine = 16;  // floats per 64-byte cache line
  const int threads = omp_get_max_threads();
  if (n * dim < cpu::kParallelWork || threads == 1 || dim < 2 * kLine) return scatter(0, dim);
  const int64_t width = std::max(kLine, (dim / threads + kLine - 1) / kLine * kLine);
  const int64_t blocks = (dim + width - 1) / width;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) scatter(blk * width, std::min(dim, (blk + 1) * width));
}

}  // namespace attn::kernels
