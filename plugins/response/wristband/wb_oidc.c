/* wb_oidc.c - OpenID Connect discovery for wristband issuers, as
 * Authorino's OIDC server (port 8083) serves it:
 *   GET /<namespace>/<authconfig>/<wristband>/.well-known/openid-configuration
 *   GET /<namespace>/<authconfig>/<wristband>/.well-known/openid-connect/certs
 * One listener per process, owned by this plugin: the instances register
 * their documents here, the first starts the thread and the last stops it.
 * The thread binds only once the server reports ready, so `check` and
 * `eval`, which create instances too, never take the port. It serves one
 * short connection at a time (HTTP/1.x, Connection: close) with a read
 * deadline and a size cap, so a slow or hostile client costs at most
 * WB_OIDC_READ_TIMEOUT_MS of the others' time. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "wb.h"

#define WB_WHO "wristband-oidc"

struct wb_issuer {
    wb_issuer *next;
    char *path;          /* "<ns>/<authconfig>/<name>" */
    char *discovery, *jwks;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static wb_issuer *g_list;   /* newest first: a reloaded config wins at once */
static const pc_host *g_host;
static pthread_t g_thread;
static int g_running;
static int g_wake[2] = {-1, -1};   /* a byte here stops the thread */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when the stop byte arrived, waiting at most ms (and for fd, if >= 0). */
static int wait_stop(int fd, int ms, int *fd_ready)
{
    struct pollfd p[2] = {{g_wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (fd_ready)
        *fd_ready = n > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP));
    return n > 0 && (p[0].revents & POLLIN);
}

static int listen_on(const char *addr)
{
    char host[256] = "", port[16] = "";
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        snprintf(port, sizeof port, "%s", addr);
    } else {
        size_t hl = (size_t)(colon - addr);
        if (hl >= sizeof host)
            return -1;
        memcpy(host, addr, hl);
        host[hl] = '\0';
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    /* [::1]:8083 */
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(*h ? h : NULL, port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return;
        int left = (int)(deadline - now_ms());
        struct pollfd pf = {fd, POLLOUT, 0};
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            return;
    }
}

static void answer(int fd, int status, const char *body, int head, int64_t deadline)
{
    const char *text = status == 200 ? "OK" : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed" : "Bad Request";
    char hdr[256];
    size_t n = strlen(body);
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, text, status == 200 ? "application/json" : "text/plain", n);
    send_all(fd, hdr, (size_t)hl, deadline);
    if (!head)
        send_all(fd, body, n, deadline);
}

/* The document for target, copied (free it), or NULL. */
static char *lookup(const char *target, size_t len)
{
    static const char disc[] = "/.well-known/openid-configuration";
    static const char certs[] = "/.well-known/openid-connect/certs";
    int which;
    size_t plen;
    while (len > 1 && target[len - 1] == '/')
        len--;
    if (len > sizeof disc && !memcmp(target + len - (sizeof disc - 1), disc, sizeof disc - 1))
        which = 0, plen = len - (sizeof disc - 1);
    else if (len > sizeof certs &&
             !memcmp(target + len - (sizeof certs - 1), certs, sizeof certs - 1))
        which = 1, plen = len - (sizeof certs - 1);
    else
        return NULL;
    if (target[0] != '/' || plen < 2)
        return NULL;
    char *out = NULL;
    pthread_mutex_lock(&g_mu);
    for (wb_issuer *is = g_list; is; is = is->next)
        if (strlen(is->path) == plen - 1 && !memcmp(is->path, target + 1, plen - 1)) {
            out = hc_strdup(which ? is->jwks : is->discovery);
            break;
        }
    pthread_mutex_unlock(&g_mu);
    return out;
}

static void serve_one(int fd)
{
    char req[WB_OIDC_MAX_REQUEST + 1];
    size_t len = 0;
    int64_t deadline = now_ms() + WB_OIDC_READ_TIMEOUT_MS;
    while (!memmem(req, len, "\r\n\r\n", 4) && !memmem(req, len, "\n\n", 2)) {
        if (len == WB_OIDC_MAX_REQUEST) {
            answer(fd, 400, "request too large", 0, deadline + 1000);
            return;
        }
        int left = (int)(deadline - now_ms()), ready = 0;
        if (left <= 0 || wait_stop(fd, left, &ready) || !ready)
            return;
        ssize_t r = recv(fd, req + len, WB_OIDC_MAX_REQUEST - len, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return;
        if (r > 0)
            len += (size_t)r;
    }
    req[len] = '\0';
    deadline = now_ms() + WB_OIDC_READ_TIMEOUT_MS;
    /* METHOD SP target SP HTTP/1.x */
    char *sp1 = memchr(req, ' ', len);
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *eol = strpbrk(req, "\r\n");
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7)) {
        answer(fd, 400, "bad request", 0, deadline);
        return;
    }
    int head = (size_t)(sp1 - req) == 4 && !memcmp(req, "HEAD", 4);
    if (!head && !((size_t)(sp1 - req) == 3 && !memcmp(req, "GET", 3))) {
        answer(fd, 405, "method not allowed", 0, deadline);
        return;
    }
    char *target = sp1 + 1;
    size_t tlen = strcspn(target, "? ");
    if (tlen > (size_t)(sp2 - target))
        tlen = (size_t)(sp2 - target);
    char *doc = lookup(target, tlen);
    answer(fd, doc ? 200 : 404, doc ? doc : "Not found", head, deadline);
    free(doc);
}

static void *run(void *arg)
{
    (void)arg;
    const pc_host *h = g_host;
    /* The server is ready once AuthConfigs are loaded and it listens. */
    while (!h->ready())
        if (wait_stop(-1, 100, NULL))
            return NULL;
    const char *addr = getenv("PORTCULLIS_OIDC_HTTP_ADDR");
    if (!addr || !*addr)
        addr = WB_DEFAULT_OIDC_ADDR;
    const char *colon = strrchr(addr, ':');
    if (!strcmp(addr, "off") || !strcmp(colon ? colon + 1 : addr, "0")) {
        h->log(PC_LOG_INFO, WB_WHO, "wristband discovery listener off");
        wait_stop(-1, -1, NULL);
        return NULL;
    }
    int lfd = listen_on(addr);
    if (lfd < 0) {
        h->log(PC_LOG_ERROR, WB_WHO, "cannot listen on %s for wristband discovery: %s", addr,
               strerror(errno));
        wait_stop(-1, -1, NULL);
        return NULL;
    }
    h->log(PC_LOG_INFO, WB_WHO, "wristband discovery listening on %s", addr);
    for (;;) {
        int ready = 0;
        if (wait_stop(lfd, -1, &ready))
            break;
        if (!ready)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_one(fd);
        close(fd);
    }
    close(lfd);
    return NULL;
}

static void issuer_free(wb_issuer *is)
{
    if (!is)
        return;
    free(is->path);
    free(is->discovery);
    free(is->jwks);
    free(is);
}

wb_issuer *wb_oidc_add(const pc_host *h, const char *path, const char *discovery,
                       const char *jwks, char *err, size_t errlen)
{
    wb_issuer *is = calloc(1, sizeof *is);
    if (!is || !(is->path = hc_strdup(path)) || !(is->discovery = hc_strdup(discovery)) ||
        !(is->jwks = hc_strdup(jwks))) {
        issuer_free(is);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&g_mu);
    if (!g_running) {
        g_host = h;
        if (pipe2(g_wake, O_CLOEXEC) < 0 || pthread_create(&g_thread, NULL, run, NULL)) {
            if (g_wake[0] >= 0) {
                close(g_wake[0]);
                close(g_wake[1]);
            }
            g_wake[0] = g_wake[1] = -1;
            pthread_mutex_unlock(&g_mu);
            issuer_free(is);
            snprintf(err, errlen, "cannot start the wristband discovery listener");
            return NULL;
        }
        g_running = 1;
    }
    is->next = g_list;
    g_list = is;
    pthread_mutex_unlock(&g_mu);
    return is;
}

void wb_oidc_remove(wb_issuer *is)
{
    if (!is)
        return;
    pthread_mutex_lock(&g_mu);
    for (wb_issuer **p = &g_list; *p; p = &(*p)->next)
        if (*p == is) {
            *p = is->next;
            break;
        }
    int last = g_running && !g_list;
    if (last)
        g_running = 0;
    pthread_mutex_unlock(&g_mu);
    issuer_free(is);
    if (last) {
        /* Instances are created and destroyed on the control thread only,
         * so no add races with this stop. */
        ssize_t w = write(g_wake[1], "x", 1);
        (void)w;
        pthread_join(g_thread, NULL);
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
    }
}
