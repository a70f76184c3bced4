/* Tests for src/wire/json.h: bounded parsing and key-path getters. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "wire/json.h"

static const char DOC[] =
    "{\n"
    "  \"protocol\": \"mtgan\",\n"
    "  \"seed\": 42, \"big\": 1e3, \"frac\": 1.5, \"neg\": -7,\n"
    "  \"lr\": 0.0002, \"overlap\": true,\n"
    "  \"tasks\": [\n"
    "    {\"id\": \"digit-0\", \"generator\": {\"latent_dim\": 32}},\n"
    "    {\"id\": \"digit-1\", \"generator\": {\"latent_dim\": 16}},\n"
    "    {\"id\": \"digit-2\", \"generator\": {\"latent_dim\": 0, \"layers\": [128, 256]}}\n"
    "  ],\n"
    "  \"matrix\": [[1, 2], [3, 4]]\n"
    "}\n";

static cJSON *doc(void)
{
    struct mtg_err err = {0};
    cJSON *root = mtg_json_parse(DOC, strlen(DOC), 1 << 20, &err);
    cr_assert_not_null(root, "%s", err.msg);
    return root;
}

Test(json, parse_errors_have_line_and_column)
{
    struct mtg_err err = {0};
    const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    cr_assert_null(mtg_json_parse(bad, strlen(bad), 1000, &err));
    cr_assert_eq(err.code, MTG_EFORMAT);
    cr_assert(strstr(err.msg, "line 3 column 8"), "%s", err.msg);
    cr_assert_null(mtg_json_parse("{\"a\": 1} x", 10, 1000, &err));
    cr_assert(strstr(err.msg, "line 1 column 10"), "trailing garbage: %s", err.msg);
    cr_assert_null(mtg_json_parse("{\"a\": ", 6, 1000, &err));
    cr_assert(strstr(err.msg, "end of input") || strstr(err.msg, "line 1"), "%s", err.msg);
    cr_assert_null(mtg_json_parse("  \n ", 4, 1000, &err));
    cr_assert(strstr(err.msg, "empty"), "%s", err.msg);
    cr_assert_null(mtg_json_parse("{}", 2, 1, &err));
    cr_assert_eq(err.code, MTG_ETOOBIG);
    /* no NUL terminator needed: length is authoritative */
    char buf[8] = {'[', '1', ']', ' ', '\n', 'Z', 'Z', 'Z'};
    cJSON *r = mtg_json_parse(buf, 5, 100, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cJSON_Delete(r);
    cr_assert_null(mtg_json_parse(buf, 6, 100, &err));
    cr_assert_null(mtg_json_parse("[1]\0 ", 5, 100, &err), "embedded NUL is garbage");
}

Test(json, typed_getters)
{
    struct mtg_err err = {0};
    cJSON *root = doc();
    long v = -1;
    double d = 0;
    const char *s = NULL;
    bool b = false;
    cr_assert_eq(mtg_json_int(root, "seed", 0, 100, &v, true, &err), MTG_OK);
    cr_assert_eq(v, 42);
    cr_assert_eq(mtg_json_int(root, "big", 0, 10000, &v, true, &err), MTG_OK);
    cr_assert_eq(v, 1000);
    cr_assert_eq(mtg_json_int(root, "neg", -10, 0, &v, true, &err), MTG_OK);
    cr_assert_eq(v, -7);
    cr_assert_eq(mtg_json_int(root, "tasks[1].generator.latent_dim", 1, 4096, &v, true, &err), MTG_OK);
    cr_assert_eq(v, 16);
    cr_assert_eq(mtg_json_int(root, "tasks[2].generator.layers[1]", 1, 4096, &v, true, &err), MTG_OK);
    cr_assert_eq(v, 256);
    cr_assert_eq(mtg_json_int(root, "matrix[1][0]", 0, 10, &v, true, &err), MTG_OK);
    cr_assert_eq(v, 3);
    cr_assert_eq(mtg_json_double(root, "lr", 0, 1, &d, true, &err), MTG_OK);
    cr_assert_float_eq(d, 0.0002, 1e-12);
    cr_assert_eq(mtg_json_string(root, "tasks[0].id", 64, &s, true, &err), MTG_OK);
    cr_assert_str_eq(s, "digit-0");
    cr_assert_eq(mtg_json_bool(root, "overlap", &b, true, &err), MTG_OK);
    cr_assert(b);
    const cJSON *arr = NULL;
    size_t n = 0;
    cr_assert_eq(mtg_json_array(root, "tasks", 1, 16, &arr, &n, true, &err), MTG_OK);
    cr_assert_eq(n, 3);
    const cJSON *obj = NULL;
    cr_assert_eq(mtg_json_object(root, "tasks[2].generator", &obj, true, &err), MTG_OK);
    cr_assert(cJSON_IsObject(obj));
    cJSON_Delete(root);
}

Test(json, getter_errors_name_the_path)
{
    struct mtg_err err = {0};
    cJSON *root = doc();
    long v = 7;
    double d = 3;
    const char *s = NULL;
    bool b = false;
    cr_assert_eq(mtg_json_int(root, "tasks[2].generator.latent_dim", 1, 4096, &v, true, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "\"tasks[2].generator.latent_dim\" = 0 outside [1, 4096]"), "%s", err.msg);
    cr_assert_eq(v, 7, "out untouched on failure");
    cr_assert_eq(mtg_json_int(root, "frac", 0, 10, &v, true, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "\"frac\" must be an integer"), "%s", err.msg);
    cr_assert_eq(mtg_json_int(root, "protocol", 0, 10, &v, true, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "got a string"), "%s", err.msg);
    cr_assert_eq(mtg_json_int(root, "tasks[5].generator.latent_dim", 0, 10, &v, true, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "missing key \"tasks[5].generator.latent_dim\""), "%s", err.msg);
    cr_assert_eq(mtg_json_int(root, "tasks[5].generator.latent_dim", 0, 10, &v, false, &err), MTG_OK);
    cr_assert_eq(v, 7, "optional and absent keeps the default");
    cr_assert_eq(mtg_json_int(root, "protocol.x", 0, 10, &v, false, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "key \"protocol\" must be an object"), "%s", err.msg);
    cr_assert_eq(mtg_json_int(root, "seed[0]", 0, 10, &v, false, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "key \"seed\" must be an array"), "%s", err.msg);
    cr_assert_eq(mtg_json_int(root, "tasks[x]", 0, 10, &v, false, &err), MTG_EINVAL);
    cr_assert_eq(mtg_json_int(root, "a..b", 0, 10, &v, false, &err), MTG_EINVAL);
    cr_assert_eq(mtg_json_int(root, "seed.", 0, 10, &v, false, &err), MTG_EINVAL);
    cr_assert_eq(mtg_json_double(root, "lr", 0.001, 1, &d, true, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "\"lr\""), "%s", err.msg);
    cr_assert_eq(mtg_json_string(root, "protocol", 3, &s, true, &err), MTG_ERANGE);
    cr_assert_eq(mtg_json_string(root, "seed", 0, &s, true, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "\"seed\" must be a string, got a number"), "%s", err.msg);
    cr_assert_eq(mtg_json_bool(root, "seed", &b, true, &err), MTG_EINVAL);
    const cJSON *arr;
    size_t n;
    cr_assert_eq(mtg_json_array(root, "tasks", 4, 16, &arr, &n, true, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "has 3 items, want 4..16"), "%s", err.msg);
    cr_assert_eq(mtg_json_object(root, "tasks", &arr, true, &err), MTG_EINVAL);
    cJSON_Delete(root);
}

Test(json, check_keys)
{
    struct mtg_err err = {0};
    cJSON *root = doc();
    static const char *const top[] = {"protocol", "seed", "big", "frac", "neg", "lr", "overlap",
                                      "tasks", "matrix", NULL};
    static const char *const gen[] = {"latent_dim", NULL};
    cr_assert_eq(mtg_json_check_keys(root, "", top, &err), MTG_OK, "%s", err.msg);
    const cJSON *g;
    cr_assert_eq(mtg_json_object(root, "tasks[2].generator", &g, true, &err), MTG_OK);
    cr_assert_eq(mtg_json_check_keys(g, "tasks[2].generator", gen, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "unknown key \"tasks[2].generator.layers\""), "%s", err.msg);
    cJSON_Delete(root);
}

Test(json, print_and_error_body)
{
    struct mtg_err err = {0};
    char *body = mtg_json_error_body("bad_request", "key \"x\" must be\nan \"int\"");
    cr_assert_not_null(body);
    cr_assert_str_eq(body, "{\"error\":{\"code\":\"bad_request\",\"message\":\"key \\\"x\\\" must be\\nan \\\"int\\\"\"}}");
    cJSON *back = mtg_json_parse(body, strlen(body), 1000, &err);
    cr_assert_not_null(back);
    const char *m;
    cr_assert_eq(mtg_json_string(back, "error.message", 0, &m, true, &err), MTG_OK);
    cr_assert_str_eq(m, "key \"x\" must be\nan \"int\"");
    char *out;
    size_t len;
    cr_assert_eq(mtg_json_print(back, false, &out, &len, &err), MTG_OK);
    cr_assert_str_eq(out, body);
    cr_assert_eq(len, strlen(body));
    free(out);
    cr_assert_eq(mtg_json_print(back, true, &out, NULL, &err), MTG_OK);
    cr_assert(strchr(out, '\n'));
    free(out);
    free(body);
    cJSON_Delete(back);
}
