#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    "OK",        "EINVAL",  "ENOMEM",   "EIO",     "EFORMAT",
    "ERANGE",    "ENOTFOUND", "ECONFLICT", "ENET",  "EAUTH",
    "ETOOBIG",   "ECRC",    "EVERSION", "ENOTFINITE", "EUNAVAIL",
    "ESTOPPED",
};

const char *mtg_status_str(int code)
{
    int i = -code;
    if (i < 0 || i >= (int)(sizeof status_names / sizeof status_names[0]))
        return "EUNKNOWN";
    return status_names[i];
}

int mtg_err_set(struct mtg_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int mtg_err_wrap(struct mtg_err *err, const char *fmt, ...)
{
    if (!err)
        return MTG_EINVAL;
    char prefix[MTG_ERR_MSG_MAX];
    char old[MTG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation of a long message is acceptable; the prefix is what matters most. */
    size_t n = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->msg, prefix, n);
    size_t room = sizeof err->msg - n;
    if (room > 2) {
        memcpy(err->msg + n, ": ", 2);
        size_t m = strnlen(old, room - 3);
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = '\0';
    } else {
        err->msg[n] = '\0';
    }
    return err->code;
}
