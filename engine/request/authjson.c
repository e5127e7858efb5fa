/* authjson.c - request view into the Authorization JSON, as doc nodes.
 *
 * `request.*` are Authorino's well-known attributes; `context` is Envoy's
 * AttributeContext with proto field names, which older AuthConfigs still
 * select from. Both point at the same nodes (headers, context extensions,
 * metadata and the strings they have in common) instead of copying them:
 * the parts are sealed before anyone reads them, so a node may have
 * several parents.
 *
 * Everything comes from one arena and nothing is freed: the bytes of the
 * view are copied (the view only lives until submit returns), member names
 * that are string literals go in by reference with their hash computed
 * once per process, header names are hashed once, and every object is
 * allocated at its final size. */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "authjson.h"
#include "doc/doc.h"
#include "jsonsink.h"

/* ---- member names ---- */

#define AJ_KEYS(X)                                                                         \
    X(ADDRESS, "address") X(BODY, "body") X(CERTIFICATE, "certificate")                    \
    X(CONTENT_TYPE, "content-type") X(CONTEXT, "context")                                  \
    X(CONTEXT_EXTENSIONS, "context_extensions") X(DESTINATION, "destination")              \
    X(FRAGMENT, "fragment") X(GRPC, "grpc") X(HEADERS, "headers") X(HOST, "host")          \
    X(HTTP, "http") X(ID, "id") X(LABELS, "labels") X(METADATA, "metadata")                \
    X(METADATA_CONTEXT, "metadata_context") X(METHOD, "method") X(NANOS, "nanos")          \
    X(PATH, "path") X(PORT, "port") X(PORT_VALUE, "port_value") X(PRINCIPAL, "principal")  \
    X(PROTOCOL, "protocol") X(QUERY, "query") X(RAW_BODY, "raw_body")                      \
    X(REFERER, "referer") X(REQUEST, "request") X(SCHEME, "scheme") X(SECONDS, "seconds")  \
    X(SERVICE, "service") X(SIZE, "size") X(SOCKET_ADDRESS, "socket_address")              \
    X(SOURCE, "source") X(TIME, "time") X(URL_PATH, "url_path") X(USER_AGENT, "user_agent") \
    X(USER_AGENT_HEADER, "user-agent")

enum {
#define X(id, s) K_##id,
    AJ_KEYS(X)
#undef X
    K_COUNT
};

static const struct {
    const char *s;
    uint32_t len;
} KEY[K_COUNT] = {
#define X(id, s) {s, sizeof s - 1},
    AJ_KEYS(X)
#undef X
};

static uint32_t key_hash[K_COUNT];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void hash_keys(void)
{
    for (int k = 0; k < K_COUNT; k++)
        key_hash[k] = doc_hash(KEY[k].s, KEY[k].len);
}

/* ---- building ----
 * Every part of the request goes in or the document is not built: a
 * member that silently went missing would skip a `when` that selects it.
 * The helpers record any failure in b->bad and authjson_build returns
 * NULL then (the caller denies). What json-c could not hold (keys with a
 * NUL, strings of 2 GiB or more) fails too, so the document is the same
 * whichever representation reads it. */

typedef struct ab {
    struct arena *a;
    int bad;
} ab;

/* A NUL-terminated copy of p in the arena. */
static const char *copy_z(ab *b, const char *p, size_t len)
{
    char *d = arena_alloc(b->a, len + 1);
    if (!d) {
        b->bad = 1;
        return NULL;
    }
    if (len)
        memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

/* Adds a member o does not have yet, its key kept by reference (a
 * literal, or a copy in the arena). Objects here are allocated at their
 * final size, and one of at most DOC_INDEX_MIN members has no index, so
 * the member goes straight into the slot the cap hint reserved: what
 * doc_add_new does, without its checks; past that, doc_add_new keeps the
 * index. */
static void add_ref(ab *b, doc *o, const char *key, uint32_t klen, uint32_t hash,
                    const doc *v)
{
    if (!o || !v) {
        b->bad = 1;
    } else if (o->n < o->cap && o->n < DOC_INDEX_MIN && (o->flags & DOC_MUTABLE)) {
        doc_member *m = &o->u.members[o->n++];
        m->key = key;
        m->klen = klen;
        m->hash = hash;
        m->val = v;
    } else if (doc_add_new(b->a, o, key, klen, hash, 0, v) != 0) {
        b->bad = 1;
    }
}

/* Adds the constant key k, which o does not have yet. */
static void add(ab *b, doc *o, int k, const doc *v)
{
    add_ref(b, o, KEY[k].s, KEY[k].len, key_hash[k], v);
}

/* Read-only from here. The parts are sealed node by node as they are
 * finished (leaves when made, containers when filled) rather than by
 * doc_seal walking the finished tree again; nodes shared between request
 * and context must not change under either. */
static doc *seal1(doc *v)
{
    if (v)
        v->flags &= (uint8_t)~DOC_MUTABLE;
    return v;
}

/* Adds k only when there is a value: Authorino omits empty parts. */
static void put(ab *b, doc *o, int k, const doc *v)
{
    if (v)
        add(b, o, k, v);
}

static doc *str_n(ab *b, const char *p, size_t len)
{
    doc *s = len <= (size_t)INT_MAX ? doc_new_str(b->a, p, len) : NULL;
    if (!s)
        b->bad = 1;
    return seal1(s);
}

static doc *str(ab *b, pc_str s)
{
    return str_n(b, s.ptr, s.len);
}

/* A copy of s, or NULL when it is empty (and left out). */
static doc *opt_str(ab *b, pc_str s)
{
    return s.len ? str(b, s) : NULL;
}

static doc *num(ab *b, int64_t i)
{
    doc *n = doc_new_int(b->a, i);
    if (!n)
        b->bad = 1;
    return seal1(n);
}

static doc *obj(ab *b, size_t cap)
{
    doc *o = doc_new_object(b->a, cap);
    if (!o)
        b->bad = 1;
    return o;
}

/* A name's bytes for doc calls (never NULL), or NULL when no JSON key of
 * json-c's could hold it. */
static const char *key_bytes(pc_str k)
{
    if (k.len > (size_t)INT_MAX || (k.len && memchr(k.ptr, '\0', k.len)))
        return NULL;
    return k.len ? k.ptr : "";
}

/* ---- key/value objects ---- */

/* The member number of key in o, or -1: doc_get_h's lookup (the index
 * when o has one), here because the join needs where the member is. */
static long member_of(const doc *o, const char *key, size_t klen, uint32_t hash)
{
    if (o->aux.index) {
        for (uint32_t s = hash & o->imask;; s = (s + 1) & o->imask) {
            uint32_t slot = o->aux.index[s];
            if (!slot)
                return -1;
            const doc_member *m = doc_member_at(o, slot - 1);
            if (m->hash == hash && m->klen == klen && memcmp(m->key, key, klen) == 0)
                return (long)slot - 1;
        }
    }
    for (uint32_t i = 0; i < o->n; i++) {
        const doc_member *m = &o->u.members[i];
        if (m->hash == hash && m->klen == klen && memcmp(m->key, key, klen) == 0)
            return (long)i;
    }
    return -1;
}

/* The values of repeated names, joined with "," as Envoy does, at a cost
 * linear in their total size: grp holds each pair's member, one pass sizes
 * each joined string, one fills it. Joining pairwise as they come would
 * copy the growing string again for each repeat, quadratic in the count. */
static void kv_join_repeats(ab *b, doc *o, const pc_kv *kv, size_t n, const uint32_t *grp)
{
    struct join {
        char *buf;
        size_t len, total;
        size_t count;
    } *j;
    size_t nm = doc_len(o);
    if (!(j = arena_alloc(b->a, nm * sizeof *j))) {
        b->bad = 1;
        return;
    }
    memset(j, 0, nm * sizeof *j);
    for (size_t i = 0; i < n; i++) {
        struct join *g = &j[grp[i]];
        g->total += kv[i].value.len + (g->count ? 1 : 0);
        g->count++;
    }
    for (size_t i = 0; i < n; i++) {
        struct join *g = &j[grp[i]];
        if (g->count < 2)
            continue; /* a single value, already in place */
        /* A comma between every two values, empty ones too: "" then "x"
         * is ",x", never "x", which an empty first value would forge. */
        if (g->buf) {
            g->buf[g->len++] = ',';
        } else if (g->total > (size_t)INT_MAX || !(g->buf = arena_alloc(b->a, g->total + 1))) {
            b->bad = 1;
            return;
        }
        if (kv[i].value.len)
            memcpy(g->buf + g->len, kv[i].value.ptr, kv[i].value.len);
        g->len += kv[i].value.len;
    }
    for (size_t m = 0; m < nm; m++) {
        struct join *g = &j[m];
        if (g->count < 2)
            continue;
        g->buf[g->len] = '\0';
        const doc_member *mb = doc_member_at(o, m);
        doc *v = seal1(doc_new_str_ref(b->a, g->buf, g->len));
        if (!v || doc_set_ref(b->a, o, mb->key, mb->klen, mb->hash, v) != 0) {
            b->bad = 1;
            return;
        }
    }
}

/* The headers `request` has members of its own for, noted while the
 * headers object is built instead of looked up again. */
enum { H_REFERER, H_USER_AGENT, H_CONTENT_TYPE, H_COUNT };
static const int HEADER_KEY[H_COUNT] = {K_REFERER, K_USER_AGENT_HEADER, K_CONTENT_TYPE};

/* The headers: each name hashed once and looked up once; a repeated name
 * keeps the place of its first occurrence and gets the joined values.
 * known[H_*] gets the member number of those names, or -1. */
static doc *kv_headers(ab *b, const pc_kv *kv, size_t n, long known[H_COUNT])
{
    for (int j = 0; j < H_COUNT; j++)
        known[j] = -1;
    doc *o = n <= (size_t)INT_MAX ? obj(b, n) : NULL;
    uint32_t *grp = NULL; /* each pair's member, once a name repeats */
    if (!o) {
        b->bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < n && !b->bad; i++) {
        const char *k = key_bytes(kv[i].key);
        if (!k) {
            b->bad = 1;
            break;
        }
        size_t kl = kv[i].key.len;
        uint32_t h = doc_hash(k, kl);
        long m = member_of(o, k, kl, h);
        if (m < 0) {
            m = (long)o->n;
            const char *key = copy_z(b, k, kl);
            if (!key)
                break;
            add_ref(b, o, key, (uint32_t)kl, h, str(b, kv[i].value));
            for (int j = 0; j < H_COUNT; j++) {
                int hk = HEADER_KEY[j];
                if (h == key_hash[hk] && kl == KEY[hk].len && memcmp(k, KEY[hk].s, kl) == 0)
                    known[j] = m;
            }
        } else if (!grp) {
            /* the first repeat: every pair before it was a new member */
            if (!(grp = arena_alloc(b->a, n * sizeof *grp))) {
                b->bad = 1;
                break;
            }
            for (size_t x = 0; x < i; x++)
                grp[x] = (uint32_t)x;
        }
        if (grp)
            grp[i] = (uint32_t)m;
    }
    if (grp && !b->bad)
        kv_join_repeats(b, o, kv, n, grp);
    return seal1(o);
}

/* Labels and context extensions: protobuf maps, the last value wins. */
static doc *kv_map(ab *b, const pc_kv *kv, size_t n)
{
    doc *o = obj(b, n);
    for (size_t i = 0; o && i < n && !b->bad; i++) {
        const char *k = key_bytes(kv[i].key);
        doc *v = k ? str(b, kv[i].value) : NULL;
        if (!v || doc_set(b->a, o, k, kv[i].key.len, v) != 0)
            b->bad = 1;
    }
    return seal1(o);
}

/* ---- parts ---- */

/* One side of the connection, whose strings both of its forms share. */
typedef struct peer_parts {
    doc *address, *port, *service, *labels, *principal, *certificate;
    uint32_t port_value;
} peer_parts;

static void peer_parts_of(ab *b, const pc_peer_view *p, peer_parts *pp)
{
    pp->address = opt_str(b, p->address);
    pp->port = p->address.len || p->port ? num(b, p->port) : NULL;
    pp->port_value = p->port;
    pp->service = opt_str(b, p->service);
    pp->labels = p->n_labels ? kv_map(b, p->labels, p->n_labels) : NULL;
    pp->principal = opt_str(b, p->principal);
    pp->certificate = opt_str(b, p->certificate);
}

static doc *peer(ab *b, const peer_parts *pp, int proto_form)
{
    doc *o = obj(b, !!pp->address + (!proto_form && pp->port_value) + !!pp->service +
                        !!pp->labels + !!pp->principal + !!pp->certificate);
    if (proto_form) {
        /* context.source.address.socket_address.{address,port_value} */
        if (pp->address) {
            doc *sa = obj(b, 2), *addr = obj(b, 1);
            add(b, sa, K_ADDRESS, pp->address);
            add(b, sa, K_PORT_VALUE, pp->port);
            add(b, addr, K_SOCKET_ADDRESS, seal1(sa));
            add(b, o, K_ADDRESS, seal1(addr));
        }
    } else {
        put(b, o, K_ADDRESS, pp->address);
        if (pp->port_value)
            add(b, o, K_PORT, pp->port);
    }
    put(b, o, K_SERVICE, pp->service);
    put(b, o, K_LABELS, pp->labels);
    put(b, o, K_PRINCIPAL, pp->principal);
    /* Both forms: Authorino's well-known source.certificate too. */
    put(b, o, K_CERTIFICATE, pp->certificate);
    return seal1(o);
}

/* Authorino's well-known request.time is a protobuf Timestamp marshalled by
 * encoding/json: {"seconds": N, "nanos": M}, zero fields left out (so CEL's
 * `request.time.seconds` reads it). A time outside Timestamp's years
 * 1-9999 fails. */
static doc *timestamp(ab *b, int64_t sec, int32_t nanos)
{
    if (sec < -62135596800LL || sec > 253402300799LL || nanos < 0 || nanos > 999999999) {
        b->bad = 1;
        return NULL;
    }
    doc *t = obj(b, nanos ? 2 : 1);
    add(b, t, K_SECONDS, num(b, sec));
    if (nanos)
        add(b, t, K_NANOS, num(b, nanos));
    return seal1(t);
}

/* 1 when v nests no more than AUTHJSON_MAX_DEPTH containers (depth counts
 * v's own) and no key in it holds a NUL. */
static int meta_fits(const doc *v, int depth)
{
    doc_type t = doc_type_of(v);
    if (t != DOC_OBJECT && t != DOC_ARRAY)
        return 1;
    if (depth > AUTHJSON_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < doc_len(v); i++) {
        if (t == DOC_ARRAY) {
            if (!meta_fits(doc_at(v, i), depth + 1))
                return 0;
            continue;
        }
        const doc_member *m = doc_member_at(v, i);
        if ((m->klen && memchr(m->key, '\0', m->klen)) || !meta_fits(m->val, depth + 1))
            return 0;
    }
    return 1;
}

/* metadata_context from its JSON text; text that is not one object (as
 * deep as any frontend may send: the Struct's levels plus the
 * filter_metadata wrapper) fails the build instead of leaving `metadata`
 * out. */
static const doc *metadata_text(ab *b, pc_str text)
{
    const doc *meta = NULL;
    if (text.len > (size_t)INT_MAX ||
        doc_parse(b->a, text.ptr, text.len, &meta, NULL, 0) != 0 ||
        doc_type_of(meta) != DOC_OBJECT || !meta_fits(meta, 1)) {
        b->bad = 1;
        return NULL;
    }
    /* The parser's nodes are new ones in b->a: ours to seal. */
    doc_seal((doc *)meta);
    return meta;
}

/* metadata: Envoy's metadata_context, built straight from the frontend's
 * structure when it offers that, else from its JSON text; NULL when the
 * view has none (or on failure, with b->bad set). */
static const doc *metadata(ab *b, const pc_request_view *v)
{
    int (*emit)(const void *, const pc_json_sink *) =
        v->struct_size >= offsetof(pc_request_view, metadata_arg) + sizeof(void *)
            ? v->metadata_emit : NULL;
    if (emit) {
        const doc *meta = jsonsink_build(emit, v->metadata_arg, b->a);
        if (!meta)
            b->bad = 1;
        return meta;
    }
    return v->metadata_context_json.len ? metadata_text(b, v->metadata_context_json) : NULL;
}

/* The strings request and context.request.http have in common. */
typedef struct http_parts {
    doc *id, *method, *path, *host, *scheme, *protocol, *body, *size, *time;
    doc *headers, *ctxext;
    long known[H_COUNT]; /* kv_headers' */
} http_parts;

static doc *context(ab *b, const pc_request_view *v, const http_parts *hp,
                    const peer_parts *src, const peer_parts *dst, const doc *meta)
{
    doc *ctx = obj(b, 3 + !!hp->ctxext + !!meta);
    add(b, ctx, K_SOURCE, peer(b, src, 1));
    add(b, ctx, K_DESTINATION, peer(b, dst, 1));
    doc *creq = obj(b, 1 + !!hp->time),
        *http = obj(b, 1 + !!hp->id + !!hp->method + !!hp->path + !!hp->host + !!hp->scheme +
                           !!v->query.len + !!v->fragment.len + !!hp->size + !!hp->protocol +
                           !!hp->body);
    put(b, http, K_ID, hp->id);
    put(b, http, K_METHOD, hp->method);
    add(b, http, K_HEADERS, hp->headers);
    put(b, http, K_PATH, hp->path);
    put(b, http, K_HOST, hp->host);
    put(b, http, K_SCHEME, hp->scheme);
    put(b, http, K_QUERY, opt_str(b, v->query));
    put(b, http, K_FRAGMENT, opt_str(b, v->fragment));
    put(b, http, K_SIZE, hp->size);
    put(b, http, K_PROTOCOL, hp->protocol);
    put(b, http, K_BODY, hp->body);
    add(b, creq, K_HTTP, seal1(http));
    put(b, creq, K_TIME, hp->time);
    add(b, ctx, K_REQUEST, seal1(creq));
    put(b, ctx, K_CONTEXT_EXTENSIONS, hp->ctxext);
    put(b, ctx, K_METADATA_CONTEXT, meta);
    return seal1(ctx);
}

/* request: Authorino's well-known attributes. */
static doc *request(ab *b, const pc_request_view *v, const http_parts *hp)
{
    const doc *h[H_COUNT];
    for (int j = 0; j < H_COUNT; j++)
        h[j] = hp->known[j] >= 0 ? doc_member_at(hp->headers, (size_t)hp->known[j])->val : NULL;
    const char *ct = doc_str(h[H_CONTENT_TYPE], NULL);
    /* request.grpc: /package.Service/Method paths of gRPC requests. */
    const char *slash = NULL;
    if (ct && strncmp(ct, "application/grpc", 16) == 0 && v->path.len > 1 &&
        v->path.ptr[0] == '/')
        slash = memchr(v->path.ptr + 1, '/', v->path.len - 1);

    /* Both are read from the path's copy in the arena: the query is its
     * tail (NUL-terminated there), the path without a query is the path
     * itself. */
    const char *p = doc_str(hp->path, NULL);
    const char *q = p ? memchr(p, '?', v->path.len) : NULL;

    doc *req = obj(b, 1 + !!hp->id + !!hp->time + !!hp->protocol + !!hp->scheme + !!hp->host +
                          !!hp->method + (p ? 2 + !!q : 0) + !!h[H_REFERER] +
                          !!h[H_USER_AGENT] + !!hp->size + !!hp->body + !!v->raw_body.len +
                          !!hp->ctxext + !!slash);
    put(b, req, K_ID, hp->id);
    put(b, req, K_TIME, hp->time);
    put(b, req, K_PROTOCOL, hp->protocol);
    put(b, req, K_SCHEME, hp->scheme);
    put(b, req, K_HOST, hp->host);
    put(b, req, K_METHOD, hp->method);
    put(b, req, K_PATH, hp->path);
    if (p) {
        size_t ul = q ? (size_t)(q - p) : v->path.len;
        add(b, req, K_URL_PATH, q ? str_n(b, p, ul) : hp->path);
        if (q) {
            doc *query = seal1(doc_new_str_ref(b->a, q + 1, v->path.len - ul - 1));
            if (!query)
                b->bad = 1;
            add(b, req, K_QUERY, query);
        }
    }
    add(b, req, K_HEADERS, hp->headers);
    put(b, req, K_REFERER, h[H_REFERER]);
    put(b, req, K_USER_AGENT, h[H_USER_AGENT]);
    put(b, req, K_SIZE, hp->size);
    put(b, req, K_BODY, hp->body);
    put(b, req, K_RAW_BODY, opt_str(b, v->raw_body));
    put(b, req, K_CONTEXT_EXTENSIONS, hp->ctxext);
    if (slash) {
        const char *s = p + (slash - v->path.ptr);
        doc *g = obj(b, 2),
            *method = seal1(doc_new_str_ref(b->a, s + 1, v->path.len - (size_t)(s - p) - 1));
        if (!method)
            b->bad = 1;
        add(b, g, K_SERVICE, str_n(b, p + 1, (size_t)(s - p - 1)));
        add(b, g, K_METHOD, method);
        add(b, req, K_GRPC, seal1(g));
    }
    return seal1(req);
}

static doc *build(const pc_request_view *v, int with_context, ab *b)
{
    doc *root = obj(b, 6); /* and `auth`, which the pipeline adds */
    http_parts hp = {
        .id = opt_str(b, v->id),
        .method = opt_str(b, v->method),
        .path = opt_str(b, v->path),
        .host = opt_str(b, v->host),
        .scheme = opt_str(b, v->scheme),
        .protocol = opt_str(b, v->protocol),
        .body = opt_str(b, v->body),
        .size = v->size > 0 ? num(b, v->size) : NULL,
        .time = v->time_sec ? timestamp(b, v->time_sec, v->time_nanos) : NULL,
        .headers = NULL,
        .ctxext = v->n_context_extensions
                      ? kv_map(b, v->context_extensions, v->n_context_extensions)
                      : NULL,
    };
    hp.headers = kv_headers(b, v->headers, v->n_headers, hp.known);
    peer_parts src, dst;
    peer_parts_of(b, &v->source, &src);
    peer_parts_of(b, &v->destination, &dst);
    const doc *meta = metadata(b, v);
    if (b->bad)
        return NULL;

    doc *ctx = with_context ? context(b, v, &hp, &src, &dst, meta) : NULL;
    doc *req = request(b, v, &hp);
    doc *source = peer(b, &src, 0), *destination = peer(b, &dst, 0);
    put(b, root, K_METADATA, meta);
    put(b, root, K_CONTEXT, ctx);
    add(b, root, K_REQUEST, req);
    add(b, root, K_SOURCE, source);
    add(b, root, K_DESTINATION, destination);
    return b->bad ? NULL : root;
}

doc *authjson_build(const pc_request_view *v, int with_context, struct arena *a)
{
    pthread_once(&key_once, hash_keys);
    ab b = {a, 0};
    doc *root = build(v, with_context, &b);
    return b.bad ? NULL : root;
}

