// knobd's entry point: parse the command line, run --check-config/--help/--version, or build the
// Daemon, plug in the collectors, the brain and the control server, and run it.
// Thread rule: main thread only; it becomes the loop thread.

#include <fmt/format.h>
#include <jemalloc/jemalloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "config/policy_loader.h"
#include "daemon/cli.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "knob/version.h"

// ---- Integration points (CMake defines these when the library exists) -------------------------
#if defined(KNOB_HAVE_COLLECTORS)
#include "collectors/all.h"
#endif
#if defined(KNOB_HAVE_BRAIN)
#include "optimizers/brain.h"
#endif
#if defined(KNOB_HAVE_CONTROL)
#include "daemon/control/daemon_backend.h"
#endif
// ------------------------------------------------------------------------------------------------

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

  knob::DaemonOptions options;
  options.config_path = cli->config_path;
  options.overrides = cli->overrides;
  auto created = knob::Daemon::Create(std::move(options));
  if (!created.ok()) {
    spdlog::error("{}", created.status().message());
    return knob::ExitCodeFor(created.status());
  }
  knob::Daemon& daemon = **created;

  // ==== Integration point: collectors (collectors/all.h, library knob_collectors) ================
#if defined(KNOB_HAVE_COLLECTORS)
  // The Env must outlive the collectors (the Daemon owns them): declared before Run, destroyed
  // after the Daemon below.
  auto env = std::make_unique<knob::RealEnv>(daemon.policy());
  for (auto& collector : knob::MakeCollectors(env->env(), daemon.registry(), daemon.policy())) {
    daemon.AddCollector(std::move(collector));
  }
#else
  spdlog::warn("built without collectors: ticks collect nothing");
#endif
  // ==== Integration point: the brain (optimizers/brain.h, a knob::Decider) =======================
#if defined(KNOB_HAVE_BRAIN)
  auto brain_owned =
      std::make_unique<knob::Brain>(knob::SystemClock::Instance(), &daemon.registry());
  knob::Brain* brain = brain_owned.get();  // owned by the daemon from here on
  daemon.SetDecider(std::move(brain_owned));
#else
  spdlog::warn("built without the optimizers: knobd observes but never recommends");
#endif
  // ==== Integration point: control server (daemon/control/: component, publisher and
  //      app-report source, wired by AttachControlServer)
  //      ==========================================
#if defined(KNOB_HAVE_CONTROL)
  knob::AttachedControl control = knob::AttachControlServer(daemon);
#if defined(KNOB_HAVE_BRAIN)
  control.server->api().SetOutcomeSink(
      [brain](uint64_t id, knob::Outcome outcome, const std::string& reason) {
        brain->OnOutcome(id, outcome, reason);
      });
  control.backend->SetHistory(
      [brain](const std::string& target,
              uint32_t limit) -> knob::Result<std::vector<knob::Recommendation>> {
        // The brain keeps history oldest first; operators read the newest first (docs/protocol.md).
        std::vector<knob::Recommendation> all = brain->History(target);
        std::reverse(all.begin(), all.end());
        if (limit > 0 && all.size() > limit) all.resize(limit);
        return all;
      });
  control.backend->SetModel([brain](const std::string& target, std::map<std::string, double>& model,
                                    std::vector<std::string>& notes) {
    std::optional<knob::ModelSummary> m = brain->Model(target);
    if (!m) return;
    model["observations"] = static_cast<double>(m->observations);
    model["workload_shifts"] = static_cast<double>(m->workload_shifts);
    model["latency_factor"] = m->latency_factor;
    if (m->usl) {
      model["usl.alpha"] = m->usl->alpha;
      model["usl.beta"] = m->usl->beta;
      model["usl.gamma"] = m->usl->gamma;
      model["usl.r_squared"] = m->usl->r_squared;
      model["usl.confidence"] = m->usl->confidence;
      model["usl.levels"] = m->usl->levels;
      if (m->usl->peak) model["usl.peak_concurrency"] = *m->usl->peak;
    } else if (!m->usl_status.empty()) {
      notes.push_back("usl: " + m->usl_status);
    }
    for (const auto& p : m->pools) {
      model["pool." + p.name + ".offered_erlangs"] = p.offered_erlangs;
      model["pool." + p.name + ".arrival_rate"] = p.arrival_rate;
      model["pool." + p.name + ".service_seconds"] = p.service_seconds;
    }
    for (const auto& c : m->caches) {
      model["cache." + c.name + ".hit_ratio"] = c.hit_ratio_now;
      if (c.bytes_for_90pct) model["cache." + c.name + ".bytes_for_90pct"] = *c.bytes_for_90pct;
    }
    for (const auto& p : m->penalties)
      notes.push_back("penalty on " + p.knob + (p.direction > 0 ? " >= " : " <= ") +
                      fmt::format("{}", p.value) +
                      fmt::format(" for {:.0f} s more: ", p.remaining_seconds) + p.reason);
    if (m->active_recommendation)
      notes.push_back("change #" + std::to_string(*m->active_recommendation) +
                      " is being verified");
  });
  control.backend->SetExplain(
      [brain](
          uint64_t id) -> knob::Result<std::pair<knob::Recommendation, std::vector<std::string>>> {
        std::optional<knob::Recommendation> rec = brain->Find(id);
        if (!rec) return knob::NotFoundError("no recommendation " + std::to_string(id));
        std::vector<std::string> steps;
        steps.push_back(rec->reason);
        for (const auto& v : rec->verdicts) {
          steps.push_back(v.guard + ": " + v.verdict + " (" + v.reason + ")");
        }
        return std::make_pair(*rec, steps);
      });
#endif
#else
  spdlog::warn("built without the control server: no control socket");
#endif
  // =================================================================================================

  int rc = daemon.Run();
  if (daemon.collection_in_flight()) {
    // The shutdown deadline passed with a /proc read still blocked; do not wait for it.
    std::fflush(stderr);
    _exit(rc);
  }
  created->reset();
#if defined(KNOB_HAVE_COLLECTORS)
  env.reset();
#endif
  return rc;
}
