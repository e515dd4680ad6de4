// SPDX-License-Identifier: Apache-2.0
#include "daemon/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace knob {
namespace {

prometheus::MetricFamily OneValue(const std::string& name, const std::string& help,
                                  prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

// Entries of /proc/self/fd minus "." and "..", and minus the directory fd itself.
int CountOpenFds(const std::string& fd_dir) {
  DIR* d = opendir(fd_dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;
}

// Field 22 of /proc/self/stat is the start time in clock ticks since boot; /proc/stat btime
// is the boot time. Their sum is what the client libraries export.
double StartTimeSeconds(const std::string& proc_self) {
  std::ifstream stat(proc_self + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  std::ifstream host("/proc/stat");
  std::string key;
  double btime = -1;
  while (host >> key) {
    if (key == "btime") {
      host >> btime;
      break;
    }
    std::getline(host, line);
  }
  if (btime < 0 || start_ticks == 0) return -1;
  return btime + static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  // statm: size and resident pages (text+data+shared), the numbers ps reports as VSZ and RSS.
  std::ifstream statm(proc_self_ + "/statm");
  unsigned long long size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    out.push_back(OneValue("process_resident_memory_bytes", "Resident memory size in bytes.",
                           MetricType::Gauge, static_cast<double>(resident_pages) * page));
    out.push_back(OneValue("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                           MetricType::Gauge, static_cast<double>(size_pages) * page));
  }
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    auto secs = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    out.push_back(OneValue("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.", MetricType::Counter,
                           secs(ru.ru_utime) + secs(ru.ru_stime)));
  }
  int fds = CountOpenFds(proc_self_ + "/fd");
  if (fds >= 0)
    out.push_back(
        OneValue("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    out.push_back(OneValue("process_max_fds", "Maximum number of open file descriptors.",
                           MetricType::Gauge, static_cast<double>(rl.rlim_cur)));
  double start = StartTimeSeconds(proc_self_);
  if (start > 0)
    out.push_back(OneValue("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, start));
  return out;
}

}  // namespace knob
