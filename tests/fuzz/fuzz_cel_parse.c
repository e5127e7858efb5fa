/* libFuzzer harness for the CEL lexer, parser and checker: the input is an expression.
 * A refused expression must say where (a column) and what; an accepted one must free. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cel_error err;
    cel_program *p = cel_compile((const char *)data, size, cel_authorino_vars, &err);
    if (!p) {
        if (!err.msg[0] || memchr(err.msg, '\0', sizeof err.msg) == NULL) abort();
        return 0;
    }
    (void)cel_program_source(p);
    cel_program_free(p);
    return 0;
}
