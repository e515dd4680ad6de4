// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the config tests: load a policy from literal YAML and assert on the one
// diagnostic it must produce, with its exact position.
// Thread rule: test thread only.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/policy_loader.h"

namespace knob::test {

inline std::string AllErrors(const PolicyLoad& load) {
  std::string s;
  for (const Diagnostic& d : load.errors) s += d.ToString() + "\n";
  return s;
}

// Loads YAML that must be valid; fails the test (and returns an empty policy) otherwise.
inline Policy MustLoad(std::string_view yaml) {
  PolicyLoad load = LoadPolicyString(yaml, "t.yaml");
  EXPECT_TRUE(load.ok()) << AllErrors(load);
  return load.ok() ? *load.policy : Policy{};
}

// Loads YAML that must fail with exactly one error at LINE:COL whose message contains
// `message` and whose hint contains `hint`.
inline ::testing::AssertionResult FailsAt(std::string_view yaml, int line, int column,
                                          std::string_view message, std::string_view hint = "") {
  PolicyLoad load = LoadPolicyString(yaml, "t.yaml");
  if (load.ok()) return ::testing::AssertionFailure() << "policy loaded without errors";
  if (load.errors.size() != 1) {
    return ::testing::AssertionFailure() << "want 1 error, got " << load.errors.size() << ":\n"
                                         << AllErrors(load);
  }
  const Diagnostic& d = load.errors[0];
  if (d.line != line || d.column != column || d.message.find(message) == std::string::npos ||
      d.hint.find(hint) == std::string::npos) {
    return ::testing::AssertionFailure() << "want " << line << ":" << column << " '" << message
                                         << "' hint '" << hint << "', got: " << d.ToString();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace knob::test
