/*
 * novelty.h - unknown-task detection (issue 6 item 3): does a batch of
 * unlabelled local data belong to a task the server already knows, or is it
 * a candidate new task?
 *
 * Every known task t contributes a per-row acceptance test:
 *   - D:    D_t(x) >= the (1 - q) quantile of D_t's logits on samples of
 *           G_t, the only data of t an unlabelled edge can make itself.
 *           Measured (`mtgan bench novelty`), a GAN discriminator alone is
 *           a weak novelty detector: it learned to tell t's data from t's
 *           fakes, and its score on other classes is arbitrary (it accepts
 *           most rows of other digits).
 *   - mean: ||x - mu_t|| <= r_t, the task's data profile: mu_t is the mean
 *           of t's real rows and r_t the q quantile of their distance to it.
 *           Edges holding labelled data of t compute both where the data
 *           lives and send them at registration; no row leaves an edge.
 *   - D and mean: both must accept.
 * The default is mean: it separates a new digit from two known ones (0.89
 * detected, 0 false new), while D alone misses most new rows and D and mean
 * only helps once the GANs are well trained.
 * A kNN test against G_t samples (the improved-precision manifold of
 * Kynkaanniemi et al. 2019) was measured too and dropped: generators are
 * far less spread than their data, so it rejected every real row.
 * A batch is new when at least min_new of its rows are accepted by no known
 * task; those rows are the candidate's data, so a batch mixing known and
 * unknown data still yields a clean candidate.
 *
 *     struct mtg_novelty_opts o;
 *     mtg_novelty_opts_default(&o);
 *     struct mtg_novelty_task *d;
 *     mtg_novelty_task_new(gan_of_t, mu_t, r_t, &o, &d, &err);          // each known t
 *     mtg_novelty_task_accept(d, gan_of_t, x, n, accept + t * n);
 *     mtg_novelty_decide(accept, n_tasks, n, o.min_new, &verdict, unclaimed);
 *     mtg_novelty_task_free(d);
 */
#ifndef MTG_EDGE_NOVELTY_H
#define MTG_EDGE_NOVELTY_H

#include <stdint.h>

struct mtg_err;
struct mtg_gan;
struct mtg_novelty_task;

/* Values are stable (bench JSON, logs): only ever append. */
enum mtg_novelty_method {
    MTG_NOVELTY_D = 0,
    MTG_NOVELTY_MEAN = 1,
    MTG_NOVELTY_D_AND_MEAN = 2,
};

#define MTG_NOVELTY_MAX_CAL 4096

struct mtg_novelty_opts {
    enum mtg_novelty_method method;
    int n_cal;       /* G samples calibrating the D threshold, 1..MTG_NOVELTY_MAX_CAL */
    double quantile; /* share of t's own samples each test accepts, in (0, 1] */
    double min_new;  /* batch is new when >= this share of rows is accepted by no task, in (0, 1] */
    uint64_t seed;   /* G sampling */
};

/* mean, 256 calibration samples (for D), quantile 0.95, min_new 0.5. */
void mtg_novelty_opts_default(struct mtg_novelty_opts *o);

/* "d", "mean", "d+mean". */
const char *mtg_novelty_method_name(enum mtg_novelty_method m);

/*
 * A task's data profile from its real rows x [n >= 1, dim]: mean [dim]
 * (caller's buffer) and *radius, the q quantile of ||x_i - mean||.
 * Returns MTG_OK, MTG_EINVAL (n < 1, q outside [0, 1]) or MTG_ENOMEM.
 */
int mtg_novelty_profile(const float *x, int n, int dim, double q, float *mean, double *radius);

/*
 * A detector for one known task. gan (borrowed for the call; role FULL,
 * holding the task's global G and D) is needed unless o->method is MEAN;
 * mean [dim] (copied) and radius are the task's profile, needed unless
 * o->method is D. dim is the data width. *out is owned by the caller
 * (mtg_novelty_task_free). MTG_EINVAL for bad arguments, MTG_ENOMEM.
 */
int mtg_novelty_task_new(struct mtg_gan *gan, const float *mean, double radius, int dim,
                         const struct mtg_novelty_opts *o, struct mtg_novelty_task **out, struct mtg_err *err);
void mtg_novelty_task_free(struct mtg_novelty_task *t);

/* The calibrated D logit floor (NAN for method MEAN), for logs and the bench. */
double mtg_novelty_task_d_min(const struct mtg_novelty_task *t);

/*
 * accept[i] = 1 when the task accepts row i of x [n, dim], else 0. gan
 * (borrowed; ignored for method MEAN) must hold the G and D the detector was
 * calibrated with; its D workspace is overwritten. MTG_OK or MTG_ENOMEM.
 */
int mtg_novelty_task_accept(struct mtg_novelty_task *t, struct mtg_gan *gan, const float *x, int n,
                            unsigned char *accept);

struct mtg_novelty_verdict {
    int is_new;       /* 1: candidate new task */
    int n_unclaimed;  /* rows no task accepts */
    double new_frac;  /* n_unclaimed / n */
    int best_task;    /* task accepting the most rows, -1 when no task accepts any */
    double best_frac; /* share of rows best_task accepts */
};

/*
 * Pure decision over accept [n_tasks, n] (task t's row flags at
 * accept + t * n). With n_tasks == 0 every row is unclaimed; n == 0 is never
 * new. unclaimed (may be NULL) receives 1 for each row no task accepts.
 */
void mtg_novelty_decide(const unsigned char *accept, int n_tasks, int n, double min_new,
                        struct mtg_novelty_verdict *out, unsigned char *unclaimed);

/* Quantile q in [0, 1] of v [n > 0], lower nearest rank; sorts v in place. */
double mtg_novelty_quantile(float *v, int n, double q);

#endif
