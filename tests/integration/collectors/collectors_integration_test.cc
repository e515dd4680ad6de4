// SPDX-License-Identifier: Apache-2.0
// Collectors against real child processes, checked against /proc, `ps` and `ss`.
// Tolerances are stated per test; every wait polls with a generous deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collectors/allocator.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "collectors/load.h"
#include "collectors/socket.h"
#include "core/procfs.h"
#include "core/sock_diag.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_host.h"
#include "tests/support/metric_value.h"

namespace knob {
namespace {

using namespace std::chrono_literals;

// A child started with popen-like plumbing: we read its "ready" line, kill it at the end.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int p[2];
    if (pipe(p) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      close(p[0]);
      std::vector<char*> argv;
      std::string bin = KNOB_CHILD_PATH;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(p[1]);
    FILE* f = fdopen(p[0], "r");
    char line[128] = {0};
    if (f != nullptr && fgets(line, sizeof(line), f) != nullptr) ready_ = line;
    if (f != nullptr) fclose(f);
  }
  ~Child() { Kill(); }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid() const { return pid_; }
  const std::string& ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  std::string ready_;
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

bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

struct RealHost {
  RealHost() : procfs("/proc", "/sys"), env{clock, procfs, sock_diag, perf} {
    policy.source = "<test>";
  }
  TargetPolicy& AddPid(const std::string& name, pid_t pid) {
    TargetPolicy t;
    t.name = name;
    t.selector.pid = pid;
    policy.targets.push_back(t);
    return policy.targets.back();
  }
  Snapshot Tick(const std::vector<Collector*>& cs) {
    Snapshot s;
    s.time = clock.Now();
    CollectContext ctx{policy, clock.Now(), registered};
    for (Collector* c : cs) last = c->Collect(ctx, s);
    clock.Advance(1s);
    return s;
  }
  test::FakeClock clock;
  RealProcFs procfs;
  RealSockDiag sock_diag;
  test::FakePerfEvents perf;
  Env env;
  prometheus::Registry registry;
  Policy policy;
  std::map<std::string, pid_t> registered;
  Status last;
};

TEST(CollectorsIntegrationTest, SpinningThreadCpuAgreesWithPs) {
  Child child({"spin"});
  ASSERT_EQ(child.ready(), "ready\n");
  RealHost h;
  h.AddPid("spin", child.pid());
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  Snapshot s;
  ASSERT_TRUE(PollUntil([&] {
    s = h.Tick({&d, &cpu});
    const auto& t = s.targets.at("spin");
    return t.cpu && t.cpu->user_seconds + t.cpu->system_seconds >= 1.0;
  }));
  // ps reports whole seconds of cumulative CPU (procps `times`); allow 1 s for its rounding and
  // 1 s for the time between the two reads.
  double ours = s.targets.at("spin").cpu->user_seconds + s.targets.at("spin").cpu->system_seconds;
  double ps = std::stod(Shell("ps -o times= -p " + std::to_string(child.pid())));
  EXPECT_NEAR(ours, ps, 2.0);
  const CpuStats& c = *s.targets.at("spin").cpu;
  EXPECT_EQ(c.threads, 2u);
  int placed = 0;
  for (int n : c.threads_per_cpu) placed += n;
  EXPECT_EQ(placed, 2);
  EXPECT_GE(c.allowed_cpus, 1u);
  EXPECT_GT(c.timeslices, 0u);
}

TEST(CollectorsIntegrationTest, IdleThreadsCountedLikePs) {
  Child child({"idle", "50"});
  ASSERT_EQ(child.ready(), "ready\n");
  RealHost h;
  h.AddPid("idle", child.pid());
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  // /proc's own per-thread numbers, summed, bracket ours: counters only grow, so a sum taken
  // before our tick is <= ours <= a sum taken after it (only main-thread numbers would fail).
  auto proc_sum = [&] {
    return std::stoull(Shell("cat /proc/" + std::to_string(child.pid()) +
                             "/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END "
                             "{print s + 0}'"));
  };
  const uint64_t before = proc_sum();
  Snapshot s = h.Tick({&d, &cpu});
  const uint64_t after = proc_sum();
  ASSERT_TRUE(s.targets.at("idle").cpu.has_value());
  EXPECT_EQ(s.targets.at("idle").cpu->threads, 51u);
  EXPECT_EQ(std::stoi(Shell("ps -o nlwp= -p " + std::to_string(child.pid()))), 51);
  EXPECT_GE(s.targets.at("idle").cpu->voluntary_ctxt_switches, before);
  EXPECT_LE(s.targets.at("idle").cpu->voluntary_ctxt_switches, after);
}

TEST(CollectorsIntegrationTest, PerThreadSeriesShowTheSpinningThreadLikeProc) {
  Child child({"spin"});
  ASSERT_EQ(child.ready(), "ready\n");
  const std::string pid = std::to_string(child.pid());
  std::string spinner;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + pid + "/task")) {
    if (e.path().filename() != pid) spinner = e.path().filename();
  }
  ASSERT_FALSE(spinner.empty());
  RealHost h;
  h.AddPid("spin", child.pid());
  h.policy.global.collection.per_thread_metrics = true;
  h.policy.global.collection.per_thread_metrics_limit = 1;  // only the busiest thread
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  const std::string comm = Shell("cat /proc/" + pid + "/task/" + spinner + "/comm");
  auto series = [&](const std::string& tid, const std::string& mode) {
    return test::MetricValue(h.registry, "knobd_thread_cpu_seconds_total",
                             {{"target", "spin"},
                              {"tid", tid},
                              {"comm", comm.substr(0, comm.find('\n'))},
                              {"mode", mode}});
  };
  ASSERT_TRUE(PollUntil([&] {
    h.Tick({&d, &cpu});
    auto user = series(spinner, "user");
    return user && *user >= 1.0;
  }));
  // /proc's own utime+stime of that thread (fields 14 and 15, clock ticks), read after ours:
  // ours is at most one rotation (here one tick) older, so it lies below and within 2 s.
  const double ours = *series(spinner, "user") + series(spinner, "system").value_or(0);
  const double proc =
      std::stod(Shell("awk '{print ($14 + $15) / " + std::to_string(::sysconf(_SC_CLK_TCK)) +
                      "}' /proc/" + pid + "/task/" + spinner + "/stat"));
  EXPECT_LE(ours, proc + 0.01);
  EXPECT_NEAR(ours, proc, 2.0);
  EXPECT_FALSE(series(pid, "user").has_value())
      << "the idle main thread is not among the busiest 1";
}

TEST(CollectorsIntegrationTest, TenThousandThreadsAreCountedLikePsAndCoveredByRotation) {
  Child child({"idle", "10000"});
  ASSERT_EQ(child.ready(), "ready\n");
  RealHost h;
  h.AddPid("many", child.pid());
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  Snapshot s = h.Tick({&d, &cpu});
  ASSERT_TRUE(s.targets.at("many").cpu.has_value());
  EXPECT_EQ(s.targets.at("many").cpu->threads, 10001u);
  const std::string nlwp = Shell("ps -o nlwp= -p " + std::to_string(child.pid()));
  EXPECT_EQ(std::atoi(nlwp.c_str()), 10001) << nlwp;
  // The default budget (250 thread files a tick) covers 10 001 threads in 41 ticks; no tick
  // reads more.
  for (int i = 0; i < 45; ++i) {
    s = h.Tick({&d, &cpu});
    EXPECT_LE(cpu.thread_reads_last_tick(), 250u);
  }
  const TargetSnapshot& t = s.targets.at("many");
  ASSERT_TRUE(t.cpu.has_value());
  EXPECT_EQ(t.cpu->threads, 10001u);
  int placed = 0;
  for (int n : t.cpu->threads_per_cpu) placed += n;
  EXPECT_EQ(placed, 10001);  // every thread's last CPU was read
  EXPECT_LE(s.time - t.refreshed.at("threads"), std::chrono::seconds(45));
}

TEST(CollectorsIntegrationTest, UnacceptedConnectionsFillTheAcceptQueueLikeSs) {
  Child child({"listen", "8"});
  ASSERT_EQ(child.ready().rfind("ready ", 0), 0u);
  const int port = std::stoi(child.ready().substr(6));
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    clients.push_back(fd);
  }
  RealHost h;
  h.AddPid("listener", child.pid());
  Discovery d(h.env, h.registry);
  SocketCollector sock(h.env, h.registry);
  Snapshot s;
  ASSERT_TRUE(PollUntil([&] {
    s = h.Tick({&d, &sock});
    const auto& st = s.targets.at("listener").sockets;
    // Listeners come from the every-tick listen dump; states from the full pass, which is
    // spread over ticks and published when complete: wait for both.
    return st && st->listeners.size() == 1 && st->listeners[0].accept_queue == 5 &&
           st->tcp_by_state.count("listen") == 1;
  }));
  EXPECT_EQ(s.targets.at("listener").sockets->listeners[0].port, port);
  EXPECT_EQ(s.targets.at("listener").sockets->listeners[0].backlog, 8u);
  // ss: "LISTEN 5 8 127.0.0.1:PORT ..." (Recv-Q = queue, Send-Q = backlog).
  std::string ss = Shell("ss -Hltn 'sport = :" + std::to_string(port) + "'");
  char state[32] = {0};
  unsigned rq = 0, wq = 0;
  ASSERT_EQ(std::sscanf(ss.c_str(), "%31s %u %u", state, &rq, &wq), 3) << ss;
  EXPECT_EQ(rq, 5u);
  EXPECT_EQ(wq, 8u);
  // The server side of each connection lives in the queue, not in the child's fds; the client
  // side is ours. The listener itself is the child's.
  EXPECT_EQ(s.targets.at("listener").sockets->tcp_by_state.at("listen"), 1u);
  for (int fd : clients) close(fd);
}

TEST(CollectorsIntegrationTest, ResidentMemoryOfAKnownAllocationAgreesWithPs) {
  Child child({"alloc", "64"});
  ASSERT_EQ(child.ready(), "ready\n");
  RealHost h;
  h.AddPid("alloc", child.pid());
  Discovery d(h.env, h.registry);
  AllocatorCollector alloc(h.env, h.registry);
  Snapshot s = h.Tick({&d, &alloc});
  ASSERT_TRUE(s.targets.at("alloc").memory.has_value());
  const MemoryStats& m = *s.targets.at("alloc").memory;
  EXPECT_GE(m.rss_bytes, 64u << 20);
  EXPECT_GE(m.anon_bytes, 64u << 20);
  ASSERT_TRUE(m.pss_bytes.has_value());
  double ps_rss = std::stod(Shell("ps -o rss= -p " + std::to_string(child.pid()))) * 1024;
  EXPECT_NEAR(static_cast<double>(m.rss_bytes), ps_rss, 0.05 * ps_rss);  // 5%
  EXPECT_GE(m.minor_faults, (64u << 20) / 4096 / 2);  // touched pages fault (THP may halve it)
}

TEST(CollectorsIntegrationTest, ProcessExitingMidCollectionIsSkippedThenGone) {
  auto child = std::make_unique<Child>(std::vector<std::string>{"idle", "3"});
  ASSERT_EQ(child->ready(), "ready\n");
  RealHost h;
  h.AddPid("short", child->pid());
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  AllocatorCollector alloc(h.env, h.registry);
  Snapshot s = h.Tick({&d, &cpu, &alloc});
  ASSERT_EQ(s.targets.at("short").state, TargetState::kActive);
  // Discovery has run; the process dies before the collectors read it.
  Snapshot mid;
  mid.targets = s.targets;
  ASSERT_TRUE(d.Collect(CollectContext{h.policy, h.clock.Now(), h.registered}, mid).ok());
  child->Kill();
  mid.targets.at("short").cpu.reset();
  mid.targets.at("short").memory.reset();
  EXPECT_TRUE(cpu.Collect(CollectContext{h.policy, h.clock.Now(), h.registered}, mid).ok());
  EXPECT_TRUE(alloc.Collect(CollectContext{h.policy, h.clock.Now(), h.registered}, mid).ok());
  EXPECT_FALSE(mid.targets.at("short").cpu.has_value());
  EXPECT_FALSE(mid.targets.at("short").memory.has_value());
  s = h.Tick({&d, &cpu, &alloc});
  EXPECT_EQ(s.targets.at("short").state, TargetState::kGone);
}

TEST(CollectorsIntegrationTest, CommWithSpacesAndParenthesesIsFound) {
  Child child({"name", "a) (b c"});
  ASSERT_EQ(child.ready(), "ready\n");
  RealHost h;
  TargetPolicy t;
  t.name = "odd";
  t.selector.comm = "a) (b c";
  h.policy.targets.push_back(t);
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  ASSERT_EQ(s.targets.at("odd").processes.size(), 1u);
  EXPECT_EQ(s.targets.at("odd").processes[0].pid, child.pid());
}

TEST(CollectorsIntegrationTest, MatchedProcessWatchedByPidfdIsGoneTheTickAfterItExits) {
  auto child = std::make_unique<Child>(std::vector<std::string>{"name", "knob-watched"});
  ASSERT_EQ(child->ready(), "ready\n");
  RealHost h;
  TargetPolicy t;
  t.name = "watched";
  t.selector.comm = "knob-watched";
  h.policy.targets.push_back(t);
  h.policy.global.collection.discovery_interval = std::chrono::hours(1);  // no scan after the first
  Discovery d(h.env, h.registry);
  Snapshot s = h.Tick({&d});
  ASSERT_EQ(s.targets.at("watched").processes.size(), 1u);
  s = h.Tick({&d});  // the first re-check starts the watch
  ASSERT_EQ(s.targets.at("watched").state, TargetState::kActive);
  if (d.watched_processes() == 0) GTEST_SKIP() << "no pidfd_open here: comm re-checks instead";
  const uint64_t rechecks = d.comm_rechecks();
  for (int i = 0; i < 5; ++i) {
    s = h.Tick({&d});
    EXPECT_EQ(s.targets.at("watched").processes.size(), 1u);
  }
  EXPECT_EQ(d.comm_rechecks(), rechecks);  // watched: no /proc read per tick
  child->Kill();
  s = h.Tick({&d});
  EXPECT_EQ(s.targets.at("watched").state, TargetState::kGone);
  EXPECT_EQ(d.watched_processes(), 0u);
}

// Asks the kernel to give the next new process of this pid namespace `pid` (ns_last_pid, which
// needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN): the next fork gets it unless another process
// forks first, so the caller checks and retries.
bool NextPidWillBe(pid_t pid) {
  std::ofstream f("/proc/sys/kernel/ns_last_pid");
  if (!f) return false;
  f << (pid - 1);
  f.close();
  return !f.fail();
}

// A pid reused by another process, with the real kernel handing it over: discovery reads the
// newcomer as a new process (new key, its own counters), and counts it once in
// knobd_target_process_replaced_total (the log line beside the count is not captured here); the old
// process's CPU time does not carry over.
TEST(CollectorsIntegrationTest, PidReusedByAnotherProcessIsReadAsNewAndSaidOnce) {
  auto first = std::make_unique<Child>(std::vector<std::string>{"spin"});
  ASSERT_EQ(first->ready(), "ready\n");
  const pid_t pid = first->pid();
  if (!NextPidWillBe(pid + 1)) GTEST_SKIP() << "ns_last_pid not writable here: cannot reuse a pid";
  RealHost h;
  h.AddPid("reused", pid);
  Discovery d(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  Snapshot s;
  ASSERT_TRUE(PollUntil([&] {
    s = h.Tick({&d, &cpu});
    const auto& c = s.targets.at("reused").cpu;
    return c && c->user_seconds + c->system_seconds >= 0.5;
  }));
  const ProcessKey old_key = s.targets.at("reused").processes.at(0);
  first->Kill();
  std::this_thread::sleep_for(50ms);  // a start time of another clock tick than the old one's
  std::unique_ptr<Child> second;
  for (int attempt = 0; attempt < 50 && !second; ++attempt) {
    ASSERT_TRUE(NextPidWillBe(pid));
    auto c = std::make_unique<Child>(std::vector<std::string>{"idle", "3"});
    if (c->pid() == pid) second = std::move(c);  // else another process forked first: again
  }
  ASSERT_TRUE(second) << "pid " << pid << " was never handed out again in 50 tries";
  ASSERT_EQ(second->ready(), "ready\n");

  s = h.Tick({&d, &cpu});
  const TargetSnapshot& t = s.targets.at("reused");
  ASSERT_EQ(t.state, TargetState::kActive);
  ASSERT_EQ(t.processes.size(), 1u);
  EXPECT_EQ(t.processes[0].pid, pid);
  EXPECT_NE(t.processes[0].start_time_ticks, old_key.start_time_ticks);
  ASSERT_TRUE(t.cpu.has_value());
  EXPECT_EQ(t.cpu->threads, 4u);  // the newcomer's 1 + 3 threads, not the spinner's 2
  EXPECT_LT(t.cpu->user_seconds + t.cpu->system_seconds, 0.4) << "the old process's CPU time";
  for (int i = 0; i < 3; ++i) s = h.Tick({&d, &cpu});  // no second report of the same reuse
  EXPECT_EQ(
      test::MetricValue(h.registry, "knobd_target_process_replaced_total", {{"target", "reused"}}),
      1.0);
}

int ListenOn(int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t PortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

TEST(SockDiagIntegrationTest, Ipv4AndIpv6ListenersAndTimeWaitWithInodeZero) {
  int v4 = ListenOn(AF_INET);
  ASSERT_GE(v4, 0);
  int v6 = ListenOn(AF_INET6);
  if (v6 < 0) GTEST_SKIP() << "no IPv6 loopback on this host";
  // A connection whose accepting side closes first leaves a TIME_WAIT socket on the v4 port.
  int c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(PortOf(v4));
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  int srv = accept(v4, nullptr, nullptr);
  ASSERT_GE(srv, 0);
  close(srv);
  char b;
  ASSERT_EQ(read(c, &b, 1), 0);  // FIN seen
  close(c);
  struct stat st4 {
  }, st6{};
  fstat(v4, &st4);
  fstat(v6, &st6);
  RealSockDiag diag;
  bool found4 = false, found6 = false, time_wait = false;
  ASSERT_TRUE(PollUntil(
      [&] {
        std::vector<TcpSocketInfo> out;
        if (!diag.DumpTcp(kAllTcpStates, true, out).ok()) return false;
        for (const auto& s : out) {
          if (s.inode == st4.st_ino && s.family == AF_INET && s.state == 10) found4 = true;
          if (s.inode == st6.st_ino && s.family == AF_INET6 && s.state == 10) found6 = true;
          if (s.state == 6 && s.inode == 0 && s.local_port == PortOf(v4)) time_wait = true;
        }
        return found4 && found6 && time_wait;
      },
      10s));
  close(v4);
  close(v6);
}

TEST(CollectorsIntegrationTest, HostLoadAndPsiEitherPresentOrDeclaredUnsupported) {
  RealHost h;
  LoadCollector load(h.env, h.registry);
  CpuCollector cpu(h.env, h.registry);
  Snapshot s = h.Tick({&load, &cpu});
  EXPECT_GT(s.host.total_tasks, 0u);
  EXPECT_EQ(s.host.online_cpus, std::thread::hardware_concurrency());
  auto psi = test::MetricValue(h.registry, "knobd_collector_supported",
                               {{"collector", "load"}, {"source", "psi"}});
  ASSERT_TRUE(psi.has_value());
  EXPECT_EQ(*psi == 1, s.host.pressure.cpu.has_value());
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

struct ThreadSums {
  uint64_t wait_ns = 0, slices = 0, vcs = 0, nvcs = 0;
};

// Sums /proc/PID/task/*/{schedstat,status} the plain way, as the reference.
ThreadSums SumThreadsFromProc(pid_t pid) {
  ThreadSums s;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream ss(e.path() / "schedstat");
    uint64_t run = 0, wait = 0, slices = 0;
    if (ss >> run >> wait >> slices) {
      s.wait_ns += wait;
      s.slices += slices;
    }
    std::ifstream st(e.path() / "status");
    std::string line;
    while (std::getline(st, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) s.vcs += std::stoull(line.substr(24));
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) s.nvcs += std::stoull(line.substr(27));
    }
  }
  return s;
}

TEST(TaskStatsIntegrationTest, PerProcessSumsLieBetweenProcThreadSumsTakenBeforeAndAfter) {
  Child child({"spin"});
  ASSERT_FALSE(child.ready().empty());
  RealSockDiag diag;
  TaskStatsTotals t;
  // Let the spinning thread accrue some scheduling history first (polled, not asserted on time).
  for (int i = 0; i < 100 && SumThreadsFromProc(child.pid()).slices < 5; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  const ThreadSums before = SumThreadsFromProc(child.pid());
  Status s = diag.TaskStatsTgid(child.pid(), t);
  const ThreadSums after = SumThreadsFromProc(child.pid());
  if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kUnavailable) {
    GTEST_SKIP() << "taskstats not available here (needs CAP_NET_ADMIN): " << s.ToString();
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Counters only grow while no thread exits, so the kernel's sum lies between the two readings.
  EXPECT_GE(t.cpu_delay_ns, before.wait_ns);
  EXPECT_LE(t.cpu_delay_ns, after.wait_ns);
  EXPECT_GE(t.cpu_count, before.slices);
  EXPECT_LE(t.cpu_count, after.slices);
  EXPECT_GE(t.nvcsw, before.vcs);
  EXPECT_LE(t.nvcsw, after.vcs);
  EXPECT_GE(t.nivcsw, before.nvcs);
  EXPECT_LE(t.nivcsw, after.nvcs);
  EXPECT_GT(t.cpu_count, 0u);
}

TEST(TaskStatsIntegrationTest, ExitedProcessIsNotFoundOrUnsupported) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  RealSockDiag diag;
  TaskStatsTotals t;
  Status s = diag.TaskStatsTgid(pid, t);
  EXPECT_TRUE(s.code() == StatusCode::kNotFound || s.code() == StatusCode::kPermissionDenied ||
              s.code() == StatusCode::kUnavailable)
      << s.ToString();
}

}  // namespace
}  // namespace knob
