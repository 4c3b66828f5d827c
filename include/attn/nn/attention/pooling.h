// Attention pooling over a sequence (Yang et al. 2016's word attention, the text classifier's pooling layer):
// u_t = tanh(W h_t + b), score_t = u_t . u_w with a learned context vector u_w, a = softmax over the valid t,
// output sum_t a_t h_t. Parameters (in named_parameters() order): context [attention_dim] (u_w),
// proj.weight [attention_dim, input_dim], proj.bias [attention_dim].
#pragma once
#include <memory>
#include <span>

#include "attn/core/rng.h"
#include "attn/nn/linear.h"
#include "attn/nn/module.h"

namespace attn::nn {

class AttentionPooling : public Module {
 public:
  AttentionPooling(int64_t input_dim, int64_t attention_dim, Rng& rng);

  // h [B, T, D] with lengths [B] valid steps each (empty: all T) -> [B, D]; weights, when given, receives [B, T]
  // (0 past each length; a sequence of length 0 pools to zeros).
  Var forward(const Var& h, std::span<const int32_t> lengths = {}, Tensor* weights = nullptr) const;

  std::shared_ptr<Linear> proj;
  Var context;

 private:
  int64_t input_dim_, attention_dim_;
};

}  // namespace attn::nn
