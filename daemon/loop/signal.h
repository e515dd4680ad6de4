// SPDX-License-Identifier: Apache-2.0
#pragma once
// A libuv signal watcher: the callback runs on the loop thread, never in signal context, so it
// may do anything (reload the policy, start shutdown).
// Thread rule: loop thread only.

#include <functional>

#include "daemon/loop/loop.h"

namespace knob {

class Signal {
 public:
  explicit Signal(Loop& loop);
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  // Watches `signum` until Stop() or destruction. Fails with InvalidArgument for a bad signum.
  Status Start(int signum, std::function<void(int signum)> cb);
  void Stop();

 private:
  uv_signal_t* handle_;
  std::function<void(int)> cb_;
};

}  // namespace knob
