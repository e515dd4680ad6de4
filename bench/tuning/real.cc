// SPDX-License-Identifier: Apache-2.0
// The real runs' oracle and scores (real.h). Files, as bench/tuning/real.sh writes them:
//   DIR/<scenario>/meta            "key value" lines: knob, min, max, initial, slo_ms, flat,
//                                  resource, run_seconds, reps
//   DIR/<scenario>/sweep.csv       value,rep,unix,ok_per_s,errors_per_s,p99_ms (one second each)
//   DIR/<scenario>/<tuner>-<rep>/  load.csv (unix,ok_per_s,errors_per_s,p99_ms), knobs.csv
//                                  (unix,value as the service reported it), meta (rollbacks N,
//                                  shift_alarms N)
// The oracle of a real run: for each swept value the mean goodput over every measured second of
// every repetition and the share of seconds breaking a constraint; the best is the highest mean
// among values breaking it in at most 5% of seconds. The spread is the range of the per-
// repetition means at the best value over their mean. The knee is the smallest value whose mean
// is within max(1%, that spread) of the best: on a real machine two settings closer than the
// repetitions disagree cannot be told apart, so the smaller one is the knee.
#include "bench/tuning/real.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "bench/tuning/harness.h"

namespace knob::tuning {
namespace {

constexpr double kFeasibleViolations = 0.05;

using Meta = std::map<std::string, std::string>;

std::optional<Meta> ReadMeta(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Meta m;
  std::string k, v;
  while (in >> k >> v) m[k] = v;
  return m;
}

std::vector<std::vector<double>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::strtod(cell.c_str(), nullptr));
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

double Num(const Meta& m, const std::string& k, double fallback = 0) {
  auto it = m.find(k);
  return it == m.end() ? fallback : std::strtod(it->second.c_str(), nullptr);
}

// knobd's guard in the real runs' policy (real.sh writes the same numbers).
GuardSettings RealGuard() {
  GuardSettings g;
  g.cooldown = std::chrono::seconds(5);
  g.verification_window = std::chrono::seconds(5);
  g.min_samples = 5;
  return g;
}

struct SweepPoint {
  double value = 0, mean = 0, violations = 0;
  std::map<int, double> rep_mean;
  double spread = 0;  // (max - min) of rep_mean / mean
};

struct RealOracle {
  std::vector<SweepPoint> points;
  const SweepPoint* best = nullptr;
  const SweepPoint* knee = nullptr;
};

bool Breaks(const Scenario& s, double ok, double errors, double p99_ms) {
  Truth t;
  t.goodput = ok;
  t.errors = errors;
  t.p99_seconds = p99_ms / 1000;
  return s.Violates(t);
}

RealOracle Sweep(const Scenario& s, const std::vector<std::vector<double>>& rows) {
  RealOracle o;
  std::map<double, std::map<int, std::pair<double, int>>> sums;  // value -> rep -> (sum, n)
  std::map<double, std::pair<int, int>> bad;                     // value -> (bad, n)
  for (const auto& r : rows) {
    if (r.size() < 6) continue;
    auto& cell = sums[r[0]][static_cast<int>(r[1])];
    cell.first += r[3];
    ++cell.second;
    bad[r[0]].first += Breaks(s, r[3], r[4], r[5]);
    ++bad[r[0]].second;
  }
  for (const auto& [value, reps] : sums) {
    SweepPoint p;
    p.value = value;
    double sum = 0, lo = 1e300, hi = -1e300;
    int n = 0;
    for (const auto& [rep, cell] : reps) {
      sum += cell.first;
      n += cell.second;
      p.rep_mean[rep] = cell.first / std::max(1, cell.second);
      lo = std::min(lo, p.rep_mean[rep]);
      hi = std::max(hi, p.rep_mean[rep]);
    }
    p.mean = sum / std::max(1, n);
    p.spread = p.mean > 0 ? (hi - lo) / p.mean : 0;
    p.violations = static_cast<double>(bad[value].first) / std::max(1, bad[value].second);
    o.points.push_back(p);
  }
  for (const SweepPoint& p : o.points)
    if (p.violations <= kFeasibleViolations && (!o.best || p.mean > o.best->mean)) o.best = &p;
  if (!o.best)
    for (const SweepPoint& p : o.points)
      if (!o.best || p.violations < o.best->violations) o.best = &p;
  if (!o.best) return o;
  const double tolerance = std::max(0.01, o.best->spread);
  for (const SweepPoint& p : o.points) {  // ascending values: the first that qualifies
    if (p.mean < (1 - tolerance) * o.best->mean) continue;
    if (o.best->violations <= kFeasibleViolations && p.violations > kFeasibleViolations) continue;
    o.knee = &p;
    break;
  }
  if (!o.knee) o.knee = o.best;
  return o;
}

Oracle ToOracle(const Scenario& s, const RealOracle& r, size_t ticks) {
  Oracle o;
  PhaseOracle p;
  p.start = 0;
  p.end = static_cast<double>(ticks);
  p.best = {{s.knobs[0].name, r.best->value}};
  p.best_goodput = r.best->mean;
  p.best_violation_fraction = r.best->violations;
  p.feasible = r.best->violations <= kFeasibleViolations;
  p.knee = {{s.knobs[0].name, r.knee->value}};
  p.knee_goodput = r.knee->mean;
  o.phases.push_back(p);
  o.points = r.points.size();
  for (size_t i = 0; i < ticks; ++i) {
    o.reference_goodput.push_back(r.best->mean);
    // The best setting's own share of bad seconds, spread evenly.
    const double f = r.best->violations;
    o.reference_violated.push_back(std::floor((i + 1) * f) > std::floor(i * f));
  }
  return o;
}

std::optional<Trace> ReadRun(const Scenario& s, const std::string& dir, const std::string& tuner) {
  auto load = ReadCsv(dir + "/load.csv");
  auto knobs = ReadCsv(dir + "/knobs.csv");
  auto meta = ReadMeta(dir + "/meta");
  if (load.empty() || knobs.empty() || !meta) return std::nullopt;
  Trace t;
  t.tuner = tuner;
  size_t k = 0;
  for (const auto& r : load) {
    if (r.size() < 4) continue;
    while (k + 1 < knobs.size() && knobs[k + 1][0] <= r[0]) ++k;
    Truth truth;
    truth.goodput = r[1];
    truth.errors = r[2];
    truth.p99_seconds = r[3] / 1000;
    t.ticks.push_back(truth);
    t.knobs.push_back({{s.knobs[0].name, knobs[k].size() > 1 ? knobs[k][1] : 0}});
    t.violated.push_back(s.Violates(truth));
    if (t.knobs.size() > 1 && t.knobs.back() != t.knobs[t.knobs.size() - 2]) ++t.changes;
  }
  t.rollbacks = static_cast<int>(Num(*meta, "rollbacks"));
  t.shift_alarms = tuner == "knobd" ? static_cast<int>(Num(*meta, "shift_alarms", -1)) : -1;
  if (t.ticks.empty()) return std::nullopt;
  return t;
}

std::string Fmt(double v, int digits = 0) {
  if (std::isnan(v)) return "n/a";
  if (v < 0) return "never";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Row {
  std::string scenario, tuner, source;
  Scores sc;
  double final_value = 0;
};

}  // namespace

int ScoreRealRuns(const std::string& dir, const std::vector<std::string>& scenarios) {
  std::vector<Row> rows;
  std::vector<std::string> oracle_lines;
  std::map<std::string, Scenario> sims;
  for (const Scenario& s : AllScenarios()) sims[s.id] = s;
  for (const std::string& id : scenarios) {
    const std::string sdir = dir + "/" + id;
    auto meta = ReadMeta(sdir + "/meta");
    auto sweep_rows = ReadCsv(sdir + "/sweep.csv");
    if (!meta || sweep_rows.empty()) {
      std::fprintf(stderr, "knob-tuning-bench: %s has no meta or sweep.csv (run real.sh)\n",
                   sdir.c_str());
      return 1;
    }
    Scenario s;
    s.id = id;
    KnobSpec k;
    k.name = meta->at("knob");
    k.min = Num(*meta, "min");
    k.max = Num(*meta, "max");
    k.initial = Num(*meta, "initial");
    k.resource = Num(*meta, "resource") != 0;
    s.knobs = {k};
    s.p99_slo_seconds = Num(*meta, "slo_ms") / 1000;
    s.flat = Num(*meta, "flat") != 0;
    s.duration_seconds = Num(*meta, "run_seconds");
    RealOracle ro = Sweep(s, sweep_rows);
    if (!ro.best) {
      std::fprintf(stderr, "knob-tuning-bench: %s/sweep.csv has no usable point\n", sdir.c_str());
      return 1;
    }
    std::string sweep_text;
    for (const SweepPoint& p : ro.points) {
      sweep_text += (sweep_text.empty() ? "" : ", ") + Fmt(p.value) + ": " + Fmt(p.mean) + " (" +
                    Fmt(100 * p.spread) + "%)";
      if (p.violations > kFeasibleViolations) sweep_text += " slo " + Fmt(100 * p.violations) + "%";
    }
    char line[1024];
    std::snprintf(line, sizeof line,
                  "%s real oracle: best %s=%s at %.0f req/s (repetitions spread %.1f%%), knee "
                  "%s; sweep value: mean req/s (spread) = %s",
                  id.c_str(), k.name.c_str(), Fmt(ro.best->value).c_str(), ro.best->mean,
                  100 * ro.best->spread, Fmt(ro.knee->value).c_str(), sweep_text.c_str());
    oracle_lines.push_back(line);
    std::printf("%s\n", line);
    // The simulated twin: same id, same length, same guard timing.
    auto sim_it = sims.find(id);
    if (sim_it != sims.end()) {
      Scenario sim = sim_it->second;
      sim.duration_seconds = s.duration_seconds;
      sim.knobd_guard = RealGuard();
      Oracle so = SweepOracle(sim);
      std::snprintf(line, sizeof line, "%s sim oracle (%.0f s): best %s=%s at %.0f req/s, knee %s",
                    id.c_str(), sim.duration_seconds, k.name.c_str(),
                    Fmt(so.phases[0].best.at(k.name)).c_str(), so.phases[0].best_goodput,
                    Fmt(so.phases[0].knee.at(k.name)).c_str());
      oracle_lines.push_back(line);
      std::printf("%s\n", line);
      for (const char* tuner : {"static", "knobd"}) {
        auto t = MakeTuner(tuner, sim);
        Trace tr = RunTuner(sim, *t);
        rows.push_back({id, tuner, "sim", Score(sim, so, tr), tr.knobs.back().at(k.name)});
      }
    }
    for (const char* tuner : {"static", "knobd"}) {
      for (int rep = 1; rep <= static_cast<int>(Num(*meta, "reps", 1)); ++rep) {
        const std::string rdir = sdir + "/" + tuner + "-" + std::to_string(rep);
        auto tr = ReadRun(s, rdir, tuner);
        if (!tr) {
          std::fprintf(stderr, "knob-tuning-bench: %s is missing or empty\n", rdir.c_str());
          return 1;
        }
        Oracle o = ToOracle(s, ro, tr->ticks.size());
        rows.push_back({id, tuner, "real " + std::to_string(rep), Score(s, o, *tr),
                        tr->knobs.back().at(k.name)});
      }
    }
  }
  std::ofstream md(dir + "/tuning-real.md"), csv(dir + "/tuning-real.csv");
  csv << "scenario,tuner,source,converge_ticks,steady_pct,resource_vs_knee,violations_after,"
         "changes,rollbacks,final_value\n";
  md << "| scenario | tuner | run | converge (s) | steady % of oracle | resources / knee | "
        "violations after conv. | changes | rollbacks | final value |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    const Scores& sc = r.sc;
    std::printf(
        "%-16s %-7s %-7s conv %5s  steady %6.1f%%  res/knee %5s  viol %3d  changes %3d"
        "  rollbacks %2d  final %s\n",
        r.scenario.c_str(), r.tuner.c_str(), r.source.c_str(), Fmt(sc.converge_ticks).c_str(),
        sc.steady_pct, Fmt(sc.resource_ratio, 2).c_str(), sc.violations_after, sc.changes,
        sc.rollbacks, Fmt(r.final_value).c_str());
    csv << r.scenario << ',' << r.tuner << ',' << r.source << ',' << Fmt(sc.converge_ticks) << ','
        << Fmt(sc.steady_pct, 1) << ',' << Fmt(sc.resource_ratio, 2) << ',' << sc.violations_after
        << ',' << sc.changes << ',' << sc.rollbacks << ',' << Fmt(r.final_value) << '\n';
    md << "| " << r.scenario << " | " << r.tuner << " | " << r.source << " | "
       << Fmt(sc.converge_ticks) << " | " << Fmt(sc.steady_pct, 1) << " | "
       << Fmt(sc.resource_ratio, 2) << " | " << sc.violations_after << " | " << sc.changes << " | "
       << sc.rollbacks << " | " << Fmt(r.final_value) << " |\n";
  }
  md << '\n';
  for (const std::string& l : oracle_lines) md << "- " << l << '\n';
  return 0;
}

}  // namespace knob::tuning
