// SPDX-License-Identifier: Apache-2.0
#include "daemon/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

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

}  // namespace

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  // statm field 2 is resident pages (text+data+shared), the same number ps reports as RSS.
  std::ifstream statm(statm_path_);
  unsigned long long size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    out.push_back(OneValue("knobd_process_resident_memory_bytes",
                           "Resident memory of the knobd process", prometheus::MetricType::Gauge,
                           static_cast<double>(resident_pages) * page));
  }
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    auto secs = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    out.push_back(OneValue("knobd_process_cpu_seconds_total",
                           "User and system CPU time consumed by the knobd process",
                           prometheus::MetricType::Counter, secs(ru.ru_utime) + secs(ru.ru_stime)));
  }
  return out;
}

}  // namespace knob
