/*
 * fake_lc.c - fake Sedna LocalController (see fake_lc.h). Self-contained:
 * libmicrohttpd, cJSON and libc only, because every test binary links it.
 *
 * Stricter than the real LC on purpose: the real one answers 200 to any
 * decodable body and lets the GM drop what it does not understand, which
 * would hide our mistakes; this one answers 400 to every shape violation.
 */
#include "fake_lc.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_LC_MAX_BODY (1024 * 1024)
#define PATH_PREFIX "/sedna/workers/"
#define PATH_SUFFIX "/info"

struct fake_lc {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    struct fake_lc_report *recs;
    size_t n, cap;
    size_t n_invalid;
    int fail_left;
    int fail_status;
};

struct upload {
    char *buf;
    size_t len;
    int too_big;
};

/* ---- shape check: pkg/localcontroller/worker/worker.go MessageContent ---- */

static const char *const known_keys[] = {"name", "namespace", "ownerName", "ownerKind",
                                         "ownerInfo", "kind", "status", "results"};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static const cJSON *str_field(const cJSON *o, const char *k, int nonempty, char *why, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(why, cap, "\"%s\" must be a string", k);
        return NULL;
    }
    if (nonempty && !*v->valuestring) {
        snprintf(why, cap, "\"%s\" must not be empty", k);
        return NULL;
    }
    return v;
}

static int check_shape(const char *body, const char *worker, char *why, size_t cap)
{
    static const char *const owner_kinds[] = {"lifelonglearningjob", "federatedlearningjob",
                                              "incrementallearningjob"};
    static const char *const kinds[] = {"train", "eval", "deploy"};
    static const char *const statuses[] = {"completed", "failed", "running"};
    int ok = 0;
    cJSON *root = cJSON_Parse(body);
    if (!cJSON_IsObject(root)) {
        snprintf(why, cap, "body is not a JSON object");
        goto out;
    }
    for (const cJSON *it = root->child; it; it = it->next)
        if (!in_list(it->string, known_keys, sizeof known_keys / sizeof known_keys[0])) {
            /* Go's decoder would drop it silently: almost always a typo. */
            snprintf(why, cap, "unknown key \"%s\"", it->string);
            goto out;
        }
    const cJSON *name = str_field(root, "name", 1, why, cap);
    if (!name)
        goto out;
    if (strcmp(name->valuestring, worker) != 0) {
        snprintf(why, cap, "worker name(name=%s) in the api is different from that(name=%s) "
                 "in the message body", worker, name->valuestring);
        goto out;
    }
    const cJSON *owner_kind, *kind, *status;
    if (!str_field(root, "namespace", 0, why, cap) || !str_field(root, "ownerName", 1, why, cap) ||
        !(owner_kind = str_field(root, "ownerKind", 1, why, cap)) ||
        !(kind = str_field(root, "kind", 1, why, cap)) ||
        !(status = str_field(root, "status", 1, why, cap)))
        goto out;
    if (!in_list(owner_kind->valuestring, owner_kinds, 3)) {
        snprintf(why, cap, "unknown ownerKind \"%s\"", owner_kind->valuestring);
        goto out;
    }
    if (!in_list(kind->valuestring, kinds, 3)) {
        snprintf(why, cap, "unknown kind \"%s\"", kind->valuestring);
        goto out;
    }
    if (!in_list(status->valuestring, statuses, 3)) {
        snprintf(why, cap, "unknown status \"%s\"", status->valuestring);
        goto out;
    }
    /* pkg/globalmanager/controllers/lifelonglearning/upstream.go rejects it. */
    if (strcmp(status->valuestring, "running") == 0 &&
        strcmp(owner_kind->valuestring, "lifelonglearningjob") == 0) {
        snprintf(why, cap, "status \"running\" is invalid for a lifelonglearningjob");
        goto out;
    }
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(root, "ownerInfo");
    if (info && !cJSON_IsNull(info) && !cJSON_IsObject(info)) {
        snprintf(why, cap, "\"ownerInfo\" must be an object");
        goto out;
    }
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (results && !cJSON_IsNull(results)) {
        if (!cJSON_IsArray(results)) {
            snprintf(why, cap, "\"results\" must be an array");
            goto out;
        }
        int i = 0;
        for (const cJSON *r = results->child; r; r = r->next, i++) {
            if (!cJSON_IsObject(r)) {
                snprintf(why, cap, "results[%d] must be an object", i);
                goto out;
            }
            if (!str_field(r, "format", 1, why, cap) || !str_field(r, "url", 1, why, cap))
                goto out;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "metrics");
            if (m && !cJSON_IsNull(m) && !cJSON_IsObject(m)) {
                snprintf(why, cap, "results[%d].metrics must be an object", i);
                goto out;
            }
        }
    }
    ok = 1;
out:
    cJSON_Delete(root);
    return ok;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *msg)
{
    /* The LC's ResponseMessage{Status, Message}, capitalised as Go encodes it. */
    char text[512];
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddNumberToObject(o, "Status", status) &&
        cJSON_AddStringToObject(o, "Message", msg))
        s = cJSON_PrintUnformatted(o);
    snprintf(text, sizeof text, "%s", s ? s : "{}");
    cJSON_free(s);
    cJSON_Delete(o);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static int record(struct fake_lc *lc, const char *worker, const char *body, int status, int valid,
                  const char *why)
{
    int rc = -1;
    pthread_mutex_lock(&lc->mu);
    if (lc->n == lc->cap) {
        size_t ncap = lc->cap ? lc->cap * 2 : 16;
        struct fake_lc_report *nr = realloc(lc->recs, ncap * sizeof *nr);
        if (!nr)
            goto out;
        lc->recs = nr;
        lc->cap = ncap;
    }
    struct fake_lc_report *r = &lc->recs[lc->n];
    memset(r, 0, sizeof *r);
    r->body = strdup(body);
    if (!r->body)
        goto out;
    snprintf(r->worker, sizeof r->worker, "%s", worker);
    snprintf(r->why, sizeof r->why, "%s", why);
    r->http_status = status;
    r->valid = valid;
    lc->n++;
    if (!valid)
        lc->n_invalid++;
    rc = 0;
out:
    pthread_mutex_unlock(&lc->mu);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)version;
    struct fake_lc *lc = cls;
    struct upload *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*data_size > 0) {
        if (!up->too_big && up->len + *data_size <= FAKE_LC_MAX_BODY) {
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

    size_t lp = strlen(PATH_PREFIX), ls = strlen(PATH_SUFFIX), lu = strlen(url);
    if (lu <= lp + ls || strncmp(url, PATH_PREFIX, lp) != 0 ||
        strcmp(url + lu - ls, PATH_SUFFIX) != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "no such route");
    char worker[128];
    size_t wl = lu - lp - ls;
    if (wl >= sizeof worker || memchr(url + lp, '/', wl))
        return reply(conn, MHD_HTTP_NOT_FOUND, "bad worker name");
    memcpy(worker, url + lp, wl);
    worker[wl] = '\0';
    if (strcmp(method, "POST") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only");

    const char *body = up->buf ? up->buf : "";
    char why[256] = "";
    int valid = 1, status = MHD_HTTP_OK;
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (up->too_big) {
        valid = 0;
        status = 413; /* Payload Too Large */
        snprintf(why, sizeof why, "body over %d bytes", FAKE_LC_MAX_BODY);
    } else if (!ctype || strncmp(ctype, "application/json", 16) != 0) {
        /* go-restful: the route Consumes(MIME_XML, MIME_JSON). */
        valid = 0;
        status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        snprintf(why, sizeof why, "Content-Type is \"%s\", not application/json",
                 ctype ? ctype : "");
    } else if (!check_shape(body, worker, why, sizeof why)) {
        valid = 0;
        status = MHD_HTTP_BAD_REQUEST;
    }

    pthread_mutex_lock(&lc->mu);
    if (lc->fail_left > 0) {
        lc->fail_left--;
        status = lc->fail_status;
    }
    pthread_mutex_unlock(&lc->mu);

    if (record(lc, worker, body, status, valid, why) != 0)
        return MHD_NO;
    return reply(conn, status, status == MHD_HTTP_OK ? "OK" : (valid ? "injected failure" : why));
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

struct fake_lc *fake_lc_start(unsigned short *port)
{
    struct fake_lc *lc = calloc(1, sizeof *lc);
    if (!lc)
        return NULL;
    pthread_mutex_init(&lc->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lc->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                  handle, lc, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!lc->daemon)
        goto fail;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(lc->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || di->port == 0)
        goto fail;
    if (port)
        *port = di->port;
    return lc;
fail:
    fake_lc_stop(lc);
    return NULL;
}

void fake_lc_stop(struct fake_lc *lc)
{
    if (!lc)
        return;
    if (lc->daemon)
        MHD_stop_daemon(lc->daemon);
    for (size_t i = 0; i < lc->n; i++)
        free(lc->recs[i].body);
    free(lc->recs);
    pthread_mutex_destroy(&lc->mu);
    free(lc);
}

void fake_lc_fail_next(struct fake_lc *lc, int n, int http_status)
{
    pthread_mutex_lock(&lc->mu);
    lc->fail_left = n;
    lc->fail_status = http_status;
    pthread_mutex_unlock(&lc->mu);
}

size_t fake_lc_reports(struct fake_lc *lc)
{
    pthread_mutex_lock(&lc->mu);
    size_t n = lc->n;
    pthread_mutex_unlock(&lc->mu);
    return n;
}

size_t fake_lc_invalid(struct fake_lc *lc)
{
    pthread_mutex_lock(&lc->mu);
    size_t n = lc->n_invalid;
    pthread_mutex_unlock(&lc->mu);
    return n;
}

int fake_lc_get(struct fake_lc *lc, size_t i, struct fake_lc_report *out)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&lc->mu);
    if (i < lc->n) {
        *out = lc->recs[i];
        out->body = strdup(lc->recs[i].body);
        rc = out->body ? 0 : -1;
    }
    pthread_mutex_unlock(&lc->mu);
    return rc;
}

void fake_lc_report_free(struct fake_lc_report *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}
