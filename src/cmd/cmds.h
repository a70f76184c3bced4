/*
 * cmds.h - subcommands of the `mtgan` CLI. Each takes the argv that
 * follows the subcommand name (argv[0] is the subcommand) and returns the
 * process exit code (0 ok, 1 runtime failure, 2 usage error).
 */
#ifndef MTG_CMD_CMDS_H
#define MTG_CMD_CMDS_H

int mtg_cmd_inspect(int argc, char **argv);
int mtg_cmd_train_local(int argc, char **argv);
int mtg_cmd_demo(int argc, char **argv);
int mtg_cmd_bench(int argc, char **argv);
/* `mtgan bench load`: argv[0] is "load" (cmd_load.c). */
int mtg_cmd_bench_load(int argc, char **argv);
int mtg_cmd_eval(int argc, char **argv);
int mtg_cmd_sample(int argc, char **argv);
int mtg_cmd_edge_token(int argc, char **argv);

#endif
