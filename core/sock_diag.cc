#include "core/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace knob {
namespace {

constexpr size_t kBufBytes = 64 * 1024;

template <typename T>
T LoadAt(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

RealSockDiag::~RealSockDiag() {
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> ParseInetDiagDatagram(const char* data, size_t len, bool with_info,
                                   std::vector<TcpSocketInfo>& out) {
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= len) {
    auto h = LoadAt<nlmsghdr>(data + off);
    if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > len) {
      return InternalError("sock_diag: truncated netlink message");
    }
    if (h.nlmsg_type == NLMSG_DONE) return true;
    if (h.nlmsg_type == NLMSG_ERROR) {
      if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        auto e = LoadAt<nlmsgerr>(data + off + NLMSG_HDRLEN);
        if (e.error == 0) return true;
        return ErrnoToStatus(-e.error, "sock_diag dump");
      }
      return InternalError("sock_diag: short NLMSG_ERROR");
    }
    if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY && h.nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
      const char* payload = data + off + NLMSG_HDRLEN;
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
        size_t payload_len = h.nlmsg_len - NLMSG_HDRLEN;
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
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return false;
}

Status RealSockDiag::DumpFamily(uint8_t family, uint32_t state_mask, bool with_info,
                                std::vector<TcpSocketInfo>& out) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = ++seq_;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = state_mask;
  if (with_info) msg.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent =
        ::sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
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
