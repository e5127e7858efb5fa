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
    int insecure;                 /* plaintext HTTP/2 (h2c) */
    int no_reuse;                 /* a connection per call (see sdb_create) */
    char *ca_file, *ca_path;      /* SSL_CERT_FILE / SSL_CERT_DIR, or NULL */
    struct curl_slist *headers;   /* the fixed request headers (the key among them) */
    sdb_obj subject, resource;
    pc_vos *permission;
    int64_t timeout_ms;           /* 0: the evaluation's deadline only */
    pthread_mutex_t pool_mu;
    CURL *pool[SDB_POOL_MAX];     /* idle handles with their connections */
    size_t n_pool;
} sdb_inst;

/* Sends one framed CheckPermissionRequest and judges the answer. PC_OK
 * with *res (any permissionship), or PC_ERROR with the reason set. */
pc_status sdb_call(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len,
                   sdb_result *res);
/* Closes the idle connections (destroy). */
void sdb_pool_drain(sdb_inst *in);
#endif
