/*
 * test_job.c - `mtgan-server --job NAME` against the fake Kubernetes API
 * server (tests/support/fake_apiserver.c): the server takes its
 * configuration from the MultiTaskGANJob, trains with a real edge, keeps
 * the CR's status current with valid merge patches and ends with
 * Completed once spec.maxRounds is reached; a spec it cannot honour ends
 * with a non-zero exit and Failed in the status, with the spec path named.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fake_apiserver.h"
#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(job, .fini = fini, .timeout = 120);

#define TOKEN "sa-token-123"

static const char *const cr_fmt =
    "{\"apiVersion\": \"mtgan.sedna.io/v1alpha1\", \"kind\": \"MultiTaskGANJob\",\n"
    " \"metadata\": {\"name\": \"ring\", \"namespace\": \"mtgan\", \"generation\": 3},\n"
    " \"spec\": {\"protocol\": \"mtgan\", \"maxRounds\": 4, %s\n"
    "   \"tasks\": [{\"id\": \"ring\", \"generator\": {\"layers\": [32, 32], \"latentDim\": 2},\n"
    "              \"discriminator\": {\"layers\": [32, 32]}}],\n"
    "   \"edges\": {\"localModel\": {\"localSteps\": 10}},\n"
    "   \"data\": {\"dataset\": \"ring\"}}}\n";

struct rig {
    char dir[256];
    char cfg[320];
    struct fake_apiserver *fa;
};

/* Fake API server holding the CR, a token file, and the env that points the server at them. */
static void rig_up(struct rig *r, const char *extra_spec)
{
    cr_assert_eq(tp_tmpdir(r->dir, sizeof r->dir), 0);
    unsigned short port;
    r->fa = fake_apiserver_start(TOKEN, &port);
    cr_assert_not_null(r->fa);
    char cr[2048], path[400], url[64], text[1024];
    snprintf(cr, sizeof cr, cr_fmt, extra_spec);
    cr_assert_eq(fake_apiserver_put_job(r->fa, "mtgan", "ring", cr), 0);
    snprintf(path, sizeof path, "%s/token", r->dir);
    cr_assert_eq(tp_write_file(path, TOKEN "\n"), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    setenv("MTGAN_K8S_API", url, 1);
    setenv("MTGAN_K8S_TOKEN_FILE", path, 1);
    setenv("MTGAN_K8S_NAMESPACE", "mtgan", 1);
    /* The file layer only says where state goes; everything else comes from the CR. */
    snprintf(r->cfg, sizeof r->cfg, "%s/server.json", r->dir);
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/state\", \"log_level\": \"info\", \"train\": {\"eval_every\": 0}}\n",
             r->dir);
    cr_assert_eq(tp_write_file(r->cfg, text), 0);
}

static cJSON *stored_status(struct rig *r)
{
    char *json = fake_apiserver_job_json(r->fa, "mtgan", "ring");
    cr_assert_not_null(json);
    cJSON *o = cJSON_Parse(json);
    free(json);
    cr_assert_not_null(o);
    return o;
}

static const char *phase_of(const cJSON *cr)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(cr, "status");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "phase"));
}

static void check_requests(struct rig *r)
{
    size_t n = fake_apiserver_requests(r->fa);
    cr_assert_geq(n, 2, "at least the GET and one status patch");
    for (size_t i = 0; i < n; i++) {
        struct fake_apiserver_req q;
        cr_assert_eq(fake_apiserver_get(r->fa, i, &q), 0);
        cr_assert(q.valid, "request %zu %s %s broke a rule: %s", i, q.method, q.path, q.why);
        cr_assert_str_eq(q.auth, "Bearer " TOKEN);
        fake_apiserver_req_free(&q);
    }
}

Test(job, server_configures_from_cr_and_reports_completed)
{
    struct rig r;
    rig_up(&r, "");
    char edge_cfg[320], text[512];
    snprintf(edge_cfg, sizeof edge_cfg, "%s/edge.json", r.dir);
    snprintf(text, sizeof text,
             "{\"data\": {\"dataset\": \"ring\"}, \"log_level\": \"info\",\n"
             " \"tasks\": [{\"id\": \"ring\", \"generator\": {\"layers\": [32, 32], \"latent_dim\": 2},\n"
             "            \"discriminator\": {\"layers\": [32, 32]}}]}\n");
    cr_assert_eq(tp_write_file(edge_cfg, text), 0);

    struct tp_server s;
    char *extra[] = {"--job", "ring", NULL};
    cr_assert_eq(tp_server_start(&s, r.cfg, r.dir, extra), 0, "server did not start (see %s)", s.log);
    cr_assert_geq(tp_edge_start(edge_cfg, s.port, r.dir, "edge-a", 0, 1, NULL), 0);

    /* maxRounds raises the stop flag; the server exits on its own. */
    int ws = tp_wait(s.pid, 90000);
    cr_assert_neq(ws, -1, "server did not stop after spec.maxRounds (log %s)", s.log);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "server exit status %d (log %s)", ws, s.log);

    cJSON *cr = stored_status(&r);
    cr_assert_str_eq(phase_of(cr), "Completed");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(cr, "status");
    cr_assert_geq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "round")), 4);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "observedGeneration")), 3);
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
    cr_assert_eq(cJSON_GetArraySize(tasks), 1);
    const cJSON *t0 = cJSON_GetArrayItem(tasks, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t0, "id")), "ring");
    cr_assert_geq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t0, "steps")), 40,
                  "4 rounds of 10 local steps (from spec.edges.localModel)");
    int completed = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "conditions"))
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
        if (type && status && strcmp(type, "Completed") == 0 && strcmp(status, "True") == 0)
            completed = 1;
    }
    cr_assert(completed, "a Completed=True condition");
    cJSON_Delete(cr);
    check_requests(&r);

    /* The CR's settings reached the server: the task's generator is 2 -> 32 -> 32 -> 2. */
    char *log = tp_read_file(s.log, NULL);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "configured from MultiTaskGANJob mtgan/ring"), "log: %s", log);
    free(log);
    fake_apiserver_stop(r.fa);
}

Test(job, bad_spec_fails_with_the_spec_path_in_status)
{
    struct rig r;
    rig_up(&r, "\"scheduler\": {\"server\": {\"roundDeadlineMs\": \"fast\"}},");
    struct tp_server s;
    char *extra[] = {"--job", "ring", NULL};
    cr_assert_neq(tp_server_start(&s, r.cfg, r.dir, extra), 0, "a bad spec must not start a server");
    char *log = tp_read_file(s.log, NULL);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "spec.scheduler.server.roundDeadlineMs"), "the error names the spec path: %s", log);
    free(log);
    cJSON *cr = stored_status(&r);
    cr_assert_str_eq(phase_of(cr), "Failed");
    cJSON_Delete(cr);
    check_requests(&r);
    fake_apiserver_stop(r.fa);
}

Test(job, unreachable_job_is_an_error_not_a_default_config)
{
    struct rig r;
    rig_up(&r, "");
    struct tp_server s;
    char *extra[] = {"--job", "no-such-job", NULL};
    cr_assert_neq(tp_server_start(&s, r.cfg, r.dir, extra), 0);
    char *log = tp_read_file(s.log, NULL);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "404"), "the API server's answer is quoted: %s", log);
    free(log);
    fake_apiserver_stop(r.fa);
}
