/*
 * test_restart.c - checkpoints and resume (DESIGN §5, issue "Checkpoints"):
 * a real mtgan-server (digits-0 and digit-3, state_dir in a temp dir,
 * checkpoint_every 1) trained by 2 mtgan-edge processes is stopped with
 * SIGTERM or SIGKILL and restarted on a new port with the same state_dir.
 * After SIGTERM the versions and model bytes are exactly those before the
 * stop; after SIGKILL they are those of the last checkpoint on disk. A
 * truncated state.json falls back to state.prev.json; a checkpoint of the
 * other protocol is refused with a message that says so. The profiled
 * scheduler's per-edge measurements and a pending candidate task survive a
 * restart, and a returning edge gets its profile back.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/status.h"
#include "proc.h"
#include "wire/blob.h"

#define N_TASKS 2
static const char *const task_ids[N_TASKS] = {"digit-0", "digit-3"};

static void fini(void) { tp_cleanup(); }

TestSuite(restart, .fini = fini, .timeout = 90);

struct run {
    char dir[256];
    char cfg[320];
    char state[320];
    struct tp_server srv;
    pid_t edge[2];
};

static void setup(struct run *r, const char *protocol)
{
    char text[1024];
    cr_assert_eq(tp_tmpdir(r->dir, sizeof r->dir), 0);
    snprintf(r->cfg, sizeof r->cfg, "%s/config.json", r->dir);
    snprintf(r->state, sizeof r->state, "%s/state", r->dir);
    snprintf(text, sizeof text,
             "{\"protocol\": \"%s\", \"log_level\": \"info\", \"state_dir\": \"%s\", \"checkpoint_every\": 1,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0, 3]},\n"
             " \"n_edges\": 2,\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 5, \"round_deadline_ms\": 1000}},\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": 1000000}}\n",
             protocol, r->state);
    cr_assert_eq(tp_write_file(r->cfg, text), 0);
}

static void start_server(struct run *r, char *const extra[])
{
    cr_assert_eq(tp_server_start(&r->srv, r->cfg, r->dir, extra), 0, "server did not start (see %s)", r->srv.log);
}

static void start_edges(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "edge-%d", i);
        r->edge[i] = tp_edge_start(r->cfg, r->srv.port, r->dir, id, i, 2, NULL);
        cr_assert_gt(r->edge[i], 0);
    }
}

static void stop_edges(struct run *r)
{
    for (int i = 0; i < 2; i++)
        if (r->edge[i] > 0)
            tp_stop(r->edge[i], SIGTERM, 5000);
}

/* Versions from GET /v1/tasks; -1 for a task that is missing. */
static void versions(unsigned port, double v[N_TASKS])
{
    cJSON *o = tp_get_json(port, "/v1/tasks");
    cr_assert_not_null(o, "GET /v1/tasks");
    for (int t = 0; t < N_TASKS; t++) {
        v[t] = -1;
        for (cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "tasks")->child; it; it = it->next) {
            cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            if (cJSON_IsString(id) && strcmp(id->valuestring, task_ids[t]) == 0)
                v[t] = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "version"));
        }
    }
    cJSON_Delete(o);
}

static void wait_versions(struct run *r, double min, double timeout_s)
{
    double v[N_TASKS], t0 = tp_now_s();
    for (;;) {
        versions(r->srv.port, v);
        if (v[0] >= min && v[1] >= min)
            return;
        cr_assert(tp_now_s() - t0 < timeout_s, "versions %g, %g still below %g after %.0f s", v[0], v[1], min,
                  timeout_s);
        tp_sleep_ms(100);
    }
}

/* GET /v1/tasks/{t}/models/{kind}; caller frees. */
static struct tp_resp model(unsigned port, int t, const char *kind)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/models/%s", task_ids[t], kind);
    struct tp_resp m;
    cr_assert_eq(tp_get(port, path, &m), 0);
    cr_assert_eq(m.status, 200, "GET %s: %d", path, m.status);
    return m;
}

/* Versions and model bytes, read twice until stable (no edge is running, the deadline passed). */
static void quiesce(struct run *r, double v[N_TASKS], struct tp_resp m[N_TASKS])
{
    double again[N_TASKS];
    for (int tries = 0; tries < 20; tries++) {
        tp_sleep_ms(1200); /* > round_deadline_ms: an open round has closed */
        versions(r->srv.port, v);
        for (int t = 0; t < N_TASKS; t++)
            m[t] = model(r->srv.port, t, "gan");
        versions(r->srv.port, again);
        if (again[0] == v[0] && again[1] == v[1])
            return;
        for (int t = 0; t < N_TASKS; t++)
            tp_resp_free(&m[t]);
    }
    cr_assert_fail("versions never settled");
}

static void dump(const char *path)
{
    char *t = tp_read_file(path, NULL);
    if (t) {
        size_t n = strlen(t);
        fprintf(stderr, "---- %s ----\n%s\n", path, n > 3000 ? t + n - 3000 : t);
        free(t);
    }
}

/* Versions recorded in a state file; -1 when it cannot be read. */
static void state_versions(const char *path, double v[N_TASKS])
{
    char *text = tp_read_file(path, NULL);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    for (int t = 0; t < N_TASKS; t++) {
        v[t] = -1;
        cJSON *tasks = o ? cJSON_GetObjectItemCaseSensitive(o, "tasks") : NULL;
        for (cJSON *it = cJSON_IsArray(tasks) ? tasks->child : NULL; it; it = it->next) {
            cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            if (cJSON_IsString(id) && strcmp(id->valuestring, task_ids[t]) == 0)
                v[t] = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "version"));
        }
    }
    cJSON_Delete(o);
}

Test(restart, sigterm_resumes_with_the_same_versions_and_models)
{
    struct run r = {0};
    setup(&r, "mtgan");
    start_server(&r, NULL);
    start_edges(&r);
    wait_versions(&r, 3, 40);
    stop_edges(&r);
    double v[N_TASKS];
    struct tp_resp m[N_TASKS];
    quiesce(&r, v, m);
    unsigned old_port = r.srv.port;

    int st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x after SIGTERM", st);
    char sj[400];
    snprintf(sj, sizeof sj, "%s/state.json", r.state);
    cr_assert(tp_file_exists(sj), "no %s after a clean stop", sj);
    double sv[N_TASKS];
    state_versions(sj, sv);
    cr_expect(sv[0] == v[0] && sv[1] == v[1], "state.json has versions %g, %g; the server served %g, %g", sv[0],
              sv[1], v[0], v[1]);

    start_server(&r, NULL);
    cr_expect_neq(r.srv.port, old_port, "restarted on the same port");
    double v2[N_TASKS];
    versions(r.srv.port, v2);
    for (int t = 0; t < N_TASKS; t++) {
        cr_expect_eq(v2[t], v[t], "%s: version %g before the stop, %g after the restart", task_ids[t], v[t], v2[t]);
        struct tp_resp m2 = model(r.srv.port, t, "gan");
        cr_expect(m2.len == m[t].len && memcmp(m2.body, m[t].body, m2.len) == 0,
                  "%s: model blob differs after the restart (%zu vs %zu bytes)", task_ids[t], m[t].len, m2.len);
        cr_expect_str_eq(m2.etag, m[t].etag);
        tp_resp_free(&m2);
        tp_resp_free(&m[t]);
    }
    char *log = tp_read_file(r.srv.log, NULL);
    cr_expect(log && strstr(log, "resumed"), "server log does not mention resuming");
    free(log);

    /* Training goes on from there with fresh edge processes. */
    start_edges(&r);
    wait_versions(&r, v[0] > v[1] ? v[0] + 1 : v[1] + 1, 30);
    stop_edges(&r);
    st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x", st);
}

Test(restart, sigkill_resumes_from_the_last_checkpoint)
{
    struct run r = {0};
    setup(&r, "mtgan");
    start_server(&r, NULL);
    start_edges(&r);
    wait_versions(&r, 3, 40);
    double before[N_TASKS];
    versions(r.srv.port, before);
    int st = tp_stop(r.srv.pid, SIGKILL, 5000);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
    /* Edges keep retrying against the dead port: stop them so they do not race the restart. */
    stop_edges(&r);

    /* What is on disk is the last checkpoint (state.json, or state.prev.json if killed mid-write). */
    char sj[400], pj[400];
    snprintf(sj, sizeof sj, "%s/state.json", r.state);
    snprintf(pj, sizeof pj, "%s/state.prev.json", r.state);
    double ck[N_TASKS];
    state_versions(tp_file_exists(sj) ? sj : pj, ck);
    cr_assert(ck[0] >= 0 && ck[1] >= 0, "no readable checkpoint in %s", r.state);

    start_server(&r, NULL);
    double after[N_TASKS];
    versions(r.srv.port, after);
    for (int t = 0; t < N_TASKS; t++) {
        cr_expect_eq(after[t], ck[t], "%s: checkpoint on disk has version %g, the restarted server %g", task_ids[t],
                     ck[t], after[t]);
        /* A round may close between the last GET and the kill: at most one more. */
        cr_expect(after[t] <= before[t] + 1, "%s: version %g after restart, %g before the kill", task_ids[t], after[t],
                  before[t]);
        cr_expect(after[t] >= 1, "%s: restarted from scratch (version %g; %g before the kill)", task_ids[t],
                  after[t], before[t]);
    }
    /* The served generator is the checkpointed one. */
    char *text = tp_read_file(tp_file_exists(sj) ? sj : pj, NULL);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *blob = o ? cJSON_GetObjectItemCaseSensitive(o, "blob") : NULL;
    cr_assert(cJSON_IsString(blob), "state file names no blob");
    char bp[600];
    snprintf(bp, sizeof bp, "%s/%s", r.state, blob->valuestring);
    cJSON_Delete(o);
    struct mtg_blob *ckb = NULL, *gb = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_blob_read_file(bp, NULL, &ckb, &err), MTG_OK, "%s", err.msg);
    struct tp_resp m = model(r.srv.port, 0, "generator");
    cr_assert_eq(mtg_blob_decode((const uint8_t *)m.body, m.len, NULL, &gb, &err), MTG_OK, "%s", err.msg);
    tp_resp_free(&m);
    /* models/generator serves the EMA of G (model.ema, on by default), checkpointed beside G. */
    const struct mtg_blob_tensor *a = mtg_blob_find(ckb, "digit-0/g_ema"), *b = mtg_blob_find(gb, "g");
    cr_assert(a && b, "tensor digit-0/g_ema in the checkpoint, g in the model");
    cr_expect(a->n == b->n && memcmp(a->data, b->data, a->n * sizeof(float)) == 0,
              "served generator differs from the checkpointed one");
    mtg_blob_free(ckb);
    mtg_blob_free(gb);
    st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x", st);
}

Test(restart, truncated_state_json_falls_back_to_state_prev_json)
{
    struct run r = {0};
    setup(&r, "mtgan");
    start_server(&r, NULL);
    start_edges(&r);
    wait_versions(&r, 3, 40);
    stop_edges(&r);
    int st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);

    char sj[400], pj[400];
    snprintf(sj, sizeof sj, "%s/state.json", r.state);
    snprintf(pj, sizeof pj, "%s/state.prev.json", r.state);
    cr_assert(tp_file_exists(pj), "no state.prev.json after several checkpoints");
    double prev[N_TASKS];
    state_versions(pj, prev);
    cr_assert(prev[0] >= 1 && prev[1] >= 1, "state.prev.json versions %g, %g", prev[0], prev[1]);
    size_t len = 0;
    char *text = tp_read_file(sj, &len);
    cr_assert_not_null(text);
    cr_assert_eq(tp_write_bytes(sj, text, len / 2), 0); /* a torn write */
    free(text);

    start_server(&r, NULL);
    double v[N_TASKS];
    versions(r.srv.port, v);
    cr_expect(v[0] == prev[0] && v[1] == prev[1], "resumed with versions %g, %g; state.prev.json has %g, %g", v[0],
              v[1], prev[0], prev[1]);
    struct tp_resp rz;
    cr_assert_eq(tp_get(r.srv.port, "/readyz", &rz), 0);
    cr_expect_eq(rz.status, 200, "not ready after the fallback");
    tp_resp_free(&rz);
    char *log = tp_read_file(r.srv.log, NULL);
    cr_expect(log && strstr(log, "state.json") && strstr(log, "state.prev.json"),
              "the log does not say which checkpoint was unusable and which was used");
    free(log);
    /* The next checkpoint must not rotate the torn state.json over the good state.prev.json. */
    st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    double after[N_TASKS];
    state_versions(pj, after);
    cr_expect(after[0] >= prev[0] && after[1] >= prev[1],
              "after the fallback and one more checkpoint, state.prev.json is unusable (versions %g, %g)", after[0],
              after[1]);
}

static void other_protocol_refused(const char *first, const char *second)
{
    struct run r = {0};
    setup(&r, first);
    start_server(&r, NULL);
    int st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    char sj[400];
    snprintf(sj, sizeof sj, "%s/state.json", r.state);
    cr_assert(tp_file_exists(sj), "no final checkpoint from the %s server", first);

    char proto[64];
    snprintf(proto, sizeof proto, "--protocol=%s", second);
    char *extra[] = {proto, NULL};
    struct tp_server s2;
    int rc = tp_server_start(&s2, r.cfg, r.dir, extra);
    if (rc == 0)
        tp_stop(s2.pid, SIGKILL, 2000);
    cr_expect_neq(rc, 0, "a %s server started from a %s checkpoint", second, first);
    st = tp_exit_status(s2.pid);
    cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "exit status %#x", st);
    char *log = tp_read_file(s2.log, NULL);
    cr_expect(log && strstr(log, "protocol") && strstr(log, first) && strstr(log, second),
              "the error does not name both protocols");
    if (rc == 0 || !log)
        dump(s2.log);
    free(log);
    /* And the checkpoint is still there for the right server. */
    cr_expect(tp_file_exists(sj), "the refused start removed the checkpoint");
}

Test(restart, checkpoint_of_the_other_protocol_is_refused)
{
    other_protocol_refused("mtgan", "sgda");
    other_protocol_refused("sgda", "mtgan");
}

/* GET /v1/scheduler's edges[] entry of edge id: step_s and transfer_s; 0 when absent. */
static int sched_profile(unsigned port, const char *edge, double *step, double *transfer)
{
    cJSON *o = tp_get_json(port, "/v1/scheduler");
    cr_assert_not_null(o, "GET /v1/scheduler");
    int found = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "edges"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "edge");
        if (cJSON_IsString(id) && strcmp(id->valuestring, edge) == 0) {
            *step = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "step_s"));
            *transfer = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "transfer_s"));
            found = 1;
        }
    }
    cJSON_Delete(o);
    return found;
}

Test(restart, keeps_scheduler_edge_profiles_and_candidates)
{
    struct run r = {0};
    char text[1024];
    cr_assert_eq(tp_tmpdir(r.dir, sizeof r.dir), 0);
    snprintf(r.cfg, sizeof r.cfg, "%s/config.json", r.dir);
    snprintf(r.state, sizeof r.state, "%s/state", r.dir);
    snprintf(text, sizeof text,
             "{\"protocol\": \"mtgan\", \"log_level\": \"info\", \"state_dir\": \"%s\", \"checkpoint_every\": 1,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0, 3]}, \"n_edges\": 2,\n"
             " \"lifelong\": {\"unknown_tasks\": \"ask\"},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"profiled\", \"local_steps\": 5, \"round_deadline_ms\": 1000}},\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": 1000000}}\n",
             r.state);
    cr_assert_eq(tp_write_file(r.cfg, text), 0);
    start_server(&r, NULL);
    start_edges(&r);
    wait_versions(&r, 3, 40);
    stop_edges(&r);
    double v[N_TASKS];
    struct tp_resp m[N_TASKS];
    quiesce(&r, v, m); /* no edge left: nothing changes the profiles any more */
    for (int t = 0; t < N_TASKS; t++)
        tp_resp_free(&m[t]);
    double step[2], transfer[2];
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "edge-%d", i);
        cr_assert(sched_profile(r.srv.port, id, &step[i], &transfer[i]), "%s was never profiled", id);
        cr_assert_gt(step[i], 0);
    }
    /* An edge reports unknown data; with "ask" the candidate waits for an operator. */
    char body[2048];
    size_t k = (size_t)snprintf(body, sizeof body,
                                "{\"edge\": \"edge-9\", \"samples\": 12, \"new_frac\": 0.75, \"radius\": 1.5, \"mean\": [");
    for (int j = 0; j < 64; j++)
        k += (size_t)snprintf(body + k, sizeof body - k, "%s0.25", j ? ", " : "");
    snprintf(body + k, sizeof body - k, "]}");
    struct tp_resp resp;
    const char *const hdr[] = {"Content-Type: application/json", NULL};
    cr_assert_eq(tp_http(r.srv.port, "POST", "/v1/candidates", hdr, body, strlen(body), &resp), 0);
    cr_assert(resp.status == 200 || resp.status == 201, "POST /v1/candidates: %d %s", resp.status, resp.body);
    tp_resp_free(&resp);

    int st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x after SIGTERM", st);
    start_server(&r, NULL);

    /* The profiles come back by edge id, exactly, before any edge has re-registered. */
    for (int i = 0; i < 2; i++) {
        char id[16];
        double s2 = 0, t2 = 0;
        snprintf(id, sizeof id, "edge-%d", i);
        cr_assert(sched_profile(r.srv.port, id, &s2, &t2), "%s's profile was lost in the restart", id);
        cr_expect(s2 == step[i] && t2 == transfer[i], "%s: %g s/step, %g s transfer before; %g, %g after", id,
                  step[i], transfer[i], s2, t2);
    }
    cJSON *c = tp_get_json(r.srv.port, "/v1/candidates");
    cr_assert_not_null(c, "GET /v1/candidates");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, "candidates");
    cr_assert_eq(cJSON_GetArraySize(arr), 1, "the pending candidate was forgotten");
    const cJSON *c0 = cJSON_GetArrayItem(arr, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c0, "edge")), "edge-9");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c0, "task")), "new-1");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c0, "status")), "pending");
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c0, "samples")), 12);
    cJSON_Delete(c);

    /* A returning edge gets its profile back in its new slot. */
    start_edges(&r);
    wait_versions(&r, v[0] > v[1] ? v[0] + 1 : v[1] + 1, 30);
    stop_edges(&r);
    char *log = tp_read_file(r.srv.log, NULL);
    cr_expect(log && strstr(log, "edge edge-0: restored scheduler profile"), "no profile was restored on re-registration");
    free(log);
    st = tp_stop(r.srv.pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x", st);
}
