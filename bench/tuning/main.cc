// SPDX-License-Identifier: Apache-2.0
// knob-tuning-bench: every tuner on every scenario of the simulated service, scored against the
// oracle (docs/benchmarks.md, "Tuning benchmark"). bench/tuning/run.sh runs it and draws the
// plots. --score-real DIR scores the real runs bench/tuning/real.sh left in DIR instead
// (bench/tuning/real.h).
//   knob-tuning-bench [--full | --short] [--out DIR] [--scenario ID]... [--tuner NAME]...
//   knob-tuning-bench --score-real DIR [--scenario ID]...
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/tuning/harness.h"
#include "bench/tuning/real.h"

using namespace knob::tuning;

int main(int argc, char** argv) {
  bool full = true;
  std::string out, real_dir;
  std::set<std::string> only_scenarios, only_tuners;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--full") {
      full = true;
    } else if (a == "--short") {
      full = false;
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--score-real" && i + 1 < argc) {
      real_dir = argv[++i];
    } else if (a == "--scenario" && i + 1 < argc) {
      only_scenarios.insert(argv[++i]);
    } else if (a == "--tuner" && i + 1 < argc) {
      only_tuners.insert(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "knob-tuning-bench: unknown argument '%s'\nusage: knob-tuning-bench [--full | "
                   "--short] [--out DIR] [--scenario ID]... [--tuner NAME]...\n"
                   "       knob-tuning-bench --score-real DIR [--scenario ID]...\n",
                   a.c_str());
      return 2;
    }
  }
  if (!real_dir.empty()) {
    std::vector<std::string> ids(only_scenarios.begin(), only_scenarios.end());
    if (ids.empty()) ids = {"closed_plateau", "limit_far_above", "flat"};
    return ScoreRealRuns(real_dir, ids);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Scenario> scenarios;
  for (Scenario& s : full ? AllScenarios() : ShortScenarios())
    if (only_scenarios.empty() || only_scenarios.count(s.id)) scenarios.push_back(s);
  if (scenarios.empty()) {
    std::fprintf(stderr, "knob-tuning-bench: no scenario matches\n");
    return 2;
  }
  std::map<std::string, Oracle> oracles;
  std::map<std::string, std::vector<Trace>> traces;
  std::vector<Result> results;
  int knobd_misses = 0;
  for (const Scenario& s : scenarios) {
    oracles[s.id] = SweepOracle(s);
    for (const std::string& name : TunerNames()) {
      if (!only_tuners.empty() && !only_tuners.count(name)) continue;
      auto tuner = MakeTuner(name, s);
      Trace t = RunTuner(s, *tuner);
      Scores sc = Score(s, oracles[s.id], t);
      std::string why;
      bool bar = MeetsBar(s, sc, &why);
      if (name == "knobd" && !bar) ++knobd_misses;
      std::printf(
          "%-16s %-11s conv %5.0f  steady %6.1f%%  res/knee %5.2f  viol %4d  recov %5.0f"
          "  changes %4d  rollbacks %3d  alarms %3d  %.2fs%s%s\n",
          s.id.c_str(), name.c_str(), sc.converge_ticks, sc.steady_pct, sc.resource_ratio,
          sc.violations_after, sc.recovery_ticks, sc.changes, sc.rollbacks, sc.false_alarms,
          t.wall_seconds, name == "knobd" ? (bar ? "  BAR ok" : "  BAR missed: ") : "",
          name == "knobd" ? why.c_str() : "");
      if (name == "knobd" && !t.note.empty())
        std::printf("%18s last decision: %s\n", "", t.note.c_str());
      results.push_back({s.id, name, sc});
      traces[s.id].push_back(std::move(t));
    }
  }
  if (!out.empty()) WriteResults(out, scenarios, oracles, traces, results);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%zu scenarios, %zu runs in %.1f s; knobd misses the bar in %d\n", scenarios.size(),
              results.size(), secs, knobd_misses);
  return 0;
}
