// attn_bench_tool's seq2seq figures, the attn side of `bench/run seq2seq`'s speed rows, the same shapes as
// bench/torch/seq2seq_torch.py:
//   rnn-attn-train B S T: one Adam step of the rnn-attn model (GRU, Bahdanau attention, embed = hidden = 256,
//     vocabularies of 8000, dropout 0.1) on random pairs, as target tokens/s.
//   transformer-decode B S L BEAM: beam search of B random sources of S tokens with the default transformer
//     (d 256, 3 + 3 layers, 4 heads, ff 1024, vocabularies of 8000), every output forced to L tokens, as
//     sentences/s.
#include <memory>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/optim/adam.h"
#include "attn/tasks/seq2seq/model.h"
#include "attn/tasks/seq2seq/search.h"
#include "figures.h"

namespace attn::bench {

const char* const kSeq2SeqUsage =
    "                       | rnn-attn-train B S T | transformer-decode B S L BEAM\n";

namespace {

using namespace tasks::seq2seq;
constexpr int64_t kVocab = 8000;

std::vector<std::vector<int32_t>> random_sequences(int64_t n, int64_t length, Rng& rng) {
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  for (auto& s : out)
    for (int64_t i = 0; i < length; ++i) s.push_back(int32_t(4 + rng.uniform_int(kVocab - 4)));
  return out;
}

void run_rnn_attn_train(int64_t B, int64_t S, int64_t T) {
  ModelConfig c;
  c.kind = "rnn-attn";
  c.embed_dim = c.hidden = 256;
  c.encoder_layers = c.decoder_layers = 1;
  c.tie_output = false;  // the reference has its own output layer
  c.dropout = 0.1f;
  Rng rng(1);
  auto model = build_model(c, kVocab, kVocab, rng);
  optim::Adam adam(model->named_parameters(), {});
  std::vector<Seq2SeqBatch> batches;
  for (int i = 0; i < 8; ++i) {
    auto src = random_sequences(B, S, rng), tgt = random_sequences(B, T - 1, rng);  // + </s> = T targets
    std::vector<const std::vector<int32_t>*> s, t;
    for (int64_t k = 0; k < B; ++k) s.push_back(&src[size_t(k)]), t.push_back(&tgt[size_t(k)]);
    batches.push_back(make_batch(s, t));
  }
  size_t k = 0;
  const double seconds = median_seconds([&] {
    adam.zero_grad();
    model->loss(batches[k++ % batches.size()], 0.0f).backward();
    adam.step();
  });
  emit("rnn_attn_train_B" + std::to_string(B) + "S" + std::to_string(S) + "T" + std::to_string(T) + "_tgt_tok_s",
       double(B * T) / seconds, "tokens/s");
}

void run_transformer_decode(int64_t B, int64_t S, int64_t L, int64_t beam) {
  ModelConfig c;  // the defaults: d 256, 3 + 3 layers, 4 heads, ff 1024
  Rng rng(1);
  auto model = build_model(c, kVocab, kVocab, rng);
  model->eval();
  const auto sources = random_sequences(B, S, rng);
  const std::vector<int64_t> lengths(static_cast<size_t>(B), S);
  SearchOptions o;
  o.bos = 2;
  o.eos = 3;
  o.beam_size = int(beam);
  o.min_length = o.max_length = int(L);  // the same work on both sides, whatever the random model prefers
  o.stopping = Stopping::kEarly;
  const double seconds = median_seconds([&] {
    auto decoder = model->start_decoding(sources);
    beam_search(*decoder, lengths, o);
  });
  emit("transformer_decode_beam" + std::to_string(beam) + "_B" + std::to_string(B) + "S" + std::to_string(S) + "L" +
           std::to_string(L) + "_sent_s",
       double(B) / seconds, "sentences/s");
}

}  // namespace

bool run_seq2seq_figure(const std::vector<std::string>& pos, const std::vector<int64_t>& sizes) {
  const std::string& cmd = pos[0];
  if (cmd == "rnn-attn-train" && sizes.size() == 3) {
    run_rnn_attn_train(sizes[0], sizes[1], sizes[2]);
  } else if (cmd == "transformer-decode" && sizes.size() == 4) {
    run_transformer_decode(sizes[0], sizes[1], sizes[2], sizes[3]);
  } else {
    return false;
  }
  return true;
}

}  // namespace attn::bench
