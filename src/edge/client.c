/*
 * client.c - libcurl wrapper behind client.h. Each attempt resets and
 * re-configures the one easy handle (curl_easy_reset keeps the connection
 * cache, so keep-alive survives) to rule out options leaking from one
 * request into the next.
 */
#include "edge/client.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/rng.h"

/* Bodies above this ask for "100 Continue" so a server refusing by headers saves the upload. */
#define EXPECT_MIN (256u * 1024u)
/* Granularity at which sleeps notice the stop flag. */
#define SLEEP_SLICE_NS 10000000L

struct mtg_client {
    CURL *curl;
    char *base_url;
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *ca_file;
    struct mtg_client_opts o; /* defaults applied; string members not used */
    const atomic_int *stop;
    struct mtg_rng rng;
    char errbuf[CURL_ERROR_SIZE];
    atomic_uint_least64_t requests, retries, bytes_sent, bytes_received, link_ns;
};

/* Per-attempt receive state handed to the curl callbacks. */
struct recv_ctx {
    struct mtg_client *c;
    struct mtg_client_resp *out;
    size_t cap;
    int too_big;
};

static int stopped(const struct mtg_client *c)
{
    return c->stop && atomic_load(c->stop) != 0;
}

/* Sleeps ns nanoseconds in slices; returns MTG_ESTOPPED if the stop flag rose. */
static int sleep_ns(const struct mtg_client *c, uint64_t ns)
{
    while (ns > 0) {
        if (stopped(c))
            return MTG_ESTOPPED;
        long step = ns > (uint64_t)SLEEP_SLICE_NS ? SLEEP_SLICE_NS : (long)ns;
        struct timespec ts = {0, step};
        nanosleep(&ts, NULL);
        ns -= (uint64_t)step;
    }
    return stopped(c) ? MTG_ESTOPPED : MTG_OK;
}

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

int mtg_client_new(const struct mtg_client_opts *opts, struct mtg_client **out,
                   struct mtg_err *err)
{
    int rc;
    *out = NULL;
    if (!opts->base_url || strncmp(opts->base_url, "http", 4) != 0)
        return mtg_err_set(err, MTG_EINVAL, "client: base_url \"%s\" must start with http:// or "
                           "https://", opts->base_url ? opts->base_url : "(null)");
    if (opts->max_attempts < 0 || opts->link_mbps < 0 || opts->link_latency_ms < 0 ||
        opts->retry_base_ms < 0 || opts->retry_max_ms < 0)
        return mtg_err_set(err, MTG_EINVAL, "client: negative retry or link setting");
    /* Reference-counted and thread-safe since curl 7.84. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mtg_err_set(err, MTG_EIO, "client: curl_global_init failed");
    struct mtg_client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return mtg_err_set(err, MTG_ENOMEM, "client: out of memory");
    }
    c->o = *opts;
    c->o.base_url = c->o.token = c->o.ca_file = NULL;
    c->stop = opts->stop;
    if (!c->o.connect_timeout_ms) c->o.connect_timeout_ms = 5000;
    if (!c->o.timeout_ms) c->o.timeout_ms = 120000;
    if (!c->o.max_response) c->o.max_response = 256u << 20;
    if (!c->o.max_attempts) c->o.max_attempts = 5;
    if (!c->o.retry_base_ms) c->o.retry_base_ms = 200;
    if (!c->o.retry_max_ms) c->o.retry_max_ms = 10000;
    if (c->o.retry_max_ms < c->o.retry_base_ms) c->o.retry_max_ms = c->o.retry_base_ms;
    uint64_t seed = opts->seed;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)c;
    }
    mtg_rng_seed(&c->rng, seed);

    c->base_url = dup_str(opts->base_url);
    c->ca_file = dup_str(opts->ca_file);
    if (!c->base_url || (opts->ca_file && !c->ca_file)) {
        rc = mtg_err_set(err, MTG_ENOMEM, "client: out of memory");
        goto fail;
    }
    /* "http://h:1/" + "/v1/x" must not become "//v1/x". */
    size_t bl = strlen(c->base_url);
    while (bl > 0 && c->base_url[bl - 1] == '/')
        c->base_url[--bl] = '\0';
    if (opts->token) {
        if (strpbrk(opts->token, "\r\n")) {
            rc = mtg_err_set(err, MTG_EINVAL, "client: token contains a line break");
            goto fail;
        }
        size_t n = strlen(opts->token) + sizeof "Authorization: Bearer ";
        c->auth_header = malloc(n);
        if (!c->auth_header) {
            rc = mtg_err_set(err, MTG_ENOMEM, "client: out of memory");
            goto fail;
        }
        snprintf(c->auth_header, n, "Authorization: Bearer %s", opts->token);
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        rc = mtg_err_set(err, MTG_ENOMEM, "client: curl_easy_init failed");
        goto fail;
    }
    *out = c;
    return MTG_OK;
fail:
    mtg_client_free(c);
    return rc;
}

void mtg_client_set_stop(struct mtg_client *c, const atomic_int *stop) { c->stop = stop; }

void mtg_client_free(struct mtg_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c->ca_file);
    if (c->auth_header) {
        volatile char *p = c->auth_header;
        while (*p)
            *p++ = 0;
    }
    free(c->auth_header);
    free(c);
    curl_global_cleanup();
}

const char *mtg_client_resp_header(const struct mtg_client_resp *resp, const char *name)
{
    for (int i = 0; i < resp->n_xhdr; i++)
        if (strcasecmp(resp->xhdr[i].name, name) == 0)
            return resp->xhdr[i].value;
    return NULL;
}

cJSON *mtg_client_get_json(struct mtg_client *c, const char *path, long *status, struct mtg_err *err)
{
    struct mtg_client_resp r;
    int rc = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &r, err);
    if (status)
        *status = r.status;
    cJSON *o = rc == MTG_OK ? cJSON_ParseWithLength((const char *)r.body, r.len) : NULL;
    mtg_client_resp_deinit(&r);
    return o;
}

void mtg_client_resp_deinit(struct mtg_client_resp *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

void mtg_client_stats(const struct mtg_client *c, struct mtg_client_stats *out)
{
    out->requests = atomic_load(&c->requests);
    out->retries = atomic_load(&c->retries);
    out->bytes_sent = atomic_load(&c->bytes_sent);
    out->bytes_received = atomic_load(&c->bytes_received);
    out->link_ns = atomic_load(&c->link_ns);
}

/* ---- curl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct recv_ctx *rx = userp;
    struct mtg_client_resp *r = rx->out;
    size_t n = size * nmemb;
    if (n > rx->c->o.max_response - r->len) {
        rx->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > rx->cap) {
        size_t cap = rx->cap ? rx->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        unsigned char *nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        rx->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Copies the value of header line `line` into dst if its name is `name`. */
static void grab_header(const char *line, size_t n, const char *name, char *dst, size_t dstn)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= dstn)
        len = dstn - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct recv_ctx *rx = userp;
    size_t n = size * nmemb;
    /* A "100 Continue" or a redirect starts a new header block: forget the old one. */
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
        rx->out->etag[0] = '\0';
        rx->out->content_type[0] = '\0';
        rx->out->n_xhdr = 0;
    }
    grab_header(data, n, "ETag", rx->out->etag, sizeof rx->out->etag);
    grab_header(data, n, "Content-Type", rx->out->content_type, sizeof rx->out->content_type);
    /* Application headers (X-Mtgan-Task, ...): keep the first few, name and value. */
    const char *colon = memchr(data, ':', n);
    if (n > 2 && (data[0] == 'X' || data[0] == 'x') && data[1] == '-' && colon &&
        rx->out->n_xhdr < MTG_CLIENT_MAX_XHDR) {
        size_t nl = (size_t)(colon - data);
        if (nl < sizeof rx->out->xhdr[0].name) {
            struct mtg_client_xhdr *h = &rx->out->xhdr[rx->out->n_xhdr];
            memcpy(h->name, data, nl);
            h->name[nl] = '\0';
            grab_header(data, n, h->name, h->value, sizeof h->value);
            rx->out->n_xhdr++;
        }
    }
    return n;
}

static int on_progress(void *userp, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
                       curl_off_t uln)
{
    (void)dlt;
    (void)dln;
    (void)ult;
    (void)uln;
    return stopped(userp) ? 1 : 0;
}

/* ---- one attempt ---- */

static int method_idempotent(const char *m)
{
    return strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0;
}

static CURLcode setup(struct mtg_client *c, const char *method, const char *url, const void *body,
                      size_t len, struct curl_slist *hdrs, struct recv_ctx *rx)
{
    CURL *h = c->curl;
    CURLcode e = CURLE_OK;
    curl_easy_reset(h);
#define SET(opt, val) \
    do { if (e == CURLE_OK) e = curl_easy_setopt(h, opt, val); } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM-based DNS timeouts in a threaded process */
    SET(CURLOPT_PATH_AS_IS, 1L); /* send the path as given; the server judges "..", not us */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_response);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, rx);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, rx);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, c);
    SET(CURLOPT_EXPECT_100_TIMEOUT_MS, 1000L);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        /* POSTFIELDS with size 0 still sends "Content-Length: 0", which PUT/POST need. */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        SET(CURLOPT_POSTFIELDS, len ? body : "");
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    return e;
}

static int status_to_code(long s)
{
    switch (s) {
    case 400: return MTG_EINVAL;
    case 401:
    case 403: return MTG_EAUTH;
    case 404: return MTG_ENOTFOUND;
    case 409: return MTG_ECONFLICT;
    case 413: return MTG_ETOOBIG;
    case 422: return MTG_EFORMAT;
    case 429:
    case 503: return MTG_EUNAVAIL;
    default: return s >= 500 ? MTG_EIO : MTG_EINVAL;
    }
}

/* Error for an HTTP failure status, quoting the server's JSON error when there is one. */
static int http_error(const char *method, const char *path, const struct mtg_client_resp *r,
                      struct mtg_err *err)
{
    int code = status_to_code(r->status);
    cJSON *root = r->body ? cJSON_ParseWithLength((const char *)r->body, r->len) : NULL;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const char *ecode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code"));
    const char *emsg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
    if (ecode && emsg)
        mtg_err_set(err, code, "client: %s %s -> %ld %s: %s", method, path, r->status, ecode, emsg);
    else
        mtg_err_set(err, code, "client: %s %s -> HTTP %ld", method, path, r->status);
    cJSON_Delete(root);
    return code;
}

/* Emulated link delay for one transfer; see client.h. */
static void emulate_link(struct mtg_client *c, uint64_t up, uint64_t down)
{
    if (c->o.link_mbps <= 0 && c->o.link_latency_ms <= 0)
        return;
    double s = 2.0 * c->o.link_latency_ms / 1e3;
    if (c->o.link_mbps > 0)
        s += (double)(up + down) * 8.0 / (c->o.link_mbps * 1e6);
    uint64_t ns = (uint64_t)(s * 1e9);
    atomic_fetch_add(&c->link_ns, ns);
    sleep_ns(c, ns); /* cut short by a stop; the caller sees the flag itself */
}

static uint64_t backoff_ns(struct mtg_client *c, int attempt, long retry_after_s)
{
    /* Equal jitter: half the exponential delay is fixed, half random, so
     * edges that failed together do not come back together. */
    double d = (double)c->o.retry_base_ms;
    for (int i = 1; i < attempt && d < (double)c->o.retry_max_ms; i++)
        d *= 2;
    if (d > (double)c->o.retry_max_ms)
        d = (double)c->o.retry_max_ms;
    d = d / 2 + mtg_rng_uniform(&c->rng) * d / 2;
    if (retry_after_s > 0 && (double)retry_after_s * 1e3 > d)
        d = (double)retry_after_s * 1e3 > (double)c->o.retry_max_ms ? (double)c->o.retry_max_ms
                                                                     : (double)retry_after_s * 1e3;
    return (uint64_t)(d * 1e6);
}

static struct curl_slist *build_headers(const struct mtg_client *c, size_t len,
                                        const char *content_type, const char *const *extra,
                                        int *ok)
{
    struct curl_slist *l = NULL, *t;
    char ct[160];
    *ok = 1;
#define ADD(s) \
    do { if (*ok && (t = curl_slist_append(l, s)) != NULL) l = t; else *ok = 0; } while (0)
    if (c->auth_header)
        ADD(c->auth_header);
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        ADD(ct);
    }
    ADD(len > EXPECT_MIN ? "Expect: 100-continue" : "Expect:");
    for (size_t i = 0; extra && extra[i]; i++) {
        if (strpbrk(extra[i], "\r\n"))
            *ok = 0;
        ADD(extra[i]);
    }
#undef ADD
    return l;
}

int mtg_client_request(struct mtg_client *c, const char *method, const char *path,
                       const void *body, size_t len, const char *content_type,
                       const char *const *extra_headers, struct mtg_client_resp *out,
                       struct mtg_err *err)
{
    int rc = MTG_EIO, ok;
    memset(out, 0, sizeof *out);
    size_t ul = strlen(c->base_url) + strlen(path) + 1;
    char *url = malloc(ul);
    struct curl_slist *hdrs = build_headers(c, len, content_type, extra_headers, &ok);
    if (!url || !ok || path[0] != '/') {
        rc = mtg_err_set(err, !url ? MTG_ENOMEM : MTG_EINVAL,
                         "client: %s %s: bad path or header, or out of memory", method, path);
        goto done;
    }
    snprintf(url, ul, "%s%s", c->base_url, path);
    for (int attempt = 1;; attempt++) {
        struct recv_ctx rx = {.c = c, .out = out};
        free(out->body);
        out->body = NULL;
        out->len = 0;
        out->status = 0;
        out->attempts = attempt;
        c->errbuf[0] = '\0';
        if (stopped(c)) {
            rc = mtg_err_set(err, MTG_ESTOPPED, "client: %s %s: stopped", method, path);
            goto done;
        }
        CURLcode e = setup(c, method, url, body, len, hdrs, &rx);
        if (e == CURLE_OK)
            e = curl_easy_perform(c->curl);
        atomic_fetch_add(&c->requests, 1);
        if (attempt > 1)
            atomic_fetch_add(&c->retries, 1);
        curl_off_t up = 0, down = 0;
        long reqsz = 0, hdrsz = 0, retry_after = 0;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_getinfo(c->curl, CURLINFO_SIZE_UPLOAD_T, &up);
        curl_easy_getinfo(c->curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
        curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &reqsz);
        curl_easy_getinfo(c->curl, CURLINFO_HEADER_SIZE, &hdrsz);
        curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after);
        /*
         * The counters hold message bodies, the layer the server counts too
         * (http.h), so both ends report the same bytes for every protocol.
         * The emulated link carries whole messages: curl puts a body under
         * 64 KiB (without Expect) into the request it reports in
         * REQUEST_SIZE, and sends larger ones after it.
         */
        uint64_t body_up = (uint64_t)up, body_down = (uint64_t)down;
        uint64_t wire_up = (uint64_t)reqsz + (body_up < 65536 && (uint64_t)reqsz >= body_up && len <= EXPECT_MIN ? 0 : body_up);
        atomic_fetch_add(&c->bytes_sent, body_up);
        atomic_fetch_add(&c->bytes_received, body_down);
        if (e == CURLE_OK || out->status > 0)
            emulate_link(c, wire_up, (uint64_t)hdrsz + body_down);

        int retry = 0;
        if (e == CURLE_ABORTED_BY_CALLBACK && stopped(c)) {
            rc = mtg_err_set(err, MTG_ESTOPPED, "client: %s %s: stopped", method, path);
            goto done;
        } else if (rx.too_big || e == CURLE_FILESIZE_EXCEEDED) {
            rc = mtg_err_set(err, MTG_ETOOBIG, "client: %s %s: response over the %zu-byte cap",
                             method, path, c->o.max_response);
            goto done;
        } else if (e != CURLE_OK) {
            /* Before the request reached the server, retrying is always safe. */
            int not_sent = e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST ||
                           e == CURLE_COULDNT_RESOLVE_PROXY || e == CURLE_SSL_CONNECT_ERROR;
            int transient = e == CURLE_OPERATION_TIMEDOUT || e == CURLE_SEND_ERROR ||
                            e == CURLE_RECV_ERROR || e == CURLE_GOT_NOTHING ||
                            e == CURLE_PARTIAL_FILE || e == CURLE_HTTP2 ||
                            e == CURLE_HTTP2_STREAM;
            retry = not_sent ||
                    (transient && (method_idempotent(method) || c->o.retry_unsafe));
            rc = mtg_err_set(err, e == CURLE_URL_MALFORMAT ? MTG_EINVAL : MTG_ENET,
                             "client: %s %s: %s (attempt %d of %d)", method, url,
                             c->errbuf[0] ? c->errbuf : curl_easy_strerror(e), attempt,
                             c->o.max_attempts);
        } else if ((out->status >= 200 && out->status < 300) || out->status == 304) {
            rc = MTG_OK;
            goto done;
        } else {
            rc = http_error(method, path, out, err);
            /* A 503 promises the request changed nothing (DESIGN §7). */
            retry = out->status == 503 ||
                    ((out->status == 500 || out->status == 502 || out->status == 504) &&
                     (method_idempotent(method) || c->o.retry_unsafe));
        }
        if (!retry || attempt >= c->o.max_attempts)
            goto done;
        uint64_t wait = backoff_ns(c, attempt, retry_after);
        mtg_log(MTG_LOG_DEBUG, "client", "%s; retry %d in %.0f ms", err ? err->msg : method,
                attempt + 1, (double)wait / 1e6);
        if (sleep_ns(c, wait) == MTG_ESTOPPED) {
            rc = mtg_err_set(err, MTG_ESTOPPED, "client: %s %s: stopped during backoff", method,
                             path);
            goto done;
        }
    }
done:
    curl_slist_free_all(hdrs);
    free(url);
    return rc;
}
