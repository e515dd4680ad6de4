// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/work.h"

namespace knob {

struct Work::Request {
  uv_work_t req;
  std::function<void()> work;
  std::function<void(bool)> done;
  Work* owner = nullptr;  // null once the Work was destroyed: do not call back
};

Work::Work(Loop& loop) : loop_(loop) {}

Work::~Work() {
  if (inflight_ != nullptr) {
    inflight_->owner = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&inflight_->req));
    inflight_ = nullptr;
  }
}

Status Work::Start(std::function<void()> work, std::function<void(bool)> done) {
  if (inflight_ != nullptr) return FailedPreconditionError("work already in flight");
  auto* r = new Request;
  r->req.data = r;
  r->work = std::move(work);
  r->done = std::move(done);
  r->owner = this;
  int rc = uv_queue_work(
      loop_.raw(), &r->req,
      [](uv_work_t* w) {
        auto* req = static_cast<Request*>(w->data);
        if (req->work) req->work();
      },
      [](uv_work_t* w, int status) {
        auto* req = static_cast<Request*>(w->data);
        Work* owner = req->owner;
        if (owner != nullptr) {
          owner->inflight_ = nullptr;
          if (req->done) req->done(status == UV_ECANCELED);
        }
        delete req;
      });
  if (rc != 0) {
    delete r;
    return loop_internal::UvError(rc, "uv_queue_work");
  }
  inflight_ = r;
  return OkStatus();
}

void Work::Cancel() {
  if (inflight_ != nullptr) uv_cancel(reinterpret_cast<uv_req_t*>(&inflight_->req));
}

}  // namespace knob
