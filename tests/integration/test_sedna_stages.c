/*
 * test_sedna_stages.c - the three LifelongLearningJob workers as real
 * processes, configured only by Sedna-style env, against the fake LC
 * (tests/support/fake_lc.h): train (mtgan-server --sedna with its two in-pod edges)
 * writes OUTPUT_URL/index.json + blobs and reports "train completed"; eval
 * (mtgan eval --sedna) scores the train output on a csv test index and
 * reports metrics; deploy (mtgan-server --sedna with MODEL_URLS = the eval
 * bundle) serves PNG samples; a missing TRAIN_DATASET_URL fails with a
 * message naming it and a "failed" report.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zlib.h>

#include "fake_lc.h"
#include "proc.h"

static struct fake_lc *lc;
static unsigned short lc_port;
static char dir[256];

static void start(void)
{
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    lc = fake_lc_start(&lc_port);
    cr_assert_not_null(lc, "fake LC did not start");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lc_port);
    /* Criterion runs each test in its own process: this env is the test's. */
    setenv("LC_SERVER", url, 1);
    setenv("NAMESPACE", "default", 1);
    setenv("JOB_NAME", "mtgan-ll", 1);
    setenv("KB_SERVER", "http://127.0.0.1:9020", 1);
    setenv("DATA_PATH_PREFIX", "/home/data", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
}

static void stop(void)
{
    fake_lc_stop(lc);
    tp_cleanup();
}

TestSuite(sedna, .init = start, .fini = stop, .timeout = 240);

static const char *data_dir(void)
{
    const char *d = getenv("MTGAN_DATA_DIR");
    return d && *d ? d : "data";
}

/* The last report the fake LC received, parsed; asserts it was valid and from worker. */
static cJSON *last_report(const char *worker)
{
    size_t n = fake_lc_reports(lc);
    cr_assert_gt(n, 0, "no report reached the fake LC");
    struct fake_lc_report r;
    cr_assert_eq(fake_lc_get(lc, n - 1, &r), 0);
    cr_expect(r.valid, "report has the wrong shape: %s\n%s", r.why, r.body);
    cr_expect_str_eq(r.worker, worker);
    cJSON *o = cJSON_Parse(r.body);
    fake_lc_report_free(&r);
    cr_assert_not_null(o);
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* A Sedna csv index: a header line, then the digits rows of classes 3 and 8. */
static void write_test_csv(const char *path)
{
    char src[512];
    snprintf(src, sizeof src, "%s/digits.csv.gz", data_dir());
    gzFile in = gzopen(src, "rb");
    cr_assert_not_null(in, "cannot open %s", src);
    FILE *out = fopen(path, "w");
    cr_assert_not_null(out);
    fprintf(out, "# mtgan test index\n");
    for (int i = 0; i < 64; i++)
        fprintf(out, "p%d,", i);
    fprintf(out, "label\n");
    char line[1024];
    int rows = 0;
    while (gzgets(in, line, sizeof line)) {
        char *comma = strrchr(line, ',');
        if (!comma)
            continue;
        int label = atoi(comma + 1);
        if (label == 3 || label == 8) {
            fputs(line, out);
            rows++;
        }
    }
    gzclose(in);
    fclose(out);
    cr_assert_gt(rows, 100);
}

static void write_cfg(const char *path)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"log_level\": \"info\", \"checkpoint_every\": 0,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [3, 8]},\n"
             " \"scheduler\": {\"server\": {\"local_steps\": 20, \"round_deadline_ms\": 20000}},\n"
             " \"train\": {\"max_steps\": 40, \"eval_every\": 20}}\n");
    cr_assert_eq(tp_write_file(path, text), 0);
}

/* Runs the train stage with two edges; returns OUTPUT_URL in out. */
static void run_train(char *out, size_t n)
{
    char cfg[320], idx[320], state[320], log[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(idx, sizeof idx, "%s/train-data.txt", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(out, n, "%s/output/train/1", dir);
    write_cfg(cfg);
    char text[600];
    /* A Sedna txt index: one sample path per line; our samples are digits files. */
    snprintf(text, sizeof text, "# round 1\n%s/digits.csv.gz\n", data_dir());
    cr_assert_eq(tp_write_file(idx, text), 0);
    setenv("WORKER_NAME", "train-worker-ab12c", 1);
    setenv("OUTPUT_URL", out, 1);
    setenv("TRAIN_DATASET_URL", idx, 1);
    setenv("HAS_COMPLETED_INITIAL_TRAINING", "false", 1);

    /* The pod trains the split with its own two edges (sedna_edges, default 2). */
    struct tp_server srv;
    char *extra[] = {"--sedna", "--state-dir", state, NULL};
    cr_assert_eq(tp_server_start(&srv, cfg, dir, extra), 0, "train server did not start (%s)", srv.log);
    int st = tp_wait(srv.pid, 180000);
    snprintf(log, sizeof log, "%s", srv.log);
    cr_assert_neq(st, -1, "train server did not finish (see %s)", log);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "train server exit status %#x (see %s)", st, log);
    unsetenv("TRAIN_DATASET_URL");
    unsetenv("HAS_COMPLETED_INITIAL_TRAINING");
}

Test(sedna, train_eval_deploy)
{
    char out[320], path[512];
    run_train(out, sizeof out);

    /* Files: index.json first of all, and both tasks' blobs. */
    snprintf(path, sizeof path, "%s/index.json", out);
    char *text = tp_read_file(path, NULL);
    cr_assert_not_null(text, "no %s", path);
    cJSON *idx = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(idx);
    cr_expect_str_eq(jstr(idx, "format"), "mtgan-kb-index");
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(idx, "tasks");
    cr_assert_eq(cJSON_GetArraySize(tasks), 2);
    const cJSON *t;
    cJSON_ArrayForEach(t, tasks)
    {
        cr_expect(tp_file_exists(jstr(t, "generator")), "missing %s", jstr(t, "generator"));
        cr_expect(tp_file_exists(jstr(t, "discriminator")), "missing %s", jstr(t, "discriminator"));
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(t, "steps");
        cr_expect(cJSON_IsNumber(steps) && steps->valuedouble >= 40, "task %s steps", jstr(t, "id"));
    }
    cJSON_Delete(idx);
    snprintf(path, sizeof path, "%s/digit-3.generator.blob", out);
    cr_expect(tp_file_exists(path));

    /* The train report: completed, results[0] = the index. */
    cJSON *rep = last_report("train-worker-ab12c");
    cr_expect_str_eq(jstr(rep, "kind"), "train");
    cr_expect_str_eq(jstr(rep, "status"), "completed");
    cr_expect_str_eq(jstr(rep, "ownerKind"), "lifelonglearningjob");
    const cJSON *res0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "results"), 0);
    snprintf(path, sizeof path, "%s/index.json", out);
    cr_expect_str_eq(jstr(res0, "url"), path);
    cr_expect_str_eq(jstr(res0, "format"), "index");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(res0, "metrics");
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "tasks")));
    cJSON_Delete(rep);

    /* Eval: MODEL_URLS = what train reported, TEST_DATASET_URL = a csv index with inline rows. */
    char test_csv[320], eval_out[320], state[320];
    snprintf(test_csv, sizeof test_csv, "%s/test-data.csv", dir);
    snprintf(eval_out, sizeof eval_out, "%s/output/eval/1", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    write_test_csv(test_csv);
    snprintf(path, sizeof path, "%s/index.json", out);
    setenv("WORKER_NAME", "eval-worker-cd34e", 1);
    setenv("MODEL_URLS", path, 1);
    setenv("TEST_DATASET_URL", test_csv, 1);
    setenv("OUTPUT_URL", eval_out, 1);
    char log[400];
    snprintf(log, sizeof log, "%s/eval.log", dir);
    char *eargv[] = {"mtgan", "eval", "--sedna", "--state-dir", state, NULL};
    pid_t ep = tp_spawn("mtgan", eargv, NULL, log, NULL);
    cr_assert_gt(ep, 0);
    int st = tp_wait(ep, 120000);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "eval exit status %#x (see %s)", st, log);
    snprintf(path, sizeof path, "%s/eval.json", eval_out);
    cr_expect(tp_file_exists(path), "no %s", path);
    char eval_idx[400];
    snprintf(eval_idx, sizeof eval_idx, "%s/index.json", eval_out);
    cr_expect(tp_file_exists(eval_idx), "no %s", eval_idx);
    rep = last_report("eval-worker-cd34e");
    cr_expect_str_eq(jstr(rep, "kind"), "eval");
    cr_expect_str_eq(jstr(rep, "status"), "completed");
    char eval_bundle[400];
    snprintf(eval_bundle, sizeof eval_bundle, "%s/kb.blob", eval_out);
    res0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "results"), 0);
    cr_expect_str_eq(jstr(res0, "url"), eval_bundle,
                     "results[0] must be the bundle (the LC deploys it, alone in deploy/)");
    m = cJSON_GetObjectItemCaseSensitive(res0, "metrics");
    const cJSON *fid = cJSON_GetObjectItemCaseSensitive(m, "fidelity");
    /* The LL LC decodes eval metrics as map[string][]float64. */
    cr_expect(cJSON_IsArray(fid) && cJSON_IsNumber(cJSON_GetArrayItem(fid, 0)), "fidelity metric");
    cr_expect(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "fd")), "fd metric");
    cJSON_Delete(rep);

    /* Deploy: MODEL_URLS = the LC's copy of eval's results[0] (deploy/index.pkl). */
    char deploy_idx[600];
    snprintf(path, sizeof path, "%s/output/deploy", dir);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s %s/index.pkl", path, eval_bundle, path);
    cr_assert_eq(system(cmd), 0);
    snprintf(deploy_idx, sizeof deploy_idx, "%s/index.pkl", path);
    unsetenv("OUTPUT_URL");
    unsetenv("TEST_DATASET_URL");
    unsetenv("KB_SERVER");
    setenv("WORKER_NAME", "inferworker-ef56g", 1);
    setenv("MODEL_URLS", deploy_idx, 1);
    size_t before = fake_lc_reports(lc);
    char cfg[320];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    struct tp_server srv;
    char deploy_state[400];
    snprintf(deploy_state, sizeof deploy_state, "%s/deploy-state", dir);
    char *extra[] = {"--sedna", "--state-dir", deploy_state, NULL};
    cr_assert_eq(tp_server_start(&srv, cfg, dir, extra), 0, "deploy server did not start (%s)", srv.log);
    struct tp_resp r;
    cr_assert_eq(tp_get(srv.port, "/v1/tasks/digit-8/samples?format=png&n=16", &r), 0);
    cr_expect_eq(r.status, 200, "samples: HTTP %d %s", r.status, r.body);
    cr_expect(r.len > 8 && memcmp(r.body, "\x89PNG", 4) == 0, "not a PNG");
    tp_resp_free(&r);
    cr_assert_eq(tp_get(srv.port, "/v1/tasks/digit-0/samples?format=png", &r), 0);
    cr_expect_eq(r.status, 404, "a task outside the index must not be served");
    tp_resp_free(&r);
    st = tp_stop(srv.pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "deploy exit status %#x", st);
    cr_expect_eq(fake_lc_reports(lc), before, "a serving deploy worker does not report");

    /* mtgan sample reads the exported blob on its own. */
    char png[400];
    snprintf(png, sizeof png, "%s/grid.png", dir);
    snprintf(path, sizeof path, "%s/digit-3.generator.blob", out);
    char *sargv[] = {"mtgan", "sample", "--model", path, "--n", "16", "--out", png, NULL};
    pid_t sp = tp_spawn("mtgan", sargv, NULL, log, NULL);
    st = tp_wait(sp, 30000);
    cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "sample exit status %#x", st);
    size_t len = 0;
    char *img = tp_read_file(png, &len);
    cr_expect(img && len > 8 && memcmp(img, "\x89PNG", 4) == 0, "sample did not write a PNG");
    free(img);
}

Test(sedna, missing_env_fails_and_reports)
{
    char cfg[320], out[320], log[320];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(out, sizeof out, "%s/output/train/1", dir);
    write_cfg(cfg);
    setenv("WORKER_NAME", "train-worker-zz99z", 1);
    setenv("OUTPUT_URL", out, 1);
    unsetenv("TRAIN_DATASET_URL");
    unsetenv("MODEL_URLS");
    snprintf(log, sizeof log, "%s/missing.log", dir);
    char *argv[] = {"mtgan-server", "--sedna", "--config", cfg, "--port", "0", NULL};
    pid_t p = tp_spawn("mtgan-server", argv, NULL, log, NULL);
    int st = tp_wait(p, 60000);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "exit status %#x", st);
    char *text = tp_read_file(log, NULL);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "TRAIN_DATASET_URL") != NULL, "message does not name the variable:\n%s", text);
    free(text);
    cJSON *rep = last_report("train-worker-zz99z");
    cr_expect_str_eq(jstr(rep, "kind"), "train");
    cr_expect_str_eq(jstr(rep, "status"), "failed");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(rep, "ownerInfo");
    cr_expect(strstr(jstr(info, "reason"), "TRAIN_DATASET_URL") != NULL, "reason: %s", jstr(info, "reason"));
    cJSON_Delete(rep);

    /* A malformed value is named too: HAS_COMPLETED_INITIAL_TRAINING must be true/false. */
    setenv("TRAIN_DATASET_URL", cfg, 1);
    setenv("HAS_COMPLETED_INITIAL_TRAINING", "yes", 1);
    p = tp_spawn("mtgan-server", argv, NULL, log, NULL);
    st = tp_wait(p, 60000);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "exit status %#x", st);
    rep = last_report("train-worker-zz99z");
    cr_expect_str_eq(jstr(rep, "status"), "failed");
    info = cJSON_GetObjectItemCaseSensitive(rep, "ownerInfo");
    cr_expect(strstr(jstr(info, "reason"), "HAS_COMPLETED_INITIAL_TRAINING") != NULL, "reason: %s",
              jstr(info, "reason"));
    cJSON_Delete(rep);

    /* Eval without TEST_DATASET_URL. */
    setenv("WORKER_NAME", "eval-worker-zz99z", 1);
    setenv("MODEL_URLS", cfg, 1);
    char *eargv[] = {"mtgan", "eval", "--sedna", NULL};
    p = tp_spawn("mtgan", eargv, NULL, log, NULL);
    st = tp_wait(p, 60000);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "eval exit status %#x", st);
    rep = last_report("eval-worker-zz99z");
    cr_expect_str_eq(jstr(rep, "kind"), "eval");
    cr_expect_str_eq(jstr(rep, "status"), "failed");
    info = cJSON_GetObjectItemCaseSensitive(rep, "ownerInfo");
    cr_expect(strstr(jstr(info, "reason"), "TEST_DATASET_URL") != NULL, "reason: %s", jstr(info, "reason"));
    cJSON_Delete(rep);
}
