#include "cli/classify.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/data/text_dataset.h"
#include "attn/io/atomic_file.h"
#include "attn/io/state.h"
#include "attn/metrics/classification.h"
#include "attn/tasks/classify/classifier.h"
#include "attn/viz/heatmap.h"
#include "cli/flags.h"

namespace attn::cli {
namespace {

using tasks::classify::ClassifyConfig;

// How the data files are read: shared by every verb.
struct ReadFlags {
  std::string format = "auto";
  std::string label_column;
  std::vector<std::string> text_columns;
  bool header = false, no_header = false, skip_bad = false;

  void add(CLI::App* cmd) {
    cmd->add_option("--format", format, "Input format: auto, csv, tsv, fasttext, jsonl, folder")
        ->check(CLI::IsMember({"auto", "csv", "tsv", "fasttext", "jsonl", "folder"}))
        ->capture_default_str();
    cmd->add_option("--label-column", label_column, "CSV/TSV label column: header name or 1-based index");
    cmd->add_option("--text-column", text_columns,
                    "CSV/TSV text column(s), name or 1-based index; several are joined (e.g. title and description)");
    auto* h = cmd->add_flag("--header", header, "The CSV/TSV file has a header row (default: detected)");
    cmd->add_flag("--no-header", no_header, "The CSV/TSV file has no header row")->excludes(h);
    cmd->add_flag("--skip-bad", skip_bad, "Skip (and count) rows with invalid UTF-8 or broken fields instead of failing");
  }

  data::TextReadOptions options(bool require_label) const {
    data::TextReadOptions o;
    static const std::pair<const char*, data::TextFormat> kFormats[] = {
        {"auto", data::TextFormat::Auto},         {"csv", data::TextFormat::Csv},     {"tsv", data::TextFormat::Tsv},
        {"fasttext", data::TextFormat::FastText}, {"jsonl", data::TextFormat::Jsonl}, {"folder", data::TextFormat::Folder}};
    for (const auto& [name, f] : kFormats)
      if (format == name) o.format = f;
    o.label_column = label_column;
    o.text_columns = text_columns;
    if (header) o.header = true;
    if (no_header) o.header = false;
    o.skip_bad = skip_bad;
    o.require_label = require_label;
    return o;
  }
};

void print_report(const metrics::ClassificationReport& report, const std::vector<std::string>& labels, bool json) {
  if (json) {
    fmt::print("{}\n", metrics::to_json(report, labels).dump());
  } else {
    fmt::print("{}", metrics::format_report(report, labels));
  }
}

std::vector<size_t> top_k(const std::vector<float>& p, int k) {
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t n = std::min(order.size(), size_t(std::max(k, 1)));
  std::partial_sort(order.begin(), order.begin() + int64_t(n), order.end(),
                    [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  order.resize(n);
  return order;
}

// A folder-per-label dataset: read whole, as it cannot be streamed.
bool is_folder(const std::string& path) {
  std::error_code ec;
  return path != "-" && std::filesystem::is_directory(path, ec);
}

// Reads texts in chunks of up to `chunk` and hands each to `consume`. A chunk also ends when the input has
// nothing more to read yet (stdin from a pipe or terminal), so the answers to lines already given come at once.
// Returns how many bad rows --skip-bad passed over.
size_t for_each_chunk(const std::string& path, const data::TextReadOptions& options, size_t chunk,
                    const std::function<void(std::vector<data::TextExample>&)>& consume) {
  if (is_folder(path)) {
    data::TextReadReport report;
    std::vector<data::TextExample> all = data::read_text_dataset(path, options, &report);
    for (size_t i = 0; i < all.size(); i += chunk) {
      const auto from = all.begin() + int64_t(i), to = all.begin() + int64_t(std::min(i + chunk, all.size()));
      std::vector<data::TextExample> part(std::make_move_iterator(from), std::make_move_iterator(to));
      consume(part);
    }
    return report.skipped;
  }
  data::TextExampleStream stream(path, options);
  std::vector<data::TextExample> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    consume(batch);
    batch.clear();
  };
  stream.set_on_wait(flush);
  data::TextExample e;
  while (stream.next(e)) {
    batch.push_back(std::move(e));
    if (batch.size() == chunk) flush();
  }
  flush();
  return stream.report().skipped;
}

// --skip-bad says what it passed over even with --quiet: a silent loss of data would surprise.
void report_skipped(size_t skipped) {
  if (skipped > 0) std::fprintf(stderr, "skipped %zu bad rows\n", skipped);
}

struct TrainFlags {
  std::string train_path, valid_path, output, config_path;
  bool resume = false, quiet = false, json = false;
  ReadFlags read;
  ConfigFlags<ClassifyConfig> config;
};


void add_train_flags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("train", f.train_path, "Training data: a file (CSV, TSV, fastText, JSONL; .gz read too), a "
                                         "folder-per-label directory, or - for stdin")
      ->required();
  cmd->add_option("-o,--output", f.output, "Model directory to write")->required();
  cmd->add_option("--valid", f.valid_path, "Validation data (default: a stratified split of the training data)");
  cmd->add_option("--config", f.config_path, "JSON config (as in a model's config.json); flags override it")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--resume", f.resume, "Continue an interrupted run from <output>.checkpoint");
  cmd->add_flag("-q,--quiet", f.quiet, "No progress output");
  cmd->add_flag("--json", f.json, "Print the validation metrics as one JSON object");
  f.read.add(cmd);

  using C = ClassifyConfig;
  const C d;
  auto& c = f.config;
  // Model.
  c.add(cmd, "--model", "bilstm-attn, gru-attn, transformer or tfidf",
        std::string(tasks::classify::model_kind_name(d.model.kind)),
        [](C& x, const std::string& v) { x.model.kind = tasks::classify::parse_model_kind(v); })
      ->check(CLI::IsMember({"bilstm-attn", "gru-attn", "transformer", "tfidf"}));
  c.add(cmd, "--embed-dim", "Embedding size (the Transformer's width)", d.model.embed_dim,
        [](C& x, int64_t v) { x.model.embed_dim = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--hidden", "LSTM/GRU state size per direction", d.model.hidden, [](C& x, int64_t v) { x.model.hidden = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--layers", "Recurrent or Transformer layers", d.model.layers, [](C& x, int64_t v) { x.model.layers = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--heads", "Transformer attention heads", d.model.heads, [](C& x, int64_t v) { x.model.heads = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--ff-dim", "Transformer feed-forward size", d.model.ff_dim, [](C& x, int64_t v) { x.model.ff_dim = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--attention-dim", "Attention pooling size (0: the encoder's width)", d.model.attention_dim,
        [](C& x, int64_t v) { x.model.attention_dim = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--pool", "attention, or attention-max: also each feature's maximum over the tokens", d.model.pool,
        [](C& x, const std::string& v) { x.model.pool = v; })
      ->check(CLI::IsMember({"attention", "attention-max"}));
  c.add(cmd, "--ensemble", "Train this many networks (seeds seed, seed + 1, ...) and average their probabilities",
        d.model.ensemble, [](C& x, int64_t v) { x.model.ensemble = v; })
      ->check(number("[1,100]", "in [1, 100]", [](double v) { return v >= 1 && v <= 100; }));
  c.add(cmd, "--dropout", "Dropout between layers", d.model.dropout, [](C& x, float v) { x.model.dropout = v; })
      ->check(kDropout);
  c.add(cmd, "--embed-dropout", "Dropout on the embeddings", d.model.embed_dropout,
        [](C& x, float v) { x.model.embed_dropout = v; })
      ->check(kDropout);
  c.add(cmd, "--word-dropout", "Share of tokens replaced by <unk> in training", d.model.word_dropout,
        [](C& x, float v) { x.model.word_dropout = v; })
      ->check(kDropout);
  c.add(cmd, "--ngrams",
        "Longest word n-gram: tfidf's features (default 2); neural models add hashed n-gram embeddings (default 1)",
        d.model.word_ngrams, [](C& x, int64_t v) { x.model.tfidf.ngram_max = int(v), x.model.word_ngrams = v; })
      ->check(number("[1,5]", "in [1, 5]", [](double v) { return v >= 1 && v <= 5; }));
  c.add(cmd, "--buckets", "Rows of the hashed n-gram embedding table (neural models with --ngrams > 1)",
        d.model.ngram_buckets, [](C& x, int64_t v) { x.model.ngram_buckets = v; })
      ->check(number("[1,2^31)", "in [1, 2^31)", [](double v) { return v >= 1 && v < 2147483648.0; }));
  // Text.
  c.add(cmd, "--tokenizer", "words (space-delimited text; CJK per character), chars, or sentencepiece",
        std::string(text::to_string(d.preprocess.tokenizer)),
        [](C& x, const std::string& v) { x.preprocess.tokenizer = text::tokenizer_kind_from_string(v); })
      ->check(CLI::IsMember({"words", "chars", "sentencepiece"}));
  c.add(cmd, "--sp-vocab", "SentencePiece pieces", d.preprocess.sentencepiece_vocab,
        [](C& x, int64_t v) { x.preprocess.sentencepiece_vocab = v; })
      ->check(number(">=16", ">= 16", [](double v) { return v >= 16; }));
  c.add(cmd, "--stop-words", "Remove stop words: en or zh", std::string(),
        [](C& x, const std::string& v) { x.preprocess.stop_words = v; })
      ->check(CLI::IsMember({"", "en", "zh"}));
  c.add(cmd, "--min-count", "Vocabulary: drop tokens seen fewer times", d.preprocess.min_count,
        [](C& x, int64_t v) { x.preprocess.min_count = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--max-vocab", "Vocabulary size limit (0: none)", d.preprocess.max_vocab,
        [](C& x, int64_t v) { x.preprocess.max_vocab = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--max-length", "Tokens kept per text", d.preprocess.max_length,
        [](C& x, int64_t v) { x.preprocess.max_length = v; })
      ->check(kAtLeast1);
  c.add_switch(cmd, "--keep-case", "Do not lowercase", [](C& x) { x.preprocess.clean.lowercase = false; });
  c.add_switch(cmd, "--keep-markup", "Keep HTML tags and entities", [](C& x) { x.preprocess.clean.strip_markup = false; });
  c.add_switch(cmd, "--keep-urls", "Keep URLs and e-mail addresses as they are", [](C& x) {
    x.preprocess.clean.replace_urls = false;
    x.preprocess.clean.replace_emails = false;
  });
  c.add_switch(cmd, "--replace-numbers", "Replace numbers by <num>",
               [](C& x) { x.preprocess.clean.replace_numbers = true; });
  c.add_switch(cmd, "--no-nfkc", "Skip Unicode NFKC normalisation", [](C& x) { x.preprocess.clean.nfkc = false; });
  // Training.
  add_optimization_flags(c, cmd, d.train, {"constant", "linear", "cosine"});
  c.add(cmd, "--pretrain-epochs",
        "First train the embedding and BiLSTM/BiGRU as a language model on the training texts for this many epochs",
        d.train.pretrain_epochs, [](C& x, int64_t v) { x.train.pretrain_epochs = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--pretrain-lr", "Peak learning rate of the pretraining", d.train.pretrain_lr,
        [](C& x, float v) { x.train.pretrain_lr = v; })
      ->check(kPositive);
  c.add(cmd, "--pretrain-dropout", "Embedding and output dropout of the pretraining", d.train.pretrain_dropout,
        [](C& x, float v) { x.train.pretrain_dropout = v; })
      ->check(kDropout);
  c.add(cmd, "--pretrain-vocab",
        "Tokens the pretraining predicts (the most frequent; its output layer, most of its cost, grows with them)",
        d.train.pretrain_vocab, [](C& x, int64_t v) { x.train.pretrain_vocab = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--batch-size", "Examples per step", d.train.batch_size, [](C& x, int64_t v) { x.train.batch_size = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--valid-fraction", "Held-out share when no --valid file is given", d.train.valid_fraction,
        [](C& x, double v) { x.train.valid_fraction = v; })
      ->check(number("(0,1)", "in (0, 1)", [](double v) { return v > 0 && v < 1; }));
}

int run_train(const TrainFlags& f) {
  tasks::classify::TrainRequest r;
  r.train_path = f.train_path;
  r.valid_path = f.valid_path;
  r.output_dir = f.output;
  r.resume = f.resume;
  r.progress = !f.quiet;
  r.read = f.read.options(/*require_label=*/true);
  if (!f.config_path.empty()) tasks::classify::apply_json(r.config, io::read_json(f.config_path), f.config_path);
  f.config.apply(r.config);
  tasks::classify::TrainSummary s = tasks::classify::train_classifier(r);
  report_skipped(size_t(s.skipped));
  if (s.interrupted) return kExitInterrupted;
  if (!f.json) fmt::print("validation ({} examples):\n", s.valid_examples);
  print_report(s.valid, s.labels, f.json);
  if (!f.quiet)
    std::fprintf(stderr, "model written to %s (%.1f s; training %.0f examples/s%s)\n", f.output.c_str(), s.seconds,
                 s.examples_per_second,
                 s.tokens_per_second > 0 ? fmt::format(", {:.0f} tokens/s", s.tokens_per_second).c_str() : "");
  return 0;
}

struct TestFlags {
  std::string model, data;
  bool json = false;
  ReadFlags read;
};

int run_test(const TestFlags& f) {
  auto model = tasks::classify::Classifier::load(f.model);
  data::TextReadReport report;
  auto examples = data::read_text_dataset(f.data, f.read.options(true), &report);
  ATTN_CHECK(!examples.empty(), "{}: no examples", f.data);
  print_report(tasks::classify::evaluate(model, examples), model.labels(), f.json);
  report_skipped(report.skipped);
  return 0;
}

struct PredictFlags {
  std::string model, input = "-";
  int k = 1;
  bool json = false;
  ReadFlags read;
};

int run_predict(const PredictFlags& f) {
  auto model = tasks::classify::Classifier::load(f.model);
  const auto& labels = model.labels();
  auto answer = [&](std::vector<data::TextExample>& chunk) {
    std::vector<std::string> texts;
    std::vector<bool> blank;  // a blank input line gets an empty answer, so answer i is for line i
    for (auto& e : chunk) {
      blank.push_back(e.text.empty() && e.label.empty());
      if (!blank.back()) texts.push_back(std::move(e.text));
    }
    const auto probabilities = model.predict_proba(texts);
    auto p = probabilities.begin();
    for (bool b : blank) {
      if (b) {
        fmt::print("{}\n", f.json ? R"({"labels":[],"probabilities":[]})" : "");
        continue;
      }
      const auto top = top_k(*p, f.k);
      if (f.json) {
        nlohmann::json j = {{"labels", nlohmann::json::array()}, {"probabilities", nlohmann::json::array()}};
        for (size_t c : top) {
          j["labels"].push_back(labels[c]);
          j["probabilities"].push_back((*p)[c]);
        }
        fmt::print("{}\n", j.dump());
      } else {
        std::string line;
        for (size_t c : top) line += fmt::format("{}{}\t{:.4f}", line.empty() ? "" : "\t", labels[c], (*p)[c]);
        fmt::print("{}\n", line);
      }
      ++p;
    }
    flush_stdout();  // streaming: each chunk's answers leave at once
  };
  data::TextReadOptions options = f.read.options(false);
  options.keep_blank = true;
  report_skipped(for_each_chunk(f.input, options, 256, answer));
  return 0;
}

struct ExplainFlags {
  std::string model, input;
  std::vector<std::string> texts;
  std::string html, svg;
  int limit = 20;
  bool json = false, no_color = false;
  ReadFlags read;
};

int run_explain(const ExplainFlags& f) {
  auto model = tasks::classify::Classifier::load(f.model);
  const auto& labels = model.labels();
  std::vector<data::TextExample> examples;
  for (const auto& t : f.texts) examples.push_back({t, "", "--text"});
  if (is_folder(f.input)) {
    for (auto& e : data::read_text_dataset(f.input, f.read.options(false))) {
      if (int64_t(examples.size()) == f.limit) break;
      examples.push_back(std::move(e));
    }
  } else if (!f.input.empty()) {
    data::TextExampleStream stream(f.input, f.read.options(false));
    data::TextExample e;
    while (int64_t(examples.size()) < f.limit && stream.next(e)) examples.push_back(std::move(e));
  }
  std::vector<std::string> texts;
  for (const auto& e : examples) texts.push_back(e.text);
  const auto explanations = model.explain(texts);
  std::vector<viz::TokenWeights> pages;
  const bool color = !f.no_color && isatty(STDOUT_FILENO);
  for (size_t i = 0; i < explanations.size(); ++i) {
    const auto& x = explanations[i];
    const size_t best = top_k(x.probabilities, 1)[0];
    std::string title = fmt::format("predicted: {} ({:.3f})", labels[best], x.probabilities[best]);
    if (!examples[i].label.empty()) title += fmt::format(", true: {}", examples[i].label);
    viz::TokenWeights tw{title, x.tokens, x.weights};
    if (f.json) {
      nlohmann::json j = {{"label", labels[best]},  {"probability", x.probabilities[best]},
                          {"tokens", x.tokens},     {"weights", x.weights}};
      if (!examples[i].label.empty()) j["true_label"] = examples[i].label;
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("{}\n", viz::token_heatmap_ansi(tw, color));  // the title, then the tokens
    }
    pages.push_back(std::move(tw));
  }
  const std::string page_title = fmt::format("attn classify explain: {}", f.model);
  if (!f.html.empty()) {
    io::write_file_atomic(f.html, viz::token_heatmap_html(pages, page_title));
    std::fprintf(stderr, "heatmap written to %s\n", f.html.c_str());
  }
  if (!f.svg.empty()) {
    io::write_file_atomic(f.svg, viz::token_heatmap_svg(pages, page_title));
    std::fprintf(stderr, "heatmap written to %s\n", f.svg.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> add_classify_command(CLI::App& app, CLI::App*& command) {
  command = app.add_subcommand("classify", "Text classification: train, test, predict, explain");
  command->require_subcommand(1);

  auto train = std::make_shared<TrainFlags>();
  auto* train_cmd = command->add_subcommand("train", "Train a classifier from labelled text and write a model directory");
  add_train_flags(train_cmd, *train);

  auto test = std::make_shared<TestFlags>();
  auto* test_cmd = command->add_subcommand("test", "Score a model on labelled data: accuracy, precision/recall/F1, "
                                                   "confusion matrix");
  test_cmd->add_option("model", test->model, "Model directory")->required();
  test_cmd->add_option("data", test->data, "Labelled data (as for train; - for stdin)")->required();
  test_cmd->add_flag("--json", test->json, "Print the metrics as one JSON object");
  test->read.add(test_cmd);

  auto predict = std::make_shared<PredictFlags>();
  auto* predict_cmd = command->add_subcommand("predict", "Print the top labels with probabilities, one line per text");
  predict_cmd->add_option("model", predict->model, "Model directory")->required();
  predict_cmd->add_option("input", predict->input, "Texts: a file (one per line, or CSV/TSV/JSONL) or - for stdin")
      ->capture_default_str();
  predict_cmd->add_option("-k,--top", predict->k, "Labels per text")->check(kAtLeast1)->capture_default_str();
  predict_cmd->add_flag("--json", predict->json, "One JSON object per line");
  predict->read.add(predict_cmd);

  auto explain = std::make_shared<ExplainFlags>();
  auto* explain_cmd = command->add_subcommand("explain", "Show which tokens the model attends to (terminal, HTML, "
                                                         "SVG or JSON)");
  explain_cmd->add_option("model", explain->model, "Model directory")->required();
  explain_cmd->add_option("input", explain->input, "Texts: a file or - for stdin");
  explain_cmd->add_option("--text", explain->texts, "A text to explain (repeatable)");
  explain_cmd->add_option("--html", explain->html, "Write a heatmap page to this file");
  explain_cmd->add_option("--svg", explain->svg, "Write a heatmap image to this file");
  explain_cmd->add_option("--limit", explain->limit, "Texts read from the input at most")
      ->check(kAtLeast1)
      ->capture_default_str();
  explain_cmd->add_flag("--json", explain->json, "One JSON object per text: tokens and weights");
  explain_cmd->add_flag("--no-color", explain->no_color, "Plain terminal output");
  explain->read.add(explain_cmd);
  explain_cmd->callback([explain] {
    if (explain->input.empty() && explain->texts.empty())
      throw CLI::ValidationError("input", "give a file (or - for stdin) or --text");
  });

  return [=]() -> int {
    if (*train_cmd) return run_train(*train);
    if (*test_cmd) return run_test(*test);
    if (*predict_cmd) return run_predict(*predict);
    if (*explain_cmd) return run_explain(*explain);
    return 2;
  };
}

}  // namespace attn::cli
