// SPDX-License-Identifier: Apache-2.0
// Over 500 lines on purpose: one renderer per command's reply, next to the request it sends, so
// the text a user sees for each command is read in one place (docs/knobctl.md mirrors it).
#include "daemon/knobctl/knobctl.h"

#include <getopt.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "config/policy_loader.h"
#include "config/units.h"
#include "core/format.h"
#include "core/protocol/codec.h"
#include "core/protocol/recommendation_json.h"
#include "daemon/control/commands.h"
#include "daemon/knobctl/client.h"
#include "daemon/knobctl/render.h"
#include "daemon/knobctl/top.h"
#include "knob/version.h"

namespace knob {
namespace {

using ctl::Age;
using ctl::Color;
using ctl::Num;
using ctl::Paint;
using ctl::Seconds;
using ctl::Style;
using ctl::Table;

constexpr const char* kDefaultSocket = "/run/knobd/control.sock";

enum class ColorMode { kAuto, kAlways, kNever };

struct Options {
  std::string socket;
  bool json = false;
  bool help = false;
  bool version = false;
  bool follow = false;
  bool all = false;  // pause, restore: every target
  uint32_t limit = 0;
  double timeout_seconds = 10;
  std::optional<double> interval_seconds;
  uint64_t count = 0;  // top / follow: stop after N refreshes; 0 = until interrupted
  ColorMode color = ColorMode::kAuto;
  std::string plot;
  std::optional<double> sample_rate;
  std::string command;
  std::vector<std::string> args;
};

std::string GlobalHelp() {
  return "usage: knobctl [OPTIONS] COMMAND [ARGS]\n"
         "\n"
         "Operator CLI for knobd.\n\ncommands:\n" +
         CommandsHelp() +
         "\noptions (anywhere on the line; --opt=value or --opt value; -- ends options):\n"
         "  -s, --socket PATH     control socket (default $KNOBD_SOCKET or "
         "$KNOBD_CONTROL_SOCKET, else " +
         std::string(kDefaultSocket) +
         ")\n"
         "  -j, --json            print the result as JSON (one line; --follow: one per event)\n"
         "  -n, --limit N         history: newest N recommendations\n"
         "  -f, --follow          history: keep printing new recommendations and outcomes\n"
         "  -a, --all             pause / restore: every target instead of TARGET\n"
         "  -i, --interval SEC    top / --follow: refresh period (default: knobd's tick)\n"
         "  -c, --count N         top / --follow: stop after N refreshes\n"
         "      --color[=WHEN]    auto (default: on a terminal, unless NO_COLOR), always, never\n"
         "      --no-color        same as --color=never\n"
         "      --plot FILE       analyze usl: also draw the fit into FILE (PNG, gnuplot)\n"
         "      --sample-rate R   analyze mrc: SHARDS sampling rate in (0, 1]\n"
         "  -t, --timeout SEC     give up waiting for knobd after SEC seconds (default 10)\n"
         "  -V, --version         knobctl's version\n"
         "  -h, --help            this help; `knobctl COMMAND --help` for one command\n"
         "\nexit codes: 0 ok, 1 knobd answered with an error, 2 usage error, 3 cannot connect\n";
}

std::optional<double> PositiveNumber(const char* text) {
  char* end = nullptr;
  double d = std::strtod(text, &end);
  if (end == text || *end != '\0' || d <= 0 || !std::isfinite(d)) return std::nullopt;
  return d;
}

// getopt_long keeps its state in globals; in-process callers (tests) may run knobctl from
// several threads.
std::mutex getopt_mu;

std::optional<std::string> Parse(const std::vector<std::string>& args, Options& o) {
  static const option kLong[] = {{"socket", required_argument, nullptr, 's'},
                                 {"json", no_argument, nullptr, 'j'},
                                 {"limit", required_argument, nullptr, 'n'},
                                 {"follow", no_argument, nullptr, 'f'},
                                 {"all", no_argument, nullptr, 'a'},
                                 {"interval", required_argument, nullptr, 'i'},
                                 {"count", required_argument, nullptr, 'c'},
                                 {"color", optional_argument, nullptr, 'C'},
                                 {"colour", optional_argument, nullptr, 'C'},
                                 {"no-color", no_argument, nullptr, 'N'},
                                 {"plot", required_argument, nullptr, 'P'},
                                 {"sample-rate", required_argument, nullptr, 'R'},
                                 {"timeout", required_argument, nullptr, 't'},
                                 {"version", no_argument, nullptr, 'V'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  std::vector<std::string> storage = {"knobctl"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::lock_guard<std::mutex> lock(getopt_mu);
  optind = 0;  // GNU: 0 re-initialises the scanner
  opterr = 0;
  int argc = static_cast<int>(storage.size());
  for (int c; (c = getopt_long(argc, argv.data(), ":s:jn:fai:c:t:Vh", kLong, nullptr)) != -1;) {
    const std::string flag = argv[static_cast<size_t>(optind - 1)];
    auto number = [&](const char* what) -> std::optional<std::string> {
      if (!PositiveNumber(optarg))
        return flag + " needs a positive " + what + ", got '" + optarg + "'";
      return std::nullopt;
    };
    switch (c) {
      case 's':
        if (*optarg == '\0') return "--socket needs a path";
        o.socket = optarg;
        break;
      case 'j':
        o.json = true;
        break;
      case 'n':
        if (auto e = number("number")) return e;
        o.limit = static_cast<uint32_t>(std::min(*PositiveNumber(optarg), 1e9));
        break;
      case 'f':
        o.follow = true;
        break;
      case 'a':
        o.all = true;
        break;
      case 'i':
        if (auto e = number("number of seconds")) return e;
        o.interval_seconds = std::max(0.05, *PositiveNumber(optarg));
        break;
      case 'c':
        if (auto e = number("number")) return e;
        o.count = static_cast<uint64_t>(*PositiveNumber(optarg));
        break;
      case 'C': {
        std::string when = optarg ? optarg : "always";
        if (when == "auto")
          o.color = ColorMode::kAuto;
        else if (when == "always" || when == "yes")
          o.color = ColorMode::kAlways;
        else if (when == "never" || when == "no")
          o.color = ColorMode::kNever;
        else
          return "--color must be auto, always or never, got '" + when + "'";
        break;
      }
      case 'N':
        o.color = ColorMode::kNever;
        break;
      case 'P':
        if (*optarg == '\0') return "--plot needs a file name";
        o.plot = optarg;
        break;
      case 'R': {
        auto r = PositiveNumber(optarg);
        if (!r || *r > 1)
          return std::string("--sample-rate must be in (0, 1], got '") + optarg + "'";
        o.sample_rate = r;
        break;
      }
      case 't':
        if (auto e = number("number of seconds")) return e;
        o.timeout_seconds = *PositiveNumber(optarg);
        break;
      case 'V':
        o.version = true;
        break;
      case 'h':
        o.help = true;
        break;
      case ':':
        return flag.substr(0, flag.find('=')) + " needs a value";
      default:
        return "unknown option '" + flag + "'";
    }
  }
  for (int i = optind; i < argc; ++i) {
    if (o.command.empty())
      o.command = argv[static_cast<size_t>(i)];
    else
      o.args.emplace_back(argv[static_cast<size_t>(i)]);
  }
  return std::nullopt;
}

// ---- rendering ----

void PrintStatus(const protocol::StatusInfo& s, std::ostream& out) {
  std::string degraded;
  for (const auto& d : s.degraded) degraded += (degraded.empty() ? "" : "; ") + d;
  ctl::KeyValues(out, {{"knobd", s.version.empty() ? "?" : s.version},
                       {"pid", std::to_string(s.pid)},
                       {"uptime", Seconds(s.uptime_seconds)},
                       {"mode", s.mode},
                       {"policy", s.policy_source},
                       {"tick", Seconds(s.tick_interval_seconds)},
                       {"targets", std::to_string(s.targets)},
                       {"clients", std::to_string(s.clients)},
                       {"degraded", degraded.empty() ? "none" : degraded}});
}

void PrintTargets(const std::vector<protocol::TargetInfo>& ts, std::ostream& out, const Style& st) {
  if (ts.empty()) {
    out << "no targets (add some to the policy file, or connect a client)\n";
    return;
  }
  Table t({"TARGET", "STATE", "PHASE", "MODE", "CLIENT", "INST", "PID", "LAST REPORT", "REPORTS",
           "RECS"});
  for (const auto& x : ts) {
    std::string phase = x.phase.empty() ? "-" : x.phase;
    t.Row({x.name, x.state, phase, x.mode, x.connected ? "connected" : "-",
           x.instances != 0 ? std::to_string(x.instances) : "-",
           x.pid != 0 ? std::to_string(x.pid) : "-",
           x.last_report_age_seconds ? Seconds(*x.last_report_age_seconds) + " ago" : "-",
           std::to_string(x.reports), std::to_string(x.recommendations)},
          {Color::kNone, x.state == "active" ? Color::kNone : Color::kYellow,
           ctl::PhaseColor(phase)});
  }
  t.Print(out, st);
}

// One row per process of a target served by several: the report above is their merge.
void PrintInstances(const std::vector<protocol::InstanceInfo>& is, std::ostream& out,
                    const Style& st) {
  out << "\ninstances (the report above is their sum; latency merged):\n";
  Table t({"PID", "LAST REPORT", "REPORTS", "REQUESTS", "IN FLIGHT", "POOLS", "CACHES"});
  for (const auto& i : is) {
    std::string pools = "-", caches = "-";
    if (i.app) {
      std::string p, c;
      for (const auto& [n, pool] : i.app->pools)
        p += (p.empty() ? "" : " ") + n + " " + Num(pool.busy) + "/" + Num(pool.size);
      for (const auto& [n, cache] : i.app->caches)
        c += (c.empty() ? "" : " ") + n + " " + FormatSize(static_cast<uint64_t>(cache.bytes));
      if (!p.empty()) pools = p;
      if (!c.empty()) caches = c;
    }
    t.Row({std::to_string(i.pid),
           i.last_report_age_seconds ? Seconds(*i.last_report_age_seconds) + " ago" : "-",
           std::to_string(i.reports), i.app ? Num(i.app->requests_total) : "-",
           i.app ? Num(i.app->in_flight) : "-", pools, caches});
  }
  t.Print(out, st);
}

void PrintShow(const protocol::ShowInfo& s, std::ostream& out, const Style& st) {
  const auto& t = s.target;
  out << t.name << ": " << t.state << ", mode " << t.mode;
  if (t.instances > 1) {
    out << ", " << t.instances << " instances";
  } else if (t.pid != 0) {
    out << ", pid " << t.pid;
  }
  out << (t.connected ? ", client connected" : ", no client") << '\n';
  if (s.app) {
    const AppReport& a = *s.app;
    out << "\napplication report";
    if (t.last_report_age_seconds) out << " (" << Seconds(*t.last_report_age_seconds) << " ago)";
    out << ":\n";
    std::vector<std::pair<std::string, std::string>> kv = {
        {"  requests_total", Num(a.requests_total)},
        {"  errors_total", Num(a.errors_total)},
        {"  in_flight", Num(a.in_flight)},
        {"  queue_depth", Num(a.queue_depth)}};
    if (a.latency_p50_seconds) kv.push_back({"  latency p50", Seconds(*a.latency_p50_seconds)});
    if (a.latency_p90_seconds) kv.push_back({"  latency p90", Seconds(*a.latency_p90_seconds)});
    if (a.latency_p99_seconds) kv.push_back({"  latency p99", Seconds(*a.latency_p99_seconds)});
    if (a.allocator)
      kv.push_back({"  allocator", a.allocator->kind + " allocated " +
                                       FormatSize(static_cast<uint64_t>(a.allocator->allocated)) +
                                       ", resident " +
                                       FormatSize(static_cast<uint64_t>(a.allocator->resident))});
    ctl::KeyValues(out, kv);
    if (!a.pools.empty()) {
      out << '\n';
      Table pt({"POOL", "SIZE", "BUSY", "WAITERS"});
      for (const auto& [n, p] : a.pools) pt.Row({n, Num(p.size), Num(p.busy), Num(p.waiters)});
      pt.Print(out, st);
    }
    if (!a.caches.empty()) {
      out << '\n';
      Table ct({"CACHE", "HITS", "MISSES", "HIT RATIO", "BYTES", "CAPACITY"});
      for (const auto& [n, c] : a.caches) {
        double total = c.hits_total + c.misses_total;
        ct.Row({n, Num(c.hits_total), Num(c.misses_total),
                total > 0 ? Num(c.hits_total / total) : "-",
                FormatSize(static_cast<uint64_t>(c.bytes)),
                FormatSize(static_cast<uint64_t>(c.capacity_bytes))});
      }
      ct.Print(out, st);
    }
  }
  if (!s.instances.empty()) PrintInstances(s.instances, out, st);
  if (!s.knobs.empty()) {
    out << '\n';
    Table kt({"KNOB", "VALUE", "MIN", "MAX", "UNIT"});
    for (const auto& k : s.knobs)
      kt.Row({k.name, Num(k.value), k.min ? Num(*k.min) : "-", k.max ? Num(*k.max) : "-",
              k.unit.empty() ? "-" : k.unit});
    kt.Print(out, st);
  }
  if (!s.metrics.empty()) {
    out << '\n';
    Table mt({"METRIC", "VALUE"});
    for (const auto& [k, v] : s.metrics) mt.Row({k, Num(v)});
    mt.Print(out, st);
  }
  if (!s.model.empty()) {
    out << '\n';
    Table mt({"MODEL", "VALUE"});
    for (const auto& [k, v] : s.model) mt.Row({k, Num(v)});
    mt.Print(out, st);
  }
  for (const auto& n : s.notes) out << "note: " << n << '\n';
}

// `knobctl explain TARGET`: the show reply's notes alone, the words for what knobd does now.
void PrintTargetNow(const protocol::ShowInfo& s, std::ostream& out) {
  out << s.target.name << ": " << s.target.state << ", mode " << s.target.mode << '\n';
  if (s.notes.empty()) out << "nothing to explain yet: knobd has no model of it\n";
  for (const auto& n : s.notes) out << "  " << n << '\n';
}

void HistoryRow(Table& t, const Recommendation& r, WallTime now) {
  std::string outcome(OutcomeName(r.outcome));
  t.Row({std::to_string(r.id), Age(r.created, now), r.knob,
         Num(r.old_value) + " -> " + Num(r.new_value), outcome, r.reason},
        {Color::kNone, Color::kNone, Color::kNone, Color::kNone, ctl::OutcomeColor(outcome)});
}

const std::vector<std::string> kHistoryHeaders = {"ID",     "AGE",     "KNOB",
                                                  "CHANGE", "OUTCOME", "REASON"};

void PrintHistory(const std::vector<Recommendation>& hs, std::ostream& out, const Style& st) {
  if (hs.empty()) {
    out << "no recommendations yet\n";
    return;
  }
  Table t(kHistoryHeaders);
  auto now = std::chrono::system_clock::now();
  for (const auto& r : hs) HistoryRow(t, r, now);
  t.Print(out, st);
}

void PrintExplain(const Recommendation& r, const std::vector<std::string>& steps, std::ostream& out,
                  const Style& st) {
  std::string outcome(OutcomeName(r.outcome));
  out << "recommendation " << r.id << " for " << r.target << ": " << r.knob << " "
      << Num(r.old_value) << " -> " << Num(r.new_value) << " ("
      << Paint(st, ctl::OutcomeColor(outcome), outcome) << (r.advisory ? ", advisory" : "")
      << ")\n";
  std::vector<std::pair<std::string, std::string>> kv = {
      {"created",
       ctl::Time(r.created) + " (" + Age(r.created, std::chrono::system_clock::now()) + ")"},
      {"optimizer", r.optimizer.empty() ? "-" : r.optimizer},
      {"scenario", r.scenario.empty() ? "-" : r.scenario},
      {"reason", r.reason},
      {"confidence", Num(r.confidence)}};
  if (!r.binding_constraint.empty()) kv.push_back({"binding", r.binding_constraint});
  if (!r.outcome_reason.empty()) kv.push_back({"outcome", r.outcome_reason});
  ctl::KeyValues(out, kv);
  auto map = [&](const char* title, const std::map<std::string, double>& m) {
    if (m.empty()) return;
    out << title << ":\n";
    for (const auto& [k, v] : m) out << "  " << k << " = " << Num(v) << '\n';
  };
  map("triggers", r.triggers);
  map("predicted", r.predicted);
  map("realized", r.realized);
  if (!r.verdicts.empty()) {
    out << "guards:\n";
    for (const auto& v : r.verdicts)
      out << "  " << v.guard << ": " << VerdictName(v.verdict)
          << (v.reason.empty() ? "" : " - " + v.reason) << '\n';
  }
  for (const auto& t : r.trade_offs) out << "trade-off: " << t << '\n';
  if (!steps.empty()) {
    out << "steps:\n";
    for (size_t i = 0; i < steps.size(); ++i) out << "  " << i + 1 << ". " << steps[i] << '\n';
  }
}

// One line of JSON; invalid UTF-8 (a file name) is replaced rather than thrown on.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int CheckConfig(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  PolicyLoad load = LoadPolicyFile(path);
  if (json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : load.errors) errors.push_back(d.ToString());
    out << Dump({{"file", path},
                 {"ok", load.ok()},
                 {"targets", load.ok() ? load.policy->targets.size() : 0},
                 {"errors", errors}})
        << '\n';
    return load.ok() ? kKnobctlOk : kKnobctlDaemonError;
  }
  if (!load.ok()) {
    for (const auto& d : load.errors) err << d.ToString() << '\n';
    err << path << ": " << load.errors.size() << " error(s)\n";
    return kKnobctlDaemonError;
  }
  out << path << ": ok (" << load.policy->targets.size() << " targets)\n";
  return kKnobctlOk;
}

// Set by SIGINT/SIGTERM while a long-running command (top, --follow) runs.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnInterrupt(int) { g_interrupted = 1; }

// `history TARGET --follow`: the newest records first, then every new record and every outcome
// change as it happens, until interrupted or --count polls.
int FollowHistory(const Options& o, const protocol::AdminRequest& base, std::ostream& out,
                  std::ostream& err, const Style& st, double interval) {
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  g_interrupted = 0;
  std::map<uint64_t, Outcome> seen;
  bool header = false;
  int rc = kKnobctlOk;
  for (uint64_t polls = 0; !g_interrupted && (o.count == 0 || polls < o.count); ++polls) {
    if (polls > 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval);
      while (!g_interrupted && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (g_interrupted) break;
    }
    protocol::AdminRequest req = base;
    req.limit = polls == 0 && o.limit != 0 ? o.limit : (polls == 0 ? 20 : 100);
    ctl::Reply r = ctl::Ask(o.socket, o.timeout_seconds, req, err);
    if (r.exit_code != kKnobctlOk) {
      rc = r.exit_code;
      break;
    }
    std::vector<Recommendation> fresh;
    for (const auto& rec : r.reply->history ? *r.reply->history : std::vector<Recommendation>{}) {
      auto it = seen.find(rec.id);
      if (it == seen.end() || it->second != rec.outcome) fresh.push_back(rec);
    }
    // Oldest first, so the stream reads top to bottom in time order.
    std::sort(fresh.begin(), fresh.end(),
              [](const Recommendation& a, const Recommendation& b) { return a.id < b.id; });
    auto now = std::chrono::system_clock::now();
    for (const auto& rec : fresh) {
      seen[rec.id] = rec.outcome;
      if (o.json) {
        out << Dump(protocol::RecommendationToJson(rec)) << '\n';
        continue;
      }
      Table t(kHistoryHeaders);
      HistoryRow(t, rec, now);
      std::ostringstream block;
      t.Print(block, Style{st.color, 0});
      std::string text = block.str();
      size_t nl = text.find('\n');
      if (!header) out << text.substr(0, nl + 1);
      header = true;
      out << text.substr(nl + 1);
    }
    out.flush();
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return rc;
}

}  // namespace

int RunKnobctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const KnobctlEnv& env) {
  Options o;
  if (auto problem = Parse(args, o)) {
    err << "knobctl: " << *problem << "\n(see knobctl --help)\n";
    return kKnobctlUsage;
  }
  if (o.version) {
    if (o.json)
      out << Dump({{"knobctl", KNOB_VERSION}}) << '\n';
    else
      out << "knobctl " << KNOB_VERSION << '\n';
    return kKnobctlOk;
  }
  if (o.command.empty()) {
    (o.help ? out : err) << GlobalHelp();
    return o.help ? kKnobctlOk : kKnobctlUsage;
  }
  if (o.command == "help") {
    out << GlobalHelp();
    return kKnobctlOk;
  }
  const CommandSpec* spec = FindCommand(o.command);
  if (spec == nullptr) {
    err << "knobctl: unknown command '" << o.command << "'\n\ncommands:\n" << CommandsHelp();
    return kKnobctlUsage;
  }
  if (o.help) {
    out << CommandHelp(*spec);
    return kKnobctlOk;
  }
  const bool takes_all =
      spec->op == protocol::AdminOp::kPause || spec->op == protocol::AdminOp::kRestore;
  if (o.all && !takes_all) {
    err << "knobctl: --all is for pause and restore\n";
    return kKnobctlUsage;
  }
  // --all stands in for the TARGET argument.
  int n = static_cast<int>(o.args.size()) + (o.all ? 1 : 0);
  if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args)) {
    err << "knobctl: " << spec->name << " takes "
        << (spec->args.empty() ? std::string("no arguments") : std::string(spec->args)) << "\n"
        << CommandHelp(*spec);
    return kKnobctlUsage;
  }
  if (o.follow && spec->name != "history") {
    err << "knobctl: --follow is for history\n";
    return kKnobctlUsage;
  }
  auto get = env.getenv ? env.getenv : [](const char* k) -> const char* { return std::getenv(k); };
  const bool tty = env.tty.value_or(isatty(STDOUT_FILENO) == 1);
  Style st;
  const char* no_color = get("NO_COLOR");
  const char* term = get("TERM");
  st.color = o.color == ColorMode::kAlways ||
             (o.color == ColorMode::kAuto && tty && (no_color == nullptr || *no_color == '\0') &&
              !(term != nullptr && std::string(term) == "dumb"));
  if (env.width >= 0) {
    st.width = env.width;
  } else if (tty) {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) st.width = ws.ws_col;
    const char* cols = get("COLUMNS");
    if (st.width == 0 && cols != nullptr) st.width = std::atoi(cols);
  }

  if (!spec->op) {
    if (spec->name == "check-config") return CheckConfig(o.args[0], o.json, out, err);
    if (spec->name == "analyze") {
      if (!env.analyze) {
        err << "knobctl: analyze is not built into this knobctl (knob_optimizers missing)\n";
        return kKnobctlDaemonError;
      }
      AnalyzeRequest a;
      a.args = o.args;
      a.json = o.json;
      a.plot = o.plot;
      a.sample_rate = o.sample_rate;
      a.progress = !o.json && isatty(STDERR_FILENO) == 1;
      a.color = st.color;
      a.width = st.width;
      return env.analyze(a, out, err);
    }
  }
  if (o.socket.empty()) {
    // KNOBD_CONTROL_SOCKET is the daemon's own variable; honouring it too means one export
    // points knobd, knobctl and clients at the same socket.
    const char* s = get("KNOBD_SOCKET");
    if (s == nullptr || *s == '\0') s = get("KNOBD_CONTROL_SOCKET");
    o.socket = s != nullptr && *s != '\0' ? s : kDefaultSocket;
  }
  if (spec->name == "top") {
    ctl::TopOptions t;
    t.socket = o.socket;
    t.timeout_seconds = o.timeout_seconds;
    t.interval_seconds = o.interval_seconds;
    t.count = o.count;
    t.json = o.json;
    t.tty = tty && !o.json;
    t.input_fd = env.input_fd;
    t.style = st;
    return ctl::RunTop(t, out, err);
  }
  if (!spec->op) {
    err << "knobctl: " << spec->name << " is not implemented\n";
    return kKnobctlUsage;
  }
  protocol::AdminRequest req;
  req.op = *spec->op;
  req.id = static_cast<uint64_t>(getpid());
  req.limit = o.limit;
  req.all = o.all;
  bool explain_target = false;
  switch (req.op) {
    case protocol::AdminOp::kExplain: {
      char* end = nullptr;
      unsigned long long id = std::strtoull(o.args[0].c_str(), &end, 10);
      if (end == o.args[0].c_str() || *end != '\0') {
        // Not a number: a target, whose notes (`show`) say why knobd does what it does now.
        req.op = protocol::AdminOp::kShow;
        req.target = o.args[0];
        explain_target = true;
        break;
      }
      req.recommendation = id;
      break;
    }
    case protocol::AdminOp::kMode:
      if (o.args[1] != "observe" && o.args[1] != "recommend" && o.args[1] != "apply") {
        err << "knobctl: mode must be observe, recommend or apply, got '" << o.args[1] << "'\n";
        return kKnobctlUsage;
      }
      req.target = o.args[0];
      req.mode = o.args[1];
      break;
    default:
      if (!o.args.empty()) req.target = o.args[0];
  }
  if (o.follow) {
    double interval = o.interval_seconds.value_or(1.0);
    return FollowHistory(o, req, out, err, st, interval);
  }
  ctl::Reply r = ctl::Ask(o.socket, o.timeout_seconds, req, err);
  if (o.json && !r.line.empty()) out << r.line << '\n';
  if (r.exit_code != kKnobctlOk || o.json) return r.exit_code;
  const protocol::AdminReply& reply = *r.reply;
  if (explain_target && reply.show) {
    PrintTargetNow(*reply.show, out);
    return kKnobctlOk;
  }
  if (reply.status) PrintStatus(*reply.status, out);
  if (reply.targets) PrintTargets(*reply.targets, out, st);
  if (reply.show) PrintShow(*reply.show, out, st);
  if (reply.history) PrintHistory(*reply.history, out, st);
  if (reply.recommendation) PrintExplain(*reply.recommendation, reply.explanation, out, st);
  if (!reply.message.empty()) out << reply.message << '\n';
  return kKnobctlOk;
}

}  // namespace knob
