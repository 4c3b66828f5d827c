// AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the parameter directly (param *= 1 - lr * wd)
// instead of entering the moment estimates; PyTorch 1.13's torch.optim.AdamW, default weight decay 1e-2.
#pragma once
#include "attn/optim/adam.h"

namespace attn::optim {

struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2f; }
};

class AdamW : public Adam {
 public:
  explicit AdamW(ParamList params, const AdamWOptions& options = {});
};

}  // namespace attn::optim
