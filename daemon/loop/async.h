// SPDX-License-Identifier: Apache-2.0
#pragma once
// Cross-thread wakeup: any thread calls Send(), the callback runs soon after on the loop thread.
// Several Send() calls before the loop wakes are coalesced into one callback (libuv semantics),
// so the callback must drain whatever queue it serves, not assume one call per Send().
// Thread rule: construct, destroy and receive on the loop thread; Send() from any thread while
// the Async is alive.

#include <functional>

#include "daemon/loop/loop.h"

namespace knob {

class Async {
 public:
  Async(Loop& loop, std::function<void()> cb);
  ~Async();
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;

  void Send();
  // An active Async keeps Run() from returning; Unref() lets the loop exit while it is idle.
  void Unref();

 private:
  uv_async_t* handle_;
  std::function<void()> cb_;
};

}  // namespace knob
