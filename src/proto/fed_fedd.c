/*
 * fed_fedd.c - the server's half of protocol fedd (Ren, Liu, Yu & Guo
 * 2021, "A New Distributed Method for Training Generative Adversarial
 * Networks", arXiv 2107.08681): G_t trains against a discriminator while
 * the edges train their local D_t^e, which fed.c averages into D_t+1.
 *
 * Serial schedule: when the round closes, G takes k steps against the new
 * average D_t+1 (k = the round's mean local D steps, so G and D take as
 * many steps each, as in centralised training). Parallel schedule (the
 * paper's, and the default): when the round opens, G_t and D_t are copied
 * into the task's trainer and a background thread takes the k planned G
 * steps against D_t while the edges train; at close the round waits for
 * that thread and installs G_t+1. The trainer keeps G's Adam state from
 * round to round; its latents come from (seed, task, round), so both
 * schedules are deterministic.
 */
#include "proto/fed_internal.h"
#include "core/log.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

/* Builds t's trainer on first use; 0, or -1 when out of memory (G then waits a round). */
static int ensure_trainer(struct mtg_fed *fed, struct fed_task *t)
{
    if (t->trainer)
        return 0;
    struct mtg_gan_cfg c = t->cfg;
    c.g_max_batch = c.batch;
    c.recipe.ema = 0.0f; /* the EMA of the global G is kept in t->g, as for mtgan */
    t->trainer = mtg_gan_new(&c, MTG_GAN_FULL, fed->opts.seed, NULL);
    size_t nf = t->trainer ? (size_t)c.batch * (size_t)mtg_gan_data_dim(t->trainer) : 0;
    t->trainer_dfake = nf ? malloc(nf * sizeof(float)) : NULL;
    if (!t->trainer || !t->trainer_dfake) {
        mtg_gan_free(t->trainer);
        free(t->trainer_dfake);
        t->trainer = NULL;
        t->trainer_dfake = NULL;
        mtg_log(MTG_LOG_WARN, "fed", "task %s: no memory for the fedd G trainer; G waits", t->id);
        return -1;
    }
    fed->trainer_bytes += mtg_gan_bytes(t->trainer) + nf * sizeof(float);
    return 0;
}

/* Loads the globals into the trainer and seeds its latents for this round. */
static int load_trainer(struct mtg_fed *fed, struct fed_task *t)
{
    if (ensure_trainer(fed, t) != 0)
        return -1;
    memcpy(mtg_net_params(mtg_gan_generator(t->trainer)), t->g, t->ng * sizeof(float));
    memcpy(mtg_net_params(mtg_gan_discriminator(t->trainer)), t->d, t->nd * sizeof(float));
    mtg_gan_reseed(t->trainer, mtg_rng_key(fed->opts.seed, t->id, "fedd-server", t->rounds));
    return 0;
}

static float train(struct fed_task *t, int k)
{
    float gl = 0;
    for (int i = 0; i < k; i++)
        gl = mtg_gan_g_step(t->trainer, t->trainer_dfake);
    return gl;
}

/* The background thread touches only the trainers of tasks with fedd_k > 0, which fed.c leaves alone meanwhile. */
static void *worker(void *arg)
{
    struct mtg_fed *fed = arg;
    for (int i = 0; i < fed->fedd_n; i++) {
        struct fed_task *t = &fed->tasks[i];
        if (t->fedd_k <= 0)
            continue;
        t->fedd_loss_g = train(t, t->fedd_k);
        t->fedd_trained = 1;
    }
    atomic_store(&fed->fedd_done, 1);
    return NULL;
}

void fedd_open(struct mtg_fed *fed)
{
    if (!fed->opts.fedd_parallel)
        return;
    int any = 0;
    for (int i = 0; i < fed->n_tasks; i++) {
        struct fed_task *t = &fed->tasks[i];
        t->fedd_k = 0;
        t->fedd_trained = 0;
        if (!t->in_round)
            continue;
        /* The planned local steps are known now; the round's G takes their mean. */
        long steps = 0, items = 0;
        for (int e = 0; e < fed->n_edges; e++)
            for (int k = 0; k < fed->work[e].asg.n_items; k++)
                if (fed->work[e].asg.item[k].task == i) {
                    steps += fed->work[e].asg.item[k].steps;
                    items++;
                }
        if (items > 0 && load_trainer(fed, t) == 0) {
            t->fedd_k = (int)((steps + items / 2) / items);
            any = 1;
        }
    }
    if (!any)
        return;
    atomic_store(&fed->fedd_done, 0);
    fed->fedd_n = fed->n_tasks;
    if (pthread_create(&fed->fedd_thread, NULL, worker, fed) != 0) {
        mtg_log(MTG_LOG_WARN, "fed", "cannot start the fedd G thread; training G at round close instead");
        worker(fed);
        return;
    }
    fed->fedd_running = 1;
}

int fedd_ready(struct mtg_fed *fed)
{
    if (!fed->fedd_running)
        return 1;
    if (!atomic_load(&fed->fedd_done))
        return 0;
    pthread_join(fed->fedd_thread, NULL);
    fed->fedd_running = 0;
    return 1;
}

void fedd_close_task(struct mtg_fed *fed, struct fed_task *t, int k)
{
    if (fed->opts.fedd_parallel) {
        if (!t->fedd_trained)
            return;
        t->loss_g = t->fedd_loss_g;
    } else {
        if (k < 1 || load_trainer(fed, t) != 0)
            return;
        t->loss_g = train(t, k);
    }
    memcpy(t->g, mtg_net_params(mtg_gan_generator(t->trainer)), t->ng * sizeof(float));
    t->fedd_trained = 0;
}

void fedd_free(struct mtg_fed *fed)
{
    if (fed->fedd_running)
        pthread_join(fed->fedd_thread, NULL);
    fed->fedd_running = 0;
    for (int i = 0; fed->tasks && i < fed->n_tasks; i++) {
        mtg_gan_free(fed->tasks[i].trainer);
        free(fed->tasks[i].trainer_dfake);
        fed->tasks[i].trainer = NULL;
        fed->tasks[i].trainer_dfake = NULL;
    }
}
