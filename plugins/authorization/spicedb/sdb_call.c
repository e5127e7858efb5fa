/* sdb_call.c - one unary gRPC call: over TLS with libcurl (ALPN h2,
 * verified), or in plaintext HTTP/2 through sdb_h2c.c; the framed request
 * as the POST body, and the answer's status line, headers, body and
 * trailers fed to sdb_wire's judge. Runs on a worker thread; libcurl
 * handles (and so connections) are pooled per evaluator. */
#include <stdio.h>
#include <string.h>
#include "sdb.h"

#define DEADLINE "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
#define CANCELED "rpc error: code = Canceled desc = context canceled"

typedef struct xfer {
    sdb_reply reply;
    const pc_host *host;
    pc_eval *ev;
    int cancelled;
} xfer;

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    xfer *x = arg;
    sdb_reply_header(&x->reply, p, sz * n);
    return sz * n;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    xfer *x = arg;
    return sdb_reply_body(&x->reply, p, sz * n) == 0 ? sz * n : 0;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = arg;
    if (x->host->eval_cancelled(x->ev))
        x->cancelled = 1;
    return x->cancelled;
}

static CURL *take_handle(sdb_inst *in)
{
    CURL *c = NULL;
    pthread_mutex_lock(&in->pool_mu);
    if (in->n_pool)
        c = in->pool[--in->n_pool];
    pthread_mutex_unlock(&in->pool_mu);
    return c ? c : curl_easy_init();
}

static void give_handle(sdb_inst *in, CURL *c)
{
    pthread_mutex_lock(&in->pool_mu);
    if (in->n_pool < SDB_POOL_MAX) {
        in->pool[in->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&in->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

void sdb_pool_drain(sdb_inst *in)
{
    for (size_t i = 0; i < in->n_pool; i++)
        curl_easy_cleanup(in->pool[i]);
    in->n_pool = 0;
    sdb_h2c_drain(in);
}

/* The time this call may take: the evaluator's timeout, cut to what is
 * left of the evaluation's deadline; 0 when nothing is left. */
static int64_t budget_ms(const sdb_inst *in, pc_eval *ev)
{
    const pc_host *h = in->host;
    int64_t t = in->timeout_ms;
    int64_t dl = h->eval_deadline_ns(ev);
    if (dl) {
        int64_t left = (dl - h->monotonic_ns()) / 1000000;
        if (left <= 0)
            return 0;
        if (!t || left < t)
            t = left;
    }
    /* No timeout and no deadline: still bounded. */
    return t ? t : 60000;
}

static void set_options(sdb_inst *in, CURL *c, xfer *x, const uint8_t *body, size_t len,
                        struct curl_slist *hdrs, int64_t ms)
{
    curl_easy_setopt(c, CURLOPT_URL, in->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (in->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, in->ca_file);
    if (in->ca_path)
        curl_easy_setopt(c, CURLOPT_CAPATH, in->ca_path);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

/* A transport failure in grpc-go's words, so reasons read as Authorino's. */
static void transport_reason(const pc_host *h, pc_eval *ev, CURLcode rc, const xfer *x)
{
    if (x->cancelled)
        h->eval_set_reason(ev, CANCELED);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        h->eval_set_reason(ev, DEADLINE);
    else if (rc == CURLE_WRITE_ERROR && x->reply.overflow)
        h->eval_set_reason(ev, "rpc error: code = ResourceExhausted desc = grpc: received "
                               "message larger than max (%d)", SDB_MAX_RESPONSE);
    else
        h->eval_set_reason(ev, "rpc error: code = Unavailable desc = connection error: %s",
                           curl_easy_strerror(rc));
}

static pc_status judge(const pc_host *h, pc_eval *ev, sdb_reply *r, sdb_result *res)
{
    char err[SDB_MAX_GRPC_MESSAGE + 128];
    if (sdb_reply_finish(r, res, err, sizeof err) < 0) {
        h->eval_set_reason(ev, "%s", err);
        return PC_ERROR;
    }
    return PC_OK;
}

static pc_status call_h2c(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len,
                          int64_t ms, const char *tval, sdb_result *res)
{
    const pc_host *h = in->host;
    sdb_reply reply;
    sdb_reply_init(&reply);
    char why[160] = "";
    int fail = SDB_FAIL_CONN;
    pc_status st = sdb_h2c_call(in, ev, body, len, ms, tval, &reply, why, sizeof why, &fail);
    if (st == PC_OK)
        st = judge(h, ev, &reply, res);
    else if (fail == SDB_FAIL_TIMEOUT)
        h->eval_set_reason(ev, DEADLINE);
    else if (fail == SDB_FAIL_CANCEL)
        h->eval_set_reason(ev, CANCELED);
    else
        h->eval_set_reason(ev, "rpc error: code = Unavailable desc = connection error: %s", why);
    sdb_reply_free(&reply);
    return st;
}

pc_status sdb_call(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len, sdb_result *res)
{
    const pc_host *h = in->host;
    int64_t ms = budget_ms(in, ev);
    if (!ms) {
        h->eval_set_reason(ev, DEADLINE);
        return PC_ERROR;
    }
    /* The server gives up when the client would (gRPC's grpc-timeout). */
    char tval[24];
    snprintf(tval, sizeof tval, "%lldm", (long long)ms);
    if (in->insecure)
        return call_h2c(in, ev, body, len, ms, tval, res);
    /* A header node of our own in front of the instance's fixed list. */
    char tline[40];
    snprintf(tline, sizeof tline, "grpc-timeout: %s", tval);
    struct curl_slist tnode = {tline, in->headers};
    CURL *c = take_handle(in);
    if (!c) {
        h->eval_set_reason(ev, "spicedb: cannot create an HTTP/2 client");
        return PC_ERROR;
    }
    xfer x = {.host = h, .ev = ev};
    sdb_reply_init(&x.reply);
    set_options(in, c, &x, body, len, &tnode, ms);
    CURLcode rc = curl_easy_perform(c);
    long version = 0;
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    /* Nothing of this request may outlive it in the pooled handle. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    pc_status st = PC_ERROR;
    if (rc != CURLE_OK) {
        transport_reason(h, ev, rc, &x);
        curl_easy_cleanup(c);
        c = NULL;
    } else if (version != CURL_HTTP_VERSION_2_0) {
        /* gRPC is HTTP/2 only; a TLS server that chose HTTP/1.1 in ALPN
         * is not a gRPC server. */
        h->eval_set_reason(ev, "rpc error: code = Unavailable desc = connection error: the "
                               "server did not agree to HTTP/2");
    } else {
        st = judge(h, ev, &x.reply, res);
    }
    sdb_reply_free(&x.reply);
    if (c)
        give_handle(in, c);
    return st;
}
