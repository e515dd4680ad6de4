#pragma once
// Helpers for tests that read fixture trees under tests/data/proc/<case>/.
// Thread rule: test thread only.

#include <string>

namespace knob::testing {

// Absolute path of tests/data/proc/<case_name> in the source tree.
inline std::string FixtureRoot(const std::string& case_name) {
  return std::string(KNOB_SOURCE_DIR) + "/tests/data/proc/" + case_name;
}

}  // namespace knob::testing
