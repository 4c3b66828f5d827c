// Learned absolute position embeddings (BERT / GPT-2 style): an nn::Embedding over positions 0..max_len-1 whose
// rows are added to the inputs. Parameter: embedding.weight [max_len, dim].
#pragma once
#include <memory>

#include "attn/core/rng.h"
#include "attn/nn/embedding.h"
#include "attn/nn/module.h"

namespace attn::nn {

class LearnedPositionalEmbedding : public Module {
 public:
  LearnedPositionalEmbedding(int64_t max_len, int64_t dim, Rng& rng);

  // x [B, L, D] -> x + E[offset, offset + L); needs offset + L <= max_len.
  Var forward(const Var& x, int64_t offset = 0) const;
  // E[offset, offset + length) as [length, dim].
  Var positions(int64_t length, int64_t offset = 0) const;

  std::shared_ptr<Embedding> embedding;

 private:
  int64_t max_len_, dim_;
};

}  // namespace attn::nn
