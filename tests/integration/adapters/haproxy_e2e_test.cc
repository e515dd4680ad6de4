// SPDX-License-Identifier: Apache-2.0
// HAProxy through knob-haproxy-adapter (issue 15): a real HAProxy (Debian haproxy) in front of a
// real HTTP backend (a threaded Python http.server whose requests each wait 25 ms, as a backend
// waiting on its database does), the server's maxconn at 2, and real HTTP load from wrk (Debian
// wrk) with 32 connections: HAProxy queues all but two requests, so maxconn binds throughput.
// Asserted: knobd (concurrency optimizer, apply mode) raises concurrency_limit in verified steps,
// HAProxy's own `show stat` (slim) confirms the value knobd applied, and wrk measures clearly
// higher throughput after than before.
#include "tests/integration/adapters/adapter_harness.h"

namespace knob::test {
namespace {

constexpr int kTuneSeconds = 80;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

class HaproxyAdapterE2eTest : public AdapterTest {
 protected:
  std::string Policy() const override {
    return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: haproxy
    select: {registered: haproxy}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 200ms}
    knobs:
      concurrency_limit: {min: 1, max: 64, max_step: 100%}
)";
  }

  // wrk for duration_s: requests/s and p99 (ms) from its --latency summary.
  std::optional<std::pair<double, double>> Wrk(const std::string& name, int duration_s) {
    auto [rc, out] = RunTool({wrk_, "-t", "2", "-c", "32", "-d", std::to_string(duration_s) + "s",
                              "--latency", "http://127.0.0.1:" + std::to_string(port_) + "/"},
                             Path(name + ".out"), seconds(duration_s + 30));
    std::smatch t, l;
    if (rc != 0 || !std::regex_search(out, t, std::regex(R"(Requests/sec:\s+([0-9.]+))")) ||
        !std::regex_search(out, l, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) {
      ADD_FAILURE() << "wrk " << name << " failed (" << rc << "):\n" << out;
      return std::nullopt;
    }
    double p99 = std::stod(l[1]);
    if (l[2] == "us") p99 /= 1000;
    if (l[2] == "s") p99 *= 1000;
    return std::make_pair(std::stod(t[1]), p99);
  }

  std::string wrk_;
  int port_ = 0;
  std::unique_ptr<Child> backend_, haproxy_, adapter_, load_;
};

// The server's session limit as HAProxy's runtime API reports it (show stat, field slim).
double ServerSlim(const std::string& sock) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock.c_str());
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string cmd = "show stat\n";
    if (send(fd, cmd.data(), cmd.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(cmd.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  std::istringstream in(out);
  std::string line;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (line.rfind("# ", 0) == 0) {
      header = f;
      continue;
    }
    if (f.size() < 2 || f[0] != "be" || f[1] != "app") continue;
    for (size_t i = 0; i < header.size() && i < f.size(); ++i)
      if (header[i] == "slim") return std::strtod(f[i].c_str(), nullptr);
  }
  return std::nan("");
}

TEST_F(HaproxyAdapterE2eTest, RaisesServerMaxconnUnderWrk) {
  const std::string haproxy = FindTool({"/usr/sbin/haproxy", "/usr/bin/haproxy"});
  wrk_ = FindTool({"/usr/bin/wrk"});
  const std::string python = FindTool({"/usr/bin/python3"});
  ASSERT_FALSE(haproxy.empty() || wrk_.empty() || python.empty())
      << "haproxy, wrk and python3 are needed: apt-get install haproxy wrk python3 "
         "(scripts/install-deps.sh)";
  const std::string adapter = kAdapters + "/knob-haproxy-adapter";
  ASSERT_EQ(access(adapter.c_str(), X_OK), 0) << adapter << " not built";

  std::ofstream(Path("backend.py"))
      << "import http.server, socketserver, sys, time\n"
         "class H(http.server.BaseHTTPRequestHandler):\n"
         "    protocol_version = 'HTTP/1.1'\n"
         "    disable_nagle_algorithm = True\n"
         "    def do_GET(self):\n"
         "        time.sleep(0.025)\n"
         "        body = b'ok\\n'\n"
         "        self.send_response(200)\n"
         "        self.send_header('Content-Length', str(len(body)))\n"
         "        self.end_headers()\n"
         "        self.wfile.write(body)\n"
         "    def log_message(self, *args):\n"
         "        pass\n"
         "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
         "    daemon_threads = True\n"
         "    request_queue_size = 512\n"
         "s = S(('127.0.0.1', 0), H)\n"
         "print('backend on', s.server_address[1], flush=True)\n"
         "s.serve_forever()\n";
  backend_ = std::make_unique<Child>(std::vector<std::string>{python, Path("backend.py")},
                                     Path("backend.out"), Path("backend.err"));
  int backend_port = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::smatch m;
        std::string text = backend_->Out();
        if (std::regex_search(text, m, std::regex(R"(backend on (\d+))")))
          backend_port = std::stoi(m[1]);
        return backend_port > 0;
      },
      seconds(20)))
      << backend_->Err();
  port_ = FreePort();
  ASSERT_GT(port_, 0);
  std::ofstream(Path("haproxy.cfg"))
      << "global\n  stats socket " << Path("haproxy.sock") << " mode 600 level admin\n"
      << "  maxconn 4000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
         "  timeout server 30s\n  timeout queue 30s\nfrontend fe\n  bind 127.0.0.1:"
      << port_ << "\n  default_backend be\nbackend be\n  http-reuse always\n  server app 127.0.0.1:"
      << backend_port << " maxconn 2\n";
  haproxy_ =
      std::make_unique<Child>(std::vector<std::string>{haproxy, "-db", "-f", Path("haproxy.cfg")},
                              Path("haproxy.out"), Path("haproxy.err"));
  ASSERT_TRUE(WaitFor([&] { return ServerSlim(Path("haproxy.sock")) == 2; }, seconds(20)))
      << ReadFile(Path("haproxy.err"));

  auto before = Wrk("wrk-before", 5);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(StartKnobd(1), 0);
  adapter_ = std::make_unique<Child>(
      std::vector<std::string>{adapter, "--stats-socket", Path("haproxy.sock"), "--server",
                               "be/app", "--knobd-socket", Socket(), "--interval", "250ms",
                               "--max-maxconn", "64"},
      Path("adapter.out"), Path("adapter.err"));
  load_ = std::make_unique<Child>(
      std::vector<std::string>{wrk_, "-t", "2", "-c", "32", "-d",
                               std::to_string(kTuneSeconds + 20) + "s",
                               "http://127.0.0.1:" + std::to_string(port_) + "/"},
      Path("wrk-tuning.out"), Path("wrk-tuning.err"));
  const double tune_seconds =
      WaitUntilSettled([&] { return ServerSlim(Path("haproxy.sock")); },
                       [](double v) { return v >= 8; }, seconds(kTuneSeconds));
  load_->Stop(SIGINT, seconds(10));
  auto after = Wrk("wrk-after", 5);
  ASSERT_TRUE(after.has_value());
  const double final_limit = ServerSlim(Path("haproxy.sock"));
  auto steps = KnobSteps("haproxy", "concurrency_limit");
  std::printf(
      "[ e2e ] haproxy maxconn path: %s\n[ e2e ] haproxy server maxconn 2 -> %.0f in %.0f s; wrk "
      "32 connections: %.0f req/s (p99 %.1f ms) -> %.0f req/s (p99 %.1f ms)\n",
      Describe(steps).c_str(), final_limit, tune_seconds, before->first, before->second,
      after->first, after->second);

  EXPECT_GE(final_limit, 4) << Describe(steps);
  ExpectRaisedAndConfirmed("haproxy", "concurrency_limit", steps, 2, final_limit,
                           ReadFile(Path("adapter.err")));
  EXPECT_GT(after->first, 1.5 * before->first)
      << "req/s " << before->first << " -> " << after->first << " at maxconn " << final_limit;
}

}  // namespace
}  // namespace knob::test
