#include "app/tenant_directory.hpp"

#include "actors/messages.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include <future>

namespace presync::app {
namespace {

using namespace std::chrono_literals;

/// Answers view and journal requests for `known` as a supervisor does, and
/// invalid_argument for anyone else. (It takes an argument: CAF 0.17 trips
/// UBSan when a function actor is spawned with none.)
caf::behavior fake_supervisor(caf::event_based_actor*, std::string known) {
  return {
    [known](caf::get_atom, actors::view_atom,
            const std::string& id) -> caf::result<person_view> {
      if (id != known) {
        return caf::make_error(caf::sec::invalid_argument, "unknown person");
      }
      person_view v;
      v.id = id;
      v.connect_state = "Available";
      return v;
    },
    [known](caf::get_atom, actors::journal_atom,
            const std::string& id) -> caf::result<actors::journal_entries> {
      if (id != known) {
        return caf::make_error(caf::sec::invalid_argument, "unknown person");
      }
      return actors::journal_entries{{journal_entry{
        at(1s), decision::held, direction::connect_to_teams, "held"}}};
    },
  };
}

class TenantDirectory : public ::testing::Test {
 protected:
  expected<person_detail> ask(const std::string& person) {
    auto query =
      make_person_query(sys_, sys_.spawn(fake_supervisor, "p1"), 5000ms);
    auto answer = std::make_shared<std::promise<expected<person_detail>>>();
    auto future = answer->get_future();
    query(person, [answer](expected<person_detail> d) {
      answer->set_value(std::move(d));
    });
    return future.get();
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
};

TEST_F(TenantDirectory, APersonQueryAsksTheSupervisorForViewAndJournal) {
  auto d = ask("p1");

  ASSERT_TRUE(d) << d.err().describe();
  EXPECT_EQ(d->view.connect_state, "Available");
  ASSERT_EQ(d->journal.size(), 1u);
  EXPECT_EQ(d->journal[0].detail, "held");
}

TEST_F(TenantDirectory, AnUnknownPersonIsNotFound) {
  auto d = ask("nobody");

  ASSERT_FALSE(d);
  EXPECT_EQ(d.err().code, sync_error::not_found);
}

TEST_F(TenantDirectory, BeforeTheActorsRunQueriesAndCallsAreUnavailable) {
  config::connect_config c;
  tenant_directory dir{"t", c};
  std::optional<expected<person_detail>> got;

  dir.ask_person("p1", [&](expected<person_detail> d) { got = std::move(d); });
  auto call = dir.dial({});

  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->err().code, sync_error::unavailable);
  ASSERT_FALSE(call);
  EXPECT_EQ(call.err().code, sync_error::unavailable);
  EXPECT_EQ(dir.snapshot(), nullptr);
}

TEST_F(TenantDirectory, ARoundThatChangesNothingIsNotPublishedAgain) {
  config::connect_config c;
  tenant_directory dir{"t", c};
  std::map<std::string, graph::directory_entry> teams;
  std::vector<teams_account> accounts{{"g1", "a@example.com", "", "Ada"}};
  identity_result people;
  people.people.push_back({"g1", 0, std::nullopt, ""});
  teams["g1"].id = "g1";

  dir.rebuild(teams, accounts, {}, people);
  auto first = dir.snapshot();
  auto events = dir.board().latest();
  dir.rebuild(teams, accounts, {}, people);
  accounts[0].display_name = "Ada Lovelace";
  dir.rebuild(teams, accounts, {}, people);

  EXPECT_EQ(first->version(), 1u);
  EXPECT_EQ(events, 1u);
  EXPECT_EQ(dir.snapshot()->version(), 2u);
  EXPECT_EQ(dir.snapshot()->people()[0].display_name, "Ada Lovelace");
  EXPECT_EQ(dir.board().latest(), 2u);
}

TEST_F(TenantDirectory, NewAndChangedConnectUsersWaitForDescribeUser) {
  config::connect_config c;
  tenant_directory dir{"t", c};
  connect::user_summary a{"u1", "arn:u1", "a@example.com", 1, ""};
  connect::user_summary b{"u2", "arn:u2", "b@example.com", 1, ""};

  dir.on_connect_users({a, b});
  EXPECT_EQ(dir.undescribed(), 2u);
  connect::user_details d;
  d.id = "u1";
  dir.remember(d);
  dir.on_connect_users({a, b});
  EXPECT_EQ(dir.undescribed(), 2u); // already queued once each
}

} // namespace
} // namespace presync::app
