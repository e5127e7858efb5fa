/* trace_ctx.c - the W3C traceparent and tracestate grammars. */
#include <string.h>
#include "trace_ctx.h"

static int hexval(char c)
{
    /* Lowercase only: W3C makes uppercase hex invalid in traceparent. */
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int trace_id_is_zero(const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (id[i])
            return 0;
    return 1;
}

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

int trace_parse_traceparent(const char *s, size_t n, trace_ctx *out)
{
    if (!s)
        return -1;
    while (n && ows(*s))
        s++, n--;
    while (n && ows(s[n - 1]))
        n--;
    if (n < TRACE_PARENT_LEN)
        return -1;
    uint8_t version;
    if (hex_bytes(s, &version, 1) < 0 || version == 0xff)
        return -1;
    if (version == 0 && n != TRACE_PARENT_LEN)
        return -1;
    /* A later version may add fields, after another dash. */
    if (n > TRACE_PARENT_LEN && s[TRACE_PARENT_LEN] != '-')
        return -1;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    trace_ctx c;
    if (hex_bytes(s + 3, c.trace_id, 16) < 0 || hex_bytes(s + 36, c.span_id, 8) < 0 ||
        hex_bytes(s + 53, &c.flags, 1) < 0)
        return -1;
    if (trace_id_is_zero(c.trace_id, 16) || trace_id_is_zero(c.span_id, 8))
        return -1;
    *out = c;
    return 0;
}

static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key
 * simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 * multi-tenant-key = tenant-id "@" system-id
 * tenant-id = ( lcalpha / DIGIT ) 0*240( ... ); system-id = lcalpha 0*13( ... ) */
static int valid_key(const char *k, size_t n)
{
    if (n == 0 || n > 256)
        return 0;
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (!(k[0] >= 'a' && k[0] <= 'z'))
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i]))
                return 0;
        return 1;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn == 0 || tn > 241 || sn == 0 || sn > 14)
        return 0;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
        return 0;
    for (size_t i = 1; i < tn; i++)
        if (!key_char(k[i]))
            return 0;
    if (!(at[1] >= 'a' && at[1] <= 'z'))
        return 0;
    for (size_t i = 1; i < sn; i++)
        if (!key_char(at[1 + i]))
            return 0;
    return 1;
}

/* value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E;
 * chr = %x20 / nblk-chr */
static int valid_value(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

int trace_check_tracestate(const char *s, size_t n)
{
    if (!s || n > TRACE_STATE_MAX)
        return -1;
    struct { const char *k; size_t n; } keys[32];
    size_t nkeys = 0;
    const char *p = s, *end = s + n;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *a = p, *b = stop;
        while (a < b && ows(*a))
            a++;
        while (b > a && ows(b[-1]))
            b--;
        if (a < b) { /* empty members are allowed and skipped */
            const char *eq = memchr(a, '=', (size_t)(b - a));
            if (!eq || !valid_key(a, (size_t)(eq - a)) ||
                !valid_value(eq + 1, (size_t)(b - eq - 1)))
                return -1;
            if (nkeys == 32)
                return -1;
            size_t kn = (size_t)(eq - a);
            for (size_t i = 0; i < nkeys; i++)
                if (keys[i].n == kn && memcmp(keys[i].k, a, kn) == 0)
                    return -1;
            keys[nkeys].k = a;
            keys[nkeys].n = kn;
            nkeys++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static void put_hex(char *o, const uint8_t *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hx[b[i] >> 4];
        o[2 * i + 1] = hx[b[i] & 15];
    }
}

size_t trace_format_traceparent(const trace_ctx *c, char *out)
{
    memcpy(out, "00-", 3);
    put_hex(out + 3, c->trace_id, 16);
    out[35] = '-';
    put_hex(out + 36, c->span_id, 8);
    out[52] = '-';
    put_hex(out + 53, &c->flags, 1);
    out[TRACE_PARENT_LEN] = '\0';
    return TRACE_PARENT_LEN;
}
