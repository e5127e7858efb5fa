/* sdb.h - the spicedb authorization: its instance and the one gRPC call
 * it makes (sdb_call.c). */
#ifndef SDB_H
#define SDB_H
#include <pthread.h>
#include <curl/curl.h>
#include <portcullis/plugin.h>
#include "sdb_wire.h"

#define SDB_DEFAULT_TIMEOUT_MS 5000
/* Idle connections (libcurl handles) kept per evaluator; more concurrent
 * checks open more, and those beyond this are closed after use. */
#define SDB_POOL_MAX 16
/* Longest kind, name or permission sent (SpiceDB allows 1024 bytes for an
 * object id and less for the others; it answers InvalidArgument beyond). */
#define SDB_MAX_FIELD 4096

/* subject or resource: each part a value-or-selector. */
typedef struct sdb_obj {
    pc_vos *kind, *name;
} sdb_obj;

typedef struct sdb_inst {
    const pc_host *host;
    char *url;                    /* http(s)://endpoint/authzed.api.v1... */
    int insecure;                 /* plaintext HTTP/2 (h2c, sdb_h2c.c) */
    char *host_name, *port;       /* of the endpoint, for the h2c dialer */
    char *authority;              /* host:port as sent in :authority */
    char *bearer;                 /* "Bearer <key>" or NULL (wiped on destroy) */
    char *ca_file, *ca_path;      /* SSL_CERT_FILE / SSL_CERT_DIR, or NULL */
    struct curl_slist *headers;   /* the fixed request headers (the key among them) */
    sdb_obj subject, resource;
    pc_vos *permission;
    int64_t timeout_ms;           /* 0: the evaluation's deadline only */
    pthread_mutex_t pool_mu;
    CURL *pool[SDB_POOL_MAX];     /* idle TLS handles with their connections */
    size_t n_pool;
    struct sdb_h2c *h2c[SDB_POOL_MAX];  /* idle plaintext connections */
    size_t n_h2c;
} sdb_inst;

#define SDB_USER_AGENT "portcullis-spicedb/1.0"
/* Why a transport attempt failed, besides a connection error. */
enum { SDB_FAIL_CONN = 0, SDB_FAIL_TIMEOUT = 1, SDB_FAIL_CANCEL = 2 };

/* Sends one framed CheckPermissionRequest and judges the answer. PC_OK
 * with *res (any permissionship), or PC_ERROR with the reason set. */
pc_status sdb_call(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len,
                   sdb_result *res);
/* Closes the idle connections (destroy). */
void sdb_pool_drain(sdb_inst *in);

/* sdb_h2c.c: the call in plaintext HTTP/2 within ms, grpc-timeout given;
 * PC_OK with the answer in *reply (to judge), or PC_ERROR with *fail and,
 * for connection errors, a reason in why. */
struct sdb_h2c;
pc_status sdb_h2c_call(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len, int64_t ms,
                       const char *timeout_value, sdb_reply *reply, char *why, size_t whylen,
                       int *fail);
void sdb_h2c_close(struct sdb_h2c *k);
void sdb_h2c_drain(sdb_inst *in);
#endif
