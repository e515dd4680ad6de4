// SPDX-License-Identifier: Apache-2.0
#include "adapters/systemd/unit_cgroup.h"

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "core/cpu_list.h"

namespace knob::adapter {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return UnavailableError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One write(2) of the whole value, so the kernel's own refusal (EINVAL for a CPU outside the
// parent's set, ERANGE for a quota under 1 ms) is what the ack carries.
Status WriteText(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  if (!out) return PermissionDeniedError("cannot open " + path + ": " + std::strerror(errno));
  out << value;
  out.flush();
  if (!out)
    return InvalidArgumentError("the kernel refused " + value + " for " + path + ": " +
                                std::strerror(errno));
  return OkStatus();
}

std::map<std::string, double> KeyValues(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string k;
  double v = 0;
  while (in >> k >> v) out[k] = v;
  return out;
}

class CgroupBackend final : public UnitBackend {
 public:
  explicit CgroupBackend(CgroupFiles files) : files_(std::move(files)) {}
  std::string Describe() const override { return "writing the " + files_.Describe() + " files"; }
  Status SetQuota(double percent) override { return files_.WriteQuota(percent); }
  Status SetCpus(const std::string& list) override { return files_.WriteCpus(list); }
  const CgroupFiles& files() const override { return files_; }

 private:
  CgroupFiles files_;
};

struct BusFree {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};

class DbusBackend final : public UnitBackend {
 public:
  DbusBackend(std::unique_ptr<sd_bus, BusFree> bus, std::string unit, CgroupFiles files)
      : bus_(std::move(bus)), unit_(std::move(unit)), files_(std::move(files)) {}
  std::string Describe() const override {
    return "systemd's D-Bus API (SetUnitProperties on " + unit_ + ", runtime), read back from " +
           files_.Describe();
  }
  Status SetQuota(double percent) override {
    // CPUQuota=P% is CPUQuotaPerSecUSec = P * 10 ms of CPU time per second.
    const auto usec = static_cast<uint64_t>(std::llround(percent * 10000));
    return SetProperty("CPUQuotaPerSecUSec",
                       [&](sd_bus_message* m) { return sd_bus_message_append(m, "v", "t", usec); });
  }
  Status SetCpus(const std::string& list) override {
    KNOB_ASSIGN_OR_RETURN(std::vector<int> cpus, ParseCpuList(list));
    // AllowedCPUs is a byte array bitmask: bit i of byte j is CPU 8j+i, any length.
    std::vector<uint8_t> mask(static_cast<size_t>(cpus.back() / 8 + 1), 0);
    for (int c : cpus) mask[static_cast<size_t>(c / 8)] |= static_cast<uint8_t>(1u << (c % 8));
    return SetProperty("AllowedCPUs", [&](sd_bus_message* m) {
      int r = sd_bus_message_open_container(m, 'v', "ay");
      if (r >= 0) r = sd_bus_message_append_array(m, 'y', mask.data(), mask.size());
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    });
  }
  const CgroupFiles& files() const override { return files_; }

 private:
  template <typename F>
  Status SetProperty(const char* name, F append_value) {
    sd_bus_message* m = nullptr;
    // Zero-initialised is SD_BUS_ERROR_NULL (a C compound literal, not C++).
    sd_bus_error error{};
    int r = sd_bus_message_new_method_call(bus_.get(), &m, "org.freedesktop.systemd1",
                                           "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "SetUnitProperties");
    if (r >= 0) r = sd_bus_message_append(m, "sb", unit_.c_str(), 1);
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0) r = sd_bus_message_open_container(m, 'r', "sv");
    if (r >= 0) r = sd_bus_message_append(m, "s", name);
    if (r >= 0) r = append_value(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_call(bus_.get(), m, 0, &error, nullptr);
    std::string why = error.message ? error.message : std::strerror(-r);
    sd_bus_error_free(&error);
    sd_bus_message_unref(m);
    if (r < 0)
      return InvalidArgumentError("systemd: SetUnitProperties " + std::string(name) + " on " +
                                  unit_ + ": " + why);
    return OkStatus();
  }

  std::unique_ptr<sd_bus, BusFree> bus_;
  std::string unit_;
  CgroupFiles files_;
};

}  // namespace

Result<CgroupFiles> CgroupFiles::Open(const std::string& root, const std::string& group) {
  CgroupFiles f;
  const std::string g = group.empty() || group[0] == '/' ? group : "/" + group;
  if (Exists(root + g + "/cpu.max")) {
    f.v2_ = true;
    f.cpu_dir_ = f.cpuset_dir_ = root + g;
    if (!Exists(f.cpuset_dir_ + "/cpuset.cpus.effective"))
      return FailedPreconditionError(f.cpu_dir_ +
                                     " has no cpuset.cpus.effective: enable the "
                                     "cpuset controller for it (AllowedCPUs needs it)");
    return f;
  }
  if (Exists(root + "/cpu" + g + "/cpu.cfs_quota_us") &&
      Exists(root + "/cpuset" + g + "/cpuset.effective_cpus")) {
    f.cpu_dir_ = root + "/cpu" + g;
    f.cpuset_dir_ = root + "/cpuset" + g;
    return f;
  }
  return NotFoundError("no cgroup " + g + " under " + root + ": looked for " + root + g +
                       "/cpu.max (cgroup v2) and " + root + "/cpu" + g + "/cpu.cfs_quota_us with " +
                       root + "/cpuset" + g + "/cpuset.effective_cpus (v1)");
}

std::string CgroupFiles::Describe() const {
  return v2_ ? "cgroup v2 " + cpu_dir_ : "cgroup v1 " + cpu_dir_ + " and " + cpuset_dir_;
}

Result<std::optional<double>> CgroupFiles::QuotaPercent() const {
  if (v2_) {
    KNOB_ASSIGN_OR_RETURN(std::string text, ReadText(cpu_dir_ + "/cpu.max"));
    std::istringstream in(text);
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || !(period > 0))
      return InternalError(cpu_dir_ + "/cpu.max: unexpected '" + text + "'");
    if (quota == "max") return std::optional<double>();
    return std::optional<double>(100 * std::strtod(quota.c_str(), nullptr) / period);
  }
  KNOB_ASSIGN_OR_RETURN(std::string q, ReadText(cpu_dir_ + "/cpu.cfs_quota_us"));
  KNOB_ASSIGN_OR_RETURN(std::string p, ReadText(cpu_dir_ + "/cpu.cfs_period_us"));
  const double quota = std::strtod(q.c_str(), nullptr), period = std::strtod(p.c_str(), nullptr);
  if (quota < 0) return std::optional<double>();
  if (!(period > 0)) return InternalError(cpu_dir_ + "/cpu.cfs_period_us: unexpected '" + p + "'");
  return std::optional<double>(100 * quota / period);
}

Result<std::string> CgroupFiles::EffectiveCpus() const {
  KNOB_ASSIGN_OR_RETURN(std::string text, ReadText(cpuset_dir_ + (v2_ ? "/cpuset.cpus.effective"
                                                                      : "/cpuset.effective_cpus")));
  KNOB_ASSIGN_OR_RETURN(std::vector<int> cpus, ParseCpuList(text));
  return FormatCpuList(cpus);
}

Status CgroupFiles::WriteQuota(double percent) const {
  if (!(percent > 0)) return InvalidArgumentError("CPU quota must be > 0%");
  if (v2_) {
    KNOB_ASSIGN_OR_RETURN(std::string text, ReadText(cpu_dir_ + "/cpu.max"));
    std::istringstream in(text);
    std::string quota;
    uint64_t period = 100000;
    in >> quota >> period;
    const auto us =
        static_cast<uint64_t>(std::llround(percent / 100 * static_cast<double>(period)));
    return WriteText(cpu_dir_ + "/cpu.max", std::to_string(us) + " " + std::to_string(period));
  }
  KNOB_ASSIGN_OR_RETURN(std::string p, ReadText(cpu_dir_ + "/cpu.cfs_period_us"));
  const auto us =
      static_cast<int64_t>(std::llround(percent / 100 * std::strtod(p.c_str(), nullptr)));
  return WriteText(cpu_dir_ + "/cpu.cfs_quota_us", std::to_string(us));
}

Status CgroupFiles::WriteCpus(const std::string& list) const {
  KNOB_ASSIGN_OR_RETURN(std::vector<int> cpus, ParseCpuList(list));
  return WriteText(cpuset_dir_ + "/cpuset.cpus", FormatCpuList(cpus));
}

Result<CgroupFiles::CpuStat> CgroupFiles::Stat() const {
  CpuStat s;
  KNOB_ASSIGN_OR_RETURN(std::string text, ReadText(cpu_dir_ + "/cpu.stat"));
  auto kv = KeyValues(text);
  s.throttled_periods = kv["nr_throttled"];
  if (v2_) {
    s.usage_seconds = kv["usage_usec"] / 1e6;
    s.throttled_seconds = kv["throttled_usec"] / 1e6;
  } else {
    s.throttled_seconds = kv["throttled_time"] / 1e9;
    // cpuacct is a separate v1 controller, often mounted with cpu; its usage when it is there.
    std::string dir = cpu_dir_;
    if (auto usage = ReadText(dir + "/cpuacct.usage"); usage.ok())
      s.usage_seconds = std::strtod(usage->c_str(), nullptr) / 1e9;
  }
  return s;
}

std::unique_ptr<UnitBackend> MakeCgroupBackend(CgroupFiles files) {
  return std::make_unique<CgroupBackend>(std::move(files));
}

Result<std::unique_ptr<UnitBackend>> MakeDbusBackend(const std::string& unit,
                                                     const std::string& cgroup_root) {
  if (sd_booted() <= 0)
    return UnavailableError(
        "no systemd manager runs here (sd_booted: /run/systemd/system is "
        "missing)");
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  if (r < 0)
    return UnavailableError(std::string("cannot reach the system bus: ") + std::strerror(-r));
  std::unique_ptr<sd_bus, BusFree> bus(raw);
  // Zero-initialised is SD_BUS_ERROR_NULL (a C compound literal, not C++).
  sd_bus_error error{};
  sd_bus_message* reply = nullptr;
  r = sd_bus_call_method(bus.get(), "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                         "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s",
                         unit.c_str());
  std::string why = error.message ? error.message : (r < 0 ? std::strerror(-r) : "");
  sd_bus_error_free(&error);
  const char* path = nullptr;
  if (r >= 0) r = sd_bus_message_read(reply, "o", &path);
  std::string object = path ? path : "";
  sd_bus_message_unref(reply);
  if (r < 0) return NotFoundError("systemd: GetUnit " + unit + ": " + why);
  // ControlGroup lives on the unit type's own interface (Service, Scope, Slice, ...).
  const std::string type = unit.substr(unit.rfind('.') + 1);
  std::string iface = "org.freedesktop.systemd1." + type;
  if (!type.empty()) iface[iface.size() - type.size()] = static_cast<char>(std::toupper(type[0]));
  char* cgroup = nullptr;
  r = sd_bus_get_property_string(bus.get(), "org.freedesktop.systemd1", object.c_str(),
                                 iface.c_str(), "ControlGroup", &error, &cgroup);
  why = error.message ? error.message : (r < 0 ? std::strerror(-r) : "");
  sd_bus_error_free(&error);
  std::string group = cgroup ? cgroup : "";
  std::free(cgroup);
  if (r < 0 || group.empty())
    return NotFoundError("systemd: " + unit + " has no ControlGroup (is it running?) " + why);
  KNOB_ASSIGN_OR_RETURN(CgroupFiles files, CgroupFiles::Open(cgroup_root, group));
  return std::unique_ptr<UnitBackend>(
      std::make_unique<DbusBackend>(std::move(bus), unit, std::move(files)));
}

}  // namespace knob::adapter
