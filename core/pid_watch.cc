// SPDX-License-Identifier: Apache-2.0
#include "core/pid_watch.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace knob {
namespace {

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

PidWatch::PidWatch() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {}

PidWatch::~PidWatch() {
  for (const auto& [pid, fd] : fds_) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool PidWatch::Watch(pid_t pid) {
  if (!available()) return false;
  if (fds_.count(pid)) return true;
  int fd = PidfdOpen(pid);
  if (fd < 0) {
    // No such syscall, or a seccomp filter (pidfd_open itself never says EPERM): stop trying
    // for everyone. ESRCH (gone) and EMFILE/ENFILE (out of fds) are per process.
    if (errno == ENOSYS || errno == EINVAL || errno == EPERM) pidfd_ok_ = false;
    return false;
  }
  // pidfd_open gives no O_CLOEXEC flag; the daemon spawns nothing, but be tidy anyway.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(static_cast<uint32_t>(pid));
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return false;
  }
  fds_.emplace(pid, fd);
  return true;
}

void PidWatch::Unwatch(pid_t pid) {
  auto it = fds_.find(pid);
  if (it == fds_.end()) return;
  ::close(it->second);  // closing removes it from the epoll set
  fds_.erase(it);
}

const std::vector<pid_t>& PidWatch::Exited() {
  exited_.clear();
  if (epoll_fd_ < 0 || fds_.empty()) return exited_;
  epoll_event evs[64];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, evs, 64, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      const pid_t pid = static_cast<pid_t>(static_cast<uint32_t>(evs[i].data.u64));
      exited_.push_back(pid);
      Unwatch(pid);
    }
    if (n < 64) break;
  }
  return exited_;
}

}  // namespace knob

namespace knob {

void PidWatch::Retain(const std::vector<pid_t>& keep) {
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (std::binary_search(keep.begin(), keep.end(), it->first)) {
      ++it;
    } else {
      ::close(it->second);
      it = fds_.erase(it);
    }
  }
}

}  // namespace knob
