/* The edge table both protocols share: registration rules, re-registration, liveness. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "proto/registry.h"

static const char *const TASKS[] = {"a", "b", "c"};

static int find(const void *ctx, const char *id)
{
    (void)ctx;
    for (int i = 0; i < 3; i++)
        if (strcmp(TASKS[i], id) == 0)
            return i;
    return -1;
}

static struct mtg_proto_edge *table(void)
{
    struct mtg_proto_edge *t = calloc(MTG_SCHED_MAX_EDGES, sizeof *t);
    cr_assert_not_null(t);
    return t;
}

Test(registry, register_then_re_register_replaces_the_task_list)
{
    struct mtg_proto_edge *t = table();
    int n = 0;
    struct mtg_err err = {0};
    const char *ab[] = {"a", "b"}, *c[] = {"c"};
    int s2[] = {10, 20}, s1[] = {7};
    cr_assert_eq(mtg_proto_edges_register(t, &n, "e0", 2, ab, s2, find, NULL, 100, &err), 0, "%s", err.msg);
    cr_assert_eq(mtg_proto_edges_register(t, &n, "e1", 1, c, s1, find, NULL, 100, &err), 1, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_expect_eq(mtg_proto_edge_samples(&t[0], 1), 20);
    cr_expect_eq(mtg_proto_edge_samples(&t[0], 2), 0, "e0 does not hold task c");
    /* Same id again: same slot, new tasks, the old ones are gone. */
    cr_assert_eq(mtg_proto_edges_register(t, &n, "e0", 1, c, s1, find, NULL, 200, &err), 0);
    cr_expect_eq(n, 2);
    cr_expect_eq(mtg_proto_edge_samples(&t[0], 0), 0);
    cr_expect_eq(mtg_proto_edge_samples(&t[0], 2), 7);
    cr_expect_eq(mtg_proto_edges_find(t, n, "e1"), 1);
    cr_expect_eq(mtg_proto_edges_find(t, n, "nope"), -1);
    free(t);
}

Test(registry, a_refused_registration_leaves_the_table_unchanged)
{
    struct mtg_proto_edge *t = table();
    int n = 0;
    struct mtg_err err = {0};
    const char *a[] = {"a"}, *unknown[] = {"zzz"}, *twice[] = {"a", "a"};
    int s1[] = {5}, s0[] = {0}, s2[] = {5, 5};
    cr_assert_eq(mtg_proto_edges_register(t, &n, "e0", 1, a, s1, find, NULL, 0, &err), 0);
    struct mtg_proto_edge before;
    memcpy(&before, &t[0], sizeof before); /* byte copy: padding included, for the memcmp below */
    cr_expect_eq(mtg_proto_edges_register(t, &n, "e0", 1, unknown, s1, find, NULL, 9, &err), MTG_ENOTFOUND);
    cr_expect(strstr(err.msg, "zzz") != NULL, "message names the task: %s", err.msg);
    cr_expect_eq(mtg_proto_edges_register(t, &n, "e0", 1, a, s0, find, NULL, 9, &err), MTG_EINVAL);
    cr_expect_eq(mtg_proto_edges_register(t, &n, "e0", 2, twice, s2, find, NULL, 9, &err), MTG_EINVAL);
    cr_expect_eq(mtg_proto_edges_register(t, &n, "", 1, a, s1, find, NULL, 9, &err), MTG_EINVAL);
    cr_expect_eq(mtg_proto_edges_register(t, &n, "e1", 1, unknown, s1, find, NULL, 9, &err), MTG_ENOTFOUND);
    cr_expect_eq(n, 1, "no slot was taken by a refused edge");
    cr_expect_eq(memcmp(&before, &t[0], sizeof before), 0, "e0's entry changed");
    free(t);
}

Test(registry, edge_limit_is_an_error)
{
    struct mtg_proto_edge *t = table();
    int n = 0;
    struct mtg_err err = {0};
    const char *a[] = {"a"};
    int s1[] = {1};
    char id[32];
    for (int i = 0; i < MTG_SCHED_MAX_EDGES; i++) {
        snprintf(id, sizeof id, "e%d", i);
        cr_assert_eq(mtg_proto_edges_register(t, &n, id, 1, a, s1, find, NULL, 0, &err), i, "%s", err.msg);
    }
    cr_expect_eq(mtg_proto_edges_register(t, &n, "one-more", 1, a, s1, find, NULL, 0, &err), MTG_ERANGE);
    cr_expect_eq(n, MTG_SCHED_MAX_EDGES);
    free(t);
}

Test(registry, edges_expire_and_come_back_when_seen)
{
    struct mtg_proto_edge *t = table();
    int n = 0;
    struct mtg_err err = {0};
    const char *a[] = {"a"};
    int s1[] = {1};
    mtg_proto_edges_register(t, &n, "e0", 1, a, s1, find, NULL, 0, &err);
    mtg_proto_edges_register(t, &n, "e1", 1, a, s1, find, NULL, 0, &err);
    cr_assert_eq(mtg_proto_edges_seen(t, n, 1, 900), MTG_OK);
    mtg_proto_edges_expire(t, n, 1000, 500);
    cr_expect_eq(t[0].alive, 0, "e0 was last seen 1000 ms ago");
    cr_expect_eq(t[1].alive, 1, "e1 was seen 100 ms ago");
    cr_expect_eq(mtg_proto_edges_alive(t, n), 1);
    cr_expect_eq(mtg_proto_edges_seen(t, n, 0, 1001), MTG_OK);
    cr_expect_eq(mtg_proto_edges_alive(t, n), 2);
    cr_expect_eq(mtg_proto_edges_seen(t, n, 2, 0), MTG_ENOTFOUND);
    cr_expect_eq(mtg_proto_edges_seen(t, n, -1, 0), MTG_ENOTFOUND);
    free(t);
}

/* A full table gives the slot of the edge expired longest to a new edge; live edges keep theirs. */
Test(registry, full_table_reuses_the_longest_expired_slot)
{
    struct mtg_proto_edge *t = table();
    int n = 0;
    struct mtg_err err = {0};
    const char *a[] = {"a"};
    int s[] = {1};
    char id[32];
    for (int i = 0; i < MTG_SCHED_MAX_EDGES; i++) {
        snprintf(id, sizeof id, "e%d", i);
        cr_assert_eq(mtg_proto_edges_register(t, &n, id, 1, a, s, find, NULL, 10000 + i, &err), i, "%s", err.msg);
    }
    cr_assert_eq(mtg_proto_edges_register(t, &n, "late", 1, a, s, find, NULL, 5000, &err), MTG_ERANGE,
                 "every edge alive: no room");
    cr_expect(strstr(err.msg, "limit"), "%s", err.msg);
    /* e5 and e7 expire; e5 was silent longer. */
    t[5].last_seen = 10;
    t[7].last_seen = 20;
    mtg_proto_edges_expire(t, n, 10500, 1000);
    cr_assert_eq(mtg_proto_edges_alive(t, n), MTG_SCHED_MAX_EDGES - 2);
    cr_expect_eq(mtg_proto_edges_register(t, &n, "late", 1, a, s, find, NULL, 5000, &err), 5, "%s", err.msg);
    cr_expect_eq(mtg_proto_edges_find(t, n, "e5"), -1, "the evicted edge is still listed");
    cr_expect_eq(mtg_proto_edges_register(t, &n, "e5", 1, a, s, find, NULL, 5001, &err), 7,
                 "the evicted edge registers again in the next expired slot");
    cr_expect_eq(n, MTG_SCHED_MAX_EDGES);
    free(t);
}
