/*
 * codec_int.h - helpers shared by the codec_*.c files only.
 */
#ifndef PC_EXTAUTHZ_CODEC_INT_H
#define PC_EXTAUTHZ_CODEC_INT_H

#include <protobuf-c/protobuf-c.h>
#include "codec.h"

/* ---- arena (codec_arena.c) ---- */

/** Starts an empty arena whose first malloc'd block has `first` bytes. */
void codec_arena_init(codec_arena *a, size_t first);
/** Starts an arena whose first block is caller memory (e.g. on the stack):
 *  small jobs then never call malloc. mem must be suitably aligned. */
void codec_arena_init_on(codec_arena *a, void *mem, size_t size);
/** size bytes aligned for any type, or NULL when out of memory. */
void *codec_arena_alloc(codec_arena *a, size_t size);
/** Copies s into the arena with a NUL after it. */
char *codec_arena_strndup(codec_arena *a, const char *s, size_t len);
/** Frees every block the arena malloc'd. */
void codec_arena_free(codec_arena *a);
/** A protobuf-c allocator drawing from the arena (its free does nothing:
 *  codec_arena_free releases everything at once). */
ProtobufCAllocator codec_arena_allocator(codec_arena *a);

/* ---- text (codec_utf8.c) ---- */

/**
 * Length of the clean form of s: invalid UTF-8 (each maximal ill-formed
 * subpart) and NUL bytes replaced by U+FFFD, ASCII lowercased if lower.
 * Equal to len with *dirty 0 when s is already clean.
 */
size_t codec_utf8_clean_len(const char *s, size_t len, int lower, int *dirty);
/** Writes the clean form of s (codec_utf8_clean_len bytes) to out. */
void codec_utf8_clean_into(const char *s, size_t len, int lower, char *out);
/** The clean form of s as a NUL-terminated arena string, or NULL. */
char *codec_utf8_clean(codec_arena *a, const char *s, size_t len, int lower);
/** Lowercases ASCII letters in place. */
void codec_ascii_lower(char *s, size_t len);

/* ---- wire format (codec_wire.c) ---- */

enum {
    CODEC_WIRE_MALFORMED = -1, /**< not well-formed, or over a limit */
    CODEC_WIRE_NUL = -2,       /**< a NUL in a string that may hold none */
    CODEC_WIRE_MERGES = -3     /**< a singular message field too often */
};
/** Most occurrences of one singular message field in one message (they
 *  are merged, at a cost that grows with their square). */
#define CODEC_MAX_MERGES 8

/**
 * Walks buf as an encoding of desc, descending into known message fields,
 * before protobuf-c (which recurses without limit) unpacks it.
 * @param depth  how many more message levels may nest below this one.
 * @param items  budget of message and unknown-field occurrences; decreased.
 * @return 0 if well-formed within the limits, else CODEC_WIRE_MALFORMED,
 *         CODEC_WIRE_NUL when a string field other than HttpRequest.body
 *         (or a header's raw_value) holds a NUL byte, or CODEC_WIRE_MERGES
 *         when a singular message field occurs over CODEC_MAX_MERGES times.
 */
int codec_wire_check(const ProtobufCMessageDescriptor *desc,
                     const uint8_t *buf, size_t len, int depth, long *items);
/**
 * Finds the value of the length-delimited field reached by following the
 * field numbers in path (message fields, then the wanted field), as a
 * parser merging repeated occurrences would see it: the last one wins.
 * @return 1 found (*out, *outlen point into buf), 0 absent, -1 malformed.
 */
int codec_wire_find(const uint8_t *buf, size_t len, const uint32_t *path,
                    size_t npath, const uint8_t **out, size_t *outlen);

/* ---- JSON (codec_json.c) ---- */

struct Envoy__Config__Core__V3__Metadata;

enum { CODEC_META_TOO_DEEP = -1, CODEC_META_NOT_FINITE = -2 };
/** Whether metadata_context can become JSON as it is: every namespace's
 *  Struct (level 1) nests at most max_depth objects and arrays deep and
 *  holds no NaN or infinite number. 0, CODEC_META_TOO_DEEP or
 *  CODEC_META_NOT_FINITE. */
int codec_metadata_check(const struct Envoy__Config__Core__V3__Metadata *md,
                         int max_depth);
/** pc_request_view.metadata_emit for the codec: writes metadata_context
 *  (arg, an Envoy__Config__Core__V3__Metadata that passed
 *  codec_metadata_check) as {"filter_metadata":{"<ns>":{...}}}. */
int codec_metadata_emit(const void *arg, const pc_json_sink *sink);

/* ---- CheckRequest (codec_decode.c, codec_walk.c) ---- */

/** codec_decode_check through protobuf-c: the wire check, then a full
 *  unpack. codec_decode_check hands it the requests it does not decode
 *  itself; the tests use it as the reference for every input. */
int codec_decode_check_unpacked(const uint8_t *buf, size_t len,
                                const codec_decode_opts *opts, codec_check *out,
                                char *err, size_t errlen);
/** Writes msg to err (if any) and returns code. */
int codec_fail(int code, char *err, size_t errlen, const char *msg);
/** The decoder's answer to a codec_wire_check failure (items as it left
 *  them). */
int codec_decode_wire_fail(int wrc, long items, char *err, size_t errlen);
/** 0, or CODEC_EINVALREQ with the reason when metadata_context (NULL when
 *  absent) cannot become JSON within opts' depth. */
int codec_decode_meta_check(const struct Envoy__Config__Core__V3__Metadata *md,
                            const codec_decode_opts *opts, char *err,
                            size_t errlen);
/** 0, or CODEC_EINVALREQ when a Timestamp lies outside years 1 to 9999. */
int codec_decode_time_check(int64_t seconds, int32_t nanos, char *err,
                            size_t errlen);

/* ---- framing ---- */

/** Writes the 5-byte gRPC prefix for an uncompressed message of len bytes. */
/* Reads a protobuf varint of at most 10 bytes; returns its size or 0 if
 * malformed. Tags and lengths are mostly one byte: that case costs a
 * compare. */
static inline size_t codec_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    if (n && p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static inline void codec_grpc_prefix(uint8_t *p, size_t len)
{
    p[0] = 0;
    p[1] = (uint8_t)(len >> 24);
    p[2] = (uint8_t)(len >> 16);
    p[3] = (uint8_t)(len >> 8);
    p[4] = (uint8_t)len;
}

/** Packs msg after a gRPC prefix at the end of out. */
int codec_pack_grpc(const ProtobufCMessage *msg, codec_buf *out);

#endif /* PC_EXTAUTHZ_CODEC_INT_H */
