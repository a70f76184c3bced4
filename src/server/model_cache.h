/*
 * model_cache.h - encoded model downloads, one encoding per model version.
 *
 * Encoding (and zlib) of a wide model takes seconds; done under the server
 * lock it stalled every heartbeat, update and /readyz, and N edges pulling
 * the same version paid for N encodings. Here the first download of a
 * (task, kind, codec, version) copies the parameters under the lock, encodes
 * the copy outside it, and publishes the bytes; downloads that arrive while
 * it encodes wait for it, later ones are served from the cache. Entries are
 * evicted least recently used beyond a byte cap (limits.model_cache_mb),
 * never while a download still reads them.
 *
 *     struct srv_mcache_key k = {.task = t, .kind = kind, .dtype = dt, .flags = fl, .version = v};
 *     pthread_mutex_lock(&mu);
 *     struct srv_mcache_entry *e;
 *     rc = srv_mcache_get(c, &mu, &cond, &k, snapshot_fn, ctx, &e, &err);   // mu held in and out
 *     pthread_mutex_unlock(&mu);
 *     ... use srv_mcache_bytes(e, &len) ...
 *     pthread_mutex_lock(&mu); srv_mcache_release(c, e); pthread_mutex_unlock(&mu);
 *
 * Not thread-safe by itself: every call but the encoding inside get runs
 * with the caller's mutex held.
 */
#ifndef MTG_SERVER_MODEL_CACHE_H
#define MTG_SERVER_MODEL_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/blob.h"

struct mtg_err;
struct srv_mcache;
struct srv_mcache_entry;

struct srv_mcache_key {
    int task;
    int kind;           /* the route's model kind, caller-defined */
    enum mtg_dtype dtype;
    unsigned flags;     /* MTG_BLOB_ZLIB or 0 */
    uint64_t version;
};

/*
 * Called with the mutex held: fills blob (empty, owned by the cache) with
 * the tensors to encode, copying the parameters (mtg_blob_add), since the
 * encoding runs after the mutex is released.
 */
typedef int (*srv_mcache_snapshot_fn)(void *ctx, const struct srv_mcache_key *key, struct mtg_blob *blob,
                                      struct mtg_err *err);

struct srv_mcache_stats {
    uint64_t encodings; /* blobs encoded (cache misses) */
    uint64_t hits;      /* downloads served by an encoding made for another */
    size_t bytes;       /* encoded bytes held */
};

/* max_bytes 0 = keep nothing once its downloads are sent (they still share an encoding in flight). */
struct srv_mcache *srv_mcache_new(size_t max_bytes);
void srv_mcache_free(struct srv_mcache *c);

/*
 * The encoded blob for key, with mu held on entry and on return (released
 * while encoding or waiting on cond, which get broadcasts when an encoding
 * ends). *out holds a reference until srv_mcache_release. MTG_OK, or the
 * snapshot's or encoder's error in err.
 */
int srv_mcache_get(struct srv_mcache *c, pthread_mutex_t *mu, pthread_cond_t *cond, const struct srv_mcache_key *key,
                   srv_mcache_snapshot_fn snapshot, void *ctx, struct srv_mcache_entry **out, struct mtg_err *err);
/* Bytes of a referenced entry; valid until it is released. Safe without mu. */
const uint8_t *srv_mcache_bytes(const struct srv_mcache_entry *e, size_t *len);
/* Drops the reference (mu held); the entry may be evicted from then on. */
void srv_mcache_release(struct srv_mcache *c, struct srv_mcache_entry *e);
void srv_mcache_stats(const struct srv_mcache *c, struct srv_mcache_stats *out);

#endif
