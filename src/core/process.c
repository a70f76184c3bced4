/* process.c - see process.h. */
#include "core/process.h"

#include <cblas.h>
#include <signal.h>
#include <stdlib.h>

void mtg_process_single_blas(void)
{
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
}

void mtg_process_on_stop(void (*handler)(int))
{
    struct sigaction sa = {.sa_handler = handler};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
