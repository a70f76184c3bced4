/*
 * sedna.h - the KubeEdge-Sedna worker contract: the environment the
 * GlobalManager injects into a LifelongLearningJob (or FederatedLearningJob)
 * worker, the dataset index files it points at, the status report a worker
 * POSTs to its LocalController before exiting, and our knowledge-base index.
 *
 *     struct mtg_err err = {0};
 *     struct mtg_sedna_env env;
 *     if (mtg_sedna_env_load(&env, MTG_SEDNA_TRAIN, NULL, NULL, &err) != MTG_OK)
 *         die(err.msg);                 // "sedna: TRAIN_DATASET_URL is required ..."
 *     ... train, then write models + index.json under env.output_url ...
 *     struct mtg_sedna_result res = {"json", index_path, metrics, n_metrics};
 *     struct mtg_sedna_report rep = {.kind = MTG_SEDNA_TRAIN,
 *         .status = MTG_SEDNA_COMPLETED, .results = &res, .n_results = 1};
 *     mtg_sedna_report(&env, &rep, NULL, &stop_flag, &err);
 *     mtg_sedna_env_deinit(&env);
 *
 * Verified against kubeedge/sedna (paths in that repository; see docs/sedna.md):
 * - pkg/globalmanager/controllers/lifelonglearning/lifelonglearningjob.go
 *   createPod/createInferPod: train env NAMESPACE, JOB_NAME,
 *   WORKER_NAME="train-worker-xxxxx", HAS_COMPLETED_INITIAL_TRAINING
 *   (strconv.FormatBool: "true"/"false"), LC_SERVER, KB_SERVER, CLOUD_KB_INDEX
 *   (only when initial training completed), mounts OUTPUT_URL,
 *   TRAIN_DATASET_URL, ORIGINAL_DATASET_URL. Eval: NAMESPACE, JOB_NAME,
 *   WORKER_NAME="eval-worker-xxxxx", LC_SERVER, KB_SERVER, MODEL_URLS,
 *   OUTPUT_URL, TEST_DATASET_URL, ORIGINAL_DATASET_URL. Deploy (inference):
 *   NAMESPACE, JOB_NAME, WORKER_NAME="inferworker-xxxxx", LC_SERVER,
 *   MODEL_URLS=<outputDir>/deploy/index.pkl.
 * - pkg/globalmanager/runtime/storage_initializer_injector.go: list env values
 *   are joined with ";" (urlsFieldSep); host paths are mounted under
 *   DATA_PATH_PREFIX="/home/data" (hostPathPrefix), remote ones under /downloads.
 * - pkg/globalmanager/config/config.go: defaultLCServer "http://localhost:9100",
 *   defaultKBServer "http://localhost:9020".
 * - pkg/localcontroller/server/server.go + common/constants/constants.go:
 *   POST /sedna/workers/{worker-name}/info; 400 if body "name" differs from the
 *   path, 200 {"Status":200,"Message":"OK"} otherwise.
 * - pkg/localcontroller/worker/worker.go MessageContent: name, namespace,
 *   ownerName, ownerKind, ownerInfo (object), kind, status, results ([]object).
 * - pkg/globalmanager/controllers/lifelonglearning/upstream.go: the LL GM
 *   accepts status ready|completed|failed|waiting only ("running" is an
 *   error there) and keeps only results (as output.models) - not ownerInfo.
 * - lib/sedna/core/base.py report_task_info, lib/sedna/service/client.py
 *   LCClient.send (one attempt, error only logged), lib/sedna/common/constant.py
 *   (ownerKind "lifelonglearningjob"/"federatedlearningjob"; status
 *   completed|failed|running), lib/sedna/common/config.py (BaseConfig),
 *   lib/sedna/common/file_ops.py remove_path_prefix (result urls drop
 *   DATA_PATH_PREFIX so the LC sees host paths).
 */
#ifndef MTG_SEDNA_SEDNA_H
#define MTG_SEDNA_SEDNA_H

#include <stddef.h>

#include "core/status.h"

/* Default LC address when LC_SERVER is unset (Sedna GM's defaultLCServer). */
#define MTG_SEDNA_DEFAULT_LC_SERVER "http://localhost:9100"
/* Default KB address when KB_SERVER is unset (Sedna GM's defaultKBServer). */
#define MTG_SEDNA_DEFAULT_KB_SERVER "http://localhost:9020"
/* Where host paths are mounted inside the worker container. */
#define MTG_SEDNA_DEFAULT_DATA_PATH_PREFIX "/home/data"

#define MTG_SEDNA_OWNER_LIFELONG "lifelonglearningjob"
#define MTG_SEDNA_OWNER_FEDERATED "federatedlearningjob"

/* Worker stage; also the report's "kind". Values are stable: append only. */
enum mtg_sedna_stage {
    MTG_SEDNA_TRAIN = 0,
    MTG_SEDNA_EVAL = 1,
    MTG_SEDNA_DEPLOY = 2,
};

/* Report status. RUNNING is Sedna's progress report (FL aggregation rounds);
 * the LifelongLearningJob GM rejects it, so mtg_sedna_report refuses it for
 * ownerKind "lifelonglearningjob". */
enum mtg_sedna_status {
    MTG_SEDNA_COMPLETED = 0,
    MTG_SEDNA_FAILED = 1,
    MTG_SEDNA_RUNNING = 2,
};

/* "train" | "eval" | "deploy"; "unknown" for an out-of-range value. */
const char *mtg_sedna_stage_str(enum mtg_sedna_stage stage);
/* "completed" | "failed" | "running"; "unknown" otherwise. */
const char *mtg_sedna_status_str(enum mtg_sedna_status status);

/* A ;-separated env value split into owned strings. */
struct mtg_sedna_list {
    char **items;
    size_t n;
};

/*
 * Everything the GM injects, owned by the struct (free with _deinit).
 * A string is NULL when its variable is unset and has no default.
 */
struct mtg_sedna_env {
    enum mtg_sedna_stage stage;
    char *namespace;            /* NAMESPACE */
    char *job_name;             /* JOB_NAME (ownerName in reports) */
    char *worker_name;          /* WORKER_NAME (report path and "name") */
    char *lc_server;            /* LC_SERVER, trailing '/' removed */
    char *kb_server;            /* KB_SERVER (train/eval) */
    char *output_url;           /* OUTPUT_URL (train/eval) */
    char *train_dataset_url;    /* TRAIN_DATASET_URL (train) */
    char *original_dataset_url; /* ORIGINAL_DATASET_URL (train/eval) */
    char *test_dataset_url;     /* TEST_DATASET_URL (eval) */
    char *cloud_kb_index;       /* CLOUD_KB_INDEX (train, after round 1) */
    char *data_path_prefix;     /* DATA_PATH_PREFIX, default /home/data */
    struct mtg_sedna_list model_urls; /* MODEL_URLS (eval, deploy) */
    int has_completed_initial_training; /* HAS_COMPLETED_INITIAL_TRAINING */
};

/* Looks a variable up; returns NULL when unset. ctx is passed through. */
typedef const char *(*mtg_sedna_getenv_fn)(void *ctx, const char *name);

/* The default lookup: getenv(3); ctx is ignored. */
const char *mtg_sedna_getenv_default(void *ctx, const char *name);

/*
 * Reads the Sedna variables for `stage` through getenv_fn (NULL = getenv),
 * applies defaults, splits lists and validates: a required variable that is
 * missing or empty, a malformed URL or a HAS_COMPLETED_INITIAL_TRAINING that
 * is not true/false (any case) fails with MTG_EINVAL and a message naming the
 * variable. On failure env is left zeroed (nothing to free); on success the
 * caller owns env and releases it with mtg_sedna_env_deinit.
 */
int mtg_sedna_env_load(struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                       mtg_sedna_getenv_fn getenv_fn, void *ctx, struct mtg_err *err);

/*
 * Loads only what a report needs (NAMESPACE, JOB_NAME, WORKER_NAME,
 * LC_SERVER, DATA_PATH_PREFIX) for stage: how a worker whose stage env is
 * broken still reports "failed". Data/model fields stay NULL.
 */
int mtg_sedna_env_load_identity(struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                                mtg_sedna_getenv_fn getenv_fn, void *ctx, struct mtg_err *err);

/* Frees every string env owns and zeroes it; accepts NULL and zeroed envs. */
void mtg_sedna_env_deinit(struct mtg_sedna_env *env);

/* ---- dataset index files (TRAIN_DATASET_URL, TEST_DATASET_URL, ...) ---- */

enum mtg_sedna_index_format {
    MTG_SEDNA_INDEX_AUTO = 0, /* from the extension: .csv -> CSV, else TXT */
    MTG_SEDNA_INDEX_TXT = 1,  /* "<sample path> [label ...]" per line */
    MTG_SEDNA_INDEX_CSV = 2,  /* header line, then one row per line */
};

struct mtg_sedna_index_entry {
    char *line;  /* the line as read, trimmed */
    char *path;  /* TXT: resolved sample path; CSV: NULL */
    char *label; /* TXT: the rest of the line after the path, or NULL */
};

struct mtg_sedna_index {
    enum mtg_sedna_index_format format;
    char *header; /* CSV header line; NULL for TXT */
    struct mtg_sedna_index_entry *entries;
    size_t n;
};

/*
 * Reads a Sedna dataset index file: blank lines and lines starting with '#'
 * are skipped, CR/LF and surrounding blanks trimmed. For TXT the first
 * whitespace-separated field is the sample path, resolved like Sedna's
 * examples do: a URL (scheme://) is kept; an absolute path is a host path and
 * gets data_path_prefix prepended (unless it already starts with it; NULL or
 * "" = no prefix); a relative path is joined to base_dir, or to the index
 * file's own directory when base_dir is NULL (pass the directory of
 * ORIGINAL_DATASET_URL to follow Sedna's lifelong-learning examples).
 * Errors: MTG_ENOTFOUND (no such file), MTG_EIO, MTG_EFORMAT (no entries,
 * CSV without rows, NUL byte), MTG_ENOMEM. On success the caller owns out
 * and frees it with mtg_sedna_index_deinit; on failure out is zeroed.
 */
int mtg_sedna_index_read(const char *path, enum mtg_sedna_index_format format,
                         const char *base_dir, const char *data_path_prefix,
                         struct mtg_sedna_index *out, struct mtg_err *err);

/* Frees what idx owns and zeroes it; accepts NULL. */
void mtg_sedna_index_deinit(struct mtg_sedna_index *idx);

/* ---- the LocalController report ---- */

struct mtg_sedna_metric {
    const char *name;
    double value; /* must be finite */
};

/* One entry of "results": Sedna's Model {format, url, metrics}. */
struct mtg_sedna_result {
    const char *format; /* file type, e.g. "json", "blob" */
    const char *url;    /* container path or URL; DATA_PATH_PREFIX is stripped */
    const struct mtg_sedna_metric *metrics;
    size_t n_metrics;
};

/* One extra "ownerInfo" member: a string when str != NULL, else num. */
struct mtg_sedna_info {
    const char *key;
    const char *str;
    double num;
};

/* What to report; all pointers are borrowed for the duration of the call. */
struct mtg_sedna_report {
    const char *owner_kind;    /* NULL = "lifelonglearningjob" */
    enum mtg_sedna_stage kind; /* "kind": which worker this is */
    enum mtg_sedna_status status;
    const struct mtg_sedna_result *results;
    size_t n_results;
    const struct mtg_sedna_info *owner_info;
    size_t n_owner_info;
    /* Why the stage failed; sent as ownerInfo.reason (see docs/sedna.md). */
    const char *reason;
    /* Emit each metric as a one-element list ({"fid":[0.9]}), the shape the
     * LL LC's getEvalResult decodes (map[string][]float64). */
    int metrics_as_lists;
};

/* Retry policy; a zero field takes its default (in brackets). */
struct mtg_sedna_retry {
    int max_attempts;   /* attempts in total, >= 1 [8] */
    int initial_ms;     /* first backoff [200] */
    int max_backoff_ms; /* backoff cap; the backoff doubles up to it [5000] */
    int deadline_ms;    /* give up once this much time has passed [0 = none] */
    int timeout_ms;     /* per-request timeout [5000] */
};

/*
 * Builds the Sedna worker message and POSTs it to
 * $LC_SERVER/sedna/workers/$WORKER_NAME/info until the LC answers 200.
 * Network errors, 5xx, 408 and 429 are retried with exponential backoff
 * (retry NULL = defaults); another status is final (MTG_EINVAL: the LC
 * rejected the body). At least one attempt is always made, so a worker
 * reports even while shutting down; when *stop becomes non-zero (stop may be
 * NULL) no further attempt is made and MTG_ESTOPPED is returned. Giving up
 * returns MTG_ENET with the last error and the attempt count.
 */
int mtg_sedna_report(const struct mtg_sedna_env *env, const struct mtg_sedna_report *rep,
                     const struct mtg_sedna_retry *retry, volatile int *stop,
                     struct mtg_err *err);

/*
 * Renders the report body (what mtg_sedna_report POSTs) as JSON text.
 * On success *out is a malloc'd NUL-terminated string the caller frees.
 */
int mtg_sedna_report_body(const struct mtg_sedna_env *env, const struct mtg_sedna_report *rep,
                          char **out, struct mtg_err *err);

/* ---- our knowledge-base index (OUTPUT_URL/index.json) ---- */

struct mtg_sedna_kb_task {
    const char *id;                 /* task id, e.g. "digit-3" */
    const char *generator;          /* path of G_t's blob */
    const char *discriminator;      /* path of D_t's blob, may be NULL */
    const struct mtg_sedna_metric *metrics;
    size_t n_metrics;
    long long steps;                /* training steps so far, >= 0 */
};

/*
 * Writes output_dir/index.json (format in docs/sedna.md) atomically:
 * index.json.tmp, fsync, rename, fsync of the directory. Model paths that
 * start with data_path_prefix (may be NULL) are stored without it, as Sedna
 * does for result urls. output_dir must be a local directory (a URL such as
 * s3://... is MTG_EINVAL). Task ids must be non-empty and unique.
 */
int mtg_sedna_write_index(const char *output_dir, const char *data_path_prefix,
                          const struct mtg_sedna_kb_task *tasks, size_t n_tasks,
                          struct mtg_err *err);

/* As mtg_sedna_write_index, plus each task's global model version
 * (versions[i], written as "version" when > 0; versions may be NULL). */
int mtg_sedna_write_index_versions(const char *output_dir, const char *data_path_prefix,
                                   const struct mtg_sedna_kb_task *tasks,
                                   const unsigned long long *versions, size_t n_tasks,
                                   struct mtg_err *err);

/* ---- reading our knowledge-base index back (CLOUD_KB_INDEX, MODEL_URLS) ---- */

#define MTG_SEDNA_KB_MAX_METRICS 16

/* One task of a read index; every string is owned by the index. */
struct mtg_sedna_kb_entry {
    char *id;
    char *generator;     /* resolved path of G_t's blob */
    char *discriminator; /* resolved path of D_t's blob, or NULL */
    long long steps;
    unsigned long long version; /* 0 when the index has none */
    struct mtg_sedna_metric metrics[MTG_SEDNA_KB_MAX_METRICS]; /* names owned */
    size_t n_metrics;
};

struct mtg_sedna_kb {
    struct mtg_sedna_kb_entry *tasks;
    size_t n;
};

/*
 * Reads an index written by mtg_sedna_write_index (any file name: the LC
 * copies it to deploy/index.pkl). Refuses another "format" or "version"
 * (MTG_EFORMAT), duplicate or empty ids, a missing generator. Model paths
 * are resolved as the writer stored them: a relative path is joined to the
 * index's directory; an absolute path is a host path, so data_path_prefix
 * is prepended when that file exists (inside a pod), else it is used as is
 * (local runs, where no prefix is mounted). On success the caller owns out
 * (mtg_sedna_kb_deinit); on failure out is zeroed.
 */
int mtg_sedna_read_index(const char *path, const char *data_path_prefix, struct mtg_sedna_kb *out,
                         struct mtg_err *err);

/* 1 when the file at path starts like our index (a JSON object with
 * "format": "mtgan-kb-index"), else 0; never fails. */
int mtg_sedna_is_index(const char *path);

/*
 * Turns a model list (MODEL_URLS items, `mtgan eval --models`) into one kb:
 * an item that is our index (mtg_sedna_is_index, any file name) contributes
 * its tasks; a directory contributes its index.json when it has one, else
 * every "<task>.generator.blob" in it (with "<task>.discriminator.blob"
 * when present); any other file is a generator blob whose task id is its
 * name without ".generator.blob" (or ".blob"). A task id seen twice is an
 * error naming both sources. Caller owns out (mtg_sedna_kb_deinit).
 */
int mtg_sedna_models_collect(const char *const *items, size_t n, const char *data_path_prefix,
                             struct mtg_sedna_kb *out, struct mtg_err *err);

/* Frees what kb owns and zeroes it; accepts NULL. */
void mtg_sedna_kb_deinit(struct mtg_sedna_kb *kb);

/* ---- the knowledge base in one file (what the deploy worker can see) ---- */

/*
 * Writes kb's generators into one blob at path (zlib, atomic): each task's
 * generator tensors renamed "<task>/<name>", then "<task>/kb.meta" (f32[4]:
 * steps and version as 24-bit halves). The deploy pod sees only the file
 * the LC copies to <outputDir>/deploy/index.pkl, so it must hold the models
 * (docs/sedna.md "What each pod sees"). Task ids may not contain '/'.
 */
int mtg_sedna_bundle_write(const struct mtg_sedna_kb *kb, const char *path, struct mtg_err *err);

/* 1 when path is a blob written by mtg_sedna_bundle_write, else 0; never fails. */
int mtg_sedna_is_bundle(const char *path);

/*
 * Splits the bundle at path into dir/<task>.generator.blob files (dir must
 * exist and be writable) and fills out with those tasks, steps and
 * versions. A tensor without a task prefix, a task without kb.meta or
 * listed twice is MTG_EFORMAT naming it. Caller owns out
 * (mtg_sedna_kb_deinit); on failure out is zeroed.
 */
int mtg_sedna_bundle_unpack(const char *path, const char *dir, struct mtg_sedna_kb *out,
                            struct mtg_err *err);

/* ---- digits data behind a Sedna dataset URL ---- */

struct mtg_dataset;

/*
 * Loads the 8x8 digits a Sedna dataset URL (TRAIN_DATASET_URL,
 * TEST_DATASET_URL) points at. Accepted (docs/sedna.md "Running under Sedna"):
 *   - a digits file itself: name ending in ".gz" (digits.csv.gz format);
 *   - a Sedna CSV index ("*.csv", what the LC writes for a csv Dataset): a
 *     header line, then one digits row per line (64 pixels 0..16, label);
 *     the first line is always the header, as the LC reads it (a digits row
 *     there is skipped with a warning);
 *   - a Sedna TXT index (any other name): one digits file per line
 *     ("<path> [label]"; the label is ignored), resolved like
 *     mtg_sedna_index_read with base_dir, falling back to the path as
 *     written when the DATA_PATH_PREFIX-joined path does not exist. All
 *     files are concatenated in order.
 * Caller frees *out with mtg_data_free. Errors name the url and the line.
 */
int mtg_sedna_digits_load(const char *url, const char *base_dir, const char *data_path_prefix,
                          struct mtg_dataset **out, struct mtg_err *err);

/* ---- command line ---- */

/*
 * Rewrites a bare "--sedna" in argv[1..argc-1] into "--sedna=true" (the
 * config parser wants a value after every flag, while Sedna manifests and
 * users write the switch alone). Stops at "--". Returns how many were
 * rewritten. argv entries are replaced by pointers to static storage.
 */
int mtg_sedna_argv_switch(int argc, char **argv);

#endif
