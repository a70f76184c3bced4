/*
 * test_sedna_rounds.c - two full LifelongLearningJob rounds (train -> eval
 * -> deploy, new data, train -> eval -> deploy) with every worker run the
 * way Sedna runs it, against the fake LC (tests/support/fake_lc.h). The
 * test plays the LocalController and the GlobalManager:
 *
 * - LC (pkg/localcontroller/managers/lifelonglearning/lifelonglearningjob.go):
 *   creates <out>/{data/train,data/eval,train,eval} as root 0755, writes
 *   each round's split to data/<stage>/<round>/data.csv with the Dataset's
 *   header line first, and copies eval's results[0] to <out>/deploy/index.pkl.
 * - GM (pkg/globalmanager/controllers/lifelonglearning/lifelonglearningjob.go
 *   createPod/createInferPod, runtime/storage_initializer_injector.go): each
 *   URL becomes /home/data<url> and only its parent folder is mounted;
 *   CLOUD_KB_INDEX is the last train report's url, as reported (host path).
 * - a pod: its own mount namespace (unshare -m) with a tmpfs on /home, the
 *   parent folders bound under /home/data, the image's binaries and data at
 *   /home/image, an emptyDir at /home/state, the node's tree hidden under a
 *   tmpfs, and the worker run as uid/gid 65532 (setpriv). The sample
 *   manifest's init container (chown of <out>/train and <out>/eval to 65532)
 *   is played by the test as root before the pod starts.
 *
 * Needs root (CLONE_NEWNS, mount, setuid): it fails, naming what was
 * refused, rather than skipping.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "fake_lc.h"
#include "proc.h"

#define POD_UID 65532
#define ROWS_PER_CLASS 40

static struct fake_lc *lc;
static unsigned short lc_port;
static char root[256], node[300], out[320], pods[300];

static void start(void)
{
    cr_assert_eq(tp_tmpdir(root, sizeof root), 0);
    lc = fake_lc_start(&lc_port);
    cr_assert_not_null(lc, "fake LC did not start");
    snprintf(node, sizeof node, "%s/node", root);
    snprintf(out, sizeof out, "%s/node/out", root);
    snprintf(pods, sizeof pods, "%s/pods", root);
}

static void stop(void)
{
    fake_lc_stop(lc);
    tp_cleanup();
}

TestSuite(sedna_rounds, .init = start, .fini = stop, .timeout = 300);

static void sh(const char *cmd)
{
    int st = system(cmd);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "failed (%#x): %s", st, cmd);
}

/* ---- the dataset and the LC's splits ---- */

struct rows {
    char *line[4 * ROWS_PER_CLASS];
    int n;
};

/* The next ROWS_PER_CLASS digits rows of each class in classes, in file order after *skip. */
static void take_rows(struct rows *r, const int *classes, int n_classes, int *seen)
{
    const char *dd = getenv("MTGAN_DATA_DIR");
    char src[512], line[1024];
    snprintf(src, sizeof src, "%s/digits.csv.gz", dd && *dd ? dd : "data");
    gzFile in = gzopen(src, "rb");
    cr_assert_not_null(in, "cannot open %s", src);
    int count[10] = {0};
    r->n = 0;
    while (gzgets(in, line, sizeof line)) {
        char *comma = strrchr(line, ',');
        if (!comma)
            continue;
        int label = (int)strtol(comma + 1, NULL, 10);
        for (int c = 0; c < n_classes; c++) {
            if (label != classes[c] || count[label]++ < seen[label] ||
                count[label] > seen[label] + ROWS_PER_CLASS)
                continue;
            r->line[r->n++] = strdup(line);
        }
    }
    gzclose(in);
    for (int c = 0; c < n_classes; c++)
        seen[classes[c]] += ROWS_PER_CLASS;
    cr_assert_eq(r->n, n_classes * ROWS_PER_CLASS);
}

static void rows_free(struct rows *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->line[i]);
    r->n = 0;
}

static const char *header(void)
{
    static char h[512];
    size_t k = 0;
    for (int i = 0; i < 64; i++)
        k += (size_t)snprintf(h + k, sizeof h - k, "p%d,", i);
    snprintf(h + k, sizeof h - k, "label");
    return h;
}

/* writeByLine: the Dataset's header line, then rows [from, to). */
static void write_split(const char *path, const struct rows *r, int from, int to)
{
    char dir[600];
    snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
    sh(dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fprintf(f, "%s\n", header());
    for (int i = from; i < to; i++)
        fputs(r->line[i], f);
    cr_assert_eq(fclose(f), 0);
}

/* ---- pods ---- */

static void unset_stage_env(void)
{
    const char *vars[] = {"OUTPUT_URL", "TRAIN_DATASET_URL", "ORIGINAL_DATASET_URL", "TEST_DATASET_URL",
                          "MODEL_URLS", "HAS_COMPLETED_INITIAL_TRAINING", "CLOUD_KB_INDEX", "KB_SERVER"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}

static void pod_env(const char *worker)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lc_port);
    setenv("LC_SERVER", url, 1);
    setenv("NAMESPACE", "mtgan-sedna", 1);
    setenv("JOB_NAME", "mtgan-digits", 1);
    setenv("WORKER_NAME", worker, 1);
    setenv("DATA_PATH_PREFIX", "/home/data", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
}

/* What the GM puts in the env for a node path: /home/data<path>. */
static void set_url(const char *var, const char *host_path)
{
    char v[700];
    snprintf(v, sizeof v, "/home/data%s", host_path);
    setenv(var, v, 1);
}

/*
 * Starts a pod: urls are the node paths the GM mounts (each one's parent
 * folder, as parseHostPath does for a file URL); argv[0] is a program in
 * the image's bin directory. stdout comes back on *out_fd when out_fd is
 * not NULL. Returns the pid.
 */
static pid_t pod_start(const char *name, const char *const *urls, char *const *argv, int *out_fd)
{
    char state[400], log[400], conf[400];
    snprintf(state, sizeof state, "%s/%s/state", pods, name);
    snprintf(log, sizeof log, "%s/%s.log", pods, name);
    snprintf(conf, sizeof conf, "%s/conf", pods);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && chown %d:%d '%s'", state, POD_UID, POD_UID, state);
    sh(cmd);
    const char *bin = tp_bin_dir(), *dd = getenv("MTGAN_DATA_DIR");
    char script[8192];
    size_t k = 0;
    k += (size_t)snprintf(script + k, sizeof script - k,
                          "set -e\nmount -t tmpfs -o mode=0755 tmpfs /home\n"
                          "mkdir -p /home/image/bin /home/image/data /home/state /home/conf\n"
                          "mount --bind '%s' /home/image/bin\nmount --bind '%s' /home/image/data\n"
                          "mount --bind '%s' /home/state\nmount --bind '%s' /home/conf\n",
                          bin, dd && *dd ? dd : "data", state, conf);
    for (int i = 0; urls[i]; i++) {
        char parent[512];
        snprintf(parent, sizeof parent, "%s", urls[i]);
        *strrchr(parent, '/') = '\0';
        k += (size_t)snprintf(script + k, sizeof script - k,
                              "mkdir -p '/home/data%s'\nmount --bind '%s' '/home/data%s'\n", parent, parent,
                              parent);
    }
    /* The node's own tree is not visible in a pod: only what was bound. */
    k += (size_t)snprintf(script + k, sizeof script - k,
                          "mount -t tmpfs tmpfs '%s'\n"
                          "echo \"pod %s: mounts under /home/data:\" >&2\n"
                          "find /home/data -mindepth 1 -maxdepth 12 -type d -name '*' | sed 's/^/  /' >&2\n"
                          "export MTGAN_BIN_DIR=/home/image/bin MTGAN_DATA_DIR=/home/image/data\n"
                          "exec /usr/bin/setpriv --reuid=%d --regid=%d --clear-groups -- \"/home/image/bin/$0\" \"$@\"\n",
                          node, name, POD_UID, POD_UID);
    cr_assert_lt(k, sizeof script - 1);
    char *args[32];
    int n = 0;
    args[n++] = "unshare";
    args[n++] = "--mount";
    args[n++] = "--propagation";
    args[n++] = "private";
    args[n++] = "--";
    args[n++] = "/bin/sh";
    args[n++] = "-c";
    args[n++] = script;
    for (int i = 0; argv[i] && n < 31; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = tp_spawn("/usr/bin/unshare", args, NULL, log, out_fd);
    cr_assert_gt(pid, 0, "cannot start pod %s", name);
    return pid;
}

/* Runs a pod to completion; returns its exit code (asserting it exited). */
static int pod_run(const char *name, const char *const *urls, char *const *argv)
{
    pid_t pid = pod_start(name, urls, argv, NULL);
    int st = tp_wait(pid, 240000);
    cr_assert_neq(st, -1, "pod %s did not finish (see %s/%s.log)", name, pods, name);
    cr_assert(WIFEXITED(st), "pod %s died: %#x (see %s/%s.log)", name, st, pods, name);
    return WEXITSTATUS(st);
}

/* The last report the fake LC received, parsed; asserts it was valid and from worker. */
static cJSON *last_report(const char *worker)
{
    size_t n = fake_lc_reports(lc);
    cr_assert_gt(n, 0, "no report reached the fake LC");
    struct fake_lc_report r;
    cr_assert_eq(fake_lc_get(lc, n - 1, &r), 0);
    cr_expect(r.valid, "report has the wrong shape: %s\n%s", r.why, r.body);
    cr_assert_str_eq(r.worker, worker);
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

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsArray(v))
        v = cJSON_GetArrayItem(v, 0);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* results[i].url of a report (copied into buf). */
static void result_url(const cJSON *rep, int i, char *buf, size_t n)
{
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "results"), i);
    snprintf(buf, n, "%s", jstr(r, "url"));
}

static cJSON *read_json(const char *path)
{
    char *text = tp_read_file(path, NULL);
    cr_assert_not_null(text, "no %s", path);
    cJSON *o = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(o, "%s is not JSON", path);
    return o;
}

static const cJSON *index_task(const cJSON *idx, const char *id)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(idx, "tasks"))
    if (strcmp(jstr(t, "id"), id) == 0)
        return t;
    return NULL;
}

/* The one-time preparation the sample's init container does (docs/sedna.md). */
static void init_container(void)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "chown %d:%d '%s/train' '%s/eval'", POD_UID, POD_UID, out, out);
    sh(cmd);
}

/* ---- the stages ---- */

/* Train round r; returns (in index_url) what it reported as results[0]. */
static void train(int round, const char *dataset, const char *cloud_kb_index, char *index_url, size_t n)
{
    char worker[64], name[32], output[400], data[400], cfgpath[64];
    snprintf(worker, sizeof worker, "train-worker-r%d", round);
    snprintf(name, sizeof name, "train-%d", round);
    snprintf(output, sizeof output, "%s/train/%d", out, round);
    snprintf(data, sizeof data, "%s/data/train/%d/data.csv", out, round);
    snprintf(cfgpath, sizeof cfgpath, "/home/conf/config.json");
    unset_stage_env();
    pod_env(worker);
    setenv("KB_SERVER", "http://127.0.0.1:9020", 1);
    setenv("HAS_COMPLETED_INITIAL_TRAINING", cloud_kb_index ? "true" : "false", 1);
    if (cloud_kb_index)
        setenv("CLOUD_KB_INDEX", cloud_kb_index, 1); /* as the GM passes it: not prefixed */
    set_url("OUTPUT_URL", output);
    set_url("TRAIN_DATASET_URL", data);
    set_url("ORIGINAL_DATASET_URL", dataset);
    const char *urls[] = {output, data, dataset, NULL};
    char *argv[] = {"mtgan-server", "--sedna", "--config", cfgpath, "--bind", "127.0.0.1", "--port", "0",
                    "--state-dir", "/home/state", NULL};
    int code = pod_run(name, urls, argv);
    cr_assert_eq(code, 0, "train round %d exit %d (see %s/%s.log)", round, code, pods, name);
    cJSON *rep = last_report(worker);
    cr_expect_str_eq(jstr(rep, "status"), "completed");
    result_url(rep, 0, index_url, n);
    cJSON_Delete(rep);
}

static void eval(int round, const char *dataset, const char *model_url, char *bundle_url, size_t n,
                 double *tasks)
{
    char worker[64], name[32], output[400], data[400];
    snprintf(worker, sizeof worker, "eval-worker-r%d", round);
    snprintf(name, sizeof name, "eval-%d", round);
    snprintf(output, sizeof output, "%s/eval/%d", out, round);
    snprintf(data, sizeof data, "%s/data/eval/%d/data.csv", out, round);
    unset_stage_env();
    pod_env(worker);
    setenv("KB_SERVER", "http://127.0.0.1:9020", 1);
    set_url("OUTPUT_URL", output);
    set_url("MODEL_URLS", model_url);
    set_url("TEST_DATASET_URL", data);
    set_url("ORIGINAL_DATASET_URL", dataset);
    const char *urls[] = {model_url, output, data, dataset, NULL};
    char *argv[] = {"mtgan", "eval", "--sedna", "--config", "/home/conf/config.json", "--state-dir",
                    "/home/state", NULL};
    int code = pod_run(name, urls, argv);
    cr_assert_eq(code, 0, "eval round %d exit %d (see %s/%s.log)", round, code, pods, name);
    cJSON *rep = last_report(worker);
    cr_expect_str_eq(jstr(rep, "status"), "completed");
    result_url(rep, 0, bundle_url, n);
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "results"), 0);
    *tasks = jnum(cJSON_GetObjectItemCaseSensitive(r0, "metrics"), "tasks");
    cJSON_Delete(rep);
}

/* Deploy: the LC copies eval's results[0]; the pod serves until SIGTERM. */
static void deploy(int round, const char *bundle_url, const char *const *served, const char *absent)
{
    char cmd[1200], pkl[400], worker[64], name[32];
    snprintf(pkl, sizeof pkl, "%s/deploy/index.pkl", out);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/deploy' && cp '%s' '%s'", out, bundle_url, pkl);
    sh(cmd);
    snprintf(worker, sizeof worker, "inferworker-r%d", round);
    snprintf(name, sizeof name, "deploy-%d", round);
    unset_stage_env();
    pod_env(worker);
    set_url("MODEL_URLS", pkl);
    const char *urls[] = {pkl, NULL};
    char *argv[] = {"mtgan-server", "--sedna", "--config", "/home/conf/config.json", "--bind", "127.0.0.1",
                    "--port", "0", "--state-dir", "/home/state", NULL};
    int fd = -1;
    pid_t pid = pod_start(name, urls, argv, &fd);
    FILE *f = fdopen(fd, "r");
    cr_assert_not_null(f);
    char line[256];
    unsigned port = 0;
    while (!port && fgets(line, sizeof line, f))
        sscanf(line, "mtgan-server listening on port %u", &port);
    fclose(f);
    cr_assert_gt(port, 0, "deploy round %d did not start (see %s/%s.log)", round, pods, name);
    for (int i = 0; served[i]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/tasks/%s/samples?format=png&n=16", served[i]);
        struct tp_resp r;
        cr_assert_eq(tp_get(port, path, &r), 0);
        cr_expect_eq(r.status, 200, "deploy round %d, %s: HTTP %d %s", round, served[i], r.status, r.body);
        cr_expect(r.len > 8 && memcmp(r.body, "\x89PNG", 4) == 0, "%s: not a PNG", served[i]);
        tp_resp_free(&r);
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/samples?format=png", absent);
    struct tp_resp r;
    cr_assert_eq(tp_get(port, path, &r), 0);
    cr_expect_eq(r.status, 404, "deploy round %d serves %s, which no round trained", round, absent);
    tp_resp_free(&r);
    int st = tp_stop(pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "deploy round %d exit status %#x", round, st);
}

/* ---- checks ---- */

static void expect_owned_by_pod(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "no %s", path);
    cr_expect_eq(st.st_uid, (uid_t)POD_UID, "%s is owned by uid %u, not the pod's", path, (unsigned)st.st_uid);
}

/* Every model the index lists is a node path inside dir, and exists there. */
static void expect_index_within(const cJSON *idx, const char *dir, int n_tasks)
{
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(idx, "tasks"), *t;
    cr_expect_eq(cJSON_GetArraySize(tasks), n_tasks);
    size_t l = strlen(dir);
    cJSON_ArrayForEach(t, tasks)
    {
        const char *g = jstr(t, "generator");
        cr_expect(strncmp(g, dir, l) == 0 && g[l] == '/', "%s: %s is outside %s (not mounted for the next pod)",
                  jstr(t, "id"), g, dir);
        cr_expect(tp_file_exists(g), "missing %s", g);
    }
}

static void check_unshare(void)
{
    int st = system("/usr/bin/unshare --mount --propagation private -- /bin/sh -c "
                    "'mount -t tmpfs tmpfs /home && /usr/bin/setpriv --reuid=65532 --regid=65532 "
                    "--clear-groups -- /bin/true' 2>/dev/null");
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "this test plays Sedna's pods with unshare -m, mount and setpriv, which need root "
              "(CAP_SYS_ADMIN, CAP_SETUID) and util-linux; they were refused here (status %#x). "
              "Run make test as root, as CI does.", st);
}

Test(sedna_rounds, two_rounds_as_sedna_mounts_and_runs_pods)
{
    check_unshare();
    char cmd[4096], dataset[400], conf[400];
    /* The LC's folders (createOutputDir: root, 0755) and the Dataset CR's file. */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/data/train' '%s/data/eval' '%s/train' '%s/eval' '%s/datasets' "
                              "'%s/conf' && chmod 0755 '%s' '%s' '%s/data' '%s/train' '%s/eval'",
             out, out, out, out, node, pods, node, out, out, out, out);
    sh(cmd);
    snprintf(conf, sizeof conf, "%s/conf/config.json", pods);
    /* Tiny deterministic budgets: the point is the plumbing, not the quality. */
    cr_assert_eq(tp_write_file(conf, "{\"log_level\": \"info\", \"checkpoint_every\": 0,\n"
                                      " \"train\": {\"deterministic\": true, \"max_steps\": 40, \"eval_every\": 20},\n"
                                      " \"scheduler\": {\"server\": {\"local_steps\": 20}}}\n"),
                 0);
    snprintf(dataset, sizeof dataset, "%s/datasets/digits.csv", node);

    /* Round 1 data: digits 3 and 8; the LC keeps 80% for training (trainProb 0.8). */
    int seen[10] = {0};
    struct rows r1;
    take_rows(&r1, (const int[]){3, 8}, 2, seen);
    write_split(dataset, &r1, 0, r1.n);
    int cut = r1.n * 8 / 10;
    char data[400];
    snprintf(data, sizeof data, "%s/data/train/1/data.csv", out);
    write_split(data, &r1, 0, cut);

    /* Without the init container the worker (uid 65532) cannot create
     * OUTPUT_URL in the LC's root-owned folder: a clear failure, reported. */
    char index1[600];
    {
        unset_stage_env();
        pod_env("train-worker-noinit");
        char output[400];
        snprintf(output, sizeof output, "%s/train/1", out);
        set_url("OUTPUT_URL", output);
        set_url("TRAIN_DATASET_URL", data);
        const char *urls[] = {output, data, NULL};
        char *argv[] = {"mtgan-server", "--sedna", "--config", "/home/conf/config.json", "--port", "0",
                        "--state-dir", "/home/state", NULL};
        cr_assert_neq(pod_run("train-noinit", urls, argv), 0, "uid 65532 wrote into a root-owned folder");
        cJSON *rep = last_report("train-worker-noinit");
        cr_expect_str_eq(jstr(rep, "status"), "failed");
        const char *why = jstr(cJSON_GetObjectItemCaseSensitive(rep, "ownerInfo"), "reason");
        cr_expect(strstr(why, "OUTPUT_URL") && strstr(why, "Permission denied"), "reason: %s", why);
        cJSON_Delete(rep);
    }
    init_container();

    train(1, dataset, NULL, index1, sizeof index1);
    char train1[400];
    snprintf(train1, sizeof train1, "%s/train/1", out);
    char want[600];
    snprintf(want, sizeof want, "%s/index.json", train1);
    cr_assert_str_eq(index1, want, "train must report the node path of its index (no /home/data)");
    cJSON *idx1 = read_json(index1);
    expect_index_within(idx1, train1, 2);
    expect_owned_by_pod(index1);
    double steps8 = jnum(index_task(idx1, "digit-8"), "steps");
    cr_expect_geq(steps8, 40);
    cJSON_Delete(idx1);

    snprintf(data, sizeof data, "%s/data/eval/1/data.csv", out);
    write_split(data, &r1, cut, r1.n);
    char bundle1[600];
    double tasks = 0;
    eval(1, dataset, index1, bundle1, sizeof bundle1, &tasks);
    snprintf(want, sizeof want, "%s/eval/1/kb.blob", out);
    cr_expect_str_eq(bundle1, want);
    cr_expect_eq(tasks, 2);
    deploy(1, bundle1, (const char *const[]){"digit-3", "digit-8", NULL}, "digit-5");

    /* New data arrives: more 3s and a new class, 5. Round 2 trains them,
     * digit-3 from round 1's knowledge base, and carries digit-8. */
    struct rows r2;
    take_rows(&r2, (const int[]){3, 5}, 2, seen);
    cut = r2.n * 8 / 10;
    snprintf(data, sizeof data, "%s/data/train/2/data.csv", out);
    write_split(data, &r2, 0, cut);
    char index2[600];
    train(2, dataset, index1, index2, sizeof index2);
    cJSON *rep = last_report("train-worker-r2");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "results"), 0), "metrics");
    cr_expect_eq(jnum(m, "warm_started"), 1, "round 2 must warm-start digit-3 from CLOUD_KB_INDEX");
    cr_expect_eq(jnum(m, "tasks"), 2);
    cJSON_Delete(rep);
    char train2[400];
    snprintf(train2, sizeof train2, "%s/train/2", out);
    cJSON *idx2 = read_json(index2);
    expect_index_within(idx2, train2, 3);
    const cJSON *t8 = index_task(idx2, "digit-8");
    cr_assert_not_null(t8, "round 2 dropped digit-8 from the knowledge base");
    cr_expect_eq(jnum(t8, "steps"), steps8, "the carried task changed");
    cr_expect_not_null(index_task(idx2, "digit-5"));
    cJSON_Delete(idx2);

    snprintf(data, sizeof data, "%s/data/eval/2/data.csv", out);
    write_split(data, &r2, cut, r2.n);
    char bundle2[600];
    eval(2, dataset, index2, bundle2, sizeof bundle2, &tasks);
    cr_expect_eq(tasks, 3, "eval sees only train/2/: every task must be there");
    deploy(2, bundle2, (const char *const[]){"digit-3", "digit-5", "digit-8", NULL}, "digit-0");
    rows_free(&r1);
    rows_free(&r2);
}
