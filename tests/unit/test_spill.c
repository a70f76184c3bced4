/* Server memory budget of protocol mtgan: cold tasks spill to disk and reload bit-identical on demand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/status.h"
#include "proto/fed.h"

static struct mtg_gan_cfg small_cfg(void)
{
    struct mtg_gan_cfg c;
    mtg_gan_cfg_default(&c, 4);
    c.g.layer[0].out = 8;
    c.g.layer[1].out = 8;
    c.d.layer[0].out = 8;
    c.d.layer[1].out = 8;
    c.batch = 4;
    return c;
}

struct rig {
    char dir[64];
    struct mtg_sched *sched;
    struct mtg_fed *fed;
    size_t ng, nd;
    size_t bytes; /* one task's resident globals: G, its EMA (model.ema is on by default) and D */
};

/* Three tasks t0..t2 under a budget of exactly one task's globals. */
static void rig_up(struct rig *r)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/mtgan-spill-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    struct mtg_sched_params sp = {.local_steps = 10, .round_deadline_ms = 1000};
    r->sched = mtg_sched_new("fixed", &sp, NULL);
    struct mtg_gan_cfg c = small_cfg();
    struct mtg_err err = {0};
    /* A probe task without a budget tells how big one task is. */
    struct mtg_fed_opts o = {.round_deadline_ms = 1000, .server_lr = 1.0f, .edge_expiry_ms = 5000};
    struct mtg_fed *probe = mtg_fed_new(&o, r->sched, &err);
    cr_assert_eq(mtg_fed_add_task(probe, "p", &c, 1, &err), 0, "%s", err.msg);
    mtg_fed_task_g(probe, 0, &r->ng);
    mtg_fed_task_d(probe, 0, &r->nd);
    struct mtg_fed_mem pm;
    mtg_fed_memory(probe, &pm);
    r->bytes = pm.resident_bytes;
    cr_assert_eq(r->bytes, (2 * r->ng + r->nd) * sizeof(float), "G, the EMA of G and D");
    mtg_fed_free(probe);
    o.memory_budget = r->bytes;
    o.spill_dir = r->dir;
    r->fed = mtg_fed_new(&o, r->sched, &err);
    cr_assert_not_null(r->fed, "%s", err.msg);
    const char *ids[] = {"t0", "t1", "t2"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(mtg_fed_add_task(r->fed, ids[i], &c, (uint64_t)i + 1, &err), i, "%s", err.msg);
}

static void rig_down(struct rig *r)
{
    mtg_fed_free(r->fed);
    mtg_sched_free(r->sched);
    const char *ids[] = {"t0", "t1", "t2"};
    char path[128];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.blob", r->dir, ids[i]);
        unlink(path);
    }
    rmdir(r->dir);
}

static int spill_file_exists(const struct rig *r, const char *task)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.blob", r->dir, task);
    return access(path, F_OK) == 0;
}

static void mem(const struct rig *r, struct mtg_fed_mem *m) { mtg_fed_memory(r->fed, m); }

/* Copies task's globals (made resident) into new arrays g and d. */
static void snapshot(struct rig *r, int task, float **g, float **d)
{
    struct mtg_err err = {0};
    cr_assert_eq(mtg_fed_task_resident(r->fed, task, &err), MTG_OK, "%s", err.msg);
    size_t n;
    *g = malloc(r->ng * sizeof(float));
    *d = malloc(r->nd * sizeof(float));
    memcpy(*g, mtg_fed_task_g(r->fed, task, &n), r->ng * sizeof(float));
    memcpy(*d, mtg_fed_task_d(r->fed, task, &n), r->nd * sizeof(float));
}

Test(spill, only_the_budget_stays_resident_and_cold_tasks_are_on_disk)
{
    struct rig r;
    rig_up(&r);
    struct mtg_fed_mem m;
    mem(&r, &m);
    cr_assert_eq(m.resident, 1, "one task fits the budget");
    cr_assert_eq(m.spilled, 2);
    cr_assert(spill_file_exists(&r, "t0") && spill_file_exists(&r, "t1"));
    size_t n;
    cr_assert_null(mtg_fed_task_g(r.fed, 0, &n), "a spilled task has no arrays");
    cr_assert_eq(n, r.ng, "sizes are known while spilled");
    cr_assert_not_null(mtg_fed_task_g(r.fed, 2, &n), "the newest task is resident");
    cr_assert_eq(m.resident_bytes, r.bytes);
    rig_down(&r);
}

Test(spill, reload_is_bit_identical)
{
    struct rig r;
    rig_up(&r);
    float *g0, *d0;
    snapshot(&r, 0, &g0, &d0); /* t0 back from disk; t2 spilled to make room */
    struct mtg_err err = {0};
    cr_assert_eq(mtg_fed_task_resident(r.fed, 1, &err), MTG_OK, "%s", err.msg); /* spills t0 again */
    size_t n;
    cr_assert_null(mtg_fed_task_g(r.fed, 0, &n));
    cr_assert_eq(mtg_fed_task_resident(r.fed, 0, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(memcmp(mtg_fed_task_g(r.fed, 0, &n), g0, r.ng * sizeof(float)), 0);
    cr_assert_eq(memcmp(mtg_fed_task_d(r.fed, 0, &n), d0, r.nd * sizeof(float)), 0);
    struct mtg_fed_mem m;
    mem(&r, &m);
    cr_assert_eq(m.resident, 1);
    cr_assert_geq(m.reloads, 3);
    free(g0);
    free(d0);
    rig_down(&r);
}

static int submit_const(struct rig *r, int edge, int task, uint64_t round, float v, int64_t now)
{
    float *dg = malloc(r->ng * sizeof(float)), *dd = malloc(r->nd * sizeof(float));
    for (size_t i = 0; i < r->ng; i++)
        dg[i] = v;
    for (size_t i = 0; i < r->nd; i++)
        dd[i] = v;
    struct mtg_fed_update u = {.dg = dg, .ng = r->ng, .dd = dd, .nd = r->nd, .steps = 10};
    struct mtg_err err = {0};
    int rc = mtg_fed_submit(r->fed, edge, task, round, &u, now, &err);
    free(dg);
    free(dd);
    return rc;
}

/* Only `task` is planned next: each round then trains a different task. */
static void only_active(struct rig *r, int task)
{
    for (int t = 0; t < 3; t++)
        mtg_fed_set_task_quality(r->fed, t, t == task, 1.0);
}

Test(spill, rounds_on_different_tasks_update_spilled_tasks_correctly)
{
    struct rig r;
    rig_up(&r);
    float *g[3], *d[3];
    for (int t = 0; t < 3; t++)
        snapshot(&r, t, &g[t], &d[t]);
    struct mtg_err err = {0};
    const char *ids[] = {"t0", "t1", "t2"};
    int samples[] = {100};
    int e[3];
    for (int t = 0; t < 3; t++) {
        char name[8];
        snprintf(name, sizeof name, "e%d", t);
        e[t] = mtg_fed_register_edge(r.fed, name, 1, &ids[t], samples, 0, &err);
        cr_assert_geq(e[t], 0, "%s", err.msg);
    }
    const float delta[3] = {0.5f, -0.25f, 2.0f};
    int64_t now = 0;
    only_active(&r, 0);
    mtg_fed_tick(r.fed, now);
    /* Rounds t0, t1, t2, t0: each task is spilled when its round opens and reloads on submit. */
    for (int k = 0; k < 4; k++) {
        int t = k % 3;
        struct mtg_fed_assignment a;
        cr_assert_eq(mtg_fed_get_assignment(r.fed, e[t], now, &a), MTG_OK);
        cr_assert_eq(a.n_items, 1);
        size_t n;
        cr_assert_null(mtg_fed_task_g(r.fed, t, &n), "task %d is still on disk before its first access", t);
        cr_assert_eq(submit_const(&r, e[t], t, a.round, delta[t], now + 1), MTG_FED_APPLIED);
        for (size_t j = 0; j < r.ng; j++)
            g[t][j] += delta[t]; /* one edge, server_lr 1: the whole delta, exact in float */
        for (size_t j = 0; j < r.nd; j++)
            d[t][j] += delta[t];
        only_active(&r, (k + 1) % 3);
        now += 2;
        cr_assert_eq(mtg_fed_tick(r.fed, now), 1, "round %d closes", k);
        struct mtg_fed_mem m;
        mtg_fed_memory(r.fed, &m);
        cr_assert_eq(m.resident, 1, "after round %d only the budget stays resident", k);
        cr_assert_eq(m.spilled, 2);
        cr_assert_eq(m.resident_bytes, r.bytes);
    }
    cr_assert(spill_file_exists(&r, "t0") && spill_file_exists(&r, "t1") && spill_file_exists(&r, "t2"));
    for (int t = 0; t < 3; t++) {
        size_t n;
        cr_assert_eq(mtg_fed_task_resident(r.fed, t, &err), MTG_OK, "%s", err.msg);
        cr_assert_eq(memcmp(mtg_fed_task_g(r.fed, t, &n), g[t], r.ng * sizeof(float)), 0, "task %d g", t);
        cr_assert_eq(memcmp(mtg_fed_task_d(r.fed, t, &n), d[t], r.nd * sizeof(float)), 0, "task %d d", t);
        struct mtg_fed_task_info ti;
        mtg_fed_task_info(r.fed, t, &ti);
        cr_assert_eq(ti.version, t == 0 ? 2u : 1u);
        free(g[t]);
        free(d[t]);
    }
    rig_down(&r);
}

Test(spill, corrupt_spill_file_is_an_error_not_a_crash)
{
    struct rig r;
    rig_up(&r);
    char path[128];
    snprintf(path, sizeof path, "%s/t0.blob", r.dir);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 40, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
    struct mtg_err err = {0};
    cr_assert_eq(mtg_fed_task_resident(r.fed, 0, &err), MTG_EUNAVAIL);
    cr_assert_not_null(strstr(err.msg, "t0"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "t0.blob"), "the message names the file: %s", err.msg);
    size_t n;
    cr_assert_null(mtg_fed_task_g(r.fed, 0, &n), "the task stays spilled");
    /* An update for it is refused with the same error, and the other tasks still work. */
    const char *a0[] = {"t0", "t1"};
    int samples[] = {100, 100};
    int e0 = mtg_fed_register_edge(r.fed, "e0", 2, a0, samples, 0, &err);
    cr_assert_geq(e0, 0, "%s", err.msg);
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 0, &a), MTG_OK);
    cr_assert_eq(a.n_items, 1, "a task that cannot be reloaded leaves the plan");
    cr_assert_eq(a.item[0].task, 1);
    cr_assert_eq(submit_const(&r, e0, 1, a.round, 0.5f, 1), MTG_FED_APPLIED);
    struct mtg_fed_mem m;
    mem(&r, &m);
    cr_assert_geq(m.failures, 1);
    rig_down(&r);
}

Test(spill, budget_needs_a_spill_dir)
{
    struct mtg_fed_opts o = {.round_deadline_ms = 1000, .server_lr = 1.0f, .edge_expiry_ms = 5000,
                             .memory_budget = 1 << 20};
    struct mtg_err err = {0};
    cr_assert_null(mtg_fed_new(&o, NULL, &err));
    cr_assert_eq(err.code, MTG_EINVAL);
}

Test(spill, config_validation)
{
    struct mtg_cfg *c = malloc(sizeof *c);
    mtg_cfg_defaults(c);
    struct mtg_err err = {0};
    c->scheduler.server.memory_budget_mb = 64;
    cr_assert_eq(mtg_cfg_validate(c, &err), MTG_OK, "%s", err.msg);
    c->state_dir[0] = '\0';
    /* The key table already refuses an empty state_dir; either way a budget never runs without one. */
    cr_assert_neq(mtg_cfg_validate(c, &err), MTG_OK);
    cr_assert_not_null(strstr(err.msg, "state_dir"), "%s", err.msg);
    mtg_cfg_defaults(c);
    c->scheduler.server.memory_budget_mb = 64;
    c->protocol = MTG_CFG_PROTO_SGDA;
    cr_assert_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "sgda"), "%s", err.msg);
    free(c);
}
