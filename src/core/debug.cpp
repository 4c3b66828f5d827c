#include "attn/core/debug.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace attn {
namespace {

std::atomic<bool>& debug_flag() {
  static std::atomic<bool> on{[] {
    const char* env = std::getenv("ATTN_DEBUG_CHECKS");
    return env != nullptr && std::strcmp(env, "1") == 0;
  }()};
  return on;
}

// First non-finite index in [begin, end), or end. x * 0 is NaN exactly when x is NaN or +-inf, and NaN survives
// the sum, so the vector pass needs no compare; the rare hit is located by a scalar pass over the chunk.
int64_t first_non_finite(const float* data, int64_t begin, int64_t end) {
  using kernels::cpu::kLanes;
  using kernels::cpu::Vec;
  Vec acc = Vec::zero();
  const Vec zero = Vec::zero();
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) acc = kernels::cpu::fma(Vec::load(data + i), zero, acc);
  if (i < end) acc = kernels::cpu::fma(Vec::load_partial(data + i, static_cast<int>(end - i)), zero, acc);
  if (!std::isnan(acc.reduce_add())) return end;
  for (i = begin; i < end; ++i) {
    if (!std::isfinite(data[i])) return i;
  }
  return end;
}

}  // namespace

bool debug_checks() { return debug_flag().load(std::memory_order_relaxed); }
void set_debug_checks(bool on) { debug_flag().store(on, std::memory_order_relaxed); }

void check_finite(const char* op, const char* what, const float* data, int64_t n, const Shape& shape) {
  if (!debug_checks()) return;
  ATTN_CHECK(n == shape_numel(shape), "{}: check_finite on {} of shape {} given {} elements", op, what,
             shape_str(shape), n);
  if (n == 0) return;
  ATTN_CHECK(data != nullptr, "{}: check_finite on {} of shape {}: null data", op, what, shape_str(shape));
  // Chunks are scanned in parallel; the smallest hit wins, so the report is the first bad element.
  int64_t first = n;
  kernels::cpu::parallel_chunks(n, 1, [&](int64_t, int64_t begin, int64_t end) {
    const int64_t hit = first_non_finite(data, begin, end);
    if (hit < end) {
#pragma omp critical(attn_check_finite)
      first = hit < first ? hit : first;
    }
  });
  if (first == n) return;
  const float v = data[first];
  const char* kind = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  Shape pos(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1, rest = first; d >= 0; --d) {
    pos[d] = rest % shape[d];
    rest /= shape[d];
  }
  detail::throw_error(fmt::format("{}: {} of shape {} has a non-finite value ({}) at index {} ({})", op, what,
                                  shape_str(shape), kind, first, shape_str(pos)));
}

}  // namespace attn
