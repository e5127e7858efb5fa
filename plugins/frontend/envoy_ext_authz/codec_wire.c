/*
 * codec_wire.c - a light walk over the protobuf wire format.
 *
 * protobuf-c unpacks nested messages by recursion without a depth limit and
 * allocates per field, so a few MiB of hostile input (a Struct nested a
 * million times, or millions of empty entries) could overflow the stack or
 * take far more memory than it weighs. codec_wire_check rejects such input
 * before protobuf-c sees it.
 */
#include <string.h>
#include "codec_int.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/*
 * Reads one field header and skips or isolates its value.
 * Returns the bytes the whole field takes (0 when malformed); for WT_LEN
 * fields *val / *vlen give the payload.
 */
static size_t next_field(const uint8_t *p, size_t n, uint32_t *num, int *wt,
                         const uint8_t **val, size_t *vlen)
{
    uint64_t tag, len;
    size_t t = codec_varint(p, n, &tag);
    if (!t || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return 0;
    *num = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    p += t;
    n -= t;
    switch (*wt) {
    case WT_VARINT: {
        size_t k = codec_varint(p, n, &len);
        return k ? t + k : 0;
    }
    case WT_I64:
        return n >= 8 ? t + 8 : 0;
    case WT_I32:
        return n >= 4 ? t + 4 : 0;
    case WT_LEN: {
        size_t k = codec_varint(p, n, &len);
        if (!k || len > n - k)
            return 0;
        *val = p + k;
        *vlen = (size_t)len;
        return t + k + (size_t)len;
    }
    default:
        return 0; /* groups: protobuf-c cannot unpack them either */
    }
}

/* protobuf-c hands `string` fields over as C strings: a NUL would cut the
 * rest off unseen (`authorization\0junk` read as `authorization`). Only
 * HttpRequest.body keeps its true length (codec_decode.c reads it from the
 * wire); a header's raw_value is bytes but a NUL is no valid header value. */
static int nul_refused(const ProtobufCMessageDescriptor *desc,
                       const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_STRING)
        return !(desc == &envoy__service__auth__v3__attribute_context__http_request__descriptor &&
                 f->id == 11);
    return f->type == PROTOBUF_C_TYPE_BYTES &&
           desc == &envoy__config__core__v3__header_value__descriptor && f->id == 3;
}

/* The field numbered num: fields are sorted by number, and where they are
 * numbered 1, 2, 3... the field is at index num - 1 (most messages here),
 * else protobuf-c's search finds it. */
static const ProtobufCFieldDescriptor *
field_of(const ProtobufCMessageDescriptor *desc, uint32_t num)
{
    if (num - 1 < desc->n_fields && desc->fields[num - 1].id == num)
        return &desc->fields[num - 1];
    return protobuf_c_message_descriptor_get_field(desc, num);
}

int codec_wire_check(const ProtobufCMessageDescriptor *desc,
                     const uint8_t *buf, size_t len, int depth, long *items)
{
    /* protobuf-c merges repeated occurrences of a singular message field by
     * copying everything the earlier ones gathered, into an arena that
     * frees nothing: n occurrences cost O(n^2) time and memory. Encoders
     * write one; a few (concatenated messages) are accepted. */
    uint8_t seen[64] = {0};
    size_t pos = 0;
    while (pos < len) {
        uint32_t num;
        int wt;
        const uint8_t *val = NULL;
        size_t vlen = 0;
        size_t used = next_field(buf + pos, len - pos, &num, &wt, &val, &vlen);
        if (!used)
            return CODEC_WIRE_MALFORMED;
        pos += used;
        const ProtobufCFieldDescriptor *f = field_of(desc, num);
        if (!f) {
            if (--*items < 0)
                return CODEC_WIRE_MALFORMED;
            continue;
        }
        if (wt != WT_LEN)
            continue;
        if (nul_refused(desc, f) && memchr(val, 0, vlen))
            return CODEC_WIRE_NUL;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (--*items < 0 || depth <= 0)
            return CODEC_WIRE_MALFORMED;
        size_t idx = (size_t)(f - desc->fields);
        if (f->label != PROTOBUF_C_LABEL_REPEATED && idx < sizeof seen &&
            ++seen[idx] > CODEC_MAX_MERGES)
            return CODEC_WIRE_MERGES;
        int r = codec_wire_check(f->descriptor, val, vlen, depth - 1, items);
        if (r != 0)
            return r;
    }
    return 0;
}

int codec_wire_find(const uint8_t *buf, size_t len, const uint32_t *path,
                    size_t npath, const uint8_t **out, size_t *outlen)
{
    int found = 0;
    size_t pos = 0;
    if (npath == 0)
        return 0;
    while (pos < len) {
        uint32_t num;
        int wt;
        const uint8_t *val = NULL;
        size_t vlen = 0;
        size_t used = next_field(buf + pos, len - pos, &num, &wt, &val, &vlen);
        if (!used)
            return -1;
        pos += used;
        if (num != path[0] || wt != WT_LEN)
            continue;
        if (npath == 1) {
            *out = val;
            *outlen = vlen;
            found = 1;
            continue;
        }
        int r = codec_wire_find(val, vlen, path + 1, npath - 1, out, outlen);
        if (r < 0)
            return -1;
        if (r > 0)
            found = 1;
    }
    return found;
}
