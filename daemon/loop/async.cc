// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/async.h"

namespace knob {

Async::Async(Loop& loop, std::function<void()> cb) : handle_(new uv_async_t), cb_(std::move(cb)) {
  handle_->data = this;
  uv_async_init(loop.raw(), handle_, [](uv_async_t* a) {
    auto* self = static_cast<Async*>(a->data);
    if (self != nullptr && self->cb_) self->cb_();
  });
}

Async::~Async() {
  handle_->data = nullptr;
  loop_internal::CloseAndDelete(handle_);
}

void Async::Send() { uv_async_send(handle_); }

void Async::Unref() { uv_unref(reinterpret_cast<uv_handle_t*>(handle_)); }

}  // namespace knob
