/* Kubeconfig and in-cluster discovery. Only the fields a TLS-verified,
 * token-, certificate- or exec-plugin-authenticated client needs are read;
 * anything that would weaken TLS (or that no longer exists: auth-provider)
 * is refused rather than ignored, so a config never silently means less
 * than it says. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ydoc/ydoc.h"
#include "kube_conf.h"
#include "util/base64.h"
#include "util/log.h"

#define KUBE_TOKEN_MAX (64 * 1024)

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void kube_conf_free(kube_conf *c)
{
    free_strv(c->exec_argv);
    free_strv(c->exec_env);
    free(c->exec_api_version);
    if (!c)
        return;
    free(c->server);
    free(c->ca_file);
    free(c->ca_data);
    free(c->cert_file);
    free(c->key_file);
    free(c->cert_data);
    free(c->key_data);
    if (c->token) {
        /* Secrets do not linger in freed heap. */
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    free(c->token_file);
    memset(c, 0, sizeof *c);
}

char *kube_read_token(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *b = malloc(KUBE_TOKEN_MAX + 1);
    if (!b) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = fread(b, 1, KUBE_TOKEN_MAX + 1, f);
    fclose(f);
    if (n > KUBE_TOKEN_MAX) {
        free(b);
        snprintf(err, errlen, "token file %s is larger than %d bytes", path, KUBE_TOKEN_MAX);
        return NULL;
    }
    b[n] = '\0';
    size_t s = 0;
    while (s < n && isspace((unsigned char)b[s]))
        s++;
    while (n > s && isspace((unsigned char)b[n - 1]))
        b[--n] = '\0';
    if (n == s) {
        free(b);
        snprintf(err, errlen, "token file %s is empty", path);
        return NULL;
    }
    memmove(b, b + s, n - s + 1);
    return b;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The `inner` object of the element of list `key` whose name is `name`. */
static struct json_object *named(struct json_object *root, const char *key,
                                 const char *name, const char *inner)
{
    struct json_object *arr, *v;
    if (!json_object_object_get_ex(root, key, &arr) || !json_object_is_type(arr, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        const char *n = jstr(e, "name");
        if (n && strcmp(n, name) == 0) {
            if (json_object_object_get_ex(e, inner, &v) && json_object_is_type(v, json_type_object))
                return v;
            return NULL;
        }
    }
    return NULL;
}

static int has_key(struct json_object *o, const char *key)
{
    return o && json_object_is_type(o, json_type_object) &&
           json_object_object_get_ex(o, key, NULL);
}

static char *resolve(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir || !*dir)
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", dir, p);
    return r;
}

/* `file` or `data` (base64) form of one PEM; both set is an error as in
 * client-go's validation. */
static int pem_field(struct json_object *o, const char *fkey, const char *dkey,
                     const char *dir, char **file, char **data, size_t *data_len,
                     const char *name, char *err, size_t errlen)
{
    const char *f = jstr(o, fkey), *d = jstr(o, dkey);
    if (f && *f && d && *d) {
        snprintf(err, errlen, "%s: both %s and %s are set", name, fkey, dkey);
        return -1;
    }
    if (d && *d) {
        if (!(*data = (char *)b64_decode(d, strlen(d), 0, data_len)) || !*data_len) {
            snprintf(err, errlen, "%s: %s is not valid base64", name, dkey);
            return -1;
        }
    } else if (f && *f && !(*file = resolve(dir, f))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* users[].user.exec: command, args, env, apiVersion, interactiveMode. */
static int parse_exec(struct json_object *ex, const char *dir, kube_conf *out,
                      const char *name, const char *uname, char *err, size_t errlen)
{
    const char *cmd = jstr(ex, "command"), *av = jstr(ex, "apiVersion");
    const char *mode = jstr(ex, "interactiveMode");
    if (!cmd || !*cmd) {
        snprintf(err, errlen, "%s: user \"%s\": exec needs a command", name, uname);
        return -1;
    }
    if (!av || (strcmp(av, "client.authentication.k8s.io/v1") &&
                strcmp(av, "client.authentication.k8s.io/v1beta1"))) {
        snprintf(err, errlen, "%s: user \"%s\": exec apiVersion must be "
                 "client.authentication.k8s.io/v1 or v1beta1", name, uname);
        return -1;
    }
    if (mode && strcmp(mode, "Always") == 0) {
        snprintf(err, errlen, "%s: user \"%s\": the exec plugin needs a terminal "
                 "(interactiveMode: Always), which a server does not have", name, uname);
        return -1;
    }
    struct json_object *args = NULL, *env = NULL;
    json_object_object_get_ex(ex, "args", &args);
    json_object_object_get_ex(ex, "env", &env);
    size_t na = json_object_is_type(args, json_type_array) ? json_object_array_length(args) : 0;
    size_t ne = json_object_is_type(env, json_type_array) ? json_object_array_length(env) : 0;
    if (!(out->exec_argv = calloc(na + 2, sizeof *out->exec_argv)) ||
        !(out->exec_env = calloc(ne + 1, sizeof *out->exec_env)) ||
        !(out->exec_api_version = strdup(av)))
        goto oom;
    /* A relative command with a '/' is relative to the kubeconfig's
     * directory; a bare name is looked up in PATH (as client-go does). */
    if (!(out->exec_argv[0] = strchr(cmd, '/') ? resolve(dir, cmd) : strdup(cmd)))
        goto oom;
    for (size_t i = 0; i < na; i++) {
        const char *a = json_object_get_string(json_object_array_get_idx(args, i));
        if (!(out->exec_argv[i + 1] = strdup(a ? a : "")))
            goto oom;
    }
    for (size_t i = 0; i < ne; i++) {
        struct json_object *e = json_object_array_get_idx(env, i);
        const char *n = jstr(e, "name"), *v = jstr(e, "value");
        if (!n || !*n || strchr(n, '=')) {
            snprintf(err, errlen, "%s: user \"%s\": exec env[%zu] needs a name", name,
                     uname, i);
            return -1;
        }
        size_t l = strlen(n) + strlen(v ? v : "") + 2;
        if (!(out->exec_env[i] = malloc(l)))
            goto oom;
        snprintf(out->exec_env[i], l, "%s=%s", n, v ? v : "");
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int parse_root(struct json_object *root, const char *name, const char *dir,
                      kube_conf *out, char *err, size_t errlen)
{
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a kubeconfig (expected a mapping)", name);
        return -1;
    }
    const char *cur = jstr(root, "current-context");
    if (!cur || !*cur) {
        snprintf(err, errlen, "%s: current-context is not set", name);
        return -1;
    }
    struct json_object *ctx = named(root, "contexts", cur, "context");
    if (!ctx) {
        snprintf(err, errlen, "%s: context \"%s\" not found", name, cur);
        return -1;
    }
    const char *cname = jstr(ctx, "cluster"), *uname = jstr(ctx, "user");
    if (!cname || !*cname) {
        snprintf(err, errlen, "%s: context \"%s\" names no cluster", name, cur);
        return -1;
    }
    struct json_object *cl = named(root, "clusters", cname, "cluster");
    if (!cl) {
        snprintf(err, errlen, "%s: cluster \"%s\" not found", name, cname);
        return -1;
    }
    struct json_object *skip;
    if (json_object_object_get_ex(cl, "insecure-skip-tls-verify", &skip) &&
        json_object_get_boolean(skip)) {
        snprintf(err, errlen, "%s: cluster \"%s\" sets insecure-skip-tls-verify, "
                 "which is refused: the API server's certificate is always verified "
                 "(give certificate-authority or certificate-authority-data)", name, cname);
        return -1;
    }
    const char *server = jstr(cl, "server");
    if (!server || strncmp(server, "https://", 8) != 0 || !server[8]) {
        snprintf(err, errlen, "%s: cluster \"%s\" needs an https:// server", name, cname);
        return -1;
    }
    if (!(out->server = strdup(server)))
        goto oom;
    size_t sl = strlen(out->server);
    while (sl > 8 && out->server[sl - 1] == '/')
        out->server[--sl] = '\0';
    if (pem_field(cl, "certificate-authority", "certificate-authority-data", dir,
                  &out->ca_file, &out->ca_data, &out->ca_data_len, name, err, errlen) < 0)
        return -1;
    if (!uname || !*uname)
        return 0; /* anonymous */
    struct json_object *u = named(root, "users", uname, "user");
    if (!u) {
        snprintf(err, errlen, "%s: user \"%s\" not found", name, uname);
        return -1;
    }
    if (has_key(u, "auth-provider")) {
        snprintf(err, errlen, "%s: user \"%s\": auth-provider credentials are not "
                 "supported (client-go removed them: use an exec plugin, a token, "
                 "tokenFile or a client certificate)", name, uname);
        return -1;
    }
    struct json_object *ex = NULL;
    if (json_object_object_get_ex(u, "exec", &ex) && parse_exec(ex, dir, out, name, uname,
                                                               err, errlen) < 0)
        return -1;
    if (has_key(u, "username") || has_key(u, "password")) {
        snprintf(err, errlen, "%s: user \"%s\": basic authentication is not supported",
                 name, uname);
        return -1;
    }
    const char *tok = jstr(u, "token"), *tf = jstr(u, "tokenFile");
    if (tok && *tok) {
        if (!(out->token = strdup(tok)))
            goto oom;
    } else if (tf && *tf) {
        if (!(out->token_file = resolve(dir, tf)))
            goto oom;
    }
    if (pem_field(u, "client-certificate", "client-certificate-data", dir,
                  &out->cert_file, &out->cert_data, &out->cert_data_len, name, err, errlen) < 0 ||
        pem_field(u, "client-key", "client-key-data", dir,
                  &out->key_file, &out->key_data, &out->key_data_len, name, err, errlen) < 0)
        return -1;
    int has_cert = out->cert_file || out->cert_data, has_key_ = out->key_file || out->key_data;
    if (has_cert != has_key_) {
        snprintf(err, errlen, "%s: user \"%s\": a client certificate needs both "
                 "certificate and key", name, uname);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int kube_conf_from_buffer(const char *name, const char *dir, const char *text,
                          size_t len, kube_conf *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    ydoc_file *f = NULL;
    if (ydoc_load_buffer(name, text, len, &f, err, errlen) < 0)
        return -1;
    int rc;
    if (f->n_docs != 1) {
        snprintf(err, errlen, "%s: expected one YAML document, found %zu", name, f->n_docs);
        rc = -1;
    } else {
        rc = parse_root(f->docs[0].root, name, dir, out, err, errlen);
    }
    ydoc_file_free(f);
    if (rc < 0)
        kube_conf_free(out);
    return rc;
}

/* Credentials other users can read are as good as leaked: say so at
 * start, naming the file (never what it holds). */
static void warn_if_readable(const char *what, const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0 || !(st.st_mode & (S_IRGRP | S_IROTH)))
        return;
    plog(PC_LOG_WARN, "kube",
         "%s %s is readable by %s (mode %03o): it holds credentials; "
         "make it readable by its owner only (chmod 600)",
         what, path, st.st_mode & S_IROTH ? "every user" : "its group",
         (unsigned)(st.st_mode & 0777));
}

void kube_conf_warn_readable(const char *kubeconfig, const kube_conf *c)
{
    warn_if_readable("kubeconfig", kubeconfig);
    warn_if_readable("token file", c->token_file);
    warn_if_readable("client key file", c->key_file);
}

/* Makes the relative paths of one file's entries absolute against its
 * directory, so entries keep their meaning once merged with other files'. */
static void absolutize(struct json_object *root, const char *dir)
{
    static const struct { const char *list, *inner, *key; } fields[] = {
        {"clusters", "cluster", "certificate-authority"},
        {"users", "user", "client-certificate"},
        {"users", "user", "client-key"},
        {"users", "user", "tokenFile"},
    };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        struct json_object *arr = NULL;
        if (!json_object_object_get_ex(root, fields[f].list, &arr) ||
            !json_object_is_type(arr, json_type_array))
            continue;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            struct json_object *in = NULL, *e = json_object_array_get_idx(arr, i);
            if (!json_object_object_get_ex(e, fields[f].inner, &in))
                continue;
            const char *v = jstr(in, fields[f].key);
            if (v && *v && v[0] != '/') {
                char *abs = resolve(dir, v);
                if (abs)
                    json_object_object_add(in, fields[f].key, json_object_new_string(abs));
                free(abs);
            }
        }
    }
    struct json_object *users = NULL;
    if (json_object_object_get_ex(root, "users", &users) &&
        json_object_is_type(users, json_type_array))
        for (size_t i = 0; i < json_object_array_length(users); i++) {
            struct json_object *u = NULL, *ex = NULL;
            if (json_object_object_get_ex(json_object_array_get_idx(users, i), "user", &u) &&
                json_object_object_get_ex(u, "exec", &ex)) {
                const char *c = jstr(ex, "command");
                if (c && strchr(c, '/') && c[0] != '/') {
                    char *abs = resolve(dir, c);
                    if (abs)
                        json_object_object_add(ex, "command", json_object_new_string(abs));
                    free(abs);
                }
            }
        }
}

/* Adds the named entries of src's list that merged lacks (first wins). */
static void merge_list(struct json_object *merged, struct json_object *src, const char *key)
{
    struct json_object *from = NULL, *to = NULL;
    if (!json_object_object_get_ex(src, key, &from) || !json_object_is_type(from, json_type_array))
        return;
    if (!json_object_object_get_ex(merged, key, &to)) {
        to = json_object_new_array();
        json_object_object_add(merged, key, to);
    }
    for (size_t i = 0; i < json_object_array_length(from); i++) {
        struct json_object *e = json_object_array_get_idx(from, i);
        const char *n = jstr(e, "name");
        int seen = 0;
        for (size_t j = 0; n && j < json_object_array_length(to); j++) {
            const char *m = jstr(json_object_array_get_idx(to, j), "name");
            seen |= m && strcmp(m, n) == 0;
        }
        if (n && !seen)
            json_object_array_add(to, json_object_get(e));
    }
}

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

int kube_conf_from_kubeconfig(const char *path, kube_conf *out, char *err,
                              size_t errlen)
{
    if (!strchr(path, ':'))
        return kube_conf_from_file(path, out, err, errlen);
    /* A list, as in $KUBECONFIG: merged the way kubectl merges it. */
    memset(out, 0, sizeof *out);
    struct json_object *merged = json_object_new_object();
    char *list = strdup(path);
    int files = 0, rc = -1;
    if (!merged || !list) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (char *save = NULL, *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        char *text = NULL;
        size_t n = 0;
        if (access(p, F_OK) != 0)
            continue; /* kubectl skips the files of a list that are not there */
        if (read_file(p, &text, &n, err, errlen) < 0)
            goto done;
        ydoc_file *f = NULL;
        int lrc = ydoc_load_buffer(p, text, n, &f, err, errlen);
        memset(text, 0, n);
        free(text);
        if (lrc < 0)
            goto done;
        if (f->n_docs == 1 && json_object_is_type(f->docs[0].root, json_type_object)) {
            struct json_object *root = f->docs[0].root;
            char *dir = strdup(p), *slash = dir ? strrchr(dir, '/') : NULL;
            if (slash)
                *(slash == dir ? slash + 1 : slash) = '\0';
            absolutize(root, slash ? dir : ".");
            free(dir);
            merge_list(merged, root, "clusters");
            merge_list(merged, root, "users");
            merge_list(merged, root, "contexts");
            const char *cur = jstr(root, "current-context");
            if (cur && *cur && !json_object_object_get_ex(merged, "current-context", NULL))
                json_object_object_add(merged, "current-context", json_object_new_string(cur));
            files++;
        }
        ydoc_file_free(f);
        warn_if_readable("kubeconfig", p);
    }
    if (!files) {
        snprintf(err, errlen, "none of the kubeconfig files %s exists", path);
        goto done;
    }
    rc = parse_root(merged, path, NULL, out, err, errlen);
    if (rc == 0) {
        warn_if_readable("token file", out->token_file);
        warn_if_readable("client key file", out->key_file);
    } else {
        kube_conf_free(out);
    }
done:
    json_object_put(merged);
    free(list);
    return rc;
}

static int read_file(const char *path, char **text_out, size_t *len, char *err,
                     size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot read kubeconfig %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 8192, n = 0;
    char *text = malloc(cap);
    size_t r;
    while (text && (r = fread(text + n, 1, cap - n, fp)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (size_t)16 << 20)
                break;
            char *t = realloc(text, cap *= 2);
            if (!t)
                free(text);
            text = t;
        }
    }
    fclose(fp);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *text_out = text;
    *len = n;
    return 0;
}

int kube_conf_from_file(const char *path, kube_conf *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot read kubeconfig %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 8192, n = 0;
    char *text = malloc(cap);
    size_t r;
    while (text && (r = fread(text + n, 1, cap - n, fp)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (size_t)16 << 20)
                break;
            char *t = realloc(text, cap *= 2);
            if (!t) {
                free(text);
                text = NULL;
            }
            text = t;
        }
    }
    fclose(fp);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int rc = kube_conf_from_buffer(path, slash ? dir : ".", text, n, out, err, errlen);
    free(dir);
    memset(text, 0, n); /* it may hold a token or a key */
    free(text);
    if (rc == 0)
        kube_conf_warn_readable(path, out);
    return rc;
}

int kube_conf_in_cluster(const char *host, const char *port, const char *sa_dir,
                         kube_conf *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!host || !*host || !port || !*port) {
        snprintf(err, errlen, "not in a cluster: KUBERNETES_SERVICE_HOST or "
                              "KUBERNETES_SERVICE_PORT is empty");
        return -1;
    }
    /* net.JoinHostPort: IPv6 literals need brackets. */
    int v6 = strchr(host, ':') != NULL && host[0] != '[';
    size_t n = strlen(host) + strlen(port) + 16;
    size_t dl = strlen(sa_dir) + 16;
    out->server = malloc(n);
    out->token_file = malloc(dl);
    out->ca_file = malloc(dl);
    if (!out->server || !out->token_file || !out->ca_file) {
        kube_conf_free(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(out->server, n, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
    snprintf(out->token_file, dl, "%s/token", sa_dir);
    snprintf(out->ca_file, dl, "%s/ca.crt", sa_dir);
    char *t = kube_read_token(out->token_file, err, errlen);
    if (!t) {
        kube_conf_free(out);
        return -1;
    }
    memset(t, 0, strlen(t));
    free(t);
    FILE *f = fopen(out->ca_file, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", out->ca_file, strerror(errno));
        kube_conf_free(out);
        return -1;
    }
    fclose(f);
    return 0;
}
