/*
 * sedna_pod_edges.h - the edges a Sedna train pod runs itself, so the
 * round's training split (TRAIN_DATASET_URL, mounted into this pod only)
 * is trained on and the stage ends (docs/sedna.md "Train").
 *
 *     struct mtg_launch *edges;
 *     mtg_sedna_pod_edges_start(cfg, split, "/var/lib/mtgan/sedna-edges", port, &edges, &err);
 *     ... mtg_srv_run until every task reached its target or budget ...
 *     mtg_launch_free(edges);                          // SIGTERM, then SIGKILL
 */
#ifndef MTG_SEDNA_SEDNA_POD_EDGES_H
#define MTG_SEDNA_SEDNA_POD_EDGES_H

struct mtg_cfg;
struct mtg_dataset;
struct mtg_err;
struct mtg_launch;

/*
 * Writes split's rows to work_dir/train-split.csv (digits format) and starts
 * cfg->sedna_edges mtgan-edge processes (from the directory of this
 * executable, or MTGAN_BIN_DIR) against 127.0.0.1:port with cfg's tasks,
 * networks and seeds, each holding its share of the whole split
 * (data.holdout false). Their logs are work_dir/edge-<i>.log. work_dir must
 * exist and be writable. On success the caller owns *out and stops the edges
 * with mtg_launch_free; on failure nothing is left running.
 */
int mtg_sedna_pod_edges_start(const struct mtg_cfg *cfg, const struct mtg_dataset *split,
                              const char *work_dir, unsigned port, struct mtg_launch **out,
                              struct mtg_err *err);

#endif
