// SPDX-License-Identifier: Apache-2.0
#include "daemon/knobctl/top.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "core/protocol/codec.h"
#include "daemon/knobctl/client.h"
#include "daemon/knobctl/knobctl.h"

namespace knob::ctl {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_resized = 0;
extern "C" void OnStop(int) { g_stop = 1; }
extern "C" void OnResize(int) { g_resized = 1; }

// One target as a frame shows it.
struct Row {
  std::string name, phase, mode, throughput = "-", p99 = "-", headroom = "-", knobs = "-",
                                 decision = "-";
  Color phase_color = Color::kNone, decision_color = Color::kNone;
  nlohmann::json json;
};

// What the previous frame saw of each target, for rates.
struct Prev {
  double requests = 0;
  std::chrono::steady_clock::time_point when;
};

// Terminal raw-ish mode: no echo, no line buffering, signals still delivered (Ctrl-C).
class TerminalGuard {
 public:
  explicit TerminalGuard(int fd, std::ostream& out) : fd_(fd), out_(out) {
    ok_ = tcgetattr(fd_, &saved_) == 0;
    if (ok_) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      tcsetattr(fd_, TCSANOW, &raw);
    }
    out_ << "\033[?1049h\033[?25l" << std::flush;  // alternate screen, hide cursor
  }
  ~TerminalGuard() {
    out_ << "\033[?25h\033[?1049l" << std::flush;
    if (ok_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;

 private:
  int fd_;
  std::ostream& out_;
  termios saved_{};
  bool ok_ = false;
};

std::string Rate(double per_second) {
  if (per_second >= 1e4) return Num(per_second / 1e3) + "k/s";
  return Num(per_second) + "/s";
}

// Builds one row from the target's show and its newest recommendations.
Row MakeRow(const protocol::TargetInfo& t, const protocol::ShowInfo* show,
            const std::vector<Recommendation>& recent, std::map<std::string, Prev>& prev,
            std::chrono::steady_clock::time_point now, WallTime wall) {
  Row r;
  r.name = t.name;
  r.phase = t.phase.empty() ? "-" : t.phase;
  r.phase_color = PhaseColor(r.phase);
  r.mode = t.mode;
  r.json = {{"target", t.name}, {"phase", t.phase}, {"mode", t.mode}, {"state", t.state}};
  if (show != nullptr && show->app) {
    const AppReport& a = *show->app;
    auto it = prev.find(t.name);
    if (it != prev.end() && now > it->second.when && a.requests_total >= it->second.requests) {
      double dt = std::chrono::duration<double>(now - it->second.when).count();
      double rate = (a.requests_total - it->second.requests) / dt;
      r.throughput = Rate(rate);
      r.json["throughput_per_second"] = rate;
    }
    prev[t.name] = {a.requests_total, now};
    if (a.latency_p99_seconds) {
      r.p99 = Seconds(*a.latency_p99_seconds);
      r.json["p99_seconds"] = *a.latency_p99_seconds;
      auto lim = show->metrics.find("limit.p99_latency_seconds");
      if (lim != show->metrics.end()) {
        double h = lim->second - *a.latency_p99_seconds;
        r.headroom = "p99 " + Seconds(std::fabs(h)) + (h < 0 ? " over" : " left");
        r.json["headroom"] = {{"p99_latency_seconds", h}};
      }
    }
  }
  // Current -> recommended: the newest recommendation per knob, if it differs from the value.
  std::map<std::string, double> recommended;
  for (const auto& rec : recent)
    if (recommended.count(rec.knob) == 0) recommended[rec.knob] = rec.new_value;
  std::string knobs;
  nlohmann::json jk = nlohmann::json::object();
  if (show != nullptr) {
    std::map<std::string, double> values;
    for (const auto& k : show->knobs) values[k.name] = k.value;
    if (show->app)
      for (const auto& [k, v] : show->app->knobs) values[k] = v;
    for (const auto& [k, v] : values) {
      auto rec = recommended.find(k);
      std::string cell = k + " " + Num(v);
      if (rec != recommended.end() && rec->second != v) cell += " -> " + Num(rec->second);
      knobs += (knobs.empty() ? "" : ", ") + cell;
      jk[k] = {{"value", v}};
      if (rec != recommended.end()) jk[k]["recommended"] = rec->second;
    }
  }
  if (!knobs.empty()) r.knobs = knobs;
  r.json["knobs"] = jk;
  if (!recent.empty()) {
    const Recommendation& d = recent.front();
    std::string outcome(OutcomeName(d.outcome));
    r.decision = "#" + std::to_string(d.id) + " " + d.knob + " " + Num(d.old_value) + "->" +
                 Num(d.new_value) + " " + outcome + " " + Age(d.created, wall);
    r.decision_color = OutcomeColor(outcome);
    r.json["last_decision"] = {{"id", d.id},
                               {"knob", d.knob},
                               {"old_value", d.old_value},
                               {"new_value", d.new_value},
                               {"outcome", outcome}};
  }
  return r;
}

struct Frame {
  std::vector<Row> rows;
  std::string error;  // why the frame is empty (knobd unreachable)
  double tick_seconds = 1;
};

Frame Collect(const TopOptions& o, std::map<std::string, Prev>& prev, std::ostream& quiet) {
  Frame f;
  protocol::AdminRequest req;
  req.id = static_cast<uint64_t>(getpid());
  req.op = protocol::AdminOp::kStatus;
  std::ostringstream why;
  Reply status = Ask(o.socket, o.timeout_seconds, req, why);
  if (status.exit_code != kKnobctlOk) {
    f.error = why.str();
    return f;
  }
  if (status.reply->status) f.tick_seconds = status.reply->status->tick_interval_seconds;
  req.op = protocol::AdminOp::kTargets;
  Reply targets = Ask(o.socket, o.timeout_seconds, req, why);
  if (targets.exit_code != kKnobctlOk || !targets.reply->targets) {
    f.error = why.str();
    return f;
  }
  auto now = std::chrono::steady_clock::now();
  auto wall = std::chrono::system_clock::now();
  for (const auto& t : *targets.reply->targets) {
    protocol::AdminRequest one = req;
    one.target = t.name;
    one.op = protocol::AdminOp::kShow;
    Reply show = Ask(o.socket, o.timeout_seconds, one, quiet);
    one.op = protocol::AdminOp::kHistory;
    one.limit = 10;
    Reply hist = Ask(o.socket, o.timeout_seconds, one, quiet);
    std::vector<Recommendation> recent;
    if (hist.exit_code == kKnobctlOk && hist.reply->history) recent = *hist.reply->history;
    const protocol::ShowInfo* s =
        show.exit_code == kKnobctlOk && show.reply->show ? &*show.reply->show : nullptr;
    f.rows.push_back(MakeRow(t, s, recent, prev, now, wall));
  }
  return f;
}

void Print(const Frame& f, std::ostream& out, const Style& st) {
  Table t({"TARGET", "PHASE", "MODE", "THROUGHPUT", "P99", "HEADROOM", "KNOBS (now -> rec)",
           "LAST DECISION"});
  for (const auto& r : f.rows)
    t.Row({r.name, r.phase, r.mode, r.throughput, r.p99, r.headroom, r.knobs, r.decision},
          {Color::kNone, r.phase_color, Color::kNone, Color::kNone, Color::kNone, Color::kNone,
           Color::kNone, r.decision_color});
  t.Print(out, st);
}

int TerminalWidth(const Style& st) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return st.width;
}

}  // namespace

int RunTop(const TopOptions& o, std::ostream& out, std::ostream& err) {
  struct sigaction sa {
  }, old_int{}, old_term{}, old_winch{};
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  struct sigaction sw {};
  sw.sa_handler = OnResize;
  sigaction(SIGWINCH, &sw, &old_winch);
  g_stop = 0;
  std::map<std::string, Prev> prev;
  int rc = kKnobctlOk;
  {
    std::optional<TerminalGuard> term;
    if (o.tty) term.emplace(o.input_fd, out);
    Style st = o.style;
    std::ostringstream quiet;
    for (uint64_t frames = 0; !g_stop && (o.count == 0 || frames < o.count); ++frames) {
      Frame f = Collect(o, prev, quiet);
      auto stamp = Time(std::chrono::system_clock::now());
      if (o.tty) {
        if (g_resized || frames == 0) st.width = TerminalWidth(o.style);
        g_resized = 0;
        std::ostringstream screen;
        screen << Paint(st, Color::kBold, "knobd top") << "  " << stamp << "  every "
               << Seconds(o.interval_seconds.value_or(f.tick_seconds)) << "  (q to quit)\n\n";
        if (!f.error.empty())
          screen << Paint(st, Color::kRed, f.error);
        else
          Print(f, screen, st);
        out << "\033[H\033[2J" << screen.str() << std::flush;
      } else if (o.json) {
        nlohmann::json j = {{"time", stamp}, {"targets", nlohmann::json::array()}};
        for (const auto& r : f.rows) j["targets"].push_back(r.json);
        if (!f.error.empty()) j["error"] = f.error;
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
            << std::flush;
      } else {
        out << "# " << stamp << '\n';
        if (!f.error.empty())
          err << f.error;
        else
          Print(f, out, st);
        out << '\n' << std::flush;
      }
      if (!f.error.empty() && !o.tty) rc = kKnobctlCannotConnect;
      if (o.count != 0 && frames + 1 >= o.count) break;
      // Wait one refresh, waking for q (terminal) or a signal.
      double interval = o.interval_seconds.value_or(f.tick_seconds > 0 ? f.tick_seconds : 1);
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval);
      while (!g_stop && !g_resized && std::chrono::steady_clock::now() < until) {
        if (o.tty) {
          pollfd p{o.input_fd, POLLIN, 0};
          if (poll(&p, 1, 50) > 0) {
            char c = 0;
            if (read(o.input_fd, &c, 1) == 1 && (c == 'q' || c == 'Q' || c == 3)) g_stop = 1;
          }
        } else {
          pollfd none{-1, 0, 0};
          poll(&none, 0, 50);
        }
      }
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGWINCH, &old_winch, nullptr);
  return rc;
}

}  // namespace knob::ctl
