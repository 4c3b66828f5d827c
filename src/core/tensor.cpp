#include "attn/core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "attn/core/allocator.h"
#include "attn/core/error.h"

namespace attn {

Storage::Storage(int64_t numel) : numel_(numel) {
  ATTN_CHECK(numel >= 0, "Storage: negative size {}", numel);
  data_ = static_cast<float*>(allocate(static_cast<std::size_t>(numel) * sizeof(float)));
}

Storage::~Storage() { deallocate(data_, static_cast<std::size_t>(numel_) * sizeof(float)); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    ATTN_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
    n *= d;
  }
  return n;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, Shape strides)
    : storage_(std::move(storage)), offset_(offset), shape_(std::move(shape)), strides_(std::move(strides)) {}

Tensor Tensor::empty(const Shape& shape) {
  auto storage = std::make_shared<Storage>(shape_numel(shape));
  return Tensor(std::move(storage), 0, shape, contiguous_strides(shape));
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  std::fill_n(t.data(), t.numel(), value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape);
  ATTN_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "Tensor::from_vector: {} values for shape {}",
             values.size(), shape_str(shape));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::numel() const { return shape_numel(shape_); }

int64_t Tensor::normalize_dim(int64_t d, const char* op) const {
  int64_t n = dim();
  ATTN_CHECK(d >= -n && d < n, "{}: dimension {} out of range for tensor of shape {}", op, d, shape_str(shape_));
  return d < 0 ? d + n : d;
}

int64_t Tensor::size(int64_t d) const { return shape_[normalize_dim(d, "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

int64_t Tensor::offset_of(std::initializer_list<int64_t> index) const {
  ATTN_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: {} indices for tensor of shape {}", index.size(),
             shape_str(shape_));
  int64_t off = offset_, d = 0;
  for (int64_t i : index) {
    ATTN_CHECK(i >= 0 && i < shape_[d], "at: index {} out of range for dimension {} of shape {}", i, d,
               shape_str(shape_));
    off += i * strides_[d++];
  }
  return off;
}

float& Tensor::at(std::initializer_list<int64_t> index) { return storage_->data()[offset_of(index)]; }
float Tensor::at(std::initializer_list<int64_t> index) const { return storage_->data()[offset_of(index)]; }

Tensor Tensor::reshape(Shape shape) const {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      ATTN_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      ATTN_CHECK(shape[i] >= 0, "reshape: invalid dimension in {}", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    ATTN_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 in {} from shape {}", shape_str(shape),
               shape_str(shape_));
    shape[infer] = numel() / known;
  }
  ATTN_CHECK(shape_numel(shape) == numel(), "reshape: shape {} has {} elements, tensor of shape {} has {}",
             shape_str(shape), shape_numel(shape), shape_str(shape_), numel());
  if (!is_contiguous()) return contiguous().reshape(std::move(shape));
  Shape strides = contiguous_strides(shape);
  return Tensor(storage_, offset_, std::move(shape), std::move(strides));
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  a = normalize_dim(a, "transpose");
  b = normalize_dim(b, "transpose");
  Tensor t = *this;
  std::swap(t.shape_[a], t.shape_[b]);
  std::swap(t.strides_[a], t.strides_[b]);
  return t;
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  ATTN_CHECK(static_cast<int64_t>(order.size()) == dim(), "permute: order {} for tensor of shape {}",
             shape_str(order), shape_str(shape_));
  std::vector<bool> seen(dim(), false);
  Tensor t = *this;
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t d = normalize_dim(order[i], "permute");
    ATTN_CHECK(!seen[d], "permute: dimension {} repeated in {}", d, shape_str(order));
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = normalize_dim(d, "slice");
  ATTN_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = (end - start + step - 1) / step;
  t.strides_[d] *= step;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d, "select");
  ATTN_CHECK(index >= -shape_[d] && index < shape_[d], "select: index {} out of range for dimension {} of shape {}",
             index, d, shape_str(shape_));
  if (index < 0) index += shape_[d];
  Tensor t = *this;
  t.offset_ += index * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

namespace {
// Visits every element of a strided tensor in row-major order; the innermost loop is a plain stride loop.
template <typename F>
void for_each_offset(const Shape& shape, const Shape& strides, int64_t base, F&& f) {
  int64_t n = static_cast<int64_t>(shape.size());
  if (shape_numel(shape) == 0) return;
  if (n == 0) {
    f(base);
    return;
  }
  std::vector<int64_t> idx(n, 0);
  int64_t inner = shape[n - 1], inner_stride = strides[n - 1];
  while (true) {
    int64_t off = base;
    for (int64_t i = 0; i < n - 1; ++i) off += idx[i] * strides[i];
    for (int64_t j = 0; j < inner; ++j) f(off + j * inner_stride);
    int64_t i = n - 2;
    for (; i >= 0; --i) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
    if (i < 0) return;
  }
}
}  // namespace

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_);
  out.copy_from(*this);
  return out;
}

void Tensor::fill(float value) {
  float* base = storage_->data();
  for_each_offset(shape_, strides_, offset_, [&](int64_t o) { base[o] = value; });
}

void Tensor::copy_from(const Tensor& src) {
  ATTN_CHECK(src.shape_ == shape_, "copy_from: source shape {} differs from destination shape {}",
             shape_str(src.shape_), shape_str(shape_));
  if (is_contiguous() && src.is_contiguous()) {
    std::memmove(data(), src.data(), static_cast<size_t>(numel()) * sizeof(float));
    return;
  }
  std::vector<float> values = src.to_vector();  // safe when the two views overlap
  float* base = storage_->data();
  size_t i = 0;
  for_each_offset(shape_, strides_, offset_, [&](int64_t o) { base[o] = values[i++]; });
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(numel()));
  const float* base = storage_->data();
  for_each_offset(shape_, strides_, offset_, [&](int64_t o) { out.push_back(base[o]); });
  return out;
}

std::string Tensor::describe() const { return "Tensor" + shape_str(shape_); }

}  // namespace attn
