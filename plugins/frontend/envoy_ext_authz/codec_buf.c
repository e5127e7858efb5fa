/*
 * codec_buf.c - the growable output buffer and gRPC message packing.
 */
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

int codec_buf_reserve(codec_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return CODEC_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return CODEC_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

void codec_buf_reset(codec_buf *b)
{
    b->len = 0;
}

void codec_buf_free(codec_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int codec_pack_grpc(const ProtobufCMessage *msg, codec_buf *out)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (size > UINT32_MAX)
        return CODEC_EINVAL;
    if (codec_buf_reserve(out, 5 + size) != 0)
        return CODEC_ENOMEM;
    uint8_t *p = out->data + out->len;
    codec_grpc_prefix(p, size);
    size_t n = protobuf_c_message_pack(msg, p + 5);
    if (n != size)
        return CODEC_EINVAL;
    out->len += 5 + size;
    return 0;
}
