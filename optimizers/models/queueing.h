// SPDX-License-Identifier: Apache-2.0
#pragma once
// Queueing models for worker and connection pools: M/M/c with the Erlang C formula.
//
//   a    = lambda * S                offered load in Erlangs (lambda: arrivals/s, S: mean service
//   s) rho  = a / c                     utilisation per server, must be < 1 for a stable queue B(0)
//   = 1, B(k) = a B(k-1) / (k + a B(k-1))        Erlang B by the stable recursion C(c, a) = c B(c)
//   / (c - a (1 - B(c)))             probability an arrival waits (Erlang C) Wq   = C(c, a) * S /
//   (c - a)                      mean wait in queue, seconds R    = Wq + S mean response time,
//   seconds
// Little's law for the offered load when only pool gauges are known: a = busy (mean busy servers).
// Source: L. Kleinrock, "Queueing Systems Vol. 1", Wiley 1975, sec. 3.5; the recursion is the
// standard numerically stable form of Erlang B (e.g. Zukerman, "Introduction to Queueing
// Theory and Stochastic Teletraffic Models", ch. 8).
// Thread rule: pure functions, any thread.

#include <optional>

namespace knob {

// Probability that an arrival must wait; 1 when the queue is unstable (a >= c).
double ErlangC(int servers, double offered_load_erlangs);
// Mean wait in queue in seconds; +inf when unstable.
double MeanWaitSeconds(int servers, double arrival_rate, double service_seconds);
// Smallest c in [lo, hi] with mean wait <= max_wait_seconds; nullopt if none.
std::optional<int> SmallestServersForWait(double arrival_rate, double service_seconds,
                                          double max_wait_seconds, int lo, int hi);
// Smallest c in [lo, hi] with P(wait) <= max_wait_probability; nullopt if none.
std::optional<int> SmallestServersForWaitProbability(double arrival_rate, double service_seconds,
                                                     double max_wait_probability, int lo, int hi);

}  // namespace knob
