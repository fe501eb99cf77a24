// Compact members for protocol::person (docs/PERFORMANCE.md, "Memory per
// person"). Every person keeps a few status names, presences and Teams
// targets, and a person actor copies its machine after every input; as
// std::string and std::optional<presence> members they made a person
// 1,440 bytes. The values come from small catalogues (Graph's presences,
// a Connect instance's agent statuses, the configured rules), so a person
// holds a pointer into a process-wide pool of immutable values instead:
// 8 bytes, and a copy is a pointer copy.
//
// The pool never forgets a value: a status name seen once is likely seen
// again. So that a peer sending ever new names cannot grow it without
// bound, it takes at most `pool_limit` values of at most `pooled_size_max`
// bytes each; any other value is owned by its handle, which then copies
// it like a std::string would.
#pragma once

#include "protocol/rules.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace presync::internal {

/// Values each pool (names, presences) keeps at most.
inline constexpr size_t pool_limit = 16'384;

/// Longest status name, availability or activity a pool takes.
inline constexpr size_t pooled_size_max = 64;

/// Returns the pooled copy of `v`, or nullptr when the pool does not take
/// it (full, or the value is too long). Thread-safe.
const std::string* pooled(std::string_view v);
const presence* pooled(const presence& v);

/// An immutable value of type T in 8 bytes: a pooled value, one it owns
/// (tagged in the lowest bit), or none (null).
template <class T>
class pool_handle {
 public:
  pool_handle() = default;

  /// Holds the pooled copy of `v`, or an owned one.
  template <class V>
  explicit pool_handle(const V& v) {
    if (const T* p = pooled(v)) {
      bits_ = reinterpret_cast<uintptr_t>(p);
    } else {
      bits_ = reinterpret_cast<uintptr_t>(new T(v)) | owned_tag;
    }
  }

  pool_handle(const pool_handle& other) { copy_from(other); }

  /// A pooled value stays in the moved-from handle; an owned one moves.
  pool_handle(pool_handle&& other) noexcept : bits_(other.bits_) {
    if ((bits_ & owned_tag) != 0) {
      other.bits_ = 0;
    }
  }

  pool_handle& operator=(const pool_handle& other) {
    if (this != &other) {
      release();
      copy_from(other);
    }
    return *this;
  }

  pool_handle& operator=(pool_handle&& other) noexcept {
    if (this != &other) {
      release();
      bits_ = other.bits_;
      if ((bits_ & owned_tag) != 0) {
        other.bits_ = 0;
      }
    }
    return *this;
  }

  ~pool_handle() { release(); }

  /// Returns the value, or nullptr for none.
  const T* get() const {
    return reinterpret_cast<const T*>(bits_ & ~owned_tag);
  }

  /// Returns true if both hold equal values (or both none).
  friend bool operator==(const pool_handle& a, const pool_handle& b) {
    if (a.bits_ == b.bits_) {
      return true;
    }
    const T* x = a.get();
    const T* y = b.get();
    return x != nullptr && y != nullptr && *x == *y;
  }

 private:
  static constexpr uintptr_t owned_tag = 1;

  void copy_from(const pool_handle& other) {
    if ((other.bits_ & owned_tag) != 0) {
      bits_ = reinterpret_cast<uintptr_t>(new T(*other.get())) | owned_tag;
    } else {
      bits_ = other.bits_;
    }
  }

  void release() {
    if ((bits_ & owned_tag) != 0) {
      delete get();
    }
    bits_ = 0;
  }

  uintptr_t bits_ = 0;
};

/// A status name (an effective Connect state, an agent status, a rule
/// key) in 8 bytes. Reads as a std::string; empty by default.
class name {
 public:
  name() = default;
  name(std::string_view v) : h_(v.empty() ? handle{} : make(v)) {}
  name(const std::string& v) : name(std::string_view{v}) {}
  name(const char* v) : name(std::string_view{v}) {}

  /// Returns the text.
  const std::string& str() const {
    const std::string* p = h_.get();
    return p != nullptr ? *p : empty_text();
  }
  operator const std::string&() const { return str(); }
  operator std::string_view() const { return str(); }

  bool empty() const { return h_.get() == nullptr; }

  friend bool operator==(const name& a, const name& b) { return a.h_ == b.h_; }
  friend bool operator==(const name& a, std::string_view b) {
    return a.str() == b;
  }
  friend bool operator==(const name& a, const std::string& b) {
    return a.str() == b;
  }

  friend std::string operator+(const char* a, const name& b) {
    return a + b.str();
  }
  friend std::string operator+(std::string a, const name& b) {
    return std::move(a) + b.str();
  }
  friend std::string operator+(const name& a, const char* b) {
    return a.str() + b;
  }
  friend std::string operator+(const name& a, const std::string& b) {
    return a.str() + b;
  }

 private:
  using handle = pool_handle<std::string>;

  static handle make(std::string_view v);
  static const std::string& empty_text();

  handle h_;
};

/// A Teams presence in 8 bytes. Reads as a presence.
class compact_presence {
 public:
  compact_presence() : compact_presence(presence{}) {}
  compact_presence(const presence& p) : h_(p) {}

  const presence& get() const {
    const presence* p = h_.get();
    return p != nullptr ? *p : empty();
  }
  operator const presence&() const { return get(); }

  /// Returns "Availability/Activity".
  std::string key() const { return get().key(); }

  friend bool operator==(const compact_presence& a, const compact_presence& b) {
    return a.get() == b.get();
  }

 private:
  static const presence& empty();

  pool_handle<presence> h_;
};

/// A teams_target in 8 bytes: a presence, or none for clear.
class compact_target {
 public:
  compact_target() = default;
  compact_target(const teams_target& t)
    : h_(t.value ? pool_handle<presence>{*t.value} : pool_handle<presence>{}) {}

  /// Returns the presence, or nullptr for clear.
  const presence* value() const { return h_.get(); }
  bool is_clear() const { return value() == nullptr; }

  operator teams_target() const {
    return is_clear() ? teams_target::clear() : teams_target::of(*value());
  }

  /// Returns "Busy/InACall" or "clear".
  std::string describe() const {
    return is_clear() ? std::string{"clear"} : value()->key();
  }

  friend bool operator==(const compact_target& a, const compact_target& b) {
    return a.h_ == b.h_;
  }
  friend bool operator==(const compact_target& a, const teams_target& b) {
    if (a.is_clear() || b.is_clear()) {
      return a.is_clear() == b.is_clear();
    }
    return *a.value() == *b.value;
  }

 private:
  pool_handle<presence> h_;
};

/// A std::optional<mono_time> in 8 bytes: the earliest instant the type
/// holds stands for none (no instant presync computes comes near it).
class optional_instant {
 public:
  optional_instant() = default;
  optional_instant(std::nullopt_t) {}
  optional_instant(mono_time t) : t_(t) {}

  explicit operator bool() const { return t_ != none(); }
  bool has_value() const { return t_ != none(); }
  const mono_time& operator*() const { return t_; }
  void reset() { t_ = none(); }

  operator std::optional<mono_time>() const {
    return has_value() ? std::optional<mono_time>{t_} : std::nullopt;
  }

 private:
  static constexpr mono_time none() { return mono_time::min(); }

  mono_time t_ = none();
};

/// An optional value kept on the heap: 8 bytes while empty, which is how
/// a person's rarely set members (a Connect write in flight, a match
/// record) cost little. Copies copy the value, as std::optional does.
template <class T>
class boxed_optional {
 public:
  boxed_optional() = default;
  boxed_optional(std::nullopt_t) {}
  boxed_optional(T v) : p_(std::make_unique<T>(std::move(v))) {}
  boxed_optional(std::optional<T> v) {
    if (v) {
      p_ = std::make_unique<T>(std::move(*v));
    }
  }

  boxed_optional(const boxed_optional& other)
    : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  boxed_optional(boxed_optional&&) noexcept = default;
  boxed_optional& operator=(const boxed_optional& other) {
    if (this != &other) {
      p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
    }
    return *this;
  }
  boxed_optional& operator=(boxed_optional&&) noexcept = default;
  ~boxed_optional() = default;

  explicit operator bool() const { return p_ != nullptr; }
  bool has_value() const { return p_ != nullptr; }

  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }

  void reset() { p_.reset(); }

  /// Returns a copy as a std::optional.
  std::optional<T> to_optional() const {
    return p_ ? std::optional<T>{*p_} : std::nullopt;
  }

 private:
  std::unique_ptr<T> p_;
};

} // namespace presync::internal
