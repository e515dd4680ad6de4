// SPDX-License-Identifier: Apache-2.0
#pragma once
// The example service's moving parts, each resizable live from a knob callback:
//   WorkerPool      N threads popping requests from a queue; grows by spawning, shrinks by
//                   letting surplus workers exit after their current request (nothing dropped)
//   BackendPool     N TCP connections to the loopback backend; acquire blocks while all are
//                   busy; shrinking closes connections as they come back
//   ByteCache       LRU cache bounded in bytes; shrinking evicts down to the new size at once
//   Backend         the loopback backend: answers "FETCH key" after a configurable delay
// Thread rule: every public method is thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace knob::example {

class WorkerPool {
 public:
  using Job = std::function<void()>;
  explicit WorkerPool(int size);
  ~WorkerPool();
  void Submit(Job job);
  void Resize(int size);  // no-op after Shutdown
  // Lets every worker finish its current job, drops the queue, joins. Idempotent.
  void Shutdown();
  int size() const { return target_.load(); }
  int busy() const { return busy_.load(); }
  size_t queued() const;

 private:
  void Work(int id);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::thread> threads_;  // joined at destruction; exited ones are cheap
  std::vector<bool> running_;         // by worker id
  std::atomic<int> target_{0};
  std::atomic<int> busy_{0};
  bool stop_ = false;
};

class BackendPool {
 public:
  BackendPool(uint16_t port, int size);
  ~BackendPool();
  // Fetches `key` over one pooled connection: blocks while all connections are busy.
  // Returns the value size, or nullopt when the backend is unreachable.
  std::optional<uint64_t> Fetch(const std::string& key);
  void Resize(int size);
  int size() const { return target_.load(); }
  int busy() const { return busy_.load(); }
  int waiters() const { return waiters_.load(); }

 private:
  int Open();
  uint16_t port_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> idle_;
  int open_ = 0;  // idle + busy connections
  std::atomic<int> target_{0};
  std::atomic<int> busy_{0};
  std::atomic<int> waiters_{0};
};

class ByteCache {
 public:
  explicit ByteCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  // True on hit.
  bool Get(const std::string& key);
  void Put(const std::string& key, uint64_t size);
  void SetCapacity(uint64_t bytes);
  uint64_t bytes() const;
  uint64_t capacity() const;

 private:
  void EvictLocked();
  mutable std::mutex mu_;
  std::list<std::pair<std::string, uint64_t>> lru_;  // most recent first
  std::unordered_map<std::string, std::list<std::pair<std::string, uint64_t>>::iterator> index_;
  uint64_t bytes_ = 0;
  uint64_t capacity_;
};

class Backend {
 public:
  // Listens on 127.0.0.1:port (0: any free port).
  Backend(uint16_t port, std::chrono::microseconds delay, uint64_t value_bytes);
  ~Backend();
  bool ok() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }

 private:
  void Accept();
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::chrono::microseconds delay_;
  uint64_t value_bytes_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> fds_;
};

// Helpers shared with the load generator.
int ListenTcp(uint16_t port, uint16_t* bound_port);
int ConnectTcp(uint16_t port);
// Reads one '\n'-terminated line (without it) using `buf` as carry-over; false on EOF/error.
bool ReadLine(int fd, std::string& buf, std::string& line);
bool WriteAll(int fd, const std::string& data);

}  // namespace knob::example
