/*
 * test_dashboard.c - the live dashboard (GET /) in a real browser: `mtgan
 * demo --serve` (embedded server + 2 mtgan-edge processes, digits 0 and 3,
 * deterministic, a small step budget) prints its URL; headless Chromium
 * (Debian's chromium-headless-shell, which build/deps.sh installs) loads the
 * page, runs its script under the page's own Content-Security-Policy, and
 * the test reads the DOM it dumps: one data-task card per task, each with
 * a sample grid that decoded (data-loaded="1") and charts with points. The
 * screenshot goes to <bin dir>/../test/integration/dashboard.png. Also: the
 * page's routes need no token while mutating routes still do, and carry
 * the CSP; /v1/history answers incrementally and refuses bad queries.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(dashboard, .fini = fini, .timeout = 180);

/* The demo runs in a temp cwd: the data dir must be absolute. */
static void absolute_data_dir(void)
{
    const char *d = getenv("MTGAN_DATA_DIR");
    char buf[PATH_MAX];
    if (realpath(d && d[0] ? d : "data", buf))
        setenv("MTGAN_DATA_DIR", buf, 1);
}

/* $MTGAN_CHROMIUM, else chromium-headless-shell or chromium on PATH; 0 when found. */
static int find_chromium(char *out, size_t n)
{
    const char *env = getenv("MTGAN_CHROMIUM");
    if (env && env[0]) {
        snprintf(out, n, "%s", env);
        return access(out, X_OK);
    }
    static const char *const names[] = {"chromium-headless-shell", "chromium"};
    const char *path = getenv("PATH");
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        for (const char *p = path ? path : "/usr/bin"; *p;) {
            const char *e = strchr(p, ':');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            snprintf(out, n, "%.*s/%s", (int)len, p, names[k]);
            if (len > 0 && access(out, X_OK) == 0)
                return 0;
            p += len + (e != NULL);
        }
    }
    return -1;
}

/* Appends what fd has to *buf until `want` appears in it, EOF, or timeout_s. 1 when found. */
static int read_until(int fd, char **buf, size_t *len, size_t *cap, const char *want, double timeout_s)
{
    double end = tp_now_s() + timeout_s;
    while (!(*buf && strstr(*buf, want))) {
        if (tp_now_s() > end)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        if (*cap - *len < 4096) {
            *cap = *cap * 2 + 8192;
            *buf = realloc(*buf, *cap);
            cr_assert_not_null(*buf);
        }
        ssize_t r = read(fd, *buf + *len, *cap - *len - 1);
        if (r <= 0)
            return strstr(*buf ? *buf : "", want) != NULL;
        *len += (size_t)r;
        (*buf)[*len] = '\0';
    }
    return 1;
}

/* Where the screenshot goes: beside the test binaries, so it outlives the temp dirs. */
static void screenshot_path(char *out, size_t n)
{
    snprintf(out, n, "%s/../test/integration/dashboard.png", tp_bin_dir());
}

/* The largest data-points="N" in [s, e). */
static int max_points(const char *s, const char *e)
{
    int best = -1;
    for (const char *p = s; (p = strstr(p, "data-points=\"")) && p < e; p++)
        best = atoi(p + 13) > best ? atoi(p + 13) : best;
    return best;
}

/*
 * The "Done when": `mtgan demo --tasks 0,3 --edges 2 --serve` prints a
 * URL, and headless Chromium renders a card per task with a decoded sample
 * grid and charts with at least two points, with no CSP violation or script
 * error on the way.
 */
Test(dashboard, demo_serve_renders_in_headless_chromium)
{
    char chromium[PATH_MAX];
    if (find_chromium(chromium, sizeof chromium) != 0)
        cr_assert_fail("no headless Chromium (chromium-headless-shell or chromium on PATH, or $MTGAN_CHROMIUM): "
                       "run build/deps.sh, which installs the Debian package chromium-headless-shell");
    absolute_data_dir();
    char dir[256], log[320], bin[PATH_MAX], rel[PATH_MAX];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(log, sizeof log, "%s/demo.log", dir);
    snprintf(rel, sizeof rel, "%s/mtgan", tp_bin_dir());
    cr_assert_not_null(realpath(rel, bin), "no %s", rel);
    char *argv[] = {"mtgan",    "demo",    "--tasks", "0,3",         "--edges", "2",         "--steps", "600",
                    "--seed",   "7",       "--deterministic",         "--serve", "--log-level", "warn", NULL};
    int out_fd = -1;
    pid_t demo = tp_spawn(bin, argv, dir, log, &out_fd);
    cr_assert_gt(demo, 0);
    char *out = NULL;
    size_t len = 0, cap = 0;
    cr_assert(read_until(out_fd, &out, &len, &cap, "/\n", 60), "mtgan demo printed no dashboard URL:\n%s",
              out ? out : "");
    const char *at = strstr(out, "dashboard at http://");
    cr_assert_not_null(at, "no \"dashboard at <URL>\" line:\n%s", out);
    char url[128];
    cr_assert_eq(sscanf(at, "dashboard at %127s", url), 1);
    /* Training is short and deterministic: load the page once every task has its curves. */
    int served = read_until(out_fd, &out, &len, &cap, "dashboard stays up", 120 * tp_time_scale());
    if (!served) {
        char *t = tp_read_file(log, NULL);
        fprintf(stderr, "---- demo stdout ----\n%s\n---- demo log ----\n%s\n", out, t ? t : "");
        free(t);
        cr_assert_fail("mtgan demo --serve never said the dashboard stays up");
    }

    char shot[PATH_MAX], profile[300], chrome_log[320], ws[64], shot_arg[PATH_MAX + 16], prof_arg[320];
    screenshot_path(shot, sizeof shot);
    unlink(shot);
    snprintf(profile, sizeof profile, "%s/chromium-profile", dir);
    snprintf(chrome_log, sizeof chrome_log, "%s/chromium.log", dir);
    snprintf(ws, sizeof ws, "--window-size=%d,%d", 1280, 1400);
    snprintf(shot_arg, sizeof shot_arg, "--screenshot=%s", shot);
    snprintf(prof_arg, sizeof prof_arg, "--user-data-dir=%s", profile);
    /* Virtual time: the page's timers run 5 s ahead (two polls) without the test waiting for them. */
    char *cargv[] = {"chromium", "--headless", geteuid() == 0 ? "--no-sandbox" : "--disable-gpu", "--disable-gpu",
                     "--hide-scrollbars", "--enable-logging=stderr", prof_arg, ws, "--virtual-time-budget=5000",
                     "--dump-dom", shot_arg, url, NULL};
    int dom_fd = -1;
    pid_t ch = tp_spawn(chromium, cargv, dir, chrome_log, &dom_fd);
    cr_assert_gt(ch, 0);
    char *dom = NULL;
    size_t dlen = 0, dcap = 0;
    read_until(dom_fd, &dom, &dlen, &dcap, "</html>", 60);
    int st = tp_wait(ch, 20000);
    if (st == -1)
        tp_stop(ch, SIGKILL, 1000);
    char *clog = tp_read_file(chrome_log, NULL);
    cr_assert(dom && strstr(dom, "</html>"), "Chromium dumped no DOM (status %#x); its log:\n%s", st,
              clog ? clog : "");

    /* One card per task, each with a decoded sample grid and a chart of >= 2 points. */
    static const char *const tasks[] = {"digit-0", "digit-3"};
    int cards = 0;
    for (const char *p = dom; (p = strstr(p, "data-task=\"")); p++)
        cards++;
    cr_expect_eq(cards, 2, "%d data-task cards for 2 tasks", cards);
    for (size_t k = 0; k < 2; k++) {
        char key[64];
        snprintf(key, sizeof key, "data-task=\"%s\"", tasks[k]);
        const char *s = strstr(dom, key);
        cr_assert_not_null(s, "no card %s in the DOM", key);
        const char *e = strstr(s + 1, "data-task=\"");
        if (!e)
            e = dom + dlen;
        char card[4096];
        snprintf(card, sizeof card, "%.*s", (int)(e - s), s);
        cr_expect(strstr(card, "data-loaded=\"1\"") != NULL, "card %s: the sample grid did not decode", tasks[k]);
        cr_expect(strstr(card, "data-chart=") != NULL, "card %s has no data-chart", tasks[k]);
        cr_expect_geq(max_points(s, e), 2, "card %s: no chart with >= 2 points", tasks[k]);
    }
    cr_expect(strstr(dom, "data-edge=\"edge-0\"") && strstr(dom, "data-edge=\"edge-1\""), "the edges table lacks an edge");
    cr_expect(strstr(dom, "task digit-3 added") != NULL, "the event log lacks the task_added events");
    cr_expect(!clog || !strstr(clog, "Content Security Policy"), "the page violates its own CSP:\n%s", clog);
    cr_expect(!clog || !strstr(clog, "Uncaught"), "a script error in the page:\n%s", clog);

    size_t png_len = 0;
    char *png = tp_read_file(shot, &png_len);
    cr_expect(png && png_len > 8 && memcmp(png, "\x89PNG", 4) == 0, "no PNG screenshot at %s", shot);
    fprintf(stderr, "dashboard: screenshot %s (%zu bytes)\n", shot, png_len);
    free(png);
    free(clog);
    free(dom);
    free(out);
    close(dom_fd);
    close(out_fd);

    /* Ctrl-C ends --serve cleanly. */
    int ds = tp_stop(demo, SIGINT, 15000);
    cr_expect(ds != -1 && WIFEXITED(ds) && WEXITSTATUS(ds) == 0, "mtgan demo --serve after SIGINT: status %#x", ds);
}

/* Reads need no token, writes still do; the page and its files carry the CSP; history reads are incremental. */
Test(dashboard, page_routes_are_read_only_and_bounded)
{
    char dir[256], cfg[320], tok[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(tok, sizeof tok, "%s/token", dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    tp_write_file(tok, "s3cret\n");
    snprintf(text, sizeof text,
             "{\"data\": {\"tasks\": [0, 3]}, \"state_dir\": \"%s/state\", \"auth\": {\"token_file\": \"%s\"},"
             " \"train\": {\"eval_every\": 0}, \"server\": {\"history\": 16}}",
             dir, tok);
    tp_write_file(cfg, text);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start (log %s)", s.log);

    static const struct {
        const char *path, *ctype;
    } files[] = {{"/", "text/html"}, {"/dashboard.js", "text/javascript"}, {"/dashboard.css", "text/css"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct tp_resp r;
        cr_assert_eq(tp_get(s.port, files[i].path, &r), 0);
        cr_expect_eq(r.status, 200, "GET %s without a token: %d", files[i].path, r.status);
        cr_expect(strncmp(r.ctype, files[i].ctype, strlen(files[i].ctype)) == 0, "GET %s: %s", files[i].path, r.ctype);
        cr_expect(strstr(r.csp, "default-src 'none'") && strstr(r.csp, "script-src 'self'") &&
                      !strstr(r.csp, "unsafe-inline"),
                  "GET %s: CSP \"%s\"", files[i].path, r.csp);
        /* The same bytes again cost a 304. */
        char inm[200];
        snprintf(inm, sizeof inm, "If-None-Match: %s", r.etag);
        const char *const h[] = {inm, NULL};
        struct tp_resp again;
        cr_assert_eq(tp_http(s.port, "GET", files[i].path, h, NULL, 0, &again), 0);
        cr_expect_eq(again.status, 304, "GET %s with its ETag %s: %d", files[i].path, r.etag, again.status);
        tp_resp_free(&again);
        tp_resp_free(&r);
    }
    struct tp_resp r;
    cr_assert_eq(tp_get(s.port, "/", &r), 0);
    cr_expect(strstr(r.body, "<script src=\"/dashboard.js\"") && !strstr(r.body, "<script>"),
              "the page loads its script from its own route, never inline");
    tp_resp_free(&r);
    cr_assert_eq(tp_http(s.port, "POST", "/", NULL, "x", 1, &r), 0);
    cr_expect_eq(r.status, 405, "POST /: %d", r.status);
    tp_resp_free(&r);
    cr_assert_eq(tp_http(s.port, "PUT", "/v1/tasks/digit-5", NULL, "{}", 2, &r), 0);
    cr_expect_eq(r.status, 401, "a mutating route still needs the token: %d", r.status);
    tp_resp_free(&r);

    cJSON *edges = tp_get_json(s.port, "/v1/edges");
    cr_expect(edges && cJSON_IsArray(cJSON_GetObjectItem(edges, "edges")), "GET /v1/edges without a token");
    cJSON_Delete(edges);
    cJSON *h = NULL;
    for (int i = 0; i < 50 && !h; i++) {
        h = tp_get_json(s.port, "/v1/history");
        cJSON *t = h ? cJSON_GetObjectItem(cJSON_GetObjectItem(h, "tasks"), "digit-3") : NULL;
        if (!t) {
            cJSON_Delete(h);
            h = NULL;
            tp_sleep_ms(100);
        }
    }
    cr_assert_not_null(h, "GET /v1/history has no series for digit-3");
    cr_expect_eq(cJSON_GetObjectItem(h, "capacity")->valueint, 16, "server.history sets the capacity");
    int events = cJSON_GetArraySize(cJSON_GetObjectItem(h, "events"));
    cr_expect_geq(events, 2, "task_added events for both tasks");
    char path[128];
    snprintf(path, sizeof path, "/v1/history?since=%.0f", cJSON_GetObjectItem(h, "seq")->valuedouble);
    cJSON_Delete(h);
    h = tp_get_json(s.port, path);
    cr_assert_not_null(h);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(h, "events")), 0, "%s: nothing new happened", path);
    cJSON_Delete(h);
    static const char *const bad[] = {"/v1/history?since=abc", "/v1/history?since=-1", "/v1/history?task=..",
                                      "/v1/history?task=%3Cb%3E"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(tp_get(s.port, bad[i], &r), 0);
        cr_expect_eq(r.status, 400, "GET %s: %d", bad[i], r.status);
        cr_expect(tp_is_error(&r, NULL, 0), "GET %s: not a JSON error", bad[i]);
        tp_resp_free(&r);
    }
    cr_expect_eq(tp_status_number(s.port, "tasks.digit-0.steps"), 0, "the server is unharmed");
    int st = tp_stop(s.pid, SIGTERM, 10000);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x", st);
}
