/* mtgan edge-token --token-file FILE EDGE_ID...: the per-edge tokens derived from the server token. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmds.h"
#include "config/config.h"
#include "core/status.h"
#include "server/http.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mtgan edge-token --token-file FILE EDGE_ID...\n\n"
               "Prints, one line per edge, \"EDGE_ID TOKEN\": the token that lets a client act as that\n"
               "edge and nothing else (HMAC-SHA256 of the id under the server token in FILE). Give\n"
               "each edge its own line's token as its --token-file; the server needs no list.\n");
}

int mtg_cmd_edge_token(int argc, char **argv)
{
    const char *file = NULL;
    int first = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strncmp(argv[i], "--token-file=", 13) == 0) {
            file = argv[i] + 13;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 2;
        } else if (!first) {
            first = i;
        }
    }
    if (!file || !first) {
        usage(stderr);
        return 2;
    }
    char token[4097];
    FILE *f = fopen(file, "r");
    size_t n = f ? fread(token, 1, sizeof token - 1, f) : 0;
    if (f)
        fclose(f);
    token[n] = '\0';
    /* Trimmed as the server trims it (a mounted Secret ends in a newline). */
    char *t = token;
    while (isspace((unsigned char)*t))
        t++;
    size_t l = strlen(t);
    while (l > 0 && isspace((unsigned char)t[l - 1]))
        t[--l] = '\0';
    if (!f || l == 0) {
        fprintf(stderr, "mtgan edge-token: no token in %s\n", file);
        return 1;
    }
    int rc = 0;
    for (int i = first; i < argc; i++) {
        if (argv[i][0] == '-' || (i > 1 && strcmp(argv[i - 1], "--token-file") == 0))
            continue;
        char out[MTG_HTTP_EDGE_TOKEN_LEN + 1];
        struct mtg_err err = {0};
        if (!mtg_cfg_id_valid(argv[i])) {
            fprintf(stderr, "mtgan edge-token: \"%s\" is not an edge id ([A-Za-z0-9][A-Za-z0-9._-]{0,62})\n", argv[i]);
            rc = 2;
        } else if (mtg_http_edge_token(t, argv[i], out, sizeof out, &err) != MTG_OK) {
            fprintf(stderr, "mtgan edge-token: %s\n", err.msg);
            rc = 1;
        } else {
            printf("%s %s\n", argv[i], out);
        }
    }
    memset(token, 0, sizeof token);
    return rc;
}
