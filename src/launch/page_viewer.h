/*
 * page_viewer.h - a simulated dashboard viewer for load tests: a thread
 * that requests what src/server/dashboard/dashboard.js requests, at the
 * same rates: the page and its two files once, then every 2 s
 * /v1/status, /v1/history?since=<last seq>, /v1/edges and /v1/scheduler,
 * and a task's sample grid (48 samples, PNG) when its model version moved
 * and its last grid is at least 5 s old. `mtgan bench load --load-page 1`
 * runs one beside the simulated edges, to measure what an open page costs
 * the server.
 *
 *     struct mtg_page_viewer *v;
 *     mtg_page_viewer_start("http://127.0.0.1:8080", &v, &err);
 *     ...
 *     struct mtg_page_viewer_stats st;
 *     mtg_page_viewer_stop(v, &st);   // joins and frees
 */
#ifndef MTG_LAUNCH_PAGE_VIEWER_H
#define MTG_LAUNCH_PAGE_VIEWER_H

#include <stdint.h>

struct mtg_err;
struct mtg_page_viewer;

struct mtg_page_viewer_stats {
    uint64_t polls;     /* rounds of the four JSON requests */
    uint64_t requests;  /* every request, grids included */
    uint64_t errors;    /* no answer, or not 200/304 */
    uint64_t grids;     /* sample grids fetched */
    uint64_t bytes;     /* response bodies received */
};

/* Starts polling base_url at once; *out is released by mtg_page_viewer_stop. */
int mtg_page_viewer_start(const char *base_url, struct mtg_page_viewer **out, struct mtg_err *err);
/* Stops the thread (within one poll), fills st (may be NULL) and frees v; NULL is fine. */
void mtg_page_viewer_stop(struct mtg_page_viewer *v, struct mtg_page_viewer_stats *st);

#endif
