/* wb_docs.c - the fixed JSON of an issuer, built once per instance: the
 * JOSE header of its tokens, its OpenID Connect discovery document and its
 * key set. No I/O and no host services, so the unit suite checks them
 * against the keys directly. */
#include <string.h>
#include "wb.h"

char *wb_header_b64(const wb_key *k)
{
    /* {"alg","kid","typ"}: the header golang-jwt writes, keys sorted. */
    buf hdr, b64;
    buf_init_max(&hdr, 4096);
    buf_init_max(&b64, 8192);
    buf_puts(&hdr, "{\"alg\":\"");
    buf_puts(&hdr, wb_key_alg(k));
    buf_puts(&hdr, "\",\"kid\":");
    wb_json_str(&hdr, wb_key_kid(k), strlen(wb_key_kid(k)));
    buf_puts(&hdr, ",\"typ\":\"JWT\"}");
    if (!hdr.failed)
        hc_buf_base64url(&b64, (const unsigned char *)hdr.data, hdr.len);
    char *out = hdr.failed || b64.failed ? NULL : hc_strdup(b64.data);
    buf_wipe(&hdr);
    buf_wipe(&b64);
    return out;
}

int wb_docs_build(const char *issuer, wb_key *const *keys, size_t n_keys, buf *disc,
                  buf *jwks)
{
    buf_puts(disc, "{\"issuer\":");
    wb_json_str(disc, issuer, strlen(issuer));
    buf_puts(disc, ",\"jwks_uri\":");
    size_t il = strlen(issuer);
    while (il && issuer[il - 1] == '/')
        il--;
    buf jwks_uri;
    buf_init_max(&jwks_uri, 4096);
    buf_append(&jwks_uri, issuer, il);
    buf_puts(&jwks_uri, "/.well-known/openid-connect/certs");
    wb_json_str(disc, jwks_uri.data ? jwks_uri.data : "", jwks_uri.len);
    int rc = jwks_uri.failed ? -1 : 0;
    buf_wipe(&jwks_uri);
    buf_puts(disc, ",\"id_token_signing_alg_values_supported\":"
                      "[\"ES256\",\"ES384\",\"ES512\",\"RS256\",\"RS384\",\"RS512\"]}");
    buf_puts(jwks, "{\"keys\":[");
    for (size_t i = 0; i < n_keys && !rc; i++) {
        if (i)
            buf_puts(jwks, ",");
        rc = wb_key_jwk(keys[i], jwks);
    }
    buf_puts(jwks, "]}");
    return rc || disc->failed || jwks->failed ? -1 : 0;
}
