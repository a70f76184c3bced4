/*
 * test_k8s.c - src/k8s against a fake API server: the in-cluster client
 * (auth, 404, retries), MultiTaskGANJob spec -> config (the shipped samples,
 * errors naming spec paths), status merge patches (field by field, stable
 * lastTransitionTime) and the periodic reporter.
 *
 * tests/k8s/fixtures/{digits-mtgan,ring}.json are crds/samples/{digits-mtgan,ring}.yaml converted to JSON (plus
 * the metadata the API server adds: generation, uid, resourceVersion).
 */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/gan.h"
#include "core/log.h"
#include "core/status.h"
#include "fake_apiserver.h"
#include "k8s/job.h"
#include "k8s/k8s.h"
#include "k8s/reporter.h"
#include "k8s/status.h"

#define TOKEN "s3cret-token"
#define JOB_PATH "/apis/mtgan.sedna.io/v1alpha1/namespaces/mtgan/multitaskganjobs/digits-mtgan"

static char *empty_env[] = {NULL};

static char *read_text(const char *rel)
{
    const char *src = getenv("MTGAN_SRC_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The CR txt (freed here) with one spec field set (path "a.b.c" under spec; value is JSON). */
static char *cr_with(char *txt, const char *path, const char *value)
{
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    cr_assert(root);
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(root, "spec");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    char *seg = strtok_r(buf, ".", &save);
    while (seg) {
        char *next = strtok_r(NULL, ".", &save);
        char *br = strchr(seg, '[');
        if (br) {
            *br = '\0';
            cur = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cur, seg), (int)strtol(br + 1, NULL, 10));
            cr_assert(cur, "no %s in the sample", path);
        } else if (!next) {
            cJSON *v = cJSON_Parse(value);
            cr_assert(v, "bad test value %s", value);
            if (cJSON_GetObjectItemCaseSensitive(cur, seg))
                cJSON_ReplaceItemInObjectCaseSensitive(cur, seg, v);
            else
                cJSON_AddItemToObject(cur, seg, v);
        } else {
            cJSON *child = cJSON_GetObjectItemCaseSensitive(cur, seg);
            if (!child)
                child = cJSON_AddObjectToObject(cur, seg);
            cur = child;
        }
        seg = next;
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* The digits sample with one spec field set. */
static char *sample_with(const char *path, const char *value)
{
    return cr_with(read_text("tests/k8s/fixtures/digits-mtgan.json"), path, value);
}

/* A token file holding TOKEN (or tok); path into buf. */
static void token_file(char *buf, size_t cap, const char *tok)
{
    snprintf(buf, cap, "/tmp/mtgan-k8s-token-XXXXXX");
    int fd = mkstemp(buf);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n", tok);
    fclose(f);
}

struct env {
    struct fake_apiserver *fa;
    struct mtg_k8s_client *kc;
    char tok[64];
    char url[64];
};

static void env_up(struct env *e, const char *client_token)
{
    mtg_log_set_level(MTG_LOG_ERROR);
    unsigned short port;
    e->fa = fake_apiserver_start(TOKEN, &port);
    cr_assert(e->fa);
    char *cr = read_text("tests/k8s/fixtures/digits-mtgan.json");
    cr_assert_eq(fake_apiserver_put_job(e->fa, "mtgan", "digits-mtgan", cr), 0);
    free(cr);
    token_file(e->tok, sizeof e->tok, client_token ? client_token : TOKEN);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%u", port);
    struct mtg_k8s_opts o = {.api_url = e->url, .token_file = e->tok, .namespace = "mtgan",
                             .backoff_ms = 5, .max_attempts = 4, .envp = empty_env};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_client_new(&o, &e->kc, &err), MTG_OK, "%s", err.msg);
}

static void env_down(struct env *e)
{
    mtg_k8s_client_free(e->kc);
    fake_apiserver_stop(e->fa);
    unlink(e->tok);
}

static cJSON *request_body(struct fake_apiserver *fa, size_t i, struct fake_apiserver_req *r)
{
    cr_assert_eq(fake_apiserver_get(fa, i, r), 0);
    cJSON *b = cJSON_Parse(r->body);
    cr_assert(b, "request %zu body is not JSON: %s", i, r->body);
    return b;
}

static const cJSON *cond(const cJSON *status, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "type")->valuestring, type) == 0)
            return c;
    }
    return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "\"%s\" is not a string", k);
    return v->valuestring;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(v), "\"%s\" is not a number", k);
    return v->valuedouble;
}

/* ---- client ---- */

Test(k8s_client, in_cluster_defaults_and_overrides)
{
    struct mtg_k8s_client *kc = NULL;
    struct mtg_err err = {0};
    cr_assert_neq(mtg_k8s_client_new(&(struct mtg_k8s_opts){.envp = empty_env}, &kc, &err), MTG_OK);
    cr_assert(strstr(err.msg, "KUBERNETES_SERVICE_HOST"), "%s", err.msg);

    char *env4[] = {"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=6443",
                    "MTGAN_K8S_NAMESPACE=team-a", NULL};
    cr_assert_eq(mtg_k8s_client_new(&(struct mtg_k8s_opts){.envp = env4}, &kc, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_str_eq(mtg_k8s_api_url(kc), "https://10.96.0.1:6443");
    cr_assert_str_eq(mtg_k8s_namespace(kc), "team-a");
    mtg_k8s_client_free(kc);

    char *env6[] = {"KUBERNETES_SERVICE_HOST=fd00::1", "KUBERNETES_SERVICE_PORT=443",
                    "MTGAN_K8S_NAMESPACE=team-a", "MTGAN_K8S_API=http://127.0.0.1:1/", NULL};
    cr_assert_eq(mtg_k8s_client_new(&(struct mtg_k8s_opts){.envp = env6}, &kc, &err), MTG_OK);
    cr_assert_str_eq(mtg_k8s_api_url(kc), "http://127.0.0.1:1", "MTGAN_K8S_API wins");
    mtg_k8s_client_free(kc);
    env6[3] = NULL;
    cr_assert_eq(mtg_k8s_client_new(&(struct mtg_k8s_opts){.envp = env6}, &kc, &err), MTG_OK);
    cr_assert_str_eq(mtg_k8s_api_url(kc), "https://[fd00::1]:443");
    mtg_k8s_client_free(kc);

    char *bad_ns[] = {"MTGAN_K8S_API=http://127.0.0.1:1", "MTGAN_K8S_NAMESPACE=Team/A", NULL};
    cr_assert_neq(mtg_k8s_client_new(&(struct mtg_k8s_opts){.envp = bad_ns}, &kc, &err), MTG_OK);
    cr_assert(strstr(err.msg, "Team/A"), "%s", err.msg);
}

Test(k8s_client, object_names_are_checked)
{
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_check_name("digits-mtgan", &err), MTG_OK);
    cr_assert_eq(mtg_k8s_check_name("a.b-c", &err), MTG_OK);
    cr_assert_neq(mtg_k8s_check_name("Digits", &err), MTG_OK);
    cr_assert_neq(mtg_k8s_check_name("x/status", &err), MTG_OK);
    cr_assert_neq(mtg_k8s_check_name("-x", &err), MTG_OK);
    cr_assert_neq(mtg_k8s_check_name("", &err), MTG_OK);
}

Test(k8s_client, get_sends_the_bearer_token)
{
    struct env e;
    env_up(&e, NULL);
    char *json = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_get_job(e.kc, "digits-mtgan", &json, &err), MTG_OK, "%s", err.msg);
    cr_assert(strstr(json, "\"digits-mtgan\""));
    free(json);
    struct fake_apiserver_req r;
    cr_assert_eq(fake_apiserver_get(e.fa, 0, &r), 0);
    cr_assert_str_eq(r.method, "GET");
    cr_assert_str_eq(r.path, JOB_PATH);
    cr_assert_str_eq(r.auth, "Bearer " TOKEN);
    cr_assert(r.valid, "%s", r.why);
    fake_apiserver_req_free(&r);
    env_down(&e);
}

Test(k8s_client, wrong_token_is_an_auth_error_without_retries)
{
    struct env e;
    env_up(&e, "not-the-token");
    char *json = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_get_job(e.kc, "digits-mtgan", &json, &err), MTG_EAUTH);
    cr_assert_null(json);
    cr_assert(strstr(err.msg, "mtgan/digits-mtgan"), "%s", err.msg);
    cr_assert(strstr(err.msg, "401"), "%s", err.msg);
    cr_assert_eq(fake_apiserver_requests(e.fa), 1, "a 401 is final");
    env_down(&e);
}

Test(k8s_client, missing_job_is_named)
{
    struct env e;
    env_up(&e, NULL);
    char *json = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_get_job(e.kc, "nope", &json, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "MultiTaskGANJob mtgan/nope not found"), "%s", err.msg);
    cr_assert(strstr(err.msg, "\"nope\" not found"), "the API server's message is quoted: %s", err.msg);
    env_down(&e);
}

Test(k8s_client, retries_5xx_then_succeeds_or_gives_up)
{
    struct env e;
    env_up(&e, NULL);
    char *json = NULL;
    struct mtg_err err = {0};
    fake_apiserver_fail_next(e.fa, 2, 500);
    cr_assert_eq(mtg_k8s_get_job(e.kc, "digits-mtgan", &json, &err), MTG_OK, "%s", err.msg);
    free(json);
    cr_assert_eq(fake_apiserver_requests(e.fa), 3);
    struct fake_apiserver_req r;
    fake_apiserver_get(e.fa, 1, &r);
    cr_assert_eq(r.http_status, 500);
    fake_apiserver_req_free(&r);

    fake_apiserver_fail_next(e.fa, 100, 503);
    cr_assert_eq(mtg_k8s_get_job(e.kc, "digits-mtgan", &json, &err), MTG_EUNAVAIL);
    cr_assert(strstr(err.msg, "gave up after 4 attempts"), "%s", err.msg);
    cr_assert_eq(fake_apiserver_requests(e.fa), 7);
    env_down(&e);
}

Test(k8s_client, network_errors_are_retried)
{
    /* Nothing listens on the port of a stopped fake. */
    unsigned short port;
    struct fake_apiserver *fa = fake_apiserver_start(TOKEN, &port);
    fake_apiserver_stop(fa);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    struct mtg_k8s_client *kc;
    struct mtg_err err = {0};
    struct mtg_k8s_opts o = {.api_url = url, .token_file = "", .namespace = "mtgan",
                             .backoff_ms = 1, .max_attempts = 3, .envp = empty_env};
    mtg_log_set_level(MTG_LOG_OFF);
    cr_assert_eq(mtg_k8s_client_new(&o, &kc, &err), MTG_OK);
    char *json;
    cr_assert_eq(mtg_k8s_get_job(kc, "x", &json, &err), MTG_ENET);
    cr_assert(strstr(err.msg, "gave up after 3 attempts"), "%s", err.msg);
    mtg_k8s_client_free(kc);
}

/* ---- spec -> config ---- */

static void apply_fixture(const char *rel, struct mtg_cfg *cfg, struct mtg_k8s_job *job)
{
    char *cr = read_text(rel);
    struct mtg_err err = {0};
    mtg_cfg_defaults(cfg);
    cr_assert_eq(mtg_k8s_job_apply(cfg, cr, job, &err), MTG_OK, "%s", err.msg);
    free(cr);
    cr_assert_eq(mtg_cfg_validate(cfg, &err), MTG_OK, "%s", err.msg);
}

Test(k8s_job, digits_sample_maps_onto_the_config)
{
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    apply_fixture("tests/k8s/fixtures/digits-mtgan.json", &cfg, &job);
    cr_assert_str_eq(job.namespace, "mtgan");
    cr_assert_str_eq(job.name, "digits-mtgan");
    cr_assert_eq(job.generation, 3);
    cr_assert_eq(job.max_rounds, 0);
    cr_assert(job.auth);
    cr_assert_str_eq(job.auth_secret, "mtgan-token");
    cr_assert_eq(job.n_tasks, 10);

    cr_assert_eq(cfg.protocol, MTG_CFG_PROTO_MTGAN);
    cr_assert_eq(cfg.seed, 7);
    cr_assert_eq(cfg.data.partition.seed, 7);
    cr_assert_eq(cfg.model.sharing, MTG_CFG_SHARE_NONE);
    cr_assert_eq(cfg.port, 8080);
    cr_assert_eq(cfg.n_tasks, 10);
    cr_assert_eq(cfg.data.tasks.n, 10);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "digit-%d", i);
        cr_assert_str_eq(cfg.tasks[i].id, id);
        cr_assert_eq(cfg.data.tasks.id[i], i);
    }
    const struct mtg_cfg_task *t0 = &cfg.tasks[0];
    cr_assert_eq(t0->generator.layers.n, 2);
    cr_assert_eq(t0->generator.layers.width[0], 128);
    cr_assert_eq(t0->generator.layers.width[1], 256);
    cr_assert_eq(t0->generator.activation, MTG_ACT_RELU);
    cr_assert_eq(t0->generator.latent_dim, 32);
    cr_assert_float_eq(t0->generator.lr, 0.002, 1e-12);
    cr_assert_float_eq(t0->generator.betas[0], 0.0, 1e-12);
    cr_assert_float_eq(t0->generator.betas[1], 0.99, 1e-12);
    cr_assert_eq(t0->discriminator.layers.n, 2);
    cr_assert_eq(t0->discriminator.layers.width[0], 256);
    cr_assert_eq(t0->discriminator.layers.width[1], 128);
    cr_assert_eq(t0->discriminator.activation, MTG_ACT_LEAKY_RELU);

    cr_assert_eq(cfg.scheduler.server.policy, MTG_CFG_SPOL_PROFILED);
    cr_assert_eq(cfg.scheduler.server.round_deadline_ms, 30000);
    cr_assert_eq(cfg.scheduler.server.memory_budget_mb, 512);
    cr_assert(cfg.scheduler.server.priority);
    cr_assert_eq(cfg.scheduler.server.local_steps, 50);
    cr_assert_eq(cfg.scheduler.edge.policy, MTG_CFG_EPOL_LOSS_WEIGHTED);
    cr_assert(cfg.scheduler.edge.overlap);
    cr_assert_eq(cfg.scheduler.edge.memory_budget_mb, 256);
    cr_assert_eq(cfg.aggregation.mode, MTG_CFG_AGG_SYNC);
    cr_assert_float_eq(cfg.emulation.speed_factor, 1.0, 1e-12);
    cr_assert_float_eq(cfg.emulation.link_mbps, 50.0, 1e-12);
    cr_assert_float_eq(cfg.emulation.link_latency_ms, 20.0, 1e-12);
    cr_assert_eq(cfg.data.dataset, MTG_CFG_DATA_DIGITS);
    cr_assert_eq(cfg.data.partition.tasks_per_edge_min, 4);
    cr_assert_eq(cfg.data.partition.tasks_per_edge_max, 6);
    cr_assert_float_eq(cfg.train.target_fidelity, 0.9, 1e-12);
    cr_assert_float_eq(cfg.train.target_fd_ratio, 1.2, 1e-12);
    cr_assert_float_eq(cfg.train.target_recall_ratio, 0.8, 1e-12);
    cr_assert_eq(job.track.start_time, 0, "a CR without status starts fresh");
}

Test(k8s_job, ring_sample_async_iid_and_its_status)
{
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    apply_fixture("tests/k8s/fixtures/ring.json", &cfg, &job);
    cr_assert_eq(cfg.data.dataset, MTG_CFG_DATA_RING);
    cr_assert_eq(cfg.n_tasks, 1);
    cr_assert_str_eq(cfg.tasks[0].id, "ring");
    cr_assert_eq(cfg.tasks[0].generator.latent_dim, 2);
    cr_assert_eq(cfg.scheduler.server.policy, MTG_CFG_SPOL_ASYNC);
    cr_assert_eq(cfg.aggregation.mode, MTG_CFG_AGG_ASYNC, "the async policy implies async aggregation");
    cr_assert_eq(cfg.scheduler.server.staleness_bound, 4);
    cr_assert_eq(cfg.data.partition.tasks_per_edge_min, 1, "iid: every edge holds every task");
    cr_assert_eq(cfg.data.partition.tasks_per_edge_max, 1);
    cr_assert_float_eq(cfg.emulation.speed_factor, 4.0, 1e-12);
    cr_assert_eq(job.max_rounds, 500);
    cr_assert(!job.auth);
    int64_t t;
    cr_assert_eq(mtg_k8s_time_parse("2026-01-01T10:00:03Z", &t), 0);
    cr_assert(job.track.cond[MTG_K8S_COND_RUNNING].known);
    cr_assert_eq(job.track.cond[MTG_K8S_COND_RUNNING].status, 1);
    cr_assert_eq(job.track.cond[MTG_K8S_COND_RUNNING].since, t);
    cr_assert_eq(job.track.cond[MTG_K8S_COND_QUALITY].status, 0);
    cr_assert_eq(job.track.start_time, t - 3);
}

/* The digits sample with spec.data.dataset fashion-mnist and its tasks renamed fashion-N. */
Test(k8s_job, fashion_mnist_tasks_map_to_class_ids)
{
    static struct mtg_cfg cfg;
    char *cr = sample_with("data.dataset", "\"fashion-mnist\"");
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    /* Still digit-N ids: named as not belonging to the dataset. */
    cr_assert_neq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK);
    cr_assert(strstr(err.msg, "spec.tasks[0].id: \"digit-0\" is not a fashion-mnist task (fashion-0 .. fashion-9)"),
              "%s", err.msg);
    for (char *p = cr; (p = strstr(p, "\"digit-")) != NULL;) {
        /* "digit-N" -> "fashion-N": same length as the JSON allows by shifting the tail. */
        size_t tail = strlen(p + 7);
        char *grown = malloc((size_t)(p - cr) + 9 + tail + 1);
        cr_assert(grown);
        memcpy(grown, cr, (size_t)(p - cr));
        memcpy(grown + (p - cr), "\"fashion-", 9);
        memcpy(grown + (p - cr) + 9, p + 7, tail + 1);
        size_t at = (size_t)(p - cr) + 9;
        free(cr);
        cr = grown;
        p = cr + at;
    }
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    free(cr);
    cr_assert_eq(cfg.data.dataset, MTG_CFG_DATA_FASHION);
    cr_assert_eq(cfg.data.tasks.n, 10);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(cfg.data.tasks.id[i], i);
    cr_assert_str_eq(cfg.tasks[3].id, "fashion-3");

    cr = sample_with("data.limitPerClass", "50");
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    free(cr);
    cr_assert_eq(cfg.data.limit_per_class, 50);
}

/* Applies the digits sample with spec.<path> = value and expects an error containing want. */
static void expect_spec_error(const char *path, const char *value, const char *want)
{
    static struct mtg_cfg cfg;
    char *cr = sample_with(path, value);
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    int rc = mtg_k8s_job_apply(&cfg, cr, NULL, &err);
    free(cr);
    cr_assert_neq(rc, MTG_OK, "spec.%s = %s was accepted", path, value);
    cr_assert(strstr(err.msg, want), "spec.%s = %s:\n  got  %s\n  want ...%s...", path, value,
              err.msg, want);
    cr_assert(strncmp(err.msg, "MultiTaskGANJob mtgan/digits-mtgan: ", 36) == 0, "%s", err.msg);
}

Test(k8s_job, bad_fields_are_named_by_spec_path)
{
    expect_spec_error("scheduler.server.roundDeadline", "100",
                      "spec.scheduler.server.roundDeadline: unknown field");
    expect_spec_error("scheduler.server.roundDeadlineMs", "\"fast\"",
                      "spec.scheduler.server.roundDeadlineMs: expected integer, got string \"fast\"");
    expect_spec_error("scheduler.server.roundDeadlineMs", "0",
                      "spec.scheduler.server.roundDeadlineMs: expected integer in [1, 3600000]");
    expect_spec_error("tasks[1].generator.latentDim", "2.5",
                      "spec.tasks[1].generator.latentDim: expected integer, got number 2.5");
    expect_spec_error("tasks[1].generator.latentDim", "-1", "spec.tasks[1].generator.latentDim:");
    expect_spec_error("tasks[0].generator.betas", "[0.5, \"x\"]",
                      "spec.tasks[0].generator.betas[1]: expected number");
    expect_spec_error("tasks[0].discriminator.activation", "\"swish\"",
                      "spec.tasks[0].discriminator.activation:");
    expect_spec_error("tasks[3].id", "\"seven\"",
                      "spec.tasks[3].id: \"seven\" is not a digits task");
    expect_spec_error("tasks[4].id", "\"digit-3\"",
                      "spec.tasks[4].id: \"digit-3\" already used by spec.tasks[3]");
    expect_spec_error("tasks[0].colour", "1", "spec.tasks[0].colour: unknown field");
    expect_spec_error("protocol", "\"fedavg\"", "spec.protocol:");
    expect_spec_error("scheduler.server.priority", "\"high\"",
                      "spec.scheduler.server.priority: expected \"none\" or \"quality\"");
    expect_spec_error("scheduler.edge.overlap", "\"yes\"",
                      "spec.scheduler.edge.overlap: expected boolean");
    expect_spec_error("qualityTarget.fidelity", "1.5", "spec.qualityTarget.fidelity:");
    expect_spec_error("edges.localModel.generator.lr", "2",
                      "spec.edges.localModel.generator.lr: expected number in (0, 1]");
    expect_spec_error("edges.localModel.generator.layers", "\"64\"",
                      "spec.edges.localModel.generator.layers: expected array of integers");
    expect_spec_error("edges.localModel.localSteps", "0", "spec.edges.localModel.localSteps:");
    expect_spec_error("server", "[]", "spec.server: expected object, got an array");
    expect_spec_error("tasks", "[]", "spec.tasks: at least one task is required");
}

/* The digits sample with the GAN recipe, spec.deterministic and spec.edges.count set. */
static char *recipe_sample(void)
{
    char *cr = sample_with("model.loss", "\"hinge\"");
    cr = cr_with(cr, "model.ema", "0.995");
    cr = cr_with(cr, "model.instanceNoise", "0.1");
    cr = cr_with(cr, "model.realLabel", "0.9");
    cr = cr_with(cr, "model.pack", "2");
    cr = cr_with(cr, "deterministic", "true");
    return cr_with(cr, "edges.count", "3");
}

Test(k8s_job, recipe_and_deterministic_reach_the_config)
{
    static struct mtg_cfg cfg;
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(cfg.model.recipe.loss, MTG_GAN_LOSS_NS, "the test needs non-default values");
    cr_assert(!cfg.train.deterministic);
    cr_assert_neq(cfg.n_edges, 3);
    char *cr = recipe_sample();
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cfg_validate(&cfg, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(cfg.model.recipe.loss, MTG_GAN_LOSS_HINGE);
    cr_assert_float_eq(cfg.model.recipe.ema, 0.995, 1e-12);
    cr_assert_float_eq(cfg.model.recipe.noise, 0.1, 1e-12);
    cr_assert_float_eq(cfg.model.recipe.real_label, 0.9, 1e-12);
    cr_assert_eq(cfg.model.recipe.pack, 2);
    cr_assert(cfg.train.deterministic);
    cr_assert_eq(cfg.n_edges, 3, "the edges a deterministic server waits for");
    cr_assert_eq(cfg.model.sharing, MTG_CFG_SHARE_NONE, "the sample's other model field stands");

    /* The config-file JSON carries them under their config keys. */
    char *js = NULL;
    cr_assert_eq(mtg_k8s_job_to_config(cr, &js, NULL, &err), MTG_OK, "%s", err.msg);
    cJSON *o = cJSON_Parse(js);
    cr_assert(o);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(o, "model");
    cr_assert_str_eq(str(model, "loss"), "hinge");
    cr_assert_float_eq(num(model, "ema"), 0.995, 1e-12);
    cr_assert_float_eq(num(model, "instance_noise"), 0.1, 1e-12);
    cr_assert_float_eq(num(model, "real_label"), 0.9, 1e-12);
    cr_assert_eq(num(model, "pack"), 2);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "train"), "deterministic")));
    cr_assert_eq(num(o, "n_edges"), 3);
    cJSON_Delete(o);
    free(js);
    free(cr);
}

Test(k8s_job, bad_recipe_values_are_named_by_spec_path)
{
    expect_spec_error("model.pack", "0", "spec.model.pack: expected integer in [1, 16]");
    expect_spec_error("model.pack", "17", "spec.model.pack: expected integer in [1, 16]");
    expect_spec_error("model.pack", "2.5", "spec.model.pack: expected integer, got number 2.5");
    expect_spec_error("model.loss", "\"wgan\"",
                      "spec.model.loss: expected one of \"ns\", \"hinge\", got \"wgan\"");
    expect_spec_error("model.loss", "1", "spec.model.loss: expected string, got number 1");
    expect_spec_error("model.ema", "1", "spec.model.ema: expected number in [0, 1)");
    expect_spec_error("model.ema", "-0.1", "spec.model.ema:");
    expect_spec_error("model.instanceNoise", "10.5",
                      "spec.model.instanceNoise: expected number in [0, 10]");
    expect_spec_error("model.realLabel", "0.5", "spec.model.realLabel: expected number in (0.5, 1]");
    expect_spec_error("model.realLabel", "\"0.9\"",
                      "spec.model.realLabel: expected number, got string");
    expect_spec_error("model.real_label", "0.9", "spec.model.real_label: unknown field");
    expect_spec_error("model.emaDecay", "0.9", "spec.model.emaDecay: unknown field");
    expect_spec_error("deterministic", "\"yes\"",
                      "spec.deterministic: expected boolean, got string \"yes\"");
    expect_spec_error("edges.count", "0", "spec.edges.count:");
}

/* spec.deterministic with a setting whose outcome depends on timing: both spec paths named. */
Test(k8s_job, deterministic_refuses_async_and_max_rounds)
{
    static struct mtg_cfg cfg;
    struct mtg_err err = {0};
    char *cr = cr_with(sample_with("deterministic", "true"), "scheduler.server.policy", "\"async\"");
    mtg_cfg_defaults(&cfg);
    cr_assert_neq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK);
    cr_assert(strstr(err.msg, "MultiTaskGANJob mtgan/digits-mtgan: spec.deterministic: true rules out "
                              "spec.scheduler.server.policy \"async\""), "%s", err.msg);
    cr_assert(strstr(err.msg, "aggregation.mode \"async\""), "the config key it implies: %s", err.msg);
    cr_assert(strlen(err.msg) < sizeof err.msg - 1, "not truncated: %s", err.msg);
    free(cr);

    cr = cr_with(sample_with("deterministic", "true"), "maxRounds", "200");
    cr_assert_neq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK);
    cr_assert(strstr(err.msg, "spec.deterministic: true rules out spec.maxRounds 200"), "%s", err.msg);
    free(cr);

    /* Either one alone is fine. */
    cr = cr_with(sample_with("deterministic", "false"), "scheduler.server.policy", "\"async\"");
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    free(cr);
    cr = cr_with(sample_with("deterministic", "true"), "maxRounds", "0");
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cfg_validate(&cfg, &err), MTG_OK, "%s", err.msg);
    free(cr);
}

Test(k8s_job, local_model_restated_or_noted)
{
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    char *cr = sample_with("edges.localModel.generator.lr", "0.002");
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, &job, &err), MTG_OK, "%s", err.msg);
    cr_assert_str_eq(job.note, "", "the sample's localModel restates the global networks");
    free(cr);

    /* Valid but not honoured: edges always train the global network. */
    cr = sample_with("edges.localModel.discriminator.layers", "[128, 64]");
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, &job, &err), MTG_OK, "%s", err.msg);
    cr_assert(strstr(job.note, "spec.edges.localModel.discriminator.layers differs from "
                               "spec.tasks[0].discriminator.layers: ignored"), "%s", job.note);
    cr_assert_eq(cfg.tasks[0].discriminator.layers.width[0], 256, "the global network stands");
    free(cr);
}

Test(k8s_job, iid_overrides_tasks_per_edge)
{
    static struct mtg_cfg cfg;
    char *cr = sample_with("data.partition.mode", "\"iid\"");
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_apply(&cfg, cr, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(cfg.data.partition.tasks_per_edge_min, 10);
    cr_assert_eq(cfg.data.partition.tasks_per_edge_max, 10);
    free(cr);
}

Test(k8s_job, to_config_is_config_file_json)
{
    char *cr = read_text("tests/k8s/fixtures/digits-mtgan.json");
    char *js = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_job_to_config(cr, &js, NULL, &err), MTG_OK, "%s", err.msg);
    cJSON *o = cJSON_Parse(js);
    cr_assert(o);
    cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(o, "scheduler"), "server"),
                     "round_deadline_ms"),
                 30000);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                     cJSON_GetObjectItemCaseSensitive(o, "data"), "tasks")),
                 10);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "scheduler"), "server"),
        "priority")));
    cJSON_Delete(o);
    free(js);
    free(cr);
}

Test(k8s_job, resolve_layers_flags_over_the_cr)
{
    struct env e;
    env_up(&e, NULL);
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-server", "--job", "digits-mtgan", "--port", "9090", "--token-file",
                    e.tok, NULL};
    char *envp[] = {"MTGAN_SEED=99", NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 7, argv, envp,
                                     &job, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(cfg.port, 9090, "flags beat the CR");
    cr_assert_eq(cfg.seed, 99, "env beats the CR");
    cr_assert_eq(cfg.data.partition.seed, 7, "the CR beats defaults");
    cr_assert_str_eq(cfg.job, "digits-mtgan");
    cr_assert_eq(cfg.scheduler.server.round_deadline_ms, 30000);
    cr_assert_str_eq(job.name, "digits-mtgan");

    /* The CR wants auth (tokenSecretRef) but the server would run without a token. */
    char *argv2[] = {"mtgan-server", "--job", "digits-mtgan", NULL};
    cr_assert_neq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 3, argv2,
                                      empty_env, &job, &err),
                  MTG_OK);
    cr_assert(strstr(err.msg, "--token-file") && strstr(err.msg, "mtgan-token"), "%s", err.msg);
    cr_assert_eq(cfg.port, 9090, "cfg is untouched on failure");
    env_down(&e);
}

/* The config layer's own refusal, when the async half comes from a --config file. */
Test(k8s_job, resolve_deterministic_cr_with_async_config_file)
{
    struct env e;
    env_up(&e, NULL);
    char *cr = sample_with("deterministic", "true");
    cr_assert_eq(fake_apiserver_put_job(e.fa, "mtgan", "digits-mtgan", cr), 0);
    free(cr);
    char file[] = "/tmp/mtgan-k8s-cfg-XXXXXX";
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"aggregation\": {\"mode\": \"async\"}}\n");
    fclose(f);
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-server", "--job", "digits-mtgan", "--token-file", e.tok, "--config", file,
                    NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_neq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 7, argv,
                                      empty_env, &job, &err),
                  MTG_OK);
    cr_assert(strstr(err.msg, "MultiTaskGANJob mtgan/digits-mtgan"), "%s", err.msg);
    cr_assert(strstr(err.msg, "aggregation.mode \"async\"") && strstr(err.msg, "train.deterministic"),
              "both keys are named: %s", err.msg);

    /* Without the file the same CR resolves, deterministic. */
    char *argv2[] = {"mtgan-server", "--job", "digits-mtgan", "--token-file", e.tok, NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 5, argv2,
                                     empty_env, &job, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert(cfg.train.deterministic);
    unlink(file);
    env_down(&e);
}

/* PacGAN needs model.pack to divide model.batch (64 unless a --config file sets it). */
Test(k8s_job, resolve_pack_must_divide_the_batch)
{
    struct env e;
    env_up(&e, NULL);
    char *cr = sample_with("model.pack", "3");
    cr_assert_eq(fake_apiserver_put_job(e.fa, "mtgan", "digits-mtgan", cr), 0);
    free(cr);
    static struct mtg_cfg cfg;
    struct mtg_k8s_job job;
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-server", "--job", "digits-mtgan", "--token-file", e.tok, NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(cfg.model.batch, 64);
    cr_assert_neq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 5, argv,
                                      empty_env, &job, &err),
                  MTG_OK);
    /* The config layer's check (model.pack) or the job's (spec.model.pack) names the field and both numbers. */
    cr_assert(strstr(err.msg, "MultiTaskGANJob mtgan/digits-mtgan") && strstr(err.msg, "model.pack") &&
                  strstr(err.msg, "3 does not divide model.batch 64"), "%s", err.msg);

    cr = sample_with("model.pack", "4");
    cr_assert_eq(fake_apiserver_put_job(e.fa, "mtgan", "digits-mtgan", cr), 0);
    free(cr);
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_k8s_job_resolve(e.kc, "digits-mtgan", &cfg, MTG_CFG_BIN_SERVER, 5, argv,
                                     empty_env, &job, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(cfg.model.recipe.pack, 4);
    env_down(&e);
}

Test(k8s_job, job_flag_and_env)
{
    static struct mtg_cfg cfg;
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-server", "--job", "digits", NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_cfg_resolve(&cfg, MTG_CFG_BIN_SERVER, 3, argv, empty_env, NULL, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_str_eq(cfg.job, "digits");
    char *envp[] = {"MTGAN_JOB=ring", NULL};
    char *argv0[] = {"mtgan-server", NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_eq(mtg_cfg_resolve(&cfg, MTG_CFG_BIN_SERVER, 1, argv0, envp, NULL, &err), MTG_OK);
    cr_assert_str_eq(cfg.job, "ring");
    char *edge_argv[] = {"mtgan-edge", "--job", "digits", NULL};
    mtg_cfg_defaults(&cfg);
    cr_assert_neq(mtg_cfg_resolve(&cfg, MTG_CFG_BIN_EDGE, 3, edge_argv, empty_env, NULL, &err),
                  MTG_OK, "--job is a server flag");
}

/* ---- status ---- */

static const struct mtg_k8s_task_status two_tasks[2] = {
    {.id = "digit-3", .steps = 800, .round = 42, .evaluated = 1, .fidelity = 0.93, .fd = 1.1,
     .recall = 0.7, .reached = 1},
    {.id = "digit-8", .steps = 750, .round = 42, .evaluated = 0},
};

Test(k8s_status, patch_body_field_by_field)
{
    struct env e;
    env_up(&e, NULL);
    struct mtg_k8s_track track;
    mtg_k8s_track_init(&track);
    struct mtg_k8s_job_status st = {.phase = MTG_K8S_PHASE_RUNNING, .round = 42, .edges_alive = 4,
                                    .n_tasks = 2, .tasks = two_tasks, .observed_generation = 3};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_patch_status(e.kc, "digits-mtgan", &st, &track, &err), MTG_OK, "%s",
                 err.msg);
    struct fake_apiserver_req r;
    cJSON *b = request_body(e.fa, 0, &r);
    cr_assert_str_eq(r.method, "PATCH");
    cr_assert_str_eq(r.path, JOB_PATH "/status");
    cr_assert_str_eq(r.content_type, "application/merge-patch+json");
    cr_assert_str_eq(r.auth, "Bearer " TOKEN);
    cr_assert(r.valid, "%s", r.why);
    cr_assert_eq(r.http_status, 200);

    cr_assert_eq(cJSON_GetArraySize(b), 1, "only status is patched");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Running");
    cr_assert_eq(num(s, "round"), 42);
    cr_assert_eq(num(s, "observedGeneration"), 3);
    int64_t start;
    cr_assert_eq(mtg_k8s_time_parse(str(s, "startTime"), &start), 0);
    cr_assert(llabs((long long)(start - time(NULL))) < 60);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(s, "completionTime"));

    const cJSON *run = cond(s, "Running");
    cr_assert(run);
    cr_assert_str_eq(str(run, "status"), "True");
    cr_assert_str_eq(str(run, "reason"), "RoundsProgressing");
    cr_assert_str_eq(str(run, "message"), "round 42, 4 edges alive");
    cr_assert_str_eq(str(run, "lastTransitionTime"), str(run, "lastHeartbeatTime"));
    const cJSON *q = cond(s, "QualityReached");
    cr_assert(q);
    cr_assert_str_eq(str(q, "status"), "False");
    cr_assert_str_eq(str(q, "reason"), "BelowTarget");
    cr_assert_str_eq(str(q, "message"), "1 of 2 tasks meet spec.qualityTarget");
    cr_assert_null(cond(s, "Completed"), "conditions never True are left out");
    /* The standard trio is always there, each with the generation it describes. */
    cr_assert_str_eq(str(cond(s, "Ready"), "status"), "True");
    cr_assert_str_eq(str(cond(s, "Succeeded"), "status"), "False");
    cr_assert_str_eq(str(cond(s, "Failed"), "status"), "False");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "conditions")), 5);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "conditions"))
    cr_assert_eq(num(c, "observedGeneration"), 3, "%s has no observedGeneration", str(c, "type"));

    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(s, "tasks");
    cr_assert_eq(cJSON_GetArraySize(tasks), 2);
    const cJSON *t0 = cJSON_GetArrayItem(tasks, 0), *t1 = cJSON_GetArrayItem(tasks, 1);
    cr_assert_str_eq(str(t0, "id"), "digit-3");
    cr_assert_float_eq(num(t0, "fidelity"), 0.93, 1e-12);
    cr_assert_float_eq(num(t0, "fd"), 1.1, 1e-12);
    cr_assert_float_eq(num(t0, "recall"), 0.7, 1e-12);
    cr_assert_eq(num(t0, "steps"), 800);
    cr_assert_eq(num(t0, "round"), 42);
    cr_assert_str_eq(str(t1, "id"), "digit-8");
    cr_assert_eq(num(t1, "steps"), 750);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(t1, "fidelity"), "not evaluated yet");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);

    /* The fake merged it: the stored object now has the status. */
    char *obj = fake_apiserver_job_json(e.fa, "mtgan", "digits-mtgan");
    cr_assert(strstr(obj, "\"phase\":\"Running\""), "%s", obj);
    free(obj);
    env_down(&e);
}

static cJSON *body_at(const struct mtg_k8s_job_status *st, struct mtg_k8s_track *tr, int64_t now)
{
    char *txt;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_status_body(st, tr, now, &txt, &err), MTG_OK, "%s", err.msg);
    cJSON *b = cJSON_Parse(txt);
    free(txt);
    cr_assert(b);
    return b;
}

static int64_t cond_time(const cJSON *b, const char *type, const char *field)
{
    const cJSON *c = cond(cJSON_GetObjectItemCaseSensitive(b, "status"), type);
    cr_assert(c, "no condition %s", type);
    int64_t t;
    cr_assert_eq(mtg_k8s_time_parse(str(c, field), &t), 0);
    return t;
}

Test(k8s_status, transition_time_holds_until_the_status_changes)
{
    const int64_t t0 = 1767261600; /* 2026-01-01T10:00:00Z */
    struct mtg_k8s_track tr;
    mtg_k8s_track_init(&tr);
    struct mtg_k8s_job_status st = {.phase = MTG_K8S_PHASE_RUNNING, .round = 1, .edges_alive = 2,
                                    .n_tasks = 2, .tasks = two_tasks};
    cJSON *b = body_at(&st, &tr, t0);
    cr_assert_eq(cond_time(b, "Running", "lastTransitionTime"), t0);
    cJSON_Delete(b);

    st.round = 2;
    b = body_at(&st, &tr, t0 + 5);
    cr_assert_eq(cond_time(b, "Running", "lastTransitionTime"), t0, "still Running: stable");
    cr_assert_eq(cond_time(b, "Running", "lastHeartbeatTime"), t0 + 5);
    cr_assert_eq(cond_time(b, "QualityReached", "lastTransitionTime"), t0);
    char start[32];
    mtg_k8s_time_str(t0, start, sizeof start);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(b, "status"), "startTime"), start);
    cJSON_Delete(b);

    struct mtg_k8s_task_status done[2] = {two_tasks[0], two_tasks[1]};
    done[1].reached = 1;
    st.tasks = done;
    st.phase = MTG_K8S_PHASE_COMPLETED;
    b = body_at(&st, &tr, t0 + 10);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Completed");
    cr_assert_str_eq(str(cond(s, "Running"), "status"), "False");
    cr_assert_eq(cond_time(b, "Running", "lastTransitionTime"), t0 + 10);
    cr_assert_str_eq(str(cond(s, "Completed"), "status"), "True");
    cr_assert_str_eq(str(cond(s, "Completed"), "message"),
                     "round 2: 2 of 2 tasks reached the quality target");
    cr_assert_str_eq(str(cond(s, "QualityReached"), "status"), "True");
    cr_assert_str_eq(str(cond(s, "QualityReached"), "reason"), "TargetMet");
    cr_assert_eq(cond_time(b, "QualityReached", "lastTransitionTime"), t0 + 10);
    int64_t ct;
    cr_assert_eq(mtg_k8s_time_parse(str(s, "completionTime"), &ct), 0);
    cr_assert_eq(ct, t0 + 10);
    cJSON_Delete(b);

    /* A restarted pod that runs again clears completionTime (merge-patch null). */
    st.phase = MTG_K8S_PHASE_RUNNING;
    b = body_at(&st, &tr, t0 + 20);
    s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "completionTime")));
    cr_assert_str_eq(str(cond(s, "Completed"), "status"), "False");
    cJSON_Delete(b);

    st.phase = MTG_K8S_PHASE_FAILED;
    st.reason = "ServerError";
    st.message = "out of memory";
    b = body_at(&st, &tr, t0 + 30);
    s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(cond(s, "Failed"), "reason"), "ServerError");
    cr_assert_str_eq(str(cond(s, "Failed"), "message"), "out of memory");
    cJSON_Delete(b);
}

Test(k8s_status, restart_keeps_transition_times_from_the_cr)
{
    struct env e;
    env_up(&e, NULL);
    struct mtg_k8s_track tr;
    mtg_k8s_track_init(&tr);
    struct mtg_k8s_job_status st = {.phase = MTG_K8S_PHASE_RUNNING, .round = 5, .edges_alive = 1};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_k8s_patch_status(e.kc, "digits-mtgan", &st, &tr, &err), MTG_OK, "%s", err.msg);
    int64_t since = tr.cond[MTG_K8S_COND_RUNNING].since, start = tr.start_time;

    /* A new server process: seeds its track from the stored object. */
    char *obj = fake_apiserver_job_json(e.fa, "mtgan", "digits-mtgan");
    struct mtg_k8s_track tr2;
    cr_assert_eq(mtg_k8s_track_load(&tr2, obj, &err), MTG_OK);
    free(obj);
    cr_assert_eq(tr2.cond[MTG_K8S_COND_RUNNING].since, since);
    cr_assert_eq(tr2.start_time, start);
    sleep(1);
    cr_assert_eq(mtg_k8s_patch_status(e.kc, "digits-mtgan", &st, &tr2, &err), MTG_OK);
    cr_assert_eq(tr2.cond[MTG_K8S_COND_RUNNING].since, since);
    env_down(&e);
}

Test(k8s_status, rejects_bad_input)
{
    struct mtg_k8s_track tr;
    mtg_k8s_track_init(&tr);
    char *txt;
    struct mtg_err err = {0};
    struct mtg_k8s_job_status st = {.phase = (enum mtg_k8s_phase)7};
    cr_assert_eq(mtg_k8s_status_body(&st, &tr, 1, &txt, &err), MTG_EINVAL);
    st.phase = MTG_K8S_PHASE_RUNNING;
    st.n_tasks = 3;
    cr_assert_eq(mtg_k8s_status_body(&st, &tr, 1, &txt, &err), MTG_EINVAL);
    struct mtg_k8s_task_status nan_task = {.id = "t", .evaluated = 1, .fidelity = NAN, .fd = 2};
    st.n_tasks = 1;
    st.tasks = &nan_task;
    cr_assert_eq(mtg_k8s_status_body(&st, &tr, 1, &txt, &err), MTG_OK);
    cr_assert_null(strstr(txt, "fidelity"), "non-finite values are left out: %s", txt);
    cr_assert(strstr(txt, "\"fd\":2"), "%s", txt);
    free(txt);
}

Test(k8s_status, time_round_trip)
{
    int64_t t;
    char buf[32];
    cr_assert_eq(mtg_k8s_time_parse("2026-01-01T10:00:03Z", &t), 0);
    mtg_k8s_time_str(t, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-01-01T10:00:03Z");
    int64_t t2;
    cr_assert_eq(mtg_k8s_time_parse("2026-01-01T11:00:03.25+01:00", &t2), 0);
    cr_assert_eq(t2, t);
    cr_assert_neq(mtg_k8s_time_parse("2026-01-01 10:00", &t), 0);
    cr_assert_neq(mtg_k8s_time_parse("2026-13-01T10:00:03Z", &t), 0);
}

/* ---- reporter ---- */

struct fake_progress {
    atomic_int round;
    atomic_int done;
    atomic_int polls;
};

static int fake_poll(void *user, struct mtg_k8s_job_status *st, struct mtg_k8s_task_status *tasks,
                     int max)
{
    struct fake_progress *p = user;
    atomic_fetch_add(&p->polls, 1);
    st->round = atomic_load(&p->round);
    st->edges_alive = st->round > 0 ? 3 : 0;
    st->n_tasks = max >= 2 ? 2 : max;
    memcpy(tasks, two_tasks, sizeof two_tasks);
    return atomic_load(&p->done);
}

static struct mtg_k8s_job digits_job(void)
{
    struct mtg_k8s_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.namespace, sizeof job.namespace, "mtgan");
    snprintf(job.name, sizeof job.name, "digits-mtgan");
    job.generation = 3;
    return job;
}

static void wait_patches(struct fake_apiserver *fa, size_t n)
{
    for (int i = 0; i < 400 && fake_apiserver_requests(fa) < n; i++)
        usleep(10000);
    cr_assert_geq(fake_apiserver_requests(fa), n);
}

static cJSON *last_status(struct fake_apiserver *fa, struct fake_apiserver_req *r)
{
    size_t n = fake_apiserver_requests(fa);
    cJSON *b = request_body(fa, n - 1, r);
    cr_assert(r->valid, "%s", r->why);
    return b;
}

Test(k8s_reporter, waiting_running_then_completed)
{
    struct env e;
    env_up(&e, NULL);
    struct fake_progress p = {0};
    struct mtg_k8s_job job = digits_job();
    struct mtg_k8s_reporter *rep;
    struct mtg_err err = {0};
    struct mtg_k8s_reporter_opts o = {.interval_ms = 20, .poll = fake_poll, .user = &p};
    cr_assert_eq(mtg_k8s_reporter_start(e.kc, &job, &o, &rep, &err), MTG_OK, "%s", err.msg);
    wait_patches(e.fa, 1);
    struct fake_apiserver_req r;
    cJSON *b = request_body(e.fa, 0, &r);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(b, "status"), "phase"), "Waiting");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);

    atomic_store(&p.round, 7);
    size_t n = fake_apiserver_requests(e.fa);
    wait_patches(e.fa, n + 2);
    b = last_status(e.fa, &r);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Running");
    cr_assert_eq(num(s, "round"), 7);
    cr_assert_eq(num(s, "observedGeneration"), 3);
    cr_assert_str_eq(str(cond(s, "Waiting"), "status"), "False");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);

    atomic_store(&p.done, 1);
    cr_assert_eq(mtg_k8s_reporter_finish(rep, NULL, &err), MTG_OK, "%s", err.msg);
    b = last_status(e.fa, &r);
    s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Completed");
    cr_assert_str_eq(str(cond(s, "Completed"), "reason"), "TrainingCompleted");
    cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "completionTime")));
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);
    cr_assert_eq(fake_apiserver_invalid(e.fa), 0);
    env_down(&e);
}

Test(k8s_reporter, max_rounds_raises_stop_and_completes)
{
    struct env e;
    env_up(&e, NULL);
    struct fake_progress p = {0};
    atomic_store(&p.round, 10);
    atomic_int stop = 0;
    struct mtg_k8s_job job = digits_job();
    job.max_rounds = 10;
    struct mtg_k8s_reporter *rep;
    struct mtg_err err = {0};
    struct mtg_k8s_reporter_opts o = {.interval_ms = 20, .poll = fake_poll, .user = &p,
                                      .stop = &stop};
    cr_assert_eq(mtg_k8s_reporter_start(e.kc, &job, &o, &rep, &err), MTG_OK);
    for (int i = 0; i < 400 && !atomic_load(&stop); i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&stop), 1);
    cr_assert_eq(mtg_k8s_reporter_finish(rep, NULL, &err), MTG_OK, "%s", err.msg);
    struct fake_apiserver_req r;
    cJSON *b = last_status(e.fa, &r);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Completed");
    cr_assert_str_eq(str(cond(s, "Completed"), "reason"), "MaxRoundsReached");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);
    env_down(&e);
}

Test(k8s_reporter, failure_and_early_stop)
{
    struct env e;
    env_up(&e, NULL);
    struct fake_progress p = {0};
    atomic_store(&p.round, 3);
    struct mtg_k8s_job job = digits_job();
    struct mtg_k8s_reporter *rep;
    struct mtg_err err = {0};
    struct mtg_k8s_reporter_opts o = {.interval_ms = 1000, .poll = fake_poll, .user = &p};
    cr_assert_eq(mtg_k8s_reporter_start(e.kc, &job, &o, &rep, &err), MTG_OK);
    cr_assert_eq(mtg_k8s_reporter_finish(rep, "checkpoint: disk full", &err), MTG_OK, "%s", err.msg);
    struct fake_apiserver_req r;
    cJSON *b = last_status(e.fa, &r);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Failed");
    cr_assert_str_eq(str(cond(s, "Failed"), "message"), "checkpoint: disk full");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);

    /* SIGTERM before the end: not a failure, the next pod resumes. */
    cr_assert_eq(mtg_k8s_reporter_start(e.kc, &job, &o, &rep, &err), MTG_OK);
    cr_assert_eq(mtg_k8s_reporter_finish(rep, NULL, &err), MTG_OK, "%s", err.msg);
    b = last_status(e.fa, &r);
    s = cJSON_GetObjectItemCaseSensitive(b, "status");
    cr_assert_str_eq(str(s, "phase"), "Waiting");
    cr_assert_str_eq(str(cond(s, "Waiting"), "reason"), "ServerStopped");
    cJSON_Delete(b);
    fake_apiserver_req_free(&r);
    env_down(&e);
}

Test(k8s_reporter, survives_an_unreachable_api_server)
{
    struct env e;
    env_up(&e, NULL);
    mtg_log_set_level(MTG_LOG_OFF);
    fake_apiserver_fail_next(e.fa, 1000, 503);
    struct fake_progress p = {0};
    struct mtg_k8s_job job = digits_job();
    struct mtg_k8s_reporter *rep;
    struct mtg_err err = {0};
    struct mtg_k8s_reporter_opts o = {.interval_ms = 10, .poll = fake_poll, .user = &p};
    cr_assert_eq(mtg_k8s_reporter_start(e.kc, &job, &o, &rep, &err), MTG_OK);
    wait_patches(e.fa, 5);
    fake_apiserver_fail_next(e.fa, 0, 200);
    atomic_store(&p.done, 1);
    cr_assert_eq(mtg_k8s_reporter_finish(rep, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_geq(atomic_load(&p.polls), 2);
    env_down(&e);
}
