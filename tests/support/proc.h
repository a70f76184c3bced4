/*
 * proc.h - helpers for the integration tests (tests/integration): temp
 * dirs, starting mtgan-server / mtgan-edge / mtgan as real child processes
 * on 127.0.0.1, a tiny raw-socket HTTP/1.1 client (raw so hostile requests
 * such as "/v1/tasks/%2e%2e" reach the server byte for byte), JSON and
 * /metrics accessors, and waiting with a deadline.
 *
 *     char dir[256];
 *     tp_tmpdir(dir, sizeof dir);                       // removed by tp_cleanup
 *     tp_write_file(cfg_path, "{\"data\": {\"dataset\": \"ring\"}}");
 *     struct tp_server s;
 *     cr_assert_eq(tp_server_start(&s, cfg_path, dir, NULL), 0);
 *     struct tp_resp r;
 *     tp_get(s.port, "/healthz", &r);                   // r.status == 200
 *     tp_resp_free(&r);
 *     tp_stop(s.pid, SIGTERM, 5000);                    // exit status
 *
 * Every child is started with PR_SET_PDEATHSIG and recorded; tp_cleanup()
 * (registered with atexit on first use; call it from a criterion .fini
 * too) SIGKILLs and reaps the ones still running and removes every temp
 * dir (MTGAN_IT_KEEP=1 keeps them, for debugging). Binaries come from $MTGAN_BIN_DIR (default out/bin), data from
 * $MTGAN_DATA_DIR. Helpers return 0 / a value >= 0 on success, < 0 on error.
 */
#ifndef MTG_TESTS_PROC_H
#define MTG_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct cJSON;

/* ---- files and temp dirs ---- */

/* mkdtemp under $TMPDIR (or /tmp), recorded for removal by tp_cleanup. */
int tp_tmpdir(char *out, size_t n);
/* rm -rf dir (only paths created by tp_tmpdir are ever passed here by tests). */
void tp_rm_rf(const char *dir);
int tp_write_file(const char *path, const char *text);
int tp_write_bytes(const char *path, const void *data, size_t len);
/* Whole file, malloc'd and NUL-terminated; NULL when unreadable. */
char *tp_read_file(const char *path, size_t *len);
int tp_file_exists(const char *path);
/* Directory of the mtgan binaries ($MTGAN_BIN_DIR or "out/bin"). */
const char *tp_bin_dir(void);

/* ---- processes ---- */

/*
 * Starts prog (a name in tp_bin_dir() or an absolute path) with argv
 * (argv[0] included, NULL-terminated) in cwd (NULL = ours), stdout and
 * stderr appended to log_path (NULL = /dev/null); with out_fd, stdout goes
 * to a pipe whose read end is returned there instead. Returns the pid.
 */
pid_t tp_spawn(const char *prog, char *const argv[], const char *cwd, const char *log_path, int *out_fd);
/* Waits up to timeout_ms for pid; returns its wait status, or -1 on timeout (pid left running). */
int tp_wait(pid_t pid, int timeout_ms);
/* Sends sig, waits up to timeout_ms, then SIGKILL; returns the wait status (or -1). */
int tp_stop(pid_t pid, int sig, int timeout_ms);
/* 1 while pid runs (reaps it when it has exited and records its status). */
int tp_alive(pid_t pid);
/* Exit status recorded when tp_alive/tp_wait reaped pid; -1 if unknown. */
int tp_exit_status(pid_t pid);
/* Kills and reaps every child still running, removes every temp dir. Idempotent. */
void tp_cleanup(void);

struct tp_server {
    pid_t pid;
    unsigned port;
    char log[600];
};

/*
 * mtgan-server --config cfg --port 0 [extra...] with stderr in
 * <dir>/server.log (appended); reads "mtgan-server listening on port N"
 * from stdout (60 s at most). Returns 0, or -1 when the server exited or
 * never printed its port (s->pid is then reaped or killed).
 */
int tp_server_start(struct tp_server *s, const char *cfg, const char *dir, char *const extra[]);

/* mtgan-edge --config cfg --server http://127.0.0.1:port --edge-id id --edge-index i --edges n [extra...];
 * log in <dir>/<id>.log. Returns the pid or -1. */
pid_t tp_edge_start(const char *cfg, unsigned port, const char *dir, const char *id, int index, int n_edges,
                    char *const extra[]);

/* ---- HTTP ---- */

struct tp_resp {
    int status;      /* 0 when no response could be read */
    char *body;      /* malloc'd, NUL-terminated (may hold NULs inside for blobs) */
    size_t len;
    char etag[128];
    char ctype[128];
    char allow[128];
    char csp[512];   /* Content-Security-Policy */
};

/*
 * One request on a fresh connection (Connection: close). headers are
 * NULL-terminated "Name: value" strings (may be NULL). A body is sent with
 * Content-Length; if the server answers while the body is still being
 * sent (413), sending stops and the answer is read. Returns 0 when a
 * status line was read, else -1. Release out with tp_resp_free.
 */
int tp_http(unsigned port, const char *method, const char *path, const char *const *headers, const void *body,
            size_t len, struct tp_resp *out);
int tp_get(unsigned port, const char *path, struct tp_resp *out);
void tp_resp_free(struct tp_resp *r);

/* Body parsed as JSON (caller frees with cJSON_Delete), NULL if not JSON. */
struct cJSON *tp_json(const struct tp_resp *r);
/* GET path and parse; NULL unless 200 + JSON. */
struct cJSON *tp_get_json(unsigned port, const char *path);
/*
 * 1 when r's body is {"error": {"code": "<string>", "message": "<string>"}};
 * copies the message into msg (may be NULL).
 */
int tp_is_error(const struct tp_resp *r, char *msg, size_t n);

/* Value of the exact sample line "<name> <value>" in GET /metrics; NaN if absent. */
double tp_metric(unsigned port, const char *name);

/* Number at a dotted path in /v1/status ("tasks.ring.steps", "done"); NaN if absent. */
double tp_status_number(unsigned port, const char *path);
/* Polls tp_status_number(port, path) until it equals want: 0, or -1 after timeout_s. */
int tp_wait_status(unsigned port, const char *path, double want, double timeout_s);

/* ---- time ---- */

double tp_now_s(void);
/* $MTGAN_IT_TIME_SCALE (default 1; `make sanitize` sets 3): multiplies training deadlines,
 * because ASan/UBSan builds train several times slower. Criterion suite timeouts stay fixed. */
double tp_time_scale(void);
void tp_sleep_ms(int ms);

#endif
