// SPDX-License-Identifier: Apache-2.0
// Runs, the oracle sweep, the scores and the output files of harness.h.
#include "bench/tuning/harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

namespace knob::tuning {
namespace {

constexpr double kWithin = 0.95;      // "within 5% of the oracle's best"
constexpr int kSmoothTicks = 20;      // moving average before judging "within"
constexpr double kKneeWithin = 0.99;  // the knee: within 1% of the best
constexpr double kOracleWarmup = 20, kOracleWindow = 120;
constexpr double kFeasibleViolations = 0.05;  // a setting may break the SLO in 5% of ticks

std::vector<std::string> Reported(const Scenario& s) {
  std::vector<std::string> v;
  for (const KnobSpec& k : s.knobs) v.push_back(k.name);
  return v;
}

// Every grid point of the tuned knobs.
std::vector<Knobs> Grid(const Scenario& s) {
  std::vector<Knobs> out = {s.fixed};
  for (const KnobSpec& k : s.knobs) {
    std::vector<Knobs> next;
    for (const Knobs& base : out)
      for (double v : k.grid) {
        Knobs p = base;
        p[k.name] = v;
        next.push_back(p);
      }
    out = std::move(next);
  }
  return out;
}

double ResourceScore(const Scenario& s, const Knobs& k) {
  double score = 0;
  for (const KnobSpec& spec : s.knobs) score += k.at(spec.name) / spec.max;
  return score;
}

}  // namespace

Trace RunTuner(const Scenario& s, Tuner& tuner) {
  auto t0 = std::chrono::steady_clock::now();
  Trace tr;
  tr.tuner = tuner.Name();
  Simulator sim(s.conditions, s.seed);
  Knobs knobs = s.Initial();
  tuner.Start(s, knobs);
  const std::vector<std::string> reported = Reported(s);
  const int ticks = static_cast<int>(s.duration_seconds);
  for (int i = 0; i < ticks; ++i) {
    Truth truth = sim.Tick(knobs);
    tr.ticks.push_back(truth);
    tr.knobs.push_back(knobs);
    tr.violated.push_back(s.Violates(truth));
    Snapshot snap;
    snap.host = sim.Host();
    snap.targets["svc"] = sim.Report(reported);
    Knobs change = tuner.Tick(snap, knobs);
    bool changed = false;
    for (const auto& [name, v] : change) {
      auto it = knobs.find(name);
      if (it == knobs.end() || !std::isfinite(v)) continue;
      const KnobSpec* spec = nullptr;
      for (const KnobSpec& k : s.knobs)
        if (k.name == name) spec = &k;
      if (!spec) continue;
      double clamped = std::clamp(v, spec->min, spec->max);
      if (clamped != it->second) {
        it->second = clamped;
        changed = true;
      }
    }
    if (changed) ++tr.changes;
  }
  tr.rollbacks = tuner.Rollbacks();
  tr.shift_alarms = tuner.ShiftAlarms();
  tr.note = tuner.Note();
  tr.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return tr;
}

Oracle SweepOracle(const Scenario& s) {
  Oracle o;
  std::vector<Knobs> grid = Grid(s);
  o.points = grid.size();
  for (auto [a, b] : s.Phases()) {
    PhaseOracle po;
    po.start = a;
    po.end = b;
    struct Point {
      Knobs k;
      double goodput;
      double violations;
    };
    std::vector<Point> pts;
    const double span = std::min(kOracleWindow, b - a - kOracleWarmup);
    for (const Knobs& k : grid) {
      Simulator sim(s.conditions, s.seed, a);
      double sum = 0;
      int bad = 0, n = 0;
      for (int i = 0; i < kOracleWarmup + span; ++i) {
        Truth t = sim.Tick(k);
        if (i < kOracleWarmup) continue;
        sum += t.goodput;
        bad += s.Violates(t);
        ++n;
      }
      pts.push_back({k, sum / std::max(1, n), static_cast<double>(bad) / std::max(1, n)});
    }
    const Point* best = nullptr;
    for (const Point& p : pts)
      if (p.violations <= kFeasibleViolations && (!best || p.goodput > best->goodput)) best = &p;
    if (!best) {
      po.feasible = false;
      for (const Point& p : pts)
        if (!best || p.violations < best->violations ||
            (p.violations == best->violations && p.goodput > best->goodput))
          best = &p;
    }
    po.best = best->k;
    po.best_goodput = best->goodput;
    po.best_violation_fraction = best->violations;
    const Point* knee = best;
    for (const Point& p : pts) {
      if (p.goodput < kKneeWithin * best->goodput) continue;
      if (po.feasible && p.violations > kFeasibleViolations) continue;
      if (ResourceScore(s, p.k) < ResourceScore(s, knee->k)) knee = &p;
    }
    po.knee = knee->k;
    po.knee_goodput = knee->goodput;
    o.phases.push_back(po);
  }
  Simulator sim(s.conditions, s.seed);
  for (int i = 0; i < static_cast<int>(s.duration_seconds); ++i) {
    const Knobs* k = &o.phases.front().best;
    for (const PhaseOracle& po : o.phases)
      if (i >= po.start) k = &po.best;
    Truth t = sim.Tick(*k);
    o.reference_goodput.push_back(t.goodput);
    o.reference_violated.push_back(s.Violates(t));
  }
  return o;
}

Scores Score(const Scenario& s, const Oracle& o, const Trace& t) {
  Scores sc;
  sc.changes = t.changes;
  sc.rollbacks = t.rollbacks;
  const int n = static_cast<int>(t.ticks.size());
  for (int i = 1; i < n; ++i)
    if (i >= 60 && t.knobs[i] != t.knobs[i - 1]) ++sc.changes_after_60s;
  if (t.shift_alarms >= 0)
    sc.false_alarms = std::max(0, t.shift_alarms - static_cast<int>(s.shifts.size()));
  sc.steady_pct = std::numeric_limits<double>::infinity();
  sc.resource_ratio = 0;
  bool any_resource = false;
  sc.recovery_ticks = s.shifts.empty() ? std::nan("") : 0;
  for (size_t p = 0; p < o.phases.size(); ++p) {
    const PhaseOracle& po = o.phases[p];
    const int a = static_cast<int>(po.start), b = std::min(n, static_cast<int>(po.end));
    // Ratio of the smoothed objective to the smoothed reference; converged from the first tick
    // after which it stays within 5%.
    std::vector<double> ratio(b - a);
    double acc = 0, acc_ref = 0;
    for (int i = a; i < b; ++i) {
      acc += t.ticks[i].goodput;
      acc_ref += o.reference_goodput[i];
      if (i - a >= kSmoothTicks) {
        acc -= t.ticks[i - kSmoothTicks].goodput;
        acc_ref -= o.reference_goodput[i - kSmoothTicks];
      }
      ratio[i - a] = acc / std::max(1e-9, acc_ref);
    }
    int converged = -1;
    for (int i = b - 1; i >= a; --i) {
      if (ratio[i - a] < kWithin) break;
      converged = i;
    }
    double ticks_to = converged < 0 ? -1 : converged - a;
    if (p == 0)
      sc.converge_ticks = ticks_to;
    else if (ticks_to < 0 || sc.recovery_ticks < 0)
      sc.recovery_ticks = -1;
    else
      sc.recovery_ticks = std::max(sc.recovery_ticks, ticks_to);
    // Steady state: the phase's last third.
    const int from = a + (b - a) * 2 / 3;
    double sum = 0, sum_ref = 0;
    std::map<std::string, double> knob_sum;
    for (int i = from; i < b; ++i) {
      sum += t.ticks[i].goodput;
      sum_ref += o.reference_goodput[i];
      for (const KnobSpec& k : s.knobs) knob_sum[k.name] += t.knobs[i].at(k.name);
    }
    const int len = std::max(1, b - from);
    sc.steady_pct = std::min(sc.steady_pct, 100.0 * sum / std::max(1e-9, sum_ref));
    for (const KnobSpec& k : s.knobs) {
      if (!k.resource || s.flat) continue;
      any_resource = true;
      sc.resource_ratio =
          std::max(sc.resource_ratio, knob_sum[k.name] / len / std::max(1e-9, po.knee.at(k.name)));
    }
    // Violations after convergence (or over the steady window if it never converged), past
    // what the oracle's own best setting shows in that many ticks.
    const int vfrom = converged < 0 ? from : converged;
    int bad = 0, expected = 0;
    for (int i = vfrom; i < b; ++i) {
      bad += t.violated[i];
      expected += o.reference_violated[i];
    }
    sc.violations_after += std::max(0, bad - expected);
  }
  if (!any_resource) sc.resource_ratio = std::nan("");
  return sc;
}

bool MeetsBar(const Scenario& s, const Scores& sc, std::string* why) {
  std::ostringstream w;
  w << std::fixed << std::setprecision(1);
  if (!(sc.steady_pct >= 95)) w << "steady objective " << sc.steady_pct << "% < 95%; ";
  if (std::isfinite(sc.resource_ratio) && sc.resource_ratio > 1.25)
    w << "resources " << sc.resource_ratio << "x the knee > 1.25x; ";
  if (sc.violations_after > 0) w << sc.violations_after << " violation ticks after convergence; ";
  if (sc.converge_ticks < 0) w << "never converged; ";
  if (!std::isnan(sc.recovery_ticks) && (sc.recovery_ticks < 0 || sc.recovery_ticks >= 20))
    w << "recovery " << sc.recovery_ticks << " ticks (need < 20); ";
  if (s.flat && sc.changes_after_60s > 0)
    w << sc.changes_after_60s << " changes on the flat landscape after 60 s; ";
  std::string text = w.str();
  if (text.size() >= 2) text.resize(text.size() - 2);
  if (why) *why = text;
  return text.empty();
}

namespace {

std::string Fmt(double v, int digits = 0) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
std::string Ticks(double v) { return std::isnan(v) ? "n/a" : v < 0 ? "never" : Fmt(v); }

std::string KnobsText(const Scenario& s, const Knobs& k) {
  std::string out;
  for (const KnobSpec& spec : s.knobs) {
    if (!out.empty()) out += ", ";
    double v = k.at(spec.name);
    out += spec.name + "=" + (spec.name == kCache ? Fmt(v / 1048576.0) + "MiB" : Fmt(v));
  }
  return out;
}

}  // namespace

void WriteResults(const std::string& dir, const std::vector<Scenario>& scenarios,
                  const std::map<std::string, Oracle>& oracles,
                  const std::map<std::string, std::vector<Trace>>& traces,
                  const std::vector<Result>& results) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/series");
  fs::create_directories(dir + "/plots");
  std::ofstream csv(dir + "/tuning-results.csv");
  csv << "scenario,tuner,converge_ticks,steady_pct,resource_vs_knee,violations_after,"
         "recovery_ticks,changes,rollbacks,changes_after_60s,false_alarms,meets_bar\n";
  std::ofstream md(dir + "/tuning-results.md");
  md << "| scenario | tuner | converge (ticks) | steady % of oracle | resources / knee | "
        "violations after conv. | recovery (ticks) | changes | rollbacks | shift false alarms | "
        "knobd's bar |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::map<std::string, const Scenario*> by_id;
  for (const Scenario& s : scenarios) by_id[s.id] = &s;
  for (const Result& r : results) {
    const Scores& sc = r.scores;
    std::string why;
    bool bar = MeetsBar(*by_id[r.scenario], sc, &why);
    csv << r.scenario << ',' << r.tuner << ',' << Ticks(sc.converge_ticks) << ','
        << Fmt(sc.steady_pct, 1) << ',' << Fmt(sc.resource_ratio, 2) << ',' << sc.violations_after
        << ',' << Ticks(sc.recovery_ticks) << ',' << sc.changes << ',' << sc.rollbacks << ','
        << sc.changes_after_60s << ',' << (sc.false_alarms < 0 ? "n/a" : Fmt(sc.false_alarms))
        << ',' << (bar ? "yes" : "no") << '\n';
    md << "| " << r.scenario << " | " << r.tuner << " | " << Ticks(sc.converge_ticks) << " | "
       << Fmt(sc.steady_pct, 1) << " | " << Fmt(sc.resource_ratio, 2) << " | "
       << sc.violations_after << " | " << Ticks(sc.recovery_ticks) << " | " << sc.changes << " | "
       << sc.rollbacks << " | " << (sc.false_alarms < 0 ? "n/a" : Fmt(sc.false_alarms)) << " | "
       << (r.tuner != "knobd" ? ""
           : bar              ? "met"
                              : "missed: " + why)
       << " |\n";
  }
  // Who converged first in each scenario (the "fewer ticks than every baseline"); ties
  // are listed together.
  std::map<std::string, double> fastest;
  for (const Result& r : results) {
    double c = r.scores.converge_ticks;
    if (c < 0) continue;
    auto it = fastest.find(r.scenario);
    if (it == fastest.end() || c < it->second) fastest[r.scenario] = c;
  }
  int knobd_first = 0, knobd_alone = 0;
  md << "\nFirst to converge:";
  for (const Scenario& s : scenarios) {
    auto it = fastest.find(s.id);
    md << ' ' << s.id << ' ';
    if (it == fastest.end()) {
      md << "none;";
      continue;
    }
    std::vector<std::string> who;
    for (const Result& r : results)
      if (r.scenario == s.id && r.scores.converge_ticks == it->second) who.push_back(r.tuner);
    for (size_t i = 0; i < who.size(); ++i) md << (i ? "=" : "") << who[i];
    md << " (" << Fmt(it->second) << ");";
    if (std::find(who.begin(), who.end(), "knobd") != who.end()) {
      ++knobd_first;
      knobd_alone += who.size() == 1;
    }
  }
  md << " knobd first in " << knobd_first << " of " << scenarios.size() << " (alone in "
     << knobd_alone << ").\n";
  md << "\n| scenario | phase | oracle best | best goodput/s | knee | settings swept |\n"
        "|---|---|---|---|---|---|\n";
  for (const Scenario& s : scenarios) {
    auto it = oracles.find(s.id);
    if (it == oracles.end()) continue;
    for (size_t p = 0; p < it->second.phases.size(); ++p) {
      const PhaseOracle& po = it->second.phases[p];
      md << "| " << s.id << " | " << Fmt(po.start) << "-" << Fmt(po.end) << " s | "
         << KnobsText(s, po.best) << (po.feasible ? "" : " (no setting meets the SLO)") << " | "
         << Fmt(po.best_goodput) << " | " << KnobsText(s, po.knee) << " | " << it->second.points
         << " |\n";
    }
  }
  // Series: one row per tick, per tuner goodput, p99 (ms) and the first knob.
  for (const Scenario& s : scenarios) {
    auto it = traces.find(s.id);
    if (it == traces.end()) continue;
    const std::vector<Trace>& ts = it->second;
    std::ofstream dat(dir + "/series/" + s.id + ".dat");
    dat << "# t oracle";
    for (const Trace& t : ts)
      dat << ' ' << t.tuner << "_goodput " << t.tuner << "_p99ms " << t.tuner << "_knob";
    dat << '\n';
    const Oracle& o = oracles.at(s.id);
    const double scale = s.knobs.front().name == kCache ? 1048576.0 : 1.0;
    for (size_t i = 0; i < ts.front().ticks.size(); ++i) {
      dat << i << ' ' << o.reference_goodput[i];
      for (const Trace& t : ts)
        dat << ' ' << t.ticks[i].goodput << ' ' << t.ticks[i].p99_seconds * 1000 << ' '
            << t.knobs[i].at(s.knobs.front().name) / scale;
      dat << '\n';
    }
    std::ofstream gp(dir + "/plots/" + s.id + ".gp");
    gp << "set terminal pngcairo size 1000,780 font ',8' noenhanced\n"
       << "set output '" << dir << "/plots/tuning-" << s.id << ".png'\n"
       << "set multiplot layout 3,1 title '" << s.title << "'\n"
       << "set key outside right\nset xlabel 'simulated seconds'\n";
    auto series = [&](int offset, const std::string& ylabel, bool oracle, bool log) {
      gp << "set ylabel '" << ylabel << "'\n" << (log ? "set logscale y\n" : "unset logscale y\n");
      gp << "plot ";
      if (oracle)
        gp << "'" << dir << "/series/" << s.id
           << ".dat' u 1:2 w l lw 2 dt 2 lc rgb 'black' t 'oracle', ";
      for (size_t j = 0; j < ts.size(); ++j) {
        // Fixed colours per tuner across the three panels; knobd drawn thicker.
        gp << "'" << dir << "/series/" << s.id << ".dat' u 1:" << 3 + 3 * j + offset << " w l lc "
           << j + 1 << " lw " << (ts[j].tuner == "knobd" ? 2 : 1) << " t '" << ts[j].tuner << "'"
           << (j + 1 < ts.size() ? ", " : "\n");
      }
    };
    series(0, "goodput (req/s)", true, false);
    gp << "set arrow from graph 0, first " << s.p99_slo_seconds * 1000 << " to graph 1, first "
       << s.p99_slo_seconds * 1000 << " nohead dt 3\n";
    series(1, "p99 (ms), SLO dotted", false, true);
    gp << "unset arrow\n";
    series(2, s.knobs.front().name + (scale > 1 ? " (MiB)" : ""), false, false);
    gp << "unset multiplot\n";
  }
}

}  // namespace knob::tuning
