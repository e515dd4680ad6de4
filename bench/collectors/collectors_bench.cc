// SPDX-License-Identifier: Apache-2.0
// Collector cost benchmark: builds a realistic host (processes, threads, loopback TCP sockets),
// runs every knobd collector for N back-to-back ticks and reports CPU time per tick, the worst
// tick, RSS and open() calls per tick; then measures, on the same host in the same run, what the
// tools users would otherwise run cost for one snapshot: `pidstat -t`, `ps -eL`, `ss -tni`, and
// one scrape of `prometheus-process-exporter -threads` and `prometheus-node-exporter`.
// A table-printing harness rather than Google Benchmark: the peers are other processes whose CPU
// is read from wait4() rusage, and the numbers we want are per tick, not per iteration.
//
//   knob_collectors_bench [--procs 200] [--threads 20000] [--sockets 20000] [--ticks 60]
//                         [--targets 10] [--thread-interval S] [--socket-interval S]
//                         [--thread-reads N] [--taskstats 0|1] [--smaps-interval S] [--peers 0|1]
//                         [--warmup N] [--discovery-interval S] [--fd-rescan-interval S]
//                         [--idle-interval S] [--busy N]
//
// Every cadence not given on the command line is knobd's default (config/policy.h).
//
// --busy N: in N of the processes one thread takes a page fault every 5 ms, so their
// /proc/PID/stat changes every tick and knobd cannot take its shortcuts for idle processes
// (stat once per idle_process_interval, taskstats once per thread_interval) for them; the others
// stay idle. Real hosts sit somewhere between --busy 0 and --busy <procs>.
//
// Fake time: ticks run back to back and ctx.now advances by one second each, so cadences
// behave as at a 1 s tick while the run takes seconds.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "collectors/all.h"
#include "collectors/cpu.h"
#include "config/policy.h"
#include "core/procfs.h"
#include "core/sock_diag.h"

namespace {

struct Options {
  int procs = 200, threads = 20000, sockets = 20000, ticks = 60, targets = 10;
  int thread_interval = -1, socket_interval = -1;  // seconds; -1 = the default
  int fd_rescan_interval = -1;                     // seconds; -1 = the default
  int idle_interval = -1;       // idle_process_interval, seconds; 0 = every process every tick
  int thread_reads = -1;        // CollectionSettings::thread_reads_per_tick; -1 = the default
  int taskstats = 1;            // 0: force the per-thread-file fallback
  int peers = 1;                // 0: skip the peer tools (quick runs)
  int smaps_interval = -1;      // seconds; -1 = the default
  int discovery_interval = -1;  // seconds; -1 = the default
  // Unmeasured ticks before the measured ones, so that slow rotations have visited (and kept
  // fds for) every thread once: steady state. 1 = only the first tick (opens every fd).
  int warmup = 1;
  int busy = 0;  // processes with a thread that faults a page every 5 ms
};

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long StatusKb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key) + 1);
  }
  return -1;
}

void* Block(void*) {
  for (;;) pause();
  return nullptr;
}

// Every 5 ms: one page fault (a fresh anonymous page touched and unmapped), so the process's
// /proc/PID/stat changes between two back-to-back bench ticks, as a working process's CPU time
// does between two real 1 s ticks, at a small CPU cost (the bench's ticks take ~10 ms each).
void* Busy(void*) {
  for (;;) {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      static_cast<volatile char*>(p)[0] = 1;
      munmap(p, 4096);
    }
    usleep(5000);
  }
  return nullptr;
}

[[noreturn]] void ChildMain(int idx, int targets, int threads, int pairs, bool busy, int ready_fd) {
  std::string name = std::string("kb-w").append(std::to_string(idx % targets));
  prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) _exit(3);
  listen(lfd, pairs + 16);
  socklen_t len = sizeof(a);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  // Closed by a reset when the child is killed: no TIME_WAIT sockets are left behind, which
  // would otherwise sit in the next run's socket table for a minute and inflate its dump.
  const linger reset{1, 0};
  for (int i = 0; i < pairs; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) _exit(4);
    int s = accept(lfd, nullptr, nullptr);
    if (s < 0) _exit(5);
    setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (int i = 1; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, busy && i == 1 ? Busy : Block, nullptr) != 0) break;
  }
  char x = 'x';
  if (write(ready_fd, &x, 1) != 1) _exit(6);
  for (;;) pause();
}

struct PeerCost {
  std::string tool;
  double cpu_seconds = -1;
  bool ran = false;
};

PeerCost MeasurePeer(const std::string& tool, const std::string& cmd) {
  PeerCost c{tool};
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", (cmd + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) < 0) return c;
  c.ran = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  c.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return c;
}

// CPU seconds (user+system, all threads) of a live process, from /proc/PID/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t rp = all.rfind(')');
  if (rp == std::string::npos) return -1;
  std::vector<std::string> fields;
  size_t pos = rp + 2;
  while (pos < all.size()) {
    size_t sp = all.find(' ', pos);
    if (sp == std::string::npos) sp = all.size();
    fields.push_back(all.substr(pos, sp - pos));
    pos = sp + 1;
  }
  // Fields after ")": state is [0], utime [11], stime [12].
  if (fields.size() < 13) return -1;
  return static_cast<double>(std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Starts an exporter (a long-running peer) on a loopback port, waits until it answers, scrapes
// it once to warm up, then reports its own CPU per scrape over `scrapes` scrapes (curl's CPU is
// not counted). "not available" when the binary is missing (Debian packages
// prometheus-process-exporter / prometheus-node-exporter).
PeerCost MeasureExporter(const std::string& tool, const std::vector<std::string>& argv,
                         const std::string& url, int scrapes) {
  PeerCost c{tool};
  if (access(argv[0].c_str(), X_OK) != 0) return c;
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  const std::string curl = "curl -sf -o /dev/null " + url;
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = std::system(curl.c_str()) == 0;
    if (!up) usleep(100000);
  }
  if (up && std::system(curl.c_str()) == 0) {
    const double before = ProcessCpuSeconds(pid);
    bool ok = true;
    for (int i = 0; i < scrapes; ++i) ok = ok && std::system(curl.c_str()) == 0;
    const double after = ProcessCpuSeconds(pid);
    c.ran = ok && before >= 0 && after >= 0;
    c.cpu_seconds = (after - before) / scrapes;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--procs")
      o.procs = v;
    else if (k == "--threads")
      o.threads = v;
    else if (k == "--sockets")
      o.sockets = v;
    else if (k == "--ticks")
      o.ticks = v;
    else if (k == "--targets")
      o.targets = v;
    else if (k == "--thread-interval")
      o.thread_interval = v;
    else if (k == "--socket-interval")
      o.socket_interval = v;
    else if (k == "--thread-reads")
      o.thread_reads = v;
    else if (k == "--taskstats")
      o.taskstats = v;
    else if (k == "--peers")
      o.peers = v;
    else if (k == "--smaps-interval")
      o.smaps_interval = v;
    else if (k == "--discovery-interval")
      o.discovery_interval = v;
    else if (k == "--fd-rescan-interval")
      o.fd_rescan_interval = v;
    else if (k == "--idle-interval")
      o.idle_interval = v;
    else if (k == "--warmup")
      o.warmup = std::max(1, v);
    else if (k == "--busy")
      o.busy = v;
  }
  // Like knobd's unit (LimitNOFILE), allow enough fds to keep one per /proc file read per tick.
  rlimit nofile{262144, 262144};  // raising the hard limit needs CAP_SYS_RESOURCE
  if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  std::fprintf(stderr, "building host: %d processes, %d threads, %d sockets...\n", o.procs,
               o.threads, o.sockets);
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  setpgid(0, 0);
  std::vector<pid_t> children;
  const int threads_each = std::max(1, o.threads / o.procs);
  const int pairs_each = std::max(0, o.sockets / o.procs / 2);
  for (int i = 0; i < o.procs; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      ChildMain(i, o.targets, threads_each, pairs_each, i < o.busy, pipefd[1]);
    }
    children.push_back(pid);
  }
  close(pipefd[1]);
  for (int i = 0; i < o.procs; ++i) {
    char x;
    if (read(pipefd[0], &x, 1) != 1) {
      std::fprintf(stderr, "child setup failed\n");
      break;
    }
  }

  knob::Policy policy;
  policy.source = "<bench>";
  auto& cs = policy.global.collection;
  if (o.thread_interval > 0) cs.thread_interval = std::chrono::seconds(o.thread_interval);
  if (o.socket_interval > 0) cs.socket_dump_interval = std::chrono::seconds(o.socket_interval);
  if (o.fd_rescan_interval > 0) cs.fd_rescan_interval = std::chrono::seconds(o.fd_rescan_interval);
  if (o.idle_interval >= 0) cs.idle_process_interval = std::chrono::seconds(o.idle_interval);
  if (o.thread_reads >= 0) {
    policy.global.collection.thread_reads_per_tick = static_cast<uint32_t>(o.thread_reads);
  }
  policy.global.collection.use_taskstats = o.taskstats != 0;
  if (o.smaps_interval > 0) {
    policy.global.collection.smaps_interval = std::chrono::seconds(o.smaps_interval);
  }
  if (o.discovery_interval > 0) {
    policy.global.collection.discovery_interval = std::chrono::seconds(o.discovery_interval);
  }
  for (int t = 0; t < o.targets; ++t) {
    knob::TargetPolicy tp;
    // append() rather than "w" + to_string(): GCC 12 at -O2 raises a false -Wrestrict on the
    // latter (GCC bug 105329).
    tp.name = std::string("w").append(std::to_string(t));
    tp.selector.comm = std::string("kb-w").append(std::to_string(t));
    policy.targets.push_back(tp);
  }
  knob::RealEnv real(policy);
  prometheus::Registry registry;
  auto collectors = knob::MakeCollectors(real.env(), registry, policy);
  std::map<std::string, pid_t> registered;
  knob::MonoTime now{};
  std::vector<double> tick_cpu;
  uint64_t opens_before = 0;
  const long rss_before_kb = StatusKb("VmRSS:");
  size_t processes_seen = 0, threads_seen = 0, sockets_seen = 0;
  std::map<std::string, std::pair<double, uint64_t>> per_collector;
  std::map<std::string, double> per_collector_max;
  for (int tick = -o.warmup; tick < o.ticks; ++tick) {  // negative ticks: warm-up, unmeasured
    knob::Snapshot snap;
    snap.time = now;
    knob::CollectContext ctx{policy, now, registered};
    double c0 = CpuSeconds();
    auto* procfs = dynamic_cast<knob::RealProcFs*>(&real.env().procfs);
    uint64_t o0 = procfs->opens();
    for (auto& c : collectors) {
      double a = CpuSeconds();
      uint64_t oa = procfs->opens();
      c->Collect(ctx, snap).IgnoreError();
      if (tick >= 0) {
        const double used = CpuSeconds() - a;
        double& worst = per_collector_max[std::string(c->Name())];
        worst = std::max(worst, used);
        per_collector[std::string(c->Name())].first += used;
        per_collector[std::string(c->Name())].second += procfs->opens() - oa;
      }
    }
    double c1 = CpuSeconds();
    if (tick >= 0) {
      tick_cpu.push_back(c1 - c0);
      opens_before += procfs->opens() - o0;
    }
    processes_seen = threads_seen = sockets_seen = 0;
    for (const auto& [n, ts] : snap.targets) {
      processes_seen += ts.processes.size();
      if (ts.cpu) threads_seen += ts.cpu->threads;
      if (ts.sockets) {
        for (const auto& [s, cnt] : ts.sockets->tcp_by_state) sockets_seen += cnt;
      }
    }
    now += std::chrono::seconds(1);
  }
  const long rss_kb = StatusKb("VmRSS:");
  const long hwm_kb = StatusKb("VmHWM:");
  std::vector<double> sorted = tick_cpu;
  std::sort(sorted.begin(), sorted.end());
  double total = 0;
  for (double v : tick_cpu) total += v;
  const double mean = total / static_cast<double>(tick_cpu.size());

  std::vector<PeerCost> peers;
  if (o.peers != 0) {
    peers.push_back(MeasurePeer("ss -tni (one dump)", "ss -tni"));
    peers.push_back(MeasurePeer("ps -eLo pid,lwp,time,psr,nlwp (one snapshot)",
                                "ps -eLo pid,lwp,time,psr,nlwp"));
    peers.push_back(MeasurePeer("pidstat -t -w -u 1 1 (one interval)", "pidstat -t -w -u 1 1"));
    std::string names;
    for (int t = 0; t < o.targets; ++t) {
      names += (t ? "," : "") + std::string("kb-w").append(std::to_string(t));
    }
    peers.push_back(MeasureExporter("prometheus-process-exporter -threads (one scrape)",
                                    {"/usr/bin/prometheus-process-exporter", "-procnames", names,
                                     "-threads=true", "-web.listen-address", "127.0.0.1:19256"},
                                    "http://127.0.0.1:19256/metrics", 5));
    peers.push_back(MeasureExporter(
        "prometheus-node-exporter (one scrape, default collectors)",
        {"/usr/bin/prometheus-node-exporter", "--web.listen-address=127.0.0.1:19100"},
        "http://127.0.0.1:19100/metrics", 5));
  }

  std::printf(
      "\n## knobd collectors: %d processes (%d busy), %d threads, %d TCP sockets, %d targets\n\n",
      o.procs, std::min(o.busy, o.procs), o.procs * threads_each,
      o.procs * pairs_each * 2 + o.procs, o.targets);
  std::printf("seen per tick: %zu processes, %zu threads, %zu target sockets\n\n", processes_seen,
              threads_seen, sockets_seen);
  auto secs = [](std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "cadences: thread_interval %gs, thread_reads_per_tick %u, idle_process_interval %gs, "
      "socket_dump_interval %gs, fd_rescan_interval %gs, smaps_interval %gs, "
      "discovery_interval %gs, taskstats %s\n\n",
      secs(cs.thread_interval), cs.thread_reads_per_tick, secs(cs.idle_process_interval),
      secs(cs.socket_dump_interval), secs(cs.fd_rescan_interval), secs(cs.smaps_interval),
      secs(cs.discovery_interval), cs.use_taskstats ? "on" : "off");
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| ticks measured (1 s fake tick, back to back; after %d warm-up) | %zu |\n",
              o.warmup, tick_cpu.size());
  std::printf("| CPU per tick, mean | %.2f ms |\n", mean * 1e3);
  std::printf("| CPU per tick, median | %.2f ms |\n", sorted[sorted.size() / 2] * 1e3);
  std::printf("| CPU per tick, max | %.2f ms |\n", sorted.back() * 1e3);
  std::printf("| share of one core at a 1 s tick | %.2f %% |\n", mean * 100);
  std::printf("| open() calls per tick (mean, steady state) | %.1f |\n",
              static_cast<double>(opens_before) / static_cast<double>(tick_cpu.size()));
  for (const auto& c : collectors) {
    if (const auto* cpu = dynamic_cast<const knob::CpuCollector*>(c.get())) {
      const double n = static_cast<double>(tick_cpu.size() + static_cast<size_t>(o.warmup));
      std::printf(
          "| cpu: process stat reads / taskstats queries per tick (whole run) | %.1f / %.1f |\n",
          static_cast<double>(cpu->stat_reads()) / n,
          static_cast<double>(cpu->taskstats_queries()) / n);
    }
  }
  std::printf("| kept /proc fds at the end | %zu |\n",
              dynamic_cast<knob::RealProcFs*>(&real.env().procfs)->kept_fds());
  std::printf("| RSS after run (before collectors: %ld KiB) | %ld KiB (peak %ld KiB) |\n",
              rss_before_kb, rss_kb, hwm_kb);
  std::printf(
      "\n| collector | CPU per tick, mean | worst tick | open() per tick |\n|---|---|---|---|\n");
  for (const auto& [name, v] : per_collector) {
    std::printf("| %s | %.3f ms | %.3f ms | %.1f |\n", name.c_str(),
                v.first * 1e3 / static_cast<double>(tick_cpu.size()), per_collector_max[name] * 1e3,
                static_cast<double>(v.second) / static_cast<double>(tick_cpu.size()));
  }
  std::printf(
      "\n| peer tool, one snapshot of the same host | CPU | knobd mean tick / peer |\n"
      "|---|---|---|\n");
  for (const auto& p : peers) {
    if (!p.ran) {
      std::printf("| %s | not available | - |\n", p.tool.c_str());
      continue;
    }
    std::printf("| %s | %.2f ms | %.3f |\n", p.tool.c_str(), p.cpu_seconds * 1e3,
                p.cpu_seconds > 0 ? mean / p.cpu_seconds : 0.0);
  }
  std::fflush(stdout);
  signal(SIGTERM, SIG_IGN);
  kill(0, SIGTERM);  // our process group: the children (we ignore it)
  for (pid_t c : children) waitpid(c, nullptr, 0);
  return 0;
}
