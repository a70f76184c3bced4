/*
 * rng.h - seeded, reproducible random numbers (xoshiro256**, seeded through
 * splitmix64). A plain value type owned by the caller; not thread-safe, so
 * give each thread or worker its own stream with mtg_rng_fork().
 *
 *     struct mtg_rng rng;
 *     mtg_rng_seed(&rng, 42);
 *     mtg_rng_fill_normal(&rng, z, batch * zdim, 0.0f, 1.0f);
 */
#ifndef MTG_CORE_RNG_H
#define MTG_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct mtg_rng {
    uint64_t s[4];
};

void mtg_rng_seed(struct mtg_rng *rng, uint64_t seed);
/* An independent stream derived from (parent's seed state, stream id); parent is unchanged. */
void mtg_rng_fork(const struct mtg_rng *parent, uint64_t stream, struct mtg_rng *child);
/*
 * A seed derived from (seed, a, b, n), e.g. (run seed, task id, edge id,
 * round): the deterministic mode's rule that every random stream depends
 * on what it is for, never on how many numbers were drawn before it.
 * a and b may be NULL (treated as "").
 */
uint64_t mtg_rng_key(uint64_t seed, const char *a, const char *b, uint64_t n);
uint64_t mtg_rng_u64(struct mtg_rng *rng);
/* Uniform in [0, 1). */
double mtg_rng_uniform(struct mtg_rng *rng);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint64_t mtg_rng_below(struct mtg_rng *rng, uint64_t n);
float mtg_rng_normal(struct mtg_rng *rng);
void mtg_rng_fill_normal(struct mtg_rng *rng, float *out, size_t n, float mean, float std);
void mtg_rng_fill_uniform(struct mtg_rng *rng, float *out, size_t n, float lo, float hi);
/* Fisher-Yates shuffle of n ints. */
void mtg_rng_shuffle(struct mtg_rng *rng, int *v, size_t n);

#endif
