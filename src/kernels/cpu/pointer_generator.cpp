#include "attn/kernels/pointer_generator.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/kernels/softmax.h"

namespace attn::kernels {

void pointer_generator_forward(int64_t rows, int64_t vocab, int64_t sources, const float* logits, const float* gate,
                               const float* weights, const int32_t* ids, float* out, float* softmax, float* mixed) {
  ATTN_CHECK(rows >= 0 && vocab > 0 && sources >= 0, "pointer_generator: rows {}, vocab {}, sources {}", rows, vocab,
             sources);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t s = 0; s < sources; ++s)
      ATTN_CHECK(ids[r * sources + s] >= 0 && ids[r * sources + s] < vocab,
                 "pointer_generator: row {} source {} has token {} outside the vocabulary of {}", r, s,
                 ids[r * sources + s], vocab);
  softmax_forward(logits, softmax, rows, vocab, 1);
#pragma omp parallel for schedule(static) if (rows * vocab >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float g = gate[r];
    const float* p = softmax + r * vocab;
    float* m = mixed + r * vocab;
    for (int64_t v = 0; v < vocab; ++v) m[v] = g * p[v];
    for (int64_t s = 0; s < sources; ++s) m[ids[r * sources + s]] += (1.0f - g) * weights[r * sources + s];
    float* o = out + r * vocab;
    for (int64_t v = 0; v < vocab; ++v) o[v] = std::min(0.0f, std::log(m[v] + kPointerGeneratorEps));
  }
}

void pointer_generator_backward(int64_t rows, int64_t vocab, int64_t sources, const float* gate, const float* weights,
                                const int32_t* ids, const float* softmax, const float* mixed, const float* dout,
                                float* dlogits, float* dgate, float* dweights) {
#pragma omp parallel for schedule(static) if (rows * vocab >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const float g = gate[r];
    const float* p = softmax + r * vocab;
    const float* m = mixed + r * vocab;
    const float* d = dout + r * vocab;
    float* dz = dlogits + r * vocab;
    // dP = dout / (P + eps), held in dz for now; dP/dg = softmax - copy, d/dlogits through the softmax.
    double dg = 0, dot = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      dz[v] = d[v] / (m[v] + kPointerGeneratorEps);
      dg += double(dz[v]) * p[v];
      dot += double(dz[v]) * p[v];
    }
    for (int64_t s = 0; s < sources; ++s) {
      const float dp = dz[ids[r * sources + s]];
      dg -= double(dp) * weights[r * sources + s];
      dweights[r * sources + s] = (1.0f - g) * dp;
    }
    dgate[r] = float(dg);
    for (int64_t v = 0; v < vocab; ++v) dz[v] = g * p[v] * (dz[v] - float(dot));
  }
}

}  // namespace attn::kernels
