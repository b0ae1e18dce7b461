// Slots of memory JavaScript owns (typed arrays over SharedArrayBuffers),
// handed to the pull thread frame after frame and given back by JavaScript
// once it is done with a frame's pixels or tensor. One pool type serves both
// the pixel slots and the tensor slots.
//
// Not locked itself: the Pipeline calls every method under its mutex (the
// pull thread takes, the JavaScript thread releases).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace bestshot {

template <typename T>
class SlotPool {
 public:
  // Keep `view` alive while the pool holds it; `data` points at `bytes` bytes of it.
  int Add(const Napi::Value& view, T* data, size_t bytes) {
    slots_.push_back({Napi::Persistent(view), data, bytes, 0});
    const int id = static_cast<int>(slots_.size() - 1);
    free_.push_back(id);
    return id;
  }

  // The oldest free slot of at least `bytes` bytes, or -1; a pool that has
  // slots but none free counts a miss (the caller then allocates).
  int Take(size_t bytes) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (slots_[static_cast<size_t>(*it)].bytes >= bytes) {
        const int id = *it;
        free_.erase(it);
        return id;
      }
    }
    if (!slots_.empty()) ++misses_;
    return -1;
  }

  T* Data(int id) const { return slots_[static_cast<size_t>(id)].data; }

  // What the last writer of a slot left in it that the next one may reuse
  // (0: nothing known). The tensor slots keep their letterbox pad this way:
  // a slot's pad is written once, not with every frame of the same size.
  uint64_t Tag(int id) const { return slots_[static_cast<size_t>(id)].tag; }
  void SetTag(int id, uint64_t tag) { slots_[static_cast<size_t>(id)].tag = tag; }

  // Give a slot back. An unknown id, or one already free, is ignored: a
  // double release must never hand one slot to two frames.
  void Release(int id) {
    if (id < 0 || id >= static_cast<int>(slots_.size())) return;
    for (int s : free_) {
      if (s == id) return;
    }
    free_.push_back(id);
  }

  void Clear() {
    free_.clear();
    for (auto& s : slots_) s.ref.Reset();
    slots_.clear();
  }

  size_t size() const { return slots_.size(); }
  uint64_t misses() const { return misses_; }

 private:
  struct Slot {
    Napi::Reference<Napi::Value> ref;
    T* data;
    size_t bytes;
    uint64_t tag;
  };
  std::vector<Slot> slots_;
  std::deque<int> free_;
  uint64_t misses_ = 0;
};

}  // namespace bestshot
