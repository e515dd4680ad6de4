// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control socket on the daemon's loop: a Unix stream socket (mode 0660, group from the
// policy), NDJSON framing with the message size limit, the client limit, SO_PEERCRED identity,
// a once-a-second sweep for idle clients and expired sets. Behaviour lives in ControlApi; this
// class only moves bytes and enforces what needs the transport (oversized lines, too many
// clients, slow readers).
//
// Wired into knobd by AttachControlServer (daemon/control/daemon_backend.h): the backend, the
// outcome sink, api().clients() as the tick's Publisher and AppReportSource, and the server as
// a Component (Start/Stop/OnPolicyChanged). Start refuses to listen when an operator command
// has no admin handler (CheckAdminHandlers).
// Thread rule: loop thread only.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/protocol/framing.h"
#include "daemon/control/api.h"
#include "daemon/daemon.h"
#include "daemon/loop/loop.h"
#include "daemon/loop/pipe_server.h"
#include "daemon/loop/stream.h"
#include "daemon/loop/timer.h"

namespace knob {

// True for root, the daemon's own uid, and members (primary or supplementary) of `admin_group`.
bool IsAdminPeer(uid_t uid, gid_t gid, const std::string& admin_group);

class ControlServer final : public Component, private Transport {
 public:
  // `registry` may be null (no metrics).
  ControlServer(Loop& loop, const Clock& clock, prometheus::Registry* registry);
  ~ControlServer() override;

  void SetPolicy(std::shared_ptr<const Policy> policy);
  ControlApi& api() { return api_; }
  // Keeps `backend` alive as long as the server and makes it the API's backend.
  void AdoptBackend(std::unique_ptr<AdminBackend> backend) {
    backend_ = std::move(backend);
    api_.SetBackend(backend_.get());
  }

  // Component
  std::string_view Name() const override { return "control"; }
  // Listens on policy.global.control.socket_path.
  Status Start() override;
  void OnPolicyChanged(const Policy& before, const Policy& after) override;
  void Stop() override;

  size_t connections() const { return conns_.size(); }
  const std::string& socket_path() const { return settings_.socket_path; }

 private:
  struct Conn {
    std::unique_ptr<Stream> stream;
    protocol::LineFramer framer;
    bool closing = false;
  };
  void OnConnection(std::unique_ptr<Stream> stream);
  void OnData(SessionId id, std::string_view bytes);
  // Transport
  void Send(SessionId session, std::string encoded) override;
  void Close(SessionId session) override;

  std::shared_ptr<const Policy> policy_;
  std::unique_ptr<AdminBackend> backend_;
  ControlSettings settings_;
  ControlApi api_;
  PipeServer server_;
  Timer sweep_;
  std::map<SessionId, std::unique_ptr<Conn>> conns_;
  SessionId next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace knob
