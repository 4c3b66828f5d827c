// Output projection + cross-entropy on the CPU, chunk by chunk. Only counted rows (target != ignore_index) are
// gathered into chunks, so padding costs nothing. The threads work in waves: each turns its chunk of hidden rows
// into logits (one BLAS product), the loss and the logits' gradient in place, and its rows of grad_hidden (a
// second product); then, the wave's chunks lying side by side in one buffer, each thread adds the whole wave's
// share to its own slice of the vocabulary in grad_weight (a third product, over all the wave's rows). Nothing is
// reduced across threads at the end and no thread needs a private [vocab, dim] accumulator.
#include "attn/kernels/linear_cross_entropy.h"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "attn/core/allocator.h"
#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "kernels/cpu/cross_entropy_row.h"

namespace attn::kernels {
namespace {

constexpr const char* kOp = "linear_cross_entropy";
// Chunk rows: the three products per chunk lose to one product over all rows as chunks shrink (their operands
// are packed anew per call): at dim 256, vocab 8000, 64-row chunks took 30% longer, 128 rows 12%, 256 rows 2%.
// The cap on logits per chunk (per thread) bounds memory for very large vocabularies.
constexpr int64_t kMinChunkRows = 16, kMaxChunkRows = 256;
constexpr int64_t kChunkBytes = int64_t{32} << 20;
// Below this many multiply-adds in the forward product one thread does it all: waking the team costs more.
constexpr double kParallelMacs = double(int64_t{1} << 19);

// 64-byte aligned, uninitialised floats from attn's recycling allocator.
class Scratch {
 public:
  explicit Scratch(int64_t n) : bytes_(size_t(n) * sizeof(float)), p_(static_cast<float*>(allocate(bytes_))) {}
  ~Scratch() { deallocate(p_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  size_t bytes_;
  float* p_;
};

// Validates everything before the parallel region; returns the counted rows in order.
std::vector<int64_t> counted_rows(const float* hidden, const float* weight, const int32_t* targets, int64_t rows,
                                  int64_t dim, int64_t vocab, const CrossEntropyOptions& opt) {
  ATTN_CHECK(rows >= 0 && dim > 0 && vocab > 0,
             "{}: hidden [{}, {}] and weight [{}, {}] need rows >= 0, dim >= 1 and vocab >= 1", kOp, rows, dim, vocab,
             dim);
  int64_t total = 0;
  ATTN_CHECK(dim <= INT_MAX && vocab <= INT_MAX && !__builtin_mul_overflow(rows, dim, &total) &&
                 !__builtin_mul_overflow(vocab, dim, &total),
             "{}: hidden [{}, {}] and weight [{}, {}] are too large for the BLAS", kOp, rows, dim, vocab, dim);
  ATTN_CHECK(opt.label_smoothing >= 0.0f && opt.label_smoothing <= 1.0f,
             "{}: label_smoothing {} is outside [0, 1] (hidden [{}, {}], weight [{}, {}])", kOp, opt.label_smoothing,
             rows, dim, vocab, dim);
  ATTN_CHECK(weight && (rows == 0 || (hidden && targets)), "{}: null data pointer for hidden [{}, {}], weight [{}, {}]",
             kOp, rows, dim, vocab, dim);
  std::vector<int64_t> counted;
  counted.reserve(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t t = targets[r];
    if (t == opt.ignore_index) continue;
    ATTN_CHECK(t >= 0 && t < vocab, "{}: target {} at row {} is outside [0, {}) for weight [{}, {}] (ignore_index {})",
               kOp, t, r, vocab, vocab, dim, opt.ignore_index);
    counted.push_back(r);
  }
  return counted;
}

struct Plan {
  int64_t chunk = 0;  // counted rows per chunk
  int threads = 1;
};

Plan make_plan(int64_t counted, int64_t dim, int64_t vocab) {
  const int64_t max_chunk =
      std::clamp(kChunkBytes / (vocab * int64_t(sizeof(float))), kMinChunkRows, kMaxChunkRows);
  const bool parallel = !omp_in_parallel() && double(counted) * double(dim) * double(vocab) >= kParallelMacs;
  int threads = parallel ? omp_get_max_threads() : 1;
  // A whole number of waves of equal chunks, so no thread idles through the last wave.
  int64_t chunks = (counted + max_chunk - 1) / max_chunk;
  chunks = std::min(counted, (chunks + threads - 1) / threads * threads);
  Plan p;
  p.chunk = (counted + chunks - 1) / chunks;
  p.threads = int(std::min<int64_t>(threads, (counted + p.chunk - 1) / p.chunk));
  return p;
}

struct Problem {
  const float* hidden;
  const float* weight;
  const float* bias;
  const int32_t* targets;
  const int64_t* rows;  // the counted rows
  int64_t dim, vocab;
  float eps;
  float scale;  // 1 / counted rows: the gradient of the mean
  bool grads;   // the logits' gradient is wanted
  const LinearCrossEntropyOutputs& out;
};

int32_t row_argmax(const float* x, int64_t n) {
  float m = 0.0f, unused = 0.0f;
  cpu::row_max_sum<false>(x, n, &m, &unused);
  const float* hit = std::find(x, x + n, m);
  return hit == x + n ? 0 : int32_t(hit - x);  // not found: the row holds NaN
}

// Counted rows [begin, begin + n): hidden rows gathered into h [n, dim], their logits into lg [n, vocab], then
// the loss and, when p.grads, dlogits in place of the logits and the rows of grad_hidden (via dh [n, dim]).
// Returns the rows' summed loss.
double run_chunk(const Problem& p, int64_t begin, int64_t n, float* h, float* lg, float* dh) {
  const int64_t dim = p.dim, vocab = p.vocab;
  for (int64_t i = 0; i < n; ++i) std::memcpy(h + i * dim, p.hidden + p.rows[begin + i] * dim, size_t(dim) * 4);
  if (p.bias) {
    for (int64_t i = 0; i < n; ++i) std::memcpy(lg + i * vocab, p.bias, size_t(vocab) * 4);
  }
  gemm(false, true, n, vocab, dim, 1.0f, h, dim, p.weight, dim, p.bias ? 1.0f : 0.0f, lg, vocab);
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = p.rows[begin + i];
    const int32_t t = p.targets[r];
    float* x = lg + i * vocab;
    float lse = 0.0f;
    const double l = p.eps > 0.0f ? cpu::row_loss<true>(x, vocab, t, true, p.eps, &lse)
                                  : cpu::row_loss<false>(x, vocab, t, true, p.eps, &lse);
    loss += l;
    if (p.out.row_loss) p.out.row_loss[r] = float(l);
    if (p.out.argmax) p.out.argmax[r] = row_argmax(x, vocab);
    if (p.grads) cpu::row_grad<false>(x, x, vocab, t, lse, p.scale, p.eps);
  }
  if (p.out.grad_hidden) {
    gemm(false, false, n, dim, vocab, 1.0f, lg, vocab, p.weight, dim, 0.0f, dh, dim);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(p.out.grad_hidden + p.rows[begin + i] * dim, dh + i * dim, size_t(dim) * 4);
    }
  }
  return loss;
}

// out[c] (+)= sum over rows of x[r * ld + c], c in [0, n).
void column_sums(const float* x, int64_t rows, int64_t n, int64_t ld, bool overwrite, float* out) {
  if (overwrite) std::fill(out, out + n, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    for (int64_t c = 0; c < n; ++c) out[c] += xr[c];
  }
}

}  // namespace

float linear_cross_entropy(const float* hidden, const float* weight, const float* bias, const int32_t* targets,
                           int64_t rows, int64_t dim, int64_t vocab, const CrossEntropyOptions& opt,
                           const LinearCrossEntropyOutputs& out) {
  const std::vector<int64_t> counted = counted_rows(hidden, weight, targets, rows, dim, vocab, opt);
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] != opt.ignore_index) continue;
    if (out.grad_hidden) std::fill(out.grad_hidden + r * dim, out.grad_hidden + (r + 1) * dim, 0.0f);
    if (out.row_loss) out.row_loss[r] = 0.0f;
    if (out.argmax) out.argmax[r] = -1;
  }
  const int64_t n = int64_t(counted.size());
  if (n == 0) {
    if (out.grad_weight) std::fill(out.grad_weight, out.grad_weight + vocab * dim, 0.0f);
    if (out.grad_bias) std::fill(out.grad_bias, out.grad_bias + vocab, 0.0f);
    return 0.0f;
  }
  const Plan plan = make_plan(n, dim, vocab);
  const bool grads = out.grad_hidden || out.grad_weight || out.grad_bias;
  const Problem p{hidden, weight, bias, targets, counted.data(), dim, vocab, opt.label_smoothing,
                  float(1.0 / double(n)), grads, out};
  // Thread t's chunk is rows [t * chunk, (t + 1) * chunk) of each buffer.
  const int64_t slots = plan.threads * plan.chunk;
  Scratch h(slots * dim), dh(slots * dim), lg(slots * vocab);
  const bool wave_products = out.grad_weight || out.grad_bias;
  // One partial sum per thread, added in thread order: the same thread count gives the same loss bit for bit.
  std::vector<double> partial(size_t(plan.threads), 0.0);
#pragma omp parallel num_threads(plan.threads)
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t wave = nt * plan.chunk, waves = (n + wave - 1) / wave;
    const int64_t v0 = vocab * t / nt, v1 = vocab * (t + 1) / nt;  // this thread's slice of the vocabulary
    double acc = 0.0;
    for (int64_t w = 0; w < waves; ++w) {
      const int64_t begin = w * wave + t * plan.chunk;
      if (begin < n) {
        acc += run_chunk(p, begin, std::min(plan.chunk, n - begin), h.get() + t * plan.chunk * dim,
                         lg.get() + t * plan.chunk * vocab, dh.get() + t * plan.chunk * dim);
      }
      if (wave_products) {
        // The wave's chunks fill the buffers' first `in_wave` rows, in order.
#pragma omp barrier
        const int64_t in_wave = std::min(wave, n - w * wave);
        if (out.grad_weight && v1 > v0) {
          gemm(true, false, v1 - v0, dim, in_wave, 1.0f, lg.get() + v0, vocab, h.get(), dim, w == 0 ? 0.0f : 1.0f,
               out.grad_weight + v0 * dim, dim);
        }
        if (out.grad_bias) column_sums(lg.get() + v0, in_wave, v1 - v0, vocab, w == 0, out.grad_bias + v0);
#pragma omp barrier
      }
    }
    partial[size_t(t)] = acc;
  }
  double total = 0.0;
  for (double s : partial) total += s;
  return float(total / double(n));
}

}  // namespace attn::kernels
