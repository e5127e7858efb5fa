/* Running an exec credential plugin: posix_spawn with stdout on a pipe
 * (stdin from /dev/null: a server has no one to answer prompts), the
 * environment plus the kubeconfig's env and KUBERNETES_EXEC_INFO, a
 * deadline and an output limit; the plugin is killed when it overstays. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/buf.h"
#include "util/clock.h"
#include "kube_exec.h"

extern char **environ;

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void kube_exec_clear(kube_exec_cache *c)
{
    wipe_free(c->token);
    c->token = NULL;
    c->expires = 0;
}

time_t kube_exec_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    return timegm(&tm) - off;
}

/* envp for the plugin: ours, then the kubeconfig's, then the exec info. */
static char **plugin_env(char *const *extra, const char *info)
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **e = calloc(n + m + 2, sizeof *e);
    if (!e)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) != 0)
            e[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        e[k++] = extra[i];
    e[k++] = (char *)info;
    return e;
}

/* Runs argv; its stdout in out. 0, or -1 with a reason. */
static int run(char *const *argv, char *const *env, const char *api_version, buf *out,
               char *err, size_t errlen)
{
    char info[256];
    snprintf(info, sizeof info,
             "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
             "\"spec\":{\"interactive\":false}}", api_version);
    char **envp = plugin_env(env, info);
    int fds[2] = {-1, -1};
    if (!envp || pipe2(fds, O_CLOEXEC) < 0) {
        free(envp);
        snprintf(err, errlen, "exec plugin %s: %s", argv[0], strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        snprintf(err, errlen, "exec plugin %s: %s", argv[0], strerror(rc));
        return -1;
    }
    int64_t deadline = clock_mono_ns() + (int64_t)KUBE_EXEC_TIMEOUT_MS * 1000000;
    int failed = 0;
    for (;;) {
        int64_t left = (deadline - clock_mono_ns()) / 1000000;
        if (left <= 0) {
            snprintf(err, errlen, "exec plugin %s: no answer within %d ms", argv[0],
                     KUBE_EXEC_TIMEOUT_MS);
            failed = 1;
            break;
        }
        struct pollfd pf = {fds[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char chunk[4096];
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out->len + (size_t)r > KUBE_EXEC_MAX_OUTPUT) {
            snprintf(err, errlen, "exec plugin %s: more than %u bytes of output", argv[0],
                     KUBE_EXEC_MAX_OUTPUT);
            failed = 1;
            break;
        }
        buf_append(out, chunk, (size_t)r);
    }
    close(fds[0]);
    if (failed)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (failed)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "exec plugin %s failed (%s %d)", argv[0],
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    return 0;
}

const char *kube_exec_token(kube_exec_cache *c, char *const *argv, char *const *env,
                            const char *api_version, int force, char *err, size_t errlen)
{
    time_t now = time(NULL);
    if (c->token && !force && (!c->expires || now < c->expires))
        return c->token;
    buf out;
    buf_init(&out);
    const char *result = NULL;
    if (run(argv, env, api_version, &out, err, errlen) == 0) {
        struct json_object *o = json_tokener_parse(out.data ? out.data : "");
        struct json_object *kind = NULL, *st = NULL, *tok = NULL, *exp = NULL, *av = NULL;
        json_object_object_get_ex(o, "kind", &kind);
        json_object_object_get_ex(o, "apiVersion", &av);
        json_object_object_get_ex(o, "status", &st);
        json_object_object_get_ex(st, "token", &tok);
        json_object_object_get_ex(st, "expirationTimestamp", &exp);
        time_t expires = exp ? kube_exec_parse_time(json_object_get_string(exp)) : 0;
        if (!o || !kind || strcmp(json_object_get_string(kind), "ExecCredential") != 0 ||
            (av && strcmp(json_object_get_string(av), api_version) != 0)) {
            snprintf(err, errlen, "exec plugin %s: the output is not an %s ExecCredential",
                     argv[0], api_version);
        } else if (!json_object_is_type(tok, json_type_string) ||
                   !*json_object_get_string(tok)) {
            snprintf(err, errlen, "exec plugin %s: no status.token (client certificates "
                                  "from exec plugins are not supported)", argv[0]);
        } else if (expires < 0) {
            snprintf(err, errlen, "exec plugin %s: status.expirationTimestamp is not "
                                  "RFC 3339", argv[0]);
        } else {
            kube_exec_clear(c);
            c->token = strdup(json_object_get_string(tok));
            c->expires = expires;
            result = c->token;
            if (!result)
                snprintf(err, errlen, "out of memory");
        }
        json_object_put(o);
    }
    buf_wipe(&out); /* it held a token */
    return result;
}
