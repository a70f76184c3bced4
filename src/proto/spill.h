/*
 * spill.h - one task's global G and D on disk while the server's memory
 * budget (scheduler.server.memory_budget_mb) keeps them out of RAM. A spill
 * file is a CRC'd blob (wire/blob.h) with two f32 tensors "g" and "d",
 * written tmp + fsync + rename, so a crash leaves the old file or the new
 * one and a torn or flipped byte is caught on reload, never trained on.
 *
 *     mtg_spill_write(dir, "digit-3", g, ng, d, nd, &err);   // then free(g), free(d)
 *     float *g, *d;
 *     mtg_spill_read(dir, "digit-3", &g, ng, &d, nd, &err);  // caller frees both
 *
 * Only proto/fed.c calls these; the policy (which task, when) lives there.
 */
#ifndef MTG_PROTO_SPILL_H
#define MTG_PROTO_SPILL_H

#include <stddef.h>

struct mtg_err;

/*
 * "<dir>/<task>.blob" into buf. MTG_EINVAL when the task id could escape the
 * directory ('/' or a leading '.') or the path does not fit in cap.
 */
int mtg_spill_path(char *buf, size_t cap, const char *dir, const char *task, struct mtg_err *err);

/* Writes g [ng] and d [nd] (borrowed, not modified) to task's spill file, creating dir if needed. */
int mtg_spill_write(const char *dir, const char *task, const float *g, size_t ng, const float *d, size_t nd,
                    struct mtg_err *err);

/*
 * Reads task's spill file into two new arrays of exactly ng and nd floats
 * (*g, *d; the caller frees both). All or nothing: on failure both are
 * NULL and err names the file and what was wrong (missing, CRC, shape).
 */
int mtg_spill_read(const char *dir, const char *task, float **g, size_t ng, float **d, size_t nd,
                   struct mtg_err *err);

#endif
