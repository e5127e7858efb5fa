/*
 * codec_decode.c - CheckRequest (v3, and v2 as its subset) to
 * pc_request_view through protobuf-c. The view points into the unpacked
 * message, which lives in the codec_check's arena together with the arrays
 * made here. codec_walk.c decodes the usual request straight from the wire
 * and comes here for what it leaves to protobuf-c (merged submessages);
 * the tests hold the two to the same results.
 */
#include <stdio.h>
#include <string.h>
#include "codec_int.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"

typedef Envoy__Service__Auth__V3__CheckRequest CheckRequest;
typedef Envoy__Service__Auth__V3__AttributeContext AttributeContext;
typedef Envoy__Service__Auth__V3__AttributeContext__Peer Peer;
typedef Envoy__Service__Auth__V3__AttributeContext__HttpRequest HttpRequest;
typedef Envoy__Config__Core__V3__Address Address;

/* Field numbers of CheckRequest.attributes.request.http.body. */
static const uint32_t BODY_PATH[] = {1, 4, 2, 11};

static pc_str str_of(const char *s)
{
    return pc_str_c(s);
}

static void fill_address(const Address *a, pc_peer_view *pv)
{
    if (!a)
        return;
    switch (a->address_case) {
    case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS:
        if (a->socket_address) {
            pv->address = str_of(a->socket_address->address);
            if (a->socket_address->port_specifier_case ==
                ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE)
                pv->port = a->socket_address->port_value;
        }
        break;
    case ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_PIPE:
        if (a->pipe)
            pv->address = str_of(a->pipe->path);
        break;
    default: /* an internal listener has no address to show */
        break;
    }
}

static int fill_peer(codec_arena *ar, const Peer *p, pc_peer_view *pv)
{
    pv->address = pv->service = pv->principal = pv->certificate = str_of(NULL);
    pv->labels = NULL;
    pv->n_labels = 0;
    if (!p)
        return 0;
    fill_address(p->address, pv);
    pv->service = str_of(p->service);
    pv->principal = str_of(p->principal);
    pv->certificate = str_of(p->certificate);
    if (p->n_labels) {
        pc_kv *kv = codec_arena_alloc(ar, p->n_labels * sizeof *kv);
        if (!kv)
            return CODEC_ENOMEM;
        for (size_t i = 0; i < p->n_labels; i++) {
            kv[i].key = str_of(p->labels[i]->key);
            kv[i].value = str_of(p->labels[i]->value);
        }
        pv->labels = kv;
        pv->n_labels = p->n_labels;
    }
    return 0;
}

/* Keys are lowercased in place: they are our copies in the arena (an
 * unset key is protobuf-c's shared "", which has nothing to change). */
static int fill_headers(codec_arena *ar, const HttpRequest *h,
                        pc_request_view *v)
{
    size_t nmap = h->n_headers;
    size_t nraw = h->header_map ? h->header_map->n_headers : 0;
    if (nmap + nraw == 0)
        return 0;
    pc_kv *kv = codec_arena_alloc(ar, (nmap + nraw) * sizeof *kv);
    if (!kv)
        return CODEC_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < nmap; i++, n++) {
        kv[n].key = str_of(h->headers[i]->key);
        kv[n].value = str_of(h->headers[i]->value);
        codec_ascii_lower((char *)kv[n].key.ptr, kv[n].key.len);
    }
    for (size_t i = 0; i < nraw; i++, n++) {
        const Envoy__Config__Core__V3__HeaderValue *hv =
            h->header_map->headers[i];
        kv[n].key = str_of(hv->key);
        codec_ascii_lower((char *)kv[n].key.ptr, kv[n].key.len);
        if (hv->raw_value.len) {
            kv[n].value.ptr = (const char *)hv->raw_value.data;
            kv[n].value.len = hv->raw_value.len;
        } else {
            kv[n].value = str_of(hv->value);
        }
    }
    v->headers = kv;
    v->n_headers = n;
    return 0;
}

static int fill_context_extensions(codec_arena *ar, const AttributeContext *ac,
                                   pc_request_view *v)
{
    if (!ac->n_context_extensions)
        return 0;
    pc_kv *kv = codec_arena_alloc(ar, ac->n_context_extensions * sizeof *kv);
    if (!kv)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < ac->n_context_extensions; i++) {
        kv[i].key = str_of(ac->context_extensions[i]->key);
        kv[i].value = str_of(ac->context_extensions[i]->value);
    }
    v->context_extensions = kv;
    v->n_context_extensions = ac->n_context_extensions;
    return 0;
}

/* protobuf-c hands strings over as C strings, so a body holding a NUL
 * would look cut short: take its true length from the wire. */
static int fill_body(codec_arena *ar, const uint8_t *buf, size_t len,
                     const HttpRequest *h, pc_request_view *v)
{
    const uint8_t *wire;
    size_t wlen;
    v->body = str_of(h->body);
    if (codec_wire_find(buf, len, BODY_PATH, 4, &wire, &wlen) != 1 ||
        wlen == v->body.len)
        return 0;
    char *copy = codec_arena_alloc(ar, wlen + 1);
    if (!copy)
        return CODEC_ENOMEM;
    memcpy(copy, wire, wlen);
    copy[wlen] = '\0';
    v->body.ptr = copy;
    v->body.len = wlen;
    return 0;
}


int codec_fail(int code, char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return code;
}

int codec_decode_wire_fail(int wrc, long items, char *err, size_t errlen)
{
    if (wrc == CODEC_WIRE_NUL)
        return codec_fail(CODEC_EINVALREQ, err, errlen,
                          "a string in the CheckRequest holds a NUL byte");
    if (wrc == CODEC_WIRE_MERGES)
        return codec_fail(CODEC_EPARSE, err, errlen,
                          "a CheckRequest message field occurs too many times");
    return codec_fail(CODEC_EPARSE, err, errlen,
                      items < 0 ? "CheckRequest has too many fields"
                                : "malformed or too deeply nested CheckRequest");
}

int codec_decode_meta_check(const Envoy__Config__Core__V3__Metadata *md,
                            const codec_decode_opts *opts, char *err,
                            size_t errlen)
{
    int max_depth = opts && opts->max_metadata_depth > 0
                        ? opts->max_metadata_depth : CODEC_METADATA_DEPTH_DEFAULT;
    if (max_depth > CODEC_METADATA_DEPTH_MAX)
        max_depth = CODEC_METADATA_DEPTH_MAX;
    int mrc = codec_metadata_check(md, max_depth);
    if (mrc == CODEC_META_NOT_FINITE)
        return codec_fail(CODEC_EINVALREQ, err, errlen,
                          "metadata_context holds a number that is not finite");
    if (mrc != 0) {
        if (err && errlen)
            snprintf(err, errlen, "metadata_context nests deeper than %d levels",
                     max_depth);
        return CODEC_EINVALREQ;
    }
    return 0;
}

int codec_decode_time_check(int64_t seconds, int32_t nanos, char *err,
                            size_t errlen)
{
    /* Timestamp's own range, years 1 to 9999: the time is shown as
     * RFC 3339 text, which has no other years. */
    if (seconds < INT64_C(-62135596800) || seconds > INT64_C(253402300799) ||
        nanos < 0 || nanos > 999999999)
        return codec_fail(CODEC_EINVALREQ, err, errlen,
                          "attributes.request.time is out of range");
    return 0;
}

int codec_decode_check_unpacked(const uint8_t *buf, size_t len,
                                const codec_decode_opts *opts, codec_check *out,
                                char *err, size_t errlen)
{
    static const uint8_t empty[1];
    memset(out, 0, sizeof *out);
    pc_request_view *v = &out->view;
    v->struct_size = sizeof *v;
    if (!buf) {
        if (len)
            return codec_fail(CODEC_EINVAL, err, errlen, "no input");
        buf = empty;
    }

    long items = CODEC_MAX_ITEMS;
    int wrc = codec_wire_check(&envoy__service__auth__v3__check_request__descriptor,
                               buf, len, CODEC_MAX_DEPTH, &items);
    if (wrc != 0)
        return codec_decode_wire_fail(wrc, items, err, errlen);

    /* Unpacked, a header-heavy request takes two to four times its wire
     * size; a body-heavy one little more than once. */
    codec_arena_init(&out->arena_, len > SIZE_MAX / 4 ? len : 2 * len + 4096);
    ProtobufCAllocator al = codec_arena_allocator(&out->arena_);
    CheckRequest *msg = envoy__service__auth__v3__check_request__unpack(
        &al, len, buf);
    if (!msg)
        return codec_fail(CODEC_EPARSE, err, errlen, "malformed CheckRequest");
    out->msg_ = msg;

    const AttributeContext *ac = msg->attributes;
    const HttpRequest *h = ac && ac->request ? ac->request->http : NULL;
    if (!h)
        return codec_fail(CODEC_ENOHTTP, err, errlen,
                    "CheckRequest has no attributes.request.http");

    /* Checked before anything is built, so that building cannot fail on
     * what passed: the Authorization JSON holds every part or none. */
    int mrc = codec_decode_meta_check(ac->metadata_context, opts, err, errlen);
    if (mrc != 0)
        return mrc;

    codec_arena *ar = &out->arena_;
    v->id = str_of(h->id);
    v->method = str_of(h->method);
    v->path = str_of(h->path);
    v->host = str_of(h->host);
    v->scheme = str_of(h->scheme);
    v->query = str_of(h->query);
    v->fragment = str_of(h->fragment);
    v->protocol = str_of(h->protocol);
    v->raw_body.ptr = h->raw_body.len ? (const char *)h->raw_body.data : "";
    v->raw_body.len = h->raw_body.len;
    v->size = h->size;
    if (ac->request->time) {
        const Google__Protobuf__Timestamp *t = ac->request->time;
        if (codec_decode_time_check(t->seconds, t->nanos, err, errlen) != 0)
            return CODEC_EINVALREQ;
        v->time_sec = t->seconds;
        v->time_nanos = t->nanos;
    }
    v->sni = str_of(ac->tls_session ? ac->tls_session->sni : NULL);
    v->metadata_context_json = str_of(NULL);
    v->deadline_ns = 0;
    /* typed_filter_metadata is not rendered (its Any values are opaque). */
    if (ac->metadata_context && ac->metadata_context->n_filter_metadata) {
        v->metadata_emit = codec_metadata_emit;
        v->metadata_arg = ac->metadata_context;
    }

    if (fill_body(ar, buf, len, h, v) != 0 ||
        fill_headers(ar, h, v) != 0 ||
        fill_context_extensions(ar, ac, v) != 0 ||
        fill_peer(ar, ac->source, &v->source) != 0 ||
        fill_peer(ar, ac->destination, &v->destination) != 0)
        return codec_fail(CODEC_ENOMEM, err, errlen, "out of memory");
    return 0;
}

void codec_check_free(codec_check *c)
{
    if (!c)
        return;
    codec_arena_free(&c->arena_);
    c->msg_ = NULL;
    memset(&c->view, 0, sizeof c->view);
}
