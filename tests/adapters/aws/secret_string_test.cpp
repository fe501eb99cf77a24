#include "adapters/aws/secret_string.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace presync::aws;

TEST(SecretString, StreamsAFixedMaskInsteadOfTheSecret) {
  secret_string s{"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  std::ostringstream log;

  log << "secret=" << s;

  EXPECT_EQ(log.str(), "secret=***");
  EXPECT_EQ(to_string(s), "***");
}

TEST(SecretString, PrintsTheSameMaskForEverySecret) {
  std::ostringstream a;
  std::ostringstream b;

  a << secret_string{"x"};
  b << secret_string{"a much longer secret value"};

  EXPECT_EQ(a.str(), b.str());
}

TEST(SecretString, RevealsTheSecretOnlyThroughReveal) {
  secret_string s{"token"};

  EXPECT_EQ(s.reveal(), "token");
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(secret_string{}.empty());
}
