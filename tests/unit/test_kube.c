/* Kubernetes client configuration: kubeconfig forms, in-cluster discovery,
 * and what is refused. No network beyond a refused loopback connection. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cu_main.h"
#include "kube/kube.h"
#include "util/base64.h"
#include "kube/kube_conf.h"
#include "kube/kube_exec.h"
#include "eval/evalctx.h"
#include "host/hostimpl.h"
#include "util/log.h"

/* "-----BEGIN CERTIFICATE-----\nMIIB\n" and "PEM KEY\n" in base64. */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIK"
#define CA_PEM "-----BEGIN CERTIFICATE-----\nMIIB\n"
#define KEY_B64 "UEVNIEtFWQo="

static const char kc_files[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: main\n"
    "contexts:\n"
    "- name: other\n"
    "  context: {cluster: c2, user: u2}\n"
    "- name: main\n"
    "  context:\n"
    "    cluster: c1\n"
    "    user: u1\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443/\n"
    "    certificate-authority: pki/ca.crt\n"
    "- name: c2\n"
    "  cluster: {server: 'https://other:443', certificate-authority: /abs/ca.crt}\n"
    "users:\n"
    "- name: u1\n"
    "  user:\n"
    "    tokenFile: tok\n"
    "    client-certificate: /etc/c.crt\n"
    "    client-key: k.key\n"
    "- name: u2\n"
    "  user: {token: s3cret}\n";

static int load(const char *text, kube_conf *c, char *err, size_t errlen)
{
    return kube_conf_from_buffer("kc.yaml", "/cfg", text, strlen(text), c, err, errlen);
}

static void test_file_forms(void)
{
    kube_conf c;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(load(kc_files, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.server, "https://10.0.0.1:6443");
    CU_ASSERT_STRING_EQUAL(c.ca_file, "/cfg/pki/ca.crt");
    CU_ASSERT_PTR_NULL(c.ca_data);
    CU_ASSERT_STRING_EQUAL(c.token_file, "/cfg/tok");
    CU_ASSERT_PTR_NULL(c.token);
    CU_ASSERT_STRING_EQUAL(c.cert_file, "/etc/c.crt");
    CU_ASSERT_STRING_EQUAL(c.key_file, "/cfg/k.key");
    kube_conf_free(&c);
}

static char *with(const char *from, const char *to)
{
    const char *p = strstr(kc_files, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = strlen(kc_files) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(p - kc_files), kc_files, to, p + strlen(from));
    return s;
}

static void test_other_context_token(void)
{
    char *t = with("current-context: main", "current-context: other");
    kube_conf c;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(load(t, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.server, "https://other:443");
    CU_ASSERT_STRING_EQUAL(c.ca_file, "/abs/ca.crt");
    CU_ASSERT_STRING_EQUAL(c.token, "s3cret");
    CU_ASSERT_PTR_NULL(c.token_file);
    kube_conf_free(&c);
    free(t);
}

static void test_data_forms(void)
{
    const char *kc =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h', "
        "certificate-authority-data: " CA_B64 "}}]\n"
        "users: [{name: u, user: {client-certificate-data: " CA_B64 ", "
        "client-key-data: " KEY_B64 "}}]\n";
    kube_conf c;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(load(kc, &c, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(c.ca_file);
    CU_ASSERT_EQUAL(c.ca_data_len, strlen(CA_PEM));
    CU_ASSERT_STRING_EQUAL(c.ca_data, CA_PEM);
    CU_ASSERT_STRING_EQUAL(c.cert_data, CA_PEM);
    CU_ASSERT_STRING_EQUAL(c.key_data, "PEM KEY\n");
    CU_ASSERT_EQUAL(c.key_data_len, 8);
    CU_ASSERT_PTR_NULL(c.token);
    CU_ASSERT_PTR_NULL(c.token_file);
    kube_conf_free(&c);
}

static void expect_fail(const char *text, const char *needle)
{
    kube_conf c;
    char err[512] = "";
    CU_ASSERT_EQUAL(load(text, &c, err, sizeof err), -1);
    if (!strstr(err, needle))
        fprintf(stderr, "\n  wanted \"%s\" in: %s\n", needle, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    CU_ASSERT_PTR_NULL(c.server);
}

static void test_refused(void)
{
    char *t;
    expect_fail("kind: Config\n", "current-context is not set");
    t = with("current-context: main", "current-context: nope");
    expect_fail(t, "context \"nope\" not found");
    free(t);
    t = with("cluster: c1\n    user: u1", "cluster: c9\n    user: u1");
    expect_fail(t, "cluster \"c9\" not found");
    free(t);
    t = with("cluster: c1\n    user: u1", "cluster: c1\n    user: u9");
    expect_fail(t, "user \"u9\" not found");
    free(t);
    t = with("    certificate-authority: pki/ca.crt\n",
             "    certificate-authority: pki/ca.crt\n    insecure-skip-tls-verify: true\n");
    expect_fail(t, "insecure-skip-tls-verify");
    free(t);
    t = with("https://10.0.0.1:6443/", "http://10.0.0.1:8080");
    expect_fail(t, "https:// server");
    free(t);
    t = with("    tokenFile: tok\n", "    exec: {command: aws}\n");
    expect_fail(t, "exec apiVersion must be");
    free(t);
    t = with("    tokenFile: tok\n", "    exec: {command: aws, apiVersion: "
             "client.authentication.k8s.io/v1, interactiveMode: Always}\n");
    expect_fail(t, "needs a terminal");
    free(t);
    t = with("    tokenFile: tok\n", "    auth-provider: {name: gcp}\n");
    expect_fail(t, "auth-provider credentials are not supported");
    free(t);
    t = with("    certificate-authority: pki/ca.crt\n",
             "    certificate-authority: pki/ca.crt\n    certificate-authority-data: " CA_B64 "\n");
    expect_fail(t, "both certificate-authority and certificate-authority-data");
    free(t);
    t = with("    certificate-authority: pki/ca.crt\n",
             "    certificate-authority-data: '%%%not base64'\n");
    expect_fail(t, "not valid base64");
    free(t);
    t = with("    client-key: k.key\n", "");
    expect_fail(t, "needs both certificate and key");
    free(t);
    expect_fail("current-context: [", "kc.yaml");
}

static void test_exec_parsed(void)
{
    kube_conf c;
    char err[512] = "";
    char *t = with("    tokenFile: tok\n",
                   "    exec:\n"
                   "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                   "      command: bin/get-token\n"
                   "      args: [--cluster, prod]\n"
                   "      env: [{name: AWS_PROFILE, value: ops}]\n"
                   "      interactiveMode: IfAvailable\n");
    CU_ASSERT_EQUAL_FATAL(load(t, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.exec_argv[0], "/cfg/bin/get-token");
    CU_ASSERT_STRING_EQUAL(c.exec_argv[1], "--cluster");
    CU_ASSERT_STRING_EQUAL(c.exec_argv[2], "prod");
    CU_ASSERT_PTR_NULL(c.exec_argv[3]);
    CU_ASSERT_STRING_EQUAL(c.exec_env[0], "AWS_PROFILE=ops");
    CU_ASSERT_STRING_EQUAL(c.exec_api_version, "client.authentication.k8s.io/v1beta1");
    kube_conf_free(&c);
    free(t);
    /* A bare name is looked up in PATH. */
    t = with("    tokenFile: tok\n", "    exec: {command: aws, apiVersion: "
             "client.authentication.k8s.io/v1}\n");
    CU_ASSERT_EQUAL_FATAL(load(t, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.exec_argv[0], "aws");
    kube_conf_free(&c);
    free(t);
}

static void write_mode(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* $KUBECONFIG lists merge as kubectl merges them: first name wins, first
 * current-context wins, relative paths stay relative to their own file. */
static void test_merged_list(void)
{
    char dir[] = "/tmp/pc-kc-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char a[256], b[256], list[600];
    snprintf(a, sizeof a, "%s/a.yaml", dir);
    mkdir(strcat(strcpy(b, dir), "/sub"), 0700);
    snprintf(b, sizeof b, "%s/sub/b.yaml", dir);
    write_mode(a, "apiVersion: v1\nkind: Config\n"
                  "clusters: [{name: c, cluster: {server: 'https://first:6443'}}]\n"
                  "users: [{name: u, user: {tokenFile: tok-a}}]\n", 0600);
    write_mode(b, "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
                  "contexts: [{name: ctx, context: {cluster: c, user: u2}}]\n"
                  "clusters: [{name: c, cluster: {server: 'https://second:6443'}}]\n"
                  "users: [{name: u, user: {token: no}}, {name: u2, user: {tokenFile: tok-b}}]\n",
               0600);
    snprintf(list, sizeof list, "%s:%s/missing.yaml:%s", a, dir, b);
    kube_conf c;
    char err[512] = "";
    int rc = kube_conf_from_kubeconfig(list, &c, err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(c.server, "https://first:6443");
    char want[300];
    snprintf(want, sizeof want, "%s/sub/tok-b", dir);
    CU_ASSERT_STRING_EQUAL(c.token_file, want);
    kube_conf_free(&c);
    snprintf(list, sizeof list, "%s/none1:%s/none2", dir, dir);
    CU_ASSERT_EQUAL(kube_conf_from_kubeconfig(list, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "none of the kubeconfig files"));
    unlink(a);
    unlink(b);
    snprintf(b, sizeof b, "%s/sub", dir);
    rmdir(b);
    rmdir(dir);
}

/* An exec plugin runs once per token lifetime, with the kubeconfig's env
 * and KUBERNETES_EXEC_INFO; a forced refresh (after a 401) runs it again. */
static void test_exec_token(void)
{
    char dir[] = "/tmp/pc-exec-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char script[256], count[256], text[1024];
    snprintf(script, sizeof script, "%s/plugin.sh", dir);
    snprintf(count, sizeof count, "%s/runs", dir);
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "echo x >> %s\n"
             "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 3;; esac\n"
             "[ \"$PC_TEST_ENV\" = yes ] || exit 4\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"tok-%%s\",\"expirationTimestamp\":\"%%s\"}}' \"$1\" \"$2\"\n",
             count);
    write_mode(script, text, 0700);
    char *env[] = {"PC_TEST_ENV=yes", NULL};
    char *argv[] = {script, "one", "2999-01-01T00:00:00Z", NULL};
    kube_exec_cache cache = {0};
    char err[256] = "";
    const char *t = kube_exec_token(&cache, argv, env, "client.authentication.k8s.io/v1", 0,
                                    err, sizeof err);
    if (!t)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "tok-one");
    t = kube_exec_token(&cache, argv, env, "client.authentication.k8s.io/v1", 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(t, "tok-one");
    t = kube_exec_token(&cache, argv, env, "client.authentication.k8s.io/v1", 1, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(t, "tok-one");
    FILE *f = fopen(count, "r");
    int runs = 0, ch;
    while (f && (ch = fgetc(f)) != EOF)
        runs += ch == '\n';
    if (f)
        fclose(f);
    CU_ASSERT_EQUAL(runs, 2); /* the second call came from the cache */
    /* Expired: run again. */
    char *argv2[] = {script, "two", "2000-01-01T00:00:00+01:00", NULL};
    kube_exec_clear(&cache);
    t = kube_exec_token(&cache, argv2, env, "client.authentication.k8s.io/v1", 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(t, "tok-two");
    CU_ASSERT_EQUAL(cache.expires, 946681200);
    t = kube_exec_token(&cache, argv, env, "client.authentication.k8s.io/v1", 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(t, "tok-one");
    /* Failures name the plugin, never its output. */
    char *noenv[] = {NULL};
    kube_exec_clear(&cache);
    CU_ASSERT_PTR_NULL(kube_exec_token(&cache, argv, noenv, "client.authentication.k8s.io/v1", 0,
                                       err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exit status 4"));
    CU_ASSERT_PTR_NULL(kube_exec_token(&cache, argv, env, "client.authentication.k8s.io/v1beta1",
                                       0, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an client.authentication.k8s.io/v1beta1"));
    CU_ASSERT_PTR_NULL(strstr(err, "tok-"));
    char *missing[] = {"/nonexistent/plugin", NULL};
    CU_ASSERT_PTR_NULL(kube_exec_token(&cache, missing, env, "client.authentication.k8s.io/v1", 0,
                                       err, sizeof err));
    CU_ASSERT_EQUAL(kube_exec_parse_time("2026-12-01T10:00:00.5Z"), 1796119200);
    CU_ASSERT_EQUAL(kube_exec_parse_time("yesterday"), -1);
    kube_exec_clear(&cache);
    unlink(script);
    unlink(count);
    rmdir(dir);
}

static void test_insecure_false_ok(void)
{
    char *t = with("    certificate-authority: pki/ca.crt\n",
                   "    certificate-authority: pki/ca.crt\n    insecure-skip-tls-verify: false\n");
    kube_conf c;
    char err[512];
    CU_ASSERT_EQUAL(load(t, &c, err, sizeof err), 0);
    kube_conf_free(&c);
    free(t);
}

static void test_b64(void)
{
    size_t n;
    char *s = (char *)b64_decode("aGVs\nbG8=", 9, 0, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL(s, "hello");
    free(s);
    CU_ASSERT_PTR_NULL(b64_decode("aGV=sbG8", 8, 0, &n));
    CU_ASSERT_PTR_NULL(b64_decode("a", 1, 0, &n));
}

static char g_dir[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_in_cluster(void)
{
    strcpy(g_dir, "/tmp/pc-test-kube-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(g_dir));
    kube_conf c;
    char err[512] = "";
    CU_ASSERT_EQUAL(kube_conf_in_cluster("10.96.0.1", "443", g_dir, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "token"));
    write_file("token", "  eyJhbGciOi.x.y\n\n");
    CU_ASSERT_EQUAL(kube_conf_in_cluster("10.96.0.1", "443", g_dir, &c, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ca.crt"));
    write_file("ca.crt", CA_PEM);
    CU_ASSERT_EQUAL_FATAL(kube_conf_in_cluster("10.96.0.1", "443", g_dir, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.server, "https://10.96.0.1:443");
    CU_ASSERT_PTR_NOT_NULL(strstr(c.token_file, "/token"));
    CU_ASSERT_PTR_NULL(c.token);
    kube_conf_free(&c);
    CU_ASSERT_EQUAL_FATAL(kube_conf_in_cluster("fd00::1", "6443", g_dir, &c, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(c.server, "https://[fd00::1]:6443");
    kube_conf_free(&c);
    CU_ASSERT_EQUAL(kube_conf_in_cluster("10.96.0.1", "", g_dir, &c, err, sizeof err), -1);

    char p[256];
    snprintf(p, sizeof p, "%s/token", g_dir);
    char *t = kube_read_token(p, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "eyJhbGciOi.x.y");
    free(t);
    write_file("empty", " \n");
    snprintf(p, sizeof p, "%s/empty", g_dir);
    CU_ASSERT_PTR_NULL(kube_read_token(p, err, sizeof err));
}

/* Runs kube_conf_from_kubeconfig(path) with stderr (where the log goes)
 * captured into out. */
static int load_logged(const char *path, kube_conf *c, char *out, size_t outlen)
{
    char logp[256], err[512] = "";
    snprintf(logp, sizeof logp, "%s/log", g_dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int rc = kube_conf_from_kubeconfig(path, c, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(logp, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(logp);
    return rc;
}

/* Credentials readable by the group or everyone get a warning at start
 * naming the file, never its contents; owner-only files get none. */
static void test_readable_warning(void)
{
    strcpy(g_dir, "/tmp/pc-test-kube-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(g_dir));
    plog_setup(PC_LOG_INFO, PLOG_TEXT);
    write_file("kubeconfig",
               "current-context: x\n"
               "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
               "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
               "users: [{name: u, user: {tokenFile: tok, client-certificate: c.crt,\n"
               "  client-key: c.key}}]\n");
    write_file("tok", "tok-SECRET-123\n");
    write_file("c.key", "KEY-SECRET-456\n");
    char kc[256], tok[256], key[256], log[4096];
    snprintf(kc, sizeof kc, "%s/kubeconfig", g_dir);
    snprintf(tok, sizeof tok, "%s/tok", g_dir);
    snprintf(key, sizeof key, "%s/c.key", g_dir);
    chmod(kc, 0644);
    chmod(tok, 0640);
    chmod(key, 0604);
    kube_conf c;
    CU_ASSERT_EQUAL_FATAL(load_logged(kc, &c, log, sizeof log), 0);
    kube_conf_free(&c);
    char want[512];
    snprintf(want, sizeof want, "kubeconfig %s is readable by every user (mode 644)", kc);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    snprintf(want, sizeof want, "token file %s is readable by its group (mode 640)", tok);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    snprintf(want, sizeof want, "client key file %s is readable by every user (mode 604)", key);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    CU_ASSERT_PTR_NULL(strstr(log, "SECRET"));

    /* An inline token: the kubeconfig itself is the secret. */
    write_file("inline", "current-context: x\n"
               "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
               "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
               "users: [{name: u, user: {token: inline-SECRET-789}}]\n");
    char in[256];
    snprintf(in, sizeof in, "%s/inline", g_dir);
    chmod(in, 0660);
    CU_ASSERT_EQUAL_FATAL(load_logged(in, &c, log, sizeof log), 0);
    kube_conf_free(&c);
    snprintf(want, sizeof want, "kubeconfig %s is readable by its group", in);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
    CU_ASSERT_PTR_NULL(strstr(log, "SECRET"));

    chmod(kc, 0600);
    chmod(tok, 0400);
    chmod(key, 0600);
    CU_ASSERT_EQUAL_FATAL(load_logged(kc, &c, log, sizeof log), 0);
    kube_conf_free(&c);
    CU_ASSERT_PTR_NULL(strstr(log, "readable"));
    plog_setup(PC_LOG_INFO, PLOG_JSON);
    const char *names[] = {"kubeconfig", "tok", "c.key", "inline"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s/%s", g_dir, names[i]);
        unlink(want);
    }
    rmdir(g_dir);
}

static pc_status do_review(char *err, size_t errlen)
{
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    pc_http_response r = {0};
    pc_status st = host_table()->kube_do(&ev, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                         "{}", 2, 2000, &r, err, errlen);
    evalctx_done(&ev);
    reqctx_clear(&rq);
    return st;
}

static void test_setup(void)
{
    char err[512] = "";
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBECONFIG");
    CU_ASSERT_EQUAL(kube_setup(NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(do_review(err, sizeof err), PC_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no Kubernetes API server"));

    /* A port nobody listens on: the transport error comes back, fast. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char kc[1024];
    snprintf(kc, sizeof kc,
             "current-context: x\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
             "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:%d', "
             "certificate-authority: ca.crt}}]\n"
             "users: [{name: u, user: {tokenFile: token}}]\n", ntohs(a.sin_port));
    write_file("kubeconfig", kc);
    char p[256];
    snprintf(p, sizeof p, "%s/kubeconfig", g_dir);
    CU_ASSERT_EQUAL_FATAL(kube_setup(p, err, sizeof err), 0);
    err[0] = '\0';
    CU_ASSERT_EQUAL(do_review(err, sizeof err), PC_ERROR);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NULL(strstr(err, "no Kubernetes API server"));

    /* Through $KUBECONFIG (first of a list), and refusals surface. */
    kube_teardown();
    char list[600];
    snprintf(list, sizeof list, "%s:/nonexistent", p);
    setenv("KUBECONFIG", list, 1);
    CU_ASSERT_EQUAL(kube_setup(NULL, err, sizeof err), 0);
    unsetenv("KUBECONFIG");
    strcat(kc, "preferences: {}\n");
    char *ins = strstr(kc, "certificate-authority: ca.crt");
    memcpy(ins, "insecure-skip-tls-verify: 1 ", 28);
    write_file("kubeconfig", kc);
    CU_ASSERT_EQUAL(kube_setup(p, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "insecure-skip-tls-verify"));
    CU_ASSERT_EQUAL(kube_setup("/nonexistent/kubeconfig", err, sizeof err), -1);
    kube_teardown();

    /* In-cluster wins over $KUBECONFIG; the SA dir is overridable. */
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "1", 1);
    setenv("PORTCULLIS_SA_DIR", g_dir, 1);
    setenv("KUBECONFIG", "/nonexistent", 1);
    CU_ASSERT_EQUAL(kube_setup(NULL, err, sizeof err), 0);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("PORTCULLIS_SA_DIR");
    unsetenv("KUBECONFIG");
    /* $KUBECONFIG came first and could not be read: plugins hear why. */
    CU_ASSERT_EQUAL(do_review(err, sizeof err), PC_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no usable Kubernetes API: cannot read kubeconfig"));
    kube_teardown();
    /* After teardown nothing was configured: the earlier reason is gone. */
    CU_ASSERT_EQUAL(do_review(err, sizeof err), PC_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no Kubernetes API server"));

    const char *names[] = {"token", "ca.crt", "empty", "kubeconfig"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"kubeconfig: file forms, relative paths", test_file_forms},
        {"kubeconfig: current-context picks cluster and user", test_other_context_token},
        {"kubeconfig: *-data forms are base64 decoded", test_data_forms},
        {"kubeconfig: missing names and unsafe settings refused", test_refused},
        {"kubeconfig: insecure-skip-tls-verify false is fine", test_insecure_false_ok},
        {"kubeconfig: exec plugins parsed", test_exec_parsed},
        {"kubeconfig: a $KUBECONFIG list is merged as kubectl merges it", test_merged_list},
        {"exec plugin: token cached until it expires, refreshed on demand", test_exec_token},
        {"base64 decoding", test_b64},
        {"in-cluster: env host/port, IPv6, SA files", test_in_cluster},
        {"kube_setup: none, kubeconfig, $KUBECONFIG, in-cluster", test_setup},
        {"credentials others can read: a warning naming the file", test_readable_warning},
        {NULL, NULL}};
    return cu_add_suite("kube", cases);
}
