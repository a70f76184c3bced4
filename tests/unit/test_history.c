/* The dashboard's history (src/server/history.h): bounded memory, whole-curve thinning, incremental reads. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "server/history.h"

static struct mtg_srv_hist_point pt(uint64_t step)
{
    return (struct mtg_srv_hist_point){.t_s = (double)step / 10.0, .step = step, .loss_d = 1.25f, .loss_g = 0.5f};
}

/* The JSON as a client reads it: rows are spliced in as raw text, so print and parse it back. */
static cJSON *history_json(struct mtg_srv_history *h, uint64_t since, const char *only_task)
{
    cJSON *j = mtg_srv_history_json(h, since, only_task);
    cr_assert_not_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    cr_assert_not_null(text);
    cJSON *back = cJSON_Parse(text);
    cr_assert_not_null(back, "not JSON: %s", text);
    free(text);
    return back;
}

/* Bytes malloc has handed out and not taken back (glibc); 0 under ASan, which keeps its own books. */
static size_t heap_in_use(void) { return mallinfo2().uordblks; }

/*
 * The "Done when": over a run far longer than the bound, the
 * history's memory stays within what docs/config.md promises. Measured two
 * ways: what it accounts for, and what malloc actually holds.
 */
Test(history, memory_stays_within_its_bound_over_many_more_points)
{
    enum { CAP = 16, TASKS = 3, RECORDS = 100000 };
    struct mtg_err err = {0};
    size_t heap0 = heap_in_use();
    struct mtg_srv_history *h = mtg_srv_history_new(CAP, &err);
    cr_assert_not_null(h, "%s", err.msg);
    const size_t bound = mtg_srv_history_bound(CAP, TASKS);
    size_t peak = 0;
    for (uint64_t i = 1; i <= RECORDS; i++) {
        for (int t = 0; t < TASKS; t++) {
            char id[16];
            snprintf(id, sizeof id, "task-%d", t);
            struct mtg_srv_hist_point p = pt(i * 10);
            cr_assert_eq(mtg_srv_history_record(h, t, id, &p), MTG_OK);
        }
        if (i % 977 == 0) {
            mtg_srv_history_event(h, (double)i, "note", "an event every so often");
            size_t used = heap_in_use() - heap0;
            peak = used > peak ? used : peak;
            cr_assert_leq(mtg_srv_history_bytes(h), bound);
        }
    }
    cr_expect_leq(peak, bound, "malloc holds %zu bytes for the history, bound %zu", peak, bound);
    cr_expect_leq(bound, (size_t)TASKS * CAP * 64 + 64 * 1024, "the bound is small: 64 B a point plus the event log");
    /* The whole curve is still there: the first point, the newest one, and at least half the capacity between. */
    struct mtg_srv_hist_point out[CAP + 1];
    int n = mtg_srv_history_points(h, 1, 0, out, CAP + 1);
    cr_assert_leq(n, CAP);
    cr_expect_geq(n, CAP / 2);
    cr_expect_eq(out[0].step, 10u, "the start of training is kept");
    cr_expect_eq(out[n - 1].step, (uint64_t)RECORDS * 10, "the curve ends at the latest record");
    for (int i = 1; i < n; i++)
        cr_expect_gt(out[i].step, out[i - 1].step);
    mtg_srv_history_free(h);
}

Test(history, since_returns_only_what_is_new)
{
    struct mtg_srv_history *h = mtg_srv_history_new(64, NULL);
    cr_assert_not_null(h);
    for (uint64_t s = 1; s <= 5; s++) {
        struct mtg_srv_hist_point p = pt(s);
        mtg_srv_history_record(h, 0, "digit-0", &p);
    }
    cJSON *all = history_json(h, 0, NULL);
    cr_assert_not_null(all);
    double seq = cJSON_GetObjectItem(all, "seq")->valuedouble;
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(all, "tasks"), "digit-0"), "points")), 5);
    struct mtg_srv_hist_point p = pt(6);
    p.q_step = 6;
    p.fidelity = 0.75f;
    mtg_srv_history_record(h, 0, "digit-0", &p);
    mtg_srv_history_event(h, 1.0, "task_added", "task <b>x</b> added");
    cJSON *inc = history_json(h, (uint64_t)seq, NULL);
    cr_assert_not_null(inc);
    cJSON *pts = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(inc, "tasks"), "digit-0"), "points");
    cr_assert_eq(cJSON_GetArraySize(pts), 1, "one new point since seq %.0f", seq);
    cJSON *row = cJSON_GetArrayItem(pts, 0);
    cr_expect_eq(cJSON_GetArrayItem(row, 2)->valuedouble, 6);
    cr_expect_float_eq(cJSON_GetArrayItem(row, 6)->valuedouble, 0.75, 1e-6);
    cJSON *ev = cJSON_GetObjectItem(inc, "events");
    cr_assert_eq(cJSON_GetArraySize(ev), 1);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "text")->valuestring, "task <b>x</b> added",
                     "text is data: escaping is the page's job (textContent)");
    /* Before a task's first evaluation its quality columns are null, not zeros a chart would draw. */
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(all, "tasks"), "digit-0"), "points"), 0);
    cr_expect(cJSON_IsNull(cJSON_GetArrayItem(first, 6)));
    cr_expect_eq(cJSON_GetArraySize(first), cJSON_GetArraySize(cJSON_GetObjectItem(all, "columns")));
    cJSON_Delete(all);
    cJSON_Delete(inc);
    mtg_srv_history_free(h);
}

Test(history, event_log_keeps_the_newest)
{
    struct mtg_srv_history *h = mtg_srv_history_new(16, NULL);
    cr_assert_not_null(h);
    for (int i = 0; i < MTG_SRV_HIST_EVENTS + 40; i++) {
        char text[32];
        snprintf(text, sizeof text, "event %d", i);
        mtg_srv_history_event(h, i, "note", text);
    }
    cJSON *j = history_json(h, 0, NULL);
    cJSON *ev = cJSON_GetObjectItem(j, "events");
    cr_assert_eq(cJSON_GetArraySize(ev), MTG_SRV_HIST_EVENTS);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, MTG_SRV_HIST_EVENTS - 1), "text")->valuestring,
                     "event 167");
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "text")->valuestring, "event 40");
    cJSON_Delete(j);
    mtg_srv_history_free(h);
}

Test(history, only_task_and_bad_arguments)
{
    struct mtg_err err = {0};
    cr_expect_null(mtg_srv_history_new(MTG_SRV_HIST_MIN - 1, &err));
    cr_expect_eq(err.code, MTG_ERANGE);
    cr_expect(strstr(err.msg, "capacity") != NULL, "%s", err.msg);
    struct mtg_srv_history *h = mtg_srv_history_new(16, NULL);
    struct mtg_srv_hist_point p = pt(1);
    cr_expect_eq(mtg_srv_history_record(h, MTG_SRV_HIST_TASKS, "x", &p), MTG_ERANGE);
    cr_expect_eq(mtg_srv_history_record(h, -1, "x", &p), MTG_ERANGE);
    mtg_srv_history_record(h, 0, "a", &p);
    mtg_srv_history_record(h, 1, "b", &p);
    cJSON *j = history_json(h, 0, "b");
    cJSON *tasks = cJSON_GetObjectItem(j, "tasks");
    cr_expect_eq(cJSON_GetArraySize(tasks), 1);
    cr_expect_not_null(cJSON_GetObjectItem(tasks, "b"));
    cJSON_Delete(j);
    mtg_srv_history_free(h);
}
