#include "index/hostidx.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"
#include "util/strmap.h"

/* Exact hosts are keyed by the lowercased host; wildcards "*.example.com" by
 * their suffix "example.com", so a lookup walks the host's dots from the left
 * (most specific suffix first) with one hash probe per label. */
struct hostidx {
    strmap *exact;
    strmap *wild;
    void *any;
    size_t count;
};

enum host_kind { HOST_INVALID = -1, HOST_EXACT, HOST_WILDCARD, HOST_ANY };

hostidx *hostidx_new(void)
{
    hostidx *idx = calloc(1, sizeof *idx);
    if (!idx)
        return NULL;
    idx->exact = strmap_new(0);
    idx->wild = strmap_new(0);
    if (!idx->exact || !idx->wild) {
        hostidx_free(idx);
        return NULL;
    }
    return idx;
}

void hostidx_free(hostidx *idx)
{
    if (!idx)
        return;
    strmap_free(idx->exact, NULL);
    strmap_free(idx->wild, NULL);
    free(idx);
}

size_t hostidx_count(const hostidx *idx)
{
    return idx ? idx->count : 0;
}

static void lower_copy(char *dst, const char *src, size_t len)
{
    str_lower(dst, src, len);
    dst[len] = '\0';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of s without a trailing ":port", or len when there is none.
 * "[::1]:8000" -> "[::1]"; "::1", "[::1]" and "fe80::1" keep their length
 * because a bare IPv6 literal cannot carry a port without brackets. */
static size_t strip_port(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && is_digit(s[i - 1]))
        i--;
    size_t digits = len - i;
    if (digits == 0 || digits > 5 || i < 2 || s[i - 1] != ':')
        return len;
    size_t c = i - 1; /* the ':' */
    if (s[0] == '[')
        return s[c - 1] == ']' ? c : len;
    if (memchr(s, ':', c))
        return len;
    return c;
}

/* A plain (non-wildcard) host: labels separated by single dots, an optional
 * ":port", or a bracketed IPv6 literal with an optional port. Characters that
 * never appear in a host (spaces, controls, '/', '*', ...) are refused, which
 * also catches URLs given where a host belongs. */
static int valid_plain(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.')
        return 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close == s + 1)
            return 0;
        size_t after = (size_t)(close - s) + 1;
        if (after != len && strip_port(s, len) != after)
            return 0;
        /* An IPv6 address (hex, ':' and an embedded IPv4 part), then an
         * optional "%zone" naming an interface. */
        int zone = 0;
        for (size_t i = 1; i < after - 1; i++) {
            char c = s[i];
            if (c == '%' && !zone && i > 1) {
                zone = 1;
                continue;
            }
            int ok = is_digit(c) || c == '.' ||
                     (zone ? ((c >= 'a' && c <= 'z') || c == '-' || c == '_')
                           : ((c >= 'a' && c <= 'f') || c == ':'));
            if (!ok)
                return 0;
        }
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
        switch (c) {
        case '*': case '[': case ']': case '/': case '\\': case '?': case '#': case '@':
            return 0;
        }
        if (c == '.' && i + 1 < len && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

static enum host_kind classify(const char *s, size_t len)
{
    if (len == 1 && s[0] == '*')
        return HOST_ANY;
    if (len > 2 && s[0] == '*' && s[1] == '.')
        return (s[2] != '[' && valid_plain(s + 2, len - 2)) ? HOST_WILDCARD : HOST_INVALID;
    return valid_plain(s, len) ? HOST_EXACT : HOST_INVALID;
}

int hostidx_add(hostidx *idx, const char *host, void *value, void **existing)
{
    if (!idx || !host || !value)
        return -1;
    size_t len = strlen(host);
    if (len == 0 || len > HOSTIDX_MAX_HOST)
        return -1;
    char buf[HOSTIDX_MAX_HOST + 1];
    lower_copy(buf, host, len);

    enum host_kind kind = classify(buf, len);
    if (kind == HOST_INVALID)
        return -1;
    if (kind == HOST_ANY) {
        if (idx->any) {
            if (existing)
                *existing = idx->any;
            return 1;
        }
        idx->any = value;
        idx->count++;
        return 0;
    }

    strmap *map = kind == HOST_EXACT ? idx->exact : idx->wild;
    const char *key = kind == HOST_EXACT ? buf : buf + 2;
    size_t klen = kind == HOST_EXACT ? len : len - 2;
    int rc = strmap_addn(map, key, klen, value, existing);
    if (rc == 0)
        idx->count++;
    return rc;
}

static void *match(const hostidx *idx, const char *s, size_t len)
{
    void *v = strmap_getn(idx->exact, s, len);
    if (v)
        return v;
    /* Dots from the left give suffixes from the most to the least specific.
     * A dot at 0 would leave an empty label in front of the wildcard. */
    for (size_t i = 1; i + 1 < len; i++) {
        if (s[i] != '.')
            continue;
        v = strmap_getn(idx->wild, s + i + 1, len - i - 1);
        if (v)
            return v;
    }
    return idx->any;
}

void *hostidx_lookup(const hostidx *idx, const char *host, size_t len)
{
    if (!idx || (!host && len) || len > HOSTIDX_MAX_HOST)
        return NULL;
    char buf[HOSTIDX_MAX_HOST + 1];
    lower_copy(buf, host ? host : "", len);
    void *v = match(idx, buf, len);
    if (v)
        return v;
    size_t plen = strip_port(buf, len);
    if (plen == len)
        return NULL;
    return match(idx, buf, plen);
}
