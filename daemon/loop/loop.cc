// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/loop.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace knob {

Loop::Loop() {
  int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    // Only fails when the process is out of file descriptors or memory at startup.
    std::fprintf(stderr, "knobd: uv_loop_init failed: %s\n", uv_strerror(rc));
    std::abort();
  }
  initialized_ = true;
}

Loop::~Loop() {
  if (!initialized_) return;
  // Close stragglers (a wrapper destroyed without closing is a bug, but never a leak here), then
  // drain: close callbacks free the handle memory, queued work runs its after-callback.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  while (uv_run(&loop_, UV_RUN_DEFAULT) != 0) {
  }
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    std::fprintf(stderr, "knobd: uv_loop_close: %s\n", uv_strerror(rc));
  }
}

Status Loop::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  return OkStatus();
}

bool Loop::RunNoWait() { return uv_run(&loop_, UV_RUN_NOWAIT) != 0; }

bool Loop::RunOnce() { return uv_run(&loop_, UV_RUN_ONCE) != 0; }

void Loop::Stop() { uv_stop(&loop_); }

uint64_t Loop::NowMs() const { return uv_now(&loop_); }

namespace loop_internal {

Status UvError(int rc, const char* context) {
  std::string msg = std::string(context) + ": " + uv_strerror(rc);
  switch (rc) {
    case UV_EACCES:
    case UV_EPERM:
      return PermissionDeniedError(std::move(msg));
    case UV_ENOENT:
      return NotFoundError(std::move(msg));
    case UV_EADDRINUSE:
    case UV_EEXIST:
      return AlreadyExistsError(std::move(msg));
    case UV_EINVAL:
      return InvalidArgumentError(std::move(msg));
    case UV_ENOSYS:
    case UV_ENOTSUP:
      return UnavailableError(std::move(msg));
    default:
      return InternalError(std::move(msg));
  }
}

uint64_t ToUvMillis(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<uint64_t>(ms);
}

}  // namespace loop_internal
}  // namespace knob
