/*
 * json.h - small helpers over cJSON for config files and HTTP bodies:
 * bounded parsing with line:column errors, and typed getters addressed by
 * a key path ("tasks[2].generator.latent_dim") whose errors name that path.
 *
 *     cJSON *root = mtg_json_parse(body, len, 1 << 20, &err);
 *     long zdim = 32;                       // default when absent
 *     if (!root ||
 *         mtg_json_int(root, "tasks[0].generator.latent_dim", 1, 4096, &zdim,
 *                      false, &err) != MTG_OK)
 *         return err.code;   // "key \"tasks[0].generator.latent_dim\" = 0 outside [1, 4096]"
 *     cJSON_Delete(root);
 *
 * Getters: a missing key is MTG_EINVAL when required, else MTG_OK with
 * *out untouched (so callers preset defaults). A value of the wrong type
 * is MTG_EINVAL, one outside its bounds MTG_ERANGE. Keys are case-sensitive.
 */
#ifndef MTG_WIRE_JSON_H
#define MTG_WIRE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

struct mtg_err;

/* Longest key path the getters accept. */
#define MTG_JSON_PATH_MAX 256

/*
 * Parses exactly buf[0..len) (no NUL needed; trailing whitespace allowed,
 * anything else after the value is an error). NULL + MTG_ETOOBIG when len
 * exceeds max_len, NULL + MTG_EFORMAT with "line L column C" otherwise.
 * Caller frees the result with cJSON_Delete().
 */
cJSON *mtg_json_parse(const char *buf, size_t len, size_t max_len, struct mtg_err *err);

/*
 * Resolves path under root: object keys separated by '.', array indexes in
 * brackets ("a.b[3].c", "[0].x"). *out = NULL when the item is absent.
 * MTG_EINVAL for a malformed path or when an intermediate item is not the
 * object or array the path needs. *out borrows from root.
 */
int mtg_json_lookup(const cJSON *root, const char *path, const cJSON **out, struct mtg_err *err);

/* Integral number in [lo, hi] (1e3 counts, 1.5 does not). */
int mtg_json_int(const cJSON *root, const char *path, long lo, long hi, long *out, bool required,
                 struct mtg_err *err);
/* Finite number in [lo, hi]. */
int mtg_json_double(const cJSON *root, const char *path, double lo, double hi, double *out,
                    bool required, struct mtg_err *err);
/* String of at most max_len bytes (0 = any); *out borrows from root. */
int mtg_json_string(const cJSON *root, const char *path, size_t max_len, const char **out,
                    bool required, struct mtg_err *err);
int mtg_json_bool(const cJSON *root, const char *path, bool *out, bool required,
                  struct mtg_err *err);
/* Array of min..max items; *out borrows from root, *n is its size. */
int mtg_json_array(const cJSON *root, const char *path, size_t min, size_t max,
                   const cJSON **out, size_t *n, bool required, struct mtg_err *err);
/* Object; *out borrows from root. */
int mtg_json_object(const cJSON *root, const char *path, const cJSON **out, bool required,
                    struct mtg_err *err);

/*
 * MTG_EINVAL naming "<path>.<key>" for the first key of object obj that is
 * not in the NULL-terminated list allowed (config: unknown keys are errors).
 * path only labels the message ("" for the root).
 */
int mtg_json_check_keys(const cJSON *obj, const char *path, const char *const *allowed,
                        struct mtg_err *err);

/*
 * Serialises item (compact, or indented with pretty) into a new
 * NUL-terminated string *out of *len bytes (len may be NULL); the caller
 * frees it with free() (mtgan never installs cJSON allocation hooks).
 */
int mtg_json_print(const cJSON *item, bool pretty, char **out, size_t *len, struct mtg_err *err);

/*
 * The API error body {"error":{"code":"...","message":"..."}} with both
 * strings escaped. Returns a new string the caller frees with free(), or
 * NULL when out of memory.
 */
char *mtg_json_error_body(const char *code, const char *message);

#endif
