/*
 * codec_walk.c - CheckRequest straight from the wire into pc_request_view.
 *
 * One pass over the bytes does what codec_wire_check and protobuf-c's
 * unpack did together: the same limits (depth, item budget, merges, NULs
 * in strings) in the same order, the wire type protobuf-c requires of each
 * known field, and the view's parts taken on the way. Strings point into
 * the request buffer; only a header name with capitals is copied (to be
 * lowercased) into the codec_check's arena, with the view's arrays.
 *
 * Two things are left to protobuf-c: metadata_context, unpacked alone for
 * its emitter, and a request in which a singular submessage that the view
 * reads occurs more than once. protobuf-c merges such occurrences with
 * rules of its own (an empty string or zero in a later one keeps the
 * earlier value); encoders write each once, so that request is rare and is
 * decoded by codec_decode_check_unpacked, whose results are the reference.
 */
#include <stddef.h>
#include <string.h>
#include "codec_int.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* What a message occurrence is in the view; R_OPAQUE is only checked. */
enum role {
    R_OPAQUE, R_CHECK, R_ATTR, R_PEER, R_ADDR, R_SOCK, R_PIPE, R_REQ,
    R_HTTP, R_TIME, R_TLS, R_MAP_ENTRY, R_HDR_MAP, R_HDR_VALUE, R_META
};

typedef struct kv_list {
    pc_kv *a;
    size_t n, cap;
} kv_list;

typedef struct addr_state {
    uint32_t addr_case;     /* Address oneof: 1 socket, 2 pipe, 3 internal */
    pc_str sock_address, pipe_path;
    uint32_t port_case;     /* SocketAddress oneof: 3 port_value, 4 named */
    uint32_t port;
} addr_state;

typedef struct peer_state {
    pc_peer_view *pv;
    addr_state addr;
    kv_list labels;
} peer_state;

typedef struct hv_state {
    pc_str key, value, raw;
} hv_state;

typedef struct walk {
    codec_arena *ar;
    pc_request_view *v;
    long items;
    int refused;            /* protobuf-c would refuse the request */
    int merged;             /* a submessage the view reads occurs twice */
    int enomem;
    int has_attr, has_req, has_http, has_time;
    int64_t time_sec;
    int32_t time_nanos;
    const uint8_t *meta;
    size_t meta_len;
    peer_state peer[2];
    kv_list headers, header_map, ctx_ext;
} walk;

/* The wire type protobuf-c requires of a field of type t; it takes a bool
 * whatever its wire type (walk_msg). No field of a CheckRequest is a
 * packable repeated scalar. */
static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WT_I32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WT_I64;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

/* As codec_wire.c's rule: NUL is refused in every string but
 * HttpRequest.body, and in a header's raw_value. */
static int nul_refused(const ProtobufCMessageDescriptor *desc,
                       const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_STRING)
        return !(desc == &envoy__service__auth__v3__attribute_context__http_request__descriptor &&
                 f->id == 11);
    return f->type == PROTOBUF_C_TYPE_BYTES &&
           desc == &envoy__config__core__v3__header_value__descriptor && f->id == 3;
}

/* protobuf-c's generated descriptors list fields by number: a message
 * numbered 1..n finds field num at num - 1 without a search. */
static inline const ProtobufCFieldDescriptor *
field_of(const ProtobufCMessageDescriptor *desc, uint32_t num)
{
    if (num - 1 < desc->n_fields && desc->fields[num - 1].id == num)
        return &desc->fields[num - 1];
    return protobuf_c_message_descriptor_get_field(desc, num);
}

/* Whether s holds a NUL; most strings here are short. */
static inline int has_nul(const uint8_t *s, size_t n)
{
    if (n > 32)
        return memchr(s, 0, n) != NULL;
    for (size_t i = 0; i < n; i++)
        if (!s[i])
            return 1;
    return 0;
}

static int kv_push(walk *w, kv_list *l, pc_str key, pc_str value)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        pc_kv *a = codec_arena_alloc(w->ar, cap * sizeof *a);
        if (!a)
            return w->enomem = 1;
        if (l->n)
            memcpy(a, l->a, l->n * sizeof *a);
        l->a = a;
        l->cap = cap;
    }
    l->a[l->n].key = key;
    l->a[l->n].value = value;
    l->n++;
    return 0;
}

/* A header name as the view has it: lowercase, copied only if it is not. */
static pc_str lower_key(walk *w, pc_str k)
{
    size_t i = 0;
    while (i < k.len && !(k.ptr[i] >= 'A' && k.ptr[i] <= 'Z'))
        i++;
    if (i == k.len)
        return k;
    char *c = codec_arena_strndup(w->ar, k.ptr, k.len);
    if (!c) {
        w->enomem = 1;
        return k;
    }
    codec_ascii_lower(c + i, k.len - i);
    k.ptr = c;
    return k;
}

static enum role child_role(enum role r, uint32_t id)
{
    switch (r) {
    case R_CHECK:
        return id == 1 ? R_ATTR : R_OPAQUE;
    case R_ATTR:
        switch (id) {
        case 1: case 2: return R_PEER;
        case 4: return R_REQ;
        case 10: return R_MAP_ENTRY;
        case 11: return R_META;
        case 12: return R_TLS;
        default: return R_OPAQUE;
        }
    case R_PEER:
        return id == 1 ? R_ADDR : id == 3 ? R_MAP_ENTRY : R_OPAQUE;
    case R_ADDR:
        return id == 1 ? R_SOCK : id == 2 ? R_PIPE : R_OPAQUE;
    case R_REQ:
        return id == 1 ? R_TIME : id == 2 ? R_HTTP : R_OPAQUE;
    case R_HTTP:
        return id == 3 ? R_MAP_ENTRY : id == 13 ? R_HDR_MAP : R_OPAQUE;
    case R_HDR_MAP:
        return id == 1 ? R_HDR_VALUE : R_OPAQUE;
    default:
        return R_OPAQUE;
    }
}

static int walk_msg(walk *w, const ProtobufCMessageDescriptor *desc,
                    const uint8_t *buf, size_t len, int depth, enum role role,
                    void *tgt);

/* A string or bytes field of a message the view reads. */
static void take_str(walk *w, enum role role, void *tgt, uint32_t id, pc_str s)
{
    pc_request_view *v = w->v;
    switch (role) {
    case R_HTTP: {
        static const size_t at[] = {
            [1] = offsetof(pc_request_view, id),
            [2] = offsetof(pc_request_view, method),
            [4] = offsetof(pc_request_view, path),
            [5] = offsetof(pc_request_view, host),
            [6] = offsetof(pc_request_view, scheme),
            [7] = offsetof(pc_request_view, query),
            [8] = offsetof(pc_request_view, fragment),
            [10] = offsetof(pc_request_view, protocol),
            [11] = offsetof(pc_request_view, body),
            [12] = offsetof(pc_request_view, raw_body),
        };
        if (id < sizeof at / sizeof at[0] && at[id])
            *(pc_str *)((char *)v + at[id]) = s;
        break;
    }
    case R_PEER: {
        pc_peer_view *pv = ((peer_state *)tgt)->pv;
        if (id == 2)
            pv->service = s;
        else if (id == 4)
            pv->principal = s;
        else if (id == 5)
            pv->certificate = s;
        break;
    }
    case R_SOCK:
        if (id == 2)
            ((addr_state *)tgt)->sock_address = s;
        else if (id == 4)
            ((addr_state *)tgt)->port_case = 4;
        break;
    case R_PIPE:
        if (id == 1)
            ((addr_state *)tgt)->pipe_path = s;
        break;
    case R_TLS:
        if (id == 1)
            v->sni = s;
        break;
    case R_MAP_ENTRY:
        if (id == 1)
            ((pc_kv *)tgt)->key = s;
        else if (id == 2)
            ((pc_kv *)tgt)->value = s;
        break;
    case R_HDR_VALUE:
        if (id == 1)
            ((hv_state *)tgt)->key = s;
        else if (id == 2)
            ((hv_state *)tgt)->value = s;
        else if (id == 3)
            ((hv_state *)tgt)->raw = s;
        break;
    default:
        break;
    }
}

static void take_varint(walk *w, enum role role, void *tgt, uint32_t id,
                        uint64_t x)
{
    switch (role) {
    case R_HTTP:
        if (id == 9)
            w->v->size = (int64_t)x;
        break;
    case R_SOCK:
        if (id == 3) {
            ((addr_state *)tgt)->port_case = 3;
            ((addr_state *)tgt)->port = (uint32_t)x;
        }
        break;
    case R_TIME:
        if (id == 1)
            w->time_sec = (int64_t)x;
        else if (id == 2)
            w->time_nanos = (int32_t)(uint32_t)x;
        break;
    default:
        break;
    }
}

/* A message field occurrence of a message the view reads: where its
 * content goes, and what it adds once it has been walked. */
static int walk_child(walk *w, const ProtobufCFieldDescriptor *f,
                      const uint8_t *val, size_t vlen, int depth,
                      enum role role, void *tgt)
{
    enum role cr = child_role(role, f->id);
    const ProtobufCMessageDescriptor *cd = f->descriptor;
    switch (cr) {
    case R_ATTR:
        w->has_attr = 1;
        return walk_msg(w, cd, val, vlen, depth, cr, NULL);
    case R_PEER:
        return walk_msg(w, cd, val, vlen, depth, cr, &w->peer[f->id - 1]);
    case R_ADDR:
        return walk_msg(w, cd, val, vlen, depth, cr, &((peer_state *)tgt)->addr);
    case R_SOCK:
    case R_PIPE:
        ((addr_state *)tgt)->addr_case = f->id;
        return walk_msg(w, cd, val, vlen, depth, cr, tgt);
    case R_REQ:
        w->has_req = 1;
        return walk_msg(w, cd, val, vlen, depth, cr, NULL);
    case R_HTTP:
        w->has_http = 1;
        return walk_msg(w, cd, val, vlen, depth, cr, NULL);
    case R_TIME:
        w->has_time = 1;
        return walk_msg(w, cd, val, vlen, depth, cr, NULL);
    case R_META:
        w->meta = val;
        w->meta_len = vlen;
        return walk_msg(w, cd, val, vlen, depth, R_OPAQUE, NULL);
    case R_MAP_ENTRY: {
        pc_kv e = {pc_str_c(NULL), pc_str_c(NULL)};
        int r = walk_msg(w, cd, val, vlen, depth, cr, &e);
        if (r != 0)
            return r;
        kv_list *l = role == R_ATTR ? &w->ctx_ext
                     : role == R_PEER ? &((peer_state *)tgt)->labels
                                      : &w->headers;
        if (l == &w->headers)
            e.key = lower_key(w, e.key);
        kv_push(w, l, e.key, e.value);
        return 0;
    }
    case R_HDR_VALUE: {
        hv_state hv = {pc_str_c(NULL), pc_str_c(NULL), pc_str_c(NULL)};
        int r = walk_msg(w, cd, val, vlen, depth, cr, &hv);
        if (r != 0)
            return r;
        kv_push(w, &w->header_map, lower_key(w, hv.key),
                hv.raw.len ? hv.raw : hv.value);
        return 0;
    }
    default: /* R_ADDR's internal address shows nothing; R_TLS, R_HDR_MAP */
        if (role == R_ADDR)
            ((addr_state *)tgt)->addr_case = f->id;
        return walk_msg(w, cd, val, vlen, depth, cr, tgt);
    }
}

/* Walks one occurrence of desc. Returns 0 or a CODEC_WIRE_* code: the
 * first the wire check would meet. What protobuf-c alone refuses sets
 * w->refused and the walk goes on, as the wire check would. */
static int walk_msg(walk *w, const ProtobufCMessageDescriptor *desc,
                    const uint8_t *buf, size_t len, int depth, enum role role,
                    void *tgt)
{
    uint8_t seen[64] = {0};
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, x = 0;
        size_t t = codec_varint(buf + pos, len - pos, &tag);
        if (!t || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return CODEC_WIRE_MALFORMED;
        pos += t;
        uint32_t num = (uint32_t)(tag >> 3);
        int wt = (int)(tag & 7);
        const uint8_t *val = NULL;
        size_t vlen = 0, k;
        switch (wt) {
        case WT_VARINT:
            if (!(k = codec_varint(buf + pos, len - pos, &x)))
                return CODEC_WIRE_MALFORMED;
            pos += k;
            break;
        case WT_I64:
        case WT_I32:
            k = wt == WT_I64 ? 8 : 4;
            if (len - pos < k)
                return CODEC_WIRE_MALFORMED;
            pos += k;
            break;
        case WT_LEN:
            if (!(k = codec_varint(buf + pos, len - pos, &x)) || x > len - pos - k)
                return CODEC_WIRE_MALFORMED;
            val = buf + pos + k;
            vlen = (size_t)x;
            pos += k + vlen;
            break;
        default: /* groups: protobuf-c cannot unpack them either */
            return CODEC_WIRE_MALFORMED;
        }
        const ProtobufCFieldDescriptor *f = field_of(desc, num);
        if (!f) {
            if (--w->items < 0)
                return CODEC_WIRE_MALFORMED;
            continue;
        }
        if (wt != wire_type_of(f->type)) {
            /* A packed repeated scalar would be valid; no field of a
             * CheckRequest is one, but leave any to protobuf-c. */
            if (wt == WT_LEN && f->label == PROTOBUF_C_LABEL_REPEATED)
                w->merged = 1;
            else if (f->type != PROTOBUF_C_TYPE_BOOL)
                w->refused = 1;
            continue;
        }
        if (wt == WT_VARINT) {
            if (role != R_OPAQUE)
                take_varint(w, role, tgt, f->id, x);
            continue;
        }
        if (wt != WT_LEN)
            continue;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            if (nul_refused(desc, f) && has_nul(val, vlen))
                return CODEC_WIRE_NUL;
            if (role != R_OPAQUE) {
                pc_str s = {vlen ? (const char *)val : "", vlen};
                take_str(w, role, tgt, f->id, s);
            }
            continue;
        }
        if (--w->items < 0 || depth <= 0)
            return CODEC_WIRE_MALFORMED;
        size_t idx = (size_t)(f - desc->fields);
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (idx < sizeof seen && ++seen[idx] > CODEC_MAX_MERGES)
                return CODEC_WIRE_MERGES;
            if (role != R_OPAQUE && child_role(role, f->id) != R_OPAQUE &&
                (idx >= sizeof seen || seen[idx] > 1))
                w->merged = 1;
        }
        int r = role == R_OPAQUE
                    ? walk_msg(w, f->descriptor, val, vlen, depth - 1, R_OPAQUE, NULL)
                    : walk_child(w, f, val, vlen, depth - 1, role, tgt);
        if (r != 0)
            return r;
    }
    return 0;
}

static void finish_peer(peer_state *p)
{
    pc_peer_view *pv = p->pv;
    if (p->addr.addr_case == 1) {
        pv->address = p->addr.sock_address;
        if (p->addr.port_case == 3)
            pv->port = p->addr.port;
    } else if (p->addr.addr_case == 2) {
        pv->address = p->addr.pipe_path;
    }
    pv->labels = p->labels.n ? p->labels.a : NULL;
    pv->n_labels = p->labels.n;
}

static void empty_peer(pc_peer_view *pv)
{
    pv->address = pv->service = pv->principal = pv->certificate = pc_str_c(NULL);
    pv->labels = NULL;
    pv->n_labels = 0;
}

int codec_decode_check(const uint8_t *buf, size_t len,
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

    walk w;
    memset(&w, 0, sizeof w);
    w.ar = &out->arena_;
    w.v = v;
    w.items = CODEC_MAX_ITEMS;
    for (int i = 0; i < 2; i++) {
        w.peer[i].pv = i ? &v->destination : &v->source;
        w.peer[i].addr.sock_address = w.peer[i].addr.pipe_path = pc_str_c(NULL);
    }
    v->id = v->method = v->path = v->host = v->scheme = v->query =
        v->fragment = v->protocol = v->body = v->raw_body = v->sni =
            v->metadata_context_json = pc_str_c(NULL);
    empty_peer(&v->source);
    empty_peer(&v->destination);
    codec_arena_init(w.ar, 4096);

    int wrc = walk_msg(&w, &envoy__service__auth__v3__check_request__descriptor,
                       buf, len, CODEC_MAX_DEPTH, R_CHECK, NULL);
    if (wrc != 0)
        return codec_decode_wire_fail(wrc, w.items, err, errlen);
    if (w.refused)
        return codec_fail(CODEC_EPARSE, err, errlen, "malformed CheckRequest");
    if (w.merged) {
        codec_check_free(out);
        return codec_decode_check_unpacked(buf, len, opts, out, err, errlen);
    }
    if (w.enomem)
        return codec_fail(CODEC_ENOMEM, err, errlen, "out of memory");
    if (!w.has_http)
        return codec_fail(CODEC_ENOHTTP, err, errlen,
                          "CheckRequest has no attributes.request.http");

    /* metadata_context goes to the engine through its emitter, which reads
     * the unpacked Metadata; it is checked before anything is built. */
    const Envoy__Config__Core__V3__Metadata *md = NULL;
    if (w.meta) {
        ProtobufCAllocator al = codec_arena_allocator(w.ar);
        md = envoy__config__core__v3__metadata__unpack(&al, w.meta_len, w.meta);
        if (!md)
            return codec_fail(CODEC_EPARSE, err, errlen, "malformed CheckRequest");
    }
    int mrc = codec_decode_meta_check(md, opts, err, errlen);
    if (mrc != 0)
        return mrc;
    if (w.has_time) {
        if (codec_decode_time_check(w.time_sec, w.time_nanos, err, errlen) != 0)
            return CODEC_EINVALREQ;
        v->time_sec = w.time_sec;
        v->time_nanos = w.time_nanos;
    }
    if (md && md->n_filter_metadata) {
        v->metadata_emit = codec_metadata_emit;
        v->metadata_arg = md;
    }

    if (w.header_map.n && w.headers.n) {
        size_t n = w.headers.n + w.header_map.n;
        pc_kv *kv = codec_arena_alloc(w.ar, n * sizeof *kv);
        if (!kv)
            return codec_fail(CODEC_ENOMEM, err, errlen, "out of memory");
        memcpy(kv, w.headers.a, w.headers.n * sizeof *kv);
        memcpy(kv + w.headers.n, w.header_map.a, w.header_map.n * sizeof *kv);
        v->headers = kv;
        v->n_headers = n;
    } else if (w.headers.n || w.header_map.n) {
        const kv_list *l = w.headers.n ? &w.headers : &w.header_map;
        v->headers = l->a;
        v->n_headers = l->n;
    }
    if (w.ctx_ext.n) {
        v->context_extensions = w.ctx_ext.a;
        v->n_context_extensions = w.ctx_ext.n;
    }
    finish_peer(&w.peer[0]);
    finish_peer(&w.peer[1]);
    return 0;
}
