// SPDX-License-Identifier: Apache-2.0
// A complete small service made tunable by knobd with the C++ client (docs/integrating.md).
// It "serves" requests from a worker pool and a cache, lets knobd resize the pool, and runs
// for argv[1] seconds (default 10). Exit status 0 once knobd has received its reports.
#include <knob/client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10;
  std::atomic<int> workers{4};

  knob::ClientOptions options;
  options.name = "cpp-example";  // the policy's `registered: cpp-example` selects it
  // options.socket_path empty: $KNOBD_SOCKET, else $KNOBD_CONTROL_SOCKET, else
  // /run/knobd/control.sock.
  knob::Client client(options);
  client.RegisterKnob({.name = "workers", .value = 4, .min = 1, .max = 64, .unit = "threads"},
                      [&](double v) {  // runs on the client's thread
                        workers = static_cast<int>(v);
                        std::printf("cpp-example: workers set to %d\n", workers.load());
                        return knob::SetResult::Applied();
                      });
  knob::PoolGauges& pool = client.pool("workers");
  knob::CacheStats& cache = client.cache("main", 0.1);
  cache.SetCapacity(150 * 1024);
  if (!client.Start().ok()) std::fprintf(stderr, "cpp-example: tuning is off\n");

  std::mt19937 rng(42);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const auto start = std::chrono::steady_clock::now();
    const std::string key = "item-" + std::to_string(rng() % 200);
    const bool hit = rng() % 4 != 0;
    hit ? cache.Hit() : cache.Miss();
    cache.Access(key, 1024);
    std::this_thread::sleep_for(std::chrono::milliseconds(hit ? 1 : 5));  // the "work"
    client.RecordRequest(std::chrono::steady_clock::now() - start);       // lock-free
    pool.size = workers.load();
    pool.busy = 1;
  }
  client.Stop();  // says bye
  std::printf("cpp-example: %llu reports sent, target '%s'\n",
              static_cast<unsigned long long>(client.reports_sent()), client.target().c_str());
  return client.reports_sent() > 0 ? 0 : 1;
}
