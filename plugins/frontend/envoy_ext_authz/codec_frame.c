/*
 * codec_frame.c - reassembly of length-prefixed gRPC messages
 * (1 flag byte, 4-byte big-endian length, message) from DATA chunks whose
 * boundaries fall anywhere.
 */
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

/* The buffer grows with the bytes that really arrive, not with the length
 * a peer announces, so a stalled stream claiming 4 MiB holds little. */
#define FRAME_FIRST_CAP ((size_t)16 * 1024)

void codec_frame_reader_init(codec_frame_reader *r, size_t max_len,
                             int compression_ok)
{
    memset(r, 0, sizeof *r);
    r->max_len = max_len ? max_len : CODEC_MAX_MESSAGE_DEFAULT;
    r->compression_ok = compression_ok;
}

static int grow(codec_frame_reader *r, size_t need)
{
    if (need <= r->cap_)
        return 0;
    size_t cap = r->cap_ ? r->cap_ : FRAME_FIRST_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > r->msg_len_)
        cap = r->msg_len_;
    uint8_t *p = realloc(r->buf_, cap);
    if (!p)
        return CODEC_ENOMEM;
    r->buf_ = p;
    r->cap_ = cap;
    return 0;
}

int codec_frame_reader_feed(codec_frame_reader *r, const uint8_t *data,
                            size_t len, size_t *consumed)
{
    size_t used = 0;
    *consumed = 0;
    if (r->error_)
        return r->error_;
    if (r->ready_)
        return CODEC_FRAME_READY;
    while (r->hdr_got_ < 5) {
        if (used == len)
            return CODEC_FRAME_MORE;
        r->hdr_[r->hdr_got_++] = data[used++];
        *consumed = used;
        if (r->hdr_got_ < 5)
            continue;
        uint8_t flag = r->hdr_[0];
        size_t mlen = (size_t)r->hdr_[1] << 24 | (size_t)r->hdr_[2] << 16 |
                      (size_t)r->hdr_[3] << 8 | (size_t)r->hdr_[4];
        if (flag > 1)
            return r->error_ = CODEC_EFRAME;
        if (flag == 1 && !r->compression_ok)
            return r->error_ = CODEC_ECOMPRESSED;
        if (mlen > r->max_len)
            return r->error_ = CODEC_ETOOBIG;
        r->msg_len_ = mlen;
        r->msg_got_ = 0;
    }
    size_t take = r->msg_len_ - r->msg_got_;
    if (take > len - used)
        take = len - used;
    if (take) {
        int rc = grow(r, r->msg_got_ + take);
        if (rc)
            return r->error_ = rc;
        memcpy(r->buf_ + r->msg_got_, data + used, take);
        r->msg_got_ += take;
        used += take;
    }
    *consumed = used;
    if (r->msg_got_ < r->msg_len_)
        return CODEC_FRAME_MORE;
    r->ready_ = 1;
    return CODEC_FRAME_READY;
}

const uint8_t *codec_frame_reader_message(const codec_frame_reader *r,
                                          size_t *len, int *compressed)
{
    static const uint8_t empty[1];
    if (!r->ready_)
        return NULL;
    if (len)
        *len = r->msg_len_;
    if (compressed)
        *compressed = r->hdr_[0] == 1;
    return r->msg_len_ ? r->buf_ : empty;
}

void codec_frame_reader_next(codec_frame_reader *r)
{
    r->ready_ = 0;
    r->hdr_got_ = 0;
    r->msg_len_ = 0;
    r->msg_got_ = 0;
}

int codec_frame_reader_partial(const codec_frame_reader *r)
{
    return !r->ready_ && r->hdr_got_ > 0;
}

void codec_frame_reader_free(codec_frame_reader *r)
{
    free(r->buf_);
    r->buf_ = NULL;
    r->cap_ = 0;
}
