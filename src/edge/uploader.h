/*
 * uploader.h - the edge's background transfer thread (scheduler.edge.overlap).
 * It owns a FIFO of HTTP requests and runs them, one at a time and in
 * order, on its own client, so that pushing task k's delta and prefetching
 * task k+1's model (and the emulated link sleeps they cost) overlap the
 * training of the next task on the edge's main thread. libcurl handles are
 * not shared between threads: the client passed in is used by this thread
 * only, from edge_xfer_new until edge_xfer_free returns.
 *
 *     struct edge_xfer *x;
 *     edge_xfer_new(up_client, "e1", &x, &err);
 *     int id = edge_xfer_submit(x, "POST", path, NULL, bytes, len, "push digit-3");
 *     ... train the next task ...
 *     struct edge_xfer_result res;
 *     edge_xfer_wait(x, id, &res);        // res.rc, res.err, res.resp
 *     mtg_client_resp_deinit(&res.resp);
 *     edge_xfer_free(x);                  // joins the thread
 */
#ifndef MTG_EDGE_UPLOADER_H
#define MTG_EDGE_UPLOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "edge/client.h"

/* Jobs in flight at once: one push and one prefetch per assignment item. */
#define EDGE_XFER_MAX_JOBS 80

struct edge_xfer;

struct edge_xfer_result {
    int rc;                      /* mtg_client_request's status */
    struct mtg_err err;          /* its message when rc != MTG_OK */
    struct mtg_client_resp resp; /* owned by the caller: mtg_client_resp_deinit */
    double blocked_s;            /* wall seconds edge_xfer_wait blocked the caller */
};

/*
 * Starts the thread. c is borrowed and must outlive the edge_xfer; nobody
 * else may use it meanwhile. edge_id only prefixes log lines (copied).
 * *out is owned by the caller (edge_xfer_free).
 */
int edge_xfer_new(struct mtg_client *c, const char *edge_id, struct edge_xfer **out, struct mtg_err *err);

/*
 * Lets the running request finish (a set stop flag of the client aborts
 * it promptly), drops the queued ones and their results, joins the
 * thread and frees x. NULL is fine.
 */
void edge_xfer_free(struct edge_xfer *x);

/*
 * Queues method path with an optional extra header ("Name: value", copied;
 * NULL = none) and body. body must be malloc'd; its ownership passes to x
 * when a job id is returned, and stays with the caller otherwise (NULL
 * with len 0 = no body; sent as the mtgan blob content type otherwise). tag names the job in log lines ("push digit-3").
 * Returns a job id >= 0 for edge_xfer_wait, or MTG_ERANGE when
 * EDGE_XFER_MAX_JOBS are already waiting to be collected.
 */
int edge_xfer_submit(struct edge_xfer *x, const char *method, const char *path, const char *header,
                     uint8_t *body, size_t len, const char *tag);

/* Blocks until job id has run and moves its result into *out; the id is then free again. */
void edge_xfer_wait(struct edge_xfer *x, int id, struct edge_xfer_result *out);

#endif
