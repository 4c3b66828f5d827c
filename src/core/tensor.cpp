#include "attn/core/tensor.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "attn/core/allocator.h"
#include "attn/core/error.h"

namespace attn {

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

// f(begin, end) over [0, n) items of `work` floats each, split over the threads when there is enough memory traffic
// to pay for waking them (copies and fills are bound by memory bandwidth, which one core does not saturate).
template <typename F>
void split_over_threads(int64_t n, int64_t work, F&& f) {
  constexpr int64_t kParallelFloats = int64_t{1} << 16;
  if (n < 2 || n * work < kParallelFloats || omp_get_max_threads() < 2 || omp_in_parallel()) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

// dst = src over `shape`, both strided, not overlapping. Dimensions of size 1 are dropped and neighbours that
// step together in both merged, so a permuted copy becomes rows of contiguous (or evenly strided) runs.
void strided_copy(const Shape& shape, const Shape& src_strides, const float* src, const Shape& dst_strides,
                  float* dst) {
  if (shape_numel(shape) == 0) return;
  Shape dims, ss, ds;  // innermost first
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && src_strides[d] == ss.back() * dims.back() && dst_strides[d] == ds.back() * dims.back()) {
      dims.back() *= shape[d];
    } else {
      dims.push_back(shape[d]);
      ss.push_back(src_strides[d]);
      ds.push_back(dst_strides[d]);
    }
  }
  if (dims.empty()) {
    if (shape_numel(shape) == 1) *dst = *src;
    return;
  }
  const int64_t s0 = ss[0], d0 = ds[0];
  auto run = [&](const float* in, float* out, int64_t len) {
    if (s0 == 1 && d0 == 1) {
      std::memcpy(out, in, static_cast<size_t>(len) * sizeof(float));
    } else {
      for (int64_t j = 0; j < len; ++j) out[j * d0] = in[j * s0];
    }
  };
  if (dims.size() == 1) {  // one run: split it
    split_over_threads(dims[0], 1, [&](int64_t b, int64_t e) { run(src + b * s0, dst + b * d0, e - b); });
    return;
  }
  int64_t rows = 1;
  for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
  split_over_threads(rows, dims[0], [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t so = 0, dof = 0, rest = r;
      for (size_t d = 1; d < dims.size(); ++d) {
        const int64_t i = rest % dims[d];
        rest /= dims[d];
        so += i * ss[d];
        dof += i * ds[d];
      }
      run(src + so, dst + dof, dims[0]);
    }
  });
}
}  // namespace

namespace {
std::atomic<uint64_t> g_next_storage_id{1};
}

Storage::Storage(int64_t numel) : numel_(numel), id_(g_next_storage_id.fetch_add(1, std::memory_order_relaxed)) {
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
  float* p = t.data();
  split_over_threads(t.numel(), 1, [&](int64_t begin, int64_t end) { std::fill(p + begin, p + end, value); });
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
  if (storage_ == src.storage_) {  // the views may overlap: go through a copy of the source
    if (is_contiguous() && src.is_contiguous()) {
      std::memmove(data(), src.data(), static_cast<size_t>(numel()) * sizeof(float));
      return;
    }
    Tensor tmp = src.clone();
    strided_copy(shape_, tmp.strides_, tmp.data(), strides_, data());
    return;
  }
  strided_copy(shape_, src.strides_, src.data(), strides_, data());
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  strided_copy(shape_, strides_, data(), contiguous_strides(shape_), out.data());
  return out;
}

std::string Tensor::describe() const { return "Tensor" + shape_str(shape_); }

}  // namespace attn
