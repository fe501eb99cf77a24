#include "app/event_hub.hpp"

namespace presync::app {

event_hub::event_hub(std::chrono::milliseconds heartbeat)
  : heartbeat_(heartbeat) {
  thread_ = std::thread{[this] {
    run();
  }};
}

event_hub::~event_hub() {
  std::set<presence_board*> boards;
  {
    std::lock_guard guard{mutex_};
    stop_ = true;
    boards = listened_;
  }
  for (auto* b : boards) {
    b->set_listener({});
  }
  cv_.notify_all();
  thread_.join();
  for (auto& s : subs_) {
    s.stream->close();
  }
}

void event_hub::wake() {
  {
    std::lock_guard guard{mutex_};
    dirty_ = true;
  }
  cv_.notify_one();
}

void event_hub::subscribe(tenant_directory& dir,
                          std::shared_ptr<http::event_stream> stream,
                          uint64_t after, bool reset) {
  auto* board = &dir.board();
  bool first = false;
  {
    std::lock_guard guard{mutex_};
    subs_.push_back({&dir, std::move(stream), after, reset});
    first = listened_.insert(board).second;
    dirty_ = true;
  }
  if (first) {
    board->set_listener([this] { wake(); });
  }
  cv_.notify_one();
}

size_t event_hub::subscribers() const {
  std::lock_guard guard{mutex_};
  return subs_.size();
}

uint64_t event_hub::delivered() const {
  std::lock_guard guard{mutex_};
  return delivered_;
}

// Called with mutex_ held. Returns false when the stream is gone.
bool event_hub::fan_out(subscription& s, bool beat) {
  if (!s.stream->is_open()) {
    return false;
  }
  const auto& board = s.dir->board();
  std::string text;
  if (s.reset) {
    s.reset = false;
    s.after = board.latest();
    text += "id: " + board.event_id(s.after) +
            "\nevent: reset\ndata: {\"reason\":\"the events since "
            "Last-Event-ID are gone; reload the directory\"}\n\n";
  }
  for (;;) {
    auto batch = board.events_after(s.after);
    if (batch.gap) {
      text += "id: " + board.event_id(batch.last) +
              "\nevent: reset\ndata: {\"reason\":\"this stream fell too far "
              "behind; reload the directory\"}\n\n";
      s.after = batch.last;
      break;
    }
    if (batch.frames.empty()) {
      break;
    }
    ++delivered_;
    text += batch.frames;
    s.after = batch.last;
  }
  if (beat) {
    text += ": heartbeat\n\n";
  }
  return text.empty() || s.stream->send(std::move(text));
}

void event_hub::run() {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock{mutex_};
  auto next_beat = clock::now() + heartbeat_;
  while (!stop_) {
    cv_.wait_until(lock, next_beat, [this] { return stop_ || dirty_; });
    if (stop_) {
      break;
    }
    auto now = clock::now();
    bool beat = now >= next_beat;
    if (beat) {
      next_beat = now + heartbeat_;
    }
    dirty_ = false;

    // Sending only queues on the server's thread, so this stays short
    // even with hundreds of streams.
    std::erase_if(subs_, [&](subscription& s) { return !fan_out(s, beat); });
  }
}

} // namespace presync::app
