#include "cli/seq2seq.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/data/line_stream.h"
#include "attn/io/atomic_file.h"
#include "attn/io/state.h"
#include "attn/tasks/seq2seq/seq2seq.h"
#include "attn/viz/heatmap.h"
#include "cli/flags.h"

namespace attn::cli {
namespace {

using tasks::seq2seq::DecodeConfig;
using tasks::seq2seq::Seq2SeqConfig;

struct TrainFlags {
  tasks::seq2seq::ParallelFiles train, valid;
  std::string output, config_path, task = "translate";
  bool resume = false, quiet = false, json = false, skip_bad = false;
  ConfigFlags<Seq2SeqConfig> config;
};

void add_train_flags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--src-train", f.train.source, "Training sources, one sentence per line (.gz read too)");
  cmd->add_option("--tgt-train", f.train.target, "Training targets, line-aligned with the sources");
  cmd->add_option("--train", f.train.tsv, "Training pairs as one TSV: source<TAB>target");
  cmd->add_option("--src-valid", f.valid.source, "Validation sources");
  cmd->add_option("--tgt-valid", f.valid.target, "Validation targets");
  cmd->add_option("--valid", f.valid.tsv, "Validation pairs as one TSV (default: 2% of the training pairs held out)");
  cmd->add_option("-o,--output", f.output, "Model directory to write")->required();
  cmd->add_option("--task", f.task, "translate, or summarize (long sources, short targets, ROUGE picks the best epoch)")
      ->check(CLI::IsMember({"translate", "summarize"}))
      ->capture_default_str();
  cmd->add_option("--config", f.config_path, "JSON config (as in a model's config.json); flags override it")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--resume", f.resume, "Continue an interrupted run from <output>.checkpoint");
  cmd->add_flag("-q,--quiet", f.quiet, "No progress output");
  cmd->add_flag("--json", f.json, "Print the validation metrics as one JSON object");
  cmd->add_flag("--skip-bad", f.skip_bad, "Skip (and count) pairs with invalid UTF-8 instead of failing");

  using C = Seq2SeqConfig;
  const C d;
  auto& c = f.config;
  c.add(cmd, "--model", "rnn-attn or transformer", d.model.kind, [](C& x, const std::string& v) { x.model.kind = v; })
      ->check(CLI::IsMember({"rnn-attn", "transformer"}));
  c.add(cmd, "--cell", "rnn-attn: gru or lstm", d.model.cell, [](C& x, const std::string& v) { x.model.cell = v; })
      ->check(CLI::IsMember({"gru", "lstm"}));
  c.add(cmd, "--attention-type", "rnn-attn: bahdanau (additive) or luong (general)", d.model.attention,
        [](C& x, const std::string& v) { x.model.attention = v; })
      ->check(CLI::IsMember({"bahdanau", "luong"}));
  c.add(cmd, "--embed-dim", "Embedding size (the Transformer's width)", d.model.embed_dim,
        [](C& x, int64_t v) { x.model.embed_dim = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--hidden", "rnn-attn: encoder output and decoder state size", d.model.hidden,
        [](C& x, int64_t v) { x.model.hidden = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--layers", "Encoder and decoder layers", d.model.encoder_layers, [](C& x, int64_t v) {
     x.model.encoder_layers = x.model.decoder_layers = v;
   })->check(kAtLeast1);
  c.add(cmd, "--encoder-layers", "Encoder layers", d.model.encoder_layers,
        [](C& x, int64_t v) { x.model.encoder_layers = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--decoder-layers", "Decoder layers", d.model.decoder_layers,
        [](C& x, int64_t v) { x.model.decoder_layers = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--heads", "Transformer attention heads", d.model.heads, [](C& x, int64_t v) { x.model.heads = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--ff-dim", "Transformer feed-forward size", d.model.ff_dim, [](C& x, int64_t v) { x.model.ff_dim = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--positions", "Transformer positions: sinusoidal or learned", d.model.positions,
        [](C& x, const std::string& v) { x.model.positions = v; })
      ->check(CLI::IsMember({"sinusoidal", "learned"}));
  c.add_switch(cmd, "--post-ln", "Transformer: LayerNorm after each block (the original) instead of before",
               [](C& x) { x.model.norm_first = false; });
  c.add_switch(cmd, "--share-embeddings", "One embedding table for source and target (joint vocabulary)",
               [](C& x) { x.model.share_embeddings = true; });
  c.add_switch(cmd, "--untied-output", "A separate output layer instead of the target embedding",
               [](C& x) { x.model.tie_output = false; });
  c.add_switch(cmd, "--copy", "transformer: pointer-generator output that can copy source tokens (joint vocabulary)",
               [](C& x) { x.model.copy = true; });
  c.add(cmd, "--dropout", "Dropout", d.model.dropout, [](C& x, float v) { x.model.dropout = v; })->check(kDropout);
  c.add(cmd, "--subword", "unigram or bpe (SentencePiece), or words", d.subword.kind,
        [](C& x, const std::string& v) { x.subword.kind = v; })
      ->check(CLI::IsMember({"unigram", "bpe", "words"}));
  c.add(cmd, "--vocab-size", "Subword vocabulary size", d.subword.vocab_size,
        [](C& x, int64_t v) { x.subword.vocab_size = v; })
      ->check(number(">=16", ">= 16", [](double v) { return v >= 16; }));
  c.add_switch(cmd, "--separate-vocab", "Separate source and target vocabularies", [](C& x) { x.subword.joint = false; });
  c.add(cmd, "--min-count", "words: rarer words become <unk>", d.subword.min_count,
        [](C& x, int64_t v) { x.subword.min_count = v; })
      ->check(kAtLeast1);
  add_optimization_flags(c, cmd, d.train, {"constant", "linear", "cosine", "inverse_sqrt"});
  c.add(cmd, "--batch-tokens", "Padded source + target tokens per step", d.train.batch_tokens,
        [](C& x, int64_t v) { x.train.batch_tokens = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--label-smoothing", "Label smoothing", d.train.label_smoothing,
        [](C& x, float v) { x.train.label_smoothing = v; })
      ->check(kDropout);
  c.add(cmd, "--max-source-length", "Source subwords kept (longer ones are cut, counted and reported)",
        d.train.max_source_length, [](C& x, int64_t v) { x.train.max_source_length = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--max-target-length", "Target subwords kept in training", d.train.max_target_length,
        [](C& x, int64_t v) { x.train.max_target_length = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--valid-metric", "What picks the best epoch: bleu, chrf, rougeL or loss", d.train.valid_metric,
        [](C& x, const std::string& v) { x.train.valid_metric = v; })
      ->check(CLI::IsMember({"bleu", "chrf", "rougeL", "loss"}));
  c.add(cmd, "--valid-sentences", "Validation sentences decoded each epoch (0: all)", d.train.valid_sentences,
        [](C& x, int64_t v) { x.train.valid_sentences = v; })
      ->check(kAtLeast0);
}

void print_metrics(const std::vector<std::pair<std::string, double>>& metrics, bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : metrics) j[k] = v;
    fmt::print("{}\n", j.dump());
    return;
  }
  for (const auto& [k, v] : metrics) fmt::print("{:<8} {:.4f}\n", k, v);
}

int run_train(const TrainFlags& f) {
  tasks::seq2seq::TrainRequest r;
  r.train = f.train;
  r.valid = f.valid;
  r.output_dir = f.output;
  r.resume = f.resume;
  r.progress = !f.quiet;
  r.read.skip_bad = f.skip_bad;
  if (f.task == "summarize") r.config = tasks::seq2seq::summarize_defaults();
  if (!f.config_path.empty()) tasks::seq2seq::apply_json(r.config, io::read_json(f.config_path), f.config_path);
  f.config.apply(r.config);
  const auto s = tasks::seq2seq::train_seq2seq(r);
  if (s.bad_pairs > 0) std::fprintf(stderr, "skipped %lld bad pairs\n", static_cast<long long>(s.bad_pairs));
  if (s.interrupted) return kExitInterrupted;
  if (!f.json) fmt::print("validation ({} pairs):\n", s.valid_pairs);
  print_metrics(s.valid, f.json);
  if (!f.quiet)
    std::fprintf(stderr, "model written to %s (%.1f s; training %.0f target tokens/s)\n", f.output.c_str(), s.seconds,
                 s.target_tokens_per_second);
  return 0;
}

// Decoding flags shared by test, translate and summarize; each overrides the model's own default when given.
struct DecodeFlags {
  ConfigFlags<DecodeConfig> decode;
  int64_t batch_size = 32;

  void add(CLI::App* cmd) {
    using D = DecodeConfig;
    const D d;
    decode.add(cmd, "--beam", "Beam size (1: greedy)", d.beam, [](D& x, int64_t v) { x.beam = v; })->check(kAtLeast1);
    decode.add(cmd, "--length-penalty", "Score = log-probability / length^penalty", d.length_penalty,
               [](D& x, float v) { x.length_penalty = v; })
        ->check(kAtLeast0);
    decode.add(cmd, "--max-length-ratio", "Output tokens at most ratio x source tokens + 10 (0: off)",
               d.max_length_ratio, [](D& x, float v) { x.max_length_ratio = v; })
        ->check(kAtLeast0);
    decode.add(cmd, "--max-length", "Output tokens at most", d.max_length, [](D& x, int64_t v) { x.max_length = v; })
        ->check(kAtLeast1);
    decode.add(cmd, "--min-length", "Output tokens at least", d.min_length, [](D& x, int64_t v) { x.min_length = v; })
        ->check(kAtLeast0);
    decode.add(cmd, "--no-repeat-ngram", "No n-gram of this many tokens twice in an output (0: off)",
               d.no_repeat_ngram, [](D& x, int64_t v) { x.no_repeat_ngram = v; })
        ->check(kAtLeast0);
    cmd->add_option("--batch-size", batch_size, "Sentences decoded together")->check(kAtLeast1)->capture_default_str();
  }

  tasks::seq2seq::GenerateOptions options(const tasks::seq2seq::Seq2Seq& model) const {
    tasks::seq2seq::GenerateOptions o;
    o.decode = model.config().decode;
    decode.apply(o.decode);
    o.batch_size = batch_size;
    return o;
  }
};

struct TestFlags {
  std::string model, output;
  tasks::seq2seq::ParallelFiles data;
  bool json = false;
  DecodeFlags decode;
};

int run_test(const TestFlags& f) {
  const auto model = tasks::seq2seq::Seq2Seq::load(f.model);
  data::ParallelReadReport report;
  const auto pairs = tasks::seq2seq::read_pairs(f.data, {}, &report);
  ATTN_CHECK(!pairs.empty(), "no sentence pairs to score");
  if (report.empty > 0) std::fprintf(stderr, "skipped %zu pairs with an empty side\n", report.empty);
  std::vector<std::string> sources, references, outputs;
  for (const auto& p : pairs) sources.push_back(p.source), references.push_back(p.target);
  for (auto& g : model.generate(sources, f.decode.options(model))) outputs.push_back(std::move(g.texts.at(0)));
  if (!f.output.empty()) {
    std::string text;
    for (const auto& o : outputs) text += o + "\n";
    io::write_file_atomic(f.output, text);
  }
  print_metrics(tasks::seq2seq::score_texts(outputs, references), f.json);
  return 0;
}

struct ScoreFlags {
  std::string hypotheses, references;
  bool json = false;
};

std::vector<std::string> read_lines(const std::string& path) {
  data::LineStream in(path);
  std::vector<std::string> out;
  std::string line;
  while (in.next(line)) out.push_back(std::move(line));
  return out;
}

int run_score(const ScoreFlags& f) {
  const auto hypotheses = read_lines(f.hypotheses), references = read_lines(f.references);
  ATTN_CHECK(hypotheses.size() == references.size(), "{} has {} lines but {} has {}: outputs and references must be "
             "line-aligned", f.hypotheses, hypotheses.size(), f.references, references.size());
  ATTN_CHECK(!hypotheses.empty(), "{}: no lines to score", f.hypotheses);
  print_metrics(tasks::seq2seq::score_texts(hypotheses, references), f.json);
  return 0;
}

struct GenerateFlags {
  std::string model, input = "-", attention_path;
  int64_t n_best = 1, attention_layer = -1, attention_head = -1;
  bool json = false;
  DecodeFlags decode;
};

// Alignment heatmaps: one HTML page, one SVG per sentence (name-1.svg, ...), or JSON lines.
void write_attention(const std::string& path, const std::vector<viz::MatrixWeights>& pages, const std::string& title) {
  const std::filesystem::path p(path);
  const std::string ext = p.extension().string();
  if (ext == ".html" || ext == ".htm") {
    io::write_file_atomic(path, viz::matrix_heatmap_html(pages, title));
  } else if (ext == ".svg") {
    for (size_t i = 0; i < pages.size(); ++i) {
      std::filesystem::path one = p;
      if (pages.size() > 1) one.replace_filename(fmt::format("{}-{}.svg", p.stem().string(), i + 1));
      io::write_file_atomic(one.string(), viz::matrix_heatmap_svg(pages[i]));
    }
  } else {
    std::string lines;
    for (const auto& m : pages)
      lines += nlohmann::json({{"source", m.col_tokens}, {"target", m.row_tokens}, {"weights", m.weights}}).dump() + "\n";
    io::write_file_atomic(path, lines);
  }
  std::fprintf(stderr, "attention written to %s\n", path.c_str());
}

int run_generate(const GenerateFlags& f, const char* verb) {
  const auto model = tasks::seq2seq::Seq2Seq::load(f.model);
  auto options = f.decode.options(model);
  ATTN_CHECK(f.n_best <= options.decode.beam, "--n-best {} needs a beam of at least that size (--beam {})", f.n_best,
             options.decode.beam);
  options.n_best = f.n_best;
  options.attention = !f.attention_path.empty();
  options.attention_layer = f.attention_layer;
  options.attention_head = f.attention_head;
  const std::string ext = std::filesystem::path(f.attention_path).extension().string();
  ATTN_CHECK(f.attention_path.empty() || ext == ".html" || ext == ".htm" || ext == ".svg" || ext == ".json" ||
                 ext == ".jsonl",
             "--attention {}: name an .html, .svg or .json file", f.attention_path);
  std::vector<viz::MatrixWeights> pages;
  int64_t truncated = 0;
  std::vector<std::string> chunk;
  auto answer = [&] {
    if (chunk.empty()) return;
    const auto results = model.generate(chunk, options);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& g = results[i];
      truncated += g.truncated;
      if (f.json) {
        fmt::print("{}\n", nlohmann::json({{"outputs", g.texts}, {"scores", g.scores}}).dump());
      } else if (f.n_best > 1) {
        for (size_t k = 0; k < g.texts.size(); ++k) fmt::print("{}\t{:.4f}\t{}\n", k + 1, g.scores[k], g.texts[k]);
      } else {
        fmt::print("{}\n", g.texts.at(0));
      }
      if (options.attention && !g.attention.empty())
        pages.push_back({fmt::format("{}: {}", pages.size() + 1, chunk[i]), g.target_pieces, g.source_pieces,
                         g.attention});
    }
    flush_stdout();  // streaming: each chunk's outputs leave at once
    chunk.clear();
  };
  data::LineStream in(f.input);
  in.set_on_wait(answer);
  std::string line;
  while (in.next(line)) {
    chunk.push_back(std::move(line));
    if (int64_t(chunk.size()) == 4 * options.batch_size) answer();
  }
  answer();
  if (truncated > 0)
    std::fprintf(stderr, "warning: %lld inputs longer than %lld subwords were cut\n", static_cast<long long>(truncated),
                 static_cast<long long>(model.config().train.max_source_length));
  if (options.attention) write_attention(f.attention_path, pages, fmt::format("attn {}: {}", verb, f.model));
  return 0;
}

void add_generate_flags(CLI::App* cmd, GenerateFlags& f) {
  cmd->add_option("model", f.model, "Model directory")->required();
  cmd->add_option("input", f.input, "Texts, one per line (a file, .gz read too, or - for stdin)")->capture_default_str();
  cmd->add_option("--n-best", f.n_best, "Outputs per input, best first: 'rank<TAB>score<TAB>text' lines")
      ->check(kAtLeast1)
      ->capture_default_str();
  cmd->add_option("--attention", f.attention_path,
                  "Write source-target attention: an .html page, .svg images (one per input) or .json lines");
  cmd->add_option("--attention-layer", f.attention_layer, "transformer: decoder layer shown (-1: the last)")
      ->capture_default_str();
  cmd->add_option("--attention-head", f.attention_head, "transformer: attention head shown (-1: the mean of all)")
      ->capture_default_str();
  cmd->add_flag("--json", f.json, "One JSON object per input: outputs and scores");
  f.decode.add(cmd);
}

}  // namespace

std::function<int()> add_seq2seq_commands(CLI::App& app) {
  auto* command = app.add_subcommand("seq2seq", "Sequence-to-sequence models (translation, summarisation): train, test, "
                                                "score");
  command->require_subcommand(1);
  auto train = std::make_shared<TrainFlags>();
  auto* train_cmd = command->add_subcommand("train", "Train an encoder-decoder from sentence pairs and write a model "
                                                     "directory");
  add_train_flags(train_cmd, *train);
  train_cmd->callback([train] {
    if (train->train.empty()) throw CLI::ValidationError("training data", "give --src-train and --tgt-train, or --train");
  });
  auto test = std::make_shared<TestFlags>();
  auto* test_cmd = command->add_subcommand("test", "Decode sources and score the output: BLEU, chrF, ROUGE-1/2/L");
  test_cmd->add_option("model", test->model, "Model directory")->required();
  test_cmd->add_option("--src", test->data.source, "Sources, one per line");
  test_cmd->add_option("--ref", test->data.target, "References, line-aligned with the sources");
  test_cmd->add_option("--tsv", test->data.tsv, "Pairs as one TSV: source<TAB>reference");
  test_cmd->add_option("--output", test->output, "Also write the outputs to this file");
  test_cmd->add_flag("--json", test->json, "Print the metrics as one JSON object");
  test->decode.add(test_cmd);
  test_cmd->callback([test] {
    if (test->data.empty()) throw CLI::ValidationError("data", "give --src and --ref, or --tsv");
  });

  auto score = std::make_shared<ScoreFlags>();
  auto* score_cmd = command->add_subcommand("score", "Score any outputs against references: BLEU (sacreBLEU), chrF, "
                                                     "ROUGE-1/2/L");
  score_cmd->add_option("hypotheses", score->hypotheses, "Outputs, one per line (- for stdin)")->required();
  score_cmd->add_option("references", score->references, "References, line-aligned")->required();
  score_cmd->add_flag("--json", score->json, "Print the metrics as one JSON object");

  auto translate = std::make_shared<GenerateFlags>();
  auto* translate_cmd = app.add_subcommand("translate", "Translate text with a seq2seq model, one sentence per line");
  add_generate_flags(translate_cmd, *translate);
  auto summarize = std::make_shared<GenerateFlags>();
  auto* summarize_cmd = app.add_subcommand("summarize", "Summarise text with a seq2seq model, one document per line");
  add_generate_flags(summarize_cmd, *summarize);

  return [=]() -> int {
    if (*train_cmd) return run_train(*train);
    if (*test_cmd) return run_test(*test);
    if (*score_cmd) return run_score(*score);
    if (*translate_cmd) return run_generate(*translate, "translate");
    if (*summarize_cmd) return run_generate(*summarize, "summarize");
    return -1;
  };
}

}  // namespace attn::cli
