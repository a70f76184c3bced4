/* model_cache.c - one encoding per model version for downloads; see model_cache.h. */
#include "server/model_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

enum entry_state { ENCODING = 0, READY = 1, FAILED = 2 };

struct srv_mcache_entry {
    struct srv_mcache_entry *next;
    struct srv_mcache_key key;
    enum entry_state state;
    int refs;
    uint64_t used; /* LRU stamp */
    uint8_t *bytes;
    size_t len;
    struct mtg_err err; /* FAILED: what the encoder said */
};

struct srv_mcache {
    size_t max_bytes;
    struct srv_mcache_entry *head;
    uint64_t clock;
    struct srv_mcache_stats st;
};

struct srv_mcache *srv_mcache_new(size_t max_bytes)
{
    struct srv_mcache *c = calloc(1, sizeof *c);
    if (c)
        c->max_bytes = max_bytes;
    return c;
}

static void entry_free(struct srv_mcache_entry *e)
{
    free(e->bytes);
    free(e);
}

void srv_mcache_free(struct srv_mcache *c)
{
    if (!c)
        return;
    for (struct srv_mcache_entry *e = c->head, *n; e; e = n) {
        n = e->next;
        entry_free(e);
    }
    free(c);
}

static int key_eq(const struct srv_mcache_key *a, const struct srv_mcache_key *b)
{
    return a->task == b->task && a->kind == b->kind && a->dtype == b->dtype && a->flags == b->flags &&
           a->version == b->version;
}

static void unlink_entry(struct srv_mcache *c, struct srv_mcache_entry *e)
{
    for (struct srv_mcache_entry **p = &c->head; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    if (e->state == READY)
        c->st.bytes -= e->len;
    entry_free(e);
}

/* Drops unreferenced entries: failed ones, older versions of a key, then the least recently used over the cap. */
static void evict(struct srv_mcache *c)
{
    for (struct srv_mcache_entry *e = c->head, *n; e; e = n) {
        n = e->next;
        if (e->refs > 0 || e->state == ENCODING)
            continue;
        int stale = e->state == FAILED;
        for (const struct srv_mcache_entry *o = c->head; o && !stale; o = o->next)
            stale = o != e && o->key.task == e->key.task && o->key.kind == e->key.kind &&
                    o->key.dtype == e->key.dtype && o->key.flags == e->key.flags && o->key.version > e->key.version;
        if (stale)
            unlink_entry(c, e);
    }
    while (c->st.bytes > c->max_bytes) {
        struct srv_mcache_entry *victim = NULL;
        for (struct srv_mcache_entry *e = c->head; e; e = e->next)
            if (e->refs == 0 && e->state == READY && (!victim || e->used < victim->used))
                victim = e;
        if (!victim)
            return;
        unlink_entry(c, victim);
    }
}

/* Encodes outside mu: snapshot under it first. Returns with mu held and e READY or FAILED. */
static void encode_entry(struct srv_mcache *c, pthread_mutex_t *mu, struct srv_mcache_entry *e,
                         srv_mcache_snapshot_fn snapshot, void *ctx)
{
    struct mtg_blob *b = mtg_blob_new(&e->err);
    int rc = b ? snapshot(ctx, &e->key, b, &e->err) : MTG_ENOMEM;
    pthread_mutex_unlock(mu);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, e->key.flags, &bytes, &len, &e->err);
    mtg_blob_free(b);
    pthread_mutex_lock(mu);
    c->st.encodings++;
    if (rc != MTG_OK) {
        if (e->err.code == MTG_OK)
            mtg_err_set(&e->err, rc, "model: cannot encode");
        e->state = FAILED;
        return;
    }
    e->bytes = bytes;
    e->len = len;
    e->state = READY;
    c->st.bytes += len;
}

int srv_mcache_get(struct srv_mcache *c, pthread_mutex_t *mu, pthread_cond_t *cond, const struct srv_mcache_key *key,
                   srv_mcache_snapshot_fn snapshot, void *ctx, struct srv_mcache_entry **out, struct mtg_err *err)
{
    *out = NULL;
    struct srv_mcache_entry *e = c->head;
    while (e && !key_eq(&e->key, key))
        e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return mtg_err_set(err, MTG_ENOMEM, "model: out of memory");
        e->key = *key;
        e->state = ENCODING;
        e->refs = 1;
        e->next = c->head;
        c->head = e;
        encode_entry(c, mu, e, snapshot, ctx);
        pthread_cond_broadcast(cond);
    } else {
        e->refs++;
        c->st.hits++;
        while (e->state == ENCODING)
            pthread_cond_wait(cond, mu);
    }
    e->used = ++c->clock;
    if (e->state == FAILED) {
        int rc = mtg_err_set(err, e->err.code, "%s", e->err.msg);
        srv_mcache_release(c, e);
        return rc;
    }
    *out = e;
    return MTG_OK;
}

const uint8_t *srv_mcache_bytes(const struct srv_mcache_entry *e, size_t *len)
{
    *len = e->len;
    return e->bytes;
}

void srv_mcache_release(struct srv_mcache *c, struct srv_mcache_entry *e)
{
    if (!e)
        return;
    e->refs--;
    evict(c);
}

void srv_mcache_stats(const struct srv_mcache *c, struct srv_mcache_stats *out)
{
    *out = c->st;
}
