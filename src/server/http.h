/*
 * http.h - a small HTTP/JSON server over libmicrohttpd: a route table with
 * `{param}` path segments, per-route body limits, bearer-token auth for
 * mutating routes, JSON error bodies, optional TLS, and request counters.
 * It knows nothing about GANs; src/server/ routes are built on top of it.
 *
 *     static int get_model(void *ctx, const struct mtg_http_req *req,
 *                          struct mtg_http_resp *resp)
 *     {
 *         const char *task = mtg_http_param(req, "task");   // validated already
 *         return mtg_http_resp_blob(resp, 200, bytes, len, 0);  // copies bytes
 *     }
 *     struct mtg_http_route routes[] = {
 *         { "GET", "/v1/tasks/{task}/models/{kind}", get_model, state, 0, 0 },
 *     };
 *     struct mtg_http_config cfg = { .bind = "127.0.0.1", .port = 0 };
 *     mtg_http_server_new(&cfg, routes, 1, &srv, &err);
 *     unsigned port = mtg_http_server_port(srv);   // the port actually bound
 *     ...
 *     mtg_http_server_free(srv);                    // stops, waits for handlers
 */
#ifndef MTG_SERVER_HTTP_H
#define MTG_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct cJSON;
struct mtg_http_server;
struct mtg_http_req;  /* valid only during the handler call */
struct mtg_http_resp; /* filled by the handler through the helpers below */

/* Path parameters: only [A-Za-z0-9._-], 1..63 bytes, not "." or "..". */
#define MTG_HTTP_PARAM_MAX 63
#define MTG_HTTP_MAX_PARAMS 8
#define MTG_HTTP_MAX_SEGMENTS 16

/* Body limits used when a route leaves max_body at 0. */
#define MTG_HTTP_DEFAULT_BODY_MAX (64u * 1024u) /* POST / PUT / PATCH */
#define MTG_HTTP_NOBODY_MAX 1024u               /* GET / HEAD / DELETE / OPTIONS */

#define MTG_HTTP_CT_JSON "application/json"
#define MTG_HTTP_CT_BLOB "application/x-mtgan-blob"
#define MTG_HTTP_CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define MTG_HTTP_CT_PNG "image/png"

/* Route flags (bit set; values only ever appended). */
enum mtg_http_route_flags {
    /* Needs "Authorization: Bearer <token>" when the server has a token. */
    MTG_HTTP_MUTATING = 1 << 0,
    /*
     * With MTG_HTTP_MUTATING: an edge's own token (mtg_http_edge_token) is
     * accepted too, for the edge named by the route's {edge} parameter; on a
     * route without one the handler names the edge (mtg_http_authorized_edge).
     */
    MTG_HTTP_EDGE = 1 << 1,
};

/* "e1." + 64 hex digits of HMAC-SHA256. */
#define MTG_HTTP_EDGE_TOKEN_LEN 67

/*
 * A handler fills resp through the mtg_http_resp_* helpers and returns
 * MTG_OK. If it returns a negative MTG_E* code without having set a
 * response, the server answers with the status mtg_http_status_for(code)
 * and a generic JSON error. Handlers run on the connection's own thread
 * and may block briefly; several run concurrently, so ctx must be
 * thread-safe.
 */
struct mtg_http_route {
    const char *method;  /* "GET", "PUT", ...; a GET route also answers HEAD */
    const char *pattern; /* "/v1/tasks/{task}/models/{kind}" */
    int (*fn)(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
    void *ctx;           /* borrowed; must outlive the server */
    unsigned flags;      /* enum mtg_http_route_flags */
    size_t max_body;     /* bytes; 0 = the per-method default above */
};

struct mtg_http_config {
    const char *bind;            /* IPv4/IPv6 literal; NULL = "127.0.0.1" */
    unsigned port;               /* 0 = pick a free port */
    unsigned max_connections;    /* 0 = 64 */
    unsigned per_ip_connections; /* 0 = no per-address limit */
    unsigned timeout_s;          /* idle timeout per connection; 0 = 30 */
    unsigned header_timeout_s;   /* a new connection's first request headers; 0 = timeout_s */
    const char *token;           /* bearer token (copied); or: */
    const char *token_file;      /* read once, trimmed; not both */
    const char *tls_cert_file;   /* PEM; both or neither */
    const char *tls_key_file;
};

/*
 * Snapshot of the counters (each read atomically, not all at one instant).
 * Safe from any thread while the server runs; not concurrently with free.
 */
struct mtg_http_stats {
    uint64_t requests[6]; /* [1..5] = responses by status class 1xx..5xx */
    uint64_t bytes_in;    /* request body bytes received */
    uint64_t bytes_out;   /* response body bytes queued */
    uint64_t rejected;    /* answered before the handler ran (4xx by plumbing) */
    unsigned connections; /* open right now */
};

/*
 * Validates the route table, loads the token and TLS files, binds and
 * starts serving. routes (and the strings and ctx they point to) are
 * borrowed and must outlive the server. *out is owned by the caller and
 * released with mtg_http_server_free.
 */
int mtg_http_server_new(const struct mtg_http_config *cfg, const struct mtg_http_route *routes,
                        size_t n_routes, struct mtg_http_server **out, struct mtg_err *err);

/* The TCP port actually bound (useful with cfg.port = 0). */
unsigned mtg_http_server_port(const struct mtg_http_server *srv);

void mtg_http_server_stats(const struct mtg_http_server *srv, struct mtg_http_stats *out);

/*
 * Stops accepting and waits for running handlers to return (a handler
 * that blocks must watch its own stop flag). Idempotent.
 */
void mtg_http_server_stop(struct mtg_http_server *srv);

/* Stops if needed and frees; NULL is fine. */
void mtg_http_server_free(struct mtg_http_server *srv);

/* ---- request accessors; returned strings are borrowed from req ---- */

const char *mtg_http_method(const struct mtg_http_req *req);
const char *mtg_http_path(const struct mtg_http_req *req);
/* Value of `{name}` in the route pattern, or NULL. Already validated. */
const char *mtg_http_param(const struct mtg_http_req *req, const char *name);
/* Percent-decoded query argument, NULL if absent ("" for "?flag"). */
const char *mtg_http_query(const struct mtg_http_req *req, const char *name);
/* Request header (case-insensitive name), NULL if absent. */
const char *mtg_http_header(const struct mtg_http_req *req, const char *name);
/* Body bytes (NULL when empty); *len receives the length. */
const void *mtg_http_body(const struct mtg_http_req *req, size_t *len);
/* Peer address as text ("127.0.0.1"). */
const char *mtg_http_remote(const struct mtg_http_req *req);

/*
 * The token of one edge, derived from the server's token: "e1." and the hex
 * HMAC-SHA256 (key: the server token, message: "mtgan-edge:" + edge_id).
 * Holding it lets a client act as that edge and nothing else (no other
 * edge, no operator route), so an edge given only its own token cannot
 * impersonate another. out receives MTG_HTTP_EDGE_TOKEN_LEN + 1 bytes.
 */
int mtg_http_edge_token(const char *server_token, const char *edge_id, char *out, size_t cap, struct mtg_err *err);

/*
 * In the handler of an MTG_HTTP_EDGE route without an {edge} parameter
 * (registration: the id is in the body): 1 when the request may act as
 * edge_id - auth is off, it carries the server token, or edge_id's token.
 */
int mtg_http_authorized_edge(const struct mtg_http_req *req, const char *edge_id);

/*
 * True when the If-None-Match header lists etag (a quoted entity tag such
 * as "\"v7\"", weak or strong) or is "*"; then answer with
 * mtg_http_resp_not_modified.
 */
int mtg_http_etag_matches(const struct mtg_http_req *req, const char *etag);

/* ---- response helpers: each replaces any body set before ---- */

/* Takes ownership of json (freed even on failure). */
int mtg_http_resp_json(struct mtg_http_resp *resp, int status, struct cJSON *json);
/* Copies text, which must already be JSON. */
int mtg_http_resp_json_str(struct mtg_http_resp *resp, int status, const char *text);
/*
 * application/x-mtgan-blob. owned != 0: resp takes the malloc'd bytes and
 * frees them after sending (also on failure); owned == 0: bytes are copied.
 */
int mtg_http_resp_blob(struct mtg_http_resp *resp, int status, void *bytes, size_t len,
                       int owned);
/* Same ownership rule as the blob helper, content type image/png. */
int mtg_http_resp_png(struct mtg_http_resp *resp, int status, void *bytes, size_t len,
                      int owned);
/* Prometheus text exposition; text is copied. */
int mtg_http_resp_text(struct mtg_http_resp *resp, int status, const char *text, size_t len);
/* Any content type; same ownership rule as the blob helper. */
int mtg_http_resp_bytes(struct mtg_http_resp *resp, int status, const char *content_type,
                        void *bytes, size_t len, int owned);
/* {"error":{"code":code,"message":<formatted>}}. */
int mtg_http_resp_error(struct mtg_http_resp *resp, int status, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Error response from an mtg_err: status and code derived from err->code. */
int mtg_http_resp_err(struct mtg_http_resp *resp, const struct mtg_err *err);
/* 304 with an ETag and no body. */
int mtg_http_resp_not_modified(struct mtg_http_resp *resp, const char *etag);
/* Adds a response header (copied); at most 8 per response. */
int mtg_http_resp_header(struct mtg_http_resp *resp, const char *name, const char *value);

/* HTTP status for an MTG_E* code (EINVAL 400, ENOTFOUND 404, ...; else 500). */
int mtg_http_status_for(int code);
/* JSON error code string for an MTG_E* code ("not_found", ...); static. */
const char *mtg_http_code_for(int code);

#endif
