// Clipped n-gram matching for BLEU and chrF over sequences of unit ids (words or code points), every order
// 1..max_order in one pass. An n-gram's exact id is looked up from the id of its (n-1)-gram prefix and its last
// unit in a flat hash table, so no n-gram is hashed as a string and nothing is allocated per segment once the
// buffers have grown. Also a vocabulary that turns words into such ids.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attn::metrics::detail {

struct OrderCounts {
  int64_t hyp = 0;      // n-grams in the hypothesis
  int64_t ref = 0;      // n-grams in the references (summed over them)
  int64_t matches = 0;  // hypothesis n-grams clipped by their largest count in any one reference
};

class NgramMatcher {
 public:
  // out[n - 1] for n = 1..max_order.
  void match(const std::vector<uint32_t>& hyp, std::span<const std::vector<uint32_t>> refs, int max_order,
             std::vector<OrderCounts>* out);

 private:
  struct Entry {
    uint64_t key;
    uint32_t generation;  // the entry is in use only when this equals generation_
    uint32_t id;
    uint32_t hyp, ref_max, ref_now, ref_index;  // ref_now counts within reference ref_index
  };
  Entry& find_or_add(uint64_t key);
  // Replaces ids[i] (the id of the (n-1)-gram at i, or the unit at i for n = 1) by the id of the n-gram at i.
  template <class Count>
  void ids_of_order(const std::vector<uint32_t>& units, std::vector<uint32_t>* ids, size_t n, Count&& count);

  std::vector<Entry> table_;
  uint32_t generation_ = 0;
  uint32_t next_id_ = 0;
  std::vector<uint32_t> hyp_ids_;
  std::vector<std::vector<uint32_t>> ref_ids_;
  std::vector<uint32_t> hyp_entries_;  // table slots of the distinct hypothesis n-grams of the current order
};

// Dense ids 0, 1, 2, ... for distinct words, kept over a whole corpus: an open-addressing table over one
// string arena, so looking up a known word allocates nothing.
class WordIds {
 public:
  uint32_t id(std::string_view word);
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    size_t offset = 0;  // the word is arena_.substr(offset, length)
    uint32_t length = 0;
    uint32_t id_plus_one = 0;  // 0: empty
  };
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  uint32_t count_ = 0;
};

}  // namespace attn::metrics::detail
