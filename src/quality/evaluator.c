#include "quality/evaluator.h"

#include <stdio.h>

#include "core/log.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/fashion.h"
#include "quality/cnn_judge.h"
#include "quality/quality.h"

#define CACHE_PATH_MAX 1100

/* quality.c reads features at its classifier's layer MTG_QUALITY_FEATURE_LAYER: the judge's must be that one. */
_Static_assert(MTG_CNN_JUDGE_FEATURE_LAYER == MTG_QUALITY_FEATURE_LAYER,
               "the conv judge's feature layer is not the one quality.c reads");

static int fashion_evaluator(const char *dir, int limit, const char *state_dir, struct mtg_quality **out,
                             struct mtg_err *err)
{
    struct mtg_dataset *slice = NULL, *test = NULL;
    struct mtg_net *judge = NULL;
    struct mtg_cnn_judge_cfg jc;
    mtg_cnn_judge_cfg_default(&jc);
    char cache[CACHE_PATH_MAX] = "";
    struct mtg_err cerr = {0};
    if (state_dir && state_dir[0] && mtg_cnn_judge_cache_path(state_dir, cache, sizeof cache, &cerr) != MTG_OK)
        mtg_log(MTG_LOG_WARN, "quality", "%s: the fashion-mnist judge is not cached", cerr.msg);
    int per_class = limit > 0 && limit < MTG_QUALITY_FASHION_PER_CLASS ? limit : MTG_QUALITY_FASHION_PER_CLASS;
    int trained = 0;
    int rc = mtg_data_fashion_load(dir, MTG_DATA_TRAIN, per_class, &slice, err);
    if (rc == MTG_OK)
        rc = mtg_data_fashion_load(dir, MTG_DATA_TEST, 0, &test, err);
    if (rc == MTG_OK)
        rc = mtg_cnn_judge_fashion(dir, &jc, cache[0] ? cache : NULL, &judge, &trained, err);
    if (rc == MTG_OK)
        rc = mtg_quality_new(judge, test, out, err); /* consumes judge */
    if (rc == MTG_OK && (rc = mtg_quality_set_ceiling(*out, slice, err)) != MTG_OK) {
        mtg_quality_free(*out);
        *out = NULL;
    }
    if (rc == MTG_OK)
        mtg_log(MTG_LOG_INFO, "quality",
                "fashion-mnist judge: conv net %s, test accuracy %.3f; ceiling from %d train images per class",
                trained ? "trained" : "cached", mtg_quality_ref_accuracy(*out), per_class);
    mtg_data_free(slice);
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
    if (kind != MTG_DATA_KIND_DIGITS)
        return fashion_evaluator(path, limit_per_class, state_dir, out, err);
    char cache[CACHE_PATH_MAX] = "";
    if (state_dir && state_dir[0]) {
        int n = snprintf(cache, sizeof cache, "%s/classifier.blob", state_dir);
        if (n < 0 || (size_t)n >= sizeof cache)
            return mtg_err_set(err, MTG_ERANGE, "quality: state_dir too long for the classifier cache");
    }
    return mtg_quality_new_digits(path, cache[0] ? cache : NULL, NULL, out, err);
}
