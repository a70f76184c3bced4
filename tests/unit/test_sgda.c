/* Server side of the sgda baseline: lock-step, averaging, deadlines. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "proto/sgda.h"

static struct mtg_gan_cfg cfg4(void)
{
    struct mtg_gan_cfg c;
    mtg_gan_cfg_default(&c, 4);
    c.batch = 4;
    return c;
}

Test(sgda, lockstep_round_robin_over_tasks)
{
    struct mtg_sgda_opts o = {.step_deadline_ms = 1000, .edge_expiry_ms = 5000};
    struct mtg_err err = {0};
    struct mtg_sgda *s = mtg_sgda_new(&o, &err);
    struct mtg_gan_cfg c = cfg4();
    mtg_sgda_add_task(s, "a", &c, 1, &err);
    mtg_sgda_add_task(s, "b", &c, 2, &err);
    const char *both[] = {"a", "b"}, *onlyb[] = {"b"};
    int n2[] = {5, 5}, n1[] = {5};
    int e0 = mtg_sgda_register_edge(s, "e0", 2, both, n2, 0, &err);
    int e1 = mtg_sgda_register_edge(s, "e1", 1, onlyb, n1, 0, &err);
    mtg_sgda_tick(s, 0);
    struct mtg_sgda_fakes f;
    cr_assert_eq(mtg_sgda_take_fakes(s, e0, 0, &f), MTG_OK);
    cr_assert_eq(f.task, 0);
    cr_assert_eq(f.rows, 4);
    cr_assert_eq(mtg_sgda_take_fakes(s, e1, 0, &f), MTG_EUNAVAIL, "e1 has no data for task a");
    float fb[16] = {0.01f};
    cr_assert_eq(mtg_sgda_feedback(s, e0, 0, 1, fb, 16, NULL, 1, &err), 0, "%s", err.msg);
    /* Task a stepped; now task b with both edges. */
    struct mtg_sgda_task_info ti;
    mtg_sgda_task_info(s, 0, &ti);
    cr_assert_eq(ti.steps, 1);
    struct mtg_sgda_fakes f0, f1;
    cr_assert_eq(mtg_sgda_take_fakes(s, e0, 1, &f0), MTG_OK);
    cr_assert_eq(mtg_sgda_take_fakes(s, e1, 1, &f1), MTG_OK);
    cr_assert_eq(f0.task, 1);
    cr_assert_neq(f0.fake, f1.fake, "each edge gets its own rows");
    cr_assert_eq(mtg_sgda_feedback(s, e0, 1, f0.step, fb, 16, NULL, 2, &err), 0);
    cr_assert_eq(mtg_sgda_feedback(s, e0, 1, f0.step, fb, 16, NULL, 2, &err), 1, "duplicate ignored");
    mtg_sgda_task_info(s, 1, &ti);
    cr_assert_eq(ti.steps, 0, "waits for e1 (lock-step)");
    cr_assert_eq(mtg_sgda_feedback(s, e1, 1, f0.step, fb, 15, NULL, 2, &err), MTG_EINVAL);
    fb[2] = INFINITY;
    cr_assert_eq(mtg_sgda_feedback(s, e1, 1, f0.step, fb, 16, NULL, 2, &err), MTG_ENOTFINITE);
    fb[2] = 0;
    cr_assert_eq(mtg_sgda_feedback(s, e1, 1, f0.step, fb, 16, NULL, 2, &err), 0);
    mtg_sgda_task_info(s, 1, &ti);
    cr_assert_eq(ti.steps, 1);
    cr_assert_eq(mtg_sgda_feedback(s, e1, 1, f0.step, fb, 16, NULL, 3, &err), MTG_ECONFLICT, "old step");
    mtg_sgda_free(s);
}

Test(sgda, silent_edge_cannot_block_past_deadline)
{
    struct mtg_sgda_opts o = {.step_deadline_ms = 100, .edge_expiry_ms = 5000};
    struct mtg_sgda *s = mtg_sgda_new(&o, NULL);
    struct mtg_gan_cfg c = cfg4();
    mtg_sgda_add_task(s, "a", &c, 1, NULL);
    const char *ids[] = {"a"};
    int n[] = {5};
    int e0 = mtg_sgda_register_edge(s, "e0", 1, ids, n, 0, NULL);
    mtg_sgda_register_edge(s, "e1", 1, ids, n, 0, NULL);
    mtg_sgda_tick(s, 0);
    struct mtg_sgda_fakes f;
    mtg_sgda_take_fakes(s, e0, 0, &f);
    float fb[16] = {0};
    mtg_sgda_feedback(s, e0, 0, f.step, fb, 16, NULL, 10, NULL);
    cr_assert_eq(mtg_sgda_tick(s, 50), 0);
    cr_assert_eq(mtg_sgda_tick(s, 100), 1);
    struct mtg_sgda_task_info ti;
    mtg_sgda_task_info(s, 0, &ti);
    cr_assert_eq(ti.steps, 1, "applied with the feedback that arrived");
    cr_assert_eq(mtg_sgda_step(s), 2);
    mtg_sgda_free(s);
}

Test(sgda, pipelined_keeps_every_task_step_open)
{
    struct mtg_sgda_opts o = {.step_deadline_ms = 1000, .edge_expiry_ms = 5000, .pipeline = 1};
    struct mtg_err err = {0};
    struct mtg_sgda *s = mtg_sgda_new(&o, &err);
    struct mtg_gan_cfg c = cfg4();
    mtg_sgda_add_task(s, "a", &c, 1, &err);
    mtg_sgda_add_task(s, "b", &c, 2, &err);
    const char *both[] = {"a", "b"};
    int n2[] = {5, 5};
    int e0 = mtg_sgda_register_edge(s, "e0", 2, both, n2, 0, &err);
    mtg_sgda_tick(s, 0);
    struct mtg_sgda_fakes fa, fb;
    cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 0, 0, &fa), MTG_OK, "task a open");
    cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 1, 0, &fb), MTG_OK, "task b open at the same time");
    cr_assert_eq(fa.step, 1, "pipelined step ids count per task");
    cr_assert_eq(fb.step, 1);
    float d[16] = {0.01f};
    /* b finishes first: its next step opens while a's first is still out. */
    cr_assert_eq(mtg_sgda_feedback(s, e0, 1, fb.step, d, 16, NULL, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 1, 1, &fb), MTG_OK);
    cr_assert_eq(fb.step, 2);
    cr_assert_eq(mtg_sgda_take_fakes(s, e0, 1, &fa), MTG_OK);
    cr_assert_eq(fa.task, 0, "any-task take returns the first task waiting for this edge");
    cr_assert_eq(mtg_sgda_feedback(s, e0, 0, 2, d, 16, NULL, 1, &err), MTG_ECONFLICT, "a is at step 1");
    cr_assert_eq(mtg_sgda_feedback(s, e0, 0, 1, d, 16, NULL, 1, &err), 0);
    struct mtg_sgda_task_info ti;
    mtg_sgda_task_info(s, 0, &ti);
    cr_assert_eq(ti.steps, 1);
    mtg_sgda_task_info(s, 1, &ti);
    cr_assert_eq(ti.steps, 1);
    mtg_sgda_free(s);
}

/* Deterministic pipelining: a task that reaches the barrier waits there until the others do, then one check. */
Test(sgda, pipelined_deterministic_waits_at_the_eval_barrier)
{
    struct mtg_sgda_opts o = {.step_deadline_ms = 1000, .edge_expiry_ms = 5000, .pipeline = 1,
                              .deterministic = 1, .min_edges = 1, .eval_every = 2};
    struct mtg_err err = {0};
    struct mtg_sgda *s = mtg_sgda_new(&o, &err);
    struct mtg_gan_cfg c = cfg4();
    mtg_sgda_add_task(s, "a", &c, 1, &err);
    mtg_sgda_add_task(s, "b", &c, 2, &err);
    const char *both[] = {"a", "b"};
    int n2[] = {5, 5};
    int e0 = mtg_sgda_register_edge(s, "e0", 2, both, n2, 0, &err);
    mtg_sgda_tick(s, 0);
    float d[16] = {0.01f};
    struct mtg_sgda_fakes f;
    for (uint64_t k = 1; k <= 2; k++) {
        cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 0, 0, &f), MTG_OK);
        cr_assert_eq(mtg_sgda_feedback(s, e0, 0, k, d, 16, NULL, 0, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 0, 0, &f), MTG_EUNAVAIL, "a waits at the barrier");
    cr_assert_eq(mtg_sgda_eval_pending(s), 0, "b is still on its way");
    cr_assert_eq(mtg_sgda_feedback(s, e0, 1, 1, d, 16, NULL, 0, &err), 0);
    cr_assert_eq(mtg_sgda_eval_pending(s), 0);
    cr_assert_eq(mtg_sgda_feedback(s, e0, 1, 2, d, 16, NULL, 0, &err), 0);
    cr_assert_eq(mtg_sgda_eval_pending(s), 1, "both at step 2: one quality check");
    mtg_sgda_tick(s, 0);
    cr_assert_eq(mtg_sgda_take_fakes(s, e0, 0, &f), MTG_EUNAVAIL, "nothing opens during the check");
    mtg_sgda_eval_done(s);
    mtg_sgda_tick(s, 0);
    cr_assert_eq(mtg_sgda_take_task_fakes(s, e0, 0, 0, &f), MTG_OK, "the next stretch opens");
    cr_assert_eq(f.step, 3);
    mtg_sgda_free(s);
}
