// attn's MultiheadAttention, Transformer layers, LayerNorm and Embedding against PyTorch 1.13 on the same
// weights and inputs (fixtures from tests/fixtures/tools/gen_transformer_fixtures.py): outputs, input
// gradients and parameter gradients within relative error 1e-4.
#include <gtest/gtest.h>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/embedding.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/transformer/decoder_layer.h"
#include "attn/nn/transformer/encoder_layer.h"
#include "support/fixture.h"

namespace attn::nn {
namespace {

using testing::Fixture;

Var input(const Fixture& f, const std::string& name) { return Var(f["input." + name].clone(), true); }

// sum over outputs of sum(w * output), the loss the generator differentiated.
void backward_weighted(const Fixture& f, const std::vector<std::pair<std::string, Var>>& outputs) {
  Var loss;
  for (auto& [name, y] : outputs) {
    Var term = autograd::sum(y * Var(f["out_weight." + name]));
    loss = loss.defined() ? loss + term : term;
  }
  loss.backward();
}

// The output of forward without gradients: the inference path (attention in place, fused epilogues).
template <class F>
Tensor inference(F&& forward) {
  autograd::NoGradGuard no_grad;
  return forward().value();
}

TransformerLayerOptions small_layer(bool norm_first, Activation act) {
  TransformerLayerOptions o;
  o.d_model = 8;
  o.num_heads = 2;
  o.dim_feedforward = 16;
  o.dropout = 0.0f;
  o.norm_first = norm_first;
  o.activation = act;
  return o;
}

TEST(TransformerParity, MultiheadCrossAttentionWithPadding) {
  Fixture f("transformer/mha_cross.safetensors");
  Rng rng(0);
  MultiheadAttention mha(8, 2, rng);
  f.load_into(mha);
  Var q = input(f, "query"), kv = input(f, "key");
  std::vector<int32_t> lengths = f.ints("lengths.key");
  Tensor weights;
  Var y = mha.forward(q, kv, kv, {lengths, false}, &weights);
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  EXPECT_TRUE(Fixture::close(weights, f["output.weights"]));
  backward_weighted(f, {{"y", y}});
  EXPECT_TRUE(Fixture::close(q.grad(), f["grad_input.query"]));
  EXPECT_TRUE(Fixture::close(kv.grad(), f["grad_input.key"]));
  f.expect_param_grads(mha);
}

TEST(TransformerParity, MultiheadSelfAttentionCausal) {
  Fixture f("transformer/mha_self_causal.safetensors");
  Rng rng(0);
  MultiheadAttention mha(8, 2, rng);
  f.load_into(mha);
  Var x = input(f, "x");
  Var y = mha.forward(x, x, x, {{}, true});
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  EXPECT_TRUE(Fixture::close(inference([&] { return mha.forward(x, x, x, {{}, true}); }), f["output.y"]));
  backward_weighted(f, {{"y", y}});
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.x"]));
  f.expect_param_grads(mha);
}

void check_encoder(const std::string& file, bool norm_first, Activation act) {
  Fixture f("transformer/" + file);
  Rng rng(0);
  TransformerEncoderLayer layer(small_layer(norm_first, act), rng);
  f.load_into(layer);
  Var x = input(f, "x");
  std::vector<int32_t> lengths = f.ints("lengths.x");
  Var y = layer.forward(x, {lengths, false});
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  EXPECT_TRUE(Fixture::close(inference([&] { return layer.forward(x, {lengths, false}); }), f["output.y"]));
  backward_weighted(f, {{"y", y}});
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.x"]));
  f.expect_param_grads(layer);
}

TEST(TransformerParity, EncoderLayerPostLnRelu) {
  check_encoder("encoder_post_ln_relu.safetensors", false, Activation::kRelu);
}
TEST(TransformerParity, EncoderLayerPreLnGelu) {
  check_encoder("encoder_pre_ln_gelu.safetensors", true, Activation::kGelu);
}

void check_decoder(const std::string& file, bool norm_first) {
  Fixture f("transformer/" + file);
  Rng rng(0);
  TransformerDecoderLayer layer(small_layer(norm_first, Activation::kRelu), rng);
  f.load_into(layer);
  Var tgt = input(f, "tgt"), memory = input(f, "memory");
  std::vector<int32_t> tgt_lengths = f.ints("lengths.tgt"), mem_lengths = f.ints("lengths.memory");
  Var y = layer.forward(tgt, memory, {tgt_lengths, true}, mem_lengths);
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  EXPECT_TRUE(Fixture::close(inference([&] { return layer.forward(tgt, memory, {tgt_lengths, true}, mem_lengths); }),
                             f["output.y"]));
  backward_weighted(f, {{"y", y}});
  EXPECT_TRUE(Fixture::close(tgt.grad(), f["grad_input.tgt"]));
  EXPECT_TRUE(Fixture::close(memory.grad(), f["grad_input.memory"]));
  f.expect_param_grads(layer);
}

TEST(TransformerParity, DecoderLayerPostLn) { check_decoder("decoder_post_ln.safetensors", false); }
TEST(TransformerParity, DecoderLayerPreLn) { check_decoder("decoder_pre_ln.safetensors", true); }

TEST(TransformerParity, LayerNorm) {
  Fixture f("transformer/layer_norm.safetensors");
  nn::LayerNorm ln(7);
  f.load_into(ln);
  Var x = input(f, "x");
  Var y = ln.forward(x);
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  backward_weighted(f, {{"y", y}});
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.x"]));
  f.expect_param_grads(ln);
}

TEST(TransformerParity, EmbeddingWithPaddingIndex) {
  Fixture f("transformer/embedding.safetensors");
  Rng rng(0);
  nn::Embedding emb(10, 4, rng, 0);
  f.load_into(emb);
  std::vector<int32_t> ids = f.ints("input.ids");
  Var y = emb.forward(ids, {2, 3});
  EXPECT_TRUE(Fixture::close(y.value(), f["output.y"]));
  backward_weighted(f, {{"y", y}});
  f.expect_param_grads(emb);
}

}  // namespace
}  // namespace attn::nn
