#include "launch/launch.h"

#include "core/log.h"
#include "core/process.h"
#include "core/status.h"
#include "edge/client.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct mtg_launch {
    struct mtg_cfg *cfg;
    char run_dir[512];
    char config_path[600];
    char bindir[512];
    pid_t server;
    pid_t edge[MTG_LAUNCH_MAX_EDGES];
    int n_edges;
};

void mtg_launch_clear_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (strncmp(ent->d_name, "ckpt-", 5) == 0 || strncmp(ent->d_name, "state.", 6) == 0) {
            char path[1300];
            snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
}

int mtg_launch_bindir(char *out, size_t n, struct mtg_err *err)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    if (len <= 0)
        return mtg_err_set(err, MTG_EIO, "launch: cannot find my own executable: %s", strerror(errno));
    out[len] = '\0';
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    /* Test binaries live elsewhere: they say where the real binaries are. */
    const char *env = getenv("MTGAN_BIN_DIR");
    if (env && env[0])
        snprintf(out, n, "%s", env);
    return MTG_OK;
}

int mtg_launch_new(const struct mtg_cfg *cfg, const char *run_dir, struct mtg_launch **out, struct mtg_err *err)
{
    *out = NULL;
    struct mtg_launch *l = calloc(1, sizeof *l);
    if (!l || !(l->cfg = malloc(sizeof *l->cfg))) {
        free(l);
        return mtg_err_set(err, MTG_ENOMEM, "launch: out of memory");
    }
    *l->cfg = *cfg;
    /* Every edge a launch starts shares one client address (loopback): the per-address limit must fit them all. */
    int room = 4 * cfg->n_edges + 16;
    if (l->cfg->limits.per_ip_connections < room)
        l->cfg->limits.per_ip_connections = room;
    if (l->cfg->limits.max_connections < l->cfg->limits.per_ip_connections + 64)
        l->cfg->limits.max_connections = l->cfg->limits.per_ip_connections + 64;
    snprintf(l->run_dir, sizeof l->run_dir, "%s", run_dir);
    snprintf(l->config_path, sizeof l->config_path, "%s/config.json", run_dir);
    int rc = mtg_launch_bindir(l->bindir, sizeof l->bindir, err);
    char *text = NULL;
    if (rc == MTG_OK && mtg_cfg_to_json(l->cfg, &text) != MTG_OK)
        rc = mtg_err_set(err, MTG_ENOMEM, "launch: cannot serialise the config");
    if (rc == MTG_OK) {
        FILE *f = fopen(l->config_path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
            rc = mtg_err_set(err, MTG_EIO, "launch: cannot write %s", l->config_path);
    }
    free(text);
    if (rc != MTG_OK) {
        mtg_launch_free(l);
        return rc;
    }
    *out = l;
    return MTG_OK;
}

static int spawn(struct mtg_launch *l, const char *prog, char *const *args, int out_fd, const char *log_name,
                 pid_t *pid, struct mtg_err *err)
{
    char path[700], log_path[800];
    snprintf(path, sizeof path, "%s/%s", l->bindir, prog);
    snprintf(log_path, sizeof log_path, "%s/%s", l->run_dir, log_name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(pid, path, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return mtg_err_set(err, MTG_EIO, "launch: cannot start %s: %s", path, strerror(rc));
    return MTG_OK;
}

int mtg_launch_server(struct mtg_launch *l, unsigned *port, struct mtg_err *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return mtg_err_set(err, MTG_EIO, "launch: pipe: %s", strerror(errno));
    char *args[] = {"mtgan-server", "--config", l->config_path, "--port", "0", "--exit-when-done", "0", NULL};
    int rc = spawn(l, "mtgan-server", args, fds[1], "server.log", &l->server, err);
    close(fds[1]);
    if (rc != MTG_OK) {
        close(fds[0]);
        return rc;
    }
    /* The server prints "mtgan-server listening on port N" once it is bound. */
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    unsigned p = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "mtgan-server listening on port %u", &p) == 1)
            break;
    if (f)
        fclose(f);
    if (p == 0)
        return mtg_err_set(err, MTG_EIO, "launch: server did not start (see %s/server.log)", l->run_dir);
    *port = p;
    return MTG_OK;
}

int mtg_launch_server_client(struct mtg_launch *l, const struct mtg_client_opts *opts, unsigned *port,
                             struct mtg_client **c, struct mtg_err *err)
{
    *c = NULL;
    int rc = mtg_launch_server(l, port, err);
    if (rc != MTG_OK)
        return rc;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", *port);
    struct mtg_client_opts co = opts ? *opts : (struct mtg_client_opts){.max_attempts = 3};
    co.base_url = url;
    return mtg_client_new(&co, c, err);
}

pid_t mtg_launch_server_pid(const struct mtg_launch *l) { return l->server; }

int mtg_launch_copy_files(const char *from, const char *to, struct mtg_err *err)
{
    DIR *d = opendir(from);
    if (!d)
        return mtg_err_set(err, MTG_EIO, "launch: cannot read %s: %s", from, strerror(errno));
    int rc = MTG_OK;
    char buf[1 << 16];
    for (struct dirent *e; rc == MTG_OK && (e = readdir(d));) {
        char src[1200], dst[1200];
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
        size_t n;
        while (out && (n = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, n, out) != n)
                break;
        if (!in || !out || ferror(in) || ferror(out))
            rc = mtg_err_set(err, MTG_EIO, "launch: cannot copy %s to %s", src, dst);
        if (out && fclose(out) != 0 && rc == MTG_OK)
            rc = mtg_err_set(err, MTG_EIO, "launch: cannot write %s", dst);
        if (in)
            fclose(in);
    }
    closedir(d);
    return rc;
}

int mtg_launch_edge(struct mtg_launch *l, int i, unsigned port, struct mtg_err *err)
{
    if (i < 0 || i >= MTG_LAUNCH_MAX_EDGES)
        return mtg_err_set(err, MTG_ERANGE, "launch: edge index %d out of range", i);
    struct mtg_cfg_edge prof;
    mtg_cfg_edge_at(l->cfg, i, &prof);
    char url[64], id[80], idx[16], n[16], speed[32], mbps[32], lat[32], log_name[96], stats[700];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    if (prof.id[0])
        snprintf(id, sizeof id, "%s", prof.id);
    else
        snprintf(id, sizeof id, "edge-%d", i);
    snprintf(idx, sizeof idx, "%d", i);
    snprintf(n, sizeof n, "%d", l->cfg->n_edges);
    snprintf(speed, sizeof speed, "%g", prof.speed_factor);
    snprintf(mbps, sizeof mbps, "%g", prof.link_mbps);
    snprintf(lat, sizeof lat, "%g", prof.link_latency_ms);
    snprintf(log_name, sizeof log_name, "edge-%d.log", i);
    snprintf(stats, sizeof stats, "%s/edge-%d.json", l->run_dir, i);
    char *args[] = {"mtgan-edge", "--config", l->config_path, "--server", url, "--edge-id", id, "--edge-index", idx,
                    "--edges", n, "--speed-factor", speed, "--link-mbps", mbps, "--link-latency-ms", lat,
                    "--json", stats, NULL};
    int rc = spawn(l, "mtgan-edge", args, -1, log_name, &l->edge[i], err);
    if (rc == MTG_OK && i >= l->n_edges)
        l->n_edges = i + 1;
    return rc;
}

int mtg_launch_edges(struct mtg_launch *l, unsigned port, struct mtg_err *err)
{
    for (int i = 0; i < l->cfg->n_edges; i++) {
        int rc = mtg_launch_edge(l, i, port, err);
        if (rc != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

pid_t mtg_launch_edge_pid(const struct mtg_launch *l, int i) { return i >= 0 && i < l->n_edges ? l->edge[i] : 0; }

int mtg_launch_edges_alive(struct mtg_launch *l)
{
    int n = 0;
    for (int i = 0; i < l->n_edges; i++) {
        if (l->edge[i] <= 0)
            continue;
        if (waitpid(l->edge[i], NULL, WNOHANG) == l->edge[i])
            l->edge[i] = 0;
        else
            n++;
    }
    return n;
}

long mtg_launch_server_peak_rss(const struct mtg_launch *l)
{
    if (l->server <= 0)
        return -1;
    return mtg_process_mem_bytes((int)l->server, "VmHWM");
}

static void reap(pid_t *pid, int timeout_ms)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

void mtg_launch_stop(struct mtg_launch *l, int timeout_ms)
{
    for (int i = 0; i < l->n_edges; i++)
        if (l->edge[i] > 0)
            kill(l->edge[i], SIGTERM);
    for (int i = 0; i < l->n_edges; i++)
        reap(&l->edge[i], timeout_ms);
    reap(&l->server, timeout_ms);
}

void mtg_launch_free(struct mtg_launch *l)
{
    if (!l)
        return;
    mtg_launch_stop(l, 3000);
    free(l->cfg);
    free(l);
}
