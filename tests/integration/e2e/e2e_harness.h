// SPDX-License-Identifier: Apache-2.0
#pragma once
// What every end-to-end test of issue 5 shares: running the real binaries (knobd, knobctl, the
// example service, the load generator) as children that die with the test, reading knobd's
// record through `knobctl --json`, scraping /metrics, and parsing the load generator's summary.
// Tests derive from E2eTest and give it their policy. Thread rule: test thread only.
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

#include "tests/support/metric_value.h"

namespace knob::test {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const std::string kBin = KNOB_BINARY_DIR;
const std::string kKnobd = kBin + "/daemon/knobd";
const std::string kKnobctl = kBin + "/daemon/knobctl/knobctl";
const std::string kService = kBin + "/bench/example_service/knob-example-service";
const std::string kLoadgen = kBin + "/bench/loadgen/knob-loadgen";

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool WaitFor(const std::function<bool()>& pred, milliseconds timeout,
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
inline std::string HttpGet(int port, const std::string& path) {
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

inline double Num(const json& j, const char* key, double fallback = std::nan("")) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
inline std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// History records by id.
inline std::map<uint64_t, json> ById(const std::vector<json>& history) {
  std::map<uint64_t, json> by_id;
  for (const auto& r : history) by_id[static_cast<uint64_t>(Num(r, "id"))] = r;
  return by_id;
}

// The change a rollback record undoes (its reason says "... rolled back #ID ..."), or null when
// the reason names none or the history lacks it.
inline const json* UndoneChange(const json& rollback, const std::map<uint64_t, json>& by_id) {
  std::smatch m;
  const std::string reason = Str(rollback, "reason");
  if (!std::regex_search(reason, m, std::regex(R"(rolled back #(\d+))"))) return nullptr;
  auto it = by_id.find(std::stoull(m[1]));
  return it == by_id.end() ? nullptr : &it->second;
}

struct LoadResult {
  double throughput_rps = 0;
  double p99_ms = 0;
  std::string text;
};

// The load generator's summary ("throughput   3039.0 req/s", "latency p50 .. ms  p99 .. ms").
inline std::optional<LoadResult> ParseLoad(const std::string& out) {
  std::smatch t, l;
  static const std::regex kThroughput(R"(throughput\s+([0-9.]+) req/s)");
  static const std::regex kLatency(R"(p99 ([0-9.]+) ms)");
  if (!std::regex_search(out, t, kThroughput) || !std::regex_search(out, l, kLatency))
    return std::nullopt;
  return LoadResult{std::stod(t[1]), std::stod(l[1]), out};
}

inline int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// The shared fixture: a temporary directory with the policy from Policy(), and the children
// (knobd, the example service, the load generator) stopped in the right order at teardown.
class E2eTest : public ::testing::Test {
 protected:
  // The policy knobd runs with (written to DIR/knobd.yaml in SetUp).
  virtual std::string Policy() const = 0;

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

  std::vector<json> History(const std::string& target = "example-service") {
    auto r = Knobctl({"history", target});
    std::vector<json> out;
    if (!r || !r->contains("history") || !(*r)["history"].is_array()) return out;
    for (const auto& rec : (*r)["history"]) out.push_back(rec);
    std::sort(out.begin(), out.end(),
              [](const json& a, const json& b) { return Num(a, "id") < Num(b, "id"); });
    return out;
  }

  // A knob's current value as the service last reported it.
  std::optional<double> ReportedKnob(const std::string& knob,
                                     const std::string& target = "example-service") {
    auto r = Knobctl({"show", target});
    if (!r) return std::nullopt;
    const json& show = (*r)["show"];
    if (!show.is_object() || !show.contains("app")) return std::nullopt;
    const json& app = show["app"];
    if (!app.contains("knobs")) return std::nullopt;
    double v = Num(app["knobs"], knob.c_str());
    return std::isnan(v) ? std::nullopt : std::optional<double>(v);
  }

  // Starts the example service with `flags` (after --port 0 --socket SOCKET) and waits for its
  // port; the service's own stderr goes to service.err.
  void StartService(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {kService, "--port", "0", "--socket", Socket()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    service_port_ = 0;
    service_ = std::make_unique<Child>(argv, Path("service.out"), Path("service.err"));
    bool up = WaitFor(
        [&] {
          std::smatch m;
          std::string text = service_->Err();
          static const std::regex re(R"(serving on 127\.0\.0\.1:(\d+))");
          if (std::regex_search(text, m, re)) service_port_ = std::stoi(m[1]);
          return service_port_ > 0 || service_->Wait(milliseconds(0)).has_value();
        },
        seconds(20));
    ASSERT_TRUE(up && service_port_ > 0) << service_->Err();
  }

  // The load generator's command line for `duration_s` seconds (0: until stopped) plus `extra`.
  std::vector<std::string> LoadArgs(int duration_s, const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {kLoadgen, "--port", std::to_string(service_port_),
                                     "--duration", std::to_string(duration_s)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Starts an open-ended load (stopped by StopLoad or at teardown).
  void StartLoad(const std::string& name, const std::vector<std::string>& extra) {
    loadgen_ =
        std::make_unique<Child>(LoadArgs(0, extra), Path(name + ".out"), Path(name + ".err"));
  }
  // Stops the open-ended load; its summary.
  std::optional<LoadResult> StopLoad() {
    if (!loadgen_) return std::nullopt;
    EXPECT_EQ(loadgen_->Stop(SIGTERM, seconds(20)), 0) << loadgen_->Err();
    auto r = ParseLoad(loadgen_->Out());
    return r;
  }

  // A closed-loop run of `duration_s` seconds; its summary.
  std::optional<LoadResult> MeasureLoad(const std::string& name, int duration_s,
                                        const std::vector<std::string>& extra) {
    Child lg(LoadArgs(duration_s, extra), Path(name + ".out"), Path(name + ".err"));
    auto rc = lg.Wait(seconds(duration_s + 30));
    EXPECT_EQ(rc, 0) << "load generator " << name << " failed: " << lg.Err();
    return ParseLoad(lg.Out());
  }

  std::string dir_;
  std::unique_ptr<Child> knobd_, service_, loadgen_;
  int service_port_ = 0;
};

}  // namespace knob::test
