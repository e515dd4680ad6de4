// SPDX-License-Identifier: Apache-2.0
// knobd's entry point: parse the command line, run --check-config/--help/--version, or build the
// Daemon, plug in the collectors, the brain and the control server, and run it.
// Thread rule: main thread only; it becomes the loop thread.

#include <jemalloc/jemalloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "collectors/all.h"
#include "config/policy_loader.h"
#include "daemon/cli.h"
#include "daemon/control/daemon_backend.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/metrics/target_metrics.h"
#include "knob/version.h"
#include "optimizers/brain.h"
#include "optimizers/brain_queries.h"

namespace {

int CheckConfig(const std::string& path) {
  knob::PolicyLoad load = knob::LoadPolicyFile(path);
  if (!load.ok()) {
    for (const auto& d : load.errors) std::cerr << d.ToString() << '\n';
    std::cerr << path << ": " << load.errors.size() << " error(s)\n";
    return knob::kExitConfig;
  }
  std::cout << path << ": ok\n";
  return knob::kExitOk;
}

std::string JemallocVersion() {
  const char* version = nullptr;
  size_t len = sizeof(version);
  if (mallctl("version", &version, &len, nullptr, 0) != 0 || version == nullptr) return "unknown";
  return version;
}

// jemalloc hands freed pages back to the kernel on its decay schedule (10 s), but without its
// background thread that schedule only advances while the freeing arena keeps allocating: after
// a burst (a slow reader's 4 MiB reply queue dropped) a quiet knobd kept ~10 MiB of freed pages
// resident for minutes (issue 12; allocated bytes were back, resident were not). The thread
// sleeps until there is decay work. Empty on success, else why it is off.
std::string StartJemallocBackgroundPurge() {
  bool on = true;
  int rc = mallctl("background_thread", nullptr, nullptr, &on, sizeof(on));
  return rc == 0 ? std::string() : std::strerror(rc);
}

}  // namespace

int main(int argc, char* argv[]) {
  auto cli = knob::ParseCommandLine(
      argc, argv, [](const char* name) { return std::getenv(name); },
      [](const std::string& p) {
        struct stat st {};
        return stat(p.c_str(), &st) == 0;
      },
      KNOB_BUNDLED_CONFIG);
  if (!cli.ok()) {
    std::cerr << "knobd: " << cli.status().message() << "\nTry 'knobd --help'.\n";
    return knob::kExitConfig;
  }
  switch (cli->action) {
    case knob::CliAction::kHelp:
      std::cout << knob::UsageText(KNOB_BUNDLED_CONFIG);
      return knob::kExitOk;
    case knob::CliAction::kVersion:
      std::cout << "knobd " << KNOB_VERSION << '\n';
      return knob::kExitOk;
    case knob::CliAction::kCheckConfig:
      return CheckConfig(cli->config_path);
    case knob::CliAction::kRun:
      break;
  }

  knob::SetupLogging(cli->overrides.log_level.value_or("info"));
  // Peers of the control socket may vanish mid-write; that is an error value, not a death.
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("knobd {} starting (allocator: jemalloc {})", KNOB_VERSION, JemallocVersion());
  if (std::string why = StartJemallocBackgroundPurge(); !why.empty())
    spdlog::warn(
        "jemalloc background purge unavailable ({}): memory freed after a burst may stay "
        "resident until knobd allocates again",
        why);

  knob::DaemonOptions options;
  options.config_path = cli->config_path;
  options.overrides = cli->overrides;
  auto created = knob::Daemon::Create(std::move(options));
  if (!created.ok()) {
    spdlog::error("{}", created.status().message());
    return knob::ExitCodeFor(created.status());
  }
  knob::Daemon& daemon = **created;

  // The Env must outlive the collectors (the Daemon owns them): declared before Run, destroyed
  // after the Daemon below.
  auto env = std::make_unique<knob::RealEnv>(daemon.policy());
  for (auto& collector : knob::MakeCollectors(env->env(), daemon.registry(), daemon.policy())) {
    daemon.AddCollector(std::move(collector));
  }
  auto brain_owned =
      std::make_unique<knob::Brain>(knob::SystemClock::Instance(), &daemon.registry());
  // The control socket's view of the brain; declared before the Daemon's components use it and
  // destroyed after the Daemon (which owns the brain) is reset below.
  auto brain_queries = std::make_unique<knob::BrainQueriesOver>(*brain_owned);
  // The tuned service's own series (daemon/metrics/target_metrics.h) refresh after each Observe.
  daemon.SetDecider(std::make_unique<knob::MeteredDecider>(
      std::move(brain_owned), brain_queries.get(), daemon.registry(),
      [&daemon] { return daemon.shared_policy(); }));
  knob::AttachControlServer(daemon, brain_queries.get(), brain_queries.get());

  int rc = daemon.Run();
  if (daemon.collection_in_flight()) {
    // The shutdown deadline passed with a /proc read still blocked; do not wait for it.
    std::fflush(stderr);
    _exit(rc);
  }
  created->reset();
  brain_queries.reset();
  env.reset();
  return rc;
}
