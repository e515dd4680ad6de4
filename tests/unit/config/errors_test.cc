// SPDX-License-Identifier: Apache-2.0
// Every error path of the loader, each with its exact line and column, and the diagnostic
// format the daemon's --check-config prints.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/policy_loader.h"
#include "tests/unit/config/policy_test_util.h"

namespace knob {
namespace {

using test::AllErrors;
using test::FailsAt;

TEST(PolicyDiagnostic, ToStringFormat) {
  Diagnostic d{"/etc/knobd/knobd.yaml", 3, 5, "unknown key 'tick' in global",
               "did you mean 'tick_interval'?"};
  EXPECT_EQ(d.ToString(),
            "/etc/knobd/knobd.yaml:3:5: error: unknown key 'tick' in global "
            "(hint: did you mean 'tick_interval'?)");
  d.hint.clear();
  EXPECT_EQ(d.ToString(), "/etc/knobd/knobd.yaml:3:5: error: unknown key 'tick' in global");
  Diagnostic unpositioned{"/nope.yaml", 0, 0, "cannot read policy file: No such file or directory",
                          ""};
  EXPECT_EQ(unpositioned.ToString(),
            "/nope.yaml: error: cannot read policy file: No such file or directory");
}

TEST(PolicyDiagnostic, LoadedErrorCarriesFileName) {
  PolicyLoad load = LoadPolicyString("global:\n  tick: 1s\n", "/etc/knobd/knobd.yaml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].ToString(),
            "/etc/knobd/knobd.yaml:2:3: error: unknown key 'tick' in global "
            "(hint: did you mean 'tick_interval'?)");
}

TEST(LoadPolicyFile, UnreadableFile) {
  PolicyLoad load = LoadPolicyFile("/nonexistent/knobd.yaml");
  ASSERT_FALSE(load.ok());
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].line, 0);
  EXPECT_EQ(load.errors[0].file, "/nonexistent/knobd.yaml");
  EXPECT_NE(load.errors[0].message.find("cannot read"), std::string::npos);
  PolicyLoad dir = LoadPolicyFile("/");
  EXPECT_FALSE(dir.ok());
}

TEST(LoadPolicyFile, ReadsAFileAndNamesIt) {
  std::string path = ::testing::TempDir() + "/knobd_config_test.yaml";
  {
    std::ofstream out(path);
    out << "global:\n  mode: observe\n";
  }
  PolicyLoad load = LoadPolicyFile(path);
  ASSERT_TRUE(load.ok()) << AllErrors(load);
  EXPECT_EQ(load.policy->source, path);
  EXPECT_EQ(load.policy->global.mode, Mode::kObserve);
  {
    std::ofstream out(path);
    out << "global:\n  mode: aply\n";
  }
  load = LoadPolicyFile(path);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].ToString(),
            path + ":2:9: error: global.mode: unknown mode 'aply' (hint: did you mean 'apply'?)");
  std::remove(path.c_str());
}

TEST(PolicySyntaxErrors, YamlParserErrorsArePositioned) {
  EXPECT_TRUE(FailsAt("global:\n  control: {socket: /x\n  mode: apply\n", 3, 7, "YAML syntax"));
  EXPECT_TRUE(FailsAt("a: b\n c: d\n", 2, 3, "YAML syntax"));
  EXPECT_TRUE(FailsAt("targets: [1, 2\n", 2, 1, "YAML syntax"));
}

TEST(PolicySyntaxErrors, NulByteIsNotTheEndOfTheFile) {
  EXPECT_TRUE(FailsAt(std::string("global:\n  mode: ap\0ply\n", 22), 2, 11,
                      "the file contains a NUL byte"));
}

TEST(PolicySyntaxErrors, MoreThanOneDocument) {
  EXPECT_TRUE(FailsAt("global: {}\n---\nglobal: {}\n", 2, 1, "more than one YAML document"));
}

TEST(PolicyStructure, TopLevelMustBeAMapping) {
  EXPECT_TRUE(FailsAt("- a\n- b\n", 1, 1, "the policy must be a mapping"));
  EXPECT_TRUE(FailsAt("just text\n", 1, 1, "the policy must be a mapping"));
}

TEST(PolicyStructure, SectionOfTheWrongType) {
  EXPECT_TRUE(FailsAt("global: [1]\n", 1, 9, "global must be a mapping"));
  EXPECT_TRUE(FailsAt("targets: {name: x}\n", 1, 10, "targets must be a list"));
  EXPECT_TRUE(FailsAt("global:\n  control: 5\n", 2, 12, "global.control must be a mapping"));
  EXPECT_TRUE(FailsAt("global:\n  mode: [apply]\n", 2, 9, "global.mode must be a single value"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval:\n", 2, 3, "global.tick_interval has no value"));
}

TEST(PolicyUnknownKeys, DidYouMean) {
  EXPECT_TRUE(FailsAt("globl:\n  mode: apply\n", 1, 1, "unknown key 'globl' in the policy",
                      "did you mean 'global'?"));
  EXPECT_TRUE(FailsAt("global:\n  tick_intervall: 1s\n", 2, 3, "unknown key 'tick_intervall'",
                      "did you mean 'tick_interval'?"));
  EXPECT_TRUE(FailsAt("global:\n  control:\n    sokcet: /x\n", 3, 5,
                      "unknown key 'sokcet' in global.control", "did you mean 'socket'?"));
  EXPECT_TRUE(FailsAt("global:\n  collection: {proc_rot: /p}\n", 2, 16,
                      "unknown key 'proc_rot' in global.collection", "did you mean 'proc_root'?"));
  EXPECT_TRUE(FailsAt("global:\n  guard: {cooldwn: 1s}\n", 2, 11, "in global.guard",
                      "did you mean 'cooldown'?"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n    profle: edge\n", 4, 5,
                      "unknown key 'profle' in target 'w'", "did you mean 'profile'?"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pdi: 1}\n", 3, 14,
                      "unknown key 'pdi' in target 'w' select", "did you mean 'pid'?"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n    constraints: {p99: 1s}\n",
                      4, 19, "unknown key 'p99' in target 'w' constraints",
                      "did you mean 'p99_latency'?"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {mx: 4}}\n",
              4, 30, "unknown key 'mx' in target 'w' knobs worker_threads", "did you mean 'max'?"));
  EXPECT_TRUE(FailsAt("profiles:\n  p:\n    objectiv: {maximize: throughput}\n", 3, 5,
                      "unknown key 'objectiv' in profile 'p'", "did you mean 'objective'?"));
}

TEST(PolicyUnknownKeys, FarFromAnythingListsTheValidKeys) {
  EXPECT_TRUE(FailsAt("global:\n  control:\n    zzz: 1\n", 3, 5, "unknown key 'zzz'",
                      "valid keys here: socket, group, admin_group"));
}

TEST(PolicyUnknownKeys, MisplacedKeysSayWhereTheyBelong) {
  EXPECT_TRUE(FailsAt("tick_interval: 1s\n", 1, 1, "unknown key 'tick_interval' in the policy",
                      "'tick_interval' belongs under 'global:'"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n    comm: nginx\n", 4, 5,
                      "unknown key 'comm'", "'comm' belongs under 'select:'"));
  PolicyLoad merge = LoadPolicyString("global:\n  <<: {mode: apply}\n");
  ASSERT_EQ(merge.errors.size(), 1u) << AllErrors(merge);
  EXPECT_NE(merge.errors[0].hint.find("merge keys are not supported"), std::string::npos);
}

TEST(PolicyUnknownKeys, UnknownKnobCloseToAKnownOne) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs:\n      worker_thread: {max: 4}\n",
              5, 7, "unknown knob 'worker_thread'", "did you mean 'worker_threads'?"));
  // A name far from every known knob is a client-defined knob and is accepted.
  Policy p = test::MustLoad(
      "targets:\n  - name: w\n    select: {pid: 1}\n"
      "    knobs:\n      gc_pause_target: {max: 4}\n"
      "      worker_threads_io: {max: 2}\n"
      "      db_pool_size: {max: 2}\n"
      "      http_cache_bytes: {max: 1GiB}\n");
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].knobs.count("gc_pause_target"), 1u);
  EXPECT_EQ(p.targets[0].knobs.count("worker_threads_io"), 1u);
  EXPECT_EQ(p.targets[0].knobs.count("db_pool_size"), 1u);
  EXPECT_EQ(p.targets[0].knobs.count("http_cache_bytes"), 1u);
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs:\n      max_in_fligth: {max: 4}\n",
              5, 7, "unknown knob 'max_in_fligth'", "did you mean 'max_in_flight'?"));
}

TEST(PolicyDuplicateKeys, AreReportedWithTheFirstLine) {
  EXPECT_TRUE(FailsAt("global:\n  mode: apply\n  mode: observe\n", 3, 3,
                      "duplicate key 'mode' in global (first at line 2)"));
}

TEST(PolicyDurations, BadDurationsListTheAcceptedForms) {
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 10\n", 2, 18, "'10' is not a duration",
                      "a duration needs a unit, e.g. '10ms' or '10s'"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 1.5.0s\n", 2, 18, "'1.5.0s' is not a duration",
                      "250ms, 1s, 1.5s, 5m, 1h; units ns us ms s m h"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 1 s\n", 2, 18, "'1 s' is not a duration"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: -1s\n", 2, 18, "'-1s' is not a duration"));
  EXPECT_TRUE(FailsAt("global:\n  guard: {cooldown: 1sec}\n", 2, 21, "global.guard.cooldown"));
}

TEST(PolicyDurations, CommonMisspellingsGetAConcreteFix) {
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 1sec\n", 2, 18, "'1sec' is not a duration",
                      "did you mean '1s'?"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 5 min\n", 2, 18, "is not a duration",
                      "did you mean '5m'?"));
  EXPECT_TRUE(FailsAt("global:\n  guard: {cooldown: 2d}\n", 2, 21, "is not a duration",
                      "did you mean '48h'?"));
  EXPECT_TRUE(
      FailsAt("global:\n  tick_interval: 1S\n", 2, 18, "is not a duration", "did you mean '1s'?"));
}

TEST(PolicySizes, CommonMisspellingsGetAConcreteFix) {
  EXPECT_TRUE(FailsAt("global:\n  control: {max_message_size: 64kb}\n", 2, 31,
                      "'64kb' is not a size", "did you mean '64KiB' (x1024) or '64KB' (x1000)?"));
  EXPECT_TRUE(FailsAt("global:\n  control: {max_message_size: 2g}\n", 2, 31, "is not a size",
                      "did you mean '2GiB' (x1024) or '2GB' (x1000)?"));
  EXPECT_TRUE(FailsAt("global:\n  control: {max_message_size: 4096 bytes}\n", 2, 31,
                      "is not a size", "did you mean '4096B'?"));
}

TEST(PolicyDurations, TickMustBePositiveAndSane) {
  EXPECT_TRUE(
      FailsAt("global:\n  tick_interval: 0s\n", 2, 18, "out of range", "between 10ms and 1h"));
  EXPECT_TRUE(FailsAt("global:\n  tick_interval: 2h\n", 2, 18, "out of range"));
  EXPECT_TRUE(FailsAt("global:\n  control: {idle_timeout: 0s}\n", 2, 27, "out of range"));
}

TEST(PolicySizes, BadSizesListTheAcceptedForms) {
  EXPECT_TRUE(FailsAt("global:\n  control:\n    max_message_size: 64kib\n", 3, 23,
                      "'64kib' is not a size", "512B, 64KiB, 2GiB, 1MB (KiB=1024, KB=1000"));
  EXPECT_TRUE(FailsAt("global:\n  control:\n    max_message_size: 1TiB\n", 3, 23, "out of range",
                      "between 1KiB and 64MiB"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {memory: -2GiB}\n",
              4, 27, "'-2GiB' is not a size"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {memory: 99999999999999999999GiB}\n",
              4, 27, "is not a size"));
}

TEST(PolicyPercents, BadPercentsListTheAcceptedForms) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {error_rate: 0.1}\n",
              4, 31, "'0.1' is not a percent", "a percent needs '%', e.g. '0.1%'"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {cpu_pressure: 150%}\n",
              4, 33, "out of range", "<= 100%"));
  EXPECT_TRUE(
      FailsAt("global:\n  guard: {hysteresis: ten%}\n", 2, 23, "not a percent", "10%, 0.5%"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {io_pressure: 0%}\n",
              4, 32, "out of range", "> 0%"));
}

TEST(PolicyNumbers, BadNumbers) {
  EXPECT_TRUE(
      FailsAt("global:\n  control: {max_clients: many}\n", 2, 26, "'many' is not a whole number"));
  EXPECT_TRUE(FailsAt("global:\n  control: {max_clients: 0}\n", 2, 26, "out of range",
                      "between 1 and 65536"));
  EXPECT_TRUE(FailsAt("global:\n  control: {max_clients: 99999999999999999999999}\n", 2, 26,
                      "out of range"));
  EXPECT_TRUE(FailsAt("global:\n  guard: {min_samples: -3}\n", 2, 24, "not a whole number"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {cpu_cores: 0}\n",
              4, 30, "out of range", "> 0"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    constraints: {cpu_cores: 50%}\n",
              4, 30, "'50%' is not a number", "plain number, not a percent"));
  EXPECT_TRUE(FailsAt("global:\n  collection: {per_thread_metrics: yes}\n", 2, 36,
                      "'yes' is not true or false", "true, false"));
}

TEST(PolicyEnums, UnknownModeObjectiveLevelProfile) {
  EXPECT_TRUE(FailsAt("global:\n  mode: recomend\n", 2, 9, "unknown mode 'recomend'",
                      "did you mean 'recommend'?"));
  EXPECT_TRUE(FailsAt("global:\n  mode: yolo\n", 2, 9, "unknown mode 'yolo'",
                      "valid modes: observe, recommend, apply"));
  EXPECT_TRUE(FailsAt("global:\n  log_level: warning\n", 2, 14, "unknown log level 'warning'",
                      "did you mean 'warn'?"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n    profile: web-sever\n", 4,
                      14, "unknown profile 'web-sever'", "did you mean 'web-server'?"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: {minimize: throughput}\n",
              4, 27, "throughput can only be maximized", "{maximize: throughput}"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: {maximize: p99_latency}\n",
              4, 27, "p99_latency can only be minimized"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: {minimize: p99_latncy}\n",
              4, 27, "cannot minimize 'p99_latncy'", "did you mean 'p99_latency'?"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: throughput\n",
              4, 16, "objective must be one of maximize: or minimize:", "{maximize: throughput}"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: {maximise: throughput}\n",
              4, 17, "unknown key 'maximise'", "did you mean 'maximize'?"));
}

TEST(PolicyKnobs, MinGreaterThanMax) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs:\n      worker_threads: {min: 10, max: 2}\n",
              5, 7, "min 10 is greater than max 2"));
  // The conflict may come from the profile: max 256 is inherited from web-server.
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n    profile: web-server\n"
              "    knobs:\n      worker_threads: {min: 300}\n",
              6, 7, "min 300 is greater than max 256 (max inherited from the profile)"));
  EXPECT_TRUE(FailsAt("profiles:\n  p:\n    knobs:\n      batch_size: {min: 5, max: 1}\n", 4, 7,
                      "profile 'p' knobs batch_size: min 5 is greater than max 1"));
}

TEST(PolicyKnobs, BadValues) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {min: -1}}\n",
              4, 35, "is negative"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max: lots}}\n",
              4, 35, "'lots' is not a number or a size"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: 0%}}\n",
              4, 40, "'0%' is not a positive percent", "[25%, 4]"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: -2}}\n",
              4, 40, "'-2' is not a positive number or percent"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: [10%, 20%]}}\n",
              4, 46, "has two percents"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: [1, 2, 3]}}\n",
              4, 40, "takes one percent and/or one number"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {enabled: off}}\n",
              4, 39, "'off' is not true or false"));
}

TEST(PolicyTargets, NamesMustBeUniqueAndPresent) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: web\n    select: {pid: 1}\n"
              "  - name: web\n    select: {pid: 2}\n",
              4, 11, "duplicate target name 'web' (first at line 2)"));
  EXPECT_TRUE(FailsAt("targets:\n  - select: {pid: 1}\n", 2, 5, "target #1 has no name"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: 'bad name'\n    select: {pid: 1}\n", 2, 11,
                      "target name 'bad name' is not a valid name"));
  EXPECT_TRUE(FailsAt("targets:\n  - web\n", 2, 5, "target #1 must be a mapping"));
}

TEST(PolicyTargets, SelectorIsRequiredAndChecked) {
  EXPECT_TRUE(FailsAt("targets:\n  - name: web\n    profile: web-server\n", 2, 5,
                      "target 'web' has no selector", "pid, comm, exe, cmdline"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: web\n    select: {}\n", 3, 13,
                      "target 'web' has an empty selector"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: web\n    select: {host: false}\n", 3, 13,
                      "has an empty selector"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {host: true, pid: 1}\n", 3, 20,
                      "host: true selects the whole host", "cannot be combined"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: 0}\n", 3, 19, "out of range"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {pid: abc}\n", 3, 19,
                      "'abc' is not a whole number"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {comm: a-very-long-process-name}\n", 3,
                      20, "longer than 15 characters", "match on exe or cmdline"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {cmdline: 'worker(['}\n", 3, 23,
                      "is not a valid regular expression"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {cgroup: system.slice/x}\n", 3, 22,
                      "is not an absolute path"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {unit: nginx}\n", 3, 20,
                      "'nginx' is not a systemd unit name", "nginx.service"));
  EXPECT_TRUE(FailsAt("targets:\n  - name: w\n    select: {registered: 'a b'}\n", 3, 26,
                      "is not a valid client name"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {exe: ''}\n", 3, 19, "must not be empty"));
}

TEST(PolicyGlobal, ListenAddressPathsAndSocket) {
  EXPECT_TRUE(
      FailsAt("global:\n  metrics_listen: 10464\n", 2, 19, "has no port", "write ADDR:PORT"));
  EXPECT_TRUE(FailsAt("global:\n  metrics_listen: 127.0.0.1:99999\n", 2, 19, "not a port"));
  EXPECT_TRUE(FailsAt("global:\n  state_dir: var/lib/knobd\n", 2, 14, "not an absolute path"));
  std::string long_path = "/" + std::string(120, 'x');
  EXPECT_TRUE(FailsAt("global:\n  control: {socket: " + long_path + "}\n", 2, 21, "bytes long",
                      "at most 107 bytes"));
}

TEST(PolicyProfiles, ExtendsErrors) {
  EXPECT_TRUE(FailsAt("profiles:\n  p:\n    extends: web-sevrer\n", 3, 14,
                      "extends unknown profile 'web-sevrer'", "did you mean 'web-server'?"));
  PolicyLoad cycle = LoadPolicyString("profiles:\n  a: {extends: b}\n  b: {extends: a}\n");
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.errors[0].message.find("extends itself"), std::string::npos) << AllErrors(cycle);
  EXPECT_EQ(cycle.errors[0].line, 2);
}

TEST(PolicyStructure, OddKeysAndNames) {
  EXPECT_TRUE(FailsAt("global:\n  [a, b]: 1\n", 2, 3, "keys in global must be plain names"));
  EXPECT_TRUE(FailsAt("profiles:\n  'my profile': {}\n", 2, 3,
                      "profile name 'my profile' is not a valid name"));
  EXPECT_TRUE(FailsAt("profiles:\n  p:\n    description: [a]\n", 3, 18,
                      "profile 'p' description must be a single value"));
  EXPECT_TRUE(FailsAt("profiles: [a]\n", 1, 11, "profiles must be a mapping"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs:\n      'bad knob!': {max: 1}\n",
              5, 7, "knob name 'bad knob!' is not a valid name"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: 5}\n",
              4, 29, "knobs worker_threads must be a mapping"));
}

TEST(PolicyKnobs, MaxStepListShapes) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: [1, 2]}}\n",
              4, 44, "has two absolute steps"));
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    knobs: {worker_threads: {max_step: []}}\n",
              4, 40, "takes one percent and/or one number"));
}

TEST(PolicyEnums, ObjectiveWithTwoKeys) {
  EXPECT_TRUE(
      FailsAt("targets:\n  - name: w\n    select: {pid: 1}\n"
              "    objective: {maximize: throughput, minimize: p99_latency}\n",
              4, 16, "objective must be one of maximize: or minimize:"));
}

TEST(PolicyGlobal, ControlPathsMustBeAbsolute) {
  EXPECT_TRUE(FailsAt("global:\n  control: {socket: knobd.sock}\n", 2, 21,
                      "'knobd.sock' is not an absolute path", "start it with '/'"));
  EXPECT_TRUE(FailsAt("global:\n  collection: {proc_root: proc}\n", 2, 27, "not an absolute path"));
  EXPECT_TRUE(FailsAt("global:\n  control: {group: ''}\n", 2, 20, "must not be empty"));
}

TEST(PolicyProfiles, CycleIsReportedAtTheExtendsValue) {
  PolicyLoad load = LoadPolicyString("profiles:\n  a: {extends: a2}\n  a2: {extends: a}\n");
  ASSERT_FALSE(load.ok());
  ASSERT_GE(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].line, 2) << AllErrors(load);
  EXPECT_EQ(load.errors[0].column, 16) << AllErrors(load);
  EXPECT_NE(load.errors[0].message.find("a -> a2 -> a"), std::string::npos) << AllErrors(load);
}

TEST(PolicyAllProblems, AreReportedTogetherInFileOrder) {
  PolicyLoad load = LoadPolicyString(R"(global:
  tick_interval: 10
  mode: aply
  control:
    max_message_size: 1 MiB
targets:
  - name: web
    profile: nope
  - name: web
    select: {pid: 1}
    knobs:
      worker_threads: {min: 5, max: 1}
)",
                                     "many.yaml");
  ASSERT_FALSE(load.ok());
  std::vector<std::string> lines;
  for (const Diagnostic& d : load.errors) lines.push_back(d.ToString());
  ASSERT_EQ(lines.size(), 7u) << AllErrors(load);
  EXPECT_EQ(lines[0].rfind("many.yaml:2:18: error: global.tick_interval: '10'", 0), 0u);
  EXPECT_EQ(lines[1].rfind("many.yaml:3:9: error: global.mode: unknown mode 'aply'", 0), 0u);
  EXPECT_EQ(lines[2].rfind("many.yaml:5:23: error: global.control.max_message_size", 0), 0u);
  EXPECT_EQ(lines[3].rfind("many.yaml:7:5: error: target 'web' has no selector", 0), 0u);
  EXPECT_EQ(lines[4].rfind("many.yaml:8:14: error: target 'web': unknown profile 'nope'", 0), 0u);
  EXPECT_EQ(lines[5].rfind("many.yaml:9:11: error: duplicate target name 'web'", 0), 0u);
  EXPECT_EQ(lines[6].rfind("many.yaml:12:7: error: target #2 knobs worker_threads: min 5", 0), 0u);
}

// issue 12: the operator keys load, and bad values point at themselves.
TEST(PolicyOperatorKeys, OverrideHoldAndRestoreOnStop) {
  Policy p = test::MustLoad("global:\n  restore_on_stop: true\n  guard: {override_hold: 10m}\n");
  EXPECT_TRUE(p.global.restore_on_stop);
  EXPECT_EQ(p.global.guard.override_hold, std::chrono::minutes(10));
  EXPECT_FALSE(test::MustLoad("").global.restore_on_stop);
  EXPECT_EQ(test::MustLoad("").global.guard.override_hold, std::chrono::minutes(30));
  EXPECT_TRUE(
      FailsAt("global:\n  guard: {override_hold: 200h}\n", 2, 26, "global.guard.override_hold"));
  EXPECT_TRUE(FailsAt("global:\n  guard: {override_hold: -1s}\n", 2, 26, "is not a duration"));
  EXPECT_TRUE(FailsAt("global:\n  restore_on_stop: maybe\n", 2, 20, "global.restore_on_stop"));
}

}  // namespace
}  // namespace knob
