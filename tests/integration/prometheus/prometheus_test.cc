// SPDX-License-Identifier: Apache-2.0
// The real Prometheus server (Debian's `prometheus`) against a running knobd that tunes the
// example service (issue 14): a 1 s scrape on loopback, up == 1, the target's series arrive with
// their labels, `promtool check metrics` on a scrape, the rules load, every expression of the
// Grafana dashboard (docs/grafana/knobd.json) returns data after tuning, and the console
// template (docs/prometheus/consoles/knobd.html) served by this Prometheus renders data in
// headless Chromium (screenshot kept when KNOB_CONSOLE_PNG names a path).
//
// One test on purpose: Prometheus, knobd, the service and the load start once (~60 s in all
// here); each check is a separate assertion block with its own message.
#include <poll.h>

#include <fstream>
#include <regex>
#include <set>

#include "tests/integration/e2e/e2e_harness.h"

namespace knob::test {
namespace {

const std::string kSrc = KNOB_SOURCE_DIR;
constexpr const char* kTarget = "example-service";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Runs `argv` with `input` on stdin; exit code and combined output.
std::pair<int, std::string> RunWithInput(const std::vector<std::string>& argv,
                                         const std::string& input, const std::string& dir) {
  std::string in = dir + "/stdin", out = dir + "/stdout";
  std::ofstream(in) << input;
  pid_t pid = fork();
  if (pid == 0) {
    int i = open(in.c_str(), O_RDONLY | O_CLOEXEC);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    dup2(i, 0);
    dup2(o, 1);
    dup2(o, 2);
    std::vector<char*> args;
    for (auto a : argv) args.push_back(strdup(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ReadFile(out)};
}

class PrometheusTest : public E2eTest {
 protected:
  std::string Policy() const override {
    return R"(global:
  tick_interval: 250ms
  log_level: info
  mode: apply
  guard:
    cooldown: 2s
    verification_window: 2s
    min_samples: 6
targets:
  - name: example-service
    select: {registered: example-service}
    mode: apply
    objective: {maximize: throughput}
    constraints: {p99_latency: 200ms, error_rate: 1%, cpu_cores: 4, memory: 1GiB}
    knobs:
      concurrency_limit: {min: 1, max: 64, max_step: [50%, 8]}
)";
  }

  void StartPrometheus(int knobd_port) {
    for (const char* tool : {"/usr/bin/prometheus", "/usr/bin/promtool"})
      ASSERT_EQ(access(tool, X_OK), 0)
          << tool << " is missing: install the Debian package 'prometheus' "
          << "(scripts/install-deps.sh)";
    prom_port_ = FreePort();
    std::ofstream(Path("prometheus.yml"))
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "rule_files: ['" << kSrc << "/docs/prometheus/rules.yml']\n"
        << "scrape_configs:\n  - job_name: knobd\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << knobd_port << "']\n";
    prometheus_ = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + Path("prometheus.yml"),
                                 "--storage.tsdb.path=" + Path("tsdb"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
                                 "--web.console.templates=" + kSrc + "/docs/prometheus/consoles",
                                 "--web.console.libraries=" + kSrc + "/docs/prometheus/consoles",
                                 "--log.level=warn"},
        Path("prometheus.out"), Path("prometheus.err"));
  }

  // /api/v1/query (or query_range over the last `range_s` seconds): the result array, or null
  // with the error in `error`.
  json Query(const std::string& expr, std::string* error = nullptr, int range_s = 0) {
    std::string path;
    if (range_s > 0) {
      double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      path = "/api/v1/query_range?query=" + UrlEncode(expr) +
             "&start=" + std::to_string(now - range_s) + "&end=" + std::to_string(now) + "&step=1";
    } else {
      path = "/api/v1/query?query=" + UrlEncode(expr);
    }
    std::string body = HttpGetAny(prom_port_, path);
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || Str(j, "status") != "success") {
      if (error) *error = body.empty() ? "no answer" : body;
      return json();
    }
    return j["data"]["result"];
  }
  bool NonEmpty(const std::string& expr) {
    json r = Query(expr);
    return r.is_array() && !r.empty();
  }

  // Like HttpGet, but returns the body of error answers too (Prometheus explains them in JSON).
  static std::string HttpGetAny(int port, const std::string& path) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string raw;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        char buf[8192];
        ssize_t n;
        while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) raw.append(buf, static_cast<size_t>(n));
      }
    }
    close(fd);
    auto split = raw.find("\r\n\r\n");
    return split == std::string::npos ? "" : raw.substr(split + 4);
  }

  void TearDown() override {
    prometheus_.reset();
    E2eTest::TearDown();
  }

  std::unique_ptr<Child> prometheus_;
  int prom_port_ = 0;
};

// Grafana's variables and range macros, as the dashboard's user would have them.
std::string Expand(std::string expr) {
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"$__rate_interval", "10s"}, {"$__interval", "2s"}, {"$__range", "2m"},
      {"${target}", kTarget},      {"$target", kTarget},  {"$job", "knobd"},
      {"${job}", "knobd"}};
  for (const auto& [k, v] : vars)
    for (size_t p; (p = expr.find(k)) != std::string::npos;) expr.replace(p, k.size(), v);
  return expr;
}

TEST_F(PrometheusTest, ScrapesTheTunedServiceAndEveryDashboardExpressionHasData) {
  const auto t0 = SteadyClock::now();
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  StartPrometheus(metrics_port);
  if (HasFatalFailure()) return;
  StartService({"--workers", "32", "--backend-pool", "8", "--concurrency-limit", "2",
                "--cache-bytes", "65536"});
  if (HasFatalFailure()) return;
  StartLoad("tuning", {"--rate", "2000", "--connections", "16"});

  // up == 1: Prometheus scrapes knobd.
  ASSERT_TRUE(WaitFor(
      [&] {
        json r = Query("up{job=\"knobd\"}");
        return r.is_array() && r.size() == 1 && r[0]["value"][1] == "1";
      },
      seconds(60), milliseconds(500)))
      << "prometheus never saw up == 1:\n"
      << prometheus_->Err();

  // The tuned service's series arrive with their labels.
  const std::string t = std::string("{target=\"") + kTarget + "\"";
  for (const std::string& expr :
       {"knobd_target_requests_total" + t + "}", "knobd_target_errors_total" + t + "}",
        "knobd_target_request_duration_seconds_bucket" + t + ",le=\"+Inf\"}",
        "knobd_target_knob_value" + t + ",knob=\"concurrency_limit\"}",
        "knobd_target_phase" + t + ",phase=\"learning\"}",
        "knobd_target_constraint_headroom_seconds" + t + ",constraint=\"p99_latency\"}",
        "knobd_target_constraint_headroom_bytes" + t + ",constraint=\"memory_bytes\"}",
        "knobd_target_constraint_headroom_cores" + t + ",constraint=\"cpu_cores\"}",
        std::string("process_open_fds{job=\"knobd\"}"),
        std::string("process_max_fds{job=\"knobd\"}")}) {
    EXPECT_TRUE(WaitFor([&] { return NonEmpty(expr); }, seconds(30), milliseconds(500)))
        << expr << " never arrived";
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return NonEmpty(
            "histogram_quantile(0.99, rate(knobd_target_request_duration_seconds_"
            "bucket" +
            t + "}[10s])) > 0");
      },
      seconds(30), milliseconds(500)))
      << "histogram_quantile over the target's latency histogram gave no number";
  // Exactly one phase is 1.
  EXPECT_TRUE(WaitFor(
      [&] {
        json r = Query("sum(knobd_target_phase" + t + "})");
        return r.is_array() && r.size() == 1 && r[0]["value"][1] == "1";
      },
      seconds(10)));

  // promtool's linter on what knobd serves: no problem with any knobd_ or process_ family.
  {
    std::string scrape = HttpGet(metrics_port, "/metrics");
    ASSERT_FALSE(scrape.empty());
    auto [rc, out] = RunWithInput({"/usr/bin/promtool", "check", "metrics"}, scrape, dir_);
    std::istringstream lines(out);
    std::string line, problems;
    for (; std::getline(lines, line);)
      if (line.find("knobd_") != std::string::npos || line.find("process_") != std::string::npos)
        problems += line + "\n";
    EXPECT_TRUE(problems.empty()) << "promtool check metrics (exit " << rc << "):\n" << out;
    EXPECT_NE(rc, 127) << "promtool did not run";
  }

  // The rules loaded and evaluate.
  {
    std::string rules = HttpGetAny(prom_port_, "/api/v1/rules");
    json j = json::parse(rules, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << rules;
    int n = 0;
    for (const auto& g : j["data"]["groups"])
      for (const auto& r : g["rules"]) {
        ++n;
        EXPECT_NE(Str(r, "health"), "err") << r.dump();
      }
    EXPECT_EQ(n, 17) << "rules.yml did not load as expected: " << rules.substr(0, 500);
  }

  // Wait for tuning: a verified change, so predicted and realized series exist.
  const int tune_seconds = EnvInt("KNOB_E2E_TUNE_SECONDS", 90);
  ASSERT_TRUE(WaitFor(
      [&] {
        return NonEmpty("knobd_recommendations_total{outcome=\"verified\"} > 0") &&
               NonEmpty("knobd_realized_requests_per_second");
      },
      seconds(tune_seconds), milliseconds(1000)))
      << "no verified change within " << tune_seconds << " s:\n"
      << knobd_->Err();
  // A few more scrapes so rate() windows over the change hold points.
  std::this_thread::sleep_for(seconds(3));

  // Every expression of the dashboard returns data (annotations over the run, panels now).
  {
    json dash = json::parse(ReadFile(kSrc + "/docs/grafana/knobd.json"), nullptr, false);
    ASSERT_FALSE(dash.is_discarded()) << "docs/grafana/knobd.json is not JSON";
    int exprs = 0;
    auto check = [&](const std::string& raw, const std::string& where, int range_s) {
      ++exprs;
      std::string expr = Expand(raw);
      std::string error;
      json r;
      // Series appear at different times (a phase change, a verification): give each a while.
      bool ok = WaitFor(
          [&] {
            error.clear();
            r = Query(expr, &error, range_s);
            return error.empty() && r.is_array() && !r.empty();
          },
          seconds(20), milliseconds(1000));
      EXPECT_TRUE(ok) << where << ": " << expr << (error.empty() ? " returned nothing" : error);
    };
    for (const auto& panel : dash["panels"]) {
      if (!panel.contains("targets")) continue;
      for (const auto& target : panel["targets"])
        check(Str(target, "expr"), "panel '" + Str(panel, "title") + "'", 0);
    }
    for (const auto& a : dash["annotations"]["list"])
      if (a.contains("expr")) check(Str(a, "expr"), "annotation '" + Str(a, "name") + "'", 600);
    for (const auto& v : dash["templating"]["list"])
      if (v.contains("query") && v["query"].is_object() && v["query"].contains("query")) {
        std::string q = Str(v["query"], "query");
        std::smatch m;
        if (std::regex_match(q, m, std::regex(R"(label_values\((.*),\s*\w+\))")))
          check(m[1], "variable '" + Str(v, "name") + "'", 0);
      }
    EXPECT_GE(exprs, 10) << "the dashboard has fewer expressions than its panels need";

    // Every metric the dashboard names is documented.
    std::string docs = ReadFile(kSrc + "/docs/metrics.md");
    std::string text = dash.dump();
    std::set<std::string> names;
    std::regex metric(R"(\b((?:knobd|process)_[a-z0-9_]+))");
    for (std::sregex_iterator it(text.begin(), text.end(), metric), end; it != end; ++it)
      names.insert((*it)[1]);
    for (std::string n : names) {
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (n.size() > std::strlen(suffix) &&
            n.compare(n.size() - std::strlen(suffix), std::strlen(suffix), suffix) == 0 &&
            docs.find("`" + n + "`") == std::string::npos)
          n = n.substr(0, n.size() - std::strlen(suffix));
      EXPECT_NE(docs.find("`" + n + "`"), std::string::npos)
          << n << " is on the dashboard but not in docs/metrics.md";
    }
  }

  // The console template, served by this Prometheus, rendered by headless Chromium.
  {
    const std::string url =
        "http://127.0.0.1:" + std::to_string(prom_port_) + "/consoles/knobd.html?target=" + kTarget;
    std::string html = HttpGet(prom_port_, "/consoles/knobd.html?target=" + std::string(kTarget));
    ASSERT_FALSE(html.empty()) << "GET " << url << " was not a 200";
    EXPECT_NE(html.find("data-knobd-value"), std::string::npos) << html.substr(0, 2000);
    ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0)
        << "/usr/bin/chromium is missing: install the Debian package 'chromium' "
           "(scripts/install-deps.sh)";
    const std::string png = Path("console.png");
    std::vector<std::string> base = {"/usr/bin/chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + Path("chromium"),
                                     "--hide-scrollbars",
                                     "--window-size=1280,1500",
                                     "--virtual-time-budget=5000"};
    auto shot = base;
    shot.push_back("--screenshot=" + png);
    shot.push_back(url);
    auto [rc, out] = RunWithInput(shot, "", dir_);
    ASSERT_EQ(rc, 0) << out;
    std::string image = ReadFile(png);
    ASSERT_GT(image.size(), 10000u) << "screenshot too small to show anything:\n" << out;
    EXPECT_EQ(image.substr(1, 3), "PNG");
    auto dom_cmd = base;
    dom_cmd.push_back("--dump-dom");
    dom_cmd.push_back(url);
    auto [drc, dom] = RunWithInput(dom_cmd, "", dir_);
    ASSERT_EQ(drc, 0) << dom;
    // Rendered data: the target's name, numbers in the value cells, a drawn graph, no error.
    EXPECT_NE(dom.find(kTarget), std::string::npos);
    EXPECT_EQ(dom.find("Error executing template"), std::string::npos) << dom.substr(0, 3000);
    std::regex value(R"re(data-knobd-value="[a-z_]+">\s*-?[0-9][0-9.]*)re");
    int numbers = 0;
    for (std::sregex_iterator it(dom.begin(), dom.end(), value), end; it != end; ++it) ++numbers;
    EXPECT_GE(numbers, 4) << "the console shows fewer than 4 numbers:\n" << dom.substr(0, 4000);
    EXPECT_NE(dom.find("<svg"), std::string::npos) << "no graph was drawn";
    if (const char* keep = std::getenv("KNOB_CONSOLE_PNG"))
      std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
  }
  std::printf("[ prometheus ] done in %.0f s\n",
              std::chrono::duration<double>(SteadyClock::now() - t0).count());
}

// Runs a shell command line; its exit code and stdout+stderr.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// knobctl against a real knobd: `top` in a real pseudo-terminal (tmux, capture-pane), its plain
// fallback when stdout is not a terminal, `history --follow`, and bash completion of commands,
// options and live target names (the completion function run by bash for real).
class KnobctlLiveTest : public PrometheusTest {};

TEST_F(KnobctlLiveTest, TopInATerminalPlainListOtherwiseAndCompletion) {
  int metrics_port = StartKnobd(1);
  ASSERT_GT(metrics_port, 0);
  StartService({"--workers", "8", "--concurrency-limit", "4"});
  if (HasFatalFailure()) return;
  StartLoad("light", {"--rate", "300", "--connections", "4"});
  ASSERT_TRUE(WaitFor([&] { return ReportedKnob("concurrency_limit").has_value(); }, seconds(30)))
      << knobd_->Err();
  ASSERT_EQ(access("/usr/bin/tmux", X_OK), 0)
      << "/usr/bin/tmux is missing: install the Debian package 'tmux' (scripts/install-deps.sh)";

  const std::string tmux = "/usr/bin/tmux -L knobd-test-" + std::to_string(getpid()) + " ";
  const std::string top = kKnobctl + " --socket " + Socket() + " top --interval 0.3";
  auto session_alive = [&] { return Shell(tmux + "has-session -t top").first == 0; };
  for (const char* quit_key : {"q", "C-c"}) {
    ASSERT_EQ(Shell(tmux + "new-session -d -s top -x 200 -y 30 '" + top + "'").first, 0);
    std::string screen;
    bool drawn = WaitFor(
        [&] {
          screen = Shell(tmux + "capture-pane -p -t top").second;
          return screen.find("example-service") != std::string::npos &&
                 screen.find("PHASE") != std::string::npos &&
                 screen.find("concurrency_limit") != std::string::npos &&
                 screen.find("/s") != std::string::npos;
        },
        seconds(20), milliseconds(300));
    EXPECT_TRUE(drawn) << "top never drew the target:\n" << screen;
    EXPECT_NE(screen.find("knobd top"), std::string::npos) << screen;
    // It redraws: the clock in the header changes.
    std::string first = screen.substr(0, screen.find('\n'));
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string now = Shell(tmux + "capture-pane -p -t top").second;
          return now.substr(0, now.find('\n')) != first;
        },
        seconds(5), milliseconds(200)))
        << "top did not refresh: " << first;
    Shell(tmux + "send-keys -t top " + quit_key);
    EXPECT_TRUE(WaitFor([&] { return !session_alive(); }, seconds(5)))
        << "top did not exit on " << quit_key;
    if (session_alive()) Shell(tmux + "kill-session -t top");
  }
  Shell(tmux + "kill-server");

  // Not a terminal: one plain list per refresh, then exit after --count.
  {
    auto [rc, out] = Shell(top + " --count 3 | cat");
    EXPECT_EQ(rc, 0) << out;
    int frames = 0;
    for (size_t p = 0; (p = out.find("# ", p)) != std::string::npos; ++p) ++frames;
    EXPECT_EQ(frames, 3) << out;
    EXPECT_EQ(out.find("\033["), std::string::npos) << "escape codes in a pipe:\n" << out;
    EXPECT_NE(out.find("example-service"), std::string::npos) << out;
  }
  // --json: one object per refresh.
  {
    auto [rc, out] = Shell(top + " --count 2 --json");
    EXPECT_EQ(rc, 0) << out;
    std::istringstream lines(out);
    std::string line;
    int objects = 0;
    while (std::getline(lines, line)) {
      json j = json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << line;
      EXPECT_TRUE(j["targets"].is_array());
      ++objects;
    }
    EXPECT_EQ(objects, 2);
  }
  // history --follow ends after --count polls; targets shows the phase column.
  {
    auto [rc, out] = Shell(kKnobctl + " --socket=" + Socket() +
                           " history example-service --follow --count 2 --interval=0.2");
    EXPECT_EQ(rc, 0) << out;
    auto [trc, targets] = Shell(kKnobctl + " --socket " + Socket() + " targets");
    EXPECT_EQ(trc, 0) << targets;
    EXPECT_NE(targets.find("PHASE"), std::string::npos) << targets;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(targets, m,
                                  std::regex("example-service +active +(learning|exploring|"
                                             "verifying|converged)")))
        << targets;
  }
  // bash completion, run by bash itself.
  {
    const std::string comp = kSrc + "/daemon/knobctl/completion/knobctl.bash";
    auto complete = [&](const std::string& words, int cword) {
      return Shell("bash -c 'source " + comp + "; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                   std::to_string(cword) + "; _knobctl; printf \"%s\\n\" \"${COMPREPLY[@]}\"'")
          .second;
    };
    EXPECT_NE(complete(kKnobctl + " st", 1).find("status"), std::string::npos);
    EXPECT_NE(complete(kKnobctl + " t", 1).find("targets\ntop"), std::string::npos);
    EXPECT_NE(complete(kKnobctl + " --js", 1).find("--json"), std::string::npos);
    EXPECT_EQ(complete(kKnobctl + " --socket " + Socket() + " show \"\"", 4), "example-service\n");
    EXPECT_EQ(complete(kKnobctl + " --socket=" + Socket() + " mode example-service a", 4),
              "apply\n");
    EXPECT_NE(complete(kKnobctl + " analyze \"\"", 2).find("usl"), std::string::npos);
  }
  // zsh completion, run by an interactive zsh (compsys) in a real terminal: Tab completes a
  // command, an option and the live target name.
  {
    ASSERT_EQ(access("/usr/bin/zsh", X_OK), 0)
        << "/usr/bin/zsh is missing: install the Debian package 'zsh' (scripts/install-deps.sh)";
    const std::string zdot = Path("zdotdir");
    ASSERT_EQ(Shell("mkdir -p " + zdot).first, 0);
    {
      std::ofstream rc(zdot + "/.zshrc");
      rc << "fpath=(" << kSrc << "/daemon/knobctl/completion $fpath)\n"
         << "autoload -U compinit && compinit -u -D\nPS1='zsh> '\n";
    }
    const std::string bindir = kKnobctl.substr(0, kKnobctl.rfind('/'));
    const std::string zt = "/usr/bin/tmux -L knobd-zsh-" + std::to_string(getpid()) + " ";
    ASSERT_EQ(Shell(zt + "new-session -d -s z -x 250 -y 20 'env ZDOTDIR=" + zdot +
                    " PATH=" + bindir + ":/usr/bin:/bin zsh -i'")
                  .first,
              0);
    std::string screen;
    auto shows = [&](const std::string& want) {
      return WaitFor(
          [&] {
            screen = Shell(zt + "capture-pane -p -t z").second;
            return screen.find(want) != std::string::npos;
          },
          seconds(10), milliseconds(200));
    };
    EXPECT_TRUE(shows("zsh>")) << screen;  // capture-pane drops trailing blanks
    Shell(zt + "send-keys -t z 'knobctl --socket " + Socket() + " sh' Tab");
    EXPECT_TRUE(shows(Socket() + " show")) << "zsh did not complete the command:\n" << screen;
    Shell(zt + "send-keys -t z Tab");
    EXPECT_TRUE(shows(" show example-service")) << "zsh did not complete the target:\n" << screen;
    Shell(zt + "send-keys -t z C-c");
    Shell(zt + "send-keys -t z 'knobctl --js' Tab");
    EXPECT_TRUE(shows("knobctl --json")) << "zsh did not complete the option:\n" << screen;
    Shell(zt + "kill-server");
  }
}

}  // namespace
}  // namespace knob::test
