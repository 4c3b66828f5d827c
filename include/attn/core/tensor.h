// Tensor: a float32 N-d array. Shape and strides (in elements) over shared, 64-byte aligned storage, so
// reshape/transpose/permute/slice are views that copy nothing. Kernels take contiguous data; call
// contiguous() to get it (a no-op when the tensor already is).
#pragma once
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace attn {

using Shape = std::vector<int64_t>;

class Storage {
 public:
  explicit Storage(int64_t numel);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data() const { return data_; }
  int64_t numel() const { return numel_; }
  // Identifies this storage for as long as the process runs (addresses are reused, ids are not).
  uint64_t id() const { return id_; }
  // Counts the handouts of writable pointers (Tensor::data()), so that a copy derived from the contents (a
  // packed weight) can tell whether they may have changed since. A pointer taken before the copy was made and
  // written through after it goes unseen: take the pointer when writing.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  void note_write() { version_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  float* data_ = nullptr;
  int64_t numel_ = 0;
  uint64_t id_;
  std::atomic<uint64_t> version_{0};
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no storage

  static Tensor empty(const Shape& shape);
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  bool is_contiguous() const;
  bool same_storage(const Tensor& other) const { return storage_ == other.storage_; }
  // True when no other Tensor shares this storage (so it may be taken over instead of copied).
  bool unique_storage() const { return storage_.use_count() == 1; }

  // The writable pointer counts as a write to the storage (see Storage::version); read through the const one.
  float* data() {
    storage_->note_write();
    return storage_->data() + offset_;
  }
  const float* data() const { return storage_->data() + offset_; }
  // (storage id, version, offset): equal for two calls only if nothing can have written to the storage between.
  struct ContentKey {
    uint64_t storage_id = 0, version = 0;
    int64_t offset = 0;
    bool operator==(const ContentKey&) const = default;
  };
  ContentKey content_key() const { return {storage_->id(), storage_->version(), offset_}; }
  float& at(std::initializer_list<int64_t> index);
  float at(std::initializer_list<int64_t> index) const;

  // Views (share storage). reshape copies only when the tensor is not contiguous; one dimension may be -1.
  Tensor reshape(Shape shape) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // removes dim

  Tensor contiguous() const;
  Tensor clone() const;
  void fill(float value);
  void copy_from(const Tensor& src);  // same shape, any strides
  std::vector<float> to_vector() const;

  std::string describe() const;  // "Tensor[2, 3]"

 private:
  Tensor(std::shared_ptr<Storage> storage, int64_t offset, Shape shape, Shape strides);
  int64_t normalize_dim(int64_t d, const char* op) const;
  int64_t offset_of(std::initializer_list<int64_t> index) const;

  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  Shape shape_;
  Shape strides_;
};

// Row-major strides for a shape.
Shape contiguous_strides(const Shape& shape);
// Elements in a shape; throws on a negative dimension.
int64_t shape_numel(const Shape& shape);

}  // namespace attn
