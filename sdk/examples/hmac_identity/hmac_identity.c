/*
 * identity "hmacSignature": requests signed with a shared secret.
 *
 * The client sends
 *     date: Tue, 07 May 2024 10:00:00 GMT
 *     x-signature: keyId=<id>,signature=<base64 HMAC-SHA256>
 * where the MAC is taken under the secret of <id> over
 *     "<method>\n<path>\n<date header>"
 * The date binds the signature to a moment: requests whose date is further
 * than maxSkewSeconds from the server's clock are refused, which bounds how
 * long a captured request can be replayed.
 *
 * Config: {keys: {<id>: <secret>, ...}, maxSkewSeconds: 300}
 * Identity: {"keyId": "<id>"}
 *
 * Instances are read-only after create, so evaluate needs no locks.
 */
/* strdup is POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#define HS_DEFAULT_SKEW 300
#define HS_MAC_LEN 32

static const char hs_schema[] =
    "{\"type\":\"object\","
    " \"properties\":{"
    "  \"keys\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
    "  \"maxSkewSeconds\":{\"type\":\"integer\",\"minimum\":0,\"default\":300}},"
    " \"required\":[\"keys\"],"
    " \"additionalProperties\":false}";

typedef struct hs_key {
    char *id;
    unsigned char *secret;
    size_t secret_len;
} hs_key;

typedef struct hs_inst {
    const pc_host *host;
    hs_key *keys;
    size_t n_keys;
    int64_t max_skew_s;
} hs_inst;

/* ---- create / destroy ---- */

static void hs_destroy(void *instance)
{
    hs_inst *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_keys; i++) {
        free(in->keys[i].id);
        if (in->keys[i].secret) {
            /* Secrets should not linger in freed heap memory. */
            volatile unsigned char *p = in->keys[i].secret;
            for (size_t j = 0; j < in->keys[i].secret_len; j++)
                p[j] = 0;
        }
        free(in->keys[i].secret);
    }
    free(in->keys);
    free(in);
}

struct hs_load {
    hs_inst *in;
    char *err;
    size_t errlen;
};

static int hs_add_key(void *arg, const char *id, const pc_value *val)
{
    struct hs_load *ld = arg;
    hs_inst *in = ld->in;
    size_t len = 0;
    const char *secret = in->host->value_string(val, &len);
    if (!secret || len == 0) {
        snprintf(ld->err, ld->errlen, "keys.%s: the secret must be a non-empty string", id);
        return 1;
    }
    hs_key *k = &in->keys[in->n_keys];
    k->id = strdup(id);
    k->secret = malloc(len);
    if (!k->id || !k->secret) {
        free(k->id);
        free(k->secret);
        snprintf(ld->err, ld->errlen, "out of memory");
        return 1;
    }
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    in->n_keys++;
    return 0;
}

static void *hs_create(const pc_host *host, pc_create_ctx *cc,
                       const pc_value *config, char *err, size_t errlen)
{
    (void)cc;
    hs_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    in->max_skew_s = HS_DEFAULT_SKEW;

    const pc_value *skew = host->value_get(config, "maxSkewSeconds");
    if (skew) {
        if (host->value_type(skew) != PC_TYPE_INT || host->value_int(skew) < 0) {
            snprintf(err, errlen, "maxSkewSeconds must be a non-negative integer");
            hs_destroy(in);
            return NULL;
        }
        in->max_skew_s = host->value_int(skew);
    }

    const pc_value *keys = host->value_get(config, "keys");
    size_t n = keys ? host->value_length(keys) : 0;
    if (!keys || host->value_type(keys) != PC_TYPE_OBJECT || n == 0) {
        snprintf(err, errlen, "keys must map at least one key id to its secret");
        hs_destroy(in);
        return NULL;
    }
    in->keys = calloc(n, sizeof *in->keys);
    if (!in->keys) {
        snprintf(err, errlen, "out of memory");
        hs_destroy(in);
        return NULL;
    }
    struct hs_load ld = {in, err, errlen};
    if (host->value_foreach(keys, hs_add_key, &ld) != 0) {
        hs_destroy(in);
        return NULL;
    }
    return in;
}

/* ---- parsing ---- */

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes standard or URL-safe base64, padding optional. Returns the number
 * of bytes written or -1 when the text is not base64 or does not fit. */
static long b64_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}

/* Splits "keyId=<id>,signature=<b64>" (either order, spaces allowed after
 * commas). Points into s; returns 0 when both parts are present. */
static int parse_sig_header(const char *s, const char **id, size_t *id_len,
                            const char **sig, size_t *sig_len)
{
    *id = *sig = NULL;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > 6 && strncmp(s, "keyId=", 6) == 0) {
            *id = s + 6;
            *id_len = n - 6;
        } else if (n > 10 && strncmp(s, "signature=", 10) == 0) {
            *sig = s + 10;
            *sig_len = n - 10;
        }
        if (!end)
            break;
        s = end + 1;
    }
    return *id && *sig ? 0 : -1;
}

static int month_index(const char *m)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(m, names + 3 * i, 3) == 0)
            return i + 1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no timegm or locale is involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses RFC 7231's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", into
 * Unix seconds. The obsolete RFC 850 and asctime forms are refused: a
 * signing client chooses its format, and one form keeps the MAC input
 * unambiguous. */
static int parse_http_date(const char *s, size_t len, int64_t *out)
{
    int day, year, hh, mm, ss, mon;
    if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strncmp(s + 25, " GMT", 4))
        return -1;
    if (digits(s + 5, 2, &day) || digits(s + 12, 4, &year) || digits(s + 17, 2, &hh) ||
        digits(s + 20, 2, &mm) || digits(s + 23, 2, &ss))
        return -1;
    mon = month_index(s + 8);
    if (!mon || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    *out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

/* ---- evaluate ---- */

static const char *req_str(const pc_host *h, const pc_value *http, const char *key,
                           size_t *len)
{
    const pc_value *v = h->value_get(http, key);
    return v ? h->value_string(v, len) : NULL;
}

static const hs_key *find_key(const hs_inst *in, const char *id, size_t id_len)
{
    for (size_t i = 0; i < in->n_keys; i++)
        if (strlen(in->keys[i].id) == id_len && memcmp(in->keys[i].id, id, id_len) == 0)
            return &in->keys[i];
    return NULL;
}

static pc_status hs_evaluate(void *instance, pc_eval *ev)
{
    const hs_inst *in = instance;
    const pc_host *h = in->host;
    /* request.{method,path,headers}: Authorino's well-known attributes. */
    const pc_value *http = h->value_get(h->eval_root(ev), "request");
    const pc_value *headers = h->value_get(http, "headers");
    size_t method_len = 0, path_len = 0, date_len = 0, sig_hdr_len = 0;
    const char *method = req_str(h, http, "method", &method_len);
    const char *path = req_str(h, http, "path", &path_len);
    const char *date = req_str(h, headers, "date", &date_len);
    const char *sig_hdr = req_str(h, headers, "x-signature", &sig_hdr_len);

    if (!sig_hdr) {
        h->eval_set_reason(ev, "missing x-signature header");
        return PC_DENY;
    }
    const char *id, *sig;
    size_t id_len, sig_len;
    if (parse_sig_header(sig_hdr, &id, &id_len, &sig, &sig_len) < 0) {
        h->eval_set_reason(ev, "malformed x-signature header");
        return PC_DENY;
    }
    int64_t when;
    if (!date || parse_http_date(date, date_len, &when) < 0) {
        h->eval_set_reason(ev, "missing or malformed date header");
        return PC_DENY;
    }
    int64_t now = h->realtime_ns() / 1000000000;
    int64_t skew = now > when ? now - when : when - now;
    if (skew > in->max_skew_s) {
        h->eval_set_reason(ev, "date header is %lld s away from the server clock",
                           (long long)skew);
        return PC_DENY;
    }

    unsigned char given[HS_MAC_LEN + 3];
    long given_len = b64_decode(sig, sig_len, given, sizeof given);
    const hs_key *key = find_key(in, id, id_len);
    /* Unknown keys and wrong MACs get one reason, so the answer does not
     * tell which key ids exist. */
    if (!key || given_len != HS_MAC_LEN) {
        h->eval_set_reason(ev, "invalid signature");
        return PC_DENY;
    }

    size_t msg_len = method_len + path_len + date_len + 2;
    char *msg = malloc(msg_len + 1);
    if (!msg || !method || !path) {
        free(msg);
        h->eval_set_reason(ev, msg ? "request has no method or path" : "out of memory");
        return PC_ERROR;
    }
    snprintf(msg, msg_len + 1, "%s\n%s\n%s", method, path, date);
    uint8_t mac[HS_MAC_LEN];
    h->hmac_sha256(key->secret, key->secret_len, msg, msg_len, mac);
    free(msg);
    if (!h->ct_equal(mac, given, HS_MAC_LEN)) {
        h->eval_set_reason(ev, "invalid signature");
        return PC_DENY;
    }

    pc_value *obj = h->value_new_object(ev);
    pc_value *kid = h->value_new_string(ev, key->id, strlen(key->id));
    if (!obj || !kid || h->value_set(obj, "keyId", kid) != PC_OK) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    h->eval_set_output(ev, obj);
    return PC_OK;
}

static const pc_evaluator_type hs_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_IDENTITY,
    .name = "hmacSignature",
    .config_schema = hs_schema,
    .challenge = "Signature",
    .create = hs_create,
    .destroy = hs_destroy,
    .evaluate = hs_evaluate,
};

static const pc_evaluator_type *const hs_types[] = {&hs_type, NULL};

PC_PLUGIN_DEFINE("hmac_identity", "1.0.0",
                 "Identity from an HMAC-SHA256 request signature (x-signature)",
                 hs_types, NULL)
