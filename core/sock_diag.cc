// SPDX-License-Identifier: Apache-2.0
#include "core/sock_diag.h"

#include <linux/genetlink.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/taskstats.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace knob {
namespace {

constexpr size_t kBufBytes = 64 * 1024;

template <typename T>
T LoadAt(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// The errno an NLMSG_ERROR carries (the kernel sends -errno, 1..4095). Anything else is a
// malformed reply: negating INT_MIN is undefined (netlink_fuzzer found it), so it maps to EIO.
int KernelErrno(int error) { return error < 0 && error > -4096 ? -error : EIO; }

}  // namespace

RealSockDiag::~RealSockDiag() {
  if (fd_ >= 0) ::close(fd_);
  if (genl_fd_ >= 0) ::close(genl_fd_);
  if (dump_fd_ >= 0) ::close(dump_fd_);
}

Status SockDiag::StartDump(const DiagDump& what) {
  default_dump_ = what;
  return OkStatus();
}

Result<bool> SockDiag::ReadDump(size_t /*max_sockets*/, std::vector<TcpSocketInfo>& out) {
  if (!default_dump_) return FailedPreconditionError("sock_diag: no dump in progress");
  const DiagDump what = *default_dump_;
  default_dump_.reset();
  if (what.protocol != IPPROTO_TCP || what.family == AF_UNIX) {
    return UnavailableError("sock_diag: this SockDiag only dumps TCP");
  }
  if (what.family == AF_INET6) return true;  // DumpTcp already answered both families
  KNOB_RETURN_IF_ERROR(DumpTcp(what.states, what.with_info, out));
  return true;
}

namespace {

// One generic-netlink request with a single attribute; returns the datagram length or -errno.
ssize_t GenlRequest(int fd, uint16_t type, uint8_t cmd, uint16_t attr, const void* data, size_t len,
                    uint32_t seq, std::vector<char>& buf) {
  char req[128] = {};
  const size_t attr_len = NLA_HDRLEN + len;
  const size_t total = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(attr_len);
  if (total > sizeof(req)) return -EINVAL;
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(total);
  h.nlmsg_type = type;
  h.nlmsg_flags = NLM_F_REQUEST;
  h.nlmsg_seq = seq;
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = 1;
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(attr_len);
  a.nla_type = attr;
  std::memcpy(req, &h, sizeof(h));
  std::memcpy(req + NLMSG_HDRLEN, &g, sizeof(g));
  std::memcpy(req + NLMSG_LENGTH(GENL_HDRLEN), &a, sizeof(a));
  std::memcpy(req + NLMSG_LENGTH(GENL_HDRLEN) + NLA_HDRLEN, data, len);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, req, total, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return -errno;
  }
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    // Skip a stale reply to an earlier request (e.g. one interrupted before its recv).
    if (static_cast<size_t>(n) >= sizeof(nlmsghdr) &&
        LoadAt<nlmsghdr>(buf.data()).nlmsg_seq != seq) {
      continue;
    }
    return n;
  }
}

// Walks the attributes in [p, p+len) calling f(type, payload, payload_len).
template <typename F>
void ForEachAttr(const char* p, size_t len, F&& f) {
  size_t off = 0;
  while (off + sizeof(nlattr) <= len) {
    auto a = LoadAt<nlattr>(p + off);
    if (a.nla_len < sizeof(nlattr) || off + a.nla_len > len) return;
    f(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), p + off + NLA_HDRLEN,
      static_cast<size_t>(a.nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(a.nla_len);
  }
}

Status NetlinkError(const char* data, size_t len, const char* what) {
  auto h = LoadAt<nlmsghdr>(data);
  if (h.nlmsg_type != NLMSG_ERROR) return OkStatus();
  if (len < NLMSG_LENGTH(sizeof(nlmsgerr)))
    return InternalError(std::string(what) + ": short error");
  auto e = LoadAt<nlmsgerr>(data + NLMSG_HDRLEN);
  if (e.error == 0) return OkStatus();
  // ESRCH: no such task.
  return ErrnoToStatus(KernelErrno(e.error), what);
}

}  // namespace

Status ParseTaskStatsReply(const char* data, size_t len, TaskStatsTotals& out) {
  if (len < NLMSG_LENGTH(GENL_HDRLEN)) return InternalError("taskstats: short reply");
  auto h = LoadAt<nlmsghdr>(data);
  if (h.nlmsg_len > len || h.nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) {
    return InternalError("taskstats: truncated reply");
  }
  KNOB_RETURN_IF_ERROR(NetlinkError(data, len, "taskstats"));
  bool found = false;
  const char* attrs = data + NLMSG_LENGTH(GENL_HDRLEN);
  ForEachAttr(attrs, h.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
              [&](uint16_t type, const char* p, size_t plen) {
                if (type != TASKSTATS_TYPE_AGGR_TGID && type != TASKSTATS_TYPE_AGGR_PID) return;
                ForEachAttr(p, plen, [&](uint16_t inner, const char* q, size_t qlen) {
                  if (inner != TASKSTATS_TYPE_STATS) return;
                  // Older kernels send a shorter struct: read only the fields present.
                  auto field = [&](size_t off, uint64_t& v) {
                    if (off + sizeof(uint64_t) <= qlen) v = LoadAt<uint64_t>(q + off);
                  };
                  field(offsetof(taskstats, cpu_count), out.cpu_count);
                  field(offsetof(taskstats, cpu_delay_total), out.cpu_delay_ns);
                  field(offsetof(taskstats, nvcsw), out.nvcsw);
                  field(offsetof(taskstats, nivcsw), out.nivcsw);
                  field(offsetof(taskstats, cpu_run_real_total), out.cpu_run_real_ns);
                  field(offsetof(taskstats, cpu_run_virtual_total), out.cpu_run_virtual_ns);
                  found = true;
                });
              });
  if (!found) return InternalError("taskstats: reply without stats");
  return OkStatus();
}

Status RealSockDiag::OpenGenl() {
  if (genl_tried_) return genl_status_;
  genl_tried_ = true;
  genl_fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (genl_fd_ < 0) return genl_status_ = ErrnoToStatus(errno, "genetlink socket");
  if (buf_.size() < kBufBytes) buf_.resize(kBufBytes);
  static const char kName[] = TASKSTATS_GENL_NAME;
  ssize_t n = GenlRequest(genl_fd_, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, kName,
                          sizeof(kName), ++seq_, buf_);
  if (n < 0) return genl_status_ = ErrnoToStatus(static_cast<int>(-n), "genetlink family");
  const size_t len = static_cast<size_t>(n);
  if (len < NLMSG_LENGTH(GENL_HDRLEN)) return genl_status_ = InternalError("genetlink: short");
  Status err = NetlinkError(buf_.data(), len, "taskstats family");
  // ENOENT: kernel without CONFIG_TASKSTATS.
  if (!err.ok()) return genl_status_ = UnavailableError(err.ToString());
  auto h = LoadAt<nlmsghdr>(buf_.data());
  ForEachAttr(buf_.data() + NLMSG_LENGTH(GENL_HDRLEN),
              std::min<size_t>(len, h.nlmsg_len) - NLMSG_LENGTH(GENL_HDRLEN),
              [&](uint16_t type, const char* p, size_t plen) {
                if (type == CTRL_ATTR_FAMILY_ID && plen >= 2) {
                  taskstats_family_ = LoadAt<uint16_t>(p);
                }
              });
  if (taskstats_family_ == 0) return genl_status_ = UnavailableError("taskstats: no family id");
  return genl_status_ = OkStatus();
}

Status RealSockDiag::TaskStatsTgid(pid_t tgid, TaskStatsTotals& out) {
  KNOB_RETURN_IF_ERROR(OpenGenl());
  const uint32_t id = static_cast<uint32_t>(tgid);
  ssize_t n = GenlRequest(genl_fd_, taskstats_family_, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_TGID,
                          &id, sizeof(id), ++seq_, buf_);
  if (n < 0) return ErrnoToStatus(static_cast<int>(-n), "taskstats query");
  out = TaskStatsTotals{};
  return ParseTaskStatsReply(buf_.data(), static_cast<size_t>(n), out);
}

namespace {

// Walks one datagram of a sock_diag dump and hands each SOCK_DIAG_BY_FAMILY message of at least
// `min_payload` bytes to on_message(payload, payload_len). True when the dump ended
// (NLMSG_DONE, or an NLMSG_ERROR carrying 0); false when more datagrams follow.
template <typename OnMessage>
Result<bool> WalkDiagDatagram(const char* data, size_t len, size_t min_payload, const char* what,
                              OnMessage on_message) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= len) {
    auto h = LoadAt<nlmsghdr>(data + off);
    if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > len) {
      return InternalError(std::string(what) + ": truncated netlink message");
    }
    if (h.nlmsg_type == NLMSG_DONE) return true;
    if (h.nlmsg_type == NLMSG_ERROR) {
      if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        auto e = LoadAt<nlmsgerr>(data + off + NLMSG_HDRLEN);
        if (e.error == 0) return true;
        return ErrnoToStatus(KernelErrno(e.error), std::string(what) + " dump");
      }
      return InternalError(std::string(what) + ": short NLMSG_ERROR");
    }
    if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY && h.nlmsg_len >= NLMSG_LENGTH(min_payload))
      on_message(data + off + NLMSG_HDRLEN, static_cast<size_t>(h.nlmsg_len - NLMSG_HDRLEN));
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return false;
}

// The inet_diag request for one family/protocol and state mask; tcp_info only for TCP.
inet_diag_req_v2 InetRequest(uint8_t family, uint8_t protocol, uint32_t states, bool with_info) {
  inet_diag_req_v2 req{};
  req.sdiag_family = family;
  req.sdiag_protocol = protocol;
  req.idiag_states = states;
  if (with_info && protocol == IPPROTO_TCP) req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  return req;
}

// Sends `req` as a SOCK_DIAG_BY_FAMILY dump request to the kernel; the sendto result.
template <typename Request>
ssize_t SendDumpRequest(int fd, uint32_t seq, const Request& req) {
  struct {
    nlmsghdr nlh;
    Request req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = seq;
  msg.req = req;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  return sent;
}

}  // namespace

Result<bool> ParseInetDiagDatagram(const char* data, size_t len, bool with_info,
                                   std::vector<TcpSocketInfo>& out) {
  return WalkDiagDatagram(
      data, len, sizeof(inet_diag_msg), "sock_diag", [&](const char* payload, size_t payload_len) {
        auto m = LoadAt<inet_diag_msg>(payload);
        TcpSocketInfo s;
        s.family = m.idiag_family;
        s.state = m.idiag_state;
        s.local_port = ntohs(m.id.idiag_sport);
        s.remote_port = ntohs(m.id.idiag_dport);
        s.inode = m.idiag_inode;
        s.uid = m.idiag_uid;
        s.rqueue = m.idiag_rqueue;
        s.wqueue = m.idiag_wqueue;
        if (with_info) {
          size_t attr_off = NLMSG_ALIGN(sizeof(inet_diag_msg));
          while (attr_off + sizeof(nlattr) <= payload_len) {
            auto a = LoadAt<nlattr>(payload + attr_off);
            if (a.nla_len < sizeof(nlattr) || attr_off + a.nla_len > payload_len) break;
            if ((a.nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO) {
              const char* info = payload + attr_off + NLA_HDRLEN;
              size_t info_len = a.nla_len - NLA_HDRLEN;
              // Read only fields the kernel actually sent: older kernels send a shorter tcp_info.
              auto field = [&](size_t field_off, size_t size) {
                return field_off + size <= info_len;
              };
              if (field(offsetof(tcp_info, tcpi_rtt), 4))
                s.rtt_us = LoadAt<uint32_t>(info + offsetof(tcp_info, tcpi_rtt));
              if (field(offsetof(tcp_info, tcpi_rttvar), 4))
                s.rttvar_us = LoadAt<uint32_t>(info + offsetof(tcp_info, tcpi_rttvar));
              if (field(offsetof(tcp_info, tcpi_snd_cwnd), 4))
                s.snd_cwnd = LoadAt<uint32_t>(info + offsetof(tcp_info, tcpi_snd_cwnd));
              if (field(offsetof(tcp_info, tcpi_total_retrans), 4))
                s.total_retrans = LoadAt<uint32_t>(info + offsetof(tcp_info, tcpi_total_retrans));
            }
            attr_off += NLA_ALIGN(a.nla_len);
          }
        }
        out.push_back(s);
      });
}

Result<bool> ParseUnixDiagDatagram(const char* data, size_t len, std::vector<TcpSocketInfo>& out) {
  return WalkDiagDatagram(data, len, sizeof(unix_diag_msg), "unix_diag",
                          [&](const char* payload, size_t) {
                            auto m = LoadAt<unix_diag_msg>(payload);
                            TcpSocketInfo s;
                            s.family = m.udiag_family;
                            s.protocol = 0;
                            s.unix_type = m.udiag_type;
                            s.state = m.udiag_state;
                            s.inode = m.udiag_ino;
                            out.push_back(s);
                          });
}

Status RealSockDiag::StartDump(const DiagDump& what) {
  // An unfinished dump leaves parts queued (and the kernel's cursor) on its socket: a fresh
  // socket starts clean, and closing is what tells the kernel to drop the dump.
  CancelDump();
  if (dump_fd_ < 0) {
    dump_fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (dump_fd_ < 0) return ErrnoToStatus(errno, "socket(NETLINK_SOCK_DIAG)");
  }
  if (dump_buf_.size() < kBufBytes) dump_buf_.resize(kBufBytes);
  ssize_t sent;
  if (what.family == AF_UNIX) {
    unix_diag_req req{};
    req.sdiag_family = AF_UNIX;
    req.udiag_states = what.states;
    sent = SendDumpRequest(dump_fd_, ++seq_, req);
  } else {
    sent = SendDumpRequest(dump_fd_, ++seq_,
                           InetRequest(what.family, what.protocol, what.states, what.with_info));
  }
  if (sent < 0) {
    Status s = ErrnoToStatus(errno, "sock_diag sendto");
    ::close(dump_fd_);
    dump_fd_ = -1;
    return s;
  }
  dump_ = what;
  dump_running_ = true;
  return OkStatus();
}

Result<bool> RealSockDiag::ReadDump(size_t max_sockets, std::vector<TcpSocketInfo>& out) {
  if (!dump_running_) return FailedPreconditionError("sock_diag: no dump in progress");
  const size_t start = out.size();
  const bool with_info = dump_.with_info && dump_.protocol == IPPROTO_TCP;
  for (;;) {
    ssize_t n = ::recv(dump_fd_, dump_buf_.data(), dump_buf_.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    Status err;
    Result<bool> done = false;
    if (n < 0) {
      err = ErrnoToStatus(errno, "sock_diag recv");
    } else if (n == 0) {
      err = InternalError("sock_diag: netlink socket closed");
    } else {
      const size_t before = out.size();
      done = dump_.family == AF_UNIX
                 ? ParseUnixDiagDatagram(dump_buf_.data(), static_cast<size_t>(n), out)
                 : ParseInetDiagDatagram(dump_buf_.data(), static_cast<size_t>(n), with_info, out);
      if (!done.ok()) {
        err = done.status();
      } else if (dump_.family != AF_UNIX) {
        for (size_t i = before; i < out.size(); ++i) out[i].protocol = dump_.protocol;
      }
    }
    if (!err.ok()) {
      CancelDump();
      return err;
    }
    if (*done) {
      dump_running_ = false;  // the socket is clean again: keep it for the next dump
      return true;
    }
    if (out.size() - start >= max_sockets) return false;
  }
}

void RealSockDiag::CancelDump() {
  if (dump_running_ && dump_fd_ >= 0) {
    ::close(dump_fd_);
    dump_fd_ = -1;
  }
  dump_running_ = false;
}

Status RealSockDiag::DumpFamily(uint8_t family, uint32_t state_mask, bool with_info,
                                std::vector<TcpSocketInfo>& out) {
  ssize_t sent =
      SendDumpRequest(fd_, ++seq_, InetRequest(family, IPPROTO_TCP, state_mask, with_info));
  if (sent < 0) return ErrnoToStatus(errno, "sock_diag sendto");
  for (;;) {
    ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "sock_diag recv");
    }
    if (n == 0) return InternalError("sock_diag: netlink socket closed");
    Result<bool> done = ParseInetDiagDatagram(buf_.data(), static_cast<size_t>(n), with_info, out);
    if (!done.ok()) return done.status();
    if (*done) return OkStatus();
  }
}

Status RealSockDiag::DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) {
  if (fd_ < 0) {
    fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) return ErrnoToStatus(errno, "socket(NETLINK_SOCK_DIAG)");
    buf_.resize(kBufBytes);
  }
  Status s = DumpFamily(AF_INET, state_mask, with_info, out);
  if (s.ok()) s = DumpFamily(AF_INET6, state_mask, with_info, out);
  if (!s.ok()) {
    // A failed dump may leave unread parts queued; a fresh socket starts clean.
    ::close(fd_);
    fd_ = -1;
  }
  return s;
}

}  // namespace knob
