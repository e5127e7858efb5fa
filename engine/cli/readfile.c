/* readfile.c - whole files (or standard input) for the offline verbs. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "util/buf.h"

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    buf b;
    buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&b, chunk, n) < 0)
            break;
    if (f != stdin)
        fclose(f);
    *len = b.len;
    return buf_steal(&b);
}
