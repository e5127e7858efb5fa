/* kube_conf.h - where the Kubernetes API is and how to authenticate to it:
 * read from a kubeconfig file or from the in-cluster service account. */
#ifndef PC_KUBE_KUBE_CONF_H
#define PC_KUBE_KUBE_CONF_H
#include <stddef.h>

typedef struct kube_conf {
    char *server;                  /* "https://host:port", no trailing '/' */
    char *ca_file;                 /* or ca_data (PEM) */
    char *ca_data;
    size_t ca_data_len;
    char *cert_file, *key_file;    /* or cert_data/key_data (PEM) */
    char *cert_data, *key_data;
    size_t cert_data_len, key_data_len;
    char *token;                   /* a fixed bearer token, or NULL */
    char *token_file;              /* re-read periodically, or NULL */
    /* A client.authentication.k8s.io exec credential plugin: argv[0] is
     * the command (looked up in PATH unless it holds a '/'), env holds
     * extra NAME=VALUE pairs; both NULL-terminated, or NULL. */
    char **exec_argv, **exec_env;
    char *exec_api_version;
} kube_conf;

/* Reads the current context of a kubeconfig, or of several merged as
 * kubectl merges $KUBECONFIG (path may be a ':'-separated list: the first
 * file to name a cluster, user or context, or to set current-context,
 * wins; missing files in a list are skipped). Relative file paths are
 * taken relative to the directory of the file that holds them, as kubectl
 * does. Refuses insecure-skip-tls-verify, auth-provider, basic auth and an
 * exec plugin that needs a terminal. 0 or -1 with a reason.
 * Logs a warning for each of the kubeconfig, its token file and its client
 * key file that group or others may read. */
int kube_conf_from_kubeconfig(const char *path, kube_conf *out, char *err,
                              size_t errlen);
/* One kubeconfig file (no list). */
int kube_conf_from_file(const char *path, kube_conf *out, char *err, size_t errlen);
/* Same for a kubeconfig already in memory (dir resolves relative paths). */
int kube_conf_from_buffer(const char *name, const char *dir, const char *text,
                          size_t len, kube_conf *out, char *err, size_t errlen);
/* In-cluster: host and port from the environment values given, token and
 * CA from sa_dir. 0, or -1 with a reason. */
int kube_conf_in_cluster(const char *host, const char *port, const char *sa_dir,
                         kube_conf *out, char *err, size_t errlen);
void kube_conf_free(kube_conf *c);
/* The warnings of kube_conf_from_kubeconfig (kubeconfig may be NULL). */
void kube_conf_warn_readable(const char *kubeconfig, const kube_conf *c);

/* Reads a token file, trimming surrounding whitespace. NULL on failure
 * (reason in err) or when it is empty. */
char *kube_read_token(const char *path, char *err, size_t errlen);
#endif
