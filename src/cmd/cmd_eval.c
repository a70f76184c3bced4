/* Placeholder until this subcommand lands. */
#include <stdio.h>

#include "cmd/cmds.h"

int mtg_cmd_eval(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "mtgan %s: not implemented yet\n", argv[0]);
    return 1;
}
