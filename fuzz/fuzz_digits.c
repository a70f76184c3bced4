/*
 * fuzz_digits.c - the digits CSV parser (mtg_data_digits_parse), which also
 * reads data arriving over the network (Sedna TRAIN_DATASET_URL). The input
 * is passed without a trailing NUL. A parsed dataset must hold 64-pixel rows
 * in [0, 1] and labels 0..9.
 */
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/digits.h"
#include "fuzz_util.h"

FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = (char *)fuzz_memdup(data, size);
    struct mtg_dataset *ds = NULL;
    struct mtg_err err = {0};
    int rc = mtg_data_digits_parse(buf, size, "fuzz.csv", &ds, &err);
    if (rc != MTG_OK) {
        FUZZ_CHECK(ds == NULL && rc < 0);
        fuzz_check_err(&err);
    } else {
        int n = mtg_data_n(ds);
        FUZZ_CHECK(n >= 1 && mtg_data_dim(ds) == MTG_DATA_DIGITS_DIM);
        const float *x = mtg_data_x(ds);
        const int *y = mtg_data_labels(ds);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(y[i] >= 0 && y[i] < MTG_DATA_DIGITS_CLASSES);
            for (int j = 0; j < MTG_DATA_DIGITS_DIM; j++)
                FUZZ_CHECK(x[(size_t)i * MTG_DATA_DIGITS_DIM + j] >= 0.0f &&
                           x[(size_t)i * MTG_DATA_DIGITS_DIM + j] <= 1.0f);
        }
        mtg_data_free(ds);
    }
    free(buf);
    return 0;
}
