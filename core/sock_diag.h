#pragma once
// SockDiag: the host's TCP sockets from netlink sock_diag (inet_diag), IPv4 and IPv6, one dump
// per call. Replaces parsing /proc/net/tcp{,6}: one syscall stream for the whole host, and
// tcp_info (RTT, retransmits, cwnd) comes with each socket when asked for.
//
// Kernel behaviour handled here: replies arrive as multi-part messages ending in NLMSG_DONE;
// TIME_WAIT (and other timewait/request) sockets carry inode 0 and belong to no process;
// tcp_info may be shorter than the struct compiled in (older kernel) or longer (newer): only the
// bytes present are read. For a LISTEN socket, rqueue is the current accept-queue length and
// wqueue the backlog (see inet_diag_get_info / tcp_diag_get_info in net/ipv4/tcp_diag.c).
//
// Thread rule: one instance per collection thread; not thread-safe (reuses its buffer and socket).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"

namespace knob {

struct TcpSocketInfo {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t state = 0;   // TCP_ESTABLISHED (1) ... TCP_LISTEN (10), as in <netinet/tcp.h>
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint32_t inode = 0;  // 0 for TIME_WAIT / SYN_RECV request sockets
  uid_t uid = 0;
  uint32_t rqueue = 0;  // LISTEN: accept-queue length; else bytes not yet read by the app
  uint32_t wqueue = 0;  // LISTEN: backlog; else bytes not yet acked
  // From tcp_info, present only when asked for and the kernel supplied enough bytes.
  std::optional<uint32_t> rtt_us, rttvar_us, snd_cwnd, total_retrans;
};

// Bit i set = include TCP state i. kAllTcpStates = every state.
inline constexpr uint32_t kAllTcpStates = 0xfff;
inline constexpr uint32_t kListenOnly = 1u << 10;

class SockDiag {
 public:
  virtual ~SockDiag() = default;
  // Appends to `out` (not cleared) every TCP socket of both families whose state bit is set in
  // `state_mask`. `with_info` asks for tcp_info. Unavailable when netlink sock_diag is missing.
  virtual Status DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) = 0;
};

class RealSockDiag final : public SockDiag {
 public:
  RealSockDiag() = default;
  ~RealSockDiag() override;
  RealSockDiag(const RealSockDiag&) = delete;
  RealSockDiag& operator=(const RealSockDiag&) = delete;
  Status DumpTcp(uint32_t state_mask, bool with_info, std::vector<TcpSocketInfo>& out) override;

 private:
  Status DumpFamily(uint8_t family, uint32_t state_mask, bool with_info,
                    std::vector<TcpSocketInfo>& out);
  int fd_ = -1;
  uint32_t seq_ = 0;
  std::vector<char> buf_;
};

// Parses one netlink datagram (possibly several nlmsghdr) of an inet_diag dump into `out`.
// Returns true when NLMSG_DONE was seen. Exposed for tests with hand-built replies.
Result<bool> ParseInetDiagDatagram(const char* data, size_t len, bool with_info,
                                   std::vector<TcpSocketInfo>& out);

}  // namespace knob
