/*
 * fuzz_json.c - src/wire/json.c: bounded parsing and the key-path getters.
 * Input layout: the first line is a key path (at most 300 bytes, so paths
 * over MTG_JSON_PATH_MAX are tried too), the rest is the JSON document.
 * Every getter is called with that path; getters that succeed are checked
 * against what mtg_json_lookup returns. The parsed document is printed and
 * parsed back; error bodies are built from the path and the error message.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "wire/json.h"

FUZZ_QUIET_INIT()

static void getters(const cJSON *root, const char *path)
{
    struct mtg_err err = {0};
    const cJSON *item = NULL;
    int found = mtg_json_lookup(root, path, &item, &err) == MTG_OK && item;
    fuzz_check_err(&err);

    long l = -7;
    if (mtg_json_int(root, path, -1000000, 1000000, &l, false, &err) == MTG_OK && found)
        FUZZ_CHECK(l >= -1000000 && l <= 1000000 && cJSON_IsNumber(item));
    (void)mtg_json_int(root, path, 0, 0, &l, true, &err);
    double d = 0;
    if (mtg_json_double(root, path, -1e300, 1e300, &d, false, &err) == MTG_OK && found)
        FUZZ_CHECK(d >= -1e300 && d <= 1e300);
    const char *s = NULL;
    if (mtg_json_string(root, path, 16, &s, false, &err) == MTG_OK && found)
        FUZZ_CHECK(s && strlen(s) <= 16);
    bool b;
    (void)mtg_json_bool(root, path, &b, false, &err);
    const cJSON *arr = NULL;
    size_t n = 0;
    if (mtg_json_array(root, path, 1, 8, &arr, &n, false, &err) == MTG_OK && found)
        FUZZ_CHECK(arr == item && n >= 1 && n <= 8 && (size_t)cJSON_GetArraySize(arr) == n);
    const cJSON *obj = NULL;
    if (mtg_json_object(root, path, &obj, false, &err) == MTG_OK && found) {
        FUZZ_CHECK(obj == item && cJSON_IsObject(obj));
        static const char *const allowed[] = {"id", "tasks", "generator", "layers", NULL};
        (void)mtg_json_check_keys(obj, path, allowed, &err);
    }
    fuzz_check_err(&err);
    char *body = mtg_json_error_body(path, err.msg);
    if (body) {
        cJSON *e = cJSON_Parse(body);
        FUZZ_CHECK(e != NULL);
        cJSON_Delete(e);
        free(body);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 300 ? size : 300);
    size_t plen = nl ? (size_t)(nl - data) : 0;
    char *path = fuzz_strdup(data, plen);
    size_t off = nl ? plen + 1 : 0;
    /* Exactly the document bytes, no NUL after them: parse must not need one. */
    char *doc = (char *)fuzz_memdup(data + off, size - off);
    struct mtg_err err = {0};
    cJSON *root = mtg_json_parse(doc, size - off, 1 << 16, &err);
    if (!root) {
        FUZZ_CHECK(err.code == MTG_EFORMAT || err.code == MTG_ETOOBIG);
        fuzz_check_err(&err);
    } else {
        getters(root, path);
        char *text = NULL;
        size_t len = 0;
        FUZZ_CHECK(mtg_json_print(root, (size & 1) != 0, &text, &len, &err) == MTG_OK);
        FUZZ_CHECK(strlen(text) == len);
        cJSON *again = mtg_json_parse(text, len, len + 1, &err);
        FUZZ_CHECK(again != NULL);
        cJSON_Delete(again);
        free(text);
        cJSON_Delete(root);
    }
    free(doc);
    free(path);
    return 0;
}
