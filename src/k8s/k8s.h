/*
 * k8s.h - a minimal Kubernetes API client (libcurl + cJSON): just enough for
 * `mtgan-server --job NAME` to GET its MultiTaskGANJob and PATCH its status.
 * Inside a pod it uses the service account the kubelet mounts: the API server
 * at https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the bearer
 * token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount.
 * Every one of those can be overridden (options, or MTGAN_K8S_API,
 * MTGAN_K8S_TOKEN_FILE, MTGAN_K8S_CA_FILE, MTGAN_K8S_NAMESPACE), which is how
 * tests point it at a plain-http fake API server on 127.0.0.1.
 *
 *     struct mtg_k8s_client *kc;
 *     if (mtg_k8s_client_new(NULL, &kc, &err) != MTG_OK)    // in-cluster defaults + env
 *         die(err.msg);
 *     char *cr;                                             // the object as JSON; free()
 *     if (mtg_k8s_get_job(kc, "digits", &cr, &err) != MTG_OK)
 *         die(err.msg);   // "k8s: GET .../multitaskganjobs/digits: HTTP 404: ... not found"
 *     mtg_k8s_client_free(kc);
 *
 * Requests retry with exponential backoff on network errors, 429 and 5xx;
 * 4xx answers are final and quote the API server's Status message. The token
 * file is re-read on every request, because bound service-account tokens
 * are rotated by the kubelet while the pod runs. A client may be used by one
 * thread at a time per request; separate requests from different threads
 * are safe (each uses its own curl handle).
 */
#ifndef MTG_K8S_K8S_H
#define MTG_K8S_K8S_H

struct mtg_err;
struct mtg_k8s_client;

#define MTG_K8S_GROUP "mtgan.sedna.io"
#define MTG_K8S_VERSION "v1alpha1"
#define MTG_K8S_PLURAL "multitaskganjobs"
#define MTG_K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define MTG_K8S_MAX_RESPONSE (4 << 20) /* a MultiTaskGANJob is a few KB */
#define MTG_K8S_NAME_MAX 253           /* RFC 1123 subdomain, as object names */

/*
 * Where the API server is and how to authenticate. NULL string fields take,
 * in order, the env variable named beside them and then the in-cluster
 * default. All zero (or passing NULL to mtg_k8s_client_new) = in-cluster.
 */
struct mtg_k8s_opts {
    const char *api_url;    /* MTGAN_K8S_API; https://$KUBERNETES_SERVICE_HOST:$..._PORT */
    const char *token_file; /* MTGAN_K8S_TOKEN_FILE; SA_DIR/token. "" = send no token */
    const char *ca_file;    /* MTGAN_K8S_CA_FILE; SA_DIR/ca.crt (used for https only) */
    const char *namespace;  /* MTGAN_K8S_NAMESPACE; the contents of SA_DIR/namespace */
    int timeout_ms;         /* per attempt; 0 = 10000 */
    int max_attempts;       /* 0 = 6 */
    int backoff_ms;         /* first retry delay, doubled each time up to 5 s; 0 = 200 */
    char *const *envp;      /* "NAME=value" array read instead of the process env; NULL = env */
};

/*
 * Resolves opts (may be NULL) and reads the namespace file if needed; the
 * token is read per request. *out is owned by the caller
 * (mtg_k8s_client_free). Fails with a message naming what is missing, e.g.
 * outside a cluster without MTGAN_K8S_API.
 */
int mtg_k8s_client_new(const struct mtg_k8s_opts *opts, struct mtg_k8s_client **out,
                       struct mtg_err *err);
/* Accepts NULL. */
void mtg_k8s_client_free(struct mtg_k8s_client *kc);

/* The namespace requests go to; points into kc. */
const char *mtg_k8s_namespace(const struct mtg_k8s_client *kc);
/* The API server base URL (no trailing slash); points into kc. */
const char *mtg_k8s_api_url(const struct mtg_k8s_client *kc);

/*
 * One API call with retries. path is absolute ("/apis/..."); body and
 * content_type may be NULL. On 2xx returns MTG_OK and, when resp is not
 * NULL, *resp = the response body (malloc'd, NUL-terminated; caller frees).
 * *http (may be NULL) receives the last HTTP status (0 = no answer).
 * Errors: 401/403 MTG_EAUTH, 404 MTG_ENOTFOUND, 409 MTG_ECONFLICT, other
 * 4xx MTG_EINVAL, 5xx/429 after the last attempt MTG_EUNAVAIL, no answer
 * MTG_ENET; the message names method, path, status and the Status message.
 */
int mtg_k8s_request(struct mtg_k8s_client *kc, const char *method, const char *path,
                    const char *content_type, const char *body, long *http, char **resp,
                    struct mtg_err *err);

/* Checks name is a valid object name (RFC 1123 subdomain, <= 253 chars). */
int mtg_k8s_check_name(const char *name, struct mtg_err *err);

/* "/apis/mtgan.sedna.io/v1alpha1/namespaces/<ns>/multitaskganjobs/<name>" + suffix into buf. */
int mtg_k8s_job_path(const struct mtg_k8s_client *kc, const char *name, const char *suffix,
                     char *buf, unsigned long cap, struct mtg_err *err);

/* GET the MultiTaskGANJob called name in the client's namespace; *json is malloc'd. */
int mtg_k8s_get_job(struct mtg_k8s_client *kc, const char *name, char **json, struct mtg_err *err);

/* PATCH .../multitaskganjobs/<name>/status with a JSON merge patch (RFC 7386) body. */
int mtg_k8s_patch_job_status(struct mtg_k8s_client *kc, const char *name, const char *merge_patch,
                             struct mtg_err *err);

#endif
