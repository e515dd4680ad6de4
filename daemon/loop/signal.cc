// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/signal.h"

namespace knob {

Signal::Signal(Loop& loop) : handle_(new uv_signal_t) {
  uv_signal_init(loop.raw(), handle_);  // cannot fail on Linux once the loop exists
  handle_->data = this;
}

Signal::~Signal() {
  uv_signal_stop(handle_);
  handle_->data = nullptr;
  loop_internal::CloseAndDelete(handle_);
}

Status Signal::Start(int signum, std::function<void(int)> cb) {
  cb_ = std::move(cb);
  int rc = uv_signal_start(
      handle_,
      [](uv_signal_t* s, int signo) {
        auto* self = static_cast<Signal*>(s->data);
        if (self != nullptr && self->cb_) {
          auto copy = self->cb_;
          copy(signo);
        }
      },
      signum);
  if (rc != 0) return loop_internal::UvError(rc, "uv_signal_start");
  return OkStatus();
}

void Signal::Stop() { uv_signal_stop(handle_); }

}  // namespace knob
