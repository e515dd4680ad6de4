/* SPDX-License-Identifier: Apache-2.0 */
/* Out-of-tree C user of libknob (knob::knob or `pkg-config knob`): registers one knob and waits
 * until knobd (the socket in $KNOBD_SOCKET) has welcomed it. Exit 0 when connected within 20 s. */
#include <knob/knob.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

static int on_set(void* user, const char* knob, double value, char* reason, size_t reason_len) {
  (void)user;
  (void)knob;
  (void)value;
  (void)reason;
  (void)reason_len;
  return 1;
}

int main(void) {
  struct timespec pause = {0, 100 * 1000 * 1000};
  int i;
  knob_client* c = knob_client_new("consumer-c", NULL);
  if (c == NULL ||
      knob_client_register_knob(c, "pool_size", 8, 1, NAN, "connections", on_set, NULL) != 0 ||
      knob_client_start(c) != 0) {
    fprintf(stderr, "c_consumer: could not create or start the client\n");
    return 1;
  }
  for (i = 0; i < 200 && !knob_client_connected(c); ++i) {
    knob_client_record_request(c, 2000000);
    nanosleep(&pause, NULL);
  }
  if (!knob_client_connected(c)) {
    fprintf(stderr, "c_consumer: not connected to knobd\n");
    knob_client_free(c);
    return 1;
  }
  printf("c_consumer: connected\n");
  knob_client_free(c);
  return 0;
}
