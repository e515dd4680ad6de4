// SPDX-License-Identifier: Apache-2.0
#include "daemon/control/server.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "core/protocol/codec.h"
#include "daemon/control/admin_ops.h"

namespace knob {
namespace {

// A reader that lets this much pile up in our write queue is not reading: drop it rather than
// buffer without bound.
constexpr size_t kMaxWriteQueueBytes = 4 * 1024 * 1024;

std::optional<gid_t> LookupGroup(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buf(16384);
  group g{};
  group* out = nullptr;
  if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &out) != 0 || out == nullptr)
    return std::nullopt;
  return out->gr_gid;
}

}  // namespace

bool IsAdminPeer(uid_t uid, gid_t gid, const std::string& admin_group) {
  if (uid == 0 || uid == geteuid()) return true;
  auto admin_gid = LookupGroup(admin_group);
  if (!admin_gid) return false;
  if (gid == *admin_gid) return true;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* out = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0 || out == nullptr) return false;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(out->pw_name, gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (getgrouplist(out->pw_name, gid, groups.data(), &n) < 0) return false;
  }
  for (int i = 0; i < n; ++i)
    if (groups[static_cast<size_t>(i)] == *admin_gid) return true;
  return false;
}

ControlServer::ControlServer(Loop& loop, const Clock& clock, prometheus::Registry* registry)
    : policy_(std::make_shared<Policy>()),
      api_(clock, *this, nullptr, registry),
      server_(loop),
      sweep_(loop) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::SetPolicy(std::shared_ptr<const Policy> policy) {
  if (!policy) return;
  policy_ = policy;
  settings_ = policy->global.control;
  api_.SetPolicy(std::move(policy));
}

Status ControlServer::Start() {
  // libuv writes with write(2): a client that vanished mid-reply would raise SIGPIPE and kill
  // knobd. EPIPE as an error value is what we want.
  signal(SIGPIPE, SIG_IGN);
  KNOB_RETURN_IF_ERROR(CheckAdminHandlers());
  std::optional<gid_t> group;
  if (!settings_.group.empty()) {
    group = LookupGroup(settings_.group);
    // Keeping knobd's own group is strictly narrower access, so a missing group (a dev
    // machine without the packaged sysusers entry) degrades instead of refusing to start.
    if (!group)
      spdlog::warn(
          "control: group '{}' does not exist; the socket keeps knobd's own group, so "
          "only root and that group can connect (create the group or leave "
          "control.group empty)",
          settings_.group);
  }
  KNOB_RETURN_IF_ERROR(
      server_.Listen(settings_.socket_path, static_cast<int>(settings_.socket_mode), group,
                     [this](std::unique_ptr<Stream> s) { OnConnection(std::move(s)); }));
  sweep_.Start(std::chrono::seconds(1), std::chrono::seconds(1), [this] { api_.Sweep(); });
  stopped_ = false;
  spdlog::info("control: listening on {} (max {} clients, {} B messages)", settings_.socket_path,
               settings_.max_clients, settings_.max_message_bytes);
  return OkStatus();
}

void ControlServer::OnPolicyChanged(const Policy& /*before*/, const Policy& after) {
  // The socket path and group are fixed at start; limits and targets follow the new policy.
  auto keep_path = settings_.socket_path;
  auto keep_group = settings_.group;
  auto keep_mode = settings_.socket_mode;
  SetPolicy(std::make_shared<const Policy>(after));
  settings_.socket_path = keep_path;
  settings_.group = keep_group;
  settings_.socket_mode = keep_mode;
}

void ControlServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  sweep_.Stop();
  server_.Close();
  std::vector<SessionId> ids;
  for (const auto& [id, c] : conns_) ids.push_back(id);
  // Close gracefully so the bye is flushed; the loop finishes the closes (the Loop drains
  // them even after this server is destroyed).
  for (SessionId id : ids) {
    Send(id, protocol::Encode(protocol::Bye{"knobd is shutting down"}));
    Close(id);
  }
}

void ControlServer::OnConnection(std::unique_ptr<Stream> stream) {
  SessionId id = next_id_++;
  auto conn = std::make_unique<Conn>(
      Conn{std::move(stream), protocol::LineFramer(settings_.max_message_bytes)});
  auto peer = conn->stream->Peer();
  PeerIdentity ident;
  if (peer.ok()) {
    ident.pid = peer->pid;
    ident.uid = peer->uid;
    ident.gid = peer->gid;
    ident.admin = IsAdminPeer(peer->uid, peer->gid, settings_.admin_group);
  }
  Conn* raw = conn.get();
  conns_[id] = std::move(conn);
  api_.OnConnect(id, ident);
  if (!peer.ok()) {
    api_.OnTransportError(id, protocol::ErrorCode::kInternal,
                          "cannot read peer credentials: " + peer.status().message());
    Close(id);
    return;
  }
  if (conns_.size() > settings_.max_clients) {
    api_.OnTransportError(id, protocol::ErrorCode::kTooManyClients,
                          "knobd serves at most " + std::to_string(settings_.max_clients) +
                              " clients; try again later");
    Close(id);
    return;
  }
  Status s = raw->stream->StartReading([this, id](std::string_view b) { OnData(id, b); },
                                       [this, id] { Close(id); });
  if (!s.ok()) Close(id);
}

void ControlServer::OnData(SessionId id, std::string_view bytes) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->closing) return;
  std::vector<std::string> lines;
  bool ok = it->second->framer.Feed(bytes, lines);
  for (const auto& line : lines) {
    api_.OnLine(id, line);
    // A handler may have closed this connection (bad hello, bye).
    auto again = conns_.find(id);
    if (again == conns_.end() || again->second->closing) return;
  }
  if (!ok) {
    api_.OnTransportError(id, protocol::ErrorCode::kTooLarge,
                          "message exceeds " + std::to_string(settings_.max_message_bytes) +
                              " bytes (global.control.max_message_size); closing the connection");
    Close(id);
  }
}

void ControlServer::Send(SessionId session, std::string encoded) {
  auto it = conns_.find(session);
  if (it == conns_.end() || it->second->closing) return;
  Stream& st = *it->second->stream;
  if (st.write_queue_bytes() > kMaxWriteQueueBytes) {
    spdlog::warn("control: session {} does not read its replies; closing", session);
    Close(session);
    return;
  }
  encoded.push_back('\n');
  if (!st.Write(std::move(encoded)).ok()) Close(session);
}

void ControlServer::Close(SessionId session) {
  auto it = conns_.find(session);
  if (it == conns_.end() || it->second->closing) return;
  it->second->closing = true;
  api_.OnDisconnect(session);
  it->second->stream->Close([this, session] { conns_.erase(session); });
}

}  // namespace knob
