// SPDX-License-Identifier: Apache-2.0
#pragma once
// The five built-in profiles knobd is designed around (web-server, microservice, data-pipeline,
// stream-processing, edge) and the names of the knobs they bound. docs/policy.md has them as a
// table; keep both in step (a test checks every built-in profile is documented).
// Thread rule: pure functions and constants, any thread.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"

namespace knob {

// Knobs knobd knows by name. A policy may bound other knobs too (a registered client declares
// its own), but a name within a typo's distance of one of these is rejected as a likely typo.
inline constexpr std::string_view kKnobWorkerThreads = "worker_threads";
inline constexpr std::string_view kKnobConcurrencyLimit = "concurrency_limit";
inline constexpr std::string_view kKnobConnectionPool = "connection_pool";
inline constexpr std::string_view kKnobBackendPool = "backend_pool";
inline constexpr std::string_view kKnobCacheBytes = "cache_bytes";
inline constexpr std::string_view kKnobQueueDepth = "queue_depth";
inline constexpr std::string_view kKnobBatchSize = "batch_size";
// Also recognized by the optimizers (optimizers/*_optimizer.h), though no built-in bounds them.
inline constexpr std::string_view kKnobMaxInFlight = "max_in_flight";
inline constexpr std::string_view kKnobMaxConcurrency = "max_concurrency";
inline constexpr std::string_view kKnobCpuAffinityMask = "cpu_affinity_mask";
inline constexpr std::string_view kKnobSchedulingStrategy = "scheduling_strategy";
// A CPU list ("0-3,8", list-valued: docs/protocol.md) and systemd's CPUQuota= in percent.
inline constexpr std::string_view kKnobAllowedCpus = "allowed_cpus";
inline constexpr std::string_view kKnobCpuQuotaPercent = "cpu_quota_percent";

const std::vector<std::string_view>& KnownKnobNames();

// Built-in profiles keyed by name. User profiles in the policy file shadow (extend) these.
const std::map<std::string, Profile>& BuiltinProfiles();

}  // namespace knob
