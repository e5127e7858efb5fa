/* sdb_wire.c - the CheckPermission request in gRPC framing, and the
 * judgement of an answer: HTTP status, content-type, grpc-status and
 * grpc-message (headers or trailers), then exactly one uncompressed
 * length-prefixed CheckPermissionResponse. Everything about the answer is
 * untrusted input and bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "authzed/api/v1/permission_service.pb-c.h"
#include "sdb_wire.h"
#include "util/str.h"

#define RPC "rpc error: code = "

static const char *const code_names[] = {
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
    "Unauthenticated"};

const char *sdb_code_name(int code)
{
    if (code < 0 || code >= (int)(sizeof code_names / sizeof code_names[0]))
        return NULL;
    return code_names[code];
}

const char *sdb_perm_name(int p)
{
    switch (p) {
    case SDB_PERM_UNSPECIFIED: return "PERMISSIONSHIP_UNSPECIFIED";
    case SDB_PERM_NO_PERMISSION: return "PERMISSIONSHIP_NO_PERMISSION";
    case SDB_PERM_HAS_PERMISSION: return "PERMISSIONSHIP_HAS_PERMISSION";
    case SDB_PERM_CONDITIONAL: return "PERMISSIONSHIP_CONDITIONAL_PERMISSION";
    default: return NULL;
    }
}

uint8_t *sdb_encode_check(const sdb_check *c, size_t *len)
{
    Authzed__Api__V1__ObjectReference res = AUTHZED__API__V1__OBJECT_REFERENCE__INIT;
    Authzed__Api__V1__ObjectReference sobj = AUTHZED__API__V1__OBJECT_REFERENCE__INIT;
    Authzed__Api__V1__SubjectReference sub = AUTHZED__API__V1__SUBJECT_REFERENCE__INIT;
    Authzed__Api__V1__CheckPermissionRequest req = AUTHZED__API__V1__CHECK_PERMISSION_REQUEST__INIT;
    /* protobuf-c takes char *; it only reads them while packing. */
    res.object_type = (char *)c->resource_type;
    res.object_id = (char *)c->resource_id;
    sobj.object_type = (char *)c->subject_type;
    sobj.object_id = (char *)c->subject_id;
    sub.object = &sobj;
    req.resource = &res;
    req.permission = (char *)c->permission;
    req.subject = &sub;
    /* No consistency: the server's default (minimize_latency), as
     * Authorino sends it. */
    size_t n = authzed__api__v1__check_permission_request__get_packed_size(&req);
    if (n > UINT32_MAX - 5)
        return NULL;
    uint8_t *out = malloc(n + 5);
    if (!out)
        return NULL;
    out[0] = 0; /* not compressed */
    out[1] = (uint8_t)(n >> 24);
    out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    authzed__api__v1__check_permission_request__pack(&req, out + 5);
    *len = n + 5;
    return out;
}

void sdb_reply_init(sdb_reply *r)
{
    r->http_status = 0;
    r->grpc_status = -1;
    r->ctype_grpc = r->ctype_seen = r->bad_header = r->overflow = 0;
    r->grpc_message[0] = '\0';
    r->body = r->small;
    r->body_len = 0;
    r->body_cap = sizeof r->small;
}

void sdb_reply_free(sdb_reply *r)
{
    if (r->body != r->small)
        free(r->body);
    r->body = r->small;
    r->body_cap = sizeof r->small;
    r->body_len = 0;
}

/* grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"); the
 * decoded text goes into a reason header, so anything but printable ASCII
 * becomes '?'. */
static void take_message(sdb_reply *r, const char *v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < SDB_MAX_GRPC_MESSAGE; i++) {
        unsigned char ch = (unsigned char)v[i];
        int hi = i + 2 < n ? str_hexval((unsigned char)v[i + 1]) : -1;
        int lo = i + 2 < n ? str_hexval((unsigned char)v[i + 2]) : -1;
        if (ch == '%' && hi >= 0 && lo >= 0) {
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        r->grpc_message[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    r->grpc_message[o] = '\0';
}

static int name_is(const char *name, size_t nlen, const char *want)
{
    return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

void sdb_reply_header(sdb_reply *r, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line (an informational answer came first): what
         * was seen belonged to that one. */
        size_t i = 5;
        while (i < len && line[i] != ' ')
            i++;
        while (i < len && line[i] == ' ')
            i++;
        long st = 0;
        size_t d = 0;
        for (; i < len && d < 3 && line[i] >= '0' && line[i] <= '9'; i++, d++)
            st = st * 10 + (line[i] - '0');
        r->http_status = d == 3 ? st : -1;
        r->grpc_status = -1;
        r->ctype_grpc = r->ctype_seen = r->bad_header = 0;
        r->grpc_message[0] = '\0';
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (name_is(line, nlen, "grpc-status")) {
        int code = 0;
        size_t i = 0;
        for (; i < vlen && i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
            code = code * 10 + (v[i] - '0');
        if (!vlen || i != vlen || r->grpc_status >= 0)
            r->bad_header = 1; /* empty, not a number, or said twice */
        else
            r->grpc_status = code;
    } else if (name_is(line, nlen, "grpc-message")) {
        take_message(r, v, vlen);
    } else if (name_is(line, nlen, "content-type")) {
        const size_t pl = sizeof "application/grpc" - 1;
        r->ctype_seen = 1;
        r->ctype_grpc = vlen >= pl && strncasecmp(v, "application/grpc", pl) == 0 &&
                        (vlen == pl || v[pl] == '+' || v[pl] == ';');
    }
}

int sdb_reply_body(sdb_reply *r, const void *p, size_t n)
{
    if (n > SDB_MAX_RESPONSE - r->body_len) {
        r->overflow = 1;
        return -1;
    }
    if (r->body_len + n > r->body_cap) {
        size_t cap = r->body_cap * 4;
        while (cap < r->body_len + n)
            cap *= 2;
        if (cap > SDB_MAX_RESPONSE)
            cap = SDB_MAX_RESPONSE;
        uint8_t *b = r->body == r->small ? malloc(cap) : realloc(r->body, cap);
        if (!b) {
            r->overflow = 1;
            return -1;
        }
        if (r->body == r->small)
            memcpy(b, r->small, r->body_len);
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

/* The code gRPC clients derive from an HTTP status without grpc-status
 * (gRPC's "HTTP to gRPC Status Code Mapping"). */
static int code_of_http(long st)
{
    switch (st) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
    }
}

static int fail(char *err, size_t errlen, int code, const char *desc)
{
    snprintf(err, errlen, RPC "%s desc = %s", sdb_code_name(code), desc);
    return -1;
}

static void copy_token(sdb_result *out, const char *t)
{
    size_t n = 0;
    /* ZedTokens are base64 text; anything else is cut at the first byte
     * that could not go into a header. */
    while (t[n] && n < SDB_MAX_TOKEN && (unsigned char)t[n] > 0x20 && (unsigned char)t[n] < 0x7f)
        n++;
    memcpy(out->token, t, n);
    out->token[n] = '\0';
    out->has_token = 1;
}

int sdb_reply_finish(const sdb_reply *r, sdb_result *out, char *err, size_t errlen)
{
    char desc[SDB_MAX_GRPC_MESSAGE + 96];
    out->permissionship = SDB_PERM_UNSPECIFIED;
    out->has_token = 0;
    out->token[0] = '\0';
    if (r->http_status != 200) {
        snprintf(desc, sizeof desc, "unexpected HTTP status code received from server: %ld",
                 r->http_status);
        return fail(err, errlen, r->http_status > 0 ? code_of_http(r->http_status) : 13, desc);
    }
    if (r->bad_header)
        return fail(err, errlen, 13, "malformed grpc-status in the answer");
    if (r->grpc_status > 0) {
        const char *name = sdb_code_name(r->grpc_status);
        if (name)
            snprintf(err, errlen, RPC "%s desc = %s", name, r->grpc_message);
        else
            snprintf(err, errlen, RPC "Code(%d) desc = %s", r->grpc_status, r->grpc_message);
        return -1;
    }
    if (!r->ctype_grpc) {
        return fail(err, errlen, 13, r->ctype_seen ? "transport: received unexpected content-type"
                                                   : "transport: no content-type in the answer");
    }
    /* Before the trailers: an answer stopped for its size has none. */
    if (r->overflow) {
        snprintf(desc, sizeof desc, "grpc: received message larger than max (%d)",
                 SDB_MAX_RESPONSE);
        return fail(err, errlen, 8, desc);
    }
    if (r->grpc_status < 0)
        return fail(err, errlen, 13, "server closed the stream without sending trailers");
    if (r->body_len < 5)
        return fail(err, errlen, 13, r->body_len ? "grpc: truncated message prefix"
                                                 : "grpc: no response message");
    const uint8_t *b = r->body;
    if (b[0] == 1)
        return fail(err, errlen, 13, "grpc: compressed message, none was asked for");
    if (b[0] != 0)
        return fail(err, errlen, 13, "grpc: invalid compressed-flag in the message prefix");
    size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    if (n > r->body_len - 5)
        return fail(err, errlen, 13, "grpc: truncated response message");
    if (n < r->body_len - 5)
        return fail(err, errlen, 13, "grpc: more than one response message");
    Authzed__Api__V1__CheckPermissionResponse *m =
        authzed__api__v1__check_permission_response__unpack(NULL, n, b + 5);
    if (!m)
        return fail(err, errlen, 13, "grpc: failed to unmarshal the received message");
    out->permissionship = (int)m->permissionship;
    if (m->checked_at)
        copy_token(out, m->checked_at->token ? m->checked_at->token : "");
    authzed__api__v1__check_permission_response__free_unpacked(m, NULL);
    return 0;
}
