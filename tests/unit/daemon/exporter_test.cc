// SPDX-License-Identifier: Apache-2.0
// The metrics endpoint: address parsing, binding (including a port already taken) and the
// process metrics collectable.

#include "daemon/metrics/exporter.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <set>

#include "daemon/metrics/process_metrics.h"

namespace knob {
namespace {

TEST(ListenAddressTest, AcceptedForms) {
  struct Case {
    std::string text, host;
    int port;
  };
  for (const auto& c : std::vector<Case>{{"127.0.0.1:10464", "127.0.0.1", 10464},
                                         {"0.0.0.0:0", "0.0.0.0", 0},
                                         {"[::1]:10464", "::1", 10464},
                                         {"localhost:80", "localhost", 80}}) {
    auto a = ParseListenAddress(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.status().ToString();
    EXPECT_EQ(a->host, c.host);
    EXPECT_EQ(a->port, c.port);
  }
}

TEST(ListenAddressTest, RejectedFormsSayWhatIsAccepted) {
  for (const char* bad : {"", "10464", "127.0.0.1", "127.0.0.1:", ":10464", "127.0.0.1:99999",
                          "127.0.0.1:-1", "127.0.0.1:12ab", "::1:10464", "[::1]10464", "[::1"}) {
    auto a = ParseListenAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(a.status().message().find("accepted forms"), std::string::npos);
  }
}

TEST(MetricsExporterTest, BindsPortZeroAndReportsTheRealPort) {
  auto e = MetricsExporter::Start("127.0.0.1:0", std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string& addr = (*e)->BoundAddress();
  ASSERT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << addr;
  EXPECT_NE(addr, "127.0.0.1:0");
}

TEST(MetricsExporterTest, PortInUseIsAStatus) {
  auto first = MetricsExporter::Start("127.0.0.1:0", std::make_shared<prometheus::Registry>());
  ASSERT_TRUE(first.ok());
  auto second =
      MetricsExporter::Start((*first)->BoundAddress(), std::make_shared<prometheus::Registry>());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find((*first)->BoundAddress()), std::string::npos);
}

TEST(MetricsExporterTest, MalformedAddressIsInvalidArgument) {
  auto e = MetricsExporter::Start("nonsense", std::make_shared<prometheus::Registry>());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST(ProcessMetricsTest, ReportsOwnMemoryAndCpu) {
  // Spend 0.1 s of CPU first, so the counter has something to show at 10 ms tick resolution.
  auto cpu_seconds = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  volatile uint64_t spin = 0;
  while (cpu_seconds() < 0.1) spin = spin + 1;
  ProcessMetrics pm;
  auto families = pm.Collect();
  const double cpu_after = cpu_seconds();
  std::map<std::string, double> values;
  for (const auto& f : families) {
    ASSERT_EQ(f.metric.size(), 1u);
    values[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                               : f.metric[0].gauge.value;
  }
  ASSERT_EQ(values.count("process_resident_memory_bytes"), 1u);
  EXPECT_GT(values["process_resident_memory_bytes"], 1024 * 1024);
  ASSERT_EQ(values.count("process_cpu_seconds_total"), 1u);
  EXPECT_GE(values["process_cpu_seconds_total"], 0.05);
  EXPECT_LE(values["process_cpu_seconds_total"], cpu_after + 0.05);
}

TEST(ProcessMetricsTest, OpenFdsAndTheirLimitAsClientLibrariesNameThem) {
  ProcessMetrics pm;
  std::map<std::string, double> before;
  for (const auto& f : pm.Collect()) before[f.name] = f.metric[0].gauge.value;
  ASSERT_EQ(before.count("process_open_fds"), 1u);
  ASSERT_EQ(before.count("process_max_fds"), 1u);
  EXPECT_GT(before["process_max_fds"], before["process_open_fds"]);
  // Three more open descriptors show up in the next scrape.
  int fds[3];
  for (int& fd : fds) fd = ::dup(0);
  std::map<std::string, double> after;
  for (const auto& f : pm.Collect()) after[f.name] = f.metric[0].gauge.value;
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(after["process_open_fds"], before["process_open_fds"] + 3);
  ASSERT_EQ(after.count("process_start_time_seconds"), 1u);
  EXPECT_GT(after["process_start_time_seconds"], 1.5e9);
  EXPECT_LE(after["process_start_time_seconds"], static_cast<double>(::time(nullptr)) + 1);
}

TEST(ProcessMetricsTest, MissingProcDropsOnlyTheFamiliesReadFromIt) {
  ProcessMetrics pm("/nonexistent");
  std::set<std::string> names;
  for (const auto& f : pm.Collect()) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string>{"process_cpu_seconds_total", "process_max_fds"}));
}

}  // namespace
}  // namespace knob
