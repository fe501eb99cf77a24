#include "adapters/graph/budget.hpp"

#include <algorithm>

namespace presync::graph {

presence_budget::presence_budget(double requests, duration window)
  : bucket_(requests,
            requests * 1000.0 /
              static_cast<double>(std::max<duration::rep>(window.count(), 1))) {
}

void presence_budget::reconfigure(double requests, duration window) {
  std::lock_guard lock{mutex_};
  bucket_.reconfigure(requests, requests * 1000.0 /
                                  static_cast<double>(std::max<duration::rep>(
                                    window.count(), 1)));
}

size_t presence_budget::take(size_t wanted, mono_time now) {
  std::lock_guard lock{mutex_};
  if (hold_ && *hold_ > now) {
    return 0;
  }
  size_t taken = 0;
  while (taken < wanted && bucket_.try_take(now)) {
    ++taken;
  }
  return taken;
}

void presence_budget::hold_until(mono_time until) {
  std::lock_guard lock{mutex_};
  if (!hold_ || *hold_ < until) {
    hold_ = until;
  }
}

mono_time presence_budget::next_available(mono_time now) const {
  std::lock_guard lock{mutex_};
  auto next = bucket_.next_token(now);
  if (hold_ && *hold_ > next) {
    next = *hold_;
  }
  return next;
}

std::optional<mono_time> presence_budget::held_until(mono_time now) const {
  std::lock_guard lock{mutex_};
  if (hold_ && *hold_ > now) {
    return hold_;
  }
  return std::nullopt;
}

} // namespace presync::graph
