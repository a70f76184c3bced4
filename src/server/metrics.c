/* metrics.c - /metrics in Prometheus text exposition format 0.0.4, and process RSS. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/process.h"
#include "server/server_internal.h"

struct buf {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

static void emit(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

int srv_metrics_text(struct mtg_srv *s, char **out, size_t *len)
{
    struct buf b = {.p = malloc(4096), .cap = 4096};
    if (!b.p)
        return MTG_ENOMEM;
    b.p[0] = '\0';
    struct mtg_srv_status st;
    int n = 0;
    struct mtg_srv_task_status *ts = calloc(SRV_MAX_TASKS, sizeof *ts);
    if (!ts) {
        free(b.p);
        return MTG_ENOMEM;
    }
    mtg_srv_status(s, &st, ts, SRV_MAX_TASKS);
    n = st.n_tasks < SRV_MAX_TASKS ? st.n_tasks : SRV_MAX_TASKS;
    struct mtg_http_stats hs;
    mtg_http_server_stats(s->http, &hs);
    const char *proto = mtg_cfg_protocol_name(s->cfg->protocol);
    emit(&b, "# HELP mtgan_rounds_total Rounds closed (mtgan) or generator steps started (sgda).\n"
             "# TYPE mtgan_rounds_total counter\nmtgan_rounds_total{protocol=\"%s\"} %llu\n",
         proto, (unsigned long long)st.round);
    emit(&b, "# HELP mtgan_bytes_in_total Request body bytes received.\n# TYPE mtgan_bytes_in_total counter\n"
             "mtgan_bytes_in_total %llu\n", (unsigned long long)hs.bytes_in);
    emit(&b, "# HELP mtgan_bytes_out_total Response body bytes sent.\n# TYPE mtgan_bytes_out_total counter\n"
             "mtgan_bytes_out_total %llu\n", (unsigned long long)hs.bytes_out);
    emit(&b, "# HELP mtgan_updates_total Edge updates (mtgan) or feedback batches (sgda) by outcome.\n"
             "# TYPE mtgan_updates_total counter\nmtgan_updates_total{outcome=\"accepted\"} %llu\n"
             "mtgan_updates_total{outcome=\"rejected\"} %llu\nmtgan_updates_total{outcome=\"duplicate\"} %llu\n",
         (unsigned long long)st.updates_accepted, (unsigned long long)st.updates_rejected,
         (unsigned long long)st.updates_duplicate);
    emit(&b, "# HELP mtgan_http_requests_total HTTP responses by status class.\n"
             "# TYPE mtgan_http_requests_total counter\n");
    for (int c = 1; c <= 5; c++)
        emit(&b, "mtgan_http_requests_total{class=\"%dxx\"} %llu\n", c, (unsigned long long)hs.requests[c]);
    emit(&b, "# HELP mtgan_edges_alive Edges that reported within the expiry window.\n"
             "# TYPE mtgan_edges_alive gauge\nmtgan_edges_alive %d\n", st.edges_alive);
    emit(&b, "# HELP mtgan_process_resident_memory_bytes Resident set size.\n"
             "# TYPE mtgan_process_resident_memory_bytes gauge\nmtgan_process_resident_memory_bytes %ld\n",
         mtg_process_mem_bytes(0, "VmRSS"));
    emit(&b, "# HELP mtgan_process_peak_resident_memory_bytes Peak resident set size (VmHWM).\n"
             "# TYPE mtgan_process_peak_resident_memory_bytes gauge\nmtgan_process_peak_resident_memory_bytes %ld\n",
         mtg_process_mem_bytes(0, "VmHWM"));
    emit(&b, "# HELP mtgan_model_bytes Bytes of models, optimiser state and in-flight buffers.\n"
             "# TYPE mtgan_model_bytes gauge\nmtgan_model_bytes %zu\n", st.model_bytes);
    struct srv_mcache_stats mc;
    pthread_mutex_lock(&s->mu);
    srv_mcache_stats(s->mcache, &mc);
    pthread_mutex_unlock(&s->mu);
    emit(&b, "# HELP mtgan_model_encodings_total Model downloads that encoded a blob (the rest share one).\n"
             "# TYPE mtgan_model_encodings_total counter\nmtgan_model_encodings_total %llu\n"
             "# HELP mtgan_model_cache_hits_total Model downloads served by an encoding made for another.\n"
             "# TYPE mtgan_model_cache_hits_total counter\nmtgan_model_cache_hits_total %llu\n"
             "# HELP mtgan_model_cache_bytes Encoded models kept for downloads.\n"
             "# TYPE mtgan_model_cache_bytes gauge\nmtgan_model_cache_bytes %zu\n",
         (unsigned long long)mc.encodings, (unsigned long long)mc.hits, mc.bytes);
    emit(&b, "# HELP mtgan_tasks_memory Tasks whose globals are in RAM or spilled to disk (memory budget).\n"
             "# TYPE mtgan_tasks_memory gauge\nmtgan_tasks_memory{state=\"resident\"} %d\n"
             "mtgan_tasks_memory{state=\"spilled\"} %d\n", st.tasks_resident, st.tasks_spilled);
    emit(&b, "# HELP mtgan_done 1 when every task reached its target or budget.\n# TYPE mtgan_done gauge\n"
             "mtgan_done %d\n", st.done);
    emit(&b, "# HELP mtgan_task_version Global model version per task.\n# TYPE mtgan_task_version gauge\n");
    for (int t = 0; t < n; t++)
        emit(&b, "mtgan_task_version{task=\"%s\"} %llu\n", ts[t].id, (unsigned long long)ts[t].version);
    emit(&b, "# HELP mtgan_task_loss Recent training loss per task and network.\n# TYPE mtgan_task_loss gauge\n");
    for (int t = 0; t < n; t++)
        emit(&b, "mtgan_task_loss{task=\"%s\",net=\"d\"} %g\nmtgan_task_loss{task=\"%s\",net=\"g\"} %g\n", ts[t].id,
             (double)ts[t].loss_d, ts[t].id, (double)ts[t].loss_g);
    emit(&b, "# HELP mtgan_task_quality Latest quality per task (fidelity, fd, precision, recall, coverage).\n"
             "# TYPE mtgan_task_quality gauge\n");
    for (int t = 0; t < n; t++)
        if (ts[t].evaluated)
            emit(&b,
                 "mtgan_task_quality{task=\"%s\",metric=\"fidelity\"} %g\nmtgan_task_quality{task=\"%s\",metric=\"fd\"} %g\n"
                 "mtgan_task_quality{task=\"%s\",metric=\"precision\"} %g\nmtgan_task_quality{task=\"%s\",metric=\"recall\"} %g\n"
                 "mtgan_task_quality{task=\"%s\",metric=\"coverage\"} %g\n",
                 ts[t].id, ts[t].fidelity, ts[t].id, ts[t].fd, ts[t].id, ts[t].precision, ts[t].id, ts[t].recall,
                 ts[t].id, ts[t].coverage);
    free(ts);
    if (b.failed) {
        free(b.p);
        return MTG_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return MTG_OK;
}
