// SPDX-License-Identifier: Apache-2.0
#pragma once
// RAII owner of one libuv event loop. Every other wrapper in daemon/loop (timer, signal, async,
// work, and the control server's pipe_server/stream) is created on a Loop and must be destroyed
// before it. The destructor closes any handle still open and runs the loop until every close
// callback and queued work request has finished, so no libuv memory outlives the Loop.
// These wrappers are the only place in knobd that calls uv_* directly.
// Thread rule: loop thread only (the thread that calls Run()), except where a wrapper says
// otherwise (Async::Send).

#include <uv.h>

#include <chrono>
#include <cstdint>

#include "core/status.h"

namespace knob {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until no active handle or request remains, or Stop() is called.
  Status Run();
  // Runs one iteration without blocking; returns true while handles or requests remain active.
  bool RunNoWait();
  // Runs one iteration, blocking until something happens; true while anything remains active.
  bool RunOnce();
  // Makes Run() return after the current iteration (loop thread only).
  void Stop();
  // The loop's cached monotonic time in milliseconds (updated at the start of each iteration).
  uint64_t NowMs() const;

  // For the wrappers in daemon/loop only.
  uv_loop_t* raw() { return &loop_; }

 private:
  uv_loop_t loop_;
  bool initialized_ = false;
};

namespace loop_internal {

// Closes a heap-allocated handle and deletes it from the close callback, as libuv requires:
// the memory must stay valid until the loop has processed the close.
template <typename T>
void CloseAndDelete(T* handle) {
  auto* h = reinterpret_cast<uv_handle_t*>(handle);
  if (uv_is_closing(h)) return;
  uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<T*>(closed); });
}

// libuv error code -> Status ("context: uv_strerror").
Status UvError(int rc, const char* context);

// Milliseconds for libuv timers, rounding sub-millisecond positive durations up to 1 ms so
// a tiny interval never turns into "fire continuously".
uint64_t ToUvMillis(std::chrono::nanoseconds d);

}  // namespace loop_internal
}  // namespace knob
