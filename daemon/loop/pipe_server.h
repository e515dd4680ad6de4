// SPDX-License-Identifier: Apache-2.0
#pragma once
// A listening Unix stream socket on the loop. Listen() replaces a stale socket file (one nobody
// answers on) but refuses when another process is serving the path, then sets the file's mode
// and group. Each accepted connection is handed over as a Stream.
// Thread rule: loop thread only.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/loop/loop.h"
#include "daemon/loop/stream.h"

namespace knob {

class PipeServer {
 public:
  explicit PipeServer(Loop& loop);
  ~PipeServer();  // stops listening and unlinks the socket file it created
  PipeServer(const PipeServer&) = delete;
  PipeServer& operator=(const PipeServer&) = delete;

  // `group`: chown the socket to this gid (nullopt: leave the process's group).
  Status Listen(const std::string& path, int mode, std::optional<gid_t> group,
                std::function<void(std::unique_ptr<Stream>)> on_connection);
  void Close();
  const std::string& path() const { return path_; }

 private:
  Loop& loop_;
  uv_pipe_t* handle_ = nullptr;
  std::string path_;
  std::function<void(std::unique_ptr<Stream>)> on_connection_;
};

}  // namespace knob
