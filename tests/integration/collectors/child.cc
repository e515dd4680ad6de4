// SPDX-License-Identifier: Apache-2.0
// A child process with known behaviour for the collector integration tests. It prints "ready"
// (and for `listen`, the port) on stdout once set up, then waits until killed.
//   child spin            one thread spins on a core
//   child idle N          N extra threads blocked forever
//   child listen BACKLOG  listens on 127.0.0.1:0 and never accepts
//   child alloc MIB       allocates and touches MIB mebibytes
//   child name NAME       sets its comm to NAME (spaces, parentheses)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  std::vector<std::thread> threads;
  static std::atomic<bool> stop{false};
  if (mode == "spin") {
    threads.emplace_back([] {
      volatile unsigned long x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
    std::printf("ready\n");
  } else if (mode == "idle" && argc > 2) {
    int n = std::atoi(argv[2]);
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([] { pause(); });
    }
    std::printf("ready\n");
  } else if (mode == "listen" && argc > 2) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 3;
    if (listen(fd, std::atoi(argv[2])) != 0) return 4;
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    std::printf("ready %d\n", ntohs(a.sin_port));
  } else if (mode == "alloc" && argc > 2) {
    size_t bytes = static_cast<size_t>(std::atol(argv[2])) << 20;
    char* p = static_cast<char*>(std::malloc(bytes));
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    std::printf("ready\n");
  } else if (mode == "name" && argc > 2) {
    prctl(PR_SET_NAME, argv[2], 0, 0, 0);
    std::printf("ready\n");
  } else {
    return 2;
  }
  std::fflush(stdout);
  for (;;) pause();
}
