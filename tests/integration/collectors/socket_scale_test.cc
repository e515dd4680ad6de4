// SPDX-License-Identifier: Apache-2.0
// The socket collector at 50 000 sockets: 25 000 loopback TCP connections between forked
// server and client processes (several of each: RLIMIT_NOFILE bounds one process's fds), read
// by the real sock_diag pass spread over ticks, checked against the known numbers and `ss`.
// Bounded in time (creation and collection each have a deadline); skipped only when the host
// cannot create that many sockets. No timing asserts: the cost is in bench/collectors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "collectors/discovery.h"
#include "collectors/socket.h"
#include "config/policy.h"
#include "core/procfs.h"
#include "core/sock_diag.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_host.h"
#include "tests/support/metric_value.h"

namespace knob {
namespace {

using namespace std::chrono_literals;

constexpr int kConnections = 25'000;  // 50 000 sockets, plus one listener per server process
constexpr char kServerComm[] = "kscale-srv";
constexpr char kClientComm[] = "kscale-cli";

// What a child reports on its pipe: 0 and the count when set up, or the failing errno.
struct Report {
  int err = 0;
  int count = 0;
};

void RaiseFdLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

[[noreturn]] void ChildExit(int pipe_fd, Report rep) {
  ssize_t unused = write(pipe_fd, &rep, sizeof(rep));
  (void)unused;
  if (rep.err != 0) _exit(1);
  for (;;) pause();
}

// Forked children use only system calls (no allocation): the parent may have threads.
[[noreturn]] void ServeChild(int listener, int n, int pipe_fd) {
  prctl(PR_SET_NAME, kServerComm);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  RaiseFdLimit();
  for (int i = 0; i < n; ++i) {
    int s = accept(listener, nullptr, nullptr);
    if (s < 0) {
      if (errno == EINTR) {
        --i;
        continue;
      }
      ChildExit(pipe_fd, {errno, i});
    }
  }
  ChildExit(pipe_fd, {0, n});
}

[[noreturn]] void ConnectChild(uint16_t port, int n, int pipe_fd) {
  prctl(PR_SET_NAME, kClientComm);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  RaiseFdLimit();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  // Reset on close: 25 000 TIME_WAIT entries would outlive the test.
  linger l{1, 0};
  for (int i = 0; i < n; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) ChildExit(pipe_fd, {errno, i});
    setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) ChildExit(pipe_fd, {errno, i});
  }
  ChildExit(pipe_fd, {0, n});
}

class ScaleHost {
 public:
  ~ScaleHost() {
    for (pid_t p : pids_) kill(p, SIGKILL);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
    for (int fd : pipes_) close(fd);
  }

  // Starts `groups` server/client pairs with `per_group` connections each. Returns "" when
  // every child is set up, else why not (for GTEST_SKIP / a failure message).
  std::string Start(int groups, int per_group) {
    for (int g = 0; g < groups; ++g) {
      int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(a);
      if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
          listen(l, 4096) != 0 || getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return std::string("listener: ") + std::strerror(errno);
      }
      ports_.push_back(ntohs(a.sin_port));
      if (!Fork([&](int w) { ServeChild(l, per_group, w); })) return "fork failed";
      close(l);
      if (!Fork([&](int w) { ConnectChild(ports_.back(), per_group, w); })) return "fork failed";
    }
    const auto deadline = std::chrono::steady_clock::now() + 45s;
    for (int fd : pipes_) {
      Report rep;
      pollfd p{fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) != 1 ||
          read(fd, &rep, sizeof(rep)) != static_cast<ssize_t>(sizeof(rep))) {
        return "a child did not finish setting up its sockets within 45 s";
      }
      if (rep.err != 0) {
        return "a child stopped after " + std::to_string(rep.count) +
               " sockets: " + std::strerror(rep.err);
      }
    }
    return "";
  }
  const std::vector<uint16_t>& ports() const { return ports_; }

 private:
  template <typename F>
  bool Fork(F body) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return false;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      close(p[0]);
      body(p[1]);
    }
    close(p[1]);
    pids_.push_back(pid);
    pipes_.push_back(p[0]);
    return true;
  }
  std::vector<pid_t> pids_;
  std::vector<int> pipes_;
  std::vector<uint16_t> ports_;
};

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

TEST(SocketScaleTest, FiftyThousandSocketsCountedPerTargetInABoundedSpreadPass) {
  rlimit r{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &r), 0);
  // Each process holds its share plus a few fds; several groups split the 25 000 connections.
  const rlim_t usable = r.rlim_max == RLIM_INFINITY ? 20'000 : r.rlim_max;
  if (usable < 1'000) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << usable << " is too small";
  const int per_process = static_cast<int>(std::min<rlim_t>(usable - 64, 9'000));
  const int groups = (kConnections + per_process - 1) / per_process;
  const int per_group = kConnections / groups;
  const int total = per_group * groups;

  ScaleHost host;
  const std::string why = host.Start(groups, per_group);
  if (!why.empty()) {
    GTEST_SKIP() << "this environment cannot create " << 2 * total << " loopback TCP sockets ("
                 << groups << " x 2 processes): " << why;
  }

  test::FakeClock clock;
  RealProcFs procfs("/proc", "/sys");
  RealSockDiag diag;
  test::FakePerfEvents perf;
  Env env{clock, procfs, diag, perf};
  prometheus::Registry registry;
  Policy policy;
  policy.source = "<test>";
  for (const char* comm : {kServerComm, kClientComm}) {
    TargetPolicy t;
    t.name = comm;
    t.selector.comm = comm;
    policy.targets.push_back(t);
  }
  const uint32_t budget = policy.global.collection.socket_dump_sockets_per_tick;
  ASSERT_GT(budget, 0u);
  std::map<std::string, pid_t> registered;
  Discovery discovery(env, registry);
  SocketCollector sock(env, registry);

  // A pass walks hash buckets across ticks while other tests on the host open and close
  // sockets, which can shift a bucket under the cursor: accept the first pass that matches.
  Snapshot s;
  uint64_t checked = 0;
  bool exact = false;
  size_t max_tick = 0;
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + 50s;
  while (!exact && std::chrono::steady_clock::now() < deadline) {
    s = Snapshot{};
    s.time = clock.Now();
    CollectContext ctx{policy, clock.Now(), registered};
    ASSERT_TRUE(discovery.Collect(ctx, s).ok());
    ASSERT_TRUE(sock.Collect(ctx, s).ok());
    clock.Advance(1s);
    max_tick = std::max(max_tick, sock.last_tick_sockets());
    if (sock.passes_completed() == checked) continue;
    checked = sock.passes_completed();
    const auto& srv = s.targets.at(kServerComm);
    const auto& cli = s.targets.at(kClientComm);
    ASSERT_TRUE(srv.sockets.has_value());
    ASSERT_TRUE(cli.sockets.has_value());
    auto count = [](const SocketStats& st, const char* state) {
      auto it = st.tcp_by_state.find(state);
      return it == st.tcp_by_state.end() ? 0u : it->second;
    };
    const uint32_t srv_est = count(*srv.sockets, "established");
    const uint32_t cli_est = count(*cli.sockets, "established");
    const uint32_t srv_listen = count(*srv.sockets, "listen");
    last = "pass " + std::to_string(checked) + ": servers " + std::to_string(srv_est) +
           " established + " + std::to_string(srv_listen) + " listening, clients " +
           std::to_string(cli_est) + " established";
    exact = srv_est == static_cast<uint32_t>(total) && cli_est == static_cast<uint32_t>(total) &&
            srv_listen == static_cast<uint32_t>(groups);
    if (exact) {
      EXPECT_EQ(srv.sockets->listeners.size(), static_cast<size_t>(groups));
      EXPECT_EQ(srv.processes.size(), static_cast<size_t>(groups));
      EXPECT_EQ(cli.processes.size(), static_cast<size_t>(groups));
    }
  }
  ASSERT_TRUE(exact) << "want " << total << " per side and " << groups
                     << " listeners; last: " << last;
  std::printf("%s; at most %zu sockets read in one tick (budget %u)\n", last.c_str(), max_tick,
              budget);
  // The pass was spread: no tick read much more than the budget (one netlink datagram over).
  EXPECT_LE(max_tick, budget + 1024u);
  EXPECT_GE(sock.passes_completed(), 1u);

  // `ss` agrees on the server side (local port) and client side (remote port).
  if (!Shell("command -v ss").empty()) {
    std::string sports, dports;
    for (uint16_t p : host.ports()) {
      sports += std::string(sports.empty() ? "" : " or ") + "sport = :" + std::to_string(p);
      dports += std::string(dports.empty() ? "" : " or ") + "dport = :" + std::to_string(p);
    }
    const auto lines = [&](const std::string& filter) {
      return std::stoi("0" + Shell("ss -Htn state established '( " + filter + " )' | wc -l"));
    };
    EXPECT_EQ(lines(sports), total);
    EXPECT_EQ(lines(dports), total);
  }
}

// UDP (IPv4, IPv6 where the host has it) and Unix sockets of this very process through the
// real kernel's udp_diag / unix_diag, or, where a family is missing, the supported gauge at 0.
TEST(SocketKindsTest, UdpAndUnixCountsOfThisProcessFromTheRealKernel) {
  std::vector<int> fds;
  auto keep = [&](int fd) {
    ASSERT_GE(fd, 0) << std::strerror(errno);
    fds.push_back(fd);
  };
  // Bound: udp_diag walks the UDP hash table, which holds no unbound socket (nor does `ss`).
  for (int i = 0; i < 3; ++i) {
    keep(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fds.back(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  int udp_expected = 3;
  int v6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a6{};
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_loopback;
  if (v6 >= 0 && bind(v6, reinterpret_cast<sockaddr*>(&a6), sizeof(a6)) == 0) {
    ++udp_expected;
  }
  if (v6 >= 0) fds.push_back(v6);
  int sp[2];
  for (int type : {SOCK_STREAM, SOCK_STREAM, SOCK_DGRAM}) {
    ASSERT_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sp), 0);
    fds.push_back(sp[0]);
    fds.push_back(sp[1]);
  }

  test::FakeClock clock;
  RealProcFs procfs("/proc", "/sys");
  RealSockDiag diag;
  test::FakePerfEvents perf;
  Env env{clock, procfs, diag, perf};
  prometheus::Registry registry;
  Policy policy;
  policy.source = "<test>";
  TargetPolicy self;
  self.name = "self";
  self.selector.pid = getpid();
  policy.targets.push_back(self);
  std::map<std::string, pid_t> registered;
  Discovery discovery(env, registry);
  SocketCollector sock(env, registry);
  Snapshot s;
  for (int i = 0; i < 20 && sock.passes_completed() == 0; ++i) {
    s = Snapshot{};
    s.time = clock.Now();
    CollectContext ctx{policy, clock.Now(), registered};
    ASSERT_TRUE(discovery.Collect(ctx, s).ok());
    ASSERT_TRUE(sock.Collect(ctx, s).ok());
    clock.Advance(1s);
  }
  for (int fd : fds) close(fd);
  ASSERT_EQ(sock.passes_completed(), 1u);
  ASSERT_TRUE(s.targets.at("self").sockets.has_value());
  const SocketStats& st = *s.targets.at("self").sockets;
  auto supported = [&](const char* source) {
    return test::MetricValue(registry, "knobd_collector_supported",
                             {{"collector", "socket"}, {"source", source}});
  };
  std::printf("udp_diag %s: %u UDP sockets; unix_diag %s: %u Unix sockets\n",
              supported("udp_diag") == 1.0 ? "supported" : "missing", st.udp_sockets,
              supported("unix_diag") == 1.0 ? "supported" : "missing", st.unix_sockets);
  if (supported("udp_diag") == 1.0) {
    EXPECT_EQ(st.udp_sockets, static_cast<uint32_t>(udp_expected));
  } else {
    EXPECT_EQ(supported("udp_diag"), 0.0);
    EXPECT_EQ(st.udp_sockets, 0u);
  }
  if (supported("unix_diag") == 1.0) {
    EXPECT_EQ(st.unix_sockets, 6u);
    EXPECT_EQ(st.unix_by_type.at("stream"), 4u);
    EXPECT_EQ(st.unix_by_type.at("dgram"), 2u);
  } else {
    EXPECT_EQ(supported("unix_diag"), 0.0);
    EXPECT_EQ(st.unix_sockets, 0u);
  }
  EXPECT_EQ(sock.pass_restarts(), 0u);
}

}  // namespace
}  // namespace knob
