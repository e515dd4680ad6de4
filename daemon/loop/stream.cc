// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/stream.h"

#include <sys/socket.h>

#include <cerrno>
#include <memory>

namespace knob {
namespace {

constexpr size_t kMaxFlushBytes = 64 * 1024;

struct WriteRequest {
  uv_write_t req;
  std::string bytes;
};

}  // namespace

Stream::Stream(uv_pipe_t* handle) : handle_(handle) { handle_->data = this; }

Stream::~Stream() {
  if (handle_ == nullptr) return;  // already closed, the close callback freed it
  handle_->data = nullptr;
  loop_internal::CloseAndDelete(handle_);
}

Status Stream::StartReading(std::function<void(std::string_view)> on_data,
                            std::function<void()> on_eof) {
  if (closing_ || handle_ == nullptr) return FailedPreconditionError("stream is closing");
  on_data_ = std::move(on_data);
  on_eof_ = std::move(on_eof);
  int rc = uv_read_start(
      reinterpret_cast<uv_stream_t*>(handle_),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        std::unique_ptr<char[]> owned(buf->base);
        auto* self = static_cast<Stream*>(s->data);
        if (self == nullptr || self->closing_) return;
        if (n > 0) {
          // Copy: the callback may destroy or close this Stream.
          auto cb = self->on_data_;
          if (cb) cb(std::string_view(buf->base, static_cast<size_t>(n)));
        } else if (n < 0) {
          uv_read_stop(s);
          auto cb = self->on_eof_;
          if (cb) cb();
        }
      });
  if (rc != 0) return loop_internal::UvError(rc, "uv_read_start");
  return OkStatus();
}

void Stream::StopReading() {
  if (handle_ != nullptr) uv_read_stop(reinterpret_cast<uv_stream_t*>(handle_));
}

Status Stream::Write(std::string bytes) {
  if (closing_ || handle_ == nullptr) return FailedPreconditionError("stream is closing");
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(handle_), &buf, 1,
                    [](uv_write_t* req, int) { delete reinterpret_cast<WriteRequest*>(req); });
  if (rc != 0) {
    delete w;
    return loop_internal::UvError(rc, "uv_write");
  }
  return OkStatus();
}

size_t Stream::write_queue_bytes() const {
  return handle_ == nullptr ? 0 : handle_->write_queue_size;
}

void Stream::Close(std::function<void()> on_closed) {
  if (closing_ || handle_ == nullptr) return;
  closing_ = true;
  on_closed_ = std::move(on_closed);
  uv_read_stop(reinterpret_cast<uv_stream_t*>(handle_));
  // uv_close cancels pending writes; a best-effort flush of a final error reply is done by
  // uv_shutdown first when possible.
  // A peer that stopped reading would keep a shutdown pending forever: close it hard.
  if (handle_->write_queue_size > kMaxFlushBytes) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), &Stream::OnClose);
    return;
  }
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(handle_), [](uv_shutdown_t* r, int) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(r->handle);
    delete r;
    if (!uv_is_closing(h)) uv_close(h, &Stream::OnClose);
  });
  if (rc != 0) {
    delete req;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), &Stream::OnClose);
  }
}

void Stream::OnClose(uv_handle_t* h) {
  auto* self = static_cast<Stream*>(h->data);
  delete reinterpret_cast<uv_pipe_t*>(h);
  if (self == nullptr) return;
  self->handle_ = nullptr;
  auto cb = std::move(self->on_closed_);
  if (cb) cb();
}

Result<PeerCredentials> Stream::Peer() const {
  if (handle_ == nullptr) return FailedPreconditionError("stream is closed");
  uv_os_fd_t fd;
  int rc = uv_fileno(reinterpret_cast<const uv_handle_t*>(handle_), &fd);
  if (rc != 0) return loop_internal::UvError(rc, "uv_fileno");
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return ErrnoToStatus(errno, "getsockopt(SO_PEERCRED)");
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

}  // namespace knob
