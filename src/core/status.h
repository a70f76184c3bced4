/*
 * status.h - the one project-wide status enum and the error record.
 *
 * Every mtgan function that can fail returns int: MTG_OK (0) or a negative
 * MTG_E* code, and fills a caller-owned struct mtg_err whose message names
 * the thing that was wrong (the key, the tensor, the file). Asserts are kept
 * for programmer bugs only.
 *
 *     struct mtg_err err = {0};
 *     if (mtg_blob_decode(buf, len, NULL, &blob, &err) != MTG_OK)
 *         fprintf(stderr, "inspect: %s\n", err.msg);
 *
 * Values are part of logs and exit codes: only ever append new ones.
 */
#ifndef MTG_CORE_STATUS_H
#define MTG_CORE_STATUS_H

enum mtg_status {
    MTG_OK = 0,
    MTG_EINVAL = -1,    /* bad argument, bad config value, bad request */
    MTG_ENOMEM = -2,    /* allocation failed */
    MTG_EIO = -3,       /* file or socket I/O failed */
    MTG_EFORMAT = -4,   /* malformed blob, JSON, CSV */
    MTG_ERANGE = -5,    /* a length or dimension outside its limit */
    MTG_ENOTFOUND = -6, /* unknown task, edge, file */
    MTG_ECONFLICT = -7, /* state does not allow this now (stale version, round closed) */
    MTG_ENET = -8,      /* network error talking to a peer */
    MTG_EAUTH = -9,     /* missing or wrong credentials */
    MTG_ETOOBIG = -10,  /* body or blob over its size limit */
    MTG_ECRC = -11,     /* checksum mismatch */
    MTG_EVERSION = -12, /* unsupported format version */
    MTG_ENOTFINITE = -13, /* NaN or Inf where finite numbers are required */
    MTG_EUNAVAIL = -14, /* not ready yet; try again later */
    MTG_ESTOPPED = -15, /* a stop was requested (SIGTERM, shutdown) */
};

#define MTG_ERR_MSG_MAX 256

struct mtg_err {
    int code;
    char msg[MTG_ERR_MSG_MAX];
};

/* Static English name of a status code ("EINVAL" ...); never NULL. */
const char *mtg_status_str(int code);

/*
 * Records code and a printf-style message in err (err may be NULL) and
 * returns code, so call sites read: return mtg_err_set(err, MTG_EINVAL, ...).
 */
int mtg_err_set(struct mtg_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to err->msg, keeping the code; returns err->code. */
int mtg_err_wrap(struct mtg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
