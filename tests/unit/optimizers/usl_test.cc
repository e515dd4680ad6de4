// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/usl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace knob {
namespace {

std::vector<UslPoint> Synthetic(double alpha, double beta, double gamma, double noise,
                                unsigned seed) {
  UslFit truth;
  truth.alpha = alpha;
  truth.beta = beta;
  truth.gamma = gamma;
  std::mt19937 rng(seed);
  std::normal_distribution<double> eps(0, noise);
  std::vector<UslPoint> pts;
  for (int n = 1; n <= 64; n += 3) {
    double x = truth.Throughput(n);
    pts.push_back({static_cast<double>(n), x * (1 + eps(rng))});
  }
  return pts;
}

TEST(UslFitTest, RecoversCoefficientsFromNoiseFreeData) {
  auto pts = Synthetic(0.05, 0.0008, 100, 0, 1);
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_NEAR(fit->alpha, 0.05, 1e-6);
  EXPECT_NEAR(fit->beta, 0.0008, 1e-8);
  EXPECT_NEAR(fit->gamma, 100, 1e-4);
  EXPECT_NEAR(fit->r_squared, 1.0, 1e-9);
  ASSERT_TRUE(fit->Peak().has_value());
  EXPECT_NEAR(*fit->Peak(), std::sqrt(0.95 / 0.0008), 1e-3);
}

TEST(UslFitTest, RecoversCoefficientsWithNoiseWithinStandardErrors) {
  auto pts = Synthetic(0.03, 0.0005, 50, 0.02, 42);
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->alpha, 0.03, 4 * fit->alpha_se + 1e-4);
  EXPECT_NEAR(fit->beta, 0.0005, 4 * fit->beta_se + 1e-6);
  EXPECT_NEAR(fit->gamma, 50, 4 * fit->gamma_se);
  EXPECT_GT(fit->alpha_se, 0);
  EXPECT_LT(fit->gamma_se / fit->gamma, 0.05);
  EXPECT_GT(fit->r_squared, 0.95);
  EXPECT_GT(fit->Confidence(), 0.5);
}

TEST(UslFitTest, TooFewDistinctLevelsIsAnError) {
  std::vector<UslPoint> pts = {{4, 100}, {4, 101}, {8, 180}, {8, 181}};
  auto fit = FitUsl(pts);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FitUsl(std::vector<UslPoint>{}).ok());
}

TEST(UslFitTest, BadValuesAreInvalid) {
  std::vector<UslPoint> pts = {{1, 10}, {2, -1}, {3, 25}};
  EXPECT_EQ(FitUsl(pts).status().code(), StatusCode::kInvalidArgument);
}

TEST(UslFitTest, ExactlyThreePointsFitsWithoutConfidence) {
  std::vector<UslPoint> pts = {{1, 10}, {2, 19}, {4, 34}};
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->dof, 0);
  EXPECT_FALSE(std::isfinite(fit->alpha_se));
  EXPECT_LE(fit->Confidence(), 0.1);
}

TEST(UslFitTest, LinearScalingHasNoPeak) {
  std::vector<UslPoint> pts;
  for (int n = 1; n <= 10; ++n) pts.push_back({double(n), 10.0 * n});
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->alpha, 0, 1e-6);
  EXPECT_NEAR(fit->beta, 0, 1e-8);
  EXPECT_FALSE(fit->Peak().has_value());
}

TEST(UslFitTest, NegativeCurvatureClampsBetaAtZero) {
  // Super-linear data would need beta < 0; the fit keeps beta >= 0 (no peak).
  std::vector<UslPoint> pts = {{1, 10}, {2, 21}, {4, 45}, {8, 100}, {16, 230}};
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  EXPECT_GE(fit->beta, 0);
  EXPECT_GE(fit->alpha, 0);
}

TEST(UslChoiceTest, PeakWithoutConstraintChecksIntegerNeighbours) {
  UslFit f;
  f.alpha = 0.05;
  f.beta = 0.0008;
  f.gamma = 100;
  f.dof = 0;  // no covariance: LCB == estimate
  auto c = ChooseConcurrency(f, 1, 200, std::nullopt, 1.0);
  ASSERT_TRUE(c.has_value());
  double peak = *f.Peak();  // 34.46
  EXPECT_TRUE(c->n == int(std::floor(peak)) || c->n == int(std::ceil(peak)));
  EXPECT_GE(c->throughput, f.Throughput(std::floor(peak)) - 1e-9);
  EXPECT_GE(c->throughput, f.Throughput(std::ceil(peak)) - 1e-9);
  EXPECT_FALSE(c->latency_bound);
}

TEST(UslChoiceTest, LatencyConstraintBinds) {
  UslFit f;
  f.alpha = 0.02;
  f.beta = 0.0002;
  f.gamma = 1000;  // 1 ms at N=1
  // Peak at 70; p99 = 3 x mean; limit 6 ms -> mean <= 2 ms -> D(N) <= 2 -> N ~ 41 < peak.
  auto c = ChooseConcurrency(f, 1, 1000, 0.006, 3.0);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->latency_bound);
  EXPECT_LE(f.Latency(c->n) * 3, 0.006 + 1e-12);
  EXPECT_GT(f.Latency(c->n + 1) * 3, 0.006);
  EXPECT_LT(c->n, 70);
  auto l = LargestConcurrencyUnderLatency(f, 0.006, 3.0, 1, 1000);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(c->n, int(std::floor(*l)));
}

TEST(UslChoiceTest, LowerConfidenceBoundIsBelowEstimate) {
  auto pts = Synthetic(0.03, 0.0005, 50, 0.05, 7);
  auto fit = FitUsl(pts);
  ASSERT_TRUE(fit.ok());
  auto c = ChooseConcurrency(*fit, 1, 200, std::nullopt, 1.0, 2.0);
  ASSERT_TRUE(c.has_value());
  EXPECT_LT(c->throughput_lcb, c->throughput);
  EXPECT_NEAR(c->n, std::sqrt(0.97 / 0.0005), 8);
}

}  // namespace
}  // namespace knob
