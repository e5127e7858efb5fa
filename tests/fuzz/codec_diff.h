/*
 * codec_diff.h - holds codec_decode_check to the protobuf-c decoder
 * (codec_decode_check_unpacked) on one input: the same result code and,
 * when both accept, the same view (every string by content, headers and
 * the other lists in order, numbers, peers) and the same metadata events.
 * codec_diff returns NULL when they agree, else what differs; with
 * CDIFF_DEBUG set in the environment it prints an input whose result codes
 * differ, in hex.
 */
#ifndef PC_TEST_CODEC_DIFF_H
#define PC_TEST_CODEC_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

typedef struct cdiff_log {
    char buf[1 << 16];
    size_t len;
    int over;
} cdiff_log;

static void cdiff_put(cdiff_log *l, char tag, const char *s, size_t n)
{
    if (l->len + n + 2 > sizeof l->buf) {
        l->over = 1;
        return;
    }
    l->buf[l->len++] = tag;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len++] = '\0';
}
static int cdiff_ob(void *a) { cdiff_put(a, '{', "", 0); return 0; }
static int cdiff_ab(void *a) { cdiff_put(a, '[', "", 0); return 0; }
static int cdiff_end(void *a) { cdiff_put(a, '}', "", 0); return 0; }
static int cdiff_key(void *a, const char *s, size_t n) { cdiff_put(a, 'k', s, n); return 0; }
static int cdiff_str(void *a, const char *s, size_t n) { cdiff_put(a, 's', s, n); return 0; }
static int cdiff_num(void *a, double d)
{
    char t[sizeof d];
    memcpy(t, &d, sizeof d);
    cdiff_put(a, 'n', t, sizeof t);
    return 0;
}
static int cdiff_bool(void *a, int b) { cdiff_put(a, b ? 't' : 'f', "", 0); return 0; }
static int cdiff_null(void *a) { cdiff_put(a, '0', "", 0); return 0; }

static void cdiff_emit(const pc_request_view *v, cdiff_log *l)
{
    pc_json_sink s = {l, cdiff_ob, cdiff_ab, cdiff_end, cdiff_key,
                      cdiff_str, cdiff_num, cdiff_bool, cdiff_null};
    l->len = 0;
    l->over = 0;
    if (v->metadata_emit)
        cdiff_put(l, v->metadata_emit(v->metadata_arg, &s) ? 'E' : 'O', "", 0);
}

static int cdiff_str_eq(pc_str a, pc_str b)
{
    return a.ptr && b.ptr && a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static int cdiff_kvs_eq(const pc_kv *a, size_t na, const pc_kv *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!cdiff_str_eq(a[i].key, b[i].key) || !cdiff_str_eq(a[i].value, b[i].value))
            return 0;
    return 1;
}

static int cdiff_peer_eq(const pc_peer_view *a, const pc_peer_view *b)
{
    return cdiff_str_eq(a->address, b->address) && a->port == b->port &&
           cdiff_str_eq(a->service, b->service) &&
           cdiff_str_eq(a->principal, b->principal) &&
           cdiff_str_eq(a->certificate, b->certificate) &&
           cdiff_kvs_eq(a->labels, a->n_labels, b->labels, b->n_labels);
}

static const char *cdiff_views(const pc_request_view *a, const pc_request_view *b)
{
#define CDIFF_S(f) if (!cdiff_str_eq(a->f, b->f)) return #f
    CDIFF_S(id); CDIFF_S(method); CDIFF_S(path); CDIFF_S(host); CDIFF_S(scheme);
    CDIFF_S(query); CDIFF_S(fragment); CDIFF_S(protocol); CDIFF_S(body);
    CDIFF_S(raw_body); CDIFF_S(sni); CDIFF_S(metadata_context_json);
#undef CDIFF_S
    if (a->struct_size != b->struct_size || a->size != b->size ||
        a->time_sec != b->time_sec || a->time_nanos != b->time_nanos ||
        a->deadline_ns != b->deadline_ns)
        return "numbers";
    if (!cdiff_kvs_eq(a->headers, a->n_headers, b->headers, b->n_headers))
        return "headers";
    if (!cdiff_kvs_eq(a->context_extensions, a->n_context_extensions,
                      b->context_extensions, b->n_context_extensions))
        return "context_extensions";
    if (!cdiff_peer_eq(&a->source, &b->source))
        return "source";
    if (!cdiff_peer_eq(&a->destination, &b->destination))
        return "destination";
    if ((a->metadata_emit == NULL) != (b->metadata_emit == NULL))
        return "metadata presence";
    static cdiff_log la, lb;
    cdiff_emit(a, &la);
    cdiff_emit(b, &lb);
    if (la.over != lb.over || la.len != lb.len || memcmp(la.buf, lb.buf, la.len))
        return "metadata events";
    return NULL;
}

/* NULL when both decoders agree on buf; else what differs. */
static const char *codec_diff(const uint8_t *buf, size_t len,
                              const codec_decode_opts *opts)
{
    codec_check a, b;
    char ea[256] = "", eb[256] = "";
    int ra = codec_decode_check(buf, len, opts, &a, ea, sizeof ea);
    int rb = codec_decode_check_unpacked(buf, len, opts, &b, eb, sizeof eb);
    const char *why = NULL;
    if (ra != rb) {
        why = "result code";
        if (getenv("CDIFF_DEBUG")) {
            fprintf(stderr, "walk %d (%s) protobuf-c %d (%s):", ra, ea, rb, eb);
            for (size_t i = 0; i < len; i++)
                fprintf(stderr, " %02x", buf[i]);
            fprintf(stderr, "\n");
        }
    }
    else if (strcmp(ea, eb) != 0)
        why = "error text";
    else if (ra == 0)
        why = cdiff_views(&a.view, &b.view);
    codec_check_free(&a);
    codec_check_free(&b);
    return why;
}

#endif /* PC_TEST_CODEC_DIFF_H */
