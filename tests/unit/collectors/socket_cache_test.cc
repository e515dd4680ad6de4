// Socket and cache collectors over the edge fixture with a scripted sock_diag and fake perf.
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>

#include <cstring>
#include <filesystem>

#include "collectors/cache.h"
#include "collectors/discovery.h"
#include "collectors/socket.h"
#include "core/sock_diag.h"
#include "tests/unit/collectors/harness.h"

namespace knob {
namespace {

using testing::Harness;

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
