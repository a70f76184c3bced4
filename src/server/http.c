/*
 * http.c - the libmicrohttpd daemon behind http.h: route matching, path
 * parameter validation, body accumulation with limits, and counters.
 * Response building lives in http_resp.c, credentials in http_auth.c.
 *
 * Threading: MHD_USE_THREAD_PER_CONNECTION with an internal listen thread.
 * Handlers may block (sgda's synchronous step waits for every edge's
 * feedback), and with a thread pool one slow handler would stall every
 * other connection queued on that pool thread. One thread per connection
 * keeps a blocked handler local; MHD_OPTION_CONNECTION_LIMIT bounds the
 * thread count, and the idle timeout plus the optional per-address limit
 * keep slow clients (slowloris) from holding all of them forever.
 */
#include "server/http_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

/*
 * An over-limit body of unknown length (chunked) is read and dropped up to
 * this many bytes so the client can still read the 413; past it the
 * connection is simply closed.
 */
#define DRAIN_MAX (1u << 20)

struct seg {
    const char *s; /* into the route pattern */
    size_t len;
    int is_param;
};

struct route {
    const struct mtg_http_route *r;
    int nseg;
    struct seg seg[MTG_HTTP_MAX_SEGMENTS];
};

struct mtg_http_server {
    struct MHD_Daemon *daemon;
    struct route *routes;
    size_t n_routes;
    char *token; /* NULL = auth disabled */
    size_t token_len;
    char *tls_cert, *tls_key;
    unsigned port;
    unsigned timeout_s, header_timeout_s;
    atomic_uint_least64_t requests[6];
    atomic_uint_least64_t bytes_in, bytes_out, rejected;
};

/* Per-request state, MHD's *con_cls; freed in on_completed. */
struct conn_state {
    struct mtg_http_req req;
    const struct route *route;
    size_t limit;
    size_t dropped;  /* body bytes read and discarded after overflow */
    int overflow;
    int responded;   /* a response was queued (early rejection) */
};

/* ---- small helpers ---- */

static int param_valid(const char *s, size_t len)
{
    if (len == 0 || len > MTG_HTTP_PARAM_MAX)
        return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-') || c > 127)
            return 0;
    }
    return 1;
}

/* Splits "/a/b" into segments; returns the count or -1 if too many or not absolute. */
static int split_path(const char *path, struct seg *seg)
{
    if (path[0] != '/')
        return -1;
    int n = 0;
    const char *p = path + 1;
    for (;;) {
        if (n == MTG_HTTP_MAX_SEGMENTS)
            return -1;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        seg[n].s = p;
        seg[n].len = len;
        seg[n].is_param = 0;
        n++;
        if (!e)
            return n;
        p = e + 1;
    }
}

static int compile_route(const struct mtg_http_route *r, struct route *out, struct mtg_err *err)
{
    if (!r->method || !r->pattern || !r->fn)
        return mtg_err_set(err, MTG_EINVAL, "http: route needs method, pattern and fn");
    out->r = r;
    out->nseg = split_path(r->pattern, out->seg);
    if (out->nseg < 0)
        return mtg_err_set(err, MTG_EINVAL, "http: route \"%s\": not absolute or over %d segments",
                           r->pattern, MTG_HTTP_MAX_SEGMENTS);
    int nparam = 0;
    for (int i = 0; i < out->nseg; i++) {
        struct seg *s = &out->seg[i];
        if (s->len >= 2 && s->s[0] == '{' && s->s[s->len - 1] == '}') {
            s->is_param = 1;
            s->s++;
            s->len -= 2;
            if (s->len == 0 || ++nparam > MTG_HTTP_MAX_PARAMS)
                return mtg_err_set(err, MTG_EINVAL, "http: route \"%s\": bad or too many {params}",
                                   r->pattern);
        } else if (memchr(s->s, '{', s->len) || memchr(s->s, '}', s->len)) {
            return mtg_err_set(err, MTG_EINVAL,
                               "http: route \"%s\": a {param} must be a whole segment", r->pattern);
        }
    }
    return MTG_OK;
}

/* ---- MHD callbacks ---- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    mtg_log(MTG_LOG_WARN, "http", "libmicrohttpd: %s", buf);
}

/*
 * MHD's default unescaper turns "%00" into a NUL that would silently cut
 * the path or value short ("/a%00/b" seen as "/a"). Decoded NULs become
 * DEL instead, which no literal segment or valid parameter contains.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    size_t n = MHD_http_unescape(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0')
            s[i] = 0x7f;
    return n;
}

/*
 * libmicrohttpd 0.9.75 has one idle timeout per connection and no separate
 * header timeout, so a connection starts with the short one and gets the
 * idle one once a request's headers are in (begin_request): a client that
 * dribbles its headers is cut off after header_timeout_s, while a long-poll
 * or a slow upload keeps the idle timeout.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    const struct mtg_http_server *srv = cls;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED && srv->header_timeout_s != srv->timeout_s)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->header_timeout_s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *st = *con_cls;
    if (!st)
        return;
    free(st->req.body);
    free(st);
    *con_cls = NULL;
}

static enum MHD_Result queue(struct mtg_http_server *srv, struct conn_state *st,
                             struct mtg_http_resp *resp)
{
    struct MHD_Connection *conn = st->req.conn;
    struct MHD_Response *mr;
    size_t len = resp->len;
    if (resp->body) {
        mr = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->body,
                                                                resp->free_fn);
        if (mr)
            resp->body = NULL; /* MHD frees it now */
    } else {
        mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!mr) {
        mtg_http_resp_deinit(resp);
        return MHD_NO;
    }
    int ok = 1;
    if (resp->ctype && resp->status != 304)
        ok &= MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype) == MHD_YES;
    for (int i = 0; i < resp->n_hdr; i++)
        ok &= MHD_add_response_header(mr, resp->hdr_name[i], resp->hdr_value[i]) == MHD_YES;
    enum MHD_Result ret = ok ? MHD_queue_response(conn, (unsigned)resp->status, mr) : MHD_NO;
    MHD_destroy_response(mr);
    int cls = resp->status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&srv->requests[cls], 1);
    atomic_fetch_add(&srv->bytes_out, len);
    mtg_log(MTG_LOG_DEBUG, "http", "%s %s -> %d (%zu bytes) from %s", st->req.method,
            st->req.path, resp->status, len, st->req.remote);
    mtg_http_resp_deinit(resp);
    st->responded = 1;
    return ret;
}

/* Answers before the handler runs (routing, auth, limits). */
static enum MHD_Result reject(struct mtg_http_server *srv, struct conn_state *st, int status,
                              const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result reject(struct mtg_http_server *srv, struct conn_state *st, int status,
                              const char *code, const char *fmt, ...)
{
    struct mtg_http_resp resp = {0};
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mtg_http_resp_error(&resp, status, code, "%s", msg);
    if (status == 401) {
        const char *h = st->route && mtg_http_header(&st->req, "Authorization")
                            ? "Bearer realm=\"mtgan\", error=\"invalid_token\""
                            : "Bearer realm=\"mtgan\"";
        mtg_http_resp_header(&resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, h);
    }
    atomic_fetch_add(&srv->rejected, 1);
    return queue(srv, st, &resp);
}

static int method_is(const char *m, const char *want)
{
    return strcmp(m, want) == 0;
}

static int route_method_matches(const struct route *rt, const char *method)
{
    return method_is(rt->r->method, method) ||
           (method_is(method, "HEAD") && method_is(rt->r->method, "GET"));
}

/* Finds the route for st->req; on failure queues the 404/405/400 itself. */
static enum MHD_Result route_request(struct mtg_http_server *srv, struct conn_state *st)
{
    struct seg seg[MTG_HTTP_MAX_SEGMENTS];
    int n = split_path(st->req.path, seg);
    const struct route *best = NULL;
    int best_score = -1, path_known = 0;
    char allow[128] = "";
    for (size_t i = 0; n > 0 && i < srv->n_routes; i++) {
        const struct route *rt = &srv->routes[i];
        if (rt->nseg != n)
            continue;
        int score = 0, ok = 1;
        for (int k = 0; ok && k < n; k++) {
            if (rt->seg[k].is_param)
                ok = seg[k].len > 0;
            else if ((ok = seg[k].len == rt->seg[k].len &&
                           memcmp(seg[k].s, rt->seg[k].s, seg[k].len) == 0))
                score++;
        }
        if (!ok)
            continue;
        path_known = 1;
        /* Literal segments beat parameters: "/v1/tasks/x" over "/v1/{a}/x". */
        if (route_method_matches(rt, st->req.method)) {
            if (score > best_score) {
                best = rt;
                best_score = score;
            }
        } else if (!strstr(allow, rt->r->method) && strlen(allow) + strlen(rt->r->method) + 3 <
                                                        sizeof allow) {
            size_t l = strlen(allow);
            snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", rt->r->method);
        }
    }
    if (!best && !path_known)
        return reject(srv, st, 404, "not_found", "no route for %s %s", st->req.method,
                      st->req.path);
    if (!best) {
        struct mtg_http_resp resp = {0};
        mtg_http_resp_error(&resp, 405, "method_not_allowed", "%s is not allowed on %s",
                            st->req.method, st->req.path);
        mtg_http_resp_header(&resp, "Allow", allow);
        atomic_fetch_add(&srv->rejected, 1);
        return queue(srv, st, &resp);
    }
    st->route = best;
    for (int k = 0; k < n; k++) {
        if (!best->seg[k].is_param)
            continue;
        if (!param_valid(seg[k].s, seg[k].len))
            return reject(srv, st, 400, "invalid_argument",
                          "path parameter {%.*s} must be 1-%d characters of [A-Za-z0-9._-] "
                          "and not . or ..",
                          (int)best->seg[k].len, best->seg[k].s, MTG_HTTP_PARAM_MAX);
        int i = st->req.n_params++;
        st->req.param_name[i] = best->seg[k].s;
        st->req.param_name_len[i] = best->seg[k].len;
        memcpy(st->req.param_val[i], seg[k].s, seg[k].len);
        st->req.param_val[i][seg[k].len] = '\0';
    }
    return MHD_YES;
}

/*
 * The one place a request's credentials are judged: the server token opens
 * every route; an edge's own token (MTG_HTTP_EDGE routes) only that edge's.
 * A route without {edge} leaves the edge to its handler (registration names
 * it in the body: mtg_http_authorized_edge), provided a credential came.
 */
static int check_auth(const struct mtg_http_server *srv, struct conn_state *st)
{
    unsigned flags = st->route->r->flags;
    st->req.srv = srv;
    if (!srv->token || !(flags & MTG_HTTP_MUTATING))
        return 1;
    const char *authz = mtg_http_header(&st->req, "Authorization");
    if (mtg_http_auth_check(srv->token, srv->token_len, authz)) {
        st->req.admin = 1;
        return 1;
    }
    if (!(flags & MTG_HTTP_EDGE))
        return 0;
    const char *edge = mtg_http_param(&st->req, "edge");
    if (!edge)
        return authz != NULL;
    return mtg_http_auth_check_edge(srv->token, edge, authz);
}

const char *mtg_http_server_token(const struct mtg_http_server *srv)
{
    return srv->token;
}

static size_t route_limit(const struct route *rt)
{
    if (rt->r->max_body)
        return rt->r->max_body;
    const char *m = rt->r->method;
    if (method_is(m, "POST") || method_is(m, "PUT") || method_is(m, "PATCH"))
        return MTG_HTTP_DEFAULT_BODY_MAX;
    return MTG_HTTP_NOBODY_MAX;
}

static void fill_remote(struct MHD_Connection *conn, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)n);
}

/* First call for a request: headers only. Everything that can be refused early is. */
static enum MHD_Result begin_request(struct mtg_http_server *srv, struct conn_state *st)
{
    enum MHD_Result r = route_request(srv, st);
    if (r != MHD_YES || st->responded)
        return r;
    if (!check_auth(srv, st))
        return reject(srv, st, 401, "unauthorized", "%s %s needs a valid bearer token",
                      st->req.method, st->req.path);
    st->limit = route_limit(st->route);
    const char *cl = mtg_http_header(&st->req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || cl[0] == '-')
            return reject(srv, st, 400, "invalid_argument", "bad Content-Length");
        /*
         * Refusing here means MHD never sends "100 Continue", so a client
         * that asked for it does not upload the body at all.
         */
        if (v > st->limit)
            return reject(srv, st, 413, "too_large", "body of %llu bytes exceeds the %zu-byte limit",
                          v, st->limit);
        if (v > 0) {
            st->req.body = malloc((size_t)v);
            if (!st->req.body)
                return reject(srv, st, 503, "unavailable", "out of memory for the body");
            st->req.cap = (size_t)v;
        }
    }
    return MHD_YES;
}

static enum MHD_Result take_body(struct mtg_http_server *srv, struct conn_state *st,
                                 const char *data, size_t n)
{
    atomic_fetch_add(&srv->bytes_in, n);
    if (st->overflow || n > st->limit - st->req.len) {
        st->overflow = 1;
        st->dropped += n;
        return st->dropped > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (st->req.len + n > st->req.cap) {
        /* Chunked upload: grow geometrically, never past the limit. */
        size_t cap = st->req.cap ? st->req.cap : 4096;
        while (cap < st->req.len + n)
            cap = cap > st->limit / 2 ? st->limit : cap * 2;
        unsigned char *nb = realloc(st->req.body, cap);
        if (!nb)
            return MHD_NO;
        st->req.body = nb;
        st->req.cap = cap;
    }
    memcpy(st->req.body + st->req.len, data, n);
    st->req.len += n;
    return MHD_YES;
}

static enum MHD_Result run_handler(struct mtg_http_server *srv, struct conn_state *st)
{
    if (st->overflow)
        return reject(srv, st, 413, "too_large", "body exceeds the %zu-byte limit", st->limit);
    struct mtg_http_resp resp = {0};
    const struct mtg_http_route *r = st->route->r;
    int rc = r->fn(r->ctx, &st->req, &resp);
    if (resp.status < 100 || resp.status > 599) {
        int status = rc == MTG_OK ? 500 : mtg_http_status_for(rc);
        if (resp.status != 0)
            mtg_log(MTG_LOG_ERROR, "http", "%s %s: handler set invalid status %d", st->req.method,
                    st->req.path, resp.status);
        else if (rc == MTG_OK)
            mtg_log(MTG_LOG_ERROR, "http", "%s %s: handler set no response", st->req.method,
                    st->req.path);
        mtg_http_resp_deinit(&resp);
        mtg_http_resp_error(&resp, status, mtg_http_code_for(rc == MTG_OK ? MTG_EIO : rc),
                            "%s %s failed: %s", st->req.method, st->req.path,
                            mtg_status_str(rc == MTG_OK ? MTG_EIO : rc));
    }
    return queue(srv, st, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct mtg_http_server *srv = cls;
    struct conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        st->req.conn = conn;
        st->req.method = method;
        st->req.path = url;
        fill_remote(conn, st->req.remote, sizeof st->req.remote);
        if (srv->header_timeout_s != srv->timeout_s)
            MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->timeout_s);
        return begin_request(srv, st);
    }
    if (st->responded) {
        /* Answered early; whatever body MHD still hands us is dropped. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        enum MHD_Result r = take_body(srv, st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r;
    }
    return run_handler(srv, st);
}

/* ---- lifecycle ---- */

static int parse_bind(const char *bind, unsigned port, struct sockaddr_in *v4,
                      struct sockaddr_in6 *v6, int *is_v6, struct mtg_err *err)
{
    memset(v4, 0, sizeof *v4);
    memset(v6, 0, sizeof *v6);
    if (port > 65535)
        return mtg_err_set(err, MTG_EINVAL, "http: port %u out of range", port);
    if (inet_pton(AF_INET, bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *is_v6 = 0;
        return MTG_OK;
    }
    if (inet_pton(AF_INET6, bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *is_v6 = 1;
        return MTG_OK;
    }
    return mtg_err_set(err, MTG_EINVAL, "http: bind address \"%s\" is not an IPv4/IPv6 literal",
                       bind);
}

int mtg_http_server_new(const struct mtg_http_config *cfg, const struct mtg_http_route *routes,
                        size_t n_routes, struct mtg_http_server **out, struct mtg_err *err)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    int is_v6 = 0, rc;
    *out = NULL;
    struct mtg_http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return mtg_err_set(err, MTG_ENOMEM, "http: out of memory");
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    rc = parse_bind(bind, cfg->port, &v4, &v6, &is_v6, err);
    if (rc != MTG_OK)
        goto fail;
    srv->routes = calloc(n_routes ? n_routes : 1, sizeof *srv->routes);
    if (!srv->routes) {
        rc = mtg_err_set(err, MTG_ENOMEM, "http: out of memory");
        goto fail;
    }
    srv->n_routes = n_routes;
    for (size_t i = 0; i < n_routes; i++)
        if ((rc = compile_route(&routes[i], &srv->routes[i], err)) != MTG_OK)
            goto fail;
    if ((rc = mtg_http_auth_load_token(cfg, &srv->token, &srv->token_len, err)) != MTG_OK)
        goto fail;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (is_v6 ? MHD_USE_IPv6 : 0);
    /* poll() rather than select(): no FD_SETSIZE ceiling on descriptor numbers. */
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL;
    if (!cfg->tls_cert_file != !cfg->tls_key_file) {
        rc = mtg_err_set(err, MTG_EINVAL, "http: TLS needs both a cert file and a key file");
        goto fail;
    }
    if (cfg->tls_cert_file) {
        size_t n;
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = mtg_err_set(err, MTG_EINVAL, "http: this libmicrohttpd was built without TLS");
            goto fail;
        }
        if ((rc = mtg_http_auth_read_pem(cfg->tls_cert_file, &srv->tls_cert, &n, err)) ||
            (rc = mtg_http_auth_read_pem(cfg->tls_key_file, &srv->tls_key, &n, err)))
            goto fail;
        flags |= MHD_USE_TLS;
    }

    srv->timeout_s = cfg->timeout_s ? cfg->timeout_s : 30;
    srv->header_timeout_s = cfg->header_timeout_s ? cfg->header_timeout_s : srv->timeout_s;
    struct MHD_OptionItem opts[13];
    int no = 0;
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                         cfg->max_connections ? cfg->max_connections : 64, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                         cfg->per_ip_connections, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0,
                                         is_v6 ? (void *)&v6 : (void *)&v4};
    if (srv->tls_cert) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
    }
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    srv->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
                                   MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!srv->daemon) {
        rc = mtg_err_set(err, MTG_EIO, "http: cannot listen on %s port %u%s", bind, cfg->port,
                         srv->tls_cert ? " with TLS (check the cert/key)" : "");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->port;
    mtg_log(MTG_LOG_INFO, "http", "listening on %s port %u%s%s", bind, srv->port,
            srv->tls_cert ? " (TLS)" : "", srv->token ? " (auth on)" : "");
    *out = srv;
    return MTG_OK;
fail:
    mtg_http_server_free(srv);
    return rc;
}

unsigned mtg_http_server_port(const struct mtg_http_server *srv)
{
    return srv->port;
}

void mtg_http_server_stats(const struct mtg_http_server *srv, struct mtg_http_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 6; i++)
        out->requests[i] = atomic_load(&srv->requests[i]);
    out->bytes_in = atomic_load(&srv->bytes_in);
    out->bytes_out = atomic_load(&srv->bytes_out);
    out->rejected = atomic_load(&srv->rejected);
    if (srv->daemon) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        out->connections = di ? di->num_connections : 0;
    }
}

void mtg_http_server_stop(struct mtg_http_server *srv)
{
    if (!srv || !srv->daemon)
        return;
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

void mtg_http_server_free(struct mtg_http_server *srv)
{
    if (!srv)
        return;
    mtg_http_server_stop(srv);
    free(srv->routes);
    mtg_http_auth_free_secret(srv->token);
    free(srv->tls_cert);
    mtg_http_auth_free_secret(srv->tls_key);
    free(srv);
}
