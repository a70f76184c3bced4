/*
 * test_edge_overlap.c - the edge policies of scheduler.edge on a real
 * server and edge: with overlap on, task k's delta is pushed (over an
 * emulated slow link) while task k+1 trains; with it off, every push ends
 * before the next task trains. Either way the server must accept every
 * update exactly once. Then a memory budget that fits one local model:
 * the edge evicts and reloads its tasks' models and training still completes.
 * Checks are structural (the order of the edge's debug log lines), never
 * timing targets: those belong to `mtgan bench`.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(edge_overlap, .fini = fini, .timeout = 150);

#define LOCAL_STEPS 60
#define MAX_STEPS 180

/* Trains tasks 0 and 3 on one edge to MAX_STEPS; returns the edge's log (malloc'd). */
static char *train(const char *edge_sched, unsigned *rounds_out)
{
    char dir[256], cfg[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"state_dir\": \"%s/state\", \"log_level\": \"debug\", \"n_edges\": 1, \"data\": {\"tasks\": [0, 3]},\n"
             " \"emulation\": {\"link_latency_ms\": 120, \"link_mbps\": 40},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": %d}, \"edge\": %s},\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": %d}}\n",
             dir, LOCAL_STEPS, edge_sched, MAX_STEPS);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start (see %s)", s.log);
    pid_t edge = tp_edge_start(cfg, s.port, dir, "e0", 0, 1, NULL);
    cr_assert_geq(edge, 0);
    double t0 = tp_now_s();
    while ((int)tp_status_number(s.port, "done") != 1) {
        cr_assert_lt(tp_now_s() - t0, 90 * tp_time_scale(), "training did not finish (see %s)", dir);
        tp_sleep_ms(200);
    }
    /* Every update was taken exactly once: none rejected, and the steps add up to the accepted ones. */
    double acc = tp_status_number(s.port, "updates_accepted"), rej = tp_status_number(s.port, "updates_rejected");
    double s0 = tp_status_number(s.port, "tasks.digit-0.steps"), s3 = tp_status_number(s.port, "tasks.digit-3.steps");
    cr_assert_eq(rej, 0, "server rejected %g updates", rej);
    cr_assert_geq(s0, MAX_STEPS);
    cr_assert_geq(s3, MAX_STEPS);
    cr_assert_eq(acc * LOCAL_STEPS, s0 + s3, "accepted %g updates of %d steps, but tasks hold %g + %g steps", acc,
                 LOCAL_STEPS, s0, s3);
    *rounds_out = (unsigned)acc;
    /* SIGTERM must still stop the edge cleanly, uploader thread included. */
    cr_assert_eq(tp_stop(edge, SIGTERM, 10000) & 0xff7f, 0, "edge did not exit cleanly");
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
    char path[300];
    snprintf(path, sizeof path, "%s/e0.log", dir);
    char *log = tp_read_file(path, NULL);
    cr_assert_not_null(log);
    return log;
}

/* Line number of the first line at or after `from` containing all of a and b ("" = any); -1 if none. */
static int find_line(char **lines, int n, int from, const char *a, const char *b)
{
    for (int i = from < 0 ? 0 : from; i < n; i++)
        if (strstr(lines[i], a) && strstr(lines[i], b))
            return i;
    return -1;
}

/*
 * For each push of the log, whether another task's "train ... begin" came
 * between that task's "train ... end" and its push's "end" line: counts pushes
 * that overlapped the next task's training, and all pushes.
 */
static void count_overlaps(char *log, int *overlapped, int *pushes)
{
    static char *lines[20000];
    int n = 0;
    for (char *l = log; l && *l && n < 20000; n++) {
        lines[n] = l;
        if ((l = strchr(l, '\n')))
            *l++ = '\0';
    }
    *overlapped = *pushes = 0;
    for (int i = 0; i < n; i++) {
        char task[64];
        const char *p = strstr(lines[i], ": push ");
        if (!p || !strstr(p, " end") || sscanf(p, ": push %63s round", task) != 1)
            continue;
        char begin_pat[96], end_pat[96];
        snprintf(end_pat, sizeof end_pat, "train %s end", task);
        int train_end = -1;
        for (int k = i - 1; k >= 0 && train_end < 0; k--)
            if (strstr(lines[k], end_pat))
                train_end = k;
        cr_assert_geq(train_end, 0, "push of %s without its training in the log", task);
        snprintf(begin_pat, sizeof begin_pat, "train ");
        int next = find_line(lines, n, train_end + 1, begin_pat, " begin");
        (*pushes)++;
        if (next >= 0 && next < i)
            (*overlapped)++;
    }
}

Test(edge_overlap, pushes_overlap_the_next_task_and_all_updates_land)
{
    unsigned acc;
    char *log = train("{\"overlap\": true}", &acc);
    int ov, pushes;
    count_overlaps(log, &ov, &pushes);
    cr_assert_eq((unsigned)pushes, acc, "every accepted update is one push in the edge log (%d vs %u)", pushes, acc);
    /* Two tasks per round: the first task's push overlaps the second's training, every round. */
    cr_assert_geq(ov * 2, pushes, "only %d of %d pushes overlapped the next task's training", ov, pushes);
    free(log);
}

Test(edge_overlap, without_overlap_every_push_ends_before_the_next_task_trains)
{
    unsigned acc;
    char *log = train("{\"overlap\": false}", &acc);
    int ov, pushes;
    count_overlaps(log, &ov, &pushes);
    cr_assert_eq((unsigned)pushes, acc);
    cr_assert_eq(ov, 0, "%d pushes overlapped training with overlap off", ov);
    free(log);
}

Test(edge_overlap, memory_budget_evicts_and_reloads_models)
{
    unsigned acc;
    /* One digits model (G, D, Adam state, workspace, start/delta copies) takes ~3.2 MB: 4 MB holds one, not two. */
    char *log = train("{\"overlap\": true, \"memory_budget_mb\": 4}", &acc);
    cr_assert(strstr(log, "memory budget: evicting task digit-"), "no eviction recorded in the edge log");
    free(log);
}
