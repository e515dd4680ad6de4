// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control-socket protocol (docs/protocol.md) as plain structs: one struct per message type.
// Version 1, newline-delimited JSON. Encoding/decoding lives in core/protocol/codec.h; these
// structs carry no JSON so every other folder stays free of nlohmann_json.
// Thread rule: plain values, safe to copy between threads.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/recommendation.h"
#include "core/snapshot.h"

namespace knob::protocol {

inline constexpr int kVersion = 1;

// ---- Target -> daemon -------------------------------------------------------------------

// A knob the target exposes: current value, bounds and unit. A list-valued knob (a CPU list such
// as "0-3,8", core/cpu_list.h) has `list` set and is a JSON string on the wire; its `value` is
// then the number of CPUs in the list, so numeric code still sees a size.
struct KnobInfo {
  std::string name;
  double value = 0;
  std::optional<double> min;
  std::optional<double> max;
  std::string unit;  // free text: "threads", "connections", "bytes", "requests"
  std::optional<std::string> list = std::nullopt;  // last: positional initialisers keep meaning
  bool operator==(const KnobInfo&) const = default;
};

struct Hello {
  std::string name;  // registered name; matches a policy selector `registered: NAME`
  pid_t pid = 0;     // must equal the socket peer's pid (SO_PEERCRED) or hello is refused
  std::vector<KnobInfo> knobs;
  std::vector<std::string> metrics;  // what reports will contain: "requests" "latency" ...
  std::string client;                // implementation and version, e.g. "knob-cpp/0.1"
};

// A periodic report. `app.received` is not on the wire: the daemon stamps it on arrival.
struct Report {
  uint64_t seq = 0;  // increases by one per report of this connection
  AppReport app;
};

enum class AckResult { kApplied, kRejected };
std::string_view AckResultName(AckResult r);  // "applied" | "rejected"

struct Ack {
  uint64_t id = 0;  // the recommendation id from `set`
  std::string knob;
  AckResult result = AckResult::kApplied;
  std::optional<double> value;  // the value now in effect
  std::string reason;           // why rejected (or a note on what was applied)
  // A list-valued knob's value now in effect (value = its size).
  std::optional<std::string> list = std::nullopt;
};

struct Bye {
  std::string reason;
};

// ---- Daemon -> target -------------------------------------------------------------------

struct Welcome {
  std::string session;               // opaque id of this connection
  std::string target;                // policy target this client belongs to ("" when none matches)
  double tick_interval_seconds = 1;  // send a report about this often
  std::string mode;                  // "observe" | "recommend" | "apply"
};

struct Set {
  uint64_t id = 0;  // recommendation id; echo it in `ack`
  std::string knob;
  double value = 0;
  double old_value = 0;
  std::string reason;  // one sentence a human reads
  std::map<std::string, double> predicted;
  bool advisory = false;          // recommend mode: apply only if the app agrees; ack either way
  double expires_in_seconds = 0;  // ack before this or the daemon counts it expired
  // A list-valued knob: the list to apply and the one it replaces (value/old_value: their sizes).
  std::optional<std::string> list = std::nullopt, old_list = std::nullopt;
};

// Error codes, stable on the wire (docs/protocol.md has the table).
enum class ErrorCode {
  kBadJson,            // the line is not JSON
  kBadMessage,         // JSON but a field is missing or of the wrong type
  kUnknownType,        // "type" names no message
  kVersionMismatch,    // "v" is not 1
  kTooLarge,           // a line exceeded the message size limit (connection closed)
  kRateLimited,        // more messages per second than allowed; message dropped
  kTooManyClients,     // connection refused (connection closed)
  kIdleTimeout,        // nothing received for the idle timeout (connection closed)
  kPermissionDenied,   // admin op from a non-admin peer
  kPidMismatch,        // hello pid differs from the peer's pid (connection closed)
  kNotRegistered,      // report/ack before hello
  kAlreadyRegistered,  // a second hello on one connection, or the name is live elsewhere
  kUnknownTarget,      // admin op names no target
  kUnknownRecommendation,
  kInvalidArgument,  // admin op argument not accepted (e.g. mode "fast")
  kUnavailable,      // the daemon cannot answer this now (e.g. no brain built)
  kInternal,
};
std::string_view ErrorCodeName(ErrorCode c);  // "bad_json" ...
std::optional<ErrorCode> ParseErrorCode(std::string_view s);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;         // what went wrong and, where possible, what to do
  std::optional<uint64_t> id;  // the admin request id this answers, when known
};

// ---- Admin (knobctl) --------------------------------------------------------------------

enum class AdminOp {
  kStatus,
  kTargets,
  kShow,
  kHistory,
  kExplain,
  kPause,
  kResume,
  kMode,
  kReload,
  kRestore
};
std::string_view AdminOpName(AdminOp op);  // "status" ...
std::optional<AdminOp> ParseAdminOp(std::string_view s);

struct AdminRequest {
  AdminOp op = AdminOp::kStatus;
  uint64_t id = 0;              // echoed in the reply
  std::string target;           // show history pause resume mode
  uint64_t recommendation = 0;  // explain
  std::string mode;             // mode
  uint32_t limit = 0;           // history: newest N, 0 = daemon default
  bool all = false;             // pause, restore: every target instead of `target`
};

struct StatusInfo {
  std::string version;
  pid_t pid = 0;
  double uptime_seconds = 0;
  std::string mode;  // global default mode
  std::string policy_source;
  double tick_interval_seconds = 0;
  uint64_t ticks = 0;
  uint32_t targets = 0;
  uint32_t clients = 0;               // connected target clients
  std::vector<std::string> degraded;  // features running degraded, one sentence each
};

struct TargetInfo {
  std::string name;
  std::string state;  // TargetStateName
  std::string mode;
  bool connected = false;  // a client is connected under this name now
  pid_t pid = 0;           // client pid, or first matched process; 0 when none
  std::optional<double> last_report_age_seconds;
  uint64_t reports = 0;
  uint64_t recommendations = 0;
  // learning | exploring | verifying | converged | paused | overridden (knobd_target_phase);
  // empty from a daemon that does not say. Last, so aggregate initialisers keep their order.
  std::string phase;
  // Live processes registered under the target's name (0 when it has no client). After
  // `phase`, for the same reason.
  uint32_t instances = 0;
};

// One live process of a target registered by several (docs/protocol.md, "Instances").
struct InstanceInfo {
  pid_t pid = 0;
  std::optional<double> last_report_age_seconds;
  uint64_t reports = 0;
  std::optional<AppReport> app;  // its own latest report, as it sent it
};

struct ShowInfo {
  TargetInfo target;
  std::map<std::string, double> metrics;  // flattened process/host metrics, "cpu.user_seconds"
  std::optional<AppReport> app;           // latest report from the target's client
  std::vector<KnobInfo> knobs;            // as declared in hello, values from the last report
  std::map<std::string, double> model;    // model parameters ("usl.sigma", "mrc.knee_bytes")
  std::vector<std::string> notes;         // model/brain remarks, one sentence each
  // Each live instance when more than one process serves the target (`app` is their merge).
  std::vector<InstanceInfo> instances;
};

struct AdminReply {
  AdminOp op = AdminOp::kStatus;
  uint64_t id = 0;
  std::optional<StatusInfo> status;
  std::optional<std::vector<TargetInfo>> targets;
  std::optional<ShowInfo> show;
  std::optional<std::vector<Recommendation>> history;
  std::optional<Recommendation> recommendation;  // explain
  std::vector<std::string> explanation;          // explain: one sentence per step
  std::string message;                           // pause/resume/mode/reload: what changed, in words
};

using Message =
    std::variant<Hello, Report, Ack, Bye, Welcome, Set, Error, AdminRequest, AdminReply>;

// The "type" string of a message ("hello", "report", ... ; admin requests use the op name,
// replies "reply").
std::string_view TypeName(const Message& m);

}  // namespace knob::protocol
