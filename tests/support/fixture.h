// PyTorch parity fixtures (tests/fixtures/**.safetensors, written by tests/fixtures/tools/gen_*.py): named
// tensors param.*, input.*, output.*, out_weight.*, grad.*, grad_input.*, lengths.*.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/io/safetensors.h"
#include "attn/nn/module.h"
#include "support/test_util.h"

namespace attn::testing {

class Fixture {
 public:
  explicit Fixture(const std::string& relative_path) {
    for (auto& [name, t] : io::load_safetensors(std::string(ATTN_TEST_DATA_DIR) + "/fixtures/" + relative_path)) {
      tensors_[name] = t;
    }
  }
  const Tensor& operator[](const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("fixture has no tensor '" + name + "'");
    return it->second;
  }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  std::vector<int32_t> ints(const std::string& name) const {
    std::vector<int32_t> out;
    for (float f : (*this)[name].to_vector()) out.push_back(int32_t(f));
    return out;
  }
  // Copies every param.<name> into the module's parameter of that name; all must match in name and shape.
  void load_into(nn::Module& m) const {
    for (auto& [name, v] : m.named_parameters()) {
      const Tensor& src = (*this)["param." + name];
      ASSERT_EQ(src.shape(), v.shape()) << name;
      Tensor dst = v.value();
      dst.copy_from(src);
    }
  }
  // The module's parameter gradients against grad.<name>.
  void expect_param_grads(const nn::Module& m, double rtol = 1e-4, double atol = 1e-5) const {
    for (auto& [name, v] : m.named_parameters()) {
      ASSERT_TRUE(v.grad().defined()) << name;
      EXPECT_TRUE(close(v.grad(), (*this)["grad." + name], rtol, atol)) << "grad." << name;
    }
  }
  static ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol = 1e-4,
                                          double atol = 1e-5) {
    if (got.shape() != want.shape()) {
      return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
    }
    std::vector<float> w = want.to_vector();
    return all_close(got.to_vector(), std::vector<double>(w.begin(), w.end()), rtol, atol);
  }

 private:
  std::map<std::string, Tensor> tensors_;
};

}  // namespace attn::testing
