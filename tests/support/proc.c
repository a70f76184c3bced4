/* proc.c - see proc.h. Self-contained: POSIX sockets, fork/exec, cJSON. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "proc.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TP_MAX_CHILDREN 128
#define TP_MAX_DIRS 32
#define TP_IO_TIMEOUT_S 60

static struct {
    pid_t pid;
    int status; /* wait status once reaped */
    int reaped;
} children[TP_MAX_CHILDREN];
static int n_children;
static char dirs[TP_MAX_DIRS][256];
static int n_dirs;
static int registered;

static void ensure_atexit(void)
{
    if (!registered) {
        registered = 1;
        atexit(tp_cleanup);
    }
}

/* ---- files ---- */

int tp_tmpdir(char *out, size_t n)
{
    ensure_atexit();
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    if (snprintf(out, n, "%s/mtgan-it-XXXXXX", base) >= (int)n)
        return -1;
    if (!mkdtemp(out))
        return -1;
    if (n_dirs < TP_MAX_DIRS)
        snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", out);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void tp_rm_rf(const char *dir)
{
    if (dir && dir[0] && strcmp(dir, "/") != 0)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tp_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int tp_write_file(const char *path, const char *text) { return tp_write_bytes(path, text, strlen(text)); }

char *tp_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tp_file_exists(const char *path) { return access(path, F_OK) == 0; }

const char *tp_bin_dir(void)
{
    const char *d = getenv("MTGAN_BIN_DIR");
    return d && d[0] ? d : "out/bin";
}

/* ---- processes ---- */

static int child_slot(pid_t pid)
{
    for (int i = 0; i < n_children; i++)
        if (children[i].pid == pid)
            return i;
    return -1;
}

pid_t tp_spawn(const char *prog, char *const argv[], const char *cwd, const char *log_path, int *out_fd)
{
    ensure_atexit();
    char path[1024];
    if (prog[0] == '/')
        snprintf(path, sizeof path, "%s", prog);
    else
        snprintf(path, sizeof path, "%s/%s", tp_bin_dir(), prog);
    int pfd[2] = {-1, -1};
    if (out_fd && pipe(pfd) != 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        if (out_fd)
            close(pfd[0]), close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* Own process group (so a demo's edges can be killed with it); die with the test. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int logfd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (logfd >= 0) {
            dup2(logfd, 2);
            dup2(logfd, 1);
            close(logfd);
        }
        if (out_fd) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        execv(path, argv);
        fprintf(stderr, "tp_spawn: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent, so there is no window */
    if (out_fd) {
        close(pfd[1]);
        *out_fd = pfd[0];
    }
    if (n_children < TP_MAX_CHILDREN) {
        children[n_children].pid = pid;
        children[n_children].reaped = 0;
        children[n_children].status = -1;
        n_children++;
    }
    return pid;
}

static void record(pid_t pid, int status)
{
    int i = child_slot(pid);
    if (i >= 0) {
        children[i].reaped = 1;
        children[i].status = status;
    }
}

int tp_alive(pid_t pid)
{
    int i = child_slot(pid);
    if (i >= 0 && children[i].reaped)
        return 0;
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
        record(pid, status);
        return 0;
    }
    return r == 0;
}

int tp_exit_status(pid_t pid)
{
    int i = child_slot(pid);
    return i >= 0 && children[i].reaped ? children[i].status : -1;
}

int tp_wait(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    double end = tp_now_s() + timeout_ms / 1000.0;
    for (;;) {
        if (!tp_alive(pid))
            return tp_exit_status(pid);
        if (tp_now_s() >= end)
            return -1;
        tp_sleep_ms(10);
    }
}

int tp_stop(pid_t pid, int sig, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    if (tp_alive(pid))
        kill(pid, sig);
    int st = tp_wait(pid, timeout_ms);
    if (st == -1 && tp_alive(pid)) {
        kill(-pid, SIGKILL); /* the group: a demo's own children go with it */
        kill(pid, SIGKILL);
        st = tp_wait(pid, 5000);
    }
    return st;
}

void tp_cleanup(void)
{
    for (int i = 0; i < n_children; i++) {
        pid_t pid = children[i].pid;
        if (pid <= 0)
            continue;
        if (!children[i].reaped) {
            /* The whole group: children of a child (a demo's edges) go with it. */
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            int status;
            if (waitpid(pid, &status, 0) == pid)
                record(pid, status);
        }
    }
    n_children = 0;
    const char *keep = getenv("MTGAN_IT_KEEP"); /* debugging: keep logs and state */
    for (int i = 0; i < n_dirs; i++) {
        if (keep && keep[0] == '1')
            fprintf(stderr, "MTGAN_IT_KEEP: kept %s\n", dirs[i]);
        else
            tp_rm_rf(dirs[i]);
    }
    n_dirs = 0;
}

int tp_server_start(struct tp_server *s, const char *cfg, const char *dir, char *const extra[])
{
    memset(s, 0, sizeof *s);
    snprintf(s->log, sizeof s->log, "%s/server.log", dir);
    char *argv[32] = {"mtgan-server", "--config", (char *)cfg, "--port", "0"};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int fd = -1;
    s->pid = tp_spawn("mtgan-server", argv, NULL, s->log, &fd);
    if (s->pid < 0)
        return -1;
    /* Read stdout line by line until the port line, EOF (exit) or 60 s: a hang catch, not a threshold
     * (a wide model takes seconds to build on a busy machine). */
    char buf[4096];
    size_t len = 0;
    double end = tp_now_s() + 60;
    unsigned port = 0;
    while (!port && tp_now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *line = strstr(buf, "mtgan-server listening on port ");
        if (line && strchr(line, '\n'))
            sscanf(line, "mtgan-server listening on port %u", &port);
        if (len == sizeof buf - 1)
            len = 0;
    }
    close(fd);
    if (!port) {
        tp_stop(s->pid, SIGKILL, 2000);
        return -1;
    }
    s->port = port;
    return 0;
}

pid_t tp_edge_start(const char *cfg, unsigned port, const char *dir, const char *id, int index, int n_edges,
                    char *const extra[])
{
    char url[64], idx[16], n[16], log[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    snprintf(idx, sizeof idx, "%d", index);
    snprintf(n, sizeof n, "%d", n_edges);
    snprintf(log, sizeof log, "%s/%s.log", dir, id);
    char *argv[32] = {"mtgan-edge", "--config", (char *)cfg, "--server", url, "--edge-id", (char *)id,
                      "--edge-index", idx, "--edges", n};
    int k = 11;
    for (int i = 0; extra && extra[i] && k < 31; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    return tp_spawn("mtgan-edge", argv, NULL, log, NULL);
}

/* ---- HTTP ---- */

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void header_value(const char *hdrs, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    for (const char *p = hdrs; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return;
        }
        p = eol + 2;
    }
}

/* Decodes a chunked body in place; returns the decoded length. */
static size_t dechunk(char *b, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        char *end;
        unsigned long sz = strtoul(b + in, &end, 16);
        char *crlf = strstr(b + in, "\r\n");
        if (!crlf || end == b + in)
            break;
        in = (size_t)(crlf - b) + 2;
        if (sz == 0 || in + sz > len)
            break;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz + 2;
    }
    b[out] = '\0';
    return out;
}

int tp_http(unsigned port, const char *method, const char *path, const char *const *headers, const void *body,
            size_t len, struct tp_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {TP_IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    size_t hcap = 4096 + strlen(path);
    char *h = malloc(hcap);
    if (!h) {
        close(fd);
        return -1;
    }
    int hl = snprintf(h, hcap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method, path, port);
    for (int i = 0; headers && headers[i] && (size_t)hl < hcap; i++)
        hl += snprintf(h + hl, hcap - (size_t)hl, "%s\r\n", headers[i]);
    int wants_body = body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    if (wants_body && (size_t)hl < hcap)
        hl += snprintf(h + hl, hcap - (size_t)hl, "Content-Length: %zu\r\n", len);
    if ((size_t)hl < hcap)
        hl += snprintf(h + hl, hcap - (size_t)hl, "\r\n");
    int ok = (size_t)hl < hcap && send_all(fd, h, (size_t)hl) == 0;
    free(h);
    /* Send the body in pieces; stop as soon as the server has answered (an early 413). */
    const char *p = body;
    for (size_t off = 0; ok && body && off < len;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, off == 0 && len > 65536 ? 200 : 0) > 0)
            break;
        size_t n = len - off < 16384 ? len - off : 16384;
        if (send_all(fd, p + off, n) != 0)
            break;
        off += n;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[n] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        out->status = 0;
        return -1;
    }
    sep[2] = '\0'; /* headers end with the last header's CRLF */
    header_value(buf, "ETag", out->etag, sizeof out->etag);
    header_value(buf, "Content-Type", out->ctype, sizeof out->ctype);
    header_value(buf, "Allow", out->allow, sizeof out->allow);
    header_value(buf, "Content-Security-Policy", out->csp, sizeof out->csp);
    char cl[32], te[64];
    header_value(buf, "Content-Length", cl, sizeof cl);
    header_value(buf, "Transfer-Encoding", te, sizeof te);
    size_t hdr_len = (size_t)(sep - buf) + 4;
    size_t blen = n - hdr_len;
    out->body = malloc(blen + 1);
    if (!out->body) {
        free(buf);
        return -1;
    }
    memcpy(out->body, buf + hdr_len, blen);
    out->body[blen] = '\0';
    if (strcasecmp(te, "chunked") == 0)
        blen = dechunk(out->body, blen);
    else if (cl[0] && strtoull(cl, NULL, 10) < blen)
        blen = strtoull(cl, NULL, 10);
    out->len = blen;
    free(buf);
    return 0;
}

int tp_get(unsigned port, const char *path, struct tp_resp *out)
{
    return tp_http(port, "GET", path, NULL, NULL, 0, out);
}

void tp_resp_free(struct tp_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

cJSON *tp_json(const struct tp_resp *r)
{
    return r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
}

cJSON *tp_get_json(unsigned port, const char *path)
{
    struct tp_resp r;
    cJSON *o = NULL;
    if (tp_get(port, path, &r) == 0 && r.status == 200)
        o = tp_json(&r);
    tp_resp_free(&r);
    return o;
}

int tp_is_error(const struct tp_resp *r, char *msg, size_t n)
{
    cJSON *o = tp_json(r);
    cJSON *e = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
    cJSON *code = e ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
    cJSON *m = e ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
    int ok = cJSON_IsObject(e) && cJSON_IsString(code) && code->valuestring[0] && cJSON_IsString(m);
    if (msg && n)
        snprintf(msg, n, "%s", ok ? m->valuestring : "");
    cJSON_Delete(o);
    return ok;
}

double tp_metric(unsigned port, const char *name)
{
    struct tp_resp r;
    double v = NAN;
    if (tp_get(port, "/metrics", &r) == 0 && r.status == 200) {
        size_t nl = strlen(name);
        for (const char *p = r.body; p && *p;) {
            if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
                v = strtod(p + nl + 1, NULL);
                break;
            }
            p = strchr(p, '\n');
            if (p)
                p++;
        }
    }
    tp_resp_free(&r);
    return v;
}

double tp_status_number(unsigned port, const char *path)
{
    cJSON *o = tp_get_json(port, "/v1/status");
    cJSON *cur = o;
    char key[128];
    for (const char *p = path; cur && *p;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l >= sizeof key)
            l = sizeof key - 1;
        memcpy(key, p, l);
        key[l] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p = dot ? dot + 1 : p + l;
    }
    double v = cur && cJSON_IsNumber(cur) ? cur->valuedouble : cur && cJSON_IsBool(cur) ? cJSON_IsTrue(cur) : NAN;
    cJSON_Delete(o);
    return v;
}

int tp_wait_status(unsigned port, const char *path, double want, double timeout_s)
{
    double t0 = tp_now_s();
    do {
        if (tp_status_number(port, path) == want)
            return 0;
        tp_sleep_ms(200);
    } while (tp_now_s() - t0 < timeout_s);
    return -1;
}

/* ---- time ---- */

double tp_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double tp_time_scale(void)
{
    const char *v = getenv("MTGAN_IT_TIME_SCALE");
    double k = v ? strtod(v, NULL) : 1.0;
    return k >= 1.0 && k <= 100.0 ? k : 1.0;
}

void tp_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
