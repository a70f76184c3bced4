/*
 * test_demo.c - `mtgan demo` end to end for both protocols (embedded
 * server + 2 mtgan-edge processes, digits 0 and 3, a small step budget) in
 * a temp working directory: exit 0, the DESIGN §9 --json summary, and the
 * sample PNGs under runs/demo-<protocol>/. Also --help of every binary.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(demo, .fini = fini, .timeout = 120);

/* The demo runs in a temp cwd: the data dir must be absolute. */
static void absolute_data_dir(void)
{
    const char *d = getenv("MTGAN_DATA_DIR");
    char buf[PATH_MAX];
    if (realpath(d && d[0] ? d : "data", buf))
        setenv("MTGAN_DATA_DIR", buf, 1);
}

static const char *bin_path(const char *name, char *buf, size_t n)
{
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/%s", tp_bin_dir(), name);
    if (!realpath(rel, buf))
        snprintf(buf, n, "%s", rel);
    return buf;
}

static cJSON *num_at(cJSON *o, const char *key, const char *where)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_expect(cJSON_IsNumber(v), "%s: \"%s\" missing or not a number", where, key);
    return v;
}

static void run_demo(const char *protocol, const char *steps, double timeout_s)
{
    absolute_data_dir();
    char dir[256], json[320], log[320], bin[PATH_MAX];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(json, sizeof json, "%s/summary.json", dir);
    snprintf(log, sizeof log, "%s/demo.log", dir);
    char proto[64];
    snprintf(proto, sizeof proto, "--protocol=%s", protocol);
    char *argv[] = {"mtgan", "demo", proto, "--tasks", "0,3", "--edges", "2", "--steps", (char *)steps,
                    "--log-level", "warn", "--json", json, NULL};
    double t0 = tp_now_s();
    pid_t pid = tp_spawn(bin_path("mtgan", bin, sizeof bin), argv, dir, log, NULL);
    cr_assert_gt(pid, 0);
    int st = tp_wait(pid, (int)(timeout_s * 1000));
    double wall = tp_now_s() - t0;
    if (st == -1) {
        tp_stop(pid, SIGINT, 5000);
        cr_assert_fail("mtgan demo --protocol %s did not finish in %.0f s", protocol, timeout_s);
    }
    fprintf(stderr, "demo %s: %.1f s\n", protocol, wall);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char *t = tp_read_file(log, NULL);
        fprintf(stderr, "---- demo log ----\n%s\n", t ? t : "");
        free(t);
        cr_assert_fail("mtgan demo --protocol %s: exit status %#x", protocol, st);
    }

    char *text = tp_read_file(json, NULL);
    cr_assert_not_null(text, "no --json summary at %s", json);
    cJSON *o = cJSON_Parse(text);
    cr_assert_not_null(o, "summary is not JSON: %s", text);
    free(text);
    cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "protocol");
    cr_expect(cJSON_IsString(p) && strcmp(p->valuestring, protocol) == 0, "protocol");
    cJSON *w = num_at(o, "wall_s", "summary");
    cr_expect(w && w->valuedouble > 0 && w->valuedouble <= wall + 1, "wall_s %g (process ran %.1f s)",
              w ? w->valuedouble : -1, wall);
    num_at(o, "server_peak_rss_bytes", "summary");
    cJSON *bs = num_at(o, "bytes_sent", "summary"), *br = num_at(o, "bytes_received", "summary");
    cr_expect(bs && bs->valuedouble > 0 && br && br->valuedouble > 0, "no bytes counted");
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(o, "tasks");
    cr_assert(cJSON_IsObject(tasks), "summary has no tasks object");
    static const char *const ids[] = {"digit-0", "digit-3"};
    for (int i = 0; i < 2; i++) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(tasks, ids[i]);
        cr_expect(cJSON_IsObject(t), "tasks.%s missing", ids[i]);
        if (!t)
            continue;
        cJSON *f = num_at(t, "fidelity", ids[i]);
        num_at(t, "fd", ids[i]);
        cJSON *s = num_at(t, "steps", ids[i]);
        cr_expect(f && f->valuedouble >= 0 && f->valuedouble <= 1, "%s fidelity out of [0, 1]", ids[i]);
        cr_expect(s && s->valuedouble >= strtod(steps, NULL), "%s: %g steps, budget %s", ids[i],
                  s ? s->valuedouble : -1, steps);
        cJSON *c = num_at(t, "coverage", ids[i]);
        cr_expect(c && c->valuedouble >= 0 && c->valuedouble <= 1, "%s coverage out of [0, 1]", ids[i]);
        /* The real-vs-real ceiling (DESIGN §11): real digits score high on every metric. */
        cJSON *ce = cJSON_GetObjectItemCaseSensitive(t, "ceiling");
        cr_expect(cJSON_IsObject(ce), "%s: no ceiling", ids[i]);
        static const char *const keys[] = {"precision", "recall", "coverage", "fidelity"};
        for (int k = 0; ce && k < 4; k++) {
            cJSON *v = num_at(ce, keys[k], ids[i]);
            cr_expect(v && v->valuedouble >= 0.5 && v->valuedouble <= 1, "%s ceiling %s %g", ids[i], keys[k],
                      v ? v->valuedouble : -1);
        }
        if (ce)
            num_at(ce, "fd", ids[i]);
    }
    cJSON_Delete(o);

    for (int i = 0; i < 2; i++) {
        char png[512];
        snprintf(png, sizeof png, "%s/runs/demo-%s/%s.png", dir, protocol, ids[i]);
        size_t len = 0;
        char *bytes = tp_read_file(png, &len);
        cr_expect(bytes && len > 8 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0, "%s missing or not a PNG", png);
        free(bytes);
    }
}

Test(demo, mtgan_two_edges_two_tasks) { run_demo("mtgan", "200", 50); }

Test(demo, sgda_two_edges_two_tasks) { run_demo("sgda", "100", 50); }

static void help_mentions_config(const char *bin, const char *sub)
{
    char dir[256], log[320], path[PATH_MAX];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(log, sizeof log, "%s/help.txt", dir);
    char *argv[] = {(char *)bin, (char *)(sub ? sub : "--help"), sub ? "--help" : NULL, NULL};
    pid_t pid = tp_spawn(bin_path(bin, path, sizeof path), argv, NULL, log, NULL);
    cr_assert_gt(pid, 0);
    int st = tp_wait(pid, 10000);
    cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s--help: status %#x", bin, sub ? sub : "", st);
    char *text = tp_read_file(log, NULL);
    cr_expect(text && strstr(text, "--config"), "%s %s--help does not mention --config:\n%s", bin,
              sub ? "demo " : "", text ? text : "");
    free(text);
}

Test(demo, server_help) { help_mentions_config("mtgan-server", NULL); }
Test(demo, edge_help) { help_mentions_config("mtgan-edge", NULL); }
Test(demo, mtgan_demo_help) { help_mentions_config("mtgan", "demo"); }
Test(demo, mtgan_help) { help_mentions_config("mtgan", NULL); }
