// SPDX-License-Identifier: Apache-2.0
#include "daemon/metrics/exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <exception>
#include <thread>

namespace knob {

Result<ListenAddress> ParseListenAddress(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("metrics listen address '" + text + "': " + why +
                                " (accepted forms: 127.0.0.1:10464, 0.0.0.0:10464, [::1]:10464)");
  };
  ListenAddress out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [V6ADDR]:PORT");
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return bad("missing :PORT");
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return bad("IPv6 addresses need brackets");
  }
  if (out.host.empty()) return bad("missing host");
  if (port.empty()) return bad("missing port");
  int value = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value < 0 || value > 65535) {
    return bad("port must be a number in 0..65535");
  }
  out.port = value;
  return out;
}

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry) {
  auto addr = ParseListenAddress(listen);
  if (!addr.ok()) return addr.status();
  bool v6 = addr->host.find(':') != std::string::npos;
  std::string civet = (v6 ? "[" + addr->host + "]" : addr->host) + ":" + std::to_string(addr->port);

  std::unique_ptr<MetricsExporter> exp(new MetricsExporter);
  exp->registry_ = std::move(registry);
  try {
    // Two server threads: a scrape never waits behind a slow one, and knobd stays small.
    exp->exposer_ = std::make_unique<prometheus::Exposer>(civet, 2);
  } catch (const std::exception& e) {
    return AlreadyExistsError("cannot listen for metrics on " + listen + ": " + e.what() +
                              " (is the port in use or the address not local? change "
                              "--metrics-listen or global.metrics_listen)");
  }
  exp->exposer_->RegisterCollectable(exp->registry_);
  int port = addr->port;
  auto ports = exp->exposer_->GetListeningPorts();
  if (!ports.empty()) port = ports.front();
  exp->bound_ = (v6 ? "[" + addr->host + "]" : addr->host) + ":" + std::to_string(port);
  return exp;
}

namespace {

// Opens and closes one TCP connection to the exporter's port, which wakes CivetWeb's listener
// out of poll() so it notices the stop flag at once instead of after its poll timeout (seconds,
// which would break knobd's 2 s shutdown budget).
void PokeListener(const ListenAddress& addr) {
  bool v6 = addr.host.find(':') != std::string::npos;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(static_cast<uint16_t>(addr.port));
    if (addr.host == "::" || inet_pton(AF_INET6, addr.host.c_str(), &sa.sin6_addr) != 1) {
      sa.sin6_addr = in6addr_loopback;
    }
    // Only the wake-up matters: a refused connection wakes the accept loop too.
    (void)connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(addr.port));
    if (addr.host == "0.0.0.0" || inet_pton(AF_INET, addr.host.c_str(), &sa.sin_addr) != 1) {
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    (void)connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  }
  close(fd);
}

}  // namespace

MetricsExporter::~MetricsExporter() {
  if (!exposer_) return;
  auto addr = ParseListenAddress(bound_);
  std::atomic<bool> stopped{false};
  std::thread waker;
  if (addr.ok()) {
    waker = std::thread([&stopped, a = *addr] {
      for (int i = 0; i < 200 && !stopped.load(); ++i) {
        PokeListener(a);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  exposer_.reset();
  stopped = true;
  if (waker.joinable()) waker.join();
}

void MetricsExporter::RegisterCollectable(
    const std::weak_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

}  // namespace knob
