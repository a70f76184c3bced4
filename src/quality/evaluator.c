#include "quality/evaluator.h"

#include <stdio.h>

#include "core/log.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/fashion.h"
#include "quality/quality.h"

#define CACHE_PATH_MAX 1100

static int fashion_evaluator(const char *dir, int limit, const char *cache, struct mtg_quality **out,
                             struct mtg_err *err)
{
    struct mtg_dataset *train = NULL, *test = NULL;
    struct mtg_net *clf = NULL;
    struct mtg_quality_cfg qc;
    mtg_quality_cfg_default(&qc);
    qc.epochs = MTG_QUALITY_FASHION_EPOCHS;
    int per_class = limit > 0 && limit < MTG_QUALITY_FASHION_PER_CLASS ? limit : MTG_QUALITY_FASHION_PER_CLASS;
    int rc = mtg_data_fashion_load(dir, MTG_DATA_TRAIN, per_class, &train, err);
    if (rc == MTG_OK)
        rc = mtg_data_fashion_load(dir, MTG_DATA_TEST, 0, &test, err);
    if (rc == MTG_OK)
        rc = mtg_quality_classifier_load_or_train(cache, train, &qc, &clf, err);
    if (rc == MTG_OK)
        rc = mtg_quality_new(clf, test, out, err); /* consumes clf */
    if (rc == MTG_OK && (rc = mtg_quality_set_ceiling(*out, train, err)) != MTG_OK) {
        mtg_quality_free(*out);
        *out = NULL;
    }
    if (rc == MTG_OK)
        mtg_log(MTG_LOG_INFO, "quality", "fashion-mnist classifier: %d train images per class, test accuracy %.3f",
                per_class, mtg_quality_ref_accuracy(*out));
    mtg_data_free(train);
    mtg_data_free(test);
    return rc;
}

int mtg_quality_new_for_dataset(int kind, const char *path, int limit_per_class, const char *state_dir,
                                struct mtg_quality **out, struct mtg_err *err)
{
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
    *out = NULL;
    const struct mtg_data_kind_info *info = mtg_data_kind_info(kind);
    if (!info || info->side == 0)
        return mtg_err_set(err, MTG_EINVAL, "quality: dataset %s has no classifier (the ring is judged by mode coverage)",
                           info ? info->name : "(unknown)");
    char cache[CACHE_PATH_MAX] = "";
    if (state_dir && state_dir[0]) {
        int n = kind == MTG_DATA_KIND_DIGITS ? snprintf(cache, sizeof cache, "%s/classifier.blob", state_dir)
                                             : snprintf(cache, sizeof cache, "%s/classifier-%s.blob", state_dir, info->name);
        if (n < 0 || (size_t)n >= sizeof cache)
            return mtg_err_set(err, MTG_ERANGE, "quality: state_dir too long for the classifier cache");
    }
    if (kind == MTG_DATA_KIND_DIGITS)
        return mtg_quality_new_digits(path, cache[0] ? cache : NULL, NULL, out, err);
    return fashion_evaluator(path, limit_per_class, cache[0] ? cache : NULL, out, err);
}
