/*
 * launch.h - starts and stops mtgan processes on 127.0.0.1 for `mtgan
 * demo`, `mtgan bench` and the integration tests. Children receive the
 * parent's effective configuration as a JSON file (--config), so every
 * process agrees on tasks, networks, seeds and the data partition; only
 * per-process settings (edge index, emulation profile) are flags.
 *
 *     struct mtg_launch *l;
 *     mtg_launch_new(&cfg, "/tmp/run", &l, &err);      // writes run/config.json
 *     mtg_launch_server(l, &port, &err);               // mtgan-server --port 0
 *     mtg_launch_edges(l, port, &err);                 // cfg.n_edges mtgan-edge
 *     ... poll GET /v1/status ...
 *     mtg_launch_free(l);                              // SIGTERM, then SIGKILL
 */
#ifndef MTG_LAUNCH_LAUNCH_H
#define MTG_LAUNCH_LAUNCH_H

#include <sys/types.h>

#include "config/config.h"

struct mtg_client;
struct mtg_client_opts;

struct mtg_err;
struct mtg_launch;

#define MTG_LAUNCH_MAX_EDGES 256

/* Removes checkpoint files (state*.json, ckpt-*.blob) from dir so a run starts fresh; other files stay. */
void mtg_launch_clear_checkpoints(const char *dir);

/* Directory of the running executable (where mtgan-server and mtgan-edge live). */
int mtg_launch_bindir(char *out, size_t n, struct mtg_err *err);

/* cfg is copied and written to <run_dir>/config.json; run_dir must exist. */
int mtg_launch_new(const struct mtg_cfg *cfg, const char *run_dir, struct mtg_launch **out, struct mtg_err *err);

/* Starts mtgan-server on an ephemeral port; *port receives the bound port. */
int mtg_launch_server(struct mtg_launch *l, unsigned *port, struct mtg_err *err);
pid_t mtg_launch_server_pid(const struct mtg_launch *l);
/*
 * mtg_launch_server, then a client of it built from opts (its base_url is
 * ignored; NULL = 3 attempts per request, other client defaults). The
 * caller frees *c with mtg_client_free().
 */
int mtg_launch_server_client(struct mtg_launch *l, const struct mtg_client_opts *opts, unsigned *port,
                             struct mtg_client **c, struct mtg_err *err);

/* Copies the regular files of directory from into directory to (a server's state: checkpoint, caches). */
int mtg_launch_copy_files(const char *from, const char *to, struct mtg_err *err);

/* Starts cfg.n_edges edges against 127.0.0.1:port with their emulation profiles. */
int mtg_launch_edges(struct mtg_launch *l, unsigned port, struct mtg_err *err);
/* Starts (or restarts) edge i only. */
int mtg_launch_edge(struct mtg_launch *l, int i, unsigned port, struct mtg_err *err);
pid_t mtg_launch_edge_pid(const struct mtg_launch *l, int i);
/* Number of edge processes still running (reaps the exited ones). */
int mtg_launch_edges_alive(struct mtg_launch *l);

/* Peak RSS (VmHWM) of the server process in bytes, or -1. Read it before stopping. */
long mtg_launch_server_peak_rss(const struct mtg_launch *l);

/* SIGTERM to every child, wait up to timeout_ms, then SIGKILL. */
void mtg_launch_stop(struct mtg_launch *l, int timeout_ms);
void mtg_launch_free(struct mtg_launch *l);

#endif
