// SPDX-License-Identifier: Apache-2.0
// Over 500 lines on purpose: one renderer per command's reply, next to the request it sends, so
// the text a user sees for each command is read in one place (docs/knobctl.md mirrors it).
#include "daemon/knobctl/knobctl.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <ostream>
#include <sstream>

#include "config/policy_loader.h"
#include "config/units.h"
#include "core/format.h"
#include "core/protocol/codec.h"
#include "core/protocol/framing.h"
#include "daemon/control/commands.h"

namespace knob {
namespace {

constexpr const char* kDefaultSocket = "/run/knobd/control.sock";
constexpr size_t kMaxReplyBytes = 64 * 1024 * 1024;

struct Options {
  std::string socket;
  bool json = false;
  bool help = false;
  uint32_t limit = 0;
  double timeout_seconds = 10;
  std::string command;
  std::vector<std::string> args;
};

std::string GlobalHelp() {
  return "usage: knobctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
         "\n"
         "Operator CLI for knobd.\n\ncommands:\n" +
         CommandsHelp() +
         "\noptions:\n"
         "  --socket PATH     control socket (default $KNOBD_SOCKET or $KNOBD_CONTROL_SOCKET, "
         "else " +
         std::string(kDefaultSocket) +
         ")\n"
         "  --json            print the daemon's reply as JSON (one line)\n"
         "  --limit N         history: newest N recommendations\n"
         "  --timeout SEC     give up waiting for knobd after SEC seconds (default 10)\n"
         "  -h, --help        this help; `knobctl COMMAND --help` for one command\n"
         "\nexit codes: 0 ok, 1 knobd answered with an error, 2 usage error, 3 cannot connect\n";
}

// Parses flags anywhere on the line; the first non-flag word is the command.
std::optional<std::string> Parse(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)flag;
      return args[++i];
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--socket" || a.rfind("--socket=", 0) == 0) {
      auto v = a == "--socket" ? value("--socket") : std::optional<std::string>(a.substr(9));
      if (!v || v->empty()) return "--socket needs a path";
      o.socket = *v;
    } else if (a == "--limit" || a == "--timeout") {
      auto v = value(a.c_str());
      if (!v) return a + " needs a number";
      char* end = nullptr;
      double d = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || d <= 0 || !std::isfinite(d))
        return a + " needs a positive number, got '" + *v + "'";
      if (a == "--limit")
        o.limit = static_cast<uint32_t>(std::min(d, 1e9));
      else
        o.timeout_seconds = d;
    } else if (a.size() > 1 && a[0] == '-' && o.command != "analyze") {
      return "unknown option '" + a + "'";
    } else if (o.command.empty()) {
      o.command = a;
    } else {
      o.args.push_back(a);
    }
  }
  return std::nullopt;
}

// ---- formatting ----

// Table cells are narrow: four digits, three for magnitudes a table rarely shows.
std::string Num(double v) {
  const bool extreme = std::fabs(v) >= 1e15 || (v != 0 && std::fabs(v) < 1e-4);
  return FormatNumber(v, extreme ? 3 : 4);
}

std::string Seconds(double s) {
  char buf[32];
  if (s < 1e-3)
    std::snprintf(buf, sizeof(buf), "%.0fus", s * 1e6);
  else if (s < 1)
    std::snprintf(buf, sizeof(buf), "%.1fms", s * 1e3);
  else if (s < 120)
    std::snprintf(buf, sizeof(buf), "%.1fs", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) / 60) % 60);
  return buf;
}

std::string Time(WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(std::ostream& out) const {
    std::vector<size_t> w(headers_.size(), 0);
    auto widen = [&](const std::vector<std::string>& r) {
      for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    };
    widen(headers_);
    for (const auto& r : rows_) widen(r);
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t i = 0; i < w.size(); ++i) {
        std::string cell = i < r.size() ? r[i] : "";
        s += cell;
        if (i + 1 < w.size()) s += std::string(w[i] - cell.size() + 2, ' ');
      }
      while (!s.empty() && s.back() == ' ') s.pop_back();
      out << s << '\n';
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
  }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

void KeyValues(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  for (const auto& [k, v] : kv) out << k << std::string(w - k.size() + 2, ' ') << v << '\n';
}

void PrintStatus(const protocol::StatusInfo& s, std::ostream& out) {
  std::string degraded;
  for (const auto& d : s.degraded) degraded += (degraded.empty() ? "" : "; ") + d;
  KeyValues(out, {{"knobd", s.version.empty() ? "?" : s.version},
                  {"pid", std::to_string(s.pid)},
                  {"uptime", Seconds(s.uptime_seconds)},
                  {"mode", s.mode},
                  {"policy", s.policy_source},
                  {"tick", Seconds(s.tick_interval_seconds)},
                  {"targets", std::to_string(s.targets)},
                  {"clients", std::to_string(s.clients)},
                  {"degraded", degraded.empty() ? "none" : degraded}});
}

void PrintTargets(const std::vector<protocol::TargetInfo>& ts, std::ostream& out) {
  if (ts.empty()) {
    out << "no targets (add some to the policy file, or connect a client)\n";
    return;
  }
  Table t({"TARGET", "STATE", "MODE", "CLIENT", "PID", "LAST REPORT", "REPORTS", "RECS"});
  for (const auto& x : ts) {
    t.Row({x.name, x.state, x.mode, x.connected ? "connected" : "-",
           x.pid != 0 ? std::to_string(x.pid) : "-",
           x.last_report_age_seconds ? Seconds(*x.last_report_age_seconds) + " ago" : "-",
           std::to_string(x.reports), std::to_string(x.recommendations)});
  }
  t.Print(out);
}

void PrintShow(const protocol::ShowInfo& s, std::ostream& out) {
  const auto& t = s.target;
  out << t.name << ": " << t.state << ", mode " << t.mode;
  if (t.pid != 0) out << ", pid " << t.pid;
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
    KeyValues(out, kv);
    if (!a.pools.empty()) {
      out << '\n';
      Table pt({"POOL", "SIZE", "BUSY", "WAITERS"});
      for (const auto& [n, p] : a.pools) pt.Row({n, Num(p.size), Num(p.busy), Num(p.waiters)});
      pt.Print(out);
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
      ct.Print(out);
    }
  }
  if (!s.knobs.empty()) {
    out << '\n';
    Table kt({"KNOB", "VALUE", "MIN", "MAX", "UNIT"});
    for (const auto& k : s.knobs)
      kt.Row({k.name, Num(k.value), k.min ? Num(*k.min) : "-", k.max ? Num(*k.max) : "-",
              k.unit.empty() ? "-" : k.unit});
    kt.Print(out);
  }
  if (!s.metrics.empty()) {
    out << '\n';
    Table mt({"METRIC", "VALUE"});
    for (const auto& [k, v] : s.metrics) mt.Row({k, Num(v)});
    mt.Print(out);
  }
  if (!s.model.empty()) {
    out << '\n';
    Table mt({"MODEL", "VALUE"});
    for (const auto& [k, v] : s.model) mt.Row({k, Num(v)});
    mt.Print(out);
  }
  for (const auto& n : s.notes) out << "note: " << n << '\n';
}

void PrintHistory(const std::vector<Recommendation>& hs, std::ostream& out) {
  if (hs.empty()) {
    out << "no recommendations yet\n";
    return;
  }
  Table t({"ID", "CREATED", "KNOB", "CHANGE", "OUTCOME", "REASON"});
  for (const auto& r : hs)
    t.Row({std::to_string(r.id), Time(r.created), r.knob,
           Num(r.old_value) + " -> " + Num(r.new_value), std::string(OutcomeName(r.outcome)),
           r.reason});
  t.Print(out);
}

void PrintExplain(const Recommendation& r, const std::vector<std::string>& steps,
                  std::ostream& out) {
  out << "recommendation " << r.id << " for " << r.target << ": " << r.knob << " "
      << Num(r.old_value) << " -> " << Num(r.new_value) << " (" << OutcomeName(r.outcome)
      << (r.advisory ? ", advisory" : "") << ")\n";
  std::vector<std::pair<std::string, std::string>> kv = {
      {"created", Time(r.created)},
      {"optimizer", r.optimizer.empty() ? "-" : r.optimizer},
      {"scenario", r.scenario.empty() ? "-" : r.scenario},
      {"reason", r.reason},
      {"confidence", Num(r.confidence)}};
  if (!r.binding_constraint.empty()) kv.push_back({"binding", r.binding_constraint});
  if (!r.outcome_reason.empty()) kv.push_back({"outcome", r.outcome_reason});
  KeyValues(out, kv);
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

// ---- the socket ----

struct Exchange {
  int exit_code = kKnobctlOk;
  std::string line;  // the reply, raw
};

Exchange Ask(const Options& o, const protocol::AdminRequest& req, std::ostream& err) {
  Exchange ex;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || o.socket.size() >= sizeof(addr.sun_path)) {
    err << "knobctl: cannot use socket path " << o.socket << '\n';
    if (fd >= 0) close(fd);
    ex.exit_code = kKnobctlCannotConnect;
    return ex;
  }
  std::memcpy(addr.sun_path, o.socket.c_str(), o.socket.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    err << "knobctl: cannot connect to " << o.socket << ": " << std::strerror(e);
    if (e == EACCES || e == EPERM)
      err << ": run as root or as a member of the socket's group (control.group)";
    else
      err << ": is knobd running? (systemctl status knobd)";
    err << '\n';
    close(fd);
    ex.exit_code = kKnobctlCannotConnect;
    return ex;
  }
  std::string line = protocol::Encode(req) + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    err << "knobctl: cannot send to " << o.socket << ": " << std::strerror(errno) << '\n';
    close(fd);
    ex.exit_code = kKnobctlCannotConnect;
    return ex;
  }
  protocol::LineFramer framer(kMaxReplyBytes);
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(o.timeout_seconds));
  char buf[65536];
  while (lines.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      err << "knobctl: no answer from knobd within " << Num(o.timeout_seconds)
          << " s (is it overloaded? see `journalctl -u knobd`)\n";
      close(fd);
      ex.exit_code = kKnobctlCannotConnect;
      return ex;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      err << "knobctl: knobd closed the connection without answering\n";
      close(fd);
      ex.exit_code = kKnobctlCannotConnect;
      return ex;
    }
    if (!framer.Feed(std::string_view(buf, static_cast<size_t>(n)), lines)) {
      err << "knobctl: reply too large\n";
      close(fd);
      ex.exit_code = kKnobctlCannotConnect;
      return ex;
    }
  }
  close(fd);
  ex.line = lines.front();
  return ex;
}

int CheckConfig(const std::string& path, std::ostream& out, std::ostream& err) {
  PolicyLoad load = LoadPolicyFile(path);
  if (!load.ok()) {
    for (const auto& d : load.errors) err << d.ToString() << '\n';
    err << path << ": " << load.errors.size() << " error(s)\n";
    return kKnobctlDaemonError;
  }
  out << path << ": ok (" << load.policy->targets.size() << " targets)\n";
  return kKnobctlOk;
}

}  // namespace

int RunKnobctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const KnobctlEnv& env) {
  Options o;
  if (auto problem = Parse(args, o)) {
    err << "knobctl: " << *problem << "\n(see knobctl --help)\n";
    return kKnobctlUsage;
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
  int n = static_cast<int>(o.args.size());
  if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args)) {
    err << "knobctl: " << spec->name << " takes "
        << (spec->args.empty() ? std::string("no arguments") : std::string(spec->args)) << "\n"
        << CommandHelp(*spec);
    return kKnobctlUsage;
  }
  if (!spec->op) {
    if (spec->name == "check-config") return CheckConfig(o.args[0], out, err);
    if (spec->name == "analyze") {
      if (!env.analyze) {
        err << "knobctl: analyze is not built into this knobctl (knob_optimizers missing)\n";
        return kKnobctlDaemonError;
      }
      return env.analyze(o.args, out, err);
    }
    err << "knobctl: " << spec->name << " is not implemented\n";
    return kKnobctlUsage;
  }
  if (o.socket.empty()) {
    auto get =
        env.getenv ? env.getenv : [](const char* k) -> const char* { return std::getenv(k); };
    // KNOBD_CONTROL_SOCKET is the daemon's own variable; honouring it too means one export
    // points knobd, knobctl and clients at the same socket.
    const char* s = get("KNOBD_SOCKET");
    if (s == nullptr || *s == '\0') s = get("KNOBD_CONTROL_SOCKET");
    o.socket = s != nullptr && *s != '\0' ? s : kDefaultSocket;
  }
  protocol::AdminRequest req;
  req.op = *spec->op;
  req.id = static_cast<uint64_t>(getpid());
  req.limit = o.limit;
  switch (req.op) {
    case protocol::AdminOp::kExplain: {
      char* end = nullptr;
      unsigned long long id = std::strtoull(o.args[0].c_str(), &end, 10);
      if (end == o.args[0].c_str() || *end != '\0') {
        err << "knobctl: explain needs a recommendation id (a number from `knobctl history`), "
               "got '"
            << o.args[0] << "'\n";
        return kKnobctlUsage;
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
  Exchange ex = Ask(o, req, err);
  if (ex.exit_code != kKnobctlOk) return ex.exit_code;
  auto decoded = protocol::Decode(ex.line);
  if (!decoded.ok()) {
    err << "knobctl: cannot understand knobd's reply: " << decoded.status().message() << '\n';
    return kKnobctlDaemonError;
  }
  if (auto* e = std::get_if<protocol::Error>(&*decoded)) {
    if (o.json) out << ex.line << '\n';
    err << "knobctl: " << protocol::ErrorCodeName(e->code) << ": " << e->message << '\n';
    return kKnobctlDaemonError;
  }
  auto* reply = std::get_if<protocol::AdminReply>(&*decoded);
  if (reply == nullptr) {
    err << "knobctl: unexpected '" << protocol::TypeName(*decoded) << "' from knobd\n";
    return kKnobctlDaemonError;
  }
  if (o.json) {
    out << ex.line << '\n';
    return kKnobctlOk;
  }
  if (reply->status) PrintStatus(*reply->status, out);
  if (reply->targets) PrintTargets(*reply->targets, out);
  if (reply->show) PrintShow(*reply->show, out);
  if (reply->history) PrintHistory(*reply->history, out);
  if (reply->recommendation) PrintExplain(*reply->recommendation, reply->explanation, out);
  if (!reply->message.empty()) out << reply->message << '\n';
  return kKnobctlOk;
}

}  // namespace knob
