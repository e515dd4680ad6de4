// SPDX-License-Identifier: Apache-2.0
#pragma once
// A manual clock for deterministic tests: time moves only when the test says so.

#include "core/clock.h"

namespace knob::test {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(MonoTime start = MonoTime(std::chrono::hours(1)),
                     WallTime wall_start = WallTime(std::chrono::seconds(1'800'000'000)))
      : now_(start), wall_(wall_start) {}
  MonoTime Now() const override { return now_; }
  WallTime WallNow() const override { return wall_; }
  void Advance(Duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  MonoTime now_;
  WallTime wall_;
};

}  // namespace knob::test
