/*
 * http_auth.c - credentials for the HTTP server: the bearer token (from
 * config or a k8s Secret file), its constant-time check, and the TLS PEM
 * files. Secrets are zeroed before their memory is freed.
 */
#include "server/http_internal.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 4096
#define PEM_MAX (1u << 20)

void mtg_http_auth_free_secret(char *secret)
{
    if (!secret)
        return;
    /* volatile so the stores are not dropped as dead before free(). */
    volatile char *p = secret;
    while (*p)
        *p++ = 0;
    free(secret);
}

static int read_file(const char *path, size_t max, char **out, size_t *len, struct mtg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mtg_err_set(err, MTG_EIO, "http: cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return mtg_err_set(err, MTG_ENOMEM, "http: out of memory reading %s", path);
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return mtg_err_set(err, bad ? MTG_EIO : MTG_ETOOBIG, "http: %s: %s", path,
                           bad ? "read error" : "file too large");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MTG_OK;
}

int mtg_http_auth_load_token(const struct mtg_http_config *cfg, char **token, size_t *len,
                             struct mtg_err *err)
{
    char *raw = NULL;
    size_t n = 0;
    *token = NULL;
    *len = 0;
    if (cfg->token && cfg->token_file)
        return mtg_err_set(err, MTG_EINVAL, "http: set token or token_file, not both");
    if (cfg->token_file) {
        int rc = read_file(cfg->token_file, TOKEN_MAX, &raw, &n, err);
        if (rc != MTG_OK)
            return mtg_err_wrap(err, "token_file");
    } else if (cfg->token) {
        raw = strdup(cfg->token);
        if (!raw)
            return mtg_err_set(err, MTG_ENOMEM, "http: out of memory copying token");
        n = strlen(raw);
    } else {
        return MTG_OK;
    }
    /* Secrets mounted from files usually end in a newline; trim both ends. */
    size_t a = 0;
    while (a < n && isspace((unsigned char)raw[a]))
        a++;
    while (n > a && isspace((unsigned char)raw[n - 1]))
        n--;
    for (size_t i = a; i < n; i++) {
        if (!isgraph((unsigned char)raw[i])) {
            mtg_http_auth_free_secret(raw);
            return mtg_err_set(err, MTG_EINVAL, "http: token contains whitespace or control bytes");
        }
    }
    if (n == a) {
        free(raw);
        return mtg_err_set(err, MTG_EINVAL, "http: token%s%s is empty",
                           cfg->token_file ? " file " : "", cfg->token_file ? cfg->token_file : "");
    }
    /* The shipped manifests' placeholder: serving with a token everyone can read is no auth at all. */
    if (n - a >= 10 && strncmp(raw + a, "REPLACE-ME", 10) == 0) {
        mtg_http_auth_free_secret(raw);
        return mtg_err_set(err, MTG_EINVAL,
                           "http: the token is still the placeholder REPLACE-ME...; put a random one in the Secret "
                           "(docs/kubernetes.md, \"Rotating the token\")");
    }
    memmove(raw, raw + a, n - a);
    raw[n - a] = '\0';
    *token = raw;
    *len = n - a;
    return MTG_OK;
}

/*
 * Constant time in the supplied token's content: the loop always walks
 * the whole stored token, so timing reveals at most its length.
 */
static int token_equal(const char *want, size_t wlen, const char *got, size_t glen)
{
    volatile unsigned char diff = (unsigned char)(wlen != glen);
    for (size_t i = 0; i < wlen; i++) {
        unsigned char g = i < glen ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

int mtg_http_auth_check(const char *token, size_t len, const char *authorization)
{
    const char *h = authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    size_t hl = strlen(h);
    while (hl > 0 && h[hl - 1] == ' ')
        hl--;
    return token_equal(token, len, h, hl);
}

int mtg_http_auth_read_pem(const char *path, char **out, size_t *len, struct mtg_err *err)
{
    return read_file(path, PEM_MAX, out, len, err);
}

int mtg_http_edge_token(const char *server_token, const char *edge_id, char *out, size_t cap, struct mtg_err *err)
{
    if (!server_token || !edge_id || cap < MTG_HTTP_EDGE_TOKEN_LEN + 1)
        return mtg_err_set(err, MTG_EINVAL, "http: edge token needs the server token, an edge id and %d bytes",
                           MTG_HTTP_EDGE_TOKEN_LEN + 1);
    char msg[128];
    int n = snprintf(msg, sizeof msg, "mtgan-edge:%s", edge_id);
    if (n < 0 || (size_t)n >= sizeof msg)
        return mtg_err_set(err, MTG_EINVAL, "http: edge id too long for a token");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), server_token, (int)strlen(server_token), (const unsigned char *)msg, (size_t)n, mac,
              &mac_len) ||
        mac_len != 32)
        return mtg_err_set(err, MTG_EIO, "http: HMAC-SHA256 failed");
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "e1.", 3);
    for (unsigned i = 0; i < 32; i++) {
        out[3 + 2 * i] = hex[mac[i] >> 4];
        out[4 + 2 * i] = hex[mac[i] & 15];
    }
    out[MTG_HTTP_EDGE_TOKEN_LEN] = '\0';
    return MTG_OK;
}

int mtg_http_auth_check_edge(const char *token, const char *edge_id, const char *authorization)
{
    char want[MTG_HTTP_EDGE_TOKEN_LEN + 1];
    if (!authorization || mtg_http_edge_token(token, edge_id, want, sizeof want, NULL) != MTG_OK)
        return 0;
    int ok = mtg_http_auth_check(want, MTG_HTTP_EDGE_TOKEN_LEN, authorization);
    volatile char *p = want;
    for (size_t i = 0; i < sizeof want; i++)
        p[i] = 0;
    return ok;
}

int mtg_http_authorized_edge(const struct mtg_http_req *req, const char *edge_id)
{
    const char *token = req->srv ? mtg_http_server_token(req->srv) : NULL;
    if (!token || req->admin)
        return 1;
    return mtg_http_auth_check_edge(token, edge_id, mtg_http_header(req, "Authorization"));
}
