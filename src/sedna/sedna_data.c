/*
 * sedna_data.c - the digits behind a Sedna dataset URL (TRAIN_DATASET_URL,
 * TEST_DATASET_URL), and the bare --sedna switch.
 *
 * Sedna hands a worker an index file, never the data: for a csv Dataset the
 * LC writes a header line and the sampled rows themselves
 * (pkg/localcontroller/managers/dataset/dataset.go, "the first row of csv
 * file is header"); for a txt Dataset one sample path per line. Our samples
 * are digits rows, so a csv index carries them inline and a txt index lists
 * digits files. A path ending in .gz is taken as a digits file directly,
 * which is what a local run or a hand-written job most likely passes.
 */
#include "sedna/sedna.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "data/dataset.h"
#include "data/digits.h"

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (lx > ls)
        return 0;
    for (size_t i = 0; i < lx; i++) {
        char a = s[ls - lx + i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != suffix[i])
            return 0;
    }
    return 1;
}

/*
 * Rows of a csv index, joined by '\n'. The first line is always the header,
 * as the LC reads it (dataset.go readByLine: "the first row of csv file is
 * header") and writes it back atop every split it hands out: a Dataset file
 * without a header loses its first row to that role, and keeping it here
 * would put that one row into every train and eval split.
 */
static int load_csv_rows(const char *url, const struct mtg_sedna_index *idx,
                         struct mtg_dataset **out, struct mtg_err *err)
{
    size_t total = 0;
    if (idx->header) {
        struct mtg_dataset *probe = NULL;
        struct mtg_err ignored = {0};
        if (mtg_data_digits_parse(idx->header, strlen(idx->header), url, &probe, &ignored) == MTG_OK)
            mtg_log(MTG_LOG_WARN, "sedna", "%s: the first line is a digits row, read as the header as "
                    "Sedna's LC does; give the Dataset file a header line (docs/sedna.md)", url);
        mtg_data_free(probe);
    }
    for (size_t i = 0; i < idx->n; i++)
        total += strlen(idx->entries[i].line) + 1;
    char *buf = malloc(total + 1);
    if (!buf)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", url);
    size_t k = 0;
    for (size_t i = 0; i < idx->n; i++) {
        size_t l = strlen(idx->entries[i].line);
        memcpy(buf + k, idx->entries[i].line, l);
        k += l;
        buf[k++] = '\n';
    }
    buf[k] = '\0';
    char name[600];
    snprintf(name, sizeof name, "%s (data rows after the header line)", url);
    int rc = mtg_data_digits_parse(buf, k, name, out, err);
    free(buf);
    return rc;
}

/* Concatenates the digits files a txt index lists. */
static int load_txt_files(const struct mtg_sedna_index *idx, struct mtg_dataset **out,
                          struct mtg_err *err)
{
    struct mtg_dataset **parts = calloc(idx->n, sizeof *parts);
    float *x = NULL;
    int *labels = NULL;
    int rc = MTG_OK;
    long total = 0;
    if (!parts)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory loading the dataset");
    for (size_t i = 0; i < idx->n && rc == MTG_OK; i++) {
        const struct mtg_sedna_index_entry *e = &idx->entries[i];
        const char *path = e->path;
        char raw[1024];
        struct stat st;
        if (stat(path, &st) != 0) {
            /* Absolute paths got DATA_PATH_PREFIX; outside a pod the file is
             * where the line says. */
            size_t l = strcspn(e->line, " \t");
            snprintf(raw, sizeof raw, "%.*s", (int)(l < sizeof raw - 1 ? l : sizeof raw - 1),
                     e->line);
            if (stat(raw, &st) == 0)
                path = raw;
        }
        rc = mtg_data_digits_load(path, &parts[i], err);
        if (rc == MTG_OK)
            total += mtg_data_n(parts[i]);
    }
    if (rc == MTG_OK && total > MTG_DATA_MAX_ROWS)
        rc = mtg_err_set(err, MTG_ETOOBIG, "sedna: dataset has %ld rows, limit %d", total,
                         MTG_DATA_MAX_ROWS);
    if (rc == MTG_OK) {
        x = malloc((size_t)(total ? total : 1) * MTG_DATA_DIGITS_DIM * sizeof *x);
        labels = malloc((size_t)(total ? total : 1) * sizeof *labels);
        if (!x || !labels)
            rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory for %ld rows", total);
    }
    if (rc == MTG_OK) {
        size_t at = 0;
        for (size_t i = 0; i < idx->n; i++) {
            int n = mtg_data_n(parts[i]);
            memcpy(x + at * MTG_DATA_DIGITS_DIM, mtg_data_x(parts[i]),
                   (size_t)n * MTG_DATA_DIGITS_DIM * sizeof *x);
            memcpy(labels + at, mtg_data_labels(parts[i]), (size_t)n * sizeof *labels);
            at += (size_t)n;
        }
        rc = mtg_data_from_array(x, labels, (int)total, MTG_DATA_DIGITS_DIM,
                                 MTG_DATA_DIGITS_CLASSES, out, err);
    }
    for (size_t i = 0; i < idx->n; i++)
        mtg_data_free(parts[i]);
    free(parts);
    free(x);
    free(labels);
    return rc;
}

int mtg_sedna_digits_load(const char *url, const char *base_dir, const char *data_path_prefix,
                          struct mtg_dataset **out, struct mtg_err *err)
{
    struct mtg_err local = {0};
    if (!err)
        err = &local;
    if (!url || !*url || !out)
        return mtg_err_set(err, MTG_EINVAL, "sedna: no dataset url");
    *out = NULL;
    if (strstr(url, "://"))
        return mtg_err_set(err, MTG_EINVAL,
                           "sedna: dataset %s is remote; Sedna's storage initializer copies "
                           "remote data to a local path, pass that", url);
    if (ends_with_ci(url, ".gz")) {
        int rc = mtg_data_digits_load(url, out, err);
        return rc == MTG_OK ? rc : mtg_err_wrap(err, "sedna: dataset");
    }
    struct mtg_sedna_index idx;
    int rc = mtg_sedna_index_read(url, MTG_SEDNA_INDEX_AUTO, base_dir, data_path_prefix, &idx, err);
    if (rc != MTG_OK)
        return rc;
    rc = idx.format == MTG_SEDNA_INDEX_CSV ? load_csv_rows(url, &idx, out, err)
                                           : load_txt_files(&idx, out, err);
    mtg_sedna_index_deinit(&idx);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "sedna: dataset %s", url);
    return rc;
}

int mtg_sedna_argv_switch(int argc, char **argv)
{
    static char on[] = "--sedna=true";
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--sedna") == 0) {
            argv[i] = on;
            n++;
        }
    }
    return n;
}
