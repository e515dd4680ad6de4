// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the adapters' end-to-end tests (issue 15) share on top of the e2e harness: a real server
// from its Debian package started in the test's temporary directory, the adapter between it and
// knobd, and the history of one knob. A server or tool that is not installed fails the test with
// the package to install (scripts/install-deps.sh installs them all), never a silent skip.
// Thread rule: test thread only.
#include <pwd.h>
#include <sys/un.h>

#include <cmath>
#include <functional>

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
    std::string outcome, scenario, reason;
  };
  std::vector<Step> KnobSteps(const std::string& target, const std::string& knob) {
    std::vector<Step> out;
    for (const auto& r : History(target)) {
      if (Str(r, "knob") != knob) continue;
      out.push_back({Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome"),
                     Str(r, "scenario"), Str(r, "outcome_reason")});
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
  // Each step's verdict as knobd gave it, one per line: why a step was only kept, not verified.
  static std::string Reasons(const std::vector<Step>& steps) {
    std::string s;
    for (const auto& st : steps)
      s += FormatStep(st.from) + "->" + FormatStep(st.to) + ": " + st.reason + "\n";
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
  // Polls `value` every 500 ms until `done(v)` holds and v has not moved for `quiet`, or until
  // `timeout`: the knob has settled where knobd left it. Returns the seconds it took.
  static double WaitUntilSettled(const std::function<double()>& value,
                                 const std::function<bool(double)>& done, seconds timeout,
                                 seconds quiet = seconds(8)) {
    const auto start = SteadyClock::now();
    auto last_move = start;
    double last_value = value();
    WaitFor(
        [&] {
          double v = value();
          if (v != last_value) last_move = SteadyClock::now();
          last_value = v;
          return done(v) && SteadyClock::now() - last_move >= quiet;
        },
        timeout, milliseconds(500));
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
  }
  // What every adapter test asserts of a knob knobd raised: at least one verified raise (or,
  // with `kept_counts`, one kept: applied with an effect on knobd's objective inside the noise,
  // for a knob whose gain the test measures itself), the value the software reports
  // (`final_value`) is what the adapter relays, and unless the last step was a rollback, what
  // knobd last applied.
  void ExpectRaisedAndConfirmed(const std::string& target, const std::string& knob,
                                const std::vector<Step>& steps, double start_value,
                                double final_value, const std::string& log,
                                bool kept_counts = false) {
    int verified_raises = 0;
    double last_applied = start_value;
    for (const auto& s : steps) {
      bool judged = s.outcome == "verified" || (kept_counts && s.outcome == "kept");
      if (judged && s.to > s.from && s.scenario != "rollback") ++verified_raises;
      // `kept`: applied and left in place, its effect inside the noise (issue 11's outcomes).
      if (s.outcome == "verified" || s.outcome == "kept" || s.outcome == "applied" ||
          s.outcome == "rolled_back")
        last_applied = s.to;
    }
    EXPECT_GE(verified_raises, 1) << Describe(steps) << "\n" << Reasons(steps) << log;
    auto reported = ReportedKnob(knob, target);
    ASSERT_TRUE(reported.has_value()) << knob << " of " << target << " is not reported";
    EXPECT_EQ(*reported, final_value);
    if (!steps.empty() && steps.back().scenario != "rollback") {
      EXPECT_EQ(last_applied, final_value) << Describe(steps);
    }
  }
  // The p99 of the newest report that had requests in it, waiting up to `timeout` for one: a
  // report whose interval held no new requests carries no latency at all (docs/protocol.md), and
  // reading that one as a number gave NaN.
  std::optional<double> ReportedP99(const std::string& target, seconds timeout = seconds(10)) {
    std::optional<double> p99;
    WaitFor(
        [&] {
          auto app = App(target);
          if (!app || !(*app)["latency"].is_object()) return false;
          double v = Num((*app)["latency"], "p99");
          if (std::isfinite(v)) p99 = v;
          return p99.has_value();
        },
        timeout, milliseconds(200));
    return p99;
  }
  std::optional<json> App(const std::string& target) {
    auto r = Knobctl({"show", target});
    if (!r || !(*r)["show"].is_object() || !(*r)["show"].contains("app")) return std::nullopt;
    return (*r)["show"]["app"];
  }
};

}  // namespace knob::test
