// SPDX-License-Identifier: Apache-2.0
// knob-haproxy-adapter: makes an unmodified HAProxy tunable by knobd (docs/adapters.md).
//
//   knob concurrency_limit: the `maxconn` of one server (--server BACKEND/SERVER), set through
//   the runtime API (`set maxconn server BACKEND/SERVER N`) and read back from `show stat`
//   (slim, the server's session limit); the ack carries HAProxy's value, or its own error text.
//   report, read just before each is sent, from `show stat` (CSV) of that backend:
//     requests_total   the backend's req_tot (HTTP requests; stot in TCP mode)
//     latency          each new request at the backend's rtime, HAProxy's mean server
//                      response time over its last 1024 requests (HAProxy keeps no
//                      distribution, so p99 here is that mean; queue time is not in it)
//     errors_total     hrsp_5xx + econ + eresp (5xx answers, connect and response errors)
//     in_flight        scur (sessions on the servers);  queue_depth: qcur
//     gauges           qtime_seconds, ttime_seconds, rate (sessions/s), show info's
//                      CurrConns and Maxconn
// The runtime API is a line protocol on a Unix socket: one command per connection, the reply
// ends when HAProxy closes it.
// Thread rule: each call opens its own connection; the poll and the knob callback share
// nothing but the client.
#include <knob/client.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/adapter.h"

namespace knob::adapter {
namespace {

constexpr const char* kName = "knob-haproxy-adapter";

Result<std::string> RuntimeCommand(const std::string& socket_path, const std::string& command) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "haproxy: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    close(fd);
    return InvalidArgumentError("haproxy: socket path too long: " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = ErrnoToStatus(errno, "haproxy: connect " + socket_path);
    close(fd);
    return s;
  }
  std::string line = command + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    Status s = ErrnoToStatus(errno, "haproxy: send");
    close(fd);
    return s;
  }
  std::string out;
  char buf[16384];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) {
      close(fd);
      return UnavailableError("haproxy: no reply to '" + command + "' within 5 s");
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// `show stat` CSV: "# pxname,svname,qcur,..." then one row per proxy/server.
std::vector<std::map<std::string, std::string>> ParseStat(const std::string& csv) {
  std::vector<std::map<std::string, std::string>> rows;
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& l) {
    std::vector<std::string> f;
    std::string cur;
    for (char c : l) {
      if (c == ',') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    f.push_back(cur);
    return f;
  };
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      header = split(line.substr(2));
      continue;
    }
    if (line.empty() || header.empty()) continue;
    auto f = split(line);
    auto& row = rows.emplace_back();
    for (size_t i = 0; i < f.size() && i < header.size(); ++i) row[header[i]] = f[i];
  }
  return rows;
}

double Num(const std::map<std::string, std::string>& row, const std::string& col) {
  auto it = row.find(col);
  return it == row.end() ? 0 : std::strtod(it->second.c_str(), nullptr);
}

class HaproxyAdapter {
 public:
  HaproxyAdapter(std::string socket_path, std::string backend, std::string server, Client& client)
      : socket_(std::move(socket_path)),
        backend_(std::move(backend)),
        server_(std::move(server)),
        client_(client) {}

  // The backend's and the server's rows.
  Status Read(std::map<std::string, std::string>& be, std::map<std::string, std::string>& srv) {
    KNOB_ASSIGN_OR_RETURN(std::string csv, RuntimeCommand(socket_, "show stat"));
    bool have_be = false, have_srv = false;
    for (auto& row : ParseStat(csv)) {
      if (row["pxname"] != backend_) continue;
      if (row["svname"] == "BACKEND") {
        be = row;
        have_be = true;
      } else if (row["svname"] == server_) {
        srv = row;
        have_srv = true;
      }
    }
    if (!have_be || !have_srv)
      return NotFoundError("haproxy: show stat has no server " + backend_ + "/" + server_);
    return OkStatus();
  }

  Result<double> ServerMaxconn() {
    std::map<std::string, std::string> be, srv;
    KNOB_RETURN_IF_ERROR(Read(be, srv));
    return Num(srv, "slim");
  }

  Status Poll() {
    std::map<std::string, std::string> be, srv;
    KNOB_RETURN_IF_ERROR(Read(be, srv));
    const double requests =
        be.count("req_tot") && !be["req_tot"].empty() ? Num(be, "req_tot") : Num(be, "stot");
    const double errors = Num(be, "hrsp_5xx") + Num(be, "econ") + Num(be, "eresp");
    if (have_prev_ && requests >= requests_ && errors >= errors_) {
      client_.RecordRequests(static_cast<uint64_t>(requests - requests_),
                             std::chrono::milliseconds(static_cast<int64_t>(Num(be, "rtime"))));
      client_.RecordErrors(static_cast<uint64_t>(errors - errors_));
    }
    have_prev_ = true;
    requests_ = requests;
    errors_ = errors;
    client_.SetInFlight(Num(be, "scur"));
    client_.SetQueueDepth(Num(be, "qcur"));
    client_.SetGauge("qtime_seconds", Num(be, "qtime") / 1000);
    client_.SetGauge("ttime_seconds", Num(be, "ttime") / 1000);
    client_.SetGauge("session_rate", Num(be, "rate"));
    client_.UpdateKnobValue("concurrency_limit", Num(srv, "slim"));
    if (auto info = RuntimeCommand(socket_, "show info"); info.ok()) {
      std::istringstream in(*info);
      std::string line;
      while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        if (key == "CurrConns" || key == "Maxconn")
          client_.SetGauge(key, std::strtod(line.c_str() + colon + 1, nullptr));
      }
    }
    return OkStatus();
  }

  SetResult SetMaxconn(double value) {
    const long n = std::lround(value);
    auto reply = RuntimeCommand(
        socket_, "set maxconn server " + backend_ + "/" + server_ + " " + std::to_string(n));
    if (!reply.ok()) return SetResult::Rejected(reply.status().message());
    std::string text = *reply;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // HAProxy answers an accepted `set maxconn` with an empty line; anything else is its error.
    if (!text.empty()) return SetResult::Rejected(text);
    auto now = ServerMaxconn();
    if (!now.ok())
      return SetResult::Rejected("set, but cannot read back: " + now.status().message());
    if (*now != static_cast<double>(n))
      return SetResult::Rejected("HAProxy reports maxconn " + std::to_string(*now) + " after set");
    client_.UpdateKnobValue("concurrency_limit", *now);
    return SetResult::Applied(*now);
  }

 private:
  std::string socket_, backend_, server_;
  Client& client_;
  bool have_prev_ = false;
  double requests_ = 0, errors_ = 0;
};

constexpr const char* kUsage =
    "usage: knob-haproxy-adapter --server BACKEND/SERVER [--stats-socket PATH] [--name NAME]\n"
    "         [--knobd-socket PATH] [--interval 1s] [--min-maxconn N] [--max-maxconn N]\n"
    "Registers HAProxy with knobd as NAME (default haproxy) with one knob, concurrency_limit =\n"
    "the server's maxconn (bounded by --min-maxconn/--max-maxconn, default 1..10000), through the\n"
    "runtime API socket (stats socket ... level operator). See docs/adapters.md.\n";

int Main(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv,
                            {{"stats-socket", "/run/haproxy/admin.sock"},
                             {"server", ""},
                             {"name", "haproxy"},
                             {"knobd-socket", ""},
                             {"interval", "1s"},
                             {"min-maxconn", "1"},
                             {"max-maxconn", "10000"}});
  if (!flags.ok()) return UsageError(kName, flags.status(), kUsage);
  auto interval = flags->Duration("interval");
  auto lo = flags->Number("min-maxconn"), hi = flags->Number("max-maxconn");
  Status server_ok = OkStatus();
  const std::string server = flags->Get("server");
  const auto slash = server.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == server.size())
    server_ok = InvalidArgumentError("--server: expected BACKEND/SERVER, got '" + server + "'");
  for (const Status& s : {interval.status(), lo.status(), hi.status(), server_ok})
    if (!s.ok()) return UsageError(kName, s, kUsage);
  InstallStopHandlers();
  Client client(BaseClientOptions(*flags, *interval));
  HaproxyAdapter adapter(flags->Get("stats-socket"), server.substr(0, slash),
                         server.substr(slash + 1), client);
  Result<double> maxconn = 0.0;
  if (!WaitUntilUp(kName, [&] {
        maxconn = adapter.ServerMaxconn();
        return maxconn.status();
      }))
    return 0;
  client.RegisterKnob({.name = "concurrency_limit",
                       .value = *maxconn,
                       .min = *lo,
                       .max = *hi,
                       .unit = "connections"},
                      [&](double v) { return adapter.SetMaxconn(v); });
  return Serve(
      client, kName, [&] { return adapter.Poll(); },
      "relaying HAProxy server " + server + " (maxconn " + std::to_string(std::lround(*maxconn)) +
          ") to knobd as '" + flags->Get("name") + "'");
}

}  // namespace
}  // namespace knob::adapter

int main(int argc, char** argv) { return knob::adapter::Main(argc, argv); }
