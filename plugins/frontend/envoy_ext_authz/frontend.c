/* The plugin descriptor: one frontend, "envoy_ext_authz", serving Envoy's
 * ext_authz over gRPC, HTTP authorization (raw /check and Envoy's
 * http_service) and an admin port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#include "server.h"
#include "tls_conn.h"

#define FE_ADDR_SCHEMA(def)                                                   \
    "{\"type\":\"string\",\"default\":\"" def "\","                            \
    "\"pattern\":\"^$|^(\\\\[[0-9A-Fa-f:.]+\\\\]|[0-9.]+|localhost)?:[0-9]+$\"}"

static const char fe_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"grpc_addr\":" FE_ADDR_SCHEMA("0.0.0.0:50051") ","
    "\"http_addr\":" FE_ADDR_SCHEMA("0.0.0.0:5001") ","
    "\"admin_addr\":" FE_ADDR_SCHEMA("0.0.0.0:8080") ","
    "\"health_addr\":" FE_ADDR_SCHEMA("") ","
    "\"io_threads\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":256},"
    "\"tls\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"cert\",\"key\"],\"properties\":{"
    "\"cert\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"},"
    "\"client_ca\":{\"type\":\"string\"},"
    "\"min_version\":{\"enum\":[\"1.2\",\"1.3\"],\"default\":\"1.2\"}}},"
    "\"max_message_bytes\":{\"type\":\"integer\",\"minimum\":64,"
    "\"maximum\":2147483647,\"default\":4194304},"
    "\"max_http_body_bytes\":{\"type\":\"integer\",\"minimum\":0,"
    "\"maximum\":2147483647,\"default\":8192},"
    "\"idle_timeout_ms\":{\"type\":\"integer\",\"minimum\":0,"
    "\"default\":3600000},"
    "\"max_concurrent_streams\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":2147483647,\"default\":1000},"
    "\"default_timeout_ms\":{\"type\":\"integer\",\"minimum\":0,"
    "\"default\":0},"
    "\"max_metadata_depth\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":30,\"default\":24},"
    "\"http_path_prefix\":{\"type\":\"string\",\"default\":\"\","
    "\"pattern\":\"^(/.*)?$\"},"
    /* HTTP/1.1; ranges are checked in server_config.c */
    "\"http1_max_header_bytes\":{\"type\":\"integer\",\"default\":65536},"
    "\"http1_max_headers\":{\"type\":\"integer\",\"default\":256},"
    "\"http1_max_line_bytes\":{\"type\":\"integer\",\"default\":8192},"
    "\"http1_max_pipelined\":{\"type\":\"integer\",\"default\":32},"
    "\"http1_header_timeout_ms\":{\"type\":\"integer\",\"default\":10000},"
    "\"http1_body_timeout_ms\":{\"type\":\"integer\",\"default\":30000},"
    "\"admin_idle_timeout_ms\":{\"type\":\"integer\",\"default\":60000},"
    "\"memory_budget_bytes\":{\"type\":\"integer\",\"minimum\":1048576,"
    "\"default\":268435456},"
    "\"max_connection_buffer_bytes\":{\"type\":\"integer\",\"minimum\":4096,"
    "\"default\":16777216},"
    "\"max_connection_output_bytes\":{\"type\":\"integer\","
    "\"minimum\":65536,\"default\":1048576},"
    "\"handshake_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,"
    "\"default\":10000},"
    "\"stream_idle_timeout_ms\":{\"type\":\"integer\",\"minimum\":0,"
    "\"default\":300000},"
    "\"max_pipelines_in_flight\":{\"type\":\"integer\",\"minimum\":1,"
    "\"maximum\":2147483647,\"default\":10000}"
    "}}";

static void *fe_create(const pc_host *host, const pc_value *config, char *err,
                       size_t errlen)
{
    srv_fe *fe = calloc(1, sizeof(*fe));
    if (!fe) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fe->host = host;
    atomic_init(&fe->outstanding, 0);
    if (srv_config_parse(host, config, &fe->cfg, err, errlen) != 0) {
        free(fe);
        return NULL;
    }
    srv_mem_init(&fe->mem, fe->cfg.memory_budget_bytes);
    atomic_init(&fe->pipelines, 0);
    atomic_init(&fe->accept_log_ms, 0);
    if (fe->cfg.tls_cert) {
        fe->tls = tls_server_new(fe->cfg.tls_cert, fe->cfg.tls_key,
                                 fe->cfg.tls_client_ca, fe->cfg.tls_min_version,
                                 err, errlen);
        if (!fe->tls) {
            srv_config_free(&fe->cfg);
            free(fe);
            return NULL;
        }
    }
    return fe;
}

static pc_status fe_start(void *p, char *err, size_t errlen)
{
    srv_fe *fe = p;
    if (fe->started) {
        snprintf(err, errlen, "already started");
        return PC_ERROR;
    }
    return srv_start(fe, err, errlen) == 0 ? PC_OK : PC_ERROR;
}

static void fe_stop(void *p, int64_t grace_ms)
{
    srv_fe *fe = p;
    if (fe->started)
        srv_stop(fe, grace_ms);
}

static void fe_destroy(void *p)
{
    srv_fe *fe = p;
    if (!fe)
        return;
    if (fe->started)
        srv_stop(fe, 0);
    srv_release(fe);
    tls_server_free(fe->tls);
    srv_config_free(&fe->cfg);
    free(fe);
}

static const pc_frontend_type fe_type = {
    .struct_size = sizeof(pc_frontend_type),
    .name = "envoy_ext_authz",
    .config_schema = fe_schema,
    .create = fe_create,
    .start = fe_start,
    .stop = fe_stop,
    .destroy = fe_destroy,
};

static const pc_frontend_type *const fe_types[] = {&fe_type, NULL};

PC_PLUGIN_DEFINE("envoy_ext_authz", "0.1.0",
                 "Envoy ext_authz (gRPC v3/v2, HTTP) and raw HTTP "
                 "authorization frontend",
                 NULL, fe_types)
