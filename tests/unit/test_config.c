/* Tests of src/config: defaults, the precedence chain, messages that name key and file. */
#include <criterion/criterion.h>

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/gan.h"
#include "core/status.h"
#include "data/fashion.h"

static char tmp_dir[64];
static char tmp_files[8][128];
static int n_tmp_files;

static void setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mtgan-cfg-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
    n_tmp_files = 0;
}

static void teardown(void)
{
    for (int i = 0; i < n_tmp_files; i++)
        unlink(tmp_files[i]);
    rmdir(tmp_dir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text to <tmp_dir>/name; returns the path (static storage). */
static const char *write_tmp(const char *name, const char *text)
{
    char path_buf[128];
    snprintf(path_buf, sizeof path_buf, "%s/%s", tmp_dir, name);
    char *path = NULL;
    for (int i = 0; i < n_tmp_files && !path; i++)
        if (strcmp(tmp_files[i], path_buf) == 0)
            path = tmp_files[i];
    if (!path) {
        cr_assert_lt(n_tmp_files, 8);
        path = tmp_files[n_tmp_files++];
        memcpy(path, path_buf, sizeof path_buf);
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct mtg_cfg *new_defaults(void)
{
    struct mtg_cfg *c = malloc(sizeof *c);
    cr_assert_not_null(c);
    mtg_cfg_defaults(c);
    return c;
}

/* Loads JSON text from a temp file over defaults; returns the status, message in err. */
static int load_text(struct mtg_cfg *c, const char *text, struct mtg_err *err)
{
    const char *path = write_tmp("c.json", text);
    return mtg_cfg_load_file(c, path, err);
}

static void expect_load_fails(const char *text, const char *needle)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    int rc = load_text(c, text, &err);
    cr_expect_neq(rc, MTG_OK, "accepted: %s", text);
    cr_expect_not_null(strstr(err.msg, needle), "message \"%s\" lacks \"%s\"", err.msg, needle);
    cr_expect_not_null(strstr(err.msg, tmp_dir), "message \"%s\" lacks the file", err.msg);
    free(c);
}

Test(config, defaults_are_valid_and_match_design)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(mtg_cfg_validate(c, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(c->protocol, MTG_CFG_PROTO_MTGAN);
    cr_expect_str_eq(c->bind, "127.0.0.1");
    cr_expect_eq(c->model.batch, 64);
    cr_expect_eq(c->n_edges, 4);
    cr_expect_eq(c->data.partition.tasks_per_edge_min, 4);
    cr_expect_eq(c->data.partition.tasks_per_edge_max, 6);
    cr_expect_eq(c->data.tasks.n, 0); /* all */
    cr_expect_float_eq(c->train.target_fidelity, 0.9, 1e-12);
    /* DESIGN §10 profile: speeds 1,1,2,4; 50 Mbit/s; 20 ms. */
    const double speeds[] = {1, 1, 2, 4};
    for (int i = 0; i < 4; i++) {
        cr_expect_float_eq(c->edges[i].speed_factor, speeds[i], 1e-12);
        cr_expect_float_eq(c->edges[i].link_mbps, 50, 1e-12);
        cr_expect_float_eq(c->edges[i].link_latency_ms, 20, 1e-12);
    }
    free(c);
}

Test(config, precedence_flags_over_env_over_file_over_defaults)
{
    const char *path = write_tmp("p.json", "{\"port\": 1001, \"seed\": 11, \"protocol\": \"sgda\","
                                           " \"state_dir\": \"/file\"}");
    char config_env[200];
    snprintf(config_env, sizeof config_env, "MTGAN_CONFIG=%s", path);
    char *envp[] = {config_env, "MTGAN_PORT=2002", "MTGAN_SEED=22", "MTGAN_BIND=0.0.0.0", NULL};
    char *argv[] = {"mtgan-server", "--port", "3003", NULL};
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    int rc = mtg_cfg_resolve(c, MTG_CFG_BIN_SERVER, 3, argv, envp, NULL, &err);
    cr_assert_eq(rc, MTG_OK, "%s", err.msg);
    cr_expect_eq(c->port, 3003);                   /* flag > env > file */
    cr_expect_eq(c->seed, 22);                     /* env > file */
    cr_expect_str_eq(c->bind, "0.0.0.0");          /* env > default */
    cr_expect_eq(c->protocol, MTG_CFG_PROTO_SGDA); /* file > default */
    cr_expect_str_eq(c->state_dir, "/file");
    cr_expect_eq(c->log_level, MTG_LOG_INFO); /* default */
    free(c);
}

Test(config, config_flag_beats_config_env)
{
    const char *a = write_tmp("a.json", "{\"seed\": 1}");
    const char *b = write_tmp("b.json", "{\"seed\": 2}");
    char config_env[200];
    snprintf(config_env, sizeof config_env, "MTGAN_CONFIG=%s", a);
    char *envp[] = {config_env, NULL};
    char *argv[] = {"mtgan-edge", (char *)"--config", (char *)b, NULL};
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_EDGE, 3, argv, envp, NULL, &err), MTG_OK, "%s",
                 err.msg);
    cr_expect_eq(c->seed, 2);
    cr_expect_neq(c->edge_id[0], '\0'); /* derived from the host name */
    free(c);
}

Test(config, unknown_keys_name_key_and_file)
{
    expect_load_fails("{\"tasks\": [{\"id\": \"a\"}, {\"id\": \"b\", \"genrator\": {}}]}",
                      "unknown key \"tasks[1].genrator\"");
    expect_load_fails("{\"scheduler\": {\"server\": {\"polcy\": \"fixed\"}}}",
                      "unknown key \"scheduler.server.polcy\"");
    expect_load_fails("{\"model.batch\": 3}", "unknown key \"model.batch\"");
    expect_load_fails("{\"edges\": [{\"speed\": 2}]}", "unknown key \"edges[0].speed\"");
    expect_load_fails("{\"port\": 1, \"port\": 2}", "\"port\" appears twice");
}

Test(config, ill_typed_value_names_key)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    const char *path = write_tmp("t.json", "{\"scheduler\": {\"server\": {\"round_deadline_ms\": \"fast\"}}}");
    cr_assert_eq(mtg_cfg_load_file(c, path, &err), MTG_EINVAL);
    char want[256];
    snprintf(want, sizeof want,
             "config %s: scheduler.server.round_deadline_ms: expected integer in [1, 3600000], got \"fast\"",
             path);
    cr_expect_str_eq(err.msg, want);
    free(c);
    expect_load_fails("{\"scheduler\": {\"edge\": {\"overlap\": \"yes\"}}}", "scheduler.edge.overlap");
    expect_load_fails("{\"protocol\": \"fedavg\"}", "protocol: expected one of \"mtgan\", \"sgda\"");
    expect_load_fails("{\"model\": {\"batch\": 1.5}}", "model.batch");
    expect_load_fails("{\"model\": 3}", "model: expected object");
    expect_load_fails("{\"tasks\": {}}", "tasks: expected array");
    expect_load_fails("{\"tasks\": [{\"generator\": {}}]}", "tasks[0]: missing key \"id\"");
    expect_load_fails("{\"data\": {\"tasks\": []}}", "data.tasks");
    expect_load_fails("{\"data\": {\"tasks\": [1, 1]}}", "data.tasks");
    expect_load_fails("[1, 2]", "top level: expected object");
}

Test(config, out_of_range_values)
{
    expect_load_fails("{\"port\": 70000}", "port: expected integer in [0, 65535], got 70000");
    expect_load_fails("{\"emulation\": {\"speed_factor\": 0.5}}", "emulation.speed_factor");
    expect_load_fails("{\"edges\": [{\"link_mbps\": -1}]}", "edges[0].link_mbps");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"generator\": {\"lr\": 0}}]}",
                      "tasks[0].generator.lr: expected number in (0, 1]");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"discriminator\": {\"layers\": [64, 0]}}]}",
                      "tasks[0].discriminator.layers");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"generator\": {\"layers\": [1,2,3,4,5,6,7,8]}}]}",
                      "tasks[0].generator.layers");
    expect_load_fails("{\"train\": {\"target_fidelity\": 1.5}}", "train.target_fidelity");

    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    char *envp[] = {"MTGAN_PORT=99999", NULL};
    cr_expect_eq(mtg_cfg_load_env(c, envp, &err), MTG_EINVAL);
    cr_expect_str_eq(err.msg, "env MTGAN_PORT: expected integer in [0, 65535], got \"99999\"");
    char *envp2[] = {"MTGAN_SEED=-1", NULL};
    cr_expect_eq(mtg_cfg_load_env(c, envp2, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "env MTGAN_SEED"));
    free(c);
}

Test(config, task_ids_refuse_path_tricks)
{
    const char *bad[] = {"../x", "a/b", "", ".", "..", ".hidden", "-x", "a b", "x\\\\y",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"tasks\": [{\"id\": \"%s\"}]}", bad[i]);
        expect_load_fails(text, "tasks[0].id");
    }
    const char *good[] = {"digit-3", "a.b_c-1", "X"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"tasks\": [{\"id\": \"%s\"}]}", good[i]);
        struct mtg_cfg *c = new_defaults();
        struct mtg_err err = {0};
        cr_expect_eq(load_text(c, text, &err), MTG_OK, "%s: %s", good[i], err.msg);
        cr_expect_str_eq(c->tasks[0].id, good[i]);
        free(c);
    }
    /* Direct struct edits are caught by validate too. */
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    c->n_tasks = 1;
    mtg_cfg_task_defaults(&c->tasks[0], "../etc");
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "tasks[0].id"), "%s", err.msg);
    free(c);
}

Test(config, flags_forms_positionals_and_errors)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_cfg_args args;
    struct mtg_err err = {0};
    char *argv[] = {"inspect", "--log-level=warn", "a.blob", "--log-level", "debug", "--", "--b.blob", NULL};
    cr_assert_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_INSPECT, 7, argv, &args, &err), MTG_OK, "%s",
                 err.msg);
    cr_expect_eq(c->log_level, MTG_LOG_DEBUG);
    cr_expect_eq(args.n_pos, 2);
    cr_expect_str_eq(args.pos[0], "a.blob");
    cr_expect_str_eq(args.pos[1], "--b.blob");
    cr_expect_not(args.help);

    char *argv2[] = {"mtgan-server", "--seed=7", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 2, argv2, &args, &err), MTG_OK);
    cr_expect_eq(c->seed, 7);
    char *argv3[] = {"demo", "--tasks", "0,3,8", "--edges=6", "--json", "out.json", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_DEMO, 6, argv3, &args, &err), MTG_OK, "%s",
                 err.msg);
    cr_expect_eq(c->data.tasks.n, 3);
    cr_expect_eq(c->data.tasks.id[2], 8);
    cr_expect_eq(c->n_edges, 6);
    cr_expect_str_eq(c->json_out, "out.json");

    char *bogus[] = {"mtgan-server", "--bogus", "1", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 3, bogus, &args, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "unknown flag --bogus"), "%s", err.msg);
    char *wrong_bin[] = {"mtgan-server", "--server", "http://127.0.0.1:1", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 3, wrong_bin, &args, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "unknown flag --server for mtgan-server"), "%s", err.msg);
    char *short_flag[] = {"mtgan-server", "-p", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 2, short_flag, &args, &err), MTG_EINVAL);
    char *no_value[] = {"mtgan-server", "--port", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 2, no_value, &args, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "--port needs a value"), "%s", err.msg);
    char *bad_value[] = {"mtgan-server", "--port=80x", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_SERVER, 2, bad_value, &args, &err), MTG_EINVAL);
    cr_expect_str_eq(err.msg, "flag --port: expected integer in [0, 65535], got \"80x\"");
    char *bad_tasks[] = {"demo", "--tasks", "0,,3", NULL};
    cr_expect_eq(mtg_cfg_parse_args(c, MTG_CFG_BIN_DEMO, 3, bad_tasks, &args, &err), MTG_EINVAL);
    free(c);
}

Test(config, help_is_reported_not_an_error)
{
    /* --help wins even over a broken config file, so users can always read it. */
    char *envp[] = {"MTGAN_CONFIG=/nonexistent/x.json", NULL};
    char *argv[] = {"mtgan-server", "--help", NULL};
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_expect_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_SERVER, 2, argv, envp, NULL, &err), MTG_CFG_HELP);
    cr_expect_eq(c->port, 8080);
    free(c);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    mtg_cfg_print_help(f, MTG_CFG_BIN_SERVER);
    fclose(f);
    cr_expect_not_null(strstr(buf, "--port N"));
    cr_expect_not_null(strstr(buf, "MTGAN_PORT"));
    cr_expect_not_null(strstr(buf, "scheduler.server.round_deadline_ms"));
    cr_expect_not_null(strstr(buf, "tasks[].generator.layers"));
    cr_expect_null(strstr(buf, "--server URL"));
    free(buf);
    f = open_memstream(&buf, &len);
    mtg_cfg_print_help(f, MTG_CFG_BIN_EDGE);
    fclose(f);
    cr_expect_not_null(strstr(buf, "--server URL"));
    cr_expect_null(strstr(buf, "--port N"));
    free(buf);
}

Test(config, missing_file_and_malformed_json)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    char path[160];
    snprintf(path, sizeof path, "%s/none.json", tmp_dir);
    cr_expect_eq(mtg_cfg_load_file(c, path, &err), MTG_ENOTFOUND);
    cr_expect_not_null(strstr(err.msg, path), "%s", err.msg);

    cr_expect_eq(load_text(c, "{\n  \"port\": 1,\n  oops\n}\n", &err), MTG_EFORMAT);
    cr_expect_not_null(strstr(err.msg, "malformed JSON at line 3, column"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, tmp_dir), "%s", err.msg);
    cr_expect_eq(load_text(c, "", &err), MTG_EFORMAT);
    cr_expect_eq(load_text(c, "{} trailing", &err), MTG_EFORMAT);
    free(c);
}

Test(config, task_gan_builds_design_default_networks)
{
    struct mtg_cfg_task t;
    mtg_cfg_task_defaults(&t, "digit-0");
    struct mtg_gan_cfg got, want;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_cfg_task_gan(&t, 64, &got, &err), MTG_OK, "%s", err.msg);
    mtg_gan_cfg_default(&want, 64);
    /* DESIGN §4: G z(32) -> 128 ReLU -> 256 ReLU -> 64 sigmoid. */
    cr_expect_eq(got.g.in_shape[0], 32);
    cr_expect_eq(got.g.n_layers, 3);
    int gw[] = {128, 256, 64};
    enum mtg_act ga[] = {MTG_ACT_RELU, MTG_ACT_RELU, MTG_ACT_SIGMOID};
    /* D: 64 -> 256 LeakyReLU(0.2) -> 128 LeakyReLU(0.2) -> 1 logit. */
    int dw[] = {256, 128, 1};
    enum mtg_act da[] = {MTG_ACT_LEAKY_RELU, MTG_ACT_LEAKY_RELU, MTG_ACT_NONE};
    cr_expect_eq(got.d.in_shape[0], 64);
    cr_expect_eq(got.d.n_layers, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(got.g.layer[i].out, gw[i]);
        cr_expect_eq(got.g.layer[i].act, ga[i]);
        cr_expect_eq(got.d.layer[i].out, dw[i]);
        cr_expect_eq(got.d.layer[i].act, da[i]);
        cr_expect_eq(got.g.layer[i].out, want.g.layer[i].out);
        cr_expect_eq(got.d.layer[i].out, want.d.layer[i].out);
        cr_expect_eq(got.g.layer[i].op, MTG_OP_DENSE);
    }
    cr_expect_float_eq(got.d.leaky_slope, 0.2f, 1e-7);
    cr_expect_float_eq(got.g_opt.lr, 2e-3f, 1e-9);
    cr_expect_float_eq(got.g_opt.beta1, 0.0f, 1e-7);
    cr_expect_float_eq(got.d_opt.beta2, 0.99f, 1e-7);
    cr_expect_eq(got.batch, want.batch);

    /* Per-task config: custom layers, output width follows data_dim. */
    struct mtg_cfg *c = new_defaults();
    cr_assert_eq(load_text(c, "{\"model\": {\"batch\": 32}, \"tasks\": [{\"id\": \"ring\","
                              " \"generator\": {\"layers\": [16], \"activation\": \"tanh\","
                              " \"output_activation\": \"none\", \"latent_dim\": 2}}]}",
                           &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cfg_gan(c, "ring", 2, &got, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(got.g.n_layers, 2);
    cr_expect_eq(got.g.in_shape[0], 2);
    cr_expect_eq(got.g.layer[0].out, 16);
    cr_expect_eq(got.g.layer[1].out, 2);
    cr_expect_eq(got.g.layer[0].act, MTG_ACT_TANH);
    cr_expect_eq(got.g.layer[1].act, MTG_ACT_NONE);
    cr_expect_eq(got.d.in_shape[0], 2);
    cr_expect_eq(got.d.layer[got.d.n_layers - 1].out, 1);
    cr_expect_eq(got.batch, 32);
    /* A task without an entry gets the defaults. */
    cr_assert_eq(mtg_cfg_gan(c, "digit-5", 64, &got, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(got.g.layer[1].out, 256);
    free(c);
}

Test(config, betas_validation)
{
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"generator\": {\"betas\": [0.5]}}]}",
                      "tasks[0].generator.betas: expected [beta1, beta2]");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"generator\": {\"betas\": [0.5, 1.0]}}]}",
                      "tasks[0].generator.betas");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"discriminator\": {\"betas\": [-0.1, 0.9]}}]}",
                      "tasks[0].discriminator.betas");
    expect_load_fails("{\"tasks\": [{\"id\": \"t\", \"discriminator\": {\"betas\": \"x\"}}]}",
                      "tasks[0].discriminator.betas");
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(load_text(c, "{\"tasks\": [{\"id\": \"t\", \"generator\": {\"betas\": [0, 0.99]}}]}",
                           &err),
                 MTG_OK, "%s", err.msg);
    cr_expect_float_eq(c->tasks[0].generator.betas[1], 0.99, 1e-12);
    free(c);
}

Test(config, cross_field_checks)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(load_text(c, "{\"tasks\": [{\"id\": \"t\"}, {\"id\": \"t\"}]}", &err), MTG_OK);
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "tasks[1].id: \"t\" already used"), "%s", err.msg);

    mtg_cfg_defaults(c);
    c->data.partition.tasks_per_edge_min = 7;
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "tasks_per_edge_min"), "%s", err.msg);

    mtg_cfg_defaults(c);
    c->scheduler.server.policy = MTG_CFG_SPOL_ASYNC;
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    c->aggregation.mode = MTG_CFG_AGG_ASYNC;
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_OK, "%s", err.msg);

    mtg_cfg_defaults(c);
    cr_assert_eq(load_text(c, "{\"data\": {\"tasks\": [0, 3]}, \"edges\": [{\"tasks\": [3, 4]}]}",
                           &err),
                 MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "edges[0].tasks: class 4 is not in data.tasks"), "%s",
                       err.msg);

    mtg_cfg_defaults(c);
    c->data.tasks.n = 1;
    c->data.tasks.id[0] = 10;
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "data.tasks"), "%s", err.msg);

    mtg_cfg_defaults(c);
    c->port = -1;
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_str_eq(err.msg, "port: expected integer in [0, 65535], got -1");

    mtg_cfg_defaults(c);
    cr_expect(c->data.holdout, "digits hold every 5th row out by default");
    cr_expect_eq(c->sedna_edges, 2);
    cr_assert_eq(load_text(c, "{\"data\": {\"dataset\": \"fashion-mnist\", \"holdout\": false}}", &err),
                 MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "data.holdout false"), "%s", err.msg);
    free(c);
}

Test(config, edges_profile_and_count)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    struct mtg_cfg_edge e;
    mtg_cfg_edge_at(c, 6, &e); /* cycles the 1,1,2,4 profile */
    cr_expect_str_eq(e.id, "edge-6");
    cr_expect_float_eq(e.speed_factor, 2, 1e-12);

    cr_assert_eq(load_text(c, "{\"edges\": [{\"id\": \"fast\"}, {\"speed_factor\": 3}],"
                              " \"emulation\": {\"link_mbps\": 10}}",
                           &err),
                 MTG_OK, "%s", err.msg);
    cr_expect_eq(c->n_edges, 2); /* from the list: n_edges not given */
    cr_expect_eq(c->n_edge_profiles, 2);
    cr_expect_str_eq(c->edges[0].id, "fast");
    cr_expect_str_eq(c->edges[1].id, "edge-1");
    cr_expect_float_eq(c->edges[1].speed_factor, 3, 1e-12);
    /* Entries inherit emulation{} of the same file, wherever it appears. */
    cr_expect_float_eq(c->edges[0].link_mbps, 10, 1e-12);

    cr_assert_eq(load_text(c, "{\"n_edges\": 5, \"edges\": [{\"id\": \"a\"}]}", &err), MTG_OK);
    cr_expect_eq(c->n_edges, 5);
    free(c);
}

Test(config, data_path_from_data_dir_env)
{
    char *envp[] = {"MTGAN_DATA_DIR=/srv/data", "MTGAN_PORT=", NULL};
    char *argv[] = {"train-local", NULL};
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_TRAIN_LOCAL, 1, argv, envp, NULL, &err), MTG_OK,
                 "%s", err.msg);
    cr_expect_str_eq(c->data.path, "/srv/data/digits.csv.gz");
    cr_expect_eq(c->port, 8080); /* empty env values are ignored */
    free(c);
}

/* data.dataset fashion-mnist: by flag, env and file; its classes; its default directory. */
Test(config, dataset_fashion_mnist)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-edge", "--dataset", "fashion-mnist", "--limit-per-class", "50", NULL};
    char *envp[] = {NULL};
    int have_pkg = access(MTG_DATA_FASHION_DIR "/train-labels-idx1-ubyte.gz", R_OK) == 0;
    int rc = mtg_cfg_resolve(c, MTG_CFG_BIN_EDGE, 5, argv, envp, NULL, &err);
    cr_expect_eq(c->data.dataset, MTG_CFG_DATA_FASHION);
    cr_expect_eq(c->data.limit_per_class, 50);
    cr_expect_str_eq(c->data.path, MTG_DATA_FASHION_DIR, "empty data.path is the package's directory");
    if (have_pkg)
        cr_expect_eq(rc, MTG_OK, "%s", err.msg);
    else
        cr_expect_not_null(strstr(err.msg, "dataset-fashion-mnist"), "%s", err.msg);

    /* The same from the environment and from a file; a class past 9 names the dataset. */
    mtg_cfg_defaults(c);
    char *env2[] = {"MTGAN_DATASET=fashion-mnist", "MTGAN_LIMIT_PER_CLASS=7", NULL};
    cr_assert_eq(mtg_cfg_load_env(c, env2, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(c->data.dataset, MTG_CFG_DATA_FASHION);
    cr_expect_eq(c->data.limit_per_class, 7);
    mtg_cfg_defaults(c);
    cr_assert_eq(load_text(c, "{\"data\": {\"dataset\": \"fashion-mnist\", \"tasks\": [0, 10]}}", &err), MTG_OK,
                 "%s", err.msg);
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "data.tasks: class 10 does not exist in fashion-mnist (0-9)"), "%s",
                       err.msg);
    /* Unknown-task detection is digits-only: said, not silently ignored. */
    mtg_cfg_defaults(c);
    cr_assert_eq(load_text(c, "{\"data\": {\"dataset\": \"fashion-mnist\", \"unlabelled\": [3]}}", &err),
                 MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_cfg_validate(c, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "data.unlabelled"), "%s", err.msg);
    /* The effective config reads back unchanged. */
    mtg_cfg_defaults(c);
    c->data.dataset = MTG_CFG_DATA_FASHION;
    char *json = NULL;
    cr_assert_eq(mtg_cfg_to_json(c, &json), MTG_OK);
    cr_expect_not_null(strstr(json, "\"fashion-mnist\""), "%s", json);
    mtg_cfg_defaults(c);
    cr_expect_eq(mtg_cfg_load_string(c, json, "round trip", &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(c->data.dataset, MTG_CFG_DATA_FASHION);
    free(json);
    free(c);
}

Test(config, dataset_bad_name_lists_the_choices)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    char *argv[] = {"mtgan-server", "--dataset", "mnist", NULL};
    char *envp[] = {NULL};
    cr_expect_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_SERVER, 3, argv, envp, NULL, &err), MTG_EINVAL);
    cr_expect_str_eq(err.msg, "flag --dataset: expected one of \"digits\", \"ring\", \"fashion-mnist\", got \"mnist\"");
    expect_load_fails("{\"data\": {\"dataset\": \"fashion\"}}", "\"fashion-mnist\"");
    /* Programs that never read the data have no --dataset flag. */
    char *sample[] = {"sample", "--dataset", "digits", NULL};
    mtg_cfg_defaults(c);
    cr_expect_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_SAMPLE, 3, sample, envp, NULL, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "unknown flag --dataset"), "%s", err.msg);
    free(c);
}

/* A directory without the IDX files: the message says which package to install and which key to set. */
Test(config, dataset_fashion_missing_files_name_package_and_key)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    char json[256];
    snprintf(json, sizeof json, "{\"data\": {\"dataset\": \"fashion-mnist\", \"path\": \"%s\"}}", tmp_dir);
    const char *cfg = write_tmp("fashion.json", json);
    char *argv[] = {"mtgan-server", "--config", (char *)cfg, NULL};
    char *envp[] = {NULL};
    cr_expect_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_SERVER, 3, argv, envp, NULL, &err), MTG_ENOTFOUND);
    cr_expect_not_null(strstr(err.msg, "dataset-fashion-mnist"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "data.path"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, tmp_dir), "the message names the directory: %s", err.msg);
    /* mtgan sample reads no data: the same config is fine there. */
    char *sargv[] = {"sample", "--config", (char *)cfg, NULL};
    mtg_cfg_defaults(c);
    cr_expect_eq(mtg_cfg_resolve(c, MTG_CFG_BIN_SAMPLE, 3, sargv, envp, NULL, &err), MTG_OK, "%s", err.msg);
    free(c);
}

Test(config, to_json_round_trip)
{
    struct mtg_cfg *c = new_defaults();
    struct mtg_err err = {0};
    cr_assert_eq(load_text(c,
                           "{\"protocol\": \"sgda\", \"seed\": \"18446744073709551615\","
                           " \"log_level\": \"warn\", \"tasks\": [{\"id\": \"digit-1\","
                           " \"generator\": {\"layers\": [64, 32, 16], \"lr\": 0.001,"
                           " \"betas\": [0.1, 0.2]}}, {\"id\": \"b\"}],"
                           " \"edges\": [{\"id\": \"e\", \"tasks\": [1, 2], \"link_latency_ms\": 1.5}],"
                           " \"data\": {\"tasks\": [1, 2, 9], \"dataset\": \"digits\"},"
                           " \"aggregation\": {\"compress\": \"f16+zlib\", \"server_momentum\": 0.3},"
                           " \"limits\": {\"max_body_bytes\": 17179869184},"
                           " \"scheduler\": {\"edge\": {\"overlap\": false}}}",
                           &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cfg_validate(c, &err), MTG_OK, "%s", err.msg);
    char *j1 = NULL, *j2 = NULL;
    cr_assert_eq(mtg_cfg_to_json(c, &j1), MTG_OK);
    struct mtg_cfg *d = new_defaults();
    cr_assert_eq(mtg_cfg_load_string(d, j1, "round-trip", &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cfg_to_json(d, &j2), MTG_OK);
    cr_expect_str_eq(j1, j2);
    cr_expect_eq(d->seed, UINT64_MAX);
    cr_expect_eq(d->n_tasks, 2);
    cr_expect_eq(d->tasks[0].generator.layers.n, 3);
    cr_expect_float_eq(d->tasks[0].generator.lr, 0.001, 0);
    cr_expect_float_eq(d->aggregation.server_momentum, 0.3, 0);
    cr_expect_eq(d->edges[0].tasks.n, 2);
    cr_expect_eq(d->limits.max_body_bytes, 17179869184ll);
    cr_expect_not(d->scheduler.edge.overlap);
    for (size_t i = 0; i < sizeof *c; i++)
        if (((unsigned char *)c)[i] != ((unsigned char *)d)[i]) {
            cr_expect_fail("structs differ after a round trip at byte %zu", i);
            break;
        }
    /* The output is plain JSON the rest of the system can parse. */
    cJSON *root = cJSON_Parse(j1);
    cr_assert_not_null(root);
    cr_expect_str_eq(cJSON_GetObjectItem(root, "protocol")->valuestring, "sgda");
    cJSON_Delete(root);
    free(j1);
    free(j2);
    free(c);
    free(d);
}

/* docs/config.md is the reference users read: a key added to the table must be added there too. */
Test(config, every_key_is_documented)
{
    const char *src = getenv("MTGAN_SRC_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", src ? src : ".");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static char doc[1 << 18];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    static const struct {
        enum mtg_cfg_table table;
        const char *prefix;
    } tables[] = {{MTG_CFG_TABLE_TOP, ""}, {MTG_CFG_TABLE_TASK, "tasks[]."}, {MTG_CFG_TABLE_EDGE, "edges[]."}};
    int missing = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        size_t nk;
        const struct mtg_cfg_key *k = mtg_cfg_keys(tables[t].table, &nk);
        for (size_t i = 0; i < nk; i++) {
            if (k[i].kind == MTG_CFG_K_OBJ || k[i].kind == MTG_CFG_K_ARRAY)
                continue;
            char row[256];
            snprintf(row, sizeof row, "| `%s%s` |", tables[t].prefix, k[i].path);
            if (!strstr(doc, row)) {
                cr_log_error("docs/config.md has no row %s", row);
                missing++;
            }
        }
    }
    cr_assert_eq(missing, 0, "%d key(s) missing from docs/config.md", missing);
}

/* preset auto (the default): DCGAN-28 with DESIGN §4's z(64) on 28x28 images, dense stacks on 8x8 digits. */
Test(config, auto_preset_picks_dcgan_for_28x28_images_only)
{
    static struct mtg_cfg c;
    mtg_cfg_defaults(&c);
    struct mtg_err err = {0};
    struct mtg_gan_cfg gc;
    cr_assert_eq(mtg_cfg_gan(&c, "fashion-1", 784, &gc, &err), MTG_OK, "%s", err.msg);
    cr_assert(mtg_gan_spec_tanh_out(&gc.g), "28x28 data gets the DCGAN generator (tanh out)");
    cr_assert_eq(gc.g.in_shape[0], MTG_CFG_DCGAN_LATENT, "DCGAN z is %d", gc.g.in_shape[0]);
    bool conv = false;
    for (int i = 0; i < gc.d.n_layers; i++)
        conv = conv || gc.d.layer[i].op == MTG_OP_CONV2D;
    cr_assert(conv, "28x28 data gets the convolutional D");
    cr_assert_eq(mtg_cfg_gan(&c, "digit-1", 64, &gc, &err), MTG_OK, "%s", err.msg);
    cr_assert_not(mtg_gan_spec_tanh_out(&gc.g), "8x8 digits keep the dense sigmoid generator");
    for (int i = 0; i < gc.d.n_layers; i++)
        cr_assert_eq(gc.d.layer[i].op == MTG_OP_CONV2D, false, "digits D has no conv layer");
    struct mtg_gan_cfg core;
    mtg_gan_cfg_default(&core, 64);
    cr_assert_eq(gc.g.in_shape[0], core.g.in_shape[0], "mlp z comes from the core default");
}

/* DESIGN §4's DCGAN-28 from the config: it trains, its samples come out in [0, 1], and it needs 28x28 data. */
Test(config, dcgan_preset_builds_trains_and_samples_in_unit_range)
{
    static struct mtg_cfg c;
    mtg_cfg_defaults(&c);
    struct mtg_err err = {0};
    const char *json = "{\"model\": {\"batch\": 8},\n"
                       " \"tasks\": [{\"id\": \"fashion-1\", \"generator\": {\"preset\": \"dcgan\", \"width\": 8,\n"
                       "              \"latent_dim\": 16}, \"discriminator\": {\"preset\": \"dcgan\", \"width\": 8,\n"
                       "              \"mbstd\": 4}}]}";
    cr_assert_eq(mtg_cfg_load_string(&c, json, "dcgan", &err), MTG_OK, "%s", err.msg);
    struct mtg_gan_cfg gc;
    cr_assert_eq(mtg_cfg_gan(&c, "fashion-1", 784, &gc, &err), MTG_OK, "%s", err.msg);
    cr_assert(mtg_gan_spec_tanh_out(&gc.g), "the DCGAN generator ends in tanh");
    struct mtg_gan *gan = mtg_gan_new(&gc, MTG_GAN_FULL, 3, &err);
    cr_assert_not_null(gan, "%s", err.msg);
    static float real[8 * 784], x[16 * 784];
    for (int i = 0; i < 8 * 784; i++)
        real[i] = (float)((i * 7) % 11) / 10.0f;
    struct mtg_gan_stats st;
    for (int s = 0; s < 2; s++)
        mtg_gan_step(gan, real, &st);
    cr_assert(isfinite(st.d_loss) && isfinite(st.g_loss));
    mtg_gan_sample(gan, x, 16, 5);
    float lo = 1, hi = 0;
    for (int i = 0; i < 16 * 784; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    cr_assert(lo >= 0.0f && hi <= 1.0f && hi > lo, "samples in [%g, %g]", (double)lo, (double)hi);
    mtg_gan_free(gan);
    /* 8x8 digits cannot feed a 28x28 DCGAN: the error names the key. */
    cr_assert_neq(mtg_cfg_gan(&c, "fashion-1", 64, &gc, &err), MTG_OK);
    cr_assert(strstr(err.msg, "generator.preset dcgan") && strstr(err.msg, "784"), "%s", err.msg);
}
