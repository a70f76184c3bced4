/*
 * fake_lc.h - a fake Sedna LocalController for tests: a libmicrohttpd server
 * on 127.0.0.1 (random port) that answers POST /sedna/workers/{name}/info
 * like pkg/localcontroller/server/server.go, records every request and
 * checks its body against the worker message shape (worker.go
 * MessageContent plus the enums the GM accepts).
 *
 *     unsigned short port;
 *     struct fake_lc *lc = fake_lc_start(&port);
 *     fake_lc_fail_next(lc, 2, 500);          // first two POSTs get 500
 *     ... point LC_SERVER at http://127.0.0.1:<port> and report ...
 *     struct fake_lc_report r;
 *     fake_lc_get(lc, 0, &r);                 // r.valid, r.why, r.body
 *     fake_lc_report_free(&r);
 *     fake_lc_stop(lc);
 */
#ifndef MTG_TESTS_FAKE_LC_H
#define MTG_TESTS_FAKE_LC_H

#include <stddef.h>

struct fake_lc;

/* One received request, copied out for the caller. */
struct fake_lc_report {
    char worker[128]; /* {worker-name} from the path (URL-decoded) */
    int http_status;  /* what the fake answered */
    int valid;        /* 1 when the body had the Sedna shape */
    char why[256];    /* the first shape violation when !valid */
    char *body;       /* the raw body, malloc'd, NUL-terminated */
};

/* Starts the server; *port receives the bound port. NULL on failure. The
 * caller owns the result and must fake_lc_stop it. */
struct fake_lc *fake_lc_start(unsigned short *port);

/* Stops the server and frees everything; accepts NULL. */
void fake_lc_stop(struct fake_lc *lc);

/* Answers the next n POSTs with http_status (e.g. 500) whatever their body. */
void fake_lc_fail_next(struct fake_lc *lc, int n, int http_status);

/* Number of POSTs received so far (failed ones included). */
size_t fake_lc_reports(struct fake_lc *lc);

/* Number of received POSTs whose body broke the shape. */
size_t fake_lc_invalid(struct fake_lc *lc);

/* Copies request i into *out (0 on success, -1 if i is out of range); the
 * caller frees it with fake_lc_report_free. */
int fake_lc_get(struct fake_lc *lc, size_t i, struct fake_lc_report *out);

void fake_lc_report_free(struct fake_lc_report *r);

#endif
