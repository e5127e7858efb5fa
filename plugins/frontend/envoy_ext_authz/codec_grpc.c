/*
 * codec_grpc.c - small pieces of the gRPC over HTTP/2 protocol: the
 * grpc-timeout header, grpc-message percent-encoding, and which status an
 * error is answered with.
 */
#include "codec_int.h"

int codec_error_grpc_status(int err)
{
    switch (err) {
    case CODEC_OK:
        return PC_GRPC_OK;
    case CODEC_ENOHTTP:
    case CODEC_EINVAL:
    case CODEC_EINVALREQ:
        return PC_GRPC_INVALID_ARGUMENT;
    case CODEC_ETOOBIG:
    case CODEC_ENOMEM:
        return PC_GRPC_RESOURCE_EXHAUSTED;
    default:
        return PC_GRPC_INTERNAL;
    }
}

const char *codec_strerror(int err)
{
    switch (err) {
    case CODEC_OK: return "ok";
    case CODEC_EPARSE: return "malformed message";
    case CODEC_ENOHTTP: return "CheckRequest has no attributes.request.http";
    case CODEC_ENOMEM: return "out of memory";
    case CODEC_ETOOBIG: return "message larger than the limit";
    case CODEC_ECOMPRESSED: return "compressed message without grpc-encoding";
    case CODEC_EFRAME: return "malformed gRPC message frame";
    case CODEC_EINVAL: return "invalid argument";
    case CODEC_EINVALREQ: return "a part of the request cannot be represented";
    default: return "unknown error";
    }
}

/* TimeoutValue is 1 to 8 ASCII digits, TimeoutUnit one letter
 * (gRPC's PROTOCOL-HTTP2.md). */
int64_t codec_grpc_timeout_parse(const char *s, size_t len)
{
    if (!s || len < 2 || len > 9)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    int64_t unit;
    switch (s[len - 1]) {
    case 'H': unit = INT64_C(3600000000000); break;
    case 'M': unit = INT64_C(60000000000); break;
    case 'S': unit = INT64_C(1000000000); break;
    case 'm': unit = INT64_C(1000000); break;
    case 'u': unit = INT64_C(1000); break;
    case 'n': unit = 1; break;
    default: return -1;
    }
    if (n > INT64_MAX / unit)
        return INT64_MAX;
    return n * unit;
}

size_t codec_grpc_message_escape(const char *in, size_t len, char *out,
                                 size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = 0, w = 0;
    int room = cap > 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int plain = c >= 0x20 && c <= 0x7e && c != '%';
        size_t n = plain ? 1 : 3;
        need += n;
        if (!room || w + n > cap - 1) {
            room = 0;
            continue;
        }
        if (plain) {
            out[w++] = (char)c;
        } else {
            out[w++] = '%';
            out[w++] = hex[c >> 4];
            out[w++] = hex[c & 15];
        }
    }
    if (cap > 0)
        out[w] = '\0';
    return need;
}
