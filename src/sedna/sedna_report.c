/*
 * sedna_report.c - the worker -> LocalController status report.
 *
 * Shape: pkg/localcontroller/worker/worker.go MessageContent, as built by
 * lib/sedna/core/base.py report_task_info. Route and 200/400 replies:
 * pkg/localcontroller/server/server.go. Sedna's Python LCClient.send tries
 * once and only logs a failure; we retry, because this report is the only
 * way the job learns a stage finished (the GM otherwise waits on pod phase).
 */
#include "sedna/sedna.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "sedna/sedna_internal.h"

#define DEF_MAX_ATTEMPTS 8
#define DEF_INITIAL_MS 200
#define DEF_MAX_BACKOFF_MS 5000
#define DEF_TIMEOUT_MS 5000
/* The LC replies {"Status":200,"Message":"OK"}; keep enough of an error
 * reply to quote it, not more. */
#define REPLY_KEEP 512
/* How often a backoff sleep looks at the stop flag. */
#define STOP_POLL_MS 20

const char *mtg_sedna_strip_prefix(const char *path, const char *prefix)
{
    if (!path || !prefix || !*prefix)
        return path;
    size_t lp = strlen(prefix);
    while (lp > 1 && prefix[lp - 1] == '/')
        lp--;
    /* Whole components only: "/home/database" is not under "/home/data"
     * (Sedna's remove_path_prefix would cut it; that is a bug we skip). */
    if (strncmp(path, prefix, lp) == 0 && path[lp] == '/')
        return path + lp;
    return path;
}

int mtg_sedna_add_metrics(cJSON *obj, const char *key, const struct mtg_sedna_metric *m,
                          size_t n, int as_lists, const char *what, struct mtg_err *err)
{
    cJSON *mo = cJSON_AddObjectToObject(obj, key);
    if (!mo)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building %s", what);
    if (n > 0 && !m)
        return mtg_err_set(err, MTG_EINVAL, "sedna: %s has %zu metrics but no array", what, n);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].name || !*m[i].name)
            return mtg_err_set(err, MTG_EINVAL, "sedna: %s metric %zu has no name", what, i);
        if (!isfinite(m[i].value))
            return mtg_err_set(err, MTG_ENOTFINITE, "sedna: %s metric \"%s\" is not finite",
                               what, m[i].name);
        if (cJSON_GetObjectItemCaseSensitive(mo, m[i].name))
            return mtg_err_set(err, MTG_EINVAL, "sedna: %s metric \"%s\" appears twice", what,
                               m[i].name);
        cJSON *v;
        if (as_lists) {
            v = cJSON_CreateArray();
            cJSON *num = v ? cJSON_CreateNumber(m[i].value) : NULL;
            if (num)
                cJSON_AddItemToArray(v, num);
            else {
                cJSON_Delete(v);
                v = NULL;
            }
        } else {
            v = cJSON_CreateNumber(m[i].value);
        }
        if (!v)
            return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building %s", what);
        cJSON_AddItemToObject(mo, m[i].name, v);
    }
    return MTG_OK;
}

/* Sedna's LC dispatches on ownerKind with an exact map lookup and silently
 * drops unknown kinds, so a typo must fail here, not vanish there. */
static int check_owner_kind(const char *k, struct mtg_err *err)
{
    if (!*k)
        return mtg_err_set(err, MTG_EINVAL, "sedna: ownerKind is empty");
    for (const char *p = k; *p; p++)
        if (*p < 'a' || *p > 'z')
            return mtg_err_set(err, MTG_EINVAL,
                               "sedna: ownerKind \"%s\" must be lower-case letters "
                               "(e.g. \"lifelonglearningjob\")", k);
    return MTG_OK;
}

static int need(const char *v, const char *name, struct mtg_err *err)
{
    if (!v || !*v)
        return mtg_err_set(err, MTG_EINVAL, "sedna: cannot report without %s", name);
    return MTG_OK;
}

static cJSON *build_body(const struct mtg_sedna_env *env, const struct mtg_sedna_report *rep,
                         struct mtg_err *err)
{
    cJSON *root = NULL;
    if (!env || !rep) {
        mtg_err_set(err, MTG_EINVAL, "sedna: report needs an env and a report");
        return NULL;
    }
    if (need(env->worker_name, "WORKER_NAME", err) || need(env->namespace, "NAMESPACE", err) ||
        need(env->job_name, "JOB_NAME", err))
        return NULL;
    const char *owner_kind = rep->owner_kind ? rep->owner_kind : MTG_SEDNA_OWNER_LIFELONG;
    if (check_owner_kind(owner_kind, err) != MTG_OK)
        return NULL;
    const char *kind = mtg_sedna_stage_str(rep->kind);
    const char *status = mtg_sedna_status_str(rep->status);
    if (strcmp(kind, "unknown") == 0 || strcmp(status, "unknown") == 0) {
        mtg_err_set(err, MTG_EINVAL, "sedna: report kind %d / status %d out of range",
                    (int)rep->kind, (int)rep->status);
        return NULL;
    }
    /* pkg/globalmanager/controllers/lifelonglearning/upstream.go accepts
     * ready|completed|failed|waiting; "running" would be an error there. */
    if (rep->status == MTG_SEDNA_RUNNING && strcmp(owner_kind, MTG_SEDNA_OWNER_LIFELONG) == 0) {
        mtg_err_set(err, MTG_EINVAL,
                    "sedna: status \"running\" is rejected by the LifelongLearningJob controller");
        return NULL;
    }
    if (rep->n_results > 0 && !rep->results) {
        mtg_err_set(err, MTG_EINVAL, "sedna: report has %zu results but no array", rep->n_results);
        return NULL;
    }
    if (rep->n_owner_info > 0 && !rep->owner_info) {
        mtg_err_set(err, MTG_EINVAL, "sedna: report has %zu ownerInfo items but no array",
                    rep->n_owner_info);
        return NULL;
    }

    root = cJSON_CreateObject();
    if (!root)
        goto oom;
    if (!cJSON_AddStringToObject(root, "name", env->worker_name) ||
        !cJSON_AddStringToObject(root, "namespace", env->namespace) ||
        !cJSON_AddStringToObject(root, "ownerName", env->job_name) ||
        !cJSON_AddStringToObject(root, "ownerKind", owner_kind) ||
        !cJSON_AddStringToObject(root, "kind", kind) ||
        !cJSON_AddStringToObject(root, "status", status))
        goto oom;

    cJSON *results = cJSON_AddArrayToObject(root, "results");
    if (!results)
        goto oom;
    for (size_t i = 0; i < rep->n_results; i++) {
        const struct mtg_sedna_result *r = &rep->results[i];
        char what[48];
        snprintf(what, sizeof what, "result %zu", i);
        if (!r->format || !*r->format || !r->url || !*r->url) {
            mtg_err_set(err, MTG_EINVAL, "sedna: %s needs a format and a url", what);
            goto fail;
        }
        cJSON *ro = cJSON_CreateObject();
        if (!ro)
            goto oom;
        cJSON_AddItemToArray(results, ro);
        /* The LC and GM see host paths: drop the container mount prefix
         * exactly where Sedna's model_info(relpath=data_path_prefix) does. */
        const char *url = mtg_sedna_strip_prefix(r->url, env->data_path_prefix);
        if (!cJSON_AddStringToObject(ro, "format", r->format) ||
            !cJSON_AddStringToObject(ro, "url", url))
            goto oom;
        if (mtg_sedna_add_metrics(ro, "metrics", r->metrics, r->n_metrics,
                                  rep->metrics_as_lists, what, err) != MTG_OK)
            goto fail;
    }

    cJSON *info = cJSON_AddObjectToObject(root, "ownerInfo");
    if (!info)
        goto oom;
    for (size_t i = 0; i < rep->n_owner_info; i++) {
        const struct mtg_sedna_info *it = &rep->owner_info[i];
        if (!it->key || !*it->key || cJSON_GetObjectItemCaseSensitive(info, it->key) ||
            (rep->reason && strcmp(it->key, "reason") == 0)) {
            mtg_err_set(err, MTG_EINVAL, "sedna: ownerInfo item %zu has an empty or repeated key",
                        i);
            goto fail;
        }
        if (!it->str && !isfinite(it->num)) {
            mtg_err_set(err, MTG_ENOTFINITE, "sedna: ownerInfo \"%s\" is not finite", it->key);
            goto fail;
        }
        cJSON *v = it->str ? cJSON_AddStringToObject(info, it->key, it->str)
                           : cJSON_AddNumberToObject(info, it->key, it->num);
        if (!v)
            goto oom;
    }
    /* MessageContent has no message field (unknown keys are dropped by Go's
     * decoder), so the reason rides in ownerInfo, which the LC forwards
     * upstream as output.ownerInfo. */
    if (rep->reason && !cJSON_AddStringToObject(info, "reason", rep->reason))
        goto oom;
    return root;

oom:
    mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building the report");
fail:
    cJSON_Delete(root);
    return NULL;
}

int mtg_sedna_report_body(const struct mtg_sedna_env *env, const struct mtg_sedna_report *rep,
                          char **out, struct mtg_err *err)
{
    struct mtg_err local = {0};
    if (!err)
        err = &local; /* build_body reports its code through err */
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "sedna: report body output is NULL");
    *out = NULL;
    cJSON *root = build_body(env, rep, err);
    if (!root)
        return err->code;
    *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!*out)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory printing the report");
    return MTG_OK;
}

/* ---- HTTP ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct reply {
    char buf[REPLY_KEEP];
    size_t len;
};

static size_t on_reply(char *data, size_t size, size_t nmemb, void *ud)
{
    struct reply *r = ud;
    size_t n = size * nmemb;
    size_t room = sizeof r->buf - 1 - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->buf + r->len, data, take);
    r->len += take;
    r->buf[r->len] = '\0';
    return n;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds in short slices; returns 1 when *stop was raised. */
static int sleep_ms(int64_t ms, volatile int *stop)
{
    while (ms > 0) {
        if (stop && *stop)
            return 1;
        int64_t slice = ms < STOP_POLL_MS ? ms : STOP_POLL_MS;
        struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return stop && *stop;
}

/* Outcome of one POST: 0 = 200, 1 = retryable, -1 = final. */
static int post_once(CURL *c, const char *url, const char *body, long timeout_ms,
                     struct curl_slist *hdrs, long *http, char *why, size_t why_cap)
{
    struct reply rep = {{0}, 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    /* go-restful answers 415 without a JSON Content-Type (the route
     * Consumes MIME_XML, MIME_JSON). */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* The LC is node-local (workers run with hostNetwork); a cluster-wide
     * http_proxy must not swallow the report. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    *http = 0;
    if (rc != CURLE_OK) {
        snprintf(why, why_cap, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return 1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (*http == 200)
        return 0;
    snprintf(why, why_cap, "HTTP %ld: %.200s", *http, rep.buf);
    if (*http >= 500 || *http == 408 || *http == 429)
        return 1;
    return -1;
}

int mtg_sedna_report(const struct mtg_sedna_env *env, const struct mtg_sedna_report *rep,
                     const struct mtg_sedna_retry *retry, volatile int *stop,
                     struct mtg_err *err)
{
    int rc = MTG_OK;
    char *body = NULL, *url = NULL, *esc = NULL;
    CURL *c = NULL;
    struct curl_slist *hdrs = NULL;
    struct mtg_err local = {0};
    if (!err)
        err = &local;

    struct mtg_sedna_retry p = retry ? *retry : (struct mtg_sedna_retry){0};
    if (p.max_attempts < 0 || p.initial_ms < 0 || p.max_backoff_ms < 0 || p.deadline_ms < 0 ||
        p.timeout_ms < 0)
        return mtg_err_set(err, MTG_EINVAL, "sedna: negative retry setting");
    if (p.max_attempts == 0)
        p.max_attempts = DEF_MAX_ATTEMPTS;
    if (p.initial_ms == 0)
        p.initial_ms = DEF_INITIAL_MS;
    if (p.max_backoff_ms == 0)
        p.max_backoff_ms = DEF_MAX_BACKOFF_MS;
    if (p.timeout_ms == 0)
        p.timeout_ms = DEF_TIMEOUT_MS;

    rc = mtg_sedna_report_body(env, rep, &body, err);
    if (rc != MTG_OK)
        return rc;
    rc = need(env->lc_server, "LC_SERVER", err);
    if (rc != MTG_OK)
        goto done;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        rc = mtg_err_set(err, MTG_ENET, "sedna: curl_global_init failed: %s",
                         curl_easy_strerror(curl_init_rc));
        goto done;
    }
    c = curl_easy_init();
    if (!c) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: curl_easy_init failed");
        goto done;
    }
    esc = curl_easy_escape(c, env->worker_name, 0);
    if (!esc) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory escaping WORKER_NAME");
        goto done;
    }
    size_t ulen = strlen(env->lc_server) + strlen(esc) + sizeof "/sedna/workers//info";
    url = malloc(ulen);
    if (!url) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building the LC URL");
        goto done;
    }
    snprintf(url, ulen, "%s/sedna/workers/%s/info", env->lc_server, esc);
    struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h1 ? curl_slist_append(h1, "Accept: application/json") : NULL;
    if (!h2) {
        curl_slist_free_all(h1);
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building headers");
        goto done;
    }
    hdrs = h2;

    int64_t start = now_ms();
    int64_t backoff = p.initial_ms;
    char why[300] = "";
    int attempt;
    for (attempt = 1;; attempt++) {
        long http = 0;
        int out = post_once(c, url, body, p.timeout_ms, hdrs, &http, why, sizeof why);
        if (out == 0) {
            mtg_log(MTG_LOG_INFO, "sedna", "reported kind=%s status=%s to %s (attempt %d)",
                    mtg_sedna_stage_str(rep->kind), mtg_sedna_status_str(rep->status), url,
                    attempt);
            rc = MTG_OK;
            goto done;
        }
        if (out < 0) {
            rc = mtg_err_set(err, MTG_EINVAL, "sedna: LC %s rejected the report: %s", url, why);
            goto done;
        }
        int64_t elapsed = now_ms() - start;
        int out_of_time = p.deadline_ms > 0 && elapsed >= p.deadline_ms;
        if (attempt >= p.max_attempts || out_of_time) {
            rc = mtg_err_set(err, MTG_ENET, "sedna: giving up on LC %s after %d attempts (%lld ms): %s",
                             url, attempt, (long long)elapsed, why);
            goto done;
        }
        /* Jitter in [3/4, 1] of the backoff keeps many workers that lost
         * the same LC from retrying in lock-step. */
        int64_t delay = backoff - (backoff / 4) * (int64_t)(((uint64_t)now_ms() * 2654435761u) % 1000) / 1000;
        if (p.deadline_ms > 0 && elapsed + delay > p.deadline_ms)
            delay = p.deadline_ms - elapsed;
        if (!(stop && *stop))
            mtg_log(MTG_LOG_WARN, "sedna",
                    "report attempt %d/%d to %s failed: %s; retrying in %lld ms", attempt,
                    p.max_attempts, url, why, (long long)delay);
        if (sleep_ms(delay, stop)) {
            rc = mtg_err_set(err, MTG_ESTOPPED, "sedna: stopped after %d report attempts to %s: %s",
                             attempt, url, why);
            goto done;
        }
        backoff = backoff * 2 > p.max_backoff_ms ? p.max_backoff_ms : backoff * 2;
    }

done:
    curl_slist_free_all(hdrs);
    curl_free(esc);
    if (c)
        curl_easy_cleanup(c);
    free(url);
    cJSON_free(body);
    return rc;
}
