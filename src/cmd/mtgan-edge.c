/* mtgan-edge - one edge worker. All logic lives in src/edge; this is flags and signals. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/log.h"
#include "core/process.h"
#include "core/status.h"
#include "edge/edge.h"

static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

int main(int argc, char **argv)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    mtg_cfg_defaults(cfg);
    struct mtg_cfg_args extra;
    struct mtg_err err = {0};
    int rc = mtg_cfg_cli(cfg, MTG_CFG_BIN_EDGE, argc, argv, &extra, 0);
    if (rc >= 0) {
        free(cfg);
        return rc;
    }
    mtg_process_single_blas();
    mtg_process_on_stop(on_signal);

    struct mtg_edge *edge;
    if (mtg_edge_new(cfg, cfg->edge_index, &edge, &err) != MTG_OK) {
        fprintf(stderr, "mtgan-edge: %s\n", err.msg);
        free(cfg);
        return 1;
    }
    rc = mtg_edge_run(edge, &stop_flag, &err);
    struct mtg_edge_stats st;
    mtg_edge_stats(edge, &st);
    mtg_log(MTG_LOG_INFO, "edge", "%s: exiting: steps=%llu compute=%.2fs emulated=%.2fs link=%.2fs sent=%llu recv=%llu",
            cfg->edge_id, (unsigned long long)st.steps, st.compute_s, st.emulated_s, st.link_s,
            (unsigned long long)st.bytes_sent, (unsigned long long)st.bytes_received);
    if (cfg->json_out[0]) {
        /* The bench's virtual clock reads these: busy time = compute x speed + emulated link time. */
        FILE *f = fopen(cfg->json_out, "w");
        if (f) {
            fprintf(f,
                    "{\"edge\": \"%s\", \"steps\": %llu, \"rounds\": %llu, \"compute_s\": %.6f, \"emulated_s\": %.6f, "
                    "\"link_s\": %.6f, \"bytes_sent\": %llu, \"bytes_received\": %llu, \"speed_factor\": %g}\n",
                    cfg->edge_id, (unsigned long long)st.steps, (unsigned long long)st.rounds, st.compute_s,
                    st.emulated_s, st.link_s, (unsigned long long)st.bytes_sent, (unsigned long long)st.bytes_received,
                    cfg->emulation.speed_factor);
            fclose(f);
        }
    }
    mtg_edge_free(edge);
    free(cfg);
    if (rc != MTG_OK) {
        fprintf(stderr, "mtgan-edge: %s\n", err.msg);
        return 1;
    }
    return 0;
}
