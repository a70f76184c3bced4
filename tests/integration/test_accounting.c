/*
 * test_accounting.c - bytes are counted once, at the same layer (HTTP
 * bodies), for every protocol: a real mtgan-server and 2 mtgan-edge
 * processes on 127.0.0.1 train two digit tasks to a small deterministic
 * step budget under mtgan, sgda (pipelined) and fedd; once the edges have
 * exited, the bytes they report sending and receiving must agree with what
 * the server counted within 1 %. Nothing else talks to the server meanwhile.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

#define N_EDGES 2
#define TIMEOUT_S 120.0

static void fini(void) { tp_cleanup(); }

TestSuite(accounting, .fini = fini, .timeout = 300);

static double json_number(const char *path, const char *key)
{
    char *text = tp_read_file(path, NULL);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(o);
    free(text);
    return x;
}

static void check(const char *protocol, int steps)
{
    char dir[256], cfg[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"protocol\": \"%s\", \"seed\": 3, \"log_level\": \"warn\", \"state_dir\": \"%s/state\",\n"
             " \"n_edges\": %d, \"data\": {\"tasks\": [0, 3],\n"
             "   \"partition\": {\"tasks_per_edge_min\": 2, \"tasks_per_edge_max\": 2}},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 20}},\n"
             " \"train\": {\"max_steps\": %d, \"eval_every\": 0, \"deterministic\": true}}\n",
             protocol, dir, N_EDGES, steps);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "%s: server did not start", protocol);
    pid_t edges[N_EDGES];
    char json[N_EDGES][320];
    for (int i = 0; i < N_EDGES; i++) {
        char id[32];
        snprintf(id, sizeof id, "edge-%d", i);
        snprintf(json[i], sizeof json[i], "%s/%s.json", dir, id);
        char *extra[] = {"--json", json[i], NULL};
        edges[i] = tp_edge_start(cfg, s.port, dir, id, i, N_EDGES, extra);
        cr_assert_gt(edges[i], 0);
    }
    /* Edges exit once the server reports the job done; no status polling meanwhile (it would count). */
    for (int i = 0; i < N_EDGES; i++)
        cr_assert_eq(tp_wait(edges[i], (int)(TIMEOUT_S * tp_time_scale() * 1000)), 0, "%s: edge-%d did not exit",
                     protocol, i);
    double sent = 0, recv = 0;
    for (int i = 0; i < N_EDGES; i++) {
        sent += json_number(json[i], "bytes_sent");
        recv += json_number(json[i], "bytes_received");
    }
    double in = tp_status_number(s.port, "bytes_in"), out = tp_status_number(s.port, "bytes_out");
    cr_log_info("%s: edges sent %.0f, server received %.0f; edges received %.0f, server sent %.0f", protocol, sent,
                in, recv, out);
    cr_assert_gt(sent, 10000, "%s: edges report %.0f bytes sent", protocol, sent);
    cr_expect_leq(fabs(sent - in), 0.01 * in, "%s: edges sent %.0f, server received %.0f", protocol, sent, in);
    cr_expect_leq(fabs(recv - out), 0.01 * out, "%s: edges received %.0f, server sent %.0f", protocol, recv, out);
    tp_stop(s.pid, SIGTERM, 5000);
}

Test(accounting, mtgan_edges_and_server_count_the_same_bytes) { check("mtgan", 400); }
Test(accounting, sgda_edges_and_server_count_the_same_bytes) { check("sgda", 100); }
Test(accounting, fedd_edges_and_server_count_the_same_bytes) { check("fedd", 400); }
