/* The `http` callback (plugins/callback/http): its queue and sender threads
 * driven directly with a host whose http_fetch the suite controls (bound,
 * drops, order, draining, failures, shutdown with calls queued), then the
 * calls the plugin builds, sent through the engine to a loopback HTTP
 * server thread (url placeholders, method, bodies, headers, failures on
 * the counters), and its config errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include "cu_main.h"
#include "pc_testutil.h"
#include "metrics/metrics.h"
#include "cb.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a host whose http_fetch waits for permits ---- */
#define MAX_SEEN 256
static pc_host g_host;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_permits;         /* fetches allowed to return; < 0: all */
static char g_seen[MAX_SEEN][64];
static int g_n_seen;
static _Atomic uint64_t g_sent, g_failed, g_dropped, g_logs;
static const cb_counters g_counters = {(pc_counter *)&g_sent, (pc_counter *)&g_failed,
                                       (pc_counter *)&g_dropped};

static void fake_counter_add(pc_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add((_Atomic uint64_t *)c, n);
}

static void fake_log(pc_log_level level, const char *who, const char *fmt, ...)
{
    (void)level, (void)who, (void)fmt;
    atomic_fetch_add(&g_logs, 1);
}

/* Records the URL, waits for a permit, then answers by the URL: "/fail"
 * a transport error, "/500" and "/302" those statuses, else 200. */
static pc_status fake_fetch(const pc_http_request *req, long *status, char **body,
                            size_t *len, char *err, size_t errlen)
{
    pthread_mutex_lock(&g_mu);
    if (g_n_seen < MAX_SEEN)
        snprintf(g_seen[g_n_seen++], 64, "%s", req->url);
    pthread_cond_broadcast(&g_cv);
    while (g_permits == 0)
        pthread_cond_wait(&g_cv, &g_mu);
    if (g_permits > 0)
        g_permits--;
    pthread_mutex_unlock(&g_mu);
    *body = strdup("answer");
    *len = 6;
    if (strstr(req->url, "/fail")) {
        snprintf(err, errlen, "connection refused");
        return PC_ERROR;
    }
    *status = strstr(req->url, "/500") ? 500 : strstr(req->url, "/302") ? 302 : 200;
    return PC_OK;
}

static void fake_free(void *p) { free(p); }

static void fake_reset(int permits)
{
    g_host = *host_table();
    g_host.http_fetch = fake_fetch;
    g_host.counter_add = fake_counter_add;
    g_host.log = fake_log;
    g_host.free = fake_free;
    pthread_mutex_lock(&g_mu);
    g_permits = permits;
    g_n_seen = 0;
    pthread_mutex_unlock(&g_mu);
    g_sent = g_failed = g_dropped = g_logs = 0;
}

static void permit(int n)
{
    pthread_mutex_lock(&g_mu);
    g_permits = n < 0 ? -1 : g_permits + n;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

/* Waits (2 s at most) until n fetches have started. */
static int wait_seen(int n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 2;
    pthread_mutex_lock(&g_mu);
    int rc = 0;
    while (g_n_seen < n && rc == 0)
        rc = pthread_cond_timedwait(&g_cv, &g_mu, &dl);
    int ok = g_n_seen >= n;
    pthread_mutex_unlock(&g_mu);
    return ok;
}

static int wait_done(uint64_t n)
{
    for (int i = 0; i < 400 && g_sent + g_failed < n; i++)
        sleep_ms(5);
    return g_sent + g_failed == n;
}

/* A job as the plugin builds it: a URL and a header line, both heap. */
static cb_job *job(const char *fmt, int i)
{
    cb_job *j = calloc(1, sizeof *j);
    char url[64];
    snprintf(url, sizeof url, fmt, i);
    buf_init_max(&j->msg.url, 256);
    buf_init_max(&j->msg.body, 256);
    buf_puts(&j->msg.url, url);
    buf_puts(&j->msg.body, "{\"n\":1}");
    buf_init_max(&j->msg.lines[0], 256);
    buf_puts(&j->msg.lines[0], "X-Test: 1");
    j->msg.n_lines = 1;
    j->msg.ptrs[0] = j->msg.lines[0].data;
    j->msg.req = (pc_http_request){.struct_size = sizeof(pc_http_request), .method = "POST",
                                   .url = j->msg.url.data, .headers = j->msg.ptrs,
                                   .body = j->msg.body.data, .body_len = j->msg.body.len,
                                   .timeout_ms = 1000};
    return j;
}

static int seen_index(const char *url)
{
    for (int i = 0; i < g_n_seen; i++)
        if (!strcmp(g_seen[i], url))
            return i;
    return -1;
}

/* queueLimit bounds the waiting calls (not those being sent); the rest
 * are dropped and counted; the queue is first in, first out. */
static void test_bound_and_order(void)
{
    fake_reset(0);
    cb_queue q;
    CU_ASSERT_FATAL(cb_queue_start(&q, &g_host, "cb", &g_counters, 8) == 0);
    /* Four calls occupy the four senders, each blocked in its fetch. */
    for (int i = 0; i < CB_MAX_SENDERS; i++)
        CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", i)), 0);
    CU_ASSERT_FATAL(wait_seen(CB_MAX_SENDERS));
    CU_ASSERT_EQUAL(q.n_threads, CB_MAX_SENDERS);
    for (int i = 4; i < 12; i++)
        CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", i)), 0);
    CU_ASSERT_EQUAL(q.len, 8);
    CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", 12)), -1);
    CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", 13)), -1);
    CU_ASSERT_EQUAL(g_dropped, 2);
    CU_ASSERT_EQUAL(q.len, 8);
    CU_ASSERT(g_logs >= 1);
    /* One permit at a time: exactly one sender is free to take the next
     * call, so the calls start in the order they were queued. */
    for (int i = 0; i < 8; i++) {
        permit(1);
        CU_ASSERT_FATAL(wait_seen(CB_MAX_SENDERS + i + 1));
        char want[64];
        snprintf(want, sizeof want, "http://s/%d", CB_MAX_SENDERS + i);
        CU_ASSERT_STRING_EQUAL(g_seen[CB_MAX_SENDERS + i], want);
    }
    for (int i = 0; i < CB_MAX_SENDERS; i++) {
        char want[64];
        snprintf(want, sizeof want, "http://s/%d", i);
        CU_ASSERT(seen_index(want) >= 0 && seen_index(want) < CB_MAX_SENDERS);
    }
    CU_ASSERT_EQUAL(q.len, 0);
    permit(-1);
    CU_ASSERT(wait_done(12));
    CU_ASSERT_EQUAL(g_sent, 12);
    CU_ASSERT_EQUAL(seen_index("http://s/12"), -1);
    CU_ASSERT_EQUAL(seen_index("http://s/13"), -1);
    /* With room again, a call is taken. */
    CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", 14)), 0);
    CU_ASSERT(wait_done(13));
    cb_queue_stop(&q);
    CU_ASSERT_EQUAL(g_dropped, 2);
    CU_ASSERT_EQUAL(g_n_seen, 13);
}

/* Transport errors and statuses outside 2xx count as failed, 2xx as sent;
 * each failure is logged. */
static void test_failures(void)
{
    fake_reset(-1);
    cb_queue q;
    CU_ASSERT_FATAL(cb_queue_start(&q, &g_host, "cb", &g_counters, 64) == 0);
    static const char *urls[] = {"http://s/ok/%d", "http://s/500/%d", "http://s/fail/%d",
                                 "http://s/302/%d", "http://s/ok/%d"};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(cb_queue_push(&q, job(urls[i], i)), 0);
    CU_ASSERT(wait_done(5));
    CU_ASSERT_EQUAL(g_sent, 2);
    CU_ASSERT_EQUAL(g_failed, 3);
    CU_ASSERT_EQUAL(g_logs, 3);
    CU_ASSERT_EQUAL(g_dropped, 0);
    cb_queue_stop(&q);
    CU_ASSERT_EQUAL(g_dropped, 0);
}

/* The senders start on demand (none for a callback never used), never
 * more than CB_MAX_SENDERS, and drain everything queued. */
static void test_senders_on_demand(void)
{
    fake_reset(-1);
    cb_queue q;
    CU_ASSERT_FATAL(cb_queue_start(&q, &g_host, "cb", &g_counters, 1024) == 0);
    CU_ASSERT_EQUAL(q.n_threads, 0);
    cb_queue_stop(&q);
    CU_ASSERT_EQUAL(g_dropped, 0);
    CU_ASSERT_FATAL(cb_queue_start(&q, &g_host, "cb", &g_counters, 1024) == 0);
    for (int i = 0; i < 200; i++)
        CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", i)), 0);
    CU_ASSERT(wait_done(200));
    CU_ASSERT(q.n_threads >= 1 && q.n_threads <= CB_MAX_SENDERS);
    CU_ASSERT_EQUAL(g_sent, 200);
    CU_ASSERT_EQUAL(g_n_seen, 200);
    cb_queue_stop(&q);
}

static void *stopper(void *q)
{
    cb_queue_stop(q);
    return NULL;
}

/* Stopping with calls queued lets the calls in flight finish, drops and
 * counts the queued ones (freed: the sanitizer build checks for leaks),
 * and drops a call pushed meanwhile. */
static void test_stop_with_queued(void)
{
    fake_reset(0);
    cb_queue q;
    CU_ASSERT_FATAL(cb_queue_start(&q, &g_host, "cb", &g_counters, 32) == 0);
    for (int i = 0; i < CB_MAX_SENDERS + 20; i++)
        CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/%d", i)), 0);
    CU_ASSERT_FATAL(wait_seen(CB_MAX_SENDERS));
    CU_ASSERT_EQUAL(q.len, 20);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, stopper, &q) == 0);
    int stopping = 0;
    for (int i = 0; i < 400 && !stopping; i++) {
        pthread_mutex_lock(&q.mu);
        stopping = q.stopping;
        pthread_mutex_unlock(&q.mu);
        if (!stopping)
            sleep_ms(5);
    }
    CU_ASSERT_FATAL(stopping);
    CU_ASSERT_EQUAL(cb_queue_push(&q, job("http://s/late/%d", 0)), -1);
    CU_ASSERT_EQUAL(g_dropped, 1);
    permit(-1);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(g_sent, CB_MAX_SENDERS);
    CU_ASSERT_EQUAL(g_dropped, 21);
    CU_ASSERT_EQUAL(g_n_seen, CB_MAX_SENDERS);
    CU_ASSERT_TRUE(list_empty(&q.jobs));
    CU_ASSERT_EQUAL(q.len, 0);
    CU_ASSERT_EQUAL(q.started, 0);
}

/* ---- a loopback HTTP server ---- */
#define SRV_MAX 16
typedef struct srv_req {
    char head[4096];
    char body[4096];
} srv_req;

static struct {
    int fd, port, stop;
    pthread_t t;
    pthread_mutex_t mu;
    srv_req reqs[SRV_MAX];
    int n;
} g_srv = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void srv_one(int c)
{
    char raw[8192];
    size_t len = 0;
    char *end = NULL;
    struct pollfd p = {c, POLLIN, 0};
    while (!(end = memmem(raw, len, "\r\n\r\n", 4)) && len < sizeof raw - 1) {
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t r = recv(c, raw + len, sizeof raw - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
    }
    if (!end)
        return;
    raw[len] = '\0';
    size_t hl = (size_t)(end - raw) + 4, cl = 0;
    for (char *h = raw; h && h < end; h = strstr(h, "\r\n"), h = h ? h + 2 : NULL)
        if (!strncasecmp(h, "content-length:", 15))
            cl = strtoul(h + 15, NULL, 10);
    while (len < hl + cl && len < sizeof raw - 1) {
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t r = recv(c, raw + len, sizeof raw - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
    }
    raw[len] = '\0';
    int fail = strstr(raw, " /fail") != NULL && strstr(raw, " /fail") < end;
    const char *resp = fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                              "Connection: close\r\n\r\nok";
    pthread_mutex_lock(&g_srv.mu);
    if (g_srv.n < SRV_MAX) {
        srv_req *r = &g_srv.reqs[g_srv.n++];
        snprintf(r->head, sizeof r->head, "%.*s", (int)hl, raw);
        snprintf(r->body, sizeof r->body, "%s", raw + hl);
    }
    pthread_mutex_unlock(&g_srv.mu);
    ssize_t w = send(c, resp, strlen(resp), MSG_NOSIGNAL);
    (void)w;
}

static void *srv_run(void *arg)
{
    (void)arg;
    while (!g_srv.stop) {
        struct pollfd p = {g_srv.fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(g_srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        srv_one(c);
        close(c);
    }
    return NULL;
}

static int srv_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    g_srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g_srv.fd < 0 || bind(g_srv.fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(g_srv.fd, 16) < 0 || getsockname(g_srv.fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    g_srv.port = ntohs(a.sin_port);
    g_srv.stop = 0;
    return pthread_create(&g_srv.t, NULL, srv_run, NULL) ? -1 : 0;
}

static void srv_stop(void)
{
    if (g_srv.fd < 0)
        return;
    g_srv.stop = 1;
    pthread_join(g_srv.t, NULL);
    close(g_srv.fd);
    g_srv.fd = -1;
}

/* The request whose request line starts with line, waiting 3 s at most
 * (not at all with wait 0). */
static const srv_req *srv_find_in(const char *line, int wait)
{
    for (int i = 0; i < (wait ? 600 : 1); i++) {
        pthread_mutex_lock(&g_srv.mu);
        for (int j = 0; j < g_srv.n; j++)
            if (!strncmp(g_srv.reqs[j].head, line, strlen(line))) {
                pthread_mutex_unlock(&g_srv.mu);
                return &g_srv.reqs[j];
            }
        pthread_mutex_unlock(&g_srv.mu);
        if (wait)
            sleep_ms(5);
    }
    return NULL;
}

static const srv_req *srv_find(const char *line) { return srv_find_in(line, 1); }

/* The header's value in a request head ("" if absent). */
static const char *head_value(const srv_req *r, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *h = r->head; (h = strstr(h, "\r\n")); ) {
        h += 2;
        size_t nl = strlen(name);
        if (!strncasecmp(h, name, nl) && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
            break;
        }
    }
    return out;
}

static uint64_t metric(const char *name)
{
    size_t len;
    char *m = metrics_render(&len);
    uint64_t v = 0;
    const char *p = m;
    size_t nl = strlen(name);
    while (p && (p = strstr(p, name))) {
        if ((p == m || p[-1] == '\n') && p[nl] == ' ') {
            v = strtoull(p + nl + 1, NULL, 10);
            break;
        }
        p += nl;
    }
    free(m);
    return v;
}

static snapshot *load_cb(const char *callbacks, tu_errors *errs)
{
    static char y[16384];
    snprintf(y, sizeof y,
             "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
             "metadata: {name: cbac, namespace: ns}\nspec:\n  hosts: [cb.test]\n"
             "  authentication:\n    anon: {anonymous: {}}\n  callbacks:\n%s", callbacks);
    tu_errors local = {0};
    snapshot *s = tu_snapshot(y, errs ? errs : &local);
    if (!errs)
        for (int i = 0; i < local.n; i++)
            fprintf(stderr, "\n  config: %s\n", local.lines[i]);
    return s;
}

static int decide_cb(snapshot *s, const char *method, const char *path)
{
    char req[2048];
    snprintf(req, sizeof req,
             "{\"attributes\":{\"request\":{\"http\":{\"id\":\"1\",\"method\":\"%s\","
             "\"path\":\"%s\",\"host\":\"cb.test\",\"scheme\":\"http\","
             "\"headers\":{\":authority\":\"cb.test\",\"x-user\":\"alice b\",\"x-id\":\"a-1\"}}}}}",
             method, path);
    pipe_result r;
    int allowed = tu_decide(s, req, &r, 0) == 0 && r.allowed;
    pipe_result_free(&r);
    return allowed;
}

static int engine_ready(void)
{
    static int ok = -1;
    if (ok < 0)
        ok = tu_load_plugins() == 0 && srv_start() == 0;
    return ok;
}

static void test_calls_built(void)
{
    CU_ASSERT_FATAL(engine_ready());
    char cbs[4096];
    int port = g_srv.port;
    snprintf(cbs, sizeof cbs,
             "    posted:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/ev/{request.method}?u={request.headers.x-id}\"\n"
             "        method: POST\n"
             "        body: {selector: request.path}\n"
             "        headers:\n"
             "          X-Event: {value: decision}\n"
             "          X-User: {selector: request.headers.x-user}\n"
             "    json:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/json\"\n"
             "        method: PATCH\n"
             "        contentType: application/json\n"
             "        bodyParameters:\n"
             "          n: {value: 1}\n"
             "          p: {selector: request.path}\n"
             "    form:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/form\"\n"
             "        method: PUT\n"
             "        bodyParameters:\n"
             "          who: {selector: request.headers.x-user}\n"
             "          \"a b\": {value: \"c&d\"}\n"
             "    plain:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/get\"\n"
             "    spaced:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/sp?u={request.headers.x-user}\"\n"
             "    failing:\n      http:\n"
             "        url: \"http://127.0.0.1:%d/fail\"\n"
             "        method: DELETE\n",
             port, port, port, port, port, port);
    snapshot *s = load_cb(cbs, NULL);
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    uint64_t sent0 = metric("portcullis_callback_http_sent_total");
    uint64_t failed0 = metric("portcullis_callback_http_failed_total");
    CU_ASSERT(decide_cb(s, "GET", "/hello?x=1"));
    char v[512];
    const srv_req *r = srv_find("POST /ev/GET?u=a-1 HTTP/1.1\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->body, "/hello?x=1");
    CU_ASSERT_STRING_EQUAL(head_value(r, "x-event", v, sizeof v), "decision");
    CU_ASSERT_STRING_EQUAL(head_value(r, "x-user", v, sizeof v), "alice b");
    r = srv_find("PATCH /json ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->body, "{\"n\":1,\"p\":\"/hello?x=1\"}");
    CU_ASSERT_PTR_NOT_NULL(strstr(head_value(r, "content-type", v, sizeof v),
                                  "application/json"));
    r = srv_find("PUT /form ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->body, "a+b=c%26d&who=alice+b");
    CU_ASSERT_PTR_NOT_NULL(strstr(head_value(r, "content-type", v, sizeof v),
                                  "application/x-www-form-urlencoded"));
    r = srv_find("GET /get ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->body, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv_find("DELETE /fail "));
    /* Four answered 2xx; the 500 and the URL that resolved to one with a
     * space (never sent) are failures. The counters move once the senders
     * are done. */
    for (int i = 0; i < 400 && (metric("portcullis_callback_http_sent_total") < sent0 + 4 ||
                                metric("portcullis_callback_http_failed_total") < failed0 + 2);
         i++)
        sleep_ms(5);
    CU_ASSERT_EQUAL(metric("portcullis_callback_http_sent_total"), sent0 + 4);
    CU_ASSERT_EQUAL(metric("portcullis_callback_http_failed_total"), failed0 + 2);
    CU_ASSERT_PTR_NULL(srv_find_in("GET /sp", 0));
    snapshot_unref(s);
}

/* A service that is not there is a failure, and the verdict stands. */
static void test_unreachable(void)
{
    CU_ASSERT_FATAL(engine_ready());
    /* A port that was free a moment ago. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                    getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    close(fd);
    char cbs[512];
    snprintf(cbs, sizeof cbs, "    gone:\n      http:\n        url: \"http://127.0.0.1:%d/x\"\n"
             "        timeout: 1000\n", ntohs(a.sin_port));
    snapshot *s = load_cb(cbs, NULL);
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    uint64_t failed0 = metric("portcullis_callback_http_failed_total");
    CU_ASSERT(decide_cb(s, "GET", "/"));
    for (int i = 0; i < 400 && metric("portcullis_callback_http_failed_total") == failed0; i++)
        sleep_ms(5);
    CU_ASSERT_EQUAL(metric("portcullis_callback_http_failed_total"), failed0 + 1);
    snapshot_unref(s);
}

static void expect_error(const char *callbacks, const char *needle)
{
    tu_errors e = {0};
    snapshot *s = load_cb(callbacks, &e);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    int ok = e.n > 0 && strstr(e.lines[0], needle) && strstr(e.lines[0], ".yaml:");
    if (!ok)
        fprintf(stderr, "\n  want \"%s\", got: %s\n", needle, e.n ? e.lines[0] : "(nothing)");
    CU_ASSERT(ok);
    snapshot_unref(s);
}

#define CB_URL "    c:\n      http:\n        url: http://127.0.0.1:1/x\n"
static void test_config_errors(void)
{
    CU_ASSERT_FATAL(engine_ready());
    /* Unknown fields, by path. */
    expect_error(CB_URL "        queueLimt: 3\n", "callbacks.c.http.queueLimt");
    expect_error(CB_URL "        credentials: {authorizationHeader: {prefx: x}}\n",
                 "credentials.authorizationHeader.prefx");
    expect_error(CB_URL "        oauth2: {tokenUrl: http://127.0.0.1:1/t, clientId: a,\n"
                 "          clientSecretRef: {name: s, key: k}, scope: [x]}\n", "oauth2.scope");
    /* The queueLimit range. */
    expect_error(CB_URL "        queueLimit: 0\n", "queueLimit");
    expect_error(CB_URL "        queueLimit: 65537\n", "queueLimit");
    expect_error(CB_URL "        method: GOT\n", "method");
    expect_error(CB_URL "        sharedSecretRef: {name: nope, key: k}\n", "nope");
    /* In range, it loads. */
    snapshot *s = load_cb(CB_URL "        queueLimit: 65536\n", NULL);
    CU_ASSERT(s && s->n_configs == 1);
    snapshot_unref(s);
}

static void teardown(void) { srv_stop(); }

int cu_register(void)
{
    static const cu_case queue[] = {
        {"bound, drops and order", test_bound_and_order},
        {"failures counted", test_failures},
        {"senders on demand drain", test_senders_on_demand},
        {"stop with calls queued", test_stop_with_queued},
        {NULL, NULL},
    };
    static const cu_case calls[] = {
        {"calls built and sent", test_calls_built},
        {"unreachable service", test_unreachable},
        {"config errors", test_config_errors},
        {NULL, NULL},
    };
    atexit(teardown);
    return cu_add_suite("http callback queue", queue) || cu_add_suite("http callbacks", calls);
}
