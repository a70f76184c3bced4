/*
 * arena.h - a bump allocator sized up front, so that a training step
 * allocates nothing (the ggml idea). Every block is 64-byte aligned, which
 * also keeps OpenBLAS and the vectoriser on aligned rows.
 *
 *     struct mtg_arena *a = mtg_arena_new(workspace_bytes, &err);
 *     float *acts = mtg_arena_alloc(a, n * sizeof(float));   // NULL when full
 *     ...
 *     mtg_arena_free(a);   // releases every block at once
 */
#ifndef MTG_CORE_ARENA_H
#define MTG_CORE_ARENA_H

#include <stddef.h>

struct mtg_err;
struct mtg_arena;

#define MTG_ARENA_ALIGN 64

/* Rounds n up to the arena alignment: use it when sizing an arena. */
size_t mtg_arena_round(size_t n);
/* Returns a new arena of capacity bytes (caller frees with mtg_arena_free), or NULL + err. */
struct mtg_arena *mtg_arena_new(size_t capacity, struct mtg_err *err);
void mtg_arena_free(struct mtg_arena *a);
/* Zeroed block of n bytes owned by the arena, or NULL when it does not fit. */
void *mtg_arena_alloc(struct mtg_arena *a, size_t n);
size_t mtg_arena_used(const struct mtg_arena *a);
size_t mtg_arena_capacity(const struct mtg_arena *a);

#endif
