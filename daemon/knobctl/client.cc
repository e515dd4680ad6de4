// SPDX-License-Identifier: Apache-2.0
#include "daemon/knobctl/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>
#include <vector>

#include "core/protocol/codec.h"
#include "core/protocol/framing.h"
#include "daemon/knobctl/knobctl.h"
#include "daemon/knobctl/render.h"

namespace knob::ctl {
namespace {

constexpr size_t kMaxReplyBytes = 64 * 1024 * 1024;

// The raw reply line, or an exit code with the reason written to err.
int Exchange(const std::string& socket_path, double timeout_seconds,
             const protocol::AdminRequest& req, std::ostream& err, std::string& reply) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || socket_path.size() >= sizeof(addr.sun_path)) {
    err << "knobctl: cannot use socket path " << socket_path << '\n';
    if (fd >= 0) close(fd);
    return kKnobctlCannotConnect;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    err << "knobctl: cannot connect to " << socket_path << ": " << std::strerror(e);
    if (e == EACCES || e == EPERM)
      err << ": run as root or as a member of the socket's group (control.group)";
    else
      err << ": is knobd running? (systemctl status knobd)";
    err << '\n';
    close(fd);
    return kKnobctlCannotConnect;
  }
  std::string line = protocol::Encode(req) + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    err << "knobctl: cannot send to " << socket_path << ": " << std::strerror(errno) << '\n';
    close(fd);
    return kKnobctlCannotConnect;
  }
  protocol::LineFramer framer(kMaxReplyBytes);
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(timeout_seconds));
  char buf[65536];
  while (lines.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      err << "knobctl: no answer from knobd within " << Num(timeout_seconds)
          << " s (is it overloaded? see `journalctl -u knobd`)\n";
      close(fd);
      return kKnobctlCannotConnect;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      err << "knobctl: knobd closed the connection without answering\n";
      close(fd);
      return kKnobctlCannotConnect;
    }
    if (!framer.Feed(std::string_view(buf, static_cast<size_t>(n)), lines)) {
      err << "knobctl: reply too large\n";
      close(fd);
      return kKnobctlCannotConnect;
    }
  }
  close(fd);
  reply = lines.front();
  return kKnobctlOk;
}

}  // namespace

Reply Ask(const std::string& socket, double timeout_seconds, const protocol::AdminRequest& req,
          std::ostream& err) {
  Reply r;
  r.exit_code = Exchange(socket, timeout_seconds, req, err, r.line);
  if (r.exit_code != kKnobctlOk) return r;
  auto decoded = protocol::Decode(r.line);
  if (!decoded.ok()) {
    err << "knobctl: cannot understand knobd's reply: " << decoded.status().message() << '\n';
    r.exit_code = kKnobctlDaemonError;
    return r;
  }
  if (auto* e = std::get_if<protocol::Error>(&*decoded)) {
    err << "knobctl: " << protocol::ErrorCodeName(e->code) << ": " << e->message << '\n';
    r.exit_code = kKnobctlDaemonError;
    return r;
  }
  auto* reply = std::get_if<protocol::AdminReply>(&*decoded);
  if (reply == nullptr) {
    err << "knobctl: unexpected '" << protocol::TypeName(*decoded) << "' from knobd\n";
    r.exit_code = kKnobctlDaemonError;
    return r;
  }
  r.reply = std::move(*reply);
  return r;
}

}  // namespace knob::ctl
