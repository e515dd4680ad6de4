// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/timer.h"

namespace knob {

Timer::Timer(Loop& loop) : handle_(new uv_timer_t) {
  uv_timer_init(loop.raw(), handle_);  // cannot fail for timers
  handle_->data = this;
}

Timer::~Timer() {
  uv_timer_stop(handle_);
  handle_->data = nullptr;
  loop_internal::CloseAndDelete(handle_);
}

void Timer::Start(std::chrono::nanoseconds timeout, std::chrono::nanoseconds repeat,
                  std::function<void()> cb) {
  cb_ = std::move(cb);
  uv_timer_start(
      handle_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Timer*>(t->data);
        if (self != nullptr && self->cb_) {
          // Copy so a callback that restarts or destroys-by-owner its own timer stays valid.
          auto copy = self->cb_;
          copy();
        }
      },
      loop_internal::ToUvMillis(timeout), loop_internal::ToUvMillis(repeat));
}

void Timer::Stop() { uv_timer_stop(handle_); }

bool Timer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
}

}  // namespace knob
