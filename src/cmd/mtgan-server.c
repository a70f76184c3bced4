/* mtgan-server - the cloud worker. All logic lives in src/server; this is flags and signals. */
#include <cblas.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "sedna/sedna.h"
#include "sedna/stage.h"
#include "server/server.h"

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
    mtg_sedna_argv_switch(argc, argv); /* bare --sedna, as Sedna manifests write it */
    int rc = mtg_cfg_cli(cfg, MTG_CFG_BIN_SERVER, argc, argv, &extra, 0);
    if (rc >= 0) {
        free(cfg);
        return rc;
    }
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg->sedna) {
        /* LifelongLearningJob worker: train or deploy from the Sedna env (src/sedna/stage.h). */
        rc = mtg_sedna_server_main(cfg, &stop_flag);
        free(cfg);
        return rc;
    }

    struct mtg_srv *srv;
    if (mtg_srv_new(cfg, &srv, &err) != MTG_OK) {
        fprintf(stderr, "mtgan-server: %s\n", err.msg);
        free(cfg);
        return 1;
    }
    /* A launcher reading stdout learns the bound port (useful with --port 0). */
    printf("mtgan-server listening on port %u\n", mtg_srv_port(srv));
    fflush(stdout);
    rc = mtg_srv_run(srv, &stop_flag, cfg->exit_when_done, &err);
    mtg_srv_free(srv); /* final checkpoint */
    free(cfg);
    if (rc != MTG_OK) {
        fprintf(stderr, "mtgan-server: %s\n", err.msg);
        return 1;
    }
    return 0;
}
