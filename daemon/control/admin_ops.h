// SPDX-License-Identifier: Apache-2.0
#pragma once
// The operator commands that reach the daemon (`knobctl status|targets|show|history|explain|
// pause|resume|mode|reload`), one handler per protocol::AdminOp, bound to the command table of
// daemon/control/commands.h by its `op`. CheckAdminHandlers() proves the binding complete
// (every daemon command has exactly one handler, every handler a command); the control server
// refuses to start otherwise. Handlers answer from the client registry (connections, reports,
// overrides) and the AdminBackend (daemon and brain state).
// Thread rule: loop thread only.

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>

#include "core/protocol/messages.h"
#include "core/status.h"
#include "daemon/control/admin_backend.h"
#include "daemon/control/client_registry.h"

namespace knob {

// Why a command failed, as the error reply carries it.
struct AdminFailure {
  protocol::ErrorCode code;
  std::string message;
};

struct AdminContext {
  ClientRegistry& clients;
  AdminBackend* backend;  // null: backend answers are unavailable
  uid_t operator_uid;     // for the log line of a change
};

using AdminHandler = std::optional<AdminFailure> (*)(AdminContext& ctx,
                                                     const protocol::AdminRequest& req,
                                                     protocol::AdminReply& reply);

struct AdminHandlerSpec {
  protocol::AdminOp op;
  bool needs_target;  // the request names a target that must be known (policy or client)
  AdminHandler run;
};

std::span<const AdminHandlerSpec> AdminHandlers();
// FailedPrecondition naming the first command without exactly one handler, or handler without
// a command.
Status CheckAdminHandlers();

// Runs `req` (the caller checked the peer may). nullopt: `reply` is filled and should be sent.
std::optional<AdminFailure> RunAdmin(AdminContext& ctx, const protocol::AdminRequest& req,
                                     protocol::AdminReply& reply);

}  // namespace knob
