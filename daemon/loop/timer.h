// SPDX-License-Identifier: Apache-2.0
#pragma once
// A libuv timer: one-shot or repeating, with a std::function callback.
// Destroying the Timer stops it and closes the handle; the callback is never called afterwards.
// Thread rule: loop thread only.

#include <chrono>
#include <functional>

#include "daemon/loop/loop.h"

namespace knob {

class Timer {
 public:
  explicit Timer(Loop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires `cb` after `timeout`, then every `repeat` if repeat > 0. Restarting replaces the
  // previous schedule and callback. A repeating timer whose callback overruns does not queue
  // missed firings: libuv reschedules from the time the callback returns.
  void Start(std::chrono::nanoseconds timeout, std::chrono::nanoseconds repeat,
             std::function<void()> cb);
  void Stop();
  bool active() const;

 private:
  uv_timer_t* handle_;
  std::function<void()> cb_;
};

}  // namespace knob
