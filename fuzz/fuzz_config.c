/*
 * fuzz_config.c - the JSON config loader (src/config/config_json.c and the
 * key table behind it) on arbitrary text, merged over the defaults as a
 * config file would be. A config that loads and validates must round-trip:
 * mtg_cfg_to_json, loaded over fresh defaults, validates again and prints
 * the same text (the printer is a fixed point of load + print). A config
 * that loads but fails validation is still printed, as `mtgan inspect` may.
 */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fuzz_util.h"

/* ~85 KB each: static, as config.h recommends. */
static struct mtg_cfg cfg, back;

FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strdup(data, size);
    struct mtg_err err = {0};
    mtg_cfg_defaults(&cfg);
    int rc = mtg_cfg_load_string(&cfg, text, "fuzz", &err);
    free(text);
    if (rc != MTG_OK) {
        FUZZ_CHECK(rc < 0);
        fuzz_check_err(&err);
        return 0;
    }
    int valid = mtg_cfg_validate(&cfg, &err) == MTG_OK;
    fuzz_check_err(&err);
    char *json = NULL;
    FUZZ_CHECK(mtg_cfg_to_json(&cfg, &json) == MTG_OK && json);
    if (valid) {
        mtg_cfg_defaults(&back);
        rc = mtg_cfg_load_string(&back, json, "round-trip", &err);
        if (rc != MTG_OK)
            fprintf(stderr, "round trip failed: %s\n--- printed config ---\n%s\n", err.msg, json);
        FUZZ_CHECK(rc == MTG_OK);
        rc = mtg_cfg_validate(&back, &err);
        if (rc != MTG_OK)
            fprintf(stderr, "round trip invalid: %s\n", err.msg);
        FUZZ_CHECK(rc == MTG_OK);
        char *json2 = NULL;
        FUZZ_CHECK(mtg_cfg_to_json(&back, &json2) == MTG_OK && json2);
        if (strcmp(json, json2) != 0)
            fprintf(stderr, "--- first ---\n%s\n--- second ---\n%s\n", json, json2);
        FUZZ_CHECK(strcmp(json, json2) == 0);
        free(json2);
    }
    free(json);
    return 0;
}
