// SPDX-License-Identifier: Apache-2.0
// The metrics endpoint: address parsing, binding (including a port already taken) and the
// process metrics collectable.

#include "daemon/metrics/exporter.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <time.h>

#include <cstdint>

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
  ASSERT_EQ(values.count("knobd_process_resident_memory_bytes"), 1u);
  EXPECT_GT(values["knobd_process_resident_memory_bytes"], 1024 * 1024);
  ASSERT_EQ(values.count("knobd_process_cpu_seconds_total"), 1u);
  EXPECT_GE(values["knobd_process_cpu_seconds_total"], 0.05);
  EXPECT_LE(values["knobd_process_cpu_seconds_total"], cpu_after + 0.05);
}

TEST(ProcessMetricsTest, MissingStatmDropsOnlyTheMemoryFamily) {
  ProcessMetrics pm("/nonexistent/statm");
  auto families = pm.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "knobd_process_cpu_seconds_total");
}

}  // namespace
}  // namespace knob
