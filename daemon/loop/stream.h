// SPDX-License-Identifier: Apache-2.0
#pragma once
// One accepted Unix-socket connection (a libuv pipe): reads delivered as byte chunks, queued
// writes with a byte count for back-pressure, peer credentials, and close notification.
// Destroying a Stream closes it; after that no callback of it runs. Calling Close() from inside
// one of its own callbacks is allowed; the on_closed callback then runs from the loop later,
// and is the place for the owner to destroy the Stream.
// Thread rule: loop thread only.

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "daemon/loop/loop.h"

namespace knob {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class Stream {
 public:
  // Takes ownership of an initialised, connected pipe handle (PipeServer makes these).
  explicit Stream(uv_pipe_t* handle);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // `on_data` gets every chunk read; `on_eof` runs once when the peer closed or a read failed
  // (the Stream is not closed by it: call Close()). `on_closed` runs after Close() completes.
  Status StartReading(std::function<void(std::string_view)> on_data, std::function<void()> on_eof);
  void StopReading();
  // Queues bytes; never blocks. Fails only when the stream is closing or the write cannot be
  // queued (the peer is gone).
  Status Write(std::string bytes);
  // Bytes queued but not yet handed to the kernel: a slow reader makes this grow.
  size_t write_queue_bytes() const;
  // Stops reading, lets queued writes flush (best effort), closes.
  void Close(std::function<void()> on_closed = nullptr);
  bool closing() const { return closing_; }

  // SO_PEERCRED of the connected peer.
  Result<PeerCredentials> Peer() const;

 private:
  static void OnClose(uv_handle_t* h);

  uv_pipe_t* handle_;
  bool closing_ = false;
  std::function<void(std::string_view)> on_data_;
  std::function<void()> on_eof_;
  std::function<void()> on_closed_;
};

}  // namespace knob
