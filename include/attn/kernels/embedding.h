// Embedding lookup: a gather of table rows by integer id, and its backward, a scatter-add into the table's
// gradient. Ids outside [0, vocab) throw attn::Error naming the id, its position and the vocabulary size.
#pragma once
#include <cstdint>

namespace attn::kernels {

constexpr int64_t kNoPadding = -1;

// out [n, dim] = table [vocab, dim] rows ids [n]. The padding row is gathered like any other (as in PyTorch).
void embedding_forward(int64_t n, const int32_t* ids, int64_t vocab, int64_t dim, const float* table, float* out);

// dtable [vocab, dim] += dout [n, dim] rows added at ids; the row padding_idx (kNoPadding: none) gets nothing.
// Threads split the columns, so every row's sum runs in position order whatever the thread count.
void embedding_backward(int64_t n, const int32_t* ids, int64_t vocab, int64_t dim, const float* dout,
                        int64_t padding_idx, float* dtable);

}  // namespace attn::kernels
