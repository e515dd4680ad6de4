// SPDX-License-Identifier: Apache-2.0
// knobd end to end as a child process: the CLI, /metrics over real HTTP, reloads, signals,
// sd_notify messages, journald formatting and the exit statuses of every startup failure.

#include "tests/integration/daemon/knobd_process.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <regex>
#include <set>

#include "tests/integration/daemon/exposition.h"
#include "tests/support/metric_value.h"

namespace knob::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char* kPolicy = R"(global:
  tick_interval: 200ms
  log_level: info
targets:
  - name: host
    select: {host: true}
    mode: observe
)";

class KnobdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = dir_.path() + "/knobd.yaml";
    WriteFile(policy_, kPolicy);
  }
  std::vector<std::string> Args() const {
    return {"--config",         policy_,
            "--state-dir",      dir_.path() + "/state",
            "--control-socket", dir_.path() + "/run/control.sock",
            "--metrics-listen", "127.0.0.1:0"};
  }
  std::string Out(const std::string& name) const { return dir_.path() + "/" + name; }

  // Starts knobd and waits until it serves metrics; fails the test otherwise.
  std::unique_ptr<KnobdProcess> Start(std::vector<std::string> extra_env = {}) {
    auto p = std::make_unique<KnobdProcess>(Args(), Out("knobd.log"), std::move(extra_env));
    auto port = p->WaitForMetricsPort();
    EXPECT_TRUE(port.has_value()) << p->Log();
    port_ = port.value_or(0);
    return p;
  }
  std::string Scrape() const {
    auto r = HttpGet("127.0.0.1", port_, "/metrics");
    return r && r->status == 200 ? r->body : "";
  }
  std::optional<double> Metric(const std::string& series) const {
    return SampleValue(Scrape(), series);
  }
  bool WaitMetric(const std::string& series, double want) const {
    return WaitFor([&] { return Metric(series) == want; });
  }

  TempDir dir_;
  std::string policy_;
  int port_ = 0;
};

TEST_F(KnobdTest, HelpAndVersion) {
  auto [rc, out] = RunKnobd({"--help"}, Out("help"));
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("Usage: knobd"), std::string::npos) << out;
  EXPECT_NE(out.find("--check-config"), std::string::npos);
  auto [vrc, vout] = RunKnobd({"--version"}, Out("version"));
  EXPECT_EQ(vrc, 0);
  EXPECT_TRUE(std::regex_search(vout, std::regex(R"(^knobd \d+\.\d+\.\d+)"))) << vout;
}

TEST_F(KnobdTest, UsageErrorExits2) {
  auto [rc, out] = RunKnobd({"--no-such-flag"}, Out("usage"));
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("unknown option '--no-such-flag'"), std::string::npos) << out;
  EXPECT_NE(out.find("--help"), std::string::npos);
}

TEST_F(KnobdTest, CheckConfigAcceptsEveryShippedPolicy) {
  std::vector<std::string> files = {std::string(KNOB_SOURCE_DIR) + "/config/knobd.yaml"};
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(KNOB_SOURCE_DIR) + "/config/examples")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  ASSERT_GE(files.size(), 2u);
  for (const auto& f : files) {
    auto [rc, out] = RunKnobd({"--check-config", f}, Out("check"));
    EXPECT_EQ(rc, 0) << f << "\n" << out;
    EXPECT_NE(out.find(f + ": ok"), std::string::npos) << out;
  }
}

TEST_F(KnobdTest, CheckConfigPrintsEveryErrorWithLineAndColumn) {
  std::string bad = Out("bad.yaml");
  WriteFile(bad,
            "global:\n  tick_intervall: 1s\n  metrics_listen: 127.0.0.1:10464\n"
            "  tick_interval: soon\n");
  auto [rc, out] = RunKnobd({"--check-config", bad}, Out("check"));
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(bad + ":2:3: error:"), std::string::npos) << out;
  EXPECT_NE(out.find(bad + ":4:"), std::string::npos) << out;
  EXPECT_EQ(out.find(": ok"), std::string::npos);
}

TEST_F(KnobdTest, ServesWellFormedMetricsOverHttp) {
  auto knobd = Start();
  ASSERT_TRUE(WaitFor([&] { return Metric("knobd_ticks_total").value_or(0) >= 1; }))
      << knobd->Log();
  auto r = HttpGet("127.0.0.1", port_, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->headers.find("text/plain"), std::string::npos) << r->headers;

  Exposition e = ParseExposition(r->body);
  EXPECT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems);
  for (const char* family :
       {"knobd_build_info", "knobd_up", "knobd_start_time_seconds", "knobd_tick_duration_seconds",
        "knobd_ticks_total", "knobd_ticks_skipped_total", "knobd_config_last_reload_success",
        "knobd_config_last_reload_timestamp_seconds", "knobd_config_reloads_total", "knobd_targets",
        "knobd_recommendations_published_total", "process_resident_memory_bytes",
        "process_cpu_seconds_total", "process_open_fds", "process_max_fds"}) {
    EXPECT_EQ(e.types.count(family), 1u) << family;
    EXPECT_EQ(e.help.count(family), 1u) << family;
  }
  // One zero series per collector from the start (absent only in a build without collectors).
  if (!knobd->LogContains(" 0 collector(s)")) {
    EXPECT_EQ(e.types.count("knobd_collector_errors_total"), 1u);
    EXPECT_NE(r->body.find("knobd_collector_errors_total{collector=\"discovery\"}"),
              std::string::npos);
  }
  EXPECT_EQ(e.types["knobd_tick_duration_seconds"], "histogram");
  EXPECT_EQ(e.types["knobd_ticks_total"], "counter");
  EXPECT_NE(r->body.find("knobd_build_info{version=\""), std::string::npos);
  EXPECT_EQ(SampleValue(r->body, "knobd_config_last_reload_success"), 1);
  EXPECT_EQ(SampleValue(r->body, "knobd_targets{state=\"pending\"}").value_or(0) +
                SampleValue(r->body, "knobd_targets{state=\"active\"}").value_or(0) +
                SampleValue(r->body, "knobd_targets{state=\"gone\"}").value_or(0) +
                SampleValue(r->body, "knobd_targets{state=\"error\"}").value_or(0) +
                SampleValue(r->body, "knobd_targets{state=\"paused\"}").value_or(0),
            1);
  EXPECT_GT(SampleValue(r->body, "process_resident_memory_bytes").value_or(0), 0);

  auto missing = HttpGet("127.0.0.1", port_, "/nope");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
}

// docs/metrics.md must name every knobd_ and process_ family the daemon serves, whichever subsystem
// registered it, and every family the Daemon section lists must really be served.
TEST_F(KnobdTest, DocsListEveryServedFamily) {
  auto knobd = Start();
  ASSERT_TRUE(WaitFor([&] { return Metric("knobd_ticks_total").value_or(0) >= 1; }));
  Exposition e = ParseExposition(Scrape());
  std::string docs = ReadFile(std::string(KNOB_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_FALSE(docs.empty());
  for (const auto& [family, type] : e.types) {
    if (family.rfind("knobd_", 0) != 0 && family.rfind("process_", 0) != 0) continue;
    EXPECT_NE(docs.find("`" + family + "`"), std::string::npos)
        << family << " (" << type << ") is served but not documented in docs/metrics.md";
  }
  auto begin = docs.find("## Daemon");
  ASSERT_NE(begin, std::string::npos);
  auto end = docs.find("\n## ", begin + 1);
  std::string section = docs.substr(begin, end == std::string::npos ? end : end - begin);
  std::regex row(R"(\n\| `(knobd_[a-z0-9_]+)`)");
  int rows = 0;
  for (std::sregex_iterator it(section.begin(), section.end(), row), last; it != last; ++it) {
    ++rows;
    EXPECT_EQ(e.types.count((*it)[1]), 1u)
        << (*it)[1] << " is documented in the Daemon section but not served";
  }
  EXPECT_GE(rows, 10);
}

TEST_F(KnobdTest, SighupWithValidPolicyAppliesAndLogsTheChange) {
  auto knobd = Start();
  WriteFile(policy_, std::regex_replace(kPolicy, std::regex("200ms"), "300ms"));
  knobd->Signal(SIGHUP);
  ASSERT_TRUE(WaitMetric("knobd_config_reloads_total{result=\"success\"}", 1)) << knobd->Log();
  EXPECT_EQ(Metric("knobd_config_last_reload_success"), 1);
  ASSERT_TRUE(knobd->WaitForLog("reload: ")) << knobd->Log();
  EXPECT_TRUE(std::regex_search(knobd->Log(), std::regex("reload: .*tick_interval")))
      << knobd->Log();
  // Still ticking after the reload.
  double ticks = Metric("knobd_ticks_total").value_or(0);
  EXPECT_TRUE(WaitFor([&] { return Metric("knobd_ticks_total").value_or(0) > ticks; }));
}

TEST_F(KnobdTest, SighupWithInvalidPolicyKeepsTheOldOne) {
  auto knobd = Start();
  WriteFile(policy_, "global:\n  tick_interval: 200ms\n  tick_intervall: 1s\n");
  knobd->Signal(SIGHUP);
  ASSERT_TRUE(WaitMetric("knobd_config_last_reload_success", 0)) << knobd->Log();
  EXPECT_EQ(Metric("knobd_config_reloads_total{result=\"failure\"}"), 1);
  ASSERT_TRUE(knobd->WaitForLog("previous policy stays in force")) << knobd->Log();
  // The same diagnostic --check-config prints.
  EXPECT_TRUE(knobd->LogContains(policy_ + ":3:3: error:")) << knobd->Log();
  // The old policy (one target) is still the one ticking.
  double ticks = Metric("knobd_ticks_total").value_or(0);
  EXPECT_TRUE(WaitFor([&] { return Metric("knobd_ticks_total").value_or(0) > ticks; }));
  EXPECT_EQ(Metric("knobd_targets{state=\"pending\"}").value_or(0) +
                Metric("knobd_targets{state=\"active\"}").value_or(0),
            1);

  WriteFile(policy_, kPolicy);
  knobd->Signal(SIGHUP);
  EXPECT_TRUE(WaitMetric("knobd_config_last_reload_success", 1)) << knobd->Log();
}

TEST_F(KnobdTest, SigtermFinishesAndExitsZero) {
  auto knobd = Start();
  ASSERT_TRUE(WaitFor([&] { return Metric("knobd_ticks_total").value_or(0) >= 1; }));
  knobd->Signal(SIGTERM);
  // The daemon's own budget is 2 s (1.5 s collection deadline); the bound here is generous so
  // a loaded CI machine does not turn scheduling delay into a failure.
  auto rc = knobd->WaitExit(seconds(15));
  ASSERT_TRUE(rc.has_value()) << knobd->Log();
  EXPECT_EQ(*rc, 0) << knobd->Log();
  EXPECT_TRUE(knobd->LogContains("received SIGTERM")) << knobd->Log();
  EXPECT_TRUE(knobd->LogContains("stopped after")) << knobd->Log();
}

// A crash must not lose what was learned: state is checkpointed while running, so a SIGKILL
// (no shutdown save) still leaves a state file the next start restores.
TEST_F(KnobdTest, CheckpointSurvivesSigkill) {
  WriteFile(policy_, std::string(kPolicy).replace(0, 8, "global:\n  checkpoint_interval: 1s\n"));
  auto knobd = Start();
  const std::string state = dir_.path() + "/state/brain-state.json";
  struct stat st {};
  ASSERT_TRUE(WaitFor([&] { return ::stat(state.c_str(), &st) == 0; }, seconds(20)))
      << knobd->Log();
  knobd->Signal(SIGKILL);
  ASSERT_TRUE(knobd->WaitExit(seconds(15)).has_value());
  EXPECT_FALSE(knobd->LogContains("state saved to")) << knobd->Log();  // no shutdown save ran

  auto again =
      std::make_unique<KnobdProcess>(Args(), Out("knobd2.log"), std::vector<std::string>{});
  ASSERT_TRUE(again->WaitForLog("restored learned state from")) << again->Log();
  // The state is restored before the signal watchers start; a SIGTERM in between ends knobd by
  // the default action, not its clean stop (seen under TSan's slower start): wait for "running".
  ASSERT_TRUE(again->WaitForLog(" running: policy")) << again->Log();
  again->Signal(SIGTERM);
  EXPECT_EQ(again->WaitExit(seconds(15)), 0) << again->Log();
}

TEST_F(KnobdTest, SigintExitsZero) {
  auto knobd = Start();
  knobd->Signal(SIGINT);
  auto rc = knobd->WaitExit(seconds(15));
  ASSERT_TRUE(rc.has_value()) << knobd->Log();
  EXPECT_EQ(*rc, 0) << knobd->Log();
}

TEST_F(KnobdTest, UnusablePolicyExits2) {
  WriteFile(policy_, "global:\n  tick_interval: forever\n");
  auto [rc, out] = RunKnobd(Args(), Out("bad"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(policy_ + ":2:"), std::string::npos) << out;
  EXPECT_NE(out.find("--check-config"), std::string::npos) << out;
}

TEST_F(KnobdTest, MissingPolicyExits2) {
  auto args = Args();
  args[1] = Out("does-not-exist.yaml");
  auto [rc, out] = RunKnobd(args, Out("missing"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("does-not-exist.yaml"), std::string::npos) << out;
}

TEST_F(KnobdTest, PortInUseExits2) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto args = Args();
  args.back() = taken;
  auto [rc, out] = RunKnobd(args, Out("port"));
  close(fd);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("cannot listen for metrics on " + taken), std::string::npos) << out;
}

TEST_F(KnobdTest, UncreatableControlSocketExits2) {
  WriteFile(Out("plainfile"), "x");
  auto args = Args();
  args[5] = Out("plainfile") + "/control.sock";
  auto [rc, out] = RunKnobd(args, Out("sock"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("control socket " + args[5]), std::string::npos) << out;
}

TEST_F(KnobdTest, UnwritableStateDirExits2) {
  WriteFile(Out("plainfile"), "x");
  auto args = Args();
  args[3] = Out("plainfile") + "/state";
  auto [rc, out] = RunKnobd(args, Out("state"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("state directory " + args[3]), std::string::npos) << out;
}

TEST_F(KnobdTest, BadMetricsAddressExits2) {
  auto args = Args();
  args.back() = "loopback";
  auto [rc, out] = RunKnobd(args, Out("addr"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("accepted forms"), std::string::npos) << out;
}

TEST_F(KnobdTest, UnderJournaldLinesCarryPriorityAndNoTimestamp) {
  // JOURNAL_STREAM must name the very file stderr is; the child truncates, not replaces, it.
  WriteFile(Out("knobd.log"), "");
  struct stat st {};
  ASSERT_EQ(stat(Out("knobd.log").c_str(), &st), 0);
  std::string js = "JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  auto knobd = Start({js});
  knobd->Signal(SIGTERM);
  ASSERT_TRUE(knobd->WaitExit(seconds(15)).has_value());
  std::istringstream in(knobd->Log());
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_TRUE(std::regex_match(line, std::regex(R"(<[2-7]>[^0-9].*)"))) << line;
  }
  EXPECT_GE(lines, 3);
  EXPECT_TRUE(knobd->LogContains("<6>knobd")) << knobd->Log();
}

// systemd's side of sd_notify: a datagram socket named by NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() { close(fd_); }
  bool bound() const { return bound_; }
  // Reads datagrams until one contains `needle`; returns it (empty on timeout).
  std::string WaitFor(const std::string& needle, seconds timeout = seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        std::string msg(buf, static_cast<size_t>(n));
        all_ += msg + "\n---\n";
        if (msg.find(needle) != std::string::npos) return msg;
      }
    }
    return "";
  }
  const std::string& all() const { return all_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::string all_;
};

TEST_F(KnobdTest, SpeaksSdNotify) {
  std::string path = Out("notify.sock");
  NotifySocket sd(path);
  ASSERT_TRUE(sd.bound());
  auto knobd = Start({"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=400000"});
  std::string ready = sd.WaitFor("READY=1");
  ASSERT_FALSE(ready.empty()) << sd.all() << knobd->Log();
  EXPECT_NE(ready.find("STATUS="), std::string::npos) << ready;
  EXPECT_FALSE(sd.WaitFor("WATCHDOG=1").empty()) << sd.all();

  knobd->Signal(SIGHUP);
  std::string reloading = sd.WaitFor("RELOADING=1");
  ASSERT_FALSE(reloading.empty()) << sd.all();
  EXPECT_TRUE(std::regex_search(reloading, std::regex(R"(MONOTONIC_USEC=\d+)"))) << reloading;
  EXPECT_FALSE(sd.WaitFor("READY=1").empty()) << sd.all();

  knobd->Signal(SIGTERM);
  EXPECT_FALSE(sd.WaitFor("STOPPING=1").empty()) << sd.all();
  auto rc = knobd->WaitExit(seconds(15));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0);
}

}  // namespace
}  // namespace knob::test
