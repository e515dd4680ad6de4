// SPDX-License-Identifier: Apache-2.0
#include "bench/example_service/service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace knob::example {

// ---- sockets ----

int ListenTcp(uint16_t port, uint16_t* bound_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 512) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (bound_port) *bound_port = ntohs(addr.sin_port);
  return fd;
}

int ConnectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool ReadLine(int fd, std::string& buf, std::string& line) {
  while (true) {
    size_t nl = buf.find('\n');
    if (nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return true;
    }
    char tmp[4096];
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    if (buf.size() > 1 << 20) return false;
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// ---- WorkerPool ----

WorkerPool::WorkerPool(int size) { Resize(size); }

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    threads.swap(threads_);
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void WorkerPool::Submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void WorkerPool::Resize(int size) {
  size = std::max(1, size);
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return;
  target_ = size;
  if (static_cast<size_t>(size) > threads_.size()) {
    threads_.resize(static_cast<size_t>(size));
    running_.resize(static_cast<size_t>(size), false);
  }
  for (int id = 0; id < size; ++id) {
    auto i = static_cast<size_t>(id);
    if (running_[i]) continue;
    // A worker that exited on an earlier shrink: reap it before reusing its slot.
    if (threads_[i].joinable()) threads_[i].join();
    running_[i] = true;
    threads_[i] = std::thread([this, id] { Work(id); });
  }
  cv_.notify_all();  // surplus workers wake up and exit after their current job
}

void WorkerPool::Work(int id) {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || id >= target_ || !queue_.empty(); });
      if (stop_ || id >= target_) {
        running_[static_cast<size_t>(id)] = false;
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ++busy_;
    job();
    --busy_;
  }
}

// ---- BackendPool ----

BackendPool::BackendPool(uint16_t port, int size) : port_(port) { Resize(size); }

BackendPool::~BackendPool() {
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : idle_) close(fd);
}

int BackendPool::Open() { return ConnectTcp(port_); }

void BackendPool::Resize(int size) {
  size = std::max(1, size);
  std::lock_guard<std::mutex> lock(mu_);
  target_ = size;
  while (open_ < size) {
    int fd = Open();
    if (fd < 0) break;  // backend down: connect lazily on the next Fetch
    idle_.push_back(fd);
    ++open_;
  }
  while (open_ > size && !idle_.empty()) {
    close(idle_.back());
    idle_.pop_back();
    --open_;
  }
  cv_.notify_all();
}

std::optional<uint64_t> BackendPool::Fetch(const std::string& key) {
  int fd = -1;
  {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiters_;
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < target_; });
    --waiters_;
    if (!idle_.empty()) {
      fd = idle_.back();
      idle_.pop_back();
    } else {
      ++open_;  // reserve the slot, connect outside the lock
    }
  }
  if (fd < 0) fd = Open();
  ++busy_;
  std::optional<uint64_t> result;
  bool healthy = false;
  if (fd >= 0 && WriteAll(fd, "FETCH " + key + "\n")) {
    std::string buf, line;
    if (ReadLine(fd, buf, line) && line.rfind("VAL ", 0) == 0) {
      result = std::strtoull(line.c_str() + 4, nullptr, 10);
      healthy = true;
    }
  }
  --busy_;
  std::lock_guard<std::mutex> lock(mu_);
  if (!healthy || open_ > target_) {
    if (fd >= 0) close(fd);
    --open_;
  } else {
    idle_.push_back(fd);
  }
  cv_.notify_one();
  return result;
}

// ---- ByteCache ----

bool ByteCache::Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void ByteCache::Put(const std::string& key, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (size > capacity_) return;
  auto it = index_.find(key);
  if (it != index_.end()) {
    bytes_ -= it->second->second;
    lru_.erase(it->second);
  }
  lru_.emplace_front(key, size);
  index_[key] = lru_.begin();
  bytes_ += size;
  EvictLocked();
}

void ByteCache::SetCapacity(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = bytes;
  EvictLocked();
}

void ByteCache::EvictLocked() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().second;
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

uint64_t ByteCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}
uint64_t ByteCache::capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

// ---- Backend ----

Backend::Backend(uint16_t port, std::chrono::microseconds delay, uint64_t value_bytes)
    : delay_(delay), value_bytes_(value_bytes) {
  listen_fd_ = ListenTcp(port, &port_);
  if (listen_fd_ >= 0) acceptor_ = std::thread([this] { Accept(); });
}

Backend::~Backend() {
  stop_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);  // each thread closes its own fd on exit
    threads.swap(conns_);
  }
  for (auto& t : threads) t.join();
}

void Backend::Accept() {
  while (!stop_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    fds_.push_back(fd);
    conns_.emplace_back([this, fd] {
      std::string buf, line;
      while (!stop_ && ReadLine(fd, buf, line)) {
        // A real wait (a database, another service): the thread blocks, no CPU used.
        std::this_thread::sleep_for(delay_);
        if (!WriteAll(fd, "VAL " + std::to_string(value_bytes_) + "\n")) break;
      }
      // The pool closed this connection (shrink) or we are stopping: release the fd now so
      // resizes do not leak descriptors.
      std::lock_guard<std::mutex> l(mu_);
      fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
      close(fd);
    });
  }
}

}  // namespace knob::example
