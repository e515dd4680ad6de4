// The end-to-end proof of issue 5: the real knobd binary, in apply mode, tunes the real
// knob-example-service while the real knob-loadgen drives it over loopback, and
//   (1) moves a knob and the service acks it (history outcome applied/verified, and the
//       knobd_recommendations_total counter on /metrics);
//   (2) the service's throughput at the final setting is clearly higher than at the deliberately
//       bad starting setting (worker_threads = 1), measured by the load generator itself, while
//       the p99 constraint holds at the final setting;
//   (3) every recorded step respects the knob's bounds and max_step, and every rollback restores
//       the value it left;
//   (4) after SIGTERM and a restart with the same state directory, the history is still there.
// Everything is asserted against knobd's stored record (`knobctl --json history/show`, /metrics)
// and the load generator's own summary, never against log text (logs only tell us the ports).
//
// Why worker_threads = 1: each request waits ~2 ms on the loopback backend for a cache miss, so
// one worker serialises that I/O wait and the service runs far below what two cores can do; more
// workers overlap it. The gain (typically 2-3x) does not depend on an idle machine, so the test
// asserts a 25% margin, not exact numbers or exact convergence (a loaded 2-core CI VM moves the
// optimum around; the unit tests in tests/unit/optimizers pin convergence under a fake clock).
//
// Bounded: tuning stops after 3 verified raises or 50 s, whichever comes first; the whole test
// takes ~25 s here and at most ~110 s. Every child is stopped by RAII, also when an assertion
// fails. KNOB_E2E_KEEP=1 keeps the temporary directory (policy, logs, state) and prints its
// path; KNOB_E2E_RAISES / KNOB_E2E_TUNE_SECONDS lengthen the tuning phase (run_e2e.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace knob::testing {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const std::string kBin = KNOB_BINARY_DIR;
const std::string kKnobd = kBin + "/daemon/knobd";
const std::string kKnobctl = kBin + "/daemon/knobctl/knobctl";
const std::string kService = kBin + "/bench/example_service/knob-example-service";
const std::string kLoadgen = kBin + "/bench/loadgen/knob-loadgen";

constexpr const char* kTarget = "example-service";
constexpr const char* kKnob = "worker_threads";
constexpr double kKnobMin = 1, kKnobMax = 12;
constexpr double kStepFraction = 0.5, kStepAbs = 3;  // max_step: [50%, 3]
constexpr double kSloSeconds = 0.2;                  // p99_latency: 200ms
constexpr int kConnections = 16;

// The policy under test: one registered target, apply mode, a throughput objective with a p99
// constraint, and guard timings short enough to take several verified steps in well under a
// minute (tick 250 ms, so min_samples 6 is 1.5 s of observations per side of a change).
std::string Policy() {
  return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: example-service
    select: {registered: example-service}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 200ms}
    knobs:
      worker_threads: {min: 1, max: 12, max_step: [50%, 3]}
)";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitFor(const std::function<bool()>& pred, milliseconds timeout,
             milliseconds every = milliseconds(100)) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

// A child process with stdout and stderr in files. Destruction stops it (SIGTERM, then SIGKILL
// after 5 s) so nothing outlives a failed assertion.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& out_path, const std::string& err_path)
      : out_path_(out_path), err_path_(err_path) {
    pid_ = fork();
    if (pid_ == 0) {
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out >= 0) dup2(out, 1);
      if (err >= 0) dup2(err, 2);
      unsetenv("NOTIFY_SOCKET");
      unsetenv("JOURNAL_STREAM");
      unsetenv("KNOBD_SOCKET");
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() { (void)Stop(SIGTERM, seconds(5)); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  std::string Out() const { return ReadFile(out_path_); }
  std::string Err() const { return ReadFile(err_path_); }
  bool running() const { return pid_ > 0 && !status_; }

  // Exit code if it exited within `timeout` (-signal if a signal killed it).
  std::optional<int> Wait(milliseconds timeout) {
    if (status_ || pid_ <= 0) return status_;
    auto deadline = SteadyClock::now() + timeout;
    while (true) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || r < 0) {
        status_ = r < 0 ? -255 : WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        return status_;
      }
      if (SteadyClock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  // Sends `signo`, waits up to `timeout`, then SIGKILLs. Returns the exit code from `signo`'s
  // effect, or nullopt when it had to be killed.
  std::optional<int> Stop(int signo, milliseconds timeout) {
    if (pid_ <= 0 || status_) return status_;
    kill(pid_, signo);
    if (auto st = Wait(timeout)) return st;
    kill(pid_, SIGKILL);
    (void)Wait(seconds(30));
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  std::optional<int> status_;
};

// GET http://127.0.0.1:port/path (HTTP/1.0); the body on 200, else empty.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string raw;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) raw.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  auto split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.find(" 200 ") == std::string::npos ||
      split == std::string::npos)
    return "";
  return raw.substr(split + 4);
}

// Sum of the samples of `family` whose labels include every `labels` pair.
double SumSamples(const std::string& exposition, const std::string& family,
                  const std::map<std::string, std::string>& labels) {
  std::istringstream in(exposition);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0) continue;
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && line.find(k + "=\"" + v + "\"") != std::string::npos;
    if (!match) continue;
    auto sp = line.rfind(' ');
    if (sp != std::string::npos) sum += std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return sum;
}

double Num(const json& j, const char* key, double fallback = std::nan("")) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

struct LoadResult {
  double throughput_rps = 0;
  double p99_ms = 0;
  std::string text;
};

// The load generator's summary ("throughput   3039.0 req/s", "latency p50 .. ms  p99 .. ms").
std::optional<LoadResult> ParseLoad(const std::string& out) {
  std::smatch t, l;
  static const std::regex kThroughput(R"(throughput\s+([0-9.]+) req/s)");
  static const std::regex kLatency(R"(p99 ([0-9.]+) ms)");
  if (!std::regex_search(out, t, kThroughput) || !std::regex_search(out, l, kLatency))
    return std::nullopt;
  return LoadResult{std::stod(t[1]), std::stod(l[1]), out};
}

class TuningE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& b : {kKnobd, kKnobctl, kService, kLoadgen})
      if (access(b.c_str(), X_OK) != 0) GTEST_SKIP() << b << " not built (KNOB_BUILD_BENCH=OFF?)";
    char tmpl[] = "/tmp/knobd-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/state");
    std::ofstream(dir_ + "/knobd.yaml") << Policy();
  }
  void TearDown() override {
    // Stop children before removing their directory: service and load first, then knobd.
    loadgen_.reset();
    service_.reset();
    knobd_.reset();
    if (dir_.empty()) return;
    const char* keep = std::getenv("KNOB_E2E_KEEP");
    if (keep && std::string(keep) == "1") {
      std::printf("[ e2e ] kept %s (policy, logs, state)\n", dir_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Socket() const { return Path("control.sock"); }

  // Starts knobd (log file knobd-N.log) and waits until its control socket answers; returns the
  // metrics port (knobd logs the address it bound for 127.0.0.1:0).
  int StartKnobd(int run) {
    std::string log = Path("knobd-" + std::to_string(run) + ".log");
    knobd_ = std::make_unique<Child>(
        std::vector<std::string>{kKnobd, "--config", Path("knobd.yaml"), "--control-socket",
                                 Socket(), "--state-dir", Path("state"), "--metrics-listen",
                                 "127.0.0.1:0"},
        log, log);
    int port = 0;
    bool up = WaitFor(
        [&] {
          std::smatch m;
          std::string text = knobd_->Err();
          static const std::regex re(R"(metrics: http://127\.0\.0\.1:(\d+)/metrics)");
          if (std::regex_search(text, m, re)) port = std::stoi(m[1]);
          if (knobd_->Wait(milliseconds(0))) return true;  // died: stop waiting
          return port > 0 && Knobctl({"status"}).has_value();
        },
        seconds(30), milliseconds(200));
    auto exited = knobd_->Wait(milliseconds(0));
    up = up && !exited;
    EXPECT_TRUE(up) << "knobd " << (exited ? "exited with " + std::to_string(*exited) : "hangs")
                    << ":\n"
                    << knobd_->Err();
    return up ? port : 0;
  }

  // Runs `knobctl --json ARGS` and returns the parsed reply when it exits 0.
  std::optional<json> Knobctl(std::vector<std::string> args) {
    static int n = 0;
    std::string out = Path("knobctl-" + std::to_string(++n) + ".out");
    std::vector<std::string> argv = {kKnobctl, "--socket", Socket(), "--json", "--timeout", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    Child c(argv, out, out);
    auto rc = c.Wait(seconds(20));
    std::string text = ReadFile(out);
    unlink(out.c_str());
    if (rc != 0) return std::nullopt;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

  std::vector<json> History() {
    auto r = Knobctl({"history", kTarget});
    std::vector<json> out;
    if (!r || !r->contains("history") || !(*r)["history"].is_array()) return out;
    for (const auto& rec : (*r)["history"]) out.push_back(rec);
    std::sort(out.begin(), out.end(),
              [](const json& a, const json& b) { return Num(a, "id") < Num(b, "id"); });
    return out;
  }

  // The knob's current value as the service last reported it.
  std::optional<double> ReportedKnob() {
    auto r = Knobctl({"show", kTarget});
    if (!r) return std::nullopt;
    const json& show = (*r)["show"];
    if (!show.is_object() || !show.contains("app")) return std::nullopt;
    const json& app = show["app"];
    if (!app.contains("knobs")) return std::nullopt;
    double v = Num(app["knobs"], kKnob);
    return std::isnan(v) ? std::nullopt : std::optional<double>(v);
  }

  // A closed-loop run of `duration_s` seconds; its summary.
  std::optional<LoadResult> MeasureLoad(const std::string& name, int duration_s) {
    Child lg({kLoadgen, "--port", std::to_string(service_port_), "--duration",
              std::to_string(duration_s), "--connections", std::to_string(kConnections)},
             Path(name + ".out"), Path(name + ".err"));
    auto rc = lg.Wait(seconds(duration_s + 30));
    EXPECT_EQ(rc, 0) << "load generator " << name << " failed: " << lg.Err();
    return ParseLoad(lg.Out());
  }

  std::string dir_;
  std::unique_ptr<Child> knobd_, service_, loadgen_;
  int service_port_ = 0;
};

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

bool IsRaise(const json& r) {
  return Str(r, "knob") == kKnob && Str(r, "scenario") != "rollback" &&
         Num(r, "new_value") > Num(r, "old_value");
}

TEST_F(TuningE2eTest, ApplyModeRaisesThroughputWithinConstraintsAndSurvivesRestart) {
  const auto t0 = SteadyClock::now();
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);

  // Baseline first: the target is paused (observed, no sets) while the load generator measures
  // the bad starting setting.
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  service_ = std::make_unique<Child>(
      std::vector<std::string>{kService, "--port", "0", "--socket", Socket(), "--workers", "1"},
      Path("service.out"), Path("service.err"));
  ASSERT_TRUE(WaitFor(
      [&] {
        std::smatch m;
        std::string text = service_->Err();
        static const std::regex re(R"(serving on 127\.0\.0\.1:(\d+))");
        if (std::regex_search(text, m, re)) service_port_ = std::stoi(m[1]);
        return service_port_ > 0;
      },
      seconds(20)))
      << service_->Err();
  ASSERT_TRUE(WaitFor([&] { return ReportedKnob() == 1.0; }, seconds(30), milliseconds(250)))
      << "the service never registered and reported worker_threads = 1\n"
      << knobd_->Err();

  auto before = MeasureLoad("baseline", 6);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(before->throughput_rps, 0);
  ASSERT_EQ(ReportedKnob(), 1.0) << "knobd changed the knob while the target was paused";

  // Tune under load: resume, and stop after 3 verified raises or 50 s (KNOB_E2E_RAISES and
  // KNOB_E2E_TUNE_SECONDS change both, to watch a longer run by hand).
  const int want_raises = EnvInt("KNOB_E2E_RAISES", 3);
  const int tune_seconds = EnvInt("KNOB_E2E_TUNE_SECONDS", 50);
  loadgen_ = std::make_unique<Child>(
      std::vector<std::string>{kLoadgen, "--port", std::to_string(service_port_), "--duration", "0",
                               "--connections", std::to_string(kConnections)},
      Path("tuning.out"), Path("tuning.err"));
  const auto tuning_start = SteadyClock::now();
  ASSERT_TRUE(Knobctl({"resume", kTarget}).has_value());
  WaitFor(
      [&] {
        int verified = 0;
        for (const auto& r : History())
          if (IsRaise(r) && Str(r, "outcome") == "verified") ++verified;
        return verified >= want_raises;
      },
      seconds(tune_seconds), milliseconds(500));
  ASSERT_TRUE(Knobctl({"pause", kTarget}).has_value());
  const double tuning_seconds =
      std::chrono::duration<double>(SteadyClock::now() - tuning_start).count();
  ASSERT_EQ(loadgen_->Stop(SIGTERM, seconds(20)), 0) << loadgen_->Err();
  auto during = ParseLoad(loadgen_->Out());

  // A set sent just before the pause may still be in flight: wait until the service's reported
  // value is stable, so the final measurement is of one setting.
  std::optional<double> final_setting;
  WaitFor(
      [&] {
        auto a = ReportedKnob();
        std::this_thread::sleep_for(milliseconds(600));
        auto b = ReportedKnob();
        final_setting = b;
        return a && a == b;
      },
      seconds(10), milliseconds(0));
  ASSERT_TRUE(final_setting.has_value());
  auto after = MeasureLoad("final", 6);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(ReportedKnob(), final_setting) << "the setting moved during the final measurement";

  std::vector<json> history = History();
  std::string scrape = HttpGet(metrics_port, "/metrics");

  // (1) knobd moved the knob in apply mode and the service acked it.
  int applied = 0, raises = 0, rollbacks = 0;
  for (const auto& r : history) {
    std::string outcome = Str(r, "outcome");
    if (outcome == "applied" || outcome == "verified" || outcome == "rolled_back") {
      ++applied;
      EXPECT_TRUE(r.contains("advisory") && r["advisory"].is_boolean() &&
                  !r["advisory"].get<bool>())
          << "apply mode must send binding sets: " << r.dump();
    }
    if (IsRaise(r) && outcome == "verified") ++raises;
    // Every step is explained: a sentence and every guard's verdict.
    EXPECT_NE(Str(r, "reason").find(" of example-service from "), std::string::npos) << r.dump();
    EXPECT_TRUE(r.contains("verdicts") && r["verdicts"].is_array() && !r["verdicts"].empty())
        << r.dump();
    if (Str(r, "scenario") == "rollback") ++rollbacks;
  }
  EXPECT_GE(applied, 1) << "no change was applied; history:\n" << json(history).dump(1);
  EXPECT_GE(raises, 1) << json(history).dump(1);
  EXPECT_GT(*final_setting, kKnobMin) << "knobd left worker_threads at its bad starting value";
  EXPECT_GE(SumSamples(scrape, "knobd_recommendations_total",
                       {{"target", kTarget}, {"knob", kKnob}, {"outcome", "verified"}}),
            1.0)
      << scrape;

  // (2) Higher throughput at the final setting, p99 inside the constraint.
  EXPECT_GT(after->throughput_rps, 1.25 * before->throughput_rps) << "baseline:\n"
                                                                  << before->text << "final:\n"
                                                                  << after->text;
  EXPECT_LE(after->p99_ms, kSloSeconds * 1e3) << after->text;
  for (const auto& r : history) {
    if (Str(r, "outcome") != "verified" || !r.contains("realized")) continue;
    double p99 = Num(r["realized"], "p99_seconds");
    if (!std::isnan(p99)) {
      EXPECT_LE(p99, kSloSeconds) << "verified despite a violation: " << r.dump();
    }
  }

  // (3) Bounds and max_step on every recorded step; rollbacks restore exactly the value left.
  std::map<uint64_t, json> by_id;
  for (const auto& r : history) by_id[static_cast<uint64_t>(Num(r, "id"))] = r;
  for (const auto& r : history) {
    if (Str(r, "knob") != kKnob) continue;
    double from = Num(r, "old_value"), to = Num(r, "new_value");
    EXPECT_GE(to, kKnobMin) << r.dump();
    EXPECT_LE(to, kKnobMax) << r.dump();
    if (Str(r, "scenario") == "rollback") {
      // "... rolled back #ID: ...": the rollback returns to that change's old value.
      std::smatch m;
      std::string reason = Str(r, "reason");
      ASSERT_TRUE(std::regex_search(reason, m, std::regex(R"(rolled back #(\d+))"))) << reason;
      auto it = by_id.find(std::stoull(m[1]));
      ASSERT_NE(it, by_id.end()) << reason;
      EXPECT_EQ(to, Num(it->second, "old_value")) << r.dump();
      EXPECT_EQ(Str(it->second, "outcome"), "rolled_back");
      continue;
    }
    double limit = std::min(std::max(1.0, std::floor(std::fabs(from) * kStepFraction)), kStepAbs);
    EXPECT_LE(std::fabs(to - from), limit + 1e-9) << "step beyond max_step: " << r.dump();
  }

  // (4) SIGTERM saves the state; a restart with the same state dir serves the same history.
  ASSERT_EQ(knobd_->Stop(SIGTERM, seconds(30)), 0) << knobd_->Err();
  struct stat st {};
  ASSERT_EQ(stat(Path("state/brain-state.json").c_str(), &st), 0);
  std::vector<json> saved = History();  // knobd is down: nothing
  EXPECT_TRUE(saved.empty());
  saved = history;
  ASSERT_GT(StartKnobd(2), 0);
  std::vector<json> restored = History();
  std::map<uint64_t, json> restored_by_id;
  for (const auto& r : restored) restored_by_id[static_cast<uint64_t>(Num(r, "id"))] = r;
  int kept = 0;
  for (const auto& r : saved) {
    auto it = restored_by_id.find(static_cast<uint64_t>(Num(r, "id")));
    ASSERT_NE(it, restored_by_id.end()) << "lost after restart: " << r.dump();
    EXPECT_EQ(Str(it->second, "knob"), Str(r, "knob"));
    EXPECT_EQ(Num(it->second, "old_value"), Num(r, "old_value"));
    EXPECT_EQ(Num(it->second, "new_value"), Num(r, "new_value"));
    std::string o = Str(r, "outcome");
    // A change still in flight at shutdown is expired on reload; finished ones keep theirs.
    if (o == "verified" || o == "rolled_back" || o == "vetoed") {
      EXPECT_EQ(Str(it->second, "outcome"), o) << it->second.dump();
    }
    ++kept;
  }
  EXPECT_EQ(kept, static_cast<int>(saved.size()));

  const double total_seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf(
      "[ e2e ] worker_threads %g -> %g in %.1f s of tuning (%d verified raises, %d rollbacks, "
      "%zu records)\n"
      "[ e2e ] baseline: %.0f req/s, p99 %.1f ms; final: %.0f req/s, p99 %.1f ms (x%.2f); "
      "during tuning: %.0f req/s; SLO %.0f ms; test %.1f s\n",
      kKnobMin, *final_setting, tuning_seconds, raises, rollbacks, history.size(),
      before->throughput_rps, before->p99_ms, after->throughput_rps, after->p99_ms,
      after->throughput_rps / before->throughput_rps, during ? during->throughput_rps : 0.0,
      kSloSeconds * 1e3, total_seconds);
  for (const auto& r : history)
    std::printf("[ e2e ]   #%g %s %g -> %g %s (%s)\n", Num(r, "id"), Str(r, "knob").c_str(),
                Num(r, "old_value"), Num(r, "new_value"), Str(r, "outcome").c_str(),
                Str(r, "scenario").c_str());
}

}  // namespace
}  // namespace knob::testing
