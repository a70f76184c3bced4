/*
 * fake_apiserver.c - fake kube-apiserver for the MultiTaskGANJob routes (see
 * fake_apiserver.h). Self-contained: libmicrohttpd, cJSON and libc only,
 * because every test binary links it.
 *
 * Stricter than the real one where that catches our mistakes: the real API
 * server silently prunes unknown status fields and accepts a PATCH to the
 * main resource (it would drop our status there); this one answers 400/405
 * and records why.
 */
#include "fake_apiserver.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_API_MAX_BODY (1024 * 1024)
#define FAKE_API_MAX_JOBS 8
#define JOBS_PREFIX "/apis/mtgan.sedna.io/v1alpha1/namespaces/"

struct job {
    char ns[64];
    char name[256];
    cJSON *obj;
};

struct fake_apiserver {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    char *token;
    struct job jobs[FAKE_API_MAX_JOBS];
    struct fake_apiserver_req *recs;
    size_t n, cap, n_invalid;
    int fail_left, fail_status;
};

struct upload {
    char *buf;
    size_t len;
    int too_big;
};

/* ---- status body check: the CRD's status schema ---- */

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* RFC 3339 as the API server's date-time format check wants it: YYYY-MM-DDTHH:MM:SS[.f](Z|±hh:mm). */
static int is_time(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return 0;
    const char *s = v->valuestring;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    s += sizeof shape - 1;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++) {
        }
    if (*s == 'Z')
        return s[1] == '\0';
    return (*s == '+' || *s == '-') && strlen(s) == 6 && s[3] == ':';
}

static int is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && (double)(long long)v->valuedouble == v->valuedouble;
}

static int check_keys(const cJSON *o, const char *const *allowed, const char *what, char *why,
                      size_t cap)
{
    for (const cJSON *it = o->child; it; it = it->next)
        if (!in_list(it->string, allowed)) {
            snprintf(why, cap, "%s: unknown field \"%s\"", what, it->string);
            return 0;
        }
    return 1;
}

static int check_status(const cJSON *root, char *why, size_t cap)
{
    static const char *const top[] = {"status", NULL};
    static const char *const st_keys[] = {"phase", "round", "observedGeneration", "startTime",
                                          "completionTime", "conditions", "tasks", NULL};
    static const char *const phases[] = {"Waiting", "Starting", "Running", "Completed", "Failed",
                                         NULL};
    static const char *const types[] = {"Waiting", "Starting", "Running", "Completed", "Failed",
                                        "QualityReached", "Ready", "Succeeded", NULL};
    static const char *const cstat[] = {"True", "False", "Unknown", NULL};
    static const char *const c_keys[] = {"type", "status", "lastHeartbeatTime", "lastTransitionTime",
                                         "reason", "message", "observedGeneration", NULL};
    static const char *const t_keys[] = {"id", "fidelity", "fd", "recall", "round", "steps", NULL};
    if (!cJSON_IsObject(root)) {
        snprintf(why, cap, "body is not a JSON object");
        return 0;
    }
    if (!check_keys(root, top, "patch", why, cap))
        return 0;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!cJSON_IsObject(st)) {
        snprintf(why, cap, "patch: \"status\" must be an object");
        return 0;
    }
    if (!check_keys(st, st_keys, "status", why, cap))
        return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "phase");
    if (v && (!cJSON_IsString(v) || !in_list(v->valuestring, phases))) {
        snprintf(why, cap, "status.phase: not one of the CRD's phases");
        return 0;
    }
    v = cJSON_GetObjectItemCaseSensitive(st, "round");
    if (v && (!is_int(v) || v->valuedouble < 0)) {
        snprintf(why, cap, "status.round: must be an integer >= 0");
        return 0;
    }
    v = cJSON_GetObjectItemCaseSensitive(st, "observedGeneration");
    if (v && !is_int(v)) {
        snprintf(why, cap, "status.observedGeneration: must be an integer");
        return 0;
    }
    const char *times[] = {"startTime", "completionTime"};
    for (int i = 0; i < 2; i++) {
        v = cJSON_GetObjectItemCaseSensitive(st, times[i]);
        if (v && !cJSON_IsNull(v) && !is_time(v)) {
            snprintf(why, cap, "status.%s: not an RFC 3339 date-time", times[i]);
            return 0;
        }
    }
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
    if (conds && !cJSON_IsArray(conds)) {
        snprintf(why, cap, "status.conditions: must be an array");
        return 0;
    }
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        char what[48];
        snprintf(what, sizeof what, "status.conditions[%d]", i);
        if (!cJSON_IsObject(c) || !check_keys(c, c_keys, what, why, cap)) {
            if (!cJSON_IsObject(c))
                snprintf(why, cap, "%s: must be an object", what);
            return 0;
        }
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(c, "status");
        if (!cJSON_IsString(type) || !in_list(type->valuestring, types) ||
            !cJSON_IsString(status) || !in_list(status->valuestring, cstat)) {
            snprintf(why, cap, "%s: type and status are required and must be valid", what);
            return 0;
        }
        /* x-kubernetes-list-type: map keyed by type. */
        for (const cJSON *p = conds->child; p != c; p = p->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(p, "type")->valuestring,
                       type->valuestring) == 0) {
                snprintf(why, cap, "%s: duplicate type \"%s\"", what, type->valuestring);
                return 0;
            }
        v = cJSON_GetObjectItemCaseSensitive(c, "observedGeneration");
        if (v && (!is_int(v) || v->valuedouble < 0)) {
            snprintf(why, cap, "%s.observedGeneration: must be an integer >= 0", what);
            return 0;
        }
        const char *ct[] = {"lastHeartbeatTime", "lastTransitionTime"};
        for (int k = 0; k < 2; k++) {
            v = cJSON_GetObjectItemCaseSensitive(c, ct[k]);
            if (v && !is_time(v)) {
                snprintf(why, cap, "%s.%s: not an RFC 3339 date-time", what, ct[k]);
                return 0;
            }
        }
        const char *cs[] = {"reason", "message"};
        for (int k = 0; k < 2; k++) {
            v = cJSON_GetObjectItemCaseSensitive(c, cs[k]);
            if (v && !cJSON_IsString(v)) {
                snprintf(why, cap, "%s.%s: must be a string", what, cs[k]);
                return 0;
            }
        }
        i++;
    }
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
    if (tasks && !cJSON_IsArray(tasks)) {
        snprintf(why, cap, "status.tasks: must be an array");
        return 0;
    }
    i = 0;
    cJSON_ArrayForEach(c, tasks)
    {
        char what[48];
        snprintf(what, sizeof what, "status.tasks[%d]", i);
        if (!cJSON_IsObject(c)) {
            snprintf(why, cap, "%s: must be an object", what);
            return 0;
        }
        if (!check_keys(c, t_keys, what, why, cap))
            return 0;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        if (!cJSON_IsString(id) || !id->valuestring[0]) {
            snprintf(why, cap, "%s.id: required", what);
            return 0;
        }
        const char *nums[] = {"fidelity", "fd", "recall"};
        for (int k = 0; k < 3; k++) {
            v = cJSON_GetObjectItemCaseSensitive(c, nums[k]);
            if (v && !cJSON_IsNumber(v)) {
                snprintf(why, cap, "%s.%s: must be a number", what, nums[k]);
                return 0;
            }
        }
        const char *ints[] = {"round", "steps"};
        for (int k = 0; k < 2; k++) {
            v = cJSON_GetObjectItemCaseSensitive(c, ints[k]);
            if (v && !is_int(v)) {
                snprintf(why, cap, "%s.%s: must be an integer", what, ints[k]);
                return 0;
            }
        }
        i++;
    }
    return 1;
}

/* RFC 7386 JSON merge patch of patch into target (an object). */
static void merge_patch(cJSON *target, const cJSON *patch)
{
    for (const cJSON *p = patch->child; p; p = p->next) {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsObject(p) && cJSON_IsObject(cur)) {
            merge_patch(cur, p);
            continue;
        }
        cJSON *copy = cJSON_Duplicate(p, 1);
        if (!copy)
            continue;
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, copy);
        else
            cJSON_AddItemToObject(target, p->string, copy);
    }
}

/* ---- HTTP ---- */

/* Answers with a metav1.Status, as kube-apiserver does for every error. */
static enum MHD_Result reply_status(struct MHD_Connection *conn, int code, const char *reason,
                                    const char *msg)
{
    char text[768];
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddStringToObject(o, "kind", "Status") &&
        cJSON_AddStringToObject(o, "apiVersion", "v1") &&
        cJSON_AddStringToObject(o, "status", code < 300 ? "Success" : "Failure") &&
        cJSON_AddStringToObject(o, "message", msg) && cJSON_AddStringToObject(o, "reason", reason) &&
        cJSON_AddNumberToObject(o, "code", code))
        s = cJSON_PrintUnformatted(o);
    snprintf(text, sizeof text, "%s", s ? s : "{}");
    cJSON_free(s);
    cJSON_Delete(o);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, const cJSON *obj)
{
    char *s = cJSON_PrintUnformatted(obj);
    if (!s)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_COPY);
    cJSON_free(s);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static struct job *find_job(struct fake_apiserver *fa, const char *ns, const char *name)
{
    for (int i = 0; i < FAKE_API_MAX_JOBS; i++)
        if (fa->jobs[i].obj && strcmp(fa->jobs[i].ns, ns) == 0 &&
            strcmp(fa->jobs[i].name, name) == 0)
            return &fa->jobs[i];
    return NULL;
}

static void record(struct fake_apiserver *fa, struct fake_apiserver_req *r)
{
    /* Called with fa->mu held. */
    if (fa->n == fa->cap) {
        size_t ncap = fa->cap ? fa->cap * 2 : 16;
        struct fake_apiserver_req *nr = realloc(fa->recs, ncap * sizeof *nr);
        if (!nr) {
            free(r->body);
            return;
        }
        fa->recs = nr;
        fa->cap = ncap;
    }
    fa->recs[fa->n++] = *r;
    if (!r->valid)
        fa->n_invalid++;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v ? v : "";
}

/* Splits "<ns>/multitaskganjobs/<name>[/status]" after JOBS_PREFIX; 0 on success. */
static int parse_path(const char *url, char *ns, size_t ns_cap, char *name, size_t name_cap,
                      int *status_sub)
{
    size_t lp = strlen(JOBS_PREFIX);
    if (strncmp(url, JOBS_PREFIX, lp) != 0)
        return -1;
    const char *p = url + lp;
    const char *slash = strchr(p, '/');
    if (!slash || (size_t)(slash - p) >= ns_cap || slash == p)
        return -1;
    memcpy(ns, p, (size_t)(slash - p));
    ns[slash - p] = '\0';
    p = slash + 1;
    if (strncmp(p, "multitaskganjobs/", 17) != 0)
        return -1;
    p += 17;
    slash = strchr(p, '/');
    size_t nl = slash ? (size_t)(slash - p) : strlen(p);
    if (nl == 0 || nl >= name_cap)
        return -1;
    memcpy(name, p, nl);
    name[nl] = '\0';
    *status_sub = 0;
    if (slash) {
        if (strcmp(slash, "/status") != 0)
            return -1;
        *status_sub = 1;
    }
    return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)version;
    struct fake_apiserver *fa = cls;
    struct upload *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*data_size > 0) {
        if (!up->too_big && up->len + *data_size <= FAKE_API_MAX_BODY) {
            char *nb = realloc(up->buf, up->len + *data_size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + up->len, data, *data_size);
            up->buf = nb;
            up->len += *data_size;
            up->buf[up->len] = '\0';
        } else {
            up->too_big = 1;
        }
        *data_size = 0;
        return MHD_YES;
    }

    struct fake_apiserver_req r;
    memset(&r, 0, sizeof r);
    snprintf(r.method, sizeof r.method, "%s", method);
    snprintf(r.path, sizeof r.path, "%s", url);
    snprintf(r.auth, sizeof r.auth, "%s", header(conn, "Authorization"));
    snprintf(r.content_type, sizeof r.content_type, "%s", header(conn, "Content-Type"));
    r.body = strdup(up->buf ? up->buf : "");
    if (!r.body)
        return MHD_NO;
    r.valid = 1;

    int code = MHD_HTTP_OK;
    const char *reason = "", *msg = "";
    char msgbuf[512];
    cJSON *answer = NULL; /* a copy of the object to return, made under the lock */
    char ns[64], name[256], expect_auth[600];
    int status_sub = 0;
    snprintf(expect_auth, sizeof expect_auth, "Bearer %s", fa->token);

    pthread_mutex_lock(&fa->mu);
    if (fa->fail_left > 0) {
        fa->fail_left--;
        code = fa->fail_status;
        reason = "InternalError";
        msg = "injected failure";
    } else if (strcmp(r.auth, expect_auth) != 0) {
        r.valid = 0;
        snprintf(r.why, sizeof r.why, "Authorization is \"%.200s\", not \"Bearer <token>\"", r.auth);
        code = MHD_HTTP_UNAUTHORIZED;
        reason = "Unauthorized";
        msg = "Unauthorized";
    } else if (parse_path(url, ns, sizeof ns, name, sizeof name, &status_sub) != 0) {
        r.valid = 0;
        snprintf(r.why, sizeof r.why, "no such route %.200s", url);
        code = MHD_HTTP_NOT_FOUND;
        reason = "NotFound";
        msg = "the server could not find the requested resource";
    } else if (strcmp(method, "GET") == 0) {
        struct job *j = find_job(fa, ns, name);
        if (!j) {
            code = MHD_HTTP_NOT_FOUND;
            reason = "NotFound";
            snprintf(msgbuf, sizeof msgbuf, "multitaskganjobs.mtgan.sedna.io \"%s\" not found", name);
            msg = msgbuf;
        } else {
            answer = cJSON_Duplicate(j->obj, 1);
            if (!answer)
                code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
    } else if (strcmp(method, "PATCH") == 0) {
        struct job *j = find_job(fa, ns, name);
        cJSON *patch = NULL;
        if (!status_sub) {
            r.valid = 0;
            snprintf(r.why, sizeof r.why, "PATCH of %.200s: status must go to the /status "
                     "subresource", url);
            code = MHD_HTTP_METHOD_NOT_ALLOWED;
            reason = "MethodNotAllowed";
            msg = "status is a subresource: PATCH .../status";
        } else if (strcmp(r.content_type, "application/merge-patch+json") != 0) {
            r.valid = 0;
            snprintf(r.why, sizeof r.why, "Content-Type is \"%.100s\", not "
                     "application/merge-patch+json", r.content_type);
            code = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
            reason = "UnsupportedMediaType";
            msg = r.why;
        } else if (up->too_big) {
            r.valid = 0;
            snprintf(r.why, sizeof r.why, "body over %d bytes", FAKE_API_MAX_BODY);
            code = 413;
            reason = "RequestEntityTooLarge";
            msg = r.why;
        } else if (!(patch = cJSON_Parse(r.body)) || !check_status(patch, r.why, sizeof r.why)) {
            r.valid = 0;
            if (!patch)
                snprintf(r.why, sizeof r.why, "body is not JSON");
            code = MHD_HTTP_BAD_REQUEST;
            reason = "BadRequest";
            msg = r.why;
        } else if (!j) {
            code = MHD_HTTP_NOT_FOUND;
            reason = "NotFound";
            snprintf(msgbuf, sizeof msgbuf, "multitaskganjobs.mtgan.sedna.io \"%s\" not found", name);
            msg = msgbuf;
        } else {
            /* The status subresource ignores everything but status. */
            cJSON *st = cJSON_GetObjectItemCaseSensitive(j->obj, "status");
            if (!st)
                st = cJSON_AddObjectToObject(j->obj, "status");
            if (st)
                merge_patch(st, cJSON_GetObjectItemCaseSensitive(patch, "status"));
            answer = cJSON_Duplicate(j->obj, 1);
        }
        cJSON_Delete(patch);
    } else {
        r.valid = 0;
        snprintf(r.why, sizeof r.why, "method %.15s not expected", method);
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        reason = "MethodNotAllowed";
        msg = "method not allowed";
    }
    r.http_status = code;
    char msgcopy[512];
    snprintf(msgcopy, sizeof msgcopy, "%s", msg); /* msg may point into r, which record takes */
    record(fa, &r);
    pthread_mutex_unlock(&fa->mu);

    enum MHD_Result ret = code == MHD_HTTP_OK && answer ? reply_json(conn, answer)
                                                        : reply_status(conn, code, reason, msgcopy);
    cJSON_Delete(answer);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct upload *up = *con_cls;
    if (up) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

struct fake_apiserver *fake_apiserver_start(const char *token, unsigned short *port)
{
    struct fake_apiserver *fa = calloc(1, sizeof *fa);
    if (!fa)
        return NULL;
    pthread_mutex_init(&fa->mu, NULL);
    fa->token = strdup(token ? token : "");
    if (!fa->token)
        goto fail;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fa->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                  handle, fa, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!fa->daemon)
        goto fail;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(fa->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || di->port == 0)
        goto fail;
    if (port)
        *port = di->port;
    return fa;
fail:
    fake_apiserver_stop(fa);
    return NULL;
}

void fake_apiserver_stop(struct fake_apiserver *fa)
{
    if (!fa)
        return;
    if (fa->daemon)
        MHD_stop_daemon(fa->daemon);
    for (int i = 0; i < FAKE_API_MAX_JOBS; i++)
        cJSON_Delete(fa->jobs[i].obj);
    for (size_t i = 0; i < fa->n; i++)
        free(fa->recs[i].body);
    free(fa->recs);
    free(fa->token);
    pthread_mutex_destroy(&fa->mu);
    free(fa);
}

int fake_apiserver_put_job(struct fake_apiserver *fa, const char *ns, const char *name,
                           const char *json)
{
    cJSON *obj = cJSON_Parse(json);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    int rc = -1;
    pthread_mutex_lock(&fa->mu);
    struct job *j = find_job(fa, ns, name);
    for (int i = 0; !j && i < FAKE_API_MAX_JOBS; i++)
        if (!fa->jobs[i].obj)
            j = &fa->jobs[i];
    if (j) {
        cJSON_Delete(j->obj);
        j->obj = obj;
        obj = NULL;
        snprintf(j->ns, sizeof j->ns, "%s", ns);
        snprintf(j->name, sizeof j->name, "%s", name);
        rc = 0;
    }
    pthread_mutex_unlock(&fa->mu);
    cJSON_Delete(obj);
    return rc;
}

char *fake_apiserver_job_json(struct fake_apiserver *fa, const char *ns, const char *name)
{
    char *s = NULL;
    pthread_mutex_lock(&fa->mu);
    struct job *j = find_job(fa, ns, name);
    if (j) {
        char *t = cJSON_PrintUnformatted(j->obj);
        s = t ? strdup(t) : NULL;
        cJSON_free(t);
    }
    pthread_mutex_unlock(&fa->mu);
    return s;
}

void fake_apiserver_fail_next(struct fake_apiserver *fa, int n, int http_status)
{
    pthread_mutex_lock(&fa->mu);
    fa->fail_left = n;
    fa->fail_status = http_status;
    pthread_mutex_unlock(&fa->mu);
}

size_t fake_apiserver_requests(struct fake_apiserver *fa)
{
    pthread_mutex_lock(&fa->mu);
    size_t n = fa->n;
    pthread_mutex_unlock(&fa->mu);
    return n;
}

size_t fake_apiserver_invalid(struct fake_apiserver *fa)
{
    pthread_mutex_lock(&fa->mu);
    size_t n = fa->n_invalid;
    pthread_mutex_unlock(&fa->mu);
    return n;
}

int fake_apiserver_get(struct fake_apiserver *fa, size_t i, struct fake_apiserver_req *out)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&fa->mu);
    if (i < fa->n) {
        *out = fa->recs[i];
        out->body = strdup(fa->recs[i].body);
        rc = out->body ? 0 : -1;
    }
    pthread_mutex_unlock(&fa->mu);
    return rc;
}

void fake_apiserver_req_free(struct fake_apiserver_req *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}
