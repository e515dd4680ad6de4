// SPDX-License-Identifier: Apache-2.0
#include "daemon/fs_checks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace knob {

Status EnsureWritableDir(const std::string& dir, std::string_view what) {
  std::string ctx = std::string(what) + " " + dir;
  if (dir.empty()) return InvalidArgumentError(std::string(what) + " is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return ErrnoToStatus(ec.value(), ctx + ": cannot create directory");
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return FailedPreconditionError(ctx + ": not a directory");
  }
  std::string probe = dir + "/.knobd-write-test." + std::to_string(getpid());
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoToStatus(errno, ctx + ": not writable");
  close(fd);
  unlink(probe.c_str());
  return OkStatus();
}

Status CheckSocketPathCreatable(const std::string& path) {
  std::string ctx = "control socket " + path;
  if (path.empty()) return InvalidArgumentError("control socket path is empty");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return InvalidArgumentError(ctx + ": longer than the " +
                                std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                                " bytes a Unix socket path may have");
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    return AlreadyExistsError(ctx + ": exists and is not a socket");
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  Status s = EnsureWritableDir(parent.string(), "control socket directory");
  if (!s.ok()) return s.WithContext(ctx);
  return OkStatus();
}

}  // namespace knob
