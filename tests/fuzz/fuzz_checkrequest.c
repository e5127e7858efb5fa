/*
 * fuzz_checkrequest.c - the ext_authz codec on arbitrary bytes.
 *
 * The input is fed through the gRPC frame reader in uneven chunks and also
 * decoded whole as a CheckRequest; a decoded request is turned into a
 * verdict (its headers, body and metadata) and encoded as v3 and v2
 * CheckResponses. Oracles: no crash or leak; the engine builds the
 * Authorization JSON of every request the decoder accepts (as a doc in an
 * arena reset between inputs), with `metadata` exactly when
 * metadata_context has filter_metadata and every header name of the view
 * under request.headers (no part can be lost between them), read-only
 * below its root; every encoded response unpacks and carries only valid
 * UTF-8, in the very bytes protobuf-c's packer gives (codec_encode_ref.c).
 * The wire decoder and the protobuf-c one (the reference) agree on every
 * input: result, view and metadata (codec_diff.h).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "doc/doc.h"
#include "host/hostimpl.h"
#include "request/authjson.h"
#include "codec_int.h"
#include "codec_encode_ref.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"
#include "codec_diff.h"

static int utf8_ok(const char *s)
{
    int dirty;
    codec_utf8_clean_len(s, strlen(s), 0, &dirty);
    return !dirty;
}

static void check_response(const codec_buf *b, size_t at)
{
    if (b->len < at + 5)
        abort();
    const uint8_t *p = b->data + at;
    size_t len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
    if (p[0] != 0 || at + 5 + len != b->len)
        abort();
    Envoy__Service__Auth__V3__CheckResponse *r =
        envoy__service__auth__v3__check_response__unpack(NULL, len, p + 5);
    if (!r)
        abort();
    if (r->status && !utf8_ok(r->status->message))
        abort();
    Envoy__Config__Core__V3__HeaderValueOption **h = NULL;
    size_t n = 0;
    if (r->http_response_case ==
        ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_OK_RESPONSE) {
        h = r->ok_response->headers;
        n = r->ok_response->n_headers;
    } else if (r->http_response_case ==
               ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_DENIED_RESPONSE) {
        h = r->denied_response->headers;
        n = r->denied_response->n_headers;
        if (!utf8_ok(r->denied_response->body))
            abort();
    }
    for (size_t i = 0; i < n; i++)
        if (!utf8_ok(h[i]->header->key) || !utf8_ok(h[i]->header->value))
            abort();
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);
}

static void frames(const uint8_t *data, size_t size)
{
    codec_frame_reader r;
    codec_frame_reader_init(&r, 1 << 16, size & 1);
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        size_t used;
        int rc = codec_frame_reader_feed(&r, data + off, n, &used);
        off += used;
        if (rc == CODEC_FRAME_READY) {
            size_t len;
            int comp;
            const uint8_t *m = codec_frame_reader_message(&r, &len, &comp);
            codec_check c;
            codec_decode_check(m, len, NULL, &c, NULL, 0);
            codec_check_free(&c);
            codec_frame_reader_next(&r);
        } else if (rc < 0) {
            break;
        }
        step = step * 3 % 17 + 1;
    }
    codec_frame_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = codec_diff(data, size, NULL);
    if (why) {
        fprintf(stderr, "decoders differ: %s\n", why);
        abort();
    }
    codec_decode_opts shallow = {2};
    if (codec_diff(data, size, &shallow))
        abort();
    frames(data, size);

    char service[64];
    codec_decode_health_request(data, size, service, sizeof service);

    codec_check c;
    char err[128];
    if (codec_decode_check(data, size, NULL, &c, err, sizeof err) != 0) {
        codec_check_free(&c);
        return 0;
    }
    const pc_request_view *v = &c.view;
    static struct arena a;
    if (!a.limit)
        arena_init(&a, (size_t)64 << 20); /* past any message the codec takes */
    const doc *meta = NULL;
    for (int ctx = 0; ctx < 2; ctx++) {
        arena_reset(&a);
        doc *root = authjson_build(v, ctx, &a);
        if (!root)
            abort(); /* accepted by the decoder, refused by the engine */
        int has;
        meta = doc_get(root, "metadata", 8, &has);
        if (has != (v->metadata_emit != NULL))
            abort(); /* metadata lost, or made up */
        const doc *req = doc_getz(root, "request"), *hs = doc_getz(req, "headers");
        if (!(root->flags & DOC_MUTABLE) || !req || (req->flags & DOC_MUTABLE) ||
            (meta && (meta->flags & DOC_MUTABLE)))
            abort(); /* the parts evaluators read must be read-only */
        for (size_t i = 0; i < v->n_headers; i++) {
            int found;
            const pc_str k = v->headers[i].key;
            doc_get(hs, k.len ? k.ptr : "", k.len, &found);
            if (!found)
                abort(); /* a header lost */
        }
        if (ctx && doc_getz(doc_getz(root, "context"), "metadata_context") != meta)
            abort();
    }
    /* The engine's own services table reads the verdict's values. */
    pc_host host = *host_table();

    size_t n = v->n_headers < 64 ? v->n_headers : 64;
    pc_header hdrs[64];
    for (size_t i = 0; i < n; i++) {
        hdrs[i].name = v->headers[i].key;
        hdrs[i].value = v->headers[i].value;
    }
    pc_verdict verdict;
    memset(&verdict, 0, sizeof verdict);
    verdict.struct_size = sizeof verdict;
    verdict.allowed = (int)(v->size & 1);
    verdict.grpc_code = verdict.allowed ? 0 : 16;
    verdict.http_status = (int)(v->size % 600);
    verdict.headers = hdrs;
    verdict.n_headers = n;
    verdict.body = v->raw_body.len ? v->raw_body : v->body;
    verdict.reason = v->path;
    verdict.dynamic_metadata = (const pc_value *)meta; /* a verdict's values are docs */

    codec_buf b = CODEC_BUF_INIT;
    for (int v2 = 0; v2 < 2; v2++) {
        size_t at = b.len;
        if (codec_encode_check_response(&verdict, &host, v2, &b) != 0)
            abort();
        check_response(&b, at);
        /* byte for byte what protobuf-c packs for the same verdict */
        codec_buf ref = CODEC_BUF_INIT;
        if (codec_encode_check_response_ref(&verdict, &host, v2, &ref) != 0 ||
            ref.len != b.len || memcmp(ref.data, b.data, b.len) != 0)
            abort();
        codec_buf_free(&ref);
        codec_buf_reset(&b);
    }
    codec_buf_free(&b);
    codec_check_free(&c);
    return 0;
}
