/*
 * fuzz_util.h - helpers shared by the libFuzzer harnesses in fuzz/.
 *
 * A harness reports a broken invariant with FUZZ_CHECK, which prints the
 * condition and aborts: libFuzzer then saves the input as a crash. Library
 * logging is switched off so the fuzzer's own output stays readable.
 */
#ifndef MTG_FUZZ_UTIL_H
#define MTG_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/log.h"
#include "core/status.h"

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* The entry points, declared (no header ships them), and an initializer that silences the library. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_QUIET_INIT()                                \
    int LLVMFuzzerInitialize(int *argc, char ***argv)    \
    {                                                    \
        (void)argc, (void)argv;                          \
        mtg_log_set_level(MTG_LOG_OFF);                  \
        return 0;                                        \
    }

/* A malloc'd NUL-terminated copy of data[0..n) (the library's string APIs need one). */
static inline char *fuzz_strdup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL);
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* A malloc'd copy of exactly n bytes, so ASan sees any read past the end. */
static inline uint8_t *fuzz_memdup(const uint8_t *data, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    FUZZ_CHECK(p != NULL);
    if (n)
        memcpy(p, data, n);
    return p;
}

/*
 * Rewrites the trailing CRC-32 of a blob-shaped buffer (magic "MTGB", at
 * least a header and a trailer) so it matches the bytes before it. Without
 * this nearly every mutation dies at the CRC check, which decode runs before
 * parsing the table, and the parser behind it is never reached.
 */
static inline void fuzz_fix_blob_crc(uint8_t *buf, size_t n)
{
    if (n < 16 || memcmp(buf, "MTGB", 4) != 0)
        return;
    uLong c = crc32(0L, buf, (uInt)(n - 4));
    buf[n - 4] = (uint8_t)c;
    buf[n - 3] = (uint8_t)(c >> 8);
    buf[n - 2] = (uint8_t)(c >> 16);
    buf[n - 1] = (uint8_t)(c >> 24);
}

/* The error message must be a NUL-terminated string (it ends up in HTTP bodies). */
static inline void fuzz_check_err(const struct mtg_err *err)
{
    FUZZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
}

#endif
