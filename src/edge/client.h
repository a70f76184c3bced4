/*
 * client.h - the edge's HTTP client: one libcurl handle per client (the
 * connection is kept alive between requests), a base URL, a bearer token,
 * timeouts, retries with exponential backoff and jitter, a response size
 * cap, byte counters, and the link emulation of DESIGN §10.
 *
 *     struct mtg_client_opts o = { .base_url = "http://127.0.0.1:8080",
 *                                  .token = tok, .stop = &stop_flag };
 *     struct mtg_client *c;
 *     if (mtg_client_new(&o, &c, &err) != MTG_OK) ...
 *     struct mtg_client_resp r;
 *     const char *hdr[] = { "If-None-Match: \"v7\"", NULL };
 *     int rc = mtg_client_request(c, "GET", "/v1/tasks/t/models/generator",
 *                                 NULL, 0, NULL, hdr, &r, &err);
 *     if (rc == MTG_OK && r.status == 200) use(r.body, r.len);
 *     mtg_client_resp_deinit(&r);
 *     mtg_client_free(c);
 *
 * A client is used by one thread at a time; its counters may be read from
 * any thread.
 */
#ifndef MTG_EDGE_CLIENT_H
#define MTG_EDGE_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct mtg_client;

struct mtg_client_opts {
    const char *base_url;      /* "http://host:port" (copied); required */
    const char *token;         /* bearer token (copied); NULL = none */
    const char *ca_file;       /* PEM bundle to verify an https server; NULL = system store */
    long connect_timeout_ms;   /* 0 = 5000 */
    long timeout_ms;           /* whole request; 0 = 120000 */
    size_t max_response;       /* response body cap in bytes; 0 = 256 MiB */
    int max_attempts;          /* tries per request, >= 1; 0 = 5 */
    long retry_base_ms;        /* first backoff; 0 = 200 */
    long retry_max_ms;         /* backoff ceiling; 0 = 10000 */
    /*
     * By default a POST is retried only when the server surely did not act
     * on it (connection refused, 503). Set this when the POST is idempotent
     * (e.g. carries a version the server deduplicates on) to also retry
     * after timeouts, resets and 500/502/504.
     */
    int retry_unsafe;
    /*
     * Link emulation (DESIGN §10), off when both are 0. After each
     * transfer the client sleeps, per direction, the one-way latency plus
     * bytes * 8 / (mbps * 1e6) seconds: once for the request bytes sent,
     * once for the response bytes received (whole messages: headers too). The sleeps
     * end early when *stop becomes non-zero; the full emulated time is
     * added to mtg_client_stats.link_ns either way, for the virtual clock.
     */
    double link_mbps;          /* 0 = no bandwidth limit */
    double link_latency_ms;    /* one-way; 0 = none */
    /*
     * Borrowed stop flag (may be NULL). A lock-free atomic int may be set
     * from a SIGTERM handler; non-zero aborts backoff waits, running
     * transfers and link sleeps promptly.
     */
    const atomic_int *stop;
    uint64_t seed;             /* backoff jitter; 0 = derived from time and address */
};

#define MTG_CLIENT_MAX_XHDR 8

struct mtg_client_xhdr {
    char name[64];
    char value[128];
};

struct mtg_client_resp {
    long status;          /* HTTP status; 0 when no response arrived */
    unsigned char *body;  /* malloc'd, owned by the caller via _deinit; NUL-terminated */
    size_t len;           /* body bytes, excluding the terminating NUL */
    char etag[128];       /* ETag header ("" if none) */
    char content_type[128];
    int attempts;         /* tries made */
    int n_xhdr;           /* captured "X-*" response headers */
    struct mtg_client_xhdr xhdr[MTG_CLIENT_MAX_XHDR];
};

struct mtg_client_stats {
    uint64_t requests;       /* attempts made */
    uint64_t retries;        /* attempts after the first, over all requests */
    uint64_t bytes_sent;     /* request bodies: what the server counts as bytes_in */
    uint64_t bytes_received; /* response bodies: the server's bytes_out */
    uint64_t link_ns;        /* emulated link time, for the virtual clock */
};

/* Creates a client; *out is owned by the caller (mtg_client_free). */
int mtg_client_new(const struct mtg_client_opts *opts, struct mtg_client **out,
                   struct mtg_err *err);

/*
 * Sets (or replaces) the borrowed stop flag of opts.stop, for owners that
 * learn it after creating the client. Call it while no request runs.
 */
void mtg_client_set_stop(struct mtg_client *c, const atomic_int *stop);

/* Frees the client and closes its connection; NULL is fine. */
void mtg_client_free(struct mtg_client *c);

/*
 * Sends method path (appended to the base URL; query included) with an
 * optional body (borrowed for the call; content_type may be NULL) and
 * extra_headers (NULL-terminated "Name: value" strings, may be NULL).
 * out is always initialised and must be released with
 * mtg_client_resp_deinit, whatever the result.
 *
 * Returns MTG_OK for 2xx and 304. Other statuses return an error with out
 * still filled: 400 EINVAL, 401/403 EAUTH, 404 ENOTFOUND, 409 ECONFLICT,
 * 413 ETOOBIG, 422 EFORMAT, 429/503 EUNAVAIL, other 5xx EIO, other 4xx
 * EINVAL; err->msg then carries the server's {"error":{code,message}}.
 * MTG_ENET when no response arrived after all attempts, MTG_ETOOBIG when
 * the response exceeds max_response, MTG_ESTOPPED when *stop was set.
 */
int mtg_client_request(struct mtg_client *c, const char *method, const char *path,
                       const void *body, size_t len, const char *content_type,
                       const char *const *extra_headers, struct mtg_client_resp *out,
                       struct mtg_err *err);

/*
 * GET path and parse the body as JSON (any status: error bodies are JSON
 * too). *status (may be NULL) gets the HTTP status, 0 without a response.
 * Returns the document (caller cJSON_Deletes it), or NULL when no response
 * arrived (err set) or the body is not JSON.
 */
struct cJSON *mtg_client_get_json(struct mtg_client *c, const char *path, long *status, struct mtg_err *err);

/* Value of a captured "X-*" response header (case-insensitive name), or NULL. */
const char *mtg_client_resp_header(const struct mtg_client_resp *resp, const char *name);

/* Frees the body; leaves resp zeroed. */
void mtg_client_resp_deinit(struct mtg_client_resp *resp);

void mtg_client_stats(const struct mtg_client *c, struct mtg_client_stats *out);

#endif
