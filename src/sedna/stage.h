/*
 * stage.h - the three LifelongLearningJob workers end to end: read the
 * stage env, do the work with the server / quality modules, write files
 * under OUTPUT_URL, report to the LC (docs/sedna.md "Running under Sedna").
 * This is the layer above src/server and src/sedna's contract code; the
 * mains in src/cmd only parse flags and call in.
 *
 *     // mtgan-server --sedna
 *     return mtg_sedna_server_main(cfg, &stop_flag);
 *     // mtgan eval --sedna
 *     return mtg_sedna_eval_main(cfg);
 *
 * Every entry returns a process exit code: 0 done, 1 the stage failed (a
 * "failed" report was sent, or attempted, with the reason), 2 the stage env
 * is unusable (also reported as failed when the worker identity is known).
 */
#ifndef MTG_SEDNA_STAGE_H
#define MTG_SEDNA_STAGE_H

#include <stdatomic.h>

struct mtg_cfg;
struct mtg_dataset;
struct mtg_err;
struct mtg_sedna_kb;
struct mtg_summary;

/* Samples each generator draws for eval (as the server's own evaluation). */
#define MTG_SEDNA_EVAL_SAMPLES 500
/* Their seed: the server evaluates with the same one, so numbers compare. */
#define MTG_SEDNA_EVAL_SEED 12345

/*
 * mtgan-server --sedna. The stage is cfg->sedna_stage, or with auto: train
 * when TRAIN_DATASET_URL is set, else deploy when MODEL_URLS is, else train
 * (which then fails naming TRAIN_DATASET_URL). Train and eval read digits
 * (Sedna's CSV index files) and refuse another data.dataset; deploy serves
 * the knowledge base's tasks of data.dataset. Prints "mtgan-server
 * listening on port N" once the server is up. Train runs until every task
 * reached its target or budget (or *stop), exports and reports; deploy
 * serves the knowledge base until *stop and reports only a failure.
 * cfg is modified (tasks, exit_when_done, state_dir for deploy).
 */
int mtg_sedna_server_main(struct mtg_cfg *cfg, const atomic_int *stop);

/* mtgan eval --sedna: MODEL_URLS scored on TEST_DATASET_URL, results under OUTPUT_URL. */
int mtg_sedna_eval_main(struct mtg_cfg *cfg);

/*
 * Scores every model of kb whose task id is a task of cfg's data.dataset,
 * "digit-<k>" or "fashion-<k>" (k in cfg's data.tasks when that list is
 * set; other ids are an error naming them): MTG_SEDNA_EVAL_SAMPLES samples
 * each, fidelity / FD / precision / recall against the dataset's evaluator
 * (quality/evaluator.h, classifier cached in cfg->state_dir). test (digits
 * only; NULL = none) replaces the digits reference with these rows per
 * class. The ring is refused. Rows are appended to sum (steps from kb).
 */
int mtg_sedna_eval_kb(const struct mtg_cfg *cfg, const struct mtg_sedna_kb *kb,
                      const struct mtg_dataset *test, struct mtg_summary *sum,
                      struct mtg_err *err);

#endif
