// Saving and loading modules (round trips, the exact errors for unknown, missing and mismatched names, loads that
// fail leaving the module untouched), a PyTorch state_dict loaded by name (float32 and BF16/F16) that reproduces
// PyTorch's output, and JSON config files.
#include "attn/io/state.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/linear.h"
#include "io/temp_dir.h"
#include "support/fixture.h"

namespace attn {
namespace {

using autograd::Var;
using testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no attn::Error)";
}

// Linear(in, hidden) -> LayerNorm -> Linear(hidden, out), registered as "0", "1", "2" like nn.Sequential.
class Mlp : public nn::Module {
 public:
  Mlp(int64_t in, int64_t hidden, int64_t out, Rng& rng)
      : l0(register_module("0", std::make_shared<nn::Linear>(in, hidden, rng))),
        l1(register_module("1", std::make_shared<nn::LayerNorm>(hidden))),
        l2(register_module("2", std::make_shared<nn::Linear>(hidden, out, rng))) {}
  Var forward(const Var& x) const { return l2->forward(l1->forward(l0->forward(x))); }
  std::shared_ptr<nn::Linear> l0;
  std::shared_ptr<nn::LayerNorm> l1;
  std::shared_ptr<nn::Linear> l2;
};

// A model with nesting and an optional extra layer, for name mismatches.
class Net : public nn::Module {
 public:
  Net(int64_t in, Rng& rng, bool extra = false, bool bias = true)
      : encoder(register_module("encoder", std::make_shared<nn::Linear>(in, 4, rng, bias))),
        head(register_module("head", std::make_shared<Mlp>(4, 5, 3, rng))) {
    if (extra) this->extra = register_module("extra", std::make_shared<nn::Linear>(3, 2, rng));
  }
  std::shared_ptr<nn::Linear> encoder;
  std::shared_ptr<Mlp> head;
  std::shared_ptr<nn::Linear> extra;
};

// Every parameter's values, in order, as raw bits.
std::vector<std::vector<float>> values_of(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, v] : m.named_parameters()) out.push_back(v.value().to_vector());
  return out;
}

bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

TEST(ModuleState, SaveLoadRoundTripKeepsTheParameterTensors) {
  TempDir dir;
  std::string path = dir.file("model.safetensors");
  Rng rng(1), other(2);
  Net saved(7, rng), loaded(7, other);
  ASSERT_FALSE(same_bits(values_of(saved), values_of(loaded)));
  io::save_module(saved, path, {{"task", "test"}});

  std::vector<const float*> storage;
  for (const auto& [name, v] : loaded.named_parameters()) storage.push_back(v.value().data());
  io::LoadReport report = io::load_module(loaded, path);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(same_bits(values_of(saved), values_of(loaded)));
  // Loaded into the same buffers, so that an optimiser holding them sees the new values.
  size_t i = 0;
  for (const auto& [name, v] : loaded.named_parameters()) EXPECT_EQ(v.value().data(), storage[i++]) << name;

  // The file is a plain safetensors file with the dotted names, in model order, and Hugging Face's format tag.
  io::SafetensorsFile f = io::read_safetensors(path);
  ASSERT_EQ(f.tensors.size(), saved.named_parameters().size());
  i = 0;
  for (const auto& [name, v] : saved.named_parameters()) EXPECT_EQ(f.tensors[i++].first, name);
  EXPECT_EQ(f.tensors[0].first, "encoder.weight");
  EXPECT_EQ(f.tensors.back().first, "head.2.bias");
  EXPECT_EQ(f.metadata, (io::Metadata{{"format", "pt"}, {"task", "test"}}));
  io::save_module(saved, path, {{"format", "mine"}});
  EXPECT_EQ(io::safetensors_metadata(path).at("format"), "mine");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(ModuleState, ShapeMismatchNamesTheParameterAndBothShapes) {
  TempDir dir;
  std::string path = dir.file("model.safetensors");
  Rng rng(3);
  Net eight(8, rng), nine(9, rng);
  io::save_module(eight, path);
  auto before = values_of(nine);
  EXPECT_EQ(error_of([&] { io::load_module(nine, path); }),
            path + ": parameter 'encoder.weight' has shape [4, 8] in the file but [4, 9] in the model");
  EXPECT_EQ(error_of([&] { io::load_module(nine, path, /*strict=*/false); }),
            path + ": parameter 'encoder.weight' has shape [4, 8] in the file but [4, 9] in the model");
  EXPECT_TRUE(same_bits(before, values_of(nine)));
}

TEST(ModuleState, MissingAndUnknownNamesGiveExactErrors) {
  TempDir dir;
  std::string small_path = dir.file("small.safetensors"), big_path = dir.file("big.safetensors");
  Rng rng(4);
  Net small(5, rng), big(5, rng, /*extra=*/true), no_bias(5, rng, false, /*bias=*/false);
  io::save_module(small, small_path);
  io::save_module(big, big_path);

  auto big_before = values_of(big);
  EXPECT_EQ(error_of([&] { io::load_module(big, small_path); }),
            small_path + ": 2 parameters are missing from the file: 'extra.weight', 'extra.bias'");
  EXPECT_TRUE(same_bits(big_before, values_of(big))) << "a failed load changes nothing";
  auto small_before = values_of(small);
  EXPECT_EQ(error_of([&] { io::load_module(small, big_path); }),
            big_path + ": 2 tensors in the file are not parameters of the model: 'extra.weight', 'extra.bias'");
  EXPECT_TRUE(same_bits(small_before, values_of(small)));
  EXPECT_EQ(error_of([&] { io::load_module(no_bias, small_path); }),
            small_path + ": tensor 'encoder.bias' in the file is not a parameter of the model");

  // Both at once: a file without encoder.bias and with extra.* (written by hand).
  std::string mixed = dir.file("mixed.safetensors");
  io::NamedTensors tensors;
  for (auto& [name, v] : big.named_parameters()) {
    if (name != "encoder.bias") tensors.emplace_back(name, v.value());
  }
  io::save_safetensors(mixed, tensors);
  Net target(5, rng);
  EXPECT_EQ(error_of([&] { io::load_module(target, mixed); }),
            mixed +
                ": parameter 'encoder.bias' is missing from the file; 2 tensors in the file are not parameters of "
                "the model: 'extra.weight', 'extra.bias'");

  // Not strict: what matches is loaded, the rest is reported and keeps its values.
  std::vector<float> bias_before = target.encoder->bias.value().to_vector();
  io::LoadReport r = io::load_module(target, mixed, /*strict=*/false);
  EXPECT_EQ(r.missing, std::vector<std::string>{"encoder.bias"});
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"extra.weight", "extra.bias"}));
  EXPECT_EQ(target.encoder->bias.value().to_vector(), bias_before);
  EXPECT_EQ(target.encoder->weight.value().to_vector(), big.encoder->weight.value().to_vector());
  EXPECT_EQ(target.head->l2->weight.value().to_vector(), big.head->l2->weight.value().to_vector());
}

TEST(ModuleState, LongListsAreShortened) {
  TempDir dir;
  std::string path = dir.file("empty.safetensors");
  io::save_safetensors(path, {});
  class Many : public nn::Module {
   public:
    Many() {
      for (int i = 0; i < 11; ++i) register_parameter("p" + std::to_string(i), Tensor::zeros({1}));
    }
  } many;
  EXPECT_EQ(error_of([&] { io::load_module(many, path); }),
            path +
                ": 11 parameters are missing from the file: 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', ... "
                "(3 more)");
}

TEST(ModuleState, ErrorsFromTheFileNameIt) {
  TempDir dir;
  Rng rng(5);
  Net net(3, rng);
  std::string missing = dir.file("none.safetensors");
  EXPECT_EQ(error_of([&] { io::load_module(net, missing); }),
            "cannot open '" + missing + "': No such file or directory");
  std::string corrupt = dir.file("corrupt.safetensors");
  io::write_file_atomic(corrupt, std::string(16, 'x'));
  EXPECT_NE(error_of([&] { io::load_module(net, corrupt); }).rfind(corrupt + ": header length", 0), std::string::npos);
}

// The PyTorch model of tests/fixtures/tools/gen_io_fixture.py, loaded by name.
TEST(ModuleState, LoadsAPyTorchStateDict) {
  testing::Fixture forward("io/torch_forward.safetensors");
  const std::string dir = std::string(ATTN_TEST_DATA_DIR) + "/fixtures/io/";
  Rng rng(6);
  Mlp model(3, 4, 2, rng);

  io::load_module(model, dir + "torch_state_dict.safetensors");
  EXPECT_EQ(io::safetensors_metadata(dir + "torch_state_dict.safetensors").at("format"), "pt");
  auto file = io::to_map(io::load_safetensors(dir + "torch_state_dict.safetensors"));
  for (const auto& [name, v] : model.named_parameters()) {
    EXPECT_EQ(v.value().to_vector(), file.at(name).to_vector()) << name;
  }
  Var y = model.forward(Var(forward["input"]));
  EXPECT_TRUE(testing::Fixture::close(y.value(), forward["output"], 1e-4, 1e-5));

  // BF16 (Linear) and F16 (LayerNorm) weights, widened exactly as PyTorch widens them.
  io::load_module(model, dir + "torch_state_dict_half.safetensors");
  for (const auto& [name, v] : model.named_parameters()) {
    EXPECT_EQ(v.value().to_vector(), forward["half." + name].to_vector()) << name;
  }
  y = model.forward(Var(forward["input"]));
  EXPECT_TRUE(testing::Fixture::close(y.value(), forward["output_half"], 1e-4, 1e-5));
}

TEST(JsonFiles, RoundTrip) {
  TempDir dir;
  std::string path = dir.file("config.json");
  nlohmann::json config = {{"model", {{"hidden", 64}, {"layers", 2}, {"dropout", 0.1}, {"norm", "pre"}}},
                           {"labels", {"negatif", "positif", "neutre ✓"}},
                           {"seed", 42},
                           {"tie", nullptr}};
  io::write_json_atomic(path, config);
  EXPECT_EQ(io::read_json(path), config);
  std::string text = io::read_file(path, 1 << 20);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\n  \"labels\""), std::string::npos) << "indented for people to read";
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"config.json"});
}

TEST(JsonFiles, ErrorsNameTheFileAndPosition) {
  TempDir dir;
  std::string path = dir.file("bad.json");
  io::write_file_atomic(path, "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}\n");
  EXPECT_EQ(error_of([&] { io::read_json(path); }).rfind(path + ": invalid JSON: parse error at line 3, column 14", 0),
            0u)
      << error_of([&] { io::read_json(path); });
  io::write_file_atomic(path, std::string("{\"a\": 1}\0 junk", 14));
  EXPECT_EQ(error_of([&] { io::read_json(path); }), path + ": invalid JSON: NUL byte at offset 8");
  io::write_file_atomic(path, std::string(1000000, '[') + std::string(1000000, ']'));
  EXPECT_EQ(error_of([&] { io::read_json(path); }), path + ": invalid JSON: nested more than 256 levels deep");
  io::write_file_atomic(path, std::string(256, '[') + std::string(256, ']'));
  EXPECT_NO_THROW(io::read_json(path));
  io::write_file_atomic(path, "");
  EXPECT_NE(error_of([&] { io::read_json(path); }).find(path + ": invalid JSON:"), std::string::npos);
  std::string missing = dir.file("missing.json");
  EXPECT_EQ(error_of([&] { io::read_json(missing); }), "cannot open '" + missing + "': No such file or directory");

  std::string out = dir.file("out.json");
  EXPECT_NE(error_of([&] {
              io::write_json_atomic(out, nlohmann::json{{"k", "\xff"}});
            }).find("cannot write '" + out + "': invalid UTF-8 byte"),
            std::string::npos);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"bad.json"});
}

}  // namespace
}  // namespace attn
