/* Server side of protocol mtgan: rounds, streaming aggregation, deadlines, async staleness. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    struct mtg_sched *sched;
    struct mtg_fed *fed;
    size_t ng, nd;
};

static void rig_up_budget(struct rig *r, int async, int staleness, uint64_t max_steps)
{
    struct mtg_sched_params sp = {.local_steps = 10, .round_deadline_ms = 1000};
    r->sched = mtg_sched_new("fixed", &sp, NULL);
    struct mtg_fed_opts o = {.round_deadline_ms = 1000, .async = async, .staleness_bound = staleness,
                             .server_lr = 1.0f, .edge_expiry_ms = 5000, .max_steps = max_steps};
    struct mtg_err err = {0};
    r->fed = mtg_fed_new(&o, r->sched, &err);
    cr_assert_not_null(r->fed, "%s", err.msg);
    struct mtg_gan_cfg c = small_cfg();
    cr_assert_eq(mtg_fed_add_task(r->fed, "t0", &c, 1, &err), 0, "%s", err.msg);
    mtg_fed_task_g(r->fed, 0, &r->ng);
    mtg_fed_task_d(r->fed, 0, &r->nd);
}

static void rig_up(struct rig *r, int async, int staleness) { rig_up_budget(r, async, staleness, 0); }

static void rig_down(struct rig *r)
{
    mtg_fed_free(r->fed);
    mtg_sched_free(r->sched);
}

static int submit_const(struct rig *r, int edge, uint64_t round, float v, int64_t now)
{
    float *dg = malloc(r->ng * sizeof(float)), *dd = malloc(r->nd * sizeof(float));
    for (size_t i = 0; i < r->ng; i++)
        dg[i] = v;
    for (size_t i = 0; i < r->nd; i++)
        dd[i] = v;
    struct mtg_fed_update u = {.dg = dg, .ng = r->ng, .dd = dd, .nd = r->nd, .steps = 10};
    struct mtg_err err = {0};
    int rc = mtg_fed_submit(r->fed, edge, 0, round, &u, now, &err);
    free(dg);
    free(dd);
    return rc;
}

Test(fed, sync_round_weighted_average_and_idempotent)
{
    struct rig r;
    rig_up(&r, 0, 0);
    const char *ids[] = {"t0"};
    int s1[] = {100}, s3[] = {300};
    int e0 = mtg_fed_register_edge(r.fed, "a", 1, ids, s1, 0, NULL);
    int e1 = mtg_fed_register_edge(r.fed, "b", 1, ids, s3, 0, NULL);
    float g0 = mtg_fed_task_g(r.fed, 0, &r.ng)[0];
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 0, &a), MTG_OK);
    cr_assert_eq(a.n_items, 1);
    cr_assert_eq(a.item[0].steps, 10);
    cr_assert_eq(submit_const(&r, e0, a.round, 1.0f, 1), MTG_FED_APPLIED);
    cr_assert_eq(submit_const(&r, e0, a.round, 1.0f, 1), MTG_FED_DUPLICATE, "same update id twice");
    cr_assert_eq(mtg_fed_tick(r.fed, 2), 0, "round waits for edge b");
    cr_assert_eq(submit_const(&r, e1, a.round, 5.0f, 3), MTG_FED_APPLIED);
    cr_assert_eq(mtg_fed_tick(r.fed, 4), 1);
    /* weights 100*10 and 300*10: (1*1 + 5*3) / 4 = 4 */
    float g1 = mtg_fed_task_g(r.fed, 0, &r.ng)[0];
    cr_assert_float_eq(g1 - g0, 4.0f, 1e-4);
    struct mtg_fed_task_info ti;
    mtg_fed_task_info(r.fed, 0, &ti);
    cr_assert_eq(ti.version, 1);
    cr_assert_eq(ti.steps, 20);
    cr_assert_eq(submit_const(&r, e0, a.round, 1.0f, 5), MTG_FED_DUPLICATE,
                 "a retry of an update the closed round already folded in is a duplicate, not an error");
    cr_assert_eq(submit_const(&r, e0, a.round - 1, 1.0f, 5), MTG_ECONFLICT, "an older round is a conflict");
    rig_down(&r);
}

/* An edge that registers again (it restarted) lost its work: the round stops waiting for it. */
Test(fed, re_registration_drops_the_open_assignment)
{
    struct rig r;
    rig_up(&r, 0, 0);
    const char *ids[] = {"t0"};
    int s[] = {10};
    int e0 = mtg_fed_register_edge(r.fed, "a", 1, ids, s, 0, NULL);
    int e1 = mtg_fed_register_edge(r.fed, "b", 1, ids, s, 0, NULL);
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 0, &a), MTG_OK);
    cr_assert_eq(submit_const(&r, e0, a.round, 1.0f, 1), MTG_FED_APPLIED);
    cr_assert_eq(mtg_fed_tick(r.fed, 2), 0, "round waits for edge b");
    cr_assert_eq(mtg_fed_register_edge(r.fed, "b", 1, ids, s, 3, NULL), e1, "same edge, same slot");
    cr_assert_eq(mtg_fed_tick(r.fed, 4), 1, "round closes without b's lost work, long before its deadline");
    cr_assert_eq(submit_const(&r, e1, a.round, 1.0f, 5), MTG_ECONFLICT,
                 "an upload for work the restart dropped is refused");
    rig_down(&r);
}

/* A straggler never blocks a sync round past its deadline. */
Test(fed, straggler_does_not_block_past_deadline)
{
    struct rig r;
    rig_up(&r, 0, 0);
    const char *ids[] = {"t0"};
    int s[] = {10};
    int e0 = mtg_fed_register_edge(r.fed, "fast", 1, ids, s, 0, NULL);
    mtg_fed_register_edge(r.fed, "slow", 1, ids, s, 0, NULL);
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    mtg_fed_get_assignment(r.fed, e0, 0, &a);
    submit_const(&r, e0, a.round, 2.0f, 10);
    cr_assert_eq(mtg_fed_tick(r.fed, 999), 0);
    cr_assert_eq(mtg_fed_tick(r.fed, 1000), 1, "closes at the deadline without the straggler");
    cr_assert_eq(mtg_fed_round(r.fed), 2, "next round opened");
    rig_down(&r);
}

Test(fed, rejects_bad_updates_without_change)
{
    struct rig r;
    rig_up(&r, 0, 0);
    const char *ids[] = {"t0"};
    int s[] = {10};
    int e0 = mtg_fed_register_edge(r.fed, "a", 1, ids, s, 0, NULL);
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    mtg_fed_get_assignment(r.fed, e0, 0, &a);
    float *dg = calloc(r.ng, sizeof(float)), *dd = calloc(r.nd, sizeof(float));
    dg[3] = NAN;
    struct mtg_fed_update u = {.dg = dg, .ng = r.ng, .dd = dd, .nd = r.nd, .steps = 10};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_fed_submit(r.fed, e0, 0, a.round, &u, 1, &err), MTG_ENOTFINITE);
    u.ng = r.ng - 1;
    dg[3] = 0;
    cr_assert_eq(mtg_fed_submit(r.fed, e0, 0, a.round, &u, 1, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "parameters"), "%s", err.msg);
    cr_assert_eq(mtg_fed_updates_accepted(r.fed), 0);
    cr_assert_eq(mtg_fed_updates_rejected(r.fed), 2);
    const char *bad[] = {"nope"};
    cr_assert_eq(mtg_fed_register_edge(r.fed, "b", 1, bad, s, 0, &err), MTG_ENOTFOUND);
    free(dg);
    free(dd);
    rig_down(&r);
}

/* Async rejects an update beyond the staleness bound. */
Test(fed, async_staleness_bound)
{
    struct rig r;
    rig_up(&r, 1, 1);
    const char *ids[] = {"t0"};
    int s[] = {10};
    int e0 = mtg_fed_register_edge(r.fed, "a", 1, ids, s, 0, NULL);
    int e1 = mtg_fed_register_edge(r.fed, "b", 1, ids, s, 0, NULL);
    struct mtg_fed_assignment a0, a1;
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e1, 0, &a1), MTG_OK); /* b starts at version 0 */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 0, &a0), MTG_OK);
        cr_assert_eq(submit_const(&r, e0, a0.round, 0.1f, 1), MTG_FED_APPLIED);
    }
    struct mtg_fed_task_info ti;
    mtg_fed_task_info(r.fed, 0, &ti);
    cr_assert_eq(ti.version, 3);
    cr_assert_eq(submit_const(&r, e1, a1.round, 0.1f, 2), MTG_ECONFLICT, "3 versions stale > bound 1");
    rig_down(&r);
}

Test(fed, warm_start_copies_globals)
{
    struct rig r;
    rig_up(&r, 0, 0);
    int t1 = mtg_fed_add_task_from(r.fed, "t1", 0, NULL);
    cr_assert_eq(t1, 1);
    size_t n0, n1;
    float *a = mtg_fed_task_g(r.fed, 0, &n0), *b = mtg_fed_task_g(r.fed, 1, &n1);
    cr_assert_eq(n0, n1);
    cr_assert_eq(memcmp(a, b, n0 * sizeof(float)), 0);
    cr_assert_lt(mtg_fed_add_task_from(r.fed, "t1", 0, NULL), 0, "duplicate id");
    rig_down(&r);
}

Test(fed, task_at_budget_leaves_the_next_round)
{
    /* Two rounds of 10 steps spend a budget of 20: the round opened by the
     * very tick that closes the second must not include the task again. */
    struct rig r;
    rig_up_budget(&r, 0, 0, 20);
    const char *ids[] = {"t0"};
    int n[] = {100};
    int e = mtg_fed_register_edge(r.fed, "a", 1, ids, n, 0, NULL);
    struct mtg_fed_assignment a;
    for (int round = 1; round <= 2; round++) {
        mtg_fed_tick(r.fed, round * 10);
        cr_assert_eq(mtg_fed_get_assignment(r.fed, e, round * 10, &a), MTG_OK);
        cr_assert_eq(a.n_items, 1, "round %d plans the task", round);
        cr_assert_eq(submit_const(&r, e, a.round, 0.5f, round * 10 + 1), MTG_FED_APPLIED);
    }
    mtg_fed_tick(r.fed, 30);
    struct mtg_fed_task_info info;
    mtg_fed_task_info(r.fed, 0, &info);
    cr_assert_eq(info.steps, 20);
    cr_assert_eq(info.active, 0, "a task at its budget is retired");
    cr_assert_eq(mtg_fed_round_open(r.fed), 0, "no round opens with nothing left to train");
    mtg_fed_set_task_quality(r.fed, 0, 1, 0.5);
    mtg_fed_task_info(r.fed, 0, &info);
    cr_assert_eq(info.active, 0, "quality feedback cannot revive a spent task");
    rig_down(&r);
}

/* A straggler's late update is refused, but its timing still profiles it: the next plan's deadline covers its work. */
Test(fed, late_update_still_profiles_its_edge)
{
    struct mtg_sched_params sp = {.local_steps = 10, .round_deadline_ms = 1000, .min_steps = 1};
    struct mtg_sched *sched = mtg_sched_new("profiled", &sp, NULL);
    struct mtg_fed_opts o = {.round_deadline_ms = 1000, .server_lr = 1.0f, .edge_expiry_ms = 60000};
    struct mtg_err err = {0};
    struct mtg_fed *fed = mtg_fed_new(&o, sched, &err);
    cr_assert_not_null(fed, "%s", err.msg);
    struct mtg_gan_cfg c = small_cfg();
    cr_assert_eq(mtg_fed_add_task(fed, "t0", &c, 1, &err), 0, "%s", err.msg);
    size_t ng, nd;
    mtg_fed_task_g(fed, 0, &ng);
    mtg_fed_task_d(fed, 0, &nd);
    float *dg = calloc(ng, sizeof(float)), *dd = calloc(nd, sizeof(float));
    const char *ids[] = {"t0"};
    int s[] = {10};
    int slow = mtg_fed_register_edge(fed, "slow", 1, ids, s, 0, NULL);
    mtg_fed_tick(fed, 0);
    struct mtg_fed_assignment a;
    cr_assert_eq(mtg_fed_get_assignment(fed, slow, 0, &a), MTG_OK);
    cr_assert_eq(mtg_fed_tick(fed, 1000), 1, "round 1 closes at its deadline, empty");
    /* 10 steps took 5 s: five times the whole deadline. */
    struct mtg_fed_update u = {.dg = dg, .ng = ng, .dd = dd, .nd = nd, .steps = 10, .compute_s = 5.0};
    cr_assert_eq(mtg_fed_submit(fed, slow, 0, a.round, &u, 5000, &err), MTG_ECONFLICT, "too late to count");
    /* Round 2 (planned before the report) closes at 2000 s; the round opened now is planned with it. */
    cr_assert_eq(mtg_fed_tick(fed, 5000), 1, "round 2 closes at its deadline");
    struct mtg_fed_assignment b;
    cr_assert_eq(mtg_fed_get_assignment(fed, slow, 5000, &b), MTG_OK);
    cr_assert_eq(b.n_items, 1);
    double work_ms = b.item[0].steps * 500.0; /* 0.5 s per step, as reported */
    cr_assert_geq((double)(b.deadline_ms - 5000), 2.0 * work_ms - 1, "deadline %lld ms after the open for %.0f ms of work",
                  (long long)(b.deadline_ms - 5000), work_ms);
    cr_assert_gt(b.deadline_ms - 5000, 1000, "longer than the configured 1 s");
    free(dg);
    free(dd);
    mtg_fed_free(fed);
    mtg_sched_free(sched);
}

/* DELETE /v1/tasks: a task dropped mid-round frees its globals and the round does not wait for it. */
Test(fed, dropped_task_is_freed_and_leaves_the_round)
{
    struct rig r;
    rig_up(&r, 0, 0);
    struct mtg_gan_cfg c = small_cfg();
    cr_assert_eq(mtg_fed_add_task(r.fed, "t1", &c, 2, NULL), 1);
    const char *ids[] = {"t0", "t1"};
    int s[] = {10, 10};
    int e0 = mtg_fed_register_edge(r.fed, "a", 2, ids, s, 0, NULL);
    size_t live = mtg_fed_live_bytes(r.fed);
    mtg_fed_tick(r.fed, 0);
    struct mtg_fed_assignment a;
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 0, &a), MTG_OK);
    cr_assert_eq(a.n_items, 2);
    mtg_fed_task_drop(r.fed, 1);
    cr_expect_eq(mtg_fed_live_bytes(r.fed), live / 2, "the dropped task's globals still count");
    size_t n;
    cr_expect_null(mtg_fed_task_g(r.fed, 1, &n));
    struct mtg_err err = {0};
    cr_expect_eq(mtg_fed_task_resident(r.fed, 1, &err), MTG_EUNAVAIL);
    cr_expect(strstr(err.msg, "deleted"), "%s", err.msg);
    cr_assert_eq(submit_const(&r, e0, a.round, 1.0f, 1), MTG_FED_APPLIED);
    cr_expect_eq(mtg_fed_tick(r.fed, 2), 1, "the round waited for the dropped task's item");
    mtg_fed_tick(r.fed, 3);
    cr_assert_eq(mtg_fed_get_assignment(r.fed, e0, 3, &a), MTG_OK);
    for (int k = 0; k < a.n_items; k++)
        cr_expect_neq(a.item[k].task, 1, "the dropped task was planned again");
    rig_down(&r);
}
