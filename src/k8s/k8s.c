/* k8s.c - the in-cluster API client: configuration, one request with retries. */
#include "k8s/k8s.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/status.h"

#define DEF_TIMEOUT_MS 10000
#define DEF_ATTEMPTS 6
#define DEF_BACKOFF_MS 200
#define MAX_BACKOFF_MS 5000
#define TOKEN_MAX 16384 /* service-account JWTs are ~1 KB; projected ones stay well below */
#define SMALL_FILE_MAX 256

struct mtg_k8s_client {
    char *api_url;
    char *token_file; /* "" = no token */
    char *ca_file;
    char *ns;
    long timeout_ms;
    int max_attempts;
    int backoff_ms;
};

/* NAME's value in envp (or the process environment when envp is NULL); NULL if unset or empty. */
static const char *env_get(char *const *envp, const char *name)
{
    const char *v = NULL;
    if (!envp) {
        v = getenv(name);
    } else {
        size_t n = strlen(name);
        for (char *const *e = envp; *e; e++)
            if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                v = *e + n + 1;
    }
    return v && *v ? v : NULL;
}

/* Reads a small text file whole, trimming trailing white space. */
static int read_small(const char *path, size_t max, char **out, const char *what,
                      struct mtg_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mtg_err_set(err, errno == ENOENT ? MTG_ENOTFOUND : MTG_EIO, "k8s: %s %s: %s", what,
                           path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory reading %s", what);
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return mtg_err_set(err, bad ? MTG_EIO : MTG_ETOOBIG, "k8s: %s %s: %s", what, path,
                           bad ? "read failed" : "too large");
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    *out = buf;
    return MTG_OK;
}

static int dup_into(char **dst, const char *s, struct mtg_err *err)
{
    *dst = strdup(s);
    return *dst ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
}

int mtg_k8s_check_name(const char *name, struct mtg_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MTG_K8S_NAME_MAX)
        return mtg_err_set(err, MTG_EINVAL, "k8s: object name \"%s\" must have 1-%d characters",
                           name ? name : "", MTG_K8S_NAME_MAX);
    /* RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', alphanumeric at both ends.
     * Checking it here also keeps the name from smuggling '/' or '?' into the URL path. */
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !((c == '-' || c == '.') && i > 0 && i + 1 < n))
            return mtg_err_set(err, MTG_EINVAL,
                               "k8s: object name \"%s\" is not a valid name (lower-case letters, "
                               "digits, '-' and '.', alphanumeric at both ends)", name);
    }
    return MTG_OK;
}

int mtg_k8s_client_new(const struct mtg_k8s_opts *opts, struct mtg_k8s_client **out,
                       struct mtg_err *err)
{
    static const struct mtg_k8s_opts none = {0};
    const struct mtg_k8s_opts *o = opts ? opts : &none;
    int rc;
    *out = NULL;
    /* Reference-counted and thread-safe since curl 7.84; paired with the cleanup in free. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mtg_err_set(err, MTG_EIO, "k8s: curl_global_init failed");
    struct mtg_k8s_client *kc = calloc(1, sizeof *kc);
    if (!kc) {
        curl_global_cleanup();
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
    }
    kc->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEF_TIMEOUT_MS;
    kc->max_attempts = o->max_attempts > 0 ? o->max_attempts : DEF_ATTEMPTS;
    kc->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : DEF_BACKOFF_MS;

    const char *api = o->api_url ? o->api_url : env_get(o->envp, "MTGAN_K8S_API");
    if (api) {
        if ((rc = dup_into(&kc->api_url, api, err)) != MTG_OK)
            goto fail;
    } else {
        const char *host = env_get(o->envp, "KUBERNETES_SERVICE_HOST");
        const char *port = env_get(o->envp, "KUBERNETES_SERVICE_PORT");
        if (!host) {
            rc = mtg_err_set(err, MTG_EINVAL,
                             "k8s: not running in a cluster (KUBERNETES_SERVICE_HOST is unset); "
                             "set MTGAN_K8S_API to reach an API server from outside");
            goto fail;
        }
        size_t n = strlen(host) + (port ? strlen(port) : 3) + 16;
        if (!(kc->api_url = malloc(n))) {
            rc = mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
            goto fail;
        }
        /* An IPv6 service host (dual-stack clusters) needs brackets in a URL. */
        int v6 = strchr(host, ':') != NULL;
        snprintf(kc->api_url, n, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
                 port ? port : "443");
    }
    if (strncmp(kc->api_url, "http://", 7) != 0 && strncmp(kc->api_url, "https://", 8) != 0) {
        rc = mtg_err_set(err, MTG_EINVAL, "k8s: API URL \"%s\" must start with http:// or https://",
                         kc->api_url);
        goto fail;
    }
    size_t ul = strlen(kc->api_url);
    while (ul > 0 && kc->api_url[ul - 1] == '/')
        kc->api_url[--ul] = '\0';

    const char *tok = o->token_file ? o->token_file : env_get(o->envp, "MTGAN_K8S_TOKEN_FILE");
    if ((rc = dup_into(&kc->token_file, tok ? tok : MTG_K8S_SA_DIR "/token", err)) != MTG_OK)
        goto fail;
    const char *ca = o->ca_file ? o->ca_file : env_get(o->envp, "MTGAN_K8S_CA_FILE");
    if ((rc = dup_into(&kc->ca_file, ca ? ca : MTG_K8S_SA_DIR "/ca.crt", err)) != MTG_OK)
        goto fail;

    const char *ns = o->namespace ? o->namespace : env_get(o->envp, "MTGAN_K8S_NAMESPACE");
    if (ns) {
        if ((rc = dup_into(&kc->ns, ns, err)) != MTG_OK)
            goto fail;
    } else if ((rc = read_small(MTG_K8S_SA_DIR "/namespace", SMALL_FILE_MAX, &kc->ns,
                                "namespace file", err)) != MTG_OK) {
        mtg_err_wrap(err, "k8s: no namespace (set MTGAN_K8S_NAMESPACE)");
        goto fail;
    }
    if ((rc = mtg_k8s_check_name(kc->ns, err)) != MTG_OK) {
        mtg_err_wrap(err, "k8s: namespace");
        goto fail;
    }
    *out = kc;
    return MTG_OK;
fail:
    mtg_k8s_client_free(kc);
    return rc;
}

void mtg_k8s_client_free(struct mtg_k8s_client *kc)
{
    if (!kc)
        return;
    free(kc->api_url);
    free(kc->token_file);
    free(kc->ca_file);
    free(kc->ns);
    free(kc);
    curl_global_cleanup();
}

const char *mtg_k8s_namespace(const struct mtg_k8s_client *kc)
{
    return kc->ns;
}

const char *mtg_k8s_api_url(const struct mtg_k8s_client *kc)
{
    return kc->api_url;
}

/* ---- one request ---- */

struct body {
    char *buf;
    size_t len;
    int too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    if (b->too_big || b->len + n > MTG_K8S_MAX_RESPONSE) {
        b->too_big = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    char *nb = realloc(b->buf, b->len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, data, n);
    b->buf = nb;
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

/* The "message" of a metav1.Status reply, else the start of the body, for error text. */
static void status_message(const char *body, char *out, size_t cap)
{
    out[0] = '\0';
    if (!body)
        return;
    cJSON *o = cJSON_Parse(body);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    if (cJSON_IsString(m) && m->valuestring)
        snprintf(out, cap, "%s", m->valuestring);
    else
        snprintf(out, cap, "%.160s", body);
    cJSON_Delete(o);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

enum outcome { DONE = 0, RETRY = 1, FINAL = 2 };

static enum outcome request_once(struct mtg_k8s_client *kc, const char *method, const char *url,
                                 const char *content_type, const char *body, long *http,
                                 struct body *resp, char *why, size_t why_cap, int *code)
{
    char *token = NULL;
    char *auth = NULL;
    struct curl_slist *hdrs = NULL;
    enum outcome out = FINAL;
    CURL *c = curl_easy_init();
    struct mtg_err terr = {0};
    *http = 0;
    if (!c) {
        snprintf(why, why_cap, "curl_easy_init failed");
        *code = MTG_ENOMEM;
        goto done;
    }
    if (kc->token_file[0]) {
        /* Missing token: retrying will not help, the mount is part of the pod spec. */
        if (read_small(kc->token_file, TOKEN_MAX, &token, "token file", &terr) != MTG_OK) {
            snprintf(why, why_cap, "%s", terr.msg);
            *code = MTG_EAUTH;
            goto done;
        }
        if (strpbrk(token, "\r\n")) {
            snprintf(why, why_cap, "token file %s holds more than one line", kc->token_file);
            *code = MTG_EAUTH;
            goto done;
        }
        size_t n = strlen(token) + sizeof "Authorization: Bearer ";
        if (!(auth = malloc(n))) {
            *code = MTG_ENOMEM;
            snprintf(why, why_cap, "out of memory");
            goto done;
        }
        snprintf(auth, n, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (content_type) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kc->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, kc->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* A cluster-wide https_proxy must not see the service-account token. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (strncmp(url, "https://", 8) == 0)
        curl_easy_setopt(c, CURLOPT_CAINFO, kc->ca_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (resp->too_big) {
            snprintf(why, why_cap, "response larger than %d bytes", MTG_K8S_MAX_RESPONSE);
            *code = MTG_ETOOBIG;
            goto done;
        }
        snprintf(why, why_cap, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
        *code = MTG_ENET;
        /* A bad CA file or certificate is a configuration error, not a flaky network. */
        out = (cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_PEER_FAILED_VERIFICATION ||
               cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
                  ? FINAL
                  : RETRY;
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (*http >= 200 && *http < 300) {
        out = DONE;
        goto done;
    }
    char msg[200];
    status_message(resp->buf, msg, sizeof msg);
    snprintf(why, why_cap, "HTTP %ld%s%s", *http, msg[0] ? ": " : "", msg);
    if (*http >= 500 || *http == 429) {
        *code = MTG_EUNAVAIL;
        out = RETRY;
    } else {
        *code = (*http == 401 || *http == 403) ? MTG_EAUTH
                : *http == 404                 ? MTG_ENOTFOUND
                : *http == 409                 ? MTG_ECONFLICT
                                               : MTG_EINVAL;
    }
done:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    free(auth);
    if (token) {
        /* The token is a credential: do not leave it in freed heap memory. */
        memset(token, 0, strlen(token));
        free(token);
    }
    return out;
}

int mtg_k8s_request(struct mtg_k8s_client *kc, const char *method, const char *path,
                    const char *content_type, const char *body, long *http, char **resp,
                    struct mtg_err *err)
{
    long status = 0;
    if (resp)
        *resp = NULL;
    if (http)
        *http = 0;
    if (!path || path[0] != '/')
        return mtg_err_set(err, MTG_EINVAL, "k8s: request path must start with '/'");
    size_t n = strlen(kc->api_url) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url)
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
    snprintf(url, n, "%s%s", kc->api_url, path);
    char why[320] = "";
    int code = MTG_ENET;
    long delay = kc->backoff_ms;
    enum outcome out = FINAL;
    int attempt;
    for (attempt = 1; attempt <= kc->max_attempts; attempt++) {
        struct body b = {0};
        out = request_once(kc, method, url, content_type, body, &status, &b, why, sizeof why, &code);
        if (out == DONE) {
            if (resp) {
                *resp = b.buf ? b.buf : strdup("");
                b.buf = NULL;
                if (!*resp) {
                    free(url);
                    return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
                }
            }
            free(b.buf);
            break;
        }
        free(b.buf);
        if (out == FINAL || attempt == kc->max_attempts)
            break;
        mtg_log(MTG_LOG_WARN, "k8s", "%s %s: %s; retry %d/%d in %ld ms", method, path, why, attempt,
                kc->max_attempts - 1, delay);
        sleep_ms(delay);
        delay = delay * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay * 2;
    }
    free(url);
    if (http)
        *http = status;
    if (out == DONE)
        return MTG_OK;
    if (out == RETRY)
        return mtg_err_set(err, code, "k8s: %s %s: %s (gave up after %d attempts)", method, path,
                           why, kc->max_attempts);
    return mtg_err_set(err, code, "k8s: %s %s: %s", method, path, why);
}

int mtg_k8s_job_path(const struct mtg_k8s_client *kc, const char *name, const char *suffix,
                     char *buf, unsigned long cap, struct mtg_err *err)
{
    int rc = mtg_k8s_check_name(name, err);
    if (rc != MTG_OK)
        return rc;
    int n = snprintf(buf, cap, "/apis/%s/%s/namespaces/%s/%s/%s%s", MTG_K8S_GROUP, MTG_K8S_VERSION,
                     kc->ns, MTG_K8S_PLURAL, name, suffix ? suffix : "");
    if (n < 0 || (unsigned long)n >= cap)
        return mtg_err_set(err, MTG_ERANGE, "k8s: path of job \"%s\" too long", name);
    return MTG_OK;
}

int mtg_k8s_get_job(struct mtg_k8s_client *kc, const char *name, char **json, struct mtg_err *err)
{
    char path[640];
    *json = NULL;
    int rc = mtg_k8s_job_path(kc, name, NULL, path, sizeof path, err);
    if (rc != MTG_OK)
        return rc;
    rc = mtg_k8s_request(kc, "GET", path, NULL, NULL, NULL, json, err);
    if (rc == MTG_ENOTFOUND)
        mtg_err_wrap(err, "MultiTaskGANJob %s/%s not found", kc->ns, name);
    else if (rc == MTG_EAUTH)
        mtg_err_wrap(err, "MultiTaskGANJob %s/%s: not allowed (check the service account token "
                     "and the Role: get multitaskganjobs)", kc->ns, name);
    return rc;
}

int mtg_k8s_patch_job_status(struct mtg_k8s_client *kc, const char *name, const char *merge_patch,
                             struct mtg_err *err)
{
    char path[640];
    int rc = mtg_k8s_job_path(kc, name, "/status", path, sizeof path, err);
    if (rc != MTG_OK)
        return rc;
    rc = mtg_k8s_request(kc, "PATCH", path, "application/merge-patch+json", merge_patch, NULL, NULL,
                         err);
    if (rc == MTG_EAUTH)
        mtg_err_wrap(err, "MultiTaskGANJob %s/%s status: not allowed (the Role needs patch on "
                     "multitaskganjobs/status)", kc->ns, name);
    return rc;
}
