/*
 * batch.h - minibatch sampling from a pool of rows [pool_n, dim]. Nothing
 * here allocates per call, so a training step can sample freely: the
 * with-replacement sampler is a plain function, and the epoch sampler keeps
 * its permutation in a buffer made once by mtg_data_epoch_new().
 *
 *     mtg_data_batch(pool, pool_n, 64, batch, &rng, real);     // i.i.d. rows
 *
 *     struct mtg_data_epoch *ep;
 *     mtg_data_epoch_new(pool_n, seed, &ep, &err);
 *     mtg_data_epoch_next(ep, batch, idx);                    // each row once per epoch
 *     mtg_data_gather(pool, 64, idx, batch, real);
 *     mtg_data_epoch_free(ep);
 */
#ifndef MTG_DATA_BATCH_H
#define MTG_DATA_BATCH_H

#include <stdint.h>

struct mtg_err;
struct mtg_rng;
struct mtg_data_epoch;

/*
 * Writes batch rows drawn uniformly with replacement from pool into out
 * [batch, dim]. pool_n >= 1, batch >= 0; out must not overlap pool.
 */
void mtg_data_batch(const float *pool, int pool_n, int dim, int batch, struct mtg_rng *rng,
                    float *out);

/* out[i] = pool[idx[i]] for i < n; rows of dim floats. Indices are trusted. */
void mtg_data_gather(const float *pool, int dim, const int *idx, int n, float *out);

/*
 * Epoch-shuffled sampler over indices [0, pool_n): a seeded permutation is
 * walked batch by batch and reshuffled when exhausted (a batch that crosses
 * the end takes the tail, reshuffles, and continues from the new start).
 * Caller frees *out with mtg_data_epoch_free(). pool_n >= 1.
 */
int mtg_data_epoch_new(int pool_n, uint64_t seed, struct mtg_data_epoch **out,
                       struct mtg_err *err);
void mtg_data_epoch_free(struct mtg_data_epoch *ep);
/* Fills idx[0..batch) with the next indices; allocates nothing. */
void mtg_data_epoch_next(struct mtg_data_epoch *ep, int batch, int *idx);
/* Number of passes over the pool completed so far (counted when the next one starts). */
int mtg_data_epoch_count(const struct mtg_data_epoch *ep);

#endif
