/*
 * history.h - what the dashboard draws: per task, a series of (time, step,
 * losses, quality) points, and a short log of events (task added, unknown
 * data reported, edge joined, target reached), served as GET /v1/history.
 *
 * Memory is fixed when a task's series starts: `capacity` points of
 * sizeof(struct mtg_srv_hist_point) bytes, whatever the run's length. A
 * full series keeps every other point and from then on stores one point
 * of every `stride` recorded (stride doubles each time), so a page opened
 * hours late still draws the whole curve from start to now, at a
 * resolution of at least capacity / 2 points. Every point and event gets a
 * sequence number from one counter, so a client asks for what is new with
 * ?since=<the last seq it saw> instead of the whole series.
 *
 *     struct mtg_srv_history *h = mtg_srv_history_new(2048, &err);
 *     struct mtg_srv_hist_point p = {.t_s = 1.5, .step = 200, .loss_d = 1.2f, .loss_g = 0.8f};
 *     mtg_srv_history_record(h, 0, "digit-0", &p);
 *     mtg_srv_history_event(h, 2.0, "task_added", "task digit-3 added through the API");
 *     cJSON *j = mtg_srv_history_json(h, since, NULL);   // the caller owns j
 *     mtg_srv_history_free(h);
 *
 * Thread-safe: one internal lock, independent of the server's, so polling
 * the page never waits for training. Callers that hold the server lock may
 * call in (the order is always server lock, then this one).
 */
#ifndef MTG_SERVER_HISTORY_H
#define MTG_SERVER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct mtg_err;
struct mtg_srv_history;

#define MTG_SRV_HIST_MIN 16
#define MTG_SRV_HIST_MAX (1 << 20)
#define MTG_SRV_HIST_TASKS 256   /* task slots (the server's task limit) */
#define MTG_SRV_HIST_EVENTS 128  /* the event log keeps the newest this many */

/* One point of a task's series. q_step = 0: not evaluated yet (quality fields meaningless). */
struct mtg_srv_hist_point {
    uint64_t seq;      /* set by record */
    double t_s;        /* seconds since the server started */
    uint64_t step;     /* the task's global steps */
    uint64_t q_step;   /* steps at which the quality below was measured */
    float loss_d;
    float loss_g;
    float fidelity;
    float fd;
    float precision;
    float recall;
    float coverage;
};

/* capacity points per task, in [MTG_SRV_HIST_MIN, MTG_SRV_HIST_MAX]. NULL with err set. Free with _free. */
struct mtg_srv_history *mtg_srv_history_new(int capacity, struct mtg_err *err);
void mtg_srv_history_free(struct mtg_srv_history *h);

/*
 * Appends p (copied; its seq is assigned) to task slot `task` (the server's
 * task index, < MTG_SRV_HIST_TASKS) named id. The first point of a task
 * allocates its series; MTG_ENOMEM then, MTG_ERANGE for a bad slot.
 */
int mtg_srv_history_record(struct mtg_srv_history *h, int task, const char *id, const struct mtg_srv_hist_point *p);

/* Appends an event (kind and text are copied, truncated to 23 and 159 bytes). */
void mtg_srv_history_event(struct mtg_srv_history *h, double t_s, const char *kind, const char *text);

/*
 * Copies up to max points of task with seq > since into out, oldest first;
 * returns how many (0 for an unknown slot).
 */
int mtg_srv_history_points(struct mtg_srv_history *h, int task, uint64_t since, struct mtg_srv_hist_point *out,
                           int max);

/*
 * Bytes the history holds right now (the struct, every started series, the
 * event log). Never more than mtg_srv_history_bound(capacity, tasks) for
 * that many started series.
 */
size_t mtg_srv_history_bytes(struct mtg_srv_history *h);
size_t mtg_srv_history_bound(int capacity, int tasks);

/*
 * The JSON of GET /v1/history: {"seq", "capacity", "columns": [...],
 * "tasks": {"<id>": {"stride", "points": [[seq, t_s, step, loss_d, loss_g,
 * q_step, fidelity, fd, precision, recall, coverage], ...]}}, "events":
 * [{"seq", "t_s", "kind", "text"}]}: only points and events with seq >
 * since; quality columns are null before a task's first evaluation. When
 * only_task is not NULL, only that task's series. NULL when out of memory;
 * the caller owns the result.
 */
struct cJSON *mtg_srv_history_json(struct mtg_srv_history *h, uint64_t since, const char *only_task);

#endif
