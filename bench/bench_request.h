/* bench_request.h - the CheckRequest (proto3 JSON) the engine benchmarks
 * decide: a GET from 10.0.0.7 with six headers and `extra` after them
 * (",\"authorization\":..." for the apiKey pipelines). */
#ifndef PC_BENCH_REQUEST_H
#define PC_BENCH_REQUEST_H
#define REQ(host, extra)                                                              \
    "{\"attributes\":{\"source\":{\"address\":{\"socketAddress\":{\"address\":"     \
    "\"10.0.0.7\",\"portValue\":41000}}},\"request\":{\"http\":{\"id\":\"1\","      \
    "\"method\":\"GET\",\"path\":\"/pets/42\",\"host\":\"" host "\",\"scheme\":"     \
    "\"http\",\"protocol\":\"HTTP/1.1\",\"headers\":{\":authority\":\"" host "\","   \
    "\":method\":\"GET\",\":path\":\"/pets/42\",\"user-agent\":\"bench/1\","         \
    "\"accept\":\"*/*\",\"x-request-id\":\"d1b2c3\"" extra "}}}}}"

/* An Authorization JSON as the engine builds it, with an identity, for the
 * benchmarks that evaluate on a document (CEL, conditions). */
#define BENCH_AUTHORIZATION_JSON                                                          \
    "{\"context\":{},\"request\":{\"id\":\"1234\",\"time\":{\"seconds\":1700000000,\"nanos\":0}," \
    "\"protocol\":\"HTTP/1.1\",\"scheme\":\"http\",\"host\":\"talker-api.127.0.0.1.nip.io\","        \
    "\"method\":\"GET\",\"path\":\"/api/v1/hello?x=1\",\"url_path\":\"/api/v1/hello\",\"query\":\"x=1\"," \
    "\"headers\":{\":authority\":\"talker-api.127.0.0.1.nip.io\",\":method\":\"GET\",\":path\":\"/api/v1/hello\"," \
    "\"accept\":\"*/*\",\"user-agent\":\"curl/7.88.1\",\"x-request-id\":\"e2f3\",\"authorization\":\"APIKEY x\"," \
    "\"x-tenant\":\"acme\"}},"                                                                \
    "\"source\":{\"address\":{\"socket_address\":{\"address\":\"10.1.2.3\",\"port_value\":41234}}}," \
    "\"destination\":{\"address\":{\"socket_address\":{\"address\":\"10.1.2.4\",\"port_value\":8000}}}," \
    "\"metadata\":{},\"auth\":{\"identity\":{\"username\":\"john\",\"groups\":[\"dev\",\"ops\"],"  \
    "\"metadata\":{\"labels\":{\"tier\":\"gold\"},"                                           \
    "\"annotations\":{\"secret.kuadrant.io/roles\":\"admin,user\"}}}}}"
#endif
