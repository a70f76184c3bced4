/*
 * process.h - process-wide setup shared by every mtgan program.
 *
 *     mtg_process_single_blas();          // before the first BLAS call
 *     mtg_process_on_stop(on_signal);     // SIGTERM/SIGINT -> on_signal, SIGPIPE ignored
 *     long peak = mtg_process_mem_bytes(pid, "VmHWM");
 */
#ifndef MTG_CORE_PROCESS_H
#define MTG_CORE_PROCESS_H

/*
 * One OpenBLAS thread unless OPENBLAS_NUM_THREADS says otherwise: mtgan's
 * parallelism is across edges and connections, and BLAS threads on top of
 * that oversubscribe the cores (the small GEMMs of a GAN step gain nothing).
 */
void mtg_process_single_blas(void);

/*
 * SIGTERM and SIGINT call handler (which should only set a flag); SIGPIPE
 * is ignored, so a peer that closes its socket mid-transfer yields an
 * error return instead of killing the process.
 */
void mtg_process_on_stop(void (*handler)(int));

/*
 * A size field of /proc/<pid>/status in bytes ("VmHWM" peak RSS, "VmRSS"
 * current RSS), pid 0 = this process; -1 if the process or field is gone.
 */
long mtg_process_mem_bytes(int pid, const char *field);

#endif
