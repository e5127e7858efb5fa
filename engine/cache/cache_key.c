/* cache_key.c - cache keys: HMAC-SHA256 under a random per-process key, so
 * no raw token is ever stored and a 1 MB key costs 32 bytes. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "cache.h"
#include "util/thread_exit.h"

static uint8_t g_hkey[32];
static pthread_once_t g_hkey_once = PTHREAD_ONCE_INIT;

static void hkey_init(void)
{
    if (RAND_bytes(g_hkey, sizeof g_hkey) != 1) {
        /* No entropy from OpenSSL: fall back to the kernel directly. */
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(g_hkey, 1, sizeof g_hkey, f) != sizeof g_hkey)
            abort(); /* a guessable key would expose cached tokens */
        fclose(f);
    }
}

/* One HMAC context per thread, keyed once: the one-shot HMAC() looks the
 * digest up and sets the key on every call. */
static _Thread_local EVP_MAC_CTX *t_mac;

static void free_mac(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
}

static EVP_MAC_CTX *thread_mac(void)
{
    if (t_mac)
        return t_mac;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (ctx && EVP_MAC_init(ctx, g_hkey, sizeof g_hkey, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    if (ctx)
        thread_at_exit(free_mac, ctx);
    return t_mac = ctx;
}

void cache_key_init(void)
{
    pthread_once(&g_hkey_once, hkey_init);
}

void cache_key_hash(const void *key, size_t len, uint8_t out[32])
{
    cache_key_init();
    EVP_MAC_CTX *ctx = thread_mac();
    size_t olen = 0;
    if (ctx && EVP_MAC_init(ctx, NULL, 0, NULL) == 1 &&
        EVP_MAC_update(ctx, key, len) == 1 &&
        EVP_MAC_final(ctx, out, &olen, 32) == 1 && olen == 32)
        return;
    unsigned int ol = 32;
    HMAC(EVP_sha256(), g_hkey, sizeof g_hkey, key, len, out, &ol);
}
