#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"

struct mtg_data_epoch {
    struct mtg_rng rng;
    int n;
    int pos;    /* next unread position in perm */
    int epochs; /* completed passes */
    int *perm;  /* [n] */
};

void mtg_data_batch(const float *pool, int pool_n, int dim, int batch, struct mtg_rng *rng,
                    float *out)
{
    size_t row = (size_t)dim * sizeof *pool;
    for (int i = 0; i < batch; i++) {
        size_t r = (size_t)mtg_rng_below(rng, (uint64_t)pool_n);
        memcpy(out + (size_t)i * (size_t)dim, pool + r * (size_t)dim, row);
    }
}

void mtg_data_gather(const float *pool, int dim, const int *idx, int n, float *out)
{
    size_t row = (size_t)dim * sizeof *pool;
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * (size_t)dim, pool + (size_t)idx[i] * (size_t)dim, row);
}

int mtg_data_epoch_new(int pool_n, uint64_t seed, struct mtg_data_epoch **out,
                       struct mtg_err *err)
{
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "epoch sampler: NULL argument");
    *out = NULL;
    if (pool_n < 1)
        return mtg_err_set(err, MTG_EINVAL, "epoch sampler: empty pool (%d rows)", pool_n);
    struct mtg_data_epoch *ep = calloc(1, sizeof *ep);
    if (!ep)
        goto fail;
    ep->perm = malloc((size_t)pool_n * sizeof *ep->perm);
    if (!ep->perm)
        goto fail;
    mtg_rng_seed(&ep->rng, seed);
    ep->n = pool_n;
    for (int i = 0; i < pool_n; i++)
        ep->perm[i] = i;
    mtg_rng_shuffle(&ep->rng, ep->perm, (size_t)pool_n);
    *out = ep;
    return MTG_OK;
fail:
    mtg_data_epoch_free(ep);
    return mtg_err_set(err, MTG_ENOMEM, "epoch sampler: out of memory for %d rows", pool_n);
}

void mtg_data_epoch_free(struct mtg_data_epoch *ep)
{
    if (!ep)
        return;
    free(ep->perm);
    free(ep);
}

void mtg_data_epoch_next(struct mtg_data_epoch *ep, int batch, int *idx)
{
    for (int i = 0; i < batch; i++) {
        if (ep->pos == ep->n) {
            mtg_rng_shuffle(&ep->rng, ep->perm, (size_t)ep->n);
            ep->pos = 0;
            ep->epochs++;
        }
        idx[i] = ep->perm[ep->pos++];
    }
}

int mtg_data_epoch_count(const struct mtg_data_epoch *ep)
{
    return ep->epochs;
}
