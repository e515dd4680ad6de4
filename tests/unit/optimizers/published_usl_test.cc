// SPDX-License-Identifier: Apache-2.0
// The USL fit against published data sets with published coefficients (tests/data/usl/).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "optimizers/analyze.h"
#include "optimizers/models/usl.h"

namespace knob {
namespace {

std::vector<UslPoint> Load(const std::string& name) {
  std::ifstream in(std::string(KNOB_SOURCE_DIR) + "/tests/data/usl/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  auto rows = ParseUslCsv(ss.str());
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<UslPoint> pts;
  if (rows.ok())
    for (const auto& r : *rows) pts.push_back({r.concurrency, r.throughput});
  return pts;
}

TEST(PublishedUslTest, SchwartzMysqlBenchmarkMatchesPublishedFit) {
  auto pts = Load("schwartz_mysql.csv");
  ASSERT_EQ(pts.size(), 32u);
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  // Published: alpha 0.02671591, beta 7.690945e-4, gamma 995.6486, N* 35.
  EXPECT_NEAR(fit->alpha, 0.02671591, 0.02671591 * 0.001);
  EXPECT_NEAR(fit->beta, 7.690945e-4, 7.690945e-4 * 0.001);
  EXPECT_NEAR(fit->gamma, 995.6486, 995.6486 * 0.0001);
  ASSERT_TRUE(fit->Peak().has_value());
  // N* = sqrt((1 - 0.02671591) / 7.690945e-4) = 35.57; the source reports floor(N*) = 35.
  EXPECT_NEAR(*fit->Peak(), 35.57, 0.2);
  EXPECT_EQ(static_cast<int>(*fit->Peak()), 35);
  EXPECT_NEAR(fit->Throughput(35), 12341.7454, 12341.7454 * 0.001);
}

TEST(PublishedUslTest, RPackageCoefficientTestData) {
  auto pts = Load("usl_r_package_coef.csv");
  ASSERT_EQ(pts.size(), 6u);
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->alpha, 0.02, 0.0005);
  EXPECT_NEAR(fit->beta, 0.02, 0.0005);
  EXPECT_NEAR(fit->gamma, 1.00, 0.005);
}

TEST(AnalyzeTest, UslPrintsCoefficientsAndPeak) {
  std::ostringstream out, err;
  int rc = RunAnalyze({"usl", std::string(KNOB_SOURCE_DIR) + "/tests/data/usl/schwartz_mysql.csv"},
                      out, err);
  EXPECT_EQ(rc, 0) << err.str();
  EXPECT_NE(out.str().find("alpha (contention) = 0.0267"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("peak N* = 35."), std::string::npos) << out.str();
}

TEST(AnalyzeTest, UsageAndBadFiles) {
  std::ostringstream out, err;
  EXPECT_EQ(RunAnalyze({}, out, err), 2);
  EXPECT_EQ(RunAnalyze({"usl"}, out, err), 2);
  EXPECT_EQ(RunAnalyze({"usl", "/nonexistent.csv"}, out, err), 1);
  EXPECT_FALSE(ParseUslCsv("concurrency,throughput\n1,abc\n").ok());
  EXPECT_FALSE(ParseUslCsv("").ok());
  auto ok = ParseUslCsv("concurrency,throughput,latency\n1,10,0.1\n2,18,0.11\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_DOUBLE_EQ((*ok)[1].latency, 0.11);
}

TEST(AnalyzeTest, UslWithLatencyColumnShowsObservedLatency) {
  std::string path = ::testing::TempDir() + "/usl_latency.csv";
  {
    std::ofstream f(path);
    f << "concurrency,throughput,latency\n1,100,0.010\n2,190,0.0105\n4,340,0.0118\n8,520,0.0154\n";
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunAnalyze({"usl", path}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("observed_latency_s"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("0.0154"), std::string::npos) << out.str();
}

TEST(AnalyzeTest, MrcFromTrace) {
  std::string path = ::testing::TempDir() + "/trace.txt";
  {
    std::ofstream f(path);
    for (int r = 0; r < 10; ++r)
      for (int k = 0; k < 5; ++k) f << "key" << k << "\n";
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunAnalyze({"mrc", path}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("hit ratio 0.80 needs 5 objects"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace knob
