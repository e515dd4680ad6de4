// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop/pipe_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace knob {
namespace {

// True when something accepts connections on `path` right now.
bool SomeoneListens(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

PipeServer::PipeServer(Loop& loop) : loop_(loop) {}

PipeServer::~PipeServer() { Close(); }

void PipeServer::Close() {
  if (handle_ == nullptr) return;
  handle_->data = nullptr;
  loop_internal::CloseAndDelete(handle_);
  handle_ = nullptr;
  if (!path_.empty()) unlink(path_.c_str());
}

Status PipeServer::Listen(const std::string& path, int mode, std::optional<gid_t> group,
                          std::function<void(std::unique_ptr<Stream>)> on_connection) {
  if (handle_ != nullptr) return FailedPreconditionError("already listening on " + path_);
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return InvalidArgumentError("socket path too long (max 107 bytes): " + path);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return AlreadyExistsError(path + " exists and is not a socket; refusing to replace it");
    if (SomeoneListens(path))
      return AlreadyExistsError(path +
                                ": another process is serving this socket (is knobd "
                                "already running?)");
    unlink(path.c_str());
  }
  auto* h = new uv_pipe_t;
  int rc = uv_pipe_init(loop_.raw(), h, 0);
  if (rc != 0) {
    delete h;
    return loop_internal::UvError(rc, "uv_pipe_init");
  }
  handle_ = h;
  handle_->data = this;
  on_connection_ = std::move(on_connection);
  // The umask could leave a window where the socket is wider than `mode`; bind under a strict
  // umask, then chmod.
  mode_t old_mask = umask(0177);
  rc = uv_pipe_bind(handle_, path.c_str());
  umask(old_mask);
  if (rc != 0) {
    Close();
    return loop_internal::UvError(rc, ("bind " + path).c_str());
  }
  path_ = path;
  if (chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    Status s = ErrnoToStatus(errno, "chmod " + path);
    Close();
    return s;
  }
  if (group && chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    Status s = ErrnoToStatus(errno, "chown " + path + " to gid " + std::to_string(*group));
    Close();
    return s;
  }
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle_), 128, [](uv_stream_t* server, int status) {
    auto* self = static_cast<PipeServer*>(server->data);
    if (self == nullptr || status != 0) return;
    auto* client = new uv_pipe_t;
    uv_pipe_init(server->loop, client, 0);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
      loop_internal::CloseAndDelete(client);
      return;
    }
    auto stream = std::make_unique<Stream>(client);
    if (self->on_connection_) self->on_connection_(std::move(stream));
  });
  if (rc != 0) {
    Close();
    return loop_internal::UvError(rc, ("listen " + path).c_str());
  }
  return OkStatus();
}

}  // namespace knob
