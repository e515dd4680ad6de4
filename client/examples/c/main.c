// SPDX-License-Identifier: Apache-2.0
/* A complete small service made tunable by knobd through the C ABI, knob.h (docs/integrating.md).
 * It "serves" requests, lets knobd resize its worker pool, and runs for argv[1] seconds
 * (default 10). Exit status 0 once it has been connected to knobd. */
#define _POSIX_C_SOURCE 200809L
#include <knob/knob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int workers = 4; /* written by on_set on the client's thread, read below: a demo */

static int on_set(void* user, const char* knob, double value, char* reason, size_t len) {
  (void)user;
  if (value != floor(value)) {
    snprintf(reason, len, "%s takes whole numbers", knob);
    return 0;
  }
  __atomic_store_n(&workers, (int)value, __ATOMIC_RELAXED);
  printf("c-example: %s set to %d\n", knob, (int)value);
  return 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  /* NULL socket: $KNOBD_SOCKET, else /run/knobd/control.sock. */
  knob_client* c = knob_client_new("c-example", NULL);
  if (c == NULL) return 2;
  knob_client_register_knob(c, "workers", 4, 1, 64, "threads", on_set, NULL);
  if (knob_client_start(c) != 0) fprintf(stderr, "c-example: tuning is off\n");

  int was_connected = 0;
  unsigned n = 0;
  double end = now_seconds() + seconds;
  while (now_seconds() < end) {
    double start = now_seconds();
    char key[32];
    int len = snprintf(key, sizeof(key), "item-%u", (n++ * 7919u) % 200u);
    knob_client_cache_access(c, "main", key, (size_t)len, 1024);
    knob_client_cache_hit(c, "main");
    struct timespec work = {0, 2000000}; /* the "work": 2 ms */
    nanosleep(&work, NULL);
    knob_client_record_request(c, (uint64_t)((now_seconds() - start) * 1e9));
    knob_client_set_pool(c, "workers", __atomic_load_n(&workers, __ATOMIC_RELAXED), 1, 0);
    was_connected |= knob_client_connected(c);
  }
  knob_client_free(c); /* says bye, joins */
  printf("c-example: %s\n", was_connected ? "reported to knobd" : "never connected to knobd");
  return was_connected ? 0 : 1;
}
