// SPDX-License-Identifier: Apache-2.0
#pragma once
// ProcFs: every read knobd makes under /proc and /sys goes through here, relative to a
// configurable root (CollectionSettings::proc_root / sys_root), so tests run over fixture trees
// under tests/data/proc/<case>/ and tests/support/faulty_procfs.h can inject ENOENT, EACCES and
// short reads. The real implementation reads the cheap way: the caller passes a reused buffer,
// and ReadKept() keeps one fd per path open and re-reads it with pread() from offset 0, so a known
// process costs no open() per tick.
//
// Why kept fds are also the pid-reuse guard: an fd on /proc/PID/stat refers to the task it was
// opened for; once that task is gone pread() fails with ESRCH even if the pid was reused. ReadKept
// maps that to NotFound and drops the fd, so a reused pid is never read as the old process.
//
// Thread rule: one ProcFs per collection thread; not thread-safe (it owns reused state).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace knob {

enum class FsRoot { kProc, kSys };

class ProcFs {
 public:
  virtual ~ProcFs() = default;

  // Reads the whole file `root`/`path` into `out` (cleared first; capacity reused).
  // Errors: NotFound (ENOENT/ESRCH: gone), PermissionDenied, Unavailable (EOPNOTSUPP, e.g. PSI
  // compiled in but disabled), Internal otherwise. The message names the path.
  virtual Status Read(FsRoot root, std::string_view path, std::string& out) = 0;

  // Like Read, but keeps the fd open between calls and re-reads with pread(). Use for files
  // read every tick of a known process. When the kept-fd budget is used up it degrades to Read.
  virtual Status ReadKept(FsRoot root, std::string_view path, std::string& out) = 0;

  // Closes kept fds whose path starts with `prefix` (e.g. "1234/" when process 1234 is gone).
  virtual void Forget(FsRoot root, std::string_view prefix) = 0;

  // Names in a directory, without "." and "..", unsorted. `out` is cleared first.
  virtual Status ListDir(FsRoot root, std::string_view path, std::vector<std::string>& out) = 0;

  // Like ListDir, but keeps the directory fd open and re-reads it from the start (getdents64
  // after lseek 0), for directories listed on a cadence (/proc/PID/task, /proc/PID/fd). The fd is
  // dropped with Forget() like ReadKept's. Default: plain ListDir.
  virtual Status ListDirKept(FsRoot root, std::string_view path, std::vector<std::string>& out) {
    return ListDir(root, path, out);
  }

  // st_size of a directory listed with ListDirKept (fstat of its kept fd; stat otherwise). For
  // /proc/PID/fd, Linux >= 6.2 reports the number of open fds there, so a caller can skip a
  // listing when the count did not change; older kernels report 0, fixture trees a block size.
  // Default: Unavailable (callers list instead).
  virtual Result<int64_t> DirSize(FsRoot root, std::string_view path) {
    (void)root;
    return UnavailableError(std::string(path) + ": no directory size");
  }

  // Target of a symlink (/proc/PID/exe, /proc/PID/fd/N).
  virtual Status ReadLink(FsRoot root, std::string_view path, std::string& out) = 0;

  // The absolute root, for logs and for code that must hand a path to the kernel.
  virtual const std::string& RootPath(FsRoot root) const = 0;
};

class RealProcFs final : public ProcFs {
 public:
  // max_kept_fds bounds the fds ReadKept may hold; the daemon should keep it well under
  // RLIMIT_NOFILE. 0 disables keeping.
  RealProcFs(std::string proc_root, std::string sys_root, size_t max_kept_fds = 4096);
  ~RealProcFs() override;
  RealProcFs(const RealProcFs&) = delete;
  RealProcFs& operator=(const RealProcFs&) = delete;

  Status Read(FsRoot root, std::string_view path, std::string& out) override;
  Status ReadKept(FsRoot root, std::string_view path, std::string& out) override;
  void Forget(FsRoot root, std::string_view prefix) override;
  Status ListDir(FsRoot root, std::string_view path, std::vector<std::string>& out) override;
  Status ListDirKept(FsRoot root, std::string_view path, std::vector<std::string>& out) override;
  Result<int64_t> DirSize(FsRoot root, std::string_view path) override;
  Status ReadLink(FsRoot root, std::string_view path, std::string& out) override;
  const std::string& RootPath(FsRoot root) const override;

  size_t kept_fds() const { return kept_[0].size() + kept_[1].size(); }
  // Number of open() calls made so far; the benchmark uses it to check steady-state behaviour.
  uint64_t opens() const { return opens_; }

 private:
  const char* Full(FsRoot root, std::string_view path);
  Status ReadFd(int fd, std::string_view path, std::string& out);
  // Kept fd for `path` (opened on first use, O_DIRECTORY when `dir`); -1 and `err` set on
  // failure; falls back to a temporary fd (`temporary` = true) past the budget.
  int KeptFd(FsRoot root, std::string_view path, bool dir, bool& temporary, Status& err);
  std::vector<char> dents_;

  std::string roots_[2];
  std::string path_buf_;
  size_t max_kept_fds_;
  std::unordered_map<std::string, int> kept_[2];
  uint64_t opens_ = 0;
};

}  // namespace knob
