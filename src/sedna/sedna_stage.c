/*
 * sedna_stage.c - train, eval and deploy workers of a LifelongLearningJob
 * (stage.h). What each stage reads and writes is in docs/sedna.md.
 */
#include "sedna/stage.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config.h"
#include "core/log.h"
#include "core/net.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "quality/classifier.h"
#include "quality/evaluator.h"
#include "quality/prec_recall.h"
#include "quality/quality.h"
#include "quality/summary.h"
#include "launch/launch.h"
#include "sedna/sedna.h"
#include "sedna/sedna_pod_edges.h"
#include "server/export.h"
#include "server/server.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* mkdir -p; 0 or -1 with errno. */
static int mkdir_p(const char *path)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Directory of ORIGINAL_DATASET_URL (relative index entries resolve there), or NULL. */
static char *original_dir(const struct mtg_sedna_env *env)
{
    if (!env->original_dataset_url)
        return NULL;
    const char *slash = strrchr(env->original_dataset_url, '/');
    if (!slash)
        return NULL;
    return strndup(env->original_dataset_url,
                   slash == env->original_dataset_url ? 1 : (size_t)(slash - env->original_dataset_url));
}

/*
 * CLOUD_KB_INDEX is the last train report's url as the GM stored it: a
 * node path, never prefixed and not mounted on its own (it lies under the
 * OUTPUT_URL parent folder, <outputDir>/train/). Inside a pod it is at
 * DATA_PATH_PREFIX + path; a local run without mounts uses it as given.
 */
static void in_pod_path(const char *path, const char *prefix, char *out, size_t n)
{
    struct stat st;
    size_t pl = prefix ? strlen(prefix) : 0;
    int under = pl && strncmp(path, prefix, pl) == 0 && (path[pl] == '/' || !path[pl]);
    if (path[0] == '/' && pl && !under && snprintf(out, n, "%s%s", prefix, path) < (int)n &&
        stat(out, &st) == 0)
        return;
    snprintf(out, n, "%s", path);
}

/*
 * Reports "failed" with reason, also when the stage env did not load:
 * then only the worker identity is read (mtg_sedna_env_load_identity).
 * The reason always goes to stderr too - the GM does not keep it.
 */
/*
 * Reports a completed stage; returns the exit code (0 once delivered). At
 * least one attempt even on SIGTERM: no stop flag, the retries are bounded.
 */
static int report_completed(const struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                            const struct mtg_sedna_result *res, size_t n)
{
    struct mtg_sedna_report rep = {
        .kind = stage, .status = MTG_SEDNA_COMPLETED, .results = res, .n_results = n,
        .metrics_as_lists = stage == MTG_SEDNA_EVAL, /* the LL LC's getEvalResult shape */
    };
    struct mtg_err err = {0};
    if (mtg_sedna_report(env, &rep, NULL, NULL, &err) == MTG_OK)
        return 0;
    mtg_log(MTG_LOG_ERROR, "sedna", "%s report not delivered: %s", mtg_sedna_stage_str(stage), err.msg);
    return 1;
}

static void report_failed(const struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                          const char *reason)
{
    mtg_log(MTG_LOG_ERROR, "sedna", "%s stage failed: %s", mtg_sedna_stage_str(stage), reason);
    struct mtg_sedna_env idenv;
    struct mtg_err err = {0};
    const struct mtg_sedna_env *use = env;
    if (!env || !env->worker_name) {
        if (mtg_sedna_env_load_identity(&idenv, stage, NULL, NULL, &err) != MTG_OK) {
            mtg_log(MTG_LOG_ERROR, "sedna", "cannot report the failure to the LC: %s", err.msg);
            return;
        }
        use = &idenv;
    }
    struct mtg_sedna_report rep = {
        .kind = stage, .status = MTG_SEDNA_FAILED, .reason = reason,
        .metrics_as_lists = stage == MTG_SEDNA_EVAL,
    };
    if (mtg_sedna_report(use, &rep, NULL, NULL, &err) != MTG_OK)
        mtg_log(MTG_LOG_ERROR, "sedna", "failure report not delivered: %s", err.msg);
    if (use == &idenv)
        mtg_sedna_env_deinit(&idenv);
}

/*
 * The train and eval stages read Sedna's dataset index files of digits CSV
 * rows (sedna_data.c): another data.dataset is refused in words, with the
 * way to judge such models without Sedna.
 */
static int digits_only(const struct mtg_cfg *cfg, enum mtg_sedna_stage stage, struct mtg_err *err)
{
    if (cfg->data.dataset == MTG_CFG_DATA_DIGITS)
        return MTG_OK;
    return mtg_err_set(err, MTG_EINVAL,
                       "sedna %s stage: Sedna datasets are digits CSV index files; data.dataset %s is not "
                       "supported here (train with mtgan-server + mtgan-edge, judge with mtgan eval --model-dir)",
                       mtg_sedna_stage_str(stage), mtg_data_kind_info((int)cfg->data.dataset)->name);
}

/* ---- eval ---- */

/* test rows, plus the held-out rows of every class test has too few of. */
static int padded_reference(const struct mtg_dataset *test, const struct mtg_dataset *held,
                            struct mtg_dataset **out, struct mtg_err *err)
{
    int nt = mtg_data_n(test), nh = mtg_data_n(held), dim = mtg_data_dim(test);
    float *x = malloc((size_t)(nt + nh) * (size_t)dim * sizeof *x);
    int *y = malloc((size_t)(nt + nh) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return mtg_err_set(err, MTG_ENOMEM, "eval: out of memory");
    }
    memcpy(x, mtg_data_x(test), (size_t)nt * (size_t)dim * sizeof *x);
    memcpy(y, mtg_data_labels(test), (size_t)nt * sizeof *y);
    int n = nt;
    for (int c = 0; c < mtg_data_n_classes(held); c++) {
        if (mtg_data_class_count(test, c) > MTG_QUALITY_PR_K)
            continue;
        mtg_log(MTG_LOG_WARN, "eval", "test data has %d rows of class %d; its reference is the "
                "bundled held-out split", mtg_data_class_count(test, c), c);
        for (int i = 0; i < nh; i++)
            if (mtg_data_labels(held)[i] == c) {
                memcpy(x + (size_t)n * (size_t)dim, mtg_data_row(held, i), (size_t)dim * sizeof *x);
                y[n++] = c;
            }
    }
    int rc = mtg_data_from_array(x, y, n, dim, mtg_data_n_classes(held), out, err);
    free(x);
    free(y);
    return rc;
}

static int build_quality(const struct mtg_cfg *cfg, const struct mtg_dataset *test,
                         struct mtg_quality **q, struct mtg_err *err)
{
    char cache[MTG_CFG_PATH_MAX + 32] = "";
    int have_dir = cfg->state_dir[0] && mkdir_p(cfg->state_dir) == 0;
    if (have_dir)
        snprintf(cache, sizeof cache, "%s/classifier.blob", cfg->state_dir);
    /* The configured dataset's own judge; test data given (Sedna, digits only) replaces its reference. */
    if (!test)
        return mtg_quality_new_for_dataset((int)cfg->data.dataset, cfg->data.path, cfg->data.limit_per_class,
                                           have_dir ? cfg->state_dir : NULL, q, err);
    struct mtg_dataset *all = NULL, *train = NULL, *held = NULL, *ref = NULL;
    struct mtg_net *clf = NULL;
    struct mtg_quality_cfg qc;
    mtg_quality_cfg_default(&qc);
    int rc = mtg_data_digits_load(cfg->data.path, &all, err);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "eval: the classifier's training data (data.path / MTGAN_DATA_DIR)");
    if (rc == MTG_OK)
        rc = mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, err);
    if (rc == MTG_OK && mtg_data_dim(test) != mtg_data_dim(all))
        rc = mtg_err_set(err, MTG_EINVAL, "eval: test data has %d features, the classifier %d",
                         mtg_data_dim(test), mtg_data_dim(all));
    if (rc == MTG_OK)
        rc = mtg_quality_classifier_load_or_train(cache[0] ? cache : NULL, train, &qc, &clf, err);
    if (rc == MTG_OK)
        rc = padded_reference(test, held, &ref, err);
    if (rc == MTG_OK) {
        rc = mtg_quality_new(clf, ref, q, err); /* takes clf */
        clf = NULL;
    }
    mtg_net_free(clf);
    mtg_data_free(all);
    mtg_data_free(train);
    mtg_data_free(held);
    mtg_data_free(ref);
    return rc;
}

static int wanted(const struct mtg_cfg *cfg, int label)
{
    if (cfg->data.tasks.n == 0)
        return 1;
    for (int i = 0; i < cfg->data.tasks.n; i++)
        if (cfg->data.tasks.id[i] == label)
            return 1;
    return 0;
}

int mtg_sedna_eval_kb(const struct mtg_cfg *cfg, const struct mtg_sedna_kb *kb,
                      const struct mtg_dataset *test, struct mtg_summary *sum,
                      struct mtg_err *err)
{
    const int kind_id = (int)cfg->data.dataset;
    const struct mtg_data_kind_info *kind = mtg_data_kind_info(kind_id);
    if (kind->side == 0)
        return mtg_err_set(err, MTG_EINVAL, "eval: data.dataset %s has no classifier to judge generators by",
                           kind->name);
    if (test && kind_id != MTG_DATA_KIND_DIGITS)
        return mtg_err_set(err, MTG_EINVAL, "eval: test data are digits rows, data.dataset is %s", kind->name);
    for (size_t i = 0; i < kb->n; i++)
        if (mtg_data_kind_task_label(kind_id, kb->tasks[i].id) < 0)
            return mtg_err_set(err, MTG_EINVAL,
                               "eval: task \"%s\" (%s) is not a %s task \"%s-<0..%d>\"; "
                               "only generators of data.dataset (--dataset) can be scored",
                               kb->tasks[i].id, kb->tasks[i].generator, kind->name, kind->task_prefix,
                               kind->n_classes - 1);
    struct mtg_quality *q = NULL;
    int rc = build_quality(cfg, test, &q, err);
    float *x = malloc((size_t)MTG_SEDNA_EVAL_SAMPLES * (size_t)kind->dim * sizeof *x);
    if (rc == MTG_OK && !x)
        rc = mtg_err_set(err, MTG_ENOMEM, "eval: out of memory");
    int scored = 0;
    for (size_t i = 0; rc == MTG_OK && i < kb->n; i++) {
        const struct mtg_sedna_kb_entry *e = &kb->tasks[i];
        int label = mtg_data_kind_task_label(kind_id, e->id);
        if (!wanted(cfg, label))
            continue;
        struct mtg_net *g = NULL;
        rc = mtg_srv_generator_load(e->generator, 250, &g, err);
        if (rc == MTG_OK && mtg_net_out_dim(g) != kind->dim)
            rc = mtg_err_set(err, MTG_EINVAL, "eval: %s makes %d features, %s has %d",
                             e->generator, mtg_net_out_dim(g), kind->name, kind->dim);
        if (rc == MTG_OK)
            rc = mtg_srv_generator_sample(g, MTG_SEDNA_EVAL_SAMPLES, MTG_SEDNA_EVAL_SEED, x, err);
        mtg_net_free(g);
        struct mtg_quality_task r;
        if (rc == MTG_OK)
            rc = mtg_quality_eval_task(q, label, x, MTG_SEDNA_EVAL_SAMPLES, &r, err);
        if (rc != MTG_OK) {
            mtg_err_wrap(err, "eval: task %s", e->id);
            break;
        }
        struct mtg_summary_task row = {.steps = e->steps > 0 ? (uint64_t)e->steps : 0, .reached_s = -1};
        mtg_summary_task_set_quality(&row, &r, mtg_quality_ceiling(q, label));
        snprintf(row.id, sizeof row.id, "%s", e->id);
        mtg_summary_add(sum, &row);
        scored++;
    }
    if (rc == MTG_OK && scored == 0)
        rc = mtg_err_set(err, MTG_ENOTFOUND, "eval: no model matched the selected tasks");
    free(x);
    mtg_quality_free(q);
    return rc;
}

/* Means over the summary rows: the metrics of a report. */
static size_t summary_metrics(const struct mtg_summary *sum, struct mtg_sedna_metric *m)
{
    double f = 0, fd = 0, p = 0, r = 0;
    for (int i = 0; i < sum->n_tasks; i++) {
        f += sum->tasks[i].fidelity;
        fd += sum->tasks[i].fd;
        p += sum->tasks[i].precision;
        r += sum->tasks[i].recall;
    }
    double n = sum->n_tasks > 0 ? sum->n_tasks : 1;
    m[0] = (struct mtg_sedna_metric){"fidelity", f / n};
    m[1] = (struct mtg_sedna_metric){"fd", fd / n};
    m[2] = (struct mtg_sedna_metric){"precision", p / n};
    m[3] = (struct mtg_sedna_metric){"recall", r / n};
    m[4] = (struct mtg_sedna_metric){"tasks", (double)sum->n_tasks};
    return 5;
}

/* index.json of the evaluated models with their eval metrics (results[0] for the LC). */
static int write_eval_index(const char *dir, const struct mtg_sedna_env *env,
                            const struct mtg_sedna_kb *kb, const struct mtg_summary *sum,
                            struct mtg_err *err)
{
    struct mtg_sedna_kb_task *kt = calloc((size_t)sum->n_tasks + 1, sizeof *kt);
    unsigned long long *kv = calloc((size_t)sum->n_tasks + 1, sizeof *kv);
    struct mtg_sedna_metric(*km)[4] = calloc((size_t)sum->n_tasks + 1, sizeof *km);
    int rc = MTG_OK, n = 0;
    if (!kt || !kv || !km)
        rc = mtg_err_set(err, MTG_ENOMEM, "eval: out of memory");
    for (int i = 0; rc == MTG_OK && i < sum->n_tasks; i++) {
        const struct mtg_summary_task *row = &sum->tasks[i];
        for (size_t j = 0; j < kb->n; j++) {
            const struct mtg_sedna_kb_entry *e = &kb->tasks[j];
            if (strcmp(e->id, row->id) != 0)
                continue;
            km[n][0] = (struct mtg_sedna_metric){"fidelity", row->fidelity};
            km[n][1] = (struct mtg_sedna_metric){"fd", row->fd};
            km[n][2] = (struct mtg_sedna_metric){"precision", row->precision};
            km[n][3] = (struct mtg_sedna_metric){"recall", row->recall};
            kv[n] = e->version;
            kt[n] = (struct mtg_sedna_kb_task){
                .id = e->id, .generator = e->generator, .discriminator = e->discriminator,
                .metrics = km[n], .n_metrics = 4, .steps = e->steps,
            };
            n++;
        }
    }
    if (rc == MTG_OK)
        rc = mtg_sedna_write_index_versions(dir, env->data_path_prefix, kt, kv, (size_t)n, err);
    free(kt);
    free(kv);
    free(km);
    return rc;
}

/* The evaluated tasks' generators in one file: what the deploy pod can see. */
static int write_eval_bundle(const struct mtg_sedna_kb *kb, const struct mtg_summary *sum,
                             const char *path, struct mtg_err *err)
{
    struct mtg_sedna_kb sel = {.tasks = calloc(kb->n + 1, sizeof *sel.tasks)};
    if (!sel.tasks)
        return mtg_err_set(err, MTG_ENOMEM, "eval: out of memory");
    for (size_t j = 0; j < kb->n; j++)
        for (int i = 0; i < sum->n_tasks; i++)
            if (strcmp(kb->tasks[j].id, sum->tasks[i].id) == 0)
                sel.tasks[sel.n++] = kb->tasks[j]; /* borrowed: sel.tasks alone is freed */
    int rc = mtg_sedna_bundle_write(&sel, path, err);
    free(sel.tasks);
    return rc;
}

int mtg_sedna_eval_main(struct mtg_cfg *cfg)
{
    struct mtg_err err = {0};
    struct mtg_sedna_env env;
    struct mtg_sedna_kb kb = {0};
    struct mtg_dataset *test = NULL;
    struct mtg_summary *sum = calloc(1, sizeof *sum);
    char *base = NULL;
    char idx_path[1100], json_path[1100], bundle_path[1100];
    int code = 1;
    if (mtg_sedna_env_load(&env, MTG_SEDNA_EVAL, NULL, NULL, &err) != MTG_OK) {
        report_failed(NULL, MTG_SEDNA_EVAL, err.msg);
        free(sum);
        return 2;
    }
    double t0 = now_s();
    int rc = sum ? digits_only(cfg, MTG_SEDNA_EVAL, &err) : mtg_err_set(&err, MTG_ENOMEM, "eval: out of memory");
    if (rc == MTG_OK && strstr(env.output_url, "://"))
        rc = mtg_err_set(&err, MTG_EINVAL, "OUTPUT_URL %s is not a local directory",
                         env.output_url);
    if (rc == MTG_OK && mkdir_p(env.output_url) != 0)
        rc = mtg_err_set(&err, MTG_EIO, "OUTPUT_URL %s: cannot create: %s", env.output_url,
                         strerror(errno));
    if (rc == MTG_OK) {
        rc = mtg_sedna_models_collect((const char *const *)env.model_urls.items,
                                      env.model_urls.n, env.data_path_prefix, &kb, &err);
        if (rc != MTG_OK)
            mtg_err_wrap(&err, "MODEL_URLS");
    }
    if (rc == MTG_OK) {
        base = original_dir(&env);
        rc = mtg_sedna_digits_load(env.test_dataset_url, base, env.data_path_prefix, &test, &err);
        if (rc != MTG_OK)
            mtg_err_wrap(&err, "TEST_DATASET_URL");
    }
    if (rc == MTG_OK)
        rc = mtg_sedna_eval_kb(cfg, &kb, test, sum, &err);
    snprintf(idx_path, sizeof idx_path, "%s/index.json", env.output_url);
    snprintf(json_path, sizeof json_path, "%s/eval.json", env.output_url);
    snprintf(bundle_path, sizeof bundle_path, "%s/kb.blob", env.output_url);
    if (rc == MTG_OK) {
        snprintf(sum->protocol, sizeof sum->protocol, "eval");
        sum->wall_s = now_s() - t0;
        sum->server_peak_rss_bytes = -1;
        mtg_summary_print(stdout, sum);
        rc = mtg_summary_write_json(sum, json_path, &err);
    }
    if (rc == MTG_OK && cfg->json_out[0])
        rc = mtg_summary_write_json(sum, cfg->json_out, &err);
    if (rc == MTG_OK)
        rc = write_eval_index(env.output_url, &env, &kb, sum, &err);
    if (rc == MTG_OK)
        rc = write_eval_bundle(&kb, sum, bundle_path, &err);
    if (rc == MTG_OK) {
        struct mtg_sedna_metric m[5];
        size_t nm = summary_metrics(sum, m);
        /* results[0] is what the LC deploys: the bundle, whole in one file. */
        struct mtg_sedna_result res[3] = {
            {"blob", bundle_path, m, nm},
            {"index", idx_path, m, nm},
            {"json", json_path, m, nm},
        };
        code = report_completed(&env, MTG_SEDNA_EVAL, res, 3);
    } else {
        report_failed(&env, MTG_SEDNA_EVAL, err.msg);
    }
    free(base);
    mtg_data_free(test);
    mtg_sedna_kb_deinit(&kb);
    mtg_sedna_env_deinit(&env);
    free(sum);
    return code;
}

/* ---- train and deploy ---- */

static int pick_stage(const struct mtg_cfg *cfg, enum mtg_sedna_stage *out)
{
    switch (cfg->sedna_stage) {
    case MTG_CFG_SEDNA_TRAIN: *out = MTG_SEDNA_TRAIN; return 0;
    case MTG_CFG_SEDNA_DEPLOY: *out = MTG_SEDNA_DEPLOY; return 0;
    case MTG_CFG_SEDNA_AUTO: break;
    }
    const char *train = getenv("TRAIN_DATASET_URL"), *models = getenv("MODEL_URLS");
    if (train && *train)
        *out = MTG_SEDNA_TRAIN;
    else if (models && *models)
        *out = MTG_SEDNA_DEPLOY;
    else
        *out = MTG_SEDNA_TRAIN; /* whose env check names TRAIN_DATASET_URL */
    return 0;
}

/* The round's tasks: the digit classes present in the training data, unless configured. */
static int tasks_from_data(struct mtg_cfg *cfg, const struct mtg_dataset *ds, struct mtg_err *err)
{
    if (cfg->data.tasks.n > 0) {
        for (int i = 0; i < cfg->data.tasks.n; i++)
            if (mtg_data_class_count(ds, cfg->data.tasks.id[i]) == 0)
                mtg_log(MTG_LOG_WARN, "sedna", "configured task digit-%d has no rows in "
                        "TRAIN_DATASET_URL; edges must hold its data", cfg->data.tasks.id[i]);
        return MTG_OK;
    }
    int n = 0;
    for (int c = 0; c < mtg_data_n_classes(ds) && n < MTG_CFG_MAX_IDS; c++)
        if (mtg_data_class_count(ds, c) > 0)
            cfg->data.tasks.id[n++] = c;
    if (n == 0)
        return mtg_err_set(err, MTG_EINVAL, "TRAIN_DATASET_URL has no rows");
    cfg->data.tasks.n = n;
    return MTG_OK;
}

static void print_port(struct mtg_srv *srv)
{
    /* A launcher reading stdout learns the bound port (useful with --port 0). */
    printf("mtgan-server listening on port %u\n", mtg_srv_port(srv));
    fflush(stdout);
}

/*
 * Raises halt when the worker is told to stop or every in-pod edge has
 * exited: a server whose edges are gone would otherwise wait forever and
 * the job would never leave its train stage.
 */
struct pod_watch {
    const atomic_int *stop;
    struct mtg_launch *edges; /* NULL: edges connect from outside */
    atomic_int halt;
    atomic_int edges_gone;
    atomic_int quit;
};

static void *pod_watch_main(void *arg)
{
    struct pod_watch *w = arg;
    const struct timespec tick = {0, 100 * 1000 * 1000};
    while (!atomic_load(&w->quit)) {
        if (atomic_load(w->stop))
            atomic_store(&w->halt, 1);
        if (w->edges && !atomic_load(&w->edges_gone) && mtg_launch_edges_alive(w->edges) == 0) {
            atomic_store(&w->edges_gone, 1);
            atomic_store(&w->halt, 1);
        }
        nanosleep(&tick, NULL);
    }
    return NULL;
}

/* Where the in-pod edges keep their split and logs: under state_dir (a pod volume). */
static int pod_work_dir(const struct mtg_cfg *cfg, char *out, size_t n, struct mtg_err *err)
{
    if (!cfg->state_dir[0])
        return mtg_err_set(err, MTG_EINVAL, "sedna_edges %d needs a state_dir for the edges' data and logs",
                           cfg->sedna_edges);
    if (snprintf(out, n, "%s/sedna-edges", cfg->state_dir) >= (int)n)
        return mtg_err_set(err, MTG_ERANGE, "state_dir %s is too long", cfg->state_dir);
    if (mkdir_p(out) != 0)
        return mtg_err_set(err, MTG_EIO, "cannot create %s: %s", out, strerror(errno));
    return MTG_OK;
}

/* Serves the round until done, with the pod's own edges when configured. */
static int train_run(struct mtg_cfg *cfg, struct mtg_srv *srv, const struct mtg_dataset *ds,
                     const atomic_int *stop, struct mtg_err *err)
{
    struct pod_watch w = {.stop = stop};
    char work[MTG_CFG_PATH_MAX + 32];
    int rc = MTG_OK;
    if (cfg->sedna_edges > 0) {
        rc = pod_work_dir(cfg, work, sizeof work, err);
        if (rc == MTG_OK)
            rc = mtg_sedna_pod_edges_start(cfg, ds, work, mtg_srv_port(srv), &w.edges, err);
    }
    pthread_t th;
    int started = rc == MTG_OK && pthread_create(&th, NULL, pod_watch_main, &w) == 0;
    if (rc == MTG_OK && !started)
        rc = mtg_err_set(err, MTG_EIO, "train stage: cannot start the watch thread");
    if (rc == MTG_OK)
        rc = mtg_srv_run(srv, &w.halt, 1, err);
    atomic_store(&w.quit, 1);
    if (started)
        pthread_join(th, NULL);
    struct mtg_srv_status st;
    mtg_srv_status(srv, &st, NULL, 0);
    if (rc == MTG_OK && !st.done && atomic_load(&w.edges_gone))
        rc = mtg_err_set(err, MTG_EIO, "every in-pod edge exited before training finished (see %s/edge-*.log)",
                         work);
    else if (rc == MTG_OK && !st.done && atomic_load(stop))
        rc = mtg_err_set(err, MTG_ESTOPPED, "stopped (SIGTERM) before training finished");
    mtg_launch_free(w.edges);
    return rc;
}

static int train_stage(struct mtg_cfg *cfg, const atomic_int *stop)
{
    struct mtg_err err = {0};
    struct mtg_sedna_env env;
    if (mtg_sedna_env_load(&env, MTG_SEDNA_TRAIN, NULL, NULL, &err) != MTG_OK) {
        report_failed(NULL, MTG_SEDNA_TRAIN, err.msg);
        return 2;
    }
    struct mtg_dataset *ds = NULL;
    struct mtg_sedna_kb prev = {0};
    struct mtg_srv *srv = NULL;
    char *base = original_dir(&env);
    char idx_path[1100];
    int rc = MTG_OK, code = 1, samples = 0;
    double t0 = now_s();
    if (strstr(env.output_url, "://"))
        rc = mtg_err_set(&err, MTG_EINVAL, "OUTPUT_URL %s is not a local directory",
                         env.output_url);
    if (rc == MTG_OK && mkdir_p(env.output_url) != 0)
        rc = mtg_err_set(&err, MTG_EIO, "OUTPUT_URL %s: cannot create: %s", env.output_url,
                         strerror(errno));
    if (rc == MTG_OK) {
        rc = mtg_sedna_digits_load(env.train_dataset_url, base, env.data_path_prefix, &ds, &err);
        if (rc != MTG_OK)
            mtg_err_wrap(&err, "TRAIN_DATASET_URL");
    }
    if (rc == MTG_OK) {
        samples = mtg_data_n(ds);
        rc = tasks_from_data(cfg, ds, &err);
    }
    char kb_path[2048] = "";
    if (rc == MTG_OK && env.has_completed_initial_training && env.cloud_kb_index) {
        in_pod_path(env.cloud_kb_index, env.data_path_prefix, kb_path, sizeof kb_path);
        rc = mtg_sedna_read_index(kb_path, env.data_path_prefix, &prev, &err);
        if (rc != MTG_OK)
            mtg_err_wrap(&err, "CLOUD_KB_INDEX");
    }
    if (rc == MTG_OK) {
        cfg->exit_when_done = 1;
        if (cfg->sedna_edges > 0)
            cfg->n_edges = cfg->sedna_edges; /* a deterministic server waits for them all */
        rc = mtg_srv_new(cfg, &srv, &err);
    }
    int loaded = 0;
    if (rc == MTG_OK && prev.n > 0) {
        /* Warm start: this round's tasks continue from the knowledge base;
         * the others are carried into the new index unchanged. */
        rc = mtg_srv_import(srv, &prev, 0, &loaded, &err);
        if (rc == MTG_OK)
            mtg_log(MTG_LOG_INFO, "sedna", "warm start: %d tasks from %s", loaded, kb_path);
        else
            mtg_err_wrap(&err, "CLOUD_KB_INDEX");
    }
    if (rc == MTG_OK) {
        mtg_log(MTG_LOG_INFO, "sedna", "train stage: %d samples, %d tasks, output %s", samples,
                cfg->data.tasks.n, env.output_url);
        print_port(srv);
        rc = train_run(cfg, srv, ds, stop, &err);
    }
    if (rc == MTG_OK) {
        struct mtg_srv_export_opts eo = {.data_path_prefix = env.data_path_prefix, .carry = &prev};
        rc = mtg_srv_export(srv, env.output_url, &eo, &err);
        if (rc != MTG_OK)
            mtg_err_wrap(&err, "export to OUTPUT_URL");
    }
    if (rc == MTG_OK) {
        struct mtg_srv_status st;
        struct mtg_srv_task_status ts[MTG_CFG_MAX_TASKS];
        mtg_srv_status(srv, &st, ts, MTG_CFG_MAX_TASKS);
        double f = 0, fd = 0, steps = 0;
        int ne = 0;
        for (int t = 0; t < st.n_tasks && t < MTG_CFG_MAX_TASKS; t++) {
            steps += (double)ts[t].steps;
            if (ts[t].evaluated) {
                f += ts[t].fidelity;
                fd += ts[t].fd;
                ne++;
            }
        }
        struct mtg_sedna_metric m[7];
        size_t nm = 0;
        m[nm++] = (struct mtg_sedna_metric){"tasks", (double)st.n_tasks};
        m[nm++] = (struct mtg_sedna_metric){"warm_started", (double)loaded};
        m[nm++] = (struct mtg_sedna_metric){"steps", steps};
        m[nm++] = (struct mtg_sedna_metric){"num_samples", (double)samples};
        m[nm++] = (struct mtg_sedna_metric){"wall_s", now_s() - t0};
        if (ne > 0) {
            m[nm++] = (struct mtg_sedna_metric){"fidelity", f / ne};
            m[nm++] = (struct mtg_sedna_metric){"fd", fd / ne};
        }
        snprintf(idx_path, sizeof idx_path, "%s/index.json", env.output_url);
        struct mtg_sedna_result res = {"index", idx_path, m, nm};
        code = report_completed(&env, MTG_SEDNA_TRAIN, &res, 1);
    } else {
        report_failed(&env, MTG_SEDNA_TRAIN, err.msg);
    }
    mtg_srv_free(srv);
    mtg_sedna_kb_deinit(&prev);
    mtg_data_free(ds);
    free(base);
    mtg_sedna_env_deinit(&env);
    return code;
}

/*
 * The deploy pod's models: MODEL_URLS is the LC's copy of eval's
 * results[0], normally our bundle, unpacked under state_dir (a pod volume);
 * an index or blobs are read in place (local runs, older eval output).
 */
static int deploy_models(const struct mtg_cfg *cfg, const struct mtg_sedna_env *env,
                         struct mtg_sedna_kb *kb, struct mtg_err *err)
{
    if (env->model_urls.n != 1 || !mtg_sedna_is_bundle(env->model_urls.items[0]))
        return mtg_sedna_models_collect((const char *const *)env->model_urls.items, env->model_urls.n,
                                        env->data_path_prefix, kb, err);
    char dir[MTG_CFG_PATH_MAX + 32];
    if (!cfg->state_dir[0])
        return mtg_err_set(err, MTG_EINVAL, "deploy: unpacking %s needs a state_dir",
                           env->model_urls.items[0]);
    snprintf(dir, sizeof dir, "%s/deploy-kb", cfg->state_dir);
    if (mkdir_p(dir) != 0)
        return mtg_err_set(err, MTG_EIO, "deploy: cannot create %s: %s", dir, strerror(errno));
    return mtg_sedna_bundle_unpack(env->model_urls.items[0], dir, kb, err);
}

static int deploy_stage(struct mtg_cfg *cfg, const atomic_int *stop)
{
    struct mtg_err err = {0};
    struct mtg_sedna_env env;
    if (mtg_sedna_env_load(&env, MTG_SEDNA_DEPLOY, NULL, NULL, &err) != MTG_OK) {
        report_failed(NULL, MTG_SEDNA_DEPLOY, err.msg);
        return 2;
    }
    struct mtg_sedna_kb kb = {0};
    struct mtg_srv *srv = NULL;
    int rc = deploy_models(cfg, &env, &kb, &err);
    if (rc != MTG_OK)
        mtg_err_wrap(&err, "MODEL_URLS");
    if (rc == MTG_OK) {
        /* A read-only server: exactly the knowledge base's tasks, no
         * checkpoint to restore or write, no training budget to finish. */
        cfg->state_dir[0] = '\0';
        cfg->exit_when_done = 0;
        cfg->train.eval_every = 0;
        cfg->data.tasks.n = 0;
        for (size_t i = 0; i < kb.n && cfg->data.tasks.n < MTG_CFG_MAX_IDS; i++) {
            int label = mtg_data_kind_task_label((int)cfg->data.dataset, kb.tasks[i].id);
            if (label >= 0)
                cfg->data.tasks.id[cfg->data.tasks.n++] = label;
        }
        rc = mtg_srv_new(cfg, &srv, &err);
    }
    int loaded = 0;
    if (rc == MTG_OK)
        rc = mtg_srv_import(srv, &kb,
                            MTG_SRV_IMPORT_ADD | MTG_SRV_IMPORT_STEPS | MTG_SRV_IMPORT_ONLY,
                            &loaded, &err);
    if (rc == MTG_OK) {
        mtg_log(MTG_LOG_INFO, "sedna", "deploy stage: serving %d tasks from %s", loaded,
                env.model_urls.items[0]);
        print_port(srv);
        /* Sedna's inference workers do not report while serving (the
         * Python library's inference() never calls report_task_info); the
         * GM follows the pod. Only a failure is reported. */
        rc = mtg_srv_run(srv, stop, 0, &err);
    }
    if (rc != MTG_OK)
        report_failed(&env, MTG_SEDNA_DEPLOY, err.msg);
    mtg_srv_free(srv);
    mtg_sedna_kb_deinit(&kb);
    mtg_sedna_env_deinit(&env);
    return rc == MTG_OK ? 0 : 1;
}

int mtg_sedna_server_main(struct mtg_cfg *cfg, const atomic_int *stop)
{
    enum mtg_sedna_stage stage;
    pick_stage(cfg, &stage);
    mtg_log(MTG_LOG_INFO, "sedna", "mtgan-server running the %s stage", mtg_sedna_stage_str(stage));
    struct mtg_err err = {0};
    if (stage != MTG_SEDNA_DEPLOY && digits_only(cfg, stage, &err) != MTG_OK) {
        report_failed(NULL, stage, err.msg);
        return 2;
    }
    return stage == MTG_SEDNA_DEPLOY ? deploy_stage(cfg, stop) : train_stage(cfg, stop);
}
