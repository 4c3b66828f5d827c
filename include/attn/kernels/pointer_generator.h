// The pointer-generator output distribution (See et al. 2017): a gate g mixes the vocabulary softmax with a copy
// distribution that puts each source position's attention weight on that position's token,
//   P[v] = g softmax(z)[v] + (1 - g) sum_{s : ids[s] = v} w[s],
// and the op returns log P (clamped to <= 0 against rounding, with a floor of log 1e-12 where P is 0).
#pragma once
#include <cstdint>

namespace attn::kernels {

inline constexpr float kPointerGeneratorEps = 1e-12f;  // added to P before the log

// logits, out, softmax, mixed: [rows, vocab]; gate: [rows] in [0, 1]; weights, ids: [rows, sources], ids in
// [0, vocab). Writes log P to out and keeps softmax(z) and P for the backward.
// Throws attn::Error naming the row for an id outside [0, vocab).
void pointer_generator_forward(int64_t rows, int64_t vocab, int64_t sources, const float* logits, const float* gate,
                               const float* weights, const int32_t* ids, float* out, float* softmax, float* mixed);

// From d out: dlogits [rows, vocab], dgate [rows], dweights [rows, sources] (each written, not accumulated).
void pointer_generator_backward(int64_t rows, int64_t vocab, int64_t sources, const float* gate, const float* weights,
                                const int32_t* ids, const float* softmax, const float* mixed, const float* dout,
                                float* dlogits, float* dgate, float* dweights);

}  // namespace attn::kernels
