// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/admin_ops.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "daemon/control/commands.h"

namespace knob {
namespace {

using protocol::AdminOp;
using protocol::AdminReply;
using protocol::AdminRequest;
using protocol::ErrorCode;
using Failure = std::optional<AdminFailure>;

std::string ModeText(Mode m) { return std::string(ModeName(m)); }

ErrorCode CodeFor(const Status& s, ErrorCode not_found) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return not_found;
    case StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidArgument;
    case StatusCode::kUnavailable:
    case StatusCode::kUnimplemented:
    case StatusCode::kFailedPrecondition:
      return ErrorCode::kUnavailable;
    case StatusCode::kPermissionDenied:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kInternal;
  }
}

Failure Fail(ErrorCode code, std::string message) { return AdminFailure{code, std::move(message)}; }

Failure DaemonStatus(AdminContext& ctx, const AdminRequest&, AdminReply& reply) {
  const Policy& policy = ctx.clients.policy();
  protocol::StatusInfo st;
  if (ctx.backend) {
    auto r = ctx.backend->GetStatus();
    if (r.ok()) st = std::move(*r);
  }
  if (st.pid == 0) st.pid = getpid();
  if (st.mode.empty()) st.mode = ModeText(policy.global.mode);
  if (st.policy_source.empty()) st.policy_source = policy.source;
  if (st.tick_interval_seconds == 0)
    st.tick_interval_seconds = ToSeconds(policy.global.tick_interval);
  std::set<std::string> names;
  for (const auto& t : policy.targets)
    if (t.selector.registered != "*") names.insert(t.name);  // a catch-all is a template
  for (const auto& [name, c] : ctx.clients.clients())
    names.insert(c.target.empty() ? name : c.target);
  st.targets = static_cast<uint32_t>(names.size());
  st.clients = static_cast<uint32_t>(ctx.clients.connected_clients());
  reply.status = std::move(st);
  return std::nullopt;
}

Failure Targets(AdminContext& ctx, const AdminRequest&, AdminReply& reply) {
  std::vector<protocol::TargetInfo> rows;
  if (ctx.backend) {
    auto r = ctx.backend->GetTargets();
    if (r.ok()) rows = std::move(*r);
  }
  if (rows.empty()) {
    for (const auto& t : ctx.clients.policy().targets) {
      if (t.selector.registered == "*") continue;  // listed by the names it matched
      protocol::TargetInfo row;
      row.name = t.name;
      row.state = "pending";
      rows.push_back(std::move(row));
    }
  }
  for (const auto& [name, c] : ctx.clients.clients()) {
    protocol::TargetInfo ci = ctx.clients.ClientTargetInfo(c);
    auto row =
        std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.name == ci.name; });
    if (row == rows.end()) {
      rows.push_back(ci);
      continue;
    }
    row->connected = ci.connected;
    row->pid = ci.pid != 0 ? ci.pid : row->pid;
    row->last_report_age_seconds = ci.last_report_age_seconds;
    row->reports = ci.reports;
    row->instances = ci.instances;
    row->recommendations = std::max(row->recommendations, ci.recommendations);
    if (row->state == "pending" || row->state == "gone" || row->state.empty())
      row->state = ci.state;
  }
  for (auto& row : rows) {
    row.mode = ModeText(ctx.clients.EffectiveMode(row.name));
    if (ctx.clients.ModeOverride(row.name)) row.phase = "overridden";
    if (ctx.clients.Paused(row.name)) row.state = row.phase = "paused";
  }
  reply.targets = std::move(rows);
  return std::nullopt;
}

Failure Show(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  protocol::ShowInfo info;
  if (ctx.backend) {
    auto r = ctx.backend->Show(req.target);
    if (r.ok()) info = std::move(*r);
  }
  info.target.name = req.target;
  if (info.target.state.empty()) info.target.state = "pending";
  if (const RegisteredClient* c = ctx.clients.FindClientByTarget(req.target)) {
    protocol::TargetInfo ci = ctx.clients.ClientTargetInfo(*c);
    info.target.connected = ci.connected;
    info.target.pid = ci.pid;
    info.target.last_report_age_seconds = ci.last_report_age_seconds;
    info.target.reports = ci.reports;
    info.target.recommendations = ci.recommendations;
    info.target.instances = ci.instances;
    if (c->instances.size() > 1) info.instances = ctx.clients.Instances(*c);
    if (info.target.state == "pending" || info.target.state == "gone") info.target.state = ci.state;
    info.app = c->latest;
    info.knobs = c->knobs;
    if (c->latest)
      for (auto& k : info.knobs)
        if (auto v = c->latest->knobs.find(k.name); v != c->latest->knobs.end())
          k.value = v->second;
  }
  info.target.mode = ModeText(ctx.clients.EffectiveMode(req.target));
  if (ctx.clients.Paused(req.target)) info.target.state = "paused";
  reply.show = std::move(info);
  return std::nullopt;
}

Failure History(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  if (!ctx.backend) return Fail(ErrorCode::kUnavailable, "history is not available");
  auto r = ctx.backend->History(req.target, req.limit);
  if (!r.ok()) return Fail(CodeFor(r.status(), ErrorCode::kUnknownTarget), r.status().message());
  reply.history = std::move(*r);
  return std::nullopt;
}

Failure Explain(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  if (!ctx.backend) return Fail(ErrorCode::kUnavailable, "explain is not available");
  auto r = ctx.backend->Explain(req.recommendation);
  if (!r.ok())
    return Fail(CodeFor(r.status(), ErrorCode::kUnknownRecommendation), r.status().message());
  reply.recommendation = std::move(r->recommendation);
  reply.explanation = std::move(r->steps);
  return std::nullopt;
}

// Every policy target and every registered client's target or name, once each, sorted.
std::vector<std::string> AllTargets(const ClientRegistry& clients) {
  std::set<std::string> names;
  for (const auto& t : clients.policy().targets) names.insert(t.name);
  for (const auto& [name, c] : clients.clients()) names.insert(c.target.empty() ? name : c.target);
  return {names.begin(), names.end()};
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

Failure Pause(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  std::vector<std::string> targets = req.all ? AllTargets(ctx.clients) : std::vector{req.target};
  for (const auto& t : targets) ctx.clients.Pause(t);
  const std::string which =
      req.all ? std::to_string(targets.size()) + " target(s) (" + JoinNames(targets) + ")"
              : req.target;
  reply.message = "paused " + which + ": knobd keeps observing " + (req.all ? "them" : "it") +
                  " and sends no recommendation until resume";
  spdlog::info("control: operator uid {} paused {}", ctx.operator_uid, which);
  return std::nullopt;
}

Failure Restore(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  if (!ctx.backend) return Fail(ErrorCode::kUnavailable, "restore is not available");
  auto sent = ctx.backend->Restore(req.all ? "" : req.target);
  if (!sent.ok())
    return Fail(CodeFor(sent.status(), ErrorCode::kUnknownTarget), sent.status().message());
  // Paused after the sets went out, so knobd does not tune the restored values away again.
  std::vector<std::string> targets = req.all ? AllTargets(ctx.clients) : std::vector{req.target};
  for (const auto& t : targets) ctx.clients.Pause(t);
  std::string msg;
  for (const Recommendation& r : *sent) msg += r.reason + " (#" + std::to_string(r.id) + ")\n";
  if (sent->empty()) msg += "nothing to restore: knobd has changed no knob that is still its own\n";
  msg += "paused " + JoinNames(targets) + "; `knobctl resume TARGET` lets knobd tune it again";
  reply.message = std::move(msg);
  spdlog::info("control: operator uid {} restored {} ({} knob(s))", ctx.operator_uid,
               req.all ? std::string("every target") : "'" + req.target + "'", sent->size());
  return std::nullopt;
}

Failure Resume(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  reply.message =
      ctx.clients.Resume(req.target) ? "resumed " + req.target : req.target + " was not paused";
  spdlog::info("control: operator uid {} resumed '{}'", ctx.operator_uid, req.target);
  return std::nullopt;
}

Failure SetMode(AdminContext& ctx, const AdminRequest& req, AdminReply& reply) {
  auto m = ParseMode(req.mode);
  if (!m)
    return Fail(ErrorCode::kInvalidArgument,
                "mode must be observe, recommend or apply, got '" + req.mode + "'");
  Mode before = ctx.clients.EffectiveMode(req.target);
  ctx.clients.OverrideMode(req.target, *m);
  reply.message = "mode of " + req.target + ": " + ModeText(before) + " -> " + ModeText(*m) +
                  " (until restart; the policy file is unchanged)";
  spdlog::info("control: operator uid {} set mode of '{}' to {}", ctx.operator_uid, req.target,
               ModeText(*m));
  return std::nullopt;
}

Failure Reload(AdminContext& ctx, const AdminRequest&, AdminReply& reply) {
  if (!ctx.backend) return Fail(ErrorCode::kUnavailable, "reload is not available");
  auto r = ctx.backend->Reload();
  if (!r.ok()) return Fail(CodeFor(r.status(), ErrorCode::kInvalidArgument), r.status().message());
  reply.message = std::move(*r);
  return std::nullopt;
}

// In the command table's order (daemon/control/commands.cc).
constexpr AdminHandlerSpec kHandlers[] = {
    {AdminOp::kStatus, false, DaemonStatus},
    {AdminOp::kTargets, false, Targets},
    {AdminOp::kShow, true, Show},
    {AdminOp::kHistory, true, History},
    {AdminOp::kExplain, false, Explain},
    {AdminOp::kPause, true, Pause},
    {AdminOp::kResume, true, Resume},
    {AdminOp::kMode, true, SetMode},
    {AdminOp::kReload, false, Reload},
    {AdminOp::kRestore, true, Restore},
};

const AdminHandlerSpec* FindHandler(AdminOp op) {
  for (const auto& h : kHandlers)
    if (h.op == op) return &h;
  return nullptr;
}

}  // namespace

std::span<const AdminHandlerSpec> AdminHandlers() { return kHandlers; }

Status CheckAdminHandlers() {
  for (const CommandSpec& c : Commands()) {
    if (!c.op) continue;
    auto n = std::count_if(std::begin(kHandlers), std::end(kHandlers),
                           [&](const AdminHandlerSpec& h) { return h.op == *c.op; });
    if (n != 1)
      return FailedPreconditionError("command '" + std::string(c.name) + "' has " +
                                     std::to_string(n) + " admin handlers, not one");
  }
  for (const AdminHandlerSpec& h : kHandlers) {
    auto n = std::count_if(Commands().begin(), Commands().end(),
                           [&](const CommandSpec& c) { return c.op == h.op; });
    if (n != 1)
      return FailedPreconditionError("admin handler '" + std::string(protocol::AdminOpName(h.op)) +
                                     "' has " + std::to_string(n) + " commands, not one");
  }
  return OkStatus();
}

std::optional<AdminFailure> RunAdmin(AdminContext& ctx, const AdminRequest& req,
                                     AdminReply& reply) {
  const AdminHandlerSpec* h = FindHandler(req.op);
  if (h == nullptr)
    return Fail(ErrorCode::kInternal,
                "no handler for '" + std::string(protocol::AdminOpName(req.op)) + "'");
  if (h->needs_target && !req.all && !ctx.clients.KnownTarget(req.target))
    return Fail(ErrorCode::kUnknownTarget,
                "no target or client named '" + req.target + "' (see `knobctl targets`)");
  reply.op = req.op;
  reply.id = req.id;
  return h->run(ctx, req, reply);
}

}  // namespace knob
