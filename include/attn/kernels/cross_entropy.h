// Fused log-softmax + negative log-likelihood over class logits, with PyTorch's F.cross_entropy semantics
// (reduction='mean', ignore_index, label_smoothing). The backward works from the saved log-sum-exp and never
// materialises the softmax, so a [tokens, vocab] step reads the logits once and writes the gradient once.
#pragma once
#include <cstdint>

namespace attn::kernels {

struct CrossEntropyOptions {
  int32_t ignore_index = -100;  // rows with this target add nothing to the loss and get zero gradient
  float label_smoothing = 0.0f;  // eps in [0, 1]: the target distribution is (1-eps)*onehot + eps/classes
};

// loss_row = (1-eps)*(lse - x[t]) + eps/C * sum_c (lse - x[c]),  lse = log(sum_c exp(x[c]))
// Returns the mean of loss_row over rows whose target != ignore_index (0 when every row is ignored) and writes
// each row's lse (ignored rows too) for the backward.
// Throws attn::Error for classes == 0, eps outside [0, 1], or a target outside [0, classes) that is not
// ignore_index.
// logits: [rows, classes], targets: [rows], lse: [rows]
float cross_entropy_forward(const float* logits, const int32_t* targets, int64_t rows, int64_t classes,
                            const CrossEntropyOptions& opt, float* lse);

// dlogits = grad_loss * d(mean loss)/d logits
//         = grad_loss / valid_rows * (exp(x - lse) - (1-eps)*onehot(t) - eps/C); ignored rows get 0.
// logits: [rows, classes], targets: [rows], lse: [rows] (from the forward), dlogits: [rows, classes]
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, int64_t rows,
                            int64_t classes, const CrossEntropyOptions& opt, float grad_loss, float* dlogits);

}  // namespace attn::kernels
