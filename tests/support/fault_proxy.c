/* fault_proxy.c - see fault_proxy.h. */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAP_HEAD_MAX 8192
#define PEND_MAX 64
#define POLL_MS 50
/* After the client vanished, keep reading the server's answer this long so the tap sees it. */
#define DRAIN_MS 3000

struct tp_proxy {
    int lfd;
    unsigned port;
    uint64_t seed;
    atomic_uint upstream;
    atomic_int partition;
    atomic_int stop;
    atomic_int active;          /* connection threads still running */
    atomic_uint_fast64_t next_conn;
    _Atomic double reset_rate;
    pthread_t acceptor;

    pthread_mutex_t mu;         /* guards stats and the log */
    struct tp_proxy_stats st;
    struct tp_proxy_exchange *log;
    size_t n_log;
    size_t cap_log;
};

/* Incremental HTTP/1.1 framing of one direction: header block, then Content-Length body bytes. */
struct tap {
    char head[TAP_HEAD_MAX];
    size_t hlen;
    uint64_t body_left;
    int in_body;
    int broken;                 /* chunked or oversized: stop interpreting this direction */
    long cur;                   /* response: log index being answered */
    int cur_status;
    char body[64];
    size_t blen;
};

struct conn {
    struct tp_proxy *p;
    uint64_t id;
    int cfd;
    int ufd;
    uint64_t rng;
    long reset_after;           /* bytes until the injected reset; -1 = none planned */
    int reset_down;             /* count those bytes in the answer (the request got through) */
    struct tap up;              /* client -> server */
    struct tap down;            /* server -> client */
    long pend[PEND_MAX];        /* log indices of requests awaiting an answer, oldest first */
    int n_pend;
};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void stat_add(struct tp_proxy *p, uint64_t *field)
{
    pthread_mutex_lock(&p->mu);
    (*field)++;
    pthread_mutex_unlock(&p->mu);
}

/* Closes with RST instead of FIN: the peer sees "connection reset", as after a TCP give-up. */
static void close_rst(int fd)
{
    if (fd < 0)
        return;
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static long log_new_request(struct tp_proxy *p, uint64_t conn, const char *head)
{
    struct tp_proxy_exchange x = {.conn = conn};
    const char *sp = strchr(head, ' ');
    const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (!sp || !sp2)
        return -1;
    size_t ml = (size_t)(sp - head), pl = (size_t)(sp2 - sp - 1);
    memcpy(x.method, head, ml < sizeof x.method - 1 ? ml : sizeof x.method - 1);
    memcpy(x.path, sp + 1, pl < sizeof x.path - 1 ? pl : sizeof x.path - 1);
    pthread_mutex_lock(&p->mu);
    long idx = -1;
    if (p->n_log == p->cap_log) {
        size_t cap = p->cap_log ? p->cap_log * 2 : 1024;
        struct tp_proxy_exchange *n = realloc(p->log, cap * sizeof *n);
        if (n) {
            p->log = n;
            p->cap_log = cap;
        }
    }
    if (p->n_log < p->cap_log) {
        p->log[p->n_log] = x;
        idx = (long)p->n_log++;
    }
    p->st.exchanges++;
    pthread_mutex_unlock(&p->mu);
    return idx;
}

static uint64_t header_u64(const char *head, const char *name, int *found)
{
    size_t nl = strlen(name);
    *found = 0;
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            *found = 1;
            return strtoull(l + 3 + nl, NULL, 10);
        }
    }
    return 0;
}

static int header_has(const char *head, const char *name, const char *value)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            const char *v = l + 3 + nl, *e = strstr(v, "\r\n");
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            for (size_t i = 0; i + strlen(value) <= vl; i++)
                if (strncasecmp(v + i, value, strlen(value)) == 0)
                    return 1;
        }
    return 0;
}

static void finish_response(struct conn *c)
{
    struct tap *t = &c->down;
    if (t->cur >= 0) {
        pthread_mutex_lock(&c->p->mu);
        struct tp_proxy_exchange *x = &c->p->log[t->cur];
        x->status = t->cur_status;
        memcpy(x->body, t->body, t->blen);
        x->body[t->blen] = '\0';
        pthread_mutex_unlock(&c->p->mu);
    }
    t->cur = -1;
    t->blen = 0;
}

static void mark_sent(struct conn *c, long idx)
{
    if (idx < 0)
        return;
    pthread_mutex_lock(&c->p->mu);
    c->p->log[idx].sent = 1;
    pthread_mutex_unlock(&c->p->mu);
}

/* A complete header block arrived in direction t. */
static void on_head(struct conn *c, struct tap *t, int request)
{
    t->head[t->hlen] = '\0';
    int has_len;
    uint64_t len = header_u64(t->head, "Content-Length", &has_len);
    if (header_has(t->head, "Transfer-Encoding", "chunked")) {
        t->broken = 1;
        return;
    }
    if (request) {
        long idx = log_new_request(c->p, c->id, t->head);
        if (c->n_pend < PEND_MAX)
            c->pend[c->n_pend++] = idx;
        t->cur = idx;
        t->body_left = len;
        if (len == 0)
            mark_sent(c, idx);
    } else {
        int status = 0;
        if (sscanf(t->head, "HTTP/%*d.%*d %d", &status) != 1) {
            t->broken = 1;
            return;
        }
        if (status >= 100 && status < 200)
            return; /* interim (100 Continue): the real answer follows */
        t->cur = c->n_pend > 0 ? c->pend[0] : -1;
        if (c->n_pend > 0)
            memmove(c->pend, c->pend + 1, (size_t)--c->n_pend * sizeof c->pend[0]);
        t->cur_status = status;
        t->blen = 0;
        t->body_left = (status == 204 || status == 304) ? 0 : len;
        if (t->body_left == 0)
            finish_response(c);
    }
    t->in_body = t->body_left > 0;
}

static void tap_feed(struct conn *c, struct tap *t, int request, const char *d, size_t n)
{
    while (n > 0 && !t->broken) {
        if (t->in_body) {
            size_t k = n < t->body_left ? n : (size_t)t->body_left;
            if (!request)
                for (size_t i = 0; i < k && t->blen < sizeof t->body - 1; i++)
                    t->body[t->blen++] = d[i];
            t->body_left -= k;
            d += k;
            n -= k;
            if (t->body_left == 0) {
                t->in_body = 0;
                if (request)
                    mark_sent(c, t->cur);
                else
                    finish_response(c);
            }
            continue;
        }
        if (t->hlen >= TAP_HEAD_MAX - 1) {
            t->broken = 1;
            break;
        }
        t->head[t->hlen++] = *d++;
        n--;
        if (t->hlen >= 4 && memcmp(t->head + t->hlen - 4, "\r\n\r\n", 4) == 0) {
            on_head(c, t, request);
            t->hlen = 0;
        }
    }
}

static int write_all(struct tp_proxy *p, int fd, const char *d, size_t n)
{
    while (n > 0) {
        if (atomic_load(&p->stop))
            return -1;
        struct pollfd pf = {fd, POLLOUT, 0};
        if (poll(&pf, 1, POLL_MS) <= 0)
            continue;
        ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return -1;
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

static int connect_upstream(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#define PUMP_RESET (-2)

/* Moves one read's worth from `from` to `to`: bytes read, 0 on EOF, -1 on error, PUMP_RESET when the dice say so. */
static ssize_t pump(struct conn *c, int from, int to, struct tap *t, int request, int to_alive)
{
    char buf[16384];
    if (request && c->reset_after < 0 && t->hlen == 0 && !t->in_body) {
        /* A new request starts: roll whether this exchange fails. */
        if (uniform(&c->rng) < atomic_load(&c->p->reset_rate)) {
            /*
             * Half the failures cut the request (the server never acts), half
             * cut the answer (the server acted, the client cannot know): the
             * second kind is what idempotent update ids are for.
             */
            c->reset_down = (int)(splitmix(&c->rng) & 1);
            c->reset_after = (long)(splitmix(&c->rng) % (c->reset_down ? 256 : 2048));
        }
    }
    ssize_t r = recv(from, buf, sizeof buf, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (r <= 0)
        return r;
    size_t n = (size_t)r;
    int reset = 0;
    if (c->reset_after >= 0 && c->reset_down == !request) {
        if ((long)n >= c->reset_after) {
            n = (size_t)c->reset_after;
            reset = 1;
        } else {
            c->reset_after -= (long)n;
        }
    }
    tap_feed(c, t, request, buf, n);
    if (to_alive && n > 0 && write_all(c->p, to, buf, n) != 0 && request)
        return -1;
    if (reset) {
        stat_add(c->p, &c->p->st.resets);
        return PUMP_RESET;
    }
    return r;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct tp_proxy *p = c->p;
    int held = 0;
    while (atomic_load(&p->partition) && !atomic_load(&p->stop)) {
        held = 1;
        sleep_ms(POLL_MS);
    }
    if (held)
        stat_add(p, &p->st.held);
    c->ufd = atomic_load(&p->stop) ? -1 : connect_upstream(atomic_load(&p->upstream));
    if (c->ufd < 0) {
        stat_add(p, &p->st.refused);
        close_rst(c->cfd);
        goto out;
    }
    int client_alive = 1, injected = 0;
    struct timespec t0 = {0};
    while (!atomic_load(&p->stop)) {
        if (atomic_load(&p->partition)) {
            if (!held)
                stat_add(p, &p->st.held);
            held = 1;
            sleep_ms(POLL_MS);
            continue;
        }
        struct pollfd pf[2] = {{c->ufd, POLLIN, 0}, {client_alive ? c->cfd : -1, POLLIN, 0}};
        int k = poll(pf, 2, POLL_MS);
        if (!client_alive) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (c->n_pend == 0 || ms > DRAIN_MS)
                break;
        }
        if (k <= 0)
            continue;
        if (pf[1].revents) {
            ssize_t r = pump(c, c->cfd, c->ufd, &c->up, 1, 1);
            if (r == PUMP_RESET) {
                injected = 1;
                break;
            }
            if (r <= 0) {
                /* The client is gone (killed edge): read what the server still answers, for the log. */
                client_alive = 0;
                clock_gettime(CLOCK_MONOTONIC, &t0);
            }
        }
        if (pf[0].revents) {
            ssize_t r = pump(c, c->ufd, c->cfd, &c->down, 0, client_alive);
            if (r == PUMP_RESET) {
                injected = 1;
                break;
            }
            if (r <= 0)
                break;
        }
    }
    if (injected) {
        close_rst(c->cfd);
        close_rst(c->ufd);
    } else {
        close(c->cfd);
        close(c->ufd);
    }
out:
    free(c);
    atomic_fetch_sub(&p->active, 1);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct tp_proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {p->lfd, POLLIN, 0};
        if (poll(&pf, 1, POLL_MS) <= 0)
            continue;
        int fd = accept(p->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC); /* edges and servers the test spawns must not inherit it */
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->p = p;
        c->cfd = fd;
        c->ufd = -1;
        c->reset_after = -1;
        c->down.cur = -1;
        c->up.cur = -1;
        c->id = atomic_fetch_add(&p->next_conn, 1);
        c->rng = p->seed ^ (c->id * 0x9E3779B97F4A7C15ULL);
        stat_add(p, &p->st.connections);
        atomic_fetch_add(&p->active, 1);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, conn_main, c) != 0) {
            atomic_fetch_sub(&p->active, 1);
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

int tp_proxy_start(unsigned upstream_port, uint64_t seed, struct tp_proxy **out)
{
    *out = NULL;
    struct tp_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    pthread_mutex_init(&p->mu, NULL);
    atomic_store(&p->upstream, upstream_port);
    p->seed = seed;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, 256) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&a, &al) != 0) {
        if (p->lfd >= 0)
            close(p->lfd);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return -1;
    }
    p->port = ntohs(a.sin_port);
    if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
        close(p->lfd);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

unsigned tp_proxy_port(const struct tp_proxy *p) { return p->port; }
void tp_proxy_set_upstream(struct tp_proxy *p, unsigned port) { atomic_store(&p->upstream, port); }
void tp_proxy_set_reset_rate(struct tp_proxy *p, double rate) { atomic_store(&p->reset_rate, rate); }
void tp_proxy_partition(struct tp_proxy *p, int on) { atomic_store(&p->partition, on ? 1 : 0); }

void tp_proxy_get_stats(struct tp_proxy *p, struct tp_proxy_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

size_t tp_proxy_exchanges(struct tp_proxy *p, struct tp_proxy_exchange **out)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_log;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (*out && n)
        memcpy(*out, p->log, n * sizeof **out);
    pthread_mutex_unlock(&p->mu);
    return *out ? n : 0;
}

void tp_proxy_stop(struct tp_proxy *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->acceptor, NULL);
    close(p->lfd);
    /* Connection threads notice the stop flag within one poll interval. */
    for (int i = 0; i < 200 && atomic_load(&p->active) > 0; i++)
        sleep_ms(POLL_MS);
    if (atomic_load(&p->active) > 0)
        return; /* a thread is wedged: leak p rather than free memory it still uses */
    pthread_mutex_destroy(&p->mu);
    free(p->log);
    free(p);
}
