/*
 * fake_apiserver.h - a fake Kubernetes API server for tests: a
 * libmicrohttpd server on 127.0.0.1 (random port, plain http) that serves
 * MultiTaskGANJob objects on GET and accepts JSON merge patches of their
 * status, answering like kube-apiserver does (metav1.Status bodies on
 * errors). Every request is recorded and checked: Authorization must be
 * "Bearer <token>", a PATCH must target .../multitaskganjobs/NAME/status with
 * Content-Type application/merge-patch+json and a body that is
 * {"status": {...}} matching the CRD's status schema. Valid patches are
 * merged into the stored object, so a later GET sees them.
 *
 *     unsigned short port;
 *     struct fake_apiserver *fa = fake_apiserver_start("s3cret", &port);
 *     fake_apiserver_put_job(fa, "mtgan", "digits", cr_json);
 *     fake_apiserver_fail_next(fa, 2, 500);        // the next two requests get 500
 *     ... MTGAN_K8S_API=http://127.0.0.1:<port> ...
 *     struct fake_apiserver_req r;
 *     fake_apiserver_get(fa, 0, &r);               // r.method, r.path, r.valid, r.why, r.body
 *     fake_apiserver_req_free(&r);
 *     fake_apiserver_stop(fa);
 */
#ifndef MTG_TESTS_FAKE_APISERVER_H
#define MTG_TESTS_FAKE_APISERVER_H

#include <stddef.h>

struct fake_apiserver;

/* One received request, copied out for the caller. */
struct fake_apiserver_req {
    char method[16];
    char path[512];
    char auth[512];         /* Authorization header, "" if absent */
    char content_type[128]; /* "" if absent */
    int http_status;        /* what the fake answered */
    int valid;              /* 1 when path, method, headers and body were as required */
    char why[256];          /* the first violation when !valid */
    char *body;             /* raw body, malloc'd, NUL-terminated ("" for none) */
};

/* Starts the server; token is the only bearer token accepted (copied). *port receives the
 * bound port. NULL on failure; the caller owns the result (fake_apiserver_stop). */
struct fake_apiserver *fake_apiserver_start(const char *token, unsigned short *port);

/* Stops the server and frees everything; accepts NULL. */
void fake_apiserver_stop(struct fake_apiserver *fa);

/* Stores (or replaces) the object served at namespaces/ns/multitaskganjobs/name. json is the
 * whole object; copied. Returns 0, or -1 if json does not parse or memory runs out. */
int fake_apiserver_put_job(struct fake_apiserver *fa, const char *ns, const char *name,
                           const char *json);

/* The stored object (with merged status patches) as new JSON text; caller frees. NULL if none. */
char *fake_apiserver_job_json(struct fake_apiserver *fa, const char *ns, const char *name);

/* Answers the next n requests with http_status (e.g. 500, 503) before looking at them. */
void fake_apiserver_fail_next(struct fake_apiserver *fa, int n, int http_status);

/* Requests received so far (failed ones included) / of them, those that broke a rule. */
size_t fake_apiserver_requests(struct fake_apiserver *fa);
size_t fake_apiserver_invalid(struct fake_apiserver *fa);

/* Copies request i into *out (0, or -1 if out of range); free with fake_apiserver_req_free. */
int fake_apiserver_get(struct fake_apiserver *fa, size_t i, struct fake_apiserver_req *out);
void fake_apiserver_req_free(struct fake_apiserver_req *r);

#endif
