// SPDX-License-Identifier: Apache-2.0
/* knob.h: the C ABI of knob::Client, so any language with a C FFI (Rust, Go, Python ctypes)
 * can make a service tunable by knobd. Semantics are those of <knob/client.h>: no call blocks
 * on the socket, hot-path calls are lock-free, callbacks run on the client's background thread.
 * Functions returning int return 0 on success and -1 on failure (bad argument, or the client
 * thread could not start). A NULL client is accepted everywhere and ignored.
 * Thread rule: every function may be called from any thread, except knob_client_free, which
 * must be the last call on a client. */
#ifndef KNOB_KNOB_H_
#define KNOB_KNOB_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define KNOB_API __attribute__((visibility("default")))
#else
#define KNOB_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct knob_client knob_client;

/* Called when knobd sets a knob. Return 1 if applied, 0 if rejected; on rejection write a
 * NUL-terminated reason of at most reason_len bytes into `reason`. */
typedef int (*knob_on_set_fn)(void* user, const char* knob, double value, char* reason,
                              size_t reason_len);

/* socket_path NULL: $KNOBD_SOCKET, else /run/knobd/control.sock. Returns NULL if name is empty. */
KNOB_API knob_client* knob_client_new(const char* name, const char* socket_path);
/* min/max: pass NAN for "unbounded". unit may be NULL. */
KNOB_API int knob_client_register_knob(knob_client* c, const char* name, double value, double min,
                                       double max, const char* unit, knob_on_set_fn on_set,
                                       void* user);
KNOB_API int knob_client_start(knob_client* c);
/* Stops the background thread (says bye) and frees the client. */
KNOB_API void knob_client_free(knob_client* c);

KNOB_API void knob_client_record_request(knob_client* c, uint64_t latency_ns);
KNOB_API void knob_client_record_error(knob_client* c);
KNOB_API void knob_client_set_in_flight(knob_client* c, double n);
KNOB_API void knob_client_set_queue_depth(knob_client* c, double n);
KNOB_API void knob_client_set_pool(knob_client* c, const char* pool, double size, double busy,
                                   double waiters);
KNOB_API void knob_client_cache_hit(knob_client* c, const char* cache);
KNOB_API void knob_client_cache_miss(knob_client* c, const char* cache);
/* Every access with the item's size, for the miss-ratio curve (SHARDS-sampled, rate 0.01). */
KNOB_API void knob_client_cache_access(knob_client* c, const char* cache, const char* key,
                                       size_t key_len, uint64_t size_bytes);
KNOB_API void knob_client_set_cache_size(knob_client* c, const char* cache, double bytes,
                                         double capacity_bytes);
KNOB_API void knob_client_set_gauge(knob_client* c, const char* name, double value);
/* 1 while connected and welcomed by knobd, else 0. */
KNOB_API int knob_client_connected(const knob_client* c);

#ifdef __cplusplus
}
#endif

#endif /* KNOB_KNOB_H_ */
