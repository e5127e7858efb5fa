/*
 * fuzz_spicedb.c - the spicedb authorization's answer judge (sdb_wire):
 * status lines, headers, trailers and body bytes as libcurl would hand
 * them, in any order and cut anywhere.
 *
 * The input is a list of records: one byte whose low bit says header line
 * (0) or body bytes (1) and whose other bits, with the next byte, give the
 * length; then that many bytes. The judge must never read out of bounds,
 * must keep its limits, and what it reports must be header-safe text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdb_wire.h"

static void fz_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sdb_reply r;
    sdb_reply_init(&r);
    size_t i = 0;
    while (i + 2 <= size) {
        int body = data[i] & 1;
        size_t n = (size_t)(data[i] >> 1) << 8 | data[i + 1];
        i += 2;
        if (n > size - i)
            n = size - i;
        if (body) {
            if (sdb_reply_body(&r, data + i, n) < 0 && !r.overflow)
                abort();
        } else {
            /* libcurl's lines are not NUL-terminated for the callback:
             * hand an exact-size copy so ASan sees any over-read. */
            char *line = malloc(n ? n : 1);
            if (!line)
                abort();
            memcpy(line, data + i, n);
            sdb_reply_header(&r, line, n);
            free(line);
        }
        i += n;
        if (r.body_len > SDB_MAX_RESPONSE || strlen(r.grpc_message) > SDB_MAX_GRPC_MESSAGE)
            abort();
    }
    sdb_result res;
    char err[512];
    if (sdb_reply_finish(&r, &res, err, sizeof err) == 0) {
        if (strlen(res.token) > SDB_MAX_TOKEN || (res.has_token == 0 && res.token[0]))
            abort();
        fz_header_safe(res.token);
    } else {
        if (strncmp(err, "rpc error: code = ", 18) != 0)
            abort();
        fz_header_safe(err);
    }
    sdb_reply_free(&r);
    return 0;
}
