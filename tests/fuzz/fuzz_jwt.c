/* fuzz_jwt - the jwt identity's parsers: a JWKS document (first byte 'K')
 * or a token checked against a fixed key set (any other first byte): JWK
 * decoding, the JWS split, base64url, header and claim checks and the
 * signature paths of every algorithm. The key set's refresher is replaced
 * by a fixed set here (no network). */
#include <stdlib.h>
#include <string.h>
#include "eval/evalctx.h"
#include "host/hostimpl.h"
#include "jwt_token.h"

/* The keys of the seed tokens in corpus/fuzz_jwt (RS256, ES256, ES512,
 * EdDSA, and an RSA key without alg). */
static const char fj_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"yBJI9caQ80u8NFHncGNrDn0TT9YbPvxfk_Lawdp9ituvr"
    "f6qXKhegfCawFBebBkUNHA3NpdU1rRbLMF-jfnhBfz3ci8HJNKEvN_Vlpj3O8NOlkhVeZjy9"
    "AAHk898LUYjsP6Pzl-Z4t3XR4H2BJtmGEDQPw7pOEjGiQqBRyXhohGmsDva0KO9HUzrZae58"
    "uX7dEzrJ6ZHPB6pvXjyhhpx8Vk8Yrg4rrkVt8DVokXqichN0-TlDl-w61PgMBCO0hHuzV1c5"
    "y8kZGfCH0F1iUVCrtTcVRFhz7HLH8oSJo9r1acejn4sRiChVlnn1fVmVFh4aQurWCxA6wgpf"
    "Onzj8XfDQ\",\"e\":\"AQAB\",\"kid\":\"rs-1\",\"use\":\"sig\",\"alg\":\"RS256\"},{\"kty\":\"EC"
    "\",\"crv\":\"P-256\",\"x\":\"FgZDhpg1NSiR2kxSgcML-vx62YK4aguxLqC4XyZ0_YI\",\"y\":\"a"
    "YQF73sO4-EXFf3gZLnIJTaxxHv7Z9gb4UJvnGrpork\",\"kid\":\"es-1\",\"use\":\"sig\",\"al"
    "g\":\"ES256\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AEWDwJEb1rasurp7eKqTbaUDOT"
    "kF38LA0ppnGhMxrJs\",\"kid\":\"ed-1\",\"use\":\"sig\",\"alg\":\"EdDSA\"},{\"kty\":\"EC\",\""
    "crv\":\"P-521\",\"x\":\"AGNcooGtAydSzbMzaOCjK2oBXCXFi6vza-Lr2pQzyAv3BWNFgUENGW"
    "8WOFlhTg7Ja_zjxo43HMjO17w4ajDCWIvM\",\"y\":\"Aa1LwQ12bh2yir1on1W8UC_BRIIFxd7"
    "UIedZLsey4GoCOz0zzJ24WGk9WGSuC3opqNs16gdgaBy-Kk9H1155Gd-C\",\"kid\":\"es5-1\""
    ",\"use\":\"sig\",\"alg\":\"ES512\"},{\"kty\":\"RSA\",\"kid\":\"noalg\",\"n\":\"yBJI9caQ80u8"
    "NFHncGNrDn0TT9YbPvxfk_Lawdp9ituvrf6qXKhegfCawFBebBkUNHA3NpdU1rRbLMF-jfnh"
    "Bfz3ci8HJNKEvN_Vlpj3O8NOlkhVeZjy9AAHk898LUYjsP6Pzl-Z4t3XR4H2BJtmGEDQPw7p"
    "OEjGiQqBRyXhohGmsDva0KO9HUzrZae58uX7dEzrJ6ZHPB6pvXjyhhpx8Vk8Yrg4rrkVt8DV"
    "okXqichN0-TlDl-w61PgMBCO0hHuzV1c5y8kZGfCH0F1iUVCrtTcVRFhz7HLH8oSJo9r1ace"
    "jn4sRiChVlnn1fVmVFh4aQurWCxA6wgpfOnzj8XfDQ\",\"e\":\"AQAB\"}]}";

static jwt_keyset *fj_keys;

jwt_keyset *jwt_refresh_keys(jwt_refresh *rf)
{
    (void)rf;
    return jwt_keyset_ref(fj_keys);
}

int jwt_refresh_demand(jwt_refresh *rf, const char *kid, size_t kid_len, int64_t deadline_ns)
{
    (void)rf, (void)kid, (void)kid_len, (void)deadline_ns;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const pc_host *h = host_table();
    if (!fj_keys) {
        size_t skipped = 0;
        char err[256];
        fj_keys = jwt_keyset_parse(h, fj_jwks, sizeof fj_jwks - 1, &skipped, err, sizeof err);
        if (!fj_keys || fj_keys->n != 5)
            abort();
    }
    if (size < 1)
        return 0;
    if (data[0] == 'K') {
        size_t skipped = 0;
        char err[256];
        jwt_keyset_unref(jwt_keyset_parse(h, (const char *)data + 1, size - 1, &skipped,
                                          err, sizeof err));
        return 0;
    }
    jwt_inst in = {.host = h, .issuer = (char *)(data[0] == 'I' ? "https://issuer.test" : NULL),
                   .timeout_ms = 100, .cache_ttl_ms = 60000};
    jwt_ask a = {.in = &in, .token = (const char *)data + 1, .token_len = size - 1};
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    pc_value *out = NULL;
    int64_t ttl = -1;
    pc_status st = jwt_token_fill(&a, &ev, &out, &ttl);
    if (st == PC_OK && (!out || ttl < 0 || ttl > in.cache_ttl_ms))
        abort();
    evalctx_done(&ev);
    reqctx_clear(&rq);
    return 0;
}
