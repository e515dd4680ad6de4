// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs the real knobd binary as a child process for integration tests: stderr captured to a file
// the test polls, a minimal HTTP GET over loopback, signal delivery and bounded waits.
// Every wait polls with a generous deadline (the CI VM has 2 busy cores); none is an assertion
// on speed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace knob::test {

inline std::string KnobdBinary() { return std::string(KNOB_BINARY_DIR) + "/daemon/knobd"; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Polls `pred` every 20 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// A fresh directory under /tmp, removed at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/knobd-it-XXXXXX";
    path_ = mkdtemp(tmpl) != nullptr ? tmpl : "/tmp/knobd-it-fallback";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};

// GET http://host:port/path over a raw loopback socket (HTTP/1.0, Connection: close).
inline std::optional<HttpResponse> HttpGet(const std::string& host, int port,
                                           const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  auto split = raw.find("\r\n\r\n");
  if (split == std::string::npos) return std::nullopt;
  HttpResponse r;
  r.headers = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  if (std::sscanf(r.headers.c_str(), "HTTP/%*d.%*d %d", &r.status) != 1) return std::nullopt;
  return r;
}

// A knobd child. Destruction kills it (SIGKILL) if it is still running.
class KnobdProcess {
 public:
  KnobdProcess(std::vector<std::string> args, const std::string& stderr_path,
               std::vector<std::string> extra_env = {})
      : stderr_path_(stderr_path) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 2);
        dup2(fd, 1);
      }
      unsetenv("JOURNAL_STREAM");
      unsetenv("NOTIFY_SOCKET");
      for (const auto& kv : extra_env) putenv(const_cast<char*>(kv.c_str()));
      std::vector<char*> argv;
      std::string bin = KnobdBinary();
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~KnobdProcess() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
  }
  KnobdProcess(const KnobdProcess&) = delete;
  KnobdProcess& operator=(const KnobdProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string Log() const { return ReadFile(stderr_path_); }
  bool LogContains(const std::string& s) const { return Log().find(s) != std::string::npos; }
  bool WaitForLog(const std::string& s,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return WaitFor([&] { return LogContains(s); }, timeout);
  }
  void Signal(int signo) const { kill(pid_, signo); }

  // The exit status if the child exited within `timeout` (-1 if killed by a signal).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (exit_status_) return exit_status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return exit_status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Waits for the "metrics: http://HOST:PORT/metrics" startup line and returns the port.
  std::optional<int> WaitForMetricsPort() const {
    std::optional<int> port;
    WaitFor([&] {
      std::smatch m;
      std::string log = Log();
      static const std::regex re(R"(metrics: http://127\.0\.0\.1:(\d+)/metrics)");
      if (std::regex_search(log, m, re)) port = std::stoi(m[1]);
      return port.has_value() && LogContains("running:");
    });
    return port;
  }

 private:
  pid_t pid_ = -1;
  std::string stderr_path_;
  std::optional<int> exit_status_;
};

// Runs knobd to completion with `args`; returns {exit status, combined stdout+stderr}.
inline std::pair<int, std::string> RunKnobd(std::vector<std::string> args,
                                            const std::string& out_path) {
  KnobdProcess p(std::move(args), out_path);
  auto rc = p.WaitExit(std::chrono::seconds(30));
  return {rc.value_or(-2), p.Log()};
}

}  // namespace knob::test
