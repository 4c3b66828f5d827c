#include "ngram_matcher.h"

#include <algorithm>
#include <functional>

namespace attn::metrics::detail {

NgramMatcher::Entry& NgramMatcher::find_or_add(uint64_t key) {
  const size_t mask = table_.size() - 1;
  for (size_t slot = ((key ^ (key >> 29)) * 0x9E3779B97F4A7C15ull >> 32) & mask;; slot = (slot + 1) & mask) {
    Entry& e = table_[slot];
    if (e.generation != generation_) {
      e = Entry{key, generation_, next_id_++, 0, 0, 0, 0};
      return e;
    }
    if (e.key == key) return e;
  }
}

template <class Count>
void NgramMatcher::ids_of_order(const std::vector<uint32_t>& units, std::vector<uint32_t>* ids, size_t n,
                                Count&& count) {
  for (size_t i = 0; i + n <= units.size(); ++i) {
    const uint64_t key = n == 1 ? units[i] : (uint64_t{(*ids)[i]} << 32) | units[i + n - 1];
    Entry& e = find_or_add(key);
    count(e);
    (*ids)[i] = e.id;
  }
}

void NgramMatcher::match(const std::vector<uint32_t>& hyp, std::span<const std::vector<uint32_t>> refs, int max_order,
                         std::vector<OrderCounts>* out) {
  size_t units = hyp.size();
  for (const auto& r : refs) units += r.size();
  size_t capacity = 64;
  while (capacity < 2 * units) capacity *= 2;  // at most half full: every order has at most `units` n-grams
  if (table_.size() < capacity) {
    table_.assign(capacity, Entry{});
    generation_ = 0;
  }
  hyp_ids_ = hyp;
  ref_ids_.resize(refs.size());
  for (size_t k = 0; k < refs.size(); ++k) ref_ids_[k] = refs[k];

  out->assign(static_cast<size_t>(max_order), OrderCounts{});
  for (size_t n = 1; n <= static_cast<size_t>(max_order); ++n) {
    if (++generation_ == 0) {  // wrapped: forget every entry
      for (Entry& e : table_) e.generation = 0;
      generation_ = 1;
    }
    next_id_ = 0;
    hyp_entries_.clear();
    OrderCounts& c = (*out)[n - 1];
    for (size_t k = 0; k < refs.size(); ++k) {
      const auto ref_index = static_cast<uint32_t>(k + 1);
      ids_of_order(refs[k], &ref_ids_[k], n, [&](Entry& e) {
        if (e.ref_index != ref_index) {
          e.ref_index = ref_index;
          e.ref_now = 0;
        }
        e.ref_max = std::max(e.ref_max, ++e.ref_now);
        ++c.ref;
      });
    }
    ids_of_order(hyp, &hyp_ids_, n, [&](Entry& e) {
      if (e.hyp++ == 0) hyp_entries_.push_back(static_cast<uint32_t>(&e - table_.data()));
      ++c.hyp;
    });
    for (uint32_t slot : hyp_entries_) c.matches += std::min(table_[slot].hyp, table_[slot].ref_max);
  }
}

uint32_t WordIds::id(std::string_view word) {
  if (2 * (size_t{count_} + 1) > slots_.size()) grow();
  const uint64_t hash = std::hash<std::string_view>()(word);
  const size_t mask = slots_.size() - 1;
  for (size_t s = hash & mask;; s = (s + 1) & mask) {
    Slot& slot = slots_[s];
    if (slot.id_plus_one == 0) {
      slot = Slot{hash, arena_.size(), static_cast<uint32_t>(word.size()), ++count_};
      arena_.append(word);
      return count_ - 1;
    }
    if (slot.hash == hash && std::string_view(arena_).substr(slot.offset, slot.length) == word) {
      return slot.id_plus_one - 1;
    }
  }
}

void WordIds::grow() {
  std::vector<Slot> old(std::max<size_t>(64, 2 * slots_.size()));
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.id_plus_one == 0) continue;
    size_t s = slot.hash & mask;
    while (slots_[s].id_plus_one != 0) s = (s + 1) & mask;
    slots_[s] = slot;
  }
}

}  // namespace attn::metrics::detail
