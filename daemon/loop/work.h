// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs a blocking function on libuv's thread pool and its completion on the loop thread.
// knobd uses it for collection (thousands of /proc reads) so the loop, and with it the control
// socket, never waits on the filesystem.
//
// One Work object carries at most one request at a time: Start() fails with FailedPrecondition
// while the previous one is in flight, which is exactly the "skip an overrunning tick, never
// queue it" rule the daemon wants. Destroying a Work with a request in flight cancels it if it
// has not started; if it is running, the request finishes in the background, its `done` is not
// called, and the Loop's destructor waits for it.
// Thread rule: Start/busy/destruction on the loop thread; `work` runs on a pool thread and must
// touch only what it was given; `done` runs on the loop thread.

#include <functional>

#include "daemon/loop/loop.h"

namespace knob {

class Work {
 public:
  explicit Work(Loop& loop);
  ~Work();
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  // `done(cancelled)`: cancelled is true when the request was cancelled before `work` ran.
  Status Start(std::function<void()> work, std::function<void(bool cancelled)> done);
  bool busy() const { return inflight_ != nullptr; }
  // Cancels a request that has not started yet; a running one cannot be interrupted.
  void Cancel();

 private:
  struct Request;
  Loop& loop_;
  Request* inflight_ = nullptr;
};

}  // namespace knob
