/*
 * sedna_kb.c - our knowledge-base index: OUTPUT_URL/index.json, listing per
 * task the generator/discriminator blobs and their quality metrics.
 *
 * Sedna's own KB index is a pickle (index.pkl) written by its Python
 * library; we write JSON with the same role. The train stage reports this
 * file as results[0], so the GM hands it back as CLOUD_KB_INDEX next round
 * (lifelonglearningjob.go getCloudKBIndex takes output.models[0].url), and
 * the LC copies eval's results[0] to <outputDir>/deploy/index.pkl for the
 * deploy worker (managers/lifelonglearning updateDeployModelFile). Format:
 * docs/sedna.md.
 */
#include "sedna/sedna.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sedna/sedna_internal.h"

#define KB_FORMAT "mtgan-kb-index"
#define KB_VERSION 1

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static cJSON *build_index(const char *prefix, const struct mtg_sedna_kb_task *tasks,
                          const unsigned long long *versions, size_t n, struct mtg_err *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        goto oom;
    if (!cJSON_AddStringToObject(root, "format", KB_FORMAT) ||
        !cJSON_AddNumberToObject(root, "version", KB_VERSION))
        goto oom;
    cJSON *arr = cJSON_AddArrayToObject(root, "tasks");
    if (!arr)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const struct mtg_sedna_kb_task *t = &tasks[i];
        if (!t->id || !*t->id) {
            mtg_err_set(err, MTG_EINVAL, "sedna: kb task %zu has no id", i);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(tasks[j].id, t->id) == 0) {
                mtg_err_set(err, MTG_EINVAL, "sedna: kb task \"%s\" appears twice", t->id);
                goto fail;
            }
        if (!t->generator || !*t->generator) {
            mtg_err_set(err, MTG_EINVAL, "sedna: kb task \"%s\" has no generator path", t->id);
            goto fail;
        }
        if (t->steps < 0) {
            mtg_err_set(err, MTG_EINVAL, "sedna: kb task \"%s\" has negative steps", t->id);
            goto fail;
        }
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto oom;
        cJSON_AddItemToArray(arr, o);
        if (!cJSON_AddStringToObject(o, "id", t->id) ||
            !cJSON_AddStringToObject(o, "generator", mtg_sedna_strip_prefix(t->generator, prefix)))
            goto oom;
        if (t->discriminator && *t->discriminator &&
            !cJSON_AddStringToObject(o, "discriminator",
                                     mtg_sedna_strip_prefix(t->discriminator, prefix)))
            goto oom;
        /* JSON numbers are doubles: steps stay exact up to 2^53. */
        if (!cJSON_AddNumberToObject(o, "steps", (double)t->steps))
            goto oom;
        if (versions && versions[i] > 0 &&
            !cJSON_AddNumberToObject(o, "version", (double)versions[i]))
            goto oom;
        char what[160];
        snprintf(what, sizeof what, "kb task \"%s\"", t->id);
        if (mtg_sedna_add_metrics(o, "metrics", t->metrics, t->n_metrics, 0, what, err) != MTG_OK)
            goto fail;
    }
    return root;
oom:
    mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory building the kb index");
fail:
    cJSON_Delete(root);
    return NULL;
}

int mtg_sedna_write_index(const char *output_dir, const char *data_path_prefix,
                          const struct mtg_sedna_kb_task *tasks, size_t n_tasks,
                          struct mtg_err *err)
{
    return mtg_sedna_write_index_versions(output_dir, data_path_prefix, tasks, NULL, n_tasks, err);
}

int mtg_sedna_write_index_versions(const char *output_dir, const char *data_path_prefix,
                                   const struct mtg_sedna_kb_task *tasks,
                                   const unsigned long long *versions, size_t n_tasks,
                                   struct mtg_err *err)
{
    int rc = MTG_OK, fd = -1;
    char *text = NULL, *path = NULL, *tmp = NULL;
    cJSON *root = NULL;
    struct mtg_err local = {0};
    if (!err)
        err = &local;

    if (!output_dir || !*output_dir)
        return mtg_err_set(err, MTG_EINVAL, "sedna: kb index needs an output directory");
    if (strstr(output_dir, "://"))
        return mtg_err_set(err, MTG_EINVAL,
                           "sedna: OUTPUT_URL %s is not a local directory; remote storage is "
                           "not supported for the kb index", output_dir);
    if (n_tasks > 0 && !tasks)
        return mtg_err_set(err, MTG_EINVAL, "sedna: kb index has %zu tasks but no array", n_tasks);
    struct stat st;
    if (stat(output_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mtg_err_set(err, MTG_ENOTFOUND, "sedna: output directory %s does not exist",
                           output_dir);

    root = build_index(data_path_prefix, tasks, versions, n_tasks, err);
    if (!root)
        return err->code;
    text = cJSON_Print(root);
    if (!text) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory printing the kb index");
        goto done;
    }
    size_t dl = strlen(output_dir);
    path = malloc(dl + sizeof "/index.json");
    tmp = malloc(dl + sizeof "/index.json.tmp");
    if (!path || !tmp) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory for kb index paths");
        goto done;
    }
    snprintf(path, dl + sizeof "/index.json", "%s/index.json", output_dir);
    snprintf(tmp, dl + sizeof "/index.json.tmp", "%s/index.json.tmp", output_dir);

    /* tmp + fsync + rename: a reader (the next round's CLOUD_KB_INDEX, the
     * deploy worker) sees the old index or the new one, never half of one. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mtg_err_set(err, MTG_EIO, "sedna: cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "sedna: writing %s failed: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = mtg_err_set(err, MTG_EIO, "sedna: closing %s failed: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = mtg_err_set(err, MTG_EIO, "sedna: renaming %s to %s failed: %s", tmp, path,
                         strerror(errno));
        goto done;
    }
    /* The rename itself is durable only once the directory is synced. */
    int dfd = open(output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            rc = mtg_err_set(err, MTG_EIO, "sedna: fsync of %s failed: %s", output_dir,
                             strerror(errno));
        close(dfd);
    }

done:
    if (fd >= 0)
        close(fd);
    if (rc != MTG_OK && tmp)
        unlink(tmp);
    free(path);
    free(tmp);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}
