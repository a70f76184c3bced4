/*
 * test_load.c - the functional short version of the load test (issue 8,
 * item 8): `mtgan bench load` with 50 simulated edges for 5 s against a
 * real mtgan-server, run as the user would run it. Asserts the books, not
 * timings (timing targets live in the benchmark, docs/reliability.md):
 * every update the edges were told was applied is in the server's
 * accepted counter and step counts, every replay came back "duplicate" and
 * was counted as one, and /healthz answered every probe.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(load, .fini = fini, .timeout = 90);

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    cr_assert(cJSON_IsNumber(x), "result has no %s%s%s", a, b ? "." : "", b ? b : "");
    return x->valuedouble;
}

Test(load, fifty_edges_lose_no_update)
{
    char dir[256], json[400], log[400];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(json, sizeof json, "%s/load.json", dir);
    snprintf(log, sizeof log, "%s/load.log", dir);
    char *argv[] = {"mtgan", "bench", "load", "--load-edges", "50", "--load-seconds", "5", "--load-replay", "0.2",
                    "--json", json, NULL};
    pid_t pid = tp_spawn("mtgan", argv, dir, log, NULL);
    cr_assert_gt(pid, 0);
    int st = tp_wait(pid, 60000);
    if (st == -1)
        tp_stop(pid, SIGKILL, 2000);
    char *out = tp_read_file(log, NULL);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "mtgan bench load failed (status %#x):\n%s", st,
              out ? out : "");
    cr_log_info("%s", out ? out : "");
    free(out);
    char *text = tp_read_file(json, NULL);
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    free(text);
    cr_assert_not_null(r, "no JSON result in %s", json);

    double sent = num(r, "updates", "sent"), applied = num(r, "updates", "applied");
    double failed = num(r, "updates", "failed"), late = num(r, "updates", "late");
    double accepted = num(r, "updates", "server_accepted");
    cr_expect_eq(num(r, "edges", NULL), 50);
    cr_expect_gt(applied, 100, "only %g updates applied in 5 s with 50 edges", applied);
    cr_expect_eq(sent, applied + failed + late, "sent %g != applied %g + failed %g + late %g", sent, applied, failed,
                 late);
    cr_expect_eq(num(r, "updates", "lost"), 0);
    cr_expect(accepted >= applied && accepted <= applied + failed,
              "server accepted %g, the edges were told %g (%g without an answer)", accepted, applied, failed);
    cr_expect(num(r, "updates", "steps_server") >= num(r, "updates", "steps_applied"),
              "the task step counts hold %g steps, the applied updates carried %g", num(r, "updates", "steps_server"),
              num(r, "updates", "steps_applied"));
    double replays = num(r, "updates", "replays_sent");
    cr_expect_gt(replays, 0, "no replay was sent");
    cr_expect_eq(num(r, "updates", "replays_duplicate"), replays, "replays answered duplicate");
    cr_expect_eq(num(r, "updates", "server_duplicate"), replays, "server duplicate counter vs replays");
    cr_expect_gt(num(r, "healthz", "probes"), 10);
    cr_expect_eq(num(r, "healthz", "failed"), 0, "/healthz failed under load");
    cr_expect_eq(num(r, "request_errors", NULL), 0, "requests without an answer or with a 5xx");
    cr_expect_gt(num(r, "server_rss_bytes", "peak"), 0);
    cJSON_Delete(r);
}
