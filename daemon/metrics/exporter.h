// SPDX-License-Identifier: Apache-2.0
#pragma once
// The Prometheus pull endpoint (prometheus-cpp Exposer, an embedded CivetWeb server with its own
// threads) and the one shared Registry every subsystem registers its families on. Collectors,
// optimizers and the control server receive `prometheus::Registry&` at construction and add
// their own families; nothing here needs editing to add one. Extra Collectables (families
// computed at scrape time, like the process metrics) are registered with RegisterCollectable.
// Thread rule: create and destroy on the loop thread; the Registry and prometheus metric objects
// are thread-safe (collection workers update them, CivetWeb threads read them on scrape).

#include <memory>
#include <string>

#include "core/status.h"

namespace prometheus {
class Collectable;
class Exposer;
class Registry;
}  // namespace prometheus

namespace knob {

struct ListenAddress {
  std::string host;  // "127.0.0.1", "0.0.0.0", "::1" (without brackets)
  int port = 0;      // 0: let the kernel choose (tests); the chosen port is in BoundAddress()
};
// Accepts "HOST:PORT" and "[V6HOST]:PORT"; PORT is 0..65535.
Result<ListenAddress> ParseListenAddress(const std::string& text);

class MetricsExporter {
 public:
  // Binds `listen` and starts serving /metrics from `registry`. A bind failure (port in use,
  // address not local, malformed) is returned, never thrown.
  static Result<std::unique_ptr<MetricsExporter>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // "127.0.0.1:10464", with the port actually bound.
  const std::string& BoundAddress() const { return bound_; }
  prometheus::Registry& registry() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& shared_registry() const { return registry_; }
  // The exposer keeps only a weak reference: the caller owns `collectable`.
  void RegisterCollectable(const std::weak_ptr<prometheus::Collectable>& collectable);

 private:
  MetricsExporter() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string bound_;
};

}  // namespace knob
