/* mtgan - the user CLI: dispatches to one subcommand (src/cmd/cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmds.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"demo", mtg_cmd_demo, "embedded server + N edge processes on loopback, digits"},
    {"train-local", mtg_cmd_train_local, "centralised single-process reference trainer"},
    {"bench", mtg_cmd_bench, "sgda vs mtgan on the same networks, data and profile"},
    {"eval", mtg_cmd_eval, "quality (fidelity, FD, precision/recall) of saved generators"},
    {"sample", mtg_cmd_sample, "samples of a task as a PNG grid or blob"},
    {"inspect", mtg_cmd_inspect, "print the tensors of a blob file"},
    {"edge-token", mtg_cmd_edge_token, "per-edge tokens derived from the server token"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mtgan <command> [options]   (mtgan <command> --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nEvery command reads its settings from flags, MTGAN_* environment variables and\n"
               "a JSON file (--config FILE or MTGAN_CONFIG), in that order of precedence.\n"
               "servers: mtgan-server --help, mtgan-edge --help\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mtgan: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
