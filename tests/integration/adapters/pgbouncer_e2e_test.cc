// SPDX-License-Identifier: Apache-2.0
// PgBouncer through knob-pgbouncer-adapter (issue 15): a real PostgreSQL (Debian postgresql)
// and a real PgBouncer (Debian pgbouncer, transaction pooling, default_pool_size 1) in the
// test's temporary directory on Unix sockets only, both run as the `postgres` user (neither
// runs as root; the package creates that user), and real pgbench through PgBouncer with 16
// clients. Each transaction reads a row and waits 5 ms in the server (pg_sleep: the I/O a real
// query waits for), so one server connection caps throughput near 200 tps and every client
// but one waits: the pool binds. Asserted: knobd (pool_size optimizer, apply mode) raises
// default_pool_size in verified steps, PgBouncer's own SHOW CONFIG confirms the value knobd
// applied, and pgbench measures clearly higher throughput after than before.
#include <grp.h>

#include "tests/integration/adapters/adapter_harness.h"

namespace knob::test {
namespace {

constexpr int kClients = 16;
constexpr int kTuneSeconds = 80;

class PgBouncerAdapterE2eTest : public AdapterTest {
 protected:
  std::string Policy() const override {
    return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 1s
    verification_window: 2s
    min_samples: 6
targets:
  - name: pgbouncer
    select: {registered: pgbouncer}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 500ms}
    knobs:
      default_pool_size: {min: 1, max: 64, max_step: 100%}
)";
  }

  // argv run as the postgres user (root here; as that user already, directly).
  std::vector<std::string> AsPostgres(std::vector<std::string> argv) const {
    if (geteuid() != 0) return argv;
    std::vector<std::string> out = {runuser_, "-u", "postgres", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  // pgbench through PgBouncer for `seconds_`; tps and mean latency from its summary.
  std::optional<std::pair<double, double>> Bench(const std::string& name, int duration_s) {
    auto [rc, out] =
        RunTool(AsPostgres({pgbench_, "-h", Path("bsock"), "-p", "6432", "-U", "postgres", "-n",
                            "-c", std::to_string(kClients), "-j", "2", "-T",
                            std::to_string(duration_s), "-f", Path("bench.sql"), "bench"}),
                Path(name + ".out"), seconds(duration_s + 60));
    std::smatch t, l;
    if (rc != 0 || !std::regex_search(out, t, std::regex(R"(tps = ([0-9.]+))")) ||
        !std::regex_search(out, l, std::regex(R"(latency average = ([0-9.]+) ms)"))) {
      ADD_FAILURE() << "pgbench " << name << " failed (" << rc << "):\n" << out;
      return std::nullopt;
    }
    return std::make_pair(std::stod(t[1]), std::stod(l[1]));
  }

  double PoolSize() {
    auto [rc, out] = RunTool(AsPostgres({psql_, "-h", Path("bsock"), "-p", "6432", "-U", "postgres",
                                         "-At", "-c", "SHOW CONFIG", "pgbouncer"}),
                             Path("psql.out"));
    std::smatch m;
    if (rc != 0 || !std::regex_search(out, m, std::regex(R"(default_pool_size\|(\d+))")))
      return std::nan("");
    return std::stod(m[1]);
  }

  std::string runuser_, pgbench_, psql_;
  std::unique_ptr<Child> postgres_, pgbouncer_, adapter_, load_;
};

TEST_F(PgBouncerAdapterE2eTest, RaisesTheServerPoolUnderPgbench) {
  std::string pgbin;
  for (const char* v : {"17", "16", "15", "14", "13"}) {
    std::string d = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (access((d + "/postgres").c_str(), X_OK) == 0) {
      pgbin = d;
      break;
    }
  }
  const std::string bouncer = FindTool({"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"});
  runuser_ = FindTool({"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"});
  pgbench_ = FindTool({"/usr/bin/pgbench"});
  psql_ = FindTool({"/usr/bin/psql"});
  ASSERT_FALSE(pgbin.empty() || bouncer.empty() || pgbench_.empty() || psql_.empty())
      << "postgresql (server, psql, pgbench) and pgbouncer are needed: apt-get install "
         "postgresql pgbouncer (scripts/install-deps.sh)";
  const passwd* pg = getpwnam("postgres");
  ASSERT_NE(pg, nullptr) << "no postgres user (the postgresql package creates it)";
  if (geteuid() == 0) {
    ASSERT_FALSE(runuser_.empty()) << "runuser (util-linux) is needed";
  }
  const std::string adapter = kAdapters + "/knob-pgbouncer-adapter";
  ASSERT_EQ(access(adapter.c_str(), X_OK), 0) << adapter << " not built";

  // The postgres user must reach its files; knobd's socket stays root's (the adapter is root).
  chmod(dir_.c_str(), 0755);
  for (const char* d : {"pg", "pgsock", "bsock"}) {
    std::filesystem::create_directories(Path(d));
    if (geteuid() == 0) {
      ASSERT_EQ(chown(Path(d).c_str(), pg->pw_uid, pg->pw_gid), 0);
    }
  }
  chmod(Path("pg").c_str(), 0700);
  auto [irc, iout] = RunTool(AsPostgres({pgbin + "/initdb", "-D", Path("pg"), "-U", "postgres",
                                         "--auth=trust", "--no-sync"}),
                             Path("initdb.out"), seconds(120));
  ASSERT_EQ(irc, 0) << iout;
  postgres_ = std::make_unique<Child>(
      AsPostgres({pgbin + "/postgres", "-D", Path("pg"), "-k", Path("pgsock"), "-c",
                  "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=100"}),
      Path("postgres.log"), Path("postgres.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return RunTool(AsPostgres({psql_, "-h", Path("pgsock"), "-U", "postgres", "-At", "-c",
                                   "SELECT 1", "postgres"}),
                       Path("pgping.out"))
                   .first == 0;
      },
      seconds(60), milliseconds(300)))
      << ReadFile(Path("postgres.log"));
  auto [brc, bout] = RunTool(AsPostgres({pgbench_, "-i", "-s", "1", "-q", "-h", Path("pgsock"),
                                         "-U", "postgres", "postgres"}),
                             Path("pgbench-init.out"), seconds(120));
  ASSERT_EQ(brc, 0) << bout;
  std::ofstream(Path("bench.sql")) << "\\set aid random(1, 100000)\n"
                                      "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
                                      "SELECT pg_sleep(0.005);\n";
  std::ofstream(Path("users.txt")) << "\"postgres\" \"\"\n";
  std::ofstream(Path("pgbouncer.ini"))
      << "[databases]\nbench = host=" << Path("pgsock") << " dbname=postgres user=postgres\n"
      << "[pgbouncer]\nlisten_addr =\nlisten_port = 6432\nunix_socket_dir = " << Path("bsock")
      << "\nauth_type = trust\nauth_file = " << Path("users.txt")
      << "\nadmin_users = postgres\npool_mode = transaction\ndefault_pool_size = 1\n"
         "max_client_conn = 200\nserver_lifetime = 3600\n";
  pgbouncer_ = std::make_unique<Child>(AsPostgres({bouncer, Path("pgbouncer.ini")}),
                                       Path("pgbouncer.log"), Path("pgbouncer.log"));
  ASSERT_TRUE(WaitFor([&] { return PoolSize() == 1; }, seconds(20)))
      << ReadFile(Path("pgbouncer.log"));

  auto before = Bench("pgbench-before", 5);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(StartKnobd(1), 0);
  adapter_ = std::make_unique<Child>(
      std::vector<std::string>{adapter, "--host", Path("bsock"), "--port", "6432", "--user",
                               "postgres", "--knobd-socket", Socket(), "--interval", "250ms",
                               "--max-pool", "64"},
      Path("adapter.out"), Path("adapter.err"));
  load_ = std::make_unique<Child>(
      AsPostgres({pgbench_, "-h", Path("bsock"), "-p", "6432", "-U", "postgres", "-n", "-c",
                  std::to_string(kClients), "-j", "2", "-T", std::to_string(kTuneSeconds + 20),
                  "-f", Path("bench.sql"), "bench"}),
      Path("pgbench-tuning.out"), Path("pgbench-tuning.err"));
  const double tune_seconds = WaitUntilSettled(
      [&] { return PoolSize(); }, [](double v) { return v >= 4; }, seconds(kTuneSeconds));
  load_->Stop(SIGINT, seconds(10));
  auto after = Bench("pgbench-after", 5);
  ASSERT_TRUE(after.has_value());
  const double final_size = PoolSize();
  auto steps = KnobSteps("pgbouncer", "default_pool_size");
  std::printf(
      "[ e2e ] pgbouncer default_pool_size path: %s\n[ e2e ] pgbouncer default_pool_size 1 -> "
      "%.0f in %.0f s; pgbench %d clients: %.0f tps (mean %.1f ms) -> %.0f tps (mean %.1f ms)\n",
      Describe(steps).c_str(), final_size, tune_seconds, kClients, before->first, before->second,
      after->first, after->second);

  EXPECT_GE(final_size, 2) << Describe(steps);
  ExpectRaisedAndConfirmed("pgbouncer", "default_pool_size", steps, 1, final_size,
                           ReadFile(Path("adapter.err")));
  EXPECT_GT(after->first, 1.5 * before->first)
      << "tps " << before->first << " -> " << after->first << " at pool " << final_size;
}

}  // namespace
}  // namespace knob::test
