// Embedding lookup: rows of a table gathered by integer ids; the gradient scatter-adds back into the table.
#pragma once
#include <span>

#include "attn/autograd/var.h"

namespace attn::autograd {

// table [vocab, dim]; ids laid out as ids_shape -> [ids_shape..., dim]. Rows equal to padding_idx get no
// gradient (pass kernels::kNoPadding for none).
Var embedding(const Var& table, std::span<const int32_t> ids, const Shape& ids_shape, int64_t padding_idx = -1);

}  // namespace attn::autograd
