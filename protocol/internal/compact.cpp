#include "protocol/internal/compact.hpp"

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace presync::internal {

namespace {

struct text_hash {
  using is_transparent = void;
  size_t operator()(std::string_view v) const {
    return std::hash<std::string_view>{}(v);
  }
};

struct presence_hash {
  size_t operator()(const presence& p) const {
    auto a = std::hash<std::string_view>{}(p.availability);
    auto b = std::hash<std::string_view>{}(p.activity);
    return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};

/// A set of immutable values whose addresses never change (the set's
/// nodes are never freed), read under a shared lock.
template <class T, class Hash, class Equal = std::equal_to<>>
class pool {
 public:
  template <class V>
  const T* find_or_add(const V& v) {
    {
      std::shared_lock lock{mutex_};
      if (auto i = values_.find(v); i != values_.end()) {
        return &*i;
      }
    }
    std::unique_lock lock{mutex_};
    if (auto i = values_.find(v); i != values_.end()) {
      return &*i;
    }
    if (values_.size() >= pool_limit) {
      return nullptr;
    }
    return &*values_.emplace(T(v)).first;
  }

 private:
  std::shared_mutex mutex_;
  std::unordered_set<T, Hash, Equal> values_;
};

// Never destroyed: person copies may outlive static destruction order.
auto& names() {
  static auto* p = new pool<std::string, text_hash>;
  return *p;
}

auto& presences() {
  static auto* p = new pool<presence, presence_hash, std::equal_to<presence>>;
  return *p;
}

} // namespace

const std::string* pooled(std::string_view v) {
  if (v.size() > pooled_size_max) {
    return nullptr;
  }
  return names().find_or_add(v);
}

const presence* pooled(const presence& v) {
  if (v.availability.size() > pooled_size_max ||
      v.activity.size() > pooled_size_max) {
    return nullptr;
  }
  return presences().find_or_add(v);
}

name::handle name::make(std::string_view v) {
  return handle{v};
}

const std::string& name::empty_text() {
  static const std::string* e = new std::string;
  return *e;
}

const presence& compact_presence::empty() {
  static const presence* e = new presence;
  return *e;
}

} // namespace presync::internal
