/*
 * log.h - one logging function with levels; one line per event on stderr.
 *
 *     mtg_log(MTG_LOG_INFO, "edge", "registered id=%s tasks=%d", id, n);
 *   -> 2026-11-23T10:00:00.123Z info edge: registered id=e1 tasks=4
 *
 * The level threshold is the one piece of process-wide mutable state in
 * mtgan: it is set once at start-up (flag --log-level or env
 * MTGAN_LOG_LEVEL) and read atomically afterwards.
 */
#ifndef MTG_CORE_LOG_H
#define MTG_CORE_LOG_H

enum mtg_log_level {
    MTG_LOG_DEBUG = 0,
    MTG_LOG_INFO = 1,
    MTG_LOG_WARN = 2,
    MTG_LOG_ERROR = 3,
    MTG_LOG_OFF = 4,
};

void mtg_log_set_level(enum mtg_log_level level);
enum mtg_log_level mtg_log_get_level(void);

/* Parses "debug|info|warn|error|off"; returns 0 or MTG_EINVAL. */
int mtg_log_parse_level(const char *s, enum mtg_log_level *out);

void mtg_log(enum mtg_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
