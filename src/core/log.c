#include "core/log.h"
#include "core/status.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int log_threshold = MTG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void mtg_log_set_level(enum mtg_log_level level) { atomic_store(&log_threshold, (int)level); }

enum mtg_log_level mtg_log_get_level(void) { return (enum mtg_log_level)atomic_load(&log_threshold); }

int mtg_log_parse_level(const char *s, enum mtg_log_level *out)
{
    for (int i = 0; i <= MTG_LOG_OFF; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum mtg_log_level)i;
            return MTG_OK;
        }
    }
    return MTG_EINVAL;
}

void mtg_log(enum mtg_log_level level, const char *component, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_threshold) || level >= MTG_LOG_OFF)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], component);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line so concurrent threads never interleave within a line. */
    fprintf(stderr, "%s\n", line);
}
