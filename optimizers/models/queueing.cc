// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/queueing.h"

#include <algorithm>
#include <limits>

namespace knob {

double ErlangC(int servers, double a) {
  if (servers <= 0) return 1;
  if (a <= 0) return 0;
  if (a >= servers) return 1;
  double b = 1;
  for (int k = 1; k <= servers; ++k) b = a * b / (k + a * b);
  double c = servers * b / (servers - a * (1 - b));
  return std::clamp(c, 0.0, 1.0);
}

double MeanWaitSeconds(int servers, double arrival_rate, double service_seconds) {
  double a = arrival_rate * service_seconds;
  if (servers <= 0 || a >= servers) return std::numeric_limits<double>::infinity();
  if (a <= 0) return 0;
  return ErlangC(servers, a) * service_seconds / (servers - a);
}

std::optional<int> SmallestServersForWait(double arrival_rate, double service_seconds,
                                          double max_wait_seconds, int lo, int hi) {
  for (int c = std::max(lo, 1); c <= hi; ++c) {
    if (MeanWaitSeconds(c, arrival_rate, service_seconds) <= max_wait_seconds) return c;
  }
  return std::nullopt;
}

std::optional<int> SmallestServersForWaitProbability(double arrival_rate, double service_seconds,
                                                     double max_wait_probability, int lo, int hi) {
  double a = arrival_rate * service_seconds;
  for (int c = std::max(lo, 1); c <= hi; ++c) {
    if (ErlangC(c, a) <= max_wait_probability) return c;
  }
  return std::nullopt;
}

}  // namespace knob
