/* number.c - whole numbers in flags and environment variables. */
#include <errno.h>
#include <stdlib.h>
#include "cli.h"

int cli_number(const char *v, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}
