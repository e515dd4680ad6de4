// SPDX-License-Identifier: Apache-2.0
// knob-pgbouncer-adapter: makes an unmodified PgBouncer tunable by knobd (docs/adapters.md).
//
//   knob default_pool_size (pool "default"): PgBouncer's `default_pool_size`, changed online on
//   the admin console (`SET default_pool_size = N`, which PgBouncer applies to every pool that
//   sets no pool_size of its own) and read back with SHOW CONFIG; the ack carries PgBouncer's
//   value, or its own error text.
//   report, read just before each is sent, from the admin console (libpq):
//     requests_total / latency  SHOW STATS total_xact_count; the interval's mean transaction
//                               time plus mean wait for a server (total_xact_time +
//                               total_wait_time) as the latency of each transaction: PgBouncer
//                               keeps sums, not a distribution, so p99 here is that mean
//     pools.default             size = default_pool_size, busy = sv_active, waiters =
//                               cl_waiting (SHOW POOLS, summed over the pools)
//     in_flight                 sv_active + cl_waiting;  gauges: maxwait_seconds, cl_active
//   PgBouncer counts no failed transactions, so errors_total stays 0.
// Thread rule: the console connection is shared by the poll (before each report) and the knob
// callback (the client's thread): every query goes through Console::Query under its mutex.
#include <knob/client.h>
#include <libpq-fe.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/adapter.h"

namespace knob::adapter {
namespace {

constexpr const char* kName = "knob-pgbouncer-adapter";

// Rows of a SHOW result as column name -> text.
using Rows = std::vector<std::map<std::string, std::string>>;

double Num(const std::map<std::string, std::string>& row, const std::string& col) {
  auto it = row.find(col);
  return it == row.end() ? 0 : std::strtod(it->second.c_str(), nullptr);
}

class Console {
 public:
  explicit Console(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  Status Connect() {
    std::lock_guard<std::mutex> lock(mu_);
    return ConnectLocked();
  }
  // One admin command; reconnects once when the link broke. PgBouncer's own error text is the
  // Status message.
  Result<Rows> Query(const std::string& sql) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) KNOB_RETURN_IF_ERROR(ConnectLocked());
      // The admin console speaks only the simple query protocol.
      std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_.get(), sql.c_str()), &PQclear);
      ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
      if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        Rows rows;
        for (int r = 0; r < PQntuples(res.get()); ++r) {
          auto& row = rows.emplace_back();
          for (int c = 0; c < PQnfields(res.get()); ++c)
            row[PQfname(res.get(), c)] = PQgetvalue(res.get(), r, c);
        }
        return rows;
      }
      std::string err = res ? PQresultErrorMessage(res.get()) : PQerrorMessage(conn_.get());
      while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
      if (PQstatus(conn_.get()) == CONNECTION_OK) return InvalidArgumentError(err);
      conn_.reset();
      if (attempt == 1) return UnavailableError("pgbouncer: " + err);
    }
    return UnavailableError("pgbouncer: unreachable");
  }

  Result<double> ConfigValue(const std::string& key) {
    KNOB_ASSIGN_OR_RETURN(Rows rows, Query("SHOW CONFIG"));
    for (const auto& row : rows) {
      auto k = row.find("key");
      if (k != row.end() && k->second == key) return Num(row, "value");
    }
    return NotFoundError("pgbouncer: SHOW CONFIG has no " + key);
  }

 private:
  Status ConnectLocked() {
    conn_.reset(PQconnectdb(conninfo_.c_str()));
    if (!conn_) return UnavailableError("pgbouncer: out of memory");
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      std::string err = PQerrorMessage(conn_.get());
      while (!err.empty() && err.back() == '\n') err.pop_back();
      conn_.reset();
      return UnavailableError("pgbouncer: " + err);
    }
    return OkStatus();
  }

  struct ConnFree {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::mutex mu_;
  std::string conninfo_;
  std::unique_ptr<PGconn, ConnFree> conn_;
};

class PgBouncerAdapter {
 public:
  PgBouncerAdapter(Console& console, Client& client) : console_(console), client_(client) {}

  Status Poll() {
    KNOB_ASSIGN_OR_RETURN(Rows stats, console_.Query("SHOW STATS"));
    KNOB_ASSIGN_OR_RETURN(Rows pools, console_.Query("SHOW POOLS"));
    KNOB_ASSIGN_OR_RETURN(double size, console_.ConfigValue("default_pool_size"));
    double xacts = 0, xact_us = 0, wait_us = 0;
    for (const auto& row : stats) {
      if (row.count("database") && row.at("database") == "pgbouncer") continue;
      xacts += Num(row, "total_xact_count");
      xact_us += Num(row, "total_xact_time");
      wait_us += Num(row, "total_wait_time");
    }
    double busy = 0, waiting = 0, cl_active = 0, maxwait = 0;
    for (const auto& row : pools) {
      if (row.count("database") && row.at("database") == "pgbouncer") continue;
      busy += Num(row, "sv_active");
      waiting += Num(row, "cl_waiting");
      cl_active += Num(row, "cl_active");
      maxwait = std::max(maxwait, Num(row, "maxwait") + Num(row, "maxwait_us") / 1e6);
    }
    if (have_prev_ && xacts >= xacts_ && xact_us >= xact_us_ && wait_us >= wait_us_) {
      double n = xacts - xacts_;
      if (n > 0) {
        double mean_us = (xact_us - xact_us_ + wait_us - wait_us_) / n;
        client_.RecordRequests(static_cast<uint64_t>(n),
                               std::chrono::nanoseconds(static_cast<int64_t>(1000 * mean_us)));
      }
    }
    have_prev_ = true;
    xacts_ = xacts;
    xact_us_ = xact_us;
    wait_us_ = wait_us;
    PoolGauges& pool = client_.pool("default");
    pool.size = size;
    pool.busy = busy;
    pool.waiters = waiting;
    client_.SetInFlight(busy + waiting);
    client_.SetQueueDepth(waiting);
    client_.SetGauge("maxwait_seconds", maxwait);
    client_.SetGauge("cl_active", cl_active);
    client_.UpdateKnobValue("default_pool_size", size);
    return OkStatus();
  }

  SetResult SetPoolSize(double value) {
    const long n = std::lround(value);
    auto set = console_.Query("SET default_pool_size = " + std::to_string(n));
    if (!set.ok()) return SetResult::Rejected(set.status().message());
    auto now = console_.ConfigValue("default_pool_size");
    if (!now.ok())
      return SetResult::Rejected("set, but cannot read back: " + now.status().message());
    if (*now != static_cast<double>(n))
      return SetResult::Rejected("PgBouncer reports default_pool_size " + std::to_string(*now) +
                                 " after set");
    client_.UpdateKnobValue("default_pool_size", *now);
    return SetResult::Applied(*now);
  }

 private:
  Console& console_;
  Client& client_;
  bool have_prev_ = false;
  double xacts_ = 0, xact_us_ = 0, wait_us_ = 0;
};

constexpr const char* kUsage =
    "usage: knob-pgbouncer-adapter [--host DIR_OR_HOST] [--port 6432] [--user pgbouncer]\n"
    "         [--password-file FILE] [--name NAME] [--knobd-socket PATH] [--interval 1s]\n"
    "         [--min-pool N] [--max-pool N]\n"
    "Registers PgBouncer with knobd as NAME (default pgbouncer) with one knob,\n"
    "default_pool_size (bounded by --min-pool/--max-pool, default 1..200), through the admin\n"
    "console (database pgbouncer; the user must be in admin_users). See docs/adapters.md.\n";

// libpq conninfo value quoting: single quotes, backslash-escaped.
std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

int Main(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv,
                            {{"host", "/var/run/postgresql"},
                             {"port", "6432"},
                             {"user", "pgbouncer"},
                             {"password-file", ""},
                             {"name", "pgbouncer"},
                             {"knobd-socket", ""},
                             {"interval", "1s"},
                             {"min-pool", "1"},
                             {"max-pool", "200"}});
  if (!flags.ok()) return UsageError(kName, flags.status(), kUsage);
  auto interval = flags->Duration("interval");
  auto lo = flags->Number("min-pool"), hi = flags->Number("max-pool");
  auto password = ReadSecretFile(flags->Get("password-file"));
  for (const Status& s : {interval.status(), lo.status(), hi.status(), password.status()})
    if (!s.ok()) return UsageError(kName, s, kUsage);
  std::string conninfo = "dbname=pgbouncer connect_timeout=5 application_name=knob-adapter host=" +
                         Quote(flags->Get("host")) + " port=" + Quote(flags->Get("port")) +
                         " user=" + Quote(flags->Get("user"));
  if (!password->empty()) conninfo += " password=" + Quote(*password);
  InstallStopHandlers();
  Console console(conninfo);
  if (!WaitUntilUp(kName, [&] { return console.Connect(); })) return 0;
  auto size = console.ConfigValue("default_pool_size");
  if (!size.ok()) {
    Log(kName, size.status().message());
    return 1;
  }
  Client client(BaseClientOptions(*flags, *interval));
  PgBouncerAdapter adapter(console, client);
  client.RegisterKnob({.name = "default_pool_size",
                       .value = *size,
                       .min = *lo,
                       .max = *hi,
                       .unit = "server connections per pool"},
                      [&](double v) { return adapter.SetPoolSize(v); });
  return Serve(
      client, kName, [&] { return adapter.Poll(); },
      "relaying PgBouncer (default_pool_size " + std::to_string(std::lround(*size)) +
          ") to knobd as '" + flags->Get("name") + "'");
}

}  // namespace
}  // namespace knob::adapter

int main(int argc, char** argv) { return knob::adapter::Main(argc, argv); }
