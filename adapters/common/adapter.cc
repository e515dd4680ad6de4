// SPDX-License-Identifier: Apache-2.0
#include "adapters/common/adapter.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace knob::adapter {
namespace {

std::atomic<bool> g_stop{false};

void OnStop(int) { g_stop.store(true); }

}  // namespace

Result<Flags> Flags::Parse(int argc, char** argv, const std::map<std::string, std::string>& known) {
  Flags f;
  f.values_ = known;
  auto list = [&] {
    std::string s;
    for (const auto& [k, v] : known) s += (s.empty() ? "--" : ", --") + k;
    return s;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || !known.count(a.substr(2)))
      return InvalidArgumentError("unknown argument '" + a + "' (accepted: " + list() + ")");
    if (i + 1 >= argc) return InvalidArgumentError("flag " + a + " needs a value");
    f.values_[a.substr(2)] = argv[++i];
  }
  return f;
}

const std::string& Flags::Get(const std::string& name) const {
  static const std::string kEmpty;
  auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

Result<double> Flags::Number(const std::string& name) const {
  const std::string& s = Get(name);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == nullptr || *end != '\0')
    return InvalidArgumentError("--" + name + ": expected a number, got '" + s + "'");
  return v;
}

Result<std::chrono::milliseconds> Flags::Duration(const std::string& name) const {
  std::string s = Get(name);
  double scale = 1000;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    scale = 1;
    s.resize(s.size() - 2);
  } else if (!s.empty() && s.back() == 's') {
    s.pop_back();
  }
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == nullptr || *end != '\0' || !(v > 0))
    return InvalidArgumentError("--" + name + ": expected a duration like 1s or 500ms, got '" +
                                Get(name) + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(v * scale));
}

int UsageError(const std::string& adapter, const Status& message, const char* usage) {
  std::fprintf(stderr, "%s: %s\n%s", adapter.c_str(), message.message().c_str(), usage);
  return 2;
}

bool WaitUntilUp(const std::string& adapter, const std::function<Status()>& attempt) {
  std::string last;
  for (Status s = attempt(); !Stopping(); s = attempt()) {
    if (s.ok()) return true;
    if (s.message() != last) Log(adapter, s.message() + " (retrying every second)");
    last = s.message();
    for (int i = 0; i < 10 && !Stopping(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

ClientOptions BaseClientOptions(const Flags& flags, std::chrono::milliseconds interval) {
  ClientOptions options;
  options.name = flags.Get("name");
  options.socket_path = flags.Get("knobd-socket");
  options.default_report_interval = interval;
  return options;
}

int Serve(Client& client, const std::string& adapter, const std::function<Status()>& poll,
          const std::string& banner) {
  std::string last_error;  // the client's thread only, once Start() returned
  auto logged_poll = [&] {
    Status s = poll();
    if (!s.ok() && s.message() != last_error) {
      Log(adapter, "poll failed (retrying before the next report): " + s.message());
      last_error = s.message();
    } else if (s.ok() && !last_error.empty()) {
      Log(adapter, "poll works again");
      last_error.clear();
    }
  };
  logged_poll();
  client.SetBeforeReport(logged_poll);
  if (Status s = client.Start(); !s.ok()) {
    Log(adapter, s.message());
    return 1;
  }
  Log(adapter, banner);
  // Sleep in short slices so a stop signal ends the adapter within 100 ms.
  while (!Stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client.Stop();
  return 0;
}

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool Stopping() { return g_stop.load(); }

Result<std::string> ReadSecretFile(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("cannot read secret file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

void Log(const std::string& adapter, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", adapter.c_str(), message.c_str());
  std::fflush(stderr);
}

}  // namespace knob::adapter
