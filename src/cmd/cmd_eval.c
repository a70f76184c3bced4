/*
 * mtgan eval - quality of saved generators (DESIGN §11): per task, 500
 * samples scored for fidelity, FD, precision and recall by the held-out
 * classifier; a table, and the §9 JSON with --json FILE.
 *
 *   mtgan eval --model-dir DIR | --models a.generator.blob,b.generator.blob [--tasks 0,3] [--json FILE]
 *   mtgan eval --sedna      (LifelongLearningJob eval stage: env in, LC report out; docs/sedna.md)
 *
 * A task id is the file name without ".generator.blob" (digit-3.generator.blob
 * -> digit-3 -> class 3), or the id listed in an index.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd_flags.h"
#include "cmd/cmds.h"
#include "config/config.h"
#include "core/log.h"
#include "core/process.h"
#include "core/status.h"
#include "quality/summary.h"
#include "sedna/sedna.h"
#include "sedna/stage.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mtgan eval --model-dir DIR | --models A[,B...] [--tasks LIST] [--json FILE]\n"
            "       mtgan eval --sedna\n"
            "  --model-dir DIR  every <task>.generator.blob in DIR (or DIR/index.json)\n"
            "  --models LIST    comma-separated generator blobs or index.json files\n"
            "  --sedna          Sedna eval stage: MODEL_URLS scored on TEST_DATASET_URL,\n"
            "                   results under OUTPUT_URL, reported to LC_SERVER\n\n");
}

/* "a,b,c" -> items pointing into the malloc'd copy *buf. */
static size_t split_commas(const char *s, char **buf, const char **items, size_t max)
{
    *buf = strdup(s);
    size_t n = 0;
    for (char *p = *buf, *tok; p && n < max; p = tok) {
        tok = strchr(p, ',');
        if (tok)
            *tok++ = '\0';
        if (*p)
            items[n++] = p;
    }
    return n;
}

#define MAX_MODELS 256

static int run_local(const struct mtg_cfg *cfg, const char *dir, const char *models)
{
    struct mtg_err err = {0};
    const char *items[MAX_MODELS];
    char *buf = NULL;
    size_t n = 0;
    if (dir)
        items[n++] = dir;
    else
        n = split_commas(models, &buf, items, MAX_MODELS);
    struct mtg_sedna_kb kb = {0};
    struct mtg_summary *sum = calloc(1, sizeof *sum);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sum ? mtg_sedna_models_collect(items, n, NULL, &kb, &err)
                 : mtg_err_set(&err, MTG_ENOMEM, "out of memory");
    if (rc == MTG_OK)
        rc = mtg_sedna_eval_kb(cfg, &kb, NULL, sum, &err);
    if (rc == MTG_OK) {
        snprintf(sum->protocol, sizeof sum->protocol, "eval");
        sum->server_peak_rss_bytes = -1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sum->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        mtg_summary_print(stdout, sum);
        if (cfg->json_out[0])
            rc = mtg_summary_write_json(sum, cfg->json_out, &err);
    }
    if (rc != MTG_OK)
        fprintf(stderr, "mtgan eval: %s\n", err.msg);
    mtg_sedna_kb_deinit(&kb);
    free(sum);
    free(buf);
    return rc == MTG_OK ? 0 : 1;
}

int mtg_cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *models = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    int n_rest = 0, code = 2;
    if (!rest || !cfg) {
        free(rest);
        free(cfg);
        return 1;
    }
    mtg_cfg_defaults(cfg);
    static const char *const names[] = {"model-dir", "models"};
    const char **slots[] = {&dir, &models};
    if (mtg_cmd_take_flags("mtgan eval", argc, argv, names, slots, 2, rest, &n_rest) != 0)
        goto done;
    mtg_sedna_argv_switch(n_rest, rest);
    int cli = mtg_cmd_config("mtgan eval", MTG_CFG_BIN_EVAL, cfg, n_rest, rest, usage);
    if (cli >= 0) {
        code = cli;
        goto done;
    }
    mtg_process_single_blas();
    if (cfg->sedna) {
        if (dir || models) {
            fprintf(stderr, "mtgan eval: --sedna takes its models from MODEL_URLS, not "
                            "--model-dir/--models\n");
            goto done;
        }
        code = mtg_sedna_eval_main(cfg);
        goto done;
    }
    if (!dir == !models) {
        fprintf(stderr, "mtgan eval: give exactly one of --model-dir DIR or --models LIST\n");
        usage(stderr);
        goto done;
    }
    code = run_local(cfg, dir, models);
done:
    free(rest);
    free(cfg);
    return code;
}
