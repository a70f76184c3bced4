/*
 * http_internal.h - what http.c (daemon, routing, body limits),
 * http_resp.c (response helpers, request accessors) and http_auth.c
 * (token and TLS files, bearer check) share. Not for use outside
 * src/server/http*.c.
 */
#ifndef MTG_SERVER_HTTP_INTERNAL_H
#define MTG_SERVER_HTTP_INTERNAL_H

#include <stddef.h>

#include "server/http.h"

struct MHD_Connection;

#define MTG_HTTP_RESP_MAX_HEADERS 8

struct mtg_http_req {
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD, valid for the request */
    const char *path;   /* percent-decoded, query stripped */
    int n_params;
    const char *param_name[MTG_HTTP_MAX_PARAMS]; /* point into the compiled route */
    size_t param_name_len[MTG_HTTP_MAX_PARAMS];
    char param_val[MTG_HTTP_MAX_PARAMS][MTG_HTTP_PARAM_MAX + 1];
    unsigned char *body; /* owned; NULL when no body */
    size_t len, cap;
    char remote[64];
    const struct mtg_http_server *srv; /* for mtg_http_authorized_edge */
    int admin;                         /* carried the server token */
};

struct mtg_http_resp {
    int status; /* 0 = nothing set yet */
    const char *ctype;   /* static string literal */
    unsigned char *body; /* owned, released with free_fn */
    size_t len;
    void (*free_fn)(void *);
    int n_hdr;
    char *hdr_name[MTG_HTTP_RESP_MAX_HEADERS];
    char *hdr_value[MTG_HTTP_RESP_MAX_HEADERS];
};

/* Releases the body and headers; leaves resp zeroed. */
void mtg_http_resp_deinit(struct mtg_http_resp *resp);

/* ---- http_auth.c: credentials ---- */

/*
 * Loads cfg->token or cfg->token_file (not both), trimmed of surrounding
 * whitespace. *token is NULL when neither is set; otherwise malloc'd and
 * owned by the caller (release with mtg_http_auth_free_secret).
 */
int mtg_http_auth_load_token(const struct mtg_http_config *cfg, char **token, size_t *len,
                             struct mtg_err *err);

/* True when authorization ("Bearer <t>", may be NULL) carries token; constant time in t. */
int mtg_http_auth_check(const char *token, size_t len, const char *authorization);

/* True when authorization carries edge_id's token derived from token (mtg_http_edge_token). */
int mtg_http_auth_check_edge(const char *token, const char *edge_id, const char *authorization);

/* http.c: the server token (NULL when auth is off). */
const char *mtg_http_server_token(const struct mtg_http_server *srv);

/* Reads a PEM file (max 1 MiB) into a malloc'd NUL-terminated string owned by the caller. */
int mtg_http_auth_read_pem(const char *path, char **out, size_t *len, struct mtg_err *err);

/* Zeroes and frees a malloc'd NUL-terminated secret; NULL is fine. */
void mtg_http_auth_free_secret(char *secret);

#endif
