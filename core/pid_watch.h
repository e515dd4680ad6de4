// SPDX-License-Identifier: Apache-2.0
#pragma once
// PidWatch: which of a set of processes have exited, without reading /proc for each of them.
// One pidfd per process (pidfd_open, Linux >= 5.3) in an epoll set: a pidfd becomes readable
// when its process exits and always names the process it was opened for, so a reused pid is
// never mistaken for the watched one. Checking costs one epoll_wait per tick however many
// processes are watched. Where pidfd_open or epoll is missing (old kernel, seccomp), or for one
// process refused (EPERM, ESRCH), the caller keeps checking that process itself.
//
// Thread rule: one owner thread; not thread-safe.
#include <sys/types.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace knob {

class PidWatch {
 public:
  PidWatch();
  ~PidWatch();
  PidWatch(const PidWatch&) = delete;
  PidWatch& operator=(const PidWatch&) = delete;

  // False when the kernel has no epoll or pidfd_open (then Watch always fails).
  bool available() const { return epoll_fd_ >= 0 && pidfd_ok_; }
  // Starts watching `pid` as it is now. The caller must confirm afterwards that the process it
  // means is still alive (e.g. a read of a /proc fd it kept for it): a pidfd opened after that
  // process exited would name a newcomer with the same pid. False when it cannot be watched.
  bool Watch(pid_t pid);
  void Unwatch(pid_t pid);
  bool Watching(pid_t pid) const { return fds_.count(pid) != 0; }
  size_t size() const { return fds_.size(); }
  // Watched processes that exited since the last call; they are no longer watched.
  const std::vector<pid_t>& Exited();
  // Stops watching every pid not in `keep` (sorted).
  void Retain(const std::vector<pid_t>& keep);

 private:
  int epoll_fd_ = -1;
  bool pidfd_ok_ = true;
  std::unordered_map<pid_t, int> fds_;
  std::vector<pid_t> exited_;
};

}  // namespace knob
