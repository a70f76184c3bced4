/*
 * http_resp.c - response helpers, request accessors and the status mapping
 * of the HTTP server wrapper (see http.h). Request accessors only read
 * what http.c filled in, or ask MHD for headers and query arguments.
 */
#include "server/http_internal.h"

#include <cJSON.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mtg_http_resp_deinit(struct mtg_http_resp *resp)
{
    if (!resp)
        return;
    if (resp->body && resp->free_fn)
        resp->free_fn(resp->body);
    for (int i = 0; i < resp->n_hdr; i++) {
        free(resp->hdr_name[i]);
        free(resp->hdr_value[i]);
    }
    memset(resp, 0, sizeof *resp);
}

static void resp_drop_body(struct mtg_http_resp *resp)
{
    if (resp->body && resp->free_fn)
        resp->free_fn(resp->body);
    resp->body = NULL;
    resp->len = 0;
    resp->free_fn = NULL;
}

int mtg_http_resp_bytes(struct mtg_http_resp *resp, int status, const char *content_type,
                        void *bytes, size_t len, int owned)
{
    resp_drop_body(resp);
    resp->status = status;
    resp->ctype = content_type;
    if (len == 0) {
        if (owned)
            free(bytes);
        return MTG_OK;
    }
    if (owned) {
        resp->body = bytes;
    } else {
        resp->body = malloc(len);
        if (!resp->body) {
            resp->status = 500;
            return MTG_ENOMEM;
        }
        memcpy(resp->body, bytes, len);
    }
    resp->len = len;
    resp->free_fn = free;
    return MTG_OK;
}

int mtg_http_resp_blob(struct mtg_http_resp *resp, int status, void *bytes, size_t len,
                       int owned)
{
    return mtg_http_resp_bytes(resp, status, MTG_HTTP_CT_BLOB, bytes, len, owned);
}

int mtg_http_resp_png(struct mtg_http_resp *resp, int status, void *bytes, size_t len, int owned)
{
    return mtg_http_resp_bytes(resp, status, MTG_HTTP_CT_PNG, bytes, len, owned);
}

int mtg_http_resp_text(struct mtg_http_resp *resp, int status, const char *text, size_t len)
{
    /* The cast is safe: with owned == 0 the bytes are only copied. */
    return mtg_http_resp_bytes(resp, status, MTG_HTTP_CT_METRICS, (void *)text, len, 0);
}

int mtg_http_resp_json_str(struct mtg_http_resp *resp, int status, const char *text)
{
    return mtg_http_resp_bytes(resp, status, MTG_HTTP_CT_JSON, (void *)text, strlen(text), 0);
}

int mtg_http_resp_json(struct mtg_http_resp *resp, int status, struct cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    resp_drop_body(resp);
    resp->status = status;
    resp->ctype = MTG_HTTP_CT_JSON;
    if (!text) {
        resp->status = 500;
        return MTG_ENOMEM;
    }
    resp->body = (unsigned char *)text;
    resp->len = strlen(text);
    /* cJSON may have been given other allocation hooks: free through it. */
    resp->free_fn = cJSON_free;
    return MTG_OK;
}

static int resp_error_v(struct mtg_http_resp *resp, int status, const char *code,
                        const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    if (!e || !cJSON_AddStringToObject(e, "code", code) ||
        !cJSON_AddStringToObject(e, "message", msg)) {
        cJSON_Delete(root);
        /* Keep the status so the client still learns what went wrong. */
        resp_drop_body(resp);
        resp->status = status;
        resp->ctype = NULL;
        return MTG_ENOMEM;
    }
    return mtg_http_resp_json(resp, status, root) == MTG_OK ? MTG_OK : MTG_ENOMEM;
}

int mtg_http_resp_error(struct mtg_http_resp *resp, int status, const char *code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = resp_error_v(resp, status, code, fmt, ap);
    va_end(ap);
    if (rc != MTG_OK)
        resp->status = status;
    return rc;
}

int mtg_http_resp_err(struct mtg_http_resp *resp, const struct mtg_err *err)
{
    return mtg_http_resp_error(resp, mtg_http_status_for(err->code), mtg_http_code_for(err->code),
                               "%s", err->msg[0] ? err->msg : mtg_status_str(err->code));
}

static int header_value_ok(const char *s)
{
    /* CR or LF would let a value smuggle in extra headers. */
    return s && !strpbrk(s, "\r\n");
}

int mtg_http_resp_header(struct mtg_http_resp *resp, const char *name, const char *value)
{
    if (!header_value_ok(name) || !header_value_ok(value) || !name[0] || strchr(name, ':'))
        return MTG_EINVAL;
    if (resp->n_hdr >= MTG_HTTP_RESP_MAX_HEADERS)
        return MTG_ERANGE;
    char *n = strdup(name);
    char *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return MTG_ENOMEM;
    }
    resp->hdr_name[resp->n_hdr] = n;
    resp->hdr_value[resp->n_hdr] = v;
    resp->n_hdr++;
    return MTG_OK;
}

int mtg_http_resp_not_modified(struct mtg_http_resp *resp, const char *etag)
{
    resp_drop_body(resp);
    resp->status = 304;
    resp->ctype = NULL;
    return etag ? mtg_http_resp_header(resp, "ETag", etag) : MTG_OK;
}

int mtg_http_status_for(int code)
{
    switch (code) {
    case MTG_OK: return 200;
    case MTG_EINVAL:
    case MTG_ERANGE:
    case MTG_EFORMAT:
    case MTG_ECRC: return 400;
    case MTG_EAUTH: return 401;
    case MTG_ENOTFOUND: return 404;
    case MTG_ECONFLICT: return 409;
    case MTG_ETOOBIG: return 413;
    case MTG_EVERSION:
    case MTG_ENOTFINITE: return 422;
    case MTG_EUNAVAIL:
    case MTG_ESTOPPED: return 503;
    default: return 500;
    }
}

const char *mtg_http_code_for(int code)
{
    switch (code) {
    case MTG_OK: return "ok";
    case MTG_EINVAL: return "invalid_argument";
    case MTG_ERANGE: return "out_of_range";
    case MTG_EFORMAT: return "bad_format";
    case MTG_ECRC: return "bad_checksum";
    case MTG_EAUTH: return "unauthorized";
    case MTG_ENOTFOUND: return "not_found";
    case MTG_ECONFLICT: return "conflict";
    case MTG_ETOOBIG: return "too_large";
    case MTG_EVERSION: return "unsupported_version";
    case MTG_ENOTFINITE: return "not_finite";
    case MTG_EUNAVAIL: return "unavailable";
    case MTG_ESTOPPED: return "shutting_down";
    default: return "internal";
    }
}

/* ---- request accessors ---- */

const char *mtg_http_method(const struct mtg_http_req *req)
{
    return req->method;
}

const char *mtg_http_path(const struct mtg_http_req *req)
{
    return req->path;
}

const char *mtg_http_param(const struct mtg_http_req *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->n_params; i++)
        if (req->param_name_len[i] == n && memcmp(req->param_name[i], name, n) == 0)
            return req->param_val[i];
    return NULL;
}

const char *mtg_http_query(const struct mtg_http_req *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    /* MHD reports "?flag" as a NULL value; callers get "" to tell it from absent. */
    if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                            strlen(name), NULL, NULL) == MHD_YES)
        return "";
    return v;
}

const char *mtg_http_header(const struct mtg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const void *mtg_http_body(const struct mtg_http_req *req, size_t *len)
{
    if (len)
        *len = req->len;
    return req->len ? req->body : NULL;
}

const char *mtg_http_remote(const struct mtg_http_req *req)
{
    return req->remote;
}

/* Compares two entity tags by their quoted opaque part, ignoring a W/ prefix. */
static int etag_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen >= 2 && strncmp(a, "W/", 2) == 0) {
        a += 2;
        alen -= 2;
    }
    if (blen >= 2 && strncmp(b, "W/", 2) == 0) {
        b += 2;
        blen -= 2;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

int mtg_http_etag_matches(const struct mtg_http_req *req, const char *etag)
{
    const char *h = mtg_http_header(req, "If-None-Match");
    if (!h || !etag)
        return 0;
    size_t elen = strlen(etag);
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return 1;
        const char *start = p;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '"') {
            const char *close = strchr(p + 1, '"');
            if (!close)
                return 0;
            p = close + 1;
        } else {
            /* Unquoted token: tolerated, compared as written. */
            while (*p && *p != ',' && *p != ' ' && *p != '\t')
                p++;
        }
        if (etag_equal(start, (size_t)(p - start), etag, elen))
            return 1;
    }
    return 0;
}
