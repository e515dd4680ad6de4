// SPDX-License-Identifier: Apache-2.0
#pragma once
// ProcStatCache: this tick's parsed /proc/PID/stat of target processes, read once by the cpu
// collector and reused by the allocator collector (fault counts come from the same file). For a
// threaded process the kernel sums over all its threads to format that file (do_task_stat), so
// reading it once per tick instead of twice matters at 20 000 threads. An entry is only valid
// in the tick (`at`) it was read in, and only for the same ProcessKey (pid reuse).
// Thread rule: collection thread only.

#include <sys/types.h>

#include <unordered_map>

#include "collectors/parse/pid_stat.h"
#include "core/clock.h"
#include "core/snapshot.h"

namespace knob {

class ProcStatCache {
 public:
  void Clear() { entries_.clear(); }
  // `idle`: not re-read this tick; the process's last reading, unchanged for
  // idle_process_interval, stands (see CpuCollector).
  void Put(const ProcessKey& key, MonoTime at, const parse::PidStat& stat, bool idle = false) {
    entries_[key.pid] = Entry{key, at, stat, idle};
  }
  // The stat read for `key` at `now`, or null.
  const parse::PidStat* Get(const ProcessKey& key, MonoTime now) const {
    const Entry* e = Find(key, now);
    return e == nullptr ? nullptr : &e->stat;
  }
  // Whether `key`'s entry at `now` is an idle process's standing reading.
  bool Idle(const ProcessKey& key, MonoTime now) const {
    const Entry* e = Find(key, now);
    return e != nullptr && e->idle;
  }

 private:
  struct Entry {
    ProcessKey key;
    MonoTime at;
    parse::PidStat stat;
    bool idle = false;
  };
  const Entry* Find(const ProcessKey& key, MonoTime now) const {
    auto it = entries_.find(key.pid);
    if (it == entries_.end() || it->second.at != now || it->second.key != key) return nullptr;
    return &it->second;
  }
  std::unordered_map<pid_t, Entry> entries_;
};

}  // namespace knob
