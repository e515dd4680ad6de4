// SPDX-License-Identifier: Apache-2.0
#pragma once
// A ControlServer on a real libuv loop in a background thread, plus a raw NDJSON socket, for
// the control integration tests. OnLoop() runs a function on the loop thread and waits.

#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/codec.h"
#include "daemon/control/server.h"
#include "daemon/loop/async.h"

namespace knob::test {

inline std::shared_ptr<const Policy> HarnessPolicy(const ControlSettings& control) {
  Policy p;
  p.source = "<harness>";
  p.global.mode = Mode::kRecommend;
  p.global.tick_interval = std::chrono::milliseconds(200);
  p.global.control = control;
  TargetPolicy t;
  t.name = "svc";
  t.selector.registered = "example-service";
  t.mode = Mode::kApply;
  p.targets.push_back(t);
  TargetPolicy py;
  py.name = "py";
  py.selector.registered = "py-service";
  py.mode = Mode::kApply;
  p.targets.push_back(py);
  return std::make_shared<const Policy>(std::move(p));
}

struct OutcomeRecord {
  uint64_t id;
  Outcome outcome;
  std::string reason;
};

class Harness : public OutcomeSink {
 public:
  explicit Harness(const ControlSettings& control) {
    loop_ = std::make_unique<Loop>();
    server_ = std::make_unique<ControlServer>(*loop_, SystemClock::Instance(), &registry_);
    server_->SetPolicy(HarnessPolicy(control));
    server_->api().SetOutcomeSink(this);
    start_status_ = server_->Start();
    async_ = std::make_unique<Async>(*loop_, [this] { Drain(); });
    thread_ = std::thread([this] { (void)loop_->Run(); });
  }
  ~Harness() {
    OnLoop([this] {
      server_->Stop();
      loop_->Stop();
    });
    thread_.join();
    server_.reset();
    async_.reset();
    loop_.reset();
  }
  void OnOutcome(uint64_t id, Outcome o, const std::string& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.push_back({id, o, r});
  }
  const Status& start_status() const { return start_status_; }
  ControlServer& server() { return *server_; }

  void OnLoop(std::function<void()> fn) {
    std::promise<void> done;
    auto fut = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back([&] {
        fn();
        done.set_value();
      });
    }
    async_->Send();
    fut.wait();
  }
  std::vector<OutcomeRecord> outcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }
  // Polls `pred` (evaluated on the loop thread) until true or `timeout`.
  bool WaitOnLoop(std::function<bool()> pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = false;
      OnLoop([&] { ok = pred(); });
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  void Drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }

  prometheus::Registry registry_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<ControlServer> server_;
  std::unique_ptr<Async> async_;
  std::thread thread_;
  Status start_status_;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  std::vector<OutcomeRecord> outcomes_;
};

// A blocking Unix-socket connection speaking raw lines.
class RawConn {
 public:
  explicit RawConn(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool Send(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool SendMessage(const protocol::Message& m) { return Send(protocol::Encode(m) + "\n"); }
  // Next line; nullopt on EOF, error or timeout (eof() tells which).
  std::optional<std::string> ReadLine(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[65536];
      ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0) {
        eof_ = true;
        return std::nullopt;
      }
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  std::optional<protocol::Message> ReadMessage(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto line = ReadLine(timeout);
    if (!line) return std::nullopt;
    auto m = protocol::Decode(*line);
    if (!m.ok()) return std::nullopt;
    return *m;
  }
  // True once the peer closed (after draining what it sent).
  bool WaitEof(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && std::chrono::steady_clock::now() < deadline) {
      (void)ReadLine(std::chrono::milliseconds(200));
    }
    return eof_;
  }
  int fd() const { return fd_; }
  bool eof() const { return eof_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

inline std::string TempSocketDir() {
  char tmpl[] = "/tmp/knobctl-test-XXXXXX";
  char* d = mkdtemp(tmpl);
  return d ? std::string(d) : std::string("/tmp");
}

}  // namespace knob::test
