/* fuzz_x509 - the x509 identity's request-side parsers: the first byte
 * picks the source (X: an x-forwarded-client-cert header, C: a Client-Cert
 * header, RFC 9440 or URL-encoded PEM; anything else: source.certificate),
 * the rest is the value. What comes out is parsed as PEM, verified against
 * an empty store and, when it parses, rendered as the subject identity. */
#include "doc/doc.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/x509_vfy.h>
#include "eval/evalctx.h"
#include "host/hostimpl.h"
#include "x509_source.h"
#include "x509_subject.h"
#include "x509_trust.h"

static X509_STORE *fx_store;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const pc_host *h = host_table();
    if (!fx_store && !(fx_store = X509_STORE_new()))
        abort();
    if (size < 1)
        return 0;
    x509src src = {.kind = X509SRC_PEER};
    if (data[0] == 'X' || data[0] == 'C') {
        src.kind = data[0] == 'X' ? X509SRC_XFCC : X509SRC_CLIENT_CERT;
        strcpy(src.header, "h");
        strcpy(src.shown, "H");
    }
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    struct arena *a = &rq.mem;
    doc *root = doc_new_object(a, 0), *req = doc_new_object(a, 0), *hs = doc_new_object(a, 0);
    doc *source = doc_new_object(a, 0);
    doc *val = doc_new_str(a, (const char *)data + 1, size - 1);
    if (!root || !req || !hs || !source || !val)
        abort();
    doc_set(a, hs, "h", 1, val);
    doc_set(a, req, "headers", 7, hs);
    doc_set(a, root, "request", 7, req);
    doc_set(a, source, "certificate", 11, val);
    doc_set(a, root, "source", 6, source);
    evalctx_init(&ev, &rq, root, NULL);
    struct arena *was = evalctx_enter(a);
    char *pem = NULL, why[256];
    size_t len = 0;
    int rc = x509src_pem(h, &ev, &src, &pem, &len, why, sizeof why);
    if (rc == 0) {
        if (!pem || strlen(pem) > len)
            abort();
        STACK_OF(X509) *chain = NULL;
        X509 *leaf = x509t_parse_client(pem, len, &chain);
        if (leaf) {
            if (x509t_verify(fx_store, leaf, chain, 1700000000, NULL, why, sizeof why) == 0)
                abort(); /* nothing is trusted */
            x509s_identity(h, &ev, leaf);
            X509_free(leaf);
        }
        sk_X509_pop_free(chain, X509_free);
        free(pem);
    } else if (pem) {
        abort();
    }
    evalctx_enter(was);
    evalctx_done(&ev);
    reqctx_clear(&rq);
    return 0;
}
