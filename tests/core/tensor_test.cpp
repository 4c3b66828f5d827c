#include "attn/core/tensor.h"

#include <gtest/gtest.h>

#include "attn/core/error.h"

namespace attn {
namespace {

Tensor iota(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = float(i);
  return t;
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000, 1 << 20}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u) << n;
  }
}

TEST(Tensor, ContiguousStridesAndNumel) {
  Tensor t = Tensor::zeros({2, 3, 5});
  EXPECT_EQ(t.strides(), (Shape{15, 5, 1}));
  EXPECT_EQ(t.numel(), 30);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.size(-1), 5);
}

TEST(Tensor, TransposeIsAViewWithSwappedStrides) {
  Tensor t = iota({2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_TRUE(tt.same_storage(t));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_EQ(tt.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  tt.at({2, 1}) = 42.0f;
  EXPECT_EQ(t.at({1, 2}), 42.0f);
}

TEST(Tensor, PermuteMatchesNestedLoops) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1}).contiguous();
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(p.at({a, b, c}), t.at({b, c, a}));
}

TEST(Tensor, SliceWithStepAndNegativeBounds) {
  Tensor t = iota({10});
  EXPECT_EQ(t.slice(0, 1, 8, 3).to_vector(), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(t.slice(0, -3, 10).to_vector(), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(t.slice(0, 5, 2).numel(), 0);
  Tensor m = iota({3, 4}).slice(1, 1, 3);
  EXPECT_EQ(m.to_vector(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
}

TEST(Tensor, SelectDropsTheDimension) {
  Tensor t = iota({3, 4});
  EXPECT_EQ(t.select(0, 1).to_vector(), (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ(t.select(1, -1).to_vector(), (std::vector<float>{3, 7, 11}));
}

TEST(Tensor, ReshapeViewsWhenContiguousAndCopiesOtherwise) {
  Tensor t = iota({4, 6});
  Tensor r = t.reshape({2, -1, 3});
  EXPECT_EQ(r.shape(), (Shape{2, 4, 3}));
  EXPECT_TRUE(r.same_storage(t));
  Tensor tr = t.transpose(0, 1).reshape({24});
  EXPECT_FALSE(tr.same_storage(t));
  EXPECT_EQ(tr.at({1}), 6.0f);
}

TEST(Tensor, CopyFromHandlesOverlappingViews) {
  Tensor t = iota({2, 2});
  t.copy_from(t.transpose(0, 1));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 2, 1, 3}));
}

// Big enough that copies and fills split over the threads: every element lands where the strides say.
TEST(Tensor, LargeCopiesAndFills) {
  const Tensor t = iota({8, 96, 3, 4, 32});  // a packed q/k/v projection, [B, L, 3, H, D]
  const Tensor p = t.permute({2, 0, 3, 1, 4}).contiguous();
  ASSERT_EQ(p.shape(), (Shape{3, 8, 4, 96, 32}));
  for (int64_t i = 0; i < p.numel(); i += 997) {
    int64_t r = i;
    const int64_t d = r % 32, l = (r /= 32) % 96, h = (r /= 96) % 4, b = (r /= 4) % 8, part = r / 8;
    ASSERT_EQ(p.data()[i], t.at({b, l, part, h, d})) << i;
  }
  Tensor back = Tensor::empty(t.shape());
  back.permute({2, 0, 3, 1, 4}).copy_from(p);  // strided destination
  EXPECT_EQ(back.to_vector(), t.to_vector());
  Tensor flat = Tensor::empty({t.numel()});
  flat.copy_from(t.reshape({-1}));
  EXPECT_EQ(flat.to_vector(), t.to_vector());
  Tensor column = iota({4000, 50}).slice(1, 7, 8);  // stride-50 run
  EXPECT_EQ(column.contiguous().at({3999, 0}), 3999.0f * 50 + 7);
  const Tensor full = Tensor::full({300, 700}, 2.5f);
  for (float v : full.to_vector()) ASSERT_EQ(v, 2.5f);
  Tensor shifted = iota({100000});  // overlapping views of one storage
  shifted.slice(0, 1, 100000).copy_from(shifted.slice(0, 0, 99999));
  EXPECT_EQ(shifted.at({0}), 0.0f);
  EXPECT_EQ(shifted.at({1}), 0.0f);
  EXPECT_EQ(shifted.at({99999}), 99998.0f);
}

TEST(Tensor, BadShapesThrowWithTheShapeInTheMessage) {
  Tensor t = iota({2, 3});
  try {
    t.reshape({4, 2});
    FAIL() << "reshape should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.reshape({-1, -1}), Error);
  EXPECT_THROW(t.transpose(0, 2), Error);
  EXPECT_THROW(t.permute({0, 0}), Error);
  EXPECT_THROW(t.at({2, 0}), Error);
  EXPECT_THROW(Tensor::empty({2, -1}), Error);
  EXPECT_THROW(Tensor::from_vector({2}, {1.0f}), Error);
  EXPECT_THROW(t.slice(0, 0, 1, 0), Error);
}

TEST(Tensor, ZeroSizedTensorsAreValid) {
  Tensor t = Tensor::zeros({0, 5});
  EXPECT_EQ(t.numel(), 0);
  EXPECT_TRUE(t.to_vector().empty());
  EXPECT_EQ(t.clone().shape(), (Shape{0, 5}));
}

}  // namespace
}  // namespace attn
