// attn_bench_tool's layer figures, the attn side of `bench/run layers`: whole layers and small models built from
// attn's modules, the same shapes and models as bench/torch/layers_torch.py (PyTorch's nn.LSTM,
// nn.TransformerEncoderLayer and the reference classifiers of bench/torch/layers_torch.py).
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/core/rng.h"
#include "attn/nn/attention/pooling.h"
#include "attn/nn/embedding.h"
#include "attn/nn/linear.h"
#include "attn/nn/positional/sinusoidal.h"
#include "attn/nn/rnn.h"
#include "attn/nn/transformer/encoder_layer.h"
#include "attn/optim/adam.h"
#include "figures.h"

namespace attn::bench {

const char* const kLayerUsage =
    "                       | lstm B T I H [--backward] [--peak-mem]          (bidirectional, one layer)\n"
    "                       | encoder-layer B L D HEADS [--backward] [--peak-mem]   (ff 4D, post-LN, relu)\n"
    "                       | bilstm-classifier B T [--backward] | transformer-classifier B T [--backward]\n";

namespace {

using autograd::Var;
constexpr int64_t kVocab = 30000, kClasses = 4;

Tensor randn(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  Rng rng(seed);
  fill_normal(rng, t.data(), t.numel());
  return t;
}

std::string shape_name(const std::vector<int64_t>& sizes, const char* letters) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i) s += letters[i] + std::to_string(sizes[i]);
  return s;
}

// Times fn (or, with peak_mem, runs it twice and reports the process's peak RSS) as figure `name`.
void measure(const std::string& name, const LayerFlags& flags, const std::function<void()>& fn) {
  if (flags.peak_mem) {
    fn();
    fn();
    emit(name + "_peak_rss", peak_rss_mib(), "MiB");
    return;
  }
  emit(name + "_ms", median_seconds(fn) * 1e3, "ms");
}

// Forward: inference (eval, no graph), as torch.inference_mode(); with backward: sum(output) back-propagated to the
// input and every parameter, gradients dropped after each step (PyTorch's zero_grad(set_to_none=True)).
template <class M, class F>
void layer_step(M& module, Var& x, bool backward, F&& forward) {
  if (!backward) {
    autograd::NoGradGuard no_grad;
    forward(x);
    return;
  }
  autograd::sum(forward(x)).backward();
  module.zero_grad();
  x.zero_grad();
}

// nn.LSTM(I, H, batch_first=True, bidirectional=True) on x [B, T, I].
void run_lstm(const std::vector<int64_t>& s, const LayerFlags& flags) {
  const int64_t B = s[0], T = s[1], I = s[2], H = s[3];
  Rng rng(1);
  nn::LSTM lstm({I, H, 1, true, 0.0f}, rng);
  lstm.train(flags.backward);
  Var x(randn({B, T, I}, 2), flags.backward);
  measure(std::string("lstm_bidir_") + (flags.backward ? "fwdbwd_" : "fwd_") + shape_name(s, "BTIH"), flags, [&] {
    layer_step(lstm, x, flags.backward, [&](const Var& in) { return lstm.forward(in).output; });
  });
}

// nn.TransformerEncoderLayer(D, HEADS, 4D, dropout=0, batch_first=True): post-LN, relu.
void run_encoder_layer(const std::vector<int64_t>& s, const LayerFlags& flags) {
  const int64_t B = s[0], L = s[1], D = s[2], heads = s[3];
  Rng rng(1);
  nn::TransformerLayerOptions o;
  o.d_model = D;
  o.num_heads = heads;
  o.dim_feedforward = 4 * D;
  o.dropout = 0.0f;
  nn::TransformerEncoderLayer layer(o, rng);
  layer.train(flags.backward);
  Var x(randn({B, L, D}, 2), flags.backward);
  measure(std::string("encoder_layer_") + (flags.backward ? "fwdbwd_" : "fwd_") + shape_name(s, "BLDh"), flags, [&] {
    layer_step(layer, x, flags.backward, [&](const Var& in) { return layer.forward(in); });
  });
}

// The reference classifiers (bench/torch/layers_torch.py: BiLSTMAttn, TransformerCls) --------------------------

// Embedding(30000, 128) -> BiLSTM(128) -> v^T tanh(W h + b) pooling (W 256x256, v without bias) -> Linear(256, 4).
class BiLstmClassifier : public nn::Module {
 public:
  explicit BiLstmClassifier(Rng& rng)
      : emb(register_module("emb", std::make_shared<nn::Embedding>(kVocab, 128, rng))),
        lstm(register_module("lstm", std::make_shared<nn::LSTM>(nn::RnnOptions{128, 128, 1, true, 0.0f}, rng))),
        pool(register_module("pool", std::make_shared<nn::AttentionPooling>(256, 256, rng))),
        fc(register_module("fc", std::make_shared<nn::Linear>(256, kClasses, rng))) {}
  Var forward(const std::vector<int32_t>& ids, int64_t batch, int64_t len) {
    return fc->forward(pool->forward(lstm->forward(emb->forward(ids, {batch, len})).output));
  }
  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::AttentionPooling> pool;
  std::shared_ptr<nn::Linear> fc;
};

// Embedding(30000, 128) * sqrt(128) + sinusoidal positions -> 2 x TransformerEncoderLayer(128, 4 heads, ff 512,
// dropout 0.1, relu, post-LN) -> mean over positions -> Linear(128, 4).
class TransformerClassifier : public nn::Module {
 public:
  explicit TransformerClassifier(Rng& rng)
      : emb(register_module("emb", std::make_shared<nn::Embedding>(kVocab, kDim, rng))),
        pe(register_module("pe", std::make_shared<nn::SinusoidalPositionalEncoding>(kDim, 512))) {
    nn::TransformerLayerOptions o;
    o.d_model = kDim;
    o.num_heads = 4;
    o.dim_feedforward = 512;
    o.dropout = 0.1f;
    for (int i = 0; i < 2; ++i) {
      layers.push_back(register_module("enc.layers." + std::to_string(i),
                                       std::make_shared<nn::TransformerEncoderLayer>(o, rng)));
    }
    fc = register_module("fc", std::make_shared<nn::Linear>(kDim, kClasses, rng));
  }
  Var forward(const std::vector<int32_t>& ids, int64_t batch, int64_t len) {
    Var h = pe->forward(autograd::scale(emb->forward(ids, {batch, len}), std::sqrt(float(kDim))));
    for (auto& layer : layers) h = layer->forward(h);
    return fc->forward(autograd::mean(h, 1));
  }
  static constexpr int64_t kDim = 128;
  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> pe;
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer>> layers;
  std::shared_ptr<nn::Linear> fc;
};

// Forward: inference latency (eval, no graph) on random token ids. With backward: one training step, as
// bench_torch_train.py: cross-entropy on random labels, backward, Adam(lr 1e-3), gradients dropped.
template <class M>
void run_classifier(const char* what, const std::vector<int64_t>& s, const LayerFlags& flags) {
  const int64_t B = s[0], T = s[1];
  Rng rng(1);
  M model(rng);
  std::vector<int32_t> ids(size_t(B * T)), labels(static_cast<size_t>(B));
  for (auto& id : ids) id = int32_t(rng.uniform_int(kVocab));
  for (auto& y : labels) y = int32_t(rng.uniform_int(kClasses));
  const std::string name = std::string(what) + (flags.backward ? "_train_" : "_infer_") + shape_name(s, "BT");
  if (!flags.backward) {
    model.eval();
    measure(name, flags, [&] {
      autograd::NoGradGuard no_grad;
      model.forward(ids, B, T);
    });
    return;
  }
  optim::Adam adam(model.named_parameters(), {});
  measure(name, flags, [&] {
    adam.zero_grad();
    autograd::cross_entropy(model.forward(ids, B, T), labels).backward();
    adam.step();
  });
}

}  // namespace

bool run_layer_figure(const std::vector<std::string>& pos, const std::vector<int64_t>& sizes, const LayerFlags& flags) {
  const std::string& cmd = pos[0];
  if (cmd == "lstm" && sizes.size() == 4) {
    run_lstm(sizes, flags);
  } else if (cmd == "encoder-layer" && sizes.size() == 4) {
    run_encoder_layer(sizes, flags);
  } else if (cmd == "bilstm-classifier" && sizes.size() == 2) {
    run_classifier<BiLstmClassifier>("bilstm_classifier", sizes, flags);
  } else if (cmd == "transformer-classifier" && sizes.size() == 2) {
    run_classifier<TransformerClassifier>("transformer_classifier", sizes, flags);
  } else {
    return false;
  }
  return true;
}

}  // namespace attn::bench
