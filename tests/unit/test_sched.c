/* Scheduler policies on plain structs: no network. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/status.h"
#include "sched/sched.h"

static struct mtg_sched_edge edges[4];
static struct mtg_sched_task tasks[3];

static void view4(struct mtg_cluster_view *v)
{
    memset(edges, 0, sizeof edges);
    memset(tasks, 0, sizeof tasks);
    for (int t = 0; t < 3; t++)
        tasks[t] = (struct mtg_sched_task){.active = 1, .quality_gap = 1.0};
    for (int e = 0; e < 4; e++) {
        edges[e].alive = 1;
        edges[e].n_tasks = 2;
        edges[e].task[0] = e % 3;
        edges[e].task[1] = (e + 1) % 3;
        edges[e].samples[0] = edges[e].samples[1] = 100;
    }
    *v = (struct mtg_cluster_view){.n_edges = 4, .edges = edges, .n_tasks = 3, .tasks = tasks};
}

Test(sched, unknown_policy_named)
{
    struct mtg_err err = {0};
    struct mtg_sched_params p = {.local_steps = 10, .round_deadline_ms = 1000};
    cr_assert_null(mtg_sched_new("magic", &p, &err));
    cr_assert(strstr(err.msg, "\"magic\""), "%s", err.msg);
}

Test(sched, fixed_gives_everyone_local_steps)
{
    struct mtg_cluster_view v;
    view4(&v);
    edges[3].alive = 0;
    tasks[2].active = 0;
    struct mtg_sched_params p = {.local_steps = 50, .round_deadline_ms = 1000};
    struct mtg_sched *s = mtg_sched_new("fixed", &p, NULL);
    static struct mtg_plan plan;
    cr_assert_eq(mtg_sched_plan_round(s, &v, &plan), MTG_OK);
    cr_assert_eq(plan.edge[3].n_items, 0, "dead edge gets no work");
    for (int e = 0; e < 3; e++)
        for (int k = 0; k < plan.edge[e].n_items; k++) {
            cr_assert_eq(plan.edge[e].item[k].steps, 50);
            cr_assert_neq(plan.edge[e].item[k].task, 2, "inactive task gets no work");
        }
    cr_assert_eq(plan.deadline_ms, 1000);
    mtg_sched_free(s);
}

/* Given a profile, `profiled` equalises predicted round times across edges. */
Test(sched, profiled_equalises_predicted_round_time)
{
    struct mtg_cluster_view v;
    view4(&v);
    struct mtg_sched_params p = {.local_steps = 100, .round_deadline_ms = 60000, .min_steps = 1};
    struct mtg_sched *s = mtg_sched_new("profiled", &p, NULL);
    const double speed[4] = {1, 1, 2, 4};
    for (int e = 0; e < 4; e++) {
        struct mtg_report r = {.edge = e, .task = 0, .steps = 100, .compute_s = 0.1 * speed[e], .transfer_s = 0.05};
        mtg_sched_observe(s, &r);
    }
    static struct mtg_plan plan;
    mtg_sched_plan_round(s, &v, &plan);
    double t[4];
    for (int e = 0; e < 4; e++) {
        t[e] = 0;
        for (int k = 0; k < plan.edge[e].n_items; k++)
            t[e] += plan.edge[e].item[k].steps * (0.001 * speed[e]) + 0.05;
    }
    for (int e = 1; e < 4; e++)
        cr_assert(t[e] <= t[0] * 1.05 && t[e] >= t[0] * 0.9, "edge %d predicted %.3f s vs %.3f s", e, t[e], t[0]);
    cr_assert_eq(plan.edge[0].item[0].steps, 100, "fastest edge keeps the full budget");
    cr_assert_lt(plan.edge[3].item[0].steps, 30, "a 4x straggler gets about a quarter");
    mtg_sched_free(s);
}

/* Slow nets (DCGAN on a slow edge): the deadline stretches to fit the planned work instead of closing every round empty. */
Test(sched, profiled_deadline_covers_the_slowest_planned_edge)
{
    struct mtg_cluster_view v;
    view4(&v);
    struct mtg_sched_params p = {.local_steps = 200, .round_deadline_ms = 30000, .min_steps = 1};
    struct mtg_sched *s = mtg_sched_new("profiled", &p, NULL);
    static struct mtg_plan plan;
    mtg_sched_plan_round(s, &v, &plan);
    cr_assert_eq(plan.deadline_ms, 30000, "unprofiled: the configured deadline");
    for (int e = 0; e < 4; e++) {
        struct mtg_report r = {.edge = e, .task = 0, .steps = 200, .compute_s = 200 * 0.4, .transfer_s = 0.5};
        mtg_sched_observe(s, &r);
    }
    mtg_sched_plan_round(s, &v, &plan);
    double slowest = 0;
    for (int e = 0; e < 4; e++) {
        double t = 0;
        for (int k = 0; k < plan.edge[e].n_items; k++)
            t += plan.edge[e].item[k].steps * 0.4 + 0.5;
        slowest = t > slowest ? t : slowest;
    }
    cr_assert_gt(slowest, 30.0, "the planned work outlasts the configured deadline (%.1f s)", slowest);
    cr_assert_geq(plan.deadline_ms, (int)(2000 * slowest) - 1, "deadline %d ms for %.1f s of work", plan.deadline_ms,
                  slowest);
    mtg_sched_free(s);
}

Test(sched, profiled_priority_favours_far_tasks)
{
    struct mtg_cluster_view v;
    view4(&v);
    tasks[0].quality_gap = 1.0;
    tasks[1].quality_gap = 0.0;
    struct mtg_sched_params p = {.local_steps = 100, .round_deadline_ms = 1000, .priority = 1};
    struct mtg_sched *s = mtg_sched_new("profiled", &p, NULL);
    static struct mtg_plan plan;
    mtg_sched_plan_round(s, &v, &plan);
    /* edge 0 holds tasks 0 and 1 */
    cr_assert_gt(plan.edge[0].item[0].steps, 3 * plan.edge[0].item[1].steps);
    mtg_sched_free(s);
}

/* A profile read from one scheduler and seeded into another plans the same round. */
Test(sched, profiles_export_and_seed)
{
    struct mtg_cluster_view v;
    view4(&v);
    struct mtg_sched_params p = {.local_steps = 100, .round_deadline_ms = 60000, .min_steps = 1};
    struct mtg_sched *a = mtg_sched_new("profiled", &p, NULL), *b = mtg_sched_new("profiled", &p, NULL);
    const double speed[4] = {1, 1, 2, 4};
    struct mtg_sched_edge_profile prof;
    cr_assert_eq(mtg_sched_get_profile(a, 0, &prof), 0, "an edge never observed has no profile");
    for (int e = 0; e < 4; e++) {
        struct mtg_report r = {.edge = e, .task = 0, .steps = 100, .compute_s = 0.1 * speed[e], .transfer_s = 0.05};
        mtg_sched_observe(a, &r);
    }
    for (int e = 0; e < 4; e++) {
        cr_assert_eq(mtg_sched_get_profile(a, e, &prof), 1);
        cr_expect_float_eq(prof.step_s, 0.001 * speed[e], 1e-12);
        mtg_sched_set_profile(b, e, &prof);
    }
    static struct mtg_plan pa, pb;
    mtg_sched_plan_round(a, &v, &pa);
    mtg_sched_plan_round(b, &v, &pb);
    cr_expect(memcmp(&pa, &pb, sizeof pa) == 0, "the seeded scheduler plans differently");
    /* Garbage is ignored; fixed keeps no profiles. */
    mtg_sched_set_profile(b, 1, &(struct mtg_sched_edge_profile){-1, 0});
    cr_assert_eq(mtg_sched_get_profile(b, 1, &prof), 1);
    cr_expect_float_eq(prof.step_s, 0.001, 1e-12);
    struct mtg_sched *f = mtg_sched_new("fixed", &p, NULL);
    mtg_sched_set_profile(f, 0, &prof);
    cr_expect_eq(mtg_sched_get_profile(f, 0, &prof), 0);
    mtg_sched_free(f);
    mtg_sched_free(a);
    mtg_sched_free(b);
}
