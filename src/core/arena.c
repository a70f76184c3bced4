#include "core/arena.h"
#include "core/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mtg_arena {
    unsigned char *base;
    size_t capacity;
    size_t used;
};

size_t mtg_arena_round(size_t n) { return (n + MTG_ARENA_ALIGN - 1) & ~(size_t)(MTG_ARENA_ALIGN - 1); }

struct mtg_arena *mtg_arena_new(size_t capacity, struct mtg_err *err)
{
    struct mtg_arena *a = calloc(1, sizeof *a);
    if (!a)
        goto fail;
    a->capacity = mtg_arena_round(capacity ? capacity : MTG_ARENA_ALIGN);
    a->base = aligned_alloc(MTG_ARENA_ALIGN, a->capacity);
    if (!a->base)
        goto fail;
    memset(a->base, 0, a->capacity);
    return a;
fail:
    free(a);
    mtg_err_set(err, MTG_ENOMEM, "arena: cannot allocate %zu bytes", capacity);
    return NULL;
}

void mtg_arena_free(struct mtg_arena *a)
{
    if (!a)
        return;
    free(a->base);
    free(a);
}

void *mtg_arena_alloc(struct mtg_arena *a, size_t n)
{
    size_t need = mtg_arena_round(n);
    if (need < n || need > a->capacity - a->used)
        return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

size_t mtg_arena_used(const struct mtg_arena *a) { return a->used; }

size_t mtg_arena_capacity(const struct mtg_arena *a) { return a->capacity; }
