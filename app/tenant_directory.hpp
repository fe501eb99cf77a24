// What the API reads of one tenant (DESIGN.md §5): the directory snapshot,
// the presence board, how to ask a person actor for its view and journal,
// and how to place a click-to-dial call. The tenant runtime owns one and
// feeds it from its own thread; the API reads it from the server's threads.
//
// Connect users' phone settings come from DescribeUser, read lazily: a few
// users per tick of the tenant's loop, inside the tenant's Connect rate
// limit, so start-up never waits for them. A user whose LastModifiedTime
// changed in ListUsers is read again.
#pragma once

#include "adapters/connect/connect_api.hpp"
#include "app/directory_snapshot.hpp"
#include "app/presence_board.hpp"
#include "config/config.hpp"
#include "protocol/error.hpp"
#include "protocol/journal.hpp"
#include "protocol/person.hpp"

#include <caf/all.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace presync::connect {
class connect_client;
} // namespace presync::connect

namespace presync::app {

/// A person actor's state and journal as one answer.
struct person_detail {
  person_view view;
  std::vector<journal_entry> journal;
  mono_time now; ///< the actor clock when answered, for the mono_times
};

/// Asks for a person's detail; `done` is called once, from any thread.
using person_query_fn =
  std::function<void(const std::string& person,
                     std::function<void(expected<person_detail>)> done)>;

/// Places an outbound call and returns the ContactId. Blocks on the
/// network: call it from a thread that may wait.
using dial_fn =
  std::function<expected<std::string>(const connect::outbound_voice_contact&)>;

/// One tenant's directory, live state and actions for the API.
class tenant_directory {
 public:
  /// `connect` supplies the click-to-dial settings and the direct-number
  /// file (already validated by the config loader).
  tenant_directory(std::string tenant, const config::connect_config& connect,
                   size_t event_capacity = 4096);

  tenant_directory(const tenant_directory&) = delete;
  tenant_directory& operator=(const tenant_directory&) = delete;

  // -- readers (any thread) ---------------------------------------------------

  /// Returns the current snapshot; null until the tenant has started.
  std::shared_ptr<const directory_snapshot> snapshot() const;

  presence_board& board() { return board_; }
  const presence_board& board() const { return board_; }

  const std::string& tenant() const { return tenant_; }

  /// Returns the outbound contact flow, queue and instance for calls.
  std::string contact_flow_id() const;
  std::string queue_id() const;
  const std::string& instance_id() const { return instance_id_; }

  /// Asks for a person's detail; unavailable until the tenant runs.
  void ask_person(const std::string& person,
                  std::function<void(expected<person_detail>)> done) const;

  /// Places a call; unavailable until the tenant runs. Blocks.
  [[nodiscard]] expected<std::string>
  dial(const connect::outbound_voice_contact& call) const;

  // -- writers (the tenant's thread) -----------------------------------------

  /// Swaps in a new snapshot and tells the event stream.
  void publish(std::shared_ptr<const directory_snapshot> snap);

  /// Takes the click-to-dial settings of a reloaded config.
  // TODO: a changed did_mapping_file is read only at start; re-reading it
  // here on reload (it was validated by the loader) would apply it too.
  void set_calls(const config::connect_config& connect);

  /// Sets how persons are asked and calls placed (once the actors run).
  void set_person_query(person_query_fn f);
  void set_dialer(dial_fn f);

  /// Seeds the board with a person's first known state.
  void seed(const person_init& init);

  /// Takes the ListUsers result: new users and users changed since their
  /// last DescribeUser are queued to be described; gone ones are dropped.
  void on_connect_users(const std::vector<connect::user_summary>& users);

  /// Keeps a DescribeUser answer read elsewhere (identity matching).
  void remember(const connect::user_details& details);

  /// Reads DescribeUser for at most `max` queued users, stopping at the
  /// first throttled answer. Returns true when any details changed.
  bool describe_some(connect::connect_client& client, size_t max);

  /// Returns how many Connect users still wait for DescribeUser.
  size_t undescribed() const;

  /// Builds a snapshot from the tenant's directory and identity state and
  /// publishes it. Logs building problems the first time they appear.
  void rebuild(const std::map<std::string, graph::directory_entry>& teams,
               const std::vector<teams_account>& teams_accounts,
               const std::vector<connect_account>& agents,
               const identity_result& people);

 private:
  std::string tenant_;
  std::string instance_id_;
  presence_board board_;

  mutable std::mutex mutex_; ///< guards the five members below
  std::string contact_flow_id_;
  std::string queue_id_;
  std::shared_ptr<const directory_snapshot> snapshot_;
  person_query_fn person_query_;
  dial_fn dialer_;

  // The tenant thread's own state: no lock.
  std::map<std::string, connect_user_info> connect_users_;
  std::deque<std::string> describe_queue_;
  std::set<std::string> queued_;
  std::vector<config::did_mapping_entry> did_mapping_;
  std::set<std::string> known_problems_;
  uint64_t version_ = 0;
  uint64_t fingerprint_ = 0; ///< of the published snapshot's content
};

/// Returns a person query that asks `supervisor` (view, then journal)
/// through a short-lived actor, each request with `timeout`.
person_query_fn make_person_query(caf::actor_system& sys, caf::actor supervisor,
                                  std::chrono::milliseconds timeout);

/// Returns a dialer that sends StartOutboundVoiceContact through `client`
/// (the tenant's rate limiter: no token is an immediate throttled error).
dial_fn make_connect_dialer(connect::connect_client& client);

} // namespace presync::app
