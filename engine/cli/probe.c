/* portcullis probe : one HTTP GET of a probe path on the local probe
 * listener, for a container HEALTHCHECK in an image that holds no HTTP
 * client (no shell, no curl). Exit 0 when the answer is 200, 1 on anything
 * else (refused, reset, timed out, another status, garbage), 2 on a usage
 * error.
 *
 * One deadline covers connecting, sending and reading: every wait is a
 * poll() bounded by what is left of it, and no name is resolved (a DNS
 * lookup has timeouts of its own), so the probe cannot hang. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cli.h"
#include "util/clock.h"

#define PROBE_DEFAULT_ADDR "127.0.0.1:8081"
#define PROBE_DEFAULT_PATH "/healthz"
#define PROBE_DEFAULT_TIMEOUT_MS 2000
#define PROBE_MAX_TIMEOUT_MS 60000
#define PROBE_MAX_PATH 1024

static void usage(FILE *f)
{
    fprintf(f,
        "usage: portcullis probe [--addr HOST:PORT] [--timeout MS] [PATH]\n"
        "GETs PATH (default /healthz; /readyz, /readyz/authconfigs) from the probe\n"
        "listener and exits 0 when it answers 200, 1 otherwise, 2 on a usage error.\n\n"
        "  --addr HOST:PORT  the listener (default " PROBE_DEFAULT_ADDR "); HOST is a\n"
        "                    numeric address or localhost, [v6]:PORT for IPv6; an\n"
        "                    empty HOST, 0.0.0.0 or [::] mean this host's loopback,\n"
        "                    so --health-probe-addr's value can be given as it is\n"
        "  --timeout MS      deadline of the whole exchange (default 2000, at most\n"
        "                    60000)\n"
        "  -h, --help        show this help\n");
}

/* A backstop under the poll() deadlines: whatever happens, the process
 * ends as "unhealthy" shortly after its deadline. */
static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "portcullis probe: deadline passed\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static int64_t now_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* Waits for ev on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf = {fd, ev, 0};
        int n = poll(&pf, 1, (int)left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* HOST:PORT into a numeric socket address; the wildcard and "localhost"
 * become the loopback address. -1 when it is not such an address. */
static int probe_resolve(const char *addr, struct addrinfo **out, char *host, size_t cap)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1])
        return -1;
    size_t hl = (size_t)(colon - addr);
    if (hl >= cap)
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    } else if (strchr(host, ':')) {
        return -1; /* IPv6 without brackets: the port is ambiguous */
    }
    if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "localhost"))
        snprintf(host, cap, "127.0.0.1");
    else if (!strcmp(host, "::"))
        snprintf(host, cap, "::1");
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    return getaddrinfo(host, colon + 1, &hints, out) == 0 ? 0 : -1;
}

/* Connects without blocking past the deadline. The socket, or -1 with why. */
static int probe_connect(const struct addrinfo *ai, int64_t deadline, const char **why)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    int r = wait_fd(fd, POLLOUT, deadline);
    int err = 0;
    socklen_t len = sizeof err;
    if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        *why = r == 0 ? "connect timed out" : strerror(err ? err : errno);
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        } else if (wait_fd(fd, POLLOUT, deadline) <= 0) {
            return -1;
        }
    }
    return 0;
}

/* Reads until the status line is whole; its code, or -1 with why. */
static int read_status(int fd, int64_t deadline, const char **why)
{
    char buf[256];
    size_t have = 0;
    for (;;) {
        char *eol = memchr(buf, '\n', have);
        if (eol || have == sizeof buf - 1)
            break;
        int r = wait_fd(fd, POLLIN, deadline);
        if (r <= 0) {
            *why = r == 0 ? "no answer before the deadline" : strerror(errno);
            return -1;
        }
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            *why = strerror(errno);
            return -1;
        }
        have += (size_t)n;
    }
    buf[have] = '\0';
    /* "HTTP/1.x SSS reason" */
    if (have < 12 || strncmp(buf, "HTTP/1.", 7) || buf[7] < '0' || buf[7] > '9' ||
        buf[8] != ' ' ||
        buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
        buf[11] < '0' || buf[11] > '9' || (have > 12 && buf[12] != ' ' && buf[12] != '\r')) {
        *why = have ? "not an HTTP/1 answer" : "connection closed without an answer";
        return -1;
    }
    return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

static int path_ok(const char *p)
{
    if (p[0] != '/' || strlen(p) > PROBE_MAX_PATH)
        return 0;
    for (; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    return 1;
}

int cmd_probe(int argc, char **argv)
{
    static const struct option opts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *addr = PROBE_DEFAULT_ADDR, *path = PROBE_DEFAULT_PATH;
    long timeout = PROBE_DEFAULT_TIMEOUT_MS;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'a': addr = optarg; break;
        case 't':
            errno = 0;
            timeout = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || timeout < 1 || timeout > PROBE_MAX_TIMEOUT_MS) {
                fprintf(stderr, "portcullis probe: --timeout: want 1-%d milliseconds, got \"%s\"\n",
                        PROBE_MAX_TIMEOUT_MS, optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        path = argv[optind++];
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!path_ok(path)) {
        fprintf(stderr, "portcullis probe: PATH: want /... without spaces or control "
                        "characters, at most %d bytes\n", PROBE_MAX_PATH);
        return 2;
    }
    char host[64];
    struct addrinfo *ai = NULL;
    if (probe_resolve(addr, &ai, host, sizeof host) < 0) {
        fprintf(stderr, "portcullis probe: --addr: want HOST:PORT with a numeric HOST "
                        "(or localhost), got \"%s\"\n", addr);
        return 2;
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)(timeout / 1000 + 2));
    int64_t deadline = now_ms() + timeout;
    const char *why = NULL;
    int fd = probe_connect(ai, deadline, &why);
    int port = atoi(strrchr(addr, ':') + 1);
    freeaddrinfo(ai);
    int ipv6 = strchr(host, ':') != NULL;
    if (fd < 0) {
        fprintf(stderr, "portcullis probe: %s%s%s:%d: %s\n", ipv6 ? "[" : "", host,
                ipv6 ? "]" : "", port, why);
        return 1;
    }
    char req[PROBE_MAX_PATH + 256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: portcullis-probe\r\n"
                     "Connection: close\r\n\r\n", path, ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                     port);
    int status = -1;
    if (send_all(fd, req, (size_t)n, deadline) < 0)
        why = "cannot send the request";
    else
        status = read_status(fd, deadline, &why);
    close(fd);
    if (status < 0) {
        fprintf(stderr, "portcullis probe: %s: %s\n", path, why);
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "portcullis probe: %s: HTTP %d\n", path, status);
        return 1;
    }
    printf("%s: HTTP 200\n", path);
    return 0;
}
