/*
 * test_fedd.c - protocol fedd (Ren et al. 2021) end to end: a real
 * mtgan-server and 2 mtgan-edge processes on 127.0.0.1 train one digit
 * task in deterministic mode. Edges train only local discriminators; the
 * server averages them and trains G (parallel schedule, and serial). A run with 40x the step budget must
 * end with a clearly better generator (FD) than a 2-round run of the same
 * seed, the same models must come out of a second identical run, and a
 * malformed fedd update (one carrying a G delta) is refused.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "proc.h"
#include "wire/blob.h"

#define N_EDGES 2
#define TIMEOUT_S 120.0

static void fini(void) { tp_cleanup(); }

TestSuite(fedd, .fini = fini, .timeout = 300);

struct result {
    double fd;
    double steps;
    struct tp_resp g;
};

/*
 * Trains digit-0 to max_steps (local D steps summed over edges) with the
 * given scheduler.fedd.schedule; fills r with the final FD and generator.
 */
static void run(const char *schedule, int max_steps, struct result *r)
{
    char dir[256], cfg[320], text[1536];
    const char *data = getenv("MTGAN_DATA_DIR");
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"protocol\": \"fedd\", \"seed\": 5, \"log_level\": \"warn\", \"state_dir\": \"%s/state\",\n"
             " \"n_edges\": %d, \"data\": {\"tasks\": [0]},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 20},\n"
             "               \"fedd\": {\"schedule\": \"%s\"}},\n"
             /* An FD target nothing reaches: both runs train to their step budget. */
             " \"train\": {\"max_steps\": %d, \"eval_every\": 400, \"deterministic\": true,\n"
             "           \"reference\": \"%s/reference-digits.json\", \"target_fd_ratio\": 0.001}}\n",
             dir, N_EDGES, schedule, max_steps, data ? data : "data");
    cr_assert_eq(tp_write_file(cfg, text), 0);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start");
    pid_t edges[N_EDGES];
    for (int i = 0; i < N_EDGES; i++) {
        char id[32];
        snprintf(id, sizeof id, "edge-%d", i);
        edges[i] = tp_edge_start(cfg, s.port, dir, id, i, N_EDGES, NULL);
        cr_assert_gt(edges[i], 0);
    }
    cr_assert_eq(tp_wait_status(s.port, "done", 1, TIMEOUT_S * tp_time_scale()), 0, "fedd %d steps: not done",
                 max_steps);
    r->fd = tp_status_number(s.port, "tasks.digit-0.quality.fd");
    r->steps = tp_status_number(s.port, "tasks.digit-0.steps");
    cr_assert_eq(tp_get(s.port, "/v1/tasks/digit-0/models/generator?dtype=f32&zlib=0", &r->g), 0);
    cr_assert_eq(r->g.status, 200);
    if (max_steps <= 40) {
        /* An update carrying a G delta is an mtgan update, not a fedd one: refused by name. */
        struct mtg_blob *b = mtg_blob_new(NULL);
        float zeros[4] = {0};
        uint32_t n = 4;
        uint8_t *bytes = NULL;
        size_t len = 0;
        cr_assert_eq(mtg_blob_add(b, "g", 1, &n, zeros, MTG_DTYPE_F32, NULL), MTG_OK);
        cr_assert_eq(mtg_blob_add(b, "d", 1, &n, zeros, MTG_DTYPE_F32, NULL), MTG_OK);
        cr_assert_eq(mtg_blob_encode(b, 0, &bytes, &len, NULL), MTG_OK);
        const char *hdr[] = {"Content-Type: application/x-mtgan-blob", NULL};
        struct tp_resp bad;
        cr_assert_eq(tp_http(s.port, "POST", "/v1/edges/edge-0/updates/digit-0?round=1&steps=1", hdr, bytes, len, &bad), 0);
        cr_expect_eq(bad.status, 422, "an update with a G delta got %d", bad.status);
        cr_expect(bad.body && strstr((const char *)bad.body, "fedd"), "the error does not name fedd");
        tp_resp_free(&bad);
        free(bytes);
        mtg_blob_free(b);
    }
    for (int i = 0; i < N_EDGES; i++)
        tp_stop(edges[i], SIGTERM, 5000);
    tp_stop(s.pid, SIGTERM, 5000);
}

Test(fedd, trains_to_a_measurable_improvement_and_is_deterministic)
{
    struct result short_run, long_run, again;
    run("parallel", 40, &short_run);
    run("parallel", 1600, &long_run);
    cr_assert(isfinite(short_run.fd) && isfinite(long_run.fd), "no FD reported (%g, %g)", short_run.fd, long_run.fd);
    cr_expect_geq(long_run.steps, 1600);
    cr_log_info("fedd FD after %.0f steps %.2f, after %.0f steps %.2f", short_run.steps, short_run.fd, long_run.steps,
                long_run.fd);
    cr_expect_lt(long_run.fd, 0.5 * short_run.fd, "FD after 1600 steps %.2f is not well below FD after 40 (%.2f)",
                 long_run.fd, short_run.fd);
    run("parallel", 1600, &again);
    cr_expect(long_run.g.len == again.g.len && memcmp(long_run.g.body, again.g.body, again.g.len) == 0,
              "two deterministic fedd runs gave different generators");
    cr_expect_eq(long_run.fd, again.fd);
    tp_resp_free(&short_run.g);
    tp_resp_free(&long_run.g);
    tp_resp_free(&again.g);
}

Test(fedd, serial_schedule_trains_too)
{
    struct result short_run, long_run;
    run("serial", 40, &short_run);
    run("serial", 1600, &long_run);
    cr_log_info("fedd serial: FD after 40 steps %.2f, after 1600 steps %.2f", short_run.fd, long_run.fd);
    cr_expect_lt(long_run.fd, 0.5 * short_run.fd);
    tp_resp_free(&short_run.g);
    tp_resp_free(&long_run.g);
}
