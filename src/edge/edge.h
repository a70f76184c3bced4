/*
 * edge.h - mtgan-edge: one edge worker. Loads its shard of the data (the
 * seeded non-IID partition every process computes identically), registers
 * with the server, and runs the protocol the server speaks:
 *   mtgan: assignment -> pull stale models -> local steps -> push deltas;
 *   sgda:  fetch fake batch -> train local D -> return dL_G/dfake.
 * Compute and links are stretched by the emulation settings (DESIGN §10),
 * identically for both protocols.
 *
 *     struct mtg_edge *e;
 *     mtg_edge_new(&cfg, shard, &e, &err);
 *     mtg_edge_run(e, &stop, &err);     // until the server says done, or *stop
 *     mtg_edge_stats(e, &st);
 *     mtg_edge_free(e);
 */
#ifndef MTG_EDGE_EDGE_H
#define MTG_EDGE_EDGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"

struct mtg_err;
struct mtg_edge;

struct mtg_edge_stats {
    uint64_t steps;        /* local GAN steps (mtgan) or D steps (sgda) */
    uint64_t rounds;       /* assignments (mtgan) or fake batches (sgda) served */
    double compute_s;      /* thread CPU seconds spent training */
    double emulated_s;     /* extra seconds slept to emulate a slower device */
    double link_s;         /* emulated link seconds (latency + bandwidth) */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    /*
     * Of the emulated link seconds, those spent by the uploader thread while
     * the training thread kept computing (scheduler.edge.overlap). They are
     * not in link_s, which counts only link time the edge waited for.
     */
    double link_hidden_s;
    uint64_t model_loads;     /* local models built (first use, or reload after eviction) */
    uint64_t model_evictions; /* local models dropped by scheduler.edge.memory_budget_mb */
    size_t model_bytes_peak;  /* most bytes of local models held at once (mtgan) */
};

/*
 * Builds edge number `shard` (0-based) of cfg->n_edges: loads the data,
 * computes its partition, creates the HTTP client. *out is owned by the
 * caller (mtg_edge_free).
 */
int mtg_edge_new(const struct mtg_cfg *cfg, int shard, struct mtg_edge **out, struct mtg_err *err);

/* Registers and trains until the server reports done or *stop is set. */
int mtg_edge_run(struct mtg_edge *e, const atomic_int *stop, struct mtg_err *err);

void mtg_edge_stats(const struct mtg_edge *e, struct mtg_edge_stats *out);
void mtg_edge_free(struct mtg_edge *e);

#endif
