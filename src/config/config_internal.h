/*
 * config_internal.h - the key tables behind src/config. Every setting is one
 * row (JSON path, C type, offset, range, env var, flag, binaries, help), so
 * the file loader, env, flags, validation, to_json and --help cannot
 * disagree about a key: adding a setting is adding a row.
 *
 *     const struct mtg_cfg_key *k = mtg_cfg_key_find(MTG_CFG_TABLE_TOP, "port");
 *     rc = mtg_cfg_key_set_string(k, cfg, "8081", "flag --port", &err);
 *
 * Three tables (config_keys.c): the top level (offsets into struct mtg_cfg),
 * one tasks[] entry (struct mtg_cfg_task) and one edges[] entry (struct
 * mtg_cfg_edge). config_value.c reads and writes one row's field.
 * Only src/config includes this header.
 */
#ifndef MTG_CONFIG_CONFIG_INTERNAL_H
#define MTG_CONFIG_CONFIG_INTERNAL_H

#include <stddef.h>

#include <cJSON.h>

#include "config/config.h"

enum mtg_cfg_kind {
    MTG_CFG_K_OBJ = 0,    /* a nested object: no storage of its own */
    MTG_CFG_K_ARRAY = 1,  /* tasks[] / edges[]: rows of another table */
    MTG_CFG_K_INT = 2,    /* int */
    MTG_CFG_K_I64 = 3,    /* int64_t */
    MTG_CFG_K_U64 = 4,    /* uint64_t; JSON number <= 2^53 or decimal string */
    MTG_CFG_K_DBL = 5,    /* double */
    MTG_CFG_K_BOOL = 6,   /* bool */
    MTG_CFG_K_STR = 7,    /* char[size] */
    MTG_CFG_K_ENUM = 8,   /* int-sized enum; value = index in names */
    MTG_CFG_K_LAYERS = 9, /* struct mtg_cfg_layers */
    MTG_CFG_K_BETAS = 10, /* double[2] */
    MTG_CFG_K_IDS = 11,   /* struct mtg_cfg_ids */
};

enum mtg_cfg_key_flags {
    MTG_CFG_F_LO_OPEN = 1u << 0,  /* lower bound excluded */
    MTG_CFG_F_HI_OPEN = 1u << 1,  /* upper bound excluded */
    MTG_CFG_F_ID = 1u << 2,       /* string is an id: [A-Za-z0-9._-], alnum first */
    MTG_CFG_F_URL = 1u << 3,      /* string is an http(s) URL */
    MTG_CFG_F_NONEMPTY = 1u << 4, /* string must not be empty */
    MTG_CFG_F_ALL = 1u << 5,      /* ids: "all" allowed (stored as n == 0) */
};

enum mtg_cfg_table {
    MTG_CFG_TABLE_TOP = 0,
    MTG_CFG_TABLE_TASK = 1,
    MTG_CFG_TABLE_EDGE = 2,
};

struct mtg_cfg_key {
    const char *path; /* dotted, relative to the table's object */
    enum mtg_cfg_kind kind;
    size_t off;
    size_t size;                /* K_STR: array size */
    double lo, hi;              /* numeric bounds (K_INT, K_I64, K_DBL, list elements) */
    unsigned flags;
    const char *const *names;   /* K_ENUM: NULL-terminated */
    const char *env;            /* MTGAN_* variable, or NULL */
    const char *flag;           /* long flag without "--", or NULL */
    unsigned bins;              /* binaries accepting the flag: bit (1u << enum mtg_cfg_binary) */
    const char *meta;           /* flag value placeholder in --help, or NULL */
    const char *help;
};

/* Rows of a table and their count. */
const struct mtg_cfg_key *mtg_cfg_keys(enum mtg_cfg_table t, size_t *n);
/* The row whose path is path, or NULL. */
const struct mtg_cfg_key *mtg_cfg_key_find(enum mtg_cfg_table t, const char *path);

/* Sets the field of k in base from JSON v; errors read "<shown>: expected ..., got ...". */
int mtg_cfg_key_set_json(const struct mtg_cfg_key *k, void *base, const cJSON *v, const char *shown,
                         struct mtg_err *err);
/* Sets the field of k in base from text (env, flags); errors name label ("flag --port"). */
int mtg_cfg_key_set_string(const struct mtg_cfg_key *k, void *base, const char *s,
                           const char *label, struct mtg_err *err);
/* Range and format check of the stored field; MTG_EINVAL naming shown. */
int mtg_cfg_key_check(const struct mtg_cfg_key *k, const void *base, const char *shown,
                      struct mtg_err *err);
/* The stored field as a new cJSON value (caller deletes), or NULL (K_OBJ/K_ARRAY, no memory). */
cJSON *mtg_cfg_key_to_json(const struct mtg_cfg_key *k, const void *base);
/* What the key accepts, in words ("integer in [1, 3600000]"). */
void mtg_cfg_key_expect(const struct mtg_cfg_key *k, char *buf, size_t n);

#endif
