#include "attn/optim/adamw.h"

namespace attn::optim {

AdamW::AdamW(ParamList params, const AdamWOptions& options) : Adam("AdamW", std::move(params), options, true) {}

}  // namespace attn::optim
