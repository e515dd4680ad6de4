// SPDX-License-Identifier: Apache-2.0
#include "core/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace knob {
namespace {

constexpr size_t kInitialRead = 4096;

int Idx(FsRoot r) { return r == FsRoot::kProc ? 0 : 1; }

}  // namespace

RealProcFs::RealProcFs(std::string proc_root, std::string sys_root, size_t max_kept_fds)
    : max_kept_fds_(max_kept_fds) {
  roots_[0] = std::move(proc_root);
  roots_[1] = std::move(sys_root);
  for (auto& r : roots_) {
    while (r.size() > 1 && r.back() == '/') r.pop_back();
  }
}

RealProcFs::~RealProcFs() {
  for (auto& m : kept_) {
    for (auto& [p, fd] : m) ::close(fd);
  }
}

const std::string& RealProcFs::RootPath(FsRoot root) const { return roots_[Idx(root)]; }

const char* RealProcFs::Full(FsRoot root, std::string_view path) {
  path_buf_.assign(roots_[Idx(root)]);
  if (!path.empty() && path.front() != '/') path_buf_.push_back('/');
  path_buf_.append(path);
  return path_buf_.c_str();
}

Status RealProcFs::ReadFd(int fd, std::string_view path, std::string& out) {
  out.clear();
  if (out.capacity() < kInitialRead) out.reserve(kInitialRead);
  size_t used = 0;
  for (;;) {
    if (out.size() < used + kInitialRead) out.resize(std::max(out.capacity(), used + kInitialRead));
    ssize_t n = ::pread(fd, out.data() + used, out.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      out.clear();
      return ErrnoToStatus(err, path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    // A short read is not the end: multi-record seq_files (smaps, net/tcp) return one page of
    // records at a time. Read until 0 (ProcFsTest.ReadLinkAndLargeFile pins this).
  }
  out.resize(used);
  return OkStatus();
}

Status RealProcFs::Read(FsRoot root, std::string_view path, std::string& out) {
  const char* full = Full(root, path);
  int fd = ::open(full, O_RDONLY | O_CLOEXEC);
  ++opens_;
  if (fd < 0) {
    out.clear();
    return ErrnoToStatus(errno, full);
  }
  Status s = ReadFd(fd, path_buf_, out);
  ::close(fd);
  return s;
}

Status RealProcFs::ReadKept(FsRoot root, std::string_view path, std::string& out) {
  auto& m = kept_[Idx(root)];
  // Heterogeneous lookup needs C++20 transparent hashing; a temporary key is cheap enough here
  // and keeps the map simple.
  std::string key(path);
  auto it = m.find(key);
  if (it == m.end()) {
    if (kept_fds() >= max_kept_fds_) return Read(root, path, out);
    const char* full = Full(root, path);
    int fd = ::open(full, O_RDONLY | O_CLOEXEC);
    ++opens_;
    if (fd < 0) {
      out.clear();
      return ErrnoToStatus(errno, full);
    }
    it = m.emplace(std::move(key), fd).first;
  }
  Status s = ReadFd(it->second, path, out);
  if (!s.ok()) {
    ::close(it->second);
    m.erase(it);
  }
  return s;
}

void RealProcFs::Forget(FsRoot root, std::string_view prefix) {
  auto& m = kept_[Idx(root)];
  for (auto it = m.begin(); it != m.end();) {
    if (std::string_view(it->first).substr(0, prefix.size()) == prefix) {
      ::close(it->second);
      it = m.erase(it);
    } else {
      ++it;
    }
  }
}

Status RealProcFs::ListDir(FsRoot root, std::string_view path, std::vector<std::string>& out) {
  out.clear();
  const char* full = Full(root, path);
  DIR* d = ::opendir(full);
  ++opens_;
  if (d == nullptr) return ErrnoToStatus(errno, full);
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    out.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoToStatus(err, path_buf_);
  return OkStatus();
}

int RealProcFs::KeptFd(FsRoot root, std::string_view path, bool dir, bool& temporary, Status& err) {
  auto& m = kept_[Idx(root)];
  std::string key(path);
  auto it = m.find(key);
  if (it != m.end()) {
    temporary = false;
    return it->second;
  }
  const char* full = Full(root, path);
  int fd = ::open(full, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
  ++opens_;
  if (fd < 0) {
    err = ErrnoToStatus(errno, full);
    return -1;
  }
  temporary = kept_fds() >= max_kept_fds_;
  if (!temporary) m.emplace(std::move(key), fd);
  return fd;
}

Status RealProcFs::ListDirKept(FsRoot root, std::string_view path, std::vector<std::string>& out) {
  out.clear();
  bool temporary = false;
  Status err;
  int fd = KeptFd(root, path, /*dir=*/true, temporary, err);
  if (fd < 0) return err;
  Status result;
  if (::lseek(fd, 0, SEEK_SET) < 0) {
    result = ErrnoToStatus(errno, path);
  } else {
    if (dents_.size() < 32768) dents_.resize(32768);
    for (;;) {
      long n = ::syscall(SYS_getdents64, fd, dents_.data(), dents_.size());
      if (n < 0) {
        result = ErrnoToStatus(errno, path);
        break;
      }
      if (n == 0) break;
      for (long off = 0; off < n;) {
        // linux_dirent64: ino (8), off (8), reclen (2), type (1), name (NUL-terminated).
        unsigned short reclen = 0;
        std::memcpy(&reclen, dents_.data() + off + 16, sizeof(reclen));
        const char* name = dents_.data() + off + 19;
        if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))) {
          out.emplace_back(name);
        }
        off += reclen;
      }
    }
  }
  if (temporary) {
    ::close(fd);
  } else if (!result.ok()) {
    Forget(root, path);
  }
  return result;
}

Result<int64_t> RealProcFs::DirSize(FsRoot root, std::string_view path) {
  struct stat st {};
  auto& m = kept_[Idx(root)];
  auto it = m.find(std::string(path));
  // Never opens: a directory without a kept fd costs a path walk, not an open()/close().
  const int rc = it != m.end() ? ::fstat(it->second, &st) : ::stat(Full(root, path), &st);
  if (rc != 0) return ErrnoToStatus(errno, path);
  return static_cast<int64_t>(st.st_size);
}

Status RealProcFs::ReadLink(FsRoot root, std::string_view path, std::string& out) {
  const char* full = Full(root, path);
  out.resize(256);
  for (;;) {
    ssize_t n = ::readlink(full, out.data(), out.size());
    if (n < 0) {
      int err = errno;
      out.clear();
      return ErrnoToStatus(err, full);
    }
    if (static_cast<size_t>(n) < out.size()) {
      out.resize(static_cast<size_t>(n));
      return OkStatus();
    }
    out.resize(out.size() * 2);
  }
}

}  // namespace knob
