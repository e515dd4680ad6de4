// SPDX-License-Identifier: Apache-2.0
// The control server on a real loop with real Unix sockets: C++ and Python clients, many
// clients, bad input of every kind, identity checks, and client reconnects across a restart.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "knob/client.h"
#include "tests/integration/control/harness.h"
#include "tests/support/sanitizers.h"

namespace knob::test {
namespace {

using protocol::ErrorCode;
using namespace std::chrono_literals;

ControlSettings Settings(const std::string& dir) {
  ControlSettings c;
  c.socket_path = dir + "/control.sock";
  c.max_message_bytes = 64 * 1024;
  c.max_clients = 1024;
  c.max_messages_per_second = 1000;
  c.idle_timeout = std::chrono::seconds(60);
  return c;
}

std::optional<protocol::Error> AsError(const std::optional<protocol::Message>& m) {
  if (!m) return std::nullopt;
  if (auto* e = std::get_if<protocol::Error>(&*m)) return *e;
  return std::nullopt;
}

// Runs a Python client (`cmd`) that registers as "py-service"; once it has, publishes a
// `workers` recommendation to target "py" and waits for its outcome. Returns whether the client
// registered; its stdout lands in `output` after it exits.
bool RunPythonClientAndPublish(Harness& h, const std::string& cmd, uint64_t id, double value,
                               std::string* output) {
  std::thread py([cmd, output] {
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return;
    char buf[256];
    while (fgets(buf, sizeof(buf), p) != nullptr) *output += buf;
    pclose(p);
  });
  bool registered = h.WaitOnLoop(
      [&] { return h.server().api().clients().RegisteredPids().count("py-service") == 1; });
  if (registered) {
    Recommendation rec;
    rec.id = id;
    rec.target = "py";
    rec.knob = "workers";
    rec.new_value = value;
    h.OnLoop([&] { h.server().api().clients().Publish(rec); });
    EXPECT_TRUE(h.WaitOnLoop([&] { return !h.outcomes().empty(); }));
  }
  py.join();
  return registered;
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempSocketDir(); }
  void TearDown() override {
    unlink((dir_ + "/control.sock").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(ControlServerTest, SocketIsCreatedWithMode0660) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok()) << h.start_status().ToString();
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/control.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

// issue 12: the mode comes from the policy (control.socket_mode), and a group from the policy
// owns the socket.
TEST_F(ControlServerTest, SocketModeAndGroupComeFromThePolicy) {
  for (uint32_t mode : {0600u, 0666u}) {
    auto s = Settings(dir_);
    s.socket_mode = mode;
    group* g = getgrnam("nogroup");
    ASSERT_NE(g, nullptr) << "no group 'nogroup' on this host";
    s.group = "nogroup";
    Harness h(s);
    ASSERT_TRUE(h.start_status().ok()) << h.start_status().ToString();
    struct stat st {};
    ASSERT_EQ(stat(s.socket_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, mode);
    EXPECT_EQ(st.st_gid, g->gr_gid);
  }
}

TEST_F(ControlServerTest, SecondServerOnTheSamePathIsRefused) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  Harness h2(Settings(dir_));
  EXPECT_EQ(h2.start_status().code(), StatusCode::kAlreadyExists) << h2.start_status().ToString();
}

TEST_F(ControlServerTest, CppClientRoundTrip) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  ClientOptions o;
  o.name = "example-service";
  o.socket_path = dir_ + "/control.sock";
  Client client(o);
  std::atomic<double> applied{0};
  client.RegisterKnob({"worker_threads", 4, 1, 64, "threads"}, [&](double v) {
    applied = v;
    return SetResult::Applied();
  });
  client.pool("workers").size = 4;
  client.RecordRequest(2ms);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(h.WaitOnLoop(
      [&] { return h.server().api().clients().RegisteredPids().count("example-service") == 1; }));
  // Reports arrive every tick (200 ms).
  ASSERT_TRUE(h.WaitOnLoop([&] {
    Snapshot snap;
    snap.targets["svc"].name = "svc";
    h.server().api().clients().MergeReports(Policy{}, snap);
    return snap.targets["svc"].app.has_value() && snap.targets["svc"].app->requests_total == 1 &&
           snap.targets["svc"].app->pools.count("workers") == 1;
  }));
  EXPECT_EQ(client.target(), "svc");
  Recommendation rec;
  rec.id = 11;
  rec.target = "svc";
  rec.knob = "worker_threads";
  rec.old_value = 4;
  rec.new_value = 6;
  h.OnLoop([&] { h.server().api().clients().Publish(rec); });
  ASSERT_TRUE(h.WaitOnLoop([&] { return !h.outcomes().empty(); }));
  auto out = h.outcomes();
  EXPECT_EQ(out[0].id, 11u);
  EXPECT_EQ(out[0].outcome, Outcome::kApplied);
  EXPECT_EQ(applied.load(), 6);
  // Out of bounds: the client library rejects without calling the app.
  rec.id = 12;
  rec.new_value = 1000;
  h.OnLoop([&] { h.server().api().clients().Publish(rec); });
  ASSERT_TRUE(h.WaitOnLoop([&] { return h.outcomes().size() == 2; }));
  EXPECT_EQ(h.outcomes()[1].outcome, Outcome::kRejected);
  EXPECT_EQ(applied.load(), 6);
  client.Stop();
}

// An adapter relays another server's counters from the before-report hook: it runs once per
// report, on the client's thread, and what it records is in the report that follows it.
TEST_F(ControlServerTest, BeforeReportHookRunsOnceRightBeforeEachReport) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  ClientOptions o;
  o.name = "example-service";
  o.socket_path = dir_ + "/control.sock";
  Client client(o);
  std::atomic<uint64_t> polls{0};
  client.SetBeforeReport([&] {
    client.RecordRequests(1, 1ms);  // one request per poll: requests_total counts the polls
    ++polls;
  });
  ASSERT_TRUE(client.Start().ok());
  double seen = 0;
  ASSERT_TRUE(h.WaitOnLoop([&] {
    Snapshot snap;
    snap.targets["svc"].name = "svc";
    h.server().api().clients().MergeReports(Policy{}, snap);
    if (!snap.targets["svc"].app) return false;
    seen = snap.targets["svc"].app->requests_total;
    return seen >= 3;
  }));
  client.Stop();
  // The report with requests_total N came right after the N-th poll, never a poll behind.
  EXPECT_EQ(seen, std::floor(seen));
  EXPECT_LE(seen, static_cast<double>(client.reports_sent()));
  const uint64_t sent = client.reports_sent();
  EXPECT_TRUE(polls == sent || polls == sent + 1) << polls << " polls, " << sent << " reports";
}

TEST_F(ControlServerTest, PythonClientRoundTrip) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  std::string script = dir_ + "/py_client.py";
  {
    std::ofstream f(script);
    f << "import sys, time\n"
         "sys.path.insert(0, '" KNOB_SOURCE_DIR
         "/client/python')\n"
         "import knob_client\n"
         "c = knob_client.Client('py-service', sys.argv[1])\n"
         "c.register_knob('workers', 4, lo=1, hi=64, unit='threads', on_set=lambda v: True)\n"
         "c.record_request(0.003)\n"
         "c.start()\n"
         "deadline = time.time() + 20\n"
         "while time.time() < deadline and not c.applied: time.sleep(0.05)\n"
         "time.sleep(0.3)\n"
         "c.stop()\n"
         "print('applied' if c.applied and c.applied[0][3] else 'none', c.reports_sent)\n";
  }
  std::string output;
  bool registered = RunPythonClientAndPublish(h, "python3 " + script + " " + dir_ + "/control.sock",
                                              21, 8, &output);
  unlink(script.c_str());
  ASSERT_TRUE(registered);
  ASSERT_FALSE(h.outcomes().empty());
  EXPECT_EQ(h.outcomes()[0].outcome, Outcome::kApplied);
  EXPECT_EQ(output.rfind("applied", 0), 0u) << output;
  // The python client's report was accepted by the C++ decoder.
  Snapshot snap;
  snap.targets["py"].name = "py";
  h.OnLoop([&] { h.server().api().clients().MergeReports(Policy{}, snap); });
  ASSERT_TRUE(snap.targets["py"].app.has_value()) << output;
  EXPECT_EQ(snap.targets["py"].app->requests_total, 1);
}

// The C ABI through libknob.so, bound with Python ctypes: what a Rust/Go/Python binding does.
TEST_F(ControlServerTest, CAbiSharedLibraryFromPythonCtypes) {
  const char* lib = KNOB_BINARY_DIR "/client/libknob.so";
  if (access(lib, R_OK) != 0) GTEST_SKIP() << "libknob.so not built";
  // The sanitizer's runtime lives in the instrumented executable (and must load first): an
  // uninstrumented python3 cannot resolve a sanitizer-built libknob.so's references to it.
  if (kSanitized) GTEST_SKIP() << "a sanitizer-built libknob.so cannot be dlopen()ed into python3";
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  std::string script = dir_ + "/ctypes_client.py";
  {
    std::ofstream f(script);
    f << "import ctypes, sys, time\n"
         "lib = ctypes.CDLL(sys.argv[1])\n"
         "lib.knob_client_new.restype = ctypes.c_void_p\n"
         "lib.knob_client_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p]\n"
         "ON_SET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, "
         "ctypes.c_double,"
         " ctypes.c_char_p, ctypes.c_size_t)\n"
         "seen = []\n"
         "def on_set(user, knob, value, reason, n):\n"
         "    seen.append(value)\n"
         "    return 1\n"
         "cb = ON_SET(on_set)\n"
         "lib.knob_client_register_knob.argtypes = [ctypes.c_void_p, ctypes.c_char_p, "
         "ctypes.c_double,"
         " ctypes.c_double, ctypes.c_double, ctypes.c_char_p, ON_SET, ctypes.c_void_p]\n"
         "lib.knob_client_record_request.argtypes = [ctypes.c_void_p, ctypes.c_uint64]\n"
         "lib.knob_client_start.argtypes = [ctypes.c_void_p]\n"
         "lib.knob_client_free.argtypes = [ctypes.c_void_p]\n"
         "c = lib.knob_client_new(b'py-service', sys.argv[2].encode())\n"
         "lib.knob_client_register_knob(c, b'workers', 4, 1, 64, b'threads', cb, None)\n"
         "lib.knob_client_record_request(c, 2000000)\n"
         "lib.knob_client_start(c)\n"
         "deadline = time.time() + 20\n"
         "while time.time() < deadline and not seen: time.sleep(0.05)\n"
         "time.sleep(0.3)\n"
         "lib.knob_client_free(c)\n"
         "print('applied', seen)\n";
  }
  std::string output;
  bool registered = RunPythonClientAndPublish(
      h, "python3 " + script + " " + lib + " " + dir_ + "/control.sock", 31, 9, &output);
  unlink(script.c_str());
  ASSERT_TRUE(registered);
  ASSERT_FALSE(h.outcomes().empty());
  EXPECT_EQ(h.outcomes()[0].outcome, Outcome::kApplied);
  EXPECT_EQ(output, "applied [9.0]\n");
}

TEST_F(ControlServerTest, TwoHundredClientsAtOnce) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  // 200 threads connect and say hello at the same moment (more than the listen backlog).
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<RawConn>> conns(kClients);
  std::atomic<int> ready{0}, welcomed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go) std::this_thread::yield();
      auto c = std::make_unique<RawConn>(dir_ + "/control.sock");
      if (!c->ok()) return;
      protocol::Hello hello;
      hello.name = "client-" + std::to_string(i);
      hello.pid = getpid();
      if (!c->SendMessage(hello)) return;
      auto m = c->ReadMessage(std::chrono::seconds(20));
      if (m && std::holds_alternative<protocol::Welcome>(*m)) ++welcomed;
      conns[static_cast<size_t>(i)] = std::move(c);  // stays connected until the end
    });
  }
  while (ready < kClients) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(welcomed.load(), kClients);
  size_t pids = 0;
  h.OnLoop([&] { pids = h.server().api().clients().RegisteredPids().size(); });
  EXPECT_EQ(pids, static_cast<size_t>(kClients));
}

TEST_F(ControlServerTest, ClientsBeyondTheLimitAreRefused) {
  auto s = Settings(dir_);
  s.max_clients = 3;
  Harness h(s);
  ASSERT_TRUE(h.start_status().ok());
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(std::make_unique<RawConn>(s.socket_path));
  ASSERT_TRUE(h.WaitOnLoop([&] { return h.server().connections() == 3; }));
  RawConn extra(s.socket_path);
  auto e = AsError(extra.ReadMessage());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kTooManyClients);
  EXPECT_TRUE(extra.WaitEof());
}

// Names that churn (one per process) must not grow the registry without bound: at most
// max_clients gone clients are kept, the longest gone forgotten first (the soak's RSS grew
// ~0.6 MiB a minute with 10 new names a second before this).
TEST_F(ControlServerTest, GoneClientsBeyondTheLimitAreForgottenOldestFirst) {
  auto s = Settings(dir_);
  s.max_clients = 3;
  Harness h(s);
  ASSERT_TRUE(h.start_status().ok());
  for (int i = 0; i < 6; ++i) {
    {
      RawConn c(s.socket_path);
      protocol::Hello hello;
      hello.name = "churn-" + std::to_string(i);
      hello.pid = getpid();
      ASSERT_TRUE(c.SendMessage(hello));
      auto m = c.ReadMessage();
      ASSERT_TRUE(m && std::holds_alternative<protocol::Welcome>(*m));
    }
    // Closed: wait until the server saw it go, so the gone order is the loop order.
    ASSERT_TRUE(h.WaitOnLoop([&] { return h.server().api().clients().connected_clients() == 0; }));
  }
  // The once-a-second sweep forgets the three longest gone.
  std::vector<std::string> names;
  ASSERT_TRUE(h.WaitOnLoop([&] {
    names.clear();
    for (const auto& [name, c] : h.server().api().clients().clients()) names.push_back(name);
    return names.size() == 3;
  }));
  EXPECT_EQ(names, (std::vector<std::string>{"churn-3", "churn-4", "churn-5"}));
}

TEST_F(ControlServerTest, GarbageGetsAnErrorAndTheConnectionKeepsWorking) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  RawConn c(dir_ + "/control.sock");
  ASSERT_TRUE(c.Send(std::string("\x01\x02garbage\xff{{{\n", 14)));
  auto e = AsError(c.ReadMessage());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kBadJson);
  ASSERT_TRUE(c.Send("{\"v\":1,\"type\":\"hello\",\"name\":\"x\",\"pid\":\"1\"}\n"));
  e = AsError(c.ReadMessage());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kBadMessage);
  EXPECT_NE(e->message.find("field 'pid': expected integer, got string"), std::string::npos);
  // Still served: the test runs as the daemon's uid, so admin ops are allowed.
  ASSERT_TRUE(c.Send("{\"v\":1,\"type\":\"status\",\"id\":5}\n"));
  auto m = c.ReadMessage();
  ASSERT_TRUE(m && std::holds_alternative<protocol::AdminReply>(*m));
  EXPECT_EQ(std::get<protocol::AdminReply>(*m).id, 5u);
}

TEST_F(ControlServerTest, TenMegabyteLineIsRefusedAndClosedOthersUnaffected) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  RawConn bystander(dir_ + "/control.sock");
  RawConn c(dir_ + "/control.sock");
  std::string big(10 * 1024 * 1024, 'x');
  std::thread writer([&] { (void)c.Send(big); });  // fails midway when the server closes
  auto e = AsError(c.ReadMessage());
  writer.join();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kTooLarge);
  EXPECT_TRUE(c.WaitEof());
  ASSERT_TRUE(bystander.Send("{\"v\":1,\"type\":\"status\",\"id\":1}\n"));
  auto m = bystander.ReadMessage();
  EXPECT_TRUE(m && std::holds_alternative<protocol::AdminReply>(*m));
}

TEST_F(ControlServerTest, HalfLineThenSilenceHitsTheIdleTimeout) {
  auto s = Settings(dir_);
  s.idle_timeout = std::chrono::seconds(1);
  Harness h(s);
  ASSERT_TRUE(h.start_status().ok());
  RawConn c(s.socket_path);
  ASSERT_TRUE(c.Send("{\"v\":1,\"type\":\"hel"));
  auto e = AsError(c.ReadMessage(std::chrono::seconds(15)));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kIdleTimeout);
  EXPECT_TRUE(c.WaitEof());
}

TEST_F(ControlServerTest, SpoofedPidIsRefused) {
  Harness h(Settings(dir_));
  ASSERT_TRUE(h.start_status().ok());
  RawConn c(dir_ + "/control.sock");
  protocol::Hello hello;
  hello.name = "example-service";
  hello.pid = 1;  // init, not us
  ASSERT_TRUE(c.SendMessage(hello));
  auto e = AsError(c.ReadMessage());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kPidMismatch);
  EXPECT_TRUE(c.WaitEof());
  size_t pids = 1;
  h.OnLoop([&] { pids = h.server().api().clients().RegisteredPids().size(); });
  EXPECT_EQ(pids, 0u);
}

TEST_F(ControlServerTest, AdminOpFromNonAdminUidIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a child as nobody";
  passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  auto s = Settings(dir_);
  s.admin_group = "knobd-admin-test-nonexistent";
  Harness h(s);
  ASSERT_TRUE(h.start_status().ok());
  // Let nobody reach the socket; the test is about authority, not file permissions.
  chmod(dir_.c_str(), 0755);
  chmod(s.socket_path.c_str(), 0666);
  uid_t uid = nobody->pw_uid;
  gid_t gid = nobody->pw_gid;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(10);
    RawConn c(s.socket_path);
    if (!c.ok()) _exit(11);
    if (!c.Send("{\"v\":1,\"type\":\"pause\",\"id\":1,\"target\":\"svc\"}\n")) _exit(12);
    auto line = c.ReadLine(std::chrono::seconds(10));
    if (!line) _exit(13);
    auto m = protocol::Decode(*line);
    if (!m.ok() || !std::holds_alternative<protocol::Error>(*m)) _exit(14);
    _exit(std::get<protocol::Error>(*m).code == ErrorCode::kPermissionDenied ? 0 : 15);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child exit code (10 setuid, 11 connect, 13 no reply, "
                                       "14 not an error, 15 wrong code)";
  bool paused = true;
  h.OnLoop([&] { paused = h.server().api().clients().Paused("svc"); });
  EXPECT_FALSE(paused);
}

TEST_F(ControlServerTest, StopSaysByeToEveryClient) {
  auto h = std::make_unique<Harness>(Settings(dir_));
  ASSERT_TRUE(h->start_status().ok());
  RawConn c(dir_ + "/control.sock");
  ASSERT_TRUE(h->WaitOnLoop([&] { return h->server().connections() == 1; }));
  h.reset();
  auto m = c.ReadMessage();
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(std::holds_alternative<protocol::Bye>(*m));
  EXPECT_TRUE(c.WaitEof());
}

TEST_F(ControlServerTest, ClientReconnectsAfterServerRestartWithoutBlockingAppThreads) {
  ClientOptions o;
  o.name = "example-service";
  o.socket_path = dir_ + "/control.sock";
  o.initial_backoff = 50ms;
  o.max_backoff = 400ms;
  Client client(o);
  client.RegisterKnob({"worker_threads", 4, 1, 64, "threads"},
                      [](double) { return SetResult::Applied(); });
  ASSERT_TRUE(client.Start().ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> worst_ns{0};
  // An app thread on its hot path the whole time.
  std::thread app([&] {
    while (!stop) {
      auto t0 = std::chrono::steady_clock::now();
      client.RecordRequest(1ms);
      client.pool("workers").busy = 1;
      auto dt = (std::chrono::steady_clock::now() - t0).count();
      if (dt > worst_ns) worst_ns = dt;
      std::this_thread::sleep_for(1ms);
    }
  });
  {
    Harness h(Settings(dir_));
    ASSERT_TRUE(h.start_status().ok());
    ASSERT_TRUE(h.WaitOnLoop([&] { return client.connected(); }));
  }
  // Server gone: the client notices and keeps retrying.
  for (int i = 0; i < 500 && client.connected(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(client.connected());
  {
    Harness h(Settings(dir_));
    ASSERT_TRUE(h.start_status().ok());
    EXPECT_TRUE(h.WaitOnLoop(
        [&] { return h.server().api().clients().RegisteredPids().count("example-service") == 1; }));
    EXPECT_GE(client.connections(), 2u);
  }
  stop = true;
  app.join();
  client.Stop();
  // The report interval is 200 ms; the hot path never waits on the socket.
  EXPECT_LT(worst_ns.load(), 200'000'000) << "an app thread blocked";
}

}  // namespace
}  // namespace knob::test
