/*
 * fuzz_routes.c - the server's request handlers (src/server/routes.c,
 * routes_edge.c, dashboard.c) on hostile requests, called in-process without a socket.
 *
 * Two real servers are built once with mtg_srv_new (protocol mtgan and
 * sgda; 2 tiny digit tasks, evaluation off, no state_dir, port 0) and every
 * input becomes one request handed to the handler of a route from the
 * server's own table (s->routes), with a request struct filled the way
 * http.c fills it: path parameters that passed its validation, a body of
 * exactly the received length (no NUL after it) within the route's limit.
 * Query arguments and headers are served from the input by wrapping the two
 * libmicrohttpd lookup functions the accessors call (a fake connection
 * handle; real MHD connections are forwarded to libmicrohttpd).
 *
 * This runs ~100x faster than posting over loopback with libcurl and gives
 * the fuzzer the same handler code; the HTTP plumbing itself (routing,
 * Content-Length and body limits, auth) is left to tests/unit/test_http.c.
 * Both servers are rebuilt every RESET_EVERY inputs so state (registered
 * edges, tasks created by PUT) stays bounded.
 *
 * Input: byte 0 picks the route (bit 7 set: keep a blob body's CRC as
 * is; clear: rewrite it so mutated blobs get past the CRC check); then three '\n'-terminated lines: the
 * parameter values "<task> <edge or kind>", the query string
 * "a=1&b&c=x", and an If-None-Match value; the rest is the body.
 */
#define _GNU_SOURCE
#include <cJSON.h>
#include <dlfcn.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "config/config.h"
#include "fuzz_util.h"
#include "server/http_internal.h"
#include "server/server_internal.h"

#define RESET_EVERY 4000
#define MAX_ARGS 16

/* ---- fake connection: query arguments and headers from the input ---- */

static char fake_conn_tag;
#define FAKE_CONN ((struct MHD_Connection *)&fake_conn_tag)

static struct {
    int n;
    char *key[MAX_ARGS];
    char *val[MAX_ARGS]; /* NULL for "?flag" */
    const char *if_none_match;
} args;

typedef const char *(*lookup_fn)(struct MHD_Connection *, enum MHD_ValueKind, const char *);
typedef enum MHD_Result (*lookup_n_fn)(struct MHD_Connection *, enum MHD_ValueKind, const char *,
                                       size_t, const char **, size_t *);

static int find_arg(enum MHD_ValueKind kind, const char *key, size_t klen, const char **val)
{
    if (kind == MHD_HEADER_KIND) {
        if (klen == strlen(MHD_HTTP_HEADER_IF_NONE_MATCH) &&
            strncasecmp(key, MHD_HTTP_HEADER_IF_NONE_MATCH, klen) == 0 && args.if_none_match) {
            *val = args.if_none_match;
            return 1;
        }
        return 0;
    }
    if (kind != MHD_GET_ARGUMENT_KIND)
        return 0;
    for (int i = 0; i < args.n; i++)
        if (strlen(args.key[i]) == klen && memcmp(args.key[i], key, klen) == 0) {
            *val = args.val[i];
            return 1;
        }
    return 0;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key)
{
    if (c != FAKE_CONN) {
        lookup_fn real = (lookup_fn)dlsym(RTLD_NEXT, "MHD_lookup_connection_value");
        return real(c, kind, key);
    }
    const char *v = NULL;
    return key && find_arg(kind, key, strlen(key), &v) ? v : NULL;
}

enum MHD_Result MHD_lookup_connection_value_n(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                              const char *key, size_t key_size,
                                              const char **value_ptr, size_t *value_size_ptr)
{
    if (c != FAKE_CONN) {
        lookup_n_fn real = (lookup_n_fn)dlsym(RTLD_NEXT, "MHD_lookup_connection_value_n");
        return real(c, kind, key, key_size, value_ptr, value_size_ptr);
    }
    const char *v = NULL;
    if (!key || !find_arg(kind, key, key_size, &v))
        return MHD_NO;
    if (value_ptr)
        *value_ptr = v;
    if (value_size_ptr)
        *value_size_ptr = v ? strlen(v) : 0;
    return MHD_YES;
}

/* ---- the servers ---- */

static struct mtg_cfg cfg;
static struct mtg_srv *srv[2]; /* [0] mtgan, [1] sgda */
static unsigned long n_inputs;
static int verbose; /* FUZZ_ROUTES_INFO set: print each request's status */

static void tiny_net(struct mtg_cfg_net *n, int width)
{
    n->layers.n = 1;
    n->layers.width[0] = width;
}

static struct mtg_srv *make_server(enum mtg_cfg_protocol proto)
{
    mtg_cfg_defaults(&cfg);
    cfg.protocol = proto;
    cfg.port = 0;
    snprintf(cfg.bind, sizeof cfg.bind, "127.0.0.1");
    cfg.state_dir[0] = '\0';
    cfg.train.eval_every = 0;
    cfg.model.batch = 8;
    cfg.data.tasks.n = 2;
    cfg.data.tasks.id[0] = 3;
    cfg.data.tasks.id[1] = 7;
    cfg.n_tasks = 2;
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "digit-%d", cfg.data.tasks.id[i]);
        mtg_cfg_task_defaults(&cfg.tasks[i], id);
        tiny_net(&cfg.tasks[i].generator, 8);
        cfg.tasks[i].generator.latent_dim = 4;
        tiny_net(&cfg.tasks[i].discriminator, 8);
    }
    /* Not mtg_cfg_validate: it insists on a state_dir, which the fuzzer does without. */
    struct mtg_err err = {0};
    struct mtg_srv *s = NULL;
    if (mtg_srv_new(&cfg, &s, &err) != MTG_OK) {
        fprintf(stderr, "fuzz_routes: mtg_srv_new: %s\n", err.msg);
        abort();
    }
    return s;
}

static const struct mtg_http_route *route_of(struct mtg_srv *s, const char *method, const char *pattern)
{
    for (size_t i = 0; i < sizeof s->routes / sizeof s->routes[0]; i++)
        if (s->routes[i].pattern && strcmp(s->routes[i].method, method) == 0 &&
            strcmp(s->routes[i].pattern, pattern) == 0)
            return &s->routes[i];
    fprintf(stderr, "fuzz_routes: no route %s %s\n", method, pattern);
    abort();
}

/* Fills the path parameters as http.c's router does: names from the pattern, values validated. */
static int set_params(struct mtg_http_req *req, const char *pattern, const char *task, const char *edge)
{
    req->n_params = 0;
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        size_t nlen = (size_t)(e - p - 1);
        /* {edge} and {kind} both take the second word of the parameter line. */
        const char *v = (nlen == 4 && (strncmp(p + 1, "edge", 4) == 0 || strncmp(p + 1, "kind", 4) == 0))
                            ? edge
                            : task;
        size_t vlen = strlen(v);
        if (vlen == 0 || vlen > MTG_HTTP_PARAM_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
            return 0;
        for (size_t i = 0; i < vlen; i++) {
            unsigned char c = (unsigned char)v[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return 0;
        }
        int k = req->n_params++;
        req->param_name[k] = p + 1;
        req->param_name_len[k] = nlen;
        memcpy(req->param_val[k], v, vlen + 1);
    }
    return 1;
}

static int call(struct mtg_srv *s, const char *method, const char *pattern, const char *task,
                const char *edge, const uint8_t *body, size_t len)
{
    const struct mtg_http_route *r = route_of(s, method, pattern);
    size_t limit = r->max_body ? r->max_body
                   : (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) ? MTG_HTTP_NOBODY_MAX
                                                                                   : MTG_HTTP_DEFAULT_BODY_MAX;
    if (len > limit)
        return 413; /* the router answers this before any handler runs */
    struct mtg_http_req req;
    memset(&req, 0, sizeof req);
    req.conn = FAKE_CONN;
    req.method = method;
    req.path = pattern;
    snprintf(req.remote, sizeof req.remote, "127.0.0.1");
    if (!set_params(&req, pattern, task, edge))
        return 404;
    if (len) {
        req.body = fuzz_memdup(body, len);
        req.len = req.cap = len;
    }
    struct mtg_http_resp resp;
    memset(&resp, 0, sizeof resp);
    int rc = r->fn(r->ctx, &req, &resp);
    /* What run_handler relies on: a status in range, or an error code to map. */
    FUZZ_CHECK(resp.status != 0 || rc != MTG_OK);
    FUZZ_CHECK(resp.status == 0 || (resp.status >= 100 && resp.status <= 599));
    FUZZ_CHECK(resp.len == 0 || resp.body != NULL);
    if (resp.ctype && strcmp(resp.ctype, MTG_HTTP_CT_JSON) == 0 && resp.len) {
        cJSON *j = cJSON_ParseWithLength((const char *)resp.body, resp.len);
        FUZZ_CHECK(j != NULL);
        cJSON_Delete(j);
    }
    int status = resp.status;
    if (verbose)
        fprintf(stderr, "%s %s task=%s edge=%s body=%zu -> rc %d status %d %.*s\n", method, pattern, task,
                edge, len, rc, status,
                resp.ctype && strcmp(resp.ctype, MTG_HTTP_CT_JSON) == 0 ? (int)(resp.len > 200 ? 200 : resp.len) : 0,
                resp.body ? (const char *)resp.body : "");
    mtg_http_resp_deinit(&resp);
    free(req.body);
    return status;
}

static void register_edge(struct mtg_srv *s)
{
    static const char body[] =
        "{\"id\":\"edge-0\",\"tasks\":[{\"id\":\"digit-3\",\"samples\":100},{\"id\":\"digit-7\",\"samples\":50}]}";
    args.n = 0;
    int st = call(s, "POST", "/v1/edges", "x", "x", (const uint8_t *)body, sizeof body - 1);
    FUZZ_CHECK(st == 201);
    pthread_mutex_lock(&s->mu);
    int64_t now = mtg_srv_now_ms();
    if (s->fed)
        mtg_fed_tick(s->fed, now);
    else
        mtg_sgda_tick(s->sgda_state, now);
    pthread_mutex_unlock(&s->mu);
}

static void reset_servers(void)
{
    for (int i = 0; i < 2; i++) {
        mtg_srv_free(srv[i]);
        srv[i] = make_server(i ? MTG_CFG_PROTO_SGDA : MTG_CFG_PROTO_MTGAN);
        register_edge(srv[i]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mtg_log_set_level(MTG_LOG_OFF);
    reset_servers();
    verbose = getenv("FUZZ_ROUTES_INFO") != NULL;
    if (verbose) {
        pthread_mutex_lock(&srv[0]->mu);
        size_t ng = 0, nd = 0;
        mtg_fed_task_g(srv[0]->fed, 0, &ng);
        mtg_fed_task_d(srv[0]->fed, 0, &nd);
        fprintf(stderr, "mtgan round %llu open %d g %zu d %zu\n",
                (unsigned long long)mtg_fed_round(srv[0]->fed), mtg_fed_round_open(srv[0]->fed), ng, nd);
        pthread_mutex_unlock(&srv[0]->mu);
    }
    return 0;
}

/* The routes, by input byte 0; sgda = 1 sends it to the sgda server. */
static const struct {
    int sgda;
    const char *method, *pattern;
} routes[] = {
    {0, "PUT", "/v1/tasks/{task}"},
    {0, "POST", "/v1/edges"},
    {1, "POST", "/v1/edges"},
    {0, "POST", "/v1/edges/{edge}/updates/{task}"},
    {1, "POST", "/v1/edges/{edge}/feedback/{task}"},
    {0, "PUT", "/v1/scheduler"},
    {1, "PUT", "/v1/scheduler"},
    {0, "GET", "/v1/tasks/{task}/models/{kind}"},
    {1, "GET", "/v1/tasks/{task}/models/{kind}"},
    {0, "GET", "/v1/tasks/{task}/samples"},
    {0, "POST", "/v1/edges/{edge}/heartbeat"},
    {0, "GET", "/v1/edges/{edge}/assignment"},
    {1, "GET", "/v1/edges/{edge}/fakes/{task}"},
    {0, "GET", "/v1/tasks/{task}"},
    {1, "PUT", "/v1/tasks/{task}"},
    {0, "GET", "/v1/history"},
    {1, "GET", "/v1/edges"},
};

/* Next '\n'-terminated line of [*p, end) as a new string; NULL when there is none. */
static char *take_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return NULL;
    char *s = fuzz_strdup(*p, (size_t)(nl - *p));
    *p = nl + 1;
    return s;
}

static void parse_query(char *q)
{
    args.n = 0;
    /* One slot stays free for the pinned wait_ms, however many arguments the input holds. */
    for (char *tok = q; tok && *tok && args.n < MAX_ARGS - 1;) {
        char *amp = strchr(tok, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        args.key[args.n] = tok;
        args.val[args.n] = eq ? eq + 1 : NULL;
        /* Long-polls must not block the fuzzer: the wait budget is pinned to 0. */
        if (strcmp(tok, "wait_ms") != 0)
            args.n++;
        tok = amp ? amp + 1 : NULL;
    }
    args.key[args.n] = "wait_ms";
    args.val[args.n] = "0";
    args.n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (++n_inputs % RESET_EVERY == 0)
        reset_servers();
    const uint8_t *p = data + 1, *end = data + size;
    char *ids = take_line(&p, end), *query = ids ? take_line(&p, end) : NULL;
    char *inm = query ? take_line(&p, end) : NULL;
    if (!inm) {
        free(ids);
        free(query);
        return 0;
    }
    char *edge = strchr(ids, ' ');
    if (edge)
        *edge++ = '\0';
    parse_query(query);
    args.if_none_match = inm[0] ? inm : NULL;
    size_t r = (data[0] & 0x7f) % (sizeof routes / sizeof routes[0]);
    const char *pattern = routes[r].pattern;
    const char *task = ids;
    uint8_t *body = fuzz_memdup(p, (size_t)(end - p));
    if (!(data[0] & 0x80))
        fuzz_fix_blob_crc(body, (size_t)(end - p));
    call(srv[routes[r].sgda], routes[r].method, pattern, task, edge ? edge : "edge-0", body,
         (size_t)(end - p));
    free(body);
    free(ids);
    free(query);
    free(inm);
    args.n = 0;
    args.if_none_match = NULL;
    return 0;
}
