/*
 * fault_proxy.h - a loopback TCP proxy for the fault-injection tests
 * (tests/integration/test_faults.c, docs/reliability.md). Edges talk to the
 * proxy, the proxy to the server, and the test decides what the network
 * does in between:
 *
 *   - connection faults: each HTTP exchange fails with probability
 *     reset_rate; the connection is then reset (RST both ways) after a
 *     random 0..2047 bytes of the request or 0..255 bytes of the answer
 *     (even odds), so some requests never reach the server and some are
 *     acted on with the answer lost - what an edge on a lossy link sees
 *     when TCP gives up, without needing the kernel's netem;
 *   - partitions: while on, no byte moves in either direction and new
 *     connections wait (the kernel still accepts them, as a SYN would be
 *     retransmitted); when it heals, held traffic flows again;
 *   - a moving upstream: the server may be restarted on a new port while
 *     edges keep the proxy's address (a Service in front of a pod).
 *
 * It also taps the HTTP/1.1 framing (Content-Length bodies, as curl and
 * libmicrohttpd use) and logs every exchange - method, path, status and
 * the start of the response body - so a test can count, from the client
 * side, which updates the server said it applied.
 *
 *     struct tp_proxy *p;
 *     tp_proxy_start(server_port, 42, &p);       // listens on 127.0.0.1:0
 *     edge --server http://127.0.0.1:<tp_proxy_port(p)>
 *     tp_proxy_set_reset_rate(p, 0.10);
 *     tp_proxy_partition(p, 1); sleep; tp_proxy_partition(p, 0);
 *     struct tp_proxy_exchange *x; size_t n = tp_proxy_exchanges(p, &x);
 *     free(x);
 *     tp_proxy_stop(p);
 *
 * 127.0.0.1 only. Thread per connection; every call is thread-safe.
 */
#ifndef MTG_TESTS_FAULT_PROXY_H
#define MTG_TESTS_FAULT_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct tp_proxy;

struct tp_proxy_stats {
    uint64_t connections;   /* accepted from clients */
    uint64_t exchanges;     /* requests seen */
    uint64_t resets;        /* connections reset by fault injection */
    uint64_t refused;       /* clients cut because the upstream refused */
    uint64_t held;          /* connections that waited out a partition */
};

struct tp_proxy_exchange {
    uint64_t conn;        /* serial number of the client connection (one edge process keeps one alive) */
    char method[8];
    char path[256];       /* with the query string, truncated */
    int sent;             /* the whole request reached the upstream */
    int status;           /* 0 when no complete response was seen */
    char body[64];        /* start of the response body, NUL-terminated */
};

/* Starts listening on 127.0.0.1 (ephemeral port). seed drives the fault dice. Returns 0 or -1. */
int tp_proxy_start(unsigned upstream_port, uint64_t seed, struct tp_proxy **out);
unsigned tp_proxy_port(const struct tp_proxy *p);
/* New connections go to this port from now on; open ones stay where they are. */
void tp_proxy_set_upstream(struct tp_proxy *p, unsigned port);
void tp_proxy_set_reset_rate(struct tp_proxy *p, double rate);
void tp_proxy_partition(struct tp_proxy *p, int on);
void tp_proxy_get_stats(struct tp_proxy *p, struct tp_proxy_stats *out);
/* Copy of the exchange log (malloc'd, caller frees); returns the count. */
size_t tp_proxy_exchanges(struct tp_proxy *p, struct tp_proxy_exchange **out);
/* Closes every connection, joins every thread, frees p. NULL is fine. */
void tp_proxy_stop(struct tp_proxy *p);

#endif
