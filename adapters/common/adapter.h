// SPDX-License-Identifier: Apache-2.0
#pragma once
// What every adapter (adapters/*) shares: its command line (`--flag value` pairs, each
// documented by the adapter's usage text), a stop flag set by SIGTERM/SIGINT, and the poll
// loop that reads the software's statistics once per interval, and the start-up and shutdown
// around it. Each adapter is a knob::Client
// of knobd's control socket (client/client.h): this file only holds the chores around it.
// Thread rule: main thread only, except Stopping(), which any thread may read.

#include <knob/client.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace knob::adapter {

// Parsed `--name value` flags. Unknown flags and a flag without a value are errors that name
// the flag and list the accepted ones.
class Flags {
 public:
  // `known`: flag name (without --) -> default value ("" for none).
  static Result<Flags> Parse(int argc, char** argv,
                             const std::map<std::string, std::string>& known);
  const std::string& Get(const std::string& name) const;
  // A flag read as a number (bytes, counts); an error names the flag and the text.
  Result<double> Number(const std::string& name) const;
  // A flag read as a duration: "500ms", "2s" or plain seconds.
  Result<std::chrono::milliseconds> Duration(const std::string& name) const;
  bool Has(const std::string& name) const { return !Get(name).empty(); }

 private:
  std::map<std::string, std::string> values_;
};

// Prints `message` and the adapter's usage on stderr; returns the exit status of a bad command
// line (2).
int UsageError(const std::string& adapter, const Status& message, const char* usage);

// Calls `attempt` once a second until it succeeds, logging each distinct failure: under systemd
// the adapter may start before the software it relays. False when a stop signal came first.
bool WaitUntilUp(const std::string& adapter, const std::function<Status()>& attempt);

// The client options every adapter uses: --name, --knobd-socket and the report interval.
ClientOptions BaseClientOptions(const Flags& flags, std::chrono::milliseconds interval);

// The tail every adapter shares once its knobs are registered: one poll so the first report
// carries the software's numbers, the client started with poll() run right before each report
// (on the client's thread, so every report carries exactly one interval of the software's
// counters, at the period knobd's welcome asks for), `banner` logged, a wait for a stop signal,
// the client stopped. A failed poll is logged once per distinct message (a dead server does not
// flood the journal) and retried before the next report. Returns the adapter's exit status.
int Serve(Client& client, const std::string& adapter, const std::function<Status()>& poll,
          const std::string& banner);

// Installs SIGTERM/SIGINT handlers that make Stopping() true.
void InstallStopHandlers();
bool Stopping();

// A secret (password) from a file, so it never appears in `ps` or the unit file; trailing
// newline removed. Empty path: empty secret.
Result<std::string> ReadSecretFile(const std::string& path);

// One log line on stderr with the adapter's name (journald adds the time).
void Log(const std::string& adapter, const std::string& message);

}  // namespace knob::adapter
