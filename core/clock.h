// SPDX-License-Identifier: Apache-2.0
#pragma once
// Time, behind an interface so every decision path runs under a fake clock in tests.
// Thread rule: SystemClock is thread-safe; FakeClock (tests/support) is loop-thread only.

#include <chrono>

namespace knob {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: for intervals, cooldowns, rates.
  virtual MonoTime Now() const = 0;
  // Wall-clock time: for records a human reads (history, decision log).
  virtual WallTime WallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace knob
