// attn_bench_tool: the attn side of `bench/run kernels` and `bench/run layers` (the layer figures are in
// layer_figures.cpp). One figure per invocation, printed as `name<TAB>value<TAB>unit` lines; bench/kernels.py and
// bench/layers.py run the same figures in PyTorch and put them side by side.
//   attn_bench_tool [--threads N] stream | sgemm N | softmax ROWS L | attention B H L D [--causal] [--backward]
//                                 | attention-peak-mem B H L D | (layer and seq2seq figures: see kLayerUsage,
//                                 kSeq2SeqUsage)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attn/core/allocator.h"
#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/kernels/attention.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/softmax.h"
#include "figures.h"

namespace {

namespace ak = attn::kernels;
using attn::bench::emit;
using attn::bench::median_seconds;
using attn::bench::peak_rss_mib;

// Aligned float buffer from attn's allocator, filled once (outside any timed loop) so its pages are touched.
class Buffer {
 public:
  explicit Buffer(int64_t n) : n_(n), p_(static_cast<float*>(attn::allocate(bytes()))) {}
  ~Buffer() { attn::deallocate(p_, bytes()); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* data() { return p_; }
  std::size_t bytes() const { return std::size_t(n_) * sizeof(float); }
  // N(0,1) like torch.randn; the generator is seeded so every run times the same data.
  Buffer& randn(uint32_t seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist;
    for (int64_t i = 0; i < n_; ++i) p_[i] = dist(gen);
    return *this;
  }

 private:
  int64_t n_;
  float* p_;
};

// STREAM-style copy of one 256 MiB array into another; each thread copies the part it first touched, so the
// pages sit on its memory node. Counts the bytes read plus the bytes written, as the softmax GB/s does.
// memcpy lets glibc pick its large-copy strategy (non-temporal stores), the best a kernel could do.
void run_stream() {
  const int64_t n = (int64_t(256) << 20) / int64_t(sizeof(float));
  Buffer a(n), b(n);
  auto copy = [&](float* dst, const float* src, bool fill) {
#pragma omp parallel
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
      if (fill) {
        std::fill(dst + lo, dst + hi, 1.0f);
      } else {
        std::memcpy(dst + lo, src + lo, std::size_t(hi - lo) * sizeof(float));
      }
    }
  };
  copy(a.data(), nullptr, true);
  copy(b.data(), nullptr, true);
  const double s = median_seconds([&] { copy(b.data(), a.data(), false); });
  emit("stream_copy", 2.0 * double(a.bytes()) / s / 1e9, "GB/s");
}

void run_sgemm(int64_t n) {
  Buffer a(n * n), b(n * n), c(n * n);
  a.randn(1);
  b.randn(2);
  std::fill(c.data(), c.data() + n * n, 0.0f);
  const double s =
      median_seconds([&] { ak::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); });
  emit("sgemm_n" + std::to_string(n), 2.0 * double(n) * double(n) * double(n) / s / 1e9, "GFLOP/s");
  std::fprintf(stderr, "# sgemm through %s\n", ak::blas_description().c_str());
}

// Softmax over rows of length L: [rows, L] as [outer=rows, n=L, inner=1].
void run_softmax(int64_t rows, int64_t len) {
  const int64_t n = rows * len;
  Buffer x(n), y(n);
  x.randn(1);
  std::fill(y.data(), y.data() + n, 0.0f);
  const double s = median_seconds([&] { ak::softmax_forward(x.data(), y.data(), rows, len, 1); });
  const std::string name = "softmax_r" + std::to_string(rows) + "_L" + std::to_string(len);
  emit(name + "_ms", s * 1e3, "ms");
  emit(name + "_GBps", 8.0 * double(n) / s / 1e9, "GB/s");
}

struct AttentionData {
  ak::AttentionShape shape;
  ak::AttentionMask mask;
  float scale;
  int64_t n, rows;
  Buffer q, k, v, out, lse;
  AttentionData(int64_t b, int64_t h, int64_t l, int64_t d, bool causal)
      : shape{b, h, l, l, d},
        scale(1.0f / std::sqrt(float(d))),
        n(b * h * l * d),
        rows(b * h * l),
        q(n),
        k(n),
        v(n),
        out(n),
        lse(rows) {
    mask.causal = causal;
    q.randn(1);
    k.randn(2);
    v.randn(3);
  }
  void forward() { ak::attention_forward(shape, q.data(), k.data(), v.data(), mask, scale, out.data(), lse.data()); }
};

// FLOPs as the PyTorch side counts them: 4*B*H*L^2*d forward, 12*B*H*L^2*d forward+backward, causal counted
// as the same dense work (so skipping masked tiles shows up as a higher rate).
void run_attention(int64_t b, int64_t h, int64_t l, int64_t d, bool causal, bool backward) {
  AttentionData a(b, h, l, d, causal);
  double s;
  if (!backward) {
    s = median_seconds([&] { a.forward(); });
  } else {
    Buffer dout(a.n), dq(a.n), dk(a.n), dv(a.n);
    dout.randn(4);
    s = median_seconds([&] {
      a.forward();
      ak::attention_backward(a.shape, a.q.data(), a.k.data(), a.v.data(), a.out.data(), dout.data(), a.lse.data(),
                             a.mask, a.scale, dq.data(), dk.data(), dv.data());
    });
  }
  const double flops = (backward ? 12.0 : 4.0) * double(b * h) * double(l) * double(l) * double(d);
  const std::string name = std::string("attention_") + (backward ? "fwdbwd" : "fwd") + (causal ? "_causal" : "") +
                           "_B" + std::to_string(b) + "H" + std::to_string(h) + "L" + std::to_string(l) + "d" +
                           std::to_string(d);
  emit(name + "_ms", s * 1e3, "ms");
  emit(name + "_GFLOPs", flops / s / 1e9, "GFLOP/s");
}

// Peak RSS of a process that does one attention forward and nothing else (compare: a torch process doing the
// same). The baseline before the inputs exist goes to stderr for context.
void run_attention_peak_mem(int64_t b, int64_t h, int64_t l, int64_t d) {
  std::fprintf(stderr, "# attn peak-mem: baseline VmHWM %.1f MiB\n", peak_rss_mib());
  AttentionData a(b, h, l, d, false);
  a.forward();
  emit("attention_fwd_peak_rss_B" + std::to_string(b) + "H" + std::to_string(h) + "L" + std::to_string(l) + "d" +
           std::to_string(d),
       peak_rss_mib(), "MiB");
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: attn_bench_tool [--threads N] stream | sgemm N | softmax ROWS L\n"
               "                       | attention B H L D [--causal] [--backward] | attention-peak-mem B H L D\n%s%s",
               attn::bench::kLayerUsage, attn::bench::kSeq2SeqUsage);
  std::exit(2);
}

int64_t to_int(const std::string& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v <= 0) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool causal = false;
  attn::bench::LayerFlags layer_flags;
  int threads = 0;
  std::vector<std::string> pos;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--threads" && i + 1 < args.size()) {
      threads = int(to_int(args[++i]));
    } else if (args[i] == "--causal") {
      causal = true;
    } else if (args[i] == "--backward") {
      layer_flags.backward = true;
    } else if (args[i] == "--peak-mem") {
      layer_flags.peak_mem = true;
    } else {
      pos.push_back(args[i]);
    }
  }
  if (pos.empty()) usage();
  try {
    if (threads > 0) attn::set_num_threads(threads);
    const std::string& cmd = pos[0];
    auto arg = [&](std::size_t i) { return to_int(pos[i]); };  // sizes checked below
    if (cmd == "stream" && pos.size() == 1) {
      run_stream();
    } else if (cmd == "sgemm" && pos.size() == 2) {
      run_sgemm(arg(1));
    } else if (cmd == "softmax" && pos.size() == 3) {
      run_softmax(arg(1), arg(2));
    } else if (cmd == "attention" && pos.size() == 5) {
      run_attention(arg(1), arg(2), arg(3), arg(4), causal, layer_flags.backward);
    } else if (cmd == "attention-peak-mem" && pos.size() == 5) {
      run_attention_peak_mem(arg(1), arg(2), arg(3), arg(4));
    } else {
      std::vector<int64_t> sizes;
      for (std::size_t i = 1; i < pos.size(); ++i) sizes.push_back(arg(i));
      if (!attn::bench::run_layer_figure(pos, sizes, layer_flags) && !attn::bench::run_seq2seq_figure(pos, sizes))
        usage();
    }
  } catch (const attn::Error& e) {
    std::fprintf(stderr, "attn_bench_tool: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
