// SPDX-License-Identifier: Apache-2.0
// Socket and cache collectors over the edge fixture with a scripted sock_diag and fake perf.
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "collectors/cache.h"
#include "collectors/discovery.h"
#include "collectors/socket.h"
#include "core/sock_diag.h"
#include "tests/support/counting_procfs.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using test::Harness;

constexpr uint8_t kEstablished = 1, kTimeWait = 6, kListen = 10;

TcpSocketInfo Sock(uint8_t state, uint16_t lport, uint32_t inode, uint32_t rq, uint32_t wq) {
  TcpSocketInfo s;
  s.family = AF_INET;
  s.state = state;
  s.local_port = lport;
  s.inode = inode;
  s.rqueue = rq;
  s.wqueue = wq;
  return s;
}

class SocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Selector sel;
    sel.comm = "a) (b\nc";
    h.AddTarget("srv", sel);
    std::filesystem::create_directories(h.tree.Path("proc/100/fd"));
    Link(3, "socket:[1111]");
    Link(4, "socket:[2222]");
    Link(5, "/dev/null");
    Link(6, "socket:[1112]");
    h.sock_diag.sockets = {Sock(kListen, 8080, 1111, 5, 128), Sock(kListen, 8080, 1112, 2, 128),
                           Sock(kEstablished, 8080, 2222, 100, 200), Sock(kTimeWait, 8080, 0, 0, 0),
                           Sock(kEstablished, 22, 9999, 1, 1)};
    h.sock_diag.sockets[1].family = AF_INET6;
    TcpSocketInfo& est = h.sock_diag.sockets[2];
    est.rtt_us = 1000;
    est.rttvar_us = 500;
    est.snd_cwnd = 10;
    est.total_retrans = 3;
  }
  void Link(int fd, const std::string& target) {
    std::filesystem::create_symlink(target, h.tree.Path("proc/100/fd/" + std::to_string(fd)));
  }
  Snapshot Tick() { return h.Tick({&d, &sock}); }

  Harness h;
  Discovery d{h.env, h.registry};
  SocketCollector sock{h.env, h.registry};
};

TEST_F(SocketTest, JoinsSocketsToTheTargetThroughFdInodes) {
  Snapshot s = Tick();
  ASSERT_TRUE(s.targets.at("srv").sockets.has_value());
  const SocketStats& st = *s.targets.at("srv").sockets;
  ASSERT_EQ(st.listeners.size(), 2u);  // IPv4 and IPv6 on the same port
  EXPECT_EQ(st.listeners[0].accept_queue + st.listeners[1].accept_queue, 7u);
  EXPECT_EQ(st.listeners[0].backlog, 128u);
  EXPECT_EQ(st.tcp_by_state.at("listen"), 2u);
  EXPECT_EQ(st.tcp_by_state.at("established"), 1u);  // the sshd socket (9999) is not ours
  EXPECT_EQ(st.tcp_by_state.at("time_wait"), 1u);    // inode 0, attributed by listen port
  EXPECT_EQ(st.recv_queue_bytes, 100u);
  EXPECT_EQ(st.send_queue_bytes, 200u);
  EXPECT_DOUBLE_EQ(st.rtt_seconds_mean, 0.001);
  EXPECT_DOUBLE_EQ(st.rttvar_seconds_mean, 0.0005);
  EXPECT_EQ(st.retransmits_total, 3u);
  EXPECT_DOUBLE_EQ(st.cwnd_mean, 10);
  EXPECT_EQ(s.host.listen_overflows, 42u);
  EXPECT_EQ(s.host.listen_drops, 43u);
  EXPECT_EQ(h.Metric("knobd_target_listen_queue", {{"target", "srv"}, {"port", "8080"}}), 7);
  EXPECT_EQ(h.Metric("knobd_host_tcp_listen_drops_total", {}), 43);
}

TEST_F(SocketTest, CadencesListenEveryTickFullDumpAndFdScanLessOften) {
  h.policy.global.collection.socket_dump_interval = std::chrono::seconds(5);
  Tick();
  EXPECT_EQ(sock.fd_scans(), 1u);
  h.sock_diag.sockets[0].rqueue = 9;   // accept queue grows: seen next tick
  h.sock_diag.sockets[2].rqueue = 55;  // established queue: only on the next full dump
  Snapshot s = Tick();
  const SocketStats& st = *s.targets.at("srv").sockets;
  EXPECT_EQ(st.listeners[0].accept_queue + st.listeners[1].accept_queue, 11u);
  EXPECT_EQ(st.recv_queue_bytes, 100u);
  EXPECT_EQ(s.time - s.targets.at("srv").refreshed.at("sockets"), std::chrono::seconds(1));
  EXPECT_EQ(sock.fd_scans(), 1u);  // no rescan within fd_rescan_interval
  for (int i = 0; i < 4; ++i) s = Tick();
  EXPECT_EQ(s.targets.at("srv").sockets->recv_queue_bytes, 55u);
}

TEST_F(SocketTest, NewListenerTriggersImmediateFdRescan) {
  Tick();
  Link(7, "socket:[3333]");
  h.sock_diag.sockets.push_back(Sock(kListen, 9090, 3333, 1, 64));
  Snapshot s = Tick();
  EXPECT_EQ(sock.fd_scans(), 2u);
  EXPECT_EQ(s.targets.at("srv").sockets->listeners.size(), 3u);
  // An unowned listener (someone else's) rescans once, not every tick.
  h.sock_diag.sockets.push_back(Sock(kListen, 5432, 4444, 0, 64));
  Tick();
  Tick();
  EXPECT_EQ(sock.fd_scans(), 3u);
}

TEST_F(SocketTest, SockDiagUnavailableDegradesOnce) {
  h.sock_diag.status = UnavailableError("socket(NETLINK_SOCK_DIAG): Protocol not supported");
  Snapshot s = Tick();
  EXPECT_TRUE(h.last_status.ok());
  EXPECT_FALSE(s.targets.at("srv").sockets.has_value());
  EXPECT_EQ(s.host.listen_overflows, 42u);  // netstat still read
  EXPECT_EQ(
      h.Metric("knobd_collector_supported", {{"collector", "socket"}, {"source", "sock_diag"}}), 0);
  Tick();
  EXPECT_EQ(h.sock_diag.dumps, 1);
}

// Hand-built netlink replies: two sockets in one datagram, a tcp_info shorter than the compiled
// struct (only up to tcpi_rttvar), then NLMSG_DONE in a second datagram.
std::vector<char> Message(uint8_t state, uint32_t inode, size_t info_len) {
  const size_t payload =
      NLMSG_ALIGN(sizeof(inet_diag_msg)) + (info_len ? NLA_HDRLEN + info_len : 0);
  std::vector<char> buf(NLMSG_ALIGN(NLMSG_LENGTH(payload)), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(payload));
  h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  std::memcpy(buf.data(), &h, sizeof(h));
  inet_diag_msg m{};
  m.idiag_family = AF_INET6;
  m.idiag_state = state;
  m.id.idiag_sport = htons(443);
  m.idiag_inode = inode;
  m.idiag_rqueue = 3;
  m.idiag_wqueue = 7;
  std::memcpy(buf.data() + NLMSG_HDRLEN, &m, sizeof(m));
  if (info_len) {
    nlattr a{};
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + info_len);
    a.nla_type = INET_DIAG_INFO;
    char* at = buf.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(inet_diag_msg));
    std::memcpy(at, &a, sizeof(a));
    tcp_info ti{};
    ti.tcpi_rtt = 1234;
    ti.tcpi_rttvar = 55;
    ti.tcpi_snd_cwnd = 10;
    ti.tcpi_total_retrans = 9;
    std::memcpy(at + NLA_HDRLEN, &ti, std::min(info_len, sizeof(ti)));
  }
  return buf;
}

TEST(InetDiagParseTest, MultiPartShortTcpInfoAndDone) {
  std::vector<char> d1 = Message(kEstablished, 77, offsetof(tcp_info, tcpi_rttvar) + 4);
  std::vector<char> m2 = Message(kTimeWait, 0, 0);
  d1.insert(d1.end(), m2.begin(), m2.end());
  std::vector<TcpSocketInfo> out;
  auto r = ParseInetDiagDatagram(d1.data(), d1.size(), true, out);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);  // not done yet: more parts follow
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].local_port, 443);
  EXPECT_EQ(out[0].inode, 77u);
  EXPECT_EQ(out[0].rtt_us, 1234u);
  EXPECT_EQ(out[0].rttvar_us, 55u);
  EXPECT_FALSE(out[0].snd_cwnd.has_value());  // beyond what the kernel sent
  EXPECT_FALSE(out[0].total_retrans.has_value());
  EXPECT_EQ(out[1].inode, 0u);
  nlmsghdr done{};
  done.nlmsg_len = NLMSG_LENGTH(sizeof(int));
  done.nlmsg_type = NLMSG_DONE;
  std::vector<char> d2(NLMSG_ALIGN(done.nlmsg_len), 0);
  std::memcpy(d2.data(), &done, sizeof(done));
  r = ParseInetDiagDatagram(d2.data(), d2.size(), true, out);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
}

TEST(InetDiagParseTest, ErrorAndTruncated) {
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
  h.nlmsg_type = NLMSG_ERROR;
  nlmsgerr e{};
  e.error = -EPERM;
  std::vector<char> buf(NLMSG_ALIGN(h.nlmsg_len), 0);
  std::memcpy(buf.data(), &h, sizeof(h));
  std::memcpy(buf.data() + NLMSG_HDRLEN, &e, sizeof(e));
  std::vector<TcpSocketInfo> out;
  auto r = ParseInetDiagDatagram(buf.data(), buf.size(), false, out);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  std::vector<char> m = Message(kEstablished, 1, 0);
  r = ParseInetDiagDatagram(m.data(), m.size() - 8, false, out);
  EXPECT_FALSE(r.ok());
}

TEST(UnixDiagParseTest, TypesStatesInodesThenDone) {
  std::vector<char> buf;
  auto msg = [&](uint8_t type, uint8_t state, uint32_t ino) {
    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(sizeof(unix_diag_msg));
    h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    unix_diag_msg m{};
    m.udiag_family = AF_UNIX;
    m.udiag_type = type;
    m.udiag_state = state;
    m.udiag_ino = ino;
    const size_t at = buf.size();
    buf.resize(at + NLMSG_ALIGN(h.nlmsg_len), 0);
    std::memcpy(buf.data() + at, &h, sizeof(h));
    std::memcpy(buf.data() + at + NLMSG_HDRLEN, &m, sizeof(m));
  };
  msg(SOCK_STREAM, kListen, 11);
  msg(SOCK_DGRAM, 7, 12);
  std::vector<TcpSocketInfo> out;
  auto r = ParseUnixDiagDatagram(buf.data(), buf.size(), out);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].family, AF_UNIX);
  EXPECT_EQ(out[0].protocol, 0);
  EXPECT_EQ(out[0].unix_type, SOCK_STREAM);
  EXPECT_EQ(out[0].state, kListen);
  EXPECT_EQ(out[0].inode, 11u);
  EXPECT_EQ(out[1].unix_type, SOCK_DGRAM);
  // A truncated message is an error, NLMSG_DONE ends the dump.
  EXPECT_FALSE(ParseUnixDiagDatagram(buf.data(), buf.size() - 4, out).ok());
  nlmsghdr done{};
  done.nlmsg_len = NLMSG_LENGTH(sizeof(int));
  done.nlmsg_type = NLMSG_DONE;
  std::vector<char> d(NLMSG_ALIGN(done.nlmsg_len), 0);
  std::memcpy(d.data(), &done, sizeof(done));
  r = ParseUnixDiagDatagram(d.data(), d.size(), out);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
}

// A SockDiag whose resumable dumps return at most `max_sockets` per ReadDump from a scripted
// host of TCP, UDP and Unix sockets, with injectable failures and missing diag families.
class PagedSockDiag final : public SockDiag {
 public:
  std::vector<TcpSocketInfo> sockets;
  std::set<uint8_t> missing_families;  // StartDump succeeds, the first ReadDump says ENOENT
  int fail_read = -1;                  // this ReadDump call (1-based) fails with ENOBUFS
  std::vector<DiagDump> started;
  int reads = 0;

  Status DumpTcp(uint32_t mask, bool, std::vector<TcpSocketInfo>& out) override {
    for (const auto& s : sockets) {
      if (s.family != AF_UNIX && s.protocol == IPPROTO_TCP && (mask & (1u << s.state))) {
        out.push_back(s);
      }
    }
    return OkStatus();
  }
  Status StartDump(const DiagDump& d) override {
    cur_ = d;
    pos_ = 0;
    running_ = true;
    started.push_back(d);
    return OkStatus();
  }
  Result<bool> ReadDump(size_t max_sockets, std::vector<TcpSocketInfo>& out) override {
    ++reads;
    if (!running_) return FailedPreconditionError("no dump");
    if (reads == fail_read) {
      running_ = false;
      return ErrnoToStatus(ENOBUFS, "sock_diag recv");
    }
    if (missing_families.count(cur_.family)) {
      running_ = false;
      return ErrnoToStatus(ENOENT, "unix_diag dump");
    }
    size_t n = 0;
    while (pos_ < sockets.size() && n < max_sockets) {
      const TcpSocketInfo& s = sockets[pos_++];
      if (s.family != cur_.family) continue;
      if (s.family != AF_UNIX && s.protocol != cur_.protocol) continue;
      if (!(cur_.states & (1u << s.state))) continue;
      out.push_back(s);
      ++n;
    }
    if (pos_ < sockets.size()) return false;
    running_ = false;
    return true;
  }
  void CancelDump() override { running_ = false; }

 private:
  DiagDump cur_;
  size_t pos_ = 0;
  bool running_ = false;
};

constexpr uint32_t kForeign = 3000;  // sockets of other processes

// Target "srv" (pid 100 of the edge fixture) owns 30 IPv4 + 10 IPv6 established TCP sockets,
// a listener with one TIME_WAIT child, 5 UDP and 5 Unix sockets; 3000 other sockets belong to
// nobody we watch.
class SocketPassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Selector sel;
    sel.comm = "a) (b\nc";
    h.AddTarget("srv", sel);
    std::filesystem::create_directories(h.tree.Path("proc/100/fd"));
    Link(0, "/dev/null");
    uint32_t fd = 3;
    auto add = [&](TcpSocketInfo s) {
      Link(fd++, "socket:[" + std::to_string(s.inode) + "]");
      diag.sockets.push_back(s);
    };
    for (uint32_t i = 0; i < 30; ++i) {
      TcpSocketInfo s = Sock(kEstablished, 8080, 1000 + i, 10, 20);
      s.rtt_us = 1000;
      s.rttvar_us = 100;
      s.snd_cwnd = 10;
      s.total_retrans = 1;
      add(s);
    }
    for (uint32_t i = 0; i < 10; ++i) {
      TcpSocketInfo s = Sock(kEstablished, 8080, 1100 + i, 1, 2);
      s.family = AF_INET6;
      s.rtt_us = 3000;
      add(s);
    }
    add(Sock(kListen, 8080, 1200, 3, 128));
    diag.sockets.push_back(Sock(kTimeWait, 8080, 0, 0, 0));
    for (uint32_t i = 0; i < 5; ++i) {
      TcpSocketInfo s = Sock(7, 5353, 1300 + i, 0, 0);  // unconnected UDP: TCP_CLOSE
      s.protocol = IPPROTO_UDP;
      add(s);
    }
    for (uint32_t i = 0; i < 5; ++i) {
      TcpSocketInfo s;
      s.family = AF_UNIX;
      s.protocol = 0;
      s.unix_type = i < 3 ? SOCK_STREAM : SOCK_DGRAM;
      s.state = kEstablished;
      s.inode = 1400 + i;
      add(s);
    }
    for (uint32_t i = 0; i < kForeign; ++i) {
      diag.sockets.push_back(Sock(kEstablished, 40000, 100000 + i, 0, 0));
    }
  }
  void Link(uint32_t fd, const std::string& target) {
    std::filesystem::create_symlink(target, h.tree.Path("proc/100/fd/" + std::to_string(fd)));
  }
  Snapshot Tick() { return h.Tick({&d, &sock}); }
  const SocketStats& Stats(const Snapshot& s) { return *s.targets.at("srv").sockets; }
  std::optional<double> Age() {
    return h.Metric("knobd_collector_sample_age_seconds", {{"target", "srv"}, {"part", "sockets"}});
  }

  Harness h;
  PagedSockDiag diag;
  Env env{h.clock, h.faulty, diag, h.perf};
  Discovery d{env, h.registry};
  SocketCollector sock{env, h.registry};
};

void ExpectSameAggregates(const SocketStats& a, const SocketStats& b) {
  EXPECT_EQ(a.tcp_by_state, b.tcp_by_state);
  EXPECT_EQ(a.send_queue_bytes, b.send_queue_bytes);
  EXPECT_EQ(a.recv_queue_bytes, b.recv_queue_bytes);
  EXPECT_EQ(a.retransmits_total, b.retransmits_total);
  EXPECT_DOUBLE_EQ(a.rtt_seconds_mean, b.rtt_seconds_mean);
  EXPECT_DOUBLE_EQ(a.rttvar_seconds_mean, b.rttvar_seconds_mean);
  EXPECT_DOUBLE_EQ(a.cwnd_mean, b.cwnd_mean);
  EXPECT_EQ(a.udp_sockets, b.udp_sockets);
  EXPECT_EQ(a.unix_sockets, b.unix_sockets);
  EXPECT_EQ(a.unix_by_type, b.unix_by_type);
}

TEST_F(SocketPassTest, OneShotPassCountsEveryKindForTheTarget) {
  h.policy.global.collection.socket_dump_sockets_per_tick = 0;  // unbounded: one tick
  Snapshot s = Tick();
  EXPECT_EQ(sock.passes_completed(), 1u);
  const SocketStats& st = Stats(s);
  EXPECT_EQ(st.tcp_by_state.at("established"), 40u);
  EXPECT_EQ(st.tcp_by_state.at("listen"), 1u);
  EXPECT_EQ(st.tcp_by_state.at("time_wait"), 1u);  // inode 0, by the listener's port
  EXPECT_EQ(st.send_queue_bytes, 30u * 20 + 10u * 2);
  EXPECT_EQ(st.retransmits_total, 30u);
  EXPECT_NEAR(st.rtt_seconds_mean, (30 * 0.001 + 10 * 0.003) / 40, 1e-12);
  EXPECT_EQ(st.udp_sockets, 5u);
  EXPECT_EQ(st.unix_sockets, 5u);
  EXPECT_EQ(st.unix_by_type.at("stream"), 3u);
  EXPECT_EQ(st.unix_by_type.at("dgram"), 2u);
  EXPECT_EQ(h.Metric("knobd_target_udp_sockets", {{"target", "srv"}}), 5);
  EXPECT_EQ(h.Metric("knobd_target_unix_sockets", {{"target", "srv"}, {"type", "stream"}}), 3);
  EXPECT_EQ(h.Metric("knobd_target_unix_sockets", {{"target", "srv"}, {"type", "seqpacket"}}), 0);
  EXPECT_EQ(
      h.Metric("knobd_collector_supported", {{"collector", "socket"}, {"source", "unix_diag"}}), 1);
}

TEST_F(SocketPassTest, PassSpreadOverTicksGivesTheOneShotAggregates) {
  h.policy.global.collection.socket_dump_sockets_per_tick = 0;
  SocketStats one_shot;
  {
    Harness h2;
    h2.policy = h.policy;
    PagedSockDiag diag2 = diag;
    Env env2{h2.clock, h.faulty, diag2, h2.perf};
    Discovery d2{env2, h2.registry};
    SocketCollector sock2{env2, h2.registry};
    one_shot = *h2.Tick({&d2, &sock2}).targets.at("srv").sockets;
  }
  h.policy.global.collection.socket_dump_sockets_per_tick = 1000;
  Snapshot s = Tick();
  EXPECT_TRUE(sock.pass_in_progress());
  EXPECT_LE(sock.last_tick_sockets(), 1000u + 1);
  EXPECT_FALSE(s.targets.at("srv").refreshed.count("sockets"));  // nothing published yet
  EXPECT_TRUE(Stats(s).tcp_by_state.empty());
  EXPECT_EQ(Stats(s).listeners.size(), 1u);  // the listen dump is every tick regardless
  int ticks = 1;
  while (sock.pass_in_progress() && ticks < 10) {
    s = Tick();
    ++ticks;
    EXPECT_LE(sock.last_tick_sockets(), 1000u + 1);
  }
  EXPECT_GE(ticks, 3);  // ~3060 sockets at <= 1000 per tick
  EXPECT_EQ(sock.passes_completed(), 1u);
  ExpectSameAggregates(Stats(s), one_shot);
  // The sample's time is the pass's start, not its end.
  EXPECT_EQ(s.time - s.targets.at("srv").refreshed.at("sockets"),
            h.policy.global.tick_interval * (ticks - 1));
}

TEST_F(SocketPassTest, AgeGrowsWhileTheNextPassRunsAndPreviousValuesStay) {
  h.policy.global.collection.socket_dump_sockets_per_tick = 1000;
  h.policy.global.collection.socket_dump_interval = std::chrono::seconds(5);
  while (sock.passes_completed() == 0) Tick();
  // Until the interval (5 s) has passed since the first pass started, nothing new starts.
  Snapshot s;
  for (int i = 0; i < 10 && !sock.pass_in_progress(); ++i) s = Tick();
  ASSERT_TRUE(sock.pass_in_progress());
  diag.sockets[0].wqueue = 1020;  // changes only show once the running pass completes
  double last_age = *Age();
  s = Tick();
  EXPECT_GT(*Age(), last_age);
  EXPECT_EQ(Stats(s).send_queue_bytes, 30u * 20 + 10u * 2);
  last_age = *Age();
  while (sock.pass_in_progress()) {
    s = Tick();
    if (sock.pass_in_progress()) {
      EXPECT_GT(*Age(), last_age);
      last_age = *Age();
    }
  }
  // The pass that just completed started before the change: one more pass shows it.
  while (sock.passes_completed() < 3) s = Tick();
  EXPECT_EQ(Stats(s).send_queue_bytes, 30u * 20 + 10u * 2 + 1000);
  EXPECT_LT(*Age(), last_age);
}

TEST_F(SocketPassTest, AbortedDumpRestartsCleanlyWithoutPublishingPartialSums) {
  h.policy.global.collection.socket_dump_sockets_per_tick = 1000;
  diag.fail_read = 2;  // ENOBUFS in the second slice of the first pass
  Snapshot s = Tick();
  s = Tick();
  EXPECT_EQ(sock.pass_restarts(), 1u);
  EXPECT_FALSE(sock.pass_in_progress());
  EXPECT_FALSE(s.targets.at("srv").refreshed.count("sockets"));
  EXPECT_EQ(h.Metric("knobd_collector_socket_dump_restarts_total", {}), 1);
  EXPECT_EQ(
      h.Metric("knobd_collector_supported", {{"collector", "socket"}, {"source", "sock_diag"}}), 1);
  const MonoTime restart = h.clock.Now();
  while (sock.passes_completed() == 0) s = Tick();
  EXPECT_EQ(s.targets.at("srv").refreshed.at("sockets"), restart);  // started the next tick
  EXPECT_EQ(Stats(s).tcp_by_state.at("established"), 40u);          // not 40 + a partial pass
  EXPECT_EQ(Stats(s).udp_sockets, 5u);
}

TEST_F(SocketPassTest, MissingUnixDiagSkipsThatPartOnceAndKeepsTheRest) {
  diag.missing_families = {AF_UNIX};
  Snapshot s = Tick();
  ASSERT_EQ(sock.passes_completed(), 1u);
  EXPECT_EQ(Stats(s).tcp_by_state.at("established"), 40u);
  EXPECT_EQ(Stats(s).udp_sockets, 5u);
  EXPECT_EQ(Stats(s).unix_sockets, 0u);
  EXPECT_EQ(
      h.Metric("knobd_collector_supported", {{"collector", "socket"}, {"source", "unix_diag"}}), 0);
  EXPECT_FALSE(h.Metric("knobd_target_unix_sockets", {{"target", "srv"}, {"type", "stream"}}));
  EXPECT_EQ(sock.pass_restarts(), 0u);
  const size_t starts = diag.started.size();
  for (int i = 0; i < 20 && sock.passes_completed() < 2; ++i) s = Tick();
  ASSERT_EQ(sock.passes_completed(), 2u);
  for (size_t i = starts; i < diag.started.size(); ++i) {
    EXPECT_NE(diag.started[i].family, AF_UNIX);  // not asked again
  }
}

TEST_F(SocketPassTest, SockstatWithoutIpv6OrUdpSkipsThoseWalks) {
  std::filesystem::create_directories(h.tree.Path("proc/net"));
  h.tree.Write("proc/net/sockstat6",
               "TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\n"
               "FRAG6: inuse 0 memory 0\n");
  h.tree.Write("proc/net/sockstat",
               "sockets: used 180\nTCP: inuse 5 orphan 0 tw 1 alloc 7 mem 1\nUDP: inuse 5 mem 2\n");
  Tick();
  ASSERT_EQ(sock.passes_completed(), 1u);
  std::vector<std::pair<int, int>> kinds;
  for (const DiagDump& dd : diag.started) kinds.emplace_back(dd.family, dd.protocol);
  EXPECT_EQ(kinds, (std::vector<std::pair<int, int>>{
                       {AF_INET, IPPROTO_TCP}, {AF_INET, IPPROTO_UDP}, {AF_UNIX, 0}}));
}

TEST_F(SocketPassTest, FdRescansReadOnlyWhatMayHaveChanged) {
  h.policy.global.collection.fd_rescan_interval = std::chrono::seconds(2);
  Tick();
  const uint64_t first = sock.fd_readlinks();
  EXPECT_EQ(first, 52u);  // /dev/null + 51 sockets: the first scan reads every fd
  for (int i = 0; i < 3; ++i) Tick();
  EXPECT_GE(sock.fd_scans(), 2u);
  // Later listings re-read the fd that is not a socket and a rotating tenth of the socket fds
  // (fds 3..53: at most 6 with a given last digit), not all 52.
  EXPECT_GE(sock.fd_readlinks() - first, sock.fd_scans() - 1);
  EXPECT_LE(sock.fd_readlinks() - first, (sock.fd_scans() - 1) * 7);
  // A socket closes and its fd number now holds a new one: the next pass no longer sees the
  // old inode, so the process re-reads every fd and finds the new socket.
  std::filesystem::remove(h.tree.Path("proc/100/fd/3"));
  Link(3, "socket:[7777]");
  diag.sockets[0].inode = 7777;
  Snapshot s;
  for (int i = 0; i < 12; ++i) s = Tick();
  EXPECT_EQ(Stats(s).tcp_by_state.at("established"), 40u);
  EXPECT_EQ(Stats(s).send_queue_bytes, 30u * 20 + 10u * 2);
}

// Reports a directory's entry count as its size, as /proc/PID/fd does on Linux >= 6.2 (or 0,
// as older kernels do); counts the listings of /proc/PID/fd like any CountingProcFs.
class FdCountProcFs final : public test::CountingProcFs {
 public:
  FdCountProcFs(ProcFs& inner, const std::string& proc_root)
      : CountingProcFs(inner), root_(proc_root) {}
  bool old_kernel = false;
  int fd_listings() const { return KeptListingsEndingWith("/fd"); }
  Result<int64_t> DirSize(FsRoot r, std::string_view p) override {
    if (r != FsRoot::kProc) return UnavailableError("not proc");
    if (old_kernel) return int64_t{0};
    std::error_code ec;
    int64_t n = 0;
    for (auto it = std::filesystem::directory_iterator(root_ + "/" + std::string(p), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    if (ec) return NotFoundError(std::string(p));
    return n;
  }

 private:
  std::string root_;
};

class FdCountGateTest : public SocketPassTest {
 protected:
  FdCountProcFs counting{h.faulty, h.tree.Path("proc")};
  Env counted_env{h.clock, counting, diag, h.perf};
  Discovery cd{counted_env, h.registry};
  SocketCollector cs{counted_env, h.registry};
  Snapshot CountedTick() { return h.Tick({&cd, &cs}); }
};

TEST_F(FdCountGateTest, UnchangedFdCountSkipsCadenceListingsButEveryFourthListsAnyway) {
  h.policy.global.collection.fd_rescan_interval = std::chrono::seconds(1);
  CountedTick();
  ASSERT_EQ(counting.fd_listings(), 1);  // the first scan always lists
  for (int i = 0; i < 12; ++i) CountedTick();
  // 12 cadence rescans: 3 of every 4 answered by the unchanged count.
  EXPECT_EQ(cs.fd_count_checks(), 9u);
  EXPECT_EQ(counting.fd_listings(), 1 + 3);
  Snapshot s = CountedTick();
  EXPECT_LE(s.time - s.targets.at("srv").refreshed.at("fds"), std::chrono::seconds(1));
  // A new socket changes the count: the next rescan lists and the next pass counts it.
  Link(60, "socket:[8888]");
  diag.sockets.push_back(Sock(kEstablished, 8080, 8888, 0, 0));
  const int before = counting.fd_listings();
  CountedTick();
  EXPECT_EQ(counting.fd_listings(), before + 1);
  for (int i = 0; i < 12; ++i) s = CountedTick();
  EXPECT_EQ(Stats(s).tcp_by_state.at("established"), 41u);
}

TEST_F(FdCountGateTest, KernelsWithoutAnFdCountListEveryTime) {
  counting.old_kernel = true;  // /proc/PID/fd reports size 0 before Linux 6.2
  h.policy.global.collection.fd_rescan_interval = std::chrono::seconds(1);
  for (int i = 0; i < 9; ++i) CountedTick();
  EXPECT_EQ(cs.fd_count_checks(), 0u);
  EXPECT_EQ(counting.fd_listings(), 9);
}

TEST_F(SocketPassTest, FirstScansOverTheReadlinkBudgetWaitForTheNextTickAndSoDoesTheFirstPass) {
  Selector web;
  web.comm = "web";
  h.AddTarget("web", web);  // pid 200 of the fixture, no fds yet
  std::filesystem::create_directories(h.tree.Path("proc/200/fd"));
  std::filesystem::create_symlink("socket:[555]", h.tree.Path("proc/200/fd/3"));
  for (uint32_t fd = 100; fd < 2100; ++fd) Link(fd, "/dev/null");  // srv: 2052 fds in all
  Snapshot s = Tick();
  EXPECT_EQ(sock.fd_scans(), 1u);  // srv ("srv" < "web") used the tick's budget
  EXPECT_FALSE(sock.pass_in_progress());
  EXPECT_EQ(sock.passes_completed(), 0u);
  EXPECT_FALSE(s.targets.at("srv").refreshed.count("sockets"));
  s = Tick();
  EXPECT_EQ(sock.fd_scans(), 2u);
  EXPECT_EQ(sock.fd_readlinks(), 2053u);
  EXPECT_TRUE(sock.pass_in_progress() || sock.passes_completed() == 1);
  EXPECT_TRUE(s.targets.at("web").refreshed.count("fds"));
}

TEST_F(SocketPassTest, ProcessGoneMidPassLeavesNoOwnerAndNoCrash) {
  h.policy.global.collection.socket_dump_sockets_per_tick = 1000;
  Tick();
  ASSERT_TRUE(sock.pass_in_progress());
  h.tree.Remove("proc/100");
  Snapshot s;
  while (sock.pass_in_progress()) s = Tick();
  EXPECT_EQ(sock.passes_completed(), 1u);
  EXPECT_FALSE(s.targets.at("srv").sockets.has_value());
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Selector sel;
    sel.comm = "a) (b\nc";
    h.AddTarget("srv", sel).perf_counters = true;
    Selector web;
    web.comm = "web";
    h.AddTarget("web", web);  // perf off (the default)
    AppReport app;
    app.caches["sessions"] = {90, 10, 4096, 8192, {}, {}, 0, 0};
    h.apps["srv"] = app;
  }
  Snapshot Tick() { return h.Tick({&d, &cache}); }
  Harness h;
  Discovery d{h.env, h.registry};
  CacheCollector cache{h.env, h.registry};
};

TEST_F(CacheTest, CountsPerThreadWithInheritWhenEnabled) {
  Snapshot s = Tick();
  ASSERT_TRUE(s.targets.at("srv").perf.has_value());
  EXPECT_EQ(h.perf.opens, 1 + 3 * 6);  // the probe, then threads 100, 102, 103 x six counters
  EXPECT_EQ(*s.targets.at("srv").perf->cache_misses, 3u * 1000);
  EXPECT_FALSE(s.targets.at("web").perf.has_value());
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "cache"}, {"source", "perf"}}), 1);
  h.tree.Remove("proc/100");
  Tick();
  EXPECT_EQ(h.perf.closes, 1 + 18);
  EXPECT_EQ(cache.open_handles(), 0u);
}

class CachePerfRefusedTest : public CacheTest, public ::testing::WithParamInterface<StatusCode> {};

TEST_P(CachePerfRefusedTest, ReportsUnsupportedAndStillExportsAppCaches) {
  h.perf.open_status = Status(GetParam(), "perf_event_open: injected");
  Snapshot s = Tick();
  EXPECT_TRUE(h.last_status.ok());
  EXPECT_FALSE(s.targets.at("srv").perf.has_value());
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "cache"}, {"source", "perf"}}), 0);
  EXPECT_EQ(
      h.Metric("knobd_target_app_cache_hits_total", {{"target", "srv"}, {"cache", "sessions"}}),
      90);
  EXPECT_EQ(
      h.Metric("knobd_target_app_cache_misses_total", {{"target", "srv"}, {"cache", "sessions"}}),
      10);
  EXPECT_EQ(h.Metric("knobd_target_app_cache_bytes", {{"target", "srv"}, {"cache", "sessions"}}),
            4096);
  h.apps["srv"].caches["sessions"].hits_total = 150;
  Tick();
  EXPECT_EQ(
      h.Metric("knobd_target_app_cache_hits_total", {{"target", "srv"}, {"cache", "sessions"}}),
      150);
}

INSTANTIATE_TEST_SUITE_P(NoPmuAndNoPermission, CachePerfRefusedTest,
                         ::testing::Values(StatusCode::kUnavailable,
                                           StatusCode::kPermissionDenied));

TEST(CacheProbeTest, GaugeIsSetEvenWhenNoTargetAsksForPerf) {
  Harness h;
  h.perf.open_status = UnavailableError("perf_event_open: No such file or directory");
  CacheCollector cache(h.env, h.registry);
  h.Tick({&cache});
  EXPECT_EQ(h.Metric("knobd_collector_supported", {{"collector", "cache"}, {"source", "perf"}}), 0);
}

TEST(CacheRealPerfTest, RealHostEitherCountsOrSaysUnsupported) {
  Harness h;
  RealPerfEvents real;
  // The fixture pids do not exist on this host, so use the test process itself.
  Selector self;
  self.pid = getpid();
  h.AddTarget("self", self).perf_counters = true;
  h.policy.global.collection.proc_root = "/proc";
  RealProcFs procfs("/proc", "/sys");
  Env real_env{h.clock, procfs, h.sock_diag, real};
  Discovery d(real_env, h.registry);
  CacheCollector cache(real_env, h.registry);
  Snapshot s = h.Tick({&d, &cache});
  auto supported =
      h.Metric("knobd_collector_supported", {{"collector", "cache"}, {"source", "perf"}});
  ASSERT_TRUE(supported.has_value());
  if (*supported == 1) {
    EXPECT_TRUE(s.targets.at("self").perf.has_value());
  } else {
    EXPECT_FALSE(s.targets.at("self").perf.has_value());
  }
}

}  // namespace
}  // namespace knob
