/*
 * test_sedna.c - the Sedna worker contract: env per stage, dataset index
 * files, the LC report against a fake LocalController, the kb index.
 */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_lc.h"
#include "data/dataset.h"
#include "sedna/sedna.h"
#include "wire/blob.h"

/* ---- an injectable environment ---- */

struct kv {
    const char *k, *v;
};

static const char *kv_getenv(void *ctx, const char *name)
{
    for (const struct kv *p = ctx; p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

#define BASE_VARS {"NAMESPACE", "default"}, {"JOB_NAME", "mtgan-ll"}, \
                  {"WORKER_NAME", "train-worker-ab12c"}

Test(sedna_env, train_reads_every_variable)
{
    struct kv e[] = {BASE_VARS,
                     {"LC_SERVER", "http://10.0.0.5:9100/"},
                     {"KB_SERVER", "http://10.0.0.6:9020"},
                     {"OUTPUT_URL", "/home/data/out/train/3"},
                     {"TRAIN_DATASET_URL", "/home/data/out/data/train/3/data.txt"},
                     {"ORIGINAL_DATASET_URL", "/home/data/digits/index.txt"},
                     {"HAS_COMPLETED_INITIAL_TRAINING", "True"},
                     {"CLOUD_KB_INDEX", "s3://kb/train/2/index.json"},
                     {"DATA_PATH_PREFIX", "/mnt/host"},
                     {NULL, NULL}};
    struct mtg_sedna_env env;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&env, MTG_SEDNA_TRAIN, kv_getenv, e, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_eq(env.stage, MTG_SEDNA_TRAIN);
    cr_assert_str_eq(env.namespace, "default");
    cr_assert_str_eq(env.job_name, "mtgan-ll");
    cr_assert_str_eq(env.worker_name, "train-worker-ab12c");
    cr_assert_str_eq(env.lc_server, "http://10.0.0.5:9100"); /* trailing '/' dropped */
    cr_assert_str_eq(env.kb_server, "http://10.0.0.6:9020");
    cr_assert_str_eq(env.output_url, "/home/data/out/train/3");
    cr_assert_str_eq(env.train_dataset_url, "/home/data/out/data/train/3/data.txt");
    cr_assert_str_eq(env.original_dataset_url, "/home/data/digits/index.txt");
    cr_assert_str_eq(env.cloud_kb_index, "s3://kb/train/2/index.json");
    cr_assert_str_eq(env.data_path_prefix, "/mnt/host");
    cr_assert_eq(env.has_completed_initial_training, 1);
    cr_assert_null(env.test_dataset_url);
    cr_assert_eq(env.model_urls.n, 0);
    mtg_sedna_env_deinit(&env);
    cr_assert_null(env.namespace);
}

Test(sedna_env, defaults)
{
    struct kv e[] = {BASE_VARS,
                     {"OUTPUT_URL", "/home/data/out"},
                     {"TRAIN_DATASET_URL", "/home/data/d.txt"},
                     {"LC_SERVER", ""}, /* empty counts as unset */
                     {NULL, NULL}};
    struct mtg_sedna_env env;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&env, MTG_SEDNA_TRAIN, kv_getenv, e, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_str_eq(env.lc_server, "http://localhost:9100");
    cr_assert_str_eq(env.kb_server, "http://localhost:9020");
    cr_assert_str_eq(env.data_path_prefix, "/home/data");
    cr_assert_eq(env.has_completed_initial_training, 0);
    cr_assert_null(env.cloud_kb_index);
    mtg_sedna_env_deinit(&env);
}

Test(sedna_env, eval_splits_model_urls)
{
    struct kv e[] = {BASE_VARS,
                     {"OUTPUT_URL", "/home/data/out/eval/1"},
                     {"TEST_DATASET_URL", "/home/data/out/data/eval/1/data.txt"},
                     {"MODEL_URLS", "/home/data/out/train/1/index.json;s3://m/g.blob;/x/d.blob;"},
                     {NULL, NULL}};
    struct mtg_sedna_env env;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&env, MTG_SEDNA_EVAL, kv_getenv, e, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_eq(env.model_urls.n, 3);
    cr_assert_str_eq(env.model_urls.items[0], "/home/data/out/train/1/index.json");
    cr_assert_str_eq(env.model_urls.items[1], "s3://m/g.blob");
    cr_assert_str_eq(env.model_urls.items[2], "/x/d.blob");
    cr_assert_str_eq(env.test_dataset_url, "/home/data/out/data/eval/1/data.txt");
    mtg_sedna_env_deinit(&env);
}

Test(sedna_env, deploy_needs_only_model_urls)
{
    struct kv e[] = {BASE_VARS, {"MODEL_URLS", "/home/data/out/deploy/index.pkl"}, {NULL, NULL}};
    struct mtg_sedna_env env;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&env, MTG_SEDNA_DEPLOY, kv_getenv, e, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_eq(env.model_urls.n, 1);
    cr_assert_null(env.kb_server); /* the GM injects KB_SERVER for train/eval only */
    cr_assert_null(env.output_url);
    mtg_sedna_env_deinit(&env);
}

static void expect_env_error(enum mtg_sedna_stage stage, struct kv *e, const char *msg)
{
    struct mtg_sedna_env env;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&env, stage, kv_getenv, e, &err), MTG_EINVAL,
                 "expected an error containing \"%s\"", msg);
    cr_assert_eq(err.code, MTG_EINVAL);
    cr_assert(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
    cr_assert_null(env.namespace); /* zeroed on failure: nothing to free */
}

Test(sedna_env, missing_required_variables_are_named)
{
    struct kv train[] = {BASE_VARS, {"OUTPUT_URL", "/o"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_TRAIN, train,
                     "sedna: TRAIN_DATASET_URL is required for the train stage");
    struct kv eval[] = {BASE_VARS, {"OUTPUT_URL", "/o"}, {"TEST_DATASET_URL", "/t"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_EVAL, eval, "sedna: MODEL_URLS is required for the eval stage");
    struct kv eval2[] = {BASE_VARS, {"MODEL_URLS", "/m"}, {"TEST_DATASET_URL", "/t"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_EVAL, eval2, "sedna: OUTPUT_URL is required for the eval stage");
    struct kv noworker[] = {{"NAMESPACE", "n"}, {"JOB_NAME", "j"}, {"MODEL_URLS", "/m"},
                            {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, noworker,
                     "sedna: WORKER_NAME is required for the deploy stage");
}

Test(sedna_env, malformed_values_are_named)
{
    struct kv b[] = {BASE_VARS, {"OUTPUT_URL", "/o"}, {"TRAIN_DATASET_URL", "/t"},
                     {"HAS_COMPLETED_INITIAL_TRAINING", "yes"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_TRAIN, b,
                     "HAS_COMPLETED_INITIAL_TRAINING must be \"true\" or \"false\", got \"yes\"");
    struct kv lc[] = {BASE_VARS, {"MODEL_URLS", "/m"}, {"LC_SERVER", "localhost:9100"},
                      {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, lc, "LC_SERVER must be an http:// or https:// URL");
    struct kv lc2[] = {BASE_VARS, {"MODEL_URLS", "/m"}, {"LC_SERVER", "http://"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, lc2, "LC_SERVER");
    struct kv gap[] = {BASE_VARS, {"MODEL_URLS", "/a;;/b"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, gap, "MODEL_URLS item 2 is empty");
    struct kv blank[] = {BASE_VARS, {"OUTPUT_URL", "/o ut"}, {"TRAIN_DATASET_URL", "/t"},
                         {NULL, NULL}};
    expect_env_error(MTG_SEDNA_TRAIN, blank, "OUTPUT_URL contains a blank");
    struct kv scheme[] = {BASE_VARS, {"OUTPUT_URL", "/o"}, {"TRAIN_DATASET_URL", "3s://bucket"},
                          {NULL, NULL}};
    expect_env_error(MTG_SEDNA_TRAIN, scheme, "TRAIN_DATASET_URL is not a valid URL");
    struct kv nothing[] = {BASE_VARS, {"MODEL_URLS", "s3://"}, {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, nothing, "MODEL_URLS item 1 is not a valid URL");
    struct kv rel[] = {BASE_VARS, {"MODEL_URLS", "/m"}, {"DATA_PATH_PREFIX", "home/data"},
                       {NULL, NULL}};
    expect_env_error(MTG_SEDNA_DEPLOY, rel, "DATA_PATH_PREFIX must be an absolute path");
}

/* ---- dataset index files ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mtg-sedna-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

static void rm_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

Test(sedna_index, txt_resolves_paths_like_sedna)
{
    make_tmpdir();
    char path[128], want[192];
    snprintf(path, sizeof path, "%s/index.txt", tmpdir);
    write_file(path, "# the samples\n\n"
                     "img/a.png 3\n"
                     "/digits/b.png\n"
                     "/home/data/c.png 7 extra\n"
                     "s3://bucket/d.png 1\r\n"
                     "   e.png\t2   \n");
    struct mtg_sedna_index idx;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_AUTO, NULL, "/home/data", &idx, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(idx.format, MTG_SEDNA_INDEX_TXT);
    cr_assert_null(idx.header);
    cr_assert_eq(idx.n, 5);
    snprintf(want, sizeof want, "%s/img/a.png", tmpdir);
    cr_assert_str_eq(idx.entries[0].path, want);
    cr_assert_str_eq(idx.entries[0].label, "3");
    cr_assert_str_eq(idx.entries[0].line, "img/a.png 3");
    cr_assert_str_eq(idx.entries[1].path, "/home/data/digits/b.png"); /* host path, mounted */
    cr_assert_null(idx.entries[1].label);
    cr_assert_str_eq(idx.entries[2].path, "/home/data/c.png"); /* already under the prefix */
    cr_assert_str_eq(idx.entries[2].label, "7 extra");
    cr_assert_str_eq(idx.entries[3].path, "s3://bucket/d.png");
    cr_assert_str_eq(idx.entries[3].label, "1");
    snprintf(want, sizeof want, "%s/e.png", tmpdir);
    cr_assert_str_eq(idx.entries[4].path, want);
    cr_assert_str_eq(idx.entries[4].label, "2");
    mtg_sedna_index_deinit(&idx);

    /* base_dir = dirname(ORIGINAL_DATASET_URL), as Sedna's LL examples do */
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_TXT, "/home/data/digits/", NULL, &idx,
                                      &err), MTG_OK, "%s", err.msg);
    cr_assert_str_eq(idx.entries[0].path, "/home/data/digits/img/a.png");
    cr_assert_str_eq(idx.entries[1].path, "/digits/b.png"); /* no prefix given */
    mtg_sedna_index_deinit(&idx);
    rm_tree();
}

Test(sedna_index, csv_keeps_header_and_rows)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/data.CSV", tmpdir);
    write_file(path, "x0,x1,label\n0.1,0.2,3\n\n0.5,0.6,7\n");
    struct mtg_sedna_index idx;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_AUTO, NULL, NULL, &idx, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(idx.format, MTG_SEDNA_INDEX_CSV);
    cr_assert_str_eq(idx.header, "x0,x1,label");
    cr_assert_eq(idx.n, 2);
    cr_assert_str_eq(idx.entries[0].line, "0.1,0.2,3");
    cr_assert_str_eq(idx.entries[1].line, "0.5,0.6,7");
    cr_assert_null(idx.entries[0].path);
    mtg_sedna_index_deinit(&idx);

    write_file(path, "x0,x1,label\n");
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_AUTO, NULL, NULL, &idx, &err),
                 MTG_EFORMAT);
    cr_assert(strstr(err.msg, "no rows after the header"), "%s", err.msg);
    rm_tree();
}

Test(sedna_index, missing_and_empty_files)
{
    make_tmpdir();
    char path[128];
    struct mtg_sedna_index idx;
    struct mtg_err err = {0};
    snprintf(path, sizeof path, "%s/nope.txt", tmpdir);
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_AUTO, NULL, NULL, &idx, &err),
                 MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "does not exist"), "%s", err.msg);
    cr_assert_eq(idx.n, 0);

    snprintf(path, sizeof path, "%s/empty.txt", tmpdir);
    write_file(path, "# only a comment\n\n   \n");
    cr_assert_eq(mtg_sedna_index_read(path, MTG_SEDNA_INDEX_AUTO, NULL, NULL, &idx, &err),
                 MTG_EFORMAT);
    cr_assert(strstr(err.msg, "has no entries"), "%s", err.msg);

    cr_assert_eq(mtg_sedna_index_read(tmpdir, MTG_SEDNA_INDEX_AUTO, NULL, NULL, &idx, &err),
                 MTG_EIO);
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
    rm_tree();
}

/* ---- the LC report ---- */

struct lc_fixture {
    struct fake_lc *lc;
    char url[64];
    struct mtg_sedna_env env;
};

static void start_lc(struct lc_fixture *fx, enum mtg_sedna_stage stage)
{
    unsigned short port = 0;
    fx->lc = fake_lc_start(&port);
    cr_assert_not_null(fx->lc);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u/", (unsigned)port);
    struct kv e[] = {BASE_VARS,
                     {"LC_SERVER", fx->url},
                     {"OUTPUT_URL", "/home/data/out/train/1"},
                     {"TRAIN_DATASET_URL", "/home/data/d.txt"},
                     {"TEST_DATASET_URL", "/home/data/t.txt"},
                     {"MODEL_URLS", "/home/data/out/train/1/index.json"},
                     {NULL, NULL}};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_env_load(&fx->env, stage, kv_getenv, e, &err), MTG_OK, "%s", err.msg);
}

static void stop_lc(struct lc_fixture *fx)
{
    mtg_sedna_env_deinit(&fx->env);
    fake_lc_stop(fx->lc);
}

static const struct mtg_sedna_retry fast = {.max_attempts = 6, .initial_ms = 5,
                                            .max_backoff_ms = 20, .timeout_ms = 2000};

static void assert_json_eq(const char *got, const char *want)
{
    cJSON *g = cJSON_Parse(got), *w = cJSON_Parse(want);
    cr_assert_not_null(g, "unparsable: %s", got);
    cr_assert_not_null(w, "unparsable expectation: %s", want);
    cr_assert(cJSON_Compare(g, w, 1), "body\n  %s\nwanted\n  %s", got, want);
    cJSON_Delete(g);
    cJSON_Delete(w);
}

Test(sedna_report, body_has_the_exact_sedna_shape)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    struct mtg_sedna_metric m[] = {{"fidelity", 0.9375}, {"fd", 1.5}};
    struct mtg_sedna_result res[] = {
        {"json", "/home/data/out/train/1/index.json", m, 2},
        {"blob", "s3://models/g.blob", NULL, 0},
    };
    struct mtg_sedna_info info[] = {{"currentRound", NULL, 3}, {"protocol", "mtgan", 0}};
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_COMPLETED,
                                   .results = res, .n_results = 2,
                                   .owner_info = info, .n_owner_info = 2};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 1);
    struct fake_lc_report r;
    cr_assert_eq(fake_lc_get(fx.lc, 0, &r), 0);
    cr_assert(r.valid, "fake LC rejected the body: %s", r.why);
    cr_assert_eq(r.http_status, 200);
    cr_assert_str_eq(r.worker, "train-worker-ab12c");
    assert_json_eq(r.body,
                   "{\"name\":\"train-worker-ab12c\",\"namespace\":\"default\","
                   "\"ownerName\":\"mtgan-ll\",\"ownerKind\":\"lifelonglearningjob\","
                   "\"kind\":\"train\",\"status\":\"completed\","
                   "\"results\":[{\"format\":\"json\",\"url\":\"/out/train/1/index.json\","
                   "\"metrics\":{\"fidelity\":0.9375,\"fd\":1.5}},"
                   "{\"format\":\"blob\",\"url\":\"s3://models/g.blob\",\"metrics\":{}}],"
                   "\"ownerInfo\":{\"currentRound\":3,\"protocol\":\"mtgan\"}}");
    fake_lc_report_free(&r);
    stop_lc(&fx);
}

Test(sedna_report, federated_owner_kind_and_running)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    struct mtg_sedna_report rep = {.owner_kind = MTG_SEDNA_OWNER_FEDERATED,
                                   .kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_RUNNING};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_OK, "%s", err.msg);
    struct fake_lc_report r;
    cr_assert_eq(fake_lc_get(fx.lc, 0, &r), 0);
    cr_assert(r.valid, "%s", r.why);
    assert_json_eq(r.body,
                   "{\"name\":\"train-worker-ab12c\",\"namespace\":\"default\","
                   "\"ownerName\":\"mtgan-ll\",\"ownerKind\":\"federatedlearningjob\","
                   "\"kind\":\"train\",\"status\":\"running\",\"results\":[],\"ownerInfo\":{}}");
    fake_lc_report_free(&r);

    /* The LL controller has no "running" condition: refuse before sending. */
    rep.owner_kind = NULL;
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "running"), "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 1);
    stop_lc(&fx);
}

Test(sedna_report, retries_until_200)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_EVAL);
    fake_lc_fail_next(fx.lc, 3, 500);
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_EVAL, .status = MTG_SEDNA_COMPLETED};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 4);
    for (size_t i = 0; i < 4; i++) {
        struct fake_lc_report r;
        cr_assert_eq(fake_lc_get(fx.lc, i, &r), 0);
        cr_assert(r.valid, "%s", r.why);
        cr_assert_eq(r.http_status, i < 3 ? 500 : 200);
        fake_lc_report_free(&r);
    }
    stop_lc(&fx);
}

Test(sedna_report, gives_up_after_max_attempts)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    fake_lc_fail_next(fx.lc, 100, 503);
    struct mtg_sedna_retry r3 = fast;
    r3.max_attempts = 3;
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_COMPLETED};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &r3, NULL, &err), MTG_ENET);
    cr_assert(strstr(err.msg, "after 3 attempts") && strstr(err.msg, "HTTP 503"), "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 3);
    stop_lc(&fx);
}

Test(sedna_report, deadline_bounds_the_retries)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    fake_lc_fail_next(fx.lc, 1000, 500);
    struct mtg_sedna_retry d = {.max_attempts = 1000, .initial_ms = 10, .max_backoff_ms = 10,
                                .deadline_ms = 150, .timeout_ms = 1000};
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_COMPLETED};
    struct mtg_err err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &d, NULL, &err), MTG_ENET);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* Bounded by the deadline (plus one in-flight request), not by the
     * 1000 attempts; under valgrind one attempt may already use it all. */
    size_t n = fake_lc_reports(fx.lc);
    cr_assert(n >= 1 && n < 100, "attempts: %zu", n);
    cr_assert_lt(ms, 150.0 + 1000.0 + 500.0, "took %.0f ms", ms);
    cr_assert(strstr(err.msg, "giving up"), "%s", err.msg);
    stop_lc(&fx);
}

Test(sedna_report, failed_status_carries_the_reason)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_FAILED,
                                   .reason = "data: digits.csv.gz: no such file"};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_OK, "%s", err.msg);
    struct fake_lc_report r;
    cr_assert_eq(fake_lc_get(fx.lc, 0, &r), 0);
    cr_assert(r.valid, "%s", r.why);
    assert_json_eq(r.body,
                   "{\"name\":\"train-worker-ab12c\",\"namespace\":\"default\","
                   "\"ownerName\":\"mtgan-ll\",\"ownerKind\":\"lifelonglearningjob\","
                   "\"kind\":\"train\",\"status\":\"failed\",\"results\":[],"
                   "\"ownerInfo\":{\"reason\":\"data: digits.csv.gz: no such file\"}}");
    fake_lc_report_free(&r);
    stop_lc(&fx);
}

Test(sedna_report, rejected_body_is_not_retried)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    struct mtg_sedna_report rep = {.owner_kind = "bogusjob", .kind = MTG_SEDNA_TRAIN,
                                   .status = MTG_SEDNA_COMPLETED};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "HTTP 400") && strstr(err.msg, "bogusjob"), "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 1);
    cr_assert_eq(fake_lc_invalid(fx.lc), 1);

    rep.owner_kind = "LifelongLearningJob"; /* the LC's manager map is lower-case */
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, NULL, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "lower-case"), "%s", err.msg);
    cr_assert_eq(fake_lc_reports(fx.lc), 1);
    stop_lc(&fx);
}

Test(sedna_report, unreachable_lc_and_stop_flag)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_TRAIN);
    fake_lc_stop(fx.lc); /* nothing listens on the port any more */
    fx.lc = NULL;
    struct mtg_sedna_retry r2 = fast;
    r2.max_attempts = 2;
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN, .status = MTG_SEDNA_COMPLETED};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &r2, NULL, &err), MTG_ENET);
    cr_assert(strstr(err.msg, "after 2 attempts"), "%s", err.msg);

    /* A raised stop flag still allows the one attempt a dying worker owes
     * the LC, then stops retrying. */
    volatile int stop = 1;
    cr_assert_eq(mtg_sedna_report(&fx.env, &rep, &fast, &stop, &err), MTG_ESTOPPED);
    cr_assert(strstr(err.msg, "stopped after 1 report attempts"), "%s", err.msg);
    stop_lc(&fx);
}

Test(sedna_report, metrics_as_lists_and_bad_input)
{
    struct lc_fixture fx;
    start_lc(&fx, MTG_SEDNA_EVAL);
    struct mtg_sedna_metric m[] = {{"fidelity", 0.5}};
    struct mtg_sedna_result res = {"json", "/elsewhere/index.json", m, 1};
    struct mtg_sedna_report rep = {.kind = MTG_SEDNA_EVAL, .status = MTG_SEDNA_COMPLETED,
                                   .results = &res, .n_results = 1, .metrics_as_lists = 1};
    char *body = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_report_body(&fx.env, &rep, &body, &err), MTG_OK, "%s", err.msg);
    cJSON *j = cJSON_Parse(body);
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(r0, "url")->valuestring, "/elsewhere/index.json");
    cJSON *fid = cJSON_GetObjectItem(cJSON_GetObjectItem(r0, "metrics"), "fidelity");
    cr_assert(cJSON_IsArray(fid) && cJSON_GetArraySize(fid) == 1);
    cr_assert_float_eq(cJSON_GetArrayItem(fid, 0)->valuedouble, 0.5, 1e-12);
    cJSON_Delete(j);
    free(body);

    m[0].value = 0.0 / 0.0;
    cr_assert_eq(mtg_sedna_report_body(&fx.env, &rep, &body, &err), MTG_ENOTFINITE);
    cr_assert(strstr(err.msg, "fidelity"), "%s", err.msg);
    res.url = "";
    cr_assert_eq(mtg_sedna_report_body(&fx.env, &rep, &body, &err), MTG_EINVAL);
    cr_assert_null(body);
    stop_lc(&fx);
}

/* ---- the kb index ---- */

Test(sedna_kb, writes_index_atomically)
{
    make_tmpdir();
    struct mtg_sedna_metric m3[] = {{"fidelity", 0.96}, {"fd", 2.25}};
    struct mtg_sedna_kb_task tasks[] = {
        {"digit-3", "/home/data/out/digit-3.g.blob", "/home/data/out/digit-3.d.blob", m3, 2, 1200},
        {"ring", "ring.g.blob", NULL, NULL, 0, 0},
    };
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_write_index(tmpdir, "/home/data", tasks, 2, &err), MTG_OK, "%s",
                 err.msg);
    char path[128], tmp[128];
    snprintf(path, sizeof path, "%s/index.json", tmpdir);
    snprintf(tmp, sizeof tmp, "%s/index.json.tmp", tmpdir);
    cr_assert_neq(access(tmp, F_OK), 0, "the temporary file was left behind");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_json_eq(buf,
                   "{\"format\":\"mtgan-kb-index\",\"version\":1,\"tasks\":["
                   "{\"id\":\"digit-3\",\"generator\":\"/out/digit-3.g.blob\","
                   "\"discriminator\":\"/out/digit-3.d.blob\",\"steps\":1200,"
                   "\"metrics\":{\"fidelity\":0.96,\"fd\":2.25}},"
                   "{\"id\":\"ring\",\"generator\":\"ring.g.blob\",\"steps\":0,\"metrics\":{}}]}");

    struct mtg_sedna_kb_task dup[] = {tasks[0], tasks[0]};
    cr_assert_eq(mtg_sedna_write_index(tmpdir, NULL, dup, 2, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "\"digit-3\" appears twice"), "%s", err.msg);
    cr_assert_eq(mtg_sedna_write_index("s3://bucket/out", NULL, tasks, 2, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "not a local directory"), "%s", err.msg);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", tmpdir);
    cr_assert_eq(mtg_sedna_write_index(missing, NULL, tasks, 2, &err), MTG_ENOTFOUND);
    rm_tree();
}

/* Task ids in an index name files and routes later: a path trick is refused with the id named. */
Test(sedna_kb, index_task_ids_are_validated)
{
    make_tmpdir();
    static const char *const bad[] = {"../../etc", "a/b", "..", "-x", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/index.json", tmpdir);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fprintf(f, "{\"format\":\"mtgan-kb-index\",\"version\":1,\"tasks\":[{\"id\":\"%s\",\"generator\":\"g.blob\"}]}",
                bad[i]);
        fclose(f);
        struct mtg_sedna_kb kb;
        struct mtg_err err = {0};
        cr_expect_eq(mtg_sedna_read_index(path, NULL, &kb, &err), MTG_EFORMAT, "id \"%s\" accepted", bad[i]);
        cr_expect(strstr(err.msg, bad[i]) && strstr(err.msg, "must match"), "%s", err.msg);
    }
    rm_tree();
}

/* A digits row: 64 pixels (all v) then the label. */
static void digits_row(char *out, size_t n, int v, int label)
{
    size_t k = 0;
    for (int i = 0; i < 64; i++)
        k += (size_t)snprintf(out + k, n - k, "%d,", v);
    snprintf(out + k, n - k, "%d\n", label);
}

Test(sedna_data, csv_first_line_is_always_the_header)
{
    /* A Dataset file without a header: the LC takes its first row as the
     * header and writes it atop every split, so it must not be read as data. */
    make_tmpdir();
    char path[128], text[2048], row[256];
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    text[0] = '\0';
    for (int r = 0; r < 3; r++) {
        digits_row(row, sizeof row, r + 1, r == 0 ? 5 : 3 + 5 * (r - 1));
        strncat(text, row, sizeof text - strlen(text) - 1);
    }
    write_file(path, text);
    struct mtg_dataset *ds = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_digits_load(path, NULL, NULL, &ds, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_data_n(ds), 2, "the header-position row was read as data");
    cr_expect_eq(mtg_data_labels(ds)[0], 3);
    cr_expect_eq(mtg_data_labels(ds)[1], 8);
    mtg_data_free(ds);
    rm_tree();
}

static void write_gen(const char *path, float base)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    float w[6] = {base, base + 1, base + 2, base + 3, base + 4, base + 5}, act[2] = {1, 2};
    uint32_t dw[2] = {2, 3}, da[1] = {2};
    cr_assert_eq(mtg_blob_add(b, "g.0.w", 2, dw, w, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_blob_add(b, "spec.g.act", 1, da, act, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_blob_write_file(b, path, 0, &err), MTG_OK, "%s", err.msg);
    mtg_blob_free(b);
}

Test(sedna_bundle, round_trip_keeps_models_steps_and_versions)
{
    make_tmpdir();
    char g3[128], g8[128], bundle[128], out[128];
    snprintf(g3, sizeof g3, "%s/digit-3.generator.blob", tmpdir);
    snprintf(g8, sizeof g8, "%s/digit-8.generator.blob", tmpdir);
    snprintf(bundle, sizeof bundle, "%s/kb.blob", tmpdir);
    snprintf(out, sizeof out, "%s/unpacked", tmpdir);
    cr_assert_eq(mkdir(out, 0755), 0);
    write_gen(g3, 10);
    write_gen(g8, 20);
    struct mtg_sedna_kb_entry e[2] = {
        {.id = "digit-3", .generator = g3, .steps = 123456789012LL, .version = 70000001ULL},
        {.id = "digit-8", .generator = g8, .steps = 40, .version = 3},
    };
    struct mtg_sedna_kb kb = {e, 2};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_sedna_bundle_write(&kb, bundle, &err), MTG_OK, "%s", err.msg);
    cr_expect(mtg_sedna_is_bundle(bundle));
    cr_expect(!mtg_sedna_is_bundle(g3), "a plain generator blob is not a bundle");

    struct mtg_sedna_kb got;
    cr_assert_eq(mtg_sedna_bundle_unpack(bundle, out, &got, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(got.n, 2);
    cr_expect_str_eq(got.tasks[0].id, "digit-3");
    cr_expect_eq(got.tasks[0].steps, 123456789012LL);
    cr_expect_eq(got.tasks[0].version, 70000001ULL);
    cr_expect_eq(got.tasks[1].steps, 40);
    struct mtg_blob *b = NULL;
    cr_assert_eq(mtg_blob_read_file(got.tasks[1].generator, NULL, &b, &err), MTG_OK, "%s", err.msg);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, "g.0.w");
    cr_assert_not_null(t);
    cr_expect(t->n == 6 && t->data[0] == 20 && t->data[5] == 25);
    cr_expect_not_null(mtg_blob_find(b, "spec.g.act"));
    mtg_blob_free(b);
    mtg_sedna_kb_deinit(&got);
    rm_tree();
}

Test(sedna_bundle, malformed_bundles_are_named)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/bad.blob", tmpdir);
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    float v[4] = {0, 1, 0, 1};
    uint32_t d[1] = {4};
    cr_assert_eq(mtg_blob_add(b, "digit-3/g.0.w", 1, d, v, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_blob_write_file(b, path, 0, &err), MTG_OK);
    struct mtg_sedna_kb got;
    cr_expect_eq(mtg_sedna_bundle_unpack(path, tmpdir, &got, &err), MTG_EFORMAT);
    cr_expect(strstr(err.msg, "digit-3 has no kb.meta"), "%s", err.msg);
    cr_expect_eq(got.n, 0);
    cr_expect(!mtg_sedna_is_bundle(path));
    cr_assert_eq(mtg_blob_add(b, "orphan", 1, d, v, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_blob_write_file(b, path, 0, &err), MTG_OK);
    cr_expect_eq(mtg_sedna_bundle_unpack(path, tmpdir, &got, &err), MTG_EFORMAT);
    cr_expect(strstr(err.msg, "\"orphan\" has no task prefix"), "%s", err.msg);
    mtg_blob_free(b);
    struct mtg_sedna_kb_entry e = {.id = "a/b", .generator = path};
    struct mtg_sedna_kb kb = {&e, 1};
    cr_expect_eq(mtg_sedna_bundle_write(&kb, path, &err), MTG_EINVAL);
    cr_expect(strstr(err.msg, "has a '/'"), "%s", err.msg);
    rm_tree();
}
