// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the adapters' end-to-end tests (issue 15) share on top of the e2e harness: a real server
// from its Debian package started in the test's temporary directory, the adapter between it and
// knobd, and the history of one knob. A server or tool that is not installed fails the test with
// the package to install (scripts/install-deps.sh installs them all), never a silent skip.
// Thread rule: test thread only.
#include <pwd.h>
#include <sys/un.h>

#include "tests/integration/e2e/e2e_harness.h"

namespace knob::test {

const std::string kAdapters = kBin + "/adapters";

// The first of `candidates` that is executable, or "" (the caller names the package).
inline std::string FindTool(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (access(c.c_str(), X_OK) == 0) return c;
  return "";
}

// Runs argv to completion (at most `timeout`) and returns its exit code and output.
inline std::pair<int, std::string> RunTool(const std::vector<std::string>& argv,
                                           const std::string& out_path,
                                           seconds timeout = seconds(30)) {
  Child c(argv, out_path, out_path);
  auto rc = c.Wait(timeout);
  return {rc.value_or(-1), ReadFile(out_path)};
}

class AdapterTest : public E2eTest {
 protected:
  // One change of the tuned knob as the history shows it.
  struct Step {
    double from = 0, to = 0;
    std::string outcome, scenario;
  };
  std::vector<Step> KnobSteps(const std::string& target, const std::string& knob) {
    std::vector<Step> out;
    for (const auto& r : History(target)) {
      if (Str(r, "knob") != knob) continue;
      out.push_back(
          {Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome"), Str(r, "scenario")});
    }
    return out;
  }
  static std::string Describe(const std::vector<Step>& steps) {
    std::string s;
    for (const auto& st : steps)
      s += FormatStep(st.from) + "->" + FormatStep(st.to) + " (" + st.scenario + ", " + st.outcome +
           ") ";
    return s;
  }
  static std::string FormatStep(double v) {
    char buf[32];
    if (v >= 1 << 20)
      std::snprintf(buf, sizeof(buf), "%.1fMiB", v / (1 << 20));
    else
      std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
  }
  std::optional<json> App(const std::string& target) {
    auto r = Knobctl({"show", target});
    if (!r || !(*r)["show"].is_object() || !(*r)["show"].contains("app")) return std::nullopt;
    return (*r)["show"]["app"];
  }
};

}  // namespace knob::test
