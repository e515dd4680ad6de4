// SPDX-License-Identifier: Apache-2.0
// Every key of the policy file parsed into the right field, and the documented defaults.

#include <gtest/gtest.h>

#include <chrono>

#include "config/builtin_profiles.h"
#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using test::MustLoad;

TEST(LoadPolicy, EmptyFileIsTheDefaultPolicy) {
  for (const char* yaml : {"", "# only a comment\n", "---\n", "global:\nprofiles:\ntargets:\n"}) {
    PolicyLoad load = LoadPolicyString(yaml, "empty.yaml");
    ASSERT_TRUE(load.ok()) << test::AllErrors(load);
    const Policy& p = *load.policy;
    EXPECT_EQ(p.source, "empty.yaml");
    EXPECT_EQ(p.global, GlobalSettings{});
    EXPECT_TRUE(p.targets.empty());
    EXPECT_EQ(p.profiles.size(), BuiltinProfiles().size());
  }
}

TEST(LoadPolicy, DefaultsMatchTheDocumentation) {
  GlobalSettings g = MustLoad("").global;
  EXPECT_EQ(g.tick_interval, seconds(1));
  EXPECT_EQ(g.metrics_listen, "127.0.0.1:10464");
  EXPECT_EQ(g.log_level, "info");
  EXPECT_EQ(g.mode, Mode::kRecommend);
  EXPECT_EQ(g.state_dir, "/var/lib/knobd");
  EXPECT_EQ(g.checkpoint_interval, seconds(60));
  EXPECT_EQ(g.control.socket_path, "/run/knobd/control.sock");
  EXPECT_EQ(g.control.max_message_bytes, 64u * 1024);
  EXPECT_EQ(g.control.max_clients, 1024u);
  EXPECT_EQ(g.control.idle_timeout, minutes(2));
  EXPECT_EQ(g.collection.proc_root, "/proc");
  EXPECT_EQ(g.collection.fd_rescan_interval, seconds(30));
  EXPECT_FALSE(g.collection.per_thread_metrics);
  EXPECT_EQ(g.guard.cooldown, seconds(30));
  EXPECT_EQ(g.guard.min_samples, 10u);
  EXPECT_DOUBLE_EQ(g.guard.default_max_step_fraction, 0.10);
}

TEST(LoadPolicy, EveryGlobalKey) {
  Policy p = MustLoad(R"(
global:
  tick_interval: 500ms
  metrics_listen: "[::1]:9100"
  log_level: debug
  mode: apply
  state_dir: /tmp/knobd-state
  checkpoint_interval: 5s
  control:
    socket: /tmp/knobd.sock
    group: knobd
    admin_group: wheel
    max_message_size: 128KiB
    max_clients: 10
    max_messages_per_second: 2.5
    idle_timeout: 30s
  collection:
    proc_root: /fixture/proc
    sys_root: /fixture/sys
    thread_interval: 2s
    socket_dump_interval: 3s
    fd_rescan_interval: 1m
    smaps_interval: 15s
    idle_process_interval: 0s
    thread_reads_per_tick: 250
    use_taskstats: false
    discovery_interval: 250ms
    per_thread_metrics: true
  guard:
    cooldown: 0s
    verification_window: 1m
    min_samples: 25
    default_max_step: 20%
    regression_p99: 5%
    min_signal_to_noise: 2.5
    hysteresis: 1%
)");
  const GlobalSettings& g = p.global;
  EXPECT_EQ(g.tick_interval, milliseconds(500));
  EXPECT_EQ(g.metrics_listen, "[::1]:9100");
  EXPECT_EQ(g.log_level, "debug");
  EXPECT_EQ(g.mode, Mode::kApply);
  EXPECT_EQ(g.state_dir, "/tmp/knobd-state");
  EXPECT_EQ(g.checkpoint_interval, seconds(5));
  EXPECT_EQ(g.control.socket_path, "/tmp/knobd.sock");
  EXPECT_EQ(g.control.group, "knobd");
  EXPECT_EQ(g.control.admin_group, "wheel");
  EXPECT_EQ(g.control.max_message_bytes, 128u * 1024);
  EXPECT_EQ(g.control.max_clients, 10u);
  EXPECT_DOUBLE_EQ(g.control.max_messages_per_second, 2.5);
  EXPECT_EQ(g.control.idle_timeout, seconds(30));
  EXPECT_EQ(g.collection.proc_root, "/fixture/proc");
  EXPECT_EQ(g.collection.sys_root, "/fixture/sys");
  EXPECT_EQ(g.collection.thread_interval, seconds(2));
  EXPECT_EQ(g.collection.socket_dump_interval, seconds(3));
  EXPECT_EQ(g.collection.fd_rescan_interval, minutes(1));
  EXPECT_EQ(g.collection.smaps_interval, seconds(15));
  EXPECT_EQ(g.collection.idle_process_interval, seconds(0));
  EXPECT_EQ(g.collection.thread_reads_per_tick, 250u);
  EXPECT_FALSE(g.collection.use_taskstats);
  EXPECT_EQ(g.collection.discovery_interval, milliseconds(250));
  EXPECT_TRUE(g.collection.per_thread_metrics);
  EXPECT_EQ(g.guard.cooldown, seconds(0));
  EXPECT_EQ(g.guard.verification_window, minutes(1));
  EXPECT_EQ(g.guard.min_samples, 25u);
  EXPECT_DOUBLE_EQ(g.guard.default_max_step_fraction, 0.20);
  EXPECT_DOUBLE_EQ(g.guard.regression_p99_fraction, 0.05);
  EXPECT_DOUBLE_EQ(g.guard.min_signal_to_noise, 2.5);
  EXPECT_DOUBLE_EQ(g.guard.hysteresis_fraction, 0.01);
}

TEST(LoadPolicy, EveryTargetKey) {
  Policy p = MustLoad(R"(
targets:
  - name: web
    select:
      pid: 123
      comm: nginx
      exe: /usr/sbin/nginx
      cmdline: '^nginx: worker \d+'
      cgroup: /system.slice/nginx.service
      unit: nginx.service
      registered: web
    objective: {minimize: cpu_per_request}
    constraints:
      p99_latency: 50ms
      error_rate: 0.1%
      cpu_cores: 4
      memory: 2GiB
      cpu_pressure: 10%
      memory_pressure: 5%
      io_pressure: 20%
      runqueue_delay: 5ms
    knobs:
      worker_threads: {min: 1, max: 64, max_step: 25%}
      connection_pool: {min: 2, max: 32, max_step: 4}
      cache_bytes: {min: 64MiB, max: 1GiB, max_step: [10%, 16MiB]}
      queue_depth: {enabled: false}
    mode: observe
    perf_counters: true
  - name: whole-host
    select: {host: true}
)");
  ASSERT_EQ(p.targets.size(), 2u);
  const TargetPolicy& t = p.targets[0];
  EXPECT_EQ(t.name, "web");
  EXPECT_EQ(t.selector.pid, 123);
  EXPECT_EQ(t.selector.comm, "nginx");
  EXPECT_EQ(t.selector.exe, "/usr/sbin/nginx");
  EXPECT_EQ(t.selector.cmdline_regex, "^nginx: worker \\d+");
  EXPECT_EQ(t.selector.cgroup, "/system.slice/nginx.service");
  EXPECT_EQ(t.selector.systemd_unit, "nginx.service");
  EXPECT_EQ(t.selector.registered, "web");
  EXPECT_FALSE(t.selector.host);
  EXPECT_EQ(t.profile, "");
  EXPECT_EQ(t.objective, Objective::kMinimizeCpuPerRequest);
  EXPECT_EQ(t.constraints.p99_latency, milliseconds(50));
  EXPECT_DOUBLE_EQ(*t.constraints.error_rate, 0.001);
  EXPECT_DOUBLE_EQ(*t.constraints.cpu_cores, 4);
  EXPECT_EQ(t.constraints.memory_bytes, uint64_t{2} << 30);
  EXPECT_DOUBLE_EQ(*t.constraints.cpu_pressure, 0.10);
  EXPECT_DOUBLE_EQ(*t.constraints.memory_pressure, 0.05);
  EXPECT_DOUBLE_EQ(*t.constraints.io_pressure, 0.20);
  EXPECT_EQ(t.constraints.runqueue_delay, milliseconds(5));
  ASSERT_EQ(t.knobs.size(), 4u);
  const KnobPolicy& w = t.knobs.at("worker_threads");
  EXPECT_EQ(w.min, 1);
  EXPECT_EQ(w.max, 64);
  EXPECT_DOUBLE_EQ(*w.max_step_fraction, 0.25);
  EXPECT_FALSE(w.max_step_abs.has_value());
  EXPECT_TRUE(w.enabled);
  const KnobPolicy& c = t.knobs.at("connection_pool");
  EXPECT_EQ(c.max_step_abs, 4);
  EXPECT_FALSE(c.max_step_fraction.has_value());
  const KnobPolicy& cache = t.knobs.at("cache_bytes");
  EXPECT_EQ(cache.min, 64.0 * (1 << 20));
  EXPECT_EQ(cache.max, 1024.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(*cache.max_step_fraction, 0.10);
  EXPECT_EQ(cache.max_step_abs, 16.0 * (1 << 20));
  EXPECT_FALSE(t.knobs.at("queue_depth").enabled);
  EXPECT_EQ(t.mode, Mode::kObserve);
  EXPECT_TRUE(t.perf_counters);

  const TargetPolicy& h = p.targets[1];
  EXPECT_TRUE(h.selector.host);
  EXPECT_EQ(h.mode, Mode::kRecommend) << "inherits the global mode";
  EXPECT_FALSE(h.perf_counters);
  EXPECT_EQ(h.objective, Objective::kMaximizeThroughput) << "no profile, no objective";
  EXPECT_TRUE(h.knobs.empty());
}

TEST(LoadPolicy, ObjectivesAndModes) {
  Policy p = MustLoad(R"(
global: {mode: observe}
targets:
  - {name: a, select: {pid: 1}, objective: {maximize: throughput}}
  - {name: b, select: {pid: 2}, objective: {minimize: p99_latency}, mode: recommend}
  - {name: c, select: {pid: 3}, objective: {minimize: cpu_per_request}, mode: apply}
)");
  ASSERT_EQ(p.targets.size(), 3u);
  EXPECT_EQ(p.targets[0].objective, Objective::kMaximizeThroughput);
  EXPECT_EQ(p.targets[1].objective, Objective::kMinimizeP99Latency);
  EXPECT_EQ(p.targets[2].objective, Objective::kMinimizeCpuPerRequest);
  EXPECT_EQ(p.targets[0].mode, Mode::kObserve);
  EXPECT_EQ(p.targets[1].mode, Mode::kRecommend);
  EXPECT_EQ(p.targets[2].mode, Mode::kApply);
}

TEST(LoadPolicy, BooleansAcceptOnlyTrueAndFalse) {
  Policy p = MustLoad("global: {collection: {per_thread_metrics: True}}\n");
  EXPECT_TRUE(p.global.collection.per_thread_metrics);
  EXPECT_FALSE(LoadPolicyString("global: {collection: {per_thread_metrics: yes}}\n").ok());
  EXPECT_FALSE(LoadPolicyString("global: {collection: {per_thread_metrics: 1}}\n").ok());
}

TEST(LoadPolicy, SizesAsPlainBytes) {
  Policy p = MustLoad("global: {control: {max_message_size: 4096}}\n");
  EXPECT_EQ(p.global.control.max_message_bytes, 4096u);
}

TEST(PolicyLookup, FindTargetAndRegisteredPreferExactNames) {
  Policy p = MustLoad(R"(
targets:
  - {name: any, select: {registered: "*"}}
  - {name: web, select: {registered: web-1}}
  - {name: host, select: {host: true}}
)");
  ASSERT_NE(p.FindTarget("web"), nullptr);
  EXPECT_EQ(p.FindTarget("web")->selector.registered, "web-1");
  EXPECT_EQ(p.FindTarget("nope"), nullptr);
  ASSERT_NE(p.FindRegistered("web-1"), nullptr);
  EXPECT_EQ(p.FindRegistered("web-1")->name, "web") << "exact beats the earlier catch-all";
  ASSERT_NE(p.FindRegistered("other"), nullptr);
  EXPECT_EQ(p.FindRegistered("other")->name, "any");
  Policy no_wildcard = MustLoad("targets: [{name: web, select: {registered: web-1}}]\n");
  EXPECT_EQ(no_wildcard.FindRegistered("other"), nullptr);
}

TEST(PolicyNames, ModeAndObjective) {
  EXPECT_EQ(ModeName(Mode::kObserve), "observe");
  EXPECT_EQ(ModeName(Mode::kRecommend), "recommend");
  EXPECT_EQ(ModeName(Mode::kApply), "apply");
  EXPECT_EQ(ObjectiveName(Objective::kMaximizeThroughput), "maximize: throughput");
  EXPECT_EQ(ObjectiveName(Objective::kMinimizeP99Latency), "minimize: p99_latency");
  EXPECT_EQ(ObjectiveName(Objective::kMinimizeCpuPerRequest), "minimize: cpu_per_request");
}

}  // namespace
}  // namespace knob
