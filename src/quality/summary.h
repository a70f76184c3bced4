/*
 * summary.h - the result of a long-running command (train-local, demo,
 * bench, eval) as a human table and as the JSON of DESIGN §9:
 *   {"protocol", "wall_s", "server_peak_rss_bytes", "bytes_sent",
 *    "bytes_received", "tasks": {"<task>": {"fidelity", "fd", "precision",
 *    "recall", "coverage", "steps", ..., "ceiling": {"precision", "recall",
 *    "coverage", "fd", "fidelity", "n"}}}}
 * "ceiling" is the task's real-vs-real ceiling (quality.h), present when
 * known; the table prints each metric as model/ceiling.
 *
 *     struct mtg_summary s = {.protocol = "mtgan", .wall_s = 12.5};
 *     struct mtg_summary_task row = {.id = "digit-3", .steps = 5000, .reached_s = -1};
 *     mtg_summary_task_set_quality(&row, &r, mtg_quality_ceiling(q, 3));
 *     mtg_summary_add(&s, &row);
 *     mtg_summary_print(stdout, &s);
 *     mtg_summary_write_json(&s, "out.json", &err);
 */
#ifndef MTG_QUALITY_SUMMARY_H
#define MTG_QUALITY_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "quality/quality.h"

struct mtg_err;

#define MTG_SUMMARY_MAX_TASKS 256

struct mtg_summary_task {
    char id[64];
    double fidelity;
    double fd;
    double precision;
    double recall;
    double coverage;
    uint64_t steps;
    double reached_s; /* seconds to the quality target; < 0 = not reached */
    double fd_ref;    /* train-local: median FD of the last evaluations (the reference); 0 = n/a */
    double recall_ref;
    struct mtg_quality_task ceiling; /* real-vs-real (quality.h); n = 0 = unknown, left out */
};

struct mtg_summary {
    char protocol[16];
    double wall_s;
    long server_peak_rss_bytes; /* < 0 = not measured */
    uint64_t bytes_sent;        /* edges -> server */
    uint64_t bytes_received;    /* server -> edges */
    int n_tasks;
    struct mtg_summary_task tasks[MTG_SUMMARY_MAX_TASKS];
};

/* Copies r's metrics into row and, when ceiling is non-NULL, the ceiling (else marks it unknown). */
void mtg_summary_task_set_quality(struct mtg_summary_task *row, const struct mtg_quality_task *r,
                                  const struct mtg_quality_task *ceiling);
/* Appends a row; ignored when full. */
void mtg_summary_add(struct mtg_summary *s, const struct mtg_summary_task *t);
/* Counts tasks whose fidelity is at least threshold. */
int mtg_summary_count_fidelity(const struct mtg_summary *s, double threshold);
void mtg_summary_print(FILE *f, const struct mtg_summary *s);
/*
 * Adds "ceiling": {"precision", "recall", "coverage", "fd", "fidelity", "n"}
 * to the JSON object parent (n: real images scored): the one shape every
 * quality JSON uses (summary, bench, GET /v1/tasks/{t}). Returns the new
 * object, owned by parent.
 */
struct cJSON;
struct cJSON *mtg_summary_ceiling_json(struct cJSON *parent, const struct mtg_quality_task *c);
/* Writes the §9 JSON atomically (path.tmp + rename). */
int mtg_summary_write_json(const struct mtg_summary *s, const char *path, struct mtg_err *err);

#endif
