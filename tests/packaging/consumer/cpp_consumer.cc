// SPDX-License-Identifier: Apache-2.0
// Out-of-tree C++ user of knob::client: registers one knob, records requests and waits until
// knobd (the socket in $KNOBD_SOCKET) has welcomed it. Exit 0 when connected within 20 s.
#include <knob/client.h>

#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  knob::Client client({.name = "consumer-cpp"});
  client.RegisterKnob(
      {.name = "worker_threads", .value = 4, .min = 1, .max = 16, .unit = "threads"},
      [](double) { return knob::SetResult::Applied(); });
  knob::Status started = client.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "cpp_consumer: start failed: %s\n",
                 std::string(started.message()).c_str());
    return 1;
  }
  for (int i = 0; i < 200 && !client.connected(); ++i) {
    client.RecordRequest(std::chrono::milliseconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!client.connected()) {
    std::fprintf(stderr, "cpp_consumer: not connected: %s\n", client.last_error().c_str());
    return 1;
  }
  std::printf("cpp_consumer: connected as target %s\n", client.target().c_str());
  return 0;
}
