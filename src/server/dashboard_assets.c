/*
 * dashboard_assets.c - the dashboard's files, linked into the binary from
 * src/server/dashboard/ as they are, so the page works offline in a cluster
 * and stays editable as plain HTML, CSS and JS. The assembler's .incbin
 * copies each file's bytes into .rodata (paths are relative to the
 * repository root, where make runs); the Makefile lists the files as
 * prerequisites of this object, so an edited page rebuilds it.
 */
#include <stddef.h>
#include <string.h>

#include "server/server_internal.h"

/* sym[] holds the file, sym_end the byte after it (a NUL follows, unused). */
#define EMBED(sym, file)                                                                                         \
    __asm__(".section .rodata\n.balign 16\n.globl " #sym "\n.hidden " #sym "\n.type " #sym ", @object\n" #sym \
            ":\n.incbin \"" file "\"\n.size " #sym ", . - " #sym "\n.globl " #sym "_end\n.hidden " #sym          \
            "_end\n" #sym "_end:\n.byte 0\n.previous\n");                                                      \
    extern const unsigned char sym[], sym##_end[]

EMBED(mtg_srv_dash_index_html, "src/server/dashboard/index.html");
EMBED(mtg_srv_dash_js, "src/server/dashboard/dashboard.js");
EMBED(mtg_srv_dash_css, "src/server/dashboard/dashboard.css");

int srv_dash_asset(const char *name, struct srv_asset *out)
{
    const struct {
        const char *name;
        const char *ctype;
        const unsigned char *start, *end;
    } files[] = {
        {"index.html", "text/html; charset=utf-8", mtg_srv_dash_index_html, mtg_srv_dash_index_html_end},
        {"dashboard.js", "text/javascript; charset=utf-8", mtg_srv_dash_js, mtg_srv_dash_js_end},
        {"dashboard.css", "text/css; charset=utf-8", mtg_srv_dash_css, mtg_srv_dash_css_end},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i].name, name) == 0) {
            out->ctype = files[i].ctype;
            out->data = files[i].start;
            out->len = (size_t)(files[i].end - files[i].start);
            return 1;
        }
    }
    return 0;
}
