// Fused cross-entropy on the CPU. logits: [rows, classes] with classes in the thousands (a vocabulary), so a row
// is tens of KiB: the forward reads it from memory once (max and, with label smoothing, sum of x) and finds it in
// cache for the sum of exponentials; the backward reads it once and writes the gradient once, with streaming stores
// when the gradient is far bigger than the cache. Rows run in parallel in contiguous blocks.
#include "attn/kernels/cross_entropy.h"

#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/cross_entropy_row.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

using cpu::row_grad;
using cpu::row_loss;
using cpu::Vec;
using cpu::write_row;

constexpr int64_t kParallelMin = int64_t{1} << 15;   // elements; see softmax.cpp
constexpr int64_t kStreamBytes = int64_t{16} << 20;  // see softmax.cpp

// Validates everything before the parallel region and returns the number of rows that count.
int64_t check_args(const char* op, const float* logits, const int32_t* targets, int64_t rows, int64_t classes,
                   const CrossEntropyOptions& opt, const void* out) {
  ATTN_CHECK(rows >= 0 && classes > 0, "{}: logits [{}, {}] need rows >= 0 and classes > 0", op, rows, classes);
  int64_t total = 0;
  ATTN_CHECK(!__builtin_mul_overflow(rows, classes, &total), "{}: logits [{}, {}] overflow int64", op, rows,
             classes);
  ATTN_CHECK(opt.label_smoothing >= 0.0f && opt.label_smoothing <= 1.0f,
             "{}: label_smoothing {} is outside [0, 1] (logits [{}, {}])", op, opt.label_smoothing, rows, classes);
  if (rows == 0) return 0;
  ATTN_CHECK(logits && targets && out, "{}: null data pointer for logits [{}, {}]", op, rows, classes);
  int64_t valid = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t t = targets[r];
    if (t == opt.ignore_index) continue;
    ATTN_CHECK(t >= 0 && t < classes,
               "{}: target {} at row {} is outside [0, {}) for logits [{}, {}] (ignore_index {})", op, t, r, classes,
               rows, classes, opt.ignore_index);
    ++valid;
  }
  return valid;
}

template <bool kStream>
void zero_row(float* d, int64_t classes) {
  write_row<kStream>(d, classes, [](int64_t, int) { return Vec::zero(); });
}

}  // namespace

float cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t classes,
                            const CrossEntropyOptions& opt, float* lse) {
  const int64_t valid = check_args("cross_entropy_forward", logits, targets, rows, classes, opt, lse);
  if (rows == 0) return 0.0f;
  const float eps = opt.label_smoothing;
  // One partial sum per thread, added in thread order: the same thread count gives the same loss bit for bit.
  std::vector<double> partial(size_t(std::max(1, omp_get_max_threads())), 0.0);
#pragma omp parallel if (rows * classes >= kParallelMin)
  {
    double acc = 0.0;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t t = targets[r];
      const bool counted = t != opt.ignore_index;
      const float* x = logits + r * classes;
      acc += eps > 0.0f ? row_loss<true>(x, classes, t, counted, eps, lse + r)
                        : row_loss<false>(x, classes, t, counted, eps, lse + r);
    }
    partial[size_t(omp_get_thread_num())] = acc;
  }
  if (valid == 0) return 0.0f;
  double total = 0.0;
  for (double p : partial) total += p;
  return float(total / double(valid));
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, int64_t rows,
                            int64_t classes, const CrossEntropyOptions& opt, float grad_loss, float* dlogits) {
  const int64_t valid = check_args("cross_entropy_backward", logits, targets, rows, classes, opt, dlogits);
  ATTN_CHECK(rows == 0 || lse, "cross_entropy_backward: null lse for logits [{}, {}]", rows, classes);
  if (rows == 0) return;
  const float eps = opt.label_smoothing;
  const float g = valid == 0 ? 0.0f : float(double(grad_loss) / double(valid));
  const bool stream = rows * classes * int64_t(2 * sizeof(float)) > kStreamBytes;
  auto run = [&](auto stream_tag) {
    constexpr bool kStream = decltype(stream_tag)::value;
#pragma omp parallel if (rows * classes >= kParallelMin)
    {
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const int32_t t = targets[r];
        float* d = dlogits + r * classes;
        if (t == opt.ignore_index) {
          zero_row<kStream>(d, classes);
        } else {
          row_grad<kStream>(logits + r * classes, d, classes, t, lse[r], g, eps);
        }
      }
      if constexpr (kStream) cpu::stream_fence();
    }
  };
  if (stream) {
    run(std::true_type{});
  } else {
    run(std::false_type{});
  }
}

}  // namespace attn::kernels
