/*
 * sedna_internal.h - helpers shared by the sedna module's .c files only.
 *
 *     const char *host = mtg_sedna_strip_prefix("/home/data/out/g.blob", "/home/data");
 *     // host -> "/out/g.blob"
 */
#ifndef MTG_SEDNA_SEDNA_INTERNAL_H
#define MTG_SEDNA_SEDNA_INTERNAL_H

#include <cJSON.h>

#include "sedna/sedna.h"

/*
 * Returns the part of path after prefix when path lies under prefix (the
 * prefix matches whole path components), else path itself. The result
 * points into path. Mirrors Sedna's FileOps.remove_path_prefix, which turns
 * a container path into the host path the LC understands.
 */
const char *mtg_sedna_strip_prefix(const char *path, const char *prefix);

/*
 * Adds obj[key] = {name: value, ...} (or {name: [value]} when as_lists).
 * Rejects empty/duplicate names and non-finite values with MTG_EINVAL /
 * MTG_ENOTFINITE; what names the owner in messages.
 */
int mtg_sedna_add_metrics(cJSON *obj, const char *key, const struct mtg_sedna_metric *m,
                          size_t n, int as_lists, const char *what, struct mtg_err *err);

#endif
